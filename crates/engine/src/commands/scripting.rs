//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Valkey's `eval.c`),
//! and the FUNCTION container. The Lua side (sandbox, `server.call`, conversions) is in
//! `crate::scripting`.
//!
//! A script may touch keys it did not declare, so EVAL locks every shard of every database
//! (`Lock::AllDbs`) and runs the whole script under those locks: other clients see its
//! effects all at once, as in Valkey. Its writes replicate as the commands it ran, in
//! MULTI/EXEC.

use super::table::{acl, flags::*, keyflags, reply_help, Command, Doc, KeySpec, Lock};
use super::{int_arg, is, CmdResult, Ctx, Error};
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
        lock: Lock::AllDbs,
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
        lock: Lock::AllDbs,
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
        lock: Lock::AllDbs,
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
        lock: Lock::AllDbs,
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

static FUNCTION_SUBCOMMANDS: &[Command] = &[Command {
    name: "flush",
    arity: -2,
    flags: WRITE | NOSCRIPT,
    acl: acl::SCRIPTING,
    handler: Some(function_flush),
    doc: doc(
        "Deletes all libraries and functions.",
        "7.0.0",
        "O(N) where N is the number of functions deleted",
        "[ASYNC | SYNC]",
    ),
    ..Command::DEFAULT
}];

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
    check_flags(flags, ro)?;
    let read_only = ro || flags & script_flags::NO_WRITES != 0;
    run_script(ctx, vm, RunSpec { name: &sha, func, keys, args, eval: true, read_only })
}

fn script_load(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let engine = ctx.engine;
    let sha = sha1hex(argv[2]);
    let mut guard = engine.scripting.vm().map_err(Error::err)?;
    let Some(vm) = guard.as_mut() else { return Err(Error::internal("no Lua state")) };
    vm.script(&sha, Some(argv[2]), false, &engine.scripting.evicted).map_err(Error::coded)?;
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

fn function_flush(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    match argv {
        [_, _] => {}
        [_, _, mode] if is(mode, "async") || is(mode, "sync") => {}
        [_, _, _] => {
            return Err(super::Error::err("FUNCTION FLUSH only supports SYNC|ASYNC option"));
        }
        _ => return Err(ctx.arity_error()),
    }
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
#[path = "scripting_tests.rs"]
mod tests;
