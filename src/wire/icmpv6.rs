//! ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861) messages a Teredo dissector meets:
//! errors (1-4), echo request/reply (128/129), RS/RA (133/134), NS/NA (135/136), and the ND
//! options Source/Target Link-Layer Address (1/2), Prefix Information (3), MTU (5).
//! The checksum covers the IPv6 pseudo-header (RFC 8200 §8.1). Emit helpers build the RS,
//! RA, echo messages the prober and fake servers send (RFC 4380 §5.2.1, §5.3.2, §5.2.9).

use super::ipv4::IpProtocol;
use super::ipv6::Ipv6Header;
use super::{checksum_add, checksum_finish, ipv6_pseudo_sum, need, nom_fail, NomResult};
use crate::error::{DissectError, Layer, LengthSource};
use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, be_u8};
use std::fmt;
use std::net::Ipv6Addr;

/// An ICMPv6 message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Icmpv6Type(pub u8);

impl Icmpv6Type {
    /// Destination Unreachable.
    pub const DESTINATION_UNREACHABLE: Icmpv6Type = Icmpv6Type(1);
    /// Packet Too Big.
    pub const PACKET_TOO_BIG: Icmpv6Type = Icmpv6Type(2);
    /// Time Exceeded.
    pub const TIME_EXCEEDED: Icmpv6Type = Icmpv6Type(3);
    /// Parameter Problem.
    pub const PARAMETER_PROBLEM: Icmpv6Type = Icmpv6Type(4);
    /// Echo Request.
    pub const ECHO_REQUEST: Icmpv6Type = Icmpv6Type(128);
    /// Echo Reply.
    pub const ECHO_REPLY: Icmpv6Type = Icmpv6Type(129);
    /// Router Solicitation.
    pub const ROUTER_SOLICITATION: Icmpv6Type = Icmpv6Type(133);
    /// Router Advertisement.
    pub const ROUTER_ADVERTISEMENT: Icmpv6Type = Icmpv6Type(134);
    /// Neighbor Solicitation.
    pub const NEIGHBOR_SOLICITATION: Icmpv6Type = Icmpv6Type(135);
    /// Neighbor Advertisement.
    pub const NEIGHBOR_ADVERTISEMENT: Icmpv6Type = Icmpv6Type(136);

    /// Name when known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "destination-unreachable",
            2 => "packet-too-big",
            3 => "time-exceeded",
            4 => "parameter-problem",
            128 => "echo-request",
            129 => "echo-reply",
            133 => "router-solicitation",
            134 => "router-advertisement",
            135 => "neighbor-solicitation",
            136 => "neighbor-advertisement",
            137 => "redirect",
            _ => return None,
        })
    }
}

/// ND options area (RFC 4861 §4.6), walked lazily by [`NdOptions::iter`]; validated once at
/// parse time (no zero length, no overrun).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdOptions<'a> {
    /// Frame offset of the first option.
    pub offset: usize,
    /// The option bytes.
    pub bytes: &'a [u8],
}

