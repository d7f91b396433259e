//! What the analysis keeps about one (client, peer) pair, in one table.
//!
//! A peer is the other end of a client's packets: another Teredo client, or an IPv6 host
//! reached through a relay. A pair's entry holds whether the peer was counted among the
//! client's peers, its bubble state (RFC 4380 §5.2.6 rate limits), the process with the peer
//! as IPv6 host (§5.2.9 relay discovery, §5.4.1 IPv6-initiated), and the last relay the pair
//! was seen through. One entry of 24 bytes, so one memory access (two lines at most) per side
//! of a packet; and since pairs are keyed by a fingerprint of the client's mapping (not by a
//! client number the analysis hands out), the dissecting threads compute the keys of a
//! packet's pairs and the analysis can prefetch their entries before it needs them
//! ([`PairTable::prefetch`]).
//!
//! Keyed by the mapping, a pair outlives a client retracted by the analysis
//! (`retract_cone_client`) and made again under the same mapping. A retracted client has no
//! peers and no address, so at most a bubble state towards a link-local peer carries over.

use super::{fold, Mapping, Sock, K0, K1};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

/// `PairState::bubbles`: the client sent the peer no bubble yet.
pub(super) const NO_BUBBLES: u32 = u32::MAX;
/// `PairState::host_proc`: no process with the peer as IPv6 host yet.
pub(super) const NO_PROC: u32 = u32::MAX;
/// `PairState::host_proc`: the process was not kept (beyond the process cap).
pub(super) const NOT_KEPT: u32 = u32::MAX - 1;

/// One (client, peer) pair: 24 bytes. (Not aligned to 32: a third of the entries straddle two
/// cache lines, and [`FpTable::prefetch`] fetches the next slot's line too; a quarter less
/// table to fill and keep in the cache was worth more.)
#[derive(Debug, Clone, Copy)]
pub(super) struct PairState {
    /// The pair's fingerprint ([`pair_key`]); 0 for a free slot.
    fp: u64,
    /// The client's bubble state towards the peer (with when it last heard from the peer): an
    /// index in the analysis' bubble states, or [`NO_BUBBLES`].
    pub bubbles: u32,
    /// The process with the peer as IPv6 host: its id, [`NO_PROC`] or [`NOT_KEPT`].
    pub host_proc: u32,
    /// The last relay the pair was seen through (valid when `relay_noted`).
    pub relay: Sock,
    pub relay_noted: bool,
    /// The peer was counted among the client's peers.
    pub counted: bool,
}

const _: () = assert!(std::mem::size_of::<PairState>() == 24);

/// A slot of an [`FpTable`]: a fingerprint (0 in a free slot) and what goes with it.
pub(super) trait Slot: Copy {
    const FREE: Self;
    fn fp(&self) -> u64;
    fn new(fp: u64) -> Self;
}

impl Slot for PairState {
    const FREE: PairState = PairState {
        fp: 0,
        bubbles: NO_BUBBLES,
        host_proc: NO_PROC,
        relay: Sock { ip: Ipv4Addr::UNSPECIFIED, port: 0 },
        relay_noted: false,
        counted: false,
    };
    fn fp(&self) -> u64 {
        self.fp
    }
    fn new(fp: u64) -> Self {
        PairState { fp, ..Self::FREE }
    }
}

/// A set of fingerprints.
impl Slot for u64 {
    const FREE: u64 = 0;
    fn fp(&self) -> u64 {
        *self
    }
    fn new(fp: u64) -> Self {
        fp
    }
}

/// A per-process random key, so that a crafted capture cannot make pairs collide in the
/// table's slots (the fingerprints are computed on several threads: one key for all).
#[inline]
fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x7465_7265_646f);
        h.finish()
    })
}

