//! Unit tests of the expiry commands (`expire.rs`).

use crate::client::Client;
use crate::commands::table::Lookup;
use crate::commands::Ctx;
use crate::db::Keys;
use crate::engine::Engine;
use crate::exec::tests::{client, run};
use crate::keyspace::LockSet;
use resp::Reply;

fn int(reply: String) -> i64 {
    assert!(reply.starts_with(':'), "{reply}");
    reply[1..].trim().parse().unwrap()
}

fn set(e: &Engine, c: &mut Client, k: &str, v: &str) {
    assert_eq!(run(e, c, &["set", k, v]), "+OK\r\n");
}

/// Runs a handler directly with every shard locked; returns the reply, the events and `dirty`.
fn run_events(e: &Engine, c: &mut Client, cmd: &[&str]) -> (String, Vec<String>, u64) {
    let argv: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
    let Lookup::Found(resolved) = e.commands.lookup(&argv) else { panic!("no such command {cmd:?}") };
    let mut set = LockSet::new();
    set.add_db(c.db);
    let keys = Keys::new(e, e.keyspace.lock(&set), c.db, crate::util::now_ms(), true);
    let mut reply = Reply::new(false);
    let mut ctx = Ctx { keys, out: &mut reply, client: c, engine: e, cmd: resolved };
    if let Err(err) = (resolved.def.handler.unwrap())(&mut ctx, &argv) {
        ctx.out.error_bytes(err.text());
    }
    let Ctx { keys, out, .. } = ctx;
    let effects = keys.finish();
    let events = effects.events.iter().map(|ev| format!("{} {}", ev.event, String::from_utf8_lossy(&ev.key))).collect();
    (String::from_utf8_lossy(out.as_bytes()).into_owned(), events, effects.dirty)
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

#[test]
fn expire_sets_and_resets_the_ttl() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    set(&e, &mut c, "x", "foobar");
    assert_eq!(run(&e, &mut c, &["expire", "x", "5"]), ":1\r\n");
    assert!((4..=5).contains(&int(run(&e, &mut c, &["ttl", "x"]))));
    assert_eq!(run(&e, &mut c, &["expire", "x", "10"]), ":1\r\n");
    assert_eq!(int(run(&e, &mut c, &["ttl", "x"])), 10);
    assert!((9900..=10_000).contains(&int(run(&e, &mut c, &["pttl", "x"]))));
    assert_eq!(run(&e, &mut c, &["get", "x"]), "$6\r\nfoobar\r\n");
    assert_eq!(run(&e, &mut c, &["expire", "nokey", "10"]), ":0\r\n");
    // Rounding: seconds are rounded to the nearest.
    assert_eq!(run(&e, &mut c, &["pexpire", "x", "1499"]), ":1\r\n");
    assert_eq!(int(run(&e, &mut c, &["ttl", "x"])), 1);
    assert_eq!(run(&e, &mut c, &["pexpire", "x", "100000"]), ":1\r\n");
    assert_eq!(int(run(&e, &mut c, &["ttl", "x"])), 100);
}

#[test]
fn absolute_forms_and_expiretime() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    set(&e, &mut c, "x", "v");
    let secs = crate::util::now_ms() / 1000 + 100;
    assert_eq!(run(&e, &mut c, &["expireat", "x", &secs.to_string()]), ":1\r\n");
    assert_eq!(int(run(&e, &mut c, &["expiretime", "x"])), secs as i64);
    assert_eq!(int(run(&e, &mut c, &["pexpiretime", "x"])), secs as i64 * 1000);
    let ms = crate::util::now_ms() + 123_456;
    assert_eq!(run(&e, &mut c, &["pexpireat", "x", &ms.to_string()]), ":1\r\n");
    assert_eq!(int(run(&e, &mut c, &["pexpiretime", "x"])), ms as i64);
    assert_eq!(int(run(&e, &mut c, &["expiretime", "x"])), (ms as i64 + 500) / 1000);
    // Far future: allowed, and reported without overflow.
    assert_eq!(run(&e, &mut c, &["pexpireat", "x", "9223372036854770000"]), ":1\r\n");
    assert_eq!(int(run(&e, &mut c, &["pexpiretime", "x"])), 9223372036854770000);
    assert_eq!(int(run(&e, &mut c, &["expiretime", "x"])), 9223372036854770);
}

