//! Worker threads: one single-threaded event loop per thread, connections pinned to one.
//!
//! Each worker runs its own tokio current-thread runtime with its own epoll instance. An
//! accepted connection is handed to the next worker (round robin) and registered with that
//! worker's reactor, so its readiness events, its task and its replies all stay on one
//! thread. Measured against a shared work-stealing runtime, this removes the cross-thread
//! wake-ups that cost ~15% at pipeline depth 1 (see ARCHITECTURE.md); commands still run in
//! parallel across workers, serialized only by shard locks.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use tokio::runtime::Handle;

/// Threads per worker that finish the scripts that ran long on it (one script runs at a
/// time, so one is enough), and how long an idle one is kept (each thread that runs
/// commands keeps its own statistics block, so they are not recycled).
const SCRIPT_THREADS: usize = 1;
const SCRIPT_THREAD_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

pub struct Workers {
    handles: Vec<Handle>,
    next: AtomicUsize,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Workers {
    /// Starts `n` worker threads, each with its own event loop.
    pub fn start(n: usize) -> Workers {
        let mut handles = Vec::with_capacity(n);
        let mut stops = Vec::with_capacity(n);
        let mut threads = Vec::with_capacity(n);
        for i in 0..n {
            let (handle_tx, handle_rx) = std::sync::mpsc::channel();
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            let thread = std::thread::Builder::new()
                .name(format!("kvasir-worker-{i}"))
                .spawn(move || {
                    // The blocking pool finishes the scripts (EVAL, FCALL) that ran long on
                    // this thread (see engine::scripting::inline), off the event loop.
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .max_blocking_threads(SCRIPT_THREADS)
                        .thread_keep_alive(SCRIPT_THREAD_KEEP_ALIVE)
                        .thread_name(format!("kvasir-script-{i}"))
                        .build()
                        .expect("cannot start a worker event loop");
                    let _ = handle_tx.send(rt.handle().clone());
                    rt.block_on(async {
                        let _ = stop_rx.await;
                    });
                    // Dropping the runtime drops the connections still open on it.
                    rt.shutdown_timeout(std::time::Duration::from_millis(200));
                })
                .expect("cannot start a worker thread");
            handles.push(handle_rx.recv().expect("worker thread started"));
            stops.push(stop_tx);
            threads.push(thread);
        }
        Workers { handles, next: AtomicUsize::new(0), stops, threads: Mutex::new(threads) }
    }

    /// The event loop the next connection goes to.
    pub fn next(&self) -> &Handle {
        &self.handles[self.next.fetch_add(1, Relaxed) % self.handles.len()]
    }

    /// Stops every event loop and waits for the threads.
    pub fn shutdown(self: Arc<Self>) {
        let Ok(mut me) = Arc::try_unwrap(self) else { return };
        for stop in me.stops.drain(..) {
            let _ = stop.send(());
        }
        for t in me.threads.get_mut().drain(..) {
            let _ = t.join();
        }
    }
}
