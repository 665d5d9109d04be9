//! String commands: GET, SET and its variants (SETNX, SETEX, PSETEX, GETSET, GETEX, GETDEL),
//! MGET/MSET/MSETNX, APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE, the INCR family,
//! INCRBYFLOAT and LCS.
//!
//! Handlers follow Valkey's `t_string.c` step by step wherever the order is observable: which
//! error wins when several apply, which lookups count as keyspace hits, which keyspace events
//! fire and in which order. Pure helpers (range arithmetic, the `long double` sum, the LCS
//! table) live in `types/string.rs`.

use super::table::{acl, flags::*, keyflags, Command, Doc, KeySpec};
use super::{errors, int_arg, is, CmdResult, Ctx, Error};
use crate::db::Ttl;
use crate::notify;
use crate::types::string::{self as strings, FloatIncrError};
use crate::types::{StrRef, Value, ValueRef};
use resp::number::parse_i64;
use resp::Reply;
use std::sync::atomic::Ordering::Relaxed;

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "string", complexity, syntax }
}

const RO_ACCESS: &[KeySpec] = &[KeySpec::single(1, keyflags::RO | keyflags::ACCESS)];
const RW_ACCESS_UPDATE: &[KeySpec] = &[KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::UPDATE)];
const OW_UPDATE: &[KeySpec] = &[KeySpec::single(1, keyflags::OW | keyflags::UPDATE)];
const SUBSTRING_COMPLEXITY: &str = "O(N) where N is the length of the returned string. The complexity is ultimately \
determined by the returned length, but because creating a substring from an existing string is very cheap, it can be \
considered O(1) for small strings.";

/// A string command with the flags and ACL category every one of them shares.
const fn string_cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: &'static [KeySpec],
    handler: super::table::Handler,
    doc: Doc,
) -> Command {
    Command::keyed(acl::STRING, name, arity, flags, keys, handler, doc)
}

/// SET's key flags by its arguments (Valkey's `setGetKeys`): with GET it reads the old value,
/// otherwise it only overwrites.
fn set_keys_with_flags(argv: &[&[u8]]) -> Vec<(usize, u32)> {
    let get = argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get"));
    let flags = if get { keyflags::RW | keyflags::ACCESS | keyflags::UPDATE } else { keyflags::OW | keyflags::UPDATE };
    vec![(1, flags)]
}

