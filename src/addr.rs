//! Teredo addresses: RFC 4380 §4, with the flag bits of RFC 5991 §3.
//!
//! ```text
//! bits   0..31  prefix 2001:0000::/32 (legacy 3ffe:831f::/32 before MS06-064)
//!       32..63  Teredo server IPv4
//!       64..79  flags  C R A A A A U G  A A A A A A A A
//!       80..95  mapped UDP port, obfuscated (XOR 0xFFFF)
//!       96..127 mapped IPv4, obfuscated (XOR 0xFFFFFFFF)
//! ```
//!
//! Besides the codec, [`classify`] names what any IPv6 address is, so that a
//! non-Teredo address is described rather than rejected, and [`ipv4_scope`]
//! names the non-global IPv4 ranges an analyst wants flagged.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The Teredo prefix an address was built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TeredoPrefix {
    /// `2001:0000::/32`, assigned by RFC 4380 §2.6.
    Rfc4380,
    /// `3ffe:831f::/32`, the 6bone prefix used by Windows XP and Server 2003
    /// before MS06-064.
    Legacy,
}

impl TeredoPrefix {
    /// The first 32 bits of the prefix.
    pub const fn bits(self) -> u32 {
        match self {
            TeredoPrefix::Rfc4380 => 0x2001_0000,
            TeredoPrefix::Legacy => 0x3ffe_831f,
        }
    }

    /// Text form, `2001::/32` or `3ffe:831f::/32`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TeredoPrefix::Rfc4380 => "2001::/32",
            TeredoPrefix::Legacy => "3ffe:831f::/32",
        }
    }

    /// The prefix whose first 32 bits are `bits`, if any.
    pub const fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            0x2001_0000 => Some(TeredoPrefix::Rfc4380),
            0x3ffe_831f => Some(TeredoPrefix::Legacy),
            _ => None,
        }
    }
}

impl fmt::Display for TeredoPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The 16 flag bits of a Teredo address (RFC 4380 §4, RFC 5991 §3.1):
/// `C R A A A A U G A A A A A A A A`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u16);

impl Flags {
    /// Cone bit: the client believed it was behind a cone NAT (RFC 4380 §4;
    /// deprecated by RFC 5991 §3.2).
    pub const CONE: u16 = 0x8000;
    /// The one reserved bit left by RFC 5991: zero when built, ignored on receipt.
    pub const RESERVED: u16 = 0x4000;
    /// The Modified EUI-64 "universal/local" bit; RFC 4380 §4: UG should be 00.
    pub const U: u16 = 0x0200;
    /// The Modified EUI-64 "individual/group" bit; RFC 4380 §4: UG should be 00.
    pub const G: u16 = 0x0100;
    /// The 12 bits RFC 5991 §3.1 fills with random values (`AAAA` and `AAAAAAAA`).
    pub const RANDOM_MASK: u16 = 0x3CFF;

    pub const fn cone(self) -> bool {
        self.0 & Self::CONE != 0
    }
    pub const fn reserved(self) -> bool {
        self.0 & Self::RESERVED != 0
    }
    pub const fn u(self) -> bool {
        self.0 & Self::U != 0
    }
    pub const fn g(self) -> bool {
        self.0 & Self::G != 0
    }
    /// The 12 random bits, in place (masked with [`Flags::RANDOM_MASK`]).
    pub const fn random_bits(self) -> u16 {
        self.0 & Self::RANDOM_MASK
    }
    /// The 16 bits as `CRAAAAUG AAAAAAAA` text, each bit as 0 or 1.
    pub fn bit_string(self) -> String {
        let mut s = String::with_capacity(17);
        for i in (0..16).rev() {
            s.push(if self.0 >> i & 1 == 1 { '1' } else { '0' });
            if i == 8 {
                s.push(' ');
            }
        }
        s
    }
}

/// A decoded Teredo address. All fields are plain (de-obfuscated) values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TeredoAddress {
    pub prefix: TeredoPrefix,
    /// The client's Teredo server (bits 32..63).
    pub server: Ipv4Addr,
    pub flags: Flags,
    /// The client's external UDP port, as the NAT mapped it.
    pub mapped_port: u16,
    /// The client's external IPv4 address, as the NAT mapped it.
    pub mapped_address: Ipv4Addr,
}

