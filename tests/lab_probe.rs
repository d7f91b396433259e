//! `teredo-tool probe` against the REAL miredo-server and miredo relay in the namespace lab,
//! behind each NAT kind. The client runs inside the lab's client namespace; every address
//! is a lab (documentation) address. Runs as root with miredo installed; never skips in CI.
mod common;
use common::lab::{Lab, Nat};
use serde_json::Value;
use std::io::BufRead;
use std::process::Stdio;
use teredo_tool::dissect::{dissect, DissectOptions, MessageType};

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
    // A run of about half a second with the default 30 s keepalive sends none.
    assert_eq!(r["keepalives"]["sent"], 0, "{ctx}");
}

/// `--ping` to a Teredo address: the inter-site process with teredo-mire (PROTOCOL.md §2.7)
/// as the peer. teredo-mire ignores bubbles on its mapping (3545) and answers one received
/// on its "server" port 3544 with a bubble from 3545, so a reply proves the indirect bubble
/// went to the peer's server and the peer's bubble came back through our NAT's filter; the
/// echoes then go straight to its mapping.
fn inter_site(lab: &Lab) {
    let nat = lab.nat;
    let (mire, mire_teredo) = (lab.get("MIRE"), lab.get("MIRE_TEREDO"));
    let args =
        ["--server", "192.0.2.1", "--timeout", "1", "--retries", "2", "--ping", mire_teredo, "-c", "4", "-i", "0.1"];
    let (code, v, err) = probe(lab, &args, &[]);
    let r = &v[0];
    let ctx = format!("{nat:?} inter-site: {r:#}\n{err}");
    assert_eq!(code, 0, "{ctx}");
    assert_eq!(r["target"], mire_teredo, "{ctx}");
    assert_eq!(r["path"], "inter-site", "{ctx}");
    // The peer is reached at the mapping its Teredo address embeds (RFC 4380 §4).
    assert_eq!((r["relay"]["address"].as_str(), r["relay"]["port"].as_u64()), (Some(mire), Some(3545)), "{ctx}");
    let steps = r["relay_steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{ctx}");
    assert_eq!(
        (steps[0]["sent"].as_str(), steps[0]["to"].as_str()),
        (Some("direct bubble"), Some(&*format!("{mire}:3545")))
    );
    assert_eq!(steps[1]["to"], format!("{mire}:3544"), "the indirect bubble goes to the peer's server: {ctx}");
    assert_eq!(steps[1]["answer"]["from"], format!("{mire}:3545"), "{ctx}");
    assert_eq!((r["sent"].as_u64(), r["received"].as_u64()), (Some(4), Some(4)), "{ctx}");
    assert_eq!(r["relay_ignored"].as_array().unwrap().len(), 0, "{ctx}");
}

/// Keepalives during a long ping: with `--keepalive 1`, RSs reach the server from the
/// reported mapping while the echoes go to the relay. Counted independently by tcpdump in
/// the server namespace (read back with the project's dissector), and compared with what
/// the prober reports.
fn keepalive(lab: &Lab) {
    let pcap = format!("{}/keepalive.pcap", lab.get("STATE"));
    // --immediate-mode: without it, packets wait in the kernel's capture buffer for up to a
    // second, and those still there when tcpdump is interrupted are lost (the last keepalive).
    let mut tcpdump = lab
        .command_in("srv", &["tcpdump", "-i", "eth0", "-n", "-U", "--immediate-mode", "-w", &pcap, "udp port 3544"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump");
    // tcpdump says "listening on eth0" once its filter is in place.
    let mut line = String::new();
    std::io::BufReader::new(tcpdump.stderr.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.contains("listening"), "tcpdump: {line}");
    let args = ["--server", "192.0.2.1", "--timeout", "1", "--retries", "2"];
    let ping = ["--ping", "2001:db8:ff::1", "-c", "9", "-i", "0.5", "--keepalive", "1"];
    let (code, v, err) = probe(lab, &[&args[..], &ping[..]].concat(), &[]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = tcpdump.id().to_string();
    let _ = std::process::Command::new("kill").args(["-INT", &pid]).status();
    let _ = tcpdump.wait();
    let r = &v[0];
    let ctx = format!("keepalive: {r:#}\n{err}");
    assert_eq!(code, 0, "{ctx}");
    assert_eq!((r["sent"].as_u64(), r["received"].as_u64()), (Some(9), Some(9)), "{ctx}");
    let k = &r["keepalives"];
    // About 4.5 s of echoes to the relay with nothing exchanged with the server: one RS a
    // second, give or take the discovery's own traffic with the server.
    let sent = k["sent"].as_u64().unwrap();
    assert!((3..=6).contains(&sent), "{ctx}");
    assert_eq!(k["answered"], sent, "miredo-server answers every keepalive RS: {ctx}");
    assert_eq!(k["mapping_changed"], Value::Null, "{ctx}");
    // On the wire: RSs from the reported mapping to the primary = the qualification RS +
    // the keepalives (the cone RS leaves from another socket, hence another mapping).
    let mapped_port = r["mapped_port"].as_u64().unwrap() as u16;
    let public: std::net::Ipv4Addr = lab.get("NAT_PUBLIC").parse().unwrap();
    let frames = common::read_capture(std::path::Path::new(&pcap));
    let rs_from_mapping = frames
        .iter()
        .filter(|f| {
            let d = dissect(&f.data, f.linktype, &DissectOptions::default());
            let (Some(ip), Some(udp)) = (d.ipv4, d.udp) else { return false };
            ip.src == public
                && udp.src_port == mapped_port
                && ip.dst.to_string() == "192.0.2.1"
                && d.message_type() == Some(MessageType::RouterSolicitation)
        })
        .count() as u64;
    assert_eq!(rs_from_mapping, 1 + sent, "{ctx}\n{} frames in {pcap}", frames.len());
}

#[test]
fn probe_against_real_miredo_behind_each_nat() {
    let t0 = std::time::Instant::now();
    for nat in Nat::ALL {
        let Some(lab) = Lab::up(nat) else { return };
        check_nat(&lab);
        if nat != Nat::Symmetric {
            inter_site(&lab);
        }
        if nat == Nat::Restricted {
            keepalive(&lab);
        }
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
    // --trace renders every datagram as `pcap -V` does (the same PacketView line and layer
    // tree): the cone RS (whose checksum 0x125d is miredo's precomputed one, PROTOCOL.md
    // §2.2), the cone RA from the secondary address, the relay's indirect bubble through the
    // server naming the relay, our direct bubble and the echo reply from the relay.
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].contains("outer (IPv4:port → IPv4:port)"), "pcap's table header first: {err}");
    assert!(err.contains("      checksum: 0x125d [correct]"), "{err}");
    let row = |outer: &str, kind: &str, info: &str| {
        lines.iter().any(|l| l.contains(outer) && l.contains(kind) && l.contains(info))
    };
    assert!(row("192.0.2.2:3544 → 10.0.0.2:", "router-advertisement", "prefix 2001:0:c000:201::/64 mtu 1280"), "{err}");
    assert!(row("192.0.2.1:3544 → 10.0.0.2:", "indirect-bubble", "origin 203.0.113.1:3545"), "{err}");
    assert!(row("→ 203.0.113.1:3545", " bubble ", "→ fe80::"), "the direct bubble to the relay: {err}");
    assert!(row("203.0.113.1:3545 → 10.0.0.2:", "echo-reply", "echo-reply id="), "{err}");
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
