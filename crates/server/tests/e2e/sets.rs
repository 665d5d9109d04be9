//! The set family and SORT over the wire: the `redis` crate's typed API, SMOVE atomicity
//! between concurrent clients, SORT with BY/GET patterns, and DUMP payloads exchanged with a
//! real redis-server (Redis 7.0 has no listpack sets: it refuses them, as it must).

use crate::harness::Server;
use crate::peer::{footer_version, restamp, Peer};
use std::collections::BTreeSet;

fn members(c: &mut redis::Connection, key: &str) -> BTreeSet<String> {
    redis::cmd("SMEMBERS").arg(key).query(c).unwrap()
}

#[test]
fn set_commands_through_the_redis_crate() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let added: i64 = redis::cmd("SADD").arg("a").arg(&["1", "2", "3", "x"]).query(&mut c).unwrap();
    assert_eq!(added, 4);
    let _: i64 = redis::cmd("SADD").arg("b").arg(&["2", "3", "y"]).query(&mut c).unwrap();
    let inter: BTreeSet<String> = redis::cmd("SINTER").arg("a").arg("b").query(&mut c).unwrap();
    assert_eq!(inter, ["2", "3"].iter().map(|s| s.to_string()).collect());
    let n: i64 = redis::cmd("SUNIONSTORE").arg("u").arg("a").arg("b").query(&mut c).unwrap();
    assert_eq!(n, 5);
    let diff: BTreeSet<String> = redis::cmd("SDIFF").arg("u").arg("b").query(&mut c).unwrap();
    assert_eq!(diff, ["1", "x"].iter().map(|s| s.to_string()).collect());
    let card: i64 = redis::cmd("SINTERCARD").arg(2).arg("a").arg("b").arg("LIMIT").arg(1).query(&mut c).unwrap();
    assert_eq!(card, 1);
    let flags: Vec<bool> = redis::cmd("SMISMEMBER").arg("a").arg("x").arg("q").query(&mut c).unwrap();
    assert_eq!(flags, vec![true, false]);
    let popped: BTreeSet<String> = redis::cmd("SPOP").arg("u").arg(2).query(&mut c).unwrap();
    assert_eq!(popped.len(), 2);
    let left = members(&mut c, "u");
    assert_eq!(left.len(), 3);
    assert!(left.is_disjoint(&popped));
    let sample: Vec<String> = redis::cmd("SRANDMEMBER").arg("a").arg(-10).query(&mut c).unwrap();
    assert_eq!(sample.len(), 10);
    let enc: String = redis::cmd("OBJECT").arg("ENCODING").arg("a").query(&mut c).unwrap();
    assert_eq!(enc, "listpack");
    let _: i64 = redis::cmd("SADD").arg("i").arg(&[5, 1, 3]).query(&mut c).unwrap();
    let enc: String = redis::cmd("OBJECT").arg("ENCODING").arg("i").query(&mut c).unwrap();
    assert_eq!(enc, "intset");
    let sorted: Vec<String> = redis::cmd("SMEMBERS").arg("i").query(&mut c).unwrap();
    assert_eq!(sorted, vec!["1", "3", "5"]);
}

/// Four clients move members between two sets at random while a fifth reads both in one
/// SUNION: every member is always in exactly one set, never lost or doubled.
#[test]
fn smove_between_concurrent_clients_never_loses_a_member() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let all: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let _: i64 = redis::cmd("SADD").arg("left").arg(&all).query(&mut c).unwrap();
    let url = s.url();
    let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(4));
    let movers: Vec<_> = (0..4)
        .map(|t| {
            let url = url.clone();
            let running = running.clone();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                let mut rng = fastrand::Rng::with_seed(t);
                for _ in 0..1500 {
                    let m = format!("m{}", rng.usize(..200));
                    let (from, to) = if rng.bool() { ("left", "right") } else { ("right", "left") };
                    let _: i64 = redis::cmd("SMOVE").arg(from).arg(to).arg(&m).query(&mut c).unwrap();
                }
                running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            })
        })
        .collect();
    let expected: BTreeSet<String> = all.iter().cloned().collect();
    let mut checks = 0;
    while running.load(std::sync::atomic::Ordering::SeqCst) > 0 || checks < 50 {
        checks += 1;
        // One command sees both sets at one instant: every member once.
        let both: Vec<String> = redis::cmd("SUNION").arg("left").arg("right").query(&mut c).unwrap();
        assert_eq!(both.len(), 200, "a member lost");
        let common: i64 = redis::cmd("SINTERCARD").arg(2).arg("left").arg("right").query(&mut c).unwrap();
        assert_eq!(common, 0, "a member in both sets");
    }
    for m in movers {
        m.join().unwrap();
    }
    let left = members(&mut c, "left");
    let right = members(&mut c, "right");
    assert!(left.is_disjoint(&right));
    assert_eq!(left.union(&right).cloned().collect::<BTreeSet<_>>(), expected);
}

