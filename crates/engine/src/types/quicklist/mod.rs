//! The quicklist: how a list is stored once it outgrows a single listpack. The nodes and
//! their size rules are in `node.rs`.
//!
//! A quicklist is a sequence of nodes. A node is either a listpack of several elements
//! ("packed"), or one element too large for a listpack node kept as its raw bytes ("plain").
//! How full a node may get is the quicklist's `fill` (`list-max-listpack-size` when the list
//! was created, as in Valkey): positive = at most that many elements and at most 8 KiB,
//! negative -1..-5 = at most 4/8/16/32/64 KiB. Interior nodes, more than `depth`
//! (`list-compress-depth`) nodes away from both ends, are kept LZF-compressed when that saves
//! at least 8 bytes; the head and tail are never compressed, so pushes and pops at the ends
//! never decompress anything.
//!
//! Where nodes are created, split and merged follows Valkey's `quicklist.c` rule for rule:
//! node boundaries are observable (DUMP writes one listpack per node), so the same commands
//! must leave the same nodes.
//!
//! Compression invariant: node `i` of `n` is compressed exactly when `d <= i < n - d` and LZF
//! makes it smaller by enough, where `d` is `depth`, or `COLD_DEPTH` when `depth` is 0. Every change keeps it with
//! work proportional to the nodes it touches: pushing or popping at an end moves one node
//! across the boundary, so it costs at most one compression or decompression.

mod node;

use crate::types::listpack::{self, LpValue};
use node::{
    allows_insert, allows_merge, entries_of, is_large, listpack_of_entries, position_of, walk_listpack, Node,
    DEPTH_MAX, FILL_MAX, MIN_COMPRESS_BYTES,
};
pub use node::{exceeds_limit, node_limit, set_packed_threshold, NodeView, SIZE_SAFETY_LIMIT};
use std::collections::VecDeque;
use std::ops::ControlFlow;

/// Nodes kept uncompressed at each end when `list-compress-depth` is 0. Valkey then compresses
/// nothing; we still keep the cold interior LZF-compressed, which is invisible from outside
/// (reads decompress into a scratch buffer, RDB and DUMP write what Valkey would) and makes a
/// long list of short strings take about half the memory. Two rather than one, so that LINDEX
/// and LRANGE a node away from an end still read raw bytes.
const COLD_DEPTH: usize = 2;

/// A list as a sequence of nodes.
#[derive(Clone, Debug)]
pub struct Quicklist {
    nodes: VecDeque<Node>,
    count: usize,
    fill: i64,
    depth: usize,
}

