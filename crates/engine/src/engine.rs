//! The engine: the keyspace plus everything shared by all connections (command table,
//! configuration, statistics, client registry). It has no sockets and no threads of its own
//! except the lazy-free thread; the server crate drives it, and tests can drive it directly.

use crate::client::ClientRegistry;
use crate::commands::table::CommandTable;
use crate::config::Config;
use crate::keyspace::shard::Shard;
use crate::keyspace::Keyspace;
use crate::stats::Stats;
use crate::types::Value;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc;
use std::sync::Arc;

/// Memory figures reported by the allocator (supplied by the server, which owns it).
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryStats {
    /// Bytes in use by the program: what the allocator handed out minus what sits freed in
    /// its thread caches (Valkey's `used_memory` counts allocations as the program makes them).
    pub used: u64,
    pub allocated: u64,
    pub active: u64,
    pub resident: u64,
    pub retained: u64,
    /// Dirty pages the allocator has released lazily but the OS has not reclaimed (jemalloc's
    /// `pmuzzy`), in bytes.
    pub muzzy: u64,
    /// Free space inside the allocator's small-size slabs (external fragmentation).
    pub frag_smallbins: u64,
    pub rss: u64,
}

/// Log levels, Valkey's (`loglevel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

/// How SHUTDOWN asked the server to stop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShutdownRequest {
    pub save: Option<bool>,
    pub now: bool,
    pub force: bool,
}

/// What the engine needs from the process that hosts it.
pub trait Host: Send + Sync {
    fn memory(&self) -> MemoryStats {
        MemoryStats::default()
    }

    /// Begins a shutdown; an `Err` is the error reply (e.g. a save failed).
    fn shutdown(&self, req: ShutdownRequest) -> Result<(), String>;

    /// The TCP port actually listened on.
    fn tcp_port(&self) -> u16 {
        0
    }

    /// Listens on `port` at the `bind` addresses instead of the current listeners (CONFIG SET
    /// port / bind). On `Err` (the reason, for the log) the previous listeners stay.
    fn listen(&self, _port: u16, _bind: &str) -> Result<(), String> {
        Ok(())
    }

    /// Number of worker threads serving clients.
    fn worker_threads(&self) -> usize {
        1
    }

    /// Writes a line to the server log (DEBUG LOG, SHUTDOWN, ...). The engine has no log of
    /// its own: it asks its host.
    fn log(&self, _level: LogLevel, _msg: &str) {}

    /// The allocator's name and version (`mem_allocator` in INFO).
    fn allocator(&self) -> String {
        "libc".to_string()
    }

    /// The absolute path of the running executable (`executable` in INFO).
    fn executable(&self) -> String {
        String::new()
    }

    /// The allocator's own statistics report (MEMORY MALLOC-STATS), if it has one.
    fn malloc_stats(&self) -> Option<String> {
        None
    }

    /// Asks the allocator to give dirty pages back to the OS (MEMORY PURGE); false if it
    /// failed.
    fn purge(&self) -> bool {
        true
    }

    /// Bytes in use by the program right now, exactly (`MemoryStats::used`, refreshed); `None`
    /// if the host cannot tell. Costs tens of microseconds: for the cron and
    /// CONFIG SET, not for every command.
    fn allocated(&self) -> Option<u64> {
        None
    }
}

/// A host that does nothing: for tests and embedded use.
pub struct NullHost;

impl Host for NullHost {
    fn shutdown(&self, _: ShutdownRequest) -> Result<(), String> {
        Err("ERR shutdown is not available in this embedding".into())
    }
}

/// Frees big values off the command path, on a thread of its own (Valkey's lazyfree).
struct LazyFree {
    tx: Mutex<mpsc::Sender<Box<dyn Send>>>,
    pending: Arc<AtomicU64>,
    freed: Arc<AtomicU64>,
}

