//! Checks that the generators reach every command (and the options that matter) of the
//! families under test, so that deleting or breaking a generator cannot silently shrink what
//! the differential tests cover. Needs no server.

use crate::vocab::Cmd;
use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::collections::BTreeSet;

const REQUIRED: &[&str] = &[
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
    "SETBIT",
    "GETBIT",
    "BITCOUNT",
    "BITPOS",
    "BITOP",
    "BITFIELD",
    "BITFIELD_RO",
    "DEL",
    "UNLINK",
    "EXISTS",
    "TYPE",
    "RENAME",
    "RENAMENX",
    "COPY",
    "MOVE",
    "TOUCH",
    "EXPIRE",
    "PEXPIRE",
    "EXPIREAT",
    "PEXPIREAT",
    "TTL",
    "PTTL",
    "PERSIST",
    "EXPIRETIME",
    "PEXPIRETIME",
    "DBSIZE",
    "SELECT",
    "PING",
    "ECHO",
    "HELLO",
    "LPUSH",
    "RPUSH",
    "LPUSHX",
    "RPUSHX",
    "LPOP",
    "RPOP",
    "LLEN",
    "LRANGE",
    "LINDEX",
    "LSET",
    "LINSERT",
    "LREM",
    "LTRIM",
    "LPOS",
    "LMOVE",
    "RPOPLPUSH",
    "LMPOP",
    "BLPOP",
    "BRPOP",
    "BLMOVE",
    "BRPOPLPUSH",
    "BLMPOP",
];

/// (command, option) pairs that must show up somewhere in the arguments.
const REQUIRED_OPTIONS: &[(&str, &str)] = &[
    ("SET", "NX"),
    ("SET", "XX"),
    ("SET", "GET"),
    ("SET", "EX"),
    ("SET", "PX"),
    ("SET", "EXAT"),
    ("SET", "PXAT"),
    ("SET", "KEEPTTL"),
    ("GETEX", "PERSIST"),
    ("GETEX", "EXAT"),
    ("GETEX", "PXAT"),
    ("EXPIRE", "NX"),
    ("EXPIRE", "XX"),
    ("EXPIRE", "GT"),
    ("EXPIRE", "LT"),
    ("PEXPIREAT", "GT"),
    ("BITCOUNT", "BIT"),
    ("BITPOS", "BYTE"),
    ("BITFIELD", "OVERFLOW"),
    ("BITFIELD", "INCRBY"),
    ("COPY", "DB"),
    ("COPY", "REPLACE"),
    ("LCS", "IDX"),
    ("HELLO", "3"),
    ("LPOS", "RANK"),
    ("LPOS", "COUNT"),
    ("LPOS", "MAXLEN"),
    ("LMPOP", "COUNT"),
    ("LINSERT", "BEFORE"),
    ("LINSERT", "AFTER"),
    ("LMOVE", "LEFT"),
    ("LMOVE", "RIGHT"),
];

fn sample(families: &[BoxedStrategy<Cmd>], per_family: usize) -> Vec<Cmd> {
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let mut out = Vec::new();
    for f in families {
        for _ in 0..per_family {
            out.push(f.new_tree(&mut runner).unwrap().current());
        }
    }
    out
}

#[test]
fn generators_reach_every_command_and_option() {
    let families = [
        crate::strings::commands(),
        crate::bits::commands(),
        crate::keys::commands(),
        crate::expire::commands(),
        crate::connection::commands(),
        crate::lists::commands(),
    ];
    let cmds = sample(&families, 4000);
    let upper = |a: &[u8]| String::from_utf8_lossy(a).to_ascii_uppercase();
    let names: BTreeSet<String> = cmds.iter().map(|c| upper(&c.0[0])).collect();
    let missing: Vec<_> = REQUIRED.iter().filter(|n| !names.contains(**n)).collect();
    assert!(missing.is_empty(), "no generator produces {missing:?}");
    for (name, option) in REQUIRED_OPTIONS {
        let found = cmds.iter().any(|c| upper(&c.0[0]) == *name && c.0[1..].iter().any(|a| upper(a) == *option));
        assert!(found, "no generated {name} uses {option}");
    }
    // Wrong arity: some command with no argument at all, besides the ones that take none.
    assert!(cmds.iter().any(|c| c.0.len() == 1 && !["PING", "DBSIZE", "HELLO"].contains(&upper(&c.0[0]).as_str())));
}
