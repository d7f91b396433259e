//! `teredo-tool pcap`: every Teredo packet in capture files.
//!
//! The frame loop lives in [`Processor`] so that `live` feeds the same
//! pipeline: dissect → reassemble IPv4 fragments → filter → print / count /
//! write.

use super::{report, report_error, UsageError, EXIT_INPUT};
use crate::cli::{PcapArgs, SelectArgs, ShowArgs};
use anyhow::Context;
use std::io::{self, IsTerminal, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;
use std::sync::{mpsc, Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};
use teredo_tool::addr::{parse_ipv6_token, TeredoAddress};
use teredo_tool::analyze::{AnalyzeOptions, Analyzer, FrameMeta, Observation};
use teredo_tool::capture::{self, CaptureFormat, CaptureWriter, Frame, FrameBatch, TsPrecision, LINKTYPE_IPV6};
use teredo_tool::dissect::{dissect_frame, dissect_frame_with, dissect_ipv4_datagram, DissectOptions, Dissection};
use teredo_tool::output::packet::{table_header, AddressCache, FrameInfo, PacketView, MESSAGE_TYPES};
use teredo_tool::output::time::parse_time;
use teredo_tool::output::{Format, Output, Record};
use teredo_tool::reassembly::{Ipv4Reassembler, ReassemblyLimits, ReassemblyOutcome};
use teredo_tool::stats::CaptureStats;

pub fn run<W: Write>(args: &PcapArgs, out: &mut Output<W>) -> anyhow::Result<ExitCode> {
    let mut p = Processor::new(&args.select, &args.show, out.format())?;
    p.since = args.since.as_deref().map(parse_time).transpose().map_err(|e| UsageError(format!("--since {e}")))?;
    p.until = args.until.as_deref().map(parse_time).transpose().map_err(|e| UsageError(format!("--until {e}")))?;
    let multi = args.files.len() > 1;
    let mut failed = false;
    for (index, name) in args.files.iter().enumerate() {
        p.begin_file(index, if multi { Some(name.as_str()) } else { None });
        let mut reader = match capture::open(name) {
            Ok(r) => r,
            Err(e) => {
                out.writer().flush()?;
                report_error(&e);
                p.stats.capture_errors += 1;
                failed = true;
                continue;
            }
        };
        p.stats.files += 1;
        let mut progress = Progress::new(name, &args.show);
        if p.order_free() {
            failed |= dissect_in_parallel(&mut p, &mut reader, &mut progress, out)?;
            progress.clear();
            continue;
        }
        while let Some(item) = reader.next_frame() {
            match item {
                Ok(frame) => {
                    progress.tick(frame.file_offset, frame.number);
                    if p.frame(&frame, out)? == Flow::Stop {
                        break;
                    }
                }
                Err(e) => {
                    // Everything before the cut was already printed.
                    progress.clear();
                    out.writer().flush()?;
                    report_error(&e);
                    p.stats.capture_errors += 1;
                    failed = true;
                }
            }
        }
        progress.clear();
        if p.stopped() {
            break;
        }
    }
    p.finish(out)?;
    Ok(if failed { ExitCode::from(EXIT_INPUT) } else { ExitCode::SUCCESS })
}

/// Bytes of records per batch.
const BATCH_BYTES: usize = 256 << 10;
/// Batches read and not settled yet, at most (2 MiB of frames): the dissecting threads wait
/// when they are this far ahead of the main thread.
const WINDOW: u64 = 8;
/// Threads that dissect beside the main thread, at most (the main thread dissects too when
/// it would otherwise wait). One fewer than the processors, at least one.
const MAX_HELPERS: usize = 3;

/// A batch of frames and, once dissected, its IPv4 fragments, left for the main thread to
/// reassemble in capture order, and, when analysing, the observations of its Teredo frames
/// and their frame indexes within the batch (ascending). Settled ones are read into again,
/// buffers and all: no page of them is allocated twice.
#[derive(Default)]
struct Dissected {
    batch: FrameBatch,
    fragments: Vec<u32>,
    observations: Vec<Observation>,
    observed: Vec<u32>,
    /// The records of the batch's matching Teredo frames (NDJSON lines or table rows), and
    /// where the record of each such frame (index in the batch) ends.
    records: Vec<u8>,
    record_ends: Vec<(u32, usize)>,
    /// Timestamp of the file's first frame, ns (for relative times).
    file_start: i128,
}

/// What a dissecting thread needs to filter and render records itself, NDJSON lines or table
/// rows (see [`Processor::order_free`]).
#[derive(Clone)]
struct Printing {
    filter: Filter,
    since: Option<i128>,
    until: Option<i128>,
    file: Option<String>,
    verbose: bool,
    hex: bool,
    /// Table rows (with or without colour) instead of NDJSON lines.
    table: Option<bool>,
}

/// Dissects every frame of one batch and, with `count`, counts it into `stats`, except IPv4
/// fragments, whose indexes go back with the batch. With `observe`, it also extracts what the
/// analysis needs of each Teredo frame; with `print`, it renders the record of each matching
/// one.
fn dissect_batch(
    work: &mut Dissected,
    opts: &DissectOptions,
    count: bool,
    observe: bool,
    print: Option<&Printing>,
    stats: &mut CaptureStats,
    addresses: &mut AddressCache,
) {
    let Dissected { batch, fragments, observations, observed, records, record_ends, file_start } = work;
    fragments.clear();
    observations.clear();
    observed.clear();
    records.clear();
    record_ends.clear();
    if observe {
        // at most one observation a frame: room for all, not grown (and copied) on the way
        observations.reserve(batch.len());
        observed.reserve(batch.len());
    }
    for (i, f) in batch.iter().enumerate() {
        // Built in place: `let d = dissect_frame(..)` would copy the result every frame.
        dissect_frame_with(f.data, f.origlen as usize, f.linktype, opts, |d| {
            if d.ipv4_fragment().is_some() {
                fragments.push(i as u32);
                return;
            }
            if count {
                stats.frame(f.linktype, f.caplen, f.origlen, f.ts_sec, f.ts_nsec, f.ts_precision.decimal_digits());
                stats.dissection(d);
            }
            let Some(ps) = print else {
                if d.teredo.is_some() {
                    // No filter: every Teredo packet matches.
                    stats.matched += 1;
                    if observe {
                        // made in place: an observation is 192 bytes
                        observations.push(Observation::default());
                        if let Some(o) = observations.last_mut() {
                            o.set(d);
                            o.set_frame(&f);
                        }
                        observed.push(i as u32);
                    }
                }
                return;
            };
            // As `Processor::packet` does for one frame, the record as `Output::record`
            // writes it.
            if d.teredo.is_none() || !in_window(ps.since, ps.until, &f) || !ps.filter.matches(d) {
                return;
            }
            stats.matched += 1;
            let info = frame_info(ps.file.as_deref(), &f, *file_start);
            if let Some(view) = packet_view(&info, d, addresses, ps.verbose, ps.hex) {
                let start = records.len();
                let written = match ps.table {
                    Some(color) => view.write_table(records, color),
                    None => view.write_json(records).map(|()| records.push(b'\n')),
                };
                if written.is_ok() {
                    record_ends.push((i as u32, records.len()));
                } else {
                    records.truncate(start);
                }
            }
        });
    }
}

/// Hands a dissected batch's IPv4 fragments to the processor and its observations to the
/// analysis, in capture order.
fn settle<W: Write>(p: &mut Processor, out: &mut Output<W>, done: &Dissected) -> anyhow::Result<()> {
    // Relative times count from the file's first frame, which the reader saw.
    p.file_start.get_or_insert(done.file_start);
    let obs = &done.observations;
    let mut next = 0;
    // The observations of the frames before frame `i` of the batch.
    let mut feed_before = |i: u32, p: &mut Processor| {
        let end = next + done.observed[next..].partition_point(|&j| j < i);
        if let Some(a) = p.analyzer.as_mut() {
            a.feed_run(p.file_index, obs, next..end);
        }
        next = end;
    };
    let mut records = done.record_ends.iter().peekable();
    let mut written = 0;
    // The records of the frames before frame `i` of the batch.
    let mut write_before = |i: u32, p: &mut Processor, out: &mut Output<W>| -> io::Result<()> {
        let mut n = 0;
        let mut end = written;
        while let Some(&(_, e)) = records.next_if(|(j, _)| *j < i) {
            end = e;
            n += 1;
        }
        if n > 0 {
            p.table_header(out)?;
            out.rendered(&done.records[written..end], n)?;
            written = end;
        }
        Ok(())
    };
    for &i in &done.fragments {
        feed_before(i, p);
        write_before(i, p, out)?;
        p.frame(&done.batch.frame(i as usize), out)?;
    }
    feed_before(u32::MAX, p);
    write_before(u32::MAX, p, out)?;
    Ok(())
}

/// Where the threads of [`dissect_in_parallel`] take their batches: the capture reader,
/// behind a lock, read by whichever thread needs work, and what the main thread settled.
struct Source<'a, R: io::Read> {
    reader: &'a mut capture::CaptureReader<R>,
    progress: &'a mut Progress,
    /// Timestamp of the file's first frame, ns.
    file_start: Option<i128>,
    /// Batches read: the next one's sequence number.
    read: u64,
    /// Batches settled by the main thread: the sequence number it needs next.
    settled: u64,
    /// No batch is left to read: the input ended or failed (`error`), or the main thread
    /// stopped.
    done: bool,
    error: Option<capture::CaptureError>,
    /// Settled batches, buffers and all: no page of them is allocated twice.
    spare: Vec<Dissected>,
    /// Helpers waiting for room in the window.
    waiting: usize,
}

