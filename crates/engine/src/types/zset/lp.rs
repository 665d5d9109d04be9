//! A small sorted set as Valkey stores it: one listpack of `member, score, member, score ...`
//! pairs sorted by (score, member). Scores are written as Valkey's `zzlInsertAt` writes them:
//! an integer element when the score is integral and within ±2^62 (`double2ll`), otherwise
//! the text `d2string` prints. Everything here is a linear walk, as in Valkey; the listpack is
//! small by configuration (`zset-max-listpack-entries`).

use super::range::{LexRange, ScoreRange};
use crate::types::listpack::{self, LpValue};
use crate::util::strtod::strtod;

/// A member as stored: listpack members can be integers.
pub type Member<'a> = LpValue<'a>;

/// The score of a listpack score element (Valkey's `zzlGetScore`: strtod over at most 127
/// bytes of a string element, stopping where the number stops).
pub fn score_of(v: LpValue<'_>) -> f64 {
    match v {
        LpValue::Int(i) => i as f64,
        LpValue::Str(s) => strtod(&s[..s.len().min(127)]).value,
    }
}

/// Whether `score` is stored as an integer (Valkey's `double2ll`).
pub fn as_integer(score: f64) -> Option<i64> {
    let limit = (i64::MAX / 2) as f64;
    (score >= -limit && score <= limit && score == (score as i64) as f64).then_some(score as i64)
}

/// The element a score is stored as, in string form (the listpack re-encodes canonical
/// integers as integers).
pub fn score_text(score: f64, buf: &mut Vec<u8>) -> &[u8] {
    buf.clear();
    match as_integer(score) {
        Some(i) => resp::number::push_i64(buf, i),
        None => resp::number::push_double(buf, score),
    }
    buf
}

/// Number of (member, score) pairs.
pub fn len(lp: &[u8]) -> usize {
    listpack::len(lp) / 2
}

/// One pair, located by the offset of its member element.
#[derive(Clone, Copy)]
pub struct Pair<'a> {
    pub pos: usize,
    pub member: Member<'a>,
    pub score: f64,
}

/// The pair whose member element is at `pos`.
pub fn pair_at(lp: &[u8], pos: usize) -> Pair<'_> {
    let member = listpack::get(lp, pos);
    let score = score_of(listpack::get(lp, listpack::next(lp, pos)));
    Pair { pos, member, score }
}

/// The member offset of pair `rank` (0-based).
pub fn seek(lp: &[u8], rank: usize) -> Option<usize> {
    if rank >= len(lp) {
        return None;
    }
    listpack::seek(lp, 2 * rank as i64)
}

/// The pair after the one at `pos`, if any.
pub fn next_pos(lp: &[u8], pos: usize) -> Option<usize> {
    let p = listpack::next(lp, listpack::next(lp, pos));
    (!listpack::is_end(lp, p)).then_some(p)
}

/// The pair before the one at `pos`, if any.
pub fn prev_pos(lp: &[u8], pos: usize) -> Option<usize> {
    listpack::prev(lp, pos).and_then(|score| listpack::prev(lp, score))
}

/// Calls `f` on the pairs from `rank` on (or from `rank` down when `reverse`) until it
/// returns false.
pub fn walk<'a>(lp: &'a [u8], rank: usize, reverse: bool, mut f: impl FnMut(Pair<'a>) -> bool) {
    let mut pos = seek(lp, rank);
    while let Some(p) = pos {
        if !f(pair_at(lp, p)) {
            return;
        }
        pos = if reverse { prev_pos(lp, p) } else { next_pos(lp, p) };
    }
}

/// The pair of `member`, with its rank.
pub fn find<'a>(lp: &'a [u8], member: &[u8]) -> Option<(usize, Pair<'a>)> {
    let mut rank = 0;
    let mut pos = (!listpack::is_empty(lp)).then_some(listpack::HEADER_SIZE);
    while let Some(p) = pos {
        if listpack::get(lp, p).eq_bytes(member) {
            return Some((rank, pair_at(lp, p)));
        }
        rank += 1;
        pos = next_pos(lp, p);
    }
    None
}

/// Inserts a pair whose member is absent, keeping the order (Valkey's `zzlInsert`).
pub fn insert(lp: &mut Vec<u8>, member: &[u8], score: f64) {
    let mut at = None;
    let mut pos = (!listpack::is_empty(lp)).then_some(listpack::HEADER_SIZE);
    while let Some(p) = pos {
        let pair = pair_at(lp, p);
        if pair.score > score || (pair.score == score && pair.member.with_bytes(|m| m > member)) {
            at = Some(p);
            break;
        }
        pos = next_pos(lp, p);
    }
    let mut buf = Vec::with_capacity(32);
    let text = score_text(score, &mut buf);
    let at = at.unwrap_or_else(|| listpack::end(lp));
    listpack::insert(lp, at, &[member, text]);
}

/// Deletes the pair at `pos`.
pub fn delete(lp: &mut Vec<u8>, pos: usize) {
    listpack::delete(lp, pos, 2);
}

/// Deletes `n` pairs from rank `start`.
pub fn delete_ranks(lp: &mut Vec<u8>, start: usize, n: usize) {
    if let Some(pos) = seek(lp, start) {
        listpack::delete(lp, pos, 2 * n);
    }
}

