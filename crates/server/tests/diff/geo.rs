//! The geo family: GEOADD (NX XX CH) GEODIST GEOHASH GEOPOS GEOSEARCH GEOSEARCHSTORE GEORADIUS
//! GEORADIUSBYMEMBER and the _RO forms, on keys that also hold other types, with positions
//! near each other (so that searches find several members at different distances), at the
//! edges of the indexable area and outside it, every unit, and wrong-arity and syntax-error
//! variants. Stored results are read back with ZRANGE WITHSCORES.

use crate::vocab::*;
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "GEOADD",
    "GEODIST",
    "GEOHASH",
    "GEOPOS",
    "GEOSEARCH",
    "GEOSEARCHSTORE",
    "GEORADIUS",
    "GEORADIUS_RO",
    "GEORADIUSBYMEMBER",
    "GEORADIUSBYMEMBER_RO",
];

fn words(list: &'static [&'static str]) -> G {
    proptest::sample::select(list).prop_map(|w| vec![w.as_bytes().to_vec()]).boxed()
}

const MEMBERS: &[&str] = &["Palermo", "Catania", "Agrigento", "m1", "m2", "m3", "", "10"];

fn member() -> G {
    words(MEMBERS)
}

/// A longitude latitude pair: near Sicily mostly (random offsets keep coordinates distinct),
/// the edges of the indexable area, and invalid ones.
fn lon_lat() -> G {
    prop_oneof![
        8 => (12.0f64..16.0, 36.5f64..38.5)
            .prop_map(|(lon, lat)| vec![format!("{lon:.6}").into_bytes(), format!("{lat:.6}").into_bytes()])
            .boxed(),
        2 => (-180.0f64..180.0, -85.0f64..85.0)
            .prop_map(|(lon, lat)| vec![format!("{lon:.4}").into_bytes(), format!("{lat:.4}").into_bytes()])
            .boxed(),
        1 => seq(vec![words(&["180", "-180", "0", "179.9999"]), words(&["85.05112878", "-85.05112878", "0", "85"])]),
        1 => seq(vec![words(&["181", "x", "1", "inf", "-180.0001"]), words(&["86", "1", "nan", "-85.05112879", ""])]),
    ]
    .boxed()
}

fn unit() -> G {
    prop_oneof![8 => words(&["m", "km", "ft", "mi", "KM", "Mi"]), 1 => words(&["xx", "meters"])].boxed()
}

fn radius() -> G {
    prop_oneof![
        8 => words(&["0", "1", "10", "50", "100", "200", "500", "5000", "20000"]),
        1 => words(&["-1", "x", "1e3", "inf"]),
    ]
    .boxed()
}

/// Options shared by the search commands (valid or not, in any order).
fn search_option(store: bool) -> G {
    let mut choices: Vec<(u32, G)> = vec![
        (3, words(&["WITHDIST", "WITHHASH", "WITHCOORD", "withdist"])),
        (3, words(&["ASC", "DESC"])),
        (
            3,
            seq(vec![
                kw("COUNT"),
                prop_oneof![6 => words(&["1", "2", "3", "10"]), 1 => words(&["0", "-1", "x"])].boxed(),
            ]),
        ),
        (1, kw("ANY")),
        (1, words(&["BOGUS"])),
    ];
    if store {
        choices.push((2, seq(vec![kw_of(&["STORE", "STOREDIST"]), key()])));
    }
    proptest::strategy::Union::new_weighted(choices).boxed()
}

fn from() -> G {
    prop_oneof![
        3 => seq(vec![kw("FROMMEMBER"), member()]),
        3 => seq(vec![kw("FROMLONLAT"), lon_lat()]),
    ]
    .boxed()
}

fn by() -> G {
    prop_oneof![
        3 => seq(vec![kw("BYRADIUS"), radius(), unit()]),
        3 => seq(vec![kw("BYBOX"), radius(), radius(), unit()]),
    ]
    .boxed()
}

/// GEOSEARCH's arguments after the key: FROM and BY in either order, usually both.
fn search_args(store: bool) -> G {
    let opt =
        if store { prop_oneof![3 => kw("STOREDIST"), 2 => search_option(false)].boxed() } else { search_option(false) };
    prop_oneof![
        8 => seq(vec![from(), by(), rep(opt.clone(), 0, 3)]),
        2 => seq(vec![by(), from(), rep(opt.clone(), 0, 3)]),
        1 => seq(vec![rep(prop_oneof![from(), by(), opt].boxed(), 0, 4), words(&["x", "1", "m"])]),
    ]
    .boxed()
}

pub fn commands() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (
            8,
            cmd(vec![
                kw("GEOADD"),
                key(),
                rep(kw_of(&["NX", "XX", "CH"]), 0, 2),
                rep(seq(vec![lon_lat(), member()]), 1, 4),
            ]),
        ),
        (3, cmd(vec![kw("GEOPOS"), key(), rep(member(), 0, 3)])),
        (3, cmd(vec![kw("GEOHASH"), key(), rep(member(), 0, 3)])),
        (3, cmd(vec![kw("GEODIST"), key(), member(), member(), rep(unit(), 0, 2)])),
        (6, cmd(vec![kw("GEOSEARCH"), key(), search_args(false)])),
        (3, cmd(vec![kw("GEOSEARCHSTORE"), key(), key(), search_args(true)])),
        (
            4,
            cmd(vec![
                kw_of(&["GEORADIUS", "GEORADIUS_RO"]),
                key(),
                lon_lat(),
                radius(),
                unit(),
                rep(search_option(true), 0, 3),
            ]),
        ),
        (
            4,
            cmd(vec![
                kw_of(&["GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"]),
                key(),
                member(),
                radius(),
                unit(),
                rep(search_option(true), 0, 3),
            ]),
        ),
        (2, cmd(vec![kw("ZRANGE"), key(), words(&["0"]), words(&["-1"]), kw("WITHSCORES")])),
        (1, cmd(vec![kw("ZADD"), key(), words(&["1", "-1", "1e20", "4503599627370496"]), member()])),
        (1, cmd(vec![kw("SET"), key(), val()])),
        (1, cmd(vec![kw_of(&["DEL", "TYPE"]), key()])),
        (2, garbage(NAMES)),
    ])
}

#[test]
fn random_sequences() {
    crate::runner::run_family("geo", commands());
}
