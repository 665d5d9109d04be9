//! The sorted set family: ZADD (all options) ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK
//! ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES) ZRANGESTORE ZRANGEBYSCORE ZREVRANGEBYSCORE
//! ZRANGEBYLEX ZREVRANGEBYLEX ZREVRANGE ZCOUNT ZLEXCOUNT ZREMRANGEBYRANK/SCORE/LEX ZPOPMIN
//! ZPOPMAX ZMPOP ZUNION ZINTER ZDIFF and their STORE forms ZINTERCARD ZRANDMEMBER ZSCAN, on keys
//! that also hold strings, in RESP2 and RESP3, in both encodings (CONFIG SET flips the
//! listpack limits), with wrong-arity and syntax-error variants.
//!
//! What is left out, and why:
//! - lexicographic ranges run on their own keys (`lex:*`), only ever written with score 0:
//!   on members with different scores Valkey leaves them undefined, and a skiplist answers by
//!   the random heights of its nodes;
//! - ZRANDMEMBER only in its deterministic forms (a count of 0, or at least the set's size,
//!   which returns the whole set from the highest score down) and its errors (so not in the
//!   random-argument variants either);
//! - LIMIT with a negative offset, and ZRANK/ZREVRANK WITHSCORE (Redis 7.2): see
//!   known_differences.rs;
//! - the blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP): they need the server's blocking wiring;
//! - a score of -0 given to ZADD or ZINCRBY. Valkey 8 sizes a new or growing set by what a ZADD
//!   announces (`zsetTypeCreate`, `zsetTypeMaybeConvert`: ZADD of 3 pairs with
//!   zset-max-listpack-entries 2 makes a skiplist even if two of them name the same member);
//!   Redis 7.0 by its first member and then element by element. The encodings can then differ,
//!   which replies show only through ZSCAN's order (aligned in compare.rs) and -0: a listpack
//!   stores it as the integer 0 (src/t_zset.c zzlInsertAt, double2ll), a skiplist keeps -0.
//!   Products of WEIGHTS (0 × -1) still make -0, but only in results whose encoding both
//!   versions choose alike (`zsetConvertToListpackIfNeeded`).

use crate::vocab::*;
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "ZADD",
    "ZINCRBY",
    "ZREM",
    "ZCARD",
    "ZSCORE",
    "ZMSCORE",
    "ZRANK",
    "ZREVRANK",
    "ZRANGE",
    "ZRANGESTORE",
    "ZRANGEBYSCORE",
    "ZREVRANGEBYSCORE",
    "ZRANGEBYLEX",
    "ZREVRANGEBYLEX",
    "ZREVRANGE",
    "ZCOUNT",
    "ZLEXCOUNT",
    "ZREMRANGEBYRANK",
    "ZREMRANGEBYSCORE",
    "ZREMRANGEBYLEX",
    "ZPOPMIN",
    "ZPOPMAX",
    "ZMPOP",
    "ZUNION",
    "ZINTER",
    "ZDIFF",
    "ZUNIONSTORE",
    "ZINTERSTORE",
    "ZDIFFSTORE",
    "ZINTERCARD",
    "ZSCAN",
];

fn words(list: &'static [&'static str]) -> G {
    proptest::sample::select(list).prop_map(|w| vec![w.as_bytes().to_vec()]).boxed()
}

fn member() -> G {
    proptest::sample::select(vec![
        b"a".to_vec(),
        b"b".to_vec(),
        b"c".to_vec(),
        b"d".to_vec(),
        b"e".to_vec(),
        b"10".to_vec(),
        b"-1".to_vec(),
        Vec::new(),
        b"\x00x\r\n".to_vec(),
        b"foo".to_vec(),
    ])
    .prop_map(|m| vec![m])
    .boxed()
}

/// Scores: integers, fractions exact in binary and not (0.1: its %.17g text is not Valkey's),
/// infinities, strtod's other spellings, and invalid ones. Not -0: see the module
/// documentation.
fn score() -> G {
    prop_oneof![
        10 => words(&["0", "1", "-1", "2", "1.5", "2.5", "0.1", "0.3", "3", "1e3", "inf", "-inf", "+inf", "0x10", "5", "-2.25"]),
        1 => words(&["x", "nan", "", " 1", "1e400", "1 "]),
    ]
    .boxed()
}

