//! Client state: what the engine keeps about a connection.
//!
//! [`Client`] is owned by the connection's task and passed to every command. The part other
//! threads need to see — for CLIENT LIST, CLIENT KILL, INFO clients — is [`ClientShared`],
//! registered in the engine's [`ClientRegistry`]; its frequently changing fields are atomics
//! written with plain stores, so keeping it current costs nothing measurable.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// CLIENT REPLY modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// Currently skipping (set from SkipNext for the command after CLIENT REPLY SKIP).
    Skip,
}

/// Everything other threads may read about a client.
pub struct ClientShared {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub created_ms: u64,
    pub last_interaction_ms: AtomicU64,
    pub db: AtomicUsize,
    /// Table id of the last command run, +1 (0 = none yet).
    pub last_cmd: AtomicUsize,
    pub resp: AtomicUsize,
    /// Bytes in the query buffer not yet run (`qbuf`) and its spare capacity (`qbuf-free`).
    pub qbuf: AtomicUsize,
    pub qbuf_free: AtomicUsize,
    /// Reply bytes waiting to be written (`obl`/`omem`).
    pub obuf: AtomicUsize,
    /// Capacity of the reply buffer (`rbs`) and the most it held recently (`rbp`).
    pub reply_capacity: AtomicUsize,
    pub reply_peak: AtomicUsize,
    /// Bytes of the arguments of the command being run (`argv-mem`).
    pub argv_mem: AtomicUsize,
    /// Bytes read from and written to the connection, and commands run (`tot-net-in`,
    /// `tot-net-out`, `tot-cmds`).
    pub net_in: AtomicU64,
    pub net_out: AtomicU64,
    pub commands: AtomicU64,
    /// Subscriptions (`sub`, `psub`, `ssub`), queued MULTI commands (`multi`, -1 outside
    /// MULTI) and watched keys (`watch`), kept by the families that implement them.
    pub sub: AtomicUsize,
    pub psub: AtomicUsize,
    pub ssub: AtomicUsize,
    pub multi: AtomicI64,
    /// Bytes of the commands queued in MULTI (`multi-mem`: arguments plus a pointer each).
    pub multi_mem: AtomicUsize,
    pub watch: AtomicUsize,
    pub flags: Mutex<ClientFlags>,
    pub name: Mutex<Option<Vec<u8>>>,
    pub lib_name: Mutex<Option<Vec<u8>>>,
    pub lib_ver: Mutex<Option<Vec<u8>>>,
    /// Set by CLIENT KILL; the connection closes as soon as it notices.
    pub killed: AtomicBool,
    /// The connection is gone (unregistered): nothing more is delivered to it.
    pub closed: AtomicBool,
    /// What this client adds to [`ClientRegistry`]'s running total of client memory (kept
    /// only while `maxmemory-clients` is set).
    pub accounted: AtomicUsize,
    /// CLIENT TRACKING settings, read by whoever sends this client invalidations.
    pub tracking: Mutex<crate::tracking::TrackingState>,
    /// Pushes for this client (pub/sub messages, tracking invalidations) from any thread.
    pub mailbox: crate::pubsub::Mailbox,
    /// Wakes the connection's task (set by the server): a killed idle client closes now, a
    /// client with new pushes writes them.
    pub waker: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct ClientFlags {
    pub no_evict: bool,
    pub no_touch: bool,
    pub close_after_reply: bool,
    /// A replica connection (or MONITOR, with `monitor`).
    pub replica: bool,
    pub monitor: bool,
    /// The connection to our primary.
    pub primary: bool,
    /// In RESP2 subscribed mode.
    pub pubsub: bool,
    pub multi: bool,
    pub blocked: bool,
    pub tracking: bool,
    /// A WATCHed key was modified.
    pub dirty_cas: bool,
    pub readonly: bool,
}

/// Client classes (CLIENT LIST TYPE, CLIENT KILL TYPE, client-output-buffer-limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientType {
    Normal,
    Replica,
    Pubsub,
    Primary,
}

impl ClientType {
    /// Parses Valkey's type names (`slave` and `master` are the old names).
    pub fn parse(name: &[u8]) -> Option<ClientType> {
        let n = name.to_ascii_lowercase();
        Some(match n.as_slice() {
            b"normal" => ClientType::Normal,
            b"slave" | b"replica" => ClientType::Replica,
            b"pubsub" => ClientType::Pubsub,
            b"master" | b"primary" => ClientType::Primary,
            _ => return None,
        })
    }
}

