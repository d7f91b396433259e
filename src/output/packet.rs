//! The per-packet record of `pcap` and `live`: one Teredo frame, as a JSON
//! object (field names are a public interface, see README "pcap JSON fields"),
//! as one table line, as a tshark-like layer tree (`-V`) and as a hex dump (`-x`).

use super::address::AddressView;
use super::ipfmt::{Ipv4Text, Ipv6Text};
use super::time::rfc3339;
use super::Record;
use crate::dissect::{Dissection, MessageType, Upper};
use crate::error::{DissectError, LengthSource};
use crate::wire::icmpv6::{Icmpv6, Icmpv6Body, NdOption};
use crate::wire::teredo::{Trailer, TrailerValue};
use colored::Colorize;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::rc::Rc;

/// Where and when a frame was seen: what the capture record says.
#[derive(Debug, Clone, Copy)]
pub struct FrameInfo<'a> {
    /// The file name, shown when several files are read in one run.
    pub file: Option<&'a str>,
    /// 1-based frame number in its file.
    pub frame: u64,
    pub ts_sec: i64,
    pub ts_nsec: u32,
    /// Fractional digits of the file's timestamp precision (6 for µs, 9 for ns).
    pub ts_digits: u8,
    /// Seconds since the first frame of the file (for the table).
    pub relative: f64,
    pub interface_id: u32,
    /// True when the packet was rebuilt from IPv4 fragments (`frame` is the last one).
    pub reassembled: bool,
}

/// Lower-case hex without separators, as a JSON string.
#[derive(Debug, Clone, Copy)]
pub struct HexStr<'a>(pub &'a [u8]);

/// Lower-case hex of `bytes`, written by hand (once or twice per printed packet).
fn serialize_hex<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut small = [0u8; 64];
    let mut large = Vec::new();
    let buf: &mut [u8] = if bytes.len() * 2 <= small.len() {
        &mut small[..bytes.len() * 2]
    } else {
        large.resize(bytes.len() * 2, 0);
        &mut large
    };
    for (i, b) in bytes.iter().enumerate() {
        buf[2 * i] = HEX[usize::from(b >> 4)];
        buf[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
    // Only ASCII hex digits were written.
    s.serialize_str(std::str::from_utf8(buf).unwrap_or_default())
}

impl Serialize for HexStr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_hex(self.0, s)
    }
}

/// An 8-byte nonce as lower-case hex.
#[derive(Debug, Clone, Copy)]
pub struct Nonce(pub [u8; 8]);

impl Serialize for Nonce {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_hex(&self.0, s)
    }
}

#[cfg(test)]
mod hex_tests {
    use super::*;

    #[test]
    fn hex_matches_display() {
        for len in [0usize, 1, 8, 31, 32, 33, 200] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let want = crate::wire::teredo::Hex(&bytes).to_string();
            assert_eq!(serde_json::to_value(HexStr(&bytes)).unwrap(), want);
        }
        assert_eq!(
            serde_json::to_value(Nonce([0xde, 0xad, 0xbe, 0xef, 0, 1, 0x0f, 0xf0])).unwrap(),
            "deadbeef00010ff0"
        );
    }
}

#[derive(Debug, Serialize)]
pub struct OuterView {
    pub src: Ipv4Text,
    pub src_port: u16,
    pub dst: Ipv4Text,
    pub dst_port: u16,
}

#[derive(Debug, Serialize)]
pub struct QuotedByView {
    /// Who sent the ICMPv4 error (often a NAT dropping unsolicited traffic).
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub icmp_type: u8,
    pub icmp_code: u8,
}

#[derive(Debug, Serialize)]
pub struct AuthView<'a> {
    pub id_len: usize,
    pub auth_len: usize,
    pub client_id: HexStr<'a>,
    pub auth_value: HexStr<'a>,
    pub nonce: Nonce,
    pub confirmation: u8,
}

