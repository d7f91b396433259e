//! `teredo-tool live` on a real interface: each test makes two network
//! namespaces joined by a veth pair (names `ttv-*`, addresses 192.0.2.0/24
//! inside the namespaces only), runs the real binary on one end and sends
//! Teredo packets from the other with plain UDP sockets. The packets are built
//! by the `teredo_send` example with the crate's emit functions.
//!
//! Needs root (network namespaces, packet capture). With CI=true the tests
//! always run (and fail without root); elsewhere they skip with a message.
#![cfg(feature = "live")]

mod common;

#[allow(dead_code)]
#[path = "../examples/teredo_send.rs"]
mod teredo_send;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsFd;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TX_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const RX_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);
/// The source port of specs that give 0 ("any port").
const ANY_PORT: u16 = 45000;

/// None when the test should run, or why it is skipped.
fn skip_reason() -> Option<String> {
    if common::in_ci() {
        return None;
    }
    if !nix::unistd::geteuid().is_root() {
        return Some("not root (network namespaces and packet capture need it)".into());
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("iproute2's `ip` is not installed".into());
    }
    None
}

macro_rules! require_lab {
    () => {
        if let Some(why) = skip_reason() {
            eprintln!("skipped: {why}");
            return;
        }
    };
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// Sends `specs` (see `Lab::send`) from `sockets`, binding the ports not bound yet in the
/// calling thread's namespace.
fn send_from(sockets: &mut std::collections::HashMap<u16, UdpSocket>, specs: &[(&str, u16, u16)]) {
    for (i, (kind, sport, dport)) in specs.iter().enumerate() {
        let bytes = teredo_send::payload(kind, i as u16).expect("build packet");
        // "any" source port is a fixed one too: an ephemeral port could
        // be one that a later spec binds explicitly
        let sport = if *sport == 0 { ANY_PORT } else { *sport };
        let sock =
            sockets.entry(sport).or_insert_with(|| UdpSocket::bind(SocketAddrV4::new(TX_ADDR, sport)).expect("bind"));
        sock.send_to(&bytes, SocketAddrV4::new(RX_ADDR, *dport)).expect("send");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Two namespaces and a veth pair between them; deleted on drop (even when
/// the test fails), which also removes the veth.
struct Lab {
    tx: String,
    rx: String,
    rx_if: String,
    /// The tx namespace's sockets by source port, bound by the first `send` that needs each and
    /// kept for the later ones. Bound again, a port could still be taken: a process that
    /// another test of this binary spawns meanwhile holds a copy of every open descriptor
    /// until it execs (close-on-exec closes them only then). CI once failed with `AddrInUse`
    /// on a test's second send, the likely cause.
    sockets: std::cell::RefCell<std::collections::HashMap<u16, UdpSocket>>,
}

impl Lab {
    fn new() -> Lab {
        static N: AtomicU32 = AtomicU32::new(0);
        let id = format!("{}{}", std::process::id() % 100_000, N.fetch_add(1, Ordering::Relaxed));
        let lab = Lab {
            tx: format!("ttv-{id}-tx"),
            rx: format!("ttv-{id}-rx"),
            rx_if: format!("ttv{id}b"),
            sockets: Default::default(),
        };
        let tx_if = format!("ttv{id}a");
        ip(&["netns", "add", &lab.tx]);
        ip(&["netns", "add", &lab.rx]);
        ip(&["link", "add", &tx_if, "netns", &lab.tx, "type", "veth", "peer", "name", &lab.rx_if, "netns", &lab.rx]);
        for (ns, ifname, addr) in [(&lab.tx, &tx_if, TX_ADDR), (&lab.rx, &lab.rx_if, RX_ADDR)] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", ifname]);
            ip(&["-n", ns, "link", "set", ifname, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        lab
    }

    /// Sends `specs` (kind, source port (0 = any), destination port) from the
    /// tx namespace to the rx address, 2 ms apart, from a thread that joined
    /// the tx namespace (setns only moves the calling thread; a socket stays in the namespace
    /// it was made in).
    fn send(&self, specs: &[(&str, u16, u16)]) {
        let ns = &self.tx;
        let mut sockets = self.sockets.borrow_mut();
        let sockets = &mut *sockets;
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("open netns");
                nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
                send_from(sockets, specs);
            });
        });
    }

    /// Starts `teredo-tool live -i <rx veth> ARGS` in the rx namespace and
    /// waits until it says it is capturing.
    fn live(&self, args: &[&str]) -> Live {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.rx, env!("CARGO_BIN_EXE_teredo-tool"), "live", "-i", &self.rx_if]);
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        Live::start(cmd)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // the sockets keep the tx namespace alive: closed first, it goes with its deletion
        self.sockets.get_mut().clear();
        for ns in [&self.tx, &self.rx] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A running `teredo-tool live` (same PID as the `ip netns exec` that started
/// it, since that execs). Killed by PID on drop if still running.
struct Live {
    child: Child,
    stderr: mpsc::Receiver<String>,
    /// stderr lines already read by `wait_for_line`.
    seen: Vec<String>,
    /// stdout, line by line as the process writes (and flushes) it.
    stdout: mpsc::Receiver<String>,
    /// stdout lines already read by `wait_for_records`.
    records: Vec<String>,
}

struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Live {
    fn start(mut cmd: Command) -> Live {
        let mut child = cmd.spawn().expect("spawn teredo-tool live");
        let (otx, orx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if otx.send(line).is_err() {
                    break;
                }
            }
        });
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut live = Live { child, stderr: rx, seen: Vec::new(), stdout: orx, records: Vec::new() };
        live.wait_for_line("capturing on", Duration::from_secs(20));
        live
    }

    /// Lines of stderr seen while waiting for one containing `needle`.
    fn wait_for_line(&mut self, needle: &str, limit: Duration) -> Vec<String> {
        let start = Instant::now();
        let mut seen = Vec::new();
        loop {
            let left = limit.saturating_sub(start.elapsed());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    seen.push(line.clone());
                    self.seen.push(line);
                    if hit {
                        return seen;
                    }
                }
                Err(_) => panic!("no stderr line with {needle:?} within {limit:?}; saw {seen:?}"),
            }
        }
    }

    /// Waits for `n` stdout lines while the process is still running: what
    /// `live` prints must reach a pipe at once, not when a buffer fills.
    fn wait_for_records(&mut self, n: usize, limit: Duration) -> Vec<serde_json::Value> {
        let start = Instant::now();
        while self.records.len() < n {
            match self.stdout.recv_timeout(limit.saturating_sub(start.elapsed())) {
                Ok(line) => self.records.push(line),
                Err(_) => panic!("only {:?} on stdout within {limit:?}", self.records),
            }
        }
        assert!(self.child.try_wait().unwrap().is_none(), "the capture is still running");
        self.records.iter().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }

    /// Waits (at most `limit`) for the process to end by itself.
    fn finish(mut self, limit: Duration) -> Finished {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(start.elapsed() < limit, "teredo-tool live still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(10));
        };
        let elapsed = start.elapsed();
        let mut lines = std::mem::take(&mut self.records);
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(2)) {
            lines.push(line);
        }
        let stdout = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        // the reader thread ends at EOF, shortly after the process
        let mut stderr = std::mem::take(&mut self.seen);
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(2)) {
            stderr.push(line);
        }
        Finished { status, stdout, stderr: stderr.join("\n"), elapsed }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The JSON summary line `live` prints on stderr with JSON output.
