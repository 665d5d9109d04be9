//! RDB encodings of sorted sets.
//!
//! Written as Valkey writes them (`rdbSaveObject`): a listpack-encoded set as its listpack
//! blob (`ZSET_LISTPACK`), a big one as `ZSET_2`: the member count, then each member and its
//! score as a little-endian binary double, from the highest score down (so that loading
//! inserts at the front).
//!
//! Read: `ZSET` (scores as length-prefixed text, with 253/254/255 standing for NaN, +inf and
//! -inf), `ZSET_2`, `ZSET_LISTPACK` and `ZSET_ZIPLIST` (RDB 9 and older, re-encoded as a
//! listpack), then converted per the configured limits as Valkey's `rdbLoadObject` does. A
//! listpack from outside is checked in full before use: structure, an even number of elements, no duplicate member (Valkey's deep sanitization),
//! and, because the range operations rely on it, scores that parse, are not NaN, and pairs in
//! (score, member) order.

use super::len::{load_plain_len, save_len};
use super::string::{load_string, save_bytes};
use super::{RdbError, Reader};
use crate::types::listpack;
use crate::types::zset::skiplist::SkipList;
use crate::types::zset::tree::cmp_key;
use crate::types::zset::{ZSet, ZSetLimits, ZSetRef};
use crate::util::strtod::{strtod, strtod_whole};
use std::cmp::Ordering;
use std::collections::HashSet;

/// Appends the body of a sorted set.
pub fn save(out: &mut Vec<u8>, z: ZSetRef<'_>, compress: bool) {
    match z {
        ZSetRef::Listpack(blob) => save_bytes(out, blob, compress),
        ZSetRef::Skiplist(s) => {
            save_len(out, s.len() as u64);
            z.walk(s.len().saturating_sub(1), true, |m, score| {
                m.with_bytes(|b| save_bytes(out, b, compress));
                out.extend_from_slice(&score.to_le_bytes());
                true
            });
        }
    }
}

/// Reads a text score of the old `ZSET` type (`rdbLoadDoubleValue`).
fn load_text_score(r: &mut Reader<'_>) -> Result<f64, RdbError> {
    match r.read_u8()? {
        255 => Ok(f64::NEG_INFINITY),
        254 => Ok(f64::INFINITY),
        253 => Ok(f64::NAN),
        len => {
            let text = r.read_bytes(usize::from(len))?;
            // sscanf("%lg"): leading space skipped, the longest number prefix taken.
            let p = strtod(text);
            if p.consumed == 0 {
                return Err(RdbError::Corrupt("invalid double value"));
            }
            Ok(p.value)
        }
    }
}

/// Reads a `ZSET` (text scores) or `ZSET_2` (binary scores) body.
pub fn load_pairs(r: &mut Reader<'_>, binary_scores: bool, limits: ZSetLimits) -> Result<ZSet, RdbError> {
    let count = load_plain_len(r)?;
    if count == 0 {
        return Err(RdbError::EmptyKey);
    }
    let mut s = SkipList::new();
    let (mut max_len, mut total_len) = (0usize, 0usize);
    for _ in 0..count {
        let member = load_string(r)?.into_bytes();
        let score = if binary_scores { f64::from_le_bytes(r.read_array()?) } else { load_text_score(r)? };
        if score.is_nan() {
            return Err(RdbError::Corrupt("Zset with NAN score detected"));
        }
        if s.score(&member).is_some() {
            return Err(RdbError::Corrupt("Duplicate zset fields detected"));
        }
        max_len = max_len.max(member.len());
        total_len = total_len.saturating_add(member.len());
        s.insert(&member, score);
    }
    let mut z = ZSet::Skiplist(Box::new(s));
    z.shrink_to_fit(max_len, total_len, limits);
    Ok(z)
}

