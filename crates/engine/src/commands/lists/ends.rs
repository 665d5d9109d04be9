//! The commands that work at the ends of lists: LPUSH RPUSH LPUSHX RPUSHX, LPOP RPOP, LMPOP,
//! LMOVE RPOPLPUSH. The pop and move operations take `Keys` and a `Reply` rather than a
//! `Ctx`: a served blocked client runs them too (`blocking.rs`).

use super::{
    limits, modify_list, pop_event, push_event, removal_done, reply_element, settle_after_removal, side_arg, with_list,
    write_len,
};
use crate::commands::{errors, is, range_arg, CmdResult, Ctx, Error, Run};
use crate::db::Keys;
use crate::notify;
use crate::types::list::{List, ListLimits};
use crate::types::listpack::LpValue;
use crate::types::Value;
use resp::Reply;

// ---- Pushes ----

fn push_generic(ctx: &mut Ctx, argv: &[&[u8]], head: bool, only_existing: bool) -> CmdResult {
    let key = argv[1];
    let values = &argv[2..];
    let limits = limits(&ctx.keys);
    let pushed = modify_list(&mut ctx.keys, key, |l| {
        l.push_all(values, head, limits);
        l.len()
    })?;
    let len = match pushed {
        Some(len) => len,
        None if only_existing => {
            ctx.out.int(0);
            return Ok(());
        }
        None => {
            let mut l = List::new();
            l.push_all(values, head, limits);
            let len = l.len();
            ctx.keys.add(key, Value::List(l), None)?;
            len
        }
    };
    ctx.out.int(len as i64);
    let dirty = ctx.keys.effects.dirty;
    ctx.keys.changed(key, notify::LIST, push_event(head));
    ctx.keys.effects.dirty = dirty + values.len() as u64;
    Ok(())
}

pub(super) fn lpush(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    push_generic(ctx, argv, true, false)
}

pub(super) fn rpush(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    push_generic(ctx, argv, false, false)
}

pub(super) fn lpushx(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    push_generic(ctx, argv, true, true)
}

pub(super) fn rpushx(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    push_generic(ctx, argv, false, true)
}

// ---- Pops ----

/// Pops up to `count` elements (`None`: one, replied as a bulk string) from `l`, replying
/// with them; gives a list left non-empty its chance to shrink. Returns (removed, now empty).
fn pop_into_reply(
    l: &mut List,
    out: &mut Reply,
    head: bool,
    count: Option<usize>,
    limits: ListLimits,
) -> (usize, bool) {
    let removed = match count {
        None => l.pop_with(head, |v| reply_element(out, v)).map_or(0, |()| 1),
        Some(n) => {
            let n = n.min(l.len());
            out.array(n);
            l.pop_many_with(head, n, |v| reply_element(out, v))
        }
    };
    (removed, settle_after_removal(l, limits))
}

fn pop_generic(ctx: &mut Ctx, argv: &[&[u8]], head: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(ctx.arity_error());
    }
    let count = match argv.get(2) {
        Some(a) => Some(range_arg(a, 0, i64::MAX, Some("value is out of range, must be positive"))? as usize),
        None => None,
    };
    let key = argv[1];
    let limits = limits(&ctx.keys);
    let out = &mut *ctx.out;
    let popped = modify_list(&mut ctx.keys, key, |l| {
        if count == Some(0) {
            out.array(0);
            return None;
        }
        Some(pop_into_reply(l, out, head, count, limits))
    })?;
    match popped {
        None if count.is_some() => ctx.out.null_array(),
        None => ctx.out.null(),
        Some(None) => {}
        Some(Some((removed, empty))) => removal_done(&mut ctx.keys, key, pop_event(head), removed, empty)?,
    }
    Ok(())
}

pub(super) fn lpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    pop_generic(ctx, argv, true)
}

pub(super) fn rpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    pop_generic(ctx, argv, false)
}

