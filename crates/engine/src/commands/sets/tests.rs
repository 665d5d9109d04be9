//! Unit tests of the set commands, through the dispatcher against a fresh engine.

use crate::commands::hashes::tests::{bulks, encoding, events, setup, sorted, value, WRONGTYPE};
use crate::exec::tests::run;
use resp::Value;
use std::collections::BTreeSet;

fn members(e: &crate::engine::Engine, c: &mut crate::client::Client, key: &str) -> Vec<String> {
    sorted(bulks(value(e, c, &["smembers", key])))
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn sadd_srem_scard_membership() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["sadd", "s", "a", "b", "a", "1"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["sadd", "s", "a", "c"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["scard", "s"]), ":4\r\n");
    assert_eq!(run(&e, &mut c, &["scard", "nokey"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["sismember", "s", "a"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["sismember", "s", "z"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["sismember", "nokey", "z"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["smismember", "s", "a", "z", "1"]), "*3\r\n:1\r\n:0\r\n:1\r\n");
    assert_eq!(run(&e, &mut c, &["smismember", "nokey", "a", "b"]), "*2\r\n:0\r\n:0\r\n");
    assert_eq!(members(&e, &mut c, "s"), strs(&["1", "a", "b", "c"]));
    assert_eq!(run(&e, &mut c, &["srem", "s", "a", "z", "1"]), ":2\r\n");
    assert_eq!(run(&e, &mut c, &["srem", "nokey", "a"]), ":0\r\n");
    assert_eq!(members(&e, &mut c, "s"), strs(&["b", "c"]));
    assert_eq!(run(&e, &mut c, &["smembers", "nokey"]), "*0\r\n");
    c.resp3 = true;
    assert_eq!(run(&e, &mut c, &["smembers", "nokey"]), "~0\r\n");
    assert_eq!(run(&e, &mut c, &["smembers", "s"]), "~2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    c.resp3 = false;
    // Binary members, the empty member, integers in and out of canonical form.
    assert_eq!(run(&e, &mut c, &["sadd", "b", "", "\0\r\n", "01", "1", "-0"]), ":5\r\n");
    assert_eq!(run(&e, &mut c, &["sismember", "b", "01"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["sismember", "b", "001"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["sismember", "b", ""]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["type", "b"]), "+set\r\n");
}

#[test]
fn every_command_refuses_other_types() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["set", "str", "x"]);
    run(&e, &mut c, &["sadd", "s", "a"]);
    for argv in [
        &["sadd", "str", "a"][..],
        &["srem", "str", "a"],
        &["scard", "str"],
        &["sismember", "str", "a"],
        &["smismember", "str", "a"],
        &["smembers", "str"],
        &["spop", "str"],
        &["spop", "str", "2"],
        &["srandmember", "str"],
        &["srandmember", "str", "-2"],
        &["smove", "str", "s", "a"],
        &["smove", "s", "str", "a"],
        &["smove", "s", "str", "notamember"],
        &["sinter", "s", "str"],
        &["sinter", "nokey", "str"],
        &["sintercard", "2", "s", "str"],
        &["sinterstore", "d", "s", "str"],
        &["sunion", "str", "s"],
        &["sunionstore", "d", "s", "str"],
        &["sdiff", "s", "str"],
        &["sdiffstore", "d", "nokey", "str"],
        &["sscan", "str", "0"],
        &["sscan", "str", "0", "novalues"],
    ] {
        assert_eq!(run(&e, &mut c, argv), WRONGTYPE, "{argv:?}");
    }
    // A missing source is 0 whatever the destination holds (checked before the types).
    assert_eq!(run(&e, &mut c, &["smove", "nokey", "str", "a"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "d"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["get", "s"]), WRONGTYPE);
}

#[test]
fn encodings_follow_the_configured_limits() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["config", "set", "set-max-intset-entries", "4"]);
    run(&e, &mut c, &["config", "set", "set-max-listpack-entries", "3"]);
    run(&e, &mut c, &["config", "set", "set-max-listpack-value", "5"]);
    run(&e, &mut c, &["sadd", "i", "1", "2", "3", "4"]);
    assert_eq!(encoding(&e, &mut c, "i"), "intset");
    run(&e, &mut c, &["sadd", "i", "5"]);
    assert_eq!(encoding(&e, &mut c, "i"), "hashtable");
    // intset -> listpack when a string comes and the listpack limits allow it.
    run(&e, &mut c, &["sadd", "l", "1", "2"]);
    run(&e, &mut c, &["sadd", "l", "ab"]);
    assert_eq!(encoding(&e, &mut c, "l"), "listpack");
    run(&e, &mut c, &["sadd", "l", "cd"]);
    assert_eq!(encoding(&e, &mut c, "l"), "hashtable");
    // intset -> hashtable directly when it would not fit a listpack.
    run(&e, &mut c, &["sadd", "w", "123456"]);
    run(&e, &mut c, &["sadd", "w", "a"]);
    assert_eq!(encoding(&e, &mut c, "w"), "hashtable", "an integer wider than the value limit");
    run(&e, &mut c, &["sadd", "x", "1", "2", "3"]);
    run(&e, &mut c, &["sadd", "x", "a"]);
    assert_eq!(encoding(&e, &mut c, "x"), "hashtable", "as many integers as listpack entries");
    // A long member.
    run(&e, &mut c, &["sadd", "v", "abcdef"]);
    assert_eq!(encoding(&e, &mut c, "v"), "hashtable");
    // SADD with more arguments than the limits converts up front, duplicates counted.
    run(&e, &mut c, &["sadd", "d", "a", "a", "a", "a"]);
    assert_eq!(encoding(&e, &mut c, "d"), "hashtable");
    run(&e, &mut c, &["sadd", "d2", "a"]);
    run(&e, &mut c, &["sadd", "d2", "a", "a", "a", "a"]);
    assert_eq!(encoding(&e, &mut c, "d2"), "hashtable");
    run(&e, &mut c, &["sadd", "n", "1", "1", "1", "1", "1"]);
    assert_eq!(encoding(&e, &mut c, "n"), "hashtable");
    // Never converts back while in memory.
    run(&e, &mut c, &["srem", "i", "1", "2", "3"]);
    assert_eq!(encoding(&e, &mut c, "i"), "hashtable");
    assert_eq!(members(&e, &mut c, "i"), strs(&["4", "5"]));
}

#[test]
fn srem_deletes_the_emptied_key_with_events() {
    let (e, mut c) = setup();
    let (reply, ev, dirty) = events(&e, &mut c, &["sadd", "s", "a", "b", "a"]);
    assert_eq!((reply.as_str(), ev, dirty), (":2\r\n", strs(&["n:new:s", "s:sadd:s"]), 2));
    let (reply, ev, dirty) = events(&e, &mut c, &["sadd", "s", "a"]);
    assert_eq!((reply.as_str(), ev.len(), dirty), (":0\r\n", 0, 0));
    let (reply, ev, dirty) = events(&e, &mut c, &["srem", "s", "a", "zz"]);
    assert_eq!((reply.as_str(), ev, dirty), (":1\r\n", strs(&["s:srem:s"]), 1));
    let (reply, ev, dirty) = events(&e, &mut c, &["srem", "s", "zz"]);
    assert_eq!((reply.as_str(), ev.len(), dirty), (":0\r\n", 0, 0));
    let (reply, ev, dirty) = events(&e, &mut c, &["srem", "s", "b", "a"]);
    assert_eq!((reply.as_str(), ev, dirty), (":1\r\n", strs(&["s:srem:s", "g:del:s"]), 1));
    assert_eq!(run(&e, &mut c, &["exists", "s"]), ":0\r\n");
    for enc in [&["1", "2"][..], &["a", "b"], &["a", "b", "c", "d", "e"]] {
        run(&e, &mut c, &["config", "set", "set-max-listpack-entries", "3"]);
        let mut argv = vec!["sadd", "t"];
        argv.extend_from_slice(enc);
        run(&e, &mut c, &argv);
        argv[0] = "srem";
        assert_eq!(run(&e, &mut c, &argv), format!(":{}\r\n", enc.len()));
        assert_eq!(run(&e, &mut c, &["exists", "t"]), ":0\r\n", "{enc:?}");
    }
}

#[test]
fn smove_cases_and_events() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["sadd", "src", "a", "b"]);
    run(&e, &mut c, &["sadd", "dst", "x"]);
    let (reply, ev, dirty) = events(&e, &mut c, &["smove", "src", "dst", "a"]);
    assert_eq!((reply.as_str(), ev, dirty), (":1\r\n", strs(&["s:srem:src", "s:sadd:dst"]), 2));
    // Already in the destination: removed from the source only.
    run(&e, &mut c, &["sadd", "dst", "b"]);
    let (reply, ev, dirty) = events(&e, &mut c, &["smove", "src", "dst", "b"]);
    assert_eq!((reply.as_str(), ev, dirty), (":1\r\n", strs(&["s:srem:src", "g:del:src"]), 1));
    assert_eq!(run(&e, &mut c, &["exists", "src"]), ":0\r\n");
    // Into a new key: the new set gets the member's encoding.
    run(&e, &mut c, &["sadd", "src", "7", "q"]);
    let (reply, ev, _) = events(&e, &mut c, &["smove", "src", "new", "7"]);
    assert_eq!((reply.as_str(), ev), (":1\r\n", strs(&["s:srem:src", "n:new:new", "s:sadd:new"])));
    assert_eq!(encoding(&e, &mut c, "new"), "intset");
    run(&e, &mut c, &["smove", "src", "new2", "q"]);
    assert_eq!(encoding(&e, &mut c, "new2"), "listpack");
    // Not a member, missing source, same key.
    run(&e, &mut c, &["sadd", "src", "m"]);
    let (reply, ev, dirty) = events(&e, &mut c, &["smove", "src", "dst", "zz"]);
    assert_eq!((reply.as_str(), ev.len(), dirty), (":0\r\n", 0, 0));
    assert_eq!(run(&e, &mut c, &["smove", "nokey", "dst", "a"]), ":0\r\n");
    let (reply, ev, _) = events(&e, &mut c, &["smove", "src", "src", "m"]);
    assert_eq!((reply.as_str(), ev.len()), (":1\r\n", 0));
    assert_eq!(run(&e, &mut c, &["smove", "src", "src", "zz"]), ":0\r\n");
    assert_eq!(members(&e, &mut c, "dst"), strs(&["a", "b", "x"]));
}

#[test]
fn intersection_union_difference() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["sadd", "a", "1", "2", "3", "x", "y"]);
    run(&e, &mut c, &["sadd", "b", "2", "3", "4", "y", "z"]);
    run(&e, &mut c, &["sadd", "c", "3", "y", "q"]);
    assert_eq!(sorted(bulks(value(&e, &mut c, &["sinter", "a", "b", "c"]))), strs(&["3", "y"]));
    assert_eq!(sorted(bulks(value(&e, &mut c, &["sinter", "a", "b"]))), strs(&["2", "3", "y"]));
    assert_eq!(sorted(bulks(value(&e, &mut c, &["sinter", "a", "a"]))), strs(&["1", "2", "3", "x", "y"]));
    assert_eq!(run(&e, &mut c, &["sinter", "a", "nokey"]), "*0\r\n");
    assert_eq!(
        sorted(bulks(value(&e, &mut c, &["sunion", "a", "b", "nokey"]))),
        strs(&["1", "2", "3", "4", "x", "y", "z"])
    );
    assert_eq!(run(&e, &mut c, &["sunion", "nokey"]), "*0\r\n");
    assert_eq!(sorted(bulks(value(&e, &mut c, &["sdiff", "a", "b"]))), strs(&["1", "x"]));
    assert_eq!(sorted(bulks(value(&e, &mut c, &["sdiff", "a", "b", "c"]))), strs(&["1", "x"]));
    assert_eq!(sorted(bulks(value(&e, &mut c, &["sdiff", "a", "nokey"]))), strs(&["1", "2", "3", "x", "y"]));
    assert_eq!(run(&e, &mut c, &["sdiff", "nokey", "a"]), "*0\r\n");
    assert_eq!(run(&e, &mut c, &["sdiff", "a", "b", "a"]), "*0\r\n");
    // Intsets only: SUNION and SDIFF reply sorted.
    run(&e, &mut c, &["sadd", "i1", "30", "10", "-5"]);
    run(&e, &mut c, &["sadd", "i2", "20", "10"]);
    assert_eq!(bulks(value(&e, &mut c, &["sunion", "i1", "i2"])), strs(&["-5", "10", "20", "30"]));
    assert_eq!(bulks(value(&e, &mut c, &["sdiff", "i1", "i2"])), strs(&["-5", "30"]));
    c.resp3 = true;
    assert_eq!(run(&e, &mut c, &["sinter", "i1", "i2"]), "~1\r\n$2\r\n10\r\n");
    assert_eq!(run(&e, &mut c, &["sunion", "nokey"]), "~0\r\n");
    assert_eq!(run(&e, &mut c, &["sinter", "nokey", "i1"]), "~0\r\n");
}

