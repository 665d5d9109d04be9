//! Unit tests of SORT and SORT_RO over sets, lists and sorted sets, through the dispatcher.

use crate::commands::hashes::tests::{bulks, events, setup, value, WRONGTYPE};
use crate::exec::tests::run;

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn sorted_reply(e: &crate::engine::Engine, c: &mut crate::client::Client, argv: &[&str]) -> Vec<String> {
    bulks(value(e, c, argv))
}

#[test]
fn numeric_and_alpha_orders_with_limit() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["sadd", "n", "10", "2", "-3", "1.5", "100"]);
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "n"]), strs(&["-3", "1.5", "2", "10", "100"]));
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "n", "desc"]), strs(&["100", "10", "2", "1.5", "-3"]));
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "n", "alpha"]), strs(&["-3", "1.5", "10", "100", "2"]));
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "n", "limit", "1", "2"]), strs(&["1.5", "2"]));
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "n", "limit", "-5", "2"]), strs(&["-3", "1.5"]));
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "n", "limit", "3", "-1"]), strs(&["10", "100"]));
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "n", "limit", "3", "100"]), strs(&["10", "100"]));
    assert_eq!(run(&e, &mut c, &["sort", "n", "limit", "5", "1"]), "*0\r\n");
    assert_eq!(run(&e, &mut c, &["sort", "n", "limit", "0", "0"]), "*0\r\n");
    assert_eq!(
        sorted_reply(&e, &mut c, &["sort", "n", "desc", "limit", "0", "2", "asc"]),
        strs(&["-3", "1.5"]),
        "the last of ASC/DESC wins"
    );
    assert_eq!(run(&e, &mut c, &["sort", "nokey"]), "*0\r\n");
    assert_eq!(run(&e, &mut c, &["sort_ro", "n", "limit", "0", "1"]), "*1\r\n$2\r\n-3\r\n");
}

#[test]
fn numeric_weights_follow_strtod() {
    let (e, mut c) = setup();
    // Ties on the score are ordered by the elements' bytes.
    run(&e, &mut c, &["sadd", "t", "1.0", "1", "01", " 1", "0x1", "", "inf", "-inf"]);
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "t"]), strs(&["-inf", "", " 1", "01", "0x1", "1", "1.0", "inf"]));
    let bad = "-ERR One or more scores can't be converted into double\r\n";
    for m in ["abc", "nan", "1e999", "1 "] {
        run(&e, &mut c, &["del", "b"]);
        run(&e, &mut c, &["sadd", "b", "1", m]);
        assert_eq!(run(&e, &mut c, &["sort", "b"]), bad, "{m}");
        assert_eq!(sorted_reply(&e, &mut c, &["sort", "b", "alpha"]).len(), 2);
    }
    assert_eq!(run(&e, &mut c, &["sort", "b", "store", "dst"]), bad);
    assert_eq!(run(&e, &mut c, &["exists", "dst"]), ":0\r\n");
}

#[test]
fn by_patterns_and_hash_fields() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["sadd", "s", "a", "b", "c", "d"]);
    run(&e, &mut c, &["mset", "w_a", "3", "w_b", "1", "w_c", "2"]);
    // d has no weight: 0, first.
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "s", "by", "w_*"]), strs(&["d", "b", "c", "a"]));
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "s", "by", "w_*", "desc", "limit", "0", "2"]), strs(&["a", "c"]));
    // ALPHA by pattern: missing weights first, then by the weights' bytes.
    run(&e, &mut c, &["mset", "x_a", "zz", "x_b", "aa"]);
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "s", "by", "x_*", "alpha"])[2..], strs(&["b", "a"]));
    // Hash fields.
    run(&e, &mut c, &["hset", "h_a", "f", "30"]);
    run(&e, &mut c, &["hset", "h_b", "f", "10"]);
    run(&e, &mut c, &["hset", "h_c", "f", "20", "g", "x"]);
    run(&e, &mut c, &["hset", "h_d", "g", "1"]);
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "s", "by", "h_*->f"]), strs(&["d", "b", "c", "a"]));
    // A weight key of the wrong type counts as missing.
    run(&e, &mut c, &["sadd", "w_d", "9"]);
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "s", "by", "w_*"]), strs(&["d", "b", "c", "a"]));
    // A non-numeric weight is an error.
    run(&e, &mut c, &["set", "w_c", "x"]);
    assert_eq!(
        run(&e, &mut c, &["sort", "s", "by", "w_*"]),
        "-ERR One or more scores can't be converted into double\r\n"
    );
    // BY without '*' does not sort: the set's own order (a listpack keeps insertion order).
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "s", "by", "nosort"]), strs(&["a", "b", "c", "d"]));
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "s", "by", "nosort", "desc", "limit", "1", "2"]), strs(&["b", "c"]));
}

