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
use engine::scripting::inline::Inline;
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
/// How often a command waiting for a long script's shards tries again.
const SCRIPT_RETRY: Duration = Duration::from_millis(1);
/// Tries after yielding to the worker's other connections before waiting SCRIPT_RETRY.
const QUICK_SCRIPT_RETRIES: u32 = 16;

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
        side: Vec::new(),
        reply_peak: 0,
        reply_peak_reset: Instant::now(),
    };
    conn.run().await;
    // A closed connection's watches and subscriptions go with it.
    engine::commands::multi::unwatch_all(&engine, &mut conn.client);
    engine::commands::pubsub::unsubscribe_all(&engine, &mut conn.client);
    engine.tracking.disable(&conn.client.shared);
    engine.clients.unregister(id);
}

/// What woke a connection waiting for input.
enum Wake {
    /// The socket is readable (false: it failed).
    Readable(bool),
    /// The waker: killed, or pushes to write.
    Notified,
    IdleTimeout,
    /// Time to shrink an idle query buffer.
    Shrink,
}

/// How long the reply buffer peak (`rbp`) is remembered (Valkey's default
/// `reply_buffer_peak_reset_time`).
const REPLY_PEAK_RESET: Duration = Duration::from_secs(5);

struct Connection {
    engine: Arc<Engine>,
    stream: TcpStream,
    client: Client,
    wake: Arc<Notify>,
    /// What the client sent while blocked (BLPOP & co.): parsed once it is unblocked.
    side: Vec<u8>,
    reply_peak: usize,
    reply_peak_reset: Instant,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // No thread may write to the socket once it is closed (its descriptor may be reused).
        self.client.shared.mailbox.close();
    }
}

