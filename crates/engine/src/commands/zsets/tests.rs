//! Unit tests of the sorted set commands, through the dispatcher against a fresh engine:
//! replies (RESP2 and RESP3), every error text, wrong types, encodings at the configured
//! limits, keyspace events and `dirty`, and the blocking pops' serve functions.

use crate::client::Client;
use crate::commands::table::Lookup;
use crate::commands::Ctx;
use crate::db::Keys;
use crate::engine::Engine;
use crate::exec::execute;
use crate::exec::tests::client;
use crate::keyspace::LockSet;
use resp::Reply;
use std::sync::Arc;

/// Runs a command given as words (no word may contain a space).
fn run(e: &Engine, c: &mut Client, cmd: &str) -> String {
    let argv: Vec<&[u8]> = cmd.split(' ').map(|a| a.as_bytes()).collect();
    raw(e, c, &argv)
}

fn raw(e: &Engine, c: &mut Client, argv: &[&[u8]]) -> String {
    let mut out = Reply::new(c.resp3);
    execute(e, c, argv, &mut out);
    show(out.as_bytes())
}

/// A compact rendering of a reply: `:1`, `"a"`, `nil`, `[...]`, `,1.5` (RESP3 double),
/// `-ERR ...`.
fn show(bytes: &[u8]) -> String {
    let (v, used) = resp::Value::parse(bytes).expect("one complete reply");
    assert_eq!(used, bytes.len(), "exactly one reply");
    fn render(v: &resp::Value) -> String {
        use resp::Value::*;
        match v {
            Simple(s) => format!("+{}", String::from_utf8_lossy(s)),
            Error(s) => format!("-{}", String::from_utf8_lossy(s)),
            Int(i) => format!(":{i}"),
            Bulk(b) => format!("{:?}", String::from_utf8_lossy(b)),
            Null => "nil".into(),
            Array(items) | Set(items) | Push(items) => {
                format!("[{}]", items.iter().map(render).collect::<Vec<_>>().join(" "))
            }
            Double(d) => {
                let mut s = b",".to_vec();
                resp::number::push_double(&mut s, *d);
                String::from_utf8(s).unwrap()
            }
            other => format!("{other:?}"),
        }
    }
    render(&v)
}

fn setup() -> (Arc<Engine>, Client) {
    let e = Engine::for_tests();
    let c = client(&e);
    (e, c)
}

fn encoding(e: &Engine, c: &mut Client, key: &str) -> String {
    run(e, c, &format!("OBJECT ENCODING {key}"))
}

/// Runs a handler directly with every shard locked; returns the reply, the events
/// (`event key`) and the `dirty` increment.
fn run_events(e: &Engine, c: &mut Client, cmd: &str) -> (String, Vec<String>, u64) {
    let argv: Vec<&[u8]> = cmd.split(' ').map(|a| a.as_bytes()).collect();
    let Lookup::Found(resolved) = e.commands.lookup(&argv) else { panic!("no such command") };
    let mut set = LockSet::new();
    set.add_db(c.db);
    let keys = Keys::new(e, e.keyspace.lock(&set), c.db, crate::util::now_ms(), true);
    let mut reply = Reply::new(c.resp3);
    let mut ctx = Ctx { keys, out: &mut reply, client: c, engine: e, cmd: resolved };
    if let Err(err) = (resolved.def.handler.unwrap())(&mut ctx, &argv) {
        ctx.out.truncate(0);
        ctx.out.error_bytes(err.text());
    }
    let Ctx { keys, out, .. } = ctx;
    let effects = keys.finish();
    let events = effects.events.iter().map(|ev| format!("{} {}", ev.event, String::from_utf8_lossy(&ev.key))).collect();
    (show(out.as_bytes()), events, effects.dirty)
}

