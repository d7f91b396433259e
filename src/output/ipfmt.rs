//! Fast RFC 5952 text for IPv6 addresses in JSON. `Ipv6Addr`'s `Display`
//! goes through the formatting machinery digit group by digit group, which
//! made address text a quarter of the cost of an NDJSON line; this writes
//! the same text into a stack buffer.
//!
//! The `push_*` functions append the same text as `Display` (IPv4, IPv6,
//! `IPV4:PORT`, decimal numbers, lower-case hex bytes) to a byte buffer, for
//! the analysis report's JSON and tables, which print hundreds of thousands
//! of addresses and frame numbers.

use serde::{Serialize, Serializer};
use std::net::Ipv6Addr;

/// Serialises as the same text as `Ipv6Addr`'s `Display` (RFC 5952).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Text(pub Ipv6Addr);

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Bytes [`format`] may touch: 39 of text, and up to 3 past it (each group is written as 4
/// bytes, the next overwrites what is beyond the digits).
const V6_ROOM: usize = 42;

/// "00" to "ff", two hex digits for each byte value.
const HEX_PAIRS: [u8; 512] = {
    let mut t = [0u8; 512];
    let mut i = 0;
    while i < 256 {
        t[2 * i] = HEX[i >> 4];
        t[2 * i + 1] = HEX[i & 0xf];
        i += 1;
    }
    t
};

/// Writes `a` at the start of `buf` (at least [`V6_ROOM`] bytes) and returns the length, or
/// `None` for the IPv4-mapped form, which `Display` writes with a dotted quad.
fn format(a: &Ipv6Addr, buf: &mut [u8]) -> Option<usize> {
    let s = a.segments();
    if s[0..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff {
        return None;
    }
    // Longest run of two or more zero groups (the first one on a tie); most addresses have
    // no two zero groups side by side.
    let zeros = s.iter().enumerate().fold(0u32, |m, (i, &g)| m | u32::from(g == 0) << i);
    let (mut best_start, mut best_len) = (usize::MAX, 0);
    if zeros & (zeros >> 1) != 0 {
        let mut i = 0;
        while i < 8 {
            if s[i] == 0 {
                let start = i;
                while i < 8 && s[i] == 0 {
                    i += 1;
                }
                if i - start > best_len && i - start >= 2 {
                    best_start = start;
                    best_len = i - start;
                }
            } else {
                i += 1;
            }
        }
    }
    let mut n = 0;
    let mut g = 0;
    while g < 8 {
        if g == best_start {
            buf[n] = b':';
            buf[n + 1] = b':';
            n += 2;
            g += best_len;
            continue;
        }
        if g > 0 && g != best_start + best_len {
            buf[n] = b':';
            n += 1;
        }
        // The group's four hex digits as one word, shifted so that its leading zero digits
        // (all but the last) drop out; written whole, advanced by the digits kept.
        let v = s[g];
        let (hi, lo) = (usize::from(v >> 8) * 2, usize::from(v & 0xff) * 2);
        let word = u32::from_le_bytes([HEX_PAIRS[hi], HEX_PAIRS[hi + 1], HEX_PAIRS[lo], HEX_PAIRS[lo + 1]]);
        let len = (19 - (v | 1).leading_zeros() as usize) / 4;
        buf[n..n + 4].copy_from_slice(&(word >> (8 * (4 - len))).to_le_bytes());
        n += len;
        g += 1;
    }
    Some(n)
}

/// Appends the `Display` text of `a` (RFC 5952) to `out`.
pub fn push_ipv6(out: &mut Vec<u8>, a: &Ipv6Addr) {
    // fixed-size append, text written in place, cut to length (see `push_u64`)
    let len = out.len();
    out.extend_from_slice(&[0u8; V6_ROOM]);
    let n = format(a, &mut out[len..]);
    out.truncate(len + n.unwrap_or(0));
    if n.is_none() {
        use std::io::Write as _;
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{a}");
    }
}

/// The text of values written recently, for output that writes the same few values again
/// and again (a report names the same clients, servers and step names in tens of thousands
/// of processes): 2^`bits` slots (256 by default), a value in the one its hash picks, its
/// text kept when at most `N` bytes (`N` < 256).
#[derive(Debug, Clone)]
pub struct TextMemo<K, const N: usize> {
    /// Key, length of its text (0: none yet), text.
    slots: Vec<(K, u8, [u8; N])>,
    /// 64 - bits
    shift: u32,
}

impl<K: Copy + Default + PartialEq, const N: usize> Default for TextMemo<K, N> {
    fn default() -> Self {
        Self::with_slots(8)
    }
}

impl<K: Copy + Default + PartialEq, const N: usize> TextMemo<K, N> {
    /// A memo of 2^`bits` slots (`bits` from 1 to 16).
    pub fn with_slots(bits: u32) -> Self {
        let bits = bits.clamp(1, 16);
        TextMemo { slots: vec![(K::default(), 0, [0; N]); 1 << bits], shift: 64 - bits }
    }
}

impl<K: Copy + PartialEq, const N: usize> TextMemo<K, N> {
    /// Appends the text of the value `key` stands for to `out`: kept from before, or appended
    /// by `write` (and kept). `hash` spreads the keys over the slots.
    pub fn push(&mut self, out: &mut Vec<u8>, key: K, hash: u64, write: impl FnOnce(&mut Vec<u8>)) {
        let (k, n, text) = &mut self.slots[(hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize];
        let start = out.len();
        if *n > 0 && *k == key {
            // fixed-size append, cut to length (see `push_u64`)
            out.extend_from_slice(text);
            out.truncate(start + usize::from(*n));
        } else {
            write(out);
            let new = &out[start..];
            if (1..=N.min(255)).contains(&new.len()) {
                text[..new.len()].copy_from_slice(new);
                (*k, *n) = (key, new.len() as u8);
            }
        }
    }
}

/// IPv6 addresses' text ([`push_ipv6`]) kept in a [`TextMemo`].
pub type Ipv6Memo = TextMemo<u128, 40>;

impl Ipv6Memo {
    /// Appends the `Display` text of `a` (RFC 5952) to `out`, as [`push_ipv6`].
    pub fn push_ipv6(&mut self, out: &mut Vec<u8>, a: &Ipv6Addr) {
        let bits = a.to_bits();
        self.push(out, bits, (bits as u64) ^ ((bits >> 64) as u64), |out| push_ipv6(out, a));
    }
}

/// `IPV4:PORT` text ([`push_ipv4_port`]) kept in a [`TextMemo`].
pub type SockMemo = TextMemo<u64, 24>;

impl SockMemo {
    /// Appends `IPV4:PORT` (as `SocketAddrV4`'s `Display`) to `out`, as [`push_ipv4_port`].
    pub fn push_ipv4_port(&mut self, out: &mut Vec<u8>, a: std::net::Ipv4Addr, port: u16) {
        let key = u64::from(a.to_bits()) << 16 | u64::from(port);
        self.push(out, key, key, |out| push_ipv4_port(out, a, port));
    }
}

/// Appends the `Display` text of `a` (dotted quad) to `out`.
pub fn push_ipv4(out: &mut Vec<u8>, a: std::net::Ipv4Addr) {
    // fixed-size append, text written in place, cut to length (see `push_u64`)
    let len = out.len();
    out.extend_from_slice(&[0u8; 15]);
    let n = format_ipv4(a, &mut out[len..]);
    out.truncate(len + n);
}

/// Appends `IPV4:PORT` (as `SocketAddrV4`'s `Display`) to `out`.
pub fn push_ipv4_port(out: &mut Vec<u8>, a: std::net::Ipv4Addr, port: u16) {
    let len = out.len();
    out.extend_from_slice(&[0u8; 21]);
    let b = &mut out[len..];
    let n = format_ipv4(a, b);
    b[n] = b':';
    let m = n + 1 + format_u64(u64::from(port), &mut b[n + 1..]);
    out.truncate(len + m);
}

/// Appends the decimal digits of `v` to `out`.
#[inline]
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    let len = out.len();
    let n = digits(v);
    if v < 100_000_000 {
        // Eight digits (leading zeros included) as one word, shifted so that the leading
        // zeros drop out, appended whole and cut to length.
        let (high, low) = ((v / 10_000) as usize, (v % 10_000) as usize);
        let pair = |x: usize| [DIGIT_PAIRS[2 * x], DIGIT_PAIRS[2 * x + 1]];
        let ([a, b], [c, d], [e, f], [g, h]) = (pair(high / 100), pair(high % 100), pair(low / 100), pair(low % 100));
        let word = u64::from_le_bytes([a, b, c, d, e, f, g, h]) >> (8 * (8 - n));
        out.extend_from_slice(&word.to_le_bytes());
        out.truncate(len + n);
        return;
    }
    // A fixed-size append (a few moves, where a variable one is a call to `memcpy`), the
    // digits written in place, then cut to their number.
    out.extend_from_slice(&[0u8; 20]);
    write_digits(v, &mut out[len..len + n]);
    out.truncate(len + n);
}

/// Appends the bytes as lower-case hex, two digits each, to `out`.
pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0xf)]);
    }
}

