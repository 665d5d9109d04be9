//! HyperLogLog end to end: the same bytes and estimates as redis-server for the same inputs
//! (so HLLs move between the two by GET/SET or DUMP/RESTORE and keep counting), the error
//! at a million distinct elements, and what PFADD/PFCOUNT/PFMERGE send to replicas.

use crate::harness::Server;
use crate::peer::Peer;
use crate::replication::{attach, next};
use redis::{cmd, Connection, RedisResult};

fn err_text<T: std::fmt::Debug>(r: RedisResult<T>) -> String {
    let e = r.expect_err("expected an error reply");
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

/// PFADDs `elements` in pipelined batches.
fn add_all(c: &mut Connection, key: &str, elements: impl Iterator<Item = String>) {
    let all: Vec<String> = elements.collect();
    for chunk in all.chunks(1000) {
        let _: i64 = cmd("PFADD").arg(key).arg(chunk).query(c).unwrap();
    }
}

fn get(c: &mut Connection, key: &str) -> Vec<u8> {
    cmd("GET").arg(key).query(c).unwrap()
}

fn count(c: &mut Connection, keys: &[&str]) -> i64 {
    cmd("PFCOUNT").arg(keys).query(c).unwrap()
}

#[test]
fn same_bytes_and_estimates_as_redis_server() {
    let Some(peer) = Peer::start() else { return };
    let mut theirs = peer.client().get_connection().unwrap();
    let s = Server::start(&[]);
    let mut ours = s.conn();
    // Growing one HLL through sparse and dense: identical bytes (including the sparse run
    // layout and the moment of promotion) and identical counts at every step.
    let mut added = 0u64;
    for step in [1u64, 9, 90, 400, 500, 1000, 3000, 5000, 90_000, 900_000] {
        let batch = (added..added + step).map(|i| format!("item:{i}"));
        let batch: Vec<String> = batch.collect();
        add_all(&mut ours, "h", batch.iter().cloned());
        add_all(&mut theirs, "h", batch.into_iter());
        added += step;
        assert_eq!(get(&mut ours, "h"), get(&mut theirs, "h"), "bytes after {added} elements");
        let (a, b) = (count(&mut ours, &["h"]), count(&mut theirs, &["h"]));
        assert_eq!(a, b, "estimate after {added} elements");
        assert_eq!(get(&mut ours, "h"), get(&mut theirs, "h"), "cached count after {added} elements");
    }
    assert_eq!(added, 1_000_000);
    let estimate = count(&mut ours, &["h"]) as f64;
    assert!((estimate - 1e6).abs() / 1e6 < 0.01, "estimate {estimate} for 1M distinct elements");

    // Unions: a sparse and a dense source, counted and merged.
    add_all(&mut ours, "small", (0..200).map(|i| format!("other:{i}")));
    add_all(&mut theirs, "small", (0..200).map(|i| format!("other:{i}")));
    assert_eq!(count(&mut ours, &["h", "small", "missing"]), count(&mut theirs, &["h", "small", "missing"]));
    for c in [&mut ours, &mut theirs] {
        let _: () = cmd("PFMERGE").arg("m1").arg("small").arg("h").query(c).unwrap();
        let _: () = cmd("PFMERGE").arg("m2").arg("small").query(c).unwrap();
    }
    assert_eq!(get(&mut ours, "m1"), get(&mut theirs, "m1"));
    assert_eq!(get(&mut ours, "m2"), get(&mut theirs, "m2"), "merged into a sparse destination");

    // Theirs into ours by DUMP/RESTORE and ours into theirs by SET, then both keep adding.
    let dump: Vec<u8> = cmd("DUMP").arg("small").query(&mut theirs).unwrap();
    let _: () = cmd("RESTORE").arg("moved").arg(0).arg(dump).query(&mut ours).unwrap();
    let bytes = get(&mut ours, "m2");
    let _: () = cmd("SET").arg("moved").arg(bytes).query(&mut theirs).unwrap();
    for c in [&mut ours, &mut theirs] {
        add_all(c, "moved", (0..50).map(|i| format!("late:{i}")));
    }
    assert_eq!(get(&mut ours, "moved"), get(&mut theirs, "moved"));
    assert_eq!(count(&mut ours, &["moved"]), count(&mut theirs, &["moved"]));
}

#[test]
fn errors_through_a_client() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = cmd("SET").arg("s").arg("not an hll").query(&mut c).unwrap();
    assert_eq!(
        err_text(cmd("PFADD").arg("s").arg("x").query::<i64>(&mut c)),
        "WRONGTYPE Key is not a valid HyperLogLog string value."
    );
    let _: i64 = cmd("PFADD").arg("h").arg("a").query(&mut c).unwrap();
    let _: i64 = cmd("APPEND").arg("h").arg("junk").query(&mut c).unwrap();
    assert_eq!(err_text(cmd("PFCOUNT").arg("h").query::<i64>(&mut c)), "INVALIDOBJ Corrupted HLL object detected");
    assert_eq!(err_text(cmd("PFADD").query::<i64>(&mut c)), "ERR wrong number of arguments for 'pfadd' command");
}

#[test]
fn propagation() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let mut repl = attach(&s);
    c.call(&["PFADD", "h", "a", "b"]);
    c.call(&["PFADD", "h", "a"]);
    c.call(&["PFCOUNT", "h"]);
    c.call(&["PFCOUNT", "h"]);
    c.call(&["PFMERGE", "d", "h"]);
    c.call(&["SET", "end", "1"]);
    let got: Vec<Vec<String>> = (0..5).map(|_| next(&mut repl)).collect();
    assert_eq!(got[0], vec!["select", "0"]);
    assert_eq!(got[1], vec!["pfadd", "h", "a", "b"]);
    // Refreshing the cached count is a write; a PFADD that changed nothing and a count
    // served from the cache are not.
    assert_eq!(got[2], vec!["pfcount", "h"]);
    assert_eq!(got[3], vec!["pfmerge", "d", "h"]);
    assert_eq!(got[4], vec!["set", "end", "1"]);
}
