//! Lua scripting over the wire with a real client: a distributed lock (SET NX PX plus a
//! compare-and-delete script), a token-bucket rate limiter, a script failing midway (its
//! earlier writes stay, as in Valkey), a cjson round trip, and BUSY + SCRIPT KILL while a
//! script spins.

use crate::harness::Server;
use redis::{cmd, Script};
use std::time::Duration;

const UNLOCK: &str = r#"
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
else
  return 0
end"#;

#[test]
fn distributed_lock_compare_and_delete() {
    let s = Server::start(&["--worker-threads", "2"]);
    let mut a = s.conn();
    let mut b = s.conn();
    let got: Option<String> =
        cmd("SET").arg("lock").arg("token-a").arg("NX").arg("PX").arg(30000).query(&mut a).unwrap();
    assert_eq!(got.as_deref(), Some("OK"));
    let got: Option<String> =
        cmd("SET").arg("lock").arg("token-b").arg("NX").arg("PX").arg(30000).query(&mut b).unwrap();
    assert_eq!(got, None, "the lock is held");
    let unlock = Script::new(UNLOCK);
    let n: i64 = unlock.key("lock").arg("token-b").invoke(&mut b).unwrap();
    assert_eq!(n, 0, "another holder's token does not release the lock");
    let n: i64 = unlock.key("lock").arg("token-a").invoke(&mut a).unwrap();
    assert_eq!(n, 1);
    let exists: i64 = cmd("EXISTS").arg("lock").query(&mut a).unwrap();
    assert_eq!(exists, 0);
}

const BUCKET: &str = r#"
local capacity = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local b = redis.call('hmget', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or capacity
local ts = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('hset', KEYS[1], 'tokens', tokens, 'ts', now)
return allowed"#;

#[test]
fn token_bucket_rate_limiter() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let bucket = Script::new(BUCKET);
    let mut allowed = 0;
    for _ in 0..5 {
        let ok: i64 = bucket.key("bucket").arg(3).arg(100).arg(1).invoke(&mut c).unwrap();
        allowed += ok;
    }
    assert_eq!(allowed, 3, "three tokens at t=100, none refilled");
    let ok: i64 = bucket.key("bucket").arg(3).arg(102).arg(1).invoke(&mut c).unwrap();
    assert_eq!(ok, 1, "two seconds later two tokens came back");
    let tokens: String = cmd("HGET").arg("bucket").arg("tokens").query(&mut c).unwrap();
    assert_eq!(tokens, "1");
}

#[test]
fn a_script_error_midway_keeps_earlier_writes() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = cmd("SET").arg("str").arg("x").query(&mut c).unwrap();
    let r: redis::RedisResult<()> = cmd("EVAL")
        .arg("redis.call('set', 'a', 1); redis.call('lpush', 'str', 1); redis.call('set', 'b', 1)")
        .arg(0)
        .query(&mut c);
    let e = r.unwrap_err();
    assert_eq!(e.code(), Some("WRONGTYPE"));
    let text = e.to_string();
    assert!(text.contains("script: ") && text.contains("@user_script:1."), "{text}");
    let a: Option<i64> = cmd("GET").arg("a").query(&mut c).unwrap();
    let b: Option<i64> = cmd("GET").arg("b").query(&mut c).unwrap();
    assert_eq!((a, b), (Some(1), None), "scripts are not rolled back; nothing after the error ran");
}

#[test]
fn cjson_round_trip() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let doc = r#"{"name":"kvasir","tags":["a","b"],"n":1.5,"ok":true,"none":null}"#;
    let script = r#"
local t = cjson.decode(ARGV[1])
redis.call('set', KEYS[1], cjson.encode(t))
local back = cjson.decode(redis.call('get', KEYS[1]))
return {back.name, back.tags[2], tostring(back.n), tostring(back.ok), tostring(back.none == cjson.null)}"#;
    let r: Vec<String> = cmd("EVAL").arg(script).arg(1).arg("doc").arg(doc).query(&mut c).unwrap();
    assert_eq!(r, vec!["kvasir", "b", "1.5", "true", "true"]);
}

#[test]
fn busy_script_then_script_kill() {
    let s = Server::start(&["--worker-threads", "2", "--busy-reply-threshold", "50"]);
    let mut spinner = s.raw();
    spinner.cmd(&[b"EVAL", b"local i = 0 while true do i = i + 1 end", b"0"]);
    std::thread::sleep(Duration::from_millis(200));
    let mut c = s.conn();
    let r: redis::RedisResult<String> = cmd("PING").query(&mut c);
    let e = r.unwrap_err();
    assert_eq!(e.code(), Some("BUSY"), "{e}");
    let ok: String = cmd("SCRIPT").arg("KILL").query(&mut c).unwrap();
    assert_eq!(ok, "OK");
    let reply = String::from_utf8_lossy(&spinner.read_reply()).into_owned();
    assert!(reply.starts_with("-ERR Script killed by user with SCRIPT KILL..."), "{reply}");
    let pong: String = cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
}

