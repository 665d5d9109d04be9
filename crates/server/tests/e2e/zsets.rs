//! The sorted set family end to end through the `redis` crate and on the wire: the two uses
//! that make sorted sets popular (a leaderboard, a sliding-window rate limiter) checked against
//! a model, RESP3 doubles, both encodings, and DUMP/RESTORE payloads exchanged with a real
//! redis-server in both directions.

use crate::harness::{wait_blocked, Server};
use crate::peer::{crc64_jones, footer_version, restamp, Peer};
use redis::{cmd, Connection, RedisResult};
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn err_text<T: std::fmt::Debug>(r: RedisResult<T>) -> String {
    let e = r.expect_err("expected an error reply");
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

fn encoding(c: &mut Connection, key: &str) -> String {
    cmd("OBJECT").arg("ENCODING").arg(key).query(c).unwrap()
}

#[test]
fn basic_commands_through_a_client() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let added: i64 =
        cmd("ZADD").arg("z").arg(1).arg("one").arg(2.5).arg("two").arg("-inf").arg("low").query(&mut c).unwrap();
    assert_eq!(added, 3);
    let all: Vec<(String, f64)> = cmd("ZRANGE").arg("z").arg(0).arg(-1).arg("WITHSCORES").query(&mut c).unwrap();
    assert_eq!(all, vec![("low".into(), f64::NEG_INFINITY), ("one".into(), 1.0), ("two".into(), 2.5)]);
    let score: f64 = cmd("ZINCRBY").arg("z").arg(0.25).arg("two").query(&mut c).unwrap();
    assert_eq!(score, 2.75);
    let rank: Option<i64> = cmd("ZREVRANK").arg("z").arg("low").query(&mut c).unwrap();
    assert_eq!(rank, Some(2));
    let missing: Option<f64> = cmd("ZSCORE").arg("z").arg("nope").query(&mut c).unwrap();
    assert_eq!(missing, None);
    let removed: i64 = cmd("ZREM").arg("z").arg("low").arg("one").arg("two").query(&mut c).unwrap();
    assert_eq!(removed, 3);
    let exists: i64 = cmd("EXISTS").arg("z").query(&mut c).unwrap();
    assert_eq!(exists, 0, "an emptied sorted set is deleted");
    assert_eq!(
        err_text(cmd("ZADD").arg("z").arg("NX").arg("XX").arg(1).arg("a").query::<i64>(&mut c)),
        "ERR XX and NX options at the same time are not compatible"
    );
    let _: () = cmd("SET").arg("s").arg("x").query(&mut c).unwrap();
    assert_eq!(
        err_text(cmd("ZCARD").arg("s").query::<i64>(&mut c)),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    let kind: String = cmd("TYPE").arg("z2").query(&mut c).unwrap();
    assert_eq!(kind, "none");
    let _: i64 = cmd("ZADD").arg("z2").arg(1).arg("a").query(&mut c).unwrap();
    let kind: String = cmd("TYPE").arg("z2").query(&mut c).unwrap();
    assert_eq!(kind, "zset");
}

/// A game leaderboard: thousands of score updates, then the top ten, a player's rank, a page
/// of a score band, compared with the same computed in the test.
#[test]
fn leaderboard() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut model: HashMap<String, f64> = HashMap::new();
    let mut rng = fastrand::Rng::with_seed(42);
    let mut pipe = redis::pipe();
    for _ in 0..5000 {
        let player = format!("player:{}", rng.u32(0..1500));
        let points = f64::from(rng.u32(1..100));
        *model.entry(player.clone()).or_default() += points;
        pipe.cmd("ZINCRBY").arg("board").arg(points).arg(&player).ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();
    assert_eq!(encoding(&mut c, "board"), "skiplist");
    let card: usize = cmd("ZCARD").arg("board").query(&mut c).unwrap();
    assert_eq!(card, model.len());

    // Ordered as the server orders: score descending, then member descending.
    let mut ranking: Vec<(String, f64)> = model.iter().map(|(p, s)| (p.clone(), *s)).collect();
    ranking.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then_with(|| b.0.cmp(&a.0)));

    let top: Vec<(String, f64)> = cmd("ZREVRANGE").arg("board").arg(0).arg(9).arg("WITHSCORES").query(&mut c).unwrap();
    assert_eq!(top, ranking[..10].to_vec());
    let top2: Vec<(String, f64)> =
        cmd("ZRANGE").arg("board").arg(0).arg(9).arg("REV").arg("WITHSCORES").query(&mut c).unwrap();
    assert_eq!(top2, top);

    for (i, (player, score)) in ranking.iter().enumerate().step_by(97) {
        let rank: Option<usize> = cmd("ZREVRANK").arg("board").arg(player).query(&mut c).unwrap();
        assert_eq!(rank, Some(i), "{player}");
        let got: f64 = cmd("ZSCORE").arg("board").arg(player).query(&mut c).unwrap();
        assert_eq!(got, *score);
    }

    // Players with 100..=200 points, second page of 20, best first.
    let band: Vec<&(String, f64)> = ranking.iter().filter(|(_, s)| (100.0..=200.0).contains(s)).collect();
    let count: usize = cmd("ZCOUNT").arg("board").arg(100).arg(200).query(&mut c).unwrap();
    assert_eq!(count, band.len());
    let page: Vec<String> =
        cmd("ZREVRANGEBYSCORE").arg("board").arg(200).arg(100).arg("LIMIT").arg(20).arg(20).query(&mut c).unwrap();
    let want: Vec<String> = band.iter().skip(20).take(20).map(|(p, _)| p.clone()).collect();
    assert_eq!(page, want);

    // Season end: keep the top 100 only.
    let removed: usize = cmd("ZREMRANGEBYRANK").arg("board").arg(0).arg(-101).query(&mut c).unwrap();
    assert_eq!(removed, model.len() - 100);
    let best: Vec<(String, f64)> = cmd("ZPOPMAX").arg("board").arg(3).query(&mut c).unwrap();
    assert_eq!(best, ranking[..3].to_vec());
}

