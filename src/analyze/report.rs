//! The analysis report: view structs (serialised to one JSON document) and human tables.
//!
//! JSON keys (issue 5; extra keys are allowed and marked "extra" below):
//! `clients` [{`address`, `server`, `cone`, `mapped_address`, `mapped_port`, `nat_type`,
//! `first_seen`, `last_seen`, `packets`, `peers`, `relays`; extra: `bytes`, `flags`,
//! `address_observed`, `mapping_changes`, ...}], `servers` [{`address`, `clients`, `rs`, `ra`,
//! `unanswered_rs`, `rtt_ms` {`min`, `median`, `max`}; extra `secondary`}], `relays`
//! [{`address`, `port`, `clients`, `ipv6_hosts`; extra `host_specific`}], `processes`
//! [{`kind`, `outcome`, `frames`, `duration_ms`, and for `qualification` `nat_type`,
//! `mapped_address`, `mapped_port`, `server`}], `rs_ra` (extra: RS/RA pairs by nonce with
//! `rtt_ms` and `flags`), `anomalies` [{`kind`, `frames`, `detail`}], `summary` (extra).
//! Frame numbers are plain numbers when one capture file was analysed, `"FILE:FRAME"` strings
//! (file index from 0) otherwise.

use super::{Analyzer, FrameList, FrameRef, NatType, Outcome, Proc, ProcessKind, Sock};
use crate::addr::{classify, AddressKind, TeredoAddress};
use serde::Serialize;
use std::io::{self, Write};
use std::net::Ipv6Addr;

/// A frame number in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FrameNo {
    /// One capture file: the 1-based frame number.
    N(u64),
    /// Several files: `"FILE:FRAME"`.
    S(String),
}

impl FrameNo {
    /// The frame number (whatever the file).
    pub fn number(&self) -> u64 {
        match self {
            FrameNo::N(n) => *n,
            FrameNo::S(s) => s.rsplit(':').next().and_then(|x| x.parse().ok()).unwrap_or(0),
        }
    }
}

impl std::fmt::Display for FrameNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameNo::N(n) => write!(f, "{n}"),
            FrameNo::S(s) => f.write_str(s),
        }
    }
}

/// Packets or bytes each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Directions {
    /// From the client.
    pub sent: u64,
    /// To the client.
    pub received: u64,
}

/// RFC 5991 §3.1 view of the flag bits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlagsView {
    /// The 16 bits, hex.
    pub value: String,
    /// The 12 random bits (mask 0x3cff).
    pub random_bits: String,
    /// R bit (must be zero).
    pub reserved: bool,
    /// U bit.
    pub u: bool,
    /// G bit.
    pub g: bool,
}

/// A mapping change: a later RA with another Origin indication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingChangeView {
    /// The RA's frame.
    pub frame: FrameNo,
    /// Old mapped address:port.
    pub from: String,
    /// New mapped address:port.
    pub to: String,
}

/// One client.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientView {
    /// Teredo address (as seen; or built from the RA when never seen, see `address_observed`).
    pub address: String,
    /// Teredo server.
    pub server: String,
    /// Cone flag of the address (or of the RS that qualified it).
    pub cone: bool,
    /// Mapped (external) address.
    pub mapped_address: String,
    /// Mapped (external) port.
    pub mapped_port: u16,
    /// NAT type as far as the capture shows.
    pub nat_type: &'static str,
    /// First packet (RFC 3339, UTC).
    pub first_seen: String,
    /// Last packet (RFC 3339, UTC).
    pub last_seen: String,
    /// Packets each way.
    pub packets: Directions,
    /// Peers (IPv6 addresses), capped at 64.
    pub peers: Vec<String>,
    /// Relays used (IPv4:port).
    pub relays: Vec<String>,
    /// Extra: bytes of Teredo UDP payload each way.
    pub bytes: Directions,
    /// Extra: the address was seen in a packet (false: built from the RA's prefix and Origin).
    pub address_observed: bool,
    /// Extra: flag bits (RFC 5991).
    pub flags: Option<FlagsView>,
    /// Extra: outer transport addresses the client was seen at.
    pub sockets: Vec<String>,
    /// Extra: mapping changes.
    pub mapping_changes: Vec<MappingChangeView>,
    /// Extra: first and last frame.
    pub first_frame: FrameNo,
    /// Extra.
    pub last_frame: FrameNo,
    /// Extra: how many distinct peers.
    pub peers_total: u32,
}

/// RS→RA round-trip times.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RttView {
    /// Minimum, ms.
    pub min: Option<f64>,
    /// Median, ms (of up to 4096 samples).
    pub median: Option<f64>,
    /// Maximum, ms.
    pub max: Option<f64>,
}

