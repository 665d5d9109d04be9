//! Set algebra: SINTER SINTERCARD SINTERSTORE (Valkey's `sinterGenericCommand`) and SUNION
//! SUNIONSTORE SDIFF SDIFFSTORE (`sunionDiffGenericCommand`).
//!
//! Intersections walk the smallest set and probe the others. Unions and differences build
//! their result as a set the way Valkey does (an intset to start with when storing or when
//! every input is an intset, a table otherwise; SDIFF picks one of Valkey's two algorithms by
//! the same estimate), so a stored result has the encoding Valkey would give it and a reply
//! comes in the same kind of order.

use super::{owned, Keys};
use crate::commands::coll;
use crate::commands::{errors, is, CmdResult, Ctx, Error};
use crate::db::Ttl;
use crate::notify;
use crate::types::listpack::LpValue;
use crate::types::set::{Set, SetRef};
use crate::types::{intset, Value, ValueRef};
use resp::reply::Aggregate;

/// The sets named by `names`, in order, `None` for a missing key; WRONGTYPE if one holds
/// something else (keys after it are not looked up, as in Valkey).
fn lookup_sets<'k>(keys: &'k mut Keys, names: &[&[u8]]) -> Result<Vec<Option<SetRef<'k>>>, Error> {
    keys.read_each(names, |v| !matches!(v, ValueRef::Set(_)))?
        .into_iter()
        .map(|e| match e.map(|e| e.value()) {
            None => Ok(None),
            Some(ValueRef::Set(s)) => Ok(Some(s)),
            Some(_) => Err(errors::WRONGTYPE),
        })
        .collect()
}

/// Stores a computed result at `dst` (replacing whatever it held, TTL included) with the
/// command's event, or deletes `dst` when the result is empty; replies with the result's size.
fn store(ctx: &mut Ctx, dst: &[u8], result: Option<Set>, event: &'static str) -> CmdResult {
    match result.filter(|s| !s.is_empty()) {
        Some(s) => {
            let n = s.len();
            // A destination past its TTL is expired first (its event), then created anew.
            ctx.keys.write(dst)?;
            ctx.keys.set(dst, Value::Set(s), Ttl::Clear)?;
            ctx.out.int(n as i64);
            ctx.keys.changed(dst, notify::SET, event);
        }
        None => {
            ctx.out.int(0);
            if let Some(old) = ctx.keys.remove_ignoring_ttl(dst)? {
                ctx.engine.lazy_free(old);
                ctx.keys.changed(dst, notify::GENERIC, "del");
            }
        }
    }
    Ok(())
}

// ---- Intersection ----

/// What an intersection produces.
#[derive(Clone, Copy)]
enum InterTo<'a> {
    Reply,
    /// The cardinality, counting no further than `limit` (0: no limit).
    Card {
        limit: usize,
    },
    Store(&'a [u8]),
}

pub(super) fn sinter(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    intersect(ctx, &argv[1..], InterTo::Reply)
}

pub(super) fn sinterstore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    intersect(ctx, &argv[2..], InterTo::Store(argv[1]))
}

pub(super) fn sintercard(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let numkeys = resp::number::parse_i64(argv[1])
        .filter(|&n| n >= 1)
        .ok_or_else(|| Error::err("numkeys should be greater than 0"))?;
    if numkeys > (argv.len() - 2) as i64 {
        return Err(Error::err("Number of keys can't be greater than number of args"));
    }
    let numkeys = numkeys as usize;
    let mut limit = 0usize;
    let mut j = 2 + numkeys;
    while j < argv.len() {
        if is(argv[j], "limit") && j + 1 < argv.len() {
            j += 1;
            let l = resp::number::parse_i64(argv[j])
                .filter(|&l| l >= 0)
                .ok_or_else(|| Error::err("LIMIT can't be negative"))?;
            limit = usize::try_from(l).unwrap_or(usize::MAX);
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    intersect(ctx, &argv[2..2 + numkeys], InterTo::Card { limit })
}

fn intersect(ctx: &mut Ctx, names: &[&[u8]], to: InterTo<'_>) -> CmdResult {
    let sets = lookup_sets(&mut ctx.keys, names)?;
    // A missing key is an empty set: so is the intersection.
    let Some(mut sets) = sets.into_iter().collect::<Option<Vec<SetRef<'_>>>>() else {
        return match to {
            InterTo::Reply => {
                ctx.out.set(0);
                Ok(())
            }
            InterTo::Card { .. } => {
                ctx.out.int(0);
                Ok(())
            }
            InterTo::Store(dst) => store(ctx, dst, None, "sinterstore"),
        };
    };
    // Smallest first (a stable sort, as glibc's qsort is for these sizes).
    sets.sort_by_key(|s| s.len());
    let (first, rest) = sets.split_first().expect("at least one key");
    let in_all = |m| rest.iter().all(|s| s.contains_value(m));
    match to {
        InterTo::Reply => {
            let out = &mut *ctx.out;
            let header = out.deferred(Aggregate::Set);
            let mut n = 0;
            first.for_each(|m| {
                if in_all(m) {
                    coll::reply_element(out, m);
                    n += 1;
                }
            });
            out.fill_deferred(header, n);
        }
        InterTo::Card { limit } => {
            let mut n = 0usize;
            for m in first.elements() {
                if in_all(m) {
                    n += 1;
                    if limit != 0 && n >= limit {
                        break;
                    }
                }
            }
            ctx.out.int(n as i64);
        }
        InterTo::Store(dst) => {
            let mut members = Vec::new();
            first.for_each(|m| {
                if in_all(m) {
                    members.push(owned(m));
                }
            });
            let limits = ctx.engine.config.hot.set_limits();
            let result = Set::from_members(&members, limits);
            return store(ctx, dst, Some(result), "sinterstore");
        }
    }
    Ok(())
}

// ---- Union and difference ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Diff,
}

