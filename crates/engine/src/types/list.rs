//! The list type with Valkey 7.2+'s two encodings: `listpack` (one listpack while the list is
//! small) and `quicklist` (a sequence of listpack nodes, see `quicklist.rs`).
//!
//! Conversion follows Valkey's `t_list.c` (`listTypeTryConversion*`): a listpack becomes a
//! quicklist, before the elements are added, when the result would break the node limits of
//! `list-max-listpack-size`; a quicklist becomes a listpack again only when it is down to a
//! single packed node that is within half of those limits (so that a list at the border does
//! not flip on every push and pop), or within the limits themselves right after it was built
//! (RDB load, RESTORE).
//!
//! [`List`] is the owned value with the modifying operations; [`ListRef`] is the borrowed view
//! the read-only commands use (LRANGE, LINDEX, LLEN, LPOS never copy the list).

use super::listpack::{self, LpValue};
use super::quicklist::{self, NodeView, Quicklist};
use std::ops::ControlFlow;

/// The settings lists follow: `list-max-listpack-size` (`fill`) and `list-compress-depth`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListLimits {
    pub fill: i64,
    pub compress_depth: u64,
}

impl Default for ListLimits {
    /// Valkey's defaults: 8 KiB nodes, no compression.
    fn default() -> Self {
        ListLimits { fill: -2, compress_depth: 0 }
    }
}

#[derive(Clone, Debug)]
pub enum List {
    Listpack(Vec<u8>),
    Quicklist(Box<Quicklist>),
}

/// A borrowed list, as it sits in the keyspace.
#[derive(Clone, Copy, Debug)]
pub enum ListRef<'a> {
    Listpack(&'a [u8]),
    Quicklist(&'a Quicklist),
}

/// An element to compare list elements with (LPOS, LREM, LINSERT's pivot), classified once:
/// a stored integer equals it when it is that integer's canonical decimal form.
#[derive(Clone, Copy)]
pub struct Needle<'a> {
    bytes: &'a [u8],
    int: Option<i64>,
}

impl<'a> Needle<'a> {
    pub fn new(bytes: &'a [u8]) -> Needle<'a> {
        let int = if bytes.len() <= 20 { resp::number::parse_i64(bytes) } else { None };
        Needle { bytes, int }
    }

    pub fn matches(&self, v: LpValue<'_>) -> bool {
        match v {
            LpValue::Str(s) => s == self.bytes,
            LpValue::Int(i) => self.int == Some(i),
        }
    }
}

/// Resolves LRANGE-style inclusive `start`/`end` (negative from the end) against `len`:
/// `(first, count)`, or `None` for an empty range (Valkey's `addListRangeReply` arithmetic).
pub fn range_bounds(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let n = len as i64;
    let mut start = if start < 0 { n.saturating_add(start) } else { start };
    let mut end = if end < 0 { n.saturating_add(end) } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= n {
        return None;
    }
    if end >= n {
        end = n - 1;
    }
    Some((start as usize, (end - start) as usize + 1))
}

impl Default for List {
    fn default() -> Self {
        List::new()
    }
}

impl List {
    /// An empty list in the listpack encoding (what a push to a missing key starts from).
    pub fn new() -> List {
        List::Listpack(listpack::new())
    }

    /// A list built from a quicklist just loaded (RDB, RESTORE): a single node within the
    /// limits becomes a listpack, as Valkey's `LIST_CONV_AUTO` does.
    pub fn from_loaded(ql: Quicklist, limits: ListLimits) -> List {
        let mut list = List::Quicklist(Box::new(ql));
        list.try_to_listpack(false, limits);
        list
    }

    pub fn as_ref(&self) -> ListRef<'_> {
        match self {
            List::Listpack(lp) => ListRef::Listpack(lp),
            List::Quicklist(ql) => ListRef::Quicklist(ql),
        }
    }

    pub fn len(&self) -> usize {
        self.as_ref().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        self.as_ref().encoding()
    }

