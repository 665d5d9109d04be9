//! Score and lexicographic ranges as ZRANGEBYSCORE, ZCOUNT, ZRANGEBYLEX and friends take them,
//! parsed with Valkey's rules (`zslParseRange`, `zslParseLexRange`) and compared as Valkey
//! compares them.

use crate::util::strtod::strtod_whole;
use std::cmp::Ordering;

/// `min`..`max` of scores, each end inclusive or exclusive (`(1.5`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub min_exclusive: bool,
    pub max_exclusive: bool,
}

fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (text, exclusive) = match arg.first() {
        Some(b'(') => (&arg[1..], true),
        _ => (arg, false),
    };
    // A bare strtod over the whole (C) string: leading spaces, "" (zero), "1e999" pass.
    let v = strtod_whole(text)?;
    (!v.is_nan()).then_some((v, exclusive))
}

impl ScoreRange {
    /// Parses `min` and `max`; `None` is Valkey's "min or max is not a float".
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let (min, min_exclusive) = parse_score_bound(min)?;
        let (max, max_exclusive) = parse_score_bound(max)?;
        Some(ScoreRange { min, max, min_exclusive, max_exclusive })
    }

    pub fn gte_min(&self, score: f64) -> bool {
        if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        }
    }

    pub fn lte_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }

    pub fn contains(&self, score: f64) -> bool {
        self.gte_min(score) && self.lte_max(score)
    }

    /// Ranges that can hold nothing whatever the set holds.
    pub fn is_always_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_exclusive || self.max_exclusive))
    }
}

/// One end of a lexicographic range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LexBound<'a> {
    /// `-`: below every string.
    Lowest,
    /// `+`: above every string.
    Highest,
    /// `[value`.
    Inclusive(&'a [u8]),
    /// `(value`.
    Exclusive(&'a [u8]),
}

impl<'a> LexBound<'a> {
    fn parse(arg: &'a [u8]) -> Option<LexBound<'a>> {
        // "+" and "-" are compared as C strings: anything after a NUL byte is not seen.
        let alone = |a: &[u8]| a.len() == 1 || a[1] == 0;
        match arg.first()? {
            b'+' if alone(arg) => Some(LexBound::Highest),
            b'-' if alone(arg) => Some(LexBound::Lowest),
            b'(' => Some(LexBound::Exclusive(&arg[1..])),
            b'[' => Some(LexBound::Inclusive(&arg[1..])),
            _ => None,
        }
    }

    /// Valkey keeps `+` and `-` as exclusive bounds.
    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Inclusive(_))
    }
}

/// Orders a member against a bound (`sdscmplex` with the member on the left).
fn cmp_to_bound(member: &[u8], bound: &LexBound<'_>) -> Ordering {
    match bound {
        LexBound::Lowest => Ordering::Greater,
        LexBound::Highest => Ordering::Less,
        LexBound::Inclusive(b) | LexBound::Exclusive(b) => member.cmp(b),
    }
}

/// `min`..`max` of members by byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LexRange<'a> {
    pub min: LexBound<'a>,
    pub max: LexBound<'a>,
}

impl<'a> LexRange<'a> {
    /// Parses `min` and `max`; `None` is Valkey's "min or max not valid string range item".
    pub fn parse(min: &'a [u8], max: &'a [u8]) -> Option<LexRange<'a>> {
        Some(LexRange { min: LexBound::parse(min)?, max: LexBound::parse(max)? })
    }

    pub fn gte_min(&self, member: &[u8]) -> bool {
        let c = cmp_to_bound(member, &self.min);
        if self.min.exclusive() {
            c == Ordering::Greater
        } else {
            c != Ordering::Less
        }
    }

    pub fn lte_max(&self, member: &[u8]) -> bool {
        let c = cmp_to_bound(member, &self.max);
        if self.max.exclusive() {
            c == Ordering::Less
        } else {
            c != Ordering::Greater
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.gte_min(member) && self.lte_max(member)
    }

    /// Ranges that can hold nothing (`zslIsInLexRange`'s first test: the bounds compared with
    /// each other, `-`/`-` and `+`/`+` being equal and exclusive).
    pub fn is_always_empty(&self) -> bool {
        use LexBound::*;
        let cmp = match (&self.min, &self.max) {
            (Lowest, Lowest) | (Highest, Highest) => Ordering::Equal,
            (Lowest, _) | (_, Highest) => Ordering::Less,
            (Highest, _) | (_, Lowest) => Ordering::Greater,
            (Inclusive(a) | Exclusive(a), Inclusive(b) | Exclusive(b)) => a.cmp(b),
        };
        cmp == Ordering::Greater || (cmp == Ordering::Equal && (self.min.exclusive() || self.max.exclusive()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_bounds_parse_like_zslparserange() {
        let r = ScoreRange::parse(b"(1.5", b"+inf").unwrap();
        assert!(r.min_exclusive && !r.max_exclusive && r.min == 1.5 && r.max == f64::INFINITY);
        assert!(!r.contains(1.5) && r.contains(1.6) && r.contains(f64::INFINITY));
        assert_eq!(ScoreRange::parse(b"", b"( 2").map(|r| (r.min, r.max, r.max_exclusive)), Some((0.0, 2.0, true)));
        assert_eq!(ScoreRange::parse(b"-inf", b"1e999").map(|r| r.max), Some(f64::INFINITY));
        assert_eq!(ScoreRange::parse(b"0x10", b"1").map(|r| r.min), Some(16.0));
        for bad in [&b"nan"[..], b"((1", b"1 ", b"abc", b"[1"] {
            assert_eq!(ScoreRange::parse(bad, b"1"), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(ScoreRange::parse(b"2", b"1").unwrap().is_always_empty());
        assert!(ScoreRange::parse(b"(1", b"1").unwrap().is_always_empty());
        assert!(!ScoreRange::parse(b"1", b"1").unwrap().is_always_empty());
    }

    #[test]
    fn lex_bounds_parse_and_compare_like_valkey() {
        let r = LexRange::parse(b"[b", b"(d").unwrap();
        assert!(!r.contains(b"a") && r.contains(b"b") && r.contains(b"c\xff") && !r.contains(b"d"));
        let all = LexRange::parse(b"-", b"+").unwrap();
        assert!(all.contains(b"") && all.contains(b"\xff\xff"));
        assert!(!all.is_always_empty());
        assert!(LexRange::parse(b"-", b"-").unwrap().is_always_empty());
        assert!(LexRange::parse(b"+", b"+").unwrap().is_always_empty());
        assert!(LexRange::parse(b"+", b"-").unwrap().is_always_empty());
        assert!(!LexRange::parse(b"[a", b"[a").unwrap().is_always_empty());
        assert!(LexRange::parse(b"(a", b"[a").unwrap().is_always_empty());
        assert!(LexRange::parse(b"[", b"(").is_some(), "empty strings are bounds too");
        assert_eq!(LexRange::parse(b"+\x00x", b"-\x00").map(|r| r.min), Some(LexBound::Highest));
        for bad in [&b""[..], b"a", b"+a", b"--", b"1"] {
            assert_eq!(LexRange::parse(bad, b"+"), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