pub static COMMANDS: &[Command] = &[
    string_cmd("get", 2, READONLY | FAST, RO_ACCESS, get, doc("Returns the string value of a key.", "1.0.0", "O(1)", "key")),
    Command { keys_with_flags: Some(set_keys_with_flags), ..string_cmd(
        "set",
        -3,
        WRITE | DENYOOM,
        &[KeySpec {
            notes: "RW and ACCESS due to the optional `GET` argument",
            ..KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::UPDATE | keyflags::VARIABLE_FLAGS)
        }],
        set,
        doc(
            "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
            "1.0.0",
            "O(1)",
            "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]",
        ),
    ) },
    string_cmd(
        "setnx",
        3,
        WRITE | DENYOOM | FAST,
        &[KeySpec::single(1, keyflags::OW | keyflags::INSERT)],
        setnx,
        doc("Set the string value of a key only when the key doesn't exist.", "1.0.0", "O(1)", "key value"),
    ),
    string_cmd(
        "setex",
        4,
        WRITE | DENYOOM,
        OW_UPDATE,
        setex,
        doc(
            "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
            "2.0.0",
            "O(1)",
            "key seconds value",
        ),
    ),
    string_cmd(
        "psetex",
        4,
        WRITE | DENYOOM,
        OW_UPDATE,
        psetex,
        doc(
            "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
            "2.6.0",
            "O(1)",
            "key milliseconds value",
        ),
    ),
    string_cmd(
        "getset",
        3,
        WRITE | DENYOOM | FAST,
        RW_ACCESS_UPDATE,
        getset,
        doc("Returns the previous string value of a key after setting it to a new value.", "1.0.0", "O(1)", "key value"),
    ),
    string_cmd(
        "getex",
        -2,
        WRITE | FAST,
        &[KeySpec {
            notes: "RW and UPDATE because it changes the TTL",
            ..KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::UPDATE)
        }],
        getex,
        doc(
            "Returns the string value of a key after setting its expiration time.",
            "6.2.0",
            "O(1)",
            "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]",
        ),
    ),
    string_cmd(
        "getdel",
        2,
        WRITE | FAST,
        &[KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::DELETE)],
        getdel,
        doc("Returns the string value of a key after deleting the key.", "6.2.0", "O(1)", "key"),
    ),
    Command {
        tips: &["request_policy:multi_shard"],
        ..string_cmd(
            "mget",
            -2,
            READONLY | FAST,
            &[KeySpec::range(1, -1, 1, keyflags::RO | keyflags::ACCESS)],
            mget,
            doc(
                "Atomically returns the string values of one or more keys.",
                "1.0.0",
                "O(N) where N is the number of keys to retrieve.",
                "key [key ...]",
            ),
        )
    },
    Command {
        tips: &["request_policy:multi_shard", "response_policy:all_succeeded"],
        ..string_cmd(
            "mset",
            -3,
            WRITE | DENYOOM,
            &[KeySpec::range(1, -1, 2, keyflags::OW | keyflags::UPDATE)],
            mset,
            doc(
                "Atomically creates or modifies the string values of one or more keys.",
                "1.0.1",
                "O(N) where N is the number of keys to set.",
                "key value [key value ...]",
            ),
        )
    },
    string_cmd(
        "msetnx",
        -3,
        WRITE | DENYOOM,
        &[KeySpec::range(1, -1, 2, keyflags::OW | keyflags::INSERT)],
        msetnx,
        doc(
            "Atomically modifies the string values of one or more keys only when all keys don't exist.",
            "1.0.1",
            "O(N) where N is the number of keys to set.",
            "key value [key value ...]",
        ),
    ),
    string_cmd(
        "append",
        3,
        WRITE | DENYOOM | FAST,
        &[KeySpec::single(1, keyflags::RW | keyflags::INSERT)],
        append,
        doc(
            "Appends a string to the value of a key. Creates the key if it doesn't exist.",
            "2.0.0",
            "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by the server will double the free space available on every reallocation.",
            "key value",
        ),
    ),
    string_cmd(
        "strlen",
        2,
        READONLY | FAST,
        &[KeySpec::single(1, keyflags::RO)],
        strlen,
        doc("Returns the length of a string value.", "2.2.0", "O(1)", "key"),
    ),
    string_cmd(
        "getrange",
        4,
        READONLY,
        RO_ACCESS,
        getrange,
        doc("Returns a substring of the string stored at a key.", "2.4.0", SUBSTRING_COMPLEXITY, "key start end"),
    ),
    string_cmd(
        "substr",
        4,
        READONLY,
        RO_ACCESS,
        getrange,
        doc("Returns a substring from a string value.", "1.0.0", SUBSTRING_COMPLEXITY, "key start end"),
    ),
    string_cmd(
        "setrange",
        4,
        WRITE | DENYOOM,
        &[KeySpec::single(1, keyflags::RW | keyflags::UPDATE)],
        setrange,
        doc(
            "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
            "2.2.0",
            "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.",
            "key offset value",
        ),
    ),
    string_cmd(
        "incr",
        2,
        WRITE | DENYOOM | FAST,
        RW_ACCESS_UPDATE,
        incr,
        doc(
            "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
            "1.0.0",
            "O(1)",
            "key",
        ),
    ),
    string_cmd(
        "decr",
        2,
        WRITE | DENYOOM | FAST,
        RW_ACCESS_UPDATE,
        decr,
        doc(
            "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
            "1.0.0",
            "O(1)",
            "key",
        ),
    ),
    string_cmd(
        "incrby",
        3,
        WRITE | DENYOOM | FAST,
        RW_ACCESS_UPDATE,
        incrby,
        doc(
            "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
            "1.0.0",
            "O(1)",
            "key increment",
        ),
    ),
    string_cmd(
        "decrby",
        3,
        WRITE | DENYOOM | FAST,
        RW_ACCESS_UPDATE,
        decrby,
        doc(
            "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
            "1.0.0",
            "O(1)",
            "key decrement",
        ),
    ),
    string_cmd(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        RW_ACCESS_UPDATE,
        incrbyfloat,
        doc(
            "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
            "2.6.0",
            "O(1)",
            "key increment",
        ),
    ),
    string_cmd(
        "lcs",
        -3,
        READONLY,
        &[KeySpec::range(1, 1, 1, keyflags::RO | keyflags::ACCESS)],
        lcs,
        doc(
            "Finds the longest common substring.",
            "7.0.0",
            "O(N*M) where N and M are the lengths of s1 and s2, respectively",
            "key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]",
        ),
    ),
];

