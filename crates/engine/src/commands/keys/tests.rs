//! Unit tests of the generic key commands (`keys/`), run through the dispatcher against a
//! fresh engine, plus a direct-call harness that exposes the keyspace events and `dirty`.

use crate::client::Client;
use crate::commands::table::Lookup;
use crate::commands::Ctx;
use crate::db::Keys;
use crate::engine::Engine;
use crate::exec::execute;
use crate::exec::tests::{client, run};
use crate::keyspace::LockSet;
use crate::rdb::dump::crc64;
use resp::Reply;
use std::collections::HashSet;

fn raw(e: &Engine, c: &mut Client, argv: &[&[u8]]) -> Vec<u8> {
    let mut out = Reply::new(c.resp3);
    execute(e, c, argv, &mut out);
    out.as_bytes().to_vec()
}

/// Parses a RESP2 bulk reply.
fn bulk(reply: &[u8]) -> Option<Vec<u8>> {
    match resp::Value::parse(reply).expect("a complete reply").0 {
        resp::Value::Bulk(b) => Some(b.to_vec()),
        resp::Value::Null => None,
        other => panic!("not a bulk reply: {other:?}"),
    }
}

/// A DUMP payload, as bytes.
fn dump(e: &Engine, c: &mut Client, key: &str) -> Vec<u8> {
    bulk(&raw(e, c, &[b"dump", key.as_bytes()])).expect("key exists")
}

/// Runs a command's handler directly with every shard locked and returns its reply, the
/// events it reported (`event db key`) and its `dirty` increment.
fn run_events(e: &Engine, c: &mut Client, cmd: &[&str]) -> (String, Vec<String>, u64) {
    let argv: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
    run_events_raw(e, c, &argv)
}

fn run_events_raw(e: &Engine, c: &mut Client, argv: &[&[u8]]) -> (String, Vec<String>, u64) {
    let Lookup::Found(resolved) = e.commands.lookup(argv) else { panic!("no such command") };
    let mut set = LockSet::new();
    for db in 0..e.keyspace.databases() {
        set.add_db(db);
    }
    let keys = Keys::new(e, e.keyspace.lock(&set), c.db, crate::util::now_ms(), true);
    let mut reply = Reply::new(false);
    let mut ctx = Ctx { keys, out: &mut reply, client: c, engine: e, cmd: resolved };
    if let Err(err) = (resolved.def.handler.unwrap())(&mut ctx, argv) {
        ctx.out.error_bytes(err.text());
    }
    let Ctx { keys, out, .. } = ctx;
    let effects = keys.finish();
    let events = effects
        .events
        .iter()
        .map(|ev| format!("{} {} {}", ev.event, ev.db, String::from_utf8_lossy(&ev.key)))
        .collect();
    (String::from_utf8_lossy(out.as_bytes()).into_owned(), events, effects.dirty)
}

fn engine_with_events() -> std::sync::Arc<Engine> {
    let e = Engine::for_tests();
    e.config.set("notify-keyspace-events", &[b"KEAn"]).unwrap();
    e
}

fn set(e: &Engine, c: &mut Client, k: &str, v: &str) {
    assert_eq!(run(e, c, &["set", k, v]), "+OK\r\n");
}

/// Every key a full SCAN iteration returns (with extra arguments), checking each reply.
fn scan_all(e: &Engine, c: &mut Client, extra: &[&str]) -> Vec<Vec<u8>> {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    for _ in 0..1_000_000 {
        let mut argv: Vec<&[u8]> = vec![b"scan", cursor.as_bytes()];
        argv.extend(extra.iter().map(|a| a.as_bytes()));
        let reply = raw(e, c, &argv);
        let (resp::Value::Array(parts), _) = resp::Value::parse(&reply).unwrap() else { panic!("{reply:?}") };
        let [resp::Value::Bulk(next), resp::Value::Array(batch)] = &parts[..] else { panic!("{parts:?}") };
        for k in batch {
            let resp::Value::Bulk(k) = k else { panic!("{k:?}") };
            keys.push(k.to_vec());
        }
        cursor = String::from_utf8(next.to_vec()).unwrap();
        if cursor == "0" {
            return keys;
        }
    }
    panic!("SCAN never ended");
}

// ---- DEL, UNLINK, EXISTS, TYPE, TOUCH ----