/// Checks a `ZSET_LISTPACK` blob; returns its pair count.
pub fn validate_listpack(blob: &[u8]) -> Result<usize, RdbError> {
    let corrupt = RdbError::Corrupt("Zset listpack integrity check failed.");
    let elements = listpack::validate(blob).ok_or(corrupt)?;
    if elements % 2 != 0 {
        return Err(corrupt);
    }
    let mut seen = HashSet::with_capacity(elements / 2);
    let mut prev: Option<(Vec<u8>, f64)> = None;
    let mut it = listpack::iter(blob);
    while let (Some((_, m)), Some((_, s))) = (it.next(), it.next()) {
        let score = match s {
            listpack::LpValue::Int(i) => i as f64,
            listpack::LpValue::Str(text) => strtod_whole(text).ok_or(corrupt)?,
        };
        let member = m.to_vec();
        if score.is_nan() || !seen.insert(member.clone()) {
            return Err(corrupt);
        }
        if let Some((pm, ps)) = &prev {
            if cmp_key(*ps, pm, score, &member) != Ordering::Less {
                return Err(corrupt);
            }
        }
        prev = Some((member, score));
    }
    Ok(elements / 2)
}

/// Reads a `ZSET_ZIPLIST` body: the ziplist's (member, score) entries become a listpack,
/// checked as a `ZSET_LISTPACK` is.
pub fn load_ziplist(r: &mut Reader<'_>, limits: ZSetLimits) -> Result<ZSet, RdbError> {
    let zl = load_string(r)?.into_bytes();
    let mut items = Vec::new();
    super::ziplist::for_each(&zl, |v| items.push(v.to_vec()))
        .ok_or(RdbError::Corrupt("Zset ziplist integrity check failed."))?;
    from_listpack(listpack::from_values(items.iter().map(Vec::as_slice)), limits)
}

/// Reads a `ZSET_LISTPACK` body.
pub fn load_listpack(r: &mut Reader<'_>, limits: ZSetLimits) -> Result<ZSet, RdbError> {
    from_listpack(load_string(r)?.into_bytes(), limits)
}

