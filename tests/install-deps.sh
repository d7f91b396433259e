#!/usr/bin/env bash
# Installs the Debian packages the test suite uses (run as root; elsewhere it
# only says what is missing). Called by tests/run.sh and .ci/run.
#   tshark                the differential test against an implementation we did not write
#   miredo, miredo-server the real Teredo server, relay and teredo-mire of the namespace lab
#   iptables, nftables, iproute2, tcpdump   the lab's NATs, namespaces and captures
#   libpcap-dev           the `live` feature (libpcap)
#   iputils-ping, time    lab checks and bench/run.sh
#   python3               tests/lab/natcheck.py (only if no python3 is on PATH)
set -euo pipefail
pkgs=(tshark tcpdump miredo miredo-server iptables nftables iproute2 libpcap-dev iputils-ping time)
command -v python3 >/dev/null || pkgs+=(python3)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'install ok installed' >/dev/null || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "install-deps: not root: missing ${missing[*]}; the tests that need them will say so and skip" >&2
fi
