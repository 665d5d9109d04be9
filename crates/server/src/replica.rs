//! The replica's link to its master (REPLICAOF host port), on one thread with blocking I/O:
//! connect, handshake (AUTH with `masterauth`, PING, REPLCONF listening-port and capa, PSYNC
//! `? -1`, or SYNC if the master has no PSYNC), receive the RDB (a `$<len>` bulk or a
//! diskless `$EOF:<mark>` stream), load it in place of the dataset
//! (`engine::replica::load_full_sync`), then apply the master's command stream as the master
//! client, acknowledging the offset every second and on REPLCONF GETACK.
//!
//! The role lives in the engine (`engine::replica`); this thread waits there for changes.
//! A link stops at its next step once its generation is no longer current (REPLICAOF to
//! another master, or NO ONE); a broken link reconnects every second and synchronises in
//! full again (no partial resynchronisation).

use crate::log::{notice, warning};
use engine::exec::{execute, Outcome};
use engine::replica::Phase;
use engine::Engine;
use resp::{Limits, Parsed, Reply, RequestParser};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a blocking read waits before the link checks whether it is still wanted.
const POLL: Duration = Duration::from_millis(100);

pub fn spawn(engine: Arc<Engine>) {
    let spawned = std::thread::Builder::new().name("kvasir-replica".into()).spawn(move || {
        let mut seen = 0;
        loop {
            let state = engine.replica.wait_change(seen);
            seen = state.generation;
            if let Some((host, port)) = state.master {
                follow(&engine, seen, &host, port);
            }
        }
    });
    if let Err(e) = spawned {
        warning!("Can't start the replication thread: {e}");
    }
}

/// Follows `host:port` until the generation changes, reconnecting after failures.
fn follow(engine: &Arc<Engine>, generation: u64, host: &str, port: u16) {
    let role = &engine.replica;
    while role.is_current(generation) {
        notice!("Connecting to MASTER {host}:{port}");
        match Link::open(engine, generation, host, port).and_then(|mut link| link.run()) {
            Ok(()) => return,
            Err(e) => {
                warning!("{e}");
                role.update(generation, |s| s.phase = Phase::Connect);
            }
        }
        for _ in 0..10 {
            if !role.is_current(generation) {
                return;
            }
            std::thread::sleep(POLL);
        }
    }
}

/// Why a link step failed (logged; the link reconnects).
type LinkResult<T> = Result<T, String>;

struct Link<'a> {
    engine: &'a Arc<Engine>,
    generation: u64,
    master: String,
    sock: TcpStream,
    /// Bytes read and not consumed yet.
    buf: Vec<u8>,
    last_read: Instant,
}

impl<'a> Link<'a> {
    fn open(engine: &'a Arc<Engine>, generation: u64, host: &str, port: u16) -> LinkResult<Link<'a>> {
        engine.replica.update(generation, |s| s.phase = Phase::Connecting);
        let fail = |e: std::io::Error| format!("Unable to connect to MASTER: {e}");
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(fail)?
            .next()
            .ok_or_else(|| format!("Unable to connect to MASTER: can't resolve {host}"))?;
        let sock = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(fail)?;
        let _ = sock.set_nodelay(true);
        sock.set_read_timeout(Some(POLL)).map_err(fail)?;
        Ok(Link {
            engine,
            generation,
            master: format!("{host}:{port}"),
            sock,
            buf: Vec::new(),
            last_read: Instant::now(),
        })
    }

    fn wanted(&self) -> bool {
        self.engine.replica.is_current(self.generation)
    }

    fn send(&mut self, argv: &[&[u8]]) -> LinkResult<()> {
        let mut out = Vec::new();
        resp::encode_command(&mut out, argv);
        self.sock.write_all(&out).map_err(|e| format!("Error writing to MASTER: {e}"))
    }

    /// Reads more bytes into `buf`. `Ok(false)`: nothing arrived within [`POLL`].
    fn fill(&mut self) -> LinkResult<bool> {
        let mut chunk = [0u8; 64 * 1024];
        match self.sock.read(&mut chunk) {
            Ok(0) => Err("Connection with master lost.".into()),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                self.last_read = Instant::now();
                Ok(true)
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                let timeout = self.engine.config.get_i64("repl-timeout").max(1) as u64;
                if self.last_read.elapsed() > Duration::from_secs(timeout) {
                    return Err("MASTER timeout: no data nor PING received...".into());
                }
                Ok(false)
            }
            Err(e) => Err(format!("Error reading from MASTER: {e}")),
        }
    }

