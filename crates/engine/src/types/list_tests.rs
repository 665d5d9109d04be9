//! Tests of the list type: conversion rules between the encodings, and a property test that
//! drives every operation against a `VecDeque` model in both encodings, with small node
//! limits (many nodes), plain nodes and compression.

use super::*;
use proptest::prelude::*;
use std::collections::VecDeque;

fn lim(fill: i64, depth: u64) -> ListLimits {
    ListLimits { fill, compress_depth: depth }
}

fn contents(l: &List) -> Vec<Vec<u8>> {
    l.as_ref().to_vec()
}

fn check(l: &List) {
    if let List::Quicklist(ql) = l {
        if let Err(e) = ql.check() {
            panic!("quicklist invariant broken: {e}");
        }
    } else if let List::Listpack(lp) = l {
        assert_eq!(listpack::validate(lp), Some(listpack::len(lp)));
    }
}

#[test]
fn small_lists_stay_listpacks_and_convert_past_the_limit() {
    let l2 = lim(2, 0);
    let mut l = List::new();
    l.push_all(&[b"a", b"b"], false, l2);
    assert_eq!(l.encoding(), "listpack");
    l.push_all(&[b"c"], false, l2);
    assert_eq!(l.encoding(), "quicklist");
    assert_eq!(contents(&l), vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    // The listpack became the first node as it was: [a b] [c].
    let List::Quicklist(ql) = &l else { unreachable!() };
    assert_eq!(ql.nodes().map(|n| n.count).collect::<Vec<_>>(), vec![2, 1]);
    // Shrinking converts back only within half the limit: one element for fill 2.
    l.pop_with(true, |_| ());
    assert_eq!(l.encoding(), "quicklist", "two nodes never convert");
    l.pop_with(true, |_| ());
    l.shrink(l2);
    assert_eq!(l.encoding(), "listpack");
}

#[test]
fn fill_zero_counts_as_one_and_negative_fills_are_sizes() {
    let mut l = List::new();
    l.push_all(&[b"a"], false, lim(0, 0));
    assert_eq!(l.encoding(), "listpack");
    l.push_all(&[b"b"], false, lim(0, 0));
    assert_eq!(l.encoding(), "quicklist");

    // fill -6 clamps to -5: 64 KiB.
    let big = vec![b'x'; 60_000];
    let mut l = List::new();
    l.push_all(&[&big], false, lim(-6, 0));
    assert_eq!(l.encoding(), "listpack");
    l.push_all(&[&vec![b'x'; 5536]], false, lim(-6, 0));
    assert_eq!(l.encoding(), "quicklist");

    // Positive fills are capped by the 8 KiB safety limit.
    let mut l = List::new();
    l.push_all(&[&vec![b'y'; 8000][..]], false, lim(1000, 0));
    assert_eq!(l.encoding(), "listpack");
    l.push_all(&[&vec![b'y'; 500][..]], false, lim(1000, 0));
    assert_eq!(l.encoding(), "quicklist");
}

#[test]
fn large_elements_live_alone_in_plain_nodes() {
    let limits = lim(-1, 0);
    let mut l = List::new();
    l.push_all(&[b"a", b"b"], false, limits);
    let big = vec![b'z'; 5000];
    l.push_all(&[&big], false, limits);
    l.push_all(&[b"c"], false, limits);
    let List::Quicklist(ql) = &l else { panic!("a 5000-byte element does not fit a 4 KiB listpack") };
    let shape: Vec<(bool, usize)> = ql.nodes().map(|n| (n.plain, n.count)).collect();
    assert_eq!(shape, vec![(false, 2), (true, 1), (false, 1)]);
    assert_eq!(l.as_ref().with_index(2, |v| v.to_vec()), Some(big.clone()));
    // LSET of a small value over the plain node replaces the node.
    assert!(l.set(2, b"small", limits));
    check(&l);
    assert_eq!(contents(&l), vec![b"a".to_vec(), b"b".to_vec(), b"small".to_vec(), b"c".to_vec()]);
    // LSET of a large value into a packed node splits it around a new plain node.
    assert!(l.set(0, &big, limits));
    check(&l);
    assert_eq!(l.as_ref().with_index(0, |v| v.to_vec()), Some(big));
    assert_eq!(l.len(), 4);
}

#[test]
fn linsert_and_lrem_and_trim() {
    for limits in [lim(-2, 0), lim(2, 1), lim(1, 2)] {
        let mut l = List::new();
        l.push_all(&[b"1", b"2", b"3", b"2", b"x"], false, limits);
        assert!(l.insert(b"2", b"before", false, limits));
        assert!(l.insert(b"x", b"after", true, limits));
        assert!(!l.insert(b"nope", b"z", true, limits));
        check(&l);
        let words = |l: &List| contents(l).into_iter().map(|v| String::from_utf8(v).unwrap()).collect::<Vec<_>>();
        assert_eq!(words(&l), ["1", "before", "2", "3", "2", "x", "after"]);
        assert_eq!(l.remove(b"2", 1, true), 1);
        assert_eq!(words(&l), ["1", "before", "2", "3", "x", "after"]);
        assert_eq!(l.remove(b"2", 0, false), 1);
        assert_eq!(l.trim(1, -2), 2);
        assert_eq!(words(&l), ["before", "3", "x"]);
        assert_eq!(l.trim(5, 10), 3);
        assert!(l.is_empty());
        check(&l);
    }
}

#[test]
fn range_bounds_follow_lrange() {
    assert_eq!(range_bounds(0, -1, 5), Some((0, 5)));
    assert_eq!(range_bounds(-100, 100, 5), Some((0, 5)));
    assert_eq!(range_bounds(2, 1, 5), None);
    assert_eq!(range_bounds(5, 10, 5), None);
    assert_eq!(range_bounds(0, -6, 5), None);
    assert_eq!(range_bounds(-2, -1, 5), Some((3, 2)));
    assert_eq!(range_bounds(i64::MIN, i64::MAX, 3), Some((0, 3)));
    assert_eq!(range_bounds(0, 0, 0), None);
}

#[test]
fn loaded_single_nodes_become_listpacks_within_the_limits() {
    let mut ql = Quicklist::new(-2, 0);
    ql.append_listpack(listpack::from_values([&b"a"[..], b"b"]));
    assert_eq!(List::from_loaded(ql.clone(), lim(-2, 0)).encoding(), "listpack");
    assert_eq!(List::from_loaded(ql.clone(), lim(1, 0)).encoding(), "quicklist");
    ql.append_listpack(listpack::from_values([&b"c"[..]]));
    assert_eq!(List::from_loaded(ql, lim(-2, 0)).encoding(), "quicklist");
}

/// One operation of the model test.
#[derive(Clone, Debug)]
enum Op {
    Push(Vec<Vec<u8>>, bool),
    Pop(bool),
    PopMany(bool, usize),
    Set(i64, Vec<u8>),
    Insert(usize, Vec<u8>, bool),
    Remove(Vec<u8>, usize, bool),
    Trim(i64, i64),
    DeleteRange(i64, usize),
    Shrink,
    Index(i64),
    Range(i64, i64, bool),
}

fn element() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => proptest::sample::select(vec![&b"a"[..], b"b", b"c", b"1", b"-7", b"300", b"", b"9223372036854775807"])
            .prop_map(|s| s.to_vec()),
        3 => proptest::collection::vec(b'a'..b'd', 0..80),
        // Repetitive, so interior nodes compress.
        2 => (1usize..400).prop_map(|n| b"abc".repeat(n)),
        // Larger than a 4 KiB node: plain nodes for negative fills.
        1 => (4097usize..4300).prop_map(|n| vec![b'L'; n]),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (proptest::collection::vec(element(), 1..6), any::<bool>()).prop_map(|(v, h)| Op::Push(v, h)),
        3 => any::<bool>().prop_map(Op::Pop),
        2 => (any::<bool>(), 0usize..12).prop_map(|(h, n)| Op::PopMany(h, n)),
        2 => (-30i64..30, element()).prop_map(|(i, v)| Op::Set(i, v)),
        2 => (0usize..40, element(), any::<bool>()).prop_map(|(p, v, a)| Op::Insert(p, v, a)),
        2 => (element(), 0usize..4, any::<bool>()).prop_map(|(v, n, t)| Op::Remove(v, n, t)),
        1 => (-30i64..30, -30i64..30).prop_map(|(s, e)| Op::Trim(s, e)),
        1 => (-30i64..30, 0usize..10).prop_map(|(s, n)| Op::DeleteRange(s, n)),
        1 => Just(Op::Shrink),
        2 => (-30i64..30).prop_map(Op::Index),
        2 => (-30i64..30, -30i64..30, any::<bool>()).prop_map(|(s, e, r)| Op::Range(s, e, r)),
    ]
}

