//! Server statistics for INFO.
//!
//! Counting must not cost the hot path an atomic read-modify-write per command (on a shared
//! cache line that ping-pongs between cores). So each thread counts into a block of its own —
//! written only by that thread, with plain relaxed loads and stores — and INFO adds the blocks
//! up. CONFIG RESETSTAT cannot zero other threads' blocks safely, so it records a baseline
//! that later readings subtract.

use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// The counters kept per thread, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Counter {
    CommandsProcessed,
    KeyspaceHits,
    KeyspaceMisses,
    ExpiredKeys,
    NetInputBytes,
    NetOutputBytes,
    ReadsProcessed,
    WritesProcessed,
    /// Changes since the last save (`rdb_changes_since_last_save`).
    Dirty,
    ErrorReplies,
    ConnectionsReceived,
    RejectedConnections,
    QueryBufferLimitDisconnections,
    OutputBufferLimitDisconnections,
    ExpiredTimeCapReached,
    ExpireCycleCpuMs,
    EvictedKeys,
    /// Clients disconnected by `maxmemory-clients` (`evicted_clients`).
    EvictedClients,
    UnexpectedErrorReplies,
    DumpPayloadSanitizations,
    /// Connection loop passes (read, run the commands, write): `eventloop_cycles`.
    EventLoopCycles,
    /// Time spent in those passes, µs (`eventloop_duration_sum`).
    EventLoopUsec,
    /// Time spent running commands, µs (`eventloop_duration_cmd_sum`).
    CommandUsec,
    /// Reply buffers given back after a big reply (`reply_buffer_shrinks`).
    ReplyBufferShrinks,
    /// Reply buffers grown past their usual size (`reply_buffer_expands`).
    ReplyBufferExpands,
    /// Failed authentications (`acl_access_denied_auth`).
    AclDeniedAuth,
}

const COUNTERS: usize = Counter::AclDeniedAuth as usize + 1;

/// Counters of one command (INFO commandstats).
#[derive(Default)]
pub struct CommandCounters {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected_calls: AtomicU64,
    pub failed_calls: AtomicU64,
}

/// Totals of one command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommandTotals {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

/// One thread's counters. Only its thread writes it.
pub struct StatBlock {
    counters: [AtomicU64; COUNTERS],
    commands: Box<[CommandCounters]>,
}

#[inline]
fn bump(a: &AtomicU64, n: u64) {
    // Single writer: a plain load and store, no locked instruction.
    a.store(a.load(Relaxed).wrapping_add(n), Relaxed);
}

impl StatBlock {
    #[inline]
    pub fn add(&self, c: Counter, n: u64) {
        if n != 0 {
            bump(&self.counters[c as usize], n);
        }
    }

    /// Records one call of command `id`.
    #[inline]
    pub fn call(&self, id: usize, usec: u64, failed: bool) {
        if let Some(c) = self.commands.get(id) {
            bump(&c.calls, 1);
            bump(&c.usec, usec);
            if failed {
                bump(&c.failed_calls, 1);
            }
        }
    }

    /// A call of command `id` already counted turned out to fail (a blocked command served
    /// with an error).
    pub fn failed(&self, id: usize) {
        if let Some(c) = self.commands.get(id) {
            bump(&c.failed_calls, 1);
        }
    }

    pub fn rejected(&self, id: usize) {
        if let Some(c) = self.commands.get(id) {
            bump(&c.rejected_calls, 1);
        }
    }
}

static NEXT_STATS_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's block for each engine it has served (normally exactly one).
    static LOCAL: RefCell<Vec<(u64, Arc<StatBlock>)>> = const { RefCell::new(Vec::new()) };
}

pub struct Stats {
    /// `instantaneous_*` rates, sampled by the cron.
    pub instantaneous: Instantaneous,
    id: u64,
    commands: usize,
    blocks: Mutex<Vec<Arc<StatBlock>>>,
    baseline: Mutex<([u64; COUNTERS], Vec<CommandTotals>)>,
    /// Error replies per error code (INFO errorstats); errors are rare enough for a lock.
    errors: Mutex<HashMap<String, u64>>,
}

