//! `decode` and `encode` through the real binary.

mod common;
use common::{bin, run, run_with};
use serde_json::Value;

const A: &str = "2001:0:ce49:7601:e866:efff:62c3:fffe";
const B: &str = "2001::ce49:7601:2cad:dfff:7c94:fffe";
const QUOTED: &str = "2001:0000:4136:e378:8000:63bf:3fff:fdd2";

fn json(args: &[&str], stdin: &[u8]) -> (i32, Vec<Value>, String) {
    let (code, out, err) = run(args, stdin);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    (code, v.as_array().expect("an array").clone(), err)
}

#[test]
fn decode_json_fields() {
    let (code, v, err) = json(&["decode", "--json", A, B, QUOTED], b"");
    assert_eq!(code, 0, "{err}");
    assert_eq!(v.len(), 3);
    assert_eq!(v[0]["input"], A);
    assert_eq!(v[0]["address"], A);
    assert_eq!(v[0]["teredo"], true);
    assert_eq!(v[0]["prefix"], "2001::/32");
    assert_eq!(v[0]["server"], "206.73.118.1");
    assert_eq!(v[0]["flags"], 0xE866);
    assert_eq!(v[0]["cone"], true);
    assert_eq!(v[0]["mapped_port"], 4096);
    assert_eq!(v[0]["mapped_address"], "157.60.0.1");
    assert!(v[0]["warnings"][0].as_str().unwrap().contains("R bit"));
    assert_eq!(v[1]["server"], "206.73.118.1");
    assert_eq!(v[1]["cone"], false);
    assert_eq!(v[1]["mapped_address"], "131.107.0.1");
    assert_eq!(v[1]["mapped_port"], 8192);
    assert_eq!(v[1]["address"], "2001:0:ce49:7601:2cad:dfff:7c94:fffe");
    assert_eq!(v[2]["server"], "65.54.227.120");
    assert_eq!(v[2]["mapped_address"], "192.0.2.45");
    assert_eq!(v[2]["mapped_port"], 40000);
    assert_eq!(v[2]["address"], "2001:0:4136:e378:8000:63bf:3fff:fdd2", "RFC 5952 canonical text");
    assert_eq!(v[2]["input"], QUOTED);
}

#[test]
fn decode_non_teredo_is_not_an_error() {
    let (code, v, _) = json(&["decode", "--format", "json", "2002:c000:204::1", "64:ff9b::c000:221", "fe80::1"], b"");
    assert_eq!(code, 0);
    assert_eq!(v[0]["teredo"], false);
    assert_eq!(v[0]["kind"], "6to4");
    assert_eq!(v[0]["embedded_ipv4"], "192.0.2.4");
    assert_eq!(v[1]["kind"], "nat64");
    assert_eq!(v[1]["embedded_ipv4"], "192.0.2.33");
    assert_eq!(v[2]["kind"], "link-local");
    assert!(v[2].get("embedded_ipv4").is_none());
    assert!(v[2].get("server").is_none());
}

#[test]
fn decode_stdin_ndjson_with_comments_and_bad_tokens() {
    let input = format!("# a comment\n\n{A} {B}   # trailing comment\nnot-an-address\n  [{QUOTED}]/64\n1.2.3.4\n");
    let (code, out, err) = run(&["decode", "--format", "ndjson"], input.as_bytes());
    assert_eq!(code, 1, "bad tokens make exit 1");
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0]["input"], A);
    assert_eq!(lines[2]["input"], format!("[{QUOTED}]/64"));
    assert_eq!(lines[2]["mapped_port"], 40000);
    assert!(err.contains("teredo-tool: stdin line 4: \"not-an-address\": not an IPv6 address"), "{err}");
    assert!(err.contains("stdin line 6: \"1.2.3.4\""), "{err}");
    assert_eq!(err.lines().count(), 2, "{err}");
}

#[test]
fn decode_dash_reads_stdin_and_args_mix() {
    let (code, v, err) = json(&["decode", "--json", A, "-", "zzz"], format!("{B}\n").as_bytes());
    assert_eq!(code, 1);
    assert_eq!(v.len(), 2);
    assert_eq!(v[1]["input"], B);
    assert!(err.contains("\"zzz\""), "{err}");
}

