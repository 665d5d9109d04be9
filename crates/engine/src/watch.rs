//! WATCH: which clients watch which keys of a shard, so that a change to a key marks their
//! transactions dirty (`dirty_cas`: EXEC then fails with a null reply).
//!
//! The table lives in the key's shard and is only touched under that shard's lock, like the
//! key itself: a write that changes the key and the marking of its watchers are one step. It
//! is empty for almost every shard, so a write pays one branch for it. A client's
//! registrations are removed when it unwatches (UNWATCH, EXEC, DISCARD, RESET, disconnect),
//! so the table holds no more than what clients currently watch.

use crate::client::ClientShared;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default)]
pub struct Watchers {
    by_key: HashMap<Box<[u8]>, Vec<Arc<ClientShared>>, foldhash::fast::RandomState>,
}

impl Watchers {
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Registers `client` as watching `key` (once).
    pub fn add(&mut self, key: &[u8], client: &Arc<ClientShared>) {
        let list = self.by_key.entry(key.into()).or_default();
        if !list.iter().any(|c| Arc::ptr_eq(c, client)) {
            list.push(client.clone());
        }
    }

    pub fn remove(&mut self, key: &[u8], client: &Arc<ClientShared>) {
        if let Some(list) = self.by_key.get_mut(key) {
            list.retain(|c| !Arc::ptr_eq(c, client));
            if list.is_empty() {
                self.by_key.remove(key);
            }
        }
    }

    /// `key` changed: every transaction watching it fails.
    pub fn touch(&self, key: &[u8]) {
        if let Some(list) = self.by_key.get(key) {
            for c in list {
                c.flags.lock().dirty_cas = true;
            }
        }
    }

    /// Touches every watched key for which `exists` holds (FLUSHDB, FLUSHALL and SWAPDB touch
    /// the watched keys they remove or replace, not the others).
    pub fn touch_where(&self, mut exists: impl FnMut(&[u8]) -> bool) {
        for (key, list) in &self.by_key {
            if exists(key) {
                for c in list {
                    c.flags.lock().dirty_cas = true;
                }
            }
        }
    }
}
