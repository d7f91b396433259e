//! The Wireshark-like walk: frame bytes + link type -> every layer decoded with its offset,
//! plus where and why the walk stopped.
//!
//! Path: link -> (VLAN tags) -> IPv4 -> UDP -> Teredo (RFC 4380 §5.1.1 indicators, IPv6 packet,
//! RFC 6081 §4 trailers), or IPv4 -> ICMPv4 error -> quoted IPv4 -> UDP -> Teredo (`quoted`).
//! A frame that is not UDP/IPv4 is classified after reading only its link and IPv4 headers;
//! a UDP datagram on other ports than 3544 costs one call to [`looks_like_teredo`].
//! Nothing here allocates: lists are fixed-capacity [`InlineVec`]s or views walked on demand
//! ([`Trailers`], [`Extensions`]). [`Dissection::layers`]
//! (for verbose output only) does allocate.
//!
//! # Detection
//! 1. UDP source or destination port 3544 ([`Detection::Port3544`]);
//! 2. a port listed in [`DissectOptions::extra_ports`] ([`Detection::ExtraPort`]);
//! 3. when [`DissectOptions::heuristic`] is on, [`looks_like_teredo`] ([`Detection::Heuristic`]).
//!
//! # The heuristic ([`looks_like_teredo`])
//! Wireshark's `teredo_udp` heuristic (off by default) accepts a payload whose optional
//! indicators are followed by a version-6 nibble and exactly `40 + payload length` bytes; it
//! therefore misses packets carrying RFC 6081 trailers or cut by the snapshot length, and takes
//! any UDP payload starting with nibble 6 and the right length for Teredo (NFS, DNS...).
//! Ours accepts a UDP payload as Teredo when ALL of these hold:
//! 1. neither port is a well-known non-Teredo service ([`NON_TEREDO_PORTS`]: DNS 53, mDNS 5353,
//!    LLMNR 5355, NTP 123, SSDP 1900, DHCP, NetBIOS, SNMP, IKE, syslog, QUIC/HTTPS 443, GTP-U,
//!    VXLAN, Geneve);
//! 2. optional indicators parse with the order rules of RFC 4380 §5.1.1 (Authentication with
//!    ID-len + AU-len fitting in the datagram, then Origin indication);
//! 3. at least 40 bytes follow and the IPv6 version nibble is 6;
//! 4. the next header is one of 0, 6, 17, 43, 44, 50, 51, 58, 59, 60, and a payload length of
//!    0 goes with next header 59 only (a bubble), a non-zero one never with 59;
//! 5. `40 + payload length <= remaining` (RFC 6081 §4) and the bytes after the IPv6 packet, if
//!    any, parse as RFC 6081 trailers with no unparsed remainder (otherwise the source or the
//!    destination must be a Teredo address, and the remainder is reported as unparsed) — or
//!    the frame was cut by the snapshot length (`caplen < origlen`), in which case a longer
//!    payload length is allowed;
//! 6. the addresses are those Teredo traffic carries: the source or the destination is in
//!    2001:0::/32 (RFC 4380 §2.6), or the source is link-local fe80::/10 and the destination is
//!    link-local or ff02::1 / ff02::2 (qualification RS/RA, RFC 4380 §5.2.1).
//!
//! Rule 6 alone has a chance of about 2^-31 to hold for random bytes; rules 3-5 add more.

use crate::error::{DissectError, Layer, LengthSource, Notice, NoticeKind};
use crate::wire::icmpv4::{parse_icmpv4, Icmpv4};
use crate::wire::icmpv6::{parse_icmpv6, Icmpv6, Icmpv6Body, Icmpv6Type};
use crate::wire::ipv4::{parse_ipv4, IpProtocol, Ipv4Header, Ipv4Packet};
use crate::wire::ipv6::{
    is_extension_header, is_link_local, is_teredo, parse_extension_chain, parse_ipv6_header, Extensions, Ipv6Header,
    IPV6_HEADER,
};
use crate::wire::link::{parse_link, EtherType, Link};
use crate::wire::teredo::{parse_indicators, parse_trailers, Authentication, OriginIndication, Trailers, Unparsed};
use crate::wire::transport::{parse_tcp, TcpHeader};
use crate::wire::udp::{parse_udp, UdpHeader, TEREDO_PORT};
use crate::wire::{checksum_add, checksum_finish, ipv4_pseudo_sum, InlineVec};
use std::net::Ipv6Addr;

/// Options of the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DissectOptions {
    /// Try [`looks_like_teredo`] on UDP ports other than 3544 (default true).
    pub heuristic: bool,
    /// More UDP ports to decode as Teredo unconditionally.
    pub extra_ports: Vec<u16>,
    /// Verify the IPv4 header (RFC 791 §3.1), UDP (RFC 768) and ICMPv6 (RFC 4443 §2.3)
    /// checksums of Teredo packets (default true). When false, no checksum notice is
    /// raised and [`TeredoPacket::icmpv6_checksum_ok`] stays `None`; everything else
    /// (detection, message type, errors) is the same. For runs that only count.
    pub verify_checksums: bool,
}

impl Default for DissectOptions {
    fn default() -> Self {
        DissectOptions { heuristic: true, extra_ports: Vec::new(), verify_checksums: true }
    }
}

/// Why a UDP datagram was (or was not) taken for Teredo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Detection {
    /// UDP port 3544 on either side.
    Port3544,
    /// A port from [`DissectOptions::extra_ports`].
    ExtraPort,
    /// [`looks_like_teredo`] accepted it.
    Heuristic,
    /// The caller said it is Teredo ([`dissect_teredo_payload`]).
    Assumed,
    /// Not Teredo (or not UDP/IPv4 at all).
    NotTeredo,
}

impl Detection {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Detection::Port3544 => "port-3544",
            Detection::ExtraPort => "extra-port",
            Detection::Heuristic => "heuristic",
            Detection::Assumed => "assumed",
            Detection::NotTeredo => "not-teredo",
        }
    }
}

/// Teredo message type, named after RFC 4380.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageType {
    /// Next header 59 and payload length 0 (RFC 4380 §2.8).
    Bubble,
    /// A bubble carrying an Origin indication: relayed by a server (RFC 4380 §5.2.6, §5.3.1).
    IndirectBubble,
    /// ICMPv6 Router Solicitation (qualification, RFC 4380 §5.2.1).
    RouterSolicitation,
    /// ICMPv6 Router Advertisement (RFC 4380 §5.3.2).
    RouterAdvertisement,
    /// ICMPv6 Echo Request (e.g. the direct IPv6 connectivity test, RFC 4380 §5.2.9).
    EchoRequest,
    /// ICMPv6 Echo Reply.
    EchoReply,
    /// Any other IPv6 packet.
    Data,
    /// Not decodable as a Teredo packet.
    Malformed,
}

