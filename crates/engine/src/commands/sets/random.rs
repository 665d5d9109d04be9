//! SPOP and SRANDMEMBER: Valkey's cases for a count, by the shape of their replies.
//!
//! SRANDMEMBER with a negative count samples with repetition (a reply whose size the client
//! chooses, bounded by the output limit); with a positive one it returns distinct members,
//! all of them when the count reaches the size. SPOP with a count returns the whole set and
//! deletes the key when the count reaches the size; otherwise it removes random members one
//! by one when few are asked for, or keeps a random few in a new set when most are (which is
//! how a big set can come back as a listpack, as in Valkey).

use super::{changed_n, delete_if_emptied, modify_set, owned, read_set, write_lookup};
use crate::commands::coll::{self, ReplyBudget};
use crate::commands::{errors, int_arg, CmdResult, Ctx, Error};
use crate::notify;
use crate::types::intset;
use crate::types::listpack::{self, LpValue};
use crate::types::sample;
use crate::types::set::{Set, SetLimits, SetRef};
use resp::Reply;

/// SPOP removes members one by one while the members left outnumber those taken by this
/// factor; past it, it builds the remainder as a new set (Valkey's SPOP_MOVE_STRATEGY_MUL).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;
/// SRANDMEMBER copies the whole set and drops members while the count is more than a third
/// of the size (SRANDMEMBER_SUB_STRATEGY_MUL); below, it draws until it has enough.
const SRANDMEMBER_SUB_STRATEGY_MUL: usize = 3;

pub(in crate::commands) fn srandmember(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    match argv.len() {
        2 => {
            let Some(s) = read_set(&mut ctx.keys, argv[1])? else {
                ctx.out.null();
                return Ok(());
            };
            match s.random_element(&mut fastrand::Rng::new()) {
                Some(m) => coll::reply_element(ctx.out, m),
                None => ctx.out.null(),
            }
            Ok(())
        }
        3 => {
            let count = int_arg(argv[2])?;
            if count == i64::MIN {
                return Err(Error::err(format!(
                    "value is out of range, value must between {} and {}",
                    -i64::MAX,
                    i64::MAX
                )));
            }
            srandmember_count(ctx, argv[1], count)
        }
        _ => Err(errors::SYNTAX),
    }
}

fn srandmember_count(ctx: &mut Ctx, key: &[u8], count: i64) -> CmdResult {
    let budget = ReplyBudget::new(ctx);
    let Some(s) = read_set(&mut ctx.keys, key)? else {
        ctx.out.array(0);
        return Ok(());
    };
    let n = count.unsigned_abs();
    let out = &mut *ctx.out;
    if n == 0 {
        out.array(0);
        return Ok(());
    }
    let mut rng = fastrand::Rng::new();
    let size = s.len();
    if count < 0 || n == 1 {
        out.array(n as usize);
        // Small encodings are indexed once; a table picks from its buckets.
        let members = if matches!(s, SetRef::Table(_)) { Vec::new() } else { s.elements() };
        for i in 0..n {
            let pick = if members.is_empty() { s.random_element(&mut rng) } else { Some(members[rng.usize(..size)]) };
            let Some(m) = pick else { break };
            coll::reply_element(out, m);
            if i % 1024 == 0 && budget.exceeded(out) {
                budget.abandon(out, ctx.client);
                return Ok(());
            }
        }
        return Ok(());
    }
    let n = n as usize;
    if n >= size {
        out.array(size);
        s.for_each(|m| coll::reply_element(out, m));
        return Ok(());
    }
    out.array(n);
    if matches!(s, SetRef::Listpack(_)) || n * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        // A listpack (in storage order, as Valkey), or a count close to the size.
        let members = s.elements();
        for i in sample::ordered_distinct(size, n, &mut rng) {
            coll::reply_element(out, members[i]);
        }
    } else {
        for m in sample::distinct_draws(n, || s.random_element(&mut rng)).into_iter().flatten() {
            coll::reply_element(out, m);
        }
    }
    Ok(())
}

pub(in crate::commands) fn spop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    match argv.len() {
        2 => spop_one(ctx, argv[1]),
        3 => {
            let count = resp::number::parse_i64(argv[2])
                .filter(|&c| c >= 0)
                .ok_or_else(|| Error::err("value is out of range, must be positive"))?;
            spop_count(ctx, argv[1], count as u64)
        }
        _ => Err(errors::SYNTAX),
    }
}

fn spop_one(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    if !write_lookup(&mut ctx.keys, key)? {
        ctx.out.null();
        return Ok(());
    }
    let popped = modify_set(&mut ctx.keys, key, |s| {
        let m = s.as_ref().random_element(&mut fastrand::Rng::new()).map(owned)?;
        s.remove(&m);
        Some(m)
    })?;
    let Some(m) = popped else {
        return Err(Error::internal("SPOP found an empty set"));
    };
    ctx.keys.changed(key, notify::SET, "spop");
    ctx.out.bulk(&m);
    delete_if_emptied(&mut ctx.keys, key)?;
    ctx.keys.propagate_as(vec![b"SREM".to_vec(), key.to_vec(), m]);
    Ok(())
}

/// SREM commands of at most this many members carry a popped batch to replicas (Valkey's
/// SPOP batch size).
const SPOP_PROPAGATE_BATCH: usize = 1024;

