//! Teredo encapsulation (RFC 4380 §5.1.1): the optional Authentication indicator and Origin
//! indication in front of the IPv6 packet, and the RFC 6081 §4 trailers after it.
//!
//! Order rule (RFC 4380 §5.1.1): an Authentication indicator, if present, comes first; an
//! Origin indication, if present, follows it; then the IPv6 packet. An Authentication after an
//! Origin, a second Authentication or a second Origin, or a length that runs past the end of
//! the datagram is malformed.

use super::{need, nom_fail, NomResult};
use crate::error::{DissectError, Layer, LengthSource, Notice, NoticeKind};
use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u8};
use std::fmt;
use std::net::Ipv4Addr;

/// Indicator type of the Authentication indicator.
pub const AUTHENTICATION_INDICATOR: u16 = 0x0001;
/// Indicator type of the Origin indication.
pub const ORIGIN_INDICATOR: u16 = 0x0000;
/// Fixed part of the Authentication indicator: type, ID-len, AU-len, nonce, confirmation.
pub const AUTHENTICATION_FIXED_LEN: usize = 13;
/// Length of the Origin indication.
pub const ORIGIN_INDICATION_LEN: usize = 8;

/// Authentication indicator (RFC 4380 §5.1.1):
/// `0x0001 | ID-len | AU-len | client identifier | authentication value | nonce (8) | confirmation (1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authentication<'a> {
    /// Frame offset of the indicator (0 when built for sending).
    pub offset: usize,
    /// Client identifier (ID-len bytes).
    pub client_id: &'a [u8],
    /// Authentication value (AU-len bytes).
    pub auth_value: &'a [u8],
    /// Nonce chosen by the client and echoed by the server (RFC 4380 §5.2.2).
    pub nonce: [u8; 8],
    /// Confirmation byte: 0 when the client's key is still valid (RFC 4380 §5.3.2).
    pub confirmation: u8,
}

impl<'a> Authentication<'a> {
    /// An indicator without client identifier or authentication value, as every known
    /// implementation sends (ID-len = AU-len = 0).
    pub fn new(nonce: [u8; 8], confirmation: u8) -> Authentication<'static> {
        Authentication { offset: 0, client_id: &[], auth_value: &[], nonce, confirmation }
    }
    /// ID-len field.
    pub fn id_len(&self) -> u8 {
        self.client_id.len() as u8
    }
    /// AU-len field.
    pub fn auth_len(&self) -> u8 {
        self.auth_value.len() as u8
    }
    /// Encoded length: 13 + ID-len + AU-len.
    pub fn len(&self) -> usize {
        AUTHENTICATION_FIXED_LEN + self.client_id.len() + self.auth_value.len()
    }
    /// Never empty (the fixed part is 13 bytes).
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Append the encoded indicator. Identifier and value are cut to 255 bytes.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let id = &self.client_id[..self.client_id.len().min(255)];
        let au = &self.auth_value[..self.auth_value.len().min(255)];
        out.extend_from_slice(&AUTHENTICATION_INDICATOR.to_be_bytes());
        out.push(id.len() as u8);
        out.push(au.len() as u8);
        out.extend_from_slice(id);
        out.extend_from_slice(au);
        out.extend_from_slice(&self.nonce);
        out.push(self.confirmation);
    }
}

impl fmt::Display for Authentication<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Teredo Authentication header, ID-len {}, AU-len {}, nonce {}, confirmation {}",
            self.client_id.len(),
            self.auth_value.len(),
            Hex(&self.nonce),
            self.confirmation
        )
    }
}

/// Origin indication (RFC 4380 §5.1.1): `0x0000 | port XOR 0xFFFF | IPv4 XOR 0xFFFFFFFF`.
/// Fields hold the de-obfuscated values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginIndication {
    /// Frame offset of the indication (0 when built for sending).
    pub offset: usize,
    /// Origin UDP port (de-obfuscated).
    pub port: u16,
    /// Origin IPv4 address (de-obfuscated).
    pub address: Ipv4Addr,
}

