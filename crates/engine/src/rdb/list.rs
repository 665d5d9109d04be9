//! RDB encoding of lists.
//!
//! Valkey writes every list as `RDB_TYPE_LIST_QUICKLIST_2` (18): the number of nodes, then per
//! node its container (1 = plain: one element as a string, 2 = packed: a listpack as a
//! string). A listpack-encoded list is written as a single packed node; a node kept
//! LZF-compressed in memory is written as that LZF string as it is (except a node compressed only
//! to save memory, under `list-compress-depth 0` and `rdbcompression no`: written raw). Loading accepts type 18 and
//! the old linked-list type 1 (one string per element); it builds a quicklist with the
//! server's current limits and turns it into a listpack if it is a single small node, as
//! Valkey does after loading. The ziplist-based types of Redis 6.2 and older load too: 14 (a
//! quicklist of ziplists, each turned into a listpack node) and 10 (one ziplist, whose
//! elements are pushed into a quicklist that, as in Valkey, is left a quicklist).

use super::len::{load_plain_len, save_len};
use super::string::{load_string, save_bytes};
use super::{ziplist, RdbError, Reader};
use crate::types::list::{List, ListLimits, ListRef};
use crate::types::listpack;
use crate::types::quicklist::Quicklist;

/// Node container kinds (Valkey's `QUICKLIST_NODE_CONTAINER_*`).
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;

/// Appends the body of a list as type 18.
pub fn save_list(out: &mut Vec<u8>, list: ListRef<'_>, compress: bool) {
    save_len(out, list.node_count() as u64);
    list.for_each_node(|node| {
        save_len(out, if node.plain { CONTAINER_PLAIN } else { CONTAINER_PACKED });
        if node.cold && !compress {
            // Valkey holds this node raw (its list-compress-depth is 0) and writes it raw
            // under `rdbcompression no`.
            let raw = super::lzf::decompress(node.data, node.size).expect("a node we compressed decompresses");
            save_bytes(out, &raw, false);
        } else if node.compressed {
            // `rdbSaveLzfBlob`. For a cold node under `rdbcompression yes` these are also the
            // bytes Valkey writes for the raw node: the same compressor, and a node is only
            // kept compressed when that saves more than the 4 bytes RDB asks for.: the LZF string encoding, with the node's own compressed bytes.
            out.push(0xc3);
            save_len(out, node.data.len() as u64);
            save_len(out, node.size as u64);
            out.extend_from_slice(node.data);
        } else {
            save_bytes(out, node.data, compress);
        }
    });
}

/// Reads the body of a type 18 list (`quicklist_2`).
pub fn load_quicklist2(r: &mut Reader<'_>, limits: ListLimits) -> Result<List, RdbError> {
    let nodes = load_plain_len(r)?;
    if nodes == 0 {
        return Err(RdbError::EmptyKey);
    }
    let mut ql = Quicklist::new(limits.fill, limits.compress_depth);
    for _ in 0..nodes {
        let container = load_plain_len(r)?;
        if container != CONTAINER_PLAIN && container != CONTAINER_PACKED {
            return Err(RdbError::Corrupt("quicklist integrity check failed"));
        }
        let data = load_string(r)?.into_bytes();
        if data.is_empty() {
            return Err(RdbError::Corrupt("empty quicklist node"));
        }
        if container == CONTAINER_PLAIN {
            ql.append_plain(data);
            continue;
        }
        if listpack::validate(&data).is_none() {
            return Err(RdbError::Corrupt("listpack integrity check failed"));
        }
        // Empty listpacks are skipped, as Valkey does.
        ql.append_listpack(data);
    }
    if ql.is_empty() {
        return Err(RdbError::EmptyKey);
    }
    Ok(List::from_loaded(ql, limits))
}

