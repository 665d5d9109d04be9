//! Unit tests of the list commands through the dispatcher, plus a direct-call harness that
//! exposes keyspace events and `dirty`. Blocking commands are in `blocking_tests.rs`.

use crate::client::Client;
use crate::commands::Ctx;
use crate::db::{Effects, Keys};
use crate::engine::Engine;
use crate::exec::tests::{client, run};
use crate::keyspace::LockSet;
use resp::Reply;

pub(super) fn setup() -> (std::sync::Arc<Engine>, Client) {
    let e = Engine::for_tests();
    let c = client(&e);
    (e, c)
}

/// Runs a command's handler with every shard of every database locked, optionally serving
/// blocked clients before unlocking (as the dispatcher will), and returns its reply and
/// effects.
pub(super) fn exec(e: &Engine, c: &mut Client, argv: &[&[u8]], serve: bool) -> (String, Effects) {
    let cmd = e.commands.by_name(argv[0]).expect("known command");
    let mut set = LockSet::new();
    for db in 0..e.keyspace.databases() {
        set.add_db(db);
    }
    let mut out = Reply::new(c.resp3);
    let keys = Keys::new(e, e.keyspace.lock(&set), c.db, crate::util::now_ms(), true);
    let mut ctx = Ctx { keys, out: &mut out, client: c, engine: e, cmd };
    if let Err(err) = (cmd.def.handler.unwrap())(&mut ctx, argv) {
        ctx.out.truncate(0);
        ctx.out.error_bytes(err.text());
    }
    if serve {
        ctx.keys.serve_ready();
    }
    let Ctx { keys, out, .. } = ctx;
    let effects = keys.finish();
    (String::from_utf8_lossy(out.as_bytes()).into_owned(), effects)
}

/// Runs a command and returns its reply, its events (`class:event:key`) and its dirty count.
pub(super) fn events(e: &Engine, c: &mut Client, argv: &[&str]) -> (String, Vec<String>, u64) {
    e.config.set("notify-keyspace-events", &[b"KEAn"]).unwrap();
    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    let (reply, fx) = exec(e, c, &argv, false);
    let class = |c: u32| match c {
        crate::notify::LIST => "l",
        crate::notify::GENERIC => "g",
        crate::notify::NEW => "n",
        _ => "?",
    };
    let evs = fx
        .events
        .iter()
        .map(|ev| format!("{}:{}:{}", class(ev.class), ev.event, String::from_utf8_lossy(&ev.key)))
        .collect();
    (reply, evs, fx.dirty)
}

fn bulks(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&format!("${}\r\n{}\r\n", i.len(), i));
    }
    s
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_INTEGER: &str = "-ERR value is not an integer or out of range\r\n";

#[test]
fn push_range_and_pop() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["rpush", "l", "a", "b", "c"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["lpush", "l", "x", "y"]), ":5\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "l", "0", "-1"]), bulks(&["y", "x", "a", "b", "c"]));
    assert_eq!(run(&e, &mut c, &["llen", "l"]), ":5\r\n");
    assert_eq!(run(&e, &mut c, &["lpop", "l"]), "$1\r\ny\r\n");
    assert_eq!(run(&e, &mut c, &["rpop", "l"]), "$1\r\nc\r\n");
    assert_eq!(run(&e, &mut c, &["rpop", "l", "2"]), bulks(&["b", "a"]));
    assert_eq!(run(&e, &mut c, &["lpop", "l", "10"]), bulks(&["x"]));
    assert_eq!(run(&e, &mut c, &["exists", "l"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["llen", "l"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "l", "0", "-1"]), "*0\r\n");
}

#[test]
fn pops_of_missing_keys_and_counts() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["lpop", "nope"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["rpop", "nope", "3"]), "*-1\r\n");
    assert_eq!(run(&e, &mut c, &["rpop", "nope", "0"]), "*-1\r\n");
    run(&e, &mut c, &["rpush", "l", "1", "2"]);
    assert_eq!(run(&e, &mut c, &["lpop", "l", "0"]), "*0\r\n");
    assert_eq!(run(&e, &mut c, &["llen", "l"]), ":2\r\n");
    for bad in ["-1", "x", "1.5", ""] {
        assert_eq!(run(&e, &mut c, &["lpop", "l", bad]), "-ERR value is out of range, must be positive\r\n");
    }
    assert_eq!(run(&e, &mut c, &["lpop", "l", "1", "2"]), "-ERR wrong number of arguments for 'lpop' command\r\n");
    // Integers come back as bulk strings.
    assert_eq!(run(&e, &mut c, &["rpop", "l", "5"]), bulks(&["2", "1"]));
    c.resp3 = true;
    assert_eq!(run(&e, &mut c, &["lpop", "nope"]), "_\r\n");
    assert_eq!(run(&e, &mut c, &["lpop", "nope", "1"]), "_\r\n");
}