/// "00" to "99".
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// 10^i for i in 0..20.
const POW10: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// How many decimal digits `v` has: from its bit length (log10(2) ~ 1233 / 4096), corrected by
/// one comparison.
#[inline]
fn digits(v: u64) -> usize {
    // `v | 1` has as many digits as `v` (and one for zero)
    let x = v | 1;
    let guess = ((64 - x.leading_zeros() as usize) * 1233) >> 12;
    guess + usize::from(x >= POW10[guess])
}

/// Fills `buf` (exactly as long as `v` has digits) with the decimal digits of `v`, two at a time.
#[inline]
fn write_digits(mut v: u64, buf: &mut [u8]) {
    let mut i = buf.len();
    while v >= 100 {
        let r = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[r..r + 2]);
    }
    if v >= 10 {
        let r = v as usize * 2;
        buf[..2].copy_from_slice(&DIGIT_PAIRS[r..r + 2]);
    } else if let Some(b) = buf.first_mut() {
        *b = b'0' + v as u8;
    }
}

/// Writes the decimal digits of `v` at the start of `buf` (at least as long as `v` has
/// digits) and returns how many.
fn format_u64(v: u64, buf: &mut [u8]) -> usize {
    let n = digits(v);
    write_digits(v, &mut buf[..n]);
    n
}

