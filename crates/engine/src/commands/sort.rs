//! SORT and SORT_RO (Valkey's `sort.c`): sort the elements of a list, set or sorted set
//! numerically or lexically, by themselves or by weights read from other keys (`BY pattern`,
//! `pattern->field` for hash fields, or a pattern without `*` not to sort), return a LIMIT
//! range of them or values read through GET patterns (`#` is the element itself), or STORE the
//! result as a list.
//!
//! BY and GET patterns name arbitrary keys, so both commands lock the whole database. Every
//! pattern lookup is a read of that key (hits, misses, expiry), as in Valkey.
//!
//! Each source type is loaded by `source_len` / `load_source`: a set in its storage order, a
//! list or sorted set in its native order (reversed for DESC when not sorting, as Valkey walks
//! them from the tail; the LIMIT range is then cut from that vector, which gives Valkey's
//! "direct load" result). STORE builds a list the way a push would (a listpack while it fits).

use super::coll::ReplyBudget;
use super::table::{acl, flags::*, keyflags, BeginSearch, Command, Doc, FindKeys, KeySpec, Lock};
use super::{errors, int_arg, is, CmdResult, Ctx, Error};
use crate::db::Ttl;
use crate::notify;
use crate::types::list::List;
use crate::types::set::SetRef;
use crate::types::{Value, ValueRef};
use crate::util::strtod::sort_score;
use std::cmp::Ordering;

const fn doc(summary: &'static str, since: &'static str, syntax: &'static str) -> Doc {
    Doc {
        summary,
        since,
        group: "generic",
        complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
        syntax,
    }
}

const SORT_KEY: KeySpec = KeySpec::single(1, keyflags::RO | keyflags::ACCESS);
const PATTERN_KEYS: KeySpec = KeySpec {
    flags: keyflags::RO | keyflags::ACCESS,
    begin: BeginSearch::Unknown,
    find: FindKeys::Unknown,
    notes: "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort",
};
const STORE_KEY: KeySpec = KeySpec {
    flags: keyflags::OW | keyflags::UPDATE,
    begin: BeginSearch::Unknown,
    find: FindKeys::Unknown,
    notes: "For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array",
};
const CATEGORIES: u64 = acl::SET | acl::SORTEDSET | acl::LIST | acl::DANGEROUS;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "sort",
        arity: -2,
        flags: WRITE | DENYOOM,
        acl: CATEGORIES,
        keys: &[SORT_KEY, PATTERN_KEYS, STORE_KEY],
        get_keys: Some(sort_keys),
        keys_with_flags: Some(sort_keys_with_flags),
        lock: Lock::Db,
        handler: Some(sort),
        doc: doc(
            "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.",
            "1.0.0",
            "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA] [STORE destination]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "sort_ro",
        arity: -2,
        flags: READONLY,
        acl: CATEGORIES,
        keys: &[SORT_KEY, PATTERN_KEYS],
        get_keys: Some(sort_ro_keys),
        lock: Lock::Db,
        handler: Some(sort_ro),
        doc: doc(
            "Returns the sorted elements of a list, a set, or a sorted set.",
            "7.0.0",
            "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]",
        ),
        ..Command::DEFAULT
    },
];

/// SORT's keys as Valkey's `sortGetKeys` finds them: the sorted key, and the argument after
/// the last STORE (options with arguments are skipped, others scanned as option names).
fn sort_keys(argv: &[&[u8]]) -> Vec<usize> {
    let mut keys = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        if is(argv[i], "limit") {
            i += 2;
        } else if is(argv[i], "get") || is(argv[i], "by") {
            i += 1;
        } else if is(argv[i], "store") && i + 1 < argv.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store);
    keys
}

/// The sorted key is read, the STORE destination overwritten (`sortGetKeys`' flags).
fn sort_keys_with_flags(argv: &[&[u8]]) -> Vec<(usize, u32)> {
    let keys = sort_keys(argv);
    keys.iter().enumerate().map(|(n, &i)| (i, if n == 0 { SORT_KEY.flags } else { STORE_KEY.flags })).collect()
}