/// A fingerprint of (`a`, `b`, `peer`): 64 bits, never 0. Two keys share one with probability
/// 2^-64 (a shared one merges their entries).
#[inline]
fn fingerprint(a: u64, b: u16, peer: Ipv6Addr) -> u64 {
    let v = u128::from(peer);
    let h = fold(a ^ K0 ^ seed(), u64::from(b) ^ K1);
    let h = fold(h ^ v as u64, ((v >> 64) as u64) ^ K1);
    fold(h, 0x9e37_79b9_7f4a_7c15).max(1)
}

/// The key of the pair (the client with `mapping`, `peer`) in a [`PairTable`].
#[inline]
pub(super) fn pair_key(mapping: Mapping, peer: Ipv6Addr) -> u64 {
    let a = (u64::from(u32::from(mapping.server)) << 32) | u64::from(u32::from(mapping.mapped.ip));
    fingerprint(a, mapping.mapped.port, peer)
}

/// The key of (relay, IPv6 host reached through it).
#[inline]
pub(super) fn relay_key(relay: Sock, host: Ipv6Addr) -> u64 {
    fingerprint(u64::from(u32::from(relay.ip)), relay.port, host)
}

/// A hash table keyed by fingerprints: open addressing with linear probing, at most three
/// quarters full.
#[derive(Debug)]
pub(super) struct FpTable<S> {
    slots: Vec<S>,
    len: usize,
}

impl<S> Default for FpTable<S> {
    fn default() -> Self {
        FpTable { slots: Vec::new(), len: 0 }
    }
}

/// The (client, peer) pairs.
pub(super) type PairTable = FpTable<PairState>;

const MIN_SLOTS: usize = 1 << 10;

