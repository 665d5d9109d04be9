//! BGSAVE without stopping clients, end to end: the file is the dataset at the moment BGSAVE
//! ran, while the same connection's pipeline keeps changing it during the save. A reference
//! server given only the commands before BGSAVE holds what the file must hold; Debian's
//! redis-server 7.0 loads the file too.

use crate::harness::{free_port, Server};
use crate::peer::Peer;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const DBS: usize = 4;

fn scratch_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kvasir-snap-{tag}-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn start_in(dir: &Path) -> Server {
    Server::start(&["--dir", dir.to_str().unwrap(), "--save", "", "--enable-debug-command", "yes"])
}

fn encode(args: &[String]) -> Vec<u8> {
    let mut wire = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        wire.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        wire.extend_from_slice(a.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    wire
}

/// Sends every command on one connection (from a thread, so that neither side waits on a
/// full socket) and returns the raw replies in order.
fn pipeline(s: &Server, cmds: &[Vec<String>]) -> Vec<Vec<u8>> {
    let mut raw = s.raw();
    let mut w = raw.stream.try_clone().unwrap();
    let wire: Vec<u8> = cmds.iter().flat_map(|c| encode(c)).collect();
    let sender = std::thread::spawn(move || w.write_all(&wire).unwrap());
    let replies = (0..cmds.len()).map(|_| raw.read_reply()).collect();
    sender.join().unwrap();
    replies
}

fn cmd(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// A dataset of every type in databases 0..DBS, with incompressible values so that the save
/// takes a while.
fn base(keys_per_db: usize) -> Vec<Vec<String>> {
    let mut rng = fastrand::Rng::with_seed(11);
    let mut out = Vec::new();
    for db in 0..DBS {
        out.push(cmd(&["SELECT", &db.to_string()]));
        for i in 0..keys_per_db {
            let k = format!("k{i}");
            let noise: String = (0..rng.usize(100..400)).map(|_| rng.alphanumeric()).collect();
            out.push(match i % 6 {
                0..=2 => cmd(&["SET", &k, &format!("v0-{noise}")]),
                3 => cmd(&["HSET", &k, "a", "0", "n", &noise]),
                4 => cmd(&["SADD", &k, "a", "b", &noise]),
                _ => cmd(&["RPUSH", &k, "a", &noise]),
            });
            if i % 10 == 0 {
                out.push(cmd(&["EXPIRE", &k, "100000"]));
            }
        }
        for j in 0..200 {
            out.push(cmd(&["ZADD", "z", &j.to_string(), &format!("m{j}")]));
        }
    }
    out.push(cmd(&["SELECT", "0"]));
    out
}

/// Writes of every kind, with versioned values, across the databases.
fn after(keys_per_db: usize, n: usize) -> Vec<Vec<String>> {
    let mut rng = fastrand::Rng::with_seed(12);
    let mut out = Vec::new();
    for v in 0..n {
        let db = rng.usize(..DBS).to_string();
        let other = rng.usize(..DBS).to_string();
        let k = format!("k{}", rng.usize(..keys_per_db + 100));
        let k2 = format!("k{}", rng.usize(..keys_per_db + 100));
        let val = format!("v{}", v + 1);
        out.push(cmd(&["SELECT", &db]));
        out.push(match rng.u32(..24) {
            0..=4 => cmd(&["SET", &k, &val]),
            5 => cmd(&["DEL", &k]),
            6 => cmd(&["UNLINK", &k]),
            7 => cmd(&["APPEND", &k, &val]),
            8 => cmd(&["HSET", &k, "a", &val]),
            9 => cmd(&["SADD", &k, &val]),
            10 => cmd(&["RPUSH", &k, &val]),
            11 => cmd(&["LPOP", &k]),
            12 => cmd(&["PEXPIRE", &k, "1"]),
            13 => cmd(&["GET", &k]),
            14 => cmd(&["RENAME", &k, &k2]),
            15 => cmd(&["MOVE", &k, &other]),
            16 => cmd(&["ZINCRBY", "z", "1", "m3"]),
            17 => cmd(&["PERSIST", &k]),
            18 => cmd(&["SET", &k, &val, "PX", "1"]),
            19 => cmd(&["COPY", &k, &k2, "DB", &other, "REPLACE"]),
            20 if v % 500 == 0 => cmd(&["SWAPDB", &db, &other]),
            21 if v % 2000 == 0 => cmd(&["FLUSHDB", "ASYNC"]),
            _ => cmd(&["INCR", &format!("counter{}", v % 50)]),
        });
    }
    out.push(cmd(&["FLUSHALL"]));
    out.push(cmd(&["SET", "after-flushall", "x"]));
    out
}

fn info_field(s: &Server, name: &str) -> String {
    let info: String = redis::cmd("INFO").arg("persistence").query(&mut s.conn()).unwrap();
    info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap_or_default().to_string()
}

fn sizes(c: &mut redis::Connection) -> Vec<i64> {
    (0..DBS)
        .map(|db| {
            redis::cmd("SELECT").arg(db).query::<()>(c).unwrap();
            redis::cmd("DBSIZE").query(c).unwrap()
        })
        .collect()
}

#[test]
fn bgsave_writes_the_dataset_of_its_start_while_the_pipeline_goes_on() {
    let keys_per_db = 25_000;
    let before = base(keys_per_db);
    let dir = scratch_dir("pit");
    let s = start_in(&dir);
    let reference_dir = scratch_dir("pit-ref");
    let reference = start_in(&reference_dir);
    pipeline(&s, &before);
    pipeline(&reference, &before);

    let mut during = vec![cmd(&["BGSAVE"])];
    during.extend(after(keys_per_db, 40_000));
    let rest = during.split_off(4001);
    let replies = pipeline(&s, &during);
    assert_eq!(replies[0], b"+Background saving started\r\n");
    // The first 2000 writes ran while the save was going on (it takes far longer).
    assert_eq!(info_field(&s, "rdb_bgsave_in_progress"), "1", "the save ended before the writes");
    pipeline(&s, &rest);
    let deadline = Instant::now() + Duration::from_secs(60);
    while info_field(&s, "rdb_bgsave_in_progress") != "0" {
        assert!(Instant::now() < deadline, "BGSAVE did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(info_field(&s, "rdb_last_bgsave_status"), "ok");

    // A server loading the file holds what the reference holds.
    let loaded_dir = scratch_dir("pit-loaded");
    std::fs::copy(dir.join("dump.rdb"), loaded_dir.join("dump.rdb")).unwrap();
    let loaded = start_in(&loaded_dir);
    let mut lc = loaded.conn();
    let mut rc = reference.conn();
    let digest = |c: &mut redis::Connection| redis::cmd("DEBUG").arg("DIGEST").query::<String>(c).unwrap();
    let want_sizes = sizes(&mut rc);
    assert_eq!(sizes(&mut lc), want_sizes);
    assert_eq!(digest(&mut lc), digest(&mut rc), "the file is not the dataset at BGSAVE's start");
    // The one that kept writing has moved on.
    assert_ne!(digest(&mut s.conn()), digest(&mut rc));

    // Debian's redis-server 7.0 loads the same file.
    let peer_dir = scratch_dir("pit-redis");
    std::fs::copy(dir.join("dump.rdb"), peer_dir.join("dump.rdb")).unwrap();
    if let Some(peer) = Peer::start_in(free_port(), peer_dir) {
        let mut pc = peer.client().get_connection().unwrap();
        assert_eq!(sizes(&mut pc), want_sizes);
        redis::cmd("SELECT").arg(0).query::<()>(&mut pc).unwrap();
        redis::cmd("SELECT").arg(0).query::<()>(&mut rc).unwrap();
        let z = |c: &mut redis::Connection| {
            redis::cmd("ZRANGE").arg("z").arg(0).arg(-1).arg("WITHSCORES").query::<Vec<String>>(c).unwrap()
        };
        assert_eq!(z(&mut pc), z(&mut rc));
    }
    for d in [dir, reference_dir, loaded_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}
