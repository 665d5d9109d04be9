//! ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, ZCOUNT, ZLEXCOUNT, the
//! ZREMRANGEBY* trio, ZRANDMEMBER and ZSCAN.

use super::{changed, limits, range_error, read_zset};
use crate::commands::{errors, float_arg, int_arg, is, CmdResult, Ctx, Error};
use crate::db::Keys;
use crate::types::zset::{AddFlags, AddOutcome, LexRange, NotANumber, ScoreRange, Spec, ZSet, ZSetLimits, ZSetRef};
use crate::types::Value;
use std::collections::HashSet;

const NAN_RESULT: &str = "resulting score is not a number (NaN)";

/// What a run of ZADD elements did.
#[derive(Default)]
struct Tally {
    added: usize,
    updated: usize,
    processed: usize,
    /// The last element's new score (ZINCRBY's reply).
    score: f64,
}

fn apply_adds(
    z: &mut ZSet,
    pairs: &[&[u8]],
    scores: &[f64],
    flags: AddFlags,
    limits: ZSetLimits,
    tally: &mut Tally,
) -> Result<(), NotANumber> {
    for (j, &score) in scores.iter().enumerate() {
        let member = pairs[2 * j + 1];
        let outcome = z.add(member, score, flags, limits)?;
        match outcome {
            AddOutcome::Added(s) => {
                tally.added += 1;
                tally.processed += 1;
                tally.score = s;
            }
            AddOutcome::Updated(s) => {
                tally.updated += 1;
                tally.processed += 1;
                tally.score = s;
            }
            AddOutcome::Unchanged(s) => {
                tally.processed += 1;
                tally.score = s;
            }
            AddOutcome::Skipped => {}
        }
    }
    Ok(())
}

pub(crate) fn zadd(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    add_generic(ctx, argv, AddFlags::default())
}

pub(super) fn zincrby(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    add_generic(ctx, argv, AddFlags { incr: true, ..AddFlags::default() })
}

