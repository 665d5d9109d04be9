//! Logging in Valkey's format and levels: `pid:M 21 Nov 2026 23:19:56.714 * message`, to the
//! `logfile` (or stdout when it is empty), filtered by `loglevel`.

use parking_lot::Mutex;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::OnceLock;

pub const DEBUG: u32 = 0;
pub const VERBOSE: u32 = 1;
pub const NOTICE: u32 = 2;
pub const WARNING: u32 = 3;

struct Logger {
    file: Mutex<Option<std::fs::File>>,
    /// Points at the engine's live `loglevel` so CONFIG SET takes effect at once.
    level: &'static AtomicU32,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();
static DEFAULT_LEVEL: AtomicU32 = AtomicU32::new(NOTICE);

/// Directs logging to `path` (stdout if empty), filtered by `level`.
pub fn init(path: &str, level: &'static AtomicU32) -> std::io::Result<()> {
    let file =
        if path.is_empty() { None } else { Some(std::fs::OpenOptions::new().create(true).append(true).open(path)?) };
    let _ = LOGGER.set(Logger { file: Mutex::new(file), level });
    Ok(())
}

fn timestamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r writes into the provided struct; strftime writes at most buf.len().
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        let mut buf = [0u8; 64];
        let n = libc::strftime(buf.as_mut_ptr() as *mut libc::c_char, buf.len(), c"%d %b %Y %H:%M:%S".as_ptr(), &tm);
        format!("{}.{:03}", String::from_utf8_lossy(&buf[..n]), now.subsec_millis())
    }
}

pub fn log(level: u32, msg: &str) {
    let logger = LOGGER.get();
    let threshold = logger.map_or(DEFAULT_LEVEL.load(Relaxed), |l| l.level.load(Relaxed));
    if level < threshold {
        return;
    }
    let mark = match level {
        DEBUG => '.',
        VERBOSE => '-',
        NOTICE => '*',
        _ => '#',
    };
    let line = format!("{}:M {} {} {}\n", std::process::id(), timestamp(), mark, msg);
    match logger.map(|l| l.file.lock()) {
        Some(mut guard) if guard.is_some() => {
            if let Some(f) = guard.as_mut() {
                let _ = f.write_all(line.as_bytes());
            }
        }
        _ => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }
}

macro_rules! notice {
    ($($arg:tt)*) => { $crate::log::log($crate::log::NOTICE, &format!($($arg)*)) };
}
macro_rules! warning {
    ($($arg:tt)*) => { $crate::log::log($crate::log::WARNING, &format!($($arg)*)) };
}
macro_rules! verbose {
    ($($arg:tt)*) => { $crate::log::log($crate::log::VERBOSE, &format!($($arg)*)) };
}
pub(crate) use {notice, verbose, warning};