#[derive(Debug, Serialize)]
pub struct OriginView {
    pub port: u16,
    pub address: Ipv4Text,
}

#[derive(Debug, Serialize)]
pub struct Ipv6View {
    pub src: Ipv6Text,
    pub dst: Ipv6Text,
    pub next_header: u8,
    pub payload_length: u16,
    pub hop_limit: u8,
    pub traffic_class: u8,
    pub flow_label: u32,
}

#[derive(Debug, Serialize)]
pub struct PrefixView {
    pub prefix: Ipv6Addr,
    pub prefix_len: u8,
    pub on_link: bool,
    pub autonomous: bool,
    pub valid_lifetime: u32,
    pub preferred_lifetime: u32,
}

#[derive(Debug, Default, Serialize)]
pub struct Icmpv6View<'a> {
    #[serde(rename = "type")]
    pub icmp_type: u8,
    pub code: u8,
    pub name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum_ok: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<HexStr<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cur_hop_limit: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router_lifetime: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reachable_time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retrans_timer: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<PrefixView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_link_layer: Option<HexStr<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Ipv6Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoking_length: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct TransportView {
    pub protocol: &'static str,
    pub src_port: u16,
    pub dst_port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TrailerView<'a> {
    #[serde(rename = "type")]
    pub trailer_type: u8,
    pub name: &'static str,
    pub length: usize,
    pub value: HexStr<'a>,
    pub offset: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<HexStr<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<OriginView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery_type: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub must_discard: bool,
}

#[derive(Debug, Serialize)]
pub struct ErrorView {
    pub layer: &'static str,
    pub offset: usize,
    pub kind: &'static str,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needed: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<u64>,
}

impl ErrorView {
    pub fn new(e: &DissectError) -> Self {
        let mut v = ErrorView {
            layer: e.layer().as_str(),
            offset: e.offset(),
            kind: if e.is_truncated() { "truncated" } else { "malformed" },
            reason: e.to_string(),
            needed: None,
            available: None,
            length_from: None,
            field: None,
            value: None,
        };
        match *e {
            DissectError::Truncated { needed, available, length_from, .. } => {
                v.needed = Some(needed);
                v.available = Some(available);
                v.length_from = Some(match length_from {
                    LengthSource::Snaplen => "snaplen".to_string(),
                    LengthSource::HeaderField(f) => f.to_string(),
                });
            }
            DissectError::Malformed { field, value, .. } => {
                v.field = Some(field);
                v.value = Some(value);
            }
        }
        v
    }
}

#[derive(Debug, Serialize)]
pub struct NoticeView {
    pub layer: &'static str,
    pub offset: usize,
    pub message: String,
}

/// A Teredo address's `decode` record, serialised once and shared: captures
/// repeat the same few addresses in most packets, and formatting them (with
/// their warnings) was most of the cost of an NDJSON line.
#[derive(Debug, Clone)]
pub struct AddressJson(Rc<RawValue>);

impl Serialize for AddressJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// The cache behind [`AddressJson`]: bounded, cleared when full.
#[derive(Debug, Default)]
pub struct AddressCache {
    map: HashMap<Ipv6Addr, AddressJson>,
}

impl AddressCache {
    const MAX: usize = 4096;

    /// The record of `a` if it is a Teredo address.
    pub fn teredo(&mut self, a: Ipv6Addr) -> Option<AddressJson> {
        if let Some(j) = self.map.get(&a) {
            return Some(j.clone());
        }
        crate::addr::TeredoAddress::decode(a)?;
        let text = serde_json::to_string(&AddressView::new_canonical(a)).ok()?;
        let raw: Rc<RawValue> = Rc::from(RawValue::from_string(text).ok()?);
        if self.map.len() >= Self::MAX {
            self.map.clear();
        }
        let j = AddressJson(raw);
        self.map.insert(a, j.clone());
        Some(j)
    }
}

