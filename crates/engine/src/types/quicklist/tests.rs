//! Tests of the quicklist's node layout (where Valkey creates, splits and merges nodes) and of
//! its compression invariant.

use super::*;

/// The uncompressed bytes of a node.
fn raw_of(n: &NodeView<'_>) -> Vec<u8> {
    if n.compressed {
        lzf::decompress(n.data, n.size).unwrap()
    } else {
        n.data.to_vec()
    }
}

fn shape(ql: &Quicklist) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for n in ql.nodes() {
        let raw = &raw_of(&n)[..];
        if n.plain {
            out.push(vec![format!("plain:{}", raw.len())]);
        } else {
            out.push(
                listpack::iter(raw)
                    .map(|(_, v)| {
                        let s = v.to_vec();
                        if s.len() > 20 {
                            format!("{}x{}", s[0] as char, s.len())
                        } else {
                            String::from_utf8(s).unwrap()
                        }
                    })
                    .collect(),
            );
        }
    }
    out
}

fn of(ws: &[&[&str]]) -> Vec<Vec<String>> {
    ws.iter().map(|n| n.iter().map(|s| s.to_string()).collect()).collect()
}

fn filled(fill: i64, depth: u64, items: &[&str]) -> Quicklist {
    let mut ql = Quicklist::new(fill, depth);
    for i in items {
        ql.push_tail(i.as_bytes());
    }
    ql.check().unwrap();
    ql
}

#[test]
fn pushes_fill_nodes_up_to_the_count() {
    let ql = filled(3, 0, &["a", "b", "c", "d", "e", "f", "g"]);
    assert_eq!(shape(&ql), of(&[&["a", "b", "c"], &["d", "e", "f"], &["g"]]));
    let mut ql = ql;
    ql.push_head(b"z");
    assert_eq!(shape(&ql), of(&[&["z"], &["a", "b", "c"], &["d", "e", "f"], &["g"]]));
}

#[test]
fn insert_into_a_full_node_splits_then_merges() {
    let mut ql = filled(3, 0, &["a", "b", "c", "d", "e", "f"]);
    // After "a" in a full node, not at its tail: split into [a] and [x b c].
    ql.insert_at(0, 0, true, b"x");
    ql.check().unwrap();
    assert_eq!(shape(&ql), of(&[&["a"], &["x", "b", "c"], &["d", "e", "f"]]));
    // After "c", at the tail of a full node whose successor is full: a new node.
    ql.insert_at(1, 2, true, b"y");
    assert_eq!(shape(&ql), of(&[&["a"], &["x", "b", "c"], &["y"], &["d", "e", "f"]]));
    // Before "d", at the head of a full node: the predecessor [y] has room.
    ql.insert_at(3, 0, false, b"w");
    assert_eq!(shape(&ql), of(&[&["a"], &["x", "b", "c"], &["y", "w"], &["d", "e", "f"]]));
    // Before "e" in the middle of a full node: split [d] [e f], "v" joins [d v]; then the
    // neighbours that fit together merge: [y w] + [d v] would be 4 > 3, so nothing merges.
    ql.insert_at(3, 1, false, b"v");
    ql.check().unwrap();
    assert_eq!(shape(&ql), of(&[&["a"], &["x", "b", "c"], &["y", "w"], &["d", "v"], &["e", "f"]]));
}

#[test]
fn a_split_node_merges_with_its_neighbours_when_they_fit() {
    let mut ql = filled(4, 0, &["a", "b", "c", "d"]);
    ql.push_tail(b"e");
    // [a b c d] [e]: insert before "c" splits [a b] + [c d]; "x" goes to [a b x];
    // then [c d] + [e] merge (3 <= 4).
    ql.insert_at(0, 2, false, b"x");
    ql.check().unwrap();
    assert_eq!(shape(&ql), of(&[&["a", "b", "x"], &["c", "d", "e"]]));
}

