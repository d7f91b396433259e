//! Link layers (tcpdump.org LINKTYPE_ values): Ethernet II with 802.1Q / 802.1ad (QinQ) tags,
//! Linux cooked SLL (113) and SLL2 (276), raw IP (101, 12, 14), LINKTYPE_IPV4 (228),
//! LINKTYPE_IPV6 (229), BSD NULL (0, host byte order) and OpenBSD LOOP (108, network order).

use super::{need, NomResult};
use crate::error::{DissectError, Layer, LengthSource};
use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, be_u8};
use std::fmt;

/// A pcap/pcapng link type number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback, 4-byte address family in host byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP (some BSDs' DLT_RAW value).
    pub const RAW_12: LinkType = LinkType(12);
    /// Raw IP (OpenBSD's DLT_RAW value).
    pub const RAW_14: LinkType = LinkType(14);
    /// Raw IP, version from the first nibble.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback, 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The LINKTYPE_ name, for supported and some common unsupported types.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "NULL",
            1 => "ETHERNET",
            9 => "PPP",
            12 | 14 | 101 => "RAW",
            50 => "PPP_HDLC",
            105 => "IEEE802_11",
            108 => "LOOP",
            113 => "LINUX_SLL",
            117 => "PFLOG",
            127 => "IEEE802_11_RADIOTAP",
            192 => "PPI",
            228 => "IPV4",
            229 => "IPV6",
            276 => "LINUX_SLL2",
            _ => "unknown",
        }
    }
    /// True when [`parse_link`] decodes this link type.
    pub fn is_supported(self) -> bool {
        matches!(self.0, 0 | 1 | 12 | 14 | 101 | 108 | 113 | 228 | 229 | 276)
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LINKTYPE_{} ({})", self.name(), self.0)
    }
}

/// An EtherType / protocol number of the network layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EtherType(pub u16);

impl EtherType {
    /// IPv4.
    pub const IPV4: EtherType = EtherType(0x0800);
    /// ARP.
    pub const ARP: EtherType = EtherType(0x0806);
    /// 802.1Q VLAN tag.
    pub const VLAN: EtherType = EtherType(0x8100);
    /// IPv6.
    pub const IPV6: EtherType = EtherType(0x86dd);
    /// 802.1ad service tag (QinQ).
    pub const QINQ: EtherType = EtherType(0x88a8);
    /// Pre-standard QinQ tag.
    pub const QINQ_9100: EtherType = EtherType(0x9100);

    /// Name when known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            EtherType::IPV4 => "IPv4",
            EtherType::ARP => "ARP",
            EtherType::VLAN => "802.1Q",
            EtherType::IPV6 => "IPv6",
            EtherType::QINQ => "802.1ad",
            EtherType::QINQ_9100 => "QinQ",
            _ => return None,
        })
    }
    fn is_vlan_tag(self) -> bool {
        matches!(self, EtherType::VLAN | EtherType::QINQ | EtherType::QINQ_9100)
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} (0x{:04x})", self.0),
            None => write!(f, "0x{:04x}", self.0),
        }
    }
}

/// One 802.1Q / 802.1ad tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag {
    /// Frame offset of the tag (its TPID).
    pub offset: usize,
    /// Tag protocol identifier (0x8100, 0x88a8, 0x9100).
    pub tpid: u16,
    /// Priority code point.
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier.
    pub vid: u16,
}

/// Most stacked tags [`parse_link`] decodes.
pub const MAX_VLAN_TAGS: usize = 4;

/// The 802.1Q / 802.1ad tags of a frame, outermost first, held as their 4 raw bytes each
/// (TPID, TCI) and decoded by [`VlanTags::iter`]: tags are back to back from the first TPID.
#[derive(Clone, Copy, Default)]
pub struct VlanTags {
    /// `TPID << 16 | TCI` of each tag.
    raw: [u32; MAX_VLAN_TAGS],
    /// Frame offset of the first tag's TPID.
    offset: u16,
    /// Number of tags.
    count: u8,
}

impl VlanTags {
    /// The tags, outermost first.
    pub fn iter(&self) -> impl Iterator<Item = VlanTag> + '_ {
        self.raw[..usize::from(self.count)].iter().enumerate().map(|(i, &r)| {
            let tci = r as u16;
            VlanTag {
                offset: usize::from(self.offset) + 4 * i,
                tpid: (r >> 16) as u16,
                pcp: (tci >> 13) as u8,
                dei: tci & 0x1000 != 0,
                vid: tci & 0x0fff,
            }
        })
    }
    /// Number of tags.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }
    /// True when the frame has no tag.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// Tag `i` (0 is the outermost), if any.
    pub fn get(&self, i: usize) -> Option<VlanTag> {
        self.iter().nth(i)
    }
}

