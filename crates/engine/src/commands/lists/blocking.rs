//! The blocking list commands: BLPOP BRPOP BLMPOP BLMOVE BRPOPLPUSH.
//!
//! Each first tries to do its work like its non-blocking twin. When every key is missing it
//! registers a [`Waiter`] on its keys (see `crate::blocking`) and the connection waits. A
//! write that makes one of those keys ready serves the waiter before the writer's locks are
//! released, by running the waiter's serve function: Valkey's rule is that a blocked client is
//! served by re-running its command as if it had just arrived, but only when the ready key
//! holds a list (a key that became another type leaves the client blocked). Re-running means
//! the keys are looked at again in command order: the first non-empty list is popped, and a
//! key before it holding another type answers the blocked client with WRONGTYPE; BLMOVE to a
//! destination of another type answers WRONGTYPE and leaves the source as it was.
//!
//! Serving needs the shards of all the command's keys. The ready key's shard is held by the
//! writer; the others are taken without waiting if free, otherwise the serve function answers
//! [`Served::Retry`] before changing anything, and the dispatcher serves the waiter again with
//! the locks it needs.

use super::ends::{lmove_core, parse_mpop, pop_first};
use super::{side_arg, write_len};
use crate::blocking::{BlockRequest, Served, Slot, Waiter};
use crate::commands::{is, timeout_secs_arg, CmdResult, Ctx, Error, Run};
use crate::db::Keys;
use crate::types::ValueRef;
use resp::Reply;
use std::sync::Arc;

/// How a blocked pop pops: from which keys, which end, how many (`None`: one element, replied
/// as `[key, element]`; `Some`: BLMPOP's `[key, [elements...]]`).
struct PopSpec<'a> {
    keys: &'a [&'a [u8]],
    head: bool,
    count: Option<usize>,
    timeout: &'a [u8],
}

/// Parses BLPOP/BRPOP/BLMPOP arguments (everything but the timeout's value).
fn parse_pop<'a>(argv: &'a [&'a [u8]]) -> Result<PopSpec<'a>, Error> {
    if is(argv[0], "blmpop") {
        let args = parse_mpop(argv, 2)?;
        return Ok(PopSpec { keys: args.keys, head: args.head, count: Some(args.count), timeout: argv[1] });
    }
    let n = argv.len();
    Ok(PopSpec { keys: &argv[1..n - 1], head: is(argv[0], "blpop"), count: None, timeout: argv[n - 1] })
}

/// BLMOVE/BRPOPLPUSH arguments.
struct MoveSpec<'a> {
    src: &'a [u8],
    dst: &'a [u8],
    from_head: bool,
    to_head: bool,
    timeout: &'a [u8],
}

fn parse_move<'a>(argv: &[&'a [u8]]) -> Result<MoveSpec<'a>, Error> {
    if is(argv[0], "brpoplpush") {
        return Ok(MoveSpec { src: argv[1], dst: argv[2], from_head: false, to_head: true, timeout: argv[3] });
    }
    let from_head = side_arg(argv[3])?;
    let to_head = side_arg(argv[4])?;
    Ok(MoveSpec { src: argv[1], dst: argv[2], from_head, to_head, timeout: argv[5] })
}

pub(super) fn blpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    blocking_pop(ctx, argv)
}

pub(super) fn brpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    blocking_pop(ctx, argv)
}

pub(super) fn blmpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    blocking_pop(ctx, argv)
}

pub(super) fn blmove(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    blocking_move(ctx, argv)
}

pub(super) fn brpoplpush(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    blocking_move(ctx, argv)
}

fn blocking_pop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let spec = parse_pop(argv)?;
    let deadline_ms = timeout_secs_arg(spec.timeout, ctx.keys.now_ms)?;
    if pop_first(&mut ctx.keys, ctx.out, spec.keys, spec.head, spec.count, Run::Command)? {
        return Ok(());
    }
    // Where a client may not block (inside MULTI, scripts), `pop_instead_of_blocking` answers.
    block(ctx, argv, spec.keys, deadline_ms, serve_pop)
}

fn blocking_move(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let m = parse_move(argv)?;
    let deadline_ms = timeout_secs_arg(m.timeout, ctx.keys.now_ms)?;
    if write_len(&mut ctx.keys, m.src)?.is_some() {
        lmove_core(&mut ctx.keys, ctx.out, m.src, m.dst, m.from_head, m.to_head)?;
        propagate_move(&mut ctx.keys, argv, Run::Command);
        return Ok(());
    }
    // Where a client may not block (inside MULTI, scripts), `move_instead_of_blocking` answers.
    block(ctx, argv, &[m.src], deadline_ms, serve_move)
}

