//! IPv4 fragment reassembly (RFC 791 §3.2; overlap handling per RFC 5722's spirit: overlapping
//! fragments are reported and the datagram dropped). Stateful, owned buffers, bounded memory:
//! at most `max_datagrams` datagrams in progress and `max_bytes` buffered, each expiring after
//! `timeout_ns` of capture time. [`crate::dissect`] stays pure; feed fragments here and dissect
//! the rebuilt datagram with [`crate::dissect::dissect_ipv4_datagram`].

use crate::error::LengthSource;
use crate::wire::ipv4::{parse_ipv4, Ipv4Header};
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// Limits of the reassembler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Datagrams in progress at once.
    pub max_datagrams: usize,
    /// Bytes buffered over all datagrams.
    pub max_bytes: usize,
    /// Capture-time timeout per datagram, nanoseconds (RFC 791 suggests 15 s).
    pub timeout_ns: u64,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        ReassemblyLimits {
            max_datagrams: 1024,
            max_bytes: 16 << 20,
            timeout_ns: 30_000_000_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    id: u16,
    protocol: u8,
}

#[derive(Debug)]
struct Pending {
    first_seen_ns: u64,
    header: Option<Vec<u8>>,
    data: Vec<u8>,
    /// Received byte ranges (start, end), payload-relative.
    ranges: Vec<(usize, usize)>,
    total: Option<usize>,
}

/// What happened to a fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReassemblyOutcome {
    /// The packet is not an IPv4 fragment (dissect it directly).
    NotFragment,
    /// Stored, waiting for more fragments.
    Pending,
    /// The datagram is complete: a full IPv4 datagram with a rebuilt header (offset 0, MF 0,
    /// total length and checksum updated).
    Complete(Vec<u8>),
    /// The fragment overlaps data already received: the datagram is dropped.
    Overlap,
    /// Dropped: a limit was hit or the fragment is invalid.
    Dropped(&'static str),
}

/// Stateful IPv4 reassembler.
#[derive(Debug, Default)]
pub struct Ipv4Reassembler {
    limits: ReassemblyLimits,
    pending: HashMap<Key, Pending>,
    bytes: usize,
}

impl Ipv4Reassembler {
    /// A reassembler with these limits.
    pub fn new(limits: ReassemblyLimits) -> Self {
        Ipv4Reassembler {
            limits,
            pending: HashMap::new(),
            bytes: 0,
        }
    }

    /// Datagrams in progress.
    pub fn in_progress(&self) -> usize {
        self.pending.len()
    }

    fn expire(&mut self, now_ns: u64) {
        let timeout = self.limits.timeout_ns;
        let mut freed = 0;
        self.pending.retain(|_, p| {
            let keep = now_ns.saturating_sub(p.first_seen_ns) <= timeout;
            if !keep {
                freed += p.data.len();
            }
            keep
        });
        self.bytes -= freed.min(self.bytes);
    }

