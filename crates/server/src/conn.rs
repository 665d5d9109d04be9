//! One client connection: read requests, run them, write replies.
//!
//! The loop reads whatever the socket has, runs every complete request in the buffer
//! (a pipeline of thousands runs in one pass), and writes all replies with one `write`.
//! Replies are flushed early only when they pass 64 KiB, which also means a client that stops
//! reading stops being served instead of making the server buffer without bound.
//! The query buffer is bounded by `client-query-buffer-limit` (1 MiB before authentication).

use crate::log::{verbose, warning};
use engine::client::Client;
use engine::exec::{execute, Outcome};
use engine::stats::Counter;
use engine::Engine;
use resp::{Limits, Parsed, Reply, RequestParser};
use smallvec::SmallVec;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Reads are at least this big (Valkey's PROTO_IOBUF_LEN).
const READ_CHUNK: usize = 16 * 1024;
/// Replies are flushed mid-batch past this size.
const FLUSH_THRESHOLD: usize = 64 * 1024;
/// Query buffer allowed to a client that has not authenticated yet.
const UNAUTH_QUERY_LIMIT: usize = 1024 * 1024;

pub async fn serve(engine: Arc<Engine>, stream: TcpStream) {
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "?:0".into());
    let local = stream.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| "?:0".into());
    let fd = {
        use std::os::fd::AsRawFd;
        stream.as_raw_fd()
    };
    let shared = engine.clients.register(peer, local, fd);
    let wake = Arc::new(Notify::new());
    {
        let w = wake.clone();
        *shared.waker.lock() = Some(Box::new(move || w.notify_one()));
    }
    let id = shared.id;
    let authenticated = !engine.config.hot.requirepass_set.load(Relaxed);
    let mut conn = Connection { engine: engine.clone(), stream, client: Client::new(shared, authenticated), wake };
    conn.run().await;
    engine.clients.unregister(id);
}

struct Connection {
    engine: Arc<Engine>,
    stream: TcpStream,
    client: Client,
    wake: Arc<Notify>,
}

impl Connection {
    async fn run(&mut self) {
        let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
        let mut parser = RequestParser::new();
        let mut out = Reply::new(false);
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
            engine.stats.local(|b| {
                b.add(Counter::NetInputBytes, n as u64);
                b.add(Counter::ReadsProcessed, 1);
            });
            self.client.shared.last_interaction_ms.store(engine::util::now_ms(), Relaxed);

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
                        let outcome = loop {
                            match execute(&engine, &mut self.client, &argv, &mut out) {
                                Outcome::Paused => {
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
            if !self.flush(&mut out).await || close {
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
        if self.stream.write_all(out.as_bytes()).await.is_err() {
            return false;
        }
        self.engine.stats.local(|b| {
            b.add(Counter::NetOutputBytes, n as u64);
            b.add(Counter::WritesProcessed, 1);
        });
        out.consume(n);
        out.shrink_if_idle();
        true
    }
}