const SPIN: &[u8] = b"local i = 0 while true do i = i + 1 end";

/// Waits until `c` gets a BUSY reply to PING (the script passed busy-reply-threshold).
fn wait_busy(c: &mut crate::harness::Raw) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = c.call(&["PING"]);
        if r.starts_with("-BUSY") || std::time::Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One worker thread: the script's connection and the others share its event loop, which
/// must go on serving them while the script runs (on a thread of its own).
#[test]
fn one_worker_thread_answers_busy_and_kills_a_script() {
    let s = Server::start(&["--worker-threads", "1", "--busy-reply-threshold", "100"]);
    let mut other = s.raw();
    assert_eq!(other.call(&["SET", "k", "before"]), "+OK\r\n");
    let mut spinner = s.raw();
    // The script, then a PING pipelined behind it: its reply must come after the script's.
    let mut wire = Vec::new();
    for args in [&[&b"EVAL"[..], SPIN, b"0"][..], &[b"PING"]] {
        wire.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            wire.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            wire.extend_from_slice(a);
            wire.extend_from_slice(b"\r\n");
        }
    }
    spinner.send(&wire);
    std::thread::sleep(Duration::from_millis(20));
    // Sent before the threshold: the script holds only the shards of the keys it declared
    // (none), so other keys are served meanwhile (Valkey stops everything during a script).
    assert_eq!(other.call(&["GET", "k"]), "$6\r\nbefore\r\n");
    // Past the threshold, everything but SCRIPT KILL & co. gets BUSY, as in Valkey.
    assert_eq!(
        wait_busy(&mut other),
        "-BUSY Valkey is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    // A third connection, on the same thread too, is served.
    let mut third = s.raw();
    assert!(third.call(&["SET", "k", "x"]).starts_with("-BUSY"));
    assert!(third
        .call(&["FUNCTION", "KILL"])
        .starts_with("-BUSY Valkey is busy running a script. You can only call SCRIPT KILL"));
    assert_eq!(other.call(&["SCRIPT", "KILL"]), "+OK\r\n");
    let killed = String::from_utf8_lossy(&spinner.read_reply()).into_owned();
    assert!(killed.starts_with("-ERR Script killed by user with SCRIPT KILL..."), "{killed}");
    assert_eq!(spinner.read_reply(), b"+PONG\r\n");
    assert_eq!(other.call(&["GET", "k"]), "$6\r\nbefore\r\n");
    assert_eq!(spinner.call(&["EVAL", "return redis.call('incr', KEYS[1])", "1", "n"]), ":1\r\n");
}

#[test]
fn one_worker_thread_kills_a_function_and_shuts_down_under_an_unkillable_script() {
    let mut s = Server::start(&["--worker-threads", "1", "--busy-reply-threshold", "50"]);
    let mut other = s.raw();
    let lib =
        "#!lua name=spin\nserver.register_function('spin', function() local i = 0 while true do i = i + 1 end end)";
    assert_eq!(other.call(&["FUNCTION", "LOAD", lib]), "$4\r\nspin\r\n");
    let mut spinner = s.raw();
    spinner.cmd(&[b"FCALL", b"spin", b"0"]);
    assert_eq!(
        wait_busy(&mut other),
        "-BUSY Valkey is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
    );
    assert!(other.call(&["SCRIPT", "KILL"]).starts_with("-BUSY"));
    let stats = other.call(&["FUNCTION", "STATS"]);
    assert!(stats.contains("spin") && stats.contains("duration_ms"), "{stats}");
    assert_eq!(other.call(&["FUNCTION", "KILL"]), "+OK\r\n");
    let killed = String::from_utf8_lossy(&spinner.read_reply()).into_owned();
    assert!(killed.contains("Script killed by user"), "{killed}");
    // A script that wrote cannot be killed; SHUTDOWN must not save, SHUTDOWN NOSAVE ends it.
    spinner.cmd(&[b"EVAL", b"redis.call('set', KEYS[1], 'y') while true do end", b"1", b"x"]);
    assert!(wait_busy(&mut other).starts_with("-BUSY"));
    assert!(other
        .call(&["SCRIPT", "KILL"])
        .starts_with("-UNKILLABLE Sorry the script already executed write commands"));
    assert!(other.call(&["SHUTDOWN", "SAVE"]).starts_with("-BUSY"));
    other.cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s.try_wait().is_none() {
        assert!(std::time::Instant::now() < deadline, "SHUTDOWN NOSAVE did not stop the server");
        std::thread::sleep(Duration::from_millis(20));
    }
}
