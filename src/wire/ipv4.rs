//! IPv4 header (RFC 791): fields, options skipped, header checksum verification, fragment
//! fields, and an emit helper for tests and fake servers.

use super::{checksum, need, nom_fail, NomResult};
use crate::error::{DissectError, Layer, LengthSource};
use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u8};
use std::fmt;
use std::net::Ipv4Addr;

/// An IP protocol number (IPv4 protocol / IPv6 next header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpProtocol(pub u8);

impl IpProtocol {
    /// IPv6 Hop-by-Hop Options.
    pub const HOPOPT: IpProtocol = IpProtocol(0);
    /// ICMP for IPv4.
    pub const ICMP: IpProtocol = IpProtocol(1);
    /// TCP.
    pub const TCP: IpProtocol = IpProtocol(6);
    /// UDP.
    pub const UDP: IpProtocol = IpProtocol(17);
    /// IPv6 encapsulation.
    pub const IPV6: IpProtocol = IpProtocol(41);
    /// IPv6 Routing header.
    pub const ROUTING: IpProtocol = IpProtocol(43);
    /// IPv6 Fragment header.
    pub const FRAGMENT: IpProtocol = IpProtocol(44);
    /// Encapsulating Security Payload.
    pub const ESP: IpProtocol = IpProtocol(50);
    /// Authentication Header.
    pub const AH: IpProtocol = IpProtocol(51);
    /// ICMPv6.
    pub const ICMPV6: IpProtocol = IpProtocol(58);
    /// No Next Header (RFC 8200 §4.7): what a Teredo bubble carries.
    pub const NO_NEXT_HEADER: IpProtocol = IpProtocol(59);
    /// IPv6 Destination Options.
    pub const DSTOPTS: IpProtocol = IpProtocol(60);

    /// Name when known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "Hop-by-Hop Options",
            1 => "ICMP",
            6 => "TCP",
            17 => "UDP",
            41 => "IPv6",
            43 => "Routing",
            44 => "Fragment",
            50 => "ESP",
            51 => "AH",
            58 => "ICMPv6",
            59 => "No Next Header",
            60 => "Destination Options",
            _ => return None,
        })
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// Minimum IPv4 header length.
pub const IPV4_MIN_HEADER: usize = 20;

/// A decoded IPv4 header (borrowing its options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header<'a> {
    /// Frame offset of the header.
    pub offset: usize,
    /// Header length in bytes (IHL * 4).
    pub header_len: usize,
    /// Type of service / DSCP+ECN byte.
    pub tos: u8,
    /// Total length field.
    pub total_length: u16,
    /// Identification.
    pub identification: u16,
    /// Don't Fragment flag.
    pub dont_fragment: bool,
    /// More Fragments flag.
    pub more_fragments: bool,
    /// Fragment offset in 8-byte units.
    pub fragment_offset: u16,
    /// Time to live.
    pub ttl: u8,
    /// Protocol.
    pub protocol: IpProtocol,
    /// Header checksum as found.
    pub checksum: u16,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Options bytes (skipped, not decoded).
    pub options: &'a [u8],
    /// The whole header, for checksum verification.
    pub raw: &'a [u8],
}

impl Ipv4Header<'_> {
    /// True for a fragment (offset non-zero or more-fragments set).
    pub fn is_fragment(&self) -> bool {
        self.more_fragments || self.fragment_offset != 0
    }
    /// Fragment offset in bytes.
    pub fn fragment_offset_bytes(&self) -> usize {
        usize::from(self.fragment_offset) * 8
    }
    /// The checksum the header should carry.
    pub fn expected_checksum(&self) -> u16 {
        let mut sum = super::checksum_add(0, &self.raw[..10]);
        sum = super::checksum_add(sum, &self.raw[12..]);
        super::checksum_finish(sum)
    }
    /// True when the header checksum verifies.
    pub fn checksum_ok(&self) -> bool {
        checksum(self.raw) == 0
    }
}

impl fmt::Display for Ipv4Header<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Internet Protocol Version 4, Src: {}, Dst: {}, {}, TTL {}, len {}",
            self.src, self.dst, self.protocol, self.ttl, self.total_length
        )?;
        if self.is_fragment() {
            write!(
                f,
                ", fragment id 0x{:04x} off {}{}",
                self.identification,
                self.fragment_offset_bytes(),
                if self.more_fragments { " MF" } else { "" }
            )?;
        }
        Ok(())
    }
}

fn addr(i: &[u8]) -> NomResult<'_, Ipv4Addr> {
    let (i, b) = take(4usize)(i)?;
    Ok((i, Ipv4Addr::new(b[0], b[1], b[2], b[3])))
}

struct Fixed {
    vihl: u8,
    tos: u8,
    total_length: u16,
    identification: u16,
    flags_frag: u16,
    ttl: u8,
    protocol: u8,
    checksum: u16,
    src: Ipv4Addr,
    dst: Ipv4Addr,
}

fn fixed(i: &[u8]) -> NomResult<'_, Fixed> {
    let (i, vihl) = be_u8(i)?;
    let (i, tos) = be_u8(i)?;
    let (i, total_length) = be_u16(i)?;
    let (i, identification) = be_u16(i)?;
    let (i, flags_frag) = be_u16(i)?;
    let (i, ttl) = be_u8(i)?;
    let (i, protocol) = be_u8(i)?;
    let (i, checksum) = be_u16(i)?;
    let (i, src) = addr(i)?;
    let (i, dst) = addr(i)?;
    Ok((i, Fixed { vihl, tos, total_length, identification, flags_frag, ttl, protocol, checksum, src, dst }))
}