impl OriginIndication {
    /// A new indication for sending.
    pub fn new(address: Ipv4Addr, port: u16) -> Self {
        OriginIndication { offset: 0, port, address }
    }
    /// The port as carried on the wire.
    pub fn obfuscated_port(&self) -> u16 {
        self.port ^ 0xffff
    }
    /// The address as carried on the wire.
    pub fn obfuscated_address(&self) -> u32 {
        u32::from(self.address) ^ 0xffff_ffff
    }
    /// The 8 encoded bytes.
    pub fn to_bytes(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[2..4].copy_from_slice(&self.obfuscated_port().to_be_bytes());
        b[4..8].copy_from_slice(&self.obfuscated_address().to_be_bytes());
        b
    }
    /// Append the encoded indication.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }
}

impl fmt::Display for OriginIndication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Teredo Origin Indication header, origin {}:{}", self.address, self.port)
    }
}

/// Lower-case hex without separators.
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

type AuthFields<'a> = (&'a [u8], &'a [u8], [u8; 8], u8);

fn auth_fields(i: &[u8]) -> NomResult<'_, AuthFields<'_>> {
    let (i, _indicator) = be_u16(i)?;
    let (i, id_len) = be_u8(i)?;
    let (i, au_len) = be_u8(i)?;
    let (i, client_id) = take(id_len)(i)?;
    let (i, auth_value) = take(au_len)(i)?;
    let (i, n) = take(8usize)(i)?;
    let (i, confirmation) = be_u8(i)?;
    let mut nonce = [0u8; 8];
    nonce.copy_from_slice(n);
    Ok((i, (client_id, auth_value, nonce, confirmation)))
}

/// Parse an Authentication indicator at `offset` (data starts with `00 01`).
pub fn parse_authentication(
    data: &[u8],
    offset: usize,
    length_from: LengthSource,
) -> Result<Authentication<'_>, DissectError> {
    let l = Layer::Authentication;
    need(l, data, 4, offset, length_from)?;
    let total = AUTHENTICATION_FIXED_LEN + usize::from(data[2]) + usize::from(data[3]);
    need(l, data, total, offset, length_from)?;
    let (_, (client_id, auth_value, nonce, confirmation)) =
        auth_fields(data).map_err(|_| nom_fail(l, total, data, offset, length_from))?;
    Ok(Authentication { offset, client_id, auth_value, nonce, confirmation })
}

fn origin_fields(i: &[u8]) -> NomResult<'_, (u16, u16, u32)> {
    let (i, indicator) = be_u16(i)?;
    let (i, port) = be_u16(i)?;
    let (i, a) = take(4usize)(i)?;
    Ok((i, (indicator, port, u32::from_be_bytes([a[0], a[1], a[2], a[3]]))))
}

/// Parse an Origin indication at `offset` (data starts with `00 00`).
pub fn parse_origin_indication(
    data: &[u8],
    offset: usize,
    length_from: LengthSource,
) -> Result<OriginIndication, DissectError> {
    let l = Layer::OriginIndication;
    need(l, data, ORIGIN_INDICATION_LEN, offset, length_from)?;
    let (_, (_, port, addr)) = origin_fields(data).map_err(|_| nom_fail(l, 8, data, offset, length_from))?;
    Ok(OriginIndication { offset, port: port ^ 0xffff, address: Ipv4Addr::from(addr ^ 0xffff_ffff) })
}

/// The indicators in front of the IPv6 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Indicators<'a> {
    /// Authentication indicator, if present.
    pub auth: Option<Authentication<'a>>,
    /// Origin indication, if present.
    pub origin: Option<OriginIndication>,
    /// Bytes taken by the indicators: the IPv6 packet starts here.
    pub len: usize,
}

