//! Pub/Sub delivery: who is subscribed to what, and how a message reaches a connection on
//! any worker thread.
//!
//! Every connection has a [`Mailbox`] (in its `ClientShared`): a byte buffer of encoded push
//! frames that any thread may append to, and that the connection's own task moves into its
//! reply stream between two commands (so a client's own PUBLISH reply comes before the
//! message it receives, as in Valkey 7.2+) or as soon as it is woken while idle.
//!
//! The [`Hub`] maps channels, shard channels and patterns to their subscribers. Channels are
//! spread over [`HUB_SHARDS`] mutexes by hash; a message is appended to every subscriber's
//! mailbox while the channel's mutex is held, so all subscribers of a channel see its messages
//! in the same order, and one publisher's messages arrive in publish order. Pattern
//! subscriptions are one list under one mutex, matched against every published channel.
//!
//! Slow consumers: a mailbox that grows past its client class's `client-output-buffer-limit`
//! (hard, or soft for longer than its seconds) gets its client killed and its bytes dropped,
//! so a subscriber that never reads costs at most the limit and never slows the publisher.

use crate::client::{ClientShared, ClientType};
use crate::engine::Engine;
use crate::notify;
use crate::stats::Counter;
use crate::util::glob::glob_match;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// Mutexes the channel tables are spread over.
pub const HUB_SHARDS: usize = 64;

/// A connection's incoming pushes.
#[derive(Default)]
pub struct Mailbox {
    inner: Mutex<Inbox>,
    pending: AtomicBool,
    /// Bytes waiting (for CLIENT LIST `omem` and the output buffer limits).
    bytes: AtomicUsize,
    /// When the client first went over its soft limit (0 = it is not over).
    soft_since_ms: AtomicU64,
}

#[derive(Default)]
struct Inbox {
    buf: Vec<u8>,
    /// The connection's socket while its task waits for input with nothing left to write:
    /// then a push may be written to the socket at once by the thread that produced it,
    /// instead of waking the task (a wake-up across threads costs more than the write).
    idle_fd: Option<i32>,
    /// In some thread's batch list: that batch's end sends everything queued here.
    scheduled: bool,
}

/// Buffers bigger than this are freed, not kept, once drained.
const MAILBOX_KEEP: usize = 64 * 1024;

impl Mailbox {
    /// Whether anything is waiting: one relaxed load, checked after every command.
    #[inline]
    pub fn pending(&self) -> bool {
        self.pending.load(Relaxed)
    }

    pub fn bytes(&self) -> usize {
        self.bytes.load(Relaxed)
    }

    /// Moves everything waiting to the end of `out`.
    pub fn drain_into(&self, out: &mut resp::Reply) {
        let mut inner = self.inner.lock();
        out.raw(&inner.buf);
        inner.buf.clear();
        if inner.buf.capacity() > MAILBOX_KEEP {
            inner.buf = Vec::new();
        }
        self.bytes.store(0, Relaxed);
        self.pending.store(false, Relaxed);
    }

    /// The connection's task is about to wait for input, with everything written: pushes may
    /// go straight to `fd` until [`Mailbox::unpark`]. False (and nothing changes) if pushes
    /// are already waiting.
    pub fn park(&self, fd: i32) -> bool {
        let mut inner = self.inner.lock();
        if !inner.buf.is_empty() {
            return false;
        }
        inner.idle_fd = Some(fd);
        true
    }

    /// The task woke up: from now on pushes are queued for it, after anything already
    /// written.
    pub fn unpark(&self) {
        self.inner.lock().idle_fd = None;
    }

    /// The connection is closing (or was dropped for its output limit): nothing more is
    /// written to its socket, and what waits is dropped.
    pub fn close(&self) {
        let mut inner = self.inner.lock();
        inner.idle_fd = None;
        inner.buf = Vec::new();
        self.bytes.store(0, Relaxed);
        self.pending.store(false, Relaxed);
    }

    /// Queues a frame; returns the bytes now queued, and whether the caller's batch must now
    /// send them (`in_batch`, and no batch had them yet).
    fn append(&self, frame: &[u8], as_push: bool, in_batch: bool) -> (usize, bool) {
        let mut inner = self.inner.lock();
        let start = inner.buf.len();
        inner.buf.extend_from_slice(frame);
        if as_push {
            // Frames are encoded as RESP2 arrays; a RESP3 push differs only in its type byte.
            inner.buf[start] = b'>';
        }
        let queued = inner.buf.len();
        self.bytes.store(queued, Relaxed);
        self.pending.store(true, Relaxed);
        let schedule = in_batch && !inner.scheduled;
        inner.scheduled |= schedule;
        (queued, schedule)
    }

