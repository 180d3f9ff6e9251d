//! [`Bounded`]: the correlation state's map that forgets, by count and by time.
//!
//! Its values live in one insertion-ordered ring (the queue of what to forget
//! first); the hash index holds only each key's place in it. The process table
//! (32k entries) is written on every exec: an insert then writes a small index
//! bucket and the ring's tail, and the eviction that pays for it reads the ring's
//! head, instead of moving whole entries into and out of a table of megabytes at
//! random places. What it keeps, drops and counts is exactly what the former
//! design (entries in the hash map, keys in a separate queue) did; the tests hold
//! it to that design, kept below as the oracle.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, RandomState};

/// A map that forgets: its oldest entries beyond `cap` (counted in `dropped`), and
/// entries older than a cutoff (see [`Bounded::expire`]). String keys (paths,
/// GUIDs) are attacker-chosen and keep the DoS-resistant default hasher; integer keys
/// use the faster FxHash.
#[derive(Clone)]
pub(super) struct Bounded<K, V, S = RandomState> {
    /// Each live key's entry, as its number in `order` (entry `n` is
    /// `order[n - base]`).
    map: HashMap<K, u64, S>,
    /// Entries in insertion order with the insertion's time; an entry whose key was
    /// replaced or removed since is stale: it has no value, and only its time
    /// still counts (for [`Bounded::expire`], as a queue item did).
    pub(super) order: VecDeque<Entry<K, V>>,
    /// The number of `order`'s front entry.
    base: u64,
    cap: usize,
    pub(super) dropped: u64,
}

/// Rings this long or longer grow to exactly their cap (see
/// [`Bounded::insert_at`]); shorter ones grow as a `VecDeque` does.
const EXACT_RING_FROM: usize = 1024;

#[derive(Clone)]
pub(super) struct Entry<K, V> {
    key: K,
    time_ms: i64,
    /// Input position of the event it came from ([`u64::MAX`]: none).
    position: u64,
    /// `None` once stale.
    value: Option<V>,
}

impl<K: Eq + Hash + Clone, V, S: BuildHasher + Default> Bounded<K, V, S> {
    pub(super) fn new(cap: usize) -> Self {
        Bounded {
            map: HashMap::with_hasher(S::default()),
            order: VecDeque::new(),
            base: 0,
            cap: cap.max(1),
            dropped: 0,
        }
    }

    /// Inserts an entry that keeps no input position alive (state that only amends
    /// findings still held, or evidence kept beside an entry that does).
    pub(super) fn insert(&mut self, key: K, value: V, time_ms: i64) {
        self.insert_at(key, value, time_ms, None);
    }

    /// Inserts an entry made from the event at input `position`.
    pub(super) fn insert_at(&mut self, key: K, value: V, time_ms: i64, position: Option<u64>) {
        // A new key in a full table: the oldest live entry goes first (as it would
        // right after the insert), so that in a ring that holds just `cap` entries
        // the new one is written into the slot that entry left, whose cache lines
        // its eviction has just read, instead of into lines untouched since the
        // ring last came round (megabytes ago, for a process table).
        if self.map.len() >= self.cap && !self.map.contains_key(&key) && self.pop_oldest() {
            self.dropped += 1;
        }
        let len = self.order.len();
        if len == self.order.capacity() && (EXACT_RING_FROM..self.cap).contains(&len) {
            // Grown to exactly `cap`, not to the next doubling past it (past `cap`,
            // with stale entries in it, it grows as a `VecDeque` does).
            self.order.reserve_exact(self.cap - len);
        }
        let number = self.base + self.order.len() as u64;
        if let Some(old) = self.map.insert(key.clone(), number) {
            if let Some(entry) = self.order.get_mut((old - self.base) as usize) {
                entry.value = None;
            }
        }
        self.order.push_back(Entry {
            key,
            time_ms,
            position: position.unwrap_or(u64::MAX),
            value: Some(value),
        });
        while self.map.len() > self.cap {
            if self.pop_oldest() {
                self.dropped += 1;
            }
        }
        // Replaced entries stay in the ring, stale: compact now and then.
        if self.order.len() > 2 * self.cap + 64 {
            self.order.retain(|e| e.value.is_some());
            for (i, e) in self.order.iter().enumerate() {
                if let Some(number) = self.map.get_mut(&e.key) {
                    *number = self.base + i as u64;
                }
            }
        }
    }