/// Pops from the first of `keys` that holds a non-empty list, replying `[key, element]`
/// (`count` None) or `[key, [elements...]]`. WRONGTYPE if a key before it holds something
/// else. False if every key is missing (nothing written). Replicas get the LPOP/RPOP it
/// amounted to (`LPOP key` for one element, `LPOP key n` with the number popped for a count),
/// as Valkey rewrites LMPOP, BLMPOP, BLPOP and BRPOP.
pub(super) fn pop_first(
    keys: &mut Keys<'_>,
    out: &mut Reply,
    list_keys: &[&[u8]],
    head: bool,
    count: Option<usize>,
    run: Run,
) -> Result<bool, Error> {
    for key in list_keys {
        match write_len(keys, key)? {
            None | Some(0) => continue,
            Some(_) => {
                out.array(2);
                out.bulk(key);
                let limits = limits(keys);
                let (removed, empty) = with_list(keys, key, |l| pop_into_reply(l, out, head, count, limits))?;
                removal_done(keys, key, pop_event(head), removed, empty)?;
                if keys.propagating() {
                    let mut argv = vec![if head { b"LPOP".to_vec() } else { b"RPOP".to_vec() }, key.to_vec()];
                    if count.is_some() {
                        argv.push(removed.to_string().into_bytes());
                    }
                    run.propagate(keys, argv);
                }
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The arguments of LMPOP and BLMPOP from `numkeys` on.
pub(super) struct MpopArgs<'a> {
    pub keys: &'a [&'a [u8]],
    pub head: bool,
    pub count: usize,
}

/// Parses `numkeys key [key ...] <LEFT | RIGHT> [COUNT count]` at `argv[numkeys_at..]`.
pub(super) fn parse_mpop<'a>(argv: &'a [&'a [u8]], numkeys_at: usize) -> Result<MpopArgs<'a>, Error> {
    let numkeys = range_arg(argv[numkeys_at], 1, i64::MAX, Some("numkeys should be greater than 0"))? as usize;
    let where_at = numkeys_at.checked_add(numkeys).and_then(|n| n.checked_add(1)).filter(|&w| w < argv.len());
    let Some(where_at) = where_at else { return Err(errors::SYNTAX) };
    let head = side_arg(argv[where_at])?;
    let mut count = None;
    let mut j = where_at + 1;
    while j < argv.len() {
        if count.is_none() && is(argv[j], "count") && j + 1 < argv.len() {
            count = Some(range_arg(argv[j + 1], 1, i64::MAX, Some("count should be greater than 0"))? as usize);
            j += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(MpopArgs { keys: &argv[numkeys_at + 1..where_at], head, count: count.unwrap_or(1) })
}

pub(super) fn lmpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let args = parse_mpop(argv, 1)?;
    if !pop_first(&mut ctx.keys, ctx.out, args.keys, args.head, Some(args.count), Run::Command)? {
        ctx.out.null_array();
    }
    Ok(())
}

// ---- Moves ----

/// Pops from `src` and pushes onto `dst`, replying with the element (Valkey's
/// `lmoveGenericCommand`): null if `src` is missing, WRONGTYPE if either key holds another
/// type (checked before anything changes). Events: the push, then the pop (and `del`); one
/// change for `dirty`.
pub(super) fn lmove_core(
    keys: &mut Keys<'_>,
    out: &mut Reply,
    src: &[u8],
    dst: &[u8],
    from_head: bool,
    to_head: bool,
) -> CmdResult {
    match write_len(keys, src)? {
        None | Some(0) => {
            out.null();
            return Ok(());
        }
        Some(_) => {}
    }
    let dst_exists = write_len(keys, dst)?.is_some();
    let limits = limits(keys);
    let dirty = keys.effects.dirty;
    let same = src == dst;
    let popped = with_list(keys, src, |l| {
        // Valkey pops an integer out of a quicklist as an integer object, which its conversion
        // check does not count; out of a listpack, every element comes out as a string.
        let from_quicklist = matches!(l, List::Quicklist(_));
        let popped = l.pop_with(from_head, |v| (v.to_vec(), from_quicklist && matches!(v, LpValue::Int(_))));
        // A rotation converts (or not) after the push, as in Valkey.
        (popped, !same && settle_after_removal(l, limits))
    })?;
    let ((value, was_int), src_empty) = match popped {
        (Some(p), empty) => (p, empty),
        (None, _) => return Err(Error::internal("pop from an empty list")),
    };
    if dst_exists {
        with_list(keys, dst, |l| {
            l.push_moved(&value, was_int, to_head, limits);
            if same {
                l.shrink(limits);
            }
        })?;
    } else {
        let mut l = List::new();
        l.push_moved(&value, was_int, to_head, limits);
        keys.add(dst, Value::List(l), None)?;
    }
    keys.changed(dst, notify::LIST, push_event(to_head));
    out.bulk(&value);
    removal_done(keys, src, pop_event(from_head), 1, src_empty)?;
    keys.effects.dirty = dirty + 1;
    Ok(())
}

pub(super) fn lmove(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let from_head = side_arg(argv[3])?;
    let to_head = side_arg(argv[4])?;
    lmove_core(&mut ctx.keys, ctx.out, argv[1], argv[2], from_head, to_head)
}

pub(super) fn rpoplpush(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    lmove_core(&mut ctx.keys, ctx.out, argv[1], argv[2], false, true)
}
