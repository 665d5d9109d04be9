//! The append-only file, in Valkey 7+'s multi-part layout: `appenddirname/` holds a manifest,
//! a base file (an RDB image with `aof-use-rdb-preamble yes`, else commands) and incr files
//! of commands. See ARCHITECTURE.md, "Persistence".
//!
//! Write path: the AOF is a consumer of the propagation stream (`propagate.rs`), which is
//! appended to under each command's shard locks, so its order is the order writes took
//! effect. A writer thread takes what accumulated, writes it to the current incr file and
//! fsyncs per `appendfsync`. With `always`, a connection holds its replies until the
//! "fsynced up to" watermark passes the stream offset at the end of its batch (group commit:
//! one fsync covers every command appended so far, from every thread).
//!
//! Rewrite (BGREWRITEAOF, auto-aof-rewrite-*, enabling at runtime): under every shard lock,
//! the pending stream goes to the current incr file, a new incr file is opened and the
//! point-in-time image is taken (the snapshot BGSAVE takes); a thread writes it as the new
//! base, then the manifest is switched atomically and the files it replaced are deleted.

pub mod load;
pub mod manifest;

use crate::commands::Ctx;
use crate::db::Keys;
use crate::engine::{Engine, LogLevel};
use crate::propagate::Sink;
use manifest::Manifest;
use parking_lot::{Condvar, Mutex};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

/// `appendfsync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Fsync {
    Always = 0,
    Everysec = 1,
    No = 2,
}

impl Fsync {
    pub fn parse(s: &str) -> Fsync {
        match s {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::Everysec,
        }
    }
}

/// The AOF's state.
pub struct Aof {
    /// `appendonly` is in effect (the sink is attached and a writer runs).
    on: AtomicBool,
    fsync: AtomicU8,
    /// Changes whenever the AOF is switched on or off: a wait begun before belongs to a stream
    /// that no longer exists.
    epoch: AtomicU64,
    /// Stream offset up to which everything is fsynced (`always`) or written (otherwise).
    fsynced: AtomicU64,
    sink: Mutex<Option<Arc<Sink>>>,
    files: Mutex<Files>,
    waiters: Mutex<Vec<(u64, Waker)>>,
    signal: Arc<Signal>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    rewrite_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// `CONFIG SET appendonly yes` inside a transaction: the cron switches it on.
    pub enable_scheduled: AtomicBool,
    /// INFO persistence.
    pub rewrite_scheduled: AtomicBool,
    rewrite_started_ms: AtomicU64,
    rewrites: AtomicU64,
    rewrite_failures: AtomicU64,
    last_rewrite_secs: AtomicI64,
    last_rewrite_ok: AtomicBool,
    last_write_ok: AtomicBool,
    current_size: AtomicU64,
    base_size: AtomicU64,
    delayed_fsync: AtomicU64,
}

/// The files being written; only the writer (or a rotation, under every shard lock) touches
/// them.
struct Files {
    dir: PathBuf,
    filename: String,
    manifest: Manifest,
    incr: Option<std::fs::File>,
    /// Stream offset of everything written to `incr`.
    written: u64,
    /// Written but not fsynced yet.
    dirty: bool,
    /// The buffer swapped with the sink's on each write (its capacity is kept between rounds).
    spare: Vec<u8>,
    last_fsync: Instant,
}

/// Wakes the writer thread. A push only touches the mutex when the writer is not already
/// due to run (`pending` was clear), so a busy stream costs one load per push.
struct Signal {
    pending: AtomicBool,
    lock: Mutex<()>,
    cond: Condvar,
    stop: AtomicBool,
}

impl Signal {
    fn notify(&self) {
        if self.pending.load(Relaxed) || self.pending.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return;
        }
        let _g = self.lock.lock();
        self.cond.notify_one();
    }

    fn wait(&self, timeout: Duration) {
        let mut g = self.lock.lock();
        if !self.pending.load(std::sync::atomic::Ordering::Acquire) {
            self.cond.wait_for(&mut g, timeout);
        }
        self.pending.store(false, std::sync::atomic::Ordering::Release);
    }
}

