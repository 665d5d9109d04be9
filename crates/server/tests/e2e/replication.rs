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
