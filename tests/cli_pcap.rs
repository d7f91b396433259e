//! `teredo-tool pcap` through the real binary: formats, filters, export,
//! several files, stdin, gzip, and every kind of bad input.

mod common;
use common::{bin, run, run_with};
use serde_json::Value;
use std::path::{Path, PathBuf};

const MIREDO: &str = "testdata/teredo-lab-miredo.pcapng";
const TYPES: &str = "testdata/generated/message-types.pcap";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn p(rel: &str) -> String {
    root().join(rel).to_string_lossy().into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("teredo-tool-cli-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn ndjson(out: &str) -> Vec<Value> {
    out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[test]
fn message_types_one_of_each() {
    let (code, out, err) = run(&["pcap", "--format", "ndjson", &p(TYPES)], b"");
    assert_eq!(code, 0, "{err}");
    let recs = ndjson(&out);
    let types: Vec<&str> = recs.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "router-solicitation",
            "router-solicitation",
            "router-advertisement",
            "bubble",
            "indirect-bubble",
            "echo-request",
            "echo-reply",
            "data",
            "data",
            "bubble"
        ]
    );
    // Frame 1: RS with Authentication (ID-len = AU-len = 0, nonce 1122334455667788).
    let rs = &recs[0];
    assert_eq!(rs["frame"], 1);
    assert_eq!(rs["auth"]["nonce"], "1122334455667788");
    assert_eq!(rs["auth"]["id_len"], 0);
    assert_eq!(rs["auth"]["confirmation"], 0);
    assert_eq!(rs["ipv6"]["dst"], "ff02::2");
    assert_eq!(rs["outer"]["dst_port"], 3544);
    assert_eq!(rs["quoted"], false);
    assert!(rs.get("origin").is_none());
    // Frame 2: secure qualification: client id "client-1", 20-byte value.
    assert_eq!(recs[1]["auth"]["client_id"], "636c69656e742d31");
    assert_eq!(recs[1]["auth"]["auth_len"], 20);
    // Frame 3: RA with origin 198.51.100.7:40000 and the prefix.
    let ra = &recs[2];
    assert_eq!(ra["origin"]["address"], "198.51.100.7");
    assert_eq!(ra["origin"]["port"], 40000);
    assert_eq!(ra["icmpv6"]["type"], 134);
    assert_eq!(ra["icmpv6"]["prefixes"][0]["prefix"], "2001:0:c000:201::");
    assert_eq!(ra["icmpv6"]["mtu"], 1280);
    // Frame 5: indirect bubble carries A's origin; dst is B's Teredo address.
    assert_eq!(recs[4]["origin"]["port"], 40000);
    assert_eq!(recs[4]["dst_teredo"]["mapped_address"], "203.0.113.9");
    assert_eq!(recs[4]["dst_teredo"]["mapped_port"], 51234);
    assert_eq!(recs[4]["src_teredo"]["flags"], 0x0a5c);
    // Frame 8: TCP SYN inside.
    assert_eq!(recs[7]["transport"]["protocol"], "tcp");
    // time: RFC 3339 with the file's microsecond precision
    assert_eq!(rs["time"], "2023-11-14T22:13:20.000000Z");
    assert_eq!(recs[1]["time"], "2023-11-14T22:13:21.000001Z");
    for r in &recs {
        assert!(r["errors"].as_array().unwrap().is_empty(), "{r}");
        assert!(r["trailers"].is_array());
    }
}

#[test]
fn json_is_one_array_and_table_has_one_line_per_packet() {
    let (code, out, _) = run(&["pcap", "--json", &p(TYPES)], b"");
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 10);
    let (code, out, err) = run(&["pcap", "--color", "never", &p(TYPES)], b"");
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 11, "header + 10 packets:\n{out}");
    assert!(out.lines().nth(1).unwrap().contains("router-solicitation"));
    assert!(err.contains("10 Teredo"), "end-of-run line on stderr: {err}");
    let (_, out, err) = run(&["pcap", "--color", "never", "-q", &p(TYPES)], b"");
    assert!(err.is_empty(), "{err}");
    assert!(!out.contains('\x1b'));
    let (_, out, _) = run(&["pcap", "--color", "always", &p(TYPES)], b"");
    assert!(out.contains("\x1b["));
}