#[test]
fn sort_by_and_get_patterns() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: i64 = redis::cmd("SADD").arg("ids").arg(&[3, 1, 2]).query(&mut c).unwrap();
    let _: () = redis::cmd("MSET").arg(&[("w_1", "30"), ("w_2", "10"), ("w_3", "20")]).query(&mut c).unwrap();
    for i in 1..=3 {
        let _: () = redis::cmd("HSET").arg(format!("user:{i}")).arg("name").arg(format!("n{i}")).query(&mut c).unwrap();
    }
    let by: Vec<String> = redis::cmd("SORT").arg("ids").arg("BY").arg("w_*").query(&mut c).unwrap();
    assert_eq!(by, vec!["2", "3", "1"]);
    let got: Vec<Option<String>> = redis::cmd("SORT_RO")
        .arg("ids")
        .arg("BY")
        .arg("w_*")
        .arg("DESC")
        .arg("GET")
        .arg("#")
        .arg("GET")
        .arg("user:*->name")
        .arg("GET")
        .arg("nokey_*")
        .query(&mut c)
        .unwrap();
    let expect =
        |v: &[&str]| v.iter().map(|s| if s.is_empty() { None } else { Some(s.to_string()) }).collect::<Vec<_>>();
    assert_eq!(got, expect(&["1", "n1", "", "3", "n3", "", "2", "n2", ""]));
    let alpha: Vec<String> =
        redis::cmd("SORT").arg("ids").arg("ALPHA").arg("LIMIT").arg(1).arg(5).query(&mut c).unwrap();
    assert_eq!(alpha, vec!["2", "3"]);
}

fn sadd_both(theirs: &mut redis::Connection, ours: &mut redis::Connection, key: &str, members: &[String]) {
    for conn in [theirs, ours] {
        for chunk in members.chunks(100) {
            let _: i64 = redis::cmd("SADD").arg(key).arg(chunk).query(conn).unwrap();
        }
    }
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    redis::cmd("OBJECT").arg("ENCODING").arg(key).query(c).unwrap()
}

#[test]
fn set_dump_payloads_interoperate_with_redis_server() {
    let Some(peer) = Peer::start() else { return };
    let mut theirs = peer.client().get_connection().unwrap();
    let s = Server::start(&[]);
    let mut ours = s.conn();
    let nums = |v: &[i64]| v.iter().map(|i| i.to_string()).collect::<Vec<_>>();
    let cases: Vec<(&str, Vec<String>)> = vec![
        // Intsets of every width: the same bytes on both sides.
        ("i16", nums(&[1, -5, 300])),
        ("i32", nums(&[70000, -1, 5])),
        ("i64", nums(&[i64::MIN, 0, i64::MAX])),
        // Strings: a table in Redis 7.0, a listpack in Valkey 8.
        ("small", ["a", "b", "", "12", "bin\0\r\n"].iter().map(|s| s.to_string()).collect()),
        // A table everywhere.
        ("big", (0..300).map(|i| format!("member:{i}")).collect()),
    ];
    for (key, members) in &cases {
        sadd_both(&mut theirs, &mut ours, key, members);
        let their_dump: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut theirs).unwrap();
        let our_dump: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut ours).unwrap();
        let expected: BTreeSet<Vec<u8>> = redis::cmd("SMEMBERS").arg(key).query(&mut ours).unwrap();
        if key.starts_with('i') {
            assert_eq!(&our_dump[..our_dump.len() - 10], &their_dump[..their_dump.len() - 10], "{key}");
        }
        // Theirs into ours.
        let copy = format!("{key}-from-peer");
        let _: () = redis::cmd("RESTORE").arg(&copy).arg(0).arg(&their_dump).query(&mut ours).unwrap();
        let got: BTreeSet<Vec<u8>> = redis::cmd("SMEMBERS").arg(&copy).query(&mut ours).unwrap();
        assert_eq!(got, expected, "{key}");
        assert_eq!(encoding(&mut ours, &copy), encoding(&mut ours, key), "{key}");
        // Ours into theirs: Redis 7.0 cannot read a listpack set (RDB type 20, new in 7.2).
        let copy = format!("{key}-from-kvasir");
        let payload = restamp(&our_dump, footer_version(&their_dump));
        let restored = redis::cmd("RESTORE").arg(&copy).arg(0).arg(&payload).query::<()>(&mut theirs);
        if *key == "small" {
            assert_eq!(our_dump[0], 20);
            assert_eq!(restored.unwrap_err().detail(), Some("Bad data format"));
        } else {
            restored.unwrap();
            let got: BTreeSet<Vec<u8>> = redis::cmd("SMEMBERS").arg(&copy).query(&mut theirs).unwrap();
            assert_eq!(got, expected, "{key}");
        }
    }
}
