//! WATCH: which clients watch which keys of a shard, so that a change to a key marks their
//! transactions dirty (`dirty_cas`: EXEC then fails with a null reply).
//!
//! The table lives in the key's shard and is only touched under that shard's lock, like the
//! key itself: a write that changes the key and the marking of its watchers are one step. It
//! is empty for almost every shard, so a write pays one branch for it. A client's
//! registrations are removed when it unwatches (UNWATCH, EXEC, DISCARD, RESET, disconnect),
//! so the table holds no more than what clients currently watch.
//!
//! Stale keys (past their TTL, not yet deleted) follow Valkey: a registration remembers
//! whether the key was already stale when watched. Deleting such a key (lazily, by the
//! active cycle, by FLUSHDB, by SWAPDB moving it away) is no logical change and does not fail
//! the transaction; any other change does. A key that was alive when watched and expires
//! before EXEC fails the transaction even if nobody deleted it yet: the client keeps the
//! key's deadline ([`Watched`]) and EXEC compares it with the clock.

use crate::client::ClientShared;
use std::collections::HashMap;
use std::sync::Arc;

/// One registration: the client, and whether the key was stale when it watched it.
struct Watcher {
    client: Arc<ClientShared>,
    stale: bool,
}

impl Watcher {
    fn fail(&self) {
        self.client.flags.lock().dirty_cas = true;
    }
}

/// A key a client watches, on the client's side.
pub struct Watched {
    pub db: usize,
    pub key: Vec<u8>,
    /// When the key, alive when watched, expires: EXEC fails past it. A change to the TTL
    /// before then touches the key, so an unchanged deadline is the key's current one.
    pub deadline_ms: Option<u64>,
}

/// What a watched key's shard held at a FLUSHDB or SWAPDB.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Absent,
    Live,
    Stale,
}

#[derive(Default)]
pub struct Watchers {
    by_key: HashMap<Box<[u8]>, Vec<Watcher>, foldhash::fast::RandomState>,
}

impl Watchers {
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Registers `client` as watching `key` (once); `stale`: the key is past its TTL.
    pub fn add(&mut self, key: &[u8], client: &Arc<ClientShared>, stale: bool) {
        let list = self.by_key.entry(key.into()).or_default();
        if !list.iter().any(|w| Arc::ptr_eq(&w.client, client)) {
            list.push(Watcher { client: client.clone(), stale });
        }
    }

    pub fn remove(&mut self, key: &[u8], client: &Arc<ClientShared>) {
        if let Some(list) = self.by_key.get_mut(key) {
            list.retain(|w| !Arc::ptr_eq(&w.client, client));
            if list.is_empty() {
                self.by_key.remove(key);
            }
        }
    }

    /// `key` changed and is now `present` or not: every transaction watching it fails,
    /// except where a key already stale when watched is now gone (Valkey's
    /// `touchWatchedKey`).
    pub fn touch(&mut self, key: &[u8], present: impl FnOnce() -> bool) {
        let Some(list) = self.by_key.get_mut(key) else { return };
        let present = if list.iter().any(|w| w.stale) { present() } else { true };
        for w in list {
            if w.stale && !present {
                w.stale = false;
            } else {
                w.fail();
            }
        }
    }

    /// The database is emptied (FLUSHDB, FLUSHALL) or its keys replaced by another
    /// database's (SWAPDB): `before` says what a watched key was, `after` what it becomes
    /// (Valkey's `touchAllWatchedKeysInDb`). Emptying a stale key, or replacing one stale key
    /// with another, changes nothing logically; a missing key replaced by a stale one becomes
    /// a stale registration.
    pub fn touch_replaced(
        &mut self,
        mut before: impl FnMut(&[u8]) -> Presence,
        mut after: impl FnMut(&[u8]) -> Presence,
    ) {
        for (key, list) in &mut self.by_key {
            let (was, will) = (before(key), after(key));
            if was == Presence::Absent && will == Presence::Absent {
                continue;
            }
            for w in list {
                match (w.stale, was, will) {
                    (true, _, Presence::Absent) => w.stale = false,
                    (true, _, Presence::Stale) => {}
                    (false, Presence::Absent, Presence::Stale) => w.stale = true,
                    _ => w.fail(),
                }
            }
        }
    }
}
