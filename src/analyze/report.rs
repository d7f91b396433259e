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
//!
//! The views keep addresses, sockets and frame numbers typed (`Ipv4Addr`, `Ipv6Addr`, [`Sock`],
//! [`FrameNo`]); they serialise as the text of their `Display`. A report holds up to tens of
//! thousands of processes, pairs and anomalies, so [`AnalysisReport::write_json`] (what
//! `pcap --analyze` writes) writes its JSON text by hand ([`crate::output::jsontext`],
//! [`crate::output::ipfmt`]) in the layout serde_json gives from the views' `Serialize`, which
//! `to_json` and any other serializer use: the text of values it writes again and again
//! (client addresses, names, the separators and keys of a step) is kept and copied, and long
//! arrays are written on two threads, as the process views are built ([`Analyzer::report`]):
//! the report is made once the capture has been read, when the cores are free. The tables are
//! drawn by [`crate::output::table::TextTable`], which draws what comfy-table would.

use super::{Analyzer, FrameList, FrameRef, NatType, Outcome, Proc, ProcessKind, Sock};
use crate::addr::{classify, AddressKind, TeredoAddress};
use crate::output::ipfmt::{push_hex, push_ipv4, push_ipv4_port, push_ipv6, push_u64, Ipv6Memo, SockMemo, TextMemo};
use crate::output::jsontext::{push_string, Fragment, JsonText, Key, Style};
use crate::output::table::TextTable;
use serde::{Serialize, Serializer};
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::mpsc;

/// A frame number in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FrameNo {
    /// One capture file: the 1-based frame number (a JSON number).
    N(u64),
    /// Several files: file index (from 0) and frame number, `"FILE:FRAME"` in JSON.
    F(u32, u64),
}

impl FrameNo {
    /// The frame number (whatever the file).
    pub fn number(&self) -> u64 {
        match *self {
            FrameNo::N(n) | FrameNo::F(_, n) => n,
        }
    }

    /// Appends the text of `Display` to `out`.
    fn push(&self, out: &mut Vec<u8>) {
        match *self {
            FrameNo::N(n) => push_u64(out, n),
            FrameNo::F(f, n) => {
                push_u64(out, u64::from(f));
                out.push(b':');
                push_u64(out, n);
            }
        }
    }

    fn json(&self, j: &mut ReportJson) {
        match *self {
            FrameNo::N(n) => j.u64(n),
            FrameNo::F(..) => {
                j.quote();
                self.push(j.buf());
                j.quote();
            }
        }
    }
}

impl std::fmt::Display for FrameNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameNo::N(n) => write!(f, "{n}"),
            FrameNo::F(file, n) => write!(f, "{file}:{n}"),
        }
    }
}

impl Serialize for FrameNo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FrameNo::N(n) => s.serialize_u64(*n),
            FrameNo::F(..) => s.collect_str(self),
        }
    }
}

/// A transport address serialises as its `Display` text, `IPV4:PORT`.
impl Serialize for Sock {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut b = Vec::with_capacity(21);
        push_ipv4_port(&mut b, self.ip, self.port);
        // Only ASCII digits, dots and a colon were written.
        s.serialize_str(std::str::from_utf8(&b).unwrap_or_default())
    }
}

/// An RS/RA nonce as 16 hex digits.
fn hex_nonce<S: Serializer>(n: &Option<[u8; 8]>, s: S) -> Result<S::Ok, S::Error> {
    match n {
        Some(n) => s.collect_str(&crate::wire::teredo::Hex(n)),
        None => s.serialize_none(),
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
    pub from: Sock,
    /// New mapped address:port.
    pub to: Sock,
}

/// One client.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientView {
    /// Teredo address (as seen; or built from the RA when never seen, see `address_observed`).
    pub address: Ipv6Addr,
    /// Teredo server.
    pub server: Ipv4Addr,
    /// Cone flag of the address (or of the RS that qualified it).
    pub cone: bool,
    /// Mapped (external) address.
    pub mapped_address: Ipv4Addr,
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
    pub peers: Vec<Ipv6Addr>,
    /// Relays used (IPv4:port).
    pub relays: Vec<Sock>,
    /// Extra: bytes of Teredo UDP payload each way.
    pub bytes: Directions,
    /// Extra: the address was seen in a packet (false: built from the RA's prefix and Origin).
    pub address_observed: bool,
    /// Extra: flag bits (RFC 5991).
    pub flags: Option<FlagsView>,
    /// Extra: outer transport addresses the client was seen at.
    pub sockets: Vec<Sock>,
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
    pub address: Ipv4Addr,
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
    pub secondary: Option<Ipv4Addr>,
}

/// One relay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelayView {
    /// IPv4 address.
    pub address: Ipv4Addr,
    /// UDP port.
    pub port: u16,
    /// Clients served (Teredo addresses).
    pub clients: Vec<Ipv6Addr>,
    /// IPv6 hosts reached through it.
    pub ipv6_hosts: Vec<Ipv6Addr>,
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
    #[serde(skip_serializing_if = "QualField::is_absent")]
    pub mapped_address: QualField<Ipv4Addr>,
    /// Qualification: mapped port given.
    #[serde(skip_serializing_if = "QualField::is_absent")]
    pub mapped_port: QualField<u16>,
    /// Qualification: the server (primary).
    #[serde(skip_serializing_if = "QualField::is_absent")]
    pub server: QualField<Ipv4Addr>,
    /// Extra: frames were left out.
    pub frames_truncated: bool,
    /// Extra: the steps recognised.
    pub steps: Vec<StepView>,
    /// Extra: the step at which it failed.
    pub failed_step: Option<&'static str>,
    /// Extra: the client (its Teredo address, or the one its RA gave).
    pub client: Option<Ipv6Addr>,
    /// Extra: the peer (client, IPv6 host).
    pub peer: Option<Ipv6Addr>,
    /// Extra: relay IPv4:port.
    pub relay: Option<Sock>,
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

    /// Not a qualification process (the key is left out).
    pub fn is_absent(&self) -> bool {
        matches!(self, QualField::Absent)
    }
}

