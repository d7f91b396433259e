//! Prober glue over the shared wire code: which packets the prober sends, and what it needs
//! to know of what comes back.
//!
//! Nothing here encodes or decodes bytes itself. Packets are built with the emit side of
//! [`crate::wire`] (the Authentication indicator, the RS, the echo request, the bubble) and
//! every received datagram goes through the same walk as a captured one,
//! [`dissect_teredo_payload`]; this module only picks the prober's parameters (the RS source
//! address, hop limits) and reads the few facts the prober acts on out of the dissection.

use crate::dissect::{dissect_teredo_payload, MessageType, TeredoPacket, Upper};
use crate::wire::icmpv6::{emit_echo, emit_router_solicitation, Icmpv6Body, NdOption};
use crate::wire::ipv6::{emit_bubble, is_teredo, Ipv6Header};
use crate::wire::teredo::{build_teredo_payload, Authentication, OriginIndication};
use std::net::Ipv6Addr;

/// Hop limit of the echo requests the prober sends (ping(8)'s usual 64).
pub const ECHO_HOP_LIMIT: u8 = 64;
/// Hop limit of the prober's bubbles. RFC 4380 §2.8 leaves it open (miredo sends 0); 255
/// is what a packet that must not be taken for local discovery (hop limit 1, §5.2.8) has.
pub const BUBBLE_HOP_LIMIT: u8 = 255;

/// The RS link-local source. RFC 4380 §5.2.1 lets the client pick it; the cone bit
/// (0x8000 of IID bytes 8-9) asks the server to answer from another address. These are the
/// Windows XP / miredo values (IID "TEREDO").
pub fn rs_source(cone: bool) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, if cone { 0x8000 } else { 0 }, 0x5445, 0x5245, 0x444f)
}

/// The UDP payload of a qualification RS (RFC 4380 §5.2.1): an Authentication indicator
/// with `nonce` (no identifier or value, confirmation 0), then the RS from [`rs_source`] to
/// ff02::2. 61 bytes.
pub fn router_solicitation(cone: bool, nonce: [u8; 8]) -> Vec<u8> {
    let mut rs = Vec::with_capacity(48);
    emit_router_solicitation(rs_source(cone), &mut rs);
    let mut out = Vec::with_capacity(61);
    build_teredo_payload(Some(&Authentication::new(nonce, 0)), None, &rs, &[], &mut out);
    out
}

/// An ICMPv6 Echo Request packet (simple encapsulation: the UDP payload is the IPv6 packet).
pub fn echo_request(src: Ipv6Addr, dst: Ipv6Addr, id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 + data.len());
    emit_echo(false, src, dst, ECHO_HOP_LIMIT, id, seq, data, &mut out);
    out
}

/// A bubble (RFC 4380 §2.8): an IPv6 header with next header 59 and no payload.
pub fn bubble(src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    emit_bubble(src, dst, BUBBLE_HOP_LIMIT).to_vec()
}

/// A received datagram that the shared dissector decoded completely: no layer truncated or
/// malformed, an IPv6 header present, and any ICMPv6 checksum correct.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The dissector's view of the datagram.
    pub packet: TeredoPacket<'a>,
    /// Its IPv6 header.
    pub ipv6: Ipv6Header,
}

/// What the prober reads from a Router Advertisement (RFC 4380 §5.2.1 acceptance rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaInfo {
    /// Prefix Information options with prefix length 64 under a Teredo prefix (2001:0::/32,
    /// or the pre-RFC 3ffe:831f::/32).
    pub teredo_prefixes: Vec<Ipv6Addr>,
    /// Prefix Information options in total (type 3, whatever their length).
    pub prefix_options: usize,
    /// The MTU option, if any.
    pub mtu: Option<u32>,
}