/// Writes the dotted quad at the start of `buf` (at least 15 bytes) and returns its length.
fn format_ipv4(a: std::net::Ipv4Addr, buf: &mut [u8]) -> usize {
    let mut n = 0;
    for (i, o) in a.octets().into_iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        push_u8(buf, &mut n, o);
    }
    n
}

impl Serialize for Ipv6Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; V6_ROOM];
        match format(&self.0, &mut buf) {
            // Only ASCII hex digits and colons were written.
            Some(n) => s.serialize_str(std::str::from_utf8(&buf[..n]).unwrap_or_default()),
            None => s.collect_str(&self.0),
        }
    }
}

/// The same text as `Ipv6Addr`'s `Display`, width and alignment too, written without the
/// formatting machinery for each group (several times faster: `format!` of anomaly sentences
/// spent 3,000 instructions an address in it).
impl std::fmt::Display for Ipv6Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut buf = [0u8; V6_ROOM];
        match format(&self.0, &mut buf) {
            // Only ASCII hex digits and colons were written.
            Some(n) => f.pad(std::str::from_utf8(&buf[..n]).unwrap_or_default()),
            None => std::fmt::Display::fmt(&self.0, f),
        }
    }
}

/// Serialises as the same text as `Ipv4Addr`'s `Display`, without the
/// formatting machinery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Text(pub std::net::Ipv4Addr);