#[test]
fn verbose_tree_and_hex() {
    let (code, out, _) = run(&["pcap", "--color", "never", "-V", "-x", "-c", "1", &p(TYPES)], b"");
    assert_eq!(code, 0);
    for needle in [
        "link [offset 0",
        "ipv4 [offset 14",
        "udp [offset 34",
        "teredo-authentication",
        "ipv6 [offset",
        "icmpv6",
        "  0000  ",
    ] {
        assert!(out.contains(needle), "missing {needle:?}:\n{out}");
    }
}

#[test]
fn filters() {
    let count = |args: &[&str]| {
        let mut a = vec!["pcap", "--format", "ndjson", "-q"];
        a.extend_from_slice(args);
        a.push(MIREDO);
        let (code, out, err) = run_with(bin().args(&a).current_dir(root()), b"");
        assert_eq!(code, 0, "{err}");
        ndjson(&out)
    };
    let all = count(&[]);
    assert_eq!(all.len(), 144);
    let ra = count(&["--type", "router-advertisement"]);
    assert!(!ra.is_empty() && ra.iter().all(|r| r["type"] == "router-advertisement"));
    let both = count(&["--type", "bubble,indirect-bubble"]);
    assert_eq!(both.len(), all.iter().filter(|r| r["type"] == "bubble" || r["type"] == "indirect-bubble").count());
    let first3 = count(&["-c", "3"]);
    assert_eq!(first3.len(), 3);
    assert_eq!(first3[0]["frame"], all[0]["frame"]);
    let host = count(&["--host", "198.51.100.30"]);
    assert!(!host.is_empty() && host.len() < all.len());
    for r in &host {
        let o = &r["outer"];
        let hit = o["src"] == "198.51.100.30"
            || o["dst"] == "198.51.100.30"
            || r["origin"]["address"] == "198.51.100.30"
            || r["src_teredo"]["mapped_address"] == "198.51.100.30"
            || r["dst_teredo"]["mapped_address"] == "198.51.100.30";
        assert!(hit, "{r}");
    }
    let port = count(&["--port", "3544"]);
    assert!(port.iter().all(|r| r["outer"]["src_port"] == 3544 || r["outer"]["dst_port"] == 3544));
    assert!(port.len() < all.len());
    let no_heur = count(&["--no-heuristic"]);
    assert!(no_heur.iter().all(|r| r["detection"] == "port-3544"));
    assert_eq!(no_heur.len(), all.iter().filter(|r| r["detection"] == "port-3544").count());
    // --since / --until on the capture's own timestamps
    let t = all[10]["time"].as_str().unwrap().to_string();
    let since = count(&["--since", &t]);
    assert_eq!(since.len(), all.len() - 10);
    let until = count(&["--until", &t]);
    assert_eq!(until.len(), 11);
    let (code, _, err) = run(&["pcap", "--type", "ping", MIREDO], b"");
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["pcap", "--since", "yesterday", &p(MIREDO)], b"");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--since"), "{err}");
}

#[test]
fn summary_counts() {
    let (code, out, _) = run(&["pcap", "--summary", "--json", &p(MIREDO)], b"");
    assert_eq!(code, 0);
    let s: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["frames"], 234);
    assert_eq!(s["teredo"], 144);
    assert_eq!(s["non_teredo"], 90);
    assert_eq!(s["quoted"], 20);
    let by_type: u64 = s["by_type"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(by_type, 144);
    assert_eq!(
        s["by_port_class"]["port_3544"].as_u64().unwrap() + s["by_port_class"]["heuristic"].as_u64().unwrap(),
        144
    );
    assert_eq!(s["linktypes"][0]["linktype"], 1);
    let (code, out, _) = run(&["pcap", "--summary", "--color", "never", &p(MIREDO)], b"");
    assert_eq!(code, 0);
    assert!(out.contains("Teredo frames") && out.contains("144"), "{out}");
}