    /// Takes the front entry off the ring; true if it was live (its key is gone).
    fn pop_front(&mut self) -> Option<bool> {
        let entry = self.order.pop_front()?;
        self.base += 1;
        let live = entry.value.is_some();
        if live {
            self.map.remove(&entry.key);
        }
        Some(live)
    }

    /// Removes the oldest live entry; false when there is none.
    fn pop_oldest(&mut self) -> bool {
        while let Some(live) = self.pop_front() {
            if live {
                return true;
            }
        }
        false
    }

    /// Forgets entries inserted before `cutoff_ms` (insertion order is close to time
    /// order; an out-of-order entry is forgotten with its neighbours). Costs nothing
    /// while the oldest entry is recent enough.
    pub(super) fn expire(&mut self, cutoff_ms: i64) {
        while self.order.front().is_some_and(|e| e.time_ms < cutoff_ms) {
            self.pop_front();
        }
    }

    /// Forgets `key` (its entry goes stale).
    pub(super) fn remove(&mut self, key: &K) {
        if let Some(number) = self.map.remove(key) {
            if let Some(entry) = self.order.get_mut((number - self.base) as usize) {
                entry.value = None;
            }
        }
    }

    /// The lowest input position of the entries kept.
    pub(super) fn oldest_position(&self) -> Option<u64> {
        self.order
            .iter()
            .filter(|e| e.value.is_some())
            .map(|e| e.position)
            .filter(|&p| p != u64::MAX)
            .min()
    }

    fn entry(&self, key: &K) -> Option<&Entry<K, V>> {
        let number = *self.map.get(key)?;
        self.order.get((number - self.base) as usize)
    }

    pub(super) fn get(&self, key: &K) -> Option<(&V, i64)> {
        let entry = self.entry(key)?;
        Some((entry.value.as_ref()?, entry.time_ms))
    }

    pub(super) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let number = *self.map.get(key)?;
        self.order
            .get_mut((number - self.base) as usize)?
            .value
            .as_mut()
    }

    /// No live entry.
    pub(super) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }
}

