//! Arbitrary bytes through every entry point of the dissector: `dissect_frame` (link type and
//! options from the first two bytes, see common.rs), `dissect_teredo_payload`, the verbose
//! `layers()` walk, and the IPv4 reassembler with `dissect_ipv4_datagram` on what it rebuilds.
//! The dissector must never panic; the checks below are invariants of its output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use teredo_tool::dissect::{dissect_frame, dissect_ipv4_datagram, dissect_teredo_payload, DissectOptions, Dissection};
use teredo_tool::reassembly::{Ipv4Reassembler, ReassemblyLimits, ReassemblyOutcome};

#[path = "common.rs"]
mod common;
use common::*;

fn check(d: &Dissection<'_>) {
    // Every layer view must lie within the frame (offsets are frame offsets).
    for l in d.layers() {
        assert!(l.offset <= d.frame.len() + 65_536, "layer {:?} offset {} past frame", l.layer, l.offset);
    }
    // A walk stops at its first error; the quoted walk runs only when the main one had none.
    assert!(d.errors.len() <= 1, "{:?}", d.errors);
    if let Some(t) = &d.teredo {
        assert!(t.len <= d.frame.len());
        let _ = t.message_type.as_str();
    }
}

fn fragments(data: &[u8], opts: &DissectOptions) {
    let mut r = Ipv4Reassembler::new(ReassemblyLimits { max_datagrams: 8, max_bytes: 1 << 18, timeout_ns: 1_000 });
    let mut rest = data;
    let mut ts = 0u64;
    while rest.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let pkt = &rest[2..2 + n];
        rest = &rest[2 + n..];
        ts += 100;
        if let ReassemblyOutcome::Complete(v) = r.push(ts, pkt) {
            check(&dissect_ipv4_datagram(&v, 0, opts));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let linktype = LINKTYPES[usize::from(data[0]) % LINKTYPES.len()];
    let flags = data[1];
    let frame = &data[2..];
    let opts = DissectOptions {
        heuristic: flags & FLAG_HEURISTIC != 0,
        extra_ports: if flags & FLAG_EXTRA_PORT != 0 { vec![4500, 40000] } else { Vec::new() },
        ..DissectOptions::default()
    };
    if flags & FLAG_FRAGMENTS != 0 {
        fragments(frame, &opts);
        return;
    }
    let orig_len = if flags & FLAG_CUT != 0 { frame.len() + usize::from(flags >> 4) * 97 + 1 } else { frame.len() };
    let d = dissect_frame(frame, orig_len, linktype, &opts);
    check(&d);
    // The same bytes as a UDP payload known to be Teredo.
    check(&dissect_teredo_payload(frame, 42));
    // And the UDP payload this frame carries, if any, on its own.
    if let (Some(_), Some(t)) = (d.udp, d.teredo) {
        if !d.quoted {
            let p = &frame[t.offset..t.offset + t.len];
            let alone = dissect_teredo_payload(p, t.offset);
            assert_eq!(alone.message_type(), d.message_type(), "payload alone classified differently");
        }
    }
});