impl Default for Aof {
    fn default() -> Self {
        Aof {
            on: AtomicBool::new(false),
            fsync: AtomicU8::new(Fsync::Everysec as u8),
            epoch: AtomicU64::new(0),
            fsynced: AtomicU64::new(0),
            sink: Mutex::new(None),
            files: Mutex::new(Files {
                dir: PathBuf::new(),
                filename: String::new(),
                manifest: Manifest::default(),
                incr: None,
                written: 0,
                dirty: false,
                spare: Vec::new(),
                last_fsync: Instant::now(),
            }),
            waiters: Mutex::new(Vec::new()),
            signal: Arc::new(Signal {
                pending: AtomicBool::new(false),
                lock: Mutex::new(()),
                cond: Condvar::new(),
                stop: AtomicBool::new(false),
            }),
            writer: Mutex::new(None),
            rewrite_thread: Mutex::new(None),
            enable_scheduled: AtomicBool::new(false),
            rewrite_scheduled: AtomicBool::new(false),
            rewrite_started_ms: AtomicU64::new(0),
            rewrites: AtomicU64::new(0),
            rewrite_failures: AtomicU64::new(0),
            last_rewrite_secs: AtomicI64::new(-1),
            last_rewrite_ok: AtomicBool::new(true),
            last_write_ok: AtomicBool::new(true),
            current_size: AtomicU64::new(0),
            base_size: AtomicU64::new(0),
            delayed_fsync: AtomicU64::new(0),
        }
    }
}

/// An I/O error as `strerror` words it.
pub(crate) fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// A point the connection waits for before sending replies (`appendfsync always`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Durable {
    epoch: u64,
    offset: u64,
}

impl Aof {
    pub fn is_on(&self) -> bool {
        self.on.load(Relaxed)
    }

    pub fn rewrite_in_progress(&self) -> bool {
        self.rewrite_started_ms.load(Relaxed) != 0
    }

    pub fn set_fsync(&self, f: Fsync) {
        self.fsync.store(f as u8, Relaxed);
        self.signal.notify();
    }

    fn policy(&self) -> Fsync {
        match self.fsync.load(Relaxed) {
            0 => Fsync::Always,
            2 => Fsync::No,
            _ => Fsync::Everysec,
        }
    }

    /// With `appendfsync always`: the stream offset this connection's replies wait for (every
    /// write appended so far, its own included). `None` when replies need not wait.
    #[inline]
    pub fn durable_point(&self) -> Option<Durable> {
        if !self.on.load(Relaxed) || self.fsync.load(Relaxed) != Fsync::Always as u8 {
            return None;
        }
        let epoch = self.epoch.load(Relaxed);
        let offset = self.sink.lock().as_ref().map(|s| s.pushed())?;
        if self.fsynced.load(std::sync::atomic::Ordering::Acquire) >= offset {
            return None;
        }
        Some(Durable { epoch, offset })
    }

    /// Whether `point` is reached (or no longer matters). Otherwise registers `waker`, woken
    /// after the next fsync.
    pub fn reached(&self, point: Durable, waker: &Waker) -> bool {
        let done = |a: &Aof| {
            !a.on.load(Relaxed)
                || a.epoch.load(Relaxed) != point.epoch
                || a.fsynced.load(std::sync::atomic::Ordering::Acquire) >= point.offset
        };
        if done(self) {
            return true;
        }
        let mut w = self.waiters.lock();
        if done(self) {
            return true;
        }
        w.push((point.offset, waker.clone()));
        false
    }

    fn publish_fsynced(&self, offset: u64) {
        self.fsynced.store(offset, std::sync::atomic::Ordering::Release);
        let ready: Vec<Waker> = {
            let mut w = self.waiters.lock();
            if w.is_empty() {
                return;
            }
            let (done, left): (Vec<_>, Vec<_>) = w.drain(..).partition(|(o, _)| *o <= offset);
            *w = left;
            done.into_iter().map(|(_, k)| k).collect()
        };
        for k in ready {
            k.wake();
        }
    }

    fn wake_all(&self) {
        let all: Vec<_> = std::mem::take(&mut *self.waiters.lock());
        for (_, k) in all {
            k.wake();
        }
    }
}

fn dir_and_name(engine: &Engine) -> (PathBuf, String) {
    (PathBuf::from(engine.config.get("appenddirname")), engine.config.get("appendfilename"))
}

/// Reads the manifest of `dir`; `Ok(None)` when there is none.
pub fn read_manifest(engine: &Engine, dir: &Path, filename: &str) -> Result<Option<Manifest>, String> {
    let path = dir.join(manifest::manifest_name(filename));
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            let msg = format!(
                "Fatal error: can't open the AOF manifest file {} for reading: {}",
                path.display(),
                io_text(&e)
            );
            engine.log(LogLevel::Warning, &msg);
            return Err(msg);
        }
    };
    Manifest::parse(&text).map(Some).map_err(|e| {
        engine.log(LogLevel::Warning, "*** FATAL AOF MANIFEST FILE ERROR ***");
        if e.line > 0 {
            engine.log(LogLevel::Warning, &format!("Reading the manifest file, at line {}", e.line));
            engine.log(LogLevel::Warning, &format!(">>> '{}'", e.text));
        }
        engine.log(LogLevel::Warning, e.msg);
        e.msg.to_string()
    })
}