/// The string held by a value, or the WRONGTYPE error.
pub(super) fn string_value(v: ValueRef<'_>) -> Result<StrRef<'_>, Error> {
    strings::string_of(v).ok_or(errors::WRONGTYPE)
}

fn reply_str(out: &mut Reply, s: StrRef<'_>) {
    match s {
        StrRef::Bytes(b) => out.bulk(b),
        StrRef::Int(i) => out.bulk_i64(i),
    }
}

/// Valkey's `checkStringLength`: would a string of `len + extra` bytes exceed
/// proto-max-bulk-len?
pub(super) fn check_string_length(ctx: &Ctx, len: u64, extra: u64) -> CmdResult {
    let max = ctx.engine.config.hot.proto_max_bulk_len.load(Relaxed);
    match len.checked_add(extra) {
        Some(total) if total <= max => Ok(()),
        _ => Err(errors::STRING_TOO_LONG),
    }
}

/// The error for an allocation the system refused. Valkey aborts the process there; we only
/// fail the command. Reachable only with proto-max-bulk-len raised beyond available memory.
pub(super) fn out_of_memory() -> Error {
    Error::err("out of memory for the resulting string")
}

/// GET, and the first half of SET GET / GETSET / GETDEL: replies with the value, null when
/// the key is missing. Returns whether the key existed.
fn reply_get(ctx: &mut Ctx, key: &[u8]) -> Result<bool, Error> {
    match ctx.keys.read(key)? {
        None => {
            ctx.out.null();
            Ok(false)
        }
        Some(e) => {
            reply_str(ctx.out, string_value(e.value())?);
            Ok(true)
        }
    }
}

fn get(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    reply_get(ctx, argv[1]).map(drop)
}

/// Option bits of SET and GETEX, as Valkey's `parseExtendedStringArgumentsOrReply` sees them.
mod opt {
    pub const NX: u32 = 1 << 0;
    pub const XX: u32 = 1 << 1;
    pub const GET: u32 = 1 << 2;
    pub const KEEPTTL: u32 = 1 << 3;
    pub const PERSIST: u32 = 1 << 4;
    pub const EX: u32 = 1 << 5;
    pub const PX: u32 = 1 << 6;
    pub const EXAT: u32 = 1 << 7;
    pub const PXAT: u32 = 1 << 8;
    /// Any of the expiry-setting options.
    pub const TIMED: u32 = EX | PX | EXAT | PXAT;
}

/// Parsed SET/GETEX options: the flag bits and the expiry argument, if any.
struct ExtOpts<'a> {
    flags: u32,
    expire: Option<&'a [u8]>,
}

