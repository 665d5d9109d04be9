//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, AUTH, HELLO, and CLIENT.

use super::table::{acl, flags::*, reply_help, Command, Doc, DocMeta};
use super::{errors, is, CmdResult, Ctx, Error};
use crate::client::{ClientShared, ClientType, ReplyMode};
use crate::stats::Counter;
use std::sync::atomic::Ordering::Relaxed;

const CONN: u64 = acl::CONNECTION;

pub static COMMANDS: &[Command] = &[
    Command {
        name: "ping",
        arity: -1,
        flags: FAST | SENTINEL_OK,
        acl: CONN,
        handler: Some(ping),
        tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
        doc: doc("Returns the server's liveliness response.", "1.0.0", "O(1)", "[message]"),
        ..Command::DEFAULT
    },
    Command {
        name: "echo",
        arity: 2,
        flags: LOADING | STALE | FAST,
        acl: CONN,
        handler: Some(echo),
        doc: doc("Returns the given string.", "1.0.0", "O(1)", "message"),
        ..Command::DEFAULT
    },
    Command {
        name: "quit",
        arity: -1,
        flags: ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        acl: CONN,
        handler: Some(quit),
        doc: doc("Closes the connection.", "1.0.0", "O(1)", ""),
        doc_meta: DocMeta {
            flags: super::table::doc_flags::DEPRECATED,
            deprecated_since: "7.2.0",
            replaced_by: "just closing the connection",
            history: &[],
        },
        ..Command::DEFAULT
    },
    Command {
        name: "reset",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        acl: CONN,
        handler: Some(reset),
        doc: doc("Resets the connection.", "6.2.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "select",
        arity: 2,
        flags: LOADING | STALE | FAST,
        acl: CONN,
        handler: Some(select),
        doc: doc("Changes the selected database.", "1.0.0", "O(1)", "index"),
        ..Command::DEFAULT
    },
    Command {
        name: "auth",
        arity: -2,
        flags: NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL_OK | ALLOW_BUSY,
        acl: CONN,
        handler: Some(auth),
        doc: doc(
            "Authenticates the connection.",
            "1.0.0",
            "O(N) where N is the number of passwords defined for the user",
            "[username] password",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "hello",
        arity: -1,
        flags: NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL_OK | ALLOW_BUSY,
        acl: CONN,
        handler: Some(hello),
        doc: doc(
            "Handshakes with the server.",
            "6.0.0",
            "O(1)",
            "[protover [AUTH username password] [SETNAME clientname]]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "client",
        arity: -2,
        flags: 0,
        acl: 0,
        subcommands: CLIENT_SUBCOMMANDS,
        doc: doc("A container for client connection commands.", "2.4.0", "Depends on subcommand.", ""),
        ..Command::DEFAULT
    },
];

/// Accepted for parity with Valkey's flag set; Kvasir has no sentinel mode.
const SENTINEL_OK: u32 = 0;

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "connection", complexity, syntax }
}

const CLIENT_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

static CLIENT_SUBCOMMANDS: &[Command] = &[
    Command {
        name: "capa",
        arity: -3,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN,
        handler: Some(client_capa),
        doc: doc("A client claims its capability.", "8.0.0", "O(1)", "capability [capability ...]"),
        ..Command::DEFAULT
    },
    Command {
        name: "info",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN,
        handler: Some(client_info),
        tips: &["nondeterministic_output"],
        doc: doc("Returns information about the connection.", "6.2.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "kill",
        arity: -3,
        flags: CLIENT_FLAGS,
        acl: CONN,
        handler: Some(client_kill),
        doc: doc(
            "Terminates open connections.",
            "2.4.0",
            "O(N) where N is the number of client connections",
            "<ip:port | <[ID client-id] | [TYPE <NORMAL | MASTER | PRIMARY | SLAVE | REPLICA | PUBSUB>] | \
             [USER username] | [ADDR ip:port] | [LADDR ip:port] | [SKIPME <YES | NO>] | [MAXAGE maxage]> \
             [[ID client-id] | [TYPE <NORMAL | MASTER | PRIMARY | SLAVE | REPLICA | PUBSUB>] | [USER username] | \
             [ADDR ip:port] | [LADDR ip:port] | [SKIPME <YES | NO>] | [MAXAGE maxage] ...]>",
        ),
        doc_meta: DocMeta {
            history: &[
                ("2.8.12", "Added new filter format."),
                ("2.8.12", "`ID` option."),
                ("3.2.0", "Added `master` type in for `TYPE` option."),
                (
                    "5.0.0",
                    "Replaced `slave` `TYPE` with `replica`. `slave` still supported for backward compatibility.",
                ),
                ("6.2.0", "`LADDR` option."),
                ("8.0.0", "`MAXAGE` option."),
                (
                    "8.0.0",
                    "Replaced `master` `TYPE` with `primary`. `master` still supported for backward compatibility.",
                ),
            ],
            ..DocMeta::NONE
        },
        ..Command::DEFAULT
    },
    Command {
        name: "list",
        arity: -2,
        flags: CLIENT_FLAGS,
        acl: CONN,
        handler: Some(client_list),
        tips: &["nondeterministic_output"],
        doc: doc(
            "Lists open connections.",
            "2.4.0",
            "O(N) where N is the number of client connections",
            "[TYPE <NORMAL | MASTER | PRIMARY | REPLICA | PUBSUB>] [ID client-id [client-id ...]]",
        ),
        doc_meta: DocMeta {
            history: &[
                ("2.8.12", "Added unique client `id` field."),
                ("5.0.0", "Added optional `TYPE` filter."),
                ("6.0.0", "Added `user` field."),
                ("6.2.0", "Added `argv-mem`, `tot-mem`, `laddr` and `redir` fields and the optional `ID` filter."),
                ("7.0.0", "Added `resp`, `multi-mem`, `rbs` and `rbp` fields."),
                ("7.0.3", "Added `ssub` field."),
                (
                    "8.0.0",
                    "Replaced `master` `TYPE` with `primary`. `master` still supported for backward compatibility.",
                ),
            ],
            ..DocMeta::NONE
        },
        ..Command::DEFAULT
    },
    Command {
        name: "pause",
        arity: -3,
        flags: CLIENT_FLAGS,
        acl: CONN,
        handler: Some(client_pause),
        doc: doc("Suspends commands processing.", "3.0.0", "O(1)", "timeout:integer [WRITE | ALL]"),
        doc_meta: DocMeta {
            history: &[("6.2.0", "`CLIENT PAUSE WRITE` mode added along with the `mode` option.")],
            ..DocMeta::NONE
        },
        ..Command::DEFAULT
    },
    Command {
        name: "unblock",
        arity: -3,
        flags: CLIENT_FLAGS,
        acl: CONN,
        handler: Some(client_unblock),
        doc: doc(
            "Unblocks a client blocked by a blocking command from a different connection.",
            "5.0.0",
            "O(log N) where N is the number of client connections",
            "client-id:integer [TIMEOUT | ERROR]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "unpause",
        arity: 2,
        flags: CLIENT_FLAGS,
        acl: CONN,
        handler: Some(client_unpause),
        doc: doc(
            "Resumes processing commands from paused clients.",
            "6.2.0",
            "O(N) Where N is the number of paused clients",
            "",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "id",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN,
        handler: Some(client_id),
        doc: doc("Returns the unique client ID of the connection.", "5.0.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "setname",
        arity: 3,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN,
        handler: Some(client_setname),
        doc: doc("Sets the connection name.", "2.6.9", "O(1)", "connection-name"),
        ..Command::DEFAULT
    },
    Command {
        name: "getname",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN,
        handler: Some(client_getname),
        doc: doc("Returns the name of the connection.", "2.6.9", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "reply",
        arity: 3,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN,
        handler: Some(client_reply),
        doc: doc("Instructs the server whether to reply to commands.", "3.2.0", "O(1)", "<ON | OFF | SKIP>"),
        ..Command::DEFAULT
    },
    Command {
        name: "no-evict",
        arity: 3,
        flags: CLIENT_FLAGS,
        acl: CONN,
        handler: Some(client_no_evict),
        doc: doc("Sets the client eviction mode of the connection.", "7.0.0", "O(1)", "<ON | OFF>"),
        ..Command::DEFAULT
    },
    Command {
        name: "no-touch",
        arity: 3,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN,
        handler: Some(client_no_touch),
        doc: doc(
            "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
            "7.2.0",
            "O(1)",
            "<ON | OFF>",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "setinfo",
        arity: 4,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN,
        handler: Some(client_setinfo),
        doc: doc(
            "Sets information specific to the client or connection.",
            "7.2.0",
            "O(1)",
            "<LIB-NAME libname | LIB-VER libver>",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "tracking",
        arity: -3,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN,
        handler: Some(super::client_tracking::tracking),
        doc: doc(
            "Controls server-assisted client-side caching for the connection.",
            "6.0.0",
            "O(1). Some options may introduce additional complexity.",
            "<ON | OFF> [REDIRECT client-id:integer] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN] [OPTOUT] \
             [NOLOOP]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "caching",
        arity: 3,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN,
        handler: Some(super::client_tracking::caching),
        doc: doc("Instructs the server whether to track the keys in the next request.", "6.0.0", "O(1)", "<YES | NO>"),
        ..Command::DEFAULT
    },
    Command {
        name: "getredir",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN,
        handler: Some(super::client_tracking::getredir),
        doc: doc(
            "Returns the client ID to which the connection's tracking notifications are redirected.",
            "6.0.0",
            "O(1)",
            "",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "trackinginfo",
        arity: 2,
        flags: NOSCRIPT | LOADING | STALE,
        acl: CONN,
        handler: Some(super::client_tracking::trackinginfo),
        doc: doc(
            "Returns information about server-assisted client-side caching for the connection.",
            "6.2.0",
            "O(1)",
            "",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "help",
        arity: 2,
        flags: LOADING | STALE,
        acl: CONN,
        handler: Some(client_help),
        doc: doc("Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""),
        ..Command::DEFAULT
    },
];

fn ping(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if !ctx.client.resp3 && !ctx.client.subscriptions.is_empty() {
        // In RESP2 subscribed mode PING answers in the shape of a message.
        if argv.len() > 2 {
            return Err(ctx.arity_error());
        }
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(argv.get(1).copied().unwrap_or(b""));
        return Ok(());
    }
    match argv {
        [_] => ctx.out.simple("PONG"),
        [_, msg] => ctx.out.bulk(msg),
        _ => return Err(ctx.arity_error()),
    }
    Ok(())
}

fn echo(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.out.bulk(argv[1]);
    Ok(())
}

fn quit(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
    Ok(())
}

fn reset(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    super::multi::end_transaction(ctx.engine, ctx.client);
    super::pubsub::unsubscribe_all(ctx.engine, ctx.client);
    ctx.engine.tracking.disable(&ctx.client.shared);
    ctx.client.tracking = false;
    let c = &mut *ctx.client;
    c.db = 0;
    c.resp3 = false;
    ctx.out.set_resp3(false);
    c.reply_mode = ReplyMode::On;
    c.no_touch = false;
    c.authenticated = !ctx.engine.config.hot.requirepass_set.load(Relaxed);
    *c.shared.name.lock() = None;
    {
        let mut f = c.shared.flags.lock();
        f.no_evict = false;
        f.no_touch = false;
        if f.monitor {
            f.monitor = false;
            f.replica = false;
            ctx.engine.monitors.remove(&c.shared);
        }
    }
    c.shared.resp.store(2, Relaxed);
    ctx.out.simple("RESET");
    Ok(())
}

fn select(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.client.db = super::db_index_arg(argv[1], ctx.engine.keyspace.databases())?;
    ctx.out.ok();
    Ok(())
}

const WRONGPASS: Error = Error::coded_static("WRONGPASS invalid username-password pair or user is disabled.");

/// Checks a username/password pair against the (single, default) user.
fn check_password(ctx: &Ctx, user: &[u8], pass: &[u8]) -> Result<(), Error> {
    let ok = user == b"default"
        && match ctx.engine.config.requirepass() {
            None => true,
            Some(p) => constant_time_eq(&p, pass),
        };
    if ok {
        Ok(())
    } else {
        ctx.engine.stats.add(Counter::AclDeniedAuth, 1);
        Err(WRONGPASS)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn auth(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (user, pass): (&[u8], &[u8]) = match argv {
        [_, pass] => {
            if ctx.engine.config.requirepass().is_none() {
                return Err(Error::err(
                    "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                ));
            }
            (b"default", pass)
        }
        [_, user, pass] => (user, pass),
        _ => return Err(errors::SYNTAX),
    };
    check_password(ctx, user, pass)?;
    ctx.client.authenticated = true;
    ctx.out.ok();
    Ok(())
}

/// Client and library names may not contain spaces, newlines or non-printable characters.
fn valid_name(n: &[u8]) -> bool {
    n.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

fn hello(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut resp3 = ctx.client.resp3;
    let mut i = 1;
    if argv.len() >= 2 {
        let ver = resp::number::parse_i64(argv[1])
            .ok_or_else(|| Error::err("Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&ver) {
            return Err(Error::coded("NOPROTO unsupported protocol version"));
        }
        resp3 = ver == 3;
        i = 2;
    }
    let mut credentials = None;
    let mut name = None;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        if is(argv[i], "AUTH") && more >= 2 {
            credentials = Some((argv[i + 1], argv[i + 2]));
            i += 3;
        } else if is(argv[i], "SETNAME") && more >= 1 {
            if !valid_name(argv[i + 1]) {
                return Err(Error::err("Client names cannot contain spaces, newlines or special characters."));
            }
            name = Some(argv[i + 1]);
            i += 2;
        } else {
            return Err(Error::err_quoting("Syntax error in HELLO option '", argv[i], "'"));
        }
    }
    if let Some((user, pass)) = credentials {
        check_password(ctx, user, pass)?;
        ctx.client.authenticated = true;
    }
    if !ctx.client.authenticated {
        return Err(Error::coded(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(n) = name {
        *ctx.client.shared.name.lock() = Some(n.to_vec());
    }
    ctx.client.resp3 = resp3;
    ctx.client.shared.resp.store(if resp3 { 3 } else { 2 }, Relaxed);
    ctx.out.set_resp3(resp3);
    let redis_compat = ctx.engine.config.get_bool("extended-redis-compatibility");
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(if redis_compat { b"redis" as &[u8] } else { b"valkey" });
    out.bulk(b"version");
    out.bulk(if redis_compat { crate::REDIS_VERSION } else { crate::VALKEY_VERSION }.as_bytes());
    out.bulk(b"proto");
    out.int(if resp3 { 3 } else { 2 });
    out.bulk(b"id");
    out.int(ctx.client.id() as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

fn client_id(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.int(ctx.client.id() as i64);
    Ok(())
}

fn client_setname(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let name = argv[2];
    if !valid_name(name) {
        return Err(Error::err("Client names cannot contain spaces, newlines or special characters."));
    }
    *ctx.client.shared.name.lock() = if name.is_empty() { None } else { Some(name.to_vec()) };
    ctx.out.ok();
    Ok(())
}

fn client_getname(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    match ctx.client.shared.name.lock().as_deref() {
        Some(n) => ctx.out.bulk(n),
        None => ctx.out.null(),
    }
    Ok(())
}

fn client_reply(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mode = if is(argv[2], "on") {
        ReplyMode::On
    } else if is(argv[2], "off") {
        ReplyMode::Off
    } else if is(argv[2], "skip") {
        ReplyMode::SkipNext
    } else {
        return Err(errors::SYNTAX);
    };
    ctx.client.reply_mode = mode;
    if mode == ReplyMode::On {
        ctx.out.ok();
    }
    Ok(())
}

fn on_off(arg: &[u8]) -> Result<bool, Error> {
    if is(arg, "on") {
        Ok(true)
    } else if is(arg, "off") {
        Ok(false)
    } else {
        Err(errors::SYNTAX)
    }
}

fn client_no_evict(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.client.shared.flags.lock().no_evict = on_off(argv[2])?;
    ctx.out.ok();
    Ok(())
}

fn client_no_touch(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let on = on_off(argv[2])?;
    ctx.client.no_touch = on;
    ctx.client.shared.flags.lock().no_touch = on;
    ctx.out.ok();
    Ok(())
}

fn client_setinfo(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (attr, value) = (argv[2], argv[3]);
    let slot = if is(attr, "lib-name") {
        &ctx.client.shared.lib_name
    } else if is(attr, "lib-ver") {
        &ctx.client.shared.lib_ver
    } else {
        return Err(Error::err_quoting("Unrecognized option '", attr, "'"));
    };
    if !valid_name(value) {
        return Err(Error::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr)
        )));
    }
    *slot.lock() = if value.is_empty() { None } else { Some(value.to_vec()) };
    ctx.out.ok();
    Ok(())
}

fn client_capa(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    // The only capability, REDIRECT, matters to replicas redirecting clients to their primary;
    // Kvasir is never a replica, so every claim is accepted and none changes anything.
    ctx.out.ok();
    Ok(())
}

/// The full name of the last command a client ran (`cmd=` in CLIENT LIST).
fn last_command_name<'a>(ctx: &Ctx<'a>, c: &ClientShared) -> &'a str {
    let engine = ctx.engine;
    match c.last_cmd.load(Relaxed) {
        0 => "NULL",
        id if id - 1 < engine.commands.len() => &engine.commands.get(id - 1).full_name,
        _ => "NULL",
    }
}

fn client_info(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let mut text = String::new();
    let shared = ctx.client.shared.clone();
    shared.write_info(&mut text, crate::util::now_ms(), last_command_name(ctx, &shared), false);
    text.push('\n');
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

fn client_list(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let now = crate::util::now_ms();
    let engine = ctx.engine;
    let clients: Vec<std::sync::Arc<ClientShared>> = if argv.len() == 4 && is(argv[2], "type") {
        let t = ClientType::parse(argv[3])
            .ok_or_else(|| Error::err(format!("Unknown client type '{}'", String::from_utf8_lossy(argv[3]))))?;
        engine.clients.all().into_iter().filter(|c| c.client_type() == t).collect()
    } else if argv.len() > 3 && is(argv[2], "id") {
        let mut v = Vec::new();
        for a in &argv[3..] {
            let id = resp::number::parse_i64(a).ok_or_else(|| Error::err("Invalid client ID"))?;
            if let Some(c) = u64::try_from(id).ok().and_then(|id| engine.clients.get(id)) {
                v.push(c);
            }
        }
        v
    } else if argv.len() == 2 {
        engine.clients.all()
    } else {
        return Err(errors::SYNTAX);
    };
    let mut text = String::with_capacity(clients.len() * 400);
    for c in &clients {
        c.write_info(&mut text, now, last_command_name(ctx, c), false);
        text.push('\n');
    }
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// The filters of CLIENT KILL.
#[derive(Default)]
struct KillFilter<'a> {
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    kind: Option<ClientType>,
    id: Option<u64>,
    user: bool,
    skip_me: bool,
    max_age_secs: Option<u64>,
}

fn parse_kill_filter<'a>(argv: &[&'a [u8]]) -> Result<KillFilter<'a>, Error> {
    let mut f = KillFilter { skip_me: true, ..KillFilter::default() };
    let mut i = 2;
    while i < argv.len() {
        if i + 1 >= argv.len() {
            return Err(errors::SYNTAX);
        }
        let (opt, value) = (argv[i], argv[i + 1]);
        if is(opt, "id") {
            let id = resp::number::parse_i64(value)
                .filter(|v| *v >= 1)
                .ok_or_else(|| Error::err("client-id should be greater than 0"))?;
            f.id = Some(id as u64);
        } else if is(opt, "maxage") {
            let age =
                resp::number::parse_i64(value).ok_or_else(|| Error::err("maxage is not an integer or out of range"))?;
            if age <= 0 {
                return Err(Error::err("maxage should be greater than 0"));
            }
            f.max_age_secs = Some(age as u64);
        } else if is(opt, "type") {
            f.kind = Some(
                ClientType::parse(value)
                    .ok_or_else(|| Error::err(format!("Unknown client type '{}'", String::from_utf8_lossy(value))))?,
            );
        } else if is(opt, "addr") {
            f.addr = Some(value);
        } else if is(opt, "laddr") {
            f.laddr = Some(value);
        } else if is(opt, "user") {
            // The default user is the only user there is.
            if value != b"default" {
                return Err(Error::err(format!("No such user '{}'", String::from_utf8_lossy(value))));
            }
            f.user = true;
        } else if is(opt, "skipme") {
            f.skip_me = if is(value, "yes") {
                true
            } else if is(value, "no") {
                false
            } else {
                return Err(errors::SYNTAX);
            };
        } else {
            return Err(errors::SYNTAX);
        }
        i += 2;
    }
    Ok(f)
}

fn client_kill(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let old_form = argv.len() == 3;
    let filter = if old_form {
        // CLIENT KILL addr: may kill the caller too.
        KillFilter { addr: Some(argv[2]), skip_me: false, ..KillFilter::default() }
    } else {
        parse_kill_filter(argv)?
    };
    let now = crate::util::now_ms();
    let me = ctx.client.id();
    let engine = ctx.engine;
    let mut killed = 0i64;
    let mut kill_me = false;
    for c in engine.clients.all() {
        let matches = filter.addr.is_none_or(|a| a == c.addr.as_bytes())
            && filter.laddr.is_none_or(|a| a == c.laddr.as_bytes())
            && filter.kind.is_none_or(|t| c.client_type() == t)
            && filter.id.is_none_or(|id| c.id == id)
            && !(filter.skip_me && c.id == me)
            && filter.max_age_secs.is_none_or(|age| c.age_secs(now) >= age);
        if !matches {
            continue;
        }
        killed += 1;
        if c.id == me {
            kill_me = true;
        } else {
            // Gone at once, as Valkey frees it: its task closes the socket as soon as it wakes.
            c.kill();
            engine.clients.unregister(c.id);
        }
    }
    if old_form {
        if killed == 0 {
            return Err(Error::err("No such client"));
        }
        ctx.out.ok();
    } else {
        ctx.out.int(killed);
    }
    if kill_me {
        ctx.client.close_after_reply = true;
    }
    Ok(())
}

fn client_pause(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() > 4 {
        return Err(super::subcommand_syntax_error(argv));
    }
    let mut all = true;
    if argv.len() == 4 {
        if is(argv[3], "write") {
            all = false;
        } else if !is(argv[3], "all") {
            return Err(Error::err("CLIENT PAUSE mode must be WRITE or ALL"));
        }
    }
    let timeout =
        resp::number::parse_i64(argv[2]).ok_or_else(|| Error::err("timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(Error::err("timeout is negative"));
    }
    let now = crate::util::now_ms() as i64;
    let until =
        if timeout == 0 { 0 } else { timeout.checked_add(now).ok_or_else(|| Error::err("timeout is out of range"))? };
    ctx.engine.pause.pause(until as u64, all);
    ctx.out.ok();
    Ok(())
}

fn client_unblock(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let id = super::int_arg(argv[2])?;
    let with_error = match argv {
        [_, _, _] => false,
        [_, _, _, r] if is(r, "timeout") => false,
        [_, _, _, r] if is(r, "error") => true,
        [_, _, _, _] => return Err(Error::err("CLIENT UNBLOCK reason should be TIMEOUT or ERROR")),
        _ => return Err(errors::SYNTAX),
    };
    let unblocked = u64::try_from(id).is_ok_and(|id| ctx.engine.blocked.unblock(id, with_error));
    ctx.out.int(i64::from(unblocked));
    Ok(())
}

fn client_unpause(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.engine.pause.unpause();
    ctx.out.ok();
    Ok(())
}

fn client_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    reply_help(
        ctx.out,
        "CLIENT",
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "CAPA <option> [options...]",
            "    The client claims its some capability options. Options are:",
            "    * REDIRECT",
            "      The client can handle redirection during primary and replica failover in standalone mode.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|PRIMARY|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "    * MAXAGE <maxage>",
            "      Kill connections older than the specified age.",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|PRIMARY|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
            "         [OPTIN] [OPTOUT] [NOLOOP]",
            "    Control server assisted client side caching.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::engine::Engine;
    use crate::exec::tests::{client, run};

    #[test]
    fn ping_echo_select() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        assert_eq!(run(&e, &mut c, &["PING"]), "+PONG\r\n");
        assert_eq!(run(&e, &mut c, &["ping", "hi"]), "$2\r\nhi\r\n");
        assert_eq!(run(&e, &mut c, &["ping", "a", "b"]), "-ERR wrong number of arguments for 'ping' command\r\n");
        assert_eq!(run(&e, &mut c, &["echo", "x"]), "$1\r\nx\r\n");
        assert_eq!(run(&e, &mut c, &["select", "15"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["select", "16"]), "-ERR DB index is out of range\r\n");
        assert_eq!(run(&e, &mut c, &["select", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(
            run(&e, &mut c, &["select", "2147483648"]),
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
        );
    }

    #[test]
    fn hello_switches_protocol() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        let r = run(&e, &mut c, &["hello", "3"]);
        assert!(r.starts_with("%7\r\n$6\r\nserver\r\n$6\r\nvalkey\r\n"), "{r}");
        assert!(c.resp3);
        assert_eq!(run(&e, &mut c, &["hello", "4"]), "-NOPROTO unsupported protocol version\r\n");
        assert_eq!(run(&e, &mut c, &["hello", "x"]), "-ERR Protocol version is not an integer or out of range\r\n");
        assert_eq!(run(&e, &mut c, &["hello", "2", "bogus"]), "-ERR Syntax error in HELLO option 'bogus'\r\n");
        assert!(run(&e, &mut c, &["hello", "2", "SETNAME", "me"]).starts_with("*14\r\n"));
        assert_eq!(run(&e, &mut c, &["client", "getname"]), "$2\r\nme\r\n");
    }

    #[test]
    fn auth_without_password_configured() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        assert!(
            run(&e, &mut c, &["auth", "x"]).starts_with("-ERR AUTH <password> called without any password configured")
        );
        assert_eq!(run(&e, &mut c, &["auth", "default", "x"]), "+OK\r\n");
        assert!(run(&e, &mut c, &["auth", "bob", "x"]).starts_with("-WRONGPASS"));
    }

    #[test]
    fn client_names_and_info() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        assert_eq!(run(&e, &mut c, &["client", "getname"]), "$-1\r\n");
        assert_eq!(
            run(&e, &mut c, &["client", "setname", "a b"]),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
        );
        assert_eq!(run(&e, &mut c, &["client", "setname", "ab"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["client", "setinfo", "lib-name", "redis-py"]), "+OK\r\n");
        assert_eq!(run(&e, &mut c, &["client", "setinfo", "bad", "x"]), "-ERR Unrecognized option 'bad'\r\n");
        assert_eq!(run(&e, &mut c, &["client", "no-touch", "maybe"]), "-ERR syntax error\r\n");
    }

    #[test]
    fn client_kill_pause_and_list_errors() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        for (args, reply) in [
            (&["client", "kill"][..], "-ERR wrong number of arguments for 'client|kill' command\r\n"),
            (&["client", "kill", "id", "10", "x"], "-ERR syntax error\r\n"),
            (&["client", "kill", "id", "str"], "-ERR client-id should be greater than 0\r\n"),
            (&["client", "kill", "id", "0"], "-ERR client-id should be greater than 0\r\n"),
            (&["client", "kill", "type", "x"], "-ERR Unknown client type 'x'\r\n"),
            (&["client", "kill", "user", "bob"], "-ERR No such user 'bob'\r\n"),
            (&["client", "kill", "skipme", "maybe"], "-ERR syntax error\r\n"),
            (
                &["client", "kill", "maxage", "99999999999999999999"],
                "-ERR maxage is not an integer or out of range\r\n",
            ),
            (&["client", "kill", "maxage", "-1"], "-ERR maxage should be greater than 0\r\n"),
            (&["client", "kill", "127.0.0.1:"], "-ERR No such client\r\n"),
            (&["client", "kill", "id", "12345"], ":0\r\n"),
            (&["client", "pause", "abc"], "-ERR timeout is not an integer or out of range\r\n"),
            (&["client", "pause", "-1"], "-ERR timeout is negative\r\n"),
            (&["client", "pause", "10", "some"], "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"),
            (
                &["client", "pause", "10", "all", "x"],
                "-ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.\r\n",
            ),
            (&["client", "list", "type", "nope"], "-ERR Unknown client type 'nope'\r\n"),
            (&["client", "list", "id", "x"], "-ERR Invalid client ID\r\n"),
            (&["client", "list", "bogus"], "-ERR syntax error\r\n"),
            (&["client", "capa", "redirect"], "+OK\r\n"),
        ] {
            assert_eq!(run(&e, &mut c, args), reply, "{args:?}");
        }
        // The caller's line names the command it is running.
        let r = run(&e, &mut c, &["client", "info"]);
        assert!(r.contains(" cmd=client|info ") && r.ends_with("\n\r\n"), "{r}");
        let r = run(&e, &mut c, &["client", "list", "type", "normal"]);
        assert!(r.contains(&format!("id={} ", c.id())), "{r}");
        assert_eq!(run(&e, &mut c, &["client", "list", "type", "pubsub"]), "$0\r\n\r\n");
        // PAUSE 0 pauses nothing; UNPAUSE always succeeds.
        assert_eq!(run(&e, &mut c, &["client", "pause", "0"]), "+OK\r\n");
        assert!(!e.pause.is_paused());
        assert_eq!(run(&e, &mut c, &["client", "pause", "100000", "write"]), "+OK\r\n");
        assert!(e.pause.is_paused());
        assert_eq!(run(&e, &mut c, &["client", "unpause"]), "+OK\r\n");
        assert!(!e.pause.is_paused());
        // Killing oneself: the reply, then the connection closes.
        assert_eq!(run(&e, &mut c, &["client", "kill", "skipme", "no"]), ":1\r\n");
        assert!(c.close_after_reply);
    }
}