/// One ND option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdOption<'a> {
    /// Source Link-Layer Address (1).
    SourceLinkLayer(&'a [u8]),
    /// Target Link-Layer Address (2).
    TargetLinkLayer(&'a [u8]),
    /// Prefix Information (3).
    PrefixInformation {
        /// Prefix length.
        prefix_len: u8,
        /// L flag.
        on_link: bool,
        /// A flag.
        autonomous: bool,
        /// Valid lifetime, seconds.
        valid_lifetime: u32,
        /// Preferred lifetime, seconds.
        preferred_lifetime: u32,
        /// Prefix.
        prefix: Ipv6Addr,
    },
    /// MTU (5).
    Mtu(u32),
    /// Anything else.
    Other {
        /// Option type.
        option_type: u8,
        /// Option body after type and length.
        data: &'a [u8],
    },
}

impl<'a> NdOptions<'a> {
    /// Iterate (offset, option) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (usize, NdOption<'a>)> + 'a {
        let bytes = self.bytes;
        let base = self.offset;
        let mut pos = 0usize;
        std::iter::from_fn(move || {
            let rest = bytes.get(pos..)?;
            if rest.len() < 2 || rest[1] == 0 || rest.len() < usize::from(rest[1]) * 8 {
                return None;
            }
            let len = usize::from(rest[1]) * 8;
            let body = &rest[2..len];
            let at = base + pos;
            pos += len;
            let opt = match (rest[0], len) {
                (1, _) => NdOption::SourceLinkLayer(body),
                (2, _) => NdOption::TargetLinkLayer(body),
                (3, 32) => {
                    let mut p = [0u8; 16];
                    p.copy_from_slice(&body[14..30]);
                    NdOption::PrefixInformation {
                        prefix_len: body[0],
                        on_link: body[1] & 0x80 != 0,
                        autonomous: body[1] & 0x40 != 0,
                        valid_lifetime: u32::from_be_bytes([body[2], body[3], body[4], body[5]]),
                        preferred_lifetime: u32::from_be_bytes([body[6], body[7], body[8], body[9]]),
                        prefix: Ipv6Addr::from(p),
                    }
                }
                (5, 8) => NdOption::Mtu(u32::from_be_bytes([body[2], body[3], body[4], body[5]])),
                (t, _) => NdOption::Other { option_type: t, data: body },
            };
            Some((at, opt))
        })
    }
    /// The first Prefix Information option's prefix and length.
    pub fn prefix(&self) -> Option<(Ipv6Addr, u8)> {
        self.iter().find_map(|(_, o)| match o {
            NdOption::PrefixInformation { prefix, prefix_len, .. } => Some((prefix, prefix_len)),
            _ => None,
        })
    }
    /// The MTU option's value.
    pub fn mtu(&self) -> Option<u32> {
        self.iter().find_map(|(_, o)| match o {
            NdOption::Mtu(m) => Some(m),
            _ => None,
        })
    }
}

impl fmt::Display for NdOption<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NdOption::SourceLinkLayer(b) => write!(f, "source link-layer address {}", super::teredo::Hex(b)),
            NdOption::TargetLinkLayer(b) => write!(f, "target link-layer address {}", super::teredo::Hex(b)),
            NdOption::PrefixInformation {
                prefix_len,
                on_link,
                autonomous,
                valid_lifetime,
                preferred_lifetime,
                prefix,
            } => write!(
                f,
                "prefix information {prefix}/{prefix_len} L={} A={} valid {valid_lifetime} preferred {preferred_lifetime}",
                u8::from(*on_link),
                u8::from(*autonomous)
            ),
            NdOption::Mtu(m) => write!(f, "MTU {m}"),
            NdOption::Other { option_type, data } => write!(f, "option {option_type} ({} bytes)", data.len() + 2),
        }
    }
}

/// The type-specific part of an ICMPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv6Body<'a> {
    /// Destination Unreachable, Time Exceeded: the invoking packet.
    Error {
        /// Bytes of the invoking packet.
        invoking: &'a [u8],
    },
    /// Packet Too Big.
    PacketTooBig {
        /// MTU.
        mtu: u32,
        /// Bytes of the invoking packet.
        invoking: &'a [u8],
    },
    /// Parameter Problem.
    ParameterProblem {
        /// Pointer.
        pointer: u32,
        /// Bytes of the invoking packet.
        invoking: &'a [u8],
    },
    /// Echo Request / Reply.
    Echo {
        /// Identifier.
        identifier: u16,
        /// Sequence number.
        sequence: u16,
        /// Data.
        data: &'a [u8],
    },
    /// Router Solicitation.
    RouterSolicitation {
        /// Options.
        options: NdOptions<'a>,
    },
    /// Router Advertisement.
    RouterAdvertisement {
        /// Cur Hop Limit.
        cur_hop_limit: u8,
        /// M/O/... flag byte.
        flags: u8,
        /// Router Lifetime, seconds.
        router_lifetime: u16,
        /// Reachable Time, ms.
        reachable_time: u32,
        /// Retrans Timer, ms.
        retrans_timer: u32,
        /// Options.
        options: NdOptions<'a>,
    },
    /// Neighbor Solicitation / Advertisement.
    Neighbor {
        /// R/S/O flags (NA), 0 for NS.
        flags: u8,
        /// Target address.
        target: Ipv6Addr,
        /// Options.
        options: NdOptions<'a>,
    },
    /// Any other type: the bytes after the 4-byte header.
    Other {
        /// Message body.
        body: &'a [u8],
    },
}

