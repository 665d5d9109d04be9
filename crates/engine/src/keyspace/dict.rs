//! The hash table of one shard: chained buckets, incremental rehashing, and Valkey's SCAN
//! cursor.
//!
//! Why not `hashbrown`: SCAN promises that a full iteration returns every key that was present
//! from start to end, even while the table grows or shrinks between calls. Valkey gets that
//! from power-of-two bucket arrays walked in reverse-binary cursor order; an open-addressing
//! table that reorders on resize cannot give it. Chaining also lets the bucket link live inside
//! the entry allocation (`next`), so a key costs one allocation plus ~8 bytes of bucket array.
//!
//! Growing or shrinking moves entries a few buckets at a time (on each operation, and from the
//! cron), so a large shard never stalls its clients for a full rehash.

use super::entry::EntryPtr;
use std::marker::PhantomData;
use std::ptr;

/// Something a [`Dict`] can chain: a thin pointer to an allocation that starts with the
/// 8-byte chain link and that knows its key. Keyspace entries are one; the members of big
/// hashes and sets are others.
///
/// # Safety
/// `as_raw` must return a non-null, 8-byte-aligned pointer whose first 8 bytes are reserved for
/// the link, `from_raw` must accept exactly such pointers, and `key` must stay valid while the
/// item is alive.
pub unsafe trait Chained: Copy {
    fn as_raw(self) -> *mut u8;

    /// # Safety
    /// `p` must have come from `as_raw` of a live item of this type.
    unsafe fn from_raw(p: *mut u8) -> Self;

    fn key<'a>(self) -> &'a [u8];

    /// Frees the item and everything it owns.
    ///
    /// # Safety
    /// The item must be linked nowhere and never used again.
    unsafe fn free(self);

    fn next(self) -> *mut u8 {
        // SAFETY: the first 8 bytes of a live item are its aligned link (trait contract).
        unsafe { ptr::read(self.as_raw() as *const *mut u8) }
    }

    // `next` is only stored, never dereferenced here.
    #[allow(clippy::not_unsafe_ptr_arg_deref)]
    fn set_next(self, next: *mut u8) {
        // SAFETY: as in `next`; the owner's lock gives exclusive access.
        unsafe { ptr::write(self.as_raw() as *mut *mut u8, next) }
    }

    fn next_slot(self) -> *mut *mut u8 {
        self.as_raw() as *mut *mut u8
    }
}

/// Smallest non-empty bucket array.
const INITIAL_SIZE: usize = 4;
/// Shrink when fewer than 1 entry per this many buckets (Valkey's `HASHTABLE_MIN_FILL`).
const MIN_FILL: usize = 8;
/// Empty buckets a single rehash step may skip before giving up (bounds its cost).
const EMPTY_VISITS_PER_STEP: usize = 10;

struct Table {
    buckets: Box<[*mut u8]>,
    used: usize,
}

impl Table {
    fn empty() -> Table {
        Table { buckets: Box::new([]), used: 0 }
    }

    fn with_size(size: usize) -> Table {
        Table { buckets: vec![ptr::null_mut(); size].into_boxed_slice(), used: 0 }
    }

    fn size(&self) -> usize {
        self.buckets.len()
    }

    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }
}

/// A location holding a pointer to an entry: either a bucket slot or the `next` field of the
/// previous entry in the chain. Valid until the dict is next modified.
#[derive(Clone, Copy)]
pub struct Link {
    slot: *mut *mut u8,
    /// Which of the two tables the entry is in (they differ only while rehashing).
    table: usize,
}

impl Link {
    pub fn entry<T: Chained>(self) -> T {
        // SAFETY: a Link returned by `find` points at a non-null item pointer of the dict's
        // item type.
        unsafe { T::from_raw(*self.slot) }
    }
}

pub struct Dict<T: Chained = EntryPtr> {
    tables: [Table; 2],
    /// Next bucket of `tables[0]` to migrate into `tables[1]`, while rehashing.
    rehash_idx: Option<usize>,
    _items: PhantomData<T>,
}

