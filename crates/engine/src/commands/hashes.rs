//! Hash commands: HSET HMSET HSETNX HGET HMGET HDEL HLEN HSTRLEN HEXISTS HKEYS HVALS HGETALL
//! HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN.
//!
//! Handlers follow Valkey's `t_hash.c` where the order is observable: which argument is
//! checked first, when a missing key is created (HSET, HINCRBY...: before the write, with its
//! `new` event ahead of the command's), which events fire, and `dirty` counts. The type and
//! its encodings live in `types/hash.rs`; HRANDFIELD's choice of elements in
//! `types/sample.rs`.

use super::coll::{self, ReplyBudget, ScanOf};
use super::table::{acl, doc_flags, flags::*, keyflags, Command, Doc, DocMeta, KeySpec};
use super::{errors, int_arg, CmdResult, Ctx, Error};
use crate::db::Keys;
use crate::notify;
use crate::types::hash::{Bytes, Hash, HashRef};
use crate::types::listpack::LpValue;
use crate::types::sample;
use crate::types::string::{long_double_add, FloatIncrError};
use crate::types::{Value, ValueRef};
use resp::Reply;

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "hash", complexity, syntax }
}

/// A hash command: one key at argument 1, the `@hash` category, per-key locking.
const fn hash_cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: &'static [KeySpec],
    handler: super::table::Handler,
    doc: Doc,
) -> Command {
    Command::keyed(acl::HASH, name, arity, flags, keys, handler, doc)
}

const RW_UPDATE: &[KeySpec] = &[KeySpec::single(1, keyflags::RW | keyflags::UPDATE)];
const RW_INSERT: &[KeySpec] = &[KeySpec::single(1, keyflags::RW | keyflags::INSERT)];
const RW_DELETE: &[KeySpec] = &[KeySpec::single(1, keyflags::RW | keyflags::DELETE)];
const RW_ACCESS_UPDATE: &[KeySpec] = &[KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::UPDATE)];
const RO_ACCESS: &[KeySpec] = &[KeySpec::single(1, keyflags::RO | keyflags::ACCESS)];
const RO: &[KeySpec] = &[KeySpec::single(1, keyflags::RO)];

const ORDER_TIPS: &[&str] = &["nondeterministic_output_order"];
const RANDOM_TIPS: &[&str] = &["nondeterministic_output"];
const ALL_FIELDS: &str = "O(N) where N is the size of the hash.";