impl<'a, R: io::Read> Source<'a, R> {
    /// The source a panicking thread left locked, perhaps in the middle of a batch: the
    /// reading ends there.
    fn ended<'g>(poisoned: PoisonError<MutexGuard<'g, Self>>) -> MutexGuard<'g, Self> {
        let mut s = poisoned.into_inner();
        s.done = true;
        s
    }

    /// The next batch of frames and its sequence number; `None` when there is none to read,
    /// or when [`WINDOW`] batches are read and not settled yet.
    fn next(&mut self) -> Option<(u64, Dissected)> {
        if self.done || self.read - self.settled >= WINDOW {
            return None;
        }
        let mut work = self.spare.pop().unwrap_or_default();
        let res = self.reader.next_batch(&mut work.batch, BATCH_BYTES);
        let batch = &work.batch;
        if let Some(first) = batch.iter().next() {
            self.file_start.get_or_insert(frame_ns(&first));
        }
        if let Some(last) = batch.len().checked_sub(1).map(|i| batch.frame(i)) {
            self.progress.tick_batch(last.file_offset, last.number);
        }
        work.file_start = self.file_start.unwrap_or(0);
        match res {
            Ok(true) => {}
            Ok(false) => self.done = true,
            Err(e) => {
                // the frames before the error are in the batch, settled as any other
                self.progress.clear();
                self.error = Some(e);
                self.done = true;
            }
        }
        if work.batch.is_empty() {
            self.spare.push(work);
            return None;
        }
        self.read += 1;
        Some((self.read - 1, work))
    }
}