/// Per-entry costs `tot-mem` adds for queued commands, watched keys and subscriptions, as
/// Valkey's `getClientMemoryUsage` does (a `multiCmd`; a list node and a `watchedKey`; a dict
/// entry and its bucket), so that client eviction sees a client that piles them up.
const MULTI_CMD_BYTES: usize = 24;
const WATCHED_KEY_BYTES: usize = 56;
const SUBSCRIPTION_BYTES: usize = 32;

/// Memory a connection costs beyond its buffers: the client structures and its task.
const CLIENT_FIXED_BYTES: usize = std::mem::size_of::<ClientShared>() + std::mem::size_of::<Client>() + 1024;

impl ClientShared {
    pub fn kill(&self) {
        self.killed.store(true, Relaxed);
        if let Some(w) = self.waker.lock().as_ref() {
            w();
        }
    }

    pub fn name_string(&self) -> String {
        self.name.lock().as_deref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default()
    }

    /// Channels, patterns and shard channels subscribed to.
    pub fn subscriptions(&self) -> usize {
        self.sub.load(Relaxed) + self.psub.load(Relaxed) + self.ssub.load(Relaxed)
    }

    /// Valkey's `getClientType`.
    pub fn client_type(&self) -> ClientType {
        let f = *self.flags.lock();
        if f.primary {
            ClientType::Primary
        } else if f.replica && !f.monitor {
            ClientType::Replica
        } else if f.pubsub {
            ClientType::Pubsub
        } else {
            ClientType::Normal
        }
    }

    /// Whether the peer is on this host (Valkey's `connIsLocal`): a loopback address.
    pub fn is_local(&self) -> bool {
        match self.addr.parse::<std::net::SocketAddr>() {
            Ok(std::net::SocketAddr::V4(a)) => a.ip().is_loopback(),
            Ok(std::net::SocketAddr::V6(a)) => {
                a.ip().is_loopback() || a.ip().to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            // Not an IP address: a Unix socket path.
            Err(_) => true,
        }
    }

    /// Seconds since the connection was made, at `now_ms`.
    pub fn age_secs(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.created_ms) / 1000
    }

    /// Memory used by the connection: its buffers plus a fixed cost (`tot-mem`).
    pub fn total_memory(&self) -> usize {
        self.qbuf.load(Relaxed)
            + self.qbuf_free.load(Relaxed)
            + self.reply_capacity.load(Relaxed).max(self.obuf.load(Relaxed))
            + self.argv_mem.load(Relaxed)
            + self.mailbox.bytes()
            + self.multi_mem.load(Relaxed)
            + self.multi.load(Relaxed).max(0) as usize * MULTI_CMD_BYTES
            + self.watch.load(Relaxed) * WATCHED_KEY_BYTES
            + self.subscriptions() * SUBSCRIPTION_BYTES
            + CLIENT_FIXED_BYTES
    }