pub static COMMANDS: &[Command] = &[
    Command {
        doc_meta: DocMeta { history: &[("4.0.0", "Accepts multiple `field` and `value` arguments.")], ..DocMeta::NONE },
        ..hash_cmd(
            "hset",
            -4,
            WRITE | DENYOOM | FAST,
            RW_UPDATE,
            hset,
            doc(
                "Creates or modifies the value of a field in a hash.",
                "2.0.0",
                "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
                "key field value [field value ...]",
            ),
        )
    },
    hash_cmd(
        "hsetnx",
        4,
        WRITE | DENYOOM | FAST,
        RW_INSERT,
        hsetnx,
        doc("Sets the value of a field in a hash only when the field doesn't exist.", "2.0.0", "O(1)", "key field value"),
    ),
    hash_cmd(
        "hget",
        3,
        READONLY | FAST,
        RO_ACCESS,
        hget,
        doc("Returns the value of a field in a hash.", "2.0.0", "O(1)", "key field"),
    ),
    hash_cmd(
        "hmget",
        -3,
        READONLY | FAST,
        RO_ACCESS,
        hmget,
        doc(
            "Returns the values of all fields in a hash.",
            "2.0.0",
            "O(N) where N is the number of fields being requested.",
            "key field [field ...]",
        ),
    ),
    Command {
        doc_meta: DocMeta {
            flags: doc_flags::DEPRECATED,
            deprecated_since: "4.0.0",
            replaced_by: "`HSET` with multiple field-value pairs",
            history: &[],
        },
        ..hash_cmd(
            "hmset",
            -4,
            WRITE | DENYOOM | FAST,
            RW_UPDATE,
            hset,
            doc(
                "Sets the values of multiple fields.",
                "2.0.0",
                "O(N) where N is the number of fields being set.",
                "key field value [field value ...]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { history: &[("2.4.0", "Accepts multiple `field` arguments.")], ..DocMeta::NONE },
        ..hash_cmd(
            "hdel",
            -3,
            WRITE | FAST,
            RW_DELETE,
            hdel,
            doc(
                "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
                "2.0.0",
                "O(N) where N is the number of fields to be removed.",
                "key field [field ...]",
            ),
        )
    },
    hash_cmd("hlen", 2, READONLY | FAST, RO, hlen, doc("Returns the number of fields in a hash.", "2.0.0", "O(1)", "key")),
    hash_cmd(
        "hstrlen",
        3,
        READONLY | FAST,
        RO,
        hstrlen,
        doc("Returns the length of the value of a field.", "3.2.0", "O(1)", "key field"),
    ),
    hash_cmd(
        "hexists",
        3,
        READONLY | FAST,
        RO,
        hexists,
        doc("Determines whether a field exists in a hash.", "2.0.0", "O(1)", "key field"),
    ),
    Command {
        tips: ORDER_TIPS,
        ..hash_cmd("hkeys", 2, READONLY, RO_ACCESS, hkeys, doc("Returns all fields in a hash.", "2.0.0", ALL_FIELDS, "key"))
    },
    Command {
        tips: ORDER_TIPS,
        ..hash_cmd("hvals", 2, READONLY, RO_ACCESS, hvals, doc("Returns all values in a hash.", "2.0.0", ALL_FIELDS, "key"))
    },
    Command {
        tips: ORDER_TIPS,
        ..hash_cmd(
            "hgetall",
            2,
            READONLY,
            RO_ACCESS,
            hgetall,
            doc("Returns all fields and values in a hash.", "2.0.0", ALL_FIELDS, "key"),
        )
    },
    hash_cmd(
        "hincrby",
        4,
        WRITE | DENYOOM | FAST,
        RW_ACCESS_UPDATE,
        hincrby,
        doc(
            "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.",
            "2.0.0",
            "O(1)",
            "key field increment",
        ),
    ),
    hash_cmd(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        RW_ACCESS_UPDATE,
        hincrbyfloat,
        doc(
            "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.",
            "2.6.0",
            "O(1)",
            "key field increment:double",
        ),
    ),
    Command {
        tips: RANDOM_TIPS,
        ..hash_cmd(
            "hrandfield",
            -2,
            READONLY,
            RO_ACCESS,
            hrandfield,
            doc(
                "Returns one or more random fields from a hash.",
                "6.2.0",
                "O(N) where N is the number of fields returned",
                "key [count [WITHVALUES]]",
            ),
        )
    },
    Command {
        tips: RANDOM_TIPS,
        ..hash_cmd(
            "hscan",
            -3,
            READONLY,
            RO_ACCESS,
            hscan,
            doc(
                "Iterates over fields and values of a hash.",
                "2.8.0",
                "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
                "key cursor [MATCH pattern] [COUNT count] [NOVALUES]",
            ),
        )
    },
];

// ---- Lookup helpers ----

/// The hash at `key` for reading: `None` if absent, WRONGTYPE if not a hash.
fn read_hash<'k>(keys: &'k mut Keys, key: &[u8]) -> Result<Option<HashRef<'k>>, Error> {
    keys.read_as(key, ValueRef::hash)
}

/// Runs `f` on the hash at `key`, creating an empty one first if the key is absent (Valkey's
/// `hashTypeLookupWriteOrCreate`: the key exists from then on, with its `new` event). WRONGTYPE
/// if the key holds something else.
fn write_hash<R>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&mut Hash) -> Result<R, Error>) -> Result<R, Error> {
    match ctx.keys.write(key)? {
        Some(e) if !matches!(e.value(), ValueRef::Hash(_)) => return Err(errors::WRONGTYPE),
        Some(_) => {}
        None => {
            let mut h = Hash::default();
            let r = f(&mut h);
            // The only errors after creation need an existing field, so a failed write never
            // leaves an empty hash behind; keep it that way if one ever does.
            if !h.is_empty() {
                ctx.keys.add(key, Value::Hash(h), None)?;
            }
            return r;
        }
    }
    match ctx.keys.modify(key, |v| match v {
        Value::Hash(h) => f(h),
        _ => Err(errors::WRONGTYPE),
    })? {
        Some(r) => r,
        None => Err(Error::internal("hash vanished under its lock")),
    }
}

