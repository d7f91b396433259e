//! Active Teredo prober: qualification and NAT type (RFC 4380 §5.2.1), relay discovery
//! (the "direct IPv6 connectivity test", RFC 4380 §5.2.9) and tunnelled ping, over plain
//! UDP sockets (no tun device, no root).
//!
//! Packets are built with the emit side of [`crate::wire`] and every received datagram is
//! read by the shared dissector ([`crate::dissect::dissect_teredo_payload`]); [`build`] only
//! picks the prober's parameters. Sockets sit behind [`transport::Transport`], so the logic
//! runs against anything a test supplies.
//!
//! ## NAT type without the conntrack trap
//! RFC 4380 §5.2.1 runs the cone test and the mapping comparison on one port. On Linux
//! conntrack NATs the unanswered cone RA from the secondary address leaves an `[UNREPLIED]`
//! entry that remaps the later packet to the secondary, so a restricted NAT looks symmetric
//! (measured in the project's lab). Here the cone RS goes out of its own socket (A), and the
//! two non-cone RSs to the primary and the secondary address out of another (B); all three
//! leave at once, so a cone or no-NAT verdict takes one round trip. Only "restricted" has to
//! wait for the cone test to run out (timeout × retries).

pub mod build;
pub mod relay;
pub mod transport;
#[cfg(test)]
mod verdict_tests;

use crate::wire::teredo::{Hex, OriginIndication};
use build::{parse_datagram, rs_source, RaInfo};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};
use transport::{Hub, Network, Transport};

/// The Teredo server UDP port (RFC 4380 §2.7).
pub const TEREDO_PORT: u16 = 3544;

/// Public Teredo servers probed when no `--server` is given: host names only, resolved at
/// run time. Source: the server list of pteredor (SeaHOH/pteredor, used by XX-Net, 2017-18),
/// as summarised in the project's PROTOCOL.md §4; liveness today is unknown, which is what
/// the health table is for.
pub const PUBLIC_SERVERS: &[&str] = &[
    "teredo.remlab.net",
    "teredo2.remlab.net",
    "teredo-debian.remlab.net",
    "teredo.trex.fi",
    "teredo.iks-jena.de",
    "win10.ipv6.microsoft.com",
    "win1710.ipv6.microsoft.com",
    "win1711.ipv6.microsoft.com",
];

/// Environment variable that replaces [`PUBLIC_SERVERS`] (names or addresses, separated
/// by commas or white space).
pub const SERVERS_ENV: &str = "TEREDO_TOOL_SERVERS";

/// The server list to use when none is given: [`SERVERS_ENV`] if set and non-empty, else
/// [`PUBLIC_SERVERS`].
pub fn default_servers() -> Vec<String> {
    match std::env::var(SERVERS_ENV) {
        Ok(v) if !v.trim().is_empty() => {
            v.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).map(String::from).collect()
        }
        _ => PUBLIC_SERVERS.iter().map(|s| s.to_string()).collect(),
    }
}

pub use crate::nat::NatType;

/// Direction of a traced packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

/// Called for every datagram sent and received (for `--trace`): direction, local socket
/// address, remote address, UDP payload.
pub type Tracer = Arc<dyn Fn(Direction, SocketAddrV4, SocketAddrV4, &[u8]) + Send + Sync>;

/// What to probe and how.
#[derive(Clone)]
pub struct ProbeConfig {
    /// Local address for the reported (mapping) socket; port 0 = any.
    pub bind: SocketAddrV4,
    /// Secondary server address; default primary + 1.
    pub secondary: Option<Ipv4Addr>,
    /// Server UDP port (3544; other values only for tests against fake servers).
    pub port: u16,
    /// Wait per try (RFC 4380: 4 s).
    pub timeout: Duration,
    /// Tries per RS (RFC 4380: 3).
    pub retries: u32,
    pub tracer: Option<Tracer>,
    /// Keepalive interval during relay discovery and ping: an RS to the server when nothing
    /// was exchanged with it for this long (RFC 4380 §5.2.5; default 30 s, RFC 6081 §5.1.1).
    pub keepalive: Duration,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            bind: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            secondary: None,
            port: TEREDO_PORT,
            timeout: Duration::from_secs(4),
            retries: 3,
            tracer: None,
            keepalive: relay::REFRESH_INTERVAL,
        }
    }
}

