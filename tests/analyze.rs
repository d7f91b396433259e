//! Capture analysis on real captures (lab and third-party).
use teredo_tool::analyze::{analyze_files, AnalysisReport, AnalyzeOptions, Analyzer};
use teredo_tool::dissect::DissectOptions;

/// Addresses and sockets of the report as their text (`Display`), to compare with tshark's.
fn txt<T: ToString>(x: T) -> String {
    x.to_string()
}
fn opt<T: ToString>(x: Option<T>) -> Option<String> {
    x.map(|x| x.to_string())
}
fn txts<T: ToString>(v: &[T]) -> Vec<String> {
    v.iter().map(T::to_string).collect()
}

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
const MIRE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/teredo-lab-mire.pcapng");

fn quals(r: &AnalysisReport) -> Vec<(String, String, String)> {
    r.processes_of("qualification")
        .map(|p| {
            (
                p.nat_type.unwrap().to_string(),
                format!(
                    "{}:{}",
                    p.mapped_address.get().map_or(String::new(), |a| a.to_string()),
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
    assert_eq!((txt(s.address).as_str(), opt(s.secondary).as_deref()), ("192.0.2.1", Some("192.0.2.2")));
    // 24 RS with Authentication in the capture (tshark: icmpv6.type == 133 over UDP), all answered
    assert_eq!((s.rs, s.ra, s.unanswered_rs), (24, 24, 0));
    let (mn, med, mx) = (s.rtt_ms.min.unwrap(), s.rtt_ms.median.unwrap(), s.rtt_ms.max.unwrap());
    assert!(mn > 0.0 && mn <= med && med <= mx && mx < 2.0, "{mn} {med} {mx}");
}

/// Inter-site processes and anomalies in the lab capture (tshark listing as above):
/// .30 -> .1: direct bubble 107 (refused: ICMP 108), indirect bubble to 192.0.2.1 (109),
/// forwarded with Origin 198.51.100.30:41128 (148), reply bubble from .1 (110), echo 111;
/// .30 -> .2 likewise (129, 130, 131, 179, 132, 133);
/// .1 -> .2: the reply bubbles 172 and 201 are refused by .1's NAT (ICMP 173, 202), no data.
#[test]
fn lab_inter_site_and_anomalies() {
    let r = analyze(&[LAB]);
    let is: Vec<_> = r.processes_of("inter-site").collect();
    assert_eq!(is.len(), 3);
    let find = |c: &str, p: &str| {
        is.iter().find(|x| opt(x.client).as_deref() == Some(c) && opt(x.peer).as_deref() == Some(p)).unwrap()
    };
    let a30 = "2001:0:c000:201:c4c:5f57:39cc:9be1";
    let a1 = "2001:0:c000:201:2cf4:3356:39cc:9bfe";
    let a2 = "2001:0:c000:201:a2:4446:39cc:9bfd";
    let p = find(a30, a1);
    assert_eq!(p.outcome, "completed");
    let st: Vec<(&str, u64)> = p.steps.iter().map(|s| (s.step, s.frame.number())).collect();
    for want in [
        ("direct-bubble", 107),
        ("direct-bubble-dropped", 108),
        ("indirect-bubble", 109),
        ("indirect-bubble-forwarded", 148),
        ("reply-bubble", 110),
        ("first-data", 111),
    ] {
        assert!(st.contains(&want), "{want:?} in {st:?}");
    }
    assert_eq!(find(a30, a2).outcome, "completed");
    let f = find(a1, a2);
    assert_eq!((f.outcome, f.failed_step), ("failed", Some("reply-bubble")));
    // ICMP port unreachable from both NATs quoting Teredo: frames per tshark `icmp.type == 3`
    let icmp: Vec<_> = r.anomalies_of("icmp-error-quoting-teredo").collect();
    assert_eq!(icmp.len(), 2);
    let frames: Vec<u64> = icmp.iter().flat_map(|a| a.frames.iter().map(|f| f.number())).collect();
    for f in [12, 18, 44, 49, 58, 61, 72, 80, 108, 130, 170, 173, 199, 202] {
        assert!(frames.contains(&f), "ICMP frame {f}");
    }
    // the RAs to the cone RS that the NATs refused are flagged on their pair
    let dropped: Vec<u64> = r
        .rs_ra
        .iter()
        .filter(|p| p.flags.contains(&"ra-dropped-by-nat"))
        .map(|p| p.ra_frame.as_ref().unwrap().number())
        .collect();
    assert_eq!(dropped, [11, 17, 43, 48, 57, 60, 71, 79]);
    // .1 answers from 198.51.100.1:23273 with an address embedding :52393 (frame 110): same
    // address, other port -> the NAT, not spoofing
    let mm = r.anomalies_of("mapping-mismatch").find(|a| a.detail.contains("198.51.100.1:23273")).unwrap();
    assert_eq!(mm.frames[0].number(), 110);
    assert!(mm.detail.contains("NAT most likely"));
    // three interfaces see many packets twice: merged, not double counted
    assert!(r.summary.duplicates >= 30, "{}", r.summary.duplicates);
    let c30 = r.client(a30).unwrap();
    assert_eq!(
        (txt(c30.mapped_address).as_str(), c30.mapped_port, txt(c30.server).as_str()),
        ("198.51.100.30", 41128, "192.0.2.1")
    );
    // 12 echo requests/replies with .1 and .2, bubbles: each packet counted once
    // (tshark -Y 'teredo && ip.src==198.51.100.30 && udp.srcport==41128 && frame.interface_id==0'
    // lists 20 frames, of which 108 and 130 are ICMP errors quoting them: 18 packets)
    assert_eq!(c30.packets.sent, 18);
    assert_eq!(r.to_json()["processes"].as_array().unwrap().len(), r.processes.len());
}

#[test]
fn lab_mire_ping_after_bubble() {
    // tshark: 7 direct bubble .30 -> teredo-mire 198.51.100.40:3545, 10..17 echo requests/replies
    let r = analyze(&[MIRE]);
    let p: Vec<_> = r.processes_of("inter-site").collect();
    assert_eq!(p.len(), 2);
    assert!(p
        .iter()
        .all(|p| p.outcome == "completed" && opt(p.peer).as_deref() == Some("2001:0:c633:6428:0:f226:39cc:9bd7")));
    assert_eq!(r.anomalies_of("no-bubble-introduction").count(), 0);
    let mire = r.client("2001:0:c633:6428:0:f226:39cc:9bd7").unwrap();
    assert_eq!((txt(mire.mapped_address).as_str(), mire.mapped_port), ("198.51.100.40", 3545));
}

fn real(name: &str) -> Option<String> {
    let p = format!("{}/../shared/captures/real/{name}", env!("CARGO_MANIFEST_DIR"));
    let p = if std::path::Path::new(&p).exists() { p } else { format!("/work/shared/captures/real/{name}") };
    if std::path::Path::new(&p).exists() {
        return Some(p);
    }
    assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{name} missing in CI");
    eprintln!("skipping: {name} not found");
    None
}

/// zeek Teredo.pcap (tshark): cone RS 6 -> RA 7 from 65.55.158.81 (the secondary) with Origin
/// 70.55.215.234:3797; echo request via the server 30, indirect bubble 31 with Origin
/// 83.170.1.38:32900, bubble to the relay 32, echo reply from the relay 33, then HTTP via the relay.
#[test]
fn zeek_windows_client_cone_and_relay() {
    let Some(f) = real("zeek-Teredo.pcap") else { return };
    let r = analyze(&[&f]);
    let q: Vec<_> = r.processes_of("qualification").collect();
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0].nat_type, opt(q[0].mapped_address.get()).as_deref(), q[0].mapped_port.get()),
        (Some("cone"), Some("70.55.215.234"), Some(&3797))
    );
    assert_eq!(opt(r.servers[0].secondary).as_deref(), Some("65.55.158.81"));
    assert_eq!(r.relays.len(), 1);
    let rl = &r.relays[0];
    assert_eq!((txt(rl.address).as_str(), rl.port, rl.host_specific), ("83.170.1.38", 32900, false));
    assert_eq!(txts(&rl.ipv6_hosts), ["2001:4860:0:2001::68"]);
    let d: Vec<_> = r.processes_of("relay-discovery").collect();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].outcome, d[0].path, opt(d[0].relay).as_deref()),
        ("completed", Some("restricted"), Some("83.170.1.38:32900"))
    );
    let st: Vec<(&str, u64)> = d[0].steps.iter().map(|s| (s.step, s.frame.number())).collect();
    assert!(
        st.starts_with(&[
            ("bubble-to-relay", 29),
            ("echo-request-via-server", 30),
            ("indirect-bubble-with-relay-origin", 31),
            ("direct-bubble-to-relay", 32),
            ("echo-reply-from-relay", 33)
        ]),
        "{st:?}"
    );
    let c = &r.clients[0];
    assert_eq!((c.nat_type, c.cone), ("cone", true));
    assert_eq!(txts(&c.relays), ["83.170.1.38:32900"]);
    // captured inside the NAT (192.168.2.16): the mismatch says so
    assert!(r.anomalies_of("mapping-mismatch").next().unwrap().detail.contains("inside the client's NAT"));
}

