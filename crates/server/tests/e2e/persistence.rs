//! RDB persistence end to end: SAVE/BGSAVE/LASTSAVE, restart with the file, shutdown saves,
//! corrupt files, files exchanged with Debian's redis-server 7.0 in both directions, and what
//! clients see while a dataset loads (`-LOADING`, INFO's `loading_*` fields).

use crate::harness::{free_port, Server};
use crate::peer::Peer;
use redis::Connection;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn q<T: redis::FromRedisValue>(c: &mut Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn bq<T: redis::FromRedisValue>(c: &mut Connection, args: &[&[u8]]) -> T {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap()
}

fn scratch_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kvasir-rdb-{tag}-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every type and encoding both servers have, with TTLs, in all 16 databases.
fn populate(c: &mut Connection) {
    for db in 0..16 {
        q::<()>(c, &["SELECT", &db.to_string()]);
        q::<()>(c, &["SET", &format!("db{db}"), &db.to_string()]);
    }
    q::<()>(c, &["SELECT", "0"]);
    q::<()>(c, &["SET", "int", "-123456789012"]);
    q::<()>(c, &["SET", "small", "7"]);
    q::<()>(c, &["SET", "embstr", "hello world"]);
    q::<()>(c, &["SET", "raw", &"r".repeat(1000)]);
    q::<()>(c, &["SET", "compressible", &"abc".repeat(300)]);
    q::<()>(c, &["SET", "ttl", "v", "PX", "50000000"]);
    bq::<()>(c, &[b"SET", b"bin\x00\xffkey", b"\x00\x01\x02\xfe"]);
    q::<()>(c, &["HSET", "h:lp", "a", "1", "b", "two", "c", "3.5"]);
    q::<()>(c, &["HSET", "h:long", "f", &"v".repeat(100)]);
    q::<()>(c, &["SADD", "s:int", "1", "-5", "100000", "9223372036854775807"]);
    q::<()>(c, &["SADD", "s:str", "a", "b", "c"]);
    q::<()>(c, &["ZADD", "z:lp", "1", "a", "2.5", "b", "-inf", "c", "inf", "d"]);
    q::<()>(c, &["LPUSH", "l:lp", "a", "1", "b", "-2"]);
    q::<()>(c, &["RPUSH", "l:plain", &"p".repeat(20000), "small"]);
    for i in 0..700 {
        let (m, v) = (format!("m{i}"), i.to_string());
        q::<()>(c, &["HSET", "h:ht", &m, &v]);
        q::<()>(c, &["SADD", "s:ht", &m]);
        q::<()>(c, &["SADD", "s:bigint", &v]);
        q::<()>(c, &["ZADD", "z:sl", &format!("{}", i as f64 * 1.25 - 300.0), &m]);
        q::<()>(c, &["RPUSH", "l:ql", &format!("{m}-{}", "e".repeat(i % 50))]);
    }
    q::<()>(c, &["PEXPIRE", "z:sl", "90000000"]);
    q::<()>(c, &["SELECT", "9"]);
    q::<()>(c, &["HSET", "h9", "x", "y"]);
    q::<()>(c, &["EXPIRE", "h9", "100000"]);
    q::<()>(c, &["SELECT", "0"]);
}

/// A comparable picture of the dataset read through ordinary commands (no DUMP).
fn picture(c: &mut Connection) -> Vec<String> {
    let mut out = Vec::new();
    for db in 0..16 {
        q::<()>(c, &["SELECT", &db.to_string()]);
        let mut keys: Vec<Vec<u8>> = q(c, &["KEYS", "*"]);
        keys.sort();
        for k in keys {
            let t: String = bq(c, &[b"TYPE", &k]);
            let ttl: i64 = bq(c, &[b"PTTL", &k]);
            let body = match t.as_str() {
                "string" => format!("{:?}", bq::<Vec<u8>>(c, &[b"GET", &k])),
                "hash" => {
                    let mut v: Vec<(Vec<u8>, Vec<u8>)> = bq(c, &[b"HGETALL", &k]);
                    v.sort();
                    format!("{v:?}")
                }
                "set" => {
                    let mut v: Vec<Vec<u8>> = bq(c, &[b"SMEMBERS", &k]);
                    v.sort();
                    format!("{v:?}")
                }
                "zset" => format!("{:?}", bq::<Vec<Vec<u8>>>(c, &[b"ZRANGE", &k, b"0", b"-1", b"WITHSCORES"])),
                "list" => format!("{:?}", bq::<Vec<Vec<u8>>>(c, &[b"LRANGE", &k, b"0", b"-1"])),
                other => panic!("unexpected type {other}"),
            };
            // A TTL survives (its exact remaining time does not matter here).
            out.push(format!("{db} {:?} {t} ttl={} {body}", String::from_utf8_lossy(&k), ttl > 0));
        }
    }
    q::<()>(c, &["SELECT", "0"]);
    out
}

fn info_field(c: &mut Connection, name: &str) -> String {
    let info: String = q(c, &["INFO", "persistence"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
        .to_string()
}

fn wait_until(mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn start_in(dir: &Path, args: &[&str]) -> Server {
    let mut all = vec!["--dir", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    Server::start(&all)
}

#[test]
fn save_then_restart_loads_everything() {
    let dir = scratch_dir("restart");
    let before = {
        let s = start_in(&dir, &["--enable-debug-command", "yes"]);
        let mut c = s.conn();
        populate(&mut c);
        let digest: String = q(&mut c, &["DEBUG", "DIGEST"]);
        let before = picture(&mut c);
        let last: i64 = q(&mut c, &["LASTSAVE"]);
        assert_ne!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
        assert_eq!(q::<String>(&mut c, &["SAVE"]), "OK");
        assert!(q::<i64>(&mut c, &["LASTSAVE"]) >= last);
        assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
        assert_eq!(info_field(&mut c, "rdb_saves"), "1");
        (before, digest)
    };
    let bytes = std::fs::read(dir.join("dump.rdb")).unwrap();
    assert!(bytes.starts_with(b"REDIS0010"));
    let s = start_in(&dir, &["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    assert_eq!(picture(&mut c), before.0);
    assert_eq!(q::<String>(&mut c, &["DEBUG", "DIGEST"]), before.1);
    let keys: usize = before.0.len();
    assert_eq!(info_field(&mut c, "rdb_last_load_keys_loaded"), keys.to_string());
    assert_eq!(info_field(&mut c, "loading"), "0");
    // DEBUG RELOAD keeps the dataset as it is.
    assert_eq!(q::<String>(&mut c, &["DEBUG", "RELOAD"]), "OK");
    assert_eq!(q::<String>(&mut c, &["DEBUG", "DIGEST"]), before.1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgsave_reports_progress_and_status() {
    let dir = scratch_dir("bgsave");
    let s = start_in(&dir, &[]);
    let mut c = s.conn();
    populate(&mut c);
    assert_eq!(q::<String>(&mut c, &["BGSAVE"]), "Background saving started");
    wait_until(|| info_field(&mut c, "rdb_bgsave_in_progress") == "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_ne!(info_field(&mut c, "rdb_last_bgsave_time_sec"), "-1");
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    assert!(dir.join("dump.rdb").exists());
    let r: redis::RedisResult<String> = redis::cmd("BGSAVE").arg("x").query(&mut c);
    assert_eq!(r.unwrap_err().to_string(), "An error was signalled by the server - ResponseError: syntax error");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn save_points_trigger_a_background_save() {
    let dir = scratch_dir("savepoint");
    let s = start_in(&dir, &["--save", "1", "2"]);
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "a", "1"]);
    q::<()>(&mut c, &["SET", "b", "1"]);
    wait_until(|| info_field(&mut c, "rdb_saves") == "1" && info_field(&mut c, "rdb_bgsave_in_progress") == "0");
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    assert!(dir.join("dump.rdb").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

fn wait_exit(s: &mut Server) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.try_wait().is_none() {
        assert!(Instant::now() < deadline, "server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn shutdown_and_sigterm_save_when_save_points_are_set() {
    let dir = scratch_dir("shutdown");
    {
        let mut s = start_in(&dir, &["--save", "3600", "1"]);
        q::<()>(&mut s.conn(), &["SET", "k", "by-shutdown"]);
        s.raw().cmd(&[b"SHUTDOWN"]);
        wait_exit(&mut s);
    }
    {
        let mut s = start_in(&dir, &["--save", "3600", "1"]);
        let mut c = s.conn();
        assert_eq!(q::<String>(&mut c, &["GET", "k"]), "by-shutdown");
        q::<()>(&mut c, &["SET", "k", "by-sigterm"]);
        unsafe { libc::kill(s.pid() as i32, libc::SIGTERM) };
        wait_exit(&mut s);
    }
    {
        let mut s = start_in(&dir, &[]);
        let mut c = s.conn();
        assert_eq!(q::<String>(&mut c, &["GET", "k"]), "by-sigterm");
        q::<()>(&mut c, &["SET", "k", "lost"]);
        s.raw().cmd(&[b"SHUTDOWN", b"NOSAVE"]);
        wait_exit(&mut s);
    }
    let s = start_in(&dir, &[]);
    assert_eq!(q::<String>(&mut s.conn(), &["GET", "k"]), "by-sigterm");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the server on a file it must refuse; returns its exit status and log.
fn start_expecting_failure(dir: &Path) -> (std::process::ExitStatus, String) {
    let log = dir.join("server.log");
    let status = Command::new(env!("CARGO_BIN_EXE_kvasir-server"))
        .args(["--port", &free_port().to_string(), "--dir", dir.to_str().unwrap()])
        .args(["--logfile", log.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    (status, std::fs::read_to_string(&log).unwrap_or_default())
}

#[test]
fn corrupt_or_truncated_files_stop_the_server_with_the_offset() {
    let dir = scratch_dir("corrupt");
    {
        let s = start_in(&dir, &[]);
        let mut c = s.conn();
        populate(&mut c);
        assert_eq!(q::<String>(&mut c, &["SAVE"]), "OK");
    }
    let good = std::fs::read(dir.join("dump.rdb")).unwrap();
    let path = dir.join("dump.rdb");
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    let (status, log) = start_expecting_failure(&dir);
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("Unexpected EOF reading RDB file") && log.contains("dump.rdb"), "{log}");
    let offset: usize = log.split("reading offset ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(offset > 0 && offset <= good.len() / 2, "{log}");
    let mut flipped = good.clone();
    let n = flipped.len();
    flipped[n - 3] ^= 0xff;
    std::fs::write(&path, &flipped).unwrap();
    let (status, log) = start_expecting_failure(&dir);
    assert_eq!(status.code(), Some(1));
    assert!(log.contains("Wrong RDB checksum") && log.contains("RDB CRC error"), "{log}");
    std::fs::write(&path, b"REDIS0010\x05").unwrap();
    let (status, log) = start_expecting_failure(&dir);
    assert_eq!(status.code(), Some(1));
    assert!(log.contains("offset 10"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn check_rdb(path: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kvasir-check-rdb")).arg(path).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The offset `kvasir-check-rdb` reports an error at.
fn error_offset(out: &str) -> usize {
    let after = out.split("--- RDB ERROR DETECTED ---\n[offset ").nth(1).unwrap_or_else(|| panic!("{out}"));
    after.split(']').next().unwrap().parse().unwrap()
}

#[test]
fn check_rdb_reports_good_truncated_and_damaged_files() {
    let dir = scratch_dir("checkrdb");
    {
        let s = start_in(&dir, &[]);
        let mut c = s.conn();
        populate(&mut c);
        q::<()>(&mut c, &["SET", "k:gone", "v", "PX", "300"]);
        q::<()>(&mut c, &["SET", "k:target", "payload-of-the-target-key"]);
        assert_eq!(q::<String>(&mut c, &["SAVE"]), "OK");
        let keys: i64 = (0..16)
            .map(|db| {
                q::<()>(&mut c, &["SELECT", &db.to_string()]);
                q::<i64>(&mut c, &["DBSIZE"])
            })
            .sum();
        std::thread::sleep(Duration::from_millis(400));
        let path = dir.join("dump.rdb");
        let good = std::fs::read(&path).unwrap();
        // A sound file: every key counted, the expired one too (the check keeps everything).
        let (code, out) = check_rdb(&path);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("Checksum OK") && out.contains("\\o/ RDB looks OK! \\o/"), "{out}");
        assert!(out.contains(&format!("[info] {keys} keys read\n")), "{keys}: {out}");
        assert!(out.contains("[info] 1 already expired\n"), "{out}");
        assert!(out.contains("AUX FIELD valkey-ver = "), "{out}");
        // Cut anywhere: an error at or before the cut, never past it.
        for cut in [good.len() / 3, good.len() / 2, good.len() - 9, good.len() - 1] {
            std::fs::write(&path, &good[..cut]).unwrap();
            let (code, out) = check_rdb(&path);
            assert_eq!(code, 1, "cut {cut}: {out}");
            assert!(out.contains("Unexpected EOF reading RDB file"), "cut {cut}: {out}");
            let at = error_offset(&out);
            assert!(at > 0 && at <= cut, "cut {cut}: {out}");
            assert!(out.contains(&format!("In file {}", path.display())), "{out}");
        }
        // A byte of a value flipped: only the checksum can tell, at the footer.
        let target = good.windows(8).position(|w| w == b"payload-").unwrap();
        let mut flipped = good.clone();
        flipped[target + 3] ^= 0x20;
        std::fs::write(&path, &flipped).unwrap();
        let (code, out) = check_rdb(&path);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("RDB CRC error"), "{out}");
        assert_eq!(error_offset(&out), good.len() - 8, "{out}");
        // The type byte of a record flipped to an unknown type: the error is reported just
        // past that byte (the bytes consumed, as Valkey's checker counts them), and the last
        // key read whole comes before it.
        let key = good.windows(8).position(|w| w == b"k:target").unwrap();
        let type_at = key - 2;
        assert_eq!(good[type_at], 0, "a string record: type 0, a one-byte length, the key");
        let mut bad = good.clone();
        bad[type_at] = 0x60;
        std::fs::write(&path, &bad).unwrap();
        let (code, out) = check_rdb(&path);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("unknown RDB type or opcode"), "{out}");
        assert_eq!(error_offset(&out), type_at + 1, "{out}");
        assert!(out.contains("Last key read whole: '"), "{out}");
        // Not an RDB file at all.
        std::fs::write(&path, b"hello world, not an rdb").unwrap();
        let (code, out) = check_rdb(&path);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("[offset 0] Wrong signature trying to load DB from file"), "{out}");
        assert!(out.contains("No key was read whole before the error"), "{out}");
    }
    let (code, out) = check_rdb(&dir.join("missing.rdb"));
    assert_eq!(code, 1, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_7_loads_our_file_and_we_load_its_file() {
    // Ours → redis-server 7.0.
    let dir = scratch_dir("to-redis");
    let ours = {
        let s = start_in(&dir, &[]);
        let mut c = s.conn();
        populate(&mut c);
        assert_eq!(q::<String>(&mut c, &["SAVE"]), "OK");
        picture(&mut c)
    };
    let Some(peer) = Peer::start_in(free_port(), dir.clone()) else { return };
    let mut rc = peer.client().get_connection().unwrap();
    assert_eq!(picture(&mut rc), ours, "redis-server read our dump differently");
    // redis-server 7.0 → ours: its own file, written by its SAVE.
    q::<()>(&mut rc, &["FLUSHALL"]);
    populate(&mut rc);
    q::<()>(&mut rc, &["SET", "from", "redis"]);
    let theirs = picture(&mut rc);
    assert_eq!(q::<String>(&mut rc, &["SAVE"]), "OK");
    let their_file = std::fs::read(dir.join("dump.rdb")).unwrap();
    drop(rc);
    drop(peer);
    let dir2 = scratch_dir("from-redis");
    std::fs::write(dir2.join("dump.rdb"), &their_file).unwrap();
    let s = start_in(&dir2, &[]);
    let mut c = s.conn();
    assert_eq!(picture(&mut c), theirs, "we read redis-server's dump differently");
    let _ = std::fs::remove_dir_all(&dir2);
}

// ---------------------------------------------------------------------------------------------
// The loading state: clients that connect while the dataset loads

const LOADING: &str = "-LOADING Valkey is loading the dataset in memory\r\n";

/// Fills `dir`'s dump.rdb with `populate`'s dataset plus `n` strings of 100 bytes (`key:0` ...);
/// returns the dataset's DEBUG DIGEST and key count.
fn save_dataset(dir: &Path, n: usize) -> (String, i64) {
    let s = start_in(dir, &["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    populate(&mut c);
    q::<()>(&mut c, &["DEBUG", "POPULATE", &n.to_string(), "key", "100"]);
    q::<()>(&mut c, &["SAVE"]);
    let digest: String = q(&mut c, &["DEBUG", "DIGEST"]);
    let keys: i64 = (0..16)
        .map(|db| {
            q::<()>(&mut c, &["SELECT", &db.to_string()]);
            q::<i64>(&mut c, &["DBSIZE"])
        })
        .sum();
    (digest, keys)
}

/// Starts a server on `dir` that loads slowly (`key-load-delay`, at least `delay_us` per key:
/// a lower bound, so a slow machine only makes the load last longer), returning while it loads.
fn start_loading(dir: &Path, delay_us: u32, args: &[&str]) -> Server {
    let log = dir.join("server.log");
    let delay = delay_us.to_string();
    let mut all = vec!["--dir", dir.to_str().unwrap(), "--logfile", log.to_str().unwrap()];
    all.extend_from_slice(&["--enable-debug-command", "yes", "--key-load-delay", &delay]);
    all.extend_from_slice(&["--loading-process-events-interval-bytes", "1024"]);
    all.extend_from_slice(args);
    Server::start_accepting(&all)
}

/// INFO persistence through a raw connection, as name → value.
fn raw_info(r: &mut crate::harness::Raw) -> std::collections::HashMap<String, String> {
    let text = r.call(&["INFO", "persistence"]);
    assert!(text.starts_with('$'), "{text}");
    text.lines().filter_map(|l| l.split_once(':')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn a_startup_load_answers_loading_shows_progress_and_ends_complete() {
    let dir = scratch_dir("loading");
    let n = 30_000;
    let (digest, keys) = save_dataset(&dir, n);
    let size = std::fs::metadata(dir.join("dump.rdb")).unwrap().len();
    let mut s = start_loading(&dir, 50, &["--enable-protected-configs", "yes"]);
    let mut r = s.raw();
    // Commands not flagged `loading` get Valkey's error, whatever they are.
    for cmd in [&["GET", "key:1"][..], &["PING"], &["SET", "x", "1"], &["DBSIZE"], &["KEYS", "*"], &["FLUSHALL"]] {
        assert_eq!(r.call(cmd), LOADING, "{cmd:?}");
    }
    let first = raw_info(&mut r);
    assert_eq!(first["loading"], "1");
    assert_eq!(first["async_loading"], "0");
    assert_eq!(first["loading_total_bytes"], size.to_string());
    assert_ne!(first["loading_rdb_used_mem"], "0");
    let loaded: u64 = first["loading_loaded_bytes"].parse().unwrap();
    assert!(loaded < size, "{first:?}");
    let perc: f64 = first["loading_loaded_perc"].parse().unwrap();
    assert!((0.0..100.0).contains(&perc), "{first:?}");
    let start: u64 = first["loading_start_time"].parse().unwrap();
    assert!(start <= now_secs() && start + 60 > now_secs(), "{first:?}");
    assert!(first["loading_eta_seconds"].parse::<u64>().is_ok(), "{first:?}");
    // Commands flagged `loading` work, including those that need shards the loader holds
    // (it gives them back between keys).
    assert!(r.call(&["AUTH", "pw"]).starts_with("-ERR AUTH <password> called without any password configured"));
    assert_eq!(r.call(&["CLIENT", "SETNAME", "early"]), "+OK\r\n");
    assert_eq!(r.call(&["WATCH", "key:1"]), "+OK\r\n");
    assert_eq!(r.call(&["UNWATCH"]), "+OK\r\n");
    let keyspace = r.call(&["INFO", "keyspace"]);
    let partial: i64 =
        keyspace.split("db0:keys=").nth(1).map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap());
    assert!(partial < n as i64, "{keyspace}");
    let mut hello = s.raw();
    assert!(hello.call(&["HELLO", "3"]).contains("valkey"));
    // CONFIG SET: what Valkey denies while loading gets -LOADING, the rest applies.
    assert_eq!(r.call(&["CONFIG", "SET", "dir", "/tmp"]), LOADING);
    assert_eq!(r.call(&["CONFIG", "SET", "appendonly", "yes"]), LOADING);
    assert_eq!(r.call(&["CONFIG", "SET", "loglevel", "verbose"]), "+OK\r\n");
    // A transaction with a refused command aborts.
    assert_eq!(r.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(r.call(&["GET", "key:1"]), LOADING);
    assert!(r.call(&["EXEC"]).starts_with("-EXECABORT Transaction discarded because of previous errors"));
    // DEBUG commands that would change the dataset being loaded wait for the end.
    assert_eq!(r.call(&["DEBUG", "RELOAD"]), LOADING);
    // Progress moves on.
    std::thread::sleep(Duration::from_millis(300));
    let second = raw_info(&mut r);
    assert_eq!(second["loading"], "1", "the load was meant to last longer: {second:?}");
    assert!(second["loading_loaded_bytes"].parse::<u64>().unwrap() > loaded, "{first:?} {second:?}");
    assert_eq!(second["loading_start_time"], first["loading_start_time"]);

    s.wait_loaded().unwrap();
    let done = raw_info(&mut r);
    assert_eq!(done["loading"], "0");
    assert!(!done.contains_key("loading_start_time") && !done.contains_key("loading_eta_seconds"), "{done:?}");
    assert_eq!(done["rdb_last_load_keys_loaded"], keys.to_string());
    assert_eq!(r.call(&["GET", "key:1"]), format!("$100\r\nvalue:1{}\r\n", "\0".repeat(93)));
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["DEBUG", "DIGEST"]), digest);
    // The loglevel set during the load stayed; the name is the raw connection's, not this one's.
    let level: Vec<String> = q(&mut c, &["CONFIG", "GET", "loglevel"]);
    assert_eq!(level, ["loglevel", "verbose"]);
    assert_eq!(r.call(&["CLIENT", "GETNAME"]), "$5\r\nearly\r\n");
    // The log tells the story in Valkey's order: ready only once loaded.
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    let at = |line: &str| log.find(line).unwrap_or_else(|| panic!("no {line:?} in {log}"));
    assert!(at("Server initialized") < at("Done loading RDB, keys loaded: "));
    assert!(at("Done loading RDB, keys loaded: ") < at("DB loaded from disk: "));
    assert!(at("DB loaded from disk: ") < at("Ready to accept connections tcp"));
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_and_sigterm_during_a_load_exit_without_saving() {
    let dir = scratch_dir("loading-exit");
    save_dataset(&dir, 20_000);
    let file = std::fs::read(dir.join("dump.rdb")).unwrap();
    // SHUTDOWN (which would save: save points are set) while loading: Valkey forces NOSAVE.
    let mut s = start_loading(&dir, 100, &["--save", "3600", "1"]);
    let mut r = s.raw();
    assert_eq!(r.call(&["GET", "key:1"]), LOADING);
    r.cmd(&[b"SHUTDOWN"]);
    assert!(r.read_to_close().is_empty());
    wait_exit(&mut s);
    assert!(s.try_wait().unwrap().success());
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    assert!(log.contains("User requested shutdown... (user request from 'id="), "{log}");
    assert!(!log.contains("Saving the final RDB snapshot") && !log.contains("DB saved on disk"), "{log}");
    assert!(log.contains("is now ready to exit, bye bye..."), "{log}");
    assert!(std::fs::read(dir.join("dump.rdb")).unwrap() == file, "the file changed");
    drop(s);
    // SIGTERM while loading: the same, with Valkey's line.
    std::fs::remove_file(dir.join("server.log")).unwrap();
    let mut s = start_loading(&dir, 100, &["--save", "3600", "1"]);
    assert_eq!(s.raw().call(&["GET", "key:1"]), LOADING);
    unsafe { libc::kill(s.pid() as i32, libc::SIGTERM) };
    wait_exit(&mut s);
    assert!(s.try_wait().unwrap().success());
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    assert!(log.contains("Received shutdown signal during loading, scheduling shutdown."), "{log}");
    assert!(!log.contains("Saving the final RDB snapshot"), "{log}");
    assert!(std::fs::read(dir.join("dump.rdb")).unwrap() == file, "the file changed");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_aof_startup_load_answers_loading_and_writes_wait_for_the_aof() {
    let dir = scratch_dir("loading-aof");
    let n = 20_000;
    {
        let s = start_in(&dir, &["--appendonly", "yes", "--appendfsync", "always"]);
        let mut c = s.conn();
        let mut pipe = redis::pipe();
        for i in 0..n {
            pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
        }
        pipe.query::<()>(&mut c).unwrap();
    }
    let aof_dir = dir.join("appendonlydir");
    let total: u64 = std::fs::read_dir(&aof_dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".manifest"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    let mut s = start_loading(&dir, 100, &["--appendonly", "yes", "--appendfsync", "always"]);
    let mut r = s.raw();
    assert_eq!(r.call(&["SET", "early", "1"]), LOADING);
    let info = raw_info(&mut r);
    assert_eq!(info["loading"], "1");
    assert_eq!(info["loading_total_bytes"], total.to_string());
    std::thread::sleep(Duration::from_millis(300));
    let later = raw_info(&mut r);
    assert!(later["loading_loaded_bytes"].parse::<u64>().unwrap() > 0, "{later:?}");
    s.wait_loaded().unwrap();
    assert_eq!(r.call(&["DBSIZE"]), format!(":{n}\r\n"));
    assert_eq!(r.call(&["GET", "k19999"]), "$5\r\n19999\r\n");
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    let at = |line: &str| log.find(line).unwrap_or_else(|| panic!("no {line:?} in {log}"));
    assert!(at("DB loaded from append only file: ") < at("Ready to accept connections tcp"));
    // The first write accepted after the load is in the AOF: it was open before the loading
    // state went down.
    assert_eq!(r.call(&["SET", "after", "1"]), "+OK\r\n");
    drop(s);
    let s = start_in(&dir, &["--appendonly", "yes"]);
    assert_eq!(s.raw().call(&["GET", "after"]), "$1\r\n1\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn debug_reload_shows_the_loading_state_to_other_clients() {
    let dir = scratch_dir("loading-reload");
    save_dataset(&dir, 20_000);
    // Two workers: the two connections below, accepted one after the other, are served by
    // different threads, and DEBUG RELOAD keeps its thread busy.
    let s = start_in(&dir, &["--enable-debug-command", "yes", "--worker-threads", "2"]);
    let mut other = s.raw();
    assert_eq!(other.call(&["GET", "key:1"]).len(), 108);
    let mut reloading = s.raw();
    assert_eq!(reloading.call(&["CONFIG", "SET", "key-load-delay", "100"]), "+OK\r\n");
    reloading.cmd(&[b"DEBUG", b"RELOAD"]);
    wait_until(|| raw_info(&mut other)["loading"] == "1");
    assert_eq!(other.call(&["GET", "key:1"]), LOADING);
    let info = raw_info(&mut other);
    assert_eq!(info["loading_total_bytes"], std::fs::metadata(dir.join("dump.rdb")).unwrap().len().to_string());
    assert_eq!(reloading.read_reply(), b"+OK\r\n");
    assert_eq!(raw_info(&mut other)["loading"], "0");
    assert_eq!(other.call(&["GET", "key:1"]).len(), 108);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_load_at_full_speed_serves_info_and_watch_between_intervals() {
    // No key-load-delay, the default 2 MB interval: commands allowed while loading that need
    // the shards (INFO's memory and keyspace sections, WATCH) are served at the loader's next
    // interval, not after the load.
    let dir = scratch_dir("loading-fast");
    {
        let s = start_in(&dir, &["--enable-debug-command", "yes"]);
        let mut c = s.conn();
        q::<()>(&mut c, &["DEBUG", "POPULATE", "600000", "key", "100"]);
        q::<()>(&mut c, &["SAVE"]);
    }
    let mut s = Server::start_accepting(&["--dir", dir.to_str().unwrap()]);
    let mut r = s.raw();
    assert_eq!(r.call(&["GET", "key:1"]), LOADING, "the load was meant to last longer");
    let info = r.call(&["INFO"]);
    assert!(info.contains("\r\nloading:1\r\n"), "INFO waited for the end of the load: {info}");
    assert!(info.contains("# Keyspace") && info.contains("# Memory"), "{info}");
    assert_eq!(r.call(&["WATCH", "key:1"]), "+OK\r\n");
    assert_eq!(raw_info(&mut r)["loading"], "1", "the load was meant to last longer");
    s.wait_loaded().unwrap();
    assert_eq!(r.call(&["DBSIZE"]), ":600000\r\n");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
