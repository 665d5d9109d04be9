//! XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM and XSETID.
//!
//! Writes that replicas could redo differently are propagated as Valkey rewrites them: XADD
//! with `*` or `<ms>-*` carries the ID it generated, and an approximate trim (`~`) is
//! propagated as an exact one (`=`) to the length or first ID it left.

use super::{
    argv_owned, limits, parse_range, parse_strict_id, reply_id, reply_range, stream_event, with_stream, write_exists,
};
use crate::commands::{errors, is, CmdResult, Ctx, Error};
use crate::notify;
use crate::types::stream::{AppendError, Stream, StreamId, TrimBy};
use crate::types::{Value, ValueRef};

/// XADD/XTRIM options (Valkey's `streamAddTrimArgs`).
#[derive(Default)]
pub(super) struct TrimArgs {
    pub by: Option<TrimBy>,
    pub approx: bool,
    pub limit: u64,
    /// Index of the threshold argument (for the `~` rewrite).
    pub threshold_idx: usize,
    pub no_mkstream: bool,
    /// XADD: the explicit ID and whether its sequence was given.
    pub id: Option<(StreamId, bool)>,
}

/// Parses XADD (`xadd`) or XTRIM options; returns them and the index of XADD's ID argument.
/// `obey`: the command comes from the master or the AOF, whose trims were rewritten as exact
/// ones (`rewrite_trim`): LIMIT is ignored there, as Valkey does.
pub(super) fn parse_trim_args(
    argv: &[&[u8]],
    xadd: bool,
    node_max_entries: usize,
    obey: bool,
) -> Result<(TrimArgs, usize), Error> {
    const BOTH: &str = "syntax error, MAXLEN and MINID options at the same time are not compatible";
    let mut a = TrimArgs::default();
    let mut limit_given = false;
    let mut limit: i64 = 0;
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = argv[i];
        if xadd && opt == b"*" {
            break;
        } else if (is(opt, "maxlen") || is(opt, "minid")) && more > 0 {
            if a.by.is_some() {
                return Err(Error::err(BOTH));
            }
            a.approx = false;
            let next = argv[i + 1];
            if more >= 2 && next == b"~" {
                a.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            if is(opt, "maxlen") {
                let max = crate::commands::int_arg(argv[i + 1])?;
                if max < 0 {
                    return Err(Error::err("The MAXLEN argument must be >= 0."));
                }
                a.by = Some(TrimBy::MaxLen(max as u64));
            } else {
                a.by = Some(TrimBy::MinId(parse_strict_id(argv[i + 1], 0)?));
            }
            i += 1;
            a.threshold_idx = i;
        } else if is(opt, "limit") && more > 0 {
            limit = crate::commands::int_arg(argv[i + 1])?;
            if limit < 0 {
                return Err(Error::err("The LIMIT argument must be >= 0."));
            }
            limit_given = true;
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            a.no_mkstream = true;
        } else if xadd {
            a.id = Some(super::parse_id_full(opt, 0, true, true)?);
            break;
        } else {
            return Err(errors::SYNTAX);
        }
        i += 1;
    }
    if limit != 0 && a.by.is_none() {
        return Err(Error::err("syntax error, LIMIT cannot be used without specifying a trimming strategy"));
    }
    if !xadd && a.by.is_none() {
        return Err(Error::err("syntax error, XTRIM must be called with a trimming strategy"));
    }
    if obey {
        a.limit = 0;
    } else if limit_given {
        if !a.approx {
            return Err(Error::err("syntax error, LIMIT cannot be used without the special ~ option"));
        }
        a.limit = limit as u64;
    } else if a.approx {
        a.limit = (100 * node_max_entries as u64).clamp(1, 1_000_000);
        if node_max_entries == 0 {
            a.limit = 10_000;
        }
    }
    Ok((a, i))
}

