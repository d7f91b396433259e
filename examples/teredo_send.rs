//! Send Teredo (RFC 4380) packets over plain UDP sockets, built with the crate's
//! own emit functions. Used by the live-capture tests (run inside a network
//! namespace the test creates) and by bench/live-flood.sh.
//!
//! ```text
//! teredo_send [--bind IPV4] DST_IPV4 KIND@SPORT:DPORT...
//! teredo_send [--bind IPV4] --flood SECONDS [--rate PPS] DST_IPV4 DPORT
//! ```
//!
//! KIND is one of `rs`, `ra`, `bubble`, `indirect-bubble`, `echo-request`,
//! `echo-reply`, `data`, `not-teredo` (a UDP payload that is no Teredo packet).
//! SPORT 0 = an ephemeral source port. Packets are sent in the order given,
//! with a short pause between them so that none is lost on the way.
//!
//! `--flood` sends the seven Teredo kinds round-robin as fast as the socket
//! allows (or at `--rate` packets per second), for SECONDS, then prints `sent N packets in S s (R packets/s)` on
//! stderr and the packet count alone on stdout.
//!
//! Addresses: the Teredo server is 192.0.2.1, the client's mapped address
//! 198.51.100.2:40000, the peer 198.51.100.3:40001, the relay 203.0.113.1:3545,
//! the IPv6 host 2001:db8:ff::1 (documentation ranges only).

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};
use teredo_tool::addr::{Flags, TeredoAddress, TeredoPrefix};
use teredo_tool::wire::icmpv6::{
    emit_echo, emit_router_advertisement, emit_router_solicitation, RouterAdvertisementRepr,
};
use teredo_tool::wire::ipv4::IpProtocol;
use teredo_tool::wire::ipv6::{emit_bubble, Ipv6Header};
use teredo_tool::wire::teredo::{build_teredo_payload, Authentication, OriginIndication};

const KINDS: [&str; 7] = ["rs", "ra", "bubble", "indirect-bubble", "echo-request", "echo-reply", "data"];

fn teredo(mapped: Ipv4Addr, port: u16) -> Ipv6Addr {
    TeredoAddress {
        prefix: TeredoPrefix::Rfc4380,
        server: Ipv4Addr::new(192, 0, 2, 1),
        flags: Flags(0),
        mapped_port: port,
        mapped_address: mapped,
    }
    .encode()
}

/// The UDP payload of one packet of `kind`; `seq` varies echo sequence numbers and nonces.
pub fn payload(kind: &str, seq: u16) -> Result<Vec<u8>> {
    let client = teredo(Ipv4Addr::new(198, 51, 100, 2), 40000);
    let peer = teredo(Ipv4Addr::new(198, 51, 100, 3), 40001);
    let host: Ipv6Addr = "2001:db8:ff::1".parse()?;
    let rs_source: Ipv6Addr = "fe80::ffff:ffff:ffff".parse()?;
    let nonce = {
        let mut n = *b"ttvnonce";
        n[6..].copy_from_slice(&seq.to_be_bytes());
        n
    };
    let mut ipv6 = Vec::with_capacity(128);
    let mut out = Vec::with_capacity(160);
    match kind {
        "rs" => {
            emit_router_solicitation(rs_source, &mut ipv6);
            build_teredo_payload(Some(&Authentication::new(nonce, 0)), None, &ipv6, &[], &mut out);
        }
        "ra" => {
            let ra = RouterAdvertisementRepr {
                prefix: "2001:0:c000:201::".parse()?,
                mtu: Some(1280),
                retrans_timer: 2000,
                lifetime: 0,
            };
            emit_router_advertisement("fe80::8000:f227:3ffd:fdfe".parse()?, rs_source, &ra, &mut ipv6);
            let origin = OriginIndication::new(Ipv4Addr::new(198, 51, 100, 2), 40000);
            build_teredo_payload(Some(&Authentication::new(nonce, 0)), Some(&origin), &ipv6, &[], &mut out);
        }
        "bubble" => out.extend_from_slice(&emit_bubble(client, peer, 0)),
        "indirect-bubble" => {
            let origin = OriginIndication::new(Ipv4Addr::new(203, 0, 113, 1), 3545);
            build_teredo_payload(None, Some(&origin), &emit_bubble(peer, client, 0), &[], &mut out);
        }
        "echo-request" => emit_echo(false, client, host, 64, 0x7474, seq, b"teredo-tool", &mut out),
        "echo-reply" => emit_echo(true, host, client, 64, 0x7474, seq, b"teredo-tool", &mut out),
        "data" => {
            // IPv6 + a UDP datagram (checksum left 0: a data packet is not looked into).
            let body = b"\x9c\x40\x00\x35\x00\x0c\x00\x00data";
            Ipv6Header::new(client, host, IpProtocol(17), body.len() as u16, 64).emit(&mut out);
            out.extend_from_slice(body);
        }
        "not-teredo" => out.extend_from_slice(b"this is no Teredo packet, only some bytes of text"),
        other => bail!("unknown kind {other:?} (one of {}, not-teredo)", KINDS.join(", ")),
    }
    Ok(out)
}

