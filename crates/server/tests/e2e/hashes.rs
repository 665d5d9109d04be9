//! The hash family over the wire: the `redis` crate's typed API, HSCAN iteration over both
//! encodings, RESP3 reply shapes, and DUMP payloads exchanged with a real redis-server in both
//! directions (byte-identical for listpacks; converted by the configured limits on load).

use crate::harness::Server;
use crate::peer::{footer_version, restamp, Peer};
use std::collections::{BTreeMap, HashMap};

#[test]
fn hash_commands_through_the_redis_crate() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let fields: Vec<(String, String)> = (0..10).map(|i| (format!("f{i}"), format!("v{i}"))).collect();
    let _: () = redis::cmd("HSET").arg("h").arg(&fields).query(&mut c).unwrap();
    let all: HashMap<String, String> = redis::cmd("HGETALL").arg("h").query(&mut c).unwrap();
    assert_eq!(all, fields.iter().cloned().collect::<HashMap<_, _>>());
    let v: Option<String> = redis::cmd("HGET").arg("h").arg("f3").query(&mut c).unwrap();
    assert_eq!(v.as_deref(), Some("v3"));
    let missing: Option<String> = redis::cmd("HGET").arg("h").arg("nope").query(&mut c).unwrap();
    assert_eq!(missing, None);
    let n: i64 = redis::cmd("HINCRBY").arg("h").arg("n").arg(-5).query(&mut c).unwrap();
    assert_eq!(n, -5);
    let f: f64 = redis::cmd("HINCRBYFLOAT").arg("h").arg("x").arg(2.5).query(&mut c).unwrap();
    assert_eq!(f, 2.5);
    let removed: i64 = redis::cmd("HDEL").arg("h").arg("f0").arg("f1").arg("zz").query(&mut c).unwrap();
    assert_eq!(removed, 2);
    let len: i64 = redis::cmd("HLEN").arg("h").query(&mut c).unwrap();
    assert_eq!(len, 10);
    let enc: String = redis::cmd("OBJECT").arg("ENCODING").arg("h").query(&mut c).unwrap();
    assert_eq!(enc, "listpack");
    // Past the value limit: a table; contents unchanged.
    let long = "x".repeat(100);
    let _: () = redis::cmd("HSET").arg("h").arg("long").arg(&long).query(&mut c).unwrap();
    let enc: String = redis::cmd("OBJECT").arg("ENCODING").arg("h").query(&mut c).unwrap();
    assert_eq!(enc, "hashtable");
    let got: Vec<Option<String>> =
        redis::cmd("HMGET").arg("h").arg("long").arg("f9").arg("nope").query(&mut c).unwrap();
    assert_eq!(got, vec![Some(long), Some("v9".into()), None]);
    let wrong = redis::cmd("HGET").arg("h").arg("f2").arg("extra").query::<String>(&mut c).unwrap_err();
    assert!(wrong.to_string().contains("wrong number of arguments"), "{wrong}");
    let _: () = redis::cmd("SET").arg("str").arg("1").query(&mut c).unwrap();
    let wrong = redis::cmd("HLEN").arg("str").query::<i64>(&mut c).unwrap_err();
    assert_eq!(wrong.code(), Some("WRONGTYPE"));
}

#[test]
fn hscan_visits_every_field_of_both_encodings() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for (key, n) in [("small", 20), ("big", 3000)] {
        let fields: Vec<(String, i64)> = (0..n).map(|i| (format!("field:{i}"), i)).collect();
        for chunk in fields.chunks(500) {
            let _: () = redis::cmd("HSET").arg(key).arg(chunk).query(&mut c).unwrap();
        }
        let mut cursor = 0u64;
        let mut seen = BTreeMap::new();
        loop {
            let (next, items): (u64, Vec<String>) =
                redis::cmd("HSCAN").arg(key).arg(cursor).arg("COUNT").arg(50).query(&mut c).unwrap();
            for pair in items.chunks(2) {
                seen.insert(pair[0].clone(), pair[1].parse::<i64>().unwrap());
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), n as usize, "{key}");
        assert!(seen.iter().all(|(f, v)| f == &format!("field:{v}")));
        let (_, keys_only): (u64, Vec<String>) =
            redis::cmd("HSCAN").arg(key).arg(0).arg("MATCH").arg("field:1?").arg("NOVALUES").query(&mut c).unwrap();
        assert!(keys_only.iter().all(|f| f.starts_with("field:1") && f.len() == 8), "{keys_only:?}");
    }
}

