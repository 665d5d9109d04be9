//! Unit tests of the stream type: node layout, iteration both ways, deletion, trimming and
//! the read counters, checked against a plain model (a sorted vector of entries).

use super::*;

fn lim(entries: usize) -> StreamLimits {
    StreamLimits { node_max_bytes: 4096, node_max_entries: entries }
}

fn add(s: &mut Stream, ms: u64, pairs: &[&str]) -> StreamId {
    let f: Vec<&[u8]> = pairs.iter().map(|p| p.as_bytes()).collect();
    s.append(&f, Some(StreamId::new(ms, 0)), true, 0, lim(3)).unwrap()
}

fn ids(s: &Stream, rev: bool) -> Vec<u64> {
    s.range(StreamId::MIN, StreamId::MAX, rev).map(|e| e.id.ms).collect()
}

#[test]
fn node_bytes_are_valkeys_layout() {
    let mut s = Stream::new();
    add(&mut s, 5, &["f", "v"]);
    add(&mut s, 7, &["f", "w", "g", "1"]);
    let (master, lp) = s.nodes().next().unwrap();
    assert_eq!(*master, StreamId::new(5, 0));
    let elems: Vec<Vec<u8>> = crate::types::listpack::iter(lp).map(|(_, v)| v.to_vec()).collect();
    let strs: Vec<String> = elems.iter().map(|e| String::from_utf8_lossy(e).into_owned()).collect();
    assert_eq!(
        strs,
        vec![
            "2", "0", "1", "f", "0", // master entry: count, deleted, fields, terminator
            "2", "0", "0", "v", "4", // SAMEFIELDS entry: flags, ms-diff, seq-diff, value, lp-count
            "0", "2", "0", "2", "f", "w", "g", "1", "8", // full entry
        ]
    );
}

#[test]
fn ranges_deletes_and_trims_match_a_model() {
    let mut rng = fastrand::Rng::with_seed(7);
    for round in 0..200 {
        let mut s = Stream::new();
        let mut model: Vec<u64> = Vec::new();
        let n = rng.u64(1..40);
        for ms in 1..=n {
            let v = ms.to_string();
            let f: Vec<&[u8]> =
                if rng.bool() { vec![b"a", v.as_bytes()] } else { vec![b"b", v.as_bytes(), b"c", b"x"] };
            s.append(&f, Some(StreamId::new(ms, 0)), true, 0, lim(rng.usize(1..6))).unwrap();
            model.push(ms);
        }
        for _ in 0..rng.usize(0..10) {
            let id = rng.u64(0..n + 2);
            let had = model.contains(&id);
            assert_eq!(s.delete(StreamId::new(id, 0)), had);
            model.retain(|&x| x != id);
        }
        // XDEL keeps the recorded first ID; do what it does.
        s.first_id = if s.length == 0 { StreamId::MIN } else { s.edge_id(true, false) };
        assert_eq!(s.length as usize, model.len());
        assert_eq!(ids(&s, false), model, "round {round}");
        let mut rev = model.clone();
        rev.reverse();
        assert_eq!(ids(&s, true), rev);
        let (a, b) = (rng.u64(0..n + 2), rng.u64(0..n + 2));
        let inside: Vec<u64> = model.iter().copied().filter(|&x| x >= a && x <= b).collect();
        let got: Vec<u64> = s.range(StreamId::new(a, 0), StreamId::new(b, 0), false).map(|e| e.id.ms).collect();
        assert_eq!(got, inside);
        let mut got_rev: Vec<u64> = s.range(StreamId::new(a, 0), StreamId::new(b, 0), true).map(|e| e.id.ms).collect();
        got_rev.reverse();
        assert_eq!(got_rev, inside);
        // Exact trims leave exactly what they say.
        if rng.bool() {
            let max = rng.u64(0..n + 1);
            let removed = s.trim(TrimBy::MaxLen(max), false, 0);
            let keep = model.len().min(max as usize);
            assert_eq!(removed as usize, model.len() - keep);
            model.drain(..model.len() - keep);
        } else {
            let min = rng.u64(0..n + 2);
            let removed = s.trim(TrimBy::MinId(StreamId::new(min, 0)), false, 0);
            let before = model.len();
            model.retain(|&x| x >= min);
            assert_eq!(removed as usize, before - model.len());
        }
        assert_eq!(ids(&s, false), model);
        assert!(s.check_consistency());
        if let Some(&first) = model.first() {
            assert_eq!(s.first_id, StreamId::new(first, 0));
        }
    }
}

#[test]
fn approximate_trims_remove_whole_nodes_only() {
    let mut s = Stream::new();
    for ms in 1..=10 {
        add(&mut s, ms, &["a", "1"]);
    }
    // Nodes of 3: [1-3] [4-6] [7-9] [10]. MAXLEN ~ 5 removes [1-3] only (removing [4-6] too
    // would leave 4).
    assert_eq!(s.trim(TrimBy::MaxLen(5), true, 0), 3);
    assert_eq!(s.length, 7);
    assert_eq!(s.first_id, StreamId::new(4, 0));
    // A limit below a node's size removes nothing.
    assert_eq!(s.trim(TrimBy::MaxLen(0), true, 2), 0);
}

#[test]
fn ids_step_and_refuse_going_back() {
    let mut s = Stream::new();
    let a = s.append(&[b"f", b"v"], None, true, 1000, lim(100)).unwrap();
    assert_eq!(a, StreamId::new(1000, 0));
    let b = s.append(&[b"f", b"v"], None, true, 999, lim(100)).unwrap();
    assert_eq!(b, StreamId::new(1000, 1), "the clock going back does not make IDs go back");
    let c = s.append(&[b"f", b"v"], Some(StreamId::new(1000, 0)), false, 0, lim(100)).unwrap();
    assert_eq!(c, StreamId::new(1000, 2), "<ms>-* continues the sequence");
    assert_eq!(s.append(&[b"f", b"v"], Some(StreamId::new(1000, 2)), true, 0, lim(100)), Err(AppendError::IdTooSmall));
    assert_eq!(StreamId::MAX.incr(), None);
    assert_eq!(StreamId::MIN.decr(), None);
    assert_eq!(StreamId::new(1, 0).decr(), Some(StreamId::new(0, u64::MAX)));
}

#[test]
fn entries_read_estimates() {
    let mut s = Stream::new();
    for ms in 1..=5 {
        add(&mut s, ms, &["a", "1"]);
    }
    assert_eq!(s.estimate_distance(StreamId::new(5, 0)), Some(5));
    assert_eq!(s.estimate_distance(StreamId::new(1, 0)), Some(1));
    assert_eq!(s.estimate_distance(StreamId::new(0, 5)), Some(0));
    assert_eq!(s.estimate_distance(StreamId::new(3, 0)), None);
    assert_eq!(s.estimate_distance(StreamId::new(9, 0)), None);
    s.delete(StreamId::new(3, 0));
    s.max_deleted_id = StreamId::new(3, 0);
    assert!(s.range_has_tombstones(StreamId::new(2, 0), StreamId::MAX));
    assert!(!s.range_has_tombstones(StreamId::new(4, 0), StreamId::MAX));
}