// SAFETY: the dict exclusively owns its items, which are plain owned memory with no thread
// affinity; every access is serialized by the owner's lock.
unsafe impl<T: Chained> Send for Dict<T> {}

impl<T: Chained> Default for Dict<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Chained> Dict<T> {
    pub fn new() -> Dict<T> {
        Dict { tables: [Table::empty(), Table::empty()], rehash_idx: None, _items: PhantomData }
    }

    pub fn len(&self) -> usize {
        self.tables[0].used + self.tables[1].used
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sizes an empty dict for `n` items at once (loading a file whose `RESIZEDB` says how
    /// many keys come), so that no rehash runs while they are inserted. No effect on a dict
    /// that holds items or is big enough.
    pub fn reserve(&mut self, n: usize) {
        if self.is_empty() && !self.is_rehashing() && n > self.tables[0].size() {
            self.tables[0] = Table::with_size(n.next_power_of_two().max(INITIAL_SIZE));
        }
    }

    /// Total buckets (both tables), for DEBUG HTSTATS-like introspection and memory accounting.
    pub fn buckets(&self) -> usize {
        self.tables[0].size() + self.tables[1].size()
    }

    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    /// Finds the entry whose key is `key`. `hash` must be `hash_key(key)`.
    pub fn find(&mut self, hash: u64, key: &[u8]) -> Option<Link> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        for t in 0..2 {
            let table = &mut self.tables[t];
            if table.size() == 0 {
                continue;
            }
            let idx = hash as usize & table.mask();
            let mut link: *mut *mut u8 = &mut table.buckets[idx];
            // SAFETY: links point at bucket slots or at `next` fields of live entries.
            unsafe {
                while !(*link).is_null() {
                    let e = T::from_raw(*link);
                    if e.key() == key {
                        return Some(Link { slot: link, table: t });
                    }
                    link = e.next_slot();
                }
            }
            if !self.is_rehashing() {
                break;
            }
        }
        None
    }

    /// Finds an item without advancing a rehash (for read-only access through `&self`).
    pub fn get(&self, hash: u64, key: &[u8]) -> Option<T> {
        for table in &self.tables {
            if table.size() == 0 {
                continue;
            }
            let mut p = table.buckets[hash as usize & table.mask()];
            while !p.is_null() {
                // SAFETY: chains hold live items.
                let e = unsafe { T::from_raw(p) };
                if e.key() == key {
                    return Some(e);
                }
                p = e.next();
            }
            if !self.is_rehashing() {
                break;
            }
        }
        None
    }

    /// Links a new entry. The key must not be present already.
    pub fn insert(&mut self, hash: u64, entry: T) {
        self.rehash_step();
        self.expand_if_needed();
        let t = if self.is_rehashing() { 1 } else { 0 };
        let table = &mut self.tables[t];
        let idx = hash as usize & table.mask();
        entry.set_next(table.buckets[idx]);
        table.buckets[idx] = entry.as_raw();
        table.used += 1;
    }

    /// Unlinks the entry at `link` and returns it (the caller now owns it).
    pub fn unlink(&mut self, link: Link) -> T {
        let e: T = link.entry();
        // SAFETY: `link` is valid (no modification since `find`).
        unsafe { *link.slot = e.next() };
        self.tables[link.table].used -= 1;
        self.shrink_if_needed();
        e
    }

    /// Puts `fresh` where the entry at `link` was. `fresh` must already carry the old entry's
    /// `next` (the `rebuild_*` functions of `EntryPtr` do that), because the old entry may
    /// already be freed.
    pub fn replace(&mut self, link: Link, fresh: T) {
        // SAFETY: `link` is valid (no modification since `find`).
        unsafe { *link.slot = fresh.as_raw() };
    }

    fn expand_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        let t0 = &self.tables[0];
        if t0.size() == 0 {
            self.tables[0] = Table::with_size(INITIAL_SIZE);
        } else if t0.used >= t0.size() {
            self.start_resize((t0.used + 1).next_power_of_two());
        }
    }

