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
    use crate::cli::LiveArgs;
    use anyhow::Context;
    use colored::Colorize;
    use serde_json::json;
    use std::io::{self, Write};
    use std::net::IpAddr;
    use std::process::ExitCode;
    use std::time::Instant;
    use teredo_tool::capture::{CaptureFormat, CaptureWriter, Frame};
    use teredo_tool::dissect::{dissect_frame, DissectOptions, Dissection};
    use teredo_tool::live::{self, LiveCapture, LiveOptions, LiveStats, Signals};
    use teredo_tool::output::{Output, Record};

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
            None => live::default_filter(!args.no_heuristic).to_string(),
        };
        let signals = Signals::install().context("cannot install signal handlers")?;
        let mut cap = LiveCapture::open(&opts)?;
        if let Some(user) = &args.user {
            live::drop_privileges(user)?;
        }
        let mut writer = match &args.write {
            Some(path) => {
                let path = path.to_string_lossy();
                let format = match CaptureFormat::from_path(&path) {
                    CaptureFormat::Pcap => CaptureFormat::Pcap,
                    _ => CaptureFormat::Pcapng,
                };
                let mut w = CaptureWriter::create_with_format(&path, format, cap.ts_precision())?;
                w.set_empty_linktype(cap.linktype());
                Some(w)
            }
            None => None,
        };
        eprintln!(
            "teredo-tool: capturing on {} (link type {}, filter {:?}); Ctrl-C to stop",
            cap.interface(),
            cap.linktype(),
            cap.filter()
        );
        let dissect_opts = DissectOptions { heuristic: !args.no_heuristic, extra_ports: Vec::new() };
        let deadline = args.duration.map(|d| Instant::now() + d);
        let mut state = State { shown: 0, teredo: 0, frames: 0 };
        let mut failure: Option<anyhow::Error> = None;
        let reached = |state: &State| args.count.is_some_and(|c| state.shown >= c);
        loop {
            if signals.stop_requested() || reached(&state) || deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            if signals.take_report_request() {
                report(&state, cap.stats().ok(), "so far");
            }
            cap.dispatch(|frame| {
                if failure.is_some() || reached(&state) {
                    return;
                }
                if let Err(e) = handle(&frame, args, &dissect_opts, &mut state, out, writer.as_mut()) {
                    failure = Some(e);
                }
            })?;
            if let Some(e) = failure.take() {
                return Err(e);
            }
            // Everything that arrived in this batch is written: show it now.
            out.writer().flush()?;
        }
        let stats = cap.stats().ok();
        if let Some(w) = writer {
            w.finish()?;
        }
        out.finish()?;
        report(&state, stats, "captured");
        Ok(ExitCode::SUCCESS)
    }

    struct State {
        /// Frames delivered by libpcap.
        frames: u64,
        /// Frames holding a Teredo packet.
        teredo: u64,
        /// Packets that passed the filters and were written.
        shown: u64,
    }

    fn report(state: &State, stats: Option<LiveStats>, when: &str) {
        let mut e = io::stderr().lock();
        let _ =
            write!(e, "teredo-tool: {} frames {when}, {} Teredo, {} shown", state.frames, state.teredo, state.shown);
        let _ = match stats {
            Some(s) => writeln!(e, "; libpcap: {s}"),
            None => writeln!(e),
        };
    }

    fn matches(d: &Dissection<'_>, args: &LiveArgs) -> bool {
        let Some(t) = &d.teredo else { return false };
        if !args.types.is_empty() && !args.types.iter().any(|ty| ty == t.message_type.as_str()) {
            return false;
        }
        if !args.port.is_empty() {
            let Some(u) = &d.udp else { return false };
            if !args.port.iter().any(|p| *p == u.src_port || *p == u.dst_port) {
                return false;
            }
        }
        if !args.host.is_empty() {
            let mut addrs: Vec<IpAddr> = Vec::with_capacity(4);
            if let Some(ip) = &d.ipv4 {
                addrs.extend([IpAddr::V4(ip.src), IpAddr::V4(ip.dst)]);
            }
            if let Some(ip6) = &t.ipv6 {
                addrs.extend([IpAddr::V6(ip6.src), IpAddr::V6(ip6.dst)]);
            }
            if !args.host.iter().any(|h| addrs.contains(h)) {
                return false;
            }
        }
        true
    }

    fn handle<W: Write>(
        frame: &Frame<'_>,
        args: &LiveArgs,
        opts: &DissectOptions,
        state: &mut State,
        out: &mut Output<W>,
        writer: Option<&mut CaptureWriter>,
    ) -> anyhow::Result<()> {
        state.frames += 1;
        let d = dissect_frame(frame.data, frame.origlen as usize, frame.linktype, opts);
        if d.teredo.is_some() {
            state.teredo += 1;
        }
        if !matches(&d, args) {
            return Ok(());
        }
        state.shown += 1;
        out.record(&PacketView { frame, d: &d })?;
        if let Some(w) = writer {
            w.write_captured(frame)?;
        }
        Ok(())
    }

    /// One Teredo packet as `live` shows it.
    struct PacketView<'a, 'b> {
        frame: &'a Frame<'b>,
        d: &'a Dissection<'b>,
    }

    impl PacketView<'_, '_> {
        fn fields(&self) -> (String, String, String, &'static str) {
            let (mut src, mut dst) = (String::new(), String::new());
            if let (Some(ip), Some(u)) = (&self.d.ipv4, &self.d.udp) {
                src = format!("{}:{}", ip.src, u.src_port);
                dst = format!("{}:{}", ip.dst, u.dst_port);
            }
            let time = format!("{}.{:06}", self.frame.ts_sec, self.frame.ts_nsec / 1000);
            let ty = self.d.message_type().map_or("", |t| t.as_str());
            (time, src, dst, ty)
        }
    }

    impl Record for PacketView<'_, '_> {
        fn to_json(&self) -> serde_json::Value {
            let (time, src, dst, ty) = self.fields();
            let t = self.d.teredo.as_ref();
            let ipv6 = t.and_then(|t| t.ipv6.as_ref());
            json!({
                "frame": self.frame.number,
                "time": time,
                "length": self.frame.origlen,
                "src": src,
                "dst": dst,
                "detection": self.d.detection.as_str(),
                "type": ty,
                "ipv6_src": ipv6.map(|h| h.src.to_string()),
                "ipv6_dst": ipv6.map(|h| h.dst.to_string()),
                "authentication": t.is_some_and(|t| t.auth.is_some()),
                "origin": t.and_then(|t| t.origin.as_ref()).map(|o| format!("{}:{}", o.address, o.port)),
            })
        }

        fn write_table(&self, w: &mut dyn Write, color: bool) -> io::Result<()> {
            let (time, src, dst, ty) = self.fields();
            let ipv6 = self.d.teredo.as_ref().and_then(|t| t.ipv6.as_ref());
            let inner = ipv6.map_or(String::new(), |h| format!("  {} -> {}", h.src, h.dst));
            let ty = if color { ty.bold().to_string() } else { ty.to_string() };
            writeln!(w, "{:>6} {time} {src} -> {dst} {ty}{inner}", self.frame.number)
        }
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