/// Parse the indicators at the start of a Teredo UDP payload (RFC 4380 §5.1.1).
/// Returns the indicators decoded and, when the walk failed, the error (the indicators
/// decoded before it are kept).
#[inline]
pub fn parse_indicators(
    data: &[u8],
    offset: usize,
    length_from: LengthSource,
) -> (Indicators<'_>, Option<DissectError>) {
    // Both indicator types (0x0001, 0x0000) start with a zero byte; anything else is the
    // IPv6 packet itself (or not Teredo), which is most packets.
    if data.first().is_some_and(|&b| b != 0) {
        return (Indicators::default(), None);
    }
    walk_indicators(data, offset, length_from)
}

fn walk_indicators(data: &[u8], offset: usize, length_from: LengthSource) -> (Indicators<'_>, Option<DissectError>) {
    let mut ind = Indicators::default();
    loop {
        let rest = &data[ind.len..];
        if rest.len() < 2 {
            if rest == [0] {
                // One byte 0x00: an indicator type cut in half (an IPv6 packet starts 0x6_).
                let e = DissectError::Truncated {
                    layer: Layer::Teredo,
                    needed: 2,
                    available: 1,
                    offset: offset + ind.len,
                    length_from,
                };
                return (ind, Some(e));
            }
            return (ind, None);
        }
        let t = u16::from_be_bytes([rest[0], rest[1]]);
        let at = offset + ind.len;
        match t {
            AUTHENTICATION_INDICATOR => {
                if ind.auth.is_some() || ind.origin.is_some() {
                    let reason = if ind.origin.is_some() {
                        "Authentication indicator after the Origin indication"
                    } else {
                        "second Authentication indicator"
                    };
                    return (
                        ind,
                        Some(DissectError::Malformed {
                            layer: Layer::Teredo,
                            offset: at,
                            field: "indicator_type",
                            value: u64::from(t),
                            reason,
                        }),
                    );
                }
                let a = match parse_authentication(rest, at, length_from) {
                    Ok(a) => a,
                    Err(e) => return (ind, Some(e)),
                };
                ind.len += a.len();
                ind.auth = Some(a);
            }
            ORIGIN_INDICATOR => {
                if ind.origin.is_some() {
                    return (
                        ind,
                        Some(DissectError::Malformed {
                            layer: Layer::Teredo,
                            offset: at,
                            field: "indicator_type",
                            value: u64::from(t),
                            reason: "second Origin indication",
                        }),
                    );
                }
                let o = match parse_origin_indication(rest, at, length_from) {
                    Ok(o) => o,
                    Err(e) => return (ind, Some(e)),
                };
                ind.len += ORIGIN_INDICATION_LEN;
                ind.origin = Some(o);
            }
            _ => return (ind, None),
        }
    }
}

/// An RFC 6081 trailer type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrailerType(pub u8);

impl TrailerType {
    /// Nonce trailer (RFC 6081 §4.2).
    pub const NONCE: TrailerType = TrailerType(0x01);
    /// Random Port, the code RFC 6081 §9's IANA table assigns.
    pub const RANDOM_PORT_IANA: TrailerType = TrailerType(0x02);
    /// Alternate Address trailer (RFC 6081 §4.3).
    pub const ALTERNATE_ADDRESS: TrailerType = TrailerType(0x03);
    /// Neighbor Discovery Option trailer (RFC 6081 §4.4).
    pub const NEIGHBOR_DISCOVERY: TrailerType = TrailerType(0x04);
    /// Random Port trailer, the code RFC 6081 §4.5 gives.
    pub const RANDOM_PORT: TrailerType = TrailerType(0x05);

    /// Name of a defined type.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x01 => "nonce",
            0x02 | 0x05 => "random-port",
            0x03 => "alternate-address",
            0x04 => "neighbor-discovery",
            _ => return None,
        })
    }
    /// RFC 6081 §4.1: an unknown type whose two high-order bits are 01 makes the receiver
    /// discard the packet.
    pub fn must_discard_if_unknown(self) -> bool {
        self.0 >> 6 == 0b01
    }
}