impl MessageType {
    /// Stable name used in output: `bubble`, `indirect-bubble`, `router-solicitation`,
    /// `router-advertisement`, `echo-request`, `echo-reply`, `data`, `malformed`.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Bubble => "bubble",
            MessageType::IndirectBubble => "indirect-bubble",
            MessageType::RouterSolicitation => "router-solicitation",
            MessageType::RouterAdvertisement => "router-advertisement",
            MessageType::EchoRequest => "echo-request",
            MessageType::EchoReply => "echo-reply",
            MessageType::Data => "data",
            MessageType::Malformed => "malformed",
        }
    }
}

/// The layer above IPv6 (after extension headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upper<'a> {
    /// Not reached (IPv6 missing or the walk stopped before).
    None,
    /// ICMPv6 message.
    Icmpv6(Icmpv6<'a>),
    /// TCP header.
    Tcp(TcpHeader),
    /// UDP header.
    Udp(UdpHeader),
    /// Next header 59.
    NoNextHeader,
    /// Another protocol, ESP, or a non-first fragment: not decoded.
    Opaque(IpProtocol),
}

/// A Teredo packet: indicators, IPv6 packet, trailers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TeredoPacket<'a> {
    /// Frame offset of the UDP payload.
    pub offset: usize,
    /// UDP payload bytes available.
    pub len: usize,
    /// Authentication indicator.
    pub auth: Option<Authentication<'a>>,
    /// Origin indication.
    pub origin: Option<OriginIndication>,
    /// IPv6 header.
    pub ipv6: Option<Ipv6Header>,
    /// IPv6 extension headers.
    pub extensions: Extensions<'a>,
    /// Upper layer.
    pub upper: Upper<'a>,
    /// ICMPv6 checksum verdict when the message was complete.
    pub icmpv6_checksum_ok: Option<bool>,
    /// IPv6 payload bytes (after the 40-byte header) as captured, within the payload length.
    pub ipv6_payload: &'a [u8],
    /// RFC 6081 trailers.
    pub trailers: Trailers<'a>,
    /// Bytes after the IPv6 packet that are not trailers.
    pub unparsed: Option<Unparsed<'a>>,
    /// Message type.
    pub message_type: MessageType,
}

impl<'a> TeredoPacket<'a> {
    fn empty(offset: usize, len: usize) -> Self {
        TeredoPacket {
            offset,
            len,
            auth: None,
            origin: None,
            ipv6: None,
            extensions: Extensions::default(),
            upper: Upper::None,
            icmpv6_checksum_ok: None,
            ipv6_payload: &[],
            trailers: Trailers::default(),
            unparsed: None,
            message_type: MessageType::Malformed,
        }
    }
    /// The ICMPv6 message, if any.
    pub fn icmpv6(&self) -> Option<&Icmpv6<'a>> {
        match &self.upper {
            Upper::Icmpv6(m) => Some(m),
            _ => None,
        }
    }
}

/// Everything decoded from one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Dissection<'a> {
    /// The frame.
    pub frame: &'a [u8],
    /// Original length on the wire (>= `frame.len()` when cut by the snapshot length).
    pub orig_len: usize,
    /// Link type.
    pub linktype: u32,
    /// Link layer.
    pub link: Option<Link>,
    /// Outer IPv4 header.
    pub ipv4: Option<Ipv4Header<'a>>,
    /// ICMPv4 message (when the outer IPv4 carries ICMP).
    pub icmpv4: Option<Icmpv4<'a>>,
    /// The IPv4 header quoted in an ICMPv4 error.
    pub quoted_ipv4: Option<Ipv4Header<'a>>,
    /// True when the UDP/Teredo layers below come from a datagram quoted in an ICMPv4 error.
    pub quoted: bool,
    /// UDP header (outer, or quoted when `quoted`).
    pub udp: Option<UdpHeader>,
    /// Why the UDP payload was taken for Teredo.
    pub detection: Detection,
    /// The Teredo packet.
    pub teredo: Option<TeredoPacket<'a>>,
    /// Fatal errors: where and why the walk stopped. A walk stops at its first error, and the
    /// walk of a datagram quoted in an ICMPv4 error runs only when the main walk had none, so
    /// this holds at most one error (two slots, for the main walk and the quoted one).
    pub errors: InlineVec<DissectError, 2>,
    /// Non-fatal findings.
    pub notices: InlineVec<Notice, 12>,
}

impl<'a> Dissection<'a> {
    fn new(frame: &'a [u8], orig_len: usize, linktype: u32) -> Self {
        Dissection {
            frame,
            orig_len,
            linktype,
            link: None,
            ipv4: None,
            icmpv4: None,
            quoted_ipv4: None,
            quoted: false,
            udp: None,
            detection: Detection::NotTeredo,
            teredo: None,
            errors: InlineVec::new(),
            notices: InlineVec::new(),
        }
    }
    /// True when a Teredo packet was found (possibly quoted).
    pub fn is_teredo(&self) -> bool {
        self.teredo.is_some()
    }
    /// Message type of the Teredo packet.
    pub fn message_type(&self) -> Option<MessageType> {
        self.teredo.as_ref().map(|t| t.message_type)
    }
    /// The frame's IPv4 header when the frame carries a fragment of a datagram (not one
    /// quoted in an ICMPv4 error): the datagram is dissected once reassembled.
    pub fn ipv4_fragment(&self) -> Option<&Ipv4Header<'a>> {
        self.ipv4.as_ref().filter(|ip| ip.is_fragment() && !self.quoted)
    }
    /// True when the frame was cut by the snapshot length.
    pub fn is_cut(&self) -> bool {
        self.orig_len > self.frame.len()
    }
    fn error(&mut self, e: DissectError) {
        self.errors.push(e);
    }
    fn notice(&mut self, layer: Layer, offset: usize, kind: NoticeKind) {
        if !self.notices.push(Notice { layer, offset, kind }) {
            // the list is full; the overflow flag says so
        }
    }
}

/// Well-known UDP ports whose traffic the heuristic never takes for Teredo.
pub const NON_TEREDO_PORTS: [u16; 20] =
    [53, 67, 68, 69, 123, 137, 138, 161, 162, 443, 500, 514, 1900, 2152, 4500, 4789, 5353, 5355, 6081, 853];

