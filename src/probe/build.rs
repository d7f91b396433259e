//! What the prober sends and the little it must understand of what comes back.
//!
//! The Teredo indicators come from [`crate::wire::teredo`] (the dissector's own code). The
//! IPv6 header and the ICMPv6 messages the prober needs (RS, RA, echo) are built and read
//! here because the shared `wire::ipv6` / `wire::icmpv6` modules do not exist yet; this file
//! is meant to shrink to calls into them once they do.

use crate::error::LengthSource;
use crate::wire::teredo::{parse_indicators, Authentication, OriginIndication};
use crate::wire::{checksum_add, checksum_finish, ipv6_pseudo_sum};
use std::net::Ipv6Addr;

/// IPv6 next header: ICMPv6.
pub const NEXT_HEADER_ICMPV6: u8 = 58;
/// IPv6 next header: No Next Header (bubbles, RFC 4380 §2.8).
pub const NEXT_HEADER_NONE: u8 = 59;
/// ICMPv6 Router Solicitation (RFC 4861 §4.1).
pub const ICMPV6_RS: u8 = 133;
/// ICMPv6 Router Advertisement (RFC 4861 §4.2).
pub const ICMPV6_RA: u8 = 134;
/// ICMPv6 Echo Request (RFC 4443 §4.1).
pub const ICMPV6_ECHO_REQUEST: u8 = 128;
/// ICMPv6 Echo Reply (RFC 4443 §4.2).
pub const ICMPV6_ECHO_REPLY: u8 = 129;
/// All-routers multicast, the RS destination (RFC 4380 §5.2.1).
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// The RS link-local source. RFC 4380 §5.2.1 lets the client pick it; the cone bit
/// (0x8000 of IID bytes 8-9) asks the server to answer from another address. These are the
/// Windows XP / miredo values (IID "TEREDO").
pub fn rs_source(cone: bool) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, if cone { 0x8000 } else { 0 }, 0x5445, 0x5245, 0x444f)
}

/// A 40-byte IPv6 header (RFC 8200 §3).
pub fn ipv6_header(src: Ipv6Addr, dst: Ipv6Addr, payload_len: u16, next_header: u8, hop_limit: u8) -> [u8; 40] {
    let mut h = [0u8; 40];
    h[0] = 0x60;
    h[4..6].copy_from_slice(&payload_len.to_be_bytes());
    h[6] = next_header;
    h[7] = hop_limit;
    h[8..24].copy_from_slice(&src.octets());
    h[24..40].copy_from_slice(&dst.octets());
    h
}

/// An IPv6 packet carrying `icmp` (type, code, zero checksum, body), with the ICMPv6
/// checksum computed over the pseudo-header (RFC 4443 §2.3).
pub fn ipv6_icmp(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, mut icmp: Vec<u8>) -> Vec<u8> {
    let sum = ipv6_pseudo_sum(&src.octets(), &dst.octets(), icmp.len() as u32, NEXT_HEADER_ICMPV6);
    icmp[2] = 0;
    icmp[3] = 0;
    let c = checksum_finish(checksum_add(sum, &icmp));
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut p = ipv6_header(src, dst, icmp.len() as u16, NEXT_HEADER_ICMPV6, hop_limit).to_vec();
    p.extend_from_slice(&icmp);
    p
}

/// The UDP payload of a qualification RS (RFC 4380 §5.2.1): Authentication indicator with
/// `nonce` (ID-len = AU-len = 0, confirmation 0), IPv6 from [`rs_source`] to ff02::2, hop
/// limit 255, ICMPv6 RS without options. 61 bytes.
pub fn router_solicitation(cone: bool, nonce: [u8; 8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(61);
    Authentication::new(nonce, 0).emit(&mut out);
    out.extend_from_slice(&ipv6_icmp(rs_source(cone), ALL_ROUTERS, 255, vec![ICMPV6_RS, 0, 0, 0, 0, 0, 0, 0]));
    out
}

/// An ICMPv6 Echo Request packet (simple encapsulation: the UDP payload is the IPv6 packet).
pub fn echo_request(src: Ipv6Addr, dst: Ipv6Addr, id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut icmp = vec![ICMPV6_ECHO_REQUEST, 0, 0, 0];
    icmp.extend_from_slice(&id.to_be_bytes());
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(data);
    ipv6_icmp(src, dst, 64, icmp)
}

/// A bubble (RFC 4380 §2.8): an IPv6 header with next header 59 and no payload.
pub fn bubble(src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    ipv6_header(src, dst, 0, NEXT_HEADER_NONE, 255).to_vec()
}

/// What the IPv6 packet inside a received datagram is, as far as the prober cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inner {
    /// ICMPv6 Router Advertisement.
    RouterAdvertisement {
        /// Prefix Information options with prefix length 64 under a Teredo prefix.
        teredo_prefixes: Vec<Ipv6Addr>,
        /// Prefix Information options in total.
        prefix_options: usize,
        /// The MTU option, if any.
        mtu: Option<u32>,
    },
    /// ICMPv6 Echo Reply.
    EchoReply { id: u16, seq: u16, data: Vec<u8> },
    /// ICMPv6 Echo Request.
    EchoRequest { id: u16, seq: u16 },
    /// A bubble.
    Bubble,
    /// Anything else: next header and, for ICMPv6, type.
    Other { next_header: u8, icmp_type: Option<u8> },
}

