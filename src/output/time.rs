//! Timestamps as RFC 3339 text, without a date-time dependency.

use std::fmt::Write as _;

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-11-22T13:22:01.123456Z` with `digits` fractional digits (0 to 9).
pub fn rfc3339(sec: i64, nsec: u32, digits: u8) -> String {
    let mut s = String::with_capacity(32);
    write_rfc3339(&mut s, sec, nsec, digits);
    s
}

/// Appends the RFC 3339 text of a timestamp to `out` (digits written by
/// hand: this runs once per printed packet).
pub fn write_rfc3339(out: &mut String, sec: i64, nsec: u32, digits: u8) {
    fn push_num(out: &mut String, v: u64, width: usize) {
        let mut buf = [b'0'; 20];
        let mut v = v;
        let mut i = buf.len();
        while v > 0 {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        let start = (buf.len() - width).min(i);
        // Only ASCII digits were written.
        out.push_str(std::str::from_utf8(&buf[start..]).unwrap_or_default());
    }
    let days = sec.div_euclid(86_400);
    let secs = sec.rem_euclid(86_400) as u64;
    let (y, mo, d) = civil_from_days(days);
    if (0..=9999).contains(&y) {
        push_num(out, y as u64, 4);
    } else {
        let _ = write!(out, "{y:04}");
    }
    out.push('-');
    push_num(out, u64::from(mo), 2);
    out.push('-');
    push_num(out, u64::from(d), 2);
    out.push('T');
    push_num(out, secs / 3600, 2);
    out.push(':');
    push_num(out, secs / 60 % 60, 2);
    out.push(':');
    push_num(out, secs % 60, 2);
    let digits = digits.min(9);
    if digits > 0 {
        let frac = nsec.min(999_999_999) / 10u32.pow(9 - u32::from(digits));
        out.push('.');
        push_num(out, u64::from(frac), usize::from(digits));
    }
    out.push('Z');
}

/// Parses a time given on the command line: RFC 3339 (`2026-11-22T13:22:01Z`,
/// fractional seconds and `+hh:mm` offsets allowed, a space instead of `T`
/// and no zone meaning UTC), or seconds since the epoch (`1700000000.5`).
/// Returns nanoseconds since the epoch.
pub fn parse_time(s: &str) -> Result<i128, String> {
    let t = s.trim();
    if let Ok(v) = t.parse::<f64>() {
        if t.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-') && v.is_finite() {
            let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
            let secs: i128 = whole.parse().map_err(|_| format!("{s:?}: bad seconds"))?;
            let mut ns: i128 = 0;
            for (i, c) in frac.chars().take(9).enumerate() {
                ns += i128::from(c.to_digit(10).unwrap_or(0)) * 10i128.pow(8 - i as u32);
            }
            return Ok(secs * 1_000_000_000 + if secs < 0 { -ns } else { ns });
        }
    }
    let bad = || format!("{s:?}: expected RFC 3339 (2026-11-22T13:22:01Z) or seconds since the epoch");
    let b = t.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| t.get(r).and_then(|x| x.parse::<i64>().ok()).ok_or_else(bad);
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    let mut rest = &t[19..];
    let mut ns: i128 = 0;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(bad());
        }
        for (i, c) in r[..n].bytes().take(9).enumerate() {
            ns += i128::from(c - b'0') * 10i128.pow(8 - i as u32);
        }
        rest = &r[n..];
    }
    let offset_s: i64 = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return Err(bad()),
            };
            let hm = &rest[1..];
            let (oh, om) = hm.split_once(':').ok_or_else(bad)?;
            let (oh, om): (i64, i64) = (oh.parse().map_err(|_| bad())?, om.parse().map_err(|_| bad())?);
            sign * (oh * 3600 + om * 60)
        }
    };
    let secs = days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + se - offset_s;
    Ok(i128::from(secs) * 1_000_000_000 + ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rfc3339(0, 0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000, 123_456_789, 6), "2023-11-14T22:13:20.123456Z");
        assert_eq!(rfc3339(1_700_000_000, 123_456_789, 9), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(rfc3339(951_782_400, 0, 3), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(-1, 500_000_000, 1), "1969-12-31T23:59:59.5Z");
    }

    #[test]
    fn hand_written_digits_match_format() {
        let mut x = 0x1234_5678_9abc_def0_u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let sec = (x % 253_402_300_799) as i64; // up to 9999-12-31
            let nsec = (x >> 32) as u32 % 1_000_000_000;
            for digits in [0u8, 3, 6, 9] {
                let (y, mo, d) = civil_from_days(sec.div_euclid(86_400));
                let s = sec.rem_euclid(86_400);
                let mut want = format!("{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
                if digits > 0 {
                    want.push_str(&format!(
                        ".{:0w$}",
                        nsec / 10u32.pow(9 - u32::from(digits)),
                        w = usize::from(digits)
                    ));
                }
                want.push('Z');
                assert_eq!(rfc3339(sec, nsec, digits), want);
            }
        }
    }

    #[test]
    fn parses() {
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000_000_000_000);
        assert_eq!(parse_time("1700000000.25").unwrap(), 1_700_000_000_250_000_000);
        assert_eq!(parse_time("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000_000_000_000);
        assert_eq!(parse_time("2023-11-14 22:13:20.5").unwrap(), 1_700_000_000_500_000_000);
        assert_eq!(parse_time("2023-11-15T00:13:20+02:00").unwrap(), 1_700_000_000_000_000_000);
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2023-13-14T22:13:20Z").is_err());
    }

    #[test]
    fn round_trip_many_days() {
        for days in (-800_000i64..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
