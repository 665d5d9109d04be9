//! ZUNION, ZINTER, ZDIFF, their STORE forms, and ZINTERCARD (Valkey's
//! `zunionInterDiffGenericCommand`). Sources may be sorted sets or plain sets (whose members
//! count with score 1). The result is built as a big sorted set (members in order for the
//! reply); a stored result goes back to a listpack when it fits.

use super::{limits, store_result};
use crate::commands::{errors, int_arg, is, CmdResult, Ctx, Error};
use crate::keyspace::entry::EntryPtr;
use crate::types::listpack::LpValue;
use crate::types::set::SetRef;
use crate::types::zset::skiplist::SkipList;
use crate::types::zset::{Member, ZSet, ZSetRef};
use crate::types::ValueRef;
use std::collections::HashMap;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, target: &mut f64, v: f64) {
        match self {
            Aggregate::Sum => {
                *target += v;
                // inf + -inf: Valkey's convention is 0.
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if v < *target {
                    *target = v;
                }
            }
            Aggregate::Max => {
                if v > *target {
                    *target = v;
                }
            }
        }
    }
}

/// One input: a sorted set, a set, or nothing (a missing key is an empty input).
#[derive(Clone, Copy)]
enum Input<'a> {
    Missing,
    ZSet(ZSetRef<'a>),
    Set(SetRef<'a>),
}

struct Source<'a> {
    key: &'a [u8],
    input: Input<'a>,
    weight: f64,
}

impl<'a> Source<'a> {
    fn len(&self) -> usize {
        match self.input {
            Input::Missing => 0,
            Input::ZSet(z) => z.len(),
            Input::Set(s) => s.len(),
        }
    }

    /// Every member with its score (1 for a set member).
    fn for_each(&self, mut f: impl FnMut(Member<'a>, f64)) {
        match self.input {
            Input::Missing => {}
            Input::ZSet(z) => z.for_each(f),
            Input::Set(s) => s.for_each(|m| f(m, 1.0)),
        }
    }

    fn find(&self, member: &[u8]) -> Option<f64> {
        match self.input {
            Input::Missing => None,
            Input::ZSet(z) => z.score(member),
            Input::Set(s) => s.contains(member).then_some(1.0),
        }
    }
}

pub(super) fn zunion(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    generic(ctx, argv, None, 1, Op::Union, false)
}

pub(super) fn zinter(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    generic(ctx, argv, None, 1, Op::Inter, false)
}

pub(super) fn zdiff(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    generic(ctx, argv, None, 1, Op::Diff, false)
}

pub(super) fn zunionstore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    generic(ctx, argv, Some(argv[1]), 2, Op::Union, false)
}

pub(super) fn zinterstore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    generic(ctx, argv, Some(argv[1]), 2, Op::Inter, false)
}

pub(super) fn zdiffstore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    generic(ctx, argv, Some(argv[1]), 2, Op::Diff, false)
}

pub(super) fn zintercard(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    generic(ctx, argv, None, 1, Op::Inter, true)
}

/// A result under construction, with what decides whether it fits a listpack.
#[derive(Default)]
struct Result_ {
    set: SkipList,
    max_len: usize,
    total_len: usize,
}

impl Result_ {
    fn insert(&mut self, member: &[u8], score: f64) {
        self.max_len = self.max_len.max(member.len());
        self.total_len = self.total_len.saturating_add(member.len());
        self.set.insert(member, score);
    }
}

