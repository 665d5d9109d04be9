//! Eviction: keeping the dataset under `maxmemory` (Valkey's `evict.c`).
//!
//! Before every command (when `maxmemory` is set) the dispatcher asks [`before_command`]
//! whether memory is over the limit. If it is and the policy allows, keys are evicted until it
//! is not, within a time budget set by `maxmemory-eviction-tenacity`; past the budget the cron
//! thread carries on. If nothing can be evicted (`noeviction`, or a `volatile-*` policy with
//! no key that has a TTL), commands flagged `denyoom` are refused with `-OOM`.
//!
//! Choosing victims is Valkey's approximation of LRU/LFU: each pass samples
//! `maxmemory-samples` keys in every non-empty database (from one shard chosen with
//! probability proportional to its size, locking only that shard), scores them (idle time,
//! 255 minus the decayed LFU counter, or how soon the TTL ends), offers them to a pool of the
//! 16 best candidates kept across passes, and evicts the best candidate that still exists.
//! Random policies pick a random key of a database, visiting databases round robin.
//!
//! An evicted key is deleted like an expired one: `evicted` keyspace event, WATCH and
//! client-side caching invalidation, and a DEL (UNLINK with `lazyfree-lazy-eviction`) in the
//! replication stream, all while its shard is locked. Memory comes from [`meter::Meter`].

pub mod clock;
pub mod meter;
pub mod pool;

