//! The sorted set family: ZADD and every other Z* command, plus the blocking pops.
//!
//! This file holds the command table and what the handlers share (looking a sorted set up
//! with Valkey's type checks, reporting changes). The handlers live by theme in `zsets/`:
//! `basic.rs` (add, remove, scores, ranks, counts, random members, ZSCAN), `range.rs` (ZRANGE
//! and its variants, ZRANGESTORE), `setops.rs` (ZUNION, ZINTER, ZDIFF and their STORE forms,
//! ZINTERCARD) and `pop.rs` (ZPOPMIN/MAX, ZMPOP and the blocking BZPOPMIN/MAX, BZMPOP). They
//! follow Valkey's `t_zset.c` step by step where the order is observable: which error wins,
//! which lookups count as keyspace hits, which events fire in which order.

mod basic;
/// GEOADD runs through ZADD, as in Valkey.
pub(crate) use basic::zadd;
mod pop;
mod range;
mod setops;
#[cfg(test)]
mod tests;

use super::table::{acl, doc_flags, flags::*, keyflags, BeginSearch, Command, Doc, DocMeta, FindKeys, KeySpec, Lock};
use super::{errors, CmdResult, Ctx, Error};
use crate::db::{Keys, Ttl};
use crate::notify;
use crate::types::zset::{ZSet, ZSetLimits, ZSetRef};
use crate::types::{Value, ValueRef};

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "sorted_set", complexity, syntax }
}

const RO_ACCESS: &[KeySpec] = &[KeySpec::single(1, keyflags::RO | keyflags::ACCESS)];
const RW_DELETE: &[KeySpec] = &[KeySpec::single(1, keyflags::RW | keyflags::DELETE)];
const RW_ACCESS_DELETE: &[KeySpec] = &[KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::DELETE)];
/// `numkeys key [key ...]` from argument 1, read.
const NUMKEYS_RO: &[KeySpec] = &[KeySpec::keynum(1, keyflags::RO | keyflags::ACCESS)];
/// `destination numkeys key [key ...]`.
const STORE_NUMKEYS: &[KeySpec] =
    &[KeySpec::single(1, keyflags::OW | keyflags::UPDATE), KeySpec::keynum(2, keyflags::RO | keyflags::ACCESS)];
/// `key [key ...] timeout`.
const BLOCKING_KEYS: &[KeySpec] = &[KeySpec {
    flags: keyflags::RW | keyflags::ACCESS | keyflags::DELETE,
    begin: BeginSearch::Index(1),
    find: FindKeys::Range { lastkey: -2, step: 1, limit: 0 },
    notes: "",
}];

const RANGE_COMPLEXITY: &str =
    "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.";
const RANGE_BY_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the \
number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you \
can consider it O(log(N)).";
const REMRANGE_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the \
number of elements removed by the operation.";
const POP_COMPLEXITY: &str =
    "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.";
const MPOP_COMPLEXITY: &str = "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of \
elements in the sorted set, and M being the number of elements popped.";
const UNION_COMPLEXITY: &str = "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M \
being the number of elements in the resulting sorted set.";
const UNIONSTORE_COMPLEXITY: &str = "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, \
and M being the number of elements in the resulting sorted set.";
const INTER_COMPLEXITY: &str = "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being \
the number of input sorted sets and M being the number of elements in the resulting sorted set.";
const DIFF_COMPLEXITY: &str = "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the \
sets, N is the size of the first set, and K is the size of the result set.";

/// A sorted set command with what every one of them shares.
const fn zcmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: &'static [KeySpec],
    handler: super::table::Handler,
    doc: Doc,
) -> Command {
    Command {
        name,
        arity,
        flags,
        acl: acl::SORTEDSET,
        keys,
        lock: Lock::Keys,
        handler: Some(handler),
        doc,
        ..Command::DEFAULT
    }
}