/// Neighbor Discovery Option trailer's DiscoveryType (RFC 6081 §4.4).
pub const TEREDO_DISCOVERY_SOLICITATION: u8 = 0;
/// Neighbor Discovery Option trailer's DiscoveryType (RFC 6081 §4.4).
pub const TEREDO_DISCOVERY_ADVERTISEMENT: u8 = 1;

/// The decoded value of an RFC 6081 trailer (also what [`TrailerValue::emit`] builds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrailerValue {
    /// Nonce trailer: 4-byte nonce.
    Nonce([u8; 4]),
    /// Random Port trailer: predicted external port; `code` is the type seen (0x05 per
    /// §4.5, 0x02 per the §9 IANA table).
    RandomPort {
        /// Type code seen or to send.
        code: u8,
        /// Port.
        port: u16,
    },
    /// Alternate Address trailer: 1..4 (IPv4, port) pairs after 2 reserved bytes.
    AlternateAddress {
        /// Number of valid entries in `addresses`.
        count: u8,
        /// Entries.
        addresses: [(Ipv4Addr, u16); 4],
    },
    /// Neighbor Discovery Option trailer: DiscoveryType (0 solicitation, 1 advertisement).
    NeighborDiscovery {
        /// DiscoveryType byte.
        discovery_type: u8,
    },
    /// A defined type with a length the RFC does not allow (value kept raw in the trailer).
    BadLength,
    /// Unknown type.
    Unknown {
        /// High bits 01: receiver must discard the packet.
        must_discard: bool,
    },
}

impl TrailerValue {
    /// Build an Alternate Address value from up to 4 pairs.
    pub fn alternate_address(pairs: &[(Ipv4Addr, u16)]) -> TrailerValue {
        let mut addresses = [(Ipv4Addr::UNSPECIFIED, 0); 4];
        let n = pairs.len().min(4);
        addresses[..n].copy_from_slice(&pairs[..n]);
        TrailerValue::AlternateAddress { count: n as u8, addresses }
    }
    /// Append the encoded TLV. `BadLength` and `Unknown` emit nothing.
    pub fn emit(&self, out: &mut Vec<u8>) {
        match *self {
            TrailerValue::Nonce(n) => {
                out.extend_from_slice(&[0x01, 4]);
                out.extend_from_slice(&n);
            }
            TrailerValue::RandomPort { code, port } => {
                out.extend_from_slice(&[code, 2]);
                out.extend_from_slice(&port.to_be_bytes());
            }
            TrailerValue::AlternateAddress { count, addresses } => {
                let n = usize::from(count.min(4));
                out.extend_from_slice(&[0x03, (2 + 6 * n) as u8, 0, 0]);
                for (a, p) in &addresses[..n] {
                    out.extend_from_slice(&a.octets());
                    out.extend_from_slice(&p.to_be_bytes());
                }
            }
            TrailerValue::NeighborDiscovery { discovery_type } => {
                out.extend_from_slice(&[0x04, 4, discovery_type, 0, 0, 0]);
            }
            TrailerValue::BadLength | TrailerValue::Unknown { .. } => {}
        }
    }
}

/// One RFC 6081 trailer as found after the IPv6 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer<'a> {
    /// Frame offset of the Type byte.
    pub offset: usize,
    /// Type.
    pub trailer_type: TrailerType,
    /// Value bytes (Length of them).
    pub value: &'a [u8],
    /// Decoded value.
    pub decoded: TrailerValue,
}