/// Writes the manifest atomically (temp file, fsync, rename, fsync of the directory).
fn persist_manifest(engine: &Engine, dir: &Path, filename: &str, m: &Manifest) -> Result<(), ()> {
    let tmp = dir.join(manifest::temp_manifest_name(filename));
    let dst = dir.join(manifest::manifest_name(filename));
    let r = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(m.format().as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, &dst))
        .and_then(|()| std::fs::File::open(dir).and_then(|d| d.sync_all()));
    r.map_err(|e| {
        engine.log(
            LogLevel::Warning,
            &format!("Error trying to write the AOF manifest file {}: {}", dst.display(), io_text(&e)),
        );
    })
}

fn create_dir(engine: &Engine, dir: &Path) -> Result<(), ()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        engine
            .log(LogLevel::Warning, &format!("Can't open or create append-only dir {}: {}", dir.display(), io_text(&e)))
    })
}

fn open_append(path: &Path, truncate: bool) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true);
    if truncate {
        o.write(true).truncate(true);
    } else {
        o.append(true);
    }
    let f = o.open(path)?;
    if truncate {
        drop(f);
        return std::fs::OpenOptions::new().append(true).open(path);
    }
    Ok(f)
}

// ---------------------------------------------------------------------------------------------
// Loading at startup and DEBUG LOADAOF

/// What the startup load found.
pub enum StartupLoad {
    /// No AOF (or an empty one): start empty.
    Missing,
    Loaded {
        keys: u64,
        secs: f64,
        truncated: bool,
    },
}

/// Loads the AOF at startup (`appendonly yes` takes priority over the RDB file), while
/// connected clients get `-LOADING`. An `Err` is fatal.
pub fn load_at_startup(engine: &Engine) -> Result<StartupLoad, String> {
    let (dir, filename) = dir_and_name(engine);
    let Some(m) = read_manifest(engine, &dir, &filename)? else {
        return Ok(StartupLoad::Missing);
    };
    let started = Instant::now();
    let summary = with_loading_ctx(engine, |ctx| load::load_all(ctx, &dir, &m, crate::loading::LoadKind::Startup))
        .map_err(|_| "Fatal error loading the AOF".to_string())?;
    {
        let mut files = engine.aof.files.lock();
        files.manifest = m;
    }
    engine.aof.current_size.store(summary.total_size, Relaxed);
    engine.aof.base_size.store(summary.base_size, Relaxed);
    match summary.status {
        load::Loaded::Ok | load::Loaded::Truncated => {
            let keys = {
                let mut k = crate::persist::lock_all(engine);
                (0..engine.keyspace.databases()).map(|db| k.shards(db).map(|s| s.len() as u64).sum::<u64>()).sum()
            };
            Ok(StartupLoad::Loaded {
                keys,
                secs: started.elapsed().as_secs_f64(),
                truncated: summary.status == load::Loaded::Truncated,
            })
        }
        load::Loaded::Empty | load::Loaded::NotExist => Ok(StartupLoad::Missing),
    }
}

/// Runs `f` in a context that holds every shard, as a client nobody sees.
fn with_loading_ctx<T>(engine: &Engine, f: impl FnOnce(&mut Ctx) -> T) -> T {
    let shared = engine.clients.register("aof-loading".into(), String::new(), -1);
    let id = shared.id;
    let mut client = crate::client::Client::new(shared, true);
    client.obey = true;
    let mut out = resp::Reply::new(false);
    let keys = crate::persist::lock_all(engine);
    let crate::commands::table::Lookup::Found(cmd) = engine.commands.lookup(&[b"debug".as_slice()]) else {
        unreachable!("DEBUG is in the command table")
    };
    let mut ctx = Ctx { keys, out: &mut out, client: &mut client, engine, cmd };
    let r = f(&mut ctx);
    drop(ctx);
    engine.clients.unregister(id);
    r
}