/// Both SDIFF algorithms, over many random inputs, against a model.
#[test]
fn sdiff_matches_a_model() {
    let (e, mut c) = setup();
    let mut rng = fastrand::Rng::with_seed(11);
    for round in 0..60 {
        let mut model: Vec<BTreeSet<String>> = Vec::new();
        for k in 0..3 {
            let key = format!("k{k}");
            run(&e, &mut c, &["del", &key]);
            let size = if k == 0 { rng.usize(0..40) } else { rng.usize(0..(5 + round * 3)) };
            let mut set = BTreeSet::new();
            for _ in 0..size {
                let m = if rng.bool() { rng.u16(..60).to_string() } else { format!("m{}", rng.u16(..60)) };
                run(&e, &mut c, &["sadd", &key, &m]);
                set.insert(m);
            }
            model.push(set);
        }
        let want: BTreeSet<String> =
            model[0].iter().filter(|m| !model[1].contains(*m) && !model[2].contains(*m)).cloned().collect();
        let got: BTreeSet<String> = bulks(value(&e, &mut c, &["sdiff", "k0", "k1", "k2"])).into_iter().collect();
        assert_eq!(got, want, "round {round}");
        let stored = run(&e, &mut c, &["sdiffstore", "d", "k0", "k1", "k2"]);
        assert_eq!(stored, format!(":{}\r\n", want.len()));
        let inter: BTreeSet<String> = model[0].intersection(&model[1]).cloned().collect();
        let got: BTreeSet<String> = bulks(value(&e, &mut c, &["sinter", "k0", "k1"])).into_iter().collect();
        assert_eq!(got, inter);
        assert_eq!(run(&e, &mut c, &["sintercard", "2", "k0", "k1"]), format!(":{}\r\n", inter.len()));
    }
}

