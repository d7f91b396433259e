//! Input layout shared by the `dissect` target and the `extract-frames` seed tool.
//!
//! ```text
//! byte 0   link type, as an index into LINKTYPES (modulo its length)
//! byte 1   flags: FLAG_HEURISTIC, FLAG_CUT (orig_len > caplen), FLAG_EXTRA_PORT,
//!          FLAG_FRAGMENTS (the rest is a list of IPv4 fragments, see below)
//! rest     the frame as captured
//! ```
//!
//! With FLAG_FRAGMENTS the rest is a sequence of `[u16 big-endian length][IPv4 packet]`
//! records fed in order to an `Ipv4Reassembler`.
#![allow(dead_code)]

/// Link types reachable from byte 0: every supported one plus one unsupported (147).
pub const LINKTYPES: [u32; 11] = [1, 101, 228, 113, 276, 0, 108, 12, 14, 229, 147];
pub const FLAG_HEURISTIC: u8 = 1;
pub const FLAG_CUT: u8 = 2;
pub const FLAG_EXTRA_PORT: u8 = 4;
pub const FLAG_FRAGMENTS: u8 = 8;

/// Index of `linktype` in [`LINKTYPES`], if present.
pub fn linktype_index(linktype: u32) -> Option<u8> {
    LINKTYPES.iter().position(|&l| l == linktype).map(|i| i as u8)
}
