//! The NAT verdict from each kind of evidence, with no sockets: a simulated world (NAT +
//! Teredo server with two addresses) behind the [`Network`] / [`Transport`] traits.
//!
//! The simulated NATs follow the behaviour measured in the project's lab (LAB.md): cone =
//! endpoint-independent mapping and filtering; restricted = endpoint-independent mapping,
//! address-and-port-dependent filtering; symmetric = a new mapping per destination; "trap" =
//! restricted plus Linux conntrack's habit of giving a new port to a flow whose reverse
//! tuple already has an `[UNREPLIED]` entry left by a dropped inbound packet. The server
//! answers an RS the way miredo-server does (PROTOCOL.md §2.3): a cone RS from the other
//! address, a non-cone RS from the address it was sent to, the nonce echoed and the mapping
//! it saw in the Origin indication.

use super::build::parse_datagram;
use super::transport::{Network, Transport};
use super::{qualify, NatType, ProbeConfig};
use crate::wire::icmpv6::{emit_router_advertisement, RouterAdvertisementRepr};
use crate::wire::teredo::{build_teredo_payload, Authentication, OriginIndication};
use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PRIMARY: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SECONDARY: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const PUBLIC: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const INSIDE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const NO_NAT: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 66);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    Cone,
    Restricted,
    Symmetric,
    /// Restricted, with conntrack's remapping after a dropped inbound packet.
    Trap,
}

#[derive(Default)]
struct Nat {
    /// (local, destination or None when endpoint-independent) -> public port.
    mappings: HashMap<(SocketAddrV4, Option<SocketAddrV4>), u16>,
    /// (public port, remote) pairs an inbound packet may come from (filtering).
    allowed: HashSet<(u16, SocketAddrV4)>,
    /// (local, remote) pairs with an UNREPLIED conntrack entry left by a dropped packet.
    unreplied: HashSet<(SocketAddrV4, SocketAddrV4)>,
    next_port: u16,
}

struct World {
    kind: Kind,
    nat: Nat,
    /// Which server addresses answer.
    primary_up: bool,
    secondary_up: bool,
    sockets: HashMap<SocketAddrV4, Sender<(Vec<u8>, SocketAddrV4)>>,
    next_local: u16,
    /// Every datagram the client sent: (local, to).
    sent: Vec<(SocketAddrV4, SocketAddrV4)>,
}

impl World {
    fn new(kind: Kind) -> Self {
        World {
            kind,
            nat: Nat { next_port: 50000, ..Nat::default() },
            primary_up: true,
            secondary_up: true,
            sockets: HashMap::new(),
            next_local: 40000,
            sent: Vec::new(),
        }
    }

    fn client_ip(&self) -> Ipv4Addr {
        if self.kind == Kind::None {
            NO_NAT
        } else {
            INSIDE
        }
    }

    /// The public address an outbound packet from `local` to `to` leaves with.
    fn map_out(&mut self, local: SocketAddrV4, to: SocketAddrV4) -> SocketAddrV4 {
        let port = match self.kind {
            Kind::None => return local,
            Kind::Cone | Kind::Restricted => local.port() ^ 0x0f0f,
            Kind::Trap if !self.nat.unreplied.contains(&(local, to)) => local.port() ^ 0x0f0f,
            Kind::Trap | Kind::Symmetric => {
                let key = (local, Some(to));
                let next = &mut self.nat.next_port;
                *self.nat.mappings.entry(key).or_insert_with(|| {
                    *next += 1;
                    *next
                })
            }
        };
        self.nat.mappings.entry((local, None)).or_insert(local.port() ^ 0x0f0f);
        self.nat.allowed.insert((port, to));
        SocketAddrV4::new(PUBLIC, port)
    }

    /// The local socket an inbound packet from `from` to `public` reaches, if the NAT lets
    /// it through.
    fn map_in(&mut self, public: SocketAddrV4, from: SocketAddrV4) -> Option<SocketAddrV4> {
        if self.kind == Kind::None {
            return Some(public);
        }
        let local = SocketAddrV4::new(INSIDE, public.port() ^ 0x0f0f);
        let local = if self.nat.mappings.contains_key(&(local, None)) {
            local
        } else {
            // A per-destination port: find whose it is.
            *self.nat.mappings.iter().find(|(_, p)| **p == public.port()).map(|((l, _), _)| l)?
        };
        let open = self.kind == Kind::Cone || self.nat.allowed.contains(&(public.port(), from));
        if !open {
            if self.kind == Kind::Trap {
                self.nat.unreplied.insert((local, from));
            }
            return None;
        }
        Some(local)
    }

