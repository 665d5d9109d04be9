//! Server commands: CONFIG, DBSIZE, FLUSHDB, FLUSHALL and the rest of the server family.

use super::table::{acl, flags::*, reply_help, Command, Doc, Lock};
use super::{is, CmdResult, Ctx, Error};

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "server", complexity, syntax }
}

pub static COMMANDS: &[Command] = &[
    Command {
        name: "dbsize",
        arity: 1,
        flags: READONLY | FAST,
        acl: acl::KEYSPACE,
        lock: Lock::Db,
        handler: Some(dbsize),
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
        doc: doc(
            "Remove all keys from the current database.",
            "1.0.0",
            "O(N) where N is the number of keys in the selected database",
            "[ASYNC | SYNC]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "flushall",
        arity: -1,
        flags: WRITE,
        acl: acl::KEYSPACE | acl::DANGEROUS,
        lock: Lock::AllDbs,
        handler: Some(flushall),
        doc: doc(
            "Removes all keys from all databases.",
            "1.0.0",
            "O(N) where N is the total number of keys in all databases",
            "[ASYNC | SYNC]",
        ),
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
        ..Command::DEFAULT
    },
    Command {
        name: "set",
        arity: -4,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        handler: Some(config_set),
        doc: doc(
            "Sets configuration parameters in-flight.",
            "2.0.0",
            "O(N) when N is the number of configuration parameters provided",
            "parameter value [parameter value ...]",
        ),
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
        [_] => Ok(ctx.engine.config.hot.lazyfree_lazy_user_flush.load(std::sync::atomic::Ordering::Relaxed)),
        [_, a] if is(a, "async") => Ok(true),
        [_, a] if is(a, "sync") => Ok(false),
        _ => Err(super::errors::SYNTAX),
    }
}

fn flush_db(ctx: &mut Ctx, db: usize, lazy: bool) -> u64 {
    let engine = ctx.engine;
    let mut removed = 0;
    for shard in ctx.keys.shards(db) {
        removed += shard.len() as u64;
        let old = shard.take();
        if lazy {
            engine.lazy_free_shard(old);
        } else {
            drop(old);
        }
    }
    removed
}

fn flushdb(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let lazy = flush_async(ctx, argv)?;
    let db = ctx.keys.db;
    let removed = flush_db(ctx, db, lazy);
    ctx.keys.effects.dirty += removed;
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let lazy = flush_async(ctx, argv)?;
    let mut removed = 0;
    for db in 0..ctx.engine.keyspace.databases() {
        removed += flush_db(ctx, db, lazy);
    }
    // FLUSHALL always counts as a change, even on an empty keyspace (Valkey: dirty += n + 1).
    ctx.keys.effects.dirty += removed + 1;
    ctx.out.ok();
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
        return Err(Error::err(format!(
            "Unknown option or number of arguments for CONFIG SET - '{}'",
            String::from_utf8_lossy(rest[rest.len() - 1])
        )));
    }
    let pairs: Vec<(&[u8], &[u8])> = rest.chunks(2).map(|c| (c[0], c[1])).collect();
    ctx.engine.config.set_many(&pairs, true).map_err(Error::coded)?;
    ctx.out.ok();
    Ok(())
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
