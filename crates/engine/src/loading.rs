//! The loading state: Valkey's `startLoading` ... `stopLoading`. While a dataset loads (the RDB
//! file or the AOF at startup, DEBUG RELOAD, DEBUG LOADAOF, a replica's full sync), INFO
//! persistence says `loading:1` with the progress, and the dispatcher answers every command not
//! flagged `loading` with `-LOADING` (one relaxed load per command otherwise).
//!
//! The loader holds every shard lock. At startup, when clients are already connected, the
//! commands allowed during a load (INFO, WATCH, DEBUG OBJECT ...) count themselves as
//! *visitors* while they run; every `loading-process-events-interval-bytes` of the file
//! (Valkey's `processEventsWhileBlocked`) the loader looks at the count and, if anyone is
//! there, gives its shards back and waits for the visitors to be done before taking them
//! again. Nobody there costs one relaxed load per interval. The other loads keep their locks
//! to the end: they run inside a command (or the replica link), and a command that passed the
//! loading check just before the load began may be waiting for those very locks.

use crate::db::Keys;
use crate::engine::Engine;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Valkey's reply to commands not allowed while loading.
pub const LOADING_ERR: &str = "LOADING Valkey is loading the dataset in memory";

/// What INFO persistence shows of the load in progress, and the flag the dispatcher reads.
#[derive(Default)]
pub struct LoadingState {
    active: AtomicBool,
    /// `loading_start_time`, seconds since the epoch.
    pub start_secs: AtomicU64,
    /// `loading_total_bytes`: the size of the file(s), 0 when unknown.
    pub total_bytes: AtomicU64,
    /// `loading_loaded_bytes`: how far the loader is.
    pub loaded_bytes: AtomicU64,
    /// `loading_rdb_used_mem`: the `used-mem` aux field of the RDB being loaded.
    pub rdb_used_mem: AtomicU64,
    /// Commands allowed while loading that are running now (or waiting for shards).
    visitors: AtomicUsize,
}

/// A command running while the dataset loads ([`LoadingState::visit`]); leaving when dropped.
pub struct Visit<'s>(&'s LoadingState);

impl Drop for Visit<'_> {
    fn drop(&mut self) {
        self.0.visitors.fetch_sub(1, Relaxed);
    }
}

/// How long a startup load waits, at one interval, for the commands that arrived to finish:
/// a stream of them cannot stop the load, only slow it down.
const MAX_VISIT_WAIT: Duration = Duration::from_millis(100);

impl LoadingState {
    /// Whether a load is in progress (`loading:1`).
    #[inline]
    pub fn is_active(&self) -> bool {
        self.active.load(Relaxed)
    }

    /// Raises the flag before the listeners open at startup, so that the first client
    /// already finds it; the startup sequence lowers it with [`LoadingState::finish`] once
    /// the data is loaded and the AOF is open. A startup load runs inside it.
    pub fn begin_startup(&self) {
        self.reset(0);
    }