/// DEBUG LOADAOF: flush the AOF, empty the dataset and load the AOF back, in the caller's
/// context (which holds every shard).
pub fn debug_loadaof(ctx: &mut Ctx) -> Result<(), load::Failed> {
    let engine = ctx.engine;
    if engine.aof.is_on() {
        flush(engine, true);
    }
    for db in 0..engine.keyspace.databases() {
        crate::commands::server::flush_db(ctx, db, false);
    }
    let (dir, filename) = dir_and_name(engine);
    let m = match read_manifest(engine, &dir, &filename) {
        Ok(Some(m)) => m,
        Ok(None) => Manifest::default(),
        Err(_) => return Err(load::Failed),
    };
    let (db, obey) = (ctx.client.db, ctx.client.obey);
    ctx.client.obey = true;
    let r = load::load_all(ctx, &dir, &m, crate::loading::LoadKind::Holding);
    ctx.client.obey = obey;
    ctx.client.db = db;
    ctx.keys.db = db;
    r.map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// Switching on and off

/// After the startup load, with `appendonly yes`: create the base if there is none (from the
/// dataset just loaded), open the last incr file (or a new one), persist the manifest, attach
/// to the propagation stream and start the writer. An `Err` is fatal.
pub fn open_at_startup(engine: &Engine) -> Result<(), load::Failed> {
    let (dir, filename) = dir_and_name(engine);
    create_dir(engine, &dir)?;
    let mut keys = crate::persist::lock_all(engine);
    let mut files = engine.aof.files.lock();
    files.dir = dir.clone();
    files.filename = filename.clone();
    if files.manifest.base.is_none() && files.manifest.incrs.is_empty() {
        let rdb = engine.config.get_bool("aof-use-rdb-preamble");
        let mut m = files.manifest.clone();
        let name = m.new_base(&filename, rdb);
        let bytes = base_image(engine, &mut keys, rdb).map_err(|_| ())?;
        write_file_atomically(engine, &dir, &name, &bytes)?;
        engine.log(LogLevel::Notice, &format!("Creating AOF base file {name} on server start"));
        engine.aof.base_size.store(bytes.len() as u64, Relaxed);
        engine.aof.current_size.store(bytes.len() as u64, Relaxed);
        files.manifest = m;
    }
    let existing = files.manifest.incrs.last().map(|f| f.name.clone());
    let name = match &existing {
        Some(n) => n.clone(),
        None => files.manifest.add_incr(&filename),
    };
    let f = open_append(&dir.join(&name), false).map_err(|e| {
        engine.log(LogLevel::Warning, &format!("Can't open the append-only file {name}: {}", io_text(&e)));
    })?;
    persist_manifest(engine, &dir, &filename, &files.manifest)?;
    if existing.is_some() {
        engine.log(LogLevel::Notice, &format!("Opening AOF incr file {name} on server start"));
    } else {
        engine.log(LogLevel::Notice, &format!("Creating AOF incr file {name} on server start"));
    }
    files.incr = Some(f);
    files.written = 0;
    files.dirty = false;
    drop(files);
    attach(engine);
    drop(keys);
    Ok(start_writer(engine)?)
}

/// Attaches a fresh sink (the caller holds every shard lock or nothing runs yet).
fn attach(engine: &Engine) {
    let aof = &engine.aof;
    let sink = Sink::new();
    // The signal, not the engine: the engine owns the sink, which must not keep it alive.
    let signal = aof.signal.clone();
    sink.set_waker(Box::new(move || signal.notify()));
    aof.epoch.fetch_add(1, Relaxed);
    aof.fsynced.store(0, Relaxed);
    *aof.sink.lock() = Some(sink.clone());
    aof.set_fsync(Fsync::parse(&engine.config.get("appendfsync")));
    engine.propagation.attach(sink);
    aof.on.store(true, Relaxed);
}

fn start_writer(engine: &Engine) -> Result<(), ()> {
    let Some(me) = engine.arc() else { return Ok(()) };
    let mut w = engine.aof.writer.lock();
    if w.is_some() {
        return Ok(());
    }
    engine.aof.signal.stop.store(false, Relaxed);
    let h = std::thread::Builder::new().name("kvasir-aof".into()).spawn(move || {
        while !me.aof.signal.stop.load(Relaxed) {
            me.aof.signal.wait(Duration::from_millis(100));
            if me.aof.is_on() && flush(&me, false) > 0 && me.aof.policy() != Fsync::Always {
                // Batching: while writes keep coming, one write per BATCH_INTERVAL. The
                // signal stays raised meanwhile, so the pushes do not wake this thread (a
                // futex wake and two context switches per command at pipeline 1 otherwise).
                std::thread::sleep(BATCH_INTERVAL);
            }
        }
    });
    match h {
        Ok(h) => {
            *w = Some(h);
            Ok(())
        }
        Err(_) => {
            engine.log(LogLevel::Warning, "Can't start the AOF writer thread");
            Err(())
        }
    }
}

/// CONFIG SET appendonly yes (Valkey's `startAppendOnly`): a rewrite writes the base of the
/// new AOF while the stream already goes to a new incr file.
pub fn enable(engine: &Engine) -> Result<(), load::Failed> {
    if engine.aof.is_on() {
        return Ok(());
    }
    let (dir, filename) = dir_and_name(engine);
    create_dir(engine, &dir)?;
    let m = read_manifest(engine, &dir, &filename).ok().flatten().unwrap_or_default();
    let mut keys = crate::persist::lock_all(engine);
    {
        let mut files = engine.aof.files.lock();
        files.dir = dir.clone();
        files.filename = filename.clone();
        files.manifest = m;
        files.incr = None;
    }
    if start_rewrite(engine, &mut keys, RewriteKind::Enable).is_err() {
        engine.log(
            LogLevel::Warning,
            "The server needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above \
             logs for more info about the error.",
        );
        return Err(load::Failed);
    }
    drop(keys);
    Ok(start_writer(engine)?)
}

/// CONFIG SET appendonly no (`stopAppendOnly`): flush, fsync, close, detach.
pub fn disable(engine: &Engine) {
    let aof = &engine.aof;
    if !aof.is_on() {
        return;
    }
    flush(engine, true);
    aof.on.store(false, Relaxed);
    if let Some(s) = aof.sink.lock().take() {
        s.close();
    }
    aof.epoch.fetch_add(1, Relaxed);
    aof.files.lock().incr = None;
    if aof.rewrite_scheduled.swap(false, Relaxed) {
        engine.log(LogLevel::Notice, "AOF was disabled but there is a scheduled AOF background, cancel it.");
    }
    aof.wake_all();
}

/// At exit: write and fsync what is pending, stop the writer.
pub fn shutdown(engine: &Engine) {
    let aof = &engine.aof;
    if let Some(t) = aof.rewrite_thread.lock().take() {
        let _ = t.join();
    }
    if aof.is_on() {
        flush(engine, true);
    }
    aof.signal.stop.store(true, Relaxed);
    aof.signal.notify();
    if let Some(t) = aof.writer.lock().take() {
        let _ = t.join();
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

/// How long the writer waits between two writes while the stream is busy, with `appendfsync
/// everysec` or `no` (with `always` it writes as soon as the previous fsync is done). Bounds
/// what a crash of the process (not of the machine) can lose of acknowledged writes.
const BATCH_INTERVAL: Duration = Duration::from_millis(1);

/// Writes what the stream accumulated to the incr file, then fsyncs per the policy (always
/// with `force`). Publishes the new watermark and wakes the connections waiting for it.
/// Returns the number of bytes written.
pub fn flush(engine: &Engine, force: bool) -> usize {
    let aof = &engine.aof;
    let Some(sink) = aof.sink.lock().clone() else { return 0 };
    let mut files = aof.files.lock();
    let mut bytes = std::mem::take(&mut files.spare);
    let end = sink.swap_counted(&mut bytes);
    let policy = aof.policy();
    let n = bytes.len();
    if !bytes.is_empty() {
        // No incr file only while switching on, before the rotation that opens it.
        if let Some(f) = files.incr.as_mut() {
            match f.write_all(&bytes) {
                Ok(()) => {
                    if !aof.last_write_ok.swap(true, Relaxed) {
                        engine.log(LogLevel::Warning, "AOF write error looks solved. The server can write again.");
                    }
                    files.dirty = true;
                    aof.current_size.fetch_add(bytes.len() as u64, Relaxed);
                }
                Err(e) => {
                    aof.last_write_ok.store(false, Relaxed);
                    engine.log(LogLevel::Warning, &format!("Error writing to the AOF file: {}", io_text(&e)));
                    if policy == Fsync::Always {
                        engine.log(
                            LogLevel::Warning,
                            "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...",
                        );
                        std::process::exit(1);
                    }
                }
            }
        }
        files.written = end;
    }
    let sync_now = files.dirty
        && (force
            || policy == Fsync::Always
            || (policy == Fsync::Everysec && files.last_fsync.elapsed() >= Duration::from_secs(1)));
    if sync_now {
        if let Some(f) = files.incr.as_ref() {
            if let Err(e) = f.sync_data() {
                aof.last_write_ok.store(false, Relaxed);
                engine.log(LogLevel::Warning, &format!("Fail to fsync the AOF file: {}", io_text(&e)));
                if policy == Fsync::Always {
                    engine.log(
                        LogLevel::Warning,
                        "Can't persist AOF for fsync error when the AOF fsync policy is 'always'. Exiting...",
                    );
                    std::process::exit(1);
                }
            }
        }
        files.dirty = false;
        files.last_fsync = Instant::now();
    }
    let written = files.written;
    // The buffer goes back for the next swap, unless a burst made it big.
    if bytes.capacity() <= 4 << 20 {
        files.spare = bytes;
    }
    drop(files);
    aof.publish_fsynced(written);
    n
}

fn write_file_atomically(engine: &Engine, dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ()> {
    let tmp = dir.join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
    let r = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, dir.join(name)));
    r.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        engine.log(LogLevel::Warning, &format!("Write error writing append only file on disk: {}", io_text(&e)));
    })
}

