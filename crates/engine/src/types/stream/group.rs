//! Consumer groups: the last delivered ID, the read counter, the pending entries list (PEL)
//! of the group and of each consumer.
//!
//! Valkey shares one NACK between the group PEL and the owner's PEL; here the group PEL owns
//! the NACK (delivery time, count, owner's name) and each consumer's PEL is the set of IDs it
//! owns. Both are ordered by ID, as Valkey's radix trees are; consumers are ordered by name.

use super::StreamId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// `entries_read` when it is not known.
pub const INVALID_ENTRIES_READ: i64 = -1;

/// A pending (delivered, not acknowledged) entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nack {
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: Arc<[u8]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consumer {
    pub name: Arc<[u8]>,
    /// Last time it tried to read or claim.
    pub seen_time: i64,
    /// Last time it read or claimed something (-1: never).
    pub active_time: i64,
    pub pel: BTreeSet<StreamId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group { last_id, entries_read, pel: BTreeMap::new(), consumers: BTreeMap::new() }
    }

    /// Creates a consumer; false if it exists.
    pub fn create_consumer(&mut self, name: &[u8], now_ms: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        let c = Consumer { name: Arc::from(name), seen_time: now_ms, active_time: -1, pel: BTreeSet::new() };
        self.consumers.insert(name.to_vec(), c);
        true
    }

    /// Deletes a consumer and its pending entries; returns how many it had, `None` if absent.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    /// Removes a pending entry from the group and its owner; false if it was not pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(nack) => {
                if let Some(c) = self.consumers.get_mut(&nack.consumer[..]) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Makes `consumer` (which must exist) the owner of pending entry `id`, creating it if
    /// absent: the NACK as it is afterwards.
    pub fn assign(&mut self, id: StreamId, consumer: &[u8], now_ms: i64) -> &mut Nack {
        let name = self.consumers.get(consumer).map(|c| c.name.clone()).expect("consumer exists");
        let nack = self.pel.entry(id).or_insert_with(|| Nack {
            delivery_time: now_ms,
            delivery_count: 0,
            consumer: name.clone(),
        });
        if nack.consumer[..] != consumer[..] {
            if let Some(old) = self.consumers.get_mut(&nack.consumer[..]) {
                old.pel.remove(&id);
            }
            nack.consumer = name;
        }
        self.consumers.get_mut(consumer).expect("consumer exists").pel.insert(id);
        self.pel.get_mut(&id).expect("just inserted")
    }

    pub fn heap_bytes(&self) -> usize {
        let mut total = std::mem::size_of::<Group>();
        total += self.pel.len() * (16 + std::mem::size_of::<Nack>() + 8);
        for (name, c) in &self.consumers {
            total += 2 * name.len() + std::mem::size_of::<Consumer>() + 32 + c.pel.len() * 24;
        }
        total
    }
}
