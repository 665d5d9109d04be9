//! List commands: the table of all of them and what their handlers share. The handlers live in
//! `ends.rs` (pushes, pops, LMPOP, LMOVE: the ends of lists), `middle.rs` (LLEN LRANGE LINDEX
//! LPOS LSET LINSERT LREM LTRIM) and `blocking.rs` (BLPOP BRPOP BLMPOP BLMOVE BRPOPLPUSH).
//!
//! Handlers follow Valkey's `t_list.c` step by step where the order is observable: which error
//! wins (argument parsing before or after the key lookup), which lookups count as keyspace
//! hits, the keyspace events and their order (LMOVE reports the push before the pop), `dirty`
//! (one per element pushed or removed: LMOVE counts one), and when an encoding conversion is
//! tried. The operations that a served blocked client also runs (popping from the first
//! non-empty list, moving an element) take `Keys` and a `Reply` rather than a `Ctx`, so that
//! `blocking.rs` can run them on the client's behalf.

mod blocking;
#[cfg(test)]
mod blocking_tests;
mod ends;
mod middle;
#[cfg(test)]
mod tests;

/// What BLPOP/BRPOP/BLMPOP and BLMOVE/BRPOPLPUSH answer where a client may not block (inside
/// MULTI, scripts) and there is nothing to take: for the dispatcher's transaction and script
/// paths.
pub use blocking::{move_instead_of_blocking, pop_instead_of_blocking};

use super::table::{acl, doc_flags, flags::*, keyflags, Command, Doc, DocMeta, KeySpec};
use super::{errors, is, CmdResult, Error};
use crate::db::Keys;
use crate::notify;
use crate::types::list::{List, ListLimits, ListRef};
use crate::types::listpack::LpValue;
use crate::types::{Value, ValueRef};
use resp::Reply;

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "list", complexity, syntax }
}

const fn list_cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: &'static [KeySpec],
    handler: super::table::Handler,
    doc: Doc,
) -> Command {
    Command::keyed(acl::LIST, name, arity, flags, keys, handler, doc)
}

const PUSH_KEY: &[KeySpec] = &[KeySpec::single(1, keyflags::RW | keyflags::INSERT)];
const POP_KEY: &[KeySpec] = &[KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::DELETE)];
const READ_KEY: &[KeySpec] = &[KeySpec::single(1, keyflags::RO | keyflags::ACCESS)];
const REMOVE_KEY: &[KeySpec] = &[KeySpec::single(1, keyflags::RW | keyflags::DELETE)];
const MOVE_KEYS: &[KeySpec] = &[
    KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::DELETE),
    KeySpec::single(2, keyflags::RW | keyflags::INSERT),
];
const PUSH_COMPLEXITY: &str =
    "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.";
const MPOP_COMPLEXITY: &str = "O(N+M) where N is the number of provided keys and M is the number of elements returned.";