/// nDPI teredo.pcap (tshark): RS/RA 1/2, 3/4, 5/6, 7/8, 23/24 with server 194.136.28.76 and Origin
/// 185.6.192.185 (ports 52513, 60381, 63448, 56154; RS 23 reuses RS 1's nonce b11b3fea46a9afe9
/// 38 s later from the same socket); client 2001:0:c288:1c4c:20f3:359b:46f9:3f46 pings 6to4 hosts
/// 2002:c288:1c4c::c288:1c4c (replies 11, 17, 20 from 194.136.28.76:3544, the address the 6to4
/// prefix embeds) and ...:1c4d (6 requests, no reply).
#[test]
fn ndpi_five_clients_maintenance_and_host_specific_relay() {
    let Some(f) = real("ndpi-teredo.pcap") else { return };
    let r = analyze(&[&f]);
    assert_eq!(r.clients.len(), 5);
    let mut ports: Vec<u16> = r.clients.iter().map(|c| c.mapped_port).collect();
    ports.sort();
    assert_eq!(ports, [51812, 52513, 56154, 60381, 63448]);
    assert!(r.clients.iter().all(|c| txt(c.mapped_address) == "185.6.192.185" && txt(c.server) == "194.136.28.76"));
    let s = &r.servers[0];
    assert_eq!((txt(s.address).as_str(), s.rs, s.ra, s.unanswered_rs), ("194.136.28.76", 5, 5, 0));
    assert_eq!(r.anomalies_of("reused-nonce").next().unwrap().frames[0].number(), 23);
    assert!(r
        .rs_ra
        .iter()
        .any(|p| p.rs_frame.as_ref().map(|f| f.number()) == Some(23) && p.flags.contains(&"reused-nonce")));
    let m: Vec<_> = r.processes_of("maintenance").collect();
    assert_eq!(m.len(), 1);
    let iv = m[0].interval_s.unwrap();
    assert!((iv.median - 38.04).abs() < 0.05, "{iv:?}");
    let hs: Vec<_> = r.processes_of("host-specific-relay").collect();
    assert_eq!(hs.len(), 1);
    let ok = hs[0];
    assert_eq!(
        (opt(ok.peer).as_deref(), ok.outcome, opt(ok.relay).as_deref()),
        (Some("2002:c288:1c4c::c288:1c4c"), "completed", Some("194.136.28.76:3544"))
    );
    let ko = r
        .processes_of("relay-discovery")
        .find(|p| opt(p.peer).as_deref() == Some("2002:c288:1c4c::c288:1c4d"))
        .unwrap();
    assert_eq!((ko.outcome, ko.failed_step), ("failed", Some("echo-reply-from-relay")));
    assert!(r.relays[0].host_specific);
}

