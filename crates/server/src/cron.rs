//! The cron thread: periodic background work at `hz` times per second — the active expiry
//! cycle and incremental rehashing. It runs on its own thread so that the worker threads only
//! ever run client commands, and it locks one shard at a time.

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

pub fn start(engine: Arc<Engine>) -> Cron {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("kvasir-cron".into())
        .spawn(move || {
            let mut cursor = ExpireCursor::default();
            while !flag.load(Relaxed) {
                let hz = engine.config.hot.hz.load(Relaxed).max(1);
                run_cycle(&engine, &mut cursor);
                if engine.config.get_bool("activerehashing") {
                    rehash_cycle(&engine, 100);
                }
                std::thread::sleep(Duration::from_millis(1000 / u64::from(hz)));
            }
        })
        .expect("cannot start the cron thread");
    Cron { stop, thread: Some(thread) }
}
