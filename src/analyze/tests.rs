//! Generated packets for what Miredo never does: the full RFC 4380 §5.2.1 qualification,
//! local discovery with a unicast reply, host-specific relays, IPv6-initiated traffic, rate
//! limits, mapping changes. Built with the crate's emit functions, fed through `dissect_frame`.

use super::*;
use crate::addr::Flags;
use crate::dissect::{dissect_frame, DissectOptions};
use crate::wire::icmpv6::{emit_echo, emit_router_advertisement, emit_router_solicitation, RouterAdvertisementRepr};
use crate::wire::ipv4::{emit_ipv4, IpProtocol};
use crate::wire::ipv6::emit_bubble;
use crate::wire::link::{emit_ethernet, EtherType};
use crate::wire::teredo::{build_teredo_payload, Authentication, OriginIndication};
use crate::wire::udp::emit_udp;

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}
fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}
fn sock(s: &str) -> Sock {
    let (a, p) = s.split_once(':').unwrap();
    Sock { ip: v4(a), port: p.parse().unwrap() }
}

const S1: &str = "192.0.2.1";
const S2: &str = "192.0.2.2";

struct Gen {
    a: Analyzer,
    n: u64,
    t_ms: i64,
}

impl Gen {
    fn new() -> Self {
        Gen { a: Analyzer::new(AnalyzeOptions::default()), n: 0, t_ms: 0 }
    }
    fn at(&mut self, ms: i64) -> &mut Self {
        self.t_ms = ms;
        self
    }
    fn send(&mut self, src: &str, dst: &str, payload: &[u8]) -> u64 {
        let (s, d) = (sock(src), sock(dst));
        let mut f = Vec::new();
        emit_ethernet([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], EtherType::IPV4, &mut f);
        let ttl = if d.ip.is_multicast() { 1 } else { 64 };
        f.extend_from_slice(&emit_ipv4(s.ip, d.ip, IpProtocol::UDP, 8 + payload.len(), ttl, 1, 0));
        f.extend_from_slice(&emit_udp(s.port, d.port, payload, None));
        f.extend_from_slice(payload);
        self.n += 1;
        let meta = FrameMeta {
            file_index: 0,
            frame: self.n,
            ts_sec: 1_700_000_000 + self.t_ms.div_euclid(1000),
            ts_nsec: (self.t_ms.rem_euclid(1000) * 1_000_000) as u32,
            interface_id: 0,
        };
        let d = dissect_frame(&f, f.len(), 1, &DissectOptions::default());
        assert!(d.teredo.is_some(), "generated frame {} is Teredo", self.n);
        self.a.observe(&meta, &d);
        self.n
    }
    fn rs(&mut self, src: &str, server: &str, cone: bool, nonce: u8) -> u64 {
        let ll = if cone { v6("fe80::8000:ffff:ffff:fffd") } else { v6("fe80::ffff:ffff:fffd") };
        let mut ip = Vec::new();
        emit_router_solicitation(ll, &mut ip);
        let mut p = Vec::new();
        build_teredo_payload(Some(&Authentication::new([nonce; 8], 0)), None, &ip, &[], &mut p);
        self.send(src, &format!("{server}:3544"), &p)
    }
    /// RA from `from` (server address), prefix of `primary`, to `to`, with Origin `origin`.
    fn ra(&mut self, from: &str, primary: &str, to: &str, origin: &str, cone: bool, nonce: u8) -> u64 {
        let ll = if cone { v6("fe80::8000:ffff:ffff:fffd") } else { v6("fe80::ffff:ffff:fffd") };
        let o = sock(origin);
        let pb = v4(primary).octets();
        let prefix = Ipv6Addr::new(
            0x2001,
            0,
            u16::from_be_bytes([pb[0], pb[1]]),
            u16::from_be_bytes([pb[2], pb[3]]),
            0,
            0,
            0,
            0,
        );
        let mut ip = Vec::new();
        let repr = RouterAdvertisementRepr { prefix, mtu: Some(1280), retrans_timer: 2000, lifetime: u32::MAX };
        emit_router_advertisement(v6("fe80::8000:f227:3fff:fdfe"), ll, &repr, &mut ip);
        let mut p = Vec::new();
        build_teredo_payload(
            Some(&Authentication::new([nonce; 8], 0)),
            Some(&OriginIndication::new(o.ip, o.port)),
            &ip,
            &[],
            &mut p,
        );
        self.send(&format!("{from}:3544"), to, &p)
    }
    fn bubble(&mut self, src: &str, dst: &str, s6: Ipv6Addr, d6: Ipv6Addr, origin: Option<&str>) -> u64 {
        let b = emit_bubble(s6, d6, 0);
        let mut p = Vec::new();
        let o = origin.map(|o| {
            let o = sock(o);
            OriginIndication::new(o.ip, o.port)
        });
        build_teredo_payload(None, o.as_ref(), &b, &[], &mut p);
        self.send(src, dst, &p)
    }
    fn echo(&mut self, src: &str, dst: &str, s6: Ipv6Addr, d6: Ipv6Addr, reply: bool) -> u64 {
        let mut ip = Vec::new();
        emit_echo(reply, s6, d6, 64, 1, 1, b"nonce123", &mut ip);
        self.send(src, dst, &ip)
    }
    fn report(&self) -> AnalysisReport {
        self.a.report()
    }
}