/// `--summary`, `--analyze` and/or records without `--count` or output files, on one input.
/// Helper threads take turns at the capture reader, each reading a batch of frames and
/// dissecting it; this thread takes the batches in capture order, writes their records and
/// gives the analysis their observations. When the batch it needs next is not dissected yet,
/// it reads and dissects the next one itself rather than wait: no processor idles while
/// there is work, and the slower side (the analysis, or the dissection) sets the pace.
/// Counts do not depend on the order, except IPv4 reassembly: fragments go back through
/// [`Processor::frame`] here, in capture order. Returns whether the input had an error.
fn dissect_in_parallel<R: io::Read + Send, W: Write>(
    p: &mut Processor,
    reader: &mut capture::CaptureReader<R>,
    progress: &mut Progress,
    out: &mut Output<W>,
) -> anyhow::Result<bool> {
    let helpers = std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1)).clamp(1, MAX_HELPERS);
    let opts = p.opts.clone();
    let observe = p.analyzer.is_some();
    // The capture counters are shown with --summary only (--analyze alone shows the analysis).
    let count = p.show.summary || p.per_packet;
    let print = p.per_packet.then(|| Printing {
        filter: p.filter.clone(),
        since: p.since,
        until: p.until,
        file: p.file.clone(),
        verbose: p.show.verbose,
        hex: p.show.hex,
        table: (p.format == Format::Table).then(|| out.color()),
    });
    let dissect = |work: &mut Dissected, stats: &mut CaptureStats, addresses: &mut AddressCache| {
        dissect_batch(work, &opts, count, observe, print.as_ref(), stats, addresses);
    };
    let source = Mutex::new(Source {
        reader,
        progress,
        file_start: None,
        read: 0,
        settled: 0,
        done: false,
        error: None,
        spare: Vec::new(),
        waiting: 0,
    });
    // A thread that panicked holding the lock may have left the reader in the middle of a
    // batch: the reading ends there (the panic is reported when the thread is joined).
    let lock = || source.lock().unwrap_or_else(Source::ended);
    // Signalled when the main thread settles a batch (room in the window) or stops.
    let settled = Condvar::new();
    // Ends the reading: no batch will be settled any more, or dissected.
    let end = || {
        lock().done = true;
        settled.notify_all();
    };
    std::thread::scope(|scope| {
        // Whatever way this thread leaves the scope (a panic included), the helpers stop
        // waiting for room before the scope waits for them.
        let _end = Finally(end);
        let (tx, rx) = mpsc::channel::<(u64, Dissected)>();
        let helpers: Vec<_> = (0..helpers)
            .map(|_| {
                let (tx, lock, settled, dissect, end) = (tx.clone(), &lock, &settled, &dissect, &end);
                scope.spawn(move || {
                    // A helper that panics leaves a batch unsettled: the main thread, waiting
                    // for it, hears of it when the other helpers stop too.
                    let _end = Finally(|| {
                        if std::thread::panicking() {
                            end();
                        }
                    });
                    let mut stats = CaptureStats::default();
                    let mut addresses = AddressCache::default();
                    loop {
                        let mut s = lock();
                        let next = loop {
                            if let Some(x) = s.next() {
                                break Some(x);
                            }
                            if s.done {
                                break None;
                            }
                            s.waiting += 1;
                            s = settled.wait(s).unwrap_or_else(Source::ended);
                            s.waiting -= 1;
                        };
                        drop(s);
                        let Some((seq, mut work)) = next else { break };
                        dissect(&mut work, &mut stats, &mut addresses);
                        if tx.send((seq, work)).is_err() {
                            break;
                        }
                    }
                    stats
                })
            })
            .collect();
        drop(tx);
        let mut stats = CaptureStats::default();
        let mut addresses = AddressCache::default();
        // Batches dissected ahead of the one needed next, by sequence number.
        let mut ready = std::collections::BTreeMap::new();
        let mut result = Ok(());
        // Settled batches not handed back yet: a helper was reading (holding the lock) when
        // they were settled. The main thread does not wait for the lock to hand them back;
        // it does so the next time it holds the lock, before it could wait for a helper.
        let mut unpublished: Vec<Dissected> = Vec::new();
        // Hands the settled batches back (all before `seq`); true when a helper waits for room.
        let publish = |s: &mut Source<'_, R>, seq: u64, unpublished: &mut Vec<Dissected>| {
            if unpublished.is_empty() {
                return false;
            }
            s.settled = seq;
            s.spare.append(unpublished);
            s.waiting > 0
        };
        for seq in 0.. {
            let work = loop {
                while let Ok((n, w)) = rx.try_recv() {
                    ready.insert(n, w);
                }
                if let Some(w) = ready.remove(&seq) {
                    break Some(w);
                }
                // not dissected yet: dissect the next batch here, if there is room for one
                let mut s = lock();
                if publish(&mut s, seq, &mut unpublished) {
                    settled.notify_all();
                }
                if let Some((n, mut w)) = s.next() {
                    drop(s);
                    dissect(&mut w, &mut stats, &mut addresses);
                    ready.insert(n, w);
                    continue;
                }
                if s.read == seq {
                    if s.done {
                        break None;
                    }
                    // (an empty read that did not end the input: read again)
                    continue;
                }
                drop(s);
                // batch `seq` was read: a helper is dissecting it
                match rx.recv() {
                    Ok((n, w)) => {
                        ready.insert(n, w);
                    }
                    Err(_) => break None,
                }
            };
            let Some(done) = work else { break };
            result = settle(p, out, &done);
            unpublished.push(done);
            if result.is_err() {
                // e.g. stdout closed: stop here, and the helpers with it
                end();
                break;
            }
            let s = match source.try_lock() {
                Ok(s) => Some(s),
                Err(TryLockError::Poisoned(e)) => Some(Source::ended(e)),
                // a helper is reading: the batch is handed back later
                Err(TryLockError::WouldBlock) => None,
            };
            if let Some(mut s) = s {
                if publish(&mut s, seq + 1, &mut unpublished) {
                    drop(s);
                    settled.notify_one();
                }
            }
        }
        drop(rx);
        p.stats.merge(&stats);
        for h in helpers {
            let stats = h.join().map_err(|_| anyhow::anyhow!("a dissecting thread panicked"))?;
            p.stats.merge(&stats);
        }
        result?;
        let error = lock().error.take();
        match error {
            None => Ok(false),
            Some(e) => {
                // Everything before the error was settled above, as in the sequential loop.
                out.writer().flush()?;
                report_error(&e);
                p.stats.capture_errors += 1;
                Ok(true)
            }
        }
    })
}