/// A sliding-window rate limiter, the classic way: each request is a member scored with its
/// time; old entries are trimmed with ZREMRANGEBYSCORE and ZCARD says how many remain.
#[test]
fn sliding_window_rate_limiter() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    const WINDOW_MS: u64 = 1000;
    const LIMIT: usize = 5;
    // Simulated clock: requests every 150 ms for 6 s, for two users.
    let mut log: HashMap<&str, Vec<u64>> = HashMap::new();
    for step in 0..40u64 {
        let now = 1_700_000_000_000 + step * 150;
        for user in ["alice", "bob"] {
            if user == "bob" && step % 3 != 0 {
                continue;
            }
            let key = format!("ratelimit:{user}");
            let (_, _, count, _): (i64, i64, usize, i64) = redis::pipe()
                .cmd("ZREMRANGEBYSCORE")
                .arg(&key)
                .arg("-inf")
                .arg(format!("({}", now - WINDOW_MS))
                .cmd("ZADD")
                .arg(&key)
                .arg(now)
                .arg(format!("{now}-{step}"))
                .cmd("ZCARD")
                .arg(&key)
                .cmd("PEXPIRE")
                .arg(&key)
                .arg(WINDOW_MS)
                .query(&mut c)
                .unwrap();
            let seen = log.entry(user).or_default();
            seen.push(now);
            seen.retain(|t| *t >= now - WINDOW_MS);
            assert_eq!(count, seen.len(), "{user} at step {step}");
            // alice (every 150 ms) goes over the limit once her window fills; bob (every
            // 450 ms) never does.
            let allowed = count <= LIMIT;
            assert_eq!(allowed, user == "bob" || step < LIMIT as u64, "{user} at step {step}: {count}");
        }
    }
    // alice sends every 150 ms: 7 requests in any 1 s window, over the limit; bob is not.
    let alice: usize = cmd("ZCOUNT").arg("ratelimit:alice").arg("-inf").arg("+inf").query(&mut c).unwrap();
    assert_eq!(alice, 7);
    let ttl: i64 = cmd("PTTL").arg("ratelimit:alice").query(&mut c).unwrap();
    assert!(ttl > 0 && ttl <= WINDOW_MS as i64);
}