/// Parses the options of SET (`for_set`) or GETEX. An option that conflicts with one already
/// given is a syntax error; repeating the same expiry option keeps the last value (Valkey's
/// rules, including that quirk).
fn parse_ext_opts<'a>(argv: &[&'a [u8]], for_set: bool) -> Result<ExtOpts<'a>, Error> {
    use opt::*;
    let mut flags = 0;
    let mut expire = None;
    let mut j = if for_set { 3 } else { 2 };
    while j < argv.len() {
        let a = argv[j];
        let has_value = j + 1 < argv.len();
        let timed_kind = if is(a, "ex") {
            EX
        } else if is(a, "px") {
            PX
        } else if is(a, "exat") {
            EXAT
        } else if is(a, "pxat") {
            PXAT
        } else {
            0
        };
        if for_set && is(a, "nx") && flags & XX == 0 {
            flags |= NX;
        } else if for_set && is(a, "xx") && flags & NX == 0 {
            flags |= XX;
        } else if for_set && is(a, "get") {
            flags |= GET;
        } else if for_set && is(a, "keepttl") && flags & (PERSIST | TIMED) == 0 {
            flags |= KEEPTTL;
        } else if !for_set && is(a, "persist") && flags & (KEEPTTL | TIMED) == 0 {
            flags |= PERSIST;
        } else if timed_kind != 0 && flags & (KEEPTTL | PERSIST) == 0 && flags & TIMED & !timed_kind == 0 && has_value {
            flags |= timed_kind;
            expire = Some(argv[j + 1]);
            j += 1;
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    Ok(ExtOpts { flags, expire })
}

/// Valkey's `getExpireMillisecondsOrReply`: the absolute expiry time in ms for an EX/PX/EXAT/
/// PXAT argument (`flags` says which). Zero, negative and overflowing values are the
/// `invalid expire time in '<cmd>' command` error.
fn expire_at_ms(arg: &[u8], flags: u32, now_ms: u64, cmd: &str) -> Result<u64, Error> {
    let invalid = || Error::err(format!("invalid expire time in '{cmd}' command"));
    let mut ms = int_arg(arg)?;
    let in_seconds = flags & (opt::EX | opt::EXAT) != 0;
    if ms <= 0 || (in_seconds && ms > i64::MAX / 1000) {
        return Err(invalid());
    }
    if in_seconds {
        ms *= 1000;
    }
    if flags & (opt::EX | opt::PX) != 0 {
        ms = ms.checked_add(now_ms as i64).ok_or_else(invalid)?;
    }
    Ok(ms as u64)
}

/// How SET-like commands acknowledge: `+OK`/null (SET, SETEX, PSETEX) or `:1`/`:0` (SETNX).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ack {
    Ok,
    Int,
}

/// Valkey's `setGenericCommand`, shared by SET, SETNX, SETEX and PSETEX.
fn set_generic(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    key: &[u8],
    value: &[u8],
    flags: u32,
    expire: Option<&[u8]>,
    ack: Ack,
) -> CmdResult {
    let now = ctx.keys.now_ms;
    let when = match expire {
        Some(arg) => Some(expire_at_ms(arg, flags, now, &ctx.cmd.full_name)?),
        None => None,
    };
    let with_get = flags & opt::GET != 0;
    if with_get {
        reply_get(ctx, key)?;
    }
    let found = ctx.keys.write(key)?.is_some();
    if (flags & opt::NX != 0 && found) || (flags & opt::XX != 0 && !found) {
        if !with_get {
            match ack {
                Ack::Ok => ctx.out.null(),
                Ack::Int => ctx.out.int(0),
            }
        }
        return Ok(());
    }
    // An expiry already in the past: storing the key only to expire it is pointless; an old
    // value is deleted instead (reported as `del`).
    if when.is_some_and(|w| w <= now) {
        if found {
            ctx.keys.delete(key)?;
            propagate_expired_delete(ctx, key);
        }
        if !with_get {
            ctx.out.ok();
        }
        return Ok(());
    }
    let ttl = match when {
        Some(w) => Ttl::At(w),
        None if flags & opt::KEEPTTL != 0 => Ttl::Keep,
        None => Ttl::Clear,
    };
    ctx.keys.set(key, Value::from_slice(value), ttl)?;
    ctx.keys.changed(key, notify::STRING, "set");
    if ctx.keys.propagating() {
        // Replicas get absolute times (SET k v PXAT ms), and never the GET option.
        match when {
            Some(w) if flags & opt::PXAT == 0 => ctx.keys.propagate_as(vec![
                b"SET".to_vec(),
                key.to_vec(),
                value.to_vec(),
                b"PXAT".to_vec(),
                w.to_string().into_bytes(),
            ]),
            None if with_get => {
                let argv: Vec<Vec<u8>> =
                    argv.iter().enumerate().filter(|(j, a)| *j < 3 || !is(a, "get")).map(|(_, a)| a.to_vec()).collect();
                ctx.keys.propagate_as(argv);
            }
            _ => {}
        }
    }
    if when.is_some() {
        // Part of the same change (one dirty count), but subscribers see both events.
        let db = ctx.keys.db;
        ctx.keys.notify(notify::GENERIC, "expire", db, key);
    }
    if !with_get {
        match ack {
            Ack::Ok => ctx.out.ok(),
            Ack::Int => ctx.out.int(1),
        }
    }
    Ok(())
}

