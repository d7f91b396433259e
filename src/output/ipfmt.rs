//! Fast RFC 5952 text for IPv6 addresses in JSON. `Ipv6Addr`'s `Display`
//! goes through the formatting machinery digit group by digit group, which
//! made address text a quarter of the cost of an NDJSON line; this writes
//! the same text into a stack buffer.

use serde::{Serialize, Serializer};
use std::net::Ipv6Addr;

/// Serialises as the same text as `Ipv6Addr`'s `Display` (RFC 5952).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Text(pub Ipv6Addr);

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `a` into `buf` and returns the length, or `None` for the
/// IPv4-mapped form, which `Display` writes with a dotted quad.
fn format(a: &Ipv6Addr, buf: &mut [u8; 39]) -> Option<usize> {
    let s = a.segments();
    if s[0..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff {
        return None;
    }
    // Longest run of two or more zero groups (the first one on a tie).
    let (mut best_start, mut best_len) = (usize::MAX, 0);
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
        let v = s[g];
        let mut started = false;
        for shift in [12u16, 8, 4, 0] {
            let d = (v >> shift) & 0xf;
            if d != 0 || started || shift == 0 {
                buf[n] = HEX[usize::from(d)];
                n += 1;
                started = true;
            }
        }
        g += 1;
    }
    Some(n)
}

impl Serialize for Ipv6Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 39];
        match format(&self.0, &mut buf) {
            // Only ASCII hex digits and colons were written.
            Some(n) => s.serialize_str(std::str::from_utf8(&buf[..n]).unwrap_or_default()),
            None => s.collect_str(&self.0),
        }
    }
}

/// Serialises as the same text as `Ipv4Addr`'s `Display`, without the
/// formatting machinery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Text(pub std::net::Ipv4Addr);

/// Appends the decimal digits of `v` (0..=255).
fn push_u8(buf: &mut [u8; 15], n: &mut usize, v: u8) {
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
        let mut n = 0;
        for (i, o) in self.0.octets().into_iter().enumerate() {
            if i > 0 {
                buf[n] = b'.';
                n += 1;
            }
            push_u8(&mut buf, &mut n, o);
        }
        // Only ASCII digits and dots were written.
        s.serialize_str(std::str::from_utf8(&buf[..n]).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
