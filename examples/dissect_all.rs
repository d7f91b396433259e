//! Read and dissect every frame of a capture, count Teredo message types, and print the
//! throughput: the workload profiled for issue 4 (reader + dissector, no output formatting).
//!
//! ```text
//! cargo run --release --example dissect_all -- FILE [--repeat N] [--read-only]
//! valgrind --tool=callgrind target/release/examples/dissect_all FILE
//! ```

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};
use teredo_tool::capture;
use teredo_tool::dissect::{dissect_frame, DissectOptions};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file = args.first().context("usage: dissect_all FILE [--repeat N] [--read-only]")?;
    let repeat: usize = match args.iter().position(|a| a == "--repeat") {
        Some(i) => args.get(i + 1).context("--repeat N")?.parse()?,
        None => 1,
    };
    // --read-only: frames are read but not dissected (the reader's share of the time)
    let read_only = args.iter().any(|a| a == "--read-only");
    let opts = DissectOptions::default();
    for _ in 0..repeat {
        let start = Instant::now();
        let mut r = capture::open(file)?;
        // indexed by MessageType as usize; no map on the hot path
        let mut by_type = [0u64; 8];
        let (mut frames, mut bytes, mut teredo, mut cut, mut errors) = (0u64, 0u64, 0u64, 0u64, 0u64);
        while let Some(f) = r.next_frame() {
            let f = f?;
            frames += 1;
            bytes += u64::from(f.caplen);
            if read_only {
                cut += u64::from(f.origlen > f.caplen);
                continue;
            }
            let d = dissect_frame(f.data, f.origlen as usize, f.linktype, &opts);
            if let Some(t) = d.message_type() {
                teredo += 1;
                by_type[t as usize] += 1;
            }
            cut += u64::from(d.is_cut());
            errors += u64::from(!d.errors.is_empty());
        }
        let secs = start.elapsed().as_secs_f64();
        let file_bytes = r.bytes_read();
        let names: BTreeMap<&str, u64> =
            teredo_tool::output::packet::MESSAGE_TYPES.into_iter().map(|t| (t.as_str(), by_type[t as usize])).collect();
        println!("{frames} frames, {bytes} frame bytes, {teredo} Teredo, {cut} cut, {errors} with errors");
        for (k, v) in &names {
            println!("  {k:<22} {v}");
        }
        println!(
            "{secs:.3} s: {:.0} frames/s, {:.1} MB/s (file bytes {file_bytes})",
            frames as f64 / secs,
            file_bytes as f64 / secs / 1e6
        );
    }
    Ok(())
}