fn sort_ro_keys(_argv: &[&[u8]]) -> Vec<usize> {
    vec![1]
}

fn sort(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    sort_generic(ctx, argv, false)
}

fn sort_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    sort_generic(ctx, argv, true)
}

/// The parsed options.
struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<&'a [u8]>,
    by: Option<&'a [u8]>,
    /// BY with a pattern that has no `*`: keep the source order.
    dont_sort: bool,
    gets: Vec<&'a [u8]>,
}

fn parse<'a>(argv: &[&'a [u8]], readonly: bool) -> Result<Options<'a>, Error> {
    let mut o = Options {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        store: None,
        by: None,
        dont_sort: false,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        if is(argv[j], "asc") {
            o.desc = false;
        } else if is(argv[j], "desc") {
            o.desc = true;
        } else if is(argv[j], "alpha") {
            o.alpha = true;
        } else if is(argv[j], "limit") && left >= 2 {
            o.limit_start = int_arg(argv[j + 1])?;
            o.limit_count = int_arg(argv[j + 2])?;
            j += 2;
        } else if !readonly && is(argv[j], "store") && left >= 1 {
            o.store = Some(argv[j + 1]);
            j += 1;
        } else if is(argv[j], "by") && left >= 1 {
            o.by = Some(argv[j + 1]);
            o.dont_sort = !c_str(argv[j + 1]).contains(&b'*');
            j += 1;
        } else if is(argv[j], "get") && left >= 1 {
            o.gets.push(argv[j + 1]);
            j += 1;
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

/// What C string functions see of an argument: the bytes before the first NUL.
fn c_str(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

/// One element being sorted, with what it is sorted by.
struct Item {
    element: Vec<u8>,
    score: f64,
    /// The BY value for ALPHA sorting by pattern; `None` when the weight key is missing.
    by_value: Option<Vec<u8>>,
}

fn sort_generic(ctx: &mut Ctx, argv: &[&[u8]], readonly: bool) -> CmdResult {
    let mut o = parse(argv, readonly)?;
    let len = match ctx.keys.read(argv[1])? {
        None => None,
        Some(e) => Some(source_len(e.value())?),
    };
    // A set has no order of its own: when storing (or in a script), sort it lexically rather
    // than in whatever order the set happens to be in.
    if o.dont_sort && len.is_some_and(|(_, is_set)| is_set) && (o.store.is_some() || ctx.in_script()) {
        o.dont_sort = false;
        o.alpha = true;
        o.by = None;
    }
    let vector_len = len.map_or(0, |(n, _)| n) as i64;
    let (start, end) = limit_range(o.limit_start, o.limit_count, vector_len);

    let elements = match ctx.keys.peek(argv[1])? {
        None => Vec::new(),
        Some(e) => load_source(e.value(), o.dont_sort, o.desc)?,
    };
    let mut items: Vec<Item> =
        elements.into_iter().map(|element| Item { element, score: 0.0, by_value: None }).collect();

    let mut conversion_error = false;
    if !o.dont_sort {
        for item in &mut items {
            let weight = match o.by {
                Some(pattern) => match lookup_by_pattern(ctx, pattern, &item.element)? {
                    Some(w) => w,
                    None => continue,
                },
                None => {
                    if !o.alpha {
                        match sort_score(&item.element) {
                            Some(s) => item.score = s,
                            None => conversion_error = true,
                        }
                    }
                    continue;
                }
            };
            if o.alpha {
                item.by_value = Some(weight);
            } else {
                match sort_score(&weight) {
                    Some(s) => item.score = s,
                    None => conversion_error = true,
                }
            }
        }
        let by_pattern = o.by.is_some();
        let binary = o.store.is_some();
        let (alpha, desc) = (o.alpha, o.desc);
        items.sort_by(|a, b| {
            let cmp = compare(a, b, alpha, by_pattern, binary);
            if desc {
                cmp.reverse()
            } else {
                cmp
            }
        });
    }

    if conversion_error {
        return Err(Error::err("One or more scores can't be converted into double"));
    }
    let selected: &[Item] = if end >= start { &items[start as usize..=end as usize] } else { &[] };
    let output_len = if o.gets.is_empty() { selected.len() } else { selected.len() * o.gets.len() };
    // Each GET pattern multiplies the output: a client can ask for far more than the set
    // holds, so the output is bounded like any reply a client sizes (coll::ReplyBudget).
    let budget = ReplyBudget::new(ctx);
    match o.store {
        None => {
            ctx.out.array(output_len);
            for item in selected {
                if o.gets.is_empty() {
                    ctx.out.bulk(&item.element);
                }
                for pattern in &o.gets {
                    match lookup_by_pattern(ctx, pattern, &item.element)? {
                        Some(v) => ctx.out.bulk(&v),
                        None => ctx.out.null(),
                    }
                    if budget.exceeded(ctx.out) {
                        budget.abandon(ctx.out, ctx.client);
                        return Ok(());
                    }
                }
            }
        }
        Some(dst) => {
            let mut values: Vec<Vec<u8>> = Vec::new();
            let mut bytes = 0usize;
            for item in selected {
                if o.gets.is_empty() {
                    values.push(item.element.clone());
                }
                // The elements alone are bounded by the set; GET values are what multiplies.
                for pattern in &o.gets {
                    let v = lookup_by_pattern(ctx, pattern, &item.element)?.unwrap_or_default();
                    bytes += v.len() + std::mem::size_of::<Vec<u8>>();
                    values.push(v);
                    if bytes > budget.limit() {
                        budget.abandon(ctx.out, ctx.client);
                        return Ok(());
                    }
                }
            }
            store_result(ctx, dst, values)?;
            ctx.out.int(output_len as i64);
        }
    }
    Ok(())
}

/// Valkey's LIMIT arithmetic over `len` elements: the inclusive range `start..=end` to output
/// (`end < start` when nothing is).
fn limit_range(limit_start: i64, limit_count: i64, len: i64) -> (i64, i64) {
    let mut start = limit_start.max(0).min(len);
    let count = limit_count.max(-1).min(len);
    let mut end = if count < 0 { len - 1 } else { start + count - 1 };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    (start, end)
}

/// Valkey's `sortCompare`: numeric by score with ties broken by the elements' bytes; ALPHA by
/// the BY values (a missing one first) or the elements, binary when storing and by `strcoll`
/// otherwise (the C locale's byte order up to a NUL: Kvasir does not follow `LC_COLLATE`).
fn compare(a: &Item, b: &Item, alpha: bool, by_pattern: bool, binary: bool) -> Ordering {
    let text = |x: &[u8], y: &[u8]| if binary { x.cmp(y) } else { c_str(x).cmp(c_str(y)) };
    if !alpha {
        return match a.score.partial_cmp(&b.score) {
            Some(Ordering::Equal) | None => a.element.cmp(&b.element),
            Some(o) => o,
        };
    }
    if by_pattern {
        return match (&a.by_value, &b.by_value) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => text(x, y),
        };
    }
    text(&a.element, &b.element)
}

/// Valkey's `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` is
/// replaced by the element to name a key, whose string value is returned, or, when the
/// pattern continues with `->field` after the `*`, that field of the hash at the key. `None`
/// when there is no `*`, no such key, a key of the wrong type, or no such field. C string
/// semantics where Valkey has them: a NUL ends the pattern for finding `*` and `->`.
fn lookup_by_pattern(ctx: &mut Ctx, pattern: &[u8], element: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let c_pattern = c_str(pattern);
    if c_pattern == b"#" {
        return Ok(Some(element.to_vec()));
    }
    let Some(star) = c_pattern.iter().position(|&b| b == b'*') else {
        return Ok(None);
    };
    let after_star = &c_pattern[star + 1..];
    let field = after_star
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&arrow| arrow + 2 < after_star.len())
        .map(|arrow| &pattern[star + 1 + arrow + 2..]);
    let suffix_len = pattern.len() - star - 1 - field.map_or(0, |f| f.len() + 2);
    let mut key = Vec::with_capacity(pattern.len() + element.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(&pattern[star + 1..star + 1 + suffix_len]);
    let Some(entry) = ctx.keys.read(&key)? else {
        return Ok(None);
    };
    Ok(match (entry.value(), field) {
        (ValueRef::Str(s), None) => Some(s.to_vec()),
        (ValueRef::Hash(h), Some(f)) => h.get(f).map(|v| v.to_vec()),
        _ => None,
    })
}

// ---- Sources: one function per type ----

/// The number of elements of a sortable value, and whether it is a set. WRONGTYPE for the
/// types SORT does not take.
fn source_len(v: ValueRef<'_>) -> Result<(usize, bool), Error> {
    match v {
        ValueRef::Set(s) => Ok((s.len(), true)),
        ValueRef::List(l) => Ok((l.len(), false)),
        ValueRef::ZSet(z) => Ok((z.len(), false)),
        ValueRef::Str(_) | ValueRef::Hash(_) | ValueRef::Stream(_) => Err(errors::WRONGTYPE),
    }
}

/// The elements of a sortable value, in its own order. A set ignores DESC when not sorting
/// (it has no order to reverse); lists and sorted sets, when not sorting, come in their native
/// order reversed for DESC (Valkey walks them from the tail), and the LIMIT range is then cut
/// from that as from any other vector.
fn load_source(v: ValueRef<'_>, dont_sort: bool, desc: bool) -> Result<Vec<Vec<u8>>, Error> {
    let reverse = dont_sort && desc;
    match v {
        ValueRef::Set(s) => Ok(set_elements(s)),
        ValueRef::List(l) => {
            let mut out = Vec::with_capacity(l.len());
            let first = if reverse { l.len().saturating_sub(1) } else { 0 };
            l.walk(first, reverse, |e| {
                out.push(e.to_vec());
                std::ops::ControlFlow::Continue(())
            });
            Ok(out)
        }
        ValueRef::ZSet(z) => {
            let mut out = Vec::with_capacity(z.len());
            let first = if reverse { z.len().saturating_sub(1) } else { 0 };
            z.walk(first, reverse, |m, _| {
                out.push(m.to_vec());
                true
            });
            Ok(out)
        }
        ValueRef::Str(_) | ValueRef::Hash(_) | ValueRef::Stream(_) => Err(errors::WRONGTYPE),
    }
}

fn set_elements(s: SetRef<'_>) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    s.for_each(|m| out.push(m.to_vec()));
    out
}

// ---- STORE ----

/// Stores the result as a list at `dst` with the `sortstore` event, or deletes `dst` when the
/// result is empty (with `del`), as Valkey does. Valkey counts one change per stored element.
fn store_result(ctx: &mut Ctx, dst: &[u8], values: Vec<Vec<u8>>) -> CmdResult {
    if values.is_empty() {
        if let Some(old) = ctx.keys.remove_ignoring_ttl(dst)? {
            ctx.engine.lazy_free(old);
            ctx.keys.changed(dst, notify::GENERIC, "del");
        }
        return Ok(());
    }
    let n = values.len() as u64;
    store_list(ctx, dst, values)?;
    let before = ctx.keys.effects.dirty;
    ctx.keys.changed(dst, notify::LIST, "sortstore");
    ctx.keys.effects.dirty = before + n;
    Ok(())
}

/// Creates the list at `dst` (replacing any value and TTL). The list type is being written on
/// its own branch; until it is merged there is no list value to store, and SORT ... STORE of a
/// non-empty result says so rather than store something else.
fn store_list(ctx: &mut Ctx, dst: &[u8], values: Vec<Vec<u8>>) -> CmdResult {
    let limits = ctx.engine.config.hot.list_limits();
    let mut list = List::new();
    let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    list.push_all(&refs, false, limits);
    ctx.keys.set(dst, Value::List(list), Ttl::Clear)
}

#[cfg(test)]
#[path = "sort_tests.rs"]
mod tests;