/// Errors before any packet could be sent.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot resolve {name:?}: {reason}")]
    Resolve { name: String, reason: String },
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
}

/// Resolve `name` ("host" or "host:port") to an IPv4 address and port through the system
/// resolver (DNS, /etc/hosts).
pub fn resolve(name: &str, default_port: u16) -> Result<SocketAddrV4, ProbeError> {
    let err = |reason: String| ProbeError::Resolve { name: name.to_string(), reason };
    let (host, port) = match name.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse::<u16>().map_err(|_| err(format!("bad port {p:?}")))?),
        _ => (name, default_port),
    };
    let addrs = (host, port).to_socket_addrs().map_err(|e| err(e.to_string()))?;
    addrs
        .filter_map(|a| match a {
            std::net::SocketAddr::V4(v4) => Some(v4),
            _ => None,
        })
        .next()
        .ok_or_else(|| err("no IPv4 address".into()))
}

/// One thing the prober sent and what came back.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What was sent: "cone RS", "RS", "echo request", "direct bubble", ...
    pub sent: String,
    /// Local socket it left from.
    pub from: SocketAddrV4,
    /// Where it went.
    pub to: SocketAddrV4,
    /// How many times it was sent.
    pub tries: u32,
    /// What came back and from where, if anything.
    pub answer: Option<Answer>,
    /// Time from the last send to the answer.
    pub rtt: Option<Duration>,
}

/// An accepted answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub what: String,
    pub from: SocketAddrV4,
    /// The mapping the server saw (Origin indication), for RAs.
    pub mapped: Option<SocketAddrV4>,
}

/// A datagram that was received and not accepted, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub from: SocketAddrV4,
    pub reason: String,
}

/// Result of qualification against one server.
#[derive(Debug, Clone)]
pub struct Qualification {
    /// The server as given (name or address).
    pub server: String,
    pub server_address: Ipv4Addr,
    pub secondary: Ipv4Addr,
    pub nat_type: NatType,
    /// Mapping seen by the primary server for the reported socket.
    pub mapped: Option<SocketAddrV4>,
    /// The reported socket's local address.
    pub local: SocketAddrV4,
    /// RFC 6081 §5.4.3: mapped port == local port.
    pub port_preserving: Option<bool>,
    /// The address this client would configure (RFC 4380 §4, random bits per RFC 5991 §3).
    pub teredo_address: Option<Ipv6Addr>,
    /// The /64 prefix from the RA.
    pub prefix: Option<Ipv6Addr>,
    pub mtu: Option<u32>,
    pub steps: Vec<Step>,
    pub ignored: Vec<Ignored>,
    /// RTT of the non-cone RS to the primary.
    pub rtt: Option<Duration>,
    /// Timeout and tries used (for the "what was tried" message).
    pub timeout: Duration,
    pub retries: u32,
    pub elapsed: Duration,
}

impl Qualification {
    pub fn cone_answered(&self) -> bool {
        self.steps.first().is_some_and(|s| s.answer.is_some())
    }
    pub fn primary_answered(&self) -> bool {
        self.steps.get(1).is_some_and(|s| s.answer.is_some())
    }
    pub fn secondary_answered(&self) -> bool {
        self.steps.get(2).is_some_and(|s| s.answer.is_some())
    }
}