#[test]
fn pushx_needs_an_existing_list() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["lpushx", "l", "a"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["rpushx", "l", "a", "b"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "l"]), ":0\r\n");
    run(&e, &mut c, &["rpush", "l", "m"]);
    assert_eq!(run(&e, &mut c, &["lpushx", "l", "a", "b"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["rpushx", "l", "z"]), ":4\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "l", "0", "-1"]), bulks(&["b", "a", "m", "z"]));
}

#[test]
fn wrong_type_everywhere() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["set", "s", "v"]);
    run(&e, &mut c, &["rpush", "l", "a"]);
    for cmd in [
        &["lpush", "s", "a"][..],
        &["rpush", "s", "a"],
        &["lpushx", "s", "a"],
        &["rpushx", "s", "a"],
        &["lpop", "s"],
        &["rpop", "s", "2"],
        &["llen", "s"],
        &["lrange", "s", "0", "1"],
        &["lindex", "s", "0"],
        &["lset", "s", "0", "x"],
        &["linsert", "s", "before", "a", "b"],
        &["lrem", "s", "0", "a"],
        &["ltrim", "s", "0", "1"],
        &["lpos", "s", "a"],
        &["lmove", "s", "l", "left", "left"],
        &["lmove", "l", "s", "left", "left"],
        &["rpoplpush", "s", "l"],
        &["lmpop", "1", "s", "left"],
        &["blpop", "s", "0"],
        &["brpop", "s", "l", "0"],
        &["blmpop", "0", "1", "s", "left"],
        &["blmove", "s", "l", "left", "right", "0"],
        &["brpoplpush", "l", "s", "0"],
    ] {
        assert_eq!(run(&e, &mut c, cmd), WRONGTYPE, "{cmd:?}");
    }
    // Nothing moved out of the list on the way.
    assert_eq!(run(&e, &mut c, &["lrange", "l", "0", "-1"]), bulks(&["a"]));
    assert_eq!(run(&e, &mut c, &["get", "s"]), "$1\r\nv\r\n");
}

