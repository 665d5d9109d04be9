//! Generic key commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX,
//! COPY, MOVE, TOUCH, OBJECT, DUMP and RESTORE.
//!
//! These work on keys whatever their type. Whole-database commands (KEYS, SCAN, RANDOMKEY)
//! lock every shard of the database; MOVE and COPY ... DB lock the key's shard in both
//! databases (a custom lock set, always in ascending `(db, shard)` order).
//!
//! This file holds the table and the commands that find, delete and move keys; OBJECT is in
//! `object.rs`, DUMP and RESTORE (the RDB encoding of `crate::rdb`) in `dump.rs`.

mod dump;
pub(crate) mod object;

use super::table::{acl, flags::*, keyflags, Command, Doc, KeySpec, Lock};
use super::{errors, int_arg, is, CmdResult, Ctx, Error};
use crate::db::Entry;
use crate::keyspace::entry::{Kind, INLINE_STR_MAX};
use crate::keyspace::LockSet;
use crate::notify;
use crate::types::{StrRef, Value, ValueRef};
use crate::util::glob_match;
use resp::reply::Aggregate;
use std::sync::atomic::Ordering::Relaxed;

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "generic", complexity, syntax }
}

const MULTI_SHARD_SUM: &[&str] = &["request_policy:multi_shard", "response_policy:agg_sum"];

