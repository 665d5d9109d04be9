//! Client-side caching (CLIENT TRACKING), Valkey's `tracking.c`.
//!
//! Default mode: after a read-only command of a tracking client, the keys it read are
//! remembered in the tracking table (key → clients, spread over mutexes by key hash, like the
//! pub/sub hub). When such a key changes (a write, an expiry, an eviction), every client
//! remembered for it gets one invalidation message and the key is forgotten: the table holds
//! only keys some client may still have cached. The table is global, not per database, as in
//! Valkey, and bounded by `tracking-table-max-keys` (keys past it are forgotten with an
//! invalidation, as if they had changed).
//!
//! BCAST mode: clients register key prefixes instead; a change to a key under a prefix is
//! queued on the prefix and the queue is sent, one message per client with all its keys,
//! after the command that made the changes (Valkey sends them before it sleeps).
//!
//! Messages go through the target's pub/sub mailbox (`crate::pubsub`): a RESP3 push
//! `invalidate [keys]`, or for a client redirecting to a RESP2 connection subscribed to
//! anything, a `message` on `__redis__:invalidate`. A message for the client whose command
//! caused it is drained after that command's reply, which is Valkey's order.

use crate::client::ClientShared;
use crate::engine::Engine;
use crate::pubsub::bulk;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

const TABLE_SHARDS: usize = 64;

/// A client's tracking settings (CLIENT TRACKING / CACHING), read by other threads when they
/// send it invalidations.
#[derive(Clone, Debug, Default)]
pub struct TrackingState {
    pub on: bool,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING YES (optin) / NO (optout) given for the next command.
    pub caching: bool,
    /// Client id invalidations go to (0: this connection).
    pub redirect: u64,
    /// The redirect target went away.
    pub broken_redirect: bool,
    /// BCAST prefixes, sorted.
    pub prefixes: Vec<Vec<u8>>,
}

type Clients = Vec<Arc<ClientShared>>;
type KeyTable = HashMap<Vec<u8>, Clients, foldhash::fast::RandomState>;

/// Keys changed under one BCAST prefix since the last broadcast, with the id of the client
/// that changed each last (for NOLOOP; 0 for expiry and eviction).
#[derive(Default)]
struct Prefix {
    clients: Clients,
    keys: BTreeMap<Vec<u8>, u64>,
}

pub struct Tracking {
    /// Clients with tracking on; zero makes every hook a single load.
    clients: AtomicUsize,
    table: Box<[Mutex<KeyTable>]>,
    keys: AtomicUsize,
    items: AtomicUsize,
    prefixes: Mutex<BTreeMap<Vec<u8>, Prefix>>,
    prefix_count: AtomicUsize,
    /// Some prefix has keys waiting to be broadcast.
    bcast_pending: AtomicBool,
}

impl Default for Tracking {
    fn default() -> Tracking {
        Tracking {
            clients: AtomicUsize::new(0),
            table: (0..TABLE_SHARDS).map(|_| Mutex::new(HashMap::default())).collect(),
            keys: AtomicUsize::new(0),
            items: AtomicUsize::new(0),
            prefixes: Mutex::new(BTreeMap::new()),
            prefix_count: AtomicUsize::new(0),
            bcast_pending: AtomicBool::new(false),
        }
    }
}

