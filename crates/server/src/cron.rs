//! The cron thread: periodic background work at `hz` times per second — the active expiry
//! cycle, incremental rehashing, and sampling for INFO (instantaneous rates, peak memory). It
//! runs on its own thread so that the worker threads only ever run client commands, and it
//! locks one shard at a time.

use engine::expire::{rehash_cycle, run_cycle, ExpireCursor};
use engine::Engine;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

pub struct Cron {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Cron {
    pub fn stop(mut self) {
        self.stop.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How often INFO's samples are taken (Valkey: every 100 ms).
const SAMPLE_PERIOD_MS: u64 = 100;

fn tick(engine: &Engine, cursor: &mut ExpireCursor, last_sample_ms: &mut u64) {
    // A CLIENT PAUSE also pauses expiry (Valkey's PAUSE_ACTION_EXPIRE).
    if !engine.pause.is_paused() {
        run_cycle(engine, cursor);
        engine.expired_stale_perc.store(cursor.stale_perc.to_bits(), Relaxed);
    }
    // Keys the cycle expired under BCAST prefixes are announced now.
    if engine.tracking.active() {
        engine.tracking.broadcast(engine);
    }
    // Save points and scheduled background saves.
    engine::persist::cron(engine);
    // Keeps the memory figure eviction uses exact, and goes on evicting while over
    // `maxmemory` (Valkey's eviction time event), for at most a quarter of the tick.
    let hz = u64::from(engine.config.hot.hz.load(Relaxed).max(1));
    engine::evict::cron(engine, Duration::from_micros(250_000 / hz));
    // Scheduled and automatic AOF rewrites.
    engine::aof::cron(engine);
    if engine.config.get_bool("activerehashing") {
        rehash_cycle(engine, 100);
    }
    let now = engine::util::now_ms();
    if now.saturating_sub(*last_sample_ms) >= SAMPLE_PERIOD_MS {
        *last_sample_ms = now;
        engine.stats.sample_instantaneous(now);
        // Client eviction also for clients that are idle while their memory changes (pushes
        // queued for them) and after `maxmemory-clients` is lowered.
        engine.evict_clients(None);
        // Records the peak of used memory.
        let _ = engine.memory();
    }
}

pub fn start(engine: Arc<Engine>) -> Cron {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("kvasir-cron".into())
        .spawn(move || {
            let mut cursor = ExpireCursor::default();
            let mut last_sample_ms = 0;
            while !flag.load(Relaxed) {
                let hz = engine.config.hot.hz.load(Relaxed).max(1);
                // DEBUG PAUSE-CRON stops the periodic work, as in Valkey.
                if !engine.cron_paused.load(Relaxed) {
                    tick(&engine, &mut cursor, &mut last_sample_ms);
                }
                std::thread::sleep(Duration::from_millis(1000 / u64::from(hz)));
            }
        })
        .expect("cannot start the cron thread");
    Cron { stop, thread: Some(thread) }
}