/// Equal when they hold the same tags (at the same offsets).
impl PartialEq for VlanTags {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for VlanTags {}

impl fmt::Debug for VlanTags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The link-layer header proper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkHeader {
    /// Ethernet II.
    Ethernet {
        /// Destination MAC.
        dst: [u8; 6],
        /// Source MAC.
        src: [u8; 6],
    },
    /// Linux cooked v1.
    Sll {
        /// Packet type (0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing).
        packet_type: u16,
        /// ARPHRD_ type.
        arphrd: u16,
        /// Link-layer address length.
        addr_len: u16,
        /// Link-layer address (first 8 bytes).
        addr: [u8; 8],
    },
    /// Linux cooked v2.
    Sll2 {
        /// Interface index.
        if_index: u32,
        /// ARPHRD_ type.
        arphrd: u16,
        /// Packet type.
        packet_type: u8,
        /// Link-layer address length.
        addr_len: u8,
        /// Link-layer address (first 8 bytes).
        addr: [u8; 8],
    },
    /// BSD NULL or OpenBSD LOOP.
    Loopback {
        /// Address family value.
        family: u32,
        /// True when it was read little-endian (NULL from a little-endian host).
        little_endian: bool,
    },
    /// No link header (raw IP).
    Raw,
}

/// A decoded link layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// Link type of the frame.
    pub linktype: LinkType,
    /// Header fields.
    pub header: LinkHeader,
    /// VLAN tags, outermost first.
    pub vlans: VlanTags,
    /// Network protocol carried (address families are mapped to EtherTypes).
    pub ethertype: EtherType,
    /// Length of the link header including tags: the network layer starts here.
    pub header_len: usize,
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.header {
            LinkHeader::Ethernet { dst, src } => write!(f, "Ethernet II, Src: {}, Dst: {}", Mac(src), Mac(dst))?,
            LinkHeader::Sll { packet_type, .. } => write!(f, "Linux cooked capture v1, packet type {packet_type}")?,
            LinkHeader::Sll2 { if_index, packet_type, .. } => {
                write!(f, "Linux cooked capture v2, interface {if_index}, packet type {packet_type}")?
            }
            LinkHeader::Loopback { family, .. } => write!(f, "{}, family {family}", self.linktype)?,
            LinkHeader::Raw => write!(f, "{}", self.linktype)?,
        }
        for t in self.vlans.iter() {
            write!(f, ", VLAN {} (tpid 0x{:04x}, pcp {})", t.vid, t.tpid, t.pcp)?;
        }
        write!(f, ", {}", self.ethertype)
    }
}

/// Formats a MAC address as `aa:bb:cc:dd:ee:ff`.
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

fn addr8(i: &[u8]) -> NomResult<'_, [u8; 8]> {
    let (i, b) = take(8usize)(i)?;
    let mut m = [0u8; 8];
    m.copy_from_slice(b);
    Ok((i, m))
}

fn sll(i: &[u8]) -> NomResult<'_, (LinkHeader, u16)> {
    let (i, packet_type) = be_u16(i)?;
    let (i, arphrd) = be_u16(i)?;
    let (i, addr_len) = be_u16(i)?;
    let (i, addr) = addr8(i)?;
    let (i, proto) = be_u16(i)?;
    Ok((i, (LinkHeader::Sll { packet_type, arphrd, addr_len, addr }, proto)))
}

fn sll2(i: &[u8]) -> NomResult<'_, (LinkHeader, u16)> {
    let (i, proto) = be_u16(i)?;
    let (i, _reserved) = be_u16(i)?;
    let (i, if_index) = be_u32(i)?;
    let (i, arphrd) = be_u16(i)?;
    let (i, packet_type) = be_u8(i)?;
    let (i, addr_len) = be_u8(i)?;
    let (i, addr) = addr8(i)?;
    Ok((i, (LinkHeader::Sll2 { if_index, arphrd, packet_type, addr_len, addr }, proto)))
}

