//! Loading hashes from RDB: `RDB_TYPE_HASH` (a count then field/value pairs) and
//! `HASH_LISTPACK` (the listpack blob), as Valkey's `rdbLoadObject` does with deep
//! sanitization always on: the blob is fully validated, it must hold pairs, no field may
//! appear twice, and the hash gets the encoding the configured limits give it.
//!
//! The encodings older servers wrote are read too: `HASH_ZIPMAP` (Redis < 2.6) and
//! `HASH_ZIPLIST` (Redis < 7.0). Both are validated in full, then their pairs are added one by
//! one, so the hash converts to a table when a field or value passes the limits, as Valkey
//! converts them after loading.

use super::len::load_plain_len;
use super::set::validate_unique;
use super::string::load_string;
use super::{ziplist, RdbError, Reader};
use crate::types::hash::{Hash, HashLimits};
use crate::types::Value;

/// `RDB_TYPE_HASH`: pairs are added one by one, starting as a table when the count already
/// exceeds `hash-max-listpack-entries`, converting when a field or value is too long.
pub fn load_hash(r: &mut Reader<'_>, limits: HashLimits) -> Result<Value, RdbError> {
    let len = load_plain_len(r)?;
    if len == 0 {
        return Err(RdbError::EmptyKey);
    }
    let mut hash = Hash::default();
    if len > limits.max_entries as u64 {
        hash.convert_to_table();
    }
    // Every pair takes at least two bytes, so a lying count runs out of input, not memory.
    for _ in 0..len {
        let field = load_string(r)?.into_bytes();
        let value = load_string(r)?.into_bytes();
        if !hash.set(&field, &value, limits) {
            return Err(RdbError::Corrupt("Duplicate hash fields detected"));
        }
    }
    Ok(Value::Hash(hash))
}

/// `RDB_TYPE_HASH_LISTPACK`: the blob, validated, converted to a table when it has more
/// fields than `hash-max-listpack-entries` (long values are left alone, as in Valkey).
pub fn load_listpack(r: &mut Reader<'_>, limits: HashLimits) -> Result<Value, RdbError> {
    let blob = load_string(r)?.into_bytes();
    let n = validate_unique(&blob, 2).ok_or(RdbError::Corrupt("Hash listpack integrity check failed."))?;
    if n == 0 {
        return Err(RdbError::EmptyKey);
    }
    let mut hash = Hash::Listpack(blob);
    if n / 2 > limits.max_entries {
        hash.convert_to_table();
    }
    Ok(Value::Hash(hash))
}

/// `RDB_TYPE_HASH_ZIPLIST`: a ziplist of field, value, field, value ...
pub fn load_ziplist(r: &mut Reader<'_>, limits: HashLimits) -> Result<Value, RdbError> {
    let blob = load_string(r)?.into_bytes();
    let mut items = Vec::new();
    ziplist::for_each(&blob, |v| items.push(v.to_vec()))
        .ok_or(RdbError::Corrupt("Hash ziplist integrity check failed."))?;
    from_pairs(items, limits, "Hash ziplist integrity check failed.")
}

/// `RDB_TYPE_HASH_ZIPMAP`: Redis 2.x's zipmap.
///
/// ```text
/// | count (1 byte, 254+: unknown) | (len field len free value [free bytes]) ... | 0xFF |
/// len = one byte below 254, or 254 and a 4-byte little-endian length
/// ```
pub fn load_zipmap(r: &mut Reader<'_>, limits: HashLimits) -> Result<Value, RdbError> {
    const CORRUPT: RdbError = RdbError::Corrupt("Zipmap integrity check failed.");
    let blob = load_string(r)?.into_bytes();
    let mut z = Reader::new(&blob);
    let count = z.read_u8().map_err(|_| CORRUPT)?;
    let mut items = Vec::new();
    let len = |z: &mut Reader<'_>| -> Result<Option<usize>, RdbError> {
        match z.read_u8().map_err(|_| CORRUPT)? {
            255 => Ok(None),
            254 => Ok(Some(u32::from_le_bytes(z.read_array().map_err(|_| CORRUPT)?) as usize)),
            n => Ok(Some(usize::from(n))),
        }
    };
    while let Some(flen) = len(&mut z)? {
        items.push(z.read_bytes(flen).map_err(|_| CORRUPT)?.to_vec());
        let vlen = len(&mut z)?.ok_or(CORRUPT)?;
        let free = usize::from(z.read_u8().map_err(|_| CORRUPT)?);
        items.push(z.read_bytes(vlen).map_err(|_| CORRUPT)?.to_vec());
        z.read_bytes(free).map_err(|_| CORRUPT)?;
    }
    // The end byte must be the last one, and a known count must be right.
    if z.remaining() != 0 || (count < 254 && usize::from(count) != items.len() / 2) {
        return Err(CORRUPT);
    }
    from_pairs(items, limits, "Zipmap integrity check failed.")
}

