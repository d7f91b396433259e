//! Deterministic synthetic capture generator.
//!
//! ```text
//! cargo run --release --example gencap -- --packets 1000000 --seed 1 -o big.pcap [--truth big.truth]
//! cargo run --release --example gencap -- --suite testdata/generated
//! ```
//!
//! `--packets` writes a realistic mix of Teredo (RFC 4380) and background traffic, streamed
//! (constant memory), the same bytes for the same seed. `--truth FILE` writes one line per
//! frame, `FRAME CLASS`, where CLASS starts with `teredo:` for Teredo frames, `malformed:`
//! for broken Teredo frames on port 3544 and `other:` for everything else, so that tests
//! can measure detection recall and false positives.
//!
//! `--suite DIR` writes the small hand-picked captures shipped in testdata/generated/.
//!
//! Every header is built here byte by byte (lengths and checksums computed), only from
//! documentation addresses (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)
//! and Teredo addresses whose server and mapped addresses are such addresses.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{bail, Context, Result};
use teredo_tool::capture::{CaptureFormat, CaptureWriter, TsPrecision};

// ---------------------------------------------------------------- PRNG

/// splitmix64: tiny, fast and good enough for traffic mixes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    fn u16(&mut self) -> u16 {
        self.next() as u16
    }
    fn fill(&mut self, out: &mut Vec<u8>, n: usize) {
        let mut left = n;
        while left > 0 {
            let x = self.next().to_le_bytes();
            let k = left.min(8);
            out.extend_from_slice(&x[..k]);
            left -= k;
        }
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut v = Vec::with_capacity(N);
        self.fill(&mut v, N);
        let mut a = [0u8; N];
        a.copy_from_slice(&v);
        a
    }
}

// ---------------------------------------------------------------- byte builders

