//! The COMMAND family: COMMAND, COMMAND COUNT / INFO / DOCS / LIST / GETKEYS /
//! GETKEYSANDFLAGS / HELP.
//!
//! Everything here is read from the command table (`table.rs`): flags, ACL categories, key
//! specs, documentation. `COMMAND DOCS` turns each command's syntax string into Valkey's
//! argument tree (`argtree.rs`). Clients depend on these replies (valkey-cli and redis-cli
//! build their hints from `COMMAND DOCS`, cluster clients route with `COMMAND INFO`), so their
//! shapes follow Valkey's `addReplyCommandInfo` / `addReplyCommandDocs` exactly.

use super::argtree::{self, Arg};
use super::table::{
    acl, doc_flags, flags::*, keyflags, reply_help, BeginSearch, Command, Doc, DocMeta, FindKeys, KeySpec, Lookup,
    Resolved,
};
use super::{is, CmdResult, Ctx, Error};
use crate::util::glob_match;
use resp::Reply;

const CONN: u64 = acl::CONNECTION;
const INTROSPECTION: u32 = LOADING | STALE;

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "server", complexity, syntax }
}

pub static COMMANDS: &[Command] = &[Command {
    name: "command",
    arity: -1,
    flags: INTROSPECTION,
    acl: CONN,
    handler: Some(command_all),
    subcommands: SUBCOMMANDS,
    tips: &["nondeterministic_output_order"],
    doc: doc(
        "Returns detailed information about all commands.",
        "2.8.13",
        "O(N) where N is the total number of commands",
        "",
    ),
    ..Command::DEFAULT
}];