/// One server (its secondary address folded in).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerView {
    /// Primary IPv4 address.
    pub address: String,
    /// Clients served (by mapping).
    pub clients: usize,
    /// Router Solicitations received (both addresses).
    pub rs: u64,
    /// Router Advertisements sent (both addresses).
    pub ra: u64,
    /// RS with no RA in the capture.
    pub unanswered_rs: u64,
    /// RS→RA latency.
    pub rtt_ms: RttView,
    /// Extra: secondary address (the one answering cone RSs).
    pub secondary: Option<String>,
}

/// One relay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelayView {
    /// IPv4 address.
    pub address: String,
    /// UDP port.
    pub port: u16,
    /// Clients served (Teredo addresses).
    pub clients: Vec<String>,
    /// IPv6 hosts reached through it.
    pub ipv6_hosts: Vec<String>,
    /// Extra: a host-specific relay (its IPv6 host embeds this IPv4, 6to4 or ISATAP).
    pub host_specific: bool,
    /// Extra: Teredo packets through it.
    pub packets: u64,
}

/// One step of a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepView {
    /// Step name.
    pub step: &'static str,
    /// Frame.
    pub frame: FrameNo,
}

/// Maintenance interval statistics, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IntervalView {
    /// Minimum.
    pub min: f64,
    /// Median.
    pub median: f64,
    /// Maximum.
    pub max: f64,
}

/// One process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessView {
    /// Kind.
    pub kind: &'static str,
    /// `completed`, `failed` or `incomplete`.
    pub outcome: &'static str,
    /// Frames (capped).
    pub frames: Vec<FrameNo>,
    /// First to last step, ms.
    pub duration_ms: f64,
    /// Qualification: the verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat_type: Option<&'static str>,
    /// Qualification: mapped address given (null when none).
    #[serde(skip_serializing_if = "is_not_qualification_str")]
    pub mapped_address: QualField<String>,
    /// Qualification: mapped port given.
    #[serde(skip_serializing_if = "is_not_qualification_u16")]
    pub mapped_port: QualField<u16>,
    /// Qualification: the server (primary).
    #[serde(skip_serializing_if = "is_not_qualification_str")]
    pub server: QualField<String>,
    /// Extra: frames were left out.
    pub frames_truncated: bool,
    /// Extra: the steps recognised.
    pub steps: Vec<StepView>,
    /// Extra: the step at which it failed.
    pub failed_step: Option<&'static str>,
    /// Extra: the client (Teredo address or mapping).
    pub client: Option<String>,
    /// Extra: the peer (client, IPv6 host).
    pub peer: Option<String>,
    /// Extra: relay IPv4:port.
    pub relay: Option<String>,
    /// Extra: relay path `cone` (reply straight from the relay) or `restricted` (indirect bubble first).
    pub path: Option<&'static str>,
    /// Extra: maintenance interval.
    pub interval_s: Option<IntervalView>,
    /// Extra: sentences explaining the verdict or failure.
    pub evidence: Vec<String>,
}

/// A field present (possibly null) only for qualification processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QualField<T> {
    /// Not a qualification process: the key is left out.
    Absent,
    /// Qualification: the value or null.
    Value(Option<T>),
}

impl<T: Serialize> Serialize for QualField<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            QualField::Absent => s.serialize_none(),
            QualField::Value(v) => v.serialize(s),
        }
    }
}

impl<T> QualField<T> {
    /// The value, if any.
    pub fn get(&self) -> Option<&T> {
        match self {
            QualField::Value(Some(v)) => Some(v),
            _ => None,
        }
    }
}

fn is_not_qualification_str(f: &QualField<String>) -> bool {
    matches!(f, QualField::Absent)
}
fn is_not_qualification_u16(f: &QualField<u16>) -> bool {
    matches!(f, QualField::Absent)
}

/// One RS/RA pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairView {
    /// Authentication nonce, hex.
    pub nonce: Option<String>,
    /// RS frame.
    pub rs_frame: Option<FrameNo>,
    /// RA frame.
    pub ra_frame: Option<FrameNo>,
    /// RS→RA, ms.
    pub rtt_ms: Option<f64>,
    /// Client transport address (RS source).
    pub client: Option<String>,
    /// Server the RS went to.
    pub server: Option<String>,
    /// Address the RA came from.
    pub ra_from: Option<String>,
    /// Cone bit of the RS.
    pub cone: Option<bool>,
    /// Origin indication of the RA.
    pub origin: Option<String>,
    /// `unanswered`, `unmatched-nonce`, `non-zero-confirmation`, `rs-without-authentication`,
    /// `ra-without-authentication`, `reused-nonce`, `duplicate-ra`, `cone-bit-ignored`,
    /// `ra-dropped-by-nat`.
    pub flags: Vec<&'static str>,
}

/// One anomaly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnomalyView {
    /// Kind.
    pub kind: &'static str,
    /// Frames (capped).
    pub frames: Vec<FrameNo>,
    /// A sentence.
    pub detail: String,
    /// Extra: occurrences.
    pub count: u64,
}

/// Totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryView {
    /// Frames observed.
    pub frames: u64,
    /// Frames with Teredo (outer or quoted).
    pub teredo_frames: u64,
    /// Copies merged.
    pub duplicates: u64,
    /// Teredo packets analysed.
    pub packets: u64,
    /// ICMPv4 errors quoting Teredo.
    pub icmp_quoting_teredo: u64,
    /// First packet.
    pub first_seen: Option<String>,
    /// Last packet.
    pub last_seen: Option<String>,
    /// Clients not tracked (cap reached).
    pub clients_not_tracked: u64,
    /// Processes not kept (cap reached).
    pub processes_not_kept: u64,
    /// RS/RA pairs not kept (cap reached).
    pub pairs_not_kept: u64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisReport {
    /// Clients.
    pub clients: Vec<ClientView>,
    /// Servers.
    pub servers: Vec<ServerView>,
    /// Relays.
    pub relays: Vec<RelayView>,
    /// Processes.
    pub processes: Vec<ProcessView>,
    /// RS/RA pairs.
    pub rs_ra: Vec<PairView>,
    /// Anomalies.
    pub anomalies: Vec<AnomalyView>,
    /// Totals.
    pub summary: SummaryView,
}

/// RFC 3339 UTC text of a nanosecond timestamp (microsecond precision).
pub fn rfc3339(ns: i64) -> String {
    crate::output::time::rfc3339(ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000) as u32, 6)
}

fn ms(ns: i64) -> f64 {
    (ns as f64 / 1e4).round() / 100.0
}

fn median_i64(v: &mut [i64]) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2 })
}

impl Analyzer {
    fn fno(&self, f: FrameRef) -> FrameNo {
        if self.files.len() <= 1 && f.file == 0 {
            FrameNo::N(f.frame)
        } else {
            FrameNo::S(format!("{}:{}", f.file, f.frame))
        }
    }

    fn flist(&self, l: &FrameList) -> Vec<FrameNo> {
        let mut v: Vec<FrameRef> = l.frames.clone();
        v.sort_unstable();
        v.dedup();
        v.into_iter().map(|f| self.fno(f)).collect()
    }

    fn client_label(&self, c: u32) -> String {
        let cl = &self.clients[c as usize];
        match cl.address {
            Some(a) => a.to_string(),
            None => self.inferred_address(c).to_string(),
        }
    }

    fn inferred_address(&self, c: u32) -> Ipv6Addr {
        let cl = &self.clients[c as usize];
        TeredoAddress {
            prefix: crate::addr::TeredoPrefix::Rfc4380,
            server: cl.mapping.server,
            flags: crate::addr::Flags(if cl.cone_rs == Some(true) { 0x8000 } else { 0 }),
            mapped_port: cl.mapping.mapped.port,
            mapped_address: cl.mapping.mapped.ip,
        }
        .encode()
    }

