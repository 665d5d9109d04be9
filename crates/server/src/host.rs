//! The engine's view of this process: allocator statistics and shutdown requests.

use engine::engine::{Host, MemoryStats, ShutdownRequest};
use std::sync::atomic::{AtomicU16, Ordering::Relaxed};
use tokio::sync::watch;

pub struct ServerHost {
    pub shutdown_tx: watch::Sender<Option<ShutdownRequest>>,
    pub port: AtomicU16,
    pub workers: usize,
}

impl Host for ServerHost {
    fn memory(&self) -> MemoryStats {
        use tikv_jemalloc_ctl::{epoch, stats};
        let _ = epoch::advance();
        MemoryStats {
            allocated: stats::allocated::read().unwrap_or(0) as u64,
            active: stats::active::read().unwrap_or(0) as u64,
            resident: stats::resident::read().unwrap_or(0) as u64,
            retained: stats::retained::read().unwrap_or(0) as u64,
            rss: rss_bytes(),
        }
    }

    fn shutdown(&self, req: ShutdownRequest) -> Result<(), String> {
        self.shutdown_tx.send_replace(Some(req));
        Ok(())
    }

    fn tcp_port(&self) -> u16 {
        self.port.load(Relaxed)
    }

    fn worker_threads(&self) -> usize {
        self.workers
    }
}

/// Resident set size from /proc/self/statm.
fn rss_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else { return 0 };
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    pages * page
}
