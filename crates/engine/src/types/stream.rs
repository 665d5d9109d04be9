//! Streams: an append-only log of entries (an ID and field-value pairs) with consumer groups.
//!
//! Entries live in packed nodes, each a listpack in Valkey's exact stream layout (so DUMP and
//! RDB write the node bytes as they are), kept in an ordered map keyed by the node's master
//! ID. Valkey keeps the nodes in a radix tree; a `BTreeMap` gives the same ordered seeks
//! (first node at or before an ID, walks in either direction) for ~40 bytes per node of 100
//! entries. The node layout (`node.rs`):
//!
//! ```text
//! master entry: | count | deleted | num-fields | field_1 ... field_N | 0 |
//! each entry:   | flags | ms-diff | seq-diff | [num-fields field_1] value_1 ... | lp-count |
//! ```
//!
//! An entry whose fields are the master entry's (flag SAMEFIELDS) stores only its values.
//! IDs are stored as differences from the master ID. Deletion only flags an entry (DELETED)
//! and moves it from `count` to `deleted`; a node whose last live entry goes is freed.
//! Consumer groups (`group.rs`) keep their pending entries lists in ordered maps too.

mod group;
mod node;

pub use group::{Consumer, Group, Nack};
pub use node::{EntryView, FLAG_DELETED, FLAG_SAMEFIELDS};

use crate::types::listpack;
use std::collections::BTreeMap;
use std::ops::Bound;

/// A stream entry ID: milliseconds and a sequence number, ordered as a pair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// The next ID, or `None` past the last possible one (Valkey's `streamIncrID`).
    pub fn incr(self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                None
            } else {
                Some(StreamId::new(self.ms + 1, 0))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The previous ID, or `None` before 0-0 (Valkey's `streamDecrID`).
    pub fn decr(self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                None
            } else {
                Some(StreamId::new(self.ms - 1, u64::MAX))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    /// `<ms>-<seq>`.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        self.push_to(&mut out);
        out
    }

    pub fn push_to(self, out: &mut Vec<u8>) {
        let mut b = itoa::Buffer::new();
        out.extend_from_slice(b.format(self.ms).as_bytes());
        out.push(b'-');
        out.extend_from_slice(b.format(self.seq).as_bytes());
    }

    /// The 16-byte big-endian form (RDB node keys and PEL entries).
    pub fn encode(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.ms.to_be_bytes());
        out[8..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }

    pub fn decode(b: &[u8; 16]) -> StreamId {
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&b[..8]);
        seq.copy_from_slice(&b[8..]);
        StreamId::new(u64::from_be_bytes(ms), u64::from_be_bytes(seq))
    }
}

/// Node size limits (`stream-node-max-bytes`, `stream-node-max-entries`).
#[derive(Clone, Copy, Debug)]
pub struct StreamLimits {
    pub node_max_bytes: usize,
    pub node_max_entries: usize,
}

impl Default for StreamLimits {
    fn default() -> StreamLimits {
        StreamLimits { node_max_bytes: 4096, node_max_entries: 100 }
    }
}

/// Largest node (and largest entry) a stream holds: listpacks are 32-bit sized.
pub const LISTPACK_MAX_SIZE: usize = 1 << 30;

/// How a trim decides what goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrimBy {
    MaxLen(u64),
    MinId(StreamId),
}

/// Why an append failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The ID is not greater than the stream's last ID.
    IdTooSmall,
    /// The fields and values are too large for a node.
    TooLarge,
}