/// One Teredo frame. Build it with [`PacketView::new`] from a dissection.
#[derive(Debug, Serialize)]
pub struct PacketView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<&'a str>,
    pub frame: u64,
    pub time: String,
    #[serde(rename = "type")]
    pub message_type: &'static str,
    pub detection: &'static str,
    pub length: usize,
    pub outer: Option<OuterView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<OriginView>,
    pub ipv6: Option<Ipv6View>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_teredo: Option<AddressJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_teredo: Option<AddressJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmpv6: Option<Icmpv6View<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<TransportView>,
    pub trailers: Vec<TrailerView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unparsed_trailer_bytes: Option<HexStr<'a>>,
    pub quoted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quoted_by: Option<QuotedByView>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reassembled: bool,
    pub errors: Vec<ErrorView>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<NoticeView>,
    /// For the table, `-V` and `-x`: not serialised.
    #[serde(skip)]
    extra: Extra<'a>,
}

#[derive(Debug, Default)]
struct Extra<'a> {
    relative: f64,
    frame_bytes: &'a [u8],
    tree: Option<String>,
    hex: bool,
}

fn icmpv6_view<'a>(m: &Icmpv6<'a>, checksum_ok: Option<bool>) -> Icmpv6View<'a> {
    let mut v = Icmpv6View {
        icmp_type: m.icmp_type.0,
        code: m.code,
        name: m.icmp_type.name().unwrap_or("other"),
        checksum_ok,
        ..Default::default()
    };
    let opts = |v: &mut Icmpv6View<'a>, options: &crate::wire::icmpv6::NdOptions<'a>| {
        for (_, o) in options.iter() {
            match o {
                NdOption::PrefixInformation {
                    prefix_len,
                    on_link,
                    autonomous,
                    valid_lifetime,
                    preferred_lifetime,
                    prefix,
                } => v.prefixes.push(PrefixView {
                    prefix,
                    prefix_len,
                    on_link,
                    autonomous,
                    valid_lifetime,
                    preferred_lifetime,
                }),
                NdOption::Mtu(mtu) => v.mtu = Some(mtu),
                NdOption::SourceLinkLayer(ll) => v.source_link_layer = Some(HexStr(ll)),
                _ => {}
            }
        }
    };
    match &m.body {
        Icmpv6Body::Echo { identifier, sequence, data } => {
            v.identifier = Some(*identifier);
            v.sequence = Some(*sequence);
            v.data = Some(HexStr(data));
        }
        Icmpv6Body::RouterSolicitation { options } => opts(&mut v, options),
        Icmpv6Body::RouterAdvertisement {
            cur_hop_limit,
            router_lifetime,
            reachable_time,
            retrans_timer,
            options,
            ..
        } => {
            v.cur_hop_limit = Some(*cur_hop_limit);
            v.router_lifetime = Some(*router_lifetime);
            v.reachable_time = Some(*reachable_time);
            v.retrans_timer = Some(*retrans_timer);
            opts(&mut v, options);
        }
        Icmpv6Body::Neighbor { target, options, .. } => {
            v.target = Some(*target);
            opts(&mut v, options);
        }
        Icmpv6Body::PacketTooBig { mtu, invoking } => {
            v.mtu = Some(*mtu);
            v.invoking_length = Some(invoking.len());
        }
        Icmpv6Body::ParameterProblem { pointer, invoking } => {
            v.pointer = Some(*pointer);
            v.invoking_length = Some(invoking.len());
        }
        Icmpv6Body::Error { invoking } => v.invoking_length = Some(invoking.len()),
        Icmpv6Body::Other { .. } => {}
    }
    v
}