/// The argument vector with an approximate trim rewritten as the exact one it amounted to.
fn rewrite_trim(argv: &mut [Vec<u8>], a: &TrimArgs, s: &Stream) {
    argv[a.threshold_idx - 1] = b"=".to_vec();
    argv[a.threshold_idx] = match a.by {
        Some(TrimBy::MaxLen(_)) => itoa::Buffer::new().format(s.length).as_bytes().to_vec(),
        _ => s.edge_id(true, true).to_bytes(),
    };
}

pub(super) fn xadd(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let lim = limits(&ctx.keys);
    let (a, idpos) = parse_trim_args(argv, true, lim.node_max_entries, ctx.client.obey)?;
    let field_pos = idpos + 1;
    if argv.len() < field_pos + 2 || (argv.len() - field_pos) % 2 == 1 {
        return Err(ctx.arity_error());
    }
    if let Some((id, true)) = a.id {
        if id.is_zero() {
            return Err(Error::err("The ID specified in XADD must be greater than 0-0"));
        }
    }
    let key = argv[1];
    if !write_exists(&mut ctx.keys, key)? {
        if a.no_mkstream {
            ctx.out.null();
            return Ok(());
        }
        ctx.keys.add(key, Value::Stream(Box::default()), None)?;
    }
    let now = ctx.keys.now_ms;
    let fields = &argv[field_pos..];
    let (added, trimmed, rewritten) = with_stream(&mut ctx.keys, key, |s| {
        if s.last_id == StreamId::MAX {
            return Err(Error::err("The stream has exhausted the last possible ID, unable to add more items"));
        }
        let id =
            s.append(fields, a.id.map(|(id, _)| id), a.id.is_none_or(|(_, seq)| seq), now, lim).map_err(
                |e| match e {
                    AppendError::IdTooSmall => {
                        Error::err("The ID specified in XADD is equal or smaller than the target stream top item")
                    }
                    AppendError::TooLarge => Error::err("Elements are too large to be stored"),
                },
            )?;
        let trimmed = match a.by {
            Some(by) => s.trim(by, a.approx, a.limit),
            None => 0,
        };
        let mut rewritten = None;
        if a.approx || a.id.is_none_or(|(_, seq)| !seq) {
            let mut v = argv_owned(argv);
            if a.approx {
                rewrite_trim(&mut v, &a, s);
            }
            v[idpos] = id.to_bytes();
            rewritten = Some(v);
        }
        Ok((id, trimmed, rewritten))
    })??;
    reply_id(ctx.out, added);
    ctx.keys.changed(key, notify::STREAM, "xadd");
    if trimmed > 0 {
        ctx.keys.changed(key, notify::STREAM, "xtrim");
    }
    if let Some(v) = rewritten {
        ctx.keys.propagate_as(v);
    }
    Ok(())
}