/// A stream value.
#[derive(Clone, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Vec<u8>>,
    /// Live entries.
    pub length: u64,
    /// The last ID ever added (or set by XSETID); 0-0 if none.
    pub last_id: StreamId,
    /// The first live entry's ID; 0-0 if empty.
    pub first_id: StreamId,
    /// The greatest ID ever deleted by XDEL.
    pub max_deleted_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Consumer groups by name; `None` until the first is created.
    pub groups: Option<Box<BTreeMap<Vec<u8>, Group>>>,
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Number of nodes (XINFO's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The nodes in order, as (master ID, listpack bytes): what RDB writes.
    pub fn nodes(&self) -> impl Iterator<Item = (&StreamId, &Vec<u8>)> {
        self.nodes.iter()
    }

    /// Adds a node read from RDB; false if a node with that master ID exists.
    pub fn insert_node(&mut self, master: StreamId, lp: Vec<u8>) -> bool {
        match self.nodes.entry(master) {
            std::collections::btree_map::Entry::Occupied(_) => false,
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(lp);
                true
            }
        }
    }

    /// Bytes of heap owned, for MEMORY USAGE: node buffers, map slots, groups.
    pub fn heap_bytes(&self) -> usize {
        let mut total = std::mem::size_of::<Stream>();
        for lp in self.nodes.values() {
            total += lp.capacity() + 16 + std::mem::size_of::<Vec<u8>>() + 8;
        }
        if let Some(groups) = &self.groups {
            for (name, g) in groups.iter() {
                total += name.len() + 64 + g.heap_bytes();
            }
        }
        total
    }

    /// The next auto-generated ID after `last` at time `now_ms` (Valkey's `streamNextID`).
    pub fn next_auto_id(&self, now_ms: u64) -> Option<StreamId> {
        if now_ms > self.last_id.ms {
            Some(StreamId::new(now_ms, 0))
        } else {
            self.last_id.incr()
        }
    }

    /// Appends an entry (`fields` are field, value, field, value...) with the given ID (or
    /// the next auto ID when `id` is `None`; `seq_given` false means `<ms>-*`). Returns the
    /// ID used. Valkey's `streamAppendItem`, node rules included.
    pub fn append(
        &mut self,
        fields: &[&[u8]],
        id: Option<StreamId>,
        seq_given: bool,
        now_ms: u64,
        limits: StreamLimits,
    ) -> Result<StreamId, AppendError> {
        let id = match id {
            None => self.next_auto_id(now_ms).ok_or(AppendError::IdTooSmall)?,
            Some(id) if seq_given => id,
            Some(id) => {
                if self.last_id.ms == id.ms {
                    if self.last_id.seq == u64::MAX {
                        return Err(AppendError::IdTooSmall);
                    }
                    StreamId::new(id.ms, self.last_id.seq + 1)
                } else {
                    id
                }
            }
        };
        if id <= self.last_id {
            return Err(AppendError::IdTooSmall);
        }
        let total: usize = fields.iter().map(|f| f.len()).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        let numfields = fields.len() / 2;
        let max_bytes = match limits.node_max_bytes {
            0 => LISTPACK_MAX_SIZE,
            n => n.min(LISTPACK_MAX_SIZE),
        };
        // Can the tail node take it?
        let mut tail = self.nodes.last_key_value().map(|(k, _)| *k);
        if let Some(master) = tail {
            let lp = self.nodes.get_mut(&master).expect("tail node");
            let full = lp.len() + total >= max_bytes
                || (limits.node_max_entries > 0 && {
                    let m = node::Master::read(lp);
                    (m.count + m.deleted) as usize >= limits.node_max_entries
                });
            if full {
                lp.shrink_to_fit();
                tail = None;
            }
        }
        match tail {
            None => {
                let mut lp = Vec::with_capacity(max_bytes.min(4096));
                lp.extend_from_slice(&listpack::new());
                listpack::append_int(&mut lp, 1);
                listpack::append_int(&mut lp, 0);
                listpack::append_int(&mut lp, numfields as i64);
                for pair in fields.chunks_exact(2) {
                    listpack::append(&mut lp, pair[0]);
                }
                listpack::append_int(&mut lp, 0);
                node::append_entry(&mut lp, id, id, FLAG_SAMEFIELDS, fields);
                self.nodes.insert(id, lp);
            }
            Some(master) => {
                let lp = self.nodes.get_mut(&master).expect("tail node");
                let m = node::Master::read(lp);
                listpack::replace_int(lp, listpack::HEADER_SIZE, m.count + 1);
                let same = m.same_fields(lp, fields);
                node::append_entry(lp, master, id, if same { FLAG_SAMEFIELDS } else { 0 }, fields);
            }
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(id)
    }

    /// Live entries with `start <= id <= end`, forward or reversed.
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool) -> Iter<'_> {
        self.range_with(start, end, rev, false)
    }

    /// As [`Stream::range`], with deleted entries too when `tombstones`.
    pub fn range_with(&self, start: StreamId, end: StreamId, rev: bool, tombstones: bool) -> Iter<'_> {
        let nodes = if start > end {
            // Empty range: an iterator over nothing.
            self.nodes.range((Bound::Excluded(StreamId::MAX), Bound::Unbounded))
        } else if rev {
            self.nodes.range(..=end)
        } else {
            let first = self.nodes.range(..=start).next_back().map_or(start, |(k, _)| *k);
            self.nodes.range(first..=end)
        };
        Iter { nodes, cur: None, start, end, rev, tombstones, done: start > end }
    }

    /// The entry with this ID, if live.
    pub fn get(&self, id: StreamId) -> Option<EntryView<'_>> {
        self.range(id, id, false).next()
    }

    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// The last live ID (Valkey's `streamLastValidID`), 0-0 when empty.
    pub fn last_valid_id(&self) -> StreamId {
        self.range(StreamId::MIN, StreamId::MAX, true).next().map_or(StreamId::MIN, |e| e.id)
    }

    /// The first (`first`) or last live ID, with Valkey's "none" values (MAX / MIN).
    pub fn edge_id(&self, first: bool, tombstones: bool) -> StreamId {
        match self.range_with(StreamId::MIN, StreamId::MAX, !first, tombstones).next() {
            Some(e) => e.id,
            None if first => StreamId::MAX,
            None => StreamId::MIN,
        }
    }

    /// Deletes a live entry; false if there is none with this ID. Does not touch
    /// `first_id` / `max_deleted_id` (XDEL does).
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, _)) = self.nodes.range(..=id).next_back() else { return false };
        let lp = self.nodes.get_mut(&master).expect("node just found");
        let m = node::Master::read(lp);
        let mut pos = m.first_entry;
        let flags_pos = loop {
            if lp[pos] == 0xFF {
                return false;
            }
            let (e, next) = node::parse_entry(lp, master, &m, pos);
            if e.id == id && !e.deleted() {
                break pos;
            }
            if e.id > id {
                return false;
            }
            pos = next;
        };
        if m.count == 1 {
            self.nodes.remove(&master);
        } else {
            let flags = listpack::get_int(lp, flags_pos);
            listpack::replace_int(lp, flags_pos, flags | FLAG_DELETED);
            listpack::replace_int(lp, listpack::HEADER_SIZE, m.count - 1);
            let dpos = listpack::next(lp, listpack::HEADER_SIZE);
            listpack::replace_int(lp, dpos, m.deleted + 1);
        }
        self.length -= 1;
        true
    }

    /// Removes entries from the head (Valkey's `streamTrim`): whole nodes while they go
    /// entirely; then, unless `approx`, entries inside the next node. `limit` (0: none) caps
    /// the entries removed. Returns how many went.
    pub fn trim(&mut self, by: TrimBy, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        loop {
            if let TrimBy::MaxLen(max) = by {
                if self.length <= max {
                    break;
                }
            }
            let Some((&master, lp)) = self.nodes.first_key_value() else { break };
            let m = node::Master::read(lp);
            let entries = m.count as u64;
            if limit != 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match by {
                TrimBy::MaxLen(max) => self.length - entries >= max,
                TrimBy::MinId(min) => node::last_id(lp, master, &m).is_some_and(|last| last < min),
            };
            if remove_node {
                self.nodes.remove(&master);
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let lp = self.nodes.get_mut(&master).expect("first node");
            let mut from_node = 0i64;
            let mut pos = m.first_entry;
            while lp[pos] != 0xFF {
                let (e, next) = node::parse_entry(lp, master, &m, pos);
                let stop = match by {
                    TrimBy::MaxLen(max) => self.length <= max,
                    TrimBy::MinId(min) => e.id >= min,
                };
                if stop {
                    break;
                }
                if !e.deleted() {
                    let flags = e.flags;
                    let before = lp.len();
                    listpack::replace_int(lp, pos, flags | FLAG_DELETED);
                    // Flags are 0..3: the replacement keeps its size, offsets stay valid.
                    debug_assert_eq!(before, lp.len());
                    from_node += 1;
                    self.length -= 1;
                }
                pos = next;
            }
            deleted += from_node as u64;
            listpack::replace_int(lp, listpack::HEADER_SIZE, m.count - from_node);
            let dpos = listpack::next(lp, listpack::HEADER_SIZE);
            listpack::replace_int(lp, dpos, m.deleted + from_node);
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.edge_id(true, false);
        }
        deleted
    }

    // ---- Consumer-group bookkeeping (Valkey's lag and entries-read estimates) ----

    /// Whether `[start, end]` may hold a deleted entry (Valkey's `streamRangeHasTombstones`).
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id && self.max_deleted_id <= end
    }

    /// The number of entries from the first ever added up to `id`, when it can be known
    /// (Valkey's `streamEstimateDistanceFromFirstEverEntry`); `None` is "invalid".
    pub fn estimate_distance(&self, id: StreamId) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added as i64);
        }
        if id == self.last_id {
            return Some(self.entries_added as i64);
        } else if id > self.last_id {
            return None;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return Some((self.entries_added - self.length) as i64);
            } else if id == self.first_id {
                return Some((self.entries_added - self.length + 1) as i64);
            }
        }
        None
    }

    /// A group's lag, `None` when it cannot be computed (Valkey's `streamReplyWithCGLag`).
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != group::INVALID_ENTRIES_READ && !self.range_has_tombstones(g.last_id, StreamId::MAX) {
            return Some(self.entries_added as i64 - g.entries_read);
        }
        self.estimate_distance(g.last_id).map(|read| self.entries_added as i64 - read)
    }

    pub fn group(&self, name: &[u8]) -> Option<&Group> {
        self.groups.as_ref()?.get(name)
    }

    pub fn group_mut(&mut self, name: &[u8]) -> Option<&mut Group> {
        self.groups.as_mut()?.get_mut(name)
    }

    /// Creates a group; false if one with that name exists.
    pub fn create_group(&mut self, name: &[u8], last_id: StreamId, entries_read: i64) -> bool {
        let groups = self.groups.get_or_insert_with(Default::default);
        if groups.contains_key(name) {
            return false;
        }
        groups.insert(name.to_vec(), Group::new(last_id, entries_read));
        true
    }

    pub fn group_count(&self) -> usize {
        self.groups.as_ref().map_or(0, |g| g.len())
    }

    /// Checks a stream read from outside: node IDs, counts and order agree with the
    /// metadata (what Valkey's deep sanitization checks). Returns false if corrupt.
    pub fn check_consistency(&self) -> bool {
        let mut live = 0u64;
        let mut prev_last: Option<StreamId> = None;
        for (&master, lp) in &self.nodes {
            let Some(count) = node::validate(lp, master) else { return false };
            let m = node::Master::read(lp);
            if m.count < 0 {
                return false;
            }
            if let Some(p) = prev_last {
                if master <= p {
                    return false;
                }
            }
            prev_last = node::last_id(lp, master, &m).or(Some(master));
            let _ = count;
            live += m.count as u64;
        }
        live == self.length && prev_last.is_none_or(|l| l <= self.last_id)
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stream({} entries, {} nodes, last {:?})", self.length, self.nodes.len(), self.last_id)
    }
}