fn trailer_view<'a>(t: &Trailer<'a>) -> TrailerView<'a> {
    let mut v = TrailerView {
        trailer_type: t.trailer_type.0,
        name: t.trailer_type.name().unwrap_or("unknown"),
        length: t.value.len(),
        value: HexStr(t.value),
        offset: t.offset,
        nonce: None,
        port: None,
        addresses: Vec::new(),
        discovery_type: None,
        must_discard: false,
    };
    match t.decoded {
        TrailerValue::Nonce(_) => v.nonce = Some(HexStr(t.value)),
        TrailerValue::RandomPort { port, .. } => v.port = Some(port),
        TrailerValue::AlternateAddress { count, addresses } => {
            v.addresses = addresses[..usize::from(count).min(4)]
                .iter()
                .map(|&(address, port)| OriginView { port, address: Ipv4Text(address) })
                .collect();
        }
        TrailerValue::NeighborDiscovery { discovery_type } => {
            v.discovery_type = Some(match discovery_type {
                0 => "solicitation",
                1 => "advertisement",
                _ => "unknown",
            })
        }
        TrailerValue::BadLength => v.name = "bad-length",
        TrailerValue::Unknown { must_discard } => v.must_discard = must_discard,
    }
    v
}

impl<'a> PacketView<'a> {
    /// The record for a Teredo frame; `None` when the dissection found no Teredo.
    pub fn new(info: &FrameInfo<'a>, d: &Dissection<'a>, cache: &mut AddressCache) -> Option<Self> {
        let t = d.teredo.as_ref()?;
        let (outer_ip, quoted_by) = if d.quoted {
            let q = d.quoted_ipv4.as_ref();
            let by = d.ipv4.as_ref().zip(d.icmpv4.as_ref()).map(|(ip, icmp)| QuotedByView {
                src: ip.src,
                dst: ip.dst,
                icmp_type: icmp.icmp_type,
                icmp_code: icmp.code,
            });
            (q, by)
        } else {
            (d.ipv4.as_ref(), None)
        };
        let outer = outer_ip.zip(d.udp.as_ref()).map(|(ip, udp)| OuterView {
            src: Ipv4Text(ip.src),
            src_port: udp.src_port,
            dst: Ipv4Text(ip.dst),
            dst_port: udp.dst_port,
        });
        let transport = match t.upper {
            Upper::Tcp(h) => Some(TransportView {
                protocol: "tcp",
                src_port: h.src_port,
                dst_port: h.dst_port,
                flags: Some(h.flag_names()),
            }),
            Upper::Udp(h) => {
                Some(TransportView { protocol: "udp", src_port: h.src_port, dst_port: h.dst_port, flags: None })
            }
            _ => None,
        };
        Some(PacketView {
            file: info.file,
            frame: info.frame,
            time: rfc3339(info.ts_sec, info.ts_nsec, info.ts_digits),
            message_type: t.message_type.as_str(),
            detection: d.detection.as_str(),
            length: d.orig_len,
            outer,
            auth: t.auth.as_ref().map(|a| AuthView {
                id_len: a.client_id.len(),
                auth_len: a.auth_value.len(),
                client_id: HexStr(a.client_id),
                auth_value: HexStr(a.auth_value),
                nonce: Nonce(a.nonce),
                confirmation: a.confirmation,
            }),
            origin: t.origin.as_ref().map(|o| OriginView { port: o.port, address: Ipv4Text(o.address) }),
            ipv6: t.ipv6.as_ref().map(|h| Ipv6View {
                src: Ipv6Text(h.src),
                dst: Ipv6Text(h.dst),
                next_header: h.next_header.0,
                payload_length: h.payload_length,
                hop_limit: h.hop_limit,
                traffic_class: h.traffic_class,
                flow_label: h.flow_label,
            }),
            src_teredo: t.ipv6.as_ref().and_then(|h| cache.teredo(h.src)),
            dst_teredo: t.ipv6.as_ref().and_then(|h| cache.teredo(h.dst)),
            icmpv6: t.icmpv6().map(|m| icmpv6_view(m, t.icmpv6_checksum_ok)),
            transport,
            trailers: t.trailers.iter().map(|tr| trailer_view(&tr)).collect(),
            unparsed_trailer_bytes: t.unparsed.as_ref().map(|u| HexStr(u.bytes)),
            quoted: d.quoted,
            quoted_by,
            reassembled: info.reassembled,
            errors: d.errors.iter().map(ErrorView::new).collect(),
            notices: d
                .notices
                .iter()
                .map(|n| NoticeView { layer: n.layer.as_str(), offset: n.offset, message: n.kind.to_string() })
                .collect(),
            extra: Extra { relative: info.relative, frame_bytes: d.frame, tree: None, hex: false },
        })
    }