    fn send(&mut self, local: SocketAddrV4, buf: &[u8], to: SocketAddrV4) {
        self.sent.push((local, to));
        let public = self.map_out(local, to);
        let up = (to.ip() == &PRIMARY && self.primary_up) || (to.ip() == &SECONDARY && self.secondary_up);
        if to.port() != 3544 || !up {
            return;
        }
        let Ok(rs) = parse_datagram(buf) else { return };
        let Some(nonce) = rs.nonce() else { return };
        let cone = rs.ipv6.src.segments()[4] & 0x8000 != 0;
        let from_ip = match (cone, *to.ip() == PRIMARY) {
            (false, _) => *to.ip(),
            (true, true) => SECONDARY,
            (true, false) => PRIMARY,
        };
        if (from_ip == PRIMARY && !self.primary_up) || (from_ip == SECONDARY && !self.secondary_up) {
            return;
        }
        let from = SocketAddrV4::new(from_ip, 3544);
        let ra = ra(nonce, public, rs.ipv6.src);
        if let Some(dst) = self.map_in(public, from) {
            if let Some(tx) = self.sockets.get(&dst) {
                let _ = tx.send((ra, from));
            }
        }
    }
}

fn ra(nonce: [u8; 8], mapped: SocketAddrV4, to: std::net::Ipv6Addr) -> Vec<u8> {
    let repr = RouterAdvertisementRepr {
        prefix: "2001:0:c000:201::".parse().unwrap(),
        mtu: Some(1280),
        retrans_timer: 2000,
        lifetime: u32::MAX,
    };
    let mut ip = Vec::new();
    emit_router_advertisement("fe80::8000:f227:3fff:fdfe".parse().unwrap(), to, &repr, &mut ip);
    let mut out = Vec::new();
    let origin = OriginIndication::new(*mapped.ip(), mapped.port());
    build_teredo_payload(Some(&Authentication::new(nonce, 0)), Some(&origin), &ip, &[], &mut out);
    out
}

struct Socket {
    local: SocketAddrV4,
    world: Arc<Mutex<World>>,
    rx: Mutex<Receiver<(Vec<u8>, SocketAddrV4)>>,
}