fn teredo(server: &str, mapped: &str, cone: bool) -> Ipv6Addr {
    let m = sock(mapped);
    TeredoAddress {
        prefix: TeredoPrefix::Rfc4380,
        server: v4(server),
        flags: Flags(if cone { 0x8000 } else { 0x0a5c }),
        mapped_port: m.port,
        mapped_address: m.ip,
    }
    .encode()
}

fn qual(r: &AnalysisReport) -> (&'static str, String, &'static str) {
    let q: Vec<_> = r.processes_of("qualification").collect();
    assert_eq!(q.len(), 1, "{:#?}", r.processes);
    let q = q[0];
    let m = format!(
        "{}:{}",
        q.mapped_address.get().map_or(String::new(), |a| a.to_string()),
        q.mapped_port.get().copied().unwrap_or(0)
    );
    (q.nat_type.unwrap(), m, q.outcome)
}

#[test]
fn qualification_cone() {
    // RFC 4380 §5.2.1: cone RS to the primary, RA from the other address reaches the client
    let mut g = Gen::new();
    g.at(0).rs("198.51.100.7:40000", S1, true, 1);
    g.at(50).ra(S2, S1, "198.51.100.7:40000", "198.51.100.7:40000", true, 1);
    let r = g.report();
    assert_eq!(qual(&r), ("cone", "198.51.100.7:40000".into(), "completed"));
    assert_eq!(r.clients.len(), 1);
    assert_eq!((r.clients[0].nat_type, r.clients[0].cone), ("cone", true));
    assert_eq!(r.servers[0].secondary.map(|a| a.to_string()).as_deref(), Some(S2));
    assert_eq!(r.rs_ra[0].rtt_ms, Some(50.0));
}

#[test]
fn qualification_restricted_after_cone_timeouts() {
    // three cone RS without an RA (T = 4 s, N = 3), then non-cone RS to primary and secondary
    let mut g = Gen::new();
    for i in 0..3 {
        g.at(i * 4000).rs("198.51.100.7:40000", S1, true, i as u8 + 1);
    }
    let fb = g.at(12_000).rs("198.51.100.7:40000", S1, false, 10);
    g.at(12_040).ra(S1, S1, "198.51.100.7:40000", "198.51.100.7:40000", false, 10);
    g.at(12_100).rs("198.51.100.7:40000", S2, false, 11);
    g.at(12_140).ra(S2, S1, "198.51.100.7:40000", "198.51.100.7:40000", false, 11);
    let r = g.report();
    assert_eq!(qual(&r), ("restricted", "198.51.100.7:40000".into(), "completed"));
    let q = r.processes_of("qualification").next().unwrap();
    assert!(
        q.evidence.iter().any(|e| e.contains("fell back") && e.contains(&format!("frame {fb}"))),
        "{:?}",
        q.evidence
    );
    assert_eq!(r.servers[0].unanswered_rs, 3);
    assert_eq!(r.rs_ra.iter().filter(|p| p.flags.contains(&"unanswered")).count(), 3);
    assert_eq!(r.clients.len(), 1, "the secondary's RA does not make a client");
    assert_eq!(r.clients[0].nat_type, "restricted");
}

#[test]
fn qualification_symmetric() {
    let mut g = Gen::new();
    g.at(0).rs("198.51.100.7:40000", S1, false, 1);
    g.at(30).ra(S1, S1, "198.51.100.7:40000", "198.51.100.7:40000", false, 1);
    g.at(60).rs("198.51.100.7:40001", S2, false, 2);
    g.at(90).ra(S2, S1, "198.51.100.7:40001", "198.51.100.7:40001", false, 2);
    let r = g.report();
    assert_eq!(qual(&r), ("symmetric", "198.51.100.7:40000".into(), "completed"));
    // no cone phase here: no conntrack caution
    assert!(!r.processes[0].evidence.iter().any(|e| e.contains("conntrack")));
}

/// teredo-tool's prober: the cone RS from socket A, the non-cone RSs to the primary and the
/// secondary from socket B, all at once (src/probe: against the conntrack trap, LAB.md).
/// `cone_ra_first`: the cone RA arrives before B's RSs leave (seen in the lab when the
/// prober's second run was slower). `nat`: what the NAT does with the cone RA.
fn parallel(cone_ra_first: bool, nat: &str) -> (AnalysisReport, u64) {
    let (a, b) = ("198.51.100.7:41000", "198.51.100.7:40000");
    // symmetric: B's flow to the secondary gets another outer port
    let b2 = if nat == "symmetric" { "198.51.100.7:40001" } else { b };
    let mut g = Gen::new();
    g.at(0).rs(a, S1, true, 1);
    if cone_ra_first {
        g.at(1).ra(S2, S1, a, a, true, 1);
    }
    g.at(2).rs(b, S1, false, 2);
    g.at(3).rs(b2, S2, false, 3);
    if !cone_ra_first {
        g.at(4).ra(S2, S1, a, a, true, 1);
    }
    g.at(5).ra(S2, S1, b2, b2, false, 3);
    g.at(6).ra(S1, S1, b, b, false, 2);
    let mut retry = 0;
    if nat == "restricted" {
        // the NAT dropped the cone RA silently: the prober asks again after its timeout
        retry = g.at(1000).rs(a, S1, true, 4);
        g.at(1001).ra(S2, S1, a, a, true, 4);
    }
    (g.report(), retry)
}

