//! XREAD and XREADGROUP, blocking included.
//!
//! Both first resolve every key's ID (`$`, `+`, `>`, or an explicit one) in argument order, so
//! the first bad key or ID answers the error, then serve every stream that has something
//! after its ID. XREADGROUP with `>` delivers new entries and records them in the group's and
//! the consumer's pending lists; with an explicit ID it replays the consumer's own history.
//! It is propagated the way Valkey does it: one `XCLAIM ... FORCE JUSTID LASTID` per delivered
//! entry and an `XGROUP SETID ... ENTRIESREAD` when the group moved on (plus `XGROUP
//! CREATECONSUMER` for a consumer created by a NOACK read), never as itself.
//!
//! With BLOCK and nothing to serve, the client waits on the keys (see `crate::blocking`), with
//! `$` rewritten to the ID it stood for. A write to one of them re-runs the read on the
//! client's behalf, as Valkey re-executes a blocked stream command: XREAD only when the key is
//! a stream, XREADGROUP on any change, so that a deleted key or group or a key of another
//! type answers the blocked client with NOGROUP or WRONGTYPE.

use super::{parse_strict_id, reply_entry, reply_id, reply_range, stream_event, with_stream};
use crate::blocking::{BlockRequest, Served, Slot, Waiter};
use crate::commands::{errors, int_arg, is, CmdResult, Ctx, Error};
use crate::db::Keys;
use crate::types::stream::{Group, Stream, StreamId};
use crate::types::ValueRef;
use resp::reply::Aggregate;
use resp::Reply;
use std::sync::Arc;

/// Parsed XREAD / XREADGROUP arguments.
struct ReadArgs<'a> {
    /// XREADGROUP's group and consumer.
    group: Option<(&'a [u8], &'a [u8])>,
    /// 0: no limit.
    count: usize,
    /// `Some(deadline)` with BLOCK (`None` deadline: forever).
    block: Option<Option<u64>>,
    noack: bool,
    /// Index of the first key.
    keys_at: usize,
    /// Number of streams.
    n: usize,
}

fn parse<'a>(argv: &[&'a [u8]], xreadgroup: bool, now_ms: u64) -> Result<ReadArgs<'a>, Error> {
    let mut a = ReadArgs { group: None, count: 0, block: None, noack: false, keys_at: 0, n: 0 };
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        let o = argv[i];
        if is(o, "block") && more > 0 {
            i += 1;
            let ms = int_arg(argv[i]).map_err(|_| Error::err("timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(Error::err("timeout is negative"));
            }
            a.block = Some(if ms == 0 {
                None
            } else {
                let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
                if ms > i64::MAX - now {
                    return Err(Error::err("timeout is out of range"));
                }
                Some((ms + now) as u64)
            });
        } else if is(o, "count") && more > 0 {
            i += 1;
            a.count = int_arg(argv[i])?.max(0) as usize;
        } else if is(o, "streams") && more > 0 {
            a.keys_at = i + 1;
            let total = argv.len() - a.keys_at;
            if !total.is_multiple_of(2) {
                let (name, symbol) = if xreadgroup { ("xreadgroup", '>') } else { ("xread", '$') };
                return Err(Error::err(format!(
                    "Unbalanced '{name}' list of streams: for each stream key an ID or '{symbol}' must be specified."
                )));
            }
            a.n = total / 2;
            break;
        } else if is(o, "group") && more >= 2 {
            if !xreadgroup {
                return Err(Error::err("The GROUP option is only supported by XREADGROUP. You called XREAD instead."));
            }
            a.group = Some((argv[i + 1], argv[i + 2]));
            i += 2;
        } else if is(o, "noack") {
            if !xreadgroup {
                return Err(Error::err("The NOACK option is only supported by XREADGROUP. You called XREAD instead."));
            }
            a.noack = true;
        } else {
            return Err(errors::SYNTAX);
        }
        i += 1;
    }
    if a.keys_at == 0 {
        return Err(errors::SYNTAX);
    }
    if xreadgroup && a.group.is_none() {
        return Err(Error::err("Missing GROUP option for XREADGROUP"));
    }
    Ok(a)
}

pub(super) fn xread(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    read_command(ctx, argv, false)
}

