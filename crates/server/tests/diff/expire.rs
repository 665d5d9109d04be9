//! The expiry family: EXPIRE PEXPIRE EXPIREAT PEXPIREAT (with NX XX GT LT), TTL PTTL PERSIST
//! EXPIRETIME PEXPIRETIME, and the commands that keep, set or clear a TTL on the way (SET
//! KEEPTTL, GETEX, RENAME, COPY, SETEX), with wrong-arity and syntax-error variants.
//!
//! See vocab.rs for how time arguments are chosen so that two servers a few milliseconds apart
//! agree; TTLs read back are compared within a tolerance (compare.rs).

use crate::vocab::*;
use proptest::prelude::*;

const NAMES: &[&str] =
    &["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "TTL", "PTTL", "PERSIST", "EXPIRETIME", "PEXPIRETIME"];

/// Zero to two of NX XX GT LT (two may conflict: that is an error to compare too).
fn conditions() -> G {
    rep(prop_oneof![6 => kw_of(&["NX", "XX", "GT", "LT"]), 1 => kw_of(&["x", "EX"])].boxed(), 0, 2)
}

pub fn commands() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (5, crate::strings::writes()),
        (3, cmd(vec![kw("EXPIRE"), key(), secs_arg(), conditions()])),
        (3, cmd(vec![kw("PEXPIRE"), key(), ms_arg(), conditions()])),
        (3, cmd(vec![kw("EXPIREAT"), key(), abs_secs_arg(), conditions()])),
        (3, cmd(vec![kw("PEXPIREAT"), key(), abs_ms_arg(), conditions()])),
        (3, cmd(vec![kw_of(&["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]), key()])),
        (2, cmd(vec![kw("PERSIST"), key()])),
        (
            2,
            cmd(vec![
                kw("SET"),
                key(),
                val(),
                prop_oneof![
                    kw("KEEPTTL"),
                    seq(vec![kw("EX"), secs_arg()]),
                    seq(vec![kw("PXAT"), abs_ms_arg()]),
                    seq(vec![kw("GET"), kw("KEEPTTL")]),
                ]
                .boxed(),
            ]),
        ),
        (
            2,
            cmd(vec![
                kw("GETEX"),
                key(),
                prop_oneof![
                    kw("PERSIST"),
                    seq(vec![kw("EX"), secs_arg()]),
                    seq(vec![kw("PX"), ms_arg()]),
                    seq(vec![kw("EXAT"), abs_secs_arg()]),
                ]
                .boxed(),
            ]),
        ),
        (1, cmd(vec![kw_of(&["RENAME", "RENAMENX"]), key(), key()])),
        (1, cmd(vec![kw("COPY"), key(), key(), maybe(kw("REPLACE"))])),
        (1, cmd(vec![kw("DEL"), key()])),
        (2, garbage(NAMES)),
    ])
}

#[test]
fn random_sequences() {
    crate::runner::run_family("expire", commands());
}