static SUBCOMMANDS: &[Command] = &[
    Command {
        name: "count",
        arity: 2,
        flags: INTROSPECTION,
        acl: CONN,
        handler: Some(command_count),
        doc: doc("Returns a count of commands.", "2.8.13", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "docs",
        arity: -2,
        flags: INTROSPECTION,
        acl: CONN,
        handler: Some(command_docs),
        tips: &["nondeterministic_output_order"],
        doc: doc(
            "Returns documentary information about one, multiple or all commands.",
            "7.0.0",
            "O(N) where N is the number of commands to look up",
            "[command-name [command-name ...]]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "getkeys",
        arity: -3,
        flags: INTROSPECTION,
        acl: CONN,
        handler: Some(command_getkeys),
        doc: doc(
            "Extracts the key names from an arbitrary command.",
            "2.8.13",
            "O(N) where N is the number of arguments to the command",
            "command [arg [arg ...]]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "getkeysandflags",
        arity: -3,
        flags: INTROSPECTION,
        acl: CONN,
        handler: Some(command_getkeysandflags),
        doc: doc(
            "Extracts the key names and access flags for an arbitrary command.",
            "7.0.0",
            "O(N) where N is the number of arguments to the command",
            "command [arg [arg ...]]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "help",
        arity: 2,
        flags: INTROSPECTION,
        acl: CONN,
        handler: Some(command_help),
        doc: doc("Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "info",
        arity: -2,
        flags: INTROSPECTION,
        acl: CONN,
        handler: Some(command_info),
        tips: &["nondeterministic_output_order"],
        doc: doc(
            "Returns information about one, multiple or all commands.",
            "2.8.13",
            "O(N) where N is the number of commands to look up",
            "[command-name [command-name ...]]",
        ),
        doc_meta: DocMeta {
            history: &[("7.0.0", "Allowed to be called with no argument to get info on all commands.")],
            ..DocMeta::NONE
        },
        ..Command::DEFAULT
    },
    Command {
        name: "list",
        arity: -2,
        flags: INTROSPECTION,
        acl: CONN,
        handler: Some(command_list),
        tips: &["nondeterministic_output_order"],
        doc: doc(
            "Returns a list of command names.",
            "7.0.0",
            "O(N) where N is the total number of commands",
            "[FILTERBY <MODULE module-name | ACLCAT category | PATTERN pattern>]",
        ),
        ..Command::DEFAULT
    },
];

/// Flags `COMMAND INFO` shows, in Valkey's order (`may_replicate`, `protected` and
/// `touches_arbitrary_keys` are hidden on purpose, as in Valkey). `MOVABLEKEYS` is computed.
const MOVABLEKEYS: u32 = 1 << 31;
const SHOWN_FLAGS: &[(u32, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (ASKING, "asking"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (NO_ASYNC_LOADING, "no_async_loading"),
    (NO_MULTI, "no_multi"),
    (MOVABLEKEYS, "movablekeys"),
    (ALLOW_BUSY, "allow_busy"),
];

/// Writes a set of status replies for the names of the bits set in `bits`.
fn reply_flag_set<T: Copy + Into<u64>>(out: &mut Reply, bits: T, names: &[(T, &str)], prefix: &str) {
    let bits: u64 = bits.into();
    let set: Vec<&str> = names.iter().filter(|(f, _)| bits & (*f).into() != 0).map(|(_, n)| *n).collect();
    out.set(set.len());
    for n in set {
        if prefix.is_empty() {
            out.simple(n);
        } else {
            out.simple(&format!("{prefix}{n}"));
        }
    }
}

/// The legacy `(first, last, step)` key positions and whether keys are "movable", computed from
/// the key specs as Valkey's `populateCommandLegacyRangeSpec` does.
pub fn legacy_range(def: &Command) -> (i32, i32, i32, bool) {
    let mut movable = def.keys.is_empty() && (def.get_keys.is_some() || def.keys_with_flags.is_some());
    let range_of = |k: &KeySpec| match (k.begin, k.find) {
        (BeginSearch::Index(pos), FindKeys::Range { lastkey, step, .. }) => Some((pos, lastkey, step)),
        _ => None,
    };
    if def.keys.is_empty() {
        return (0, 0, 0, movable);
    }
    if def.keys.len() == 1 {
        if let Some((pos, lastkey, step)) = range_of(&def.keys[0]) {
            let last = if lastkey >= 0 { lastkey + pos } else { lastkey };
            movable |= def.keys[0].flags & keyflags::INCOMPLETE != 0;
            return (pos, last, step, movable);
        }
    }
    let mut first = i32::MAX;
    let mut last: i32 = 0;
    let mut prev_last: i32 = 0;
    for spec in def.keys {
        let Some((pos, lastkey, step)) = range_of(spec) else {
            movable = true;
            continue;
        };
        if step != 1 || (prev_last != 0 && prev_last != pos - 1) {
            movable = true;
            continue;
        }
        if spec.flags & keyflags::INCOMPLETE != 0 {
            movable = true;
        }
        first = first.min(pos);
        let abs = if lastkey >= 0 { lastkey + pos } else { lastkey };
        // Unsigned comparison, so that a negative (relative to the end) index wins.
        last = (last as u32).max(abs as u32) as i32;
        prev_last = last;
    }
    if first == i32::MAX {
        return (0, 0, 0, true);
    }
    // The legacy spec stores lastkey relative to firstkey; COMMAND shows it absolute again.
    (first, last, 1, movable)
}

fn command_flags(def: &Command) -> u32 {
    let (_, _, _, movable) = legacy_range(def);
    def.flags | if movable { MOVABLEKEYS } else { 0 }
}

/// One command's `COMMAND INFO` entry.
fn reply_info(ctx: &mut Ctx, cmd: &Resolved) {
    let def = cmd.def;
    let (first, last, step, _) = legacy_range(def);
    let out = &mut *ctx.out;
    out.array(10);
    out.bulk(cmd.full_name.as_bytes());
    out.int(i64::from(def.arity));
    reply_flag_set(out, command_flags(def), SHOWN_FLAGS, "");
    out.int(i64::from(first));
    out.int(i64::from(last));
    out.int(i64::from(step));
    reply_flag_set(out, def.acl_categories(), acl::NAMES, "@");
    out.set(def.tips.len());
    for t in def.tips {
        out.bulk(t.as_bytes());
    }
    reply_key_specs(out, def.keys);
    let engine = ctx.engine;
    let subs: Vec<&Resolved> = engine.commands.subcommands(cmd).collect();
    if subs.is_empty() {
        ctx.out.set(0);
    } else {
        ctx.out.array(subs.len());
        for s in subs {
            reply_info(ctx, s);
        }
    }
}

fn reply_key_specs(out: &mut Reply, specs: &[KeySpec]) {
    out.set(specs.len());
    for spec in specs {
        out.map(if spec.notes.is_empty() { 3 } else { 4 });
        if !spec.notes.is_empty() {
            out.bulk(b"notes");
            out.bulk(spec.notes.as_bytes());
        }
        out.bulk(b"flags");
        reply_flag_set(out, spec.flags, keyflags::NAMES, "");
        out.bulk(b"begin_search");
        out.map(2);
        out.bulk(b"type");
        match spec.begin {
            BeginSearch::Index(i) => {
                out.bulk(b"index");
                out.bulk(b"spec");
                out.map(1);
                out.bulk(b"index");
                out.int(i64::from(i));
            }
            BeginSearch::Keyword { keyword, startfrom } => {
                out.bulk(b"keyword");
                out.bulk(b"spec");
                out.map(2);
                out.bulk(b"keyword");
                out.bulk(keyword.as_bytes());
                out.bulk(b"startfrom");
                out.int(i64::from(startfrom));
            }
            BeginSearch::Unknown => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map(0);
            }
        }
        out.bulk(b"find_keys");
        out.map(2);
        out.bulk(b"type");
        match spec.find {
            FindKeys::Range { lastkey, step, limit } => {
                out.bulk(b"range");
                out.bulk(b"spec");
                out.map(3);
                out.bulk(b"lastkey");
                out.int(i64::from(lastkey));
                out.bulk(b"keystep");
                out.int(i64::from(step));
                out.bulk(b"limit");
                out.int(i64::from(limit));
            }
            FindKeys::Keynum { keynumidx, firstkey, step } => {
                out.bulk(b"keynum");
                out.bulk(b"spec");
                out.map(3);
                out.bulk(b"keynumidx");
                out.int(i64::from(keynumidx));
                out.bulk(b"firstkey");
                out.int(i64::from(firstkey));
                out.bulk(b"keystep");
                out.int(i64::from(step));
            }
            FindKeys::Unknown => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map(0);
            }
        }
    }
}

/// The documentation group of a command: its own, or its container's.
fn group_of(ctx: &Ctx, cmd: &Resolved) -> &'static str {
    if !cmd.def.doc.group.is_empty() {
        return cmd.def.doc.group;
    }
    match cmd.parent {
        Some(p) => ctx.engine.commands.get(p).def.doc.group,
        None => "server",
    }
}

/// One command's `COMMAND DOCS` entry (a map).
fn reply_docs(ctx: &mut Ctx, cmd: &Resolved) {
    let def = cmd.def;
    let d = &def.doc;
    let meta = &def.doc_meta;
    let args = argtree::parse(d.syntax, def.keys.len());
    let engine = ctx.engine;
    let subs: Vec<&Resolved> = engine.commands.subcommands(cmd).collect();
    let present = |s: &str| usize::from(!s.is_empty());
    let len = 1
        + present(d.summary)
        + present(d.since)
        + present(d.complexity)
        + usize::from(meta.flags != 0)
        + present(meta.deprecated_since)
        + present(meta.replaced_by)
        + usize::from(!meta.history.is_empty())
        + usize::from(!args.is_empty())
        + usize::from(!subs.is_empty());
    let group = group_of(ctx, cmd);
    let out = &mut *ctx.out;
    out.map(len);
    if !d.summary.is_empty() {
        out.bulk(b"summary");
        out.bulk(d.summary.as_bytes());
    }
    if !d.since.is_empty() {
        out.bulk(b"since");
        out.bulk(d.since.as_bytes());
    }
    out.bulk(b"group");
    out.bulk(group.as_bytes());
    if !d.complexity.is_empty() {
        out.bulk(b"complexity");
        out.bulk(d.complexity.as_bytes());
    }
    if meta.flags != 0 {
        out.bulk(b"doc_flags");
        reply_flag_set(out, meta.flags, doc_flags::NAMES, "");
    }
    if !meta.deprecated_since.is_empty() {
        out.bulk(b"deprecated_since");
        out.bulk(meta.deprecated_since.as_bytes());
    }
    if !meta.replaced_by.is_empty() {
        out.bulk(b"replaced_by");
        out.bulk(meta.replaced_by.as_bytes());
    }
    if !meta.history.is_empty() {
        out.bulk(b"history");
        out.set(meta.history.len());
        for (since, change) in meta.history {
            out.array(2);
            out.bulk(since.as_bytes());
            out.bulk(change.as_bytes());
        }
    }
    if !args.is_empty() {
        out.bulk(b"arguments");
        reply_args(out, &args);
    }
    if !subs.is_empty() {
        ctx.out.bulk(b"subcommands");
        ctx.out.map(subs.len());
        for s in subs {
            ctx.out.bulk(s.full_name.as_bytes());
            reply_docs(ctx, s);
        }
    }
}

fn reply_args(out: &mut Reply, args: &[Arg]) {
    out.array(args.len());
    for a in args {
        let has_display = a.kind.has_display();
        let len = 2
            + usize::from(has_display)
            + usize::from(a.key_spec_index.is_some())
            + usize::from(a.token.is_some())
            + usize::from(a.flags != 0)
            + usize::from(!has_display);
        out.map(len);
        out.bulk(b"name");
        out.bulk(a.name.as_bytes());
        out.bulk(b"type");
        out.bulk(a.kind.name().as_bytes());
        if has_display {
            out.bulk(b"display_text");
            out.bulk(a.display.as_bytes());
        }
        if let Some(k) = a.key_spec_index {
            out.bulk(b"key_spec_index");
            out.int(k as i64);
        }
        if let Some(t) = &a.token {
            out.bulk(b"token");
            out.bulk(t.as_bytes());
        }
        if a.flags != 0 {
            out.bulk(b"flags");
            reply_flag_set(out, a.flags, argtree::FLAG_NAMES, "");
        }
        if !has_display {
            out.bulk(b"arguments");
            reply_args(out, &a.children);
        }
    }
}

fn top_level<'a>(ctx: &Ctx<'a>) -> Vec<&'a Resolved> {
    let engine = ctx.engine;
    engine.commands.top_level().collect()
}

fn command_all(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let all = top_level(ctx);
    ctx.out.array(all.len());
    for c in all {
        reply_info(ctx, c);
    }
    Ok(())
}

fn command_count(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let n = ctx.engine.commands.top_level().count();
    ctx.out.int(n as i64);
    Ok(())
}

fn command_info(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() == 2 {
        return command_all(ctx, argv);
    }
    ctx.out.array(argv.len() - 2);
    for name in &argv[2..] {
        match ctx.engine.commands.by_full_name(name) {
            Some(c) => reply_info(ctx, c),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn command_docs(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let cmds: Vec<&Resolved> = if argv.len() == 2 {
        top_level(ctx)
    } else {
        let engine = ctx.engine;
        argv[2..].iter().filter_map(|n| engine.commands.by_full_name(n)).collect()
    };
    ctx.out.map(cmds.len());
    for c in cmds {
        ctx.out.bulk(c.full_name.as_bytes());
        reply_docs(ctx, c);
    }
    Ok(())
}

enum ListFilter<'a> {
    Module,
    AclCat(u64),
    Pattern(&'a [u8]),
}

fn command_list(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut filter = None;
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        if !(is(argv[i], "filterby") && more == 2) {
            return Err(super::errors::SYNTAX);
        }
        let (kind, arg) = (argv[i + 1], argv[i + 2]);
        filter = Some(if is(kind, "module") {
            ListFilter::Module
        } else if is(kind, "aclcat") {
            ListFilter::AclCat(
                acl::NAMES.iter().find(|(_, n)| arg.eq_ignore_ascii_case(n.as_bytes())).map_or(0, |(f, _)| *f),
            )
        } else if is(kind, "pattern") {
            ListFilter::Pattern(arg)
        } else {
            return Err(super::errors::SYNTAX);
        });
        i += 3;
    }
    let engine = ctx.engine;
    let mut names: Vec<&str> = Vec::new();
    for top in top_level(ctx) {
        let subs: Vec<&Resolved> = engine.commands.subcommands(top).collect();
        for c in std::iter::once(top).chain(subs) {
            let keep = match &filter {
                None => true,
                // Kvasir has no modules: no command belongs to one.
                Some(ListFilter::Module) => false,
                Some(ListFilter::AclCat(cat)) => *cat != 0 && c.def.acl_categories() & cat != 0,
                Some(ListFilter::Pattern(p)) => glob_match(p, c.full_name.as_bytes(), true),
            };
            if keep {
                names.push(&c.full_name);
            }
        }
    }
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

/// Key positions and flags from the key specs, strictly (Valkey's `getKeysUsingKeySpecs`):
/// `None` when a spec cannot be applied to these arguments.
fn keys_from_specs(def: &Command, argv: &[&[u8]]) -> Option<Vec<(usize, u32)>> {
    let argc = argv.len() as i64;
    let mut out = Vec::new();
    for spec in def.keys {
        if spec.flags & keyflags::NOT_KEY != 0 {
            continue;
        }
        let first: i64 = match spec.begin {
            BeginSearch::Index(i) => i64::from(i),
            BeginSearch::Keyword { keyword, startfrom } => {
                let found = if startfrom > 0 {
                    (i64::from(startfrom)..argc - 1).find(|&i| is(argv[i as usize], keyword))
                } else {
                    let start = argc + i64::from(startfrom);
                    (2..=start).rev().find(|&i| i < argc && is(argv[i as usize], keyword))
                };
                match found {
                    Some(i) => i + 1,
                    None => continue,
                }
            }
            BeginSearch::Unknown => return None,
        };
        let (first, last, step) = match spec.find {
            FindKeys::Range { lastkey, step, limit } => {
                let last = if lastkey >= 0 {
                    first + i64::from(lastkey)
                } else if limit == 0 {
                    argc + i64::from(lastkey)
                } else {
                    first + (argc - first) / i64::from(limit) + i64::from(lastkey)
                };
                (first, last, i64::from(step))
            }
            FindKeys::Keynum { keynumidx, firstkey, step } => {
                let idx = first + i64::from(keynumidx);
                if idx >= argc || idx < 0 {
                    return None;
                }
                let n = resp::number::parse_i64(argv[idx as usize]).filter(|n| *n >= 0)?;
                let f = first + i64::from(firstkey);
                (f, f.saturating_add(n) - 1, i64::from(step))
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc || first < 1 || step < 1 {
            return None;
        }
        let mut i = first;
        while i <= last {
            out.push((i as usize, spec.flags));
            i += step;
        }
        if spec.flags & keyflags::INCOMPLETE != 0 {
            return None;
        }
    }
    Some(out)
}

fn getkeys(ctx: &mut Ctx, argv: &[&[u8]], with_flags: bool) -> CmdResult {
    let target = &argv[2..];
    let cmd = match ctx.engine.commands.lookup(target) {
        Lookup::Found(c) => c,
        Lookup::UnknownCommand | Lookup::UnknownSubcommand(_) => {
            return Err(Error::err("Invalid command specified"));
        }
    };
    let def = cmd.def;
    let has_keyspec = def.keys.iter().any(|k| k.flags & keyflags::NOT_KEY == 0);
    if !has_keyspec && def.get_keys.is_none() && def.keys_with_flags.is_none() {
        return Err(Error::err("The command has no key arguments"));
    }
    let argc = target.len() as i32;
    if (def.arity > 0 && def.arity != argc) || argc < -def.arity {
        return Err(Error::err("Invalid number of arguments specified for command"));
    }
    let variable = def.keys.iter().any(|k| k.flags & keyflags::VARIABLE_FLAGS != 0);
    let mut keys = None;
    if has_keyspec && !(variable && def.keys_with_flags.is_some()) {
        keys = keys_from_specs(def, target);
    }
    if keys.is_none() {
        if let Some(f) = def.keys_with_flags {
            keys = Some(f(target));
        } else if let Some(f) = def.get_keys {
            let spec_flags = def.keys.iter().find(|k| k.flags & keyflags::NOT_KEY == 0).map_or(0, |k| k.flags);
            keys = Some(f(target).into_iter().map(|i| (i, spec_flags)).collect());
        }
    }
    let keys: Vec<(usize, u32)> = keys.unwrap_or_default().into_iter().filter(|(i, _)| *i < target.len()).collect();
    if keys.is_empty() {
        if def.flags & NO_MANDATORY_KEYS != 0 {
            ctx.out.array(0);
            return Ok(());
        }
        return Err(Error::err("Invalid arguments specified for command"));
    }
    ctx.out.array(keys.len());
    for (i, flags) in keys {
        if with_flags {
            ctx.out.array(2);
            ctx.out.bulk(target[i]);
            reply_flag_set(ctx.out, flags, keyflags::NAMES, "");
        } else {
            ctx.out.bulk(target[i]);
        }
    }
    Ok(())
}

fn command_getkeys(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    getkeys(ctx, argv, false)
}

fn command_getkeysandflags(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    getkeys(ctx, argv, true)
}

fn command_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    reply_help(
        ctx.out,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all commands.",
            "COUNT",
            "    Return the total number of commands in this server.",
            "LIST",
            "    Return a list of all commands in this server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full command.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::exec::tests::{client, run};

    #[test]
    fn command_info_matches_valkey_layout() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        // Byte-for-byte what Valkey 8.0.1 replies for GET.
        assert_eq!(
            run(&e, &mut c, &["command", "info", "get"]),
            "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
             *3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n\
             *1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n\
             $12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n\
             $9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n\
             $7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
        );
        assert_eq!(
            run(&e, &mut c, &["command", "info", "get|key", "config|get|x", "nope"]),
            "*3\r\n$-1\r\n$-1\r\n$-1\r\n"
        );
        let r = run(&e, &mut c, &["command", "info", "CONFIG"]);
        assert!(r.contains("config|get"), "{r}");
    }

    #[test]
    fn legacy_ranges() {
        let t = crate::commands::table::CommandTable::build();
        let del = t.by_name(b"del").unwrap().def;
        assert_eq!(legacy_range(del), (1, -1, 1, false));
        const TWO: &[KeySpec] = &[KeySpec::single(1, 0), KeySpec::single(2, 0)];
        const KEYNUM: &[KeySpec] = &[KeySpec::keynum(2, 0)];
        const STEP2: &[KeySpec] = &[KeySpec::range(1, -1, 2, 0)];
        let multi = Command { keys: TWO, ..Command::DEFAULT };
        assert_eq!(legacy_range(&multi), (1, 2, 1, false));
        let eval = Command { keys: KEYNUM, ..Command::DEFAULT };
        assert_eq!(legacy_range(&eval), (0, 0, 0, true));
        let mset = Command { keys: STEP2, ..Command::DEFAULT };
        assert_eq!(legacy_range(&mset), (1, -1, 2, false));
    }

    #[test]
    fn count_list_and_help() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        let n = e.commands.top_level().count();
        assert_eq!(run(&e, &mut c, &["command", "count"]), format!(":{n}\r\n"));
        assert_eq!(run(&e, &mut c, &["command", "list", "filterby", "pattern", "get"]), "*1\r\n$3\r\nget\r\n");
        let r = run(&e, &mut c, &["command", "list", "filterby", "pattern", "config|*re*"]);
        assert!(r.contains("config|rewrite") && r.contains("config|resetstat"), "{r}");
        assert_eq!(run(&e, &mut c, &["command", "list", "filterby", "aclcat", "nope"]), "*0\r\n");
        assert_eq!(run(&e, &mut c, &["command", "list", "filterby", "module", "x"]), "*0\r\n");
        assert_eq!(run(&e, &mut c, &["command", "list", "bad"]), "-ERR syntax error\r\n");
        assert_eq!(run(&e, &mut c, &["command", "list", "filterby", "bad", "x"]), "-ERR syntax error\r\n");
        let all = run(&e, &mut c, &["command", "list"]);
        assert!(all.contains("$11\r\nclient|list\r\n"), "{all}");
        assert!(run(&e, &mut c, &["command", "help"]).starts_with("*21\r\n+COMMAND <subcommand>"));
        assert_eq!(run(&e, &mut c, &["command", "bogus"]), "-ERR unknown subcommand 'bogus'. Try COMMAND HELP.\r\n");
    }

    #[test]
    fn getkeys_and_flags() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        assert_eq!(run(&e, &mut c, &["command", "getkeys", "get", "k"]), "*1\r\n$1\r\nk\r\n");
        assert_eq!(run(&e, &mut c, &["command", "getkeys", "del", "a", "b"]), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        assert_eq!(
            run(&e, &mut c, &["command", "getkeysandflags", "del", "a"]),
            "*1\r\n*2\r\n$1\r\na\r\n*2\r\n+RM\r\n+delete\r\n"
        );
        // Flags that depend on the arguments, as Valkey's key-extraction functions give them.
        let flags = |c: &mut crate::client::Client, argv: &[&str]| {
            let mut full = vec!["command", "getkeysandflags"];
            full.extend_from_slice(argv);
            run(&e, c, &full)
        };
        assert_eq!(flags(&mut c, &["set", "k", "v"]), "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+OW\r\n+update\r\n");
        assert_eq!(
            flags(&mut c, &["set", "k", "v", "EX", "1", "Get"]),
            "*1\r\n*2\r\n$1\r\nk\r\n*3\r\n+RW\r\n+access\r\n+update\r\n"
        );
        assert_eq!(
            flags(&mut c, &["bitfield", "k", "get", "u8", "0", "overflow", "sat"]),
            "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n"
        );
        assert_eq!(
            flags(&mut c, &["bitfield", "k", "get", "u8", "0", "incrby", "u8", "0", "1"]),
            "*1\r\n*2\r\n$1\r\nk\r\n*3\r\n+RW\r\n+access\r\n+update\r\n"
        );
        assert_eq!(
            flags(&mut c, &["sort", "k1", "limit", "0", "1", "store", "k2"]),
            "*2\r\n*2\r\n$2\r\nk1\r\n*2\r\n+RO\r\n+access\r\n*2\r\n$2\r\nk2\r\n*2\r\n+OW\r\n+update\r\n"
        );
        assert_eq!(run(&e, &mut c, &["command", "getkeys", "nope", "x"]), "-ERR Invalid command specified\r\n");
        assert_eq!(run(&e, &mut c, &["command", "getkeys", "ping", "x"]), "-ERR The command has no key arguments\r\n");
        assert_eq!(
            run(&e, &mut c, &["command", "getkeys", "get", "a", "b"]),
            "-ERR Invalid number of arguments specified for command\r\n"
        );
    }

    #[test]
    fn strict_spec_extraction() {
        let argv = |v: &[&'static str]| v.iter().map(|s| s.as_bytes()).collect::<Vec<&[u8]>>();
        const KEYNUM: &[KeySpec] = &[KeySpec::keynum(2, keyflags::RW)];
        let eval = Command { keys: KEYNUM, ..Command::DEFAULT };
        assert_eq!(
            keys_from_specs(&eval, &argv(&["eval", "s", "2", "a", "b"])),
            Some(vec![(3, keyflags::RW), (4, keyflags::RW)])
        );
        assert_eq!(keys_from_specs(&eval, &argv(&["eval", "s", "0"])), None);
        assert_eq!(keys_from_specs(&eval, &argv(&["eval", "s", "9999999999", "a"])), None);
        assert_eq!(keys_from_specs(&eval, &argv(&["eval", "s", "-1", "a"])), None);
    }

    #[test]
    fn docs_shape() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        let r = run(&e, &mut c, &["command", "docs", "get"]);
        assert!(r.starts_with("*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n"), "{r}");
        assert!(r.contains("$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$12\r\ndisplay_text\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n"), "{r}");
        assert_eq!(run(&e, &mut c, &["command", "docs", "nope"]), "*0\r\n");
        let r = run(&e, &mut c, &["command", "docs", "command"]);
        assert!(r.contains("$11\r\nsubcommands\r\n") && r.contains("command|docs"), "{r}");
        c.resp3 = true;
        let r = run(&e, &mut c, &["command", "docs", "get"]);
        assert!(r.starts_with("%1\r\n$3\r\nget\r\n%5\r\n"), "{r}");
    }
}