    // ---- Encoding conversions ----

    /// Converts a listpack to a quicklist if `add_count` more elements of `add_bytes` bytes
    /// would break the limits (Valkey's `listTypeTryConvertListpack`). The listpack becomes
    /// the quicklist's first node as it is.
    pub fn grow_for(&mut self, add_bytes: usize, add_count: usize, limits: ListLimits) {
        let List::Listpack(lp) = self else { return };
        let size = lp.len().saturating_add(add_bytes);
        let count = (listpack::len(lp) + add_count) as u64;
        if quicklist::exceeds_limit(limits.fill, size, count) {
            let mut ql = Quicklist::new(limits.fill, limits.compress_depth);
            ql.append_listpack(std::mem::take(lp));
            *self = List::Quicklist(Box::new(ql));
        }
    }

    /// After elements were removed: back to a listpack if the quicklist is a single packed
    /// node within half the limits (Valkey's `LIST_CONV_SHRINKING`).
    pub fn shrink(&mut self, limits: ListLimits) {
        self.try_to_listpack(true, limits);
    }

    fn try_to_listpack(&mut self, shrinking: bool, limits: ListLimits) {
        let List::Quicklist(ql) = self else { return };
        let Some((size, count)) = ql.single_node_size() else { return };
        let (max_size, max_count) = quicklist::node_limit(limits.fill);
        let (mut max_size, mut max_count) = (max_size.unwrap_or(usize::MAX), max_count.unwrap_or(u64::MAX));
        if shrinking {
            max_size /= 2;
            max_count /= 2;
        }
        if size > max_size || count as u64 > max_count {
            return;
        }
        let taken = std::mem::replace(ql.as_mut(), Quicklist::new(limits.fill, limits.compress_depth));
        match taken.into_single_listpack() {
            Ok(lp) => *self = List::Listpack(lp),
            Err(back) => **ql = back,
        }
    }

    // ---- Ends ----

    /// Pushes every element of `values` at the head (each in turn, so the last one ends up
    /// first) or at the tail, converting first if they would not fit (LPUSH, RPUSH).
    pub fn push_all(&mut self, values: &[&[u8]], head: bool, limits: ListLimits) {
        let bytes = values.iter().fold(0usize, |n, v| n.saturating_add(v.len()));
        self.grow_for(bytes, values.len(), limits);
        for v in values {
            self.push_raw(v, head);
        }
    }

    /// Pushes one element without any conversion check.
    fn push_raw(&mut self, v: &[u8], head: bool) {
        match self {
            List::Listpack(lp) => {
                if head {
                    listpack::push_front(lp, v)
                } else {
                    listpack::push_back(lp, v)
                }
            }
            List::Quicklist(ql) => {
                if head {
                    ql.push_head(v)
                } else {
                    ql.push_tail(v)
                }
            }
        }
    }

    /// Pushes one element that came out of a list (LMOVE). Valkey's conversion check does not
    /// count the bytes of an element that came out as an integer object (`int_object`: an
    /// integer popped from a quicklist; a listpack gives every element back as a string).
    pub fn push_moved(&mut self, v: &[u8], int_object: bool, head: bool, limits: ListLimits) {
        self.grow_for(if int_object { 0 } else { v.len() }, 1, limits);
        self.push_raw(v, head);
    }

