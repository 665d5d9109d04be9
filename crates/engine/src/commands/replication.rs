//! Replication, primary side: SYNC attaches a connection to the propagation stream. The
//! replica gets a point-in-time RDB snapshot started with every shard locked (so it lines up
//! exactly with the first propagated write) and written by a thread while clients keep
//! running (`snapshot.rs`), then every write as it happens.
//!
//! Kvasir is not a replica itself yet (REPLICAOF, PSYNC with partial resynchronisation and
//! the replication backlog are not built); SYNC is what Valkey's test suite and `redis-cli
//! --rdb` use.

use super::table::{acl, flags::*, Command, Doc, Lock};
use super::{CmdResult, Ctx};
use crate::propagate::Sink;
use crate::rdb::{file, SaveOptions, RDB_VERSION};

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
    let engine = ctx.engine;
    // A snapshot of this moment, written by a thread while clients keep running; the sink is
    // attached now, under every shard lock, so the stream starts exactly where the snapshot
    // ends, and it keeps what is propagated until the snapshot goes out first.
    if let Ok(snapshot) = crate::persist::start_snapshot(engine, &mut ctx.keys, RDB_VERSION) {
        let sink = Sink::held();
        let (tx, rx) = std::sync::mpsc::channel::<crate::persist::Snapshot>();
        let feed = sink.clone();
        let spawned = std::thread::Builder::new().name("kvasir-sync".into()).spawn(move || {
            let Ok(snapshot) = rx.recv() else { return };
            crate::snapshot::background_priority();
            match snapshot.write_to(Vec::new()) {
                Ok((rdb, _)) => {
                    // A bulk string without the trailing CRLF, as Valkey sends it.
                    let mut payload = format!("${}\r\n", rdb.len()).into_bytes();
                    payload.extend_from_slice(&rdb);
                    drop(rdb);
                    feed.release(payload);
                }
                Err(_) => feed.close(),
            }
        });
        match spawned {
            Ok(_) => {
                let _ = tx.send(snapshot);
                ctx.engine.propagation.attach(sink.clone());
                ctx.keys.effects.replica = Some(sink);
                return Ok(());
            }
            Err(_) => snapshot.abandon(&mut ctx.keys),
        }
    }
    // Another snapshot is being taken (a BGSAVE): serialize under the locks, as before.
    let opts = SaveOptions { compress: engine.config.get_bool("rdbcompression") };
    let checksum = engine.config.get_bool("rdbchecksum");
    let used = engine.memory().used;
    let libraries = engine.scripting.library_codes();
    let rdb = file::snapshot(&mut ctx.keys, &libraries, engine.keyspace.databases(), opts, checksum, used);
    ctx.out.raw(format!("${}\r\n", rdb.len()).as_bytes());
    ctx.out.raw(&rdb);
    let sink = Sink::new();
    // Attached while every shard is locked: no write can fall between snapshot and stream.
    engine.propagation.attach(sink.clone());
    ctx.keys.effects.replica = Some(sink);
    Ok(())
}