#[test]
fn large_elements_get_plain_nodes_and_split_packed_ones() {
    let big = vec![b'L'; 9000];
    let mut ql = filled(-2, 0, &["a", "b", "c"]);
    ql.insert_at(0, 1, true, &big);
    ql.check().unwrap();
    assert_eq!(shape(&ql), of(&[&["a", "b"], &["plain:9000"], &["c"]]));
    ql.push_head(&big);
    assert_eq!(shape(&ql)[0], vec!["plain:9000".to_string()]);
    // Replacing a plain element with a small one moves it into a packed neighbour.
    assert!(ql.replace(3, b"s"));
    ql.check().unwrap();
    assert_eq!(shape(&ql), of(&[&["plain:9000"], &["a", "b"], &["s", "c"]]));
}

#[test]
fn lset_of_a_large_value_splits_then_merges_the_neighbours() {
    // Valkey's "Test LSET splits a quicklist node, and then merge", scaled down.
    let x = "x".repeat(4096);
    let y = "y".repeat(4096);
    let mut ql = Quicklist::new(-2, 0);
    ql.push_tail(x.as_bytes());
    for e in ["a", "b", "c", "d", "e", "f", "g"] {
        ql.push_head(e.as_bytes());
    }
    ql.push_head(y.as_bytes());
    assert_eq!(ql.node_count(), 2);
    let big = vec![b'B'; 9000];
    for i in (3..=7).rev() {
        assert!(ql.replace(i, &big));
        ql.check().unwrap();
    }
    let second = ql.locate(1).map(|(n, o)| {
        let raw = raw_of(&ql.nodes().nth(n).unwrap());
        listpack::get(&raw, listpack::seek(&raw, o as i64).unwrap()).to_vec()
    });
    assert_eq!(second, Some(b"g".to_vec()));
    assert_eq!(ql.len(), 9);
}

#[test]
fn interior_nodes_are_compressed_and_ends_are_not() {
    let item = "abcdefgh".repeat(20);
    let mut ql = Quicklist::new(1, 1);
    for _ in 0..5 {
        ql.push_tail(item.as_bytes());
    }
    ql.check().unwrap();
    let compressed: Vec<bool> = ql.nodes().map(|n| n.compressed).collect();
    assert_eq!(compressed, vec![false, true, true, true, false]);
    ql.pop_with(true, |_| ()).unwrap();
    ql.check().unwrap();
    assert_eq!(ql.nodes().map(|n| n.compressed).collect::<Vec<_>>(), vec![false, true, true, false]);
    ql.pop_with(false, |_| ()).unwrap();
    ql.pop_with(false, |_| ()).unwrap();
    assert_eq!(ql.nodes().map(|n| n.compressed).collect::<Vec<_>>(), vec![false, false]);
    // Depth 2 with 4 nodes: nothing is interior.
    let mut ql = Quicklist::new(1, 2);
    for _ in 0..4 {
        ql.push_head(item.as_bytes());
    }
    assert!(ql.nodes().all(|n| !n.compressed));
    ql.push_head(item.as_bytes());
    assert_eq!(ql.nodes().map(|n| n.compressed).collect::<Vec<_>>(), vec![false, false, true, false, false]);
    // Reading through compressed nodes works and changes nothing.
    let mut n = 0;
    ql.walk(0, false, |v| {
        assert_eq!(v.to_vec(), item.as_bytes());
        n += 1;
        ControlFlow::Continue(())
    });
    assert_eq!(n, 5);
    ql.check().unwrap();
}