/// Dissect `data` (a Teredo UDP payload) with [`dissect_teredo_payload`] and accept it only
/// when complete and well-formed; the error says what the dissector found.
pub fn parse_datagram(data: &[u8]) -> Result<Received<'_>, String> {
    let d = dissect_teredo_payload(data, 0);
    if let Some(e) = d.errors.iter().next() {
        return Err(e.to_string());
    }
    let packet = d.teredo.ok_or("no Teredo packet")?;
    let ipv6 = packet.ipv6.ok_or("no IPv6 packet")?;
    if packet.icmpv6_checksum_ok == Some(false) {
        return Err("ICMPv6 checksum wrong".into());
    }
    Ok(Received { packet, ipv6 })
}

impl<'a> Received<'a> {
    /// Nonce of the Authentication indicator.
    pub fn nonce(&self) -> Option<[u8; 8]> {
        self.packet.auth.map(|a| a.nonce)
    }
    /// Confirmation byte of the Authentication indicator.
    pub fn confirmation(&self) -> Option<u8> {
        self.packet.auth.map(|a| a.confirmation)
    }
    /// The Origin indication.
    pub fn origin(&self) -> Option<OriginIndication> {
        self.packet.origin
    }
    /// The dissector's message type.
    pub fn message_type(&self) -> MessageType {
        self.packet.message_type
    }
    /// A bubble, direct or indirect (RFC 4380 §2.8).
    pub fn is_bubble(&self) -> bool {
        self.ipv6.is_bubble()
    }
    /// The Router Advertisement's prefixes and MTU, if this is one.
    pub fn router_advertisement(&self) -> Option<RaInfo> {
        let Upper::Icmpv6(m) = self.packet.upper else { return None };
        let Icmpv6Body::RouterAdvertisement { options, .. } = m.body else { return None };
        let mut ra = RaInfo { teredo_prefixes: Vec::new(), prefix_options: 0, mtu: None };
        for (_, o) in options.iter() {
            match o {
                NdOption::PrefixInformation { prefix_len, prefix, .. } => {
                    ra.prefix_options += 1;
                    let old = prefix.segments()[..2] == [0x3ffe, 0x831f];
                    if prefix_len == 64 && (is_teredo(&prefix) || old) {
                        ra.teredo_prefixes.push(prefix);
                    }
                }
                // A type-3 option of another length than 32 bytes is still a prefix option.
                NdOption::Other { option_type: 3, .. } => ra.prefix_options += 1,
                NdOption::Mtu(v) => ra.mtu = Some(v),
                _ => {}
            }
        }
        Some(ra)
    }
    /// The Echo Reply's identifier, sequence number and data, if this is one.
    pub fn echo_reply(&self) -> Option<(u16, u16, &'a [u8])> {
        let Upper::Icmpv6(m) = self.packet.upper else { return None };
        match m.body {
            Icmpv6Body::Echo { identifier, sequence, data } if m.icmp_type.0 == 129 => {
                Some((identifier, sequence, data))
            }
            _ => None,
        }
    }
}