fn events_on(e: &Engine) {
    e.config.set("notify-keyspace-events", &[b"KEA"]).unwrap();
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn zadd_basics_and_options() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, "ZADD z 1 a 2 b 3 c"), ":3");
    assert_eq!(run(&e, &mut c, "ZADD z 1 a 5 b"), ":0");
    assert_eq!(run(&e, &mut c, "ZADD z CH 1 a 6 b 7 d"), ":2");
    assert_eq!(run(&e, &mut c, "ZRANGE z 0 -1 WITHSCORES"), r#"["a" "1" "c" "3" "b" "6" "d" "7"]"#);
    assert_eq!(run(&e, &mut c, "ZADD z NX 100 a 4 e"), ":1");
    assert_eq!(run(&e, &mut c, "ZSCORE z a"), r#""1""#);
    assert_eq!(run(&e, &mut c, "ZADD z XX 100 a 4 f"), ":0");
    assert_eq!(run(&e, &mut c, "ZSCORE z a"), r#""100""#);
    assert_eq!(run(&e, &mut c, "ZSCORE z f"), "nil");
    assert_eq!(run(&e, &mut c, "ZADD z GT CH 50 a 200 c"), ":1");
    assert_eq!(run(&e, &mut c, "ZMSCORE z a c"), r#"["100" "200"]"#);
    assert_eq!(run(&e, &mut c, "ZADD z LT CH 150 a 1 c 0 g"), ":2");
    assert_eq!(run(&e, &mut c, "ZMSCORE z a c g"), r#"["100" "1" "0"]"#);
    assert_eq!(run(&e, &mut c, "ZADD z XX GT CH 1000 a 1000 nope"), ":1");
    assert_eq!(run(&e, &mut c, "zadd z nx ch incr 1 new"), r#""1""#);
    assert_eq!(run(&e, &mut c, "ZADD z INCR 2.5 new"), r#""3.5""#);
    assert_eq!(run(&e, &mut c, "ZADD z NX INCR 2.5 new"), "nil");
    assert_eq!(run(&e, &mut c, "ZADD z GT INCR -1 new"), "nil");
    assert_eq!(run(&e, &mut c, "ZADD missing XX 1 a"), ":0");
    assert_eq!(run(&e, &mut c, "ZADD missing XX INCR 1 a"), "nil");
    assert_eq!(run(&e, &mut c, "EXISTS missing"), ":0");
    // Scores in strtod's spellings.
    assert_eq!(run(&e, &mut c, "ZADD s 0x10 hex -inf low +inf high 1e3 e .5 half"), ":5");
    assert_eq!(
        run(&e, &mut c, "ZRANGE s 0 -1 WITHSCORES"),
        r#"["low" "-inf" "half" "0.5" "hex" "16" "e" "1000" "high" "inf"]"#
    );
}

#[test]
fn zadd_errors() {
    let (e, mut c) = setup();
    for (cmd, err) in [
        ("ZADD z", "-ERR wrong number of arguments for 'zadd' command"),
        ("ZADD z 1", "-ERR wrong number of arguments for 'zadd' command"),
        ("ZADD z 1 a 2", "-ERR syntax error"),
        ("ZADD z NX 1", "-ERR syntax error"),
        ("ZADD z NX XX 1 a", "-ERR XX and NX options at the same time are not compatible"),
        ("ZADD z NX GT 1 a", "-ERR GT, LT, and/or NX options at the same time are not compatible"),
        ("ZADD z GT LT 1 a", "-ERR GT, LT, and/or NX options at the same time are not compatible"),
        ("ZADD z INCR 1 a 2 b", "-ERR INCR option supports a single increment-element pair"),
        ("ZADD z nan a", "-ERR value is not a valid float"),
        ("ZADD z 1 a x b", "-ERR value is not a valid float"),
        ("ZADD z 1e400 a", "-ERR value is not a valid float"),
        ("ZINCRBY z x a", "-ERR value is not a valid float"),
        ("ZINCRBY z 1", "-ERR wrong number of arguments for 'zincrby' command"),
    ] {
        assert_eq!(run(&e, &mut c, cmd), err, "{cmd}");
    }
    // Nothing was created by the failed commands.
    assert_eq!(run(&e, &mut c, "EXISTS z"), ":0");
    // The increment is parsed like ZADD's options: "nx" as increment is an option.
    assert_eq!(run(&e, &mut c, "ZINCRBY z nx a"), "-ERR syntax error");
    assert_eq!(run(&e, &mut c, "ZADD z 1 a"), ":1");
    assert_eq!(run(&e, &mut c, "ZINCRBY z inf a"), r#""inf""#);
    assert_eq!(run(&e, &mut c, "ZINCRBY z -inf a"), "-ERR resulting score is not a number (NaN)");
    assert_eq!(run(&e, &mut c, "ZSCORE z a"), r#""inf""#);
    assert_eq!(run(&e, &mut c, "SET s x"), "+OK");
    assert_eq!(run(&e, &mut c, "ZADD s 1 a"), WRONGTYPE);
    assert_eq!(run(&e, &mut c, "ZINCRBY s 1 a"), WRONGTYPE);
    // Syntax errors come before the type check, scores before the lookup.
    assert_eq!(run(&e, &mut c, "ZADD s x a"), "-ERR value is not a valid float");
}

#[test]
fn zincrby_replies_and_creates() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, "ZINCRBY z 2 a"), r#""2""#);
    assert_eq!(run(&e, &mut c, "ZINCRBY z -0.5 a"), r#""1.5""#);
    assert_eq!(run(&e, &mut c, "ZINCRBY z 0.1 a"), r#""1.6""#);
    c.resp3 = true;
    assert_eq!(run(&e, &mut c, "ZINCRBY z 0 a"), ",1.6");
    assert_eq!(run(&e, &mut c, "ZSCORE z a"), ",1.6");
    assert_eq!(run(&e, &mut c, "ZSCORE z nope"), "nil");
}

#[test]
fn zadd_events_and_dirty() {
    let (e, mut c) = setup();
    events_on(&e);
    e.config.set("notify-keyspace-events", &[b"KEAn"]).unwrap();
    let (r, ev, dirty) = run_events(&e, &mut c, "ZADD z 1 a 2 b");
    assert_eq!((r.as_str(), ev, dirty), (":2", vec!["new z".to_string(), "zadd z".into()], 2));
    let (_, ev, dirty) = run_events(&e, &mut c, "ZADD z 1 a 3 b 4 c");
    assert_eq!((ev, dirty), (vec!["zadd z".to_string()], 2));
    let (_, ev, dirty) = run_events(&e, &mut c, "ZADD z 1 a");
    assert_eq!((ev, dirty), (vec![], 0), "no change, no event");
    let (_, ev, _) = run_events(&e, &mut c, "ZINCRBY z 1 a");
    assert_eq!(ev, vec!["zincr z".to_string()]);
    let (_, ev, _) = run_events(&e, &mut c, "ZADD z INCR 0 a");
    assert_eq!(ev, Vec::<String>::new());
}

#[test]
fn encodings_follow_the_configured_limits() {
    let (e, mut c) = setup();
    e.config.set("zset-max-listpack-entries", &[b"4"]).unwrap();
    e.config.set("zset-max-listpack-value", &[b"8"]).unwrap();
    assert_eq!(run(&e, &mut c, "ZADD z 1 a 2 b 3 c 4 d"), ":4");
    assert_eq!(encoding(&e, &mut c, "z"), r#""listpack""#);
    assert_eq!(run(&e, &mut c, "ZADD z 5 e"), ":1");
    assert_eq!(encoding(&e, &mut c, "z"), r#""skiplist""#);
    // Removing members does not convert back.
    assert_eq!(run(&e, &mut c, "ZREM z a b c d"), ":4");
    assert_eq!(encoding(&e, &mut c, "z"), r#""skiplist""#);
    // Too many elements announced, or a member too long: skiplist from the start.
    assert_eq!(run(&e, &mut c, "ZADD big 1 a 2 b 3 c 4 d 5 e"), ":5");
    assert_eq!(encoding(&e, &mut c, "big"), r#""skiplist""#);
    assert_eq!(run(&e, &mut c, "ZADD long 1 123456789"), ":1");
    assert_eq!(encoding(&e, &mut c, "long"), r#""skiplist""#);
    assert_eq!(run(&e, &mut c, "ZADD fits 1 12345678"), ":1");
    assert_eq!(encoding(&e, &mut c, "fits"), r#""listpack""#);
    // An existing listpack converts when a command announces too much.
    assert_eq!(run(&e, &mut c, "ZADD fits 1 a 1 b 1 c 1 d 1 e"), ":5");
    assert_eq!(encoding(&e, &mut c, "fits"), r#""skiplist""#);
    // Results built from scratch go back to a listpack when they fit.
    assert_eq!(run(&e, &mut c, "ZUNIONSTORE u 1 z"), ":1");
    assert_eq!(encoding(&e, &mut c, "u"), r#""listpack""#);
    assert_eq!(run(&e, &mut c, "ZRANGESTORE r big 0 1"), ":2");
    assert_eq!(encoding(&e, &mut c, "r"), r#""listpack""#);
    assert_eq!(run(&e, &mut c, "ZRANGESTORE r big 0 -1"), ":5");
    assert_eq!(encoding(&e, &mut c, "r"), r#""skiplist""#);
    // Both encodings give the same answers.
    for key in ["big", "r"] {
        assert_eq!(run(&e, &mut c, &format!("ZRANGE {key} 1 3 WITHSCORES")), r#"["b" "2" "c" "3" "d" "4"]"#);
        assert_eq!(run(&e, &mut c, &format!("ZRANK {key} d WITHSCORE")), r#"[:3 "4"]"#);
    }
}

#[test]
fn zrem_and_emptied_keys() {
    let (e, mut c) = setup();
    events_on(&e);
    run(&e, &mut c, "ZADD z 1 a 2 b 3 c");
    assert_eq!(run(&e, &mut c, "ZREM z a x"), ":1");
    assert_eq!(run(&e, &mut c, "ZREM missing a"), ":0");
    let (r, ev, dirty) = run_events(&e, &mut c, "ZREM z b c d");
    assert_eq!((r.as_str(), ev, dirty), (":2", vec!["zrem z".to_string(), "del z".into()], 2));
    assert_eq!(run(&e, &mut c, "EXISTS z"), ":0");
    assert_eq!(run(&e, &mut c, "ZREM z"), "-ERR wrong number of arguments for 'zrem' command");
    run(&e, &mut c, "SET s x");
    assert_eq!(run(&e, &mut c, "ZREM s a"), WRONGTYPE);
}

#[test]
fn reads_on_missing_and_wrong_keys() {
    let (e, mut c) = setup();
    run(&e, &mut c, "SET s x");
    for cmd in [
        "ZCARD s",
        "ZSCORE s a",
        "ZMSCORE s a",
        "ZRANK s a",
        "ZRANGE s 0 1",
        "ZCOUNT s 0 1",
        "ZLEXCOUNT s - +",
        "ZRANDMEMBER s",
        "ZRANDMEMBER s 2",
        "ZSCAN s 0",
        "ZPOPMIN s",
        "ZREMRANGEBYRANK s 0 1",
        "ZUNION 1 s",
        "ZRANGESTORE d s 0 1",
    ] {
        assert_eq!(run(&e, &mut c, cmd), WRONGTYPE, "{cmd}");
    }
    for (cmd, want) in [
        ("ZCARD m", ":0"),
        ("ZSCORE m a", "nil"),
        ("ZMSCORE m a b", "[nil nil]"),
        ("ZRANK m a", "nil"),
        ("ZRANK m a WITHSCORE", "nil"),
        ("ZRANGE m 0 -1", "[]"),
        ("ZCOUNT m -inf +inf", ":0"),
        ("ZRANDMEMBER m", "nil"),
        ("ZRANDMEMBER m 5", "[]"),
        ("ZSCAN m 0", r#"["0" []]"#),
        ("ZSCAN m 0 COUNT 0", r#"["0" []]"#),
        ("ZPOPMIN m", "[]"),
        ("ZMPOP 1 m MIN", "nil"),
        ("ZREMRANGEBYSCORE m -inf +inf", ":0"),
        ("ZUNION 2 m n", "[]"),
    ] {
        assert_eq!(run(&e, &mut c, cmd), want, "{cmd}");
    }
    // The two nulls differ in RESP2.
    let mut out = Reply::new(false);
    execute(&e, &mut c, &[b"ZRANK", b"m", b"a", b"WITHSCORE"], &mut out);
    assert_eq!(out.as_bytes(), b"*-1\r\n");
    let mut out = Reply::new(false);
    execute(&e, &mut c, &[b"ZRANK", b"m", b"a"], &mut out);
    assert_eq!(out.as_bytes(), b"$-1\r\n");
}

#[test]
fn zrank_and_zrevrank() {
    let (e, mut c) = setup();
    run(&e, &mut c, "ZADD z 1 a 2 b 3 c");
    assert_eq!(run(&e, &mut c, "ZRANK z a"), ":0");
    assert_eq!(run(&e, &mut c, "ZREVRANK z a"), ":2");
    assert_eq!(run(&e, &mut c, "ZRANK z c withscore"), r#"[:2 "3"]"#);
    assert_eq!(run(&e, &mut c, "ZREVRANK z c WITHSCORE"), r#"[:0 "3"]"#);
    assert_eq!(run(&e, &mut c, "ZRANK z x WITHSCORE"), "nil");
    assert_eq!(run(&e, &mut c, "ZRANK z a foo"), "-ERR syntax error");
    assert_eq!(run(&e, &mut c, "ZRANK z a WITHSCORE x"), "-ERR wrong number of arguments for 'zrank' command");
    assert_eq!(run(&e, &mut c, "ZREVRANK m a foo"), "-ERR syntax error", "checked before the lookup");
    c.resp3 = true;
    assert_eq!(run(&e, &mut c, "ZRANK z b WITHSCORE"), "[:1 ,2]");
}

#[test]
fn zcount_and_zlexcount() {
    let (e, mut c) = setup();
    run(&e, &mut c, "ZADD z 1 a 2 b 3 c 4 d");
    for (cmd, want) in [
        ("ZCOUNT z -inf +inf", ":4"),
        ("ZCOUNT z (1 3", ":2"),
        ("ZCOUNT z 2 2", ":1"),
        ("ZCOUNT z (2 2", ":0"),
        ("ZCOUNT z 5 1", ":0"),
        ("ZCOUNT z x 1", "-ERR min or max is not a float"),
        ("ZCOUNT m x 1", "-ERR min or max is not a float"),
        ("ZCOUNT z [1 2", "-ERR min or max is not a float"),
    ] {
        assert_eq!(run(&e, &mut c, cmd), want, "{cmd}");
    }
    run(&e, &mut c, "ZADD l 0 a 0 b 0 c 0 d 0 e");
    for (cmd, want) in [
        ("ZLEXCOUNT l - +", ":5"),
        ("ZLEXCOUNT l [b (d", ":2"),
        ("ZLEXCOUNT l (b +", ":3"),
        ("ZLEXCOUNT l + -", ":0"),
        ("ZLEXCOUNT l a +", "-ERR min or max not valid string range item"),
        ("ZLEXCOUNT m a +", "-ERR min or max not valid string range item"),
    ] {
        assert_eq!(run(&e, &mut c, cmd), want, "{cmd}");
    }
    // The empty string and a bare strtod's leniency are valid score bounds.
    assert_eq!(raw(&e, &mut c, &[b"ZCOUNT", b"z", b"", b" 2"]), ":2");
    assert_eq!(raw(&e, &mut c, &[b"ZCOUNT", b"z", b"(", b"1e999"]), ":4");
}

#[test]
fn zrange_by_rank() {
    let (e, mut c) = setup();
    run(&e, &mut c, "ZADD z 1 a 2 b 3 c 4 d");
    for (cmd, want) in [
        ("ZRANGE z 0 -1", r#"["a" "b" "c" "d"]"#),
        ("ZRANGE z 1 2 WITHSCORES", r#"["b" "2" "c" "3"]"#),
        ("ZRANGE z -2 100", r#"["c" "d"]"#),
        ("ZRANGE z -100 0", r#"["a"]"#),
        ("ZRANGE z 3 1", "[]"),
        ("ZRANGE z 4 10", "[]"),
        ("ZRANGE z 0 -1 REV", r#"["d" "c" "b" "a"]"#),
        ("ZRANGE z 0 1 REV WITHSCORES", r#"["d" "4" "c" "3"]"#),
        ("ZREVRANGE z 1 2", r#"["c" "b"]"#),
        ("ZREVRANGE z 0 0 WITHSCORES", r#"["d" "4"]"#),
        ("ZRANGE z 0 -1 LIMIT 0 -1", r#"["a" "b" "c" "d"]"#),
        (
            "ZRANGE z 0 -1 LIMIT 0 1",
            "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ),
        ("ZRANGE z 0 -1 BYLEX WITHSCORES", "-ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
        ("ZRANGE z x 1", "-ERR value is not an integer or out of range"),
        ("ZRANGE z 0 1 FOO", "-ERR syntax error"),
        ("ZRANGE z 0 1 LIMIT 1", "-ERR syntax error"),
        ("ZREVRANGE z 0 1 REV", "-ERR syntax error"),
        ("ZREVRANGE z 0 1 BYSCORE", "-ERR syntax error"),
        ("ZRANGE z 9223372036854775807 -9223372036854775808", "[]"),
    ] {
        assert_eq!(run(&e, &mut c, cmd), want, "{cmd}");
    }
    c.resp3 = true;
    assert_eq!(run(&e, &mut c, "ZRANGE z 0 1 WITHSCORES"), r#"[["a" ,1] ["b" ,2]]"#);
}

#[test]
fn zrange_by_score() {
    let (e, mut c) = setup();
    for (limits, label) in [("128", "listpack"), ("0", "skiplist")] {
        e.config.set("zset-max-listpack-entries", &[limits.as_bytes()]).unwrap();
        run(&e, &mut c, "DEL z");
        run(&e, &mut c, "ZADD z 1 a 2 b 3 c 4 d 5 e");
        assert_eq!(encoding(&e, &mut c, "z"), format!("{label:?}"));
        for (cmd, want) in [
            ("ZRANGEBYSCORE z 2 4", r#"["b" "c" "d"]"#),
            ("ZRANGEBYSCORE z (2 +inf WITHSCORES", r#"["c" "3" "d" "4" "e" "5"]"#),
            ("ZRANGEBYSCORE z -inf (2", r#"["a"]"#),
            ("ZRANGEBYSCORE z 2 4 LIMIT 1 1", r#"["c"]"#),
            ("ZRANGEBYSCORE z 2 4 LIMIT 1 -1", r#"["c" "d"]"#),
            ("ZRANGEBYSCORE z 2 4 LIMIT 5 1", "[]"),
            ("ZRANGEBYSCORE z 2 4 LIMIT 0 0", "[]"),
            ("ZREVRANGEBYSCORE z 4 2", r#"["d" "c" "b"]"#),
            ("ZREVRANGEBYSCORE z +inf -inf LIMIT 1 2 WITHSCORES", r#"["d" "4" "c" "3"]"#),
            ("ZRANGE z 4 2 BYSCORE REV", r#"["d" "c" "b"]"#),
            ("ZRANGE z (1 (5 BYSCORE LIMIT 1 10", r#"["c" "d"]"#),
            ("ZRANGEBYSCORE z 4 2", "[]"),
            ("ZRANGEBYSCORE z x 2", "-ERR min or max is not a float"),
            ("ZRANGEBYSCORE z 1 2 LIMIT x 1", "-ERR value is not an integer or out of range"),
            ("ZRANGEBYSCORE z 1 2 REV", "-ERR syntax error"),
        ] {
            assert_eq!(run(&e, &mut c, cmd), want, "{label}: {cmd}");
        }
    }
    // A negative offset: nothing from a listpack; counted from the end of the range in a
    // skiplist (Valkey 8's zslNthInRange).
    e.config.set("zset-max-listpack-entries", &[b"128"]).unwrap();
    run(&e, &mut c, "ZADD lp 1 a 2 b 3 c");
    assert_eq!(run(&e, &mut c, "ZRANGEBYSCORE lp -inf +inf LIMIT -1 5"), "[]");
    e.config.set("zset-max-listpack-entries", &[b"0"]).unwrap();
    run(&e, &mut c, "ZADD sl 1 a 2 b 3 c");
    assert_eq!(run(&e, &mut c, "ZRANGEBYSCORE sl -inf +inf LIMIT -2 5"), r#"["b" "c"]"#);
    assert_eq!(run(&e, &mut c, "ZREVRANGEBYSCORE sl +inf -inf LIMIT -1 5"), r#"["a"]"#);
}

#[test]
fn zrange_by_lex() {
    let (e, mut c) = setup();
    for limits in ["128", "0"] {
        e.config.set("zset-max-listpack-entries", &[limits.as_bytes()]).unwrap();
        run(&e, &mut c, "DEL z");
        run(&e, &mut c, "ZADD z 0 a 0 b 0 c 0 d 0 e 0 f");
        for (cmd, want) in [
            ("ZRANGEBYLEX z - +", r#"["a" "b" "c" "d" "e" "f"]"#),
            ("ZRANGEBYLEX z [b (e", r#"["b" "c" "d"]"#),
            ("ZRANGEBYLEX z (b [e LIMIT 1 2", r#"["d" "e"]"#),
            ("ZREVRANGEBYLEX z + [d", r#"["f" "e" "d"]"#),
            ("ZREVRANGEBYLEX z (d - LIMIT 1 -1", r#"["b" "a"]"#),
            ("ZRANGE z [c + BYLEX LIMIT 0 2", r#"["c" "d"]"#),
            ("ZRANGE z (e - BYLEX REV", r#"["d" "c" "b" "a"]"#),
            ("ZRANGEBYLEX z + -", "[]"),
            ("ZRANGEBYLEX z b +", "-ERR min or max not valid string range item"),
            ("ZRANGEBYLEX z - + WITHSCORES", "-ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
        ] {
            assert_eq!(run(&e, &mut c, cmd), want, "{limits}: {cmd}");
        }
    }
}

#[test]
fn zrangestore_results_and_events() {
    let (e, mut c) = setup();
    events_on(&e);
    run(&e, &mut c, "ZADD src 1 a 2 b 3 c");
    let (r, ev, _) = run_events(&e, &mut c, "ZRANGESTORE dst src 0 1");
    assert_eq!((r.as_str(), ev), (":2", vec!["zrangestore dst".to_string()]));
    assert_eq!(run(&e, &mut c, "ZRANGE dst 0 -1 WITHSCORES"), r#"["a" "1" "b" "2"]"#);
    assert_eq!(run(&e, &mut c, "ZRANGESTORE dst src (1 +inf BYSCORE LIMIT 1 1"), ":1");
    assert_eq!(run(&e, &mut c, "ZRANGE dst 0 -1"), r#"["c"]"#);
    assert_eq!(run(&e, &mut c, "ZRANGESTORE dst src [a [b BYLEX REV"), ":0", "reversed bounds: empty");
    // An empty result deletes the destination.
    run(&e, &mut c, "ZRANGESTORE dst src 0 0");
    let (r, ev, _) = run_events(&e, &mut c, "ZRANGESTORE dst src 5 6");
    assert_eq!((r.as_str(), ev), (":0", vec!["del dst".to_string()]));
    let (r, ev, _) = run_events(&e, &mut c, "ZRANGESTORE dst missing 0 -1");
    assert_eq!((r.as_str(), ev), (":0", vec![]));
    // The destination is overwritten whatever it held; WITHSCORES is not an option here.
    run(&e, &mut c, "SET dst x");
    assert_eq!(run(&e, &mut c, "ZRANGESTORE dst src 0 -1"), ":3");
    assert_eq!(run(&e, &mut c, "TYPE dst"), "+zset");
    assert_eq!(run(&e, &mut c, "ZRANGESTORE dst src 0 -1 WITHSCORES"), "-ERR syntax error");
    assert_eq!(run(&e, &mut c, "ZRANGESTORE src src 1 1"), ":1", "source and destination the same");
    assert_eq!(run(&e, &mut c, "ZRANGE src 0 -1"), r#"["b"]"#);
}

#[test]
fn zremrange_family() {
    let (e, mut c) = setup();
    events_on(&e);
    for limits in ["128", "0"] {
        e.config.set("zset-max-listpack-entries", &[limits.as_bytes()]).unwrap();
        run(&e, &mut c, "DEL z");
        run(&e, &mut c, "ZADD z 1 a 2 b 3 c 4 d 5 e");
        assert_eq!(run(&e, &mut c, "ZREMRANGEBYRANK z 0 0"), ":1");
        assert_eq!(run(&e, &mut c, "ZREMRANGEBYRANK z -1 -1"), ":1");
        assert_eq!(run(&e, &mut c, "ZREMRANGEBYRANK z 5 10"), ":0");
        assert_eq!(run(&e, &mut c, "ZRANGE z 0 -1"), r#"["b" "c" "d"]"#);
        assert_eq!(run(&e, &mut c, "ZREMRANGEBYSCORE z (2 3"), ":1");
        assert_eq!(run(&e, &mut c, "ZREMRANGEBYSCORE z 10 20"), ":0");
        assert_eq!(run(&e, &mut c, "ZADD lex 0 w 0 x 0 y 0 z"), ":4");
        assert_eq!(run(&e, &mut c, "ZREMRANGEBYLEX lex (w [y"), ":2");
        assert_eq!(run(&e, &mut c, "ZRANGE lex 0 -1"), r#"["w" "z"]"#);
        run(&e, &mut c, "DEL lex");
        let (r, ev, dirty) = run_events(&e, &mut c, "ZREMRANGEBYSCORE z -inf +inf");
        assert_eq!((r.as_str(), ev, dirty), (":2", vec!["zremrangebyscore z".to_string(), "del z".into()], 2));
    }
    for (cmd, want) in [
        ("ZREMRANGEBYRANK z x 1", "-ERR value is not an integer or out of range"),
        ("ZREMRANGEBYSCORE z x 1", "-ERR min or max is not a float"),
        ("ZREMRANGEBYLEX z x +", "-ERR min or max not valid string range item"),
        ("ZREMRANGEBYRANK m 0 -1", ":0"),
    ] {
        assert_eq!(run(&e, &mut c, cmd), want, "{cmd}");
    }
    run(&e, &mut c, "ZADD z 1 a");
    let (_, ev, _) = run_events(&e, &mut c, "ZREMRANGEBYRANK z 0 -1");
    assert_eq!(ev, vec!["zremrangebyrank z".to_string(), "del z".into()]);
    run(&e, &mut c, "ZADD z 0 a 0 b");
    let (_, ev, _) = run_events(&e, &mut c, "ZREMRANGEBYLEX z - [a");
    assert_eq!(ev, vec!["zremrangebylex z".to_string()]);
}

#[test]
fn pops() {
    let (e, mut c) = setup();
    events_on(&e);
    run(&e, &mut c, "ZADD z 1 a 2 b 3 c 4 d");
    assert_eq!(run(&e, &mut c, "ZPOPMIN z"), r#"["a" "1"]"#);
    assert_eq!(run(&e, &mut c, "ZPOPMAX z 2"), r#"["d" "4" "c" "3"]"#);
    assert_eq!(run(&e, &mut c, "ZPOPMIN z 0"), "[]");
    assert_eq!(run(&e, &mut c, "ZPOPMIN z -1"), "-ERR value is out of range, must be positive");
    assert_eq!(run(&e, &mut c, "ZPOPMIN z x"), "-ERR value is out of range, must be positive");
    assert_eq!(run(&e, &mut c, "ZPOPMIN z 1 2"), "-ERR syntax error");
    let (r, ev, dirty) = run_events(&e, &mut c, "ZPOPMIN z 10");
    assert_eq!((r.as_str(), ev, dirty), (r#"["b" "2"]"#, vec!["zpopmin z".to_string(), "del z".into()], 1));
    assert_eq!(run(&e, &mut c, "ZPOPMIN z"), "[]");
    run(&e, &mut c, "ZADD z 1 a 2 b 3 c");
    c.resp3 = true;
    assert_eq!(run(&e, &mut c, "ZPOPMIN z"), r#"["a" ,1]"#);
    assert_eq!(run(&e, &mut c, "ZPOPMIN z 1"), r#"[["b" ,2]]"#);
    c.resp3 = false;
    // ZMPOP: the first non-empty key, nested pairs.
    run(&e, &mut c, "ZADD y 5 e 6 f");
    assert_eq!(run(&e, &mut c, "ZMPOP 3 m y z MAX COUNT 5"), r#"["y" [["f" "6"] ["e" "5"]]]"#);
    assert_eq!(run(&e, &mut c, "ZMPOP 2 m y MIN"), "nil");
    for (cmd, want) in [
        ("ZMPOP 0 z MIN", "-ERR numkeys should be greater than 0"),
        ("ZMPOP x z MIN", "-ERR numkeys should be greater than 0"),
        ("ZMPOP 2 z MIN", "-ERR syntax error"),
        ("ZMPOP 1 z FOO", "-ERR syntax error"),
        ("ZMPOP 1 z MIN COUNT 0", "-ERR count should be greater than 0"),
        ("ZMPOP 1 z MIN COUNT 1 COUNT 1", "-ERR syntax error"),
        ("ZMPOP 1 z MIN COUNT", "-ERR syntax error"),
        ("ZMPOP 9223372036854775807 z MIN", "-ERR syntax error"),
        ("ZMPOP 1 z min count 1", r#"["z" [["c" "3"]]]"#),
    ] {
        assert_eq!(run(&e, &mut c, cmd), want, "{cmd}");
    }
    run(&e, &mut c, "SET s x");
    assert_eq!(run(&e, &mut c, "ZMPOP 2 m s MIN"), WRONGTYPE);
}

#[test]
fn blocking_pops_that_find_members_do_not_block() {
    let (e, mut c) = setup();
    run(&e, &mut c, "ZADD z2 1 a 2 b");
    assert_eq!(run(&e, &mut c, "BZPOPMIN z1 z2 0"), r#"["z2" "a" "1"]"#);
    assert_eq!(run(&e, &mut c, "BZPOPMAX z1 z2 0.5"), r#"["z2" "b" "2"]"#);
    run(&e, &mut c, "ZADD z2 1 a 2 b 3 c");
    assert_eq!(run(&e, &mut c, "BZMPOP 1 2 z1 z2 MIN COUNT 2"), r#"["z2" [["a" "1"] ["b" "2"]]]"#);
    for (cmd, want) in [
        ("BZPOPMIN z x", "-ERR timeout is not a float or out of range"),
        ("BZPOPMIN z -1", "-ERR timeout is negative"),
        ("BZPOPMIN z 1e400", "-ERR timeout is out of range"),
        ("BZPOPMIN z inf", "-ERR timeout is out of range"),
        ("BZPOPMIN z 9223372036854775807", "-ERR timeout is out of range"),
        ("BZMPOP x 0 z MIN", "-ERR numkeys should be greater than 0"),
        ("BZMPOP x 1 z MIN", "-ERR timeout is not a float or out of range"),
    ] {
        assert_eq!(run(&e, &mut c, cmd), want, "{cmd}");
    }
    run(&e, &mut c, "SET s x");
    assert_eq!(run(&e, &mut c, "BZPOPMIN m s 0"), WRONGTYPE);
}

#[test]
fn timeouts_parse_like_valkey() {
    use super::pop::parse_timeout;
    assert_eq!(parse_timeout(b"0", 1000), Ok(None));
    assert_eq!(parse_timeout(b"1", 1000), Ok(Some(2000)));
    assert_eq!(parse_timeout(b"0.0001", 1000), Ok(Some(1001)), "rounded up");
    assert_eq!(parse_timeout(b"-0.0001", 1000), Ok(None), "-0.1 ms rounds up to 0: forever");
    assert_eq!(parse_timeout(b"1e-400", 1000), Ok(Some(1001)), "tiny for a double, not for a long double");
    assert_eq!(parse_timeout(b"0x10", 0), Ok(Some(16_000)));
    assert!(parse_timeout(b"1e99999", 0).is_err());
    assert!(parse_timeout(b" 1", 0).is_err());
}

/// Runs `cmd` (which must block) for `c` and returns its waiter.
fn block(e: &Engine, c: &mut Client, cmd: &str) -> Arc<crate::blocking::Waiter> {
    let argv: Vec<&[u8]> = cmd.split(' ').map(|a| a.as_bytes()).collect();
    let Lookup::Found(resolved) = e.commands.lookup(&argv) else { panic!() };
    let mut set = LockSet::new();
    set.add_db(c.db);
    let keys = Keys::new(e, e.keyspace.lock(&set), c.db, crate::util::now_ms(), true);
    let mut reply = Reply::new(c.resp3);
    let mut ctx = Ctx { keys, out: &mut reply, client: c, engine: e, cmd: resolved };
    (resolved.def.handler.unwrap())(&mut ctx, &argv).unwrap();
    let Ctx { keys, out, .. } = ctx;
    assert!(out.is_empty(), "a blocked command replies nothing yet");
    let effects = keys.finish();
    effects.block.expect("blocked").waiter
}

/// Runs a write for another client and serves the waiters it made ready, as the dispatcher
/// does; returns the events.
fn write_and_serve(e: &Engine, c: &mut Client, cmd: &str) -> Vec<String> {
    let argv: Vec<&[u8]> = cmd.split(' ').map(|a| a.as_bytes()).collect();
    let Lookup::Found(resolved) = e.commands.lookup(&argv) else { panic!() };
    let mut set = LockSet::new();
    set.add_db(c.db);
    let keys = Keys::new(e, e.keyspace.lock(&set), c.db, crate::util::now_ms(), true);
    let mut reply = Reply::new(c.resp3);
    let mut ctx = Ctx { keys, out: &mut reply, client: c, engine: e, cmd: resolved };
    (resolved.def.handler.unwrap())(&mut ctx, &argv).unwrap();
    let Ctx { keys, .. } = ctx;
    serve(keys)
}

/// Serves the ready waiters and finishes; returns the events.
fn serve(mut keys: Keys<'_>) -> Vec<String> {
    keys.serve_ready();
    let effects = keys.finish();
    assert!(effects.retry.is_empty(), "every shard was locked");
    effects.events.iter().map(|ev| format!("{} {}", ev.event, String::from_utf8_lossy(&ev.key))).collect()
}

fn served(w: &crate::blocking::Waiter) -> Option<String> {
    match w.slot.state() {
        crate::blocking::SlotState::Served(bytes) => Some(show(&bytes)),
        _ => None,
    }
}

#[test]
fn blocked_pops_are_served_by_writes() {
    let (e, mut c) = setup();
    events_on(&e);
    let mut other = client(&e);
    let w = block(&e, &mut c, "BZPOPMIN a b 0");
    assert_eq!(w.keys, vec![b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(served(&w), None);
    // A write to another key serves nobody; a write to one of the keys pops for the waiter,
    // right after the write, and the key is gone again.
    write_and_serve(&e, &mut other, "ZADD c 1 x");
    assert_eq!(served(&w), None);
    let events = write_and_serve(&e, &mut other, "ZADD b 1 x 2 y");
    assert_eq!(served(&w), Some(r#"["b" "x" "1"]"#.into()));
    assert_eq!(events, vec!["zadd b".to_string(), "zpopmin b".into()]);
    assert_eq!(run(&e, &mut other, "ZRANGE b 0 -1"), r#"["y"]"#);

    // FIFO: the first waiter is served first; a waiter that finds nothing stays blocked.
    run(&e, &mut other, "DEL b");
    let w1 = block(&e, &mut c, "BZPOPMAX k 0");
    let mut c2 = client(&e);
    c2.resp3 = true;
    let w2 = block(&e, &mut c2, "BZMPOP 0 1 k MAX COUNT 10");
    write_and_serve(&e, &mut other, "ZADD k 1 x");
    assert_eq!(served(&w1), Some(r#"["k" "x" "1"]"#.into()));
    assert_eq!(served(&w2), None);
    write_and_serve(&e, &mut other, "ZADD k 1 x 2 y");
    assert_eq!(served(&w2), Some(r#"["k" [["y" ,2] ["x" ,1]]]"#.into()), "served in its own protocol");

    // A key that became another type answers WRONGTYPE to the waiter.
    let w3 = block(&e, &mut c, "BZPOPMIN s t 0");
    write_and_serve(&e, &mut other, "SET s x");
    assert_eq!(served(&w3), None, "a string does not wake a sorted set waiter");
    write_and_serve(&e, &mut other, "ZADD t 1 x");
    assert_eq!(served(&w3), Some(WRONGTYPE.to_string()), "re-run in key order: s is checked first");
}

#[test]
fn blocked_waiter_uses_the_first_non_empty_key() {
    let (e, mut c) = setup();
    let mut other = client(&e);
    let w = block(&e, &mut c, "BZPOPMIN a b 0");
    // Both keys filled by one transaction: b is written (and made ready) first, but the
    // command runs again from its first key, as Valkey re-executes it.
    let mut set = LockSet::new();
    set.add_db(0);
    let mut keys = Keys::new(&e, e.keyspace.lock(&set), 0, crate::util::now_ms(), true);
    let limits = e.config.hot.zset_limits();
    for (key, member, score) in [(&b"b"[..], &b"x"[..], 1.0), (b"a", b"y", 2.0)] {
        let mut z = crate::types::zset::ZSet::new_for(1, 1, limits);
        z.add(member, score, Default::default(), limits).unwrap();
        keys.set(key, crate::types::Value::ZSet(z), crate::db::Ttl::Clear).unwrap();
        keys.changed(key, crate::notify::ZSET, "zadd");
    }
    serve(keys);
    assert_eq!(served(&w), Some(r#"["a" "y" "2"]"#.into()));
    assert_eq!(run(&e, &mut other, "ZCARD b"), ":1");
}

#[test]
fn set_operations() {
    let (e, mut c) = setup();
    run(&e, &mut c, "ZADD a 1 x 2 y 3 z");
    run(&e, &mut c, "ZADD b 10 y 20 z 30 w");
    for (cmd, want) in [
        ("ZUNION 2 a b WITHSCORES", r#"["x" "1" "y" "12" "z" "23" "w" "30"]"#),
        ("ZUNION 2 a b WEIGHTS 2 0.5 WITHSCORES", r#"["x" "2" "y" "9" "w" "15" "z" "16"]"#),
        ("ZUNION 2 a b AGGREGATE MIN WITHSCORES", r#"["x" "1" "y" "2" "z" "3" "w" "30"]"#),
        ("ZUNION 2 a b AGGREGATE max", r#"["x" "y" "z" "w"]"#),
        ("ZINTER 2 a b WITHSCORES", r#"["y" "12" "z" "23"]"#),
        ("ZINTER 2 a b AGGREGATE MAX WEIGHTS 1 -1 WITHSCORES", r#"["y" "2" "z" "3"]"#),
        ("ZINTER 2 a a WITHSCORES", r#"["x" "2" "y" "4" "z" "6"]"#),
        ("ZDIFF 2 a b WITHSCORES", r#"["x" "1"]"#),
        ("ZDIFF 2 a a", "[]"),
        ("ZDIFF 1 a", r#"["x" "y" "z"]"#),
        ("ZINTERCARD 2 a b", ":2"),
        ("ZINTERCARD 2 a b LIMIT 1", ":1"),
        ("ZINTERCARD 2 a b LIMIT 0", ":2"),
        ("ZINTERCARD 2 a missing", ":0"),
        ("ZUNION 0 a", "-ERR at least 1 input key is needed for 'zunion' command"),
        ("ZUNIONSTORE d 0 a", "-ERR at least 1 input key is needed for 'zunionstore' command"),
        ("ZINTERCARD 0 a", "-ERR at least 1 input key is needed for 'zintercard' command"),
        ("ZUNION 3 a b", "-ERR syntax error"),
        ("ZUNION x a", "-ERR value is not an integer or out of range"),
        ("ZUNION 2 a b WEIGHTS 1", "-ERR syntax error"),
        ("ZUNION 2 a b WEIGHTS 1 x", "-ERR weight value is not a float"),
        ("ZUNION 2 a b AGGREGATE avg", "-ERR syntax error"),
        ("ZDIFF 2 a b WEIGHTS 1 1", "-ERR syntax error"),
        ("ZUNIONSTORE d 2 a b WITHSCORES", "-ERR syntax error"),
        ("ZINTERCARD 2 a b LIMIT -1", "-ERR LIMIT can't be negative"),
        ("ZINTERCARD 2 a b LIMIT x", "-ERR LIMIT can't be negative"),
        ("ZINTERCARD 2 a b WITHSCORES", "-ERR syntax error"),
    ] {
        assert_eq!(run(&e, &mut c, cmd), want, "{cmd}");
    }
    // inf + -inf is 0; 0 * inf is 0.
    run(&e, &mut c, "ZADD p inf m");
    run(&e, &mut c, "ZADD n -inf m");
    assert_eq!(run(&e, &mut c, "ZUNION 2 p n WITHSCORES"), r#"["m" "0"]"#);
    assert_eq!(run(&e, &mut c, "ZUNION 1 p WEIGHTS 0 WITHSCORES"), r#"["m" "0"]"#);
    // Wrong types are found before options are parsed.
    run(&e, &mut c, "SET s x");
    assert_eq!(run(&e, &mut c, "ZUNION 2 a s WEIGHTS x y"), WRONGTYPE);
    c.resp3 = true;
    assert_eq!(run(&e, &mut c, "ZINTER 2 a b WITHSCORES"), r#"[["y" ,12] ["z" ,23]]"#);
}

#[test]
fn set_operations_store_with_events() {
    let (e, mut c) = setup();
    events_on(&e);
    run(&e, &mut c, "ZADD a 1 x 2 y");
    run(&e, &mut c, "ZADD b 3 y");
    let (r, ev, _) = run_events(&e, &mut c, "ZUNIONSTORE d 2 a b");
    assert_eq!((r.as_str(), ev), (":2", vec!["zunionstore d".to_string()]));
    let (r, ev, _) = run_events(&e, &mut c, "ZINTERSTORE d 2 a b");
    assert_eq!((r.as_str(), ev), (":1", vec!["zinterstore d".to_string()]));
    assert_eq!(run(&e, &mut c, "ZRANGE d 0 -1 WITHSCORES"), r#"["y" "5"]"#);
    let (r, ev, _) = run_events(&e, &mut c, "ZDIFFSTORE d 2 a b");
    assert_eq!((r.as_str(), ev), (":1", vec!["zdiffstore d".to_string()]));
    let (r, ev, _) = run_events(&e, &mut c, "ZDIFFSTORE d 2 a a");
    assert_eq!((r.as_str(), ev), (":0", vec!["del d".to_string()]));
    let (r, ev, _) = run_events(&e, &mut c, "ZINTERSTORE d 2 a missing");
    assert_eq!((r.as_str(), ev), (":0", vec![]));
    // The destination may be a source.
    assert_eq!(run(&e, &mut c, "ZUNIONSTORE a 2 a b WEIGHTS 2 1"), ":2");
    assert_eq!(run(&e, &mut c, "ZRANGE a 0 -1 WITHSCORES"), r#"["x" "2" "y" "7"]"#);
}

#[test]
fn zrandmember() {
    let (e, mut c) = setup();
    run(&e, &mut c, "ZADD z 1 a 2 b 3 c");
    for _ in 0..20 {
        let one = run(&e, &mut c, "ZRANDMEMBER z");
        assert!([r#""a""#, r#""b""#, r#""c""#].contains(&one.as_str()), "{one}");
    }
    assert_eq!(run(&e, &mut c, "ZRANDMEMBER z 0"), "[]");
    assert_eq!(
        run(&e, &mut c, "ZRANDMEMBER z 5 WITHSCORES"),
        r#"["c" "3" "b" "2" "a" "1"]"#,
        "whole set, highest first"
    );
    assert_eq!(run(&e, &mut c, "ZRANDMEMBER z -5").matches('"').count(), 10, "five members, repeats allowed");
    let two = run(&e, &mut c, "ZRANDMEMBER z 2");
    assert_eq!(two.matches('"').count(), 4);
    for (cmd, want) in [
        ("ZRANDMEMBER z 1 x", "-ERR syntax error"),
        ("ZRANDMEMBER z 1 WITHSCORES x", "-ERR syntax error"),
        ("ZRANDMEMBER z x", "-ERR value is not an integer or out of range"),
        (
            "ZRANDMEMBER z -9223372036854775808",
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ),
        ("ZRANDMEMBER z -9223372036854770000 WITHSCORES", "-ERR value is out of range"),
        ("ZRANDMEMBER m -5 WITHSCORES", "[]"),
    ] {
        assert_eq!(run(&e, &mut c, cmd), want, "{cmd}");
    }
    c.resp3 = true;
    assert_eq!(run(&e, &mut c, "ZRANDMEMBER z 3 WITHSCORES"), r#"[["c" ,3] ["b" ,2] ["a" ,1]]"#);
    // Unique samples from a big set are unique.
    e.config.set("zset-max-listpack-entries", &[b"0"]).unwrap();
    c.resp3 = false;
    let members: Vec<String> = (0..100).map(|i| format!("{i} m{i}")).collect();
    run(&e, &mut c, &format!("ZADD big {}", members.join(" ")));
    for count in [10, 50, 99] {
        let reply = run(&e, &mut c, &format!("ZRANDMEMBER big {count}"));
        let mut names: Vec<&str> = reply.trim_matches(['[', ']']).split(' ').collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count, "{reply}");
    }
}

#[test]
fn zrandmember_huge_negative_count_is_bounded() {
    let (e, mut c) = setup();
    run(&e, &mut c, &format!("ZADD z 1 {}", "m".repeat(1000)));
    let mut out = Reply::new(false);
    let argv: [&[u8]; 3] = [b"ZRANDMEMBER", b"z", b"-4611686018427387903"];
    let outcome = execute(&e, &mut c, &argv, &mut out);
    assert!(out.len() < super::basic::MAX_RANDOM_REPLY_BYTES / 100, "reply dropped, not kept");
    assert!(matches!(outcome, crate::exec::Outcome::Close));
}

#[test]
fn zscan_both_encodings() {
    let (e, mut c) = setup();
    run(&e, &mut c, "ZADD z 1 a 0.1 b 2.5 c");
    assert_eq!(run(&e, &mut c, "ZSCAN z 0"), r#"["0" ["b" "0.1" "a" "1" "c" "2.5"]]"#);
    assert_eq!(run(&e, &mut c, "ZSCAN z 0 MATCH [ab] NOSCORES"), r#"["0" ["b" "a"]]"#);
    for (cmd, want) in [
        ("ZSCAN z x", "-ERR invalid cursor"),
        ("ZSCAN z 0 COUNT 0", "-ERR syntax error"),
        ("ZSCAN z 0 TYPE zset", "-ERR syntax error"),
        ("ZSCAN z 0 NOVALUES", "-ERR NOVALUES option can only be used in HSCAN"),
        ("ZSCAN z 0 MATCH", "-ERR syntax error"),
        ("ZSCAN z 0 COUNT x", "-ERR value is not an integer or out of range"),
    ] {
        assert_eq!(run(&e, &mut c, cmd), want, "{cmd}");
    }
    // A big set: scores printed with %.17g, every member seen once over the iteration.
    e.config.set("zset-max-listpack-entries", &[b"0"]).unwrap();
    run(&e, &mut c, "ZADD big 0.1 x 1 y");
    let reply = run(&e, &mut c, "ZSCAN big 0 COUNT 100");
    assert!(reply.contains(r#""x" "0.10000000000000001""#) && reply.contains(r#""y" "1""#), "{reply}");
    let members: Vec<String> = (0..500).map(|i| format!("{i} m{i}")).collect();
    run(&e, &mut c, &format!("ZADD big {}", members.join(" ")));
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let reply = run(&e, &mut c, &format!("ZSCAN big {cursor} NOSCORES"));
        let (head, rest) = reply.trim_start_matches('[').split_once(' ').unwrap();
        cursor = head.trim_matches('"').to_string();
        for m in rest.trim_matches(['[', ']']).split(' ').filter(|s| !s.is_empty()) {
            seen.insert(m.to_string());
        }
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 502);
}

#[test]
fn table_declarations_match_valkey() {
    let t = crate::commands::table::CommandTable::build();
    let get = |n: &str| t.by_name(n.as_bytes()).unwrap_or_else(|| panic!("{n} missing")).def;
    assert_eq!(get("zadd").arity, -4);
    assert_eq!(get("bzmpop").arity, -5);
    // Key positions as COMMAND GETKEYS reports them.
    let keys = |cmd: &str| {
        let argv: Vec<&[u8]> = cmd.split(' ').map(|a| a.as_bytes()).collect();
        get(cmd.split(' ').next().unwrap()).key_positions(&argv)
    };
    assert_eq!(keys("zunionstore d 2 a b weights 1 2"), vec![1, 3, 4]);
    assert_eq!(keys("zrangestore d s 0 1"), vec![1, 2]);
    assert_eq!(keys("bzpopmin a b c 0"), vec![1, 2, 3]);
    assert_eq!(keys("bzmpop 0 2 a b min"), vec![3, 4]);
    assert_eq!(keys("zmpop 1 a max"), vec![2]);
    assert_eq!(keys("zintercard 2 a b limit 1"), vec![2, 3]);
    use crate::commands::table::acl;
    let zadd = get("zadd");
    assert_eq!(
        zadd.acl_categories() & (acl::SORTEDSET | acl::WRITE | acl::FAST),
        acl::SORTEDSET | acl::WRITE | acl::FAST
    );
    assert!(get("bzpopmin").acl_categories() & acl::BLOCKING != 0);
    assert!(get("zunion").acl_categories() & acl::SLOW != 0);
}
