#!/usr/bin/env bash
# Live-capture throughput: floods a veth pair between two network namespaces
# with Teredo packets (the seven message types round-robin, built by the
# teredo_send example) and runs `teredo-tool live --format ndjson > /dev/null`
# on the receiving end. Prints packets/s sent, packets/s handled by live, and
# libpcap's drop counters. A benchmark, not a test: it asserts nothing.
#
#   sudo [RATE=PPS] bash bench/live-flood.sh [SECONDS] [SENDERS] [EXTRA LIVE ARGS...]
#
# Defaults: 5 seconds, 1 sender process, as fast as it can (RATE: packets/s per sender). Namespaces are named ttvb-$$-*, use
# documentation addresses only, and are deleted on exit; only the PIDs this
# script started are signalled.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
senders=${2:-1}
shift $(($# > 2 ? 2 : $#))
extra=("$@")

cargo build --release --quiet --bin teredo-tool --example teredo_send
bin=$PWD/target/release/teredo-tool
send=$PWD/target/release/examples/teredo_send

id=$$
tx=ttvb-$id-tx rx=ttvb-$id-rx
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    ip netns del "$tx" 2>/dev/null || true
    ip netns del "$rx" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$tx"
ip netns add "$rx"
ip link add "tvb${id}a" netns "$tx" type veth peer name "tvb${id}b" netns "$rx"
ip -n "$tx" addr add 192.0.2.10/24 dev "tvb${id}a"
ip -n "$rx" addr add 192.0.2.20/24 dev "tvb${id}b"
for ns in "$tx" "$rx"; do ip -n "$ns" link set lo up; done
ip -n "$tx" link set "tvb${id}a" up
ip -n "$rx" link set "tvb${id}b" up
# The receiver's IP stack drops the flood at once (no socket, no ICMP errors to
# send back); packet capture sees every packet before that hook.
ip netns exec "$rx" nft -f - <<'NFT'
table ip ttvb { chain pre { type filter hook prerouting priority -300; policy drop; }; }
NFT

err=$(mktemp)
cpu=$(mktemp)
ip netns exec "$rx" /usr/bin/time -o "$cpu" -f "%U %S" "$bin" live -i "tvb${id}b" --format ndjson --duration "$((secs + 2))" "${extra[@]}" \
    >/dev/null 2>"$err" &
live_pid=$!
pids+=("$live_pid")
for _ in $(seq 1 100); do grep -q "capturing on" "$err" && break; sleep 0.05; done

sent_files=()
for i in $(seq 1 "$senders"); do
    f=$(mktemp)
    sent_files+=("$f")
    ip netns exec "$tx" "$send" --flood "$secs" ${RATE:+--rate "$RATE"} 192.0.2.20 3544 >"$f" 2>/dev/null &
    pids+=($!)
done
wait "${pids[@]:1}"
wait "$live_pid" || true

sent=0
for f in "${sent_files[@]}"; do sent=$((sent + $(cat "$f"))); rm -f "$f"; done
summary=$(grep '"live":"captured"' "$err" || true)
rm -f "$err"
echo "machine: $(nproc) cores, $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')"
echo "flood: $secs s, $senders sender(s), $sent packets sent ($((sent / secs)) packets/s offered)"
echo "live ${extra[*]}: $summary"
frames=$(sed -E 's/.*"frames":([0-9]+).*/\1/' <<<"$summary")
dropped=$(sed -E 's/.*"dropped":([0-9]+).*/\1/' <<<"$summary")
read -r user sys <"$cpu"
rm -f "$cpu"
echo "handled: $frames frames = $((frames / secs)) packets/s over the flood; kernel drops: $dropped"
awk -v u="$user" -v s="$sys" -v f="$frames" -v t="$secs" 'BEGIN {
    printf "live CPU: %.2f s user + %.2f s sys = %.0f%% of one core over the flood; %.2f us per frame\n", u, s, 100 * (u + s) / t, f ? 1e6 * (u + s) / f : 0 }'