impl<S: Slot> FpTable<S> {
    /// Pairs held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The slot of `fp`, or the free slot where it would go.
    #[inline]
    fn find(&self, fp: u64) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = fp as usize & mask;
        loop {
            let s = self.slots[i].fp();
            if s == fp {
                return Ok(i);
            }
            if s == 0 {
                return Err(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Asks the processor to bring `fp`'s slot into the cache.
    pub fn prefetch(&self, fp: u64) {
        let i = fp as usize & self.slots.len().wrapping_sub(1);
        if let Some(s) = self.slots.get(i) {
            super::prefetch::read(s);
            // the probe may go on into the next slot's line
            if let Some(s) = self.slots.get(i + 1) {
                super::prefetch::read(s);
            }
        }
    }

    /// `fp`'s slot when `fp` sits in its home slot (most do: the table is at most three quarters full).
    #[inline(always)]
    fn home(&self, fp: u64) -> Option<usize> {
        let i = fp as usize & self.slots.len().wrapping_sub(1);
        self.slots.get(i).is_some_and(|s| s.fp() == fp).then_some(i)
    }

    /// `fp`'s slot, if it is held.
    #[inline]
    fn slot(&self, fp: u64) -> Option<usize> {
        match self.home(fp) {
            Some(i) => Some(i),
            None if self.slots.is_empty() => None,
            None => self.find(fp).ok(),
        }
    }

    #[inline]
    pub fn get(&self, fp: u64) -> Option<&S> {
        self.slot(fp).map(|i| &self.slots[i])
    }

    #[inline]
    pub fn get_mut(&mut self, fp: u64) -> Option<&mut S> {
        self.slot(fp).map(|i| &mut self.slots[i])
    }

    /// The entry of `fp`, made if new — unless `cap` entries are held already: then `None`.
    #[inline]
    pub fn entry(&mut self, fp: u64, cap: usize) -> Option<&mut S> {
        if let Some(i) = self.home(fp) {
            return Some(&mut self.slots[i]);
        }
        self.entry_elsewhere(fp, cap)
    }

    #[inline(never)]
    fn entry_elsewhere(&mut self, fp: u64, cap: usize) -> Option<&mut S> {
        self.insert(fp, cap).map(|(i, _)| &mut self.slots[i])
    }

    /// Adds `fp` unless it is there or `cap` entries are: its slot, and whether it is new.
    fn insert(&mut self, fp: u64, cap: usize) -> Option<(usize, bool)> {
        if self.slots.is_empty() {
            self.slots = vec![S::FREE; MIN_SLOTS];
        }
        match self.find(fp) {
            Ok(i) => Some((i, false)),
            Err(_) if self.len >= cap => None,
            Err(mut i) => {
                if (self.len + 1) * 4 > self.slots.len() * 3 {
                    self.grow();
                    i = self.find(fp).unwrap_err();
                }
                self.len += 1;
                self.slots[i] = S::new(fp);
                Some((i, true))
            }
        }
    }

    /// Adds `fp` to a set: `Some(true)` if it is new, `Some(false)` if it was there, `None`
    /// if it was not and `cap` entries are.
    #[inline]
    pub fn add(&mut self, fp: u64, cap: usize) -> Option<bool> {
        if self.home(fp).is_some() {
            return Some(false);
        }
        self.insert(fp, cap).map(|(_, new)| new)
    }

    fn grow(&mut self) {
        let n = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![S::FREE; n]);
        for s in old.into_iter().filter(|s| s.fp() != 0) {
            let i = self.find(s.fp()).unwrap_err();
            self.slots[i] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(port: u16) -> Mapping {
        Mapping { server: Ipv4Addr::new(192, 0, 2, 1), mapped: Sock { ip: Ipv4Addr::new(198, 51, 100, 7), port } }
    }

    #[test]
    fn entries_survive_growth_and_the_cap_holds() {
        let mut t = PairTable::default();
        let keys: Vec<u64> =
            (0..5000u32).map(|i| pair_key(mapping(i as u16 % 7), Ipv6Addr::from(u128::from(i) << 3))).collect();
        for (n, &k) in keys.iter().enumerate() {
            let e = t.entry(k, 4000);
            if n < 4000 {
                e.expect("room").bubbles = n as u32;
            } else {
                assert!(e.is_none(), "pair {n} beyond the cap");
            }
        }
        assert_eq!(t.len(), 4000);
        for (n, &k) in keys.iter().enumerate() {
            assert_eq!(t.get(k).map(|e| e.bubbles), (n < 4000).then_some(n as u32));
        }
        // an existing pair is still found at the cap
        assert_eq!(t.entry(keys[17], 4000).map(|e| e.bubbles), Some(17));
    }

    #[test]
    fn a_set_says_what_is_new() {
        let mut s = FpTable::<u64>::default();
        let host = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        let keys: Vec<u64> =
            (0..3000u16).map(|i| relay_key(Sock { ip: Ipv4Addr::new(192, 0, 2, 10), port: i }, host)).collect();
        for &k in &keys {
            let expected = if s.len() < 2000 { Some(true) } else { None };
            assert_eq!(s.add(k, 2000), expected);
        }
        assert_eq!(s.add(keys[0], 2000), Some(false));
        assert_eq!(s.add(keys[2500], 2000), None);
        assert!(s.get(keys[1999]).is_some() && s.get(keys[2000]).is_none());
    }

    #[test]
    fn keys_differ_by_each_part() {
        let p = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        let base = pair_key(mapping(4000), p);
        assert_ne!(base, pair_key(mapping(4001), p));
        let mut m = mapping(4000);
        m.server = Ipv4Addr::new(192, 0, 2, 2);
        assert_ne!(base, pair_key(m, p));
        let mut m = mapping(4000);
        m.mapped.ip = Ipv4Addr::new(198, 51, 100, 8);
        assert_ne!(base, pair_key(m, p));
        assert_ne!(base, pair_key(mapping(4000), Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)));
        assert_ne!(base, pair_key(mapping(4000), Ipv6Addr::new(0x2001, 0xdb9, 0, 0, 0, 0, 0, 1)));
        // the port and the low half of the peer do not cancel out
        assert_ne!(pair_key(mapping(1), Ipv6Addr::from(0u128)), pair_key(mapping(0), Ipv6Addr::from(1u128)));
        assert_eq!(base, pair_key(mapping(4000), p));
    }
}
