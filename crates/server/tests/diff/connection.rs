//! Connection-level commands: PING ECHO SELECT DBSIZE HELLO (switching between RESP2 and
//! RESP3, so that the replies of the other commands are compared in both protocols), unknown
//! commands, and wrong-arity variants.

use crate::vocab::*;
use proptest::prelude::*;

const NAMES: &[&str] = &["PING", "ECHO", "SELECT", "DBSIZE", "HELLO", "NOSUCHCOMMAND", "GET\x00X"];

pub fn commands() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (3, crate::strings::writes()),
        (2, cmd(vec![kw("PING"), maybe(val())])),
        (2, cmd(vec![kw("ECHO"), val()])),
        (2, cmd(vec![kw("SELECT"), db()])),
        (2, cmd(vec![kw("DBSIZE")])),
        (2, cmd(vec![kw("HELLO"), maybe(kw_of(&["2", "3"]))])),
        (1, cmd(vec![kw("HELLO"), kw_of(&["1", "4", "x", "-1", "03"])])),
        // Replies whose RESP2 and RESP3 forms differ: nulls, arrays with nulls, and
        // arity/unknown-command errors.
        (2, cmd(vec![kw("GET"), key()])),
        (2, cmd(vec![kw("MGET"), rep(key(), 1, 3)])),
        (1, cmd(vec![kw("EXISTS"), key()])),
        (2, garbage(NAMES)),
    ])
}

#[test]
fn random_sequences() {
    crate::runner::run_family("connection", commands());
}
