//! Unit tests of MULTI/EXEC/DISCARD/WATCH through the dispatcher.

use crate::exec::tests::{client, run};
use crate::Engine;

#[test]
fn queued_commands_run_at_exec_in_order() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    assert_eq!(run(&e, &mut c, &["MULTI"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["SET", "k", "1"]), "+QUEUED\r\n");
    assert_eq!(run(&e, &mut c, &["INCR", "k"]), "+QUEUED\r\n");
    assert_eq!(run(&e, &mut c, &["LPUSH", "k", "x"]), "+QUEUED\r\n");
    assert_eq!(run(&e, &mut c, &["GET", "k"]), "+QUEUED\r\n");
    assert_eq!(
        run(&e, &mut c, &["EXEC"]),
        "*4\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n$1\r\n2\r\n",
        "a runtime error is one reply among the others"
    );
    assert_eq!(run(&e, &mut c, &["EXEC"]), "-ERR EXEC without MULTI\r\n");
    assert_eq!(run(&e, &mut c, &["DISCARD"]), "-ERR DISCARD without MULTI\r\n");
}

#[test]
fn refused_commands_abort_the_transaction() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    run(&e, &mut c, &["MULTI"]);
    run(&e, &mut c, &["SET", "a", "1"]);
    assert!(run(&e, &mut c, &["NOPE"]).starts_with("-ERR unknown command 'NOPE'"));
    assert_eq!(run(&e, &mut c, &["EXEC"]), "-EXECABORT Transaction discarded because of previous errors.\r\n");
    assert_eq!(run(&e, &mut c, &["EXISTS", "a"]), ":0\r\n");
    run(&e, &mut c, &["MULTI"]);
    assert_eq!(run(&e, &mut c, &["MULTI"]), "-ERR Command not allowed inside a transaction\r\n");
    assert_eq!(run(&e, &mut c, &["WATCH", "x"]), "-ERR Command not allowed inside a transaction\r\n");
    assert!(run(&e, &mut c, &["GET"]).starts_with("-ERR wrong number of arguments"));
    assert!(run(&e, &mut c, &["EXEC"]).starts_with("-EXECABORT"));
    run(&e, &mut c, &["MULTI"]);
    run(&e, &mut c, &["SET", "a", "1"]);
    assert_eq!(run(&e, &mut c, &["DISCARD"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["EXISTS", "a"]), ":0\r\n");
}

#[test]
fn watched_keys_changed_by_others_fail_exec() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let mut other = client(&e);
    run(&e, &mut c, &["SET", "w", "1"]);
    assert_eq!(run(&e, &mut c, &["WATCH", "w", "w", "v"]), "+OK\r\n");
    run(&e, &mut other, &["SET", "w", "2"]);
    run(&e, &mut c, &["MULTI"]);
    run(&e, &mut c, &["SET", "w", "3"]);
    assert_eq!(run(&e, &mut c, &["EXEC"]), "*-1\r\n", "the watched key changed");
    assert_eq!(run(&e, &mut c, &["GET", "w"]), "$1\r\n2\r\n");
    // EXEC unwatched everything: the next transaction runs.
    run(&e, &mut other, &["SET", "w", "4"]);
    run(&e, &mut c, &["MULTI"]);
    run(&e, &mut c, &["SET", "w", "5"]);
    assert_eq!(run(&e, &mut c, &["EXEC"]), "*1\r\n+OK\r\n");
    // UNWATCH forgets; FLUSHALL touches a watched key that existed, not one that did not.
    run(&e, &mut c, &["WATCH", "w"]);
    run(&e, &mut c, &["UNWATCH"]);
    run(&e, &mut other, &["SET", "w", "6"]);
    run(&e, &mut c, &["MULTI"]);
    assert_eq!(run(&e, &mut c, &["EXEC"]), "*0\r\n");
    run(&e, &mut c, &["WATCH", "missing"]);
    run(&e, &mut other, &["FLUSHALL"]);
    run(&e, &mut c, &["MULTI"]);
    assert_eq!(run(&e, &mut c, &["EXEC"]), "*0\r\n");
    run(&e, &mut other, &["SET", "w", "7"]);
    run(&e, &mut c, &["WATCH", "w"]);
    run(&e, &mut other, &["FLUSHDB"]);
    run(&e, &mut c, &["MULTI"]);
    assert_eq!(run(&e, &mut c, &["EXEC"]), "*-1\r\n");
    // The shard tables are empty again once nobody watches.
    for shard in 0..crate::keyspace::SHARDS {
        assert!(e.keyspace.with_shard(0, shard, |s| s.watchers.is_empty()));
    }
}

#[test]
fn blocking_commands_inside_exec_answer_at_once() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    run(&e, &mut c, &["MULTI"]);
    run(&e, &mut c, &["BLPOP", "empty", "0"]);
    run(&e, &mut c, &["BZPOPMIN", "empty", "0"]);
    run(&e, &mut c, &["BLMOVE", "empty", "dst", "LEFT", "LEFT", "0"]);
    run(&e, &mut c, &["RPUSH", "l", "a"]);
    run(&e, &mut c, &["BLPOP", "l", "0"]);
    assert_eq!(run(&e, &mut c, &["EXEC"]), "*5\r\n*-1\r\n*-1\r\n*-1\r\n:1\r\n*2\r\n$1\r\nl\r\n$1\r\na\r\n");
    for shard in 0..crate::keyspace::SHARDS {
        assert!(e.keyspace.with_shard(0, shard, |s| s.waiters.keys().is_empty()), "nothing left registered");
    }
}