fn spop_count(ctx: &mut Ctx, key: &[u8], count: u64) -> CmdResult {
    if !write_lookup(&mut ctx.keys, key)? || count == 0 {
        ctx.out.set(0);
        return Ok(());
    }
    let size = match ctx.keys.peek(key)?.map(|e| e.value()) {
        Some(crate::types::ValueRef::Set(s)) => s.len(),
        _ => return Err(Error::internal("SPOP lost its set")),
    };
    // Reported before the work, as Valkey does; counts what is taken.
    changed_n(&mut ctx.keys, key, notify::SET, "spop", count.min(size as u64));
    if count >= size as u64 {
        // The whole set, in the order SUNION of it would give, then the key goes.
        let out = &mut *ctx.out;
        out.set(size);
        if let Some(crate::types::ValueRef::Set(s)) = ctx.keys.peek(key)?.map(|e| e.value()) {
            reply_as_union(out, s);
        }
        let dirty = ctx.keys.effects.dirty;
        ctx.keys.delete(key)?;
        ctx.keys.effects.dirty = dirty;
        if ctx.keys.propagating() {
            let lazy = ctx.engine.config.get_bool("lazyfree-lazy-server-del");
            ctx.keys.propagate_as(vec![if lazy { b"UNLINK".to_vec() } else { b"DEL".to_vec() }, key.to_vec()]);
        }
        return Ok(());
    }
    let count = count as usize;
    let limits = ctx.engine.config.hot.set_limits();
    let out = &mut *ctx.out;
    out.set(count);
    // The members taken, for replicas (only collected when there are any).
    let mut popped: Option<Vec<Vec<u8>>> = ctx.keys.propagating().then(Vec::new);
    modify_set(&mut ctx.keys, key, |s| {
        let mut rng = fastrand::Rng::new();
        if (size - count) * SPOP_MOVE_STRATEGY_MUL > count {
            pop_each(s, count, out, popped.as_mut(), &mut rng);
        } else {
            keep_few(s, size - count, out, popped.as_mut(), limits, &mut rng);
        }
    })?;
    // Replicas remove the same members: SREMs in batches instead of the SPOP itself.
    if let Some(popped) = popped {
        let db = ctx.keys.db;
        for batch in popped.chunks(SPOP_PROPAGATE_BATCH) {
            let mut argv = vec![b"SREM".to_vec(), key.to_vec()];
            argv.extend(batch.iter().cloned());
            ctx.keys.propagate_also(db, argv);
        }
        ctx.keys.propagate_nothing();
    }
    Ok(())
}

/// Replies a popped member, keeping a copy for replicas when asked to.
fn reply_popped(out: &mut Reply, popped: &mut Option<&mut Vec<Vec<u8>>>, m: LpValue<'_>) {
    coll::reply_element(out, m);
    if let Some(p) = popped {
        p.push(m.to_vec());
    }
}

/// The members of a whole set in SUNION's reply order: sorted for an intset (SUNION's
/// temporary set is an intset then), storage order otherwise (a table's order is arbitrary).
fn reply_as_union(out: &mut Reply, s: SetRef<'_>) {
    s.for_each(|m| coll::reply_element(out, m));
}

/// Removes `count` random members (fewer than the size), replying each.
fn pop_each(
    s: &mut Set,
    count: usize,
    out: &mut Reply,
    mut popped: Option<&mut Vec<Vec<u8>>>,
    rng: &mut fastrand::Rng,
) {
    match s {
        Set::Listpack(lp) => {
            // One walk picks the positions, one pass deletes them.
            let n = listpack::len(lp);
            let picks = sample::ordered_distinct(n, count, rng);
            let mut offsets = Vec::with_capacity(count);
            let mut next_pick = picks.iter().peekable();
            for (i, (pos, v)) in listpack::iter(lp).enumerate() {
                if next_pick.peek() == Some(&&i) {
                    next_pick.next();
                    reply_popped(out, &mut popped, v);
                    offsets.push(pos);
                }
            }
            listpack::delete_many(lp, &offsets);
        }
        Set::Intset(is) => {
            // Removing keeps the element width, as Valkey's intsetRemove does.
            let picks: Vec<i64> =
                sample::ordered_distinct(intset::len(is), count, rng).into_iter().map(|i| intset::get(is, i)).collect();
            for v in picks {
                reply_popped(out, &mut popped, LpValue::Int(v));
                intset::remove(is, v);
            }
        }
        Set::Table(_) => {
            for _ in 0..count {
                let Some(m) = s.as_ref().random_element(rng).map(owned) else { break };
                reply_popped(out, &mut popped, LpValue::Str(&m));
                s.remove(&m);
            }
        }
    }
}

/// Keeps `keep` random members in a new set that replaces `s`, replying every other member.
/// The new set starts as Valkey's does: a listpack from a listpack or a table (then converted
/// as members are added), a fresh intset from an intset.
fn keep_few(
    s: &mut Set,
    keep: usize,
    out: &mut Reply,
    mut popped: Option<&mut Vec<Vec<u8>>>,
    limits: SetLimits,
    rng: &mut fastrand::Rng,
) {
    let old = s.as_ref();
    let members = old.elements();
    let kept = sample::ordered_distinct(members.len(), keep, rng);
    let mut fresh = match old {
        SetRef::Intset(_) => Set::Intset(intset::new()),
        SetRef::Listpack(_) | SetRef::Table(_) => Set::Listpack(listpack::new()),
    };
    let mut next_kept = kept.iter().peekable();
    for (i, m) in members.iter().enumerate() {
        if next_kept.peek() == Some(&&i) {
            next_kept.next();
            m.with_bytes(|b| fresh.add(b, limits));
        } else {
            reply_popped(out, &mut popped, *m);
        }
    }
    drop(members);
    let old = std::mem::replace(s, fresh);
    drop(old);
}
