//! The commands that read or change lists anywhere: LLEN LRANGE LINDEX LPOS, LSET LINSERT LREM
//! LTRIM.

use super::{as_list, limits, removal_done, reply_element, settle_after_removal, with_list, write_len};
use crate::commands::{errors, int_arg, is, range_arg, CmdResult, Ctx, Error};
use crate::notify;
use crate::types::list::{range_bounds, Needle};
use std::ops::ControlFlow;

// ---- Reads ----

pub(super) fn llen(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let len = match ctx.keys.read(argv[1])? {
        Some(e) => as_list(e.value())?.len(),
        None => 0,
    };
    ctx.out.int(len as i64);
    Ok(())
}

pub(super) fn lrange(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let start = int_arg(argv[2])?;
    let end = int_arg(argv[3])?;
    let Some(e) = ctx.keys.read(argv[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let list = as_list(e.value())?;
    match range_bounds(start, end, list.len()) {
        Some((first, count)) => {
            ctx.out.array(count);
            list.for_range(first, count, false, |v| reply_element(ctx.out, v));
        }
        None => ctx.out.array(0),
    }
    Ok(())
}

pub(super) fn lindex(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let Some(e) = ctx.keys.read(argv[1])? else {
        ctx.out.null();
        return Ok(());
    };
    let list = as_list(e.value())?;
    let index = int_arg(argv[2])?;
    if list.with_index(index, |v| reply_element(ctx.out, v)).is_none() {
        ctx.out.null();
    }
    Ok(())
}

/// LPOS's options.
struct LposArgs {
    rank: i64,
    /// `None`: COUNT not given (a single index or null is the reply).
    count: Option<usize>,
    maxlen: usize,
}

fn parse_lpos(argv: &[&[u8]]) -> Result<LposArgs, Error> {
    let mut args = LposArgs { rank: 1, count: None, maxlen: 0 };
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        if is(argv[j], "rank") && more {
            args.rank = range_arg(argv[j + 1], -i64::MAX, i64::MAX, None)?;
            if args.rank == 0 {
                return Err(Error::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to \
                     start from the end of the list",
                ));
            }
        } else if is(argv[j], "count") && more {
            args.count = Some(range_arg(argv[j + 1], 0, i64::MAX, Some("COUNT can't be negative"))? as usize);
        } else if is(argv[j], "maxlen") && more {
            args.maxlen = range_arg(argv[j + 1], 0, i64::MAX, Some("MAXLEN can't be negative"))? as usize;
        } else {
            return Err(errors::SYNTAX);
        }
        j += 2;
    }
    Ok(args)
}

pub(super) fn lpos(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let args = parse_lpos(argv)?;
    let Some(e) = ctx.keys.read(argv[1])? else {
        if args.count.is_some() {
            ctx.out.array(0);
        } else {
            ctx.out.null();
        }
        return Ok(());
    };
    let list = as_list(e.value())?;
    let len = list.len();
    let needle = Needle::new(argv[2]);
    let from_tail = args.rank < 0;
    let rank = args.rank.unsigned_abs() as usize;
    let deferred = args.count.map(|_| ctx.out.deferred(resp::reply::Aggregate::Array));
    let (mut scanned, mut matches, mut found, mut listed) = (0usize, 0usize, None, 0usize);
    if len > 0 {
        let start = if from_tail { len - 1 } else { 0 };
        list.walk(start, from_tail, |v| {
            if args.maxlen != 0 && scanned >= args.maxlen {
                return ControlFlow::Break(());
            }
            let index = if from_tail { len - 1 - scanned } else { scanned };
            scanned += 1;
            if !needle.matches(v) {
                return ControlFlow::Continue(());
            }
            matches += 1;
            if matches < rank {
                return ControlFlow::Continue(());
            }
            match args.count {
                Some(count) => {
                    ctx.out.int(index as i64);
                    listed += 1;
                    if count != 0 && listed >= count {
                        return ControlFlow::Break(());
                    }
                    ControlFlow::Continue(())
                }
                None => {
                    found = Some(index);
                    ControlFlow::Break(())
                }
            }
        });
    }
    match deferred {
        Some(d) => ctx.out.fill_deferred(d, listed),
        None => match found {
            Some(i) => ctx.out.int(i as i64),
            None => ctx.out.null(),
        },
    }
    Ok(())
}

// ---- Changes in the middle ----

pub(super) fn lset(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    if write_len(&mut ctx.keys, key)?.is_none() {
        return Err(errors::NO_SUCH_KEY);
    }
    let index = int_arg(argv[2])?;
    let limits = limits(&ctx.keys);
    if !with_list(&mut ctx.keys, key, |l| l.set(index, argv[3], limits))? {
        return Err(errors::OUT_OF_RANGE);
    }
    ctx.out.ok();
    ctx.keys.changed(key, notify::LIST, "lset");
    Ok(())
}

pub(super) fn linsert(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let after = if is(argv[2], "after") {
        true
    } else if is(argv[2], "before") {
        false
    } else {
        return Err(errors::SYNTAX);
    };
    let key = argv[1];
    if write_len(&mut ctx.keys, key)?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let limits = limits(&ctx.keys);
    let inserted = with_list(&mut ctx.keys, key, |l| l.insert(argv[3], argv[4], after, limits).then(|| l.len()))?;
    match inserted {
        Some(len) => {
            ctx.keys.changed(key, notify::LIST, "linsert");
            ctx.out.int(len as i64);
        }
        None => ctx.out.int(-1),
    }
    Ok(())
}

pub(super) fn lrem(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let count = range_arg(argv[2], -i64::MAX, i64::MAX, None)?;
    let key = argv[1];
    if write_len(&mut ctx.keys, key)?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let limits = limits(&ctx.keys);
    let (removed, empty) = with_list(&mut ctx.keys, key, |l| {
        let removed = l.remove(argv[3], count.unsigned_abs() as usize, count < 0);
        (removed, removed > 0 && settle_after_removal(l, limits))
    })?;
    if removed > 0 {
        removal_done(&mut ctx.keys, key, "lrem", removed, empty)?;
    }
    ctx.out.int(removed as i64);
    Ok(())
}

pub(super) fn ltrim(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let start = int_arg(argv[2])?;
    let end = int_arg(argv[3])?;
    let key = argv[1];
    if write_len(&mut ctx.keys, key)?.is_some() {
        let limits = limits(&ctx.keys);
        let (removed, empty) = with_list(&mut ctx.keys, key, |l| {
            let removed = l.trim(start, end);
            (removed, settle_after_removal(l, limits))
        })?;
        removal_done(&mut ctx.keys, key, "ltrim", removed, empty)?;
    }
    ctx.out.ok();
    Ok(())
}
