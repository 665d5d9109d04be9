//! Unit tests of the hash commands, run through the dispatcher against a fresh engine, and the
//! helpers the other collection families' tests share (events, parsed replies, encodings).

use crate::client::Client;
use crate::commands::Ctx;
use crate::db::Keys;
use crate::engine::Engine;
use crate::exec::tests::{client, run};
use crate::keyspace::LockSet;
use resp::{Reply, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub(crate) fn setup() -> (Arc<Engine>, Client) {
    let e = Engine::for_tests();
    let c = client(&e);
    (e, c)
}

/// Runs a command and parses its reply.
pub(crate) fn value(e: &Engine, c: &mut Client, argv: &[&str]) -> Value {
    let raw = run(e, c, argv);
    Value::parse(raw.as_bytes()).unwrap_or_else(|err| panic!("unparsable reply {raw:?}: {err:?}")).0
}

/// The bulk strings of an array (or set) reply, in order.
pub(crate) fn bulks(v: Value) -> Vec<String> {
    match v {
        Value::Array(items) | Value::Set(items) => items
            .into_iter()
            .map(|i| match i {
                Value::Bulk(b) => String::from_utf8(b).unwrap(),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

pub(crate) fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

pub(crate) fn encoding(e: &Engine, c: &mut Client, key: &str) -> String {
    match value(e, c, &["object", "encoding", key]) {
        Value::Bulk(b) => String::from_utf8(b).unwrap(),
        other => panic!("no encoding for {key}: {other:?}"),
    }
}

/// Runs a command's handler with its keys locked, every event class on (new included), and
/// returns its reply, its events as `class:event:key` and its `dirty` increment.
pub(crate) fn events(e: &Engine, c: &mut Client, argv: &[&str]) -> (String, Vec<String>, u64) {
    e.config.set("notify-keyspace-events", &[b"KEAn"]).unwrap();
    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    let cmd = e.commands.by_name(argv[0]).expect("known command");
    let mut set = LockSet::new();
    match cmd.def.lock {
        crate::commands::table::Lock::Db => set.add_db(c.db),
        _ => {
            for i in cmd.def.key_positions(&argv) {
                set.add_key(c.db, argv[i]);
            }
        }
    }
    let keys = Keys::new(e, e.keyspace.lock(&set), c.db, crate::util::now_ms(), true);
    let mut buf = Reply::new(c.resp3);
    let mut ctx = Ctx { keys, out: &mut buf, client: c, engine: e, cmd };
    let result = (cmd.def.handler.unwrap())(&mut ctx, &argv);
    let Ctx { keys, out, .. } = ctx;
    let effects = keys.finish();
    if let Err(err) = result {
        out.truncate(0);
        out.error_bytes(err.text());
    }
    let class = |c: u32| match c {
        crate::notify::GENERIC => "g",
        crate::notify::STRING => "$",
        crate::notify::LIST => "l",
        crate::notify::SET => "s",
        crate::notify::HASH => "h",
        crate::notify::ZSET => "z",
        crate::notify::NEW => "n",
        _ => "?",
    };
    let events = effects
        .events
        .iter()
        .map(|ev| format!("{}:{}:{}", class(ev.class), ev.event, String::from_utf8_lossy(&ev.key)))
        .collect();
    e.config.set("notify-keyspace-events", &[b""]).unwrap();
    (String::from_utf8_lossy(out.as_bytes()).into_owned(), events, effects.dirty)
}

pub(crate) const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

fn pairs_of(v: Value) -> BTreeMap<String, String> {
    let flat = match v {
        Value::Map(p) => p.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        Value::Array(items) => items,
        other => panic!("not a map: {other:?}"),
    };
    let s: Vec<String> = bulks(Value::Array(flat));
    s.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect()
}

#[test]
fn hset_hget_hmget_hmset() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["hset", "h", "a", "1", "b", "2"]), ":2\r\n");
    assert_eq!(run(&e, &mut c, &["hset", "h", "a", "3", "c", "x"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["hget", "h", "a"]), "$1\r\n3\r\n");
    assert_eq!(run(&e, &mut c, &["hget", "h", "zz"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["hget", "nokey", "a"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["hmget", "h", "a", "zz", "c"]), "*3\r\n$1\r\n3\r\n$-1\r\n$1\r\nx\r\n");
    assert_eq!(run(&e, &mut c, &["hmget", "nokey", "a", "b"]), "*2\r\n$-1\r\n$-1\r\n");
    assert_eq!(run(&e, &mut c, &["hmset", "h", "d", "4"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["HMSET", "h", "d", "4"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["HSET", "h", "d", "5"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["hlen", "h"]), ":4\r\n");
    assert_eq!(run(&e, &mut c, &["hlen", "nokey"]), ":0\r\n");
    // An odd number of field/value arguments is an arity error, after the table's check.
    assert_eq!(run(&e, &mut c, &["hset", "h", "a", "1", "b"]), "-ERR wrong number of arguments for 'hset' command\r\n");
    assert_eq!(
        run(&e, &mut c, &["hmset", "h", "a", "1", "b"]),
        "-ERR wrong number of arguments for 'hmset' command\r\n"
    );
    assert_eq!(run(&e, &mut c, &["hset", "h", "a"]), "-ERR wrong number of arguments for 'hset' command\r\n");
    // Binary-safe fields and values; integers come back in decimal.
    assert_eq!(run(&e, &mut c, &["hset", "b", "\0\r\n", "-12", "", ""]), ":2\r\n");
    assert_eq!(run(&e, &mut c, &["hget", "b", "\0\r\n"]), "$3\r\n-12\r\n");
    assert_eq!(run(&e, &mut c, &["hget", "b", ""]), "$0\r\n\r\n");
}

#[test]
fn every_command_refuses_other_types() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["set", "s", "x"]);
    for argv in [
        &["hset", "s", "a", "1"][..],
        &["hmset", "s", "a", "1"],
        &["hsetnx", "s", "a", "1"],
        &["hget", "s", "a"],
        &["hmget", "s", "a"],
        &["hdel", "s", "a"],
        &["hlen", "s"],
        &["hstrlen", "s", "a"],
        &["hexists", "s", "a"],
        &["hkeys", "s"],
        &["hvals", "s"],
        &["hgetall", "s"],
        &["hincrby", "s", "a", "1"],
        &["hincrbyfloat", "s", "a", "1"],
        &["hrandfield", "s"],
        &["hrandfield", "s", "2"],
        &["hrandfield", "s", "-2", "withvalues"],
        &["hscan", "s", "0"],
        // The type is checked before the options.
        &["hscan", "s", "0", "count", "0"],
    ] {
        assert_eq!(run(&e, &mut c, argv), WRONGTYPE, "{argv:?}");
    }
    assert_eq!(run(&e, &mut c, &["get", "s"]), "$1\r\nx\r\n");
    // And a hash is not a string.
    run(&e, &mut c, &["hset", "h", "a", "1"]);
    assert_eq!(run(&e, &mut c, &["get", "h"]), WRONGTYPE);
    assert_eq!(run(&e, &mut c, &["type", "h"]), "+hash\r\n");
}

#[test]
fn listpack_converts_at_the_configured_limits() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["config", "set", "hash-max-listpack-entries", "4"]);
    run(&e, &mut c, &["config", "set", "hash-max-listpack-value", "8"]);
    for (i, f) in ["a", "b", "c", "d"].iter().enumerate() {
        run(&e, &mut c, &["hset", "h", f, &i.to_string()]);
    }
    assert_eq!(encoding(&e, &mut c, "h"), "listpack");
    run(&e, &mut c, &["hset", "h", "a", "12345678"]);
    assert_eq!(encoding(&e, &mut c, "h"), "listpack", "updates do not count, 8 bytes fit");
    run(&e, &mut c, &["hset", "h", "e", "5"]);
    assert_eq!(encoding(&e, &mut c, "h"), "hashtable");
    // Never back, even when small again.
    run(&e, &mut c, &["hdel", "h", "a", "b", "c", "d"]);
    assert_eq!(encoding(&e, &mut c, "h"), "hashtable");
    assert_eq!(run(&e, &mut c, &["hgetall", "h"]), "*2\r\n$1\r\ne\r\n$1\r\n5\r\n");
    // A long value, a long field.
    run(&e, &mut c, &["hset", "v", "f", "123456789"]);
    assert_eq!(encoding(&e, &mut c, "v"), "hashtable");
    run(&e, &mut c, &["hset", "f", "123456789", "v"]);
    assert_eq!(encoding(&e, &mut c, "f"), "hashtable");
    // More pairs in one HSET than the limit converts up front, duplicates counted (Valkey's
    // hashTypeTryConversion).
    run(&e, &mut c, &["hset", "dup", "x", "1", "x", "2", "x", "3", "x", "4", "x", "5"]);
    assert_eq!(run(&e, &mut c, &["hlen", "dup"]), ":1\r\n");
    assert_eq!(encoding(&e, &mut c, "dup"), "hashtable");
    // HSETNX and HINCRBYFLOAT results longer than the value limit convert too.
    run(&e, &mut c, &["hsetnx", "nx", "f", "123456789"]);
    assert_eq!(encoding(&e, &mut c, "nx"), "hashtable");
    run(&e, &mut c, &["hset", "fl", "f", "1"]);
    run(&e, &mut c, &["hincrbyfloat", "fl", "f", "0.123456789"]);
    assert_eq!(encoding(&e, &mut c, "fl"), "hashtable");
    assert_eq!(run(&e, &mut c, &["hget", "fl", "f"]), "$11\r\n1.123456789\r\n");
}

#[test]
fn hdel_removes_fields_and_the_emptied_key() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["hset", "h", "a", "1", "b", "2", "c", "3"]);
    let (reply, ev, dirty) = events(&e, &mut c, &["hdel", "h", "a", "zz", "b"]);
    assert_eq!((reply.as_str(), ev, dirty), (":2\r\n", vec!["h:hdel:h".to_string()], 2));
    let (reply, ev, dirty) = events(&e, &mut c, &["hdel", "h", "c", "c", "zz"]);
    assert_eq!(reply, ":1\r\n");
    assert_eq!(ev, vec!["h:hdel:h", "g:del:h"]);
    assert_eq!(dirty, 1);
    assert_eq!(run(&e, &mut c, &["exists", "h"]), ":0\r\n");
    let (reply, ev, dirty) = events(&e, &mut c, &["hdel", "h", "c"]);
    assert_eq!((reply.as_str(), ev.len(), dirty), (":0\r\n", 0, 0));
    run(&e, &mut c, &["hset", "h", "a", "1"]);
    let (reply, ev, _) = events(&e, &mut c, &["hdel", "h", "zz"]);
    assert_eq!((reply.as_str(), ev.len()), (":0\r\n", 0));
    // Also from the table encoding.
    run(&e, &mut c, &["config", "set", "hash-max-listpack-entries", "1"]);
    run(&e, &mut c, &["hset", "t", "a", "1", "b", "2"]);
    assert_eq!(encoding(&e, &mut c, "t"), "hashtable");
    assert_eq!(run(&e, &mut c, &["hdel", "t", "a", "b"]), ":2\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "t"]), ":0\r\n");
}

#[test]
fn write_events_and_dirty() {
    let (e, mut c) = setup();
    let (reply, ev, dirty) = events(&e, &mut c, &["hset", "h", "a", "1", "b", "2"]);
    assert_eq!((reply.as_str(), ev, dirty), (":2\r\n", vec!["n:new:h".to_string(), "h:hset:h".to_string()], 2));
    // HSET counts every pair in dirty, even an unchanged one, and always reports.
    let (reply, ev, dirty) = events(&e, &mut c, &["hset", "h", "a", "1"]);
    assert_eq!((reply.as_str(), ev, dirty), (":0\r\n", vec!["h:hset:h".to_string()], 1));
    let (reply, ev, dirty) = events(&e, &mut c, &["hsetnx", "h", "a", "9"]);
    assert_eq!((reply.as_str(), ev.len(), dirty), (":0\r\n", 0, 0));
    let (reply, ev, dirty) = events(&e, &mut c, &["hsetnx", "h", "c", "9"]);
    assert_eq!((reply.as_str(), ev, dirty), (":1\r\n", vec!["h:hset:h".to_string()], 1));
    let (_, ev, _) = events(&e, &mut c, &["hsetnx", "new", "c", "9"]);
    assert_eq!(ev, vec!["n:new:new", "h:hset:new"]);
    let (_, ev, _) = events(&e, &mut c, &["hincrby", "h", "n", "5"]);
    assert_eq!(ev, vec!["h:hincrby:h"]);
    let (_, ev, _) = events(&e, &mut c, &["hincrbyfloat", "h2", "n", "5"]);
    assert_eq!(ev, vec!["n:new:h2", "h:hincrbyfloat:h2"]);
    // Failures report nothing and create nothing.
    let (reply, ev, dirty) = events(&e, &mut c, &["hincrby", "h", "a", "x"]);
    assert_eq!((reply.as_str(), ev.len(), dirty), ("-ERR value is not an integer or out of range\r\n", 0, 0));
    let (_, ev, _) = events(&e, &mut c, &["hincrbyfloat", "nothere", "n", "inf"]);
    assert!(ev.is_empty());
    assert_eq!(run(&e, &mut c, &["exists", "nothere"]), ":0\r\n");
}

#[test]
fn hsetnx_hexists_hstrlen() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["hsetnx", "h", "a", "1"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["hsetnx", "h", "a", "2"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["hget", "h", "a"]), "$1\r\n1\r\n");
    assert_eq!(run(&e, &mut c, &["hexists", "h", "a"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["hexists", "h", "b"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["hexists", "nokey", "b"]), ":0\r\n");
    run(&e, &mut c, &["hset", "h", "n", "-9223372036854775808", "s", "hello", "e", ""]);
    assert_eq!(run(&e, &mut c, &["hstrlen", "h", "n"]), ":20\r\n");
    assert_eq!(run(&e, &mut c, &["hstrlen", "h", "s"]), ":5\r\n");
    assert_eq!(run(&e, &mut c, &["hstrlen", "h", "e"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["hstrlen", "h", "zz"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["hstrlen", "nokey", "zz"]), ":0\r\n");
}

#[test]
fn hkeys_hvals_hgetall_in_both_protocols() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["hset", "h", "a", "1", "b", "x"]);
    assert_eq!(run(&e, &mut c, &["hkeys", "h"]), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    assert_eq!(run(&e, &mut c, &["hvals", "h"]), "*2\r\n$1\r\n1\r\n$1\r\nx\r\n");
    assert_eq!(run(&e, &mut c, &["hgetall", "h"]), "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\nx\r\n");
    assert_eq!(run(&e, &mut c, &["hgetall", "nokey"]), "*0\r\n");
    assert_eq!(run(&e, &mut c, &["hkeys", "nokey"]), "*0\r\n");
    c.resp3 = true;
    assert_eq!(run(&e, &mut c, &["hgetall", "h"]), "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\nx\r\n");
    assert_eq!(run(&e, &mut c, &["hgetall", "nokey"]), "%0\r\n");
    assert_eq!(run(&e, &mut c, &["hvals", "nokey"]), "*0\r\n");
    assert_eq!(run(&e, &mut c, &["hget", "nokey", "a"]), "_\r\n");
    // Table encoding: same contents, any order.
    c.resp3 = false;
    run(&e, &mut c, &["config", "set", "hash-max-listpack-entries", "0"]);
    run(&e, &mut c, &["hset", "t", "a", "1", "b", "x"]);
    assert_eq!(encoding(&e, &mut c, "t"), "hashtable");
    assert_eq!(pairs_of(value(&e, &mut c, &["hgetall", "t"])), pairs_of(value(&e, &mut c, &["hgetall", "h"])));
    assert_eq!(sorted(bulks(value(&e, &mut c, &["hkeys", "t"]))), vec!["a", "b"]);
}

#[test]
fn hincrby_cases() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["hincrby", "h", "n", "5"]), ":5\r\n");
    assert_eq!(run(&e, &mut c, &["hincrby", "h", "n", "-7"]), ":-2\r\n");
    run(&e, &mut c, &["hset", "h", "big", "9223372036854775800", "s", "abc", "sp", " 1", "f", "1.5"]);
    assert_eq!(run(&e, &mut c, &["hincrby", "h", "big", "7"]), ":9223372036854775807\r\n");
    assert_eq!(run(&e, &mut c, &["hincrby", "h", "big", "1"]), "-ERR increment or decrement would overflow\r\n");
    run(&e, &mut c, &["hset", "h", "small", "-9223372036854775800"]);
    assert_eq!(run(&e, &mut c, &["hincrby", "h", "small", "-9"]), "-ERR increment or decrement would overflow\r\n");
    for f in ["s", "sp", "f"] {
        assert_eq!(run(&e, &mut c, &["hincrby", "h", f, "1"]), "-ERR hash value is not an integer\r\n", "{f}");
    }
    // The increment is parsed first: a bad one is reported even for a wrong-type key.
    run(&e, &mut c, &["set", "str", "1"]);
    assert_eq!(run(&e, &mut c, &["hincrby", "str", "n", "1.5"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(run(&e, &mut c, &["hincrby", "str", "n", "1"]), WRONGTYPE);
    assert_eq!(run(&e, &mut c, &["hget", "h", "big"]), "$19\r\n9223372036854775807\r\n");
    // A value stored as a string of digits (a table) works the same.
    run(&e, &mut c, &["config", "set", "hash-max-listpack-entries", "0"]);
    run(&e, &mut c, &["hset", "t", "n", "41"]);
    assert_eq!(run(&e, &mut c, &["hincrby", "t", "n", "1"]), ":42\r\n");
}

#[test]
fn hincrbyfloat_cases() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["hincrbyfloat", "h", "f", "10.5"]), "$4\r\n10.5\r\n");
    assert_eq!(run(&e, &mut c, &["hincrbyfloat", "h", "f", "0.1"]), "$4\r\n10.6\r\n");
    assert_eq!(run(&e, &mut c, &["hincrbyfloat", "h", "f", "-10.6"]), "$1\r\n0\r\n");
    run(&e, &mut c, &["hset", "h", "i", "17179869184", "s", "abc", "big", "1.1e4932"]);
    assert_eq!(run(&e, &mut c, &["hincrbyfloat", "h", "i", "1.5"]), "$13\r\n17179869185.5\r\n");
    assert_eq!(run(&e, &mut c, &["hincrbyfloat", "h", "s", "1"]), "-ERR hash value is not a float\r\n");
    assert_eq!(run(&e, &mut c, &["hincrbyfloat", "h", "f", "x"]), "-ERR value is not a valid float\r\n");
    assert_eq!(run(&e, &mut c, &["hincrbyfloat", "h", "f", "inf"]), "-ERR value is NaN or Infinity\r\n");
    assert_eq!(run(&e, &mut c, &["hincrbyfloat", "h", "f", "nan"]), "-ERR value is not a valid float\r\n");
    assert_eq!(
        run(&e, &mut c, &["hincrbyfloat", "h", "big", "1.1e4932"]),
        "-ERR increment would produce NaN or Infinity\r\n"
    );
    // Argument errors come before the type check.
    run(&e, &mut c, &["set", "str", "1"]);
    assert_eq!(run(&e, &mut c, &["hincrbyfloat", "str", "f", "-inf"]), "-ERR value is NaN or Infinity\r\n");
    assert_eq!(run(&e, &mut c, &["hincrbyfloat", "str", "f", "1"]), WRONGTYPE);
}

/// HRANDFIELD over every shape: counts of each sign, with and without values, both encodings,
/// both protocols. Replies are checked for size, membership, uniqueness and pairing.
#[test]
fn hrandfield_shapes() {
    let (e, mut c) = setup();
    let fields: Vec<String> = (0..10).map(|i| format!("f{i}")).collect();
    let mut argv = vec!["hset".to_string(), "lp".to_string()];
    for f in &fields {
        argv.push(f.clone());
        argv.push(format!("v{}", &f[1..]));
    }
    let argv_ref: Vec<&str> = argv.iter().map(|s| s.as_str()).collect();
    run(&e, &mut c, &argv_ref);
    run(&e, &mut c, &["config", "set", "hash-max-listpack-entries", "5"]);
    let mut argv_t = argv_ref.clone();
    argv_t[1] = "tb";
    run(&e, &mut c, &argv_t);
    assert_eq!(encoding(&e, &mut c, "lp"), "listpack");
    assert_eq!(encoding(&e, &mut c, "tb"), "hashtable");
    let all: BTreeSet<String> = fields.iter().cloned().collect();
    for key in ["lp", "tb"] {
        for _ in 0..20 {
            let one = match value(&e, &mut c, &["hrandfield", key]) {
                Value::Bulk(b) => String::from_utf8(b).unwrap(),
                other => panic!("{other:?}"),
            };
            assert!(all.contains(&one));
            for (count, expect_len, unique) in
                [("3", 3, true), ("9", 9, true), ("1", 1, true), ("10", 10, true), ("50", 10, true), ("-30", 30, false)]
            {
                let got = bulks(value(&e, &mut c, &["hrandfield", key, count]));
                assert_eq!(got.len(), expect_len, "{key} {count}");
                assert!(got.iter().all(|f| all.contains(f)));
                if unique {
                    assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), expect_len, "{key} {count}: {got:?}");
                }
                let flat = bulks(value(&e, &mut c, &["hrandfield", key, count, "WITHVALUES"]));
                assert_eq!(flat.len(), expect_len * 2);
                for p in flat.chunks(2) {
                    assert_eq!(p[1], format!("v{}", &p[0][1..]), "pair {p:?}");
                }
            }
        }
        // RESP3: WITHVALUES gives an array of [field, value] pairs.
        c.resp3 = true;
        for count in ["4", "-4", "20"] {
            match value(&e, &mut c, &["hrandfield", key, count, "withvalues"]) {
                Value::Array(items) => {
                    assert_eq!(items.len(), if count == "20" { 10 } else { 4 });
                    for item in items {
                        let p = bulks(item);
                        assert_eq!(p.len(), 2);
                        assert_eq!(p[1], format!("v{}", &p[0][1..]));
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(run(&e, &mut c, &["hrandfield", key, "0", "withvalues"]), "*0\r\n");
        c.resp3 = false;
    }
    // Every field shows up eventually, in both encodings (not a fixed answer).
    for key in ["lp", "tb"] {
        let mut seen = BTreeSet::new();
        for _ in 0..200 {
            seen.extend(bulks(value(&e, &mut c, &["hrandfield", key, "2"])));
        }
        assert_eq!(seen, all, "{key}");
    }
    assert_eq!(run(&e, &mut c, &["hrandfield", "nokey"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["hrandfield", "nokey", "5"]), "*0\r\n");
    assert_eq!(run(&e, &mut c, &["hrandfield", "nokey", "-5", "withvalues"]), "*0\r\n");
    assert_eq!(run(&e, &mut c, &["hrandfield", "lp", "0"]), "*0\r\n");
}

#[test]
fn hrandfield_argument_errors() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["hset", "h", "a", "1"]);
    let out_of_range = "-ERR value is out of range\r\n";
    assert_eq!(run(&e, &mut c, &["hrandfield", "h", "-9223372036854770000", "withvalues"]), out_of_range);
    assert_eq!(run(&e, &mut c, &["hrandfield", "h", "-9223372036854775808", "withvalues"]), {
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    });
    assert_eq!(
        run(&e, &mut c, &["hrandfield", "h", "-9223372036854775808"]),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(run(&e, &mut c, &["hrandfield", "h", "4611686018427387904", "withvalues"]), out_of_range);
    assert_eq!(run(&e, &mut c, &["hrandfield", "h", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(run(&e, &mut c, &["hrandfield", "h", "1", "withscores"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["hrandfield", "h", "1", "withvalues", "x"]), "-ERR syntax error\r\n");
    // Argument errors come before the key lookup.
    assert_eq!(run(&e, &mut c, &["hrandfield", "nokey", "1", "x"]), "-ERR syntax error\r\n");
    // A huge count of a hash with one field: the whole hash.
    assert_eq!(run(&e, &mut c, &["hrandfield", "h", "9223372036854775807"]), "*1\r\n$1\r\na\r\n");
}

#[test]
fn huge_negative_counts_stop_at_the_output_limit() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["hset", "h", "a", "1", "b", "2"]);
    run(&e, &mut c, &["config", "set", "client-output-buffer-limit", "normal 100000 0 0"]);
    let reply = run(&e, &mut c, &["hrandfield", "h", "-1000", "withvalues"]);
    assert_eq!(bulks(Value::parse(reply.as_bytes()).unwrap().0).len(), 2000);
    assert!(!c.close_after_reply);
    // Tens of billions of elements: the reply is abandoned at the limit and the client
    // dropped, as Valkey drops a client past its output buffer limit.
    let reply = run(&e, &mut c, &["hrandfield", "h", "-50000000000", "withvalues"]);
    assert_eq!(reply, "");
    assert!(c.close_after_reply);
}

#[test]
fn hscan_small_and_big() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["hset", "h", "a", "1", "b", "2", "ab", "3"]);
    assert_eq!(
        run(&e, &mut c, &["hscan", "h", "0"]),
        "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$2\r\nab\r\n$1\r\n3\r\n"
    );
    // A listpack is returned whole whatever the cursor and COUNT.
    assert_eq!(
        run(&e, &mut c, &["hscan", "h", "77", "count", "1", "match", "a*", "novalues"]),
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$2\r\nab\r\n"
    );
    assert_eq!(run(&e, &mut c, &["hscan", "nokey", "0", "count", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(run(&e, &mut c, &["hscan", "h", "x"]), "-ERR invalid cursor\r\n");
    assert_eq!(run(&e, &mut c, &["hscan", "nokey", "-1x"]), "-ERR invalid cursor\r\n");
    assert_eq!(run(&e, &mut c, &["hscan", "h", "0", "count", "0"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["hscan", "h", "0", "noscores"]), "-ERR NOSCORES option can only be used in ZSCAN\r\n");
    // A table is walked with the cursor; every field comes back once in a full iteration.
    run(&e, &mut c, &["config", "set", "hash-max-listpack-entries", "16"]);
    for i in 0..1000 {
        run(&e, &mut c, &["hset", "big", &format!("f{i}"), &i.to_string()]);
    }
    assert_eq!(encoding(&e, &mut c, "big"), "hashtable");
    let mut cursor = "0".to_string();
    let mut seen = BTreeMap::new();
    let mut calls = 0;
    loop {
        let Value::Array(parts) = value(&e, &mut c, &["hscan", "big", &cursor, "count", "20"]) else { panic!() };
        let Value::Bulk(next) = &parts[0] else { panic!() };
        cursor = String::from_utf8(next.clone()).unwrap();
        for p in bulks(parts[1].clone()).chunks(2) {
            seen.insert(p[0].clone(), p[1].clone());
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    assert!(seen.iter().all(|(f, v)| f[1..] == *v));
    assert!(calls > 10, "COUNT bounds each call ({calls} calls)");
    // MATCH filters after visiting; NOVALUES drops the values.
    let mut cursor = "0".to_string();
    let mut got = Vec::new();
    loop {
        let Value::Array(parts) =
            value(&e, &mut c, &["hscan", "big", &cursor, "match", "f99*", "novalues", "count", "1000"])
        else {
            panic!()
        };
        let Value::Bulk(next) = &parts[0] else { panic!() };
        cursor = String::from_utf8(next.clone()).unwrap();
        got.extend(bulks(parts[1].clone()));
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(
        sorted(got),
        vec!["f99", "f990", "f991", "f992", "f993", "f994", "f995", "f996", "f997", "f998", "f999"]
    );
}

#[test]
fn dump_and_restore_keep_contents_and_follow_the_limits() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["hset", "small", "a", "1", "b", "hello"]);
    let mut big = vec!["hset".to_string(), "big".to_string()];
    for i in 0..600 {
        big.push(format!("f{i}"));
        big.push(format!("{i}"));
    }
    run(&e, &mut c, &big.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    for key in ["small", "big"] {
        let argv: Vec<&[u8]> = vec![b"dump", key.as_bytes()];
        let dumped = crate::commands::strings::tests::run_bytes(&e, &mut c, &argv);
        let Value::Bulk(payload) = Value::parse(&dumped).unwrap().0 else { panic!() };
        let copy = format!("{key}-copy");
        let restore: Vec<&[u8]> = vec![b"restore", copy.as_bytes(), b"0", &payload];
        assert_eq!(crate::commands::strings::tests::run_bytes(&e, &mut c, &restore), b"+OK\r\n");
        assert_eq!(pairs_of(value(&e, &mut c, &["hgetall", &copy])), pairs_of(value(&e, &mut c, &["hgetall", key])));
        assert_eq!(encoding(&e, &mut c, &copy), encoding(&e, &mut c, key));
    }
    // A lower limit at restore time converts the listpack.
    run(&e, &mut c, &["config", "set", "hash-max-listpack-entries", "1"]);
    let dumped = crate::commands::strings::tests::run_bytes(&e, &mut c, &[b"dump", b"small"]);
    let Value::Bulk(payload) = Value::parse(&dumped).unwrap().0 else { panic!() };
    assert_eq!(crate::commands::strings::tests::run_bytes(&e, &mut c, &[b"restore", b"r", b"0", &payload]), b"+OK\r\n");
    assert_eq!(encoding(&e, &mut c, "r"), "hashtable");
    // An empty hash listpack is refused.
    let mut body = vec![16u8];
    crate::rdb::string::save_bytes(&mut body, &crate::types::listpack::new(), false);
    body.extend_from_slice(&crate::rdb::RDB_VERSION.to_le_bytes());
    let crc = crate::rdb::dump::crc64(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(
        crate::commands::strings::tests::run_bytes(&e, &mut c, &[b"restore", b"empty", b"0", &body]),
        b"-ERR Bad data format\r\n"
    );
}