fn range_command(ctx: &mut Ctx, argv: &[&[u8]], rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev { (argv[3], argv[2]) } else { (argv[2], argv[3]) };
    let (start, end) = parse_range(start_arg, end_arg)?;
    let mut count: i64 = -1;
    let mut j = 4;
    while j < argv.len() {
        if is(argv[j], "count") && j + 1 < argv.len() {
            count = crate::commands::int_arg(argv[j + 1])?.max(0);
            j += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    let Some(s) = ctx.keys.read_as(argv[1], ValueRef::stream)? else {
        ctx.out.array(0);
        return Ok(());
    };
    if count == 0 {
        ctx.out.null_array();
    } else {
        let count = if count < 0 { 0 } else { count as usize };
        reply_range(ctx.out, s, start, end, count, rev);
    }
    Ok(())
}

pub(super) fn xrange(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    range_command(ctx, argv, false)
}

pub(super) fn xrevrange(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    range_command(ctx, argv, true)
}

pub(super) fn xlen(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let n = ctx.keys.read_as(argv[1], ValueRef::stream)?.map_or(0, |s| s.length);
    ctx.out.int(n as i64);
    Ok(())
}

pub(super) fn xdel(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    if !write_exists(&mut ctx.keys, key)? {
        ctx.out.int(0);
        return Ok(());
    }
    let ids = argv[2..].iter().map(|a| parse_strict_id(a, 0)).collect::<Result<Vec<_>, _>>()?;
    let deleted = with_stream(&mut ctx.keys, key, |s| {
        let mut deleted = 0i64;
        let mut first_entry = false;
        for &id in &ids {
            if s.delete(id) {
                if id == s.first_id {
                    first_entry = true;
                }
                if id > s.max_deleted_id {
                    s.max_deleted_id = id;
                }
                deleted += 1;
            }
        }
        if deleted > 0 {
            if s.length == 0 {
                s.first_id = StreamId::MIN;
            } else if first_entry {
                s.first_id = s.edge_id(true, false);
            }
        }
        deleted
    })?;
    if deleted > 0 {
        ctx.keys.changed(key, notify::STREAM, "xdel");
        ctx.keys.effects.dirty += deleted as u64 - 1;
    }
    ctx.out.int(deleted);
    Ok(())
}

pub(super) fn xtrim(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let lim = limits(&ctx.keys);
    let (a, _) = parse_trim_args(argv, false, lim.node_max_entries, ctx.client.obey)?;
    let key = argv[1];
    if !write_exists(&mut ctx.keys, key)? {
        ctx.out.int(0);
        return Ok(());
    }
    let by = a.by.expect("XTRIM parsing requires a strategy");
    let (deleted, rewritten) = with_stream(&mut ctx.keys, key, |s| {
        let deleted = s.trim(by, a.approx, a.limit);
        let mut rewritten = None;
        if deleted > 0 && a.approx {
            let mut v = argv_owned(argv);
            rewrite_trim(&mut v, &a, s);
            rewritten = Some(v);
        }
        (deleted, rewritten)
    })?;
    if deleted > 0 {
        ctx.keys.changed(key, notify::STREAM, "xtrim");
        ctx.keys.effects.dirty += deleted - 1;
        if let Some(v) = rewritten {
            ctx.keys.propagate_as(v);
        }
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

pub(super) fn xsetid(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let id = parse_strict_id(argv[2], 0)?;
    let mut entries_added: i64 = -1;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        if is(argv[i], "entriesadded") && more > 0 {
            entries_added = crate::commands::int_arg(argv[i + 1])?;
            if entries_added < 0 {
                return Err(Error::err("entries_added must be positive"));
            }
            i += 2;
        } else if is(argv[i], "maxdeletedid") && more > 0 {
            max_xdel = parse_strict_id(argv[i + 1], 0)?;
            if id < max_xdel {
                return Err(Error::err("The ID specified in XSETID is smaller than the provided max_deleted_entry_id"));
            }
            i += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    let key = argv[1];
    if !write_exists(&mut ctx.keys, key)? {
        return Err(errors::NO_SUCH_KEY);
    }
    with_stream(&mut ctx.keys, key, |s| {
        if id < s.max_deleted_id {
            return Err(Error::err("The ID specified in XSETID is smaller than current max_deleted_entry_id"));
        }
        if s.length > 0 {
            if id < s.last_valid_id() {
                return Err(Error::err("The ID specified in XSETID is smaller than the target stream top item"));
            }
            if entries_added != -1 && s.length > entries_added as u64 {
                return Err(Error::err(
                    "The entries_added specified in XSETID is smaller than the target stream length",
                ));
            }
        }
        s.last_id = id;
        if entries_added != -1 {
            s.entries_added = entries_added as u64;
        }
        if !max_xdel.is_zero() {
            s.max_deleted_id = max_xdel;
        }
        Ok(())
    })??;
    ctx.out.ok();
    stream_event(&mut ctx.keys, key, "xsetid");
    Ok(())
}