    /// Feed one IPv4 packet (starting at its IPv4 header) seen at capture time `ts_ns`.
    pub fn push(&mut self, ts_ns: u64, packet: &[u8]) -> ReassemblyOutcome {
        let Ok(p) = parse_ipv4(packet, 0, LengthSource::Snaplen) else {
            return ReassemblyOutcome::Dropped("not a valid IPv4 header");
        };
        let h: Ipv4Header<'_> = p.header;
        if !h.is_fragment() {
            return ReassemblyOutcome::NotFragment;
        }
        if p.missing > 0 {
            return ReassemblyOutcome::Dropped("fragment cut by the snapshot length");
        }
        self.expire(ts_ns);
        let key = Key {
            src: h.src,
            dst: h.dst,
            id: h.identification,
            protocol: h.protocol.0,
        };
        let start = h.fragment_offset_bytes();
        let end = start + p.payload.len();
        if end > 65535 - 20 {
            return ReassemblyOutcome::Dropped("fragment past the maximum datagram size");
        }
        if h.more_fragments && p.payload.len() % 8 != 0 {
            return ReassemblyOutcome::Dropped("non-last fragment length not a multiple of 8");
        }
        if !self.pending.contains_key(&key) && self.pending.len() >= self.limits.max_datagrams {
            return ReassemblyOutcome::Dropped("too many datagrams in reassembly");
        }
        let entry = self.pending.entry(key).or_insert_with(|| Pending {
            first_seen_ns: ts_ns,
            header: None,
            data: Vec::new(),
            ranges: Vec::new(),
            total: None,
        });
        if entry.ranges.contains(&(start, end)) && entry.data[start..end] == *p.payload {
            return ReassemblyOutcome::Pending; // exact duplicate
        }
        if entry.ranges.iter().any(|&(s, e)| start < e && s < end) {
            let freed = entry.data.len();
            self.pending.remove(&key);
            self.bytes -= freed.min(self.bytes);
            return ReassemblyOutcome::Overlap;
        }
        let grow = end.saturating_sub(entry.data.len());
        if self.bytes + grow > self.limits.max_bytes {
            return ReassemblyOutcome::Dropped("reassembly memory limit reached");
        }
        if entry.data.len() < end {
            entry.data.resize(end, 0);
        }
        self.bytes += grow;
        entry.data[start..end].copy_from_slice(p.payload);
        entry.ranges.push((start, end));
        if start == 0 {
            entry.header = Some(h.raw.to_vec());
        }
        if !h.more_fragments {
            entry.total = Some(end);
        }
        let Some(total) = entry.total else {
            return ReassemblyOutcome::Pending;
        };
        if entry.header.is_none() {
            return ReassemblyOutcome::Pending;
        }
        entry.ranges.sort_unstable();
        let mut covered = 0;
        for &(s, e) in &entry.ranges {
            if s > covered {
                return ReassemblyOutcome::Pending;
            }
            covered = covered.max(e);
        }
        if covered < total {
            return ReassemblyOutcome::Pending;
        }
        let done = self.pending.remove(&key).expect("entry present");
        self.bytes -= done.data.len().min(self.bytes);
        let mut hdr = done.header.unwrap_or_default();
        let total_len = (hdr.len() + total).min(0xffff) as u16;
        hdr[2..4].copy_from_slice(&total_len.to_be_bytes());
        hdr[6] &= 0x40; // keep DF, clear MF and the offset
        hdr[7] = 0;
        hdr[10] = 0;
        hdr[11] = 0;
        let c = crate::wire::checksum(&hdr);
        hdr[10..12].copy_from_slice(&c.to_be_bytes());
        hdr.extend_from_slice(&done.data[..total]);
        ReassemblyOutcome::Complete(hdr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::{dissect_ipv4_datagram, DissectOptions, MessageType};
    use crate::wire::ipv4::{emit_ipv4, IpProtocol};
    use crate::wire::udp::emit_udp;

    fn fragments(payload: &[u8], split: usize) -> (Vec<u8>, Vec<u8>) {
        let a = Ipv4Addr::new(192, 0, 2, 1);
        let b = Ipv4Addr::new(192, 0, 2, 2);
        let mut f1 = emit_ipv4(a, b, IpProtocol::UDP, split, 64, 77, 0x2000).to_vec();
        f1.extend_from_slice(&payload[..split]);
        let mut f2 = emit_ipv4(
            a,
            b,
            IpProtocol::UDP,
            payload.len() - split,
            64,
            77,
            (split / 8) as u16,
        )
        .to_vec();
        f2.extend_from_slice(&payload[split..]);
        (f1, f2)
    }

    fn teredo_udp() -> Vec<u8> {
        let mut ip6 = Vec::new();
        crate::wire::icmpv6::emit_echo(
            false,
            "2001:0:c000:201::1".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
            64,
            1,
            2,
            &[0xab; 100],
            &mut ip6,
        );
        let mut u = emit_udp(40000, 3544, &ip6, None).to_vec();
        u.extend_from_slice(&ip6);
        u
    }

    #[test]
    fn two_fragments_in_any_order_make_a_teredo_datagram() {
        let u = teredo_udp();
        let (f1, f2) = fragments(&u, 64);
        for order in [[&f1, &f2], [&f2, &f1]] {
            let mut r = Ipv4Reassembler::new(ReassemblyLimits::default());
            assert_eq!(r.push(1, order[0]), ReassemblyOutcome::Pending);
            let ReassemblyOutcome::Complete(dg) = r.push(2, order[1]) else {
                panic!("not complete")
            };
            assert_eq!(r.in_progress(), 0);
            let d = dissect_ipv4_datagram(&dg, 0, &DissectOptions::default());
            assert!(d.errors.is_empty(), "{:?}", d.errors);
            assert!(d.notices.is_empty(), "{:?}", d.notices);
            assert_eq!(d.message_type(), Some(MessageType::EchoRequest));
        }
    }

    #[test]
    fn overlap_timeout_and_limits() {
        let u = teredo_udp();
        let (f1, _) = fragments(&u, 64);
        let (g1, _) = fragments(&u, 32);
        let mut r = Ipv4Reassembler::new(ReassemblyLimits::default());
        assert_eq!(r.push(0, &f1), ReassemblyOutcome::Pending);
        assert_eq!(r.push(0, &g1), ReassemblyOutcome::Overlap);
        assert_eq!(r.in_progress(), 0);
        let mut r = Ipv4Reassembler::new(ReassemblyLimits {
            timeout_ns: 10,
            ..Default::default()
        });
        r.push(0, &f1);
        let (_, f2) = fragments(&u, 64);
        // the first fragment expired before the second came
        assert_eq!(r.push(100, &f2), ReassemblyOutcome::Pending);
        let mut r = Ipv4Reassembler::new(ReassemblyLimits {
            max_datagrams: 0,
            ..Default::default()
        });
        assert!(matches!(r.push(0, &f1), ReassemblyOutcome::Dropped(_)));
        let whole = emit_ipv4(
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::LOCALHOST,
            IpProtocol::UDP,
            0,
            1,
            0,
            0,
        );
        assert_eq!(r.push(0, &whole), ReassemblyOutcome::NotFragment);
    }
}
