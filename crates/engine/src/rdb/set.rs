//! Loading sets from RDB: `RDB_TYPE_SET` (a count then the members), `SET_INTSET` and
//! `SET_LISTPACK` (the encoded blob itself), as Valkey's `rdbLoadObject` does with deep
//! sanitization always on: blobs are fully validated, duplicates are refused, and the set gets
//! the encoding the configured limits give it.
//!
//! Saving is in `mod.rs` (`save_value`): compact encodings are written as their blob.

use super::len::load_plain_len;
use super::string::load_string;
use super::{RdbError, Reader};
use crate::types::set::{Set, SetLimits};
use crate::types::{intset, listpack, Value};

/// `RDB_TYPE_SET`: members are added one by one, starting as an intset unless the count
/// already exceeds `set-max-intset-entries` (Valkey's order of conversions: intset, then
/// listpack or table as members demand).
pub fn load_set(r: &mut Reader<'_>, limits: SetLimits) -> Result<Value, RdbError> {
    let len = load_plain_len(r)?;
    if len == 0 {
        return Err(RdbError::EmptyKey);
    }
    let max_intset = limits.max_intset_entries.min(1 << 30) as u64;
    let mut set = if len > max_intset { Set::Table(Box::default()) } else { Set::Intset(intset::new()) };
    // Every member takes at least one byte, so a lying count runs out of input, not memory.
    for _ in 0..len {
        let member = load_string(r)?.into_bytes();
        if !set.add(&member, limits) {
            return Err(RdbError::Corrupt("Duplicate set members detected"));
        }
    }
    Ok(Value::Set(set))
}

/// `RDB_TYPE_SET_INTSET`: the intset blob, validated (width, size, strictly increasing).
pub fn load_intset(r: &mut Reader<'_>, limits: SetLimits) -> Result<Value, RdbError> {
    let blob = load_string(r)?.into_bytes();
    let n = intset::validate(&blob).ok_or(RdbError::Corrupt("Intset integrity check failed."))?;
    let mut set = Set::Intset(blob);
    if n > limits.max_intset_entries {
        set.convert_to_table();
    }
    Ok(Value::Set(set))
}

/// `RDB_TYPE_SET_LISTPACK`: the listpack blob, validated, with no member twice.
pub fn load_listpack(r: &mut Reader<'_>, limits: SetLimits) -> Result<Value, RdbError> {
    let blob = load_string(r)?.into_bytes();
    let n = validate_unique(&blob, 1).ok_or(RdbError::Corrupt("Set listpack integrity check failed."))?;
    if n == 0 {
        return Err(RdbError::EmptyKey);
    }
    let mut set = Set::Listpack(blob);
    if n > limits.max_listpack_entries {
        set.convert_to_table();
    }
    Ok(Value::Set(set))
}

