//! RDB persistence: saving the keyspace to `dir`/`dbfilename` (SAVE, BGSAVE, save points,
//! shutdown, FLUSHALL) and loading it back (startup, DEBUG RELOAD), with the state INFO
//! persistence reports. The file format is in `rdb/file.rs`.
//!
//! SAVE (and SHUTDOWN, FLUSHALL with save points, DEBUG RELOAD) writes the file while holding
//! every shard lock, which blocks the server as Valkey's SAVE does. BGSAVE (and save points)
//! starts a [`Snapshot`] under the locks ([`start_snapshot`], microseconds), releases them,
//! and a thread writes it ([`Snapshot::write_to`]) while clients keep writing: the file is the
//! keyspace as it was when BGSAVE ran (`snapshot.rs` says how; ARCHITECTURE.md has the
//! numbers). The replication snapshot of SYNC and the AOF rewrite's base image take the same
//! two calls.

use crate::db::Keys;
use crate::engine::{Engine, LogLevel};
use crate::keyspace::LockSet;
use crate::loading::{LoadKind, Loading, LoadingState};
use crate::rdb::file::{self, FileOptions, Item, LoadOptions, LoadReport, Out, Stamps};
pub use crate::snapshot::Snapshot;
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

/// Valkey's `CONFIG_BGSAVE_RETRY_DELAY`: after a failed background save, save points wait this
/// long before trying again.
const BGSAVE_RETRY_DELAY_SECS: u64 = 5;

/// A save failed; why was logged (Valkey replies a bare `-ERR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveFailed;

/// Persistence state (INFO persistence, LASTSAVE, save points).
pub struct Persistence {
    /// `Stats::dirty()` when the last successful save started.
    dirty_at_save: AtomicU64,
    /// Unix time of the last successful save (LASTSAVE), seconds.
    pub last_save_secs: AtomicU64,
    /// `rdb_saves`.
    pub saves: AtomicU64,
    /// `rdb_last_bgsave_status`: whether the last save (of any kind) succeeded.
    pub last_save_ok: AtomicBool,
    /// `rdb_last_bgsave_time_sec`, -1 before the first one.
    pub last_bgsave_secs: AtomicI64,
    /// Start of the background save in progress (ms), 0 when none.
    bgsave_started_ms: AtomicU64,
    /// When the last background save was tried (ms), for the retry delay.
    last_bgsave_try_ms: AtomicU64,
    /// BGSAVE SCHEDULE (or BGSAVE inside MULTI): start one when possible.
    pub bgsave_scheduled: AtomicBool,
    bgsave_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The load in progress, if any (`loading:1`, `-LOADING`).
    pub loading: LoadingState,
    pub last_load_keys_loaded: AtomicU64,
    pub last_load_keys_expired: AtomicU64,
    /// Keys in the save in progress and keys written so far (`current_save_keys_*`).
    pub save_keys_total: AtomicU64,
    pub save_keys_processed: AtomicU64,
    /// A snapshot is being taken (`snapshot.rs`: one at a time).
    pub(crate) snapshot_active: AtomicBool,
    /// Set by a synchronous save to make the background save in progress give up (Valkey
    /// kills its child): its file would be older than the one just saved.
    bgsave_cancel: std::sync::Arc<AtomicBool>,
    /// Held while renaming a file over `dbfilename`, so that a cancelled background save
    /// cannot rename its older image over a newer synchronous save.
    rename_lock: Mutex<()>,
}

impl Persistence {
    /// Whether a snapshot (BGSAVE, SYNC, AOF rewrite) is being taken.
    pub fn snapshot_in_progress(&self) -> bool {
        self.snapshot_active.load(Relaxed)
    }