/// A received Teredo datagram, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Nonce of the Authentication indicator, if present.
    pub nonce: Option<[u8; 8]>,
    /// Confirmation byte of the Authentication indicator.
    pub confirmation: Option<u8>,
    /// Origin indication, if present.
    pub origin: Option<OriginIndication>,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
    pub inner: Inner,
}

fn addr16(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    Ipv6Addr::from(a)
}

/// Decode a Teredo UDP payload: indicators, IPv6 header, then RA / echo / bubble.
/// Every length is checked before it is read; errors say what is wrong.
pub fn parse_datagram(data: &[u8]) -> Result<Received, String> {
    let (ind, err) = parse_indicators(data, 0, LengthSource::Snaplen);
    if let Some(e) = err {
        return Err(format!("indicators: {e}"));
    }
    let ip = &data[ind.len..];
    if ip.len() < 40 {
        return Err(format!("IPv6 header truncated: {} of 40 bytes", ip.len()));
    }
    if ip[0] >> 4 != 6 {
        return Err(format!("IP version {} is not 6", ip[0] >> 4));
    }
    let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    if 40 + plen > ip.len() {
        return Err(format!("IPv6 payload length {plen} exceeds the {} bytes present", ip.len() - 40));
    }
    let next_header = ip[6];
    let payload = &ip[40..40 + plen];
    let inner = match next_header {
        NEXT_HEADER_NONE if plen == 0 => Inner::Bubble,
        NEXT_HEADER_ICMPV6 => parse_icmp(payload)?,
        _ => Inner::Other { next_header, icmp_type: None },
    };
    Ok(Received {
        nonce: ind.auth.map(|a| a.nonce),
        confirmation: ind.auth.map(|a| a.confirmation),
        origin: ind.origin,
        src: addr16(&ip[8..24]),
        dst: addr16(&ip[24..40]),
        hop_limit: ip[7],
        inner,
    })
}

fn parse_icmp(p: &[u8]) -> Result<Inner, String> {
    if p.len() < 4 {
        return Err(format!("ICMPv6 header truncated: {} of 4 bytes", p.len()));
    }
    match p[0] {
        ICMPV6_RA => {
            if p.len() < 16 {
                return Err(format!("Router Advertisement truncated: {} of 16 bytes", p.len()));
            }
            if p[1] != 0 {
                return Err(format!("Router Advertisement code {} is not 0", p[1]));
            }
            let mut teredo_prefixes = Vec::new();
            let mut prefix_options = 0;
            let mut mtu = None;
            let mut opts = &p[16..];
            while !opts.is_empty() {
                if opts.len() < 2 {
                    return Err("ND option truncated".into());
                }
                let len = usize::from(opts[1]) * 8;
                if len == 0 {
                    return Err("ND option with length 0".into());
                }
                if len > opts.len() {
                    return Err(format!("ND option type {} overruns the packet", opts[0]));
                }
                let o = &opts[..len];
                match o[0] {
                    3 => {
                        prefix_options += 1;
                        if len != 32 {
                            return Err(format!("Prefix Information option of {len} bytes"));
                        }
                        let prefix = addr16(&o[16..32]);
                        let b = prefix.octets();
                        let teredo = matches!(u32::from_be_bytes([b[0], b[1], b[2], b[3]]), 0x2001_0000 | 0x3ffe_831f);
                        if o[2] == 64 && teredo {
                            teredo_prefixes.push(prefix);
                        }
                    }
                    5 if len == 8 => mtu = Some(u32::from_be_bytes([o[4], o[5], o[6], o[7]])),
                    _ => {}
                }
                opts = &opts[len..];
            }
            Ok(Inner::RouterAdvertisement { teredo_prefixes, prefix_options, mtu })
        }
        ICMPV6_ECHO_REPLY | ICMPV6_ECHO_REQUEST => {
            if p.len() < 8 {
                return Err(format!("ICMPv6 echo truncated: {} of 8 bytes", p.len()));
            }
            let id = u16::from_be_bytes([p[4], p[5]]);
            let seq = u16::from_be_bytes([p[6], p[7]]);
            Ok(if p[0] == ICMPV6_ECHO_REPLY {
                Inner::EchoReply { id, seq, data: p[8..].to_vec() }
            } else {
                Inner::EchoRequest { id, seq }
            })
        }
        t => Ok(Inner::Other { next_header: NEXT_HEADER_ICMPV6, icmp_type: Some(t) }),
    }
}

