//! Debian's redis-server (Redis 7.0) started beside kvasir for interoperability tests (DUMP
//! payloads in both directions), and the DUMP footer helpers those tests need.

use crate::harness::free_port;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A redis-server started for a test, killed when dropped.
pub struct Peer {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Peer {
    /// Starts Debian's redis-server, or returns None (after a loud warning) if it is not
    /// installed, unless `KVASIR_REQUIRE_PEER=1` makes that a failure.
    pub fn start() -> Option<Peer> {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("kvasir-peer-{}-{port}", std::process::id()));
        Self::start_in(port, dir)
    }

    /// Starts redis-server in `dir` (its RDB file is `dir`/dump.rdb, loaded at startup if
    /// present); the directory is removed when the peer is dropped.
    pub fn start_in(port: u16, dir: std::path::PathBuf) -> Option<Peer> {
        std::fs::create_dir_all(&dir).unwrap();
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", dir.to_str().unwrap()])
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

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn client(&self) -> redis::Client {
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
pub fn crc64_jones(bytes: &[u8]) -> u64 {
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
pub fn restamp(payload: &[u8], version: u16) -> Vec<u8> {
    let mut p = payload[..payload.len() - 10].to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = crc64_jones(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

pub fn footer_version(payload: &[u8]) -> u16 {
    u16::from_le_bytes([payload[payload.len() - 10], payload[payload.len() - 9]])
}