/// A hash from the flat field/value list of an old encoding: an even count, no field twice.
fn from_pairs(items: Vec<Vec<u8>>, limits: HashLimits, corrupt: &'static str) -> Result<Value, RdbError> {
    if !items.len().is_multiple_of(2) {
        return Err(RdbError::Corrupt(corrupt));
    }
    if items.is_empty() {
        return Err(RdbError::EmptyKey);
    }
    let mut hash = Hash::default();
    if items.len() / 2 > limits.max_entries {
        hash.convert_to_table();
    }
    for pair in items.chunks(2) {
        if !hash.set(&pair[0], &pair[1], limits) {
            return Err(RdbError::Corrupt(corrupt));
        }
    }
    Ok(Value::Hash(hash))
}

#[cfg(test)]
mod tests {
    use super::super::{save_type, save_value, types, Limits, SaveOptions};
    use super::*;
    use crate::rdb::len::save_len;
    use crate::rdb::string::save_bytes;
    use crate::types::listpack;

    fn plain_hash(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = vec![types::HASH];
        save_len(&mut out, pairs.len() as u64);
        for (f, v) in pairs {
            save_bytes(&mut out, f, false);
            save_bytes(&mut out, v, false);
        }
        out
    }

    fn encoding(v: &Value) -> &'static str {
        match v {
            Value::Hash(h) => h.encoding(),
            _ => "not a hash",
        }
    }

    #[test]
    fn plain_hashes_get_their_encoding_from_the_limits() {
        let l = Limits::valkey_defaults();
        let v = crate::rdb::load_whole(&plain_hash(&[(b"a", b"1"), (b"b", b"")]), l).unwrap();
        assert_eq!(encoding(&v), "listpack");
        if let Value::Hash(h) = &v {
            assert_eq!(h.get(b"a").map(|x| x.to_vec()), Some(b"1".to_vec()));
        }
        assert_eq!(encoding(&crate::rdb::load_whole(&plain_hash(&[(b"a", &[b'v'; 65])]), l).unwrap()), "hashtable");
        // Valkey 8's default: 512 fields.
        let many: Vec<Vec<u8>> = (0..513).map(|i| format!("f{i}").into_bytes()).collect();
        let pairs: Vec<(&[u8], &[u8])> = many.iter().map(|f| (f.as_slice(), &b"v"[..])).collect();
        assert_eq!(encoding(&crate::rdb::load_whole(&plain_hash(&pairs), l).unwrap()), "hashtable");
        assert_eq!(encoding(&crate::rdb::load_whole(&plain_hash(&pairs[..512]), l).unwrap()), "listpack");
    }

    #[test]
    fn bad_hashes_are_refused() {
        let l = Limits::valkey_defaults();
        let dup = RdbError::Corrupt("Duplicate hash fields detected");
        assert_eq!(crate::rdb::load_whole(&plain_hash(&[(b"a", b"1"), (b"a", b"2")]), l), Err(dup));
        let long = [b'y'; 100];
        assert_eq!(crate::rdb::load_whole(&plain_hash(&[(&long, b"1"), (b"b", b"2"), (&long, b"3")]), l), Err(dup));
        assert_eq!(crate::rdb::load_whole(&plain_hash(&[]), l), Err(RdbError::EmptyKey));
        // An odd number of listpack elements, a duplicate field (a value may repeat a field).
        let odd = listpack::from_values([&b"a"[..], b"1", b"b"]);
        let dup_field = listpack::from_values([&b"a"[..], b"1", b"a", b"2"]);
        let fine = listpack::from_values([&b"a"[..], b"b", b"b", b"a"]);
        for (lp, ok) in [(odd, false), (dup_field, false), (fine, true)] {
            let mut bytes = vec![types::HASH_LISTPACK];
            save_bytes(&mut bytes, &lp, false);
            assert_eq!(crate::rdb::load_whole(&bytes, l).is_ok(), ok);
        }
        let mut empty = vec![types::HASH_LISTPACK];
        save_bytes(&mut empty, &listpack::new(), false);
        assert_eq!(crate::rdb::load_whole(&empty, l), Err(RdbError::EmptyKey));
        // Old encodings with garbage inside are refused.
        for t in [types::HASH_ZIPMAP, types::HASH_ZIPLIST] {
            let mut bytes = vec![t];
            save_bytes(&mut bytes, b"whatever", false);
            assert!(matches!(crate::rdb::load_whole(&bytes, l), Err(RdbError::Corrupt(_))));
        }
    }

    fn zipmap(pairs: &[(&[u8], &[u8])], count: u8, free: usize) -> Vec<u8> {
        let mut zm = vec![count];
        let len = |zm: &mut Vec<u8>, n: usize| {
            if n < 254 {
                zm.push(n as u8);
            } else {
                zm.push(254);
                zm.extend_from_slice(&(n as u32).to_le_bytes());
            }
        };
        for (f, v) in pairs {
            len(&mut zm, f.len());
            zm.extend_from_slice(f);
            len(&mut zm, v.len());
            zm.push(free as u8);
            zm.extend_from_slice(v);
            zm.extend(std::iter::repeat_n(b'?', free));
        }
        zm.push(255);
        let mut out = vec![types::HASH_ZIPMAP];
        save_bytes(&mut out, &zm, false);
        out
    }

    #[test]
    fn old_hash_encodings_load() {
        let l = Limits::valkey_defaults();
        let long = [b'x'; 300];
        let v = crate::rdb::load_whole(&zipmap(&[(b"a", b"1"), (b"name", &long)], 2, 3), l).unwrap();
        assert_eq!(encoding(&v), "hashtable");
        if let Value::Hash(h) = &v {
            assert_eq!(h.get(b"name").map(|x| x.to_vec()), Some(long.to_vec()));
        }
        let v = crate::rdb::load_whole(&zipmap(&[(b"a", b"1"), (b"b", b"2")], 254, 0), l).unwrap();
        assert_eq!(encoding(&v), "listpack");
        for bad in [zipmap(&[(b"a", b"1")], 2, 0), zipmap(&[(b"a", b"1"), (b"a", b"2")], 2, 0)] {
            assert!(matches!(crate::rdb::load_whole(&bad, l), Err(RdbError::Corrupt(_))));
        }
        assert_eq!(crate::rdb::load_whole(&zipmap(&[], 0, 0), l), Err(RdbError::EmptyKey));
        let zl = crate::rdb::ziplist::tests::build(&[b"f", b"12", b"g", b"hello"]);
        let mut bytes = vec![types::HASH_ZIPLIST];
        save_bytes(&mut bytes, &zl, false);
        let v = crate::rdb::load_whole(&bytes, l).unwrap();
        assert_eq!(encoding(&v), "listpack");
        if let Value::Hash(h) = &v {
            assert_eq!(h.get(b"f").map(|x| x.to_vec()), Some(b"12".to_vec()));
            assert_eq!(h.get(b"g").map(|x| x.to_vec()), Some(b"hello".to_vec()));
        }
        let odd = crate::rdb::ziplist::tests::build(&[b"f", b"12", b"g"]);
        let mut bytes = vec![types::HASH_ZIPLIST];
        save_bytes(&mut bytes, &odd, false);
        assert!(matches!(crate::rdb::load_whole(&bytes, l), Err(RdbError::Corrupt(_))));
    }

    #[test]
    fn both_encodings_roundtrip_and_convert_on_load() {
        let mut l = Limits::valkey_defaults();
        let mut small = Hash::default();
        let mut big = Hash::default();
        for i in 0..600 {
            let (f, v) = (format!("f{i}"), i.to_string());
            if i < 3 {
                small.set(f.as_bytes(), v.as_bytes(), l.hash);
            }
            big.set(f.as_bytes(), v.as_bytes(), l.hash);
        }
        assert_eq!((small.encoding(), big.encoding()), ("listpack", "hashtable"));
        for h in [&small, &big] {
            for compress in [false, true] {
                let v = Value::Hash(h.clone());
                let mut out = Vec::new();
                save_type(&mut out, v.as_ref());
                save_value(&mut out, v.as_ref(), SaveOptions { compress });
                let back = crate::rdb::load_whole(&out, l).unwrap();
                assert_eq!(back, v);
                assert_eq!(encoding(&back), h.encoding());
            }
        }
        l.hash.max_entries = 2;
        let v = Value::Hash(small);
        let mut out = Vec::new();
        save_type(&mut out, v.as_ref());
        save_value(&mut out, v.as_ref(), SaveOptions { compress: false });
        assert_eq!(encoding(&crate::rdb::load_whole(&out, l).unwrap()), "hashtable");
    }
}