    /// Counts a command allowed while loading as running until the guard is dropped.
    pub fn visit(&self) -> Visit<'_> {
        self.visitors.fetch_add(1, Relaxed);
        Visit(self)
    }

    /// Waits, shards released, until no visitor is left (or `MAX_VISIT_WAIT` has passed).
    fn let_visitors_through(&self) {
        let started = Instant::now();
        while self.visitors.load(Relaxed) > 0 && started.elapsed() < MAX_VISIT_WAIT {
            std::thread::sleep(Duration::from_micros(50));
        }
    }

    /// Lowers the flag (the end of a startup load; a [`Loading`] lowers it itself).
    pub fn finish(&self) {
        self.active.store(false, Relaxed);
    }

    fn reset(&self, total_bytes: u64) {
        self.start_secs.store(crate::util::now_ms() / 1000, Relaxed);
        self.total_bytes.store(total_bytes, Relaxed);
        self.loaded_bytes.store(0, Relaxed);
        self.rdb_used_mem.store(0, Relaxed);
        self.active.store(true, Relaxed);
    }

    /// The `loading_*` fields of INFO persistence, as Valkey computes them: the percentage
    /// and ETA against the file size, or against the RDB's `used-mem` when the size is not
    /// known (a diskless transfer), capped below 100%.
    pub fn info_fields(&self, now_secs: u64) -> Vec<(&'static str, String)> {
        let start = self.start_secs.load(Relaxed);
        let total = self.total_bytes.load(Relaxed);
        let used_mem = self.rdb_used_mem.load(Relaxed);
        let loaded = self.loaded_bytes.load(Relaxed);
        let (perc, remaining) = if total != 0 {
            (loaded as f64 * 100.0 / total as f64, total.saturating_sub(loaded))
        } else if used_mem != 0 {
            ((loaded as f64 * 100.0 / used_mem as f64).min(99.99), used_mem.saturating_sub(loaded).max(1))
        } else {
            (0.0, 1)
        };
        let elapsed = now_secs.saturating_sub(start);
        // No elapsed second yet: Valkey's made-up one-second figure.
        let eta = if elapsed == 0 { 1 } else { (elapsed as u128 * remaining as u128 / (loaded as u128 + 1)) as u64 };
        vec![
            ("loading_start_time", start.to_string()),
            ("loading_total_bytes", total.to_string()),
            ("loading_rdb_used_mem", used_mem.to_string()),
            ("loading_loaded_bytes", loaded.to_string()),
            ("loading_loaded_perc", format!("{perc:.2}")),
            ("loading_eta_seconds", eta.to_string()),
        ]
    }
}

/// How a load treats the shard locks its caller holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadKind {
    /// At startup: clients are connected and no command ran yet, so the locks are given back
    /// between keys for the commands allowed while loading. The flag stays up after the load
    /// until the startup sequence lowers it ([`LoadingState::finish`]).
    Startup,
    /// DEBUG RELOAD, DEBUG LOADAOF, a replica's full sync: the locks stay held to the end,
    /// and the flag goes down with the load.
    Holding,
}

/// One load in progress. Created when the load starts (with the total size when known),
/// told after every key or command how far it is ([`Loading::step`]), and ending the loading
/// state when dropped (unless [`LoadKind::Startup`]).
pub struct Loading<'e> {
    engine: &'e Engine,
    kind: LoadKind,
    /// Bytes of the files loaded before the current one (the AOF's base, earlier incr files).
    pub done_before: u64,
    /// `loading-process-events-interval-bytes`.
    interval: u64,
    /// Loaded bytes at which the locks are next given back (startup only).
    next_yield: u64,
    /// `key-load-delay`, microseconds per key (negative: 1 µs with probability 1/-n).
    delay_us: i64,
}