/// Validates a listpack from outside and checks that every `stride`-th element from the first
/// (all of them for a set, the fields of a hash) is unique by its string form (Valkey's
/// `lpValidateIntegrityAndDups`); the element count must be a multiple of `stride`. Returns the
/// element count.
pub fn validate_unique(lp: &[u8], stride: usize) -> Option<usize> {
    let n = listpack::validate(lp)?;
    if n % stride != 0 {
        return None;
    }
    let mut seen = std::collections::HashSet::with_capacity(n / stride);
    for (i, (_, v)) in listpack::iter(lp).enumerate() {
        if i % stride == 0 && !seen.insert(v.to_vec()) {
            return None;
        }
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::super::{save_type, save_value, types, Limits, SaveOptions};
    use super::*;
    use crate::rdb::len::save_len;
    use crate::rdb::string::save_bytes;

    fn plain_set(members: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![types::SET];
        save_len(&mut out, members.len() as u64);
        for m in members {
            save_bytes(&mut out, m, false);
        }
        out
    }

    fn encoding(v: &Value) -> &'static str {
        match v {
            Value::Set(s) => s.encoding(),
            _ => "not a set",
        }
    }

    #[test]
    fn plain_sets_get_their_encoding_from_the_limits() {
        let l = Limits::valkey_defaults();
        assert_eq!(encoding(&crate::rdb::load_whole(&plain_set(&[b"1", b"2", b"-3"]), l).unwrap()), "intset");
        assert_eq!(encoding(&crate::rdb::load_whole(&plain_set(&[b"1", b"a"]), l).unwrap()), "listpack");
        assert_eq!(encoding(&crate::rdb::load_whole(&plain_set(&[b"1", &[b'x'; 65]]), l).unwrap()), "hashtable");
        let many: Vec<Vec<u8>> = (0..600).map(|i| i.to_string().into_bytes()).collect();
        let refs: Vec<&[u8]> = many.iter().map(|m| m.as_slice()).collect();
        assert_eq!(encoding(&crate::rdb::load_whole(&plain_set(&refs), l).unwrap()), "hashtable");
        assert_eq!(encoding(&crate::rdb::load_whole(&plain_set(&refs[..512]), l).unwrap()), "intset");
        let words: Vec<Vec<u8>> = (0..129).map(|i| format!("w{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = words.iter().map(|m| m.as_slice()).collect();
        assert_eq!(encoding(&crate::rdb::load_whole(&plain_set(&refs), l).unwrap()), "hashtable");
        assert_eq!(encoding(&crate::rdb::load_whole(&plain_set(&refs[..128]), l).unwrap()), "listpack");
    }

    #[test]
    fn bad_sets_are_refused() {
        let l = Limits::valkey_defaults();
        let dup = RdbError::Corrupt("Duplicate set members detected");
        assert_eq!(crate::rdb::load_whole(&plain_set(&[b"1", b"1"]), l), Err(dup));
        assert_eq!(crate::rdb::load_whole(&plain_set(&[b"a", b"b", b"a"]), l), Err(dup));
        let long = [b'y'; 100];
        assert_eq!(crate::rdb::load_whole(&plain_set(&[&long, b"a", &long]), l), Err(dup));
        assert_eq!(crate::rdb::load_whole(&plain_set(&[]), l), Err(RdbError::EmptyKey));
        // A count larger than what follows.
        let mut lying = plain_set(&[b"a"]);
        lying[1] = 50;
        assert_eq!(crate::rdb::load_whole(&lying, l), Err(RdbError::Truncated));
        // Blobs: an intset out of order, a listpack with a duplicate (as int and as string).
        let mut bad_intset = vec![types::SET_INTSET];
        save_bytes(&mut bad_intset, &[2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0], false);
        assert!(matches!(crate::rdb::load_whole(&bad_intset, l), Err(RdbError::Corrupt(_))));
        let lp_dup: Vec<u8> = vec![12, 0, 0, 0, 2, 0, 0x01, 1, 0x81, b'1', 2, 0xFF];
        assert_eq!(listpack::validate(&lp_dup), Some(2));
        let mut bad_lp = vec![types::SET_LISTPACK];
        save_bytes(&mut bad_lp, &lp_dup, false);
        assert!(matches!(crate::rdb::load_whole(&bad_lp, l), Err(RdbError::Corrupt(_))));
        let mut empty_lp = vec![types::SET_LISTPACK];
        save_bytes(&mut empty_lp, &listpack::new(), false);
        assert_eq!(crate::rdb::load_whole(&empty_lp, l), Err(RdbError::EmptyKey));
    }

    #[test]
    fn every_encoding_roundtrips_and_converts_on_load() {
        let mut l = Limits::valkey_defaults();
        let sets = [
            Set::from_members(&[b"5".to_vec(), b"-70000".to_vec(), b"1".to_vec()], l.set),
            Set::from_members(&[b"a".to_vec(), b"12".to_vec(), b"".to_vec()], l.set),
            Set::from_members(&(0..300).map(|i| format!("m{i}").into_bytes()).collect::<Vec<_>>(), l.set),
        ];
        for s in &sets {
            for compress in [false, true] {
                let v = Value::Set(s.clone());
                let mut out = Vec::new();
                save_type(&mut out, v.as_ref());
                save_value(&mut out, v.as_ref(), SaveOptions { compress });
                let back = crate::rdb::load_whole(&out, l).unwrap();
                assert_eq!(back, v);
                assert_eq!(encoding(&back), s.encoding());
            }
        }
        // Lower limits at load time convert the compact encodings.
        l.set.max_intset_entries = 2;
        l.set.max_listpack_entries = 2;
        for s in &sets[..2] {
            let v = Value::Set(s.clone());
            let mut out = Vec::new();
            save_type(&mut out, v.as_ref());
            save_value(&mut out, v.as_ref(), SaveOptions { compress: false });
            assert_eq!(encoding(&crate::rdb::load_whole(&out, l).unwrap()), "hashtable");
        }
    }
}