#[test]
fn qualification_parallel_cone_test_on_its_own_socket() {
    for cone_ra_first in [false, true] {
        for (nat, want) in [("cone", "cone"), ("restricted", "restricted"), ("symmetric", "symmetric")] {
            let (r, retry) = parallel(cone_ra_first, nat);
            let ctx = format!("{nat}, cone RA first: {cone_ra_first}: {:#?}", r.processes);
            assert_eq!(qual(&r), (want, "198.51.100.7:40000".into(), "completed"), "{ctx}");
            let q = r.processes_of("qualification").next().unwrap();
            // a parallel test is no fallback from the cone RS
            assert!(!q.evidence.iter().any(|e| e.contains("fell back")), "{ctx}");
            if nat == "restricted" {
                assert!(
                    q.evidence
                        .iter()
                        .any(|e| e.contains("repeated the cone RS") && e.contains(&format!("frame {retry}"))),
                    "{ctx}"
                );
            }
            // the cone socket's mapping is not a client; the reported socket is
            let clients: Vec<(String, u16, &str)> =
                r.clients.iter().map(|c| (c.mapped_address.to_string(), c.mapped_port, c.nat_type)).collect();
            assert_eq!(clients, [("198.51.100.7".to_string(), 40000, want)], "{ctx}");
            assert!(r.processes_of("maintenance").next().is_none(), "{ctx}");
        }
    }
}

#[test]
fn qualification_offline_fails() {
    let mut g = Gen::new();
    for i in 0..3 {
        g.at(i * 4000).rs("198.51.100.7:40000", S1, false, i as u8 + 1);
    }
    let r = g.report();
    let q = r.processes_of("qualification").next().unwrap();
    assert_eq!((q.outcome, q.failed_step, q.nat_type), ("failed", Some("ra-from-primary"), Some("unknown")));
}

#[test]
fn maintenance_interval_and_mapping_change() {
    // capture inside the NAT: the client socket stays 10.0.0.2:5000, the Origin changes (rebind)
    let mut g = Gen::new();
    g.at(0).rs("10.0.0.2:5000", S1, false, 1);
    g.at(20).ra(S1, S1, "10.0.0.2:5000", "198.51.100.7:40000", false, 1);
    g.at(30_000).rs("10.0.0.2:5000", S1, false, 2);
    g.at(30_020).ra(S1, S1, "10.0.0.2:5000", "198.51.100.7:40000", false, 2);
    g.at(60_000).rs("10.0.0.2:5000", S1, false, 3);
    let f = g.at(60_020).ra(S1, S1, "10.0.0.2:5000", "198.51.100.7:41000", false, 3);
    let r = g.report();
    let m: Vec<_> = r.processes_of("maintenance").collect();
    assert_eq!(m.len(), 1);
    let iv = m[0].interval_s.unwrap();
    assert_eq!((iv.min, iv.median, iv.max), (30.0, 30.0, 30.0));
    let old = r.client("198.51.100.7:40000").unwrap();
    assert_eq!(old.mapping_changes.len(), 1);
    assert_eq!(
        (old.mapping_changes[0].frame.number(), old.mapping_changes[0].to.to_string()),
        (f, "198.51.100.7:41000".to_string())
    );
    assert_eq!(r.anomalies_of("mapping-change").count(), 1);
}

#[test]
fn on_link_discovery_with_unicast_reply() {
    // RFC 4380 §5.2.8 / §5.2.3 case 4: A's multicast bubble, B's unicast bubble, then data
    let a6 = teredo(S1, "198.51.100.7:40000", false);
    let b6 = teredo(S1, "198.51.100.7:40001", false);
    let mut g = Gen::new();
    let f1 = g.at(0).bubble("192.168.1.10:3000", "224.0.0.253:3544", a6, v6("ff02::1"), None);
    let f2 = g.at(5).bubble("192.168.1.11:3001", "192.168.1.10:3000", b6, a6, None);
    let f3 = g.at(10).echo("192.168.1.10:3000", "192.168.1.11:3001", a6, b6, false);
    let r = g.report();
    let ol: Vec<_> = r.processes_of("on-link").collect();
    assert_eq!(ol.len(), 1);
    assert_eq!(ol[0].outcome, "completed");
    let st: Vec<(&str, u64)> = ol[0].steps.iter().map(|s| (s.step, s.frame.number())).collect();
    assert_eq!(st, [("discovery-bubble", f1), ("unicast-reply-bubble", f2), ("first-data", f3)]);
    assert_eq!(r.anomalies_of("no-bubble-introduction").count(), 0);
}