/// [`NON_TEREDO_PORTS`] as a 65 536-bit set, built at compile time: one load per test instead
/// of a scan of the list, as it runs for every UDP datagram off port 3544.
const NON_TEREDO_PORT_SET: [u64; 1024] = {
    let mut set = [0u64; 1024];
    let mut i = 0;
    while i < NON_TEREDO_PORTS.len() {
        let p = NON_TEREDO_PORTS[i] as usize;
        set[p / 64] |= 1 << (p % 64);
        i += 1;
    }
    set
};

#[inline]
fn is_non_teredo_port(port: u16) -> bool {
    let p = usize::from(port);
    NON_TEREDO_PORT_SET[p / 64] & (1 << (p % 64)) != 0
}

fn plausible_addresses(src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
    if is_teredo(src) || is_teredo(dst) {
        return true;
    }
    let d = dst.segments();
    let all_nodes_or_routers = d[0] == 0xff02 && d[1..7] == [0; 6] && (d[7] == 1 || d[7] == 2);
    is_link_local(src) && (is_link_local(dst) || all_nodes_or_routers)
}

/// The detection heuristic for UDP ports other than 3544 (rules in the module docs).
/// `cut` says the frame was cut by the snapshot length, so the IPv6 packet may be incomplete.
pub fn looks_like_teredo(payload: &[u8], src_port: u16, dst_port: u16, cut: bool) -> bool {
    if payload.len() < IPV6_HEADER || is_non_teredo_port(src_port) || is_non_teredo_port(dst_port) {
        return false;
    }
    let (ind, err) = parse_indicators(payload, 0, LengthSource::Snaplen);
    if err.is_some() {
        return false;
    }
    let rest = &payload[ind.len..];
    let h = match parse_ipv6_header(rest, 0, LengthSource::Snaplen) {
        Ok(h) => h,
        Err(_) => return false,
    };
    let nh = h.next_header.0;
    if !matches!(nh, 0 | 6 | 17 | 43 | 44 | 50 | 51 | 58 | 59 | 60) {
        return false;
    }
    if (h.payload_length == 0) != (nh == 59) {
        return false;
    }
    let end = IPV6_HEADER + usize::from(h.payload_length);
    if end > rest.len() {
        if !cut {
            return false;
        }
    } else if end < rest.len() && parse_trailers(&rest[end..], 0, &mut |_| {}).1.is_some() {
        // Bytes after the IPv6 packet that are not valid RFC 6081 trailers: still Teredo
        // when an address is a Teredo address (the bytes are then reported as unparsed,
        // not dropped with the whole packet), but not on link-local evidence alone.
        return is_teredo(&h.src) || is_teredo(&h.dst);
    }
    plausible_addresses(&h.src, &h.dst)
}

/// Dissect a frame whose captured length equals its original length.
pub fn dissect<'a>(frame: &'a [u8], linktype: u32, opts: &DissectOptions) -> Dissection<'a> {
    dissect_frame(frame, frame.len(), linktype, opts)
}

/// Dissect a frame of `frame.len()` captured bytes out of `orig_len` on the wire.
#[inline]
pub fn dissect_frame<'a>(frame: &'a [u8], orig_len: usize, linktype: u32, opts: &DissectOptions) -> Dissection<'a> {
    // Inlined so that the result can be built in the caller's slot: returning a local from a
    // non-inlined function cost a full copy of it per frame. Whether the copy goes away
    // depends on the caller; [`dissect_frame_with`] never copies.
    let mut d = Dissection::new(frame, orig_len.max(frame.len()), linktype);
    walk_frame(&mut d, opts);
    d
}

/// Dissect a frame like [`dissect_frame`] and hand the result to `f` by reference, for a
/// loop that only looks at each dissection: the [`Dissection`] (over 1 KiB) is built in
/// place and never moved, where `let d = dissect_frame(..)` may cost a copy of it per frame.
#[inline]
pub fn dissect_frame_with<'a, R>(
    frame: &'a [u8],
    orig_len: usize,
    linktype: u32,
    opts: &DissectOptions,
    f: impl FnOnce(&Dissection<'a>) -> R,
) -> R {
    let mut d = Dissection::new(frame, orig_len.max(frame.len()), linktype);
    walk_frame(&mut d, opts);
    f(&d)
}

fn walk_frame(d: &mut Dissection<'_>, opts: &DissectOptions) {
    let frame = d.frame;
    let link = match parse_link(frame, d.linktype) {
        Ok(l) => l,
        Err(e) => {
            d.error(e);
            return;
        }
    };
    d.link = Some(link);
    if link.ethertype != EtherType::IPV4 {
        return;
    }
    let net = frame.get(link.header_len..).unwrap_or(&[]);
    walk_ipv4::<false>(d, net, link.header_len, opts);
}

/// Dissect a complete IPv4 datagram (e.g. one rebuilt by
/// [`crate::reassembly::Ipv4Reassembler`]); `base_offset` is added to every reported offset.
pub fn dissect_ipv4_datagram<'a>(datagram: &'a [u8], base_offset: usize, opts: &DissectOptions) -> Dissection<'a> {
    let mut d = Dissection::new(datagram, datagram.len(), 228);
    walk_ipv4::<false>(&mut d, datagram, base_offset, opts);
    d
}

/// Dissect a UDP payload the caller knows to be Teredo (e.g. a datagram the prober received),
/// with no link or IP layers. Offsets start at `base_offset`.
pub fn dissect_teredo_payload(udp_payload: &[u8], base_offset: usize) -> Dissection<'_> {
    let mut d = Dissection::new(udp_payload, udp_payload.len(), 0);
    d.detection = Detection::Assumed;
    walk_teredo(&mut d, udp_payload, base_offset, LengthSource::Snaplen, true);
    d
}

fn bound(missing: usize, field: &'static str) -> LengthSource {
    if missing > 0 {
        LengthSource::Snaplen
    } else {
        LengthSource::HeaderField(field)
    }
}