fn summary(stderr: &str, when: &str) -> serde_json::Value {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["live"] == when)
        .unwrap_or_else(|| panic!("no {when:?} summary on stderr: {stderr}"))
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}"))).collect()
}

/// What the test sends: (kind, source port, destination port, expected type).
/// Kinds and types are named after RFC 4380; the sender builds each packet
/// with the crate's emit functions, so the expected type is what was built.
const TRAFFIC: [(&str, u16, u16); 15] = [
    ("rs", 0, 3544),
    ("ra", 3544, 40000),
    ("bubble", 40000, 3544),
    ("indirect-bubble", 3544, 40000),
    ("echo-request", 0, 3544),
    ("echo-reply", 3544, 40000),
    ("data", 40000, 3544),
    ("not-teredo", 0, 5000),
    // the same on ports other than 3544: found by the heuristic
    ("bubble", 40000, 40001),
    ("indirect-bubble", 40002, 40000),
    ("echo-request", 40000, 40001),
    ("echo-reply", 40001, 40000),
    ("data", 40000, 40001),
    ("rs", 40003, 40004),
    ("ra", 40004, 40003),
];

fn expected_type(kind: &str) -> &str {
    match kind {
        "rs" => "router-solicitation",
        "ra" => "router-advertisement",
        other => other,
    }
}

