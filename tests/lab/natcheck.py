#!/usr/bin/env python3
"""Measure a lab NAT's mapping and filtering behaviour (RFC 4787 terms) with plain UDP.

  natcheck.py server          run in the server namespace (192.0.2.1 + 192.0.2.2), port 5000/5001
  natcheck.py client          run in the client namespace; prints a verdict line

The server answers each datagram with the source address:port it saw. For "other" requests it
answers from a different address (192.0.2.2:5000) and from a different port (192.0.2.1:5001) only.
"""
import select, socket, sys, time

A, B, C = ("192.0.2.1", 5000), ("192.0.2.2", 5000), ("192.0.2.1", 5001)

def server():
    socks = {}
    for ep in (A, B, C):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(ep)
        socks[ep] = s
    print("ready", flush=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        r, _, _ = select.select(list(socks.values()), [], [], 0.5)
        for s in r:
            data, src = s.recvfrom(2048)
            seen = ("%s:%d" % src).encode()
            if data == b"other":
                socks[B].sendto(b"addr " + seen, src)
                socks[C].sendto(b"port " + seen, src)
            elif data == b"quit":
                return
            else:
                s.sendto(b"same " + seen, src)

def ask(sock, dst, msg, wait=0.7):
    sock.sendto(msg, dst)
    got = []
    end = time.time() + wait
    while time.time() < end:
        r, _, _ = select.select([sock], [], [], max(0, end - time.time()))
        if r:
            data, src = sock.recvfrom(2048)
            got.append((src, data.decode()))
    return got

def client():
    s1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s1.bind(("0.0.0.0", 0))
    local = s1.getsockname()[1]
    m1 = [d.split()[1] for _, d in ask(s1, A, b"map")]
    m2 = [d.split()[1] for _, d in ask(s1, B, b"map")]
    s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s2.bind(("0.0.0.0", 0))
    got = ask(s2, A, b"other")
    kinds = sorted(d.split()[0] for _, d in got)
    mapping = "EIM" if m1 and m1 == m2 else "dependent"
    if "addr" in kinds:
        filtering = "EIF"
    elif "port" in kinds:
        filtering = "ADF"
    else:
        filtering = "APDF"
    print("local_port=%d mapped1=%s mapped2=%s mapping=%s filtering=%s"
          % (local, m1[0] if m1 else "-", m2[0] if m2 else "-", mapping, filtering))
    s1.sendto(b"quit", A)

if __name__ == "__main__":
    {"server": server, "client": client}[sys.argv[1]]()