/// The IPv4 walk; `QUOTED` for a datagram quoted in an ICMPv4 error (a separate copy of the
/// code, so the main walk does not pick its destination fields at run time).
fn walk_ipv4<'a, const QUOTED: bool>(d: &mut Dissection<'a>, net: &'a [u8], offset: usize, opts: &DissectOptions) {
    let quoted = QUOTED;
    // Fast path: only IPv4 carrying UDP or ICMP can hold Teredo.
    if net.len() >= 20 && !matches!(net[9], 1 | 17) && net[0] >> 4 == 4 {
        if !quoted {
            if let Ok(p) = parse_ipv4(net, offset, LengthSource::Snaplen) {
                d.ipv4 = Some(p.header);
            }
        }
        return;
    }
    let lf = if quoted { LengthSource::HeaderField("ipv4.total_length") } else { LengthSource::Snaplen };
    let p: Ipv4Packet<'a> = match parse_ipv4(net, offset, lf) {
        Ok(p) => p,
        Err(e) => {
            if !quoted {
                d.error(e);
            }
            return;
        }
    };
    let h = p.header;
    if quoted {
        d.quoted_ipv4 = Some(h);
    } else {
        d.ipv4 = Some(h);
    }
    let payload_off = offset + h.header_len;
    if h.is_fragment() {
        d.notice(
            Layer::Ipv4Fragment,
            offset + 6,
            NoticeKind::Ipv4Fragment {
                offset_bytes: (h.fragment_offset_bytes()).min(0xffff) as u16,
                more: h.more_fragments,
            },
        );
        if !quoted {
            // First fragment: say whether it is Teredo by port, without decoding.
            if h.fragment_offset == 0 && h.protocol == IpProtocol::UDP && p.payload.len() >= 4 {
                let sp = u16::from_be_bytes([p.payload[0], p.payload[1]]);
                let dp = u16::from_be_bytes([p.payload[2], p.payload[3]]);
                d.detection = port_detection(sp, dp, opts);
            }
            return;
        }
    }
    match h.protocol {
        IpProtocol::UDP => walk_udp::<QUOTED>(d, p.payload, p.missing, p.padding, payload_off, opts),
        IpProtocol::ICMP if !quoted => {
            let m = match parse_icmpv4(p.payload, payload_off, bound(p.missing, "ipv4.total_length")) {
                Ok(m) => m,
                Err(e) => {
                    d.error(e);
                    return;
                }
            };
            d.icmpv4 = Some(m);
            if m.is_error() && !m.payload.is_empty() {
                walk_ipv4::<true>(d, m.payload, payload_off + 8, opts);
            }
        }
        _ => {}
    }
}

/// What walk_udp needs of an IPv4 packet besides its header.
struct IpRest<'a> {
    payload: &'a [u8],
    missing: usize,
    padding: usize,
}

#[inline]
fn port_detection(sp: u16, dp: u16, opts: &DissectOptions) -> Detection {
    if sp == TEREDO_PORT || dp == TEREDO_PORT {
        Detection::Port3544
    } else if !opts.extra_ports.is_empty() && (opts.extra_ports.contains(&sp) || opts.extra_ports.contains(&dp)) {
        Detection::ExtraPort
    } else {
        Detection::NotTeredo
    }
}

/// The UDP walk over the IPv4 payload `ip_payload` (`missing` bytes short of the total length,
/// `padding` bytes after it). The IPv4 header is the one walk_ipv4 stored in `d` (passed
/// by value it would be kept twice per frame, on the stack and in `d`).
fn walk_udp<'a, const QUOTED: bool>(
    d: &mut Dissection<'a>,
    ip_payload: &'a [u8],
    missing: usize,
    padding: usize,
    offset: usize,
    opts: &DissectOptions,
) {
    let ip = IpRest { payload: ip_payload, missing, padding };
    let quoted = QUOTED;
    let lf = bound(ip.missing, "ipv4.total_length");
    let u = match parse_udp(ip.payload, offset, lf, Layer::Udp) {
        Ok(u) => u,
        Err(e) => {
            if !quoted {
                d.error(e);
            }
            return;
        }
    };
    let h = u.header;
    let mut det = port_detection(h.src_port, h.dst_port, opts);
    if det == Detection::NotTeredo
        && opts.heuristic
        && looks_like_teredo(u.payload, h.src_port, h.dst_port, d.is_cut() || quoted)
    {
        det = Detection::Heuristic;
    }
    if det == Detection::NotTeredo {
        if !quoted {
            d.udp = Some(h);
        }
        return;
    }
    d.udp = Some(h);
    d.detection = det;
    d.quoted = quoted;
    // Checks that only matter for Teredo frames (kept off the fast path).
    if !quoted {
        // the header walk_ipv4 just stored
        let Some(iph) = d.ipv4 else { return };
        if opts.verify_checksums && !iph.checksum_ok() {
            d.notice(
                Layer::Ipv4,
                iph.offset + 10,
                NoticeKind::BadIpv4Checksum { found: iph.checksum, expected: iph.expected_checksum() },
            );
        }
        if ip.padding > 0 {
            d.notice(
                Layer::Link,
                iph.offset + usize::from(iph.total_length),
                NoticeKind::LinkPadding { len: ip.padding },
            );
        }
        let ip_payload = usize::from(iph.total_length).saturating_sub(iph.header_len);
        if ip.missing == 0 && usize::from(h.length) != ip_payload {
            d.notice(Layer::Udp, offset + 4, NoticeKind::UdpLengthMismatch { udp_length: h.length, ip_payload });
        }
        if opts.verify_checksums && h.checksum != 0 && u.missing == 0 {
            let ps = ipv4_pseudo_sum(iph.src.octets(), iph.dst.octets(), 17, h.length);
            let whole = &ip.payload[..usize::from(h.length)];
            if checksum_finish(checksum_add(ps, whole)) != 0 {
                d.notice(
                    Layer::Udp,
                    offset + 6,
                    NoticeKind::BadUdpChecksum {
                        found: h.checksum,
                        expected: crate::wire::udp::expected_checksum(ps, whole),
                    },
                );
            }
        }
    }
    let lf = if u.missing > 0 { lf } else { LengthSource::HeaderField("udp.length") };
    let before = d.errors.len();
    walk_teredo(d, u.payload, offset + 8, lf, opts.verify_checksums);
    // When every inner layer was complete but an outer length reached past the captured
    // bytes, report that at the outer layer.
    if d.errors.len() == before && !quoted && (ip.missing > 0 || u.missing > 0) {
        {
            let (layer, off, needed, avail) = if u.missing > 0 {
                (Layer::Udp, offset, usize::from(h.length), ip.payload.len())
            } else {
                let Some(iph) = d.ipv4 else { return };
                (Layer::Ipv4, iph.offset, usize::from(iph.total_length), iph.header_len + ip.payload.len())
            };
            d.error(DissectError::Truncated {
                layer,
                needed,
                available: avail,
                offset: off,
                length_from: LengthSource::Snaplen,
            });
        }
    }
}

