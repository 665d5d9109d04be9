//! Tests of `snapshot.rs`: the file a snapshot writes while commands keep changing the
//! keyspace holds exactly the keyspace of the moment it started.

use crate::engine::Engine;
use crate::exec::tests::{client, run};
use crate::persist;
use crate::rdb::file::{self, Item, LoadOptions};
use crate::types::Value;
use std::io::Write;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc;

/// Every key of a file: (db, key, value, expiry), sorted.
type Image = Vec<(usize, Vec<u8>, Value, Option<u64>)>;

const DBS: usize = 4;

fn parse(e: &Engine, bytes: &[u8]) -> Image {
    let opts = LoadOptions {
        limits: crate::rdb::Limits::from_config(&e.config.hot),
        databases: e.keyspace.databases(),
        drop_expired_before: None,
        verify_checksum: true,
    };
    let mut image = Vec::new();
    file::load(
        bytes,
        &opts,
        |item| {
            if let Item::Key(k) = item {
                image.push((k.db, k.key, k.value, k.expire_at_ms));
            }
            Ok(())
        },
        |_, _| {},
        &AtomicU64::new(0),
    )
    .expect("the snapshot loads");
    image.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    image
}

/// A writer that lets the test run a batch of commands between any two writes: the saver
/// writes each 64 KiB as it goes, so commands run between its steps, on shards it has and
/// has not reached.
struct Gate {
    bytes: Vec<u8>,
    wrote: mpsc::SyncSender<()>,
    go: mpsc::Receiver<()>,
}

