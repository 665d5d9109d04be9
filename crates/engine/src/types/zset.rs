//! The sorted set type with Valkey's two encodings and its conversion rules:
//!
//! - `listpack` (`lp.rs`): one listpack of (member, score) pairs in (score, member) order, while
//!   the set has at most `zset-max-listpack-entries` members of at most
//!   `zset-max-listpack-value` bytes;
//! - `skiplist` (`skiplist.rs`): a member → score dict plus an ordered index (`tree.rs`, an
//!   order-statistic B+tree rather than Valkey's skiplist; the encoding keeps Valkey's name).
//!
//! A set converts to `skiplist` when an addition breaks a limit (`zsetAdd`) or a command
//! announces more members than fit (`zsetTypeCreate`, `zsetTypeMaybeConvert`); it converts
//! back only where Valkey does: results built from scratch (ZUNIONSTORE & co., ZRANGESTORE)
//! and RDB loads. [`ZSet`] is the owned value with the modifying operations; [`ZSetRef`] is
//! the borrowed view read-only commands work on.

pub mod lp;
pub mod range;
pub mod skiplist;
pub mod tree;

use crate::types::listpack::{self, LpValue};
pub use lp::{Member, Spec};
pub use range::{LexBound, LexRange, ScoreRange};
use skiplist::SkipList;
use tree::score_of as item_score;

/// Conversion thresholds, from the `zset-max-listpack-*` directives.
#[derive(Clone, Copy, Debug)]
pub struct ZSetLimits {
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

pub enum ZSet {
    Listpack(Vec<u8>),
    Skiplist(Box<SkipList>),
}

/// A borrowed sorted set, as it sits in the keyspace.
#[derive(Clone, Copy)]
pub enum ZSetRef<'a> {
    Listpack(&'a [u8]),
    Skiplist(&'a SkipList),
}

/// ZADD's conditions (`ZADD_IN_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddFlags {
    pub incr: bool,
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
}

/// What one ZADD element did (`ZADD_OUT_*`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AddOutcome {
    /// New member, with this score.
    Added(f64),
    /// Existing member, score changed to this.
    Updated(f64),
    /// Existing member, score unchanged (same score, or a zero increment).
    Unchanged(f64),
    /// Nothing done because of NX, XX, GT or LT.
    Skipped,
}

/// The score (or the incremented score) is NaN: "resulting score is not a number (NaN)".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotANumber;

/// Whether `bytes` more bytes keep a listpack within its safety limit (`lpSafeToAdd`).
fn listpack_safe(current: usize, bytes: usize) -> bool {
    current.saturating_add(bytes) <= listpack::MAX_SAFE_SIZE
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Listpack(listpack::new())
    }
}

impl ZSet {
    /// An empty set in the encoding suited to about `size_hint` members of up to
    /// `value_len_hint` bytes (Valkey's `zsetTypeCreate`).
    pub fn new_for(size_hint: usize, value_len_hint: usize, limits: ZSetLimits) -> ZSet {
        if size_hint <= limits.max_listpack_entries && value_len_hint <= limits.max_listpack_value {
            ZSet::default()
        } else {
            ZSet::Skiplist(Box::default())
        }
    }