fn set(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let o = parse_ext_opts(argv, true)?;
    set_generic(ctx, argv, argv[1], argv[2], o.flags, o.expire, Ack::Ok)
}

fn setnx(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    set_generic(ctx, argv, argv[1], argv[2], opt::NX, None, Ack::Int)
}

fn setex(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    set_generic(ctx, argv, argv[1], argv[3], opt::EX, Some(argv[2]), Ack::Ok)
}

fn psetex(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    set_generic(ctx, argv, argv[1], argv[3], opt::PX, Some(argv[2]), Ack::Ok)
}

fn getset(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    reply_get(ctx, argv[1])?;
    ctx.keys.set(argv[1], Value::from_slice(argv[2]), Ttl::Clear)?;
    ctx.keys.changed(argv[1], notify::STRING, "set");
    Ok(())
}

fn getex(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let o = parse_ext_opts(argv, false)?;
    let key = argv[1];
    let now = ctx.keys.now_ms;
    let (when, had_ttl) = match ctx.keys.read(key)? {
        None => {
            ctx.out.null();
            return Ok(());
        }
        Some(e) => {
            let s = string_value(e.value())?;
            // The expiry is validated only for an existing string, after the type check.
            let when = match o.expire {
                Some(arg) => Some(expire_at_ms(arg, o.flags, now, &ctx.cmd.full_name)?),
                None => None,
            };
            reply_str(ctx.out, s);
            (when, e.expire_at_ms().is_some())
        }
    };
    match when {
        // Only an absolute time can already be past; the key goes away as if it expired.
        Some(w) if o.flags & (opt::EXAT | opt::PXAT) != 0 && w <= now => {
            ctx.keys.delete(key)?;
            propagate_expired_delete(ctx, key);
        }
        Some(w) => {
            ctx.keys.set_expire(key, Some(w))?;
            ctx.keys.changed(key, notify::GENERIC, "expire");
            ctx.keys.propagate_as(vec![b"PEXPIREAT".to_vec(), key.to_vec(), w.to_string().into_bytes()]);
        }
        None if o.flags & opt::PERSIST != 0 && had_ttl => {
            ctx.keys.set_expire(key, None)?;
            ctx.keys.changed(key, notify::GENERIC, "persist");
            ctx.keys.propagate_as(vec![b"PERSIST".to_vec(), key.to_vec()]);
        }
        None => {}
    }
    Ok(())
}

fn getdel(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if reply_get(ctx, argv[1])? {
        ctx.keys.delete(argv[1])?;
        ctx.keys.propagate_as(vec![b"DEL".to_vec(), argv[1].to_vec()]);
    }
    Ok(())
}

/// A key deleted because the expiry a command gave it is already past is propagated as an
/// explicit DEL or UNLINK (`lazyfree-lazy-expire`), Valkey's
/// `deleteExpiredKeyFromOverwriteAndPropagate`.
pub(crate) fn propagate_expired_delete(ctx: &mut Ctx, key: &[u8]) {
    let lazy = ctx.engine.config.hot.lazyfree_lazy_expire.load(std::sync::atomic::Ordering::Relaxed);
    let cmd: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
    ctx.keys.propagate_as(vec![cmd.to_vec(), key.to_vec()]);
}