impl fmt::Display for Trailer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.decoded {
            TrailerValue::Nonce(n) => write!(f, "nonce trailer {}", Hex(&n)),
            TrailerValue::RandomPort { code, port } => {
                write!(f, "random-port trailer (type 0x{code:02x}) {port}")
            }
            TrailerValue::AlternateAddress { count, addresses } => {
                f.write_str("alternate-address trailer")?;
                for (a, p) in &addresses[..usize::from(count.min(4))] {
                    write!(f, " {a}:{p}")?;
                }
                Ok(())
            }
            TrailerValue::NeighborDiscovery { discovery_type } => write!(
                f,
                "neighbor-discovery trailer {}",
                match discovery_type {
                    TEREDO_DISCOVERY_SOLICITATION => "solicitation",
                    TEREDO_DISCOVERY_ADVERTISEMENT => "advertisement",
                    _ => "unknown discovery type",
                }
            ),
            TrailerValue::BadLength => {
                write!(f, "{} trailer with bad length {}", self.trailer_type.name().unwrap_or("?"), self.value.len())
            }
            TrailerValue::Unknown { must_discard } => write!(
                f,
                "unknown trailer type 0x{:02x} length {}{}",
                self.trailer_type.0,
                self.value.len(),
                if must_discard { " (receiver must discard packet)" } else { "" }
            ),
        }
    }
}

fn decode_trailer_value(t: TrailerType, v: &[u8]) -> TrailerValue {
    match (t.0, v.len()) {
        (0x01, 4) => TrailerValue::Nonce([v[0], v[1], v[2], v[3]]),
        (0x02 | 0x05, 2) => TrailerValue::RandomPort { code: t.0, port: u16::from_be_bytes([v[0], v[1]]) },
        (0x03, 8 | 14 | 20 | 26) => {
            let mut addresses = [(Ipv4Addr::UNSPECIFIED, 0); 4];
            let mut count = 0u8;
            for (k, c) in v[2..].chunks_exact(6).enumerate() {
                addresses[k] = (Ipv4Addr::new(c[0], c[1], c[2], c[3]), u16::from_be_bytes([c[4], c[5]]));
                count += 1;
            }
            TrailerValue::AlternateAddress { count, addresses }
        }
        (0x04, 4) => TrailerValue::NeighborDiscovery { discovery_type: v[0] },
        (0x01..=0x05, _) => TrailerValue::BadLength,
        _ => TrailerValue::Unknown { must_discard: t.must_discard_if_unknown() },
    }
}

/// Capacity of the trailer list of one packet.
pub const MAX_TRAILERS: usize = 8;

/// The RFC 6081 trailers of one packet, walked lazily by [`Trailers::iter`] (like
/// [`super::icmpv6::NdOptions`]): [`parse_trailers`] validates them once and keeps only the
/// bytes and the frame offset, so a packet without trailers costs nothing to hold. At most
/// [`MAX_TRAILERS`] are listed; [`Trailers::overflowed`] says when more were found.
#[derive(Clone, Copy, Default)]
pub struct Trailers<'a> {
    /// Frame offset of the first trailer.
    offset: usize,
    /// The listed trailers, back to back, each complete (`2 + Length` bytes).
    bytes: &'a [u8],
    /// Number of trailers in `bytes`.
    count: u8,
    /// True when trailers after the first [`MAX_TRAILERS`] were not listed.
    overflowed: bool,
}

impl<'a> Trailers<'a> {
    /// The trailers, in order.
    pub fn iter(&self) -> impl Iterator<Item = Trailer<'a>> + 'a {
        let (bytes, base) = (self.bytes, self.offset);
        let mut i = 0usize;
        std::iter::from_fn(move || {
            let rest = bytes.get(i..)?;
            let (&ty, &len) = (rest.first()?, rest.get(1)?);
            let value = rest.get(2..2 + usize::from(len))?;
            let t = TrailerType(ty);
            let tr = Trailer { offset: base + i, trailer_type: t, value, decoded: decode_trailer_value(t, value) };
            i += 2 + value.len();
            Some(tr)
        })
    }
    /// Number of trailers listed.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }
    /// True when there is no trailer.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// Trailer `i`, if any.
    pub fn get(&self, i: usize) -> Option<Trailer<'a>> {
        self.iter().nth(i)
    }
    /// True when more than [`MAX_TRAILERS`] trailers were found (the rest are not listed).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
}