#[test]
fn every_message_type_is_decoded_and_count_stops_the_capture() {
    require_lab!();
    let lab = Lab::new();
    let teredo: Vec<_> = TRAFFIC.iter().filter(|t| t.0 != "not-teredo").collect();
    let count = teredo.len();
    let live = lab.live(&["--count", &count.to_string(), "--format", "ndjson"]);
    lab.send(&TRAFFIC);
    // more after the count is reached: must not be shown
    lab.send(&[("rs", 0, 3544), ("bubble", 40000, 3544)]);
    let done = live.finish(Duration::from_secs(10));
    assert!(done.status.success(), "{:?}: {}", done.status, done.stderr);
    let records = json_lines(&done.stdout);
    assert_eq!(records.len(), count, "{}", done.stdout);
    for (r, (kind, sport, dport)) in records.iter().zip(teredo) {
        assert_eq!(r["type"], expected_type(kind), "{r}");
        let on_3544 = *sport == 3544 || *dport == 3544;
        assert_eq!(r["detection"], if on_3544 { "port-3544" } else { "heuristic" }, "{r}");
        assert_eq!(r["outer"]["dst"], RX_ADDR.to_string(), "{r}");
        assert_eq!(r["outer"]["dst_port"], *dport, "{r}");
        assert_eq!(r["outer"]["src"], TX_ADDR.to_string(), "{r}");
        assert_eq!(r["outer"]["src_port"], if *sport == 0 { ANY_PORT } else { *sport }, "{r}");
    }
    // the sender's addresses (teredo_send's documentation): RS from the
    // qualification source fe80::ffff:ffff:ffff to all-routers
    assert_eq!(records[0]["ipv6"]["src"], "fe80::ffff:ffff:ffff");
    assert_eq!(records[0]["ipv6"]["dst"], "ff02::2");
    // the indirect bubble carries the relay's Origin indication
    assert_eq!(records[3]["origin"]["address"], "203.0.113.1");
    assert_eq!(records[3]["origin"]["port"], 3545);
    let end = summary(&done.stderr, "captured");
    assert_eq!(end["matched"], count);
    // the packets after --count may or may not have been read before the end
    assert!(end["libpcap"]["received"].as_u64().unwrap() > count as u64, "{end}");
    assert_eq!(end["libpcap"]["dropped"], 0, "{end}");
}

#[test]
fn no_heuristic_captures_only_port_3544() {
    require_lab!();
    let lab = Lab::new();
    let live = lab.live(&["--no-heuristic", "--duration", "1.5", "--format", "ndjson"]);
    lab.send(&TRAFFIC);
    let done = live.finish(Duration::from_secs(10));
    assert!(done.status.success(), "{}", done.stderr);
    let records = json_lines(&done.stdout);
    let on_3544: Vec<_> = TRAFFIC.iter().filter(|t| t.1 == 3544 || t.2 == 3544).collect();
    assert_eq!(records.len(), on_3544.len(), "{}", done.stdout);
    for (r, (kind, _, _)) in records.iter().zip(on_3544) {
        // the not-teredo datagram went to port 5000, so every one on 3544 is Teredo
        assert_eq!(r["type"], expected_type(kind), "{r}");
    }
    // the BPF filter `udp port 3544` kept the others out of the kernel counters too
    assert!(done.stderr.contains("filter \"udp port 3544\""), "{}", done.stderr);
    let end = summary(&done.stderr, "captured");
    assert_eq!(end["libpcap"]["received"], records.len(), "{end}");
    assert_eq!(end["frames"], records.len(), "{end}");
}

