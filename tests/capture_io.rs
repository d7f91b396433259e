//! Capture reader and writer: formats, byte orders, resolutions, truncation, bad input,
//! gzip, non-seekable input, and agreement with tshark on real captures.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use teredo_tool::capture::{self, CaptureError, CaptureFormat, CaptureReader, CaptureWriter, TsPrecision};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Owned {
    number: u64,
    ts_sec: i64,
    ts_nsec: u32,
    precision: TsPrecision,
    linktype: u32,
    interface_id: u32,
    caplen: u32,
    origlen: u32,
    data: Vec<u8>,
    offset: u64,
}

impl Owned {
    fn of(f: &capture::Frame<'_>) -> Owned {
        assert_eq!(f.caplen as usize, f.data.len());
        Owned {
            number: f.number,
            ts_sec: f.ts_sec,
            ts_nsec: f.ts_nsec,
            precision: f.ts_precision,
            linktype: f.linktype,
            interface_id: f.interface_id,
            caplen: f.caplen,
            origlen: f.origlen,
            data: f.data.to_vec(),
            offset: f.file_offset,
        }
    }
}

fn read_all<R: Read>(mut r: CaptureReader<R>) -> (Vec<Owned>, Option<CaptureError>) {
    let mut out = Vec::new();
    while let Some(res) = r.next_frame() {
        match res {
            Ok(f) => out.push(Owned::of(&f)),
            Err(e) => {
                assert!(r.next_frame().is_none(), "reader must end after an error");
                return (out, Some(e));
            }
        }
    }
    (out, None)
}

fn read_bytes(b: &[u8]) -> Result<(Vec<Owned>, Option<CaptureError>), CaptureError> {
    Ok(read_all(CaptureReader::new(b, "test")?))
}

// ---------- hand-built files (independent of our writer) ----------

fn p16(v: &mut Vec<u8>, x: u16, be: bool) {
    v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
}
fn p32(v: &mut Vec<u8>, x: u32, be: bool) {
    v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
}

/// Classic pcap: records are (sec, frac, data, origlen). Returns bytes and record offsets.
fn pcap_file(be: bool, ns: bool, linktype: u32, recs: &[(u32, u32, &[u8], u32)]) -> (Vec<u8>, Vec<u64>) {
    let mut v = Vec::new();
    p32(&mut v, if ns { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }, be);
    p16(&mut v, 2, be);
    p16(&mut v, 4, be);
    p32(&mut v, 0, be);
    p32(&mut v, 0, be);
    p32(&mut v, 65535, be);
    p32(&mut v, linktype, be);
    let mut offs = Vec::new();
    for &(s, f, d, o) in recs {
        offs.push(v.len() as u64);
        p32(&mut v, s, be);
        p32(&mut v, f, be);
        p32(&mut v, d.len() as u32, be);
        p32(&mut v, o, be);
        v.extend_from_slice(d);
    }
    (v, offs)
}

fn block(v: &mut Vec<u8>, btype: u32, body: &[u8], be: bool) -> u64 {
    let off = v.len() as u64;
    let mut body = body.to_vec();
    while body.len() % 4 != 0 {
        body.push(0);
    }
    let len = 12 + body.len() as u32;
    p32(v, btype, be);
    p32(v, len, be);
    v.extend_from_slice(&body);
    p32(v, len, be);
    off
}

fn shb(v: &mut Vec<u8>, be: bool) {
    let mut b = Vec::new();
    p32(&mut b, 0x1a2b_3c4d, be);
    p16(&mut b, 1, be);
    p16(&mut b, 0, be);
    b.extend_from_slice(&if be { (-1i64).to_be_bytes() } else { (-1i64).to_le_bytes() });
    // an option the reader must not care about: shb_userappl
    p16(&mut b, 4, be);
    p16(&mut b, 5, be);
    b.extend_from_slice(b"test\0\0\0\0");
    p16(&mut b, 0, be);
    p16(&mut b, 0, be);
    block(v, 0x0a0d_0d0a, &b, be);
}

fn idb(v: &mut Vec<u8>, be: bool, linktype: u16, snaplen: u32, tsresol: Option<u8>, tsoffset: Option<i64>) {
    let mut b = Vec::new();
    p16(&mut b, linktype, be);
    p16(&mut b, 0, be);
    p32(&mut b, snaplen, be);
    p16(&mut b, 2, be); // if_name
    p16(&mut b, 3, be);
    b.extend_from_slice(b"eth\0");
    if let Some(r) = tsresol {
        p16(&mut b, 9, be);
        p16(&mut b, 1, be);
        b.extend_from_slice(&[r, 0, 0, 0]);
    }
    if let Some(o) = tsoffset {
        p16(&mut b, 14, be);
        p16(&mut b, 8, be);
        b.extend_from_slice(&if be { o.to_be_bytes() } else { o.to_le_bytes() });
    }
    p16(&mut b, 0, be);
    p16(&mut b, 0, be);
    block(v, 1, &b, be);
}