    pub fn as_ref(&self) -> ZSetRef<'_> {
        match self {
            ZSet::Listpack(lp) => ZSetRef::Listpack(lp),
            ZSet::Skiplist(s) => ZSetRef::Skiplist(s),
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

    /// Converts ahead of adding about `size_hint` members (`zsetTypeMaybeConvert`).
    pub fn maybe_convert(&mut self, size_hint: usize, value_len_hint: usize, limits: ZSetLimits) {
        if matches!(self, ZSet::Listpack(_))
            && (size_hint > limits.max_listpack_entries || value_len_hint > limits.max_listpack_value)
        {
            self.convert_to_skiplist();
        }
    }

    pub fn convert_to_skiplist(&mut self) {
        let ZSet::Listpack(lp) = self else { return };
        let mut s = SkipList::new();
        lp::walk(lp, 0, false, |p| {
            p.member.with_bytes(|m| s.insert(m, p.score));
            true
        });
        *self = ZSet::Skiplist(Box::new(s));
    }

    pub fn convert_to_listpack(&mut self) {
        let ZSet::Skiplist(s) = self else { return };
        let mut out = listpack::new();
        let mut buf = Vec::with_capacity(32);
        let end = |lp: &Vec<u8>| listpack::end(lp);
        s.tree().for_each(|slot| {
            let text = lp::score_text(slot.score, &mut buf);
            let at = end(&out);
            listpack::insert(&mut out, at, &[slot.item.key(), text]);
        });
        *self = ZSet::Listpack(out);
    }

    /// Converts a set built from scratch back to a listpack if it fits
    /// (`zsetConvertToListpackIfNeeded`): `max_len` is its longest member, `total_len` the
    /// sum of member lengths.
    pub fn shrink_to_fit(&mut self, max_len: usize, total_len: usize, limits: ZSetLimits) {
        if let ZSet::Skiplist(s) = self {
            if s.len() <= limits.max_listpack_entries
                && max_len <= limits.max_listpack_value
                && listpack_safe(0, total_len)
            {
                self.convert_to_listpack();
            }
        }
    }

    /// Adds or updates `member` (Valkey's `zsetAdd`).
    pub fn add(
        &mut self,
        member: &[u8],
        score: f64,
        flags: AddFlags,
        limits: ZSetLimits,
    ) -> Result<AddOutcome, NotANumber> {
        if score.is_nan() {
            return Err(NotANumber);
        }
        let current = self.as_ref().score(member);
        if let Some(cur) = current {
            if flags.nx {
                return Ok(AddOutcome::Skipped);
            }
            let mut score = score;
            if flags.incr {
                score += cur;
                if score.is_nan() {
                    return Err(NotANumber);
                }
            }
            if (flags.lt && score >= cur) || (flags.gt && score <= cur) {
                return Ok(AddOutcome::Skipped);
            }
            if score == cur {
                return Ok(AddOutcome::Unchanged(score));
            }
            match self {
                ZSet::Listpack(lp) => {
                    if let Some((_, p)) = lp::find(lp, member) {
                        lp::delete(lp, p.pos);
                    }
                    lp::insert(lp, member, score);
                }
                ZSet::Skiplist(s) => {
                    s.set_score(member, score);
                }
            }
            return Ok(AddOutcome::Updated(score));
        }
        if flags.xx {
            return Ok(AddOutcome::Skipped);
        }
        if let ZSet::Listpack(lp) = self {
            if lp::len(lp) < limits.max_listpack_entries
                && member.len() <= limits.max_listpack_value
                && listpack_safe(lp.len(), member.len())
            {
                lp::insert(lp, member, score);
                return Ok(AddOutcome::Added(score));
            }
            self.convert_to_skiplist();
        }
        if let ZSet::Skiplist(s) = self {
            s.insert(member, score);
        }
        Ok(AddOutcome::Added(score))
    }

    /// Removes `member`; whether it was present.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            ZSet::Listpack(lp) => match lp::find(lp, member) {
                Some((_, p)) => {
                    lp::delete(lp, p.pos);
                    true
                }
                None => false,
            },
            ZSet::Skiplist(s) => s.remove(member).is_some(),
        }
    }

    /// Removes the members of ranks `start..=end` (both within the set); returns how many.
    pub fn remove_ranks(&mut self, start: usize, end: usize) -> usize {
        if start > end || start >= self.len() {
            return 0;
        }
        let end = end.min(self.len() - 1);
        let n = end - start + 1;
        match self {
            ZSet::Listpack(lp) => lp::delete_ranks(lp, start, n),
            ZSet::Skiplist(s) => {
                for _ in 0..n {
                    let Some((member, _)) = s.get(start) else { break };
                    let member = member.to_vec();
                    s.remove(&member);
                }
            }
        }
        n
    }

    /// Removes the members in `spec` as ZREMRANGEBYSCORE / ZREMRANGEBYLEX do: from the first
    /// member in range on, while members stay below the maximum. Returns how many.
    pub fn remove_range(&mut self, spec: &dyn Spec) -> usize {
        match self {
            ZSet::Listpack(lp) => {
                let Some(start) = lp::first_in_range(lp, spec) else { return 0 };
                let mut n = 0;
                lp::walk(lp, start, false, |p| {
                    if spec.lte_max(p.member, p.score) {
                        n += 1;
                        true
                    } else {
                        false
                    }
                });
                lp::delete_ranks(lp, start, n);
                n
            }
            ZSet::Skiplist(s) => {
                let start = s.tree().partition_point(|x| !spec.gte_min(LpValue::Str(x.item.key()), x.score));
                let mut doomed = Vec::new();
                s.tree().walk(start, false, |x| {
                    let keep_going = spec.lte_max(LpValue::Str(x.item.key()), x.score);
                    if keep_going {
                        doomed.push(x.item.key().to_vec());
                    }
                    keep_going
                });
                for m in &doomed {
                    s.remove(m);
                }
                doomed.len()
            }
        }
    }

    /// Removes and returns the member with the lowest (or highest) score.
    pub fn pop(&mut self, highest: bool) -> Option<(Vec<u8>, f64)> {
        let n = self.len();
        let rank = if highest { n.checked_sub(1)? } else { 0 };
        let (member, score) = self.as_ref().get(rank).map(|(m, s)| (m.to_vec(), s))?;
        self.remove(&member);
        Some((member, score))
    }
}

