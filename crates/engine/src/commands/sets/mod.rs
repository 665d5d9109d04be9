//! Set commands: SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS SMOVE SSCAN here; the set
//! algebra (SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE) in
//! `algebra.rs`; the random ones (SPOP SRANDMEMBER) in `random.rs`.
//!
//! Handlers follow Valkey's `t_set.c` where the order is observable: errors, events (SMOVE
//! reports `srem`, `del`, then `new` and `sadd` on the destination), `dirty` counts (SADD and
//! SREM count members), and the encodings of new sets (`types/set.rs`).

mod algebra;
mod random;

use super::coll::{self, ScanOf};
use super::table::{acl, flags::*, keyflags, Command, Doc, DocMeta, KeySpec};
use super::{errors, CmdResult, Ctx, Error};
use crate::db::Keys;
use crate::notify;
use crate::types::listpack::LpValue;
use crate::types::set::{Set, SetRef};
use crate::types::{Value, ValueRef};

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "set", complexity, syntax }
}

/// A set command: the `@set` category and per-key locking.
const fn set_cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: &'static [KeySpec],
    handler: super::table::Handler,
    doc: Doc,
) -> Command {
    Command::keyed(acl::SET, name, arity, flags, keys, handler, doc)
}

const RO: &[KeySpec] = &[KeySpec::single(1, keyflags::RO)];
const RO_ACCESS: &[KeySpec] = &[KeySpec::single(1, keyflags::RO | keyflags::ACCESS)];
const ALL_RO_ACCESS: &[KeySpec] = &[KeySpec::range(1, -1, 1, keyflags::RO | keyflags::ACCESS)];
const STORE: &[KeySpec] =
    &[KeySpec::single(1, keyflags::OW | keyflags::UPDATE), KeySpec::range(2, -1, 1, keyflags::RO | keyflags::ACCESS)];
const ORDER_TIPS: &[&str] = &["nondeterministic_output_order"];
const RANDOM_TIPS: &[&str] = &["nondeterministic_output"];
const INTER_COMPLEXITY: &str =
    "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.";
const UNION_COMPLEXITY: &str = "O(N) where N is the total number of elements in all given sets.";