fn csum_add(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn csum_fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

type V4 = [u8; 4];
type V6 = [u8; 16];

const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_IPV6: u8 = 41;
const NH_ICMPV6: u8 = 58;
const NH_NONE: u8 = 59;

/// IPv4 header (no options, checksum computed) + payload; `frag` = flags/offset word.
fn ipv4(src: V4, dst: V4, proto: u8, ttl: u8, id: u16, frag: u16, payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&(total as u16).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[ttl, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = csum_fold(csum_add(0, &h));
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn pseudo4(src: V4, dst: V4, proto: u8, len: usize) -> u32 {
    let mut s = csum_add(0, &src);
    s = csum_add(s, &dst);
    s + u32::from(proto) + len as u32
}

fn pseudo6(src: &V6, dst: &V6, nh: u8, len: usize) -> u32 {
    let mut s = csum_add(0, src);
    s = csum_add(s, dst);
    s + (len as u32 >> 16) + (len as u32 & 0xffff) + u32::from(nh)
}

/// UDP header + payload with the checksum over `pseudo` (0 becomes 0xffff, RFC 768).
fn udp(pseudo: u32, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut u = Vec::with_capacity(len);
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&(len as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let c = match csum_fold(csum_add(pseudo, &u)) {
        0 => 0xffff,
        c => c,
    };
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

fn udp4(src: V4, dst: V4, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    udp(pseudo4(src, dst, PROTO_UDP, 8 + payload.len()), sport, dport, payload)
}

/// IPv4 + UDP datagram, DF clear (RFC 4380 §5.1.2 says Teredo SHOULD NOT set DF).
fn ip_udp(src: V4, dst: V4, sport: u16, dport: u16, id: u16, payload: &[u8]) -> Vec<u8> {
    ipv4(src, dst, PROTO_UDP, 64, id, 0, &udp4(src, dst, sport, dport, payload))
}

/// TCP segment (20-byte header) with checksum over `pseudo_without_len`.
fn tcp(pseudo_base: u32, sport: u16, dport: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&seq.wrapping_mul(7).to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xfa, 0xf0, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    let len = t.len() as u32;
    let c = csum_fold(csum_add(pseudo_base + (len >> 16) + (len & 0xffff), &t));
    t[16..18].copy_from_slice(&c.to_be_bytes());
    t
}

fn ipv6(src: &V6, dst: &V6, nh: u8, hlim: u8, flow: u32, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(40 + payload.len());
    h.extend_from_slice(&(0x6000_0000u32 | (flow & 0xfffff)).to_be_bytes());
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[nh, hlim]);
    h.extend_from_slice(src);
    h.extend_from_slice(dst);
    h.extend_from_slice(payload);
    h
}

fn icmpv6(src: &V6, dst: &V6, typ: u8, code: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![typ, code, 0, 0];
    m.extend_from_slice(body);
    let c = csum_fold(csum_add(pseudo6(src, dst, NH_ICMPV6, m.len()), &m));
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

fn ipv6_icmp(src: &V6, dst: &V6, hlim: u8, typ: u8, code: u8, body: &[u8]) -> Vec<u8> {
    ipv6(src, dst, NH_ICMPV6, hlim, 0, &icmpv6(src, dst, typ, code, body))
}

fn ipv6_udp(src: &V6, dst: &V6, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let u = udp(pseudo6(src, dst, PROTO_UDP, 8 + payload.len()), sport, dport, payload);
    ipv6(src, dst, PROTO_UDP, 64, 0, &u)
}

fn ipv6_tcp(src: &V6, dst: &V6, sport: u16, dport: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let base = pseudo6(src, dst, PROTO_TCP, 0);
    ipv6(src, dst, PROTO_TCP, 64, seq & 0xfffff, &tcp(base, sport, dport, seq, flags, payload))
}

/// Teredo address, RFC 4380 §4: prefix, server, flags, ~port, ~client IPv4.
fn teredo_addr(server: V4, flags: u16, port: u16, client: V4) -> V6 {
    let mut a = [0u8; 16];
    a[0..4].copy_from_slice(&[0x20, 0x01, 0, 0]);
    a[4..8].copy_from_slice(&server);
    a[8..10].copy_from_slice(&flags.to_be_bytes());
    a[10..12].copy_from_slice(&(!port).to_be_bytes());
    for i in 0..4 {
        a[12 + i] = !client[i];
    }
    a
}

fn doc6(last: u16) -> V6 {
    let mut a = [0u8; 16];
    a[0..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a[14..16].copy_from_slice(&last.to_be_bytes());
    a
}

fn link_local(iid: [u8; 8]) -> V6 {
    let mut a = [0u8; 16];
    a[0] = 0xfe;
    a[1] = 0x80;
    a[8..].copy_from_slice(&iid);
    a
}

const ALL_ROUTERS: V6 = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const ALL_NODES: V6 = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// Authentication indicator, RFC 4380 §5.1.1.
fn auth_ind(id: &[u8], au: &[u8], nonce: [u8; 8], confirmation: u8) -> Vec<u8> {
    let mut v = vec![0, 1, id.len() as u8, au.len() as u8];
    v.extend_from_slice(id);
    v.extend_from_slice(au);
    v.extend_from_slice(&nonce);
    v.push(confirmation);
    v
}

/// Origin indication, RFC 4380 §5.1.1: port and address obfuscated (XOR all ones).
fn origin_ind(port: u16, addr: V4) -> Vec<u8> {
    let mut v = vec![0, 0];
    v.extend_from_slice(&(!port).to_be_bytes());
    v.extend(addr.iter().map(|b| !b));
    v
}

fn bubble(src: &V6, dst: &V6) -> Vec<u8> {
    ipv6(src, dst, NH_NONE, 0, 0, &[])
}

/// RS as RFC 4380 §5.2.1 describes it (the link-local source is the caller's choice).
fn router_solicitation(src: &V6) -> Vec<u8> {
    ipv6_icmp(src, &ALL_ROUTERS, 255, 133, 0, &[0; 4])
}

/// RA from a Teredo server (RFC 4380 §5.3.2): prefix 2001:0:<server>::/64 and MTU 1280.
fn router_advertisement(src: &V6, dst: &V6, server: V4) -> Vec<u8> {
    let mut b = vec![0, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0]; // hop limit 0, lifetime 1800
                                                                // Prefix Information (type 3, length 4): /64, L=0 A=1, lifetimes
    b.extend_from_slice(&[3, 4, 64, 0x40]);
    b.extend_from_slice(&u32::MAX.to_be_bytes());
    b.extend_from_slice(&u32::MAX.to_be_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&[0x20, 0x01, 0, 0]);
    b.extend_from_slice(&server);
    b.extend_from_slice(&[0; 8]);
    // MTU (type 5, length 1): 1280
    b.extend_from_slice(&[5, 1, 0, 0]);
    b.extend_from_slice(&1280u32.to_be_bytes());
    ipv6_icmp(src, dst, 255, 134, 0, &b)
}

fn echo(src: &V6, dst: &V6, reply: bool, id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut b = id.to_be_bytes().to_vec();
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(data);
    ipv6_icmp(src, dst, 64, if reply { 129 } else { 128 }, 0, &b)
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---- link layers

const ETH_IPV4: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_IPV6: u16 = 0x86dd;

fn eth(dst: [u8; 6], src: [u8; 6], tags: &[(u16, u16)], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + 4 * tags.len() + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    for &(tpid, tci) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

const MAC_A: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
const MAC_B: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x02];

/// Linux cooked v1 (LINKTYPE_LINUX_SLL 113): packet type, ARPHRD, address, protocol.
fn sll(pkttype: u16, proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = pkttype.to_be_bytes().to_vec();
    f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    f.extend_from_slice(&6u16.to_be_bytes());
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&proto.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Linux cooked v2 (LINKTYPE_LINUX_SLL2 276).
fn sll2(proto: u16, ifindex: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = proto.to_be_bytes().to_vec();
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&ifindex.to_be_bytes());
    f.extend_from_slice(&1u16.to_be_bytes());
    f.extend_from_slice(&[0, 6]); // packet type host, address length 6
    f.extend_from_slice(&MAC_B);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

fn arp(sender: V4, target: V4) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
    a.extend_from_slice(&MAC_A);
    a.extend_from_slice(&sender);
    a.extend_from_slice(&[0; 6]);
    a.extend_from_slice(&target);
    a
}

// ---------------------------------------------------------------- the traffic model

const SERVER: V4 = [192, 0, 2, 1];
const SERVER2: V4 = [192, 0, 2, 2];
const DNS_SERVER: V4 = [192, 0, 2, 53];

#[derive(Clone, Copy)]
struct Client {
    local: V4,
    mapped: V4,
    port: u16,
    local_port: u16,
    teredo: V6,
}

struct Model {
    rng: Rng,
    clients: Vec<Client>,
    relays: Vec<V4>,
    ip_id: u16,
}

impl Model {
    fn new(seed: u64) -> Self {
        let mut rng = Rng(seed);
        let mut clients = Vec::new();
        for i in 0..64u8 {
            let mapped = if i % 2 == 0 { [198, 51, 100, 1 + i] } else { [203, 0, 113, 1 + i] };
            let port = rng.range(1024, 65535) as u16;
            let flags = (rng.u16() & 0x3cff) | if i % 7 == 0 { 0x8000 } else { 0 };
            clients.push(Client {
                local: [192, 0, 2, 100 + (i % 100)],
                mapped,
                port,
                local_port: rng.range(1024, 65535) as u16,
                teredo: teredo_addr(SERVER, flags, port, mapped),
            });
        }
        let relays = (10..18).map(|i| [192, 0, 2, i]).collect();
        Model { rng, clients, relays, ip_id: 1 }
    }

    fn id(&mut self) -> u16 {
        self.ip_id = self.ip_id.wrapping_add(1);
        self.ip_id
    }

    fn client(&mut self) -> Client {
        let i = self.rng.below(self.clients.len() as u64) as usize;
        self.clients[i]
    }

    fn payload_len(&mut self) -> usize {
        match self.rng.below(100) {
            0..=54 => self.rng.range(0, 120) as usize,
            55..=89 => self.rng.range(120, 600) as usize,
            _ => self.rng.range(600, 1200) as usize,
        }
    }

    fn random_payload(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n);
        self.rng.fill(&mut v, n);
        v
    }

    /// An inner IPv6 packet between `a` and `b` (TCP, UDP or ICMPv6 echo).
    fn inner_ipv6(&mut self, a: &V6, b: &V6) -> Vec<u8> {
        let n = self.payload_len();
        let p = self.random_payload(n);
        match self.rng.below(10) {
            0..=5 => {
                let seq = self.rng.next() as u32;
                ipv6_tcp(a, b, 443, self.rng.range(1024, 65535) as u16, seq, 0x18, &p)
            }
            6..=8 => {
                let (sp, dp) = (self.rng.range(1024, 65535) as u16, self.rng.range(1024, 65535) as u16);
                ipv6_udp(a, b, sp, dp, &p)
            }
            _ => echo(a, b, false, self.rng.u16(), self.rng.u16(), &p),
        }
    }

    /// Wraps an IPv4 packet in Ethernet, sometimes 802.1Q or QinQ tagged.
    fn ether(&mut self, ethertype: u16, ip: &[u8]) -> Vec<u8> {
        let r = self.rng.below(1000);
        let vlan = (self.rng.below(4094) + 1) as u16;
        if r < 40 {
            eth(MAC_A, MAC_B, &[(0x8100, vlan)], ethertype, ip)
        } else if r < 50 {
            eth(MAC_B, MAC_A, &[(0x88a8, 100), (0x8100, vlan)], ethertype, ip)
        } else if r < 525 {
            eth(MAC_A, MAC_B, &[], ethertype, ip)
        } else {
            eth(MAC_B, MAC_A, &[], ethertype, ip)
        }
    }

    /// One frame: (class, frame bytes, original length).
    fn frame(&mut self) -> (&'static str, Vec<u8>, u32) {
        let r = self.rng.below(1000);
        let id = self.id();
        let (class, ethertype, ip): (&'static str, u16, Vec<u8>) = match r {
            // Teredo data through a relay on 3544, either direction
            0..=249 => {
                let c = self.client();
                let relay = self.relays[self.rng.below(self.relays.len() as u64) as usize];
                let native = doc6(self.rng.range(1, 4000) as u16);
                if self.rng.chance(500) {
                    let p = self.inner_ipv6(&c.teredo, &native);
                    ("teredo:data-3544", ETH_IPV4, ip_udp(c.mapped, relay, c.port, 3544, id, &p))
                } else {
                    let p = self.inner_ipv6(&native, &c.teredo);
                    ("teredo:data-3544", ETH_IPV4, ip_udp(relay, c.mapped, 3544, c.port, id, &p))
                }
            }
            // client to client, both on random ports
            250..=449 => {
                let (a, b) = (self.client(), self.client());
                let p = self.inner_ipv6(&a.teredo, &b.teredo);
                ("teredo:data-p2p", ETH_IPV4, ip_udp(a.mapped, b.mapped, a.port, b.port, id, &p))
            }
            450..=499 => {
                let (a, b) = (self.client(), self.client());
                let p = bubble(&a.teredo, &b.teredo);
                ("teredo:bubble-direct", ETH_IPV4, ip_udp(a.mapped, b.mapped, a.port, b.port, id, &p))
            }
            500..=539 => {
                // indirect bubble relayed by the server with an origin indication
                let (a, b) = (self.client(), self.client());
                let p = cat(&[&origin_ind(a.port, a.mapped), &bubble(&a.teredo, &b.teredo)]);
                ("teredo:bubble-indirect", ETH_IPV4, ip_udp(SERVER, b.mapped, 3544, b.port, id, &p))
            }
            540..=559 => {
                // RFC 6081 bubble with a nonce trailer, to the peer's server
                let (a, b) = (self.client(), self.client());
                let nonce: [u8; 4] = self.rng.bytes();
                let p = cat(&[&bubble(&a.teredo, &b.teredo), &[1, 4], &nonce]);
                ("teredo:bubble-nonce", ETH_IPV4, ip_udp(a.mapped, SERVER, a.port, 3544, id, &p))
            }
            560..=599 => {
                let c = self.client();
                let cone = self.rng.chance(200);
                let ll = link_local(if cone {
                    [0x80, 0, 0x54, 0x45, 0x52, 0x45, 0x44, 0x4f]
                } else {
                    [0, 0, 0x54, 0x45, 0x52, 0x45, 0x44, 0x4f]
                });
                let p = cat(&[&auth_ind(&[], &[], self.rng.bytes(), 0), &router_solicitation(&ll)]);
                let srv = if self.rng.chance(300) { SERVER2 } else { SERVER };
                ("teredo:rs", ETH_IPV4, ip_udp(c.mapped, srv, c.port, 3544, id, &p))
            }
            600..=639 => {
                let c = self.client();
                let ll = link_local([0, 0, 0x54, 0x45, 0x52, 0x45, 0x44, 0x4f]);
                let srv_ll = link_local([0x80, 0, 0xf2, 0x27, 0x3f, 0xff, 0xfd, 0xfe]);
                let p = cat(&[
                    &auth_ind(&[], &[], self.rng.bytes(), 0),
                    &origin_ind(c.port, c.mapped),
                    &router_advertisement(&srv_ll, &ll, SERVER),
                ]);
                ("teredo:ra", ETH_IPV4, ip_udp(SERVER, c.mapped, 3544, c.port, id, &p))
            }
            640..=659 => {
                let c = self.client();
                let native = doc6(self.rng.range(1, 4000) as u16);
                let nonce = self.random_payload(8);
                let p = echo(&c.teredo, &native, false, self.rng.u16(), 1, &nonce);
                ("teredo:echo-request", ETH_IPV4, ip_udp(c.mapped, SERVER, c.port, 3544, id, &p))
            }
            660..=679 => {
                let c = self.client();
                let relay = self.relays[self.rng.below(self.relays.len() as u64) as usize];
                let native = doc6(self.rng.range(1, 4000) as u16);
                let nonce = self.random_payload(8);
                let p = echo(&native, &c.teredo, true, self.rng.u16(), 1, &nonce);
                ("teredo:echo-reply", ETH_IPV4, ip_udp(relay, c.mapped, 3544, c.port, id, &p))
            }
            680..=684 => {
                // malformed: authentication indicator whose lengths run past the end
                let c = self.client();
                let mut p = auth_ind(&[], &[], self.rng.bytes(), 0);
                p[2] = 200;
                p.extend(router_solicitation(&link_local([0x80, 0, 0, 0, 0, 0, 0, 1])));
                ("malformed:auth-length", ETH_IPV4, ip_udp(c.mapped, SERVER, c.port, 3544, id, &p))
            }
            685..=689 => {
                // malformed: IPv6 version 4 on port 3544
                let c = self.client();
                let mut p = bubble(&c.teredo, &doc6(1));
                p[0] = 0x40;
                ("malformed:ipv6-version", ETH_IPV4, ip_udp(c.mapped, SERVER, c.port, 3544, id, &p))
            }
            // background
            690..=809 => {
                let src = [198, 51, 100, self.rng.range(1, 254) as u8];
                let dst = [203, 0, 113, self.rng.range(1, 254) as u8];
                let n = self.payload_len();
                let p = self.random_payload(n);
                let seq = self.rng.next() as u32;
                let t = tcp(pseudo4(src, dst, PROTO_TCP, 0), 443, self.rng.range(1024, 65535) as u16, seq, 0x10, &p);
                ("other:tcp", ETH_IPV4, ipv4(src, dst, PROTO_TCP, 64, id, 0x4000, &t))
            }
            810..=849 => {
                let c = self.client();
                let mut q = self.rng.u16().to_be_bytes().to_vec();
                q.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
                q.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
                ("other:dns", ETH_IPV4, ip_udp(c.local, DNS_SERVER, c.local_port, 53, id, &q))
            }
            850..=889 => {
                // QUIC-like: long header 0xc0.. or short header, random body, port 443
                let c = self.client();
                let n = self.rng.range(40, 1200) as usize;
                let mut q = vec![if self.rng.chance(300) { 0xc3 } else { 0x43 }];
                q.extend(self.random_payload(n));
                ("other:quic", ETH_IPV4, ip_udp(c.local, [203, 0, 113, 44], c.local_port, 443, id, &q))
            }
            890..=899 => {
                let c = self.client();
                let mut n = vec![0x23, 2, 6, 0xe9];
                n.extend(self.random_payload(44));
                ("other:ntp", ETH_IPV4, ip_udp(c.local, [192, 0, 2, 123], 123, 123, id, &n))
            }
            900..=909 => {
                let c = self.client();
                let mut m = vec![8, 0, 0, 0];
                m.extend_from_slice(&self.rng.u16().to_be_bytes());
                m.extend_from_slice(&[0, 1]);
                m.extend(self.random_payload(56));
                let ck = csum_fold(csum_add(0, &m));
                m[2..4].copy_from_slice(&ck.to_be_bytes());
                ("other:icmp", ETH_IPV4, ipv4(c.local, [192, 0, 2, 254], PROTO_ICMP, 64, id, 0, &m))
            }
            910..=919 => {
                let c = self.client();
                ("other:arp", ETH_ARP, arp(c.local, [192, 0, 2, 254]))
            }
            920..=939 => {
                let (a, b) = (doc6(self.rng.range(1, 999) as u16), doc6(self.rng.range(1000, 1999) as u16));
                let p = self.inner_ipv6(&a, &b);
                ("other:ipv6-native", ETH_IPV6, p)
            }
            940..=949 => {
                let (a, b) = (doc6(self.rng.range(1, 999) as u16), doc6(self.rng.range(1000, 1999) as u16));
                let p = self.inner_ipv6(&a, &b);
                ("other:6in4", ETH_IPV4, ipv4([198, 51, 100, 41], [203, 0, 113, 41], PROTO_IPV6, 64, id, 0, &p))
            }
            950..=964 => {
                // mDNS response: must never look like Teredo
                let c = self.client();
                let mut m = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
                m.extend_from_slice(b"\x05host1\x05local\x00\x00\x01\x80\x01\x00\x00\x00\x78\x00\x04");
                m.extend_from_slice(&c.local);
                ("other:mdns", ETH_IPV4, ip_udp(c.local, [224, 0, 0, 251], 5353, 5353, id, &m))
            }
            _ => {
                // random UDP payloads on random ports (BitTorrent-like, games, VoIP)
                let c = self.client();
                let n = self.payload_len().max(1);
                let p = self.random_payload(n);
                let dport = self.rng.range(1024, 65535) as u16;
                ("other:random-udp", ETH_IPV4, ip_udp(c.local, [203, 0, 113, 99], c.local_port, dport, id, &p))
            }
        };
        let f = self.ether(ethertype, &ip);
        let origlen = f.len() as u32;
        // about 1 % of Teredo frames cut by a snaplen
        if class.starts_with("teredo:") && self.rng.chance(10) && f.len() > 96 {
            let cut = self.rng.range(60, 96) as usize;
            return ("teredo:snaplen-cut", f[..cut].to_vec(), origlen);
        }
        (class, f, origlen)
    }
}

// ---------------------------------------------------------------- --packets mode

struct Args {
    packets: u64,
    seed: u64,
    format: Option<CaptureFormat>,
    out: Option<String>,
    truth: Option<String>,
    suite: Option<String>,
}

fn parse_args() -> Result<Args> {
    let mut a = Args { packets: 1000, seed: 1, format: None, out: None, truth: None, suite: None };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--packets" | "-n" => a.packets = val()?.parse().context("--packets")?,
            "--seed" | "-s" => a.seed = val()?.parse().context("--seed")?,
            "--format" => {
                a.format = Some(match val()?.as_str() {
                    "pcap" => CaptureFormat::Pcap,
                    "pcapng" => CaptureFormat::Pcapng,
                    f => bail!("--format: pcap or pcapng, not {f}"),
                })
            }
            "-o" | "--output" => a.out = Some(val()?),
            "--truth" => a.truth = Some(val()?),
            "--suite" => a.suite = Some(val()?),
            "-h" | "--help" => {
                eprintln!(
                    "gencap --packets N --seed S [--format pcap|pcapng] -o FILE [--truth FILE]\n\
                     gencap --suite DIR"
                );
                std::process::exit(0);
            }
            _ => bail!("unknown argument {arg}"),
        }
    }
    Ok(a)
}

fn generate(a: &Args) -> Result<()> {
    let out = a.out.as_deref().context("-o FILE is required")?;
    let format = a.format.unwrap_or_else(|| CaptureFormat::from_path(out));
    let mut w = CaptureWriter::create_with_format(out, format, TsPrecision::Micro)?;
    let mut truth = match &a.truth {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p).with_context(|| format!("creating {p}"))?)),
        None => None,
    };
    let mut m = Model::new(a.seed);
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut sec, mut usec) = (1_700_000_000i64, 0u32);
    let mut bytes = 0u64;
    for n in 1..=a.packets {
        let (class, f, origlen) = m.frame();
        usec += m.rng.below(600) as u32;
        if usec >= 1_000_000 {
            sec += 1;
            usec -= 1_000_000;
        }
        w.write_frame(sec, usec * 1000, 1, origlen, &f)?;
        bytes += f.len() as u64;
        *counts.entry(class).or_default() += 1;
        if let Some(t) = truth.as_mut() {
            writeln!(t, "{n} {class}")?;
        }
    }
    w.finish()?;
    if let Some(mut t) = truth {
        t.flush()?;
    }
    let teredo: u64 = counts.iter().filter(|(k, _)| k.starts_with("teredo:")).map(|(_, v)| v).sum();
    eprintln!(
        "gencap: {} frames ({teredo} Teredo), {bytes} bytes of frame data, seed {}, {format} -> {out}",
        a.packets, a.seed
    );
    for (k, v) in &counts {
        eprintln!("  {k:<24} {v:>10}");
    }
    Ok(())
}