/// Runs its closure when dropped, on the way out of a scope whatever the way.
struct Finally<F: Fn()>(F);

impl<F: Fn()> Drop for Finally<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// A frame's timestamp, ns since the epoch.
fn frame_ns(f: &Frame<'_>) -> i128 {
    i128::from(f.ts_sec) * 1_000_000_000 + i128::from(f.ts_nsec)
}

/// Whether the frame is inside `--since`/`--until`.
fn in_window(since: Option<i128>, until: Option<i128>, f: &Frame<'_>) -> bool {
    let ts = frame_ns(f);
    since.is_none_or(|s| ts >= s) && until.is_none_or(|u| ts <= u)
}

/// What a printed packet shows of its frame; `file_start` is the file's first timestamp, ns.
fn frame_info<'a>(file: Option<&'a str>, f: &Frame<'_>, file_start: i128) -> FrameInfo<'a> {
    FrameInfo {
        file,
        frame: f.number,
        ts_sec: f.ts_sec,
        ts_nsec: f.ts_nsec,
        ts_digits: f.ts_precision.decimal_digits(),
        relative: (frame_ns(f) - file_start) as f64 / 1e9,
        interface_id: f.interface_id,
        reassembled: false,
    }
}

/// The record of a printed packet, with the `-V` tree and the `-x` dump when asked for.
fn packet_view<'a>(
    info: &FrameInfo<'a>,
    d: &Dissection<'a>,
    addresses: &mut AddressCache,
    verbose: bool,
    hex: bool,
) -> Option<PacketView<'a>> {
    let mut view = PacketView::new(info, d, addresses)?;
    if verbose {
        view = view.with_tree(d);
    }
    if hex {
        view = view.with_hex();
    }
    Some(view)
}

