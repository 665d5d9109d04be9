//! OBJECT ENCODING | FREQ | IDLETIME | REFCOUNT | HELP: what Valkey would report about the
//! object behind a key, and the LRU/LFU stamps that COPY and RESTORE give new objects.

use super::doc;
use crate::commands::table::{acl, flags::*, keyflags, reply_help, Command, KeySpec, Lock};
use crate::commands::{CmdResult, Ctx, Error};
use crate::db::Entry;
use crate::engine::{Engine, LRU_CLOCK_MAX, LRU_CLOCK_RESOLUTION_MS};
use crate::keyspace::entry::Kind;
use crate::types::{StrRef, ValueRef};

pub(super) static SUBCOMMANDS: &[Command] = &[
    Command {
        name: "encoding",
        arity: 3,
        flags: READONLY,
        acl: acl::KEYSPACE,
        keys: &[KeySpec::single(2, keyflags::RO)],
        lock: Lock::Keys,
        handler: Some(object_encoding),
        tips: &["nondeterministic_output"],
        doc: doc("Returns the internal encoding of an object.", "2.2.3", "O(1)", "key"),
        ..Command::DEFAULT
    },
    Command {
        name: "freq",
        arity: 3,
        flags: READONLY,
        acl: acl::KEYSPACE,
        keys: &[KeySpec::single(2, keyflags::RO)],
        lock: Lock::Keys,
        handler: Some(object_freq),
        tips: &["nondeterministic_output"],
        doc: doc("Returns the logarithmic access frequency counter of an object.", "4.0.0", "O(1)", "key"),
        ..Command::DEFAULT
    },
    Command {
        name: "help",
        arity: 2,
        flags: LOADING | STALE,
        acl: acl::KEYSPACE,
        handler: Some(object_help),
        doc: doc("Returns helpful text about the different subcommands.", "6.2.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "idletime",
        arity: 3,
        flags: READONLY,
        acl: acl::KEYSPACE,
        keys: &[KeySpec::single(2, keyflags::RO)],
        lock: Lock::Keys,
        handler: Some(object_idletime),
        tips: &["nondeterministic_output"],
        doc: doc("Returns the time since the last access to an object.", "2.2.3", "O(1)", "key"),
        ..Command::DEFAULT
    },
    Command {
        name: "refcount",
        arity: 3,
        flags: READONLY,
        acl: acl::KEYSPACE,
        keys: &[KeySpec::single(2, keyflags::RO)],
        lock: Lock::Keys,
        handler: Some(object_refcount),
        tips: &["nondeterministic_output"],
        doc: doc("Returns the reference count of a value of a key.", "2.2.3", "O(1)", "key"),
        ..Command::DEFAULT
    },
];

/// Valkey's `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`.
const EMBSTR_MAX: usize = 44;
/// Integers below this are Valkey's shared objects (`OBJ_SHARED_INTEGERS`).
const SHARED_INTEGERS: i64 = 10_000;
/// The refcount Valkey reports for shared objects (`OBJ_SHARED_REFCOUNT`).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// The LFU counter of a new object (`LFU_INIT_VAL`).
const LFU_INIT_VAL: u32 = 5;

fn maxmemory_policy(engine: &Engine) -> String {
    engine.config.get("maxmemory-policy")
}

pub(super) fn lfu_policy(engine: &Engine) -> bool {
    maxmemory_policy(engine).ends_with("-lfu")
}

/// Minutes clock of the LFU field (Valkey's `LFUGetTimeInMinutes`).
pub(super) fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xffff) as u32
}

/// The LRU/LFU stamp of a key restored or loaded with an optional LFU counter and idle time
/// (Valkey's `objectSetLRUOrLFU`): the counter is used under an LFU policy, the idle time
/// backdates the access under any other, and a key with neither is stamped as new.
pub(crate) fn lru_stamp(lfu: bool, now_ms: u64, lru_clock: u32, freq: Option<u8>, idle_secs: Option<u64>) -> u32 {
    use crate::engine::{LRU_CLOCK_MAX, LRU_CLOCK_RESOLUTION_MS};
    match (lfu, freq, idle_secs) {
        (true, Some(freq), _) => lfu_minutes(now_ms) << 8 | u32::from(freq),
        (false, _, Some(idle_secs)) => {
            let idle_ticks = (idle_secs as i64).wrapping_mul(1000) / LRU_CLOCK_RESOLUTION_MS as i64;
            let mut at = i64::from(lru_clock).wrapping_sub(idle_ticks);
            if at < 0 {
                at = at.wrapping_add(i64::from(LRU_CLOCK_MAX));
            }
            (at as u32) & LRU_CLOCK_MAX
        }
        (true, ..) => lfu_minutes(now_ms) << 8 | LFU_INIT_VAL,
        (false, ..) => lru_clock,
    }
}

