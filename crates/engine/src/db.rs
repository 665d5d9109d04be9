//! The keyspace as a running command sees it: [`Keys`].
//!
//! A command gets a `Keys` holding the shard locks it was granted, the database it is in, and
//! the command's frozen clock. Every lookup goes through here, so the rules Valkey applies to
//! every key access are applied once: a key past its expiry time is deleted on sight and
//! reported as missing (with the `expired` event), reads count keyspace hits and misses, and
//! accesses refresh the key's LRU clock. Every modification is reported through
//! [`Keys::changed`], the single place keyspace events, WATCH and client-side caching hang on.

use crate::blocking::{Served, SlotState, Waiter};
use crate::commands::{CmdResult, Error};
use crate::engine::Engine;
use crate::evict::clock::Stamp;
use crate::keyspace::entry::EntryPtr;
use crate::keyspace::shard::Shard;
use crate::keyspace::{hash_key, shard_of, Guards};
use crate::notify;
#[cfg(test)]
use crate::notify::KeyEvent;
use crate::propagate::Op;
use crate::types::{Value, ValueRef};
use resp::Reply;
use std::marker::PhantomData;
use std::sync::Arc;

/// What a command changed or observed, gathered while it runs and applied by the dispatcher
/// after it (stats) or while the locks are still held (events).
/// How a command's own change is propagated.
#[derive(Default)]
pub enum Propagate {
    /// As it was called (if it changed anything).
    #[default]
    AsCalled,
    /// As these arguments instead.
    As(Vec<Vec<u8>>),
    /// Not at all.
    Nothing,
    /// As it was called, even if it changed nothing (FLUSHDB/FLUSHALL of empty databases:
    /// Valkey's `forceCommandPropagation`).
    Forced,
}

#[derive(Default)]
pub struct Effects {
    /// Extra commands to propagate before the command's own (expired keys deleted on the way).
    pub propagate: Vec<Op>,
    /// How the command itself is propagated.
    pub own: Propagate,
    /// Keys with blocked clients that were written, in order: served before unlocking.
    pub ready: std::collections::VecDeque<(usize, Vec<u8>)>,
    /// Set when the command decided to block its client.
    pub block: Option<crate::blocking::BlockRequest>,
    /// Set by SYNC: the connection becomes a replica fed from this sink.
    pub replica: Option<Arc<crate::propagate::Sink>>,
    /// Waiters whose serving needs locks the writer did not hold.
    pub retry: Vec<(Arc<Waiter>, Vec<u8>)>,
    /// Number of changes, Valkey's `server.dirty` increment.
    pub dirty: u64,
    pub hits: u64,
    pub misses: u64,
    pub expired: u64,
    /// Keyspace events published, in order (kept for unit tests).
    #[cfg(test)]
    pub events: Vec<KeyEvent>,
}

/// A present key, borrowed from its shard for as long as the `Keys` is not used again.
#[derive(Clone, Copy)]
pub struct Entry<'k> {
    ptr: EntryPtr,
    _shard: PhantomData<&'k Shard>,
}

impl<'k> Entry<'k> {
    pub fn key(&self) -> &'k [u8] {
        self.ptr.key()
    }

    pub fn value(&self) -> ValueRef<'k> {
        self.ptr.value()
    }

    pub fn expire_at_ms(&self) -> Option<u64> {
        self.ptr.expire_at_ms()
    }

    pub fn lru(&self) -> u32 {
        self.ptr.lru()
    }

    pub fn raw(&self) -> EntryPtr {
        self.ptr
    }
}

/// How a write treats an existing TTL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ttl {
    /// Remove any TTL (plain SET).
    Clear,
    /// Keep the TTL the key had (SET KEEPTTL, APPEND, INCR ...).
    Keep,
    /// Set this absolute expiry time in ms.
    At(u64),
}

/// Lookup flavour, as in Valkey's `lookupKey*` family.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Counts a keyspace hit or miss and emits `keymiss` on a miss.
    Read,
    /// For writes: no hit/miss accounting.
    Write,
    /// No hit/miss accounting and no LRU refresh (OBJECT, TYPE-like introspection, SCAN).
    Peek,
}

/// The keyspace as a command sees it.
pub struct Keys<'a> {
    guards: Guards<'a>,
    /// The database the command runs in.
    pub db: usize,
    /// The command's clock, read once when it started (ms since the epoch).
    pub now_ms: u64,
    /// How keys created and accessed by the command are stamped for LRU/LFU.
    stamp: Stamp,
    /// Whether reads refresh the LRU clock (off for CLIENT NO-TOUCH clients).
    touch: bool,
    /// Inside EXEC (and scripts) a client may not block: a blocking command that finds
    /// nothing answers as if it timed out at once.
    pub may_block: bool,
    /// The client whose command this is (0: none, e.g. the expiry cycle): changes it makes
    /// are not sent back to it by CLIENT TRACKING NOLOOP.
    pub caller: u64,
    pub effects: Effects,
    engine: &'a Engine,
}