/// ZADD and ZINCRBY (Valkey's `zaddGenericCommand`).
fn add_generic(ctx: &mut Ctx, argv: &[&[u8]], mut flags: AddFlags) -> CmdResult {
    let key = argv[1];
    let mut ch = false;
    let mut first = 2;
    while first < argv.len() {
        let o = argv[first];
        if is(o, "nx") {
            flags.nx = true;
        } else if is(o, "xx") {
            flags.xx = true;
        } else if is(o, "ch") {
            ch = true;
        } else if is(o, "incr") {
            flags.incr = true;
        } else if is(o, "gt") {
            flags.gt = true;
        } else if is(o, "lt") {
            flags.lt = true;
        } else {
            break;
        }
        first += 1;
    }
    let pairs = &argv[first..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(errors::SYNTAX);
    }
    let elements = pairs.len() / 2;
    if flags.nx && flags.xx {
        return Err(Error::err("XX and NX options at the same time are not compatible"));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(Error::err("GT, LT, and/or NX options at the same time are not compatible"));
    }
    if flags.incr && elements > 1 {
        return Err(Error::err("INCR option supports a single increment-element pair"));
    }
    // Every score is parsed before anything changes: all or nothing.
    let mut scores = Vec::with_capacity(elements);
    let mut max_len = 0;
    for pair in pairs.chunks_exact(2) {
        scores.push(float_arg(pair[0])?);
        max_len = max_len.max(pair[1].len());
    }
    let limits = limits(ctx);
    let mut tally = Tally::default();
    let existing = ctx.keys.modify(key, |v| match v {
        Value::ZSet(z) => {
            z.maybe_convert(elements, max_len, limits);
            Ok(apply_adds(z, pairs, &scores, flags, limits, &mut tally))
        }
        _ => Err(errors::WRONGTYPE),
    })?;
    let result = match existing {
        Some(r) => r?,
        None if flags.xx => Ok(()),
        None => {
            let mut z = ZSet::new_for(elements, max_len, limits);
            let r = apply_adds(&mut z, pairs, &scores, flags, limits, &mut tally);
            if !z.is_empty() {
                ctx.keys.add(key, Value::ZSet(z), None)?;
            }
            r
        }
    };
    let changes = tally.added + tally.updated;
    if changes > 0 {
        changed(&mut ctx.keys, key, if flags.incr { "zincr" } else { "zadd" }, changes);
    }
    result.map_err(|NotANumber| Error::err(NAN_RESULT))?;
    if flags.incr {
        if tally.processed > 0 {
            ctx.out.double(tally.score);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out.int((if ch { changes } else { tally.added }) as i64);
    }
    Ok(())
}

/// Deletes `key` after a command emptied it, with the `del` event. Valkey counts the removed
/// members in `dirty`, not the key, so the deletion's own count is taken back.
pub(super) fn delete_emptied(keys: &mut Keys<'_>, key: &[u8]) -> Result<bool, Error> {
    let deleted = keys.delete_if_empty(key)?;
    if deleted {
        keys.effects.dirty = keys.effects.dirty.saturating_sub(1);
    }
    Ok(deleted)
}

pub(super) fn zrem(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let removed = ctx.keys.modify(key, |v| match v {
        Value::ZSet(z) => {
            let mut n = 0;
            for m in &argv[2..] {
                n += usize::from(z.remove(m));
                if z.is_empty() {
                    break;
                }
            }
            Ok(n)
        }
        _ => Err(errors::WRONGTYPE),
    })?;
    let removed = match removed {
        None => 0,
        Some(r) => r?,
    };
    if removed > 0 {
        changed(&mut ctx.keys, key, "zrem", removed);
        delete_emptied(&mut ctx.keys, key)?;
    }
    ctx.out.int(removed as i64);
    Ok(())
}

pub(super) fn zcard(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let n = read_zset(&mut ctx.keys, argv[1])?.map_or(0, |z| z.len());
    ctx.out.int(n as i64);
    Ok(())
}

pub(super) fn zscore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    match read_zset(&mut ctx.keys, argv[1])?.and_then(|z| z.score(argv[2])) {
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
    Ok(())
}

pub(super) fn zmscore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let z = read_zset(&mut ctx.keys, argv[1])?;
    ctx.out.array(argv.len() - 2);
    for m in &argv[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

pub(super) fn zrank(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    rank_generic(ctx, argv, false)
}

pub(super) fn zrevrank(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    rank_generic(ctx, argv, true)
}

fn rank_generic(ctx: &mut Ctx, argv: &[&[u8]], reverse: bool) -> CmdResult {
    if argv.len() > 4 {
        return Err(ctx.arity_error());
    }
    let with_score = match argv.get(3) {
        None => false,
        Some(a) if is(a, "withscore") => true,
        Some(_) => return Err(errors::SYNTAX),
    };
    let found = read_zset(&mut ctx.keys, argv[1])?.and_then(|z| z.rank(argv[2], reverse));
    match (found, with_score) {
        (Some((rank, score)), true) => {
            ctx.out.array(2);
            ctx.out.int(rank as i64);
            ctx.out.double(score);
        }
        (Some((rank, _)), false) => ctx.out.int(rank as i64),
        (None, true) => ctx.out.null_array(),
        (None, false) => ctx.out.null(),
    }
    Ok(())
}

pub(super) fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Error> {
    ScoreRange::parse(min, max).ok_or_else(|| Error::err("min or max is not a float"))
}

pub(super) fn lex_range<'a>(min: &'a [u8], max: &'a [u8]) -> Result<LexRange<'a>, Error> {
    LexRange::parse(min, max).ok_or_else(|| Error::err("min or max not valid string range item"))
}

pub(super) fn zcount(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let range = score_range(argv[2], argv[3])?;
    let n = read_zset(&mut ctx.keys, argv[1])?.map_or(0, |z| z.count_in_range(&range));
    ctx.out.int(n as i64);
    Ok(())
}

pub(super) fn zlexcount(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let range = lex_range(argv[2], argv[3])?;
    let n = read_zset(&mut ctx.keys, argv[1])?.map_or(0, |z| z.count_in_range(&range));
    ctx.out.int(n as i64);
    Ok(())
}

/// What a ZREMRANGEBY* command removes.
enum Doomed<'a> {
    Ranks(i64, i64),
    Range(&'a dyn Spec),
}

pub(super) fn zremrangebyrank(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let start = int_arg(argv[2])?;
    let end = int_arg(argv[3])?;
    remrange_generic(ctx, argv[1], Doomed::Ranks(start, end), "zremrangebyrank")
}

pub(super) fn zremrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let range = score_range(argv[2], argv[3])?;
    remrange_generic(ctx, argv[1], Doomed::Range(&range), "zremrangebyscore")
}

pub(super) fn zremrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let range = lex_range(argv[2], argv[3])?;
    remrange_generic(ctx, argv[1], Doomed::Range(&range), "zremrangebylex")
}