/// pcap-parser sample (tshark `udp.port == 3544`): 13 local discovery bubbles to 224.0.0.253,
/// 10 from 192.168.152.33:3074 and 3 from 192.168.152.26:50584, and no unicast reply.
#[test]
fn pcap_parser_on_link_discovery() {
    let Some(f) = real("pcap-parser-wireshark_samples-test.pcapng") else { return };
    let r = analyze(&[&f]);
    let ol: Vec<_> = r.processes_of("on-link").collect();
    assert_eq!(ol.len(), 2);
    let mut n: Vec<usize> = ol.iter().map(|p| p.steps.len()).collect();
    n.sort();
    assert_eq!(n, [3, 10]);
    assert!(ol.iter().all(|p| p.outcome == "incomplete"));
    // multicast discovery bubbles come from the on-link address by design: no mismatch anomaly
    assert_eq!(r.anomalies_of("mapping-mismatch").count(), 0);
}

/// mercury excerpt: nearly every frame twice (`editcap -d` drops 794); RS 143 (copy 144) and RA 165
/// (copy 166) must count once.
#[test]
fn mercury_duplicates_not_double_counted() {
    let Some(f) = real("mercury-capture2-20140808-excerpt.pcap") else { return };
    let r = analyze(&[&f]);
    let s = r.servers.iter().find(|s| txt(s.address) == "157.56.106.184").unwrap();
    assert_eq!((s.rs, s.ra), (1, 1));
    assert_eq!(r.rs_ra.len(), 1);
    assert_eq!(r.processes_of("qualification").count(), 1);
    assert_eq!(r.summary.duplicates, r.summary.packets);
    let c = r.client("2001:0:9d38:6ab8:2428:d67b:3a62:ffee").unwrap();
    assert_eq!((txt(c.mapped_address).as_str(), c.mapped_port), ("197.157.0.17", 10628));
    // without de-duplication the same capture doubles the counts
    let mut a = Analyzer::new(AnalyzeOptions { dedup_window_ms: 0, ..AnalyzeOptions::default() });
    analyze_files(&mut a, &[&f], &DissectOptions::default()).unwrap();
    let r2 = a.report();
    let s2 = r2.servers.iter().find(|s| txt(s.address) == "157.56.106.184").unwrap();
    assert_eq!(s2.rs, 2);
}