// ---------------------------------------------------------------- --suite mode

/// A frame of the suite: link type, bytes, original length (None = not cut), precision.
struct SFrame {
    linktype: u32,
    data: Vec<u8>,
    origlen: Option<u32>,
    precision: TsPrecision,
    ts_nsec: u32,
}

fn sf(linktype: u32, data: Vec<u8>) -> SFrame {
    SFrame { linktype, data, origlen: None, precision: TsPrecision::Micro, ts_nsec: 0 }
}

fn write_suite_file(dir: &str, name: &str, frames: &[SFrame]) -> Result<()> {
    let path = format!("{dir}/{name}");
    let mut w = CaptureWriter::create(&path, TsPrecision::Micro)?;
    for (i, f) in frames.iter().enumerate() {
        w.write_frame_with_precision(
            1_700_000_000 + i as i64,
            f.ts_nsec + (i as u32) * 1000,
            f.precision,
            f.linktype,
            f.origlen.unwrap_or(f.data.len() as u32),
            &f.data,
        )?;
    }
    let n = w.finish()?;
    eprintln!("  {path}: {n} frames");
    Ok(())
}

/// Classic pcap written big-endian by hand (our writer writes little-endian only).
fn write_be_pcap(dir: &str, name: &str, linktype: u32, frames: &[Vec<u8>]) -> Result<()> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2_c3d4u32.to_be_bytes());
    v.extend_from_slice(&2u16.to_be_bytes());
    v.extend_from_slice(&4u16.to_be_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&65535u32.to_be_bytes());
    v.extend_from_slice(&linktype.to_be_bytes());
    for (i, f) in frames.iter().enumerate() {
        v.extend_from_slice(&(1_700_000_000u32 + i as u32).to_be_bytes());
        v.extend_from_slice(&(i as u32 * 1000).to_be_bytes());
        v.extend_from_slice(&(f.len() as u32).to_be_bytes());
        v.extend_from_slice(&(f.len() as u32).to_be_bytes());
        v.extend_from_slice(f);
    }
    let path = format!("{dir}/{name}");
    std::fs::write(&path, v).with_context(|| format!("writing {path}"))?;
    eprintln!("  {path}: {} frames (big-endian)", frames.len());
    Ok(())
}