#[test]
fn write_and_decap_round_trip() {
    let w = tmp("bubbles.pcapng");
    let d = tmp("inner.pcap");
    let (code, out, err) = run(
        &[
            "pcap",
            "--format",
            "ndjson",
            "--type",
            "bubble,echo-request",
            "-w",
            w.to_str().unwrap(),
            "--decap",
            d.to_str().unwrap(),
            &p(MIREDO),
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let printed = ndjson(&out);
    // The written capture holds exactly the printed frames, byte for byte.
    let (_, again, _) = run(&["pcap", "--format", "ndjson", w.to_str().unwrap()], b"");
    let again = ndjson(&again);
    assert_eq!(again.len(), printed.len());
    for (a, b) in printed.iter().zip(&again) {
        assert_eq!(a["type"], b["type"]);
        assert_eq!(a["ipv6"], b["ipv6"]);
        assert_eq!(a["time"], b["time"]);
    }
    // The decapsulated file is LINKTYPE_IPV6 with one IPv6 packet per
    // non-quoted matching frame.
    let mut r = teredo_tool::capture::open(d.to_str().unwrap()).unwrap();
    let mut n = 0;
    while let Some(f) = r.next_frame() {
        let f = f.unwrap();
        assert_eq!(f.linktype, 229);
        assert_eq!(f.data[0] >> 4, 6);
        n += 1;
    }
    assert_eq!(n, printed.iter().filter(|r| r["quoted"] == false).count());
    assert!(n > 10);
}

#[test]
fn several_files_stdin_and_gzip() {
    let (code, out, _) = run(&["pcap", "--format", "ndjson", &p(TYPES), &p("testdata/generated/link-raw.pcap")], b"");
    assert_eq!(code, 0);
    let recs = ndjson(&out);
    assert_eq!(recs.len(), 13);
    assert!(recs[0]["file"].as_str().unwrap().ends_with("message-types.pcap"));
    assert!(recs[12]["file"].as_str().unwrap().ends_with("link-raw.pcap"));
    assert_eq!(recs[10]["frame"], 1, "frame numbers restart per file");
    let bytes = std::fs::read(p(TYPES)).unwrap();
    let (code, out, _) = run(&["pcap", "--format", "ndjson", "-"], &bytes);
    assert_eq!(code, 0);
    assert_eq!(ndjson(&out).len(), 10);
    assert!(ndjson(&out)[0].get("file").is_none());
    // gzip, through the system's gzip
    let gz = tmp("types.pcap.gz");
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("gzip -c {} > {}", p(TYPES), gz.display()))
        .status()
        .unwrap();
    assert!(st.success());
    let (code, out, err) = run(&["pcap", "--format", "ndjson", gz.to_str().unwrap()], b"");
    assert_eq!(code, 0, "{err}");
    assert_eq!(ndjson(&out).len(), 10);
}

#[test]
fn truncated_file_keeps_earlier_packets() {
    let (code, out, err) =
        run(&["pcap", "--format", "ndjson", &p("testdata/generated/malformed-truncated-record.pcap")], b"");
    assert_eq!(code, 1);
    assert_eq!(ndjson(&out).len(), 2, "frames before the cut are printed");
    assert!(err.contains("frame 3") && err.contains("offset 290"), "{err}");
    assert!(err.starts_with("teredo-tool: "), "{err}");
}

#[test]
fn malformed_packets_are_records_and_the_run_goes_on() {
    for (file, layer, kind) in [
        ("malformed-auth-length-past-end.pcap", "teredo-authentication", "truncated"),
        ("malformed-origin-before-auth.pcap", "teredo", "malformed"),
        ("malformed-two-origins.pcap", "teredo", "malformed"),
        ("malformed-ipv6-version-4.pcap", "ipv6", "malformed"),
    ] {
        let path = p(&format!("testdata/generated/{file}"));
        let (code, out, err) = run(&["pcap", "--format", "ndjson", &path, &p(TYPES)], b"");
        assert_eq!(code, 0, "{file}: {err}");
        let recs = ndjson(&out);
        assert_eq!(recs.len(), 11, "{file}: the next file is still read");
        let e = &recs[0]["errors"][0];
        assert_eq!(recs[0]["type"], "malformed", "{file}");
        assert_eq!(e["layer"], layer, "{file}: {e}");
        assert_eq!(e["kind"], kind, "{file}: {e}");
        assert!(e["offset"].as_u64().unwrap() >= 42, "{file}: offset in the frame: {e}");
    }
    // the closing line of a one-frame capture says "1 frame"
    let (_, _, err) = run(&["pcap", &p("testdata/generated/malformed-two-origins.pcap")], b"");
    assert!(err.starts_with("teredo-tool: 1 frame, 1 Teredo (1 on 3544,"), "{err}");
}

#[test]
fn bad_inputs_name_file_and_problem() {
    let dir = tmp("");
    let text = tmp("notes.txt");
    std::fs::write(&text, "hello, this is not a capture\n").unwrap();
    let missing = dir.join("missing.pcap");
    for (arg, needle) in [
        (missing.to_str().unwrap().to_string(), "missing.pcap"),
        (dir.to_str().unwrap().to_string(), "directory"),
        (text.to_str().unwrap().to_string(), "notes.txt"),
    ] {
        let (code, out, err) = run(&["pcap", "--format", "ndjson", &arg, &p(TYPES)], b"");
        assert_eq!(code, 1, "{arg}: {err}");
        assert!(err.starts_with("teredo-tool: ") && err.contains(needle), "{arg}: {err}");
        assert_eq!(ndjson(&out).len(), 10, "{arg}: the good file is still processed");
        assert!(!err.contains("panicked"));
    }
    let (code, _, err) = run(&["pcap", "--format", "ndjson", "-"], b"not a capture at all");
    assert_eq!(code, 1);
    assert!(err.contains("not a") || err.contains("capture"), "{err}");
}

#[test]
fn fragments_are_reassembled_and_overlaps_reported() {
    let (code, out, _) = run(&["pcap", "--format", "ndjson", &p("testdata/generated/ipv4-fragments-3.pcap")], b"");
    assert_eq!(code, 0);
    let recs = ndjson(&out);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["frame"], 3);
    assert_eq!(recs[0]["reassembled"], true);
    assert_eq!(recs[0]["ipv6"]["payload_length"], 1208);
    let (code, out, err) =
        run(&["pcap", "--format", "ndjson", &p("testdata/generated/ipv4-fragments-overlap.pcap")], b"");
    assert_eq!(code, 0);
    assert!(out.is_empty());
    assert!(err.contains("overlaps"), "{err}");
}

