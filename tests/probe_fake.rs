//! Hostile and broken answers from a small fake Teredo server on loopback (127.0.0.1 +
//! 127.0.0.2, one free port): wrong nonce, wrong source, two prefixes, truncated and
//! malformed RAs, no answer. Each is counted and reported, never a panic or a wrong verdict.
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use teredo_tool::probe::build::{bubble, parse_datagram};
use teredo_tool::probe::transport::Udp;
use teredo_tool::probe::{qualify, NatType, ProbeConfig};
use teredo_tool::wire::icmpv6::emit_icmpv6_packet;
use teredo_tool::wire::teredo::{build_teredo_payload, Authentication, OriginIndication};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Twist {
    WrongNonce,
    WrongSource,
    TwoPrefixes,
    Truncated,
    Garbage,
    NoOrigin,
    NotAnRa,
    BadMtu,
}

/// An RA as miredo-server builds it (LAB.md), with optional twists.
fn ra(nonce: [u8; 8], origin: Option<SocketAddrV4>, to: Ipv6Addr, prefixes: usize, mtu: u32) -> Vec<u8> {
    let mut icmp = vec![134, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07, 0xd0];
    for i in 0..prefixes {
        icmp.extend_from_slice(&[3, 4, 64, 0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        icmp.extend_from_slice(&Ipv6Addr::new(0x2001, 0, 0x7f00, 1 + i as u16, 0, 0, 0, 0).octets());
    }
    icmp.extend_from_slice(&[5, 1, 0, 0]);
    icmp.extend_from_slice(&mtu.to_be_bytes());
    let mut ip = Vec::new();
    emit_icmpv6_packet("fe80::8000:f227:80ff:fffe".parse().unwrap(), to, 255, &mut icmp, &mut ip);
    let origin = origin.map(|o| OriginIndication::new(*o.ip(), o.port()));
    let mut d = Vec::new();
    build_teredo_payload(Some(&Authentication::new(nonce, 0)), origin.as_ref(), &ip, &[], &mut d);
    d
}

struct FakeServer {
    port: u16,
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Start the fake server; `twists` are sent (in order) before the genuine RA, which is
/// sent only when `answer` is true.
fn fake_server(twists: Vec<Twist>, answer: bool) -> FakeServer {
    let (a, b, c) = loop {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if let (Ok(b), Ok(c)) = (UdpSocket::bind(("127.0.0.2", port)), UdpSocket::bind(("127.0.0.3", port))) {
            break (a, b, c);
        }
    };
    let port = a.local_addr().unwrap().port();
    let socks = Arc::new([a, b, c]);
    let stop = Arc::new(AtomicBool::new(false));
    let threads = (0..2)
        .map(|i| {
            let (socks, stop, twists) = (Arc::clone(&socks), Arc::clone(&stop), twists.clone());
            thread::spawn(move || {
                let s = &socks[i];
                s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
                let mut buf = [0u8; 2048];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, std::net::SocketAddr::V4(from))) = s.recv_from(&mut buf) else { continue };
                    let Ok(rs) = parse_datagram(&buf[..n]) else { continue };
                    let nonce = rs.nonce().expect("every RS carries a nonce");
                    let (src, dst) = (rs.ipv6.src, rs.ipv6.dst);
                    // RFC 4380 §5.3.2: a cone RS is answered from the other address.
                    let cone = src.octets()[8] & 0x80 != 0;
                    let out = &socks[if cone { 1 - i } else { i }];
                    for t in &twists {
                        let (pkt, via) = match t {
                            Twist::WrongNonce => (ra([0x5a; 8], Some(from), src, 1, 1280), out),
                            Twist::WrongSource => (ra(nonce, Some(from), src, 1, 1280), &socks[2]),
                            Twist::TwoPrefixes => (ra(nonce, Some(from), src, 2, 1280), out),
                            Twist::Truncated => (ra(nonce, Some(from), src, 1, 1280)[..70].to_vec(), out),
                            Twist::Garbage => (vec![0x00, 0x01, 0xff, 0xff, 1, 2, 3], out),
                            Twist::NoOrigin => (ra(nonce, None, src, 1, 1280), out),
                            Twist::NotAnRa => {
                                let mut d = Vec::new();
                                Authentication::new(nonce, 0).emit(&mut d);
                                d.extend_from_slice(&bubble(dst, src));
                                (d, out)
                            }
                            Twist::BadMtu => (ra(nonce, Some(from), src, 1, 100), out),
                        };
                        let _ = via.send_to(&pkt, from);
                    }
                    if answer {
                        let _ = out.send_to(&ra(nonce, Some(from), src, 1, 1280), from);
                    }
                }
            })
        })
        .collect();
    FakeServer { port, stop, threads }
}

