//! One shard of one database: a [`Dict`] of entries plus the index of entries with a TTL.
//!
//! A shard is only ever touched through its lock (see `keyspace/mod.rs`), so nothing here is
//! synchronized. The volatile index is a plain vector of the entries that have a TTL; each
//! such entry stores its position in it, so adding, removing and sampling a random volatile
//! key are all O(1) — what the active expiry cycle needs — for 8 bytes per volatile key.

use super::dict::{Dict, Link};
use super::entry::EntryPtr;
use crate::evict::clock::Stamp;
use crate::snapshot::ShardSnap;
use crate::types::Value;

#[derive(Default)]
pub struct Shard {
    dict: Dict,
    volatile: Vec<EntryPtr>,
    /// Clients blocked on keys of this shard (see `blocking.rs`).
    pub waiters: crate::blocking::WaitQueues,
    /// Clients watching keys of this shard (see `watch.rs`).
    pub watchers: crate::watch::Watchers,
    /// The current snapshot mark: an entry whose mark bit equals it is already in the
    /// snapshot being taken, or is not part of it (see `snapshot.rs`). The same in every
    /// shard; flipped in all of them when a snapshot starts.
    snap_mark: bool,
    /// While a snapshot is being taken and the saver has not finished this shard: where the
    /// pre-images of keys changed before the saver reached them go. The write path's whole
    /// cost when no snapshot runs is the test of this field.
    snap: Option<Box<ShardSnap>>,
}

impl Shard {
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// Sizes an empty shard's table for `n` keys (see `Dict::reserve`).
    pub fn reserve(&mut self, n: usize) {
        self.dict.reserve(n);
    }

    /// Number of keys with a TTL.
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    pub fn find(&mut self, hash: u64, key: &[u8]) -> Option<EntryPtr> {
        self.dict.find(hash, key).map(Link::entry::<EntryPtr>)
    }

    /// Adds a key that is not present.
    pub fn insert(&mut self, hash: u64, key: &[u8], value: Value, expire_at_ms: Option<u64>, lru: u32) -> EntryPtr {
        let e = EntryPtr::new(key, value, expire_at_ms, lru);
        // A key created now is not part of a snapshot in progress.
        e.set_snap_mark(self.snap_mark);
        if expire_at_ms.is_some() {
            self.track_volatile(e);
        }
        self.dict.insert(hash, e);
        e
    }

    /// Removes a key, returning its value and TTL.
    pub fn remove(&mut self, hash: u64, key: &[u8]) -> Option<(Value, Option<u64>)> {
        let link = self.dict.find(hash, key)?;
        self.before_change(link.entry());
        let e = self.dict.unlink(link);
        let ttl = e.expire_at_ms();
        if ttl.is_some() {
            self.untrack_volatile(e);
        }
        // SAFETY: `e` was just unlinked and is referenced nowhere else.
        Some((unsafe { e.into_value() }, ttl))
    }

    /// Replaces the value of a present key, keeping its TTL and its access stamp (Valkey's
    /// `dbSetValue`: the lookup before the change already stamped it). Returns the new entry.
    pub fn replace_value(&mut self, hash: u64, key: &[u8], value: Value) -> Option<EntryPtr> {
        let link = self.dict.find(hash, key)?;
        let lru = link.entry::<EntryPtr>().lru();
        Some(self.replace_at(link, value, lru))
    }

    fn replace_at(&mut self, link: Link, value: Value, lru: u32) -> EntryPtr {
        let old: EntryPtr = link.entry();
        self.before_change(old);
        // SAFETY: `old` is linked at `link`; we relink its replacement there before anyone
        // else can observe the dict, and never touch `old` again.
        let fresh = unsafe { old.rebuild_with_value(value, lru) };
        self.dict.replace(link, fresh);
        if fresh.has_ttl() {
            self.volatile[fresh.volatile_idx() as usize] = fresh;
        }
        fresh
    }