    /// The qualification verdict, outcome, failed step and evidence.
    fn qual_verdict(&self, p: &Proc, end: i64) -> (NatType, Outcome, Option<&'static str>, Option<Sock>, Vec<String>) {
        let q = p.q.as_ref().expect("qualification");
        let mut ev = Vec::new();
        let idle = end - p.last;
        let refused = q.cone_ra_dropped.is_some() || q.cone_ra_ignored.is_some();
        if let (Some((f, from, o)), false) = (q.cone_ra, refused) {
            if q.primary.is_none() {
                ev.push(format!(
                    "the RA to the cone RS came from {from} (frame {}), another address than the one asked, and the client asked no more: endpoint-independent filtering (RFC 4380 §5.2.1)",
                    self.fno(f)
                ));
                return (NatType::Cone, Outcome::Completed, None, Some(o), ev);
            }
        }
        if let Some(f) = q.cone_ra_dropped {
            ev.push(format!(
                "the RA to the cone RS was refused by the NAT (ICMP error, frame {}): not a cone NAT",
                self.fno(f)
            ));
        }
        if let Some((rs, ra)) = q.cone_ra_ignored {
            ev.push(format!(
                "the client repeated the cone RS from the same socket (frame {}) after the RA to it had passed this vantage point (frame {}): the NAT dropped that RA from another address, so it is not a cone NAT",
                self.fno(rs),
                self.fno(ra)
            ));
        }
        if let Some(f) = q.fallback_frame {
            ev.push(format!(
                "the client fell back from the cone RS to a non-cone RS (frame {}): the cone RA never reached it",
                self.fno(f)
            ));
        }
        match (q.m1, q.m2) {
            (Some(m1), Some(m2)) => {
                if m1 != m2 {
                    ev.push(format!(
                        "mapping towards the primary {m1} differs from the one towards the secondary {m2}: symmetric NAT (RFC 4380 §5.2.1)"
                    ));
                    if m1.ip == m2.ip && q.cone_ra_dropped.is_some() {
                        ev.push("caution: the refused cone RA from the secondary address can leave NAT state (Linux conntrack [UNREPLIED]) that changes the port towards it; a restricted NAT may look symmetric when the cone test and the comparison share one socket".to_string());
                    }
                    (NatType::Symmetric, Outcome::Completed, None, Some(m1), ev)
                } else if let (Some((f, from, _)), false, true) = (q.cone_ra, refused, q.parallel_cone()) {
                    ev.push(format!(
                        "the RA to the cone RS, sent from a socket of its own, came from {from} (frame {}), another address than the one asked, and the client did not ask again: endpoint-independent filtering; the same mapping {m1} towards both server addresses (RFC 4380 §5.2.1)",
                        self.fno(f)
                    ));
                    (NatType::Cone, Outcome::Completed, None, Some(m1), ev)
                } else {
                    ev.push(format!(
                        "the same mapping {m1} towards both server addresses: restricted NAT (RFC 4380 §5.2.1)"
                    ));
                    (NatType::Restricted, Outcome::Completed, None, Some(m1), ev)
                }
            }
            (Some(m1), None) => {
                if q.secondary_rs > 0 {
                    if q.secondary_rs >= 3 || idle > 8_000_000_000 {
                        ev.push(
                            "no RA came back from the secondary address: the mapping comparison could not be made"
                                .to_string(),
                        );
                        (NatType::Unknown, Outcome::Failed, Some("ra-from-secondary"), Some(m1), ev)
                    } else {
                        (NatType::Unknown, Outcome::Incomplete, None, Some(m1), ev)
                    }
                } else {
                    ev.push(format!(
                        "qualified with mapping {m1} from a non-cone RS to the primary only: no secondary-address test, so restricted and symmetric NATs look alike (RFC 5991 §3.2 clients)"
                    ));
                    (NatType::Unknown, Outcome::Completed, None, Some(m1), ev)
                }
            }
            (None, _) => {
                let (step, n) =
                    if q.primary.is_some() { ("ra-from-primary", q.primary_rs) } else { ("ra-to-cone-rs", q.cone_rs) };
                if n >= 3 || idle > 8_000_000_000 {
                    ev.push(format!(
                        "{n} RS without a usable RA: the client cannot qualify (off-line, RFC 4380 §5.2.1)"
                    ));
                    (NatType::Unknown, Outcome::Failed, Some(step), None, ev)
                } else {
                    (NatType::Unknown, Outcome::Incomplete, None, None, ev)
                }
            }
        }
    }