#[test]
fn host_specific_relay_client_initiated() {
    // the IPv6 host 2002:cb00:7105::1 is 6to4 for 203.0.113.5, which answers itself
    let a6 = teredo(S1, "198.51.100.7:40000", false);
    let h = v6("2002:cb00:7105::1");
    let mut g = Gen::new();
    g.at(0).echo("198.51.100.7:40000", "192.0.2.1:3544", a6, h, false);
    g.at(40).bubble(
        "192.0.2.1:3544",
        "198.51.100.7:40000",
        v6("fe80::8000:f227:34ff:8efa"),
        a6,
        Some("203.0.113.5:3544"),
    );
    g.at(45).bubble("198.51.100.7:40000", "203.0.113.5:3544", a6, v6("fe80::8000:f227:34ff:8efa"), None);
    g.at(60).echo("203.0.113.5:3544", "198.51.100.7:40000", h, a6, true);
    let r = g.report();
    let p: Vec<_> = r.processes_of("host-specific-relay").collect();
    assert_eq!(p.len(), 1, "{:#?}", r.processes);
    assert_eq!(
        (p[0].outcome, p[0].relay.map(|x| x.to_string()).as_deref(), p[0].path),
        ("completed", Some("203.0.113.5:3544"), Some("restricted"))
    );
    assert!(r.relays.iter().any(|x| x.address.to_string() == "203.0.113.5" && x.host_specific));
}

#[test]
fn host_specific_relay_initiated_and_ipv6_initiated() {
    let a6 = teredo(S1, "198.51.100.7:40000", false);
    let mut g = Gen::new();
    // a host-specific relay sends first, directly (client behind a cone NAT)
    g.at(0).echo("203.0.113.5:3544", "198.51.100.7:40000", v6("2002:cb00:7105::1"), a6, false);
    // an IPv6-only host reaches the client through relay 198.51.100.99:3545 after an indirect bubble
    g.at(100).bubble("192.0.2.1:3544", "198.51.100.7:40000", v6("fe80::1"), a6, Some("198.51.100.99:3545"));
    g.at(110).bubble("198.51.100.7:40000", "198.51.100.99:3545", a6, v6("fe80::1"), None);
    g.at(130).echo("198.51.100.99:3545", "198.51.100.7:40000", v6("2001:db8::80"), a6, false);
    g.at(140).echo("198.51.100.7:40000", "198.51.100.99:3545", a6, v6("2001:db8::80"), true);
    let r = g.report();
    let hs: Vec<_> = r.processes_of("host-specific-relay").collect();
    assert_eq!(hs.len(), 1, "{:#?}", r.processes);
    assert_eq!((hs[0].outcome, hs[0].path), ("completed", Some("direct")));
    let v6i: Vec<_> = r.processes_of("ipv6-initiated").collect();
    assert_eq!(v6i.len(), 1);
    assert_eq!(
        (v6i[0].outcome, v6i[0].path, v6i[0].relay.map(|x| x.to_string()).as_deref()),
        ("completed", Some("indirect-bubble"), Some("198.51.100.99:3545"))
    );
    assert_eq!(v6i[0].peer.map(|x| x.to_string()).as_deref(), Some("2001:db8::80"));
    let rl = r.relays.iter().find(|x| x.port == 3545).unwrap();
    assert_eq!((rl.host_specific, rl.ipv6_hosts.as_slice()), (false, [v6("2001:db8::80")].as_slice()));
    assert_eq!(r.clients[0].relays.len(), 2);
}

#[test]
fn bubble_rate_limits() {
    let a6 = teredo(S1, "198.51.100.7:40000", false);
    let b6 = teredo(S2, "203.0.113.9:51234", false);
    let mut g = Gen::new();
    // 1.5 s apart: under the 2 s minimum (and beyond the 1 s de-duplication window)
    g.at(0).bubble("198.51.100.7:40000", "203.0.113.9:51234", a6, b6, None);
    let f = g.at(1500).bubble("198.51.100.7:40000", "203.0.113.9:51234", a6, b6, None);
    // then 3 s apart, no answer: the 5th in 300 s breaks the 4-bubble limit
    for i in 0..3 {
        g.at(4000 + i * 3000).bubble("198.51.100.7:40000", "203.0.113.9:51234", a6, b6, None);
    }
    let r = g.report();
    let rate: Vec<_> = r.anomalies_of("bubble-rate").collect();
    assert_eq!(rate.len(), 1);
    assert_eq!(rate[0].frames[0].number(), f);
    assert_eq!(r.anomalies_of("bubble-limit").count(), 1);
    let p = r.processes_of("inter-site").next().unwrap();
    assert_eq!((p.outcome, p.failed_step), ("failed", Some("reply-bubble")));
}

#[test]
fn nat_inside_and_outside_copies_count_once() {
    // the same RS seen on the NAT's inside (10.0.0.2:5000) and outside (198.51.100.7:40000)
    let mut g = Gen::new();
    g.at(0).rs("10.0.0.2:5000", S1, false, 1);
    g.at(1).rs("198.51.100.7:40000", S1, false, 1);
    g.at(30).ra(S1, S1, "198.51.100.7:40000", "198.51.100.7:40000", false, 1);
    g.at(31).ra(S1, S1, "10.0.0.2:5000", "198.51.100.7:40000", false, 1);
    let r = g.report();
    assert_eq!((r.servers[0].rs, r.servers[0].ra), (1, 1));
    assert_eq!(r.summary.duplicates, 2);
    assert_eq!(r.anomalies_of("reused-nonce").count(), 0);
}

