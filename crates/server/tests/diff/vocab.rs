//! The small vocabulary the generators draw from, and combinators to build commands.
//!
//! Few keys (so that commands collide on them), values chosen for their edges (integer limits,
//! non-canonical integers, floats, empty, long, binary), and time arguments chosen so that
//! both servers reach the same verdict although they run the command a few milliseconds apart:
//! relative TTLs are at least 1000 s and random (never shrunk, so two of them almost never
//! coincide and a GT/LT comparison between them cannot be decided by the clock), absolute times
//! are either long past or further in the future than any relative TTL.

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};
use std::sync::OnceLock;

/// Arguments of one command, name first.
pub type Args = Vec<Vec<u8>>;
/// A strategy for a group of consecutive arguments (possibly none).
pub type G = BoxedStrategy<Args>;

/// One generated command; printed the way `valkey-cli` takes it, so that a failing sequence
/// can be pasted into a client.
#[derive(Clone, PartialEq, Eq)]
pub struct Cmd(pub Args);

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::conn::show_command(&self.0))
    }
}

/// The keys every generator uses. Binary and empty names included.
pub const KEYS: [&[u8]; 6] = [b"a", b"b", b"c", b"bin\x00\xff\r\n", b"", b"key:with:a:longer:name"];

/// Database indexes used by SELECT, MOVE and COPY ... DB. The state check looks at all of
/// them.
pub const DBS: [u8; 4] = [0, 1, 2, 15];

/// Seconds since the epoch when the test binary started: absolute times are offsets from it.
pub fn t0_s() -> i64 {
    static T0: OnceLock<i64> = OnceLock::new();
    *T0.get_or_init(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64)
}

fn long_value(len: usize, pat: &[u8]) -> Vec<u8> {
    pat.iter().copied().cycle().take(len).collect()
}

/// String values: integers at and beyond the i64 edges, non-canonical integers, floats,
/// special words, empty, binary, long.
pub fn values() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        &b"0"[..],
        b"1",
        b"-1",
        b"10",
        b"123",
        b"9223372036854775807",
        b"-9223372036854775808",
        b"9223372036854775808",
        b"-0",
        b"01",
        b" 1",
        b"+1",
        b"1.5",
        b"-1.5e3",
        b"3.0",
        b"0x10",
        b"inf",
        b"nan",
        b"",
        b"foo",
        b"foobar",
        b"hello world",
        b"a\r\nb\x00c",
        b"\xff\xf0\x00\x01",
        b"\x00",
        b"@",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    v.push(long_value(300, b"x"));
    v.push(long_value(129, b"abc\x00"));
    v
}

fn pick(list: Vec<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    proptest::sample::select(list).boxed()
}

fn single(s: BoxedStrategy<Vec<u8>>) -> G {
    s.prop_map(|a| vec![a]).boxed()
}

fn words(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// A keyword or command name in upper, lower or mixed case: the servers must not care.
pub fn kw(word: &'static str) -> G {
    prop_oneof![
        6 => Just(word.to_ascii_uppercase()),
        3 => Just(word.to_ascii_lowercase()),
        1 => Just(word.char_indices().map(|(i, c)| if i % 2 == 0 { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() }).collect::<String>()),
    ]
    .prop_map(|w| vec![w.into_bytes()])
    .boxed()
}

/// One of several keywords.
pub fn kw_of(list: &'static [&'static str]) -> G {
    Union::new(list.iter().map(|w| kw(w))).boxed()
}

pub fn key() -> G {
    single(pick(KEYS.iter().map(|k| k.to_vec()).collect()))
}

pub fn val() -> G {
    single(pick(values()))
}

/// Integer arguments: valid ones (with the edges) and invalid spellings.
pub fn int() -> G {
    single(pick(words(&[
        "0",
        "1",
        "-1",
        "2",
        "3",
        "5",
        "7",
        "8",
        "-5",
        "100",
        "-100",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "-0",
        "01",
        "1.5",
        "x",
        "",
    ])))
}

/// Mostly small valid offsets/indexes with a few invalid or extreme ones.
pub fn index() -> G {
    prop_oneof![
        8 => (-20i64..40).prop_map(|i| i.to_string().into_bytes()).boxed(),
        1 => pick(words(&["9223372036854775807", "-9223372036854775808", "1000", "-1000", "x", "1.0"])),
    ]
    .prop_map(|a| vec![a])
    .boxed()
}