/// One RS/RA pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairView {
    /// Authentication nonce (16 hex digits in JSON).
    #[serde(serialize_with = "hex_nonce")]
    pub nonce: Option<[u8; 8]>,
    /// RS frame.
    pub rs_frame: Option<FrameNo>,
    /// RA frame.
    pub ra_frame: Option<FrameNo>,
    /// RS→RA, ms.
    pub rtt_ms: Option<f64>,
    /// Client transport address (RS source).
    pub client: Option<Sock>,
    /// Server the RS went to.
    pub server: Option<Ipv4Addr>,
    /// Address the RA came from.
    pub ra_from: Option<Ipv4Addr>,
    /// Cone bit of the RS.
    pub cone: Option<bool>,
    /// Origin indication of the RA.
    pub origin: Option<Sock>,
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
            FrameNo::F(f.file, f.frame)
        }
    }

    /// The frames, sorted, without repeats. (`FrameNo` sorts as `FrameRef`: `N` only for
    /// file 0, before any `F`.)
    fn flist(&self, l: &FrameList) -> Vec<FrameNo> {
        let mut v: Vec<FrameNo> = l.frames.iter().map(|&f| self.fno(f)).collect();
        // frames are mostly added in capture order already
        if !v.is_sorted_by(|a, b| a < b) {
            v.sort_unstable();
            v.dedup();
        }
        v
    }

    fn client_label(&self, c: u32) -> Ipv6Addr {
        let cl = &self.clients[c as usize];
        match cl.address {
            Some(a) => a,
            None => self.inferred_address(c),
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
                let view = |s: &super::Step| StepView { step: s.name.as_str(), frame: self.fno(s.frame()) };
                // steps are mostly recorded in time order already
                if p.steps.is_sorted_by_key(|s| (s.ts, s.frame())) {
                    p.steps.iter().map(view).collect()
                } else {
                    let mut st = p.steps.clone();
                    st.sort_by_key(|s| (s.ts, s.frame()));
                    st.iter().map(view).collect()
                }
            },
            failed_step: None,
            client: p.client.map(|c| self.client_label(c)),
            peer: p.peer_client.map(|c| self.client_label(c)).or(p.host),
            relay: p.relay,
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
                v.mapped_address = QualField::Value(mapped.map(|m| m.ip));
                v.mapped_port = QualField::Value(mapped.map(|m| m.port));
                v.server = QualField::Value(q.server.or(q.primary));
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
                } else if p.has(super::StepName::ReplyBubble) {
                    if p.has(super::StepName::ReplyBubbleDropped) && !p.has(super::StepName::FirstData) {
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
        self.report_with(true)
    }

    /// The report, with the process views or (for [`Analyzer::write_report_json`], which
    /// makes each as it writes it) without.
    fn report_with(&self, processes: bool) -> AnalysisReport {
        let end = self.stats.last_ns.unwrap_or(0);
        // The process views (most of the work) on two threads; this one also builds the other
        // sections but the clients, which take their NAT type from the processes.
        let others = || (self.server_views(), self.relay_views(), self.pair_views(), self.anomaly_views());
        let (processes, (servers, relays, rs_ra, anomalies)) = if processes {
            par_map_and(&self.procs, PARALLEL_MIN, |p| self.proc_view(p, end), others)
        } else {
            (Vec::new(), others())
        };
        // client NAT type: the last qualification verdict for the client
        let mut nat: Vec<NatType> = vec![NatType::Unknown; self.clients.len()];
        for (i, p) in self.procs.iter().enumerate() {
            if p.kind == Some(ProcessKind::Qualification) {
                let verdict = match processes.get(i) {
                    Some(v) => v.nat_type,
                    None => self.proc_view(p, end).nat_type,
                };
                if let (Some(c), Some(n)) = (p.client, verdict) {
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
                    server: cl.mapping.server,
                    cone,
                    mapped_address: cl.mapping.mapped.ip,
                    mapped_port: cl.mapping.mapped.port,
                    nat_type: nt.as_str(),
                    first_seen: rfc3339(cl.first),
                    last_seen: rfc3339(cl.last),
                    packets: Directions { sent: cl.pkts_out, received: cl.pkts_in },
                    peers: cl.peers.clone(),
                    relays: cl.relays.clone(),
                    bytes: Directions { sent: cl.bytes_out, received: cl.bytes_in },
                    address_observed: cl.address.is_some(),
                    flags: tao.map(|t| FlagsView {
                        value: format!("0x{:04x}", t.flags.0),
                        random_bits: format!("0x{:04x}", t.flags.random_bits()),
                        reserved: t.flags.reserved(),
                        u: t.flags.u(),
                        g: t.flags.g(),
                    }),
                    sockets: cl.sockets.clone(),
                    mapping_changes: cl
                        .mapping_changes
                        .iter()
                        .map(|(f, a, b)| MappingChangeView { frame: self.fno(*f), from: a.mapped, to: b.mapped })
                        .collect(),
                    first_frame: self.fno(cl.first_frame),
                    last_frame: self.fno(cl.last_frame),
                    peers_total: cl.peers_total,
                }
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

    /// The servers, secondary addresses folded into their primary.
    fn server_views(&self) -> Vec<ServerView> {
        // unanswered RSs by server address (a handful of servers: a list, not a hash map)
        let mut pending: Vec<(Ipv4Addr, u64)> = Vec::new();
        for r in self.rs_by_nonce.values().chain(self.rs_noauth.values()).filter(|r| !r.answered) {
            match pending.iter_mut().find(|(a, _)| *a == r.dst) {
                Some((_, n)) => *n += 1,
                None => pending.push((r.dst, 1)),
            }
        }
        let pending_unanswered = |a: &Ipv4Addr| pending.iter().find(|(x, _)| x == a).map_or(0, |&(_, n)| n);
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
            let mut un = s.unanswered + pending_unanswered(&a);
            let mut rtts = s.rtt_us.clone();
            let mut mn = s.rtt_min;
            let mut mx = s.rtt_max;
            let mut clients = s.clients.clone();
            if let Some(sec) = s.secondary.and_then(|x| self.servers.get(&x).map(|y| (x, y))) {
                let (sa, ss) = sec;
                if sa != a {
                    rs += ss.rs;
                    ra += ss.ra;
                    un += ss.unanswered + pending_unanswered(&sa);
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
            // the median: the middle element, or the mean of the two (the larger one of the
            // lower half is the other), found without sorting tens of thousands of RTTs
            let med = if rtts.is_empty() {
                None
            } else {
                let n = rtts.len();
                let (lower, &mut mid, _) = rtts.select_nth_unstable(n / 2);
                Some(if n % 2 == 1 {
                    f64::from(mid)
                } else {
                    let below = lower.iter().copied().max().unwrap_or(mid);
                    (f64::from(below) + f64::from(mid)) / 2.0
                })
            };
            let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
            servers.push(ServerView {
                address: a,
                clients: clients.len(),
                rs,
                ra,
                unanswered_rs: un,
                rtt_ms: RttView {
                    min: mn.map(|x| r3(f64::from(x) / 1000.0)),
                    median: med.map(|x| r3(x / 1000.0)),
                    max: mx.map(|x| r3(f64::from(x) / 1000.0)),
                },
                secondary: s.secondary,
            });
        }
        servers
    }

    /// The relays, by address and port.
    fn relay_views(&self) -> Vec<RelayView> {
        let mut rl: Vec<_> = self.relays.iter().collect();
        rl.sort_by_key(|(k, _)| **k);
        rl.into_iter()
            .map(|(s, r)| RelayView {
                address: s.ip,
                port: s.port,
                clients: r.clients.iter().map(|&c| self.client_label(c)).collect(),
                ipv6_hosts: r.hosts.clone(),
                host_specific: r.host_specific && !r.not_host_specific,
                packets: r.packets,
            })
            .collect()
    }

    /// The RS/RA pairs, then the unanswered RSs while there is room, by frame number.
    fn pair_views(&self) -> Vec<PairView> {
        let pair_view = |p: &super::Pair| PairView {
            nonce: p.nonce,
            rs_frame: p.rs.map(|f| self.fno(f)),
            ra_frame: p.ra.map(|f| self.fno(f)),
            rtt_ms: p.rtt_ns.map(|x| (x as f64 / 1e3).round() / 1e3),
            client: p.client,
            server: p.server,
            ra_from: p.ra_from,
            cone: p.cone,
            origin: p.origin,
            flags: p.flags.clone(),
        };
        // the first unanswered RSs (by frame) while there is room
        let room = self.opts.max_pairs.saturating_sub(self.pairs.len());
        let mut pend: Vec<_> = if room == 0 {
            Vec::new()
        } else {
            self.rs_by_nonce
                .iter()
                .map(|(n, r)| (Some(*n), r))
                .chain(self.rs_noauth.values().map(|r| (None, r)))
                .filter(|(_, r)| !r.answered)
                .collect()
        };
        // (one RS per frame: no two keys are equal)
        if room < pend.len() {
            pend.select_nth_unstable_by_key(room, |(_, r)| r.frame());
            pend.truncate(room);
        }
        pend.sort_unstable_by_key(|(_, r)| r.frame());
        let pend_view = |&(n, r): &(Option<[u8; 8]>, &super::RsRec)| PairView {
            nonce: n,
            rs_frame: Some(self.fno(r.frame())),
            ra_frame: None,
            rtt_ms: None,
            client: Some(r.src),
            server: Some(r.dst),
            ra_from: None,
            cone: Some(r.cone),
            origin: None,
            flags: if r.auth { vec!["unanswered"] } else { vec!["unanswered", "rs-without-authentication"] },
        };
        // The pairs, then the unanswered RSs, in a stable order by frame number (RS, else RA):
        // the (number, position) keys are sorted rather than the views, which are large.
        let mut order: Vec<(u64, usize)> = (self.pairs.iter().map(|p| p.rs.or(p.ra).map_or(0, |f| f.frame)))
            .chain(pend.iter().map(|(_, r)| r.frame_no))
            .enumerate()
            .map(|(i, n)| (n, i))
            .collect();
        if !order.is_sorted() {
            order.sort_unstable();
        }
        order
            .iter()
            .map(|&(_, i)| match self.pairs.get(i) {
                Some(p) => pair_view(p),
                None => pend_view(&pend[i - self.pairs.len()]),
            })
            .collect()
    }

    /// The anomalies.
    fn anomaly_views(&self) -> Vec<AnomalyView> {
        self.anomalies
            .iter()
            .map(|a| AnomalyView {
                kind: a.kind,
                frames: self.flist(&a.frames),
                detail: a.detail.clone(),
                count: a.frames.total,
            })
            .collect()
    }
}

/// A JSON key made at compile time.
macro_rules! k {
    ($name:literal) => {
        &const { Key::new($name) }
    };
}

/// The JSON text of a report being written, and the text of the values written last: a
/// report names the same few clients, servers, sockets and names (kinds, outcomes, steps) in
/// tens of thousands of processes and pairs.
struct ReportJson {
    text: JsonText,
    clients: Ipv6Memo,
    /// Other IPv6 addresses (thousands of hosts, each in a few processes).
    hosts: Ipv6Memo,
    ipv4: TextMemo<u32, 16>,
    socks: SockMemo,
    /// By the name's address and length (a `'static` string never changes).
    names: TextMemo<(usize, usize), 32>,
    /// Separators, keys and brackets written again and again (see [`ReportJson::fragment`]).
    fragments: [[Option<Fragment>; 2]; 3],
}

impl ReportJson {
    fn new(text: JsonText) -> ReportJson {
        ReportJson {
            text,
            clients: Default::default(),
            hosts: Ipv6Memo::with_slots(12),
            ipv4: Default::default(),
            socks: Default::default(),
            names: Default::default(),
            fragments: Default::default(),
        }
    }

    /// What `calls` (separators, keys, brackets: no values) write, in one copy when written
    /// before in the same state (kept in `fragments[i]`, two states each).
    fn fragment(&mut self, i: usize, calls: impl Fn(&mut JsonText)) {
        let ReportJson { text, fragments, .. } = self;
        text.replay_or_record(&mut fragments[i], calls);
    }

    /// A static name (kind, outcome, step...) as a JSON string.
    fn name(&mut self, s: &'static str) {
        let key = (s.as_ptr() as usize, s.len());
        self.names.push(self.text.buf(), key, (key.0 ^ key.1) as u64, |out| push_string(out, s));
    }
}

impl std::ops::Deref for ReportJson {
    type Target = JsonText;
    fn deref(&self) -> &JsonText {
        &self.text
    }
}

impl std::ops::DerefMut for ReportJson {
    fn deref_mut(&mut self) -> &mut JsonText {
        &mut self.text
    }
}

/// Writes a view's JSON text: the same keys, order and values as its `Serialize`.
trait JsonView {
    fn json(&self, j: &mut ReportJson);

    /// Roughly how long the text is, in values written (to share an array between threads).
    fn weight(&self) -> usize {
        1
    }
}

fn j_ipv6(j: &mut ReportJson, a: &Ipv6Addr) {
    j.text.quote();
    j.hosts.push_ipv6(j.text.buf(), a);
    j.text.quote();
}

/// A client's Teredo address (one of a few, written again and again: through the memo).
fn j_client(j: &mut ReportJson, a: &Ipv6Addr) {
    j.text.quote();
    j.clients.push_ipv6(j.text.buf(), a);
    j.text.quote();
}

fn j_ipv4(j: &mut ReportJson, a: Ipv4Addr) {
    j.text.quote();
    j.ipv4.push(j.text.buf(), a.to_bits(), a.to_bits().into(), |out| push_ipv4(out, a));
    j.text.quote();
}

fn j_sock(j: &mut ReportJson, s: Sock) {
    j.text.quote();
    j.socks.push_ipv4_port(j.text.buf(), s.ip, s.port);
    j.text.quote();
}

fn j_opt<T>(j: &mut ReportJson, v: Option<T>, f: impl FnOnce(&mut ReportJson, T)) {
    match v {
        Some(v) => f(j, v),
        None => j.null(),
    }
}

fn j_array<T>(j: &mut ReportJson, v: impl IntoIterator<Item = T>, mut f: impl FnMut(&mut ReportJson, T)) {
    j.begin_array();
    for x in v {
        j.element();
        f(j, x);
    }
    j.end_array();
}

fn j_frames(j: &mut ReportJson, v: &[FrameNo]) {
    j_array(j, v, |j, f| f.json(j));
}

fn j_strs<S: AsRef<str>>(j: &mut ReportJson, v: &[S]) {
    j_array(j, v, |j, x| j.string(x.as_ref()));
}

fn j_directions(j: &mut ReportJson, d: Directions) {
    j.begin_object();
    j.key(k!("sent"));
    j.u64(d.sent);
    j.key(k!("received"));
    j.u64(d.received);
    j.end_object();
}

impl JsonView for ClientView {
    fn json(&self, j: &mut ReportJson) {
        j.begin_object();
        j.key(k!("address"));
        j_ipv6(j, &self.address);
        j.key(k!("server"));
        j_ipv4(j, self.server);
        j.key(k!("cone"));
        j.bool(self.cone);
        j.key(k!("mapped_address"));
        j_ipv4(j, self.mapped_address);
        j.key(k!("mapped_port"));
        j.u64(self.mapped_port.into());
        j.key(k!("nat_type"));
        j.name(self.nat_type);
        j.key(k!("first_seen"));
        j.string(&self.first_seen);
        j.key(k!("last_seen"));
        j.string(&self.last_seen);
        j.key(k!("packets"));
        j_directions(j, self.packets);
        j.key(k!("peers"));
        j_array(j, &self.peers, j_ipv6);
        j.key(k!("relays"));
        j_array(j, &self.relays, |j, s| j_sock(j, *s));
        j.key(k!("bytes"));
        j_directions(j, self.bytes);
        j.key(k!("address_observed"));
        j.bool(self.address_observed);
        j.key(k!("flags"));
        j_opt(j, self.flags.as_ref(), |j, f| {
            j.begin_object();
            j.key(k!("value"));
            j.string(&f.value);
            j.key(k!("random_bits"));
            j.string(&f.random_bits);
            j.key(k!("reserved"));
            j.bool(f.reserved);
            j.key(k!("u"));
            j.bool(f.u);
            j.key(k!("g"));
            j.bool(f.g);
            j.end_object();
        });
        j.key(k!("sockets"));
        j_array(j, &self.sockets, |j, s| j_sock(j, *s));
        j.key(k!("mapping_changes"));
        j_array(j, &self.mapping_changes, |j, m| {
            j.begin_object();
            j.key(k!("frame"));
            m.frame.json(j);
            j.key(k!("from"));
            j_sock(j, m.from);
            j.key(k!("to"));
            j_sock(j, m.to);
            j.end_object();
        });
        j.key(k!("first_frame"));
        self.first_frame.json(j);
        j.key(k!("last_frame"));
        self.last_frame.json(j);
        j.key(k!("peers_total"));
        j.u64(self.peers_total.into());
        j.end_object();
    }
}

impl JsonView for ServerView {
    fn json(&self, j: &mut ReportJson) {
        j.begin_object();
        j.key(k!("address"));
        j_ipv4(j, self.address);
        j.key(k!("clients"));
        j.u64(self.clients as u64);
        j.key(k!("rs"));
        j.u64(self.rs);
        j.key(k!("ra"));
        j.u64(self.ra);
        j.key(k!("unanswered_rs"));
        j.u64(self.unanswered_rs);
        j.key(k!("rtt_ms"));
        j.begin_object();
        for (k, v) in [(k!("min"), self.rtt_ms.min), (k!("median"), self.rtt_ms.median), (k!("max"), self.rtt_ms.max)] {
            j.key(k);
            j_opt(j, v, |j, x| j.f64(x));
        }
        j.end_object();
        j.key(k!("secondary"));
        j_opt(j, self.secondary, j_ipv4);
        j.end_object();
    }
}

impl JsonView for RelayView {
    fn json(&self, j: &mut ReportJson) {
        j.begin_object();
        j.key(k!("address"));
        j_ipv4(j, self.address);
        j.key(k!("port"));
        j.u64(self.port.into());
        j.key(k!("clients"));
        j_array(j, &self.clients, j_client);
        j.key(k!("ipv6_hosts"));
        j_array(j, &self.ipv6_hosts, j_ipv6);
        j.key(k!("host_specific"));
        j.bool(self.host_specific);
        j.key(k!("packets"));
        j.u64(self.packets);
        j.end_object();
    }
}

impl JsonView for ProcessView {
    fn weight(&self) -> usize {
        // the early processes hold the most frames and steps
        20 + self.frames.len() + 4 * self.steps.len() + 8 * self.evidence.len()
    }

    fn json(&self, j: &mut ReportJson) {
        j.begin_object();
        j.key(k!("kind"));
        j.name(self.kind);
        j.key(k!("outcome"));
        j.name(self.outcome);
        j.key(k!("frames"));
        j_frames(j, &self.frames);
        j.key(k!("duration_ms"));
        j.f64(self.duration_ms);
        if let Some(n) = self.nat_type {
            j.key(k!("nat_type"));
            j.name(n);
        }
        if let QualField::Value(v) = self.mapped_address {
            j.key(k!("mapped_address"));
            j_opt(j, v, j_ipv4);
        }
        if let QualField::Value(v) = self.mapped_port {
            j.key(k!("mapped_port"));
            j_opt(j, v, |j, p| j.u64(p.into()));
        }
        if let QualField::Value(v) = self.server {
            j.key(k!("server"));
            j_opt(j, v, j_ipv4);
        }
        j.key(k!("frames_truncated"));
        j.bool(self.frames_truncated);
        j.key(k!("steps"));
        j.begin_array();
        for st in &self.steps {
            // the element's separator, `{` and the first key in one copy (one for the first
            // element, one for the others), the second key in another, the `}` in a third
            j.fragment(0, |j| {
                j.element();
                j.begin_object();
                j.key(k!("step"));
            });
            j.name(st.step);
            j.fragment(1, |j| j.key(k!("frame")));
            st.frame.json(j);
            j.fragment(2, JsonText::end_object);
        }
        j.end_array();
        j.key(k!("failed_step"));
        j_opt(j, self.failed_step, |j, x| j.name(x));
        j.key(k!("client"));
        j_opt(j, self.client.as_ref(), j_client);
        j.key(k!("peer"));
        j_opt(j, self.peer.as_ref(), j_ipv6);
        j.key(k!("relay"));
        j_opt(j, self.relay, j_sock);
        j.key(k!("path"));
        j_opt(j, self.path, |j, x| j.name(x));
        j.key(k!("interval_s"));
        j_opt(j, self.interval_s, |j, i| {
            j.begin_object();
            j.key(k!("min"));
            j.f64(i.min);
            j.key(k!("median"));
            j.f64(i.median);
            j.key(k!("max"));
            j.f64(i.max);
            j.end_object();
        });
        j.key(k!("evidence"));
        j_strs(j, &self.evidence);
        j.end_object();
    }
}

impl JsonView for PairView {
    fn json(&self, j: &mut ReportJson) {
        j.begin_object();
        j.key(k!("nonce"));
        j_opt(j, self.nonce, |j, n| {
            j.quote();
            push_hex(j.buf(), &n);
            j.quote();
        });
        j.key(k!("rs_frame"));
        j_opt(j, self.rs_frame, |j, f| f.json(j));
        j.key(k!("ra_frame"));
        j_opt(j, self.ra_frame, |j, f| f.json(j));
        j.key(k!("rtt_ms"));
        j_opt(j, self.rtt_ms, |j, x| j.f64(x));
        j.key(k!("client"));
        j_opt(j, self.client, j_sock);
        j.key(k!("server"));
        j_opt(j, self.server, j_ipv4);
        j.key(k!("ra_from"));
        j_opt(j, self.ra_from, j_ipv4);
        j.key(k!("cone"));
        j_opt(j, self.cone, |j, x| j.bool(x));
        j.key(k!("origin"));
        j_opt(j, self.origin, j_sock);
        j.key(k!("flags"));
        j_array(j, &self.flags, |j, f| j.name(f));
        j.end_object();
    }
}

impl JsonView for AnomalyView {
    fn json(&self, j: &mut ReportJson) {
        j.begin_object();
        j.key(k!("kind"));
        j.name(self.kind);
        j.key(k!("frames"));
        j_frames(j, &self.frames);
        j.key(k!("detail"));
        j.string(&self.detail);
        j.key(k!("count"));
        j.u64(self.count);
        j.end_object();
    }
}

impl JsonView for SummaryView {
    fn json(&self, j: &mut ReportJson) {
        j.begin_object();
        for (k, v) in [
            (k!("frames"), self.frames),
            (k!("teredo_frames"), self.teredo_frames),
            (k!("duplicates"), self.duplicates),
            (k!("packets"), self.packets),
            (k!("icmp_quoting_teredo"), self.icmp_quoting_teredo),
        ] {
            j.key(k);
            j.u64(v);
        }
        j.key(k!("first_seen"));
        j_opt(j, self.first_seen.as_deref(), |j, x| j.string(x));
        j.key(k!("last_seen"));
        j_opt(j, self.last_seen.as_deref(), |j, x| j.string(x));
        for (k, v) in [
            (k!("clients_not_tracked"), self.clients_not_tracked),
            (k!("processes_not_kept"), self.processes_not_kept),
            (k!("pairs_not_kept"), self.pairs_not_kept),
        ] {
            j.key(k);
            j.u64(v);
        }
        j.end_object();
    }
}

/// Arrays and lists of processes at least this long are built and written on two threads
/// (the report is made once the capture has been read: the cores are free).
const PARALLEL_MIN: usize = 2048;

/// `f` over `v`, in order, and `also()`: with `parallel_min` items or more, the items past
/// the first third are mapped on another thread while this one maps the first third and runs
/// `also`.
fn par_map_and<T: Sync, U: Send, R>(
    v: &[T],
    parallel_min: usize,
    f: impl Fn(&T) -> U + Sync,
    also: impl FnOnce() -> R,
) -> (Vec<U>, R) {
    if v.len() < parallel_min.max(2) {
        return (v.iter().map(f).collect(), also());
    }
    let (now, later) = v.split_at(v.len() / 3);
    let f = &f;
    let ((mut out, r), rest) = on_two_threads(
        || {
            let mut out = Vec::with_capacity(v.len());
            out.extend(now.iter().map(f));
            (out, also())
        },
        || later.iter().map(f).collect::<Vec<U>>(),
    );
    out.extend(rest);
    (out, r)
}

/// `here()` on this thread while `there()` runs on another (scoped), and both results. With no
/// thread to be had, `there()` runs here, after `here()`; a panic on the other thread goes on
/// here.
fn on_two_threads<A, B: Send>(here: impl FnOnce() -> A, there: impl Fn() -> B + Sync) -> (A, B) {
    std::thread::scope(|s| {
        let there = &there;
        let worker = std::thread::Builder::new().spawn_scoped(s, there);
        let a = here();
        let b = match worker {
            Ok(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            Err(_) => there(),
        };
        (a, b)
    })
}

/// The elements of an open array, each handed to `w` whenever 64 KiB are ready.
fn j_elements<T: JsonView>(j: &mut ReportJson, w: &mut dyn Write, v: &[T]) -> io::Result<()> {
    for x in v {
        j.element();
        x.json(j);
        j.write_to_when_full(w)?;
    }
    Ok(())
}

/// How to share a long array between two threads: arrays of `min_len` elements or more are
/// cut into blocks of about `block` [weight](JsonView::weight), which each thread takes as it
/// comes free.
#[derive(Debug, Clone, Copy)]
struct Sharing {
    min_len: usize,
    block: usize,
}

/// About 50 KiB of text a block: the text of blocks rendered ahead of their turn waits in a
/// few such buffers (used again and again) to be handed on, never in one large buffer of
/// fresh pages (the kernel zeroes each fresh page: 36 MB of them cost more than rendering).
const SHARING: Sharing = Sharing { min_len: PARALLEL_MIN, block: 2048 };

/// Blocks of `v` of about `block` [weight](JsonView::weight) each, in order.
fn blocks<T: JsonView>(v: &[T], block: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut sum) = (0, 0);
    for (i, x) in v.iter().enumerate() {
        sum += x.weight();
        if sum >= block.max(1) {
            out.push(start..i + 1);
            (start, sum) = (i + 1, 0);
        }
    }
    if start < v.len() {
        out.push(start..v.len());
    }
    out
}

/// How many blocks this thread renders ahead of the one it hands on next (into buffers),
/// rather than wait for the second thread's.
const AHEAD: usize = 2;

/// A top-level array of the report, its text handed to `w` whenever 64 KiB are ready; with
/// `sharing.min_len` elements or more, it is cut into [`blocks`] that this thread and a second
/// one take as each comes free (the one with the faster core or the warmer cache takes more).
/// This thread hands every block's text on in order: its own as it renders the block whose
/// turn it is, the others' (and its own rendered ahead) from buffers. (Blocks dealt in fixed
/// turns left this thread waiting for the second one's, half of the time on a large capture.)
fn j_seq<T: JsonView + Sync>(j: &mut ReportJson, w: &mut dyn Write, v: &[T], sharing: Sharing) -> io::Result<()> {
    j.begin_array();
    // (a short array is not cut into blocks at all)
    let blocks = if v.len() < sharing.min_len.max(2) { Vec::new() } else { blocks(v, sharing.block) };
    if blocks.len() < 2 {
        j_elements(j, w, v)?;
        j.end_array();
        return Ok(());
    }
    // block 0 is this thread's: every other block follows an element
    let claimed = std::sync::atomic::AtomicUsize::new(1);
    let claim = || claimed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // A block rendered apart, by either thread, into a buffer (handed over whole, not copied,
    // unless longer than 64 KiB).
    let render = |r: &mut ReportJson, i: usize, text: &mut Vec<u8>| {
        // (into a Vec: cannot fail)
        let _ = j_elements(r, text, &v[blocks[i].clone()]);
        r.hand_over(text);
    };
    let (mut theirs, mut mine) = (ReportJson::new(j.continuation()), ReportJson::new(j.continuation()));
    // the second thread's blocks, and buffers coming back to be used again
    let (text_tx, text_rx) = mpsc::sync_channel::<(usize, Vec<u8>)>(AHEAD);
    let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|s| -> io::Result<()> {
        let worker = std::thread::Builder::new().spawn_scoped(s, {
            let (claim, render, blocks) = (&claim, &render, &blocks);
            move || loop {
                let i = claim();
                if i >= blocks.len() {
                    break;
                }
                let mut text = spare_rx.try_recv().unwrap_or_default();
                render(&mut theirs, i, &mut text);
                if text_tx.send((i, text)).is_err() {
                    break; // this thread stopped (a write failed)
                }
            }
        });
        if worker.is_err() {
            // no thread to be had: all here
            return j_elements(j, w, v);
        }
        // (moved here, so that it is dropped, and the second thread stops, if a write fails)
        let text_rx = text_rx;
        j_elements(j, w, &v[blocks[0].clone()])?;
        // blocks rendered and not handed on yet, by number
        let mut ready = std::collections::BTreeMap::new();
        let mut spare = Vec::new();
        for next in 1..blocks.len() {
            let text = loop {
                while let Ok((i, t)) = text_rx.try_recv() {
                    ready.insert(i, t);
                }
                if let Some(t) = ready.remove(&next) {
                    break Some(t);
                }
                if ready.len() < AHEAD {
                    let i = claim();
                    if i == next {
                        break None; // its turn: rendered straight on
                    }
                    if i < blocks.len() {
                        let mut t: Vec<u8> = spare.pop().unwrap_or_default();
                        render(&mut mine, i, &mut t);
                        ready.insert(i, t);
                        continue;
                    }
                }
                // the second thread is rendering it
                let (i, t) = text_rx.recv().map_err(|_| io::Error::other("the report's second thread stopped"))?;
                ready.insert(i, t);
            };
            match text {
                None => j_elements(j, w, &v[blocks[next].clone()])?,
                Some(mut t) => {
                    // The text so far goes out, and the block's becomes this writer's, without a
                    // copy: it goes out with what follows once 64 KiB are ready, in one write
                    // that the output's buffer (64 KiB) passes on rather than copies.
                    j.write_to(w)?;
                    j.take_text(&mut t);
                    j.write_to_when_full(w)?;
                    if spare.len() < AHEAD {
                        spare.push(t);
                    } else {
                        let _ = spare_tx.send(t);
                    }
                }
            }
        }
        Ok(())
    })?;
    j.end_array();
    Ok(())
}

/// A process whose view is made when it is written ([`Analyzer::write_report_json`]): the
/// views of tens of thousands of processes are never all held at once.
struct LazyProcess<'a> {
    analyzer: &'a Analyzer,
    process: &'a Proc,
    end: i64,
}

impl JsonView for LazyProcess<'_> {
    fn json(&self, j: &mut ReportJson) {
        self.analyzer.proc_view(self.process, self.end).json(j);
    }
    fn weight(&self) -> usize {
        // as ProcessView::weight, without the evidence (known once the view is made)
        20 + self.process.frames.frames.len() + 4 * self.process.steps.len()
    }
}

impl Analyzer {
    /// Writes the report as [`AnalysisReport::write_json`] writes `self.report()`, byte for
    /// byte, but makes each process's view as it writes it, on the two threads that write
    /// the processes: no view of every process first (on a large capture, 20,000 views and
    /// their lists, megabytes of fresh pages, on the end of the run's critical path).
    pub fn write_report_json(
        &self,
        w: &mut dyn Write,
        style: Style,
        capture: Option<&serde_json::Value>,
    ) -> io::Result<()> {
        self.write_report_json_with(w, style, capture, SHARING)
    }

    fn write_report_json_with(
        &self,
        w: &mut dyn Write,
        style: Style,
        capture: Option<&serde_json::Value>,
        sharing: Sharing,
    ) -> io::Result<()> {
        let end = self.stats.last_ns.unwrap_or(0);
        let report = self.report_with(false);
        let processes: Vec<LazyProcess> =
            self.procs.iter().map(|process| LazyProcess { analyzer: self, process, end }).collect();
        report.write_json_with(w, style, capture, &processes, sharing)
    }
}

const PROCESS_HEADER: &[&str] = &["process", "outcome", "ms", "client", "peer/relay", "verdict", "steps (frame)"];
const RS_RA_HEADER: &[&str] =
    &["RS", "RA", "nonce", "client", "server", "RA from", "cone", "origin", "RTT ms", "flags"];

/// The rows of `v` in a table with `header`, filled by `fill`: in two parts, one filled on
/// another thread, with [`PARALLEL_MIN`] rows or more (drawn as one table by
/// [`draw_parts`]).
fn rows_in_parts<T: Sync>(
    v: &[T],
    header: &'static [&'static str],
    color: bool,
    fill: impl Fn(&mut TextTable, &[T]) + Sync,
) -> Vec<TextTable> {
    let rows = |part: &[T]| {
        let mut t = TextTable::new(header, color);
        fill(&mut t, part);
        t
    };
    if v.len() < PARALLEL_MIN {
        return vec![rows(v)];
    }
    let (now, later) = v.split_at(v.len() / 2);
    let (first, second) = on_two_threads(|| rows(now), || rows(later));
    vec![first, second]
}