/// Inserts, replacements, removals, lookups and expiries on a table of `cap`
/// entries keyed like the process table, `ops` of them, drawn from `seed`: for the
/// `correlation_table` benchmark only. Returns a digest of what the lookups saw.
#[doc(hidden)]
pub fn churn(cap: usize, ops: usize, seed: u64) -> u64 {
    let mut table: Bounded<(u64, u32), [u64; 12], rustc_hash::FxBuildHasher> = Bounded::new(cap);
    let mut x = seed.max(1);
    let mut digest = 0u64;
    for i in 0..ops {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // pids as a busy host reuses them: a range a few times the table's size.
        let key = (x >> 60, (x % (3 * cap as u64)) as u32);
        let time = i as i64;
        match x % 16 {
            0 => table.remove(&key),
            1..=3 => {
                digest = digest.wrapping_add(table.get(&key).map_or(1, |(v, t)| v[0] ^ t as u64))
            }
            _ => table.insert_at(key, [x; 12], time, Some(i as u64)),
        }
        if i % 1024 == 0 {
            table.expire(time - 8 * cap as i64);
        }
    }
    digest ^ table.dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    /// The map as it was: entries in the hash map, keys in a separate queue whose
    /// stale items (replaced keys) are recognised by sequence number. The oracle.
    struct Reference<K, V> {
        map: HashMap<K, (V, u64, i64, u64)>,
        order: VecDeque<(K, u64, i64)>,
        cap: usize,
        seq: u64,
        dropped: u64,
    }

    impl<K: Eq + Hash + Clone, V> Reference<K, V> {
        fn new(cap: usize) -> Self {
            Reference {
                map: HashMap::new(),
                order: VecDeque::new(),
                cap: cap.max(1),
                seq: 0,
                dropped: 0,
            }
        }

        fn insert_at(&mut self, key: K, value: V, time_ms: i64, position: Option<u64>) {
            self.seq += 1;
            self.map.insert(
                key.clone(),
                (value, self.seq, time_ms, position.unwrap_or(u64::MAX)),
            );
            self.order.push_back((key, self.seq, time_ms));
            while self.map.len() > self.cap {
                if self.pop_oldest() {
                    self.dropped += 1;
                }
            }
            if self.order.len() > 2 * self.cap + 64 {
                let map = &self.map;
                self.order
                    .retain(|(k, s, _)| map.get(k).is_some_and(|slot| slot.1 == *s));
            }
        }

        fn pop_oldest(&mut self) -> bool {
            while let Some((k, s, _)) = self.order.pop_front() {
                if self.map.get(&k).is_some_and(|slot| slot.1 == s) {
                    self.map.remove(&k);
                    return true;
                }
            }
            false
        }

        fn expire(&mut self, cutoff_ms: i64) {
            while let Some((_, _, t)) = self.order.front() {
                if *t >= cutoff_ms {
                    return;
                }
                if let Some((k, s, _)) = self.order.pop_front() {
                    if self.map.get(&k).is_some_and(|slot| slot.1 == s) {
                        self.map.remove(&k);
                    }
                }
            }
        }

        fn oldest_position(&self) -> Option<u64> {
            self.map
                .values()
                .map(|s| s.3)
                .filter(|&p| p != u64::MAX)
                .min()
        }

        fn get(&self, key: &K) -> Option<(&V, i64)> {
            self.map.get(key).map(|s| (&s.0, s.2))
        }
    }

    #[test]
    fn ring_table_agrees_with_the_former_map_on_random_operations() {
        for (seed, cap, keys) in [
            (1, 1, 3),
            (2, 2, 5),
            (3, 3, 4),
            (4, 8, 40),
            (5, 16, 16),
            (6, 64, 500),
            (7, 100, 90),
            // Rings long enough to be grown to exactly their cap.
            (8, 1100, 1500),
            (9, 2048, 2100),
        ] {
            let mut rng = XorShift::new(seed);
            let mut new: Bounded<u32, u64, rustc_hash::FxBuildHasher> = Bounded::new(cap);
            let mut old: Reference<u32, u64> = Reference::new(cap);
            let mut time = 0i64;
            for step in 0..40_000u64 {
                let key = rng.below(keys) as u32;
                // Time mostly moves on, sometimes back (out-of-order logs).
                time += rng.below(5) as i64 - 1;
                match rng.below(20) {
                    0..=9 => {
                        let position = (rng.below(4) != 0).then_some(step);
                        new.insert_at(key, step, time, position);
                        old.insert_at(key, step, time, position);
                    }
                    10..=11 => {
                        new.remove(&key);
                        old.map.remove(&key);
                    }
                    12 => {
                        let cutoff = time - rng.below(30) as i64;
                        new.expire(cutoff);
                        old.expire(cutoff);
                    }
                    13 => {
                        if let Some(v) = new.get_mut(&key) {
                            *v += 1_000_000;
                        }
                        if let Some(slot) = old.map.get_mut(&key) {
                            slot.0 += 1_000_000;
                        }
                    }
                    _ => {}
                }
                assert_eq!(new.get(&key), old.get(&key), "seed {seed} step {step}");
                assert_eq!(new.len(), old.map.len(), "seed {seed} step {step}");
                assert_eq!(new.dropped, old.dropped, "seed {seed} step {step}");
                assert!(new.order.len() <= 2 * new.cap + 64 + 1);
                if step % 97 == 0 {
                    assert_eq!(new.oldest_position(), old.oldest_position());
                    for k in 0..keys as u32 {
                        assert_eq!(new.get(&k), old.get(&k), "seed {seed} step {step}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_full_ring_of_new_keys_stays_at_its_cap_and_forgets_the_oldest() {
        // Not a power of two: a doubling ring would end at 4096.
        let cap = 3000;
        let mut table: Bounded<u32, u32, rustc_hash::FxBuildHasher> = Bounded::new(cap);
        for key in 0..3 * cap as u32 {
            table.insert_at(key, key, i64::from(key), Some(u64::from(key)));
            assert!(table.order.len() <= cap, "{key}: {}", table.order.len());
        }
        // Exactly as long as the cap: each new entry takes the slot the evicted one
        // left, and the buffer was never doubled past it.
        assert_eq!(table.order.capacity(), cap);
        assert_eq!(table.dropped, 2 * cap as u64);
        assert_eq!(table.get(&(2 * cap as u32 - 1)), None);
        assert_eq!(
            table.get(&(2 * cap as u32)),
            Some((&(2 * cap as u32), 2 * cap as i64))
        );
        assert_eq!(table.oldest_position(), Some(2 * cap as u64));
    }

    #[test]
    fn churn_is_deterministic() {
        assert_eq!(churn(64, 10_000, 7), churn(64, 10_000, 7));
    }
}