/// A qualified client: the socket whose mapping was reported, for relay discovery and ping.
pub struct Session {
    pub transport: Arc<dyn Transport>,
    pub local: SocketAddrV4,
    pub server: SocketAddrV4,
    pub mapped: SocketAddrV4,
    pub teredo_address: Ipv6Addr,
    pub tracer: Option<Tracer>,
    /// See [`ProbeConfig::keepalive`].
    pub keepalive: Duration,
}

impl Session {
    /// Send one datagram (traced first); returns the instant just before the send, the
    /// start of any RTT (an answer on a fast path can be read before `send_to` returns).
    pub(crate) fn send(&self, buf: &[u8], to: SocketAddrV4) -> std::io::Result<Instant> {
        if let Some(t) = &self.tracer {
            t(Direction::Sent, self.local, to, buf);
        }
        let at = Instant::now();
        self.transport.send_to(buf, to).map(|()| at)
    }
}

/// Random bytes from the OS.
pub(crate) fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // getrandom fails only on exotic platforms; a zero nonce would still be matched exactly.
    let _ = getrandom::fill(&mut b);
    b
}

/// The Teredo address for `prefix` (first 64 bits), `flags` and mapping (RFC 4380 §4).
pub fn teredo_address(prefix: Ipv6Addr, flags: u16, mapped: SocketAddrV4) -> Ipv6Addr {
    let mut b = prefix.octets();
    b[8..10].copy_from_slice(&flags.to_be_bytes());
    b[10..12].copy_from_slice(&(!mapped.port()).to_be_bytes());
    b[12..16].copy_from_slice(&(!u32::from(*mapped.ip())).to_be_bytes());
    Ipv6Addr::from(b)
}

struct RsStep {
    socket: usize,
    cone: bool,
    to: SocketAddrV4,
    /// Where the RA must come from: the cone RS is answered from the other address.
    expect_from: SocketAddrV4,
    nonces: Vec<[u8; 8]>,
    last_sent: Option<Instant>,
    step: Step,
    prefix: Option<Ipv6Addr>,
    mtu: Option<u32>,
    retries: u32,
    timeout: Duration,
}

/// Check one received datagram against the RS steps; `Ok(index)` when it is a valid RA
/// for step `index` (RFC 4380 §5.2.1 acceptance, plus miredo's checks, PROTOCOL.md §2.1/2.3).
fn accept_ra(
    steps: &[RsStep],
    socket: usize,
    from: SocketAddrV4,
    data: &[u8],
) -> Result<(usize, OriginIndication, RaInfo), String> {
    let r = parse_datagram(data).map_err(|e| format!("malformed: {e}"))?;
    let Some(ra) = r.router_advertisement() else {
        return Err(format!("not a Router Advertisement ({})", build::summary(data)));
    };
    let nonce = r.nonce().ok_or("RA without Authentication indicator")?;
    let i = steps
        .iter()
        .position(|s| s.socket == socket && s.nonces.contains(&nonce))
        .ok_or_else(|| format!("RA with unknown nonce {}", Hex(&nonce)))?;
    let s = &steps[i];
    if from != s.expect_from {
        return Err(format!("RA for the {} from unexpected source {from} (expected {})", s.step.sent, s.expect_from));
    }
    if r.confirmation() != Some(0) {
        return Err("RA with non-zero confirmation (authentication failed)".into());
    }
    let origin = r.origin().ok_or("RA without Origin indication")?;
    if r.ipv6.dst != rs_source(s.cone) {
        return Err(format!("RA to {} instead of the RS source {}", r.ipv6.dst, rs_source(s.cone)));
    }
    if ra.teredo_prefixes.len() != 1 || ra.prefix_options != 1 {
        return Err(format!(
            "RA with {} Teredo prefixes ({} prefix options): exactly one required",
            ra.teredo_prefixes.len(),
            ra.prefix_options
        ));
    }
    if let Some(m) = ra.mtu {
        if !(1280..=65535).contains(&m) {
            return Err(format!("RA with MTU {m} outside 1280..65535"));
        }
    }
    Ok((i, origin, ra))
}

