//! The replication stream a replica receives after SYNC: a snapshot, then every write in
//! order, with Valkey's rewrites (absolute expiry times, expired keys as UNLINK).

use crate::harness::{Raw, Server};
use std::io::Read;

/// Attaches to the stream the way Valkey's test suite does, skipping the snapshot.
pub(crate) fn attach(s: &Server) -> Raw {
    let mut r = s.raw();
    r.send(b"SYNC\r\n");
    let mut header = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        r.stream.read_exact(&mut byte).unwrap();
        if byte[0] == b'\n' {
            break;
        }
        header.push(byte[0]);
    }
    assert_eq!(header[0], b'$', "{:?}", String::from_utf8_lossy(&header));
    let len: usize = std::str::from_utf8(&header[1..header.len() - 1]).unwrap().parse().unwrap();
    let mut rdb = vec![0u8; len];
    r.stream.read_exact(&mut rdb).unwrap();
    assert!(rdb.starts_with(b"REDIS00"));
    r
}

/// Reads the next propagated command, lower-casing its name.
pub(crate) fn next(r: &mut Raw) -> Vec<String> {
    match resp::Value::parse(&r.read_reply()).unwrap().0 {
        resp::Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                resp::Value::Bulk(b) => {
                    let s = String::from_utf8_lossy(&b).into_owned();
                    if i == 0 {
                        s.to_lowercase()
                    } else {
                        s
                    }
                }
                other => panic!("not a bulk: {other:?}"),
            })
            .collect(),
        other => panic!("not a command: {other:?}"),
    }
}

#[test]
fn writes_reach_the_stream_rewritten_like_valkey() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.call(&["SET", "before", "snapshot"]);
    let mut repl = attach(&s);
    c.call(&["SET", "foo", "bar", "EX", "100"]);
    c.call(&["SET", "foo", "bar"]);
    c.call(&["EXPIRE", "foo", "100"]);
    c.call(&["GET", "foo"]);
    c.call(&["INCRBYFLOAT", "n", "1.5"]);
    c.call(&["GETDEL", "foo"]);
    c.call(&["SELECT", "3"]);
    c.call(&["SET", "x", "1", "PX", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    c.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    c.call(&["GET", "x"]);
    let got: Vec<Vec<String>> = (0..9).map(|_| next(&mut repl)).collect();
    assert_eq!(got[0], vec!["select", "0"]);
    assert_eq!(&got[1][..4], &["set", "foo", "bar", "PXAT"]);
    assert_eq!(got[2], vec!["set", "foo", "bar"]);
    assert_eq!(&got[3][..2], &["pexpireat", "foo"]);
    // GET propagates nothing; INCRBYFLOAT is replicated as its result.
    assert_eq!(got[4], vec!["set", "n", "1.5", "KEEPTTL"]);
    assert_eq!(got[5], vec!["del", "foo"]);
    assert_eq!(got[6], vec!["select", "3"]);
    assert_eq!(&got[7][..4], &["set", "x", "1", "PXAT"]);
    // A key found expired on access is deleted on the replicas explicitly.
    assert_eq!(got[8], vec!["unlink", "x"]);
}

/// Polls `f` for up to 10 s.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

fn info_field(c: &mut redis::Connection, name: &str) -> String {
    let info: String = redis::cmd("INFO").arg("replication").query(c).unwrap();
    info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap_or("").to_string()
}

/// Kvasir as a replica of Debian's redis-server: full synchronisation (replacing what the
/// replica held), then the master's writes as they happen; writes to the replica get
/// READONLY; REPLICAOF NO ONE makes it a writable master that keeps the data.
#[test]
fn a_replica_of_redis_server_follows_its_writes() {
    let Some(peer) = crate::peer::Peer::start() else { return };
    let mut m = peer.client().get_connection().unwrap();
    redis::cmd("CONFIG").arg("SET").arg("repl-diskless-sync-delay").arg("0").exec(&mut m).unwrap();
    redis::cmd("MSET").arg("a").arg("1").arg("b").arg("2").exec(&mut m).unwrap();
    redis::cmd("RPUSH").arg("l").arg("x").arg("y").exec(&mut m).unwrap();
    redis::cmd("SELECT").arg("3").exec(&mut m).unwrap();
    redis::cmd("SET").arg("in3").arg("v").exec(&mut m).unwrap();

    let s = Server::start(&[]);
    let mut r = s.conn();
    redis::cmd("SET").arg("mine").arg("gone after the sync").exec(&mut r).unwrap();
    let ok: String = redis::cmd("REPLICAOF").arg("127.0.0.1").arg(peer.port()).query(&mut r).unwrap();
    assert_eq!(ok, "OK");
    eventually("the link", || info_field(&mut r, "master_link_status") == "up");
    assert_eq!(info_field(&mut r, "role"), "slave");
    let got: Vec<Option<String>> = redis::cmd("MGET").arg("a").arg("b").arg("mine").query(&mut r).unwrap();
    assert_eq!(got, [Some("1".into()), Some("2".into()), None]);
    let l: Vec<String> = redis::cmd("LRANGE").arg("l").arg(0).arg(-1).query(&mut r).unwrap();
    assert_eq!(l, ["x", "y"]);

    // The stream: writes in several databases, a transaction, expiry.
    redis::cmd("SET").arg("in3").arg("w").exec(&mut m).unwrap();
    redis::cmd("SELECT").arg("0").exec(&mut m).unwrap();
    redis::pipe().atomic().incr("a", 10).lpush("l", "w").ignore().exec(&mut m).unwrap();
    redis::cmd("SET").arg("ttl").arg("v").arg("EX").arg(100).exec(&mut m).unwrap();
    eventually("the writes", || redis::cmd("EXISTS").arg("ttl").query::<i64>(&mut r).unwrap() == 1);
    assert_eq!(redis::cmd("GET").arg("a").query::<String>(&mut r).unwrap(), "11");
    assert!(redis::cmd("TTL").arg("ttl").query::<i64>(&mut r).unwrap() > 90);
    redis::cmd("SELECT").arg("3").exec(&mut r).unwrap();
    assert_eq!(redis::cmd("GET").arg("in3").query::<String>(&mut r).unwrap(), "w");
    redis::cmd("SELECT").arg("0").exec(&mut r).unwrap();

    // Read-only, and the offsets the master sees acknowledged.
    let err = redis::cmd("SET").arg("x").arg("1").query::<String>(&mut r).unwrap_err();
    assert_eq!(err.code(), Some("READONLY"), "{err}");
    let master_offset: u64 = info_field(&mut m, "master_repl_offset").parse().unwrap();
    eventually("the acknowledged offset", || {
        let replica = info_field(&mut m, "slave0");
        replica.contains("state=online") && replica.contains(&format!("offset={master_offset},"))
    });
    assert_eq!(info_field(&mut r, "slave_repl_offset"), master_offset.to_string());
    let role: redis::Value = redis::cmd("ROLE").query(&mut r).unwrap();
    assert_eq!(format!("{role:?}").matches("connected").count(), 1, "{role:?}");
    let masters: String = redis::cmd("CLIENT").arg("LIST").arg("TYPE").arg("master").query(&mut r).unwrap();
    assert_eq!(masters.lines().count(), 1, "{masters}");
    assert!(masters.contains(" flags=M "), "{masters}");

    // Promoted: writable, data kept, no longer following.
    let ok: String = redis::cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut r).unwrap();
    assert_eq!(ok, "OK");
    redis::cmd("SET").arg("x").arg("1").exec(&mut r).unwrap();
    redis::cmd("SET").arg("b").arg("from master").exec(&mut m).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(redis::cmd("GET").arg("b").query::<String>(&mut r).unwrap(), "2");
    assert_eq!(info_field(&mut r, "role"), "master");
}