impl<'e> Loading<'e> {
    pub fn start(engine: &'e Engine, total_bytes: u64, kind: LoadKind) -> Loading<'e> {
        engine.persistence.loading.reset(total_bytes);
        engine.persistence.last_load_keys_loaded.store(0, Relaxed);
        engine.persistence.last_load_keys_expired.store(0, Relaxed);
        let mut l = Loading { engine, kind, done_before: 0, interval: 1, next_yield: 0, delay_us: 0 };
        l.read_config();
        l.next_yield = l.interval;
        l
    }

    /// The knobs a load reads, again at every yield so that CONFIG SET during a load counts.
    fn read_config(&mut self) {
        let config = &self.engine.config;
        self.interval = config.get_i64("loading-process-events-interval-bytes").max(1) as u64;
        self.delay_us = config.get_i64("key-load-delay");
    }

    /// Records the used-mem aux field of the RDB being loaded.
    pub fn rdb_used_mem(&self, bytes: u64) {
        self.engine.persistence.loading.rdb_used_mem.store(bytes, Relaxed);
    }

    /// After each key (RDB) or command (AOF): publishes the progress (`offset` bytes into the
    /// current file), applies `key-load-delay` and, at startup, once per interval of loaded
    /// bytes (and during every delay), lets the commands allowed while loading run.
    #[inline]
    pub fn step(&mut self, keys: &mut Keys<'_>, offset: u64) {
        let state = &self.engine.persistence.loading;
        let loaded = self.done_before + offset;
        state.loaded_bytes.store(loaded, Relaxed);
        let delay = match self.delay_us {
            0 => None,
            n if n > 0 => Some(Duration::from_micros(n as u64)),
            n => (fastrand::u64(..n.unsigned_abs()) == 0).then_some(Duration::from_micros(1)),
        };
        if self.kind != LoadKind::Startup {
            if let Some(d) = delay {
                std::thread::sleep(d);
            }
            return;
        }
        let due = loaded >= self.next_yield;
        if due {
            self.next_yield = (loaded / self.interval + 1).saturating_mul(self.interval);
            self.read_config();
        }
        if delay.is_some() || (due && state.visitors.load(Relaxed) > 0) {
            keys.yield_locks(|| {
                if let Some(d) = delay {
                    std::thread::sleep(d);
                }
                state.let_visitors_through();
            });
        }
    }
}

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        if self.kind == LoadKind::Holding {
            self.engine.persistence.loading.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(s: &LoadingState, now: u64) -> Vec<(&'static str, String)> {
        s.info_fields(now)
    }

    fn field(f: &[(&'static str, String)], name: &str) -> String {
        f.iter().find(|(n, _)| *n == name).unwrap().1.clone()
    }

    #[test]
    fn percentage_and_eta_as_valkey_computes_them() {
        let s = LoadingState::default();
        s.start_secs.store(1000, Relaxed);
        s.total_bytes.store(1000, Relaxed);
        s.loaded_bytes.store(250, Relaxed);
        let f = fields(&s, 1000);
        assert_eq!(field(&f, "loading_loaded_perc"), "25.00");
        // No second elapsed yet: 1.
        assert_eq!(field(&f, "loading_eta_seconds"), "1");
        // 10 s for 250 bytes, 750 to go: 10 * 750 / 251 = 29.
        let f = fields(&s, 1010);
        assert_eq!(field(&f, "loading_eta_seconds"), "29");
        assert_eq!(field(&f, "loading_start_time"), "1000");
        assert_eq!(field(&f, "loading_total_bytes"), "1000");
        assert_eq!(field(&f, "loading_loaded_bytes"), "250");
        // Unknown size: against used-mem, capped at 99.99%.
        s.total_bytes.store(0, Relaxed);
        s.rdb_used_mem.store(200, Relaxed);
        let f = fields(&s, 1010);
        assert_eq!(field(&f, "loading_loaded_perc"), "99.99");
        assert_eq!(field(&f, "loading_eta_seconds"), "0");
        // Nothing known at all.
        s.rdb_used_mem.store(0, Relaxed);
        assert_eq!(field(&fields(&s, 1010), "loading_loaded_perc"), "0.00");
    }

    mod dispatch {
        use crate::engine::Engine;
        use crate::exec::tests::{client, run};

        const LOADING: &str = "-LOADING Valkey is loading the dataset in memory\r\n";

        #[test]
        fn only_commands_flagged_loading_run_while_loading() {
            let e = Engine::for_tests();
            let mut c = client(&e);
            run(&e, &mut c, &["set", "k", "v"]);
            e.persistence.loading.begin_startup();
            for cmd in [
                &["get", "k"][..],
                &["ping"],
                &["set", "k", "w"],
                &["dbsize"],
                &["del", "k"],
                &["eval", "return 1", "0"],
            ] {
                assert_eq!(run(&e, &mut c, cmd), LOADING, "{cmd:?}");
            }
            // Allowed: flagged `loading` in Valkey's command table.
            assert_eq!(run(&e, &mut c, &["echo", "hi"]), "$2\r\nhi\r\n");
            assert_eq!(run(&e, &mut c, &["select", "2"]), "+OK\r\n");
            assert_eq!(run(&e, &mut c, &["client", "setname", "me"]), "+OK\r\n");
            assert!(run(&e, &mut c, &["hello", "3"]).contains("valkey"));
            assert!(run(&e, &mut c, &["info", "persistence"]).contains("loading:1\r\nasync_loading:0\r\n"));
            assert!(run(&e, &mut c, &["info", "persistence"]).contains("loading_eta_seconds:"));
            assert!(run(&e, &mut c, &["publish", "ch", "m"]).starts_with(':'));
            // Every command that ran left (the loader waits for visitors).
            assert_eq!(e.persistence.loading.visitors.load(super::Relaxed), 0);
            // Refusals are counted as Valkey counts them.
            let stats = run(&e, &mut c, &["info", "errorstats"]);
            assert!(stats.contains("errorstat_LOADING:count=6"), "{stats}");
            e.persistence.loading.finish();
            run(&e, &mut c, &["select", "0"]);
            assert_eq!(run(&e, &mut c, &["get", "k"]), "$1\r\nv\r\n");
            let info = run(&e, &mut c, &["info", "persistence"]);
            assert!(info.contains("loading:0\r\n") && !info.contains("loading_eta_seconds"), "{info}");
        }

        #[test]
        fn noauth_comes_before_loading() {
            let e = Engine::for_tests();
            let mut c = client(&e);
            run(&e, &mut c, &["config", "set", "requirepass", "pw"]);
            let mut stranger = crate::client::Client::new(e.clients.register("a".into(), "b".into(), -1), false);
            e.persistence.loading.begin_startup();
            assert!(run(&e, &mut stranger, &["get", "k"]).starts_with("-NOAUTH"));
            assert_eq!(run(&e, &mut stranger, &["auth", "pw"]), "+OK\r\n");
            assert_eq!(run(&e, &mut stranger, &["get", "k"]), LOADING);
        }

        #[test]
        fn transactions_while_loading() {
            let e = Engine::for_tests();
            let mut c = client(&e);
            e.persistence.loading.begin_startup();
            // A refused command is not queued: EXEC aborts.
            run(&e, &mut c, &["multi"]);
            assert_eq!(run(&e, &mut c, &["get", "k"]), LOADING);
            assert!(
                run(&e, &mut c, &["exec"]).starts_with("-EXECABORT Transaction discarded because of previous errors")
            );
            // Only commands allowed while loading: EXEC runs them.
            run(&e, &mut c, &["multi"]);
            assert_eq!(run(&e, &mut c, &["echo", "a"]), "+QUEUED\r\n");
            assert_eq!(run(&e, &mut c, &["exec"]), "*1\r\n$1\r\na\r\n");
            // A command queued before the load began: EXEC is refused and the transaction
            // discarded.
            e.persistence.loading.finish();
            run(&e, &mut c, &["multi"]);
            assert_eq!(run(&e, &mut c, &["get", "k"]), "+QUEUED\r\n");
            e.persistence.loading.begin_startup();
            assert_eq!(
                run(&e, &mut c, &["exec"]),
                "-EXECABORT Transaction discarded because of: LOADING Valkey is loading the dataset in memory\r\n"
            );
            assert_eq!(run(&e, &mut c, &["exec"]), "-ERR EXEC without MULTI\r\n");
            // An empty transaction is allowed.
            run(&e, &mut c, &["multi"]);
            assert_eq!(run(&e, &mut c, &["exec"]), "*0\r\n");
        }

        #[test]
        fn config_set_refuses_what_valkey_denies_while_loading() {
            let e = Engine::for_tests();
            let mut c = client(&e);
            e.config.set("enable-protected-configs", &[b"yes"]).unwrap();
            e.persistence.loading.begin_startup();
            assert_eq!(run(&e, &mut c, &["config", "set", "dir", "/nonexistent"]), LOADING);
            assert_eq!(run(&e, &mut c, &["config", "set", "appendonly", "yes"]), LOADING);
            assert_eq!(run(&e, &mut c, &["config", "set", "repl-diskless-load", "swapdb"]), LOADING);
            // The whole CONFIG SET is refused, and the first problem wins.
            assert_eq!(run(&e, &mut c, &["config", "set", "hz", "20", "appendonly", "yes"]), LOADING);
            assert_eq!(run(&e, &mut c, &["config", "get", "hz"]), "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n");
            assert!(run(&e, &mut c, &["config", "set", "nosuch", "1", "appendonly", "yes"])
                .starts_with("-ERR Unknown option"));
            assert_eq!(run(&e, &mut c, &["config", "set", "loglevel", "debug"]), "+OK\r\n");
            assert_eq!(run(&e, &mut c, &["config", "get", "appendonly"]), "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
        }

        #[test]
        fn debug_commands_that_change_the_dataset_wait_for_the_load() {
            let e = Engine::for_tests();
            let mut c = client(&e);
            e.config.set("enable-debug-command", &[b"yes"]).unwrap();
            e.persistence.loading.begin_startup();
            for sub in [&["debug", "reload"][..], &["debug", "loadaof"], &["debug", "populate", "10"]] {
                assert_eq!(run(&e, &mut c, sub), LOADING, "{sub:?}");
            }
            assert_eq!(run(&e, &mut c, &["debug", "log", "hello"]), "+OK\r\n");
            e.persistence.loading.finish();
            assert_eq!(run(&e, &mut c, &["debug", "populate", "10"]), "+OK\r\n");
            assert_eq!(run(&e, &mut c, &["dbsize"]), ":10\r\n");
        }
    }

    #[test]
    fn a_load_publishes_its_progress_and_a_holding_load_ends_the_state() {
        let e = Engine::for_tests();
        let mut keys = crate::persist::lock_all(&e);
        {
            let mut l = Loading::start(&e, 5000, LoadKind::Holding);
            l.rdb_used_mem(77);
            assert!(e.persistence.loading.is_active());
            l.done_before = 1000;
            l.step(&mut keys, 234);
            let f = e.persistence.loading.info_fields(crate::util::now_ms() / 1000);
            assert_eq!(field(&f, "loading_loaded_bytes"), "1234");
            assert_eq!(field(&f, "loading_total_bytes"), "5000");
            assert_eq!(field(&f, "loading_rdb_used_mem"), "77");
        }
        assert!(!e.persistence.loading.is_active());
        // A startup load leaves the state to the startup sequence.
        e.persistence.loading.begin_startup();
        drop(Loading::start(&e, 10, LoadKind::Startup));
        assert!(e.persistence.loading.is_active());
        e.persistence.loading.finish();
        assert!(!e.persistence.loading.is_active());
    }

    #[test]
    fn a_startup_load_lets_visitors_run_at_each_interval() {
        use std::sync::atomic::AtomicUsize;
        let e = Engine::for_tests();
        e.config.set("loading-process-events-interval-bytes", &[b"1024"]).unwrap();
        let state = &e.persistence.loading;
        state.begin_startup();
        let mut keys = crate::persist::lock_all(&e);
        let mut l = Loading::start(&e, 1 << 20, LoadKind::Startup);
        let ran = AtomicUsize::new(0);
        std::thread::scope(|s| {
            let engine = &*e;
            let ran = &ran;
            s.spawn(move || {
                // What INFO keyspace does while loading: one shard at a time, as a visitor.
                let _visit = engine.persistence.loading.visit();
                engine.keyspace.with_shard(3, 17, |_| ());
                ran.store(1, Relaxed);
            });
            while state.visitors.load(Relaxed) == 0 {
                std::thread::yield_now();
            }
            // Below the interval, the shards stay held.
            l.step(&mut keys, 1000);
            std::thread::sleep(Duration::from_millis(50));
            assert_eq!(ran.load(Relaxed), 0);
            // At the interval the loader gives the shards back and waits for the visitor.
            l.step(&mut keys, 1100);
            assert_eq!(ran.load(Relaxed), 1);
        });
        // And the loader holds every shard again.
        assert!((0..e.keyspace.databases()).all(|db| keys.shards(db).count() == crate::keyspace::SHARDS));
        drop(l);
        state.finish();
    }
}