#[test]
fn incompressible_and_small_nodes_stay_raw() {
    let mut ql = Quicklist::new(1, 1);
    let noise: Vec<u8> = (0..200u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    for v in [&b"tiny"[..], &noise, b"tiny", &noise, b"tiny"] {
        ql.push_tail(v);
    }
    ql.check().unwrap();
    assert!(ql.nodes().all(|n| !n.compressed));
}

#[test]
fn delete_range_spans_nodes_and_keeps_the_rest() {
    let mut ql = filled(2, 1, &["a", "b", "c", "d", "e", "f", "g"]);
    assert_eq!(ql.delete_range(1, 4), 4);
    ql.check().unwrap();
    assert_eq!(shape(&ql), of(&[&["a"], &["f"], &["g"]]));
    assert_eq!(ql.delete_range(-2, 100), 2);
    assert_eq!(shape(&ql), of(&[&["a"]]));
    assert_eq!(ql.delete_range(5, 1), 0);
    assert_eq!(ql.delete_range(0, 0), 0);
}

#[test]
fn remove_matching_from_either_end() {
    let mut ql = filled(2, 0, &["x", "a", "x", "x", "b", "x"]);
    assert_eq!(ql.remove_matching(|v| v.eq_bytes(b"x"), 2, true), 2);
    ql.check().unwrap();
    assert_eq!(shape(&ql), of(&[&["x", "a"], &["x"], &["b"]]));
    assert_eq!(ql.remove_matching(|v| v.eq_bytes(b"x"), 0, false), 2);
    assert_eq!(shape(&ql), of(&[&["a"], &["b"]]));
}

#[test]
fn limits_follow_valkey() {
    assert_eq!(node_limit(-1), (Some(4096), None));
    assert_eq!(node_limit(-5), (Some(65536), None));
    assert_eq!(node_limit(-100), (Some(65536), None));
    assert_eq!(node_limit(i32::MIN as i64), (Some(65536), None));
    assert_eq!(node_limit(0), (None, Some(1)));
    assert_eq!(node_limit(128), (None, Some(128)));
    assert!(exceeds_limit(128, 8193, 1));
    assert!(!exceeds_limit(128, 8192, 128));
    assert!(exceeds_limit(128, 100, 129));
    assert!(!exceeds_limit(-2, 8192, 100_000));
    assert!(is_large(8193, 5) && !is_large(8192, 5));
    assert!(is_large(4097, -1) && !is_large(4096, -1));
    // The quicklist's own fill is clamped to 16 bits; the depth too.
    assert_eq!(Quicklist::new(1 << 20, 1 << 20).fill(), FILL_MAX);
    assert_eq!(Quicklist::new(-9, 0).fill(), -5);
    assert_eq!(Quicklist::new(1, 1 << 40).compress_depth(), DEPTH_MAX as usize);
    assert!(!set_packed_threshold(1 << 32));
}

#[test]
fn cold_interior_is_compressed_into_exact_allocations() {
    // list-compress-depth 0: two raw nodes at each end, the rest compressed, each compressed
    // node's buffer no larger than its bytes (the compressor's buffer is input-sized).
    let mut ql = Quicklist::new(-2, 0);
    for i in 0..50_000 {
        ql.push_tail(format!("item:{}", i % 100_000).as_bytes());
    }
    ql.check().unwrap();
    let n = ql.nodes.len();
    assert!(n > 10);
    for (i, node) in ql.nodes.iter().enumerate() {
        assert_eq!(node.compressed, (2..n - 2).contains(&i), "node {i} of {n}");
        if node.compressed {
            assert_eq!(node.data.capacity(), node.data.len());
            assert!(node.data.len() * 2 < node.size, "short similar strings compress well");
        }
    }
    // Popping to the middle and reading everything back keeps the invariant and the contents.
    for _ in 0..20_000 {
        ql.pop_with(true, |_| ()).unwrap();
    }
    ql.check().unwrap();
    let mut seen = Vec::new();
    ql.walk(0, false, |v| {
        seen.push(v.to_vec());
        ControlFlow::Continue(())
    });
    let want: Vec<Vec<u8>> = (20_000..50_000).map(|i| format!("item:{i}").into_bytes()).collect();
    assert_eq!(seen, want);
}
