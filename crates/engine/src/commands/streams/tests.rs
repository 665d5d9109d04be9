//! Unit tests of the stream commands, through the dispatcher against a fresh engine: replies,
//! error texts, keyspace events, propagation rewrites and the blocking reads' serving.

use crate::client::Client;
use crate::commands::table::Lookup;
use crate::commands::Ctx;
use crate::db::Keys;
use crate::engine::Engine;
use crate::exec::execute;
use crate::exec::tests::client;
use crate::keyspace::LockSet;
use resp::Reply;
use std::sync::Arc;

fn run(e: &Engine, c: &mut Client, cmd: &str) -> String {
    let argv: Vec<&[u8]> = cmd.split(' ').map(|a| a.as_bytes()).collect();
    let mut out = Reply::new(c.resp3);
    execute(e, c, &argv, &mut out);
    show(out.as_bytes())
}

fn show(bytes: &[u8]) -> String {
    let (v, used) = resp::Value::parse(bytes).expect("one complete reply");
    assert_eq!(used, bytes.len(), "exactly one reply");
    fn render(v: &resp::Value) -> String {
        use resp::Value::*;
        match v {
            Simple(s) => format!("+{}", String::from_utf8_lossy(s)),
            Error(s) => format!("-{}", String::from_utf8_lossy(s)),
            Int(i) => format!(":{i}"),
            Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            Null => "nil".into(),
            Array(items) | Set(items) | Push(items) => {
                format!("[{}]", items.iter().map(render).collect::<Vec<_>>().join(" "))
            }
            Map(pairs) => format!(
                "{{{}}}",
                pairs.iter().map(|(k, v)| format!("{}: {}", render(k), render(v))).collect::<Vec<_>>().join(", ")
            ),
            other => format!("{other:?}"),
        }
    }
    render(&v)
}

fn setup() -> (Arc<Engine>, Client) {
    let e = Engine::for_tests();
    let c = client(&e);
    (e, c)
}

/// Runs a command with every shard of the client's database locked and returns the reply,
/// the events and what the command itself would propagate (`None`: as called).
fn run_effects(e: &Engine, c: &mut Client, cmd: &str) -> (String, Vec<String>, Vec<String>) {
    e.config.set("notify-keyspace-events", &[b"KEA"]).unwrap();
    let argv: Vec<&[u8]> = cmd.split(' ').map(|a| a.as_bytes()).collect();
    let Lookup::Found(resolved) = e.commands.lookup(&argv) else { panic!("no such command") };
    let mut set = LockSet::new();
    set.add_db(c.db);
    let keys = Keys::new(e, e.keyspace.lock(&set), c.db, crate::util::now_ms(), true);
    let mut reply = Reply::new(c.resp3);
    let mut ctx = Ctx { keys, out: &mut reply, client: c, engine: e, cmd: resolved };
    if let Err(err) = (resolved.def.handler.unwrap())(&mut ctx, &argv) {
        ctx.out.truncate(0);
        ctx.out.error_bytes(err.text());
    }
    let Ctx { keys, out, .. } = ctx;
    let shown = show(out.as_bytes());
    let effects = keys.finish();
    let events = effects.events.iter().map(|ev| ev.event.to_string()).collect();
    let mut props: Vec<String> = effects
        .propagate
        .iter()
        .map(|op| op.argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" "))
        .collect();
    match effects.own {
        crate::db::Propagate::As(v) => {
            props.push(v.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" "))
        }
        crate::db::Propagate::Nothing => {}
        _ => props.push("<as called>".into()),
    }
    (shown, events, props)
}

