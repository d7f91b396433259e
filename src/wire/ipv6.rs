//! IPv6 header (RFC 8200 §3) and extension header chain (§4): Hop-by-Hop 0, Routing 43,
//! Fragment 44, Destination Options 60, AH 51 (RFC 4302), ESP 50 (RFC 4303, ends the walk),
//! No Next Header 59. Emit helpers build headers and Teredo bubbles (RFC 4380 §2.8).

use super::ipv4::IpProtocol;
use super::{need, nom_fail, NomResult};
use crate::error::{DissectError, Layer, LengthSource};
use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, be_u8};
use std::fmt;
use std::net::Ipv6Addr;

/// IPv6 fixed header length.
pub const IPV6_HEADER: usize = 40;

/// True for an address inside the Teredo prefix 2001:0000::/32 (RFC 4380 §2.6).
pub fn is_teredo(a: &Ipv6Addr) -> bool {
    let s = a.segments();
    s[0] == 0x2001 && s[1] == 0
}

/// True for a link-local unicast address fe80::/10.
pub fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// A decoded IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Header {
    /// Frame offset.
    pub offset: usize,
    /// Version nibble (6 when parsed successfully).
    pub version: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// Payload length.
    pub payload_length: u16,
    /// Next header.
    pub next_header: IpProtocol,
    /// Hop limit.
    pub hop_limit: u8,
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
}

impl Ipv6Header {
    /// A header for sending (offset 0, traffic class 0, flow label 0).
    pub fn new(src: Ipv6Addr, dst: Ipv6Addr, next_header: IpProtocol, payload_length: u16, hop_limit: u8) -> Self {
        Ipv6Header {
            offset: 0,
            version: 6,
            traffic_class: 0,
            flow_label: 0,
            payload_length,
            next_header,
            hop_limit,
            src,
            dst,
        }
    }
    /// The 40 encoded bytes.
    pub fn to_bytes(&self) -> [u8; 40] {
        let mut h = [0u8; 40];
        let w = (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0xfffff);
        h[0..4].copy_from_slice(&w.to_be_bytes());
        h[4..6].copy_from_slice(&self.payload_length.to_be_bytes());
        h[6] = self.next_header.0;
        h[7] = self.hop_limit;
        h[8..24].copy_from_slice(&self.src.octets());
        h[24..40].copy_from_slice(&self.dst.octets());
        h
    }
    /// Append the encoded header.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }
    /// True for a Teredo bubble: next header 59 and payload length 0 (RFC 4380 §2.8).
    pub fn is_bubble(&self) -> bool {
        self.next_header == IpProtocol::NO_NEXT_HEADER && self.payload_length == 0
    }
}

impl fmt::Display for Ipv6Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Internet Protocol Version 6, Src: {}, Dst: {}, {}, plen {}, hlim {}",
            self.src, self.dst, self.next_header, self.payload_length, self.hop_limit
        )
    }
}

fn v6(i: &[u8]) -> NomResult<'_, Ipv6Addr> {
    let (i, b) = take(16usize)(i)?;
    let mut a = [0u8; 16];
    a.copy_from_slice(b);
    Ok((i, Ipv6Addr::from(a)))
}

fn fixed(i: &[u8]) -> NomResult<'_, (u32, u16, u8, u8, Ipv6Addr, Ipv6Addr)> {
    let (i, w) = be_u32(i)?;
    let (i, plen) = be_u16(i)?;
    let (i, nh) = be_u8(i)?;
    let (i, hlim) = be_u8(i)?;
    let (i, src) = v6(i)?;
    let (i, dst) = v6(i)?;
    Ok((i, (w, plen, nh, hlim, src, dst)))
}

/// Parse the 40-byte IPv6 header at `offset`. Malformed when the version is not 6.
pub fn parse_ipv6_header(data: &[u8], offset: usize, length_from: LengthSource) -> Result<Ipv6Header, DissectError> {
    if let Some(b) = data.first() {
        if b >> 4 != 6 {
            return Err(DissectError::Malformed {
                layer: Layer::Ipv6,
                offset,
                field: "version",
                value: u64::from(b >> 4),
                reason: "must be 6",
            });
        }
    }
    need(Layer::Ipv6, data, IPV6_HEADER, offset, length_from)?;
    let (_, (w, payload_length, nh, hop_limit, src, dst)) =
        fixed(data).map_err(|_| nom_fail(Layer::Ipv6, 40, data, offset, length_from))?;
    Ok(Ipv6Header {
        offset,
        version: (w >> 28) as u8,
        traffic_class: (w >> 20) as u8,
        flow_label: w & 0xfffff,
        payload_length,
        next_header: IpProtocol(nh),
        hop_limit,
        src,
        dst,
    })
}