#[test]
fn quoted_in_icmp() {
    let (_, out, _) = run(&["pcap", "--format", "ndjson", &p("testdata/generated/icmp-quoted-teredo.pcap")], b"");
    let recs = ndjson(&out);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1]["quoted"], true);
    assert_eq!(recs[1]["quoted_by"]["icmp_type"], 3);
    assert_eq!(recs[1]["quoted_by"]["src"], "198.51.100.7");
    assert_eq!(recs[1]["outer"]["src"], "192.0.2.2", "outer = the quoted Teredo datagram");
    assert_eq!(recs[1]["type"], "router-advertisement");
}

#[test]
fn analyze_document() {
    let (code, out, err) = run(&["pcap", "--analyze", "--summary", "--json", &p(MIREDO)], b"");
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    for key in ["clients", "servers", "relays", "processes", "anomalies"] {
        assert!(v[key].is_array(), "{key}: {v}");
    }
    assert_eq!(v["capture"]["frames"], 234, "--summary adds the counters");
    let servers = v["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0]["address"], "192.0.2.1");
    assert_eq!(servers[0]["unanswered_rs"], 0);
    // The restricted client (MASQUERADE, fresh socket): RS to both server
    // addresses gave the same mapping (frames 91-94 of this lab capture).
    let q = v["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "qualification" && p["nat_type"] == "restricted")
        .expect("a restricted qualification");
    assert_eq!(q["mapped_address"], "198.51.100.1");
    assert_eq!(q["outcome"], "completed");
    let kinds: Vec<&str> = v["processes"].as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"inter-site"), "{kinds:?}");
    // --type does not hide steps from the analysis
    let (_, out2, _) = run(&["pcap", "--analyze", "--json", "--type", "bubble", &p(MIREDO)], b"");
    let v2: Value = serde_json::from_str(&out2).unwrap();
    assert_eq!(v2["processes"], v["processes"]);
    let (code, out, _) = run(&["pcap", "--analyze", "--color", "never", &p(MIREDO)], b"");
    assert_eq!(code, 0);
    assert!(out.contains("qualification") && out.contains("restricted"), "{out}");
    // one of each (the packet reassembled from fragments): the words agree with the counts
    let (code, out, _) =
        run(&["pcap", "--analyze", "--color", "never", &p("testdata/generated/ipv4-fragments-2.pcap")], b"");
    assert_eq!(code, 0);
    assert_eq!(
        out.lines().next(),
        Some("Teredo analysis: 1 packet (0 copies merged), 1 client, 1 server, 1 relay, 1 process, 1 anomaly")
    );
}