/// A titled table of the rows of `parts`, then an empty line.
fn draw_parts(w: &mut dyn Write, title: &str, parts: &[TextTable]) -> io::Result<()> {
    write!(w, "\n{title}\n")?;
    TextTable::write_joined(&parts.iter().collect::<Vec<_>>(), w)?;
    w.write_all(b"\n")
}

/// The processes table's rows.
fn process_rows(t: &mut TextTable, ps: &[ProcessView]) {
    for p in ps {
        t.cell(p.kind);
        t.buf().extend_from_slice(p.outcome.as_bytes());
        if let Some(f) = p.failed_step {
            t.buf().extend_from_slice(b" at ");
            t.buf().extend_from_slice(f.as_bytes());
        }
        t.end_cell();
        push_fixed(t.buf(), p.duration_ms, 1);
        t.end_cell();
        if let Some(c) = &p.client {
            push_ipv6(t.buf(), c);
        }
        t.end_cell();
        match (&p.peer, p.relay) {
            (Some(x), _) => push_ipv6(t.buf(), x),
            (None, Some(r)) => push_sock(t.buf(), &r),
            (None, None) => {}
        }
        t.end_cell();
        let b = t.buf();
        match p.kind {
            "qualification" => {
                b.extend_from_slice(p.nat_type.unwrap_or("?").as_bytes());
                b.push(b' ');
                if let (Some(a), Some(port)) = (p.mapped_address.get(), p.mapped_port.get()) {
                    push_ipv4_port(b, *a, *port);
                }
            }
            "maintenance" => {
                if let Some(i) = p.interval_s {
                    let _ = write!(b, "every {:.1} s (min {:.1}, max {:.1})", i.median, i.min, i.max);
                }
            }
            _ => {
                if let Some(x) = p.path {
                    b.extend_from_slice(b"path ");
                    b.extend_from_slice(x.as_bytes());
                }
            }
        }
        t.end_cell();
        let b = t.buf();
        for (i, st) in p.steps.iter().take(8).enumerate() {
            if i > 0 {
                b.extend_from_slice(b", ");
            }
            b.extend_from_slice(st.step.as_bytes());
            b.extend_from_slice(b" (");
            st.frame.push(b);
            b.push(b')');
        }
        if p.steps.len() > 8 {
            b.extend_from_slice(", … ".as_bytes());
            push_u64(b, (p.steps.len() - 8) as u64);
            b.extend_from_slice(b" more");
        }
        t.end_cell();
    }
}