impl TeredoAddress {
    /// Takes a Teredo address apart; `None` when `addr` is not under either
    /// Teredo prefix.
    pub fn decode(addr: Ipv6Addr) -> Option<Self> {
        let b = addr.octets();
        let prefix = TeredoPrefix::from_bits(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))?;
        Some(TeredoAddress {
            prefix,
            server: Ipv4Addr::new(b[4], b[5], b[6], b[7]),
            flags: Flags(u16::from_be_bytes([b[8], b[9]])),
            mapped_port: !u16::from_be_bytes([b[10], b[11]]),
            mapped_address: Ipv4Addr::from(!u32::from_be_bytes([b[12], b[13], b[14], b[15]])),
        })
    }

    /// Builds the IPv6 address (obfuscating port and IPv4).
    pub fn encode(&self) -> Ipv6Addr {
        let mut b = [0u8; 16];
        b[0..4].copy_from_slice(&self.prefix.bits().to_be_bytes());
        b[4..8].copy_from_slice(&self.server.octets());
        b[8..10].copy_from_slice(&self.flags.0.to_be_bytes());
        b[10..12].copy_from_slice(&(!self.mapped_port).to_be_bytes());
        b[12..16].copy_from_slice(&(!u32::from(self.mapped_address)).to_be_bytes());
        Ipv6Addr::from(b)
    }

    /// The obfuscated port exactly as it stands in the address.
    pub fn obfuscated_port(&self) -> u16 {
        !self.mapped_port
    }

    /// The obfuscated IPv4 exactly as it stands in the address.
    pub fn obfuscated_address(&self) -> Ipv4Addr {
        Ipv4Addr::from(!u32::from(self.mapped_address))
    }

    /// What an analyst should know is off about this address: RFC 5991
    /// violations, the legacy prefix, non-global IPv4 addresses, port 0.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.prefix == TeredoPrefix::Legacy {
            w.push(
                "legacy prefix 3ffe:831f::/32 (Windows XP/Server 2003 before MS06-064; 6bone space, not routed)"
                    .to_string(),
            );
        }
        if self.flags.reserved() {
            w.push("R bit (0x4000) set: RFC 5991 §3.1 says it must be zero (ignored on receipt)".to_string());
        }
        if self.flags.u() {
            w.push("U bit (0x0200) set: RFC 4380 §4 says the UG bits should be 00".to_string());
        }
        if self.flags.g() {
            w.push("G bit (0x0100) set: RFC 4380 §4 says the UG bits should be 00".to_string());
        }
        if let Some(scope) = ipv4_scope(self.server) {
            w.push(format!("server {} is not global unicast ({})", self.server, scope.describe()));
        }
        if let Some(scope) = ipv4_scope(self.mapped_address) {
            w.push(format!("mapped address {} is not global unicast ({})", self.mapped_address, scope.describe()));
        }
        if self.mapped_port == 0 {
            w.push("mapped port 0 is not a usable UDP port".to_string());
        }
        w
    }
}

impl fmt::Display for TeredoAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "teredo server {} flags 0x{:04x}{} mapped {}:{}",
            self.server,
            self.flags.0,
            if self.flags.cone() { " (cone)" } else { "" },
            self.mapped_address,
            self.mapped_port
        )
    }
}

/// IPv4 ranges that are not global unicast, named for warnings
/// (RFC 6890 special-purpose registry and friends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv4Scope {
    ThisNetwork,
    Private,
    SharedCgn,
    Loopback,
    LinkLocal,
    IetfProtocol,
    Documentation,
    SixToFourRelay,
    Benchmarking,
    Multicast,
    Reserved,
    Broadcast,
}