/// A decoded ICMPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmpv6<'a> {
    /// Frame offset.
    pub offset: usize,
    /// Type.
    pub icmp_type: Icmpv6Type,
    /// Code.
    pub code: u8,
    /// Checksum as found.
    pub checksum: u16,
    /// Type-specific part.
    pub body: Icmpv6Body<'a>,
    /// The whole message (for checksum verification).
    pub raw: &'a [u8],
}

impl Icmpv6<'_> {
    /// The checksum the message should carry, given the IPv6 source and destination.
    pub fn expected_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> u16 {
        let ps = ipv6_pseudo_sum(&src.octets(), &dst.octets(), self.raw.len() as u32, 58);
        let mut s = checksum_add(ps, &self.raw[..2]);
        s = checksum_add(s, &self.raw[4..]);
        checksum_finish(s)
    }
}

impl fmt::Display for Icmpv6<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Internet Control Message Protocol v6, ")?;
        match self.icmp_type.name() {
            Some(n) => write!(f, "{n} ({})", self.icmp_type.0)?,
            None => write!(f, "type {}", self.icmp_type.0)?,
        }
        write!(f, " code {}", self.code)?;
        match self.body {
            Icmpv6Body::Echo { identifier, sequence, data } => {
                write!(f, ", id 0x{identifier:04x}, seq {sequence}, {} data bytes", data.len())
            }
            Icmpv6Body::RouterAdvertisement { options, .. } => {
                if let Some((p, l)) = options.prefix() {
                    write!(f, ", prefix {p}/{l}")?;
                }
                if let Some(m) = options.mtu() {
                    write!(f, ", MTU {m}")?;
                }
                Ok(())
            }
            Icmpv6Body::Neighbor { target, .. } => write!(f, ", target {target}"),
            Icmpv6Body::PacketTooBig { mtu, .. } => write!(f, ", MTU {mtu}"),
            _ => Ok(()),
        }
    }
}

fn head(i: &[u8]) -> NomResult<'_, (u8, u8, u16)> {
    let (i, t) = be_u8(i)?;
    let (i, c) = be_u8(i)?;
    let (i, ck) = be_u16(i)?;
    Ok((i, (t, c, ck)))
}

fn ra_fields(i: &[u8]) -> NomResult<'_, (u8, u8, u16, u32, u32)> {
    let (i, chl) = be_u8(i)?;
    let (i, flags) = be_u8(i)?;
    let (i, lifetime) = be_u16(i)?;
    let (i, reachable) = be_u32(i)?;
    let (i, retrans) = be_u32(i)?;
    Ok((i, (chl, flags, lifetime, reachable, retrans)))
}

fn target(i: &[u8]) -> NomResult<'_, (u8, Ipv6Addr)> {
    let (i, flags) = be_u8(i)?;
    let (i, _) = take(3usize)(i)?;
    let (i, t) = take(16usize)(i)?;
    let mut a = [0u8; 16];
    a.copy_from_slice(t);
    Ok((i, (flags, Ipv6Addr::from(a))))
}

fn check_options(bytes: &[u8], offset: usize, length_from: LengthSource) -> Result<NdOptions<'_>, DissectError> {
    let mut pos = 0;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        need(Layer::Icmpv6, rest, 2, offset + pos, length_from)?;
        if rest[1] == 0 {
            return Err(DissectError::Malformed {
                layer: Layer::Icmpv6,
                offset: offset + pos + 1,
                field: "option_length",
                value: 0,
                reason: "ND option length 0 (RFC 4861 §4.6)",
            });
        }
        let len = usize::from(rest[1]) * 8;
        need(Layer::Icmpv6, rest, len, offset + pos, length_from)?;
        pos += len;
    }
    Ok(NdOptions { offset, bytes })
}

