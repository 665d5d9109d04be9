//! Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, EXPIRETIME, PEXPIRETIME,
//! PERSIST.
//!
//! Expiry times are absolute milliseconds since the epoch, computed against the command's
//! frozen clock (`Keys::now_ms`, Valkey's `commandTimeSnapshot`). Setting a time that is not in
//! the future deletes the key at once (event `del`), as Valkey does on a primary.

use super::table::{acl, flags::*, keyflags, Command, Doc, KeySpec, Lock};
use super::{int_arg, is, CmdResult, Ctx, Error};
use crate::notify;

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "generic", complexity, syntax }
}

const SET_KEY: &[KeySpec] = &[KeySpec::single(1, keyflags::RW | keyflags::UPDATE)];
const READ_KEY: &[KeySpec] = &[KeySpec::single(1, keyflags::RO | keyflags::ACCESS)];

const fn setter(name: &'static str, handler: super::table::Handler, doc: Doc) -> Command {
    Command {
        name,
        arity: -3,
        flags: WRITE | FAST,
        acl: acl::KEYSPACE,
        keys: SET_KEY,
        lock: Lock::Keys,
        handler: Some(handler),
        doc,
        ..Command::DEFAULT
    }
}

const fn getter(
    name: &'static str,
    handler: super::table::Handler,
    tips: &'static [&'static str],
    doc: Doc,
) -> Command {
    Command {
        name,
        arity: 2,
        flags: READONLY | FAST,
        acl: acl::KEYSPACE,
        keys: READ_KEY,
        lock: Lock::Keys,
        handler: Some(handler),
        tips,
        doc,
        ..Command::DEFAULT
    }
}

pub static COMMANDS: &[Command] = &[
    setter(
        "expire",
        expire,
        doc("Sets the expiration time of a key in seconds.", "1.0.0", "O(1)", "key seconds [NX | XX | GT | LT]"),
    ),
    setter(
        "pexpire",
        pexpire,
        doc(
            "Sets the expiration time of a key in milliseconds.",
            "2.6.0",
            "O(1)",
            "key milliseconds [NX | XX | GT | LT]",
        ),
    ),
    setter(
        "expireat",
        expireat,
        doc(
            "Sets the expiration time of a key to a Unix timestamp.",
            "1.2.0",
            "O(1)",
            "key unix-time-seconds [NX | XX | GT | LT]",
        ),
    ),
    setter(
        "pexpireat",
        pexpireat,
        doc(
            "Sets the expiration time of a key to a Unix milliseconds timestamp.",
            "2.6.0",
            "O(1)",
            "key unix-time-milliseconds [NX | XX | GT | LT]",
        ),
    ),
    getter(
        "ttl",
        ttl,
        &["nondeterministic_output"],
        doc("Returns the expiration time in seconds of a key.", "1.0.0", "O(1)", "key"),
    ),
    getter(
        "pttl",
        pttl,
        &["nondeterministic_output"],
        doc("Returns the expiration time in milliseconds of a key.", "2.6.0", "O(1)", "key"),
    ),
    getter(
        "expiretime",
        expiretime,
        &[],
        doc("Returns the expiration time of a key as a Unix timestamp.", "7.0.0", "O(1)", "key"),
    ),
    getter(
        "pexpiretime",
        pexpiretime,
        &[],
        doc("Returns the expiration time of a key as a Unix milliseconds timestamp.", "7.0.0", "O(1)", "key"),
    ),
    Command {
        name: "persist",
        arity: 2,
        flags: WRITE | FAST,
        acl: acl::KEYSPACE,
        keys: SET_KEY,
        lock: Lock::Keys,
        handler: Some(persist),
        doc: doc("Removes the expiration time of a key.", "2.2.0", "O(1)", "key"),
        ..Command::DEFAULT
    },
];

fn expire(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let now = ctx.keys.now_ms as i64;
    set_expire(ctx, argv, now, 1000)
}

fn pexpire(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let now = ctx.keys.now_ms as i64;
    set_expire(ctx, argv, now, 1)
}

fn expireat(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    set_expire(ctx, argv, 0, 1000)
}

fn pexpireat(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    set_expire(ctx, argv, 0, 1)
}