/// Cost of analysis relative to a plain dissect pass (run with --release --ignored).
#[test]
#[ignore]
fn perf_against_dissect() {
    use teredo_tool::analyze::FrameMeta;
    use teredo_tool::dissect::dissect_frame;
    let mut frames = Vec::new();
    for f in [LAB, MIRE] {
        let mut r = teredo_tool::capture::open(f).unwrap();
        while let Some(fr) = r.next_frame() {
            let fr = fr.unwrap();
            frames.push((fr.data.to_vec(), fr.linktype, fr.ts_sec, fr.ts_nsec));
        }
    }
    let opts = DissectOptions::default();
    let rounds = 4000u64;
    let t0 = std::time::Instant::now();
    let mut n = 0u64;
    for _ in 0..rounds {
        for (d, lt, _, _) in &frames {
            n += u64::from(dissect_frame(d, d.len(), *lt, &opts).is_teredo());
        }
    }
    let plain = t0.elapsed();
    let mut a = Analyzer::new(AnalyzeOptions::default());
    let t1 = std::time::Instant::now();
    let mut k = 0;
    for i in 0..rounds {
        for (d, lt, s, ns) in &frames {
            k += 1;
            let meta = FrameMeta { file_index: 0, frame: k, ts_sec: s + i as i64 * 100, ts_nsec: *ns, interface_id: 0 };
            a.observe(&meta, &dissect_frame(d, d.len(), *lt, &opts));
        }
    }
    let analysed = t1.elapsed();
    let r = a.report();
    eprintln!(
        "{} frames: dissect {:?}, dissect+analyze {:?} (x{:.2}); {} clients, {} processes, n={n}",
        k,
        plain,
        analysed,
        analysed.as_secs_f64() / plain.as_secs_f64(),
        r.clients.len(),
        r.processes.len()
    );
}

/// Every capture in testdata/ (recursively).
fn testdata_captures() -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if ["pcap", "pcapng", "gz"].iter().any(|x| p.extension().is_some_and(|e| e == *x)) {
                out.push(p.to_str().unwrap().to_string());
            }
        }
    }
    let mut v = Vec::new();
    walk(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")), &mut v);
    v.sort();
    assert!(v.len() > 10);
    v
}

/// The report's JSON as `pcap --analyze` writes it (`AnalysisReport::write_json`, text written by
/// hand) is byte for byte what serde_json writes from the same values one by one,
/// pretty (`--format json`) and compact (`ndjson`), for one file (frame numbers) and two
/// (`"FILE:FRAME"` strings).
#[test]
fn report_json_text_is_serde_json_text() {
    use teredo_tool::output::{Format, Output};
    let caps = testdata_captures();
    let mut multi = 0;
    for (i, c) in caps.iter().enumerate() {
        for paths in [vec![c.as_str()], vec![c.as_str(), caps[(i + 1) % caps.len()].as_str()]] {
            let mut a = Analyzer::new(AnalyzeOptions::default());
            // malformed captures: what was read before the error is analysed
            let _ = analyze_files(&mut a, &paths, &DissectOptions::default());
            let r = a.report();
            let value = r.to_json();
            for (format, want) in [
                (Format::Json, serde_json::to_string_pretty(&value).unwrap()),
                (Format::Ndjson, serde_json::to_string(&value).unwrap()),
            ] {
                let mut o = Output::new(Vec::new(), format, false);
                o.document_with(|w, style| r.write_json(w, style, None)).unwrap();
                let got = String::from_utf8(o.writer().clone()).unwrap();
                assert_eq!(got.strip_suffix('\n'), Some(want.as_str()), "{paths:?} {format:?}");
                assert_eq!(serde_json::from_str::<serde_json::Value>(&got).unwrap(), value);
            }
            // (frames are "FILE:FRAME" when both files had Teredo packets)
            if let Some(f) = value["processes"][0]["frames"][0].as_str() {
                assert!(paths.len() == 2 && f.split(':').count() == 2, "{f}");
                multi += 1;
            }
        }
    }
    assert!(multi > 5, "{multi}");
}

/// The tables' first line counts in words that agree with the counts: "1 server", "2 clients".
#[test]
fn table_summary_line_agrees_in_number() {
    let first_line = |path: &str| {
        let mut out = Vec::new();
        analyze(&[path]).write_tables(&mut out, false).unwrap();
        String::from_utf8(out).unwrap().lines().next().unwrap_or_default().to_string()
    };
    assert_eq!(
        first_line(LAB),
        "Teredo analysis: 90 packets (40 copies merged), 10 clients, 1 server, 0 relays, 13 processes, 5 anomalies"
    );
    let one = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/generated/icmp-quoted-teredo.pcap");
    assert_eq!(
        first_line(one),
        "Teredo analysis: 1 packet (0 copies merged), 1 client, 1 server, 0 relays, 0 processes, 2 anomalies"
    );
}