/// Whether to go on reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// The packet filters of `--type`, `--host`, `--port`, `--since/--until`.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    types: Option<[bool; 8]>,
    hosts4: Vec<Ipv4Addr>,
    hosts6: Vec<Ipv6Addr>,
    ports: Vec<u16>,
}

impl Filter {
    pub fn new(select: &SelectArgs) -> Result<Self, UsageError> {
        let mut f = Filter { ports: select.port.clone(), ..Default::default() };
        if !select.types.is_empty() {
            let mut t = [false; 8];
            for name in &select.types {
                let i = MESSAGE_TYPES
                    .iter()
                    .position(|m| m.as_str() == name)
                    .ok_or_else(|| UsageError(format!("--type {name:?}: not a message type")))?;
                t[i] = true;
            }
            f.types = Some(t);
        }
        for h in &select.host {
            if let Ok(v4) = h.parse::<Ipv4Addr>() {
                f.hosts4.push(v4);
            } else {
                let v6 = parse_ipv6_token(h).map_err(|e| UsageError(format!("--host {h:?}: {e}")))?;
                f.hosts6.push(v6);
            }
        }
        Ok(f)
    }

    /// True when no filter is set: every Teredo packet matches.
    fn is_empty(&self) -> bool {
        self.types.is_none() && self.hosts4.is_empty() && self.hosts6.is_empty() && self.ports.is_empty()
    }