    /// Writes what is queued straight to the socket if the connection is parked; returns
    /// the bytes written and whether anything is left for the connection's task.
    fn write_if_parked(&self) -> (usize, bool) {
        let mut inner = self.inner.lock();
        inner.scheduled = false;
        let Some(fd) = inner.idle_fd else { return (0, !inner.buf.is_empty()) };
        if inner.buf.is_empty() {
            return (0, false);
        }
        // SAFETY: `fd` is the connection's open socket: `idle_fd` is set only while the
        // connection's task is parked holding the socket, and cleared under this lock
        // (unpark, close) before the task uses or drops the socket again. The buffer is
        // valid for its length. MSG_NOSIGNAL: a closed peer is an error return, not
        // SIGPIPE; MSG_DONTWAIT: the writing thread never blocks.
        let n = unsafe {
            libc::send(fd, inner.buf.as_ptr().cast(), inner.buf.len(), libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT)
        };
        let written = if n > 0 { n as usize } else { 0 };
        inner.buf.drain(..written);
        let left = inner.buf.len();
        if left == 0 && inner.buf.capacity() > MAILBOX_KEEP {
            inner.buf = Vec::new();
        }
        self.bytes.store(left, Relaxed);
        self.pending.store(left > 0, Relaxed);
        (written, left > 0)
    }
}

/// Clients given pushes by the batch of commands this thread is running: written (or their
/// connections woken) once, when the batch ends, so a pipeline of PUBLISHes reaches each
/// subscriber in one write, like Valkey's writes before it sleeps.
mod batch {
    use crate::client::ClientShared;
    use std::cell::{Cell, RefCell};
    use std::sync::Arc;

    thread_local! {
        pub static OPEN: Cell<bool> = const { Cell::new(false) };
        pub static TOUCHED: RefCell<Vec<Arc<ClientShared>>> = const { RefCell::new(Vec::new()) };
    }
}

/// Marks the start of a batch of commands on this thread (the server's connection loop);
/// pushes are then sent at [`end_batch`].
pub fn begin_batch() {
    batch::OPEN.with(|o| o.set(true));
}

/// Sends the pushes the batch produced: to a parked connection straight to its socket (no
/// wake-up across threads), otherwise by waking its task.
pub fn end_batch(engine: &Engine) {
    batch::OPEN.with(|o| o.set(false));
    // Outside the batch now, so sending cannot add to the list while it is drained.
    batch::TOUCHED.with(|t| {
        for c in t.borrow_mut().drain(..) {
            send_or_wake(engine, &c);
        }
    });
}

fn send_or_wake(engine: &Engine, client: &ClientShared) {
    let (written, left) = client.mailbox.write_if_parked();
    if written > 0 {
        client.net_out.fetch_add(written as u64, Relaxed);
        engine.stats.add(Counter::NetOutputBytes, written as u64);
    }
    if left {
        if let Some(w) = client.waker.lock().as_ref() {
            w();
        }
    }
}

/// Hands an encoded frame (RESP2 array form) to `client`: queued in its mailbox, and sent
/// when the current batch of commands ends (or at once outside a batch); enforces its output
/// buffer limit. Returns false if the client is gone or was disconnected for it.
pub fn deliver(engine: &Engine, client: &Arc<ClientShared>, frame: &[u8]) -> bool {
    let resp3 = client.resp.load(Relaxed) >= 3;
    enqueue(engine, client, frame, resp3)
}

/// Like [`deliver`], for a frame already encoded for the client's protocol.
pub fn deliver_raw(engine: &Engine, client: &Arc<ClientShared>, frame: &[u8]) -> bool {
    enqueue(engine, client, frame, false)
}

fn enqueue(engine: &Engine, client: &Arc<ClientShared>, frame: &[u8], as_push: bool) -> bool {
    if client.killed.load(Relaxed) || client.closed.load(Relaxed) {
        return false;
    }
    let in_batch = batch::OPEN.with(|o| o.get());
    let (queued, schedule) = client.mailbox.append(frame, as_push, in_batch);
    if !within_output_limit(engine, client, queued) {
        return false;
    }
    if !in_batch {
        send_or_wake(engine, client);
    } else if schedule {
        batch::TOUCHED.with(|t| t.borrow_mut().push(client.clone()));
    }
    true
}