#[test]
fn resp3_shapes() {
    let s = Server::start(&[]);
    let mut raw = s.raw();
    assert!(raw.call(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(raw.call(&["HSET", "h", "a", "1"]), ":1\r\n");
    assert_eq!(raw.call(&["HGETALL", "h"]), "%1\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(
        raw.call(&["HRANDFIELD", "h", "-2", "WITHVALUES"]),
        "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(raw.call(&["HGET", "h", "zz"]), "_\r\n");
    assert_eq!(raw.call(&["HGETALL", "zz"]), "%0\r\n");
    assert_eq!(raw.call(&["HELLO", "2"]).as_bytes()[0], b'*');
    assert_eq!(
        raw.call(&["HRANDFIELD", "h", "-2", "WITHVALUES"]),
        "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
}

/// Builds the same hash on both servers with the same commands.
fn hset_both(theirs: &mut redis::Connection, ours: &mut redis::Connection, key: &str, pairs: &[(String, String)]) {
    for conn in [theirs, ours] {
        for chunk in pairs.chunks(100) {
            let _: () = redis::cmd("HSET").arg(key).arg(chunk).query(conn).unwrap();
        }
    }
}

fn hgetall(c: &mut redis::Connection, key: &str) -> BTreeMap<Vec<u8>, Vec<u8>> {
    redis::cmd("HGETALL").arg(key).query(c).unwrap()
}

#[test]
fn hash_dump_payloads_interoperate_with_redis_server() {
    let Some(peer) = Peer::start() else { return };
    let mut theirs = peer.client().get_connection().unwrap();
    let s = Server::start(&[]);
    let mut ours = s.conn();
    let pair = |f: &str, v: &str| (f.to_string(), v.to_string());
    let cases: Vec<(&str, Vec<(String, String)>)> = vec![
        // Every integer width and string length class of a listpack.
        (
            "lp",
            vec![
                pair("a", "1"),
                pair("int16", "-32768"),
                pair("int24", "8388607"),
                pair("int32", "-2147483648"),
                pair("int64", "9223372036854775807"),
                pair("", ""),
                pair("not-canonical", "007"),
                pair("s63", &"y".repeat(63)),
                pair("bin\0\r\n", "\u{7f}"),
            ],
        ),
        // 200 fields: a table in Redis 7.0 (128 fields at most in a listpack), a listpack in
        // Valkey 8 (512): the loader converts.
        ("mid", (0..200).map(|i| pair(&format!("f{i}"), &i.to_string())).collect()),
        // A table everywhere: too many fields, and a long value.
        ("big", (0..600).map(|i| pair(&format!("f{i}"), &"v".repeat(i % 70))).collect()),
    ];
    for (key, pairs) in &cases {
        hset_both(&mut theirs, &mut ours, key, pairs);
        let their_dump: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut theirs).unwrap();
        let our_dump: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut ours).unwrap();
        assert_eq!(footer_version(&our_dump), 11);
        if *key == "lp" {
            // Same listpack, byte for byte.
            assert_eq!(&our_dump[..our_dump.len() - 10], &their_dump[..their_dump.len() - 10]);
        }
        let expected = hgetall(&mut ours, key);
        // Theirs into ours: contents, and the encoding our limits give.
        let copy = format!("{key}-from-peer");
        let _: () = redis::cmd("RESTORE").arg(&copy).arg(0).arg(&their_dump).query(&mut ours).unwrap();
        assert_eq!(hgetall(&mut ours, &copy), expected, "{key}");
        let enc: String = redis::cmd("OBJECT").arg("ENCODING").arg(&copy).query(&mut ours).unwrap();
        assert_eq!(enc, if *key == "big" { "hashtable" } else { "listpack" }, "{key}");
        // Ours into theirs, stamped with its RDB version.
        let copy = format!("{key}-from-kvasir");
        let payload = restamp(&our_dump, footer_version(&their_dump));
        let _: () = redis::cmd("RESTORE").arg(&copy).arg(0).arg(&payload).query(&mut theirs).unwrap();
        assert_eq!(hgetall(&mut theirs, &copy), expected, "{key}");
    }
}