impl Ipv4Scope {
    /// A short machine-friendly name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Ipv4Scope::ThisNetwork => "this-network",
            Ipv4Scope::Private => "private",
            Ipv4Scope::SharedCgn => "cgn",
            Ipv4Scope::Loopback => "loopback",
            Ipv4Scope::LinkLocal => "link-local",
            Ipv4Scope::IetfProtocol => "ietf-protocol-assignment",
            Ipv4Scope::Documentation => "documentation",
            Ipv4Scope::SixToFourRelay => "6to4-relay-anycast",
            Ipv4Scope::Benchmarking => "benchmarking",
            Ipv4Scope::Multicast => "multicast",
            Ipv4Scope::Reserved => "reserved",
            Ipv4Scope::Broadcast => "broadcast",
        }
    }

    /// The range and its name, for people.
    pub const fn describe(self) -> &'static str {
        match self {
            Ipv4Scope::ThisNetwork => "0.0.0.0/8, \"this network\"",
            Ipv4Scope::Private => "private, RFC 1918",
            Ipv4Scope::SharedCgn => "100.64.0.0/10, shared address space / CGN, RFC 6598",
            Ipv4Scope::Loopback => "127.0.0.0/8, loopback",
            Ipv4Scope::LinkLocal => "169.254.0.0/16, link-local",
            Ipv4Scope::IetfProtocol => "192.0.0.0/24, IETF protocol assignments",
            Ipv4Scope::Documentation => "documentation, RFC 5737",
            Ipv4Scope::SixToFourRelay => "192.88.99.0/24, 6to4 relay anycast",
            Ipv4Scope::Benchmarking => "198.18.0.0/15, benchmarking",
            Ipv4Scope::Multicast => "224.0.0.0/4, multicast",
            Ipv4Scope::Reserved => "240.0.0.0/4, reserved",
            Ipv4Scope::Broadcast => "255.255.255.255, limited broadcast",
        }
    }
}

/// The special-purpose range `a` falls in, or `None` for global unicast.
pub fn ipv4_scope(a: Ipv4Addr) -> Option<Ipv4Scope> {
    let o = a.octets();
    let v = u32::from(a);
    let in_net = |net: u32, len: u32| v >> (32 - len) == net >> (32 - len);
    Some(match o {
        [255, 255, 255, 255] => Ipv4Scope::Broadcast,
        [0, ..] => Ipv4Scope::ThisNetwork,
        [10, ..] => Ipv4Scope::Private,
        [127, ..] => Ipv4Scope::Loopback,
        [169, 254, ..] => Ipv4Scope::LinkLocal,
        [192, 168, ..] => Ipv4Scope::Private,
        [192, 0, 0, _] => Ipv4Scope::IetfProtocol,
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => Ipv4Scope::Documentation,
        [192, 88, 99, _] => Ipv4Scope::SixToFourRelay,
        _ if in_net(0xAC10_0000, 12) => Ipv4Scope::Private,
        _ if in_net(0x6440_0000, 10) => Ipv4Scope::SharedCgn,
        _ if in_net(0xC612_0000, 15) => Ipv4Scope::Benchmarking,
        _ if in_net(0xE000_0000, 4) => Ipv4Scope::Multicast,
        _ if in_net(0xF000_0000, 4) => Ipv4Scope::Reserved,
        _ => return None,
    })
}

/// What kind of IPv6 address something is, Teredo or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    Teredo(TeredoAddress),
    /// 6to4, 2002::/16 (RFC 3056), with the embedded IPv4 of the site.
    SixToFour(Ipv4Addr),
    /// An ISATAP interface identifier (RFC 5214), `::[02]00:5efe:a.b.c.d`.
    Isatap(Ipv4Addr),
    /// The NAT64 well-known prefix 64:ff9b::/96 (RFC 6052).
    Nat64(Ipv4Addr),
    /// `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2).
    Ipv4Mapped(Ipv4Addr),
    /// `::a.b.c.d`, deprecated IPv4-compatible (RFC 4291 §2.5.5.1).
    Ipv4Compatible(Ipv4Addr),
    Unspecified,
    Loopback,
    LinkLocal,
    /// fec0::/10, deprecated by RFC 3879.
    SiteLocal,
    UniqueLocal,
    Multicast,
    /// 2001:db8::/32 (RFC 3849) and 3fff::/20 (RFC 9637).
    Documentation,
    GlobalUnicast,
    /// Anything else (reserved or unassigned space).
    Other,
}

