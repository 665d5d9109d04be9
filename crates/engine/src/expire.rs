//! The active expiry cycle: finds and deletes keys whose TTL has passed even if nobody reads
//! them, so memory does not fill with dead keys.
//!
//! Like Valkey's `activeExpireCycle`: each run walks databases and shards round-robin,
//! sampling random keys with a TTL from each shard (O(1) each, via the shard's volatile
//! index); a shard is sampled again while more than the acceptable fraction of its samples
//! were expired. Only one shard is locked at a time and each lock is held for one sample
//! batch, so clients never wait long; the whole run stops at a time budget derived from `hz`
//! and `active-expire-effort`.

use crate::engine::Engine;
use crate::keyspace::SHARDS;
use crate::notify;
#[cfg(test)]
use crate::notify::KeyEvent;
use crate::propagate::Op;
use crate::stats::Counter;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// Where the previous run stopped, so that every shard gets its turn.
#[derive(Default)]
pub struct ExpireCursor {
    db: usize,
    shard: usize,
    rng: Option<fastrand::Rng>,
    /// Running average of the share of sampled keys that were expired (INFO
    /// `expired_stale_perc`).
    pub stale_perc: f64,
}

/// What one run did.
#[derive(Debug, Default)]
pub struct ExpireRun {
    pub sampled: u64,
    pub expired: u64,
    pub time_cap_reached: bool,
    /// The `expired` events published (kept for unit tests).
    #[cfg(test)]
    pub events: Vec<KeyEvent>,
}

/// Keys sampled per shard per batch at effort 1..10 (Valkey: 20 + 5 per effort step).
fn keys_per_batch(effort: u32) -> usize {
    20 + 5 * (effort.clamp(1, 10) as usize - 1)
}

/// Percentage of expired samples under which a shard is left alone (10% at effort 1).
fn acceptable_stale_perc(effort: u32) -> usize {
    10 - (effort.clamp(1, 10) as usize - 1)
}

/// Runs one active expiry cycle.
pub fn run_cycle(engine: &Engine, cursor: &mut ExpireCursor) -> ExpireRun {
    let mut run = ExpireRun::default();
    if !engine.active_expire_enabled.load(Relaxed) {
        return run;
    }
    let effort = engine.config.hot.active_expire_effort.load(Relaxed);
    let hz = engine.config.hot.hz.load(Relaxed).max(1);
    // 25% of the cron period at effort 1, up to 43% at effort 10 (Valkey's slow cycle).
    let perc = 25 + 2 * (effort.clamp(1, 10) - 1);
    let budget = Duration::from_micros(1_000_000 * u64::from(perc) / 100 / u64::from(hz));
    let started = Instant::now();
    let per_batch = keys_per_batch(effort);
    let stale = acceptable_stale_perc(effort);
    let notify_on = engine.notify_flags() & notify::EXPIRED != 0;
    let lazy = engine.config.hot.lazyfree_lazy_expire.load(Relaxed);
    let rng = cursor.rng.get_or_insert_with(fastrand::Rng::new);
    let total_shards = engine.keyspace.databases() * SHARDS;
    for _ in 0..total_shards {
        if cursor.db >= engine.keyspace.databases() {
            cursor.db = 0;
        }
        let (db, shard) = (cursor.db, cursor.shard);
        cursor.shard += 1;
        if cursor.shard == SHARDS {
            cursor.shard = 0;
            cursor.db += 1;
        }
        loop {
            let now = crate::util::now_ms();
            let (sampled, expired) = engine.keyspace.with_shard(db, shard, |s| {
                let n = s.volatile_len().min(per_batch);
                let mut expired = 0;
                for _ in 0..n {
                    let Some(e) = s.random_volatile(rng) else { break };
                    if e.expire_at_ms().is_some_and(|t| now > t) {
                        let key = e.key().to_vec();
                        s.remove(crate::keyspace::hash_key(&key), &key);
                        s.touch_watched(&key);
                        if engine.tracking.active() {
                            engine.tracking.invalidate(engine, &key, 0, true);
                        }
                        if engine.propagation.is_active() {
                            // Propagated while the shard is still locked, like every write.
                            let cmd: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
                            engine.propagation.append(&[Op { db, argv: vec![cmd.to_vec(), key.clone()] }], false);
                        }
                        if notify_on {
                            let flags = engine.notify_flags();
                            engine.pubsub.keyspace_event(engine, flags, "expired", db, &key);
                            #[cfg(test)]
                            run.events.push(KeyEvent { class: notify::EXPIRED, event: "expired", db, key });
                        }
                        expired += 1;
                    }
                }
                (n, expired)
            });
            run.sampled += sampled as u64;
            run.expired += expired;
            if started.elapsed() > budget {
                run.time_cap_reached = true;
                break;
            }
            if sampled == 0 || (expired as usize) * 100 <= sampled * stale {
                break;
            }
        }
        if run.time_cap_reached {
            break;
        }
    }
    if run.sampled > 0 {
        let current = run.expired as f64 / run.sampled as f64;
        cursor.stale_perc = current * 0.05 + cursor.stale_perc * 0.95;
    }
    engine.stats.local(|b| {
        b.add(Counter::ExpiredKeys, run.expired);
        b.add(Counter::ExpiredTimeCapReached, u64::from(run.time_cap_reached));
        b.add(Counter::ExpireCycleCpuMs, started.elapsed().as_millis() as u64);
    });
    run
}

/// Advances incremental rehashing in every shard a little (Valkey's `activerehashing`), and
/// starts shrinking tables that became sparse. Skips shards that are busy.
pub fn rehash_cycle(engine: &Engine, steps_per_shard: usize) {
    for db in 0..engine.keyspace.databases() {
        for shard in 0..SHARDS {
            engine.keyspace.try_with_shard(db, shard, |s| s.rehash_some(steps_per_shard));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::tests::{client, run};

    #[test]
    fn active_expiry_removes_expired_keys_without_access() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        for i in 0..500 {
            run(&e, &mut c, &["set", &format!("k{i}"), "v"]);
        }
        // Give them a TTL directly in the past via the keyspace.
        let past = crate::util::now_ms() - 1;
        for i in 0..500 {
            let key = format!("k{i}").into_bytes();
            let h = crate::keyspace::hash_key(&key);
            e.keyspace.with_shard(0, crate::keyspace::shard_of(h), |s| {
                s.set_expire(h, &key, Some(past));
            });
        }
        let mut cursor = ExpireCursor::default();
        let mut total = 0;
        for _ in 0..100 {
            total += run_cycle(&e, &mut cursor).expired;
            if total == 500 {
                break;
            }
        }
        assert_eq!(total, 500);
        assert_eq!(run(&e, &mut c, &["dbsize"]), ":0\r\n");
    }
}