/// Reads the body of a type 14 list: a node count, then each node as a ziplist.
pub fn load_quicklist_of_ziplists(r: &mut Reader<'_>, limits: ListLimits) -> Result<List, RdbError> {
    let nodes = load_plain_len(r)?;
    if nodes == 0 {
        return Err(RdbError::EmptyKey);
    }
    let mut ql = Quicklist::new(limits.fill, limits.compress_depth);
    for _ in 0..nodes {
        let zl = load_string(r)?.into_bytes();
        let lp = ziplist_to_listpack(&zl)?;
        // Empty ziplists are skipped, as Valkey does.
        ql.append_listpack(lp);
    }
    if ql.is_empty() {
        return Err(RdbError::EmptyKey);
    }
    Ok(List::from_loaded(ql, limits))
}

/// Reads the body of a type 10 list: one ziplist.
pub fn load_ziplist(r: &mut Reader<'_>, limits: ListLimits) -> Result<List, RdbError> {
    let zl = load_string(r)?.into_bytes();
    let mut ql = Quicklist::new(limits.fill, limits.compress_depth);
    ziplist::for_each(&zl, |v| v.with_bytes(|b| ql.push_tail(b)))
        .ok_or(RdbError::Corrupt("ziplist integrity check failed"))?;
    if ql.is_empty() {
        return Err(RdbError::EmptyKey);
    }
    Ok(List::Quicklist(Box::new(ql)))
}

/// The elements of a ziplist as a listpack (each re-encoded the way Valkey appends it).
fn ziplist_to_listpack(zl: &[u8]) -> Result<Vec<u8>, RdbError> {
    let mut elements: Vec<Vec<u8>> = Vec::new();
    ziplist::for_each(zl, |v| elements.push(v.to_vec())).ok_or(RdbError::Corrupt("ziplist integrity check failed"))?;
    Ok(listpack::from_values(elements.iter().map(|e| e.as_slice())))
}

