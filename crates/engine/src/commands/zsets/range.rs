//! ZRANGE (by rank, BYSCORE, BYLEX, REV, LIMIT, WITHSCORES), ZRANGESTORE and the older
//! ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX: one parser and one
//! walker (Valkey's `zrangeGenericCommand`), writing either a reply or a new sorted set.
//!
//! Nothing is buffered per member: the reply streams from the set, its length written first
//! when known (rank ranges) or patched in afterwards (score and lex ranges), so neither a huge
//! LIMIT count nor a huge range allocates more than the reply itself.

use super::basic::{clamp_ranks, lex_range, score_range};
use super::{limits, read_zset, store_result};
use crate::commands::{errors, int_arg, is, CmdResult, Ctx, Error};
use crate::types::zset::{AddFlags, Member, Spec, ZSet, ZSetLimits, ZSetRef};
use resp::reply::Aggregate;

#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

/// Where the members of a range go.
enum Sink<'o> {
    Reply { out: &'o mut resp::Reply, with_scores: bool },
    Store { z: ZSet, limits: ZSetLimits },
}

impl Sink<'_> {
    fn emit(&mut self, member: Member<'_>, score: f64) {
        match self {
            Sink::Reply { out, with_scores } => {
                if *with_scores && out.is_resp3() {
                    out.array(2);
                }
                member.with_bytes(|m| out.bulk(m));
                if *with_scores {
                    out.double(score);
                }
            }
            Sink::Store { z, limits } => {
                // A member of a set cannot repeat, and a stored score is never NaN.
                let _ = member.with_bytes(|m| z.add(m, score, AddFlags::default(), *limits));
            }
        }
    }

    /// Members per element in a RESP2 reply (member + score).
    fn reply_factor(&self) -> usize {
        match self {
            Sink::Reply { out, with_scores: true } if !out.is_resp3() => 2,
            _ => 1,
        }
    }
}

pub(super) fn zrange(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    range_generic(ctx, argv, 1, None, By::Auto, Direction::Auto)
}

pub(super) fn zrangestore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    range_generic(ctx, argv, 2, Some(argv[1]), By::Auto, Direction::Auto)
}

pub(super) fn zrevrange(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    range_generic(ctx, argv, 1, None, By::Rank, Direction::Reverse)
}

pub(super) fn zrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    range_generic(ctx, argv, 1, None, By::Score, Direction::Forward)
}

pub(super) fn zrevrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    range_generic(ctx, argv, 1, None, By::Score, Direction::Reverse)
}

pub(super) fn zrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    range_generic(ctx, argv, 1, None, By::Lex, Direction::Forward)
}

pub(super) fn zrevrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    range_generic(ctx, argv, 1, None, By::Lex, Direction::Reverse)
}

/// The parsed range: ranks, or a score or lex range.
enum Bounds<'a> {
    Ranks(i64, i64),
    Score(crate::types::zset::ScoreRange),
    Lex(crate::types::zset::LexRange<'a>),
}

