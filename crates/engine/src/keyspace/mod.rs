//! The keyspace: databases split into shards, each shard behind its own lock.
//!
//! Valkey runs every command on one thread, which makes every command atomic. We keep the
//! atomicity and use every core: each database is split into [`SHARDS`] shards by the top bits
//! of the key hash; before a command runs, the shards of the keys it names (from the command
//! table's key specs) are locked in ascending `(db, shard)` order, which rules out deadlock;
//! whole-keyspace commands lock every shard of their database. See ARCHITECTURE.md for the
//! reasoning and the numbers.

mod boxed;
pub mod dict;
pub mod entry;
pub mod shard;

use parking_lot::{Mutex, MutexGuard};
use shard::Shard;
use smallvec::SmallVec;
use std::hash::BuildHasher;
use std::sync::OnceLock;

/// log2 of the number of shards per database.
pub const SHARD_BITS: u32 = 6;
/// Shards per database. 64 keeps a shard set in one `u64` and is 32× the cores of the
/// machines we measure on; contention between two random single-key commands is 1/64.
pub const SHARDS: usize = 1 << SHARD_BITS;

static HASHER: OnceLock<foldhash::quality::FixedState> = OnceLock::new();

/// The hash of a key: its top bits pick the shard, its low bits the bucket. Seeded randomly
/// per process so that clients cannot aim keys at one bucket.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    HASHER.get_or_init(|| foldhash::quality::FixedState::with_seed(fastrand::u64(..))).hash_one(key)
}

#[inline]
pub fn shard_of(hash: u64) -> usize {
    (hash >> (64 - SHARD_BITS)) as usize
}

/// Keeps each shard lock on its own cache lines so that threads locking neighbouring shards
/// do not slow each other down.
#[repr(align(128))]
struct Padded<T>(T);

/// One logical database (`SELECT n`).
pub struct Database {
    shards: Box<[Padded<Mutex<Shard>>]>,
}

impl Database {
    fn new() -> Database {
        Database { shards: (0..SHARDS).map(|_| Padded(Mutex::new(Shard::default()))).collect() }
    }
}

/// All databases.
pub struct Keyspace {
    dbs: Box<[Database]>,
}

/// Which shards to lock: per database, a bit per shard. Kept sorted by database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockSet {
    entries: SmallVec<[(usize, u64); 2]>,
}

impl LockSet {
    pub fn new() -> LockSet {
        LockSet::default()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds the shard that holds `key` in `db`.
    pub fn add_key(&mut self, db: usize, key: &[u8]) {
        self.add_mask(db, 1u64 << shard_of(hash_key(key)));
    }

    /// Adds every shard of `db`.
    pub fn add_db(&mut self, db: usize) {
        self.add_mask(db, u64::MAX);
    }

    pub fn add_mask(&mut self, db: usize, mask: u64) {
        match self.entries.binary_search_by_key(&db, |e| e.0) {
            Ok(i) => self.entries[i].1 |= mask,
            Err(i) => self.entries.insert(i, (db, mask)),
        }
    }

    pub fn merge(&mut self, other: &LockSet) {
        for &(db, mask) in &other.entries {
            self.add_mask(db, mask);
        }
    }

    pub fn entries(&self) -> &[(usize, u64)] {
        &self.entries
    }
}

/// One held shard lock.
struct Held<'a> {
    /// `(db, shard)` packed so that held locks sort in locking order.
    slot: u32,
    guard: MutexGuard<'a, Shard>,
}

fn slot(db: usize, shard: usize) -> u32 {
    ((db as u32) << SHARD_BITS) | shard as u32
}

/// Shard locks held for the duration of a command, sorted by `(db, shard)`. Dropping it
/// unlocks everything. Most commands hold one to a few locks, which live inline; whole-
/// database commands spill to the heap.
pub struct Guards<'a> {
    held: SmallVec<[Held<'a>; 4]>,
}