/// Appends the decimal digits of `v` (0..=255).
fn push_u8(buf: &mut [u8], n: &mut usize, v: u8) {
    if v >= 100 {
        buf[*n] = b'0' + v / 100;
        *n += 1;
    }
    if v >= 10 {
        buf[*n] = b'0' + (v / 10) % 10;
        *n += 1;
    }
    buf[*n] = b'0' + v % 10;
    *n += 1;
}

impl Serialize for Ipv4Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 15];
        let n = format_ipv4(self.0, &mut buf);
        // Only ASCII digits and dots were written.
        s.serialize_str(std::str::from_utf8(&buf[..n]).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV4};

    fn pushed(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = b"x".to_vec();
        f(&mut v);
        assert_eq!(v[0], b'x', "appends, keeps what was there");
        String::from_utf8(v[1..].to_vec()).unwrap()
    }

    #[test]
    fn push_numbers_and_sockets_as_display() {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut nums: Vec<u64> =
            vec![0, 1, 9, 10, 99, 100, 65_535, 65_536, u64::from(u32::MAX), u64::MAX, u64::MAX - 1];
        nums.extend((0..20).map(|i| 10u64.pow(i)).flat_map(|p| [p - 1, p, p + 1]));
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            nums.push(x >> (x % 64));
        }
        for v in nums {
            assert_eq!(pushed(|o| push_u64(o, v)), v.to_string());
        }
        for port in [0u16, 1, 9, 10, 80, 3544, 9999, 10_000, 65_535] {
            for ip in
                [Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(10, 0, 100, 9)]
            {
                assert_eq!(pushed(|o| push_ipv4_port(o, ip, port)), SocketAddrV4::new(ip, port).to_string());
            }
        }
        for v in (0u32..=u32::MAX).step_by(104_729).chain([0, 1, 255, 256, u32::MAX]) {
            let a = Ipv4Addr::from(v);
            assert_eq!(pushed(|o| push_ipv4(o, a)), a.to_string());
            let port = (v % 65_536) as u16;
            assert_eq!(pushed(|o| push_ipv4_port(o, a, port)), SocketAddrV4::new(a, port).to_string());
        }
    }

    #[test]
    fn push_hex_as_format() {
        let bytes: Vec<u8> = (0..=255).collect();
        let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(pushed(|o| push_hex(o, &bytes)), want);
        assert_eq!(pushed(|o| push_hex(o, &[])), "");
    }

    #[test]
    fn push_ipv6_as_display_with_the_zero_run_at_every_place() {
        // every run of zero groups (start, length), with the other groups non-zero
        for start in 0..8 {
            for len in 1..=8 - start {
                for fill in [1u16, 0xabcd, 0xffff, 0x10] {
                    let mut g = [fill; 8];
                    for x in &mut g[start..start + len] {
                        *x = 0;
                    }
                    let a = Ipv6Addr::from(g);
                    assert_eq!(pushed(|o| push_ipv6(o, &a)), a.to_string(), "{g:?}");
                }
            }
        }
        // two runs: the longer one (or the first on a tie) is compressed
        for a in [
            "1:0:0:2:0:0:0:3",
            "1:0:0:2:0:0:3:4",
            "0:0:1:0:0:1:0:0",
            "1:0:1:0:1:0:1:0",
            "::ffff:192.0.2.1",
            "::192.0.2.1",
        ] {
            let a: Ipv6Addr = a.parse().unwrap();
            assert_eq!(pushed(|o| push_ipv6(o, &a)), a.to_string());
        }
    }

    /// `Ipv6Text`'s `Display` is `Ipv6Addr`'s, with width and alignment, for the zero runs of
    /// `push_ipv6_as_display_with_the_zero_run_at_every_place` and the IPv4-mapped form.
    #[test]
    fn ipv6_text_displays_as_ipv6_addr() {
        let mut addrs: Vec<Ipv6Addr> =
            ["::", "::1", "::ffff:192.0.2.1", "::192.0.2.1", "1:0:0:2:0:0:3:4", "2001:0:c000:201:4ae:bdf:34ff:8edf"]
                .iter()
                .map(|a| a.parse().unwrap())
                .collect();
        for start in 0..8 {
            for len in 0..=8 - start {
                let mut g = [0xabcd_u16; 8];
                for x in &mut g[start..start + len] {
                    *x = 0;
                }
                addrs.push(Ipv6Addr::from(g));
            }
        }
        for a in addrs {
            assert_eq!(format!("{}", Ipv6Text(a)), format!("{a}"));
            assert_eq!(format!("[{:>45}]", Ipv6Text(a)), format!("[{a:>45}]"));
            assert_eq!(format!("[{:<45}]", Ipv6Text(a)), format!("[{a:<45}]"));
            assert_eq!(format!("[{:^3}]", Ipv6Text(a)), format!("[{a:^3}]"));
        }
    }

    /// The memos give `Display` text for addresses that come back, that share a slot, and
    /// the IPv4-mapped ones (longer than the memo keeps).
    #[test]
    fn memo_same_text_as_display() {
        let mut memo = Ipv6Memo::with_slots(3);
        let mut socks = SockMemo::default();
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut seen = Vec::new();
        for i in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let a = match x % 4 {
                0 if !seen.is_empty() => seen[(x >> 8) as usize % seen.len()],
                1 => Ipv6Addr::from(((0x2001_0db8u128) << 96) | u128::from(i % 300)),
                2 if i % 7 == 0 => Ipv6Addr::from(0xffff_0000_0000u128 | u128::from(i)),
                _ => Ipv6Addr::from((u128::from(x) << 64) | u128::from(x.rotate_left(17) & 0xffff_0000_ffff)),
            };
            seen.push(a);
            assert_eq!(pushed(|o| memo.push_ipv6(o, &a)), a.to_string());
            let (v4, port) = (std::net::Ipv4Addr::from((x >> 40) as u32 & 0xff00_00ff), (x >> 20) as u16 & 0x3f);
            assert_eq!(pushed(|o| socks.push_ipv4_port(o, v4, port)), format!("{v4}:{port}"));
        }
    }

    #[test]
    fn ipv4_same_text_as_display() {
        for v in (0u32..=u32::MAX).step_by(7919).chain([0, 1, 255, 256, u32::MAX, 0x0a00_0001, 0x6464_6464]) {
            let a = std::net::Ipv4Addr::from(v);
            assert_eq!(serde_json::to_value(Ipv4Text(a)).unwrap(), a.to_string());
        }
    }

    fn text(a: Ipv6Addr) -> String {
        serde_json::to_value(Ipv6Text(a)).unwrap().as_str().unwrap().to_string()
    }

    #[test]
    fn same_text_as_display() {
        let fixed = [
            "::",
            "::1",
            "1::",
            "2001:db8::1",
            "2001:0:c000:201:a5c:63bf:39cc:9bf8",
            "fe80::8000:5445:5245:444f",
            "ff02::2",
            "2001:db8:0:0:1:0:0:1",
            "2001:0:0:1:0:0:0:1",
            "1:0:0:2:0:0:0:3",
            "0:1:0:1:0:1:0:1",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "64:ff9b::c000:221",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:0",
            "0:0:1::",
        ];
        for f in fixed {
            let a: Ipv6Addr = f.parse().unwrap();
            assert_eq!(text(a), a.to_string(), "{f}");
        }
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let y = x.rotate_left(29).wrapping_mul(0x2545_f491_4f6c_dd1d);
            // zero out random groups so runs of zeros are common
            let mut v = (u128::from(x) << 64) | u128::from(y);
            for g in 0..8 {
                if (x >> (g * 3)) & 1 == 1 {
                    v &= !(0xffffu128 << (g * 16));
                }
            }
            let a = Ipv6Addr::from(v);
            assert_eq!(text(a), a.to_string());
        }
    }
}
