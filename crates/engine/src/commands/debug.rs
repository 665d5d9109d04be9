//! DEBUG: the testing and introspection command the Valkey test suite relies on.
//!
//! DEBUG is one command (not a container), as in Valkey; its first argument picks a
//! subcommand from [`SUBCOMMANDS`]. It is refused unless `enable-debug-command` allows it
//! (checked by the dispatcher for every `PROTECTED` command). Subcommands that need the
//! keyspace say which part they lock; the lock of the whole command is derived from that.
//! Subcommands Kvasir does not implement get Valkey's unknown-subcommand error.

use super::table::{doc_flags, flags::*, Command, Doc, DocMeta, Lock};
use super::{errors, int_arg, is, CmdResult, Ctx, Error};
use crate::engine::{LogLevel, ReplicationIds};
use crate::keyspace::LockSet;
use crate::types::Value;
use std::sync::atomic::Ordering::Relaxed;

pub static COMMANDS: &[Command] = &[Command {
    name: "debug",
    arity: -2,
    flags: ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED,
    lock: Lock::Custom(debug_lock),
    handler: Some(debug),
    doc: Doc {
        summary: "A container for debugging commands.",
        since: "1.0.0",
        group: "server",
        complexity: "Depends on subcommand.",
        syntax: "",
    },
    doc_meta: DocMeta { flags: doc_flags::SYSCMD, ..DocMeta::NONE },
    ..Command::DEFAULT
}];

/// What a subcommand locks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Locks {
    Nothing,
    /// Every shard of the client's database.
    Db,
    /// The whole keyspace (DEBUG SLEEP stalls every key access, as it stalls Valkey).
    Everything,
}

struct Sub {
    name: &'static str,
    /// Valkey's argument count check for the subcommand: exactly `n`, or at least `-n`.
    arity: i32,
    /// At most this many arguments (0: no maximum beyond `arity`).
    max: usize,
    locks: Locks,
    handler: fn(&mut Ctx, &[&[u8]]) -> CmdResult,
    help: &'static [&'static str],
}

