//! Unit tests of the string commands, through the dispatcher.

use crate::client::Client;
use crate::commands::Ctx;
use crate::db::Keys;
use crate::engine::Engine;
use crate::exec::tests::{client, run};
use crate::keyspace::LockSet;
use resp::Reply;

/// Runs a command with binary arguments and returns the raw reply bytes.
pub(crate) fn run_bytes(e: &Engine, c: &mut Client, argv: &[&[u8]]) -> Vec<u8> {
    let mut out = Reply::new(c.resp3);
    crate::exec::execute(e, c, argv, &mut out);
    out.as_bytes().to_vec()
}

/// The absolute expiry time of `key` in db 0, without touching it.
pub(crate) fn expire_of(e: &Engine, key: &str) -> Option<u64> {
    let mut set = LockSet::new();
    set.add_key(0, key.as_bytes());
    let guards = e.keyspace.lock(&set);
    let mut keys = Keys::new(e, guards, 0, crate::util::now_ms(), false);
    keys.peek(key.as_bytes()).unwrap().and_then(|x| x.expire_at_ms())
}

/// Runs a command the way the dispatcher does and returns its reply, the keyspace events
/// it recorded (`class:event:key`) and its dirty count. Turns all notifications on first.
pub(crate) fn run_events(e: &Engine, c: &mut Client, argv: &[&str]) -> (String, Vec<String>, u64) {
    e.config.set("notify-keyspace-events", &[b"KEA"]).unwrap();
    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    let cmd = e.commands.by_name(argv[0]).expect("known command");
    let mut set = LockSet::new();
    for i in cmd.def.key_positions(&argv) {
        set.add_key(c.db, argv[i]);
    }
    let guards = e.keyspace.lock(&set);
    let keys = Keys::new(e, guards, c.db, crate::util::now_ms(), true);
    let mut buf = Reply::new(false);
    let mut ctx = Ctx { keys, out: &mut buf, client: c, engine: e, cmd };
    let result = (cmd.def.handler.unwrap())(&mut ctx, &argv);
    let Ctx { keys, out, .. } = ctx;
    let effects = keys.finish();
    if let Err(err) = result {
        out.truncate(0);
        out.error_bytes(err.text());
    }
    let class = |c: u32| match c {
        crate::notify::STRING => "$",
        crate::notify::GENERIC => "g",
        _ => "?",
    };
    let events = effects
        .events
        .iter()
        .map(|ev| format!("{}:{}:{}", class(ev.class), ev.event, String::from_utf8_lossy(&ev.key)))
        .collect();
    (String::from_utf8_lossy(out.as_bytes()).into_owned(), events, effects.dirty)
}

fn setup() -> (std::sync::Arc<Engine>, Client) {
    let e = Engine::for_tests();
    let c = client(&e);
    (e, c)
}

