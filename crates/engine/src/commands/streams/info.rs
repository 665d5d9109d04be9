//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS and XINFO HELP.
//!
//! Field names and order are Valkey's. `radix-tree-nodes` counts Valkey's radix tree nodes;
//! Kvasir keeps nodes in a B-tree, so it reports the number of tree nodes that tree would
//! need for the same keys (node count plus one per 16 keys), an estimate.

use super::{coded_quoting, reply_id, subcommand_syntax_error};
use crate::commands::table::reply_help;
use crate::commands::{errors, int_arg, is, CmdResult, Ctx, Error};
use crate::types::stream::{Stream, StreamId};
use crate::types::ValueRef;
use resp::Reply;

/// The stream at argv[2], or `ERR no such key` / WRONGTYPE.
fn lookup<'k>(keys: &'k mut crate::db::Keys<'_>, key: &[u8]) -> Result<&'k Stream, Error> {
    match keys.read(key)? {
        None => Err(errors::NO_SUCH_KEY),
        Some(e) => match e.value() {
            ValueRef::Stream(s) => Ok(s),
            _ => Err(errors::WRONGTYPE),
        },
    }
}

fn lag(out: &mut Reply, s: &Stream, g: &crate::types::stream::Group) {
    match s.lag(g) {
        Some(l) => out.int(l),
        None => out.null(),
    }
}

fn entries_read(out: &mut Reply, g: &crate::types::stream::Group) {
    if g.entries_read != -1 {
        out.int(g.entries_read);
    } else {
        out.null();
    }
}

pub(super) fn xinfo_consumers(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (key, group) = (argv[2], argv[3]);
    let now = ctx.keys.now_ms as i64;
    let s = match ctx.keys.read(key)? {
        None => return Err(errors::NO_SUCH_KEY),
        Some(e) => match e.value() {
            ValueRef::Stream(s) => s,
            _ => return Err(errors::WRONGTYPE),
        },
    };
    let Some(g) = s.group(group) else {
        return Err(coded_quoting(&[b"NOGROUP No such consumer group '", group, b"' for key name '", key, b"'"]));
    };
    let out = &mut *ctx.out;
    out.array(g.consumers.len());
    for (name, c) in &g.consumers {
        let inactive = if c.active_time != -1 { now - c.active_time } else { -1 };
        out.map(4);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"pending");
        out.int(c.pel.len() as i64);
        out.bulk(b"idle");
        out.int((now - c.seen_time).max(0));
        out.bulk(b"inactive");
        out.int(inactive);
    }
    Ok(())
}

pub(super) fn xinfo_groups(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let s = lookup(&mut ctx.keys, argv[2])?;
    let out = &mut *ctx.out;
    let Some(groups) = &s.groups else {
        out.array(0);
        return Ok(());
    };
    out.array(groups.len());
    for (name, g) in groups.iter() {
        out.map(6);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"consumers");
        out.int(g.consumers.len() as i64);
        out.bulk(b"pending");
        out.int(g.pel.len() as i64);
        out.bulk(b"last-delivered-id");
        reply_id(out, g.last_id);
        out.bulk(b"entries-read");
        entries_read(out, g);
        out.bulk(b"lag");
        lag(out, s, g);
    }
    Ok(())
}

pub(super) fn xinfo_stream(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    // The key is looked up before the options are read, as in Valkey.
    let key = argv[2];
    {
        lookup(&mut ctx.keys, key)?;
    }
    let opts = &argv[3..];
    let (full, count) = match opts.len() {
        0 => (false, 10i64),
        1 | 3 => {
            if !is(opts[0], "full") {
                return Err(subcommand_syntax_error(argv));
            }
            let mut count = 10;
            if opts.len() == 3 {
                if !is(opts[1], "count") {
                    return Err(subcommand_syntax_error(argv));
                }
                count = int_arg(opts[2])?;
                if count < 0 {
                    count = 10;
                }
            }
            (true, count)
        }
        _ => return Err(subcommand_syntax_error(argv)),
    };
    let s = match ctx.keys.peek(key)?.map(|e| e.value()) {
        Some(ValueRef::Stream(s)) => s,
        _ => return Err(errors::NO_SUCH_KEY),
    };
    let out = &mut *ctx.out;
    out.map(if full { 9 } else { 10 });
    out.bulk(b"length");
    out.int(s.length as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int((s.node_count() + s.node_count().div_ceil(16) + 1) as i64);
    out.bulk(b"last-generated-id");
    reply_id(out, s.last_id);
    out.bulk(b"max-deleted-entry-id");
    reply_id(out, s.max_deleted_id);
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    reply_id(out, s.first_id);
    if !full {
        out.bulk(b"groups");
        out.int(s.group_count() as i64);
        out.bulk(b"first-entry");
        match s.range(StreamId::MIN, StreamId::MAX, false).next() {
            Some(e) => super::reply_entry(out, &e),
            None => out.null(),
        }
        out.bulk(b"last-entry");
        match s.range(StreamId::MIN, StreamId::MAX, true).next() {
            Some(e) => super::reply_entry(out, &e),
            None => out.null(),
        }
        return Ok(());
    }
    let limit = usize::try_from(count).unwrap_or(usize::MAX);
    let take = if limit == 0 { usize::MAX } else { limit };
    out.bulk(b"entries");
    super::reply_range(out, s, StreamId::MIN, StreamId::MAX, limit, false);
    out.bulk(b"groups");
    let Some(groups) = &s.groups else {
        out.array(0);
        return Ok(());
    };
    out.array(groups.len());
    for (name, g) in groups.iter() {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        reply_id(out, g.last_id);
        out.bulk(b"entries-read");
        entries_read(out, g);
        out.bulk(b"lag");
        lag(out, s, g);
        out.bulk(b"pel-count");
        out.int(g.pel.len() as i64);
        out.bulk(b"pending");
        let shown: Vec<_> = g.pel.iter().take(take).collect();
        out.array(shown.len());
        for (id, nack) in shown {
            out.array(4);
            reply_id(out, *id);
            out.bulk(&nack.consumer);
            out.int(nack.delivery_time);
            out.int(nack.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(5);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_time);
            out.bulk(b"active-time");
            out.int(c.active_time);
            out.bulk(b"pel-count");
            out.int(c.pel.len() as i64);
            out.bulk(b"pending");
            let shown: Vec<StreamId> = c.pel.iter().copied().take(take).collect();
            out.array(shown.len());
            for id in shown {
                out.array(3);
                reply_id(out, id);
                match g.pel.get(&id) {
                    Some(nack) => {
                        out.int(nack.delivery_time);
                        out.int(nack.delivery_count as i64);
                    }
                    None => {
                        out.int(0);
                        out.int(0);
                    }
                }
            }
        }
    }
    Ok(())
}

pub(super) fn xinfo_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    reply_help(
        ctx.out,
        "XINFO",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    );
    Ok(())
}