/// Reads the body of a type 1 list: a length, then that many strings.
pub fn load_linked_list(r: &mut Reader<'_>, limits: ListLimits) -> Result<List, RdbError> {
    let n = load_plain_len(r)?;
    if n == 0 {
        return Err(RdbError::EmptyKey);
    }
    let mut ql = Quicklist::new(limits.fill, limits.compress_depth);
    // Every element takes at least one byte of input: a length beyond that is a lie, found
    // out when the input runs dry (nothing is allocated from `n`).
    for _ in 0..n {
        let element = load_string(r)?.into_bytes();
        ql.push_tail(&element);
    }
    Ok(List::from_loaded(ql, limits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::{load_type, load_value, save_type, save_value, Limits, SaveOptions};
    use crate::types::{Value, ValueRef};

    fn roundtrip(list: &List, save: SaveOptions, load: Limits) -> Value {
        let mut out = Vec::new();
        save_type(&mut out, ValueRef::List(list.as_ref()));
        save_value(&mut out, ValueRef::List(list.as_ref()), save);
        assert_eq!(out[0], crate::rdb::types::LIST_QUICKLIST_2);
        let mut r = Reader::new(&out);
        let t = load_type(&mut r).unwrap();
        let v = load_value(t, &mut r, load).unwrap();
        assert_eq!(r.remaining(), 0);
        v
    }

    fn elements(v: &Value) -> Vec<Vec<u8>> {
        match v {
            Value::List(l) => l.as_ref().to_vec(),
            other => panic!("not a list: {other:?}"),
        }
    }

    #[test]
    fn listpack_lists_are_one_packed_node() {
        let mut l = List::new();
        l.push_all(&[b"hello", b"1024"], false, ListLimits::default());
        let mut out = Vec::new();
        save_list(&mut out, l.as_ref(), false);
        // 1 node, container 2, then the listpack as a plain string of 17 bytes.
        let lp = listpack::from_values([&b"hello"[..], b"1024"]);
        let mut want = vec![1, 2, lp.len() as u8];
        want.extend_from_slice(&lp);
        assert_eq!(out, want);
    }

    #[test]
    fn every_shape_roundtrips() {
        let big = vec![b'p'; 9000];
        let rep = b"abcdefgh".repeat(40);
        for (fill, depth) in [(-2i64, 0u64), (2, 0), (1, 1), (3, 2), (-1, 1)] {
            let limits = ListLimits { fill, compress_depth: depth };
            let mut l = List::new();
            for i in 0..20 {
                let v = match i % 4 {
                    0 => i.to_string().into_bytes(),
                    1 => rep.clone(),
                    2 => big.clone(),
                    _ => b"x".to_vec(),
                };
                l.push_all(&[&v], i % 3 == 0, limits);
            }
            for compress in [false, true] {
                let back =
                    roundtrip(&l, SaveOptions { compress }, Limits { list: limits, ..Limits::valkey_defaults() });
                assert_eq!(elements(&back), l.as_ref().to_vec());
                if let Value::List(List::Quicklist(ql)) = &back {
                    ql.check().unwrap();
                }
            }
        }
    }

    #[test]
    fn cold_nodes_are_written_as_valkey_writes_raw_nodes() {
        // Under list-compress-depth 0 the interior is compressed in memory only: the RDB body
        // must be what the same nodes give when held raw, with and without rdbcompression.
        let mut ql = Quicklist::new(-2, 0);
        for i in 0..20_000 {
            ql.push_tail(format!("item:{}", i % 1000).as_bytes());
        }
        ql.check().unwrap();
        assert!(ql.nodes().filter(|n| n.cold).count() >= ql.node_count() - 4, "interior compressed");
        assert!(ql.nodes().all(|n| n.cold == n.compressed));
        let list = List::Quicklist(Box::new(ql));
        for compress in [false, true] {
            let mut out = Vec::new();
            save_list(&mut out, list.as_ref(), compress);
            let mut want = Vec::new();
            save_len(&mut want, list.as_ref().node_count() as u64);
            list.as_ref().for_each_node(|n| {
                let raw =
                    if n.compressed { super::super::lzf::decompress(n.data, n.size).unwrap() } else { n.data.to_vec() };
                save_len(&mut want, CONTAINER_PACKED);
                save_bytes(&mut want, &raw, compress);
            });
            assert_eq!(out, want, "rdbcompression {compress}");
        }
        // Configured compression is written as it is held.
        let mut deep = Quicklist::new(-2, 1);
        for i in 0..20_000 {
            deep.push_tail(format!("item:{}", i % 1000).as_bytes());
        }
        assert!(deep.nodes().any(|n| n.compressed) && deep.nodes().all(|n| !n.cold));
    }

    #[test]
    fn loading_applies_the_current_limits() {
        let mut l = List::new();
        l.push_all(&[b"a", b"b", b"c"], false, ListLimits::default());
        let small = Limits { list: ListLimits { fill: 2, compress_depth: 0 }, ..Limits::valkey_defaults() };
        match roundtrip(&l, SaveOptions { compress: false }, small) {
            Value::List(back) => assert_eq!(back.encoding(), "quicklist"),
            other => panic!("{other:?}"),
        }
        match roundtrip(&l, SaveOptions { compress: false }, Limits::valkey_defaults()) {
            Value::List(back) => assert_eq!(back.encoding(), "listpack"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn linked_lists_load() {
        // Type 1: length 3, then "a", the integer 7 (int8 encoding), "bc".
        let body = [3u8, 1, b'a', 0xc0, 7, 2, b'b', b'c'];
        let v = load_value(crate::rdb::types::LIST, &mut Reader::new(&body), Limits::valkey_defaults()).unwrap();
        assert_eq!(elements(&v), vec![b"a".to_vec(), b"7".to_vec(), b"bc".to_vec()]);
    }

    #[test]
    fn damage_is_refused_without_panicking() {
        let opts = Limits::valkey_defaults();
        let load = |t: u8, body: &[u8]| load_value(t, &mut Reader::new(body), opts);
        assert!(load(crate::rdb::types::LIST, &[0]).is_err(), "empty list");
        assert!(load(crate::rdb::types::LIST, &[0x80 | 0x3f, 0xff, 0xff, 0xff]).is_err());
        assert!(load(crate::rdb::types::LIST_QUICKLIST_2, &[0]).is_err());
        assert!(load(crate::rdb::types::LIST_QUICKLIST_2, &[1, 3, 1, b'a']).is_err(), "bad container");
        assert!(load(crate::rdb::types::LIST_QUICKLIST_2, &[1, 2, 3, 1, 2, 3]).is_err(), "bad listpack");
        assert!(load(crate::rdb::types::LIST_QUICKLIST_2, &[1, 1, 0]).is_err(), "empty plain node");
        // A node holding an empty listpack only: the list is empty.
        let empty = listpack::new();
        let mut body = vec![1, 2, empty.len() as u8];
        body.extend_from_slice(&empty);
        assert!(load(crate::rdb::types::LIST_QUICKLIST_2, &body).is_err());
        // Every truncation of a valid body fails cleanly.
        let mut l = List::new();
        l.push_all(&[b"one", b"two", &[b'z'; 100][..]], false, ListLimits::default());
        let mut out = Vec::new();
        save_list(&mut out, l.as_ref(), true);
        for cut in 0..out.len() {
            assert!(load(crate::rdb::types::LIST_QUICKLIST_2, &out[..cut]).is_err());
        }
    }

    #[test]
    fn lists_of_ziplists_load() {
        use crate::rdb::ziplist::tests::build;
        let opts = Limits::valkey_defaults();
        let big = vec![b'b'; 500];
        let zl1 = build(&[b"a", b"1", &big]);
        let zl2 = build(&[b"-300", b"z"]);
        let empty = build(&[]);
        // Type 14: node count, then each ziplist as a string.
        let mut body = vec![3u8];
        for zl in [&zl1, &empty, &zl2] {
            crate::rdb::string::save_bytes(&mut body, zl, false);
        }
        let v = load_value(crate::rdb::types::LIST_QUICKLIST, &mut Reader::new(&body), opts).unwrap();
        let want: Vec<Vec<u8>> = vec![b"a".to_vec(), b"1".to_vec(), big.clone(), b"-300".to_vec(), b"z".to_vec()];
        assert_eq!(elements(&v), want);
        match &v {
            Value::List(List::Quicklist(ql)) => {
                assert_eq!(ql.nodes().map(|n| n.count).collect::<Vec<_>>(), vec![3, 2]);
                ql.check().unwrap();
            }
            other => panic!("two nodes stay a quicklist: {other:?}"),
        }
        // A single small node becomes a listpack; the listpack re-encodes "1" as an integer.
        let mut body = vec![1u8];
        crate::rdb::string::save_bytes(&mut body, &zl2, false);
        match load_value(crate::rdb::types::LIST_QUICKLIST, &mut Reader::new(&body), opts).unwrap() {
            Value::List(List::Listpack(lp)) => assert_eq!(lp, listpack::from_values([&b"-300"[..], b"z"])),
            other => panic!("{other:?}"),
        }
        // Type 10: one ziplist; Valkey leaves it a quicklist even when small.
        let mut body = Vec::new();
        crate::rdb::string::save_bytes(&mut body, &zl1, false);
        let v = load_value(crate::rdb::types::LIST_ZIPLIST, &mut Reader::new(&body), opts).unwrap();
        assert_eq!(elements(&v)[..2], want[..2]);
        assert_eq!(
            match &v {
                Value::List(l) => l.encoding(),
                _ => "",
            },
            "quicklist"
        );
        // Damaged or empty ziplists are refused.
        let mut bad = zl1.clone();
        bad[8] = 9;
        for t in [crate::rdb::types::LIST_ZIPLIST, crate::rdb::types::LIST_QUICKLIST] {
            let mut body = if t == crate::rdb::types::LIST_QUICKLIST { vec![1u8] } else { vec![] };
            crate::rdb::string::save_bytes(&mut body, &bad, false);
            assert!(load_value(t, &mut Reader::new(&body), opts).is_err());
            let mut body = if t == crate::rdb::types::LIST_QUICKLIST { vec![1u8] } else { vec![] };
            crate::rdb::string::save_bytes(&mut body, &empty, false);
            assert!(load_value(t, &mut Reader::new(&body), opts).is_err());
        }
    }
}
