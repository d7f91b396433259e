//! Live capture through libpcap (cargo feature `live`, on by default).
//!
//! This module only *captures*: it opens an interface, applies a BPF filter and
//! yields raw frames with their link type, in the same [`Frame`] shape that
//! [`crate::capture::CaptureReader`] yields for files. Everything else (the
//! dissector, filters, output, analysis) lives elsewhere and never sees libpcap,
//! so it is tested on captured bytes without an interface.
//!
//! ```no_run
//! use teredo_tool::live::{LiveCapture, LiveOptions};
//! let mut cap = LiveCapture::open(&LiveOptions::new("eth0"))?;
//! let mut n = 0;
//! while n < 10 {
//!     n += cap.dispatch(|frame| println!("{} bytes, link type {}", frame.caplen, frame.linktype))?;
//! }
//! eprintln!("{}", cap.stats()?);
//! # Ok::<(), teredo_tool::live::LiveError>(())
//! ```
//!
//! Besides capturing, the module holds the two process-level helpers a live
//! capture needs: [`drop_privileges`] (done right after the capture is opened,
//! as tcpdump's `-Z` does) and [`Signals`] (Ctrl-C / SIGTERM stop, SIGUSR1 report).

use crate::capture::{Frame, TsPrecision};
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Default snapshot length: whole packets, as tcpdump's default.
pub const DEFAULT_SNAPLEN: u32 = 262_144;
/// Default BPF filter: all UDP, so the heuristic can find Teredo on any port.
pub const DEFAULT_FILTER: &str = "udp";
/// BPF filter with the heuristic off: only the Teredo port (RFC 4380 §4).
pub const NO_HEURISTIC_FILTER: &str = "udp port 3544";
/// Default kernel buffer: large enough for bursts of a few hundred thousand
/// small packets per second while the reader is briefly descheduled.
pub const DEFAULT_BUFFER_SIZE: u32 = 32 << 20;
/// How long one read waits for packets before returning control (so that a
/// stop flag or a `--duration` deadline is checked at least this often).
pub const DEFAULT_TIMEOUT_MS: u32 = 100;

/// The default BPF filter: all UDP with the heuristic on, otherwise only
/// port 3544 and the `extra_ports` that are decoded as Teredo unconditionally.
pub fn default_filter(heuristic: bool, extra_ports: &[u16]) -> String {
    if heuristic {
        return DEFAULT_FILTER.to_string();
    }
    let mut f = NO_HEURISTIC_FILTER.to_string();
    for p in extra_ports {
        f.push_str(&format!(" or udp port {p}"));
    }
    f
}

/// How to open an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOptions {
    /// Interface name (as `list_interfaces` reports it).
    pub interface: String,
    /// BPF filter expression (tcpdump syntax); empty = no filter.
    pub filter: String,
    /// Snapshot length in bytes.
    pub snaplen: u32,
    /// Kernel buffer size in bytes.
    pub buffer_size: u32,
    /// Read timeout in milliseconds (see [`DEFAULT_TIMEOUT_MS`]).
    pub timeout_ms: u32,
    /// Put the interface in promiscuous mode.
    pub promiscuous: bool,
}

impl LiveOptions {
    /// Defaults: filter `udp`, snaplen 262144, 32 MiB buffer, 100 ms timeout, promiscuous.
    pub fn new(interface: &str) -> Self {
        LiveOptions {
            interface: interface.to_string(),
            filter: DEFAULT_FILTER.to_string(),
            snaplen: DEFAULT_SNAPLEN,
            buffer_size: DEFAULT_BUFFER_SIZE,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            promiscuous: true,
        }
    }
}