impl LazyFree {
    fn start(meter: Arc<crate::evict::meter::Meter>) -> LazyFree {
        let (tx, rx) = mpsc::channel::<Box<dyn Send>>();
        let pending = Arc::new(AtomicU64::new(0));
        let freed = Arc::new(AtomicU64::new(0));
        let (p, f) = (pending.clone(), freed.clone());
        std::thread::Builder::new()
            .name("kvasir-lazyfree".into())
            .spawn(move || {
                for item in rx {
                    drop(item);
                    // What this thread frees counts against `maxmemory` at once.
                    meter.fold_all();
                    p.fetch_sub(1, Relaxed);
                    f.fetch_add(1, Relaxed);
                }
            })
            .expect("cannot start the lazy-free thread");
        LazyFree { tx: Mutex::new(tx), pending, freed }
    }

    fn free(&self, item: Box<dyn Send>) {
        self.pending.fetch_add(1, Relaxed);
        if let Err(mpsc::SendError(item)) = self.tx.lock().send(item) {
            drop(item);
            self.pending.fetch_sub(1, Relaxed);
        }
    }
}

pub struct Engine {
    pub keyspace: Keyspace,
    pub commands: CommandTable,
    pub config: Config,
    pub stats: Stats,
    pub clients: ClientRegistry,
    pub host: Box<dyn Host>,
    /// DEBUG SET-ACTIVE-EXPIRE.
    pub active_expire_enabled: AtomicBool,
    pub start_ms: u64,
    pub start_instant: std::time::Instant,
    pub run_id: String,
    /// RDB persistence state (`persist.rs`).
    pub persistence: crate::persist::Persistence,
    /// The append-only file (`aof/`).
    pub aof: crate::aof::Aof,
    /// This engine's own `Arc`, for work that outlives a command (the BGSAVE thread).
    me: std::sync::Weak<Engine>,
    /// A test engine's directory for its RDB file, removed with the engine.
    scratch_dir: Mutex<Option<std::path::PathBuf>>,
    pub pause: PauseState,
    /// Clients parked by blocking commands, for CLIENT UNBLOCK.
    pub blocked: BlockedClients,
    /// SLOWLOG's entries.
    pub slowlog: crate::slowlog::SlowLog,
    /// Clients in MONITOR mode.
    pub monitors: crate::monitor::Monitors,
    /// The stream of writes replicas consume.
    pub propagation: crate::propagate::Propagation,
    /// Pub/Sub subscriptions and delivery (keyspace events go out through it too).
    pub pubsub: crate::pubsub::Hub,
    /// Client-side caching: who may cache which keys.
    pub tracking: crate::tracking::Tracking,
    /// Lua scripting: the Lua state, the script cache, the running script.
    pub scripting: crate::scripting::Scripting,
    /// Allocated memory after startup (`used_memory_startup`), set by the host once started.
    pub memory_startup: AtomicU64,
    /// Highest allocated memory seen (`used_memory_peak`), updated by the cron and by INFO.
    pub memory_peak: AtomicU64,
    /// The replication IDs (`master_replid`, `master_replid2`); DEBUG CHANGE-REPL-ID renews
    /// the first.
    pub repl_ids: Mutex<ReplicationIds>,
    /// The replica role and the link to the master (`replica.rs`).
    pub replica: crate::replica::ReplicaRole,
    /// Running average share of expired keys among those the active expiry cycle sampled, as
    /// `f64` bits (`expired_stale_perc`); written by the cron.
    pub expired_stale_perc: AtomicU64,
    /// DEBUG PAUSE-CRON: the cron skips its work while set.
    pub cron_paused: AtomicBool,
    /// `maxmemory` eviction (`evict/`).
    pub evictor: crate::evict::Evictor,
    lazyfree: LazyFree,
}

/// Values whose freeing takes more allocations than this go to the lazy-free thread
/// (Valkey's `LAZYFREE_THRESHOLD`).
pub const LAZYFREE_THRESHOLD: usize = 64;

/// The replication IDs of this server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicationIds {
    pub id: String,
    pub id2: String,
}