    pub fn new(now_ms: u64) -> Persistence {
        Persistence {
            dirty_at_save: AtomicU64::new(0),
            last_save_secs: AtomicU64::new(now_ms / 1000),
            saves: AtomicU64::new(0),
            last_save_ok: AtomicBool::new(true),
            last_bgsave_secs: AtomicI64::new(-1),
            bgsave_started_ms: AtomicU64::new(0),
            last_bgsave_try_ms: AtomicU64::new(0),
            bgsave_scheduled: AtomicBool::new(false),
            bgsave_thread: Mutex::new(None),
            loading: LoadingState::default(),
            last_load_keys_loaded: AtomicU64::new(0),
            last_load_keys_expired: AtomicU64::new(0),
            save_keys_total: AtomicU64::new(0),
            save_keys_processed: AtomicU64::new(0),
            snapshot_active: AtomicBool::new(false),
            bgsave_cancel: std::sync::Arc::new(AtomicBool::new(false)),
            rename_lock: Mutex::new(()),
        }
    }

    /// Start of the background save in progress (ms since the epoch).
    pub fn bgsave_in_progress(&self) -> Option<u64> {
        Some(self.bgsave_started_ms.load(Relaxed)).filter(|&t| t != 0)
    }

    /// Waits for the background save in progress, if any, to finish.
    pub fn wait_bgsave(&self) {
        let t = self.bgsave_thread.lock().take();
        if let Some(t) = t {
            let _ = t.join();
        }
    }
}

impl Engine {
    /// `rdb_changes_since_last_save`.
    pub fn changes_since_save(&self) -> u64 {
        self.stats.dirty().saturating_sub(self.persistence.dirty_at_save.load(Relaxed))
    }

    /// Whether writes are refused because the last save failed (`stop-writes-on-bgsave-error`
    /// with save points configured, Valkey's `writeCommandsDeniedByDiskError`).
    pub fn writes_denied_by_disk_error(&self) -> bool {
        !self.persistence.last_save_ok.load(Relaxed)
            && self.config.get_bool("stop-writes-on-bgsave-error")
            && !save_points(&self.config.get("save")).is_empty()
    }
}

/// The `-MISCONF` error Valkey replies while writes are refused after a failed save.
pub const MISCONF: &str = "MISCONF Valkey is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Valkey logs for details about the RDB error.";

/// The `save` directive as (seconds, changes) pairs.
pub fn save_points(save: &str) -> Vec<(u64, u64)> {
    let words: Vec<u64> = save.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    words.chunks_exact(2).map(|c| (c[0], c[1])).collect()
}

/// The RDB file's path (relative to `dir`, which is the working directory).
pub fn rdb_path(engine: &Engine) -> PathBuf {
    PathBuf::from(engine.config.get("dbfilename"))
}

fn file_options(engine: &Engine, lru_clock: u32) -> FileOptions {
    let policy = engine.config.get("maxmemory-policy");
    FileOptions {
        version: file::DISK_RDB_VERSION,
        compress: engine.config.get_bool("rdbcompression"),
        checksum: engine.config.get_bool("rdbchecksum"),
        stamps: if policy.ends_with("-lru") {
            Some(Stamps::Lru { clock: lru_clock })
        } else if policy.ends_with("-lfu") {
            Some(Stamps::Lfu)
        } else {
            None
        },
    }
}

/// Locks every shard of every database (startup, cron, shutdown).
pub fn lock_all(engine: &Engine) -> Keys<'_> {
    let mut set = LockSet::new();
    for db in 0..engine.keyspace.databases() {
        set.add_db(db);
    }
    Keys::new(engine, crate::exec::lock_giving_way(engine, &set), 0, crate::util::now_ms(), false)
}