#[test]
fn spoofed_or_inside_mapping_mismatch() {
    let a6 = teredo(S1, "198.51.100.7:40000", false);
    let mut g = Gen::new();
    g.at(0).echo("203.0.113.66:40000", "192.0.2.1:3544", a6, v6("2001:db8::1"), false);
    // later than the de-duplication window (same payload and destination as a NAT copy)
    g.at(2000).echo("10.1.1.1:40000", "192.0.2.1:3544", a6, v6("2001:db8::1"), false);
    let r = g.report();
    let mm: Vec<_> = r.anomalies_of("mapping-mismatch").collect();
    assert_eq!(mm.len(), 2);
    assert!(mm[0].detail.contains("spoofed"));
    assert!(mm[1].detail.contains("inside the client's NAT"));
}

/// A server's RTT median: the middle RTT of an odd count, the mean of the two middle ones of an
/// even count (the report finds them by selection, not by sorting).
#[test]
fn server_rtt_median_of_odd_and_even_counts() {
    let mut g = Gen::new();
    let mut medians = Vec::new();
    for (i, rtt) in [40, 10, 30, 20, 100].into_iter().enumerate() {
        let client = format!("198.51.100.{}:{}", 10 + i, 40_000 + i);
        let (t, nonce) = (1_000 * i as i64, i as u8 + 1);
        g.at(t).rs(&client, S1, false, nonce);
        g.at(t + rtt).ra(S1, S1, &client, &client, false, nonce);
        let r = g.report();
        let s = &r.servers[0];
        assert_eq!((s.rs, s.ra), (i as u64 + 1, i as u64 + 1));
        medians.push((s.rtt_ms.min, s.rtt_ms.median, s.rtt_ms.max));
    }
    assert_eq!(
        medians,
        [
            (Some(40.0), Some(40.0), Some(40.0)),
            (Some(10.0), Some(25.0), Some(40.0)),
            (Some(10.0), Some(30.0), Some(40.0)),
            (Some(10.0), Some(25.0), Some(40.0)),
            (Some(10.0), Some(30.0), Some(100.0)),
        ]
    );
}

#[test]
fn report_json_has_the_issue_keys() {
    let mut g = Gen::new();
    g.at(0).rs("198.51.100.7:40000", S1, true, 1);
    g.at(50).ra(S2, S1, "198.51.100.7:40000", "198.51.100.7:40000", true, 1);
    let j = g.report().to_json();
    for k in ["clients", "servers", "relays", "processes", "anomalies"] {
        assert!(j[k].is_array(), "{k}");
    }
    let c = &j["clients"][0];
    for k in [
        "address",
        "server",
        "cone",
        "mapped_address",
        "mapped_port",
        "nat_type",
        "first_seen",
        "last_seen",
        "packets",
        "peers",
        "relays",
    ] {
        assert!(c.get(k).is_some(), "client.{k}");
    }
    let s = &j["servers"][0];
    for k in ["address", "clients", "rs", "ra", "unanswered_rs"] {
        assert!(s.get(k).is_some(), "server.{k}");
    }
    for k in ["min", "median", "max"] {
        assert!(s["rtt_ms"].get(k).is_some());
    }
    let p = &j["processes"][0];
    for k in ["kind", "outcome", "frames", "duration_ms", "nat_type", "mapped_address", "mapped_port", "server"] {
        assert!(p.get(k).is_some(), "process.{k}");
    }
    assert_eq!(p["frames"], serde_json::json!([1, 2]));
    assert_eq!(c["first_seen"], "2023-11-14T22:13:20.000000Z");
    let mut out = Vec::new();
    g.report().write_tables(&mut out, false).unwrap();
    let t = String::from_utf8(out).unwrap();
    assert!(t.contains("qualification") && t.contains("cone 198.51.100.7:40000"), "{t}");
}

/// The de-duplication hash tells apart payloads that differ in any one byte of their first
/// `HASHED_HEAD` (128) or last 16 (every position of every length up to 200: in each of the
/// four lanes of the 64-byte blocks, over both blocks, in the 16-byte steps after them, in
/// the tail and in the last 16 bytes of a longer payload) or only in length (a trailing zero
/// byte), and is the same for the same bytes; the bytes between are not read. Lanes that swap
/// their 16 bytes change it too.
#[test]
fn payload_hash_sees_the_head_the_tail_and_the_length() {
    use super::HASHED_HEAD;
    let mut seen = std::collections::HashSet::new();
    let mut variants = 0;
    for len in 0..200usize {
        let base: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        assert_eq!(super::payload_hash(&base), super::payload_hash(&base.clone()));
        let mut zero_extended = base.clone();
        zero_extended.push(0);
        assert_ne!(super::payload_hash(&base), super::payload_hash(&zero_extended), "len {len}");
        for i in 0..len {
            let hashed = i < HASHED_HEAD || i + 16 >= len;
            for flip in [0x01u8, 0x80] {
                let mut v = base.clone();
                v[i] ^= flip;
                if hashed {
                    assert_ne!(super::payload_hash(&base), super::payload_hash(&v), "len {len}, byte {i}");
                    seen.insert(super::payload_hash(&v));
                    variants += 1;
                } else {
                    assert_eq!(super::payload_hash(&base), super::payload_hash(&v), "len {len}, byte {i}");
                }
            }
        }
        // two lanes of the last whole block of the head swap their bytes
        if len >= 64 {
            for (x, y) in [(0, 1), (0, 2), (1, 3), (2, 3)] {
                let mut v = base.clone();
                let block = (len.min(HASHED_HEAD) / 64 - 1) * 64;
                for k in 0..16 {
                    v.swap(block + 16 * x + k, block + 16 * y + k);
                }
                assert_ne!(super::payload_hash(&base), super::payload_hash(&v), "len {len}, lanes {x} {y}");
            }
        }
    }
    // no collisions among the variants either
    assert!(variants > 30_000, "{variants}");
    assert_eq!(seen.len(), variants);
}