    /// Stores `value` at `key` with one lookup (SET, MSET): replaces a present key's value,
    /// then sets its TTL to `ttl` (`None`: keep it), or inserts the key. True if it was new.
    /// A replaced key is stamped as accessed (Valkey's `setKey` looks it up first), a new one
    /// as created.
    pub fn store(&mut self, hash: u64, key: &[u8], value: Value, ttl: Option<Option<u64>>, stamp: &Stamp) -> bool {
        match self.dict.find(hash, key) {
            Some(link) => {
                let lru = stamp.touched(link.entry::<EntryPtr>().lru());
                self.replace_at(link, value, lru);
                if let Some(expire_at_ms) = ttl {
                    // `link` names the slot, which now holds the replacement.
                    self.expire_at(link, expire_at_ms);
                }
                false
            }
            None => {
                self.insert(hash, key, value, ttl.flatten(), stamp.fresh());
                true
            }
        }
    }

    /// Sets or clears the TTL of a present key. Returns the (possibly moved) entry.
    pub fn set_expire(&mut self, hash: u64, key: &[u8], expire_at_ms: Option<u64>) -> Option<EntryPtr> {
        let link = self.dict.find(hash, key)?;
        Some(self.expire_at(link, expire_at_ms))
    }

    fn expire_at(&mut self, link: Link, expire_at_ms: Option<u64>) -> EntryPtr {
        let old: EntryPtr = link.entry();
        if old.expire_at_ms() != expire_at_ms {
            self.before_change(old);
        }
        match (old.has_ttl(), expire_at_ms) {
            (true, Some(when)) => {
                old.set_expire_at_ms(when);
                old
            }
            (false, None) => old,
            (had, _) => {
                if had {
                    self.untrack_volatile(old);
                }
                // SAFETY: as in `replace_at`.
                let fresh = unsafe { old.rebuild_with_ttl(expire_at_ms) };
                self.dict.replace(link, fresh);
                if expire_at_ms.is_some() {
                    self.track_volatile(fresh);
                }
                fresh
            }
        }
    }

    /// Called before `e` (an entry of this shard) is changed or removed: while a snapshot
    /// is being taken and `e` is not in it yet, its current key and value are copied into
    /// the snapshot first. Commands that change a value in place (`Keys::modify`,
    /// `Keys::string_mut`, `Keys::set_int`) call it themselves; every other change goes
    /// through this file.
    #[inline]
    pub fn before_change(&mut self, e: EntryPtr) {
        if let Some(snap) = &mut self.snap {
            if e.snap_mark() != self.snap_mark {
                snap.copy(e);
                e.set_snap_mark(self.snap_mark);
            }
        }
    }

    fn track_volatile(&mut self, e: EntryPtr) {
        let idx = u32::try_from(self.volatile.len()).expect("more than 4G volatile keys in one shard");
        e.set_volatile_idx(idx);
        self.volatile.push(e);
    }

    fn untrack_volatile(&mut self, e: EntryPtr) {
        let idx = e.volatile_idx() as usize;
        debug_assert_eq!(self.volatile[idx], e);
        self.volatile.swap_remove(idx);
        if let Some(&moved) = self.volatile.get(idx) {
            moved.set_volatile_idx(idx as u32);
        }
        if self.volatile.capacity() > 64 && self.volatile.len() < self.volatile.capacity() / 4 {
            self.volatile.shrink_to(self.volatile.len() * 2);
        }
    }

    /// A random key with a TTL (for the active expiry cycle).
    pub fn random_volatile(&self, rng: &mut fastrand::Rng) -> Option<EntryPtr> {
        if self.volatile.is_empty() {
            None
        } else {
            Some(self.volatile[rng.usize(..self.volatile.len())])
        }
    }

    pub fn random(&mut self, rng: &mut fastrand::Rng) -> Option<EntryPtr> {
        self.dict.random(rng)
    }

    pub fn scan(&self, cursor: u64, f: impl FnMut(EntryPtr)) -> u64 {
        self.dict.scan(cursor, f)
    }

    pub fn for_each(&self, f: impl FnMut(EntryPtr)) {
        self.dict.for_each(f)
    }

