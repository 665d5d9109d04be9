//! One client connection: read requests, run them, write replies.
//!
//! The loop reads whatever the socket has, runs every complete request in the buffer
//! (a pipeline of thousands runs in one pass), and writes all replies with one `write`.
//! Replies are flushed early only when they pass 64 KiB, which also means a client that stops
//! reading stops being served instead of making the server buffer without bound.
//! The query buffer is bounded by `client-query-buffer-limit` (1 MiB before authentication).
//!
//! The loop also keeps the client's [`ClientShared`] current for CLIENT LIST and INFO: bytes in
//! and out, buffer sizes, pending output. These are plain stores into atomics only this task
//! writes, once per batch, never a lock per command.

use crate::log::{verbose, warning};
use engine::client::{Client, ClientShared};
use engine::exec::{execute, Outcome};
use engine::stats::Counter;
use engine::Engine;
use resp::{Limits, Parsed, Reply, RequestParser};
use smallvec::SmallVec;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Reads are at least this big (Valkey's PROTO_IOBUF_LEN).
const READ_CHUNK: usize = 16 * 1024;
/// Replies are flushed mid-batch past this size.
const FLUSH_THRESHOLD: usize = 64 * 1024;
/// The reply buffer's usual capacity (see `Reply::new`); growing past it is an "expand".
const REPLY_BUFFER_BASE: usize = 16 * 1024;
/// Query buffer allowed to a client that has not authenticated yet.
const UNAUTH_QUERY_LIMIT: usize = 1024 * 1024;

/// Registers a new connection with the engine (before it is served, so that `maxclients`
/// counts it at once).
pub fn register(engine: &Engine, stream: &TcpStream) -> Arc<ClientShared> {
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "?:0".into());
    let local = stream.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| "?:0".into());
    let fd = {
        use std::os::fd::AsRawFd;
        stream.as_raw_fd()
    };
    engine.clients.register(peer, local, fd)
}

pub async fn serve(engine: Arc<Engine>, stream: TcpStream, shared: Arc<ClientShared>) {
    let wake = Arc::new(Notify::new());
    {
        let w = wake.clone();
        *shared.waker.lock() = Some(Box::new(move || w.notify_one()));
    }
    let id = shared.id;
    let authenticated = !engine.config.hot.requirepass_set.load(Relaxed);
    let mut conn = Connection {
        engine: engine.clone(),
        stream,
        client: Client::new(shared, authenticated),
        wake,
        reply_peak: 0,
        reply_peak_reset: Instant::now(),
    };
    conn.run().await;
    engine.clients.unregister(id);
}

/// How long the reply buffer peak (`rbp`) is remembered (Valkey's default
/// `reply_buffer_peak_reset_time`).
const REPLY_PEAK_RESET: Duration = Duration::from_secs(5);

struct Connection {
    engine: Arc<Engine>,
    stream: TcpStream,
    client: Client,
    wake: Arc<Notify>,
    reply_peak: usize,
    reply_peak_reset: Instant,
}

