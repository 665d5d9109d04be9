//! One stream node: a listpack holding a master entry and delta-encoded entries, in Valkey's
//! byte layout (see the parent module). Reading walks it with the listpack primitives;
//! positions are byte offsets into the listpack.

use super::StreamId;
use crate::types::listpack::{self, LpValue};

/// Entry flag: deleted (a tombstone, skipped by reads).
pub const FLAG_DELETED: i64 = 1;
/// Entry flag: the entry has the master entry's fields, and stores only its values.
pub const FLAG_SAMEFIELDS: i64 = 2;

const EOF: u8 = 0xFF;

/// The master entry of a node.
pub(super) struct Master {
    pub count: i64,
    pub deleted: i64,
    pub nfields: usize,
    /// Offset of the first master field.
    pub fields: usize,
    /// Offset of the first entry's flags (or EOF).
    pub first_entry: usize,
}

impl Master {
    pub fn read(lp: &[u8]) -> Master {
        let p = listpack::HEADER_SIZE;
        let count = listpack::get_int(lp, p);
        let p = listpack::next(lp, p);
        let deleted = listpack::get_int(lp, p);
        let p = listpack::next(lp, p);
        let nfields = listpack::get_int(lp, p).max(0) as usize;
        let fields = listpack::next(lp, p);
        let mut q = fields;
        for _ in 0..nfields {
            q = listpack::next(lp, q);
        }
        // Skip the master entry's terminating 0.
        let first_entry = listpack::next(lp, q);
        Master { count, deleted, nfields, fields, first_entry }
    }

    /// Whether an entry with these field-value pairs has exactly the master fields.
    pub fn same_fields(&self, lp: &[u8], pairs: &[&[u8]]) -> bool {
        if pairs.len() / 2 != self.nfields {
            return false;
        }
        let mut p = self.fields;
        for pair in pairs.chunks_exact(2) {
            if !listpack::get(lp, p).eq_bytes(pair[0]) {
                return false;
            }
            p = listpack::next(lp, p);
        }
        true
    }
}

/// Appends an entry to a node whose master ID is `master`.
pub(super) fn append_entry(lp: &mut Vec<u8>, master: StreamId, id: StreamId, flags: i64, pairs: &[&[u8]]) {
    let same = flags & FLAG_SAMEFIELDS != 0;
    let numfields = pairs.len() / 2;
    listpack::append_int(lp, flags);
    listpack::append_int(lp, id.ms.wrapping_sub(master.ms) as i64);
    listpack::append_int(lp, id.seq.wrapping_sub(master.seq) as i64);
    if !same {
        listpack::append_int(lp, numfields as i64);
    }
    for pair in pairs.chunks_exact(2) {
        if !same {
            listpack::append(lp, pair[0]);
        }
        listpack::append(lp, pair[1]);
    }
    let mut lp_count = numfields as i64 + 3;
    if !same {
        lp_count += numfields as i64 + 1;
    }
    listpack::append_int(lp, lp_count);
}

/// One entry, borrowed from its node.
#[derive(Clone, Copy)]
pub struct EntryView<'a> {
    pub id: StreamId,
    pub flags: i64,
    lp: &'a [u8],
    nfields: usize,
    /// Offset of the first field (or value, for SAMEFIELDS entries).
    data: usize,
    /// Offset of the master fields (for SAMEFIELDS entries).
    master_fields: usize,
}

impl<'a> EntryView<'a> {
    pub fn deleted(&self) -> bool {
        self.flags & FLAG_DELETED != 0
    }

    pub fn field_count(&self) -> usize {
        self.nfields
    }

    /// Calls `f` with each field and value, in order.
    pub fn for_each(&self, mut f: impl FnMut(LpValue<'a>, LpValue<'a>)) {
        let same = self.flags & FLAG_SAMEFIELDS != 0;
        let mut fp = self.master_fields;
        let mut p = self.data;
        for _ in 0..self.nfields {
            let field = if same {
                let v = listpack::get(self.lp, fp);
                fp = listpack::next(self.lp, fp);
                v
            } else {
                let v = listpack::get(self.lp, p);
                p = listpack::next(self.lp, p);
                v
            };
            let value = listpack::get(self.lp, p);
            p = listpack::next(self.lp, p);
            f(field, value);
        }
    }

    /// The pairs as owned bytes.
    pub fn pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::with_capacity(self.nfields);
        self.for_each(|f, v| out.push((f.to_vec(), v.to_vec())));
        out
    }
}

/// Parses the entry whose flags are at `pos`; returns it and the offset after its lp-count.
pub(super) fn parse_entry<'a>(lp: &'a [u8], master_id: StreamId, m: &Master, pos: usize) -> (EntryView<'a>, usize) {
    let flags = listpack::get_int(lp, pos);
    let p = listpack::next(lp, pos);
    let ms = master_id.ms.wrapping_add(listpack::get_int(lp, p) as u64);
    let p = listpack::next(lp, p);
    let seq = master_id.seq.wrapping_add(listpack::get_int(lp, p) as u64);
    let mut p = listpack::next(lp, p);
    let same = flags & FLAG_SAMEFIELDS != 0;
    let nfields = if same {
        m.nfields
    } else {
        let n = listpack::get_int(lp, p).max(0) as usize;
        p = listpack::next(lp, p);
        n
    };
    let data = p;
    let skip = if same { nfields } else { nfields * 2 };
    for _ in 0..skip {
        p = listpack::next(lp, p);
    }
    let after = listpack::next(lp, p);
    (EntryView { id: StreamId::new(ms, seq), flags, lp, nfields, data, master_fields: m.fields }, after)
}