pub static COMMANDS: &[Command] = &[
    Command {
        doc_meta: DocMeta { history: &[("2.4.0", "Accepts multiple `member` arguments.")], ..DocMeta::NONE },
        ..set_cmd(
            "sadd",
            -3,
            WRITE | DENYOOM | FAST,
            &[KeySpec::single(1, keyflags::RW | keyflags::INSERT)],
            sadd,
            doc(
                "Adds one or more members to a set. Creates the key if it doesn't exist.",
                "1.0.0",
                "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
                "key member [member ...]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { history: &[("2.4.0", "Accepts multiple `member` arguments.")], ..DocMeta::NONE },
        ..set_cmd(
            "srem",
            -3,
            WRITE | FAST,
            &[KeySpec::single(1, keyflags::RW | keyflags::DELETE)],
            srem,
            doc(
                "Removes one or more members from a set. Deletes the set if the last member was removed.",
                "1.0.0",
                "O(N) where N is the number of members to be removed.",
                "key member [member ...]",
            ),
        )
    },
    set_cmd("scard", 2, READONLY | FAST, RO, scard, doc("Returns the number of members in a set.", "1.0.0", "O(1)", "key")),
    set_cmd(
        "sismember",
        3,
        READONLY | FAST,
        RO,
        sismember,
        doc("Determines whether a member belongs to a set.", "1.0.0", "O(1)", "key member"),
    ),
    set_cmd(
        "smismember",
        -3,
        READONLY | FAST,
        RO_ACCESS,
        smismember,
        doc(
            "Determines whether multiple members belong to a set.",
            "6.2.0",
            "O(N) where N is the number of elements being checked for membership",
            "key member [member ...]",
        ),
    ),
    Command {
        tips: ORDER_TIPS,
        ..set_cmd(
            "smembers",
            2,
            READONLY,
            RO_ACCESS,
            smembers,
            doc("Returns all members of a set.", "1.0.0", "O(N) where N is the set cardinality.", "key"),
        )
    },
    Command {
        tips: RANDOM_TIPS,
        doc_meta: DocMeta { history: &[("3.2.0", "Added the `count` argument.")], ..DocMeta::NONE },
        ..set_cmd(
            "spop",
            -2,
            WRITE | FAST,
            &[KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::DELETE)],
            random::spop,
            doc(
                "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.",
                "1.0.0",
                "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
                "key [count]",
            ),
        )
    },
    Command {
        tips: RANDOM_TIPS,
        doc_meta: DocMeta { history: &[("2.6.0", "Added the optional `count` argument.")], ..DocMeta::NONE },
        ..set_cmd(
            "srandmember",
            -2,
            READONLY,
            RO_ACCESS,
            random::srandmember,
            doc(
                "Get one or multiple random members from a set",
                "1.0.0",
                "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
                "key [count]",
            ),
        )
    },
    set_cmd(
        "smove",
        4,
        WRITE | FAST,
        &[
            KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::DELETE),
            KeySpec::single(2, keyflags::RW | keyflags::INSERT),
        ],
        smove,
        doc("Moves a member from one set to another.", "1.0.0", "O(1)", "source destination member"),
    ),
    Command {
        tips: ORDER_TIPS,
        ..set_cmd(
            "sinter",
            -2,
            READONLY,
            ALL_RO_ACCESS,
            algebra::sinter,
            doc("Returns the intersect of multiple sets.", "1.0.0", INTER_COMPLEXITY, "key [key ...]"),
        )
    },
    set_cmd(
        "sintercard",
        -3,
        READONLY,
        &[KeySpec::keynum(1, keyflags::RO | keyflags::ACCESS)],
        algebra::sintercard,
        doc(
            "Returns the number of members of the intersect of multiple sets.",
            "7.0.0",
            INTER_COMPLEXITY,
            "numkeys key [key ...] [LIMIT limit]",
        ),
    ),
    set_cmd(
        "sinterstore",
        -3,
        WRITE | DENYOOM,
        STORE,
        algebra::sinterstore,
        doc("Stores the intersect of multiple sets in a key.", "1.0.0", INTER_COMPLEXITY, "destination key [key ...]"),
    ),
    Command {
        tips: ORDER_TIPS,
        ..set_cmd(
            "sunion",
            -2,
            READONLY,
            ALL_RO_ACCESS,
            algebra::sunion,
            doc("Returns the union of multiple sets.", "1.0.0", UNION_COMPLEXITY, "key [key ...]"),
        )
    },
    set_cmd(
        "sunionstore",
        -3,
        WRITE | DENYOOM,
        STORE,
        algebra::sunionstore,
        doc("Stores the union of multiple sets in a key.", "1.0.0", UNION_COMPLEXITY, "destination key [key ...]"),
    ),
    Command {
        tips: ORDER_TIPS,
        ..set_cmd(
            "sdiff",
            -2,
            READONLY,
            ALL_RO_ACCESS,
            algebra::sdiff,
            doc("Returns the difference of multiple sets.", "1.0.0", UNION_COMPLEXITY, "key [key ...]"),
        )
    },
    set_cmd(
        "sdiffstore",
        -3,
        WRITE | DENYOOM,
        STORE,
        algebra::sdiffstore,
        doc("Stores the difference of multiple sets in a key.", "1.0.0", UNION_COMPLEXITY, "destination key [key ...]"),
    ),
    Command {
        tips: RANDOM_TIPS,
        ..set_cmd(
            "sscan",
            -3,
            READONLY,
            RO_ACCESS,
            sscan,
            doc(
                "Iterates over members of a set.",
                "2.8.0",
                "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
                "key cursor [MATCH pattern] [COUNT count]",
            ),
        )
    },
];

// ---- Helpers shared by the set command files ----

/// The set at `key` for reading: `None` if absent, WRONGTYPE if not a set.
fn read_set<'k>(keys: &'k mut Keys, key: &[u8]) -> Result<Option<SetRef<'k>>, Error> {
    keys.read_as(key, ValueRef::set)
}

