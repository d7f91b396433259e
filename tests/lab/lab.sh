#!/usr/bin/env bash
# Teredo namespace lab for teredo-tool's integration tests.
#
#   lab.sh up NAT_KIND    NAT_KIND = none | cone | restricted | symmetric
#   lab.sh down           remove every namespace and process this instance made
#   lab.sh status         show namespaces, addresses and processes
#   lab.sh natcheck       measure the NAT's mapping/filtering with plain UDP (natcheck.py)
#   lab.sh env            print the lab's names and addresses as KEY=VALUE lines
#
# Topology (facts and recipes: ../shared/LAB.md; all addresses are documentation ranges,
# nothing leaves the namespaces this script creates):
#
#   cli 10.0.0.2 (none: 198.51.100.66) --lan-- nat (wan 198.51.100.1) --+
#                                                                      +-- inet (router)
#       srv 192.0.2.1 + 192.0.2.2 (miredo-server) ---------------------+
#       rly 203.0.113.1:3545 (miredo, RelayType relay) ----------------+
#       mir 198.51.100.40 (teredo-mire, UDP 3544 + 3545) ---------------+
#   srv 2001:db8:1::1 ---- v6 (IPv6-only host 2001:db8:ff::1) ---- rly 2001:db8:2::1
#
# Every namespace is named "${LAB_PREFIX}<role>" with LAB_PREFIX = "ttl${LAB_ID}-", so parallel
# runs with different LAB_ID values do not collide. Veths are created directly inside their
# namespaces, so their short names never meet in the root namespace. The PIDs of the daemons
# started here are kept in the state directory; `down` ends only those.
set -euo pipefail

LAB_ID="${LAB_ID:-}"
P="ttl${LAB_ID}-"
STATE="${LAB_STATE_DIR:-/tmp/${P}lab}"
ROLES=(cli nat inet srv rly v6 mir)
NS_CLI="${P}cli" NS_NAT="${P}nat" NS_INET="${P}inet" NS_SRV="${P}srv" NS_RLY="${P}rly" NS_V6="${P}v6"
NS_MIR="${P}mir"
SERVER1=192.0.2.1 SERVER2=192.0.2.2 RELAY=203.0.113.1 RELAY_PORT=3545 NAT_WAN=198.51.100.1
V6_HOST=2001:db8:ff::1
# teredo-mire, a stateless Teredo peer (PROTOCOL.md §2.7): its Teredo address must embed
# server IPv4 = mapped IPv4 = its own address and mapped port 3545 (prefix and flags are
# ignored): 2001:0 | c633:6428 (198.51.100.40) | flags 0 | ~3545 | ~198.51.100.40.
MIRE=198.51.100.40 MIRE_TEREDO=2001:0:c633:6428:0:f226:39cc:9bd7
# Names the lab resolves for the client (ip netns exec bind-mounts /etc/netns/NS/hosts).
SERVER_NAME="teredo.lab.test" SERVER2_NAME="teredo2.lab.test"

die() { echo "lab.sh: $*" >&2; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

link() { # link NS_A IF_A NS_B IF_B
    ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
    nsx "$1" ip link set "$2" up
    nsx "$3" ip link set "$4" up
}

v6off() { nsx "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"; }
v6on() {  # IPv6 link without DAD delays (LAB.md: tentative addresses delayed the first echo)
    nsx "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=0" "net.ipv6.conf.$2.accept_dad=0" \
        "net.ipv6.conf.$2.accept_ra=0"
}

start_daemon() { # start_daemon NAME NS PIDFILE CMD... (records the daemon's own PID)
    local name=$1 ns=$2 pidfile=$3; shift 3
    nsx "$ns" "$@" >"$STATE/$name.log" 2>&1 &
    echo $! >"$STATE/$name.launcher.pid"
    local i
    for i in $(seq 1 50); do
        if [[ -s $pidfile ]]; then cp "$pidfile" "$STATE/$name.pid"; return 0; fi
        sleep 0.05
    done
    die "$name did not start (log: $(cat "$STATE/$name.log"))"
}

nat_rules() {
    local kind=$1
    case $kind in
    none) ;;
    cone)
        # Full cone = endpoint-independent mapping AND filtering: conntrack cannot filter that
        # way, so a stateless 1:1 rewrite with notrack (LAB.md), ports shifted by ^ 0x0f0f.
        nsx "$NS_NAT" nft -f - <<NFT