pub static COMMANDS: &[Command] = &[
    Command {
        doc_meta: DocMeta { history: &[("2.4.0", "Accepts multiple elements."), ("3.0.2", "Added the `XX`, `NX`, `CH` and `INCR` options."), ("6.2.0", "Added the `GT` and `LT` options.")], ..DocMeta::NONE },
        ..zcmd(
            "zadd",
            -4,
            WRITE | DENYOOM | FAST,
            &[KeySpec::single(1, keyflags::RW | keyflags::UPDATE)],
            basic::zadd,
            doc(
                "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.",
                "1.2.0",
                "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
                "key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]",
            ),
        )
    },
    zcmd(
        "zincrby",
        4,
        WRITE | DENYOOM | FAST,
        &[KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::UPDATE)],
        basic::zincrby,
        doc(
            "Increments the score of a member in a sorted set.",
            "1.2.0",
            "O(log(N)) where N is the number of elements in the sorted set.",
            "key increment member",
        ),
    ),
    Command {
        doc_meta: DocMeta { history: &[("2.4.0", "Accepts multiple elements.")], ..DocMeta::NONE },
        ..zcmd(
            "zrem",
            -3,
            WRITE | FAST,
            RW_DELETE,
            basic::zrem,
            doc(
                "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.",
                "1.2.0",
                "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.",
                "key member [member ...]",
            ),
        )
    },
    zcmd(
        "zcard",
        2,
        READONLY | FAST,
        &[KeySpec::single(1, keyflags::RO)],
        basic::zcard,
        doc("Returns the number of members in a sorted set.", "1.2.0", "O(1)", "key"),
    ),
    zcmd(
        "zscore",
        3,
        READONLY | FAST,
        RO_ACCESS,
        basic::zscore,
        doc("Returns the score of a member in a sorted set.", "1.2.0", "O(1)", "key member"),
    ),
    zcmd(
        "zmscore",
        -3,
        READONLY | FAST,
        RO_ACCESS,
        basic::zmscore,
        doc(
            "Returns the score of one or more members in a sorted set.",
            "6.2.0",
            "O(N) where N is the number of members being requested.",
            "key member [member ...]",
        ),
    ),
    Command {
        doc_meta: DocMeta { history: &[("7.2.0", "Added the optional `WITHSCORE` argument.")], ..DocMeta::NONE },
        ..zcmd(
            "zrank",
            -3,
            READONLY | FAST,
            RO_ACCESS,
            basic::zrank,
            doc(
                "Returns the index of a member in a sorted set ordered by ascending scores.",
                "2.0.0",
                "O(log(N))",
                "key member [WITHSCORE]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { history: &[("7.2.0", "Added the optional `WITHSCORE` argument.")], ..DocMeta::NONE },
        ..zcmd(
            "zrevrank",
            -3,
            READONLY | FAST,
            RO_ACCESS,
            basic::zrevrank,
            doc(
                "Returns the index of a member in a sorted set ordered by descending scores.",
                "2.0.0",
                "O(log(N))",
                "key member [WITHSCORE]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { history: &[("6.2.0", "Added the `REV`, `BYSCORE`, `BYLEX` and `LIMIT` options.")], ..DocMeta::NONE },
        ..zcmd(
            "zrange",
            -4,
            READONLY,
            RO_ACCESS,
            range::zrange,
            doc(
                "Returns members in a sorted set within a range of indexes.",
                "1.2.0",
                RANGE_COMPLEXITY,
                "key start:string stop:string [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]",
            ),
        )
    },
    zcmd(
        "zrangestore",
        -5,
        WRITE | DENYOOM,
        &[KeySpec::single(1, keyflags::OW | keyflags::UPDATE), KeySpec::single(2, keyflags::RO | keyflags::ACCESS)],
        range::zrangestore,
        doc(
            "Stores a range of members from sorted set in a key.",
            "6.2.0",
            "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.",
            "dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]",
        ),
    ),
    Command {
        doc_meta: DocMeta { flags: doc_flags::DEPRECATED, deprecated_since: "6.2.0", replaced_by: "`ZRANGE` with the `BYSCORE` argument", history: &[("2.0.0", "Added the `WITHSCORES` modifier.")] },
        ..zcmd(
            "zrangebyscore",
            -4,
            READONLY,
            RO_ACCESS,
            range::zrangebyscore,
            doc(
                "Returns members in a sorted set within a range of scores.",
                "1.0.5",
                RANGE_BY_COMPLEXITY,
                "key min:double max:double [WITHSCORES] [LIMIT offset count]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { flags: doc_flags::DEPRECATED, deprecated_since: "6.2.0", replaced_by: "`ZRANGE` with the `REV` and `BYSCORE` arguments", history: &[("2.1.6", "`min` and `max` can be exclusive.")] },
        ..zcmd(
            "zrevrangebyscore",
            -4,
            READONLY,
            RO_ACCESS,
            range::zrevrangebyscore,
            doc(
                "Returns members in a sorted set within a range of scores in reverse order.",
                "2.2.0",
                RANGE_BY_COMPLEXITY,
                "key max:double min:double [WITHSCORES] [LIMIT offset count]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { flags: doc_flags::DEPRECATED, deprecated_since: "6.2.0", replaced_by: "`ZRANGE` with the `BYLEX` argument", history: &[] },
        ..zcmd(
            "zrangebylex",
            -4,
            READONLY,
            RO_ACCESS,
            range::zrangebylex,
            doc(
                "Returns members in a sorted set within a lexicographical range.",
                "2.8.9",
                RANGE_BY_COMPLEXITY,
                "key min max [LIMIT offset count]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { flags: doc_flags::DEPRECATED, deprecated_since: "6.2.0", replaced_by: "`ZRANGE` with the `REV` and `BYLEX` arguments", history: &[] },
        ..zcmd(
            "zrevrangebylex",
            -4,
            READONLY,
            RO_ACCESS,
            range::zrevrangebylex,
            doc(
                "Returns members in a sorted set within a lexicographical range in reverse order.",
                "2.8.9",
                RANGE_BY_COMPLEXITY,
                "key max min [LIMIT offset count]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { flags: doc_flags::DEPRECATED, deprecated_since: "6.2.0", replaced_by: "`ZRANGE` with the `REV` argument", history: &[] },
        ..zcmd(
            "zrevrange",
            -4,
            READONLY,
            RO_ACCESS,
            range::zrevrange,
            doc(
                "Returns members in a sorted set within a range of indexes in reverse order.",
                "1.2.0",
                RANGE_COMPLEXITY,
                "key start stop [WITHSCORES]",
            ),
        )
    },
    zcmd(
        "zcount",
        4,
        READONLY | FAST,
        RO_ACCESS,
        basic::zcount,
        doc(
            "Returns the count of members in a sorted set that have scores within a range.",
            "2.0.0",
            "O(log(N)) with N being the number of elements in the sorted set.",
            "key min:double max:double",
        ),
    ),
    zcmd(
        "zlexcount",
        4,
        READONLY | FAST,
        RO_ACCESS,
        basic::zlexcount,
        doc(
            "Returns the number of members in a sorted set within a lexicographical range.",
            "2.8.9",
            "O(log(N)) with N being the number of elements in the sorted set.",
            "key min max",
        ),
    ),
    zcmd(
        "zremrangebyrank",
        4,
        WRITE,
        RW_DELETE,
        basic::zremrangebyrank,
        doc(
            "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.",
            "2.0.0",
            REMRANGE_COMPLEXITY,
            "key start stop",
        ),
    ),
    zcmd(
        "zremrangebyscore",
        4,
        WRITE,
        RW_DELETE,
        basic::zremrangebyscore,
        doc(
            "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.",
            "1.2.0",
            REMRANGE_COMPLEXITY,
            "key min:double max:double",
        ),
    ),
    zcmd(
        "zremrangebylex",
        4,
        WRITE,
        RW_DELETE,
        basic::zremrangebylex,
        doc(
            "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.",
            "2.8.9",
            REMRANGE_COMPLEXITY,
            "key min max",
        ),
    ),
    zcmd(
        "zpopmin",
        -2,
        WRITE | FAST,
        RW_ACCESS_DELETE,
        pop::zpopmin,
        doc(
            "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
            "5.0.0",
            POP_COMPLEXITY,
            "key [count]",
        ),
    ),
    zcmd(
        "zpopmax",
        -2,
        WRITE | FAST,
        RW_ACCESS_DELETE,
        pop::zpopmax,
        doc(
            "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
            "5.0.0",
            POP_COMPLEXITY,
            "key [count]",
        ),
    ),
    Command {
        doc_meta: DocMeta { history: &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")], ..DocMeta::NONE },
        ..zcmd(
            "bzpopmin",
            -3,
            WRITE | FAST | BLOCKING,
            BLOCKING_KEYS,
            pop::bzpopmin,
            doc(
                "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
                "5.0.0",
                "O(log(N)) with N being the number of elements in the sorted set.",
                "key [key ...] timeout",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { history: &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")], ..DocMeta::NONE },
        ..zcmd(
            "bzpopmax",
            -3,
            WRITE | FAST | BLOCKING,
            BLOCKING_KEYS,
            pop::bzpopmax,
            doc(
                "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.",
                "5.0.0",
                "O(log(N)) with N being the number of elements in the sorted set.",
                "key [key ...] timeout",
            ),
        )
    },
    zcmd(
        "zmpop",
        -4,
        WRITE,
        &[KeySpec::keynum(1, keyflags::RW | keyflags::ACCESS | keyflags::DELETE)],
        pop::zmpop,
        doc(
            "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.",
            "7.0.0",
            MPOP_COMPLEXITY,
            "numkeys key [key ...] <MIN | MAX> [COUNT count]",
        ),
    ),
    zcmd(
        "bzmpop",
        -5,
        WRITE | BLOCKING,
        &[KeySpec::keynum(2, keyflags::RW | keyflags::ACCESS | keyflags::DELETE)],
        pop::bzmpop,
        doc(
            "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
            "7.0.0",
            MPOP_COMPLEXITY,
            "timeout numkeys key [key ...] <MIN | MAX> [COUNT count]",
        ),
    ),
    zcmd(
        "zunion",
        -3,
        READONLY,
        NUMKEYS_RO,
        setops::zunion,
        doc(
            "Returns the union of multiple sorted sets.",
            "6.2.0",
            UNION_COMPLEXITY,
            "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]",
        ),
    ),
    zcmd(
        "zinter",
        -3,
        READONLY,
        NUMKEYS_RO,
        setops::zinter,
        doc(
            "Returns the intersect of multiple sorted sets.",
            "6.2.0",
            INTER_COMPLEXITY,
            "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]",
        ),
    ),
    zcmd(
        "zdiff",
        -3,
        READONLY,
        NUMKEYS_RO,
        setops::zdiff,
        doc("Returns the difference between multiple sorted sets.", "6.2.0", DIFF_COMPLEXITY, "numkeys key [key ...] [WITHSCORES]"),
    ),
    zcmd(
        "zunionstore",
        -4,
        WRITE | DENYOOM,
        STORE_NUMKEYS,
        setops::zunionstore,
        doc(
            "Stores the union of multiple sorted sets in a key.",
            "2.0.0",
            UNIONSTORE_COMPLEXITY,
            "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]",
        ),
    ),
    zcmd(
        "zinterstore",
        -4,
        WRITE | DENYOOM,
        STORE_NUMKEYS,
        setops::zinterstore,
        doc(
            "Stores the intersect of multiple sorted sets in a key.",
            "2.0.0",
            INTER_COMPLEXITY,
            "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]",
        ),
    ),
    zcmd(
        "zdiffstore",
        -4,
        WRITE | DENYOOM,
        STORE_NUMKEYS,
        setops::zdiffstore,
        doc(
            "Stores the difference of multiple sorted sets in a key.",
            "6.2.0",
            DIFF_COMPLEXITY,
            "destination numkeys key [key ...]",
        ),
    ),
    zcmd(
        "zintercard",
        -3,
        READONLY,
        NUMKEYS_RO,
        setops::zintercard,
        doc(
            "Returns the number of members of the intersect of multiple sorted sets.",
            "7.0.0",
            "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
            "numkeys key [key ...] [LIMIT limit]",
        ),
    ),
    Command {
        tips: &["nondeterministic_output"],
        ..zcmd(
            "zrandmember",
            -2,
            READONLY,
            RO_ACCESS,
            basic::zrandmember,
            doc(
                "Returns one or more random members from a sorted set.",
                "6.2.0",
                "O(N) where N is the number of members returned",
                "key [count [WITHSCORES]]",
            ),
        )
    },
    Command {
        tips: &["nondeterministic_output"],
        doc_meta: DocMeta { history: &[("8.0.0", "Added noscores option.")], ..DocMeta::NONE },
        ..zcmd(
            "zscan",
            -3,
            READONLY,
            RO_ACCESS,
            basic::zscan,
            doc(
                "Iterates over members and scores of a sorted set.",
                "2.8.0",
                "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
                "key cursor [MATCH pattern] [COUNT count] [NOSCORES]",
            ),
        )
    },
];

/// The configured encoding limits.
fn limits(ctx: &Ctx) -> ZSetLimits {
    ctx.engine.config.hot.zset_limits()
}

/// Looks a sorted set up for reading (`lookupKeyRead` + `checkType`): `None` if the key is
/// missing, WRONGTYPE if it holds something else.
fn read_zset<'k>(keys: &'k mut Keys<'_>, key: &[u8]) -> Result<Option<ZSetRef<'k>>, Error> {
    keys.read_as(key, ValueRef::zset)
}

/// Reports a change of `key` with `event`, counting `changes` in `dirty` as Valkey's
/// `server.dirty += n` does (`Keys::changed` counts one).
fn changed(keys: &mut Keys<'_>, key: &[u8], event: &'static str, changes: usize) {
    keys.changed(key, notify::ZSET, event);
    keys.effects.dirty += (changes as u64).saturating_sub(1);
}

/// How the STORE commands end (Valkey's `setKey` / `dbDelete`): `dst` holds the result,
/// replacing whatever it held (an expired `dst` is expired first, as the lookup in `setKey`
/// does), and `event` is reported; or, for an empty result, `dst` is deleted, TTL or not. The
/// reply is the result's size.
fn store_result(ctx: &mut Ctx, dst: &[u8], z: Option<ZSet>, event: &'static str) -> CmdResult {
    match z.filter(|z| !z.is_empty()) {
        Some(z) => {
            let n = z.len();
            ctx.keys.write(dst)?;
            ctx.keys.set(dst, Value::ZSet(z), Ttl::Clear)?;
            ctx.keys.changed(dst, notify::ZSET, event);
            ctx.out.int(n as i64);
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

/// `ERR value is out of range, value must between <min> and <max>` (Valkey's
/// `getRangeLongFromObjectOrReply` with no message of its own).
fn range_error(min: i64, max: i64) -> Error {
    Error::err(format!("value is out of range, value must between {min} and {max}"))
}

/// Valkey's `getPositiveLongFromObjectOrReply` with its default message, which it gives for a
/// non-integer too.
fn positive_arg(a: &[u8]) -> Result<i64, Error> {
    resp::number::parse_i64(a).filter(|v| *v >= 0).ok_or(errors::POSITIVE)
}

/// `getRangeLongFromObjectOrReply(min, max, msg)`: `msg` for a non-integer or out-of-range
/// value alike.
fn ranged_arg(a: &[u8], min: i64, max: i64, msg: &'static str) -> Result<i64, Error> {
    resp::number::parse_i64(a).filter(|v| (min..=max).contains(v)).ok_or_else(|| Error::err(msg))
}