    fn shrink_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        let t0 = &self.tables[0];
        if t0.size() > INITIAL_SIZE && t0.used * MIN_FILL <= t0.size() {
            self.start_resize(t0.used.next_power_of_two().max(INITIAL_SIZE));
        }
    }

    fn start_resize(&mut self, size: usize) {
        debug_assert!(!self.is_rehashing());
        if size == self.tables[0].size() {
            return;
        }
        if self.tables[0].used == 0 {
            self.tables[0] = Table::with_size(size);
            return;
        }
        self.tables[1] = Table::with_size(size);
        self.rehash_idx = Some(0);
    }

    /// Moves one bucket (skipping at most a few empty ones) from the old table to the new.
    fn rehash_step(&mut self) {
        let Some(mut idx) = self.rehash_idx else {
            return;
        };
        let mut empty_visits = EMPTY_VISITS_PER_STEP;
        while self.tables[0].buckets[idx].is_null() {
            idx += 1;
            empty_visits -= 1;
            if idx == self.tables[0].size() {
                return self.finish_rehash();
            }
            if empty_visits == 0 {
                self.rehash_idx = Some(idx);
                return;
            }
        }
        let mut p = std::mem::replace(&mut self.tables[0].buckets[idx], ptr::null_mut());
        let mask1 = self.tables[1].mask();
        while !p.is_null() {
            // SAFETY: chain of live entries owned by this dict.
            let e = unsafe { T::from_raw(p) };
            p = e.next();
            let dst = crate::keyspace::hash_key(e.key()) as usize & mask1;
            e.set_next(self.tables[1].buckets[dst]);
            self.tables[1].buckets[dst] = e.as_raw();
            self.tables[0].used -= 1;
            self.tables[1].used += 1;
        }
        idx += 1;
        if idx == self.tables[0].size() || self.tables[0].used == 0 {
            self.finish_rehash();
        } else {
            self.rehash_idx = Some(idx);
        }
    }

    fn finish_rehash(&mut self) {
        debug_assert_eq!(self.tables[0].used, 0);
        self.tables[0] = std::mem::replace(&mut self.tables[1], Table::empty());
        self.rehash_idx = None;
    }

    /// Does up to `steps` rehash steps, first starting a shrink if the table has become
    /// sparse; returns whether rehashing is still under way. Called from the cron so that idle
    /// shards finish resizing.
    pub fn rehash_some(&mut self, steps: usize) -> bool {
        self.shrink_if_needed();
        for _ in 0..steps {
            if !self.is_rehashing() {
                break;
            }
            self.rehash_step();
        }
        if !self.is_rehashing() {
            self.shrink_if_needed();
        }
        self.is_rehashing()
    }

    /// Calls `f` on the entries of the buckets covered by `cursor` and returns the next cursor
    /// (0 when the iteration is complete). Valkey's algorithm: the cursor's bits are
    /// incremented from the most significant end, so buckets that split on growth or merge on
    /// shrink are visited in an order that never skips an entry present all along.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(T)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor as usize;
        let visit = |table: &Table, idx: usize, f: &mut dyn FnMut(T)| {
            let mut p = table.buckets[idx];
            while !p.is_null() {
                // SAFETY: chain of live entries; `f` does not modify the dict (it has &self).
                let e = unsafe { T::from_raw(p) };
                p = e.next();
                f(e);
            }
        };
        if !self.is_rehashing() {
            let t0 = &self.tables[0];
            let m0 = t0.mask();
            visit(t0, v & m0, &mut f);
            v |= !m0;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
        } else {
            let (small, large) = if self.tables[0].size() <= self.tables[1].size() {
                (&self.tables[0], &self.tables[1])
            } else {
                (&self.tables[1], &self.tables[0])
            };
            let (m0, m1) = (small.mask(), large.mask());
            visit(small, v & m0, &mut f);
            loop {
                visit(large, v & m1, &mut f);
                v |= !m1;
                v = v.reverse_bits().wrapping_add(1).reverse_bits();
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v as u64
    }

    /// A uniformly chosen bucket's random entry (Valkey's `dictGetRandomKey`; keys in long
    /// chains are slightly less likely, as there).
    pub fn random(&self, rng: &mut fastrand::Rng) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        let head = loop {
            let (s0, s1) = (self.tables[0].size(), self.tables[1].size());
            let p = match self.rehash_idx {
                Some(r) => {
                    let h = r + rng.usize(..s0 + s1 - r);
                    if h >= s0 {
                        self.tables[1].buckets[h - s0]
                    } else {
                        self.tables[0].buckets[h]
                    }
                }
                None => self.tables[0].buckets[rng.usize(..s0)],
            };
            if !p.is_null() {
                break p;
            }
        };
        let mut len = 0;
        let mut p = head;
        while !p.is_null() {
            len += 1;
            // SAFETY: chain of live entries.
            p = unsafe { T::from_raw(p) }.next();
        }
        let mut p = head;
        for _ in 0..rng.usize(..len) {
            // SAFETY: as above.
            p = unsafe { T::from_raw(p) }.next();
        }
        // SAFETY: `p` is one of the chain's non-null entries.
        Some(unsafe { T::from_raw(p) })
    }

    /// Calls `f` on every entry.
    pub fn for_each(&self, mut f: impl FnMut(T)) {
        for t in &self.tables {
            for &head in t.buckets.iter() {
                let mut p = head;
                while !p.is_null() {
                    // SAFETY: chain of live entries.
                    let e = unsafe { T::from_raw(p) };
                    p = e.next();
                    f(e);
                }
            }
        }
    }

    /// Empties the dict, handing every entry to `f` (which takes ownership).
    pub fn drain(&mut self, mut f: impl FnMut(T)) {
        let tables = std::mem::replace(&mut self.tables, [Table::empty(), Table::empty()]);
        self.rehash_idx = None;
        for t in tables.iter() {
            for &head in t.buckets.iter() {
                let mut p = head;
                while !p.is_null() {
                    // SAFETY: chain of live entries, now owned by us.
                    let e = unsafe { T::from_raw(p) };
                    p = e.next();
                    f(e);
                }
            }
        }
    }
}