/// Valkey's `checkClientOutputBufferLimits` for what is queued for `client`: over the hard
/// limit, or over the soft limit for longer than its seconds, closes the client.
fn within_output_limit(engine: &Engine, client: &ClientShared, queued: usize) -> bool {
    let class = if client.subscriptions() > 0 { ClientType::Pubsub } else { ClientType::Normal };
    let limit = engine.config.hot.output_limit(class);
    let used = queued + client.obuf.load(Relaxed);
    let hard = limit.hard > 0 && used as u64 >= limit.hard;
    let mut soft = limit.soft > 0 && used as u64 >= limit.soft;
    let mb = &client.mailbox;
    if soft {
        let now = crate::util::now_ms();
        let since = mb.soft_since_ms.load(Relaxed);
        if since == 0 {
            mb.soft_since_ms.store(now, Relaxed);
            soft = false;
        } else if now.saturating_sub(since) / 1000 <= limit.soft_secs {
            soft = false;
        }
    } else if mb.soft_since_ms.load(Relaxed) != 0 {
        mb.soft_since_ms.store(0, Relaxed);
    }
    if !hard && !soft {
        return true;
    }
    engine.log(
        crate::engine::LogLevel::Warning,
        &format!(
            "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
            client.id, client.addr
        ),
    );
    engine.stats.add(Counter::OutputBufferLimitDisconnections, 1);
    client.mailbox.close();
    client.kill();
    false
}

/// The three kinds of subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

type Subscribers = Vec<Arc<ClientShared>>;
type ChannelMap = HashMap<Vec<u8>, Subscribers, foldhash::fast::RandomState>;

struct Table {
    shards: Box<[Mutex<ChannelMap>]>,
    /// Distinct names with at least one subscriber.
    count: AtomicUsize,
}

impl Table {
    fn new() -> Table {
        Table { shards: (0..HUB_SHARDS).map(|_| Mutex::new(HashMap::default())).collect(), count: AtomicUsize::new(0) }
    }

    fn shard(&self, name: &[u8]) -> &Mutex<ChannelMap> {
        &self.shards[(crate::keyspace::hash_key(name) as usize) % HUB_SHARDS]
    }

    fn add(&self, name: &[u8], client: &Arc<ClientShared>) {
        let mut map = self.shard(name).lock();
        let subs = map.entry(name.to_vec()).or_insert_with(|| {
            self.count.fetch_add(1, Relaxed);
            Vec::new()
        });
        subs.push(client.clone());
    }

    fn remove(&self, name: &[u8], id: u64) {
        let mut map = self.shard(name).lock();
        if let Some(subs) = map.get_mut(name) {
            subs.retain(|c| c.id != id);
            if subs.is_empty() {
                map.remove(name);
                self.count.fetch_sub(1, Relaxed);
            }
        }
    }

    fn subscribers(&self, name: &[u8]) -> usize {
        self.shard(name).lock().get(name).map_or(0, Vec::len)
    }

    /// Names matching `pattern` (all with `None`).
    fn names(&self, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            for name in shard.lock().keys() {
                if pattern.is_none_or(|p| glob_match(p, name, false)) {
                    out.push(name.clone());
                }
            }
        }
        out
    }
}

/// Every subscription in the server.
pub struct Hub {
    channels: Table,
    shard_channels: Table,
    /// Patterns in subscription order, each with its subscribers.
    patterns: Mutex<Vec<(Vec<u8>, Subscribers)>>,
    pattern_count: AtomicUsize,
    /// Subscriptions of every kind: zero means nothing can be delivered (publishing keyspace
    /// events then costs one load).
    total: AtomicUsize,
}

impl Default for Hub {
    fn default() -> Hub {
        Hub {
            channels: Table::new(),
            shard_channels: Table::new(),
            patterns: Mutex::new(Vec::new()),
            pattern_count: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
        }
    }
}

/// A message, encoded once for all its receivers.
fn message_frame(kind: &[u8], channel: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(32 + channel.len() + msg.len());
    f.extend_from_slice(b"*3\r\n");
    bulk(&mut f, kind);
    bulk(&mut f, channel);
    bulk(&mut f, msg);
    f
}

/// Appends a RESP bulk string (frames are built by hand, once per message).
pub(crate) fn bulk(f: &mut Vec<u8>, data: &[u8]) {
    f.push(b'$');
    f.extend_from_slice(itoa::Buffer::new().format(data.len()).as_bytes());
    f.extend_from_slice(b"\r\n");
    f.extend_from_slice(data);
    f.extend_from_slice(b"\r\n");
}

impl Hub {
    pub fn is_empty(&self) -> bool {
        self.total.load(Relaxed) == 0
    }

