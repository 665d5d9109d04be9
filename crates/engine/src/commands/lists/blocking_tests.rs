//! Unit tests of the blocking list commands, driving `Keys` directly: a command blocks
//! (registers its waiter in the shards' queues), a later write marks keys ready, and
//! `Keys::serve_ready` serves the waiters as the dispatcher does before unlocking.

use super::tests::{exec, setup};
use crate::blocking::{SlotState, Waiter};
use crate::client::Client;
use crate::commands::Ctx;
use crate::db::Keys;
use crate::engine::Engine;
use crate::exec::tests::{client, run};
use crate::keyspace::{hash_key, shard_of, LockSet};
use resp::Reply;
use std::sync::Arc;

fn argv(s: &[&str]) -> Vec<Vec<u8>> {
    s.iter().map(|a| a.as_bytes().to_vec()).collect()
}

/// Runs `cmd`, which must block, and returns its waiter and deadline.
fn block(e: &Engine, c: &mut Client, cmd: &[&str]) -> (Arc<Waiter>, Option<u64>) {
    let args = argv(cmd);
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    let (reply, fx) = exec(e, c, &refs, false);
    assert_eq!(reply, "", "a blocking command replies only when served");
    let req = fx.block.expect("the command blocked");
    (req.waiter, req.deadline_ms)
}

/// Runs several commands under one set of locks (a transaction, as far as serving goes),
/// then serves the ready keys. Returns the replies.
fn exec_all(e: &Engine, c: &mut Client, cmds: &[&[&str]]) -> (Vec<String>, crate::db::Effects) {
    let mut set = LockSet::new();
    for db in 0..e.keyspace.databases() {
        set.add_db(db);
    }
    let mut out = Reply::new(false);
    let keys = Keys::new(e, e.keyspace.lock(&set), c.db, crate::util::now_ms(), true);
    let first = e.commands.by_name(cmds[0][0].as_bytes()).unwrap();
    let mut ctx = Ctx { keys, out: &mut out, client: c, engine: e, cmd: first };
    let mut spans = Vec::new();
    for cmd in cmds {
        let args = argv(cmd);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        ctx.cmd = e.commands.by_name(refs[0]).unwrap();
        let start = ctx.out.len();
        if let Err(err) = (ctx.cmd.def.handler.unwrap())(&mut ctx, &refs) {
            ctx.out.truncate(start);
            ctx.out.error_bytes(err.text());
        }
        spans.push((start, ctx.out.len()));
    }
    ctx.keys.serve_ready();
    let Ctx { keys, out, .. } = ctx;
    let effects = keys.finish();
    let replies = spans.iter().map(|&(a, b)| String::from_utf8_lossy(&out.as_bytes()[a..b]).into_owned()).collect();
    (replies, effects)
}