/// Reports a change that Valkey counts as `n` changes in `dirty`.
fn changed_n(ctx: &mut Ctx, key: &[u8], event: &'static str, n: u64) {
    let before = ctx.keys.effects.dirty;
    ctx.keys.changed(key, notify::HASH, event);
    ctx.keys.effects.dirty = before + n;
}

fn reply_value(out: &mut Reply, v: Option<Bytes<'_>>) {
    match v {
        Some(v) => coll::reply_element(out, v),
        None => out.null(),
    }
}

// ---- Writes ----

/// HSET and HMSET (same code in Valkey; HMSET replies OK).
fn hset(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() % 2 == 1 {
        return Err(ctx.arity_error());
    }
    let key = argv[1];
    let limits = ctx.engine.config.hot.hash_limits();
    let pairs = &argv[2..];
    let created = write_hash(ctx, key, |h| {
        h.prepare_for(pairs, limits);
        Ok(pairs.chunks(2).filter(|p| h.set(p[0], p[1], limits)).count())
    })?;
    if matches!(argv[0].get(1), Some(b's' | b'S')) {
        ctx.out.int(created as i64);
    } else {
        ctx.out.ok();
    }
    changed_n(ctx, key, "hset", (pairs.len() / 2) as u64);
    Ok(())
}

fn hsetnx(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (key, field, value) = (argv[1], argv[2], argv[3]);
    let limits = ctx.engine.config.hot.hash_limits();
    let added = write_hash(ctx, key, |h| {
        if h.get(field).is_some() {
            return Ok(false);
        }
        h.prepare_for(&argv[2..4], limits);
        h.set(field, value, limits);
        Ok(true)
    })?;
    ctx.out.int(i64::from(added));
    if added {
        ctx.keys.changed(key, notify::HASH, "hset");
    }
    Ok(())
}

fn hincrby(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (key, field) = (argv[1], argv[2]);
    let incr = int_arg(argv[3])?;
    let limits = ctx.engine.config.hot.hash_limits();
    let value = write_hash(ctx, key, |h| {
        let old = match h.get(field) {
            None => 0,
            Some(LpValue::Int(i)) => i,
            Some(LpValue::Str(s)) => {
                resp::number::parse_i64(s).ok_or_else(|| Error::err("hash value is not an integer"))?
            }
        };
        let new = old.checked_add(incr).ok_or_else(|| Error::err("increment or decrement would overflow"))?;
        h.set(field, itoa::Buffer::new().format(new).as_bytes(), limits);
        Ok(new)
    })?;
    ctx.out.int(value);
    ctx.keys.changed(key, notify::HASH, "hincrby");
    Ok(())
}

fn hincrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (key, field, incr) = (argv[1], argv[2], argv[3]);
    // The increment alone (added to nothing) tells a bad number from an infinite one, before
    // the key is looked at, as Valkey checks it.
    match long_double_add(None, incr) {
        Ok(_) => {}
        Err(FloatIncrError::NotFloat) => return Err(errors::NOT_FLOAT),
        Err(FloatIncrError::NanOrInfinity) => return Err(Error::err("value is NaN or Infinity")),
    }
    let limits = ctx.engine.config.hot.hash_limits();
    let text = write_hash(ctx, key, |h| {
        let current = h.get(field).map(|v| v.to_vec());
        let sum = long_double_add(current.as_deref(), incr).map_err(|e| match e {
            // The increment parsed above, so the stored value is what failed.
            FloatIncrError::NotFloat => Error::err("hash value is not a float"),
            FloatIncrError::NanOrInfinity => Error::err("increment would produce NaN or Infinity"),
        })?;
        h.set(field, &sum, limits);
        Ok(sum)
    })?;
    ctx.out.bulk(&text);
    ctx.keys.changed(key, notify::HASH, "hincrbyfloat");
    // Replicas get the resulting value, not the sum to redo (float formatting may differ).
    ctx.keys.propagate_as(vec![b"HSET".to_vec(), key.to_vec(), field.to_vec(), text]);
    Ok(())
}