#[test]
fn del_and_unlink_count_deleted_keys() {
    let e = engine_with_events();
    let mut c = client(&e);
    for k in ["a", "b", "c"] {
        set(&e, &mut c, k, "v");
    }
    assert_eq!(run(&e, &mut c, &["del", "a", "b", "nope", "a"]), ":2\r\n");
    assert_eq!(run(&e, &mut c, &["unlink", "c", "c"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["dbsize"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["del"]), "-ERR wrong number of arguments for 'del' command\r\n");
    set(&e, &mut c, "x", "1");
    let (reply, events, dirty) = run_events(&e, &mut c, &["del", "x", "y"]);
    assert_eq!((reply.as_str(), events, dirty), (":1\r\n", vec!["del 0 x".to_string()], 1));
}

#[test]
fn del_of_an_expired_key_counts_nothing_and_reports_expired() {
    let e = engine_with_events();
    let mut c = client(&e);
    set(&e, &mut c, "k", "v");
    assert_eq!(run(&e, &mut c, &["pexpire", "k", "1"]), ":1\r\n");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let (reply, events, _) = run_events(&e, &mut c, &["del", "k"]);
    assert_eq!((reply.as_str(), events), (":0\r\n", vec!["expired 0 k".to_string()]));
}

#[test]
fn binary_and_glob_character_keys() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let weird: [&[u8]; 5] = [b"a\x00b", b"*", b"[x]", b"h?llo", b"\xff\r\n"];
    for k in weird {
        assert_eq!(raw(&e, &mut c, &[b"set", k, b"v"]), b"+OK\r\n");
    }
    for k in weird {
        assert_eq!(raw(&e, &mut c, &[b"exists", k]), b":1\r\n");
    }
    assert_eq!(raw(&e, &mut c, &[b"keys", b"\\*"]), b"*1\r\n$1\r\n*\r\n");
    assert_eq!(raw(&e, &mut c, &[b"keys", b"\\[x\\]"]), b"*1\r\n$3\r\n[x]\r\n");
    assert_eq!(raw(&e, &mut c, &[b"keys", b"a\x00?"]), b"*1\r\n$3\r\na\x00b\r\n");
    assert_eq!(raw(&e, &mut c, &[b"del", b"a\x00b", b"a"]), b":1\r\n");
    assert_eq!(raw(&e, &mut c, &[b"rename", b"\xff\r\n", b"[x]"]), b"+OK\r\n");
    assert_eq!(raw(&e, &mut c, &[b"get", b"[x]"]), b"$1\r\nv\r\n");
}

#[test]
fn exists_counts_repeats_and_type_names() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    set(&e, &mut c, "k", "v");
    set(&e, &mut c, "n", "12");
    assert_eq!(run(&e, &mut c, &["exists", "k", "k", "nope", "n"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["type", "k"]), "+string\r\n");
    assert_eq!(run(&e, &mut c, &["type", "n"]), "+string\r\n");
    assert_eq!(run(&e, &mut c, &["type", "nope"]), "+none\r\n");
    assert_eq!(run(&e, &mut c, &["touch", "k", "nope", "n", "k"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["type"]), "-ERR wrong number of arguments for 'type' command\r\n");
}

#[test]
fn lookups_report_keymiss_except_object() {
    let e = Engine::for_tests();
    e.config.set("notify-keyspace-events", &[b"KEm"]).unwrap();
    let mut c = client(&e);
    assert_eq!(run_events(&e, &mut c, &["exists", "a"]).1, vec!["keymiss 0 a"]);
    assert_eq!(run_events(&e, &mut c, &["type", "a"]).1, vec!["keymiss 0 a"]);
    assert_eq!(run_events(&e, &mut c, &["touch", "a"]).1, vec!["keymiss 0 a"]);
    assert!(run_events(&e, &mut c, &["object", "encoding", "a"]).1.is_empty());
}

// ---- KEYS ----

#[test]
fn keys_patterns() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    for k in ["key_x", "key_y", "foo_a", "foo_b", ""] {
        set(&e, &mut c, k, "v");
    }
    let sorted = |reply: String| {
        let mut v: Vec<String> =
            reply.split("\r\n").skip(2).step_by(2).filter(|s| !s.is_empty()).map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(run(&e, &mut c, &["keys", "foo*"])), ["foo_a", "foo_b"]);
    assert_eq!(sorted(run(&e, &mut c, &["keys", "key_[xz]"])), ["key_x"]);
    // `*` alone includes the empty key, which no other pattern matches.
    assert!(run(&e, &mut c, &["keys", "*"]).starts_with("*5\r\n"));
    assert!(run(&e, &mut c, &["keys", "**"]).starts_with("*4\r\n"));
    assert_eq!(run(&e, &mut c, &["keys", "nothing*"]), "*0\r\n");
    let long = "a".repeat(50_000);
    set(&e, &mut c, &long, "1");
    assert_eq!(run(&e, &mut c, &["keys", &"*?".repeat(50_000)]), "*0\r\n");
}

#[test]
fn keys_skips_expired_keys_without_deleting_them() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    set(&e, &mut c, "live", "v");
    set(&e, &mut c, "dead", "v");
    run(&e, &mut c, &["pexpire", "dead", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(run(&e, &mut c, &["keys", "*"]), "*1\r\n$4\r\nlive\r\n");
    assert_eq!(run(&e, &mut c, &["dbsize"]), ":2\r\n");
}

// ---- SCAN ----

#[test]
fn scan_returns_every_key_exactly_once_on_a_stable_keyspace() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    for i in 0..1000 {
        set(&e, &mut c, &format!("key:{i}"), "v");
    }
    for extra in [&[][..], &["count", "5"], &["COUNT", "1"], &["count", "100000000"]] {
        let keys = scan_all(&e, &mut c, extra);
        assert_eq!(keys.len(), 1000, "{extra:?}");
        assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 1000, "{extra:?}");
    }
    assert_eq!(scan_all(&e, &mut c, &["match", "key:1??"]).len(), 100);
    assert_eq!(scan_all(&e, &mut c, &["match", "*"]).len(), 1000);
    assert_eq!(scan_all(&e, &mut c, &["type", "STRING"]).len(), 1000);
    assert_eq!(scan_all(&e, &mut c, &["type", "list"]).len(), 0);
    assert_eq!(scan_all(&e, &mut c, &["type", "string", "match", "key:*", "count", "10"]).len(), 1000);
}