/// The per-thread memo of address checks answers as the checks do, for addresses that
/// differ in any checked part (prefix, server, mapped address, the R, U and G bits) or only in
/// what the checks ignore (port, random flag bits), asked in any order and again.
#[test]
fn remembered_address_checks_are_the_checks() {
    let servers = [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(8, 8, 8, 8)];
    let mapped = [Ipv4Addr::new(198, 51, 100, 7), Ipv4Addr::new(192, 168, 1, 2), Ipv4Addr::new(100, 64, 0, 9)];
    let flags = [0x8000u16, 0x0000, 0x4000, 0x0200, 0x0100, 0x3cff, 0xbcff];
    let mut addrs = Vec::new();
    for prefix in [crate::addr::TeredoPrefix::Rfc4380, crate::addr::TeredoPrefix::Legacy] {
        for &server in &servers {
            for &m in &mapped {
                for &f in &flags {
                    for port in [1u16, 40000] {
                        let t = TeredoAddress { prefix, server, flags: Flags(f), mapped_port: port, mapped_address: m };
                        addrs.push((t.encode(), t));
                    }
                }
            }
        }
    }
    let mut suspects = 0;
    for round in 0..3 {
        for k in 0..addrs.len() {
            // another order each round, so that entries are found, missed and replaced
            let (a, t) = if round == 1 { &addrs[addrs.len() - 1 - k] } else { &addrs[k] };
            let want = AddressFindings::of(t).any();
            assert_eq!(super::suspect(a, t), want, "{a} round {round}");
            suspects += usize::from(want);
        }
    }
    assert!(suspects > 0 && suspects < 3 * addrs.len(), "{suspects}");
}

/// The hash's tail: the last 1-15 bytes, zero-padded, whatever the length before them.
#[test]
fn last_bytes_are_the_tail_zero_padded() {
    for len in 1..40usize {
        let b: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        for n in 1..16.min(len + 1) {
            let mut padded = [0u8; 16];
            padded[..n].copy_from_slice(&b[len - n..]);
            assert_eq!(super::last_bytes(&b, n), u128::from_le_bytes(padded), "len {len}, n {n}");
        }
    }
}

/// Copies 6,000 packets apart (a second vantage point half a second behind, at 15,000
/// packets/s) are still merged: the de-duplication table grows past its first 2,048 entries
/// when the capture's rate needs it. Distinct packets are not merged.
#[test]
fn dedup_table_grows_with_the_packet_rate() {
    let mut g = Gen::new();
    let a = teredo(S1, "203.0.113.7:40000", false);
    let h = v6("2001:db8::9");
    let echo = |g: &mut Gen, seq: u16| {
        let mut ip = Vec::new();
        emit_echo(false, a, h, 64, 1, seq, b"nonce123", &mut ip);
        g.send("203.0.113.7:40000", "198.51.100.9:3545", &ip);
    };
    for pass in 0..2i64 {
        for i in 0..6_000u16 {
            g.at(pass * 500 + i64::from(i) / 15);
            echo(&mut g, i);
        }
    }
    let s = g.a.stats();
    assert_eq!((s.packets, s.duplicates), (6_000, 6_000));
    assert!(g.a.seen_bits > DEDUP_MIN_BITS, "{}", g.a.seen_bits);
}

/// RAs whose nonces match no captured RS (a capture that starts mid-session) make one
/// anomaly per server address and client socket, listing every such RA, not one per nonce.
#[test]
fn unmatched_ras_group_by_server_and_client() {
    let mut g = Gen::new();
    let f1 = g.at(0).ra(S2, S1, "198.51.100.7:40000", "198.51.100.7:40000", false, 1);
    let f2 = g.at(30_000).ra(S2, S1, "198.51.100.7:40000", "198.51.100.7:40000", false, 2);
    let f3 = g.at(60_000).ra(S2, S1, "203.0.113.9:51234", "203.0.113.9:51234", false, 3);
    let r = g.report();
    let a: Vec<_> = r.anomalies_of("ra-unmatched-nonce").collect();
    assert_eq!(a.len(), 2, "{a:?}");
    let frames = |x: &&report::AnomalyView| x.frames.iter().map(|f| f.number()).collect::<Vec<_>>();
    assert_eq!(frames(&a[0]), vec![f1, f2]);
    assert_eq!(a[0].count, 2);
    assert_eq!(frames(&a[1]), vec![f3]);
    assert!(a[0].detail.contains("198.51.100.7:40000"), "{}", a[0].detail);
}