// ---------------------------------------------------------------------------------------------
// Rewriting

#[derive(Clone, Copy, PartialEq, Eq)]
enum RewriteKind {
    /// BGREWRITEAOF, automatic rewrites.
    Rewrite,
    /// CONFIG SET appendonly yes: the new incr file joins the manifest with the new base.
    Enable,
}

/// Why BGREWRITEAOF did not start one now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RewriteRefused {
    InProgress,
    /// A background save runs: the rewrite starts when it ends.
    Scheduled,
    Failed,
}

/// The base image: the point-in-time RDB image BGSAVE takes, or (`aof-use-rdb-preamble no`)
/// commands that rebuild every key (RESTORE of its DUMP payload, with its absolute TTL).
fn base_image(engine: &Engine, keys: &mut Keys<'_>, rdb: bool) -> std::io::Result<Vec<u8>> {
    if rdb {
        return crate::persist::aof_base_snapshot(engine, keys);
    }
    let opts = crate::rdb::SaveOptions { compress: engine.config.get_bool("rdbcompression") };
    let mut out = Vec::new();
    for db in 0..engine.keyspace.databases() {
        let mut selected = false;
        for shard in keys.shards(db) {
            shard.for_each(|e| {
                if !selected {
                    selected = true;
                    resp::encode_command(&mut out, &[b"SELECT", db.to_string().as_bytes()]);
                }
                let payload = crate::rdb::dump::create_payload(e.value(), opts);
                let ttl = e.expire_at_ms().unwrap_or(0).to_string();
                resp::encode_command(&mut out, &[b"RESTORE", e.key(), ttl.as_bytes(), &payload, b"ABSTTL"]);
            });
        }
    }
    Ok(out)
}

