//! The set family and SORT: SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS SPOP SRANDMEMBER
//! SMOVE SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN, and SORT /
//! SORT_RO of sets with BY (weights in strings and hash fields, and `nosort`), LIMIT, GET,
//! ASC/DESC and ALPHA, on the shared key set that also holds strings and hashes, in RESP2 and
//! RESP3. SPOP and SRANDMEMBER are compared by shape and membership (random.rs). SORT ... STORE
//! is left out until the list type exists to store into.

use crate::vocab::*;
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "SADD",
    "SREM",
    "SCARD",
    "SISMEMBER",
    "SMISMEMBER",
    "SMEMBERS",
    "SPOP",
    "SRANDMEMBER",
    "SMOVE",
    "SINTER",
    "SINTERCARD",
    "SINTERSTORE",
    "SUNION",
    "SUNIONSTORE",
    "SDIFF",
    "SDIFFSTORE",
    "SSCAN",
    "SORT",
    "SORT_RO",
];

/// Members: integers (intsets, and their edges), strings (listpacks in Valkey 8), the empty
/// member, non-canonical integers, and one longer than `set-max-listpack-value` (a table).
/// No member holds a NUL: SORT ALPHA compares with `strcoll`, which stops there, and two such
/// members would tie in an order each server resolves differently.
pub fn member() -> G {
    let mut list: Vec<Vec<u8>> =
        ["1", "2", "3", "-1", "100", "9223372036854775807", "01", "1.5", "a", "b", "c", "", "x y"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
    list.push(b"long-member-".iter().copied().cycle().take(70).collect());
    proptest::sample::select(list).prop_map(|m| vec![m]).boxed()
}

/// Keys SORT's BY and GET patterns reach: `w_<member>` strings and `h_<member>` hashes.
fn weight_write() -> BoxedStrategy<Cmd> {
    let target = || proptest::sample::select(vec!["1", "2", "3", "-1", "a", "b", "c", ""]);
    let weight = || {
        proptest::sample::select(vec!["0", "1", "2", "-5", "10", "1.5", "x", "zz", "aa"])
            .prop_map(|w| vec![w.as_bytes().to_vec()])
            .boxed()
    };
    one_of(vec![
        (2, cmd(vec![kw("SET"), target().prop_map(|t| vec![format!("w_{t}").into_bytes()]).boxed(), weight()])),
        (
            1,
            cmd(vec![
                kw("HSET"),
                target().prop_map(|t| vec![format!("h_{t}").into_bytes()]).boxed(),
                kw("f"),
                weight(),
            ]),
        ),
    ])
}

fn sort_options() -> G {
    prop_oneof![
        2 => seq(vec![kw("BY"), kw_of(&["w_*", "h_*->f", "w_*->f", "nokey_*"])]),
        2 => seq(vec![kw("LIMIT"), index(), index()]),
        3 => seq(vec![kw("GET"), kw_of(&["#", "w_*", "h_*->f", "*", "nostar"])]),
        2 => kw_of(&["ASC", "DESC"]),
        2 => kw("ALPHA"),
        1 => kw_of(&["LIMIT", "BY", "GET", "STORE", "NOPE"]),
    ]
    .boxed()
}

/// SORT forms whose output order both servers must agree on: BY without `*` (the set's own
/// order, which Redis 7.0 and Valkey 8 store differently) only without LIMIT, and ALPHA by a
/// pattern (where equal weights keep the set's order) only without LIMIT either; the
/// comparison treats those two forms as unordered.
fn sort_command() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (6, cmd(vec![kw_of(&["SORT", "SORT_RO"]), key(), rep(sort_options(), 0, 4)])),
        (
            2,
            cmd(vec![
                kw_of(&["SORT", "SORT_RO"]),
                key(),
                kw("BY"),
                kw("nosort"),
                rep(seq(vec![kw("GET"), kw_of(&["#", "w_*"])]), 0, 2),
            ]),
        ),
        (
            2,
            cmd(vec![
                kw_of(&["SORT", "SORT_RO"]),
                key(),
                kw("BY"),
                kw_of(&["w_*", "h_*->f"]),
                kw("ALPHA"),
                maybe(kw("DESC")),
            ]),
        ),
    ])
    .prop_filter("ALPHA with BY and LIMIT leaves ties in the set's order", |c| {
        let has = |w: &str| c.0.iter().any(|a| a.eq_ignore_ascii_case(w.as_bytes()));
        let by_star = c.0.windows(2).any(|w| w[0].eq_ignore_ascii_case(b"BY") && w[1].contains(&b'*'));
        let by_const = c.0.windows(2).any(|w| w[0].eq_ignore_ascii_case(b"BY") && !w[1].contains(&b'*'));
        !(has("LIMIT") && ((has("ALPHA") && by_star) || by_const)) && !has("STORE")
    })
    .boxed()
}

fn count() -> G {
    crate::hashes::random_count()
}

/// Commands that put sets into the keyspace; the other families reuse them.
pub fn writes() -> BoxedStrategy<Cmd> {
    one_of(vec![(3, cmd(vec![kw("SADD"), key(), rep(member(), 1, 4)])), (1, cmd(vec![kw("SREM"), key(), member()]))])
}

pub fn commands() -> BoxedStrategy<Cmd> {
    let keys = |min, max| rep(key(), min, max);
    one_of(vec![
        (3, crate::strings::writes()),
        (2, crate::hashes::writes()),
        (2, weight_write()),
        (8, cmd(vec![kw("SADD"), key(), rep(member(), 1, 4)])),
        (3, cmd(vec![kw("SREM"), key(), rep(member(), 1, 3)])),
        (2, cmd(vec![kw("SCARD"), key()])),
        (2, cmd(vec![kw("SISMEMBER"), key(), member()])),
        (2, cmd(vec![kw("SMISMEMBER"), key(), rep(member(), 1, 3)])),
        (3, cmd(vec![kw("SMEMBERS"), key()])),
        (2, cmd(vec![kw("SPOP"), key()])),
        (3, cmd(vec![kw("SPOP"), key(), prop_oneof![4 => (0i64..8).prop_map(|i| vec![i.to_string().into_bytes()]).boxed(), 1 => kw_of(&["-1", "x", "9223372036854775807"])].boxed()])),
        (2, cmd(vec![kw("SRANDMEMBER"), key()])),
        (3, cmd(vec![kw("SRANDMEMBER"), key(), count()])),
        (3, cmd(vec![kw("SMOVE"), key(), key(), member()])),
        (3, cmd(vec![kw_of(&["SINTER", "SUNION", "SDIFF"]), keys(1, 3)])),
        (3, cmd(vec![kw_of(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), key(), keys(1, 3)])),
        (
            3,
            cmd(vec![
                kw("SINTERCARD"),
                prop_oneof![4 => kw_of(&["1", "2", "3"]), 1 => kw_of(&["0", "-1", "x", "4"])].boxed(),
                keys(1, 3),
                maybe(seq(vec![kw("LIMIT"), kw_of(&["0", "1", "2", "-1", "x"])])),
            ]),
        ),
        (3, cmd(vec![kw("SSCAN"), key(), crate::hashes::scan_cursor(), crate::hashes::scan_options(true)])),
        (4, sort_command()),
        (1, cmd(vec![kw("HELLO"), kw_of(&["2", "3"])])),
        (1, cmd(vec![kw_of(&["DEL", "TYPE"]), key()])),
        (3, garbage(NAMES)),
    ])
}

#[test]
fn random_sequences() {
    crate::runner::run_family("sets", commands());
}