fn hdel(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    match ctx.keys.write(key)? {
        None => {
            ctx.out.int(0);
            return Ok(());
        }
        Some(e) if !matches!(e.value(), ValueRef::Hash(_)) => return Err(errors::WRONGTYPE),
        Some(_) => {}
    }
    let deleted = ctx
        .keys
        .modify(key, |v| {
            let Value::Hash(h) = v else { return 0 };
            let mut deleted = 0;
            for field in &argv[2..] {
                if h.remove(field) {
                    deleted += 1;
                    // Valkey deletes the key at once and looks at no further field.
                    if h.is_empty() {
                        break;
                    }
                }
            }
            deleted
        })?
        .unwrap_or(0);
    if deleted > 0 {
        changed_n(ctx, key, "hdel", deleted);
        let dirty = ctx.keys.effects.dirty;
        ctx.keys.delete_if_empty(key)?;
        ctx.keys.effects.dirty = dirty;
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

// ---- Reads ----

fn hget(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let field = argv[2];
    let Some(h) = read_hash(&mut ctx.keys, argv[1])? else {
        ctx.out.null();
        return Ok(());
    };
    let v = h.get(field);
    reply_value(ctx.out, v);
    Ok(())
}

fn hmget(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let h = read_hash(&mut ctx.keys, argv[1])?;
    ctx.out.array(argv.len() - 2);
    for field in &argv[2..] {
        reply_value(ctx.out, h.and_then(|h| h.get(field)));
    }
    Ok(())
}

fn hlen(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let n = read_hash(&mut ctx.keys, argv[1])?.map_or(0, |h| h.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let field = argv[2];
    let n = read_hash(&mut ctx.keys, argv[1])?.and_then(|h| h.get(field)).map_or(0, |v| v.with_bytes(|b| b.len()));
    ctx.out.int(n as i64);
    Ok(())
}

fn hexists(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let field = argv[2];
    let found = read_hash(&mut ctx.keys, argv[1])?.is_some_and(|h| h.contains(field));
    ctx.out.int(i64::from(found));
    Ok(())
}

/// What HKEYS, HVALS and HGETALL return of each pair.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Fields,
    Values,
    Both,
}

fn hgetall_generic(ctx: &mut Ctx, key: &[u8], part: Part) -> CmdResult {
    let Some(h) = read_hash(&mut ctx.keys, key)? else {
        if part == Part::Both {
            ctx.out.map(0);
        } else {
            ctx.out.array(0);
        }
        return Ok(());
    };
    let out = &mut *ctx.out;
    if part == Part::Both {
        out.map(h.len());
    } else {
        out.array(h.len());
    }
    h.for_each(|f, v| {
        if part != Part::Values {
            coll::reply_element(out, f);
        }
        if part != Part::Fields {
            coll::reply_element(out, v);
        }
    });
    Ok(())
}

fn hkeys(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    hgetall_generic(ctx, argv[1], Part::Fields)
}

fn hvals(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    hgetall_generic(ctx, argv[1], Part::Values)
}

fn hgetall(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    hgetall_generic(ctx, argv[1], Part::Both)
}

fn hscan(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let cursor = coll::scan_cursor(argv[2])?;
    let Some(h) = read_hash(&mut ctx.keys, argv[1])? else {
        coll::reply_scan(ctx.out, 0, &[]);
        return Ok(());
    };
    let args = coll::scan_args(argv, ScanOf::Hash)?;
    let mut found: Vec<Vec<u8>> = Vec::new();
    let mut collect = |f: Bytes<'_>, v: Bytes<'_>| {
        if f.with_bytes(|b| args.matches(b)) {
            found.push(f.to_vec());
            if !args.only_keys {
                found.push(v.to_vec());
            }
        }
    };
    let next = match h {
        HashRef::Listpack(_) => {
            h.for_each(&mut collect);
            0
        }
        HashRef::Table(_) => coll::scan_table(cursor, args.count, |c| {
            let mut visited = 0;
            let next = h.scan(c, |f, v| {
                visited += 1;
                collect(f, v);
            });
            (next, visited)
        }),
    };
    coll::reply_scan(ctx.out, next, &found);
    Ok(())
}

// ---- HRANDFIELD ----

fn hrandfield(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() == 2 {
        let Some(h) = read_hash(&mut ctx.keys, argv[1])? else {
            ctx.out.null();
            return Ok(());
        };
        let pick = h.random_pair(&mut fastrand::Rng::new()).map(|(f, _)| f);
        reply_value(ctx.out, pick);
        return Ok(());
    }
    let count = int_arg(argv[2])?;
    if count == i64::MIN {
        return Err(Error::err(format!("value is out of range, value must between {} and {}", -i64::MAX, i64::MAX)));
    }
    let with_values = match argv.get(3) {
        None => false,
        Some(a) if argv.len() == 4 && super::is(a, "withvalues") => true,
        Some(_) => return Err(errors::SYNTAX),
    };
    if with_values && !(-i64::MAX / 2..=i64::MAX / 2).contains(&count) {
        return Err(Error::err("value is out of range"));
    }
    hrandfield_count(ctx, argv[1], count, with_values)
}

/// HRANDFIELD with a count: Valkey's cases, by reply shape. A negative count samples with
/// repetition (and is the one reply whose size the client picks freely, so it is bounded by
/// the output limit); a positive one returns distinct fields, all of them when the count
/// reaches the size, else a uniformly chosen subset (in storage order for a listpack).
fn hrandfield_count(ctx: &mut Ctx, key: &[u8], count: i64, with_values: bool) -> CmdResult {
    let budget = ReplyBudget::new(ctx);
    let resp3 = ctx.out.is_resp3();
    let Some(h) = read_hash(&mut ctx.keys, key)? else {
        ctx.out.array(0);
        return Ok(());
    };
    let n = count.unsigned_abs();
    if n == 0 {
        ctx.out.array(0);
        return Ok(());
    }
    let out = &mut *ctx.out;
    let header = |out: &mut Reply, pairs: u64| {
        out.array(if with_values && !resp3 { pairs * 2 } else { pairs } as usize);
    };
    let emit = |out: &mut Reply, (f, v): (Bytes<'_>, Bytes<'_>)| {
        if with_values && resp3 {
            out.array(2);
        }
        coll::reply_element(out, f);
        if with_values {
            coll::reply_element(out, v);
        }
    };
    let mut rng = fastrand::Rng::new();
    let size = h.len();
    if count < 0 || n == 1 {
        header(out, n);
        // A listpack is walked once to index its pairs; a table picks from its buckets.
        let pairs = if matches!(h, HashRef::Listpack(_)) { h.pairs() } else { Vec::new() };
        for i in 0..n {
            let pick = if pairs.is_empty() { h.random_pair(&mut rng) } else { Some(pairs[rng.usize(..size)]) };
            let Some(pair) = pick else { break };
            emit(out, pair);
            if i % 1024 == 0 && budget.exceeded(out) {
                budget.abandon(out, ctx.client);
                return Ok(());
            }
        }
        return Ok(());
    }
    let n = n as usize;
    if n >= size {
        header(out, size as u64);
        h.for_each(|f, v| emit(out, (f, v)));
        return Ok(());
    }
    header(out, n as u64);
    if matches!(h, HashRef::Listpack(_)) || n * 3 > size {
        // A listpack, or a count close to the size: index every pair, take a uniform subset.
        let pairs = h.pairs();
        for i in sample::ordered_distinct(size, n, &mut rng) {
            emit(out, pairs[i]);
        }
    } else {
        // A big table and a comparatively small count: draw until enough distinct fields.
        for pair in sample::distinct_draws(n, || h.random_pair(&mut rng)).into_iter().flatten() {
            emit(out, pair);
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "hashes_tests.rs"]
pub(crate) mod tests;
