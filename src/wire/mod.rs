//! Wire formats, one file per layer: borrowed views parsed with nom, and an emit side where
//! the prober needs to build packets.
//!
//! Every `parse_*` function takes the bytes of its layer plus the frame offset where they start
//! (for error reports) and the [`LengthSource`] that bounded them, checks lengths before reading,
//! and returns a borrowed view. Code points are newtypes with named constants so unknown values
//! survive.

pub mod icmpv4;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod link;
pub mod teredo;
pub mod transport;
pub mod udp;

use crate::error::{DissectError, Layer, LengthSource};

/// nom result type used by the field-level parsers.
pub(crate) type NomResult<'a, T> = nom::IResult<&'a [u8], T>;

/// Fail with `Truncated` unless `data` holds at least `needed` bytes.
#[inline]
pub(crate) fn need(
    layer: Layer,
    data: &[u8],
    needed: usize,
    offset: usize,
    length_from: LengthSource,
) -> Result<(), DissectError> {
    if data.len() < needed {
        Err(DissectError::Truncated { layer, needed, available: data.len(), offset, length_from })
    } else {
        Ok(())
    }
}

/// Convert a nom failure that cannot happen after a length check into a truncation report.
#[inline]
pub(crate) fn nom_fail(
    layer: Layer,
    needed: usize,
    data: &[u8],
    offset: usize,
    length_from: LengthSource,
) -> DissectError {
    DissectError::Truncated { layer, needed, available: data.len(), offset, length_from }
}

/// A fixed-capacity list stored inline (no heap), used so that dissecting a packet never
/// allocates. Pushing past the capacity drops the item and sets [`InlineVec::overflowed`].
#[derive(Clone, Copy)]
pub struct InlineVec<T: Copy, const N: usize> {
    items: [Option<T>; N],
    len: usize,
    overflowed: bool,
}

impl<T: Copy, const N: usize> Default for InlineVec<T, N> {
    fn default() -> Self {
        InlineVec { items: [None; N], len: 0, overflowed: false }
    }
}

impl<T: Copy, const N: usize> InlineVec<T, N> {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }
    /// Append; returns false (and remembers it) when full.
    pub fn push(&mut self, item: T) -> bool {
        if self.len < N {
            self.items[self.len] = Some(item);
            self.len += 1;
            true
        } else {
            self.overflowed = true;
            false
        }
    }
    /// Number of items held.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// True when an item was dropped for lack of room.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
    /// Item `i`, if any.
    pub fn get(&self, i: usize) -> Option<&T> {
        self.items.get(i).and_then(|x| x.as_ref())
    }
    /// Last item, if any.
    pub fn last(&self) -> Option<&T> {
        if self.len == 0 {
            None
        } else {
            self.get(self.len - 1)
        }
    }
    /// Iterate over the items.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.items[..self.len].iter().filter_map(|x| x.as_ref())
    }
}

impl<T: Copy + std::fmt::Debug, const N: usize> std::fmt::Debug for InlineVec<T, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Copy + PartialEq, const N: usize> PartialEq for InlineVec<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl<T: Copy + Eq, const N: usize> Eq for InlineVec<T, N> {}

/// Internet checksum (RFC 1071): add `data` as big-endian 16-bit words to `sum`.
///
/// RFC 1071 §2: the one's complement sum is associative (B) and byte-order independent (C),
/// so the data is summed as little-endian 32-bit words into a 64-bit accumulator (a plain
/// load the compiler vectorises, no byte swap per word). Swapping the two bytes of a 16-bit
/// word multiplies it by 256 modulo 0xffff, so the little-endian sum is turned into the
/// big-endian one by swapping the bytes of every 16-bit lane at once. The result is congruent
/// modulo 0xffff to the word-by-word sum, below 2^20, and 0 only when `sum` and every word are
/// 0, so [`checksum_finish`] gives the same value. Every piece but the last of a checksummed
/// area must have an even length, as with a word-by-word sum.
#[inline]
pub fn checksum_add(sum: u32, data: &[u8]) -> u32 {
    let mut acc = 0u64;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        acc += u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    }
    let mut words = chunks.remainder().chunks_exact(2);
    for c in &mut words {
        acc += u64::from(u16::from_le_bytes([c[0], c[1]]));
    }
    if let [last] = words.remainder() {
        // big-endian: the odd byte is the high half of a zero-padded word; little-endian: low
        acc += u64::from(*last);
    }
    let a = (acc >> 32) + (acc & 0xffff_ffff); // < 2^33, same value modulo 0xffff
    let swapped = ((a & 0x00ff_00ff_00ff_00ff) << 8) + ((a >> 8) & 0x00ff_00ff_00ff_00ff); // < 2^34
    let t = u64::from(sum) + swapped; // < 2^35
    ((t >> 16) + (t & 0xffff)) as u32 // < 2^20
}

/// Fold a 32-bit partial sum into the one's complement 16-bit checksum value.
#[inline]
pub fn checksum_finish(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Internet checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    checksum_finish(checksum_add(0, data))
}