    /// Adds the `-V` layer tree to the table rendering.
    pub fn with_tree(mut self, d: &Dissection<'_>) -> Self {
        let mut s = String::new();
        for l in d.layers() {
            let _ = writeln!(s, "  {} [offset {}, {} bytes]: {}", l.layer.as_str(), l.offset, l.len, l.summary);
            for (k, v) in &l.fields {
                let _ = writeln!(s, "      {k}: {v}");
            }
        }
        for n in d.notices.iter() {
            let _ = writeln!(s, "  notice: {n}");
        }
        for e in d.errors.iter() {
            let _ = writeln!(s, "  error: {e}");
        }
        self.extra.tree = Some(s);
        self
    }

    /// Adds the `-x` hex dump to the table rendering.
    pub fn with_hex(mut self) -> Self {
        self.extra.hex = true;
        self
    }

    /// The info column: what a person wants to know at a glance.
    pub fn info(&self) -> String {
        let mut s = String::new();
        let sep = |s: &mut String| {
            if !s.is_empty() {
                s.push_str("; ")
            }
        };
        if let Some(m) = &self.icmpv6 {
            if m.icmp_type != 133 {
                sep(&mut s);
            }
            match m.icmp_type {
                128 | 129 => {
                    let _ = write!(s, "{} id={} seq={}", m.name, m.identifier.unwrap_or(0), m.sequence.unwrap_or(0));
                }
                134 => {
                    s.push_str(m.name);
                    for p in &m.prefixes {
                        let _ = write!(s, " prefix {}/{}", p.prefix, p.prefix_len);
                    }
                    if let Some(mtu) = m.mtu {
                        let _ = write!(s, " mtu {mtu}");
                    }
                }
                // The type column already says it.
                133 => {}
                _ => {
                    let _ = write!(s, "icmpv6 {} ({}) code {}", m.name, m.icmp_type, m.code);
                }
            }
            if m.checksum_ok == Some(false) {
                s.push_str(" [bad checksum]");
            }
        }
        if let Some(t) = &self.transport {
            sep(&mut s);
            let _ = write!(s, "{} {} → {}", t.protocol, t.src_port, t.dst_port);
            if let Some(f) = &t.flags {
                let _ = write!(s, " [{f}]");
            }
        }
        if let Some(a) = &self.auth {
            sep(&mut s);
            let _ = write!(s, "auth nonce {}", crate::wire::teredo::Hex(&a.nonce.0));
            if a.confirmation != 0 {
                let _ = write!(s, " conf {}", a.confirmation);
            }
            if a.id_len + a.auth_len > 0 {
                let _ = write!(s, " id-len {} au-len {}", a.id_len, a.auth_len);
            }
        }
        if let Some(o) = &self.origin {
            sep(&mut s);
            let _ = write!(s, "origin {}:{}", o.address.0, o.port);
        }
        for t in &self.trailers {
            sep(&mut s);
            let _ = write!(s, "trailer {}", t.name);
            if let Some(n) = &t.nonce {
                let _ = write!(s, " {}", crate::wire::teredo::Hex(n.0));
            }
            if let Some(p) = t.port {
                let _ = write!(s, " port {p} (type 0x{:02x})", t.trailer_type);
            }
            for a in &t.addresses {
                let _ = write!(s, " {}:{}", a.address.0, a.port);
            }
            if let Some(d) = t.discovery_type {
                let _ = write!(s, " {d}");
            }
            if t.must_discard {
                s.push_str(" (receiver must discard packet)");
            }
        }
        if let Some(u) = &self.unparsed_trailer_bytes {
            sep(&mut s);
            let _ = write!(s, "{} unparsed trailing bytes", u.0.len());
        }
        if let Some(q) = &self.quoted_by {
            sep(&mut s);
            let _ = write!(s, "quoted in ICMPv4 {}/{} from {}", q.icmp_type, q.icmp_code, q.src);
        }
        if self.reassembled {
            sep(&mut s);
            s.push_str("reassembled from IPv4 fragments");
        }
        for e in &self.errors {
            sep(&mut s);
            s.push_str(&e.reason);
        }
        s
    }
}