static SUBCOMMANDS: &[Sub] = &[
    Sub {
        name: "object",
        arity: 3,
        max: 0,
        locks: Locks::Db,
        handler: object,
        help: &["OBJECT <key>", "    Show low level info about `key` and associated value."],
    },
    Sub {
        name: "change-repl-id",
        arity: 2,
        max: 0,
        locks: Locks::Nothing,
        handler: change_repl_id,
        help: &[
            "CHANGE-REPL-ID",
            "    Change the replication IDs of the instance.",
            "    Dangerous: should be used only for testing the replication subsystem.",
        ],
    },
    Sub {
        name: "digest",
        arity: 2,
        max: 0,
        locks: Locks::Everything,
        handler: digest,
        help: &["DIGEST", "    Output a hex signature representing the current DB content."],
    },
    Sub {
        name: "digest-value",
        arity: -2,
        max: 0,
        locks: Locks::Db,
        handler: digest_value,
        help: &[
            "DIGEST-VALUE <key> [<key> ...]",
            "    Output a hex signature of the values of all the specified keys.",
        ],
    },
    Sub {
        name: "error",
        arity: 3,
        max: 0,
        locks: Locks::Nothing,
        handler: error_reply,
        help: &[
            "ERROR <string>",
            "    Return a RESP protocol error with <string> as message. Useful for clients",
            "    unit tests to simulate error replies.",
        ],
    },
    Sub {
        name: "log",
        arity: 3,
        max: 0,
        locks: Locks::Nothing,
        handler: log,
        help: &["LOG <message>", "    Write <message> to the server log."],
    },
    Sub {
        name: "pause-cron",
        arity: 3,
        max: 0,
        locks: Locks::Nothing,
        handler: pause_cron,
        help: &["PAUSE-CRON <0|1>", "    Stop periodic cron job processing."],
    },
    Sub {
        name: "populate",
        arity: -3,
        max: 5,
        locks: Locks::Db,
        handler: populate,
        help: &[
            "POPULATE <count> [<prefix>] [<size>]",
            "    Create <count> string keys named key:<num>. If <prefix> is specified then",
            "    it is used instead of the 'key' prefix. These are not propagated to",
            "    replicas. Cluster slots are not respected so keys not belonging to the",
            "    current node can be created in cluster mode.",
        ],
    },
    Sub {
        name: "protocol",
        arity: 3,
        max: 0,
        locks: Locks::Nothing,
        handler: protocol,
        help: &[
            "PROTOCOL <type>",
            "    Reply with a test value of the specified type. <type> can be: string,",
            "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
            "    true, false.",
        ],
    },
    Sub {
        name: "quicklist-packed-threshold",
        arity: 3,
        max: 0,
        locks: Locks::Nothing,
        handler: quicklist_packed_threshold,
        help: &[
            "QUICKLIST-PACKED-THRESHOLD <size>",
            "    Sets the threshold for elements to be inserted as plain vs packed nodes",
            "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
        ],
    },
    Sub {
        name: "loadaof",
        arity: 2,
        max: 0,
        locks: Locks::Everything,
        handler: loadaof,
        help: &["LOADAOF", "    Flush the AOF buffers on disk and reload the AOF in memory."],
    },
    Sub {
        name: "reload",
        arity: -2,
        max: 0,
        locks: Locks::Everything,
        handler: reload,
        help: &[
            "RELOAD [option ...]",
            "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
            "    * MERGE: conflicting keys will be loaded from RDB.",
            "    * NOFLUSH: the existing database will not be removed before load, but",
            "      conflicting keys will generate an exception and kill the server.",
            "    * NOSAVE: the database will be loaded from an existing RDB file.",
            "    Examples:",
            "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
            "      the database.",
            "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
            "      existing RDB file.",
            "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
            "      file to the database.",
        ],
    },
    Sub {
        name: "set-active-expire",
        arity: 3,
        max: 0,
        locks: Locks::Nothing,
        handler: set_active_expire,
        help: &[
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the behavior). Setting it to 1 reenables back the",
            "    default.",
        ],
    },
    Sub {
        name: "set-disable-deny-scripts",
        arity: 3,
        max: 0,
        locks: Locks::Nothing,
        handler: set_disable_deny_scripts,
        help: &[
            "SET-DISABLE-DENY-SCRIPTS <0|1>",
            "    Setting it to 1 lets scripts call commands that are otherwise refused inside",
            "    a script (for tests).",
        ],
    },
    Sub {
        name: "sleep",
        arity: 3,
        max: 0,
        locks: Locks::Everything,
        handler: sleep,
        help: &["SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed."],
    },
];

fn find(argv: &[&[u8]]) -> Option<&'static Sub> {
    let sub = SUBCOMMANDS.iter().find(|s| is(argv[1], s.name))?;
    let n = argv.len();
    let arity_ok = if sub.arity > 0 { n == sub.arity as usize } else { n >= (-sub.arity) as usize };
    (arity_ok && (sub.max == 0 || n <= sub.max)).then_some(sub)
}

fn debug_lock(db: usize, argv: &[&[u8]], databases: usize) -> Result<LockSet, String> {
    let mut set = LockSet::new();
    match find(argv).map(|s| s.locks) {
        Some(Locks::Db) => set.add_db(db),
        Some(Locks::Everything) => {
            for d in 0..databases {
                set.add_db(d);
            }
        }
        Some(Locks::Nothing) | None => {}
    }
    Ok(set)
}

fn debug(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() == 2 && is(argv[1], "help") {
        return help(ctx, argv);
    }
    match find(argv) {
        // These change the dataset a load is filling: while the startup load gives its
        // shards back between keys they would run in the middle of it (Valkey would run them
        // there too, and mix both datasets), so they wait for the end of the load.
        Some(sub)
            if ctx.engine.persistence.loading.is_active() && matches!(sub.name, "reload" | "loadaof" | "populate") =>
        {
            Err(Error::coded_static(crate::loading::LOADING_ERR))
        }
        Some(sub) => (sub.handler)(ctx, argv),
        None => Err(super::subcommand_syntax_error(argv)),
    }
}