fn generic(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    dst: Option<&[u8]>,
    numkeys_at: usize,
    op: Op,
    cardinality_only: bool,
) -> CmdResult {
    let numkeys = int_arg(argv[numkeys_at])?;
    if numkeys < 1 {
        return Err(Error::err(format!("at least 1 input key is needed for '{}' command", ctx.cmd.full_name)));
    }
    let first_key = numkeys_at + 1;
    if numkeys as u64 > (argv.len() - first_key) as u64 {
        return Err(errors::SYNTAX);
    }
    let numkeys = numkeys as usize;
    // Look every input up first (hits, misses, expiry, type), as Valkey does before it parses
    // the options.
    let mut entries: Vec<Option<EntryPtr>> = Vec::with_capacity(numkeys);
    for key in &argv[first_key..first_key + numkeys] {
        let entry = match ctx.keys.read(key)? {
            None => None,
            Some(e) => match e.value() {
                ValueRef::ZSet(_) | ValueRef::Set(_) => Some(e.raw()),
                _ => return Err(errors::WRONGTYPE),
            },
        };
        entries.push(entry);
    }
    // The views borrow the entries found above; nothing changes the keyspace until the result
    // is complete (the destination is written after they are gone).
    let mut sources: Vec<Source<'_>> = entries
        .iter()
        .zip(&argv[first_key..first_key + numkeys])
        .map(|(e, key)| Source {
            key,
            input: match e.map(|p| p.value()) {
                Some(ValueRef::ZSet(z)) => Input::ZSet(z),
                Some(ValueRef::Set(s)) => Input::Set(s),
                _ => Input::Missing,
            },
            weight: 1.0,
        })
        .collect();

    let mut aggregate = Aggregate::Sum;
    let mut with_scores = false;
    let mut limit: usize = 0;
    let mut j = first_key + numkeys;
    while j < argv.len() {
        let remaining = argv.len() - j;
        if op != Op::Diff && !cardinality_only && remaining > numkeys && is(argv[j], "weights") {
            for (i, s) in sources.iter_mut().enumerate() {
                s.weight = crate::commands::parse_float(argv[j + 1 + i])
                    .ok_or_else(|| Error::err("weight value is not a float"))?;
            }
            j += 1 + numkeys;
        } else if op != Op::Diff && !cardinality_only && remaining >= 2 && is(argv[j], "aggregate") {
            aggregate = match argv[j + 1] {
                a if is(a, "sum") => Aggregate::Sum,
                a if is(a, "min") => Aggregate::Min,
                a if is(a, "max") => Aggregate::Max,
                _ => return Err(errors::SYNTAX),
            };
            j += 2;
        } else if dst.is_none() && !cardinality_only && is(argv[j], "withscores") {
            with_scores = true;
            j += 1;
        } else if cardinality_only && remaining >= 2 && is(argv[j], "limit") {
            // Valkey gives this one message for a negative and a non-integer limit alike.
            let v = resp::number::parse_i64(argv[j + 1])
                .filter(|v| *v >= 0)
                .ok_or_else(|| Error::err("LIMIT can't be negative"))?;
            limit = usize::try_from(v).unwrap_or(usize::MAX);
            j += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    if op != Op::Diff {
        // Smallest first (a stable sort: equal sizes keep the argument order).
        sources.sort_by_key(|s| s.len());
    }

    let mut result = Result_::default();
    match op {
        Op::Inter => {
            let count = inter(&sources, aggregate, cardinality_only, limit, &mut result);
            if cardinality_only {
                ctx.out.int(count as i64);
                return Ok(());
            }
        }
        Op::Union => union(&sources, aggregate, &mut result),
        Op::Diff => diff(&sources, &mut result),
    }
    drop(sources);

    match dst {
        Some(dst) => {
            let event = match op {
                Op::Union => "zunionstore",
                Op::Inter => "zinterstore",
                Op::Diff => "zdiffstore",
            };
            let Result_ { set, max_len, total_len } = result;
            let mut z = ZSet::Skiplist(Box::new(set));
            z.shrink_to_fit(max_len, total_len, limits(ctx));
            store_result(ctx, dst, Some(z), event)?;
        }
        None => {
            let n = result.set.len();
            let resp3 = ctx.out.is_resp3();
            ctx.out.array(if with_scores && !resp3 { n * 2 } else { n });
            result.set.tree().for_each(|x| {
                if with_scores && resp3 {
                    ctx.out.array(2);
                }
                ctx.out.bulk(x.item.key());
                if with_scores {
                    ctx.out.double(x.score);
                }
            });
        }
    }
    Ok(())
}

/// A weighted score; NaN (0 × inf) counts as 0, as in Valkey.
fn weighted(weight: f64, score: f64) -> f64 {
    let v = weight * score;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// Members of the smallest input present in every other one. Returns the count (stopping at
/// `limit` when only counting).
fn inter(sources: &[Source<'_>], aggregate: Aggregate, count_only: bool, limit: usize, out: &mut Result_) -> usize {
    let first = &sources[0];
    if first.len() == 0 {
        return 0;
    }
    let mut count = 0usize;
    let mut done = false;
    first.for_each(|m, s| {
        if done {
            return;
        }
        m.with_bytes(|member| {
            let mut score = weighted(first.weight, s);
            for other in &sources[1..] {
                let v = if other.key == first.key {
                    // The same key given twice: the same set.
                    s * other.weight
                } else {
                    match other.find(member) {
                        Some(v) => v * other.weight,
                        None => return,
                    }
                };
                aggregate.apply(&mut score, v);
            }
            count += 1;
            if count_only {
                done = limit != 0 && count >= limit;
            } else {
                out.insert(member, score);
            }
        });
    });
    count
}

fn union(sources: &[Source<'_>], aggregate: Aggregate, out: &mut Result_) {
    let mut acc: HashMap<Vec<u8>, f64> = HashMap::with_capacity(sources.last().map_or(0, |s| s.len()));
    for src in sources {
        src.for_each(|m, s| {
            let score = weighted(src.weight, s);
            let member = match m {
                LpValue::Str(b) => b.to_vec(),
                other => other.to_vec(),
            };
            match acc.get_mut(&member) {
                Some(existing) => aggregate.apply(existing, score),
                None => {
                    acc.insert(member, score);
                }
            }
        });
    }
    for (member, score) in acc {
        out.insert(&member, score);
    }
}

/// Members of the first input in none of the others, with their first-input score.
fn diff(sources: &[Source<'_>], out: &mut Result_) {
    let first = &sources[0];
    if sources[1..].iter().any(|s| s.key == first.key) {
        return;
    }
    first.for_each(|m, s| {
        m.with_bytes(|member| {
            if sources[1..].iter().all(|o| o.find(member).is_none()) {
                out.insert(member, s);
            }
        })
    });
}