/// BGREWRITEAOF. The caller holds every shard lock.
pub fn bgrewriteaof(engine: &Engine, keys: &mut Keys<'_>) -> Result<(), RewriteRefused> {
    if engine.aof.rewrite_in_progress() {
        return Err(RewriteRefused::InProgress);
    }
    if engine.persistence.bgsave_in_progress().is_some() || !keys.may_block {
        engine.aof.rewrite_scheduled.store(true, Relaxed);
        engine.aof.rewrite_failures.store(0, Relaxed);
        engine.log(LogLevel::Notice, "Background append only file rewriting scheduled.");
        return Err(RewriteRefused::Scheduled);
    }
    start_rewrite(engine, keys, RewriteKind::Rewrite).map_err(|()| RewriteRefused::Failed)
}

fn start_rewrite(engine: &Engine, keys: &mut Keys<'_>, kind: RewriteKind) -> Result<(), ()> {
    let aof = &engine.aof;
    let Some(me) = engine.arc() else { return Err(()) };
    let mut thread = aof.rewrite_thread.lock();
    if let Some(t) = thread.take() {
        let _ = t.join();
    }
    let (dir, filename) = dir_and_name(engine);
    if create_dir(engine, &dir).is_err() {
        aof.last_rewrite_ok.store(false, Relaxed);
        return Err(());
    }
    // Everything before this point goes to the current incr file; everything after to a new one.
    let keep_seq = {
        if aof.is_on() {
            flush(engine, true);
        }
        let mut files = aof.files.lock();
        if files.filename.is_empty() {
            let m = read_manifest(engine, &dir, &filename).ok().flatten().unwrap_or_default();
            files.manifest = m;
            files.dir = dir.clone();
            files.filename = filename.clone();
        }
        if aof.is_on() || kind == RewriteKind::Enable {
            let mut m = files.manifest.clone();
            let name = m.add_incr(&filename);
            let f = match open_append(&dir.join(&name), true) {
                Ok(f) => f,
                Err(e) => {
                    engine.log(LogLevel::Warning, &format!("Can't open the append-only file {name}: {}", io_text(&e)));
                    aof.last_rewrite_ok.store(false, Relaxed);
                    return Err(());
                }
            };
            if kind == RewriteKind::Rewrite && persist_manifest(engine, &dir, &filename, &m).is_err() {
                let _ = std::fs::remove_file(dir.join(&name));
                aof.last_rewrite_ok.store(false, Relaxed);
                return Err(());
            }
            engine.log(LogLevel::Notice, &format!("Creating AOF incr file {name} on background rewrite"));
            if let Some(old) = files.incr.take() {
                let _ = old.sync_data();
            }
            files.incr = Some(f);
            files.dirty = false;
            if kind == RewriteKind::Rewrite {
                files.manifest = m.clone();
            }
            engine.propagation.reselect();
            m.incr_seq
        } else {
            files.manifest.incr_seq + 1
        }
    };
    if kind == RewriteKind::Enable {
        drop(thread);
        attach(engine);
        thread = aof.rewrite_thread.lock();
    }
    let rdb = engine.config.get_bool("aof-use-rdb-preamble");
    let started = crate::util::now_ms();
    aof.rewrites.fetch_add(1, Relaxed);
    aof.rewrite_scheduled.store(false, Relaxed);
    aof.rewrite_started_ms.store(started, Relaxed);
    let image = base_image(engine, keys, rdb);
    engine.log(LogLevel::Notice, "Background append only file rewriting started");
    let h = std::thread::Builder::new().name("kvasir-aofrw".into()).spawn(move || {
        let ok = match image {
            Ok(bytes) => finish_rewrite(&me, &bytes, rdb, keep_seq, kind).is_ok(),
            Err(_) => false,
        };
        let aof = &me.aof;
        let now = crate::util::now_ms();
        aof.last_rewrite_secs.store(((now - started) / 1000) as i64, Relaxed);
        aof.last_rewrite_ok.store(ok, Relaxed);
        if ok {
            aof.rewrite_failures.store(0, Relaxed);
            me.log(LogLevel::Notice, "Background AOF rewrite finished successfully");
        } else {
            aof.rewrite_failures.fetch_add(1, Relaxed);
            me.log(LogLevel::Warning, "Background AOF rewrite terminated with error");
        }
        aof.rewrite_started_ms.store(0, Relaxed);
    });
    match h {
        Ok(h) => {
            *thread = Some(h);
            Ok(())
        }
        Err(_) => {
            aof.rewrite_started_ms.store(0, Relaxed);
            aof.last_rewrite_ok.store(false, Relaxed);
            Err(())
        }
    }
}