#[test]
fn no_ttl_and_no_key() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    set(&e, &mut c, "x", "hello");
    for cmd in ["ttl", "pttl", "expiretime", "pexpiretime"] {
        assert_eq!(run(&e, &mut c, &[cmd, "x"]), ":-1\r\n", "{cmd}");
        assert_eq!(run(&e, &mut c, &[cmd, "nokey"]), ":-2\r\n", "{cmd}");
    }
    assert_eq!(run(&e, &mut c, &["ttl"]), "-ERR wrong number of arguments for 'ttl' command\r\n");
    assert_eq!(run(&e, &mut c, &["expire", "x"]), "-ERR wrong number of arguments for 'expire' command\r\n");
}

#[test]
fn past_times_delete_the_key_with_a_del_event() {
    let e = Engine::for_tests();
    e.config.set("notify-keyspace-events", &[b"KEA"]).unwrap();
    let mut c = client(&e);
    set(&e, &mut c, "a", "v");
    let (reply, events, dirty) = run_events(&e, &mut c, &["expire", "a", "-10"]);
    assert_eq!((reply.as_str(), events, dirty), (":1\r\n", vec!["del a".to_string()], 1));
    assert_eq!(run(&e, &mut c, &["exists", "a"]), ":0\r\n");
    for (cmd, arg) in [("pexpire", "0"), ("expireat", "1"), ("pexpireat", "-9223372036854770000")] {
        set(&e, &mut c, "a", "v");
        assert_eq!(run(&e, &mut c, &[cmd, "a", arg]), ":1\r\n", "{cmd} {arg}");
        assert_eq!(run(&e, &mut c, &["ttl", "a"]), ":-2\r\n");
    }
    set(&e, &mut c, "a", "v");
    let (reply, events, dirty) = run_events(&e, &mut c, &["expire", "a", "100"]);
    assert_eq!((reply.as_str(), events, dirty), (":1\r\n", vec!["expire a".to_string()], 1));
}

