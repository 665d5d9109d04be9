//! The blocking list commands end to end: blocked connections served by pushes from other
//! connections (on other worker threads), first come first served, across databases and
//! shards, with timeouts, CLIENT UNBLOCK and disconnects; and a job queue of many producers
//! and consumers that must lose and duplicate nothing.

use crate::harness::{wait_blocked, Server};
use redis::{cmd, Connection};
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn info_field(c: &mut Connection, field: &str) -> i64 {
    let info: String = cmd("INFO").arg("clients").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO clients"))
}

/// Sends a command on a raw connection without waiting for the reply.
fn send(r: &mut crate::harness::Raw, args: &[&str]) {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    r.cmd(&args);
}

fn reply(r: &mut crate::harness::Raw) -> String {
    String::from_utf8_lossy(&r.read_reply()).into_owned()
}

#[test]
fn waiters_are_served_first_come_first_served() {
    let s = Server::start(&["--worker-threads", "2"]);
    let mut c = s.conn();
    let mut waiters: Vec<_> = (0..3).map(|_| s.raw()).collect();
    for (i, w) in waiters.iter_mut().enumerate() {
        send(w, &["BLPOP", "q", "0"]);
        wait_blocked(&mut c, i + 1);
    }
    let n: i64 = cmd("RPUSH").arg("q").arg(&["a", "b"]).query(&mut c).unwrap();
    assert_eq!(n, 2);
    assert_eq!(reply(&mut waiters[0]), "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    assert_eq!(reply(&mut waiters[1]), "*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
    wait_blocked(&mut c, 1);
    let exists: i64 = cmd("EXISTS").arg("q").query(&mut c).unwrap();
    assert_eq!(exists, 0, "both elements went to the waiters");
    let _: i64 = cmd("LPUSH").arg("q").arg("c").query(&mut c).unwrap();
    assert_eq!(reply(&mut waiters[2]), "*2\r\n$1\r\nq\r\n$1\r\nc\r\n");
    // The served connections go on with their next commands.
    send(&mut waiters[0], &["PING"]);
    assert_eq!(reply(&mut waiters[0]), "+PONG\r\n");
}

#[test]
fn timeouts_unblock_and_disconnects() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut w = s.raw();
    let started = Instant::now();
    send(&mut w, &["BLPOP", "none", "0.2"]);
    assert_eq!(reply(&mut w), "*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(190), "timed out after {:?}", started.elapsed());
    send(&mut w, &["BLMOVE", "none", "dst", "LEFT", "LEFT", "0.05"]);
    assert_eq!(reply(&mut w), "*-1\r\n", "a timed-out BLMOVE answers a null array too");

    // CLIENT UNBLOCK: as a timeout, or with an error.
    send(&mut w, &["CLIENT", "ID"]);
    let id = reply(&mut w).trim_start_matches(':').trim().to_string();
    send(&mut w, &["BRPOP", "none", "0"]);
    wait_blocked(&mut c, 1);
    let n: i64 = cmd("CLIENT").arg("UNBLOCK").arg(&id).query(&mut c).unwrap();
    assert_eq!(n, 1);
    assert_eq!(reply(&mut w), "*-1\r\n");
    send(&mut w, &["BLMPOP", "0", "1", "none", "LEFT"]);
    wait_blocked(&mut c, 1);
    let _: i64 = cmd("CLIENT").arg("UNBLOCK").arg(&id).arg("ERROR").query(&mut c).unwrap();
    assert_eq!(reply(&mut w), "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");

    // A blocked client that disconnects is forgotten: the next push stays in the list.
    let mut gone = s.raw();
    send(&mut gone, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    drop(gone);
    wait_blocked(&mut c, 0);
    let _: i64 = cmd("RPUSH").arg("k").arg("kept").query(&mut c).unwrap();
    let len: i64 = cmd("LLEN").arg("k").query(&mut c).unwrap();
    assert_eq!(len, 1);
}

#[test]
fn waiters_in_other_databases_and_shards() {
    let s = Server::start(&["--worker-threads", "2"]);
    let mut c = s.conn();
    let mut w = s.raw();
    send(&mut w, &["SELECT", "5"]);
    assert_eq!(reply(&mut w), "+OK\r\n");
    send(&mut w, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    let _: i64 = cmd("RPUSH").arg("k").arg("db0").query(&mut c).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(info_field(&mut c, "blocked_clients"), 1, "a push in db 0 serves nobody in db 5");
    let _: () = cmd("SELECT").arg(5).query(&mut c).unwrap();
    let _: i64 = cmd("RPUSH").arg("k").arg("db5").query(&mut c).unwrap();
    assert_eq!(reply(&mut w), "*2\r\n$1\r\nk\r\n$3\r\ndb5\r\n");
    let _: () = cmd("SELECT").arg(0).query(&mut c).unwrap();
    let len: i64 = cmd("LLEN").arg("k").query(&mut c).unwrap();
    assert_eq!(len, 1);

    // BLMOVE chains across keys (in different shards, almost surely): one push goes all the
    // way, and a client waiting on the final list gets it.
    let mut m1 = s.raw();
    let mut m2 = s.raw();
    let mut end = s.raw();
    send(&mut m1, &["BLMOVE", "chain:1", "chain:2", "RIGHT", "LEFT", "0"]);
    wait_blocked(&mut c, 1);
    send(&mut m2, &["BRPOPLPUSH", "chain:2", "chain:3", "0"]);
    wait_blocked(&mut c, 2);
    send(&mut end, &["BLPOP", "chain:3", "0"]);
    wait_blocked(&mut c, 3);
    let _: i64 = cmd("RPUSH").arg("chain:1").arg("token").query(&mut c).unwrap();
    assert_eq!(reply(&mut m1), "$5\r\ntoken\r\n");
    assert_eq!(reply(&mut m2), "$5\r\ntoken\r\n");
    assert_eq!(reply(&mut end), "*2\r\n$7\r\nchain:3\r\n$5\r\ntoken\r\n");
    let left: i64 = cmd("EXISTS").arg(&["chain:1", "chain:2", "chain:3"]).query(&mut c).unwrap();
    assert_eq!(left, 0);
}

#[test]
fn a_job_queue_loses_and_duplicates_nothing() {
    const PRODUCERS: usize = 50;
    const CONSUMERS: usize = 50;
    const JOBS_EACH: usize = 40;
    let s = Server::start(&["--worker-threads", "4"]);
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let url = s.url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                let mut got = Vec::new();
                loop {
                    let (_, job): (String, String) = cmd("BLPOP").arg("jobs").arg(30).query(&mut c).unwrap();
                    if job == "stop" {
                        return got;
                    }
                    got.push(job);
                }
            })
        })
        .collect();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let url = s.url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                for j in 0..JOBS_EACH {
                    let _: i64 = cmd("RPUSH").arg("jobs").arg(format!("{p}:{j}")).query(&mut c).unwrap();
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let mut c = s.conn();
    // Every job was pushed before the stops: consumers take jobs first, then one stop each.
    let stops = vec!["stop"; CONSUMERS];
    let _: i64 = cmd("RPUSH").arg("jobs").arg(&stops).query(&mut c).unwrap();
    let mut all = Vec::new();
    for t in consumers {
        all.extend(t.join().unwrap());
    }
    assert_eq!(all.len(), PRODUCERS * JOBS_EACH, "jobs lost or delivered twice");
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a job was delivered twice");
    for p in 0..PRODUCERS {
        for j in 0..JOBS_EACH {
            assert!(unique.contains(&format!("{p}:{j}")), "job {p}:{j} lost");
        }
    }
    let left: i64 = cmd("EXISTS").arg("jobs").query(&mut c).unwrap();
    assert_eq!(left, 0);
}

