//! The stream family: XADD, XRANGE, XREAD, consumer groups (XGROUP, XREADGROUP, XACK,
//! XPENDING, XCLAIM, XAUTOCLAIM), XINFO and XSETID.
//!
//! This file holds the command table and what the handlers share: ID parsing with Valkey's
//! rules and errors, looking a stream up with Valkey's type checks, changing it in place, and
//! writing entries. The handlers live by theme: `basic.rs` (XADD XRANGE XREVRANGE XLEN XDEL
//! XTRIM XSETID), `read.rs` (XREAD, XREADGROUP, blocking), `groups.rs` (XGROUP XACK XPENDING
//! XCLAIM XAUTOCLAIM) and `info.rs` (XINFO). They follow Valkey's `t_stream.c` where the order
//! is observable: which error wins, which events fire, what is propagated.

mod basic;
mod groups;
mod info;
mod read;
#[cfg(test)]
mod tests;

use super::table::{acl, flags::*, keyflags, BeginSearch, Command, Doc, DocMeta, FindKeys, KeySpec};
use super::{errors, Error};
use crate::db::Keys;
use crate::types::listpack::LpValue;
use crate::types::stream::{EntryView, Stream, StreamId, StreamLimits};
use crate::types::{Value, ValueRef};
use resp::Reply;

pub use read::xread_instead_of_blocking;

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "stream", complexity, syntax }
}

const fn xcmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: &'static [KeySpec],
    handler: super::table::Handler,
    doc: Doc,
) -> Command {
    Command::keyed(acl::STREAM, name, arity, flags, keys, handler, doc)
}

const RW_UPDATE: &[KeySpec] = &[KeySpec::single(1, keyflags::RW | keyflags::UPDATE)];
const RW_DELETE: &[KeySpec] = &[KeySpec::single(1, keyflags::RW | keyflags::DELETE)];
const RO_ACCESS: &[KeySpec] = &[KeySpec::single(1, keyflags::RO | keyflags::ACCESS)];
const SUB_RW_INSERT: &[KeySpec] = &[KeySpec::single(2, keyflags::RW | keyflags::INSERT)];
const SUB_RW_DELETE: &[KeySpec] = &[KeySpec::single(2, keyflags::RW | keyflags::DELETE)];
const SUB_RW_UPDATE: &[KeySpec] = &[KeySpec::single(2, keyflags::RW | keyflags::UPDATE)];
const SUB_RO_ACCESS: &[KeySpec] = &[KeySpec::single(2, keyflags::RO | keyflags::ACCESS)];
const XREAD_KEYS: &[KeySpec] = &[KeySpec {
    flags: keyflags::RO | keyflags::ACCESS,
    begin: BeginSearch::Keyword { keyword: "STREAMS", startfrom: 1 },
    find: FindKeys::Range { lastkey: -1, step: 1, limit: 2 },
    notes: "",
}];
const XREADGROUP_KEYS: &[KeySpec] = &[KeySpec {
    flags: keyflags::RW | keyflags::UPDATE,
    begin: BeginSearch::Keyword { keyword: "STREAMS", startfrom: 4 },
    find: FindKeys::Range { lastkey: -1, step: 1, limit: 2 },
    notes: "",
}];

const RANGE_COMPLEXITY: &str = "O(N) with N being the number of elements being returned. If N is constant (e.g. \
always asking for the first 10 elements with COUNT), you can consider it O(1).";