/// Serializes the whole keyspace into `w`. The caller holds every shard. Returns the writer
/// and the number of bytes.
pub fn write_rdb<W: std::io::Write>(engine: &Engine, keys: &mut Keys<'_>, w: W) -> std::io::Result<(W, u64)> {
    let opts = file_options(engine, keys.lru_clock());
    let p = &engine.persistence;
    let total: usize = (0..engine.keyspace.databases()).map(|db| keys.shards(db).map(|s| s.len()).sum::<usize>()).sum();
    p.save_keys_total.store(total as u64, Relaxed);
    p.save_keys_processed.store(0, Relaxed);
    let mut out = Out::new(w, opts.checksum);
    let used_mem = engine.memory().used;
    file::write_header(&mut out.buf, opts.version, &file::default_aux(used_mem, crate::util::now_ms() / 1000));
    for code in engine.scripting.library_codes() {
        file::write_function(&mut out.buf, &code);
    }
    for db in 0..engine.keyspace.databases() {
        let n = file::write_db(&mut out, keys, db, opts)?;
        p.save_keys_processed.fetch_add(n, Relaxed);
    }
    out.finish()
}

/// Starts a point-in-time snapshot of every database for a background writer: `keys` must
/// hold every shard of every database, and the snapshot is of this moment; the caller then
/// releases the locks and writes it with [`Snapshot::write_to`] from any thread. `version`
/// is the RDB version (`file::DISK_RDB_VERSION` for files, `rdb::RDB_VERSION` for replicas);
/// access stamps follow `maxmemory-policy` for files, none for replicas, as Valkey writes
/// them. `Err` while another snapshot is being taken (one at a time).
pub fn start_snapshot(engine: &Engine, keys: &mut Keys<'_>, version: u16) -> Result<Snapshot, crate::snapshot::Busy> {
    let mut opts = file_options(engine, keys.lru_clock());
    if version != opts.version {
        opts.version = version;
        opts.stamps = None;
    }
    let aux = file::default_aux(engine.memory().used, crate::util::now_ms() / 1000);
    let functions = engine.scripting.library_codes();
    crate::snapshot::start(engine, keys, opts, &aux, &functions)
}