    /// Empties the shard of keys, returning the old contents (to be dropped here or
    /// elsewhere). Blocked and watching clients stay registered; watched keys that existed are
    /// touched. While a snapshot the saver has not finished this shard for is being taken,
    /// the old contents are handed to the snapshot instead (it writes what it still needs
    /// and drops them) and an empty shard is returned.
    pub fn take(&mut self) -> Shard {
        touch_watchers_replaced(&mut self.watchers, &mut self.dict, None);
        let mut old = self.take_keys();
        if let Some(snap) = &mut self.snap {
            if !old.is_empty() {
                snap.detached.push(old);
                old = Shard::default();
            }
        }
        old
    }

    /// Moves the keys out (the snapshot state, waiters and watchers stay).
    fn take_keys(&mut self) -> Shard {
        let mut old = Shard::default();
        std::mem::swap(&mut old.dict, &mut self.dict);
        std::mem::swap(&mut old.volatile, &mut self.volatile);
        old.snap_mark = self.snap_mark;
        old
    }

    /// Empties the shard for SWAPDB, which moves the keys to the other database: a snapshot
    /// in progress first gets this shard's remaining keys (they cannot be followed to their
    /// new place), then the keys are returned. Watchers are not touched here: see
    /// [`Shard::touch_watched_swap`].
    pub fn take_for_swap(&mut self) -> Shard {
        self.snap_complete();
        self.take_keys()
    }

    /// Copies every key the snapshot in progress still needs from this shard into it.
    fn snap_complete(&mut self) {
        let mark = self.snap_mark;
        if let Some(snap) = &mut self.snap {
            self.dict.for_each(|e| {
                if e.snap_mark() != mark {
                    snap.copy(e);
                    e.set_snap_mark(mark);
                }
            });
        }
    }

    /// Starts a snapshot in this shard (the caller holds every shard): flips the mark, so
    /// that every present entry is "not yet saved", and installs `snap` (`None` for a shard
    /// with no keys, which needs none).
    pub(crate) fn snap_begin(&mut self, snap: Option<Box<ShardSnap>>) {
        debug_assert!(self.snap.is_none());
        self.snap_mark = !self.snap_mark;
        self.snap = snap;
    }

    /// Undoes `snap_begin` before anything else touched the shard.
    pub(crate) fn snap_abandon(&mut self) {
        self.snap_mark = !self.snap_mark;
        self.snap = None;
    }

    /// The saver's step: serializes the entries not yet in the snapshot, from the bucket
    /// `cursor` on (the SCAN cursor, which misses no entry present all along even if the
    /// table is resized between steps), marking them, until `out` has grown by `budget`
    /// bytes or the shard is done. Returns the next cursor (0: done, and the shard's
    /// snapshot state is returned too) and the number of keys written. Without `opts` (a
    /// snapshot whose output failed) entries are only marked, the whole shard at once.
    pub(crate) fn snap_step(
        &mut self,
        mut cursor: u64,
        budget: usize,
        out: &mut Vec<u8>,
        opts: Option<crate::rdb::file::FileOptions>,
    ) -> (u64, u64, Option<Box<ShardSnap>>) {
        if self.snap.is_none() {
            return (0, 0, None);
        }
        let mark = self.snap_mark;
        let Some(opts) = opts else {
            self.dict.for_each(|e| e.set_snap_mark(mark));
            return (0, 0, self.snap.take());
        };
        let start = out.len();
        let mut keys = 0;
        loop {
            cursor = self.dict.scan(cursor, |e| {
                if e.snap_mark() != mark {
                    crate::rdb::file::write_key(out, e.key(), e.value(), e.expire_at_ms(), e.lru(), opts);
                    e.set_snap_mark(mark);
                    keys += 1;
                }
            });
            if cursor == 0 {
                return (0, keys, self.snap.take());
            }
            if out.len() - start >= budget {
                return (cursor, keys, None);
            }
        }
    }

    /// Whether the saver of the snapshot in progress has yet to finish this shard.
    pub fn snap_pending(&self) -> bool {
        self.snap.is_some()
    }