fn served(w: &Waiter) -> String {
    match w.slot.state() {
        SlotState::Served(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("not served: {other:?}"),
    }
}

fn waiting(w: &Waiter) -> bool {
    w.slot.state() == SlotState::Waiting
}

#[test]
fn pops_at_once_when_a_list_has_elements() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["rpush", "b", "1", "2"]);
    assert_eq!(run(&e, &mut c, &["blpop", "a", "b", "0"]), "*2\r\n$1\r\nb\r\n$1\r\n1\r\n");
    assert_eq!(run(&e, &mut c, &["brpop", "a", "b", "1"]), "*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "b"]), ":0\r\n");
    run(&e, &mut c, &["rpush", "b", "1", "2", "3"]);
    assert_eq!(
        run(&e, &mut c, &["blmpop", "0", "2", "a", "b", "right", "count", "2"]),
        "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n"
    );
    assert_eq!(run(&e, &mut c, &["blmove", "b", "c", "left", "right", "0"]), "$1\r\n1\r\n");
    assert_eq!(run(&e, &mut c, &["brpoplpush", "c", "d", "0"]), "$1\r\n1\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "d", "0", "-1"]), "*1\r\n$1\r\n1\r\n");
}

#[test]
fn timeout_and_argument_errors() {
    let (e, mut c) = setup();
    for cmd in [
        &["blpop", "a", "-1"][..],
        &["brpop", "a", "-0.5"],
        &["blmove", "a", "b", "left", "left", "-1"],
        &["brpoplpush", "a", "b", "-1"],
    ] {
        assert_eq!(run(&e, &mut c, cmd), "-ERR timeout is negative\r\n", "{cmd:?}");
    }
    assert_eq!(run(&e, &mut c, &["blpop", "a", "x"]), "-ERR timeout is not a float or out of range\r\n");
    assert_eq!(run(&e, &mut c, &["blpop", "a", "inf"]), "-ERR timeout is out of range\r\n");
    assert_eq!(run(&e, &mut c, &["blpop", "a", "9223372036854775"]), "-ERR timeout is out of range\r\n");
    // BLMPOP checks numkeys, the side and COUNT before the timeout.
    assert_eq!(run(&e, &mut c, &["blmpop", "-1", "0", "a", "left"]), "-ERR numkeys should be greater than 0\r\n");
    assert_eq!(run(&e, &mut c, &["blmpop", "-1", "1", "a", "up"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["blmpop", "-1", "1", "a", "left"]), "-ERR timeout is negative\r\n");
    // BLMOVE checks the sides before the timeout.
    assert_eq!(run(&e, &mut c, &["blmove", "a", "b", "up", "left", "x"]), "-ERR syntax error\r\n");
    assert_eq!(run(&e, &mut c, &["blpop", "a"]), "-ERR wrong number of arguments for 'blpop' command\r\n");
}

#[test]
fn blocking_registers_each_key_once_with_the_deadline() {
    let (e, mut c) = setup();
    let before = crate::util::now_ms();
    let (w, deadline) = block(&e, &mut c, &["blpop", "a", "b", "a", "1.5"]);
    assert_eq!(w.keys, argv(&["a", "b"]));
    let deadline = deadline.expect("a timeout was given");
    assert!(deadline >= before + 1500 && deadline <= crate::util::now_ms() + 1500);
    let (_, forever) = block(&e, &mut c, &["brpoplpush", "x", "y", "0"]);
    assert_eq!(forever, None);
    let mut out = Reply::new(false);
    (w.timeout_reply)(&mut out);
    assert_eq!(out.as_bytes(), b"*-1\r\n");
    let mut out = Reply::new(false);
    super::pop_instead_of_blocking(&mut out);
    super::move_instead_of_blocking(&mut out);
    assert_eq!(out.as_bytes(), b"*-1\r\n$-1\r\n");
}

#[test]
fn a_push_serves_waiters_first_come_first_served() {
    let (e, mut c) = setup();
    let (w1, _) = block(&e, &mut c, &["blpop", "q", "0"]);
    let (w2, _) = block(&e, &mut c, &["brpop", "q", "0"]);
    let (w3, _) = block(&e, &mut c, &["blpop", "q", "0"]);
    let (replies, fx) = exec_all(&e, &mut c, &[&["lpush", "q", "x", "y"]]);
    assert_eq!(replies, vec![":2\r\n"]);
    assert_eq!(served(&w1), "*2\r\n$1\r\nq\r\n$1\r\ny\r\n");
    assert_eq!(served(&w2), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    assert!(waiting(&w3));
    // LPUSH and the two served pops.
    assert_eq!(fx.dirty, 4);
    assert_eq!(run(&e, &mut c, &["exists", "q"]), ":0\r\n");
    exec_all(&e, &mut c, &[&["rpush", "q", "z"]]);
    assert_eq!(served(&w3), "*2\r\n$1\r\nq\r\n$1\r\nz\r\n");
}

#[test]
fn a_served_client_reruns_its_command_over_all_its_keys() {
    let (e, mut c) = setup();
    let (w, _) = block(&e, &mut c, &["blpop", "a", "b", "0"]);
    // Both pushed in one transaction, b first: the re-run takes a, the first in its order.
    exec_all(&e, &mut c, &[&["lpush", "b", "x"], &["lpush", "a", "y"]]);
    assert_eq!(served(&w), "*2\r\n$1\r\na\r\n$1\r\ny\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "b", "0", "-1"]), "*1\r\n$1\r\nx\r\n");
    // A key before the ready one that holds another type answers WRONGTYPE.
    run(&e, &mut c, &["del", "b"]);
    let (w, _) = block(&e, &mut c, &["blpop", "s", "b", "0"]);
    exec_all(&e, &mut c, &[&["set", "s", "str"], &["rpush", "b", "v"]]);
    assert_eq!(served(&w), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    assert_eq!(run(&e, &mut c, &["llen", "b"]), ":1\r\n");
}

#[test]
fn a_ready_key_of_another_type_leaves_the_client_blocked() {
    let (e, mut c) = setup();
    let (w, _) = block(&e, &mut c, &["blpop", "k", "0"]);
    exec_all(&e, &mut c, &[&["set", "k", "v"]]);
    assert!(waiting(&w));
    // Pushed and deleted before serving: nothing to serve either.
    exec_all(&e, &mut c, &[&["del", "k"], &["rpush", "k", "a"], &["del", "k"]]);
    assert!(waiting(&w));
    exec_all(&e, &mut c, &[&["rpush", "k", "b"]]);
    assert_eq!(served(&w), "*2\r\n$1\r\nk\r\n$1\r\nb\r\n");
}

#[test]
fn blmpop_and_blmove_are_served() {
    let (e, mut c) = setup();
    let (w1, _) = block(&e, &mut c, &["blmpop", "0", "2", "l1", "l2", "left", "count", "2"]);
    let (w2, _) = block(&e, &mut c, &["blmove", "l2", "dst", "right", "left", "0"]);
    exec_all(&e, &mut c, &[&["rpush", "l2", "a", "b", "c"]]);
    assert_eq!(served(&w1), "*2\r\n$2\r\nl2\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    assert_eq!(served(&w2), "$1\r\nc\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "dst", "0", "-1"]), "*1\r\n$1\r\nc\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "l2"]), ":0\r\n");
}

#[test]
fn blmove_to_a_wrong_type_answers_wrongtype_and_keeps_the_element() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["set", "t1", "nolist"]);
    let (w1, _) = block(&e, &mut c, &["brpoplpush", "src", "t1", "0"]);
    let (w2, _) = block(&e, &mut c, &["brpoplpush", "src", "t2", "0"]);
    exec_all(&e, &mut c, &[&["lpush", "src", "foo"]]);
    assert_eq!(served(&w1), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    assert_eq!(served(&w2), "$3\r\nfoo\r\n");
    assert_eq!(run(&e, &mut c, &["lrange", "t2", "0", "-1"]), "*1\r\n$3\r\nfoo\r\n");
}

#[test]
fn chained_and_circular_moves() {
    let (e, mut c) = setup();
    let (w1, _) = block(&e, &mut c, &["blmove", "list1", "list2", "right", "left", "0"]);
    let (w2, _) = block(&e, &mut c, &["blmove", "list2", "list3", "left", "right", "0"]);
    exec_all(&e, &mut c, &[&["rpush", "list1", "foo"]]);
    assert_eq!((served(&w1), served(&w2)), ("$3\r\nfoo\r\n".to_string(), "$3\r\nfoo\r\n".to_string()));
    assert_eq!(run(&e, &mut c, &["lrange", "list3", "0", "-1"]), "*1\r\n$3\r\nfoo\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "list1", "list2"]), ":0\r\n");
    // Circular: list1 -> list2 -> list1.
    let (w1, _) = block(&e, &mut c, &["brpoplpush", "c1", "c2", "0"]);
    let (w2, _) = block(&e, &mut c, &["brpoplpush", "c2", "c1", "0"]);
    exec_all(&e, &mut c, &[&["rpush", "c1", "foo"]]);
    assert!(!waiting(&w1) && !waiting(&w2));
    assert_eq!(run(&e, &mut c, &["lrange", "c1", "0", "-1"]), "*1\r\n$3\r\nfoo\r\n");
    assert_eq!(run(&e, &mut c, &["exists", "c2"]), ":0\r\n");
}

#[test]
fn waiters_in_other_databases_are_served_there() {
    let (e, mut c) = setup();
    c.db = 3;
    let (w, _) = block(&e, &mut c, &["blpop", "k", "0"]);
    c.db = 0;
    exec_all(&e, &mut c, &[&["rpush", "k", "db0"]]);
    assert!(waiting(&w), "a push in another database does not serve it");
    c.db = 3;
    exec_all(&e, &mut c, &[&["rpush", "k", "db3"]]);
    assert_eq!(served(&w), "*2\r\n$1\r\nk\r\n$3\r\ndb3\r\n");
    c.db = 0;
    assert_eq!(run(&e, &mut c, &["lrange", "k", "0", "-1"]), "*1\r\n$3\r\ndb0\r\n");
}

#[test]
fn serving_without_the_destination_lock_asks_for_a_retry() {
    let (e, mut c) = setup();
    // Two keys in different shards.
    let src = "src";
    let dst = (0..)
        .map(|i| format!("dst{i}"))
        .find(|d| shard_of(hash_key(d.as_bytes())) != shard_of(hash_key(b"src")))
        .unwrap();
    let (w, _) = block(&e, &mut c, &["blmove", src, &dst, "left", "left", "0"]);
    // Someone else holds the destination's shard.
    let mut theirs = LockSet::new();
    theirs.add_key(0, dst.as_bytes());
    let held = e.keyspace.lock(&theirs);
    let mut mine = LockSet::new();
    mine.add_key(0, src.as_bytes());
    let mut out = Reply::new(false);
    let keys = Keys::new(&e, e.keyspace.lock(&mine), 0, crate::util::now_ms(), true);
    let cmd = e.commands.by_name(b"rpush").unwrap();
    let mut writer = client(&e);
    let mut ctx = Ctx { keys, out: &mut out, client: &mut writer, engine: &e, cmd };
    (cmd.def.handler.unwrap())(&mut ctx, &[b"rpush", src.as_bytes(), b"v"]).unwrap();
    ctx.keys.serve_ready();
    let Ctx { keys, .. } = ctx;
    let fx = keys.finish();
    assert_eq!(fx.retry.len(), 1);
    assert!(Arc::ptr_eq(&fx.retry[0].0, &w));
    assert!(waiting(&w), "nothing served, nothing changed");
    drop(held);
    assert_eq!(run(&e, &mut c, &["lrange", src, "0", "-1"]), "*1\r\n$1\r\nv\r\n");
}