#[test]
fn select_inside_a_transaction_moves_the_later_commands() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    run(&e, &mut c, &["MULTI"]);
    run(&e, &mut c, &["SELECT", "3"]);
    run(&e, &mut c, &["SET", "k", "v"]);
    assert_eq!(run(&e, &mut c, &["EXEC"]), "*2\r\n+OK\r\n+OK\r\n");
    assert_eq!(run(&e, &mut c, &["GET", "k"]), "$1\r\nv\r\n");
    run(&e, &mut c, &["SELECT", "0"]);
    assert_eq!(run(&e, &mut c, &["EXISTS", "k"]), ":0\r\n");
}

/// Sets `key` with a 1 ms TTL and waits until it is stale (past its TTL, not yet deleted:
/// the test engine runs no active expiry).
fn stale(e: &Engine, c: &mut crate::client::Client, key: &str) {
    assert_eq!(run(e, c, &["SET", key, "v", "PX", "1"]), "+OK\r\n");
    std::thread::sleep(std::time::Duration::from_millis(3));
}

#[test]
fn stale_watched_keys_deleted_or_flushed_do_not_fail_exec() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let mut other = client(&e);
    // Lazily deleted by another client's read.
    stale(&e, &mut c, "x");
    run(&e, &mut c, &["WATCH", "x"]);
    assert_eq!(run(&e, &mut other, &["EXISTS", "x"]), ":0\r\n");
    run(&e, &mut c, &["MULTI"]);
    run(&e, &mut c, &["PING"]);
    assert_eq!(run(&e, &mut c, &["EXEC"]), "*1\r\n+PONG\r\n");
    // Flushed.
    stale(&e, &mut c, "x");
    run(&e, &mut c, &["WATCH", "x"]);
    run(&e, &mut other, &["FLUSHDB"]);
    run(&e, &mut c, &["MULTI"]);
    run(&e, &mut c, &["PING"]);
    assert_eq!(run(&e, &mut c, &["EXEC"]), "*1\r\n+PONG\r\n");
    // Written: that is a change.
    stale(&e, &mut c, "x");
    run(&e, &mut c, &["WATCH", "x"]);
    run(&e, &mut other, &["SET", "x", "new"]);
    run(&e, &mut c, &["MULTI"]);
    run(&e, &mut c, &["PING"]);
    assert_eq!(run(&e, &mut c, &["EXEC"]), "*-1\r\n");
}

#[test]
fn swapdb_touches_watched_stale_keys_only_on_a_logical_change() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let mut other = client(&e);
    let exec_ping = |c: &mut crate::client::Client| {
        run(&e, c, &["MULTI"]);
        run(&e, c, &["PING"]);
        run(&e, c, &["EXEC"])
    };
    // A stale key replaced by nothing, then a missing key replaced by a stale one, then a
    // stale key replaced by another stale one: no logical change each time.
    stale(&e, &mut c, "x");
    run(&e, &mut c, &["WATCH", "x"]);
    run(&e, &mut other, &["SWAPDB", "0", "1"]);
    assert_eq!(exec_ping(&mut c), "*1\r\n+PONG\r\n");
    run(&e, &mut c, &["WATCH", "x"]);
    run(&e, &mut other, &["SWAPDB", "0", "1"]);
    assert_eq!(exec_ping(&mut c), "*1\r\n+PONG\r\n");
    run(&e, &mut other, &["SELECT", "1"]);
    stale(&e, &mut other, "x");
    run(&e, &mut c, &["WATCH", "x"]);
    run(&e, &mut other, &["SWAPDB", "0", "1"]);
    assert_eq!(exec_ping(&mut c), "*1\r\n+PONG\r\n");
    // A stale key replaced by a live one is a change.
    run(&e, &mut other, &["SET", "x", "live"]);
    run(&e, &mut c, &["WATCH", "x"]);
    run(&e, &mut other, &["SWAPDB", "0", "1"]);
    assert_eq!(exec_ping(&mut c), "*-1\r\n");
}

#[test]
fn a_watched_key_that_expires_before_exec_fails_it() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    run(&e, &mut c, &["SET", "k", "1", "PX", "20"]);
    run(&e, &mut c, &["WATCH", "k"]);
    std::thread::sleep(std::time::Duration::from_millis(25));
    run(&e, &mut c, &["MULTI"]);
    run(&e, &mut c, &["INCR", "k"]);
    assert_eq!(run(&e, &mut c, &["EXEC"]), "*-1\r\n", "nobody deleted it, but it expired");
    // A key with a TTL still alive at EXEC does not.
    run(&e, &mut c, &["SET", "k", "1", "EX", "100"]);
    run(&e, &mut c, &["WATCH", "k"]);
    run(&e, &mut c, &["MULTI"]);
    run(&e, &mut c, &["INCR", "k"]);
    assert_eq!(run(&e, &mut c, &["EXEC"]), "*1\r\n:2\r\n");
}

#[test]
fn a_refused_exec_discards_the_transaction_and_says_why() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    run(&e, &mut c, &["MULTI"]);
    run(&e, &mut c, &["SET", "a", "1"]);
    assert_eq!(
        run(&e, &mut c, &["EXEC", "extra"]),
        "-EXECABORT Transaction discarded because of: ERR wrong number of arguments for 'exec' command\r\n"
    );
    assert_eq!(run(&e, &mut c, &["PING"]), "+PONG\r\n", "no longer in MULTI");
    assert_eq!(run(&e, &mut c, &["EXISTS", "a"]), ":0\r\n");
}