/// Writes what `fill` produces to the temporary file `tmp`, fsyncs it and renames it over
/// `path` (then fsyncs the directory), logging failures as Valkey does. `keep` is asked,
/// under the rename lock, whether the file may still replace `path`.
fn write_atomically(
    engine: &Engine,
    path: &Path,
    tmp: &Path,
    fill: impl FnOnce(std::fs::File) -> std::io::Result<std::fs::File>,
    keep: impl FnOnce() -> bool,
) -> Result<(), ()> {
    let tmp = tmp.to_path_buf();
    let cwd = || std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_else(|_| "unknown".into());
    let f = match std::fs::File::create(&tmp) {
        Ok(f) => f,
        Err(e) => {
            engine.log(
                LogLevel::Warning,
                &format!(
                    "Failed opening the temp RDB file {} (in server root dir {}) for saving: {}",
                    tmp.display(),
                    cwd(),
                    io_text(&e)
                ),
            );
            return Err(());
        }
    };
    let written = fill(f).and_then(|f| f.sync_all().map(|()| f));
    if let Err(e) = written {
        engine.log(LogLevel::Warning, &format!("Write error while saving DB to the disk: {}", io_text(&e)));
        let _ = std::fs::remove_file(&tmp);
        return Err(());
    }
    let renamed = {
        let _renaming = engine.persistence.rename_lock.lock();
        if !keep() {
            let _ = std::fs::remove_file(&tmp);
            return Err(());
        }
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = renamed {
        engine.log(
            LogLevel::Warning,
            &format!(
                "Error moving temp DB file {} on the final destination {} (in server root dir {}): {}",
                tmp.display(),
                path.display(),
                cwd(),
                io_text(&e)
            ),
        );
        let _ = std::fs::remove_file(&tmp);
        return Err(());
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if let Err(e) = std::fs::File::open(dir).and_then(|d| d.sync_all()) {
        engine.log(LogLevel::Warning, &format!("Failed to fsync directory while saving DB: {}", io_text(&e)));
        return Err(());
    }
    Ok(())
}

/// An I/O error as `strerror` words it (without Rust's "(os error N)").
fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// A synchronous save (SAVE, SHUTDOWN, FLUSHALL, DEBUG RELOAD): writes `dbfilename` while the
/// caller holds every shard. `pending_dirty` is the caller's own changes not yet counted
/// (FLUSHALL's removed keys), which the save covers. A background save in progress is
/// cancelled (Valkey kills its child): its image is older. Errors are logged.
pub fn save(engine: &Engine, keys: &mut Keys<'_>, pending_dirty: u64) -> Result<(), SaveFailed> {
    let p = &engine.persistence;
    if p.bgsave_in_progress().is_some() {
        p.bgsave_cancel.store(true, Relaxed);
    }
    let dirty = engine.stats.dirty() + pending_dirty;
    let path = rdb_path(engine);
    let tmp = path.with_file_name(format!("temp-{}.rdb", std::process::id()));
    let result = write_atomically(
        engine,
        &path,
        &tmp,
        |f| {
            write_rdb(engine, keys, std::io::BufWriter::new(f))
                .and_then(|(w, _)| w.into_inner().map_err(|e| e.into_error()))
        },
        || true,
    );
    p.save_keys_total.store(0, Relaxed);
    p.save_keys_processed.store(0, Relaxed);
    match result {
        Ok(()) => {
            engine.log(LogLevel::Notice, "DB saved on disk");
            p.dirty_at_save.store(dirty, Relaxed);
            p.last_save_secs.store(crate::util::now_ms() / 1000, Relaxed);
            p.last_save_ok.store(true, Relaxed);
            Ok(())
        }
        // A failed synchronous save does not change the status background saves report
        // (and so does not stop writes), as in Valkey.
        Err(()) => Err(SaveFailed),
    }
}

/// A writer that fails once `cancel` is set (a background save given up).
struct Cancellable<W> {
    w: W,
    cancel: std::sync::Arc<AtomicBool>,
}

impl<W: std::io::Write> std::io::Write for Cancellable<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.cancel.load(Relaxed) {
            return Err(std::io::Error::other("cancelled"));
        }
        self.w.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

/// Valkey's reply when a background save cannot start because another background job runs.
pub const CHILD_ACTIVE: &str =
    "Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.";

/// Starts a background save (BGSAVE, save points): a snapshot of this moment is started
/// under the caller's locks (every shard) and written to disk by a thread while clients keep
/// running. `Err` if one is already running.
pub fn bgsave(engine: &Engine, keys: &mut Keys<'_>) -> Result<(), &'static str> {
    let p = &engine.persistence;
    let mut thread = p.bgsave_thread.lock();
    if p.bgsave_in_progress().is_some() {
        return Err("Background save already in progress");
    }
    if let Some(done) = thread.take() {
        let _ = done.join();
    }
    let Some(me) = engine.arc() else { return Err("Background save is not available in this embedding") };
    let started = crate::util::now_ms();
    p.last_bgsave_try_ms.store(started, Relaxed);
    let snapshot = match start_snapshot(engine, keys, file::DISK_RDB_VERSION) {
        Ok(s) => s,
        Err(_) => return Err(CHILD_ACTIVE),
    };
    p.bgsave_started_ms.store(started, Relaxed);
    p.bgsave_cancel.store(false, Relaxed);
    p.saves.fetch_add(1, Relaxed);
    p.save_keys_total.store(snapshot.keys(), Relaxed);
    p.save_keys_processed.store(0, Relaxed);
    let dirty = engine.stats.dirty();
    // The snapshot reaches the thread once it runs: if it cannot be started, the snapshot is
    // abandoned here, under the locks it was started with.
    let (tx, rx) = std::sync::mpsc::channel::<Snapshot>();
    let handle = std::thread::Builder::new().name("kvasir-bgsave".into()).spawn(move || {
        let Ok(snapshot) = rx.recv() else { return };
        crate::snapshot::background_priority();
        let path = rdb_path(&me);
        let p = &me.persistence;
        let tmp = path.with_file_name(format!("temp-bgsave-{}.rdb", std::process::id()));
        let cancel = p.bgsave_cancel.clone();
        let ok = write_atomically(
            &me,
            &path,
            &tmp,
            |f| {
                let w = std::io::BufWriter::with_capacity(1 << 20, Cancellable { w: f, cancel: cancel.clone() });
                let (w, _) = snapshot.write_to(w)?;
                w.into_inner().map(|c| c.w).map_err(|e| e.into_error())
            },
            || !cancel.load(Relaxed),
        )
        .is_ok();
        let cancelled = cancel.load(Relaxed);
        let now = crate::util::now_ms();
        p.last_bgsave_secs.store(((now - started) / 1000) as i64, Relaxed);
        p.save_keys_total.store(0, Relaxed);
        p.save_keys_processed.store(0, Relaxed);
        if ok {
            me.log(LogLevel::Notice, "DB saved on disk");
            p.dirty_at_save.store(dirty, Relaxed);
            p.last_save_secs.store(now / 1000, Relaxed);
            p.last_save_ok.store(true, Relaxed);
            me.log(LogLevel::Notice, "Background saving terminated with success");
        } else if cancelled {
            // Valkey's child killed by SIGUSR1: not an error.
            me.log(LogLevel::Warning, "Background saving terminated by signal 10");
        } else {
            p.last_save_ok.store(false, Relaxed);
            me.log(LogLevel::Warning, "Background saving error");
        }
        p.bgsave_started_ms.store(0, Relaxed);
    });
    match handle {
        Ok(h) => {
            engine.log(LogLevel::Notice, "Background saving started");
            let _ = tx.send(snapshot);
            *thread = Some(h);
            Ok(())
        }
        Err(_) => {
            snapshot.abandon(keys);
            p.bgsave_started_ms.store(0, Relaxed);
            p.last_save_ok.store(false, Relaxed);
            engine.log(LogLevel::Warning, "Can't save in background: cannot start a thread");
            Err("Background save failed to start")
        }
    }
}

/// The cron's part (Valkey's `serverCron`): a scheduled BGSAVE, then the save points. Takes
/// every shard lock only when a save starts.
pub fn cron(engine: &Engine) {
    let p = &engine.persistence;
    if p.bgsave_in_progress().is_some() || p.snapshot_active.load(Relaxed) {
        return;
    }
    let now = crate::util::now_ms();
    let may_retry = p.last_save_ok.load(Relaxed)
        || now.saturating_sub(p.last_bgsave_try_ms.load(Relaxed)) / 1000 > BGSAVE_RETRY_DELAY_SECS;
    if !may_retry {
        return;
    }
    if p.bgsave_scheduled.swap(false, Relaxed) {
        let mut keys = lock_all(engine);
        let _ = bgsave(engine, &mut keys);
        return;
    }
    let changes = engine.changes_since_save();
    let since_save = (now / 1000).saturating_sub(p.last_save_secs.load(Relaxed));
    for (secs, min_changes) in save_points(&engine.config.get("save")) {
        if changes >= min_changes && since_save > secs {
            engine.log(LogLevel::Notice, &format!("{min_changes} changes in {secs} seconds. Saving..."));
            let mut keys = lock_all(engine);
            let _ = bgsave(engine, &mut keys);
            return;
        }
    }
}

/// How a load treats what is already in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// A key (or library) already present is an error.
    Refuse,
    /// Keys and libraries from the file replace those present (DEBUG RELOAD MERGE).
    Replace,
}

/// Loads an RDB stream into the keyspace (the caller holds every shard) as part of
/// `loading`, which publishes the progress and, at startup, lets waiting commands run between
/// keys. Keys whose TTL has passed are skipped. `total_bytes` is the stream's size (0 if not
/// known); errors name `what` (the file) and the offset.
pub fn load_into<R: std::io::Read>(
    engine: &Engine,
    keys: &mut Keys<'_>,
    src: R,
    what: &str,
    total_bytes: u64,
    merge: Merge,
    loading: &mut Loading<'_>,
) -> Result<LoadReport, String> {
    let p = &engine.persistence;
    let opts = LoadOptions {
        limits: crate::rdb::Limits::from_config(&engine.config.hot),
        databases: engine.keyspace.databases(),
        drop_expired_before: Some(crate::util::now_ms()),
        verify_checksum: engine.config.get_bool("rdbchecksum"),
    };
    let lfu = engine.config.get("maxmemory-policy").ends_with("-lfu");
    let now_ms = keys.now_ms;
    let clock = keys.lru_clock();
    let mut progress = LoadProgress::new(total_bytes, PROGRESS_MIN_BYTES);
    let started = std::time::Instant::now();
    // Bytes of the stream parsed so far (the file reader publishes it per record).
    let offset = AtomicU64::new(0);
    let result = file::load(
        src,
        &opts,
        |item| match item {
            Item::Key(k) => {
                let at = offset.load(Relaxed);
                if let Some(line) = progress.tick(at, started.elapsed().as_secs_f64()) {
                    engine.log(LogLevel::Notice, &line);
                }
                let lru = crate::commands::keys::object::lru_stamp(lfu, now_ms, clock, k.freq, k.idle_secs);
                let loaded = match keys.load_in(k.db, &k.key, k.value, k.expire_at_ms, lru, merge == Merge::Replace) {
                    Ok(true) => Ok(()),
                    Ok(false) => {
                        let key = String::from_utf8_lossy(&k.key);
                        engine.log(LogLevel::Warning, &format!("RDB has duplicated key '{key}' in DB {}", k.db));
                        Err(format!("Duplicated key '{key}' found in RDB file"))
                    }
                    Err(e) => Err(String::from_utf8_lossy(e.text()).into_owned()),
                };
                loading.step(keys, at);
                loaded
            }
            Item::Function(code) => engine.scripting.load_library(engine, &code, merge == Merge::Replace).map(drop),
            Item::Sizes { db, keys: n } => {
                // Pre-size the shards (keys spread evenly by hash), so that inserting does not
                // rehash every table several times over (a fifth of the load time otherwise).
                // A file cannot hold more keys than a few bytes each: a lying size is capped.
                let n = n.min(total_bytes / 4) as usize / crate::keyspace::SHARDS;
                for shard in keys.shards(db) {
                    shard.reserve(n + n / 8);
                }
                Ok(())
            }
            Item::UsedMem(bytes) => {
                loading.rdb_used_mem(bytes);
                Ok(())
            }
        },
        |level, msg| engine.log(level, &msg),
        &offset,
    );
    match result {
        Ok(report) => {
            p.last_load_keys_loaded.store(report.keys_loaded, Relaxed);
            p.last_load_keys_expired.store(report.keys_expired, Relaxed);
            if report.empty_keys_skipped > 0 {
                engine.log(
                    LogLevel::Notice,
                    &format!(
                        "Done loading RDB, keys loaded: {}, keys expired: {}, empty keys skipped: {}.",
                        report.keys_loaded, report.keys_expired, report.empty_keys_skipped
                    ),
                );
            } else {
                engine.log(
                    LogLevel::Notice,
                    &format!(
                        "Done loading RDB, keys loaded: {}, keys expired: {}.",
                        report.keys_loaded, report.keys_expired
                    ),
                );
            }
            Ok(report)
        }
        Err(e) => {
            let msg = format!("Internal error in RDB reading offset {} of file {what}: {}", e.offset, e.reason);
            engine.log(LogLevel::Warning, &msg);
            Err(msg)
        }
    }
}

/// Files from this size on get progress lines in the log while they load.
const PROGRESS_MIN_BYTES: u64 = 256 << 20;

/// Progress lines while a big file loads: one per tenth of the file, with the keys, MB and
/// MB/s so far (Valkey logs nothing between the start and the end of a load, which on a
/// multi-GB file looks like a hang).
struct LoadProgress {
    total: u64,
    keys: u64,
    /// Bytes at which the next line is due (`u64::MAX`: never, the file is small).
    next: u64,
}

impl LoadProgress {
    fn new(total: u64, min_bytes: u64) -> LoadProgress {
        let next = if total >= min_bytes && total > 0 { total / 10 } else { u64::MAX };
        LoadProgress { total, keys: 0, next }
    }

    /// Called per key loaded, with the bytes read so far and the seconds since the start.
    #[inline]
    fn tick(&mut self, bytes: u64, secs: f64) -> Option<String> {
        self.keys += 1;
        if bytes < self.next {
            return None;
        }
        while self.next <= bytes {
            self.next = self.next.saturating_add((self.total / 10).max(1));
        }
        let mb = bytes as f64 / (1024.0 * 1024.0);
        let rate = if secs > 0.0 { mb / secs } else { 0.0 };
        Some(format!(
            "Loading: {} keys, {mb:.1} MB of {:.1} MB ({:.0}%), {rate:.1} MB/s",
            self.keys,
            self.total as f64 / (1024.0 * 1024.0),
            (bytes as f64 * 100.0 / self.total as f64).min(100.0),
        ))
    }
}

/// What loading the RDB file at startup found.
pub enum StartupLoad {
    /// No file: start empty.
    Missing,
    Loaded {
        report: LoadReport,
        secs: f64,
    },
}

/// Loads `dbfilename` at startup, while clients that connect get `-LOADING` (the caller raised
/// the loading state before opening the listeners, and lowers it when ready). An `Err` is fatal
/// (Valkey exits rather than start without the data it was asked to keep).
pub fn load_at_startup(engine: &Engine) -> Result<StartupLoad, String> {
    let path = rdb_path(engine);
    let f = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StartupLoad::Missing),
        Err(e) => {
            let msg = format!("Fatal error: can't open the RDB file {} for reading: {}", path.display(), io_text(&e));
            engine.log(LogLevel::Warning, &msg);
            return Err(msg);
        }
    };
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let started = std::time::Instant::now();
    let mut keys = lock_all(engine);
    let mut loading = Loading::start(engine, size, LoadKind::Startup);
    let report = load_into(engine, &mut keys, f, &path.display().to_string(), size, Merge::Refuse, &mut loading)?;
    Ok(StartupLoad::Loaded { report, secs: started.elapsed().as_secs_f64() })
}

