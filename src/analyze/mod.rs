//! Capture analysis: what happened across packets, and why it failed.
//!
//! [`Analyzer::observe`] takes one [`Dissection`] at a time (from a file or a live capture) and
//! keeps state bounded by the number of clients, servers, relays and peers — never by the
//! number of packets: every per-entity list is capped and says when it was cut. Frames may be
//! dissected elsewhere (other threads): [`Observation::from_dissection`] keeps what the
//! analysis needs of one, owned, and [`Analyzer::feed`] takes the observations in capture
//! order.
//! [`Analyzer::report`] may be called at any time and returns an [`AnalysisReport`] (JSON and
//! tables, see [`report`]).
//!
//! What is recognised (names from RFC 4380 and the Teredo overview's "Teredo Processes"):
//! - clients (by their mapping: server, mapped address, mapped port, RFC 4380 §4), servers and
//!   their secondary address (RFC 4380 §5.3.2: a cone RS is answered from another address),
//!   relays and host-specific relays (RFC 4380 §5.4, §2.14);
//! - processes: `qualification` (RFC 4380 §5.2.1), `maintenance` (§5.2.5), `on-link` (local
//!   discovery, §5.2.8), `inter-site` (bubbles, §5.2.6), `relay-discovery` (direct IPv6
//!   connectivity test, §5.2.9), `host-specific-relay` and `ipv6-initiated` (§5.4.1);
//! - Router Solicitation / Advertisement pairs by Authentication nonce (§5.2.1, §5.3.2);
//! - anomalies, each with frame numbers and a sentence.
//!
//! # Several vantage points
//! A pcapng with several interfaces, or a capture with duplicated frames, shows one packet
//! several times. A Teredo packet whose UDP payload (hash and length) was seen less than
//! [`AnalyzeOptions::dedup_window_ms`] earlier with the same outer source or the same outer
//! destination is counted once. Copies taken inside and outside a NAT differ in one outer
//! endpoint only, so they are merged too, and the translation is remembered.

mod pairs;
mod prefetch;
pub mod report;

use crate::addr::{ipv4_scope, Ipv4Scope, TeredoAddress, TeredoPrefix};
use crate::dissect::{Dissection, MessageType};
use crate::output::ipfmt::Ipv6Text;
use crate::wire::icmpv6::Icmpv6Body;
use crate::wire::udp::TEREDO_PORT;
// The tables are keyed by addresses and nonces from untrusted captures: foldhash is
// several times faster than SipHash and still seeded per process against collision floods.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use pairs::{pair_key, relay_key, FpTable, PairTable, NOT_KEPT, NO_BUBBLES, NO_PROC};
use std::net::{Ipv4Addr, Ipv6Addr};

pub use report::AnalysisReport;

/// The Teredo IPv4 Discovery Address 224.0.0.253 (RFC 4380 §2.17, §5.2.8).
pub const DISCOVERY_ADDRESS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 253);

/// Tuning of the analysis. The defaults follow RFC 4380's timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzeOptions {
    /// Window for merging copies of one packet (vantage points, duplicated frames), ms;
    /// 0 turns de-duplication off.
    pub dedup_window_ms: u64,
    /// Frame numbers kept per process, anomaly or client list.
    pub max_frames: usize,
    /// RS/RA pairs kept in the report.
    pub max_pairs: usize,
    /// Processes kept (the oldest finished ones are summarised when exceeded).
    pub max_processes: usize,
    /// Clients tracked (further ones are counted, not tracked).
    pub max_clients: usize,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            dedup_window_ms: 1000,
            max_frames: 32,
            max_pairs: 10_000,
            max_processes: 20_000,
            max_clients: 200_000,
        }
    }
}

/// Where a frame came from and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameMeta {
    /// Index of the capture file (0 for the first or only one).
    pub file_index: usize,
    /// Frame number in that file, 1-based.
    pub frame: u64,
    /// Timestamp, seconds since the Unix epoch.
    pub ts_sec: i64,
    /// Timestamp, nanoseconds within the second.
    pub ts_nsec: u32,
    /// Capture interface (pcapng), 0 otherwise.
    pub interface_id: u32,
}

impl FrameMeta {
    /// The metadata of a frame read by [`crate::capture`].
    pub fn from_frame(file_index: usize, f: &crate::capture::Frame<'_>) -> Self {
        FrameMeta { file_index, frame: f.number, ts_sec: f.ts_sec, ts_nsec: f.ts_nsec, interface_id: f.interface_id }
    }
    fn ns(&self) -> i64 {
        self.ts_sec.saturating_mul(1_000_000_000).saturating_add(i64::from(self.ts_nsec))
    }
    fn fref(&self) -> FrameRef {
        FrameRef { file: self.file_index.min(u32::MAX as usize) as u32, frame: self.frame }
    }
}

/// A frame as the analysis' handlers see it: its reference and its time in ns, each computed
/// once per frame (the handlers ask for both several times a packet).
#[derive(Debug, Clone, Copy)]
struct At {
    ns: i64,
    fref: FrameRef,
}

impl At {
    fn of(m: &FrameMeta) -> At {
        At { ns: m.ns(), fref: m.fref() }
    }
    #[inline(always)]
    fn ns(&self) -> i64 {
        self.ns
    }
    #[inline(always)]
    fn fref(&self) -> FrameRef {
        self.fref
    }
}

/// A frame: capture file index and 1-based frame number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FrameRef {
    /// Capture file index.
    pub file: u32,
    /// Frame number.
    pub frame: u64,
}

/// A capped list of frames that remembers how many it dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameList {
    /// The first frames (up to the cap).
    pub frames: Vec<FrameRef>,
    /// How many frames were added in all.
    pub total: u64,
}

impl FrameList {
    /// Adds `f` (listed unless the list is at `cap`, or already ends with `f`).
    fn push(&mut self, f: FrameRef, cap: usize) {
        if self.frames.len() < cap && self.frames.last() == Some(&f) {
            self.total += 1;
        } else {
            self.push_new(f, cap);
        }
    }
    /// [`FrameList::push`] of a frame known not to be the list's last: the list is not read.
    fn push_new(&mut self, f: FrameRef, cap: usize) {
        self.total += 1;
        if self.frames.len() < cap {
            self.frames.push(f);
        }
    }
    /// True when frames were left out.
    pub fn truncated(&self) -> bool {
        self.total > self.frames.len() as u64
    }
}

/// An IPv4 transport address as a small Copy key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sock {
    /// IPv4 address.
    pub ip: Ipv4Addr,
    /// UDP port.
    pub port: u16,
}

impl std::fmt::Display for Sock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.ip, self.port)
    }
}

/// A client's mapping: its Teredo server and the NAT's external address and port (RFC 4380 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mapping {
    /// Teredo server (from the address or the RA's prefix).
    pub server: Ipv4Addr,
    /// Mapped (external) address and port.
    pub mapped: Sock,
}

// The analysis tables are keyed by these: hashed as one or two words (the derived impls feed
// the hasher every octet array with its length).
impl std::hash::Hash for Sock {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(ip_key(*self));
    }
}

impl Mapping {
    /// The mapping a Teredo address embeds: its server, mapped address and port.
    fn of(a: &TeredoAddress) -> Mapping {
        Mapping { server: a.server, mapped: Sock { ip: a.mapped_address, port: a.mapped_port } }
    }

    /// The mapping as one word, for hashing.
    fn word(&self) -> u64 {
        u64::from(u32::from(self.server)) << 16 ^ ip_key(self.mapped).rotate_left(24)
    }
}

impl std::hash::Hash for Mapping {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.word());
    }
}

pub use crate::nat::NatType;

/// Kinds of process (issue 5 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProcessKind {
    /// RFC 4380 §5.2.1.
    Qualification,
    /// RFC 4380 §5.2.5.
    Maintenance,
    /// RFC 4380 §5.2.8 local discovery.
    OnLink,
    /// RFC 4380 §5.2.6 bubbles between two clients.
    InterSite,
    /// RFC 4380 §5.2.9: client to an IPv6-only host through a relay.
    RelayDiscovery,
    /// Client and a host-specific relay (RFC 4380 §2.14, either direction).
    HostSpecificRelay,
    /// IPv6-only host to a client through a relay (RFC 4380 §5.4.1).
    Ipv6Initiated,
}

impl ProcessKind {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessKind::Qualification => "qualification",
            ProcessKind::Maintenance => "maintenance",
            ProcessKind::OnLink => "on-link",
            ProcessKind::InterSite => "inter-site",
            ProcessKind::RelayDiscovery => "relay-discovery",
            ProcessKind::HostSpecificRelay => "host-specific-relay",
            ProcessKind::Ipv6Initiated => "ipv6-initiated",
        }
    }
}

/// Process outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Every step seen.
    Completed,
    /// Stopped at a step.
    Failed,
    /// The capture ended (or stopped showing it) before the end.
    Incomplete,
}

impl Outcome {
    /// `completed`, `failed`, `incomplete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::Incomplete => "incomplete",
        }
    }
}

type ClientId = u32;
type ProcId = usize;

/// The steps of the processes, named in the report as the Teredo overview's "Teredo
/// Processes" and RFC 4380 §5.2 describe them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum StepName {
    RouterSolicitation,
    ConeRs,
    RsToPrimary,
    RsToSecondary,
    RaToConeRs,
    RaFromPrimary,
    RaFromSecondary,
    RouterAdvertisement,
    RaDroppedByNat,
    DiscoveryBubble,
    UnicastReplyBubble,
    DirectBubble,
    ReplyBubble,
    DirectBubbleDropped,
    ReplyBubbleDropped,
    IndirectBubble,
    IndirectBubbleForwarded,
    IndirectBubbleWithRelayOrigin,
    DirectBubbleToRelay,
    BubbleToRelay,
    BubbleToServer,
    EchoRequestViaServer,
    DataViaServer,
    DataToRelay,
    DataFromRelay,
    EchoReplyFromRelay,
    FirstData,
}

impl StepName {
    /// The step's name in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            StepName::RouterSolicitation => "router-solicitation",
            StepName::ConeRs => "cone-rs",
            StepName::RsToPrimary => "rs-to-primary",
            StepName::RsToSecondary => "rs-to-secondary",
            StepName::RaToConeRs => "ra-to-cone-rs",
            StepName::RaFromPrimary => "ra-from-primary",
            StepName::RaFromSecondary => "ra-from-secondary",
            StepName::RouterAdvertisement => "router-advertisement",
            StepName::RaDroppedByNat => "ra-dropped-by-nat",
            StepName::DiscoveryBubble => "discovery-bubble",
            StepName::UnicastReplyBubble => "unicast-reply-bubble",
            StepName::DirectBubble => "direct-bubble",
            StepName::ReplyBubble => "reply-bubble",
            StepName::DirectBubbleDropped => "direct-bubble-dropped",
            StepName::ReplyBubbleDropped => "reply-bubble-dropped",
            StepName::IndirectBubble => "indirect-bubble",
            StepName::IndirectBubbleForwarded => "indirect-bubble-forwarded",
            StepName::IndirectBubbleWithRelayOrigin => "indirect-bubble-with-relay-origin",
            StepName::DirectBubbleToRelay => "direct-bubble-to-relay",
            StepName::BubbleToRelay => "bubble-to-relay",
            StepName::BubbleToServer => "bubble-to-server",
            StepName::EchoRequestViaServer => "echo-request-via-server",
            StepName::DataViaServer => "data-via-server",
            StepName::DataToRelay => "data-to-relay",
            StepName::DataFromRelay => "data-from-relay",
            StepName::EchoReplyFromRelay => "echo-reply-from-relay",
            StepName::FirstData => "first-data",
        }
    }

    /// The step's bit in [`Proc::step_names`].
    fn bit(self) -> u32 {
        1 << self as u32
    }
}

// Every step name has a bit in `Proc::step_names`.
const _: () = assert!((StepName::FirstData as u32) < u32::BITS);

/// One step of a process: 24 bytes (a frame reference and a name would take 40).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub ts: i64,
    frame: u64,
    file: u32,
    pub name: StepName,
}

const _: () = assert!(std::mem::size_of::<Step>() == 24);