impl Transport for Socket {
    fn send_to(&self, buf: &[u8], to: SocketAddrV4) -> io::Result<()> {
        self.world.lock().unwrap().send(self.local, buf, to);
        Ok(())
    }
    fn recv_from(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<(usize, SocketAddrV4)>> {
        match self.rx.lock().unwrap().recv_timeout(timeout) {
            Ok((d, from)) => {
                buf[..d.len()].copy_from_slice(&d);
                Ok(Some((d.len(), from)))
            }
            Err(_) => Ok(None),
        }
    }
    fn local_addr(&self) -> io::Result<SocketAddrV4> {
        Ok(self.local)
    }
}

struct Sim(Arc<Mutex<World>>);

impl Network for Sim {
    fn open(&self, bind: SocketAddrV4) -> io::Result<Arc<dyn Transport>> {
        let mut w = self.0.lock().unwrap();
        let port = if bind.port() == 0 {
            w.next_local += 1;
            w.next_local
        } else {
            bind.port()
        };
        let local = SocketAddrV4::new(w.client_ip(), port);
        let (tx, rx) = channel();
        w.sockets.insert(local, tx);
        Ok(Arc::new(Socket { local, world: Arc::clone(&self.0), rx: Mutex::new(rx) }))
    }
    fn route_source(&self, _to: SocketAddrV4) -> io::Result<Ipv4Addr> {
        Ok(self.0.lock().unwrap().client_ip())
    }
}

fn cfg() -> ProbeConfig {
    ProbeConfig { timeout: Duration::from_millis(60), retries: 2, ..ProbeConfig::default() }
}

fn run(world: World) -> (super::Qualification, Arc<Mutex<World>>) {
    let sim = Sim(Arc::new(Mutex::new(world)));
    let (q, _) = qualify(&sim, "192.0.2.1", &cfg()).expect("qualify");
    (q, sim.0)
}

#[test]
fn each_nat_kind_gets_its_verdict() {
    for (kind, verdict) in [
        (Kind::None, NatType::None),
        (Kind::Cone, NatType::Cone),
        (Kind::Restricted, NatType::Restricted),
        (Kind::Symmetric, NatType::Symmetric),
    ] {
        let (q, _) = run(World::new(kind));
        let ctx = format!("{kind:?}: {:?}", q.steps);
        assert_eq!(q.nat_type, verdict, "{ctx}");
        assert!(q.ignored.is_empty(), "{ctx}: {:?}", q.ignored);
        let mapped = q.mapped.expect("primary answered");
        match kind {
            Kind::None => {
                assert_eq!(mapped, q.local, "{ctx}");
                assert_eq!(q.port_preserving, Some(true));
            }
            _ => {
                assert_eq!(*mapped.ip(), PUBLIC, "{ctx}");
                assert_ne!(mapped.port(), q.local.port(), "{ctx}");
                assert_eq!(q.port_preserving, Some(false));
            }
        }
        // The evidence: which RS was answered.
        if kind == Kind::Cone {
            assert!(q.cone_answered(), "{ctx}");
        }
        if kind == Kind::Restricted {
            assert!(!q.cone_answered() && q.primary_answered() && q.secondary_answered(), "{ctx}");
            // Only "restricted" waits for the cone test to run out.
            assert!(q.elapsed >= cfg().timeout * cfg().retries, "{ctx}");
        }
        if kind == Kind::Symmetric {
            let m2 = q.steps[2].answer.as_ref().and_then(|a| a.mapped).unwrap();
            assert_ne!(m2, mapped, "{ctx}");
        }
        // The Teredo address's cone flag follows the verdict (RFC 4380 §4).
        let t = crate::addr::TeredoAddress::decode(q.teredo_address.unwrap()).unwrap();
        assert_eq!(t.flags.cone(), verdict == NatType::Cone, "{ctx}");
        assert_eq!((t.mapped_address, t.mapped_port), (*mapped.ip(), mapped.port()));
    }
}

#[test]
fn the_simulated_trap_is_real_on_one_socket() {
    // The simulation must misbehave the way conntrack does, or the next test proves nothing:
    // after the cone RA from the secondary is dropped, the same socket's next packet to the
    // secondary leaves with another port.
    let mut w = World::new(Kind::Trap);
    let local = SocketAddrV4::new(INSIDE, 40000);
    let primary = SocketAddrV4::new(PRIMARY, 3544);
    let secondary = SocketAddrV4::new(SECONDARY, 3544);
    let m1 = w.map_out(local, primary);
    assert_eq!(w.map_in(m1, secondary), None, "unsolicited: dropped");
    let m2 = w.map_out(local, secondary);
    assert_ne!(m1, m2, "conntrack remapped the flow");
    // A fresh socket is not affected.
    let other = SocketAddrV4::new(INSIDE, 40001);
    assert_eq!(w.map_out(other, primary), w.map_out(other, secondary));
}

#[test]
fn conntrack_trap_is_restricted_not_symmetric() {
    // The cone RA never arrives (filtered, leaving an UNREPLIED entry); the primary and
    // secondary mappings, taken from another socket, are equal: restricted.
    let (q, world) = run(World::new(Kind::Trap));
    assert_eq!(q.nat_type, NatType::Restricted, "{:?}", q.steps);
    assert!(!q.cone_answered());
    let m1 = q.steps[1].answer.as_ref().and_then(|a| a.mapped).unwrap();
    let m2 = q.steps[2].answer.as_ref().and_then(|a| a.mapped).unwrap();
    assert_eq!(m1, m2);
    // The cone RS left from another socket than the two mapping RSs.
    let w = world.lock().unwrap();
    let cone_socket = q.steps[0].from;
    assert_ne!(cone_socket, q.local);
    assert!(w.sent.iter().all(|(l, to)| *l != cone_socket || *to.ip() == PRIMARY), "{:?}", w.sent);
}

#[test]
fn partial_and_missing_evidence() {
    // No secondary: restricted and symmetric cannot be told apart.
    let mut w = World::new(Kind::Restricted);
    w.secondary_up = false;
    let (q, _) = run(w);
    assert_eq!(q.nat_type, NatType::Unknown, "{:?}", q.steps);
    assert!(q.primary_answered() && !q.secondary_answered());
    // No secondary but no NAT either: the primary's mapping alone proves it.
    let mut w = World::new(Kind::None);
    w.secondary_up = false;
    assert_eq!(run(w).0.nat_type, NatType::None);
    // Nothing answers: offline, after every try of every RS.
    let mut w = World::new(Kind::Cone);
    w.primary_up = false;
    w.secondary_up = false;
    let (q, _) = run(w);
    assert_eq!(q.nat_type, NatType::Offline);
    assert!(q.steps.iter().all(|s| s.tries == 2 && s.answer.is_none()), "{:?}", q.steps);
    assert!(q.mapped.is_none() && q.teredo_address.is_none());
}
