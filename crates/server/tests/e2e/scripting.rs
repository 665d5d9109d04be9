//! Lua scripting over the wire with a real client: a distributed lock (SET NX PX plus a
//! compare-and-delete script), a token-bucket rate limiter, a script failing midway (its
//! earlier writes stay, as in Valkey), cjson and cmsgpack round trips, the cmsgpack, struct
//! and cjson libraries byte for byte against redis-server, and BUSY + SCRIPT KILL while a
//! script spins.

use crate::harness::Server;
use crate::peer::Peer;
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
fn cmsgpack_round_trip_of_a_client_blob() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    // {"id": 7, "tags": ["x", "y"], "score": 0.5, "neg": -1099511627776}, packed by hand.
    let mut blob = vec![0x84, 0xa2, b'i', b'd', 0x07, 0xa4, b't', b'a', b'g', b's', 0x92, 0xa1, b'x', 0xa1, b'y'];
    blob.extend_from_slice(&[0xa5, b's', b'c', b'o', b'r', b'e', 0xca, 0x3f, 0x00, 0x00, 0x00]);
    blob.extend_from_slice(&[0xa3, b'n', b'e', b'g', 0xd3, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00]);
    let script = r#"
local t = cmsgpack.unpack(ARGV[1])
t.id = t.id + 1
t.tags[#t.tags + 1] = 'z'
redis.call('set', KEYS[1], cmsgpack.pack(t.id, t.tags, t.score, t.neg))
return {t.id, t.tags[3], tostring(t.score), tostring(t.neg)}"#;
    let r: Vec<String> = cmd("EVAL").arg(script).arg(1).arg("blob").arg(&blob).query(&mut c).unwrap();
    assert_eq!(r, vec!["8", "z", "0.5", "-1099511627776"]);
    let stored: Vec<u8> = cmd("GET").arg("blob").query(&mut c).unwrap();
    let mut expected = vec![0x08, 0x93, 0xa1, b'x', 0xa1, b'y', 0xa1, b'z', 0xca, 0x3f, 0x00, 0x00, 0x00];
    expected.extend_from_slice(&[0xd3, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00]);
    assert_eq!(stored, expected);
}

/// Scripts whose replies depend on the libraries' every detail: number formats, table
/// layouts, configuration, error texts and positions, stack limits.
const LIBRARY_SCRIPTS: &[&str] = &[
    "return cmsgpack.pack(0, 127, 128, 65536, 4294967296, -1, -33, -32769, -2147483649, 0.1, 0.5, 1e-20, 2^63, 1/0)",
    "return cmsgpack.pack({1, 2, {3}}, {a = 1}, {}, {[2] = 5}, 'x', string.rep('y', 40), true, false, nil)",
    "local a = {y = 5} a.x = {x = a} return cmsgpack.pack(a)",
    "return {cmsgpack.unpack(cmsgpack.pack(1, 'two', 3.25, -7))}",
    "local s = cmsgpack.pack('a', 'bb', 'ccc') local o1 = cmsgpack.unpack_one(s) local o2, v = cmsgpack.unpack_limit(s, 1, o1) return {o1, o2, v}",
    "return cmsgpack.unpack('\\193')",
    "return cmsgpack.unpack('\\146\\1')",
    "return {pcall(cmsgpack.unpack_one, 'abc', 9)}",
    "return select('#', cmsgpack.unpack(string.rep('\\1', 7999)))",
    "return {pcall(cmsgpack.unpack, string.rep('\\1', 8000))}",
    "return cmsgpack.pack()",
    "return struct.pack('>i2<I4bhd', -2, 258, -1, 300, 0.1)",
    "return {struct.unpack('>i2<I4bhd', struct.pack('>i2<I4bhd', -2, 258, -1, 300, 0.1))}",
    "return {struct.unpack('bc0s', '\\3abcz\\0')}",
    "return {struct.size('!4bi3d'), struct.size('zi')}",
    "return struct.pack('i', 'x')",
    "return struct.pack('c3', 'ab')",
    "return {pcall(struct.unpack, 'i', 'abc')}",
    "return cjson.encode({1, 'a/b', {x = 1.5}, 1e-20, 2^53, cjson.null, true})",
    "return cjson.encode({[1] = 1, [3] = 3})",
    "return cjson.encode({[20] = 1})",
    "cjson.encode_sparse_array(true) local s = cjson.encode({[20] = 1}) cjson.encode_sparse_array(false) return s",
    "cjson.encode_invalid_numbers(true) local s = cjson.encode({0/0, 1/0}) cjson.encode_invalid_numbers('null') s = s .. cjson.encode({-1/0}) cjson.encode_invalid_numbers(false) return s",
    "cjson.encode_number_precision(4) local s = cjson.encode({1/3, 12345.678}) cjson.encode_number_precision(14) return s",
    "return {cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision(), cjson.encode_keep_buffer(false)}",
    "return cjson.encode({0/0})",
    "return cjson.encode_max_depth(0)",
    "return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10, 0x10]'), ' ')",
    "local t = cjson.decode('{\"a\":\"\\\\u00e9\\\\ud83d\\\\ude00\"}') return t.a",
    "return cjson.decode('[1,]')",
    "return cjson.decode('{\"a\" 1}')",
    "cjson.decode_max_depth(2) local ok, e = pcall(cjson.decode, '[[[1]]]') cjson.decode_max_depth(1000) return e",
    "local t = {} for i = 1, 1001 do t = {t} end return cjson.encode(t)",
];

#[test]
fn cmsgpack_struct_and_cjson_match_redis_server() {
    let Some(peer) = Peer::start() else { return };
    let s = Server::start(&[]);
    let mut ours = s.conn();
    let mut theirs = peer.client().get_connection().unwrap();
    for script in LIBRARY_SCRIPTS {
        let a: redis::RedisResult<redis::Value> = cmd("EVAL").arg(*script).arg(0).query(&mut theirs);
        let b: redis::RedisResult<redis::Value> = cmd("EVAL").arg(*script).arg(0).query(&mut ours);
        assert_eq!(format!("{b:?}"), format!("{a:?}"), "{script}");
    }
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