/// Distinct error codes tracked (Valkey's `ERRORSTATS_LIMIT`).
const ERRORSTATS_LIMIT: usize = 128;

impl Stats {
    pub fn new(commands: usize) -> Stats {
        Stats {
            instantaneous: Instantaneous::default(),
            id: NEXT_STATS_ID.fetch_add(1, Relaxed),
            commands,
            blocks: Mutex::new(Vec::new()),
            baseline: Mutex::new(([0; COUNTERS], vec![CommandTotals::default(); commands])),
            errors: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `f` with the calling thread's block.
    #[inline]
    pub fn local<R>(&self, f: impl FnOnce(&StatBlock) -> R) -> R {
        LOCAL.with(|l| {
            if let Some((_, b)) = l.borrow().iter().find(|(id, _)| *id == self.id) {
                return f(b);
            }
            let block = Arc::new(StatBlock {
                counters: std::array::from_fn(|_| AtomicU64::new(0)),
                commands: (0..self.commands).map(|_| CommandCounters::default()).collect(),
            });
            self.blocks.lock().push(block.clone());
            l.borrow_mut().push((self.id, block.clone()));
            f(&block)
        })
    }

    pub fn add(&self, c: Counter, n: u64) {
        self.local(|b| b.add(c, n));
    }

    /// The total of a counter since start (or the last RESETSTAT).
    pub fn get(&self, c: Counter) -> u64 {
        let raw: u64 = self.blocks.lock().iter().map(|b| b.counters[c as usize].load(Relaxed)).sum();
        raw.wrapping_sub(self.baseline.lock().0[c as usize])
    }

    /// Changes since the last save; not affected by RESETSTAT.
    pub fn dirty(&self) -> u64 {
        self.blocks.lock().iter().map(|b| b.counters[Counter::Dirty as usize].load(Relaxed)).sum()
    }

    pub fn command(&self, id: usize) -> CommandTotals {
        let mut t = CommandTotals::default();
        for b in self.blocks.lock().iter() {
            if let Some(c) = b.commands.get(id) {
                t.calls += c.calls.load(Relaxed);
                t.usec += c.usec.load(Relaxed);
                t.rejected_calls += c.rejected_calls.load(Relaxed);
                t.failed_calls += c.failed_calls.load(Relaxed);
            }
        }
        let base = self.baseline.lock().1.get(id).copied().unwrap_or_default();
        CommandTotals {
            calls: t.calls.wrapping_sub(base.calls),
            usec: t.usec.wrapping_sub(base.usec),
            rejected_calls: t.rejected_calls.wrapping_sub(base.rejected_calls),
            failed_calls: t.failed_calls.wrapping_sub(base.failed_calls),
        }
    }

    pub fn record_error(&self, code: &str) {
        if code.is_empty() {
            // An error counted already (`Reply::failed_already_counted`).
            return;
        }
        self.add(Counter::ErrorReplies, 1);
        let mut errors = self.errors.lock();
        if errors.len() >= ERRORSTATS_LIMIT && !errors.contains_key(code) {
            return;
        }
        *errors.entry(code.to_string()).or_default() += 1;
    }

    /// Error counts by code, sorted by code.
    pub fn errors(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self.errors.lock().iter().map(|(k, v)| (k.clone(), *v)).collect();
        v.sort();
        v
    }

    /// CONFIG RESETSTAT: later readings start from zero (dirty is not a statistic and stays).
    pub fn reset(&self) {
        let mut raw = [0u64; COUNTERS];
        let mut cmds = vec![CommandTotals::default(); self.commands];
        for b in self.blocks.lock().iter() {
            for (i, c) in b.counters.iter().enumerate() {
                raw[i] += c.load(Relaxed);
            }
            for (i, c) in b.commands.iter().enumerate() {
                cmds[i].calls += c.calls.load(Relaxed);
                cmds[i].usec += c.usec.load(Relaxed);
                cmds[i].rejected_calls += c.rejected_calls.load(Relaxed);
                cmds[i].failed_calls += c.failed_calls.load(Relaxed);
            }
        }
        raw[Counter::Dirty as usize] = 0;
        *self.baseline.lock() = (raw, cmds);
        self.errors.lock().clear();
        *self.instantaneous.state.lock() = InstantState::default();
    }

    /// Samples the instantaneous rates (Valkey does it every 100 ms from its cron).
    pub fn sample_instantaneous(&self, now_ms: u64) {
        let values = [
            self.get(Counter::CommandsProcessed),
            self.get(Counter::NetInputBytes),
            self.get(Counter::NetOutputBytes),
            self.get(Counter::EventLoopCycles),
            self.get(Counter::EventLoopUsec),
        ];
        self.instantaneous.sample(now_ms, values);
    }
}

/// Samples kept per rate (Valkey's `STATS_METRIC_SAMPLES`).
const INSTANT_SAMPLES: usize = 16;

/// The rates INFO reports as `instantaneous_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Metric {
    /// Commands per second.
    Commands,
    /// Bytes read per second.
    NetInput,
    /// Bytes written per second.
    NetOutput,
    /// Connection loop passes per second.
    EventLoopCycles,
    /// µs per connection loop pass.
    EventLoopUsec,
}

const METRICS: usize = Metric::EventLoopUsec as usize + 1;

#[derive(Default)]
struct InstantState {
    last_ms: u64,
    last: [u64; METRICS],
    samples: [[u64; INSTANT_SAMPLES]; METRICS],
    idx: usize,
}

/// A ring of per-second rates computed from counter deltas.
#[derive(Default)]
pub struct Instantaneous {
    state: Mutex<InstantState>,
}

impl Instantaneous {
    fn sample(&self, now_ms: u64, values: [u64; METRICS]) {
        let mut s = self.state.lock();
        if s.last_ms > 0 && now_ms > s.last_ms {
            let elapsed = now_ms - s.last_ms;
            let idx = s.idx;
            let cycles = Metric::EventLoopCycles as usize;
            let cycles_delta = values[cycles].saturating_sub(s.last[cycles]);
            for (m, value) in values.iter().enumerate() {
                let delta = value.saturating_sub(s.last[m]);
                s.samples[m][idx] = if m == Metric::EventLoopUsec as usize {
                    // Per pass, not per second (Valkey's instantaneous_eventloop_duration_usec).
                    delta.checked_div(cycles_delta).unwrap_or(0)
                } else {
                    delta.saturating_mul(1000) / elapsed
                };
            }
            s.idx = (idx + 1) % INSTANT_SAMPLES;
        }
        s.last_ms = now_ms;
        s.last = values;
    }

