//! Capture reader throughput over in-memory captures (no disk, no page cache): the cost
//! of framing alone, which `pcap --summary` pays on top of the kernel's copy.
//!
//! `cargo bench --bench capture_read`

use std::io::Write;

use divan::counter::BytesCount;
use divan::Bencher;
use teredo_tool::capture::{CaptureFormat, CaptureReader, CaptureWriter, TsPrecision};

fn main() {
    divan::main();
}

/// 100 000 Ethernet frames of 60..1514 bytes (mean about 300, like the gencap mix).
fn capture(format: CaptureFormat) -> Vec<u8> {
    let mut w = CaptureWriter::new(Vec::new(), "bench", format, TsPrecision::Micro).unwrap();
    let mut x = 0x1234_5678u64;
    let frame = vec![0x5au8; 1514];
    for i in 0..100_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = match x % 10 {
            0..=5 => 60 + (x >> 8) % 140,
            6..=8 => 200 + (x >> 8) % 400,
            _ => 600 + (x >> 8) % 914,
        } as usize;
        w.write_frame(1_700_000_000 + i64::from(i / 1000), i * 1000 % 1_000_000_000, 1, len as u32, &frame[..len])
            .unwrap();
    }
    w.into_inner().unwrap()
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// Reads every frame, touching its length so that nothing is optimised away.
fn read_all(bytes: &[u8]) -> u64 {
    let mut r = CaptureReader::new(bytes, "bench").unwrap();
    let mut total = 0u64;
    while let Some(f) = r.next_frame() {
        let f = f.unwrap();
        total += u64::from(f.caplen) + u64::from(f.data.first().copied().unwrap_or(0));
    }
    total
}

#[divan::bench(args = ["pcap", "pcapng", "pcap.gz"])]
fn read(bencher: Bencher, kind: &str) {
    let bytes = match kind {
        "pcap" => capture(CaptureFormat::Pcap),
        "pcapng" => capture(CaptureFormat::Pcapng),
        _ => gzip(&capture(CaptureFormat::Pcap)),
    };
    let plain_len = if kind == "pcap.gz" { capture(CaptureFormat::Pcap).len() } else { bytes.len() };
    bencher.counter(BytesCount::new(plain_len)).bench(|| read_all(divan::black_box(&bytes)));
}
