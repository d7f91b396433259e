//! Per-packet dissection cost, by Teredo message type and for non-Teredo background, over the
//! frames of a generated capture (examples/gencap.rs, 20 000 packets, seed 1, grouped by the
//! generator's truth labels). Each benchmark dissects every frame of its class (up to 2 000)
//! once per iteration; divan reports the time per iteration and frames/s.
//!
//! `cargo bench --bench dissect` (the capture is generated once into target/bench-data/).

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use divan::counter::{BytesCount, ItemsCount};
use divan::Bencher;
use teredo_tool::capture;
use teredo_tool::dissect::{dissect_frame, DissectOptions};

fn main() {
    divan::main();
}

const PACKETS: u32 = 20_000;
const PER_CLASS: usize = 2_000;

/// One captured frame: link type, original length, bytes.
struct Owned {
    linktype: u32,
    orig_len: usize,
    data: Vec<u8>,
}

/// Generate (once) the capture and its truth file with gencap, then group frames by class.
fn frames() -> &'static BTreeMap<String, Vec<Owned>> {
    static FRAMES: OnceLock<BTreeMap<String, Vec<Owned>>> = OnceLock::new();
    FRAMES.get_or_init(|| {
        let (pcap, truth) = common::generated(PACKETS);
        let labels: Vec<String> = std::fs::read_to_string(&truth)
            .expect("read truth")
            .lines()
            .map(|l| l.split_once(' ').map_or("?", |(_, c)| c).to_string())
            .collect();
        let mut by: BTreeMap<String, Vec<Owned>> = BTreeMap::new();
        let mut r = capture::open(pcap.to_str().expect("utf-8 path")).expect("open generated capture");
        let mut i = 0;
        while let Some(f) = r.next_frame() {
            let f = f.expect("generated capture reads");
            let class = labels.get(i).cloned().unwrap_or_default();
            i += 1;
            let o = Owned { linktype: f.linktype, orig_len: f.origlen as usize, data: f.data.to_vec() };
            let all = by.entry("all".to_string()).or_default();
            all.push(Owned { linktype: o.linktype, orig_len: o.orig_len, data: o.data.clone() });
            let v = by.entry(class).or_default();
            if v.len() < PER_CLASS {
                v.push(o);
            }
        }
        by
    })
}

fn run(bencher: Bencher, class: &str, opts: DissectOptions) {
    let frames = frames().get(class).unwrap_or_else(|| panic!("no frames of class {class}"));
    let bytes: usize = frames.iter().map(|f| f.data.len()).sum();
    bencher.counter(ItemsCount::new(frames.len())).counter(BytesCount::new(bytes)).bench(|| {
        let mut teredo = 0usize;
        for f in frames {
            let d = dissect_frame(divan::black_box(&f.data), f.orig_len, f.linktype, &opts);
            teredo += usize::from(d.is_teredo()) + d.notices.len();
        }
        teredo
    });
}

/// Teredo messages (gencap truth classes).
#[divan::bench(args = [
    "teredo:rs",
    "teredo:ra",
    "teredo:bubble-direct",
    "teredo:bubble-indirect",
    "teredo:bubble-nonce",
    "teredo:echo-request",
    "teredo:echo-reply",
    "teredo:data-3544",
    "teredo:data-p2p",
    "teredo:snaplen-cut",
    "malformed:auth-length",
])]
fn teredo(bencher: Bencher, class: &str) {
    run(bencher, class, DissectOptions::default());
}

/// Non-Teredo background: what a mostly non-Teredo capture costs per frame.
#[divan::bench(args = ["other:tcp", "other:dns", "other:quic", "other:arp", "other:ntp", "other:random-udp", "other:6in4"])]
fn background(bencher: Bencher, class: &str) {
    run(bencher, class, DissectOptions::default());
}

/// The whole generated mix, with and without the heuristic.
#[divan::bench(args = [true, false])]
fn mix(bencher: Bencher, heuristic: bool) {
    run(bencher, "all", DissectOptions { heuristic, ..DissectOptions::default() });
}