/// Fragment header fields (RFC 8200 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentInfo {
    /// Fragment offset in bytes.
    pub offset_bytes: u16,
    /// M flag.
    pub more: bool,
    /// Identification.
    pub identification: u32,
}

/// One IPv6 extension header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionHeader {
    /// Frame offset.
    pub offset: usize,
    /// Which header this is.
    pub kind: IpProtocol,
    /// Its Next Header field (for ESP: unknown, reported as 59).
    pub next_header: IpProtocol,
    /// Length in bytes (for ESP: the rest of the payload).
    pub len: usize,
    /// Fragment fields for a Fragment header.
    pub fragment: Option<FragmentInfo>,
    /// Routing type for a Routing header; SPI for AH/ESP.
    pub routing_type_or_spi: u32,
}

impl fmt::Display for ExtensionHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IPv6 {} header, {} bytes, next {}", self.kind, self.len, self.next_header)?;
        if let Some(fr) = self.fragment {
            write!(
                f,
                ", fragment id 0x{:08x} off {}{}",
                fr.identification,
                fr.offset_bytes,
                if fr.more { " M" } else { "" }
            )?;
        }
        Ok(())
    }
}

/// Capacity of the extension header list.
pub const MAX_EXTENSIONS: usize = 8;

/// The extension headers of one packet, walked lazily by [`Extensions::iter`]:
/// [`parse_extension_chain`] validates the chain once and keeps only the bytes, the first
/// next header and the frame offset, so a packet without extension headers costs nothing to
/// hold. At most [`MAX_EXTENSIONS`] are listed.
#[derive(Clone, Copy)]
pub struct Extensions<'a> {
    /// The IPv6 payload, from its start (an ESP header takes the rest of it).
    data: &'a [u8],
    /// The IPv6 header's Next Header.
    first: IpProtocol,
    /// Frame offset of `data`.
    offset: usize,
    /// Number of headers walked.
    count: u8,
}

impl Default for Extensions<'_> {
    fn default() -> Self {
        Extensions { data: &[], first: IpProtocol::NO_NEXT_HEADER, offset: 0, count: 0 }
    }
}

impl<'a> Extensions<'a> {
    /// The headers, in order.
    pub fn iter(&self) -> impl Iterator<Item = ExtensionHeader> + 'a {
        let (data, offset) = (self.data, self.offset);
        let (mut pos, mut nh, mut left) = (0usize, self.first, self.count);
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            // Validated by parse_extension_chain: the step cannot fail here.
            let h = match extension_step(data, pos, nh, offset, LengthSource::Snaplen) {
                Ok(Some(h)) => h,
                _ => return None,
            };
            pos += h.len;
            nh = h.next_header;
            Some(h)
        })
    }
    /// Number of headers.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }
    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// Header `i`, if any.
    pub fn get(&self, i: usize) -> Option<ExtensionHeader> {
        self.iter().nth(i)
    }
}

/// Equal when they list the same headers.
impl PartialEq for Extensions<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Extensions<'_> {}

impl fmt::Debug for Extensions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Result of walking the extension header chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionChain<'a> {
    /// Headers walked, in order.
    pub headers: Extensions<'a>,
    /// Upper-layer protocol after the chain.
    pub upper: IpProtocol,
    /// Offset of the upper layer relative to the start of the IPv6 payload.
    pub upper_start: usize,
    /// True when a non-first fragment makes the upper layer unparseable, or ESP hides it.
    pub opaque: bool,
    /// Why the walk stopped early, if it did (the headers before it are kept).
    pub error: Option<DissectError>,
}

/// True for the headers [`parse_extension_chain`] walks: RFC 8200 §4 Hop-by-Hop Options,
/// Routing, Fragment and Destination Options, plus AH (RFC 4302) and ESP (RFC 4303). Any other
/// next header is the upper layer itself, so a caller can skip the walk.
#[inline]
pub fn is_extension_header(p: IpProtocol) -> bool {
    matches!(
        p,
        IpProtocol::HOPOPT
            | IpProtocol::ROUTING
            | IpProtocol::FRAGMENT
            | IpProtocol::DSTOPTS
            | IpProtocol::AH
            | IpProtocol::ESP
    )
}

