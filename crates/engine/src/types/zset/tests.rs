//! Sorted sets against a model (a `BTreeMap` of member → score, ordered views computed from
//! it), in both encodings and across conversions.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const LISTPACK_ONLY: ZSetLimits = ZSetLimits { max_listpack_entries: 1_000_000, max_listpack_value: 1_000_000 };
const SKIPLIST_ONLY: ZSetLimits = ZSetLimits { max_listpack_entries: 0, max_listpack_value: 0 };
const SMALL: ZSetLimits = ZSetLimits { max_listpack_entries: 8, max_listpack_value: 6 };

/// The model's members in (score, member) order.
fn ordered(model: &BTreeMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
    let mut v: Vec<(Vec<u8>, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
    v.sort_by(|a, b| tree::cmp_key(a.1, &a.0, b.1, &b.0));
    v
}

fn member(i: u8, long: bool) -> Vec<u8> {
    if long {
        format!("long-member-{i}").into_bytes()
    } else if i.is_multiple_of(3) {
        // Integer-looking members are stored as listpack integers.
        i.to_string().into_bytes()
    } else {
        format!("m{i}").into_bytes()
    }
}

fn score(s: i8) -> f64 {
    match s {
        -10 => f64::NEG_INFINITY,
        10 => f64::INFINITY,
        _ => f64::from(s) / 2.0,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Add { m: u8, long: bool, s: i8, flags: (bool, bool, bool, bool, bool) },
    Remove(u8),
    RemoveRanks(u8, u8),
    RemoveScores(i8, i8, bool, bool),
    Pop(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..40, proptest::bool::weighted(0.1), -10i8..=10, any::<(bool, bool, bool, bool, bool)>())
            .prop_map(|(m, long, s, flags)| Op::Add { m, long, s, flags }),
        2 => (0u8..40).prop_map(Op::Remove),
        1 => (0u8..20, 0u8..20).prop_map(|(a, b)| Op::RemoveRanks(a, b)),
        1 => (-10i8..=10, -10i8..=10, any::<bool>(), any::<bool>()).prop_map(|(a, b, x, y)| Op::RemoveScores(a, b, x, y)),
        1 => any::<bool>().prop_map(Op::Pop),
    ]
}

/// Applies one op to both; checks the outcome.
fn apply(z: &mut ZSet, model: &mut BTreeMap<Vec<u8>, f64>, op: &Op, limits: ZSetLimits) -> Result<(), TestCaseError> {
    match *op {
        Op::Add { m, long, s, flags: (incr, nx, xx, gt, lt) } => {
            let flags = AddFlags { incr, nx, xx, gt, lt };
            let member = member(m, long);
            let got = z.add(&member, score(s), flags, limits);
            // The model's idea of zsetAdd.
            let want = match model.get(&member).copied() {
                Some(_) if nx => Ok(AddOutcome::Skipped),
                Some(cur) => {
                    let new = if incr { score(s) + cur } else { score(s) };
                    if new.is_nan() {
                        Err(NotANumber)
                    } else if (lt && new >= cur) || (gt && new <= cur) {
                        Ok(AddOutcome::Skipped)
                    } else if new == cur {
                        Ok(AddOutcome::Unchanged(new))
                    } else {
                        model.insert(member.clone(), new);
                        Ok(AddOutcome::Updated(new))
                    }
                }
                None if xx => Ok(AddOutcome::Skipped),
                None => {
                    model.insert(member.clone(), score(s));
                    Ok(AddOutcome::Added(score(s)))
                }
            };
            prop_assert_eq!(got, want);
        }
        Op::Remove(m) => {
            let member = member(m, false);
            prop_assert_eq!(z.remove(&member), model.remove(&member).is_some());
        }
        Op::RemoveRanks(a, b) => {
            let (a, b) = (usize::from(a), usize::from(b));
            let order = ordered(model);
            let want: Vec<_> =
                order.iter().enumerate().filter(|(i, _)| *i >= a && *i <= b).map(|(_, x)| x.0.clone()).collect();
            prop_assert_eq!(z.remove_ranks(a, b), want.len());
            for m in want {
                model.remove(&m);
            }
        }
        Op::RemoveScores(a, b, x, y) => {
            let r = ScoreRange { min: score(a), max: score(b), min_exclusive: x, max_exclusive: y };
            let doomed: Vec<Vec<u8>> = model.iter().filter(|(_, s)| r.contains(**s)).map(|(m, _)| m.clone()).collect();
            prop_assert_eq!(z.remove_range(&r), doomed.len());
            for m in doomed {
                model.remove(&m);
            }
        }
        Op::Pop(highest) => {
            let order = ordered(model);
            let want = if highest { order.last().cloned() } else { order.first().cloned() };
            prop_assert_eq!(z.pop(highest), want.clone());
            if let Some((m, _)) = want {
                model.remove(&m);
            }
        }
    }
    Ok(())
}

/// What ZRANGEBYSCORE/ZRANGEBYLEX with LIMIT `offset` -1 return: from `range_start`, members
/// while the far bound holds (the walk checks it on every member, the first one included).
fn range_walk(r: ZSetRef<'_>, spec: &dyn Spec, offset: i64, reverse: bool) -> Vec<usize> {
    let mut out = Vec::new();
    if let Some(start) = r.range_start(spec, offset, reverse) {
        let mut rank = start;
        r.walk(start, reverse, |m, s| {
            let inside = if reverse { spec.gte_min(m, s) } else { spec.lte_max(m, s) };
            if inside {
                out.push(rank);
                rank = if reverse { rank.wrapping_sub(1) } else { rank + 1 };
            }
            inside
        });
    }
    out
}

/// Every read-only view of `z` agrees with the model.
fn check_views(z: &ZSet, model: &BTreeMap<Vec<u8>, f64>) -> Result<(), TestCaseError> {
    let r = z.as_ref();
    let order = ordered(model);
    prop_assert_eq!(r.len(), order.len());
    prop_assert_eq!(r.pairs(), order.clone());
    if let ZSet::Skiplist(s) = z {
        s.tree().check();
    }
    for (i, (m, s)) in order.iter().enumerate() {
        prop_assert_eq!(r.score(m), Some(*s));
        prop_assert_eq!(r.rank(m, false), Some((i, *s)));
        prop_assert_eq!(r.rank(m, true), Some((order.len() - 1 - i, *s)));
        prop_assert_eq!(r.get(i).map(|(m, s)| (m.to_vec(), s)), Some((m.clone(), *s)));
    }
    prop_assert_eq!(r.score(b"absent"), None);
    // Walks from every rank, both ways.
    for start in 0..order.len() {
        let mut fwd = Vec::new();
        r.walk(start, false, |m, _| {
            fwd.push(m.to_vec());
            true
        });
        prop_assert_eq!(fwd, order[start..].iter().map(|x| x.0.clone()).collect::<Vec<_>>());
        let mut back = Vec::new();
        r.walk(start, true, |m, _| {
            back.push(m.to_vec());
            true
        });
        prop_assert_eq!(back, order[..=start].iter().rev().map(|x| x.0.clone()).collect::<Vec<_>>());
    }
    // Score ranges: counts, and where forward/backward walks start.
    for (a, b) in [(-10i8, 10i8), (-2, 2), (0, 0), (3, 1), (-10, -10), (10, 10), (1, 6)] {
        for (x, y) in [(false, false), (true, false), (false, true), (true, true)] {
            let range = ScoreRange { min: score(a), max: score(b), min_exclusive: x, max_exclusive: y };
            let inside: Vec<usize> = (0..order.len()).filter(|&i| range.contains(order[i].1)).collect();
            prop_assert_eq!(r.count_in_range(&range), inside.len(), "count {:?}", range);
            for offset in [0usize, 1, 3] {
                let fwd = range_walk(r, &range, offset as i64, false);
                let want: Vec<usize> = inside.iter().skip(offset).copied().collect();
                prop_assert_eq!(fwd, want, "fwd {:?} offset {}", range, offset);
                let back = range_walk(r, &range, offset as i64, true);
                let want: Vec<usize> = inside.iter().rev().skip(offset).copied().collect();
                prop_assert_eq!(back, want, "back {:?} offset {}", range, offset);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn listpack_behaves_like_the_model(ops in proptest::collection::vec(op(), 1..120)) {
        let mut z = ZSet::new_for(0, 0, LISTPACK_ONLY);
        let mut model = BTreeMap::new();
        for op in &ops {
            apply(&mut z, &mut model, op, LISTPACK_ONLY)?;
        }
        prop_assert_eq!(z.encoding(), "listpack");
        if let ZSet::Listpack(lp) = &z {
            prop_assert!(listpack::validate(lp).is_some());
        }
        check_views(&z, &model)?;
    }

    #[test]
    fn skiplist_behaves_like_the_model(ops in proptest::collection::vec(op(), 1..400)) {
        let mut z = ZSet::new_for(1, 0, SKIPLIST_ONLY);
        let mut model = BTreeMap::new();
        for op in &ops {
            apply(&mut z, &mut model, op, SKIPLIST_ONLY)?;
        }
        prop_assert_eq!(z.encoding(), "skiplist");
        check_views(&z, &model)?;
    }

    #[test]
    fn conversions_keep_contents(ops in proptest::collection::vec(op(), 1..150)) {
        let mut z = ZSet::new_for(0, 0, SMALL);
        let mut model = BTreeMap::new();
        for op in &ops {
            apply(&mut z, &mut model, op, SMALL)?;
            let listpack_fits = model.len() <= SMALL.max_listpack_entries;
            // Once converted, a set stays a skiplist however small it gets.
            if z.encoding() == "listpack" {
                prop_assert!(listpack_fits);
            }
        }
        check_views(&z, &model)?;
        let mut there_and_back = z.clone();
        there_and_back.convert_to_skiplist();
        check_views(&there_and_back, &model)?;
        there_and_back.convert_to_listpack();
        prop_assert_eq!(there_and_back.encoding(), "listpack");
        check_views(&there_and_back, &model)?;
    }

    /// Lex ranges on sets whose members all share one score (the only case where Valkey
    /// defines them): every view agrees with a filter over the model.
    #[test]
    fn lex_ranges(members in proptest::collection::btree_set(proptest::collection::vec(b'a'..b'e', 0..4), 0..40),
                  lo in proptest::collection::vec(b'a'..b'e', 0..3), hi in proptest::collection::vec(b'a'..b'e', 0..3),
                  kinds in (0u8..4, 0u8..4)) {
        let bound = |k: u8, v: &Vec<u8>| -> Vec<u8> {
            match k {
                0 => b"-".to_vec(),
                1 => b"+".to_vec(),
                2 => [&b"["[..], v].concat(),
                _ => [&b"("[..], v].concat(),
            }
        };
        let (min, max) = (bound(kinds.0, &lo), bound(kinds.1, &hi));
        let range = LexRange::parse(&min, &max).unwrap();
        for limits in [LISTPACK_ONLY, SKIPLIST_ONLY] {
            let mut z = ZSet::new_for(members.len(), 0, limits);
            for m in &members {
                z.add(m, 0.0, AddFlags::default(), limits).unwrap();
            }
            let order: Vec<&Vec<u8>> = members.iter().collect();
            let inside: Vec<usize> = (0..order.len()).filter(|&i| range.contains(order[i])).collect();
            let r = z.as_ref();
            prop_assert_eq!(r.count_in_range(&range), inside.len());
            prop_assert_eq!(range_walk(r, &range, 0, false), inside.clone());
            prop_assert_eq!(range_walk(r, &range, 0, true), inside.iter().rev().copied().collect::<Vec<_>>());
            prop_assert_eq!(range_walk(r, &range, 2, false), inside.iter().skip(2).copied().collect::<Vec<_>>());
            let mut copy = z.clone();
            prop_assert_eq!(copy.remove_range(&range), inside.len());
            prop_assert_eq!(copy.len(), members.len() - inside.len());
        }
    }
}

#[test]
fn encoding_follows_valkeys_thresholds() {
    let l = ZSetLimits { max_listpack_entries: 2, max_listpack_value: 4 };
    assert_eq!(ZSet::new_for(2, 4, l).encoding(), "listpack");
    assert_eq!(ZSet::new_for(3, 4, l).encoding(), "skiplist");
    assert_eq!(ZSet::new_for(1, 5, l).encoding(), "skiplist");
    let mut z = ZSet::new_for(1, 1, l);
    z.add(b"a", 1.0, AddFlags::default(), l).unwrap();
    z.add(b"b", 2.0, AddFlags::default(), l).unwrap();
    assert_eq!(z.encoding(), "listpack");
    // Updating an existing member never converts.
    z.add(b"b", 3.0, AddFlags::default(), l).unwrap();
    assert_eq!(z.encoding(), "listpack");
    z.add(b"c", 3.0, AddFlags::default(), l).unwrap();
    assert_eq!(z.encoding(), "skiplist");
    let mut long = ZSet::new_for(1, 1, l);
    long.add(b"12345", 1.0, AddFlags::default(), l).unwrap();
    assert_eq!(long.encoding(), "skiplist");
    // XX on a missing member neither adds nor converts.
    let mut xx = ZSet::new_for(1, 1, l);
    let flags = AddFlags { xx: true, ..AddFlags::default() };
    assert_eq!(xx.add(b"123456", 1.0, flags, l), Ok(AddOutcome::Skipped));
    assert_eq!(xx.encoding(), "listpack");
    // Shrinking back happens only on request, and only if it fits.
    let mut big = ZSet::new_for(10, 0, l);
    big.add(b"a", 1.0, AddFlags::default(), l).unwrap();
    big.shrink_to_fit(1, 1, l);
    assert_eq!(big.encoding(), "listpack");
    big.convert_to_skiplist();
    big.shrink_to_fit(5, 5, l);
    assert_eq!(big.encoding(), "skiplist");
}

#[test]
fn nan_results_are_refused() {
    let mut z = ZSet::default();
    let l = SMALL;
    assert_eq!(z.add(b"a", f64::NAN, AddFlags::default(), l), Err(NotANumber));
    z.add(b"a", f64::INFINITY, AddFlags::default(), l).unwrap();
    let incr = AddFlags { incr: true, ..AddFlags::default() };
    assert_eq!(z.add(b"a", f64::NEG_INFINITY, incr, l), Err(NotANumber));
    assert_eq!(z.as_ref().score(b"a"), Some(f64::INFINITY));
    assert_eq!(z.add(b"a", 1.0, incr, l), Ok(AddOutcome::Unchanged(f64::INFINITY)));
}

#[test]
fn negative_zero_is_stored_as_zero_in_a_listpack_only() {
    let mut lp = ZSet::new_for(1, 1, LISTPACK_ONLY);
    lp.add(b"z", -0.0, AddFlags::default(), LISTPACK_ONLY).unwrap();
    assert!(lp.as_ref().score(b"z").unwrap().is_sign_positive());
    let mut sl = ZSet::new_for(1, 1, SKIPLIST_ONLY);
    sl.add(b"z", -0.0, AddFlags::default(), SKIPLIST_ONLY).unwrap();
    assert!(sl.as_ref().score(b"z").unwrap().is_sign_negative());
}

#[test]
fn big_sets_have_log_depth_operations_and_compact_memory() {
    let mut z = ZSet::new_for(100_000, 0, SMALL);
    for i in 0..100_000u32 {
        z.add(format!("member:{i}").as_bytes(), f64::from(i % 1000), AddFlags::default(), SMALL).unwrap();
    }
    let r = z.as_ref();
    assert_eq!(r.len(), 100_000);
    assert_eq!(r.rank(b"member:0", false), Some((0, 0.0)));
    let (rank, _) = r.rank(b"member:99999", false).unwrap();
    assert_eq!(r.get(rank).map(|(m, _)| m.to_vec()), Some(b"member:99999".to_vec()));
    let per_member = r.heap_bytes() / r.len();
    // Item (~32) + bucket (8-16) + index (~20, a score copy beside each handle): well below
    // Valkey's ~100 bytes.
    assert!(per_member < 80, "{per_member} bytes per member");
    if let ZSet::Skiplist(s) = &z {
        s.tree().check();
    }
}
