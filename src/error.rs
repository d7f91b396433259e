//! Dissection errors and non-fatal notices.
//!
//! Two kinds of fatal error stop the walk at a layer (the layers decoded before it are kept):
//!
//! * [`DissectError::Truncated`]: the layer needs more bytes than are available. It says how many
//!   were needed and available, at which frame offset, and what bounded the available bytes
//!   ([`LengthSource`]): the end of the captured frame, or an enclosing header's length field.
//! * [`DissectError::Malformed`]: a field holds a value the protocol does not allow.
//!
//! [`Notice`]s are findings that do not stop the walk (bad checksums, length mismatches,
//! unknown RFC 6081 trailers...). Every error and notice carries the layer and the byte offset
//! in the frame.

use std::fmt;

/// A protocol layer, as named in errors, notices and the verbose tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// The link layer (Ethernet, SLL, SLL2, NULL/LOOP, raw).
    Link,
    /// An 802.1Q / 802.1ad VLAN tag.
    Vlan,
    /// The outer IPv4 header.
    Ipv4,
    /// IPv4 fragmentation and reassembly.
    Ipv4Fragment,
    /// ICMPv4 (errors quoting a datagram).
    Icmpv4,
    /// The outer UDP header.
    Udp,
    /// Teredo encapsulation as a whole (RFC 4380 §5.1.1).
    Teredo,
    /// Teredo Authentication indicator (RFC 4380 §5.1.1).
    Authentication,
    /// Teredo Origin indication (RFC 4380 §5.1.1).
    OriginIndication,
    /// The encapsulated IPv6 header.
    Ipv6,
    /// An IPv6 extension header.
    Ipv6Extension,
    /// ICMPv6 inside the Teredo IPv6 packet.
    Icmpv6,
    /// TCP inside the Teredo IPv6 packet.
    Tcp,
    /// UDP inside the Teredo IPv6 packet.
    InnerUdp,
    /// RFC 6081 trailers after the IPv6 packet.
    Trailer,
}

impl Layer {
    /// Short lower-case name, stable for JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Link => "link",
            Layer::Vlan => "vlan",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv4Fragment => "ipv4-fragment",
            Layer::Icmpv4 => "icmpv4",
            Layer::Udp => "udp",
            Layer::Teredo => "teredo",
            Layer::Authentication => "teredo-authentication",
            Layer::OriginIndication => "teredo-origin-indication",
            Layer::Ipv6 => "ipv6",
            Layer::Ipv6Extension => "ipv6-extension",
            Layer::Icmpv6 => "icmpv6",
            Layer::Tcp => "tcp",
            Layer::InnerUdp => "inner-udp",
            Layer::Trailer => "teredo-trailer",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What bounded the bytes available to a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthSource {
    /// The end of the captured frame (snapshot length or the end of the data).
    Snaplen,
    /// An enclosing header's length field, named like `udp.length`.
    HeaderField(&'static str),
}

impl fmt::Display for LengthSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LengthSource::Snaplen => f.write_str("the end of the captured data"),
            LengthSource::HeaderField(name) => write!(f, "the {name} field"),
        }
    }
}

/// A fatal dissection error: the walk stopped at `layer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DissectError {
    /// The layer needs `needed` bytes from `offset` but only `available` are there.
    #[error(
        "{layer} truncated at offset {offset}: needs {needed} bytes, {available} available (limited by {length_from})"
    )]
    Truncated {
        /// Layer that could not be decoded completely.
        layer: Layer,
        /// Bytes the layer needs from `offset`.
        needed: usize,
        /// Bytes available from `offset`.
        available: usize,
        /// Frame offset where the layer starts.
        offset: usize,
        /// What bounded `available`.
        length_from: LengthSource,
    },
    /// A field holds a value the protocol does not allow.
    #[error("{layer} malformed at offset {offset}: {field} = {value}: {reason}")]
    Malformed {
        /// Layer holding the bad field.
        layer: Layer,
        /// Frame offset of the field.
        offset: usize,
        /// Field name.
        field: &'static str,
        /// The bad value.
        value: u64,
        /// Why it is wrong.
        reason: &'static str,
    },
}

impl DissectError {
    /// The layer the error belongs to.
    pub fn layer(&self) -> Layer {
        match self {
            DissectError::Truncated { layer, .. } | DissectError::Malformed { layer, .. } => *layer,
        }
    }
    /// The frame offset the error refers to.
    pub fn offset(&self) -> usize {
        match self {
            DissectError::Truncated { offset, .. } | DissectError::Malformed { offset, .. } => *offset,
        }
    }
    /// True for [`DissectError::Truncated`].
    pub fn is_truncated(&self) -> bool {
        matches!(self, DissectError::Truncated { .. })
    }
}

