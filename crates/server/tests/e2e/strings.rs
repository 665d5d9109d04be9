//! The string family end to end: what a client sees through the `redis` crate and on the
//! wire, including behaviour that needs the real server (expiry over time, concurrent
//! writers on several connections, large values).

use crate::harness::Server;
use redis::{cmd, Connection, RedisResult, Value};
use std::time::Duration;

fn err_text<T: std::fmt::Debug>(r: RedisResult<T>) -> String {
    let e = r.expect_err("expected an error reply");
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

#[test]
fn set_get_and_binary_values() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let value: Vec<u8> = (0..=255u8).chain(b"\r\n\0\r\n".iter().copied()).collect();
    let _: () = cmd("SET").arg("bin").arg(&value).query(&mut c).unwrap();
    let back: Vec<u8> = cmd("GET").arg("bin").query(&mut c).unwrap();
    assert_eq!(back, value);
    let len: i64 = cmd("STRLEN").arg("bin").query(&mut c).unwrap();
    assert_eq!(len, value.len() as i64);
    let missing: Option<String> = cmd("GET").arg("nope").query(&mut c).unwrap();
    assert_eq!(missing, None);
    let big = vec![b'x'; 4_000_000];
    let _: () = cmd("SET").arg("big").arg(&big).query(&mut c).unwrap();
    let back: Vec<u8> = cmd("GET").arg("big").query(&mut c).unwrap();
    assert!(back == big, "4MB value did not round-trip");
}

#[test]
fn set_options_through_a_client() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let r: Option<String> = cmd("SET").arg("k").arg("1").arg("NX").query(&mut c).unwrap();
    assert_eq!(r.as_deref(), Some("OK"));
    let r: Option<String> = cmd("SET").arg("k").arg("2").arg("NX").query(&mut c).unwrap();
    assert_eq!(r, None);
    let old: Option<String> = cmd("SET").arg("k").arg("3").arg("XX").arg("GET").query(&mut c).unwrap();
    assert_eq!(old.as_deref(), Some("1"));
    assert_eq!(
        err_text(cmd("SET").arg("k").arg("v").arg("EX").arg("10").arg("PX").arg("5").query::<()>(&mut c)),
        "ERR syntax error"
    );
    assert_eq!(
        err_text(cmd("SET").arg("k").arg("v").arg("EX").arg("0").query::<()>(&mut c)),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        err_text(cmd("SETEX").arg("k").arg("-1").arg("v").query::<()>(&mut c)),
        "ERR invalid expire time in 'setex' command"
    );
}

#[test]
fn keys_expire_over_time() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = cmd("SET").arg("px").arg("v").arg("PX").arg(150).query(&mut c).unwrap();
    let _: () = cmd("PSETEX").arg("ps").arg(150).arg("v").query(&mut c).unwrap();
    let _: () = cmd("SET").arg("keep").arg("v").arg("PX").arg(150).query(&mut c).unwrap();
    let _: () = cmd("SET").arg("keep").arg("w").arg("KEEPTTL").query(&mut c).unwrap();
    let _: () = cmd("SET").arg("cleared").arg("v").arg("PX").arg(150).query(&mut c).unwrap();
    let _: () = cmd("SET").arg("cleared").arg("w").query(&mut c).unwrap();
    let _: () = cmd("SET").arg("gx").arg("v").query(&mut c).unwrap();
    let v: String = cmd("GETEX").arg("gx").arg("PX").arg(150).query(&mut c).unwrap();
    assert_eq!(v, "v");
    let _: () = cmd("SET").arg("persisted").arg("v").arg("PX").arg(150).query(&mut c).unwrap();
    let _: String = cmd("GETEX").arg("persisted").arg("PERSIST").query(&mut c).unwrap();
    let _: () = cmd("SET").arg("counter").arg(1).arg("PX").arg(150).query(&mut c).unwrap();
    let n: i64 = cmd("INCR").arg("counter").query(&mut c).unwrap();
    assert_eq!(n, 2);
    std::thread::sleep(Duration::from_millis(300));
    let got: Vec<Option<String>> =
        cmd("MGET").arg(&["px", "ps", "keep", "cleared", "gx", "persisted", "counter"]).query(&mut c).unwrap();
    assert_eq!(got, vec![None, None, None, Some("w".into()), None, Some("v".into()), None]);
}

#[test]
fn mset_mget_msetnx_across_many_keys() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut mset = cmd("MSET");
    for i in 0..500 {
        mset.arg(format!("key:{i}")).arg(i);
    }
    let _: () = mset.query(&mut c).unwrap();
    let mut mget = cmd("MGET");
    for i in 0..501 {
        mget.arg(format!("key:{i}"));
    }
    let got: Vec<Option<i64>> = mget.query(&mut c).unwrap();
    assert_eq!(got.len(), 501);
    assert!(got[..500].iter().enumerate().all(|(i, v)| *v == Some(i as i64)));
    assert_eq!(got[500], None);
    let r: i64 = cmd("MSETNX").arg("fresh").arg(1).arg("key:7").arg(2).query(&mut c).unwrap();
    assert_eq!(r, 0);
    let r: i64 = cmd("EXISTS").arg("fresh").query(&mut c).unwrap();
    assert_eq!(r, 0);
    assert_eq!(
        err_text(cmd("MSET").arg("a").arg(1).arg("b").query::<()>(&mut c)),
        "ERR wrong number of arguments for 'mset' command"
    );
}