/// A parsed IPv4 packet: header, the payload within the total length as far as captured, and
/// whether the total length reaches past the available bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Packet<'a> {
    /// Header.
    pub header: Ipv4Header<'a>,
    /// Payload bytes (bounded by the total length and the available data).
    pub payload: &'a [u8],
    /// Bytes the total length claims beyond the available data (0 when complete).
    pub missing: usize,
    /// Bytes after the total length (link padding).
    pub padding: usize,
}

/// Parse an IPv4 header at frame offset `offset`.
///
/// Malformed: version != 4, IHL < 5, total length < header length. Truncated: fewer than 20
/// bytes or fewer than the IHL says.
pub fn parse_ipv4(data: &[u8], offset: usize, length_from: LengthSource) -> Result<Ipv4Packet<'_>, DissectError> {
    need(Layer::Ipv4, data, IPV4_MIN_HEADER, offset, length_from)?;
    let (_, h) = fixed(data).map_err(|_| nom_fail(Layer::Ipv4, 20, data, offset, length_from))?;
    let version = h.vihl >> 4;
    if version != 4 {
        return Err(DissectError::Malformed {
            layer: Layer::Ipv4,
            offset,
            field: "version",
            value: u64::from(version),
            reason: "must be 4",
        });
    }
    let header_len = usize::from(h.vihl & 0x0f) * 4;
    if header_len < IPV4_MIN_HEADER {
        return Err(DissectError::Malformed {
            layer: Layer::Ipv4,
            offset,
            field: "ihl",
            value: (header_len / 4) as u64,
            reason: "header length below 5 words",
        });
    }
    need(Layer::Ipv4, data, header_len, offset, length_from)?;
    let total = usize::from(h.total_length);
    if total < header_len {
        return Err(DissectError::Malformed {
            layer: Layer::Ipv4,
            offset: offset + 2,
            field: "total_length",
            value: total as u64,
            reason: "smaller than the header length",
        });
    }
    let end = total.min(data.len());
    let header = Ipv4Header {
        offset,
        header_len,
        tos: h.tos,
        total_length: h.total_length,
        identification: h.identification,
        dont_fragment: h.flags_frag & 0x4000 != 0,
        more_fragments: h.flags_frag & 0x2000 != 0,
        fragment_offset: h.flags_frag & 0x1fff,
        ttl: h.ttl,
        protocol: IpProtocol(h.protocol),
        checksum: h.checksum,
        src: h.src,
        dst: h.dst,
        options: &data[IPV4_MIN_HEADER..header_len],
        raw: &data[..header_len],
    };
    Ok(Ipv4Packet {
        header,
        payload: &data[header_len..end],
        missing: total.saturating_sub(data.len()),
        padding: data.len().saturating_sub(total),
    })
}

/// Build a 20-byte IPv4 header (no options) with a correct checksum.
#[allow(clippy::too_many_arguments)]
pub fn emit_ipv4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: IpProtocol,
    payload_len: usize,
    ttl: u8,
    identification: u16,
    flags_frag: u16,
) -> [u8; 20] {
    let mut h = [0u8; 20];
    h[0] = 0x45;
    let total = (20 + payload_len).min(0xffff) as u16;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&identification.to_be_bytes());
    h[6..8].copy_from_slice(&flags_frag.to_be_bytes());
    h[8] = ttl;
    h[9] = protocol.0;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_parse_round_trip_and_checksum() {
        let h = emit_ipv4(
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(198, 51, 100, 7),
            IpProtocol::UDP,
            8,
            64,
            0x1234,
            0x4000,
        );
        let mut pkt = h.to_vec();
        pkt.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 0, 0]); // 2 bytes of padding
        let p = parse_ipv4(&pkt, 14, LengthSource::Snaplen).unwrap();
        assert!(p.header.checksum_ok());
        assert_eq!(p.header.expected_checksum(), p.header.checksum);
        assert_eq!(p.header.src, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(p.header.protocol, IpProtocol::UDP);
        assert!(p.header.dont_fragment && !p.header.is_fragment());
        assert_eq!(p.payload.len(), 8);
        assert_eq!((p.padding, p.missing), (2, 0));
        pkt[8] = 63; // change TTL: checksum must fail
        let p = parse_ipv4(&pkt, 14, LengthSource::Snaplen).unwrap();
        assert!(!p.header.checksum_ok());
    }

    #[test]
    fn known_header_checksum() {
        // A classic worked example (Wikipedia "IPv4 header checksum"): checksum 0xb861.
        let h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8,
            0x00, 0xc7,
        ];
        let mut d = h.to_vec();
        d.resize(0x73, 0);
        let p = parse_ipv4(&d, 0, LengthSource::Snaplen).unwrap();
        assert!(p.header.checksum_ok());
        assert_eq!(p.header.expected_checksum(), 0xb861);
    }

    #[test]
    fn malformed_and_truncated() {
        let mut h = emit_ipv4(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2), IpProtocol::UDP, 0, 1, 0, 0);
        assert!(matches!(
            parse_ipv4(&h[..19], 0, LengthSource::Snaplen),
            Err(DissectError::Truncated { needed: 20, available: 19, .. })
        ));
        h[0] = 0x46;
        assert!(matches!(parse_ipv4(&h, 0, LengthSource::Snaplen), Err(DissectError::Truncated { needed: 24, .. })));
        h[0] = 0x44;
        assert!(matches!(parse_ipv4(&h, 0, LengthSource::Snaplen), Err(DissectError::Malformed { field: "ihl", .. })));
        h[0] = 0x65;
        assert!(matches!(
            parse_ipv4(&h, 0, LengthSource::Snaplen),
            Err(DissectError::Malformed { field: "version", value: 6, .. })
        ));
    }
}