/// DEBUG OBJECT: Valkey's line about a key's value (address, encoding, serialized length,
/// LRU clock and idle time).
fn object(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    use super::keys::object::{encoding_name, idle_seconds};
    let now_lru = ctx.keys.lru_clock();
    let compress = ctx.engine.config.get_bool("rdbcompression");
    // Valkey looks the key up with `dbFind`: a key whose TTL has passed is still shown.
    let Some(e) = ctx.keys.find_raw(argv[2])? else {
        return Err(super::errors::NO_SUCH_KEY);
    };
    let mut serialized = Vec::new();
    crate::rdb::save_value(&mut serialized, e.value(), crate::rdb::SaveOptions { compress });
    let line = format!(
        "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        e.raw().as_ptr(),
        encoding_name(&e),
        serialized.len(),
        e.lru(),
        idle_seconds(e.lru(), now_lru)
    );
    ctx.out.simple(&line);
    Ok(())
}

/// DEBUG DIGEST: the dataset digest, or 40 zeros for an empty dataset.
fn digest(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    use super::digest::{add_key, hex, key_digest, mix_db};
    let mut d = [0u8; 20];
    for db in 0..ctx.engine.keyspace.databases() {
        if ctx.keys.shards(db).all(|s| s.is_empty()) {
            continue;
        }
        mix_db(&mut d, db);
        for shard in ctx.keys.shards(db) {
            shard.for_each(|e| add_key(&mut d, &key_digest(e.key(), e.value(), e.expire_at_ms().is_some())));
        }
    }
    ctx.out.simple(&hex(&d));
    Ok(())
}

/// DEBUG DIGEST-VALUE: each key's value digest (40 zeros for a missing key). Keys whose TTL
/// has passed are still digested, as Valkey's `dbFind` sees them.
fn digest_value(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    use super::digest::{hex, value_digest};
    ctx.out.array(argv.len() - 2);
    for key in &argv[2..] {
        let mut d = [0u8; 20];
        if let Some(e) = ctx.keys.find_raw(key)? {
            value_digest(&mut d, e.value(), e.expire_at_ms().is_some());
        }
        ctx.out.simple(&hex(&d));
    }
    Ok(())
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty the dataset, load the file back.
fn reload(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    use crate::loading::{LoadKind, Loading};
    use crate::persist::{self, Merge};
    let (mut merge, mut flush, mut save) = (Merge::Refuse, true, true);
    for opt in &argv[2..] {
        if is(opt, "merge") {
            merge = Merge::Replace;
        } else if is(opt, "noflush") {
            flush = false;
        } else if is(opt, "nosave") {
            save = false;
        } else {
            return Err(Error::err("DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."));
        }
    }
    let engine = ctx.engine;
    if save {
        persist::save(engine, &mut ctx.keys, 0).map_err(|_| Error::coded_static("ERR"))?;
    }
    if flush {
        for db in 0..engine.keyspace.databases() {
            super::server::flush_db(ctx, db, false);
        }
        engine.scripting.flush_functions();
    }
    let path = persist::rdb_path(engine);
    let loaded = std::fs::File::open(&path).map_err(|e| e.to_string()).and_then(|f| {
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        let mut loading = Loading::start(engine, size, LoadKind::Holding);
        persist::load_into(engine, &mut ctx.keys, f, &path.display().to_string(), size, merge, &mut loading)
    });
    if loaded.is_err() {
        return Err(Error::err("Error trying to load the RDB dump, check server logs."));
    }
    engine.log(LogLevel::Notice, "DB reloaded by DEBUG RELOAD");
    ctx.out.ok();
    Ok(())
}

/// DEBUG LOADAOF: flush the AOF, empty the dataset, load the AOF files back.
fn loadaof(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    if crate::aof::debug_loadaof(ctx).is_err() {
        return Err(Error::err("Error trying to load the AOF files, check server logs."));
    }
    // What was loaded is not a change to propagate (Valkey resets `dirty`).
    ctx.keys.effects.dirty = 0;
    ctx.keys.effects.own = Default::default();
    ctx.keys.effects.propagate.clear();
    ctx.engine.log(LogLevel::Notice, "Append Only File loaded by DEBUG LOADAOF");
    ctx.out.ok();
    Ok(())
}

fn help(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let lines: Vec<&str> = SUBCOMMANDS.iter().flat_map(|s| s.help.iter().copied()).collect();
    super::table::reply_help(ctx.out, &String::from_utf8_lossy(argv[0]).to_ascii_uppercase(), &lines);
    Ok(())
}

/// C's `atoi`: optional sign and leading digits, 0 when there are none.
fn atoi(a: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(a);
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |acc, d| acc.wrapping_mul(10).wrapping_add(i64::from(d - b'0')));
    if neg {
        n.wrapping_neg()
    } else {
        n
    }
}