/// `argv[src]` is the source key; `dst` is ZRANGESTORE's destination.
fn range_generic(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    src: usize,
    dst: Option<&[u8]>,
    mut by: By,
    mut direction: Direction,
) -> CmdResult {
    let store = dst.is_some();
    let mut with_scores = false;
    let mut offset: i64 = 0;
    let mut limit: i64 = -1;
    let mut j = src + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        if !store && is(argv[j], "withscores") {
            with_scores = true;
        } else if is(argv[j], "limit") && left >= 2 {
            offset = int_arg(argv[j + 1])?;
            limit = int_arg(argv[j + 2])?;
            j += 2;
        } else if direction == Direction::Auto && is(argv[j], "rev") {
            direction = Direction::Reverse;
        } else if by == By::Auto && is(argv[j], "bylex") {
            by = By::Lex;
        } else if by == By::Auto && is(argv[j], "byscore") {
            by = By::Score;
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    if direction == Direction::Auto {
        direction = Direction::Forward;
    }
    if by == By::Auto {
        by = By::Rank;
    }
    // Valkey tests the value, so `LIMIT 0 -1` passes with a rank range.
    if limit != -1 && by == By::Rank {
        return Err(Error::err("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"));
    }
    if with_scores && by == By::Lex {
        return Err(Error::err("syntax error, WITHSCORES not supported in combination with BYLEX"));
    }
    let reverse = direction == Direction::Reverse;
    let (mut min, mut max) = (argv[src + 1], argv[src + 2]);
    if reverse && by != By::Rank {
        std::mem::swap(&mut min, &mut max);
    }
    let spec = match by {
        By::Score => Bounds::Score(score_range(min, max)?),
        By::Lex => Bounds::Lex(lex_range(min, max)?),
        _ => Bounds::Ranks(int_arg(min)?, int_arg(max)?),
    };
    let limits = limits(ctx);
    let z = match read_zset(&mut ctx.keys, argv[src])? {
        Some(z) => z,
        None => {
            match dst {
                Some(dst) => store_result(ctx, dst, None, "zrangestore")?,
                None => ctx.out.array(0),
            }
            return Ok(());
        }
    };
    let mut sink = match dst {
        None => Sink::Reply { out: &mut *ctx.out, with_scores },
        Some(_) => {
            let hint = match spec {
                Bounds::Ranks(start, end) => clamp_ranks(start, end, z.len()).map_or(0, |(s, e)| e - s + 1),
                _ => 0,
            };
            Sink::Store { z: ZSet::new_for(hint, 0, limits), limits }
        }
    };
    match &spec {
        Bounds::Ranks(start, end) => by_rank(z, *start, *end, reverse, &mut sink),
        Bounds::Score(range) => {
            // An offset past the end yields nothing (checked for score ranges only).
            let past_end = offset > 0 && offset as u64 >= z.len() as u64;
            by_spec(z, range, if past_end { None } else { Some(offset) }, limit, reverse, &mut sink)
        }
        Bounds::Lex(range) => by_spec(z, range, Some(offset), limit, reverse, &mut sink),
    }
    if let (Some(dst), Sink::Store { z, .. }) = (dst, sink) {
        store_result(ctx, dst, Some(z), "zrangestore")?;
    }
    Ok(())
}

fn by_rank(z: ZSetRef<'_>, start: i64, end: i64, reverse: bool, sink: &mut Sink<'_>) {
    let Some((start, end)) = clamp_ranks(start, end, z.len()) else {
        if let Sink::Reply { out, .. } = sink {
            out.array(0);
        }
        return;
    };
    let n = end - start + 1;
    let factor = sink.reply_factor();
    if let Sink::Reply { out, .. } = sink {
        out.array(n * factor);
    }
    let first = if reverse { z.len() - 1 - start } else { start };
    let mut left = n;
    z.walk(first, reverse, |m, s| {
        sink.emit(m, s);
        left -= 1;
        left > 0
    });
}

/// A score or lex range walk with LIMIT `offset` (`None`: nothing to walk) and `limit`
/// (negative: no limit).
fn by_spec(z: ZSetRef<'_>, spec: &dyn Spec, offset: Option<i64>, limit: i64, reverse: bool, sink: &mut Sink<'_>) {
    let factor = sink.reply_factor();
    let deferred = match sink {
        Sink::Reply { out, .. } => Some(out.deferred(Aggregate::Array)),
        Sink::Store { .. } => None,
    };
    let mut emitted = 0usize;
    if let Some(start) = offset.and_then(|o| z.range_start(spec, o, reverse)) {
        let mut left = limit;
        z.walk(start, reverse, |m, s| {
            // A negative limit never counts down to zero: no limit.
            if left == 0 {
                return false;
            }
            let inside = if reverse { spec.gte_min(m, s) } else { spec.lte_max(m, s) };
            if !inside {
                return false;
            }
            sink.emit(m, s);
            emitted += 1;
            if left > 0 {
                left -= 1;
            }
            true
        });
    }
    if let (Some(d), Sink::Reply { out, .. }) = (deferred, sink) {
        out.fill_deferred(d, emitted * factor);
    }
}