/// Map a BSD address family to the network protocol: 2 is IPv4 everywhere; 24 (NetBSD,
/// OpenBSD), 28 (FreeBSD), 30 (Darwin) and 10 (Linux) are IPv6.
pub fn family_to_ethertype(family: u32) -> EtherType {
    match family {
        2 => EtherType::IPV4,
        10 | 24 | 28 | 30 => EtherType::IPV6,
        // Keep unknown families visible without colliding with a real EtherType.
        other => EtherType(0xff00 | (other as u16 & 0xff)),
    }
}

fn raw_ethertype(first: Option<&u8>) -> EtherType {
    match first.map(|b| b >> 4) {
        Some(6) => EtherType::IPV6,
        _ => EtherType::IPV4,
    }
}

/// Decode the link layer of `frame` for `linktype`.
///
/// Errors: `Malformed { field: "linktype" }` for an unsupported link type, `Truncated` when the
/// frame is shorter than the link header.
#[inline]
pub fn parse_link(frame: &[u8], linktype: u32) -> Result<Link, DissectError> {
    // Untagged Ethernet II, the common case, inline: it runs for every frame.
    if linktype == 1 {
        if let Some(h) = frame.first_chunk::<14>() {
            let ethertype = EtherType(u16::from_be_bytes([h[12], h[13]]));
            if !ethertype.is_vlan_tag() {
                let mac = |b: &[u8]| [b[0], b[1], b[2], b[3], b[4], b[5]];
                return Ok(Link {
                    linktype: LinkType::ETHERNET,
                    header: LinkHeader::Ethernet { dst: mac(&h[0..6]), src: mac(&h[6..12]) },
                    vlans: VlanTags { raw: [0; MAX_VLAN_TAGS], offset: 12, count: 0 },
                    ethertype,
                    header_len: 14,
                });
            }
        }
    }
    parse_link_any(frame, linktype)
}

fn parse_link_any(frame: &[u8], linktype: u32) -> Result<Link, DissectError> {
    let lt = LinkType(linktype);
    let snap = LengthSource::Snaplen;
    let (header, mut ethertype, mut header_len): (LinkHeader, EtherType, usize) = match linktype {
        1 => {
            // The most common link type, read directly (no nom) as it runs for every frame.
            let Some(h) = frame.first_chunk::<14>() else {
                return Err(DissectError::Truncated {
                    layer: Layer::Link,
                    needed: 14,
                    available: frame.len(),
                    offset: 0,
                    length_from: snap,
                });
            };
            let (dst, src, et) = (&h[0..6], &h[6..12], u16::from_be_bytes([h[12], h[13]]));
            let mac = |b: &[u8]| [b[0], b[1], b[2], b[3], b[4], b[5]];
            (LinkHeader::Ethernet { dst: mac(dst), src: mac(src) }, EtherType(et), 14)
        }
        113 => {
            need(Layer::Link, frame, 16, 0, snap)?;
            let (_, (h, p)) = sll(frame).map_err(|_| super::nom_fail(Layer::Link, 16, frame, 0, snap))?;
            (h, EtherType(p), 16)
        }
        276 => {
            need(Layer::Link, frame, 20, 0, snap)?;
            let (_, (h, p)) = sll2(frame).map_err(|_| super::nom_fail(Layer::Link, 20, frame, 0, snap))?;
            (h, EtherType(p), 20)
        }
        0 | 108 => {
            need(Layer::Link, frame, 4, 0, snap)?;
            let b = [frame[0], frame[1], frame[2], frame[3]];
            let be = u32::from_be_bytes(b);
            let le = u32::from_le_bytes(b);
            // LOOP is always network order; NULL is host order, so take the reading that
            // gives a small family number.
            let (family, little_endian) = if linktype == 108 || be <= 0xff { (be, false) } else { (le, true) };
            (LinkHeader::Loopback { family, little_endian }, family_to_ethertype(family), 4)
        }
        12 | 14 | 101 => (LinkHeader::Raw, raw_ethertype(frame.first()), 0),
        228 => (LinkHeader::Raw, EtherType::IPV4, 0),
        229 => (LinkHeader::Raw, EtherType::IPV6, 0),
        _ => {
            return Err(DissectError::Malformed {
                layer: Layer::Link,
                offset: 0,
                field: "linktype",
                value: u64::from(linktype),
                reason: "unsupported link type",
            })
        }
    };
    // The TPID of the first tag sits just before it.
    let mut vlans = VlanTags { raw: [0; MAX_VLAN_TAGS], offset: header_len.saturating_sub(2) as u16, count: 0 };
    if ethertype.is_vlan_tag()
        && matches!(header, LinkHeader::Ethernet { .. } | LinkHeader::Sll { .. } | LinkHeader::Sll2 { .. })
    {
        while ethertype.is_vlan_tag() {
            let off = header_len;
            let rest = frame.get(off..).unwrap_or(&[]);
            need(Layer::Vlan, rest, 4, off, snap)?;
            let tci = u16::from_be_bytes([rest[0], rest[1]]);
            let next = u16::from_be_bytes([rest[2], rest[3]]);
            vlans.raw[usize::from(vlans.count)] = u32::from(ethertype.0) << 16 | u32::from(tci);
            vlans.count += 1;
            ethertype = EtherType(next);
            header_len += 4;
            if vlans.len() >= MAX_VLAN_TAGS && ethertype.is_vlan_tag() {
                return Err(DissectError::Malformed {
                    layer: Layer::Vlan,
                    offset: header_len - 2,
                    field: "tpid",
                    value: u64::from(ethertype.0),
                    reason: "more than 4 stacked VLAN tags",
                });
            }
        }
    }
    Ok(Link { linktype: lt, header, vlans, ethertype, header_len })
}