impl ReplicationIds {
    /// A fresh random ID and no previous one (what a primary starts with).
    pub fn fresh() -> ReplicationIds {
        ReplicationIds { id: random_hex40(), id2: "0".repeat(40) }
    }

    /// A new history starts (a replica promoted by REPLICAOF NO ONE): the current ID becomes
    /// the previous one.
    pub fn shift(&mut self) {
        self.id2 = std::mem::replace(&mut self.id, random_hex40());
    }
}

/// 40 random hex digits (run IDs, replication IDs).
pub fn random_hex40() -> String {
    (0..40).filter_map(|_| char::from_digit(fastrand::u32(..16), 16)).collect()
}

/// Valkey's LRU clock resolution and width.
pub const LRU_CLOCK_RESOLUTION_MS: u64 = 1000;
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;

impl Engine {
    pub fn new(config: Config, host: Box<dyn Host>) -> Arc<Engine> {
        let databases = config.get_i64("databases").max(1) as usize;
        let commands = CommandTable::build();
        let stats = Stats::new(commands.len());
        let now = crate::util::now_ms();
        let evictor = crate::evict::Evictor::new(databases);
        let lazyfree = LazyFree::start(evictor.meter.clone());
        Arc::new_cyclic(|me| Engine {
            me: me.clone(),
            scratch_dir: Mutex::new(None),
            persistence: crate::persist::Persistence::new(now),
            aof: crate::aof::Aof::default(),
            keyspace: Keyspace::new(databases),
            commands,
            config,
            stats,
            clients: ClientRegistry::default(),
            host,
            active_expire_enabled: AtomicBool::new(true),
            start_ms: now,
            start_instant: std::time::Instant::now(),
            run_id: random_hex40(),
            pause: PauseState::default(),
            blocked: BlockedClients::default(),
            slowlog: Default::default(),
            monitors: Default::default(),
            propagation: Default::default(),
            pubsub: Default::default(),
            tracking: Default::default(),
            scripting: Default::default(),
            memory_startup: AtomicU64::new(0),
            memory_peak: AtomicU64::new(0),
            repl_ids: Mutex::new(ReplicationIds::fresh()),
            replica: Default::default(),
            expired_stale_perc: AtomicU64::new(0),
            cron_paused: AtomicBool::new(false),
            evictor,
            lazyfree,
        })
    }