table ip ${P}nat {
  chain raw_pre { type filter hook prerouting priority -300; policy accept;
    notrack;
    iifname "wan" ip daddr $NAT_WAN ip daddr set 10.0.0.2;
    iifname "wan" ip daddr 10.0.0.2 udp dport set udp dport ^ 0x0f0f;
  }
  chain raw_out { type filter hook output priority -300; policy accept; notrack; }
  chain post { type filter hook postrouting priority 100; policy accept;
    oifname "wan" ip saddr 10.0.0.2 udp sport set udp sport ^ 0x0f0f;
    oifname "wan" ip saddr 10.0.0.2 ip saddr set $NAT_WAN;
  }
}
NFT
        ;;
    restricted | symmetric)
        local masq=(-j MASQUERADE)
        [[ $kind == symmetric ]] && masq+=(--random-fully)
        nsx "$NS_NAT" iptables -t nat -A POSTROUTING -o wan -p udp "${masq[@]}"
        nsx "$NS_NAT" iptables -t nat -A POSTROUTING -o wan "${masq[@]}"
        # Unsolicited UDP from the WAN is dropped (no ICMP port unreachable).
        nsx "$NS_NAT" iptables -A INPUT -i wan -p udp -m conntrack --ctstate NEW,INVALID -j DROP
        nsx "$NS_NAT" iptables -A FORWARD -i wan -m conntrack --ctstate NEW,INVALID -j DROP
        # Stateless port shift in front of conntrack (outbound) and after its de-NAT
        # (inbound), so the mapped port differs from the local one (LAB.md).
        nsx "$NS_NAT" nft -f - <<NFT
table ip ${P}shift {
  chain pre { type filter hook prerouting priority -300; policy accept;
    iifname "lan" udp sport set udp sport ^ 0x0f0f;
  }
  chain post { type filter hook postrouting priority 200; policy accept;
    oifname "lan" udp dport set udp dport ^ 0x0f0f;
  }
}
NFT
        ;;
    *) die "unknown NAT kind '$kind' (none|cone|restricted|symmetric)" ;;
    esac
}

write_env() {
    local kind=$1 cli_addr=$2
    cat >"$STATE/env" <<ENV
LAB_PREFIX=$P
LAB_NAT=$kind
NS_CLI=$NS_CLI
NS_NAT=$NS_NAT
NS_INET=$NS_INET
NS_SRV=$NS_SRV
NS_RLY=$NS_RLY
NS_V6=$NS_V6
NS_MIR=$NS_MIR
CLIENT_ADDR=$cli_addr
NAT_PUBLIC=$([[ $kind == none ]] && echo "$cli_addr" || echo "$NAT_WAN")
SERVER1=$SERVER1
SERVER2=$SERVER2
SERVER_NAME=$SERVER_NAME
SERVER2_NAME=$SERVER2_NAME
RELAY=$RELAY
RELAY_PORT=$RELAY_PORT
V6_HOST=$V6_HOST
MIRE=$MIRE
MIRE_TEREDO=$MIRE_TEREDO
STATE=$STATE
ENV
}