/// Ranks `start..=end` (negative from the end) clamped to a set of `len`, or `None` when the
/// range is empty (Valkey's index sanitizing for ZRANGE and ZREMRANGEBYRANK).
pub(super) fn clamp_ranks(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

fn remrange_generic(ctx: &mut Ctx, key: &[u8], doomed: Doomed<'_>, event: &'static str) -> CmdResult {
    let removed = ctx.keys.modify(key, |v| match v {
        Value::ZSet(z) => Ok(match doomed {
            Doomed::Ranks(start, end) => match clamp_ranks(start, end, z.len()) {
                Some((start, end)) => z.remove_ranks(start, end),
                None => 0,
            },
            Doomed::Range(spec) => z.remove_range(spec),
        }),
        _ => Err(errors::WRONGTYPE),
    })?;
    let removed = match removed {
        None => 0,
        Some(r) => r?,
    };
    if removed > 0 {
        changed(&mut ctx.keys, key, event, removed);
        delete_emptied(&mut ctx.keys, key)?;
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// The most bytes one ZRANDMEMBER reply may take. A negative count asks for that many members
/// with repetitions, whatever the set's size: Valkey builds such a reply in full in memory;
/// past this bound the reply is dropped and the connection closed, which is what Valkey does to
/// a client over its output buffer limit.
pub const MAX_RANDOM_REPLY_BYTES: usize = 512 << 20;

pub(super) fn zrandmember(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() >= 3 {
        let count = int_arg(argv[2])?;
        if count == i64::MIN {
            return Err(range_error(-i64::MAX, i64::MAX));
        }
        let with_scores = match argv.len() {
            3 => false,
            4 if is(argv[3], "withscores") => true,
            _ => return Err(errors::SYNTAX),
        };
        if with_scores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&count) {
            return Err(Error::err("value is out of range"));
        }
        return random_with_count(ctx, argv[1], count, with_scores);
    }
    let z = match read_zset(&mut ctx.keys, argv[1])? {
        Some(z) => z,
        None => {
            ctx.out.null();
            return Ok(());
        }
    };
    let mut rng = fastrand::Rng::new();
    match z.random(&mut rng) {
        Some((m, _)) => ctx.out.bulk(&m),
        None => ctx.out.null(),
    }
    Ok(())
}

/// One ZRANDMEMBER element: the member, and its score when asked (a pair in RESP3).
fn reply_member(out: &mut resp::Reply, member: &[u8], score: f64, with_scores: bool) {
    if with_scores && out.is_resp3() {
        out.array(2);
    }
    out.bulk(member);
    if with_scores {
        out.double(score);
    }
}

fn random_with_count(ctx: &mut Ctx, key: &[u8], count: i64, with_scores: bool) -> CmdResult {
    let resp3 = ctx.out.is_resp3();
    let start = ctx.out.len();
    let Some(z) = read_zset(&mut ctx.keys, key)? else {
        ctx.out.array(0);
        return Ok(());
    };
    if count == 0 {
        ctx.out.array(0);
        return Ok(());
    }
    let size = z.len();
    let mut rng = fastrand::Rng::new();
    let pairs_reply = with_scores && !resp3;
    if count < 0 || count == 1 {
        // Members may repeat: each one drawn independently.
        let n = count.unsigned_abs();
        let header = if pairs_reply { n.saturating_mul(2) } else { n };
        ctx.out.array(usize::try_from(header).unwrap_or(usize::MAX));
        let members = collect(z);
        for i in 0..n {
            let (m, s) = &members[rng.usize(..members.len())];
            reply_member(ctx.out, m, *s, with_scores);
            if i % 1024 == 0 && ctx.out.len() - start > MAX_RANDOM_REPLY_BYTES {
                ctx.out.truncate(start);
                ctx.client.close_after_reply = true;
                return Ok(());
            }
        }
        return Ok(());
    }
    let count = count as usize;
    let reply_len = count.min(size);
    ctx.out.array(if pairs_reply { reply_len * 2 } else { reply_len });
    if count >= size {
        // The whole set, from the highest score down (Valkey iterates sorted sets backwards).
        z.walk(size - 1, true, |m, s| {
            m.with_bytes(|b| reply_member(ctx.out, b, s, with_scores));
            true
        });
        return Ok(());
    }
    match z {
        ZSetRef::Listpack(_) => {
            // `count` distinct ranks, returned in the set's order.
            let mut ranks: Vec<usize> = (0..size).collect();
            for i in 0..count {
                let j = rng.usize(i..size);
                ranks.swap(i, j);
            }
            let mut chosen = ranks[..count].to_vec();
            chosen.sort_unstable();
            let mut next = chosen.into_iter().peekable();
            let mut rank = 0;
            z.walk(0, false, |m, s| {
                if next.peek() == Some(&rank) {
                    next.next();
                    m.with_bytes(|b| reply_member(ctx.out, b, s, with_scores));
                }
                rank += 1;
                next.peek().is_some()
            });
        }
        ZSetRef::Skiplist(_) if count * 3 > size => {
            // Close to the whole set: pick a random subset of all of it.
            let mut members = collect(z);
            for i in 0..count {
                let j = rng.usize(i..members.len());
                members.swap(i, j);
            }
            for (m, s) in &members[..count] {
                reply_member(ctx.out, m, *s, with_scores);
            }
        }
        ZSetRef::Skiplist(_) => {
            // Much smaller than the set: random draws until `count` distinct members.
            let mut seen: HashSet<Vec<u8>> = HashSet::with_capacity(count);
            while seen.len() < count {
                let Some((m, s)) = z.random(&mut rng) else { break };
                if seen.insert(m.clone()) {
                    reply_member(ctx.out, &m, s, with_scores);
                }
            }
        }
    }
    Ok(())
}

/// Every (member, score), owned.
fn collect(z: ZSetRef<'_>) -> Vec<(Vec<u8>, f64)> {
    let mut v = Vec::with_capacity(z.len());
    z.for_each(|m, s| v.push((m.to_vec(), s)));
    v
}

/// `%.17g`: how Valkey's ZSCAN prints the scores of a skiplist-encoded set (`ld2string` with
/// `LD_STR_AUTO` on the score promoted to `long double`, which prints the same digits).
pub(super) fn push_g17(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    // 17 significant digits, correctly rounded: d.dddddddddddddddde±x.
    let sci = format!("{v:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    if negative {
        out.push(b'-');
    }
    if (-4..17).contains(&exp) {
        // Fixed notation with 16 - exp decimals, trailing zeros removed.
        let mut text = Vec::with_capacity(40);
        if exp >= 0 {
            let int_len = exp as usize + 1;
            text.extend_from_slice(&digits[..int_len]);
            text.push(b'.');
            text.extend_from_slice(&digits[int_len..]);
        } else {
            text.extend_from_slice(b"0.");
            text.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            text.extend_from_slice(&digits);
        }
        while text.last() == Some(&b'0') {
            text.pop();
        }
        if text.last() == Some(&b'.') {
            text.pop();
        }
        out.extend_from_slice(&text);
    } else {
        let mut frac = digits[1..].to_vec();
        while frac.last() == Some(&b'0') {
            frac.pop();
        }
        out.push(digits[0]);
        if !frac.is_empty() {
            out.push(b'.');
            out.extend_from_slice(&frac);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(e.to_string().as_bytes());
    }
}

pub(super) fn zscan(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let cursor = crate::commands::keys::parse_cursor(argv[2]).ok_or(errors::INVALID_CURSOR)?;
    let Some(z) = read_zset(&mut ctx.keys, argv[1])? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut no_scores = false;
    let mut i = 3;
    while i < argv.len() {
        let has_value = argv.len() - i >= 2;
        if is(argv[i], "count") && has_value {
            count = int_arg(argv[i + 1])?;
            if count < 1 {
                return Err(errors::SYNTAX);
            }
            i += 2;
        } else if is(argv[i], "match") && has_value {
            pattern = Some(argv[i + 1]).filter(|p| *p != b"*");
            i += 2;
        } else if is(argv[i], "novalues") {
            return Err(Error::err("NOVALUES option can only be used in HSCAN"));
        } else if is(argv[i], "noscores") {
            no_scores = true;
            i += 1;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    let matches = |m: &[u8]| pattern.is_none_or(|p| crate::util::glob_match(p, m, false));
    let mut items: Vec<Vec<u8>> = Vec::new();
    let next = match z {
        ZSetRef::Listpack(lp) => {
            // Member and score as the listpack holds them (a score keeps its stored text).
            let mut it = crate::types::listpack::iter(lp);
            while let (Some((_, m)), Some((_, s))) = (it.next(), it.next()) {
                if m.with_bytes(|b| matches(b)) {
                    items.push(m.to_vec());
                    if !no_scores {
                        items.push(s.to_vec());
                    }
                }
            }
            0
        }
        ZSetRef::Skiplist(_) => {
            let mut cursor = cursor;
            let mut sampled = 0i64;
            let mut steps = count.saturating_mul(10);
            loop {
                cursor = z.scan(cursor, |m, s| {
                    sampled += 1;
                    let m = m.to_vec();
                    if matches(&m) {
                        items.push(m);
                        if !no_scores {
                            let mut text = Vec::with_capacity(24);
                            push_g17(&mut text, s);
                            items.push(text);
                        }
                    }
                });
                steps -= 1;
                if cursor == 0 || steps <= 0 || sampled >= count {
                    break;
                }
            }
            cursor
        }
    };
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(items.len());
    for it in &items {
        ctx.out.bulk(it);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g17(v: f64) -> String {
        let mut out = Vec::new();
        push_g17(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn g17_is_printf_percent_17g() {
        // Expected strings from glibc's printf("%.17g").
        for (v, want) in [
            (0.1, "0.10000000000000001"),
            (1.5, "1.5"),
            (3.0, "3"),
            (-0.0, "-0"),
            (0.0, "0"),
            (1e17, "1e+17"),
            (1e16, "10000000000000000"),
            (123456789.125, "123456789.125"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (1e300, "1.0000000000000001e+300"),
            (-2.5e-7, "-2.4999999999999999e-07"),
            (f64::INFINITY, "inf"),
            (5e-324, "4.9406564584124654e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ] {
            assert_eq!(g17(v), want, "{v:e}");
        }
    }
}