/// Looks `key` up for writing: whether it holds a set; WRONGTYPE if it holds something else.
fn write_lookup(keys: &mut Keys, key: &[u8]) -> Result<bool, Error> {
    match keys.write(key)? {
        None => Ok(false),
        Some(e) if matches!(e.value(), ValueRef::Set(_)) => Ok(true),
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// Runs `f` on the set at `key`, which a lookup just found to be a set.
fn modify_set<R>(keys: &mut Keys, key: &[u8], f: impl FnOnce(&mut Set) -> R) -> Result<R, Error> {
    match keys.modify(key, |v| match v {
        Value::Set(s) => Some(f(s)),
        _ => None,
    })? {
        Some(Some(r)) => Ok(r),
        _ => Err(Error::internal("set vanished under its lock")),
    }
}

/// Reports a change that Valkey counts as `n` changes in `dirty`.
fn changed_n(keys: &mut Keys, key: &[u8], class: u32, event: &'static str, n: u64) {
    let before = keys.effects.dirty;
    keys.changed(key, class, event);
    keys.effects.dirty = before + n;
}

/// Deletes `key` if the set in it became empty, with the `del` event, without counting a
/// change (Valkey counts the removed members, not the deletion).
fn delete_if_emptied(keys: &mut Keys, key: &[u8]) -> Result<bool, Error> {
    let before = keys.effects.dirty;
    let deleted = keys.delete_if_empty(key)?;
    keys.effects.dirty = before;
    Ok(deleted)
}

/// The owned bytes of a member.
fn owned(m: LpValue<'_>) -> Vec<u8> {
    m.to_vec()
}

// ---- SADD SREM SMOVE ----

fn sadd(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let members = &argv[2..];
    let limits = ctx.engine.config.hot.set_limits();
    let added = if write_lookup(&mut ctx.keys, key)? {
        modify_set(&mut ctx.keys, key, |s| {
            s.reserve(members.len(), limits);
            members.iter().filter(|m| s.add(m, limits)).count()
        })?
    } else {
        let mut s = Set::for_first(members[0], members.len(), limits);
        let added = members.iter().filter(|m| s.add(m, limits)).count();
        ctx.keys.add(key, Value::Set(s), None)?;
        added
    };
    if added > 0 {
        changed_n(&mut ctx.keys, key, notify::SET, "sadd", added as u64);
    }
    ctx.out.int(added as i64);
    Ok(())
}

fn srem(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    if !write_lookup(&mut ctx.keys, key)? {
        ctx.out.int(0);
        return Ok(());
    }
    let removed = modify_set(&mut ctx.keys, key, |s| {
        let mut removed = 0;
        for m in &argv[2..] {
            if s.remove(m) {
                removed += 1;
                // Valkey deletes the key at once and looks at no further member.
                if s.is_empty() {
                    break;
                }
            }
        }
        removed
    })?;
    if removed > 0 {
        changed_n(&mut ctx.keys, key, notify::SET, "srem", removed);
        delete_if_emptied(&mut ctx.keys, key)?;
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn smove(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (src, dst, member) = (argv[1], argv[2], argv[3]);
    // Both are looked up first; a missing source is 0 whatever the destination holds.
    let src_kind = ctx.keys.write(src)?.map(|e| matches!(e.value(), ValueRef::Set(_)));
    let dst_kind = ctx.keys.write(dst)?.map(|e| matches!(e.value(), ValueRef::Set(_)));
    let Some(src_is_set) = src_kind else {
        ctx.out.int(0);
        return Ok(());
    };
    if !src_is_set || dst_kind == Some(false) {
        return Err(errors::WRONGTYPE);
    }
    if src == dst {
        // The lookups above already found it (no second hit counted).
        let found = ctx.keys.peek(src)?.is_some_and(|e| matches!(e.value(), ValueRef::Set(s) if s.contains(member)));
        ctx.out.int(i64::from(found));
        return Ok(());
    }
    if !modify_set(&mut ctx.keys, src, |s| s.remove(member))? {
        ctx.out.int(0);
        return Ok(());
    }
    ctx.keys.changed(src, notify::SET, "srem");
    delete_if_emptied(&mut ctx.keys, src)?;
    let limits = ctx.engine.config.hot.set_limits();
    let added = match dst_kind {
        Some(_) => modify_set(&mut ctx.keys, dst, |s| s.add(member, limits))?,
        None => {
            let mut s = Set::for_first(member, 1, limits);
            s.add(member, limits);
            ctx.keys.add(dst, Value::Set(s), None)?;
            true
        }
    };
    if added {
        ctx.keys.changed(dst, notify::SET, "sadd");
    }
    ctx.out.int(1);
    Ok(())
}

// ---- Reads ----

fn scard(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let n = read_set(&mut ctx.keys, argv[1])?.map_or(0, |s| s.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn sismember(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let member = argv[2];
    let found = read_set(&mut ctx.keys, argv[1])?.is_some_and(|s| s.contains(member));
    ctx.out.int(i64::from(found));
    Ok(())
}

fn smismember(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let s = read_set(&mut ctx.keys, argv[1])?;
    ctx.out.array(argv.len() - 2);
    for m in &argv[2..] {
        ctx.out.int(i64::from(s.is_some_and(|s| s.contains(m))));
    }
    Ok(())
}

/// SMEMBERS is SINTER of one key in Valkey: a set reply, empty for a missing key.
fn smembers(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let Some(s) = read_set(&mut ctx.keys, argv[1])? else {
        ctx.out.set(0);
        return Ok(());
    };
    let out = &mut *ctx.out;
    out.set(s.len());
    s.for_each(|m| coll::reply_element(out, m));
    Ok(())
}

fn sscan(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let cursor = coll::scan_cursor(argv[2])?;
    let Some(s) = read_set(&mut ctx.keys, argv[1])? else {
        coll::reply_scan(ctx.out, 0, &[]);
        return Ok(());
    };
    let args = coll::scan_args(argv, ScanOf::Set)?;
    let mut found: Vec<Vec<u8>> = Vec::new();
    let mut collect = |m: LpValue<'_>| {
        if m.with_bytes(|b| args.matches(b)) {
            found.push(owned(m));
        }
    };
    let next = match s {
        SetRef::Table(_) => coll::scan_table(cursor, args.count, |c| {
            let mut visited = 0;
            let next = s.scan(c, |m| {
                visited += 1;
                collect(m);
            });
            (next, visited)
        }),
        _ => {
            s.for_each(&mut collect);
            0
        }
    };
    coll::reply_scan(ctx.out, next, &found);
    Ok(())
}

#[cfg(test)]
mod tests;