#[test]
fn xadd_ranges_and_errors() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, "XADD s 1-1 a 1"), "1-1");
    assert_eq!(run(&e, &mut c, "XADD s 1-* b 2"), "1-2");
    assert_eq!(run(&e, &mut c, "XADD s 2 a 3 c 4"), "2-0");
    assert_eq!(run(&e, &mut c, "XRANGE s - +"), "[[1-1 [a 1]] [1-2 [b 2]] [2-0 [a 3 c 4]]]");
    assert_eq!(run(&e, &mut c, "XREVRANGE s + - COUNT 2"), "[[2-0 [a 3 c 4]] [1-2 [b 2]]]");
    assert_eq!(run(&e, &mut c, "XRANGE s (1-1 + COUNT 1"), "[[1-2 [b 2]]]");
    assert_eq!(run(&e, &mut c, "XRANGE s - + COUNT 0"), "nil");
    assert_eq!(run(&e, &mut c, "XRANGE nope - +"), "[]");
    assert_eq!(run(&e, &mut c, "XLEN s"), ":3");
    assert_eq!(
        run(&e, &mut c, "XADD s 1-5 a 1"),
        "-ERR The ID specified in XADD is equal or smaller than the target stream top item"
    );
    assert_eq!(run(&e, &mut c, "XADD s 0-0 a 1"), "-ERR The ID specified in XADD must be greater than 0-0");
    assert_eq!(run(&e, &mut c, "XADD s * a"), "-ERR wrong number of arguments for 'xadd' command");
    assert_eq!(run(&e, &mut c, "XADD s x-1 a 1"), "-ERR Invalid stream ID specified as stream command argument");
    assert_eq!(
        run(&e, &mut c, "XADD s MAXLEN 1 MINID 1 * a 1"),
        "-ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
    );
    assert_eq!(
        run(&e, &mut c, "XADD s MAXLEN 1 LIMIT 1 * a 1"),
        "-ERR syntax error, LIMIT cannot be used without the special ~ option"
    );
    assert_eq!(run(&e, &mut c, "XRANGE s (- +"), "-ERR Invalid stream ID specified as stream command argument");
    assert_eq!(
        run(&e, &mut c, "XRANGE s (18446744073709551615-18446744073709551615 +"),
        "-ERR invalid start ID for the interval"
    );
    assert_eq!(run(&e, &mut c, "XADD nk NOMKSTREAM * a 1"), "nil");
    assert_eq!(run(&e, &mut c, "EXISTS nk"), ":0");
    run(&e, &mut c, "SET str x");
    assert_eq!(run(&e, &mut c, "XADD str * a 1"), "-WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(run(&e, &mut c, "TYPE s"), "+stream");
    assert_eq!(run(&e, &mut c, "OBJECT ENCODING s"), "stream");
    assert_eq!(run(&e, &mut c, "XDEL s 1-2 9-9"), ":1");
    assert_eq!(run(&e, &mut c, "XTRIM s MAXLEN 1"), ":1");
    assert_eq!(run(&e, &mut c, "XRANGE s - +"), "[[2-0 [a 3 c 4]]]");
    assert_eq!(run(&e, &mut c, "XTRIM s FOO 1"), "-ERR syntax error");
    assert_eq!(
        run(&e, &mut c, "XSETID s 1-0"),
        "-ERR The ID specified in XSETID is smaller than current max_deleted_entry_id"
    );
    assert_eq!(
        run(&e, &mut c, "XSETID s 1-5"),
        "-ERR The ID specified in XSETID is smaller than the target stream top item"
    );
    assert_eq!(run(&e, &mut c, "XSETID s 5-0"), "+OK");
    assert_eq!(
        run(&e, &mut c, "XADD s 4-0 a 1"),
        "-ERR The ID specified in XADD is equal or smaller than the target stream top item"
    );
}

#[test]
fn xadd_events_and_propagation() {
    let (e, mut c) = setup();
    let sink = crate::propagate::Sink::new();
    e.propagation.attach(sink.clone());
    let (r, ev, p) = run_effects(&e, &mut c, "XADD s * a 1");
    assert!(p[0].starts_with("XADD s ") && !p[0].contains('*'), "{p:?} for {r}");
    assert_eq!(ev, vec!["xadd"]);
    for i in 0..300 {
        run(&e, &mut c, &format!("XADD t {}-0 a 1", i + 1));
    }
    let (r, ev, p) = run_effects(&e, &mut c, "XADD t MAXLEN ~ 150 301-0 a 1");
    assert_eq!(r, "301-0");
    assert_eq!(ev, vec!["xadd", "xtrim"]);
    assert_eq!(p, vec!["XADD t MAXLEN = 201 301-0 a 1"]);
    let (r, ev, p) = run_effects(&e, &mut c, "XTRIM t MINID ~ 250");
    assert_eq!((r.as_str(), ev), (":100", vec!["xtrim".to_string()]));
    assert_eq!(p, vec!["XTRIM t MINID = 201-0"]);

    // A trim limited by LIMIT propagates as the exact trim it amounted to, LIMIT kept; the
    // master's link and the AOF replay it (LIMIT ignored), a normal client may not send it.
    let (_, _, p) = run_effects(&e, &mut c, "XADD t MAXLEN ~ 10 LIMIT 100 302-0 a 1");
    assert_eq!(p, vec!["XADD t MAXLEN = 102 LIMIT 100 302-0 a 1"]);
    let err = "-ERR syntax error, LIMIT cannot be used without the special ~ option";
    assert_eq!(run(&e, &mut c, "XADD u MAXLEN = 2 LIMIT 100 1-0 a 1"), err);
    c.obey = true;
    for i in 1..=5 {
        run(&e, &mut c, &format!("XADD u {i}-0 a 1"));
    }
    assert_eq!(run(&e, &mut c, "XADD u MAXLEN = 2 LIMIT 1 6-0 a 1"), "6-0");
    assert_eq!(run(&e, &mut c, "XLEN u"), ":2");
}

