//! The two servers under comparison: `kvasir-server` (this crate's binary) and Debian's
//! `redis-server`, each started on a free port in its own temporary directory with persistence
//! off, and killed when dropped.
//!
//! When `redis-server` is not on PATH the differential tests cannot run: [`find_peer`] prints a
//! loud banner and the test passes, unless `KVASIR_REQUIRE_PEER=1` (set by `.ci/run`), in which
//! case it fails.

use crate::conn::Conn;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Kvasir,
    Redis,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Kvasir => "kvasir",
            Kind::Redis => "redis",
        }
    }
}

/// One running server process.
pub struct Proc {
    pub kind: Kind,
    pub port: u16,
    dir: PathBuf,
    child: Child,
    /// How many times it had to be restarted after dying (reported, never hidden).
    pub restarts: u32,
    redis_bin: Option<PathBuf>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Looks for `redis-server` on PATH. `None` means the differential tests must not run; the
/// caller returns early after this function printed why (or panics under
/// `KVASIR_REQUIRE_PEER=1`).
pub fn find_peer(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("redis-server")).find(|p| p.is_file()));
    if found.is_none() {
        let required = std::env::var("KVASIR_REQUIRE_PEER").is_ok_and(|v| v == "1");
        let banner = "!".repeat(78);
        // Straight to stderr, not eprintln!: the test harness captures eprintln! output of passing
        // tests, and this warning must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "\n{banner}\n!!! DIFFERENTIAL TEST `{test}` DID NOT RUN: `redis-server` is not on PATH.\n\
             !!! Install Debian's redis-server (apt-get install redis-server) to compare\n\
             !!! kvasir against a real server. {}\n{banner}\n",
            if required { "KVASIR_REQUIRE_PEER=1: FAILING." } else { "Passing WITHOUT CHECKING ANYTHING." }
        );
        assert!(!required, "redis-server not found on PATH and KVASIR_REQUIRE_PEER=1");
    }
    found
}

impl Proc {
    pub fn start(kind: Kind, redis_bin: Option<&Path>) -> Proc {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("kvasir-diff-{}-{}-{}", kind.label(), std::process::id(), port));
        std::fs::create_dir_all(&dir).unwrap();
        // KVASIR_DIFF_SUBJECT replaces kvasir-server by another server that takes Redis-style
        // arguments: with redis-server itself it checks the harness (no difference may show but
        // the known ones), with a Valkey build it checks the known differences.
        let subject = std::env::var_os("KVASIR_DIFF_SUBJECT").map(PathBuf::from);
        let mut cmd = match (kind, &subject) {
            (Kind::Kvasir, None) => Command::new(env!("CARGO_BIN_EXE_kvasir-server")),
            (Kind::Kvasir, Some(other)) => Command::new(other),
            (Kind::Redis, _) => Command::new(redis_bin.expect("redis-server path")),
        };
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
        if kind == Kind::Redis || subject.is_some() {
            cmd.args(["--daemonize", "no", "--logfile", "", "--dir"]).arg(&dir);
        }
        cmd.current_dir(&dir).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", kind.label()));
        let proc = Proc { kind, port, dir, child, restarts: 0, redis_bin: redis_bin.map(Path::to_path_buf) };
        proc.wait_ready();
        proc
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                let mut c = self.connect();
                if c.call(&[b"PING".to_vec()]).is_ok_and(|r| r == b"+PONG\r\n") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} did not start on port {}", self.kind.label(), self.port);
    }

    pub fn connect(&self) -> Conn {
        Conn::open(self.kind.label(), self.port)
    }

    /// `None` while running; the exit status once it died.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Replaces a dead process by a fresh one (a crash was already reported by the case that
    /// saw it; later cases need a server to talk to).
    pub fn restart_if_dead(&mut self) {
        if self.exited().is_some() {
            let restarts = self.restarts + 1;
            let fresh = Proc::start(self.kind, self.redis_bin.as_deref());
            *self = fresh;
            self.restarts = restarts;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