/// A range in either form, as the range commands see it.
pub trait Spec {
    fn always_empty(&self) -> bool;
    fn gte_min(&self, member: Member<'_>, score: f64) -> bool;
    fn lte_max(&self, member: Member<'_>, score: f64) -> bool;
}

impl Spec for ScoreRange {
    fn always_empty(&self) -> bool {
        self.is_always_empty()
    }
    fn gte_min(&self, _: Member<'_>, score: f64) -> bool {
        ScoreRange::gte_min(self, score)
    }
    fn lte_max(&self, _: Member<'_>, score: f64) -> bool {
        ScoreRange::lte_max(self, score)
    }
}

impl Spec for LexRange<'_> {
    fn always_empty(&self) -> bool {
        self.is_always_empty()
    }
    fn gte_min(&self, member: Member<'_>, _: f64) -> bool {
        member.with_bytes(|m| LexRange::gte_min(self, m))
    }
    fn lte_max(&self, member: Member<'_>, _: f64) -> bool {
        member.with_bytes(|m| LexRange::lte_max(self, m))
    }
}

/// Whether any pair can be in range: the range is not empty by itself, the last pair is not
/// below it and the first not above it (`zzlIsInRange` / `zzlIsInLexRange`).
fn may_intersect(lp: &[u8], spec: &dyn Spec) -> bool {
    if spec.always_empty() || listpack::is_empty(lp) {
        return false;
    }
    let n = len(lp);
    let (Some(first), Some(last)) = (seek(lp, 0), seek(lp, n - 1)) else { return false };
    let (first, last) = (pair_at(lp, first), pair_at(lp, last));
    spec.gte_min(last.member, last.score) && spec.lte_max(first.member, first.score)
}

/// Rank of the first pair in range, walking from the front as `zzlFirstInRange` does: the
/// first pair not below the minimum, if it is not above the maximum.
pub fn first_in_range(lp: &[u8], spec: &dyn Spec) -> Option<usize> {
    if !may_intersect(lp, spec) {
        return None;
    }
    let mut found = None;
    let mut rank = 0;
    walk(lp, 0, false, |p| {
        if spec.gte_min(p.member, p.score) {
            if spec.lte_max(p.member, p.score) {
                found = Some(rank);
            }
            return false;
        }
        rank += 1;
        true
    });
    found
}

/// Rank of the last pair in range, walking from the back as `zzlLastInRange` does.
pub fn last_in_range(lp: &[u8], spec: &dyn Spec) -> Option<usize> {
    if !may_intersect(lp, spec) {
        return None;
    }
    let n = len(lp);
    let mut found = None;
    let mut rank = n;
    walk(lp, n - 1, true, |p| {
        rank -= 1;
        if spec.lte_max(p.member, p.score) {
            if spec.gte_min(p.member, p.score) {
                found = Some(rank);
            }
            return false;
        }
        true
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(pairs: &[(&str, f64)]) -> Vec<u8> {
        let mut lp = listpack::new();
        for (m, s) in pairs {
            insert(&mut lp, m.as_bytes(), *s);
        }
        lp
    }

    fn contents(lp: &[u8]) -> Vec<(String, f64)> {
        let mut v = Vec::new();
        walk(lp, 0, false, |p| {
            v.push((String::from_utf8(p.member.to_vec()).unwrap(), p.score));
            true
        });
        v
    }

    #[test]
    fn pairs_stay_sorted_and_scores_keep_valkeys_form() {
        let lp = build(&[("b", 2.0), ("a", 2.0), ("c", 1.5), ("d", -0.0), ("e", 1e300), ("10", 3.0)]);
        assert_eq!(
            contents(&lp),
            vec![
                ("d".into(), 0.0),
                ("c".into(), 1.5),
                ("a".into(), 2.0),
                ("b".into(), 2.0),
                ("10".into(), 3.0),
                ("e".into(), 1e300)
            ]
        );
        // -0 is stored as the integer 0 (double2ll), 1.5 as text, 1e300 as its text.
        let scores: Vec<LpValue> = listpack::iter(&lp).skip(1).step_by(2).map(|(_, v)| v).collect();
        assert_eq!(scores[0], LpValue::Int(0));
        assert_eq!(scores[1], LpValue::Str(b"1.5"));
        assert_eq!(scores[5], LpValue::Str(b"1e+300"));
        assert!(listpack::validate(&lp).is_some());
        let (rank, p) = find(&lp, b"10").unwrap();
        assert_eq!((rank, p.member, p.score), (4, LpValue::Int(10), 3.0));
        assert!(find(&lp, b"x").is_none());
    }

    #[test]
    fn range_scans_follow_valkey() {
        let lp = build(&[("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)]);
        let r = ScoreRange::parse(b"(1", b"3").unwrap();
        assert_eq!(first_in_range(&lp, &r), Some(1));
        assert_eq!(last_in_range(&lp, &r), Some(2));
        let none = ScoreRange::parse(b"5", b"6").unwrap();
        assert_eq!(first_in_range(&lp, &none), None);
        let gap = ScoreRange::parse(b"(2", b"(3").unwrap();
        assert_eq!((first_in_range(&lp, &gap), last_in_range(&lp, &gap)), (None, None));
        // Lex scans are linear: with mixed scores the first member >= min decides.
        let mixed = build(&[("z", 1.0), ("a", 2.0), ("m", 3.0)]);
        let lex = LexRange::parse(b"[b", b"+").unwrap();
        assert_eq!(first_in_range(&mixed, &lex), Some(0));
        assert_eq!(last_in_range(&mixed, &lex), Some(2));
    }
}
