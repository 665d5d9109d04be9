//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Valkey's `eval.c`),
//! and the FUNCTION container. The Lua side (sandbox, `server.call`, conversions) is in
//! `crate::scripting`.
//!
//! A script starts with the shards of the keys it declares locked (`Lock::Script`) and takes
//! the shards of any other key its calls touch as it goes, keeping all of them to the end
//! (`scripting::run::call_command`): other clients see its effects all at once, as in
//! Valkey. Its writes replicate as the commands it ran, in MULTI/EXEC.

use super::table::{acl, flags::*, keyflags, reply_help, Command, Doc, KeySpec, Lock};
use super::{int_arg, is, subcommand_syntax_error, CmdResult, Ctx, Error};
use crate::scripting::run::{check_flags, run_script, RunSpec};
use crate::scripting::{script_flags, sha1hex};

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "scripting", complexity, syntax }
}

static EVAL_KEYS: &[KeySpec] = &[KeySpec {
    notes: "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE",
    ..KeySpec::keynum(2, keyflags::RW | keyflags::ACCESS | keyflags::UPDATE)
}];
static EVAL_RO_KEYS: &[KeySpec] = &[KeySpec::keynum(2, keyflags::RO | keyflags::ACCESS)];

const EVAL_FLAGS: u32 = NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | NO_MANDATORY_KEYS | STALE;
const EVAL_RO_FLAGS: u32 = NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | STALE | READONLY;
const EVAL_COMPLEXITY: &str = "Depends on the script that is executed.";

