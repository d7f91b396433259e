//! The analysis' own cost (`pcap --analyze` without reading and dissecting), on a generated
//! capture (examples/gencap.rs, 200 000 packets, seed 1: 64 clients, thousands of peers,
//! eight relays):
//! - `observe`: dissecting every frame and making the observation of each Teredo one, what
//!   the dissecting threads do (against `dissect`'s `mix`: the observations' share);
//! - `feed`: a new `Analyzer` fed every observation in capture order with
//!   `Analyzer::feed_run`, as `pcap`'s main thread does (table growth and fresh pages
//!   included);
//! - `report`: the JSON report of that analysis, written to memory.
//!
//! `cargo bench --bench analyze` (the capture is generated once into target/bench-data/). The
//! whole run, pipeline and all, is `bench/run.sh`'s: these isolate the analysis' parts.

mod common;

use std::sync::OnceLock;

use divan::counter::ItemsCount;
use divan::Bencher;
use teredo_tool::analyze::{AnalyzeOptions, Analyzer, Observation};
use teredo_tool::capture;
use teredo_tool::dissect::{dissect_frame_with, DissectOptions};
use teredo_tool::output::jsontext::Style;

fn main() {
    divan::main();
}

const PACKETS: u32 = 200_000;

/// The capture's frames (link type, original length, bytes) and the observations of its
/// Teredo frames, as `pcap --analyze` makes them (IPv4 fragments aside).
struct Capture {
    frames: Vec<(u32, usize, Vec<u8>)>,
    observations: Vec<Observation>,
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let (pcap, _) = common::generated(PACKETS);
        let mut r = capture::open(pcap.to_str().expect("utf-8 path")).expect("open generated capture");
        let (mut frames, mut observations) = (Vec::new(), Vec::new());
        while let Some(f) = r.next_frame() {
            let f = f.expect("generated capture reads");
            frames.push((f.linktype, f.origlen as usize, f.data.to_vec()));
            if let Some(mut o) = observe(f.data, f.origlen as usize, f.linktype) {
                o.set_frame(&f);
                observations.push(o);
            }
        }
        Capture { frames, observations }
    })
}

/// The observation of a frame, if it holds a Teredo packet and is not an IPv4 fragment.
fn observe(data: &[u8], orig_len: usize, linktype: u32) -> Option<Observation> {
    dissect_frame_with(data, orig_len, linktype, &DissectOptions::default(), |d| {
        (d.teredo.is_some() && d.ipv4_fragment().is_none()).then(|| Observation::from_dissection(d))
    })
}

/// The analysis of every observation.
fn analysed() -> Analyzer {
    let obs = &capture().observations;
    let mut a = Analyzer::new(AnalyzeOptions::default());
    a.feed_run(0, obs, 0..obs.len());
    a
}

#[divan::bench(sample_count = 20)]
fn observe_all(bencher: Bencher) {
    let frames = &capture().frames;
    bencher
        .counter(ItemsCount::new(frames.len()))
        .bench(|| frames.iter().filter_map(|(lt, orig, data)| observe(divan::black_box(data), *orig, *lt)).count());
}

#[divan::bench(sample_count = 20)]
fn feed(bencher: Bencher) {
    let obs = &capture().observations;
    bencher
        .counter(ItemsCount::new(obs.len()))
        .with_inputs(|| Analyzer::new(AnalyzeOptions::default()))
        .bench_local_values(|mut a| {
            a.feed_run(0, obs, 0..obs.len());
            a
        });
}

#[divan::bench(sample_count = 10)]
fn report(bencher: Bencher) {
    let a = analysed();
    let packets = a.stats().packets as usize;
    bencher.counter(ItemsCount::new(packets)).bench_local(|| {
        let mut out = Vec::new();
        a.write_report_json(&mut out, Style::Pretty, None).expect("write to memory");
        out.len()
    });
}