/// What can go wrong opening or reading a live capture. Messages are one line
/// and say what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// The interface does not exist.
    #[error("{interface}: no such interface (available: {})", available_list(.available))]
    NoSuchInterface { interface: String, available: Vec<String> },
    /// Not allowed to capture.
    #[error(
        "{interface}: no permission to capture ({message}); live capture needs root, or the \
         CAP_NET_RAW and CAP_NET_ADMIN capabilities, e.g. \
         `setcap cap_net_raw,cap_net_admin=eip $(which teredo-tool)`"
    )]
    Permission { interface: String, message: String },
    /// The BPF filter does not compile.
    #[error("BPF filter {filter:?} does not compile: {message}")]
    Filter { filter: String, message: String },
    /// Any other failure opening the interface.
    #[error("{interface}: cannot open for capture: {message}")]
    Open { interface: String, message: String },
    /// Reading packets failed (e.g. the interface went away).
    #[error("{interface}: reading packets failed: {message}")]
    Read { interface: String, message: String },
    /// libpcap could not list the interfaces.
    #[error("cannot list interfaces: {message}")]
    List { message: String },
    /// libpcap could not report its counters.
    #[error("{interface}: cannot read capture statistics: {message}")]
    Stats { interface: String, message: String },
}

fn available_list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// libpcap's message without the crate's "libpcap error: " prefix.
fn pcap_message(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(m) if !m.is_empty() => m.clone(),
        pcap::Error::PcapError(_) => "libpcap gave no reason".to_string(),
        other => other.to_string(),
    }
}

fn looks_like_permission(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("permission") || m.contains("not permitted")
}

/// One address of an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// The address.
    pub address: IpAddr,
    /// Its netmask, when libpcap knows it.
    pub netmask: Option<IpAddr>,
}

impl fmt::Display for InterfaceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.netmask.and_then(prefix_len) {
            Some(len) => write!(f, "{}/{len}", self.address),
            None => write!(f, "{}", self.address),
        }
    }
}

/// Prefix length of a contiguous netmask.
fn prefix_len(mask: IpAddr) -> Option<u32> {
    let (ones, bits, value) = match mask {
        IpAddr::V4(m) => (u32::from(m).count_ones(), 32, u128::from(u32::from(m)) << 96),
        IpAddr::V6(m) => (u128::from(m).count_ones(), 128, u128::from(m)),
    };
    // contiguous: the mask is `ones` leading ones then zeros
    let expected = if ones == 0 { 0 } else { u128::MAX << (128 - ones) };
    (value == expected && ones <= bits).then_some(ones)
}

/// An interface libpcap can capture on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveInterface {
    /// Name to pass to `-i`.
    pub name: String,
    /// libpcap's description, if any.
    pub description: Option<String>,
    /// IPv4 and IPv6 addresses.
    pub addresses: Vec<InterfaceAddress>,
    /// Interface is up.
    pub up: bool,
    /// Interface is running.
    pub running: bool,
    /// Loopback interface.
    pub loopback: bool,
}

/// The interfaces libpcap can capture on, with their addresses.
pub fn list_interfaces() -> Result<Vec<LiveInterface>, LiveError> {
    let devices = pcap::Device::list().map_err(|e| LiveError::List { message: pcap_message(&e) })?;
    Ok(devices
        .into_iter()
        .map(|d| LiveInterface {
            up: d.flags.is_up(),
            running: d.flags.is_running(),
            loopback: d.flags.is_loopback(),
            addresses: d.addresses.iter().map(|a| InterfaceAddress { address: a.addr, netmask: a.netmask }).collect(),
            name: d.name,
            description: d.desc,
        })
        .collect())
}

/// libpcap's counters since the capture was opened (`pcap_stats(3PCAP)`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Packets that passed the filter (on Linux: as counted by the kernel).
    pub received: u64,
    /// Packets dropped because the buffer was full (the reader was too slow).
    pub dropped: u64,
    /// Packets dropped by the interface or its driver.
    pub if_dropped: u64,
}

impl fmt::Display for LiveStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} received by filter, {} dropped by kernel, {} dropped by interface",
            self.received, self.dropped, self.if_dropped
        )
    }
}

/// An open live capture: raw frames and their link type, nothing else.
pub struct LiveCapture {
    cap: pcap::Capture<pcap::Active>,
    interface: String,
    filter: String,
    linktype: u32,
    frames: u64,
    timeout_ms: u32,
}

impl fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveCapture")
            .field("interface", &self.interface)
            .field("filter", &self.filter)
            .field("linktype", &self.linktype)
            .field("frames", &self.frames)
            .finish()
    }
}