    /// Reads one reply line (without its CRLF); a lone `\n` (the master's keepalive while it
    /// prepares the RDB) is skipped. `None`: the link is no longer wanted.
    fn line(&mut self) -> LinkResult<Option<String>> {
        loop {
            while self.buf.first() == Some(&b'\n') {
                self.buf.remove(0);
            }
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_string();
                return Ok(Some(text));
            }
            if !self.wanted() {
                return Ok(None);
            }
            if self.buf.len() > 64 * 1024 {
                return Err("Protocol error: too long a line from MASTER".into());
            }
            self.fill()?;
        }
    }

    /// Sends a command of the handshake and reads its one-line reply.
    fn ask(&mut self, argv: &[&[u8]]) -> LinkResult<Option<String>> {
        self.send(argv)?;
        self.line()
    }

    fn run(&mut self) -> LinkResult<()> {
        let engine = self.engine;
        // Handshake.
        let pass = engine.config.get("primaryauth");
        if !pass.is_empty() {
            let user = engine.config.get("primaryuser");
            let reply = if user.is_empty() {
                self.ask(&[b"AUTH", pass.as_bytes()])?
            } else {
                self.ask(&[b"AUTH", user.as_bytes(), pass.as_bytes()])?
            };
            let Some(reply) = reply else { return Ok(()) };
            if let Some(err) = reply.strip_prefix('-') {
                return Err(format!("Unable to AUTH to MASTER: {err}"));
            }
        }
        let Some(pong) = self.ask(&[b"PING"])? else { return Ok(()) };
        if pong.starts_with("-NOAUTH")
            || pong.starts_with("-NOPERM")
            || pong.starts_with("-ERR operation not permitted")
        {
            return Err(format!("Error reply to PING from master: '{}'", &pong[1..]));
        }
        notice!("Master replied to PING, replication can continue...");
        let port = engine.host.tcp_port().to_string();
        if self.ask(&[b"REPLCONF", b"listening-port", port.as_bytes()])?.is_none() {
            return Ok(());
        }
        if self.ask(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])?.is_none() {
            return Ok(());
        }
        notice!("Partial resynchronization not possible (no cached master)");
        let Some(reply) = self.ask(&[b"PSYNC", b"?", b"-1"])? else { return Ok(()) };
        let mut offset = 0u64;
        if let Some(rest) = reply.strip_prefix("+FULLRESYNC ") {
            notice!("Full resync from master: {rest}");
            offset = rest.split(' ').nth(1).and_then(|o| o.parse().ok()).unwrap_or(0);
        } else if reply.starts_with('-') {
            // A master without PSYNC: the old protocol, whose stream has no offsets.
            notice!("Master does not support PSYNC, falling back to SYNC");
            self.send(&[b"SYNC"])?;
        } else {
            return Err(format!("Unexpected reply to PSYNC from master: {reply}"));
        }
        // The RDB.
        engine.replica.update(self.generation, |s| s.phase = Phase::Sync);
        let Some(payload) = self.rdb()? else { return Ok(()) };
        notice!("MASTER <-> REPLICA sync: receiving {} bytes from master to disk", payload.len());
        notice!("MASTER <-> REPLICA sync: Flushing old data");
        notice!("MASTER <-> REPLICA sync: Loading DB in memory");
        if !self.wanted() {
            return Ok(());
        }
        let loaded = engine::replica::load_full_sync(engine, &payload, &self.master)
            .map_err(|e| format!("Failed trying to load the MASTER synchronization DB from socket: {e}"))?;
        drop(payload);
        notice!("MASTER <-> REPLICA sync: Finished with success ({loaded} keys)");
        let now = engine::util::now_ms();
        if !engine.replica.update(self.generation, |s| {
            s.phase = Phase::Connected;
            s.offset = offset;
            s.last_io_ms = now;
        }) {
            return Ok(());
        }
        self.stream(offset)
    }

    /// Receives the RDB payload: `$<len>\r\n` and that many bytes, or `$EOF:<40-byte mark>\r\n`
    /// and bytes up to the mark.
    fn rdb(&mut self) -> LinkResult<Option<Vec<u8>>> {
        let Some(header) = self.line()? else { return Ok(None) };
        let Some(spec) = header.strip_prefix('$') else {
            return Err(format!("Bad protocol from MASTER, the first byte is not '$' (we received '{header}')"));
        };
        if let Some(mark) = spec.strip_prefix("EOF:") {
            let mark = mark.as_bytes().to_vec();
            if mark.len() != 40 {
                return Err("Bad EOF mark from MASTER".into());
            }
            loop {
                if self.buf.ends_with(&mark) {
                    let mut payload = std::mem::take(&mut self.buf);
                    payload.truncate(payload.len() - mark.len());
                    return Ok(Some(payload));
                }
                if !self.wanted() {
                    return Ok(None);
                }
                self.fill()?;
            }
        }
        let len: usize = spec.parse().map_err(|_| format!("Bad RDB length from MASTER: {spec}"))?;
        while self.buf.len() < len {
            if !self.wanted() {
                return Ok(None);
            }
            self.fill()?;
        }
        let rest = self.buf.split_off(len);
        Ok(Some(std::mem::replace(&mut self.buf, rest)))
    }

    /// Applies the master's writes as the master client until the link breaks or is no longer
    /// wanted. `offset`: the master's stream offset at the end of the RDB.
    fn stream(&mut self, mut offset: u64) -> LinkResult<()> {
        let engine = self.engine;
        let peer = self.sock.peer_addr().map(|a| a.to_string()).unwrap_or_default();
        let local = self.sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let fd = {
            use std::os::fd::AsRawFd;
            self.sock.as_raw_fd()
        };
        let shared = engine.clients.register(peer, local, fd);
        // Typed `master` (CLIENT LIST flags=M), which client eviction never picks.
        shared.flags.lock().primary = true;
        let mut client = engine::client::Client::new(shared.clone(), true);
        client.obey = true;
        let result = self.apply(&mut client, &mut offset);
        engine.clients.unregister(shared.id);
        result
    }

    fn apply(&mut self, client: &mut engine::client::Client, offset: &mut u64) -> LinkResult<()> {
        let engine = self.engine;
        let mut parser = RequestParser::new();
        let mut out = Reply::new(false);
        let limits = Limits { proto_max_bulk_len: i64::MAX as u64, auth_required: false };
        let mut last_ack = Instant::now();
        let mut pending = std::mem::take(&mut self.buf);
        loop {
            loop {
                let before = parser.consumed();
                match parser.parse(&pending, &limits) {
                    Parsed::Command => {}
                    Parsed::Empty => continue,
                    Parsed::Incomplete => break,
                    Parsed::Error(e) => return Err(format!("Protocol error from MASTER: {}", e.log_reason())),
                }
                let argv: Vec<&[u8]> = (0..parser.argc()).map(|i| parser.arg(&pending, i)).collect();
                let getack = argv.len() >= 2
                    && argv[0].eq_ignore_ascii_case(b"replconf")
                    && argv[1].eq_ignore_ascii_case(b"getack");
                if getack {
                    let ack = offset.to_string();
                    self.send(&[b"REPLCONF", b"ACK", ack.as_bytes()])?;
                    last_ack = Instant::now();
                } else {
                    // A write that arrives after REPLICAOF changed the master is not applied.
                    if !self.wanted() {
                        return Ok(());
                    }
                    while let Outcome::WaitScript | Outcome::Paused = execute(engine, client, &argv, &mut out) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    // The master's commands get no replies.
                    out.truncate(0);
                    client.shared.mailbox.drain_into(&mut out);
                    out.truncate(0);
                    engine::pubsub::end_batch(engine);
                }
                drop(argv);
                parser.finish();
                *offset += (parser.consumed() - before) as u64;
            }
            let consumed = parser.consumed();
            if consumed > 0 {
                pending.drain(..consumed);
                parser.rebase(consumed);
            }
            let now = engine::util::now_ms();
            let at = *offset;
            if !engine.replica.update(self.generation, |s| {
                s.offset = at;
                s.last_io_ms = now;
            }) {
                return Ok(());
            }
            if last_ack.elapsed() >= Duration::from_secs(1) {
                let ack = offset.to_string();
                self.send(&[b"REPLCONF", b"ACK", ack.as_bytes()])?;
                last_ack = Instant::now();
            }
            // `fill` reads into `self.buf`: lend it the pending bytes for the read.
            std::mem::swap(&mut pending, &mut self.buf);
            let got = self.fill();
            std::mem::swap(&mut pending, &mut self.buf);
            got?;
        }
    }
}