fn model_index(len: usize, i: i64) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (i >= 0 && (i as usize) < len).then_some(i as usize)
}

fn apply(l: &mut List, m: &mut VecDeque<Vec<u8>>, op: &Op, limits: ListLimits) {
    match op {
        Op::Push(vs, head) => {
            let refs: Vec<&[u8]> = vs.iter().map(|v| v.as_slice()).collect();
            l.push_all(&refs, *head, limits);
            for v in vs {
                if *head {
                    m.push_front(v.clone())
                } else {
                    m.push_back(v.clone())
                }
            }
        }
        Op::Pop(head) => {
            let got = l.pop_with(*head, |v| v.to_vec());
            let want = if *head { m.pop_front() } else { m.pop_back() };
            assert_eq!(got, want);
            l.shrink(limits);
        }
        Op::PopMany(head, n) => {
            let mut got = Vec::new();
            let k = l.pop_many_with(*head, *n, |v| got.push(v.to_vec()));
            let want: Vec<Vec<u8>> =
                (0..(*n).min(m.len())).map(|_| if *head { m.pop_front() } else { m.pop_back() }.unwrap()).collect();
            assert_eq!(k, want.len());
            assert_eq!(got, want);
            l.shrink(limits);
        }
        Op::Set(i, v) => {
            let ok = l.set(*i, v, limits);
            match model_index(m.len(), *i) {
                Some(j) => {
                    assert!(ok);
                    m[j] = v.clone();
                }
                None => assert!(!ok),
            }
        }
        Op::Insert(p, v, after) => {
            // A pivot taken from the list when possible, so that inserts happen.
            let pivot = if m.is_empty() { b"none".to_vec() } else { m[p % m.len()].clone() };
            let ok = l.insert(&pivot, v, *after, limits);
            match m.iter().position(|e| *e == pivot) {
                Some(j) => {
                    assert!(ok);
                    m.insert(if *after { j + 1 } else { j }, v.clone());
                }
                None => assert!(!ok),
            }
        }
        Op::Remove(v, n, from_tail) => {
            let got = l.remove(v, *n, *from_tail);
            let mut removed = 0;
            let idx: Vec<usize> = if *from_tail { (0..m.len()).rev().collect() } else { (0..m.len()).collect() };
            let mut drop = Vec::new();
            for j in idx {
                if (*n == 0 || removed < *n) && m[j] == *v {
                    drop.push(j);
                    removed += 1;
                }
            }
            drop.sort_unstable_by(|a, b| b.cmp(a));
            for j in drop {
                m.remove(j);
            }
            assert_eq!(got, removed);
            l.shrink(limits);
        }
        Op::Trim(s, e) => {
            let before = m.len();
            match range_bounds(*s, *e, m.len()) {
                Some((first, count)) => {
                    m.drain(first + count..);
                    m.drain(..first);
                }
                None => m.clear(),
            }
            assert_eq!(l.trim(*s, *e), before - m.len());
            l.shrink(limits);
        }
        Op::DeleteRange(s, n) => {
            let got = l.delete_range(*s, *n);
            let want = match model_index(m.len(), *s) {
                Some(j) => {
                    let k = (*n).min(m.len() - j);
                    m.drain(j..j + k);
                    k
                }
                None => 0,
            };
            assert_eq!(got, want);
        }
        Op::Shrink => l.shrink(limits),
        Op::Index(i) => {
            let got = l.as_ref().with_index(*i, |v| v.to_vec());
            assert_eq!(got, model_index(m.len(), *i).map(|j| m[j].clone()));
        }
        Op::Range(s, e, reverse) => {
            let mut got = Vec::new();
            if let Some((first, count)) = range_bounds(*s, *e, m.len()) {
                let from = if *reverse { first + count - 1 } else { first };
                l.as_ref().for_range(from, count, *reverse, |v| got.push(v.to_vec()));
                let mut want: Vec<Vec<u8>> = m.range(first..first + count).cloned().collect();
                if *reverse {
                    want.reverse();
                }
                assert_eq!(got, want);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn behaves_like_a_deque(
        fill in prop_oneof![Just(1i64), Just(2), Just(3), Just(5), Just(-1), Just(-2), Just(0)],
        depth in 0u64..4,
        start_quicklist in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let limits = lim(fill, depth);
        let mut l = if start_quicklist { List::Quicklist(Box::new(Quicklist::new(fill, depth))) } else { List::new() };
        let mut m: VecDeque<Vec<u8>> = VecDeque::new();
        for op in &ops {
            apply(&mut l, &mut m, op, limits);
            check(&l);
            prop_assert_eq!(l.len(), m.len());
        }
        prop_assert_eq!(contents(&l), m.iter().cloned().collect::<Vec<_>>());
        // Reading backwards gives the same elements.
        if !m.is_empty() {
            let mut back = Vec::new();
            l.as_ref().walk(m.len() - 1, true, |v| { back.push(v.to_vec()); std::ops::ControlFlow::Continue(()) });
            back.reverse();
            prop_assert_eq!(back, m.iter().cloned().collect::<Vec<_>>());
        }
        // A copy is equal and independent.
        let copy = l.as_ref().to_owned_list();
        prop_assert_eq!(contents(&copy), contents(&l));
        prop_assert_eq!(copy.encoding(), l.encoding());
    }
}