/// The rewrite thread's second half: the new base goes on disk, then the manifest switches
/// to it (the incr files it covers become history and are deleted).
fn finish_rewrite(engine: &Engine, bytes: &[u8], rdb: bool, keep_seq: i64, kind: RewriteKind) -> Result<(), ()> {
    let aof = &engine.aof;
    let (dir, filename) = {
        let f = aof.files.lock();
        (f.dir.clone(), f.filename.clone())
    };
    let tmp = format!("temp-rewriteaof-bg-{}.aof", std::process::id());
    let tmp_path = dir.join(&tmp);
    let written = std::fs::File::create(&tmp_path).and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp_path);
        engine.log(LogLevel::Warning, &format!("Write error writing append only file on disk: {}", io_text(&e)));
        return Err(());
    }
    engine.log(LogLevel::Notice, "Background AOF rewrite terminated with success");
    engine.log(LogLevel::Notice, &format!("Successfully created the temporary AOF base file {tmp}"));
    let mut files = aof.files.lock();
    let mut m = files.manifest.clone();
    if kind == RewriteKind::Enable {
        // The incr file opened when the AOF was switched on joins the manifest now.
        let name = manifest::incr_name(&filename, keep_seq);
        m.incr_seq = keep_seq;
        m.incrs.push(manifest::FileInfo { name, seq: keep_seq, kind: manifest::Kind::Incr });
    }
    let base = m.new_base(&filename, rdb);
    if let Err(e) = std::fs::rename(&tmp_path, dir.join(&base)) {
        engine.log(
            LogLevel::Warning,
            &format!("Error trying to rename the temporary AOF base file {tmp} into {base}: {}", io_text(&e)),
        );
        let _ = std::fs::remove_file(&tmp_path);
        return Err(());
    }
    engine.log(LogLevel::Notice, &format!("Successfully renamed the temporary AOF base file {tmp} into {base}"));
    m.retire_incrs_before(keep_seq);
    if persist_manifest(engine, &dir, &filename, &m).is_err() {
        let _ = std::fs::remove_file(dir.join(&base));
        return Err(());
    }
    // History files are deleted, then forgotten.
    for h in std::mem::take(&mut m.history) {
        engine.log(LogLevel::Notice, &format!("Removing the history file {} in the background", h.name));
        let _ = std::fs::remove_file(dir.join(&h.name));
    }
    let _ = persist_manifest(engine, &dir, &filename, &m);
    files.manifest = m;
    let base_size = bytes.len() as u64;
    let incr_size = files
        .manifest
        .incrs
        .iter()
        .map(|f| std::fs::metadata(dir.join(&f.name)).map(|m| m.len()).unwrap_or(0))
        .sum::<u64>();
    aof.base_size.store(base_size + incr_size, Relaxed);
    aof.current_size.store(base_size + incr_size, Relaxed);
    Ok(())
}