impl Connection {
    async fn run(&mut self) {
        let mut qb = QueryBuffer::default();
        let mut parser = RequestParser::new();
        let mut out = Reply::new(false);
        self.client.shared.reply_capacity.store(out.capacity(), Relaxed);
        let engine = self.engine.clone();
        loop {
            if self.client.shared.killed.load(Relaxed) {
                break;
            }
            let want = parser.bytes_needed_hint(qb.buf.len()).unwrap_or(0).max(READ_CHUNK);
            let n = match self.read(&mut qb, want).await {
                Some(0) => {
                    // Woken for pushes (pub/sub messages, invalidations) while idle.
                    self.client.shared.mailbox.drain_into(&mut out);
                    if !self.flush(&mut out).await {
                        break;
                    }
                    continue;
                }
                Some(n) => n,
                None => break,
            };
            qb.peak = qb.peak.max(qb.buf.len());
            let buf = &mut qb.buf;
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
            // Client eviction counts what was just read; CLIENT LIST goes on showing what was
            // left unparsed after the last batch (as Valkey shows what is left to parse).
            let (qbuf, qbuf_free) = (shared.qbuf.load(Relaxed), shared.qbuf_free.load(Relaxed));
            shared.qbuf.store(buf.len(), Relaxed);
            shared.qbuf_free.store(buf.capacity() - buf.len(), Relaxed);
            let evicted = !self.evict_clients();
            shared.qbuf.store(qbuf, Relaxed);
            shared.qbuf_free.store(qbuf_free, Relaxed);
            if evicted {
                break;
            }

            let limits = Limits {
                proto_max_bulk_len: engine.config.hot.proto_max_bulk_len.load(Relaxed),
                auth_required: !self.client.authenticated,
            };
            let mut close = false;
            loop {
                match parser.parse(buf, &limits) {
                    Parsed::Command => {
                        // Pushes produced by this batch's commands are sent when it ends (and
                        // before anything here awaits, so no other task's pushes wait on it).
                        engine::pubsub::begin_batch();
                        let argv: SmallVec<[&[u8]; 16]> = (0..parser.argc()).map(|i| parser.arg(buf, i)).collect();
                        let mut waited = false;
                        let mut script_waits = 0;
                        let outcome = loop {
                            let outcome = if engine::exec::runs_script(&self.client, &argv) {
                                match self.execute_script(&engine, &argv, &mut out).await {
                                    Some(o) => o,
                                    None => return,
                                }
                            } else {
                                execute(&engine, &mut self.client, &argv, &mut out)
                            };
                            match outcome {
                                Outcome::WaitScript => {
                                    // A script holds the script slot or the shards: let the
                                    // other connections of this thread run, and try again
                                    // (BUSY once the script passes busy-reply-threshold).
                                    // Most scripts take microseconds: the first tries come
                                    // right after the other connections' turn.
                                    self.take_pushes(&mut out);
                                    engine::pubsub::end_batch(&engine);
                                    if !self.flush(&mut out).await {
                                        return;
                                    }
                                    script_waits += 1;
                                    if script_waits <= QUICK_SCRIPT_RETRIES {
                                        tokio::task::yield_now().await;
                                    } else {
                                        tokio::time::sleep(SCRIPT_RETRY).await;
                                    }
                                    if self.client.shared.killed.load(Relaxed) {
                                        return;
                                    }
                                }
                                Outcome::Paused => {
                                    if !waited {
                                        // A client held by CLIENT PAUSE counts as blocked, as in
                                        // Valkey (INFO blocked_clients, flag `b`).
                                        waited = true;
                                        self.client.shared.flags.lock().blocked = true;
                                    }
                                    self.take_pushes(&mut out);
                                    engine::pubsub::end_batch(&engine);
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
                        // Pushes that arrived during the command (its own PUBLISH to a channel
                        // it subscribes to, an invalidation) follow its reply, as in Valkey.
                        self.take_pushes(&mut out);
                        if !matches!(outcome, Outcome::Continue) || out.len() >= FLUSH_THRESHOLD {
                            engine::pubsub::end_batch(&engine);
                        }
                        match outcome {
                            Outcome::Close => {
                                close = true;
                                break;
                            }
                            Outcome::Blocked(req) => {
                                if !self.flush(&mut out).await {
                                    return;
                                }
                                if !self.wait_blocked(&engine, req, &mut out).await {
                                    return;
                                }
                            }
                            Outcome::Replica(sink) => {
                                if self.flush(&mut out).await {
                                    self.stream_to_replica(&sink).await;
                                }
                                sink.close();
                                return;
                            }
                            Outcome::Continue | Outcome::Paused | Outcome::WaitScript => {}
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
            engine::pubsub::end_batch(&engine);
            let consumed = parser.consumed();
            if consumed > 0 {
                buf.drain(..consumed);
                parser.rebase(consumed);
            }
            let pending_bulk = parser.bytes_needed_hint(qb.buf.len()).map(|more| qb.buf.len() + more);
            qb.after_batch(&engine, pending_bulk);
            qb.publish(&self.client.shared);
            let flushed = self.flush(&mut out).await;
            engine.stats.add(Counter::EventLoopUsec, cycle_started.elapsed().as_micros() as u64);
            if !flushed || close {
                break;
            }
        }
        let _ = self.stream.shutdown().await;
    }

    /// Reads into the query buffer, allocating it only once the socket is readable. `None`
    /// when the connection is over (EOF, error, killed, idle timeout); `Some(0)` when pushes
    /// are waiting to be written. While waiting, a
    /// private buffer left idle is given back (see [`QueryBuffer`]).
    async fn read(&mut self, qb: &mut QueryBuffer, want: usize) -> Option<usize> {
        if !self.side.is_empty() {
            // Bytes that arrived while the client was blocked come first.
            let n = self.side.len();
            qb.buf.extend_from_slice(&self.side);
            self.side.clear();
            return Some(n);
        }
        loop {
            if self.client.shared.mailbox.pending() {
                return Some(0);
            }
            if qb.buf.capacity() > 0 {
                if qb.buf.capacity() - qb.buf.len() < want {
                    // A buffer holding a large argument grows by what the argument still
                    // needs, not by doubling: its capacity counts towards `maxmemory-clients`
                    // (and its last bytes would otherwise double it for nothing).
                    if qb.buf.len() >= READ_CHUNK {
                        qb.buf.reserve_exact(want);
                    } else {
                        qb.buf.reserve(want);
                    }
                }
                match self.stream.try_read_buf(&mut qb.buf) {
                    Ok(0) => return None,
                    Ok(n) => {
                        qb.retry_at = None;
                        return Some(n);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return None,
                }
            }
            qb.release_if_shared();
            let timeout_secs = self.engine.config.hot.timeout_secs.load(Relaxed);
            let idle = async {
                if timeout_secs == 0 {
                    std::future::pending::<()>().await
                } else {
                    tokio::time::sleep(Duration::from_secs(timeout_secs)).await
                }
            };
            let shrink_at = qb.idle_shrink_deadline(self.client.shared.last_interaction_ms.load(Relaxed));
            let shrink = async {
                match shrink_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending::<()>().await,
                }
            };
            // While parked, pushes for this client may be written to the socket directly by
            // the thread that produces them (see engine::pubsub::Mailbox).
            if !self.client.shared.mailbox.park(self.client.shared.fd) {
                return Some(0);
            }
            let event = tokio::select! {
                r = self.stream.readable() => Wake::Readable(r.is_ok()),
                _ = self.wake.notified() => Wake::Notified,
                _ = idle => Wake::IdleTimeout,
                _ = shrink => Wake::Shrink,
            };
            self.client.shared.mailbox.unpark();
            match event {
                Wake::Readable(false) => return None,
                Wake::Readable(true) => {
                    if qb.buf.capacity() == 0 {
                        qb.buf = pool_take(want);
                    }
                }
                Wake::Notified => {
                    if self.client.shared.killed.load(Relaxed) {
                        return None;
                    }
                }
                Wake::IdleTimeout => {
                    verbose!("Closing idle client id={}", self.client.id());
                    return None;
                }
                Wake::Shrink => {
                    if self.engine.cron_paused.load(Relaxed) {
                        qb.retry_shrink_later();
                    } else {
                        qb.shrink_idle();
                    }
                    qb.publish(&self.client.shared);
                }
            }
        }
    }

    /// Parks the client until a writer serves it, its timeout passes, CLIENT UNBLOCK releases
    /// it or it goes away; then writes what it gets into `out`. Returns false if the connection
    /// is over. Meanwhile, what the client sends is kept in `side` (and EOF noticed, so that a
    /// client that disconnects stops waiting and can never be served an element it would
    /// lose).
    async fn wait_blocked(&mut self, engine: &Engine, req: engine::blocking::BlockRequest, out: &mut Reply) -> bool {
        use engine::blocking::SlotState;
        let waiter = req.waiter;
        let slot = waiter.slot.clone();
        {
            let w = self.wake.clone();
            slot.set_waker(Box::new(move || w.notify_one()));
        }
        engine.blocked.register(self.client.id(), slot.clone());
        self.client.shared.flags.lock().blocked = true;
        let deadline = req.deadline_ms.map(|ms| {
            let now = engine::util::now_ms();
            tokio::time::Instant::now() + Duration::from_millis(ms.saturating_sub(now))
        });
        let limit = engine.config.hot.client_query_buffer_limit.load(Relaxed) as usize;
        let mut alive = true;
        let mut watch_socket = true;
        while slot.is_waiting() {
            let timeout = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending::<()>().await,
                }
            };
            if self.client.shared.mailbox.pending() {
                // A blocked RESP3 client still receives its pushes.
                let mut pushes = Reply::new(false);
                self.take_pushes(&mut pushes);
                if !self.flush(&mut pushes).await {
                    alive = false;
                    break;
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {
                    if self.client.shared.killed.load(Relaxed) {
                        alive = false;
                        break;
                    }
                }
                _ = timeout => {
                    slot.finish(SlotState::TimedOut);
                }
                r = self.stream.readable(), if watch_socket => {
                    if r.is_err() {
                        alive = false;
                        break;
                    }
                    if self.side.capacity() - self.side.len() < READ_CHUNK {
                        self.side.reserve(READ_CHUNK);
                    }
                    match self.stream.try_read_buf(&mut self.side) {
                        Ok(0) => {
                            alive = false;
                            break;
                        }
                        Ok(_) => {
                            if self.side.len() > limit {
                                // Stop reading; the kernel buffer applies back-pressure.
                                watch_socket = false;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(_) => {
                            alive = false;
                            break;
                        }
                    }
                }
            }
        }
        // A client that is going away must not be served after this point.
        if !alive {
            slot.finish(SlotState::TimedOut);
        }
        // The flag goes before the slot: INFO counts a flagged client without a slot as
        // blocked (CLIENT PAUSE), so the other order would count it again for a moment.
        self.client.shared.flags.lock().blocked = false;
        engine.blocked.unregister(self.client.id(), &slot);
        engine.unblock_cleanup(&waiter);
        if !alive {
            return false;
        }
        match slot.state() {
            SlotState::Served(bytes) => out.raw(&bytes),
            SlotState::TimedOut => (waiter.timeout_reply)(out),
            SlotState::UnblockedWithError => out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK"),
            SlotState::Waiting => unreachable!("left the wait loop while still waiting"),
        }
        true
    }

    /// Feeds a replica: everything the propagation sink receives is written as it arrives.
    /// What the replica sends (REPLCONF ACKs) is read and ignored; EOF or a write error ends
    /// the stream.
    async fn stream_to_replica(&mut self, sink: &engine::propagate::Sink) {
        {
            let w = self.wake.clone();
            sink.set_waker(Box::new(move || w.notify_one()));
        }
        self.client.shared.flags.lock().replica = true;
        let mut scratch = vec![0u8; READ_CHUNK];
        loop {
            let pending = sink.take();
            if !pending.is_empty() {
                if self.stream.write_all(&pending).await.is_err() {
                    return;
                }
                continue;
            }
            tokio::select! {
                _ = self.wake.notified() => {
                    if self.client.shared.killed.load(Relaxed) {
                        return;
                    }
                }
                r = self.stream.readable() => {
                    if r.is_err() {
                        return;
                    }
                    match self.stream.try_read(&mut scratch) {
                        Ok(0) => return,
                        // Its REPLCONF ACKs: it is alive (min-replicas-to-write).
                        Ok(_) => self.engine.replica.acked(sink),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(_) => return,
                    }
                }
            }
        }
    }

    /// Runs a command that runs a script (see `engine::exec::runs_script`) on this thread, in
    /// a coroutine (`engine::scripting::inline`); if its script runs long, the rest of it
    /// runs on a thread of the worker's blocking pool while this event loop goes on serving
    /// its other connections: they get BUSY once the script passes busy-reply-threshold, and
    /// their SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE are heard. This connection waits
    /// for the script before its next command, so replies stay in order. The client state and
    /// the reply buffer move into the coroutine and back (the buffer keeps the replies before
    /// the script's). `None` if the run panicked: the connection is then closed.
    async fn execute_script(&mut self, engine: &Arc<Engine>, argv: &[&[u8]], out: &mut Reply) -> Option<Outcome> {
        let stand_in = Client::new(self.client.shared.clone(), self.client.authenticated);
        let client = std::mem::replace(&mut self.client, stand_in);
        let reply = std::mem::take(out);
        let (client, reply, outcome) = match engine::scripting::inline::execute_inline(engine, client, argv, reply)? {
            Inline::Done(client, reply, outcome) => (client, reply, outcome),
            Inline::Escaped(rest) => {
                // Pushes this batch produced so far are not held back by the script.
                engine::pubsub::end_batch(engine);
                let joined = tokio::task::spawn_blocking(move || rest.finish()).await;
                engine::pubsub::begin_batch();
                joined.ok()?
            }
        };
        self.client = client;
        *out = reply;
        Some(outcome)
    }

    /// Moves pushes waiting in the client's mailbox to the end of `out`.
    fn take_pushes(&self, out: &mut Reply) {
        let mailbox = &self.client.shared.mailbox;
        if mailbox.pending() {
            mailbox.drain_into(out);
        }
    }

    /// Writes `bytes` whole, unless the client is killed meanwhile (a subscriber that stopped
    /// reading is closed by its output buffer limit while this task waits for the socket).
    async fn write_all(&self, bytes: &[u8]) -> bool {
        let mut off = 0;
        while off < bytes.len() {
            match self.stream.try_write(&bytes[off..]) {
                Ok(n) => off += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    tokio::select! {
                        r = self.stream.writable() => {
                            if r.is_err() {
                                return false;
                            }
                        }
                        _ = self.wake.notified() => {
                            if self.client.shared.killed.load(Relaxed) {
                                return false;
                            }
                        }
                    }
                }
                Err(_) => return false,
            }
        }
        true
    }

    /// Writes all pending replies. Returns false if the connection failed. With
    /// `appendfsync always`, replies wait until every write appended so far is fsynced (group
    /// commit: the AOF writer's one fsync releases every connection waiting).
    /// Client eviction (`maxmemory-clients`) after this client's memory changed; false if
    /// this client was disconnected.
    fn evict_clients(&self) -> bool {
        self.engine.evict_clients(Some(&self.client.shared))
    }

    async fn flush(&mut self, out: &mut Reply) -> bool {
        if out.is_empty() {
            return true;
        }
        if let Some(point) = self.engine.aof.durable_point() {
            DurableWait { aof: &self.engine.aof, point }.await;
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
        if !self.evict_clients() {
            return false;
        }
        let written = self.write_all(out.as_bytes()).await;
        shared.obuf.store(0, Relaxed);
        if !written {
            return false;
        }
        // Other threads add what they write to an idle connection directly (pub/sub).
        shared.net_out.fetch_add(n as u64, Relaxed);
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

/// Waits until the AOF is fsynced up to a point (or the AOF is switched off).
struct DurableWait<'a> {
    aof: &'a engine::aof::Aof,
    point: engine::aof::Durable,
}

impl std::future::Future for DurableWait<'_> {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.aof.reached(self.point, cx.waker()) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }
}

/// Unused query buffer space above which an idle buffer is worth shrinking (Valkey: 4 KiB).
const QBUF_WASTE_MIN: usize = 4 * 1024;
/// Buffers above this size shrink toward their recent peak (Valkey's PROTO_RESIZE_THRESHOLD).
const QBUF_RESIZE_THRESHOLD: usize = 32 * 1024;
/// Seconds of inactivity after which a private buffer is given back (Valkey: idle > 2 s).
const QBUF_IDLE: Duration = Duration::from_secs(3);

/// A connection's query buffer, managed as Valkey 8 manages its own: a client that sends whole
/// commands holds no buffer between reads (its buffer is freed once drained, like Valkey's
/// shared query buffer); a client with a partial command keeps a private buffer, which shrinks
/// toward its recent peak when it is much larger, and is given back after the client is idle
/// for a while. So thousands of idle connections cost no query buffer memory.
/// Read buffers not owned by any client, per worker thread. A client borrows one for a
/// read and gives it back once the batch is done (unless it holds a partial command), so an
/// idle client holds no query buffer (as with Valkey 8's shared query buffer) without an
/// allocation and a free per request.
mod pool {
    use std::cell::RefCell;

    /// Buffers kept per thread, and the largest one worth keeping.
    const KEEP: usize = 8;
    const MAX_POOLED: usize = 64 * 1024;

    thread_local! {
        static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    pub fn take(want: usize) -> Vec<u8> {
        let pooled = FREE.with(|f| f.borrow_mut().pop());
        match pooled {
            Some(mut b) => {
                b.reserve(want);
                b
            }
            None => Vec::with_capacity(want),
        }
    }

    pub fn give(mut b: Vec<u8>) {
        if b.capacity() == 0 || b.capacity() > MAX_POOLED {
            return;
        }
        b.clear();
        FREE.with(|f| {
            let mut f = f.borrow_mut();
            if f.len() < KEEP {
                f.push(b);
            }
        });
    }
}

use pool::{give as pool_give, take as pool_take};

#[derive(Default)]
struct QueryBuffer {
    buf: Vec<u8>,
    /// Kept between reads (a command arrived in pieces).
    private: bool,
    /// Most bytes held since the last resize check.
    peak: usize,
    last_check: Option<Instant>,
    /// Deferred idle shrink while DEBUG PAUSE-CRON holds the periodic work.
    retry_at: Option<tokio::time::Instant>,
}

impl QueryBuffer {
    /// After a batch: decide between giving the buffer back and keeping it, and resize a
    /// kept buffer that is far above its recent peak. `pending_bulk` is the size the buffer
    /// must keep for a bulk argument being received.
    fn after_batch(&mut self, engine: &Engine, pending_bulk: Option<usize>) {
        if self.buf.is_empty() && !self.private {
            pool_give(std::mem::take(&mut self.buf));
            return;
        }

        if !self.buf.is_empty() {
            self.private = true;
        }
        let hz = u64::from(engine.config.hot.hz.load(Relaxed).max(1));
        let due = self.last_check.is_none_or(|t| t.elapsed() >= Duration::from_millis(1000 / hz));
        if !due || engine.cron_paused.load(Relaxed) {
            return;
        }
        self.last_check = Some(Instant::now());
        let (len, cap) = (self.buf.len(), self.buf.capacity());
        if cap - len > QBUF_WASTE_MIN && cap > QBUF_RESIZE_THRESHOLD && cap / 2 > self.peak {
            let target = len.max(self.peak).max(pending_bulk.unwrap_or(0));
            self.buf.shrink_to(target);
        }
        self.peak = self.buf.len().max(pending_bulk.unwrap_or(0));
    }

    /// A buffer borrowed for one read that found nothing is given back at once.
    fn release_if_shared(&mut self) {
        if !self.private && self.buf.is_empty() && self.buf.capacity() > 0 {
            pool_give(std::mem::take(&mut self.buf));
        }
    }

    /// When an idle private buffer should be shrunk, if it wastes enough to bother.
    fn idle_shrink_deadline(&self, last_interaction_ms: u64) -> Option<tokio::time::Instant> {
        if !self.private || self.buf.capacity() - self.buf.len() <= QBUF_WASTE_MIN {
            return None;
        }
        if let Some(at) = self.retry_at {
            return Some(at);
        }
        let idle_ms = engine::util::now_ms().saturating_sub(last_interaction_ms);
        let left = QBUF_IDLE.saturating_sub(Duration::from_millis(idle_ms));
        Some(tokio::time::Instant::now() + left)
    }

    fn retry_shrink_later(&mut self) {
        self.retry_at = Some(tokio::time::Instant::now() + Duration::from_millis(100));
    }

    /// The client has been idle: free the buffer, or fit it to what it holds.
    fn shrink_idle(&mut self) {
        self.retry_at = None;
        if self.buf.is_empty() {
            self.buf = Vec::new();
            self.private = false;
        } else {
            self.buf.shrink_to_fit();
        }
        self.peak = self.buf.len();
    }

    /// Shows the buffer in CLIENT LIST (`qbuf`, `qbuf-free`).
    fn publish(&self, shared: &ClientShared) {
        shared.qbuf.store(self.buf.len(), Relaxed);
        shared.qbuf_free.store(self.buf.capacity() - self.buf.len(), Relaxed);
    }
}