pub(super) fn sunion(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    union_diff(ctx, &argv[1..], None, Op::Union)
}

pub(super) fn sunionstore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    union_diff(ctx, &argv[2..], Some(argv[1]), Op::Union)
}

pub(super) fn sdiff(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    union_diff(ctx, &argv[1..], None, Op::Diff)
}

pub(super) fn sdiffstore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    union_diff(ctx, &argv[2..], Some(argv[1]), Op::Diff)
}

fn union_diff(ctx: &mut Ctx, names: &[&[u8]], dst: Option<&[u8]>, op: Op) -> CmdResult {
    let limits = ctx.engine.config.hot.set_limits();
    let sets = lookup_sets(&mut ctx.keys, names)?;
    // Valkey's temporary set: an intset when storing or when every input is an intset (then
    // the reply comes sorted), a table otherwise.
    let all_intsets = sets.iter().flatten().all(|s| matches!(s, SetRef::Intset(_)));
    let mut result = if dst.is_some() || all_intsets { Set::Intset(intset::new()) } else { Set::Table(Box::default()) };
    let add = |result: &mut Set, m: LpValue<'_>| m.with_bytes(|b| result.add(b, limits));
    match op {
        Op::Union => {
            for s in sets.iter().flatten() {
                s.for_each(|m| {
                    add(&mut result, m);
                });
            }
        }
        Op::Diff => {
            if let Some(first) = sets[0] {
                // The same key again subtracts everything.
                let same_key = names[1..].contains(&names[0]);
                if !same_key {
                    diff_into(&mut result, first, &sets[1..], |r, m| add(r, m));
                }
            }
        }
    }
    drop(sets);
    match dst {
        Some(dst) => store(ctx, dst, Some(result), if op == Op::Union { "sunionstore" } else { "sdiffstore" }),
        None => {
            let out = &mut *ctx.out;
            out.set(result.len());
            result.as_ref().for_each(|m| coll::reply_element(out, m));
            ctx.engine.lazy_free(Value::Set(result));
            Ok(())
        }
    }
}

/// `first` minus `others` into `result`, by whichever of Valkey's two algorithms it estimates
/// cheaper: probing each member of `first` in the others (O(N*M), favoured), or adding all of
/// `first` and removing every member of the others (O(total)), which also decides the
/// encoding the result passes through.
fn diff_into<'a>(
    result: &mut Set,
    first: SetRef<'a>,
    others: &[Option<SetRef<'a>>],
    add: impl Fn(&mut Set, LpValue<'a>) -> bool,
) {
    let present: Vec<SetRef<'a>> = others.iter().flatten().copied().collect();
    let probe_work = first.len() * (present.len() + 1) / 2;
    let sweep_work = first.len() + present.iter().map(|s| s.len()).sum::<usize>();
    if probe_work <= sweep_work {
        // Biggest first: a member in common is found sooner.
        let mut others = present;
        others.sort_by_key(|s| std::cmp::Reverse(s.len()));
        first.for_each(|m| {
            if !others.iter().any(|s| s.contains_value(m)) {
                add(result, m);
            }
        });
    } else {
        first.for_each(|m| {
            add(result, m);
        });
        for s in present {
            if result.is_empty() {
                break;
            }
            s.for_each(|m| {
                m.with_bytes(|b| result.remove(b));
            });
        }
    }
}