/// One line describing a datagram, for `--trace`.
pub fn summary(data: &[u8]) -> String {
    match parse_datagram(data) {
        Err(e) => format!("{} bytes, undecodable: {e}", data.len()),
        Ok(r) => {
            let mut s = String::new();
            if let Some(n) = r.nonce {
                s += &format!("Auth(nonce {}) ", hex(&n));
            }
            if let Some(o) = r.origin {
                s += &format!("Origin({}:{}) ", o.address, o.port);
            }
            s += &format!("IPv6 {} > {} hlim {}: ", r.src, r.dst, r.hop_limit);
            s += &match r.inner {
                Inner::RouterAdvertisement { teredo_prefixes, prefix_options, mtu } => format!(
                    "RA prefixes {:?} ({} PIO) mtu {}",
                    teredo_prefixes,
                    prefix_options,
                    mtu.map_or("-".into(), |m| m.to_string())
                ),
                Inner::EchoReply { id, seq, .. } => format!("echo reply id {id} seq {seq}"),
                Inner::EchoRequest { id, seq } => format!("echo request id {id} seq {seq}"),
                Inner::Bubble => "bubble".into(),
                Inner::Other { next_header, icmp_type } => match icmp_type {
                    Some(t) => format!("ICMPv6 type {t}"),
                    None => format!("next header {next_header}"),
                },
            };
            s
        }
    }
}

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rs_matches_miredo_checksums() {
        // PROTOCOL.md §2.2: miredo's precomputed RS checksums are 0x125d for the cone RS
        // from fe80::8000:5445:5245:444f. Our non-cone source differs from miredo's
        // (fe80::ffff:ffff:ffff), so check it against an independent recomputation instead.
        let rs = router_solicitation(true, [0; 8]);
        assert_eq!(rs.len(), 61);
        assert_eq!(&rs[13 + 40 + 2..13 + 40 + 4], &[0x12, 0x5d]);
        let plain = router_solicitation(false, [0; 8]);
        let ip = &plain[13..];
        let sum = ipv6_pseudo_sum(&ip[8..24].try_into().unwrap(), &ip[24..40].try_into().unwrap(), 8, 58);
        assert_eq!(checksum_finish(checksum_add(sum, &ip[40..])), 0, "checksum verifies to zero");
    }

    #[test]
    fn parses_a_miredo_style_ra() {
        // Shape from LAB.md: auth + origin + IPv6 + RA with one PIO and an MTU option.
        let mut icmp = vec![ICMPV6_RA, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07, 0xd0];
        icmp.extend_from_slice(&[3, 4, 64, 0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        icmp.extend_from_slice(&Ipv6Addr::new(0x2001, 0, 0xc000, 0x0201, 0, 0, 0, 0).octets());
        icmp.extend_from_slice(&[5, 1, 0, 0, 0, 0, 0x05, 0x00]);
        let mut d = Vec::new();
        Authentication::new([9; 8], 0).emit(&mut d);
        OriginIndication::new("198.51.100.1".parse().unwrap(), 4000).emit(&mut d);
        d.extend_from_slice(&ipv6_icmp("fe80::1".parse().unwrap(), rs_source(false), 255, icmp));
        assert_eq!(d.len(), 117, "LAB.md: miredo-server's RA is 117 bytes");
        let r = parse_datagram(&d).unwrap();
        assert_eq!(r.nonce, Some([9; 8]));
        assert_eq!(r.origin.unwrap().port, 4000);
        assert_eq!(
            r.inner,
            Inner::RouterAdvertisement {
                teredo_prefixes: vec!["2001:0:c000:201::".parse().unwrap()],
                prefix_options: 1,
                mtu: Some(1280)
            }
        );
        // Cut at every length: an error, never a panic, and never a "valid" RA.
        for n in 0..d.len() {
            assert!(parse_datagram(&d[..n]).is_err(), "cut at {n}");
        }
    }
}
