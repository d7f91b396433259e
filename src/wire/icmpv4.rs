//! ICMPv4 (RFC 792): the error messages that quote a datagram (Destination Unreachable 3,
//! Source Quench 4, Redirect 5, Time Exceeded 11, Parameter Problem 12) and echo.

use super::{checksum, need, nom_fail, NomResult};
use crate::error::{DissectError, Layer, LengthSource};
use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u8};
use std::fmt;

/// A decoded ICMPv4 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmpv4<'a> {
    /// Frame offset.
    pub offset: usize,
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
    /// Checksum as found.
    pub checksum: u16,
    /// The 4 bytes after the checksum (unused / pointer / gateway / next-hop MTU / id+seq).
    pub rest_of_header: [u8; 4],
    /// Everything after the 8-byte header (the quoted datagram for errors).
    pub payload: &'a [u8],
    /// Whole message as captured.
    pub raw: &'a [u8],
}

impl Icmpv4<'_> {
    /// True for the types that quote the offending datagram.
    pub fn is_error(&self) -> bool {
        matches!(self.icmp_type, 3 | 4 | 5 | 11 | 12)
    }
    /// True when the checksum verifies (only meaningful for a complete message).
    pub fn checksum_ok(&self) -> bool {
        checksum(self.raw) == 0
    }
    /// Type name.
    pub fn type_name(&self) -> &'static str {
        match (self.icmp_type, self.code) {
            (0, _) => "echo-reply",
            (3, 0) => "net-unreachable",
            (3, 1) => "host-unreachable",
            (3, 2) => "protocol-unreachable",
            (3, 3) => "port-unreachable",
            (3, 4) => "fragmentation-needed",
            (3, 13) => "administratively-prohibited",
            (3, _) => "destination-unreachable",
            (4, _) => "source-quench",
            (5, _) => "redirect",
            (8, _) => "echo-request",
            (11, _) => "time-exceeded",
            (12, _) => "parameter-problem",
            _ => "other",
        }
    }
}

impl fmt::Display for Icmpv4<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Internet Control Message Protocol, {} (type {} code {})",
            self.type_name(),
            self.icmp_type,
            self.code
        )
    }
}

fn fields(i: &[u8]) -> NomResult<'_, (u8, u8, u16, [u8; 4])> {
    let (i, t) = be_u8(i)?;
    let (i, c) = be_u8(i)?;
    let (i, ck) = be_u16(i)?;
    let (i, r) = take(4usize)(i)?;
    Ok((i, (t, c, ck, [r[0], r[1], r[2], r[3]])))
}

/// Parse an ICMPv4 message at `offset`.
pub fn parse_icmpv4(
    data: &[u8],
    offset: usize,
    length_from: LengthSource,
) -> Result<Icmpv4<'_>, DissectError> {
    need(Layer::Icmpv4, data, 8, offset, length_from)?;
    let (payload, (icmp_type, code, checksum, rest_of_header)) =
        fields(data).map_err(|_| nom_fail(Layer::Icmpv4, 8, data, offset, length_from))?;
    Ok(Icmpv4 {
        offset,
        icmp_type,
        code,
        checksum,
        rest_of_header,
        payload,
        raw: data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_unreachable() {
        let mut d = vec![3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0];
        let c = checksum(&d);
        d[2..4].copy_from_slice(&c.to_be_bytes());
        let m = parse_icmpv4(&d, 34, LengthSource::Snaplen).unwrap();
        assert!(m.is_error() && m.checksum_ok());
        assert_eq!((m.type_name(), m.payload.len()), ("port-unreachable", 2));
        assert!(matches!(
            parse_icmpv4(&d[..7], 34, LengthSource::Snaplen),
            Err(DissectError::Truncated {
                layer: Layer::Icmpv4,
                needed: 8,
                available: 7,
                offset: 34,
                ..
            })
        ));
    }
}