    fn proc_view(&self, p: &Proc, end: i64) -> ProcessView {
        let kind0 = p.kind.unwrap_or(ProcessKind::InterSite);
        let mut v = ProcessView {
            kind: kind0.as_str(),
            outcome: Outcome::Incomplete.as_str(),
            frames: self.flist(&p.frames),
            duration_ms: ms(p.done.unwrap_or(p.last) - p.start),
            nat_type: None,
            mapped_address: QualField::Absent,
            mapped_port: QualField::Absent,
            server: QualField::Absent,
            frames_truncated: p.frames.truncated(),
            steps: {
                let mut st = p.steps.clone();
                st.sort_by_key(|s| (s.ts, s.frame));
                st.iter().map(|s| StepView { step: s.name, frame: self.fno(s.frame) }).collect()
            },
            failed_step: None,
            client: p.client.map(|c| self.client_label(c)),
            peer: p.peer_client.map(|c| self.client_label(c)).or(p.host.map(|h| h.to_string())),
            relay: p.relay.map(|r| r.to_string()),
            path: None,
            interval_s: None,
            evidence: Vec::new(),
        };
        let idle = end - p.last;
        let outcome = match kind0 {
            ProcessKind::Qualification => {
                let (nat, out, failed, mapped, ev) = self.qual_verdict(p, end);
                let q = p.q.as_ref().expect("qualification");
                v.nat_type = Some(nat.as_str());
                v.mapped_address = QualField::Value(mapped.map(|m| m.ip.to_string()));
                v.mapped_port = QualField::Value(mapped.map(|m| m.port));
                v.server = QualField::Value(q.server.or(q.primary).map(|s| s.to_string()));
                v.failed_step = failed;
                v.evidence = ev;
                out
            }
            ProcessKind::Maintenance => {
                let mut iv = p.intervals.clone();
                if let Some(med) = median_i64(&mut iv) {
                    v.interval_s = Some(IntervalView {
                        min: ms(iv[0]) / 1000.0,
                        median: ms(med) / 1000.0,
                        max: ms(iv[iv.len() - 1]) / 1000.0,
                    });
                }
                if p.n[3] >= 3 {
                    v.failed_step = Some("router-advertisement");
                    v.evidence.push(format!(
                        "{} RS in a row went unanswered: the client loses its qualification (RFC 4380 §5.2.5)",
                        p.n[3]
                    ));
                    Outcome::Failed
                } else {
                    Outcome::Completed
                }
            }
            ProcessKind::OnLink => {
                if p.responder.is_some() {
                    Outcome::Completed
                } else {
                    v.evidence.push(format!(
                        "{} local discovery bubble(s) to 224.0.0.253 and no unicast reply in the capture",
                        p.n[0]
                    ));
                    Outcome::Incomplete
                }
            }
            ProcessKind::InterSite => {
                if p.done.is_some() {
                    Outcome::Completed
                } else if p.has("reply-bubble") {
                    if p.has("reply-bubble-dropped") && !p.has("first-data") {
                        v.failed_step = Some("reply-bubble");
                        v.evidence.push("the peer's reply bubble was refused by the initiator's NAT (ICMP error): the initiator's NAT has no mapping towards the peer's port".to_string());
                        Outcome::Failed
                    } else {
                        v.evidence.push("bubbles exchanged; no data seen afterwards".to_string());
                        Outcome::Incomplete
                    }
                } else if p.n[0] >= 4 || idle > 10_000_000_000 {
                    v.failed_step = Some("reply-bubble");
                    v.evidence.push(format!("{} bubble(s) sent and no reply bubble from the peer", p.n[0]));
                    Outcome::Failed
                } else {
                    Outcome::Incomplete
                }
            }
            ProcessKind::RelayDiscovery | ProcessKind::Ipv6Initiated | ProcessKind::HostSpecificRelay => {
                let hs = p.relay.is_some_and(|r| {
                    let by_host = p.host.is_some_and(|h| match classify(h) {
                        AddressKind::SixToFour(v4) | AddressKind::Isatap(v4) => v4 == r.ip,
                        _ => false,
                    });
                    by_host || self.relays.get(&r).is_some_and(|x| x.host_specific && !x.not_host_specific)
                });
                if hs {
                    v.kind = ProcessKind::HostSpecificRelay.as_str();
                    v.evidence.push(format!(
                        "the IPv6 host embeds the relay's IPv4 address: a host-specific relay ({})",
                        if kind0 == ProcessKind::Ipv6Initiated { "relay to client" } else { "client to relay" }
                    ));
                }
                if p.done.is_some() {
                    if kind0 == ProcessKind::RelayDiscovery {
                        v.path = Some(if p.via_indirect { "restricted" } else { "cone" });
                    } else {
                        v.path = Some(if p.via_indirect { "indirect-bubble" } else { "direct" });
                    }
                    Outcome::Completed
                } else if kind0 == ProcessKind::RelayDiscovery {
                    if p.n[0] >= 4 || (p.n[0] > 0 && idle > 10_000_000_000) {
                        v.failed_step = Some("echo-reply-from-relay");
                        v.evidence.push(format!(
                            "{} echo request(s) through the server and no echo reply through a relay (RFC 4380 §5.2.9)",
                            p.n[0]
                        ));
                        Outcome::Failed
                    } else {
                        Outcome::Incomplete
                    }
                } else if idle > 10_000_000_000 {
                    v.failed_step = Some("data-from-relay");
                    Outcome::Failed
                } else {
                    Outcome::Incomplete
                }
            }
        };
        v.outcome = outcome.as_str();
        v
    }