/// The ID of the node's last entry (deleted or not); `None` if it has none.
pub(super) fn last_id(lp: &[u8], master_id: StreamId, m: &Master) -> Option<StreamId> {
    let mut walk = NodeWalk::with_master(lp, master_id, m, true);
    walk.next().map(|e| e.id)
}

/// Walks a node's entries (deleted ones included) forward or backward.
pub(super) struct NodeWalk<'a> {
    lp: &'a [u8],
    master_id: StreamId,
    m: Master,
    rev: bool,
    /// Forward: the next entry's flags offset. Backward: the lp-count offset of the next
    /// entry to yield. `None` when done.
    pos: Option<usize>,
}

impl<'a> NodeWalk<'a> {
    pub fn new(lp: &'a [u8], master_id: StreamId, rev: bool) -> NodeWalk<'a> {
        let m = Master::read(lp);
        NodeWalk::with_master(lp, master_id, &m, rev)
    }

    fn with_master(lp: &'a [u8], master_id: StreamId, m: &Master, rev: bool) -> NodeWalk<'a> {
        let m = Master {
            count: m.count,
            deleted: m.deleted,
            nfields: m.nfields,
            fields: m.fields,
            first_entry: m.first_entry,
        };
        let pos = if rev { listpack::last(lp) } else { Some(m.first_entry) };
        NodeWalk { lp, master_id, m, rev, pos }
    }

    pub fn next(&mut self) -> Option<EntryView<'a>> {
        let pos = self.pos?;
        if !self.rev {
            if self.lp[pos] == EOF {
                self.pos = None;
                return None;
            }
            let (e, after) = parse_entry(self.lp, self.master_id, &self.m, pos);
            self.pos = Some(after);
            return Some(e);
        }
        let lp_count = listpack::get_int(self.lp, pos);
        if lp_count <= 0 {
            // The master entry's terminator: no more entries.
            self.pos = None;
            return None;
        }
        let mut flags = pos;
        for _ in 0..lp_count {
            flags = listpack::prev(self.lp, flags)?;
        }
        let (e, _) = parse_entry(self.lp, self.master_id, &self.m, flags);
        self.pos = listpack::prev(self.lp, flags);
        Some(e)
    }
}

/// Checks a node from outside (RDB/RESTORE) fully: a valid listpack, a master entry, and
/// entries whose structure, lp-counts and IDs (increasing, not below the master) hold.
/// Returns the number of live entries.
pub(super) fn validate(lp: &[u8], master_id: StreamId) -> Option<u64> {
    listpack::validate(lp)?;
    let int_at = |p: usize| -> Option<i64> {
        if lp.get(p).is_none_or(|&b| b == EOF) {
            return None;
        }
        match listpack::get(lp, p) {
            LpValue::Int(i) => Some(i),
            LpValue::Str(_) => None,
        }
    };
    let skip = |p: usize| -> Option<usize> {
        if lp.get(p).is_none_or(|&b| b == EOF) {
            None
        } else {
            Some(listpack::next(lp, p))
        }
    };
    let mut p = listpack::HEADER_SIZE;
    let count = int_at(p)?;
    p = skip(p)?;
    let deleted = int_at(p)?;
    p = skip(p)?;
    let nfields = int_at(p)?;
    if nfields < 0 || count < 0 || deleted < 0 {
        return None;
    }
    p = skip(p)?;
    for _ in 0..nfields {
        p = skip(p)?;
    }
    if int_at(p)? != 0 {
        return None;
    }
    p = skip(p)?;
    let (mut live, mut dead) = (0i64, 0i64);
    let mut prev: Option<StreamId> = None;
    while lp[p] != EOF {
        let flags = int_at(p)?;
        if !(0..=3).contains(&flags) {
            return None;
        }
        let start = p;
        p = skip(p)?;
        let ms = master_id.ms.wrapping_add(int_at(p)? as u64);
        p = skip(p)?;
        let seq = master_id.seq.wrapping_add(int_at(p)? as u64);
        p = skip(p)?;
        let id = StreamId::new(ms, seq);
        if id < master_id || prev.is_some_and(|x| id <= x) {
            return None;
        }
        prev = Some(id);
        let same = flags & FLAG_SAMEFIELDS != 0;
        let n = if same {
            nfields
        } else {
            let n = int_at(p)?;
            if n < 0 {
                return None;
            }
            p = skip(p)?;
            n
        };
        let elems = if same { n } else { n.checked_mul(2)? };
        for _ in 0..elems {
            p = skip(p)?;
        }
        let lp_count = int_at(p)?;
        let expected = if same { n + 3 } else { 2 * n + 4 };
        if lp_count != expected {
            return None;
        }
        // Walking back lp_count elements from the lp-count must land on the flags.
        let mut back = p;
        for _ in 0..lp_count {
            back = listpack::prev(lp, back)?;
        }
        if back != start {
            return None;
        }
        p = skip(p)?;
        if flags & FLAG_DELETED != 0 {
            dead += 1;
        } else {
            live += 1;
        }
    }
    if live != count || dead != deleted || live + dead == 0 {
        return None;
    }
    Some(live as u64)
}