struct Sockets {
    bind: Ipv4Addr,
    by_port: HashMap<u16, UdpSocket>,
}

impl Sockets {
    fn get(&mut self, sport: u16) -> Result<&UdpSocket> {
        if !self.by_port.contains_key(&sport) {
            let s =
                UdpSocket::bind(SocketAddrV4::new(self.bind, sport)).with_context(|| format!("bind port {sport}"))?;
            self.by_port.insert(sport, s);
        }
        Ok(&self.by_port[&sport])
    }
}

fn parse_spec(spec: &str) -> Result<(&str, u16, u16)> {
    let (kind, ports) = spec.split_once('@').context("expected KIND@SPORT:DPORT")?;
    let (s, d) = ports.split_once(':').context("expected KIND@SPORT:DPORT")?;
    Ok((kind, s.parse()?, d.parse()?))
}

fn main() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut bind = Ipv4Addr::UNSPECIFIED;
    let mut flood: Option<f64> = None;
    let mut rate: Option<f64> = None;
    loop {
        match args.first().map(String::as_str) {
            Some("--bind") => {
                bind = args.get(1).context("--bind IPV4")?.parse()?;
                args.drain(..2);
            }
            Some("--flood") => {
                flood = Some(args.get(1).context("--flood SECONDS")?.parse()?);
                args.drain(..2);
            }
            Some("--rate") => {
                rate = Some(args.get(1).context("--rate PPS")?.parse()?);
                args.drain(..2);
            }
            _ => break,
        }
    }
    let dst: Ipv4Addr =
        args.first().context("usage: teredo_send [--bind IPV4] DST_IPV4 KIND@SPORT:DPORT...")?.parse()?;
    let mut sockets = Sockets { bind, by_port: HashMap::new() };
    if let Some(seconds) = flood {
        let dport: u16 = args.get(1).context("--flood needs DST_IPV4 DPORT")?.parse()?;
        let packets: Vec<Vec<u8>> = KINDS.iter().map(|k| payload(k, 1)).collect::<Result<_>>()?;
        let sock = sockets.get(0)?;
        sock.connect(SocketAddrV4::new(dst, dport))?;
        let start = Instant::now();
        let end = Duration::from_secs_f64(seconds);
        let mut sent = 0u64;
        'flood: loop {
            for p in &packets {
                match sock.send(p) {
                    Ok(_) => sent += 1,
                    // the local queue is full: try again
                    Err(e) if e.raw_os_error() == Some(105) => {}
                    Err(e) => return Err(e).context("send"),
                }
            }
            if sent % 64 < packets.len() as u64 {
                let elapsed = start.elapsed();
                if elapsed >= end {
                    break 'flood;
                }
                if let Some(r) = rate {
                    // ahead of schedule: wait until the packets sent are due
                    let due = Duration::from_secs_f64(sent as f64 / r);
                    if due > elapsed {
                        std::thread::sleep(due - elapsed);
                    }
                }
            }
        }
        let secs = start.elapsed().as_secs_f64();
        eprintln!("sent {sent} packets in {secs:.2} s ({:.0} packets/s)", sent as f64 / secs);
        println!("{sent}");
        return Ok(());
    }
    for (i, spec) in args[1..].iter().enumerate() {
        let (kind, sport, dport) = parse_spec(spec)?;
        let bytes = payload(kind, i as u16)?;
        sockets.get(sport)?.send_to(&bytes, SocketAddrV4::new(dst, dport)).with_context(|| format!("send {spec}"))?;
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}