    fn matches(&self, d: &Dissection<'_>) -> bool {
        let Some(t) = &d.teredo else { return false };
        if let Some(types) = &self.types {
            let i = MESSAGE_TYPES.iter().position(|&m| m == t.message_type).unwrap_or(7);
            if !types[i] {
                return false;
            }
        }
        let outer = if d.quoted { d.quoted_ipv4.as_ref() } else { d.ipv4.as_ref() };
        if !self.ports.is_empty() {
            let Some(u) = &d.udp else { return false };
            if !self.ports.contains(&u.src_port) && !self.ports.contains(&u.dst_port) {
                return false;
            }
        }
        if self.hosts4.is_empty() && self.hosts6.is_empty() {
            return true;
        }
        let inner: [Option<Ipv6Addr>; 2] = match &t.ipv6 {
            Some(h) => [Some(h.src), Some(h.dst)],
            None => [None, None],
        };
        for h in &self.hosts4 {
            if outer.is_some_and(|ip| ip.src == *h || ip.dst == *h) {
                return true;
            }
            if t.origin.is_some_and(|o| o.address == *h) {
                return true;
            }
            for a in inner.iter().flatten() {
                if let Some(ta) = TeredoAddress::decode(*a) {
                    if ta.server == *h || ta.mapped_address == *h {
                        return true;
                    }
                }
            }
        }
        self.hosts6.iter().any(|h| inner.contains(&Some(*h)))
    }
}

/// The frame pipeline shared by `pcap` and `live`.
pub struct Processor {
    opts: DissectOptions,
    filter: Filter,
    show: ShowArgs,
    count: Option<u64>,
    pub since: Option<i128>,
    pub until: Option<i128>,
    write: Option<CaptureWriter>,
    decap: Option<CaptureWriter>,
    reassembler: Ipv4Reassembler,
    pub stats: CaptureStats,
    per_packet: bool,
    header_done: bool,
    file: Option<String>,
    file_start: Option<i128>,
    stopped: bool,
    format: Format,
    addresses: AddressCache,
    analyzer: Option<Analyzer>,
    file_index: usize,
}

