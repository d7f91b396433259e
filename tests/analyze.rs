//! Capture analysis on real captures (lab and third-party).
use teredo_tool::analyze::{analyze_files, AnalysisReport, AnalyzeOptions, Analyzer};
use teredo_tool::dissect::DissectOptions;

fn analyze(paths: &[&str]) -> AnalysisReport {
    let mut a = Analyzer::new(AnalyzeOptions::default());
    analyze_files(&mut a, paths, &DissectOptions::default()).expect("read capture");
    a.report()
}

#[test]
#[ignore]
fn dump() {
    let f = std::env::var("ANALYZE_FILE").unwrap();
    let r = analyze(&[&f]);
    let mut out = Vec::new();
    r.write_tables(&mut out, false).unwrap();
    println!("{}", String::from_utf8(out).unwrap());
    if std::env::var("ANALYZE_JSON").is_ok() {
        println!("{}", serde_json::to_string_pretty(&r.to_json()).unwrap());
    }
}

const LAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/teredo-lab-miredo.pcapng");
#[allow(dead_code)]
const MIRE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/teredo-lab-mire.pcapng");

fn quals(r: &AnalysisReport) -> Vec<(String, String, String)> {
    r.processes_of("qualification")
        .map(|p| {
            (
                p.nat_type.unwrap().to_string(),
                format!(
                    "{}:{}",
                    p.mapped_address.get().cloned().unwrap_or_default(),
                    p.mapped_port.get().copied().unwrap_or(0)
                ),
                p.outcome.to_string(),
            )
        })
        .collect()
}

/// Expectations read off `tshark -r testdata/teredo-lab-miredo.pcapng --enable-heuristic teredo_udp
/// -T fields -e frame.number -e ip.src -e ip.dst -e udp.srcport -e udp.dstport -e teredo.auth.nonce
/// -e teredo.orig.addr -e teredo.orig.port -e ipv6.src -e ipv6.dst -e icmpv6.type`:
/// - frames 3/4: cone RS (fe80::8000:ffff:ffff:fffd) from 198.51.100.30:51857, RA from the *other*
///   address 192.0.2.2, nothing more from that socket -> cone;
/// - 198.51.100.1 (MASQUERADE): cone RS 10 and 16, both RAs from 192.0.2.2 answered by ICMP port
///   unreachable from 198.51.100.1 (12, 18); non-cone RS to 192.0.2.1 (26, origin :54522) and to
///   192.0.2.2 (28, origin :54161) -> the RFC's comparison says symmetric (the LAB.md conntrack trap);
///   again at 56..69 (:35990 vs :23657); then 91..94 with one port :54853 twice -> restricted;
/// - 198.51.100.2 (--random-fully): 42..53 (:51881 vs :44368), 70..84 (:46005 vs :12473),
///   95..98 (:26354 vs :41514) -> symmetric three times;
/// - 99..104: the three miredo clients' single non-cone RS (fe80::ffff:ffff:ffff) to the primary
///   only -> qualified, NAT type not determined, mappings .30:41128, .1:52393, .2:48057.
#[test]
fn lab_qualification_verdicts_and_mappings() {
    let r = analyze(&[LAB]);
    let q = quals(&r);
    let want = [
        ("cone", "198.51.100.30:51857"),
        ("symmetric", "198.51.100.1:54522"),
        ("symmetric", "198.51.100.2:51881"),
        ("symmetric", "198.51.100.1:35990"),
        ("symmetric", "198.51.100.2:46005"),
        ("restricted", "198.51.100.1:54853"),
        ("symmetric", "198.51.100.2:26354"),
        ("unknown", "198.51.100.30:41128"),
        ("unknown", "198.51.100.1:52393"),
        ("unknown", "198.51.100.2:48057"),
    ];
    assert_eq!(q.len(), want.len(), "{q:?}");
    for ((nat, mapped, outcome), (wn, wm)) in q.iter().zip(want) {
        assert_eq!((nat.as_str(), mapped.as_str(), outcome.as_str()), (wn, wm, "completed"));
    }
    // the fallback from the cone RS is reported as evidence that the cone RA never arrived
    let second = r.processes_of("qualification").nth(1).unwrap();
    let steps: Vec<(&str, u64)> = second.steps.iter().map(|s| (s.step, s.frame.number())).collect();
    assert_eq!(
        steps,
        [
            ("cone-rs", 10),
            ("ra-to-cone-rs", 11),
            ("ra-dropped-by-nat", 12),
            ("cone-rs", 16),
            ("ra-to-cone-rs", 17),
            ("ra-dropped-by-nat", 18),
            ("rs-to-primary", 26),
            ("ra-from-primary", 27),
            ("rs-to-secondary", 28),
            ("ra-from-secondary", 29)
        ]
    );
    assert!(second.evidence.iter().any(|e| e.contains("fell back") && e.contains("26")), "{:?}", second.evidence);
    assert!(second.evidence.iter().any(|e| e.contains("conntrack")));
    // the server and its secondary address
    assert_eq!(r.servers.len(), 1);
    let s = &r.servers[0];
    assert_eq!((s.address.as_str(), s.secondary.as_deref()), ("192.0.2.1", Some("192.0.2.2")));
    // 24 RS with Authentication in the capture (tshark: icmpv6.type == 133 over UDP), all answered
    assert_eq!((s.rs, s.ra, s.unanswered_rs), (24, 24, 0));
    let (mn, med, mx) = (s.rtt_ms.min.unwrap(), s.rtt_ms.median.unwrap(), s.rtt_ms.max.unwrap());
    assert!(mn > 0.0 && mn <= med && med <= mx && mx < 2.0, "{mn} {med} {mx}");
}
