//! Replication commands. Primary side: SYNC attaches a connection to the propagation stream.
//! The replica gets a point-in-time RDB snapshot started with every shard locked (so it lines
//! up exactly with the first propagated write) and written by a thread while clients keep
//! running (`snapshot.rs`), then every write as it happens. REPLCONF answers what Valkey's
//! replicas say in their handshake. Replica side: REPLICAOF (and SLAVEOF) set the role in
//! `replica.rs`; the server's link thread does the rest. ROLE reports either side.
//!
//! Not built: PSYNC (partial resynchronisation and the replication backlog; a replica of
//! Kvasir falls back to SYNC), WAIT, FAILOVER.

use super::table::{acl, flags::*, Command, Doc, Lock};
use super::{is, CmdResult, Ctx, Error};
use crate::engine::LogLevel;
use crate::propagate::Sink;
use crate::rdb::{file, SaveOptions, RDB_VERSION};

pub static COMMANDS: &[Command] = &[
    Command {
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
    },
    Command {
        name: "replicaof",
        arity: 3,
        flags: ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING,
        acl: acl::DANGEROUS,
        handler: Some(replicaof),
        doc: Doc {
            summary: "Configures a server as replica of another, or promotes it to a master.",
            since: "5.0.0",
            group: "server",
            complexity: "O(1)",
            syntax: "REPLICAOF <host port | NO ONE>",
        },
        ..Command::DEFAULT
    },
    Command {
        name: "slaveof",
        arity: 3,
        flags: ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING,
        acl: acl::DANGEROUS,
        handler: Some(replicaof),
        doc: Doc {
            summary: "Sets a server as a replica of another, or promotes it to being a master.",
            since: "1.0.0",
            group: "server",
            complexity: "O(1)",
            syntax: "SLAVEOF <host port | NO ONE>",
        },
        ..Command::DEFAULT
    },
    Command {
        name: "role",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST,
        acl: 0,
        handler: Some(role),
        doc: Doc {
            summary: "Returns the replication role.",
            since: "2.8.12",
            group: "server",
            complexity: "O(1)",
            syntax: "ROLE",
        },
        ..Command::DEFAULT
    },
    Command {
        name: "replconf",
        arity: -1,
        flags: ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        acl: acl::DANGEROUS,
        handler: Some(replconf),
        doc: Doc {
            summary: "An internal command for configuring the replication stream.",
            since: "3.0.0",
            group: "server",
            complexity: "O(1)",
            syntax: "REPLCONF",
        },
        ..Command::DEFAULT
    },
];

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
                ctx.engine.replica.add_replica(&sink);
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
    engine.replica.add_replica(&sink);
    ctx.keys.effects.replica = Some(sink);
    Ok(())
}

/// REPLICAOF host port | NO ONE (and SLAVEOF).
fn replicaof(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let engine = ctx.engine;
    if ctx.client.shared.flags.lock().replica {
        return Err(Error::err("Command is not valid when client is a replica."));
    }
    let who = format!("id={} addr={}", ctx.client.shared.id, ctx.client.shared.addr);
    if is(argv[1], "no") && is(argv[2], "one") {
        if engine.replica.set_master(None) {
            engine.repl_ids.lock().shift();
            engine.log(LogLevel::Notice, &format!("MASTER MODE enabled (user request from '{who}')"));
        }
        ctx.out.ok();
        return Ok(());
    }
    let port = resp::number::parse_i64(argv[2])
        .filter(|p| (0..=65535).contains(p))
        .ok_or_else(|| Error::err("Invalid master port"))?;
    let host = String::from_utf8_lossy(argv[1]).into_owned();
    if !engine.replica.set_master(Some((host.clone(), port as u16))) {
        engine.log(LogLevel::Notice, "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
        ctx.out.simple("OK Already connected to specified master");
        return Ok(());
    }
    // This server's data will be the new master's: its own replicas must start over.
    engine.replica.disconnect_replicas();
    engine.log(LogLevel::Notice, &format!("REPLICAOF {host}:{port} enabled (user request from '{who}')"));
    ctx.out.ok();
    Ok(())
}

/// ROLE: `master offset replicas` or `slave host port state offset`.
fn role(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let state = ctx.engine.replica.state();
    match &state.master {
        None => {
            ctx.out.array(3);
            ctx.out.bulk(b"master");
            ctx.out.int(0);
            ctx.out.array(0);
        }
        Some((host, port)) => {
            ctx.out.array(5);
            ctx.out.bulk(b"slave");
            ctx.out.bulk(host.as_bytes());
            ctx.out.int(i64::from(*port));
            ctx.out.bulk(state.phase.role_name().as_bytes());
            ctx.out.int(state.offset as i64);
        }
    }
    Ok(())
}

/// REPLCONF option value ...: what a replica says in its handshake (listening-port,
/// ip-address, capa) is accepted; ACK gets no reply (a replica's acknowledgement); GETACK is
/// for replicas, from their master.
fn replconf(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len().is_multiple_of(2) {
        return Err(Error::coded_static("ERR syntax error"));
    }
    for pair in argv[1..].chunks(2) {
        let opt = pair[0];
        if is(opt, "ack") || is(opt, "fack") || is(opt, "getack") {
            return Ok(());
        }
        if !(is(opt, "listening-port")
            || is(opt, "ip-address")
            || is(opt, "capa")
            || is(opt, "rdb-only")
            || is(opt, "rdb-filter-only")
            || is(opt, "version"))
        {
            return Err(Error::err(format!("Unrecognized REPLCONF option: {}", String::from_utf8_lossy(opt))));
        }
    }
    ctx.out.ok();
    Ok(())
}