impl Quicklist {
    /// An empty quicklist with these node limits (clamped to Valkey's ranges).
    pub fn new(fill: i64, depth: u64) -> Quicklist {
        Quicklist {
            nodes: VecDeque::new(),
            count: 0,
            fill: fill.clamp(-5, FILL_MAX),
            depth: depth.min(DEPTH_MAX) as usize,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn fill(&self) -> i64 {
        self.fill
    }

    pub fn compress_depth(&self) -> usize {
        self.depth
    }

    pub fn nodes(&self) -> impl Iterator<Item = NodeView<'_>> {
        self.nodes.iter().map(|n| NodeView {
            plain: n.plain,
            compressed: n.compressed,
            cold: n.compressed && self.depth == 0,
            data: &n.data,
            size: n.size,
            count: n.count,
        })
    }

    /// The single packed node's listpack, if that is all there is (for conversion back to the
    /// listpack encoding).
    pub fn into_single_listpack(mut self) -> Result<Vec<u8>, Quicklist> {
        if self.nodes.len() != 1 || self.nodes[0].plain {
            return Err(self);
        }
        let mut node = self.nodes.pop_front().expect("one node");
        node.decompress();
        Ok(node.data)
    }

    /// Uncompressed size and element count of the only node, if there is exactly one packed
    /// node.
    pub fn single_node_size(&self) -> Option<(usize, usize)> {
        match self.nodes.front() {
            Some(n) if self.nodes.len() == 1 && !n.plain => Some((n.size, n.count)),
            _ => None,
        }
    }

    // ---- Compression ----

    /// How many nodes at each end stay uncompressed: `list-compress-depth`, or `COLD_DEPTH`
    /// when that is 0 (compression Valkey would not do, kept invisible: see `NodeView::cold`).
    fn zone(&self) -> usize {
        if self.depth > 0 {
            self.depth
        } else {
            COLD_DEPTH
        }
    }

    fn interior(&self, i: usize) -> bool {
        let d = self.zone();
        i >= d && i + d < self.nodes.len()
    }

    /// Puts node `i` (if it exists) in the state the invariant wants.
    fn settle(&mut self, i: usize) {
        if i >= self.nodes.len() {
            return;
        }
        if self.interior(i) {
            self.nodes[i].compress();
        } else {
            self.nodes[i].decompress();
        }
    }

    /// Settles node `i` and its neighbours (after splits and merges around it).
    fn settle_around(&mut self, i: usize) {
        for j in i.saturating_sub(1)..=i + 1 {
            self.settle(j);
        }
    }

    /// Links `node` in at index `i` and restores the invariant: the new node, and the two
    /// nodes pushed from the edge of an end zone into the interior.
    fn insert_node(&mut self, i: usize, node: Node) {
        self.count += node.count;
        self.nodes.insert(i, node);
        let (d, n) = (self.zone(), self.nodes.len());
        self.settle(i);
        self.settle(d);
        if n > d {
            self.settle(n - 1 - d);
        }
    }

    /// Unlinks node `i` and restores the invariant: the two nodes pulled from the interior
    /// into an end zone.
    fn remove_node(&mut self, i: usize) -> Node {
        let node = self.nodes.remove(i).expect("node index in range");
        self.count -= node.count;
        let (d, n) = (self.zone(), self.nodes.len());
        self.settle(d - 1);
        if n >= d {
            self.settle(n - d);
        }
        node
    }

    /// Checks the invariant and the cached counts (tests and debug builds).
    pub fn check(&self) -> Result<(), String> {
        let mut total = 0;
        for (i, n) in self.nodes.iter().enumerate() {
            if n.compressed && !self.interior(i) {
                return Err(format!("node {i} of {} compressed inside the end zones", self.nodes.len()));
            }
            if !n.compressed && self.interior(i) && n.size >= MIN_COMPRESS_BYTES {
                let mut probe = n.clone();
                probe.compress();
                if probe.compressed {
                    return Err(format!("interior node {i} of {} left uncompressed", self.nodes.len()));
                }
            }
            let mut scratch = Vec::new();
            let raw = n.raw(&mut scratch);
            if raw.len() != n.size {
                return Err(format!("node {i}: size {} but {} bytes", n.size, raw.len()));
            }
            let count = if n.plain { 1 } else { listpack::validate(raw).ok_or(format!("node {i}: bad listpack"))? };
            if count != n.count || count == 0 {
                return Err(format!("node {i}: count {} but {count} elements", n.count));
            }
            total += count;
        }
        if total != self.count {
            return Err(format!("count {} but {total} elements", self.count));
        }
        Ok(())
    }

    // ---- Ends ----

    /// Adds `v` at the head (Valkey's `quicklistPushHead`).
    pub fn push_head(&mut self, v: &[u8]) {
        if is_large(v.len(), self.fill) {
            self.insert_node(0, Node::plain(v.to_vec()));
        } else if allows_insert(self.nodes.front(), self.fill, v.len()) {
            let head = &mut self.nodes[0];
            listpack::push_front(head.lp_mut(), v);
            head.resized();
            head.count += 1;
            self.count += 1;
        } else {
            self.insert_node(0, Node::single(v));
        }
    }

    /// Adds `v` at the tail (Valkey's `quicklistPushTail`).
    pub fn push_tail(&mut self, v: &[u8]) {
        let n = self.nodes.len();
        if is_large(v.len(), self.fill) {
            self.insert_node(n, Node::plain(v.to_vec()));
        } else if allows_insert(self.nodes.back(), self.fill, v.len()) {
            let tail = &mut self.nodes[n - 1];
            listpack::push_back(tail.lp_mut(), v);
            tail.resized();
            tail.count += 1;
            self.count += 1;
        } else {
            self.insert_node(n, Node::single(v));
        }
    }

    /// Appends a ready-made listpack as a node of its own (RDB loading, listpack conversion).
    /// Empty listpacks are skipped.
    pub fn append_listpack(&mut self, lp: Vec<u8>) {
        let count = listpack::len(&lp);
        if count > 0 {
            let n = self.nodes.len();
            self.insert_node(n, Node::packed(lp, count));
        }
    }

    /// Appends one element as a plain node (RDB loading).
    pub fn append_plain(&mut self, element: Vec<u8>) {
        let n = self.nodes.len();
        self.insert_node(n, Node::plain(element));
    }

    /// Removes the first (`head`) or last element, handing it to `f` before it is gone.
    pub fn pop_with<R>(&mut self, head: bool, f: impl FnOnce(LpValue<'_>) -> R) -> Option<R> {
        let i = if head { 0 } else { self.nodes.len().checked_sub(1)? };
        let node = self.nodes.get_mut(i)?;
        if node.plain || node.count == 1 {
            node.decompress();
            let r = if node.plain {
                f(LpValue::Str(&node.data))
            } else {
                let pos = listpack::first(&node.data)?;
                f(listpack::get(&node.data, pos))
            };
            self.remove_node(i);
            return Some(r);
        }
        let lp = node.lp_mut();
        let pos = if head { listpack::first(lp)? } else { listpack::last(lp)? };
        let r = f(listpack::get(lp, pos));
        listpack::delete(lp, pos, 1);
        node.resized();
        node.count -= 1;
        self.count -= 1;
        Some(r)
    }

    // ---- Positions ----

    /// The node holding element `index` (negative counts from the tail) and the element's
    /// offset in it, seeking from the nearer end.
    pub fn locate(&self, index: i64) -> Option<(usize, usize)> {
        let n = self.count as i64;
        let idx = if index < 0 { n.checked_add(index)? } else { index };
        if idx < 0 || idx >= n {
            return None;
        }
        let idx = idx as usize;
        if idx <= (self.count - 1) / 2 {
            let mut before = 0;
            for (i, node) in self.nodes.iter().enumerate() {
                if before + node.count > idx {
                    return Some((i, idx - before));
                }
                before += node.count;
            }
        } else {
            let mut after = 0;
            let from_tail = self.count - 1 - idx;
            for (i, node) in self.nodes.iter().enumerate().rev() {
                if after + node.count > from_tail {
                    return Some((i, node.count - 1 - (from_tail - after)));
                }
                after += node.count;
            }
        }
        None
    }

    /// Walks elements from index `start` towards the tail (or the head when `reverse`),
    /// calling `f` until it breaks or the list ends. Compressed nodes are decompressed into a
    /// scratch buffer one at a time; the list itself is not touched.
    pub fn walk(&self, start: usize, reverse: bool, mut f: impl FnMut(LpValue<'_>) -> ControlFlow<()>) {
        let Some((mut i, first_offset)) = self.locate(start as i64) else { return };
        let mut offset = Some(first_offset);
        let mut scratch = Vec::new();
        loop {
            let node = &self.nodes[i];
            let raw = node.raw(&mut scratch);
            let flow = if node.plain { f(LpValue::Str(raw)) } else { walk_listpack(raw, offset, reverse, &mut f) };
            if flow.is_break() {
                return;
            }
            offset = None;
            if reverse {
                if i == 0 {
                    return;
                }
                i -= 1;
            } else {
                i += 1;
                if i == self.nodes.len() {
                    return;
                }
            }
        }
    }

    // ---- Changes in the middle ----

    /// Splits node `i` at element `offset`. With `after`, node `i` keeps `[0, offset]` and the
    /// returned node gets the rest; otherwise the returned node gets `[0, offset)` and node
    /// `i` keeps the rest. Neither is linked yet (Valkey's `_quicklistSplitNode`).
    fn split(&mut self, i: usize, offset: usize, after: bool) -> Node {
        let node = &mut self.nodes[i];
        let total = node.count;
        let lp = node.lp_mut();
        let cut = position_of(lp, if after { offset + 1 } else { offset });
        let cut_count = if after { offset + 1 } else { offset };
        let (front, back) = entries_of(lp).split_at(cut - listpack::HEADER_SIZE);
        let front_lp = listpack_of_entries(&[front], cut_count);
        let back_lp = listpack_of_entries(&[back], total - cut_count);
        let (keep, give, keep_count, give_count) = if after {
            (front_lp, back_lp, cut_count, total - cut_count)
        } else {
            (back_lp, front_lp, total - cut_count, cut_count)
        };
        node.data = keep;
        node.resized();
        node.count = keep_count;
        self.count -= give_count;
        Node::packed(give, give_count)
    }

    /// Merges node `a` with node `a + 1` into node `a` (Valkey's `_quicklistListpackMerge`).
    fn merge_pair(&mut self, a: usize) {
        self.nodes[a].decompress();
        self.nodes[a + 1].decompress();
        let second = self.remove_node(a + 1);
        let first = &mut self.nodes[a];
        let count = first.count + second.count;
        first.data = listpack_of_entries(&[entries_of(&first.data), entries_of(&second.data)], count);
        first.resized();
        first.count = count;
        self.count += second.count;
        self.settle(a);
    }

    /// Tries to merge the neighbourhood of node `center` (Valkey's `_quicklistMergeNodes`):
    /// its two predecessors, its two successors, then itself with each side. Returns the
    /// index of the node holding `center`'s elements afterwards.
    fn merge_around(&mut self, mut center: usize) -> usize {
        let fill = self.fill;
        if center >= 2 && allows_merge(self.nodes.get(center - 1), self.nodes.get(center - 2), fill) {
            self.merge_pair(center - 2);
            center -= 1;
        }
        if allows_merge(self.nodes.get(center + 1), self.nodes.get(center + 2), fill) {
            self.merge_pair(center + 1);
        }
        let mut target = center;
        if center >= 1 && allows_merge(self.nodes.get(center), self.nodes.get(center - 1), fill) {
            self.merge_pair(center - 1);
            target = center - 1;
        }
        if allows_merge(self.nodes.get(target), self.nodes.get(target + 1), fill) {
            self.merge_pair(target);
        }
        target
    }

    /// Deletes the element at `offset` of node `i`; true if that removed the node.
    fn delete_at(&mut self, i: usize, offset: usize) -> bool {
        let node = &mut self.nodes[i];
        if node.plain || node.count == 1 {
            self.remove_node(i);
            return true;
        }
        let lp = node.lp_mut();
        let pos = position_of(lp, offset);
        listpack::delete(lp, pos, 1);
        node.resized();
        node.count -= 1;
        self.count -= 1;
        self.settle(i);
        false
    }

    /// Inserts `v` next to the element at `offset` of node `i` (Valkey's `_quicklistInsert`).
    pub fn insert_at(&mut self, i: usize, offset: usize, after: bool, v: &[u8]) {
        let fill = self.fill;
        let size = v.len();
        let node = &self.nodes[i];
        let full = !node.allows_insert(fill, size);
        let at_tail = after && offset + 1 == node.count;
        let at_head = !after && offset == 0;
        let avail_next = at_tail && allows_insert(self.nodes.get(i + 1), fill, size);
        let avail_prev = at_head && i > 0 && allows_insert(self.nodes.get(i - 1), fill, size);

        if is_large(size, fill) {
            let plain = Node::plain(v.to_vec());
            if node.plain || at_tail || at_head {
                self.insert_node(if after { i + 1 } else { i }, plain);
            } else {
                let rest = self.split(i, offset, after);
                if after {
                    self.insert_node(i + 1, plain);
                    self.insert_node(i + 2, rest);
                    self.settle(i);
                } else {
                    self.insert_node(i, rest);
                    self.insert_node(i + 1, plain);
                    self.settle(i + 2);
                }
            }
            return;
        }

        if !full {
            let node = &mut self.nodes[i];
            let lp = node.lp_mut();
            let pos = position_of(lp, if after { offset + 1 } else { offset });
            listpack::insert(lp, pos, &[v]);
            node.resized();
            node.count += 1;
            self.count += 1;
            self.settle(i);
        } else if at_tail && avail_next {
            let next = &mut self.nodes[i + 1];
            listpack::push_front(next.lp_mut(), v);
            next.resized();
            next.count += 1;
            self.count += 1;
            self.settle(i + 1);
        } else if at_head && avail_prev {
            let prev = &mut self.nodes[i - 1];
            listpack::push_back(prev.lp_mut(), v);
            prev.resized();
            prev.count += 1;
            self.count += 1;
            self.settle(i - 1);
        } else if at_tail || at_head {
            self.insert_node(if after { i + 1 } else { i }, Node::single(v));
        } else {
            let mut rest = self.split(i, offset, after);
            if after {
                listpack::push_front(&mut rest.data, v);
            } else {
                listpack::push_back(&mut rest.data, v);
            }
            rest.resized();
            rest.count += 1;
            let center = if after {
                self.insert_node(i + 1, rest);
                i
            } else {
                self.insert_node(i, rest);
                i + 1
            };
            let center = self.merge_around(center);
            self.settle_around(center);
        }
    }

    /// Replaces element `index` with `v`; false if out of range (Valkey's
    /// `quicklistReplaceAtIndex`).
    pub fn replace(&mut self, index: i64, v: &[u8]) -> bool {
        let Some((i, offset)) = self.locate(index) else { return false };
        let fill = self.fill;
        let large = is_large(v.len(), fill);
        if !self.nodes[i].plain && !large {
            // In place, even if the node grows past its limit (as Valkey does).
            let node = &mut self.nodes[i];
            let lp = node.lp_mut();
            let pos = position_of(lp, offset);
            listpack::replace(lp, pos, v);
            node.resized();
            self.settle(i);
        } else if self.nodes[i].plain && large {
            let node = &mut self.nodes[i];
            node.data = v.to_vec();
            node.compressed = false;
            node.size = v.len();
            self.settle(i);
        } else if self.nodes[i].plain {
            self.insert_at(i, 0, true, v);
            self.remove_node(i);
        } else {
            // A large element into a packed node: split after it, put the new element in a
            // plain node of its own between the halves, drop the old element.
            let rest = (offset + 1 != self.nodes[i].count).then(|| self.split(i, offset, true));
            self.insert_node(i + 1, Node::plain(v.to_vec()));
            if let Some(rest) = rest {
                self.insert_node(i + 2, rest);
            }
            if self.nodes[i].count == 1 {
                self.remove_node(i);
            } else {
                let last = self.nodes[i].count - 1;
                self.delete_at(i, last);
                let center = self.merge_around(i + 1);
                self.settle_around(center);
            }
        }
        true
    }

    /// Deletes `count` elements from index `start` (negative counts from the tail), stopping
    /// at the end of the list (Valkey's `quicklistDelRange`). Returns how many were deleted.
    pub fn delete_range(&mut self, start: i64, count: usize) -> usize {
        if count == 0 {
            return 0;
        }
        let Some((mut i, mut offset)) = self.locate(start) else { return 0 };
        let begin = if start < 0 { self.count as i64 + start } else { start } as usize;
        let mut left = count.min(self.count - begin);
        let deleted = left;
        while left > 0 {
            let node = &mut self.nodes[i];
            let del = (node.count - offset).min(left);
            if del == node.count || node.plain {
                self.remove_node(i);
            } else {
                let lp = node.lp_mut();
                let pos = position_of(lp, offset);
                listpack::delete(lp, pos, del);
                node.resized();
                node.count -= del;
                self.count -= del;
                self.settle(i);
                i += 1;
            }
            left -= del;
            offset = 0;
        }
        deleted
    }

    /// The first element (from the head) for which `matches` holds, as (node, offset).
    pub fn find(&self, mut matches: impl FnMut(LpValue<'_>) -> bool) -> Option<(usize, usize)> {
        let mut scratch = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let raw = node.raw(&mut scratch);
            if node.plain {
                if matches(LpValue::Str(raw)) {
                    return Some((i, 0));
                }
            } else if let Some(o) = listpack::iter(raw).position(|(_, v)| matches(v)) {
                return Some((i, o));
            }
        }
        None
    }

    /// Removes up to `limit` (0 = all) elements for which `matches` holds, scanning from the
    /// head or from the tail. Returns how many were removed. Nodes are not merged afterwards,
    /// as in Valkey.
    pub fn remove_matching(
        &mut self,
        mut matches: impl FnMut(LpValue<'_>) -> bool,
        limit: usize,
        from_tail: bool,
    ) -> usize {
        let mut removed = 0;
        let mut scratch = Vec::new();
        let mut i = if from_tail { self.nodes.len() } else { 0 };
        loop {
            if limit != 0 && removed == limit {
                break;
            }
            if from_tail {
                if i == 0 {
                    break;
                }
                i -= 1;
            } else if i >= self.nodes.len() {
                break;
            }
            let node = &self.nodes[i];
            let raw = node.raw(&mut scratch);
            let mut hits: Vec<usize> = Vec::new();
            if node.plain {
                if matches(LpValue::Str(raw)) {
                    hits.push(0);
                }
            } else {
                let room = if limit == 0 { usize::MAX } else { limit - removed };
                if from_tail {
                    hits.extend(listpack::iter_rev(raw).filter(|(_, v)| matches(*v)).map(|(p, _)| p).take(room));
                } else {
                    hits.extend(listpack::iter(raw).filter(|(_, v)| matches(*v)).map(|(p, _)| p).take(room));
                }
            }
            if hits.is_empty() {
                if !from_tail {
                    i += 1;
                }
                continue;
            }
            removed += hits.len();
            if hits.len() == node.count {
                self.remove_node(i);
                continue;
            }
            hits.sort_unstable_by(|a, b| b.cmp(a));
            let node = &mut self.nodes[i];
            let lp = node.lp_mut();
            for pos in &hits {
                listpack::delete(lp, *pos, 1);
            }
            node.resized();
            node.count -= hits.len();
            self.count -= hits.len();
            self.settle(i);
            if !from_tail {
                i += 1;
            }
        }
        removed
    }

    /// Bytes of heap used (MEMORY USAGE).
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Quicklist>()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.nodes.iter().map(|n| n.data.capacity()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests;