#[test]
fn groups_deliver_ack_and_claim() {
    let (e, mut c) = setup();
    let sink = crate::propagate::Sink::new();
    e.propagation.attach(sink.clone());
    for i in 1..=3 {
        run(&e, &mut c, &format!("XADD s {i}-0 f v{i}"));
    }
    assert_eq!(run(&e, &mut c, "XGROUP CREATE s g 0"), "+OK");
    assert_eq!(run(&e, &mut c, "XGROUP CREATE s g 0"), "-BUSYGROUP Consumer Group name already exists");
    assert_eq!(run(&e, &mut c, "XGROUP CREATE nokey g 0"), "-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
    let (r, ev, p) = run_effects(&e, &mut c, "XREADGROUP GROUP g alice COUNT 2 STREAMS s >");
    assert_eq!(r, "[[s [[1-0 [f v1]] [2-0 [f v2]]]]]");
    assert_eq!(ev, vec!["xgroup-createconsumer"]);
    assert_eq!(p.len(), 3);
    assert!(
        p[0].starts_with("XCLAIM s g alice 0 1-0 TIME ") && p[0].ends_with(" RETRYCOUNT 1 FORCE JUSTID LASTID 1-0"),
        "{p:?}"
    );
    assert_eq!(p[2], "XGROUP SETID s g 2-0 ENTRIESREAD 2");
    assert_eq!(run(&e, &mut c, "XPENDING s g"), "[:2 1-0 2-0 [[alice 2]]]");
    // History: the consumer's own pending entries.
    assert_eq!(run(&e, &mut c, "XREADGROUP GROUP g alice STREAMS s 0"), "[[s [[1-0 [f v1]] [2-0 [f v2]]]]]");
    assert_eq!(run(&e, &mut c, "XREADGROUP GROUP g bob STREAMS s 0"), "[[s []]]");
    assert_eq!(run(&e, &mut c, "XACK s g 1-0 9-0"), ":1");
    assert_eq!(run(&e, &mut c, "XACK s g bad"), "-ERR Invalid stream ID specified as stream command argument");
    assert_eq!(run(&e, &mut c, "XCLAIM s g bob 0 2-0 JUSTID"), "[2-0]");
    assert!(run(&e, &mut c, "XPENDING s g - + 10").starts_with("[[2-0 bob :"));
    run(&e, &mut c, "XDEL s 2-0");
    assert_eq!(run(&e, &mut c, "XAUTOCLAIM s g carol 0 0"), "[0-0 [] [2-0]]");
    assert_eq!(run(&e, &mut c, "XPENDING s g"), "[:0 nil nil nil]");
    assert_eq!(
        run(&e, &mut c, "XINFO GROUPS s"),
        "[[name g consumers :3 pending :0 last-delivered-id 2-0 entries-read :2 lag nil]]",
        "a tombstone after the last delivered ID hides the lag"
    );
    assert_eq!(run(&e, &mut c, "XGROUP DELCONSUMER s g bob"), ":0");
    assert_eq!(run(&e, &mut c, "XGROUP DESTROY s g"), ":1");
    assert_eq!(
        run(&e, &mut c, "XREADGROUP GROUP g a STREAMS s >"),
        "-NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option"
    );
    assert_eq!(
        run(&e, &mut c, "XREAD COUNT 1 STREAMS s"),
        "-ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified."
    );
    assert_eq!(run(&e, &mut c, "XREAD STREAMS s 0"), "[[s [[1-0 [f v1]] [3-0 [f v3]]]]]");
    assert_eq!(run(&e, &mut c, "XREAD STREAMS s $"), "nil");
}

#[test]
fn dump_restores_a_stream_with_its_groups() {
    let (e, mut c) = setup();
    for i in 1..=250 {
        run(&e, &mut c, &format!("XADD s {i}-0 f v{i} g x"));
    }
    run(&e, &mut c, "XGROUP CREATE s g 0");
    run(&e, &mut c, "XREADGROUP GROUP g alice COUNT 5 STREAMS s >");
    let argv: Vec<&[u8]> = vec![b"DUMP", b"s"];
    let mut out = Reply::new(false);
    execute(&e, &mut c, &argv, &mut out);
    let (v, _) = resp::Value::parse(out.as_bytes()).unwrap();
    let resp::Value::Bulk(payload) = v else { panic!("no payload") };
    assert_eq!(payload[0], 21, "type STREAM_LISTPACKS_3");
    let argv: Vec<&[u8]> = vec![b"RESTORE", b"t", b"0", &payload];
    let mut out = Reply::new(false);
    execute(&e, &mut c, &argv, &mut out);
    assert_eq!(out.as_bytes(), b"+OK\r\n");
    assert_eq!(run(&e, &mut c, "XRANGE t - +"), run(&e, &mut c, "XRANGE s - +"));
    assert_eq!(run(&e, &mut c, "XPENDING t g"), "[:5 1-0 5-0 [[alice 5]]]");
    assert_eq!(run(&e, &mut c, "COPY s u"), ":1");
    assert_eq!(run(&e, &mut c, "XINFO STREAM u"), run(&e, &mut c, "XINFO STREAM s"));
}