/// Decode the extension header `nh` at `data[pos..]`: `Ok(None)` when `nh` is not one
/// ([`is_extension_header`]). An ESP header takes the rest of `data` and names no next header
/// (reported as 59).
fn extension_step(
    data: &[u8],
    pos: usize,
    nh: IpProtocol,
    offset: usize,
    length_from: LengthSource,
) -> Result<Option<ExtensionHeader>, DissectError> {
    let rest = data.get(pos..).unwrap_or(&[]);
    let at = offset + pos;
    let l = Layer::Ipv6Extension;
    let (len, next, fragment, extra) = match nh {
        IpProtocol::HOPOPT | IpProtocol::ROUTING | IpProtocol::DSTOPTS => {
            need(l, rest, 8, at, length_from)?;
            let len = (usize::from(rest[1]) + 1) * 8;
            need(l, rest, len, at, length_from)?;
            let extra = if nh == IpProtocol::ROUTING { u32::from(rest[2]) } else { 0 };
            (len, IpProtocol(rest[0]), None, extra)
        }
        IpProtocol::FRAGMENT => {
            need(l, rest, 8, at, length_from)?;
            let fo = u16::from_be_bytes([rest[2], rest[3]]);
            let fr = FragmentInfo {
                offset_bytes: fo & 0xfff8,
                more: fo & 1 != 0,
                identification: u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]),
            };
            (8, IpProtocol(rest[0]), Some(fr), 0)
        }
        IpProtocol::AH => {
            need(l, rest, 12, at, length_from)?;
            let len = (usize::from(rest[1]) + 2) * 4;
            need(l, rest, len, at, length_from)?;
            let spi = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]);
            (len, IpProtocol(rest[0]), None, spi)
        }
        IpProtocol::ESP => {
            need(l, rest, 8, at, length_from)?;
            let spi = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
            (rest.len(), IpProtocol::NO_NEXT_HEADER, None, spi)
        }
        _ => return Ok(None),
    };
    Ok(Some(ExtensionHeader { offset: at, kind: nh, next_header: next, len, fragment, routing_type_or_spi: extra }))
}

/// Walk the extension headers at the start of the IPv6 payload `data` (frame offset `offset`).
pub fn parse_extension_chain(
    data: &[u8],
    first: IpProtocol,
    offset: usize,
    length_from: LengthSource,
) -> ExtensionChain<'_> {
    let mut chain = ExtensionChain {
        headers: Extensions { data, first, offset, count: 0 },
        upper: first,
        upper_start: 0,
        opaque: false,
        error: None,
    };
    let mut pos = 0usize;
    let mut nh = first;
    loop {
        let h = match extension_step(data, pos, nh, offset, length_from) {
            Ok(Some(h)) => h,
            Ok(None) => {
                chain.upper = nh;
                chain.upper_start = pos;
                return chain;
            }
            Err(e) => {
                chain.error = Some(e);
                return chain;
            }
        };
        if nh == IpProtocol::ESP {
            // listed when there is room (a full list takes it silently: ESP ends the walk anyway)
            if usize::from(chain.headers.count) < MAX_EXTENSIONS {
                chain.headers.count += 1;
            }
            chain.upper = IpProtocol::ESP;
            chain.upper_start = pos;
            chain.opaque = true;
            return chain;
        }
        if usize::from(chain.headers.count) == MAX_EXTENSIONS {
            chain.error = Some(DissectError::Malformed {
                layer: Layer::Ipv6Extension,
                offset: h.offset,
                field: "next_header",
                value: u64::from(nh.0),
                reason: "more than 8 extension headers",
            });
            return chain;
        }
        chain.headers.count += 1;
        pos += h.len;
        nh = h.next_header;
        if let Some(fr) = h.fragment {
            if fr.offset_bytes != 0 {
                chain.upper = nh;
                chain.upper_start = pos;
                chain.opaque = true;
                return chain;
            }
        }
    }
}