impl Connection {
    async fn run(&mut self) {
        let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
        let mut parser = RequestParser::new();
        let mut out = Reply::new(false);
        self.client.shared.reply_capacity.store(out.capacity(), Relaxed);
        let engine = self.engine.clone();
        loop {
            if self.client.shared.killed.load(Relaxed) {
                break;
            }
            let want = parser.bytes_needed_hint(buf.len()).unwrap_or(0).max(READ_CHUNK);
            if buf.capacity() - buf.len() < want {
                buf.reserve(want);
            }
            let n = match self.read(&mut buf).await {
                Some(n) => n,
                None => break,
            };
            let cycle_started = Instant::now();
            engine.stats.local(|b| {
                b.add(Counter::NetInputBytes, n as u64);
                b.add(Counter::ReadsProcessed, 1);
                b.add(Counter::EventLoopCycles, 1);
            });
            let shared = &self.client.shared;
            shared.net_in.store(shared.net_in.load(Relaxed) + n as u64, Relaxed);
            shared.last_interaction_ms.store(engine::util::now_ms(), Relaxed);

            let limit = if self.client.authenticated {
                engine.config.hot.client_query_buffer_limit.load(Relaxed) as usize
            } else {
                UNAUTH_QUERY_LIMIT
            };
            if buf.len() > limit {
                warning!(
                    "Closing client that reached max query buffer length: id={} addr={} qbuf={}",
                    self.client.id(),
                    self.client.shared.addr,
                    buf.len()
                );
                engine.stats.add(Counter::QueryBufferLimitDisconnections, 1);
                break;
            }

            let limits = Limits {
                proto_max_bulk_len: engine.config.hot.proto_max_bulk_len.load(Relaxed),
                auth_required: !self.client.authenticated,
            };
            let mut close = false;
            loop {
                match parser.parse(&buf, &limits) {
                    Parsed::Command => {
                        let argv: SmallVec<[&[u8]; 16]> = (0..parser.argc()).map(|i| parser.arg(&buf, i)).collect();
                        let mut waited = false;
                        let outcome = loop {
                            match execute(&engine, &mut self.client, &argv, &mut out) {
                                Outcome::Paused => {
                                    if !waited {
                                        // A client held by CLIENT PAUSE counts as blocked, as in
                                        // Valkey (INFO blocked_clients, flag `b`).
                                        waited = true;
                                        self.client.shared.flags.lock().blocked = true;
                                    }
                                    if !self.flush(&mut out).await {
                                        return;
                                    }
                                    let wait = engine.pause.remaining_ms().unwrap_or(1).clamp(1, 50);
                                    tokio::time::sleep(Duration::from_millis(wait)).await;
                                    if self.client.shared.killed.load(Relaxed) {
                                        return;
                                    }
                                }
                                other => break other,
                            }
                        };
                        if waited {
                            self.client.shared.flags.lock().blocked = false;
                        }
                        drop(argv);
                        parser.finish();
                        if outcome == Outcome::Close {
                            close = true;
                            break;
                        }
                        if out.len() >= FLUSH_THRESHOLD && !self.flush(&mut out).await {
                            return;
                        }
                    }
                    Parsed::Empty => {}
                    Parsed::Incomplete => break,
                    Parsed::Error(e) => {
                        out.error_bytes(&e.message());
                        for code in out.take_errors() {
                            engine.stats.record_error(&code);
                        }
                        verbose!(
                            "Protocol error ({}) from client: id={} addr={}",
                            e.log_reason(),
                            self.client.id(),
                            self.client.shared.addr
                        );
                        close = true;
                        break;
                    }
                }
            }
            let consumed = parser.consumed();
            if consumed > 0 {
                buf.drain(..consumed);
                parser.rebase(consumed);
            }
            if buf.is_empty() && buf.capacity() > 4 * READ_CHUNK {
                buf = Vec::with_capacity(READ_CHUNK);
            }
            self.client.shared.qbuf.store(buf.len(), Relaxed);
            self.client.shared.qbuf_free.store(buf.capacity() - buf.len(), Relaxed);
            let flushed = self.flush(&mut out).await;
            engine.stats.add(Counter::EventLoopUsec, cycle_started.elapsed().as_micros() as u64);
            if !flushed || close {
                break;
            }
        }
        let _ = self.stream.shutdown().await;
    }

    /// Reads into the spare capacity of `buf`. `None` when the connection is over (EOF,
    /// error, killed, idle timeout).
    async fn read(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
        loop {
            match self.stream.try_read_buf(buf) {
                Ok(0) => return None,
                Ok(n) => return Some(n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return None,
            }
            let timeout_secs = self.engine.config.hot.timeout_secs.load(Relaxed);
            let idle = async {
                if timeout_secs == 0 {
                    std::future::pending::<()>().await
                } else {
                    tokio::time::sleep(Duration::from_secs(timeout_secs)).await
                }
            };
            tokio::select! {
                r = self.stream.readable() => {
                    if r.is_err() {
                        return None;
                    }
                }
                _ = self.wake.notified() => {
                    if self.client.shared.killed.load(Relaxed) {
                        return None;
                    }
                }
                _ = idle => {
                    verbose!("Closing idle client id={}", self.client.id());
                    return None;
                }
            }
        }
    }

    /// Writes all pending replies. Returns false if the connection failed.
    async fn flush(&mut self, out: &mut Reply) -> bool {
        if out.is_empty() {
            return true;
        }
        let n = out.len();
        let shared = &self.client.shared;
        if self.reply_peak_reset.elapsed() >= REPLY_PEAK_RESET {
            self.reply_peak = 0;
            self.reply_peak_reset = Instant::now();
        }
        self.reply_peak = self.reply_peak.max(n);
        shared.reply_peak.store(self.reply_peak, Relaxed);
        let capacity = out.capacity();
        if capacity > shared.reply_capacity.load(Relaxed) && capacity > REPLY_BUFFER_BASE {
            self.engine.stats.add(Counter::ReplyBufferExpands, 1);
        }
        shared.reply_capacity.store(capacity, Relaxed);
        // While the client does not read, CLIENT LIST shows what is waiting for it.
        shared.obuf.store(n, Relaxed);
        let written = self.stream.write_all(out.as_bytes()).await.is_ok();
        shared.obuf.store(0, Relaxed);
        if !written {
            return false;
        }
        shared.net_out.store(shared.net_out.load(Relaxed) + n as u64, Relaxed);
        self.engine.stats.local(|b| {
            b.add(Counter::NetOutputBytes, n as u64);
            b.add(Counter::WritesProcessed, 1);
        });
        out.consume(n);
        out.shrink_if_idle();
        if out.capacity() < capacity {
            self.engine.stats.add(Counter::ReplyBufferShrinks, 1);
        }
        shared.reply_capacity.store(out.capacity(), Relaxed);
        true
    }
}