/// Equality of contents: entries, metadata and groups (not node boundaries).
impl PartialEq for Stream {
    fn eq(&self, other: &Stream) -> bool {
        type Entries = Vec<(StreamId, Vec<(Vec<u8>, Vec<u8>)>)>;
        let pairs = |s: &Stream| -> Entries {
            s.range(StreamId::MIN, StreamId::MAX, false).map(|e| (e.id, e.pairs())).collect()
        };
        self.length == other.length
            && self.last_id == other.last_id
            && self.first_id == other.first_id
            && self.max_deleted_id == other.max_deleted_id
            && self.entries_added == other.entries_added
            && pairs(self) == pairs(other)
            && self.groups.as_deref().map(|g| g.len()).unwrap_or(0)
                == other.groups.as_deref().map(|g| g.len()).unwrap_or(0)
            && match (&self.groups, &other.groups) {
                (Some(a), Some(b)) => a.iter().zip(b.iter()).all(|((na, ga), (nb, gb))| na == nb && ga == gb),
                _ => true,
            }
    }
}

/// Walks entries in ID order (or reversed) within a range.
pub struct Iter<'a> {
    nodes: std::collections::btree_map::Range<'a, StreamId, Vec<u8>>,
    cur: Option<node::NodeWalk<'a>>,
    start: StreamId,
    end: StreamId,
    rev: bool,
    tombstones: bool,
    done: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = EntryView<'a>;

    fn next(&mut self) -> Option<EntryView<'a>> {
        if self.done {
            return None;
        }
        loop {
            if self.cur.is_none() {
                let next = if self.rev { self.nodes.next_back() } else { self.nodes.next() };
                let Some((&master, lp)) = next else {
                    self.done = true;
                    return None;
                };
                self.cur = Some(node::NodeWalk::new(lp, master, self.rev));
            }
            let Some(e) = self.cur.as_mut().and_then(|w| w.next()) else {
                self.cur = None;
                continue;
            };
            if self.rev {
                if e.id > self.end {
                    continue;
                }
                if e.id < self.start {
                    self.done = true;
                    return None;
                }
            } else {
                if e.id < self.start {
                    continue;
                }
                if e.id > self.end {
                    self.done = true;
                    return None;
                }
            }
            if e.deleted() && !self.tombstones {
                continue;
            }
            return Some(e);
        }
    }
}

#[cfg(test)]
mod tests;