/// Partial sum of the IPv6 pseudo-header (RFC 8200 §8.1).
#[inline]
pub fn ipv6_pseudo_sum(src: &[u8; 16], dst: &[u8; 16], upper_len: u32, next_header: u8) -> u32 {
    // The addresses as four 32-bit words each: a 32-bit word is congruent modulo 0xffff to the
    // sum of its two 16-bit halves (2^16 = 1), so no per-word loop is needed.
    let words = |a: &[u8; 16]| {
        let x = u128::from_be_bytes(*a);
        (x >> 96) as u64 + u64::from((x >> 64) as u32) + u64::from((x >> 32) as u32) + u64::from(x as u32)
    };
    let s = words(src) + words(dst) + u64::from(upper_len >> 16) + u64::from(upper_len & 0xffff);
    let s = s + u64::from(next_header); // < 2^36
    let s = (s >> 16) + (s & 0xffff); // < 2^21
    s as u32
}

/// Partial sum of the IPv4 pseudo-header (RFC 768).
#[inline]
pub fn ipv4_pseudo_sum(src: [u8; 4], dst: [u8; 4], protocol: u8, len: u16) -> u32 {
    let w = |a: [u8; 4]| u32::from(u16::from_be_bytes([a[0], a[1]])) + u32::from(u16::from_be_bytes([a[2], a[3]]));
    w(src) + w(dst) + u32::from(protocol) + u32::from(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 numerical example: words 0001 f203 f4f5 f6f7 sum to ddf2 (before complement).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
        // odd length pads with zero
        assert_eq!(checksum(&[0x01]), !0x0100);
    }

    /// Word-by-word reference sum (RFC 1071 §4.1 in Rust, 64-bit so it cannot wrap).
    fn reference_sum(data: &[u8]) -> u16 {
        let mut sum = 0u64;
        for i in (0..data.len()).step_by(2) {
            let hi = u64::from(data[i]) << 8;
            let lo = data.get(i + 1).map_or(0, |&b| u64::from(b));
            sum += hi | lo;
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn checksum_matches_word_by_word_sum() {
        // xorshift bytes, every length 0..=300 and every start offset 0..8, plus all-0 and all-ff
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let data: Vec<u8> = (0..310)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for start in 0..8 {
            for len in 0..=300 {
                let d = &data[start..start + len];
                assert_eq!(checksum(d), reference_sum(d), "start {start} len {len}");
            }
        }
        for fill in [0u8, 0xff] {
            for len in [0, 1, 2, 7, 8, 9, 64, 65535] {
                let d = vec![fill; len];
                assert_eq!(checksum(&d), reference_sum(&d), "fill {fill:#x} len {len}");
            }
        }
        // pieces of even length chain like one area (pseudo-header, header, payload)
        let (a, b) = data.split_at(46);
        assert_eq!(checksum_finish(checksum_add(checksum_add(0, a), b)), reference_sum(&data));
        // a running sum passed in is added, not replaced
        assert_eq!(checksum_finish(checksum_add(0x1_2345, &[])), !0x2346);
    }

    #[test]
    fn pseudo_sums_match_their_definition() {
        // RFC 8200 §8.1 / RFC 768: the pseudo-header laid out in bytes and summed word by word
        let mut x = 0x0123_4567_89ab_cdefu64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..2000 {
            let (a, b) = (next(), next());
            let mut src = [0u8; 16];
            let mut dst = [0u8; 16];
            src[..8].copy_from_slice(&a.to_be_bytes());
            src[8..].copy_from_slice(&b.to_be_bytes());
            dst[..8].copy_from_slice(&b.to_le_bytes());
            dst[8..].copy_from_slice(&next().to_be_bytes());
            if round == 0 {
                (src, dst) = ([0xff; 16], [0xff; 16]);
            }
            let len = (next() as u32) >> (round % 32);
            let nh = next() as u8;
            let mut v6 = Vec::new();
            v6.extend_from_slice(&src);
            v6.extend_from_slice(&dst);
            v6.extend_from_slice(&len.to_be_bytes());
            v6.extend_from_slice(&[0, 0, 0, nh]);
            let payload = [next() as u8, 0x17, 0x42];
            let fast = checksum_finish(checksum_add(ipv6_pseudo_sum(&src, &dst, len, nh), &payload));
            v6.extend_from_slice(&payload);
            assert_eq!(fast, reference_sum(&v6), "ipv6 round {round}");

            let (s4, d4) = ([src[0], src[1], src[2], src[3]], [dst[0], dst[1], dst[2], dst[3]]);
            let len4 = len as u16;
            let v4 = [s4[0], s4[1], s4[2], s4[3], d4[0], d4[1], d4[2], d4[3], 0, nh, (len4 >> 8) as u8, len4 as u8];
            let fast4 = checksum_finish(checksum_add(ipv4_pseudo_sum(s4, d4, nh, len4), &payload));
            let mut r4 = v4.to_vec();
            r4.extend_from_slice(&payload);
            assert_eq!(fast4, reference_sum(&r4), "ipv4 round {round}");
        }
    }

    #[test]
    fn inline_vec_caps() {
        let mut v: InlineVec<u8, 2> = InlineVec::new();
        assert!(v.push(1));
        assert!(v.push(2));
        assert!(!v.push(3));
        assert!(v.overflowed());
        assert_eq!(v.iter().copied().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(v.last(), Some(&2));
    }
}