/// C's `strtod` without an end pointer: the longest numeric prefix, 0 when there is none.
fn strtod_prefix(a: &[u8]) -> f64 {
    // A number has no business being longer; bounds the prefix search below.
    let s = String::from_utf8_lossy(&a[..a.len().min(64)]);
    let t = s.trim_start();
    let mut best = 0.0;
    let mut end = 0;
    for (i, _) in t.char_indices().skip(1).chain(std::iter::once((t.len(), ' '))) {
        if let Ok(v) = t[..i].parse::<f64>() {
            best = v;
            end = i;
        }
    }
    if end == 0 {
        0.0
    } else {
        best
    }
}

fn sleep(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let secs = strtod_prefix(argv[2]);
    // Valkey sleeps for (long long)(secs * 1e6) µs; a negative or invalid time returns at once.
    let usec = secs * 1_000_000.0;
    if usec.is_finite() && usec >= 1.0 {
        std::thread::sleep(std::time::Duration::from_micros(usec.min(u64::MAX as f64) as u64));
    }
    ctx.out.ok();
    Ok(())
}

/// List elements of at least this size go into plain quicklist nodes (0: the usual rule).
fn quicklist_packed_threshold(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let set = crate::config::params::parse_memory(argv[2]).is_some_and(crate::types::quicklist::set_packed_threshold);
    if !set {
        return Err(Error::err("argument must be a memory value bigger than 1 and smaller than 4gb"));
    }
    ctx.out.ok();
    Ok(())
}

fn set_active_expire(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.engine.active_expire_enabled.store(atoi(argv[2]) != 0, Relaxed);
    ctx.out.ok();
    Ok(())
}

fn set_disable_deny_scripts(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.engine.scripting.allow_noscript_commands.store(atoi(argv[2]) != 0, Relaxed);
    ctx.out.ok();
    Ok(())
}

fn pause_cron(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.engine.cron_paused.store(atoi(argv[2]) != 0, Relaxed);
    ctx.out.ok();
    Ok(())
}

fn log(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.engine.log(LogLevel::Warning, &format!("DEBUG LOG: {}", String::from_utf8_lossy(argv[2])));
    ctx.out.ok();
    Ok(())
}

fn change_repl_id(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.engine.log(LogLevel::Notice, "Changing replication IDs after receiving DEBUG change-repl-id");
    *ctx.engine.repl_ids.lock() = ReplicationIds::fresh();
    ctx.out.ok();
    Ok(())
}