/// The RS/RA pairs table's rows.
fn rs_ra_rows(t: &mut TextTable, pairs: &[PairView]) {
    for p in pairs {
        cell_opt(t, p.rs_frame, |b, f| f.push(b));
        cell_opt(t, p.ra_frame, |b, f| f.push(b));
        cell_opt(t, p.nonce, |b, n| push_hex(b, &n));
        cell_opt(t, p.client, |b, s| push_sock(b, &s));
        cell_opt(t, p.server, push_ipv4);
        cell_opt(t, p.ra_from, push_ipv4);
        cell_opt(t, p.cone, |b, c| b.extend_from_slice(yes_no(c).as_bytes()));
        cell_opt(t, p.origin, |b, s| push_sock(b, &s));
        cell_opt(t, p.rtt_ms, |b, r| push_fixed(b, r, 3));
        cell_join(t, &p.flags, usize::MAX, |b, f| b.extend_from_slice(f.as_bytes()));
    }
}

/// A yes/no table cell's text.
fn yes_no(x: bool) -> &'static str {
    if x {
        "yes"
    } else {
        "no"
    }
}

/// Up to `max` items separated by spaces, then `… (N more)`: one table cell.
fn cell_join<T>(t: &mut TextTable, v: &[T], max: usize, mut f: impl FnMut(&mut Vec<u8>, &T)) {
    let b = t.buf();
    for (i, x) in v.iter().take(max).enumerate() {
        if i > 0 {
            b.push(b' ');
        }
        f(b, x);
    }
    if v.len() > max {
        if max > 0 {
            b.push(b' ');
        }
        b.extend_from_slice("… (".as_bytes());
        push_u64(b, (v.len() - max) as u64);
        b.extend_from_slice(b" more)");
    }
    t.end_cell();
}