/// The NX / XX / GT / LT conditions.
#[derive(Default)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_conditions(options: &[&[u8]]) -> Result<Conditions, Error> {
    let mut c = Conditions::default();
    for opt in options {
        if is(opt, "nx") {
            c.nx = true;
        } else if is(opt, "xx") {
            c.xx = true;
        } else if is(opt, "gt") {
            c.gt = true;
        } else if is(opt, "lt") {
            c.lt = true;
        } else {
            return Err(Error::err_quoting("Unsupported option ", opt, ""));
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        return Err(Error::err("NX and XX, GT or LT options at the same time are not compatible"));
    }
    if c.gt && c.lt {
        return Err(Error::err("GT and LT options at the same time are not compatible"));
    }
    Ok(c)
}

impl Conditions {
    /// Whether the new time `when` may replace `current` (`None`: no TTL, which counts as
    /// infinite: nothing is greater than it, everything is less).
    fn allow(&self, current: Option<i64>, when: i64) -> bool {
        if self.nx && current.is_some() || self.xx && current.is_none() {
            return false;
        }
        if self.gt && current.is_none_or(|c| when <= c) {
            return false;
        }
        !(self.lt && current.is_some_and(|c| when >= c))
    }
}

/// EXPIRE and friends (Valkey's `expireGenericCommand`): `base_ms` is the command time for
/// relative forms and 0 for the `AT` forms; `unit_ms` is 1000 for seconds.
fn set_expire(ctx: &mut Ctx, argv: &[&[u8]], base_ms: i64, unit_ms: i64) -> CmdResult {
    let key = argv[1];
    let conditions = parse_conditions(&argv[3..])?;
    let invalid = || Error::err(format!("invalid expire time in '{}' command", ctx.cmd.full_name));
    let mut when = int_arg(argv[2])?;
    // Negative times are allowed (they delete the key); only overflow is an error.
    when = when.checked_mul(unit_ms).ok_or_else(invalid)?;
    if when > i64::MAX - base_ms {
        return Err(invalid());
    }
    when += base_ms;

    let current = match ctx.keys.write(key)? {
        Some(e) => e.expire_at_ms().map(|t| t as i64),
        None => {
            ctx.out.int(0);
            return Ok(());
        }
    };
    if !conditions.allow(current, when) {
        ctx.out.int(0);
        return Ok(());
    }
    if when <= ctx.keys.now_ms as i64 {
        if let Some((value, _)) = ctx.keys.remove(key)? {
            ctx.engine.lazy_free(value);
        }
        ctx.keys.changed(key, notify::GENERIC, "del");
        super::strings::propagate_expired_delete(ctx, key);
    } else {
        ctx.keys.set_expire(key, Some(when as u64))?;
        ctx.keys.changed(key, notify::GENERIC, "expire");
        if ctx.keys.propagating() && !(base_ms == 0 && unit_ms == 1) {
            // Replicas get PEXPIREAT with the absolute time; options are kept as given.
            let mut rewritten: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
            rewritten[0] = b"PEXPIREAT".to_vec();
            rewritten[2] = when.to_string().into_bytes();
            ctx.keys.propagate_as(rewritten);
        }
    }
    ctx.out.int(1);
    Ok(())
}

fn ttl(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    report_ttl(ctx, argv[1], false, false)
}

fn pttl(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    report_ttl(ctx, argv[1], true, false)
}

fn expiretime(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    report_ttl(ctx, argv[1], false, true)
}

fn pexpiretime(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    report_ttl(ctx, argv[1], true, true)
}

/// TTL and friends (Valkey's `ttlGenericCommand`): -2 for no key, -1 for no TTL, else the
/// remaining (or absolute) time, never negative, seconds rounded to the nearest.
fn report_ttl(ctx: &mut Ctx, key: &[u8], in_ms: bool, absolute: bool) -> CmdResult {
    let now = ctx.keys.now_ms as i64;
    let reply = match ctx.keys.read_untouched(key, true)? {
        None => -2,
        Some(e) => match e.expire_at_ms() {
            None => -1,
            Some(at) => {
                let t = if absolute { at as i64 } else { (at as i64).wrapping_sub(now) }.max(0);
                // Valkey adds 500 in C arithmetic, which wraps for times near i64::MAX.
                if in_ms {
                    t
                } else {
                    t.wrapping_add(500) / 1000
                }
            }
        },
    };
    ctx.out.int(reply);
    Ok(())
}

fn persist(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let had_ttl = ctx.keys.write(key)?.is_some_and(|e| e.expire_at_ms().is_some());
    if had_ttl {
        ctx.keys.set_expire(key, None)?;
        ctx.keys.changed(key, notify::GENERIC, "persist");
    }
    ctx.out.int(i64::from(had_ttl));
    Ok(())
}

#[cfg(test)]
#[path = "expire_tests.rs"]
mod tests;
