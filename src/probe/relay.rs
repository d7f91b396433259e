//! Relay discovery and tunnelled ping from a qualified [`Session`].
//!
//! To a native IPv6 host: the "direct IPv6 connectivity test" (RFC 4380 §5.2.9): an ICMPv6
//! echo request from the client's Teredo address through its own server; the reply comes
//! from a relay, either straight away or after the relay's indirect bubble through our server
//! (Origin indication = the relay) which we answer with a direct bubble (RFC 4380 §5.2.3).
//! To a Teredo address: the inter-site process (RFC 4380 §5.2.6): direct bubble to the
//! peer's mapping, indirect bubble via the peer's server, wait for the peer's bubble, then
//! echo directly.

use super::build::{self, parse_datagram};
use super::transport::{Event, Hub};
use super::{random, Answer, Direction, Session, Step};
use crate::addr::TeredoAddress;
use std::net::{Ipv6Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// RFC 4380 §5.2.9 / §5.2.6: 2 s between tries.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Keep the NAT mapping alive: an RS to the server when nothing went to or came from it for
/// this long. RFC 4380 §2.15 / §5.2 (Teredo Refresh Interval) and RFC 6081 §5.1.1: 30 s by
/// default, configurable ([`crate::probe::ProbeConfig::keepalive`]).
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// How the peer was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// The echo reply came straight from a relay.
    Direct,
    /// The relay first sent an indirect bubble via our server; we answered it.
    IndirectBubble,
    /// A Teredo peer reached by the bubble exchange (inter-site).
    InterSite,
}

impl Path {
    pub fn as_str(self) -> &'static str {
        match self {
            Path::Direct => "direct",
            Path::IndirectBubble => "indirect-bubble",
            Path::InterSite => "inter-site",
        }
    }
}

/// Outcome of relay discovery (or of the bubble exchange with a Teredo peer).
#[derive(Debug, Clone)]
pub struct Discovery {
    pub target: Ipv6Addr,
    /// The relay's (or Teredo peer's) IPv4 address and port.
    pub relay: Option<SocketAddrV4>,
    pub path: Option<Path>,
    pub steps: Vec<Step>,
    pub ignored: Vec<super::Ignored>,
    pub rtt: Option<Duration>,
}

/// Keepalive RSs sent to the server during relay discovery and ping (RFC 4380 §5.2.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keepalives {
    /// RSs sent.
    pub sent: u32,
    /// RAs that answered one of them (nonce matched).
    pub answered: u32,
    /// The mapping an answering RA reported when it differed from the qualified one: the
    /// NAT changed it, and the Teredo address in use is no longer valid (RFC 4380 §5.2.5).
    pub mapping_changed: Option<SocketAddrV4>,
}

/// Ping statistics.
#[derive(Debug, Clone, Default)]
pub struct PingStats {
    pub sent: u32,
    pub received: u32,
    pub rtts: Vec<Duration>,
    /// Keepalives over the whole run (discovery and ping).
    pub keepalives: Keepalives,
}

impl PingStats {
    /// (min, avg, max, mdev) in milliseconds, `None` without replies. mdev as ping(8):
    /// sqrt(mean(rtt²) - mean(rtt)²).
    pub fn summary_ms(&self) -> Option<(f64, f64, f64, f64)> {
        if self.rtts.is_empty() {
            return None;
        }
        let ms: Vec<f64> = self.rtts.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        let n = ms.len() as f64;
        let min = ms.iter().copied().fold(f64::INFINITY, f64::min);
        let max = ms.iter().copied().fold(0.0, f64::max);
        let avg = ms.iter().sum::<f64>() / n;
        let sq = ms.iter().map(|x| x * x).sum::<f64>() / n;
        Some((min, avg, max, (sq - avg * avg).max(0.0).sqrt()))
    }
    pub fn loss_percent(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            100.0 * f64::from(self.sent - self.received) / f64::from(self.sent)
        }
    }
}

struct Ctx<'a> {
    s: &'a Session,
    hub: Hub,
    id: u16,
    token: [u8; 8],
    /// Last time anything went to or came from our server.
    last_server_tx: Instant,
    keepalive_nonces: Vec<[u8; 8]>,
    keepalives: Keepalives,
}