    /// Appends the CLIENT LIST / CLIENT INFO line of this client (without the newline), in
    /// Valkey 8.0's field order. `last_cmd` is the full name of the last command run.
    /// `hide_user_data` redacts the name and user (for the log, `hide-user-data-from-log`).
    pub fn write_info(&self, out: &mut String, now_ms: u64, last_cmd: &str, hide_user_data: bool) {
        let f = *self.flags.lock();
        let (broken_redirect, bcast, redirect) = {
            let t = self.tracking.lock();
            (t.broken_redirect, t.bcast, if t.on { t.redirect as i64 } else { -1 })
        };
        let mut flags = String::new();
        if f.replica {
            flags.push(if f.monitor { 'O' } else { 'S' });
        }
        for (on, c) in [
            (f.primary, 'M'),
            (f.pubsub, 'P'),
            (f.multi, 'x'),
            (f.blocked, 'b'),
            (f.tracking, 't'),
            (broken_redirect, 'R'),
            (bcast, 'B'),
            (f.dirty_cas, 'd'),
            (f.close_after_reply, 'c'),
            (self.killed.load(Relaxed), 'A'),
            (f.readonly, 'r'),
            (f.no_evict, 'e'),
            (f.no_touch, 'T'),
        ] {
            if on {
                flags.push(c);
            }
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let obuf = self.obuf.load(Relaxed);
        let events = if obuf > 0 || self.mailbox.pending() { "rw" } else { "r" };
        let name = if hide_user_data {
            "*redacted*".to_string()
        } else {
            self.name.lock().as_deref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default()
        };
        let user = if hide_user_data { "*redacted*" } else { "default" };
        let lib_name =
            self.lib_name.lock().as_deref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        let lib_ver =
            self.lib_ver.lock().as_deref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        let idle = now_ms.saturating_sub(self.last_interaction_ms.load(Relaxed)) / 1000;
        let _ = write!(
            out,
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} \
             watch={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll=0 omem={} tot-mem={} \
             events={} cmd={} user={} redir={} resp={} lib-name={} lib-ver={} tot-net-in={} tot-net-out={} \
             tot-cmds={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            self.age_secs(now_ms),
            idle,
            flags,
            self.db.load(Relaxed),
            self.sub.load(Relaxed),
            self.psub.load(Relaxed),
            self.ssub.load(Relaxed),
            self.multi.load(Relaxed),
            self.watch.load(Relaxed),
            self.qbuf.load(Relaxed),
            self.qbuf_free.load(Relaxed),
            self.argv_mem.load(Relaxed),
            self.multi_mem.load(Relaxed),
            self.reply_capacity.load(Relaxed),
            self.reply_peak.load(Relaxed),
            obuf.min(self.reply_capacity.load(Relaxed)),
            obuf.saturating_sub(self.reply_capacity.load(Relaxed)) + self.mailbox.bytes(),
            self.total_memory(),
            events,
            last_cmd,
            user,
            redirect,
            self.resp.load(Relaxed),
            lib_name,
            lib_ver,
            self.net_in.load(Relaxed),
            self.net_out.load(Relaxed),
            self.commands.load(Relaxed),
        );
    }
}

/// The engine's per-connection state.
/// A transaction being queued (MULTI ... EXEC).
#[derive(Default)]
pub struct Transaction {
    pub queued: Vec<Vec<Vec<u8>>>,
    /// A command was refused while queuing (unknown, wrong arity...): EXEC aborts.
    pub aborted: bool,
}

pub struct Client {
    pub shared: Arc<ClientShared>,
    pub db: usize,
    /// Inside MULTI: what EXEC will run.
    pub multi: Option<Transaction>,
    /// The keys this client WATCHes, as (database, key).
    pub watched: Vec<crate::watch::Watched>,
    /// Channels, patterns and shard channels subscribed to.
    pub subscriptions: crate::commands::pubsub::Subscriptions,
    /// CLIENT TRACKING is on (this task's copy of `shared.tracking.on`, read per command).
    pub tracking: bool,
    pub resp3: bool,
    pub authenticated: bool,
    /// The master's link or the AOF being loaded (Valkey's `mustObeyClient`): commands are
    /// applied as written, never refused (READONLY) nor limited (XADD/XTRIM LIMIT).
    pub obey: bool,
    pub reply_mode: ReplyMode,
    pub no_touch: bool,
    /// Close the connection once pending replies are written (QUIT, protocol errors).
    pub close_after_reply: bool,
    /// Memory was over `maxmemory` with nothing left to evict when the current command
    /// started (Valkey's `pre_command_oom_state`): a script's first `denyoom` call is refused.
    pub over_maxmemory: bool,
}

impl Client {
    pub fn new(shared: Arc<ClientShared>, authenticated: bool) -> Client {
        Client {
            shared,
            db: 0,
            multi: None,
            watched: Vec::new(),
            subscriptions: Default::default(),
            tracking: false,
            resp3: false,
            authenticated,
            obey: false,
            reply_mode: ReplyMode::On,
            no_touch: false,
            close_after_reply: false,
            over_maxmemory: false,
        }
    }

    pub fn id(&self) -> u64 {
        self.shared.id
    }
}

/// All connected clients, by id.
#[derive(Default)]
pub struct ClientRegistry {
    next_id: AtomicU64,
    clients: Mutex<BTreeMap<u64, Arc<ClientShared>>>,
    /// Sum of the clients' `accounted` memory: the cheap test of whether client eviction
    /// has work to do.
    accounted: AtomicUsize,
    /// Held by the thread evicting clients; the others skip (it sees their memory too).
    evicting: Mutex<()>,
    /// The eviction limit of the last call: a new one makes the next call count everyone.
    limit_seen: AtomicUsize,
}

/// Client eviction only disconnects (and only counts) normal and pub/sub clients.
fn evictable_type(c: &ClientShared) -> bool {
    matches!(c.client_type(), ClientType::Normal | ClientType::Pubsub)
}

impl ClientRegistry {
    /// Registers a new connection and returns its shared state.
    pub fn register(&self, addr: String, laddr: String, fd: i32) -> Arc<ClientShared> {
        let id = self.next_id.fetch_add(1, Relaxed) + 1;
        let now = crate::util::now_ms();
        let shared = Arc::new(ClientShared {
            id,
            addr,
            laddr,
            fd,
            created_ms: now,
            last_interaction_ms: AtomicU64::new(now),
            db: AtomicUsize::new(0),
            last_cmd: AtomicUsize::new(0),
            resp: AtomicUsize::new(2),
            qbuf: AtomicUsize::new(0),
            qbuf_free: AtomicUsize::new(0),
            obuf: AtomicUsize::new(0),
            reply_capacity: AtomicUsize::new(0),
            reply_peak: AtomicUsize::new(0),
            argv_mem: AtomicUsize::new(0),
            net_in: AtomicU64::new(0),
            net_out: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            sub: AtomicUsize::new(0),
            psub: AtomicUsize::new(0),
            ssub: AtomicUsize::new(0),
            multi: AtomicI64::new(-1),
            multi_mem: AtomicUsize::new(0),
            watch: AtomicUsize::new(0),
            flags: Mutex::new(ClientFlags::default()),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            killed: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            accounted: AtomicUsize::new(0),
            tracking: Mutex::new(Default::default()),
            mailbox: Default::default(),
            waker: Mutex::new(None),
        });
        self.clients.lock().insert(id, shared.clone());
        shared
    }

    pub fn unregister(&self, id: u64) {
        if let Some(c) = self.clients.lock().remove(&id) {
            c.closed.store(true, Relaxed);
            self.accounted.fetch_sub(c.accounted.swap(0, Relaxed), Relaxed);
        }
    }

    /// Client eviction (`maxmemory-clients`, Valkey's `evictClients`): records what `c` uses
    /// now (every client's, when `c` is `None` or the limit changed) and, if the normal and
    /// pub/sub clients together use `limit` bytes or more, disconnects the evictable ones (not
    /// CLIENT NO-EVICT) that use the most, largest first, until the rest use less. Returns the
    /// clients it killed (`c` may be one of them). With `limit` 0 (no limit) nothing is
    /// counted.
    pub fn evict_over_limit(&self, c: Option<&ClientShared>, limit: usize) -> Vec<Arc<ClientShared>> {
        // A plain load first: this runs on every read of every connection.
        let recount =
            c.is_none() || (self.limit_seen.load(Relaxed) != limit && self.limit_seen.swap(limit, Relaxed) != limit);
        // Nothing counted and no limit: nothing to do (the cron's calls included).
        if limit == 0 && (!recount || (c.is_none() && self.accounted.load(Relaxed) == 0)) {
            return Vec::new();
        }
        let total = match c {
            Some(c) if !recount => self.account(c, limit),
            _ => {
                // A full recount also repairs the total where a share raced with a client
                // going away.
                let mut total = 0;
                for c in self.all() {
                    self.account(&c, limit);
                    total += c.accounted.load(Relaxed);
                }
                self.accounted.store(total, Relaxed);
                total
            }
        };
        if limit == 0 || total < limit {
            return Vec::new();
        }
        let Some(_evicting) = self.evicting.try_lock() else {
            return Vec::new();
        };
        // The running total lags (it counts each client as of its last update): decide on
        // the memory every client uses now.
        let mut total = 0;
        let mut candidates = Vec::new();
        for other in self.all() {
            if other.killed.load(Relaxed) || !evictable_type(&other) {
                continue;
            }
            let mem = other.total_memory();
            total += mem;
            if !other.flags.lock().no_evict {
                candidates.push((mem, other));
            }
        }
        candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
        let mut evicted = Vec::new();
        for (mem, other) in candidates {
            if total < limit {
                break;
            }
            other.kill();
            total -= mem;
            evicted.push(other);
        }
        evicted
    }

    /// Brings `c`'s share of the running total up to date; returns the new total.
    fn account(&self, c: &ClientShared, limit: usize) -> usize {
        let counted = limit > 0 && !c.closed.load(Relaxed) && !c.killed.load(Relaxed) && evictable_type(c);
        let now = if counted { c.total_memory() } else { 0 };
        let before = c.accounted.swap(now, Relaxed);
        // Wrapping: a share can race with a recount; the next recount puts the total right.
        if now == before {
            self.accounted.load(Relaxed)
        } else if now > before {
            self.accounted.fetch_add(now - before, Relaxed).wrapping_add(now - before)
        } else {
            self.accounted.fetch_sub(before - now, Relaxed).wrapping_sub(before - now)
        }
    }

    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of all clients, in id order.
    pub fn all(&self) -> Vec<Arc<ClientShared>> {
        self.clients.lock().values().cloned().collect()
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientShared>> {
        self.clients.lock().get(&id).cloned()
    }
}