impl Clone for ZSet {
    fn clone(&self) -> ZSet {
        self.as_ref().to_owned_zset()
    }
}

impl<'a> ZSetRef<'a> {
    pub fn encoding(self) -> &'static str {
        match self {
            ZSetRef::Listpack(_) => "listpack",
            ZSetRef::Skiplist(_) => "skiplist",
        }
    }

    pub fn len(self) -> usize {
        match self {
            ZSetRef::Listpack(lp) => lp::len(lp),
            ZSetRef::Skiplist(s) => s.len(),
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// A deep copy in the same encoding (COPY, DUMP round trips).
    pub fn to_owned_zset(self) -> ZSet {
        match self {
            ZSetRef::Listpack(lp) => ZSet::Listpack(lp.to_vec()),
            ZSetRef::Skiplist(s) => ZSet::Skiplist(Box::new(s.clone())),
        }
    }

    pub fn score(self, member: &[u8]) -> Option<f64> {
        match self {
            ZSetRef::Listpack(lp) => lp::find(lp, member).map(|(_, p)| p.score),
            ZSetRef::Skiplist(s) => s.score(member),
        }
    }

    /// The 0-based rank of `member` (counted from the highest score when `reverse`) and its
    /// score.
    pub fn rank(self, member: &[u8], reverse: bool) -> Option<(usize, f64)> {
        let (rank, score) = match self {
            ZSetRef::Listpack(lp) => lp::find(lp, member).map(|(r, p)| (r, p.score))?,
            ZSetRef::Skiplist(s) => s.rank(member)?,
        };
        Some((if reverse { self.len() - 1 - rank } else { rank }, score))
    }

    /// The member and score at `rank` (ascending order).
    pub fn get(self, rank: usize) -> Option<(Member<'a>, f64)> {
        match self {
            ZSetRef::Listpack(lp) => lp::seek(lp, rank).map(|pos| {
                let p = lp::pair_at(lp, pos);
                (p.member, p.score)
            }),
            ZSetRef::Skiplist(s) => s.get(rank).map(|(m, sc)| (LpValue::Str(m), sc)),
        }
    }

    /// Calls `f` on the members from `rank` on, ascending (or from `rank` down to the lowest
    /// when `reverse`), until it returns false.
    pub fn walk(self, rank: usize, reverse: bool, mut f: impl FnMut(Member<'a>, f64) -> bool) {
        match self {
            ZSetRef::Listpack(lp) => lp::walk(lp, rank, reverse, |p| f(p.member, p.score)),
            ZSetRef::Skiplist(s) => s.tree().walk(rank, reverse, |x| f(LpValue::Str(x.item.key()), x.score)),
        }
    }

    /// Where a ZRANGEBYSCORE / ZRANGEBYLEX walk with LIMIT `offset` starts (a rank), or `None`
    /// when it yields nothing. Valkey differs by encoding and so does this: a listpack walk
    /// starts at the first (last, `reverse`) member in range and skips `offset` members (a
    /// negative offset skips everything); the skiplist jumps to the `offset`-th member in range,
    /// counted from the end of the range for a negative one (`zslNthInRange`).
    pub fn range_start(self, spec: &dyn Spec, offset: i64, reverse: bool) -> Option<usize> {
        match self {
            ZSetRef::Listpack(lp) => {
                if offset < 0 {
                    return None;
                }
                let offset = usize::try_from(offset).ok()?;
                if reverse {
                    lp::last_in_range(lp, spec)?.checked_sub(offset)
                } else {
                    let r = lp::first_in_range(lp, spec)?.checked_add(offset)?;
                    (r < self.len()).then_some(r)
                }
            }
            ZSetRef::Skiplist(_) => {
                let n = if reverse { offset.checked_neg()?.checked_sub(1)? } else { offset };
                self.nth_in_range(spec, n)
            }
        }
    }

    /// The rank of the `n`-th member in range (`n` < 0 counts from the last), as
    /// `zslNthInRange` finds it: by the partition points of the range's two bounds.
    pub fn nth_in_range(self, spec: &dyn Spec, n: i64) -> Option<usize> {
        let len = self.len();
        let (first, last) = (self.get(0)?, self.get(len - 1)?);
        if spec.always_empty() || !spec.gte_min(last.0, last.1) || !spec.lte_max(first.0, first.1) {
            return None;
        }
        if n >= 0 {
            let edge = self.partition_point(|m, s| !spec.gte_min(m, s));
            let r = edge.checked_add(usize::try_from(n).ok()?)?;
            let (m, s) = self.get(r)?;
            spec.lte_max(m, s).then_some(r)
        } else {
            let edge = self.partition_point(|m, s| spec.lte_max(m, s));
            let back = usize::try_from(n.unsigned_abs()).ok()?;
            let r = edge.checked_sub(back)?;
            let (m, s) = self.get(r)?;
            spec.gte_min(m, s).then_some(r)
        }
    }

    /// The number of leading members for which `pred` holds (binary search on the index; a
    /// walk on a listpack).
    pub fn partition_point(self, pred: impl Fn(Member<'_>, f64) -> bool) -> usize {
        match self {
            ZSetRef::Listpack(lp) => {
                let mut n = 0;
                lp::walk(lp, 0, false, |p| {
                    let go = pred(p.member, p.score);
                    n += usize::from(go);
                    go
                });
                n
            }
            ZSetRef::Skiplist(s) => s.tree().partition_point(|x| pred(LpValue::Str(x.item.key()), x.score)),
        }
    }

    /// ZCOUNT / ZLEXCOUNT: members in range, counted as Valkey counts them per encoding.
    pub fn count_in_range(self, spec: &dyn Spec) -> usize {
        match self {
            ZSetRef::Listpack(lp) => {
                let Some(start) = lp::first_in_range(lp, spec) else { return 0 };
                let mut n = 0;
                lp::walk(lp, start, false, |p| {
                    let inside = spec.lte_max(p.member, p.score);
                    n += usize::from(inside);
                    inside
                });
                n
            }
            ZSetRef::Skiplist(_) => {
                let len = self.len();
                let Some(first) = self.nth_in_range(spec, 0) else { return 0 };
                let mut count = len - first;
                if let Some(last) = self.nth_in_range(spec, -1) {
                    count = count.saturating_sub(len - 1 - last);
                }
                count
            }
        }
    }

    /// Calls `f` on every member in storage order (ascending for a listpack, dict order for
    /// a skiplist): for scans and set operations that do not care about order.
    pub fn for_each(self, mut f: impl FnMut(Member<'a>, f64)) {
        match self {
            ZSetRef::Listpack(_) => self.walk(0, false, |m, s| {
                f(m, s);
                true
            }),
            ZSetRef::Skiplist(s) => s.dict().for_each(|it| f(LpValue::Str(it.key()), item_score(it))),
        }
    }

    /// One ZSCAN step: a listpack is returned whole (cursor 0); a skiplist is scanned by its
    /// dict's cursor.
    pub fn scan(self, cursor: u64, mut f: impl FnMut(Member<'a>, f64)) -> u64 {
        match self {
            ZSetRef::Listpack(_) => {
                self.for_each(f);
                0
            }
            ZSetRef::Skiplist(s) => s.dict().scan(cursor, |it| f(LpValue::Str(it.key()), item_score(it))),
        }
    }

    /// A uniformly random member and its score (owned): a random rank, so that no member is
    /// favoured (a dict's random bucket would favour members alone in theirs).
    pub fn random(self, rng: &mut fastrand::Rng) -> Option<(Vec<u8>, f64)> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        self.get(rng.usize(..n)).map(|(m, s)| (m.to_vec(), s))
    }

    /// All (member, score) pairs in order (comparisons, tests, DEBUG DIGEST).
    pub fn pairs(self) -> Vec<(Vec<u8>, f64)> {
        let mut v = Vec::with_capacity(self.len());
        self.walk(0, false, |m, s| {
            v.push((m.to_vec(), s));
            true
        });
        v
    }

    /// Bytes of heap used, for MEMORY USAGE.
    pub fn heap_bytes(self) -> usize {
        match self {
            ZSetRef::Listpack(lp) => lp.len(),
            ZSetRef::Skiplist(s) => s.heap_bytes(),
        }
    }
}

#[cfg(test)]
mod tests;
