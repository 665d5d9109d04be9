//! ZPOPMIN, ZPOPMAX, ZMPOP and the blocking BZPOPMIN, BZPOPMAX, BZMPOP (Valkey's
//! `genericZpopCommand`, `blockingGenericZpopCommand`, `zmpopGenericCommand`).
//!
//! A blocking pop that finds every key empty registers a waiter (`blocking.rs`). When a write
//! makes one of its keys ready, the waiter's serve function runs the command again on its
//! behalf, as Valkey re-executes a blocked command: keys are tried in argument order (so a set
//! that became non-empty in the same transaction but comes first wins), a key of another type
//! answers WRONGTYPE, and finding nothing leaves the client blocked.

use super::basic::delete_emptied;
use super::{changed, positive_arg, ranged_arg};
use crate::blocking::{BlockRequest, Served, Slot, Waiter};
use crate::commands::{errors, is, CmdResult, Ctx, Error, Run};
use crate::db::Keys;
use crate::types::{Value, ValueRef};
use resp::Reply;
use std::sync::Arc;

/// Which end, how many, and how the reply is shaped.
#[derive(Clone, Copy)]
struct Pop {
    highest: bool,
    /// -1: a single pop with a flat reply.
    count: i64,
    /// Pairs as nested arrays (RESP3 with a count, ZMPOP).
    nested: bool,
    /// The key's name leads the reply (blocking pops, ZMPOP).
    emit_key: bool,
    /// A null array instead of an empty array when nothing is popped (ZMPOP).
    nil_when_empty: bool,
    /// Propagated as the ZPOPMIN/ZPOPMAX it amounts to (ZMPOP and the blocking pops).
    rewrite: bool,
}

/// Pops from `key`, which holds a non-empty sorted set, and writes the reply.
fn pop_and_reply(keys: &mut Keys<'_>, out: &mut Reply, key: &[u8], pop: Pop, run: Run) -> CmdResult {
    if pop.count == 0 {
        // Only ZPOPMIN/ZPOPMAX accept 0: an empty array, whatever the key holds.
        out.array(0);
        return Ok(());
    }
    let count = if pop.count < 0 { 1 } else { pop.count as u64 };
    let popped = keys.modify(key, |v| {
        let Value::ZSet(z) = v else { return 0 };
        let n = count.min(z.len() as u64) as usize;
        match (pop.nested, pop.emit_key) {
            (false, false) => out.array(n * 2),
            (true, false) => out.array(n),
            (false, true) => {
                out.array(n * 2 + 1);
                out.bulk(key);
            }
            (true, true) => {
                out.array(2);
                out.bulk(key);
                out.array(n);
            }
        }
        for _ in 0..n {
            let Some((member, score)) = z.pop(pop.highest) else { break };
            if pop.nested {
                out.array(2);
            }
            out.bulk(&member);
            out.double(score);
        }
        n
    })?;
    let n = popped.unwrap_or(0);
    if n > 0 {
        changed(keys, key, if pop.highest { "zpopmax" } else { "zpopmin" }, n);
        delete_emptied(keys, key)?;
        // Replicas see the ZPOPMIN/ZPOPMAX it amounted to, with the count actually popped
        // (Valkey's rewriteClientCommandVector in genericZpopCommand and the blocking pops).
        if pop.rewrite || run != Run::Command {
            let mut argv = vec![if pop.highest { b"ZPOPMAX".to_vec() } else { b"ZPOPMIN".to_vec() }, key.to_vec()];
            if pop.count != -1 {
                argv.push(n.to_string().into_bytes());
            }
            run.propagate(keys, argv);
        }
    }
    Ok(())
}

/// The first of `keys` holding members, after Valkey's checks: a missing key is skipped, a key
/// of another type is WRONGTYPE. `Ok(None)`: all empty.
fn first_non_empty<'a>(ks: &mut Keys<'_>, keys: &[&'a [u8]]) -> Result<Option<&'a [u8]>, Error> {
    for &key in keys {
        match ks.write(key)? {
            None => continue,
            Some(e) => match e.value() {
                ValueRef::ZSet(z) if !z.is_empty() => return Ok(Some(key)),
                ValueRef::ZSet(_) => continue,
                _ => return Err(errors::WRONGTYPE),
            },
        }
    }
    Ok(None)
}

/// Pops from the first non-empty of `keys` (ZPOPMIN/MAX, ZMPOP): nothing to pop is an empty
/// array, or a null one for ZMPOP.
fn pop_first(ctx: &mut Ctx, keys: &[&[u8]], pop: Pop) -> CmdResult {
    match first_non_empty(&mut ctx.keys, keys)? {
        Some(key) => pop_and_reply(&mut ctx.keys, ctx.out, key, pop, Run::Command),
        None if pop.nil_when_empty => {
            ctx.out.null_array();
            Ok(())
        }
        None => {
            ctx.out.array(0);
            Ok(())
        }
    }
}

pub(super) fn zpopmin(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    zpop(ctx, argv, false)
}

pub(super) fn zpopmax(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    zpop(ctx, argv, true)
}

fn zpop(ctx: &mut Ctx, argv: &[&[u8]], highest: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(errors::SYNTAX);
    }
    let count = match argv.get(2) {
        Some(a) => positive_arg(a)?,
        None => -1,
    };
    let nested = ctx.out.is_resp3() && count != -1;
    pop_first(ctx, &argv[1..2], Pop { highest, count, nested, emit_key: false, nil_when_empty: false, rewrite: false })
}