fn cell_u64(t: &mut TextTable, v: u64) {
    push_u64(t.buf(), v);
    t.end_cell();
}

fn push_sock(b: &mut Vec<u8>, s: &Sock) {
    push_ipv4_port(b, s.ip, s.port);
}

/// `-` or the value's text.
fn cell_opt<T>(t: &mut TextTable, v: Option<T>, f: impl FnOnce(&mut Vec<u8>, T)) {
    match v {
        Some(v) => f(t.buf(), v),
        None => t.buf().push(b'-'),
    }
    t.end_cell();
}

/// A float with `{:.N}` (core::fmt: its rounding is the reference).
fn push_fixed(b: &mut Vec<u8>, x: f64, digits: usize) {
    // Writing to a Vec cannot fail.
    let _ = write!(b, "{x:.digits$}");
}

impl AnalysisReport {
    /// The report as one JSON document.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Writes the report as one JSON document to `w`, byte for byte what serde_json writes
    /// from its `Serialize` (`to_writer_pretty` for [`Style::Pretty`], `to_writer` for
    /// [`Style::Compact`]) with no newline after it, but without a serde call per key and
    /// value. `capture`, when given, is added as the document's last key, `capture`
    /// (`pcap --analyze --summary`: the capture counters).
    pub fn write_json(&self, w: &mut dyn Write, style: Style, capture: Option<&serde_json::Value>) -> io::Result<()> {
        self.write_json_with(w, style, capture, &self.processes, SHARING)
    }

