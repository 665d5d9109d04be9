//! String commands: GET, SET and the rest of the string family.

use super::table::{acl, flags::*, keyflags, Command, Doc, KeySpec, Lock};
use super::{errors, CmdResult, Ctx};
use crate::db::Ttl;
use crate::notify;
use crate::types::{StrRef, Value, ValueRef};

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "string", complexity, syntax }
}

pub static COMMANDS: &[Command] = &[
    Command {
        name: "get",
        arity: 2,
        flags: READONLY | FAST,
        acl: acl::STRING,
        keys: &[KeySpec::single(1, keyflags::RO | keyflags::ACCESS)],
        lock: Lock::Keys,
        handler: Some(get),
        doc: doc("Returns the string value of a key.", "1.0.0", "O(1)", "key"),
        ..Command::DEFAULT
    },
    Command {
        name: "set",
        arity: -3,
        flags: WRITE | DENYOOM,
        acl: acl::STRING,
        keys: &[KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::UPDATE | keyflags::VARIABLE_FLAGS)],
        lock: Lock::Keys,
        handler: Some(set),
        doc: doc(
            "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
            "1.0.0",
            "O(1)",
            "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]",
        ),
        ..Command::DEFAULT
    },
];

fn get(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    match ctx.keys.read(argv[1])? {
        None => ctx.out.null(),
        Some(e) => match e.value() {
            ValueRef::Str(StrRef::Bytes(b)) => ctx.out.bulk(b),
            ValueRef::Str(StrRef::Int(i)) => ctx.out.bulk_i64(i),
            _ => return Err(errors::WRONGTYPE),
        },
    }
    Ok(())
}

fn set(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() != 3 {
        return Err(errors::SYNTAX);
    }
    ctx.keys.set(argv[1], Value::from_slice(argv[2]), Ttl::Clear)?;
    ctx.keys.changed(argv[1], notify::STRING, "set");
    ctx.out.ok();
    Ok(())
}