/// Equal when they list the same trailers (at the same offsets) and both overflowed or not.
impl PartialEq for Trailers<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.overflowed == other.overflowed && self.iter().eq(other.iter())
    }
}

impl Eq for Trailers<'_> {}

impl fmt::Debug for Trailers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Bytes after the IPv6 packet that could not be parsed as trailers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unparsed<'a> {
    /// Frame offset of the first unparsed byte.
    pub offset: usize,
    /// The bytes.
    pub bytes: &'a [u8],
}

/// Walk RFC 6081 trailers (RFC 6081 §4.1: `Type (1) | Length (1) | Value`), in order. A trailer
/// with fewer than 2 bytes left or fewer than 2 + Length stops the walk; the bytes from there
/// are returned as unparsed. Unknown types are kept and skipped (high bits 01: flagged as
/// "receiver must discard packet"). Notices go to `notice`. Trailers past the first
/// [`MAX_TRAILERS`] are walked (for their notices) but not listed.
pub fn parse_trailers<'a>(
    data: &'a [u8],
    offset: usize,
    notice: &mut dyn FnMut(Notice),
) -> (Trailers<'a>, Option<Unparsed<'a>>) {
    let mut list = Trailers { offset, bytes: &[], count: 0, overflowed: false };
    let mut i = 0;
    while i < data.len() {
        let rest = &data[i..];
        let at = offset + i;
        if rest.len() < 2 || rest.len() < 2 + usize::from(rest[1]) {
            notice(Notice {
                layer: Layer::Trailer,
                offset: at,
                kind: NoticeKind::UnparsedTrailerBytes { len: rest.len() },
            });
            return (list, Some(Unparsed { offset: at, bytes: rest }));
        }
        let t = TrailerType(rest[0]);
        let len = usize::from(rest[1]);
        match decode_trailer_value(t, &rest[2..2 + len]) {
            TrailerValue::BadLength => notice(Notice {
                layer: Layer::Trailer,
                offset: at,
                kind: NoticeKind::BadTrailerLength { trailer_type: t.0, len: rest[1] },
            }),
            TrailerValue::Unknown { must_discard } => notice(Notice {
                layer: Layer::Trailer,
                offset: at,
                kind: if must_discard {
                    NoticeKind::TrailerMustDiscard { trailer_type: t.0 }
                } else {
                    NoticeKind::UnknownTrailer { trailer_type: t.0 }
                },
            }),
            _ => {}
        }
        i += 2 + len;
        if usize::from(list.count) < MAX_TRAILERS {
            list.count += 1;
            list.bytes = &data[..i];
        } else {
            list.overflowed = true;
            notice(Notice { layer: Layer::Trailer, offset: at, kind: NoticeKind::CapacityExceeded });
        }
    }
    (list, None)
}

