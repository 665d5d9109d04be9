//! The bitmap family: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO, on strings
//! written by the string commands, with wrong-arity and syntax-error variants.

use crate::vocab::*;
use proptest::prelude::*;

const NAMES: &[&str] = &["SETBIT", "GETBIT", "BITCOUNT", "BITPOS", "BITOP", "BITFIELD", "BITFIELD_RO"];

/// Bit offsets: small ones, the largest valid one (only for reads: writing it would allocate
/// 512 MB), one past it, negative, not a number.
fn bit_offset(writing: bool) -> G {
    let edges: &'static [&'static str] =
        if writing { &["4294967296", "-1", "x"] } else { &["4294967295", "4294967296", "-1", "x"] };
    prop_oneof![8 => (0u32..200).prop_map(|i| vec![i.to_string().into_bytes()]).boxed(), 1 => kw_of(edges)].boxed()
}

fn bit_value() -> G {
    prop_oneof![6 => kw_of(&["0", "1"]), 1 => kw_of(&["2", "-1", "x", "01", ""])].boxed()
}

fn unit() -> G {
    prop_oneof![4 => kw_of(&["BIT", "BYTE"]), 1 => kw_of(&["bits", "x"])].boxed()
}

/// `[start [end [BIT|BYTE]]]` in all arities, including the ones that are errors.
fn range(max: usize) -> G {
    rep(prop_oneof![3 => index(), 1 => unit()].boxed(), 0, max)
}

fn bitfield_type() -> G {
    prop_oneof![
        6 => (1u32..=64).prop_map(|n| vec![format!("i{n}").into_bytes()]).boxed(),
        6 => (1u32..=63).prop_map(|n| vec![format!("u{n}").into_bytes()]).boxed(),
        1 => kw_of(&["u64", "i65", "i0", "x8", "I8", "U8"]),
    ]
    .boxed()
}

fn bitfield_offset() -> G {
    prop_oneof![
        6 => (0u32..80).prop_map(|n| vec![n.to_string().into_bytes()]).boxed(),
        3 => (0u32..6).prop_map(|n| vec![format!("#{n}").into_bytes()]).boxed(),
        1 => kw_of(&["-1", "#-1", "x", "4294967296", "#100000000"]),
    ]
    .boxed()
}

fn bitfield_op(read_only: bool) -> G {
    let get = seq(vec![kw("GET"), bitfield_type(), bitfield_offset()]);
    if read_only {
        return prop_oneof![6 => get, 1 => seq(vec![kw("SET"), bitfield_type(), bitfield_offset(), int()]), 1 => kw("GET")]
            .boxed();
    }
    prop_oneof![
        3 => get,
        3 => seq(vec![kw("SET"), bitfield_type(), bitfield_offset(), int()]),
        3 => seq(vec![kw("INCRBY"), bitfield_type(), bitfield_offset(), int()]),
        2 => seq(vec![kw("OVERFLOW"), kw_of(&["WRAP", "SAT", "FAIL"])]),
        1 => seq(vec![kw("OVERFLOW"), kw_of(&["none", "x"])]),
        1 => kw_of(&["GET", "SET", "INCRBY", "OVERFLOW", "BOGUS"]),
    ]
    .boxed()
}

pub fn commands() -> BoxedStrategy<Cmd> {
    one_of(vec![
        (4, crate::strings::writes()),
        (4, cmd(vec![kw("SETBIT"), key(), bit_offset(true), bit_value()])),
        (3, cmd(vec![kw("GETBIT"), key(), bit_offset(false)])),
        (4, cmd(vec![kw("BITCOUNT"), key(), range(4)])),
        (4, cmd(vec![kw("BITPOS"), key(), bit_value(), range(4)])),
        (
            3,
            cmd(vec![
                kw("BITOP"),
                prop_oneof![6 => kw_of(&["AND", "OR", "XOR", "NOT"]), 1 => kw_of(&["NAND", "x"])].boxed(),
                key(),
                rep(key(), 0, 3),
            ]),
        ),
        (4, cmd(vec![kw("BITFIELD"), key(), rep(bitfield_op(false), 0, 4)])),
        (2, cmd(vec![kw("BITFIELD_RO"), key(), rep(bitfield_op(true), 0, 3)])),
        (1, cmd(vec![kw("GET"), key()])),
        (2, garbage(NAMES)),
    ])
}

#[test]
fn random_sequences() {
    crate::runner::run_family("bits", commands());
}