fn score_bound() -> G {
    prop_oneof![
        10 => words(&["-inf", "+inf", "(1", "1", "2", "(2.5", "0", "(0", "0.1", "3", "(5", "-1"]),
        1 => words(&["x", "((1", "[1", "(", "", "nan"]),
    ]
    .boxed()
}

fn lex_bound() -> G {
    prop_oneof![
        10 => words(&["-", "+", "[a", "(b", "[c", "(e", "[", "(", "[10", "(foo", "[d"]),
        1 => words(&["a", "+x", "", "-a"]),
    ]
    .boxed()
}

/// Keys that only ever hold members with score 0, for lexicographic ranges.
fn lex_key() -> G {
    words(&["lex:1", "lex:2"])
}

/// LIMIT offset count (never a negative offset; see the module documentation).
fn limit() -> G {
    seq(vec![kw("LIMIT"), words(&["0", "1", "2", "5", "x"]), words(&["-1", "0", "1", "2", "10", "x"])])
}

fn zadd_options() -> G {
    rep(prop_oneof![6 => kw_of(&["NX", "XX", "GT", "LT", "CH", "INCR"]), 1 => kw("x")].boxed(), 0, 3)
}

fn pairs(min: usize, max: usize) -> G {
    rep(seq(vec![score(), member()]), min, max)
}

fn zrange_options(store: bool) -> G {
    let mut opts = vec![kw_of(&["BYSCORE", "REV"]).boxed(), limit()];
    if !store {
        opts.push(kw("WITHSCORES"));
    }
    rep(proptest::strategy::Union::new(opts).boxed(), 0, 3)
}

/// numkeys and that many keys (sometimes one too many or too few).
fn numkeys_and_keys() -> G {
    (1usize..=3, prop_oneof![8 => Just(0i64), 1 => Just(1), 1 => Just(-1)])
        .prop_flat_map(|(n, skew)| {
            let announced = (n as i64 + skew).to_string().into_bytes();
            seq(vec![Just(vec![announced]).boxed(), rep(key(), n, n)])
        })
        .boxed()
}

fn setop_options(weights: bool) -> G {
    let mut opts = vec![
        seq(vec![kw("AGGREGATE"), prop_oneof![6 => kw_of(&["SUM", "MIN", "MAX"]), 1 => kw("AVG")].boxed()]),
        kw("WITHSCORES"),
    ];
    if weights {
        opts.push(seq(vec![kw("WEIGHTS"), rep(words(&["1", "2", "0.5", "-1", "0", "inf", "x"]), 1, 3)]));
    }
    rep(proptest::strategy::Union::new(opts).boxed(), 0, 2)
}

/// Commands that put sorted sets in the keyspace.
pub fn writes() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (4, cmd(vec![kw("ZADD"), key(), pairs(1, 4)])),
        (1, cmd(vec![kw("ZINCRBY"), key(), score(), member()])),
        (1, cmd(vec![kw("ZADD"), lex_key(), rep(seq(vec![words(&["0"]), member()]), 1, 4)])),
    ])
}