fn mget(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.out.array(argv.len() - 1);
    for key in &argv[1..] {
        match ctx.keys.read(key)?.and_then(|e| strings::string_of(e.value())) {
            Some(s) => reply_str(ctx.out, s),
            // Missing keys and keys of other types are both nulls.
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn mset_generic(ctx: &mut Ctx, argv: &[&[u8]], nx: bool) -> CmdResult {
    // Pairs after the command name: the total must be odd.
    if argv.len() & 1 == 0 {
        return Err(ctx.arity_error());
    }
    if nx {
        for pair in argv[1..].chunks_exact(2) {
            if ctx.keys.write(pair[0])?.is_some() {
                ctx.out.int(0);
                return Ok(());
            }
        }
    }
    for pair in argv[1..].chunks_exact(2) {
        ctx.keys.set(pair[0], Value::from_slice(pair[1]), Ttl::Clear)?;
        ctx.keys.changed(pair[0], notify::STRING, "set");
    }
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn mset(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    mset_generic(ctx, argv, false)
}

fn msetnx(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    mset_generic(ctx, argv, true)
}

fn append(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (key, tail) = (argv[1], argv[2]);
    let current_len = match ctx.keys.write(key)? {
        None => None,
        Some(e) => Some(string_value(e.value())?.len()),
    };
    let total = match current_len {
        None => {
            // A new key is stored like SET stores it (as an integer when it is one).
            ctx.keys.add(key, Value::from_slice(tail), None)?;
            tail.len()
        }
        Some(len) => {
            check_string_length(ctx, len as u64, tail.len() as u64)?;
            let buf = ctx.keys.string_mut(key)?;
            buf.try_reserve(tail.len()).map_err(|_| out_of_memory())?;
            buf.extend_from_slice(tail);
            buf.len()
        }
    };
    ctx.keys.changed(key, notify::STRING, "append");
    ctx.out.int(total as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let len = match ctx.keys.read(argv[1])? {
        None => 0,
        Some(e) => string_value(e.value())?.len(),
    };
    ctx.out.int(len as i64);
    Ok(())
}

/// GETRANGE and its old name SUBSTR.
fn getrange(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let start = int_arg(argv[2])?;
    let end = int_arg(argv[3])?;
    let Some(e) = ctx.keys.read(argv[1])? else {
        ctx.out.bulk(b"");
        return Ok(());
    };
    let mut digits = itoa::Buffer::new();
    let bytes = strings::str_bytes(string_value(e.value())?, &mut digits);
    match strings::getrange_bounds(start, end, bytes.len()) {
        Some((from, to)) => ctx.out.bulk(&bytes[from..=to]),
        None => ctx.out.bulk(b""),
    }
    Ok(())
}

fn setrange(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (key, patch) = (argv[1], argv[3]);
    let offset = int_arg(argv[2])?;
    if offset < 0 {
        return Err(Error::err("offset is out of range"));
    }
    let offset = offset as u64;
    let current_len = match ctx.keys.write(key)? {
        None => None,
        Some(e) => Some(string_value(e.value())?.len()),
    };
    if patch.is_empty() {
        // Nothing to write: no key is created, no event fires.
        ctx.out.int(current_len.unwrap_or(0) as i64);
        return Ok(());
    }
    // Checked before anything is allocated, so a huge offset costs nothing.
    check_string_length(ctx, offset, patch.len() as u64)?;
    let offset = offset as usize;
    let end = offset + patch.len();
    let total = match current_len {
        None => {
            let mut buf = Vec::new();
            buf.try_reserve_exact(end).map_err(|_| out_of_memory())?;
            buf.resize(offset, 0);
            buf.extend_from_slice(patch);
            ctx.keys.add(key, Value::Str(buf), None)?;
            end
        }
        Some(_) => {
            let buf = ctx.keys.string_mut(key)?;
            if buf.len() < end {
                buf.try_reserve(end - buf.len()).map_err(|_| out_of_memory())?;
                buf.resize(end, 0);
            }
            buf[offset..end].copy_from_slice(patch);
            buf.len()
        }
    };
    ctx.keys.changed(key, notify::STRING, "setrange");
    ctx.out.int(total as i64);
    Ok(())
}

/// INCR, DECR, INCRBY and DECRBY: adds `by` to the integer at `key` (0 when missing), keeping
/// its TTL.
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) -> CmdResult {
    let current = match ctx.keys.write(key)? {
        None => 0,
        Some(e) => match string_value(e.value())? {
            StrRef::Int(i) => i,
            StrRef::Bytes(b) => parse_i64(b).ok_or(errors::NOT_INTEGER)?,
        },
    };
    let value = current.checked_add(by).ok_or(errors::OVERFLOW)?;
    ctx.keys.set_int(key, value)?;
    ctx.keys.changed(key, notify::STRING, "incrby");
    ctx.out.int(value);
    Ok(())
}

fn incr(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    incr_by(ctx, argv[1], 1)
}

fn decr(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    incr_by(ctx, argv[1], -1)
}

fn incrby(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let by = int_arg(argv[2])?;
    incr_by(ctx, argv[1], by)
}

fn decrby(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let by = int_arg(argv[2])?;
    if by == i64::MIN {
        return Err(Error::err("decrement would overflow"));
    }
    incr_by(ctx, argv[1], -by)
}

fn incrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let sum = match ctx.keys.write(key)? {
        None => strings::long_double_add(None, argv[2]),
        Some(e) => {
            let mut digits = itoa::Buffer::new();
            strings::long_double_add(Some(strings::str_bytes(string_value(e.value())?, &mut digits)), argv[2])
        }
    };
    let text = sum.map_err(|e| match e {
        FloatIncrError::NotFloat => errors::NOT_FLOAT,
        FloatIncrError::NanOrInfinity => Error::err("increment would produce NaN or Infinity"),
    })?;
    ctx.out.bulk(&text);
    // Stored as the formatted text (never as an integer), keeping any TTL.
    // Replicas get the result, so that float formatting can never make them diverge.
    ctx.keys.propagate_as(vec![b"SET".to_vec(), key.to_vec(), text.clone(), b"KEEPTTL".to_vec()]);
    ctx.keys.set(key, Value::Str(text), Ttl::Keep)?;
    ctx.keys.changed(key, notify::STRING, "incrbyfloat");
    Ok(())
}

/// A copy of the string at `key` for LCS: empty when missing, `Err` when of another type.
fn lcs_operand(ctx: &mut Ctx, key: &[u8]) -> Result<Result<Vec<u8>, ()>, Error> {
    Ok(match ctx.keys.read(key)? {
        None => Ok(Vec::new()),
        Some(e) => strings::string_of(e.value()).map(|s| s.to_vec()).ok_or(()),
    })
}

fn lcs(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    // Both keys are looked up (and counted) before either is type-checked.
    let a = lcs_operand(ctx, argv[1])?;
    let b = lcs_operand(ctx, argv[2])?;
    let (Ok(a), Ok(b)) = (a, b) else {
        return Err(Error::err("The specified keys must contain string values"));
    };
    let (mut want_len, mut want_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len = 0i64;
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        if is(argv[j], "idx") {
            want_idx = true;
        } else if is(argv[j], "len") {
            want_len = true;
        } else if is(argv[j], "withmatchlen") {
            with_match_len = true;
        } else if is(argv[j], "minmatchlen") && more {
            min_match_len = int_arg(argv[j + 1])?.max(0);
            j += 1;
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    if want_len && want_idx {
        return Err(Error::err("If you want both the length and indexes, please just use IDX."));
    }
    if a.len() as u64 >= u64::from(u32::MAX - 1) || b.len() as u64 >= u64::from(u32::MAX - 1) {
        return Err(Error::err("String too long for LCS"));
    }
    let failed = || Error::err("Insufficient memory, failed allocating transient memory for LCS");
    let table_bytes =
        strings::lcs_table_bytes(a.len(), b.len()).filter(|&n| n < usize::MAX as u64).ok_or_else(failed)?;
    if table_bytes > ctx.engine.config.hot.proto_max_bulk_len.load(Relaxed) {
        return Err(Error::err("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"));
    }
    let want_text = !want_len && !want_idx;
    let r = strings::lcs(&a, &b, want_text, want_idx, min_match_len as u64).ok_or_else(failed)?;
    if want_idx {
        let out = &mut *ctx.out;
        out.map(2);
        out.bulk(b"matches");
        out.array(r.matches.len());
        for m in &r.matches {
            out.array(2 + usize::from(with_match_len));
            out.array(2);
            out.int(i64::from(m.a.0));
            out.int(i64::from(m.a.1));
            out.array(2);
            out.int(i64::from(m.b.0));
            out.int(i64::from(m.b.1));
            if with_match_len {
                out.int(i64::from(m.len));
            }
        }
        out.bulk(b"len");
        out.int(i64::from(r.len));
    } else if want_len {
        ctx.out.int(i64::from(r.len));
    } else {
        ctx.out.bulk(&r.text);
    }
    Ok(())
}

#[cfg(test)]
#[path = "strings_tests.rs"]
pub(crate) mod tests;