#[test]
fn nx_xx_gt_lt() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let with_ttl = |c: &mut Client, ttl: Option<&str>| {
        set(&e, c, "foo", "bar");
        if let Some(t) = ttl {
            run(&e, c, &["expire", "foo", t]);
        }
    };
    // (TTL before, arguments after the key, reply, TTL range after)
    type Case<'a> = (Option<&'a str>, &'a [&'a str], i64, (i64, i64));
    let cases: [Case; 12] = [
        (Some("100"), &["200", "NX"], 0, (50, 100)),
        (None, &["200", "nx"], 1, (100, 200)),
        (Some("100"), &["200", "XX"], 1, (100, 200)),
        (None, &["200", "XX"], 0, (-1, -1)),
        (Some("100"), &["200", "GT"], 1, (100, 200)),
        (Some("200"), &["100", "GT"], 0, (100, 200)),
        (None, &["200", "GT"], 0, (-1, -1)),
        (Some("100"), &["200", "LT"], 0, (50, 100)),
        (Some("200"), &["100", "LT"], 1, (50, 100)),
        (None, &["100", "LT"], 1, (50, 100)),
        (Some("200"), &["100", "LT", "XX"], 1, (50, 100)),
        (None, &["200", "LT", "XX"], 0, (-1, -1)),
    ];
    for (before, args, reply, (lo, hi)) in cases {
        with_ttl(&mut c, before);
        let mut argv = vec!["expire", "foo"];
        argv.extend_from_slice(args);
        assert_eq!(int(run(&e, &mut c, &argv)), reply, "{before:?} {args:?}");
        let ttl = int(run(&e, &mut c, &["ttl", "foo"]));
        assert!((lo..=hi).contains(&ttl), "{before:?} {args:?}: ttl {ttl}");
    }
    // Equal times fail both GT and LT.
    set(&e, &mut c, "foo", "bar");
    run(&e, &mut c, &["pexpireat", "foo", "99999999999999"]);
    assert_eq!(run(&e, &mut c, &["pexpireat", "foo", "99999999999999", "gt"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["pexpireat", "foo", "99999999999999", "lt"]), ":0\r\n");
    // A negative time passes LT and deletes.
    with_ttl(&mut c, Some("100"));
    assert_eq!(run(&e, &mut c, &["expire", "foo", "-10", "LT"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["ttl", "foo"]), ":-2\r\n");
    with_ttl(&mut c, None);
    assert_eq!(run(&e, &mut c, &["expire", "foo", "-10", "LT"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["ttl", "foo"]), ":-2\r\n");
    for opt in ["NX", "XX", "GT", "LT"] {
        assert_eq!(run(&e, &mut c, &["expire", "none", "100", opt]), ":0\r\n");
    }
}

#[test]
fn option_errors() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    set(&e, &mut c, "foo", "bar");
    let nx = "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
    assert_eq!(
        run(&e, &mut c, &["expire", "foo", "200", "LT", "GT"]),
        "-ERR GT and LT options at the same time are not compatible\r\n"
    );
    assert_eq!(run(&e, &mut c, &["expire", "foo", "200", "NX", "GT"]), nx);
    assert_eq!(run(&e, &mut c, &["expire", "foo", "200", "NX", "LT"]), nx);
    assert_eq!(run(&e, &mut c, &["expire", "foo", "200", "NX", "XX"]), nx);
    assert_eq!(run(&e, &mut c, &["expire", "foo", "200", "AB"]), "-ERR Unsupported option AB\r\n");
    assert_eq!(run(&e, &mut c, &["expire", "foo", "200", "XX", "AB"]), "-ERR Unsupported option AB\r\n");
    // Options are checked before the time.
    assert_eq!(run(&e, &mut c, &["expire", "foo", "abc", "AB"]), "-ERR Unsupported option AB\r\n");
    assert_eq!(run(&e, &mut c, &["expire", "foo", ""]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(run(&e, &mut c, &["expire", "foo", "1.5"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(run(&e, &mut c, &["ttl", "foo"]), ":-1\r\n");
}

#[test]
fn overflow_errors_name_the_command() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    set(&e, &mut c, "foo", "bar");
    for arg in [
        "9223370399119966",
        "9223372036854776",
        "10000000000000000",
        "18446744073709561",
        "-9223372036854776",
        "-9999999999999999",
    ] {
        assert_eq!(
            run(&e, &mut c, &["expire", "foo", arg]),
            "-ERR invalid expire time in 'expire' command\r\n",
            "{arg}"
        );
    }
    assert_eq!(
        run(&e, &mut c, &["pexpire", "foo", "9223372036854770000"]),
        "-ERR invalid expire time in 'pexpire' command\r\n"
    );
    assert_eq!(
        run(&e, &mut c, &["expireat", "foo", "9223372036854776"]),
        "-ERR invalid expire time in 'expireat' command\r\n"
    );
    assert_eq!(run(&e, &mut c, &["ttl", "foo"]), ":-1\r\n");
    // The largest EXPIREAT that fits.
    assert_eq!(run(&e, &mut c, &["expireat", "foo", "9223372036854775"]), ":1\r\n");
    assert_eq!(int(run(&e, &mut c, &["pexpiretime", "foo"])), 9223372036854775000);
}

#[test]
fn persist_removes_the_ttl() {
    let e = Engine::for_tests();
    e.config.set("notify-keyspace-events", &[b"KEA"]).unwrap();
    let mut c = client(&e);
    set(&e, &mut c, "x", "foo");
    run(&e, &mut c, &["expire", "x", "50"]);
    assert_eq!(run(&e, &mut c, &["ttl", "x"]), ":50\r\n");
    let (reply, events, dirty) = run_events(&e, &mut c, &["persist", "x"]);
    assert_eq!((reply.as_str(), events, dirty), (":1\r\n", vec!["persist x".to_string()], 1));
    assert_eq!(run(&e, &mut c, &["ttl", "x"]), ":-1\r\n");
    assert_eq!(run(&e, &mut c, &["get", "x"]), "$3\r\nfoo\r\n");
    let (reply, events, dirty) = run_events(&e, &mut c, &["persist", "x"]);
    assert_eq!((reply.as_str(), events.len(), dirty), (":0\r\n", 0, 0));
    assert_eq!(run(&e, &mut c, &["persist", "nokeyatall"]), ":0\r\n");
}

/// Without the cron thread (unit tests have none) only lazy expiry can remove a key: it stays
/// in the table until something looks it up.
#[test]
fn lazy_expiry_on_access() {
    let e = Engine::for_tests();
    e.config.set("notify-keyspace-events", &[b"KEA"]).unwrap();
    let mut c = client(&e);
    for k in ["k1", "k2", "k3"] {
        set(&e, &mut c, k, "a");
        run(&e, &mut c, &["pexpire", k, "1"]);
    }
    sleep_ms(5);
    assert_eq!(run(&e, &mut c, &["dbsize"]), ":3\r\n");
    let (reply, events, _) = run_events(&e, &mut c, &["ttl", "k1"]);
    assert_eq!((reply.as_str(), events), (":-2\r\n", vec!["expired k1".to_string()]));
    assert_eq!(run(&e, &mut c, &["get", "k2"]), "$-1\r\n");
    assert_eq!(run(&e, &mut c, &["dbsize"]), ":1\r\n");
    // EXPIRE does not resurrect an expired key.
    assert_eq!(run(&e, &mut c, &["expire", "k3", "10"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["dbsize"]), ":0\r\n");
}
