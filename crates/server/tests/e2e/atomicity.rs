//! Every command is atomic with respect to every other client, whichever worker threads run
//! them: multi-key writes are never seen half done, and concurrent read-modify-writes never
//! lose an update.

use crate::harness::Server;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Writers set pairs of keys (in different shards) to the same value with MSET; readers
/// must never see the two keys differ with MGET.
#[test]
fn mset_is_never_seen_half_done() {
    let s = Server::start(&["--worker-threads", "4"]);
    // Keys chosen to land in different shards (any two distinct keys almost surely do; use
    // several pairs to be sure).
    let pairs: Vec<(String, String)> = (0..8).map(|i| (format!("left:{i}"), format!("right:{i}"))).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (url, pairs, stop) = (s.url(), pairs.clone(), stop.clone());
        writers.push(std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut v: u64 = w;
            while !stop.load(Ordering::Relaxed) {
                v += 4;
                let (a, b) = &pairs[(v as usize / 4) % pairs.len()];
                let _: () = redis::cmd("MSET").arg(a).arg(v).arg(b).arg(v).query(&mut c).unwrap();
            }
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..3 {
        let (url, pairs) = (s.url(), pairs.clone());
        readers.push(std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut checked = 0;
            for i in 0..20_000 {
                let (a, b) = &pairs[i % pairs.len()];
                let (x, y): (Option<u64>, Option<u64>) = redis::cmd("MGET").arg(a).arg(b).query(&mut c).unwrap();
                assert_eq!(x, y, "MGET saw {a}={x:?} {b}={y:?}: an MSET half done");
                checked += usize::from(x.is_some());
            }
            checked
        }));
    }
    let checked: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert!(checked > 10_000, "readers should have seen written pairs ({checked})");
}

/// Concurrent INCRs from many connections on a handful of keys: no increment is lost.
#[test]
fn concurrent_incr_loses_nothing() {
    let s = Server::start(&["--worker-threads", "4"]);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let url = s.url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                for i in 0..2_000 {
                    let _: i64 = redis::cmd("INCR").arg(format!("counter:{}", i % 3)).query(&mut c).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut c = s.conn();
    let total: i64 = (0..3).map(|k| redis::cmd("GET").arg(format!("counter:{k}")).query::<i64>(&mut c).unwrap()).sum();
    assert_eq!(total, 8 * 2_000);
}

/// RENAME across shards while other clients read both names: the key is always in exactly
/// one of the two places.
#[test]
fn rename_moves_a_key_atomically() {
    let s = Server::start(&["--worker-threads", "4"]);
    let mut c = s.conn();
    let _: () = redis::cmd("SET").arg("a").arg("v").query(&mut c).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let renamer = {
        let (url, stop) = (s.url(), stop.clone());
        std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut from_a = true;
            while !stop.load(Ordering::Relaxed) {
                let (from, to) = if from_a { ("a", "b") } else { ("b", "a") };
                let _: () = redis::cmd("RENAME").arg(from).arg(to).query(&mut c).unwrap();
                from_a = !from_a;
            }
        })
    };
    for _ in 0..20_000 {
        let n: i64 = redis::cmd("EXISTS").arg("a").arg("b").query(&mut c).unwrap();
        assert_eq!(n, 1, "the renamed key must exist under exactly one name");
    }
    stop.store(true, Ordering::Relaxed);
    renamer.join().unwrap();
}

