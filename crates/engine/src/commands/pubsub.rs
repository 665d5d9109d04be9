//! SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH,
//! SPUBLISH and PUBSUB (Valkey's `pubsub.c`).
//!
//! A client's subscriptions are kept twice: in its own [`Subscriptions`] (its counts, and
//! what a bare UNSUBSCRIBE or a disconnect removes) and in the engine's `pubsub::Hub`, which
//! publishers read. Delivery itself is `crate::pubsub`.
//!
//! The (un)subscribe confirmations are the command's reply, written as pushes: they are sent
//! even under CLIENT REPLY OFF, as in Valkey. In RESP2 a client with subscriptions may only
//! run the commands [`allowed_in_resp2_subscribed_mode`] names.

use super::table::{acl, flags::*, keyflags, reply_help, Command, Doc, KeySpec};
use super::{CmdResult, Ctx};
use crate::client::Client;
use crate::engine::Engine;
use crate::pubsub::Kind;
use indexmap::IndexSet;
use resp::Reply;
use std::sync::atomic::Ordering::Relaxed;

const fn doc(summary: &'static str, since: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "pubsub", complexity, syntax }
}

const SUB_FLAGS: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;
const SHARD_SPEC: &[KeySpec] = &[KeySpec::range(1, -1, 1, keyflags::NOT_KEY)];