#[test]
fn concurrent_incr_loses_nothing() {
    let s = Server::start(&[]);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let mut c: Connection = s.conn();
            std::thread::spawn(move || {
                for _ in 0..500 {
                    let _: i64 = cmd("INCR").arg("hits").query(&mut c).unwrap();
                    let _: i64 = cmd("INCRBY").arg("bytes").arg(10).query(&mut c).unwrap();
                    let _: i64 = cmd("APPEND").arg("log").arg("x").query(&mut c).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut c = s.conn();
    let (hits, bytes, log): (i64, i64, i64) =
        redis::pipe().cmd("GET").arg("hits").cmd("GET").arg("bytes").cmd("STRLEN").arg("log").query(&mut c).unwrap();
    assert_eq!((hits, bytes, log), (2000, 20000, 2000));
}

#[test]
fn counters_and_floats() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let n: i64 = cmd("DECRBY").arg("n").arg(5).query(&mut c).unwrap();
    assert_eq!(n, -5);
    let _: () = cmd("SET").arg("max").arg(i64::MAX).query(&mut c).unwrap();
    assert_eq!(err_text(cmd("INCR").arg("max").query::<i64>(&mut c)), "ERR increment or decrement would overflow");
    let _: () = cmd("SET").arg("s").arg("abc").query(&mut c).unwrap();
    assert_eq!(err_text(cmd("INCR").arg("s").query::<i64>(&mut c)), "ERR value is not an integer or out of range");
    let f: String = cmd("INCRBYFLOAT").arg("f").arg("10.5").query(&mut c).unwrap();
    assert_eq!(f, "10.5");
    let f: String = cmd("INCRBYFLOAT").arg("f").arg("0.1").query(&mut c).unwrap();
    assert_eq!(f, "10.6");
    let f: String = cmd("INCRBYFLOAT").arg("f").arg("-10.6").query(&mut c).unwrap();
    assert_eq!(f, "0");
    let _: () = cmd("SET").arg("e").arg("3.0e3").query(&mut c).unwrap();
    let f: String = cmd("INCRBYFLOAT").arg("e").arg("2.0e2").query(&mut c).unwrap();
    assert_eq!(f, "3200");
    assert_eq!(
        err_text(cmd("INCRBYFLOAT").arg("e").arg("inf").query::<String>(&mut c)),
        "ERR increment would produce NaN or Infinity"
    );
}

#[test]
fn ranges_append_setrange_lcs() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = cmd("SET").arg("k").arg("Hello World").query(&mut c).unwrap();
    let r: String = cmd("GETRANGE").arg("k").arg(-5).arg(-1).query(&mut c).unwrap();
    assert_eq!(r, "World");
    let r: String = cmd("SUBSTR").arg("k").arg(0).arg(4294967297i64).query(&mut c).unwrap();
    assert_eq!(r, "Hello World");
    let n: i64 = cmd("SETRANGE").arg("k").arg(6).arg("Redis").query(&mut c).unwrap();
    assert_eq!(n, 11);
    let n: i64 = cmd("APPEND").arg("k").arg("!").query(&mut c).unwrap();
    assert_eq!(n, 12);
    let r: String = cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(r, "Hello Redis!");
    assert_eq!(
        err_text(cmd("SETRANGE").arg("k").arg(536870908).arg("world").query::<i64>(&mut c)),
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
    let _: () = cmd("MSET").arg("a").arg("ohmytext").arg("b").arg("mynewtext").query(&mut c).unwrap();
    let r: String = cmd("LCS").arg("a").arg("b").query(&mut c).unwrap();
    assert_eq!(r, "mytext");
    let idx: Vec<Value> = cmd("LCS").arg("a").arg("b").arg("IDX").arg("WITHMATCHLEN").query(&mut c).unwrap();
    assert_eq!(idx.len(), 4, "{idx:?}");
    assert_eq!(idx[0], Value::BulkString(b"matches".to_vec()));
    assert_eq!((&idx[2], &idx[3]), (&Value::BulkString(b"len".to_vec()), &Value::Int(6)));
    let Value::Array(matches) = &idx[1] else { panic!("{idx:?}") };
    let lens: Vec<&Value> = matches
        .iter()
        .map(|m| match m {
            Value::Array(parts) => &parts[2],
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(lens, [&Value::Int(4), &Value::Int(2)]);
}

#[test]
fn wire_replies_in_resp2_and_resp3() {
    let s = Server::start(&[]);
    let mut raw = s.raw();
    assert_eq!(raw.call(&["SET", "k", "v", "GET"]), "$-1\r\n");
    assert_eq!(raw.call(&["GETDEL", "k"]), "$1\r\nv\r\n");
    assert_eq!(raw.call(&["GETEX", "k", "PERSIST"]), "$-1\r\n");
    assert_eq!(raw.call(&["SETNX", "k", "v"]), ":1\r\n");
    assert_eq!(raw.call(&["GETRANGE", "nokey", "0", "-1"]), "$0\r\n\r\n");
    raw.call(&["MSET", "a", "ohmytext", "b", "mynewtext"]);
    assert_eq!(raw.call(&["LCS", "a", "b", "LEN"]), ":6\r\n");
    raw.call(&["HELLO", "3"]);
    assert_eq!(raw.call(&["GET", "missing"]), "_\r\n");
    assert_eq!(
        raw.call(&["LCS", "a", "b", "IDX", "MINMATCHLEN", "3"]),
        "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n"
    );
}