/// Qualify against one server and classify the NAT (see the module docs for the method).
///
/// `server` is a name or address, optionally with `:port`. The returned [`Session`] (when
/// an RA arrived) holds the socket whose mapping is reported.
pub fn qualify(
    net: &dyn Network,
    server: &str,
    cfg: &ProbeConfig,
) -> Result<(Qualification, Option<Session>), ProbeError> {
    let primary = resolve(server, cfg.port)?;
    let port = primary.port();
    let secondary_ip = cfg.secondary.unwrap_or_else(|| Ipv4Addr::from(u32::from(*primary.ip()).wrapping_add(1)));
    let secondary = SocketAddrV4::new(secondary_ip, port);
    // Socket A: the cone test only. Socket B: the mapping comparison (and what is reported).
    let a = net.open(SocketAddrV4::new(*cfg.bind.ip(), 0))?;
    let b = net.open(cfg.bind)?;
    let mut local_b = b.local_addr()?;
    let mut local_a = a.local_addr()?;
    if local_b.ip().is_unspecified() {
        let ip = net.route_source(primary)?;
        local_b.set_ip(ip);
        local_a.set_ip(ip);
    }
    let locals = [local_a, local_b];
    let sockets = [Arc::clone(&a), Arc::clone(&b)];
    let hub = Hub::new(&sockets);
    let new_step = |socket: usize, cone: bool, to: SocketAddrV4, expect_from: SocketAddrV4, sent: &str| RsStep {
        socket,
        cone,
        to,
        expect_from,
        nonces: Vec::new(),
        last_sent: None,
        step: Step { sent: sent.into(), from: locals[socket], to, tries: 0, answer: None, rtt: None },
        prefix: None,
        mtu: None,
        retries: cfg.retries,
        timeout: cfg.timeout,
    };
    let mut steps = vec![
        new_step(0, true, primary, secondary, "cone RS"),
        new_step(1, false, primary, primary, "RS"),
        new_step(1, false, secondary, secondary, "RS to secondary"),
    ];
    let mut ignored = Vec::new();
    let start = Instant::now();
    let verdict = loop {
        // (Re)send what is due.
        let now = Instant::now();
        for s in steps.iter_mut() {
            let due = s.step.answer.is_none()
                && s.step.tries < cfg.retries
                && s.last_sent.is_none_or(|t| now >= t + cfg.timeout);
            if due {
                let nonce = random::<8>();
                let rs = build::router_solicitation(s.cone, nonce);
                if let Some(t) = &cfg.tracer {
                    t(Direction::Sent, locals[s.socket], s.to, &rs);
                }
                // The RTT starts before the send: the answer may be read before it returns.
                let at = Instant::now();
                sockets[s.socket].send_to(&rs, s.to)?;
                s.nonces.push(nonce);
                s.last_sent = Some(at);
                s.step.tries += 1;
            }
        }
        if let Some(v) = decide(&steps, local_b) {
            break v;
        }
        // Wait for the next answer or the next resend/give-up time.
        let next = steps
            .iter()
            .filter(|s| s.step.answer.is_none())
            .filter_map(|s| s.last_sent.map(|t| t + cfg.timeout))
            .min()
            .unwrap_or(now);
        if let Some(ev) = hub.next_until(next) {
            if let Some(t) = &cfg.tracer {
                t(Direction::Received, locals[ev.socket], ev.from, &ev.data);
            }
            match accept_ra(&steps, ev.socket, ev.from, &ev.data) {
                Ok((i, o, ra)) => {
                    let s = &mut steps[i];
                    if s.step.answer.is_none() {
                        s.prefix = ra.teredo_prefixes.first().copied();
                        s.mtu = ra.mtu;
                        s.step.rtt = s.last_sent.map(|t| ev.at.saturating_duration_since(t));
                        s.step.answer = Some(Answer {
                            what: "RA".into(),
                            from: ev.from,
                            mapped: Some(SocketAddrV4::new(o.address, o.port)),
                        });
                    }
                }
                Err(reason) => ignored.push(Ignored { from: ev.from, reason }),
            }
        }
    };
    let elapsed = start.elapsed();
    drop(hub);
    let primary_step = &steps[1];
    let mapped = primary_step.step.answer.as_ref().and_then(|a| a.mapped);
    let (prefix, mtu) = if primary_step.step.answer.is_some() {
        (primary_step.prefix, primary_step.mtu)
    } else {
        // Only the cone RS may have been answered if the primary's answer was lost.
        steps.iter().find(|s| s.step.answer.is_some()).map_or((None, None), |s| (s.prefix, s.mtu))
    };
    let cone_flag = if verdict == NatType::Cone { crate::addr::Flags::CONE } else { 0 };
    let flags = cone_flag | (u16::from_be_bytes(random::<2>()) & crate::addr::Flags::RANDOM_MASK);
    let teredo = match (prefix, mapped) {
        (Some(p), Some(m)) => Some(teredo_address(p, flags, m)),
        _ => None,
    };
    let q = Qualification {
        server: server.to_string(),
        server_address: *primary.ip(),
        secondary: secondary_ip,
        nat_type: verdict,
        mapped,
        local: local_b,
        port_preserving: mapped.map(|m| m.port() == local_b.port()),
        teredo_address: teredo,
        prefix,
        mtu,
        rtt: primary_step.step.rtt,
        steps: steps.iter().map(|s| s.step.clone()).collect(),
        ignored,
        timeout: cfg.timeout,
        retries: cfg.retries,
        elapsed,
    };
    let session = match (mapped, teredo) {
        (Some(m), Some(t)) => Some(Session {
            transport: b,
            local: local_b,
            server: primary,
            mapped: m,
            teredo_address: t,
            tracer: cfg.tracer.clone(),
            keepalive: cfg.keepalive,
        }),
        _ => None,
    };
    Ok((q, session))
}