pub static COMMANDS: &[Command] = &[
    Command {
        name: "subscribe",
        arity: -2,
        flags: SUB_FLAGS,
        acl: acl::PUBSUB,
        handler: Some(subscribe),
        doc: doc(
            "Listens for messages published to channels.",
            "2.0.0",
            "O(N) where N is the number of channels to subscribe to.",
            "channel [channel ...]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "unsubscribe",
        arity: -1,
        flags: SUB_FLAGS,
        acl: acl::PUBSUB,
        handler: Some(unsubscribe),
        doc: doc(
            "Stops listening to messages posted to channels.",
            "2.0.0",
            "O(N) where N is the number of channels to unsubscribe.",
            "[channel [channel ...]]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "psubscribe",
        arity: -2,
        flags: SUB_FLAGS,
        acl: acl::PUBSUB,
        handler: Some(psubscribe),
        doc: doc(
            "Listens for messages published to channels that match one or more patterns.",
            "2.0.0",
            "O(N) where N is the number of patterns to subscribe to.",
            "pattern [pattern ...]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "punsubscribe",
        arity: -1,
        flags: SUB_FLAGS,
        acl: acl::PUBSUB,
        handler: Some(punsubscribe),
        doc: doc(
            "Stops listening to messages published to channels that match one or more patterns.",
            "2.0.0",
            "O(N) where N is the number of patterns to unsubscribe.",
            "[pattern [pattern ...]]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "ssubscribe",
        arity: -2,
        flags: SUB_FLAGS,
        acl: acl::PUBSUB,
        keys: SHARD_SPEC,
        handler: Some(ssubscribe),
        doc: doc(
            "Listens for messages published to shard channels.",
            "7.0.0",
            "O(N) where N is the number of shard channels to subscribe to.",
            "shardchannel [shardchannel ...]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "sunsubscribe",
        arity: -1,
        flags: SUB_FLAGS,
        acl: acl::PUBSUB,
        keys: SHARD_SPEC,
        handler: Some(sunsubscribe),
        doc: doc(
            "Stops listening to messages posted to shard channels.",
            "7.0.0",
            "O(N) where N is the number of shard channels to unsubscribe.",
            "[shardchannel [shardchannel ...]]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "publish",
        arity: 3,
        flags: PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        acl: acl::PUBSUB,
        handler: Some(publish),
        doc: doc(
            "Posts a message to a channel.",
            "2.0.0",
            "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total \
             number of subscribed patterns (by any client).",
            "channel message",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "spublish",
        arity: 3,
        flags: PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        acl: acl::PUBSUB,
        keys: &[KeySpec::range(1, 0, 1, keyflags::NOT_KEY)],
        handler: Some(spublish),
        doc: doc(
            "Post a message to a shard channel",
            "7.0.0",
            "O(N) where N is the number of clients subscribed to the receiving shard channel.",
            "shardchannel message",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "pubsub",
        arity: -2,
        subcommands: PUBSUB_SUBCOMMANDS,
        doc: doc("A container for Pub/Sub commands.", "2.8.0", "Depends on subcommand.", ""),
        ..Command::DEFAULT
    },
];

const INTRO_FLAGS: u32 = PUBSUB | LOADING | STALE;

static PUBSUB_SUBCOMMANDS: &[Command] = &[
    Command {
        name: "channels",
        arity: -2,
        flags: INTRO_FLAGS,
        acl: acl::PUBSUB,
        handler: Some(channels),
        doc: doc(
            "Returns the active channels.",
            "2.8.0",
            "O(N) where N is the number of active channels, and assuming constant time pattern matching \
             (relatively short channels and patterns)",
            "[pattern]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "help",
        arity: 2,
        flags: LOADING | STALE,
        handler: Some(help),
        doc: doc("Returns helpful text about the different subcommands.", "6.2.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "numpat",
        arity: 2,
        flags: INTRO_FLAGS,
        acl: acl::PUBSUB,
        handler: Some(numpat),
        doc: doc("Returns a count of unique pattern subscriptions.", "2.8.0", "O(1)", ""),
        ..Command::DEFAULT
    },
    Command {
        name: "numsub",
        arity: -2,
        flags: INTRO_FLAGS,
        acl: acl::PUBSUB,
        handler: Some(numsub),
        doc: doc(
            "Returns a count of subscribers to channels.",
            "2.8.0",
            "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
            "[channel [channel ...]]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "shardchannels",
        arity: -2,
        flags: INTRO_FLAGS,
        acl: acl::PUBSUB,
        handler: Some(shardchannels),
        doc: doc(
            "Returns the active shard channels.",
            "7.0.0",
            "O(N) where N is the number of active shard channels, and assuming constant time pattern matching \
             (relatively short shard channels).",
            "[pattern]",
        ),
        ..Command::DEFAULT
    },
    Command {
        name: "shardnumsub",
        arity: -2,
        flags: INTRO_FLAGS,
        acl: acl::PUBSUB,
        handler: Some(shardnumsub),
        doc: doc(
            "Returns the count of subscribers of shard channels.",
            "7.0.0",
            "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
            "[shardchannel [shardchannel ...]]",
        ),
        ..Command::DEFAULT
    },
];

/// What one client is subscribed to, in subscription order.
#[derive(Default)]
pub struct Subscriptions {
    channels: IndexSet<Vec<u8>>,
    patterns: IndexSet<Vec<u8>>,
    shard: IndexSet<Vec<u8>>,
}

impl Subscriptions {
    fn set(&mut self, kind: Kind) -> &mut IndexSet<Vec<u8>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty()
    }

    /// The count a confirmation carries: channels and patterns together, or shard channels.
    fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Channel | Kind::Pattern => self.channels.len() + self.patterns.len(),
            Kind::Shard => self.shard.len(),
        }
    }
}

/// Whether a command may run while a RESP2 client has subscriptions (Valkey's list).
pub fn allowed_in_resp2_subscribed_mode(name: &str) -> bool {
    matches!(
        name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

/// Commands whose reply is a push: CLIENT REPLY OFF/SKIP does not silence it.
pub fn replies_with_push(name: &str) -> bool {
    matches!(name, "subscribe" | "ssubscribe" | "unsubscribe" | "sunsubscribe" | "psubscribe" | "punsubscribe")
}

fn confirmation(out: &mut Reply, what: &[u8], name: Option<&[u8]>, count: usize) {
    out.push(3);
    out.bulk(what);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

/// Mirrors the client's subscription counts where CLIENT LIST, INFO and delivery read them.
fn publish_counts(client: &Client) {
    let s = &client.subscriptions;
    let shared = &client.shared;
    shared.sub.store(s.channels.len(), Relaxed);
    shared.psub.store(s.patterns.len(), Relaxed);
    shared.ssub.store(s.shard.len(), Relaxed);
    shared.flags.lock().pubsub = !s.is_empty();
}

const SUBSCRIBED: [&[u8]; 3] = [b"subscribe", b"psubscribe", b"ssubscribe"];
const UNSUBSCRIBED: [&[u8]; 3] = [b"unsubscribe", b"punsubscribe", b"sunsubscribe"];

fn index(kind: Kind) -> usize {
    match kind {
        Kind::Channel => 0,
        Kind::Pattern => 1,
        Kind::Shard => 2,
    }
}

fn add(ctx: &mut Ctx, kind: Kind, names: &[&[u8]]) -> CmdResult {
    for name in names {
        if ctx.client.subscriptions.set(kind).insert(name.to_vec()) {
            ctx.engine.pubsub.subscribe(kind, name, &ctx.client.shared);
        }
        let count = ctx.client.subscriptions.count(kind);
        confirmation(ctx.out, SUBSCRIBED[index(kind)], Some(name), count);
    }
    publish_counts(ctx.client);
    Ok(())
}

fn remove(ctx: &mut Ctx, kind: Kind, names: &[&[u8]]) -> CmdResult {
    let all: Vec<Vec<u8>>;
    let names: Vec<&[u8]> = if names.is_empty() {
        all = ctx.client.subscriptions.set(kind).iter().cloned().collect();
        all.iter().map(|n| n.as_slice()).collect()
    } else {
        names.to_vec()
    };
    let what = UNSUBSCRIBED[index(kind)];
    for name in &names {
        if ctx.client.subscriptions.set(kind).shift_remove(*name) {
            ctx.engine.pubsub.unsubscribe(kind, name, ctx.client.id());
        }
        let count = ctx.client.subscriptions.count(kind);
        confirmation(ctx.out, what, Some(name), count);
    }
    if names.is_empty() {
        // Nothing to unsubscribe from: one confirmation with a null name.
        confirmation(ctx.out, what, None, ctx.client.subscriptions.count(kind));
    }
    publish_counts(ctx.client);
    Ok(())
}

/// Drops every subscription of a client that resets or disconnects, without replies.
pub fn unsubscribe_all(engine: &Engine, client: &mut Client) {
    if client.subscriptions.is_empty() {
        return;
    }
    let id = client.id();
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        for name in client.subscriptions.set(kind).drain(..) {
            engine.pubsub.unsubscribe(kind, &name, id);
        }
    }
    publish_counts(client);
}

fn subscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    add(ctx, Kind::Channel, &argv[1..])
}

fn psubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    add(ctx, Kind::Pattern, &argv[1..])
}

fn ssubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    add(ctx, Kind::Shard, &argv[1..])
}

fn unsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    remove(ctx, Kind::Channel, &argv[1..])
}

fn punsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    remove(ctx, Kind::Pattern, &argv[1..])
}

fn sunsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    remove(ctx, Kind::Shard, &argv[1..])
}

fn publish(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    publish_to(ctx, false, argv)
}

fn spublish(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    publish_to(ctx, true, argv)
}

/// PUBLISH/SPUBLISH: deliver, reply with the number of receivers, and pass the command to
/// replicas (Valkey forces its propagation; it changes no key).
fn publish_to(ctx: &mut Ctx, shard: bool, argv: &[&[u8]]) -> CmdResult {
    let receivers = ctx.engine.pubsub.publish(ctx.engine, shard, argv[1], argv[2]);
    ctx.keys.propagate_always();
    ctx.out.int(receivers as i64);
    Ok(())
}

fn list_channels(ctx: &mut Ctx, shard: bool, argv: &[&[u8]]) -> CmdResult {
    if argv.len() > 3 {
        return Err(super::subcommand_syntax_error(argv));
    }
    let names = ctx.engine.pubsub.channel_names(shard, argv.get(2).copied());
    ctx.out.array(names.len());
    for n in &names {
        ctx.out.bulk(n);
    }
    Ok(())
}

fn channels(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    list_channels(ctx, false, argv)
}

fn shardchannels(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    list_channels(ctx, true, argv)
}

fn count_subscribers(ctx: &mut Ctx, shard: bool, argv: &[&[u8]]) -> CmdResult {
    ctx.out.array((argv.len() - 2) * 2);
    for ch in &argv[2..] {
        ctx.out.bulk(ch);
        ctx.out.int(ctx.engine.pubsub.subscriber_count(shard, ch) as i64);
    }
    Ok(())
}

fn numsub(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    count_subscribers(ctx, false, argv)
}

fn shardnumsub(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    count_subscribers(ctx, true, argv)
}

fn numpat(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.int(ctx.engine.pubsub.counts().1 as i64);
    Ok(())
}

fn help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    reply_help(
        ctx.out,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::engine::Engine;
    use crate::exec::tests::{client, pushes, run};

    #[test]
    fn subscribe_publish_unsubscribe() {
        let e = Engine::for_tests();
        let mut sub = client(&e);
        let mut publisher = client(&e);
        assert_eq!(
            run(&e, &mut sub, &["subscribe", "a", "b", "a"]),
            "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n\
             *3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n"
        );
        assert_eq!(run(&e, &mut sub, &["psubscribe", "b*"]), "*3\r\n$10\r\npsubscribe\r\n$2\r\nb*\r\n:3\r\n");
        assert_eq!(run(&e, &mut publisher, &["publish", "b", "hi"]), ":2\r\n");
        assert_eq!(
            pushes(&sub),
            "*3\r\n$7\r\nmessage\r\n$1\r\nb\r\n$2\r\nhi\r\n*4\r\n$8\r\npmessage\r\n$2\r\nb*\r\n$1\r\nb\r\n$2\r\nhi\r\n"
        );
        assert_eq!(
            run(&e, &mut publisher, &["pubsub", "numsub", "a", "zz"]),
            "*4\r\n$1\r\na\r\n:1\r\n$2\r\nzz\r\n:0\r\n"
        );
        assert_eq!(run(&e, &mut publisher, &["pubsub", "numpat"]), ":1\r\n");
        assert_eq!(run(&e, &mut publisher, &["pubsub", "channels", "a*"]), "*1\r\n$1\r\na\r\n");
        assert_eq!(
            run(&e, &mut publisher, &["pubsub", "channels", "a", "b"]),
            "-ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP.\r\n"
        );
        // A bare UNSUBSCRIBE confirms each channel, in subscription order.
        assert_eq!(
            run(&e, &mut sub, &["unsubscribe"]),
            "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n"
        );
        assert_eq!(run(&e, &mut sub, &["punsubscribe"]), "*3\r\n$12\r\npunsubscribe\r\n$2\r\nb*\r\n:0\r\n");
        assert_eq!(run(&e, &mut publisher, &["publish", "b", "hi"]), ":0\r\n");
        assert_eq!(pushes(&sub), "");
        assert_eq!(e.pubsub.counts(), (0, 0, 0));
        assert!(e.pubsub.is_empty());
    }

    #[test]
    fn resp2_subscribed_mode_allows_only_a_few_commands() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        assert_eq!(
            run(&e, &mut c, &["unsubscribe", "x"]),
            "-NOSUB 'unsubscribe' command executed not in subscribed mode\r\n"
        );
        run(&e, &mut c, &["ssubscribe", "s"]);
        assert_eq!(
            run(&e, &mut c, &["get", "k"]),
            "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in \
             this context\r\n"
        );
        assert_eq!(run(&e, &mut c, &["ping"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        assert_eq!(run(&e, &mut c, &["ping", "x"]), "*2\r\n$4\r\npong\r\n$1\r\nx\r\n");
        // Unsubscribing from nothing of that kind confirms with a null name.
        assert_eq!(run(&e, &mut c, &["punsubscribe"]), "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
        assert_eq!(run(&e, &mut c, &["reset"]), "+RESET\r\n");
        assert_eq!(run(&e, &mut c, &["get", "k"]), "$-1\r\n");
        assert_eq!(e.pubsub.counts(), (0, 0, 0));
    }

    #[test]
    fn resp3_clients_get_pushes_and_may_run_anything() {
        let e = Engine::for_tests();
        let mut c = client(&e);
        run(&e, &mut c, &["hello", "3"]);
        assert_eq!(run(&e, &mut c, &["subscribe", "ch"]), ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
        assert_eq!(run(&e, &mut c, &["get", "k"]), "_\r\n");
        assert_eq!(run(&e, &mut c, &["ping"]), "+PONG\r\n");
        assert_eq!(run(&e, &mut c, &["publish", "ch", "m"]), ":1\r\n");
        assert_eq!(pushes(&c), ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n");
        // CLIENT REPLY OFF does not silence the subscription confirmations.
        run(&e, &mut c, &["client", "reply", "off"]);
        assert_eq!(run(&e, &mut c, &["subscribe", "d"]), ">3\r\n$9\r\nsubscribe\r\n$1\r\nd\r\n:2\r\n");
        assert_eq!(run(&e, &mut c, &["ping"]), "");
    }

    #[test]
    fn shard_channels_are_apart_from_channels() {
        let e = Engine::for_tests();
        let mut sub = client(&e);
        let mut p = client(&e);
        run(&e, &mut sub, &["subscribe", "x"]);
        assert_eq!(run(&e, &mut sub, &["ssubscribe", "x"]), "*3\r\n$10\r\nssubscribe\r\n$1\r\nx\r\n:1\r\n");
        assert_eq!(run(&e, &mut p, &["spublish", "x", "m"]), ":1\r\n");
        assert_eq!(pushes(&sub), "*3\r\n$8\r\nsmessage\r\n$1\r\nx\r\n$1\r\nm\r\n");
        assert_eq!(run(&e, &mut p, &["pubsub", "shardnumsub", "x"]), "*2\r\n$1\r\nx\r\n:1\r\n");
        assert_eq!(run(&e, &mut p, &["pubsub", "shardchannels"]), "*1\r\n$1\r\nx\r\n");
        assert_eq!(run(&e, &mut sub, &["sunsubscribe", "x"]), "*3\r\n$12\r\nsunsubscribe\r\n$1\r\nx\r\n:0\r\n");
        assert_eq!(run(&e, &mut p, &["publish", "x", "m"]), ":1\r\n");
    }

    #[test]
    fn keyspace_and_keyevent_channels() {
        let e = Engine::for_tests();
        let mut sub = client(&e);
        let mut c = client(&e);
        run(&e, &mut c, &["config", "set", "notify-keyspace-events", "KE$g"]);
        run(&e, &mut sub, &["subscribe", "__keyevent@0__:set", "__keyspace@0__:camera_config"]);
        pushes(&sub);
        run(&e, &mut c, &["set", "camera_config", "v"]);
        run(&e, &mut c, &["del", "camera_config"]);
        assert_eq!(
            pushes(&sub),
            "*3\r\n$7\r\nmessage\r\n$28\r\n__keyspace@0__:camera_config\r\n$3\r\nset\r\n\
             *3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:set\r\n$13\r\ncamera_config\r\n\
             *3\r\n$7\r\nmessage\r\n$28\r\n__keyspace@0__:camera_config\r\n$3\r\ndel\r\n"
        );
    }

    #[test]
    fn a_subscriber_over_its_hard_limit_is_disconnected() {
        let e = Engine::for_tests();
        let mut sub = client(&e);
        let mut p = client(&e);
        run(&e, &mut p, &["config", "set", "client-output-buffer-limit", "pubsub 1000 0 0"]);
        assert_eq!(
            run(&e, &mut p, &["config", "get", "client-output-buffer-limit"]),
            "*2\r\n$26\r\nclient-output-buffer-limit\r\n$56\r\nnormal 0 0 0 slave 268435456 67108864 60 pubsub 1000 0 0\r\n"
        );
        run(&e, &mut sub, &["subscribe", "ch"]);
        // Each message is a 133-byte frame: seven fit in 1000 bytes, the eighth does not.
        let msg = "x".repeat(100);
        for _ in 0..7 {
            assert_eq!(run(&e, &mut p, &["publish", "ch", &msg]), ":1\r\n");
        }
        assert!(!sub.shared.killed.load(std::sync::atomic::Ordering::Relaxed));
        run(&e, &mut p, &["publish", "ch", &msg]);
        assert!(sub.shared.killed.load(std::sync::atomic::Ordering::Relaxed));
        // Its queued messages are dropped, and nothing more is queued for it.
        assert_eq!(sub.shared.mailbox.bytes(), 0);
        run(&e, &mut p, &["publish", "ch", &msg]);
        assert_eq!(sub.shared.mailbox.bytes(), 0);
    }

    #[test]
    fn soft_limit_needs_its_seconds() {
        let e = Engine::for_tests();
        let mut sub = client(&e);
        let mut p = client(&e);
        run(&e, &mut p, &["config", "set", "client-output-buffer-limit", "pubsub 0 100 1"]);
        run(&e, &mut sub, &["subscribe", "ch"]);
        let msg = "x".repeat(200);
        run(&e, &mut p, &["publish", "ch", &msg]);
        run(&e, &mut p, &["publish", "ch", &msg]);
        assert!(!sub.shared.killed.load(std::sync::atomic::Ordering::Relaxed));
        std::thread::sleep(std::time::Duration::from_millis(2100));
        run(&e, &mut p, &["publish", "ch", &msg]);
        assert!(sub.shared.killed.load(std::sync::atomic::Ordering::Relaxed));
    }
}
