//! Point-in-time snapshots of the whole keyspace without stopping clients (BGSAVE, the
//! replication snapshot of SYNC, and the base image of an AOF rewrite).
//!
//! Valkey forks and lets the kernel copy pages the parent changes. We copy keys instead:
//!
//! - [`start`] runs under every shard lock (a few µs per 1000 shards): it flips every shard's
//!   snapshot mark, which makes every present entry "not yet saved" (an entry's tag carries
//!   one mark bit), records each database's key and TTL counts for `RESIZEDB`, and gives each
//!   non-empty shard a [`ShardSnap`].
//! - [`Snapshot::write_to`] (any thread, no locks held) walks the shards in lock order, taking
//!   one shard lock at a time for a step of about 64 KiB of output: the entries of a few
//!   buckets (the SCAN cursor, so a resize between steps skips nothing) that do not carry the
//!   current mark are serialized and marked. The bytes are written out after the lock is
//!   released. When a shard's walk ends, its `ShardSnap` (copies made by writers, contents
//!   detached by FLUSHDB/FLUSHALL) is taken out and written after it.
//! - The write path: before a command (or expiry) changes or removes an entry of a shard that
//!   still has its `ShardSnap`, `Shard::before_change` serializes the entry into it if it is
//!   unmarked, and marks it. New entries are created marked, so they are never saved. When no
//!   snapshot runs this costs one test of a shard field per change.
//!
//! Every key present at the start is written exactly once, as it was at the start: either by
//! the saver (never changed before it got there), or from the copy taken just before its first
//! change. Keys created after the start are marked, so neither path writes them. Every entry
//! carries the current mark once the walk is over, which is what lets the next snapshot flip
//! the mark again; so a snapshot that is dropped unwritten, or whose output fails, still walks
//! (and marks) every shard, and only one snapshot runs at a time.

use crate::db::Keys;
use crate::engine::Engine;
use crate::keyspace::entry::EntryPtr;
use crate::keyspace::shard::Shard;
use crate::keyspace::SHARDS;
use crate::rdb::file::{self, FileOptions, Out};
use std::io::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// Output per shard-lock hold of the saver: about 50-100 µs of serialization.
const STEP_BYTES: usize = 64 << 10;

/// What a shard keeps for the snapshot in progress until the saver has walked it.
pub struct ShardSnap {
    opts: FileOptions,
    /// RDB records of keys copied by writers just before their first change.
    pre: Vec<u8>,
    pre_keys: u64,
    /// Former contents of the shard, emptied by FLUSHDB/FLUSHALL before the saver got there.
    pub(crate) detached: Vec<Shard>,
}

impl ShardSnap {
    fn new(opts: FileOptions) -> Box<ShardSnap> {
        Box::new(ShardSnap { opts, pre: Vec::new(), pre_keys: 0, detached: Vec::new() })
    }

    /// Serializes `e` as it is now (the write path, before `e` changes).
    #[cold]
    pub(crate) fn copy(&mut self, e: EntryPtr) {
        file::write_key(&mut self.pre, e.key(), e.value(), e.expire_at_ms(), e.lru(), self.opts);
        self.pre_keys += 1;
    }

    /// Bytes held (copies made by writers), for tests and statistics.
    pub fn copied_bytes(&self) -> usize {
        self.pre.capacity()
    }
}

/// Another snapshot is being taken (one at a time: see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// A snapshot started by [`start`]: write it with [`Snapshot::write_to`].
pub struct Snapshot {
    engine: Arc<Engine>,
    opts: FileOptions,
    /// Magic, version, aux fields and function libraries, as of the start.
    header: Vec<u8>,
    /// Per database: (keys, keys with a TTL) at the start.
    sizes: Vec<(u64, u64)>,
    walked: bool,
}

/// Starts a snapshot of every database. The caller holds every shard of every database
/// (`keys`); the snapshot is of this moment. `aux` and `functions` go into the header.
pub fn start(
    engine: &Engine,
    keys: &mut Keys<'_>,
    opts: FileOptions,
    aux: &[(&str, String)],
    functions: &[Vec<u8>],
) -> Result<Snapshot, Busy> {
    let engine = engine.arc().ok_or(Busy)?;
    let databases = engine.keyspace.databases();
    debug_assert!((0..databases).all(|db| keys.holds_all(db)));
    if engine.persistence.snapshot_active.swap(true, Relaxed) {
        return Err(Busy);
    }
    let mut sizes = Vec::with_capacity(databases);
    for db in 0..databases {
        let (mut n, mut expires) = (0u64, 0u64);
        for shard in keys.shards(db) {
            n += shard.len() as u64;
            expires += shard.volatile_len() as u64;
            let snap = (!shard.is_empty()).then(|| ShardSnap::new(opts));
            shard.snap_begin(snap);
        }
        sizes.push((n, expires));
    }
    let mut header = Vec::new();
    file::write_header(&mut header, opts.version, aux);
    for code in functions {
        file::write_function(&mut header, code);
    }
    Ok(Snapshot { engine, opts, header, sizes, walked: false })
}

impl Snapshot {
    /// Keys in the snapshot.
    pub fn keys(&self) -> u64 {
        self.sizes.iter().map(|s| s.0).sum()
    }