fn error_reply(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    // Raw protocol, as Valkey writes it: not an error reply of the server's own, so it does
    // not count in errorstats.
    let mut wire = Vec::with_capacity(argv[2].len() + 3);
    wire.push(b'-');
    wire.extend(argv[2].iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    wire.extend_from_slice(b"\r\n");
    ctx.out.raw(&wire);
    Ok(())
}

/// Valkey's `getPositiveLongFromObjectOrReply`.
fn positive(a: &[u8]) -> Result<i64, Error> {
    let n = int_arg(a)?;
    if n < 0 {
        return Err(errors::POSITIVE);
    }
    Ok(n)
}

fn populate(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let count = positive(argv[2])?;
    // Valkey first sizes the table for `count` keys and fails if that cannot be allocated; a
    // count whose bucket array alone exceeds the machine's memory fails the same way.
    let system = crate::commands::info::total_system_memory();
    if system > 0 && (count as u64).saturating_mul(8) > system {
        return Err(Error::err("OOM in dictTryExpand"));
    }
    let prefix: &[u8] = if argv.len() >= 4 { argv[3] } else { b"key" };
    let size = if argv.len() == 5 { positive(argv[4])? as u64 } else { 0 };
    if size > ctx.engine.config.hot.proto_max_bulk_len.load(Relaxed) {
        return Err(errors::STRING_TOO_LONG);
    }
    let mut key = Vec::with_capacity(128);
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(itoa::Buffer::new().format(j).as_bytes());
        // Valkey formats the name into a 128-byte buffer.
        key.truncate(127);
        if ctx.keys.write(&key)?.is_some() {
            continue;
        }
        let label = format!("value:{j}");
        let value = if size == 0 {
            label.into_bytes()
        } else {
            let mut v = vec![0u8; size as usize];
            let n = label.len().min(v.len());
            v[..n].copy_from_slice(&label.as_bytes()[..n]);
            v
        };
        ctx.keys.add(&key, Value::from_slice(&value), None)?;
    }
    ctx.out.ok();
    Ok(())
}