#[test]
fn store_variants_encodings_and_events() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["config", "set", "set-max-listpack-entries", "4"]);
    run(&e, &mut c, &["sadd", "ints", "1", "2", "3"]);
    run(&e, &mut c, &["sadd", "strs", "a", "b", "1"]);
    run(&e, &mut c, &["sadd", "big", "a", "b", "c", "d", "e", "1", "2"]);
    assert_eq!(encoding(&e, &mut c, "big"), "hashtable");
    let (reply, ev, dirty) = events(&e, &mut c, &["sinterstore", "d", "big", "ints"]);
    assert_eq!((reply.as_str(), ev, dirty), (":2\r\n", strs(&["n:new:d", "s:sinterstore:d"]), 1));
    assert_eq!(encoding(&e, &mut c, "d"), "intset", "integers only: an intset, whatever the inputs");
    run(&e, &mut c, &["sinterstore", "d", "big", "strs"]);
    assert_eq!(encoding(&e, &mut c, "d"), "listpack");
    assert_eq!(members(&e, &mut c, "d"), strs(&["1", "a", "b"]));
    let (reply, ev, _) = events(&e, &mut c, &["sunionstore", "d", "ints", "strs"]);
    assert_eq!((reply.as_str(), ev), (":5\r\n", strs(&["s:sunionstore:d"])));
    assert_eq!(encoding(&e, &mut c, "d"), "hashtable");
    run(&e, &mut c, &["sunionstore", "d", "ints"]);
    assert_eq!(encoding(&e, &mut c, "d"), "intset");
    run(&e, &mut c, &["sdiffstore", "d", "big", "ints", "strs"]);
    assert_eq!(members(&e, &mut c, "d"), strs(&["c", "d", "e"]));
    assert_eq!(encoding(&e, &mut c, "d"), "listpack");
    // An empty result deletes the destination (with `del`), or leaves it absent.
    let (reply, ev, dirty) = events(&e, &mut c, &["sinterstore", "d", "ints", "nokey"]);
    assert_eq!((reply.as_str(), ev, dirty), (":0\r\n", strs(&["g:del:d"]), 1));
    let (reply, ev, dirty) = events(&e, &mut c, &["sdiffstore", "d", "ints", "ints"]);
    assert_eq!((reply.as_str(), ev.len(), dirty), (":0\r\n", 0, 0));
    // The destination is overwritten whatever it held, and loses its TTL.
    run(&e, &mut c, &["set", "d", "string"]);
    run(&e, &mut c, &["expire", "d", "100"]);
    assert_eq!(run(&e, &mut c, &["sunionstore", "d", "strs"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["ttl", "d"]), ":-1\r\n");
    assert_eq!(run(&e, &mut c, &["type", "d"]), "+set\r\n");
    // A source can be the destination.
    assert_eq!(run(&e, &mut c, &["sinterstore", "strs", "strs", "big"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["sdiffstore", "strs", "strs", "ints"]), ":2\r\n");
    assert_eq!(members(&e, &mut c, "strs"), strs(&["a", "b"]));
}

#[test]
fn sintercard_limits_and_errors() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["sadd", "a", "1", "2", "3", "4"]);
    run(&e, &mut c, &["sadd", "b", "2", "3", "4", "5"]);
    assert_eq!(run(&e, &mut c, &["sintercard", "2", "a", "b"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["sintercard", "2", "a", "b", "limit", "2"]), ":2\r\n");
    assert_eq!(run(&e, &mut c, &["sintercard", "2", "a", "b", "LIMIT", "0"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["sintercard", "1", "a", "limit", "10"]), ":4\r\n");
    assert_eq!(run(&e, &mut c, &["sintercard", "2", "a", "nokey"]), ":0\r\n");
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    assert_eq!(run(&e, &mut c, &["sintercard", "0", "a"]), numkeys);
    assert_eq!(run(&e, &mut c, &["sintercard", "x", "a"]), numkeys);
    assert_eq!(run(&e, &mut c, &["sintercard", "-1", "a"]), numkeys);
    assert_eq!(
        run(&e, &mut c, &["sintercard", "3", "a", "b"]),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
    assert_eq!(run(&e, &mut c, &["sintercard", "1", "a", "limit", "-1"]), "-ERR LIMIT can't be negative\r\n");
    assert_eq!(run(&e, &mut c, &["sintercard", "1", "a", "limit", "x"]), "-ERR LIMIT can't be negative\r\n");
    assert_eq!(run(&e, &mut c, &["sintercard", "1", "a", "limit"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["sintercard", "1", "a", "b"]), "-ERR syntax error\r\n");
    let argv: Vec<&[u8]> = ["sintercard", "2", "a", "b", "limit", "1"].iter().map(|a| a.as_bytes()).collect();
    assert_eq!(e.commands.by_name(b"sintercard").unwrap().def.key_positions(&argv), vec![2, 3]);
}

#[test]
fn srandmember_shapes() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["config", "set", "set-max-listpack-entries", "16"]);
    let nums: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    let words: Vec<String> = (0..20).map(|i| format!("w{i}")).collect();
    for (key, items, count_lp) in [("is", &nums, 20), ("lp", &words, 12), ("tb", &words, 20)] {
        let mut argv = vec!["sadd", key];
        argv.extend(items[..count_lp].iter().map(|s| s.as_str()));
        run(&e, &mut c, &argv);
    }
    assert_eq!(encoding(&e, &mut c, "is"), "intset");
    assert_eq!(encoding(&e, &mut c, "lp"), "listpack");
    assert_eq!(encoding(&e, &mut c, "tb"), "hashtable");
    for (key, size) in [("is", 20usize), ("lp", 12), ("tb", 20)] {
        let all: BTreeSet<String> = bulks(value(&e, &mut c, &["smembers", key])).into_iter().collect();
        assert_eq!(all.len(), size);
        let mut seen = BTreeSet::new();
        for _ in 0..100 {
            for (count, len, unique) in
                [(1i64, 1, true), (2, 2, true), (7, 7, true), (11, 11, true), (100, size, true), (-30, 30, false)]
            {
                let got = bulks(value(&e, &mut c, &["srandmember", key, &count.to_string()]));
                assert_eq!(got.len(), len, "{key} {count}");
                assert!(got.iter().all(|m| all.contains(m)));
                if unique {
                    assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), len);
                }
                seen.extend(got);
            }
            match value(&e, &mut c, &["srandmember", key]) {
                Value::Bulk(b) => assert!(all.contains(&String::from_utf8(b).unwrap())),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(seen, all, "{key}: every member shows up");
    }
    c.resp3 = true;
    assert_eq!(run(&e, &mut c, &["srandmember", "nokey", "3"]), "*0\r\n");
    assert_eq!(run(&e, &mut c, &["srandmember", "nokey"]), "_\r\n");
    assert!(run(&e, &mut c, &["srandmember", "lp", "3"]).starts_with("*3\r\n"));
    c.resp3 = false;
    assert_eq!(run(&e, &mut c, &["srandmember", "nokey"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["srandmember", "lp", "0"]), "*0\r\n");
    assert_eq!(run(&e, &mut c, &["srandmember", "lp", "1", "2"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["srandmember", "lp", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(
        run(&e, &mut c, &["srandmember", "lp", "-9223372036854775808"]),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    // The count is checked before the key.
    run(&e, &mut c, &["set", "str", "x"]);
    assert_eq!(run(&e, &mut c, &["srandmember", "str", "x"]), "-ERR value is not an integer or out of range\r\n");
    // A huge negative count stops at the output limit and drops the client.
    run(&e, &mut c, &["config", "set", "client-output-buffer-limit", "normal 65536 0 0"]);
    assert_eq!(run(&e, &mut c, &["srandmember", "lp", "-100000000000"]), "");
    assert!(c.close_after_reply);
}

#[test]
fn spop_cases() {
    let (e, mut c) = setup();
    // Without a count.
    run(&e, &mut c, &["sadd", "s", "a", "b"]);
    let (reply, ev, dirty) = events(&e, &mut c, &["spop", "s"]);
    assert!(reply == "$1\r\na\r\n" || reply == "$1\r\nb\r\n", "{reply}");
    assert_eq!((ev, dirty), (strs(&["s:spop:s"]), 1));
    let (_, ev, dirty) = events(&e, &mut c, &["spop", "s"]);
    assert_eq!((ev, dirty), (strs(&["s:spop:s", "g:del:s"]), 1));
    assert_eq!(run(&e, &mut c, &["spop", "s"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["spop", "s", "3"]), "*0\r\n");
    // Count zero, count errors.
    run(&e, &mut c, &["sadd", "s", "a", "b", "c"]);
    let (reply, ev, _) = events(&e, &mut c, &["spop", "s", "0"]);
    assert_eq!((reply.as_str(), ev.len()), ("*0\r\n", 0));
    let positive = "-ERR value is out of range, must be positive\r\n";
    assert_eq!(run(&e, &mut c, &["spop", "s", "-1"]), positive);
    assert_eq!(run(&e, &mut c, &["spop", "s", "x"]), positive);
    assert_eq!(run(&e, &mut c, &["spop", "nokey", "x"]), positive);
    assert_eq!(run(&e, &mut c, &["spop", "s", "1", "2"]), "-ERR syntax error\r\n");
    // The whole set: the key goes, spop then del.
    let (reply, ev, dirty) = events(&e, &mut c, &["spop", "s", "10"]);
    assert_eq!(sorted(bulks(Value::parse(reply.as_bytes()).unwrap().0)), strs(&["a", "b", "c"]));
    assert_eq!((ev, dirty), (strs(&["s:spop:s", "g:del:s"]), 3));
    c.resp3 = true;
    run(&e, &mut c, &["sadd", "s", "1", "2", "3"]);
    assert_eq!(run(&e, &mut c, &["spop", "s", "5"]), "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    assert_eq!(run(&e, &mut c, &["spop", "s", "5"]), "~0\r\n");
    c.resp3 = false;
}

/// SPOP with a count in every encoding and both strategies: the reply holds distinct former
/// members, the set keeps exactly the rest, and the encoding follows Valkey's.
#[test]
fn spop_with_count_removes_exactly_what_it_returns() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["config", "set", "set-max-listpack-entries", "64"]);
    let cases: [(&str, Vec<String>); 3] = [
        ("is", (0..50).map(|i| (i * 1000).to_string()).collect()),
        ("lp", (0..50).map(|i| format!("m{i}")).collect()),
        ("tb", (0..200).map(|i| format!("m{i}")).collect()),
    ];
    for (key, items) in &cases {
        for count in [1usize, 3, 10, 40, 45, 49] {
            run(&e, &mut c, &["del", key]);
            let mut argv = vec!["sadd", key];
            argv.extend(items.iter().map(|s| s.as_str()));
            run(&e, &mut c, &argv);
            let before: BTreeSet<String> = items.iter().cloned().collect();
            let size = items.len();
            let count = count * size / 50;
            let (reply, ev, dirty) = events(&e, &mut c, &["spop", key, &count.to_string()]);
            let popped = bulks(Value::parse(reply.as_bytes()).unwrap().0);
            assert_eq!(popped.len(), count, "{key} {count}");
            let popped_set: BTreeSet<String> = popped.iter().cloned().collect();
            assert_eq!(popped_set.len(), count, "distinct");
            assert!(popped_set.is_subset(&before));
            let left: BTreeSet<String> = bulks(value(&e, &mut c, &["smembers", key])).into_iter().collect();
            assert_eq!(left, before.difference(&popped_set).cloned().collect::<BTreeSet<_>>(), "{key} {count}");
            assert_eq!((ev, dirty), (vec![format!("s:spop:{key}")], count as u64));
            let remaining = size - count;
            let want = match *key {
                "is" => "intset",
                "lp" => "listpack",
                // Few left: rebuilt as a new set, a listpack when it fits one (Valkey's case 3).
                _ if remaining * 5 <= count && remaining <= 64 => "listpack",
                _ => "hashtable",
            };
            assert_eq!(encoding(&e, &mut c, key), want, "{key} {count}");
        }
    }
}

#[test]
fn sscan_every_encoding() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["sadd", "is", "3", "1", "2"]);
    assert_eq!(run(&e, &mut c, &["sscan", "is", "0"]), "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    assert_eq!(
        run(&e, &mut c, &["sscan", "is", "0", "match", "[12]"]),
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
    run(&e, &mut c, &["sadd", "lp", "foo", "bar", "baz"]);
    assert_eq!(
        run(&e, &mut c, &["sscan", "lp", "123", "match", "ba*", "count", "1"]),
        "*2\r\n$1\r\n0\r\n*2\r\n$3\r\nbar\r\n$3\r\nbaz\r\n"
    );
    assert_eq!(
        run(&e, &mut c, &["sscan", "lp", "0", "novalues"]),
        "-ERR NOVALUES option can only be used in HSCAN\r\n"
    );
    assert_eq!(run(&e, &mut c, &["sscan", "lp", "x"]), "-ERR invalid cursor\r\n");
    assert_eq!(run(&e, &mut c, &["sscan", "nokey", "0", "bogus"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    for i in 0..500 {
        run(&e, &mut c, &["sadd", "tb", &format!("m{i}")]);
    }
    assert_eq!(encoding(&e, &mut c, "tb"), "hashtable");
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    loop {
        let Value::Array(parts) = value(&e, &mut c, &["sscan", "tb", &cursor, "count", "7"]) else { panic!() };
        let Value::Bulk(next) = &parts[0] else { panic!() };
        cursor = String::from_utf8(next.clone()).unwrap();
        seen.extend(bulks(parts[1].clone()));
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
}

#[test]
fn dump_and_restore_every_encoding() {
    use crate::commands::strings::tests::run_bytes;
    let (e, mut c) = setup();
    run(&e, &mut c, &["sadd", "is", "1", "-70000", "3"]);
    run(&e, &mut c, &["sadd", "lp", "a", "12", ""]);
    for i in 0..300 {
        run(&e, &mut c, &["sadd", "tb", &format!("m{i}")]);
    }
    for (key, enc) in [("is", "intset"), ("lp", "listpack"), ("tb", "hashtable")] {
        assert_eq!(encoding(&e, &mut c, key), enc);
        let Value::Bulk(payload) = Value::parse(&run_bytes(&e, &mut c, &[b"dump", key.as_bytes()])).unwrap().0 else {
            panic!()
        };
        let copy = format!("{key}-copy");
        assert_eq!(run_bytes(&e, &mut c, &[b"restore", copy.as_bytes(), b"0", &payload]), b"+OK\r\n");
        assert_eq!(members(&e, &mut c, &copy), members(&e, &mut c, key));
        assert_eq!(encoding(&e, &mut c, &copy), enc);
        // The dump of the copy is the same bytes.
        let Value::Bulk(again) = Value::parse(&run_bytes(&e, &mut c, &[b"dump", copy.as_bytes()])).unwrap().0 else {
            panic!()
        };
        if key != "tb" {
            assert_eq!(again, payload, "{key}");
        }
    }
}

/// What replicas receive: SPOP as the SREMs (or the UNLINK) it amounts to, HINCRBYFLOAT as
/// the HSET of its result, the rest as called.
#[test]
fn replicas_get_valkeys_rewrites() {
    let (e, mut c) = setup();
    let sink = crate::propagate::Sink::new();
    e.propagation.attach(sink.clone());
    let stream = |sink: &crate::propagate::Sink| -> Vec<Vec<String>> {
        let bytes = sink.take();
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let (v, used) = Value::parse(&bytes[at..]).unwrap();
            at += used;
            out.push(bulks(v));
        }
        out.into_iter().filter(|cmd| cmd[0] != "SELECT").collect()
    };
    run(&e, &mut c, &["sadd", "s", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
    assert_eq!(stream(&sink), vec![strs(&["sadd", "s", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])]);
    let Value::Bulk(one) = value(&e, &mut c, &["spop", "s"]) else { panic!() };
    assert_eq!(stream(&sink), vec![vec!["SREM".to_string(), "s".to_string(), String::from_utf8(one).unwrap()]]);
    // Few taken (one by one) and most taken (the rest kept): SREM of exactly what came back.
    for count in ["1", "7"] {
        let popped = sorted(bulks(value(&e, &mut c, &["spop", "s", count])));
        let got = stream(&sink);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0][..2], strs(&["SREM", "s"]));
        assert_eq!(sorted(got[0][2..].to_vec()), popped);
    }
    run(&e, &mut c, &["spop", "s", "10"]);
    assert_eq!(stream(&sink), vec![strs(&["UNLINK", "s"])]);
    run(&e, &mut c, &["config", "set", "lazyfree-lazy-server-del", "no"]);
    run(&e, &mut c, &["sadd", "s", "x"]);
    run(&e, &mut c, &["spop", "s", "1"]);
    assert_eq!(stream(&sink)[1], strs(&["DEL", "s"]));
    // Nothing popped, nothing sent.
    run(&e, &mut c, &["spop", "s", "3"]);
    run(&e, &mut c, &["spop", "s"]);
    assert!(stream(&sink).is_empty());
    // A big SPOP goes in batches of 1024 members, as one transaction.
    let members: Vec<String> = (0..3000).map(|i| format!("m{i}")).collect();
    let mut argv = vec!["sadd", "big"];
    argv.extend(members.iter().map(|m| m.as_str()));
    run(&e, &mut c, &argv);
    stream(&sink);
    assert_eq!(bulks(value(&e, &mut c, &["spop", "big", "2500"])).len(), 2500);
    let got = stream(&sink);
    let sizes: Vec<usize> = got.iter().map(|cmd| cmd.len()).collect();
    assert_eq!(sizes, vec![1, 1026, 1026, 454, 1], "{:?}", got.iter().map(|c| &c[0]).collect::<Vec<_>>());
    assert_eq!((got[0][0].as_str(), got[4][0].as_str()), ("MULTI", "EXEC"));
    // HINCRBYFLOAT sends its result.
    run(&e, &mut c, &["hincrbyfloat", "h", "f", "1.5"]);
    run(&e, &mut c, &["hincrbyfloat", "h", "f", "0.25"]);
    assert_eq!(stream(&sink), vec![strs(&["HSET", "h", "f", "1.5"]), strs(&["HSET", "h", "f", "1.75"])]);
}
