//! Sockets behind a small trait, so the probe logic runs on real UDP or on anything a test
//! supplies, and a hub that turns several sockets into one timestamped event stream.

use std::io;
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A datagram socket as the prober uses it.
pub trait Transport: Send + Sync {
    /// Send one datagram.
    fn send_to(&self, buf: &[u8], to: SocketAddrV4) -> io::Result<()>;
    /// Wait up to `timeout` for one datagram; `Ok(None)` on timeout.
    fn recv_from(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<(usize, SocketAddrV4)>>;
    /// The local address the socket is bound to.
    fn local_addr(&self) -> io::Result<SocketAddrV4>;
}

/// Opens transports: the prober needs several local ports (the conntrack trap, LAB.md).
pub trait Network: Send + Sync {
    /// Open a transport bound to `bind` (port 0: any).
    fn open(&self, bind: SocketAddrV4) -> io::Result<Arc<dyn Transport>>;
    /// The local IPv4 address used to reach `to` (no packet is sent).
    fn route_source(&self, to: SocketAddrV4) -> io::Result<std::net::Ipv4Addr>;
}

/// Plain UDP sockets: no root, no tun device.
pub struct Udp;

impl Transport for UdpSocket {
    fn send_to(&self, buf: &[u8], to: SocketAddrV4) -> io::Result<()> {
        UdpSocket::send_to(self, buf, to).map(|_| ())
    }
    fn recv_from(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<(usize, SocketAddrV4)>> {
        self.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        match UdpSocket::recv_from(self, buf) {
            Ok((n, SocketAddr::V4(a))) => Ok(Some((n, a))),
            Ok((_, SocketAddr::V6(_))) => Ok(None),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => Ok(None),
            // An ICMP error queued on the socket (e.g. port unreachable): not a datagram.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(None),
            Err(e) => Err(e),
        }
    }
    fn local_addr(&self) -> io::Result<SocketAddrV4> {
        match UdpSocket::local_addr(self)? {
            SocketAddr::V4(a) => Ok(a),
            SocketAddr::V6(_) => Err(io::Error::other("not an IPv4 socket")),
        }
    }
}

impl Network for Udp {
    fn open(&self, bind: SocketAddrV4) -> io::Result<Arc<dyn Transport>> {
        Ok(Arc::new(UdpSocket::bind(bind)?))
    }
    fn route_source(&self, to: SocketAddrV4) -> io::Result<std::net::Ipv4Addr> {
        // connect() on UDP only picks a route and a source address.
        let s = UdpSocket::bind("0.0.0.0:0")?;
        s.connect(to)?;
        match s.local_addr()? {
            SocketAddr::V4(a) => Ok(*a.ip()),
            SocketAddr::V6(_) => Err(io::Error::other("not IPv4")),
        }
    }
}

/// One received datagram: which socket, from where, when.
#[derive(Debug, Clone)]
pub struct Event {
    pub socket: usize,
    pub from: SocketAddrV4,
    pub at: Instant,
    pub data: Vec<u8>,
}

/// Reader threads for several transports feeding one channel.
pub struct Hub {
    rx: Receiver<Event>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Hub {
    /// Start one reader per transport; events carry the transport's index.
    pub fn new(transports: &[Arc<dyn Transport>]) -> Hub {
        let (tx, rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let threads = transports
            .iter()
            .enumerate()
            .map(|(i, t)| spawn_reader(i, Arc::clone(t), tx.clone(), Arc::clone(&stop)))
            .collect();
        Hub { rx, stop, threads }
    }

    /// The next event before `deadline`, if any.
    pub fn next_until(&self, deadline: Instant) -> Option<Event> {
        let wait = deadline.saturating_duration_since(Instant::now());
        // Timeout or all readers gone: no event.
        self.rx.recv_timeout(wait).ok()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn spawn_reader(i: usize, t: Arc<dyn Transport>, tx: Sender<Event>, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while !stop.load(Ordering::Relaxed) {
            match t.recv_from(&mut buf, Duration::from_millis(50)) {
                Ok(Some((n, from))) => {
                    let ev = Event { socket: i, from, at: Instant::now(), data: buf[..n].to_vec() };
                    if tx.send(ev).is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    })
}