/// The reply of BLPOP, BRPOP or BLMPOP where the client may not block (inside MULTI or a
/// script) and nothing could be popped: what a timeout gives, at once.
pub fn pop_instead_of_blocking(out: &mut Reply) {
    out.null_array();
}

/// The reply of BLMOVE or BRPOPLPUSH where the client may not block and the source is
/// missing.
pub fn move_instead_of_blocking(out: &mut Reply) {
    out.null();
}

/// Registers the client as waiting on `keys` (each once) until `deadline_ms`.
fn block(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    keys: &[&[u8]],
    deadline_ms: Option<u64>,
    serve: crate::blocking::ServeFn,
) -> CmdResult {
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    let unique: Vec<Vec<u8>> = keys.iter().filter(|k| seen.insert(**k)).map(|k| k.to_vec()).collect();
    let waiter = Waiter {
        client_id: ctx.client.shared.id,
        db: ctx.keys.db,
        keys: unique,
        resp3: ctx.client.resp3,
        argv: argv.iter().map(|a| a.to_vec()).collect(),
        serve,
        // Valkey answers every timed-out list command with a null array, BLMOVE included.
        timeout_reply: Reply::null_array,
        slot: Slot::new(),
    };
    ctx.keys.block(BlockRequest { waiter: Arc::new(waiter), deadline_ms })
}

/// Whether `key` holds a list now (Valkey serves a blocked list client only then). A key past
/// its TTL counts as missing and is left for the next command to delete, as in Valkey.
fn holds_list(keys: &mut Keys<'_>, key: &[u8]) -> Result<bool, Error> {
    Ok(keys.peek_unexpired(key)?.is_some_and(|e| matches!(e.value(), ValueRef::List(l) if !l.is_empty())))
}

/// Takes the shards of `list_keys` too, if free; false if one is not.
fn lock_all(keys: &mut Keys<'_>, list_keys: &[&[u8]]) -> bool {
    let db = keys.db;
    list_keys.iter().all(|k| keys.try_lock_key(db, k))
}

/// Serves a blocked BLPOP, BRPOP or BLMPOP now that `ready` was written.
fn serve_pop(keys: &mut Keys<'_>, w: &Waiter, ready: &[u8], out: &mut Reply) -> Result<Served, Error> {
    if !holds_list(keys, ready)? {
        return Ok(Served::NotYet);
    }
    let argv: Vec<&[u8]> = w.argv.iter().map(Vec::as_slice).collect();
    let spec = parse_pop(&argv)?;
    if !lock_all(keys, spec.keys) {
        return Ok(Served::Retry);
    }
    let run = Run::Served(w.db);
    Ok(if pop_first(keys, out, spec.keys, spec.head, spec.count, run)? { Served::Yes } else { Served::NotYet })
}

/// Serves a blocked BLMOVE or BRPOPLPUSH now that its source was written.
fn serve_move(keys: &mut Keys<'_>, w: &Waiter, ready: &[u8], out: &mut Reply) -> Result<Served, Error> {
    if !holds_list(keys, ready)? {
        return Ok(Served::NotYet);
    }
    let argv: Vec<&[u8]> = w.argv.iter().map(Vec::as_slice).collect();
    let m = parse_move(&argv)?;
    if !lock_all(keys, &[m.src, m.dst]) {
        return Ok(Served::Retry);
    }
    lmove_core(keys, out, m.src, m.dst, m.from_head, m.to_head)?;
    propagate_move(keys, &argv, Run::Served(w.db));
    Ok(Served::Yes)
}

/// Replicas get the LMOVE or RPOPLPUSH a BLMOVE or BRPOPLPUSH amounted to.
fn propagate_move(keys: &mut Keys<'_>, argv: &[&[u8]], run: Run) {
    if !keys.propagating() {
        return;
    }
    let rewritten = if is(argv[0], "brpoplpush") {
        vec![b"RPOPLPUSH".to_vec(), argv[1].to_vec(), argv[2].to_vec()]
    } else {
        [&b"LMOVE"[..], argv[1], argv[2], argv[3], argv[4]].iter().map(|a| a.to_vec()).collect()
    };
    run.propagate(keys, rewritten);
}
