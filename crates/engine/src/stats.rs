//! Server statistics for INFO: global counters, and per-client accumulators that are folded
//! into them in batches so that the hot path does no atomic read-modify-write per command.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters of one command (INFO commandstats).
#[derive(Default)]
pub struct CommandCounters {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected_calls: AtomicU64,
    pub failed_calls: AtomicU64,
}

/// Global counters, Valkey's INFO stats field names.
#[derive(Default)]
pub struct Stats {
    pub total_connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub total_commands_processed: AtomicU64,
    pub total_net_input_bytes: AtomicU64,
    pub total_net_output_bytes: AtomicU64,
    pub total_reads_processed: AtomicU64,
    pub total_writes_processed: AtomicU64,
    pub expired_keys: AtomicU64,
    pub expired_time_cap_reached_count: AtomicU64,
    pub expire_cycle_cpu_milliseconds: AtomicU64,
    pub evicted_keys: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub total_error_replies: AtomicU64,
    pub unexpected_error_replies: AtomicU64,
    pub dump_payload_sanitizations: AtomicU64,
    pub client_query_buffer_limit_disconnections: AtomicU64,
    pub client_output_buffer_limit_disconnections: AtomicU64,
    /// Per command id (see `CommandTable`).
    pub commands: Box<[CommandCounters]>,
    /// Error replies per error code (INFO errorstats).
    pub errors: Mutex<HashMap<String, u64>>,
    /// Server-wide changes since the last save (`rdb_changes_since_last_save`).
    pub dirty: AtomicU64,
}

/// Distinct error codes tracked before the rest are folded (Valkey's `ERRORSTATS_LIMIT`).
const ERRORSTATS_LIMIT: usize = 128;

impl Stats {
    pub fn new(commands: usize) -> Stats {
        Stats {
            commands: (0..commands).map(|_| CommandCounters::default()).collect(),
            ..Default::default()
        }
    }

    pub fn record_error(&self, code: &str) {
        self.total_error_replies.fetch_add(1, Relaxed);
        let mut errors = self.errors.lock();
        if errors.len() >= ERRORSTATS_LIMIT && !errors.contains_key(code) {
            return;
        }
        *errors.entry(code.to_string()).or_default() += 1;
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for c in [
            &self.total_connections_received,
            &self.rejected_connections,
            &self.total_commands_processed,
            &self.total_net_input_bytes,
            &self.total_net_output_bytes,
            &self.total_reads_processed,
            &self.total_writes_processed,
            &self.expired_keys,
            &self.expired_time_cap_reached_count,
            &self.expire_cycle_cpu_milliseconds,
            &self.evicted_keys,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.total_error_replies,
            &self.unexpected_error_replies,
            &self.dump_payload_sanitizations,
            &self.client_query_buffer_limit_disconnections,
            &self.client_output_buffer_limit_disconnections,
        ] {
            c.store(0, Relaxed);
        }
        for c in self.commands.iter() {
            c.calls.store(0, Relaxed);
            c.usec.store(0, Relaxed);
            c.rejected_calls.store(0, Relaxed);
            c.failed_calls.store(0, Relaxed);
        }
        self.errors.lock().clear();
    }
}

/// One command's pending counts in a [`LocalStats`].
#[derive(Clone, Copy, Default)]
struct PendingCommand {
    id: usize,
    calls: u64,
    usec: u64,
    rejected: u64,
    failed: u64,
}

/// Counts kept by one connection between flushes.
#[derive(Default)]
pub struct LocalStats {
    commands: Vec<PendingCommand>,
    pub processed: u64,
    pub hits: u64,
    pub misses: u64,
    pub expired: u64,
    pub net_in: u64,
    pub net_out: u64,
    pub reads: u64,
    pub writes: u64,
    pub dirty: u64,
}

impl LocalStats {
    fn slot(&mut self, id: usize) -> &mut PendingCommand {
        match self.commands.iter().position(|c| c.id == id) {
            Some(i) => &mut self.commands[i],
            None => {
                self.commands.push(PendingCommand {
                    id,
                    ..Default::default()
                });
                self.commands.last_mut().expect("just pushed")
            }
        }
    }

    pub fn call(&mut self, id: usize, usec: u64, failed: bool) {
        let s = self.slot(id);
        s.calls += 1;
        s.usec += usec;
        s.failed += u64::from(failed);
    }

    pub fn rejected(&mut self, id: usize) {
        self.slot(id).rejected += 1;
    }

    /// Adds everything into the global counters and starts over.
    pub fn flush(&mut self, stats: &Stats) {
        for c in self.commands.drain(..) {
            if let Some(g) = stats.commands.get(c.id) {
                g.calls.fetch_add(c.calls, Relaxed);
                g.usec.fetch_add(c.usec, Relaxed);
                g.rejected_calls.fetch_add(c.rejected, Relaxed);
                g.failed_calls.fetch_add(c.failed, Relaxed);
            }
        }
        for (local, global) in [
            (&mut self.processed, &stats.total_commands_processed),
            (&mut self.hits, &stats.keyspace_hits),
            (&mut self.misses, &stats.keyspace_misses),
            (&mut self.expired, &stats.expired_keys),
            (&mut self.net_in, &stats.total_net_input_bytes),
            (&mut self.net_out, &stats.total_net_output_bytes),
            (&mut self.reads, &stats.total_reads_processed),
            (&mut self.writes, &stats.total_writes_processed),
            (&mut self.dirty, &stats.dirty),
        ] {
            if *local != 0 {
                global.fetch_add(*local, Relaxed);
                *local = 0;
            }
        }
    }
}