impl<'a> Guards<'a> {
    pub fn none() -> Guards<'a> {
        Guards { held: SmallVec::new() }
    }

    fn find(&self, db: usize, shard: usize) -> Result<usize, usize> {
        let want = slot(db, shard);
        if self.held.len() <= 8 {
            // Linear is fastest for the handful of locks a typical command holds.
            match self.held.iter().position(|h| h.slot >= want) {
                Some(i) if self.held[i].slot == want => Ok(i),
                Some(i) => Err(i),
                None => Err(self.held.len()),
            }
        } else {
            self.held.binary_search_by_key(&want, |h| h.slot)
        }
    }

    /// The locked shard `shard` of `db`, or `None` if the command did not lock it — which is a
    /// bug in a command's key specs, reported as an error rather than a crash.
    #[inline]
    pub fn shard(&mut self, db: usize, shard: usize) -> Option<&mut Shard> {
        let i = self.find(db, shard).ok()?;
        Some(&mut self.held[i].guard)
    }

    /// Tries to lock one more shard without waiting (never deadlocks, whatever the order).
    /// True if the shard is now held (or already was).
    pub fn try_add(&mut self, keyspace: &'a Keyspace, db: usize, shard: usize) -> bool {
        let at = match self.find(db, shard) {
            Ok(_) => return true,
            Err(at) => at,
        };
        let Some(database) = keyspace.dbs.get(db) else { return false };
        let Some(guard) = database.shards[shard].0.try_lock() else { return false };
        self.held.insert(at, Held { slot: slot(db, shard), guard });
        true
    }

    /// Locks one more shard, waiting for it if another thread holds it, whatever the order:
    /// only for the running script, which everything else gives way to (see
    /// `exec::keep_waiting_for_locks`). A database that does not exist is ignored.
    pub fn add(&mut self, keyspace: &'a Keyspace, db: usize, shard: usize) {
        let at = match self.find(db, shard) {
            Ok(_) => return,
            Err(at) => at,
        };
        let Some(database) = keyspace.dbs.get(db) else { return };
        let guard = database.shards[shard].0.lock();
        self.held.insert(at, Held { slot: slot(db, shard), guard });
    }

    /// Releases every held shard, runs `pause`, and takes the same shards again (a long load
    /// letting the commands it allows run between two keys). Each shard is released fairly:
    /// a thread parked on it gets it before this one can take it back, so a waiter is served
    /// at every yield, not only when it wins a race. Shards are retaken in the global order,
    /// so this can wait for other commands but never deadlock with them.
    pub fn yield_fairly(&mut self, keyspace: &'a Keyspace, pause: impl FnOnce()) {
        let slots: SmallVec<[u32; 4]> = self.held.iter().map(|h| h.slot).collect();
        for h in self.held.drain(..) {
            MutexGuard::unlock_fair(h.guard);
        }
        pause();
        for s in slots {
            let (db, shard) = ((s >> SHARD_BITS) as usize, (s as usize) & (SHARDS - 1));
            self.held.push(Held { slot: s, guard: keyspace.dbs[db].shards[shard].0.lock() });
        }
    }

    /// Whether every shard of `db` is held.
    pub fn holds_all(&self, db: usize) -> bool {
        self.held.iter().filter(|h| h.slot >> SHARD_BITS == db as u32).count() == SHARDS
    }

    /// All held shards of `db`, in shard order.
    pub fn shards_of(&mut self, db: usize) -> impl Iterator<Item = &mut Shard> + use<'_, 'a> {
        self.held.iter_mut().filter(move |h| h.slot >> SHARD_BITS == db as u32).map(|h| &mut *h.guard)
    }
}

impl Keyspace {
    pub fn new(databases: usize) -> Keyspace {
        Keyspace { dbs: (0..databases).map(|_| Database::new()).collect() }
    }

    pub fn databases(&self) -> usize {
        self.dbs.len()
    }