pub static COMMANDS: &[Command] = &[
    Command {
        doc_meta: DocMeta { history: &[("2.4.0", "Accepts multiple `element` arguments.")], ..DocMeta::NONE },
        ..list_cmd(
            "lpush",
            -3,
            WRITE | DENYOOM | FAST,
            PUSH_KEY,
            ends::lpush,
            doc(
                "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
                "1.0.0",
                PUSH_COMPLEXITY,
                "key element [element ...]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { history: &[("2.4.0", "Accepts multiple `element` arguments.")], ..DocMeta::NONE },
        ..list_cmd(
            "rpush",
            -3,
            WRITE | DENYOOM | FAST,
            PUSH_KEY,
            ends::rpush,
            doc(
                "Appends one or more elements to a list. Creates the key if it doesn't exist.",
                "1.0.0",
                PUSH_COMPLEXITY,
                "key element [element ...]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { history: &[("4.0.0", "Accepts multiple `element` arguments.")], ..DocMeta::NONE },
        ..list_cmd(
            "lpushx",
            -3,
            WRITE | DENYOOM | FAST,
            PUSH_KEY,
            ends::lpushx,
            doc(
                "Prepends one or more elements to a list only when the list exists.",
                "2.2.0",
                PUSH_COMPLEXITY,
                "key element [element ...]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { history: &[("4.0.0", "Accepts multiple `element` arguments.")], ..DocMeta::NONE },
        ..list_cmd(
            "rpushx",
            -3,
            WRITE | DENYOOM | FAST,
            PUSH_KEY,
            ends::rpushx,
            doc(
                "Appends an element to a list only when the list exists.",
                "2.2.0",
                PUSH_COMPLEXITY,
                "key element [element ...]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { history: &[("6.2.0", "Added the `count` argument.")], ..DocMeta::NONE },
        ..list_cmd(
            "lpop",
            -2,
            WRITE | FAST,
            POP_KEY,
            ends::lpop,
            doc(
                "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
                "1.0.0",
                "O(N) where N is the number of elements returned",
                "key [count]",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { history: &[("6.2.0", "Added the `count` argument.")], ..DocMeta::NONE },
        ..list_cmd(
            "rpop",
            -2,
            WRITE | FAST,
            POP_KEY,
            ends::rpop,
            doc(
                "Returns and removes the last elements of a list. Deletes the list if the last element was popped.",
                "1.0.0",
                "O(N) where N is the number of elements returned",
                "key [count]",
            ),
        )
    },
    list_cmd(
        "llen",
        2,
        READONLY | FAST,
        &[KeySpec::single(1, keyflags::RO)],
        middle::llen,
        doc("Returns the length of a list.", "1.0.0", "O(1)", "key"),
    ),
    list_cmd(
        "lrange",
        4,
        READONLY,
        READ_KEY,
        middle::lrange,
        doc(
            "Returns a range of elements from a list.",
            "1.0.0",
            "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) \
             for large lists; and N is the number of elements in the specified range.",
            "key start stop",
        ),
    ),
    list_cmd(
        "lindex",
        3,
        READONLY,
        READ_KEY,
        middle::lindex,
        doc(
            "Returns an element from a list by its index.",
            "1.0.0",
            "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for \
             the first or the last element of the list O(1).",
            "key index",
        ),
    ),
    list_cmd(
        "lset",
        4,
        WRITE | DENYOOM,
        &[KeySpec::single(1, keyflags::RW | keyflags::UPDATE)],
        middle::lset,
        doc(
            "Sets the value of an element in a list by its index.",
            "1.0.0",
            "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).",
            "key index element",
        ),
    ),
    list_cmd(
        "linsert",
        5,
        WRITE | DENYOOM,
        PUSH_KEY,
        middle::linsert,
        doc(
            "Inserts an element before or after another element in a list.",
            "2.2.0",
            "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that \
             inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on \
             the right end (tail) is O(N).",
            "key <BEFORE | AFTER> pivot element",
        ),
    ),
    list_cmd(
        "lrem",
        4,
        WRITE,
        REMOVE_KEY,
        middle::lrem,
        doc(
            "Removes elements from a list. Deletes the list if the last element was removed.",
            "1.0.0",
            "O(N+M) where N is the length of the list and M is the number of elements removed.",
            "key count element",
        ),
    ),
    list_cmd(
        "ltrim",
        4,
        WRITE,
        REMOVE_KEY,
        middle::ltrim,
        doc(
            "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
            "1.0.0",
            "O(N) where N is the number of elements to be removed by the operation.",
            "key start stop",
        ),
    ),
    list_cmd(
        "lpos",
        -3,
        READONLY,
        READ_KEY,
        middle::lpos,
        doc(
            "Returns the index of matching elements in a list.",
            "6.0.6",
            "O(N) where N is the number of elements in the list, for the average case. When searching for elements \
             near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in \
             constant time.",
            "key element [RANK rank] [COUNT num-matches] [MAXLEN len:integer]",
        ),
    ),
    list_cmd(
        "lmove",
        5,
        WRITE | DENYOOM,
        MOVE_KEYS,
        ends::lmove,
        doc(
            "Returns an element after popping it from one list and pushing it to another. Deletes the list if the \
             last element was moved.",
            "6.2.0",
            "O(1)",
            "source destination <LEFT | RIGHT> <LEFT | RIGHT>",
        ),
    ),
    Command {
        doc_meta: DocMeta {
            flags: doc_flags::DEPRECATED,
            deprecated_since: "6.2.0",
            replaced_by: "`LMOVE` with the `RIGHT` and `LEFT` arguments",
            history: &[],
        },
        ..list_cmd(
            "rpoplpush",
            3,
            WRITE | DENYOOM,
            MOVE_KEYS,
            ends::rpoplpush,
            doc(
                "Returns the last element of a list after removing and pushing it to another list. Deletes the list if \
                 the last element was popped.",
                "1.2.0",
                "O(1)",
                "source destination",
            ),
        )
    },
    list_cmd(
        "lmpop",
        -4,
        WRITE,
        &[KeySpec::keynum(1, keyflags::RW | keyflags::ACCESS | keyflags::DELETE)],
        ends::lmpop,
        doc(
            "Returns multiple elements from a list after removing them. Deletes the list if the last element was \
             popped.",
            "7.0.0",
            MPOP_COMPLEXITY,
            "numkeys key [key ...] <LEFT | RIGHT> [COUNT count]",
        ),
    ),
    Command {
        doc_meta: DocMeta { history: &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")], ..DocMeta::NONE },
        ..list_cmd(
            "blpop",
            -3,
            WRITE | BLOCKING,
            &[KeySpec::range(1, -2, 1, keyflags::RW | keyflags::ACCESS | keyflags::DELETE)],
            blocking::blpop,
            doc(
                "Removes and returns the first element in a list. Blocks until an element is available otherwise. \
                 Deletes the list if the last element was popped.",
                "2.0.0",
                "O(N) where N is the number of provided keys.",
                "key [key ...] timeout",
            ),
        )
    },
    Command {
        doc_meta: DocMeta { history: &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")], ..DocMeta::NONE },
        ..list_cmd(
            "brpop",
            -3,
            WRITE | BLOCKING,
            &[KeySpec::range(1, -2, 1, keyflags::RW | keyflags::ACCESS | keyflags::DELETE)],
            blocking::brpop,
            doc(
                "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes \
                 the list if the last element was popped.",
                "2.0.0",
                "O(N) where N is the number of provided keys.",
                "key [key ...] timeout",
            ),
        )
    },
    list_cmd(
        "blmove",
        6,
        WRITE | DENYOOM | BLOCKING,
        MOVE_KEYS,
        blocking::blmove,
        doc(
            "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is \
             available otherwise. Deletes the list if the last element was moved.",
            "6.2.0",
            "O(1)",
            "source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout",
        ),
    ),
    Command {
        doc_meta: DocMeta {
            flags: doc_flags::DEPRECATED,
            deprecated_since: "6.2.0",
            replaced_by: "`BLMOVE` with the `RIGHT` and `LEFT` arguments",
            history: &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")],
        },
        ..list_cmd(
            "brpoplpush",
            4,
            WRITE | DENYOOM | BLOCKING,
            MOVE_KEYS,
            blocking::brpoplpush,
            doc(
                "Pops an element from a list, pushes it to another list and returns it. Block until an element is \
                 available otherwise. Deletes the list if the last element was popped.",
                "2.2.0",
                "O(1)",
                "source destination timeout",
            ),
        )
    },
    list_cmd(
        "blmpop",
        -5,
        WRITE | BLOCKING,
        &[KeySpec::keynum(2, keyflags::RW | keyflags::ACCESS | keyflags::DELETE)],
        blocking::blmpop,
        doc(
            "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. \
             Deletes the list if the last element was popped.",
            "7.0.0",
            MPOP_COMPLEXITY,
            "timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]",
        ),
    ),
];

// ---- Helpers ----

pub(super) fn limits(keys: &Keys<'_>) -> ListLimits {
    keys.engine().config.hot.list_limits()
}

/// The list in a value, or WRONGTYPE.
pub(super) fn as_list(v: ValueRef<'_>) -> Result<ListRef<'_>, Error> {
    match v {
        ValueRef::List(l) => Ok(l),
        _ => Err(errors::WRONGTYPE),
    }
}

/// Valkey's `lookupKeyWrite` + `checkType`: the length of the list at `key`, `None` if there
/// is no such key.
pub(super) fn write_len(keys: &mut Keys<'_>, key: &[u8]) -> Result<Option<usize>, Error> {
    match keys.write(key)? {
        Some(e) => Ok(Some(as_list(e.value())?.len())),
        None => Ok(None),
    }
}

/// Runs `f` on the list at `key` with a single lookup (Valkey's `lookupKeyWrite` and
/// `checkType`): `None` if there is no such key, WRONGTYPE if it holds something else.
pub(super) fn modify_list<R>(
    keys: &mut Keys<'_>,
    key: &[u8],
    f: impl FnOnce(&mut List) -> R,
) -> Result<Option<R>, Error> {
    let r = keys.modify(key, |v| match v {
        Value::List(l) => Ok(f(l)),
        _ => Err(errors::WRONGTYPE),
    })?;
    r.transpose()
}

/// Runs `f` on the list at `key`, which the caller found to be one.
pub(super) fn with_list<R>(keys: &mut Keys<'_>, key: &[u8], f: impl FnOnce(&mut List) -> R) -> Result<R, Error> {
    let r = keys.modify(key, |v| match v {
        Value::List(l) => Ok(f(l)),
        _ => Err(errors::WRONGTYPE),
    })?;
    r.unwrap_or_else(|| Err(Error::internal("list vanished under its lock")))
}

/// An element as a bulk string.
pub(super) fn reply_element(out: &mut Reply, v: LpValue<'_>) {
    match v {
        LpValue::Str(s) => out.bulk(s),
        LpValue::Int(i) => out.bulk_i64(i),
    }
}

/// `LEFT` (the head) or `RIGHT` (the tail).
pub(super) fn side_arg(a: &[u8]) -> Result<bool, Error> {
    if is(a, "left") {
        Ok(true)
    } else if is(a, "right") {
        Ok(false)
    } else {
        Err(errors::SYNTAX)
    }
}

pub(super) fn pop_event(head: bool) -> &'static str {
    if head {
        "lpop"
    } else {
        "rpop"
    }
}

pub(super) fn push_event(head: bool) -> &'static str {
    if head {
        "lpush"
    } else {
        "rpush"
    }
}

/// What follows removing elements from a list (Valkey's `listElementsRemoved` and its kin):
/// the event, then the key's deletion (with `del`) if the list is empty. The caller already
/// gave a non-empty list its chance to convert back to a listpack. Sets `dirty` to Valkey's
/// count: one per element removed.
pub(super) fn removal_done(
    keys: &mut Keys<'_>,
    key: &[u8],
    event: &'static str,
    removed: usize,
    empty: bool,
) -> CmdResult {
    let dirty = keys.effects.dirty;
    keys.changed(key, notify::LIST, event);
    if empty {
        keys.delete(key)?;
    }
    keys.effects.dirty = dirty + removed as u64;
    Ok(())
}

/// After removing elements: whether the list is empty, shrinking it if it is not.
pub(super) fn settle_after_removal(l: &mut List, limits: ListLimits) -> bool {
    let empty = l.is_empty();
    if !empty {
        l.shrink(limits);
    }
    empty
}
