//! The HyperLogLog family: PFADD PFCOUNT PFMERGE PFDEBUG, on keys that also hold plain strings
//! and other types, with HLLs corrupted by SETRANGE/APPEND, both encodings (CONFIG SET
//! hll-sparse-max-bytes and PFDEBUG TODENSE), and GET to compare the stored bytes themselves.
//! PFSELFTEST is left out: it adds random elements and is covered by the unit tests.

use crate::vocab::*;
use proptest::prelude::*;

const NAMES: &[&str] = &["PFADD", "PFCOUNT", "PFMERGE", "PFDEBUG"];

/// Elements: the shared values, and numbers from a range wide enough to fill registers.
fn element() -> G {
    prop_oneof![
        1 => val(),
        4 => (0u32..1_000_000).prop_map(|n| vec![format!("e{n}").into_bytes()]).boxed(),
    ]
    .boxed()
}

pub fn commands() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (8, cmd(vec![kw("PFADD"), key(), rep(element(), 0, 40)])),
        (4, cmd(vec![kw("PFCOUNT"), rep(key(), 1, 3)])),
        (2, cmd(vec![kw("PFMERGE"), key(), rep(key(), 0, 3)])),
        (
            2,
            cmd(vec![
                kw("PFDEBUG"),
                prop_oneof![8 => kw_of(&["GETREG", "DECODE", "ENCODING", "TODENSE"]), 1 => kw_of(&["bogus"])].boxed(),
                key(),
            ]),
        ),
        (3, cmd(vec![kw("GET"), key()])),
        // Corruption: one byte anywhere in the header or the first registers.
        (
            1,
            cmd(vec![
                kw("SETRANGE"),
                key(),
                (0u32..40).prop_map(|n| vec![n.to_string().into_bytes()]).boxed(),
                any::<u8>().prop_map(|b| vec![vec![b]]).boxed(),
            ]),
        ),
        (1, crate::strings::writes()),
        (1, cmd(vec![kw("RPUSH"), key(), val()])),
        (
            1,
            cmd(vec![
                kw("CONFIG"),
                kw("SET"),
                words(&["hll-sparse-max-bytes"]),
                prop_oneof![words(&["0"]), words(&["30"]), words(&["100"]), words(&["3000"])].boxed(),
            ]),
        ),
        (1, cmd(vec![kw_of(&["DEL", "TYPE", "STRLEN"]), key()])),
        (1, garbage(NAMES)),
    ])
}

fn words(list: &'static [&'static str]) -> G {
    proptest::sample::select(list).prop_map(|w| vec![w.as_bytes().to_vec()]).boxed()
}

#[test]
fn random_sequences() {
    crate::runner::run_family("hyperloglog", commands());
}
