//! Client state: what the engine keeps about a connection.
//!
//! [`Client`] is owned by the connection's task and passed to every command. The part other
//! threads need to see — for CLIENT LIST, CLIENT KILL, INFO clients — is [`ClientShared`],
//! registered in the engine's [`ClientRegistry`]; its frequently changing fields are atomics
//! written with plain stores, so keeping it current costs nothing measurable.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
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
    pub qbuf: AtomicUsize,
    pub qbuf_free: AtomicUsize,
    pub obuf: AtomicUsize,
    pub tot_mem: AtomicUsize,
    pub flags: Mutex<ClientFlags>,
    pub name: Mutex<Option<Vec<u8>>>,
    pub lib_name: Mutex<Option<Vec<u8>>>,
    pub lib_ver: Mutex<Option<Vec<u8>>>,
    /// Set by CLIENT KILL; the connection closes as soon as it notices.
    pub killed: AtomicBool,
    /// Wakes the connection's task (set by the server), so a killed idle client closes now.
    pub waker: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct ClientFlags {
    pub no_evict: bool,
    pub no_touch: bool,
    pub close_after_reply: bool,
}

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
}

/// The engine's per-connection state.
pub struct Client {
    pub shared: Arc<ClientShared>,
    pub db: usize,
    pub resp3: bool,
    pub authenticated: bool,
    pub reply_mode: ReplyMode,
    pub no_touch: bool,
    /// Close the connection once pending replies are written (QUIT, protocol errors).
    pub close_after_reply: bool,
}

impl Client {
    pub fn new(shared: Arc<ClientShared>, authenticated: bool) -> Client {
        Client {
            shared,
            db: 0,
            resp3: false,
            authenticated,
            reply_mode: ReplyMode::On,
            no_touch: false,
            close_after_reply: false,
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
            tot_mem: AtomicUsize::new(0),
            flags: Mutex::new(ClientFlags::default()),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            killed: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        self.clients.lock().insert(id, shared.clone());
        shared
    }

    pub fn unregister(&self, id: u64) {
        self.clients.lock().remove(&id);
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