/// Build a whole Teredo UDP payload: `[Authentication][Origin indication] IPv6 [trailers]`.
pub fn build_teredo_payload(
    auth: Option<&Authentication<'_>>,
    origin: Option<&OriginIndication>,
    ipv6_packet: &[u8],
    trailers: &[TrailerValue],
    out: &mut Vec<u8>,
) {
    if let Some(a) = auth {
        a.emit(out);
    }
    if let Some(o) = origin {
        o.emit(out);
    }
    out.extend_from_slice(ipv6_packet);
    for t in trailers {
        t.emit(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4380_origin_example() {
        // RFC 4380 §5.1.1: port 337 and address 1.2.3.4 are carried as 0000 FEAE FEFD FCFB.
        let o = OriginIndication::new(Ipv4Addr::new(1, 2, 3, 4), 337);
        assert_eq!(o.to_bytes(), [0x00, 0x00, 0xfe, 0xae, 0xfe, 0xfd, 0xfc, 0xfb]);
        let p = parse_origin_indication(&o.to_bytes(), 42, LengthSource::Snaplen).unwrap();
        assert_eq!((p.port, p.address, p.offset), (337, Ipv4Addr::new(1, 2, 3, 4), 42));
    }

    #[test]
    fn auth_round_trip_with_id_and_value() {
        let a = Authentication {
            offset: 0,
            client_id: b"abc",
            auth_value: b"xy",
            nonce: [1, 2, 3, 4, 5, 6, 7, 8],
            confirmation: 1,
        };
        let mut v = Vec::new();
        a.emit(&mut v);
        assert_eq!(v.len(), 18);
        assert_eq!(&v[..4], &[0, 1, 3, 2]);
        let p = parse_authentication(&v, 0, LengthSource::Snaplen).unwrap();
        assert_eq!(p, a);
        // one byte short
        assert!(matches!(
            parse_authentication(&v[..17], 5, LengthSource::Snaplen),
            Err(DissectError::Truncated { layer: Layer::Authentication, needed: 18, available: 17, offset: 5, .. })
        ));
    }

    #[test]
    fn indicator_order_rules() {
        let a = Authentication::new([9; 8], 0);
        let o = OriginIndication::new(Ipv4Addr::new(192, 0, 2, 1), 3544);
        let mut ok = Vec::new();
        build_teredo_payload(Some(&a), Some(&o), &[0x60, 0, 0, 0], &[], &mut ok);
        let (i, e) = parse_indicators(&ok, 0, LengthSource::Snaplen);
        assert!(e.is_none());
        assert_eq!((i.auth.unwrap().nonce, i.origin.unwrap().port, i.len), ([9; 8], 3544, 21));

        let mut bad = Vec::new();
        o.emit(&mut bad);
        a.emit(&mut bad);
        let (got, e) = parse_indicators(&bad, 100, LengthSource::Snaplen);
        let e = e.unwrap();
        assert!(got.origin.is_some());
        assert!(matches!(e, DissectError::Malformed { offset: 108, field: "indicator_type", value: 1, .. }));

        let mut two = Vec::new();
        o.emit(&mut two);
        o.emit(&mut two);
        let e = parse_indicators(&two, 0, LengthSource::Snaplen).1.unwrap();
        assert!(matches!(e, DissectError::Malformed { reason: "second Origin indication", .. }));

        let mut aa = Vec::new();
        a.emit(&mut aa);
        a.emit(&mut aa);
        let e = parse_indicators(&aa, 0, LengthSource::Snaplen).1.unwrap();
        assert!(matches!(e, DissectError::Malformed { reason: "second Authentication indicator", .. }));

        // lengths past the end: ID-len 200 with 12 bytes
        let short = [0, 1, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let e = parse_indicators(&short, 0, LengthSource::HeaderField("udp.length")).1.unwrap();
        assert!(matches!(e, DissectError::Truncated { needed: 213, available: 12, .. }));
    }

    #[test]
    fn trailers_all_kinds_round_trip() {
        let vals = [
            TrailerValue::Nonce([1, 2, 3, 4]),
            TrailerValue::RandomPort { code: 5, port: 40000 },
            TrailerValue::RandomPort { code: 2, port: 1 },
            TrailerValue::alternate_address(&[
                (Ipv4Addr::new(192, 0, 2, 9), 5000),
                (Ipv4Addr::new(198, 51, 100, 1), 6000),
            ]),
            TrailerValue::NeighborDiscovery { discovery_type: TEREDO_DISCOVERY_ADVERTISEMENT },
        ];
        let mut v = Vec::new();
        for t in &vals {
            t.emit(&mut v);
        }
        assert_eq!(v.len(), 6 + 4 + 4 + 16 + 6);
        let mut notes = Vec::new();
        let (out, un) = parse_trailers(&v, 10, &mut |n| notes.push(n));
        assert!(un.is_none());
        assert!(notes.is_empty());
        let got: Vec<TrailerValue> = out.iter().map(|t| t.decoded).collect();
        assert_eq!(got, vals.to_vec());
        assert_eq!(out.get(1).unwrap().offset, 16);
    }

    #[test]
    fn unknown_and_malformed_trailers() {
        // 0x41: high bits 01 -> must discard; 0x80: skip; then a cut trailer.
        let v = [0x41, 1, 0xaa, 0x80, 0, 0x01, 4, 1, 2];
        let mut notes = Vec::new();
        let (out, un) = parse_trailers(&v, 0, &mut |n| notes.push(n));
        let un = un.unwrap();
        assert_eq!((un.offset, un.bytes.len()), (5, 4));
        assert_eq!(out.len(), 2);
        assert_eq!(out.get(0).unwrap().decoded, TrailerValue::Unknown { must_discard: true });
        assert_eq!(out.get(1).unwrap().decoded, TrailerValue::Unknown { must_discard: false });
        let kinds: Vec<NoticeKind> = notes.iter().map(|n| n.kind).collect();
        assert_eq!(
            kinds,
            vec![
                NoticeKind::TrailerMustDiscard { trailer_type: 0x41 },
                NoticeKind::UnknownTrailer { trailer_type: 0x80 },
                NoticeKind::UnparsedTrailerBytes { len: 4 }
            ]
        );
        // nonce with length 3 is a bad length but the walk goes on
        let v = [0x01, 3, 1, 2, 3, 0x05, 2, 0, 80];
        let (out, un) = parse_trailers(&v, 0, &mut |_| {});
        assert!(un.is_none());
        assert_eq!(out.get(0).unwrap().decoded, TrailerValue::BadLength);
        assert_eq!(out.get(1).unwrap().decoded, TrailerValue::RandomPort { code: 5, port: 80 });
        // the "1234" bytes of zeek's hand-edited bubbles: type '1' (0x31) len '2' (0x32) needs 52 bytes
        let (out, un) = parse_trailers(b"1234", 0, &mut |_| {});
        assert_eq!(un.unwrap().bytes, b"1234");
        assert!(out.is_empty() && out.iter().next().is_none());
    }

    #[test]
    fn more_trailers_than_listed() {
        // ten 6-byte nonce trailers: eight listed, the last two walked for a notice each
        let mut v = Vec::new();
        for k in 0..10u8 {
            TrailerValue::Nonce([k; 4]).emit(&mut v);
        }
        let mut notes = Vec::new();
        let (out, un) = parse_trailers(&v, 100, &mut |n| notes.push(n));
        assert!(un.is_none());
        assert_eq!(out.len(), MAX_TRAILERS);
        assert!(out.overflowed());
        let offsets: Vec<usize> = out.iter().map(|t| t.offset).collect();
        assert_eq!(offsets, (0..8).map(|k| 100 + 6 * k).collect::<Vec<_>>());
        assert_eq!(out.get(7).map(|t| t.decoded), Some(TrailerValue::Nonce([7; 4])));
        assert!(out.get(8).is_none());
        let caps: Vec<(usize, NoticeKind)> = notes.iter().map(|n| (n.offset, n.kind)).collect();
        assert_eq!(caps, vec![(148, NoticeKind::CapacityExceeded), (154, NoticeKind::CapacityExceeded)]);
        // exactly eight: listed, no overflow
        let (out, _) = parse_trailers(&v[..48], 0, &mut |_| panic!("no notice"));
        assert_eq!((out.len(), out.overflowed()), (8, false));
        // equality is by content: no trailer at offset 7 is no trailer at all
        let (none, un) = parse_trailers(&[0x01], 7, &mut |_| {});
        assert!(un.is_some());
        assert_eq!(none, Trailers::default());
        assert_ne!(out, Trailers::default());
    }
}