/// The LRU/LFU stamp of an object created now (Valkey's `createObject`).
pub(super) fn new_object_lru(ctx: &Ctx) -> u32 {
    if lfu_policy(ctx.engine) {
        lfu_minutes(ctx.keys.now_ms) << 8 | LFU_INIT_VAL
    } else {
        ctx.keys.lru_clock()
    }
}

/// The OBJECT lookup: no LRU refresh, no `keymiss` event, but hits and misses counted.
fn object_lookup<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<Option<Entry<'k>>, Error> {
    ctx.keys.read_untouched(key, false)
}

/// The encoding name OBJECT ENCODING and DEBUG OBJECT report, Valkey's names.
pub(crate) fn encoding_name(e: &Entry<'_>) -> &'static str {
    match e.value() {
        ValueRef::Str(StrRef::Int(_)) => "int",
        ValueRef::Str(StrRef::Bytes(b)) if e.raw().kind() == Kind::StrInline && b.len() <= EMBSTR_MAX => "embstr",
        ValueRef::Str(StrRef::Bytes(_)) => "raw",
        ValueRef::Hash(h) => h.encoding(),
        ValueRef::Set(s) => s.encoding(),
        ValueRef::ZSet(z) => z.encoding(),
        ValueRef::List(l) => l.encoding(),
        ValueRef::Stream(_) => "stream",
    }
}

/// Seconds since the key was last accessed (Valkey's `estimateObjectIdleTime` / 1000).
pub(crate) fn idle_seconds(lru: u32, now_lru: u32) -> u64 {
    // The LRU clock wraps every 194 days.
    let ticks = if now_lru >= lru { now_lru - lru } else { now_lru + (LRU_CLOCK_MAX - lru) };
    u64::from(ticks) * LRU_CLOCK_RESOLUTION_MS / 1000
}

fn object_encoding(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let name = match object_lookup(ctx, argv[2])? {
        None => {
            ctx.out.null();
            return Ok(());
        }
        Some(e) => encoding_name(&e),
    };
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

fn object_refcount(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let small_int = match object_lookup(ctx, argv[2])? {
        None => {
            ctx.out.null();
            return Ok(());
        }
        Some(e) => matches!(e.value(), ValueRef::Str(StrRef::Int(i)) if (0..SHARED_INTEGERS).contains(&i)),
    };
    // Valkey shares small integers unless an LRU/LFU policy needs per-object access times.
    let shared = small_int && {
        let policy = maxmemory_policy(ctx.engine);
        ctx.engine.config.get_i64("maxmemory") == 0 || !(policy.ends_with("-lru") || policy.ends_with("-lfu"))
    };
    ctx.out.int(if shared { SHARED_REFCOUNT } else { 1 });
    Ok(())
}

fn object_idletime(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let now = ctx.keys.lru_clock();
    let Some(lru) = object_lookup(ctx, argv[2])?.map(|e| e.lru()) else {
        ctx.out.null();
        return Ok(());
    };
    if lfu_policy(ctx.engine) {
        return Err(Error::err("An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    ctx.out.int(idle_seconds(lru, now) as i64);
    Ok(())
}

fn object_freq(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let Some(lfu) = object_lookup(ctx, argv[2])?.map(|e| e.lru()) else {
        ctx.out.null();
        return Ok(());
    };
    if !lfu_policy(ctx.engine) {
        return Err(Error::err("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    let decay_minutes = ctx.engine.config.get_i64("lfu-decay-time");
    ctx.out.int(i64::from(lfu_decayed(lfu, ctx.keys.now_ms, decay_minutes)));
    Ok(())
}

/// The LFU counter of an LFU field after its decay (Valkey's `LFUDecrAndReturn`): one point
/// lost per `decay_minutes` since the last access.
pub(super) fn lfu_decayed(field: u32, now_ms: u64, decay_minutes: i64) -> u32 {
    let last = field >> 8;
    let counter = field & 0xff;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= last { now - last } else { 0xffff - last + now };
    let periods = if decay_minutes > 0 { u64::from(elapsed) / decay_minutes as u64 } else { 0 };
    counter.saturating_sub(u32::try_from(periods).unwrap_or(u32::MAX))
}

fn object_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    reply_help(
        ctx.out,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
    Ok(())
}