/// Turns one libpcap packet into a [`Frame`] numbered `number`.
// time_t is 32 bits on some targets, so the conversion is not always a no-op.
#[allow(clippy::useless_conversion)]
fn to_frame<'a>(header: &pcap::PacketHeader, data: &'a [u8], linktype: u32, number: u64) -> Frame<'a> {
    // pcap_pkthdr.ts is a timeval in microseconds (the libpcap default precision).
    let usec = u32::try_from(header.ts.tv_usec).unwrap_or(0).min(999_999);
    Frame {
        number,
        ts_sec: i64::from(header.ts.tv_sec),
        ts_nsec: usec * 1000,
        ts_precision: TsPrecision::Micro,
        linktype,
        interface_id: 0,
        caplen: u32::try_from(data.len()).unwrap_or(u32::MAX),
        origlen: header.len,
        data,
        file_offset: 0,
    }
}

impl LiveCapture {
    /// Open `opts.interface` in immediate mode (packets are delivered as they
    /// arrive) and apply `opts.filter`.
    pub fn open(opts: &LiveOptions) -> Result<LiveCapture, LiveError> {
        let iface = opts.interface.as_str();
        let open_error = |e: pcap::Error| -> LiveError {
            let message = pcap_message(&e);
            if looks_like_permission(&message) {
                return LiveError::Permission { interface: iface.to_string(), message };
            }
            // libpcap's wording for a missing device varies between versions
            // and code paths; the interface list is the reliable test.
            if let Ok(list) = list_interfaces() {
                if !list.iter().any(|i| i.name == iface) {
                    return LiveError::NoSuchInterface {
                        interface: iface.to_string(),
                        available: list.into_iter().map(|i| i.name).collect(),
                    };
                }
            }
            LiveError::Open { interface: iface.to_string(), message }
        };
        let clamp = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        let cap = pcap::Capture::from_device(iface)
            .map_err(open_error)?
            .immediate_mode(true)
            .snaplen(clamp(opts.snaplen))
            .buffer_size(clamp(opts.buffer_size))
            .timeout(clamp(opts.timeout_ms.max(1)))
            .promisc(opts.promiscuous)
            .open()
            .map_err(open_error)?;
        // Non-blocking, with our own poll(2) below: libpcap 1.10 keeps polling
        // through its read timeout when no packet arrives, so a blocking read
        // would never return to check Ctrl-C or a --duration deadline.
        let mut cap = cap.setnonblock().map_err(open_error)?;
        if !opts.filter.is_empty() {
            cap.filter(&opts.filter, true)
                .map_err(|e| LiveError::Filter { filter: opts.filter.clone(), message: pcap_message(&e) })?;
        }
        // LINKTYPE_ values equal DLT_ values for everything Linux hands out
        // (EN10MB = 1, LINUX_SLL = 113, LINUX_SLL2 = 276, RAW = 12 -> 101).
        let linktype = match cap.get_datalink().0 {
            12 | 14 => 101,
            v => u32::try_from(v).unwrap_or(0),
        };
        Ok(LiveCapture {
            cap,
            interface: iface.to_string(),
            filter: opts.filter.clone(),
            linktype,
            frames: 0,
            timeout_ms: opts.timeout_ms.max(1),
        })
    }

    /// The interface name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The BPF filter in force (empty: none).
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// LINKTYPE_ value of every frame from this capture.
    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// Timestamp resolution of the frames.
    pub fn ts_precision(&self) -> TsPrecision {
        TsPrecision::Micro
    }