/// Every capture under testdata/ (generated and lab), for tests that compare two paths.
fn all_captures() -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["testdata", "testdata/generated", "testdata/lab"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = e.unwrap().path();
            let name = path.to_string_lossy().into_owned();
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                files.push(name);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 25, "{files:?}");
    files
}

/// `--summary` alone skips checksum verification (and may take a faster path):
/// its counters must equal those derived from the per-packet records, which
/// come from a full dissection with checksums verified.
#[test]
fn summary_counts_match_per_packet_records() {
    for file in all_captures() {
        let (_, out, err) = run(&["pcap", "--format", "ndjson", &file], b"");
        let recs = ndjson(&out);
        let (_, sum, err2) = run(&["pcap", "--summary", "--json", &file], b"");
        let s: Value = serde_json::from_str(&sum).unwrap_or_else(|e| panic!("{file}: {e}: {sum} {err2}"));
        let count = |f: &dyn Fn(&Value) -> bool| recs.iter().filter(|r| f(r)).count() as u64;
        assert_eq!(s["teredo"], recs.len() as u64, "{file} {err}");
        assert_eq!(s["matched"], recs.len() as u64, "{file}");
        for (ty, n) in s["by_type"].as_object().unwrap() {
            assert_eq!(n.as_u64().unwrap(), count(&|r| r["type"] == ty.as_str()), "{file}: {ty}");
        }
        for (class, det) in [("port_3544", "port-3544"), ("extra_port", "extra-port"), ("heuristic", "heuristic")] {
            assert_eq!(s["by_port_class"][class].as_u64().unwrap(), count(&|r| r["detection"] == det), "{file}");
        }
        assert_eq!(s["quoted"].as_u64().unwrap(), count(&|r| r["quoted"] == true), "{file}");
        for kind in ["malformed", "truncated"] {
            let n = count(&|r| r["errors"].as_array().and_then(|e| e.first()).is_some_and(|e| e["kind"] == kind));
            assert_eq!(s[kind].as_u64().unwrap(), n, "{file}: {kind}");
        }
        // Every reassembled Teredo datagram was counted (the counter includes non-Teredo ones).
        assert!(s["reassembled"].as_u64().unwrap() >= count(&|r| r["reassembled"] == true), "{file}");
    }
}