/// Build an Ethernet II header (used by tests and fake captures).
pub fn emit_ethernet(dst: [u8; 6], src: [u8; 6], ethertype: EtherType, out: &mut Vec<u8>) {
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    out.extend_from_slice(&ethertype.0.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_with_qinq() {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
        f.extend_from_slice(&[0x88, 0xa8, 0x20, 0x64]); // S-tag pcp 1, vid 100
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]); // C-tag vid 10
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45; 20]);
        let l = parse_link(&f, 1).unwrap();
        assert_eq!(l.header_len, 22);
        assert_eq!(l.ethertype, EtherType::IPV4);
        assert_eq!(l.vlans.len(), 2);
        let s = l.vlans.get(0).unwrap();
        assert_eq!((s.tpid, s.pcp, s.vid, s.offset), (0x88a8, 1, 100, 12));
        let c = l.vlans.get(1).unwrap();
        assert_eq!((c.tpid, c.vid, c.offset), (0x8100, 10, 16));
    }

    #[test]
    fn truncated_tag() {
        let mut f = vec![0; 12];
        f.extend_from_slice(&[0x81, 0x00, 0x00]);
        match parse_link(&f, 1) {
            Err(DissectError::Truncated { layer: Layer::Vlan, needed: 4, available: 1, offset: 14, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn null_both_orders_and_loop() {
        let l = parse_link(&[2, 0, 0, 0, 0x45], 0).unwrap();
        assert_eq!(l.ethertype, EtherType::IPV4);
        let l = parse_link(&[0, 0, 0, 30, 0x60], 0).unwrap();
        assert_eq!(l.ethertype, EtherType::IPV6);
        let l = parse_link(&[24, 0, 0, 0, 0x60], 0).unwrap();
        assert_eq!(l.ethertype, EtherType::IPV6);
        let l = parse_link(&[0, 0, 0, 2, 0x45], 108).unwrap();
        assert_eq!((l.ethertype, l.header_len), (EtherType::IPV4, 4));
    }

    #[test]
    fn sll_sll2_raw() {
        let mut s = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        s.push(0x45);
        let l = parse_link(&s, 113).unwrap();
        assert_eq!((l.ethertype, l.header_len), (EtherType::IPV4, 16));
        let mut s2 = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6];
        s2.extend_from_slice(&[0; 8]);
        let l = parse_link(&s2, 276).unwrap();
        assert_eq!((l.ethertype, l.header_len), (EtherType::IPV6, 20));
        assert!(matches!(l.header, LinkHeader::Sll2 { if_index: 3, .. }));
        assert_eq!(parse_link(&[0x60], 101).unwrap().ethertype, EtherType::IPV6);
        assert_eq!(parse_link(&[0x45], 228).unwrap().ethertype, EtherType::IPV4);
    }

    #[test]
    fn unknown_linktype_named() {
        let e = parse_link(&[0; 40], 105).unwrap_err();
        assert!(matches!(e, DissectError::Malformed { value: 105, field: "linktype", .. }));
        assert_eq!(LinkType(105).to_string(), "LINKTYPE_IEEE802_11 (105)");
    }
}