fn from_listpack(blob: Vec<u8>, limits: ZSetLimits) -> Result<ZSet, RdbError> {
    let pairs = validate_listpack(&blob)?;
    if pairs == 0 {
        return Err(RdbError::EmptyKey);
    }
    let mut z = ZSet::Listpack(blob);
    if pairs > limits.max_listpack_entries {
        z.convert_to_skiplist();
    }
    Ok(z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::{load_type, load_value, save_type, save_value, types, Limits, SaveOptions};
    use crate::types::zset::AddFlags;
    use crate::types::{Value, ValueRef};

    const DEFAULTS: ZSetLimits = ZSetLimits { max_listpack_entries: 128, max_listpack_value: 64 };

    fn zset(pairs: &[(&[u8], f64)], limits: ZSetLimits) -> ZSet {
        let mut z = ZSet::new_for(pairs.len(), 0, limits);
        for (m, s) in pairs {
            z.add(m, *s, AddFlags::default(), limits).unwrap();
        }
        z
    }

    fn roundtrip(z: &ZSet, limits: ZSetLimits) -> (u8, Value) {
        let mut out = Vec::new();
        let v = ValueRef::ZSet(z.as_ref());
        save_type(&mut out, v);
        save_value(&mut out, v, SaveOptions { compress: true });
        let mut r = Reader::new(&out);
        let t = load_type(&mut r).unwrap();
        let back = load_value(
            t,
            &mut r,
            Limits { zset: limits, ..Limits::from_config(&crate::config::Config::defaults().hot) },
        )
        .unwrap();
        assert_eq!(r.remaining(), 0);
        (t, back)
    }

    #[test]
    fn both_encodings_roundtrip_and_reconvert_by_limits() {
        let pairs: Vec<(Vec<u8>, f64)> =
            (0..200).map(|i| (format!("m{i}").into_bytes(), f64::from(i) * 1.5 - 7.0)).collect();
        let refs: Vec<(&[u8], f64)> = pairs.iter().map(|(m, s)| (m.as_slice(), *s)).collect();
        let small = zset(&refs[..10], DEFAULTS);
        let (t, back) = roundtrip(&small, DEFAULTS);
        assert_eq!((t, back.clone()), (types::ZSET_LISTPACK, Value::ZSet(small.clone())));
        // A listpack over the configured entries is converted on load.
        let (_, back) = roundtrip(&small, ZSetLimits { max_listpack_entries: 5, max_listpack_value: 64 });
        assert!(matches!(&back, Value::ZSet(z) if z.encoding() == "skiplist"));
        assert_eq!(back, Value::ZSet(small));

        let big = zset(&refs, DEFAULTS);
        assert_eq!(big.encoding(), "skiplist");
        let (t, back) = roundtrip(&big, DEFAULTS);
        assert_eq!((t, &back), (types::ZSET_2, &Value::ZSet(big.clone())));
        assert!(matches!(&back, Value::ZSet(z) if z.encoding() == "skiplist"));
        // A skiplist that fits the limits comes back as a listpack.
        let mut shrunk = big.clone();
        for (m, _) in &pairs[5..] {
            shrunk.remove(m);
        }
        let (_, back) = roundtrip(&shrunk, DEFAULTS);
        assert!(matches!(&back, Value::ZSet(z) if z.encoding() == "listpack"));
        assert_eq!(back, Value::ZSet(shrunk));
    }

    #[test]
    fn zset2_is_written_from_the_highest_score_down() {
        let z = zset(&[(b"a", 1.0), (b"b", 2.0)], ZSetLimits { max_listpack_entries: 0, max_listpack_value: 0 });
        let mut out = Vec::new();
        save(&mut out, z.as_ref(), false);
        let mut want = vec![2, 1, b'b'];
        want.extend_from_slice(&2.0f64.to_le_bytes());
        want.extend_from_slice(&[1, b'a']);
        want.extend_from_slice(&1.0f64.to_le_bytes());
        assert_eq!(out, want);
    }

    #[test]
    fn old_text_scores_load() {
        let mut body = vec![3];
        body.extend_from_slice(&[1, b'a', 254]);
        body.extend_from_slice(&[1, b'b', 3, b'1', b'.', b'5']);
        body.extend_from_slice(&[1, b'c', 255]);
        let z = load_pairs(&mut Reader::new(&body), false, DEFAULTS).unwrap();
        assert_eq!(
            z.as_ref().pairs(),
            vec![(b"c".to_vec(), f64::NEG_INFINITY), (b"b".to_vec(), 1.5), (b"a".to_vec(), f64::INFINITY)]
        );
        let nan = [1, 1, b'a', 253];
        assert!(load_pairs(&mut Reader::new(&nan), false, DEFAULTS).is_err());
    }

    #[test]
    fn bad_payloads_are_refused_not_trusted() {
        // Empty, duplicate members, NaN, truncated.
        assert!(load_pairs(&mut Reader::new(&[0]), true, DEFAULTS).is_err());
        let mut dup = vec![2];
        for _ in 0..2 {
            dup.extend_from_slice(&[1, b'a']);
            dup.extend_from_slice(&1.0f64.to_le_bytes());
        }
        assert!(load_pairs(&mut Reader::new(&dup), true, DEFAULTS).is_err());
        let mut nan = vec![1, 1, b'a'];
        nan.extend_from_slice(&f64::NAN.to_le_bytes());
        assert!(load_pairs(&mut Reader::new(&nan), true, DEFAULTS).is_err());
        // A count far beyond the data stops at the end of the input, without allocating it.
        let mut huge = vec![0x81];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(load_pairs(&mut Reader::new(&huge), true, DEFAULTS).err(), Some(RdbError::Truncated));

        let lp = |vals: &[&[u8]]| listpack::from_values(vals.iter().copied());
        for (bad, why) in [
            (lp(&[b"a", b"1", b"b"]), "odd element count"),
            (lp(&[b"a", b"1", b"a", b"2"]), "duplicate member"),
            (lp(&[b"b", b"1", b"a", b"1"]), "members out of order"),
            (lp(&[b"a", b"2", b"b", b"1"]), "scores out of order"),
            (lp(&[b"a", b"nan"]), "NaN score"),
            (lp(&[b"a", b"1x"]), "not a score"),
            (lp(&[]), "empty"),
        ] {
            let mut body = Vec::new();
            save_bytes(&mut body, &bad, false);
            assert!(load_listpack(&mut Reader::new(&body), DEFAULTS).is_err(), "{why}");
        }
        let good = lp(&[b"a", b"1", b"b", b"1", b"c", b"1.5", b"d", b"inf"]);
        let mut body = Vec::new();
        save_bytes(&mut body, &good, false);
        let z = load_listpack(&mut Reader::new(&body), DEFAULTS).unwrap();
        let scores: Vec<f64> = z.as_ref().pairs().into_iter().map(|(_, s)| s).collect();
        assert_eq!(scores, vec![1.0, 1.0, 1.5, f64::INFINITY]);
    }
}