/// The column header of the per-packet table.
pub fn table_header(color: bool) -> String {
    let h = format!(
        "{:>6} {:>11}  {:<43} {:<20} {}",
        "frame", "time", "outer (IPv4:port → IPv4:port)", "type", "inner IPv6 src → dst; info"
    );
    if color {
        h.bold().to_string()
    } else {
        h
    }
}

fn type_colored(t: &'static str, color: bool) -> String {
    let padded = format!("{t:<20}");
    if !color {
        return padded;
    }
    match t {
        "bubble" | "indirect-bubble" => padded.cyan().to_string(),
        "router-solicitation" | "router-advertisement" => padded.green().to_string(),
        "echo-request" | "echo-reply" => padded.blue().to_string(),
        "malformed" => padded.red().bold().to_string(),
        _ => padded,
    }
}

/// A classic 16-bytes-per-line hex dump.
pub fn hex_dump(w: &mut dyn Write, bytes: &[u8]) -> io::Result<()> {
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let mut line = format!("  {:04x}  ", i * 16);
        for j in 0..16 {
            match chunk.get(j) {
                Some(b) => {
                    let _ = write!(line, "{b:02x} ");
                }
                None => line.push_str("   "),
            }
            if j == 7 {
                line.push(' ');
            }
        }
        line.push(' ');
        line.extend(chunk.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }));
        writeln!(w, "{line}")?;
    }
    Ok(())
}

impl Record for PacketView<'_> {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("packet view serialises")
    }

    fn write_json(&self, buf: &mut Vec<u8>) -> io::Result<()> {
        serde_json::to_writer(buf, self).map_err(io::Error::from)
    }

    fn write_table(&self, w: &mut dyn Write, color: bool) -> io::Result<()> {
        let outer = match &self.outer {
            Some(o) => format!("{}:{} → {}:{}", o.src.0, o.src_port, o.dst.0, o.dst_port),
            None => "-".to_string(),
        };
        let inner = match &self.ipv6 {
            Some(h) => format!("{} → {}", h.src.0, h.dst.0),
            None => "-".to_string(),
        };
        let frame = match self.file {
            Some(f) => format!("{f}:{}", self.frame),
            None => self.frame.to_string(),
        };
        let info = self.info();
        let info = if color && !self.errors.is_empty() { info.red().to_string() } else { info };
        writeln!(
            w,
            "{:>6} {:>11.6}  {:<43} {} {}{}{}",
            frame,
            self.extra.relative,
            outer,
            type_colored(self.message_type, color),
            inner,
            if info.is_empty() { "" } else { "; " },
            info
        )?;
        if let Some(tree) = &self.extra.tree {
            w.write_all(tree.as_bytes())?;
        }
        if self.extra.hex {
            hex_dump(w, self.extra.frame_bytes)?;
        }
        if self.extra.tree.is_some() || self.extra.hex {
            writeln!(w)?;
        }
        Ok(())
    }
}

/// The name used in filters and JSON for each message type, in RFC order.
pub const MESSAGE_TYPES: [MessageType; 8] = [
    MessageType::Bubble,
    MessageType::IndirectBubble,
    MessageType::RouterSolicitation,
    MessageType::RouterAdvertisement,
    MessageType::EchoRequest,
    MessageType::EchoReply,
    MessageType::Data,
    MessageType::Malformed,
];
