//! The used-memory figure eviction decides on, cheap enough to read before every command.
//!
//! Valkey counts every allocation into `used_memory` itself. We take the figure from jemalloc,
//! whose global statistics (`stats.allocated`) are exact but cost tens of microseconds to
//! refresh (`epoch`). So the meter keeps one shared estimate, fed two ways:
//!
//! - every thread that runs commands (or frees memory: lazy free, the cron) folds its own
//!   allocation balance into the estimate. jemalloc keeps per-thread cumulative counters of
//!   bytes allocated and freed (`thread.allocatedp` / `thread.deallocatedp`, two loads through
//!   pointers); the thread remembers where it was at its last fold and adds the difference.
//!   Far from the limit it folds only once the difference passes [`FOLD_BYTES`], so most
//!   commands cost a thread-local read and a compare; within [`NEAR_BYTES`] of the limit it
//!   folds before every command, so the estimate is exact up to what threads are doing right
//!   now.
//! - the cron resynchronises it with jemalloc's exact total every tick ([`Meter::resync`]),
//!   which corrects what threads that do not fold (the control thread, save threads) did.
//!   The total already holds every thread's unfolded balance, so a resync starts a new
//!   generation: each thread's next fold only moves its starting point, which keeps those
//!   bytes from being counted twice (a thread that did not fold for a long time, e.g. while
//!   no limit was set, would otherwise add everything it allocated meanwhile again).
//!
//! The server installs the per-thread probe at startup ([`Meter::set_probe`]); without one
//! (unit tests, embedded use) the estimate only moves when it is resynchronised or set, and
//! eviction counts the bytes of the entries it frees instead.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

/// A thread folds its balance into the shared estimate once it moved by this much.
pub const FOLD_BYTES: u64 = 16 * 1024;
/// Within this much of `maxmemory`, threads fold before every command.
pub const NEAR_BYTES: u64 = 16 * FOLD_BYTES;

/// Returns the calling thread's bytes allocated minus bytes freed (wrapping), as jemalloc
/// counts them.
pub type ThreadBalance = fn() -> u64;

thread_local! {
    /// The generation and the thread's balance at its last fold (`None` before its first).
    static FOLDED: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

#[derive(Default)]
pub struct Meter {
    used: AtomicU64,
    /// Bumped by every resync.
    generation: AtomicU64,
    probe: OnceLock<ThreadBalance>,
}

impl Meter {
    /// Installs the per-thread probe (once; later calls are ignored).
    pub fn set_probe(&self, probe: ThreadBalance) {
        let _ = self.probe.set(probe);
    }

    pub fn has_probe(&self) -> bool {
        self.probe.get().is_some()
    }

    /// The calling thread's balance, if there is a probe.
    #[inline]
    pub fn thread_balance(&self) -> Option<u64> {
        self.probe.get().map(|p| p())
    }

    /// The current estimate, without folding.
    #[inline]
    pub fn used(&self) -> u64 {
        self.used.load(Relaxed)
    }

    /// Folds the calling thread's balance if it moved by [`FOLD_BYTES`], or at all when the
    /// estimate is within [`NEAR_BYTES`] of `limit`; returns the estimate.
    #[inline]
    pub fn fold(&self, limit: u64) -> u64 {
        let Some(probe) = self.probe.get() else { return self.used() };
        let now = probe();
        let generation = self.generation.load(Relaxed);
        FOLDED.with(|folded| match folded.get() {
            Some((g, last)) if g == generation => {
                let delta = now.wrapping_sub(last);
                let used = self.used();
                let moved = delta.min(delta.wrapping_neg());
                if delta == 0 || (moved < FOLD_BYTES && used.saturating_add(NEAR_BYTES) < limit) {
                    return used;
                }
                folded.set(Some((generation, now)));
                self.used.fetch_add(delta, Relaxed).wrapping_add(delta)
            }
            _ => {
                // The thread's earlier allocations are in the last resync.
                folded.set(Some((generation, now)));
                self.used()
            }
        })
    }

    /// Folds the calling thread's whole balance (threads that free memory in bulk: lazy free,
    /// eviction, the cron).
    pub fn fold_all(&self) {
        self.fold(u64::MAX);
    }

    /// Sets the estimate from the allocator's exact total, read now. Bytes folded between the
    /// read of the estimate and this call are kept.
    pub fn resync(&self, before: u64, allocated: u64) {
        self.used.fetch_add(allocated.wrapping_sub(before), Relaxed);
        self.generation.fetch_add(1, Relaxed);
    }

    /// Moves the estimate by `delta` bytes (eviction without a probe: the bytes of the freed
    /// entry).
    pub fn add(&self, delta: i64) {
        self.used.fetch_add(delta as u64, Relaxed);
    }

    /// Sets the estimate (tests and embedded use).
    pub fn set(&self, used: u64) {
        self.used.store(used, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    static FAKE: AtomicU64 = AtomicU64::new(1_000_000);

    fn fake_balance() -> u64 {
        FAKE.load(Relaxed)
    }

    #[test]
    fn folds_far_from_the_limit_only_past_the_threshold_and_always_near_it() {
        // Runs on its own thread so that the thread-local fold state starts empty.
        std::thread::spawn(|| {
            let m = Meter::default();
            m.set_probe(fake_balance);
            m.set(10_000_000);
            assert_eq!(m.fold(u64::MAX), 10_000_000);
            FAKE.fetch_add(1000, Relaxed);
            assert_eq!(m.fold(1 << 40), 10_000_000, "small move, far from the limit");
            FAKE.fetch_add(FOLD_BYTES, Relaxed);
            assert_eq!(m.fold(1 << 40), 10_000_000 + 1000 + FOLD_BYTES);
            FAKE.fetch_sub(500, Relaxed);
            assert_eq!(m.fold(10_000_000 + FOLD_BYTES + NEAR_BYTES / 2), 10_000_000 + 500 + FOLD_BYTES);
            // Freed memory folds as a negative move.
            FAKE.fetch_sub(20_000, Relaxed);
            assert_eq!(m.fold(1 << 40), 10_000_000 + 500 + FOLD_BYTES - 20_000);
            // A resync keeps what was folded between reading the estimate and now.
            let before = m.used();
            m.add(100);
            m.resync(before, 9_000_000);
            assert_eq!(m.used(), 9_000_100);
            // What the thread did before the resync is in the resynced total: its next fold
            // only moves its starting point.
            FAKE.fetch_add(1_000_000, Relaxed);
            assert_eq!(m.fold(u64::MAX), 9_000_100);
            FAKE.fetch_add(FOLD_BYTES, Relaxed);
            assert_eq!(m.fold(u64::MAX), 9_000_100 + FOLD_BYTES);
        })
        .join()
        .unwrap();
    }
}
