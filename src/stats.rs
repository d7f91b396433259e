//! Counters over a capture run, for `pcap --summary` and the end-of-run
//! line of `pcap` and `live`. Constant memory: a few counters and one small
//! map keyed by link type.
//!
//! [`CaptureStats::frame`] runs for every frame, so it touches no map: frames
//! of the link type seen last are counted in a plain counter, and only a change
//! of link type (once per file or interface in practice) goes to the map; the
//! time span is kept as two ordered integer keys.

use crate::dissect::{Detection, Dissection, MessageType};
use crate::output::packet::MESSAGE_TYPES;
use crate::output::time::rfc3339;
use crate::output::{new_table, Record};
use crate::wire::link::LinkType;
use comfy_table::Cell;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// What a run saw. Fill it with [`CaptureStats::frame`] and
/// [`CaptureStats::dissection`].
#[derive(Debug, Clone)]
pub struct CaptureStats {
    pub files: u64,
    pub frames: u64,
    /// Captured bytes (sum of caplen).
    pub bytes: u64,
    /// Bytes on the wire (sum of origlen).
    pub wire_bytes: u64,
    /// Teredo packets found (including quoted ones and reassembled datagrams).
    pub teredo: u64,
    pub by_type: [u64; 8],
    pub on_3544: u64,
    pub on_extra_port: u64,
    pub by_heuristic: u64,
    pub quoted: u64,
    pub non_teredo: u64,
    /// Teredo packets whose walk stopped on a malformed field.
    pub malformed: u64,
    /// Teredo packets whose walk stopped because bytes were missing.
    pub truncated: u64,
    /// Frames cut by the snapshot length (caplen < origlen), Teredo or not.
    pub snaplen_cut: u64,
    pub ipv4_fragments: u64,
    pub reassembled: u64,
    /// Fragments dropped: overlapping, or over the reassembly limits.
    pub fragments_dropped: u64,
    /// Frames that matched the filters (and were printed or written).
    pub matched: u64,
    /// Fatal capture-file errors (one per file at most).
    pub capture_errors: u64,
    /// Frames per link type, except the current run (`run_linktype`,
    /// `run_frames`): read them through [`CaptureStats::linktypes`].
    linktypes: BTreeMap<u32, u64>,
    /// Link type of the last frame counted.
    run_linktype: u32,
    /// Frames of `run_linktype` counted since it last changed (not yet in `linktypes`).
    run_frames: u64,
    /// Earliest and latest timestamp as [`ts_key`]s; `i128::MAX` / `i128::MIN` when no frame.
    first_key: i128,
    last_key: i128,
    /// Fractional digits of the finest timestamp precision seen.
    pub ts_digits: u8,
}

impl Default for CaptureStats {
    fn default() -> Self {
        CaptureStats {
            files: 0,
            frames: 0,
            bytes: 0,
            wire_bytes: 0,
            teredo: 0,
            by_type: [0; 8],
            on_3544: 0,
            on_extra_port: 0,
            by_heuristic: 0,
            quoted: 0,
            non_teredo: 0,
            malformed: 0,
            truncated: 0,
            snaplen_cut: 0,
            ipv4_fragments: 0,
            reassembled: 0,
            fragments_dropped: 0,
            matched: 0,
            capture_errors: 0,
            linktypes: BTreeMap::new(),
            run_linktype: 0,
            run_frames: 0,
            first_key: i128::MAX,
            last_key: i128::MIN,
            ts_digits: 0,
        }
    }
}

/// A timestamp as one integer with the order of `(seconds, nanoseconds)`: nanoseconds are
/// below 2^32, so they fit under the seconds shifted by 32 bits.
fn ts_key(sec: i64, nsec: u32) -> i128 {
    (i128::from(sec) << 32) | i128::from(nsec)
}

fn ts_from_key(k: i128) -> (i64, u32) {
    ((k >> 32) as i64, k as u32)
}

/// Index of `t` in [`MESSAGE_TYPES`] (the order of `by_type`).
fn type_index(t: MessageType) -> usize {
    match t {
        MessageType::Bubble => 0,
        MessageType::IndirectBubble => 1,
        MessageType::RouterSolicitation => 2,
        MessageType::RouterAdvertisement => 3,
        MessageType::EchoRequest => 4,
        MessageType::EchoReply => 5,
        MessageType::Data => 6,
        MessageType::Malformed => 7,
    }
}

