//! UDP header (RFC 768): ports, length, checksum over the IPv4 or IPv6 pseudo-header, emit.

use super::{checksum_add, checksum_finish, need, nom_fail, NomResult};
use crate::error::{DissectError, Layer, LengthSource};
use nom::number::complete::be_u16;
use std::fmt;

/// UDP header length.
pub const UDP_HEADER: usize = 8;

/// The Teredo service port (RFC 4380 §2.7).
pub const TEREDO_PORT: u16 = 3544;

/// A decoded UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpHeader {
    /// Frame offset of the header.
    pub offset: usize,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Length field (header + payload).
    pub length: u16,
    /// Checksum field (0 = none, IPv4 only).
    pub checksum: u16,
}

impl fmt::Display for UdpHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "User Datagram Protocol, Src Port: {}, Dst Port: {}, Len {}",
            self.src_port, self.dst_port, self.length
        )
    }
}

fn fields(i: &[u8]) -> NomResult<'_, (u16, u16, u16, u16)> {
    let (i, src) = be_u16(i)?;
    let (i, dst) = be_u16(i)?;
    let (i, len) = be_u16(i)?;
    let (i, ck) = be_u16(i)?;
    Ok((i, (src, dst, len, ck)))
}

/// A parsed UDP datagram: header and payload (bounded by the length field and the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    /// Header.
    pub header: UdpHeader,
    /// Payload within the length field, as far as available.
    pub payload: &'a [u8],
    /// Bytes the length field claims beyond the available data.
    pub missing: usize,
}

/// Parse a UDP header at `offset`. Malformed when the length field is below 8.
pub fn parse_udp(
    data: &[u8],
    offset: usize,
    length_from: LengthSource,
    layer: Layer,
) -> Result<UdpDatagram<'_>, DissectError> {
    need(layer, data, UDP_HEADER, offset, length_from)?;
    let (_, (src_port, dst_port, length, checksum)) =
        fields(data).map_err(|_| nom_fail(layer, UDP_HEADER, data, offset, length_from))?;
    let len = usize::from(length);
    if len < UDP_HEADER {
        return Err(DissectError::Malformed {
            layer,
            offset: offset + 4,
            field: "length",
            value: len as u64,
            reason: "smaller than the 8-byte UDP header",
        });
    }
    let end = len.min(data.len());
    Ok(UdpDatagram {
        header: UdpHeader { offset, src_port, dst_port, length, checksum },
        payload: &data[UDP_HEADER..end],
        missing: len.saturating_sub(data.len()),
    })
}

/// Checksum a UDP datagram (`udp` = header + payload exactly `length` bytes) should carry,
/// given the pseudo-header partial sum.
pub fn expected_checksum(pseudo_sum: u32, udp: &[u8]) -> u16 {
    let mut s = checksum_add(pseudo_sum, &udp[..6.min(udp.len())]);
    if udp.len() > 8 {
        s = checksum_add(s, &udp[8..]);
    }
    let c = checksum_finish(s);
    // RFC 768: a computed 0 is sent as all ones.
    if c == 0 {
        0xffff
    } else {
        c
    }
}

/// Build a UDP header over `payload` with the checksum for the given pseudo-header sum
/// (`None` leaves the checksum 0, allowed over IPv4 only).
pub fn emit_udp(src_port: u16, dst_port: u16, payload: &[u8], pseudo_sum: Option<u32>) -> [u8; 8] {
    let len = (UDP_HEADER + payload.len()).min(0xffff) as u16;
    let mut h = [0u8; 8];
    h[0..2].copy_from_slice(&src_port.to_be_bytes());
    h[2..4].copy_from_slice(&dst_port.to_be_bytes());
    h[4..6].copy_from_slice(&len.to_be_bytes());
    if let Some(ps) = pseudo_sum {
        let s = checksum_add(checksum_add(ps, &h[..6]), payload);
        let c = checksum_finish(s);
        let c = if c == 0 { 0xffff } else { c };
        h[6..8].copy_from_slice(&c.to_be_bytes());
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv4_pseudo_sum;

    #[test]
    fn round_trip_with_checksum() {
        let payload = b"teredo!";
        let ps = ipv4_pseudo_sum([192, 0, 2, 1], [192, 0, 2, 2], 17, 15);
        let h = emit_udp(40000, TEREDO_PORT, payload, Some(ps));
        let mut d = h.to_vec();
        d.extend_from_slice(payload);
        let u = parse_udp(&d, 34, LengthSource::Snaplen, Layer::Udp).unwrap();
        assert_eq!((u.header.src_port, u.header.dst_port, u.header.length), (40000, 3544, 15));
        assert_eq!(u.payload, payload);
        assert_eq!(expected_checksum(ps, &d), u.header.checksum);
        // whole datagram incl. pseudo header sums to 0xffff
        assert_eq!(crate::wire::checksum_finish(checksum_add(ps, &d)), 0);
    }

    #[test]
    fn bad_length() {
        let d = [0, 1, 0, 2, 0, 7, 0, 0];
        assert!(matches!(
            parse_udp(&d, 0, LengthSource::Snaplen, Layer::Udp),
            Err(DissectError::Malformed { field: "length", value: 7, offset: 4, .. })
        ));
        let d = [0, 1, 0, 2, 0, 20, 0, 0, 1];
        let u = parse_udp(&d, 0, LengthSource::Snaplen, Layer::Udp).unwrap();
        assert_eq!((u.payload.len(), u.missing), (1, 11));
    }
}
