//! Server commands: CONFIG, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME and SHUTDOWN. INFO lives in
//! `info.rs` and DEBUG in `debug.rs`.

use super::table::{acl, flags::*, reply_help, Command, Doc, DocMeta, Lock};
use super::{errors, is, CmdResult, Ctx, Error};
use crate::engine::{LogLevel, ShutdownRequest};
use crate::keyspace::LockSet;
use std::sync::atomic::Ordering::Relaxed;

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "server", complexity, syntax }
}

const FLUSH_HISTORY: &[(&str, &str)] =
    &[("4.0.0", "Added the `ASYNC` flushing mode modifier."), ("6.2.0", "Added the `SYNC` flushing mode modifier.")];

pub static COMMANDS: &[Command] = &[
    Command {
        name: "dbsize",
        arity: 1,
        flags: READONLY | FAST,
        acl: acl::KEYSPACE,
        lock: Lock::Db,
        handler: Some(dbsize),
        tips: &["request_policy:all_shards", "response_policy:agg_sum"],
        doc: doc("Returns the number of keys in the database.", "1.0.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "flushdb",
        arity: -1,
        flags: WRITE,
        acl: acl::KEYSPACE | acl::DANGEROUS,
        lock: Lock::Db,
        handler: Some(flushdb),
        tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
        doc: doc(
            "Remove all keys from the current database.",
            "1.0.0",
            "O(N) where N is the number of keys in the selected database",
            "[ASYNC | SYNC]",
        ),
        doc_meta: DocMeta { history: FLUSH_HISTORY, ..DocMeta::NONE },
        ..Command::DEFAULT
    },
    Command {
        name: "flushall",
        arity: -1,
        flags: WRITE,
        acl: acl::KEYSPACE | acl::DANGEROUS,
        lock: Lock::AllDbs,
        handler: Some(flushall),
        tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
        doc: doc(
            "Removes all keys from all databases.",
            "1.0.0",
            "O(N) where N is the total number of keys in all databases",
            "[ASYNC | SYNC]",
        ),
        doc_meta: DocMeta { history: FLUSH_HISTORY, ..DocMeta::NONE },
        ..Command::DEFAULT
    },
    Command {
        name: "swapdb",
        arity: 3,
        flags: WRITE | FAST,
        acl: acl::KEYSPACE | acl::DANGEROUS,
        lock: Lock::Custom(swapdb_lock),
        handler: Some(swapdb),
        doc: doc(
            "Swaps two databases.",
            "4.0.0",
            "O(N) where N is the count of clients watching or blocking on keys from both databases.",
            "index1:integer index2:integer",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "time",
        arity: 1,
        flags: LOADING | STALE | FAST,
        handler: Some(time),
        tips: &["nondeterministic_output"],
        doc: doc("Returns the server time.", "2.6.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "shutdown",
        arity: -1,
        flags: ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        // The final save needs every shard (the dispatcher gives it none while a timed-out
        // script or a load holds them: it does not save then).
        lock: Lock::AllDbs,
        handler: Some(shutdown),
        doc: doc(
            "Synchronously saves the database(s) to disk and shuts down the server.",
            "1.0.0",
            "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
            "[NOSAVE | SAVE] [NOW] [FORCE] [ABORT]",
        ),
        doc_meta: DocMeta { history: &[("7.0.0", "Added the `NOW`, `FORCE` and `ABORT` modifiers.")], ..DocMeta::NONE },
        ..Command::DEFAULT
    },
    Command {
        name: "config",
        arity: -2,
        subcommands: CONFIG_SUBCOMMANDS,
        doc: doc("A container for server configuration commands.", "2.0.0", "Depends on subcommand.", ""),
        ..Command::DEFAULT
    },
];

const ALL_NODES: &[&str] = &["request_policy:all_nodes", "response_policy:all_succeeded"];

static CONFIG_SUBCOMMANDS: &[Command] = &[
    Command {
        name: "get",
        arity: -3,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        handler: Some(config_get),
        doc: doc(
            "Returns the effective values of configuration parameters.",
            "2.0.0",
            "O(N) when N is the number of configuration parameters provided",
            "parameter [parameter ...]",
        ),
        doc_meta: DocMeta {
            history: &[("7.0.0", "Added the ability to pass multiple pattern parameters in one call")],
            ..DocMeta::NONE
        },
        ..Command::DEFAULT
    },
    Command {
        name: "set",
        arity: -4,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        handler: Some(config_set),
        tips: ALL_NODES,
        doc: doc(
            "Sets configuration parameters in-flight.",
            "2.0.0",
            "O(N) when N is the number of configuration parameters provided",
            "parameter value [parameter value ...]",
        ),
        doc_meta: DocMeta {
            history: &[("7.0.0", "Added the ability to set multiple parameters in one call.")],
            ..DocMeta::NONE
        },
        ..Command::DEFAULT
    },
    Command {
        name: "resetstat",
        arity: 2,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        handler: Some(config_resetstat),
        tips: ALL_NODES,
        doc: doc("Resets the server's statistics.", "2.0.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "rewrite",
        arity: 2,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        handler: Some(config_rewrite),
        tips: ALL_NODES,
        doc: doc("Persists the effective configuration to file.", "2.8.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "help",
        arity: 2,
        flags: LOADING | STALE,
        handler: Some(config_help),
        doc: doc("Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""),
        ..Command::DEFAULT
    },
];

fn dbsize(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let db = ctx.keys.db;
    let n: usize = ctx.keys.shards(db).map(|s| s.len()).sum();
    ctx.out.int(n as i64);
    Ok(())
}

/// Parses the optional ASYNC|SYNC argument of FLUSHDB/FLUSHALL.
fn flush_async(ctx: &Ctx, argv: &[&[u8]]) -> Result<bool, Error> {
    match argv {
        [_] => Ok(ctx.engine.config.hot.lazyfree_lazy_user_flush.load(Relaxed)),
        [_, a] if is(a, "async") => Ok(true),
        [_, a] if is(a, "sync") => Ok(false),
        _ => Err(errors::SYNTAX),
    }
}

pub(crate) fn flush_db(ctx: &mut Ctx, db: usize, lazy: bool) -> u64 {
    let engine = ctx.engine;
    let mut removed = 0;
    // Clients blocked on a key that goes get a chance to see it gone (Valkey's
    // `scanDatabaseForDeletedKeys`): XREADGROUP answers NOGROUP, the others keep waiting.
    let mut gone = Vec::new();
    for shard in ctx.keys.shards(db) {
        if !shard.waiters.is_empty() {
            for k in shard.waiters.keys() {
                if shard.find(crate::keyspace::hash_key(&k), &k).is_some() {
                    gone.push(k);
                }
            }
        }
    }
    for shard in ctx.keys.shards(db) {
        removed += shard.len() as u64;
        let old = shard.take();
        if lazy {
            engine.lazy_free_shard(old);
        } else {
            drop(old);
        }
    }
    for k in gone {
        ctx.keys.signal_ready(db, &k);
    }
    removed
}

fn flushdb(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let lazy = flush_async(ctx, argv)?;
    let db = ctx.keys.db;
    // Tracking clients are told that everything is invalid (the table is not per database).
    ctx.engine.tracking.invalidate_all(ctx.engine);
    let removed = flush_db(ctx, db, lazy);
    ctx.keys.effects.dirty += removed;
    ctx.keys.propagate_always();
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let lazy = flush_async(ctx, argv)?;
    ctx.engine.tracking.invalidate_all(ctx.engine);
    let mut removed = 0;
    for db in 0..ctx.engine.keyspace.databases() {
        removed += flush_db(ctx, db, lazy);
    }
    // Valkey 8 counts the removed keys as changes; with save points configured it then saves
    // the (empty) dataset, which covers them. A failed save is logged, not replied.
    ctx.keys.effects.dirty += removed;
    if !crate::persist::save_points(&ctx.engine.config.get("save")).is_empty() {
        let pending = ctx.keys.effects.dirty;
        let _ = crate::persist::save(ctx.engine, &mut ctx.keys, pending);
    }
    ctx.keys.propagate_always();
    ctx.out.ok();
    Ok(())
}

/// Parses a database index the way SWAPDB does (`getIntFromObjectOrReply`).
fn db_index(a: &[u8], err: &'static str) -> Result<i64, String> {
    resp::number::parse_i64(a).filter(|v| i32::try_from(*v).is_ok()).ok_or_else(|| format!("ERR {err}"))
}

fn swap_indexes(argv: &[&[u8]], databases: usize) -> Result<(usize, usize), String> {
    let a = db_index(argv[1], "invalid first DB index")?;
    let b = db_index(argv[2], "invalid second DB index")?;
    let valid = |i: i64| i >= 0 && (i as u64) < databases as u64;
    if !valid(a) || !valid(b) {
        return Err(String::from_utf8_lossy(errors::DB_INDEX.text()).into_owned());
    }
    Ok((a as usize, b as usize))
}

/// SWAPDB locks every shard of both databases.
fn swapdb_lock(_db: usize, argv: &[&[u8]], databases: usize) -> Result<LockSet, String> {
    let (a, b) = swap_indexes(argv, databases)?;
    let mut set = LockSet::new();
    set.add_db(a);
    set.add_db(b);
    Ok(set)
}

fn swapdb(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (a, b) = swap_indexes(argv, ctx.engine.keyspace.databases()).map_err(Error::coded)?;
    if a != b {
        if !ctx.keys.holds_all(a) || !ctx.keys.holds_all(b) {
            return Err(Error::internal("SWAPDB without the locks of both databases"));
        }
        // Shard i of one database becomes shard i of the other: keys hash to the same shard
        // in every database, so the contents stay where lookups will look for them. Blocked
        // and watching clients stay with their database (`take_for_swap` and `swap_contents`
        // leave them); each database's watched keys are touched by what replaces them.
        let mut from_a: Vec<_> = ctx.keys.shards(a).map(|s| s.take_for_swap()).collect();
        let mut from_b: Vec<_> = ctx.keys.shards(b).map(|s| s.take_for_swap()).collect();
        for ((s, before), after) in ctx.keys.shards(a).zip(from_a.iter_mut()).zip(from_b.iter_mut()) {
            s.touch_watched_swap(before, after);
        }
        for ((s, before), after) in ctx.keys.shards(b).zip(from_b.iter_mut()).zip(from_a.iter_mut()) {
            s.touch_watched_swap(before, after);
        }
        for (s, data) in ctx.keys.shards(a).zip(from_b.iter_mut()) {
            s.swap_contents(data);
        }
        for (s, data) in ctx.keys.shards(b).zip(from_a.iter_mut()) {
            s.swap_contents(data);
        }
        // Clients blocked on a key that now exists may be served (Valkey's
        // `scanDatabaseForReadyKeys`).
        for db in [a, b] {
            let ready: Vec<Vec<u8>> = ctx
                .keys
                .shards(db)
                .flat_map(|s| {
                    let keys = s.waiters.keys();
                    keys.into_iter().filter(|k| s.find(crate::keyspace::hash_key(k), k).is_some()).collect::<Vec<_>>()
                })
                .collect();
            for key in ready {
                ctx.keys.signal_ready(db, &key);
            }
        }
    }
    ctx.keys.effects.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn time(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    // Inside a script, time stands still: TIME answers when the script started.
    let now_us =
        if ctx.in_script() { ctx.engine.scripting.run.started_us.load(Relaxed) } else { crate::util::now_us() };
    ctx.out.array(2);
    ctx.out.bulk_i64((now_us / 1_000_000) as i64);
    ctx.out.bulk_i64((now_us % 1_000_000) as i64);
    Ok(())
}

/// The final save a shutdown may require (SHUTDOWN SAVE, or save points configured). When it
/// fails SHUTDOWN refuses to exit (the data would be lost) unless FORCE is given, as Valkey's.
fn save_before_exit(ctx: &mut Ctx) -> Result<(), crate::persist::SaveFailed> {
    let engine = ctx.engine;
    if engine.persistence.bgsave_in_progress().is_some() {
        engine.log(LogLevel::Notice, "There is a background save in progress: waiting for it before the final save.");
    }
    if (0..engine.keyspace.databases()).all(|db| ctx.keys.holds_all(db)) {
        return crate::persist::save(engine, &mut ctx.keys, 0);
    }
    // Dispatched without shards because a script was busy or a load ran, neither of which
    // is the case any more: take them now rather than save an empty image.
    let mut keys = crate::persist::lock_all(engine);
    crate::persist::save(engine, &mut keys, 0)
}

fn shutdown(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut req = ShutdownRequest::default();
    let mut abort = false;
    for a in &argv[1..] {
        if is(a, "nosave") {
            if req.save == Some(true) {
                return Err(errors::SYNTAX);
            }
            req.save = Some(false);
        } else if is(a, "save") {
            if req.save == Some(false) {
                return Err(errors::SYNTAX);
            }
            req.save = Some(true);
        } else if is(a, "now") {
            req.now = true;
        } else if is(a, "force") {
            req.force = true;
        } else if is(a, "abort") {
            abort = true;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    if abort && (req != ShutdownRequest::default()) {
        return Err(errors::SYNTAX);
    }
    if abort {
        // A shutdown never waits here (there are no replicas to wait for), so none is ever
        // in progress when ABORT could reach it.
        return Err(Error::err("No shutdown in progress."));
    }
    let engine = ctx.engine;
    // While the dataset loads nothing is saved, whatever was asked: the file would hold half
    // of it (Valkey forces NOSAVE).
    let must_save = !engine.persistence.loading.is_active()
        && (req.save == Some(true) || (req.save.is_none() && !engine.config.get("save").is_empty()));
    // A timed-out script holds every shard: only SHUTDOWN NOSAVE can stop the server then.
    if must_save
        && engine
            .scripting
            .busy(crate::util::now_ms(), engine.config.hot.busy_reply_threshold_ms.load(Relaxed).max(0) as u64)
    {
        return Err(Error::coded(engine.scripting.busy_error()));
    }
    let mut info = String::new();
    let hide = engine.config.get_bool("hide-user-data-from-log");
    ctx.client.shared.write_info(&mut info, crate::util::now_ms(), &ctx.cmd.full_name, hide);
    engine.log(LogLevel::Notice, &format!("User requested shutdown... (user request from '{info}')"));
    if must_save {
        engine.log(LogLevel::Notice, "Saving the final RDB snapshot before exiting.");
        if save_before_exit(ctx).is_err() {
            if req.force {
                engine.log(LogLevel::Warning, "Error trying to save the DB. Exit anyway.");
            } else {
                engine.log(LogLevel::Warning, "Error trying to save the DB, can't exit.");
                engine.log(
                    LogLevel::Warning,
                    "Errors trying to shut down the server. Check the logs for more information.",
                );
                return Err(Error::err("Errors trying to SHUTDOWN. Check logs."));
            }
        }
    }
    engine.host.shutdown(req).map_err(Error::coded)?;
    // Like Valkey, which exits inside the command: no reply, the connection just closes.
    ctx.client.close_after_reply = true;
    Ok(())
}

fn config_get(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let found = ctx.engine.config.get_matching(&argv[2..]);
    ctx.out.map(found.len());
    for (name, value) in found {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
    Ok(())
}

fn config_set(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let rest = &argv[2..];
    if !rest.len().is_multiple_of(2) {
        return Err(errors::SYNTAX);
    }
    let pairs: Vec<(&[u8], &[u8])> = rest.chunks(2).map(|c| (c[0], c[1])).collect();
    let config = &ctx.engine.config;
    let protected_ok = match config.get("enable-protected-configs").as_str() {
        "yes" => true,
        "local" => ctx.client.shared.is_local(),
        _ => false,
    };
    // Old values, to roll back if applying the new ones fails.
    let names: Vec<&'static str> =
        pairs.iter().filter_map(|(n, _)| config.param(&String::from_utf8_lossy(n)).map(|p| p.name)).collect();
    let old: Vec<(&'static str, String)> = names.iter().map(|n| (*n, config.get(n))).collect();
    config.set_many(&pairs, protected_ok, ctx.engine.persistence.loading.is_active()).map_err(Error::coded)?;
    if let Err((name, reason)) = apply_config(ctx, &old) {
        ctx.engine.log(
            LogLevel::Warning,
            &format!(
                "Failed applying new configuration. Possibly related to new {name} setting. Restoring previous settings."
            ),
        );
        let restore: Vec<(&[u8], &[u8])> = old.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())).collect();
        if let Err(e) = ctx.engine.config.set_many(&restore, true, false) {
            ctx.engine.log(LogLevel::Warning, &format!("Restoring the previous settings failed: {e}"));
        }
        return Err(Error::err(format!("CONFIG SET failed (possibly related to argument '{name}') - {reason}")));
    }
    ctx.out.ok();
    Ok(())
}

/// Acts on settings that need more than storing (Valkey's apply functions): the listening
/// sockets for `port` and `bind`, the working directory for `dir`. `old` holds the values
/// before the change; only what changed is applied. Returns the directive and Valkey's reason
/// on failure.
fn apply_config(ctx: &Ctx, old: &[(&'static str, String)]) -> Result<(), (&'static str, &'static str)> {
    let engine = ctx.engine;
    let config = &engine.config;
    let changed = |name: &str| old.iter().any(|(n, v)| *n == name && *v != config.get(name));
    let mut listened = false;
    for (name, _) in old {
        match *name {
            "port" | "bind" if changed(name) && !listened => {
                listened = true;
                let port = config.get_i64("port").clamp(0, 65535) as u16;
                // The host logs why it could not listen.
                if engine.host.listen(port, &config.get("bind")).is_err() {
                    return Err(if *name == "port" {
                        ("port", "Unable to listen on this port. Check server logs.")
                    } else {
                        ("bind", "Failed to bind to specified addresses.")
                    });
                }
            }
            "appendonly" if changed(name) => {
                if config.get_bool("appendonly") {
                    if !ctx.keys.may_block {
                        // Inside EXEC, which holds locks of its own: the cron switches it on.
                        engine.aof.enable_scheduled.store(true, Relaxed);
                        engine.log(
                            LogLevel::Notice,
                            "AOF was enabled during a transaction. An AOF background was scheduled to start when \
                             possible.",
                        );
                    } else if crate::aof::enable(engine).is_err() {
                        return Err(("appendonly", "Unable to turn on AOF. Check server logs."));
                    }
                } else {
                    engine.aof.enable_scheduled.store(false, Relaxed);
                    crate::aof::disable(engine);
                }
            }
            "appendfsync" if changed(name) => {
                engine.aof.set_fsync(crate::aof::Fsync::parse(&config.get("appendfsync")));
            }
            "dir" if changed(name) && std::env::set_current_dir(config.get("dir")).is_err() => {
                return Err(("dir", "No such file or directory"));
            }
            // Valkey's `updateMaxmemory`: eviction starts at once, without waiting for a
            // command, and the memory figure it decides on is made exact now.
            "maxmemory" => {
                let maxmemory = config.hot.maxmemory.load(Relaxed);
                if maxmemory != 0 {
                    crate::evict::resync(engine);
                    let used = engine.evictor.meter.used();
                    if maxmemory < used {
                        engine.log(
                            LogLevel::Warning,
                            &format!(
                                "WARNING: the new maxmemory value set via CONFIG SET ({maxmemory}) is smaller than the \
                                 current memory usage ({used}). This will result in key eviction and/or the inability \
                                 to accept new write commands depending on the maxmemory-policy."
                            ),
                        );
                    }
                    engine.evictor.wake();
                }
            }
            "maxmemory-policy" if changed(name) => {
                engine.evictor.reset();
                engine.evictor.wake();
            }
            _ => {}
        }
    }
    Ok(())
}

fn config_resetstat(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let engine = ctx.engine;
    engine.stats.reset();
    engine.reset_lazyfree_stats();
    engine.expired_stale_perc.store(0f64.to_bits(), Relaxed);
    ctx.out.ok();
    Ok(())
}

fn config_rewrite(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let engine = ctx.engine;
    match crate::config::file::rewrite(&engine.config) {
        Ok(()) => {
            engine.log(LogLevel::Notice, "CONFIG REWRITE executed with success.");
            ctx.out.ok();
            Ok(())
        }
        Err(e) => {
            if engine.config.file.is_some() {
                engine.log(LogLevel::Warning, &format!("CONFIG REWRITE failed: {}", e.trim_start_matches("ERR ")));
            }
            Err(Error::coded(e))
        }
    }
}

fn config_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    reply_help(
        ctx.out,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::engine::Engine;
    use crate::exec::tests::{client, run};

    #[test]
    fn swapdb_swaps_contents_and_checks_indexes() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        run(&e, &mut c, &["set", "a", "0"]);
        run(&e, &mut c, &["select", "1"]);
        run(&e, &mut c, &["set", "b", "1"]);
        run(&e, &mut c, &["set", "c", "1"]);
        assert_eq!(run(&e, &mut c, &["swapdb", "0", "1"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["dbsize"]), ":1\r\n");
        assert_eq!(run(&e, &mut c, &["get", "a"]), "$1\r\n0\r\n");
        run(&e, &mut c, &["select", "0"]);
        assert_eq!(run(&e, &mut c, &["dbsize"]), ":2\r\n");
        assert_eq!(run(&e, &mut c, &["get", "b"]), "$1\r\n1\r\n");
        assert_eq!(run(&e, &mut c, &["swapdb", "0", "0"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["swapdb", "x", "0"]), "-ERR invalid first DB index\r\n");
        assert_eq!(run(&e, &mut c, &["swapdb", "0", "1.5"]), "-ERR invalid second DB index\r\n");
        assert_eq!(run(&e, &mut c, &["swapdb", "0", "16"]), "-ERR DB index is out of range\r\n");
        assert_eq!(run(&e, &mut c, &["swapdb", "-1", "0"]), "-ERR DB index is out of range\r\n");
        assert_eq!(run(&e, &mut c, &["swapdb", "99999999999", "0"]), "-ERR invalid first DB index\r\n");
    }

    #[test]
    fn flushall_counts_removed_keys_as_changes() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        let before = e.stats.dirty();
        assert_eq!(run(&e, &mut c, &["flushall"]), "+OK\r\n");
        assert_eq!(e.stats.dirty(), before);
        run(&e, &mut c, &["set", "a", "1"]);
        run(&e, &mut c, &["set", "b", "1"]);
        assert_eq!(run(&e, &mut c, &["flushall", "sync"]), "+OK\r\n");
        assert_eq!(e.stats.dirty(), before + 4);
        assert_eq!(run(&e, &mut c, &["flushall", "bad"]), "-ERR syntax error\r\n");
        assert_eq!(run(&e, &mut c, &["flushdb", "async", "x"]), "-ERR syntax error\r\n");
    }

    #[test]
    fn time_and_shutdown_arguments() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        let r = run(&e, &mut c, &["time"]);
        assert!(r.starts_with("*2\r\n$10\r\n"), "{r}");
        assert_eq!(run(&e, &mut c, &["shutdown", "save", "nosave"]), "-ERR syntax error\r\n");
        assert_eq!(run(&e, &mut c, &["shutdown", "abort", "now"]), "-ERR syntax error\r\n");
        assert_eq!(run(&e, &mut c, &["shutdown", "bogus"]), "-ERR syntax error\r\n");
        assert_eq!(run(&e, &mut c, &["shutdown", "abort"]), "-ERR No shutdown in progress.\r\n");
        // Save points require a final save; when it fails SHUTDOWN refuses to exit.
        e.config.set("save", &[b"3600", b"1"]).unwrap();
        let file = e.config.get("dbfilename");
        e.config.set("dbfilename", &[b"/nonexistent-dir/dump.rdb"]).unwrap();
        assert_eq!(run(&e, &mut c, &["shutdown"]), "-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
        // FORCE exits anyway (here the test host refuses).
        assert_eq!(run(&e, &mut c, &["shutdown", "force"]), "-ERR shutdown is not available in this embedding\r\n");
        e.config.set("dbfilename", &[file.as_bytes()]).unwrap();
        assert_eq!(run(&e, &mut c, &["shutdown"]), "-ERR shutdown is not available in this embedding\r\n");
        assert!(std::path::Path::new(&file).exists());
        // NOSAVE reaches the host; the test host refuses.
        assert_eq!(run(&e, &mut c, &["shutdown", "nosave"]), "-ERR shutdown is not available in this embedding\r\n");
    }

    #[test]
    fn resetstat_and_rewrite_without_file() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        run(&e, &mut c, &["nope"]);
        assert_eq!(run(&e, &mut c, &["config", "resetstat"]), "+OK\r\n");
        assert!(e.stats.errors().is_empty());
        assert_eq!(run(&e, &mut c, &["config", "rewrite"]), "-ERR The server is running without a config file\r\n");
        assert!(run(&e, &mut c, &["config", "help"]).starts_with("*11\r\n+CONFIG <subcommand>"));
    }
}