#[test]
fn resp3_doubles_and_pairs_on_the_wire() {
    let s = Server::start(&[]);
    let mut raw = s.raw();
    assert!(raw.call(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(raw.call(&["ZADD", "z", "1.5", "a", "2", "b", "inf", "c"]), ":3\r\n");
    assert_eq!(raw.call(&["ZSCORE", "z", "a"]), ",1.5\r\n");
    assert_eq!(raw.call(&["ZSCORE", "z", "c"]), ",inf\r\n");
    assert_eq!(raw.call(&["ZINCRBY", "z", "0.1", "b"]), ",2.1\r\n");
    assert_eq!(raw.call(&["ZRANGE", "z", "0", "0", "WITHSCORES"]), "*1\r\n*2\r\n$1\r\na\r\n,1.5\r\n");
    assert_eq!(raw.call(&["ZPOPMIN", "z"]), "*2\r\n$1\r\na\r\n,1.5\r\n");
    assert_eq!(raw.call(&["ZMSCORE", "z", "b", "x"]), "*2\r\n,2.1\r\n_\r\n");
    assert_eq!(raw.call(&["ZRANK", "z", "x", "WITHSCORE"]), "_\r\n");
    // Valkey's Grisu2 digits, not the shortest form: 2737.9880239520958.
    assert_eq!(raw.call(&["ZADD", "g", "2737.9880239520958", "m"]), ":1\r\n");
    assert_eq!(raw.call(&["ZSCORE", "g", "m"]), ",2737.9880239520958\r\n");
    assert!(raw.call(&["HELLO", "2"]).starts_with('*'));
    assert_eq!(raw.call(&["ZSCORE", "z", "b"]), "$3\r\n2.1\r\n");
    assert_eq!(raw.call(&["ZRANK", "z", "x", "WITHSCORE"]), "*-1\r\n");
}

#[test]
fn encodings_convert_at_the_configured_limits() {
    let s = Server::start(&["--zset-max-listpack-entries", "3", "--zset-max-listpack-value", "10"]);
    let mut c = s.conn();
    let _: i64 = cmd("ZADD").arg("z").arg(1).arg("a").arg(2).arg("b").arg(3).arg("c").query(&mut c).unwrap();
    assert_eq!(encoding(&mut c, "z"), "listpack");
    let _: i64 = cmd("ZADD").arg("z").arg(4).arg("d").query(&mut c).unwrap();
    assert_eq!(encoding(&mut c, "z"), "skiplist");
    let _: i64 = cmd("ZADD").arg("long").arg(1).arg("x".repeat(11)).query(&mut c).unwrap();
    assert_eq!(encoding(&mut c, "long"), "skiplist");
    let _: () = cmd("CONFIG").arg("SET").arg("zset-max-listpack-entries").arg(128).query(&mut c).unwrap();
    let n: i64 = cmd("ZUNIONSTORE").arg("u").arg(1).arg("z").query(&mut c).unwrap();
    assert_eq!(n, 4);
    assert_eq!(encoding(&mut c, "u"), "listpack");
    // DUMP/RESTORE converts by the limits of the restoring server.
    let payload: Vec<u8> = cmd("DUMP").arg("z").query(&mut c).unwrap();
    let _: () = cmd("RESTORE").arg("r").arg(0).arg(&payload).query(&mut c).unwrap();
    assert_eq!(encoding(&mut c, "r"), "listpack");
    let same: Vec<(String, f64)> = cmd("ZRANGE").arg("r").arg(0).arg(-1).arg("WITHSCORES").query(&mut c).unwrap();
    assert_eq!(same.len(), 4);
}

/// Sorted sets for the interop test: small (listpack) and big (skiplist), with integer and
/// fractional scores, integer-like and binary members.
fn interop_sets() -> Vec<Vec<(Vec<u8>, String)>> {
    let mut sets = vec![
        vec![(b"a".to_vec(), "1".to_string())],
        vec![(b"a".to_vec(), "1".into()), (b"b".to_vec(), "2".into()), (b"10".to_vec(), "-3".into())],
        vec![(b"x".to_vec(), "1.5".into()), (b"y".to_vec(), "-0.25".into()), (b"z".to_vec(), "1e20".into())],
        vec![
            (b"inf".to_vec(), "inf".into()),
            (b"ninf".to_vec(), "-inf".into()),
            (b"\x00\xff\r\n".to_vec(), "0".into()),
        ],
        vec![(b"frac".to_vec(), "0.1".into()), (b"third".to_vec(), "0.3333333333333333".into())],
        vec![(vec![b'm'; 100], "7".into()), (b"short".to_vec(), "7".into())],
    ];
    let mut rng = fastrand::Rng::with_seed(9);
    for size in [129usize, 500] {
        let mut set = Vec::new();
        for i in 0..size {
            let score =
                if i % 2 == 0 { format!("{}", rng.i32(-1000..1000)) } else { format!("{}.5", rng.i32(-1000..1000)) };
            set.push((format!("member:{i}").into_bytes(), score));
        }
        sets.push(set);
    }
    sets
}

fn contents(c: &mut Connection, key: &str) -> Vec<(Vec<u8>, f64)> {
    cmd("ZRANGE").arg(key).arg(0).arg(-1).arg("WITHSCORES").query(c).unwrap()
}

#[test]
fn dump_payloads_interoperate_with_redis_server() {
    let Some(peer) = Peer::start() else { return };
    let mut theirs = peer.client().get_connection().unwrap();
    let s = Server::start(&[]);
    let mut ours = s.conn();
    for (i, set) in interop_sets().iter().enumerate() {
        let key = format!("z{i}");
        for c in [&mut theirs, &mut ours] {
            let mut add = cmd("ZADD");
            add.arg(&key);
            for (m, score) in set {
                add.arg(score).arg(m);
            }
            let n: usize = add.query(c).unwrap();
            assert_eq!(n, set.len());
        }
        assert_eq!(encoding(&mut ours, &key), encoding(&mut theirs, &key), "set #{i}");
        let want = contents(&mut theirs, &key);
        assert_eq!(contents(&mut ours, &key), want, "set #{i}");
        let their_dump: Vec<u8> = cmd("DUMP").arg(&key).query(&mut theirs).unwrap();
        let our_dump: Vec<u8> = cmd("DUMP").arg(&key).query(&mut ours).unwrap();
        // The same bytes, except where a listpack holds a score whose %.17g text (Redis 7.0's
        // d2string) is not Valkey 8's shortest form: 0.1 is "0.10000000000000001" there.
        let same_bytes = our_dump[..our_dump.len() - 10] == their_dump[..their_dump.len() - 10];
        assert_eq!(same_bytes, i != 4, "set #{i}");

        // Theirs into ours, ours into theirs (stamped with their RDB version if older).
        let copy = format!("from-peer-{i}");
        let _: () = cmd("RESTORE").arg(&copy).arg(0).arg(&their_dump).query(&mut ours).unwrap();
        assert_eq!(contents(&mut ours, &copy), want, "set #{i} restored from redis-server");
        assert_eq!(encoding(&mut ours, &copy), encoding(&mut ours, &key));
        let peer_version = footer_version(&their_dump);
        let payload = if peer_version < 11 { restamp(&our_dump, peer_version) } else { our_dump.clone() };
        let copy = format!("from-kvasir-{i}");
        let _: () = cmd("RESTORE").arg(&copy).arg(0).arg(&payload).query(&mut theirs).unwrap();
        assert_eq!(contents(&mut theirs, &copy), want, "set #{i} restored into redis-server");
    }
    // A corrupt payload (a listpack out of order) is refused, not trusted.
    let their_dump: Vec<u8> = cmd("DUMP").arg("z1").query(&mut theirs).unwrap();
    let mut bad = their_dump[..their_dump.len() - 10].to_vec();
    // Member "a" renamed "b": a duplicate member.
    let pos = bad.windows(2).position(|w| w == [0x81, b'a']).expect("member a in the listpack");
    bad[pos + 1] = b'b';
    let stamped = {
        let mut p = bad;
        p.extend_from_slice(&their_dump[their_dump.len() - 10..their_dump.len() - 8]);
        let crc = crc64_jones(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    };
    assert_eq!(err_text(cmd("RESTORE").arg("bad").arg(0).arg(&stamped).query::<()>(&mut ours)), "ERR Bad data format");
}

#[test]
fn blocking_pops_wait_for_members() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    // Nothing comes: the timeout's null array, after about the timeout.
    let mut raw = s.raw();
    let t = Instant::now();
    assert_eq!(raw.call(&["BZPOPMIN", "empty", "0.2"]), "*-1\r\n");
    assert!(t.elapsed() >= Duration::from_millis(150), "{:?}", t.elapsed());

    // Two clients wait on the same keys; one ZADD serves the first, the second keeps waiting
    // until there is more.
    let mut first = s.raw();
    first.cmd(&[b"BZPOPMIN", b"q1", b"q2", b"0"]);
    wait_blocked(&mut c, 1);
    let mut second = s.raw();
    assert!(second.call(&["HELLO", "3"]).starts_with('%'));
    second.cmd(&[b"BZMPOP", b"5", b"2", b"q2", b"q1", b"MAX", b"COUNT", b"10"]);
    wait_blocked(&mut c, 2);
    let _: i64 = cmd("ZADD").arg("q2").arg(1).arg("a").query(&mut c).unwrap();
    let got = String::from_utf8(first.read_reply()).unwrap();
    assert_eq!(got, "*3\r\n$2\r\nq2\r\n$1\r\na\r\n$1\r\n1\r\n");
    let exists: i64 = cmd("EXISTS").arg("q2").query(&mut c).unwrap();
    assert_eq!(exists, 0, "the waiter took the only member, before anyone else could see it");
    let _: i64 = cmd("ZADD").arg("q1").arg(1).arg("x").arg(2).arg("y").query(&mut c).unwrap();
    let got = String::from_utf8(second.read_reply()).unwrap();
    assert_eq!(got, "*2\r\n$2\r\nq1\r\n*2\r\n*2\r\n$1\r\ny\r\n,2\r\n*2\r\n$1\r\nx\r\n,1\r\n");

    // A key that becomes a string does not wake the waiter; WRONGTYPE errors are not blocking.
    let mut third = s.raw();
    third.cmd(&[b"BZPOPMAX", b"w", b"0"]);
    wait_blocked(&mut c, 1);
    let _: () = cmd("SET").arg("w").arg("x").query(&mut c).unwrap();
    let _: () = cmd("DEL").arg("w").query(&mut c).unwrap();
    let _: i64 = cmd("ZADD").arg("w").arg(5).arg("m").query(&mut c).unwrap();
    assert_eq!(String::from_utf8(third.read_reply()).unwrap(), "*3\r\n$1\r\nw\r\n$1\r\nm\r\n$1\r\n5\r\n");
    let _: () = cmd("SET").arg("str").arg("x").query(&mut c).unwrap();
    assert_eq!(
        err_text(cmd("BZPOPMIN").arg("str").arg(0).query::<()>(&mut c)),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
}

#[test]
fn pops_reach_replicas_as_zpopmin_and_zpopmax() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let mut repl = crate::replication::attach(&s);
    c.call(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert!(c.call(&["ZMPOP", "2", "none", "z", "MAX", "COUNT", "10"]).starts_with("*2"));
    c.call(&["ZADD", "z", "1", "a"]);
    assert!(c.call(&["BZPOPMIN", "z", "0"]).starts_with("*3"));
    let mut waiter = s.raw();
    waiter.cmd(&[b"BZMPOP", b"0", b"1", b"w", b"MIN", b"COUNT", b"2"]);
    let mut info = s.conn();
    wait_blocked(&mut info, 1);
    c.call(&["ZADD", "w", "1", "x"]);
    assert!(waiter.read_reply().starts_with(b"*2"));
    let got: Vec<Vec<String>> = (0..7).map(|_| crate::replication::next(&mut repl)).collect();
    assert_eq!(got[0], vec!["select", "0"]);
    assert_eq!(got[1][0], "zadd");
    assert_eq!(got[2], vec!["zpopmax", "z", "3"], "ZMPOP: the count actually popped");
    assert_eq!(got[3][0], "zadd");
    assert_eq!(got[4], vec!["zpopmin", "z"], "BZPOPMIN that did not block");
    assert_eq!(got[5], vec!["zadd", "w", "1", "x"]);
    assert_eq!(got[6], vec!["zpopmin", "w", "1"], "the served BZMPOP, right after the write");
}
