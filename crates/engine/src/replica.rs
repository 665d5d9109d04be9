//! The replica role (REPLICAOF): whether this server follows a master, the state of its link
//! (INFO replication, ROLE, the READONLY and MASTERDOWN refusals), and the replicas attached
//! to this server, which a change of role disconnects.
//!
//! The link itself — connecting, the handshake, the full synchronisation, applying the
//! master's command stream — is I/O and lives in the server crate (`server/src/replica.rs`):
//! one thread that waits here for role changes ([`ReplicaRole::wait_change`]). Every change
//! of master starts a new *generation*; a link whose generation is no longer current stops
//! at its next step, so REPLICAOF never waits for the network.

use crate::client::Client;
use crate::commands::table::{flags, Resolved};
use crate::commands::Error;
use crate::engine::Engine;
use crate::propagate::Sink;
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Weak};

pub const READONLY: &str = "READONLY You can't write against a read only replica.";
pub const MASTERDOWN: &str = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

/// Where the link to the master stands (Valkey's `repl_state`, as INFO and ROLE name it).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Phase {
    /// Not connected; the link will (re)connect.
    #[default]
    Connect,
    /// Connecting or in the handshake.
    Connecting,
    /// Receiving the master's RDB.
    Sync,
    /// Streaming the master's writes.
    Connected,
}

impl Phase {
    /// ROLE's name for it.
    pub fn role_name(self) -> &'static str {
        match self {
            Phase::Connect => "connect",
            Phase::Connecting => "connecting",
            Phase::Sync => "sync",
            Phase::Connected => "connected",
        }
    }
}

#[derive(Clone, Default, Debug)]
pub struct LinkState {
    /// Bumped by every REPLICAOF that changes the master.
    pub generation: u64,
    /// The master followed (`None`: this server is a master).
    pub master: Option<(String, u16)>,
    pub phase: Phase,
    /// When the link last read from the master (ms).
    pub last_io_ms: u64,
    /// Bytes of the master's stream applied (the offset acknowledged to it).
    pub offset: u64,
    /// When the link went down (ms), for `master_link_down_since_seconds`.
    pub down_since_ms: u64,
}

#[derive(Default)]
pub struct ReplicaRole {
    replica: AtomicBool,
    link_up: AtomicBool,
    state: Mutex<LinkState>,
    changed: Condvar,
    /// This server's own replicas (SYNC connections), with when each last spoke (ms).
    replicas: Mutex<Vec<(Weak<Sink>, u64)>>,
}

impl ReplicaRole {
    /// Whether this server follows a master (one relaxed load: checked for every command).
    #[inline]
    pub fn is_replica(&self) -> bool {
        self.replica.load(Relaxed)
    }

    pub fn link_up(&self) -> bool {
        self.link_up.load(Relaxed)
    }

    pub fn state(&self) -> LinkState {
        self.state.lock().clone()
    }

    /// Follows `master` (`None`: becomes a master). Returns false when nothing changes (the
    /// same master again, or NO ONE on a master).
    pub fn set_master(&self, master: Option<(String, u16)>) -> bool {
        let mut s = self.state.lock();
        if s.master == master {
            return false;
        }
        s.generation += 1;
        s.master = master;
        s.phase = Phase::Connect;
        s.offset = 0;
        s.down_since_ms = crate::util::now_ms();
        self.replica.store(s.master.is_some(), Relaxed);
        self.link_up.store(false, Relaxed);
        self.changed.notify_all();
        true
    }

    /// Waits until the generation differs from `seen` and returns the new state.
    pub fn wait_change(&self, seen: u64) -> LinkState {
        let mut s = self.state.lock();
        while s.generation == seen {
            self.changed.wait(&mut s);
        }
        s.clone()
    }

    /// Whether `generation` is still the current one (the link stops otherwise).
    pub fn is_current(&self, generation: u64) -> bool {
        self.state.lock().generation == generation
    }

    /// Updates the link's state if `generation` is current; returns whether it was.
    pub fn update(&self, generation: u64, f: impl FnOnce(&mut LinkState)) -> bool {
        let mut s = self.state.lock();
        if s.generation != generation {
            return false;
        }
        f(&mut s);
        let up = s.phase == Phase::Connected;
        if !up && self.link_up.load(Relaxed) {
            s.down_since_ms = crate::util::now_ms();
        }
        self.link_up.store(up, Relaxed);
        true
    }

    /// Registers a replica of this server (SYNC).
    pub fn add_replica(&self, sink: &Arc<Sink>) {
        let mut r = self.replicas.lock();
        r.retain(|(w, _)| live(w));
        r.push((Arc::downgrade(sink), crate::util::now_ms()));
    }