fn cfg(port: u16) -> ProbeConfig {
    ProbeConfig {
        port,
        secondary: Some(Ipv4Addr::new(127, 0, 0, 2)),
        bind: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0),
        timeout: Duration::from_millis(300),
        retries: 2,
        ..ProbeConfig::default()
    }
}

#[test]
fn genuine_answers_on_loopback_mean_no_nat() {
    let srv = fake_server(vec![], true);
    let (q, s) = qualify(&Udp, &format!("127.0.0.1:{}", srv.port), &cfg(srv.port)).unwrap();
    assert_eq!(q.nat_type, NatType::None);
    assert_eq!(q.mapped, Some(q.local));
    // "none" is certain once both non-cone RAs show mapping == local: the cone RA may or may
    // not have arrived by then.
    assert!(q.primary_answered() && q.secondary_answered());
    assert_eq!(q.prefix, Some("2001:0:7f00:1::".parse().unwrap()));
    assert!(q.ignored.is_empty(), "{:?}", q.ignored);
    assert!(s.is_some());
}

#[test]
fn hostile_answers_are_ignored_and_reported() {
    let cases = [
        (Twist::WrongNonce, "unknown nonce"),
        (Twist::WrongSource, "unexpected source"),
        (Twist::TwoPrefixes, "2 Teredo prefixes"),
        (Twist::Truncated, "malformed"),
        (Twist::Garbage, "malformed"),
        (Twist::NoOrigin, "without Origin"),
        (Twist::NotAnRa, "not a Router Advertisement"),
        (Twist::BadMtu, "MTU 100"),
    ];
    for (twist, reason) in cases {
        // Hostile packet first, genuine RA after it: the verdict is unchanged.
        let srv = fake_server(vec![twist], true);
        let (q, _) = qualify(&Udp, &format!("127.0.0.1:{}", srv.port), &cfg(srv.port)).unwrap();
        assert_eq!(q.nat_type, NatType::None, "{twist:?}: {:?}", q.ignored);
        assert!(q.ignored.iter().any(|i| i.reason.contains(reason)), "{twist:?}: {:?}", q.ignored);
        // Only hostile packets: nothing is accepted, so the server counts as offline.
        let srv = fake_server(vec![twist], false);
        let (q, s) = qualify(&Udp, &format!("127.0.0.1:{}", srv.port), &cfg(srv.port)).unwrap();
        assert_eq!(q.nat_type, NatType::Offline, "{twist:?}: {:?}", q.steps);
        assert!(s.is_none());
        assert!(q.ignored.iter().all(|i| i.reason.contains(reason)), "{twist:?}: {:?}", q.ignored);
        assert!(q.ignored.len() >= 2, "{twist:?}: every try's answer counted: {:?}", q.ignored);
    }
}

#[test]
fn no_answer_is_offline_after_all_tries() {
    let srv = fake_server(vec![], false);
    let c = cfg(srv.port);
    let (q, _) = qualify(&Udp, &format!("127.0.0.1:{}", srv.port), &c).unwrap();
    assert_eq!(q.nat_type, NatType::Offline);
    assert!(q.steps.iter().all(|s| s.tries == 2 && s.answer.is_none()), "{:?}", q.steps);
    assert!(q.elapsed >= c.timeout * 2, "waited for every try: {:?}", q.elapsed);
    assert!(q.elapsed < c.timeout * 4, "{:?}", q.elapsed);
}

#[test]
fn bad_server_port_is_an_error_not_a_panic() {
    // (Unresolvable names are tested inside the lab: a DNS query from here could leave the
    // machine.)
    let e = qualify(&Udp, "127.0.0.1:notaport", &cfg(3544)).err().expect("error");
    assert!(e.to_string().contains("bad port"), "{e}");
}
