//! Arbitrary bytes as a capture file (pcap, pcapng, or gzip of either): the reader must never
//! panic nor allocate without bound, every frame must lie within what it claims, and every
//! frame is dissected.
#![no_main]

use libfuzzer_sys::fuzz_target;
use teredo_tool::capture::CaptureReader;
use teredo_tool::dissect::{dissect_frame, DissectOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = CaptureReader::new(data, "fuzz") else {
        return;
    };
    let opts = DissectOptions::default();
    let mut n = 0u64;
    while let Some(f) = r.next_frame() {
        let Ok(f) = f else { break };
        n += 1;
        assert_eq!(f.number, n);
        assert_eq!(f.caplen as usize, f.data.len());
        assert!(f.ts_nsec < 1_000_000_000, "ts_nsec {} out of range", f.ts_nsec);
        let d = dissect_frame(f.data, f.origlen as usize, f.linktype, &opts);
        let _ = d.message_type();
    }
});
