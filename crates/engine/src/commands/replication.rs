//! Replication, primary side: SYNC attaches a connection to the propagation stream. The
//! replica gets a point-in-time RDB snapshot taken with every shard locked (so it lines up
//! exactly with the first propagated write), then every write as it happens.
//!
//! Kvasir is not a replica itself yet (REPLICAOF, PSYNC with partial resynchronisation and
//! the replication backlog are not built); SYNC is what Valkey's test suite and `redis-cli
//! --rdb` use.

use super::table::{acl, flags::*, Command, Doc, Lock};
use super::{CmdResult, Ctx};
use crate::propagate::Sink;
use crate::rdb::{file, SaveOptions};

pub static COMMANDS: &[Command] = &[Command {
    name: "sync",
    arity: 1,
    flags: ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
    acl: acl::DANGEROUS,
    lock: Lock::AllDbs,
    handler: Some(sync),
    doc: Doc {
        summary: "An internal command used in replication.",
        since: "1.0.0",
        group: "server",
        complexity: "",
        syntax: "",
    },
    ..Command::DEFAULT
}];

fn sync(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let opts = SaveOptions { compress: ctx.engine.config.get_bool("rdbcompression") };
    let checksum = ctx.engine.config.get_bool("rdbchecksum");
    let used = ctx.engine.memory().used;
    let libraries = ctx.engine.scripting.library_codes();
    let rdb = file::snapshot(&mut ctx.keys, &libraries, ctx.engine.keyspace.databases(), opts, checksum, used);
    // The payload is a bulk string without the trailing CRLF, as Valkey sends it.
    ctx.out.raw(format!("${}\r\n", rdb.len()).as_bytes());
    ctx.out.raw(&rdb);
    let sink = Sink::new();
    // Attached while every shard is locked: no write can fall between snapshot and stream.
    ctx.engine.propagation.attach(sink.clone());
    ctx.keys.effects.replica = Some(sink);
    Ok(())
}