/// `--summary`/`--analyze` without filters dissect on several threads and hand the analysis
/// each Teredo frame's observation in capture order; IPv4 fragments go back to the main
/// thread in between. With a time window the same run goes frame by frame on one thread:
/// both must give the same document. Records rendered on those threads (NDJSON, table) must
/// equal those of the frame-by-frame path (taken with `--count`), and so must a file cut in
/// the middle, with its error. The input interleaves the lab captures (vantage copies,
/// every process), fragmented Teredo datagrams and link types, repeated into several MiB so
/// that it spans many batches.
#[test]
fn analysis_in_parallel_equals_the_sequential_one() {
    use teredo_tool::capture::{CaptureFormat, CaptureReader, CaptureWriter, TsPrecision};
    let mut inputs = vec![
        "testdata/teredo-lab-miredo.pcapng",
        "testdata/generated/ipv4-fragments-3.pcap",
        "testdata/teredo-lab-mire.pcapng",
        "testdata/generated/ipv4-fragments-2.pcap",
        "testdata/generated/icmp-quoted-teredo.pcap",
        "testdata/generated/message-types.pcap",
    ];
    let lab: Vec<String> = std::fs::read_dir(root().join("testdata/lab"))
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".pcapng"))
        .collect();
    inputs.extend(lab.iter().map(String::as_str));
    let dir = std::env::temp_dir().join(format!("tt-parallel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mix.pcapng");
    let mut w =
        CaptureWriter::create_with_format(path.to_str().unwrap(), CaptureFormat::Pcapng, TsPrecision::Nano).unwrap();
    // Every input's frames, owned; then dealt round-robin (one frame of each input in turn),
    // so that fragments of one datagram have other Teredo frames between them.
    type Owned = (i64, u32, teredo_tool::capture::TsPrecision, u32, u32, Vec<u8>);
    let decks: Vec<Vec<Owned>> = inputs
        .iter()
        .map(|input| {
            let file = std::fs::File::open(root().join(input)).unwrap();
            let mut r = CaptureReader::new(std::io::BufReader::new(file), input).unwrap();
            let mut v = Vec::new();
            while let Some(f) = r.next_frame() {
                let f = f.unwrap();
                v.push((f.ts_sec, f.ts_nsec, f.ts_precision, f.linktype, f.origlen, f.data.to_vec()));
            }
            v
        })
        .collect();
    let longest = decks.iter().map(Vec::len).max().unwrap();
    let mut frames = 0;
    for rep in 0..60i64 {
        for k in 0..longest {
            for (ts_sec, ts_nsec, precision, linktype, origlen, data) in decks.iter().filter_map(|d| d.get(k)) {
                // Each repetition an hour later: no copy of an earlier one.
                w.write_frame_with_precision(ts_sec + rep * 3600, *ts_nsec, *precision, *linktype, *origlen, data)
                    .unwrap();
                frames += 1;
            }
        }
    }
    w.finish().unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 3 << 20, "{size} bytes, {frames} frames: too small for several batches");
    let file = path.to_str().unwrap();
    let (code, parallel, err) = run(&["pcap", "--analyze", "--summary", "--json", file], b"");
    assert_eq!(code, 0, "{err}");
    let (code, in_order, err) =
        run(&["pcap", "--analyze", "--summary", "--json", "--since", "1970-01-01T00:00:00Z", file], b"");
    assert_eq!(code, 0, "{err}");
    let a: Value = serde_json::from_str(&parallel).unwrap();
    let b: Value = serde_json::from_str(&in_order).unwrap();
    assert!(a["processes"].as_array().unwrap().len() > 100, "{}", a["summary"]);
    assert!(a["capture"]["reassembled"].as_u64().unwrap() >= 120, "{}", a["capture"]);
    assert_eq!(a["capture"]["frames"].as_u64().unwrap(), frames);
    for key in ["summary", "capture", "clients", "servers", "relays", "rs_ra", "anomalies", "processes"] {
        assert_eq!(a[key], b[key], "{key} differs");
    }
    assert_eq!(a, b);
    // Records (NDJSON lines, table rows): rendered by the dissecting threads without --count, in order
    // with it.
    for extra in [
        &["--format", "ndjson"][..],
        &["--format", "ndjson", "-V", "-x"][..],
        &["--format", "ndjson", "--type", "bubble,data", "--host", "192.0.2.1"][..],
        &["--format", "table", "--color", "always", "-V"][..],
    ] {
        let mut args = vec!["pcap"];
        args.extend_from_slice(extra);
        args.push(file);
        let (code, parallel, err) = run(&args, b"");
        assert_eq!(code, 0, "{err}");
        let mut seq = args.clone();
        seq.splice(1..1, ["--count", "999999999"]);
        let (code, in_order, err) = run(&seq, b"");
        assert_eq!(code, 0, "{err}");
        assert!(parallel.lines().count() > 1000, "{extra:?}: {} records", parallel.lines().count());
        assert!(parallel == in_order, "{extra:?}: records differ");
    }
    // Cut in the middle of a record, several batches in: everything before the cut, then the
    // error, the same both ways.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.join("cut.pcapng");
    std::fs::write(&cut, &bytes[..bytes.len() * 3 / 5 + 7]).unwrap();
    let cut = cut.to_str().unwrap();
    let (code, parallel, err) = run(&["pcap", "--analyze", "--summary", "--json", cut], b"");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cut.pcapng") && err.contains("offset"), "{err}");
    let (code, in_order, err_in_order) =
        run(&["pcap", "--analyze", "--summary", "--json", "--since", "1970-01-01T00:00:00Z", cut], b"");
    assert_eq!(code, 1, "{err_in_order}");
    assert_eq!(err, err_in_order);
    let (a, b): (Value, Value) = (serde_json::from_str(&parallel).unwrap(), serde_json::from_str(&in_order).unwrap());
    assert!(a["capture"]["frames"].as_u64().unwrap() > frames / 2, "{}", a["capture"]);
    assert_eq!(a, b);
    // A reader that goes away (`| head -1`) ends the run, quietly.
    let mut child = common::bin()
        .args(["pcap", "--format", "ndjson", file])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut first).unwrap();
    assert!(first.starts_with("{\"frame\":"), "{first}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the run went on after its reader went away");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