impl AddressKind {
    /// The `kind` string of JSON output.
    pub const fn as_str(&self) -> &'static str {
        match self {
            AddressKind::Teredo(_) => "teredo",
            AddressKind::SixToFour(_) => "6to4",
            AddressKind::Isatap(_) => "isatap",
            AddressKind::Nat64(_) => "nat64",
            AddressKind::Ipv4Mapped(_) => "ipv4-mapped",
            AddressKind::Ipv4Compatible(_) => "ipv4-compatible",
            AddressKind::Unspecified => "unspecified",
            AddressKind::Loopback => "loopback",
            AddressKind::LinkLocal => "link-local",
            AddressKind::SiteLocal => "site-local",
            AddressKind::UniqueLocal => "unique-local",
            AddressKind::Multicast => "multicast",
            AddressKind::Documentation => "documentation",
            AddressKind::GlobalUnicast => "global-unicast",
            AddressKind::Other => "other",
        }
    }

    /// The IPv4 address embedded in the address, where the kind has one
    /// (for Teredo: the mapped address).
    pub const fn embedded_ipv4(&self) -> Option<Ipv4Addr> {
        match *self {
            AddressKind::Teredo(t) => Some(t.mapped_address),
            AddressKind::SixToFour(a)
            | AddressKind::Isatap(a)
            | AddressKind::Nat64(a)
            | AddressKind::Ipv4Mapped(a)
            | AddressKind::Ipv4Compatible(a) => Some(a),
            _ => None,
        }
    }

    /// A sentence for people.
    pub const fn describe(&self) -> &'static str {
        match self {
            AddressKind::Teredo(_) => "Teredo address (RFC 4380)",
            AddressKind::SixToFour(_) => "6to4 address, 2002::/16 (RFC 3056)",
            AddressKind::Isatap(_) => "ISATAP interface identifier (RFC 5214)",
            AddressKind::Nat64(_) => "NAT64 well-known prefix 64:ff9b::/96 (RFC 6052)",
            AddressKind::Ipv4Mapped(_) => "IPv4-mapped address ::ffff:0:0/96 (RFC 4291)",
            AddressKind::Ipv4Compatible(_) => "IPv4-compatible address ::/96, deprecated (RFC 4291)",
            AddressKind::Unspecified => "unspecified address ::",
            AddressKind::Loopback => "loopback address ::1",
            AddressKind::LinkLocal => "link-local unicast fe80::/10",
            AddressKind::SiteLocal => "site-local fec0::/10, deprecated (RFC 3879)",
            AddressKind::UniqueLocal => "unique local fc00::/7 (RFC 4193)",
            AddressKind::Multicast => "multicast ff00::/8",
            AddressKind::Documentation => "documentation prefix (RFC 3849 / RFC 9637)",
            AddressKind::GlobalUnicast => "global unicast 2000::/3",
            AddressKind::Other => "reserved or unassigned space",
        }
    }
}

/// Names what `addr` is. Teredo (either prefix) wins over everything else.
pub fn classify(addr: Ipv6Addr) -> AddressKind {
    if let Some(t) = TeredoAddress::decode(addr) {
        return AddressKind::Teredo(t);
    }
    let b = addr.octets();
    let s = addr.segments();
    let v4 = Ipv4Addr::new(b[12], b[13], b[14], b[15]);
    if addr.is_unspecified() {
        return AddressKind::Unspecified;
    }
    if addr.is_loopback() {
        return AddressKind::Loopback;
    }
    if b[0] == 0xff {
        return AddressKind::Multicast;
    }
    if s[0..6] == [0, 0, 0, 0, 0, 0xffff] {
        return AddressKind::Ipv4Mapped(v4);
    }
    if s[0..6] == [0, 0, 0, 0, 0, 0] {
        return AddressKind::Ipv4Compatible(v4);
    }
    if s[0..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return AddressKind::Nat64(v4);
    }
    if s[0] == 0x2002 {
        return AddressKind::SixToFour(Ipv4Addr::new(b[2], b[3], b[4], b[5]));
    }
    // ISATAP: an interface identifier of 0000:5efe or 0200:5efe (the u bit
    // may be set for a global IPv4), on any unicast prefix.
    if (s[4] & !0x0200) == 0 && s[5] == 0x5efe {
        return AddressKind::Isatap(v4);
    }
    if s[0] & 0xffc0 == 0xfe80 {
        return AddressKind::LinkLocal;
    }
    if s[0] & 0xffc0 == 0xfec0 {
        return AddressKind::SiteLocal;
    }
    if s[0] & 0xfe00 == 0xfc00 {
        return AddressKind::UniqueLocal;
    }
    if (s[0] == 0x2001 && s[1] == 0x0db8) || s[0] & 0xfff0 == 0x3ff0 {
        return AddressKind::Documentation;
    }
    if s[0] & 0xe000 == 0x2000 {
        return AddressKind::GlobalUnicast;
    }
    AddressKind::Other
}