/// Replicas see the LPOP/RPOP/LMOVE a list pop amounted to: LMPOP with the count actually
/// popped, a BLPOP that did not block as LPOP, a served BLMOVE as LMOVE right after the push
/// that served it, a served BRPOP as RPOP.
#[test]
fn pops_reach_replicas_as_the_plain_commands() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let mut repl = crate::replication::attach(&s);
    c.call(&["RPUSH", "l", "a", "b", "c"]);
    assert!(c.call(&["LMPOP", "2", "none", "l", "RIGHT", "COUNT", "10"]).starts_with("*2"));
    c.call(&["RPUSH", "l", "a"]);
    assert!(c.call(&["BLPOP", "l", "0"]).starts_with("*2"));
    let mut info = s.conn();
    let mut mover = s.raw();
    send(&mut mover, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
    wait_blocked(&mut info, 1);
    c.call(&["LPUSH", "src", "x"]);
    assert_eq!(reply(&mut mover), "$1\r\nx\r\n");
    let mut popper = s.raw();
    send(&mut popper, &["BRPOPLPUSH", "q", "dst", "0"]);
    wait_blocked(&mut info, 1);
    c.call(&["RPUSH", "q", "y"]);
    assert_eq!(reply(&mut popper), "$1\r\ny\r\n");
    let mut brpop = s.raw();
    send(&mut brpop, &["BRPOP", "r", "0"]);
    wait_blocked(&mut info, 1);
    c.call(&["RPUSH", "r", "z"]);
    assert!(reply(&mut brpop).starts_with("*2"));
    let got: Vec<Vec<String>> = (0..11).map(|_| crate::replication::next(&mut repl)).collect();
    assert_eq!(got[0], vec!["select", "0"]);
    assert_eq!(got[1][0], "rpush");
    assert_eq!(got[2], vec!["rpop", "l", "3"], "LMPOP: the count actually popped");
    assert_eq!(got[3][0], "rpush");
    assert_eq!(got[4], vec!["lpop", "l"], "BLPOP that did not block");
    assert_eq!(got[5], vec!["lpush", "src", "x"]);
    assert_eq!(got[6], vec!["lmove", "src", "dst", "LEFT", "RIGHT"], "the served BLMOVE, right after the push");
    assert_eq!(got[7], vec!["rpush", "q", "y"]);
    assert_eq!(got[8], vec!["rpoplpush", "q", "dst"]);
    assert_eq!(got[9], vec!["rpush", "r", "z"]);
    assert_eq!(got[10], vec!["rpop", "r"]);
}
