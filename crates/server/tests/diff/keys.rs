//! The generic key family: DEL UNLINK EXISTS TYPE RENAME RENAMENX COPY MOVE TOUCH DBSIZE,
//! across databases (SELECT), on strings (with and without TTLs) and lists, with wrong-arity
//! and syntax-error variants.

use crate::vocab::*;
use proptest::prelude::*;

const NAMES: &[&str] =
    &["DEL", "UNLINK", "EXISTS", "TYPE", "RENAME", "RENAMENX", "COPY", "MOVE", "TOUCH", "DBSIZE", "SELECT"];

fn copy_option() -> G {
    prop_oneof![
        2 => seq(vec![kw("DB"), db()]),
        2 => kw("REPLACE"),
        1 => kw_of(&["DB", "NX", "x"]),
    ]
    .boxed()
}

pub fn commands() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (6, crate::strings::writes()),
        (2, crate::lists::writes()),
        (1, cmd(vec![kw("GET"), key()])),
        (3, cmd(vec![kw_of(&["DEL", "UNLINK"]), rep(key(), 1, 3)])),
        (3, cmd(vec![kw_of(&["EXISTS", "TOUCH"]), rep(key(), 1, 4)])),
        (2, cmd(vec![kw("TYPE"), key()])),
        (3, cmd(vec![kw_of(&["RENAME", "RENAMENX"]), key(), key()])),
        (3, cmd(vec![kw("COPY"), key(), key(), rep(copy_option(), 0, 2)])),
        (2, cmd(vec![kw("MOVE"), key(), db()])),
        (2, cmd(vec![kw("SELECT"), db()])),
        (2, cmd(vec![kw("DBSIZE")])),
        (1, cmd(vec![kw("PTTL"), key()])),
        (2, garbage(NAMES)),
    ])
}

#[test]
fn random_sequences() {
    crate::runner::run_family("keys", commands());
}