/// ZMPOP / BZMPOP arguments from `numkeys` on: the keys, the end, the count.
fn parse_mpop<'a>(argv: &[&'a [u8]], numkeys_at: usize) -> Result<(Vec<&'a [u8]>, bool, i64), Error> {
    let numkeys = ranged_arg(argv[numkeys_at], 1, i64::MAX, "numkeys should be greater than 0")? as u64;
    let where_at = (numkeys_at as u64).saturating_add(numkeys).saturating_add(1);
    if where_at >= argv.len() as u64 {
        return Err(errors::SYNTAX);
    }
    let where_at = where_at as usize;
    let highest = match argv[where_at] {
        a if is(a, "min") => false,
        a if is(a, "max") => true,
        _ => return Err(errors::SYNTAX),
    };
    let mut count = -1;
    let mut j = where_at + 1;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if count == -1 && is(argv[j], "count") && more > 0 {
            j += 1;
            count = ranged_arg(argv[j], 1, i64::MAX, "count should be greater than 0")?;
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    if count == -1 {
        count = 1;
    }
    Ok((argv[numkeys_at + 1..where_at].to_vec(), highest, count))
}

pub(super) fn zmpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (keys, highest, count) = parse_mpop(argv, 1)?;
    pop_first(ctx, &keys, Pop { highest, count, nested: true, emit_key: true, nil_when_empty: true, rewrite: true })
}

pub(super) fn bzpopmin(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    blocking_pop(ctx, argv, &argv[1..argv.len() - 1], argv.len() - 1, bzpop(false), serve_bzpopmin)
}

pub(super) fn bzpopmax(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    blocking_pop(ctx, argv, &argv[1..argv.len() - 1], argv.len() - 1, bzpop(true), serve_bzpopmax)
}

/// BZPOPMIN/BZPOPMAX: one member, flat, after the key.
fn bzpop(highest: bool) -> Pop {
    Pop { highest, count: -1, nested: false, emit_key: true, nil_when_empty: false, rewrite: true }
}

pub(super) fn bzmpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (keys, highest, count) = parse_mpop(argv, 2)?;
    let pop = Pop { highest, count, nested: true, emit_key: true, nil_when_empty: true, rewrite: true };
    blocking_pop(ctx, argv, &keys, 1, pop, serve_bzmpop)
}

/// Valkey's `getTimeoutFromObjectOrReply` in seconds: a `long double` (so `1e400` is a valid,
/// if out of range, timeout), times 1000, rounded up; 0 blocks forever. Returns the absolute
/// deadline in ms, or `None` for no timeout.
pub(super) fn parse_timeout(arg: &[u8], now_ms: u64) -> Result<Option<u64>, Error> {
    let not_float = || Error::err("timeout is not a float or out of range");
    // string2ld: the whole string, no leading space, at most 5 KiB.
    if arg.is_empty() || arg.len() >= 5 * 1024 || matches!(arg[0], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return Err(not_float());
    }
    let p = crate::util::strtod::strtod(arg);
    if p.consumed != arg.len() || p.value.is_nan() {
        return Err(not_float());
    }
    let mut secs = p.value;
    if p.out_of_range {
        // Beyond a double but maybe not beyond a long double (up to ~1.19e4932, down to
        // ~3.6e-4951): what matters is only which side of the limits it falls.
        match long_double_magnitude(arg) {
            Some(e) if (-4951..=4931).contains(&e) => {
                secs = if secs == 0.0 { f64::MIN_POSITIVE.copysign(secs) } else { secs };
            }
            _ => return Err(not_float()),
        }
    }
    let ms = secs * 1000.0;
    if ms > i64::MAX as f64 {
        return Err(Error::err("timeout is out of range"));
    }
    let ms = ms.ceil() as i64;
    if ms < 0 {
        return Err(Error::err("timeout is negative"));
    }
    if ms == 0 {
        return Ok(None);
    }
    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
    if ms > i64::MAX - now {
        return Err(Error::err("timeout is out of range"));
    }
    Ok(Some((now + ms) as u64))
}