fn upper_layer(p: IpProtocol) -> Layer {
    match p {
        IpProtocol::ICMPV6 => Layer::Icmpv6,
        IpProtocol::TCP => Layer::Tcp,
        IpProtocol::UDP => Layer::InnerUdp,
        _ => Layer::Ipv6,
    }
}

/// Decode `payload` into `d.teredo`, in place: the packet (about 1 KiB of inline lists) is
/// built where it stays rather than returned and moved (which cost two copies per frame).
fn walk_teredo<'a>(d: &mut Dissection<'a>, payload: &'a [u8], offset: usize, lf: LengthSource, verify: bool) {
    let t = d.teredo.insert(TeredoPacket::empty(offset, payload.len()));
    let (ind, err) = parse_indicators(payload, offset, lf);
    t.auth = ind.auth;
    t.origin = ind.origin;
    if let Some(e) = err {
        d.errors.push(e);
        return;
    }
    let v6 = &payload[ind.len..];
    let v6_off = offset + ind.len;
    let h = match parse_ipv6_header(v6, v6_off, lf) {
        Ok(h) => h,
        Err(e) => {
            d.errors.push(e);
            return;
        }
    };
    t.ipv6 = Some(h);
    let plen = usize::from(h.payload_length);
    let avail = &v6[IPV6_HEADER..];
    let body = &avail[..plen.min(avail.len())];
    t.ipv6_payload = body;
    let missing = plen.saturating_sub(avail.len());
    let body_off = v6_off + IPV6_HEADER;
    let inner_lf = if missing > 0 { lf } else { LengthSource::HeaderField("ipv6.payload_length") };
    let mut failed = false;
    let mut partial_icmpv6_type = None;
    // Most packets have no extension header: skip the walk (and the copy of its list).
    let (upper, upper_start, opaque) = if is_extension_header(h.next_header) {
        let chain = parse_extension_chain(body, h.next_header, body_off, inner_lf);
        t.extensions = chain.headers;
        if let Some(e) = chain.error {
            d.errors.push(e);
            failed = true;
        }
        (chain.upper, chain.upper_start, chain.opaque)
    } else {
        (h.next_header, 0, false)
    };
    let up_off = body_off + upper_start;
    let up = body.get(upper_start..).unwrap_or(&[]);
    if !failed {
        if opaque {
            t.upper = Upper::Opaque(upper);
        } else {
            match upper {
                IpProtocol::ICMPV6 => match parse_icmpv6(up, up_off, inner_lf) {
                    Ok(m) => {
                        if verify && missing == 0 {
                            let expected = m.expected_checksum(&h.src, &h.dst);
                            let ok = expected == m.checksum;
                            t.icmpv6_checksum_ok = Some(ok);
                            if !ok {
                                d.notices.push(Notice {
                                    layer: Layer::Icmpv6,
                                    offset: up_off + 2,
                                    kind: NoticeKind::BadIcmpv6Checksum { found: m.checksum, expected },
                                });
                            }
                        }
                        t.upper = Upper::Icmpv6(m);
                    }
                    Err(e) => {
                        if e.is_truncated() {
                            // the type byte, when captured, still names the message
                            partial_icmpv6_type = up.first().copied().map(Icmpv6Type);
                        }
                        d.errors.push(e);
                        failed = true;
                    }
                },
                IpProtocol::TCP => match parse_tcp(up, up_off, inner_lf) {
                    Ok(x) => t.upper = Upper::Tcp(x),
                    Err(e) => {
                        d.errors.push(e);
                        failed = true;
                    }
                },
                IpProtocol::UDP => match parse_udp(up, up_off, inner_lf, Layer::InnerUdp) {
                    Ok(x) => t.upper = Upper::Udp(x.header),
                    Err(e) => {
                        d.errors.push(e);
                        failed = true;
                    }
                },
                IpProtocol::NO_NEXT_HEADER => t.upper = Upper::NoNextHeader,
                other => t.upper = Upper::Opaque(other),
            }
        }
    }
    if missing > 0 {
        if !failed {
            let layer = if opaque { Layer::Ipv6 } else { upper_layer(upper) };
            let (off, needed, available) = if layer == Layer::Ipv6 {
                (v6_off, IPV6_HEADER + plen, v6.len())
            } else {
                (up_off, plen - upper_start, up.len())
            };
            d.errors.push(DissectError::Truncated { layer, needed, available, offset: off, length_from: lf });
        }
    } else {
        let tr = &avail[plen..];
        if !tr.is_empty() {
            let mut notes: InlineVec<Notice, 4> = InlineVec::new();
            // The first four notices are kept (as they always were).
            (t.trailers, t.unparsed) = parse_trailers(tr, body_off + plen, &mut |n| {
                notes.push(n);
            });
            for n in notes.iter() {
                d.notices.push(*n);
            }
        }
    }
    t.message_type = classify(t, d.errors.iter().any(|e| !e.is_truncated()), partial_icmpv6_type);
}

fn classify(t: &TeredoPacket<'_>, malformed: bool, partial_icmpv6_type: Option<Icmpv6Type>) -> MessageType {
    let Some(h) = t.ipv6 else {
        return MessageType::Malformed;
    };
    if malformed {
        return MessageType::Malformed;
    }
    if h.is_bubble() {
        return if t.origin.is_some() { MessageType::IndirectBubble } else { MessageType::Bubble };
    }
    let icmp_type = match t.upper {
        Upper::Icmpv6(m) => Some(m.icmp_type),
        _ => partial_icmpv6_type,
    };
    match icmp_type {
        Some(ty) => match ty {
            Icmpv6Type::ROUTER_SOLICITATION => MessageType::RouterSolicitation,
            Icmpv6Type::ROUTER_ADVERTISEMENT => MessageType::RouterAdvertisement,
            Icmpv6Type::ECHO_REQUEST => MessageType::EchoRequest,
            Icmpv6Type::ECHO_REPLY => MessageType::EchoReply,
            _ => MessageType::Data,
        },
        _ => MessageType::Data,
    }
}

/// One layer for a verbose tree: name, frame offset, length, summary and fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerView {
    /// Layer.
    pub layer: Layer,
    /// Frame offset.
    pub offset: usize,
    /// Length in bytes (as captured).
    pub len: usize,
    /// One-line summary.
    pub summary: String,
    /// (name, value) pairs.
    pub fields: Vec<(&'static str, String)>,
}