pub(super) fn xreadgroup(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    read_command(ctx, argv, true)
}

fn read_command(ctx: &mut Ctx, argv: &[&[u8]], xreadgroup: bool) -> CmdResult {
    let a = parse(argv, xreadgroup, ctx.keys.now_ms)?;
    // Propagated through XCLAIM / XGROUP SETID only.
    ctx.keys.propagate_nothing();
    let (served, ids) = run_read(&mut ctx.keys, ctx.out, argv, &a, false)?;
    if served {
        return Ok(());
    }
    if a.block.is_none() {
        ctx.out.null_array();
        return Ok(());
    }
    // Block: `$` becomes the ID it stood for, so that the re-run waits for what is new.
    let mut stored: Vec<Vec<u8>> = argv.iter().map(|x| x.to_vec()).collect();
    for (i, id) in ids.iter().enumerate() {
        let at = a.keys_at + a.n + i;
        if argv[at] == b"$" {
            stored[at] = id.to_bytes();
        }
    }
    let mut seen = std::collections::HashSet::with_capacity(a.n);
    let keys: Vec<Vec<u8>> =
        argv[a.keys_at..a.keys_at + a.n].iter().filter(|k| seen.insert(**k)).map(|k| k.to_vec()).collect();
    let waiter = Waiter {
        client_id: ctx.client.shared.id,
        db: ctx.keys.db,
        keys,
        resp3: ctx.client.resp3,
        argv: stored,
        serve: serve_read,
        timeout_reply: Reply::null_array,
        slot: Slot::new(),
    };
    ctx.keys.block(BlockRequest { waiter: Arc::new(waiter), deadline_ms: a.block.flatten() })
}

/// The reply of XREAD / XREADGROUP BLOCK where the client may not block: what a timeout
/// gives.
pub fn xread_instead_of_blocking(out: &mut Reply) {
    out.null_array();
}

/// What the read found out about one key before serving.
struct Plan {
    /// Serve entries after this ID (exclusive).
    after: StreamId,
    serve: bool,
    /// XREADGROUP with an explicit ID: the consumer's history.
    history: bool,
}