    /// [`AnalysisReport::write_json`] with the processes given apart (views, or processes
    /// whose views are made as they are written) and long arrays shared between two threads
    /// as `sharing` says.
    fn write_json_with<P: JsonView + Sync>(
        &self,
        w: &mut dyn Write,
        style: Style,
        capture: Option<&serde_json::Value>,
        processes: &[P],
        sharing: Sharing,
    ) -> io::Result<()> {
        let mut j = ReportJson::new(JsonText::new(style));
        j.begin_object();
        j.key(k!("clients"));
        j_seq(&mut j, w, &self.clients, sharing)?;
        j.key(k!("servers"));
        j_seq(&mut j, w, &self.servers, sharing)?;
        j.key(k!("relays"));
        j_seq(&mut j, w, &self.relays, sharing)?;
        j.key(k!("processes"));
        j_seq(&mut j, w, processes, sharing)?;
        j.key(k!("rs_ra"));
        j_seq(&mut j, w, &self.rs_ra, sharing)?;
        j.key(k!("anomalies"));
        j_seq(&mut j, w, &self.anomalies, sharing)?;
        j.key(k!("summary"));
        self.summary.json(&mut j);
        if let Some(c) = capture {
            j.key(k!("capture"));
            j.value(c);
        }
        j.end_object();
        j.write_to(w)
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

    /// The client with this Teredo address or mapped address:port (text as their `Display`, or
    /// any text that parses to the same address).
    pub fn client(&self, key: &str) -> Option<&ClientView> {
        let v6: Option<Ipv6Addr> = key.parse().ok();
        let mapped: Option<std::net::SocketAddrV4> = key.parse().ok();
        self.clients.iter().find(|c| {
            Some(c.address) == v6 || mapped.is_some_and(|m| (*m.ip(), m.port()) == (c.mapped_address, c.mapped_port))
        })
    }

    /// Human tables: clients, servers, relays, processes, RS/RA pairs, anomalies.
    pub fn write_tables(&self, w: &mut dyn Write, color: bool) -> io::Result<()> {
        let s = &self.summary;
        // "1 server", "2 servers"
        let n = |count: u64, one: &str, many: &str| format!("{count} {}", if count == 1 { one } else { many });
        let len = |v: usize| v as u64;
        writeln!(
            w,
            "Teredo analysis: {} ({} merged), {}, {}, {}, {}, {}",
            n(s.packets, "packet", "packets"),
            n(s.duplicates, "copy", "copies"),
            n(len(self.clients.len()), "client", "clients"),
            n(len(self.servers.len()), "server", "servers"),
            n(len(self.relays.len()), "relay", "relays"),
            n(len(self.processes.len()), "process", "processes"),
            n(len(self.anomalies.len()), "anomaly", "anomalies")
        )?;
        let draw = |w: &mut dyn Write, title: &str, t: &TextTable| draw_parts(w, title, std::slice::from_ref(t));
        if !self.clients.is_empty() {
            let mut t = TextTable::new(
                &[
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
                ],
                color,
            );
            for c in &self.clients {
                push_ipv6(t.buf(), &c.address);
                if !c.address_observed {
                    t.buf().extend_from_slice(b" (from RA)");
                }
                t.end_cell();
                push_ipv4(t.buf(), c.server);
                t.end_cell();
                t.cell(yes_no(c.cone));
                push_ipv4_port(t.buf(), c.mapped_address, c.mapped_port);
                t.end_cell();
                t.cell(c.nat_type);
                t.cell(&c.first_seen);
                t.cell(&c.last_seen);
                push_u64(t.buf(), c.packets.sent);
                t.buf().push(b'/');
                push_u64(t.buf(), c.packets.received);
                t.end_cell();
                cell_u64(&mut t, c.peers_total.into());
                cell_join(&mut t, &c.relays, 3, push_sock);
            }
            draw(w, "Clients", &t)?;
        }
        if !self.servers.is_empty() {
            let mut t = TextTable::new(
                &["server", "secondary", "clients", "RS", "RA", "unanswered RS", "RTT ms min/median/max"],
                color,
            );
            for v in &self.servers {
                push_ipv4(t.buf(), v.address);
                t.end_cell();
                if let Some(x) = v.secondary {
                    push_ipv4(t.buf(), x);
                }
                t.end_cell();
                cell_u64(&mut t, v.clients as u64);
                cell_u64(&mut t, v.rs);
                cell_u64(&mut t, v.ra);
                cell_u64(&mut t, v.unanswered_rs);
                for (i, x) in [v.rtt_ms.min, v.rtt_ms.median, v.rtt_ms.max].into_iter().enumerate() {
                    if i > 0 {
                        t.buf().push(b'/');
                    }
                    match x {
                        Some(x) => push_fixed(t.buf(), x, 3),
                        None => t.buf().push(b'-'),
                    }
                }
                t.end_cell();
            }
            draw(w, "Servers", &t)?;
        }
        if !self.relays.is_empty() {
            let mut t = TextTable::new(&["relay", "host-specific", "packets", "clients", "IPv6 hosts"], color);
            for r in &self.relays {
                push_ipv4_port(t.buf(), r.address, r.port);
                t.end_cell();
                t.cell(yes_no(r.host_specific));
                cell_u64(&mut t, r.packets);
                cell_join(&mut t, &r.clients, 3, push_ipv6);
                cell_join(&mut t, &r.ipv6_hosts, 3, push_ipv6);
            }
            draw(w, "Relays", &t)?;
        }
        if !self.processes.is_empty() {
            let parts = rows_in_parts(&self.processes, PROCESS_HEADER, color, process_rows);
            draw_parts(w, "Processes", &parts)?;
        }
        if !self.rs_ra.is_empty() {
            let parts = rows_in_parts(&self.rs_ra, RS_RA_HEADER, color, rs_ra_rows);
            draw_parts(w, "RS/RA pairs", &parts)?;
        }
        if !self.anomalies.is_empty() {
            let mut t = TextTable::new(&["anomaly", "count", "frames", "detail"], color);
            for a in &self.anomalies {
                t.cell(a.kind);
                cell_u64(&mut t, a.count);
                cell_join(&mut t, &a.frames, 8, |b, f| f.push(b));
                t.cell(&a.detail);
            }
            draw(w, "Anomalies", &t)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Format, Output};
    use std::net::SocketAddrV4;

    fn sock(ip: [u8; 4], port: u16) -> Sock {
        Sock { ip: Ipv4Addr::from(ip), port }
    }

    /// IPv6 addresses with the run of zeros at every place and length, and the IPv4 forms.
    fn v6s() -> Vec<Ipv6Addr> {
        let mut v = Vec::new();
        for start in 0..8 {
            for len in 1..=8 - start {
                let mut g = [0x2001u16, 0xdb8, 0xa, 0xbc, 0xdef, 0x1, 0xffff, 0x9];
                for x in &mut g[start..start + len] {
                    *x = 0;
                }
                v.push(Ipv6Addr::from(g));
            }
        }
        v.extend(
            ["::ffff:192.0.2.1", "::192.0.2.1", "2001:0:c000:201:8000:356e:39cc:9be1"]
                .map(|s| s.parse::<Ipv6Addr>().unwrap()),
        );
        v
    }

    fn edge_report() -> AnalysisReport {
        let v6 = v6s();
        let socks = vec![sock([0, 0, 0, 0], 0), sock([255, 255, 255, 255], 65535), sock([192, 0, 2, 1], 3544)];
        let frames =
            vec![FrameNo::N(0), FrameNo::N(1), FrameNo::N(u64::MAX), FrameNo::F(0, 1), FrameNo::F(u32::MAX, u64::MAX)];
        let client = ClientView {
            address: v6[3],
            server: Ipv4Addr::new(192, 0, 2, 1),
            cone: true,
            mapped_address: Ipv4Addr::new(198, 51, 100, 255),
            mapped_port: 65535,
            nat_type: "cone",
            first_seen: rfc3339(0),
            last_seen: rfc3339(1_700_000_000_123_456_789),
            packets: Directions { sent: 0, received: u64::MAX },
            peers: v6.clone(),
            relays: socks.clone(),
            bytes: Directions { sent: 1, received: 2 },
            address_observed: false,
            flags: Some(FlagsView {
                value: "0x8000".into(),
                random_bits: "0x0000".into(),
                reserved: false,
                u: true,
                g: false,
            }),
            sockets: socks.clone(),
            mapping_changes: vec![MappingChangeView { frame: FrameNo::F(1, 2), from: socks[0], to: socks[1] }],
            first_frame: FrameNo::N(1),
            last_frame: FrameNo::F(2, 3),
            peers_total: u32::MAX,
        };
        let process = |kind: &'static str, q: bool| ProcessView {
            kind,
            outcome: "failed",
            frames: frames.clone(),
            duration_ms: 0.1 + 0.2,
            nat_type: q.then_some("unknown"),
            mapped_address: if q { QualField::Value(None) } else { QualField::Absent },
            mapped_port: if q { QualField::Value(Some(0)) } else { QualField::Absent },
            server: if q { QualField::Value(Some(Ipv4Addr::new(10, 0, 0, 1))) } else { QualField::Absent },
            frames_truncated: q,
            steps: frames.iter().map(|&frame| StepView { step: "rs-to-primary", frame }).collect(),
            failed_step: Some("ra-from-primary"),
            client: Some(v6[0]),
            peer: None,
            relay: Some(socks[1]),
            path: None,
            interval_s: Some(IntervalView { min: 1e-7, median: 30.0, max: 1e21 }),
            evidence: vec!["quote \" backslash \\ newline \n tab \t § €".into(), String::new()],
        };
        AnalysisReport {
            clients: vec![client.clone(), ClientView { flags: None, peers: vec![], relays: vec![], ..client }],
            servers: vec![ServerView {
                address: Ipv4Addr::new(192, 0, 2, 1),
                clients: 0,
                rs: 1,
                ra: 2,
                unanswered_rs: 3,
                rtt_ms: RttView { min: Some(0.0), median: Some(f64::NAN), max: None },
                secondary: Some(Ipv4Addr::new(192, 0, 2, 2)),
            }],
            relays: vec![RelayView {
                address: Ipv4Addr::UNSPECIFIED,
                port: 0,
                clients: v6.clone(),
                ipv6_hosts: vec![],
                host_specific: true,
                packets: 7,
            }],
            processes: vec![process("qualification", true), process("inter-site", false)],
            rs_ra: vec![
                PairView {
                    nonce: Some([0, 1, 0xab, 0xcd, 0xef, 0x10, 0xff, 9]),
                    rs_frame: Some(FrameNo::N(5)),
                    ra_frame: Some(FrameNo::F(1, 6)),
                    rtt_ms: Some(f64::INFINITY),
                    client: Some(socks[0]),
                    server: Some(Ipv4Addr::new(192, 0, 2, 1)),
                    ra_from: None,
                    cone: Some(false),
                    origin: Some(socks[1]),
                    flags: vec!["unanswered", "reused-nonce"],
                },
                PairView {
                    nonce: None,
                    rs_frame: None,
                    ra_frame: None,
                    rtt_ms: None,
                    client: None,
                    server: None,
                    ra_from: None,
                    cone: None,
                    origin: None,
                    flags: vec![],
                },
            ],
            anomalies: vec![AnomalyView {
                kind: "mapping-mismatch",
                frames: vec![],
                detail: "\u{1} control".into(),
                count: 0,
            }],
            summary: SummaryView {
                frames: 1,
                teredo_frames: 2,
                duplicates: 3,
                packets: 4,
                icmp_quoting_teredo: 5,
                first_seen: None,
                last_seen: Some(rfc3339(-1)),
                clients_not_tracked: 6,
                processes_not_kept: 7,
                pairs_not_kept: 8,
            },
        }
    }

    /// The document `pcap --analyze` writes: `write_json` through `Output::document_with`.
    fn document_with_capture(r: &AnalysisReport, format: Format, capture: Option<&serde_json::Value>) -> String {
        let mut o = Output::new(Vec::new(), format, false);
        o.document_with(|w, style| r.write_json(w, style, capture)).unwrap();
        o.finish().unwrap();
        String::from_utf8(o.writer().clone()).unwrap()
    }

    fn document(r: &AnalysisReport, format: Format) -> String {
        document_with_capture(r, format, None)
    }

    /// What serde_json writes for the report with the capture counters after it (the
    /// `#[serde(flatten)]` document `pcap --analyze --summary` used to serialise).
    fn serde_text(r: &AnalysisReport, capture: Option<&serde_json::Value>, pretty: bool) -> String {
        #[derive(Serialize)]
        struct Doc<'r> {
            #[serde(flatten)]
            report: &'r AnalysisReport,
            #[serde(skip_serializing_if = "Option::is_none")]
            capture: Option<&'r serde_json::Value>,
        }
        let d = Doc { report: r, capture };
        if pretty {
            serde_json::to_string_pretty(&d).unwrap()
        } else {
            serde_json::to_string(&d).unwrap()
        }
    }