    /// The current snapshot mark.
    pub(crate) fn snap_mark(&self) -> bool {
        self.snap_mark
    }

    /// Exchanges keys (not waiters or watchers) with another shard (SWAPDB).
    pub fn swap_contents(&mut self, other: &mut Shard) {
        std::mem::swap(&mut self.dict, &mut other.dict);
        std::mem::swap(&mut self.volatile, &mut other.volatile);
    }

    /// SWAPDB replaces this shard's keys, `before` (taken out with `take_for_swap`), with
    /// `after`'s: touches this database's watched keys accordingly.
    pub fn touch_watched_swap(&mut self, before: &mut Shard, after: &mut Shard) {
        touch_watchers_replaced(&mut self.watchers, &mut before.dict, Some(&mut after.dict));
    }

    /// A watched key that is present, mutated in place or deleted: fails the transactions
    /// watching it (see [`crate::watch`] for stale keys).
    pub fn touch_watched(&mut self, key: &[u8]) {
        if !self.watchers.is_empty() {
            let dict = &mut self.dict;
            self.watchers.touch(key, || dict.find(super::hash_key(key), key).is_some());
        }
    }

    /// Cron work: advance an ongoing resize. Returns whether more work remains.
    pub fn rehash_some(&mut self, steps: usize) -> bool {
        self.dict.rehash_some(steps)
    }

    pub fn buckets(&self) -> usize {
        self.dict.buckets()
    }

    pub fn is_rehashing(&self) -> bool {
        self.dict.is_rehashing()
    }

    #[cfg(test)]
    pub(crate) fn check_volatile_index(&self) {
        for (i, e) in self.volatile.iter().enumerate() {
            assert_eq!(e.volatile_idx() as usize, i);
            assert!(e.has_ttl());
        }
        let mut with_ttl = 0;
        self.dict.for_each(|e| with_ttl += usize::from(e.has_ttl()));
        assert_eq!(with_ttl, self.volatile.len());
    }
}

/// Touches the watched keys of a database whose keys, `before`, are replaced by `after`'s
/// (SWAPDB) or by none (FLUSHDB, FLUSHALL).
fn touch_watchers_replaced(watchers: &mut crate::watch::Watchers, before: &mut Dict, mut after: Option<&mut Dict>) {
    use crate::watch::Presence;
    if watchers.is_empty() {
        return;
    }
    let now = crate::util::now_ms();
    let presence = |d: &mut Dict, k: &[u8]| match d.find(super::hash_key(k), k).map(Link::entry::<EntryPtr>) {
        None => Presence::Absent,
        Some(e) if e.expire_at_ms().is_some_and(|t| now > t) => Presence::Stale,
        Some(_) => Presence::Live,
    };
    watchers
        .touch_replaced(|k| presence(before, k), |k| after.as_deref_mut().map_or(Presence::Absent, |d| presence(d, k)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::hash_key;

    #[test]
    fn volatile_index_follows_every_change() {
        let mut s = Shard::default();
        let mut rng = fastrand::Rng::with_seed(3);
        let keys: Vec<Vec<u8>> = (0..300).map(|i| format!("k{i}").into_bytes()).collect();
        for step in 0..20_000 {
            let k = &keys[rng.usize(..keys.len())];
            let h = hash_key(k);
            match rng.u8(..5) {
                0 => {
                    if s.find(h, k).is_none() {
                        let ttl = rng.bool().then_some(step as u64);
                        s.insert(h, k, Value::Int(step), ttl, 0);
                    }
                }
                1 => {
                    s.remove(h, k);
                }
                2 => {
                    s.set_expire(h, k, rng.bool().then_some(1));
                }
                3 => {
                    s.replace_value(h, k, Value::Str(vec![b'x'; rng.usize(..100)]));
                }
                _ => {
                    s.rehash_some(1);
                }
            }
            if step % 500 == 0 {
                s.check_volatile_index();
            }
        }
        s.check_volatile_index();
    }
}
