//! Consumer groups: XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER, HELP), XACK,
//! XPENDING, XCLAIM and XAUTOCLAIM.
//!
//! XCLAIM and XAUTOCLAIM are propagated as Valkey does: one idempotent `XCLAIM ... FORCE
//! JUSTID LASTID` per entry claimed or dropped from the PEL (and an `XGROUP SETID` when only
//! the group's last ID moved), never as themselves.

use super::read::{setid_op, xclaim_op};
use super::{
    coded_quoting, parse_id, parse_interval, parse_range, parse_strict_id, reply_entry, reply_id, stream_event,
    subcommand_syntax_error, with_stream, write_exists,
};
use crate::commands::table::reply_help;
use crate::commands::{errors, int_arg, is, range_arg, CmdResult, Ctx, Error};
use crate::types::stream::{Stream, StreamId};
use crate::types::{Value, ValueRef};
use std::ops::Bound;

fn nogroup_key(key: &[u8], group: &[u8]) -> Error {
    coded_quoting(&[b"NOGROUP No such key '", key, b"' or consumer group '", group, b"'"])
}

fn nogroup_for_key(group: &[u8], key: &[u8]) -> Error {
    coded_quoting(&[b"NOGROUP No such consumer group '", group, b"' for key name '", key, b"'"])
}

// ---- XGROUP ----