    #[test]
    fn written_json_is_serde_json_on_edge_values() {
        let capture = serde_json::json!({
            "files": 2, "frames": 10, "ts": -1, "ratio": 0.25,
            "by_type": {"bubble": 1, "odd \"key\"\n": [], "empty": {}},
            "linktypes": [{"linktype": 1, "name": "EN10MB"}],
            "note": null, "ok": true
        });
        for r in [edge_report(), AnalysisReport { clients: vec![], processes: vec![], ..edge_report() }] {
            let value = serde_json::to_value(&r).unwrap();
            assert_eq!(document(&r, Format::Json), serde_json::to_string_pretty(&value).unwrap() + "\n");
            assert_eq!(document(&r, Format::Ndjson), serde_json::to_string(&value).unwrap() + "\n");
            // and field by field serde gives the same text as through a Value
            assert_eq!(serde_json::to_string_pretty(&r).unwrap(), serde_json::to_string_pretty(&value).unwrap());
            for (format, pretty) in [(Format::Json, true), (Format::Ndjson, false)] {
                assert_eq!(document(&r, format), serde_text(&r, None, pretty) + "\n");
                let got = document_with_capture(&r, format, Some(&capture));
                assert_eq!(got, serde_text(&r, Some(&capture), pretty) + "\n", "{format:?}");
                let mut want = value.clone();
                want["capture"] = capture.clone();
                assert_eq!(serde_json::from_str::<serde_json::Value>(&got).unwrap(), want);
            }
        }
    }