up() {
    local kind=${1:-}
    [[ -n $kind ]] || die "usage: lab.sh up none|cone|restricted|symmetric"
    case $kind in none | cone | restricted | symmetric) ;; *) die "unknown NAT kind '$kind'" ;; esac
    [[ $EUID -eq 0 ]] || die "needs root"
    command -v miredo-server >/dev/null || die "miredo-server not installed"
    command -v miredo >/dev/null || die "miredo not installed"
    command -v teredo-mire >/dev/null || die "teredo-mire (package miredo) not installed"
    [[ -c /dev/net/tun ]] || die "/dev/net/tun missing (the miredo relay needs it)"
    if ip netns list | grep "^${P}" >/dev/null; then
        die "namespaces ${P}* already exist: run 'LAB_ID=$LAB_ID lab.sh down' first"
    fi
    mkdir -p "$STATE"
    # Any failure from here on (set -e, die) tears down whatever was made so far.
    trap 'rc=$?; if ((rc)); then echo "lab.sh: up failed, tearing down" >&2; down; fi; exit $rc' EXIT

    local r
    for r in "${ROLES[@]}"; do
        ip netns add "$P$r"
        echo "$P$r" >>"$STATE/namespaces"
        nsx "$P$r" ip link set lo up
    done

    # --- IPv4 side -----------------------------------------------------------------------
    link "$NS_CLI" lan "$NS_NAT" lan
    link "$NS_NAT" wan "$NS_INET" nat
    link "$NS_INET" srv "$NS_SRV" eth0
    link "$NS_INET" rly "$NS_RLY" eth0
    link "$NS_INET" mir "$NS_MIR" eth0
    for x in "$NS_CLI lan" "$NS_NAT lan" "$NS_NAT wan" "$NS_INET nat" "$NS_INET srv" \
        "$NS_INET rly" "$NS_SRV eth0" "$NS_RLY eth0" "$NS_INET mir" "$NS_MIR eth0"; do
        # shellcheck disable=SC2086
        v6off $x
    done
    local cli_addr nat_lan plen
    if [[ $kind == none ]]; then cli_addr=198.51.100.66 nat_lan=198.51.100.65 plen=26
    else cli_addr=10.0.0.2 nat_lan=10.0.0.1 plen=24; fi
    nsx "$NS_CLI" ip addr add "$cli_addr/$plen" dev lan
    nsx "$NS_CLI" ip route add default via "$nat_lan"
    nsx "$NS_NAT" ip addr add "$nat_lan/$plen" dev lan
    nsx "$NS_NAT" ip addr add "$NAT_WAN/30" dev wan
    nsx "$NS_NAT" ip route add default via 198.51.100.2
    nsx "$NS_INET" ip addr add 198.51.100.2/30 dev nat
    nsx "$NS_INET" ip addr add 192.0.2.254/24 dev srv
    nsx "$NS_INET" ip addr add 203.0.113.254/24 dev rly
    [[ $kind == none ]] && nsx "$NS_INET" ip route add 198.51.100.64/26 via "$NAT_WAN"
    nsx "$NS_SRV" ip addr add "$SERVER1/24" dev eth0
    nsx "$NS_SRV" ip addr add "$SERVER2/24" dev eth0
    nsx "$NS_SRV" ip route add default via 192.0.2.254
    nsx "$NS_RLY" ip addr add "$RELAY/24" dev eth0
    nsx "$NS_RLY" ip route add default via 203.0.113.254
    nsx "$NS_INET" ip addr add 198.51.100.33/28 dev mir
    nsx "$NS_MIR" ip addr add "$MIRE/28" dev eth0
    nsx "$NS_MIR" ip route add default via 198.51.100.33
    for r in nat inet; do
        nsx "$P$r" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
            net.ipv4.conf.default.rp_filter=0
    done
    nat_rules "$kind"

    # --- IPv6 side -----------------------------------------------------------------------
    link "$NS_SRV" v6 "$NS_V6" srv
    link "$NS_RLY" v6 "$NS_V6" rly
    for x in "$NS_SRV v6" "$NS_V6 srv" "$NS_RLY v6" "$NS_V6 rly" "$NS_V6 lo"; do
        # shellcheck disable=SC2086
        v6on $x
    done
    nsx "$NS_SRV" ip -6 addr add 2001:db8:1::1/64 dev v6 nodad
    nsx "$NS_V6" ip -6 addr add 2001:db8:1::2/64 dev srv nodad
    nsx "$NS_RLY" ip -6 addr add 2001:db8:2::1/64 dev v6 nodad
    nsx "$NS_V6" ip -6 addr add 2001:db8:2::2/64 dev rly nodad
    nsx "$NS_V6" ip -6 addr add "$V6_HOST/128" dev lo
    nsx "$NS_V6" ip -6 route add 2001::/32 via 2001:db8:2::1
    nsx "$NS_SRV" ip -6 route add 2001:db8:ff::/64 via 2001:db8:1::2
    nsx "$NS_RLY" ip -6 route add 2001:db8:ff::/64 via 2001:db8:2::2
    nsx "$NS_RLY" sysctl -qw net.ipv6.conf.all.forwarding=1

    # --- daemons -------------------------------------------------------------------------
    cat >"$STATE/miredo-server.conf" <<CONF
ServerBindAddress $SERVER1
ServerBindAddress2 $SERVER2
CONF
    start_daemon miredo-server "$NS_SRV" "$STATE/miredo-server.pidfile" \
        miredo-server -f -c "$STATE/miredo-server.conf" -p "$STATE/miredo-server.pidfile"
    cat >"$STATE/miredo-relay.conf" <<CONF