#[test]
fn type_host_and_port_filters() {
    require_lab!();
    let lab = Lab::new();
    let live =
        lab.live(&["--type", "echo-request,echo-reply", "--port", "40001", "--count", "2", "--format", "ndjson"]);
    lab.send(&TRAFFIC);
    let done = live.finish(Duration::from_secs(10));
    assert!(done.status.success(), "{}", done.stderr);
    let records = json_lines(&done.stdout);
    let types: Vec<_> = records.iter().map(|r| r["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(types, ["echo-request", "echo-reply"], "{}", done.stdout);
    assert_eq!(records[0]["outer"]["dst_port"], 40001);
    assert_eq!(records[1]["outer"]["src_port"], 40001);

    // --host on the inner IPv6 address: the IPv6 host 2001:db8:ff::1 of the echo exchange
    let live = lab.live(&["--host", "2001:db8:ff::1", "--duration", "1.5", "--format", "ndjson"]);
    lab.send(&TRAFFIC);
    let done = live.finish(Duration::from_secs(10));
    let types: Vec<_> = json_lines(&done.stdout).iter().map(|r| r["type"].as_str().unwrap().to_string()).collect();
    // echo request/reply and data, on 3544 and on other ports
    assert_eq!(types, ["echo-request", "echo-reply", "data", "echo-request", "echo-reply", "data"], "{}", done.stdout);
}

#[test]
fn duration_stops_an_idle_capture() {
    require_lab!();
    let lab = Lab::new();
    let live = lab.live(&["--duration", "1", "--format", "ndjson"]);
    let done = live.finish(Duration::from_secs(10));
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(done.stdout, "");
    assert!(done.elapsed < Duration::from_secs(3), "took {:?}", done.elapsed);
    let end = summary(&done.stderr, "captured");
    assert_eq!((end["frames"].as_u64(), end["libpcap"]["received"].as_u64()), (Some(0), Some(0)), "{end}");
}

#[test]
fn sigusr1_reports_and_sigint_stops_with_a_summary() {
    require_lab!();
    let lab = Lab::new();
    let mut live = lab.live(&["--format", "ndjson"]);
    lab.send(&[("rs", 0, 3544), ("ra", 3544, 40000)]);
    // flushed as they arrive, while the capture goes on
    let shown = live.wait_for_records(2, Duration::from_secs(5));
    assert_eq!(
        (shown[0]["type"].as_str(), shown[1]["type"].as_str()),
        (Some("router-solicitation"), Some("router-advertisement"))
    );
    nix::sys::signal::kill(live.pid(), nix::sys::signal::SIGUSR1).unwrap();
    let seen = live.wait_for_line("so far", Duration::from_secs(5));
    let so_far: serde_json::Value = serde_json::from_str(seen.last().unwrap()).unwrap();
    assert_eq!((so_far["matched"].as_u64(), so_far["libpcap"]["received"].as_u64()), (Some(2), Some(2)), "{so_far}");
    nix::sys::signal::kill(live.pid(), nix::sys::signal::SIGINT).unwrap();
    let done = live.finish(Duration::from_secs(5));
    assert!(done.status.success(), "{:?} {}", done.status, done.stderr);
    assert_eq!(json_lines(&done.stdout).len(), 2);
    let end = summary(&done.stderr, "captured");
    assert_eq!((end["frames"].as_u64(), end["libpcap"]["received"].as_u64()), (Some(2), Some(2)), "{end}");
}

#[test]
fn analyze_reports_at_the_end_and_on_sigusr1() {
    require_lab!();
    let lab = Lab::new();
    let mut live = lab.live(&["--analyze", "--format", "json"]);
    lab.send(&[("bubble", 40000, 3544), ("echo-request", 0, 3544), ("echo-reply", 3544, 40000)]);
    std::thread::sleep(Duration::from_millis(200));
    nix::sys::signal::kill(live.pid(), nix::sys::signal::SIGUSR1).unwrap();
    let seen = live.wait_for_line("\"clients\"", Duration::from_secs(5));
    let interim: serde_json::Value = serde_json::from_str(seen.last().unwrap()).unwrap();
    nix::sys::signal::kill(live.pid(), nix::sys::signal::SIGINT).unwrap();
    let done = live.finish(Duration::from_secs(5));
    assert!(done.status.success(), "{}", done.stderr);
    // stdout is one JSON document: the analysis at the end
    let end: serde_json::Value = serde_json::from_str(&done.stdout).unwrap();
    for report in [&interim, &end] {
        // teredo_send's client: server 192.0.2.1, mapped 198.51.100.2:40000 (its documentation)
        let clients = report["clients"].as_array().unwrap();
        let client = clients
            .iter()
            .find(|c| c["mapped_address"] == "198.51.100.2" && c["mapped_port"] == 40000)
            .unwrap_or_else(|| panic!("no client 198.51.100.2:40000 in {report:#}"));
        assert_eq!(client["server"], "192.0.2.1");
    }
}

#[test]
fn write_saves_the_frames_shown() {
    require_lab!();
    let lab = Lab::new();
    let dir = std::env::temp_dir().join(format!("ttv-write-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("out.pcapng");
    let live = lab.live(&["--count", "3", "-w", path.to_str().unwrap(), "--format", "ndjson"]);
    lab.send(&[("rs", 0, 3544), ("not-teredo", 0, 5000), ("ra", 3544, 40000), ("bubble", 40000, 40001)]);
    let done = live.finish(Duration::from_secs(10));
    assert!(done.status.success(), "{}", done.stderr);
    let mut reader = teredo_tool::capture::open(path.to_str().unwrap()).unwrap();
    assert_eq!(reader.format(), teredo_tool::capture::CaptureFormat::Pcapng);
    let mut types = Vec::new();
    while let Some(frame) = reader.next_frame() {
        let frame = frame.unwrap();
        assert_eq!(frame.linktype, 1, "a veth is Ethernet");
        let d = teredo_tool::dissect::dissect(frame.data, frame.linktype, &Default::default());
        types.push(d.message_type().map(|t| t.as_str()).unwrap_or("none"));
    }
    assert_eq!(types, ["router-solicitation", "router-advertisement", "bubble"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn user_drops_privileges_after_opening() {
    require_lab!();
    let lab = Lab::new();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().expect("user nobody");
    let live = lab.live(&["--user", "nobody", "--count", "1", "--format", "ndjson"]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", live.child.id())).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let uids: Vec<u32> = uid_line.split_whitespace().skip(1).map(|v| v.parse().unwrap()).collect();
    // real, effective, saved and filesystem uid all switched
    assert_eq!(uids, vec![nobody.uid.as_raw(); 4], "{uid_line}");
    let gid_line = status.lines().find(|l| l.starts_with("Gid:")).unwrap();
    assert!(gid_line.split_whitespace().skip(1).all(|g| g == nobody.gid.as_raw().to_string()), "{gid_line}");
    // and the capture still works
    lab.send(&[("bubble", 40000, 3544)]);
    let done = live.finish(Duration::from_secs(10));
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(json_lines(&done.stdout)[0]["type"], "bubble");
}

#[test]
fn unknown_user_refuses_to_continue() {
    require_lab!();
    let lab = Lab::new();
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.rx, env!("CARGO_BIN_EXE_teredo-tool"), "live", "-i", &lab.rx_if])
        .args(["--user", "ttv-no-such-user", "--count", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ttv-no-such-user: no such user"), "{err}");
}

#[test]
fn bad_filter_quotes_libpcap() {
    require_lab!();
    let lab = Lab::new();
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.rx, env!("CARGO_BIN_EXE_teredo-tool"), "live", "-i", &lab.rx_if])
        .args(["--filter", "udp porrt 3544"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    // our words, the expression, and libpcap's own reason after the colon
    assert!(err.contains("BPF filter \"udp porrt 3544\" does not compile: "), "{err}");
    assert!(err.contains("syntax error"), "{err}");
}

#[test]
fn missing_interface_lists_the_real_ones() {
    require_lab!();
    let lab = Lab::new();
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.rx, env!("CARGO_BIN_EXE_teredo-tool"), "live", "-i", "ttv-nope0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ttv-nope0: no such interface (available: "), "{err}");
    // the namespace has exactly lo and the veth
    assert!(err.contains(&lab.rx_if) && err.contains("lo"), "{err}");
}

#[test]
fn list_shows_interfaces_with_addresses() {
    require_lab!();
    let lab = Lab::new();
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.rx, env!("CARGO_BIN_EXE_teredo-tool"), "live", "--list", "--format", "ndjson"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let list = json_lines(&String::from_utf8_lossy(&out.stdout));
    let veth = list.iter().find(|i| i["name"] == lab.rx_if.as_str()).expect("the veth is listed");
    assert_eq!(veth["up"], true);
    assert!(veth["addresses"].as_array().unwrap().iter().any(|a| a == &format!("{RX_ADDR}/24")), "{veth}");
    let lo = list.iter().find(|i| i["name"] == "lo").expect("lo is listed");
    assert_eq!(lo["loopback"], true);
}

/// The prober's own qualification with the lab's real miredo-server (tests/lab/lab.sh),
/// captured by `live` on the server's interface: every packet decodes, and what the
/// capture shows agrees with what the prober reports (two independent views of one
/// exchange: the prober parses the RA it received, `live` the copy on the wire).
#[test]
fn captures_the_probers_qualification_with_miredo_server() {
    let Some(lab) = common::lab::Lab::up(common::lab::Nat::Cone) else { return };
    let bin = env!("CARGO_BIN_EXE_teredo-tool");
    let mut cmd = lab.command_in("srv", &[bin, "live", "-i", "eth0", "--format", "ndjson"]);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let live = Live::start(cmd);
    let probe = lab.command_in("cli", &[bin, "probe", "--json", "--server", "192.0.2.1"]).output().unwrap();
    let probe_out = String::from_utf8_lossy(&probe.stdout);
    assert_eq!(probe.status.code(), Some(0), "{probe_out} {}", String::from_utf8_lossy(&probe.stderr));
    let result: serde_json::Value = serde_json::from_str(&probe_out).unwrap();
    let r = &result[0];
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(live.pid(), nix::sys::signal::SIGINT).unwrap();
    let done = live.finish(Duration::from_secs(10));
    assert!(done.status.success(), "{}", done.stderr);
    let records = json_lines(&done.stdout);
    let ctx = format!("probe: {r:#}\ncapture: {}", done.stdout);
    let of_type = |t: &str| records.iter().filter(|x| x["type"] == t).collect::<Vec<_>>();
    let (rs, ra) = (of_type("router-solicitation"), of_type("router-advertisement"));
    // Only the qualification: solicitations and advertisements, nothing malformed.
    assert_eq!(rs.len() + ra.len(), records.len(), "{ctx}");
    assert!(!rs.is_empty() && !ra.is_empty(), "{ctx}");
    let nat_public = lab.get("NAT_PUBLIC");
    for s in &rs {
        assert_eq!(s["outer"]["src"], nat_public, "RS come from the NAT's public side: {ctx}");
        assert_eq!(s["outer"]["dst_port"], 3544, "{ctx}");
        assert_eq!(s["ipv6"]["dst"], "ff02::2", "RFC 4380 §5.2.1: to all-routers: {ctx}");
        assert!(s["ipv6"]["src"].as_str().unwrap().starts_with("fe80::"), "{ctx}");
    }
    let rs_nonces: Vec<&str> = rs.iter().filter_map(|s| s["auth"]["nonce"].as_str()).collect();
    for a in &ra {
        assert_eq!(a["outer"]["src_port"], 3544, "{ctx}");
        assert_eq!(a["outer"]["dst"], nat_public, "{ctx}");
        // each RA answers one of the captured RS (the nonce is echoed, RFC 4380 §5.2.1)
        assert!(rs_nonces.contains(&a["auth"]["nonce"].as_str().unwrap()), "{ctx}");
        // the Origin indication is the client's mapping as the server saw it: where the RA goes
        assert_eq!(a["origin"]["address"], a["outer"]["dst"], "{ctx}");
        assert_eq!(a["origin"]["port"], a["outer"]["dst_port"], "{ctx}");
        assert_eq!(
            format!("{}/64", a["icmpv6"]["prefixes"][0]["prefix"].as_str().unwrap()),
            r["prefix"].as_str().unwrap(),
            "{ctx}"
        );
    }
    // the mapping the prober reports is one the server told it in a captured RA
    assert!(
        ra.iter().any(|a| a["origin"]["address"] == r["mapped_address"] && a["origin"]["port"] == r["mapped_port"]),
        "{ctx}"
    );
    // the cone test's answer comes from the secondary address (LAB.md), the others from the primary
    let from: Vec<&str> = ra.iter().map(|a| a["outer"]["src"].as_str().unwrap()).collect();
    assert!(from.contains(&"192.0.2.2") && from.contains(&"192.0.2.1"), "{from:?} {ctx}");
}

#[test]
fn without_privileges_the_error_names_the_capabilities() {
    require_lab!();
    // setpriv (util-linux) runs the binary as nobody with no capabilities
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
        .args([env!("CARGO_BIN_EXE_teredo-tool"), "live", "-i", "lo"])
        .output()
        .expect("run setpriv");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("lo: no permission to capture"), "{err}");
    assert!(err.contains("CAP_NET_RAW") && err.contains("CAP_NET_ADMIN") && err.contains("setcap"), "{err}");
}

#[test]
fn the_any_device_decodes_through_linux_cooked_headers() {
    require_lab!();
    let lab = Lab::new();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &lab.rx, env!("CARGO_BIN_EXE_teredo-tool"), "live", "-i", "any"]);
    cmd.args(["-c", "2", "--format", "ndjson"]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let live = Live::start(cmd);
    lab.send(&[("rs", 0, 3544), ("bubble", 40000, 40001)]);
    let done = live.finish(Duration::from_secs(10));
    assert!(done.status.success(), "{}", done.stderr);
    // libpcap gives "any" LINUX_SLL (113) or LINUX_SLL2 (276) headers, not Ethernet
    assert!(done.stderr.contains("link type 113") || done.stderr.contains("link type 276"), "{}", done.stderr);
    let types: Vec<_> = json_lines(&done.stdout).iter().map(|r| r["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(types, ["router-solicitation", "bubble"]);
}