/// Build a Teredo bubble (RFC 4380 §2.8): an IPv6 header with next header 59 and payload
/// length 0. miredo uses hop limit 0; RFC 4380 leaves it open except for local discovery (1).
pub fn emit_bubble(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8) -> [u8; 40] {
    Ipv6Header::new(src, dst, IpProtocol::NO_NEXT_HEADER, 0, hop_limit).to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_of_a_non_extension_header_is_empty() {
        // what the dissector's shortcut assumes when is_extension_header is false
        let data = [0u8; 64];
        for nh in 0..=255u8 {
            let p = IpProtocol(nh);
            let c = parse_extension_chain(&data, p, 100, LengthSource::Snaplen);
            let trivial = c.headers.is_empty() && c.upper == p && c.upper_start == 0 && !c.opaque && c.error.is_none();
            assert_eq!(trivial, !is_extension_header(p), "next header {nh}");
        }
    }

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn bubble_round_trip() {
        let b = emit_bubble(a("fe80::1"), a("2001:0:c000:201::1"), 0);
        assert_eq!(&b[..8], &[0x60, 0, 0, 0, 0, 0, 59, 0]);
        let h = parse_ipv6_header(&b, 50, LengthSource::Snaplen).unwrap();
        assert!(h.is_bubble());
        assert_eq!((h.offset, h.src, h.dst), (50, a("fe80::1"), a("2001:0:c000:201::1")));
        assert!(is_teredo(&h.dst) && is_link_local(&h.src) && !is_teredo(&h.src));
    }

    #[test]
    fn version_and_truncation() {
        let mut b = emit_bubble(a("::1"), a("::2"), 0);
        b[0] = 0x40;
        assert!(matches!(
            parse_ipv6_header(&b, 0, LengthSource::Snaplen),
            Err(DissectError::Malformed { field: "version", value: 4, .. })
        ));
        b[0] = 0x60;
        assert!(matches!(
            parse_ipv6_header(&b[..39], 7, LengthSource::HeaderField("udp.length")),
            Err(DissectError::Truncated { layer: Layer::Ipv6, needed: 40, available: 39, offset: 7, .. })
        ));
    }

    #[test]
    fn extension_chain() {
        // hop-by-hop (8 bytes) -> fragment (first) -> dstopts (16 bytes) -> ICMPv6
        let mut p = vec![44, 0, 5, 2, 1, 0, 1, 0];
        p.extend_from_slice(&[60, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]);
        p.extend_from_slice(&[58, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&[128, 0, 0, 0]);
        let c = parse_extension_chain(&p, IpProtocol::HOPOPT, 54, LengthSource::Snaplen);
        assert!(c.error.is_none());
        assert_eq!(c.headers.len(), 3);
        assert_eq!((c.upper, c.upper_start, c.opaque), (IpProtocol::ICMPV6, 32, false));
        let fr = c.headers.get(1).unwrap();
        assert_eq!(fr.offset, 62);
        assert_eq!(fr.fragment, Some(FragmentInfo { offset_bytes: 0, more: true, identification: 0xdeadbeef }));
        // truncated dstopts
        let c = parse_extension_chain(&p[..30], IpProtocol::HOPOPT, 0, LengthSource::Snaplen);
        let e = c.error.unwrap();
        assert_eq!(c.headers.len(), 2);
        assert!(matches!(e, DissectError::Truncated { needed: 16, available: 14, offset: 16, .. }));
        // ESP stops the walk
        let c = parse_extension_chain(&[0, 0, 0, 9, 0, 0, 0, 1, 1, 2], IpProtocol::ESP, 0, LengthSource::Snaplen);
        assert!(c.opaque);
        assert_eq!(c.headers.get(0).unwrap().routing_type_or_spi, 9);
    }

    #[test]
    fn chain_capacity() {
        // nine 8-byte Destination Options headers: eight listed, the ninth is an error
        let mut p = Vec::new();
        for _ in 0..9 {
            p.extend_from_slice(&[60, 0, 0, 0, 0, 0, 0, 0]);
        }
        let c = parse_extension_chain(&p, IpProtocol::DSTOPTS, 40, LengthSource::Snaplen);
        assert_eq!(c.headers.len(), MAX_EXTENSIONS);
        let offsets: Vec<usize> = c.headers.iter().map(|h| h.offset).collect();
        assert_eq!(offsets, (0..8).map(|k| 40 + 8 * k).collect::<Vec<_>>());
        assert!(matches!(c.error, Some(DissectError::Malformed { offset: 104, value: 60, .. })));
        // eight, then ESP: the walk ends opaque, ESP not listed for lack of room
        let mut q = p[..64].to_vec();
        q[56] = 50;
        q.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 1]);
        let c = parse_extension_chain(&q, IpProtocol::DSTOPTS, 0, LengthSource::Snaplen);
        assert!(c.error.is_none() && c.opaque);
        assert_eq!((c.upper, c.upper_start, c.headers.len()), (IpProtocol::ESP, 64, 8));
        assert_eq!(c.headers.get(7).map(|h| h.next_header), Some(IpProtocol::ESP));
        assert!(c.headers.get(8).is_none());
        // seven, then ESP: listed, taking the rest of the payload
        let c = parse_extension_chain(&q[8..], IpProtocol::DSTOPTS, 0, LengthSource::Snaplen);
        assert_eq!(c.headers.len(), 8);
        let esp = c.headers.get(7).unwrap();
        assert_eq!((esp.kind, esp.len, esp.routing_type_or_spi), (IpProtocol::ESP, 8, 7));
        // equality is by content: a chain cut in its first header lists nothing
        let cut = parse_extension_chain(&q[..4], IpProtocol::DSTOPTS, 9, LengthSource::Snaplen);
        assert!(cut.error.is_some());
        assert_eq!(cut.headers, Extensions::default());
        assert_ne!(c.headers, Extensions::default());
    }
}
