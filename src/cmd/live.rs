//! `teredo-tool live`: libpcap frames into the dissector, one record per
//! Teredo packet, written as soon as the packets that woke us up are done.

#[cfg(not(feature = "live"))]
pub fn run<W: std::io::Write>(
    _args: &crate::cli::LiveArgs,
    _out: &mut teredo_tool::output::Output<W>,
) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!(
        "live capture is not compiled into this teredo-tool (it was built without the `live` cargo \
         feature, which needs libpcap); rebuild with default features, or capture with tcpdump and \
         read the file with teredo-tool"
    )
}

#[cfg(feature = "live")]
pub use imp::run;

#[cfg(feature = "live")]
mod imp {
    use super::super::pcap::{Flow, Processor};
    use crate::cli::LiveArgs;
    use anyhow::Context;
    use serde_json::json;
    use std::io::{self, Write};
    use std::process::ExitCode;
    use std::time::Instant;
    use teredo_tool::live::{self, LiveCapture, LiveOptions, LiveStats, Signals};
    use teredo_tool::output::{Format, Output, Record};
    use teredo_tool::stats::CaptureStats;

    pub fn run<W: Write>(args: &LiveArgs, out: &mut Output<W>) -> anyhow::Result<ExitCode> {
        if args.list {
            return list(out);
        }
        let Some(interface) = args.interface.as_deref() else {
            anyhow::bail!(crate::cmd::UsageError("live needs -i IFACE (or --list)".into()));
        };
        let mut opts = LiveOptions::new(interface);
        opts.filter = match &args.filter {
            Some(f) => f.clone(),
            None => live::default_filter(!args.select.no_heuristic, &args.select.ports),
        };
        opts.snaplen = args.snaplen;
        opts.buffer_size = args.buffer_size.saturating_mul(1 << 20);
        let signals = Signals::install().context("cannot install signal handlers")?;
        let mut cap = LiveCapture::open(&opts)?;
        // Drop root before touching anything else: output files are created
        // by the unprivileged user, as with tcpdump -Z.
        if let Some(user) = &args.user {
            live::drop_privileges(user)?;
        }
        let mut p = Processor::new(&args.select, &args.show, out.format())?;
        if !args.show.quiet {
            eprintln!(
                "teredo-tool: capturing on {} (link type {}, filter {:?}); Ctrl-C to stop",
                cap.interface(),
                cap.linktype(),
                cap.filter()
            );
        }
        let deadline = args.duration.map(|d| Instant::now() + d);
        let mut failure: Option<anyhow::Error> = None;
        while !p.stopped() && !signals.stop_requested() && deadline.is_none_or(|d| Instant::now() < d) {
            if signals.take_report_request() {
                out.writer().flush()?;
                report(&p.stats, cap.stats().ok(), out.format(), "so far");
                // On stderr: stdout keeps its one analysis document for the end.
                if let Some(a) = p.analyzer() {
                    let r = a.report();
                    let mut e = io::stderr().lock();
                    match out.format() {
                        Format::Table => r.write_tables(&mut e, false)?,
                        Format::Json | Format::Ndjson => writeln!(e, "{}", r.to_json())?,
                    }
                }
            }
            cap.dispatch(|frame| {
                // After --count or an output error, the rest of the batch is only counted by libpcap.
                if failure.is_some() || p.stopped() {
                    return;
                }
                match p.frame(&frame, out) {
                    Ok(Flow::Continue | Flow::Stop) => {}
                    Err(e) => failure = Some(e),
                }
            })?;
            if let Some(e) = failure.take() {
                return Err(e);
            }
            // Everything that arrived together is written: show it now,
            // even through a pipe.
            out.writer().flush()?;
        }
        let stats = cap.stats().ok();
        p.finish(out)?;
        out.writer().flush()?;
        if !args.show.quiet {
            // The per-packet table already ends with the dissector's counters.
            let listed = out.format() == Format::Table && !args.show.summary && !args.show.analyze;
            report(&p.stats, stats, out.format(), if listed { "" } else { "captured" });
        }
        Ok(ExitCode::SUCCESS)
    }

    /// The end-of-run (or SIGUSR1) line on stderr: the dissector's counters and
    /// libpcap's (only libpcap's when `when` is empty). One JSON object when the
    /// output is JSON.
    fn report(stats: &CaptureStats, pcap: Option<LiveStats>, format: Format, when: &str) {
        let mut e = io::stderr().lock();
        let _ = match format {
            Format::Table => {
                let pcap_line = match pcap {
                    Some(s) => format!("libpcap: {s}"),
                    None => "libpcap: counters unavailable".to_string(),
                };
                if when.is_empty() {
                    writeln!(e, "teredo-tool: {pcap_line}")
                } else {
                    writeln!(e, "teredo-tool: {when}: {}, {} shown; {pcap_line}", stats.short_line(), stats.matched)
                }
            }
            Format::Json | Format::Ndjson => {
                let v = json!({
                    "live": when,
                    "frames": stats.frames,
                    "teredo": stats.teredo,
                    "matched": stats.matched,
                    "libpcap": pcap.map(|s| json!({
                        "received": s.received,
                        "dropped": s.dropped,
                        "if_dropped": s.if_dropped,
                    })),
                });
                writeln!(e, "{v}")
            }
        };
    }

    /// `--list`: one record per interface.
    fn list<W: Write>(out: &mut Output<W>) -> anyhow::Result<ExitCode> {
        for i in live::list_interfaces()? {
            out.record(&InterfaceView(i))?;
        }
        Ok(ExitCode::SUCCESS)
    }

    struct InterfaceView(live::LiveInterface);

    impl Record for InterfaceView {
        fn to_json(&self) -> serde_json::Value {
            let i = &self.0;
            json!({
                "name": i.name,
                "description": i.description,
                "up": i.up,
                "running": i.running,
                "loopback": i.loopback,
                "addresses": i.addresses.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            })
        }

        fn write_table(&self, w: &mut dyn Write, _color: bool) -> io::Result<()> {
            let i = &self.0;
            let mut flags = Vec::new();
            if i.up {
                flags.push("up");
            }
            if i.running {
                flags.push("running");
            }
            if i.loopback {
                flags.push("loopback");
            }
            let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
            writeln!(w, "{:<16} {:<20} {}", i.name, flags.join(","), addrs.join(" "))
        }
    }
}