/// Resolves the IDs and serves what can be served. Returns whether anything was (the reply
/// is then written) and the resolved IDs. `served_later`: re-run for a blocked client (keys
/// are looked at without expiring or counting them).
fn run_read(
    keys: &mut Keys<'_>,
    out: &mut Reply,
    argv: &[&[u8]],
    a: &ReadArgs<'_>,
    served_later: bool,
) -> Result<(bool, Vec<StreamId>), Error> {
    const GROUP_DOLLAR: &str = "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of \
this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty \
result set.";
    const GROUP_PLUS: &str = "The + ID is meaningless in the context of XREADGROUP: you want to read the history of \
this consumer by specifying a proper ID, or use the > ID to get new messages. The + ID would just return an empty \
result set.";
    let xreadgroup = a.group.is_some();
    let mut ids = Vec::with_capacity(a.n);
    for i in 0..a.n {
        let key = argv[a.keys_at + i];
        let id_arg = argv[a.keys_at + a.n + i];
        let found = if served_later { keys.peek_unexpired(key)? } else { keys.read(key)? };
        let stream = match found.map(|e| e.value()) {
            None => None,
            Some(ValueRef::Stream(s)) => Some(s),
            Some(_) => return Err(errors::WRONGTYPE),
        };
        if let Some((group, _)) = a.group {
            if stream.and_then(|s| s.group(group)).is_none() {
                return Err(super::coded_quoting(&[
                    b"NOGROUP No such key '",
                    key,
                    b"' or consumer group '",
                    group,
                    b"' in XREADGROUP with GROUP option",
                ]));
            }
        }
        let id = if id_arg == b"$" {
            if xreadgroup {
                return Err(Error::err(GROUP_DOLLAR));
            }
            stream.map_or(StreamId::MIN, |s| s.last_id)
        } else if id_arg == b"+" {
            if xreadgroup {
                return Err(Error::err(GROUP_PLUS));
            }
            match stream {
                Some(s) => s.last_id.decr().ok_or_else(|| Error::err("the stream last element ID is 0-0"))?,
                None => StreamId::MIN,
            }
        } else if id_arg == b">" {
            if !xreadgroup {
                return Err(Error::err(
                    "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ));
            }
            StreamId::MAX
        } else {
            parse_strict_id(id_arg, 0)?
        };
        ids.push(id);
    }

    let resp3 = out.is_resp3();
    let mut top = None;
    let mut served = 0usize;
    let now = keys.now_ms as i64;
    for (i, &gt) in ids.iter().enumerate() {
        let key = argv[a.keys_at + i];
        let plan = {
            let Some(e) = keys.peek_unexpired(key)? else { continue };
            let ValueRef::Stream(s) = e.value() else { continue };
            plan_for(s, gt, a.group.map(|(g, _)| g))
        };
        if plan.serve {
            if top.is_none() {
                top = Some(out.deferred(if resp3 { Aggregate::Map } else { Aggregate::Array }));
            }
            served += 1;
            if !resp3 {
                out.array(2);
            }
            out.bulk(key);
        }
        let start = plan.after.incr().unwrap_or(StreamId::MIN);
        match a.group {
            None => {
                if plan.serve {
                    let Some(e) = keys.peek_unexpired(key)? else { continue };
                    if let ValueRef::Stream(s) = e.value() {
                        reply_range(out, s, start, StreamId::MAX, a.count, false);
                    }
                }
            }
            Some((group, consumer)) => {
                let mut ops = Vec::new();
                let created = with_stream(keys, key, |s| {
                    let mut groups = s.groups.take().expect("group checked above");
                    let g = groups.get_mut(group).expect("group checked above");
                    let created = g.create_consumer(consumer, now);
                    if created && a.noack {
                        ops.push(vec![
                            b"XGROUP".to_vec(),
                            b"CREATECONSUMER".to_vec(),
                            key.to_vec(),
                            group.to_vec(),
                            consumer.to_vec(),
                        ]);
                    }
                    if let Some(c) = g.consumers.get_mut(consumer) {
                        c.seen_time = now;
                    }
                    if plan.serve {
                        if plan.history {
                            reply_history(out, s, g, consumer, start, a.count, now);
                        } else {
                            let target = Target { key, group, consumer, noack: a.noack };
                            reply_new(out, s, g, &target, start, a.count, now, &mut ops);
                        }
                    }
                    s.groups = Some(groups);
                    created
                })?;
                if created {
                    stream_event(keys, key, "xgroup-createconsumer");
                }
                let db = keys.db;
                for op in ops {
                    keys.propagate_also(db, op);
                }
                if plan.serve {
                    keys.effects.dirty += 1;
                }
            }
        }
    }
    if let Some(d) = top {
        out.fill_deferred(d, served);
    }
    Ok((served > 0, ids))
}

/// Whether a key is served synchronously, from where (Valkey's checks in `xreadCommand`).
fn plan_for(s: &Stream, gt: StreamId, group: Option<&[u8]>) -> Plan {
    match group {
        Some(name) => {
            if gt != StreamId::MAX {
                return Plan { after: gt, serve: true, history: true };
            }
            let last = s.group(name).map_or(StreamId::MIN, |g| g.last_id);
            if s.length > 0 && s.last_valid_id() > last {
                return Plan { after: last, serve: true, history: false };
            }
            Plan { after: gt, serve: false, history: false }
        }
        None => Plan { after: gt, serve: s.length > 0 && s.last_valid_id() > gt, history: false },
    }
}

/// Who reads, for the new-entries path.
struct Target<'a> {
    key: &'a [u8],
    group: &'a [u8],
    consumer: &'a [u8],
    noack: bool,
}

/// The `XCLAIM` that recreates a pending entry on a replica (Valkey's
/// `streamPropagateXCLAIM`).
pub(super) fn xclaim_op(
    key: &[u8],
    group: &[u8],
    id: &[u8],
    nack: &crate::types::stream::Nack,
    last: StreamId,
) -> Vec<Vec<u8>> {
    let mut b = itoa::Buffer::new();
    vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        group.to_vec(),
        nack.consumer.to_vec(),
        b"0".to_vec(),
        id.to_vec(),
        b"TIME".to_vec(),
        b.format(nack.delivery_time).as_bytes().to_vec(),
        b"RETRYCOUNT".to_vec(),
        b.format(nack.delivery_count).as_bytes().to_vec(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        last.to_bytes(),
    ]
}

/// `XGROUP SETID key group <last id> ENTRIESREAD <n>` (Valkey's `streamPropagateGroupID`).
pub(super) fn setid_op(key: &[u8], group: &[u8], g: &Group) -> Vec<Vec<u8>> {
    vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        group.to_vec(),
        g.last_id.to_bytes(),
        b"ENTRIESREAD".to_vec(),
        itoa::Buffer::new().format(g.entries_read).as_bytes().to_vec(),
    ]
}

