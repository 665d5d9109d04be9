//! MULTI, EXEC, DISCARD, WATCH, UNWATCH (Valkey's `multi.c`).
//!
//! Between MULTI and EXEC the dispatcher queues commands instead of running them (`exec.rs`),
//! after the checks Valkey makes before queuing (unknown command, arity, authentication,
//! commands not allowed in a transaction); a command refused there makes EXEC abort. EXEC
//! (`exec::exec_transaction`) locks the union of the shards every queued command needs, in
//! the usual order, and runs them one after another under those locks: no other client sees
//! a state between two of them. Blocking commands inside it do not block (they answer as on a
//! timeout), clients blocked on keys the transaction wrote are served after the whole of it,
//! and replicas get the writes wrapped in MULTI/EXEC.
//!
//! WATCH registers the client in the watched keys' shards (`watch.rs`); any change to such a
//! key (a write, an expiry, FLUSHDB/FLUSHALL/SWAPDB of a present key) marks the client's
//! transaction dirty, and EXEC then replies with a null array without running anything.

use super::table::{acl, flags::*, keyflags, Command, Doc, KeySpec, Lock};
use super::{CmdResult, Ctx, Error};
use crate::client::{Client, Transaction};
use crate::engine::Engine;
use crate::keyspace::{hash_key, shard_of, LockSet};
use crate::watch::Watched;
use std::sync::atomic::Ordering::Relaxed;

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "transactions", complexity, syntax }
}

pub static COMMANDS: &[Command] = &[
    Command {
        name: "discard",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        acl: acl::TRANSACTION,
        handler: Some(discard),
        doc: doc("Discards a transaction.", "2.0.0", "O(N), when N is the number of queued commands", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "exec",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        acl: acl::TRANSACTION,
        // Run by the dispatcher itself (`exec::exec_transaction`): it runs other commands.
        handler: None,
        doc: doc("Executes all commands in a transaction.", "1.2.0", "Depends on commands in the transaction", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "multi",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST | NO_MULTI | ALLOW_BUSY,
        acl: acl::TRANSACTION,
        handler: Some(multi),
        doc: doc("Starts a transaction.", "1.2.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "unwatch",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        acl: acl::TRANSACTION,
        handler: Some(unwatch),
        doc: doc("Forgets about watched keys of a transaction.", "2.2.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "watch",
        arity: -2,
        flags: NOSCRIPT | LOADING | STALE | FAST | NO_MULTI | ALLOW_BUSY,
        acl: acl::TRANSACTION,
        keys: &[KeySpec::range(1, -1, 1, keyflags::RO)],
        lock: Lock::Keys,
        handler: Some(watch),
        doc: doc(
            "Monitors changes to keys to determine the execution of a transaction.",
            "2.2.0",
            "O(1) for every key.",
            "key [key ...]",
        ),
        ..Command::DEFAULT
    },
];

fn multi(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    // MULTI inside MULTI never gets here: NO_MULTI commands are refused before queuing.
    ctx.client.multi = Some(Transaction::default());
    ctx.client.shared.flags.lock().multi = true;
    ctx.client.shared.multi.store(0, Relaxed);
    ctx.client.shared.multi_mem.store(0, Relaxed);
    ctx.out.ok();
    Ok(())
}

fn discard(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(Error::err("DISCARD without MULTI"));
    }
    end_transaction(ctx.engine, ctx.client);
    ctx.out.ok();
    Ok(())
}

fn watch(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let db = ctx.client.db;
    for &key in &argv[1..] {
        if ctx.client.watched.iter().any(|w| w.db == db && w.key == key) {
            continue;
        }
        let deadline_ms = ctx.keys.watch(db, key, &ctx.client.shared)?;
        ctx.client.watched.push(Watched { db, key: key.to_vec(), deadline_ms });
    }
    ctx.client.shared.watch.store(ctx.client.watched.len(), Relaxed);
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    // Its lock set is empty: no shard is held while `unwatch_all` takes the watched ones.
    unwatch_all(ctx.engine, ctx.client);
    ctx.out.ok();
    Ok(())
}

/// Leaves MULTI (EXEC, DISCARD, RESET) and forgets the watched keys.
pub fn end_transaction(engine: &Engine, client: &mut Client) {
    client.multi = None;
    client.shared.flags.lock().multi = false;
    client.shared.multi.store(-1, Relaxed);
    client.shared.multi_mem.store(0, Relaxed);
    unwatch_all(engine, client);
}

/// Removes the client's registrations from the watched keys' shards (locking them; the
/// caller must hold no shard) and clears its dirty flag (Valkey's `unwatchAllKeys`).
pub fn unwatch_all(engine: &Engine, client: &mut Client) {
    if !client.watched.is_empty() {
        let mut set = LockSet::new();
        for w in &client.watched {
            set.add_key(w.db, &w.key);
        }
        let mut guards = crate::exec::lock_giving_way(engine, &set);
        for w in client.watched.drain(..) {
            if let Some(s) = guards.shard(w.db, shard_of(hash_key(&w.key))) {
                s.watchers.remove(&w.key, &client.shared);
            }
        }
    }
    client.shared.flags.lock().dirty_cas = false;
    client.shared.watch.store(0, Relaxed);
}

#[cfg(test)]
#[path = "multi_tests.rs"]
mod tests;