/// Scripts hold only the shards of the keys they declare and take the others as their calls
/// reach them, keeping all to the end: a script reading two keys it did not declare never
/// sees an MSET half done, read-modify-writes of undeclared keys lose nothing, and scripts,
/// transactions and multi-key commands taking the same shards in opposite orders never
/// deadlock.
#[test]
fn scripts_reaching_undeclared_keys_stay_atomic() {
    let s = Server::start(&["--worker-threads", "4"]);
    const PAIR: &str = "local a = redis.call('get', ARGV[1]) local b = redis.call('get', ARGV[2]) \
                        redis.call('incr', KEYS[1]) return {a or '', b or ''}";
    const BUMP: &str = "redis.call('incr', KEYS[1]) redis.call('incr', ARGV[1]) return redis.call('incr', ARGV[2])";
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..2u64 {
        let (url, stop) = (s.url(), stop.clone());
        writers.push(std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut v = w;
            while !stop.load(Ordering::Relaxed) {
                v += 2;
                let _: () = redis::cmd("MSET").arg("pair:b").arg(v).arg("pair:a").arg(v).query(&mut c).unwrap();
                // The same shards in the other order, in a transaction.
                let _: () = redis::pipe().atomic().incr("total:b", 1).incr("total:a", 1).query(&mut c).unwrap();
            }
        }));
    }
    let mut scripts = Vec::new();
    for t in 0..4 {
        let url = s.url();
        scripts.push(std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            for i in 0..1_500 {
                let own = format!("own:{t}");
                if i % 2 == 0 {
                    let (a, b): (String, String) = redis::cmd("EVAL")
                        .arg(PAIR)
                        .arg(1)
                        .arg(&own)
                        .arg("pair:a")
                        .arg("pair:b")
                        .query(&mut c)
                        .unwrap();
                    assert_eq!(a, b, "a script saw pair:a={a} pair:b={b}: an MSET half done");
                } else {
                    let _: i64 = redis::cmd("EVAL")
                        .arg(BUMP)
                        .arg(1)
                        .arg(&own)
                        .arg("total:a")
                        .arg("total:b")
                        .query(&mut c)
                        .unwrap();
                }
            }
        }));
    }
    for t in scripts {
        t.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let mut c = s.conn();
    let (a, b): (i64, i64) = redis::cmd("MGET").arg("total:a").arg("total:b").query(&mut c).unwrap();
    assert_eq!(a, b, "every script and every transaction bumped both totals");
    for t in 0..4 {
        let own: i64 = redis::cmd("GET").arg(format!("own:{t}")).query(&mut c).unwrap();
        assert_eq!(own, 1_500);
    }
    assert!(a >= 4 * 750, "the scripts' increments are all there ({a})");
}

/// A transaction holding a script takes the script slot like a script command. Without it,
/// an EXEC could take every shard while a keyless script (holding the Lua state, no shard
/// yet) spins, and then each waits for the other: the script for a shard, the EXEC's own
/// script for the Lua state. Each client here gives up after 10 s instead of hanging.
#[test]
fn a_transaction_holding_a_script_never_deadlocks_with_a_running_script() {
    let s = Server::start(&["--worker-threads", "2"]);
    // Spins a few milliseconds before touching its undeclared key.
    const SPIN_THEN_INCR: &str = "local t = 0 for i = 1, 300000 do t = t + i end return redis.call('incr', 'shared')";
    let stop = Arc::new(AtomicBool::new(false));
    let timeout = Some(std::time::Duration::from_secs(10));
    let (url, stop2) = (s.url(), stop.clone());
    let transactions = std::thread::spawn(move || {
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        c.set_read_timeout(timeout).unwrap();
        let mut n = 0;
        while !stop2.load(Ordering::Relaxed) {
            let (_,): (i64,) = redis::pipe()
                .atomic()
                .cmd("EVAL")
                .arg("return redis.call('incr', 'shared')")
                .arg(0)
                .query(&mut c)
                .expect("EXEC answered");
            n += 1;
        }
        n
    });
    let mut c = s.conn();
    c.set_read_timeout(timeout).unwrap();
    for _ in 0..40 {
        let _: i64 = redis::cmd("EVAL").arg(SPIN_THEN_INCR).arg(0).query(&mut c).expect("EVAL answered");
    }
    stop.store(true, Ordering::Relaxed);
    let n = transactions.join().unwrap();
    let shared: i64 = redis::cmd("GET").arg("shared").query(&mut c).unwrap();
    assert_eq!(shared, 40 + n, "every script and every transaction incremented once");
}
