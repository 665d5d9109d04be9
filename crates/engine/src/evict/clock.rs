//! The 24-bit access stamp every entry carries (`lru` in `keyspace/entry.rs`), as Valkey keeps
//! it in `robj.lru`:
//!
//! - under an LRU (or any non-LFU) policy, the LRU clock: seconds since the epoch, modulo 2^24
//!   (it wraps every 194 days);
//! - under an LFU policy, 16 bits of "last decrement time" in minutes and an 8-bit logarithmic
//!   access counter. New keys start at [`LFU_INIT_VAL`] so that they survive a few rounds;
//!   each access increments the counter with probability `1 / ((c - 5) * lfu-log-factor + 1)`,
//!   and the counter loses one point per `lfu-decay-time` minutes without access.
//!
//! [`Stamp`] is what a command carries to stamp the keys it creates and touches: the policy
//! and the clocks are read once per command.

use crate::engine::{LRU_CLOCK_MAX, LRU_CLOCK_RESOLUTION_MS};

/// The LFU counter of a new key (Valkey's `LFU_INIT_VAL`).
pub const LFU_INIT_VAL: u32 = 5;

/// The minutes clock of the LFU field (Valkey's `LFUGetTimeInMinutes`).
pub fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xffff) as u32
}

/// The LRU clock value at a time in ms.
pub fn lru_clock_at(now_ms: u64) -> u32 {
    ((now_ms / LRU_CLOCK_RESOLUTION_MS) as u32) & LRU_CLOCK_MAX
}

/// Minutes elapsed since `last` on the 16-bit minutes clock, wrapping once at most.
fn minutes_since(last: u32, now_minutes: u32) -> u32 {
    if now_minutes >= last {
        now_minutes - last
    } else {
        0xffff - last + now_minutes
    }
}

/// The counter of an LFU field after its decay (Valkey's `LFUDecrAndReturn`): one point lost
/// per `decay_minutes` since the field's time; no decay when `decay_minutes` is 0.
pub fn lfu_decayed(field: u32, now_minutes: u32, decay_minutes: u32) -> u32 {
    let counter = field & 0xff;
    if decay_minutes == 0 {
        return counter;
    }
    let periods = minutes_since(field >> 8, now_minutes) / decay_minutes;
    counter.saturating_sub(periods)
}

/// One logarithmic increment (Valkey's `LFULogIncr`): `r` is a uniform draw in [0, 1).
pub fn lfu_log_incr(counter: u32, log_factor: u32, r: f64) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * f64::from(log_factor) + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// Milliseconds since the access recorded by an LRU stamp (Valkey's `estimateObjectIdleTime`).
pub fn idle_ms(lru: u32, now_lru: u32) -> u64 {
    let ticks = if now_lru >= lru { now_lru - lru } else { now_lru + (LRU_CLOCK_MAX - lru) };
    u64::from(ticks) * LRU_CLOCK_RESOLUTION_MS
}

/// How a command stamps the keys it creates and accesses.
#[derive(Clone, Copy, Debug)]
pub struct Stamp {
    pub lfu: bool,
    pub lru_clock: u32,
    pub minutes: u32,
    pub log_factor: u32,
    pub decay_minutes: u32,
}

impl Stamp {
    /// The stamp for `now_ms` under the current configuration.
    pub fn new(config: &crate::config::Config, now_ms: u64) -> Stamp {
        use std::sync::atomic::Ordering::Relaxed;
        let hot = &config.hot;
        Stamp {
            lfu: crate::evict::Policy::from_u32(hot.maxmemory_policy.load(Relaxed)).is_lfu(),
            lru_clock: lru_clock_at(now_ms),
            minutes: lfu_minutes(now_ms),
            log_factor: hot.lfu_log_factor.load(Relaxed),
            decay_minutes: hot.lfu_decay_time.load(Relaxed),
        }
    }