#[test]
fn decode_table_plain_and_coloured() {
    let (code, out, _) = run(&["decode", "--color", "never", A], b"");
    assert_eq!(code, 0);
    assert!(!out.contains('\x1b'), "no ANSI with --color never");
    assert!(out.contains("206.73.118.1") && out.contains("157.60.0.1") && out.contains("4096"));
    assert!(out.contains("11101000 01100110"), "flag bits shown: {out}");
    let (_, out, _) = run(&["decode", "--color", "always", A], b"");
    assert!(out.contains("\x1b["), "ANSI with --color always");
    // auto on a pipe: no colour
    let (_, out, _) = run(&["decode", A], b"");
    assert!(!out.contains('\x1b'));
    // NO_COLOR does not override an explicit --color always, and auto stays plain
    let (_, out, _) = run_with(bin().args(["decode", "--color", "auto", A]).env("NO_COLOR", "1"), b"");
    assert!(!out.contains('\x1b'));
}

#[test]
fn empty_json_is_an_empty_array() {
    let (code, out, _) = run(&["decode", "--json"], b"# nothing\n");
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "[]");
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, err) = run(&["decode", "--format", "xml", A], b"");
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["frobnicate"], b"");
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["encode", "--server", "1.2.3.4"], b"");
    assert_eq!(code, 2, "{err}");
}

#[test]
fn encode_examples() {
    let (code, v, _) =
        json(&["encode", "--json", "--server", "65.54.227.120", "--mapped", "192.0.2.45:40000", "--cone"], b"");
    assert_eq!(code, 0);
    assert_eq!(v[0]["address"], "2001:0:4136:e378:8000:63bf:3fff:fdd2");
    let (_, v, _) = json(
        &["encode", "--json", "--server", "206.73.118.1", "--mapped", "157.60.0.1:4096", "--flags", "0xE866"],
        b"",
    );
    assert_eq!(v[0]["address"], A);
    let (_, v, _) = json(
        &["encode", "--json", "--server", "65.54.227.120", "--mapped", "192.0.2.45:40000", "--cone", "--legacy-prefix"],
        b"",
    );
    assert_eq!(v[0]["address"], "3ffe:831f:4136:e378:8000:63bf:3fff:fdd2");
    assert_eq!(v[0]["prefix"], "3ffe:831f::/32");
}

#[test]
fn encode_random_sets_only_random_bits() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..8 {
        let (code, v, _) = json(
            &["encode", "--json", "--server", "192.0.2.1", "--mapped", "198.51.100.1:1234", "--random", "--cone"],
            b"",
        );
        assert_eq!(code, 0);
        let f = v[0]["flags"].as_u64().unwrap() as u16;
        assert_eq!(f & !0x3CFF, 0x8000, "only cone + random bits: {f:#06x}");
        seen.insert(f);
    }
    assert!(seen.len() > 1, "8 draws of 12 random bits all equal: {seen:?}");
}

#[test]
fn encode_errors() {
    for (args, needle) in [
        (vec!["--server", "300.1.1.1", "--mapped", "192.0.2.1:1"], "--server \"300.1.1.1\": not an IPv4 address"),
        (vec!["--server", "192.0.2.1", "--mapped", "192.0.2.1:70000"], "out of range"),
        (vec!["--server", "192.0.2.1", "--mapped", "192.0.2.1"], "expected IPV4:PORT"),
        (vec!["--server", "192.0.2.1", "--mapped", "192.0.2.1:1", "--cone", "--flags", "0x0100"], "contradicts --cone"),
        (vec!["--server", "192.0.2.1", "--mapped", "192.0.2.1:1", "--flags", "0x1ffff"], "more than 16 bits"),
    ] {
        let mut a = vec!["encode"];
        a.extend(args);
        let (code, out, err) = run(&a, b"");
        assert_eq!(code, 2, "{a:?}: {err}");
        assert!(out.is_empty());
        assert!(err.starts_with("teredo-tool: ") && err.contains(needle), "{a:?}: {err}");
    }
    let (code, _, err) =
        run(&["encode", "--server", "1.2.3.4", "--mapped", "1.2.3.4:5", "--flags", "1", "--random"], b"");
    assert_eq!(code, 2, "--flags and --random conflict: {err}");
}

#[test]
fn closed_stdout_exits_quietly() {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = bin()
        .args(["decode", "--format", "ndjson"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader went away, as with `| head -0`
    let mut si = child.stdin.take().unwrap();
    let line = format!("{A}\n");
    for _ in 0..20000 {
        if si.write_all(line.as_bytes()).is_err() {
            break;
        }
    }
    drop(si);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}