/// Parse an ICMPv6 message: `data` is the whole message (the IPv6 upper-layer bytes).
pub fn parse_icmpv6(data: &[u8], offset: usize, length_from: LengthSource) -> Result<Icmpv6<'_>, DissectError> {
    let l = Layer::Icmpv6;
    need(l, data, 4, offset, length_from)?;
    let (rest, (t, code, checksum)) = head(data).map_err(|_| nom_fail(l, 4, data, offset, length_from))?;
    let fixed = |n: usize| need(l, data, 4 + n, offset, length_from);
    let word = |r: &[u8]| u32::from_be_bytes([r[0], r[1], r[2], r[3]]);
    let body = match t {
        1 | 3 => {
            fixed(4)?;
            Icmpv6Body::Error { invoking: &rest[4..] }
        }
        2 => {
            fixed(4)?;
            Icmpv6Body::PacketTooBig { mtu: word(rest), invoking: &rest[4..] }
        }
        4 => {
            fixed(4)?;
            Icmpv6Body::ParameterProblem { pointer: word(rest), invoking: &rest[4..] }
        }
        128 | 129 => {
            fixed(4)?;
            Icmpv6Body::Echo {
                identifier: u16::from_be_bytes([rest[0], rest[1]]),
                sequence: u16::from_be_bytes([rest[2], rest[3]]),
                data: &rest[4..],
            }
        }
        133 => {
            fixed(4)?;
            Icmpv6Body::RouterSolicitation { options: check_options(&rest[4..], offset + 8, length_from)? }
        }
        134 => {
            fixed(12)?;
            let (opts, (cur_hop_limit, flags, router_lifetime, reachable_time, retrans_timer)) =
                ra_fields(rest).map_err(|_| nom_fail(l, 16, data, offset, length_from))?;
            Icmpv6Body::RouterAdvertisement {
                cur_hop_limit,
                flags,
                router_lifetime,
                reachable_time,
                retrans_timer,
                options: check_options(opts, offset + 16, length_from)?,
            }
        }
        135 | 136 => {
            fixed(20)?;
            let (opts, (flags, target)) = target(rest).map_err(|_| nom_fail(l, 24, data, offset, length_from))?;
            Icmpv6Body::Neighbor {
                flags: if t == 136 { flags } else { 0 },
                target,
                options: check_options(opts, offset + 24, length_from)?,
            }
        }
        _ => Icmpv6Body::Other { body: rest },
    };
    Ok(Icmpv6 { offset, icmp_type: Icmpv6Type(t), code, checksum, body, raw: data })
}

/// Append an IPv6 packet carrying the ICMPv6 message `msg` (type, code, checksum, body; at
/// least 4 bytes). The checksum field of `msg` is overwritten with the checksum over the IPv6
/// pseudo-header (RFC 4443 §2.3, RFC 8200 §8.1). The building block of the emit helpers
/// below, public for messages they do not cover (e.g. a test server's hostile RAs).
///
/// # Panics
/// When `msg` is shorter than the 4-byte ICMPv6 header.
pub fn emit_icmpv6_packet(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, msg: &mut [u8], out: &mut Vec<u8>) {
    assert!(msg.len() >= 4, "an ICMPv6 message has a 4-byte header");
    msg[2] = 0;
    msg[3] = 0;
    let ps = ipv6_pseudo_sum(&src.octets(), &dst.octets(), msg.len() as u32, 58);
    let c = checksum_finish(checksum_add(ps, msg));
    msg[2..4].copy_from_slice(&c.to_be_bytes());
    Ipv6Header::new(src, dst, IpProtocol::ICMPV6, msg.len() as u16, hop_limit).emit(out);
    out.extend_from_slice(msg);
}

/// All-routers multicast ff02::2, the RS destination (RFC 4380 §5.2.1).
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// Append a Router Solicitation packet (IPv6 hop limit 255, no options) from `src` to
/// ff02::2, as a Teredo client sends in qualification (RFC 4380 §5.2.1).
pub fn emit_router_solicitation(src: Ipv6Addr, out: &mut Vec<u8>) {
    let mut msg = [133u8, 0, 0, 0, 0, 0, 0, 0];
    emit_icmpv6_packet(src, ALL_ROUTERS, 255, &mut msg, out);
}