pub static COMMANDS: &[Command] = &[
    Command {
        name: "eval",
        arity: -3,
        flags: EVAL_FLAGS,
        acl: acl::SCRIPTING,
        keys: EVAL_KEYS,
        lock: Lock::Script,
        handler: Some(eval),
        doc: doc(
            "Executes a server-side Lua script.",
            "2.6.0",
            EVAL_COMPLEXITY,
            "script numkeys [key [key ...]] [arg [arg ...]]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "evalsha",
        arity: -3,
        flags: EVAL_FLAGS,
        acl: acl::SCRIPTING,
        keys: EVAL_KEYS,
        lock: Lock::Script,
        handler: Some(evalsha),
        doc: doc(
            "Executes a server-side Lua script by SHA1 digest.",
            "2.6.0",
            EVAL_COMPLEXITY,
            "sha1 numkeys [key [key ...]] [arg [arg ...]]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "eval_ro",
        arity: -3,
        flags: EVAL_RO_FLAGS,
        acl: acl::SCRIPTING,
        keys: EVAL_RO_KEYS,
        lock: Lock::Script,
        handler: Some(eval_ro),
        doc: doc(
            "Executes a read-only server-side Lua script.",
            "7.0.0",
            EVAL_COMPLEXITY,
            "script numkeys [key [key ...]] [arg [arg ...]]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "evalsha_ro",
        arity: -3,
        flags: EVAL_RO_FLAGS,
        acl: acl::SCRIPTING,
        keys: EVAL_RO_KEYS,
        lock: Lock::Script,
        handler: Some(evalsha_ro),
        doc: doc(
            "Executes a read-only server-side Lua script by SHA1 digest.",
            "7.0.0",
            EVAL_COMPLEXITY,
            "sha1 numkeys [key [key ...]] [arg [arg ...]]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "script",
        arity: -2,
        subcommands: SCRIPT_SUBCOMMANDS,
        doc: doc("A container for Lua scripts management commands.", "2.6.0", "Depends on subcommand.", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "function",
        arity: -2,
        subcommands: FUNCTION_SUBCOMMANDS,
        doc: doc("A container for function commands.", "7.0.0", "Depends on subcommand.", ""),
        ..Command::DEFAULT
    },
];

static SCRIPT_SUBCOMMANDS: &[Command] = &[
    Command {
        name: "exists",
        arity: -3,
        flags: NOSCRIPT,
        acl: acl::SCRIPTING,
        tips: &["request_policy:all_shards", "response_policy:agg_logical_and"],
        handler: Some(script_exists),
        doc: doc(
            "Determines whether server-side Lua scripts exist in the script cache.",
            "2.6.0",
            "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).",
            "sha1 [sha1 ...]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "flush",
        arity: -2,
        flags: NOSCRIPT,
        acl: acl::SCRIPTING,
        tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
        handler: Some(script_flush),
        doc: doc(
            "Removes all server-side Lua scripts from the script cache.",
            "2.6.0",
            "O(N) with N being the number of scripts in cache",
            "[ASYNC | SYNC]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "help",
        arity: 2,
        flags: LOADING | STALE,
        acl: acl::SCRIPTING,
        handler: Some(script_help),
        doc: doc("Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "kill",
        arity: 2,
        flags: NOSCRIPT | ALLOW_BUSY,
        acl: acl::SCRIPTING,
        tips: &["request_policy:all_shards", "response_policy:one_succeeded"],
        handler: Some(script_kill),
        doc: doc("Terminates a server-side Lua script during execution.", "2.6.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "load",
        arity: 3,
        flags: NOSCRIPT | STALE,
        acl: acl::SCRIPTING,
        tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
        handler: Some(script_load),
        doc: doc(
            "Loads a server-side Lua script to the script cache.",
            "2.6.0",
            "O(N) with N being the length in bytes of the script body.",
            "script",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "show",
        arity: 3,
        flags: NOSCRIPT,
        acl: acl::SCRIPTING,
        handler: Some(script_show),
        doc: doc("Show server-side Lua script in the script cache.", "8.0.0", "O(1).", "sha1"),
        ..Command::DEFAULT
    },
];

const fn sub(
    name: &'static str,
    arity: i32,
    flags: u32,
    handler: super::table::Handler,
    summary: &'static str,
    complexity: &'static str,
    syntax: &'static str,
) -> Command {
    Command {
        name,
        arity,
        flags,
        acl: acl::SCRIPTING,
        handler: Some(handler),
        doc: doc(summary, "7.0.0", complexity, syntax),
        ..Command::DEFAULT
    }
}

static FUNCTION_SUBCOMMANDS: &[Command] = &[
    sub("delete", 3, WRITE | NOSCRIPT, function_delete, "Deletes a library and its functions.", "O(1)", "library-name"),
    sub(
        "dump",
        2,
        NOSCRIPT,
        function_dump,
        "Dumps all libraries into a serialized binary payload.",
        "O(N) where N is the number of functions",
        "",
    ),
    sub(
        "flush",
        -2,
        WRITE | NOSCRIPT,
        function_flush,
        "Deletes all libraries and functions.",
        "O(N) where N is the number of functions deleted",
        "[ASYNC | SYNC]",
    ),
    sub("help", 2, LOADING | STALE, function_help, "Returns helpful text about the different subcommands.", "O(1)", ""),
    sub("kill", 2, NOSCRIPT | ALLOW_BUSY, function_kill, "Terminates a function during execution.", "O(1)", ""),
    sub(
        "list",
        -2,
        NOSCRIPT,
        function_list,
        "Returns information about all libraries.",
        "O(N) where N is the number of functions",
        "[LIBRARYNAME library-name-pattern] [WITHCODE]",
    ),
    sub(
        "load",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        function_load,
        "Creates a library.",
        "O(1) (considering compilation time is redundant)",
        "[REPLACE] function-code",
    ),
    sub(
        "restore",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        function_restore,
        "Restores all libraries from a payload.",
        "O(N) where N is the number of functions on the payload",
        "serialized-value [FLUSH | APPEND | REPLACE]",
    ),
    sub(
        "stats",
        2,
        NOSCRIPT | ALLOW_BUSY,
        function_stats,
        "Returns information about a function during execution.",
        "O(1)",
        "",
    ),
];

static FCALL_KEYS: &[KeySpec] = &[KeySpec {
    notes: "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE",
    ..KeySpec::keynum(2, keyflags::RW | keyflags::ACCESS | keyflags::UPDATE)
}];

pub static FCALL_COMMANDS: &[Command] = &[
    Command {
        name: "fcall",
        arity: -3,
        flags: EVAL_FLAGS,
        acl: acl::SCRIPTING,
        keys: FCALL_KEYS,
        lock: Lock::Script,
        handler: Some(fcall),
        doc: doc(
            "Invokes a function.",
            "7.0.0",
            "Depends on the function that is executed.",
            "function numkeys [key [key ...]] [arg [arg ...]]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "fcall_ro",
        arity: -3,
        flags: EVAL_RO_FLAGS,
        acl: acl::SCRIPTING,
        keys: EVAL_RO_KEYS,
        lock: Lock::Script,
        handler: Some(fcall_ro),
        doc: doc(
            "Invokes a read-only function.",
            "7.0.0",
            "Depends on the function that is executed.",
            "function numkeys [key [key ...]] [arg [arg ...]]",
        ),
        ..Command::DEFAULT
    },
];

fn eval(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    eval_generic(ctx, argv, false, false)
}

fn evalsha(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    eval_generic(ctx, argv, true, false)
}

fn eval_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    eval_generic(ctx, argv, false, true)
}

fn evalsha_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    eval_generic(ctx, argv, true, true)
}

/// Splits `numkeys key... arg...` (at argv[2]) with Valkey's errors.
/// The keys and the arguments of a script call.
type KeysArgs<'a> = (&'a [&'a [u8]], &'a [&'a [u8]]);

fn keys_and_args<'a>(argv: &'a [&'a [u8]]) -> Result<KeysArgs<'a>, Error> {
    let numkeys = int_arg(argv[2])?;
    if numkeys > (argv.len() - 3) as i64 {
        return Err(Error::err("Number of keys can't be greater than number of args"));
    }
    if numkeys < 0 {
        return Err(Error::err("Number of keys can't be negative"));
    }
    let split = 3 + numkeys as usize;
    Ok((&argv[3..split], &argv[split..]))
}

fn eval_generic(ctx: &mut Ctx, argv: &[&[u8]], by_sha: bool, ro: bool) -> CmdResult {
    let (keys, args) = keys_and_args(argv)?;
    let sha = if by_sha { String::from_utf8_lossy(argv[1]).to_ascii_lowercase() } else { sha1hex(argv[1]) };
    let engine = ctx.engine;
    let mut guard = engine.scripting.vm().map_err(Error::err)?;
    let Some(vm) = guard.as_mut() else { return Err(Error::internal("no Lua state")) };
    let body = if by_sha { None } else { Some(argv[1]) };
    if by_sha && sha.len() != 40 {
        return Err(Error::coded("NOSCRIPT No matching script. Please use EVAL."));
    }
    let script = vm.script(&sha, body, true, &engine.scripting.evicted).map_err(Error::coded)?;
    let flags = script.flags;
    let func = script.func.clone();
    engine.scripting.note_scripts(Some(vm));
    let allow_oom = check_flags(ctx, flags, ro)?;
    let read_only = ro || flags & script_flags::NO_WRITES != 0;
    let ran = run_script(ctx, vm, RunSpec { name: &sha, func, keys, args, eval: true, read_only, allow_oom, argv });
    engine.scripting.note_scripts(Some(vm));
    ran
}

fn script_load(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let engine = ctx.engine;
    let sha = sha1hex(argv[2]);
    let mut guard = engine.scripting.vm().map_err(Error::err)?;
    let Some(vm) = guard.as_mut() else { return Err(Error::internal("no Lua state")) };
    vm.script(&sha, Some(argv[2]), false, &engine.scripting.evicted).map_err(Error::coded)?;
    engine.scripting.note_scripts(Some(vm));
    ctx.out.bulk(sha.as_bytes());
    Ok(())
}

fn script_exists(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let guard = ctx.engine.scripting.vm().map_err(Error::err)?;
    let vm = guard.as_ref();
    ctx.out.array(argv.len() - 2);
    for sha in &argv[2..] {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        ctx.out.int(i64::from(vm.is_some_and(|vm| vm.scripts.contains_key(&sha))));
    }
    Ok(())
}

fn script_show(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let guard = ctx.engine.scripting.vm().map_err(Error::err)?;
    let sha = String::from_utf8_lossy(argv[2]).to_ascii_lowercase();
    match guard.as_ref().and_then(|vm| vm.scripts.get(&sha)) {
        Some(s) => ctx.out.bulk(&s.body),
        None => return Err(Error::coded("NOSCRIPT No matching script. Please use EVAL.")),
    }
    Ok(())
}

fn script_flush(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    match argv {
        [_, _] => {}
        [_, _, mode] if is(mode, "async") || is(mode, "sync") => {}
        _ => return Err(Error::err("SCRIPT FLUSH only support SYNC|ASYNC option")),
    }
    ctx.engine.scripting.flush_scripts();
    ctx.out.ok();
    Ok(())
}

fn script_kill(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    match ctx.engine.scripting.kill(true) {
        Some(e) => Err(Error::coded(e)),
        None => {
            ctx.out.ok();
            Ok(())
        }
    }
}

fn script_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    reply_help(
        ctx.out,
        "SCRIPT",
        &[
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined",
            "     by the lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
            "SHOW <sha1>",
            "    Show a script from the scripts cache.",
        ],
    );
    Ok(())
}

fn fcall(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    fcall_generic(ctx, argv, false)
}

fn fcall_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    fcall_generic(ctx, argv, true)
}

fn fcall_generic(ctx: &mut Ctx, argv: &[&[u8]], ro: bool) -> CmdResult {
    let engine = ctx.engine;
    let mut functions = engine.scripting.functions.lock();
    let name = String::from_utf8_lossy(argv[1]).into_owned();
    let Some((func, flags)) = functions.find(&name) else {
        return Err(Error::err("Function not found"));
    };
    let numkeys = int_arg(argv[2]).map_err(|_| Error::err("Bad number of keys provided"))?;
    let (keys, args) =
        keys_and_args(argv)
            .map_err(|e| if numkeys < 0 { Error::err("Number of keys can't be negative") } else { e })?;
    let allow_oom = check_flags(ctx, flags, ro)?;
    let read_only = ro || flags & script_flags::NO_WRITES != 0;
    let vm = functions.vm(&engine.scripting.run).map_err(Error::coded)?;
    let ran = run_script(ctx, vm, RunSpec { name: &name, func, keys, args, eval: false, read_only, allow_oom, argv });
    engine.scripting.set_function_counts(&functions);
    ran
}

fn function_load(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut replace = false;
    let mut i = 2;
    while i < argv.len() - 1 {
        if is(argv[i], "replace") {
            replace = true;
        } else {
            return Err(Error::err_quoting("Unknown option given: ", argv[i], ""));
        }
        i += 1;
    }
    if i >= argv.len() {
        return Err(Error::err("Function code is missing"));
    }
    let engine = ctx.engine;
    let mut functions = engine.scripting.functions.lock();
    let name = functions.load(engine, argv[i], replace).map_err(Error::coded)?;
    engine.scripting.set_function_counts(&functions);
    ctx.keys.effects.dirty += 1;
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

fn function_delete(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let name = String::from_utf8_lossy(argv[2]).into_owned();
    let mut functions = ctx.engine.scripting.functions.lock();
    if !functions.delete(&name) {
        return Err(Error::err("Library not found"));
    }
    ctx.engine.scripting.set_function_counts(&functions);
    ctx.keys.effects.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn function_flush(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    match argv {
        [_, _] => {}
        [_, _, mode] if is(mode, "async") || is(mode, "sync") => {}
        [_, _, _] => return Err(Error::err("FUNCTION FLUSH only supports SYNC|ASYNC option")),
        _ => return Err(subcommand_syntax_error(argv)),
    }
    let mut functions = ctx.engine.scripting.functions.lock();
    functions.flush();
    ctx.engine.scripting.set_function_counts(&functions);
    ctx.keys.effects.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn function_kill(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    match ctx.engine.scripting.kill(false) {
        Some(e) => Err(Error::coded(e)),
        None => {
            ctx.out.ok();
            Ok(())
        }
    }
}

fn function_list(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < argv.len() {
        if is(argv[i], "withcode") && !with_code {
            with_code = true;
        } else if is(argv[i], "libraryname") && pattern.is_none() {
            if i + 1 >= argv.len() {
                return Err(Error::err("library name argument was not given"));
            }
            pattern = Some(argv[i + 1]);
            i += 1;
        } else {
            return Err(Error::err_quoting("Unknown argument ", argv[i], ""));
        }
        i += 1;
    }
    let functions = ctx.engine.scripting.functions.lock();
    let libs: Vec<_> = functions
        .libraries
        .values()
        .filter(|l| pattern.is_none_or(|p| crate::util::glob::glob_match(p, l.name.as_bytes(), false)))
        .collect();
    let out = &mut *ctx.out;
    out.array(libs.len());
    for lib in libs {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(lib.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.functions.len());
        for f in lib.functions.values() {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d.as_bytes()),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names: Vec<&str> =
                script_flags::NAMES.iter().filter(|(bit, _)| f.flags & bit != 0).map(|(_, n)| *n).collect();
            out.set(names.len());
            for n in names {
                out.bulk(n.as_bytes());
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
    Ok(())
}

/// RDB opcode of a function library in DUMP payloads and RDB files (`RDB_OPCODE_FUNCTION2`).
const RDB_OPCODE_FUNCTION2: u8 = 245;
/// The pre-GA format, which Valkey refuses too.
const RDB_OPCODE_FUNCTION_PRE_GA: u8 = 246;

fn function_dump(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let functions = ctx.engine.scripting.functions.lock();
    let mut payload = Vec::new();
    for lib in functions.libraries.values() {
        payload.push(RDB_OPCODE_FUNCTION2);
        crate::rdb::string::save_bytes(&mut payload, &lib.code, false);
    }
    payload.extend_from_slice(&crate::rdb::RDB_VERSION.to_le_bytes());
    let crc = crate::rdb::dump::crc64(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    ctx.out.bulk(&payload);
    Ok(())
}

fn function_restore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    if argv.len() > 4 {
        return Err(subcommand_syntax_error(argv));
    }
    let policy = match argv.get(3) {
        None => Policy::Append,
        Some(p) if argv.len() == 4 && is(p, "flush") => Policy::Flush,
        Some(p) if argv.len() == 4 && is(p, "append") => Policy::Append,
        Some(p) if argv.len() == 4 && is(p, "replace") => Policy::Replace,
        Some(_) => {
            return Err(Error::err("Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."))
        }
    };
    let payload = argv[2];
    crate::rdb::dump::verify_payload(payload).map_err(|_| Error::err("DUMP payload version or checksum are wrong"))?;
    let body = &payload[..payload.len() - 10];
    let mut reader = crate::rdb::Reader::new(body);
    let mut codes = Vec::new();
    while reader.remaining() > 0 {
        let t = reader.read_u8().map_err(|_| Error::err("can not read data type"))?;
        if t == RDB_OPCODE_FUNCTION_PRE_GA {
            return Err(Error::err("Pre-GA function format not supported"));
        }
        if t != RDB_OPCODE_FUNCTION2 {
            return Err(Error::err("given type is not a function"));
        }
        let code = crate::rdb::string::load_string(&mut reader)
            .map_err(|_| Error::err("failed loading the given functions payload"))?;
        codes.push(code.into_bytes());
    }
    let engine = ctx.engine;
    let mut functions = engine.scripting.functions.lock();
    if policy == Policy::Append {
        for code in &codes {
            let name = code_library_name(code);
            if let Some(name) = name.filter(|n| functions.libraries.contains_key(n)) {
                return Err(Error::err(format!("Library {name} already exists")));
            }
        }
    }
    if policy == Policy::Flush {
        functions.flush();
    }
    for code in &codes {
        let loaded = functions.load(engine, code, policy != Policy::Append);
        engine.scripting.set_function_counts(&functions);
        loaded.map_err(Error::coded)?;
    }
    ctx.keys.effects.dirty += 1;
    ctx.out.ok();
    Ok(())
}

/// The `name=` of a library's shebang, if it has one.
fn code_library_name(code: &[u8]) -> Option<String> {
    let end = code.iter().position(|&b| b == b'\n')?;
    let line = String::from_utf8_lossy(&code[..end]);
    line.split_ascii_whitespace()
        .find_map(|p| p.get(..5).filter(|k| k.eq_ignore_ascii_case("name=")).map(|_| p[5..].to_string()))
}

fn function_stats(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let engine = ctx.engine;
    let run = &engine.scripting.run;
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    if run.running.load(std::sync::atomic::Ordering::Relaxed)
        && run.is_function.load(std::sync::atomic::Ordering::Relaxed)
    {
        let (name, command) = run.info.lock().clone();
        let started = run.started_us.load(std::sync::atomic::Ordering::Relaxed) / 1000;
        out.map(3);
        out.bulk(b"name");
        out.bulk(name.as_bytes());
        out.bulk(b"command");
        out.array(command.len());
        for a in &command {
            out.bulk(a);
        }
        out.bulk(b"duration_ms");
        out.int(crate::util::now_ms().saturating_sub(started) as i64);
    } else {
        out.null();
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    let (libs, funcs) = engine.scripting.function_counts();
    out.bulk(b"libraries_count");
    out.int(libs as i64);
    out.bulk(b"functions_count");
    out.int(funcs as i64);
    Ok(())
}

fn function_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    reply_help(
        ctx.out,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "FCALL <FUNCTION NAME> nkeys <key1 .. keyn> <arg1 .. argn>",
            "    Call a function with the given name.",
            "FCALL_RO <FUNCTION NAME> nkeys <key1 .. keyn> <arg1 .. argn>",
            "    Call a function with the given name as a read-only function.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}

#[cfg(test)]
#[path = "scripting_tests.rs"]
mod tests;