impl CaptureStats {
    /// Counts a capture record.
    #[inline]
    pub fn frame(&mut self, linktype: u32, caplen: u32, origlen: u32, ts_sec: i64, ts_nsec: u32, ts_digits: u8) {
        self.frames += 1;
        self.bytes += u64::from(caplen);
        self.wire_bytes += u64::from(origlen);
        if caplen < origlen {
            self.snaplen_cut += 1;
        }
        if linktype == self.run_linktype {
            self.run_frames += 1;
        } else {
            self.start_linktype_run(linktype);
        }
        let k = ts_key(ts_sec, ts_nsec);
        // Branches rather than min/max: captures are nearly always in time order, so both
        // are predicted, where a 128-bit min/max costs a compare and two moves each.
        if k > self.last_key {
            self.last_key = k;
        }
        if k < self.first_key {
            self.first_key = k;
        }
        self.ts_digits = self.ts_digits.max(ts_digits);
    }

    /// A frame of another link type than the last one: the run ends, a new one starts.
    #[cold]
    #[inline(never)]
    fn start_linktype_run(&mut self, linktype: u32) {
        self.end_linktype_run();
        self.run_linktype = linktype;
        self.run_frames = 1;
    }

    /// Moves the current run of one link type into the map.
    fn end_linktype_run(&mut self) {
        if self.run_frames > 0 {
            *self.linktypes.entry(self.run_linktype).or_insert(0) += self.run_frames;
            self.run_frames = 0;
        }
    }

    /// Frames per link type.
    pub fn linktypes(&self) -> BTreeMap<u32, u64> {
        let mut m = self.linktypes.clone();
        if self.run_frames > 0 {
            *m.entry(self.run_linktype).or_insert(0) += self.run_frames;
        }
        m
    }

    /// Earliest timestamp seen (seconds, nanoseconds).
    pub fn first(&self) -> Option<(i64, u32)> {
        (self.first_key != i128::MAX).then(|| ts_from_key(self.first_key))
    }

    /// Latest timestamp seen (seconds, nanoseconds).
    pub fn last(&self) -> Option<(i64, u32)> {
        (self.last_key != i128::MIN).then(|| ts_from_key(self.last_key))
    }

    /// Counts what the dissector found in a frame (or a reassembled datagram).
    pub fn dissection(&mut self, d: &Dissection<'_>) {
        let Some(t) = &d.teredo else {
            self.non_teredo += 1;
            return;
        };
        self.teredo += 1;
        self.by_type[type_index(t.message_type)] += 1;
        match d.detection {
            Detection::Port3544 => self.on_3544 += 1,
            Detection::ExtraPort => self.on_extra_port += 1,
            Detection::Heuristic => self.by_heuristic += 1,
            Detection::Assumed | Detection::NotTeredo => {}
        }
        if d.quoted {
            self.quoted += 1;
        }
        if let Some(e) = d.errors.iter().next() {
            if e.is_truncated() {
                self.truncated += 1;
            } else {
                self.malformed += 1;
            }
        }
    }

    /// Adds the counters of another run over other frames (e.g. those another
    /// thread counted): every count is summed, link types are joined, and the
    /// time span covers both.
    pub fn merge(&mut self, o: &CaptureStats) {
        let CaptureStats {
            files,
            frames,
            bytes,
            wire_bytes,
            teredo,
            by_type,
            on_3544,
            on_extra_port,
            by_heuristic,
            quoted,
            non_teredo,
            malformed,
            truncated,
            snaplen_cut,
            ipv4_fragments,
            reassembled,
            fragments_dropped,
            matched,
            capture_errors,
            linktypes: _,
            run_linktype: _,
            run_frames: _,
            first_key,
            last_key,
            ts_digits,
        } = o;
        for (a, b) in [
            (&mut self.files, files),
            (&mut self.frames, frames),
            (&mut self.bytes, bytes),
            (&mut self.wire_bytes, wire_bytes),
            (&mut self.teredo, teredo),
            (&mut self.on_3544, on_3544),
            (&mut self.on_extra_port, on_extra_port),
            (&mut self.by_heuristic, by_heuristic),
            (&mut self.quoted, quoted),
            (&mut self.non_teredo, non_teredo),
            (&mut self.malformed, malformed),
            (&mut self.truncated, truncated),
            (&mut self.snaplen_cut, snaplen_cut),
            (&mut self.ipv4_fragments, ipv4_fragments),
            (&mut self.reassembled, reassembled),
            (&mut self.fragments_dropped, fragments_dropped),
            (&mut self.matched, matched),
            (&mut self.capture_errors, capture_errors),
        ] {
            *a += *b;
        }
        for (a, b) in self.by_type.iter_mut().zip(by_type) {
            *a += *b;
        }
        self.end_linktype_run();
        for (lt, n) in o.linktypes() {
            *self.linktypes.entry(lt).or_insert(0) += n;
        }
        self.first_key = self.first_key.min(*first_key);
        self.last_key = self.last_key.max(*last_key);
        self.ts_digits = self.ts_digits.max(*ts_digits);
    }