static XGROUP_SUBCOMMANDS: &[Command] = &[
    Command {
        doc_meta: DocMeta { history: &[("7.0.0", "Added the `entries_read` named argument.")], ..DocMeta::NONE },
        ..xcmd(
            "create",
            -5,
            WRITE | DENYOOM,
            SUB_RW_INSERT,
            groups::xgroup_create,
            doc(
                "Creates a consumer group.",
                "5.0.0",
                "O(1)",
                "key group <id | $> [MKSTREAM] [ENTRIESREAD entries-read]",
            ),
        )
    },
    xcmd(
        "createconsumer",
        5,
        WRITE | DENYOOM,
        SUB_RW_INSERT,
        groups::xgroup_createconsumer,
        doc("Creates a consumer in a consumer group.", "6.2.0", "O(1)", "key group consumer"),
    ),
    xcmd(
        "delconsumer",
        5,
        WRITE,
        SUB_RW_DELETE,
        groups::xgroup_delconsumer,
        doc("Deletes a consumer from a consumer group.", "5.0.0", "O(1)", "key group consumer"),
    ),
    xcmd(
        "destroy",
        4,
        WRITE,
        SUB_RW_DELETE,
        groups::xgroup_destroy,
        doc(
            "Destroys a consumer group.",
            "5.0.0",
            "O(N) where N is the number of entries in the group's pending entries list (PEL).",
            "key group",
        ),
    ),
    Command {
        name: "help",
        arity: 2,
        flags: LOADING | STALE,
        acl: acl::STREAM,
        handler: Some(groups::xgroup_help),
        doc: doc("Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        doc_meta: DocMeta { history: &[("7.0.0", "Added the optional `entries_read` argument.")], ..DocMeta::NONE },
        ..xcmd(
            "setid",
            -5,
            WRITE,
            SUB_RW_UPDATE,
            groups::xgroup_setid,
            doc(
                "Sets the last-delivered ID of a consumer group.",
                "5.0.0",
                "O(1)",
                "key group <id | $> [ENTRIESREAD entries-read]",
            ),
        )
    },
];

static XINFO_SUBCOMMANDS: &[Command] = &[
    Command {
        tips: &["nondeterministic_output"],
        doc_meta: DocMeta {
            history: &[("7.2.0", "Added the `inactive` field, and changed the meaning of `idle`.")],
            ..DocMeta::NONE
        },
        ..xcmd(
            "consumers",
            4,
            READONLY,
            SUB_RO_ACCESS,
            info::xinfo_consumers,
            doc("Returns a list of the consumers in a consumer group.", "5.0.0", "O(1)", "key group"),
        )
    },
    Command {
        doc_meta: DocMeta { history: &[("7.0.0", "Added the `entries-read` and `lag` fields")], ..DocMeta::NONE },
        ..xcmd(
            "groups",
            3,
            READONLY,
            SUB_RO_ACCESS,
            info::xinfo_groups,
            doc("Returns a list of the consumer groups of a stream.", "5.0.0", "O(1)", "key"),
        )
    },
    Command {
        name: "help",
        arity: 2,
        flags: LOADING | STALE,
        acl: acl::STREAM,
        handler: Some(info::xinfo_help),
        doc: doc("Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        doc_meta: DocMeta {
            history: &[
                ("6.0.0", "Added the `FULL` modifier."),
                (
                    "7.0.0",
                    "Added the `max-deleted-entry-id`, `entries-added`, `recorded-first-entry-id`, `entries-read` and `lag` fields",
                ),
                ("7.2.0", "Added the `active-time` field, and changed the meaning of `seen-time`."),
            ],
            ..DocMeta::NONE
        },
        ..xcmd(
            "stream",
            -3,
            READONLY,
            SUB_RO_ACCESS,
            info::xinfo_stream,
            doc("Returns information about a stream.", "5.0.0", "O(1)", "key [FULL [COUNT count]]"),
        )
    },
];

pub static COMMANDS: &[Command] = &[
    xcmd(
        "xack",
        -4,
        WRITE | FAST,
        RW_UPDATE,
        groups::xack,
        doc(
            "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.",
            "5.0.0",
            "O(1) for each message ID processed.",
            "key group id [id ...]",
        ),
    ),
    Command {
        tips: &["nondeterministic_output"],
        doc_meta: DocMeta {
            history: &[
                ("6.2.0", "Added the `NOMKSTREAM` option, `MINID` trimming strategy and the `LIMIT` option."),
                ("7.0.0", "Added support for the `<ms>-*` explicit ID form."),
            ],
            ..DocMeta::NONE
        },
        ..xcmd(
            "xadd",
            -5,
            WRITE | DENYOOM | FAST,
            &[KeySpec {
                notes: "UPDATE instead of INSERT because of the optional trimming feature",
                ..KeySpec::single(1, keyflags::RW | keyflags::UPDATE)
            }],
            basic::xadd,
            doc(
                "Appends a new message to a stream. Creates the key if it doesn't exist.",
                "5.0.0",
                "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.",
                "key [NOMKSTREAM] [<MAXLEN | MINID> [= | ~] threshold [LIMIT count]] <* | id> field value [field value ...]",
            ),
        )
    },
    Command {
        tips: &["nondeterministic_output"],
        doc_meta: DocMeta {
            history: &[(
                "7.0.0",
                "Added an element to the reply array, containing deleted entries the command cleared from the PEL",
            )],
            ..DocMeta::NONE
        },
        ..xcmd(
            "xautoclaim",
            -6,
            WRITE | FAST,
            RW_DELETE,
            groups::xautoclaim,
            doc(
                "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.",
                "6.2.0",
                "O(1) if COUNT is small.",
                "key group consumer min-idle-time start [COUNT count] [JUSTID]",
            ),
        )
    },
    Command {
        tips: &["nondeterministic_output"],
        ..xcmd(
            "xclaim",
            -6,
            WRITE | FAST,
            RW_UPDATE,
            groups::xclaim,
            doc(
                "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.",
                "5.0.0",
                "O(log N) with N being the number of messages in the PEL of the consumer group.",
                "key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]",
            ),
        )
    },
    xcmd(
        "xdel",
        -3,
        WRITE | FAST,
        RW_DELETE,
        basic::xdel,
        doc(
            "Returns the number of messages after removing them from a stream.",
            "5.0.0",
            "O(1) for each single item to delete in the stream, regardless of the stream size.",
            "key id [id ...]",
        ),
    ),
    Command {
        name: "xgroup",
        arity: -2,
        subcommands: XGROUP_SUBCOMMANDS,
        doc: doc("A container for consumer groups commands.", "5.0.0", "Depends on subcommand.", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "xinfo",
        arity: -2,
        subcommands: XINFO_SUBCOMMANDS,
        doc: doc("A container for stream introspection commands.", "5.0.0", "Depends on subcommand.", ""),
        ..Command::DEFAULT
    },
    xcmd(
        "xlen",
        2,
        READONLY | FAST,
        &[KeySpec::single(1, keyflags::RO)],
        basic::xlen,
        doc("Return the number of messages in a stream.", "5.0.0", "O(1)", "key"),
    ),
    Command {
        tips: &["nondeterministic_output"],
        doc_meta: DocMeta { history: &[("6.2.0", "Added the `IDLE` option and exclusive range intervals.")], ..DocMeta::NONE },
        ..xcmd(
            "xpending",
            -3,
            READONLY,
            RO_ACCESS,
            groups::xpending,
            doc(
                "Returns the information and entries from a stream consumer group's pending entries list.",
                "5.0.0",
                "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.",
                "key group [[IDLE min-idle-time] start end count [consumer]]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { history: &[("6.2.0", "Added exclusive ranges.")], ..DocMeta::NONE },
        ..xcmd(
            "xrange",
            -4,
            READONLY,
            RO_ACCESS,
            basic::xrange,
            doc(
                "Returns the messages from a stream within a range of IDs.",
                "5.0.0",
                RANGE_COMPLEXITY,
                "key start end [COUNT count]",
            ),
        )
    },
    xcmd(
        "xread",
        -4,
        BLOCKING | READONLY,
        XREAD_KEYS,
        read::xread,
        doc(
            "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.",
            "5.0.0",
            "",
            "[COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]",
        ),
    ),
    xcmd(
        "xreadgroup",
        -7,
        BLOCKING | WRITE,
        XREADGROUP_KEYS,
        read::xreadgroup,
        doc(
            "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.",
            "5.0.0",
            "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.",
            "GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]",
        ),
    ),
    Command {
        doc_meta: DocMeta { history: &[("6.2.0", "Added exclusive ranges.")], ..DocMeta::NONE },
        ..xcmd(
            "xrevrange",
            -4,
            READONLY,
            RO_ACCESS,
            basic::xrevrange,
            doc(
                "Returns the messages from a stream within a range of IDs in reverse order.",
                "5.0.0",
                RANGE_COMPLEXITY,
                "key end start [COUNT count]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta {
            history: &[("7.0.0", "Added the `entries_added` and `max_deleted_entry_id` arguments.")],
            ..DocMeta::NONE
        },
        ..xcmd(
            "xsetid",
            -3,
            WRITE | DENYOOM | FAST,
            RW_UPDATE,
            basic::xsetid,
            doc(
                "An internal command for replicating stream values.",
                "5.0.0",
                "O(1)",
                "key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]",
            ),
        )
    },
    Command {
        tips: &["nondeterministic_output"],
        doc_meta: DocMeta {
            history: &[("6.2.0", "Added the `MINID` trimming strategy and the `LIMIT` option.")],
            ..DocMeta::NONE
        },
        ..xcmd(
            "xtrim",
            -4,
            WRITE,
            RW_DELETE,
            basic::xtrim,
            doc(
                "Deletes messages from the beginning of a stream.",
                "5.0.0",
                "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.",
                "key <MAXLEN | MINID> [= | ~] threshold [LIMIT count]",
            ),
        )
    },
];

// ---- Errors ----

pub(super) const INVALID_ID: Error = Error::coded_static("ERR Invalid stream ID specified as stream command argument");

/// `ERR unknown subcommand or wrong number of arguments for '<sub>'. Try XGROUP HELP.`
pub(super) fn subcommand_syntax_error(argv: &[&[u8]]) -> Error {
    let cmd = String::from_utf8_lossy(argv[0]).to_uppercase();
    let sub = &argv[1][..argv[1].len().min(128)];
    Error::err_quoting("unknown subcommand or wrong number of arguments for '", sub, &format!("'. Try {cmd} HELP."))
}

/// An error whose text quotes arguments byte for byte (`-NOGROUP No such key '...'`).
pub(super) fn coded_quoting(parts: &[&[u8]]) -> Error {
    let mut text = Vec::new();
    for p in parts {
        let p = &p[..p.iter().position(|&b| b == 0).unwrap_or(p.len())];
        text.extend_from_slice(p);
    }
    Error(std::borrow::Cow::Owned(text))
}

// ---- ID parsing (Valkey's `streamGenericParseIDOrReply`) ----

/// Valkey's `string2ull`: a canonical non-negative integer, or what `strtoull` accepts
/// (leading blanks, a sign, leading zeros) without overflow.
fn parse_u64(s: &[u8]) -> Option<u64> {
    if let Some(v) = resp::number::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    if i >= s.len() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in &s[i..] {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Parses an ID. `strict` refuses `-` and `+`; `missing_seq` is the sequence of `<ms>`
/// alone. With `allow_auto_seq`, `<ms>-*` gives `(id, false)` (sequence to generate).
pub(super) fn parse_id_full(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    allow_auto_seq: bool,
) -> Result<(StreamId, bool), Error> {
    if arg.len() > 127 {
        return Err(INVALID_ID);
    }
    // C string semantics: the argument ends at its first NUL.
    let arg = &arg[..arg.iter().position(|&b| b == 0).unwrap_or(arg.len())];
    if arg == b"-" || arg == b"+" {
        if strict {
            return Err(INVALID_ID);
        }
        return Ok((if arg == b"-" { StreamId::MIN } else { StreamId::MAX }, true));
    }
    let (ms_part, seq_part) = match arg.iter().position(|&b| b == b'-') {
        Some(d) => (&arg[..d], Some(&arg[d + 1..])),
        None => (arg, None),
    };
    let ms = parse_u64(ms_part).ok_or(INVALID_ID)?;
    match seq_part {
        Some(b"*") if allow_auto_seq => Ok((StreamId::new(ms, 0), false)),
        Some(s) => Ok((StreamId::new(ms, parse_u64(s).ok_or(INVALID_ID)?), true)),
        None => Ok((StreamId::new(ms, missing_seq), true)),
    }
}

pub(super) fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, Error> {
    parse_id_full(arg, missing_seq, false, false).map(|(id, _)| id)
}

pub(super) fn parse_strict_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, Error> {
    parse_id_full(arg, missing_seq, true, false).map(|(id, _)| id)
}

/// A range bound: `(`-prefixed means exclusive (and strict).
pub(super) fn parse_interval(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), Error> {
    if arg.len() > 1 && arg[0] == b'(' {
        Ok((parse_strict_id(&arg[1..], missing_seq)?, true))
    } else {
        Ok((parse_id(arg, missing_seq)?, false))
    }
}

/// The start and end of a range as XRANGE and XPENDING read them.
pub(super) fn parse_range(start: &[u8], end: &[u8]) -> Result<(StreamId, StreamId), Error> {
    let (mut s, sex) = parse_interval(start, 0)?;
    if sex {
        s = s.incr().ok_or_else(|| Error::err("invalid start ID for the interval"))?;
    }
    let (mut e, eex) = parse_interval(end, u64::MAX)?;
    if eex {
        e = e.decr().ok_or_else(|| Error::err("invalid end ID for the interval"))?;
    }
    Ok((s, e))
}

// ---- Lookups and changes ----

/// Whether `key` holds a stream, looked up for writing: WRONGTYPE for another type.
pub(super) fn write_exists(keys: &mut Keys<'_>, key: &[u8]) -> Result<bool, Error> {
    match keys.write(key)? {
        None => Ok(false),
        Some(e) if matches!(e.value(), ValueRef::Stream(_)) => Ok(true),
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// Runs `f` on the stream at `key` in place; the caller checked it is one.
pub(super) fn with_stream<R>(keys: &mut Keys<'_>, key: &[u8], f: impl FnOnce(&mut Stream) -> R) -> Result<R, Error> {
    match keys.modify(key, |v| match v {
        Value::Stream(s) => Some(f(s)),
        _ => None,
    })? {
        Some(Some(r)) => Ok(r),
        Some(None) => Err(errors::WRONGTYPE),
        None => Err(Error::internal("stream vanished under its lock")),
    }
}

/// A stream event that does not count as a modification of the key for WATCH (Valkey emits
/// these without `signalModifiedKey`): the event and a dirty count.
pub(super) fn stream_event(keys: &mut Keys<'_>, key: &[u8], event: &'static str) {
    let db = keys.db;
    keys.effects.dirty += 1;
    keys.notify(crate::notify::STREAM, event, db, key);
}

pub(super) fn limits(keys: &Keys<'_>) -> StreamLimits {
    keys.engine().config.hot.stream_limits()
}

// ---- Replies ----

/// Writes an ID as a bulk string.
pub(super) fn reply_id(out: &mut Reply, id: StreamId) {
    let mut buf = [0u8; 48];
    let mut n = 0;
    let mut b = itoa::Buffer::new();
    for (i, part) in [id.ms, id.seq].into_iter().enumerate() {
        if i == 1 {
            buf[n] = b'-';
            n += 1;
        }
        let s = b.format(part).as_bytes();
        buf[n..n + s.len()].copy_from_slice(s);
        n += s.len();
    }
    out.bulk(&buf[..n]);
}

fn reply_value(out: &mut Reply, v: LpValue<'_>) {
    super::coll::reply_element(out, v);
}

/// `[id, [field, value, ...]]`.
pub(super) fn reply_entry(out: &mut Reply, e: &EntryView<'_>) {
    out.array(2);
    reply_id(out, e.id);
    out.array(e.field_count() * 2);
    e.for_each(|f, v| {
        reply_value(out, f);
        reply_value(out, v);
    });
}

/// Replies the live entries of `[start, end]` (at most `count`, 0 for all).
pub(super) fn reply_range(
    out: &mut Reply,
    s: &Stream,
    start: StreamId,
    end: StreamId,
    count: usize,
    rev: bool,
) -> usize {
    let d = out.deferred(resp::reply::Aggregate::Array);
    let mut n = 0;
    for e in s.range(start, end, rev) {
        reply_entry(out, &e);
        n += 1;
        if count != 0 && n == count {
            break;
        }
    }
    out.fill_deferred(d, n);
    n
}

fn argv_owned(argv: &[&[u8]]) -> Vec<Vec<u8>> {
    argv.iter().map(|a| a.to_vec()).collect()
}