    /// Frames delivered so far.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// Wait until packets are ready, the read timeout expires or a signal
    /// arrives, whichever comes first.
    fn wait(&self) -> Result<(), LiveError> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        let timeout = PollTimeout::try_from(self.timeout_ms).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(self.cap.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(LiveError::Read { interface: self.interface.clone(), message: format!("poll: {e}") }),
        }
    }

    /// The next frame, or `None` when nothing arrived within the read timeout
    /// (or a signal interrupted the wait): check your stop conditions and call
    /// again. One poll(2) per frame: prefer [`LiveCapture::dispatch`] under load.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, LiveError> {
        // poll(2) first (it returns at once when frames are waiting), so that
        // the borrow of the packet is the last thing this function does.
        self.wait()?;
        match self.cap.next_packet() {
            Ok(p) => {
                self.frames += 1;
                Ok(Some(to_frame(p.header, p.data, self.linktype, self.frames)))
            }
            Err(pcap::Error::TimeoutExpired) => Ok(None),
            Err(e) => Err(LiveError::Read { interface: self.interface.clone(), message: pcap_message(&e) }),
        }
    }

    /// Hand every frame waiting in the buffer to `f` (waiting up to the read
    /// timeout when there is none) and return how many there were (0 after a
    /// timeout or a signal). Cheaper than [`LiveCapture::next_frame`] under
    /// load, and the caller can flush its output once per batch.
    pub fn dispatch<F: FnMut(Frame<'_>)>(&mut self, mut f: F) -> Result<usize, LiveError> {
        let mut n = self.dispatch_ready(&mut f)?;
        if n == 0 {
            self.wait()?;
            n = self.dispatch_ready(&mut f)?;
        }
        Ok(n)
    }

    fn dispatch_ready<F: FnMut(Frame<'_>)>(&mut self, f: &mut F) -> Result<usize, LiveError> {
        let linktype = self.linktype;
        let mut number = self.frames;
        let r = self.cap.dispatch(None, |p| {
            number += 1;
            f(to_frame(p.header, p.data, linktype, number));
        });
        self.frames = number;
        match r {
            Ok(n) => Ok(n),
            Err(pcap::Error::TimeoutExpired) => Ok(0),
            Err(e) => Err(LiveError::Read { interface: self.interface.clone(), message: pcap_message(&e) }),
        }
    }

    /// libpcap's counters since the capture was opened.
    pub fn stats(&mut self) -> Result<LiveStats, LiveError> {
        let s = self
            .cap
            .stats()
            .map_err(|e| LiveError::Stats { interface: self.interface.clone(), message: pcap_message(&e) })?;
        Ok(LiveStats {
            received: u64::from(s.received),
            dropped: u64::from(s.dropped),
            if_dropped: u64::from(s.if_dropped),
        })
    }
}

/// Why privileges could not be dropped. Never ignore it: the caller must stop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivilegeError {
    /// No such user in the password database.
    #[error("--user {0}: no such user")]
    NoSuchUser(String),
    /// The user database could not be read.
    #[error("--user {user}: cannot look the user up: {source}")]
    Lookup { user: String, source: nix::Error },
    /// A system call refused (e.g. not started as root).
    #[error("--user {user}: {call} failed: {source}; refusing to continue with the current privileges")]
    Call { user: String, call: &'static str, source: nix::Error },
    /// The calls succeeded but the process could still get root back.
    #[error("--user {user}: privileges still recoverable after the drop; refusing to continue")]
    NotDropped { user: String },
}

/// Switch the process to `user` for good: supplementary groups (initgroups),
/// then group, then user id, and check that root cannot be regained. Call
/// right after [`LiveCapture::open`], as tcpdump's `-Z` does.
pub fn drop_privileges(user: &str) -> Result<(), PrivilegeError> {
    use nix::unistd::{initgroups, setgid, setuid, Uid, User};
    let u = User::from_name(user)
        .map_err(|source| PrivilegeError::Lookup { user: user.to_string(), source })?
        .ok_or_else(|| PrivilegeError::NoSuchUser(user.to_string()))?;
    let call = |call: &'static str| move |source| PrivilegeError::Call { user: user.to_string(), call, source };
    let cname = std::ffi::CString::new(user).map_err(|_| PrivilegeError::NoSuchUser(user.to_string()))?;
    // Order matters: the group calls need root, so they come before setuid.
    initgroups(&cname, u.gid).map_err(call("initgroups"))?;
    setgid(u.gid).map_err(call("setgid"))?;
    setuid(u.uid).map_err(call("setuid"))?;
    let now = (nix::unistd::getuid(), nix::unistd::geteuid(), nix::unistd::getgid(), nix::unistd::getegid());
    if now != (u.uid, u.uid, u.gid, u.gid) {
        return Err(PrivilegeError::NotDropped { user: user.to_string() });
    }
    if !u.uid.is_root() && setuid(Uid::from_raw(0)).is_ok() {
        return Err(PrivilegeError::NotDropped { user: user.to_string() });
    }
    Ok(())
}