#[test]
fn scan_count_bounds_the_work_of_one_call() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    for i in 0..5000 {
        set(&e, &mut c, &format!("k{i}"), "v");
    }
    let reply = run(&e, &mut c, &["scan", "0", "count", "3"]);
    let returned = reply.matches("$2\r\nk").count()
        + reply.matches("$3\r\nk").count()
        + reply.matches("$4\r\nk").count()
        + reply.matches("$5\r\nk").count();
    // Whole buckets are returned, so a few more than COUNT, never the database.
    assert!((3..30).contains(&returned), "{returned}: {reply}");
    assert!(!reply.starts_with("*2\r\n$1\r\n0\r\n"), "one call ended the iteration");
}

#[test]
fn scan_on_empty_database_and_errors() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    assert_eq!(run(&e, &mut c, &["scan", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(run(&e, &mut c, &["scan", "123456"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    for bad in ["-1", "abc", "", "1.5", "18446744073709551616", "1 "] {
        assert_eq!(run(&e, &mut c, &["scan", bad]), "-ERR invalid cursor\r\n", "{bad:?}");
    }
    assert_eq!(run(&e, &mut c, &["scan", "0", "count", "0"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["scan", "0", "count", "-3"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["scan", "0", "count", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(run(&e, &mut c, &["scan", "0", "count"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["scan", "0", "bogus", "1"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["scan", "0", "type", "string1"]), "-ERR unknown type name 'string1'\r\n");
    assert_eq!(run(&e, &mut c, &["scan", "0", "novalues"]), "-ERR NOVALUES option can only be used in HSCAN\r\n");
    assert_eq!(run(&e, &mut c, &["scan", "0", "NOSCORES"]), "-ERR NOSCORES option can only be used in ZSCAN\r\n");
    // The cursor is checked before the options.
    assert_eq!(run(&e, &mut c, &["scan", "x", "bogus"]), "-ERR invalid cursor\r\n");
}

#[test]
fn cursor_parsing_follows_string2ull() {
    use super::parse_cursor;
    assert_eq!(parse_cursor(b"0"), Some(0));
    assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_cursor(b"+5"), Some(5));
    assert_eq!(parse_cursor(b"  007"), Some(7));
    assert_eq!(parse_cursor(b"-0"), Some(0));
    assert_eq!(parse_cursor(b"-18446744073709551615"), Some(1));
    assert_eq!(parse_cursor(b"5\x00junk"), Some(5));
    for bad in [&b"-1"[..], b"", b"+", b" ", b"0x10", b"1e3", b"18446744073709551616", b"7 "] {
        assert_eq!(parse_cursor(bad), None, "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn scan_deletes_expired_keys_it_returns_but_not_filtered_ones() {
    let e = engine_with_events();
    let mut c = client(&e);
    for i in 0..100 {
        set(&e, &mut c, &format!("key:{i}"), "v");
    }
    set(&e, &mut c, "dead", "v");
    set(&e, &mut c, "other", "v");
    run(&e, &mut c, &["pexpire", "dead", "1"]);
    run(&e, &mut c, &["pexpire", "other", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let keys = scan_all(&e, &mut c, &["match", "d*"]);
    assert!(keys.is_empty());
    assert_eq!(run(&e, &mut c, &["dbsize"]), ":101\r\n", "only the key that matched was expired");
    assert_eq!(scan_all(&e, &mut c, &[]).len(), 100);
    assert_eq!(run(&e, &mut c, &["dbsize"]), ":100\r\n");
}

/// The SCAN guarantee at the engine level: keys present for the whole iteration are all
/// returned while other keys are added and removed between calls, growing and shrinking the
/// shard tables many times over.
#[test]
fn scan_guarantee_under_churn() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let mut rng = fastrand::Rng::with_seed(42);
    for round in 0..5 {
        run(&e, &mut c, &["flushdb"]);
        for i in 0..300 {
            set(&e, &mut c, &format!("stable:{i}"), "v");
        }
        let mut seen = HashSet::new();
        let mut cursor = "0".to_string();
        let mut churn: Vec<String> = Vec::new();
        loop {
            let reply = raw(&e, &mut c, &[b"scan", cursor.as_bytes(), b"count", b"7"]);
            let (resp::Value::Array(parts), _) = resp::Value::parse(&reply).unwrap() else { panic!() };
            let [resp::Value::Bulk(next), resp::Value::Array(batch)] = &parts[..] else { panic!() };
            for k in batch {
                let resp::Value::Bulk(k) = k else { panic!() };
                seen.insert(k.to_vec());
            }
            cursor = String::from_utf8(next.to_vec()).unwrap();
            if cursor == "0" {
                break;
            }
            if rng.bool() {
                for _ in 0..rng.usize(0..2000) {
                    let k = format!("churn:{}", rng.u64(..));
                    set(&e, &mut c, &k, "x");
                    churn.push(k);
                }
            } else {
                let mut argv = vec!["del"];
                argv.extend(churn.iter().map(String::as_str));
                if argv.len() > 1 {
                    run(&e, &mut c, &argv);
                }
                churn.clear();
            }
        }
        for i in 0..300 {
            assert!(seen.contains(format!("stable:{i}").as_bytes()), "round {round}: stable:{i} missed");
        }
    }
}

// ---- RANDOMKEY ----

#[test]
fn randomkey_returns_live_keys_only() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    assert_eq!(run(&e, &mut c, &["randomkey"]), "$-1\r\n");
    set(&e, &mut c, "foo", "x");
    set(&e, &mut c, "bar", "y");
    let mut seen = HashSet::new();
    for _ in 0..200 {
        seen.insert(run(&e, &mut c, &["randomkey"]));
    }
    assert_eq!(seen, HashSet::from(["$3\r\nfoo\r\n".to_string(), "$3\r\nbar\r\n".to_string()]));
    run(&e, &mut c, &["del", "foo", "bar"]);
    assert_eq!(run(&e, &mut c, &["randomkey"]), "$-1\r\n");
    for i in 0..50 {
        set(&e, &mut c, &format!("dead{i}"), "v");
        run(&e, &mut c, &["pexpire", &format!("dead{i}"), "1"]);
    }
    std::thread::sleep(std::time::Duration::from_millis(5));
    // Every key is expired: they are deleted on the way and nothing is returned.
    assert_eq!(run(&e, &mut c, &["randomkey"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["dbsize"]), ":0\r\n");
    set(&e, &mut c, "alive", "v");
    for i in 0..50 {
        set(&e, &mut c, &format!("dead{i}"), "v");
        run(&e, &mut c, &["pexpire", &format!("dead{i}"), "1"]);
    }
    std::thread::sleep(std::time::Duration::from_millis(5));
    for _ in 0..20 {
        assert_eq!(run(&e, &mut c, &["randomkey"]), "$5\r\nalive\r\n");
    }
}

// ---- RENAME, RENAMENX ----

#[test]
fn rename_semantics() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    set(&e, &mut c, "a", "hello");
    assert_eq!(run(&e, &mut c, &["rename", "a", "b"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "a"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["get", "b"]), "$5\r\nhello\r\n");
    assert_eq!(run(&e, &mut c, &["rename", "nokey", "b"]), "-ERR no such key\r\n");
    assert_eq!(run(&e, &mut c, &["rename", "b", "b"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["rename", "nokey", "nokey"]), "-ERR no such key\r\n");
    set(&e, &mut c, "c", "other");
    assert_eq!(run(&e, &mut c, &["rename", "c", "b"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["get", "b"]), "$5\r\nother\r\n");
    assert_eq!(run(&e, &mut c, &["dbsize"]), ":1\r\n");
    // RENAMENX
    set(&e, &mut c, "x", "1");
    assert_eq!(run(&e, &mut c, &["renamenx", "x", "b"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["renamenx", "x", "x"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["renamenx", "x", "y"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["get", "y"]), "$1\r\n1\r\n");
    assert_eq!(run(&e, &mut c, &["renamenx", "nokey", "z"]), "-ERR no such key\r\n");
}

#[test]
fn rename_moves_the_ttl_and_drops_the_targets() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    set(&e, &mut c, "src", "v");
    run(&e, &mut c, &["expire", "src", "100"]);
    assert_eq!(run(&e, &mut c, &["rename", "src", "dst"]), "+OK\r\n");
    let ttl: i64 = run(&e, &mut c, &["ttl", "dst"])[1..].trim().parse().unwrap();
    assert!((99..=100).contains(&ttl), "{ttl}");
    set(&e, &mut c, "plain", "v");
    assert_eq!(run(&e, &mut c, &["rename", "plain", "dst"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["ttl", "dst"]), ":-1\r\n");
}

#[test]
fn rename_events_in_valkeys_order() {
    let e = engine_with_events();
    let mut c = client(&e);
    set(&e, &mut c, "a", "v");
    set(&e, &mut c, "b", "w");
    let (reply, events, dirty) = run_events(&e, &mut c, &["rename", "a", "b"]);
    assert_eq!(reply, "+OK\r\n");
    assert_eq!(events, ["new 0 b", "rename_from 0 a", "rename_to 0 b"]);
    assert_eq!(dirty, 1);
    let (reply, events, dirty) = run_events(&e, &mut c, &["renamenx", "b", "b"]);
    assert_eq!((reply.as_str(), events.len(), dirty), (":0\r\n", 0, 0));
}

// ---- MOVE ----

#[test]
fn move_semantics_and_errors() {
    let e = engine_with_events();
    let mut c = client(&e);
    set(&e, &mut c, "k", "v");
    run(&e, &mut c, &["expire", "k", "100"]);
    let (reply, events, dirty) = run_events(&e, &mut c, &["move", "k", "3"]);
    assert_eq!(reply, ":1\r\n");
    assert_eq!(events, ["new 3 k", "move_from 0 k", "move_to 3 k"]);
    assert_eq!(dirty, 1);
    assert_eq!(run(&e, &mut c, &["exists", "k"]), ":0\r\n");
    run(&e, &mut c, &["select", "3"]);
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$1\r\nv\r\n");
    let ttl: i64 = run(&e, &mut c, &["ttl", "k"])[1..].trim().parse().unwrap();
    assert!((99..=100).contains(&ttl));
    // Already in the target database: nothing moves.
    run(&e, &mut c, &["select", "0"]);
    set(&e, &mut c, "k", "here");
    assert_eq!(run(&e, &mut c, &["move", "k", "3"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$4\r\nhere\r\n");
    assert_eq!(run(&e, &mut c, &["move", "nokey", "3"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["move", "k", "0"]), "-ERR source and destination objects are the same\r\n");
    assert_eq!(run(&e, &mut c, &["move", "k", "16"]), "-ERR DB index is out of range\r\n");
    assert_eq!(run(&e, &mut c, &["move", "k", "-1"]), "-ERR DB index is out of range\r\n");
    assert_eq!(run(&e, &mut c, &["move", "k", "notanumber"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(
        run(&e, &mut c, &["move", "k", "4294967296"]),
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    );
}

// ---- COPY ----

#[test]
fn copy_semantics_and_errors() {
    let e = engine_with_events();
    let mut c = client(&e);
    set(&e, &mut c, "src", "foobar");
    let (reply, events, dirty) = run_events(&e, &mut c, &["copy", "src", "dst"]);
    assert_eq!((reply.as_str(), events, dirty), (":1\r\n", vec!["new 0 dst".into(), "copy_to 0 dst".into()], 1));
    assert_eq!(run(&e, &mut c, &["get", "dst"]), "$6\r\nfoobar\r\n");
    assert_eq!(run(&e, &mut c, &["ttl", "dst"]), ":-1\r\n");
    // Independent values.
    set(&e, &mut c, "dst", "changed");
    assert_eq!(run(&e, &mut c, &["get", "src"]), "$6\r\nfoobar\r\n");
    assert_eq!(run(&e, &mut c, &["copy", "src", "dst"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["copy", "src", "dst", "REPLACE"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["get", "dst"]), "$6\r\nfoobar\r\n");
    assert_eq!(run(&e, &mut c, &["copy", "nokey", "dst2"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["copy", "src", "src"]), "-ERR source and destination objects are the same\r\n");
    assert_eq!(
        run(&e, &mut c, &["copy", "src", "src", "db", "0"]),
        "-ERR source and destination objects are the same\r\n"
    );
    // Across databases, with the TTL.
    run(&e, &mut c, &["expire", "src", "100"]);
    let (reply, events, _) = run_events(&e, &mut c, &["copy", "src", "src", "db", "5"]);
    assert_eq!((reply.as_str(), events), (":1\r\n", vec!["new 5 src".into(), "copy_to 5 src".into()]));
    run(&e, &mut c, &["select", "5"]);
    let ttl: i64 = run(&e, &mut c, &["ttl", "src"])[1..].trim().parse().unwrap();
    assert!((99..=100).contains(&ttl));
    run(&e, &mut c, &["select", "0"]);
    assert_eq!(run(&e, &mut c, &["copy", "src", "src", "db", "5"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["copy", "src", "src", "db", "5", "replace"]), ":1\r\n");
    assert_eq!(
        run(&e, &mut c, &["copy", "src", "x", "db", "notanumber"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(run(&e, &mut c, &["copy", "src", "x", "db", "16"]), "-ERR DB index is out of range\r\n");
    assert_eq!(run(&e, &mut c, &["copy", "src", "x", "db"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["copy", "src", "x", "bogus"]), "-ERR syntax error\r\n");
}

#[test]
fn copy_keeps_the_encoding() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let long = "x".repeat(100);
    for (value, enc) in [("12", "int"), ("hello", "embstr"), (long.as_str(), "raw")] {
        set(&e, &mut c, "s", value);
        assert_eq!(run(&e, &mut c, &["copy", "s", "d", "replace"]), ":1\r\n");
        assert_eq!(run(&e, &mut c, &["object", "encoding", "d"]), format!("${}\r\n{enc}\r\n", enc.len()));
    }
}

// ---- OBJECT ----

#[test]
fn object_encoding_names() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let cases = [
        ("-5", "int"),
        ("9223372036854775807", "int"),
        ("12345678901234567890123", "embstr"),
        ("007", "embstr"),
        ("", "embstr"),
        (&"a".repeat(44), "embstr"),
        (&"a".repeat(45), "raw"),
        (&"a".repeat(1000), "raw"),
    ];
    for (value, enc) in cases {
        set(&e, &mut c, "k", value);
        assert_eq!(run(&e, &mut c, &["object", "encoding", "k"]), format!("${}\r\n{enc}\r\n", enc.len()), "{value}");
    }
    assert_eq!(run(&e, &mut c, &["object", "encoding", "nokey"]), "$-1\r\n");
    assert_eq!(
        run(&e, &mut c, &["object", "encoding"]),
        "-ERR wrong number of arguments for 'object|encoding' command\r\n"
    );
    assert_eq!(run(&e, &mut c, &["object", "bogus", "k"]), "-ERR unknown subcommand 'bogus'. Try OBJECT HELP.\r\n");
}

#[test]
fn object_refcount_idletime_freq_help() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    set(&e, &mut c, "small", "100");
    set(&e, &mut c, "big", "10000");
    set(&e, &mut c, "s", "text");
    assert_eq!(run(&e, &mut c, &["object", "refcount", "small"]), ":2147483647\r\n");
    assert_eq!(run(&e, &mut c, &["object", "refcount", "big"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["object", "refcount", "s"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["object", "refcount", "nokey"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["object", "idletime", "s"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["object", "idletime", "nokey"]), "$-1\r\n");
    assert_eq!(
        run(&e, &mut c, &["object", "freq", "s"]),
        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    e.config.set("maxmemory-policy", &[b"allkeys-lfu"]).unwrap();
    assert_eq!(
        run(&e, &mut c, &["object", "idletime", "s"]),
        "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    assert_eq!(run(&e, &mut c, &["object", "freq", "nokey"]), "$-1\r\n");
    e.config.set("maxmemory", &[b"100mb"]).unwrap();
    assert_eq!(run(&e, &mut c, &["object", "refcount", "small"]), ":1\r\n");
    let help = run(&e, &mut c, &["object", "help"]);
    assert!(
        help.starts_with(
            "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n"
        ),
        "{help}"
    );
    assert!(help.ends_with("+HELP\r\n+    Print this help.\r\n"));
}

#[test]
fn lfu_counter_decays_with_time() {
    use crate::evict::clock::lfu_decayed;
    let now_ms = 1_700_000_000_000u64;
    let minutes = ((now_ms / 60_000) & 0xffff) as u32;
    assert_eq!(lfu_decayed(minutes << 8 | 100, minutes, 1), 100);
    assert_eq!(lfu_decayed((minutes - 30) << 8 | 100, minutes, 1), 70);
    assert_eq!(lfu_decayed((minutes - 30) << 8 | 100, minutes, 10), 97);
    assert_eq!(lfu_decayed((minutes - 300) << 8 | 100, minutes, 1), 0);
    assert_eq!(lfu_decayed((minutes - 300) << 8 | 100, minutes, 0), 100);
}

// ---- DUMP, RESTORE ----

#[test]
fn dump_bytes_are_valkeys() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    set(&e, &mut c, "s", "bar");
    let p = dump(&e, &mut c, "s");
    assert_eq!(&p[..7], b"\x00\x03bar\x0b\x00");
    assert_eq!(u64::from_le_bytes(p[7..].try_into().unwrap()), crc64(&p[..7]));
    set(&e, &mut c, "n", "-300");
    assert_eq!(&dump(&e, &mut c, "n")[..4], [0x00, 0xc1, 0xd4, 0xfe]);
    set(&e, &mut c, "long", &"a".repeat(100));
    assert_eq!(&dump(&e, &mut c, "long")[..14], [0, 0xc3, 9, 0x40, 100, 1, b'a', b'a', 0xe0, 0x57, 0, 1, b'a', b'a']);
    e.config.set("rdbcompression", &[b"no"]).unwrap();
    assert_eq!(&dump(&e, &mut c, "long")[..4], [0, 0x40, 100, b'a']);
    assert_eq!(run(&e, &mut c, &["dump", "nokey"]), "$-1\r\n");
}

#[test]
fn dump_restore_roundtrip() {
    let e = engine_with_events();
    let mut c = client(&e);
    let long = "abc".repeat(1000);
    for value in ["bar", "", "12", "-9223372036854775808", "0012", long.as_str()] {
        set(&e, &mut c, "src", value);
        let p = dump(&e, &mut c, "src");
        run(&e, &mut c, &["del", "dst"]);
        assert_eq!(raw(&e, &mut c, &[b"restore", b"dst", b"0", &p]), b"+OK\r\n");
        assert_eq!(run(&e, &mut c, &["get", "dst"]), run(&e, &mut c, &["get", "src"]));
        assert_eq!(run(&e, &mut c, &["object", "encoding", "dst"]), run(&e, &mut c, &["object", "encoding", "src"]));
        assert_eq!(run(&e, &mut c, &["ttl", "dst"]), ":-1\r\n");
    }
    let p = dump(&e, &mut c, "src");
    run(&e, &mut c, &["del", "dst"]);
    let argv: Vec<&[u8]> = vec![b"restore", b"dst", b"0", &p];
    assert_eq!(raw(&e, &mut c, &argv), b"+OK\r\n");
    assert_eq!(raw(&e, &mut c, &argv), b"-BUSYKEY Target key name already exists.\r\n");
}

#[test]
fn restore_events_and_replace() {
    let e = engine_with_events();
    let mut c = client(&e);
    set(&e, &mut c, "k", "v1");
    let p = dump(&e, &mut c, "k");
    set(&e, &mut c, "k", "v2");
    // Through the direct harness, so that the events are visible.
    let (reply, events, dirty) = run_events_raw(&e, &mut c, &[b"restore", b"k", b"0", &p, b"REPLACE"]);
    assert_eq!((reply.as_str(), events, dirty), ("+OK\r\n", vec!["new 0 k".into(), "restore 0 k".into()], 1));
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$2\r\nv1\r\n");
    // An expired TTL with REPLACE deletes the old key and stores nothing.
    let now = crate::util::now_ms();
    let past = (now - 5000).to_string();
    let (reply, events, dirty) =
        run_events_raw(&e, &mut c, &[b"restore", b"k", past.as_bytes(), &p, b"replace", b"absttl"]);
    assert_eq!((reply.as_str(), events, dirty), ("+OK\r\n", vec!["del 0 k".into()], 1));
    assert_eq!(run(&e, &mut c, &["exists", "k"]), ":0\r\n");
    // An old key past its TTL is replaced as it is, without an `expired` event.
    set(&e, &mut c, "k", "v2");
    run(&e, &mut c, &["pexpire", "k", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let (reply, events, _) = run_events_raw(&e, &mut c, &[b"restore", b"k", b"0", &p, b"replace"]);
    assert_eq!((reply.as_str(), events), ("+OK\r\n", vec!["new 0 k".into(), "restore 0 k".into()]));
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$2\r\nv1\r\n");
    run(&e, &mut c, &["del", "k"]);
    // Without a key to replace: nothing at all.
    let (reply, events, dirty) = run_events_raw(&e, &mut c, &[b"restore", b"k", past.as_bytes(), &p, b"absttl"]);
    assert_eq!((reply.as_str(), events.len(), dirty), ("+OK\r\n", 0, 0));
}

#[test]
fn restore_ttls() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    set(&e, &mut c, "k", "bar");
    let p = dump(&e, &mut c, "k");
    let restore = |c: &mut Client, args: &[&str]| {
        let mut argv: Vec<&[u8]> = vec![b"restore", b"r", args[0].as_bytes(), &p];
        argv.extend(args[1..].iter().map(|a| a.as_bytes()));
        String::from_utf8(raw(&e, c, &argv)).unwrap()
    };
    assert_eq!(restore(&mut c, &["5000"]), "+OK\r\n");
    let pttl: i64 = run(&e, &mut c, &["pttl", "r"])[1..].trim().parse().unwrap();
    assert!((4900..=5000).contains(&pttl), "{pttl}");
    assert_eq!(restore(&mut c, &["2569591501", "replace"]), "+OK\r\n");
    let pttl: i64 = run(&e, &mut c, &["pttl", "r"])[1..].trim().parse().unwrap();
    assert!((2569591501 - 3000..=2569591501).contains(&pttl), "{pttl}");
    let at = crate::util::now_ms() + 3000;
    assert_eq!(restore(&mut c, &[&at.to_string(), "replace", "absttl"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["pexpiretime", "r"]), format!(":{at}\r\n"));
    assert_eq!(restore(&mut c, &["0", "replace", "ABSTTL"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["ttl", "r"]), ":-1\r\n");
    // A relative TTL that overflows lands in the past: not stored.
    assert_eq!(restore(&mut c, &["9223372036854775807", "replace"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "r"]), ":0\r\n");
    assert_eq!(restore(&mut c, &["-1"]), "-ERR Invalid TTL value, must be >= 0\r\n");
    assert_eq!(restore(&mut c, &["x"]), "-ERR value is not an integer or out of range\r\n");
}

#[test]
fn restore_errors() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    set(&e, &mut c, "k", "bar");
    let good = dump(&e, &mut c, "k");
    let restore = |c: &mut Client, payload: &[u8], extra: &[&str]| {
        let mut argv: Vec<&[u8]> = vec![b"restore", b"new", b"0", payload];
        argv.extend(extra.iter().map(|a| a.as_bytes()));
        String::from_utf8(raw(&e, c, &argv)).unwrap()
    };
    let frame = |body: &[u8], version: u16| {
        let mut p = body.to_vec();
        p.extend_from_slice(&version.to_le_bytes());
        let crc = crc64(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    };
    let wrong = "-ERR DUMP payload version or checksum are wrong\r\n";
    assert_eq!(restore(&mut c, b"...", &[]), wrong);
    assert_eq!(restore(&mut c, b"", &[]), wrong);
    let mut flipped = good.clone();
    flipped[2] ^= 0x20;
    assert_eq!(restore(&mut c, &flipped, &[]), wrong);
    assert_eq!(restore(&mut c, &frame(b"\x00\x03bar", 12), &[]), wrong);
    assert_eq!(restore(&mut c, &frame(b"\x00\x03bar", 9), &[]), "+OK\r\n");
    run(&e, &mut c, &["del", "new"]);
    let bad = "-ERR Bad data format\r\n";
    assert_eq!(restore(&mut c, &frame(b"\x08", 11), &[]), bad);
    assert_eq!(restore(&mut c, &frame(b"\x12\x01\x02", 11), &[]), bad, "quicklist lists are not loadable yet");
    assert_eq!(restore(&mut c, &frame(b"\x00\xc4", 11), &[]), bad);
    assert_eq!(restore(&mut c, &frame(b"\x00\x40", 11), &[]), bad);
    assert_eq!(restore(&mut c, &good, &["bogus"]), "-ERR syntax error\r\n");
    assert_eq!(restore(&mut c, &good, &["idletime"]), "-ERR syntax error\r\n");
    assert_eq!(restore(&mut c, &good, &["idletime", "-1"]), "-ERR Invalid IDLETIME value, must be >= 0\r\n");
    assert_eq!(restore(&mut c, &good, &["idletime", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(restore(&mut c, &good, &["freq", "256"]), "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n");
    assert_eq!(restore(&mut c, &good, &["freq", "-1"]), "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n");
    assert_eq!(restore(&mut c, &good, &["freq", "1", "idletime", "1"]), "-ERR syntax error\r\n");
    assert_eq!(restore(&mut c, &good, &["idletime", "1", "freq", "1"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "new"]), ":0\r\n", "no error left a key behind");
    // BUSYKEY is checked before the TTL and the payload.
    assert_eq!(raw(&e, &mut c, &[b"restore", b"k", b"-5", b"..."]), b"-BUSYKEY Target key name already exists.\r\n");
    assert_eq!(raw(&e, &mut c, &[b"restore", b"k", b"0"]), b"-ERR wrong number of arguments for 'restore' command\r\n");
}

#[test]
fn restore_idletime_and_freq() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    set(&e, &mut c, "k", "bar");
    let p = dump(&e, &mut c, "k");
    assert_eq!(raw(&e, &mut c, &[b"restore", b"r", b"0", &p, b"idletime", b"1000"]), b"+OK\r\n");
    let idle: i64 = run(&e, &mut c, &["object", "idletime", "r"])[1..].trim().parse().unwrap();
    assert!((1000..=1002).contains(&idle), "{idle}");
    // Reading refreshes it.
    run(&e, &mut c, &["get", "r"]);
    assert_eq!(run(&e, &mut c, &["object", "idletime", "r"]), ":0\r\n");
    // FREQ only counts under an LFU policy.
    e.config.set("maxmemory-policy", &[b"volatile-lfu"]).unwrap();
    assert_eq!(raw(&e, &mut c, &[b"restore", b"f", b"0", &p, b"freq", b"100"]), b"+OK\r\n");
    assert_eq!(run(&e, &mut c, &["object", "freq", "f"]), ":100\r\n");
    assert_eq!(raw(&e, &mut c, &[b"restore", b"g", b"0", &p]), b"+OK\r\n");
    assert_eq!(run(&e, &mut c, &["object", "freq", "g"]), ":5\r\n");
}