/// Delivers entries after the group's last ID (Valkey's `streamReplyWithRange` with a group).
#[allow(clippy::too_many_arguments)]
fn reply_new(
    out: &mut Reply,
    s: &Stream,
    g: &mut Group,
    t: &Target<'_>,
    start: StreamId,
    count: usize,
    now: i64,
    ops: &mut Vec<Vec<Vec<u8>>>,
) {
    let d = out.deferred(Aggregate::Array);
    let mut n = 0usize;
    let mut moved = false;
    for e in s.range(start, StreamId::MAX, false) {
        if e.id > g.last_id {
            if g.entries_read != -1 && !s.range_has_tombstones(e.id, StreamId::MAX) {
                g.entries_read += 1;
            } else if s.entries_added > 0 {
                g.entries_read = s.estimate_distance(e.id).unwrap_or(-1);
            }
            g.last_id = e.id;
            moved = true;
        }
        reply_entry(out, &e);
        if !t.noack {
            let nack = g.assign(e.id, t.consumer, now);
            nack.delivery_time = now;
            nack.delivery_count = 1;
            let nack = nack.clone();
            if let Some(c) = g.consumers.get_mut(t.consumer) {
                c.active_time = now;
            }
            ops.push(xclaim_op(t.key, t.group, &e.id.to_bytes(), &nack, g.last_id));
        }
        n += 1;
        if count != 0 && n == count {
            break;
        }
    }
    if moved {
        ops.push(setid_op(t.key, t.group, g));
    }
    out.fill_deferred(d, n);
}

/// Replays the consumer's pending entries from `start` (Valkey's
/// `streamReplyWithRangeFromConsumerPEL`): an entry deleted since is `[id, nil]`.
fn reply_history(out: &mut Reply, s: &Stream, g: &mut Group, consumer: &[u8], start: StreamId, count: usize, now: i64) {
    let ids: Vec<StreamId> = match g.consumers.get(consumer) {
        Some(c) => {
            let it = c.pel.range(start..).copied();
            if count == 0 {
                it.collect()
            } else {
                it.take(count).collect()
            }
        }
        None => Vec::new(),
    };
    out.array(ids.len());
    for id in ids {
        match s.get(id) {
            Some(e) => {
                reply_entry(out, &e);
                if let Some(nack) = g.pel.get_mut(&id) {
                    nack.delivery_time = now;
                    nack.delivery_count += 1;
                }
            }
            None => {
                out.array(2);
                reply_id(out, id);
                out.null_array();
            }
        }
    }
}

/// Serves a blocked XREAD or XREADGROUP now that `ready` was written.
fn serve_read(keys: &mut Keys<'_>, w: &Waiter, ready: &[u8], out: &mut Reply) -> Result<Served, Error> {
    let argv: Vec<&[u8]> = w.argv.iter().map(Vec::as_slice).collect();
    let xreadgroup = is(argv[0], "xreadgroup");
    if !xreadgroup {
        let is_stream =
            keys.peek_unexpired(ready)?.is_some_and(|e| matches!(e.value(), ValueRef::Stream(s) if s.length > 0));
        if !is_stream {
            return Ok(Served::NotYet);
        }
    }
    let a = parse(&argv, xreadgroup, keys.now_ms)?;
    let db = keys.db;
    if !argv[a.keys_at..a.keys_at + a.n].iter().all(|k| keys.try_lock_key(db, k)) {
        return Ok(Served::Retry);
    }
    let (served, _) = run_read(keys, out, &argv, &a, true)?;
    Ok(if served { Served::Yes } else { Served::NotYet })
}