impl Write for Gate {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(b);
        if self.wrote.send(()).is_ok() {
            let _ = self.go.recv();
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn ok(e: &Engine, c: &mut crate::client::Client, args: &[&str]) {
    let reply = run(e, c, args);
    assert!(!reply.starts_with('-'), "{args:?}: {reply}");
}

/// Keys of every type in databases 0..DBS, with versioned values, some with TTLs (a few due
/// in `soon_ms`, so that they expire while the snapshot is being written).
fn populate(e: &Engine, keys_per_db: usize, soon_ms: u64) {
    let mut c = client(e);
    let mut rng = fastrand::Rng::with_seed(1);
    for db in 0..DBS {
        ok(e, &mut c, &["select", &db.to_string()]);
        for i in 0..keys_per_db {
            let k = format!("k{i}");
            // Incompressible, so that the file is a few MB and the saver takes many steps.
            let noise: String = (0..i % 1200).map(|_| rng.alphanumeric()).collect();
            match i % 8 {
                0..=2 => ok(e, &mut c, &["set", &k, &format!("v0-{db}-{i}-{noise}")]),
                3 => ok(e, &mut c, &["hset", &k, "a", "0", "b", &"y".repeat(i % 100), &format!("f{i}"), "1"]),
                4 => ok(e, &mut c, &["sadd", &k, "a", "b", &format!("m{i}")]),
                5 => ok(e, &mut c, &["zadd", &k, "1", "a", "2.5", &format!("m{i}")]),
                6 => ok(e, &mut c, &["rpush", &k, "a", "b", &format!("e{i}")]),
                _ => ok(e, &mut c, &["incrby", &k, &i.to_string()]),
            }
            if i % 13 == 0 {
                ok(e, &mut c, &["pexpire", &k, "100000000"]);
            } else if i % 17 == 0 {
                ok(e, &mut c, &["pexpire", &k, &soon_ms.to_string()]);
            }
        }
        // Big collections: copied whole on their first change.
        for j in 0..300 {
            ok(e, &mut c, &["hset", "bighash", &format!("f{j}"), &format!("v{j}")]);
            ok(e, &mut c, &["zadd", "bigzset", &j.to_string(), &format!("m{j}")]);
            ok(e, &mut c, &["rpush", "biglist", &format!("e{j}")]);
        }
        ok(e, &mut c, &["xadd", "stream", "1-1", "f", "v"]);
    }
}

/// One random write (or expiry-causing read) of any kind; errors (WRONGTYPE ...) are fine.
fn mutate(e: &Engine, c: &mut crate::client::Client, rng: &mut fastrand::Rng, version: u64, keys_per_db: usize) {
    let db = rng.usize(..DBS).to_string();
    run(e, c, &["select", &db]);
    let k = format!("k{}", rng.usize(..keys_per_db + keys_per_db / 4));
    let k2 = format!("k{}", rng.usize(..keys_per_db + keys_per_db / 4));
    let v = format!("v{version}");
    let other_db = rng.usize(..DBS).to_string();
    let cmd: Vec<&str> = match rng.u32(..100) {
        0..=19 => vec!["set", &k, &v],
        20..=24 => vec!["del", &k],
        25..=27 => vec!["unlink", &k],
        28..=30 => vec!["append", &k, &v],
        31..=33 => vec!["incr", &k],
        34..=37 => vec!["hset", &k, "a", &v],
        38..=39 => vec!["hdel", &k, "a"],
        40..=42 => vec!["sadd", &k, &v],
        43 => vec!["srem", &k, "a"],
        44..=46 => vec!["zadd", &k, "3", &v],
        47 => vec!["zrem", &k, "a"],
        48..=50 => vec!["rpush", &k, &v],
        51..=52 => vec!["lpop", &k],
        53..=55 => vec!["pexpire", &k, "1"],
        56 => vec!["persist", &k],
        57..=58 => vec!["expire", &k, "1000"],
        59..=61 => vec!["rename", &k, &k2],
        62..=63 => vec!["move", &k, &other_db],
        64 => vec!["copy", &k, &k2, "db", &other_db, "replace"],
        65..=66 => vec!["get", &k],
        67 => vec!["setrange", &k, "2", &v],
        68 => vec!["hset", "bighash", "f1", &v],
        69 => vec!["zincrby", "bigzset", "1", "m7"],
        70 => vec!["lset", "biglist", "3", &v],
        71 => vec!["xadd", "stream", "*", "f", &v],
        72 => vec!["set", &k, &v, "px", "1"],
        73 => vec!["getdel", &k],
        74 => vec!["smove", &k, &k2, "a"],
        75 => vec!["lmove", &k, &k2, "left", "right"],
        76 => vec!["swapdb", &db, &other_db],
        77 if rng.u32(..8) == 0 => vec!["flushdb", if rng.bool() { "async" } else { "sync" }],
        78 if rng.u32(..40) == 0 => vec!["flushall"],
        79 => vec!["psetex", &k2, "100000", &v],
        80..=84 => vec!["mset", &k, &v, &k2, &v],
        85..=87 => vec!["getset", &k, &v],
        88 => vec!["sinterstore", &k, &k2, &k],
        89 => vec!["hincrby", &k, "n", "1"],
        _ => vec!["set", &k2, &v, "keepttl"],
    };
    run(e, c, &cmd);
}

/// Starts a snapshot and the reference image (the locked serialization of the same moment).
fn start(e: &Engine) -> (Vec<u8>, persist::Snapshot) {
    let mut keys = persist::lock_all(e);
    let expected = persist::write_rdb(e, &mut keys, Vec::new()).expect("in memory").0;
    let snap = persist::start_snapshot(e, &mut keys, file::DISK_RDB_VERSION).expect("no other snapshot");
    (expected, snap)
}

fn check(e: &Engine, expected: &[u8], got: &[u8]) {
    let want = parse(e, expected);
    let have = parse(e, got);
    assert!(!want.is_empty());
    if want != have {
        let missing: Vec<_> = want.iter().filter(|k| !have.contains(k)).take(5).collect();
        let extra: Vec<_> = have.iter().filter(|k| !want.contains(k)).take(5).collect();
        panic!(
            "snapshot differs from the image at its start: {} vs {} keys; missing or changed {missing:?}; leaked {extra:?}",
            want.len(),
            have.len()
        );
    }
    // Each database's RESIZEDB announces exactly the keys (and keys with a TTL) that follow.
    for db in 0..e.keyspace.databases() {
        let n = have.iter().filter(|k| k.0 == db).count();
        if n == 0 {
            continue;
        }
        let expires = have.iter().filter(|k| k.0 == db && k.3.is_some()).count();
        let mut header = Vec::new();
        file::write_db_header(&mut header, db, n, expires);
        assert!(got.windows(header.len()).any(|w| w == header), "RESIZEDB of db {db}: {n} keys, {expires} with a TTL");
    }
}

#[test]
fn a_snapshot_is_the_keyspace_at_its_start_while_commands_run_between_its_steps() {
    let e = Engine::for_tests();
    let keys_per_db = 3000;
    populate(&e, keys_per_db, 150);
    let (expected, snap) = start(&e);
    let (wrote_tx, wrote_rx) = mpsc::sync_channel(0);
    let (go_tx, go_rx) = mpsc::sync_channel(0);
    let saver = std::thread::spawn(move || {
        let gate = Gate { bytes: Vec::new(), wrote: wrote_tx, go: go_rx };
        let (gate, _) = snap.write_to(gate).expect("the snapshot is written");
        gate.bytes
    });
    let mut c = client(&e);
    let mut rng = fastrand::Rng::with_seed(6);
    let mut version = 1;
    let mut cursor = crate::expire::ExpireCursor::default();
    let mut steps = 0;
    let started = std::time::Instant::now();
    while wrote_rx.recv().is_ok() {
        steps += 1;
        for _ in 0..200 {
            mutate(&e, &mut c, &mut rng, version, keys_per_db);
            version += 1;
        }
        // Keys given a short TTL before the start expire now: active expiry deletes them.
        if started.elapsed().as_millis() > 200 {
            crate::expire::run_cycle(&e, &mut cursor);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
        let _ = go_tx.send(());
    }
    let got = saver.join().unwrap();
    assert!(steps > 20, "the saver wrote in {steps} steps only");
    check(&e, &expected, &got);

    // Every entry carries the mark again: the next snapshot, with nothing running, is the
    // keyspace as it is.
    let (expected, snap) = start(&e);
    let got = snap.write_to(Vec::new()).unwrap().0;
    check(&e, &expected, &got);
}

#[test]
fn snapshots_stay_exact_under_free_running_writers() {
    let e = Engine::for_tests();
    let keys_per_db = 2000;
    populate(&e, keys_per_db, 40);
    for round in 0..3 {
        let (expected, snap) = start(&e);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (e, stop) = (e.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut c = client(&e);
                let mut rng = fastrand::Rng::with_seed(round);
                let mut v = round * 1_000_000;
                let mut cursor = crate::expire::ExpireCursor::default();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    mutate(&e, &mut c, &mut rng, v, keys_per_db);
                    v += 1;
                    if v % 500 == 0 {
                        crate::expire::run_cycle(&e, &mut cursor);
                    }
                }
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(5));
        let got = snap.write_to(Vec::new()).unwrap().0;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        check(&e, &expected, &got);
    }
}

/// A writer that fails after some bytes.
struct Failing(usize);

impl Write for Failing {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.0 < b.len() {
            return Err(std::io::Error::other("disk full"));
        }
        self.0 -= b.len();
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn failed_dropped_and_abandoned_snapshots_leave_the_next_one_exact() {
    let e = Engine::for_tests();
    populate(&e, 2000, 100_000);
    let mut c = client(&e);
    let (_, snap) = start(&e);
    assert!(snap.write_to(Failing(100_000)).is_err());
    run(&e, &mut c, &["set", "k1", "after-failed"]);
    let (_, snap) = start(&e);
    drop(snap);
    run(&e, &mut c, &["set", "k2", "after-dropped"]);
    {
        let mut keys = persist::lock_all(&e);
        let snap = persist::start_snapshot(&e, &mut keys, file::DISK_RDB_VERSION).unwrap();
        // One at a time.
        assert!(persist::start_snapshot(&e, &mut keys, file::DISK_RDB_VERSION).is_err());
        snap.abandon(&mut keys);
    }
    let (expected, snap) = start(&e);
    run(&e, &mut c, &["set", "k3", "during"]);
    run(&e, &mut c, &["del", "k4"]);
    let got = snap.write_to(Vec::new()).unwrap().0;
    check(&e, &expected, &got);
    let image = parse(&e, &got);
    let value = |k: &str| image.iter().find(|x| x.0 == 0 && x.1 == k.as_bytes()).map(|x| x.2.clone());
    assert_eq!(value("k1"), Some(Value::Str(b"after-failed".to_vec())));
    assert_eq!(value("k2"), Some(Value::Str(b"after-dropped".to_vec())));
    assert!(value("k4").is_some(), "deleted after the start, so in the snapshot");
}