/// The cron's part: a scheduled rewrite, then the automatic one on growth
/// (`auto-aof-rewrite-percentage` over the size after the last rewrite, once past
/// `auto-aof-rewrite-min-size`).
pub fn cron(engine: &Engine) {
    let aof = &engine.aof;
    if aof.rewrite_in_progress() || engine.persistence.bgsave_in_progress().is_some() {
        return;
    }
    if aof.enable_scheduled.swap(false, Relaxed) && engine.config.get_bool("appendonly") {
        let _ = enable(engine);
        return;
    }
    if aof.rewrite_scheduled.load(Relaxed) {
        let mut keys = crate::persist::lock_all(engine);
        let _ = start_rewrite(engine, &mut keys, RewriteKind::Rewrite);
        return;
    }
    if !aof.is_on() {
        return;
    }
    let perc = engine.config.get_i64("auto-aof-rewrite-percentage");
    let min = engine.config.get_i64("auto-aof-rewrite-min-size").max(0) as u64;
    let size = aof.current_size.load(Relaxed);
    if perc <= 0 || size <= min {
        return;
    }
    let base = aof.base_size.load(Relaxed).max(1);
    let growth = (size.saturating_sub(base) * 100 / base) as i64;
    // Valkey backs off after repeated failures; a simpler pause of one retry per failure count.
    if growth >= perc && aof.rewrite_failures.load(Relaxed) < 3 {
        engine.log(LogLevel::Notice, &format!("Starting automatic rewriting of AOF on {growth}% growth"));
        let mut keys = crate::persist::lock_all(engine);
        let _ = start_rewrite(engine, &mut keys, RewriteKind::Rewrite);
    }
}

/// INFO persistence's `aof_*` fields.
pub fn info(engine: &Engine, field: &mut dyn FnMut(&str, String)) {
    let aof = &engine.aof;
    let now = crate::util::now_ms();
    let started = aof.rewrite_started_ms.load(Relaxed);
    field("aof_enabled", u8::from(aof.is_on()).to_string());
    field("aof_rewrite_in_progress", u8::from(started != 0).to_string());
    field("aof_rewrite_scheduled", u8::from(aof.rewrite_scheduled.load(Relaxed)).to_string());
    field("aof_last_rewrite_time_sec", aof.last_rewrite_secs.load(Relaxed).to_string());
    field(
        "aof_current_rewrite_time_sec",
        if started == 0 { "-1".to_string() } else { (now.saturating_sub(started) / 1000).to_string() },
    );
    field("aof_last_bgrewrite_status", if aof.last_rewrite_ok.load(Relaxed) { "ok" } else { "err" }.to_string());
    field("aof_rewrites", aof.rewrites.load(Relaxed).to_string());
    field("aof_rewrites_consecutive_failures", aof.rewrite_failures.load(Relaxed).to_string());
    field("aof_last_write_status", if aof.last_write_ok.load(Relaxed) { "ok" } else { "err" }.to_string());
    field("aof_last_cow_size", "0".to_string());
}

/// The fields INFO shows only while the AOF is on.
pub fn info_on(engine: &Engine, field: &mut dyn FnMut(&str, String)) {
    let aof = &engine.aof;
    if !aof.is_on() {
        return;
    }
    let pending = aof.sink.lock().as_ref().map_or(0, |s| s.pushed().saturating_sub(aof.fsynced.load(Relaxed)));
    field("aof_current_size", aof.current_size.load(Relaxed).to_string());
    field("aof_base_size", aof.base_size.load(Relaxed).to_string());
    field("aof_pending_rewrite", u8::from(aof.rewrite_scheduled.load(Relaxed)).to_string());
    field("aof_buffer_length", pending.to_string());
    field("aof_pending_bio_fsync", "0".to_string());
    field("aof_delayed_fsync", aof.delayed_fsync.load(Relaxed).to_string());
}