impl Dissection<'_> {
    /// The decoded layers, outermost first, for a tshark-like tree (allocates; not for the
    /// hot path).
    pub fn layers(&self) -> Vec<LayerView> {
        let mut v = Vec::new();
        if let Some(l) = &self.link {
            let mut fields = vec![("linktype", l.linktype.to_string()), ("ethertype", l.ethertype.to_string())];
            for t in l.vlans.iter() {
                fields.push(("vlan", format!("id {} pcp {} tpid 0x{:04x} at {}", t.vid, t.pcp, t.tpid, t.offset)));
            }
            v.push(LayerView { layer: Layer::Link, offset: 0, len: l.header_len, summary: l.to_string(), fields });
        }
        let ipv4_view = |h: &Ipv4Header<'_>| LayerView {
            layer: Layer::Ipv4,
            offset: h.offset,
            len: h.header_len,
            summary: h.to_string(),
            fields: vec![
                ("header_length", h.header_len.to_string()),
                ("total_length", h.total_length.to_string()),
                ("identification", format!("0x{:04x}", h.identification)),
                ("flags", format!("DF={} MF={}", u8::from(h.dont_fragment), u8::from(h.more_fragments))),
                ("fragment_offset", h.fragment_offset_bytes().to_string()),
                ("ttl", h.ttl.to_string()),
                ("protocol", h.protocol.to_string()),
                (
                    "checksum",
                    format!("0x{:04x}{}", h.checksum, if h.checksum_ok() { " [correct]" } else { " [incorrect]" }),
                ),
                ("src", h.src.to_string()),
                ("dst", h.dst.to_string()),
            ],
        };
        if let Some(h) = &self.ipv4 {
            v.push(ipv4_view(h));
        }
        if let Some(m) = &self.icmpv4 {
            v.push(LayerView {
                layer: Layer::Icmpv4,
                offset: m.offset,
                len: m.raw.len(),
                summary: m.to_string(),
                fields: vec![
                    ("type", m.icmp_type.to_string()),
                    ("code", m.code.to_string()),
                    ("checksum", format!("0x{:04x}", m.checksum)),
                ],
            });
        }
        if let Some(h) = &self.quoted_ipv4 {
            let mut q = ipv4_view(h);
            q.summary = format!("[quoted] {}", q.summary);
            v.push(q);
        }
        if let Some(u) = &self.udp {
            v.push(LayerView {
                layer: Layer::Udp,
                offset: u.offset,
                len: 8,
                summary: u.to_string(),
                fields: vec![
                    ("src_port", u.src_port.to_string()),
                    ("dst_port", u.dst_port.to_string()),
                    ("length", u.length.to_string()),
                    ("checksum", format!("0x{:04x}", u.checksum)),
                ],
            });
        }
        if let Some(t) = &self.teredo {
            v.push(LayerView {
                layer: Layer::Teredo,
                offset: t.offset,
                len: t.len,
                summary: format!(
                    "Teredo IPv6 over UDP tunneling, {} (detected by {})",
                    t.message_type.as_str(),
                    self.detection.as_str()
                ),
                fields: vec![("type", t.message_type.as_str().to_string())],
            });
            if let Some(a) = &t.auth {
                v.push(LayerView {
                    layer: Layer::Authentication,
                    offset: a.offset,
                    len: a.len(),
                    summary: a.to_string(),
                    fields: vec![
                        ("id_len", a.id_len().to_string()),
                        ("auth_len", a.auth_len().to_string()),
                        ("client_id", crate::wire::teredo::Hex(a.client_id).to_string()),
                        ("auth_value", crate::wire::teredo::Hex(a.auth_value).to_string()),
                        ("nonce", crate::wire::teredo::Hex(&a.nonce).to_string()),
                        ("confirmation", a.confirmation.to_string()),
                    ],
                });
            }
            if let Some(o) = &t.origin {
                v.push(LayerView {
                    layer: Layer::OriginIndication,
                    offset: o.offset,
                    len: 8,
                    summary: o.to_string(),
                    fields: vec![
                        ("port", format!("{} (obfuscated 0x{:04x})", o.port, o.obfuscated_port())),
                        ("address", format!("{} (obfuscated 0x{:08x})", o.address, o.obfuscated_address())),
                    ],
                });
            }
            if let Some(h) = &t.ipv6 {
                v.push(LayerView {
                    layer: Layer::Ipv6,
                    offset: h.offset,
                    len: IPV6_HEADER,
                    summary: h.to_string(),
                    fields: vec![
                        ("traffic_class", format!("0x{:02x}", h.traffic_class)),
                        ("flow_label", format!("0x{:05x}", h.flow_label)),
                        ("payload_length", h.payload_length.to_string()),
                        ("next_header", h.next_header.to_string()),
                        ("hop_limit", h.hop_limit.to_string()),
                        ("src", h.src.to_string()),
                        ("dst", h.dst.to_string()),
                    ],
                });
            }
            for e in t.extensions.iter() {
                v.push(LayerView {
                    layer: Layer::Ipv6Extension,
                    offset: e.offset,
                    len: e.len,
                    summary: e.to_string(),
                    fields: vec![("next_header", e.next_header.to_string())],
                });
            }
            match &t.upper {
                Upper::Icmpv6(m) => {
                    let mut fields = vec![
                        ("type", m.icmp_type.0.to_string()),
                        ("code", m.code.to_string()),
                        (
                            "checksum",
                            format!(
                                "0x{:04x}{}",
                                m.checksum,
                                match t.icmpv6_checksum_ok {
                                    Some(true) => " [correct]",
                                    Some(false) => " [incorrect]",
                                    None => "",
                                }
                            ),
                        ),
                    ];
                    match m.body {
                        Icmpv6Body::Echo { identifier, sequence, data } => {
                            fields.push(("identifier", format!("0x{identifier:04x}")));
                            fields.push(("sequence", sequence.to_string()));
                            fields.push(("data", crate::wire::teredo::Hex(data).to_string()));
                        }
                        Icmpv6Body::RouterAdvertisement {
                            cur_hop_limit,
                            flags,
                            router_lifetime,
                            reachable_time,
                            retrans_timer,
                            options,
                        } => {
                            fields.push(("cur_hop_limit", cur_hop_limit.to_string()));
                            fields.push(("flags", format!("0x{flags:02x}")));
                            fields.push(("router_lifetime", router_lifetime.to_string()));
                            fields.push(("reachable_time", reachable_time.to_string()));
                            fields.push(("retrans_timer", retrans_timer.to_string()));
                            for (_, o) in options.iter() {
                                fields.push(("option", o.to_string()));
                            }
                        }
                        Icmpv6Body::RouterSolicitation { options } => {
                            for (_, o) in options.iter() {
                                fields.push(("option", o.to_string()));
                            }
                        }
                        Icmpv6Body::Neighbor { flags, target, options } => {
                            fields.push(("flags", format!("0x{flags:02x}")));
                            fields.push(("target", target.to_string()));
                            for (_, o) in options.iter() {
                                fields.push(("option", o.to_string()));
                            }
                        }
                        Icmpv6Body::PacketTooBig { mtu, .. } => fields.push(("mtu", mtu.to_string())),
                        Icmpv6Body::ParameterProblem { pointer, .. } => fields.push(("pointer", pointer.to_string())),
                        _ => {}
                    }
                    v.push(LayerView {
                        layer: Layer::Icmpv6,
                        offset: m.offset,
                        len: m.raw.len(),
                        summary: m.to_string(),
                        fields,
                    });
                }
                Upper::Tcp(x) => v.push(LayerView {
                    layer: Layer::Tcp,
                    offset: x.offset,
                    len: x.header_len,
                    summary: x.to_string(),
                    fields: vec![
                        ("src_port", x.src_port.to_string()),
                        ("dst_port", x.dst_port.to_string()),
                        ("seq", x.seq.to_string()),
                        ("ack", x.ack.to_string()),
                        ("flags", x.flag_names()),
                    ],
                }),
                Upper::Udp(x) => v.push(LayerView {
                    layer: Layer::InnerUdp,
                    offset: x.offset,
                    len: 8,
                    summary: x.to_string(),
                    fields: vec![
                        ("src_port", x.src_port.to_string()),
                        ("dst_port", x.dst_port.to_string()),
                        ("length", x.length.to_string()),
                    ],
                }),
                _ => {}
            }
            for tr in t.trailers.iter() {
                v.push(LayerView {
                    layer: Layer::Trailer,
                    offset: tr.offset,
                    len: 2 + tr.value.len(),
                    summary: tr.to_string(),
                    fields: vec![
                        ("type", format!("0x{:02x}", tr.trailer_type.0)),
                        ("length", tr.value.len().to_string()),
                        ("value", crate::wire::teredo::Hex(tr.value).to_string()),
                    ],
                });
            }
            if let Some(u) = &t.unparsed {
                v.push(LayerView {
                    layer: Layer::Trailer,
                    offset: u.offset,
                    len: u.bytes.len(),
                    summary: format!("{} unparsed trailing bytes", u.bytes.len()),
                    fields: vec![("bytes", crate::wire::teredo::Hex(u.bytes).to_string())],
                });
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::icmpv6::emit_router_solicitation;
    use crate::wire::ipv4::emit_ipv4;
    use crate::wire::ipv6::emit_bubble;
    use crate::wire::teredo::{build_teredo_payload, TrailerValue};
    use crate::wire::udp::emit_udp;
    use std::net::Ipv4Addr;

    fn ip_udp(payload: &[u8], sport: u16, dport: u16) -> Vec<u8> {
        let mut f = emit_ipv4(
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 2, 2),
            IpProtocol::UDP,
            8 + payload.len(),
            64,
            5,
            0,
        )
        .to_vec();
        let ps = crate::wire::ipv4_pseudo_sum([192, 0, 2, 1], [192, 0, 2, 2], 17, (8 + payload.len()) as u16);
        f.extend_from_slice(&emit_udp(sport, dport, payload, Some(ps)));
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn non_teredo_port_match_is_the_documented_list() {
        for p in 0..=u16::MAX {
            assert_eq!(is_non_teredo_port(p), NON_TEREDO_PORTS.contains(&p), "port {p}");
        }
    }

    fn indirect_bubble_payload() -> Vec<u8> {
        let b = emit_bubble("fe80::1".parse().unwrap(), "2001:0:c000:201::5".parse().unwrap(), 0);
        let o = OriginIndication::new(Ipv4Addr::new(203, 0, 113, 9), 40000);
        let mut p = Vec::new();
        build_teredo_payload(
            None,
            Some(&o),
            &b,
            &[
                TrailerValue::Nonce([1, 2, 3, 4]),
                TrailerValue::alternate_address(&[(Ipv4Addr::new(192, 0, 2, 9), 5000)]),
            ],
            &mut p,
        );
        p.extend_from_slice(&[0x41, 0]); // unknown type, high bits 01
        p
    }

    #[test]
    fn every_link_type_carries_the_same_packet() {
        let ip = ip_udp(&indirect_bubble_payload(), 3544, 40000);
        let mut eth = vec![0; 12];
        eth.extend_from_slice(&[0x88, 0xa8, 0, 1, 0x81, 0, 0, 2, 0x08, 0]);
        let mut sll = vec![0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0];
        let mut sll2 = vec![0x08, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut null_le = vec![2, 0, 0, 0];
        let mut lo = vec![0, 0, 0, 2];
        for (lt, mut hdr) in [
            (1u32, std::mem::take(&mut eth)),
            (113, std::mem::take(&mut sll)),
            (276, std::mem::take(&mut sll2)),
            (0, std::mem::take(&mut null_le)),
            (108, std::mem::take(&mut lo)),
            (101, vec![]),
            (228, vec![]),
        ] {
            let off = hdr.len();
            hdr.extend_from_slice(&ip);
            let d = dissect(&hdr, lt, &DissectOptions::default());
            assert!(d.errors.is_empty(), "{lt}: {:?}", d.errors);
            let t = d.teredo.unwrap();
            assert_eq!(t.message_type, MessageType::IndirectBubble);
            assert_eq!(t.origin.unwrap().offset, off + 28);
            assert_eq!(t.ipv6.unwrap().offset, off + 36);
            assert_eq!(t.trailers.len(), 3);
            assert_eq!(t.trailers.get(0).unwrap().offset, off + 76);
            let kinds: Vec<_> = d.notices.iter().map(|n| n.kind).collect();
            assert_eq!(kinds, vec![NoticeKind::TrailerMustDiscard { trailer_type: 0x41 }], "{lt}");
            assert_eq!(d.detection, Detection::Port3544);
            let names: Vec<Layer> = d.layers().iter().map(|l| l.layer).collect();
            assert_eq!(names[..5], [Layer::Link, Layer::Ipv4, Layer::Udp, Layer::Teredo, Layer::OriginIndication]);
        }
    }

    #[test]
    fn checksum_and_length_notices() {
        let mut f = ip_udp(&indirect_bubble_payload(), 3544, 40000);
        f[8] = 1; // TTL change breaks the IPv4 checksum
        f[27] ^= 0xff; // and the UDP checksum
        let d = dissect(&f, 228, &DissectOptions::default());
        let kinds: Vec<_> = d.notices.iter().map(|n| (n.layer, n.offset)).collect();
        assert!(kinds.contains(&(Layer::Ipv4, 10)));
        assert!(kinds.contains(&(Layer::Udp, 26)));
        // UDP length shorter than the IP payload
        let mut g = ip_udp(&indirect_bubble_payload(), 3544, 40000);
        let ul = u16::from_be_bytes([g[24], g[25]]) - 2;
        g[24..26].copy_from_slice(&ul.to_be_bytes());
        g[26] = 0;
        g[27] = 0;
        let d = dissect(&g, 228, &DissectOptions::default());
        assert!(d.notices.iter().any(|n| matches!(n.kind, NoticeKind::UdpLengthMismatch { .. })));
    }

    #[test]
    fn checksums_not_verified_when_off() {
        let off = DissectOptions { verify_checksums: false, ..DissectOptions::default() };
        // broken IPv4 and UDP checksums: no notice, same verdict otherwise
        let mut f = ip_udp(&indirect_bubble_payload(), 3544, 40000);
        f[8] = 1;
        f[27] ^= 0xff;
        let on = dissect(&f, 228, &DissectOptions::default());
        let d = dissect(&f, 228, &off);
        let is_checksum =
            |n: &&Notice| matches!(n.kind, NoticeKind::BadIpv4Checksum { .. } | NoticeKind::BadUdpChecksum { .. });
        assert_eq!(on.notices.iter().filter(is_checksum).count(), 2);
        let others: Vec<_> = on.notices.iter().filter(|n| !is_checksum(n)).copied().collect();
        assert_eq!(d.notices.iter().copied().collect::<Vec<_>>(), others);
        assert_eq!(d.message_type(), on.message_type());
        assert_eq!(d.detection, on.detection);
        // a Router Solicitation with a wrong ICMPv6 checksum
        let mut rs = Vec::new();
        emit_router_solicitation("fe80::8000:5445:5245:444f".parse().unwrap(), &mut rs);
        rs[42] ^= 0xff;
        let mut p = Vec::new();
        build_teredo_payload(None, None, &rs, &[], &mut p);
        let g = ip_udp(&p, 40000, 3544);
        let on = dissect(&g, 228, &DissectOptions::default());
        assert_eq!(on.teredo.unwrap().icmpv6_checksum_ok, Some(false));
        assert!(on.notices.iter().any(|n| matches!(n.kind, NoticeKind::BadIcmpv6Checksum { .. })));
        let d = dissect(&g, 228, &off);
        assert_eq!(d.teredo.unwrap().icmpv6_checksum_ok, None);
        assert_eq!(d.notices.len() + 1, on.notices.len());
        assert!(!d.notices.iter().any(|n| matches!(n.kind, NoticeKind::BadIcmpv6Checksum { .. })));
        assert_eq!(d.message_type(), Some(MessageType::RouterSolicitation));
        assert_eq!(d.errors.len(), on.errors.len());
    }

    #[test]
    fn quoted_in_icmp_port_unreachable() {
        let mut rs = Vec::new();
        emit_router_solicitation("fe80::8000:5445:5245:444f".parse().unwrap(), &mut rs);
        let mut p = Vec::new();
        build_teredo_payload(Some(&Authentication::new([7; 8], 0)), None, &rs, &[], &mut p);
        let inner = ip_udp(&p, 40000, 3544);
        let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&inner[..inner.len() - 4]); // quote cut inside the RS
        let c = crate::wire::checksum(&icmp);
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        let mut f =
            emit_ipv4(Ipv4Addr::new(192, 0, 2, 2), Ipv4Addr::new(192, 0, 2, 1), IpProtocol::ICMP, icmp.len(), 64, 9, 0)
                .to_vec();
        f.extend_from_slice(&icmp);
        let d = dissect(&f, 228, &DissectOptions::default());
        assert!(d.quoted);
        assert_eq!(d.icmpv4.unwrap().type_name(), "port-unreachable");
        let t = d.teredo.unwrap();
        assert_eq!(t.auth.unwrap().nonce, [7; 8]);
        assert_eq!(t.message_type, MessageType::RouterSolicitation);
        assert!(d.errors.iter().any(|e| e.is_truncated() && e.layer() == Layer::Icmpv6));
    }

    #[test]
    fn not_teredo_fast_path_and_options() {
        let f = ip_udp(b"hello world", 5000, 6000);
        let d = dissect(&f, 228, &DissectOptions::default());
        assert_eq!(d.detection, Detection::NotTeredo);
        assert!(d.teredo.is_none() && d.udp.is_some());
        let opts = DissectOptions { heuristic: false, extra_ports: vec![6000], ..DissectOptions::default() };
        let d = dissect(&f, 228, &opts);
        assert_eq!(d.detection, Detection::ExtraPort);
        assert_eq!(d.message_type(), Some(MessageType::Malformed));
        // heuristic off: a valid Teredo bubble on random ports is not taken
        let g = ip_udp(&indirect_bubble_payload()[8..], 5000, 6000);
        let off = DissectOptions { heuristic: false, extra_ports: vec![], ..DissectOptions::default() };
        assert!(!dissect(&g, 228, &off).is_teredo());
        let d = dissect(&g, 228, &DissectOptions::default());
        assert_eq!(d.detection, Detection::Heuristic);
        assert_eq!(d.message_type(), Some(MessageType::Bubble));
        // 0x41 trailer is fine but...
    }

    #[test]
    fn teredo_payload_for_the_prober() {
        let p = indirect_bubble_payload();
        let d = dissect_teredo_payload(&p, 0);
        assert_eq!(d.detection, Detection::Assumed);
        assert_eq!(d.message_type(), Some(MessageType::IndirectBubble));
        let d = dissect_teredo_payload(&[0x00, 0x00, 0xfe], 100);
        assert_eq!(d.message_type(), Some(MessageType::Malformed));
        assert!(matches!(
            d.errors.get(0),
            Some(DissectError::Truncated { layer: Layer::OriginIndication, offset: 100, .. })
        ));
    }
}