/// The decimal exponent of a decimal or hex number's magnitude (roughly `floor(log10|v|)`),
/// for numbers that overflow or underflow a double.
fn long_double_magnitude(s: &[u8]) -> Option<i64> {
    let s = s.strip_prefix(b"-").or_else(|| s.strip_prefix(b"+")).unwrap_or(s);
    let (hex, body) = match s.get(..2) {
        Some(p) if p.eq_ignore_ascii_case(b"0x") => (true, &s[2..]),
        _ => (false, s),
    };
    let marker = if hex { b'p' } else { b'e' };
    let split = body.iter().position(|b| b.to_ascii_lowercase() == marker).unwrap_or(body.len());
    let (mantissa, exp) = (&body[..split], body.get(split + 1..).unwrap_or(b""));
    let exp: i64 = std::str::from_utf8(exp).ok().filter(|e| !e.is_empty()).map_or(Some(0), |e| e.parse().ok())?;
    let point = mantissa.iter().position(|&b| b == b'.').unwrap_or(mantissa.len());
    let first = mantissa.iter().position(|&b| b != b'0' && b != b'.')?;
    // Position of the first significant digit relative to the point, in digits.
    let lead = if first < point { (point - first) as i64 - 1 } else { -((first - point) as i64) };
    Some(if hex { ((lead * 4 + exp) as f64 * std::f64::consts::LOG10_2) as i64 } else { lead + exp })
}

type ServeFn = crate::blocking::ServeFn;

/// BZPOPMIN, BZPOPMAX, BZMPOP: pop now if any key has members, else block.
fn blocking_pop(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    keys: &[&[u8]],
    timeout_at: usize,
    pop: Pop,
    serve: ServeFn,
) -> CmdResult {
    let deadline_ms = parse_timeout(argv[timeout_at], ctx.keys.now_ms)?;
    if let Some(key) = first_non_empty(&mut ctx.keys, keys)? {
        return pop_and_reply(&mut ctx.keys, ctx.out, key, pop, Run::Command);
    }
    let waiter = Arc::new(Waiter {
        client_id: ctx.client.shared.id,
        db: ctx.keys.db,
        keys: keys.iter().map(|k| k.to_vec()).collect(),
        resp3: ctx.out.is_resp3(),
        argv: argv.iter().map(|a| a.to_vec()).collect(),
        serve,
        timeout_reply: |out| out.null_array(),
        slot: Slot::new(),
    });
    ctx.keys.block(BlockRequest { waiter, deadline_ms })
}

/// Runs a blocked pop again for `w` once `ready` holds a sorted set (a key that became
/// something else wakes nobody): the keys in order, every one locked first (a key whose shard
/// the writer does not hold and cannot take now means trying again later).
fn serve_pop(keys: &mut Keys<'_>, w: &Waiter, ready: &[u8], out: &mut Reply, pop: Pop) -> Result<Served, Error> {
    // A key past its TTL counts as missing and is left for the next command to delete.
    match keys.peek_unexpired(ready)? {
        Some(e) if matches!(e.value(), ValueRef::ZSet(_)) => {}
        _ => return Ok(Served::NotYet),
    }
    for key in &w.keys {
        if !keys.try_lock_key(w.db, key) {
            return Ok(Served::Retry);
        }
    }
    let names: Vec<&[u8]> = w.keys.iter().map(|k| k.as_slice()).collect();
    match first_non_empty(keys, &names)? {
        Some(key) => {
            pop_and_reply(keys, out, key, pop, Run::Served(w.db))?;
            Ok(Served::Yes)
        }
        None => Ok(Served::NotYet),
    }
}

fn serve_bzpopmin(keys: &mut Keys<'_>, w: &Waiter, ready: &[u8], out: &mut Reply) -> Result<Served, Error> {
    serve_pop(keys, w, ready, out, bzpop(false))
}

fn serve_bzpopmax(keys: &mut Keys<'_>, w: &Waiter, ready: &[u8], out: &mut Reply) -> Result<Served, Error> {
    serve_pop(keys, w, ready, out, bzpop(true))
}

fn serve_bzmpop(keys: &mut Keys<'_>, w: &Waiter, ready: &[u8], out: &mut Reply) -> Result<Served, Error> {
    let argv: Vec<&[u8]> = w.argv.iter().map(|a| a.as_slice()).collect();
    let (_, highest, count) = parse_mpop(&argv, 2)?;
    serve_pop(
        keys,
        w,
        ready,
        out,
        Pop { highest, count, nested: true, emit_key: true, nil_when_empty: true, rewrite: true },
    )
}
