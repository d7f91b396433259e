//! Arbitrary bytes as a capture file (pcap, pcapng, or gzip of either): the reader must never
//! panic nor allocate without bound, every frame must lie within what it claims, and every
//! frame is dissected. Read again in batches (`next_batch`, with a batch size taken from the
//! input), the same frames and the same error must come out.
#![no_main]

use libfuzzer_sys::fuzz_target;
use teredo_tool::capture::{CaptureReader, Frame, FrameBatch};
use teredo_tool::dissect::{dissect_frame, DissectOptions};

type Owned = (u64, i64, u32, u32, u32, u32, u64, Vec<u8>);

fn owned(f: &Frame<'_>) -> Owned {
    (f.number, f.ts_sec, f.ts_nsec, f.linktype, f.interface_id, f.origlen, f.file_offset, f.data.to_vec())
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = CaptureReader::new(data, "fuzz") else {
        return;
    };
    let opts = DissectOptions::default();
    let mut n = 0u64;
    let mut frames = Vec::new();
    let mut error = None;
    while let Some(f) = r.next_frame() {
        let f = match f {
            Ok(f) => f,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        };
        n += 1;
        assert_eq!(f.number, n);
        assert_eq!(f.caplen as usize, f.data.len());
        assert!(f.ts_nsec < 1_000_000_000, "ts_nsec {} out of range", f.ts_nsec);
        let d = dissect_frame(f.data, f.origlen as usize, f.linktype, &opts);
        let _ = d.message_type();
        frames.push(owned(&f));
    }

    let size = 1 + usize::from(data.last().copied().unwrap_or(0)) * 64;
    let Ok(mut r) = CaptureReader::new(data, "fuzz") else {
        panic!("a second reader of the same bytes failed");
    };
    let mut batch = FrameBatch::default();
    let mut batched = Vec::new();
    let batch_error = loop {
        let res = r.next_batch(&mut batch, size);
        batched.extend(batch.iter().map(|f| owned(&f)));
        match res {
            Ok(true) => {}
            Ok(false) => break None,
            Err(e) => break Some(e.to_string()),
        }
    };
    assert!(batched == frames, "batches differ from next_frame ({} vs {} frames)", batched.len(), frames.len());
    assert_eq!(batch_error, error);
});