/// Parameters of a Router Advertisement as a Teredo server sends it (RFC 4380 §5.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterAdvertisementRepr {
    /// Teredo prefix to advertise (a /64: `2001:0:<server IPv4>::`).
    pub prefix: Ipv6Addr,
    /// MTU option value, if any.
    pub mtu: Option<u32>,
    /// Retrans Timer, ms (miredo-server: 2000).
    pub retrans_timer: u32,
    /// Prefix valid and preferred lifetime.
    pub lifetime: u32,
}

/// Append a Router Advertisement packet (hop limit 255) with a Prefix Information option
/// (/64, A=1, L=0) and optionally an MTU option.
pub fn emit_router_advertisement(src: Ipv6Addr, dst: Ipv6Addr, ra: &RouterAdvertisementRepr, out: &mut Vec<u8>) {
    let mut msg = vec![134u8, 0, 0, 0, 0, 0, 0, 0];
    msg.extend_from_slice(&0u32.to_be_bytes());
    msg.extend_from_slice(&ra.retrans_timer.to_be_bytes());
    msg.extend_from_slice(&[3, 4, 64, 0x40]);
    msg.extend_from_slice(&ra.lifetime.to_be_bytes());
    msg.extend_from_slice(&ra.lifetime.to_be_bytes());
    msg.extend_from_slice(&[0; 4]);
    msg.extend_from_slice(&ra.prefix.octets());
    if let Some(m) = ra.mtu {
        msg.extend_from_slice(&[5, 1, 0, 0]);
        msg.extend_from_slice(&m.to_be_bytes());
    }
    emit_icmpv6_packet(src, dst, 255, &mut msg, out);
}