impl<T: Chained> Drop for Dict<T> {
    fn drop(&mut self) {
        // SAFETY: every item is owned by this dict and freed exactly once.
        self.drain(|e| unsafe { e.free() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::hash_key;
    use crate::types::Value;
    use std::collections::HashSet;

    fn insert(d: &mut Dict, key: &[u8]) {
        let h = hash_key(key);
        assert!(d.find(h, key).is_none());
        d.insert(h, EntryPtr::new(key, Value::Int(1), None, 0));
    }

    fn remove(d: &mut Dict, key: &[u8]) -> bool {
        let h = hash_key(key);
        match d.find(h, key) {
            Some(link) => {
                let e = d.unlink(link);
                unsafe { e.free() };
                true
            }
            None => false,
        }
    }

    fn key(i: usize) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    /// A reserved dict takes all its items without rehashing; a non-empty one ignores it.
    #[test]
    fn reserve_sizes_an_empty_dict_once() {
        let mut d = Dict::new();
        d.reserve(5_000);
        assert_eq!(d.buckets(), 8192);
        for i in 0..5_000 {
            insert(&mut d, &key(i));
            assert!(!d.is_rehashing(), "{i}");
        }
        assert_eq!(d.buckets(), 8192);
        d.reserve(100_000);
        assert_eq!(d.buckets(), 8192, "not empty: unchanged");
        for i in 0..5_000 {
            assert!(d.find(hash_key(&key(i)), &key(i)).is_some(), "{i}");
        }
        for i in 0..5_000 {
            assert!(remove(&mut d, &key(i)));
        }
    }

    #[test]
    fn insert_find_remove_through_growth_and_shrink() {
        let mut d = Dict::new();
        for i in 0..10_000 {
            insert(&mut d, &key(i));
        }
        assert_eq!(d.len(), 10_000);
        for i in 0..10_000 {
            assert!(d.find(hash_key(&key(i)), &key(i)).is_some(), "{i}");
        }
        for i in 0..9_990 {
            assert!(remove(&mut d, &key(i)));
        }
        assert!(!remove(&mut d, &key(0)));
        assert_eq!(d.len(), 10);
        while d.rehash_some(100) {}
        assert!(d.buckets() <= 64, "shrunk to {}", d.buckets());
        for i in 9_990..10_000 {
            assert!(d.find(hash_key(&key(i)), &key(i)).is_some());
        }
    }

    #[test]
    fn replace_keeps_chain_intact() {
        let mut d = Dict::new();
        for i in 0..100 {
            insert(&mut d, &key(i));
        }
        for i in 0..100 {
            let k = key(i);
            let link = d.find(hash_key(&k), &k).unwrap();
            let fresh = unsafe { link.entry::<EntryPtr>().rebuild_with_value(Value::Int(2), 0) };
            d.replace(link, fresh);
        }
        let mut seen = 0;
        d.for_each(|e| {
            assert_eq!(e.value().as_str(), Some(crate::types::StrRef::Int(2)));
            seen += 1;
        });
        assert_eq!(seen, 100);
    }

    /// The SCAN guarantee: keys present for the whole iteration are all returned, however the
    /// table is resized between calls.
    #[test]
    fn scan_returns_every_stable_key_across_resizes() {
        let mut rng = fastrand::Rng::with_seed(7);
        for round in 0..20 {
            let mut d = Dict::new();
            let stable: Vec<Vec<u8>> = (0..500).map(key).collect();
            for k in &stable {
                insert(&mut d, k);
            }
            let mut churn = 1_000_000 * (round + 1);
            let mut seen = HashSet::new();
            let mut cursor = 0;
            loop {
                cursor = d.scan(cursor, |e| {
                    seen.insert(e.key().to_vec());
                });
                // Grow a lot or shrink a lot between calls.
                if rng.bool() {
                    for _ in 0..rng.usize(0..3000) {
                        insert(&mut d, &key(churn));
                        churn += 1;
                    }
                } else {
                    let mut victims = Vec::new();
                    d.for_each(|e| {
                        if !e.key().starts_with(b"key:") || e.key().len() > 8 {
                            victims.push(e.key().to_vec());
                        }
                    });
                    for v in victims.iter().filter(|v| !stable.contains(v)) {
                        remove(&mut d, v);
                    }
                }
                for _ in 0..rng.usize(0..5) {
                    d.rehash_some(1);
                }
                if cursor == 0 {
                    break;
                }
            }
            for k in &stable {
                assert!(seen.contains(k), "round {round}: missed {:?}", String::from_utf8_lossy(k));
            }
        }
    }

    #[test]
    fn random_returns_members() {
        let mut d = Dict::new();
        let mut rng = fastrand::Rng::with_seed(1);
        assert!(d.random(&mut rng).is_none());
        for i in 0..50 {
            insert(&mut d, &key(i));
        }
        let mut seen = HashSet::new();
        for _ in 0..5000 {
            let e = d.random(&mut rng).unwrap();
            seen.insert(e.key().to_vec());
        }
        assert_eq!(seen.len(), 50);
    }

    #[test]
    fn unlink_during_rehash_keeps_counts_right() {
        let mut d = Dict::new();
        for i in 0..4096 {
            insert(&mut d, &key(i));
        }
        insert(&mut d, &key(5000)); // triggers a resize
        assert!(d.is_rehashing());
        for i in 0..4096 {
            assert!(remove(&mut d, &key(i)));
            assert_eq!(d.len(), 4096 - i);
        }
        assert_eq!(d.len(), 1);
    }
}