    /// Build the report from the state so far (cheap enough to call on a signal).
    pub fn report(&self) -> AnalysisReport {
        let end = self.stats.last_ns.unwrap_or(0);
        // processes
        let processes: Vec<ProcessView> = self.procs.iter().map(|p| self.proc_view(p, end)).collect();
        // client NAT type: the last qualification verdict for the client
        let mut nat: Vec<NatType> = vec![NatType::Unknown; self.clients.len()];
        for (p, v) in self.procs.iter().zip(&processes) {
            if p.kind == Some(ProcessKind::Qualification) {
                if let (Some(c), Some(n)) = (p.client, v.nat_type) {
                    let t = match n {
                        "cone" => NatType::Cone,
                        "restricted" => NatType::Restricted,
                        "symmetric" => NatType::Symmetric,
                        _ => NatType::Unknown,
                    };
                    if t != NatType::Unknown || nat[c as usize] == NatType::Unknown {
                        nat[c as usize] = t;
                    }
                }
            }
        }
        let clients = self
            .clients
            .iter()
            .enumerate()
            .filter(|(_, cl)| !cl.retracted)
            .map(|(i, cl)| {
                let tao = cl.address.and_then(TeredoAddress::decode);
                let cone = tao.map_or(cl.cone_rs == Some(true), |t| t.flags.cone());
                let mut nt = nat[i];
                if nt == NatType::Unknown && tao.is_some_and(|t| t.flags.cone()) {
                    nt = NatType::Cone;
                }
                ClientView {
                    address: self.client_label(i as u32),
                    server: cl.mapping.server.to_string(),
                    cone,
                    mapped_address: cl.mapping.mapped.ip.to_string(),
                    mapped_port: cl.mapping.mapped.port,
                    nat_type: nt.as_str(),
                    first_seen: rfc3339(cl.first),
                    last_seen: rfc3339(cl.last),
                    packets: Directions { sent: cl.pkts_out, received: cl.pkts_in },
                    peers: cl.peers.iter().map(|p| p.to_string()).collect(),
                    relays: cl.relays.iter().map(|r| r.to_string()).collect(),
                    bytes: Directions { sent: cl.bytes_out, received: cl.bytes_in },
                    address_observed: cl.address.is_some(),
                    flags: tao.map(|t| FlagsView {
                        value: format!("0x{:04x}", t.flags.0),
                        random_bits: format!("0x{:04x}", t.flags.random_bits()),
                        reserved: t.flags.reserved(),
                        u: t.flags.u(),
                        g: t.flags.g(),
                    }),
                    sockets: cl.sockets.iter().map(|s| s.to_string()).collect(),
                    mapping_changes: cl
                        .mapping_changes
                        .iter()
                        .map(|(f, a, b)| MappingChangeView {
                            frame: self.fno(*f),
                            from: a.mapped.to_string(),
                            to: b.mapped.to_string(),
                        })
                        .collect(),
                    first_frame: self.fno(cl.first_frame),
                    last_frame: self.fno(cl.last_frame),
                    peers_total: cl.peers_total,
                }
            })
            .collect();
        // servers: fold secondaries into their primary
        let mut pending_unanswered: std::collections::HashMap<std::net::Ipv4Addr, u64> = Default::default();
        for r in self.rs_by_nonce.values().chain(self.rs_noauth.values()) {
            if !r.answered {
                *pending_unanswered.entry(r.dst).or_default() += 1;
            }
        }
        let mut addrs: Vec<_> = self.servers.keys().copied().collect();
        addrs.sort();
        let mut servers = Vec::new();
        for a in addrs {
            let s = &self.servers[&a];
            if s.primary.is_some_and(|p| self.servers.contains_key(&p)) {
                continue;
            }
            let mut rs = s.rs;
            let mut ra = s.ra;
            let mut un = s.unanswered + pending_unanswered.get(&a).copied().unwrap_or(0);
            let mut rtts = s.rtt_us.clone();
            let mut mn = s.rtt_min;
            let mut mx = s.rtt_max;
            let mut clients = s.clients.clone();
            if let Some(sec) = s.secondary.and_then(|x| self.servers.get(&x).map(|y| (x, y))) {
                let (sa, ss) = sec;
                if sa != a {
                    rs += ss.rs;
                    ra += ss.ra;
                    un += ss.unanswered + pending_unanswered.get(&sa).copied().unwrap_or(0);
                    rtts.extend_from_slice(&ss.rtt_us);
                    mn = match (mn, ss.rtt_min) {
                        (Some(x), Some(y)) => Some(x.min(y)),
                        (x, y) => x.or(y),
                    };
                    mx = match (mx, ss.rtt_max) {
                        (Some(x), Some(y)) => Some(x.max(y)),
                        (x, y) => x.or(y),
                    };
                    clients.extend(ss.clients.iter().copied());
                }
            }
            if rs == 0 && ra == 0 && clients.is_empty() {
                continue;
            }
            rtts.sort_unstable();
            let med = if rtts.is_empty() {
                None
            } else {
                let n = rtts.len();
                Some(if n % 2 == 1 {
                    f64::from(rtts[n / 2])
                } else {
                    (f64::from(rtts[n / 2 - 1]) + f64::from(rtts[n / 2])) / 2.0
                })
            };
            let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
            servers.push(ServerView {
                address: a.to_string(),
                clients: clients.len(),
                rs,
                ra,
                unanswered_rs: un,
                rtt_ms: RttView {
                    min: mn.map(|x| r3(f64::from(x) / 1000.0)),
                    median: med.map(|x| r3(x / 1000.0)),
                    max: mx.map(|x| r3(f64::from(x) / 1000.0)),
                },
                secondary: s.secondary.map(|x| x.to_string()),
            });
        }
        let mut rl: Vec<_> = self.relays.iter().collect();
        rl.sort_by_key(|(k, _)| **k);
        let relays = rl
            .into_iter()
            .map(|(s, r)| RelayView {
                address: s.ip.to_string(),
                port: s.port,
                clients: r.clients.iter().map(|&c| self.client_label(c)).collect(),
                ipv6_hosts: r.hosts.iter().map(|h| h.to_string()).collect(),
                host_specific: r.host_specific && !r.not_host_specific,
                packets: r.packets,
            })
            .collect();
        let mut rs_ra: Vec<PairView> = self
            .pairs
            .iter()
            .map(|p| PairView {
                nonce: p.nonce.map(|n| crate::wire::teredo::Hex(&n).to_string()),
                rs_frame: p.rs.map(|f| self.fno(f)),
                ra_frame: p.ra.map(|f| self.fno(f)),
                rtt_ms: p.rtt_ns.map(|x| (x as f64 / 1e3).round() / 1e3),
                client: p.client.map(|s| s.to_string()),
                server: p.server.map(|s| s.to_string()),
                ra_from: p.ra_from.map(|s| s.to_string()),
                cone: p.cone,
                origin: p.origin.map(|s| s.to_string()),
                flags: p.flags.clone(),
            })
            .collect();
        let mut pend: Vec<_> = self
            .rs_by_nonce
            .iter()
            .map(|(n, r)| (Some(*n), r))
            .chain(self.rs_noauth.values().map(|r| (None, r)))
            .filter(|(_, r)| !r.answered)
            .collect();
        pend.sort_by_key(|(_, r)| r.frame);
        for (n, r) in pend {
            if rs_ra.len() >= self.opts.max_pairs {
                break;
            }
            rs_ra.push(PairView {
                nonce: n.map(|n| crate::wire::teredo::Hex(&n).to_string()),
                rs_frame: Some(self.fno(r.frame)),
                ra_frame: None,
                rtt_ms: None,
                client: Some(r.src.to_string()),
                server: Some(r.dst.to_string()),
                ra_from: None,
                cone: Some(r.cone),
                origin: None,
                flags: if r.auth { vec!["unanswered"] } else { vec!["unanswered", "rs-without-authentication"] },
            });
        }
        rs_ra.sort_by_key(|p| p.rs_frame.as_ref().or(p.ra_frame.as_ref()).map(|f| f.number()).unwrap_or(0));
        let anomalies = self
            .anomalies
            .iter()
            .map(|a| AnomalyView {
                kind: a.kind,
                frames: self.flist(&a.frames),
                detail: a.detail.clone(),
                count: a.frames.total,
            })
            .collect();
        AnalysisReport {
            clients,
            servers,
            relays,
            processes,
            rs_ra,
            anomalies,
            summary: SummaryView {
                frames: self.stats.frames,
                teredo_frames: self.stats.teredo_frames,
                duplicates: self.stats.duplicates,
                packets: self.stats.packets,
                icmp_quoting_teredo: self.stats.icmp_quoting,
                first_seen: self.stats.first_ns.map(rfc3339),
                last_seen: self.stats.last_ns.map(rfc3339),
                clients_not_tracked: self.clients_dropped,
                processes_not_kept: self.procs_dropped,
                pairs_not_kept: self.pairs_dropped,
            },
        }
    }
}