/// The point-in-time image an AOF rewrite writes as its base (`aof/mod.rs`): the same
/// snapshot BGSAVE takes, so the two share whatever makes it cheap. The caller holds every
/// shard.
pub fn aof_base_snapshot(engine: &Engine, keys: &mut Keys<'_>) -> std::io::Result<Vec<u8>> {
    write_rdb(engine, keys, Vec::new()).map(|(v, _)| v)
}

#[cfg(test)]
mod progress_tests {
    use super::LoadProgress;

    #[test]
    fn a_line_per_tenth_of_a_big_file_none_for_a_small_one() {
        let mut small = LoadProgress::new(1000, 2000);
        assert!((0..=1000).all(|b| small.tick(b, 1.0).is_none()));
        let mb = 1024 * 1024;
        let mut big = LoadProgress::new(100 * mb, 50 * mb);
        let mut lines = Vec::new();
        // 1000 keys, each 0.1 MB further into the file.
        for k in 1..=1000u64 {
            if let Some(l) = big.tick(k * mb / 10, k as f64 / 100.0) {
                lines.push(l);
            }
        }
        assert_eq!(lines.len(), 10, "{lines:?}");
        assert_eq!(lines[0], "Loading: 100 keys, 10.0 MB of 100.0 MB (10%), 10.0 MB/s");
        assert_eq!(lines[9], "Loading: 1000 keys, 100.0 MB of 100.0 MB (100%), 10.0 MB/s");
        // A jump over several tenths gives one line.
        let mut jump = LoadProgress::new(100 * mb, 50 * mb);
        assert!(jump.tick(55 * mb, 1.0).unwrap().contains("(55%)"));
        assert!(jump.tick(59 * mb, 1.0).is_none());
        assert!(jump.tick(60 * mb, 1.0).is_some());
    }
}