#[test]
fn get_patterns() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["sadd", "s", "1", "2", "3"]);
    run(&e, &mut c, &["mset", "o_1", "one", "o_3", "three"]);
    run(&e, &mut c, &["hset", "h_2", "name", "two"]);
    assert_eq!(
        run(&e, &mut c, &["sort", "s", "get", "#", "get", "o_*", "get", "h_*->name"]),
        "*9\r\n$1\r\n1\r\n$3\r\none\r\n$-1\r\n$1\r\n2\r\n$-1\r\n$3\r\ntwo\r\n$1\r\n3\r\n$5\r\nthree\r\n$-1\r\n"
    );
    assert_eq!(run(&e, &mut c, &["sort", "s", "get", "nostar", "limit", "0", "1"]), "*1\r\n$-1\r\n");
    c.resp3 = true;
    assert_eq!(run(&e, &mut c, &["sort", "s", "get", "o_*", "limit", "1", "1"]), "*1\r\n_\r\n");
    c.resp3 = false;
    // `->` with nothing after it is part of the key name.
    run(&e, &mut c, &["set", "k_1->", "raw"]);
    assert_eq!(run(&e, &mut c, &["sort", "s", "get", "k_*->", "limit", "0", "1"]), "*1\r\n$3\r\nraw\r\n");
    // The pattern's text after the star (before `->`) is kept.
    run(&e, &mut c, &["hset", "p_1_q", "f", "v"]);
    assert_eq!(run(&e, &mut c, &["sort", "s", "get", "p_*_q->f", "limit", "0", "1"]), "*1\r\n$1\r\nv\r\n");
}