/// One line naming a datagram, for the reasons given for ignored datagrams: the message
/// type and addresses, or why the dissector stopped.
pub fn summary(data: &[u8]) -> String {
    match parse_datagram(data) {
        Err(e) => format!("{} bytes, undecodable: {e}", data.len()),
        Ok(r) => format!("{} {} > {}", r.message_type().as_str(), r.ipv6.src, r.ipv6.dst),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::icmpv6::{emit_icmpv6_packet, emit_router_advertisement, RouterAdvertisementRepr};

    #[test]
    fn rs_is_what_miredo_sends_for_the_cone_test() {
        // PROTOCOL.md §2.2: miredo's precomputed checksum of the cone RS from
        // fe80::8000:5445:5245:444f is 0x125d; the datagram is 13 + 48 bytes.
        let rs = router_solicitation(true, [7; 8]);
        assert_eq!(rs.len(), 61);
        assert_eq!(&rs[13 + 40 + 2..13 + 40 + 4], &[0x12, 0x5d]);
        let r = parse_datagram(&rs).unwrap();
        assert_eq!((r.nonce(), r.confirmation()), (Some([7; 8]), Some(0)));
        assert_eq!(r.message_type(), MessageType::RouterSolicitation);
        assert_eq!((r.ipv6.src, r.ipv6.hop_limit), (rs_source(true), 255));
        let plain = parse_datagram(&router_solicitation(false, [0; 8])).unwrap().ipv6.src;
        assert_eq!(plain.segments()[4], 0, "no cone bit");
    }

    #[test]
    fn echo_and_bubble_read_back() {
        let (s, d): (Ipv6Addr, Ipv6Addr) = ("2001:0:c000:201::1".parse().unwrap(), "2001:db8::1".parse().unwrap());
        let e = echo_request(s, d, 7, 9, b"token123");
        let r = parse_datagram(&e).unwrap();
        assert_eq!(r.message_type(), MessageType::EchoRequest);
        assert_eq!(r.echo_reply(), None, "a request is not a reply");
        let mut reply = Vec::new();
        emit_echo(true, d, s, 64, 7, 9, b"token123", &mut reply);
        assert_eq!(parse_datagram(&reply).unwrap().echo_reply(), Some((7, 9, &b"token123"[..])));
        let b = parse_datagram(&bubble(s, d)).map(|r| (r.is_bubble(), r.message_type())).unwrap();
        assert_eq!(b, (true, MessageType::Bubble));
    }

    fn miredo_ra(nonce: [u8; 8]) -> Vec<u8> {
        let repr = RouterAdvertisementRepr {
            prefix: "2001:0:c000:201::".parse().unwrap(),
            mtu: Some(1280),
            retrans_timer: 2000,
            lifetime: 0xffff_ffff,
        };
        let mut ip = Vec::new();
        emit_router_advertisement("fe80::8000:f227:3fff:fdfe".parse().unwrap(), rs_source(false), &repr, &mut ip);
        let origin = OriginIndication::new("198.51.100.1".parse().unwrap(), 4000);
        let mut d = Vec::new();
        build_teredo_payload(Some(&Authentication::new(nonce, 0)), Some(&origin), &ip, &[], &mut d);
        d
    }

    #[test]
    fn reads_a_miredo_style_ra() {
        let d = miredo_ra([9; 8]);
        assert_eq!(d.len(), 117, "LAB.md: miredo-server's RA is 117 bytes");
        let r = parse_datagram(&d).unwrap();
        assert_eq!(r.nonce(), Some([9; 8]));
        assert_eq!(r.origin().map(|o| (o.address.to_string(), o.port)), Some(("198.51.100.1".into(), 4000)));
        let ra = r.router_advertisement().unwrap();
        assert_eq!(
            ra,
            RaInfo { teredo_prefixes: vec!["2001:0:c000:201::".parse().unwrap()], prefix_options: 1, mtu: Some(1280) }
        );
        // Cut at every length: an error, never a panic, never an RA.
        for n in 0..d.len() {
            assert!(parse_datagram(&d[..n]).is_err(), "cut at {n}");
        }
        // One flipped bit in the ICMPv6 body: the checksum catches it.
        let mut bad = d.clone();
        bad[21 + 40 + 10] ^= 1;
        assert_eq!(parse_datagram(&bad).unwrap_err(), "ICMPv6 checksum wrong");
    }

    #[test]
    fn counts_every_prefix_option() {
        // Two PIOs (one 2001:0::/32, one documentation prefix) and a type-3 option of 16 bytes.
        let mut msg = vec![134, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        for p in ["2001:0:c000:201::", "2001:db8::"] {
            msg.extend_from_slice(&[3, 4, 64, 0x40, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
            msg.extend_from_slice(&p.parse::<Ipv6Addr>().unwrap().octets());
        }
        msg.extend_from_slice(&[3, 2, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut ip = Vec::new();
        emit_icmpv6_packet("fe80::1".parse().unwrap(), rs_source(false), 255, &mut msg, &mut ip);
        let ra = parse_datagram(&ip).unwrap().router_advertisement().unwrap();
        assert_eq!((ra.teredo_prefixes.len(), ra.prefix_options, ra.mtu), (1, 3, None));
    }
}