pub fn commands() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (6, writes()),
        (2, crate::strings::writes()),
        (5, cmd(vec![kw("ZADD"), key(), zadd_options(), pairs(0, 3)])),
        (2, cmd(vec![kw("ZINCRBY"), key(), score(), member()])),
        (3, cmd(vec![kw("ZREM"), key(), rep(member(), 1, 3)])),
        (2, cmd(vec![kw("ZCARD"), key()])),
        (3, cmd(vec![kw("ZSCORE"), key(), member()])),
        (2, cmd(vec![kw("ZMSCORE"), key(), rep(member(), 1, 3)])),
        (2, cmd(vec![kw_of(&["ZRANK", "ZREVRANK"]), key(), member()])),
        (5, cmd(vec![kw("ZRANGE"), key(), index(), index(), zrange_options(false)])),
        (3, cmd(vec![kw("ZRANGE"), key(), score_bound(), score_bound(), kw("BYSCORE"), zrange_options(false)])),
        (
            2,
            cmd(vec![kw("ZRANGE"), lex_key(), lex_bound(), lex_bound(), kw("BYLEX"), maybe(kw("REV")), maybe(limit())]),
        ),
        (2, cmd(vec![kw("ZRANGESTORE"), key(), key(), index(), index(), zrange_options(true)])),
        (1, cmd(vec![kw("ZRANGESTORE"), key(), key(), score_bound(), score_bound(), kw("BYSCORE"), maybe(limit())])),
        (1, cmd(vec![kw("ZRANGESTORE"), lex_key(), lex_key(), lex_bound(), lex_bound(), kw("BYLEX")])),
        (
            3,
            cmd(vec![
                kw_of(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]),
                key(),
                score_bound(),
                score_bound(),
                maybe(kw("WITHSCORES")),
                maybe(limit()),
            ]),
        ),
        (2, cmd(vec![kw_of(&["ZRANGEBYLEX", "ZREVRANGEBYLEX"]), lex_key(), lex_bound(), lex_bound(), maybe(limit())])),
        (2, cmd(vec![kw("ZREVRANGE"), key(), index(), index(), maybe(kw("WITHSCORES"))])),
        (3, cmd(vec![kw("ZCOUNT"), key(), score_bound(), score_bound()])),
        (2, cmd(vec![kw("ZLEXCOUNT"), lex_key(), lex_bound(), lex_bound()])),
        (2, cmd(vec![kw("ZREMRANGEBYRANK"), key(), index(), index()])),
        (2, cmd(vec![kw("ZREMRANGEBYSCORE"), key(), score_bound(), score_bound()])),
        (1, cmd(vec![kw("ZREMRANGEBYLEX"), lex_key(), lex_bound(), lex_bound()])),
        (3, cmd(vec![kw_of(&["ZPOPMIN", "ZPOPMAX"]), key(), maybe(words(&["0", "1", "2", "10", "-1", "x"]))])),
        (
            2,
            cmd(vec![
                kw("ZMPOP"),
                numkeys_and_keys(),
                prop_oneof![6 => kw_of(&["MIN", "MAX"]), 1 => kw("x")].boxed(),
                maybe(seq(vec![kw("COUNT"), words(&["1", "2", "10", "0", "-1", "x"])])),
            ]),
        ),
        (3, cmd(vec![kw_of(&["ZUNION", "ZINTER"]), numkeys_and_keys(), setop_options(true)])),
        (2, cmd(vec![kw("ZDIFF"), numkeys_and_keys(), maybe(kw("WITHSCORES"))])),
        (3, cmd(vec![kw_of(&["ZUNIONSTORE", "ZINTERSTORE"]), key(), numkeys_and_keys(), setop_options(true)])),
        (1, cmd(vec![kw("ZDIFFSTORE"), key(), numkeys_and_keys()])),
        (
            2,
            cmd(vec![
                kw("ZINTERCARD"),
                numkeys_and_keys(),
                maybe(seq(vec![kw("LIMIT"), words(&["0", "1", "2", "-1", "x"])])),
            ]),
        ),
        (
            2,
            cmd(vec![
                kw("ZRANDMEMBER"),
                key(),
                prop_oneof![
                    6 => seq(vec![words(&["0", "100"]), maybe(kw("WITHSCORES"))]),
                    1 => words(&["-9223372036854775808", "x", ""]),
                    1 => seq(vec![words(&["-9223372036854775807", "4611686018427387904"]), kw("WITHSCORES")]),
                    1 => seq(vec![words(&["1"]), kw("x")]),
                ]
                .boxed(),
            ]),
        ),
        (
            2,
            cmd(vec![
                kw("ZSCAN"),
                key(),
                prop_oneof![8 => words(&["0"]), 1 => words(&["x", "-1"])].boxed(),
                rep(
                    prop_oneof![
                        seq(vec![kw("MATCH"), words(&["*", "[a-c]", "1*", "*o*"])]),
                        seq(vec![kw("COUNT"), words(&["100", "0", "x"])]),
                        kw("NOSCORES"),
                    ]
                    .boxed(),
                    0,
                    2,
                ),
            ]),
        ),
        // Encodings: a listpack up to N members of up to M bytes, skiplist beyond.
        (
            1,
            cmd(vec![
                kw("CONFIG"),
                kw("SET"),
                prop_oneof![
                    seq(vec![words(&["zset-max-listpack-entries"]), words(&["0", "1", "2", "128"])]),
                    seq(vec![words(&["zset-max-listpack-value"]), words(&["0", "1", "64"])]),
                ]
                .boxed(),
            ]),
        ),
        (1, cmd(vec![kw("HELLO"), kw_of(&["2", "3"])])),
        (1, cmd(vec![kw_of(&["DEL", "TYPE", "EXISTS"]), key()])),
        (2, garbage(NAMES)),
    ])
}

#[test]
fn random_sequences() {
    crate::runner::run_family("zsets", commands());
}