impl Ctx<'_> {
    fn recv(&mut self, deadline: Instant) -> Option<Event> {
        loop {
            // Keep the mapping with our server alive on long runs.
            let refresh_at = self.last_server_tx + self.s.keepalive;
            let until = deadline.min(refresh_at);
            let ev = self.hub.next_until(until);
            if let Some(ev) = ev {
                if let Some(t) = &self.s.tracer {
                    t(Direction::Received, self.s.local, ev.from, &ev.data);
                }
                if ev.from == self.s.server {
                    self.last_server_tx = ev.at;
                    if self.keepalive_answer(&ev.data) {
                        continue;
                    }
                }
                return Some(ev);
            }
            if Instant::now() >= deadline {
                return None;
            }
            if Instant::now() >= refresh_at {
                // A non-cone RS, as the qualified socket sent (RFC 4380 §5.2.5).
                let nonce = random::<8>();
                let rs = build::router_solicitation(false, nonce);
                let _ = self.s.send(&rs, self.s.server);
                self.keepalive_nonces.push(nonce);
                self.keepalives.sent += 1;
                self.last_server_tx = Instant::now();
            }
        }
    }

    /// True when `data` is an RA answering one of our keepalive RSs (then consumed here).
    fn keepalive_answer(&mut self, data: &[u8]) -> bool {
        let Ok(r) = parse_datagram(data) else { return false };
        let (Some(nonce), Some(_)) = (r.nonce(), r.router_advertisement()) else { return false };
        if !self.keepalive_nonces.contains(&nonce) {
            return false;
        }
        self.keepalive_nonces.retain(|n| *n != nonce);
        self.keepalives.answered += 1;
        if let Some(o) = r.origin() {
            let seen = SocketAddrV4::new(o.address, o.port);
            if seen != self.s.mapped {
                self.keepalives.mapping_changed = Some(seen);
            }
        }
        true
    }

    fn echo(&self, dst: Ipv6Addr, seq: u16) -> Vec<u8> {
        build::echo_request(self.s.teredo_address, dst, self.id, seq, &self.token)
    }

    /// An echo reply that answers one of ours: right addresses, id and token.
    fn our_reply(&self, target: Ipv6Addr, data: &[u8]) -> Result<Option<u16>, String> {
        let r = parse_datagram(data)?;
        match r.echo_reply() {
            Some((id, seq, data)) if id == self.id && data == self.token => {
                if r.ipv6.src != target || r.ipv6.dst != self.s.teredo_address {
                    return Err(format!("echo reply from {} to {}: not ours", r.ipv6.src, r.ipv6.dst));
                }
                Ok(Some(seq))
            }
            Some(_) => Err("echo reply with another id or payload".into()),
            None => Ok(None),
        }
    }
}

fn step(sent: &str, s: &Session, to: SocketAddrV4) -> Step {
    Step { sent: sent.into(), from: s.local, to, tries: 0, answer: None, rtt: None }
}

/// Find the relay serving `target` (or, for a Teredo `target`, open the path to the peer)
/// and then send `count` echoes `interval` apart through it.
pub fn discover_and_ping(
    session: &Session,
    target: Ipv6Addr,
    count: u32,
    interval: Duration,
    tries: u32,
) -> (Discovery, PingStats) {
    let mut cx = Ctx {
        s: session,
        hub: Hub::new(&[Arc::clone(&session.transport)]),
        id: u16::from_be_bytes(random::<2>()),
        token: random::<8>(),
        last_server_tx: Instant::now(),
        keepalive_nonces: Vec::new(),
        keepalives: Keepalives::default(),
    };
    let disc = match TeredoAddress::decode(target) {
        Some(peer) => inter_site(&mut cx, target, peer, tries),
        None => via_relay(&mut cx, target, tries),
    };
    let mut stats = PingStats::default();
    if let Some(relay) = disc.relay {
        ping(&mut cx, target, relay, count, interval, &mut stats);
    }
    stats.keepalives = cx.keepalives;
    (disc, stats)
}

fn via_relay(cx: &mut Ctx, target: Ipv6Addr, tries: u32) -> Discovery {
    let s = cx.s;
    let mut d = Discovery { target, relay: None, path: None, steps: Vec::new(), ignored: Vec::new(), rtt: None };
    let mut echo_step = step("echo request via server", s, s.server);
    let mut bubble_step: Option<Step> = None;
    let start_all = Instant::now();
    let mut sent_at = Instant::now();
    'tries: while echo_step.tries < tries {
        let pkt = cx.echo(target, 0);
        match s.send(&pkt, s.server) {
            Ok(at) => sent_at = at,
            Err(_) => break,
        }
        cx.last_server_tx = sent_at;
        echo_step.tries += 1;
        let deadline = sent_at + TEST_TIMEOUT;
        while let Some(ev) = cx.recv(deadline) {
            match parse_datagram(&ev.data) {
                Ok(r) if r.is_bubble() && ev.from == s.server => {
                    let Some(o) = r.origin() else {
                        d.ignored.push(super::Ignored {
                            from: ev.from,
                            reason: "bubble from server without Origin indication".into(),
                        });
                        continue;
                    };
                    let relay = SocketAddrV4::new(o.address, o.port);
                    // Answer with a direct bubble to the relay, addresses swapped (§5.2.3).
                    let _ = s.send(&build::bubble(r.ipv6.dst, r.ipv6.src), relay);
                    echo_step.answer = Some(Answer {
                        what: format!("indirect bubble (origin {relay})"),
                        from: ev.from,
                        mapped: Some(relay),
                    });
                    echo_step.rtt = Some(ev.at - sent_at);
                    let bs = bubble_step.get_or_insert_with(|| step("direct bubble", s, relay));
                    bs.tries += 1;
                    d.path = Some(Path::IndirectBubble);
                }
                Ok(_) => match cx.our_reply(target, &ev.data) {
                    Ok(Some(_)) => {
                        let rtt = ev.at - sent_at;
                        let answer = Answer { what: "echo reply".into(), from: ev.from, mapped: None };
                        match bubble_step.as_mut() {
                            Some(b) => {
                                b.answer = Some(answer);
                                b.rtt = Some(rtt);
                            }
                            None => {
                                echo_step.answer = Some(answer);
                                echo_step.rtt = Some(rtt);
                                d.path = Some(Path::Direct);
                            }
                        }
                        d.relay = Some(ev.from);
                        d.rtt = Some(ev.at - start_all);
                        break 'tries;
                    }
                    Ok(None) => d.ignored.push(super::Ignored { from: ev.from, reason: build::summary(&ev.data) }),
                    Err(e) => d.ignored.push(super::Ignored { from: ev.from, reason: e }),
                },
                Err(e) => d.ignored.push(super::Ignored { from: ev.from, reason: format!("malformed: {e}") }),
            }
        }
    }
    let _ = sent_at;
    d.steps.push(echo_step);
    d.steps.extend(bubble_step);
    d
}