    /// Gives up a snapshot that was just started, before the caller released its locks
    /// (the same `keys`): every shard goes back to the state before [`start`].
    pub fn abandon(mut self, keys: &mut Keys<'_>) {
        for db in 0..self.sizes.len() {
            for shard in keys.shards(db) {
                shard.snap_abandon();
            }
        }
        self.walked = true;
        self.engine.persistence.snapshot_active.store(false, Relaxed);
    }

    /// Writes the snapshot as an RDB stream into `w` (no shard lock may be held by the
    /// caller). Returns the writer and the number of bytes. On an error the walk still
    /// finishes (see the module documentation) before the error is returned.
    pub fn write_to<W: Write>(mut self, w: W) -> std::io::Result<(W, u64)> {
        let mut out = Out::new(w, self.opts.checksum);
        out.buf.extend_from_slice(&self.header);
        let mut failed = None;
        let p = &self.engine.persistence;
        for db in 0..self.sizes.len() {
            let (size, expires) = self.sizes[db];
            if size == 0 {
                continue;
            }
            file::write_db_header(&mut out.buf, db, size as usize, expires as usize);
            let mut written = 0;
            for shard in 0..SHARDS {
                written += self.walk_shard(db, shard, &mut out, &mut failed);
            }
            p.save_keys_processed.fetch_add(written, Relaxed);
            if written != size && failed.is_none() {
                // Would be a bug in the copy-on-write rules; the file would not load as
                // written (RESIZEDB is only a hint, but the image would be wrong).
                debug_assert_eq!(written, size, "snapshot of db {db} wrote a wrong number of keys");
                failed =
                    Some(std::io::Error::other(format!("snapshot of db {db} has {written} keys instead of {size}")));
            }
        }
        self.finish_walk();
        match failed {
            Some(e) => Err(e),
            None => out.finish(),
        }
    }

    /// Walks one shard (see the module documentation); returns the keys written.
    fn walk_shard<W: Write>(
        &self,
        db: usize,
        shard: usize,
        out: &mut Out<W>,
        failed: &mut Option<std::io::Error>,
    ) -> u64 {
        let mut cursor = 0;
        let mut written = 0;
        loop {
            let (next, n, done) = self.engine.keyspace.with_shard(db, shard, |s| {
                if !s.snap_pending() {
                    return (0, 0, None);
                }
                s.snap_step(cursor, STEP_BYTES, &mut out.buf, failed.is_none().then_some(self.opts))
            });
            written += n;
            emit(out, failed);
            if let Some(snap) = done {
                written += self.write_shard_snap(*snap, out, failed);
            }
            if next == 0 {
                return written;
            }
            cursor = next;
        }
    }

    /// Writes what a finished shard kept aside: writers' copies and detached contents.
    fn write_shard_snap<W: Write>(
        &self,
        snap: ShardSnap,
        out: &mut Out<W>,
        failed: &mut Option<std::io::Error>,
    ) -> u64 {
        let ShardSnap { pre, pre_keys, detached, .. } = snap;
        if failed.is_some() {
            for old in detached {
                self.engine.lazy_free_shard(old);
            }
            return 0;
        }
        let mut written = pre_keys;
        out.buf.extend_from_slice(&pre);
        drop(pre);
        emit(out, failed);
        for old in detached {
            let mark = old.snap_mark();
            old.for_each(|e| {
                if e.snap_mark() != mark {
                    file::write_key(&mut out.buf, e.key(), e.value(), e.expire_at_ms(), e.lru(), self.opts);
                    written += 1;
                    emit(out, failed);
                }
            });
            self.engine.lazy_free_shard(old);
        }
        written
    }

    /// Marks the walk over: another snapshot may start.
    fn finish_walk(&mut self) {
        self.walked = true;
        self.engine.persistence.snapshot_active.store(false, Relaxed);
    }
}

/// Lowers the calling thread's scheduling priority (nice `SAVER_NICE`): a background saver
/// then takes the CPU the worker threads leave, instead of taking turns with them, which is
/// what client latency during a save depends on when cores are few (see ARCHITECTURE.md).
pub fn background_priority() {
    // SAFETY: plain syscalls on the calling thread; failure only leaves the priority as is.
    unsafe {
        let tid = libc::gettid();
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, SAVER_NICE);
    }
}

/// The nice value of background savers.
const SAVER_NICE: libc::c_int = 10;

/// Hands the buffer to the writer when it is big enough; after an error, drops it instead.
fn emit<W: Write>(out: &mut Out<W>, failed: &mut Option<std::io::Error>) {
    if failed.is_some() {
        out.buf.clear();
    } else if let Err(e) = out.maybe_flush() {
        out.buf.clear();
        *failed = Some(e);
    }
}

impl Drop for Snapshot {
    /// A snapshot dropped unwritten still walks every shard, marking what it would have
    /// written (the caller must hold no shard lock).
    fn drop(&mut self) {
        if self.walked {
            return;
        }
        let mut out = Out::new(std::io::sink(), false);
        let mut failed = Some(std::io::Error::other("dropped"));
        for db in 0..self.sizes.len() {
            if self.sizes[db].0 == 0 {
                continue;
            }
            for shard in 0..SHARDS {
                self.walk_shard(db, shard, &mut out, &mut failed);
            }
        }
        self.finish_walk();
    }
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