#[test]
fn get_and_set_basics() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["set", "k", "v"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$1\r\nv\r\n");
    assert_eq!(run(&e, &mut c, &["set", "k", ""]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$0\r\n\r\n");
    assert_eq!(run(&e, &mut c, &["set", "n", "-42"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["get", "n"]), "$3\r\n-42\r\n");
    assert_eq!(run(&e, &mut c, &["set", "bin", "a\0b\r\nc"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["get", "bin"]), "$6\r\na\0b\r\nc\r\n");
    let raw = run_bytes(&e, &mut c, &[b"set", b"hi", b"\xff\x00\x80"]);
    assert_eq!(raw, b"+OK\r\n");
    assert_eq!(run_bytes(&e, &mut c, &[b"get", b"hi"]), b"$3\r\n\xff\x00\x80\r\n");
    assert_eq!(run(&e, &mut c, &["get"]), "-ERR wrong number of arguments for 'get' command\r\n");
    assert_eq!(run(&e, &mut c, &["get", "a", "b"]), "-ERR wrong number of arguments for 'get' command\r\n");
    assert_eq!(run(&e, &mut c, &["set", "k"]), "-ERR wrong number of arguments for 'set' command\r\n");
}

#[test]
fn set_nx_xx_get() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["set", "k", "1", "nx"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["set", "k", "2", "NX"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$1\r\n1\r\n");
    assert_eq!(run(&e, &mut c, &["set", "x", "1", "xx"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["get", "x"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["set", "k", "3", "xx"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["set", "k", "4", "get"]), "$1\r\n3\r\n");
    assert_eq!(run(&e, &mut c, &["set", "new", "4", "GET"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["get", "new"]), "$1\r\n4\r\n");
    // GET with NX/XX replies the old value whether or not the write happens.
    assert_eq!(run(&e, &mut c, &["set", "k", "5", "nx", "get"]), "$1\r\n4\r\n");
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$1\r\n4\r\n");
    assert_eq!(run(&e, &mut c, &["set", "none", "5", "get", "xx"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "none"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["set", "k", "6", "xx", "get", "get"]), "$1\r\n4\r\n");
}

#[test]
fn set_option_conflicts_are_syntax_errors() {
    let (e, mut c) = setup();
    let syntax = "-ERR syntax error\r\n";
    for args in [
        &["set", "k", "v", "nx", "xx"][..],
        &["set", "k", "v", "xx", "nx"],
        &["set", "k", "v", "ex", "10", "px", "100"],
        &["set", "k", "v", "px", "100", "exat", "10"],
        &["set", "k", "v", "ex", "10", "keepttl"],
        &["set", "k", "v", "keepttl", "pxat", "10"],
        &["set", "k", "v", "ex"],
        &["set", "k", "v", "persist"],
        &["set", "k", "v", "bogus"],
        &["set", "k", "v", "e"],
    ] {
        assert_eq!(run(&e, &mut c, args), syntax, "{args:?}");
    }
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$-1\r\n");
    // The same expiry option twice is accepted; the last one wins.
    assert_eq!(run(&e, &mut c, &["set", "k", "v", "ex", "10", "ex", "1000"]), "+OK\r\n");
    let left = expire_of(&e, "k").unwrap() - crate::util::now_ms();
    assert!(left > 900_000, "{left}");
    assert_eq!(run(&e, &mut c, &["set", "k", "v", "keepttl", "keepttl"]), "+OK\r\n");
}

#[test]
fn set_expire_options() {
    let (e, mut c) = setup();
    let now = crate::util::now_ms();
    assert_eq!(run(&e, &mut c, &["set", "k", "v", "ex", "100"]), "+OK\r\n");
    let at = expire_of(&e, "k").unwrap();
    assert!(at >= now + 100_000 && at <= now + 101_000, "{at} {now}");
    assert_eq!(run(&e, &mut c, &["set", "k", "v", "px", "5000"]), "+OK\r\n");
    let at = expire_of(&e, "k").unwrap();
    assert!(at >= now + 5000 && at <= now + 6000);
    let exat = (now / 1000 + 500).to_string();
    assert_eq!(run(&e, &mut c, &["set", "k", "v", "exat", &exat]), "+OK\r\n");
    assert_eq!(expire_of(&e, "k"), Some((now / 1000 + 500) * 1000));
    let pxat = (now + 12345).to_string();
    assert_eq!(run(&e, &mut c, &["set", "k", "v", "PXAT", &pxat]), "+OK\r\n");
    assert_eq!(expire_of(&e, "k"), Some(now + 12345));
    assert_eq!(run(&e, &mut c, &["set", "k", "w", "keepttl"]), "+OK\r\n");
    assert_eq!(expire_of(&e, "k"), Some(now + 12345));
    assert_eq!(run(&e, &mut c, &["set", "k", "w"]), "+OK\r\n");
    assert_eq!(expire_of(&e, "k"), None);
    assert_eq!(run(&e, &mut c, &["set", "k", "v", "xx", "px", "10000"]), "+OK\r\n");
    assert!(expire_of(&e, "k").is_some());
}

#[test]
fn set_invalid_expire_times() {
    let (e, mut c) = setup();
    let invalid = "-ERR invalid expire time in 'set' command\r\n";
    for t in ["0", "-1", "9223372036854775807"] {
        assert_eq!(run(&e, &mut c, &["set", "k", "v", "ex", t]), invalid, "ex {t}");
    }
    assert_eq!(run(&e, &mut c, &["set", "k", "v", "px", "0"]), invalid);
    assert_eq!(run(&e, &mut c, &["set", "k", "v", "px", "9223372036854775807"]), invalid);
    assert_eq!(run(&e, &mut c, &["set", "k", "v", "exat", "-5"]), invalid);
    assert_eq!(run(&e, &mut c, &["set", "k", "v", "exat", "9223372036854776"]), invalid);
    assert_eq!(run(&e, &mut c, &["set", "k", "v", "ex", "1.5"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(run(&e, &mut c, &["setex", "k", "0", "v"]), "-ERR invalid expire time in 'setex' command\r\n");
    assert_eq!(run(&e, &mut c, &["psetex", "k", "-3", "v"]), "-ERR invalid expire time in 'psetex' command\r\n");
    assert_eq!(run(&e, &mut c, &["setex", "k", "x", "v"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$-1\r\n");
    // The expiry is validated before GET replies anything.
    run(&e, &mut c, &["set", "k", "old"]);
    assert_eq!(run(&e, &mut c, &["set", "k", "v", "get", "ex", "0"]), invalid);
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$3\r\nold\r\n");
}

#[test]
fn set_with_expiry_in_the_past_deletes() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["set", "k", "v"]);
    let (reply, events, dirty) = run_events(&e, &mut c, &["set", "k", "new", "exat", "1"]);
    assert_eq!(reply, "+OK\r\n");
    assert_eq!(events, ["g:del:k"]);
    assert_eq!(dirty, 1);
    assert_eq!(run(&e, &mut c, &["exists", "k"]), ":0\r\n");
    let (reply, events, _) = run_events(&e, &mut c, &["set", "k", "new", "pxat", "1000"]);
    assert_eq!((reply.as_str(), events.len()), ("+OK\r\n", 0));
    assert_eq!(run(&e, &mut c, &["exists", "k"]), ":0\r\n");
    run(&e, &mut c, &["set", "k", "v"]);
    assert_eq!(run(&e, &mut c, &["set", "k", "new", "get", "pxat", "1000"]), "$1\r\nv\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "k"]), ":0\r\n");
}

#[test]
fn set_events_and_dirty() {
    let (e, mut c) = setup();
    assert_eq!(run_events(&e, &mut c, &["set", "k", "v"]), ("+OK\r\n".into(), vec!["$:set:k".into()], 1));
    let (_, events, dirty) = run_events(&e, &mut c, &["set", "k", "v", "ex", "10"]);
    assert_eq!((events, dirty), (vec!["$:set:k".to_string(), "g:expire:k".into()], 1));
    let (_, events, _) = run_events(&e, &mut c, &["set", "k", "v", "nx"]);
    assert!(events.is_empty());
    let (_, events, _) = run_events(&e, &mut c, &["setex", "k", "10", "v"]);
    assert_eq!(events, ["$:set:k", "g:expire:k"]);
    let (_, events, _) = run_events(&e, &mut c, &["getset", "k", "x"]);
    assert_eq!(events, ["$:set:k"]);
    let (_, events, dirty) = run_events(&e, &mut c, &["mset", "a", "1", "b", "2"]);
    assert_eq!((events, dirty), (vec!["$:set:a".to_string(), "$:set:b".into()], 2));
}

#[test]
fn setnx_setex_psetex() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["setnx", "k", "a"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["setnx", "k", "b"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$1\r\na\r\n");
    assert_eq!(run(&e, &mut c, &["setnx", "k"]), "-ERR wrong number of arguments for 'setnx' command\r\n");
    let now = crate::util::now_ms();
    assert_eq!(run(&e, &mut c, &["setex", "s", "10", "v"]), "+OK\r\n");
    assert!(expire_of(&e, "s").unwrap() >= now + 10_000);
    assert_eq!(run(&e, &mut c, &["psetex", "p", "1500", "v"]), "+OK\r\n");
    let at = expire_of(&e, "p").unwrap();
    assert!(at >= now + 1500 && at < now + 3000);
    assert_eq!(run(&e, &mut c, &["get", "p"]), "$1\r\nv\r\n");
    assert_eq!(run(&e, &mut c, &["setex", "s", "10"]), "-ERR wrong number of arguments for 'setex' command\r\n");
}

#[test]
fn getset_getdel() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["getset", "k", "a"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["getset", "k", "b"]), "$1\r\na\r\n");
    run(&e, &mut c, &["set", "t", "1", "ex", "100"]);
    assert_eq!(run(&e, &mut c, &["getset", "t", "2"]), "$1\r\n1\r\n");
    assert_eq!(expire_of(&e, "t"), None, "GETSET clears the TTL");
    let (reply, events, _) = run_events(&e, &mut c, &["getdel", "k"]);
    assert_eq!((reply.as_str(), events), ("$1\r\nb\r\n", vec!["g:del:k".to_string()]));
    let (reply, events, _) = run_events(&e, &mut c, &["getdel", "k"]);
    assert_eq!((reply.as_str(), events.len()), ("$-1\r\n", 0));
}

#[test]
fn getex_options() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["getex", "nokey", "ex", "10"]), "$-1\r\n");
    // An invalid expiry on a missing key is not an error: nothing is validated.
    assert_eq!(run(&e, &mut c, &["getex", "nokey", "ex", "-10"]), "$-1\r\n");
    run(&e, &mut c, &["set", "k", "v"]);
    assert_eq!(run(&e, &mut c, &["getex", "k"]), "$1\r\nv\r\n");
    assert_eq!(expire_of(&e, "k"), None);
    let now = crate::util::now_ms();
    let (reply, events, dirty) = run_events(&e, &mut c, &["getex", "k", "ex", "10"]);
    assert_eq!((reply.as_str(), events, dirty), ("$1\r\nv\r\n", vec!["g:expire:k".to_string()], 1));
    assert!(expire_of(&e, "k").unwrap() >= now + 10_000);
    assert_eq!(run(&e, &mut c, &["getex", "k", "px", "5000"]), "$1\r\nv\r\n");
    assert!(expire_of(&e, "k").unwrap() <= now + 6000);
    let exat = (now / 1000 + 100).to_string();
    assert_eq!(run(&e, &mut c, &["getex", "k", "exat", &exat]), "$1\r\nv\r\n");
    assert_eq!(expire_of(&e, "k"), Some((now / 1000 + 100) * 1000));
    let (reply, events, _) = run_events(&e, &mut c, &["getex", "k", "persist"]);
    assert_eq!((reply.as_str(), events), ("$1\r\nv\r\n", vec!["g:persist:k".to_string()]));
    assert_eq!(expire_of(&e, "k"), None);
    let (_, events, dirty) = run_events(&e, &mut c, &["getex", "k", "persist"]);
    assert_eq!((events.len(), dirty), (0, 0), "PERSIST without a TTL changes nothing");
    let (reply, events, _) = run_events(&e, &mut c, &["getex", "k", "pxat", "1"]);
    assert_eq!((reply.as_str(), events), ("$1\r\nv\r\n", vec!["g:del:k".to_string()]));
    assert_eq!(run(&e, &mut c, &["exists", "k"]), ":0\r\n");
}

#[test]
fn getex_errors() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["set", "k", "v"]);
    let syntax = "-ERR syntax error\r\n";
    assert_eq!(run(&e, &mut c, &["getex", "k", "bogus"]), syntax);
    assert_eq!(run(&e, &mut c, &["getex", "k", "ex", "10", "persist"]), syntax);
    assert_eq!(run(&e, &mut c, &["getex", "k", "persist", "px", "10"]), syntax);
    assert_eq!(run(&e, &mut c, &["getex", "k", "ex", "1", "px", "1"]), syntax);
    assert_eq!(run(&e, &mut c, &["getex", "k", "nx"]), syntax);
    assert_eq!(run(&e, &mut c, &["getex", "k", "get"]), syntax);
    assert_eq!(run(&e, &mut c, &["getex", "k", "keepttl"]), syntax);
    assert_eq!(run(&e, &mut c, &["getex", "k", "ex"]), syntax);
    // Syntax errors win even on a missing key.
    assert_eq!(run(&e, &mut c, &["getex", "nokey", "bogus"]), syntax);
    assert_eq!(run(&e, &mut c, &["getex", "k", "ex", "0"]), "-ERR invalid expire time in 'getex' command\r\n");
    assert_eq!(run(&e, &mut c, &["getex", "k", "ex", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(run(&e, &mut c, &["getex"]), "-ERR wrong number of arguments for 'getex' command\r\n");
}

#[test]
fn mget_mset_msetnx() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["mset", "a", "1", "b", "x y", "c", "\r\n"]), "+OK\r\n");
    assert_eq!(
        run(&e, &mut c, &["mget", "a", "nope", "b", "c"]),
        "*4\r\n$1\r\n1\r\n$-1\r\n$3\r\nx y\r\n$2\r\n\r\n\r\n"
    );
    assert_eq!(run(&e, &mut c, &["mset", "a", "1", "b"]), "-ERR wrong number of arguments for 'mset' command\r\n");
    assert_eq!(run(&e, &mut c, &["mset", "a"]), "-ERR wrong number of arguments for 'mset' command\r\n");
    assert_eq!(run(&e, &mut c, &["mset", "a", "x", "a", "y"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["get", "a"]), "$1\r\ny\r\n");
    assert_eq!(run(&e, &mut c, &["msetnx", "n1", "1", "a", "2"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "n1"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["msetnx", "n1", "1", "n2", "2"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["msetnx", "n3", "x", "n3", "y"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["get", "n3"]), "$1\r\ny\r\n");
    assert_eq!(
        run(&e, &mut c, &["msetnx", "n4", "1", "n5"]),
        "-ERR wrong number of arguments for 'msetnx' command\r\n"
    );
    run(&e, &mut c, &["set", "t", "1", "ex", "100"]);
    run(&e, &mut c, &["mset", "t", "2"]);
    assert_eq!(expire_of(&e, "t"), None, "MSET clears the TTL");
    assert_eq!(run(&e, &mut c, &["mget"]), "-ERR wrong number of arguments for 'mget' command\r\n");
}

#[test]
fn append_and_strlen() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["strlen", "k"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["append", "k", "12"]), ":2\r\n");
    assert_eq!(run(&e, &mut c, &["append", "k", "3"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$3\r\n123\r\n");
    assert_eq!(run(&e, &mut c, &["incr", "k"]), ":124\r\n");
    assert_eq!(run(&e, &mut c, &["append", "k", ""]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["append", "k", "\0\r\n"]), ":6\r\n");
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$6\r\n124\0\r\n\r\n");
    assert_eq!(run(&e, &mut c, &["strlen", "k"]), ":6\r\n");
    run(&e, &mut c, &["set", "n", "-555"]);
    assert_eq!(run(&e, &mut c, &["strlen", "n"]), ":4\r\n");
    // Growing a long value keeps every byte.
    let chunk = "x".repeat(1000);
    for i in 1..=100 {
        assert_eq!(run(&e, &mut c, &["append", "big", &chunk]), format!(":{}\r\n", i * 1000));
    }
    assert_eq!(run(&e, &mut c, &["strlen", "big"]), ":100000\r\n");
    run(&e, &mut c, &["set", "t", "a", "ex", "100"]);
    let (reply, events, _) = run_events(&e, &mut c, &["append", "t", "b"]);
    assert_eq!((reply.as_str(), events), (":2\r\n", vec!["$:append:t".to_string()]));
    assert!(expire_of(&e, "t").is_some(), "APPEND keeps the TTL");
    assert_eq!(run(&e, &mut c, &["append", "k"]), "-ERR wrong number of arguments for 'append' command\r\n");
}

#[test]
fn append_respects_proto_max_bulk_len() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["config", "set", "proto-max-bulk-len", "1048576"]);
    let half = "a".repeat(600_000);
    assert_eq!(run(&e, &mut c, &["append", "k", &half]), ":600000\r\n");
    assert_eq!(
        run(&e, &mut c, &["append", "k", &half]),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(run(&e, &mut c, &["strlen", "k"]), ":600000\r\n");
    assert_eq!(run(&e, &mut c, &["append", "k", &"b".repeat(448_576)]), ":1048576\r\n");
}

#[test]
fn getrange_and_substr() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["getrange", "k", "0", "-1"]), "$0\r\n\r\n");
    run(&e, &mut c, &["set", "k", "Hello World"]);
    let cases = [
        ("0", "3", "Hell"),
        ("0", "-1", "Hello World"),
        ("-4", "-1", "orld"),
        ("5", "3", ""),
        ("5", "5000", " World"),
        ("-5000", "10000", "Hello World"),
        ("-1", "-5", ""),
        ("0", "4294967297", "Hello World"),
        ("-9223372036854775808", "9223372036854775807", "Hello World"),
        ("9223372036854775807", "9223372036854775807", ""),
    ];
    for (s, t, want) in cases {
        assert_eq!(run(&e, &mut c, &["getrange", "k", s, t]), format!("${}\r\n{}\r\n", want.len(), want), "{s} {t}");
    }
    run(&e, &mut c, &["set", "n", "1234"]);
    assert_eq!(run(&e, &mut c, &["getrange", "n", "0", "2"]), "$3\r\n123\r\n");
    assert_eq!(run(&e, &mut c, &["getrange", "n", "3", "5000"]), "$1\r\n4\r\n");
    assert_eq!(run(&e, &mut c, &["substr", "n", "-3", "-1"]), "$3\r\n234\r\n");
    assert_eq!(run(&e, &mut c, &["substr", "nokey", "0", "1"]), "$0\r\n\r\n");
    run(&e, &mut c, &["set", "empty", ""]);
    assert_eq!(run(&e, &mut c, &["getrange", "empty", "0", "-1"]), "$0\r\n\r\n");
    let not_int = "-ERR value is not an integer or out of range\r\n";
    assert_eq!(run(&e, &mut c, &["getrange", "k", "a", "1"]), not_int);
    assert_eq!(run(&e, &mut c, &["getrange", "nokey", "0", "1.5"]), not_int);
    assert_eq!(run(&e, &mut c, &["getrange", "k", "0"]), "-ERR wrong number of arguments for 'getrange' command\r\n");
}

#[test]
fn setrange_cases() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["setrange", "k", "0", "foo"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$3\r\nfoo\r\n");
    assert_eq!(run(&e, &mut c, &["setrange", "none", "0", ""]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "none"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["setrange", "z", "1", "foo"]), ":4\r\n");
    assert_eq!(run(&e, &mut c, &["get", "z"]), "$4\r\n\0foo\r\n");
    assert_eq!(run(&e, &mut c, &["setrange", "k", "1", "b"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$3\r\nfbo\r\n");
    assert_eq!(run(&e, &mut c, &["setrange", "k", "4", "bar"]), ":7\r\n");
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$7\r\nfbo\0bar\r\n");
    assert_eq!(run(&e, &mut c, &["setrange", "k", "0", ""]), ":7\r\n");
    run(&e, &mut c, &["set", "n", "1234"]);
    assert_eq!(run(&e, &mut c, &["setrange", "n", "1", "3"]), ":4\r\n");
    assert_eq!(run(&e, &mut c, &["get", "n"]), "$4\r\n1334\r\n");
    assert_eq!(run(&e, &mut c, &["incr", "n"]), ":1335\r\n");
    assert_eq!(run(&e, &mut c, &["setrange", "n", "5", "2"]), ":6\r\n");
    assert_eq!(run(&e, &mut c, &["get", "n"]), "$6\r\n1335\x002\r\n");
    assert_eq!(run(&e, &mut c, &["setrange", "k", "-1", "x"]), "-ERR offset is out of range\r\n");
    assert_eq!(run(&e, &mut c, &["setrange", "k", "x", "x"]), "-ERR value is not an integer or out of range\r\n");
    let too_long = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    let limit = 512 * 1024 * 1024;
    assert_eq!(run(&e, &mut c, &["setrange", "big", &(limit - 4).to_string(), "world"]), too_long);
    assert_eq!(run(&e, &mut c, &["setrange", "k", &(limit - 4).to_string(), "world"]), too_long);
    assert_eq!(run(&e, &mut c, &["setrange", "k", "9223372036854775807", "A"]), too_long);
    assert_eq!(run(&e, &mut c, &["setrange", "k", "2147483647", "A"]), too_long);
    assert_eq!(run(&e, &mut c, &["exists", "big"]), ":0\r\n");
    // An empty patch never checks the limit.
    assert_eq!(run(&e, &mut c, &["setrange", "k", "9223372036854775807", ""]), ":7\r\n");
    run(&e, &mut c, &["set", "t", "abc", "px", "100000"]);
    let (reply, events, _) = run_events(&e, &mut c, &["setrange", "t", "1", "X"]);
    assert_eq!((reply.as_str(), events), (":3\r\n", vec!["$:setrange:t".to_string()]));
    assert!(expire_of(&e, "t").is_some(), "SETRANGE keeps the TTL");
    let (_, events, dirty) = run_events(&e, &mut c, &["setrange", "t", "1", ""]);
    assert_eq!((events.len(), dirty), (0, 0));
}

#[test]
fn incr_family() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["incr", "n"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["get", "n"]), "$1\r\n1\r\n");
    assert_eq!(run(&e, &mut c, &["incr", "n"]), ":2\r\n");
    assert_eq!(run(&e, &mut c, &["decr", "n"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["decr", "m"]), ":-1\r\n");
    assert_eq!(run(&e, &mut c, &["incrby", "n", "17179869184"]), ":17179869185\r\n");
    assert_eq!(run(&e, &mut c, &["decrby", "n", "17179869186"]), ":-1\r\n");
    assert_eq!(run(&e, &mut c, &["decrby", "x", "1"]), ":-1\r\n");
    run(&e, &mut c, &["set", "n", "100"]);
    assert_eq!(run(&e, &mut c, &["incr", "n"]), ":101\r\n");
    run(&e, &mut c, &["append", "s", "1"]);
    run(&e, &mut c, &["append", "s", "2"]);
    assert_eq!(run(&e, &mut c, &["incr", "s"]), ":13\r\n", "a string buffer holding digits counts");
    let not_int = "-ERR value is not an integer or out of range\r\n";
    for v in ["    11", "11    ", "1.5", "", "abc", "0x10", "+1", "01", "-0", "9223372036854775808"] {
        run(&e, &mut c, &["set", "bad", v]);
        assert_eq!(run(&e, &mut c, &["incr", "bad"]), not_int, "{v:?}");
    }
    assert_eq!(run(&e, &mut c, &["incrby", "n", "v"]), not_int);
    assert_eq!(run(&e, &mut c, &["incrby", "n", "1.5"]), not_int);
    assert_eq!(run(&e, &mut c, &["decrby", "n", "v"]), not_int);
    let overflow = "-ERR increment or decrement would overflow\r\n";
    run(&e, &mut c, &["set", "big", "9223372036854775807"]);
    assert_eq!(run(&e, &mut c, &["incr", "big"]), overflow);
    assert_eq!(run(&e, &mut c, &["get", "big"]), "$19\r\n9223372036854775807\r\n");
    run(&e, &mut c, &["set", "small", "-9223372036854775808"]);
    assert_eq!(run(&e, &mut c, &["decr", "small"]), overflow);
    assert_eq!(run(&e, &mut c, &["incrby", "small", "-1"]), overflow);
    assert_eq!(run(&e, &mut c, &["decrby", "big", "-1"]), overflow);
    assert_eq!(run(&e, &mut c, &["incrby", "small", "9223372036854775807"]), ":-1\r\n");
    run(&e, &mut c, &["set", "z", "0"]);
    assert_eq!(run(&e, &mut c, &["decrby", "z", "-9223372036854775808"]), "-ERR decrement would overflow\r\n");
    assert_eq!(run(&e, &mut c, &["incr", "n", "v"]), "-ERR wrong number of arguments for 'incr' command\r\n");
    assert_eq!(run(&e, &mut c, &["decr", "n", "v"]), "-ERR wrong number of arguments for 'decr' command\r\n");
}

#[test]
fn incr_keeps_ttl_and_reports() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["set", "n", "5", "ex", "100"]);
    let (reply, events, dirty) = run_events(&e, &mut c, &["incrby", "n", "5"]);
    assert_eq!((reply.as_str(), events, dirty), (":10\r\n", vec!["$:incrby:n".to_string()], 1));
    assert!(expire_of(&e, "n").is_some());
    let (_, events, _) = run_events(&e, &mut c, &["decr", "n"]);
    assert_eq!(events, ["$:incrby:n"]);
    run(&e, &mut c, &["set", "s", "1234567890123", "ex", "100"]);
    run(&e, &mut c, &["append", "s", "4"]);
    assert_eq!(run(&e, &mut c, &["incr", "s"]), ":12345678901235\r\n");
    assert!(expire_of(&e, "s").is_some());
}

#[test]
fn incrbyfloat_cases() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["incrbyfloat", "f", "1"]), "$1\r\n1\r\n");
    assert_eq!(run(&e, &mut c, &["incrbyfloat", "f", "0.25"]), "$4\r\n1.25\r\n");
    assert_eq!(run(&e, &mut c, &["get", "f"]), "$4\r\n1.25\r\n");
    run(&e, &mut c, &["set", "f", "10.5"]);
    assert_eq!(run(&e, &mut c, &["incrbyfloat", "f", "0.1"]), "$4\r\n10.6\r\n");
    run(&e, &mut c, &["set", "f", "3.0e3"]);
    assert_eq!(run(&e, &mut c, &["incrbyfloat", "f", "2.0e2"]), "$4\r\n3200\r\n");
    run(&e, &mut c, &["set", "f", "17179869184"]);
    assert_eq!(run(&e, &mut c, &["incrbyfloat", "f", "1.5"]), "$13\r\n17179869185.5\r\n");
    run(&e, &mut c, &["set", "f", "1"]);
    assert_eq!(run(&e, &mut c, &["incrbyfloat", "f", "-1.1"]), "$4\r\n-0.1\r\n");
    // Result stored as text; INCR on a whole result still works.
    run(&e, &mut c, &["set", "g", "1.5"]);
    assert_eq!(run(&e, &mut c, &["incrbyfloat", "g", "1.5"]), "$1\r\n3\r\n");
    assert_eq!(run(&e, &mut c, &["incr", "g"]), ":4\r\n");
    let not_float = "-ERR value is not a valid float\r\n";
    for v in ["    11", "11    ", " 11 ", "abc", "nan", "1\x002"] {
        run(&e, &mut c, &["set", "bad", v]);
        assert_eq!(run(&e, &mut c, &["incrbyfloat", "bad", "1.0"]), not_float, "{v:?}");
    }
    assert_eq!(run(&e, &mut c, &["incrbyfloat", "f", "v"]), not_float);
    assert_eq!(run(&e, &mut c, &["incrbyfloat", "nokey", "v"]), not_float);
    assert_eq!(run(&e, &mut c, &["exists", "nokey"]), ":0\r\n");
    run(&e, &mut c, &["set", "z", "0"]);
    assert_eq!(run(&e, &mut c, &["incrbyfloat", "z", "+inf"]), "-ERR increment would produce NaN or Infinity\r\n");
    assert_eq!(run(&e, &mut c, &["get", "z"]), "$1\r\n0\r\n");
    run(&e, &mut c, &["set", "t", "1", "ex", "100"]);
    let (reply, events, _) = run_events(&e, &mut c, &["incrbyfloat", "t", "0.5"]);
    assert_eq!((reply.as_str(), events), ("$3\r\n1.5\r\n", vec!["$:incrbyfloat:t".to_string()]));
    assert!(expire_of(&e, "t").is_some(), "INCRBYFLOAT keeps the TTL");
}

#[test]
fn incrbyfloat_no_negative_zero() {
    let (e, mut c) = setup();
    let third = format!("{}", 1.0f64 / 41.0);
    let minus = format!("{}", -1.0f64 / 41.0);
    run(&e, &mut c, &["incrbyfloat", "foo", &third]);
    run(&e, &mut c, &["incrbyfloat", "foo", &minus]);
    assert_eq!(run(&e, &mut c, &["get", "foo"]), "$1\r\n0\r\n");
}

#[test]
fn lcs_replies() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["mset", "a", "ohmytext", "b", "mynewtext"]);
    assert_eq!(run(&e, &mut c, &["lcs", "a", "b"]), "$6\r\nmytext\r\n");
    assert_eq!(run(&e, &mut c, &["lcs", "a", "b", "len"]), ":6\r\n");
    assert_eq!(
        run(&e, &mut c, &["lcs", "a", "b", "idx"]),
        "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        run(&e, &mut c, &["lcs", "a", "b", "idx", "minmatchlen", "4", "withmatchlen"]),
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(run(&e, &mut c, &["lcs", "a", "b", "minmatchlen", "-5", "len"]), ":6\r\n");
    assert_eq!(run(&e, &mut c, &["lcs", "a", "nokey"]), "$0\r\n\r\n");
    assert_eq!(run(&e, &mut c, &["lcs", "x", "y", "idx"]), "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n");
    assert_eq!(
        run(&e, &mut c, &["lcs", "a", "b", "len", "idx"]),
        "-ERR If you want both the length and indexes, please just use IDX.\r\n"
    );
    assert_eq!(run(&e, &mut c, &["lcs", "a", "b", "minmatchlen"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["lcs", "a", "b", "bogus"]), "-ERR syntax error\r\n");
    assert_eq!(
        run(&e, &mut c, &["lcs", "a", "b", "minmatchlen", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(run(&e, &mut c, &["lcs", "a"]), "-ERR wrong number of arguments for 'lcs' command\r\n");
    run(&e, &mut c, &["set", "n", "12345"]);
    run(&e, &mut c, &["set", "m", "2x4"]);
    assert_eq!(run(&e, &mut c, &["lcs", "n", "m"]), "$2\r\n24\r\n");
    let mut c3 = client(&e);
    run(&e, &mut c3, &["hello", "3"]);
    assert!(run(&e, &mut c3, &["lcs", "x", "y", "idx"]).starts_with("%2\r\n$7\r\nmatches\r\n*0\r\n"));
}

#[test]
fn lcs_table_is_bounded_by_proto_max_bulk_len() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["config", "set", "proto-max-bulk-len", "1048576"]);
    let s = "a".repeat(600);
    run(&e, &mut c, &["mset", "a", &s, "b", &s]);
    assert_eq!(
        run(&e, &mut c, &["lcs", "a", "b", "len"]),
        "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n"
    );
    run(&e, &mut c, &["set", "b", "aaa"]);
    assert_eq!(run(&e, &mut c, &["lcs", "a", "b", "len"]), ":3\r\n");
}

#[test]
fn resp3_nulls() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["hello", "3"]);
    assert_eq!(run(&e, &mut c, &["get", "k"]), "_\r\n");
    assert_eq!(run(&e, &mut c, &["mget", "k"]), "*1\r\n_\r\n");
    assert_eq!(run(&e, &mut c, &["set", "k", "v", "xx"]), "_\r\n");
}