RelayType relay
InterfaceName teredo
BindAddress $RELAY
BindPort $RELAY_PORT
CONF
    start_daemon miredo-relay "$NS_RLY" "$STATE/miredo-relay.pidfile" \
        miredo -f -c "$STATE/miredo-relay.conf" -p "$STATE/miredo-relay.pidfile"
    # The relay configures its tun asynchronously; wait for the 2001::/32 route.
    local i
    for i in $(seq 1 50); do
        nsx "$NS_RLY" ip -6 route show 2001::/32 | grep teredo >/dev/null && break
        sleep 0.05
    done
    nsx "$NS_RLY" ip -6 route show 2001::/32 | grep teredo >/dev/null || die "relay tun did not come up"

    # teredo-mire has no pidfile and stays in the foreground: `ip netns exec` execs it, so
    # the background job's PID is the responder's own.
    ip netns exec "$NS_MIR" teredo-mire >"$STATE/teredo-mire.log" 2>&1 &
    echo $! >"$STATE/teredo-mire.pid"
    for i in $(seq 1 50); do
        nsx "$NS_MIR" ss -Hlun 'sport = :3545' | grep 3545 >/dev/null && break
        sleep 0.05
    done
    nsx "$NS_MIR" ss -Hlun 'sport = :3545' | grep 3545 >/dev/null || die "teredo-mire did not start: $(cat "$STATE/teredo-mire.log")"

    # --- names for the DNS path ----------------------------------------------------------
    mkdir -p "/etc/netns/$NS_CLI"
    echo "/etc/netns/$NS_CLI" >>"$STATE/etcdirs"
    cat >"/etc/netns/$NS_CLI/hosts" <<HOSTS
127.0.0.1 localhost
$SERVER1 $SERVER_NAME
$SERVER2 $SERVER2_NAME
HOSTS
    # Names not in that file must not become DNS queries to the host's resolver: inside
    # the client namespace the resolver is its own loopback, where nothing listens.
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$NS_CLI/resolv.conf"
    write_env "$kind" "$cli_addr"
    trap - EXIT
    echo "lab up: NAT=$kind prefix=$P state=$STATE"
}

stop_recorded() { # SIGTERM every recorded PID at once, give them 0.5 s, then SIGKILL the rest
    local f pids=()
    for f in "$STATE"/*.pid; do [[ -s $f ]] && pids+=("$(cat "$f")"); done
    ((${#pids[@]})) || return 0
    kill -TERM "${pids[@]}" 2>/dev/null
    local p alive
    for _ in $(seq 1 10); do
        alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.05
    done
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
    rm -f "$STATE"/*.pid
}

down() {
    set +e
    trap - EXIT
    local ns
    stop_recorded
    # Namespaces: the recorded list plus anything with our prefix left by an older run.
    {
        [[ -f $STATE/namespaces ]] && cat "$STATE/namespaces"
        ip netns list | awk '{print $1}' | grep "^${P}" || true
    } | sort -u | while read -r ns; do
        [[ $ns == "${P}"* ]] || continue
        # Any process still inside (e.g. a daemon's child) was started for this namespace.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    [[ -f $STATE/etcdirs ]] && while read -r d; do [[ $d == /etc/netns/${P}* ]] && rm -rf "$d"; done <"$STATE/etcdirs"
    rm -rf "/etc/netns/${NS_CLI}"
    rm -rf "$STATE"
    return 0
}

status() {
    echo "prefix: $P  state: $STATE"
    [[ -f $STATE/env ]] && cat "$STATE/env"
    local ns
    for ns in $(ip netns list | awk '{print $1}' | grep "^${P}" || true); do
        echo "== $ns"
        nsx "$ns" ip -br addr | grep -v '^lo ' || true
        echo "   pids: $(ip netns pids "$ns" | tr '\n' ' ')"
    done
}

natcheck() { # measure the NAT's mapping and filtering with plain UDP (natcheck.py)
    command -v python3 >/dev/null || die "natcheck needs python3 on PATH (Debian package python3)"
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    nsx "$NS_SRV" python3 "$here/natcheck.py" server >"$STATE/natcheck.log" 2>&1 &
    local sp=$!
    echo "$sp" >"$STATE/natcheck.pid"
    for _ in $(seq 1 40); do grep -q ready "$STATE/natcheck.log" 2>/dev/null && break; sleep 0.05; done
    nsx "$NS_CLI" python3 "$here/natcheck.py" client
    wait "$sp" || true
    rm -f "$STATE/natcheck.pid"
}

case ${1:-} in
up) up "${2:-}" ;;
natcheck) natcheck ;;
down) down ;;
status) status ;;
env) cat "$STATE/env" ;;
*) die "usage: lab.sh up NAT_KIND | down | status | natcheck | env" ;;
esac