fn inter_site(cx: &mut Ctx, target: Ipv6Addr, peer: TeredoAddress, tries: u32) -> Discovery {
    let s = cx.s;
    let mut d = Discovery { target, relay: None, path: None, steps: Vec::new(), ignored: Vec::new(), rtt: None };
    let direct_to = SocketAddrV4::new(peer.mapped_address, peer.mapped_port);
    let server_to = SocketAddrV4::new(peer.server, super::TEREDO_PORT);
    let mut direct = step("direct bubble", s, direct_to);
    let mut indirect = step("indirect bubble via peer's server", s, server_to);
    let start = Instant::now();
    let bubble = build::bubble(s.teredo_address, target);
    'tries: while indirect.tries < tries {
        // RFC 4380 §5.2.4 case 5: a direct bubble (opens our NAT) unless we are cone, then
        // always an indirect one.
        let t0 = s.send(&bubble, direct_to).unwrap_or_else(|_| Instant::now());
        direct.tries += 1;
        let _ = s.send(&bubble, server_to);
        indirect.tries += 1;
        while let Some(ev) = cx.recv(t0 + TEST_TIMEOUT) {
            match parse_datagram(&ev.data) {
                Ok(r) if r.is_bubble() && r.ipv6.src == target => {
                    // The peer answers from its own mapping whichever of our bubbles reached
                    // it, so the source cannot tell them apart; the indirect bubble is the
                    // one the procedure relies on (§5.2.6), so the answer is booked there.
                    let what = if ev.from == direct_to {
                        "bubble from the peer's mapping".to_string()
                    } else {
                        format!("bubble from the peer at {} (not its embedded mapping {direct_to})", ev.from)
                    };
                    indirect.answer = Some(Answer { what, from: ev.from, mapped: Some(ev.from) });
                    indirect.rtt = Some(ev.at - t0);
                    d.relay = Some(ev.from);
                    d.path = Some(Path::InterSite);
                    d.rtt = Some(ev.at - start);
                    break 'tries;
                }
                Ok(_) => d.ignored.push(super::Ignored { from: ev.from, reason: build::summary(&ev.data) }),
                Err(e) => d.ignored.push(super::Ignored { from: ev.from, reason: format!("malformed: {e}") }),
            }
        }
    }
    d.steps.push(direct);
    d.steps.push(indirect);
    d
}

fn ping(cx: &mut Ctx, target: Ipv6Addr, relay: SocketAddrV4, count: u32, interval: Duration, stats: &mut PingStats) {
    let mut sent_at: Vec<Option<Instant>> = vec![None; count as usize];
    let mut got = vec![false; count as usize];
    let mut next_send = Instant::now();
    let mut seq = 0u32;
    let mut last_tx = Instant::now();
    loop {
        if seq < count && Instant::now() >= next_send {
            let pkt = cx.echo(target, (seq + 1) as u16);
            if let Ok(at) = cx.s.send(&pkt, relay) {
                last_tx = at;
                sent_at[seq as usize] = Some(at);
                stats.sent += 1;
            }
            seq += 1;
            next_send += interval;
        }
        let deadline = if seq < count { next_send } else { last_tx + TEST_TIMEOUT };
        if seq >= count && (stats.received == stats.sent || Instant::now() >= deadline) {
            break;
        }
        let Some(ev) = cx.recv(deadline) else { continue };
        if let Ok(Some(n)) = cx.our_reply(target, &ev.data) {
            let i = usize::from(n).wrapping_sub(1);
            if let (Some(Some(t)), Some(false)) = (sent_at.get(i).copied(), got.get(i).copied()) {
                got[i] = true;
                stats.received += 1;
                stats.rtts.push(ev.at - t);
            }
        }
    }
}