/// Errors from [`parse_ipv6_token`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrParseError {
    #[error("empty address")]
    Empty,
    #[error("unbalanced brackets")]
    Brackets,
    #[error("bad prefix length {0:?} (expected 0 to 128)")]
    PrefixLen(String),
    #[error("empty zone after '%'")]
    Zone,
    #[error("not an IPv6 address")]
    NotIpv6,
}

/// Parses any textual IPv6 form a user may paste: compressed or full, any
/// case, with an embedded dotted IPv4, in brackets (`[2001::1]`, also
/// `[2001::1]:3544`), with a `/len` suffix or a `%zone`.
pub fn parse_ipv6_token(token: &str) -> Result<Ipv6Addr, AddrParseError> {
    let mut t = token.trim();
    if t.is_empty() {
        return Err(AddrParseError::Empty);
    }
    if let Some(rest) = t.strip_prefix('[') {
        let close = rest.find(']').ok_or(AddrParseError::Brackets)?;
        let after = &rest[close + 1..];
        // Allow `[addr]:port` as URLs and socket addresses write it, and
        // `[addr]/len`.
        if let Some(len) = after.strip_prefix('/') {
            check_prefix_len(len)?;
        } else if !(after.is_empty()
            || after.strip_prefix(':').is_some_and(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit())))
        {
            return Err(AddrParseError::Brackets);
        }
        t = &rest[..close];
    } else if t.contains(']') {
        return Err(AddrParseError::Brackets);
    }
    if let Some((a, len)) = t.split_once('/') {
        check_prefix_len(len)?;
        t = a;
    }
    if let Some((a, zone)) = t.split_once('%') {
        if zone.is_empty() {
            return Err(AddrParseError::Zone);
        }
        t = a;
    }
    t.parse::<Ipv6Addr>().map_err(|_| AddrParseError::NotIpv6)
}

