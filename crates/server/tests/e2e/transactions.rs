//! MULTI/EXEC/WATCH over the wire: atomic pipelines from a real client, WATCH invalidated by
//! another connection on another worker thread, and a blocked client served with the state
//! after the whole transaction.

use crate::harness::{wait_blocked, Server};
use redis::cmd;

#[test]
fn atomic_pipelines_and_watch_across_connections() {
    let s = Server::start(&["--worker-threads", "2"]);
    let mut c = s.conn();
    let (a, b): (i64, i64) = redis::pipe().atomic().incr("n", 1).incr("n", 10).query(&mut c).unwrap();
    assert_eq!((a, b), (1, 11));

    let mut other = s.conn();
    let _: () = cmd("WATCH").arg("n").query(&mut c).unwrap();
    let _: () = cmd("SET").arg("n").arg(100).query(&mut other).unwrap();
    let r: Option<(i64,)> = redis::pipe().atomic().incr("n", 1).query(&mut c).unwrap();
    assert_eq!(r, None, "the watched key changed: EXEC answers a null");
    let n: i64 = cmd("GET").arg("n").query(&mut c).unwrap();
    assert_eq!(n, 100);
    // Unwatched after EXEC: the same transaction now runs.
    let r: Option<(i64,)> = redis::pipe().atomic().incr("n", 1).query(&mut c).unwrap();
    assert_eq!(r, Some((101,)));
}

#[test]
fn a_blocked_client_is_served_after_the_whole_transaction() {
    let s = Server::start(&["--worker-threads", "2"]);
    let mut c = s.conn();
    let mut blocked = s.raw();
    blocked.cmd(&[b"BLPOP", b"q", b"0"]);
    wait_blocked(&mut c, 1);
    let _: () = redis::pipe()
        .atomic()
        .cmd("RPUSH")
        .arg("q")
        .arg("first")
        .ignore()
        .cmd("DEL")
        .arg("q")
        .ignore()
        .cmd("RPUSH")
        .arg("q")
        .arg("second")
        .ignore()
        .query(&mut c)
        .unwrap();
    assert_eq!(String::from_utf8(blocked.read_reply()).unwrap(), "*2\r\n$1\r\nq\r\n$6\r\nsecond\r\n");
    // Inside a transaction a blocking pop of nothing answers at once.
    let r: (Option<(String, String)>,) = redis::pipe().atomic().cmd("BLPOP").arg("none").arg(0).query(&mut c).unwrap();
    assert_eq!(r, (None,));
}
