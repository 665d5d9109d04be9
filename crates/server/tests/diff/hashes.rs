//! The hash family: HSET HSETNX HGET HMGET HMSET HDEL HLEN HSTRLEN HEXISTS HKEYS HVALS HGETALL
//! HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN, on the shared key set that also holds strings and
//! sets (so WRONGTYPE paths run), in RESP2 and RESP3, with wrong-arity and syntax-error
//! variants. HRANDFIELD replies are compared by shape and membership (random.rs).

use crate::vocab::*;
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "HSET",
    "HSETNX",
    "HGET",
    "HMGET",
    "HMSET",
    "HDEL",
    "HLEN",
    "HSTRLEN",
    "HEXISTS",
    "HKEYS",
    "HVALS",
    "HGETALL",
    "HINCRBY",
    "HINCRBYFLOAT",
    "HRANDFIELD",
    "HSCAN",
];

/// Field names: a few short ones (so writes collide), integers, the empty field, binary, and
/// one longer than `hash-max-listpack-value` (64) to force the table encoding.
pub fn field() -> G {
    let mut list: Vec<Vec<u8>> =
        [&b"f"[..], b"g", b"h", b"1", b"-7", b"", b"a:b", b"\x00\xff"].iter().map(|s| s.to_vec()).collect();
    list.push(b"long-field-".iter().copied().cycle().take(70).collect());
    proptest::sample::select(list).prop_map(|f| vec![f]).boxed()
}

/// Field/value pairs.
fn pairs(min: usize, max: usize) -> G {
    rep(seq(vec![field(), val()]), min, max)
}

/// A count for SRANDMEMBER / HRANDFIELD: small ones of both signs, zero, and the edges that
/// are errors or bounded by the size (a huge negative count asks for that many elements:
/// Redis 7.0 would build the reply until memory runs out, kvasir drops the client at its
/// output limit; unit tests cover that).
pub fn random_count() -> G {
    prop_oneof![
        8 => (-12i64..12).prop_map(|i| vec![i.to_string().into_bytes()]).boxed(),
        1 => kw_of(&["-9223372036854775808", "9223372036854775807", "x"]),
    ]
    .boxed()
}

/// HRANDFIELD ... WITHVALUES counts: also the edges of the halved range, which are errors.
fn withvalues_count() -> G {
    prop_oneof![4 => random_count(), 1 => kw_of(&["-4611686018427387904", "4611686018427387904"])].boxed()
}

/// HSCAN/SSCAN options: a complete iteration in one call (COUNT at least the size of any
/// collection the sequences build, so that table cursors, which differ between servers, never
/// show), MATCH patterns, and invalid counts.
pub fn scan_options(novalues: bool) -> G {
    let mut opts = vec![
        seq(vec![kw("COUNT"), kw_of(&["1000", "100000"])]),
        seq(vec![kw("COUNT"), kw_of(&["0", "-1", "x"])]),
        seq(vec![kw("MATCH"), kw_of(&["*", "f*", "?", "[a-g]*", "*1*", "x"])]),
        kw_of(&["MATCH", "COUNT", "TYPE"]),
    ];
    if novalues {
        opts.push(kw("NOVALUES"));
    }
    rep(proptest::strategy::Union::new(opts).boxed(), 0, 2)
}

/// The cursor of a complete iteration, and invalid ones.
pub fn scan_cursor() -> G {
    prop_oneof![6 => kw("0"), 1 => kw_of(&["x", "-1x", ""])].boxed()
}

/// Commands that put hashes into the keyspace; the other families reuse them.
pub fn writes() -> BoxedStrategy<Cmd> {
    one_of(vec![(3, cmd(vec![kw("HSET"), key(), pairs(1, 3)])), (1, cmd(vec![kw("HINCRBY"), key(), field(), int()]))])
}

pub fn commands() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (4, crate::strings::writes()),
        (2, crate::sets::writes()),
        (6, cmd(vec![kw("HSET"), key(), pairs(1, 3)])),
        (1, cmd(vec![kw("HSET"), key(), field()])),
        (1, cmd(vec![kw("HSET"), key(), pairs(1, 2), field()])),
        (2, cmd(vec![kw("HMSET"), key(), pairs(1, 2), maybe(field())])),
        (2, cmd(vec![kw("HSETNX"), key(), field(), val()])),
        (4, cmd(vec![kw("HGET"), key(), field()])),
        (2, cmd(vec![kw("HMGET"), key(), rep(field(), 1, 3)])),
        (3, cmd(vec![kw("HDEL"), key(), rep(field(), 1, 3)])),
        (2, cmd(vec![kw("HLEN"), key()])),
        (2, cmd(vec![kw("HSTRLEN"), key(), field()])),
        (2, cmd(vec![kw("HEXISTS"), key(), field()])),
        (3, cmd(vec![kw_of(&["HKEYS", "HVALS", "HGETALL"]), key()])),
        (3, cmd(vec![kw("HINCRBY"), key(), field(), int()])),
        (3, cmd(vec![kw("HINCRBYFLOAT"), key(), field(), float()])),
        (2, cmd(vec![kw("HRANDFIELD"), key()])),
        (2, cmd(vec![kw("HRANDFIELD"), key(), random_count()])),
        (2, cmd(vec![kw("HRANDFIELD"), key(), withvalues_count(), kw("WITHVALUES")])),
        (1, cmd(vec![kw("HRANDFIELD"), key(), random_count(), kw_of(&["WITHSCORES", "WITHVALUES"]), any_arg()])),
        (3, cmd(vec![kw("HSCAN"), key(), scan_cursor(), scan_options(true)])),
        (1, cmd(vec![kw("HELLO"), kw_of(&["2", "3"])])),
        (1, cmd(vec![kw_of(&["DEL", "TYPE"]), key()])),
        (3, garbage(NAMES)),
    ])
}

#[test]
fn random_sequences() {
    crate::runner::run_family("hashes", commands());
}