use crate::engine::Engine;
use crate::keyspace::shard::Shard;
use crate::keyspace::{hash_key, SHARDS};
use crate::notify;
use crate::propagate::Op;
use crate::stats::Counter;
use parking_lot::Mutex;
use pool::Pool;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `maxmemory-policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Policy {
    NoEviction = 0,
    VolatileLru = 1,
    VolatileLfu = 2,
    VolatileRandom = 3,
    VolatileTtl = 4,
    AllKeysLru = 5,
    AllKeysLfu = 6,
    AllKeysRandom = 7,
}

impl Policy {
    pub fn from_name(name: &str) -> Policy {
        match name {
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            "allkeys-lru" => Policy::AllKeysLru,
            "allkeys-lfu" => Policy::AllKeysLfu,
            "allkeys-random" => Policy::AllKeysRandom,
            _ => Policy::NoEviction,
        }
    }

    pub fn from_u32(v: u32) -> Policy {
        match v {
            1 => Policy::VolatileLru,
            2 => Policy::VolatileLfu,
            3 => Policy::VolatileRandom,
            4 => Policy::VolatileTtl,
            5 => Policy::AllKeysLru,
            6 => Policy::AllKeysLfu,
            7 => Policy::AllKeysRandom,
            _ => Policy::NoEviction,
        }
    }

    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::VolatileLfu | Policy::AllKeysLfu)
    }

    pub fn is_lru(self) -> bool {
        matches!(self, Policy::VolatileLru | Policy::AllKeysLru)
    }

    /// Whether keys without a TTL may be evicted.
    pub fn all_keys(self) -> bool {
        matches!(self, Policy::AllKeysLru | Policy::AllKeysLfu | Policy::AllKeysRandom)
    }

    fn uses_pool(self) -> bool {
        self.is_lru() || self.is_lfu() || self == Policy::VolatileTtl
    }
}

/// Valkey's `performEvictions` results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Under the limit (or eviction is not possible right now: clients are paused).
    Ok,
    /// Over the limit, keys were evicted, the cron goes on.
    Running,
    /// Over the limit and nothing left to evict: `denyoom` commands are refused.
    Fail,
}

/// The error `denyoom` commands get (Valkey's `shared.oomerr`).
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// The eviction state shared by all threads.
pub struct Evictor {
    pub meter: Arc<meter::Meter>,
    state: Mutex<State>,
    /// Over the limit with eviction unfinished: the cron keeps evicting (Valkey's
    /// `evictionTimeProc`). Set by CONFIG SET maxmemory and by passes that ran out of time.
    pending: AtomicBool,
    /// Since when (µs since start) memory has been over the limit, 0 if it is not.
    exceeded_since_us: AtomicU64,
    /// Total µs spent over the limit (`total_eviction_exceeded_time`).
    exceeded_total_us: AtomicU64,
    started: Instant,
}

struct State {
    pool: Pool,
    /// Per database and shard, the number of keys eviction may pick from (all keys, or those
    /// with a TTL): where to sample. Refreshed from the shards every [`SIZES_TTL`], and for
    /// a shard whenever it is sampled.
    sizes: Vec<[u32; SHARDS]>,
    sizes_at: Option<Instant>,
    sizes_policy: Option<bool>,
    rng: fastrand::Rng,
    /// Next database for the random policies.
    next_db: usize,
}

const SIZES_TTL: Duration = Duration::from_millis(100);

impl Evictor {
    pub fn new(databases: usize) -> Evictor {
        Evictor {
            meter: Arc::new(meter::Meter::default()),
            state: Mutex::new(State {
                pool: Pool::default(),
                sizes: vec![[0; SHARDS]; databases],
                sizes_at: None,
                sizes_policy: None,
                rng: fastrand::Rng::new(),
                next_db: 0,
            }),
            pending: AtomicBool::new(false),
            exceeded_since_us: AtomicU64::new(0),
            exceeded_total_us: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// Asks the cron to evict now (CONFIG SET maxmemory / maxmemory-policy).
    pub fn wake(&self) {
        self.pending.store(true, Relaxed);
    }

    /// Forgets the sampled candidates and sizes (the policy changed).
    pub fn reset(&self) {
        let mut st = self.state.lock();
        st.pool.clear();
        st.sizes_at = None;
    }

    fn now_us(&self) -> u64 {
        self.started.elapsed().as_micros() as u64 + 1
    }

    fn note(&self, outcome: Outcome) {
        let since = self.exceeded_since_us.load(Relaxed);
        match outcome {
            Outcome::Ok
                if since != 0 && self.exceeded_since_us.compare_exchange(since, 0, Relaxed, Relaxed).is_ok() =>
            {
                self.exceeded_total_us.fetch_add(self.now_us().saturating_sub(since), Relaxed);
            }
            Outcome::Running | Outcome::Fail if since == 0 => {
                let _ = self.exceeded_since_us.compare_exchange(0, self.now_us(), Relaxed, Relaxed);
            }
            _ => {}
        }
    }

    /// `total_eviction_exceeded_time` and `current_eviction_exceeded_time`, in ms.
    pub fn exceeded_ms(&self) -> (u64, u64) {
        let since = self.exceeded_since_us.load(Relaxed);
        let current = if since == 0 { 0 } else { self.now_us().saturating_sub(since) };
        ((self.exceeded_total_us.load(Relaxed) + current) / 1000, current / 1000)
    }
}

/// Sets the meter from the allocator's exact figure, if the host has one.
pub fn resync(engine: &Engine) {
    let before = engine.evictor.meter.used();
    if let Some(allocated) = engine.host.allocated() {
        engine.evictor.meter.resync(before, allocated);
    }
}

/// Valkey's check before a command: evicts if memory is over `maxmemory`; true if it is
/// still over and nothing could be evicted, in which case `denyoom` commands are refused.
/// The caller has checked that `maxmemory` is set and holds no shard lock.
pub fn before_command(engine: &Engine, maxmemory: u64) -> bool {
    let ev = &engine.evictor;
    if ev.meter.fold(maxmemory) <= maxmemory {
        if ev.exceeded_since_us.load(Relaxed) != 0 {
            ev.note(Outcome::Ok);
        }
        return false;
    }
    perform(engine) == Outcome::Fail
}

/// The cron's share: keeps the meter exact and goes on evicting while memory is over the limit,
/// for at most `budget`.
pub fn cron(engine: &Engine, budget: Duration) {
    let maxmemory = engine.config.hot.maxmemory.load(Relaxed);
    let ev = &engine.evictor;
    ev.meter.fold_all();
    if maxmemory == 0 {
        ev.pending.store(false, Relaxed);
        return;
    }
    resync(engine);
    if ev.meter.used() <= maxmemory && !ev.pending.load(Relaxed) {
        ev.note(Outcome::Ok);
        return;
    }
    let started = Instant::now();
    loop {
        ev.pending.store(false, Relaxed);
        if perform(engine) != Outcome::Running || started.elapsed() > budget {
            break;
        }
    }
}

/// Valkey's `evictionTimeLimitUs`: how long one call may evict.
fn time_limit(tenacity: u32) -> Duration {
    let us = match tenacity {
        0..=10 => 50 * u64::from(tenacity),
        11..=99 => (500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64,
        _ => return Duration::MAX,
    };
    Duration::from_micros(us)
}

/// Valkey's `performEvictions`.
pub fn perform(engine: &Engine) -> Outcome {
    let ev = &engine.evictor;
    let hot = &engine.config.hot;
    let maxmemory = hot.maxmemory.load(Relaxed);
    if maxmemory == 0 || engine.pause.expiry_paused() || engine.persistence.loading.is_active() {
        // Paused clients pause eviction too (Valkey's PAUSE_ACTION_EVICT), and nothing is
        // evicted while the dataset loads (the loader holds the shards; Valkey waits too).
        return Outcome::Ok;
    }
    let outcome = if ev.meter.fold(maxmemory) <= maxmemory {
        Outcome::Ok
    } else {
        let policy = Policy::from_u32(hot.maxmemory_policy.load(Relaxed));
        if policy == Policy::NoEviction {
            Outcome::Fail
        } else {
            evict_until_under(engine, policy, maxmemory)
        }
    };
    ev.note(outcome);
    outcome
}

fn evict_until_under(engine: &Engine, policy: Policy, maxmemory: u64) -> Outcome {
    let ev = &engine.evictor;
    let hot = &engine.config.hot;
    // One evicting thread at a time; the others wait here and find the work done.
    let mut st = ev.state.lock();
    let used = ev.meter.fold(maxmemory);
    if used <= maxmemory {
        return Outcome::Ok;
    }
    let to_free = (used - maxmemory) as i64;
    let limit = time_limit(hot.maxmemory_eviction_tenacity.load(Relaxed));
    let lazy = hot.lazyfree_lazy_eviction.load(Relaxed);
    let started = Instant::now();
    let mut freed: i64 = 0;
    let mut evicted = 0u64;
    let mut outcome = Outcome::Ok;
    while freed < to_free {
        match evict_one(engine, &mut st, policy, lazy) {
            Some(bytes) => {
                freed += bytes;
                evicted += 1;
            }
            None => {
                outcome = Outcome::Fail;
                break;
            }
        }
        if evicted.is_multiple_of(16) {
            // Values freed on the lazy-free thread are not counted in `freed`: look at the
            // meter itself from time to time.
            if lazy && ev.meter.used() <= maxmemory {
                break;
            }
            if started.elapsed() > limit {
                ev.pending.store(true, Relaxed);
                outcome = Outcome::Running;
                break;
            }
        }
    }
    drop(st);
    ev.meter.fold_all();
    if evicted > 0 {
        engine.stats.local(|b| b.add(Counter::EvictedKeys, evicted));
        if engine.tracking.active() {
            engine.tracking.broadcast(engine);
        }
    }
    if outcome == Outcome::Fail {
        // Values may still be on their way out on the lazy-free thread: wait a little.
        while engine.lazyfree_pending() > 0 && started.elapsed() < limit {
            ev.meter.fold_all();
            if ev.meter.used() <= maxmemory {
                return Outcome::Ok;
            }
            std::thread::sleep(limit.min(Duration::from_millis(1)));
        }
    }
    outcome
}

/// Evicts one key; returns the bytes that freed, or `None` if there is nothing to evict.
fn evict_one(engine: &Engine, st: &mut State, policy: Policy, lazy: bool) -> Option<i64> {
    refresh_sizes(engine, st, policy);
    if policy.uses_pool() {
        // Passes that find only keys deleted since they were sampled try again; a bound keeps a
        // keyspace emptied under our feet from spinning here.
        for _ in 0..1000 {
            if populate(engine, st, policy) == 0 {
                return None;
            }
            while let Some(c) = st.pool.pop_best() {
                let freed = engine.keyspace.with_shard(c.db, c.shard, |s| {
                    let h = hash_key(&c.key);
                    let e = s.find(h, &c.key)?;
                    if !policy.all_keys() && !e.has_ttl() {
                        return None;
                    }
                    Some(evict_key(engine, s, c.db, &c.key, lazy))
                });
                st.pool.recycle(c);
                if freed.is_some() {
                    return freed;
                }
            }
        }
        None
    } else {
        let dbs = st.sizes.len();
        for _ in 0..dbs {
            st.next_db = (st.next_db + 1) % dbs;
            let db = st.next_db;
            let Some(shard) = pick_shard(&st.sizes[db], &mut st.rng) else { continue };
            let rng = &mut st.rng;
            let (freed, left) = engine.keyspace.with_shard(db, shard, |s| {
                let e = if policy.all_keys() { s.random(rng) } else { s.random_volatile(rng) };
                let freed = e.map(|e| {
                    let key = e.key().to_vec();
                    evict_key(engine, s, db, &key, lazy)
                });
                (freed, evictable(s, policy))
            });
            st.sizes[db][shard] = left;
            if freed.is_some() {
                return freed;
            }
        }
        None
    }
}

fn evictable(s: &Shard, policy: Policy) -> u32 {
    let n = if policy.all_keys() { s.len() } else { s.volatile_len() };
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Re-reads the shard sizes when they are old or were counted for the other key set.
fn refresh_sizes(engine: &Engine, st: &mut State, policy: Policy) {
    let fresh = st.sizes_at.is_some_and(|t| t.elapsed() < SIZES_TTL);
    if fresh && st.sizes_policy == Some(policy.all_keys()) {
        return;
    }
    for (db, sizes) in st.sizes.iter_mut().enumerate() {
        for (shard, n) in sizes.iter_mut().enumerate() {
            *n = engine.keyspace.with_shard(db, shard, |s| evictable(s, policy));
        }
    }
    st.sizes_at = Some(Instant::now());
    st.sizes_policy = Some(policy.all_keys());
}

/// A shard chosen with probability proportional to its size, if any is non-empty.
fn pick_shard(sizes: &[u32; SHARDS], rng: &mut fastrand::Rng) -> Option<usize> {
    let total: u64 = sizes.iter().map(|&n| u64::from(n)).sum();
    if total == 0 {
        return None;
    }
    let mut r = rng.u64(..total);
    for (i, &n) in sizes.iter().enumerate() {
        if r < u64::from(n) {
            return Some(i);
        }
        r -= u64::from(n);
    }
    None
}

/// One sampling pass over every database (Valkey's loop around `evictionPoolPopulate`).
/// Returns the number of evictable keys seen in the sizes (0: nothing to evict).
fn populate(engine: &Engine, st: &mut State, policy: Policy) -> u64 {
    let samples = engine.config.hot.maxmemory_samples.load(Relaxed).max(1) as usize;
    let hot = &engine.config.hot;
    let now_ms = crate::util::now_ms();
    let now_lru = clock::lru_clock_at(now_ms);
    let minutes = clock::lfu_minutes(now_ms);
    let decay = hot.lfu_decay_time.load(Relaxed);
    let mut total = 0u64;
    for db in 0..st.sizes.len() {
        let db_keys: u64 = st.sizes[db].iter().map(|&n| u64::from(n)).sum();
        if db_keys == 0 {
            continue;
        }
        total += db_keys;
        let nonempty = st.sizes[db].iter().filter(|&&n| n > 0).count();
        let mut sampled = 0;
        for _ in 0..nonempty {
            let Some(shard) = pick_shard(&st.sizes[db], &mut st.rng) else { break };
            let State { pool, rng, .. } = &mut *st;
            let (n, left) = engine.keyspace.with_shard(db, shard, |s| {
                let available = evictable(s, policy) as usize;
                let n = samples.min(available);
                for _ in 0..n {
                    let e = if policy.all_keys() { s.random(rng) } else { s.random_volatile(rng) };
                    let Some(e) = e else { break };
                    let score = match policy {
                        Policy::VolatileTtl => u64::MAX - e.expire_at_ms().unwrap_or(u64::MAX),
                        p if p.is_lfu() => 255 - u64::from(clock::lfu_decayed(e.lru(), minutes, decay)),
                        _ => clock::idle_ms(e.lru(), now_lru),
                    };
                    pool.offer(score, db, shard, e.key());
                }
                (n, evictable(s, policy))
            });
            st.sizes[db][shard] = left;
            sampled += n;
            // Enough keys, or a database so small that its shards are mostly empty.
            if sampled >= samples || db_keys < samples as u64 * 10 {
                break;
            }
        }
    }
    total
}

/// Deletes an evicted key from its locked shard, with everything Valkey does for it; returns
/// the bytes freed.
fn evict_key(engine: &Engine, s: &mut Shard, db: usize, key: &[u8], lazy: bool) -> i64 {
    let meter = &engine.evictor.meter;
    let h = hash_key(key);
    let estimate = s.find(h, key).map_or(0, |e| e.heap_bytes() + std::mem::size_of::<usize>()) as i64;
    let before = meter.thread_balance();
    if let Some((value, _)) = s.remove(h, key) {
        if lazy {
            engine.lazy_free(value);
        } else {
            drop(value);
        }
    }
    let freed = match (before, meter.thread_balance()) {
        (Some(b), Some(a)) => b.wrapping_sub(a) as i64,
        _ => {
            meter.add(-estimate);
            estimate
        }
    };
    s.touch_watched(key);
    if engine.tracking.active() {
        engine.tracking.invalidate(engine, key, 0, true);
    }
    let flags = engine.notify_flags();
    if flags & notify::EVICTED != 0 {
        engine.pubsub.keyspace_event(engine, flags, "evicted", db, key);
    }
    if engine.propagation.is_active() {
        let cmd: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
        engine.propagation.append(&[Op { db, argv: vec![cmd.to_vec(), key.to_vec()] }], false);
    }
    freed
}

#[cfg(test)]
mod tests;