    /// Seconds from the first to the last timestamp.
    pub fn duration(&self) -> f64 {
        match (self.first(), self.last()) {
            (Some(a), Some(b)) => (b.0 - a.0) as f64 + (f64::from(b.1) - f64::from(a.1)) / 1e9,
            _ => 0.0,
        }
    }

    /// One line for stderr at the end of a per-packet run.
    pub fn short_line(&self) -> String {
        format!(
            "{} {}, {} Teredo ({} on 3544, {} by heuristic, {} on extra ports, {} quoted in ICMP), {} malformed, {} truncated, {} not Teredo",
            self.frames,
            if self.frames == 1 { "frame" } else { "frames" },
            self.teredo,
            self.on_3544,
            self.by_heuristic,
            self.on_extra_port,
            self.quoted,
            self.malformed,
            self.truncated,
            self.non_teredo
        )
    }

    pub fn to_json(&self) -> Value {
        let by_type: serde_json::Map<String, Value> =
            MESSAGE_TYPES.iter().zip(self.by_type).map(|(t, n)| (t.as_str().to_string(), json!(n))).collect();
        let linktypes: Vec<Value> = self
            .linktypes()
            .iter()
            .map(|(&lt, &n)| json!({ "linktype": lt, "name": LinkType(lt).name(), "frames": n }))
            .collect();
        let digits = self.ts_digits;
        json!({
            "files": self.files,
            "frames": self.frames,
            "bytes": self.bytes,
            "wire_bytes": self.wire_bytes,
            "teredo": self.teredo,
            "by_type": by_type,
            "by_port_class": {
                "port_3544": self.on_3544,
                "extra_port": self.on_extra_port,
                "heuristic": self.by_heuristic,
            },
            "quoted": self.quoted,
            "non_teredo": self.non_teredo,
            "malformed": self.malformed,
            "truncated": self.truncated,
            "snaplen_cut": self.snaplen_cut,
            "ipv4_fragments": self.ipv4_fragments,
            "reassembled": self.reassembled,
            "fragments_dropped": self.fragments_dropped,
            "matched": self.matched,
            "capture_errors": self.capture_errors,
            "linktypes": linktypes,
            "first": self.first().map(|(s, n)| rfc3339(s, n, digits)),
            "last": self.last().map(|(s, n)| rfc3339(s, n, digits)),
            "duration_s": self.duration(),
        })
    }
}

impl Record for CaptureStats {
    fn to_json(&self) -> Value {
        CaptureStats::to_json(self)
    }