fn protocol(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let name = argv[2];
    let out = &mut *ctx.out;
    if is(name, "string") {
        out.bulk(b"Hello World");
    } else if is(name, "integer") {
        out.int(12345);
    } else if is(name, "double") {
        // Valkey's test value (not π).
        #[allow(clippy::approx_constant)]
        out.double(3.141);
    } else if is(name, "bignum") {
        out.big_number(b"1234567999999999999999999999999999999");
    } else if is(name, "null") {
        out.null();
    } else if is(name, "array") {
        out.array(3);
        (0..3).for_each(|j| out.int(j));
    } else if is(name, "set") {
        out.set(3);
        (0..3).for_each(|j| out.int(j));
    } else if is(name, "map") {
        out.map(3);
        for j in 0..3 {
            out.int(j);
            out.boolean(j == 1);
        }
    } else if is(name, "attrib") {
        if out.is_resp3() {
            out.attribute(1);
            out.bulk(b"key-popularity");
            out.array(2);
            out.bulk(b"key:123");
            out.int(90);
        }
        out.bulk(b"Some real reply following the attribute");
    } else if is(name, "push") {
        if !out.is_resp3() {
            return Err(Error::err("RESP2 is not supported by this command"));
        }
        out.push(2);
        out.bulk(b"server-cpu-usage");
        out.int(42);
        out.bulk(b"Some real reply following the push reply");
    } else if is(name, "true") {
        out.boolean(true);
    } else if is(name, "false") {
        out.boolean(false);
    } else if is(name, "verbatim") {
        out.verbatim("txt", b"This is a verbatim\nstring");
    } else {
        return Err(Error::err(
            "Wrong protocol type name. Please use one of the following: \
             string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::exec::tests::{client, run};

    fn debug_engine() -> std::sync::Arc<Engine> {
        let e = Engine::for_tests();
        e.config.set("enable-debug-command", &[b"yes"]).unwrap();
        e
    }

    #[test]
    fn refused_unless_enabled() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        assert_eq!(
            run(&e, &mut c, &["debug", "help"]),
            "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run \
             it from a local connection, otherwise you need to set this option in the configuration file, and \
             then restart the server.\r\n"
        );
        e.config.set("enable-debug-command", &[b"local"]).unwrap();
        assert!(run(&e, &mut c, &["debug", "help"]).starts_with("*"));
    }

    #[test]
    fn protocol_types() {
        let e = debug_engine();
        let mut c = client(&e);
        assert_eq!(
            run(&e, &mut c, &["debug", "protocol", "attrib"]),
            "$39\r\nSome real reply following the attribute\r\n"
        );
        assert_eq!(run(&e, &mut c, &["debug", "protocol", "push"]), "-ERR RESP2 is not supported by this command\r\n");
        assert_eq!(run(&e, &mut c, &["debug", "protocol", "map"]), "*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n");
        assert_eq!(run(&e, &mut c, &["debug", "protocol", "double"]), "$5\r\n3.141\r\n");
        run(&e, &mut c, &["hello", "3"]);
        assert_eq!(
            run(&e, &mut c, &["debug", "protocol", "attrib"]),
            "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real reply following the attribute\r\n"
        );
        assert_eq!(run(&e, &mut c, &["debug", "protocol", "bignum"]), "(1234567999999999999999999999999999999\r\n");
        assert_eq!(run(&e, &mut c, &["debug", "protocol", "true"]), "#t\r\n");
        assert_eq!(run(&e, &mut c, &["debug", "protocol", "verbatim"]), "=29\r\ntxt:This is a verbatim\nstring\r\n");
        assert!(run(&e, &mut c, &["debug", "protocol", "x"]).starts_with("-ERR Wrong protocol type name."));
    }

    #[test]
    fn unknown_and_wrong_arity() {
        let e = debug_engine();
        let mut c = client(&e);
        assert_eq!(
            run(&e, &mut c, &["debug", "jmap"]),
            "-ERR unknown subcommand or wrong number of arguments for 'jmap'. Try DEBUG HELP.\r\n"
        );
        assert_eq!(
            run(&e, &mut c, &["debug", "sleep"]),
            "-ERR unknown subcommand or wrong number of arguments for 'sleep'. Try DEBUG HELP.\r\n"
        );
        assert_eq!(run(&e, &mut c, &["debug"]), "-ERR wrong number of arguments for 'debug' command\r\n");
    }

    #[test]
    fn quicklist_packed_threshold_refuses_bad_sizes() {
        // Only refusals here: the threshold is process-wide and other tests build lists.
        let e = debug_engine();
        let mut c = client(&e);
        for bad in ["4gb", "x", "-1", "1tb"] {
            assert_eq!(
                run(&e, &mut c, &["debug", "quicklist-packed-threshold", bad]),
                "-ERR argument must be a memory value bigger than 1 and smaller than 4gb\r\n",
                "{bad}"
            );
        }
    }

    #[test]
    fn populate_sleep_and_switches() {
        let e = debug_engine();
        let mut c = client(&e);
        assert_eq!(run(&e, &mut c, &["debug", "populate", "10"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["dbsize"]), ":10\r\n");
        assert_eq!(run(&e, &mut c, &["get", "key:3"]), "$7\r\nvalue:3\r\n");
        assert_eq!(run(&e, &mut c, &["debug", "populate", "2", "p", "3"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["get", "p:1"]), "$3\r\nval\r\n");
        assert_eq!(run(&e, &mut c, &["debug", "populate", "-1"]), "-ERR value is out of range, must be positive\r\n");
        assert_eq!(run(&e, &mut c, &["debug", "populate", "9223372036854775807"]), "-ERR OOM in dictTryExpand\r\n");
        let t = std::time::Instant::now();
        assert_eq!(run(&e, &mut c, &["debug", "sleep", "0.05"]), "+OK\r\n");
        assert!(t.elapsed() >= std::time::Duration::from_millis(50));
        assert_eq!(run(&e, &mut c, &["debug", "sleep", "abc"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["debug", "set-active-expire", "0"]), "+OK\r\n");
        assert!(!e.active_expire_enabled.load(Relaxed));
        assert_eq!(run(&e, &mut c, &["debug", "error", "BAD x\ny"]), "-BAD x y\r\n");
        let before = e.repl_ids.lock().id.clone();
        assert_eq!(run(&e, &mut c, &["debug", "change-repl-id"]), "+OK\r\n");
        assert_ne!(e.repl_ids.lock().id, before);
    }

    #[test]
    fn c_number_parsing() {
        assert_eq!(atoi(b"12abc"), 12);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b" -3"), -3);
        assert_eq!(strtod_prefix(b"0.5s"), 0.5);
        assert_eq!(strtod_prefix(b"abc"), 0.0);
        assert_eq!(strtod_prefix(b"2"), 2.0);
    }
}
