//! `teredo-tool pcap --analyze --format json` (the real binary) on the captures recorded in the
//! project's own lab by tests/lab/record.sh (testdata/lab/KIND.pcapng, see testdata/README.md):
//! miredo-server, a client behind each NAT kind running teredo-tool's prober (the full RFC 4380
//! qualification, relay discovery and a ping through the miredo relay, inter-site with
//! teredo-mire) and then a real miredo client pinging the IPv6-only host and teredo-mire.
//!
//! The expectations never come from our own output. They come from
//! - the lab's design (tests/lab/lab.sh): which NAT, its public address, the server pair,
//!   the relay and the IPv6-only host;
//! - tshark's decoding of the same capture (testdata/lab/KIND.tshark.tsv, checked against
//!   tshark itself when it is installed): nonces, Origin indications, sockets, ICMPv6 types.
//!
//! Only the committed captures are read: no lab, no root, no tshark needed.
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::Command;

const KINDS: [&str; 4] = ["none", "cone", "restricted", "symmetric"];
const SERVER1: &str = "192.0.2.1";
const SERVER2: &str = "192.0.2.2";
const RELAY: &str = "203.0.113.1:3545";
const V6_HOST: &str = "2001:db8:ff::1";
const MIRE_TEREDO: &str = "2001:0:c633:6428:0:f226:39cc:9bd7";
/// miredo's client sends its single RS from this link-local address (LAB.md).
const MIREDO_RS_SOURCE: &str = "fe80::ffff:ffff:ffff";

/// The tshark fields in KIND.tshark.tsv, in order (testdata/README.md gives the command).
const FIELDS: [&str; 15] = [
    "frame.number",
    "frame.interface_id",
    "frame.time_epoch",
    "ip.src",
    "udp.srcport",
    "ip.dst",
    "udp.dstport",
    "icmp.type",
    "teredo.auth.nonce",
    "teredo.orig.addr",
    "teredo.orig.port",
    "ipv6.src",
    "ipv6.dst",
    "icmpv6.type",
    "icmpv6.opt.prefix",
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/lab")
}

/// One frame as tshark decodes it.
#[derive(Debug, Clone)]
struct Row {
    frame: u64,
    time: f64,
    src: String,
    dst: String,
    icmp: String,
    nonce: String,
    origin: Option<String>,
    v6src: String,
    v6dst: String,
    icmp6: String,
}

impl Row {
    fn ip_src(&self) -> &str {
        self.src.split(':').next().unwrap()
    }
    fn ip_dst(&self) -> &str {
        self.dst.split(':').next().unwrap()
    }
}

fn parse_tsv(text: &str) -> Vec<Row> {
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), FIELDS.len(), "{l}");
            Row {
                frame: f[0].parse().unwrap(),
                time: f[2].parse().unwrap(),
                src: format!("{}:{}", f[3], f[4]),
                dst: format!("{}:{}", f[5], f[6]),
                icmp: f[7].to_string(),
                nonce: f[8].to_string(),
                origin: (!f[9].is_empty()).then(|| format!("{}:{}", f[9], f[10])),
                v6src: f[11].to_string(),
                v6dst: f[12].to_string(),
                icmp6: f[13].to_string(),
            }
        })
        .collect()
}

fn rows(kind: &str) -> Vec<Row> {
    let text = std::fs::read_to_string(dir().join(format!("{kind}.tshark.tsv"))).unwrap();
    parse_tsv(&text)
}