#[test]
fn lindex_and_lset() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["rpush", "l", "a", "b", "c"]);
    assert_eq!(run(&e, &mut c, &["lindex", "l", "0"]), "$1\r\na\r\n");
    assert_eq!(run(&e, &mut c, &["lindex", "l", "-1"]), "$1\r\nc\r\n");
    assert_eq!(run(&e, &mut c, &["lindex", "l", "3"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["lindex", "l", "-4"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["lindex", "l", "x"]), NOT_INTEGER);
    // The key is looked up before the index is parsed.
    assert_eq!(run(&e, &mut c, &["lindex", "nope", "x"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["lset", "l", "1", "B"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["lset", "l", "-1", "12"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "l", "0", "-1"]), bulks(&["a", "B", "12"]));
    assert_eq!(run(&e, &mut c, &["lset", "l", "3", "x"]), "-ERR index out of range\r\n");
    assert_eq!(run(&e, &mut c, &["lset", "l", "x", "x"]), NOT_INTEGER);
    assert_eq!(run(&e, &mut c, &["lset", "nope", "x", "x"]), "-ERR no such key\r\n");
}

#[test]
fn linsert_cases() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["linsert", "nope", "middle", "a", "b"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["linsert", "nope", "before", "a", "b"]), ":0\r\n");
    run(&e, &mut c, &["rpush", "l", "a", "1", "c"]);
    assert_eq!(run(&e, &mut c, &["linsert", "l", "BEFORE", "1", "x"]), ":4\r\n");
    assert_eq!(run(&e, &mut c, &["linsert", "l", "after", "c", "y"]), ":5\r\n");
    assert_eq!(run(&e, &mut c, &["linsert", "l", "after", "01", "y"]), ":-1\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "l", "0", "-1"]), bulks(&["a", "x", "1", "c", "y"]));
}

#[test]
fn lrem_cases() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["rpush", "l", "x", "a", "x", "b", "x", "1"]);
    assert_eq!(run(&e, &mut c, &["lrem", "l", "-2", "x"]), ":2\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "l", "0", "-1"]), bulks(&["x", "a", "b", "1"]));
    assert_eq!(run(&e, &mut c, &["lrem", "l", "0", "1"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["lrem", "l", "1", "nope"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["lrem", "nope", "1", "x"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["lrem", "l", "x", "x"]), NOT_INTEGER);
    assert_eq!(
        run(&e, &mut c, &["lrem", "l", "-9223372036854775808", "x"]),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(run(&e, &mut c, &["lrem", "l", "0", "x"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["lrem", "l", "0", "a"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["lrem", "l", "5", "b"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "l"]), ":0\r\n");
}

#[test]
fn ltrim_cases() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["ltrim", "nope", "0", "1"]), "+OK\r\n");
    run(&e, &mut c, &["rpush", "l", "a", "b", "c", "d", "e"]);
    assert_eq!(run(&e, &mut c, &["ltrim", "l", "1", "-2"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "l", "0", "-1"]), bulks(&["b", "c", "d"]));
    assert_eq!(run(&e, &mut c, &["ltrim", "l", "0", "x"]), NOT_INTEGER);
    assert_eq!(run(&e, &mut c, &["ltrim", "l", "-100", "100"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["llen", "l"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["ltrim", "l", "2", "1"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "l"]), ":0\r\n");
}

#[test]
fn lrange_index_arithmetic() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["rpush", "l", "0", "1", "2", "3", "4", "5"]);
    assert_eq!(run(&e, &mut c, &["lrange", "l", "1", "-2"]), bulks(&["1", "2", "3", "4"]));
    assert_eq!(run(&e, &mut c, &["lrange", "l", "-3", "-1"]), bulks(&["3", "4", "5"]));
    assert_eq!(run(&e, &mut c, &["lrange", "l", "4", "2"]), "*0\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "l", "-100", "1"]), bulks(&["0", "1"]));
    assert_eq!(run(&e, &mut c, &["lrange", "l", "5", "100"]), bulks(&["5"]));
    assert_eq!(run(&e, &mut c, &["lrange", "l", "0", "-7"]), "*0\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "l", "x", "1"]), NOT_INTEGER);
    // Arguments are parsed before the lookup.
    assert_eq!(run(&e, &mut c, &["lrange", "nope", "0", "x"]), NOT_INTEGER);
    assert_eq!(
        run(&e, &mut c, &["lrange", "l", "-9223372036854775808", "9223372036854775807"]),
        bulks(&["0", "1", "2", "3", "4", "5"])
    );
}

#[test]
fn lpos_like_valkey() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["rpush", "l", "a", "b", "c", "1", "2", "3", "c", "c"]);
    let ints = |v: &[i64]| {
        let mut s = format!("*{}\r\n", v.len());
        for i in v {
            s.push_str(&format!(":{i}\r\n"));
        }
        s
    };
    assert_eq!(run(&e, &mut c, &["lpos", "l", "a"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c"]), ":2\r\n");
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "rank", "2"]), ":6\r\n");
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "rank", "4"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "rank", "-1"]), ":7\r\n");
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "rank", "-2"]), ":6\r\n");
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "count", "0"]), ints(&[2, 6, 7]));
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "count", "2"]), ints(&[2, 6]));
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "count", "0", "rank", "2"]), ints(&[6, 7]));
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "count", "2", "rank", "-1"]), ints(&[7, 6]));
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "count", "0", "maxlen", "1"]), ints(&[]));
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "count", "0", "maxlen", "3"]), ints(&[2]));
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "count", "0", "maxlen", "3", "rank", "-1"]), ints(&[7, 6]));
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "count", "0", "maxlen", "7", "rank", "2"]), ints(&[6]));
    assert_eq!(run(&e, &mut c, &["lpos", "l", "2"]), ":4\r\n");
    assert_eq!(run(&e, &mut c, &["lpos", "l", "x", "count", "2", "rank", "-1"]), ints(&[]));
    assert_eq!(run(&e, &mut c, &["lpos", "nope", "c", "count", "0"]), ints(&[]));
    assert_eq!(run(&e, &mut c, &["lpos", "nope", "c"]), "$-1\r\n");
    assert_eq!(
        run(&e, &mut c, &["lpos", "l", "c", "rank", "0"]),
        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to \
         start from the end of the list\r\n"
    );
    assert_eq!(
        run(&e, &mut c, &["lpos", "l", "c", "rank", "-9223372036854775808"]),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "count", "-1"]), "-ERR COUNT can't be negative\r\n");
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "count", "x"]), "-ERR COUNT can't be negative\r\n");
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "maxlen", "-1"]), "-ERR MAXLEN can't be negative\r\n");
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "rank"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "foo", "1"]), "-ERR syntax error\r\n");
    // Options are checked before the key.
    assert!(run(&e, &mut c, &["lpos", "nope", "c", "rank", "0"]).starts_with("-ERR RANK"));
    // A huge COUNT or MAXLEN allocates nothing up front.
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "count", "9223372036854775807"]), ints(&[2, 6, 7]));
    assert_eq!(run(&e, &mut c, &["lpos", "l", "c", "maxlen", "9223372036854775807"]), ":2\r\n");
}

