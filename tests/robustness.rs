//! No panic on arbitrary input, and the heuristic's false-positive rate on generated
//! non-Teredo UDP plus its recall on generated Teredo.

use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};
use teredo_tool::dissect::NON_TEREDO_PORTS;
use teredo_tool::dissect::{
    dissect, dissect_frame, dissect_teredo_payload, looks_like_teredo, Detection, DissectOptions, MessageType,
};
use teredo_tool::wire::icmpv6::{emit_echo, emit_router_solicitation};
use teredo_tool::wire::ipv4::{emit_ipv4, IpProtocol};
use teredo_tool::wire::ipv6::emit_bubble;
use teredo_tool::wire::teredo::{build_teredo_payload, Authentication, OriginIndication, TrailerValue};
use teredo_tool::wire::udp::emit_udp;

const LINKTYPES: [u32; 12] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 105, 9999];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300), lt in 0usize..12, extra in 0usize..50) {
        let d = dissect_frame(&data, data.len() + extra, LINKTYPES[lt], &DissectOptions::default());
        let _ = d.layers();
        // a walk stops at its first error (Dissection::errors)
        prop_assert!(d.errors.len() <= 1 && !d.notices.overflowed());
        let p = dissect_teredo_payload(&data, 0);
        let _ = p.layers();
        prop_assert!(p.errors.len() <= 1);
    }

    /// Arbitrary bytes after a valid Ethernet/IPv4/UDP 3544 header exercise the Teredo walk.
    #[test]
    fn arbitrary_teredo_payload_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..200)) {
        let f = frame(&payload, 40000, 3544);
        let d = dissect(&f, 1, &DissectOptions::default());
        prop_assert!(d.is_teredo());
        let _ = d.layers();
        prop_assert!(d.errors.len() <= 1 && !d.notices.overflowed());
    }

    /// The same datagram quoted (and cut anywhere) in an ICMPv4 Port Unreachable: the main
    /// walk and the quoted one together still stop at one error at most.
    #[test]
    fn arbitrary_quoted_teredo_stops_once(payload in proptest::collection::vec(any::<u8>(), 0..200), cut in 0usize..260) {
        let inner = frame(&payload, 40000, 3544);
        let inner = &inner[14..14 + cut.min(inner.len() - 14)];
        let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(inner);
        let mut f = emit_ipv4(Ipv4Addr::new(198, 51, 100, 2), Ipv4Addr::new(192, 0, 2, 1), IpProtocol::ICMP, icmp.len(), 64, 2, 0).to_vec();
        f.extend_from_slice(&icmp);
        let d = dissect(&f, 228, &DissectOptions::default());
        let _ = d.layers();
        prop_assert!(d.errors.len() <= 1 && !d.notices.overflowed(), "{:?} {:?}", d.errors, d.notices);
        prop_assert_eq!(d.quoted, d.is_teredo());
    }
}

fn frame(udp_payload: &[u8], sport: u16, dport: u16) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&emit_ipv4(
        Ipv4Addr::new(192, 0, 2, 1),
        Ipv4Addr::new(198, 51, 100, 2),
        IpProtocol::UDP,
        8 + udp_payload.len(),
        64,
        1,
        0,
    ));
    f.extend_from_slice(&emit_udp(sport, dport, udp_payload, None));
    f.extend_from_slice(udp_payload);
    f
}

/// xorshift64*, a fixed-seed generator so the measurement is reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// A random port that is neither 3544 nor one the heuristic excludes.
    fn port(&mut self) -> u16 {
        loop {
            let p = 1024 + (self.next() % 64000) as u16;
            if p != 3544 && !NON_TEREDO_PORTS.contains(&p) {
                return p;
            }
        }
    }
}

fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for l in name.split('.') {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

#[test]
fn heuristic_false_positives_on_generated_non_teredo() {
    let mut rng = Rng(0x7e4ed0);
    let opts = DissectOptions::default();
    let mut fp = 0;
    let mut total = 0;
    let mut check = |payload: &[u8], sport: u16, dport: u16| {
        let f = frame(payload, sport, dport);
        total += 1;
        if dissect(&f, 1, &opts).is_teredo() {
            fp += 1;
        }
    };
    // 100k random payloads of 40..300 bytes, a quarter of them starting with nibble 6
    for k in 0..100_000 {
        let n = 40 + (rng.next() % 260) as usize;
        let mut p = rng.bytes(n);
        if k % 4 == 0 {
            p[0] = 0x60 | (p[0] & 0x0f);
        }
        let (s, d) = (rng.port(), rng.port());
        check(&p, s, d);
    }
    // DNS and mDNS queries with transaction ids starting 0x6_ (zeek's false-teredo case),
    // on their ports and on random ports
    for k in 0..2000u16 {
        let q = dns_query(0x6000 | k, "www.example.com");
        check(&q, rng.port(), 53);
        check(&q, 5353, 5353);
        check(&q, rng.port(), rng.port());
    }
    // QUIC Initial-like long headers (0xc0..) and short headers (0x40..0x7f) with random bodies
    for _ in 0..5000 {
        let mut p = rng.bytes(1200);
        p[0] = 0xc0 | (p[0] & 0x3f);
        p[1..5].copy_from_slice(&1u32.to_be_bytes());
        check(&p, rng.port(), 443);
        let mut s = rng.bytes(60);
        s[0] = 0x40 | (s[0] & 0x3f);
        check(&s, rng.port(), rng.port());
    }
    // BitTorrent DHT (bencoded), NTP, SSDP
    for _ in 0..2000 {
        let mut bt = b"d1:ad2:id20:".to_vec();
        bt.extend(rng.bytes(20));
        bt.extend_from_slice(b"6:target20:");
        bt.extend(rng.bytes(20));
        bt.extend_from_slice(b"e1:q9:find_node1:t2:aa1:y1:qe");
        check(&bt, rng.port(), rng.port());
        let mut ntp = vec![0x23, 0, 6, 0xec];
        ntp.extend(rng.bytes(44));
        check(&ntp, 123, 123);
        check(&ntp, rng.port(), rng.port());
        check(b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n\r\n", rng.port(), 1900);
    }
    eprintln!("heuristic false positives: {fp} of {total}");
    assert_eq!(fp, 0, "{fp} false positives of {total}");
}

fn a6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

#[test]
fn heuristic_recall_on_generated_teredo() {
    let mut rng = Rng(42);
    let opts = DissectOptions::default();
    let mut found = 0;
    let mut total = 0;
    let client = a6("2001:0:c000:201:8000:3fff:b1ce:fe33");
    let peer = a6("2001:0:c000:201:0:f1c9:39cc:9bfe");
    for _ in 0..500 {
        let nonce: [u8; 8] = rng.next().to_be_bytes();
        let auth = Authentication::new(nonce, 0);
        let origin = OriginIndication::new(Ipv4Addr::new(198, 51, 100, 7), rng.port());
        let mut rs = Vec::new();
        emit_router_solicitation(a6("fe80::8000:5445:5245:444f"), &mut rs);
        let mut echo = Vec::new();
        emit_echo(false, client, a6("2001:db8::1"), 128, 1, 2, &rng.bytes(22), &mut echo);
        let bubble = emit_bubble(client, peer, 0);
        let cases: Vec<(Vec<u8>, MessageType)> = vec![
            (
                {
                    let mut v = Vec::new();
                    build_teredo_payload(Some(&auth), None, &rs, &[], &mut v);
                    v
                },
                MessageType::RouterSolicitation,
            ),
            (
                {
                    let mut v = Vec::new();
                    build_teredo_payload(None, None, &echo, &[], &mut v);
                    v
                },
                MessageType::EchoRequest,
            ),
            (
                {
                    let mut v = Vec::new();
                    build_teredo_payload(
                        None,
                        None,
                        &bubble,
                        &[TrailerValue::Nonce([1, 2, 3, 4]), TrailerValue::RandomPort { code: 5, port: 4000 }],
                        &mut v,
                    );
                    v
                },
                MessageType::Bubble,
            ),
            (
                {
                    let mut v = Vec::new();
                    build_teredo_payload(
                        None,
                        Some(&origin),
                        &bubble,
                        &[TrailerValue::NeighborDiscovery { discovery_type: 0 }],
                        &mut v,
                    );
                    v
                },
                MessageType::IndirectBubble,
            ),
        ];
        for (p, ty) in cases {
            total += 1;
            let (s, d) = (rng.port(), rng.port());
            assert!(looks_like_teredo(&p, s, d, false));
            let fr = frame(&p, s, d);
            let dd = dissect(&fr, 1, &opts);
            if dd.detection == Detection::Heuristic && dd.message_type() == Some(ty) {
                found += 1;
            }
            // snaplen-cut echo: still recognised when the caller says the frame was cut
            if ty == MessageType::EchoRequest {
                let f = frame(&p, s, d);
                let cut = &f[..f.len() - 10];
                total += 1;
                let dc = dissect_frame(cut, f.len(), 1, &opts);
                if dc.is_teredo() && dc.errors.iter().any(|e| e.is_truncated()) {
                    found += 1;
                }
            }
        }
    }
    assert_eq!(found, total);
}
