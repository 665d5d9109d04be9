//! The list family: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP (with counts) LLEN LRANGE LINDEX LSET
//! LINSERT LREM LTRIM LPOS (RANK COUNT MAXLEN) LMOVE RPOPLPUSH LMPOP, and the blocking BLPOP
//! BRPOP BLMOVE BRPOPLPUSH BLMPOP, over the shared small key set mixed with strings so that
//! WRONGTYPE paths are taken, with wrong-arity and syntax-error variants.
//!
//! Blocking commands get a 10 ms timeout or an invalid one: a sequence never waits long, and
//! one connection cannot push to itself while blocked, so a blocking command either finds an
//! element at once or times out.

use crate::vocab::*;
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "LPUSH",
    "RPUSH",
    "LPUSHX",
    "RPUSHX",
    "LPOP",
    "RPOP",
    "LLEN",
    "LRANGE",
    "LINDEX",
    "LSET",
    "LINSERT",
    "LREM",
    "LTRIM",
    "LPOS",
    "LMOVE",
    "RPOPLPUSH",
    "LMPOP",
];

/// List elements: the shared values plus a few short ones that repeat, so that LREM, LPOS and
/// LINSERT find what they look for.
fn element() -> G {
    prop_oneof![3 => kw_of(&["a", "b", "c", "1", "2"]), 2 => val()].boxed()
}

/// A count or index that is mostly small.
fn small() -> G {
    prop_oneof![
        6 => (-4i64..6).prop_map(|i| vec![i.to_string().into_bytes()]).boxed(),
        1 => int(),
    ]
    .boxed()
}

fn side() -> G {
    prop_oneof![8 => kw_of(&["LEFT", "RIGHT"]), 1 => kw_of(&["UP", "BEFORE"])].boxed()
}

fn lpos_option() -> G {
    prop_oneof![
        2 => seq(vec![kw("RANK"), small()]),
        2 => seq(vec![kw("COUNT"), small()]),
        2 => seq(vec![kw("MAXLEN"), small()]),
        1 => kw_of(&["RANK", "COUNT", "MAXLEN", "NOPE"]),
    ]
    .boxed()
}

/// `numkeys key...` where numkeys usually matches the keys given.
fn numkeys_and_keys() -> G {
    prop_oneof![
        6 => (1usize..4).prop_flat_map(|n| {
            (Just(n), proptest::collection::vec(key(), n))
        })
        .prop_map(|(n, keys)| {
            let mut v = vec![n.to_string().into_bytes()];
            v.extend(keys.concat());
            v
        })
        .boxed(),
        1 => seq(vec![small(), rep(key(), 0, 2)]),
    ]
    .boxed()
}

/// A short timeout, or one that blocking commands refuse.
fn timeout() -> G {
    prop_oneof![
        3 => kw("0.01"),
        1 => kw_of(&["-1", "-0.5", "x", "inf", "nan", "", "1e400", "9223372036854775807"]),
    ]
    .boxed()
}

/// Commands that create lists; other families' state checks see them too.
pub fn writes() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (3, cmd(vec![kw_of(&["LPUSH", "RPUSH"]), key(), rep(element(), 1, 4)])),
        (1, cmd(vec![kw("LMOVE"), key(), key(), side(), side()])),
    ])
}

pub fn commands() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (8, cmd(vec![kw_of(&["LPUSH", "RPUSH"]), key(), rep(element(), 1, 5)])),
        (2, cmd(vec![kw_of(&["LPUSHX", "RPUSHX"]), key(), rep(element(), 1, 3)])),
        (5, cmd(vec![kw_of(&["LPOP", "RPOP"]), key(), maybe(small())])),
        (2, cmd(vec![kw("LLEN"), key()])),
        (4, cmd(vec![kw("LRANGE"), key(), small(), small()])),
        (3, cmd(vec![kw("LINDEX"), key(), small()])),
        (3, cmd(vec![kw("LSET"), key(), small(), element()])),
        (3, cmd(vec![kw("LINSERT"), key(), kw_of(&["BEFORE", "AFTER", "AROUND"]), element(), element()])),
        (3, cmd(vec![kw("LREM"), key(), small(), element()])),
        (2, cmd(vec![kw("LTRIM"), key(), small(), small()])),
        (4, cmd(vec![kw("LPOS"), key(), element(), rep(lpos_option(), 0, 3)])),
        (4, cmd(vec![kw("LMOVE"), key(), key(), side(), side()])),
        (2, cmd(vec![kw("RPOPLPUSH"), key(), key()])),
        (
            3,
            cmd(vec![
                kw("LMPOP"),
                numkeys_and_keys(),
                side(),
                maybe(prop_oneof![seq(vec![kw("COUNT"), small()]), kw("COUNT")].boxed()),
            ]),
        ),
        (2, cmd(vec![kw_of(&["BLPOP", "BRPOP"]), rep(key(), 1, 3), timeout()])),
        (2, cmd(vec![kw("BLMOVE"), key(), key(), side(), side(), timeout()])),
        (1, cmd(vec![kw("BRPOPLPUSH"), key(), key(), timeout()])),
        (
            2,
            cmd(vec![
                kw("BLMPOP"),
                timeout(),
                numkeys_and_keys(),
                side(),
                maybe(prop_oneof![seq(vec![kw("COUNT"), small()]), kw("COUNT")].boxed()),
            ]),
        ),
        (3, crate::strings::writes()),
        (1, cmd(vec![kw_of(&["DEL", "TYPE"]), key()])),
        (3, garbage(NAMES)),
    ])
}

#[test]
fn random_sequences() {
    crate::runner::run_family("lists", commands());
}