#[test]
fn lmove_in_every_direction() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["rpush", "src", "a", "b", "c"]);
    assert_eq!(run(&e, &mut c, &["lmove", "src", "dst", "left", "right"]), "$1\r\na\r\n");
    assert_eq!(run(&e, &mut c, &["lmove", "src", "dst", "RIGHT", "LEFT"]), "$1\r\nc\r\n");
    assert_eq!(run(&e, &mut c, &["lmove", "src", "dst", "left", "left"]), "$1\r\nb\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "dst", "0", "-1"]), bulks(&["b", "c", "a"]));
    assert_eq!(run(&e, &mut c, &["exists", "src"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["lmove", "src", "dst", "left", "left"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["lmove", "dst", "dst", "right", "left"]), "$1\r\na\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "dst", "0", "-1"]), bulks(&["a", "b", "c"]));
    assert_eq!(run(&e, &mut c, &["rpoplpush", "dst", "dst"]), "$1\r\nc\r\n");
    assert_eq!(run(&e, &mut c, &["rpoplpush", "dst", "other"]), "$1\r\nb\r\n");
    assert_eq!(run(&e, &mut c, &["lmove", "dst", "x", "up", "left"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["lmove", "dst", "x", "left", "down"]), "-ERR syntax error\r\n");
    // A one-element rotation keeps the key.
    assert_eq!(run(&e, &mut c, &["lmove", "other", "other", "left", "right"]), "$1\r\nb\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "other", "0", "-1"]), bulks(&["b"]));
}

#[test]
fn lmove_counts_popped_integers_as_valkey_does() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["config", "set", "list-max-listpack-size", "-1"]);
    let enc = |e: &Engine, c: &mut Client, k: &str| run(e, c, &["object", "encoding", k]);
    // Two destinations of 4090 bytes: 6 more bytes fit a 4 KiB listpack, 7 more do not.
    let filler = "f".repeat(4079);
    for dst in ["d1", "d2"] {
        run(&e, &mut c, &["rpush", dst, &filler]);
        assert_eq!(enc(&e, &mut c, dst), "$8\r\nlistpack\r\n");
    }
    // From a quicklist, the integer comes out as an integer object: its 7 digits are not
    // counted and the destination stays a listpack.
    run(&e, &mut c, &["rpush", "q", &"x".repeat(5000), "1234567"]);
    assert_eq!(enc(&e, &mut c, "q"), "$9\r\nquicklist\r\n");
    assert_eq!(run(&e, &mut c, &["lmove", "q", "d1", "right", "left"]), "$7\r\n1234567\r\n");
    assert_eq!(enc(&e, &mut c, "d1"), "$8\r\nlistpack\r\n");
    // From a listpack it comes out as a string and counts.
    run(&e, &mut c, &["rpush", "p", "1234567"]);
    assert_eq!(run(&e, &mut c, &["lmove", "p", "d2", "right", "left"]), "$7\r\n1234567\r\n");
    assert_eq!(enc(&e, &mut c, "d2"), "$9\r\nquicklist\r\n");
}

#[test]
fn lmpop_cases() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["lmpop", "0", "a", "left"]), "-ERR numkeys should be greater than 0\r\n");
    assert_eq!(run(&e, &mut c, &["lmpop", "x", "a", "left"]), "-ERR numkeys should be greater than 0\r\n");
    assert_eq!(run(&e, &mut c, &["lmpop", "2", "a", "left"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["lmpop", "9223372036854775807", "a", "left"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["lmpop", "1", "a", "middle"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["lmpop", "1", "a", "left", "count"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["lmpop", "1", "a", "left", "count", "0"]), "-ERR count should be greater than 0\r\n");
    assert_eq!(run(&e, &mut c, &["lmpop", "1", "a", "left", "count", "1", "count", "1"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["lmpop", "2", "a", "b", "left"]), "*-1\r\n");
    run(&e, &mut c, &["rpush", "b", "1", "2", "3"]);
    assert_eq!(
        run(&e, &mut c, &["lmpop", "2", "a", "b", "right", "count", "2"]),
        "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n"
    );
    assert_eq!(run(&e, &mut c, &["lmpop", "2", "a", "b", "left", "COUNT", "10"]), "*2\r\n$1\r\nb\r\n*1\r\n$1\r\n1\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "b"]), ":0\r\n");
}

#[test]
fn events_dirty_and_deletion() {
    let (e, mut c) = setup();
    let ev = |r: (String, Vec<String>, u64)| (r.1, r.2);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(ev(events(&e, &mut c, &["rpush", "l", "a", "b", "c"])), (s(&["n:new:l", "l:rpush:l"]), 3));
    assert_eq!(ev(events(&e, &mut c, &["lpushx", "nope", "a"])), (s(&[]), 0));
    assert_eq!(ev(events(&e, &mut c, &["lpop", "l", "2"])), (s(&["l:lpop:l"]), 2));
    assert_eq!(ev(events(&e, &mut c, &["linsert", "l", "after", "c", "d"])), (s(&["l:linsert:l"]), 1));
    assert_eq!(ev(events(&e, &mut c, &["linsert", "l", "after", "zz", "d"])), (s(&[]), 0));
    assert_eq!(ev(events(&e, &mut c, &["lset", "l", "0", "C"])), (s(&["l:lset:l"]), 1));
    assert_eq!(ev(events(&e, &mut c, &["ltrim", "l", "0", "-1"])), (s(&["l:ltrim:l"]), 0));
    assert_eq!(
        ev(events(&e, &mut c, &["lmove", "l", "m", "left", "right"])),
        (s(&["n:new:m", "l:rpush:m", "l:lpop:l"]), 1)
    );
    assert_eq!(ev(events(&e, &mut c, &["rpoplpush", "l", "m"])), (s(&["l:lpush:m", "l:rpop:l", "g:del:l"]), 1));
    assert_eq!(ev(events(&e, &mut c, &["lrem", "m", "0", "nope"])), (s(&[]), 0));
    assert_eq!(ev(events(&e, &mut c, &["lrem", "m", "0", "d"])), (s(&["l:lrem:m"]), 1));
    assert_eq!(ev(events(&e, &mut c, &["ltrim", "m", "1", "0"])), (s(&["l:ltrim:m", "g:del:m"]), 1));
    assert_eq!(ev(events(&e, &mut c, &["rpush", "x", "1"])), (s(&["n:new:x", "l:rpush:x"]), 1));
    assert_eq!(ev(events(&e, &mut c, &["lmpop", "1", "x", "left"])), (s(&["l:lpop:x", "g:del:x"]), 1));
}

#[test]
fn encodings_follow_the_settings() {
    let (e, mut c) = setup();
    let enc = |e: &Engine, c: &mut Client, k: &str| run(e, c, &["object", "encoding", k]);
    run(&e, &mut c, &["config", "set", "list-max-listpack-size", "4"]);
    run(&e, &mut c, &["rpush", "l", "1", "2", "3", "4"]);
    assert_eq!(enc(&e, &mut c, "l"), "$8\r\nlistpack\r\n");
    run(&e, &mut c, &["rpush", "l", "5"]);
    assert_eq!(enc(&e, &mut c, "l"), "$9\r\nquicklist\r\n");
    // Two nodes [1 2 3 4] [5]: popping to one node of 2 (half the limit) converts back.
    run(&e, &mut c, &["rpop", "l"]);
    assert_eq!(enc(&e, &mut c, "l"), "$9\r\nquicklist\r\n");
    run(&e, &mut c, &["rpop", "l", "2"]);
    assert_eq!(enc(&e, &mut c, "l"), "$8\r\nlistpack\r\n");
    // LSET of a large value converts right away.
    run(&e, &mut c, &["config", "set", "list-max-listpack-size", "-1"]);
    let big = "x".repeat(5000);
    assert_eq!(run(&e, &mut c, &["lset", "l", "0", &big]), "+OK\r\n");
    assert_eq!(enc(&e, &mut c, "l"), "$9\r\nquicklist\r\n");
    assert_eq!(run(&e, &mut c, &["lindex", "l", "0"]), format!("${}\r\n{big}\r\n", big.len()));
    assert_eq!(run(&e, &mut c, &["type", "l"]), "+list\r\n");
}

#[test]
fn dump_restore_and_copy() {
    let (e, mut c) = setup();
    let raw = |e: &Engine, c: &mut Client, argv: &[&[u8]]| crate::commands::strings::tests::run_bytes(e, c, argv);
    run(&e, &mut c, &["config", "set", "list-max-listpack-size", "2"]);
    run(&e, &mut c, &["config", "set", "list-compress-depth", "1"]);
    let long = "abcdefgh".repeat(30);
    run(&e, &mut c, &["rpush", "l", "a", "1", &long, &long, &long, &long, &long, "z"]);
    let dump = raw(&e, &mut c, &[b"dump", b"l"]);
    let payload = match resp::Value::parse(&dump).unwrap().0 {
        resp::Value::Bulk(b) => b,
        other => panic!("{other:?}"),
    };
    assert_eq!(payload[0], 18);
    assert_eq!(raw(&e, &mut c, &[b"restore", b"l2", b"0", &payload]), b"+OK\r\n");
    let all = run(&e, &mut c, &["lrange", "l", "0", "-1"]);
    assert_eq!(run(&e, &mut c, &["lrange", "l2", "0", "-1"]), all);
    // The copy is deep: changing it leaves the original alone.
    assert_eq!(run(&e, &mut c, &["copy", "l", "l3"]), ":1\r\n");
    run(&e, &mut c, &["lpop", "l3", "3"]);
    assert_eq!(run(&e, &mut c, &["lrange", "l", "0", "-1"]), all);
    // A list DUMPed by redis-server 7.0 (three packed nodes of list-max-listpack-size 2).
    let redis =
        "1203020d0d0000000200816102816202ff020d0d0000000200816302816402ff020a0a0000000100816502ff0a00ec5236a76020a1db";
    let bytes: Vec<u8> =
        (0..redis.len()).step_by(2).map(|i| u8::from_str_radix(&redis[i..i + 2], 16).unwrap()).collect();
    assert_eq!(raw(&e, &mut c, &[b"restore", b"r", b"0", &bytes]), b"+OK\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "r", "0", "-1"]), bulks(&["a", "b", "c", "d", "e"]));
    assert_eq!(run(&e, &mut c, &["object", "encoding", "r"]), "$9\r\nquicklist\r\n");
    // Our DUMP of the same list, built the same way, is byte for byte the same body.
    run(&e, &mut c, &["config", "set", "list-compress-depth", "0"]);
    run(&e, &mut c, &["rpush", "same", "a", "b", "c", "d", "e"]);
    let ours = raw(&e, &mut c, &[b"dump", b"same"]);
    let ours = match resp::Value::parse(&ours).unwrap().0 {
        resp::Value::Bulk(b) => b,
        other => panic!("{other:?}"),
    };
    assert_eq!(ours[..ours.len() - 10], bytes[..bytes.len() - 10]);
}

#[test]
fn long_lists_across_nodes() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["config", "set", "list-max-listpack-size", "3"]);
    run(&e, &mut c, &["config", "set", "list-compress-depth", "1"]);
    let items: Vec<String> = (0..200).map(|i| format!("item-{i}-{}", "pad".repeat(i % 20))).collect();
    let mut argv = vec!["rpush", "l"];
    argv.extend(items.iter().map(|s| s.as_str()));
    assert_eq!(run(&e, &mut c, &argv), ":200\r\n");
    for (i, item) in items.iter().enumerate().step_by(17) {
        assert_eq!(run(&e, &mut c, &["lindex", "l", &i.to_string()]), format!("${}\r\n{item}\r\n", item.len()));
        let neg = format!("-{}", 200 - i);
        assert_eq!(run(&e, &mut c, &["lindex", "l", &neg]), format!("${}\r\n{item}\r\n", item.len()));
        assert_eq!(run(&e, &mut c, &["lpos", "l", item]), format!(":{i}\r\n"));
    }
    let want: Vec<&str> = items[50..60].iter().map(|s| s.as_str()).collect();
    assert_eq!(run(&e, &mut c, &["lrange", "l", "50", "59"]), bulks(&want));
    assert_eq!(run(&e, &mut c, &["ltrim", "l", "10", "-11"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["llen", "l"]), ":180\r\n");
    assert_eq!(run(&e, &mut c, &["lindex", "l", "0"]), format!("${}\r\n{}\r\n", items[10].len(), items[10]));
}
