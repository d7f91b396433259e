#!/usr/bin/env bash
# Record the lab captures in testdata/lab/ (run once, by hand, as root; the tests only read
# the committed files).
#
#   tests/lab/record.sh [OUTDIR] [NAT_KIND...]     defaults: testdata/lab, all four kinds
#
# For each NAT kind (none, cone, restricted, symmetric) this brings the lab up (lab.sh, with
# LAB_ID=c unless set), captures with tcpdump at two vantage points:
#   - the inet router's interface towards the NAT (the NAT's WAN side: everything the client
#     exchanges with the server, the relay and teredo-mire, after translation), and
#   - the server namespace's eth0 (the server's view, including the relay's indirect bubbles
#     sent through the server),
# and runs, in the client namespace:
#   1. the project's prober: the full RFC 4380 qualification (cone RS from one socket, non-cone
#      RS to the primary and the secondary from another), relay discovery and 2 echoes to the
#      IPv6-only host 2001:db8:ff::1 through the miredo relay;
#   2. the prober again, pinging teredo-mire's Teredo address (inter-site: bubbles, echoes);
#   3. a real miredo client (one non-cone RS from fe80::ffff:ffff:ffff), then `ping` to the
#      IPv6-only host (miredo-driven relay discovery) and to teredo-mire's Teredo address.
# The two captures are merged (mergecap) and time-ordered (reordercap) into OUTDIR/KIND.pcapng.
# tcpdump and miredo are ended by the PIDs recorded here; the lab by `lab.sh down`.
# All addresses are documentation ranges inside namespaces the lab creates.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/testdata/lab}
shift || true
KINDS=("$@")
((${#KINDS[@]})) || KINDS=(none cone restricted symmetric)
export LAB_ID=${LAB_ID:-c}
LAB=(bash "$HERE/lab.sh")
BIN=${TEREDO_TOOL:-$ROOT/target/release/teredo-tool}
[[ -x $BIN ]] || { echo "record.sh: build first (cargo build --release) or set TEREDO_TOOL" >&2; exit 1; }
[[ $EUID -eq 0 ]] || { echo "record.sh: needs root" >&2; exit 1; }
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/ttl${LAB_ID}-record.XXXXXX)
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
    "${LAB[@]}" down >/dev/null 2>&1 || true
}
trap 'cleanup; [[ -n ${KEEP_WORK:-} ]] || rm -rf "$WORK"' EXIT

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

start_tcpdump() { # start_tcpdump NS IFACE FILE: `ip netns exec` execs tcpdump, so $! is its PID
    local ns=$1 ifc=$2 file=$3
    ip netns exec "$ns" tcpdump -U --immediate-mode -n -i "$ifc" -s 0 -Z root -w "$file" 'udp or icmp' \
        2>"$file.log" &
    PIDS+=($!)
    local i
    for i in $(seq 1 50); do grep -q 'listening on' "$file.log" 2>/dev/null && return 0; sleep 0.05; done
    echo "record.sh: tcpdump in $ns did not start: $(cat "$file.log")" >&2
    return 1
}

stop_pid() { # stop_pid PID: SIGTERM one process started here and wait for it
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

record() {
    local kind=$1
    "${LAB[@]}" down >/dev/null 2>&1 || true
    "${LAB[@]}" up "$kind"
    # shellcheck disable=SC1090
    source <("${LAB[@]}" env)
    local wan="$WORK/$kind-wan.pcap" srv="$WORK/$kind-srv.pcap"
    start_tcpdump "$NS_INET" nat "$wan"
    local tw=${PIDS[-1]}
    start_tcpdump "$NS_SRV" eth0 "$srv"
    local ts=${PIDS[-1]}

    echo "== $kind: prober, IPv6-only host"
    nsx "$NS_CLI" "$BIN" probe --server "$SERVER1" --ping "$V6_HOST" -c 2 -i 0.2 --timeout 1 --retries 2 \
        | tee "$WORK/$kind-probe1.txt" || true
    echo "== $kind: prober, teredo-mire"
    nsx "$NS_CLI" "$BIN" probe --server "$SERVER1" --ping "$MIRE_TEREDO" -c 2 -i 0.2 --timeout 1 --retries 2 \
        | tee "$WORK/$kind-probe2.txt" || true

    echo "== $kind: miredo client"
    cat >"$WORK/miredo-client.conf" <<CONF
RelayType client
InterfaceName teredo
ServerAddress $SERVER1
CONF
    nsx "$NS_CLI" miredo -f -c "$WORK/miredo-client.conf" -p "$WORK/miredo-client.pid" \
        >"$WORK/$kind-miredo.log" 2>&1 &
    local launcher=$!
    PIDS+=("$launcher")
    local i addr=""
    for i in $(seq 1 60); do
        addr=$(nsx "$NS_CLI" ip -6 -br addr show dev teredo scope global 2>/dev/null | awk '{print $3}') || true
        [[ -n $addr ]] && break
        sleep 0.1
    done
    echo "miredo client address: ${addr:-none}"
    if [[ -n $addr ]]; then
        nsx "$NS_CLI" ping -6 -n -c 2 -i 0.3 -W 2 -s 16 "$V6_HOST" || true
        nsx "$NS_CLI" ping -6 -n -c 2 -i 0.3 -W 2 -s 16 "$MIRE_TEREDO" || true
    fi
    # miredo's own PID (it forks a privileged helper; the parent ends the child on SIGTERM)
    if [[ -s $WORK/miredo-client.pid ]]; then
        local mp
        mp=$(cat "$WORK/miredo-client.pid")
        kill -TERM "$mp" 2>/dev/null || true
    fi
    stop_pid "$launcher"
    rm -f "$WORK/miredo-client.pid"
    sleep 0.3
    stop_pid "$tw"
    stop_pid "$ts"
    "${LAB[@]}" down >/dev/null
    local merged="$WORK/$kind-merged.pcapng"
    mergecap -I none -w "$merged" "$wan" "$srv"
    reordercap "$merged" "$OUT/$kind.pcapng" >/dev/null
    echo "== $kind: $(capinfos -c -M "$OUT/$kind.pcapng" | grep 'Number of packets' | tr -s ' ') -> $OUT/$kind.pcapng"
}

for k in "${KINDS[@]}"; do record "$k"; done
