//! The stream family where replies are deterministic: explicit IDs only (`<ms>`, `<ms>-<seq>`,
//! `<ms>-*`, never `*`), exact trims, XRANGE/XREVRANGE (exclusive bounds, COUNT), XLEN, XDEL,
//! XTRIM, XSETID, XREAD, and consumer groups (XGROUP, XREADGROUP with `>` and history, XACK,
//! XPENDING's summary, XCLAIM/XAUTOCLAIM with JUSTID at min-idle 0), on the shared key set
//! that also holds strings and hashes (so WRONGTYPE paths run), with garbage variants.
//! Idle times, XINFO STREAM's tree sizes and `*` IDs depend on the clock or the structure, and
//! are left to the unit and Valkey suite tests.

use crate::vocab::*;
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "XADD",
    "XRANGE",
    "XREVRANGE",
    "XLEN",
    "XDEL",
    "XTRIM",
    "XSETID",
    "XREAD",
    "XGROUP",
    "XREADGROUP",
    "XACK",
    "XPENDING",
    "XCLAIM",
    "XAUTOCLAIM",
];

/// Explicit IDs: a few milliseconds so that writes collide, with and without sequence.
fn id() -> G {
    kw_of(&[
        "1",
        "2",
        "3",
        "5",
        "1-1",
        "2-5",
        "3-0",
        "7-2",
        "0-1",
        "0-0",
        "18446744073709551615-18446744073709551615",
        "x-1",
        "1-x",
        "-1",
    ])
}

/// XADD's ID: explicit ones and `<ms>-*`.
fn add_id() -> G {
    prop_oneof_ids()
}

fn prop_oneof_ids() -> G {
    prop_oneof![4 => id(), 2 => kw_of(&["1-*", "4-*", "9-*", "0-*"])].boxed()
}

/// Range bounds: `-`, `+`, IDs, exclusive IDs.
fn bound() -> G {
    prop_oneof![2 => kw_of(&["-", "+"]), 3 => id(), 1 => kw_of(&["(1", "(2-5", "(-", "(+", "(0-0"])].boxed()
}

fn fields() -> G {
    rep(seq(vec![kw_of(&["f", "g", "h", "1"]), val()]), 1, 3)
}

fn trim() -> G {
    seq(vec![kw_of(&["MAXLEN", "MINID"]), maybe(kw("=")), kw_of(&["0", "1", "2", "5", "3-0", "-1", "x"])])
}

fn group() -> G {
    kw_of(&["g", "h"])
}

fn consumer() -> G {
    kw_of(&["alice", "bob"])
}

/// Commands that put streams into the keyspace.
pub fn writes() -> BoxedStrategy<Cmd> {
    cmd(vec![kw("XADD"), key(), add_id(), fields()])
}

pub fn commands() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (8, writes()),
        (2, crate::strings::writes()),
        (1, crate::hashes::writes()),
        (2, cmd(vec![kw("XADD"), key(), maybe(kw("NOMKSTREAM")), maybe(trim()), add_id(), fields()])),
        (1, cmd(vec![kw("XADD"), key(), add_id(), kw("f")])),
        (
            4,
            cmd(vec![
                kw_of(&["XRANGE", "XREVRANGE"]),
                key(),
                bound(),
                bound(),
                maybe(seq(vec![kw("COUNT"), kw_of(&["0", "1", "2", "-1", "x"])])),
            ]),
        ),
        (2, cmd(vec![kw("XLEN"), key()])),
        (2, cmd(vec![kw("XDEL"), key(), rep(id(), 1, 3)])),
        (2, cmd(vec![kw("XTRIM"), key(), trim()])),
        (1, cmd(vec![kw("XSETID"), key(), id()])),
        (
            2,
            cmd(vec![
                kw("XREAD"),
                maybe(seq(vec![kw("COUNT"), kw_of(&["1", "2"])])),
                kw("STREAMS"),
                key(),
                kw_of(&["0", "1", "2-5", "$"]),
            ]),
        ),
        (3, cmd(vec![kw("XGROUP"), kw("CREATE"), key(), group(), kw_of(&["0", "$", "1", "x"]), maybe(kw("MKSTREAM"))])),
        (1, cmd(vec![kw("XGROUP"), kw("SETID"), key(), group(), kw_of(&["0", "$", "2"])])),
        (1, cmd(vec![kw("XGROUP"), kw_of(&["DESTROY"]), key(), group()])),
        (1, cmd(vec![kw("XGROUP"), kw_of(&["CREATECONSUMER", "DELCONSUMER"]), key(), group(), consumer()])),
        (
            4,
            cmd(vec![
                kw("XREADGROUP"),
                kw("GROUP"),
                group(),
                consumer(),
                maybe(seq(vec![kw("COUNT"), kw_of(&["1", "2"])])),
                maybe(kw("NOACK")),
                kw("STREAMS"),
                key(),
                kw_of(&[">", ">", "0", "2", "$"]),
            ]),
        ),
        (3, cmd(vec![kw("XACK"), key(), group(), rep(id(), 1, 2)])),
        (2, cmd(vec![kw("XPENDING"), key(), group()])),
        (1, cmd(vec![kw("XCLAIM"), key(), group(), consumer(), kw("0"), rep(id(), 1, 2), kw("JUSTID")])),
        (1, cmd(vec![kw("XAUTOCLAIM"), key(), group(), consumer(), kw("0"), kw_of(&["0", "2-0"]), kw("JUSTID")])),
        (1, cmd(vec![kw_of(&["DEL", "TYPE"]), key()])),
        (3, garbage(NAMES)),
    ])
}

#[test]
fn random_sequences() {
    crate::runner::run_family("streams", commands());
}