fn epb(v: &mut Vec<u8>, be: bool, iface: u32, ts: u64, data: &[u8], origlen: u32) -> u64 {
    let mut b = Vec::new();
    p32(&mut b, iface, be);
    p32(&mut b, (ts >> 32) as u32, be);
    p32(&mut b, ts as u32, be);
    p32(&mut b, data.len() as u32, be);
    p32(&mut b, origlen, be);
    b.extend_from_slice(data);
    while b.len() % 4 != 0 {
        b.push(0);
    }
    // an epb_flags option
    p16(&mut b, 2, be);
    p16(&mut b, 4, be);
    p32(&mut b, 1, be);
    p16(&mut b, 0, be);
    p16(&mut b, 0, be);
    block(v, 6, &b, be)
}

fn spb(v: &mut Vec<u8>, be: bool, data: &[u8], origlen: u32) -> u64 {
    let mut b = Vec::new();
    p32(&mut b, origlen, be);
    b.extend_from_slice(data);
    block(v, 3, &b, be)
}

fn pb(v: &mut Vec<u8>, be: bool, iface: u16, ts: u64, data: &[u8]) -> u64 {
    let mut b = Vec::new();
    p16(&mut b, iface, be);
    p16(&mut b, 0, be); // drops
    p32(&mut b, (ts >> 32) as u32, be);
    p32(&mut b, ts as u32, be);
    p32(&mut b, data.len() as u32, be);
    p32(&mut b, data.len() as u32, be);
    b.extend_from_slice(data);
    block(v, 2, &b, be)
}

#[test]
fn classic_pcap_every_byte_order_and_resolution() {
    for be in [false, true] {
        for ns in [false, true] {
            let recs: [(u32, u32, &[u8], u32); 3] = [
                (1_700_000_000, 123_456, b"\x45\x00abc", 5),
                (1_700_000_001, 999_999, b"", 60),
                (4_000_000_000, 7, b"0123456789", 1500),
            ];
            let (bytes, offs) = pcap_file(be, ns, 101, &recs);
            let (frames, err) = read_bytes(&bytes).unwrap();
            assert!(err.is_none(), "{err:?}");
            assert_eq!(frames.len(), 3);
            for (i, (f, r)) in frames.iter().zip(recs.iter()).enumerate() {
                assert_eq!(f.number, i as u64 + 1);
                assert_eq!(f.ts_sec, i64::from(r.0), "u32 seconds past 2038 stay positive");
                assert_eq!(f.ts_nsec, if ns { r.1 } else { r.1 * 1000 });
                assert_eq!(f.precision, if ns { TsPrecision::Nano } else { TsPrecision::Micro });
                assert_eq!((f.linktype, f.interface_id), (101, 0));
                assert_eq!(f.data, r.2);
                assert_eq!(f.origlen, r.3);
                assert_eq!(f.offset, offs[i]);
            }
        }
    }
}

#[test]
fn pcap_fraction_overflow_carries_into_seconds() {
    let (bytes, _) = pcap_file(false, false, 1, &[(10, 2_500_000, b"x", 1)]);
    let (frames, _) = read_bytes(&bytes).unwrap();
    assert_eq!((frames[0].ts_sec, frames[0].ts_nsec), (12, 500_000_000));
}

/// Two sections (little- then big-endian, or the reverse), interfaces with different link
/// types and resolutions (10^-6 default, 10^-9, 10^-3, 2^-20, 2^-10 and if_tsoffset), EPB,
/// SPB and obsolete PB, and blocks the reader must skip (NRB, ISB, a custom block).
/// (offset, seconds, nanoseconds, precision, linktype, interface id) of an expected frame.
type Want = (u64, i64, u32, TsPrecision, u32, u32);

fn multi_section(first_be: bool) -> (Vec<u8>, Vec<Want>) {
    let mut v = Vec::new();
    let mut want = Vec::new(); // (offset, sec, nsec, precision, linktype, iface)
    let be = first_be;
    shb(&mut v, be);
    idb(&mut v, be, 1, 0, None, None); // iface 0: Ethernet, µs
    idb(&mut v, be, 101, 0, Some(9), None); // iface 1: raw, ns
    idb(&mut v, be, 228, 0, Some(3), Some(100)); // iface 2: IPv4, ms, +100 s
    block(&mut v, 4, &[0, 0, 0, 0], be); // NRB (just end of records)
    let o = epb(&mut v, be, 0, 1_700_000_000_123_456, b"frame-one", 9);
    want.push((o, 1_700_000_000, 123_456_000, TsPrecision::Micro, 1, 0));
    let o = epb(&mut v, be, 1, 1_700_000_000_987_654_321, b"frame-two!", 10);
    want.push((o, 1_700_000_000, 987_654_321, TsPrecision::Nano, 101, 1));
    block(&mut v, 0x0000_0bad, b"\x00\x00\x7e\x00custom", be); // custom block
    let o = epb(&mut v, be, 2, 5_250, b"three", 300);
    want.push((o, 105, 250_000_000, TsPrecision::Other(3), 228, 2));
    block(&mut v, 5, &[0; 12], be); // ISB
    let o = pb(&mut v, be, 1, 3_000_000_001, b"obsolete");
    want.push((o, 3, 1, TsPrecision::Nano, 101, 1));
    let be = !first_be;
    shb(&mut v, be);
    idb(&mut v, be, 113, 4, Some(0x80 | 20), None); // iface 0: SLL, 2^-20 s, snaplen 4
    idb(&mut v, be, 276, 0, Some(0x80 | 10), None); // iface 1: SLL2, 2^-10 s
    let o = spb(&mut v, be, b"simple", 6); // SPB: caplen limited by snaplen 4
    want.push((o, 0, 0, TsPrecision::Other(0x80 | 20), 113, 0));
    // 3.5 s in 2^-20 units, 7.25 s in 2^-10 units.
    let o = epb(&mut v, be, 0, 3 * (1 << 20) + (1 << 19), b"x", 1);
    want.push((o, 3, 500_000_000, TsPrecision::Other(0x80 | 20), 113, 0));
    let o = epb(&mut v, be, 1, 7 * 1024 + 256, b"yy", 2);
    want.push((o, 7, 250_000_000, TsPrecision::Other(0x80 | 10), 276, 1));
    (v, want)
}