fn check_prefix_len(len: &str) -> Result<(), AddrParseError> {
    match len.parse::<u8>() {
        Ok(n) if n <= 128 && !len.starts_with('+') => Ok(()),
        _ => Err(AddrParseError::PrefixLen(len.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn seed_client_a() {
        let t = TeredoAddress::decode(a("2001:0:ce49:7601:e866:efff:62c3:fffe")).unwrap();
        assert_eq!(t.prefix, TeredoPrefix::Rfc4380);
        assert_eq!(t.server, Ipv4Addr::new(206, 73, 118, 1));
        assert_eq!(t.flags, Flags(0xE866));
        assert!(t.flags.cone());
        assert!(t.flags.reserved());
        assert!(!t.flags.u() && !t.flags.g());
        assert_eq!(t.flags.random_bits(), 0x2866);
        assert_eq!(t.mapped_port, 4096);
        assert_eq!(t.mapped_address, Ipv4Addr::new(157, 60, 0, 1));
        let w = t.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("R bit"));
    }

    #[test]
    fn seed_client_b() {
        let t = TeredoAddress::decode(a("2001::ce49:7601:2cad:dfff:7c94:fffe")).unwrap();
        assert_eq!(t.server, Ipv4Addr::new(206, 73, 118, 1));
        assert!(!t.flags.cone());
        assert_eq!(t.mapped_port, 8192);
        assert_eq!(t.mapped_address, Ipv4Addr::new(131, 107, 0, 1));
        assert!(t.warnings().is_empty());
    }

    #[test]
    fn widely_quoted_example() {
        let t = TeredoAddress::decode(a("2001:0000:4136:e378:8000:63bf:3fff:fdd2")).unwrap();
        assert_eq!(t.server, Ipv4Addr::new(65, 54, 227, 120));
        assert!(t.flags.cone());
        assert_eq!(t.flags.random_bits(), 0);
        assert_eq!(t.mapped_port, 40000);
        assert_eq!(t.mapped_address, Ipv4Addr::new(192, 0, 2, 45));
        // 192.0.2.45 is a documentation address: warned about.
        let w = t.warnings();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("documentation"), "{w:?}");
    }

    #[test]
    fn rfc6081_examples() {
        let t = TeredoAddress::decode(a("2001:0:cb00:7178:0:efff:3fff:fdfe")).unwrap();
        assert_eq!(
            (t.server, t.mapped_port, t.mapped_address),
            (Ipv4Addr::new(203, 0, 113, 120), 4096, Ipv4Addr::new(192, 0, 2, 1))
        );
        let t = TeredoAddress::decode(a("2001:0:c633:6476:0:dfff:3fff:fdf5")).unwrap();
        assert_eq!(
            (t.server, t.mapped_port, t.mapped_address),
            (Ipv4Addr::new(198, 51, 100, 118), 8192, Ipv4Addr::new(192, 0, 2, 10))
        );
    }

    #[test]
    fn legacy_prefix() {
        let t = TeredoAddress::decode(a("3ffe:831f:4136:e378:8000:63bf:3fff:fdd2")).unwrap();
        assert_eq!(t.prefix, TeredoPrefix::Legacy);
        assert_eq!(t.server, Ipv4Addr::new(65, 54, 227, 120));
        assert!(t.warnings().iter().any(|w| w.starts_with("legacy prefix")));
        assert_eq!(t.encode(), a("3ffe:831f:4136:e378:8000:63bf:3fff:fdd2"));
    }

    #[test]
    fn prefix_boundaries() {
        assert!(TeredoAddress::decode(a("2001:0:ffff:ffff:ffff:ffff:ffff:ffff")).is_some());
        assert!(TeredoAddress::decode(a("2001:1::1")).is_none());
        assert!(TeredoAddress::decode(a("2000:ffff:ffff:ffff::")).is_none());
        assert!(TeredoAddress::decode(a("3ffe:831e:ffff::")).is_none());
        assert!(TeredoAddress::decode(a("3ffe:8320::")).is_none());
        // 2001:0::/32 ends where 2001:1:: begins
        assert!(TeredoAddress::decode(a("2001:0:0:0:0:0:0:0")).is_some());
    }

    #[test]
    fn every_flag_bit() {
        for bit in 0..16 {
            let f = Flags(1 << bit);
            let v = 1u16 << bit;
            assert_eq!(f.cone(), v == 0x8000);
            assert_eq!(f.reserved(), v == 0x4000);
            assert_eq!(f.u(), v == 0x0200);
            assert_eq!(f.g(), v == 0x0100);
            assert_eq!(f.random_bits() != 0, v & 0x3CFF != 0);
            let s = f.bit_string();
            assert_eq!(s.len(), 17);
            assert_eq!(s.chars().filter(|&c| c == '1').count(), 1);
            let t = TeredoAddress {
                prefix: TeredoPrefix::Rfc4380,
                server: Ipv4Addr::new(1, 1, 1, 1),
                flags: f,
                mapped_port: 1,
                mapped_address: Ipv4Addr::new(8, 8, 8, 8),
            };
            let warned = t.warnings().len();
            assert_eq!(warned, usize::from(matches!(v, 0x4000 | 0x0200 | 0x0100)), "bit {v:#06x}");
        }
        assert_eq!(Flags::RANDOM_MASK | Flags::CONE | Flags::RESERVED | Flags::U | Flags::G, 0xFFFF);
        assert_eq!(Flags(0xE866).bit_string(), "11101000 01100110");
    }

    #[test]
    fn warnings_name_the_range() {
        let cases = [
            ("10.1.2.3", "RFC 1918"),
            ("172.31.255.255", "RFC 1918"),
            ("192.168.0.1", "RFC 1918"),
            ("127.0.0.1", "loopback"),
            ("169.254.1.1", "link-local"),
            ("100.64.0.1", "CGN"),
            ("224.0.0.253", "multicast"),
            ("0.1.2.3", "this network"),
            ("255.255.255.255", "broadcast"),
            ("198.51.100.7", "documentation"),
            ("240.0.0.1", "reserved"),
        ];
        for (ip, needle) in cases {
            let scope = ipv4_scope(ip.parse().unwrap()).unwrap_or_else(|| panic!("{ip}"));
            assert!(scope.describe().contains(needle), "{ip}: {}", scope.describe());
        }
        for ip in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "172.15.255.255", "198.20.0.1", "223.255.255.255"] {
            assert_eq!(ipv4_scope(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[test]
    fn port_zero_warned() {
        let t = TeredoAddress {
            prefix: TeredoPrefix::Rfc4380,
            server: Ipv4Addr::new(8, 8, 4, 4),
            flags: Flags(0),
            mapped_port: 0,
            mapped_address: Ipv4Addr::new(8, 8, 8, 8),
        };
        assert_eq!(t.warnings(), vec!["mapped port 0 is not a usable UDP port".to_string()]);
        assert_eq!(TeredoAddress::decode(t.encode()), Some(t));
    }

    #[test]
    fn non_teredo_kinds() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("2002:c000:0204::1", "6to4", Some("192.0.2.4")),
            ("fe80::5efe:c000:201", "isatap", Some("192.0.2.1")),
            ("2001:db8::200:5efe:c633:6401", "isatap", Some("198.51.100.1")),
            ("64:ff9b::192.0.2.33", "nat64", Some("192.0.2.33")),
            ("::ffff:1.2.3.4", "ipv4-mapped", Some("1.2.3.4")),
            ("::1.2.3.4", "ipv4-compatible", Some("1.2.3.4")),
            ("fe80::1", "link-local", None),
            ("fd12:3456::1", "unique-local", None),
            ("ff02::1", "multicast", None),
            ("2001:db8::1", "documentation", None),
            ("3fff::1", "documentation", None),
            ("::1", "loopback", None),
            ("::", "unspecified", None),
            ("2a00:1450::1", "global-unicast", None),
            ("fec0::1", "site-local", None),
            ("4000::1", "other", None),
        ];
        for (s, kind, v4) in cases {
            let k = classify(a(s));
            assert_eq!(k.as_str(), *kind, "{s}");
            assert_eq!(k.embedded_ipv4().map(|x| x.to_string()).as_deref(), *v4, "{s}");
        }
    }

    #[test]
    fn token_forms() {
        let want = a("2001:0:4136:e378:8000:63bf:3fff:fdd2");
        for t in [
            "2001:0000:4136:e378:8000:63bf:3fff:fdd2",
            "2001:0:4136:E378:8000:63BF:3FFF:FDD2",
            "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
            "[2001:0:4136:e378:8000:63bf:3fff:fdd2]:3544",
            "[2001:0:4136:e378:8000:63bf:3fff:fdd2]/64",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2/64",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2%eth0",
            "2001:0:4136:e378:8000:63bf:63.255.253.210",
        ] {
            assert_eq!(parse_ipv6_token(t), Ok(want), "{t}");
        }
        assert_eq!(parse_ipv6_token("::ffff:1.2.3.4"), Ok(a("::ffff:102:304")));
        assert_eq!(parse_ipv6_token("fe80::1%3/64"), Ok(a("fe80::1")));
        assert_eq!(parse_ipv6_token("1.2.3.4"), Err(AddrParseError::NotIpv6));
        assert_eq!(parse_ipv6_token("2001::/129"), Err(AddrParseError::PrefixLen("129".into())));
        assert_eq!(parse_ipv6_token("[2001::1"), Err(AddrParseError::Brackets));
        assert_eq!(parse_ipv6_token("2001::1]"), Err(AddrParseError::Brackets));
        assert_eq!(parse_ipv6_token("fe80::1%"), Err(AddrParseError::Zone));
        assert_eq!(parse_ipv6_token("gggg::"), Err(AddrParseError::NotIpv6));
    }
}
