//! Generic key commands: DEL, EXISTS and the rest of the keyspace family.

use super::table::{acl, flags::*, keyflags, Command, Doc, KeySpec, Lock};
use super::{CmdResult, Ctx};

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "generic", complexity, syntax }
}

pub static COMMANDS: &[Command] = &[
    Command {
        name: "del",
        arity: -2,
        flags: WRITE,
        acl: acl::KEYSPACE,
        keys: &[KeySpec::range(1, -1, 1, keyflags::RM | keyflags::DELETE)],
        lock: Lock::Keys,
        handler: Some(del),
        doc: doc("Deletes one or more keys.", "1.0.0", "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", "key [key ...]"),
        ..Command::DEFAULT
    },
    Command {
        name: "exists",
        arity: -2,
        flags: READONLY | FAST,
        acl: acl::KEYSPACE,
        keys: &[KeySpec::range(1, -1, 1, keyflags::RO)],
        lock: Lock::Keys,
        handler: Some(exists),
        doc: doc("Determines whether one or more keys exist.", "1.0.0", "O(N) where N is the number of keys to check.", "key [key ...]"),
        ..Command::DEFAULT
    },
];

fn del(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut n = 0;
    for key in &argv[1..] {
        n += i64::from(ctx.keys.delete(key)?);
    }
    ctx.out.int(n);
    Ok(())
}

fn exists(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut n = 0;
    for key in &argv[1..] {
        n += i64::from(ctx.keys.read(key)?.is_some());
    }
    ctx.out.int(n);
    Ok(())
}