#[test]
fn pcapng_sections_interfaces_resolutions_and_block_kinds() {
    for first_be in [false, true] {
        let (bytes, want) = multi_section(first_be);
        let mut r = CaptureReader::new(&bytes[..], "ng").unwrap();
        assert_eq!(r.format(), CaptureFormat::Pcapng);
        let mut n = 0;
        while let Some(f) = r.next_frame() {
            let f = f.unwrap();
            let w = want[n];
            assert_eq!(
                (f.file_offset, f.ts_sec, f.ts_nsec, f.ts_precision, f.linktype, f.interface_id),
                w,
                "frame {}",
                n + 1
            );
            assert_eq!(f.number, n as u64 + 1);
            n += 1;
            if f.linktype == 113 && f.ts_sec == 0 {
                assert_eq!((f.data, f.origlen), (&b"simp"[..], 6), "SPB cut to snaplen");
            }
        }
        assert_eq!(n, want.len());
        let ifs = r.interfaces();
        let lts: Vec<(u32, u32, u32, u64)> =
            ifs.iter().map(|i| (i.section, i.interface_id, i.linktype, i.frames)).collect();
        assert_eq!(lts, vec![(0, 0, 1, 1), (0, 1, 101, 2), (0, 2, 228, 1), (1, 0, 113, 2), (1, 1, 276, 1)]);
        assert_eq!(ifs[0].name.as_deref(), Some("eth"));
        assert_eq!(r.bytes_read(), bytes.len() as u64);
    }
}