    pub fn subscribe(&self, kind: Kind, name: &[u8], client: &Arc<ClientShared>) {
        match kind {
            Kind::Channel => self.channels.add(name, client),
            Kind::Shard => self.shard_channels.add(name, client),
            Kind::Pattern => {
                let mut pats = self.patterns.lock();
                match pats.iter_mut().find(|(p, _)| p == name) {
                    Some((_, subs)) => subs.push(client.clone()),
                    None => {
                        pats.push((name.to_vec(), vec![client.clone()]));
                        self.pattern_count.fetch_add(1, Relaxed);
                    }
                }
            }
        }
        self.total.fetch_add(1, Relaxed);
    }

    pub fn unsubscribe(&self, kind: Kind, name: &[u8], id: u64) {
        match kind {
            Kind::Channel => self.channels.remove(name, id),
            Kind::Shard => self.shard_channels.remove(name, id),
            Kind::Pattern => {
                let mut pats = self.patterns.lock();
                if let Some(i) = pats.iter().position(|(p, _)| p == name) {
                    pats[i].1.retain(|c| c.id != id);
                    if pats[i].1.is_empty() {
                        pats.remove(i);
                        self.pattern_count.fetch_sub(1, Relaxed);
                    }
                }
            }
        }
        self.total.fetch_sub(1, Relaxed);
    }

    /// PUBLISH / SPUBLISH: delivers `msg` to the channel's subscribers (and, for ordinary
    /// channels, to every matching pattern's) and returns how many received it.
    pub fn publish(&self, engine: &Engine, shard: bool, channel: &[u8], msg: &[u8]) -> usize {
        if self.is_empty() {
            return 0;
        }
        let mut receivers = 0;
        let (table, kind): (&Table, &[u8]) =
            if shard { (&self.shard_channels, b"smessage") } else { (&self.channels, b"message") };
        {
            let map = table.shard(channel).lock();
            if let Some(subs) = map.get(channel) {
                let frame = message_frame(kind, channel, msg);
                for c in subs {
                    deliver(engine, c, &frame);
                    receivers += 1;
                }
            }
        }
        if !shard && self.pattern_count.load(Relaxed) > 0 {
            let pats = self.patterns.lock();
            for (pattern, subs) in pats.iter() {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                let mut frame = Vec::with_capacity(48 + pattern.len() + channel.len() + msg.len());
                frame.extend_from_slice(b"*4\r\n");
                bulk(&mut frame, b"pmessage");
                bulk(&mut frame, pattern);
                bulk(&mut frame, channel);
                bulk(&mut frame, msg);
                for c in subs {
                    deliver(engine, c, &frame);
                    receivers += 1;
                }
            }
        }
        receivers
    }

    /// Publishes one keyspace event on `__keyspace@<db>__:<key>` and/or
    /// `__keyevent@<db>__:<event>`, as the configured flags ask (Valkey's
    /// `notifyKeyspaceEvent`). The caller checked that the event's class is enabled.
    pub fn keyspace_event(&self, engine: &Engine, flags: u32, event: &str, db: usize, key: &[u8]) {
        if self.is_empty() {
            return;
        }
        let mut db_buf = itoa::Buffer::new();
        let db = db_buf.format(db).as_bytes();
        if flags & notify::KEYSPACE != 0 {
            let mut chan = Vec::with_capacity(16 + db.len() + key.len());
            chan.extend_from_slice(b"__keyspace@");
            chan.extend_from_slice(db);
            chan.extend_from_slice(b"__:");
            chan.extend_from_slice(key);
            self.publish(engine, false, &chan, event.as_bytes());
        }
        if flags & notify::KEYEVENT != 0 {
            let mut chan = Vec::with_capacity(16 + db.len() + event.len());
            chan.extend_from_slice(b"__keyevent@");
            chan.extend_from_slice(db);
            chan.extend_from_slice(b"__:");
            chan.extend_from_slice(event.as_bytes());
            self.publish(engine, false, &chan, key);
        }
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS.
    pub fn channel_names(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        if shard {
            self.shard_channels.names(pattern)
        } else {
            self.channels.names(pattern)
        }
    }

    /// PUBSUB NUMSUB / SHARDNUMSUB for one channel.
    pub fn subscriber_count(&self, shard: bool, channel: &[u8]) -> usize {
        if shard {
            self.shard_channels.subscribers(channel)
        } else {
            self.channels.subscribers(channel)
        }
    }

    /// Distinct channels, patterns and shard channels with subscribers (INFO, PUBSUB NUMPAT).
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.channels.count.load(Relaxed), self.pattern_count.load(Relaxed), self.shard_channels.count.load(Relaxed))
    }
}