/// Float arguments in the spellings `strtold` accepts and some it does not.
pub fn float() -> G {
    single(pick(words(&[
        "0",
        "1",
        "-1",
        "1.5",
        "-1.5",
        "0.1",
        "10.5",
        "1e3",
        "-1e-3",
        "5.0e3",
        "3.0000000000000001",
        "1e308",
        "-1e308",
        "inf",
        "-inf",
        "+inf",
        "nan",
        "x",
        "",
        "0x10",
        "1.",
        ".5",
        " 1",
        "1e",
        "100000000000000000000",
    ])))
}

/// A relative TTL in seconds: far enough that nothing expires during a test, random so that
/// two TTLs set a few milliseconds apart never tie.
pub fn rel_secs() -> BoxedStrategy<i64> {
    (1_000i64..1_000_000).no_shrink().boxed()
}

pub fn rel_ms() -> BoxedStrategy<i64> {
    (1_000_000i64..1_000_000_000).no_shrink().boxed()
}

/// An absolute time in seconds: long past, or later than any relative TTL.
pub fn abs_secs() -> BoxedStrategy<i64> {
    prop_oneof![
        3 => (2_000_000i64..3_000_000).no_shrink().prop_map(|o| t0_s() + o).boxed(),
        1 => prop_oneof![Just(1i64), Just(t0_s() - 100_000)].boxed(),
    ]
    .boxed()
}

pub fn abs_ms() -> BoxedStrategy<i64> {
    (abs_secs(), 0i64..1000).prop_map(|(s, ms)| s * 1000 + ms).boxed()
}

/// Time arguments that are not valid TTLs (zero, negative, overflowing, not integers).
pub fn bad_time() -> G {
    single(pick(words(&[
        "0",
        "-1",
        "-100",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775",
        "9223372036854776",
        "x",
        "1.5",
        "",
    ])))
}

fn num(s: BoxedStrategy<i64>) -> G {
    s.prop_map(|n| vec![n.to_string().into_bytes()]).boxed()
}

/// A TTL argument for a relative seconds option (EX, EXPIRE, SETEX), sometimes invalid.
pub fn secs_arg() -> G {
    prop_oneof![6 => num(rel_secs()), 1 => bad_time()].boxed()
}

pub fn ms_arg() -> G {
    prop_oneof![6 => num(rel_ms()), 1 => bad_time()].boxed()
}

pub fn abs_secs_arg() -> G {
    prop_oneof![6 => num(abs_secs()), 1 => bad_time()].boxed()
}

pub fn abs_ms_arg() -> G {
    prop_oneof![6 => num(abs_ms()), 1 => bad_time()].boxed()
}

/// A database index for SELECT / MOVE / COPY DB: mostly valid, some out of range.
pub fn db() -> G {
    prop_oneof![
        6 => pick(DBS.iter().map(|d| d.to_string().into_bytes()).collect()),
        1 => pick(words(&["16", "-1", "x", "01", "9223372036854775807"])),
    ]
    .prop_map(|a| vec![a])
    .boxed()
}

/// Any argument at all: for arity and syntax error variants.
pub fn any_arg() -> G {
    prop_oneof![key(), val(), int(), kw_of(&["NX", "XX", "GT", "LT", "EX", "PX", "GET", "BIT", "BYTE", "REPLACE"])]
        .boxed()
}

/// The concatenation of argument groups.
pub fn seq(parts: Vec<G>) -> G {
    parts.prop_map(|groups| groups.concat()).boxed()
}

/// Zero or one occurrence.
pub fn maybe(g: G) -> G {
    prop_oneof![Just(Vec::new()), g].boxed()
}

/// Between `min` and `max` occurrences (inclusive).
pub fn rep(g: G, min: usize, max: usize) -> G {
    proptest::collection::vec(g, min..=max).prop_map(|groups| groups.concat()).boxed()
}

/// A command from argument groups.
pub fn cmd(parts: Vec<G>) -> BoxedStrategy<Cmd> {
    seq(parts).prop_map(Cmd).boxed()
}

/// A command with a random number of random arguments: exercises arity checks and argument
/// parsing with things no careful generator would produce.
pub fn garbage(names: &'static [&'static str]) -> BoxedStrategy<Cmd> {
    cmd(vec![kw_of(names), rep(any_arg(), 0, 5)])
}

/// A weighted choice among command strategies.
pub fn one_of(choices: Vec<(u32, BoxedStrategy<Cmd>)>) -> BoxedStrategy<Cmd> {
    Union::new_weighted(choices).boxed()
}