fn tshark_available() -> bool {
    Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// The committed TSV is tshark's reading of the committed capture (when tshark is here).
#[test]
fn tsv_is_tsharks_reading_of_the_capture() {
    if !tshark_available() {
        eprintln!("tshark not installed: relying on the committed TSV files");
        return;
    }
    for kind in KINDS {
        let mut cmd = Command::new("tshark");
        cmd.arg("-r").arg(dir().join(format!("{kind}.pcapng")));
        cmd.args(["--enable-heuristic", "teredo_udp", "-T", "fields"]);
        for f in FIELDS {
            cmd.args(["-e", f]);
        }
        let out = cmd.output().expect("run tshark");
        assert!(out.status.success());
        let want = std::fs::read_to_string(dir().join(format!("{kind}.tshark.tsv"))).unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{kind}.tshark.tsv is stale");
    }
}

fn analyze(kind: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_teredo-tool"))
        .args(["pcap", "--analyze", "--format", "json"])
        .arg(dir().join(format!("{kind}.pcapng")))
        .output()
        .expect("run teredo-tool");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// RFC 4380 §4: server IPv4 in bits 32-63, mapped port and address obfuscated in the last 48.
fn teredo_mapping(a: &str) -> Option<String> {
    let a: Ipv6Addr = a.parse().ok()?;
    let s = a.segments();
    if (s[0], s[1]) != (0x2001, 0) {
        return None;
    }
    let port = !s[5];
    let ip = Ipv4Addr::from(!((u32::from(s[6]) << 16) | u32::from(s[7])));
    Some(format!("{ip}:{port}"))
}

fn cone_bit(ll: &str) -> bool {
    ll.parse::<Ipv6Addr>().unwrap().octets()[8] & 0x80 != 0
}

/// One qualification as the capture shows it (tshark's fields + RFC 4380 §5.2.1).
#[derive(Debug, Default)]
struct QualFacts {
    /// outer socket of the cone RS (prober runs only)
    cone_sock: Option<String>,
    cone_rs: Vec<Row>,
    primary_rs: Option<Row>,
    secondary_rs: Option<Row>,
    miredo: bool,
}

struct Facts {
    rows: Vec<Row>,
    /// distinct RS / RA (by nonce: two vantage points see each one twice)
    rs: Vec<Row>,
    ra: HashMap<String, Row>,
    quals: Vec<QualFacts>,
}

fn facts(kind: &str) -> Facts {
    let rows = rows(kind);
    let mut seen = BTreeSet::new();
    let rs: Vec<Row> = rows.iter().filter(|r| r.icmp6 == "133" && seen.insert(r.nonce.clone())).cloned().collect();
    let mut ra = HashMap::new();
    for r in rows.iter().filter(|r| r.icmp6 == "134") {
        ra.entry(r.nonce.clone()).or_insert_with(|| r.clone());
    }
    // Group the RSs: each new cone-RS socket starts a prober run (teredo-tool sends the cone RS
    // from a socket of its own, then non-cone RSs to the primary and the secondary); miredo's
    // single non-cone RS comes from fe80::ffff:ffff:ffff.
    let mut quals: Vec<QualFacts> = Vec::new();
    for r in &rs {
        if cone_bit(&r.v6src) {
            match quals.iter_mut().find(|q| q.cone_sock.as_deref() == Some(r.src.as_str())) {
                Some(q) => q.cone_rs.push(r.clone()),
                None => quals.push(QualFacts {
                    cone_sock: Some(r.src.clone()),
                    cone_rs: vec![r.clone()],
                    ..Default::default()
                }),
            }
        } else if r.v6src == MIREDO_RS_SOURCE {
            quals.push(QualFacts { primary_rs: Some(r.clone()), miredo: true, ..Default::default() });
        } else {
            let q = quals.last_mut().expect("a prober run starts with its cone RS");
            let slot = match r.ip_dst() {
                SERVER1 => &mut q.primary_rs,
                SERVER2 => &mut q.secondary_rs,
                other => panic!("RS to {other}"),
            };
            slot.get_or_insert_with(|| r.clone());
        }
    }
    Facts { rows, rs, ra, quals }
}

impl Facts {
    fn origin_of(&self, rs: &Row) -> String {
        self.ra.get(&rs.nonce).and_then(|ra| ra.origin.clone()).expect("an RA with an Origin answers the RS")
    }
    /// (NAT type, mapping) per qualification, from the capture alone (RFC 4380 §5.2.1), and
    /// the frame of a cone RS repeated after its RA had passed (restricted evidence).
    fn verdicts(&self) -> Vec<(String, String, Option<u64>)> {
        self.quals
            .iter()
            .map(|q| {
                let m1 = self.origin_of(q.primary_rs.as_ref().unwrap());
                if q.miredo {
                    return ("unknown".to_string(), m1, None);
                }
                let m2 = self.origin_of(q.secondary_rs.as_ref().expect("RS to the secondary"));
                let first_cone_ra = self.ra.get(&q.cone_rs[0].nonce);
                let repeated =
                    first_cone_ra.and_then(|ra| q.cone_rs.iter().find(|r| r.time > ra.time)).map(|r| r.frame);
                let nat = if m1 != m2 {
                    "symmetric"
                } else if repeated.is_some() || first_cone_ra.is_none() {
                    "restricted"
                } else {
                    "cone"
                };
                (nat.to_string(), m1, repeated)
            })
            .collect()
    }
}

/// The lab's design (tests/lab/lab.sh): the verdict RFC 4380 §5.2.1 must reach, and the
/// public address. Without a NAT the client's own address is public: the capture shows a
/// host with endpoint-independent mapping and filtering, which RFC 4380's qualification
/// (cone RS answered from the other address) calls cone — "none" needs the client's local
/// address, which a capture outside the client does not show.
fn design(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "none" => ("cone", "198.51.100.66"),
        "cone" => ("cone", "198.51.100.1"),
        "restricted" => ("restricted", "198.51.100.1"),
        "symmetric" => ("symmetric", "198.51.100.1"),
        _ => unreachable!(),
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

#[test]
fn captures_show_what_the_lab_was_built_to_do() {
    // Guards the recording and the derivation below: each capture holds two prober runs and
    // one miredo client, and tshark's fields give the verdict the NAT was built for.
    for kind in KINDS {
        let f = facts(kind);
        let (nat, public) = design(kind);
        let v = f.verdicts();
        assert_eq!(v.len(), 3, "{kind}: {:?}", f.quals);
        for (i, (n, m, _)) in v.iter().enumerate() {
            let want = if i == 2 { "unknown" } else { nat };
            assert_eq!((n.as_str(), m.split(':').next().unwrap()), (want, public), "{kind} qualification {i}");
        }
        if kind == "none" {
            // no translation: the Origin indication is the RS's own source socket
            for q in &f.quals {
                let rs = q.primary_rs.as_ref().unwrap();
                assert_eq!(f.origin_of(rs), rs.src, "{kind}");
            }
        }
        // no ICMP error at all: the lab's NATs drop unsolicited UDP silently
        assert!(f.rows.iter().all(|r| r.icmp.is_empty()), "{kind}");
    }
}

#[test]
fn qualification_verdicts_mappings_and_servers() {
    for kind in KINDS {
        let f = facts(kind);
        let a = analyze(kind);
        let quals: Vec<&Value> =
            a["processes"].as_array().unwrap().iter().filter(|p| p["kind"] == "qualification").collect();
        let mut got: Vec<(String, String, String, String)> = quals
            .iter()
            .map(|p| {
                (
                    s(&p["nat_type"]).to_string(),
                    format!("{}:{}", s(&p["mapped_address"]), p["mapped_port"]),
                    s(&p["server"]).to_string(),
                    s(&p["outcome"]).to_string(),
                )
            })
            .collect();
        let mut want: Vec<(String, String, String, String)> =
            f.verdicts().into_iter().map(|(n, m, _)| (n, m, SERVER1.to_string(), "completed".to_string())).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{kind}: {quals:#?}");

        // restricted: the evidence is the cone RS repeated after its RA passed the WAN side
        // (the NAT dropped the RA without an ICMP error)
        for (_, m, repeated) in f.verdicts() {
            let Some(frame) = repeated else { continue };
            let q = quals.iter().find(|p| format!("{}:{}", s(&p["mapped_address"]), p["mapped_port"]) == m).unwrap();
            let ev: Vec<&str> = q["evidence"].as_array().unwrap().iter().map(s).collect();
            assert!(ev.iter().any(|e| e.contains(&format!("frame {frame})"))), "{kind}: {ev:?}");
            assert!(!ev.iter().any(|e| e.contains("fell back")), "{kind}: parallel RSs are no fallback: {ev:?}");
        }

        // each qualified client carries its verdict; the cone test's socket is no client
        let clients = a["clients"].as_array().unwrap();
        for (n, m, _) in f.verdicts() {
            let c = clients
                .iter()
                .find(|c| format!("{}:{}", s(&c["mapped_address"]), c["mapped_port"]) == m)
                .unwrap_or_else(|| panic!("{kind}: no client for {m}"));
            assert_eq!(s(&c["nat_type"]), n, "{kind} {m}");
            assert_eq!(s(&c["server"]), SERVER1);
        }
        for q in f.quals.iter().filter(|q| !q.miredo) {
            let cone = q.cone_sock.as_deref().unwrap();
            assert!(
                !clients.iter().any(|c| format!("{}:{}", s(&c["mapped_address"]), c["mapped_port"]) == cone),
                "{kind}: the cone-RS socket {cone} reported as a client"
            );
        }

        // servers: one pair, every RS answered; copies from the two vantage points count once
        let servers = a["servers"].as_array().unwrap();
        let srv = servers.iter().find(|x| x["address"] == SERVER1).expect("server");
        assert_eq!(s(&srv["secondary"]), SERVER2, "{kind}");
        assert!(!servers.iter().any(|x| x["address"] == SERVER2), "{kind}: the secondary is no server of its own");
        let answered = f.rs.iter().filter(|r| f.ra.contains_key(&r.nonce)).count();
        assert_eq!(answered, f.rs.len(), "{kind}: tshark shows an RA for every RS nonce");
        assert_eq!(srv["unanswered_rs"], 0, "{kind}");
        assert_eq!(srv["rs"], f.rs.len() as u64, "{kind}");
        assert_eq!(srv["ra"], f.ra.len() as u64, "{kind}");
        let rtt = &srv["rtt_ms"];
        let (lo, med, hi) =
            (rtt["min"].as_f64().unwrap(), rtt["median"].as_f64().unwrap(), rtt["max"].as_f64().unwrap());
        assert!(0.0 < lo && lo <= med && med <= hi, "{kind}: {rtt}");
        // the longest RS -> RA time in tshark's timestamps bounds the reported maximum
        let max_rtt = f.rs.iter().map(|r| (f.ra[&r.nonce].time - r.time) * 1000.0).fold(0.0, f64::max);
        assert!(hi <= max_rtt + 0.002, "{kind}: {hi} > {max_rtt}");
    }
}

#[test]
fn relay_and_relay_discovery() {
    for kind in KINDS {
        let f = facts(kind);
        let a = analyze(kind);
        // tshark: who sent echo requests to the IPv6-only host, and where the replies came from
        let clients: BTreeSet<String> =
            f.rows.iter().filter(|r| r.icmp6 == "128" && r.v6dst == V6_HOST).map(|r| r.v6src.clone()).collect();
        let reply_sources: BTreeSet<String> =
            f.rows.iter().filter(|r| r.icmp6 == "129" && r.v6src == V6_HOST).map(|r| r.src.clone()).collect();
        assert_eq!(clients.len(), 2, "{kind}: the prober and miredo");
        assert_eq!(reply_sources, BTreeSet::from([RELAY.to_string()]), "{kind}");

        let relays = a["relays"].as_array().unwrap();
        assert_eq!(relays.len(), 1, "{kind}: {relays:#?}");
        let r = &relays[0];
        assert_eq!(format!("{}:{}", s(&r["address"]), r["port"]), RELAY, "{kind}");
        assert_eq!(r["ipv6_hosts"], serde_json::json!([V6_HOST]), "{kind}");
        let got: BTreeSet<String> = r["clients"].as_array().unwrap().iter().map(|c| s(c).to_string()).collect();
        assert_eq!(got, clients, "{kind}");

        for c in &clients {
            // tshark: the server forwarded the relay's indirect bubble (Origin = the relay)
            // to this client before the first echo reply: miredo's relay takes the
            // restricted path (LAB.md)
            let first_reply =
                f.rows.iter().find(|r| r.icmp6 == "129" && &r.v6dst == c && r.v6src == V6_HOST).unwrap().time;
            assert!(
                f.rows.iter().any(|r| r.ip_src() == SERVER1
                    && r.origin.as_deref() == Some(RELAY)
                    && &r.v6dst == c
                    && r.icmp6.is_empty()
                    && r.time < first_reply),
                "{kind}: indirect bubble to {c}"
            );
            let p = a["processes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["kind"] == "relay-discovery" && s(&p["client"]) == c)
                .unwrap_or_else(|| panic!("{kind}: no relay-discovery for {c}"));
            assert_eq!(
                (s(&p["outcome"]), s(&p["path"]), s(&p["relay"]), s(&p["peer"])),
                ("completed", "restricted", RELAY, V6_HOST),
                "{kind} {c}: {p:#}"
            );
        }
        let n = a["processes"].as_array().unwrap().iter().filter(|p| p["kind"] == "relay-discovery").count();
        assert_eq!(n, clients.len(), "{kind}");
    }
}

#[test]
fn inter_site_with_teredo_mire() {
    for kind in KINDS {
        let f = facts(kind);
        let a = analyze(kind);
        let procs: Vec<&Value> = a["processes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["kind"] == "inter-site" && p["peer"] == MIRE_TEREDO)
            .collect();
        // tshark: clients that got echo replies from teredo-mire
        let answered: BTreeSet<String> =
            f.rows.iter().filter(|r| r.icmp6 == "129" && r.v6src == MIRE_TEREDO).map(|r| r.v6dst.clone()).collect();
        // tshark: Teredo-sourced bubbles (no ICMPv6) to teredo-mire, and no echo request after
        let bubbled_only: BTreeSet<String> = f
            .rows
            .iter()
            .filter(|r| r.v6dst == MIRE_TEREDO && r.icmp6.is_empty() && teredo_mapping(&r.v6src).is_some())
            .map(|r| r.v6src.clone())
            .filter(|c| !f.rows.iter().any(|r| r.icmp6 == "128" && &r.v6src == c && r.v6dst == MIRE_TEREDO))
            .collect();
        match kind {
            // the prober and the miredo client both reached teredo-mire
            "none" | "cone" | "restricted" => assert_eq!(answered.len(), 2, "{kind}"),
            // through the symmetric NAT nobody did; the prober got as far as the bubbles
            _ => assert!(answered.is_empty() && bubbled_only.len() == 1, "{kind}: {answered:?} {bubbled_only:?}"),
        }
        for c in &answered {
            let p = procs.iter().find(|p| s(&p["client"]) == c).unwrap_or_else(|| panic!("{kind}: {c}: {procs:#?}"));
            assert_eq!(s(&p["outcome"]), "completed", "{kind} {c}");
        }
        for c in &bubbled_only {
            let p = procs.iter().find(|p| s(&p["client"]) == c).unwrap_or_else(|| panic!("{kind}: {c}: {procs:#?}"));
            assert_eq!(s(&p["outcome"]), "incomplete", "{kind} {c}: bubbles, no data");
        }
    }
}

#[test]
fn anomalies_are_the_expected_ones() {
    for kind in KINDS {
        let f = facts(kind);
        let a = analyze(kind);
        // tshark: packets whose Teredo source embeds another mapping than the outer source
        // (RFC 4380 §5.2.3); through the symmetric NAT, flows to new destinations get new ports
        let mut mismatch: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
        for r in &f.rows {
            if let Some(m) = teredo_mapping(&r.v6src) {
                if m != r.src {
                    mismatch.entry((r.v6src.clone(), r.src.clone())).or_default().push(r.frame);
                }
            }
        }
        assert_eq!(mismatch.is_empty(), kind != "symmetric", "{kind}: {mismatch:?}");
        let anomalies = a["anomalies"].as_array().unwrap();
        let kinds: BTreeSet<&str> = anomalies.iter().map(|x| s(&x["kind"])).collect();
        let want: BTreeSet<&str> =
            if mismatch.is_empty() { BTreeSet::new() } else { BTreeSet::from(["mapping-mismatch"]) };
        // no ICMP errors in the captures (tshark), every RS authenticated with a fresh nonce
        assert_eq!(kinds, want, "{kind}: {anomalies:#?}");
        let reported: BTreeSet<u64> = anomalies
            .iter()
            .flat_map(|x| x["frames"].as_array().unwrap().iter().map(|f| f.as_u64().unwrap()))
            .collect();
        let all: BTreeSet<u64> = mismatch.values().flatten().copied().collect();
        assert!(reported.is_subset(&all), "{kind}: {reported:?} not all mismatches {all:?}");
        for ((addr, outer), frames) in &mismatch {
            assert!(
                frames.iter().any(|f| reported.contains(f)),
                "{kind}: {addr} from {outer} ({frames:?}) not reported"
            );
            // the embedded address is the NAT's public one: another port for this flow
            assert_eq!(teredo_mapping(addr).unwrap().split(':').next(), outer.split(':').next());
        }
    }
}