    /// Removes the first (`head`) or last element, handing it to `f` first.
    pub fn pop_with<R>(&mut self, head: bool, f: impl FnOnce(LpValue<'_>) -> R) -> Option<R> {
        match self {
            List::Listpack(lp) => {
                let pos = if head { listpack::first(lp)? } else { listpack::last(lp)? };
                let r = f(listpack::get(lp, pos));
                listpack::delete(lp, pos, 1);
                Some(r)
            }
            List::Quicklist(ql) => ql.pop_with(head, f),
        }
    }

    /// Removes up to `count` elements from the head or the tail, handing each to `f` in the
    /// order they are popped. Returns how many were removed.
    pub fn pop_many_with(&mut self, head: bool, count: usize, mut f: impl FnMut(LpValue<'_>)) -> usize {
        let n = count.min(self.len());
        if n == 0 {
            return 0;
        }
        let (first, reverse) = if head { (0, false) } else { (self.len() - 1, true) };
        let mut left = n;
        self.as_ref().walk(first, reverse, |v| {
            f(v);
            left -= 1;
            if left == 0 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        let start = if head { 0 } else { -(n as i64) };
        self.delete_range(start, n);
        n
    }

    // ---- Changes in the middle ----

    /// Deletes `count` elements from index `start` (negative counts from the end).
    pub fn delete_range(&mut self, start: i64, count: usize) -> usize {
        match self {
            List::Listpack(lp) => {
                let Some(pos) = listpack::seek(lp, start) else { return 0 };
                let before = listpack::len(lp);
                listpack::delete(lp, pos, count);
                before - listpack::len(lp)
            }
            List::Quicklist(ql) => ql.delete_range(start, count),
        }
    }

    /// Replaces element `index` (negative from the end); false if out of range. Converts
    /// first if the new element would not fit, and back if the list shrank enough (LSET).
    pub fn set(&mut self, index: i64, v: &[u8], limits: ListLimits) -> bool {
        self.grow_for(v.len(), 1, limits);
        let done = match self {
            List::Listpack(lp) => match listpack::seek(lp, index) {
                Some(pos) => {
                    listpack::replace(lp, pos, v);
                    true
                }
                None => false,
            },
            List::Quicklist(ql) => ql.replace(index, v),
        };
        if done {
            self.shrink(limits);
        }
        done
    }

    /// Inserts `v` before or after the first element equal to `pivot`, searching from the
    /// head (LINSERT). Returns false if there is no such element. As in Valkey, the
    /// conversion check runs before the search, whatever its outcome.
    pub fn insert(&mut self, pivot: &[u8], v: &[u8], after: bool, limits: ListLimits) -> bool {
        self.grow_for(v.len(), 1, limits);
        let needle = Needle::new(pivot);
        match self {
            List::Listpack(lp) => {
                let Some((pos, _)) = listpack::iter(lp).find(|(_, e)| needle.matches(*e)) else { return false };
                let at = if after { listpack::next(lp, pos) } else { pos };
                listpack::insert(lp, at, &[v]);
                true
            }
            List::Quicklist(ql) => match ql.find(|e| needle.matches(e)) {
                Some((node, offset)) => {
                    ql.insert_at(node, offset, after, v);
                    true
                }
                None => false,
            },
        }
    }

    /// Removes up to `limit` (0 = all) elements equal to `v`, from the head, or from the tail
    /// when `from_tail` (LREM). Returns how many were removed.
    pub fn remove(&mut self, v: &[u8], limit: usize, from_tail: bool) -> usize {
        let needle = Needle::new(v);
        match self {
            List::Listpack(lp) => {
                let room = if limit == 0 { usize::MAX } else { limit };
                let mut hits: Vec<usize> = if from_tail {
                    listpack::iter_rev(lp).filter(|(_, e)| needle.matches(*e)).map(|(p, _)| p).take(room).collect()
                } else {
                    listpack::iter(lp).filter(|(_, e)| needle.matches(*e)).map(|(p, _)| p).take(room).collect()
                };
                hits.sort_unstable_by(|a, b| b.cmp(a));
                for pos in &hits {
                    listpack::delete(lp, *pos, 1);
                }
                hits.len()
            }
            List::Quicklist(ql) => ql.remove_matching(|e| needle.matches(e), limit, from_tail),
        }
    }

    /// Keeps only the elements from `start` to `end` inclusive (LTRIM arithmetic). Returns
    /// the number removed.
    pub fn trim(&mut self, start: i64, end: i64) -> usize {
        let len = self.len();
        let (left, right) = match range_bounds(start, end, len) {
            Some((first, count)) => (first, len - first - count),
            None => (len, 0),
        };
        let mut removed = self.delete_range(0, left);
        if right > 0 {
            removed += self.delete_range(-(right as i64), right);
        }
        removed
    }
}

impl<'a> ListRef<'a> {
    pub fn len(self) -> usize {
        match self {
            ListRef::Listpack(lp) => listpack::len(lp),
            ListRef::Quicklist(ql) => ql.len(),
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    pub fn encoding(self) -> &'static str {
        match self {
            ListRef::Listpack(_) => "listpack",
            ListRef::Quicklist(_) => "quicklist",
        }
    }

    /// Walks the elements from index `start` (which must be in range) towards the tail, or
    /// towards the head when `reverse`, until `f` breaks.
    pub fn walk(self, start: usize, reverse: bool, mut f: impl FnMut(LpValue<'_>) -> ControlFlow<()>) {
        match self {
            ListRef::Listpack(lp) => {
                let Some(pos) = listpack::seek(lp, start as i64) else { return };
                if reverse {
                    let _ = listpack::iter_rev_from(lp, pos).try_for_each(|(_, v)| f(v));
                } else {
                    let _ = listpack::iter_from(lp, pos).try_for_each(|(_, v)| f(v));
                }
            }
            ListRef::Quicklist(ql) => ql.walk(start, reverse, f),
        }
    }

    /// Calls `f` on `count` elements from index `first` on (towards the head when `reverse`).
    pub fn for_range(self, first: usize, count: usize, reverse: bool, mut f: impl FnMut(LpValue<'_>)) {
        if count == 0 {
            return;
        }
        let mut left = count;
        self.walk(first, reverse, |v| {
            f(v);
            left -= 1;
            if left == 0 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
    }

    /// Calls `f` on every element, head to tail.
    pub fn for_each(self, f: impl FnMut(LpValue<'_>)) {
        self.for_range(0, self.len(), false, f);
    }

    /// Element `index` (negative from the end), passed to `f`.
    pub fn with_index<R>(self, index: i64, f: impl FnOnce(LpValue<'_>) -> R) -> Option<R> {
        let n = self.len() as i64;
        let idx = if index < 0 { n.checked_add(index)? } else { index };
        if idx < 0 || idx >= n {
            return None;
        }
        let mut f = Some(f);
        let mut out = None;
        self.walk(idx as usize, false, |v| {
            out = f.take().map(|f| f(v));
            ControlFlow::Break(())
        });
        out
    }

    /// All elements, owned (tests, comparisons).
    pub fn to_vec(self) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(self.len().min(1 << 16));
        self.for_each(|v| out.push(v.to_vec()));
        out
    }

    /// A deep copy in the same encoding (COPY).
    pub fn to_owned_list(self) -> List {
        match self {
            ListRef::Listpack(lp) => List::Listpack(lp.to_vec()),
            ListRef::Quicklist(ql) => List::Quicklist(Box::new(ql.clone())),
        }
    }

    /// The nodes as RDB writes them: a listpack-encoded list is one packed node.
    pub fn for_each_node(self, mut f: impl FnMut(NodeView<'_>)) {
        match self {
            ListRef::Listpack(lp) => f(NodeView {
                plain: false,
                compressed: false,
                cold: false,
                data: lp,
                size: lp.len(),
                count: listpack::len(lp),
            }),
            ListRef::Quicklist(ql) => ql.nodes().for_each(f),
        }
    }

    pub fn node_count(self) -> usize {
        match self {
            ListRef::Listpack(_) => 1,
            ListRef::Quicklist(ql) => ql.node_count(),
        }
    }

    /// Bytes of heap used (MEMORY USAGE).
    pub fn heap_bytes(self) -> usize {
        match self {
            ListRef::Listpack(lp) => lp.len(),
            ListRef::Quicklist(ql) => ql.heap_bytes(),
        }
    }
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;