    fn write_table(&self, w: &mut dyn Write, color: bool) -> io::Result<()> {
        let mut t = new_table(color);
        t.set_header(vec![Cell::new("summary"), Cell::new("")]);
        let mut row = |k: &str, v: String| {
            t.add_row(vec![Cell::new(k), Cell::new(v)]);
        };
        if self.files > 1 {
            row("files", self.files.to_string());
        }
        row("frames read", self.frames.to_string());
        row("bytes", format!("{} captured, {} on the wire", self.bytes, self.wire_bytes));
        row("Teredo frames", self.teredo.to_string());
        for (ty, n) in MESSAGE_TYPES.iter().zip(self.by_type) {
            row(&format!("  {}", ty.as_str()), n.to_string());
        }
        row("  on port 3544", self.on_3544.to_string());
        if self.on_extra_port > 0 {
            row("  on --ports", self.on_extra_port.to_string());
        }
        row("  found by heuristic", self.by_heuristic.to_string());
        row("  quoted in ICMPv4 errors", self.quoted.to_string());
        row("  with a malformed field", self.malformed.to_string());
        row("  cut short (truncated)", self.truncated.to_string());
        row("non-Teredo frames", self.non_teredo.to_string());
        row("snaplen-cut frames", self.snaplen_cut.to_string());
        if self.ipv4_fragments > 0 {
            row(
                "IPv4 fragments",
                format!(
                    "{} ({} datagrams reassembled, {} fragments dropped)",
                    self.ipv4_fragments, self.reassembled, self.fragments_dropped
                ),
            );
        }
        let lts: Vec<String> =
            self.linktypes().iter().map(|(&lt, &n)| format!("{} ({lt}): {n}", LinkType(lt).name())).collect();
        row("link types", lts.join(", "));
        if let (Some(a), Some(b)) = (self.first(), self.last()) {
            row(
                "time span",
                format!(
                    "{} → {} ({:.3} s)",
                    rfc3339(a.0, a.1, self.ts_digits),
                    rfc3339(b.0, b.1, self.ts_digits),
                    self.duration()
                ),
            );
        }
        if self.capture_errors > 0 {
            row("capture file errors", self.capture_errors.to_string());
        }
        writeln!(w, "{t}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counting frames in two halves and merging gives the counts of one pass.
    #[test]
    fn merge_equals_one_pass() {
        let frames = [(1u32, 60u32, 60u32, 100i64, 5u32, 6u8), (101, 40, 90, 99, 7, 9), (1, 70, 70, 101, 0, 6)];
        let mut whole = CaptureStats::default();
        let mut halves = [CaptureStats::default(), CaptureStats::default()];
        for (i, &(lt, cap, orig, s, ns, dg)) in frames.iter().enumerate() {
            whole.frame(lt, cap, orig, s, ns, dg);
            halves[i % 2].frame(lt, cap, orig, s, ns, dg);
        }
        whole.matched = 3;
        halves[0].matched = 1;
        halves[1].matched = 2;
        let [mut a, b] = halves;
        a.merge(&b);
        assert_eq!(a.to_json(), whole.to_json());
        assert_eq!(a.first(), Some((99, 7)));
        assert_eq!(a.last(), Some((101, 0)));
        assert_eq!(a.linktypes().get(&1), Some(&2));
        assert_eq!(a.snaplen_cut, 1);
        // merging into an empty run copies
        let mut e = CaptureStats::default();
        e.merge(&whole);
        assert_eq!(e.to_json(), whole.to_json());
    }

    /// Link types counted through runs and the map give the counts a plain map gives,
    /// including link type 0 (the value the run starts with) and runs split by merges.
    #[test]
    fn linktype_runs_count_like_a_map() {
        let lts = [0u32, 0, 1, 1, 1, 113, 0, 1, 276, 276, 0, 101, 1];
        let mut want: BTreeMap<u32, u64> = BTreeMap::new();
        let mut s = CaptureStats::default();
        assert!(s.linktypes().is_empty());
        for (i, &lt) in lts.iter().enumerate() {
            *want.entry(lt).or_insert(0) += 1;
            s.frame(lt, 1, 1, i as i64, 0, 6);
            assert_eq!(s.linktypes(), want, "after frame {i}");
        }
        // three parts merged, each ending inside a run
        let mut parts = [CaptureStats::default(), CaptureStats::default(), CaptureStats::default()];
        for (i, &lt) in lts.iter().enumerate() {
            parts[i * 3 / lts.len()].frame(lt, 1, 1, i as i64, 0, 6);
        }
        let [mut a, b, c] = parts;
        a.merge(&b);
        a.merge(&c);
        assert_eq!(a.linktypes(), want);
        // counting goes on correctly after a merge
        a.frame(1, 1, 1, 0, 0, 6);
        s.frame(1, 1, 1, 0, 0, 6);
        assert_eq!(a.linktypes(), s.linktypes());
    }

    /// The time span orders (seconds, nanoseconds) pairs, before 1970 too; no frame, no span.
    #[test]
    fn time_span_orders_timestamps() {
        let mut s = CaptureStats::default();
        assert_eq!((s.first(), s.last(), s.duration()), (None, None, 0.0));
        for &(sec, ns) in &[(5i64, 999_999_999u32), (-3, 7), (-3, 6), (5, 1_000), (-4, 999_999_999), (6, 0)] {
            s.frame(1, 1, 1, sec, ns, 9);
        }
        assert_eq!(s.first(), Some((-4, 999_999_999)));
        assert_eq!(s.last(), Some((6, 0)));
        let mut e = CaptureStats::default();
        e.merge(&CaptureStats::default());
        assert_eq!((e.first(), e.last()), (None, None));
        e.merge(&s);
        assert_eq!((e.first(), e.last()), (s.first(), s.last()));
    }

    #[test]
    fn type_index_follows_message_types() {
        for (i, &t) in MESSAGE_TYPES.iter().enumerate() {
            assert_eq!(type_index(t), i, "{t:?}");
        }
    }
}