/// Wraps an IPv4 packet in a link layer.
type Wrap = dyn Fn(&[u8]) -> Vec<u8>;

fn suite(dir: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {dir}"))?;
    let mut rng = Rng(0x007e_7ed0);
    // Two clients behind NATs on documentation addresses, one server, one relay.
    let a_map: V4 = [198, 51, 100, 7];
    let a_port = 40000u16;
    let b_map: V4 = [203, 0, 113, 9];
    let b_port = 51234u16;
    let relay: V4 = [192, 0, 2, 10];
    let a6 = teredo_addr(SERVER, 0x0a5c, a_port, a_map);
    let b6 = teredo_addr(SERVER, 0x0000, b_port, b_map);
    let native = doc6(0x80);
    let cone_ll = link_local([0x80, 0, 0x54, 0x45, 0x52, 0x45, 0x44, 0x4f]);
    let ll = link_local([0, 0, 0x54, 0x45, 0x52, 0x45, 0x44, 0x4f]);
    let srv_ll = link_local([0x80, 0, 0xf2, 0x27, 0x3f, 0xff, 0xfd, 0xfe]);
    let nonce8 = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
    let e = |ip: Vec<u8>| eth(MAC_A, MAC_B, &[], ETH_IPV4, &ip);

    // Every Teredo message type, Ethernet.
    let rs = cat(&[&auth_ind(&[], &[], nonce8, 0), &router_solicitation(&cone_ll)]);
    let rs_secure = cat(&[&auth_ind(b"client-1", &[0xab; 20], nonce8, 0), &router_solicitation(&ll)]);
    let ra =
        cat(&[&auth_ind(&[], &[], nonce8, 0), &origin_ind(a_port, a_map), &router_advertisement(&srv_ll, &ll, SERVER)]);
    let direct = bubble(&a6, &b6);
    let indirect = cat(&[&origin_ind(a_port, a_map), &bubble(&a6, &b6)]);
    let echo_req = echo(&a6, &native, false, 0x1234, 1, &nonce8);
    let echo_rep = echo(&native, &a6, true, 0x1234, 1, &nonce8);
    let data_tcp = ipv6_tcp(&a6, &b6, 50000, 80, 1, 0x02, &[]);
    let data_udp = ipv6_udp(&native, &a6, 8080, 40001, b"hello from a native IPv6 host");
    let local_disc = ipv6(&a6, &ALL_NODES, NH_NONE, 1, 0, &[]);
    let msg = vec![
        sf(1, e(ip_udp(a_map, SERVER, a_port, 3544, 1, &rs))),
        sf(1, e(ip_udp(a_map, SERVER, a_port, 3544, 2, &rs_secure))),
        sf(1, e(ip_udp(SERVER2, a_map, 3544, a_port, 3, &ra))),
        sf(1, e(ip_udp(a_map, b_map, a_port, b_port, 4, &direct))),
        sf(1, e(ip_udp(SERVER, b_map, 3544, b_port, 5, &indirect))),
        sf(1, e(ip_udp(a_map, SERVER, a_port, 3544, 6, &echo_req))),
        sf(1, e(ip_udp(relay, a_map, 3544, a_port, 7, &echo_rep))),
        sf(1, e(ip_udp(a_map, b_map, a_port, b_port, 8, &data_tcp))),
        sf(1, e(ip_udp(relay, a_map, 3544, a_port, 9, &data_udp))),
        sf(
            1,
            e(ipv4(
                [192, 0, 2, 77],
                [224, 0, 0, 253],
                PROTO_UDP,
                1,
                10,
                0,
                &udp4([192, 0, 2, 77], [224, 0, 0, 253], a_port, 3544, &local_disc),
            )),
        ),
    ];
    write_suite_file(dir, "message-types.pcap", &msg)?;

    // Link types: the same RS, RA and data packets behind each link layer.
    let ip_pkts = [
        ip_udp(a_map, SERVER, a_port, 3544, 21, &rs),
        ip_udp(SERVER, a_map, 3544, a_port, 22, &ra),
        ip_udp(a_map, b_map, a_port, b_port, 23, &data_tcp),
    ];
    let links: [(&str, u32, &Wrap); 9] = [
        ("link-ethernet.pcap", 1, &|p| eth(MAC_A, MAC_B, &[], ETH_IPV4, p)),
        ("link-vlan-8021q.pcap", 1, &|p| eth(MAC_A, MAC_B, &[(0x8100, 0x2064)], ETH_IPV4, p)),
        ("link-qinq-8021ad.pcap", 1, &|p| eth(MAC_A, MAC_B, &[(0x88a8, 0x000a), (0x8100, 0x0064)], ETH_IPV4, p)),
        ("link-sll.pcap", 113, &|p| sll(0, ETH_IPV4, p)),
        ("link-sll2.pcap", 276, &|p| sll2(ETH_IPV4, 3, p)),
        ("link-raw.pcap", 101, &|p| p.to_vec()),
        ("link-ipv4.pcap", 228, &|p| p.to_vec()),
        ("link-null-le.pcap", 0, &|p| cat(&[&2u32.to_le_bytes(), p])),
        ("link-loop.pcap", 108, &|p| cat(&[&2u32.to_be_bytes(), p])),
    ];
    for (name, lt, wrap) in links {
        let frames: Vec<SFrame> = ip_pkts.iter().map(|p| sf(lt, wrap(p))).collect();
        write_suite_file(dir, name, &frames)?;
    }
    // BSD NULL written by a big-endian host: big-endian file, AF_INET in big-endian.
    let be_frames: Vec<Vec<u8>> = ip_pkts.iter().map(|p| cat(&[&2u32.to_be_bytes(), p])).collect();
    write_be_pcap(dir, "link-null-be.pcap", 0, &be_frames)?;

    // IPv4 fragments: a Teredo data packet (1200-byte inner payload) in 2 and in 3 fragments,
    // and 3 fragments where the second overlaps the first by 16 bytes with different bytes.
    let mut big = Vec::new();
    rng.fill(&mut big, 1200);
    let inner = ipv6_udp(&native, &a6, 443, 40002, &big);
    let dgram = udp4(relay, a_map, 3544, a_port, &inner);
    let frag = |id: u16, off: usize, end: usize, more: bool, bytes: &[u8]| {
        let word = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
        e(ipv4(relay, a_map, PROTO_UDP, 64, id, word, &bytes[off..end]))
    };
    let n = dgram.len();
    write_suite_file(
        dir,
        "ipv4-fragments-2.pcap",
        &[sf(1, frag(0x100, 0, 640, true, &dgram)), sf(1, frag(0x100, 640, n, false, &dgram))],
    )?;
    write_suite_file(
        dir,
        "ipv4-fragments-3.pcap",
        &[
            // sent out of order: last fragment first
            sf(1, frag(0x101, 800, n, false, &dgram)),
            sf(1, frag(0x101, 0, 400, true, &dgram)),
            sf(1, frag(0x101, 400, 800, true, &dgram)),
        ],
    )?;
    let mut altered = dgram.clone();
    for b in &mut altered[384..400] {
        *b ^= 0xff;
    }
    write_suite_file(
        dir,
        "ipv4-fragments-overlap.pcap",
        &[
            sf(1, frag(0x102, 0, 400, true, &dgram)),
            sf(1, frag(0x102, 384, 800, true, &altered)),
            sf(1, frag(0x102, 800, n, false, &dgram)),
        ],
    )?;

    // RFC 6081 trailers after a bubble (UDP from a to b's server or to b).
    let nonce_t: &[u8] = &[0x01, 0x04, 0xde, 0xad, 0xbe, 0xef];
    let trailer_cases: [(&str, Vec<u8>); 9] = [
        ("nonce", nonce_t.to_vec()),
        ("alternate address + nonce", cat(&[&[0x03, 0x08, 0, 0, 192, 0, 2, 100, 0x9c, 0x41], nonce_t])),
        ("ND option solicitation", vec![0x04, 0x04, 0x00, 0, 0, 0]),
        ("ND option advertisement", vec![0x04, 0x04, 0x01, 0, 0, 0]),
        ("random port 0x05", vec![0x05, 0x02, 0x9c, 0x42]),
        ("random port 0x02", vec![0x02, 0x02, 0x9c, 0x43]),
        ("unknown type 0x21 (skip) + nonce", cat(&[&[0x21, 0x03, 1, 2, 3], nonce_t])),
        ("discard type 0x41", vec![0x41, 0x02, 0, 0]),
        ("malformed: nonce length past end", vec![0x01, 0x04, 0xde, 0xad]),
    ];
    let trailers: Vec<SFrame> = trailer_cases
        .iter()
        .enumerate()
        .map(|(i, (_, t))| {
            let b = if i == 0 || i == 1 || i == 6 {
                // indirect bubbles (to the peer's server)
                ip_udp(a_map, SERVER, a_port, 3544, 40 + i as u16, &cat(&[&bubble(&a6, &b6), t]))
            } else {
                ip_udp(a_map, b_map, a_port, b_port, 40 + i as u16, &cat(&[&bubble(&a6, &b6), t]))
            };
            sf(1, e(b))
        })
        .collect();
    write_suite_file(dir, "rfc6081-trailers.pcap", &trailers)?;

    // An RA quoted in an ICMPv4 port unreachable sent by the client's NAT to the server.
    let ra_dgram = ip_udp(SERVER2, a_map, 3544, a_port, 60, &ra);
    let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&ra_dgram);
    let ck = csum_fold(csum_add(0, &icmp));
    icmp[2..4].copy_from_slice(&ck.to_be_bytes());
    write_suite_file(
        dir,
        "icmp-quoted-teredo.pcap",
        &[sf(1, e(ra_dgram.clone())), sf(1, e(ipv4(a_map, SERVER2, PROTO_ICMP, 64, 61, 0, &icmp)))],
    )?;

    // Malformed Teredo on port 3544, one class per frame.
    let mut auth_past = auth_ind(&[], &[], nonce8, 0);
    auth_past[3] = 0xf0; // AU-len 240 runs past the end
    auth_past.extend(router_solicitation(&ll));
    let origin_first =
        cat(&[&origin_ind(a_port, a_map), &auth_ind(&[], &[], nonce8, 0), &router_advertisement(&srv_ll, &ll, SERVER)]);
    let two_origins = cat(&[&origin_ind(a_port, a_map), &origin_ind(b_port, b_map), &bubble(&a6, &b6)]);
    let mut version = bubble(&a6, &b6);
    version[0] = 0x45;
    let mut plen = echo(&a6, &native, false, 1, 1, &nonce8);
    plen[4..6].copy_from_slice(&1000u16.to_be_bytes());
    let malformed = [
        ip_udp(a_map, SERVER, a_port, 3544, 70, &auth_past),
        ip_udp(SERVER, a_map, 3544, a_port, 71, &origin_first),
        ip_udp(SERVER, b_map, 3544, b_port, 72, &two_origins),
        ip_udp(a_map, SERVER, a_port, 3544, 73, &version),
        ip_udp(a_map, SERVER, a_port, 3544, 74, &plen),
    ];
    let names =
        ["auth-length-past-end", "origin-before-auth", "two-origins", "ipv6-version-4", "payload-length-past-end"];
    for (name, p) in names.iter().zip(malformed) {
        write_suite_file(dir, &format!("malformed-{name}.pcap"), &[sf(1, e(p))])?;
    }
    // A capture whose last record is cut (file truncated in the middle of frame 3's data).
    let path = format!("{dir}/malformed-truncated-record.pcap");
    write_suite_file(dir, "malformed-truncated-record.pcap", &msg[..3])?;
    let mut bytes = std::fs::read(&path)?;
    bytes.truncate(bytes.len() - 25);
    std::fs::write(&path, bytes)?;
    eprintln!("  {path}: cut 25 bytes before its end");

    // Snaplen-cut frames: data and RA cut at 64 and 96 bytes (origlen keeps the real size).
    let cut = |f: Vec<u8>, at: usize| {
        let origlen = f.len() as u32;
        SFrame {
            linktype: 1,
            data: f[..at].to_vec(),
            origlen: Some(origlen),
            precision: TsPrecision::Micro,
            ts_nsec: 0,
        }
    };
    write_suite_file(
        dir,
        "snaplen-cut.pcap",
        &[
            cut(e(ip_udp(relay, a_map, 3544, a_port, 80, &data_udp)), 64),
            cut(e(ip_udp(SERVER, a_map, 3544, a_port, 81, &ra)), 96),
        ],
    )?;

    // Timestamp resolutions: nanosecond pcap and a pcapng with three interfaces.
    let mut ns = vec![
        sf(1, e(ip_udp(a_map, SERVER, a_port, 3544, 90, &rs))),
        sf(1, e(ip_udp(SERVER2, a_map, 3544, a_port, 91, &ra))),
    ];
    for (i, f) in ns.iter_mut().enumerate() {
        f.precision = TsPrecision::Nano;
        f.ts_nsec = 123_456_789 + i as u32;
    }
    write_suite_file(dir, "pcap-nanosecond.pcap", &ns)?;
    let mut multi = vec![
        sf(1, e(ip_udp(a_map, SERVER, a_port, 3544, 100, &rs))),
        sf(101, ip_udp(SERVER2, a_map, 3544, a_port, 101, &ra)),
        sf(276, sll2(ETH_IPV4, 2, &ip_udp(a_map, b_map, a_port, b_port, 102, &direct))),
        sf(1, e(ip_udp(SERVER, b_map, 3544, b_port, 103, &indirect))),
    ];
    multi[1].precision = TsPrecision::Nano;
    multi[1].ts_nsec = 987_654_321;
    multi[2].precision = TsPrecision::Other(0x80 | 20);
    multi[2].ts_nsec = 500_000_000;
    write_suite_file(dir, "pcapng-multi-interface.pcapng", &multi)?;
    Ok(())
}

fn main() -> Result<()> {
    let a = parse_args()?;
    if let Some(dir) = &a.suite {
        eprintln!("gencap: writing the test suite into {dir}");
        return suite(dir);
    }
    generate(&a)
}