/// Relays count every host and packet they carry, also for processes beyond the cap.
#[test]
fn relays_count_traffic_of_processes_not_kept() {
    let mut g = Gen { a: Analyzer::new(AnalyzeOptions { max_processes: 1, ..Default::default() }), n: 0, t_ms: 0 };
    let a = teredo(S1, "203.0.113.7:40000", false);
    for (i, h) in ["2001:db8::1", "2001:db8::2", "2001:db8::3"].iter().enumerate() {
        g.at(i as i64 * 1000).echo("203.0.113.7:40000", "198.51.100.9:3545", a, v6(h), false);
    }
    let r = g.report();
    assert_eq!(r.processes.len(), 1);
    assert_eq!(r.summary.processes_not_kept, 2);
    let relay = r.relays.iter().find(|x| x.port == 3545).expect("relay");
    assert_eq!((relay.packets, relay.ipv6_hosts.len()), (3, 3), "{relay:?}");
}

/// A (client, host) pair remembers only the relay it was last seen through (to skip noting it
/// again): a pair that alternates between relays is counted on each, and each relay lists the
/// host and the clients once.
#[test]
fn a_pair_alternating_relays_counts_on_each() {
    let mut g = Gen::new();
    let a = teredo(S1, "203.0.113.7:40000", false);
    let b = teredo(S1, "203.0.113.8:40001", false);
    let host = v6("2001:db8::80");
    let (r1, r2) = ("198.51.100.9:3545", "198.51.100.10:3546");
    // 5 s apart: not copies of one packet (de-duplication window 1 s)
    g.at(0).echo("203.0.113.8:40001", r2, b, host, false);
    for (i, r) in [r1, r2, r1, r1, r2].iter().enumerate() {
        g.at(5000 + i as i64 * 5000).echo("203.0.113.7:40000", r, a, host, false);
    }
    g.at(30_000).echo("203.0.113.8:40001", r1, b, host, false);
    g.at(31_000).echo(r2, "203.0.113.7:40000", host, a, true);
    let r = g.report();
    let relay = |port| r.relays.iter().find(|x| x.port == port).expect("relay");
    let (x1, x2) = (relay(3545), relay(3546));
    assert_eq!((x1.packets, x2.packets), (4, 4), "{x1:?} {x2:?}");
    assert_eq!((x1.ipv6_hosts.clone(), x2.ipv6_hosts.clone()), (vec![host], vec![host]));
    assert_eq!((x1.clients.clone(), x2.clients.clone()), (vec![a, b], vec![b, a]));
    for c in [a, b] {
        let cv = r.clients.iter().find(|x| x.address == c).expect("client");
        assert_eq!((cv.relays.len(), cv.peers.clone()), (2, vec![host]), "{cv:?}");
    }
    // one relay-discovery process per (client, host); A's answered through the second relay
    let tests: Vec<_> = r.processes_of("relay-discovery").collect();
    assert_eq!(tests.len(), 2, "{tests:?}");
    assert!(tests.iter().any(|p| p.outcome == "completed"), "{tests:?}");
}

/// RSs wait for their RAs in a table swept of those older than 60 s once it holds 65,536: an RA
/// to a swept RS matches none. The sweep runs again only once what it left has doubled (each
/// sweep reads every entry: at every RS, 90,000 RSs in 45 s took 7.7 s instead of 0.13 s).
#[test]
fn rs_older_than_a_minute_are_swept_when_many_wait() {
    let mut g = Gen::new();
    let rs = |g: &mut Gen, ms: i64, nonce: u64, src: &str| {
        let mut ip = Vec::new();
        emit_router_solicitation(v6("fe80::ffff:ffff:fffd"), &mut ip);
        let mut p = Vec::new();
        build_teredo_payload(Some(&Authentication::new(nonce.to_be_bytes(), 0)), None, &ip, &[], &mut p);
        g.at(ms).send(src, "192.0.2.1:3544", &p)
    };
    rs(&mut g, 0, u64::MAX, "198.51.100.7:40000");
    for i in 0..RS_SWEEP_MIN as u64 + 1 {
        let src = format!("203.0.{}.{}:{}", (i >> 8) & 255, i & 255, 40000 + (i % 1000));
        rs(&mut g, 61_000 + i as i64 / 100, i + 1, &src);
    }
    let mut ra = |nonce: u64, to: &str| {
        let mut ip = Vec::new();
        let repr = RouterAdvertisementRepr {
            prefix: v6("2001:0:c000:201::"),
            mtu: None,
            retrans_timer: 0,
            lifetime: u32::MAX,
        };
        emit_router_advertisement(v6("fe80::8000:f227:3fff:fdfe"), v6("fe80::ffff:ffff:fffd"), &repr, &mut ip);
        let mut p = Vec::new();
        let o = sock(to);
        build_teredo_payload(
            Some(&Authentication::new(nonce.to_be_bytes(), 0)),
            Some(&OriginIndication::new(o.ip, o.port)),
            &ip,
            &[],
            &mut p,
        );
        g.at(62_000).send("192.0.2.1:3544", to, &p)
    };
    let swept = ra(u64::MAX, "198.51.100.7:40000");
    let kept = ra(1, "203.0.0.0:40000");
    let r = g.report();
    let unmatched: Vec<u64> =
        r.anomalies_of("ra-unmatched-nonce").flat_map(|a| a.frames.iter().map(|f| f.number())).collect();
    assert!(unmatched.contains(&swept), "{unmatched:?}");
    assert!(!unmatched.contains(&kept), "{unmatched:?}");
}

