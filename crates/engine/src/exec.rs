//! The dispatcher: from an argument vector to a reply.
//!
//! For each command: resolve it in the table (unknown command/subcommand errors), check arity
//! and authentication, honour CLIENT PAUSE, work out which shards it needs from its key specs,
//! lock them in order, run the handler with a [`Ctx`], then account for the call (commandstats,
//! errorstats, keyspace hits/misses) and apply CLIENT REPLY modes.

use crate::client::{Client, ReplyMode};
use crate::commands::table::{flags, Lock, Lookup, Resolved};
use crate::commands::{arity_error, errors, Ctx, Error};
use crate::db::Keys;
use crate::engine::Engine;
use crate::keyspace::LockSet;
use crate::stats::Counter;
use resp::Reply;
use std::sync::atomic::Ordering::Relaxed;

/// What the connection should do after a command.
pub enum Outcome {
    Continue,
    /// Write pending replies, then close (QUIT, a killed client).
    Close,
    /// The command was not run because clients are paused (CLIENT PAUSE); run it again after
    /// the pause ends, without reading further commands meanwhile.
    Paused,
    /// The command blocked its client (BLPOP & co.): wait on the request's slot until served,
    /// timed out or unblocked, without reading further commands meanwhile.
    Blocked(crate::blocking::BlockRequest),
    /// The connection is now a replica (SYNC): write the replies, then stream what the sink
    /// receives until the replica goes away.
    Replica(std::sync::Arc<crate::propagate::Sink>),
    /// The command was not run because a script holds what it needs: the script slot (for a
    /// script command, or an EXEC holding one), or shards, held by a script that has been
    /// running for a while. Run it again a little later (it gets BUSY once the script passes
    /// `busy-reply-threshold`), without reading further commands meanwhile, and without
    /// blocking the thread, whose other connections go on being served.
    WaitScript,
}

/// How long a script must have run before commands that need its shards stop waiting for
/// them on their thread and back off ([`Outcome::WaitScript`]). Shorter waits (most scripts
/// take microseconds) stay a plain lock wait, the cheapest way to wait for them.
const SCRIPT_BACK_OFF_MS: u64 = 1;

/// Whether a command should go on waiting for contended shards: not once a script that has
/// been running for `SCRIPT_BACK_OFF_MS` may be what holds them. A running script may wait
/// for a shard while holding others (it takes shards as its calls need them); everything
/// else that waits while holding shards gives way to it this way, which rules out deadlock.
fn keep_waiting_for_locks(engine: &Engine) -> bool {
    let run = &engine.scripting.run;
    !run.running.load(Relaxed)
        || crate::util::now_us().saturating_sub(run.started_us.load(Relaxed)) < SCRIPT_BACK_OFF_MS * 1000
}

