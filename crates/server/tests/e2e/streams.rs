//! Streams end to end: blocking XREAD and XREADGROUP woken by writes from other connections
//! (on other worker threads), a consumer-group work queue whose crashing consumers' entries
//! are reclaimed with XAUTOCLAIM (nothing lost, nothing delivered again after its ack), and
//! DUMP payloads of redis-server 7.0 restored here.

use crate::harness::{wait_blocked, Server};
use crate::peer::Peer;
use redis::{cmd, Connection, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn reply(r: &mut crate::harness::Raw) -> String {
    String::from_utf8_lossy(&r.read_reply()).into_owned()
}

fn bulk(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// The entry IDs in an XREADGROUP / XAUTOCLAIM entries array: `[[id, [f, v...]], ...]`.
fn entry_ids(entries: &Value) -> Vec<String> {
    let Value::Array(items) = entries else { return vec![] };
    items
        .iter()
        .filter_map(|e| match e {
            Value::Array(pair) if pair.len() == 2 => bulk(&pair[0]),
            _ => None,
        })
        .collect()
}

/// The entries of the only stream in an XREADGROUP reply (nil: none).
fn read_ids(v: &Value) -> Vec<String> {
    match v {
        Value::Array(streams) => streams
            .iter()
            .flat_map(|s| match s {
                Value::Array(kv) if kv.len() == 2 => entry_ids(&kv[1]),
                _ => vec![],
            })
            .collect(),
        _ => vec![],
    }
}

#[test]
fn blocking_xread_is_woken_by_xadd_from_another_connection() {
    let s = Server::start(&["--worker-threads", "2"]);
    let mut c = s.conn();
    let _: String = cmd("XADD").arg("s").arg("1-0").arg("f").arg("old").query(&mut c).unwrap();
    let mut readers: Vec<_> = (0..3).map(|_| s.raw()).collect();
    for (i, r) in readers.iter_mut().enumerate() {
        r.cmd(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"other", b"s", b"0", b"$"]);
        wait_blocked(&mut c, i + 1);
    }
    // A write to another key serves nobody.
    let _: i64 = cmd("LPUSH").arg("unrelated").arg("x").query(&mut c).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    wait_blocked(&mut c, 3);
    let _: String = cmd("XADD").arg("s").arg("2-0").arg("f").arg("new").query(&mut c).unwrap();
    for r in &mut readers {
        assert_eq!(reply(r), "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nf\r\n$3\r\nnew\r\n");
    }
    wait_blocked(&mut c, 0);
    // A timeout answers nil; in MULTI, BLOCK does not block.
    let mut r = s.raw();
    let started = Instant::now();
    assert_eq!(r.call(&["XREAD", "BLOCK", "100", "STREAMS", "s", "$"]), "*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(95));
    assert_eq!(r.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(r.call(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]), "+QUEUED\r\n");
    assert_eq!(r.call(&["EXEC"]), "*1\r\n*-1\r\n");
}

#[test]
fn blocked_xreadgroup_gets_entries_or_nogroup() {
    let s = Server::start(&["--worker-threads", "2"]);
    let mut c = s.conn();
    let _: String = cmd("XGROUP").arg("CREATE").arg("s").arg("g").arg("$").arg("MKSTREAM").query(&mut c).unwrap();
    let mut r = s.raw();
    r.cmd(&[b"XREADGROUP", b"GROUP", b"g", b"alice", b"BLOCK", b"0", b"STREAMS", b"s", b">"]);
    wait_blocked(&mut c, 1);
    let _: String = cmd("XADD").arg("s").arg("5-0").arg("k").arg("v").query(&mut c).unwrap();
    assert_eq!(reply(&mut r), "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    let pending: Value = cmd("XPENDING").arg("s").arg("g").query(&mut c).unwrap();
    let Value::Array(p) = pending else { panic!("{pending:?}") };
    assert_eq!(p[0], Value::Int(1), "the served read created a pending entry");
    // The group destroyed, then the key deleted, under a blocked reader: NOGROUP.
    for kill in [&["XGROUP", "DESTROY", "s", "g"][..], &["DEL", "s"][..]] {
        let _: String =
            cmd("XGROUP").arg("CREATE").arg("s").arg("g").arg("$").arg("MKSTREAM").query(&mut c).unwrap_or_default();
        r.cmd(&[b"XREADGROUP", b"GROUP", b"g", b"alice", b"BLOCK", b"0", b"STREAMS", b"s", b">"]);
        wait_blocked(&mut c, 1);
        let _: Value = cmd(kill[0]).arg(&kill[1..]).query(&mut c).unwrap();
        let got = reply(&mut r);
        assert!(got.starts_with("-NOGROUP No such key 's' or consumer group 'g'"), "{got}");
        wait_blocked(&mut c, 0);
    }
}

/// A work queue: a producer adds jobs, consumers read them through a group and acknowledge
/// them, some consumers crash (drop their connection) holding unacknowledged jobs, and a
/// reclaimer takes those over with XAUTOCLAIM. Every job must be acknowledged exactly once,
/// and no job may be handed to anyone after its acknowledgement.
#[test]
fn work_queue_with_crashing_consumers_loses_and_repeats_nothing() {
    const JOBS: usize = 600;
    let s = Server::start(&["--worker-threads", "2"]);
    let mut admin = s.conn();
    let _: String =
        cmd("XGROUP").arg("CREATE").arg("jobs").arg("workers").arg("$").arg("MKSTREAM").query(&mut admin).unwrap();
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let delivered_after_ack = Arc::new(Mutex::new(Vec::<String>::new()));
    let produced: Arc<Mutex<Vec<String>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(60);

    let producer = {
        let mut c = s.conn();
        let produced = produced.clone();
        std::thread::spawn(move || {
            for i in 0..JOBS {
                let id: String = cmd("XADD").arg("jobs").arg("*").arg("job").arg(i).query(&mut c).unwrap();
                produced.lock().unwrap().push(id);
                if i % 50 == 0 {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        })
    };

    // Handles a delivery: a job delivered after it was acked is a bug; ack it (unless the
    // consumer "crashes" first).
    fn handle(c: &mut Connection, ids: &[String], acked: &Mutex<HashSet<String>>, late: &Mutex<Vec<String>>) {
        for id in ids {
            if acked.lock().unwrap().contains(id) {
                late.lock().unwrap().push(id.clone());
            }
            let n: i64 = cmd("XACK").arg("jobs").arg("workers").arg(id).query(c).unwrap();
            if n == 1 {
                assert!(acked.lock().unwrap().insert(id.clone()), "{id} acknowledged twice");
            }
        }
    }

    let mut workers = Vec::new();
    for w in 0..4 {
        let s_url = s.url();
        let (acked, late) = (acked.clone(), delivered_after_ack.clone());
        workers.push(std::thread::spawn(move || {
            let client = redis::Client::open(s_url).unwrap();
            let mut generation = 0;
            while acked.lock().unwrap().len() < JOBS && Instant::now() < deadline {
                // Each generation is a fresh consumer connection; odd workers crash every
                // few reads, leaving what they read pending.
                let mut c = client.get_connection().unwrap();
                let name = format!("w{w}-{generation}");
                generation += 1;
                for read in 0.. {
                    let v: Value = cmd("XREADGROUP")
                        .arg("GROUP")
                        .arg("workers")
                        .arg(&name)
                        .arg("COUNT")
                        .arg(7)
                        .arg("BLOCK")
                        .arg(50)
                        .arg("STREAMS")
                        .arg("jobs")
                        .arg(">")
                        .query(&mut c)
                        .unwrap();
                    let ids = read_ids(&v);
                    if w % 2 == 1 && read % 3 == 2 && !ids.is_empty() {
                        break; // crash: the connection is dropped without acks
                    }
                    handle(&mut c, &ids, &acked, &late);
                    if acked.lock().unwrap().len() >= JOBS || Instant::now() > deadline {
                        break;
                    }
                }
            }
        }));
    }
    let reclaimer = {
        let mut c = s.conn();
        let (acked, late) = (acked.clone(), delivered_after_ack.clone());
        std::thread::spawn(move || {
            while acked.lock().unwrap().len() < JOBS && Instant::now() < deadline {
                let mut cursor = "0-0".to_string();
                loop {
                    let v: Value = cmd("XAUTOCLAIM")
                        .arg("jobs")
                        .arg("workers")
                        .arg("reclaimer")
                        .arg(100)
                        .arg(&cursor)
                        .arg("COUNT")
                        .arg(20)
                        .query(&mut c)
                        .unwrap();
                    let Value::Array(parts) = v else { panic!("{v:?}") };
                    let ids = entry_ids(&parts[1]);
                    handle(&mut c, &ids, &acked, &late);
                    cursor = bulk(&parts[0]).unwrap();
                    if cursor == "0-0" {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(30));
            }
        })
    };
    producer.join().unwrap();
    for w in workers {
        w.join().unwrap();
    }
    reclaimer.join().unwrap();

    let produced: HashSet<String> = produced.lock().unwrap().iter().cloned().collect();
    let acked = acked.lock().unwrap();
    assert_eq!(produced.len(), JOBS);
    assert_eq!(*acked, produced, "every job acknowledged, none invented");
    assert!(
        delivered_after_ack.lock().unwrap().is_empty(),
        "delivered after ack: {:?}",
        delivered_after_ack.lock().unwrap()
    );
    let pending: Value = cmd("XPENDING").arg("jobs").arg("workers").query(&mut admin).unwrap();
    let Value::Array(p) = pending else { panic!() };
    assert_eq!(p[0], Value::Int(0), "nothing left pending");
    let groups: Vec<HashMap<String, Value>> = cmd("XINFO").arg("GROUPS").arg("jobs").query(&mut admin).unwrap();
    assert_eq!(groups[0]["lag"], Value::Int(0));
    assert_eq!(groups[0]["entries-read"], Value::Int(JOBS as i64));
}

#[test]
fn redis_7_stream_dumps_restore_here() {
    let Some(peer) = Peer::start() else { return };
    let mut p = peer.client().get_connection().unwrap();
    for i in 1..=300 {
        let _: String = cmd("XADD")
            .arg("s")
            .arg(format!("{i}-1"))
            .arg("f")
            .arg(i)
            .arg("g")
            .arg("x".repeat(i % 7))
            .query(&mut p)
            .unwrap();
    }
    let _: i64 = cmd("XDEL").arg("s").arg("5-1").query(&mut p).unwrap();
    let _: String = cmd("XGROUP").arg("CREATE").arg("s").arg("g").arg("0").query(&mut p).unwrap();
    let _: Value = cmd("XREADGROUP")
        .arg("GROUP")
        .arg("g")
        .arg("c1")
        .arg("COUNT")
        .arg(3)
        .arg("STREAMS")
        .arg("s")
        .arg(">")
        .query(&mut p)
        .unwrap();
    let payload: Vec<u8> = cmd("DUMP").arg("s").query(&mut p).unwrap();
    assert_eq!(payload[0], 19, "Redis 7.0 writes STREAM_LISTPACKS_2");
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: String = cmd("RESTORE").arg("s").arg(0).arg(&payload).query(&mut c).unwrap();
    for q in [&["XRANGE", "s", "-", "+"][..], &["XPENDING", "s", "g", "-", "+", "10"], &["XLEN", "s"]] {
        let mine: Value = cmd(q[0]).arg(&q[1..]).query(&mut c).unwrap();
        let theirs: Value = cmd(q[0]).arg(&q[1..]).query(&mut p).unwrap();
        if q[0] == "XPENDING" {
            // Idle times differ by the time between the two calls; compare IDs and owners.
            let strip = |v: &Value| match v {
                Value::Array(rows) => rows
                    .iter()
                    .map(|r| match r {
                        Value::Array(f) => (bulk(&f[0]), bulk(&f[1]), f[3].clone()),
                        _ => panic!(),
                    })
                    .collect::<Vec<_>>(),
                _ => panic!(),
            };
            assert_eq!(strip(&mine), strip(&theirs));
        } else {
            assert_eq!(mine, theirs, "{q:?}");
        }
    }
    // Our own DUMP of it is Valkey 8's type 21 and restores to the same stream.
    let ours: Vec<u8> = cmd("DUMP").arg("s").query(&mut c).unwrap();
    assert_eq!(ours[0], 21);
    let _: String = cmd("RESTORE").arg("t").arg(0).arg(&ours).query(&mut c).unwrap();
    let a: Value = cmd("XINFO").arg("STREAM").arg("s").arg("FULL").query(&mut c).unwrap();
    let b: Value = cmd("XINFO").arg("STREAM").arg("t").arg("FULL").query(&mut c).unwrap();
    assert_eq!(a, b);
}