// A process keeps the last frame it touched and that of its last step (`FrameKey`) so as not
// to read the ends of its lists: what it records must be what reading them gives, for frames
// in any order, repeated, of several files, and too large for a key. (Caught: a key left
// stale by `touch_frame` or by `push_step`.)
proptest::proptest! {
    #[test]
    fn process_lists_are_those_read_from_their_ends(
        calls in proptest::collection::vec((0u8..4, 0u32..3, 0u64..6, 0usize..3), 1..80),
        cap in 1usize..12,
    ) {
        let names = [StepName::DirectBubble, StepName::ReplyBubble, StepName::FirstData];
        // frames 0-3 small, 4 and 5 beyond a key (frame or file too large)
        let frame = |file: u32, f: u64| match f {
            4 => FrameRef { file, frame: 1 << 50 },
            5 => FrameRef { file: u32::MAX, frame: 7 },
            f => FrameRef { file, frame: f + 1 },
        };
        let mut p = Proc::default();
        let (mut frames, mut total, mut steps) = (Vec::<FrameRef>::new(), 0u64, Vec::<(FrameRef, StepName)>::new());
        for (op, file, f, n) in calls {
            let fr = frame(file, f);
            let m = At::of(&FrameMeta { file_index: fr.file as usize, frame: fr.frame, ts_sec: 1, ts_nsec: 0, interface_id: 0 });
            // the lists' ends, read
            let mut touch = |fr: FrameRef| {
                total += 1;
                if frames.len() < cap && frames.last() != Some(&fr) {
                    frames.push(fr);
                }
            };
            match op {
                0 => {
                    p.touch(&m, cap);
                    touch(fr);
                }
                1 => {
                    // a step of an earlier frame, then its frame (an introduction found late)
                    p.push_step(Step::new(names[n], fr, 0));
                    steps.push((fr, names[n]));
                    p.touch_frame(fr, cap);
                    touch(fr);
                }
                _ => {
                    p.step(names[n], &m, cap);
                    touch(fr);
                    if steps.len() < cap && !steps.iter().rev().take_while(|s| s.0 == fr).any(|s| s.1 == names[n]) {
                        steps.push((fr, names[n]));
                    }
                }
            }
            proptest::prop_assert_eq!(&p.frames.frames, &frames);
            proptest::prop_assert_eq!(p.frames.total, total);
            let got: Vec<(FrameRef, StepName)> = p.steps.iter().map(|s| (s.frame(), s.name)).collect();
            proptest::prop_assert_eq!(&got, &steps);
        }
    }
}

/// `feed_run` over runs of any length (empty, one, across the prefetch distances) analyses
/// what `feed` does one observation at a time.
#[test]
fn feeding_runs_is_feeding_one_by_one() {
    let mut paths: Vec<_> = std::fs::read_dir("testdata/lab").unwrap().map(|e| e.unwrap().path()).collect();
    paths.retain(|p| p.extension().is_some_and(|x| x == "pcapng"));
    paths.sort();
    paths.push("testdata/teredo-lab-miredo.pcapng".into());
    let (mut one, mut runs) = (Analyzer::new(AnalyzeOptions::default()), Analyzer::new(AnalyzeOptions::default()));
    let mut total = 0;
    for (i, path) in paths.iter().enumerate() {
        let mut r = crate::capture::open(path.to_str().unwrap()).unwrap();
        let mut obs = Vec::new();
        while let Some(f) = r.next_frame() {
            let f = f.unwrap();
            let mut o = Observation::from_dissection(&dissect_frame(
                f.data,
                f.origlen as usize,
                f.linktype,
                &DissectOptions::default(),
            ));
            o.set_frame(&f);
            obs.push(o);
        }
        for o in &obs {
            one.feed(&o.frame_meta(i), o);
        }
        // runs ending at 0 (empty), 1, 1 (empty), 9, past 32 and at the end
        let ends = [0, 1, 1, 9, 45, obs.len() / 2, obs.len()];
        let mut start = 0;
        for end in ends.map(|e| e.min(obs.len())) {
            runs.feed_run(i, &obs, start..end.max(start));
            start = end.max(start);
        }
        total += obs.len();
    }
    assert!(total > 500 && one.stats().packets > 100, "{total} frames, {:?}", one.stats());
    assert_eq!(runs.stats(), one.stats());
    assert_eq!(runs.report().to_json(), one.report().to_json());
}
