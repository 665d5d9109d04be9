//! The engine's view of this process: allocator statistics, the log, shutdown requests.

use crate::listener::Listeners;
use engine::engine::{Host, LogLevel, MemoryStats, ShutdownRequest};
use std::sync::atomic::{AtomicU16, Ordering::Relaxed};
use std::sync::Arc;
use tokio::sync::watch;

pub struct ServerHost {
    pub shutdown_tx: watch::Sender<Option<ShutdownRequest>>,
    pub port: AtomicU16,
    pub workers: usize,
    pub listeners: Arc<Listeners>,
}

/// jemalloc's "all arenas" index (`MALLCTL_ARENAS_ALL`).
const ARENAS_ALL: u32 = 4096;

/// Reads a numeric jemalloc statistic by name; 0 if jemalloc does not know it.
fn mallctl<T: Copy + Default>(name: &str) -> T {
    let mut key = name.as_bytes().to_vec();
    key.push(0);
    // SAFETY: the name is NUL-terminated and every statistic read here has type `T` in
    // jemalloc's mallctl namespace (size_t, unsigned or uint32_t, as documented).
    unsafe { tikv_jemalloc_ctl::raw::read::<T>(&key) }.unwrap_or_default()
}

/// Free space in partly used small-size slabs: the allocator's external fragmentation, as
/// Valkey computes `allocator_frag_bytes`.
fn frag_smallbins() -> u64 {
    let nbins: u32 = mallctl("arenas.nbins");
    let mut frag = 0u64;
    for j in 0..nbins {
        let reg_size: usize = mallctl(&format!("arenas.bin.{j}.size"));
        let nregs: u32 = mallctl(&format!("arenas.bin.{j}.nregs"));
        let curregs: usize = mallctl(&format!("stats.arenas.{ARENAS_ALL}.bins.{j}.curregs"));
        let curslabs: usize = mallctl(&format!("stats.arenas.{ARENAS_ALL}.bins.{j}.curslabs"));
        let free_regs = (nregs as u64 * curslabs as u64).saturating_sub(curregs as u64);
        frag += free_regs * reg_size as u64;
    }
    frag
}

/// Bytes freed by the program but kept in jemalloc's thread caches, which `stats.allocated`
/// still counts (as of the last `epoch` refresh).
fn tcache_bytes() -> u64 {
    let cached: usize = mallctl(&format!("stats.arenas.{ARENAS_ALL}.tcache_bytes"));
    let stashed: usize = mallctl(&format!("stats.arenas.{ARENAS_ALL}.tcache_stashed_bytes"));
    (cached + stashed) as u64
}

/// jemalloc's statistics report, as `malloc_stats_print` writes it.
fn jemalloc_report() -> String {
    unsafe extern "C" fn append(opaque: *mut libc::c_void, text: *const libc::c_char) {
        // SAFETY: `opaque` is the `String` passed below, alive for the whole call; jemalloc
        // hands a NUL-terminated string.
        unsafe {
            let out = &mut *(opaque as *mut String);
            out.push_str(&std::ffi::CStr::from_ptr(text).to_string_lossy());
        }
    }
    let mut out = String::new();
    // SAFETY: the callback only appends to `out`, which outlives the call; null options mean
    // the default report.
    unsafe {
        tikv_jemalloc_sys::malloc_stats_print(
            Some(append),
            &mut out as *mut String as *mut libc::c_void,
            std::ptr::null(),
        )
    };
    out
}

impl Host for ServerHost {
    fn malloc_stats(&self) -> Option<String> {
        Some(jemalloc_report())
    }

    fn purge(&self) -> bool {
        let name = format!("arena.{ARENAS_ALL}.purge\0");
        // SAFETY: a void mallctl (no old or new value) on a NUL-terminated name.
        let rc = unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr().cast(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            )
        };
        rc == 0
    }

    fn memory(&self) -> MemoryStats {
        use tikv_jemalloc_ctl::{epoch, stats};
        let _ = epoch::advance();
        let page: usize = mallctl("arenas.page");
        let pmuzzy: usize = mallctl(&format!("stats.arenas.{ARENAS_ALL}.pmuzzy"));
        let allocated = stats::allocated::read().unwrap_or(0) as u64;
        MemoryStats {
            used: allocated.saturating_sub(tcache_bytes()),
            allocated,
            active: stats::active::read().unwrap_or(0) as u64,
            resident: stats::resident::read().unwrap_or(0) as u64,
            retained: stats::retained::read().unwrap_or(0) as u64,
            muzzy: pmuzzy as u64 * page as u64,
            frag_smallbins: frag_smallbins(),
            rss: rss_bytes(),
        }
    }

    fn allocated(&self) -> Option<u64> {
        use tikv_jemalloc_ctl::{epoch, stats};
        epoch::advance().ok()?;
        let allocated = stats::allocated::read().ok()? as u64;
        Some(allocated.saturating_sub(tcache_bytes()))
    }

    fn shutdown(&self, req: ShutdownRequest) -> Result<(), String> {
        self.shutdown_tx.send_replace(Some(req));
        Ok(())
    }

    fn tcp_port(&self) -> u16 {
        self.port.load(Relaxed)
    }

    fn listen(&self, port: u16, bind: &str) -> Result<(), String> {
        self.listeners.rebind(port, bind)?;
        self.port.store(port, Relaxed);
        Ok(())
    }

    fn worker_threads(&self) -> usize {
        self.workers
    }

    fn log(&self, level: LogLevel, msg: &str) {
        let level = match level {
            LogLevel::Debug => crate::log::DEBUG,
            LogLevel::Verbose => crate::log::VERBOSE,
            LogLevel::Notice => crate::log::NOTICE,
            LogLevel::Warning => crate::log::WARNING,
        };
        crate::log::log(level, msg);
    }

    fn allocator(&self) -> String {
        // "5.3.0-0-g54eaed1..." → "jemalloc-5.3.0", as Valkey prints it.
        let v = tikv_jemalloc_ctl::version::read().unwrap_or("unknown");
        format!("jemalloc-{}", v.split('-').next().unwrap_or(v))
    }

    fn executable(&self) -> String {
        std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default()
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

/// The calling thread's bytes allocated minus bytes freed (wrapping), from jemalloc's
/// per-thread counters: two loads through pointers cached per thread. Installed as the
/// engine's memory probe (`engine::evict::meter`).
pub fn thread_balance() -> u64 {
    use tikv_jemalloc_ctl::thread::{allocatedp, deallocatedp, ThreadLocal};
    thread_local! {
        static COUNTERS: Option<(ThreadLocal<u64>, ThreadLocal<u64>)> =
            allocatedp::read().ok().zip(deallocatedp::read().ok());
    }
    COUNTERS.with(|c| c.map_or(0, |(a, d)| a.get().wrapping_sub(d.get())))
}
