//! TCP header inside the Teredo IPv6 packet (RFC 9293 §3.1): ports, sequence numbers, flags.
//! (UDP inside IPv6 reuses [`super::udp`].)

use super::{need, nom_fail, NomResult};
use crate::error::{DissectError, Layer, LengthSource};
use nom::number::complete::{be_u16, be_u32};
use std::fmt;

/// A decoded TCP header (options skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpHeader {
    /// Frame offset.
    pub offset: usize,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Header length in bytes.
    pub header_len: usize,
    /// Flags (low 9 bits: NS CWR ECE URG ACK PSH RST SYN FIN).
    pub flags: u16,
    /// Window.
    pub window: u16,
}

impl TcpHeader {
    /// Flags as text like `SYN,ACK`.
    pub fn flag_names(&self) -> String {
        const NAMES: [(u16, &str); 8] = [
            (0x80, "CWR"),
            (0x40, "ECE"),
            (0x20, "URG"),
            (0x10, "ACK"),
            (0x08, "PSH"),
            (0x04, "RST"),
            (0x02, "SYN"),
            (0x01, "FIN"),
        ];
        let v: Vec<&str> = NAMES.iter().rev().filter(|(b, _)| self.flags & b != 0).map(|(_, n)| *n).collect();
        v.join(",")
    }
}

impl fmt::Display for TcpHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Transmission Control Protocol, Src Port: {}, Dst Port: {}, Seq: {}, Flags: [{}]",
            self.src_port,
            self.dst_port,
            self.seq,
            self.flag_names()
        )
    }
}

fn fields(i: &[u8]) -> NomResult<'_, (u16, u16, u32, u32, u16, u16)> {
    let (i, src) = be_u16(i)?;
    let (i, dst) = be_u16(i)?;
    let (i, seq) = be_u32(i)?;
    let (i, ack) = be_u32(i)?;
    let (i, off_flags) = be_u16(i)?;
    let (i, window) = be_u16(i)?;
    Ok((i, (src, dst, seq, ack, off_flags, window)))
}

/// Parse a TCP header at `offset`.
pub fn parse_tcp(data: &[u8], offset: usize, length_from: LengthSource) -> Result<TcpHeader, DissectError> {
    need(Layer::Tcp, data, 20, offset, length_from)?;
    let (_, (src_port, dst_port, seq, ack, off_flags, window)) =
        fields(data).map_err(|_| nom_fail(Layer::Tcp, 20, data, offset, length_from))?;
    let header_len = usize::from(off_flags >> 12) * 4;
    if header_len < 20 {
        return Err(DissectError::Malformed {
            layer: Layer::Tcp,
            offset: offset + 12,
            field: "data_offset",
            value: (header_len / 4) as u64,
            reason: "below 5 words",
        });
    }
    need(Layer::Tcp, data, header_len, offset, length_from)?;
    Ok(TcpHeader { offset, src_port, dst_port, seq, ack, header_len, flags: off_flags & 0x01ff, window })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syn_ack() {
        let mut d = vec![0x0e, 0xd5, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x12, 0xff, 0xff];
        d.extend_from_slice(&[0; 4]);
        let t = parse_tcp(&d, 0, LengthSource::Snaplen).unwrap();
        assert_eq!((t.src_port, t.dst_port, t.seq, t.ack), (3797, 80, 1, 2));
        assert_eq!(t.flag_names(), "SYN,ACK");
        d[12] = 0x60;
        assert!(matches!(
            parse_tcp(&d, 0, LengthSource::Snaplen),
            Err(DissectError::Truncated { layer: Layer::Tcp, needed: 24, .. })
        ));
    }
}