/// Append an Echo Request (`reply == false`) or Echo Reply packet (RFC 4443 §4.1-4.2).
#[allow(clippy::too_many_arguments)]
pub fn emit_echo(
    reply: bool,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    identifier: u16,
    sequence: u16,
    data: &[u8],
    out: &mut Vec<u8>,
) {
    let mut msg = Vec::with_capacity(8 + data.len());
    msg.extend_from_slice(&[if reply { 129 } else { 128 }, 0, 0, 0]);
    msg.extend_from_slice(&identifier.to_be_bytes());
    msg.extend_from_slice(&sequence.to_be_bytes());
    msg.extend_from_slice(data);
    emit_icmpv6_packet(src, dst, hop_limit, &mut msg, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv6::parse_ipv6_header;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn parse_pkt(p: &[u8]) -> (crate::wire::ipv6::Ipv6Header, Icmpv6<'_>) {
        let h = parse_ipv6_header(p, 0, LengthSource::Snaplen).unwrap();
        let m = parse_icmpv6(&p[40..], 40, LengthSource::Snaplen).unwrap();
        (h, m)
    }

    #[test]
    fn rs_checksums_match_miredo_constants() {
        // miredo's precomputed RS checksums (PROTOCOL.md §2.2): 0x125d cone, 0x7d37 restricted.
        for (src, ck) in [("fe80::8000:5445:5245:444f", 0x125d), ("fe80::ffff:ffff:ffff", 0x7d37)] {
            let mut p = Vec::new();
            emit_router_solicitation(a(src), &mut p);
            assert_eq!(p.len(), 48);
            let (h, m) = parse_pkt(&p);
            assert_eq!((h.hop_limit, h.dst, h.payload_length), (255, ALL_ROUTERS, 8));
            assert_eq!(m.icmp_type, Icmpv6Type::ROUTER_SOLICITATION);
            assert_eq!(m.checksum, ck, "{src}");
            assert_eq!(m.expected_checksum(&h.src, &h.dst), ck);
        }
    }

    #[test]
    fn ra_round_trip() {
        let ra = RouterAdvertisementRepr {
            prefix: a("2001:0:c000:201::"),
            mtu: Some(1280),
            retrans_timer: 2000,
            lifetime: 0xffff_ffff,
        };
        let mut p = Vec::new();
        emit_router_advertisement(a("fe80::8000:f227:3fff:fdfe"), a("fe80::8000:5445:5245:444f"), &ra, &mut p);
        // miredo-server's RA is 117 bytes with 21 bytes of indicators -> 96 bytes of IPv6
        assert_eq!(p.len(), 96);
        let (h, m) = parse_pkt(&p);
        assert_eq!(m.checksum, m.expected_checksum(&h.src, &h.dst));
        match m.body {
            Icmpv6Body::RouterAdvertisement { retrans_timer, options, .. } => {
                assert_eq!(retrans_timer, 2000);
                assert_eq!(options.prefix(), Some((a("2001:0:c000:201::"), 64)));
                assert_eq!(options.mtu(), Some(1280));
                let v: Vec<_> = options.iter().collect();
                assert_eq!(v.len(), 2);
                assert_eq!(v[1].0, 40 + 16 + 32);
                assert!(matches!(v[0].1, NdOption::PrefixInformation { on_link: false, autonomous: true, .. }));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn echo_round_trip_and_bad_checksum() {
        let mut p = Vec::new();
        emit_echo(false, a("2001:0:c000:201::1"), a("2001:db8::1"), 128, 7, 9, b"nonce123", &mut p);
        let (h, m) = parse_pkt(&p);
        assert_eq!(m.body, Icmpv6Body::Echo { identifier: 7, sequence: 9, data: b"nonce123" });
        assert_eq!(m.checksum, m.expected_checksum(&h.src, &h.dst));
        let mut q = p.clone();
        q[47] ^= 1;
        let (h, m) = parse_pkt(&q);
        assert_ne!(m.checksum, m.expected_checksum(&h.src, &h.dst));
    }

    #[test]
    fn generic_icmpv6_packet_round_trip() {
        // An RA with two Prefix Information options, which emit_router_advertisement cannot
        // build: the checksum field (garbage on input) is recomputed and verifies.
        let mut msg = vec![134, 0, 0xde, 0xad, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07, 0xd0];
        for p in ["2001:0:c000:201::", "2001:0:c000:202::"] {
            msg.extend_from_slice(&[3, 4, 64, 0x40, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
            msg.extend_from_slice(&a(p).octets());
        }
        let mut p = vec![0xaa];
        emit_icmpv6_packet(a("fe80::1"), a("fe80::2"), 7, &mut msg, &mut p);
        let (h, m) = parse_pkt(&p[1..]);
        assert_eq!((h.hop_limit, h.payload_length, h.next_header), (7, 80, IpProtocol::ICMPV6));
        assert_ne!(m.checksum, 0xdead);
        assert_eq!(m.checksum, m.expected_checksum(&h.src, &h.dst));
        let Icmpv6Body::RouterAdvertisement { options, .. } = m.body else { panic!("{m:?}") };
        let prefixes: Vec<_> = options
            .iter()
            .filter_map(|(_, o)| match o {
                NdOption::PrefixInformation { prefix, .. } => Some(prefix),
                _ => None,
            })
            .collect();
        assert_eq!(prefixes, [a("2001:0:c000:201::"), a("2001:0:c000:202::")]);
    }

    #[test]
    fn nd_option_errors() {
        // RS with an option of length 0
        let d = [133, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        assert!(matches!(
            parse_icmpv6(&d, 0, LengthSource::Snaplen),
            Err(DissectError::Malformed { field: "option_length", offset: 9, .. })
        ));
        // option overruns
        let d = [133, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0];
        assert!(matches!(
            parse_icmpv6(&d, 0, LengthSource::Snaplen),
            Err(DissectError::Truncated { needed: 16, available: 4, offset: 8, .. })
        ));
        // NA target
        let mut d = vec![136, 0, 0, 0, 0x60, 0, 0, 0];
        d.extend_from_slice(&a("2001:db8::5").octets());
        let m = parse_icmpv6(&d, 0, LengthSource::Snaplen).unwrap();
        assert!(matches!(m.body, Icmpv6Body::Neighbor { flags: 0x60, .. }));
    }
}