#[test]
fn errors_and_types() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["set", "str", "1"]);
    run(&e, &mut c, &["hset", "h", "a", "1"]);
    assert_eq!(run(&e, &mut c, &["sort", "str"]), WRONGTYPE);
    assert_eq!(run(&e, &mut c, &["sort_ro", "h"]), WRONGTYPE);
    run(&e, &mut c, &["sadd", "s", "1"]);
    assert_eq!(run(&e, &mut c, &["sort", "s", "limit", "1"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["sort", "s", "limit", "x", "1"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(run(&e, &mut c, &["sort", "s", "bogus"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["sort", "s", "by"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["sort_ro", "s", "store", "d"]), "-ERR syntax error\r\n");
    // Options are parsed before the key is looked at.
    assert_eq!(run(&e, &mut c, &["sort", "str", "bogus"]), "-ERR syntax error\r\n");
}

#[test]
fn store_empty_results_delete_the_destination() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["set", "dst", "x"]);
    let (reply, ev, dirty) = events(&e, &mut c, &["sort", "nokey", "store", "dst"]);
    assert_eq!((reply.as_str(), ev, dirty), (":0\r\n", strs(&["g:del:dst"]), 1));
    let (reply, ev, dirty) = events(&e, &mut c, &["sort", "nokey", "store", "dst"]);
    assert_eq!((reply.as_str(), ev.len(), dirty), (":0\r\n", 0, 0));
    run(&e, &mut c, &["sadd", "s", "1", "2"]);
    run(&e, &mut c, &["set", "dst", "x"]);
    assert_eq!(run(&e, &mut c, &["sort", "s", "limit", "5", "5", "store", "dst"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "dst"]), ":0\r\n");
}

#[test]
fn key_positions() {
    let (e, _) = setup();
    let keys = |argv: &[&str]| {
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        e.commands.by_name(argv[0]).unwrap().def.key_positions(&argv)
    };
    assert_eq!(keys(&["sort", "k"]), vec![1]);
    assert_eq!(keys(&["sort", "k", "store", "d"]), vec![1, 3]);
    assert_eq!(keys(&["sort", "k", "store", "d", "store", "e"]), vec![1, 5]);
    assert_eq!(keys(&["sort", "k", "get", "store", "by", "store"]), vec![1]);
    assert_eq!(keys(&["sort", "k", "limit", "store", "x", "store", "e"]), vec![1, 6]);
    assert_eq!(keys(&["sort", "k", "store"]), vec![1]);
    assert_eq!(keys(&["sort_ro", "k", "store", "d"]), vec![1]);
}

#[test]
fn get_patterns_cannot_multiply_the_output_without_bound() {
    let (e, mut c) = setup();
    for i in 0..200 {
        run(&e, &mut c, &["sadd", "s", &i.to_string()]);
        run(&e, &mut c, &["set", &format!("v_{i}"), &"y".repeat(1000)]);
    }
    run(&e, &mut c, &["config", "set", "client-output-buffer-limit", "normal 1000000 0 0"]);
    // 200 elements x 20 GETs of 1000-byte values: 4 MB, past the 1 MB limit: the reply is
    // abandoned and the client dropped, as Valkey drops a client past its output limit.
    let mut argv = vec!["sort", "s", "by", "nosort"];
    for _ in 0..20 {
        argv.extend(["get", "v_*"]);
    }
    assert_eq!(run(&e, &mut c, &argv), "");
    assert!(c.close_after_reply);
    // Two GETs: 200 KB, within it.
    c.close_after_reply = false;
    let reply = run(&e, &mut c, &["sort", "s", "by", "nosort", "get", "v_*", "get", "#"]);
    assert!(reply.starts_with("*400\r\n"), "{}", &reply[..20]);
    assert!(!c.close_after_reply);
}

#[test]
fn lists_and_sorted_sets_sort_and_keep_their_order_by_a_constant() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["rpush", "l", "3", "1", "2", "10"]);
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "l"]), strs(&["1", "2", "3", "10"]));
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "l", "alpha", "desc"]), strs(&["3", "2", "10", "1"]));
    // BY a pattern without `*`: the list's own order, from the tail for DESC, then LIMIT.
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "l", "by", "nosort"]), strs(&["3", "1", "2", "10"]));
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "l", "by", "nosort", "desc"]), strs(&["10", "2", "1", "3"]));
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "l", "by", "nosort", "desc", "limit", "1", "2"]), strs(&["2", "1"]));
    run(&e, &mut c, &["zadd", "z", "1", "c", "2", "a", "3", "b"]);
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "z", "by", "nosort"]), strs(&["c", "a", "b"]));
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "z", "by", "nosort", "desc", "limit", "0", "2"]), strs(&["b", "a"]));
    assert_eq!(sorted_reply(&e, &mut c, &["sort", "z", "alpha"]), strs(&["a", "b", "c"]));
    // STORE makes a list (listpack while small), replacing what was there and its TTL.
    run(&e, &mut c, &["set", "dst", "x", "ex", "100"]);
    let (reply, evs, _) = events(&e, &mut c, &["sort", "l", "store", "dst"]);
    assert_eq!(reply, ":4\r\n");
    assert!(evs.iter().any(|ev| ev.contains("sortstore")), "{evs:?}");
    assert_eq!(sorted_reply(&e, &mut c, &["lrange", "dst", "0", "-1"]), strs(&["1", "2", "3", "10"]));
    assert_eq!(run(&e, &mut c, &["ttl", "dst"]), ":-1\r\n");
    assert_eq!(run(&e, &mut c, &["object", "encoding", "dst"]), "$8\r\nlistpack\r\n");
}