/// What every XGROUP subcommand but HELP checks first, in Valkey's order: options, the key's
/// type, the key's existence (unless MKSTREAM), the group's (for SETID and the consumer
/// subcommands). Returns (MKSTREAM, ENTRIESREAD, whether the key exists).
fn xgroup_prelude(ctx: &mut Ctx, argv: &[&[u8]], needs_group: bool) -> Result<(bool, i64, bool), Error> {
    let create = is(argv[1], "create");
    let setid = is(argv[1], "setid");
    let mut mkstream = false;
    let mut entries_read = -1i64;
    let mut i = 5;
    while i < argv.len() {
        if create && is(argv[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if (create || setid) && is(argv[i], "entriesread") && i + 1 < argv.len() {
            entries_read = int_arg(argv[i + 1])?;
            if entries_read < 0 && entries_read != -1 {
                return Err(Error::err("value for ENTRIESREAD must be positive or -1"));
            }
            i += 2;
        } else {
            return Err(subcommand_syntax_error(argv));
        }
    }
    let (key, group) = (argv[2], argv[3]);
    let exists = write_exists(&mut ctx.keys, key)?;
    if !mkstream {
        if !exists {
            return Err(Error::err(
                "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the \
MKSTREAM option to create an empty stream automatically.",
            ));
        }
        if needs_group && !has_group(ctx, key, group)? {
            return Err(nogroup_for_key(group, key));
        }
    }
    Ok((mkstream, entries_read, exists))
}

fn has_group(ctx: &mut Ctx, key: &[u8], group: &[u8]) -> Result<bool, Error> {
    Ok(ctx.keys.peek(key)?.and_then(|e| e.value().stream()).is_some_and(|s| s.group(group).is_some()))
}

pub(super) fn xgroup_create(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (mkstream, entries_read, exists) = xgroup_prelude(ctx, argv, false)?;
    if argv.len() > 8 {
        return Err(subcommand_syntax_error(argv));
    }
    let (key, group) = (argv[2], argv[3]);
    let id = if argv[4] == b"$" {
        if exists {
            ctx.keys.peek(key)?.and_then(|e| e.value().stream()).map_or(StreamId::MIN, |s| s.last_id)
        } else {
            StreamId::MIN
        }
    } else {
        parse_strict_id(argv[4], 0)?
    };
    if !exists {
        debug_assert!(mkstream);
        ctx.keys.add(key, Value::Stream(Box::default()), None)?;
        // The new key is a change WATCH sees (Valkey's `signalModifiedKey`).
        let db = ctx.keys.db;
        ctx.keys.changed_in(db, key, 0, "");
        ctx.keys.effects.dirty -= 1;
    }
    let created = with_stream(&mut ctx.keys, key, |s| s.create_group(group, id, entries_read))?;
    if !created {
        return Err(Error::coded_static("BUSYGROUP Consumer Group name already exists"));
    }
    ctx.out.ok();
    stream_event(&mut ctx.keys, key, "xgroup-create");
    Ok(())
}

pub(super) fn xgroup_setid(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (_, entries_read, _) = xgroup_prelude(ctx, argv, true)?;
    if argv.len() != 5 && argv.len() != 7 {
        return Err(subcommand_syntax_error(argv));
    }
    let (key, group) = (argv[2], argv[3]);
    let given = if argv[4] == b"$" { None } else { Some(parse_id(argv[4], 0)?) };
    with_stream(&mut ctx.keys, key, |s| {
        let id = given.unwrap_or(s.last_id);
        if let Some(g) = s.group_mut(group) {
            g.last_id = id;
            g.entries_read = entries_read;
        }
    })?;
    ctx.out.ok();
    stream_event(&mut ctx.keys, key, "xgroup-setid");
    Ok(())
}

pub(super) fn xgroup_destroy(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    xgroup_prelude(ctx, argv, false)?;
    let (key, group) = (argv[2], argv[3]);
    let removed = with_stream(&mut ctx.keys, key, |s| s.groups.as_mut().is_some_and(|g| g.remove(group).is_some()))?;
    if removed {
        ctx.out.int(1);
        stream_event(&mut ctx.keys, key, "xgroup-destroy");
        // Clients blocked in XREADGROUP on this group get NOGROUP.
        let db = ctx.keys.db;
        ctx.keys.signal_ready(db, key);
    } else {
        ctx.out.int(0);
    }
    Ok(())
}

pub(super) fn xgroup_createconsumer(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    xgroup_prelude(ctx, argv, true)?;
    let (key, group, consumer) = (argv[2], argv[3], argv[4]);
    let now = ctx.keys.now_ms as i64;
    let created =
        with_stream(&mut ctx.keys, key, |s| s.group_mut(group).is_some_and(|g| g.create_consumer(consumer, now)))?;
    ctx.out.int(i64::from(created));
    if created {
        stream_event(&mut ctx.keys, key, "xgroup-createconsumer");
    }
    Ok(())
}

pub(super) fn xgroup_delconsumer(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    xgroup_prelude(ctx, argv, true)?;
    let (key, group, consumer) = (argv[2], argv[3], argv[4]);
    let pending = with_stream(&mut ctx.keys, key, |s| s.group_mut(group).and_then(|g| g.delete_consumer(consumer)))?;
    ctx.out.int(pending.unwrap_or(0) as i64);
    if pending.is_some() {
        stream_event(&mut ctx.keys, key, "xgroup-delconsumer");
    }
    Ok(())
}

pub(super) fn xgroup_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    reply_help(
        ctx.out,
        "XGROUP",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
    Ok(())
}

// ---- XACK ----

pub(super) fn xack(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (key, group) = (argv[1], argv[2]);
    let has = match ctx.keys.read(key)? {
        None => false,
        Some(e) => match e.value() {
            ValueRef::Stream(s) => s.group(group).is_some(),
            _ => return Err(errors::WRONGTYPE),
        },
    };
    if !has {
        ctx.out.int(0);
        return Ok(());
    }
    let ids = argv[3..].iter().map(|a| parse_strict_id(a, 0)).collect::<Result<Vec<_>, _>>()?;
    // Most acknowledgements of an entry already acknowledged change nothing: look before
    // taking the stream out of its entry to change it.
    let any_pending = ctx
        .keys
        .peek(key)?
        .and_then(|e| e.value().stream())
        .and_then(|s| s.group(group))
        .is_some_and(|g| ids.iter().any(|id| g.pel.contains_key(id)));
    if !any_pending {
        ctx.out.int(0);
        return Ok(());
    }
    let acked = with_stream(&mut ctx.keys, key, |s| {
        let g = s.group_mut(group).expect("checked");
        ids.iter().filter(|&&id| g.ack(id)).count()
    })?;
    ctx.keys.effects.dirty += acked as u64;
    ctx.out.int(acked as i64);
    Ok(())
}

// ---- XPENDING ----

pub(super) fn xpending(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (key, group) = (argv[1], argv[2]);
    let summary = argv.len() == 3;
    if !summary && !(6..=9).contains(&argv.len()) {
        return Err(errors::SYNTAX);
    }
    let mut range = None;
    let mut min_idle = 0i64;
    let mut consumer = None;
    if !summary {
        let mut at = 3;
        if is(argv[3], "idle") {
            min_idle = int_arg(argv[4])?;
            if argv.len() < 8 {
                return Err(errors::SYNTAX);
            }
            at += 2;
        }
        let count = int_arg(argv[at + 2])?.max(0);
        let (start, end) = parse_range(argv[at], argv[at + 1])?;
        if at + 3 < argv.len() {
            consumer = Some(argv[at + 3]);
        }
        range = Some((start, end, count));
    }
    let now = ctx.keys.now_ms as i64;
    let s = match ctx.keys.read(key)? {
        None => None,
        Some(e) => match e.value() {
            ValueRef::Stream(s) => Some(s),
            _ => return Err(errors::WRONGTYPE),
        },
    };
    let Some(g) = s.and_then(|s| s.group(group)) else { return Err(nogroup_key(key, group)) };
    let out = &mut *ctx.out;
    match range {
        None => {
            out.array(4);
            out.int(g.pel.len() as i64);
            match (g.pel.first_key_value(), g.pel.last_key_value()) {
                (Some((first, _)), Some((last, _))) => {
                    reply_id(out, *first);
                    reply_id(out, *last);
                    let with: Vec<_> = g.consumers.iter().filter(|(_, c)| !c.pel.is_empty()).collect();
                    out.array(with.len());
                    for (name, c) in with {
                        out.array(2);
                        out.bulk(name);
                        out.bulk_i64(c.pel.len() as i64);
                    }
                }
                _ => {
                    out.null();
                    out.null();
                    out.null_array();
                }
            }
        }
        Some((start, end, mut count)) => {
            let ids: Box<dyn Iterator<Item = StreamId>> = match consumer {
                Some(name) => match g.consumers.get(name) {
                    Some(c) => Box::new(c.pel.range(start..).copied()),
                    None => {
                        out.array(0);
                        return Ok(());
                    }
                },
                None => Box::new(g.pel.range(start..).map(|(id, _)| *id)),
            };
            let d = out.deferred(resp::reply::Aggregate::Array);
            let mut n = 0;
            for id in ids {
                if count == 0 || id > end {
                    break;
                }
                let Some(nack) = g.pel.get(&id) else { continue };
                if min_idle != 0 && now - nack.delivery_time < min_idle {
                    continue;
                }
                n += 1;
                count -= 1;
                out.array(4);
                reply_id(out, id);
                out.bulk(&nack.consumer);
                out.int((now - nack.delivery_time).max(0));
                out.int(nack.delivery_count as i64);
            }
            out.fill_deferred(d, n);
        }
    }
    Ok(())
}

// ---- XCLAIM / XAUTOCLAIM ----

/// Looks up the stream and group for XCLAIM/XAUTOCLAIM (WRONGTYPE, then NOGROUP).
fn claim_target(ctx: &mut Ctx, key: &[u8], group: &[u8]) -> CmdResult {
    let ok = match ctx.keys.read(key)? {
        None => false,
        Some(e) => match e.value() {
            ValueRef::Stream(s) => s.group(group).is_some(),
            _ => return Err(errors::WRONGTYPE),
        },
    };
    if ok {
        Ok(())
    } else {
        Err(nogroup_key(key, group))
    }
}

pub(super) fn xclaim(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (key, group, consumer) = (argv[1], argv[2], argv[3]);
    claim_target(ctx, key, group)?;
    let min_idle = int_arg(argv[4]).map_err(|_| Error::err("Invalid min-idle-time argument for XCLAIM"))?.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < argv.len() {
        match parse_strict_id(argv[j], 0) {
            Ok(id) => ids.push((id, argv[j])),
            Err(_) => break,
        }
        j += 1;
    }
    let now = ctx.keys.now_ms as i64;
    let mut last_id = StreamId::MIN;
    let (mut force, mut justid) = (false, false);
    let mut retry: i64 = -1;
    let mut delivery: i64 = -1;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv[j];
        if is(opt, "force") {
            force = true;
        } else if is(opt, "justid") {
            justid = true;
        } else if is(opt, "idle") && more > 0 {
            j += 1;
            let idle = int_arg(argv[j]).map_err(|_| Error::err("Invalid IDLE option argument for XCLAIM"))?;
            delivery = now.wrapping_sub(idle);
        } else if is(opt, "time") && more > 0 {
            j += 1;
            delivery = int_arg(argv[j]).map_err(|_| Error::err("Invalid TIME option argument for XCLAIM"))?;
        } else if is(opt, "retrycount") && more > 0 {
            j += 1;
            retry = int_arg(argv[j]).map_err(|_| Error::err("Invalid RETRYCOUNT option argument for XCLAIM"))?;
        } else if is(opt, "lastid") && more > 0 {
            j += 1;
            last_id = parse_strict_id(argv[j], 0)?;
        } else {
            return Err(Error::err_quoting("Unrecognized XCLAIM option '", opt, "'"));
        }
        j += 1;
    }
    let delivery = if delivery == -1 || delivery < 0 || delivery > now { now } else { delivery };
    let out = &mut *ctx.out;
    let mut ops = Vec::new();
    let (created, changes) = with_stream(&mut ctx.keys, key, |s| {
        let mut groups = s.groups.take().expect("group checked");
        let g = groups.get_mut(group).expect("group checked");
        let mut moved = false;
        if last_id > g.last_id {
            g.last_id = last_id;
            moved = true;
        }
        let created = g.create_consumer(consumer, now);
        if let Some(c) = g.consumers.get_mut(consumer) {
            c.seen_time = now;
        }
        let d = out.deferred(resp::reply::Aggregate::Array);
        let mut n = 0;
        let mut changes = 0u64;
        for &(id, raw) in &ids {
            let exists = s.contains(id);
            if !exists {
                if let Some(nack) = g.pel.get(&id) {
                    ops.push(xclaim_op(key, group, raw, nack, g.last_id));
                    moved = false;
                    changes += 1;
                    g.ack(id);
                }
                continue;
            }
            let pending = g.pel.get(&id);
            if pending.is_none() && !force {
                continue;
            }
            if let Some(nack) = pending {
                if min_idle != 0 && now - nack.delivery_time < min_idle {
                    continue;
                }
            }
            let fresh = pending.is_none();
            let nack = g.assign(id, consumer, now);
            if fresh {
                nack.delivery_count = 1;
            }
            nack.delivery_time = delivery;
            if retry >= 0 {
                nack.delivery_count = retry as u64;
            } else if !justid {
                nack.delivery_count += 1;
            }
            let nack = nack.clone();
            if justid {
                reply_id(out, id);
            } else if let Some(e) = s.get(id) {
                reply_entry(out, &e);
            }
            n += 1;
            if let Some(c) = g.consumers.get_mut(consumer) {
                c.active_time = now;
            }
            ops.push(xclaim_op(key, group, raw, &nack, g.last_id));
            moved = false;
            changes += 1;
        }
        if moved {
            ops.push(setid_op(key, group, g));
            changes += 1;
        }
        out.fill_deferred(d, n);
        s.groups = Some(groups);
        (created, changes)
    })?;
    finish_claim(ctx, key, created, changes, ops);
    Ok(())
}

/// Events, dirty count and propagation shared by XCLAIM and XAUTOCLAIM.
fn finish_claim(ctx: &mut Ctx, key: &[u8], created: bool, changes: u64, ops: Vec<Vec<Vec<u8>>>) {
    if created {
        stream_event(&mut ctx.keys, key, "xgroup-createconsumer");
    }
    ctx.keys.effects.dirty += changes;
    let db = ctx.keys.db;
    for op in ops {
        ctx.keys.propagate_also(db, op);
    }
    ctx.keys.propagate_nothing();
}

pub(super) fn xautoclaim(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (key, group, consumer) = (argv[1], argv[2], argv[3]);
    let min_idle = int_arg(argv[4]).map_err(|_| Error::err("Invalid min-idle-time argument for XAUTOCLAIM"))?.max(0);
    let (mut start, ex) = parse_interval(argv[5], 0)?;
    if ex {
        start = start.incr().ok_or_else(|| Error::err("invalid start ID for the interval"))?;
    }
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if is(argv[j], "count") && more > 0 {
            count = range_arg(argv[j + 1], 1, i64::MAX / 16, Some("COUNT must be > 0"))?;
            j += 1;
        } else if is(argv[j], "justid") {
            justid = true;
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    claim_target(ctx, key, group)?;
    let now = ctx.keys.now_ms as i64;
    let out = &mut *ctx.out;
    let mut ops = Vec::new();
    let (created, changes) = with_stream(&mut ctx.keys, key, |s: &mut Stream| {
        let mut groups = s.groups.take().expect("group checked");
        let g = groups.get_mut(group).expect("group checked");
        let created = g.create_consumer(consumer, now);
        if let Some(c) = g.consumers.get_mut(consumer) {
            c.seen_time = now;
        }
        out.array(3);
        let mut attempts = count.saturating_mul(10);
        let mut deleted = Vec::new();
        let mut claimed = Vec::new();
        let mut changes = 0u64;
        let mut last_visited: Option<StreamId> = None;
        let mut eof = false;
        while attempts > 0 && count > 0 {
            attempts -= 1;
            let next = match last_visited {
                None => g.pel.range(start..).next().map(|(id, _)| *id),
                Some(v) => g.pel.range((Bound::Excluded(v), Bound::Unbounded)).next().map(|(id, _)| *id),
            };
            let Some(id) = next else {
                eof = true;
                break;
            };
            last_visited = Some(id);
            if !s.contains(id) {
                let nack = g.pel.get(&id).expect("pending").clone();
                ops.push(xclaim_op(key, group, &id.to_bytes(), &nack, g.last_id));
                changes += 1;
                g.ack(id);
                deleted.push(id);
                count -= 1;
                continue;
            }
            let nack = g.pel.get(&id).expect("pending");
            if min_idle != 0 && now - nack.delivery_time < min_idle {
                continue;
            }
            let nack = g.assign(id, consumer, now);
            nack.delivery_time = now;
            if !justid {
                nack.delivery_count += 1;
            }
            let nack = nack.clone();
            claimed.push(id);
            count -= 1;
            if let Some(c) = g.consumers.get_mut(consumer) {
                c.active_time = now;
            }
            ops.push(xclaim_op(key, group, &id.to_bytes(), &nack, g.last_id));
            changes += 1;
        }
        let cursor = match last_visited {
            _ if eof => None,
            Some(v) => g.pel.range((Bound::Excluded(v), Bound::Unbounded)).next().map(|(id, _)| *id),
            None => g.pel.range(start..).next().map(|(id, _)| *id),
        };
        reply_id(out, cursor.unwrap_or(StreamId::MIN));
        out.array(claimed.len());
        for id in &claimed {
            if justid {
                reply_id(out, *id);
            } else if let Some(e) = s.get(*id) {
                reply_entry(out, &e);
            }
        }
        out.array(deleted.len());
        for id in deleted {
            reply_id(out, id);
        }
        s.groups = Some(groups);
        (created, changes)
    })?;
    finish_claim(ctx, key, created, changes, ops);
    Ok(())
}