impl Processor {
    pub fn new(select: &SelectArgs, show: &ShowArgs, format: Format) -> anyhow::Result<Self> {
        let filter = Filter::new(select)?;
        let writer = |path: &Option<String>, what: &'static str| -> anyhow::Result<Option<CaptureWriter>> {
            path.as_deref()
                .map(|p| {
                    CaptureWriter::create_with_format(p, CaptureFormat::from_path(p), TsPrecision::Nano).context(what)
                })
                .transpose()
        };
        let mut decap = writer(&show.decap, "--decap")?;
        if let Some(d) = decap.as_mut() {
            d.set_empty_linktype(LINKTYPE_IPV6);
        }
        Ok(Processor {
            opts: DissectOptions {
                heuristic: !select.no_heuristic,
                extra_ports: select.ports.clone(),
                // Only printed packets show checksum notices: a run that only counts and
                // analyses (`--summary`, `--analyze`) skips computing them.
                verify_checksums: !show.summary && !show.analyze,
            },
            filter,
            show: show.clone(),
            count: select.count,
            since: None,
            until: None,
            write: writer(&show.write, "--write")?,
            decap,
            reassembler: Ipv4Reassembler::new(ReassemblyLimits::default()),
            stats: CaptureStats::default(),
            per_packet: !show.summary && !show.analyze,
            header_done: format != Format::Table,
            format,
            file: None,
            file_start: None,
            stopped: false,
            addresses: AddressCache::default(),
            analyzer: show.analyze.then(|| Analyzer::new(AnalyzeOptions::default())),
            file_index: 0,
        })
    }

    /// Starts a new input: frame numbers and relative times restart.
    pub fn begin_file(&mut self, index: usize, shown_name: Option<&str>) {
        self.file_index = index;
        self.file = shown_name.map(str::to_string);
        self.file_start = None;
        self.reassembler = Ipv4Reassembler::new(ReassemblyLimits::default());
    }

    /// True when the run only counts and analyses (`--summary` and/or `--analyze` without
    /// filters, time window, `--count` or output files): nothing depends on the order in which
    /// frames are dissected but IPv4 reassembly and the analysis, which take them in order.
    ///
    /// Records (NDJSON lines, table rows) are the same whichever thread renders them: without
    /// `--count` or output files the dissecting threads filter and render them, and they are
    /// written here in capture order. (`--format json` is one pretty document: it stays here.)
    fn order_free(&self) -> bool {
        let counting = !self.per_packet && self.since.is_none() && self.until.is_none() && self.filter.is_empty();
        let printing = self.per_packet && self.format != Format::Json && self.analyzer.is_none();
        (counting || printing)
            && self.write.is_none()
            && self.decap.is_none()
            && self.count.is_none()
            && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
    }

    /// True once `--count` was reached.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// The analysis so far (`--analyze`): `live` prints it on SIGUSR1.
    #[cfg(feature = "live")]
    pub fn analyzer(&self) -> Option<&Analyzer> {
        self.analyzer.as_ref()
    }

    /// The table's header line, before the first row (once).
    fn table_header<W: Write>(&mut self, out: &mut Output<W>) -> io::Result<()> {
        if !self.header_done {
            let header = table_header(out.color());
            writeln!(out.writer(), "{header}")?;
            self.header_done = true;
        }
        Ok(())
    }

    /// Handles one captured frame.
    pub fn frame<W: Write>(&mut self, f: &Frame<'_>, out: &mut Output<W>) -> anyhow::Result<Flow> {
        // The file name is lent to the records of this frame.
        let file = self.file.take();
        let flow = self.frame_in(f, file.as_deref(), out);
        self.file = file;
        flow
    }

    fn frame_in<W: Write>(&mut self, f: &Frame<'_>, file: Option<&str>, out: &mut Output<W>) -> anyhow::Result<Flow> {
        if self.stopped {
            return Ok(Flow::Stop);
        }
        self.stats.frame(f.linktype, f.caplen, f.origlen, f.ts_sec, f.ts_nsec, f.ts_precision.decimal_digits());
        let ts_ns = frame_ns(f);
        let start = *self.file_start.get_or_insert(ts_ns);
        let d = dissect_frame(f.data, f.origlen as usize, f.linktype, &self.opts);
        let mut info = frame_info(file, f, start);
        // An IPv4 fragment: keep it until the datagram is whole, then
        // dissect the datagram as if it had come in one frame.
        if let Some(ip) = d.ipv4_fragment() {
            self.stats.ipv4_fragments += 1;
            let end = (ip.offset + usize::from(ip.total_length)).min(f.data.len());
            let outcome = self.reassembler.push(ts_ns.max(0) as u64, &f.data[ip.offset..end]);
            match outcome {
                ReassemblyOutcome::Complete(datagram) => {
                    self.stats.reassembled += 1;
                    let whole = dissect_ipv4_datagram(&datagram, 0, &self.opts);
                    info.reassembled = true;
                    return self.packet(f, &info, &whole, out);
                }
                ReassemblyOutcome::Overlap | ReassemblyOutcome::Dropped(_) => {
                    self.stats.fragments_dropped += 1;
                    let why = match outcome {
                        ReassemblyOutcome::Dropped(why) => why,
                        _ => "it overlaps data already received",
                    };
                    out.writer().flush()?;
                    report(
                        &format!("{}frame {}", file.map(|n| format!("{n}: ")).unwrap_or_default(), f.number),
                        &format_args!(
                            "IPv4 fragment (ID 0x{:04x}, {} → {}) dropped: {why}",
                            ip.identification, ip.src, ip.dst
                        ),
                    );
                }
                _ => {}
            }
            return Ok(Flow::Continue);
        }
        self.packet(f, &info, &d, out)
    }

    fn packet<W: Write>(
        &mut self,
        f: &Frame<'_>,
        info: &FrameInfo<'_>,
        d: &Dissection<'_>,
        out: &mut Output<W>,
    ) -> anyhow::Result<Flow> {
        self.stats.dissection(d);
        if d.teredo.is_none() || !in_window(self.since, self.until, f) {
            return Ok(Flow::Continue);
        }
        if let Some(a) = self.analyzer.as_mut() {
            // The analysis sees every Teredo packet in the time window: a
            // process needs all of its steps, whatever --type or --host keep.
            a.observe(&FrameMeta::from_frame(self.file_index, f), d);
        }
        if !self.filter.matches(d) {
            return Ok(Flow::Continue);
        }
        self.stats.matched += 1;
        if let Some(w) = self.write.as_mut() {
            w.write_captured(f).context("--write")?;
        }
        if let (Some(w), Some(t)) = (self.decap.as_mut(), d.teredo.as_ref()) {
            // Only real traffic: not a packet quoted inside an ICMP error.
            if let (Some(h), false) = (t.ipv6.as_ref(), d.quoted) {
                let start = h.offset;
                let full = 40 + usize::from(h.payload_length);
                let end = (start + full).min(d.frame.len());
                if start < end {
                    w.write_frame(f.ts_sec, f.ts_nsec, LINKTYPE_IPV6, full as u32, &d.frame[start..end])
                        .context("--decap")?;
                }
            }
        }
        if self.per_packet {
            self.table_header(out)?;
            if let Some(view) = packet_view(info, d, &mut self.addresses, self.show.verbose, self.show.hex) {
                out.record(&view)?;
            }
        }
        if self.count.is_some_and(|c| self.stats.matched >= c) {
            self.stopped = true;
            return Ok(Flow::Stop);
        }
        Ok(Flow::Continue)
    }

    /// Ends the run: closes output files, prints the summary (with
    /// `--summary`) or the end-of-run line on stderr (per-packet tables).
    pub fn finish<W: Write>(&mut self, out: &mut Output<W>) -> anyhow::Result<()> {
        if let Some(w) = self.write.take() {
            w.finish().context("--write")?;
        }
        if let Some(w) = self.decap.take() {
            w.finish().context("--decap")?;
        }
        if let Some(a) = self.analyzer.take() {
            // The process ends after this: the analysis and its report (some 10^5 allocations
            // on a large capture, 10 ms and more to free one by one) go back to the system with
            // it.
            match out.format() {
                Format::Table => {
                    let report = a.report();
                    let color = out.color();
                    report.write_tables(out.writer(), color)?;
                    if self.show.summary {
                        out.record(&self.stats)?;
                    }
                    std::mem::forget(report);
                }
                Format::Json | Format::Ndjson => {
                    // The report, plus the counters under `capture` with --summary; each
                    // process's view made as it is written.
                    let capture = self.show.summary.then(|| self.stats.to_json());
                    out.document_with(|w, style| a.write_report_json(w, style, capture.as_ref()))?;
                }
            }
            std::mem::forget(a);
        } else if self.show.summary {
            match out.format() {
                Format::Table => out.record(&self.stats)?,
                Format::Json | Format::Ndjson => out.document(&self.stats.to_json())?,
            }
        } else if out.format() == Format::Table && !self.show.quiet {
            out.writer().flush()?;
            let _ = writeln!(io::stderr(), "teredo-tool: {}", self.stats.short_line());
        }
        Ok(())
    }
}