/// Kvasir replicating Kvasir: the master has no PSYNC, so the replica falls back to SYNC.
/// While the link is down with `replica-serve-stale-data no`, commands get MASTERDOWN; bad
/// arguments get Valkey's errors.
#[test]
fn a_replica_of_kvasir_and_the_stale_link() {
    let master = Server::start(&[]);
    let mut m = master.conn();
    redis::cmd("SET").arg("k").arg("v1").exec(&mut m).unwrap();
    let replica = Server::start(&[]);
    let mut r = replica.conn();
    let err = redis::cmd("REPLICAOF").arg("127.0.0.1").arg("99999").query::<String>(&mut r).unwrap_err();
    assert!(err.to_string().contains("Invalid master port"), "{err}");
    redis::cmd("REPLICAOF").arg("127.0.0.1").arg(master.port).exec(&mut r).unwrap();
    let again: String = redis::cmd("REPLICAOF").arg("127.0.0.1").arg(master.port).query(&mut r).unwrap();
    assert_eq!(again, "OK Already connected to specified master");
    eventually("the sync", || {
        redis::cmd("GET").arg("k").query::<Option<String>>(&mut r).unwrap().as_deref() == Some("v1")
    });
    redis::cmd("SET").arg("k").arg("v2").exec(&mut m).unwrap();
    eventually("the stream", || redis::cmd("GET").arg("k").query::<String>(&mut r).unwrap() == "v2");
    assert_eq!(info_field(&mut m, "connected_slaves"), "1");

    // A master nobody can reach: the link stays down.
    redis::cmd("CONFIG").arg("SET").arg("replica-serve-stale-data").arg("no").exec(&mut r).unwrap();
    redis::cmd("REPLICAOF").arg("no-such-host.invalid").arg(1).exec(&mut r).unwrap();
    let err = redis::cmd("GET").arg("k").query::<String>(&mut r).unwrap_err();
    assert_eq!(err.code(), Some("MASTERDOWN"), "{err}");
    assert_eq!(info_field(&mut r, "master_link_status"), "down");
    // INFO and CONFIG are allowed on a stale replica.
    redis::cmd("CONFIG").arg("SET").arg("replica-serve-stale-data").arg("yes").exec(&mut r).unwrap();
    assert_eq!(redis::cmd("GET").arg("k").query::<String>(&mut r).unwrap(), "v2");
    redis::cmd("REPLICAOF").arg("NO").arg("ONE").exec(&mut r).unwrap();
}

/// `min-replicas-to-write`: a master without enough replicas heard from refuses writes.
#[test]
fn min_replicas_to_write_refuses_writes_without_replicas() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    redis::cmd("CONFIG").arg("SET").arg("min-replicas-to-write").arg(1).exec(&mut c).unwrap();
    let err = redis::cmd("SET").arg("k").arg("v").query::<String>(&mut c).unwrap_err();
    assert_eq!(err.code(), Some("NOREPLICAS"), "{err}");
    assert_eq!(redis::cmd("GET").arg("k").query::<Option<String>>(&mut c).unwrap(), None, "reads are served");
    let replica = Server::start(&[]);
    let mut r = replica.conn();
    redis::cmd("REPLICAOF").arg("127.0.0.1").arg(s.port).exec(&mut r).unwrap();
    eventually("a good replica", || redis::cmd("SET").arg("k").arg("v").query::<String>(&mut c).is_ok());
    eventually("the write on the replica", || {
        redis::cmd("GET").arg("k").query::<Option<String>>(&mut r).unwrap().as_deref() == Some("v")
    });
}