    /// Locks the shards in `set`, in ascending `(db, shard)` order.
    pub fn lock(&self, set: &LockSet) -> Guards<'_> {
        let mut guards = Guards { held: SmallVec::new() };
        for &(db, mask) in &set.entries {
            let Some(database) = self.dbs.get(db) else { continue };
            let mut m = mask;
            while m != 0 {
                let s = m.trailing_zeros() as usize;
                guards.held.push(Held { slot: slot(db, s), guard: database.shards[s].0.lock() });
                m &= m - 1;
            }
        }
        guards
    }

    /// Locks the shards in `set` like [`Keyspace::lock`], but while a shard is contended asks
    /// `keep_waiting` every `WAIT_SLICE`; when it says no, releases what it took and returns
    /// `None` (a connection's event loop backs off from a long script instead of blocking its
    /// thread). Uncontended, it costs what `lock` costs.
    pub fn lock_unless(&self, set: &LockSet, mut keep_waiting: impl FnMut() -> bool) -> Option<Guards<'_>> {
        const WAIT_SLICE: std::time::Duration = std::time::Duration::from_micros(250);
        let mut guards = Guards { held: SmallVec::new() };
        for &(db, mask) in &set.entries {
            let Some(database) = self.dbs.get(db) else { continue };
            let mut m = mask;
            while m != 0 {
                let s = m.trailing_zeros() as usize;
                let mutex = &database.shards[s].0;
                let guard = match mutex.try_lock() {
                    Some(g) => g,
                    None => loop {
                        if let Some(g) = mutex.try_lock_for(WAIT_SLICE) {
                            break g;
                        }
                        if !keep_waiting() {
                            return None;
                        }
                    },
                };
                guards.held.push(Held { slot: slot(db, s), guard });
                m &= m - 1;
            }
        }
        Some(guards)
    }

    /// Locks and visits one shard (for background work such as active expiry and the cron).
    pub fn with_shard<R>(&self, db: usize, shard: usize, f: impl FnOnce(&mut Shard) -> R) -> R {
        f(&mut self.dbs[db].shards[shard].0.lock())
    }

    /// Tries to lock one shard without waiting (background work backs off from busy shards).
    pub fn try_with_shard<R>(&self, db: usize, shard: usize, f: impl FnOnce(&mut Shard) -> R) -> Option<R> {
        self.dbs[db].shards[shard].0.try_lock().map(|mut g| f(&mut g))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockset_orders_and_merges() {
        let mut s = LockSet::new();
        s.add_mask(3, 0b100);
        s.add_mask(1, 0b1);
        s.add_mask(3, 0b1);
        assert_eq!(s.entries(), &[(1, 0b1), (3, 0b101)]);
    }

    #[test]
    fn guards_expose_only_locked_shards() {
        let ks = Keyspace::new(2);
        let mut set = LockSet::new();
        set.add_mask(1, 0b10);
        let mut g = ks.lock(&set);
        assert!(g.shard(1, 1).is_some());
        assert!(g.shard(1, 0).is_none());
        assert!(g.shard(0, 1).is_none());
        assert!(!g.holds_all(1));
        drop(g);
        let mut all = LockSet::new();
        all.add_db(0);
        let g = ks.lock(&all);
        assert!(g.holds_all(0));
    }

    #[test]
    fn lock_unless_gives_up_on_a_held_shard_and_releases_the_rest() {
        let ks = Keyspace::new(1);
        let mut first = LockSet::new();
        first.add_mask(0, 0b1);
        let mut both = LockSet::new();
        both.add_mask(0, 0b11);
        let mut late = LockSet::new();
        late.add_mask(0, 0b10);
        let held = ks.lock(&late);
        let mut asked = 0;
        assert!(ks
            .lock_unless(&both, || {
                asked += 1;
                asked < 3
            })
            .is_none());
        assert_eq!(asked, 3);
        // Shard 0, taken before giving up, was released.
        assert!(ks.lock_unless(&first, || false).is_some());
        drop(held);
        let g = ks.lock_unless(&both, || false).expect("uncontended");
        drop(g);
    }

    #[test]
    fn concurrent_multi_shard_locking_does_not_deadlock() {
        let ks = std::sync::Arc::new(Keyspace::new(2));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let ks = ks.clone();
                std::thread::spawn(move || {
                    let mut rng = fastrand::Rng::with_seed(t);
                    for _ in 0..20_000 {
                        let mut set = LockSet::new();
                        set.add_mask(rng.usize(..2), rng.u64(..));
                        set.add_mask(rng.usize(..2), rng.u64(..));
                        drop(ks.lock(&set));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
