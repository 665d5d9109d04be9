//! The generic key family over the wire: SCAN's guarantee while another client writes, DUMP
//! payloads exchanged with a real redis-server in both directions, and RESP3 replies.

use crate::harness::{free_port, Server};
use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Keys present from the start to the end of a SCAN iteration are all returned, while another
/// connection adds and removes thousands of keys (growing and shrinking the shard tables).
/// The iteration waits for a new batch of the writer's every few calls, so the writes really
/// fall between SCAN calls however the threads are scheduled.
#[test]
fn scan_guarantee_while_another_client_writes() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("SET").arg(format!("stable:{i}")).arg(i).ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let batches = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, batches) = (stop.clone(), batches.clone());
        let mut w = s.conn();
        std::thread::spawn(move || {
            let mut rng = fastrand::Rng::with_seed(9);
            let mut round = 0;
            while !stop.load(Ordering::Relaxed) {
                let n = rng.usize(1..2000);
                for verb in ["SET", "DEL"] {
                    let mut pipe = redis::pipe();
                    for j in 0..n {
                        pipe.cmd(verb).arg(format!("churn:{round}:{j}"));
                        if verb == "SET" {
                            pipe.arg("x");
                        }
                        pipe.ignore();
                    }
                    let _: () = pipe.query(&mut w).unwrap();
                    batches.fetch_add(1, Ordering::Relaxed);
                }
                round += 1;
            }
        })
    };

    for count in [1, 10, 100] {
        let mut seen = HashSet::new();
        let mut cursor: u64 = 0;
        let mut calls = 0;
        loop {
            let (next, batch): (u64, Vec<Vec<u8>>) =
                redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(count).query(&mut c).unwrap();
            seen.extend(batch);
            cursor = next;
            if cursor == 0 {
                break;
            }
            calls += 1;
            if calls % 8 == 0 {
                let mark = batches.load(Ordering::Relaxed);
                let deadline = Instant::now() + Duration::from_secs(20);
                while batches.load(Ordering::Relaxed) == mark {
                    assert!(Instant::now() < deadline, "the writer stalled");
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        for i in 0..2000 {
            assert!(seen.contains(format!("stable:{i}").as_bytes()), "COUNT {count}: stable:{i} missed");
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}

#[test]
fn resp3_replies_of_the_family() {
    let s = Server::start(&[]);
    let mut raw = s.raw();
    assert!(raw.call(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(raw.call(&["RANDOMKEY"]), "_\r\n");
    assert_eq!(raw.call(&["OBJECT", "ENCODING", "nokey"]), "_\r\n");
    assert_eq!(raw.call(&["DUMP", "nokey"]), "_\r\n");
    assert_eq!(raw.call(&["SCAN", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(raw.call(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(raw.call(&["TYPE", "k"]), "+string\r\n");
    assert_eq!(raw.call(&["KEYS", "*"]), "*1\r\n$1\r\nk\r\n");
    assert_eq!(raw.call(&["COPY", "k", "k"]), "-ERR source and destination objects are the same\r\n");
    assert_eq!(raw.call(&["MOVE", "k", "1"]), ":1\r\n");
    assert_eq!(raw.call(&["SELECT", "1"]), "+OK\r\n");
    assert_eq!(raw.call(&["RENAME", "k", "k2"]), "+OK\r\n");
    assert_eq!(raw.call(&["OBJECT", "ENCODING", "k2"]), "$6\r\nembstr\r\n");
}

/// A redis-server started for a test, killed when dropped (also used by other areas' interop
/// tests).
pub(crate) struct Peer {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Peer {
    /// Starts Debian's redis-server, or returns None (after a loud warning) if it is not
    /// installed, unless `KVASIR_REQUIRE_PEER=1` makes that a failure.
    pub(crate) fn start() -> Option<Peer> {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("kvasir-peer-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                if std::env::var("KVASIR_REQUIRE_PEER").as_deref() == Ok("1") {
                    panic!("redis-server is required (KVASIR_REQUIRE_PEER=1) but cannot be started: {e}");
                }
                eprintln!(
                    "\n!!!!!!!! WARNING: redis-server not available ({e}); DUMP/RESTORE interop NOT TESTED !!!!!!!!\n"
                );
                return None;
            }
        };
        let peer = Peer { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut c) = peer.client().get_connection() {
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return Some(peer);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start on port {port}");
    }

    pub(crate) fn client(&self) -> redis::Client {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).unwrap()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// CRC-64/Jones, bit by bit: an implementation independent of the server's.
fn crc64_jones(bytes: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &b in bytes {
        crc ^= u64::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5 } else { crc >> 1 };
        }
    }
    crc
}

/// The payload with its RDB version replaced (and its CRC recomputed).
fn restamp(payload: &[u8], version: u16) -> Vec<u8> {
    let mut p = payload[..payload.len() - 10].to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = crc64_jones(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

fn footer_version(payload: &[u8]) -> u16 {
    u16::from_le_bytes([payload[payload.len() - 10], payload[payload.len() - 9]])
}

/// String values covering every RDB string encoding.
fn interop_values() -> Vec<Vec<u8>> {
    let mut values: Vec<Vec<u8>> = [
        "",
        "0",
        "-1",
        "127",
        "-128",
        "128",
        "32767",
        "-32769",
        "2147483647",
        "2147483648",
        "-2147483649",
        "9223372036854775807",
        "-9223372036854775808",
        "007",
        "+1",
        "hello",
        "12345678901234567890123",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    values.push(vec![b'a'; 44]);
    values.push(vec![b'a'; 45]);
    values.push(b"Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(40));
    values.push(b"\x00\r\n\xff binary".to_vec());
    values.push(vec![0u8; 100_000]);
    let mut rng = fastrand::Rng::with_seed(5);
    for _ in 0..300 {
        let n = rng.usize(1..600);
        let alphabet = rng.u8(1..5);
        values.push((0..n).map(|_| if alphabet == 4 { rng.u8(..) } else { b'a' + rng.u8(..alphabet) }).collect());
    }
    values
}

#[test]
fn dump_payloads_interoperate_with_redis_server() {
    let Some(peer) = Peer::start() else { return };
    let mut theirs = peer.client().get_connection().unwrap();
    let s = Server::start(&[]);
    let mut ours = s.conn();

    for (i, value) in interop_values().iter().enumerate() {
        let key = format!("k{i}");
        let _: () = redis::cmd("SET").arg(&key).arg(value).query(&mut theirs).unwrap();
        let _: () = redis::cmd("SET").arg(&key).arg(value).query(&mut ours).unwrap();
        let their_dump: Vec<u8> = redis::cmd("DUMP").arg(&key).query(&mut theirs).unwrap();
        let our_dump: Vec<u8> = redis::cmd("DUMP").arg(&key).query(&mut ours).unwrap();

        // Same RDB object bytes (integer encodings, LZF and all); our footer says RDB 11.
        assert_eq!(&our_dump[..our_dump.len() - 10], &their_dump[..their_dump.len() - 10], "value #{i}");
        assert_eq!(footer_version(&our_dump), 11);

        // Theirs into ours.
        let copy = format!("from-peer-{i}");
        let _: () = redis::cmd("RESTORE").arg(&copy).arg(0).arg(&their_dump).query(&mut ours).unwrap();
        let got: Vec<u8> = redis::cmd("GET").arg(&copy).query(&mut ours).unwrap();
        assert_eq!(&got, value, "value #{i} restored from redis-server");

        // Ours into theirs. A peer older than RDB 11 must refuse our version, exactly as
        // Valkey's verifyDumpPayload does; stamped with its own version it takes the same bytes.
        let copy = format!("from-kvasir-{i}");
        let peer_version = footer_version(&their_dump);
        let payload = if peer_version < 11 {
            let refused = redis::cmd("RESTORE").arg(&copy).arg(0).arg(&our_dump).query::<()>(&mut theirs).unwrap_err();
            assert_eq!(refused.detail(), Some("DUMP payload version or checksum are wrong"), "{refused}");
            restamp(&our_dump, peer_version)
        } else {
            our_dump.clone()
        };
        let _: () = redis::cmd("RESTORE").arg(&copy).arg(0).arg(&payload).query(&mut theirs).unwrap();
        let got: Vec<u8> = redis::cmd("GET").arg(&copy).query(&mut theirs).unwrap();
        assert_eq!(&got, value, "value #{i} restored into redis-server");
    }

    // A TTL travels as RESTORE's argument, not in the payload.
    let _: () = redis::cmd("SET").arg("ttl").arg("v").query(&mut theirs).unwrap();
    let their_dump: Vec<u8> = redis::cmd("DUMP").arg("ttl").query(&mut theirs).unwrap();
    let _: () = redis::cmd("RESTORE").arg("ttl").arg(60_000).arg(&their_dump).query(&mut ours).unwrap();
    let pttl: i64 = redis::cmd("PTTL").arg("ttl").query(&mut ours).unwrap();
    assert!((59_000..=60_000).contains(&pttl), "{pttl}");
}