/// Flags set from signal handlers: SIGINT/SIGTERM ask the capture to stop,
/// SIGUSR1 asks for a report of the current state. A second SIGINT or
/// SIGTERM while the first is pending ends the process at once.
#[derive(Debug, Clone)]
pub struct Signals {
    stop: Arc<AtomicBool>,
    report: Arc<AtomicBool>,
}

impl Signals {
    /// Install the handlers (signal-hook: the handlers only set flags).
    pub fn install() -> std::io::Result<Signals> {
        use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
        let stop = Arc::new(AtomicBool::new(false));
        let report = Arc::new(AtomicBool::new(false));
        for sig in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag as it was before this signal.
            signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&stop))?;
            signal_hook::flag::register(sig, Arc::clone(&stop))?;
        }
        signal_hook::flag::register(SIGUSR1, Arc::clone(&report))?;
        Ok(Signals { stop, report })
    }

    /// Flags not connected to any signal (tests, or a library caller that
    /// stops the capture itself through [`Signals::request_stop`]).
    pub fn detached() -> Signals {
        Signals { stop: Arc::new(AtomicBool::new(false)), report: Arc::new(AtomicBool::new(false)) }
    }

    /// True once a stop was requested.
    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Ask the capture loop to stop.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// True (once per SIGUSR1) when a report was requested.
    pub fn take_report_request(&self) -> bool {
        self.report.swap(false, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn filters_by_heuristic() {
        assert_eq!(default_filter(true, &[]), "udp");
        assert_eq!(default_filter(true, &[5000]), "udp");
        assert_eq!(default_filter(false, &[]), "udp port 3544");
        assert_eq!(default_filter(false, &[5000, 5001]), "udp port 3544 or udp port 5000 or udp port 5001");
    }

    #[test]
    fn prefix_lengths() {
        assert_eq!(prefix_len(IpAddr::V4(Ipv4Addr::new(255, 255, 255, 0))), Some(24));
        assert_eq!(prefix_len(IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0))), Some(0));
        assert_eq!(prefix_len(IpAddr::V4(Ipv4Addr::new(255, 0, 255, 0))), None);
        assert_eq!(prefix_len(IpAddr::V6("ffff:ffff:ffff:ffff::".parse::<Ipv6Addr>().unwrap())), Some(64));
        let a = InterfaceAddress {
            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            netmask: Some(IpAddr::V4(Ipv4Addr::new(255, 255, 255, 0))),
        };
        assert_eq!(a.to_string(), "192.0.2.1/24");
    }

    #[test]
    fn error_messages_say_what_to_do() {
        let e = LiveError::NoSuchInterface { interface: "nope0".into(), available: vec!["lo".into(), "eth0".into()] };
        assert_eq!(e.to_string(), "nope0: no such interface (available: lo, eth0)");
        let e = LiveError::Permission { interface: "eth0".into(), message: "socket: Operation not permitted".into() };
        let s = e.to_string();
        assert!(s.contains("CAP_NET_RAW") && s.contains("CAP_NET_ADMIN") && s.contains("setcap"), "{s}");
        assert!(looks_like_permission("You don't have permission to perform this capture on that device"));
        assert!(looks_like_permission("socket: Operation not permitted"));
        assert!(!looks_like_permission("No such device exists"));
    }

    #[test]
    fn frames_carry_pcap_header_fields() {
        let header = pcap::PacketHeader {
            ts: nix::libc::timeval { tv_sec: 1_700_000_000, tv_usec: 123_456 },
            caplen: 3,
            len: 1500,
        };
        let f = to_frame(&header, &[1, 2, 3], 1, 7);
        assert_eq!(
            (f.number, f.ts_sec, f.ts_nsec, f.caplen, f.origlen, f.linktype),
            (7, 1_700_000_000, 123_456_000, 3, 1500, 1)
        );
        assert_eq!(f.data, &[1, 2, 3]);
    }

    #[test]
    fn detached_signals() {
        let s = Signals::detached();
        assert!(!s.stop_requested() && !s.take_report_request());
        s.request_stop();
        assert!(s.stop_requested());
    }
}