#[test]
fn pcapng_packet_for_undefined_interface_is_malformed() {
    let mut v = Vec::new();
    shb(&mut v, false);
    idb(&mut v, false, 1, 0, None, None);
    epb(&mut v, false, 0, 0, b"ok", 2);
    let off = epb(&mut v, false, 3, 0, b"bad", 3);
    let (frames, err) = read_bytes(&v).unwrap();
    assert_eq!(frames.len(), 1);
    match err {
        Some(CaptureError::Malformed { frame, offset, reason, .. }) => {
            assert_eq!((frame, offset), (2, off));
            assert!(reason.contains("interface 3"), "{reason}");
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn pcapng_block_length_mismatch_is_malformed() {
    let mut v = Vec::new();
    shb(&mut v, false);
    idb(&mut v, false, 1, 0, None, None);
    let off = epb(&mut v, false, 0, 0, b"abcd", 4);
    let n = v.len();
    v[n - 4] = 0x99; // trailing length differs
    let (frames, err) = read_bytes(&v).unwrap();
    assert!(frames.is_empty());
    assert!(matches!(err, Some(CaptureError::Malformed { offset, .. }) if offset == off), "{err:?}");
}

// ---------- writer ----------

fn sample_frames() -> Vec<(i64, u32, TsPrecision, u32, u32, Vec<u8>)> {
    vec![
        (1_700_000_000, 123_456_000, TsPrecision::Micro, 1, 64, vec![0xaa; 60]),
        (1_700_000_001, 5_000, TsPrecision::Micro, 1, 61, (0..61).collect()),
        (1_700_000_002, 987_654_321, TsPrecision::Nano, 229, 40, vec![0x60; 40]),
        (1_700_000_003, 250_000_000, TsPrecision::Other(3), 101, 3, vec![1, 2, 3]),
        (1_700_000_004, 500_000_000, TsPrecision::Other(0x80 | 20), 1, 5, vec![9; 5]),
    ]
}

#[test]
fn pcapng_writer_round_trip_keeps_linktypes_and_resolutions() {
    let mut w = CaptureWriter::new(Vec::new(), "mem", CaptureFormat::Pcapng, TsPrecision::Micro).unwrap();
    for (s, ns, p, lt, ol, d) in sample_frames() {
        w.write_frame_with_precision(s, ns, p, lt, ol, &d).unwrap();
    }
    let bytes = w.into_inner().unwrap();
    let mut r = CaptureReader::new(&bytes[..], "mem").unwrap();
    for (i, (s, ns, p, lt, ol, d)) in sample_frames().into_iter().enumerate() {
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!((f.ts_sec, f.ts_nsec, f.ts_precision, f.linktype), (s, ns, p, lt), "{i}");
        assert_eq!((f.origlen, f.data), (ol, &d[..]));
    }
    assert!(r.next_frame().is_none());
    // One IDB per (linktype, resolution): (1,µs) (229,ns) (101,ms) (1,2^-20).
    assert_eq!(r.interfaces().len(), 4);
}

#[test]
fn pcap_writer_round_trip_us_and_ns() {
    for prec in [TsPrecision::Micro, TsPrecision::Nano] {
        let mut w = CaptureWriter::new(Vec::new(), "mem", CaptureFormat::Pcap, prec).unwrap();
        w.write_frame(1_600_000_000, 123_456_789, 229, 48, &[0x60; 40]).unwrap();
        w.write_frame(1_600_000_001, 1_000, 229, 40, &[0x60; 40]).unwrap();
        let err = w.write_frame(1, 0, 1, 1, &[0]).unwrap_err();
        assert!(matches!(err, CaptureError::MixedLinkTypes { first: 229, other: 1, .. }));
        let bytes = w.into_inner().unwrap();
        let magic = u32::from_le_bytes(bytes[0..4].try_into().unwrap());
        let (frames, err) = read_bytes(&bytes).unwrap();
        assert!(err.is_none());
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].linktype, 229);
        assert_eq!(frames[0].origlen, 48);
        if prec == TsPrecision::Nano {
            assert_eq!(magic, 0xa1b2_3c4d);
            assert_eq!(frames[0].ts_nsec, 123_456_789);
        } else {
            assert_eq!(magic, 0xa1b2_c3d4);
            assert_eq!(frames[0].ts_nsec, 123_456_000);
        }
        assert_eq!((frames[1].ts_sec, frames[1].ts_nsec), (1_600_000_001, 1_000));
    }
}

#[test]
fn pcap_writer_takes_ns_magic_from_a_ns_source_and_copies_frames_exactly() {
    let (src, _) = pcap_file(true, true, 1, &[(5, 999_999_999, b"abcdef", 100)]);
    let mut r = CaptureReader::new(&src[..], "src").unwrap();
    let mut w = CaptureWriter::new(Vec::new(), "out", CaptureFormat::Pcap, TsPrecision::Micro).unwrap();
    while let Some(f) = r.next_frame() {
        w.write_captured(&f.unwrap()).unwrap();
    }
    let out = w.into_inner().unwrap();
    let (frames, _) = read_bytes(&out).unwrap();
    assert_eq!(frames[0].precision, TsPrecision::Nano);
    assert_eq!((frames[0].ts_sec, frames[0].ts_nsec), (5, 999_999_999));
    assert_eq!((&frames[0].data[..], frames[0].origlen), (&b"abcdef"[..], 100));
}

#[test]
fn empty_pcap_output_has_a_header_with_the_chosen_linktype() {
    let mut w = CaptureWriter::new(Vec::new(), "e", CaptureFormat::Pcap, TsPrecision::Micro).unwrap();
    w.set_empty_linktype(229);
    let b = w.into_inner().unwrap();
    assert_eq!(b.len(), 24);
    let r = CaptureReader::new(&b[..], "e").unwrap();
    assert_eq!(r.interfaces()[0].linktype, 229);
}

fn tshark_available() -> bool {
    Command::new("tshark").arg("-v").output().is_ok_and(|o| o.status.success())
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("teredo-capture-test-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// (epoch seconds, nanoseconds, caplen, origlen, encapsulation) of every frame, as tshark reads it.
fn tshark_frames(path: &Path) -> Vec<(i64, u32, u32, u32)> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-T", "fields", "-e", "frame.time_epoch", "-e", "frame.cap_len", "-e", "frame.len"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let (s, frac) = f[0].split_once('.').unwrap_or((f[0], "0"));
            let mut frac = frac.to_string();
            frac.truncate(9);
            while frac.len() < 9 {
                frac.push('0');
            }
            (s.parse().unwrap(), frac.parse().unwrap(), f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect()
}

#[test]
fn written_files_are_read_identically_by_tshark() {
    if !tshark_available() {
        assert!(!ci(), "tshark must be installed in CI");
        return;
    }
    let dir = tmpdir("tshark");
    for name in ["out.pcap", "out.pcapng"] {
        let path = dir.join(name);
        let p = path.to_str().unwrap();
        let mut w = CaptureWriter::create(p, TsPrecision::Nano).unwrap();
        assert_eq!(w.format(), CaptureFormat::from_path(p));
        let frames = sample_frames();
        for (s, ns, prec, _lt, ol, d) in &frames {
            // one link type so that the classic pcap can hold them all
            w.write_frame_with_precision(*s, *ns, *prec, 1, *ol, d).unwrap();
        }
        assert_eq!(w.finish().unwrap(), frames.len() as u64);
        let ts = tshark_frames(&path);
        let want: Vec<(i64, u32, u32, u32)> =
            frames.iter().map(|(s, ns, _, _, ol, d)| (*s, *ns, d.len() as u32, *ol)).collect();
        assert_eq!(ts, want, "{name}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------- truncation, bad input, limits ----------

/// Cuts `bytes` at every length and checks: frames before the cut are yielded intact,
/// then (unless the cut falls on a record boundary) a truncation error naming the next
/// frame and its record's offset.
fn check_every_truncation(bytes: &[u8], header_len: usize, offs: &[u64]) {
    let (full, err) = read_bytes(bytes).unwrap();
    assert!(err.is_none());
    for cut in 0..bytes.len() {
        let res = read_bytes(&bytes[..cut]);
        if cut < header_len {
            let e = res.expect_err("a cut file header must fail at open");
            assert!(
                matches!(e, CaptureError::TruncatedFileHeader { .. } | CaptureError::NotCapture { .. }),
                "cut {cut}: {e}"
            );
            continue;
        }
        let (frames, err) = res.unwrap();
        let complete = offs.iter().skip(1).chain([bytes.len() as u64].iter()).filter(|&&o| o <= cut as u64).count();
        assert_eq!(frames, full[..complete], "cut {cut}");
        let on_boundary =
            cut as u64 == offs.first().copied().unwrap_or(header_len as u64) || offs.contains(&(cut as u64));
        match err {
            None => assert!(on_boundary, "cut {cut}: no error"),
            Some(e) => {
                assert!(!on_boundary, "cut {cut}: {e}");
                assert!(e.is_truncation(), "cut {cut}: {e}");
                let msg = e.to_string();
                assert!(msg.contains(&format!("frame {}", complete + 1)), "cut {cut}: {msg}");
                assert!(msg.contains(&format!("byte offset {}", offs[complete])), "cut {cut}: {msg}");
                assert!(msg.starts_with("test: "), "{msg}");
            }
        }
    }
}

#[test]
fn pcap_truncated_at_every_byte() {
    for be in [false, true] {
        let (bytes, offs) = pcap_file(be, false, 1, &[(1, 2, b"first", 5), (3, 4, b"", 0), (5, 6, b"third frame", 11)]);
        check_every_truncation(&bytes, 24, &offs);
    }
}

#[test]
fn pcapng_truncated_at_every_byte() {
    for be in [false, true] {
        let mut v = Vec::new();
        shb(&mut v, be);
        let hdr = v.len();
        idb(&mut v, be, 1, 0, None, None);
        let o1 = epb(&mut v, be, 0, 1, b"first", 5);
        let o2 = epb(&mut v, be, 0, 2, b"second!", 7);
        let o3 = spb(&mut v, be, b"3rd", 3);
        // The IDB is not a frame: a cut inside it is reported against frame 1 at its offset.
        let mut offs = vec![o1, o2, o3];
        let (full, _) = read_bytes(&v).unwrap();
        assert_eq!(full.len(), 3);
        for cut in hdr..v.len() {
            let (frames, err) = read_bytes(&v[..cut]).unwrap();
            let complete = [o2, o3, v.len() as u64].iter().filter(|&&o| o <= cut as u64).count();
            assert_eq!(frames, full[..complete], "cut {cut}");
            let boundary = cut == hdr || [o1, o2, o3].contains(&(cut as u64));
            match err {
                None => assert!(boundary, "cut {cut}"),
                Some(e) => {
                    assert!(!boundary && e.is_truncation(), "cut {cut}: {e}");
                    let want_off = if (cut as u64) < o1 { hdr as u64 } else { offs[complete] };
                    let msg = e.to_string();
                    assert!(msg.contains(&format!("frame {}", complete + 1)), "{msg}");
                    assert!(msg.contains(&format!("byte offset {want_off}")), "cut {cut}: {msg}");
                }
            }
        }
        offs.clear();
        for cut in 0..hdr {
            assert!(read_bytes(&v[..cut]).is_err(), "cut {cut} inside the SHB");
        }
    }
}

#[cfg(target_os = "linux")]
fn vm_peak_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmPeak:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_4gb_caplen_claim_is_an_error_without_allocation() {
    #[cfg(target_os = "linux")]
    let before = vm_peak_kib();
    // classic pcap: record header claims 0xffff_fff0 bytes
    let (mut bytes, offs) = pcap_file(false, false, 1, &[(1, 0, b"ok", 2), (2, 0, b"", 0)]);
    let at = offs[1] as usize + 8;
    bytes[at..at + 4].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let (frames, err) = read_bytes(&bytes).unwrap();
    assert_eq!(frames.len(), 1);
    match err {
        Some(CaptureError::RecordTooLarge { frame: 2, offset, claimed: 0xffff_fff0, .. }) => {
            assert_eq!(offset, offs[1])
        }
        e => panic!("{e:?}"),
    }
    // pcapng: an EPB whose block length claims ~4 GB, and one whose caplen exceeds its block
    for which in 0..2 {
        let mut v = Vec::new();
        shb(&mut v, false);
        idb(&mut v, false, 1, 0, None, None);
        let off = epb(&mut v, false, 0, 0, b"abcd", 4) as usize;
        if which == 0 {
            v[off + 4..off + 8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        } else {
            v[off + 20..off + 24].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        }
        let (frames, err) = read_bytes(&v).unwrap();
        assert!(frames.is_empty());
        assert!(
            matches!(err, Some(CaptureError::RecordTooLarge { frame: 1, offset, .. }) if offset == off as u64),
            "{err:?}"
        );
    }
    // An unknown block claiming 4 GB is skipped by streaming, so it ends as a truncation.
    let mut v = Vec::new();
    shb(&mut v, false);
    let off = block(&mut v, 0x0bad, b"data", false) as usize;
    v[off + 4..off + 8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let (_, err) = read_bytes(&v).unwrap();
    assert!(err.unwrap().is_truncation());
    #[cfg(target_os = "linux")]
    {
        let grown = vm_peak_kib().saturating_sub(before);
        assert!(grown < 1024 * 1024, "peak virtual memory grew by {grown} KiB");
    }
}

#[test]
fn not_a_capture_file_says_what_it_found() {
    let cases: [(&[u8], &str); 5] = [
        (b"", "empty"),
        (b"Hello, this is a text file\n", "looks like text"),
        (b"\x7fELF\x02\x01\x01\0\0\0\0\0", "ELF"),
        (b"\x00\x01\x02\x03\xff\xfe", "00 01 02 03 ff fe"),
        (b"BZh91AY&SY", "bzip2"),
    ];
    for (b, want) in cases {
        let e = CaptureReader::new(b, "f.bin").unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, CaptureError::NotCapture { .. }), "{msg}");
        assert!(msg.starts_with("f.bin: not a capture file"), "{msg}");
        assert!(msg.contains(want), "{msg} lacks {want}");
    }
    // pcap file header cut short
    let (b, _) = pcap_file(false, false, 1, &[]);
    let e = CaptureReader::new(&b[..10], "h").unwrap_err();
    assert!(matches!(e, CaptureError::TruncatedFileHeader { needed: 24, available: 10, .. }), "{e}");
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

#[test]
fn gzip_is_decompressed_transparently() {
    let (ng, want) = multi_section(false);
    let (plain, err) = read_bytes(&ng).unwrap();
    assert!(err.is_none());
    let gz = gzip(&ng);
    let r = CaptureReader::new(&gz[..], "f.pcapng.gz").unwrap();
    assert!(r.is_gzip());
    let (frames, err) = read_all(r);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(frames.len(), want.len());
    assert_eq!(frames, plain, "same frames and offsets (decompressed stream) as the plain file");
    // multi-member gzip (as `cat a.gz b.gz` makes): the members are one stream
    let (p, _) = pcap_file(false, true, 1, &[(1, 1, b"a", 1), (2, 2, b"b", 1)]);
    let mut two = gzip(&p[..40]);
    two.extend(gzip(&p[40..]));
    let (frames, err) = read_bytes(&two).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert_eq!(frames.len(), 2);
}

#[test]
fn gzip_of_a_non_capture_and_truncated_gzip() {
    let e = CaptureReader::new(&gzip(b"just some text\n")[..], "t.gz").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("gzip-compressed") && msg.contains("looks like text"), "{msg}");
    let (p, _) = pcap_file(false, false, 1, &[(1, 1, &[7; 200], 200), (2, 2, &[8; 200], 200)]);
    let gz = gzip(&p);
    // The decompressor may give nothing of the cut deflate block, so the error can come
    // as early as opening; either way it is a gzip error naming the frame.
    let e = match read_bytes(&gz[..gz.len() - 30]) {
        Ok((frames, err)) => {
            assert!(frames.len() < 2);
            err.expect("a cut gzip stream is an error")
        }
        Err(e) => e,
    };
    assert!(matches!(e, CaptureError::Gzip { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("frame"), "{msg}");
}

/// A non-seekable reader that hands out a few bytes at a time and is sometimes interrupted.
struct Dribble<'a> {
    data: &'a [u8],
    step: usize,
    calls: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls % 5 == 0 {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "signal"));
        }
        let n = buf.len().min(self.data.len()).min(1 + self.calls % self.step);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn non_seekable_dribbling_reader_gives_the_same_frames() {
    let (ng, _) = multi_section(true);
    let (p, _) = pcap_file(true, false, 1, &[(1, 1, &[7; 3000], 3000), (2, 2, b"x", 1)]);
    for bytes in [ng, p.clone(), gzip(&p)] {
        let (want, _) = read_bytes(&bytes).unwrap();
        for step in [1, 3, 7, 64] {
            let r = CaptureReader::new(Dribble { data: &bytes, step, calls: 0 }, "pipe").unwrap();
            let (got, err) = read_all(r);
            assert!(err.is_none(), "{err:?}");
            assert_eq!(got, want, "step {step}");
        }
    }
}

#[test]
fn large_captures_stream_through_a_bounded_buffer() {
    // 20 000 records of 1 000 bytes (20 MB) through a reader that cannot seek: frames and
    // offsets are right, and records straddling buffer refills come out intact.
    let mut w = CaptureWriter::new(Vec::new(), "big", CaptureFormat::Pcapng, TsPrecision::Nano).unwrap();
    let mut data = [0u8; 1000];
    for i in 0..20_000u32 {
        data[..4].copy_from_slice(&i.to_be_bytes());
        data[996..].copy_from_slice(&i.to_le_bytes());
        w.write_frame(i64::from(i), i, 1, 1000 + (i % 3), &data[..(997 + (i % 4) as usize)]).unwrap();
    }
    let bytes = w.into_inner().unwrap();
    let mut r = CaptureReader::new(Dribble { data: &bytes, step: 100_000, calls: 0 }, "big").unwrap();
    let mut n = 0u32;
    while let Some(f) = r.next_frame() {
        let f = f.unwrap();
        assert_eq!(f.data[..4], n.to_be_bytes());
        assert_eq!(f.caplen, 997 + n % 4);
        assert_eq!((f.ts_sec, f.ts_nsec), (i64::from(n), n));
        n += 1;
    }
    assert_eq!(n, 20_000);
    assert_eq!(r.bytes_read(), bytes.len() as u64);
}

#[test]
fn open_reports_missing_files_directories_and_permissions() {
    let e = capture::open("/nonexistent/teredo/x.pcap").unwrap_err();
    assert!(matches!(e, CaptureError::NotFound { .. }));
    assert_eq!(e.to_string(), "/nonexistent/teredo/x.pcap: no such file");
    let dir = tmpdir("open");
    let d = dir.to_str().unwrap();
    let e = capture::open(d).unwrap_err();
    assert_eq!(e.to_string(), format!("{d}: is a directory, not a capture file"));
    let f = dir.join("secret.pcap");
    std::fs::write(&f, pcap_file(false, false, 1, &[]).0).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).unwrap();
        // root reads anything: only check when the file really is unreadable for us
        if std::fs::File::open(&f).is_err() {
            let e = capture::open(f.to_str().unwrap()).unwrap_err();
            assert!(matches!(e, CaptureError::PermissionDenied { .. }), "{e}");
            assert!(e.to_string().ends_with("permission denied"));
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------- real captures, read in place ----------

fn captures_in(dir: &str, only_pcapng: bool) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        assert!(!ci(), "{dir} must exist in CI");
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.to_string_lossy();
            if only_pcapng {
                n.ends_with(".pcapng")
            } else {
                n.ends_with(".pcap") || n.ends_with(".pcapng")
            }
        })
        .collect();
    v.sort();
    v
}

#[test]
fn real_captures_agree_with_tshark_frame_by_frame() {
    let mut files = captures_in("/work/shared/captures", true);
    files.extend(captures_in("/work/shared/captures/real", false));
    files.extend(captures_in(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata"), false));
    files.extend(captures_in(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/generated"), false));
    let tshark = tshark_available();
    assert!(tshark || !ci(), "tshark must be installed in CI");
    for path in files {
        let p = path.to_str().unwrap();
        let r = capture::open(p).unwrap_or_else(|e| panic!("{e}"));
        let (frames, err) = read_all(r);
        if !tshark {
            assert!(err.is_none() || err.as_ref().unwrap().is_truncation(), "{p}: {err:?}");
            continue;
        }
        let want = tshark_frames(&path);
        let got: Vec<(i64, u32, u32, u32)> =
            frames.iter().map(|f| (f.ts_sec, f.ts_nsec, f.caplen, f.origlen)).collect();
        assert_eq!(got.len(), want.len(), "{p}: frame count (ours then tshark's); error {err:?}");
        assert_eq!(got, want, "{p}");
        // tshark read every frame; we must not report an error it did not see unless the
        // file really ends inside a record (tshark then stops silently at the last whole one).
        if let Some(e) = err {
            assert!(e.is_truncation(), "{p}: {e}");
        }
    }
}

// ---------- properties ----------

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Any bytes after a valid-looking magic: no panic, at most one error, then the end.
        #[test]
        fn arbitrary_bytes_never_panic(kind in 0usize..5, tail in proptest::collection::vec(any::<u8>(), 0..600)) {
            let magic: &[u8] = match kind {
                0 => &[0xd4, 0xc3, 0xb2, 0xa1],
                1 => &[0xa1, 0xb2, 0x3c, 0x4d],
                2 => &[0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a],
                3 => &[0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0x1c, 0x1a, 0x2b, 0x3c, 0x4d],
                _ => &[],
            };
            let bytes = [magic, &tail].concat();
            if let Ok(r) = CaptureReader::new(&bytes[..], "fuzz") {
                let (frames, _err) = read_all(r);
                for (i, f) in frames.iter().enumerate() {
                    prop_assert_eq!(f.number, i as u64 + 1);
                    prop_assert!(f.offset < bytes.len() as u64);
                }
            }
        }

        /// Frames written with any resolution come back with the same time, cut to that
        /// resolution, and the same bytes.
        #[test]
        fn writer_reader_round_trip(
            frames in proptest::collection::vec(
                (0i64..4_000_000_000, 0u32..1_000_000_000, 0usize..4, proptest::collection::vec(any::<u8>(), 0..200)),
                1..20),
            ng in any::<bool>(),
        ) {
            let precs = [TsPrecision::Micro, TsPrecision::Nano, TsPrecision::Other(3), TsPrecision::Other(0x80 | 30)];
            let format = if ng { CaptureFormat::Pcapng } else { CaptureFormat::Pcap };
            let mut w = CaptureWriter::new(Vec::new(), "rt", format, TsPrecision::Micro).unwrap();
            for (s, ns, p, d) in &frames {
                w.write_frame_with_precision(*s, *ns, precs[*p], 1, d.len() as u32 + 4, d).unwrap();
            }
            let bytes = w.into_inner().unwrap();
            let (got, err) = read_bytes(&bytes).unwrap();
            prop_assert!(err.is_none());
            prop_assert_eq!(got.len(), frames.len());
            // classic pcap takes one resolution for the file: ns if any frame... the first is finer than µs
            let file_ns = !ng && precs[frames[0].2].finer_than_micro();
            for (g, (s, ns, p, d)) in got.iter().zip(&frames) {
                let p = if ng { precs[*p] } else if file_ns { TsPrecision::Nano } else { TsPrecision::Micro };
                let units = p.units_per_second().unwrap();
                // expected: nanoseconds truncated to the resolution (exact integer arithmetic)
                let ticks = u128::from(*ns) * u128::from(units) / 1_000_000_000;
                let want_ns = (ticks * 1_000_000_000 / u128::from(units)) as u32;
                prop_assert_eq!((g.ts_sec, g.ts_nsec, g.precision), (*s, want_ns, p));
                prop_assert_eq!(&g.data, d);
                prop_assert_eq!(g.origlen, d.len() as u32 + 4);
            }
        }
    }
}

#[test]
fn ts_precision_helpers() {
    assert_eq!(TsPrecision::from_if_tsresol(6), TsPrecision::Micro);
    assert_eq!(TsPrecision::from_if_tsresol(9), TsPrecision::Nano);
    assert_eq!(TsPrecision::Other(3).units_per_second(), Some(1000));
    assert_eq!(TsPrecision::Other(0x80 | 20).units_per_second(), Some(1 << 20));
    assert_eq!(TsPrecision::Other(20).units_per_second(), None, "10^20 does not fit in u64");
    // 2^-20 s = 0.95 µs needs 7 decimal digits; 2^-10 s needs 4 (0.0009765625 -> ~1e-3.01)
    assert_eq!(TsPrecision::Other(0x80 | 20).decimal_digits(), 7);
    assert_eq!(TsPrecision::Other(0x80 | 10).decimal_digits(), 4);
    assert_eq!(TsPrecision::Other(12).decimal_digits(), 9);
    assert!(!TsPrecision::Micro.finer_than_micro() && TsPrecision::Nano.finer_than_micro());
    assert_eq!(CaptureFormat::from_path("x.PCAPNG.gz"), CaptureFormat::Pcapng);
    assert_eq!(CaptureFormat::from_path("x.cap"), CaptureFormat::Pcap);
    assert_eq!(TsPrecision::Other(0x94).to_string(), "2^-20 s");
}

// ---------- batches (CaptureReader::next_batch) ----------

/// A reader that returns at most `step` bytes per read, varying: partial reads everywhere.
struct Trickle<'a> {
    b: &'a [u8],
    step: usize,
    n: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.n += 1;
        let k = (1 + self.n % self.step).min(buf.len()).min(self.b.len());
        buf[..k].copy_from_slice(&self.b[..k]);
        self.b = &self.b[k..];
        Ok(k)
    }
}

fn read_batched<R: Read>(mut r: CaptureReader<R>, buffer_bytes: usize) -> (Vec<Owned>, Option<CaptureError>) {
    let mut out = Vec::new();
    let mut batch = capture::FrameBatch::default();
    loop {
        let res = r.next_batch(&mut batch, buffer_bytes);
        out.extend(batch.iter().map(|f| Owned::of(&f)));
        match res {
            Ok(true) => {}
            Ok(false) => return (out, None),
            Err(e) => {
                assert!(r.next_frame().is_none(), "reader must end after an error");
                return (out, Some(e));
            }
        }
    }
}

/// Every file under testdata/ and some hand-built ones (both byte orders, several sections,
/// a cut and a corrupt record): batches hold exactly the frames and the error that
/// `next_frame` gives, whatever the batch size and however the input arrives.
#[test]
fn batches_hold_the_same_frames_and_errors_as_next_frame() {
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut stack = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if ["pcap", "pcapng", "gz"].iter().any(|x| p.extension().is_some_and(|e| e == *x)) {
                inputs.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    for be in [false, true] {
        let (v, _) = multi_section(be);
        inputs.push((format!("multi_section be={be}"), v.clone()));
        inputs.push((format!("multi_section be={be}, cut"), v[..v.len() - 5].to_vec()));
    }
    let (mut v, _) = pcap_file(false, true, 1, &[(1, 2, b"abcdef", 6), (3, 4, b"ghij", 4), (5, 6, b"k", 1)]);
    inputs.push(("pcap".into(), v.clone()));
    let n = v.len();
    v[n - 1 - 16 + 8..n - 1 - 16 + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes()); // caplen too large
    inputs.push(("pcap, corrupt last record".into(), v));
    assert!(inputs.len() > 30, "testdata not found");
    let mut frames_seen = 0;
    for (name, bytes) in &inputs {
        let Ok(r) = CaptureReader::new(&bytes[..], name) else { continue };
        let (want, want_err) = read_all(r);
        frames_seen += want.len();
        for (size, step) in [(1, 0), (100, 0), (4096, 0), (1 << 20, 0), (64, 7), (3000, 1000)] {
            let (got, err) = if step == 0 {
                read_batched(CaptureReader::new(&bytes[..], name).unwrap(), size)
            } else {
                read_batched(CaptureReader::new(Trickle { b: bytes, step, n: 0 }, name).unwrap(), size)
            };
            if let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
                panic!(
                    "{name}: buffer {size}, step {step}: {} frames, {} wanted; first difference at {i}: {:?} vs {:?}",
                    got.len(),
                    want.len(),
                    got.get(i).map(|f| (f.number, f.offset, f.caplen)),
                    want.get(i).map(|f| (f.number, f.offset, f.caplen))
                );
            }
            assert_eq!(err.map(|e| e.to_string()), want_err.as_ref().map(|e| e.to_string()), "{name}: {size}");
        }
    }
    assert!(frames_seen > 500, "{frames_seen}");
}