    /// A replica sent something (its REPLCONF ACK, once a second): it counts as good for
    /// `min-replicas-max-lag` seconds from now.
    pub fn acked(&self, sink: &Sink) {
        let now = crate::util::now_ms();
        for (w, at) in self.replicas.lock().iter_mut() {
            if std::ptr::eq(w.as_ptr(), sink) {
                *at = now;
            }
        }
    }

    /// Replicas attached and still streaming.
    pub fn replica_count(&self) -> usize {
        self.replicas.lock().iter().filter(|(w, _)| live(w)).count()
    }

    /// Replicas heard from within `max_lag_secs` (Valkey's good replicas).
    pub fn good_replicas(&self, max_lag_secs: u64) -> u64 {
        let now = crate::util::now_ms();
        let fresh = |at: u64| now.saturating_sub(at) <= max_lag_secs * 1000;
        self.replicas.lock().iter().filter(|(w, at)| live(w) && fresh(*at)).count() as u64
    }

    /// Disconnects this server's replicas (its data is about to follow another master).
    pub fn disconnect_replicas(&self) {
        for (w, _) in self.replicas.lock().drain(..) {
            if let Some(s) = w.upgrade() {
                s.close();
            }
        }
    }
}

fn live(w: &Weak<Sink>) -> bool {
    w.upgrade().is_some_and(|s| !s.is_closed())
}

/// On a master with `min-replicas-to-write` and `min-replicas-max-lag` set, writes (and EXEC
/// of a transaction with writes) are refused while fewer replicas than that were heard from
/// within the lag (Valkey's `checkGoodReplicasStatus`).
pub fn too_few_replicas(engine: &Engine, client: &Client, cmd: &Resolved, argv: &[&[u8]]) -> bool {
    too_few_good_replicas(engine) && crate::exec::effective_flags(engine, client, cmd, argv).0 & flags::WRITE != 0
}

/// `min-replicas-to-write` is set and not met (Valkey's `checkGoodReplicasStatus` failing).
pub fn too_few_good_replicas(engine: &Engine) -> bool {
    let hot = &engine.config.hot;
    let (min, lag) = (hot.min_replicas_to_write.load(Relaxed), hot.min_replicas_max_lag.load(Relaxed));
    min > 0 && lag > 0 && !engine.replica.is_replica() && engine.replica.good_replicas(lag) < min
}

pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";

/// The refusal a command gets on a replica, if any (Valkey's `processCommand`): writes from
/// clients other than the master get READONLY (`replica-read-only`), and while the link is
/// down with `replica-serve-stale-data no`, commands not flagged `stale` get MASTERDOWN. For
/// EXEC the queued commands decide.
pub fn refusal(engine: &Engine, client: &Client, cmd: &Resolved, argv: &[&[u8]]) -> Option<Error> {
    let role = &engine.replica;
    if client.obey {
        return None;
    }
    let (any, all) = crate::exec::effective_flags(engine, client, cmd, argv);
    if any & flags::WRITE != 0 && engine.config.get_bool("replica-read-only") {
        return Some(Error::coded_static(READONLY));
    }
    if !role.link_up() && all & flags::STALE == 0 && !engine.config.get_bool("replica-serve-stale-data") {
        return Some(Error::coded_static(MASTERDOWN));
    }
    None
}

/// Full synchronisation: replaces the whole dataset (keys and function libraries) with the
/// master's RDB `payload`, under every shard lock, as one step for clients. Watched keys are
/// touched and tracking clients invalidated as by FLUSHALL. With the AOF on, a rewrite then
/// starts, since the AOF holds none of what was loaded (Valkey restarts its AOF the same way).
/// Returns the number of keys loaded.
pub fn load_full_sync(engine: &Engine, payload: &[u8], master: &str) -> Result<u64, String> {
    let mut keys = crate::persist::lock_all(engine);
    engine.tracking.invalidate_all(engine);
    for db in 0..engine.keyspace.databases() {
        for shard in keys.shards(db) {
            let old = shard.take();
            engine.lazy_free_shard(old);
        }
    }
    engine.scripting.flush_functions();
    let what = format!("from MASTER {master}");
    let mut loading = crate::loading::Loading::start(engine, payload.len() as u64, crate::loading::LoadKind::Holding);
    let report = crate::persist::load_into(
        engine,
        &mut keys,
        payload,
        &what,
        payload.len() as u64,
        crate::persist::Merge::Refuse,
        &mut loading,
    )?;
    drop(loading);
    if engine.aof.is_on() {
        let _ = crate::aof::bgrewriteaof(engine, &mut keys);
    }
    Ok(report.keys_loaded)
}