    /// The stamp of a key created now (Valkey's `createObject`).
    #[inline]
    pub fn fresh(&self) -> u32 {
        if self.lfu {
            self.minutes << 8 | LFU_INIT_VAL
        } else {
            self.lru_clock
        }
    }

    /// The stamp of a key accessed now that had `old` (Valkey's `lookupKey`: the LRU clock, or
    /// the decayed and incremented LFU counter).
    #[inline]
    pub fn touched(&self, old: u32) -> u32 {
        if self.lfu {
            let c = lfu_decayed(old, self.minutes, self.decay_minutes);
            self.minutes << 8 | lfu_log_incr(c, self.log_factor, fastrand::f64())
        } else {
            self.lru_clock
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_increment_probability_follows_the_factor() {
        // At or below the initial value every access counts.
        assert_eq!(lfu_log_incr(0, 10, 0.999), 1);
        assert_eq!(lfu_log_incr(5, 10, 0.999), 6);
        // Above it, with probability 1 / ((c - 5) * factor + 1).
        assert_eq!(lfu_log_incr(6, 10, 1.0 / 11.0 - 1e-9), 7);
        assert_eq!(lfu_log_incr(6, 10, 1.0 / 11.0 + 1e-9), 6);
        assert_eq!(lfu_log_incr(255, 0, 0.0), 255);
        // Factor 0: every access counts.
        assert_eq!(lfu_log_incr(200, 0, 0.999), 201);
    }

    #[test]
    fn counter_grows_logarithmically() {
        // Valkey's table (redis.conf): factor 10 reaches ~10 after 100 hits, ~18 after 1000,
        // ~142 after 100k, 255 after 1M.
        let mut rng = fastrand::Rng::with_seed(7);
        let mut c = LFU_INIT_VAL;
        let mut at = Vec::new();
        for i in 1..=1_000_000u32 {
            c = lfu_log_incr(c, 10, rng.f64());
            if [100, 1000, 100_000, 1_000_000].contains(&i) {
                at.push(c);
            }
        }
        assert!((8..=13).contains(&at[0]), "{at:?}");
        assert!((15..=22).contains(&at[1]), "{at:?}");
        assert!((120..=160).contains(&at[2]), "{at:?}");
        assert_eq!(at[3], 255, "{at:?}");
    }

    #[test]
    fn decay_loses_a_point_per_period_and_wraps() {
        let field = 100 << 8 | 20;
        assert_eq!(lfu_decayed(field, 100, 1), 20);
        assert_eq!(lfu_decayed(field, 105, 1), 15);
        assert_eq!(lfu_decayed(field, 105, 2), 18);
        assert_eq!(lfu_decayed(field, 200, 1), 0);
        assert_eq!(lfu_decayed(field, 200, 0), 20);
        // The minutes clock wrapped: 0xffff - 0xfff0 + 3 = 18 minutes.
        assert_eq!(lfu_decayed(0xfff0 << 8 | 30, 3, 1), 12);
    }

    #[test]
    fn stamps_under_each_policy() {
        let lru = Stamp { lfu: false, lru_clock: 1234, minutes: 7, log_factor: 10, decay_minutes: 1 };
        assert_eq!(lru.fresh(), 1234);
        assert_eq!(lru.touched(5), 1234);
        let lfu = Stamp { lfu: true, ..lru };
        assert_eq!(lfu.fresh(), 7 << 8 | 5);
        // A new key's first access always counts (counter <= LFU_INIT_VAL).
        assert_eq!(lfu.touched(7 << 8 | 5), 7 << 8 | 6);
        // Decay first: 3 minutes idle loses 3 points, then the access adds one.
        assert_eq!(lfu.touched(4 << 8 | 5), 7 << 8 | 3);
        assert_eq!(idle_ms(10, 15), 5000);
        assert_eq!(idle_ms(LRU_CLOCK_MAX - 1, 1), 2000);
    }
}