    /// Arrays shared between two threads give the same text as written on one, wherever
    /// they are split (processes of different lengths move the split point); names written
    /// again are the same text.
    #[test]
    fn written_on_two_threads_is_the_same_text() {
        let e = edge_report();
        let mut processes = Vec::new();
        for i in 0..9 {
            let mut p = e.processes[i % 2].clone();
            p.frames.truncate(i % 5);
            p.steps.truncate(i % 4);
            p.evidence.truncate(i % 3);
            // names written again (from the memo), too long to keep, or escaped
            p.outcome = ["completed", "a name longer than the thirty-two bytes kept", "quote \" tab \t"][i % 3];
            processes.push(p);
        }
        let rs_ra = (0..5).map(|i| e.rs_ra[i % 2].clone()).collect();
        let r = AnalysisReport { processes, rs_ra, ..e };
        for style in [Style::Pretty, Style::Compact] {
            let want = serde_text(&r, None, style == Style::Pretty);
            for min_len in [0, 2, 3, 5, 9, 10, 1000] {
                for block in [0, 1, 2, 20, 45, 100, 2048] {
                    let mut got = Vec::new();
                    r.write_json_with(&mut got, style, None, &r.processes, Sharing { min_len, block }).unwrap();
                    assert_eq!(String::from_utf8(got).unwrap(), want, "{style:?} {min_len} {block}");
                }
            }
        }
        for n in 0..12 {
            let v: Vec<usize> = (0..n).collect();
            for parallel_min in [0, 2, 5, 100] {
                let (got, also) = par_map_and(&v, parallel_min, |x| x * 3, || n);
                assert_eq!((got, also), (v.iter().map(|x| x * 3).collect::<Vec<_>>(), n));
            }
        }
    }

    /// The report written with each process's view made as it is written is the report's
    /// JSON, byte for byte, whatever the blocks and whichever thread renders each; the clients'
    /// NAT types (from the qualification processes) included.
    #[test]
    fn report_written_from_the_processes_is_the_report() {
        let mut paths: Vec<String> = Vec::new();
        for dir in ["testdata/lab", "testdata/generated"] {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let whole = !p.to_string_lossy().contains("truncated");
                if whole && p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                    paths.push(p.to_string_lossy().into_owned());
                }
            }
        }
        paths.sort();
        let mut a = Analyzer::new(super::super::AnalyzeOptions::default());
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        super::super::analyze_files(&mut a, &refs, &crate::dissect::DissectOptions::default()).unwrap();
        let r = a.report();
        assert!(r.processes.len() >= 20, "{}", r.processes.len());
        assert!(
            r.clients.iter().any(|c| c.nat_type == "restricted") && r.clients.iter().any(|c| c.nat_type == "symmetric")
        );
        let capture = serde_json::json!({"frames": 1});
        for style in [Style::Pretty, Style::Compact] {
            for cap in [None, Some(&capture)] {
                let mut want = Vec::new();
                r.write_json(&mut want, style, cap).unwrap();
                for sharing in [SHARING, Sharing { min_len: 0, block: 0 }, Sharing { min_len: 2, block: 40 }] {
                    let mut got = Vec::new();
                    a.write_report_json_with(&mut got, style, cap, sharing).unwrap();
                    assert_eq!(
                        String::from_utf8(got).unwrap(),
                        String::from_utf8(want.clone()).unwrap(),
                        "{style:?} {sharing:?}"
                    );
                }
            }
        }
    }

    /// A write that fails (stdout closed) ends the report with its error, the second thread
    /// included: whatever the point of failure, the call returns (a second thread blocked on
    /// a full channel nobody reads any more would hang it).
    #[test]
    fn a_failed_write_ends_the_report() {
        /// Takes `left` bytes, then fails.
        struct Closing {
            left: usize,
        }
        impl Write for Closing {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                if self.left == 0 {
                    return Err(io::Error::from(io::ErrorKind::BrokenPipe));
                }
                let n = b.len().min(self.left);
                self.left -= n;
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        // On a thread of its own, not scoped: a report that hangs fails the test, not hang it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut a = Analyzer::new(super::super::AnalyzeOptions::default());
            let paths = ["testdata/teredo-lab-miredo.pcapng", "testdata/lab/restricted.pcapng"];
            super::super::analyze_files(&mut a, &paths, &crate::dissect::DissectOptions::default()).unwrap();
            let mut whole = Vec::new();
            let sharing = Sharing { min_len: 2, block: 40 };
            a.write_report_json_with(&mut whole, Style::Pretty, None, sharing).unwrap();
            assert!(whole.len() > 20_000, "{}", whole.len());
            // every 997 bytes, in blocks of the size used and in blocks of one element
            for left in (0..whole.len()).step_by(997) {
                for sharing in [sharing, Sharing { min_len: 2, block: 1 }] {
                    let r = a.write_report_json_with(&mut Closing { left }, Style::Pretty, None, sharing);
                    let _ = tx.send(Some((left, r.is_err())));
                }
            }
            let _ = tx.send(None);
        });
        let mut calls = 0;
        while let Some((left, failed)) =
            rx.recv_timeout(std::time::Duration::from_secs(30)).expect("the report did not return")
        {
            assert!(failed, "a write failed after {left} bytes, and the report said nothing");
            calls += 1;
        }
        assert!(calls > 40, "{calls}");
    }

    /// Addresses, sockets and frames in JSON and tables are std's `Display` text.
    #[test]
    fn values_are_display_text() {
        let r = edge_report();
        let v = serde_json::from_str::<serde_json::Value>(&document(&r, Format::Json)).unwrap();
        let c = &v["clients"][0];
        let peers: Vec<String> = v6s().iter().map(|a| a.to_string()).collect();
        assert_eq!(c["peers"], serde_json::json!(peers));
        let socks = ["0.0.0.0:0", "255.255.255.255:65535", "192.0.2.1:3544"];
        assert_eq!(c["relays"], serde_json::json!(socks));
        for (s, want) in r.clients[0].relays.iter().zip(socks) {
            assert_eq!(SocketAddrV4::new(s.ip, s.port).to_string(), want);
        }
        assert_eq!(c["mapped_address"], "198.51.100.255");
        assert_eq!(c["mapping_changes"][0]["frame"], format!("{}:{}", 1, 2));
        let frames = &v["processes"][0]["frames"];
        assert_eq!(frames[2], u64::MAX);
        assert_eq!(frames[4], format!("{}:{}", u32::MAX, u64::MAX));
        assert_eq!(frames[3], "0:1");
        assert_eq!(v["rs_ra"][0]["nonce"], "0001abcdef10ff09");
        assert_eq!(v["rs_ra"][0]["rtt_ms"], serde_json::Value::Null);
        for f in &r.processes[0].frames {
            let d = match *f {
                FrameNo::N(n) => n.to_string(),
                FrameNo::F(a, b) => format!("{a}:{b}"),
            };
            assert_eq!(f.to_string(), d);
        }
        let mut t = Vec::new();
        r.write_tables(&mut t, false).unwrap();
        let t = String::from_utf8(t).unwrap();
        for want in [
            format!("{} (from RA)", r.clients[0].address),
            "198.51.100.255:65535".to_string(),
            "255.255.255.255:65535".to_string(),
            format!("rs-to-primary ({}:{})", u32::MAX, u64::MAX),
            format!("{}", v6s()[0]),
            "0001abcdef10ff09".to_string(),
        ] {
            assert!(t.contains(&want), "{want}");
        }
    }
}