/// A progress line on stderr for large files, only when stderr is a
/// terminal (and not with --quiet).
struct Progress {
    name: String,
    total: u64,
    enabled: bool,
    last: Instant,
    shown: bool,
}

impl Progress {
    fn new(name: &str, show: &ShowArgs) -> Self {
        let total = if name == "-" || name.ends_with(".gz") {
            0
        } else {
            std::fs::metadata(name).map(|m| m.len()).unwrap_or(0)
        };
        Progress {
            name: name.to_string(),
            total,
            enabled: !show.quiet && total > 16 * 1024 * 1024 && io::stderr().is_terminal(),
            last: Instant::now(),
            shown: false,
        }
    }

    fn tick(&mut self, offset: u64, frame: u64) {
        if !self.enabled || frame % 16384 != 0 || self.last.elapsed() < Duration::from_millis(200) {
            return;
        }
        self.last = Instant::now();
        self.show(offset, frame);
    }

    /// [`Progress::tick`] once per batch of frames.
    fn tick_batch(&mut self, offset: u64, frame: u64) {
        if self.enabled && self.last.elapsed() >= Duration::from_millis(200) {
            self.last = Instant::now();
            self.show(offset, frame);
        }
    }

    fn show(&mut self, offset: u64, frame: u64) {
        let pct = offset as f64 * 100.0 / self.total as f64;
        let _ = write!(io::stderr(), "\r{}: {:5.1}%  {} frames", self.name, pct, frame);
        self.shown = true;
    }

    fn clear(&mut self) {
        if self.shown {
            let _ = write!(io::stderr(), "\r\x1b[K");
            self.shown = false;
        }
    }
}