    /// The average of the recent samples of a rate (per second).
    pub fn get(&self, m: Metric) -> u64 {
        let s = self.state.lock();
        s.samples[m as usize].iter().sum::<u64>() / INSTANT_SAMPLES as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_count_into_their_own_blocks_and_reset_uses_a_baseline() {
        let s = Arc::new(Stats::new(3));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        s.add(Counter::CommandsProcessed, 1);
                        s.local(|b| b.call(1, 2, false));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(s.get(Counter::CommandsProcessed), 4000);
        assert_eq!(s.command(1).calls, 4000);
        assert_eq!(s.command(1).usec, 8000);
        s.add(Counter::Dirty, 5);
        s.reset();
        assert_eq!(s.get(Counter::CommandsProcessed), 0);
        assert_eq!(s.command(1), CommandTotals::default());
        assert_eq!(s.dirty(), 5);
        s.add(Counter::CommandsProcessed, 2);
        assert_eq!(s.get(Counter::CommandsProcessed), 2);
    }

    #[test]
    fn instantaneous_rates_average_the_samples() {
        let s = Stats::new(1);
        s.sample_instantaneous(1000);
        for i in 1..=16 {
            s.add(Counter::CommandsProcessed, 50);
            s.sample_instantaneous(1000 + i * 100);
        }
        // 50 commands per 100 ms.
        assert_eq!(s.instantaneous.get(Metric::Commands), 500);
        assert_eq!(s.instantaneous.get(Metric::NetInput), 0);
    }
}