impl<'a> Keys<'a> {
    pub fn new(engine: &'a Engine, guards: Guards<'a>, db: usize, now_ms: u64, touch: bool) -> Keys<'a> {
        Keys {
            guards,
            db,
            now_ms,
            stamp: Stamp::new(&engine.config, now_ms),
            touch,
            may_block: true,
            caller: 0,
            effects: Effects::default(),
            engine,
        }
    }

    pub fn engine(&self) -> &'a Engine {
        self.engine
    }

    /// Gives up the locks, returning what the command did.
    pub fn finish(self) -> Effects {
        self.effects
    }

    /// Releases every shard lock; the effects stay readable.
    pub fn unlock(&mut self) {
        self.guards = Guards::none();
    }

    /// Lets the commands waiting for any held shard run, runs `pause` meanwhile, and takes
    /// the same shards back ([`Guards::yield_fairly`]). Only for a holder whose state between
    /// two steps is one others may see: the startup load between two keys.
    pub fn yield_locks(&mut self, pause: impl FnOnce()) {
        self.guards.yield_fairly(&self.engine.keyspace, pause);
    }

    /// The locked shard of `key` in `db`, with the key's hash.
    fn shard(&mut self, db: usize, key: &[u8]) -> Result<(&mut Shard, u64), Error> {
        let h = hash_key(key);
        match self.guards.shard(db, shard_of(h)) {
            Some(s) => Ok((s, h)),
            None => {
                debug_assert!(false, "shard of {:?} not locked in db {db}", String::from_utf8_lossy(key));
                Err(Error::internal("key accessed without its shard lock"))
            }
        }
    }

    fn lookup(&mut self, db: usize, key: &[u8], access: Access) -> Result<Option<EntryPtr>, Error> {
        let now = self.now_ms;
        let (stamp, touch) = (self.stamp, self.touch && access != Access::Peek);
        let engine = self.engine;
        let (shard, h) = self.shard(db, key)?;
        let found = match shard.find(h, key) {
            Some(e) if e.expire_at_ms().is_some_and(|t| now > t) => {
                // While clients are paused nothing is deleted (it would be a write replicas
                // see): the key only reads as missing until the pause ends.
                if !engine.pause.expiry_paused() {
                    shard.remove(h, key);
                    self.key_expired(db, key);
                }
                None
            }
            Some(e) => {
                if touch {
                    e.set_lru(stamp.touched(e.lru()));
                }
                Some(e)
            }
            None => None,
        };
        if access == Access::Read {
            if found.is_some() {
                self.effects.hits += 1;
            } else {
                self.effects.misses += 1;
                self.notify(notify::KEY_MISS, "keymiss", db, key);
            }
        }
        Ok(found)
    }

    /// A key found past its TTL was deleted: Valkey's `deleteExpiredKeyAndPropagate` (an
    /// `expired` event, a DEL or UNLINK for replicas; not a change of the command's own).
    fn key_expired(&mut self, db: usize, key: &[u8]) {
        self.effects.expired += 1;
        self.notify(notify::EXPIRED, "expired", db, key);
        self.touch_watched(db, key);
        if self.engine.tracking.active() {
            self.engine.tracking.invalidate(self.engine, key, self.caller, true);
        }
        self.propagate_deletion(db, key);
    }

    /// Records the deletion of an expired key as DEL or UNLINK (`lazyfree-lazy-expire`).
    pub fn propagate_deletion(&mut self, db: usize, key: &[u8]) {
        if self.engine.propagation.is_active() {
            let lazy = self.engine.config.hot.lazyfree_lazy_expire.load(std::sync::atomic::Ordering::Relaxed);
            let cmd: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
            self.effects.propagate.push(Op { db, argv: vec![cmd.to_vec(), key.to_vec()] });
        }
    }

    /// Whether writes are being propagated (replicas attached): commands may skip building
    /// rewritten arguments otherwise.
    pub fn propagating(&self) -> bool {
        self.engine.propagation.is_active()
    }

    /// Propagates this command as `argv` instead of its own arguments (Valkey's
    /// `rewriteClientCommandVector`), e.g. `SET k v PXAT <ms>` for `SET k v EX 10`.
    pub fn propagate_as(&mut self, argv: Vec<Vec<u8>>) {
        if self.propagating() {
            self.effects.own = Propagate::As(argv);
        }
    }

    /// Propagates this command as called even if it changed nothing.
    pub fn propagate_always(&mut self) {
        self.effects.own = Propagate::Forced;
    }

    /// Propagates nothing for this command itself even if it changed something (the change
    /// was recorded otherwise).
    pub fn propagate_nothing(&mut self) {
        self.effects.own = Propagate::Nothing;
    }

    /// Records an extra command to propagate, before the command's own.
    pub fn propagate_also(&mut self, db: usize, argv: Vec<Vec<u8>>) {
        if self.propagating() {
            self.effects.propagate.push(Op { db, argv });
        }
    }

    /// Looks a key up for reading (Valkey's `lookupKeyRead`).
    pub fn read(&mut self, key: &[u8]) -> Result<Option<Entry<'_>>, Error> {
        let db = self.db;
        Ok(self.lookup(db, key, Access::Read)?.map(|ptr| Entry { ptr, _shard: PhantomData }))
    }

    /// Looks a key up for reading and checks its type (Valkey's `lookupKeyRead` +
    /// `checkType`): `None` if missing, WRONGTYPE if `project` finds another type in it.
    pub fn read_as<'k, T>(
        &'k mut self,
        key: &[u8],
        project: impl FnOnce(ValueRef<'k>) -> Option<T>,
    ) -> Result<Option<T>, Error> {
        match self.read(key)? {
            None => Ok(None),
            Some(e) => project(e.value()).map(Some).ok_or(crate::commands::errors::WRONGTYPE),
        }
    }

    /// Looks a key up before modifying it (Valkey's `lookupKeyWrite`).
    pub fn write(&mut self, key: &[u8]) -> Result<Option<Entry<'_>>, Error> {
        let db = self.db;
        Ok(self.lookup(db, key, Access::Write)?.map(|ptr| Entry { ptr, _shard: PhantomData }))
    }

    /// Looks a key up without touching stats or its LRU clock (but still expiring it).
    pub fn peek(&mut self, key: &[u8]) -> Result<Option<Entry<'_>>, Error> {
        let db = self.db;
        self.peek_in(db, key)
    }

    /// Looks a key up without touching it, and without deleting it if its TTL has passed
    /// (it is reported missing then): what serving a blocked client sees, as in Valkey, where
    /// the deletion is left to the next command that looks at the key.
    pub fn peek_unexpired(&mut self, key: &[u8]) -> Result<Option<Entry<'_>>, Error> {
        let (db, now) = (self.db, self.now_ms);
        let (shard, h) = self.shard(db, key)?;
        Ok(shard
            .find(h, key)
            .filter(|e| e.expire_at_ms().is_none_or(|t| now <= t))
            .map(|ptr| Entry { ptr, _shard: PhantomData }))
    }

    /// Finds a key whether or not its TTL has passed, touching nothing (DEBUG DIGEST-VALUE and
    /// DEBUG OBJECT, which Valkey answers with `dbFind`).
    pub fn find_raw(&mut self, key: &[u8]) -> Result<Option<Entry<'_>>, Error> {
        let db = self.db;
        let (shard, h) = self.shard(db, key)?;
        Ok(shard.find(h, key).map(|ptr| Entry { ptr, _shard: PhantomData }))
    }

    pub fn peek_in(&mut self, db: usize, key: &[u8]) -> Result<Option<Entry<'_>>, Error> {
        Ok(self.lookup(db, key, Access::Peek)?.map(|ptr| Entry { ptr, _shard: PhantomData }))
    }

    pub fn write_in(&mut self, db: usize, key: &[u8]) -> Result<Option<Entry<'_>>, Error> {
        Ok(self.lookup(db, key, Access::Write)?.map(|ptr| Entry { ptr, _shard: PhantomData }))
    }

    pub fn exists(&mut self, key: &[u8]) -> Result<bool, Error> {
        Ok(self.write(key)?.is_some())
    }

    /// Stores `value` at `key`, creating or overwriting it.
    pub fn set(&mut self, key: &[u8], value: Value, ttl: Ttl) -> CmdResult {
        let db = self.db;
        self.set_in(db, key, value, ttl)
    }

    pub fn set_in(&mut self, db: usize, key: &[u8], value: Value, ttl: Ttl) -> CmdResult {
        let stamp = self.stamp;
        let (shard, h) = self.shard(db, key)?;
        let ttl = match ttl {
            Ttl::Keep => None,
            Ttl::Clear => Some(None),
            Ttl::At(when) => Some(Some(when)),
        };
        if shard.store(h, key, value, ttl, &stamp) {
            self.notify(notify::NEW, "new", db, key);
        }
        Ok(())
    }

    /// Adds a key known to be absent (after a lookup that found nothing).
    pub fn add(&mut self, key: &[u8], value: Value, expire_at_ms: Option<u64>) -> CmdResult {
        let db = self.db;
        let lru = self.stamp.fresh();
        let (shard, h) = self.shard(db, key)?;
        debug_assert!(shard.find(h, key).is_none());
        shard.insert(h, key, value, expire_at_ms, lru);
        self.notify(notify::NEW, "new", db, key);
        Ok(())
    }

    /// Removes a key, returning its value and TTL. Does not report the change.
    pub fn remove(&mut self, key: &[u8]) -> Result<Option<(Value, Option<u64>)>, Error> {
        let db = self.db;
        self.remove_in(db, key)
    }

    pub fn remove_in(&mut self, db: usize, key: &[u8]) -> Result<Option<(Value, Option<u64>)>, Error> {
        if self.lookup(db, key, Access::Write)?.is_none() {
            return Ok(None);
        }
        let (shard, h) = self.shard(db, key)?;
        Ok(shard.remove(h, key))
    }

    /// Deletes a key and reports the `del` event; false if it did not exist.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool, Error> {
        match self.remove(key)? {
            Some((value, _)) => {
                self.engine.lazy_free(value);
                self.changed(key, notify::GENERIC, "del");
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Sets (`Some`) or removes (`None`) the TTL of a present key; false if absent.
    pub fn set_expire(&mut self, key: &[u8], expire_at_ms: Option<u64>) -> Result<bool, Error> {
        let db = self.db;
        if self.lookup(db, key, Access::Write)?.is_none() {
            return Ok(false);
        }
        let (shard, h) = self.shard(db, key)?;
        Ok(shard.set_expire(h, key, expire_at_ms).is_some())
    }

    /// Overwrites the integer value of a key that currently holds an integer, in place.
    pub fn set_int(&mut self, key: &[u8], v: i64) -> CmdResult {
        let db = self.db;
        let lru = self.stamp.fresh();
        let (shard, h) = self.shard(db, key)?;
        match shard.find(h, key) {
            // The caller's lookup stamped the key already.
            Some(e) if e.kind() == crate::keyspace::entry::Kind::StrInt => {
                shard.before_change(e);
                e.set_int_in_place(v);
            }
            Some(_) => {
                shard.replace_value(h, key, Value::Int(v));
            }
            None => {
                shard.insert(h, key, Value::Int(v), None, lru);
                self.notify(notify::NEW, "new", db, key);
            }
        }
        Ok(())
    }

    /// The growable byte buffer of a string key, converting it to that representation if it
    /// is stored inline or as an integer (APPEND, SETRANGE, SETBIT). Creates an empty string
    /// when the key is absent.
    pub fn string_mut(&mut self, key: &[u8]) -> Result<&mut Vec<u8>, Error> {
        use crate::keyspace::entry::{Kind, INLINE_STR_MAX};
        let db = self.db;
        let lru = self.stamp.fresh();
        let (shard, h) = self.shard(db, key)?;
        let e = match shard.find(h, key) {
            Some(e) if e.kind() == Kind::StrHeap => {
                shard.before_change(e);
                e
            }
            Some(e) => {
                let mut bytes = match e.value() {
                    ValueRef::Str(s) => s.to_vec(),
                    _ => return Err(crate::commands::errors::WRONGTYPE),
                };
                // Reserve past the inline limit so the value stays in a heap buffer.
                bytes.reserve(INLINE_STR_MAX + 1);
                let value = Value::Str(bytes);
                shard.replace_value(h, key, force_heap(value)).expect("key vanished under lock")
            }
            None => {
                let e = shard.insert(h, key, force_heap(Value::Str(Vec::new())), None, lru);
                self.notify(notify::NEW, "new", db, key);
                e
            }
        };
        Ok(e.heap_str_mut())
    }

    /// Reports that `key` in the current database was modified by `event` of `class`: the one
    /// place keyspace notifications, WATCH invalidation and client-side caching hang on.
    pub fn changed(&mut self, key: &[u8], class: u32, event: &'static str) {
        let db = self.db;
        self.changed_in(db, key, class, event);
    }

    pub fn changed_in(&mut self, db: usize, key: &[u8], class: u32, event: &'static str) {
        self.effects.dirty += 1;
        self.notify(class, event, db, key);
        if self.engine.tracking.active() {
            self.engine.tracking.invalidate(self.engine, key, self.caller, true);
        }
        // One shard lookup for both: watchers' transactions fail (Valkey's `touchWatchedKey`),
        // clients blocked on the key get a chance to be served.
        let waiting = match self.guards.shard(db, shard_of(hash_key(key))) {
            Some(s) => {
                s.touch_watched(key);
                s.waiters.has(key)
            }
            None => false,
        };
        if waiting {
            self.mark_ready(db, key);
        }
    }

    /// Fails the transactions of clients watching `key` (Valkey's `touchWatchedKey`).
    fn touch_watched(&mut self, db: usize, key: &[u8]) {
        if let Some(s) = self.guards.shard(db, shard_of(hash_key(key))) {
            s.touch_watched(key);
        }
    }

    /// Registers `client` as watching `key` in `db` (whose shard the command holds), without
    /// expiring it. Returns when the key, alive now, expires (see [`crate::watch`]).
    pub fn watch(
        &mut self,
        db: usize,
        key: &[u8],
        client: &std::sync::Arc<crate::client::ClientShared>,
    ) -> Result<Option<u64>, Error> {
        let now = self.now_ms;
        let (shard, h) = self.shard(db, key)?;
        let ttl = shard.find(h, key).and_then(|e| e.expire_at_ms());
        let stale = ttl.is_some_and(|t| now > t);
        shard.watchers.add(key, client, stale);
        Ok(ttl.filter(|_| !stale))
    }

    /// Marks `key` ready if clients are blocked on it.
    pub fn signal_ready(&mut self, db: usize, key: &[u8]) {
        let h = hash_key(key);
        if self.guards.shard(db, shard_of(h)).is_some_and(|s| s.waiters.has(key)) {
            self.mark_ready(db, key);
        }
    }

    fn mark_ready(&mut self, db: usize, key: &[u8]) {
        if !self.effects.ready.iter().any(|(d, k)| *d == db && k == key) {
            self.effects.ready.push_back((db, key.to_vec()));
        }
    }

    /// Blocks the client: registers `req.waiter` on each of its keys (their shards are locked
    /// by the command) and tells the dispatcher to park the connection.
    pub fn block(&mut self, req: crate::blocking::BlockRequest) -> CmdResult {
        if !self.may_block {
            // Not registered anywhere: the caller answers with the waiter's timeout reply.
            self.effects.block = Some(req);
            return Ok(());
        }
        let w = req.waiter.clone();
        for key in &w.keys {
            let (shard, _) = self.shard(w.db, key)?;
            shard.waiters.push(key, w.clone());
        }
        self.effects.block = Some(req);
        Ok(())
    }

    /// Serves clients blocked on keys that this command made ready, first come first served,
    /// while the command's locks are still held. Waiters that need more locks are left in
    /// `effects.retry`.
    pub fn serve_ready(&mut self) {
        // A served command runs now, not when the writer started: a key the writer gave a TTL
        // that has passed since (DEBUG SLEEP in a transaction) is expired for it.
        self.now_ms = crate::util::now_ms();
        self.stamp = Stamp::new(&self.engine.config, self.now_ms);
        while let Some((db, key)) = self.effects.ready.pop_front() {
            // Every client waiting when the key became ready gets a try, in order (Valkey's
            // `handleClientsBlockedOnKey`): one that finds nothing for it (a list waiter on a
            // key that is now a stream) does not stop the ones behind it.
            let waiting = match self.guards.shard(db, shard_of(hash_key(&key))) {
                Some(s) => s.waiters.waiting(&key),
                None => Vec::new(),
            };
            for w in waiting {
                if !w.slot.is_waiting() {
                    continue;
                }
                let mut out = Reply::new(w.resp3);
                let saved_db = std::mem::replace(&mut self.db, db);
                let saved_caller = std::mem::replace(&mut self.caller, w.client_id);
                let started_us = crate::util::now_us();
                let result = (w.serve)(self, &w, &key, &mut out);
                let usec = crate::util::now_us().saturating_sub(started_us);
                self.db = saved_db;
                self.caller = saved_caller;
                // A served blocked command is an execution unit of its own; so is a key found
                // expired when serving was attempted (its deletion goes to replicas even if
                // nobody was served).
                if !self.effects.propagate.is_empty() {
                    let ops = std::mem::take(&mut self.effects.propagate);
                    self.engine.propagation.append(&ops, true);
                }
                let done = match result {
                    Ok(Served::Yes) => true,
                    Ok(Served::NotYet) => continue,
                    Ok(Served::Retry) => {
                        self.effects.retry.push((w.clone(), key.clone()));
                        break;
                    }
                    Err(e) => {
                        out = Reply::new(w.resp3);
                        out.error_bytes(e.text());
                        true
                    }
                };
                if done {
                    if out.error_count() > 0 {
                        self.engine.blocked_command_failed(w.client_id, &mut out);
                    }
                    crate::slowlog::log_served(self.engine, &w, usec);
                    w.slot.finish(SlotState::Served(out.as_bytes().to_vec()));
                    if let Some(s) = self.guards.shard(db, shard_of(hash_key(&key))) {
                        s.waiters.remove(&key, &w);
                    }
                }
            }
        }
    }

    /// Locks `key`'s shard in `db` too if it can be had without waiting (serving BLMOVE to a
    /// destination elsewhere); false means the caller should answer `Served::Retry`.
    pub fn try_lock_key(&mut self, db: usize, key: &[u8]) -> bool {
        let shard = shard_of(hash_key(key));
        self.guards.try_add(&self.engine.keyspace, db, shard)
    }

    /// Locks the shards of `set` that are not held yet, waiting for them if need be (a script
    /// reaching keys it did not declare). Shards taken in any order: only the running
    /// script may do this (see `exec::keep_waiting_for_locks`). A shard already free costs
    /// one `try_lock`.
    pub fn lock_more(&mut self, set: &crate::keyspace::LockSet) {
        let keyspace = &self.engine.keyspace;
        for &(db, mask) in set.entries() {
            let mut m = mask;
            while m != 0 {
                let shard = m.trailing_zeros() as usize;
                if !self.guards.try_add(keyspace, db, shard) {
                    self.guards.add(keyspace, db, shard);
                }
                m &= m - 1;
            }
        }
    }

    /// Publishes a keyspace event if its class is enabled: at once, under the command's
    /// locks, as Valkey's `notifyKeyspaceEvent` does (so the events of one key go out in the
    /// order its changes happened).
    pub fn notify(&mut self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        let flags = self.engine.notify_flags();
        if flags & class != 0 {
            self.engine.pubsub.keyspace_event(self.engine, flags, event, db, key);
            #[cfg(test)]
            self.effects.events.push(KeyEvent { class, event, db, key: key.to_vec() });
        }
    }

    /// All locked shards of `db` (for whole-database commands, which lock them all).
    pub fn shards(&mut self, db: usize) -> impl Iterator<Item = &mut Shard> + use<'_, 'a> {
        self.guards.shards_of(db)
    }

    pub fn holds_all(&self, db: usize) -> bool {
        self.guards.holds_all(db)
    }

    /// Deletes `key` if its TTL has passed (for whole-database walks that see raw entries).
    /// Returns whether it was expired.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8]) -> Result<bool, Error> {
        Ok(self.lookup(db, key, Access::Peek)?.is_none())
    }

    pub fn lru_clock(&self) -> u32 {
        self.stamp.lru_clock
    }

    /// The stamp of a key created now under the current policy (Valkey's `createObject`).
    pub fn fresh_stamp(&self) -> u32 {
        self.stamp.fresh()
    }

    /// Runs `f` on the value of `key` in place (collections are swapped out of their entry and
    /// back without copying). `None` if the key does not exist. The caller reports the change
    /// with [`Keys::changed`] and removes a collection it emptied with
    /// [`Keys::delete_if_empty`].
    pub fn modify<R>(&mut self, key: &[u8], f: impl FnOnce(&mut Value) -> R) -> Result<Option<R>, Error> {
        let db = self.db;
        if self.lookup(db, key, Access::Write)?.is_none() {
            return Ok(None);
        }
        let (shard, h) = self.shard(db, key)?;
        let Some(e) = shard.find(h, key) else { return Ok(None) };
        if !e.is_by_pointer() {
            // Rebuilt by `replace_value`, which copies it into a snapshot in progress.
            let mut v = e.value().to_owned_value();
            let r = f(&mut v);
            shard.replace_value(h, key, v);
            return Ok(Some(r));
        }
        /// Puts the value back into the entry even if `f` unwinds.
        struct PutBack {
            entry: EntryPtr,
            value: Option<Value>,
        }
        impl Drop for PutBack {
            fn drop(&mut self) {
                if let Some(v) = self.value.take() {
                    let v = match v {
                        // A collection turned into a short string (no command does this):
                        // keep it by pointer so that it fits the slot.
                        Value::Int(i) => force_heap(Value::Str(i.to_string().into_bytes())),
                        Value::Str(b) => force_heap(Value::Str(b)),
                        other => other,
                    };
                    // SAFETY: the payload was taken by `take_value` below and not yet put back;
                    // `force_heap` made the value one that is stored by pointer.
                    let back = unsafe { self.entry.put_value(v) };
                    debug_assert!(back.is_ok());
                }
            }
        }
        shard.before_change(e);
        // SAFETY: `e` is by pointer; the guard puts a value back before anything else can see
        // the entry (we hold its shard lock and `f` has no access to the keyspace).
        let mut guard = PutBack { entry: e, value: Some(unsafe { e.take_value() }) };
        let r = f(guard.value.as_mut().expect("just taken"));
        drop(guard);
        Ok(Some(r))
    }

    /// Deletes `key` if it holds an empty collection, reporting `del` as Valkey does after the
    /// last element is removed. Returns whether it was deleted.
    pub fn delete_if_empty(&mut self, key: &[u8]) -> Result<bool, Error> {
        let empty = match self.peek(key)? {
            Some(e) => match e.value() {
                ValueRef::Hash(h) => h.is_empty(),
                ValueRef::Set(s) => s.is_empty(),
                ValueRef::ZSet(z) => z.is_empty(),
                ValueRef::List(l) => l.is_empty(),
                ValueRef::Str(_) | ValueRef::Stream(_) => false,
            },
            None => false,
        };
        if empty {
            if let Some((v, _)) = self.remove(key)? {
                self.engine.lazy_free(v);
            }
            self.changed(key, notify::GENERIC, "del");
        }
        Ok(empty)
    }

    /// Looks up several keys for reading, in order, each as [`Keys::read`] does (expiry, hits
    /// and misses, `keymiss`), and hands back all the entries at once (SINTER, SUNION, ...). The
    /// walk stops after the first present key for which `stop` is true (a key of the wrong type:
    /// Valkey looks no further), which is then the last entry returned.
    ///
    /// The entries stay valid together: a lookup only ever removes the key it looks up, and only
    /// when that key is past its TTL, which a key found alive earlier in the same command (same
    /// frozen clock) is not; other lookups may move entries between buckets, never free them.
    pub fn read_each(
        &mut self,
        keys: &[&[u8]],
        stop: impl Fn(ValueRef<'_>) -> bool,
    ) -> Result<Vec<Option<Entry<'_>>>, Error> {
        let db = self.db;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let found = self.lookup(db, key, Access::Read)?;
            out.push(found.map(|ptr| Entry { ptr, _shard: PhantomData }));
            if found.is_some_and(|e| stop(e.value())) {
                break;
            }
        }
        Ok(out)
    }

    // ---- Generic key family helpers (SCAN, RANDOMKEY, RENAME, MOVE, COPY, RESTORE, OBJECT) ----
    //
    // Kept together, after everything else, so that other families can add helpers above
    // without touching these.

    /// Looks a key up the way Valkey's `lookupKeyReadWithFlags(LOOKUP_NOTOUCH)` does: expires
    /// it if due, counts a keyspace hit or miss, but leaves its LRU clock alone (EXISTS, TYPE,
    /// TTL, OBJECT). `notify_miss` false is `LOOKUP_NONOTIFY`: no `keymiss` event.
    pub fn read_untouched(&mut self, key: &[u8], notify_miss: bool) -> Result<Option<Entry<'_>>, Error> {
        let db = self.db;
        let found = self.lookup(db, key, Access::Peek)?;
        if found.is_some() {
            self.effects.hits += 1;
        } else {
            self.effects.misses += 1;
            if notify_miss {
                self.notify(notify::KEY_MISS, "keymiss", db, key);
            }
        }
        Ok(found.map(|ptr| Entry { ptr, _shard: PhantomData }))
    }

    /// Creates `key` in `db`, which must be absent (a lookup just found nothing), with an
    /// explicit TTL and LRU/LFU stamp, and reports the `new` event as Valkey's `dbAdd` does.
    /// The caller reports the command's own event (`rename_to`, `copy_to`, `restore` ...).
    pub fn add_new_in(
        &mut self,
        db: usize,
        key: &[u8],
        value: Value,
        expire_at_ms: Option<u64>,
        lru: u32,
    ) -> CmdResult {
        let (shard, h) = self.shard(db, key)?;
        if shard.find(h, key).is_some() {
            debug_assert!(false, "add_new_in on a present key");
            return Err(Error::internal("key created twice"));
        }
        shard.insert(h, key, value, expire_at_ms, lru);
        self.notify(notify::NEW, "new", db, key);
        Ok(())
    }

    /// Adds a key read from an RDB file to `db`, with no event and no change counted (Valkey's
    /// `dbAddRDBLoad`). A present key is replaced if `replace`, else left alone and `false`
    /// returned.
    pub fn load_in(
        &mut self,
        db: usize,
        key: &[u8],
        value: Value,
        expire_at_ms: Option<u64>,
        lru: u32,
        replace: bool,
    ) -> Result<bool, Error> {
        let engine = self.engine;
        let (shard, h) = self.shard(db, key)?;
        if shard.find(h, key).is_some() {
            if !replace {
                return Ok(false);
            }
            if let Some((old, _)) = shard.remove(h, key) {
                engine.lazy_free(old);
            }
        }
        shard.insert(h, key, value, expire_at_ms, lru);
        Ok(true)
    }

    /// Removes `key` from the current database whether or not its TTL has passed, returning
    /// its value; no event, no expiry (Valkey's `dbDelete`, as RESTORE REPLACE uses it).
    pub fn remove_ignoring_ttl(&mut self, key: &[u8]) -> Result<Option<Value>, Error> {
        let db = self.db;
        let (shard, h) = self.shard(db, key)?;
        Ok(shard.remove(h, key).map(|(value, _)| value))
    }

    /// One SCAN call over the current database, every shard of which must be locked.
    ///
    /// The cursor is `(bucket_cursor << SHARD_BITS) | shard`: shards are walked in order, and
    /// inside a shard the dict's reverse-binary bucket cursor (which keeps Valkey's guarantee
    /// across resizes) is advanced one bucket at a time. As in Valkey's `scanGenericCommand`
    /// the call stops once `count` entries were visited, after `10 * count` bucket steps, or
    /// at the end of the iteration (returned cursor 0). `visit` sees every visited entry,
    /// expired or not: the caller filters, then expires what it kept.
    pub fn scan(&mut self, cursor: u64, count: usize, mut visit: impl FnMut(EntryPtr)) -> Result<u64, Error> {
        use crate::keyspace::{SHARDS, SHARD_BITS};
        let db = self.db;
        let mut shard = (cursor & (SHARDS as u64 - 1)) as usize;
        let mut bucket_cursor = cursor >> SHARD_BITS;
        let mut sampled = 0usize;
        let mut steps_left = count.saturating_mul(10);
        loop {
            let s = self.guards.shard(db, shard).ok_or_else(|| Error::internal("SCAN without its shard locks"))?;
            let next = if s.is_empty() {
                0
            } else {
                s.scan(bucket_cursor, |e| {
                    sampled += 1;
                    visit(e);
                })
            };
            if next == 0 {
                // This shard is done (or empty): continue at the start of the next non-empty one.
                let mut following = None;
                for i in shard + 1..SHARDS {
                    let s = self.guards.shard(db, i).ok_or_else(|| Error::internal("SCAN without its shard locks"))?;
                    if !s.is_empty() {
                        following = Some(i);
                        break;
                    }
                }
                match following {
                    Some(i) => {
                        shard = i;
                        bucket_cursor = 0;
                    }
                    None => return Ok(0),
                }
            } else {
                bucket_cursor = next;
            }
            if steps_left == 0 || sampled >= count {
                return Ok((bucket_cursor << SHARD_BITS) | shard as u64);
            }
            steps_left -= 1;
        }
    }

    /// A random key of the current database (every shard locked), each shard chosen with
    /// probability proportional to its size. Keys found expired are deleted (with their
    /// `expired` event) and another is drawn, as Valkey's `dbRandomKey` does; each retry
    /// removes a key, so this ends.
    pub fn random_key(&mut self) -> Result<Option<Vec<u8>>, Error> {
        let db = self.db;
        let mut rng = fastrand::Rng::new();
        loop {
            let total: usize = self.guards.shards_of(db).map(|s| s.len()).sum();
            if total == 0 {
                return Ok(None);
            }
            let mut pick = rng.usize(..total);
            let mut key = None;
            for s in self.guards.shards_of(db) {
                if pick < s.len() {
                    key = s.random(&mut rng).map(|e| (e.key().to_vec(), e.has_ttl()));
                    break;
                }
                pick -= s.len();
            }
            let Some((key, volatile)) = key else {
                return Err(Error::internal("RANDOMKEY found no key in a non-empty shard"));
            };
            if !volatile || self.lookup(db, &key, Access::Peek)?.is_some() {
                return Ok(Some(key));
            }
        }
    }
}

/// A string value that must live in a heap buffer even if short.
fn force_heap(v: Value) -> Value {
    match v {
        Value::Str(mut b) => {
            if b.capacity() <= crate::keyspace::entry::INLINE_STR_MAX {
                b.reserve(crate::keyspace::entry::INLINE_STR_MAX + 1 - b.len());
            }
            Value::Str(b)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::LockSet;

    #[test]
    fn creating_a_key_reports_new_before_the_command_event() {
        let engine = Engine::for_tests();
        engine.config.set("notify-keyspace-events", &[b"KEA"]).unwrap();
        engine.config.set("notify-keyspace-events", &[b"KEAn"]).unwrap();
        let mut locks = LockSet::new();
        locks.add_db(0);
        let mut keys = Keys::new(&engine, engine.keyspace.lock(&locks), 0, 1, true);
        keys.set(b"k", Value::Int(1), Ttl::Clear).unwrap();
        keys.changed(b"k", notify::STRING, "set");
        keys.set(b"k", Value::Int(2), Ttl::Clear).unwrap();
        keys.changed(b"k", notify::STRING, "set");
        let events: Vec<&str> = keys.effects.events.iter().map(|e| e.event).collect();
        assert_eq!(events, vec!["new", "set", "set"]);
    }
}
