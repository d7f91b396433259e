//! `teredo-tool probe` against the REAL miredo-server and miredo relay in the namespace lab,
//! behind each NAT kind. The client runs inside the lab's client namespace; every address
//! is a lab (documentation) address. Runs as root with miredo installed; never skips in CI.
mod common;
use common::lab::{Lab, Nat};
use serde_json::Value;

fn probe(lab: &Lab, args: &[&str], envs: &[(&str, &str)]) -> (i32, Value, String) {
    let bin = env!("CARGO_BIN_EXE_teredo-tool");
    let mut cmd = lab.command_in("cli", &[bin, "probe", "--json"]);
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.env_remove("TEREDO_TOOL_SERVERS");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run teredo-tool in the client namespace");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: stdout {stdout:?} stderr {stderr}"));
    (out.status.code().unwrap_or(-1), v, stderr)
}

fn check_nat(lab: &Lab) {
    let nat = lab.nat;
    // Restricted is the one verdict that must wait for the cone test to run out: shorten it.
    let mut args = vec!["--server", "192.0.2.1", "--ping", "2001:db8:ff::1", "-c", "5", "-i", "0.1"];
    if nat == Nat::Restricted {
        args.extend(["--timeout", "1", "--retries", "2"]);
    }
    let (code, v, err) = probe(lab, &args, &[]);
    let r = &v[0];
    let ctx = format!("{nat:?}: {r:#}\n{err}");
    assert_eq!(code, 0, "{ctx}");
    assert_eq!(r["nat_type"], nat.as_str(), "{ctx}");
    assert_eq!(r["server"], "192.0.2.1");
    assert_eq!(r["secondary"], "192.0.2.2");
    // The mapped address is the NAT's public address (the client's own one without NAT).
    assert_eq!(r["mapped_address"], lab.get("NAT_PUBLIC"), "{ctx}");
    assert_eq!(r["local_address"], lab.get("CLIENT_ADDR"), "{ctx}");
    let local = r["local_port"].as_u64().unwrap() as u16;
    let mapped = r["mapped_port"].as_u64().unwrap() as u16;
    match nat {
        Nat::None => assert_eq!(mapped, local, "{ctx}"),
        // The lab NATs shift ports by XOR 0x0f0f (LAB.md), so a prober that reported its local
        // port as the mapped one would fail here.
        Nat::Cone | Nat::Restricted => assert_eq!(mapped, local ^ 0x0f0f, "{ctx}"),
        Nat::Symmetric => assert_ne!(mapped, local, "{ctx}"),
    }
    assert_eq!(r["port_preserving"], nat == Nat::None, "{ctx}");
    // The Teredo address embeds server, mapped port and address (RFC 4380 §4).
    let ta: std::net::Ipv6Addr = r["teredo_address"].as_str().unwrap().parse().unwrap();
    let t = teredo_tool::addr::TeredoAddress::decode(ta).expect("Teredo address");
    assert_eq!(t.server.to_string(), "192.0.2.1");
    assert_eq!((t.mapped_address.to_string().as_str(), t.mapped_port), (lab.get("NAT_PUBLIC"), mapped));
    assert_eq!(t.flags.cone(), nat == Nat::Cone, "{ctx}");
    assert_eq!(r["prefix"], "2001:0:c000:201::/64");
    assert_eq!(r["mtu"], 1280);
    // A certain verdict is reached in one round trip, not after the 4 s timeout.
    if nat != Nat::Restricted {
        assert!(r["elapsed_ms"].as_f64().unwrap() < 1000.0, "{ctx}");
    }
    // Relay discovery finds the miredo relay; every echo comes back.
    assert_eq!(r["relay"]["address"], "203.0.113.1", "{ctx}");
    assert_eq!(r["relay"]["port"], 3545, "{ctx}");
    assert_eq!(r["path"], "indirect-bubble", "miredo's relay always bubbles first (LAB.md): {ctx}");
    assert_eq!((r["sent"].as_u64(), r["received"].as_u64()), (Some(5), Some(5)), "{ctx}");
    assert!(r["rtt_ms"]["min"].as_f64().unwrap() <= r["rtt_ms"]["max"].as_f64().unwrap());
    assert_eq!(r["ignored"].as_array().unwrap().len(), 0, "{ctx}");
}

#[test]
fn probe_against_real_miredo_behind_each_nat() {
    let t0 = std::time::Instant::now();
    for nat in Nat::ALL {
        let Some(lab) = Lab::up(nat) else { return };
        check_nat(&lab);
        if nat == Nat::Cone {
            dns_and_server_list(&lab);
            offline(&lab);
        }
    }
    eprintln!("lab probe suite: {:.1} s", t0.elapsed().as_secs_f64());
}

/// Names resolve inside the lab (/etc/netns/<client ns>/hosts, written by lab.sh), and the
/// built-in list can be replaced through TEREDO_TOOL_SERVERS.
fn dns_and_server_list(lab: &Lab) {
    let (code, v, err) = probe(lab, &["--server", "teredo.lab.test", "--relay", "2001:db8:ff::1", "--trace"], &[]);
    assert_eq!(code, 0, "{v:#} {err}");
    // --trace shows every datagram through the shared dissector: the cone RS (whose
    // checksum 0x125d is miredo's precomputed one, PROTOCOL.md §2.2), the cone RA from the
    // secondary address, the relay's indirect bubble and the echo reply from the relay.
    assert!(err.contains("checksum: 0x125d [correct]"), "{err}");
    assert!(err.contains("<- 192.0.2.2:3544 > 10.0.0.2:"), "{err}");
    assert!(err.contains("<- 203.0.113.1:3545 > 10.0.0.2:"), "{err}");
    assert!(err.contains("bubble"), "{err}");
    assert_eq!(v[0]["server"], "teredo.lab.test");
    assert_eq!(v[0]["server_address"], "192.0.2.1");
    assert_eq!(v[0]["nat_type"], "cone");
    assert_eq!(v[0]["relay"]["address"], "203.0.113.1");

    // No --server: the (overridden) list, one health row per server, best first; the
    // unresolvable name and the silent address are reported, not fatal.
    let list = "nosuch.lab.test, 192.0.2.77, teredo.lab.test";
    let (code, v, err) = probe(lab, &["--timeout", "0.5", "--retries", "1"], &[("TEREDO_TOOL_SERVERS", list)]);
    assert_eq!(code, 0, "{v:#} {err}");
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{v:#}");
    assert_eq!(rows[0]["server"], "teredo.lab.test");
    assert_eq!(rows[0]["reachable"], true);
    assert_eq!(rows[0]["cone_answered"], true);
    assert_eq!(rows[0]["secondary_reachable"], true);
    assert_eq!(rows[1]["server"], "192.0.2.77");
    assert_eq!(rows[1]["reachable"], false);
    assert_eq!(rows[1]["nat_type"], "offline");
    assert_eq!(rows[2]["server"], "nosuch.lab.test");
    assert!(rows[2]["error"].as_str().unwrap().contains("cannot resolve"), "{v:#}");
}

/// A silent server: exit 3, and the message says what was tried.
fn offline(lab: &Lab) {
    let (code, v, err) = probe(lab, &["--server", "192.0.2.77", "--timeout", "0.3", "--retries", "2"], &[]);
    assert_eq!(code, 3, "{v:#} {err}");
    assert_eq!(v[0]["nat_type"], "offline");
    assert!(err.contains("192.0.2.77:3544 x2") && err.contains("Likely causes"), "{err}");
}