/// The verdict, once it is certain; `None` while it still depends on pending answers.
fn decide(steps: &[RsStep], local: SocketAddrV4) -> Option<NatType> {
    let pending = |s: &RsStep| s.step.answer.is_none() && !exhausted(s);
    let mapped = |s: &RsStep| s.step.answer.as_ref().and_then(|a| a.mapped);
    let (cone, p1, p2) = (&steps[0], &steps[1], &steps[2]);
    if pending(p1) || pending(p2) {
        // A differing mapping is final whatever else happens.
        if let (Some(m1), Some(m2)) = (mapped(p1), mapped(p2)) {
            if m1 != m2 {
                return Some(NatType::Symmetric);
            }
        }
        return None;
    }
    match (mapped(p1), mapped(p2)) {
        (None, None) if cone.step.answer.is_none() => {
            if pending(cone) {
                None
            } else {
                Some(NatType::Offline)
            }
        }
        (Some(m1), Some(m2)) if m1 != m2 => Some(NatType::Symmetric),
        (Some(m1), Some(_)) if m1 == local => Some(NatType::None),
        (Some(_), Some(_)) => {
            if cone.step.answer.is_some() {
                Some(NatType::Cone)
            } else if pending(cone) {
                None
            } else {
                Some(NatType::Restricted)
            }
        }
        (Some(m1), None) if m1 == local => Some(NatType::None),
        _ if cone.step.answer.is_some() => Some(NatType::Cone),
        _ if pending(cone) => None,
        _ => Some(NatType::Unknown),
    }
}

/// All tries sent and the last one has had its full timeout.
fn exhausted(s: &RsStep) -> bool {
    s.step.tries > 0 && s.step.tries >= s.retries && s.last_sent.is_some_and(|t| t.elapsed() >= s.timeout)
}
