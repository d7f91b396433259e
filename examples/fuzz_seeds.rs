//! Seed-corpus builder for the `dissect` target: reads capture files with the project's own
//! reader and writes each distinct frame as one corpus entry in the layout of
//! `fuzz/fuzz_targets/common.rs` (link-type index, flags, frame). For every file holding IPv4
//! fragments it also writes one FLAG_FRAGMENTS entry with all of them, so that the
//! reassembler path starts from complete datagrams.
//!
//! `cargo run --release --example fuzz_seeds -- OUT_DIR CAPTURE...` (called by fuzz/seed-corpus.sh)

use std::collections::HashSet;
use std::path::Path;

use teredo_tool::capture;
use teredo_tool::wire::link::{parse_link, EtherType};

#[path = "../fuzz/fuzz_targets/common.rs"]
mod common;
use common::*;

/// FNV-1a, for stable file names.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((out, files)) = args.split_first() else {
        return Err("usage: fuzz_seeds OUT_DIR CAPTURE...".into());
    };
    std::fs::create_dir_all(out)?;
    let mut seen = HashSet::new();
    let mut written = 0usize;
    let mut write = |entry: Vec<u8>| -> std::io::Result<()> {
        let h = fnv(&entry);
        if seen.insert(h) {
            std::fs::write(Path::new(out).join(format!("{h:016x}")), &entry)?;
            written += 1;
        }
        Ok(())
    };
    for file in files {
        let mut r = capture::open(file)?;
        let mut frags = vec![0u8, FLAG_FRAGMENTS | FLAG_HEURISTIC];
        let mut nfrags = 0;
        while let Some(f) = r.next_frame() {
            // a capture cut short (some testdata is, on purpose) still gives its first frames
            let Ok(f) = f else { break };
            let Some(idx) = linktype_index(f.linktype) else { continue };
            let mut flags = FLAG_HEURISTIC;
            if (f.origlen as usize) > f.data.len() {
                flags |= FLAG_CUT;
            }
            let mut entry = vec![idx, flags];
            entry.extend_from_slice(f.data);
            write(entry)?;
            if let Ok(l) = parse_link(f.data, f.linktype) {
                let net = &f.data[l.header_len.min(f.data.len())..];
                // IPv4 with MF set or a non-zero fragment offset
                if l.ethertype == EtherType::IPV4
                    && net.len() >= 20
                    && u16::from_be_bytes([net[6], net[7]]) & 0x3fff != 0
                {
                    frags.extend_from_slice(&(net.len().min(0xffff) as u16).to_be_bytes());
                    frags.extend_from_slice(&net[..net.len().min(0xffff)]);
                    nfrags += 1;
                }
            }
        }
        if nfrags > 0 {
            write(frags)?;
        }
    }
    eprintln!("fuzz_seeds: {written} entries in {out}");
    Ok(())
}