    /// An engine with default configuration and no host, for tests and benchmarks.
    /// It has no save points, and its RDB file is in a directory of its own under the
    /// system's temporary directory, so tests never write into the working directory.
    pub fn for_tests() -> Arc<Engine> {
        static N: AtomicU64 = AtomicU64::new(0);
        static SWEEP: std::sync::Once = std::sync::Once::new();
        let config = Config::defaults();
        let root = std::env::temp_dir().join("kvasir-engine-tests");
        // Test processes cannot clean up after themselves; the next one removes the
        // directories of those no longer running.
        SWEEP.call_once(|| {
            for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
                let pid = entry.file_name();
                if !std::path::Path::new("/proc").join(&pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        });
        let dir = root.join(std::process::id().to_string()).join(N.fetch_add(1, Relaxed).to_string());
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("dump.rdb").display().to_string();
        config.set("dbfilename", &[file.as_bytes()]).expect("dbfilename");
        let aof_dir = dir.join("appendonlydir").display().to_string();
        config.set("appenddirname", &[aof_dir.as_bytes()]).expect("appenddirname");
        config.set("save", &[b""]).expect("save");
        let e = Engine::new(config, Box::new(NullHost));
        *e.scratch_dir.lock() = Some(dir);
        e
    }

    /// The engine's `Arc` (`None` while it is being dropped).
    pub fn arc(&self) -> Option<Arc<Engine>> {
        self.me.upgrade()
    }

    /// The LRU clock value for a time in ms.
    pub fn lru_clock_at(now_ms: u64) -> u32 {
        crate::evict::clock::lru_clock_at(now_ms)
    }

    pub fn notify_flags(&self) -> u32 {
        self.config.hot.notify_flags.load(Relaxed)
    }

    /// Drops a value, on the lazy-free thread if it is big enough to be worth it.
    pub fn lazy_free(&self, value: Value) {
        if value.free_effort() > LAZYFREE_THRESHOLD {
            self.lazyfree.free(Box::new(value));
        } else {
            drop(value);
        }
    }

    /// Hands a whole shard's former contents to the lazy-free thread (FLUSHALL ASYNC).
    pub fn lazy_free_shard(&self, shard: Shard) {
        if shard.is_empty() {
            return;
        }
        self.lazyfree.free(Box::new(shard));
    }

    pub fn lazyfree_pending(&self) -> u64 {
        self.lazyfree.pending.load(Relaxed)
    }

    pub fn lazyfreed_objects(&self) -> u64 {
        self.lazyfree.freed.load(Relaxed)
    }

    /// CONFIG RESETSTAT of the lazy-free counter.
    pub fn reset_lazyfree_stats(&self) {
        self.lazyfree.freed.store(0, Relaxed);
    }

    /// Logs through the host.
    pub fn log(&self, level: LogLevel, msg: &str) {
        self.host.log(level, msg);
    }

    /// Client eviction (`maxmemory-clients`) after `c`'s memory changed, or for every client
    /// (`None`, from the cron): logs and counts the clients it disconnects. False if `c` is
    /// one of them.
    pub fn evict_clients(&self, c: Option<&crate::client::ClientShared>) -> bool {
        let evicted = self.clients.evict_over_limit(c, self.config.hot.client_eviction_limit());
        if evicted.is_empty() {
            return true;
        }
        let hide = self.config.get_bool("hide-user-data-from-log");
        let now = crate::util::now_ms();
        for e in &evicted {
            let last = match e.last_cmd.load(std::sync::atomic::Ordering::Relaxed) {
                id if id > 0 && id - 1 < self.commands.len() => self.commands.get(id - 1).full_name.as_str(),
                _ => "NULL",
            };
            let mut line = String::new();
            e.write_info(&mut line, now, last, hide);
            self.log(LogLevel::Notice, &format!("Evicting client: {line}"));
        }
        self.stats.add(crate::stats::Counter::EvictedClients, evicted.len() as u64);
        c.is_none_or(|c| !c.killed.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Reads the allocator's figures and records a new peak.
    pub fn memory(&self) -> MemoryStats {
        let m = self.host.memory();
        self.memory_peak.fetch_max(m.used, Relaxed);
        m
    }

    /// Removes a finished waiter from the queues of all its keys (one shard lock at a time).
    pub fn unblock_cleanup(&self, waiter: &Arc<crate::blocking::Waiter>) {
        for key in &waiter.keys {
            let shard = crate::keyspace::shard_of(crate::keyspace::hash_key(key));
            self.keyspace.with_shard(waiter.db, shard, |s| s.waiters.remove(key, waiter));
        }
    }

    /// A blocked command that a writer served with an error reply (XREADGROUP whose group
    /// was destroyed): its call, counted when it blocked, becomes a failed one, and the error
    /// counts in errorstats, as Valkey counts it when the client is unblocked.
    pub fn blocked_command_failed(&self, client_id: u64, out: &mut resp::Reply) {
        if let Some(c) = self.clients.get(client_id) {
            if let Some(id) = c.last_cmd.load(Relaxed).checked_sub(1) {
                self.stats.local(|b| b.failed(id));
            }
        }
        for code in out.take_errors() {
            self.stats.record_error(&code);
        }
    }

    pub fn uptime_secs(&self) -> u64 {
        self.start_instant.elapsed().as_secs()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // (Not waiting for a background save: its thread may be the one dropping the last
        // reference.)
        if let Some(dir) = self.scratch_dir.get_mut().take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Clients waiting in a blocking command, by client id (CLIENT UNBLOCK finds them here).
#[derive(Default)]
pub struct BlockedClients {
    slots: Mutex<std::collections::HashMap<u64, Arc<crate::blocking::Slot>>>,
}

impl BlockedClients {
    pub fn register(&self, client_id: u64, slot: Arc<crate::blocking::Slot>) {
        self.slots.lock().insert(client_id, slot);
    }

    pub fn unregister(&self, client_id: u64, slot: &Arc<crate::blocking::Slot>) {
        let mut slots = self.slots.lock();
        if slots.get(&client_id).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            slots.remove(&client_id);
        }
    }

    /// CLIENT UNBLOCK: ends the wait of `client_id` as a timeout or with an error. False if it
    /// is not blocked (or was served meanwhile).
    pub fn unblock(&self, client_id: u64, with_error: bool) -> bool {
        let slot = self.slots.lock().get(&client_id).cloned();
        slot.is_some_and(|s| {
            s.finish(if with_error {
                crate::blocking::SlotState::UnblockedWithError
            } else {
                crate::blocking::SlotState::TimedOut
            })
        })
    }

    pub fn len(&self) -> usize {
        self.slots.lock().len()
    }

    /// Whether a writer has served `client_id` (or its wait timed out) and its connection has
    /// not woken up yet to send the reply. `blocked_clients` leaves such a client out, as
    /// Valkey does, which unblocks it on the spot: a test that blocks a second client right
    /// after the first was served must not see the first one still counted.
    pub fn is_finished(&self, client_id: u64) -> bool {
        self.slots.lock().get(&client_id).is_some_and(|s| !s.is_waiting())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// CLIENT PAUSE state.
#[derive(Default)]
pub struct PauseState {
    active: AtomicBool,
    inner: Mutex<Option<Pause>>,
}

#[derive(Clone, Copy, Debug)]
struct Pause {
    until_ms: u64,
    /// ALL (every command) rather than WRITE (only commands that may write).
    all: bool,
}

impl PauseState {
    /// Whether a command with these flags must wait.
    pub fn blocks(&self, cmd_flags: u32) -> bool {
        use crate::commands::table::flags;
        if !self.active.load(Relaxed) {
            return false;
        }
        let mut inner = self.inner.lock();
        match *inner {
            Some(p) if crate::util::now_ms() < p.until_ms => {
                p.all || cmd_flags & (flags::WRITE | flags::MAY_REPLICATE) != 0
            }
            _ => {
                *inner = None;
                self.active.store(false, Relaxed);
                false
            }
        }
    }

    /// Pauses until `until_ms`. A pause never shortens an existing one, and an ALL pause in
    /// effect is never weakened to WRITE (Valkey's `pauseClientsByClient`).
    pub fn pause(&self, until_ms: u64, all: bool) {
        let mut inner = self.inner.lock();
        let merged = match *inner {
            Some(p) if crate::util::now_ms() < p.until_ms => {
                Pause { until_ms: until_ms.max(p.until_ms), all: all || p.all }
            }
            _ => Pause { until_ms, all },
        };
        *inner = Some(merged);
        self.active.store(true, Relaxed);
    }

    pub fn unpause(&self) {
        *self.inner.lock() = None;
        self.active.store(false, Relaxed);
    }

    /// Whether any pause is in effect, cheaply (one relaxed load when none is): expired keys
    /// are then reported missing but not deleted, since deleting is a write.
    pub fn expiry_paused(&self) -> bool {
        self.active.load(Relaxed) && self.is_paused()
    }

    /// Whether any pause is in effect (the active expiry cycle stops meanwhile, as Valkey's
    /// pauses also pause expiry).
    pub fn is_paused(&self) -> bool {
        self.remaining_ms().is_some()
    }

    /// Milliseconds until the pause ends, if paused.
    pub fn remaining_ms(&self) -> Option<u64> {
        let p = (*self.inner.lock())?;
        p.until_ms.checked_sub(crate::util::now_ms()).filter(|ms| *ms > 0)
    }
}
