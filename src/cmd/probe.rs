//! `teredo-tool probe`: qualification / NAT type against one or more servers, then
//! optionally relay discovery and ping.

use super::UsageError;
use crate::cli::ProbeArgs;
use std::io::IsTerminal;
use std::io::Write;
use std::net::{Ipv6Addr, SocketAddrV4, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use teredo_tool::dissect::dissect_teredo_payload;
use teredo_tool::output::ipfmt::Ipv4Text;
use teredo_tool::output::packet::{table_header, AddressCache, FrameInfo, OuterView, PacketView};
use teredo_tool::output::probe::{health_header, HealthView, ProbeView};
use teredo_tool::output::Record;
use teredo_tool::output::{Format, Output};
use teredo_tool::probe::relay::discover_and_ping;
use teredo_tool::probe::transport::Udp;
use teredo_tool::probe::{default_servers, qualify, Direction, NatType, ProbeConfig, Qualification, Tracer};

type ProbeResult = anyhow::Result<(Qualification, Option<teredo_tool::probe::Session>)>;

/// No valid RA from any server.
pub const EXIT_OFFLINE: u8 = 3;

fn seconds(v: f64, what: &str) -> anyhow::Result<Duration> {
    if !(v.is_finite() && v > 0.0 && v <= 3600.0) {
        return Err(UsageError(format!("{what} must be between 0 and 3600 seconds, got {v}")).into());
    }
    Ok(Duration::from_secs_f64(v))
}

fn resolve_v6(host: &str) -> anyhow::Result<Ipv6Addr> {
    if let Ok(a) = host.trim_matches(['[', ']']).parse::<Ipv6Addr>() {
        return Ok(a);
    }
    (host, 0)
        .to_socket_addrs()
        .map_err(|e| UsageError(format!("cannot resolve {host:?}: {e}")))?
        .find_map(|a| match a {
            std::net::SocketAddr::V6(v6) => Some(*v6.ip()),
            _ => None,
        })
        .ok_or_else(|| UsageError(format!("{host:?} has no IPv6 address")).into())
}

/// `--trace`: every datagram sent and received, rendered on stderr exactly as `pcap -V`
/// renders a captured frame (the same dissector and the same [`PacketView`] tree); the
/// outer column holds the socket addresses (the local one before any NAT).
fn tracer() -> Tracer {
    let start = Instant::now();
    let frame = AtomicU64::new(0);
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    Arc::new(move |dir: Direction, local: SocketAddrV4, remote: SocketAddrV4, data: &[u8]| {
        let (src, dst) = match dir {
            Direction::Sent => (local, remote),
            Direction::Received => (remote, local),
        };
        let n = frame.fetch_add(1, Ordering::Relaxed) + 1;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let info = FrameInfo {
            file: None,
            frame: n,
            ts_sec: now.as_secs() as i64,
            ts_nsec: now.subsec_nanos(),
            ts_digits: 6,
            relative: start.elapsed().as_secs_f64(),
            interface_id: 0,
            reassembled: false,
        };
        let d = dissect_teredo_payload(data, 0);
        let mut buf = Vec::new();
        if n == 1 {
            let _ = writeln!(buf, "{}", table_header(color));
        }
        // The table does not show the address records; a fresh cache is cheap.
        if let Some(mut view) = PacketView::new(&info, &d, &mut AddressCache::default()) {
            view.outer = Some(OuterView {
                src: Ipv4Text(*src.ip()),
                src_port: src.port(),
                dst: Ipv4Text(*dst.ip()),
                dst_port: dst.port(),
            });
            let _ = view.with_tree(&d).write_table(&mut buf, color);
        }
        // One write per datagram: several servers are probed from several threads.
        let _ = std::io::stderr().lock().write_all(&buf);
    })
}

pub fn run<W: Write>(args: &ProbeArgs, out: &mut Output<W>) -> anyhow::Result<ExitCode> {
    let cfg = ProbeConfig {
        bind: args.bind.unwrap_or(SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0)),
        secondary: args.secondary,
        timeout: seconds(args.timeout, "--timeout")?,
        retries: args.retries,
        tracer: args.trace.then(tracer),
        keepalive: seconds(args.keepalive, "--keepalive")?,
        ..ProbeConfig::default()
    };
    let interval = seconds(args.interval, "--interval")?;
    let target = match args.ping.as_deref().or(args.relay.as_deref()) {
        Some(h) => Some(resolve_v6(h)?),
        None => None,
    };
    let from_list = args.server.is_empty();
    let servers = if from_list { default_servers() } else { args.server.clone() };
    if servers.len() > 1 && target.is_some() {
        return Err(UsageError("--relay and --ping take a single --server".into()).into());
    }
    if servers.len() > 1 && args.bind.is_some_and(|b| b.port() != 0) {
        return Err(UsageError("--bind with a fixed port takes a single --server".into()).into());
    }

    // All servers concurrently, each on its own sockets.
    let results: Vec<(String, ProbeResult)> = std::thread::scope(|sc| {
        let handles: Vec<_> = servers
            .iter()
            .map(|s| {
                let cfg = cfg.clone();
                sc.spawn(move || (s.clone(), qualify(&Udp, s, &cfg).map_err(anyhow::Error::from)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("probe thread")).collect()
    });

    if servers.len() == 1 && !from_list {
        let (name, res) = results.into_iter().next().expect("one");
        let (q, session) = match res {
            Ok(x) => x,
            Err(e) => {
                eprintln!("teredo-tool: {name}: {e:#}");
                eprintln!("teredo-tool: offline: the server name could not be used; check the name and DNS");
                return Ok(ExitCode::from(EXIT_OFFLINE));
            }
        };
        if q.nat_type == NatType::Offline {
            out.record(&ProbeView { q: &q, discovery: None, ping: None })?;
            out.writer().flush()?;
            explain_offline(&q);
            return Ok(ExitCode::from(EXIT_OFFLINE));
        }
        let mut code = ExitCode::SUCCESS;
        let (disc, stats) = match (target, session) {
            (Some(t), Some(s)) => {
                let count = if args.ping.is_some() { args.count } else { 0 };
                let (d, p) = discover_and_ping(&s, t, count, interval, args.retries);
                if d.relay.is_none() || (args.ping.is_some() && p.received < p.sent) {
                    code = ExitCode::FAILURE;
                }
                (Some(d), args.ping.is_some().then_some(p))
            }
            _ => (None, None),
        };
        out.record(&ProbeView { q: &q, discovery: disc.as_ref(), ping: stats.as_ref() })?;
        return Ok(code);
    }

    // Several servers: a health table, best first.
    let mut ok: Vec<Qualification> = Vec::new();
    let mut failed = Vec::new();
    for (name, r) in results {
        match r {
            Ok((q, _)) => ok.push(q),
            Err(e) => failed.push((name, format!("{e:#}"))),
        }
    }
    ok.sort_by_key(HealthView::rank);
    if out.format() == Format::Table {
        health_header(out.writer())?;
    }
    for q in &ok {
        out.record(&HealthView(q))?;
    }
    for (name, e) in &failed {
        if out.format() == Format::Table {
            writeln!(out.writer(), "{name:<28} {e}")?;
        } else {
            out.record(&ErrorRow { server: name, error: e })?;
        }
    }
    if ok.iter().all(|q| q.nat_type == NatType::Offline) {
        out.writer().flush()?;
        eprintln!("teredo-tool: offline: no server answered (UDP blocked, servers down, or wrong addresses)");
        return Ok(ExitCode::from(EXIT_OFFLINE));
    }
    Ok(ExitCode::SUCCESS)
}

struct ErrorRow<'a> {
    server: &'a str,
    error: &'a str,
}

impl teredo_tool::output::Record for ErrorRow<'_> {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"server": self.server, "reachable": false, "nat_type": "offline", "error": self.error})
    }
    fn write_table(&self, w: &mut dyn Write, _color: bool) -> std::io::Result<()> {
        writeln!(w, "{}  {}", self.server, self.error)
    }
}

fn explain_offline(q: &Qualification) {
    let tried: Vec<String> = q.steps.iter().map(|s| format!("{} to {} x{}", s.sent, s.to, s.tries)).collect();
    eprintln!(
        "teredo-tool: offline: no valid Router Advertisement from {} ({}; secondary {}). Tried: {}; \
         waiting {:.1} s per try. {} other datagram(s) ignored. Likely causes: UDP to port {} blocked, \
         the server is down, or the address is wrong.",
        q.server,
        q.server_address,
        q.secondary,
        tried.join(", "),
        q.timeout.as_secs_f64(),
        q.ignored.len(),
        q.steps.first().map_or(3544, |s| s.to.port()),
    );
}
