//! Starts the real `kvasir-server` binary on a free port, in a temporary directory, and hands
//! out connections: `redis` crate clients, and raw sockets for protocol-level tests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Server {
    /// Starts a server with extra command-line arguments (`["--requirepass", "x"]`).
    pub fn start(args: &[&str]) -> Server {
        Self::start_with(None, args)
    }

    /// Starts a server with a config file holding `config` plus extra arguments. A server
    /// that exits at once is started again on another port (up to three times): the port
    /// `free_port` found may be taken by a parallel test before the server binds it. Returns
    /// once the server has loaded its data (PING no longer answers `-LOADING`).
    pub fn start_with(config: Option<&str>, args: &[&str]) -> Server {
        Self::start_until(config, args, true)
    }

    /// Starts a server and returns as soon as it accepts connections, which may be while it
    /// still loads its data (tests of the loading state).
    pub fn start_accepting(args: &[&str]) -> Server {
        Self::start_until(None, args, false)
    }

    fn start_until(config: Option<&str>, args: &[&str], loaded: bool) -> Server {
        let mut exits = Vec::new();
        for _ in 0..3 {
            match Self::try_start(config, args, loaded) {
                Ok(server) => return server,
                Err(status) => exits.push(status),
            }
        }
        panic!("kvasir-server exited at startup three times ({exits:?}), args {args:?}");
    }

    fn try_start(config: Option<&str>, args: &[&str], loaded: bool) -> Result<Server, std::process::ExitStatus> {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("kvasir-e2e-{}-{}", std::process::id(), port));
        std::fs::create_dir_all(&dir).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kvasir-server"));
        if let Some(text) = config {
            let path = dir.join("kvasir.conf");
            std::fs::write(&path, text).unwrap();
            cmd.arg(&path);
        }
        cmd.args(["--port", &port.to_string()]).args(args).current_dir(&dir);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().expect("start kvasir-server");
        let mut server = Server { port, dir, child };
        server.wait_ready()?;
        if loaded {
            server.wait_loaded()?;
        }
        Ok(server)
    }

    /// Waits until the server accepts connections; `Err` with its status if it exited.
    fn wait_ready(&mut self) -> Result<(), std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("kvasir-server did not start on port {} within 10 s", self.port);
    }

    /// Waits until the server has loaded its data: it accepts connections during the load,
    /// answering PING with `-LOADING` (Valkey's own tests wait the same way). `Err` with its
    /// status if it exited (a file it could not load).
    pub fn wait_loaded(&mut self) -> Result<(), std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                // The first line of the reply; a failed exchange means "not yet".
                let mut line = Vec::new();
                if s.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok() {
                    let mut byte = [0u8; 1];
                    while !line.ends_with(b"\r\n") && matches!(s.read(&mut byte), Ok(1)) {
                        line.push(byte[0]);
                    }
                }
                if line.ends_with(b"\r\n") && !line.starts_with(b"-LOADING") {
                    return Ok(());
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("kvasir-server did not finish loading on port {} within 120 s", self.port);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A synchronous `redis` crate connection.
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url()).unwrap().get_connection().unwrap()
    }

    /// A raw socket speaking bytes.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// Whether the process has exited, and with which status.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A raw connection for byte-exact protocol tests.
pub struct Raw {
    pub stream: TcpStream,
    /// Bytes read but not yet returned (the start of the next reply).
    pending: Vec<u8>,
}

impl Raw {
    /// A raw connection to a local port.
    pub fn connect(port: u16) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        // Generous: the whole e2e binary runs its servers in parallel on two cores, and a
        // reply that never comes still fails the test, only later.
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.set_nodelay(true).unwrap();
        Raw { stream: s, pending: Vec::new() }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends a command in multibulk form.
    pub fn cmd(&mut self, args: &[&[u8]]) {
        let mut wire = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            wire.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            wire.extend_from_slice(a);
            wire.extend_from_slice(b"\r\n");
        }
        self.send(&wire);
    }

    /// Reads one complete RESP value and returns its raw bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Ok((_, used)) = resp::Value::parse(&self.pending) {
                let rest = self.pending.split_off(used);
                return std::mem::replace(&mut self.pending, rest);
            }
            let n = self.stream.read(&mut chunk).expect("read reply");
            assert!(n > 0, "connection closed; got so far: {:?}", String::from_utf8_lossy(&self.pending));
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a command and returns its raw reply as a string.
    pub fn call(&mut self, args: &[&str]) -> String {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd(&args);
        String::from_utf8_lossy(&self.read_reply()).into_owned()
    }

    /// Reads until the server closes the connection; returns everything read.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.pending);
        let _ = self.stream.read_to_end(&mut out);
        out
    }
}

/// Waits until exactly `n` clients are blocked (INFO clients), or fails after 10 s.
pub fn wait_blocked(c: &mut redis::Connection, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info: String = redis::cmd("INFO").arg("clients").query(c).unwrap();
        let blocked = info
            .lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(usize::MAX);
        if blocked == n {
            return;
        }
        assert!(Instant::now() < deadline, "never saw {n} blocked clients: {info}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
