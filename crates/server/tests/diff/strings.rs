//! The string family: GET SET (all options) SETNX SETEX PSETEX GETSET GETEX GETDEL MGET MSET
//! MSETNX APPEND STRLEN GETRANGE SUBSTR SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT LCS, with
//! wrong-arity and syntax-error variants.

use crate::vocab::*;
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "GET",
    "SET",
    "SETNX",
    "SETEX",
    "PSETEX",
    "GETSET",
    "GETEX",
    "GETDEL",
    "MGET",
    "MSET",
    "MSETNX",
    "APPEND",
    "STRLEN",
    "GETRANGE",
    "SUBSTR",
    "SETRANGE",
    "INCR",
    "DECR",
    "INCRBY",
    "DECRBY",
    "INCRBYFLOAT",
    "LCS",
];

/// One SET option, valid or not (a missing argument, conflicting options: the generator
/// combines them freely and the servers must agree on the verdict).
fn set_option() -> G {
    prop_oneof![
        2 => kw_of(&["NX", "XX"]),
        2 => kw("GET"),
        2 => seq(vec![kw("EX"), secs_arg()]),
        2 => seq(vec![kw("PX"), ms_arg()]),
        2 => seq(vec![kw("EXAT"), abs_secs_arg()]),
        2 => seq(vec![kw("PXAT"), abs_ms_arg()]),
        2 => kw("KEEPTTL"),
        1 => kw_of(&["EX", "PX", "EXAT", "PXAT", "PERSIST", "IFEQ", "NOPE"]),
    ]
    .boxed()
}

fn getex_option() -> G {
    prop_oneof![
        seq(vec![kw("EX"), secs_arg()]),
        seq(vec![kw("PX"), ms_arg()]),
        seq(vec![kw("EXAT"), abs_secs_arg()]),
        seq(vec![kw("PXAT"), abs_ms_arg()]),
        kw("PERSIST"),
        kw_of(&["EX", "KEEPTTL", "NX"]),
    ]
    .boxed()
}

/// A SETRANGE offset: small, plus the ones just past the 512 MB limit and negative. Never one
/// that would make either server allocate hundreds of megabytes.
fn setrange_offset() -> G {
    prop_oneof![6 => index(), 1 => kw_of(&["536870912", "536870911000", "-1"])].boxed()
}

/// Commands that put strings into the keyspace; the other families reuse them to have
/// something to work on.
pub fn writes() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (4, cmd(vec![kw("SET"), key(), val()])),
        (1, cmd(vec![kw("MSET"), rep(seq(vec![key(), val()]), 1, 3)])),
        (1, cmd(vec![kw("APPEND"), key(), val()])),
        (1, cmd(vec![kw("INCR"), key()])),
        (1, cmd(vec![kw("SETEX"), key(), secs_arg(), val()])),
    ])
}

pub fn commands() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (4, cmd(vec![kw("GET"), key()])),
        (6, cmd(vec![kw("SET"), key(), val(), rep(set_option(), 0, 3)])),
        (2, cmd(vec![kw("SETNX"), key(), val()])),
        (2, cmd(vec![kw("SETEX"), key(), secs_arg(), val()])),
        (2, cmd(vec![kw("PSETEX"), key(), ms_arg(), val()])),
        (2, cmd(vec![kw("GETSET"), key(), val()])),
        (3, cmd(vec![kw("GETEX"), key(), rep(getex_option(), 0, 2)])),
        (2, cmd(vec![kw("GETDEL"), key()])),
        (2, cmd(vec![kw("MGET"), rep(key(), 1, 4)])),
        (2, cmd(vec![kw("MSET"), rep(seq(vec![key(), val()]), 1, 3)])),
        (2, cmd(vec![kw("MSETNX"), rep(seq(vec![key(), val()]), 1, 3)])),
        (3, cmd(vec![kw("APPEND"), key(), val()])),
        (2, cmd(vec![kw("STRLEN"), key()])),
        (3, cmd(vec![kw_of(&["GETRANGE", "SUBSTR"]), key(), index(), index()])),
        (3, cmd(vec![kw("SETRANGE"), key(), setrange_offset(), val()])),
        (3, cmd(vec![kw_of(&["INCR", "DECR"]), key()])),
        (3, cmd(vec![kw_of(&["INCRBY", "DECRBY"]), key(), int()])),
        (3, cmd(vec![kw("INCRBYFLOAT"), key(), float()])),
        (
            2,
            cmd(vec![
                kw("LCS"),
                key(),
                key(),
                rep(
                    prop_oneof![
                        kw_of(&["LEN", "IDX", "WITHMATCHLEN"]),
                        seq(vec![kw("MINMATCHLEN"), int()]),
                        kw("MINMATCHLEN")
                    ]
                    .boxed(),
                    0,
                    3,
                ),
            ]),
        ),
        (3, garbage(NAMES)),
    ])
}

#[test]
fn random_sequences() {
    crate::runner::run_family("strings", commands());
}