/// Locks `set` for work outside a client's command (persistence, serving blocked clients,
/// UNWATCH), giving way to a running script like commands do (see
/// [`keep_waiting_for_locks`]): if a script holds one of the shards, everything taken is
/// released and the whole set is tried again a little later.
pub(crate) fn lock_giving_way<'a>(engine: &'a Engine, set: &LockSet) -> crate::keyspace::Guards<'a> {
    loop {
        if let Some(guards) = engine.keyspace.lock_unless(set, || keep_waiting_for_locks(engine)) {
            return guards;
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

/// Whether `argv` runs a script (EVAL, EVALSHA, FCALL and their `_RO` forms, or an EXEC
/// whose transaction holds one), which may run for long: the connection runs these off its
/// event loop. A name check, no table lookup; a script command queued by MULTI is not run.
pub fn runs_script(client: &Client, argv: &[&[u8]]) -> bool {
    fn is_script(name: &[u8]) -> bool {
        matches!(name.len(), 4 | 5 | 7 | 8 | 10)
            && ["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]
                .iter()
                .any(|c| name.eq_ignore_ascii_case(c.as_bytes()))
    }
    let Some(name) = argv.first() else { return false };
    match &client.multi {
        None => is_script(name),
        Some(tx) => {
            name.eq_ignore_ascii_case(b"exec") && tx.queued.iter().any(|q| q.first().is_some_and(|n| is_script(n)))
        }
    }
}

/// Runs one command.
pub fn execute(engine: &Engine, client: &mut Client, argv: &[&[u8]], out: &mut Reply) -> Outcome {
    debug_assert!(!argv.is_empty());
    let cmd = match engine.commands.lookup(argv) {
        Lookup::Found(c) => c,
        Lookup::UnknownCommand => {
            flag_transaction(client);
            client.shared.last_cmd.store(0, Relaxed);
            out.error_bytes(&unknown_command_text(argv));
            record_errors(engine, out);
            return Outcome::Continue;
        }
        Lookup::UnknownSubcommand(parent) => {
            flag_transaction(client);
            client.shared.last_cmd.store(0, Relaxed);
            let mut text = b"ERR unknown subcommand '".to_vec();
            text.extend_from_slice(truncated(argv[1], 128));
            text.extend_from_slice(format!("'. Try {} HELP.", parent.def.name.to_ascii_uppercase()).as_bytes());
            out.error_bytes(&text);
            record_errors(engine, out);
            return Outcome::Continue;
        }
    };
    let def = cmd.def;
    // What CLIENT LIST shows as `cmd`, for this client too while the command runs.
    client.shared.last_cmd.store(cmd.id + 1, Relaxed);
    if (def.arity > 0 && argv.len() as i32 != def.arity) || (argv.len() as i32) < -def.arity {
        return reject(engine, client, cmd, out, arity_error(&cmd.full_name));
    }
    if def.flags & flags::PROTECTED != 0 && !protected_allowed(engine, client, def.name) {
        return reject(engine, client, cmd, out, protected_error(def.name));
    }
    if !client.authenticated && def.flags & flags::NO_AUTH == 0 {
        return reject(engine, client, cmd, out, errors::NOAUTH);
    }
    // Over `maxmemory`, keys are evicted before the command runs (one relaxed load when no
    // limit is set); if nothing could be evicted, commands that may grow memory are refused.
    let maxmemory = engine.config.hot.maxmemory.load(Relaxed);
    let out_of_memory = maxmemory != 0 && crate::evict::before_command(engine, maxmemory);
    client.over_maxmemory = out_of_memory;
    if maxmemory != 0 && client.tracking && client.shared.mailbox.pending() {
        // Invalidations of keys just evicted come before this command's reply, as in Valkey
        // (which sends them before running the command).
        client.shared.mailbox.drain_into(out);
    }
    if out_of_memory && effective_flags(engine, client, cmd, argv).0 & flags::DENYOOM != 0 {
        return reject(engine, client, cmd, out, Error::coded_static(crate::evict::OOM));
    }
    // After a failed save, writes (and PING) are refused while save points are configured
    // (`stop-writes-on-bgsave-error`); one relaxed load when the last save went fine.
    if engine.writes_denied_by_disk_error()
        && (def.name == "ping" || effective_flags(engine, client, cmd, argv).0 & flags::WRITE != 0)
    {
        return reject(engine, client, cmd, out, Error::coded_static(crate::persist::MISCONF));
    }
    if engine.config.hot.min_replicas_to_write.load(Relaxed) > 0
        && crate::replica::too_few_replicas(engine, client, cmd, argv)
    {
        return reject(engine, client, cmd, out, Error::coded_static(crate::replica::NOREPLICAS));
    }
    // On a replica: writes get READONLY, and with the link down and
    // `replica-serve-stale-data no`, most commands MASTERDOWN (one relaxed load on a master).
    if engine.replica.is_replica() {
        if let Some(e) = crate::replica::refusal(engine, client, cmd, argv) {
            return reject(engine, client, cmd, out, e);
        }
    }
    if !client.resp3
        && !client.subscriptions.is_empty()
        && !crate::commands::pubsub::allowed_in_resp2_subscribed_mode(def.name)
    {
        let text = format!(
            "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this \
             context",
            cmd.full_name
        );
        return reject(engine, client, cmd, out, Error::err(text));
    }
    if def.flags & flags::PUBSUB != 0
        && client.subscriptions.is_empty()
        && matches!(def.name, "unsubscribe" | "punsubscribe" | "sunsubscribe")
    {
        let text = format!("NOSUB '{}' command executed not in subscribed mode", cmd.full_name);
        return reject(engine, client, cmd, out, Error::coded(text));
    }
    // While the dataset loads, only commands flagged `loading` run (for EXEC, every queued
    // one must be); one relaxed load otherwise. A command refused here inside MULTI is not
    // queued, so its EXEC aborts, as in Valkey.
    // A command allowed during a startup load counts as a visitor until it ends: the loader
    // gives its shards back at its next interval and waits for the visitors to finish.
    let visit = if engine.persistence.loading.is_active() {
        if effective_flags(engine, client, cmd, argv).1 & flags::LOADING == 0 {
            return reject(engine, client, cmd, out, Error::coded_static(crate::loading::LOADING_ERR));
        }
        Some(engine.persistence.loading.visit())
    } else {
        None
    };
    // While a script runs past `busy-reply-threshold`, only commands allowed while busy
    // (SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE ...) are served, as in Valkey, although a
    // script holds only the shards of the keys it declared and reached.
    let script_busy = engine.scripting.run.running.load(Relaxed)
        && engine
            .scripting
            .busy(crate::util::now_ms(), engine.config.hot.busy_reply_threshold_ms.load(Relaxed).max(0) as u64);
    if script_busy && def.flags & flags::ALLOW_BUSY == 0 {
        let text = engine.scripting.busy_error();
        return reject(engine, client, cmd, out, Error::coded(text));
    }
    if let Some(tx) = client.multi.as_mut() {
        if def.flags & flags::NO_MULTI != 0 {
            return reject(engine, client, cmd, out, Error::err("Command not allowed inside a transaction"));
        }
        let name = cmd.def.name;
        if !matches!(name, "exec" | "discard" | "quit" | "reset") || cmd.parent.is_some() {
            tx.queued.push(argv.iter().map(|a| a.to_vec()).collect());
            client.shared.multi.store(tx.queued.len() as i64, Relaxed);
            let bytes: usize = argv.iter().map(|a| a.len() + 8).sum();
            client.shared.multi_mem.fetch_add(bytes, Relaxed);
            out.simple("QUEUED");
            return Outcome::Continue;
        }
    }
    if def.name == "exec" && cmd.parent.is_none() {
        let outcome = exec_transaction(engine, client, cmd, out);
        // EXEC shows after the commands it ran, also when it fails.
        if engine.monitors.active() && !matches!(outcome, Outcome::Paused) {
            feed_monitors(engine, client, cmd, argv, &client.shared.addr);
        }
        return outcome;
    }
    if engine.pause.blocks(def.flags) {
        return Outcome::Paused;
    }
    // SHUTDOWN NOSAVE stops a server whose shards a timed-out script or a load holds, without
    // them (SHUTDOWN does not save then).
    let locks = if (script_busy || visit.is_some()) && def.name == "shutdown" {
        LockSet::new()
    } else {
        match lock_set(engine, client, cmd, argv) {
            Ok(l) => l,
            Err(e) => return reject(engine, client, cmd, out, e),
        }
    };
    let Some(handler) = def.handler else {
        // A container without a subcommand argument has arity -2, so this is unreachable for
        // well-formed tables; report rather than crash.
        return reject(engine, client, cmd, out, Error::internal("command has no handler"));
    };
    // Scripts run one at a time: the slot is taken before the shards, so a script that
    // takes more shards as it runs never waits for a shard held by another script.
    let script_slot = if matches!(def.lock, Lock::Script) {
        match engine.scripting.take_slot() {
            Some(slot) => Some(slot),
            None => return Outcome::WaitScript,
        }
    } else {
        None
    };
    // One clock read gives both the command's frozen time and the start of its duration.
    let started_us = crate::util::now_us();
    let Some(guards) = engine.keyspace.lock_unless(&locks, || keep_waiting_for_locks(engine)) else {
        return Outcome::WaitScript;
    };

    if client.reply_mode == ReplyMode::SkipNext {
        client.reply_mode = ReplyMode::Skip;
    }
    let reply_start = out.len();
    let errors_before = out.error_count();
    client.shared.argv_mem.store(argv.iter().map(|a| a.len()).sum(), Relaxed);
    let now_ms = started_us / 1000;
    let mut keys = Keys::new(engine, guards, client.db, now_ms, !client.no_touch || def.name == "touch");
    keys.caller = client.id();
    let mut ctx = Ctx { keys, out, client, engine, cmd };
    let result = handler(&mut ctx, argv);
    let Ctx { mut keys, out, client, .. } = ctx;
    if let Err(e) = result {
        out.truncate(reply_start);
        out.error_bytes(e.text());
    }
    // The keys a tracking client read are remembered before anyone can change them.
    if client.tracking {
        crate::tracking::after_command(engine, client, cmd, argv, false);
    }
    // The command's writes join the propagation stream while its locks are held, so the
    // stream orders them as they happened.
    if engine.propagation.is_active() {
        propagate(engine, &mut keys, cmd, argv, client.db);
    }
    // Clients blocked on keys this command wrote are served now, before anyone else can
    // see the keys.
    if !keys.effects.ready.is_empty() {
        keys.serve_ready();
    }
    keys.unlock();
    drop(script_slot);
    let effects = &mut keys.effects;
    if !effects.retry.is_empty() {
        serve_retries(engine, std::mem::take(&mut effects.retry), client.no_touch);
    }
    if engine.tracking.active() {
        after_tracked_changes(engine);
    }
    let usec = crate::util::now_us().saturating_sub(started_us);

    let failed = out.error_count() > errors_before;
    engine.stats.local(|b| {
        b.call(cmd.id, usec, failed);
        b.add(Counter::CommandsProcessed, 1);
        b.add(Counter::CommandUsec, usec);
        b.add(Counter::KeyspaceHits, effects.hits);
        b.add(Counter::KeyspaceMisses, effects.misses);
        b.add(Counter::ExpiredKeys, effects.expired);
        b.add(Counter::Dirty, effects.dirty);
    });
    record_errors(engine, out);
    // A command that blocked is logged when it is served (`Keys::serve_ready`).
    if keys.effects.block.is_none() {
        slowlog(engine, client, cmd, argv, usec);
    }
    if engine.monitors.active() {
        feed_monitors(engine, client, cmd, argv, &client.shared.addr);
    }
    let shared = &client.shared;
    shared.argv_mem.store(0, Relaxed);
    shared.commands.store(shared.commands.load(Relaxed) + 1, Relaxed);
    shared.db.store(client.db, Relaxed);

    if client.reply_mode != ReplyMode::On {
        // Pushes are not silenced by CLIENT REPLY OFF/SKIP, and the (un)subscribe commands
        // reply with pushes.
        if !crate::commands::pubsub::replies_with_push(def.name) {
            out.truncate(reply_start);
        }
        if client.reply_mode == ReplyMode::Skip {
            client.reply_mode = ReplyMode::On;
        }
    }
    if let Some(req) = keys.effects.block.take() {
        return Outcome::Blocked(req);
    }
    if let Some(sink) = keys.effects.replica.take() {
        return Outcome::Replica(sink);
    }
    if client.close_after_reply {
        Outcome::Close
    } else {
        Outcome::Continue
    }
}

/// The flags that decide whether a command may run now (OOM, MISCONF, NOREPLICAS, READONLY,
/// MASTERDOWN): a script command's come from its script's shebang, and EXEC's from the
/// commands it queued — (any of them has, all of them have) the flag, as Valkey's
/// `processCommand` sees them. Only called when one of those checks is live.
pub(crate) fn effective_flags(engine: &Engine, client: &Client, cmd: &Resolved, argv: &[&[u8]]) -> (u32, u32) {
    let own = crate::scripting::command_flags(engine, cmd.def, argv);
    if cmd.def.name != "exec" || cmd.parent.is_some() {
        return (own, own);
    }
    let Some(tx) = client.multi.as_ref() else { return (own, own) };
    let (mut any, mut all) = (0, !0);
    for queued in &tx.queued {
        let args: Vec<&[u8]> = queued.iter().map(Vec::as_slice).collect();
        if let Lookup::Found(c) = engine.commands.lookup(&args) {
            let f = crate::scripting::command_flags(engine, c.def, &args);
            any |= f;
            all &= f;
        }
    }
    (any, if tx.queued.is_empty() { own } else { all })
}

/// A command was refused while the client queues a transaction: EXEC will abort.
fn flag_transaction(client: &mut Client) {
    if let Some(tx) = client.multi.as_mut() {
        tx.aborted = true;
    }
}

/// EXEC: runs the queued commands under the union of their locks (see `commands/multi.rs`).
fn exec_transaction(engine: &Engine, client: &mut Client, exec: &Resolved, out: &mut Reply) -> Outcome {
    use crate::commands::multi::end_transaction;
    let started_us = crate::util::now_us();
    let Some(tx) = client.multi.take() else {
        return reject(engine, client, exec, out, Error::err("EXEC without MULTI"));
    };
    if tx.aborted {
        end_transaction(engine, client);
        return reject(
            engine,
            client,
            exec,
            out,
            Error::coded("EXECABORT Transaction discarded because of previous errors.".to_string()),
        );
    }
    // A watched key that expired since WATCH fails the transaction like a change would,
    // even if nothing deleted it yet (Valkey's `isWatchedKeyExpired`).
    let now = crate::util::now_ms();
    let expired = client.watched.iter().any(|w| w.deadline_ms.is_some_and(|t| now > t));
    if expired || client.shared.flags.lock().dirty_cas {
        end_transaction(engine, client);
        out.null_array();
        engine.stats.local(|b| b.call(exec.id, 0, false));
        return Outcome::Continue;
    }
    // Resolve every queued command and the shards they need. SELECT inside the transaction
    // changes the database of the commands after it.
    let mut db = client.db;
    let mut locks = LockSet::new();
    let mut all_flags = 0;
    let mut holds_script = false;
    let mut resolved = Vec::with_capacity(tx.queued.len());
    for argv in &tx.queued {
        let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        let Lookup::Found(cmd) = engine.commands.lookup(&args) else {
            // Unknown commands were refused while queuing.
            continue;
        };
        all_flags |= cmd.def.flags;
        let saved = client.db;
        client.db = db;
        if matches!(cmd.def.lock, Lock::Script) {
            // A script in a transaction runs under every lock: taking more shards as it goes
            // is for a script alone.
            holds_script = true;
            for d in 0..engine.keyspace.databases() {
                locks.add_db(d);
            }
        } else if let Ok(set) = lock_set(engine, client, cmd, &args) {
            locks.merge(&set);
        }
        client.db = saved;
        if cmd.def.name == "select" && args.len() == 2 {
            if let Ok(d) = crate::commands::db_index_arg(args[1], engine.keyspace.databases()) {
                db = d;
            }
        }
        resolved.push((cmd, args));
    }
    if engine.pause.blocks(all_flags) {
        // Run again once the pause ends, as it was queued.
        client.multi = Some(tx);
        return Outcome::Paused;
    }
    // A transaction holding a script takes the script slot first, like a script command:
    // without it, a script holding no shard (no keys) could wait for a shard this EXEC holds
    // while the EXEC's own script waits for the Lua state that script holds.
    let script_slot = if holds_script {
        match engine.scripting.take_slot() {
            Some(slot) => Some(slot),
            None => {
                client.multi = Some(tx);
                return Outcome::WaitScript;
            }
        }
    } else {
        None
    };
    let Some(guards) = engine.keyspace.lock_unless(&locks, || keep_waiting_for_locks(engine)) else {
        // Run again once the script is over (or answer BUSY past its threshold).
        client.multi = Some(tx);
        return Outcome::WaitScript;
    };
    client.shared.flags.lock().multi = false;
    client.shared.multi.store(-1, Relaxed);
    client.shared.multi_mem.store(0, Relaxed);

    let now_ms = started_us / 1000;
    let mut keys = Keys::new(engine, guards, client.db, now_ms, !client.no_touch);
    keys.may_block = false;
    keys.caller = client.id();
    let mut ops = Vec::new();
    out.array(resolved.len());
    // One context for the whole transaction: each command gets the same locks, the client's
    // current database, and its own place in the reply.
    let mut ctx = Ctx { keys, out, client, engine, cmd: exec };
    for (cmd, args) in &resolved {
        ctx.cmd = cmd;
        ctx.keys.db = ctx.client.db;
        let db_before = ctx.client.db;
        let dirty_before = ctx.keys.effects.dirty;
        let reply_start = ctx.out.len();
        let errors_before = ctx.out.error_count();
        let cmd_started = crate::util::now_us();
        let result = match cmd.def.handler {
            Some(handler) => handler(&mut ctx, args),
            None => Err(Error::internal("command has no handler")),
        };
        if let Err(e) = result {
            ctx.out.truncate(reply_start);
            ctx.out.error_bytes(e.text());
        }
        if let Some(req) = ctx.keys.effects.block.take() {
            // A blocking command that found nothing answers as if it timed out.
            (req.waiter.timeout_reply)(ctx.out);
        }
        if ctx.client.tracking {
            crate::tracking::after_command(engine, ctx.client, cmd, args, true);
        }
        let effects = &mut ctx.keys.effects;
        let own = std::mem::take(&mut effects.own);
        if engine.propagation.is_active() {
            ops.append(&mut effects.propagate);
            if effects.dirty > dirty_before || matches!(own, crate::db::Propagate::Forced) {
                match own {
                    crate::db::Propagate::AsCalled | crate::db::Propagate::Forced => ops
                        .push(crate::propagate::Op { db: db_before, argv: args.iter().map(|a| a.to_vec()).collect() }),
                    crate::db::Propagate::As(rewritten) => {
                        ops.push(crate::propagate::Op { db: db_before, argv: rewritten })
                    }
                    crate::db::Propagate::Nothing => {}
                }
            }
        }
        let usec = crate::util::now_us().saturating_sub(cmd_started);
        let failed = ctx.out.error_count() > errors_before;
        engine.stats.local(|b| {
            b.call(cmd.id, usec, failed);
            b.add(Counter::CommandsProcessed, 1);
        });
        slowlog(engine, ctx.client, cmd, args, usec);
        if engine.monitors.active() {
            feed_monitors(engine, ctx.client, cmd, args, &ctx.client.shared.addr);
        }
    }
    let Ctx { mut keys, out, client, .. } = ctx;
    engine.propagation.append(&ops, true);
    if !keys.effects.ready.is_empty() {
        keys.serve_ready();
    }
    keys.unlock();
    drop(script_slot);
    let effects = &mut keys.effects;
    if !effects.retry.is_empty() {
        serve_retries(engine, std::mem::take(&mut effects.retry), client.no_touch);
    }
    if client.tracking {
        crate::tracking::after_command(engine, client, exec, &[], false);
    }
    if engine.tracking.active() {
        after_tracked_changes(engine);
    }
    let usec = crate::util::now_us().saturating_sub(started_us);
    engine.stats.local(|b| {
        b.call(exec.id, usec, false);
        b.add(Counter::CommandsProcessed, 1);
        b.add(Counter::CommandUsec, usec);
        b.add(Counter::KeyspaceHits, effects.hits);
        b.add(Counter::KeyspaceMisses, effects.misses);
        b.add(Counter::ExpiredKeys, effects.expired);
        b.add(Counter::Dirty, effects.dirty);
    });
    record_errors(engine, out);
    client.shared.db.store(client.db, Relaxed);
    crate::commands::multi::unwatch_all(engine, client);
    if client.close_after_reply {
        Outcome::Close
    } else {
        Outcome::Continue
    }
}

/// After a command, while clients track keys: send what BCAST prefixes collected, and keep
/// the tracking table within `tracking-table-max-keys`.
fn after_tracked_changes(engine: &Engine) {
    engine.tracking.broadcast(engine);
    engine.tracking.limit(engine, engine.config.hot.tracking_table_max_keys.load(Relaxed) as usize);
}

/// Serves waiters whose serving needed locks their writer did not hold (BLMOVE to a key in a
/// shard the writer had not locked): lock their whole database, in order, and serve from the
/// ready key again, first come first served.
fn serve_retries(engine: &Engine, mut retry: Vec<(std::sync::Arc<crate::blocking::Waiter>, Vec<u8>)>, no_touch: bool) {
    // Each round holds every shard of the databases involved, so a retry cannot ask for a
    // retry again; the bound is only a safety net.
    for _ in 0..4 {
        if retry.is_empty() {
            return;
        }
        let mut locks = LockSet::new();
        for (w, _) in &retry {
            locks.add_db(w.db);
        }
        let guards = lock_giving_way(engine, &locks);
        let mut keys = Keys::new(engine, guards, retry[0].0.db, crate::util::now_ms(), !no_touch);
        for (w, key) in retry.drain(..) {
            if !keys.effects.ready.iter().any(|(d, k)| *d == w.db && *k == key) {
                keys.effects.ready.push_back((w.db, key));
            }
        }
        keys.serve_ready();
        retry = std::mem::take(&mut keys.effects.retry);
        let dirty = keys.effects.dirty;
        engine.stats.local(|b| b.add(Counter::Dirty, dirty));
    }
}

/// Whether a protected command (DEBUG, MODULE) may run for this client, per
/// `enable-debug-command` / `enable-module-command` (Valkey's `allowProtectedAction`).
fn protected_allowed(engine: &Engine, client: &Client, name: &str) -> bool {
    use crate::config::{PROTECTION_LOCAL, PROTECTION_YES};
    let level = match name {
        "debug" => engine.config.hot.enable_debug_command.load(Relaxed),
        _ => match engine.config.get("enable-module-command").as_str() {
            "yes" => PROTECTION_YES,
            "local" => PROTECTION_LOCAL,
            _ => 0,
        },
    };
    level == PROTECTION_YES || (level == PROTECTION_LOCAL && client.shared.is_local())
}

fn protected_error(name: &str) -> Error {
    let (cmd, option) =
        if name == "debug" { ("DEBUG", "enable-debug-command") } else { ("MODULE", "enable-module-command") };
    Error::err(format!(
        "{cmd} command not allowed. If the {option} option is set to \"local\", you can run it from a local \
         connection, otherwise you need to set this option in the configuration file, and then restart the server."
    ))
}

/// Appends what a command changed to the propagation stream: the records it made on the way
/// (expired keys it deleted), then itself as called or as it asked to be rewritten — if it
/// changed anything. Several records are one MULTI/EXEC unless the command may touch arbitrary
/// keys (SCAN, RANDOMKEY), as in Valkey.
fn propagate(engine: &Engine, keys: &mut Keys<'_>, cmd: &Resolved, argv: &[&[u8]], db: usize) {
    use crate::db::Propagate;
    let mut ops = std::mem::take(&mut keys.effects.propagate);
    let own = std::mem::take(&mut keys.effects.own);
    let transaction = cmd.def.flags & flags::TOUCHES_ARBITRARY_KEYS == 0;
    if keys.effects.dirty > 0 || matches!(own, Propagate::Forced) {
        match own {
            // The common case: the command as received, encoded from the request buffer.
            Propagate::AsCalled | Propagate::Forced => {
                engine.propagation.append_command(&ops, db, argv, transaction);
                return;
            }
            Propagate::As(rewritten) => ops.push(crate::propagate::Op { db, argv: rewritten }),
            Propagate::Nothing => {}
        }
    }
    engine.propagation.append(&ops, transaction);
}

/// Which shards `cmd` needs (a script: those of its declared keys to start with).
pub(crate) fn lock_set(engine: &Engine, client: &Client, cmd: &Resolved, argv: &[&[u8]]) -> Result<LockSet, Error> {
    let mut set = LockSet::new();
    match cmd.def.lock {
        Lock::None => {}
        Lock::Keys | Lock::Script => {
            cmd.def.for_each_key_position(argv, |i| set.add_key(client.db, argv[i]));
        }
        Lock::Db => set.add_db(client.db),
        Lock::AllDbs => {
            for db in 0..engine.keyspace.databases() {
                set.add_db(db);
            }
        }
        Lock::Custom(f) => return f(client.db, argv, engine.keyspace.databases()).map_err(Error::coded),
    }
    Ok(set)
}

/// Replies with an error for a command that was refused before running (which makes a
/// transaction being queued fail at EXEC).
fn reject(engine: &Engine, client: &mut Client, cmd: &Resolved, out: &mut Reply, e: Error) -> Outcome {
    flag_transaction(client);
    if cmd.def.name == "exec" && cmd.parent.is_none() && client.multi.is_some() {
        // A refused EXEC (OOM, BUSY...) discards the transaction and says why (Valkey's
        // `execCommandAbort`).
        crate::commands::multi::end_transaction(engine, client);
        let mut text = b"EXECABORT Transaction discarded because of: ".to_vec();
        text.extend_from_slice(e.text());
        out.error_bytes(&text);
    } else {
        out.error_bytes(e.text());
    }
    engine.stats.local(|b| b.rejected(cmd.id));
    record_errors(engine, out);
    Outcome::Continue
}

/// Logs a command that took long enough in the slow log, unless Valkey leaves it out (EXEC is
/// logged as the commands it ran).
#[inline]
pub(crate) fn slowlog(engine: &Engine, client: &Client, cmd: &Resolved, argv: &[&[u8]], usec: u64) {
    if crate::slowlog::SlowLog::wants(&engine.config, usec) && cmd.def.flags & flags::SKIP_SLOWLOG == 0 {
        engine.slowlog.push(&engine.config, &client.shared, &cmd.full_name, argv, usec);
    }
}

/// Shows an executed command to the monitors, unless it is an administrative one (CONFIG,
/// DEBUG, MONITOR...) or a script (shown when it starts, `scripting::run`). `peer` is the
/// client's address, or `lua` for a command a script called.
pub(crate) fn feed_monitors(engine: &Engine, client: &Client, cmd: &Resolved, argv: &[&[u8]], peer: &str) {
    if cmd.def.flags & (flags::ADMIN | flags::SKIP_MONITOR) == 0 {
        engine.monitors.feed(engine, &cmd.full_name, client.db, peer, argv);
    }
}

fn record_errors(engine: &Engine, out: &mut Reply) {
    if out.error_count() > 0 {
        for code in out.take_errors() {
            engine.stats.record_error(&code);
        }
    }
}

fn truncated(a: &[u8], max: usize) -> &[u8] {
    let end = a.iter().position(|&b| b == 0).unwrap_or(a.len()).min(max);
    &a[..end]
}

/// Valkey's text: `ERR unknown command 'foo', with args beginning with: 'a' 'b' `.
fn unknown_command_text(argv: &[&[u8]]) -> Vec<u8> {
    let mut args: Vec<u8> = Vec::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push(b'\'');
        args.extend_from_slice(truncated(a, room));
        args.extend_from_slice(b"' ");
    }
    let mut text = b"ERR unknown command '".to_vec();
    text.extend_from_slice(truncated(argv[0], 128));
    text.extend_from_slice(b"', with args beginning with: ");
    text.extend_from_slice(&args);
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::Engine;

    /// Runs commands against a fresh engine and returns the raw RESP2 output of each.
    pub(crate) fn run(engine: &Engine, client: &mut Client, cmd: &[&str]) -> String {
        let argv: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        let mut out = Reply::new(client.resp3);
        execute(engine, client, &argv, &mut out);
        String::from_utf8_lossy(out.as_bytes()).into_owned()
    }

    /// The pushes waiting in a client's mailbox, as text (drained).
    pub(crate) fn pushes(c: &Client) -> String {
        let mut out = Reply::new(false);
        c.shared.mailbox.drain_into(&mut out);
        String::from_utf8_lossy(out.as_bytes()).into_owned()
    }

    pub(crate) fn client(engine: &Engine) -> Client {
        Client::new(engine.clients.register("127.0.0.1:1".into(), "127.0.0.1:6379".into(), -1), true)
    }

    #[test]
    fn unknown_command_and_arity_errors() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        assert_eq!(
            run(&e, &mut c, &["foo", "a", "b"]),
            "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"
        );
        assert_eq!(run(&e, &mut c, &["foo"]), "-ERR unknown command 'foo', with args beginning with: \r\n");
        assert_eq!(run(&e, &mut c, &["GET"]), "-ERR wrong number of arguments for 'get' command\r\n");
        assert_eq!(run(&e, &mut c, &["config", "nope"]), "-ERR unknown subcommand 'nope'. Try CONFIG HELP.\r\n");
        assert_eq!(run(&e, &mut c, &["config"]), "-ERR wrong number of arguments for 'config' command\r\n");
    }

    #[test]
    fn noauth_until_authenticated() {
        let e = Engine::for_tests();
        let mut c = Client::new(e.clients.register("a".into(), "b".into(), -1), false);
        assert_eq!(run(&e, &mut c, &["get", "x"]), "-NOAUTH Authentication required.\r\n");
        assert_eq!(run(&e, &mut c, &["ping"]), "-NOAUTH Authentication required.\r\n");
    }

    #[test]
    fn client_reply_modes() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        assert_eq!(run(&e, &mut c, &["client", "reply", "skip"]), "");
        assert_eq!(run(&e, &mut c, &["ping"]), "");
        assert_eq!(run(&e, &mut c, &["ping"]), "+PONG\r\n");
        assert_eq!(run(&e, &mut c, &["client", "reply", "off"]), "");
        assert_eq!(run(&e, &mut c, &["ping"]), "");
        assert_eq!(run(&e, &mut c, &["client", "reply", "on"]), "+OK\r\n");
    }
}