/// What a non-fatal [`Notice`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// IPv4 header checksum does not verify.
    BadIpv4Checksum {
        /// Checksum in the header.
        found: u16,
        /// Checksum it should hold.
        expected: u16,
    },
    /// UDP checksum (non-zero) does not verify.
    BadUdpChecksum {
        /// Checksum in the header.
        found: u16,
        /// Checksum it should hold.
        expected: u16,
    },
    /// ICMPv4 checksum does not verify.
    BadIcmpv4Checksum {
        /// Checksum in the header.
        found: u16,
        /// Checksum it should hold.
        expected: u16,
    },
    /// ICMPv6 checksum (IPv6 pseudo-header) does not verify.
    BadIcmpv6Checksum {
        /// Checksum in the header.
        found: u16,
        /// Checksum it should hold.
        expected: u16,
    },
    /// UDP length differs from what the IPv4 total length leaves for UDP.
    UdpLengthMismatch {
        /// UDP length field.
        udp_length: u16,
        /// Bytes the IPv4 header gives to UDP.
        ip_payload: usize,
    },
    /// Bytes after the IPv4 total length (Ethernet padding).
    LinkPadding {
        /// Number of padding bytes.
        len: usize,
    },
    /// The IPv4 packet is a fragment; `dissect` does not reassemble.
    Ipv4Fragment {
        /// Fragment offset in bytes.
        offset_bytes: u16,
        /// More-fragments flag.
        more: bool,
    },
    /// A fragment overlaps data already received (reassembly).
    OverlappingFragments,
    /// An RFC 6081 trailer with an unknown type whose high bits are not 01: skipped.
    UnknownTrailer {
        /// Trailer type.
        trailer_type: u8,
    },
    /// An RFC 6081 trailer with an unknown type whose two high bits are 01: the receiver
    /// must discard the packet (RFC 6081 §4.1).
    TrailerMustDiscard {
        /// Trailer type.
        trailer_type: u8,
    },
    /// A known trailer with a length the RFC does not allow.
    BadTrailerLength {
        /// Trailer type.
        trailer_type: u8,
        /// Length found.
        len: u8,
    },
    /// Bytes after the IPv6 packet that do not parse as RFC 6081 trailers.
    UnparsedTrailerBytes {
        /// Number of bytes left.
        len: usize,
    },
    /// More items than the fixed capacity (extension headers, trailers, notices): the rest are
    /// not listed.
    CapacityExceeded,
}

impl fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NoticeKind::BadIpv4Checksum { found, expected } => {
                write!(f, "bad IPv4 header checksum 0x{found:04x} (should be 0x{expected:04x})")
            }
            NoticeKind::BadUdpChecksum { found, expected } => {
                write!(f, "bad UDP checksum 0x{found:04x} (should be 0x{expected:04x})")
            }
            NoticeKind::BadIcmpv4Checksum { found, expected } => {
                write!(f, "bad ICMPv4 checksum 0x{found:04x} (should be 0x{expected:04x})")
            }
            NoticeKind::BadIcmpv6Checksum { found, expected } => {
                write!(f, "bad ICMPv6 checksum 0x{found:04x} (should be 0x{expected:04x})")
            }
            NoticeKind::UdpLengthMismatch { udp_length, ip_payload } => {
                write!(f, "UDP length {udp_length} differs from the {ip_payload} bytes the IPv4 header leaves")
            }
            NoticeKind::LinkPadding { len } => write!(f, "{len} bytes of padding after the IPv4 packet"),
            NoticeKind::Ipv4Fragment { offset_bytes, more } => write!(
                f,
                "IPv4 fragment at offset {offset_bytes}{} (not reassembled here)",
                if more { ", more fragments follow" } else { ", last fragment" }
            ),
            NoticeKind::OverlappingFragments => f.write_str("overlapping IPv4 fragments"),
            NoticeKind::UnknownTrailer { trailer_type } => {
                write!(f, "unknown trailer type 0x{trailer_type:02x} skipped")
            }
            NoticeKind::TrailerMustDiscard { trailer_type } => {
                write!(f, "unknown trailer type 0x{trailer_type:02x}: receiver must discard packet (RFC 6081 §4.1)")
            }
            NoticeKind::BadTrailerLength { trailer_type, len } => {
                write!(f, "trailer type 0x{trailer_type:02x} has length {len}, not allowed by RFC 6081")
            }
            NoticeKind::UnparsedTrailerBytes { len } => {
                write!(f, "{len} unparsed bytes after the IPv6 packet")
            }
            NoticeKind::CapacityExceeded => f.write_str("too many items, the rest are not listed"),
        }
    }
}

/// A non-fatal finding at a layer and frame offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Notice {
    /// Layer concerned.
    pub layer: Layer,
    /// Frame offset of the field or item concerned.
    pub offset: usize,
    /// What was found.
    pub kind: NoticeKind,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}: {}", self.layer, self.offset, self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_sentence_with_layer_and_offset() {
        let e = DissectError::Truncated {
            layer: Layer::Ipv6,
            needed: 40,
            available: 12,
            offset: 54,
            length_from: LengthSource::HeaderField("udp.length"),
        };
        assert_eq!(
            e.to_string(),
            "ipv6 truncated at offset 54: needs 40 bytes, 12 available (limited by the udp.length field)"
        );
        let m =
            DissectError::Malformed { layer: Layer::Ipv6, offset: 42, field: "version", value: 4, reason: "must be 6" };
        assert_eq!(m.to_string(), "ipv6 malformed at offset 42: version = 4: must be 6");
        assert_eq!(m.offset(), 42);
    }
}