/// What an invalidation names.
enum Keys<'a> {
    One(&'a [u8]),
    /// A RESP array of keys, already encoded (BCAST).
    Encoded(&'a [u8]),
    /// Everything (FLUSHALL / FLUSHDB): a null.
    All,
}

/// Valkey's `sendTrackingMessage`: one invalidation for `client`, to it or its redirect.
fn send(engine: &Engine, client: &Arc<ClientShared>, keys: Keys) {
    let redirect = client.tracking.lock().redirect;
    let mut target_holder = None;
    let target: &Arc<ClientShared> = if redirect != 0 {
        match engine.clients.get(redirect) {
            Some(t) => target_holder.insert(t),
            None => {
                client.tracking.lock().broken_redirect = true;
                if client.resp.load(Relaxed) >= 3 {
                    let mut f = b">2\r\n".to_vec();
                    bulk(&mut f, b"tracking-redir-broken");
                    f.push(b':');
                    f.extend_from_slice(itoa::Buffer::new().format(redirect).as_bytes());
                    f.extend_from_slice(b"\r\n");
                    crate::pubsub::deliver_raw(engine, client, &f);
                }
                return;
            }
        }
    } else {
        client
    };
    let resp3 = target.resp.load(Relaxed) >= 3;
    let mut f = Vec::with_capacity(64);
    if resp3 {
        f.extend_from_slice(b">2\r\n");
        bulk(&mut f, b"invalidate");
    } else if redirect != 0 && target.subscriptions() > 0 {
        f.extend_from_slice(b"*3\r\n");
        bulk(&mut f, b"message");
        bulk(&mut f, b"__redis__:invalidate");
    } else {
        // A RESP2 connection can only get invalidations as pub/sub messages.
        return;
    }
    match keys {
        Keys::One(k) => {
            f.extend_from_slice(b"*1\r\n");
            bulk(&mut f, k);
        }
        Keys::Encoded(e) => f.extend_from_slice(e),
        Keys::All => f.extend_from_slice(if resp3 { b"_\r\n" } else { b"$-1\r\n" }),
    }
    crate::pubsub::deliver_raw(engine, target, &f);
}

impl Tracking {
    #[inline]
    pub fn active(&self) -> bool {
        self.clients.load(Relaxed) > 0
    }

    fn shard(&self, key: &[u8]) -> &Mutex<KeyTable> {
        &self.table[(crate::keyspace::hash_key(key) as usize) % TABLE_SHARDS]
    }

    /// CLIENT TRACKING ON with validated options.
    pub fn enable(&self, client: &Arc<ClientShared>, new: TrackingState) {
        let mut st = client.tracking.lock();
        if !st.on {
            self.clients.fetch_add(1, Relaxed);
        }
        let mut prefixes = std::mem::take(&mut st.prefixes);
        if new.bcast {
            let wanted: Vec<Vec<u8>> = if new.prefixes.is_empty() { vec![Vec::new()] } else { new.prefixes.clone() };
            let mut table = self.prefixes.lock();
            for p in wanted {
                if prefixes.contains(&p) {
                    continue;
                }
                let entry = table.entry(p.clone()).or_insert_with(|| {
                    self.prefix_count.fetch_add(1, Relaxed);
                    Prefix::default()
                });
                entry.clients.push(client.clone());
                prefixes.push(p);
            }
            prefixes.sort();
        }
        *st = TrackingState { on: true, caching: false, broken_redirect: false, prefixes, ..new };
        client.flags.lock().tracking = true;
    }

    /// CLIENT TRACKING OFF, RESET, disconnect. Remembered keys are forgotten lazily (they name
    /// the client, which no longer wants them), as in Valkey.
    pub fn disable(&self, client: &ClientShared) {
        let mut st = client.tracking.lock();
        if !st.on {
            return;
        }
        if !st.prefixes.is_empty() {
            let mut table = self.prefixes.lock();
            for p in &st.prefixes {
                if let Some(entry) = table.get_mut(p) {
                    entry.clients.retain(|c| c.id != client.id);
                    if entry.clients.is_empty() {
                        table.remove(p);
                        self.prefix_count.fetch_sub(1, Relaxed);
                    }
                }
            }
        }
        *st = TrackingState::default();
        self.clients.fetch_sub(1, Relaxed);
        client.flags.lock().tracking = false;
    }

    /// Remembers that `client` may cache `key` (Valkey's `trackingRememberKeys`, one key).
    pub fn remember(&self, client: &Arc<ClientShared>, key: &[u8]) {
        let mut map = self.shard(key).lock();
        let ids = map.entry(key.to_vec()).or_insert_with(|| {
            self.keys.fetch_add(1, Relaxed);
            Vec::new()
        });
        if !ids.iter().any(|c| c.id == client.id) {
            ids.push(client.clone());
            self.items.fetch_add(1, Relaxed);
        }
    }

    /// `key` changed (or expired, or was evicted): invalidate it for everyone that may cache
    /// it. `by` is the client whose command changed it (0 for none), for NOLOOP. `bcast` is
    /// false when the key did not really change (forgotten to bound the table).
    pub fn invalidate(&self, engine: &Engine, key: &[u8], by: u64, bcast: bool) {
        if bcast && self.prefix_count.load(Relaxed) > 0 {
            let mut table = self.prefixes.lock();
            for (p, entry) in table.iter_mut() {
                if key.starts_with(p) {
                    entry.keys.insert(key.to_vec(), by);
                    self.bcast_pending.store(true, Relaxed);
                }
            }
        }
        let removed = {
            let mut map = self.shard(key).lock();
            map.remove(key)
        };
        let Some(clients) = removed else { return };
        self.keys.fetch_sub(1, Relaxed);
        self.items.fetch_sub(clients.len(), Relaxed);
        for c in clients {
            let (on, is_bcast, noloop) = {
                let st = c.tracking.lock();
                (st.on, st.bcast, st.noloop)
            };
            if !on || is_bcast || (noloop && c.id == by) || c.closed.load(Relaxed) {
                continue;
            }
            send(engine, &c, Keys::One(key));
        }
    }

    /// FLUSHALL / FLUSHDB: every tracking client is told that everything is invalid, and the
    /// table is emptied (Valkey's `trackingInvalidateKeysOnFlush`).
    pub fn invalidate_all(&self, engine: &Engine) {
        if !self.active() && self.keys.load(Relaxed) == 0 {
            return;
        }
        if self.active() {
            for c in engine.clients.all() {
                if c.tracking.lock().on {
                    send(engine, &c, Keys::All);
                }
            }
        }
        for shard in self.table.iter() {
            let mut map = shard.lock();
            let n = map.len();
            let items: usize = map.values().map(Vec::len).sum();
            map.clear();
            self.keys.fetch_sub(n, Relaxed);
            self.items.fetch_sub(items, Relaxed);
        }
    }

    /// Sends what BCAST prefixes collected (Valkey's `trackingBroadcastInvalidationMessages`).
    pub fn broadcast(&self, engine: &Engine) {
        if !self.bcast_pending.swap(false, Relaxed) {
            return;
        }
        let mut table = self.prefixes.lock();
        for entry in table.values_mut() {
            if entry.keys.is_empty() {
                continue;
            }
            let keys = std::mem::take(&mut entry.keys);
            let all = encode_keys(&keys, 0);
            for c in &entry.clients {
                if c.tracking.lock().noloop {
                    if let Some(own) = encode_keys_excluding(&keys, c.id) {
                        send(engine, c, Keys::Encoded(&own));
                    }
                } else {
                    send(engine, c, Keys::Encoded(&all));
                }
            }
        }
    }

    /// Forgets random keys (invalidating them) while the table is over
    /// `tracking-table-max-keys` (Valkey's `trackingLimitUsedSlots`).
    pub fn limit(&self, engine: &Engine, max_keys: usize) {
        if max_keys == 0 || self.keys.load(Relaxed) <= max_keys {
            return;
        }
        let mut shard = fastrand::usize(..TABLE_SHARDS);
        let mut empty_in_a_row = 0;
        while self.keys.load(Relaxed) > max_keys && empty_in_a_row < TABLE_SHARDS {
            let victim = self.table[shard % TABLE_SHARDS].lock().keys().next().cloned();
            match victim {
                Some(k) => {
                    self.invalidate(engine, &k, 0, false);
                    empty_in_a_row = 0;
                }
                None => {
                    shard += 1;
                    empty_in_a_row += 1;
                }
            }
        }
    }

    /// INFO's tracking_total_keys, tracking_total_items, tracking_total_prefixes.
    pub fn totals(&self) -> (usize, usize, usize) {
        (self.keys.load(Relaxed), self.items.load(Relaxed), self.prefix_count.load(Relaxed))
    }
}

/// A RESP array of the keys (minus those last changed by `exclude`, when non-zero).
fn encode_keys(keys: &BTreeMap<Vec<u8>, u64>, exclude: u64) -> Vec<u8> {
    let chosen: Vec<&Vec<u8>> = keys.iter().filter(|(_, by)| exclude == 0 || **by != exclude).map(|(k, _)| k).collect();
    let mut f = Vec::with_capacity(16 + chosen.len() * 16);
    f.push(b'*');
    f.extend_from_slice(itoa::Buffer::new().format(chosen.len()).as_bytes());
    f.extend_from_slice(b"\r\n");
    for k in chosen {
        bulk(&mut f, k);
    }
    f
}

fn encode_keys_excluding(keys: &BTreeMap<Vec<u8>, u64>, exclude: u64) -> Option<Vec<u8>> {
    if keys.values().all(|by| *by == exclude) {
        None
    } else {
        Some(encode_keys(keys, exclude))
    }
}

/// After a command of a tracking client, with its locks still held: remember the keys a
/// read-only command read (unless OPTIN without CACHING YES, OPTOUT with CACHING NO, or BCAST),
/// then forget the CACHING flag, which lasts one command (or one transaction: `in_exec` is
/// set for the commands EXEC runs, and EXEC itself forgets it).
pub fn after_command(
    engine: &Engine,
    client: &crate::client::Client,
    cmd: &crate::commands::table::Resolved,
    argv: &[&[u8]],
    in_exec: bool,
) {
    use crate::commands::table::flags;
    let mut st = client.shared.tracking.lock();
    if !st.on {
        return;
    }
    let def = cmd.def;
    // A read-only script is not tracked by its key arguments, only by the reads it makes
    // (each tracked as it runs), as in Valkey.
    if def.flags & flags::READONLY != 0
        && def.flags & flags::PUBSUB == 0
        && !st.bcast
        && !matches!(def.name, "eval_ro" | "evalsha_ro" | "fcall_ro")
    {
        let wanted = if st.optin {
            st.caching
        } else if st.optout {
            !st.caching
        } else {
            true
        };
        if wanted {
            def.for_each_key_position(argv, |i| engine.tracking.remember(&client.shared, argv[i]));
        }
    }
    if !in_exec && client.multi.is_none() && !cmd.full_name.starts_with("client|") {
        st.caching = false;
    }
}