impl Step {
    fn new(name: StepName, frame: FrameRef, ts: i64) -> Step {
        Step { ts, frame: frame.frame, file: frame.file, name }
    }
    /// The step's frame.
    pub fn frame(&self) -> FrameRef {
        FrameRef { file: self.file, frame: self.frame }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Qual {
    pub cone_rs: u32,
    pub cone_ra: Option<(FrameRef, Ipv4Addr, Sock)>,
    pub cone_ra_dropped: Option<FrameRef>,
    pub primary: Option<Ipv4Addr>,
    pub primary_rs: u32,
    pub m1: Option<Sock>,
    pub m1_frame: Option<FrameRef>,
    pub secondary: Option<Ipv4Addr>,
    pub secondary_rs: u32,
    pub m2: Option<Sock>,
    pub server: Option<Ipv4Addr>,
    pub closed: bool,
    pub fallback_frame: Option<FrameRef>,
    /// Outer sockets of the first cone RS, of the non-cone RS to the primary and of the RS to
    /// the secondary. The cone test may run on a socket of its own, in parallel with the
    /// mapping comparison (teredo-tool's prober does, against the conntrack trap); through a
    /// symmetric NAT the RS to the secondary leaves from another outer port by definition.
    pub cone_sock: Option<Sock>,
    pub primary_sock: Option<Sock>,
    pub secondary_sock: Option<Sock>,
    /// When the first RA to the cone RS passed this vantage point.
    pub cone_ra_ts: i64,
    /// A cone RS repeated from the cone socket after the RA to it had passed this vantage
    /// point: the RA never reached the client (its NAT dropped it silently).
    pub cone_ra_ignored: Option<(FrameRef, FrameRef)>,
}

impl Qual {
    /// The cone test ran on a socket of its own, in parallel with the non-cone RSs: its RA
    /// says how the NAT filters, but its mapping is not the client's.
    pub fn parallel_cone(&self) -> bool {
        matches!((self.cone_sock, self.primary_sock), (Some(c), Some(p)) if c != p)
    }
}

/// A cone RS repeated within this time after the RA to it is a retry (RFC 4380 §5.2.1: 4 s
/// between RSs), not a later maintenance RS (30 s or more, §5.2.5).
const CONE_RETRY_NS: i64 = 10_000_000_000;

/// RSs held for their RAs before the older ones (60 s) are swept out.
const RS_SWEEP_MIN: usize = 65_536;

/// Entries at most in the sets of (client, peer) and (relay, host) pairs already counted.
const PEER_SET_CAP: usize = 1 << 20;

/// A process (see [`ProcessKind`]). Laid out by hand: what every step of it touches
/// ([`Proc::step`]: its frame and step lists, first and last time) fills the first cache line,
/// what most message handlers then read or count the second.
#[derive(Debug, Clone, Default)]
#[repr(C)]
pub(crate) struct Proc {
    pub frames: FrameList,
    pub steps: Vec<Step>,
    pub last: i64,
    // ---- second line
    pub start: i64,
    /// counters: 0 = requests/bubbles sent, 1 = replies, 2 = dropped (ICMP), 3 = unanswered in a row
    pub n: [u32; 4],
    pub done: Option<i64>,
    pub relay: Option<Sock>,
    pub client: Option<ClientId>,
    pub kind: Option<ProcessKind>,
    pub via_indirect: bool,
    /// The names of the steps in `steps`, one bit each ([`StepName::bit`]).
    step_names: u32,
    // ---- the rest
    /// The last frame touched and the frame of the last step. Reading the ends of `frames`
    /// and `steps` to learn them took a cache miss each, after the process's own.
    touched: FrameKey,
    stepped: FrameKey,
    pub host: Option<Ipv6Addr>,
    pub peer_client: Option<ClientId>,
    pub sock: Option<Sock>,
    pub responder: Option<Sock>,
    pub q: Option<Box<Qual>>,
    pub intervals: Vec<i64>,
    pub last_rs: Option<i64>,
}

const _: () = assert!(std::mem::offset_of!(Proc, start) == 64 && std::mem::offset_of!(Proc, stepped) < 192);

/// A frame as one number when it fits (file below 2^16 - 1, frame below 2^48), else
/// [`FrameKey::UNKNOWN`]. Known keys are one per frame, so two keys that differ are of two
/// frames; equal keys may not be (two unknown ones), and the list is read then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameKey(u64);

impl FrameKey {
    /// No frame yet, or one too large for a key: the list itself is read.
    const UNKNOWN: FrameKey = FrameKey(u64::MAX);

    fn of(f: FrameRef) -> FrameKey {
        if f.file < 0xffff && f.frame < 1 << 48 {
            FrameKey(u64::from(f.file) << 48 | f.frame)
        } else {
            FrameKey::UNKNOWN
        }
    }
}

impl Default for FrameKey {
    fn default() -> Self {
        FrameKey::UNKNOWN
    }
}

impl Proc {
    /// A process starting at `m` (its first frame comes with its first step).
    fn new(kind: ProcessKind, m: &At) -> Proc {
        Proc { kind: Some(kind), start: m.ns(), last: m.ns(), ..Default::default() }
    }
    /// A maintenance refresh (RS or bubble to the server, RFC 4380 §5.2.5): the interval
    /// since the previous one (at most 256 kept), the count, and the step.
    fn refresh(&mut self, ts: i64, name: StepName, m: &At, cap: usize) {
        if let Some(prev) = self.last_rs {
            if self.intervals.len() < 256 {
                self.intervals.push(ts - prev);
            }
        }
        self.last_rs = Some(ts);
        self.n[0] += 1;
        self.step(name, m, cap);
    }

    fn step(&mut self, name: StepName, m: &At, cap: usize) {
        self.touch(m, cap);
        // Steps come in frame order: only the last ones can be of this frame (none when the
        // last step is of another frame, as it mostly is).
        let f = m.fref();
        if self.steps.len() < cap
            && (FrameKey::of(f) != self.stepped
                || !self.steps.iter().rev().take_while(|s| s.frame() == f).any(|s| s.name == name))
        {
            self.push_step(Step::new(name, f, m.ns()));
        }
    }
    fn push_step(&mut self, s: Step) {
        self.step_names |= s.name.bit();
        self.stepped = FrameKey::of(s.frame());
        self.steps.push(s);
    }
    fn touch(&mut self, m: &At, cap: usize) {
        self.touch_frame(m.fref(), cap);
        self.last = self.last.max(m.ns());
        self.start = self.start.min(m.ns());
    }
    /// `FrameList::push` of `f` to `frames`. While the list is below its cap, it ends with
    /// the last frame touched: when that one is another frame, `f` is new.
    fn touch_frame(&mut self, f: FrameRef, cap: usize) {
        let key = FrameKey::of(f);
        if key != self.touched {
            self.frames.push_new(f, cap);
        } else {
            self.frames.push(f, cap);
        }
        self.touched = key;
    }
    /// A step of this name was recorded (in `steps`).
    fn has(&self, name: StepName) -> bool {
        self.step_names & name.bit() != 0
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub mapping: Mapping,
    pub address: Option<Ipv6Addr>,
    pub cone_rs: Option<bool>,
    pub first: i64,
    pub last: i64,
    pub first_frame: FrameRef,
    pub last_frame: FrameRef,
    pub pkts_out: u64,
    pub pkts_in: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub peers: Vec<Ipv6Addr>,
    pub peers_total: u32,
    pub relays: Vec<Sock>,
    pub sockets: Vec<Sock>,
    pub mapping_changes: Vec<(FrameRef, Mapping, Mapping)>,
    pub qualification: Option<ProcId>,
    pub maintenance: Option<ProcId>,
    /// Made from the RA to a cone test that turned out to run on a socket of its own: not
    /// reported (see `retract_cone_client`).
    pub retracted: bool,
    /// The client's relay discovery processes (RFC 4380 §5.2.9) kept, in creation order.
    pub relay_tests: Vec<ProcId>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Server {
    pub secondary: Option<Ipv4Addr>,
    pub primary: Option<Ipv4Addr>,
    pub rs: u64,
    pub ra: u64,
    pub unanswered: u64,
    pub rtt_us: Vec<u32>,
    pub rtt_min: Option<u32>,
    pub rtt_max: Option<u32>,
    pub clients: HashSet<ClientId>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Relay {
    pub clients: Vec<ClientId>,
    pub hosts: Vec<Ipv6Addr>,
    pub hosts_total: u32,
    pub packets: u64,
    pub host_specific: bool,
    pub not_host_specific: bool,
}

#[derive(Debug, Clone, Copy)]
struct RsRec {
    ts: i64,
    /// The RS's frame ([`RsRec::frame`]), its parts unpacked: the record is 48 bytes, a
    /// quarter less than with a `FrameRef` and an `Option<usize>` (an RS table entry of the
    /// 1M-packet capture's 57,344 takes 56 bytes, not 72).
    frame_no: u64,
    file: u32,
    /// The RS's qualification or maintenance process ([`RsRec::proc_id`]).
    proc_no: Option<u32>,
    len: u32,
    src: Sock,
    dst: Ipv4Addr,
    cone: bool,
    auth: bool,
    answered: bool,
}

const _: () = assert!(std::mem::size_of::<RsRec>() == 48);

impl RsRec {
    fn frame(&self) -> FrameRef {
        FrameRef { file: self.file, frame: self.frame_no }
    }
    fn proc_id(&self) -> Option<ProcId> {
        self.proc_no.map(|p| p as ProcId)
    }
}

/// The flags of one RA (at most one of each [`Analyzer::on_ra`] sets), before they go into
/// a [`Pair`] that is kept.
#[derive(Default)]
struct RaFlags {
    names: [&'static str; 6],
    len: usize,
}

impl RaFlags {
    fn push(&mut self, name: &'static str) {
        debug_assert!(self.len < self.names.len(), "more RA flags than RaFlags holds");
        if let Some(slot) = self.names.get_mut(self.len) {
            *slot = name;
            self.len += 1;
        }
    }
    fn names(&self) -> &[&'static str] {
        &self.names[..self.len]
    }
}

/// One RS/RA exchange (RFC 4380 §5.2.1, §5.3.2) matched by nonce.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pair {
    pub nonce: Option<[u8; 8]>,
    pub rs: Option<FrameRef>,
    pub ra: Option<FrameRef>,
    pub rtt_ns: Option<i64>,
    pub client: Option<Sock>,
    pub server: Option<Ipv4Addr>,
    pub ra_from: Option<Ipv4Addr>,
    pub cone: Option<bool>,
    pub origin: Option<Sock>,
    pub flags: Vec<&'static str>,
}

#[derive(Debug, Clone)]
pub(crate) struct Anomaly {
    pub kind: &'static str,
    pub frames: FrameList,
    pub detail: String,
}

/// A client's bubbles to one peer (RFC 4380 §5.2.6 rate limits), made at its first bubble.
#[derive(Debug, Clone, Copy)]
struct BubbleState {
    last_tx: Option<i64>,
    window: [i64; 4],
    n: usize,
    /// When the client last received a packet from the peer since its first bubble
    /// (`i64::MIN`: not since): any packet from the peer is a response.
    last_rx: i64,
}

impl Default for BubbleState {
    fn default() -> Self {
        BubbleState { last_tx: None, window: [0; 4], n: 0, last_rx: i64::MIN }
    }
}

/// A recently seen Teredo packet, for de-duplication: 32 bytes.
#[derive(Debug, Clone, Copy)]
struct Seen {
    hash: u64,
    ts: i64,
    len: u32,
    src: Sock,
    dst: Sock,
}

impl Seen {
    /// The entry holds a packet seen within `window` ns of `ts`.
    #[inline(always)]
    fn live_at(&self, ts: i64, window: i64) -> bool {
        self.ts != i64::MIN && (ts - self.ts).abs() <= window
    }

    const EMPTY: Seen = Seen {
        hash: 0,
        ts: i64::MIN,
        len: 0,
        src: Sock { ip: Ipv4Addr::UNSPECIFIED, port: 0 },
        dst: Sock { ip: Ipv4Addr::UNSPECIFIED, port: 0 },
    };
}

/// The de-duplication table is set-associative: a packet's hash picks one of 2^bits sets of
/// `DEDUP_WAYS` entries, and a new packet replaces the oldest entry of its set. One memory
/// access per packet, nothing to expire. The table starts small (2,048 packets in 64 KiB, in
/// cache) and doubles whenever a packet would replace one still inside the de-duplication
/// window, up to 65,536 packets in 2 MiB: it holds a window's worth of packets at the
/// capture's rate. Beyond that rate a copy is missed only when four later packets of the
/// same set came between the two copies.
const DEDUP_WAYS: usize = 4;
const DEDUP_MIN_BITS: u32 = 9;
const DEDUP_MAX_BITS: u32 = 14;

fn dedup_set(hash: u64, bits: u32) -> usize {
    ((hash ^ (hash >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize
}

/// Where a new entry goes in `set` (a free entry, or the first of the oldest: empty entries
/// are oldest), and whether `hash` is in the set: one pass over it.
fn dedup_slot(set: &[Seen; DEDUP_WAYS], hash: u64) -> (usize, bool) {
    let (mut idx, mut found) = (0, false);
    for (i, x) in set.iter().enumerate() {
        found |= x.hash == hash;
        if x.ts < set[idx].ts {
            idx = i;
        }
    }
    (idx, found)
}

/// The Authentication indicator fields the analysis uses (RFC 4380 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AuthFields {
    nonce: [u8; 8],
    confirmation: u8,
}

/// An ICMPv4 error quoting a Teredo packet: the error's type and code, and the quoted
/// datagram's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quote {
    icmp_type: u8,
    code: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
}

/// What the analysis needs of one dissected frame: small, owned and `Copy`, so that frames can
/// be dissected on other threads while one [`Analyzer`] takes their observations in capture
/// order ([`Analyzer::feed`]). [`Analyzer::observe`] is `feed` of
/// [`Observation::from_dissection`].
///
/// Observations are made on one core and read on another: what every packet's analysis reads
/// comes first and fits the first two cache lines ([`Observation::HOT`] bytes); what only
/// some message types need (RS, RA, indirect bubbles, ICMPv4 errors) comes after.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
pub struct Observation {
    /// Hash and length of the bytes that identify a copy of this packet: the Teredo payload,
    /// or the ICMPv4 message when quoted.
    dedup: (u64, u32),
    /// Teredo packet length (indicators and IPv6).
    len: u32,
    /// The keys of the pairs (sender, destination) and (receiver, source) in the pair table,
    /// when the inner source or destination is a Teredo address (0 otherwise): for prefetching.
    pair_keys: [u64; 2],
    /// The key of (relay, IPv6 host) when the inner destination, or else the source, is native:
    /// the relay is then the outer destination or source (0 otherwise): for prefetching.
    relay_key: u64,
    /// The frame's number, timestamp and interface ([`Observation::set_frame`]).
    frame: u64,
    ts_sec: i64,
    ts_nsec: u32,
    interface_id: u32,
    /// Outer IPv4 source and destination, and the UDP ports (the quoted ones when `quoted`).
    outer: Option<(Sock, Sock)>,
    /// Inner IPv6 source and destination.
    ipv6: Option<(Ipv6Addr, Ipv6Addr)>,
    message_type: MessageType,
    /// The frame holds a Teredo packet (outer, or quoted in an ICMPv4 error).
    teredo: bool,
    /// The Teredo packet is quoted in an ICMPv4 error.
    quoted: bool,
    /// The inner source and destination are native IPv6 (global, not Teredo): IPv6-only hosts.
    native: [bool; 2],
    /// Some address check of the inner Teredo addresses fails ([`AddressFindings`]).
    suspect: bool,
    // ---- read for some message types only
    auth: Option<AuthFields>,
    origin: Option<Sock>,
    /// An RA's first Prefix Information prefix.
    ra_prefix: Option<Ipv6Addr>,
    quote: Option<Quote>,
}

impl Observation {
    /// The facts of a dissected frame the analysis looks at.
    pub fn from_dissection(d: &Dissection<'_>) -> Self {
        let mut o = Observation::NONE;
        o.set(d);
        o
    }

    /// The observation of no Teredo packet.
    const NONE: Observation = Observation {
        dedup: (0, 0),
        len: 0,
        pair_keys: [0; 2],
        relay_key: 0,
        frame: 0,
        ts_sec: 0,
        ts_nsec: 0,
        interface_id: 0,
        outer: None,
        ipv6: None,
        message_type: MessageType::Malformed,
        teredo: false,
        quoted: false,
        native: [false; 2],
        suspect: false,
        auth: None,
        origin: None,
        ra_prefix: None,
        quote: None,
    };

    /// The bytes every packet's analysis reads (the rest only some message types).
    pub const HOT: usize = std::mem::offset_of!(Observation, auth);

    /// Records where the frame came from and when: [`FrameMeta`] but the file's index.
    pub fn set_frame(&mut self, f: &crate::capture::Frame<'_>) {
        (self.frame, self.ts_sec, self.ts_nsec, self.interface_id) = (f.number, f.ts_sec, f.ts_nsec, f.interface_id);
    }

    /// The [`FrameMeta`] of the frame recorded by [`Observation::set_frame`], in file
    /// `file_index`.
    pub fn frame_meta(&self, file_index: usize) -> FrameMeta {
        FrameMeta {
            file_index,
            frame: self.frame,
            ts_sec: self.ts_sec,
            ts_nsec: self.ts_nsec,
            interface_id: self.interface_id,
        }
    }

    /// The inner source (0) or destination (1) as a Teredo address (not a link-local one).
    #[inline(always)]
    fn tao(&self, i: usize) -> Option<TeredoAddress> {
        let (src, dst) = self.ipv6?;
        teredo_of(if i == 0 { &src } else { &dst })
    }

    /// Makes this the observation of `d` ([`Observation::from_dissection`]) in place: a
    /// feeder that keeps observations in a vector writes them there, not on the stack first.
    pub fn set(&mut self, d: &Dissection<'_>) {
        *self = Observation { quoted: d.quoted, ..Observation::NONE };
        let o = self;
        let Some(t) = d.teredo.as_ref() else { return };
        o.teredo = true;
        o.message_type = t.message_type;
        o.len = t.len.min(u32::MAX as usize) as u32;
        o.ipv6 = t.ipv6.as_ref().map(|h| (h.src, h.dst));
        if let Some((src, dst)) = o.ipv6 {
            for (i, (a, peer)) in [(src, dst), (dst, src)].iter().enumerate() {
                let tao = teredo_of(a);
                // native: global unicast and not Teredo (`tao` is None for link-local too)
                o.native[i] = tao.is_none() && !is_link_local(a) && !a.is_multicast() && !a.is_unspecified();
                if let Some(t) = tao {
                    o.pair_keys[i] = pair_key(Mapping::of(&t), *peer);
                    o.suspect |= suspect(a, &t);
                }
            }
        }
        o.auth = t.auth.map(|a| AuthFields { nonce: a.nonce, confirmation: a.confirmation });
        o.origin = t.origin.map(|x| Sock { ip: x.address, port: x.port });
        if t.message_type == MessageType::RouterAdvertisement {
            o.ra_prefix = match t.icmpv6().map(|i| i.body) {
                Some(Icmpv6Body::RouterAdvertisement { options, .. }) => options.prefix().map(|(p, _)| p),
                _ => None,
            };
        }
        let (Some(ip), Some(udp)) = (d.ipv4.as_ref(), d.udp.as_ref()) else { return };
        o.outer = Some((Sock { ip: ip.src, port: udp.src_port }, Sock { ip: ip.dst, port: udp.dst_port }));
        if let (Some((src, dst)), Some((v6src, v6dst))) = (o.outer, o.ipv6) {
            if o.native[1] {
                o.relay_key = relay_key(dst, v6dst);
            } else if o.native[0] {
                o.relay_key = relay_key(src, v6src);
            }
        }
        if d.quoted {
            if let (Some(icmp), Some(q)) = (d.icmpv4.as_ref(), d.quoted_ipv4.as_ref()) {
                o.quote = Some(Quote { icmp_type: icmp.icmp_type, code: icmp.code, src: q.src, dst: q.dst });
                o.dedup = (payload_hash(icmp.raw), icmp.raw.len() as u32);
            }
        } else {
            let end = (t.offset + t.len).min(d.frame.len());
            let payload = d.frame.get(t.offset..end).unwrap_or(&[]);
            o.dedup = (payload_hash(payload), payload.len() as u32);
        }
    }
}

// What every packet's analysis reads fits two cache lines of a line-aligned observation.
const _: () = assert!(Observation::HOT <= 128 && std::mem::size_of::<Observation>() == 192);

/// The observation of a frame without a Teredo packet.
impl Default for Observation {
    fn default() -> Self {
        Observation::NONE
    }
}

/// The analysis state. Feed it frames in capture order with [`Analyzer::observe`].
#[derive(Debug)]
pub struct Analyzer {
    opts: AnalyzeOptions,
    clients: Vec<Client>,
    clients_dropped: u64,
    by_mapping: HashMap<Mapping, ClientId>,
    /// The last client found under each of `CLIENT_CACHE` hashes of a mapping: most packets
    /// find their clients here, before `by_mapping`.
    client_cache: Vec<(Mapping, ClientId)>,
    by_socket: HashMap<Sock, ClientId>,
    servers: HashMap<Ipv4Addr, Server>,
    relays: HashMap<Sock, Relay>,
    procs: Vec<Proc>,
    procs_dropped: u64,
    quals_open: HashMap<Ipv4Addr, ProcId>,
    inter_site: HashMap<(ClientId, ClientId), ProcId>,
    relay_pending: HashMap<(ClientId, Sock), ProcId>,
    on_link: HashMap<Sock, ProcId>,
    pairs_flowing: HashSet<(ClientId, ClientId)>,
    /// Direct bubbles whose sender was not known yet (link-local source, socket not learnt).
    unattributed: HashMap<(Sock, ClientId), (FrameRef, i64)>,
    rs_by_nonce: HashMap<[u8; 8], RsRec>,
    /// `rs_by_nonce` is swept of RSs older than 60 s when it holds more than this.
    rs_sweep_at: usize,
    rs_noauth: HashMap<Sock, RsRec>,
    nonces_seen: HashSet<[u8; 8]>,
    pairs: Vec<Pair>,
    pairs_dropped: u64,
    anomalies: Vec<Anomaly>,
    anomaly_index: HashMap<(u8, u64, u64), usize>,
    /// Bubble states (RFC 4380 §5.2.6 rate limits) of the pairs in `peer_pairs` that sent bubbles.
    bubbles: Vec<BubbleState>,
    seen: Vec<[Seen; DEDUP_WAYS]>,
    seen_bits: u32,
    /// The de-duplication window in ns (`AnalyzeOptions::dedup_window_ms`).
    dedup_window_ns: i64,
    translations: HashMap<Sock, Sock>,
    stats: Stats,
    files: HashSet<usize>,
    last_file: Option<usize>,
    /// Every (client, peer) pair seen, up to [`PEER_SET_CAP`], by a 64-bit fingerprint (a
    /// collision, about 1 in 10^7 at a million pairs, would merge two pairs).
    peer_pairs: PairTable,
    /// Every (relay, IPv6 host) counted by `note_relay`, up to [`PEER_SET_CAP`], as a
    /// fingerprint.
    relay_hosts: FpTable<u64>,
    /// Processes not kept (beyond the cap), by kind and identity.
    procs_not_kept: HashSet<(u8, u64, u128)>,
    /// Mappings of clients not tracked (beyond the cap).
    clients_not_tracked: HashSet<Mapping>,
}

/// Totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames given to [`Analyzer::observe`].
    pub frames: u64,
    /// Frames holding a Teredo packet (outer or quoted).
    pub teredo_frames: u64,
    /// Copies merged by de-duplication.
    pub duplicates: u64,
    /// Teredo packets analysed (after de-duplication).
    pub packets: u64,
    /// ICMPv4 errors quoting Teredo.
    pub icmp_quoting: u64,
    /// First and last timestamp, ns.
    pub first_ns: Option<i64>,
    /// Last timestamp, ns.
    pub last_ns: Option<i64>,
}

/// Entries of `Analyzer::client_cache`: 128 sets of two, the more recently filled first.
const CLIENT_CACHE: usize = 256;
/// An empty entry of `Analyzer::client_cache`.
const NO_CLIENT: ClientId = ClientId::MAX;

/// The first entry of the set of `Analyzer::client_cache` that may hold mapping `m`.
#[inline]
fn client_cache_slot(m: &Mapping) -> usize {
    (fold(m.word(), K1) as usize) % (CLIENT_CACHE / 2) * 2
}

fn ip_key(s: Sock) -> u64 {
    (u64::from(u32::from(s.ip)) << 16) | u64::from(s.port)
}

const K0: u64 = 0x243f_6a88_85a3_08d3;
const K1: u64 = 0x1319_8a2e_0370_7344;
const K2: u64 = 0xa409_3822_299f_31d0;
const K3: u64 = 0x082e_fa98_ec4e_6c89;
const K4: u64 = 0x4528_21e6_38d0_1377;

/// The folded 128-bit product of `x` and `y`: the mixing step of the hashes below.
#[inline]
fn fold(x: u64, y: u64) -> u64 {
    let p = u128::from(x) * u128::from(y);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A 64-bit hash of a packet's bytes for de-duplication: of its length, its first
/// [`HASHED_HEAD`] bytes and its last 16. Whole 64-byte blocks go to four independent lanes,
/// 16 bytes per multiply-fold step each (the folded 128-bit product of foldhash and wyhash),
/// so that the steps of a block run side by side; the lanes are then folded together and the
/// rest is taken 16 bytes at a time, the length mixed in first. Not keyed: a collision only
/// merges two packets that also share length, outer endpoints and the de-duplication window.
/// (An earlier two-lane variant merged its lanes too weakly and spread these hashes over the
/// de-duplication table's sets worse: `dedup_table_grows_with_the_packet_rate` caught it.)
fn payload_hash(whole: &[u8]) -> u64 {
    // (chunks_exact hands out whole blocks: the conversions cannot fail, and compile to loads)
    let word = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap_or_default());
    let mut h = fold(whole.len() as u64 ^ K0, K1);
    let b = &whole[..whole.len().min(HASHED_HEAD)];
    let mut blocks = b.chunks_exact(64);
    if b.len() >= 64 {
        // lanes 1-3 start from constants (none 0, K1 or K3: see the folds)
        let mut lanes = [h, K2, K3, K4];
        for c in &mut blocks {
            for (i, l) in lanes.iter_mut().enumerate() {
                *l = fold(word(&c[16 * i..16 * i + 8]) ^ *l, word(&c[16 * i + 8..16 * i + 16]) ^ K1);
            }
        }
        h = fold(lanes[0] ^ K2, lanes[1] ^ K3) ^ fold(lanes[2] ^ K0, lanes[3] ^ K1);
    }
    let mut chunks = blocks.remainder().chunks_exact(16);
    for c in &mut chunks {
        h = fold(word(&c[..8]) ^ h, word(&c[8..]) ^ K1);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let tail = last_bytes(b, rest.len());
        let (lo, hi) = (tail as u64, (tail >> 64) as u64);
        h = fold(lo ^ h, hi ^ K0);
    }
    if whole.len() > HASHED_HEAD {
        let tail = last_bytes(whole, 16);
        let (lo, hi) = (tail as u64, (tail >> 64) as u64);
        h = fold(lo ^ h, hi ^ K2);
    }
    h
}

/// The bytes [`payload_hash`] takes from the start of a packet. Copies are told from other
/// packets by their beginning: a Teredo packet's indicators, its IPv6 header and its first
/// 88 bytes or more, where an ICMPv6, UDP or TCP header and so its checksum (which covers
/// the whole of the payload) lie; an RFC 6081 trailer is among the last 16 bytes. Two
/// packets that differ only between these, with the same checksum, length and outer
/// endpoint, within the de-duplication window, are merged; the bytes of a large data packet
/// are not all read again for it (BENCHMARKS.md, tenth session).
const HASHED_HEAD: usize = 128;

/// The last `n` bytes of `b` (1 to 15, at most `b.len()`) as one zero-padded little-endian
/// number: the last 16 bytes shifted down, or (`b` under 16 bytes) a byte at a time. (Copying
/// them into a zeroed block called memset and memcpy for every packet.)
#[inline]
fn last_bytes(b: &[u8], n: usize) -> u128 {
    match b.len().checked_sub(16) {
        Some(start) => u128::from_le_bytes(b[start..].try_into().unwrap_or_default()) >> (8 * (16 - n)),
        None => b[b.len() - n..].iter().rev().fold(0, |t, &x| t << 8 | u128::from(x)),
    }
}

/// True the first time `key` is seen: things beyond a cap are counted once each. `seen` keeps
/// up to [`PEER_SET_CAP`] keys; beyond that, a key it does not hold counts as new.
fn first_time<K: std::hash::Hash + Eq>(seen: &mut HashSet<K>, key: K) -> bool {
    if seen.len() < PEER_SET_CAP {
        seen.insert(key)
    } else {
        !seen.contains(&key)
    }
}

fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

fn teredo_of(a: &Ipv6Addr) -> Option<TeredoAddress> {
    if is_link_local(a) {
        return None;
    }
    TeredoAddress::decode(*a)
}

/// What is off about a Teredo address, each an anomaly of [`Analyzer::address_checks`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct AddressFindings {
    /// The legacy prefix 3ffe:831f::/32 (RFC 4380 §2.6 assigns 2001:0::/32).
    legacy: bool,
    /// A server address that is not global unicast (RFC 4380 §5.2).
    server: Option<Ipv4Scope>,
    /// A mapped address that is not global unicast.
    mapped: Option<Ipv4Scope>,
    /// The R bit (RFC 5991 §3.1) or the U/G bits (RFC 4380 §4) set.
    flags: bool,
}

impl AddressFindings {
    fn of(a: &TeredoAddress) -> Self {
        AddressFindings {
            legacy: a.prefix == TeredoPrefix::Legacy,
            server: non_global(a.server),
            mapped: non_global(a.mapped_address),
            flags: a.flags.reserved() || a.flags.u() || a.flags.g(),
        }
    }

    fn any(&self) -> bool {
        self.legacy || self.server.is_some() || self.mapped.is_some() || self.flags
    }
}

/// Whether some address check of Teredo address `a` (decoded: `t`) fails
/// ([`AddressFindings::any`]), remembered per thread for the last addresses seen: a capture
/// repeats its clients' addresses in most of its packets, and each check looks up the
/// special ranges of two IPv4 addresses. The checks do not read the port and the flags'
/// random bits: addresses that differ only there share an entry.
fn suspect(a: &Ipv6Addr, t: &TeredoAddress) -> bool {
    const SLOTS: usize = 256;
    const UNCHECKED: u128 = (0xffff << 32) | ((crate::addr::Flags::RANDOM_MASK as u128) << 48);
    thread_local! {
        static MEMO: std::cell::RefCell<[(u128, bool); SLOTS]> = const { std::cell::RefCell::new([(0, false); SLOTS]) };
    }
    let key = u128::from(*a) & !UNCHECKED;
    // (a Teredo address has a non-zero prefix: an empty slot matches nothing)
    let slot = (fold(key as u64 ^ K0, (key >> 64) as u64 ^ K1) as usize) % SLOTS;
    MEMO.with(|m| {
        let mut m = m.borrow_mut();
        if m[slot].0 == key {
            return m[slot].1;
        }
        let s = AddressFindings::of(t).any();
        m[slot] = (key, s);
        s
    })
}

/// A non-global IPv4 address worth an anomaly: documentation and benchmarking ranges count as
/// global (miredo treats them so, and labs use them).
fn non_global(a: Ipv4Addr) -> Option<Ipv4Scope> {
    match ipv4_scope(a) {
        Some(Ipv4Scope::Documentation) | Some(Ipv4Scope::Benchmarking) | None => None,
        s => s,
    }
}

fn is_inside(a: Ipv4Addr) -> bool {
    matches!(ipv4_scope(a), Some(Ipv4Scope::Private | Ipv4Scope::SharedCgn | Ipv4Scope::LinkLocal))
}

fn cone_bit(ll: &Ipv6Addr) -> bool {
    ll.octets()[8] & 0x80 != 0
}

impl Analyzer {
    /// A new, empty analysis.
    pub fn new(opts: AnalyzeOptions) -> Self {
        // The capped lists get their room at once (up to RESERVED entries): pages the list does
        // not reach are never touched, and the list is never copied to grow.
        const RESERVED: usize = 1 << 16;
        let (procs_room, pairs_room) = (opts.max_processes.min(RESERVED), opts.max_pairs.min(RESERVED));
        let dedup_window_ns = (opts.dedup_window_ms.min(i64::MAX as u64) as i64).saturating_mul(1_000_000);
        Analyzer {
            opts,
            clients: Vec::new(),
            clients_dropped: 0,
            by_mapping: HashMap::new(),
            client_cache: Vec::new(),
            by_socket: HashMap::new(),
            servers: HashMap::new(),
            relays: HashMap::new(),
            procs: Vec::with_capacity(procs_room),
            procs_dropped: 0,
            quals_open: HashMap::new(),
            inter_site: HashMap::new(),
            relay_pending: HashMap::new(),
            on_link: HashMap::new(),
            pairs_flowing: HashSet::new(),
            unattributed: HashMap::new(),
            rs_by_nonce: HashMap::new(),
            rs_sweep_at: RS_SWEEP_MIN,
            rs_noauth: HashMap::new(),
            nonces_seen: HashSet::new(),
            pairs: Vec::with_capacity(pairs_room),
            pairs_dropped: 0,
            anomalies: Vec::new(),
            anomaly_index: HashMap::new(),
            bubbles: Vec::new(),
            seen: Vec::new(),
            seen_bits: DEDUP_MIN_BITS,
            dedup_window_ns,
            translations: HashMap::new(),
            stats: Stats::default(),
            files: HashSet::new(),
            last_file: None,
            peer_pairs: PairTable::default(),
            relay_hosts: FpTable::default(),
            procs_not_kept: HashSet::new(),
            clients_not_tracked: HashSet::new(),
        }
    }

    /// Totals so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Analyse one dissected frame. Frames should come in capture order; small timestamp
    /// disorder between interfaces is tolerated.
    pub fn observe(&mut self, meta: &FrameMeta, d: &Dissection<'_>) {
        self.feed(meta, &Observation::from_dissection(d));
    }

    /// Analyse one frame's [`Observation`] (see [`Analyzer::observe`]).
    pub fn feed(&mut self, meta: &FrameMeta, o: &Observation) {
        self.feed_at(meta.file_index, &At::of(meta), o);
    }

    /// [`Analyzer::feed`] of a frame of file `file_index` at `meta`.
    #[inline(always)]
    fn feed_at(&mut self, file_index: usize, meta: &At, o: &Observation) {
        self.stats.frames += 1;
        if !o.teredo {
            return;
        }
        self.stats.teredo_frames += 1;
        if self.last_file != Some(file_index) {
            self.last_file = Some(file_index);
            if self.files.len() < 64 {
                self.files.insert(file_index);
            }
        }
        let ts = meta.ns();
        self.stats.first_ns = Some(self.stats.first_ns.map_or(ts, |f| f.min(ts)));
        self.stats.last_ns = Some(self.stats.last_ns.map_or(ts, |l| l.max(ts)));
        let Some((src, dst)) = o.outer else { return };
        if o.quoted {
            let Some(q) = o.quote else { return };
            // de-duplicate the ICMP error itself (same error seen on two interfaces)
            let key_src = Sock { ip: src.ip, port: u16::from(q.icmp_type) << 8 | u16::from(q.code) };
            let key_dst = Sock { ip: dst.ip, port: 0 };
            if self.duplicate(ts, o.dedup, key_src, key_dst) {
                return;
            }
            self.stats.icmp_quoting += 1;
            let qsrc = Sock { ip: q.src, port: src.port };
            let qdst = Sock { ip: q.dst, port: dst.port };
            self.on_icmp_quote(meta, src.ip, q.icmp_type, q.code, qsrc, qdst, o);
            return;
        }
        let Some((v6src, v6dst)) = o.ipv6 else { return };
        if self.duplicate(ts, o.dedup, src, dst) {
            return;
        }
        self.stats.packets += 1;
        let len = u64::from(o.len);

        // endpoints: who sends, who receives
        let [s_tao, d_tao] = [o.tao(0), o.tao(1)];
        if o.suspect {
            for a in [s_tao, d_tao].into_iter().flatten() {
                let f = AddressFindings::of(&a);
                if f.any() {
                    self.address_checks(meta, &a, f);
                }
            }
        }
        let multicast = dst.ip.is_multicast();
        let sender = match s_tao {
            Some(a) => self.client_for(meta, &a, Some(v6src)),
            None => self.by_socket.get(&src).copied(),
        };
        if let (Some(c), Some(a)) = (sender, s_tao) {
            if !multicast && src.port != TEREDO_PORT {
                let emb = Sock { ip: a.mapped_address, port: a.mapped_port };
                if emb != src {
                    self.mapping_mismatch(meta, c, &v6src, emb, src);
                }
                self.learn_socket(c, src);
            }
        }
        let receiver = match d_tao {
            Some(a) => self.client_for(meta, &a, Some(v6dst)),
            None => self.by_socket.get(&dst).copied(),
        };
        // The keys of (sender, destination) and (receiver, source): the observation's, for a
        // client found by its Teredo address (they are of its mapping).
        let keys = [
            sender.map_or(0, |c| if s_tao.is_some() { o.pair_keys[0] } else { self.pair_key(c, v6dst) }),
            receiver.map_or(0, |c| if d_tao.is_some() { o.pair_keys[1] } else { self.pair_key(c, v6src) }),
        ];
        if let Some(c) = sender {
            let cl = &mut self.clients[c as usize];
            cl.pkts_out += 1;
            cl.bytes_out += len;
            Self::touch_client(cl, meta);
            if !is_link_local(&v6dst) && !v6dst.is_multicast() {
                self.add_peer(c, v6dst, keys[0]);
            }
        }
        if let Some(c) = receiver {
            let mut bubbles = NO_BUBBLES;
            if Some(c) != sender {
                let cl = &mut self.clients[c as usize];
                cl.pkts_in += 1;
                cl.bytes_in += len;
                Self::touch_client(cl, meta);
                if !is_link_local(&v6src) {
                    bubbles = self.add_peer(c, v6src, keys[1]);
                }
            } else if let Some(e) = self.peer_pairs.get(keys[1]) {
                bubbles = e.bubbles;
            }
            // any packet from a peer counts as a response for the bubble rate limit
            if let Some(b) = self.bubbles.get_mut(bubbles as usize) {
                b.last_rx = ts;
            }
        }

        match o.message_type {
            MessageType::RouterSolicitation => self.on_rs(meta, src, dst, o, v6src),
            MessageType::RouterAdvertisement => self.on_ra(meta, src, dst, o, v6dst),
            MessageType::Bubble | MessageType::IndirectBubble => {
                self.on_bubble(meta, src, dst, o, v6src, v6dst, sender, receiver, keys, multicast)
            }
            MessageType::EchoRequest | MessageType::EchoReply | MessageType::Data => {
                self.on_data(meta, src, dst, o, v6src, v6dst, sender, receiver, keys)
            }
            MessageType::Malformed => {}
        }
    }

    // ---- de-duplication ----

    /// True when the packet (payload hash and length `key`, outer `src` and `dst`, at `ts`) is a
    /// copy of one seen within the window (see the module docs); otherwise it is remembered.
    #[inline(always)]
    fn duplicate(&mut self, ts: i64, key: (u64, u32), src: Sock, dst: Sock) -> bool {
        let (hash, len) = key;
        // most packets are no copy: their hash is not in their set
        if let Some(set) = self.seen.get_mut(dedup_set(hash, self.seen_bits)) {
            let (idx, found) = dedup_slot(set, hash);
            if !found && (!set[idx].live_at(ts, self.dedup_window_ns) || self.seen_bits >= DEDUP_MAX_BITS) {
                set[idx] = Seen { hash, ts, len, src, dst };
                return false;
            }
        }
        self.duplicate_or_grow(ts, key, src, dst)
    }

    /// [`Analyzer::duplicate`] when the packet's hash is in its set (a copy, or a collision), or
    /// when remembering it would replace an entry still inside the window (the table grows).
    #[inline(never)]
    fn duplicate_or_grow(&mut self, ts: i64, key: (u64, u32), src: Sock, dst: Sock) -> bool {
        if self.opts.dedup_window_ms == 0 {
            return false;
        }
        let window = self.dedup_window_ns;
        if self.seen.is_empty() {
            self.seen_bits = DEDUP_MIN_BITS;
            self.seen = vec![[Seen::EMPTY; DEDUP_WAYS]; 1 << DEDUP_MIN_BITS];
        }
        let (hash, len) = key;
        let set = &mut self.seen[dedup_set(hash, self.seen_bits)];
        for s in set.iter() {
            if s.hash != hash || s.len != len || !s.live_at(ts, window) {
                continue;
            }
            // identical copies, or copies from inside and outside a NAT (one endpoint differs
            // and one of the two differing addresses is inside: private, CGN or link-local).
            // A direct and an indirect bubble share payload and source but go to two global
            // destinations: not copies.
            let same = s.src == src && s.dst == dst;
            let nat_src = s.dst == dst && s.src != src && (is_inside(s.src.ip) != is_inside(src.ip));
            let nat_dst = s.src == src && s.dst != dst && (is_inside(s.dst.ip) != is_inside(dst.ip));
            if !(same || nat_src || nat_dst) {
                continue;
            }
            self.stats.duplicates += 1;
            if self.translations.len() < 4096 {
                if nat_src {
                    let (inside, outside) = if is_inside(s.src.ip) { (s.src, src) } else { (src, s.src) };
                    self.translations.insert(inside, outside);
                } else if nat_dst {
                    let (inside, outside) = if is_inside(s.dst.ip) { (s.dst, dst) } else { (dst, s.dst) };
                    self.translations.insert(inside, outside);
                }
            }
            return true;
        }
        // remember this one in place of the oldest entry of its set, unless that one is still
        // inside the window and the table may grow
        // (doubled as often as it takes: the half of a full set this packet falls in may be
        // full still)
        let live = |set: &[Seen; DEDUP_WAYS]| set[dedup_slot(set, hash).0].live_at(ts, window);
        while live(&self.seen[dedup_set(hash, self.seen_bits)]) && self.seen_bits < DEDUP_MAX_BITS {
            self.grow_seen();
        }
        let set = &mut self.seen[dedup_set(hash, self.seen_bits)];
        set[dedup_slot(set, hash).0] = Seen { hash, ts, len, src, dst };
        false
    }

    /// Doubles the de-duplication table, keeping what it holds.
    fn grow_seen(&mut self) {
        self.seen_bits += 1;
        let old = std::mem::replace(&mut self.seen, vec![[Seen::EMPTY; DEDUP_WAYS]; 1 << self.seen_bits]);
        for e in old.iter().flatten().filter(|e| e.ts != i64::MIN) {
            let set = &mut self.seen[dedup_set(e.hash, self.seen_bits)];
            let (idx, _) = dedup_slot(set, e.hash);
            set[idx] = *e;
        }
    }

    // ---- entities ----

    #[inline(always)]
    fn touch_client(cl: &mut Client, m: &At) {
        let ts = m.ns();
        if ts < cl.first {
            cl.first = ts;
            cl.first_frame = m.fref();
        }
        if ts >= cl.last {
            cl.last = ts;
            cl.last_frame = m.fref();
        }
    }

    /// The key of the pair (`c`, `peer`) in `peer_pairs`.
    #[inline]
    fn pair_key(&self, c: ClientId, peer: Ipv6Addr) -> u64 {
        pair_key(self.clients[c as usize].mapping, peer)
    }

    /// Analyses `observations[range]`, observations of frames of file `file_index` in capture
    /// order, as [`Analyzer::feed`] does one by one, but asks for what each will look up a
    /// few observations before it gets there (from the whole slice: past the range's end
    /// too, for the next range). The observations themselves, mostly written on another
    /// core, are fetched four times as far ahead. A range starting at 0 fetches its first
    /// ones first.
    pub fn feed_run(&mut self, file_index: usize, observations: &[Observation], range: std::ops::Range<usize>) {
        /// How far ahead the table entries are fetched: far enough to arrive in time, near
        /// enough to stay in the cache (16 measured no better, BENCHMARKS.md).
        const AHEAD: usize = 8;
        if range.is_empty() {
            return;
        }
        if range.start == 0 {
            observations.iter().take(4 * AHEAD).for_each(Analyzer::prefetch_observation);
            observations.iter().take(AHEAD).for_each(|o| self.prefetch(o));
        }
        for i in range {
            if let Some(far) = observations.get(i + 4 * AHEAD) {
                Analyzer::prefetch_observation(far);
            }
            if let Some(ahead) = observations.get(i + AHEAD) {
                self.prefetch(ahead);
            }
            if let Some(o) = observations.get(i) {
                self.feed_at(file_index, &At::of(&o.frame_meta(file_index)), o);
            }
        }
    }

    /// Brings observation `o` into the cache, without reading it: observations are made on
    /// other threads (other cores), so [`Analyzer::feed_run`] calls this well ahead of
    /// [`Analyzer::prefetch`], which reads them.
    fn prefetch_observation(o: &Observation) {
        // aligned on a cache line: its hot bytes fill the first two
        let p = std::ptr::from_ref(o).cast::<u8>();
        prefetch::address_l2(p);
        prefetch::address_l2(p.wrapping_add(Observation::HOT - 1));
    }

    /// Brings the entries a later [`Analyzer::feed`] of `o` will look up into the cache:
    /// [`Analyzer::feed_run`] calls this a few observations ahead.
    fn prefetch(&self, o: &Observation) {
        if let Some(set) = self.seen.get(dedup_set(o.dedup.0, self.seen_bits)) {
            prefetch::read(&set[0]);
            prefetch::read(&set[DEDUP_WAYS - 1]);
        }
        for k in o.pair_keys {
            if k != 0 {
                self.peer_pairs.prefetch(k);
            }
        }
        if o.relay_key != 0 {
            self.relay_hosts.prefetch(o.relay_key);
        }
        if !matches!(o.message_type, MessageType::Data | MessageType::EchoRequest | MessageType::EchoReply) {
            // the observation's last cache line: indicators, RA prefix, quote
            prefetch::address(std::ptr::from_ref(o).cast::<u8>().wrapping_add(Observation::HOT));
        }
    }

    /// Counts `p` among `c`'s peers (the first 64 are listed) and returns the pair's bubble
    /// state (an index in `bubbles`, or [`NO_BUBBLES`]). The pair's entry in `peer_pairs`
    /// remembers that it was counted: one lookup per packet.
    #[inline(always)]
    fn add_peer(&mut self, c: ClientId, p: Ipv6Addr, key: u64) -> u32 {
        let cl = &mut self.clients[c as usize];
        match self.peer_pairs.entry(key, PEER_SET_CAP) {
            Some(e) if e.counted => return e.bubbles,
            Some(e) => e.counted = true,
            // more pairs than tracked
            None if cl.peers.contains(&p) => return NO_BUBBLES,
            None => {}
        }
        cl.peers_total += 1;
        if cl.peers.len() < 64 {
            cl.peers.push(p);
        }
        NO_BUBBLES
    }

    /// The client already known under the mapping a Teredo address embeds (no new entry).
    fn known_client(&self, addr: &Ipv6Addr) -> Option<ClientId> {
        self.by_mapping.get(&Mapping::of(&teredo_of(addr)?)).copied()
    }

    #[inline(always)]
    fn client_by_mapping(&mut self, m: &At, mapping: Mapping) -> Option<ClientId> {
        let slot = client_cache_slot(&mapping);
        match self.client_cache.get(slot..slot + 2) {
            Some(&[(k, c), _]) if k == mapping && c != NO_CLIENT => Some(c),
            Some(&[_, (k, c)]) if k == mapping && c != NO_CLIENT => Some(c),
            _ => self.client_by_mapping_uncached(m, mapping, slot),
        }
    }

    #[inline(never)]
    fn client_by_mapping_uncached(&mut self, m: &At, mapping: Mapping, slot: usize) -> Option<ClientId> {
        if self.client_cache.is_empty() {
            self.client_cache = vec![(mapping, NO_CLIENT); CLIENT_CACHE];
        }
        if let Some(&c) = self.by_mapping.get(&mapping) {
            // the set's older entry makes room
            self.client_cache[slot + 1] = self.client_cache[slot];
            self.client_cache[slot] = (mapping, c);
            return Some(c);
        }
        if self.clients.len() >= self.opts.max_clients {
            if first_time(&mut self.clients_not_tracked, mapping) {
                self.clients_dropped += 1;
            }
            return None;
        }
        let id = self.clients.len() as ClientId;
        self.clients.push(Client {
            mapping,
            address: None,
            cone_rs: None,
            first: m.ns(),
            last: m.ns(),
            first_frame: m.fref(),
            last_frame: m.fref(),
            pkts_out: 0,
            pkts_in: 0,
            bytes_out: 0,
            bytes_in: 0,
            peers: Vec::new(),
            peers_total: 0,
            relays: Vec::new(),
            sockets: Vec::new(),
            mapping_changes: Vec::new(),
            qualification: None,
            maintenance: None,
            relay_tests: Vec::new(),
            retracted: false,
        });
        self.by_mapping.insert(mapping, id);
        self.server_mut(mapping.server).clients.insert(id);
        Some(id)
    }

    #[inline(always)]
    fn client_for(&mut self, m: &At, a: &TeredoAddress, full: Option<Ipv6Addr>) -> Option<ClientId> {
        let c = self.client_by_mapping(m, Mapping::of(a))?;
        let cl = &mut self.clients[c as usize];
        if cl.address.is_none() {
            cl.address = full;
        }
        Some(c)
    }

    #[inline(always)]
    fn learn_socket(&mut self, c: ClientId, s: Sock) {
        if !self.clients[c as usize].sockets.contains(&s) {
            self.learn_new_socket(c, s);
        }
        // else learnt already: what follows would change nothing
    }

    #[inline(never)]
    fn learn_new_socket(&mut self, c: ClientId, s: Sock) {
        if self.by_socket.len() < self.opts.max_clients.saturating_mul(4) {
            self.by_socket.entry(s).or_insert(c);
        }
        let cl = &mut self.clients[c as usize];
        if !cl.sockets.contains(&s) && cl.sockets.len() < 8 {
            cl.sockets.push(s);
        }
    }

    fn server_mut(&mut self, ip: Ipv4Addr) -> &mut Server {
        self.servers.entry(ip).or_default()
    }

    fn relay_mut(&mut self, s: Sock) -> &mut Relay {
        self.relays.entry(s).or_default()
    }

    /// Keeps the process `make` makes, unless [`AnalyzeOptions::max_processes`] are kept
    /// already: then it is not made, is counted as not kept, once per `key` (its kind and
    /// identity), and `None` is returned.
    fn new_proc(&mut self, key: (u8, u64, u128), make: impl FnOnce() -> Proc) -> Option<ProcId> {
        let id = self.keep_proc(make);
        if id.is_none() && first_time(&mut self.procs_not_kept, key) {
            self.procs_dropped += 1;
        }
        id
    }

    /// Keeps the process `make` makes unless [`AnalyzeOptions::max_processes`] are kept
    /// already (then it is not made); counts nothing.
    fn keep_proc(&mut self, make: impl FnOnce() -> Proc) -> Option<ProcId> {
        if self.procs.len() >= self.opts.max_processes {
            return None;
        }
        self.procs.push(make());
        Some(self.procs.len() - 1)
    }

    // ---- anomalies ----

    fn anomaly(&mut self, key: (u8, u64, u64), kind: &'static str, m: &At, detail: impl FnOnce() -> String) {
        let cap = self.opts.max_frames;
        if let Some(&i) = self.anomaly_index.get(&key) {
            self.anomalies[i].frames.push(m.fref(), cap);
            return;
        }
        if self.anomalies.len() >= 10_000 {
            return;
        }
        let mut frames = FrameList::default();
        frames.push(m.fref(), cap);
        self.anomalies.push(Anomaly { kind, frames, detail: detail() });
        self.anomaly_index.insert(key, self.anomalies.len() - 1);
    }

    fn address_checks(&mut self, m: &At, a: &TeredoAddress, f: AddressFindings) {
        let s = a.encode();
        let key = u128::from(s) as u64 ^ (u128::from(s) >> 64) as u64;
        let s = Ipv6Text(s);
        if f.legacy {
            self.anomaly((1, key, 0), "legacy-prefix", m, || {
                format!("{s} uses the legacy Teredo prefix 3ffe:831f::/32 (Windows XP/Server 2003 before MS06-064); RFC 4380 §2.6 assigns 2001:0::/32")
            });
        }
        if let Some(sc) = f.server {
            let srv = a.server;
            self.anomaly((2, key, 0), "non-global-server", m, || {
                format!("{s} names server {srv}, which is not global unicast ({}): RFC 4380 §5.2 requires a global server address", sc.describe())
            });
        }
        if let Some(sc) = f.mapped {
            let ma = a.mapped_address;
            self.anomaly((3, key, 0), "non-global-mapped-address", m, || {
                format!("{s} embeds mapped address {ma}, which is not global unicast ({}): the server saw a private source or the address is forged", sc.describe())
            });
        }
        if f.flags {
            let f = a.flags.0;
            self.anomaly((4, key, 0), "rfc5991-flags", m, || {
                format!("{s} has flags 0x{f:04x}: RFC 5991 §3.1 wants the R bit (0x4000) zero and RFC 4380 §4 the U/G bits (0x0300) zero")
            });
        }
    }

    fn mapping_mismatch(&mut self, m: &At, c: ClientId, addr: &Ipv6Addr, emb: Sock, outer: Sock) {
        let key = (5u8, u64::from(c), ip_key(outer));
        let a = Ipv6Text(*addr);
        let translated = self.translations.get(&outer).copied();
        self.anomaly(key, "mapping-mismatch", m, || {
            let why = if ipv4_scope(outer.ip) == Some(Ipv4Scope::Private) {
                format!("the outer source {} is private (RFC 1918), so the capture was most likely taken inside the client's NAT, before translation to {emb}", outer.ip)
            } else if let Some(o) = translated {
                format!("the same packet was also seen translated to {o}: a capture inside the NAT")
            } else if outer.ip == emb.ip {
                "the address matches but the port does not: the NAT most likely gave this flow another port (address- or port-dependent mapping, or a stale mapping); spoofing is less likely".to_string()
            } else {
                "the outer address is global and differs from the embedded one: a spoofed source, or a client that moved behind another NAT".to_string()
            };
            format!("packets from {a} come from {outer}, but the address embeds the mapping {emb}: {why} (RFC 4380 §5.2.3 source check)")
        });
    }

    // ---- RS / RA ----

    fn on_rs(&mut self, m: &At, src: Sock, dst: Sock, t: &Observation, ll: Ipv6Addr) {
        let ts = m.ns();
        let cone = cone_bit(&ll);
        self.server_mut(dst.ip).rs += 1;
        let proc_id = self.qualify_rs(m, src, dst.ip, cone);
        let f = m.fref();
        let rec = RsRec {
            ts,
            frame_no: f.frame,
            file: f.file,
            // (a process id beyond u32 is not recorded: the process cap keeps ids far below)
            proc_no: proc_id.and_then(|p| u32::try_from(p).ok()),
            len: t.len,
            src,
            dst: dst.ip,
            cone,
            auth: t.auth.is_some(),
            answered: false,
        };
        match t.auth {
            Some(a) => {
                if !self.nonces_seen.insert(a.nonce) {
                    let n = a.nonce;
                    self.anomaly((6, u64::from_be_bytes(n), 0), "reused-nonce", m, || {
                        format!("RS from {src} reuses the Authentication nonce {}, already sent in an earlier RS: RFC 4380 §5.2.1 wants a fresh random nonce per RS (replayable RA)", crate::wire::teredo::Hex(&n))
                    });
                }
                if self.nonces_seen.len() > 1 << 20 {
                    self.nonces_seen.clear();
                }
                if let Some(old) = self.rs_by_nonce.insert(a.nonce, rec) {
                    if !old.answered {
                        self.server_mut(old.dst).unanswered += 1;
                        self.note_unanswered(old.proc_id());
                    }
                }
                if self.rs_by_nonce.len() > self.rs_sweep_at {
                    self.expire_rs(ts);
                    // what is left is younger than 60 s: sweep again once that has doubled,
                    // not at every RS (a sweep reads every entry)
                    self.rs_sweep_at = (2 * self.rs_by_nonce.len()).max(RS_SWEEP_MIN);
                }
            }
            None => {
                self.anomaly((7, ip_key(src), 0), "rs-without-authentication", m, || {
                    format!("RS from {src} to {} carries no Authentication indicator: the RA cannot be matched to it by nonce (RFC 4380 §5.2.1); miredo-server then echoes a stale nonce", dst.ip)
                });
                if let Some(old) = self.rs_noauth.insert(src, rec) {
                    if !old.answered {
                        self.server_mut(old.dst).unanswered += 1;
                        self.note_unanswered(old.proc_id());
                    }
                }
            }
        }
    }

    fn note_unanswered(&mut self, p: Option<ProcId>) {
        if let Some(p) = p {
            if let Some(pr) = self.procs.get_mut(p) {
                if pr.kind == Some(ProcessKind::Maintenance) {
                    pr.n[3] += 1;
                }
            }
        }
    }

    fn expire_rs(&mut self, now: i64) {
        let old: Vec<[u8; 8]> =
            self.rs_by_nonce.iter().filter(|(_, r)| now - r.ts > 60_000_000_000).map(|(k, _)| *k).collect();
        for k in old {
            if let Some(r) = self.rs_by_nonce.remove(&k) {
                if !r.answered {
                    self.server_mut(r.dst).unanswered += 1;
                }
            }
        }
    }

    /// Keeps the pair `p` makes, or (beyond the cap) only counts it: most RAs of a large
    /// capture, whose flags are then never copied into a vector of their own.
    fn push_pair(&mut self, p: impl FnOnce() -> Pair) {
        if self.pairs.len() < self.opts.max_pairs {
            self.pairs.push(p());
        } else {
            self.pairs_dropped += 1;
        }
    }

    /// Qualification / maintenance bookkeeping for an RS (RFC 4380 §5.2.1, §5.2.5).
    fn qualify_rs(&mut self, m: &At, src: Sock, server: Ipv4Addr, cone: bool) -> Option<ProcId> {
        let ts = m.ns();
        let cap = self.opts.max_frames;
        // maintenance: a client already qualified on this socket asks its server again
        if let Some(&c) = self.by_socket.get(&src) {
            let cl = &self.clients[c as usize];
            if cl.mapping.server == server
                && cl
                    .qualification
                    .is_some_and(|q| self.procs[q].q.as_ref().is_some_and(|q| q.closed || q.m1.is_some()))
            {
                if let Some(q) = cl.qualification {
                    if let Some(qq) = self.procs[q].q.as_mut() {
                        qq.closed = true;
                    }
                }
                let pid = match self.clients[c as usize].maintenance {
                    Some(p) => p,
                    None => {
                        let mut p = Proc::new(ProcessKind::Maintenance, m);
                        p.client = Some(c);
                        p.sock = Some(src);
                        let q_start = self.clients[c as usize].qualification.map(|q| self.procs[q].start);
                        p.last_rs = q_start;
                        let id = self.new_proc((1, u64::from(c), 0), || p)?;
                        self.clients[c as usize].maintenance = Some(id);
                        id
                    }
                };
                self.procs[pid].refresh(ts, StepName::RouterSolicitation, m, cap);
                return Some(pid);
            }
        }
        // A qualification stays open to its client's IPv4 address: the cone test and the
        // mapping comparison may leave from different sockets (and, through a symmetric NAT,
        // from different outer ports). Once the comparison is done, only a retry of the cone RS
        // from the cone socket still belongs to it.
        let open = self.quals_open.get(&src.ip).copied().filter(|&p| {
            let pr = &self.procs[p];
            ts - pr.last < 30_000_000_000
                && pr.q.as_ref().is_some_and(|q| !q.closed || (cone && q.cone_sock == Some(src)))
        });
        if let Some(pid) = open {
            // the server's secondary address, when an earlier RA told it
            let known_secondary = |s: Option<Ipv4Addr>| s.and_then(|s| self.servers.get(&s)).and_then(|s| s.secondary);
            let secondary_ok = {
                let q = self.procs[pid].q.as_ref().expect("qualification");
                known_secondary(q.primary).is_none_or(|s2| s2 == server)
            };
            let p = &mut self.procs[pid];
            let q = p.q.as_mut().expect("qualification");
            let mut take = false;
            if cone {
                let retry = q.cone_sock == Some(src);
                match q.cone_ra {
                    // a repeated cone RS (RFC 4380 §5.2.1 retries; a parallel cone test runs on)
                    None if retry || (q.cone_sock.is_none() && q.primary.is_none()) => take = true,
                    Some((ra, ..)) if retry && ts - q.cone_ra_ts < CONE_RETRY_NS => {
                        // the RA passed here, yet the client asks again: it never got it
                        if q.cone_ra_dropped.is_none() && q.cone_ra_ignored.is_none() {
                            q.cone_ra_ignored = Some((m.fref(), ra));
                        }
                        take = true;
                    }
                    _ if retry && q.cone_ra_dropped.is_some() => take = true,
                    _ => {}
                }
                if take {
                    q.cone_rs += 1;
                    q.cone_sock.get_or_insert(src);
                }
            } else if q.closed {
                // the comparison is done: a new non-cone RS starts another qualification
            } else if q.primary.is_none() {
                // fallback from the cone RS (RFC 4380 §5.2.1 order, one socket): evidence that
                // the cone RA never reached the client. A non-cone RS from another socket is a
                // parallel test, not a fallback.
                if q.cone_rs > 0 && q.cone_sock == Some(src) {
                    q.fallback_frame = Some(m.fref());
                }
                q.primary = Some(server);
                q.primary_sock = Some(src);
                q.primary_rs += 1;
                take = true;
            } else if q.primary == Some(server) && q.primary_sock == Some(src) && q.m1.is_none() {
                q.primary_rs += 1;
                take = true;
            } else if q.primary != Some(server)
                && q.m2.is_none()
                && secondary_ok
                && q.secondary.is_none_or(|s| s == server)
                && q.secondary_sock.is_none_or(|s| s == src)
            {
                // may leave before the primary's RA (sent in parallel)
                q.secondary = Some(server);
                q.secondary_sock = Some(src);
                q.secondary_rs += 1;
                take = true;
            }
            if take {
                let name = if cone {
                    StepName::ConeRs
                } else if q.secondary == Some(server) {
                    StepName::RsToSecondary
                } else {
                    StepName::RsToPrimary
                };
                let became_parallel = !cone && q.primary_rs == 1 && q.parallel_cone() && q.cone_ra.is_some();
                p.step(name, m, cap);
                if became_parallel {
                    self.retract_cone_client(pid);
                }
                return Some(pid);
            }
            if let Some(q) = p.q.as_mut() {
                q.closed = true;
            }
        }
        let mut p = Proc::new(ProcessKind::Qualification, m);
        let mut q = Qual::default();
        if cone {
            q.cone_rs = 1;
            q.cone_sock = Some(src);
        } else {
            q.primary = Some(server);
            q.primary_sock = Some(src);
            q.primary_rs = 1;
        }
        p.q = Some(Box::new(q));
        p.step(if cone { StepName::ConeRs } else { StepName::RsToPrimary }, m, cap);
        let id = self.new_proc((2, ip_key(src), 0), || p)?;
        self.quals_open.insert(src.ip, id);
        Some(id)
    }

    /// The RA to the cone RS arrived before the client's non-cone RSs left from another
    /// socket: the cone test ran on a socket of its own (a parallel qualification), so the
    /// client made from that RA's mapping is no client. Undo it, unless it was used since.
    fn retract_cone_client(&mut self, pid: ProcId) {
        let p = &mut self.procs[pid];
        let (Some(c), Some(cone_sock)) = (p.client, p.q.as_ref().and_then(|q| q.cone_sock)) else { return };
        let cl = &self.clients[c as usize];
        if cl.address.is_some() || !cl.peers.is_empty() || cl.sockets.iter().any(|&s| s != cone_sock) {
            return;
        }
        p.client = None;
        let mapping = cl.mapping;
        if self.by_mapping.get(&mapping) == Some(&c) {
            self.by_mapping.remove(&mapping);
            let slot = client_cache_slot(&mapping);
            for e in self.client_cache.iter_mut().skip(slot).take(2).filter(|e| e.0 == mapping) {
                e.1 = NO_CLIENT;
            }
        }
        if self.by_socket.get(&cone_sock) == Some(&c) {
            self.by_socket.remove(&cone_sock);
        }
        if let Some(srv) = self.servers.get_mut(&mapping.server) {
            srv.clients.remove(&c);
        }
        let cl = &mut self.clients[c as usize];
        cl.retracted = true;
        cl.qualification = None;
    }

    fn on_ra(&mut self, m: &At, src: Sock, dst: Sock, t: &Observation, ll_dst: Ipv6Addr) {
        let ts = m.ns();
        let cap = self.opts.max_frames;
        self.server_mut(src.ip).ra += 1;
        let prefix_server = t.ra_prefix.and_then(TeredoAddress::decode).map(|a| a.server);
        if let Some(ps) = prefix_server {
            if ps != src.ip {
                // an RA from another address advertising ps's prefix: the secondary address
                self.server_mut(ps).secondary.get_or_insert(src.ip);
                self.server_mut(src.ip).primary.get_or_insert(ps);
            }
        }
        let mut flags = RaFlags::default();
        let mut rs: Option<RsRec> = None;
        match t.auth {
            Some(a) => {
                if a.confirmation != 0 {
                    flags.push("non-zero-confirmation");
                    let c = a.confirmation;
                    self.anomaly((8, ip_key(src), ip_key(dst)), "ra-confirmation", m, || {
                        format!("RA from {src} to {dst} has confirmation byte {c}: the server asks the client to re-qualify with fresh credentials (RFC 4380 §5.1.1, secure qualification)")
                    });
                }
                if let Some(r) = self.rs_by_nonce.get_mut(&a.nonce) {
                    if r.answered {
                        flags.push("duplicate-ra");
                    }
                    r.answered = true;
                    rs = Some(*r);
                } else if let Some(r) =
                    self.rs_noauth.get_mut(&dst).filter(|r| ts - r.ts < 10_000_000_000 && !r.answered)
                {
                    r.answered = true;
                    rs = Some(*r);
                    flags.push("rs-without-authentication");
                } else {
                    flags.push("unmatched-nonce");
                    let n = a.nonce;
                    // one anomaly per server address and client socket, not one per nonce: a
                    // capture that starts mid-session shows many
                    self.anomaly((9, ip_key(src), ip_key(dst)), "ra-unmatched-nonce", m, || {
                        format!("RA from {src} to {dst} carries nonce {} that no captured RS sent (the frames list every such RA between them): an RS outside the capture, a stale nonce (miredo-server answers an RS without authentication with the previous one), or a forged RA", crate::wire::teredo::Hex(&n))
                    });
                }
            }
            None => {
                if let Some(r) = self.rs_noauth.get_mut(&dst).filter(|r| ts - r.ts < 10_000_000_000 && !r.answered) {
                    r.answered = true;
                    rs = Some(*r);
                }
                flags.push("ra-without-authentication");
            }
        }
        if let Some(r) = rs {
            // RFC 4380 §5.3.2 / RFC 5991 §3.2: cone RS answered from another address
            let other = src.ip != r.dst;
            if r.cone != other {
                flags.push("cone-bit-ignored");
                let (rsd, c) = (r.dst, r.cone);
                self.anomaly((10, u64::from(u32::from(src.ip)), 0), "ra-source-rule", m, || {
                    if c {
                        format!("server {rsd} answered a cone RS from the same address {src}: RFC 4380 §5.3.2 says from another address, and RFC 5991 §3.2 that servers must not ignore the cone bit (clients would wrongly conclude cone)")
                    } else {
                        format!("server {rsd} answered a non-cone RS from another address {}: RFC 4380 §5.3.2 says from the address the RS was sent to", src.ip)
                    }
                });
            }
            let rtt = ts - r.ts;
            let srv = self.server_mut(r.dst);
            let us = (rtt.max(0) / 1000).min(u32::MAX as i64) as u32;
            srv.rtt_min = Some(srv.rtt_min.map_or(us, |x| x.min(us)));
            srv.rtt_max = Some(srv.rtt_max.map_or(us, |x| x.max(us)));
            if srv.rtt_us.len() < 4096 {
                srv.rtt_us.push(us);
            }
        }
        let origin = t.origin;
        if rs.is_some() || self.pairs.len() < self.opts.max_pairs {
            let nonce = t.auth.map(|a| a.nonce);
            let reused = nonce.is_some_and(|n| self.anomaly_index.contains_key(&(6, u64::from_be_bytes(n), 0)));
            if reused {
                flags.push("reused-nonce");
            }
            self.push_pair(|| Pair {
                nonce,
                rs: rs.map(|r| r.frame()),
                ra: Some(m.fref()),
                rtt_ns: rs.map(|r| m.ns() - r.ts),
                client: Some(rs.map_or(dst, |r| r.src)),
                server: Some(rs.map_or(src.ip, |r| r.dst)),
                ra_from: Some(src.ip),
                cone: rs.map(|r| r.cone).or(Some(cone_bit(&ll_dst))),
                origin,
                flags: flags.names().to_vec(),
            });
        }
        // the client's mapping (not from the answer to the secondary-address RS, which only
        // serves the comparison of RFC 4380 §5.2.1)
        let (Some(o), Some(ps)) = (origin, prefix_server) else { return };
        if let Some(r) = rs {
            let to_secondary = r
                .proc_id()
                .and_then(|p| self.procs.get(p))
                .and_then(|p| p.q.as_ref())
                .is_some_and(|q| q.secondary == Some(r.dst) && q.primary != Some(r.dst));
            if to_secondary {
                if let Some(pid) = r.proc_id() {
                    let p = &mut self.procs[pid];
                    if let Some(q) = p.q.as_mut() {
                        q.m2 = Some(o);
                        q.closed = true;
                    }
                    p.step(StepName::RaFromSecondary, m, cap);
                }
                return;
            }
            // the RA to a cone test run on a socket of its own (RFC 4380 §5.2.1 in parallel):
            // filtering evidence, not the client's mapping
            let parallel_cone = r.cone
                && r.proc_id()
                    .and_then(|p| self.procs.get(p))
                    .and_then(|p| p.q.as_ref())
                    .is_some_and(|q| q.parallel_cone());
            if parallel_cone {
                if let Some(pid) = r.proc_id() {
                    let p = &mut self.procs[pid];
                    if let Some(q) = p.q.as_mut() {
                        if q.cone_ra.is_none() {
                            q.cone_ra = Some((m.fref(), src.ip, o));
                            q.cone_ra_ts = ts;
                        }
                        q.server.get_or_insert(ps);
                    }
                    p.step(StepName::RaToConeRs, m, cap);
                }
                return;
            }
        }
        let mapping = Mapping { server: ps, mapped: o };
        let previous = self.by_socket.get(&dst).copied();
        let Some(c) = self.client_by_mapping(m, mapping) else { return };
        if let Some(p) = previous {
            if p != c {
                let old = self.clients[p as usize].mapping;
                if old.server == ps && old.mapped != o {
                    // the NAT rebound the client: a later RA with another Origin
                    let cl = &mut self.clients[p as usize];
                    if cl.mapping_changes.len() < 16 {
                        cl.mapping_changes.push((m.fref(), old, mapping));
                    }
                    let cl2 = &mut self.clients[c as usize];
                    if cl2.mapping_changes.len() < 16 {
                        cl2.mapping_changes.push((m.fref(), old, mapping));
                    }
                    self.anomaly((11, ip_key(dst), ip_key(o)), "mapping-change", m, || {
                        format!("RA to {dst} gives mapping {o}, where an earlier RA gave {}: the NAT rebound the client, whose old Teredo address is now invalid (RFC 4380 §5.2.5)", old.mapped)
                    });
                }
            }
        }
        if previous.is_none() {
            if let Some(r) = rs {
                // the RS came before its socket was known to belong to this client
                let cl = &mut self.clients[c as usize];
                cl.pkts_out += 1;
                cl.bytes_out += u64::from(r.len);
                if r.ts < cl.first {
                    cl.first = r.ts;
                    cl.first_frame = r.frame();
                }
            }
        }
        self.by_socket.insert(dst, c);
        {
            let cl = &mut self.clients[c as usize];
            if !cl.sockets.contains(&dst) && cl.sockets.len() < 8 {
                cl.sockets.push(dst);
            }
            Self::touch_client(cl, m);
            cl.pkts_in += 1;
            cl.bytes_in += u64::from(t.len);
        }
        self.server_mut(ps).clients.insert(c);
        if let Some(r) = rs {
            self.clients[c as usize].cone_rs.get_or_insert(r.cone);
            if let Some(pid) = r.proc_id() {
                let p = &mut self.procs[pid];
                p.touch(m, cap);
                if p.kind == Some(ProcessKind::Qualification) {
                    if p.client.is_none() {
                        p.client = Some(c);
                    }
                    let q = p.q.as_mut().expect("qualification");
                    let name;
                    if r.cone {
                        if q.cone_ra.is_none() {
                            q.cone_ra = Some((m.fref(), src.ip, o));
                            q.cone_ra_ts = ts;
                        }
                        q.server = Some(ps);
                        name = StepName::RaToConeRs;
                    } else if q.secondary == Some(r.dst) {
                        q.m2 = Some(o);
                        q.closed = true;
                        name = StepName::RaFromSecondary;
                    } else {
                        if q.m1.is_none() {
                            q.m1 = Some(o);
                            q.m1_frame = Some(m.fref());
                        }
                        q.server = Some(ps);
                        name = StepName::RaFromPrimary;
                    }
                    p.step(name, m, cap);
                    let pidq = pid;
                    if self.clients[c as usize].qualification.is_none() || name != StepName::RaFromSecondary {
                        self.clients[c as usize].qualification = Some(pidq);
                    }
                } else if p.kind == Some(ProcessKind::Maintenance) {
                    p.n[1] += 1;
                    p.n[3] = 0;
                    p.step(StepName::RouterAdvertisement, m, cap);
                }
            }
        }
    }

    // ---- ICMP errors quoting Teredo ----

    #[allow(clippy::too_many_arguments)]
    fn on_icmp_quote(&mut self, m: &At, from: Ipv4Addr, ty: u8, code: u8, qsrc: Sock, qdst: Sock, t: &Observation) {
        let cap = self.opts.max_frames;
        let what = t.message_type.as_str();
        self.anomaly((12, u64::from(u32::from(from)), u64::from(ty) << 8 | u64::from(code)), "icmp-error-quoting-teredo", m, || {
            let name = match (ty, code) {
                (3, 3) => "port unreachable",
                (3, 13) => "communication administratively prohibited",
                (3, 1) => "host unreachable",
                (3, 10) | (3, 9) => "administratively prohibited",
                (3, _) => "destination unreachable",
                (11, _) => "time exceeded",
                _ => "error",
            };
            format!("{from} answered Teredo packets (first: {what} {qsrc} -> {qdst}) with ICMP type {ty} code {code} ({name}): the NAT or host at {from} has no mapping for them and drops them (filtering; RFC 4380 §5.2.6 expects restricted NATs to drop unsolicited bubbles)")
        });
        match t.message_type {
            MessageType::RouterAdvertisement => {
                if let Some(a) = t.auth {
                    if let Some(r) = self.rs_by_nonce.get(&a.nonce).copied() {
                        for p in self.pairs.iter_mut().rev().take(64) {
                            if p.nonce == Some(a.nonce) {
                                if !p.flags.contains(&"ra-dropped-by-nat") {
                                    p.flags.push("ra-dropped-by-nat");
                                }
                                break;
                            }
                        }
                        if let Some(pid) = r.proc_id() {
                            let pr = &mut self.procs[pid];
                            if let Some(q) = pr.q.as_mut() {
                                if r.cone && q.cone_ra_dropped.is_none() {
                                    q.cone_ra_dropped = Some(m.fref());
                                }
                            }
                            pr.step(StepName::RaDroppedByNat, m, cap);
                        }
                    }
                }
            }
            MessageType::Bubble | MessageType::IndirectBubble => {
                // a bubble the receiver's NAT refused; attach to the inter-site process
                let Some((v6src, v6dst)) = t.ipv6 else { return };
                let target = self.known_client(&v6dst).or_else(|| self.by_socket.get(&qdst).copied());
                let sender = self.known_client(&v6src).or_else(|| self.by_socket.get(&qsrc).copied());
                if let (Some(s), Some(r)) = (sender, target) {
                    if let Some(&pid) = self.inter_site.get(&(s, r)) {
                        let p = &mut self.procs[pid];
                        p.n[2] += 1;
                        p.step(StepName::DirectBubbleDropped, m, cap);
                    } else if let Some(&pid) = self.inter_site.get(&(r, s)) {
                        let p = &mut self.procs[pid];
                        p.n[2] += 1;
                        p.step(StepName::ReplyBubbleDropped, m, cap);
                    }
                }
            }
            _ => {}
        }
    }

    // ---- bubbles ----

    fn bubble_rate(&mut self, m: &At, sender: ClientId, peer: Ipv6Addr, key: u64) {
        let ts = m.ns();
        let skey = u64::from(sender);
        // more pairs than tracked: no rate limit for this one
        let Some(e) = self.peer_pairs.entry(key, PEER_SET_CAP) else { return };
        if e.bubbles == NO_BUBBLES {
            e.bubbles = self.bubbles.len() as u32;
            self.bubbles.push(BubbleState::default());
        }
        let b = &mut self.bubbles[e.bubbles as usize];
        let last_rx = (b.last_rx != i64::MIN).then_some(b.last_rx);
        if let Some(last) = b.last_tx {
            if ts - last < 500_000_000 {
                // the direct and indirect bubble of one transmission (RFC 4380 §5.2.4 case 5)
                return;
            }
        }
        let too_soon = b.last_tx.is_some_and(|l| ts - l < 1_900_000_000);
        let mut too_many = false;
        if b.n >= 4 {
            let oldest = b.window[b.n % 4];
            if ts - oldest < 300_000_000_000 && last_rx.is_none_or(|r| r < oldest) {
                too_many = true;
            }
        }
        b.window[b.n % 4] = ts;
        b.n += 1;
        b.last_tx = Some(ts);
        if too_soon {
            self.anomaly((13, skey, u128::from(peer) as u64), "bubble-rate", m, || {
                let peer = Ipv6Text(peer);
                format!("bubbles to {peer} less than 2 s apart: RFC 4380 §5.2.6 forbids a bubble when the last transmission to that peer was under 2 s ago")
            });
        }
        if too_many {
            self.anomaly((14, skey, u128::from(peer) as u64), "bubble-limit", m, || {
                let peer = Ipv6Text(peer);
                format!("a 5th bubble to {peer} within 300 s with no direct response: RFC 4380 §5.2.6 allows at most 4 unanswered bubbles per 300 s")
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_bubble(
        &mut self,
        m: &At,
        src: Sock,
        dst: Sock,
        t: &Observation,
        v6src: Ipv6Addr,
        v6dst: Ipv6Addr,
        sender: Option<ClientId>,
        receiver: Option<ClientId>,
        keys: [u64; 2],
        multicast: bool,
    ) {
        let cap = self.opts.max_frames;
        let ts = m.ns();
        if multicast {
            if dst.ip == DISCOVERY_ADDRESS {
                let pid = match self.on_link.get(&src) {
                    Some(&p) => p,
                    None => {
                        let mut p = Proc::new(ProcessKind::OnLink, m);
                        p.client = sender;
                        p.sock = Some(src);
                        let Some(id) = self.new_proc((3, ip_key(src), 0), || p) else { return };
                        if self.on_link.len() < 65_536 {
                            self.on_link.insert(src, id);
                        }
                        id
                    }
                };
                let p = &mut self.procs[pid];
                p.n[0] += 1;
                p.step(StepName::DiscoveryBubble, m, cap);
            }
            return;
        }
        // unicast reply to a local discovery bubble (RFC 4380 §5.2.3 case 4)
        if let Some(&pid) = self.on_link.get(&dst) {
            let p = &mut self.procs[pid];
            if p.responder.is_none() && ts - p.last < 600_000_000_000 && src.port != TEREDO_PORT {
                p.responder = Some(src);
                p.peer_client = sender;
                p.n[1] += 1;
                p.step(StepName::UnicastReplyBubble, m, cap);
                return;
            }
        }
        let origin = t.origin;
        if let Some(o) = origin {
            // forwarded by a server (indirect bubble, RFC 4380 §5.3.1)
            if src.port == TEREDO_PORT {
                self.server_mut(src.ip);
            }
            let Some(r) = receiver else { return };
            let initiator =
                self.by_socket.get(&o).copied().or_else(|| t.tao(0).and_then(|a| self.client_for(m, &a, Some(v6src))));
            match initiator {
                Some(a) if self.is_client_like(a, o) => {
                    let pid = self.inter_site_proc(m, a, r);
                    if let Some(pid) = pid {
                        self.procs[pid].step(StepName::IndirectBubbleForwarded, m, cap);
                    }
                }
                _ => {
                    // a relay (or host-specific relay) asking the client to open its NAT
                    self.relay_mut(o);
                    let key = (r, o);
                    let pid = match self.relay_pending.get(&key).copied() {
                        Some(p) => Some(p),
                        None => {
                            // a pending echo test of this client whose reply will come from o?
                            let pending = self.clients[r as usize]
                                .relay_tests
                                .iter()
                                .copied()
                                .max_by_key(|&p| self.procs[p].last);
                            let p = match pending {
                                Some(p) => Some(p),
                                None => {
                                    let mut p = Proc::new(ProcessKind::Ipv6Initiated, m);
                                    p.client = Some(r);
                                    p.relay = Some(o);
                                    self.new_proc((4, u64::from(r), u128::from(ip_key(o))), || p)
                                }
                            };
                            if let Some(p) = p {
                                if self.relay_pending.len() < 65_536 {
                                    self.relay_pending.insert(key, p);
                                }
                            }
                            p
                        }
                    };
                    if let Some(pid) = pid {
                        let p = &mut self.procs[pid];
                        p.relay.get_or_insert(o);
                        if p.done.is_none() {
                            p.via_indirect = true;
                        }
                        p.step(StepName::IndirectBubbleWithRelayOrigin, m, cap);
                    }
                }
            }
            return;
        }
        // sent to a server: an indirect bubble (or a maintenance bubble to the own server)
        if dst.port == TEREDO_PORT
            && (self.servers.contains_key(&dst.ip) || t.tao(1).is_some_and(|a| a.server == dst.ip))
        {
            let Some(a) = sender else { return };
            let dst_tao = t.tao(1);
            if let (Some(b), Some(tao)) = (receiver, dst_tao) {
                if tao.server == dst.ip && b != a {
                    self.bubble_rate(m, a, v6dst, keys[0]);
                    if let Some(pid) = self.inter_site_proc(m, a, b) {
                        let p = &mut self.procs[pid];
                        p.n[0] += 1;
                        p.step(StepName::IndirectBubble, m, cap);
                    }
                    return;
                }
            }
            // a bubble to a relay that sits on the server's address (relay origin = server)
            if let Some(&pid) = self.relay_pending.get(&(a, dst)) {
                self.procs[pid].step(StepName::DirectBubbleToRelay, m, cap);
                return;
            }
            if self.clients[a as usize].mapping.server == dst.ip {
                // RFC 4380 / the overview: a periodic bubble to the server keeps the mapping
                let pid = match self.clients[a as usize].maintenance {
                    Some(p) => Some(p),
                    None => {
                        let mut p = Proc::new(ProcessKind::Maintenance, m);
                        p.client = Some(a);
                        p.sock = Some(src);
                        let id = self.new_proc((1, u64::from(a), 0), || p);
                        self.clients[a as usize].maintenance = id;
                        id
                    }
                };
                if let Some(pid) = pid {
                    self.procs[pid].refresh(ts, StepName::BubbleToServer, m, cap);
                }
            }
            return;
        }
        // a direct bubble
        let Some(a) = sender else {
            if let Some(b) = receiver {
                if self.unattributed.len() < 65_536 {
                    self.unattributed.entry((src, b)).or_insert((m.fref(), ts));
                }
            }
            return;
        };
        // towards a relay the client was told about by an indirect bubble
        if let Some(&pid) = self.relay_pending.get(&(a, dst)) {
            self.procs[pid].step(StepName::DirectBubbleToRelay, m, cap);
            return;
        }
        if t.native[1] {
            // a bubble to an IPv6 host through a relay
            let pid = self.host_proc(m, a, v6dst, true, keys[0]);
            if let Some(pid) = pid {
                self.procs[pid].relay.get_or_insert(dst);
                self.procs[pid].step(StepName::BubbleToRelay, m, cap);
            }
            // (the observation's relay key is of the native destination)
            self.note_relay(dst, a, v6dst, keys[0], t.relay_key);
            return;
        }
        let Some(b) = receiver else { return };
        if a == b {
            return;
        }
        if let Some(&pid) = self.inter_site.get(&(b, a)) {
            let p = &mut self.procs[pid];
            if !p.has(StepName::ReplyBubble) || ts - p.last < 30_000_000_000 {
                p.n[1] += 1;
                p.step(StepName::ReplyBubble, m, cap);
                return;
            }
        }
        self.bubble_rate(m, a, v6dst, keys[0]);
        if let Some(pid) = self.inter_site_proc(m, a, b) {
            let p = &mut self.procs[pid];
            p.n[0] += 1;
            p.step(StepName::DirectBubble, m, cap);
        }
    }

    fn is_client_like(&self, c: ClientId, o: Sock) -> bool {
        // the origin is a client's mapping (not a relay): it has a Teredo mapping equal to o or
        // was seen sending from o
        let cl = &self.clients[c as usize];
        cl.mapping.mapped == o || cl.sockets.contains(&o)
    }

    fn inter_site_proc(&mut self, m: &At, a: ClientId, b: ClientId) -> Option<ProcId> {
        if let Some(&p) = self.inter_site.get(&(a, b)) {
            return Some(p);
        }
        let id = self.new_proc((5, u64::from(a), u128::from(b)), || Proc {
            client: Some(a),
            peer_client: Some(b),
            ..Proc::new(ProcessKind::InterSite, m)
        })?;
        if self.inter_site.len() < 1 << 20 {
            self.inter_site.insert((a, b), id);
        }
        Some(id)
    }

    /// The process of client `c` with IPv6 host `host` (relay discovery when the client spoke
    /// first, IPv6-initiated otherwise), kept in the pair's entry. Beyond [`PEER_SET_CAP`]
    /// pairs, a new one is not kept.
    fn host_proc(&mut self, m: &At, c: ClientId, host: Ipv6Addr, client_first: bool, pkey: u64) -> Option<ProcId> {
        let key = (6, u64::from(c), u128::from(host));
        let Some(e) = self.peer_pairs.entry(pkey, PEER_SET_CAP) else {
            if first_time(&mut self.procs_not_kept, key) {
                self.procs_dropped += 1;
            }
            return None;
        };
        match e.host_proc {
            NOT_KEPT => return None,
            NO_PROC => {}
            p => return Some(p as ProcId),
        }
        // Asked once per pair: counted as not kept without remembering the key elsewhere (and,
        // beyond the cap, without making the process first: most pairs of a large capture).
        let id = self.keep_proc(|| {
            let kind = if client_first { ProcessKind::RelayDiscovery } else { ProcessKind::Ipv6Initiated };
            let mut p = Proc::new(kind, m);
            p.client = Some(c);
            p.host = Some(host);
            p
        });
        if id.is_none() {
            self.procs_dropped += 1;
        }
        // a process not kept is remembered as such: its next packets cost one lookup
        if let Some(e) = self.peer_pairs.get_mut(pkey) {
            e.host_proc = id.map_or(NOT_KEPT, |i| i as u32);
        }
        if let (Some(id), true) = (id, client_first) {
            self.clients[c as usize].relay_tests.push(id);
        }
        id
    }

    /// `rkey` is `relay_key(relay, host)`: the observation's, when its relay is this one.
    fn note_relay(&mut self, relay: Sock, c: ClientId, host: Ipv6Addr, pkey: u64, rkey: u64) {
        debug_assert_eq!(rkey, relay_key(relay, host));
        // the pair was seen through this relay last time: all but the packet count is known
        if let Some(e) = self.peer_pairs.get_mut(pkey) {
            if e.relay_noted && e.relay == relay {
                if let Some(r) = self.relays.get_mut(&relay) {
                    r.packets += 1;
                    return;
                }
            }
            e.relay = relay;
            e.relay_noted = true;
        }
        // a host-specific relay: a 6to4 or ISATAP host whose embedded IPv4 is the relay's
        // (RFC 4380 §2.14); `host` is native, so these are `classify`'s only cases
        let s = host.segments();
        let b = host.octets();
        let hs = if s[0] == 0x2002 {
            Ipv4Addr::new(b[2], b[3], b[4], b[5]) == relay.ip
        } else {
            (s[4] & !0x0200) == 0 && s[5] == 0x5efe && Ipv4Addr::new(b[12], b[13], b[14], b[15]) == relay.ip
        };
        let r = self.relays.entry(relay).or_default();
        r.packets += 1;
        if hs {
            r.host_specific = true;
        } else {
            r.not_host_specific = true;
        }
        // a relay the client lists served it before: it lists the client (or is full)
        let cl = &mut self.clients[c as usize];
        if !cl.relays.contains(&relay) {
            if !r.clients.contains(&c) && r.clients.len() < 256 {
                r.clients.push(c);
            }
            if cl.relays.len() < 16 {
                cl.relays.push(relay);
            }
        }
        let new_host = match self.relay_hosts.add(rkey, PEER_SET_CAP) {
            Some(new) => new,
            // more pairs than tracked
            None => !r.hosts.contains(&host),
        };
        if new_host {
            r.hosts_total += 1;
            if r.hosts.len() < 256 {
                r.hosts.push(host);
            }
        }
    }

    // ---- data ----

    #[allow(clippy::too_many_arguments)]
    fn on_data(
        &mut self,
        m: &At,
        src: Sock,
        dst: Sock,
        t: &Observation,
        v6src: Ipv6Addr,
        v6dst: Ipv6Addr,
        sender: Option<ClientId>,
        receiver: Option<ClientId>,
        keys: [u64; 2],
    ) {
        let cap = self.opts.max_frames;
        let ts = m.ns();
        let mt = t.message_type;
        // client -> IPv6 host
        if let (Some(a), true) = (sender, t.native[1]) {
            let to_server = dst.port == TEREDO_PORT && self.clients[a as usize].mapping.server == dst.ip;
            if !to_server {
                // counted whether or not the process is kept (beyond the cap)
                // (the observation's relay key is of the native destination)
                self.note_relay(dst, a, v6dst, keys[0], t.relay_key);
            }
            let Some(pid) = self.host_proc(m, a, v6dst, true, keys[0]) else { return };
            if to_server {
                let p = &mut self.procs[pid];
                if mt == MessageType::EchoRequest {
                    p.n[0] += 1;
                    p.step(StepName::EchoRequestViaServer, m, cap);
                } else {
                    p.step(StepName::DataViaServer, m, cap);
                }
            } else {
                let p = &mut self.procs[pid];
                p.relay.get_or_insert(dst);
                if p.kind == Some(ProcessKind::Ipv6Initiated) && p.done.is_none() && p.has(StepName::DataFromRelay) {
                    p.done = Some(ts);
                }
                p.step(StepName::DataToRelay, m, cap);
            }
            return;
        }
        // IPv6 host -> client through a relay
        if let (Some(c), true) = (receiver, t.native[0]) {
            let relay = src;
            // the observation's relay key is of the native source unless the destination is
            // native too
            let rkey = if t.native[1] { relay_key(relay, v6src) } else { t.relay_key };
            self.note_relay(relay, c, v6src, keys[1], rkey);
            let pkey = keys[1];
            let existing = self.peer_pairs.get(pkey).map_or(NO_PROC, |e| e.host_proc);
            let pid = match existing {
                NOT_KEPT => None,
                NO_PROC => match self.relay_pending.get(&(c, relay)).copied() {
                    Some(p) if self.procs[p].host.is_none() => {
                        self.procs[p].host = Some(v6src);
                        if let Some(e) = self.peer_pairs.entry(pkey, PEER_SET_CAP) {
                            e.host_proc = p as u32;
                        }
                        Some(p)
                    }
                    _ => self.host_proc(m, c, v6src, false, pkey),
                },
                p => Some(p as ProcId),
            };
            let Some(pid) = pid else { return };
            let p = &mut self.procs[pid];
            p.relay.get_or_insert(relay);
            if mt == MessageType::EchoReply && p.kind == Some(ProcessKind::RelayDiscovery) {
                p.n[1] += 1;
                p.step(StepName::EchoReplyFromRelay, m, cap);
                if p.done.is_none() {
                    p.done = Some(ts);
                    p.relay = Some(relay);
                }
            } else {
                p.step(StepName::DataFromRelay, m, cap);
                if p.kind == Some(ProcessKind::Ipv6Initiated) && p.done.is_none() {
                    p.done = Some(ts);
                }
            }
            return;
        }
        // client <-> client
        let (Some(a), Some(b)) = (sender, receiver) else { return };
        if a == b {
            return;
        }
        if self.pairs_flowing.contains(&(a, b)) || self.pairs_flowing.contains(&(b, a)) {
            return;
        }
        if self.pairs_flowing.len() < 1 << 20 {
            self.pairs_flowing.insert((a, b));
        }
        let p1 = self.inter_site.get(&(a, b)).copied();
        let p2 = self.inter_site.get(&(b, a)).copied();
        if let Some(pid) = p1.or(p2) {
            let p = &mut self.procs[pid];
            p.step(StepName::FirstData, m, cap);
            if p.done.is_none() {
                p.done = Some(ts);
            }
            return;
        }
        // on-link peers exchange data after discovery
        for (s, other) in [(src, dst), (dst, src)] {
            if let Some(&pid) = self.on_link.get(&s) {
                if self.procs[pid].responder == Some(other) {
                    self.procs[pid].step(StepName::FirstData, m, cap);
                    return;
                }
            }
        }
        if let Some((f, t0)) = self.unattributed.remove(&(src, b)) {
            // the sender's bubble came before its socket was known: the introduction happened
            let mut p = Proc::new(ProcessKind::InterSite, m);
            p.client = Some(a);
            p.peer_client = Some(b);
            p.push_step(Step::new(StepName::DirectBubble, f, t0));
            p.touch_frame(f, cap);
            p.start = t0;
            p.n[0] = 1;
            p.step(StepName::FirstData, m, cap);
            p.done = Some(ts);
            if let Some(id) = self.new_proc((5, u64::from(a), u128::from(b)), || p) {
                self.inter_site.insert((a, b), id);
            }
            return;
        }
        let b_cone = self.clients[b as usize].address.and_then(|x| teredo_of(&x)).is_some_and(|x| x.flags.cone());
        if !b_cone {
            let (sa, sb) = (self.clients[a as usize].address, self.clients[b as usize].address);
            self.anomaly((15, u64::from(a), u64::from(b)), "no-bubble-introduction", m, || {
                let f = |x: Option<Ipv6Addr>| x.map_or_else(|| "?".to_string(), |x| Ipv6Text(x).to_string());
                format!("{} sends to the non-cone peer {} without a bubble exchange in the capture: RFC 4380 §5.2.4 case 5 queues the packet and sends bubbles first (or the introduction happened before the capture started)", f(sa), f(sb))
            });
        }
    }
}

/// Dissect and analyse every frame of the capture files `paths` (in order) into `analyzer`.
/// Returns the number of frames read.
pub fn analyze_files(
    analyzer: &mut Analyzer,
    paths: &[&str],
    opts: &crate::dissect::DissectOptions,
) -> Result<u64, crate::capture::CaptureError> {
    let mut n = 0;
    for (i, path) in paths.iter().enumerate() {
        let mut r = crate::capture::open(path)?;
        while let Some(f) = r.next_frame() {
            let f = f?;
            let d = crate::dissect::dissect_frame(f.data, f.origlen as usize, f.linktype, opts);
            analyzer.observe(&FrameMeta::from_frame(i, &f), &d);
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