fn join<T: std::fmt::Display>(v: &[T], max: usize) -> String {
    let mut s: Vec<String> = v.iter().take(max).map(|x| x.to_string()).collect();
    if v.len() > max {
        s.push(format!("… ({} more)", v.len() - max));
    }
    s.join(" ")
}

impl AnalysisReport {
    /// The report as one JSON document.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Processes of one kind (the kind name as in JSON).
    pub fn processes_of(&self, kind: &str) -> impl Iterator<Item = &ProcessView> + '_ {
        let k = kind.to_string();
        self.processes.iter().filter(move |p| p.kind == k)
    }

    /// Anomalies of one kind.
    pub fn anomalies_of(&self, kind: &str) -> impl Iterator<Item = &AnomalyView> + '_ {
        let k = kind.to_string();
        self.anomalies.iter().filter(move |a| a.kind == k)
    }

    /// The client with this Teredo address or mapped address:port.
    pub fn client(&self, key: &str) -> Option<&ClientView> {
        self.clients.iter().find(|c| c.address == key || format!("{}:{}", c.mapped_address, c.mapped_port) == key)
    }

    /// Human tables: clients, servers, relays, processes, RS/RA pairs, anomalies.
    pub fn write_tables(&self, w: &mut dyn Write, color: bool) -> io::Result<()> {
        use crate::output::new_table;
        let s = &self.summary;
        writeln!(
            w,
            "Teredo analysis: {} packets ({} copies merged), {} clients, {} servers, {} relays, {} processes, {} anomalies",
            s.packets,
            s.duplicates,
            self.clients.len(),
            self.servers.len(),
            self.relays.len(),
            self.processes.len(),
            self.anomalies.len()
        )?;
        if !self.clients.is_empty() {
            let mut t = new_table(color);
            t.set_header(vec![
                "client",
                "server",
                "cone",
                "mapped",
                "NAT",
                "first seen",
                "last seen",
                "pkts out/in",
                "peers",
                "relays",
            ]);
            for c in &self.clients {
                t.add_row(vec![
                    format!("{}{}", c.address, if c.address_observed { "" } else { " (from RA)" }),
                    c.server.clone(),
                    if c.cone { "yes" } else { "no" }.to_string(),
                    format!("{}:{}", c.mapped_address, c.mapped_port),
                    c.nat_type.to_string(),
                    c.first_seen.clone(),
                    c.last_seen.clone(),
                    format!("{}/{}", c.packets.sent, c.packets.received),
                    c.peers_total.to_string(),
                    join(&c.relays, 3),
                ]);
            }
            writeln!(w, "\nClients\n{t}")?;
        }
        if !self.servers.is_empty() {
            let mut t = new_table(color);
            t.set_header(vec!["server", "secondary", "clients", "RS", "RA", "unanswered RS", "RTT ms min/median/max"]);
            for v in &self.servers {
                let f = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.3}"));
                t.add_row(vec![
                    v.address.clone(),
                    v.secondary.clone().unwrap_or_default(),
                    v.clients.to_string(),
                    v.rs.to_string(),
                    v.ra.to_string(),
                    v.unanswered_rs.to_string(),
                    format!("{}/{}/{}", f(v.rtt_ms.min), f(v.rtt_ms.median), f(v.rtt_ms.max)),
                ]);
            }
            writeln!(w, "\nServers\n{t}")?;
        }
        if !self.relays.is_empty() {
            let mut t = new_table(color);
            t.set_header(vec!["relay", "host-specific", "packets", "clients", "IPv6 hosts"]);
            for r in &self.relays {
                t.add_row(vec![
                    format!("{}:{}", r.address, r.port),
                    if r.host_specific { "yes" } else { "no" }.to_string(),
                    r.packets.to_string(),
                    join(&r.clients, 3),
                    join(&r.ipv6_hosts, 3),
                ]);
            }
            writeln!(w, "\nRelays\n{t}")?;
        }
        if !self.processes.is_empty() {
            let mut t = new_table(color);
            t.set_header(vec!["process", "outcome", "ms", "client", "peer/relay", "verdict", "steps (frame)"]);
            for p in &self.processes {
                let verdict = match p.kind {
                    "qualification" => format!(
                        "{} {}",
                        p.nat_type.unwrap_or("?"),
                        match (p.mapped_address.get(), p.mapped_port.get()) {
                            (Some(a), Some(port)) => format!("{a}:{port}"),
                            _ => String::new(),
                        }
                    ),
                    "maintenance" => p.interval_s.map_or(String::new(), |i| {
                        format!("every {:.1} s (min {:.1}, max {:.1})", i.median, i.min, i.max)
                    }),
                    _ => p.path.map(|x| format!("path {x}")).unwrap_or_default(),
                };
                let mut outcome = p.outcome.to_string();
                if let Some(f) = p.failed_step {
                    outcome.push_str(&format!(" at {f}"));
                }
                let steps: Vec<String> = p.steps.iter().take(8).map(|s| format!("{} ({})", s.step, s.frame)).collect();
                let mut steps = steps.join(", ");
                if p.steps.len() > 8 {
                    steps.push_str(&format!(", … {} more", p.steps.len() - 8));
                }
                t.add_row(vec![
                    p.kind.to_string(),
                    outcome,
                    format!("{:.1}", p.duration_ms),
                    p.client.clone().unwrap_or_default(),
                    p.peer.clone().or(p.relay.clone()).unwrap_or_default(),
                    verdict,
                    steps,
                ]);
            }
            writeln!(w, "\nProcesses\n{t}")?;
        }
        if !self.rs_ra.is_empty() {
            let mut t = new_table(color);
            t.set_header(vec!["RS", "RA", "nonce", "client", "server", "RA from", "cone", "origin", "RTT ms", "flags"]);
            for p in &self.rs_ra {
                let o = |x: &Option<String>| x.clone().unwrap_or_else(|| "-".into());
                t.add_row(vec![
                    p.rs_frame.as_ref().map_or("-".into(), |f| f.to_string()),
                    p.ra_frame.as_ref().map_or("-".into(), |f| f.to_string()),
                    o(&p.nonce),
                    o(&p.client),
                    o(&p.server),
                    o(&p.ra_from),
                    p.cone.map_or("-".into(), |c| if c { "yes".into() } else { "no".into() }),
                    o(&p.origin),
                    p.rtt_ms.map_or("-".into(), |r| format!("{r:.3}")),
                    p.flags.join(" "),
                ]);
            }
            writeln!(w, "\nRS/RA pairs\n{t}")?;
        }
        if !self.anomalies.is_empty() {
            let mut t = new_table(color);
            t.set_header(vec!["anomaly", "count", "frames", "detail"]);
            for a in &self.anomalies {
                t.add_row(vec![a.kind.to_string(), a.count.to_string(), join(&a.frames, 8), a.detail.clone()]);
            }
            writeln!(w, "\nAnomalies\n{t}")?;
        }
        Ok(())
    }
}

impl crate::output::Record for AnalysisReport {
    fn to_json(&self) -> serde_json::Value {
        AnalysisReport::to_json(self)
    }
    fn write_table(&self, w: &mut dyn Write, color: bool) -> io::Result<()> {
        self.write_tables(w, color)
    }
}