pub static COMMANDS: &[Command] = &[
    Command {
        name: "del",
        arity: -2,
        flags: WRITE,
        acl: acl::KEYSPACE,
        keys: &[KeySpec::range(1, -1, 1, keyflags::RM | keyflags::DELETE)],
        lock: Lock::Keys,
        handler: Some(del),
        tips: MULTI_SHARD_SUM,
        doc: doc("Deletes one or more keys.", "1.0.0", "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", "key [key ...]"),
        ..Command::DEFAULT
    },
    Command {
        name: "unlink",
        arity: -2,
        flags: WRITE | FAST,
        acl: acl::KEYSPACE,
        keys: &[KeySpec::range(1, -1, 1, keyflags::RM | keyflags::DELETE)],
        lock: Lock::Keys,
        handler: Some(unlink),
        tips: MULTI_SHARD_SUM,
        doc: doc("Asynchronously deletes one or more keys.", "4.0.0", "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", "key [key ...]"),
        ..Command::DEFAULT
    },
    Command {
        name: "exists",
        arity: -2,
        flags: READONLY | FAST,
        acl: acl::KEYSPACE,
        keys: &[KeySpec::range(1, -1, 1, keyflags::RO)],
        lock: Lock::Keys,
        handler: Some(exists),
        tips: MULTI_SHARD_SUM,
        doc: doc("Determines whether one or more keys exist.", "1.0.0", "O(N) where N is the number of keys to check.", "key [key ...]"),
        ..Command::DEFAULT
    },
    Command {
        name: "type",
        arity: 2,
        flags: READONLY | FAST,
        acl: acl::KEYSPACE,
        keys: &[KeySpec::single(1, keyflags::RO)],
        lock: Lock::Keys,
        handler: Some(type_),
        doc: doc("Determines the type of value stored at a key.", "1.0.0", "O(1)", "key"),
        ..Command::DEFAULT
    },
    Command {
        name: "keys",
        arity: 2,
        flags: READONLY,
        acl: acl::KEYSPACE | acl::DANGEROUS,
        lock: Lock::Db,
        handler: Some(keys),
        tips: &["request_policy:all_shards", "nondeterministic_output_order"],
        doc: doc("Returns all key names that match a pattern.", "1.0.0", "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", "pattern"),
        ..Command::DEFAULT
    },
    Command {
        name: "scan",
        arity: -2,
        flags: READONLY | TOUCHES_ARBITRARY_KEYS,
        acl: acl::KEYSPACE,
        lock: Lock::Db,
        handler: Some(scan),
        tips: &["nondeterministic_output", "request_policy:special", "response_policy:special"],
        doc: doc("Iterates over the key names in the database.", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", "cursor [MATCH pattern] [COUNT count] [TYPE type]"),
        ..Command::DEFAULT
    },
    Command {
        name: "randomkey",
        arity: 1,
        flags: READONLY | TOUCHES_ARBITRARY_KEYS,
        acl: acl::KEYSPACE,
        lock: Lock::Db,
        handler: Some(randomkey),
        tips: &["request_policy:all_shards", "response_policy:special", "nondeterministic_output"],
        doc: doc("Returns a random key name from the database.", "1.0.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "rename",
        arity: 3,
        flags: WRITE,
        acl: acl::KEYSPACE,
        keys: &[
            KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::DELETE),
            KeySpec::single(2, keyflags::OW | keyflags::UPDATE),
        ],
        lock: Lock::Keys,
        handler: Some(rename),
        doc: doc("Renames a key and overwrites the destination.", "1.0.0", "O(1)", "key newkey"),
        ..Command::DEFAULT
    },
    Command {
        name: "renamenx",
        arity: 3,
        flags: WRITE | FAST,
        acl: acl::KEYSPACE,
        keys: &[
            KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::DELETE),
            KeySpec::single(2, keyflags::OW | keyflags::INSERT),
        ],
        lock: Lock::Keys,
        handler: Some(renamenx),
        doc: doc("Renames a key only when the target key name doesn't exist.", "1.0.0", "O(1)", "key newkey"),
        ..Command::DEFAULT
    },
    Command {
        name: "copy",
        arity: -3,
        flags: WRITE | DENYOOM,
        acl: acl::KEYSPACE,
        keys: &[
            KeySpec::single(1, keyflags::RO | keyflags::ACCESS),
            KeySpec::single(2, keyflags::OW | keyflags::UPDATE),
        ],
        lock: Lock::Custom(copy_locks),
        handler: Some(copy),
        doc: doc("Copies the value of a key to a new key.", "6.2.0", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", "source destination [DB destination-db] [REPLACE]"),
        ..Command::DEFAULT
    },
    Command {
        name: "move",
        arity: 3,
        flags: WRITE | FAST,
        acl: acl::KEYSPACE,
        keys: &[KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::UPDATE)],
        lock: Lock::Custom(move_locks),
        handler: Some(move_),
        doc: doc("Moves a key to another database.", "1.0.0", "O(1)", "key db"),
        ..Command::DEFAULT
    },
    Command {
        name: "touch",
        arity: -2,
        flags: READONLY | FAST,
        acl: acl::KEYSPACE,
        keys: &[KeySpec::range(1, -1, 1, keyflags::RO)],
        lock: Lock::Keys,
        handler: Some(touch),
        tips: MULTI_SHARD_SUM,
        doc: doc("Returns the number of existing keys out of those specified after updating the time they were last accessed.", "3.2.1", "O(N) where N is the number of keys that will be touched.", "key [key ...]"),
        ..Command::DEFAULT
    },
    Command {
        name: "object",
        arity: -2,
        subcommands: object::SUBCOMMANDS,
        doc: doc("A container for object introspection commands.", "2.2.3", "Depends on subcommand.", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "dump",
        arity: 2,
        flags: READONLY,
        acl: acl::KEYSPACE,
        keys: &[KeySpec::single(1, keyflags::RO | keyflags::ACCESS)],
        lock: Lock::Keys,
        handler: Some(dump::dump),
        tips: &["nondeterministic_output"],
        doc: doc("Returns a serialized representation of the value stored at a key.", "2.6.0", "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).", "key"),
        ..Command::DEFAULT
    },
    Command {
        name: "restore",
        arity: -4,
        flags: WRITE | DENYOOM,
        acl: acl::KEYSPACE | acl::DANGEROUS,
        keys: &[KeySpec::single(1, keyflags::OW | keyflags::UPDATE)],
        lock: Lock::Keys,
        handler: Some(dump::restore),
        doc: doc("Creates a key from the serialized representation of a value.", "2.6.0", "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).", "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]"),
        ..Command::DEFAULT
    },
];

// ---- DEL, UNLINK, EXISTS, TYPE, TOUCH ----

fn del(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let lazy = ctx.engine.config.hot.lazyfree_lazy_user_del.load(Relaxed);
    delete_keys(ctx, &argv[1..], lazy)
}

fn unlink(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    delete_keys(ctx, &argv[1..], true)
}

/// DEL and UNLINK: a key found expired counts as absent (and is expired, with its event).
fn delete_keys(ctx: &mut Ctx, keys: &[&[u8]], lazy: bool) -> CmdResult {
    let mut n = 0;
    for key in keys {
        if let Some((value, _)) = ctx.keys.remove(key)? {
            if lazy {
                ctx.engine.lazy_free(value);
            } else {
                drop(value);
            }
            ctx.keys.changed(key, notify::GENERIC, "del");
            n += 1;
        }
    }
    ctx.out.int(n);
    Ok(())
}

fn exists(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut n = 0;
    for key in &argv[1..] {
        n += i64::from(ctx.keys.read_untouched(key, true)?.is_some());
    }
    ctx.out.int(n);
    Ok(())
}

fn type_(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let name = match ctx.keys.read_untouched(argv[1], true)? {
        Some(e) => e.value().type_name(),
        None => "none",
    };
    ctx.out.simple(name);
    Ok(())
}

fn touch(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut n = 0;
    for key in &argv[1..] {
        n += i64::from(ctx.keys.read(key)?.is_some());
    }
    ctx.out.int(n);
    Ok(())
}

// ---- KEYS, SCAN, RANDOMKEY ----

/// KEYS walks the whole database under its locks, as Valkey blocks its one thread. Expired
/// keys are skipped but not deleted (Valkey's `keyIsExpired`).
fn keys(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let pattern = argv[1];
    // A lone `*` matches everything, including the empty key `glob_match` would refuse.
    let all = pattern == b"*";
    let (db, now) = (ctx.keys.db, ctx.keys.now_ms);
    if !ctx.keys.holds_all(db) {
        return Err(Error::internal("KEYS without its database lock"));
    }
    let out = &mut *ctx.out;
    let header = out.deferred(Aggregate::Array);
    let mut n = 0;
    for shard in ctx.keys.shards(db) {
        shard.for_each(|e| {
            let key = e.key();
            if (all || glob_match(pattern, key, false)) && e.expire_at_ms().is_none_or(|t| now <= t) {
                out.bulk(key);
                n += 1;
            }
        });
    }
    out.fill_deferred(header, n);
    Ok(())
}

/// The most keys one SCAN call visits, whatever COUNT says: Valkey would walk the whole
/// database for `COUNT 1000000000` while blocking everyone; we return after this many (the
/// cursor stays valid, the client just calls again).
const SCAN_MAX_COUNT: usize = 100_000;

fn scan(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(argv[1]).ok_or(errors::INVALID_CURSOR)?;
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&'static str> = None;
    let mut i = 2;
    while i < argv.len() {
        let has_value = argv.len() - i >= 2;
        if is(argv[i], "count") && has_value {
            count = int_arg(argv[i + 1])?;
            if count < 1 {
                return Err(errors::SYNTAX);
            }
        } else if is(argv[i], "match") && has_value {
            // `*` matches everything: the same as no pattern.
            pattern = Some(argv[i + 1]).filter(|p| *p != b"*");
        } else if is(argv[i], "type") && has_value {
            let name = until_nul(argv[i + 1]);
            type_name = Some(type_by_name(name).ok_or_else(|| Error::err_quoting("unknown type name '", name, "'"))?);
        } else if is(argv[i], "novalues") {
            return Err(Error::err("NOVALUES option can only be used in HSCAN"));
        } else if is(argv[i], "noscores") {
            return Err(Error::err("NOSCORES option can only be used in ZSCAN"));
        } else {
            return Err(errors::SYNTAX);
        }
        i += 2;
    }
    let budget = usize::try_from(count).unwrap_or(usize::MAX).min(SCAN_MAX_COUNT);
    let mut found: Vec<Vec<u8>> = Vec::new();
    let next = ctx.keys.scan(cursor, budget, |e| {
        if type_name.is_some_and(|t| e.value().type_name() != t) {
            return;
        }
        let key = e.key();
        if pattern.is_none_or(|p| glob_match(p, key, false)) {
            found.push(key.to_vec());
        }
    })?;
    // Keys found past their TTL are deleted now and left out, as Valkey does.
    let db = ctx.keys.db;
    let mut live = Vec::with_capacity(found.len());
    for key in found {
        if !ctx.keys.expire_if_needed(db, &key)? {
            live.push(key);
        }
    }
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(live.len());
    for key in &live {
        ctx.out.bulk(key);
    }
    Ok(())
}

/// Valkey's `string2ull` on a C string: canonical decimal, or else whatever `strtoull` (base
/// 10) accepts — leading spaces, a sign (a `-` negates modulo 2^64), leading zeros — as long
/// as it spans the whole string and does not overflow. Canonical negatives are refused.
pub(crate) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let s = until_nul(arg);
    if let Some(v) = resp::number::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let s = &s[s.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?..];
    let (negative, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// The part of an argument a C string function sees.
fn until_nul(a: &[u8]) -> &[u8] {
    &a[..a.iter().position(|&b| b == 0).unwrap_or(a.len())]
}

/// SCAN TYPE names (Valkey's `obj_type_name`), matched case-insensitively.
fn type_by_name(name: &[u8]) -> Option<&'static str> {
    ["string", "list", "set", "zset", "hash", "stream"].into_iter().find(|t| name.eq_ignore_ascii_case(t.as_bytes()))
}

fn randomkey(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    match ctx.keys.random_key()? {
        Some(key) => ctx.out.bulk(&key),
        None => ctx.out.null(),
    }
    Ok(())
}

// ---- RENAME, RENAMENX, MOVE, COPY ----

fn rename(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    rename_generic(ctx, argv[1], argv[2], false)
}

fn renamenx(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    rename_generic(ctx, argv[1], argv[2], true)
}

fn rename_generic(ctx: &mut Ctx, from: &[u8], to: &[u8], nx: bool) -> CmdResult {
    let (ttl, lru) = match ctx.keys.write(from)? {
        Some(e) => (e.expire_at_ms(), e.lru()),
        None => return Err(errors::NO_SUCH_KEY),
    };
    if from == to {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    if ctx.keys.write(to)?.is_some() {
        if nx {
            ctx.out.int(0);
            return Ok(());
        }
        if let Some((old, _)) = ctx.keys.remove(to)? {
            ctx.engine.lazy_free(old);
        }
    }
    let (value, _) = ctx.keys.remove(from)?.ok_or_else(|| Error::internal("renamed key vanished"))?;
    let db = ctx.keys.db;
    ctx.keys.add_new_in(db, to, value, ttl, lru)?;
    // Two events, one change: Valkey counts a rename once in `dirty`.
    let dirty = ctx.keys.effects.dirty;
    ctx.keys.changed(from, notify::GENERIC, "rename_from");
    ctx.keys.changed(to, notify::GENERIC, "rename_to");
    ctx.keys.effects.dirty = dirty + 1;
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// MOVE locks the key's shard in the current and in the target database. When the target is
/// not a valid database only the source is locked: the handler then fails before touching
/// anything.
fn move_locks(db: usize, argv: &[&[u8]], databases: usize) -> Result<LockSet, String> {
    let mut set = LockSet::new();
    if let (Some(key), Some(target)) = (argv.get(1), argv.get(2)) {
        set.add_key(db, key);
        if let Ok(dst) = super::db_index_arg(target, databases) {
            set.add_key(dst, key);
        }
    }
    Ok(set)
}

fn move_(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let src = ctx.keys.db;
    let dst = super::db_index_arg(argv[2], ctx.engine.keyspace.databases())?;
    if dst == src {
        return Err(errors::SAME_OBJECT);
    }
    let (ttl, lru) = match ctx.keys.write(key)? {
        Some(e) => (e.expire_at_ms(), e.lru()),
        None => {
            ctx.out.int(0);
            return Ok(());
        }
    };
    if ctx.keys.write_in(dst, key)?.is_some() {
        ctx.out.int(0);
        return Ok(());
    }
    let (value, _) = ctx.keys.remove(key)?.ok_or_else(|| Error::internal("moved key vanished"))?;
    ctx.keys.add_new_in(dst, key, value, ttl, lru)?;
    // Two events, one change, as in Valkey.
    let dirty = ctx.keys.effects.dirty;
    ctx.keys.changed_in(src, key, notify::GENERIC, "move_from");
    ctx.keys.changed_in(dst, key, notify::GENERIC, "move_to");
    ctx.keys.effects.dirty = dirty + 1;
    ctx.out.int(1);
    Ok(())
}

/// COPY's options: target database and REPLACE.
struct CopyArgs {
    db: usize,
    replace: bool,
}

fn parse_copy(argv: &[&[u8]], db: usize, databases: usize) -> Result<CopyArgs, Error> {
    let mut args = CopyArgs { db, replace: false };
    let mut i = 3;
    while i < argv.len() {
        if is(argv[i], "replace") {
            args.replace = true;
        } else if is(argv[i], "db") && i + 1 < argv.len() {
            args.db = super::db_index_arg(argv[i + 1], databases)?;
            i += 1;
        } else {
            return Err(errors::SYNTAX);
        }
        i += 1;
    }
    Ok(args)
}

/// COPY locks the source's shard in the current database and the destination's shard in the
/// target database, parsed exactly as the handler parses it. Bad options lock only the current
/// database's shards (the handler fails on them first).
fn copy_locks(db: usize, argv: &[&[u8]], databases: usize) -> Result<LockSet, String> {
    let mut set = LockSet::new();
    if argv.len() >= 3 {
        set.add_key(db, argv[1]);
        let dst = parse_copy(argv, db, databases).map_or(db, |a| a.db);
        set.add_key(dst, argv[2]);
    }
    Ok(set)
}

fn copy(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (from, to) = (argv[1], argv[2]);
    let args = parse_copy(argv, ctx.keys.db, ctx.engine.keyspace.databases())?;
    if args.db == ctx.keys.db && from == to {
        return Err(errors::SAME_OBJECT);
    }
    let (value, ttl) = match ctx.keys.read(from)? {
        Some(e) => (duplicate(e), e.expire_at_ms()),
        None => {
            ctx.out.int(0);
            return Ok(());
        }
    };
    if ctx.keys.write_in(args.db, to)?.is_some() {
        if !args.replace {
            ctx.out.int(0);
            return Ok(());
        }
        if let Some((old, _)) = ctx.keys.remove_in(args.db, to)? {
            ctx.engine.lazy_free(old);
        }
    }
    let lru = object::new_object_lru(ctx);
    ctx.keys.add_new_in(args.db, to, value, ttl, lru)?;
    ctx.keys.changed_in(args.db, to, notify::GENERIC, "copy_to");
    ctx.out.int(1);
    Ok(())
}

/// An independent copy of a value in the same encoding (a `raw` string stays raw).
fn duplicate(e: Entry<'_>) -> Value {
    match e.value() {
        ValueRef::Str(StrRef::Int(i)) => Value::Int(i),
        ValueRef::Str(StrRef::Bytes(b)) => {
            let capacity = if e.raw().kind() == Kind::StrHeap { b.len().max(INLINE_STR_MAX + 1) } else { b.len() };
            let mut v = Vec::with_capacity(capacity);
            v.extend_from_slice(b);
            Value::Str(v)
        }
        other => other.to_owned_value(),
    }
}

#[cfg(test)]
mod tests;
