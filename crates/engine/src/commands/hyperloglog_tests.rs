//! Unit tests of the HyperLogLog commands, through the dispatcher.

use crate::commands::strings::tests::{run_bytes, run_events};
use crate::engine::Engine;
use crate::exec::tests::{client, run};

fn setup() -> (std::sync::Arc<Engine>, crate::client::Client) {
    let e = Engine::for_tests();
    let c = client(&e);
    (e, c)
}

fn get(e: &Engine, c: &mut crate::client::Client, key: &str) -> Vec<u8> {
    let raw = run_bytes(e, c, &[b"get", key.as_bytes()]);
    match resp::Value::parse(&raw).unwrap().0 {
        resp::Value::Bulk(b) => b,
        other => panic!("{other:?}"),
    }
}

#[test]
fn pfadd_and_pfcount() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["pfadd", "h"]), ":1\r\n", "creation is an update");
    assert_eq!(run(&e, &mut c, &["pfadd", "h"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["pfcount", "h"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["pfadd", "h", "a", "b", "c"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["pfadd", "h", "a", "b", "c"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["pfcount", "h"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["pfcount", "missing"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["pfdebug", "encoding", "h"]), "+sparse\r\n");
    assert_eq!(run(&e, &mut c, &["type", "h"]), "+string\r\n");
    let bytes = get(&e, &mut c, "h");
    assert_eq!(&bytes[..5], b"HYLL\x01");
    assert_eq!(bytes[15], 0, "PFCOUNT cached the count");
    assert_eq!(u64::from_le_bytes(bytes[8..16].try_into().unwrap()), 3);
    run(&e, &mut c, &["pfadd", "h", "d"]);
    assert_eq!(get(&e, &mut c, "h")[15], 0x80, "a change invalidates the cache");
}

#[test]
fn counts_match_redis_for_known_inputs() {
    // redis-server 7.0: PFADD h a b c d e f g; PFCOUNT h -> 7, and the same bytes.
    let (e, mut c) = setup();
    run(&e, &mut c, &["pfadd", "h", "a", "b", "c", "d", "e", "f", "g"]);
    assert_eq!(
        run(&e, &mut c, &["pfdebug", "decode", "h"]),
        "$93\r\nZ:1646 v:1,1 Z:5645 v:1,1 Z:1085 v:2,1 z:57 v:1,1 Z:4274 v:2,1 Z:2445 v:1,1 Z:622 v:1,1 Z:603\r\n"
    );
    assert_eq!(run(&e, &mut c, &["pfcount", "h"]), ":7\r\n");
}

#[test]
fn union_counts_and_merge() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["pfadd", "h1", "a", "b", "c"]);
    run(&e, &mut c, &["pfadd", "h2", "b", "c", "d"]);
    run(&e, &mut c, &["pfadd", "h3", "c", "d", "e"]);
    assert_eq!(run(&e, &mut c, &["pfcount", "h1", "h2", "h3", "nokey"]), ":5\r\n");
    assert_eq!(get(&e, &mut c, "h1")[15], 0x80, "a multi-key count writes no cache");
    assert_eq!(run(&e, &mut c, &["pfmerge", "dst", "h1", "h2", "h3"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["pfcount", "dst"]), ":5\r\n");
    assert_eq!(run(&e, &mut c, &["pfmerge", "empty", "nokey"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["pfcount", "empty"]), ":0\r\n");
    assert_eq!(run(&e, &mut c, &["pfmerge", "h1"]), "+OK\r\n");
    assert_eq!(run(&e, &mut c, &["pfcount", "h1"]), ":3\r\n");
    // A dense source makes the destination dense.
    run(&e, &mut c, &["pfadd", "d"]);
    assert_eq!(run(&e, &mut c, &["pfdebug", "todense", "d"]), ":1\r\n");
    assert_eq!(run(&e, &mut c, &["pfdebug", "todense", "d"]), ":0\r\n");
    run(&e, &mut c, &["pfmerge", "dst2", "h2", "d"]);
    assert_eq!(run(&e, &mut c, &["pfdebug", "encoding", "dst2"]), "+dense\r\n");
    assert_eq!(run(&e, &mut c, &["pfcount", "dst2"]), ":3\r\n");
}

#[test]
fn sparse_and_dense_give_the_same_counts() {
    let (e, mut c) = setup();
    let mut rng = fastrand::Rng::with_seed(5);
    for _ in 0..50 {
        run(&e, &mut c, &["del", "s", "d"]);
        run(&e, &mut c, &["pfadd", "d"]);
        run(&e, &mut c, &["pfdebug", "todense", "d"]);
        let n = rng.usize(..200);
        let els: Vec<String> = (0..n).map(|_| rng.f64().to_string()).collect();
        let mut argv = vec!["pfadd", "s"];
        argv.extend(els.iter().map(String::as_str));
        run(&e, &mut c, &argv);
        argv[1] = "d";
        run(&e, &mut c, &argv);
        assert_eq!(run(&e, &mut c, &["pfdebug", "encoding", "s"]), "+sparse\r\n");
        assert_eq!(run(&e, &mut c, &["pfcount", "s"]), run(&e, &mut c, &["pfcount", "d"]));
    }
}

#[test]
fn promotion_follows_hll_sparse_max_bytes() {
    let (e, mut c) = setup();
    run(&e, &mut c, &["pfadd", "h", "a", "b", "c", "d", "e", "d", "g", "h", "i", "j", "k"]);
    assert_eq!(run(&e, &mut c, &["pfdebug", "encoding", "h"]), "+sparse\r\n");
    run(&e, &mut c, &["config", "set", "hll-sparse-max-bytes", "30"]);
    run(&e, &mut c, &["pfadd", "h", "new_element"]);
    assert_eq!(run(&e, &mut c, &["pfdebug", "encoding", "h"]), "+dense\r\n");
    assert_eq!(run(&e, &mut c, &["strlen", "h"]), ":12304\r\n");
}

#[test]
fn type_and_corruption_errors() {
    let (e, mut c) = setup();
    let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    let not_hll = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
    let corrupt = "-INVALIDOBJ Corrupted HLL object detected\r\n";
    run(&e, &mut c, &["set", "s", "bar"]);
    run(&e, &mut c, &["set", "n", "12345"]);
    run(&e, &mut c, &["rpush", "l", "x"]);
    for key in ["s", "n"] {
        assert_eq!(run(&e, &mut c, &["pfadd", key, "1"]), not_hll);
        assert_eq!(run(&e, &mut c, &["pfcount", key]), not_hll);
        assert_eq!(run(&e, &mut c, &["pfmerge", "x", key]), not_hll);
        assert_eq!(run(&e, &mut c, &["pfmerge", key, "x"]), not_hll);
    }
    assert_eq!(run(&e, &mut c, &["pfadd", "l", "1"]), wrongtype);
    assert_eq!(run(&e, &mut c, &["pfcount", "l", "s"]), wrongtype);
    assert_eq!(run(&e, &mut c, &["exists", "x"]), ":0\r\n");

    run(&e, &mut c, &["pfadd", "h", "a", "b", "c"]);
    run(&e, &mut c, &["append", "h", "hello"]);
    assert_eq!(run(&e, &mut c, &["pfcount", "h"]), corrupt);
    assert_eq!(run(&e, &mut c, &["pfcount", "h", "h"]), corrupt);
    assert_eq!(run(&e, &mut c, &["pfmerge", "x", "h"]), corrupt);
    assert_eq!(run(&e, &mut c, &["pfdebug", "getreg", "h"]), corrupt);
    run(&e, &mut c, &["del", "h"]);
    run(&e, &mut c, &["pfadd", "h", "a"]);
    run(&e, &mut c, &["setrange", "h", "0", "0123"]);
    assert_eq!(run(&e, &mut c, &["pfcount", "h"]), not_hll);
    run(&e, &mut c, &["del", "h"]);
    run(&e, &mut c, &["pfadd", "h", "a"]);
    run(&e, &mut c, &["setrange", "h", "4", "x"]);
    assert_eq!(run(&e, &mut c, &["pfcount", "h"]), not_hll, "unknown encoding");
    run(&e, &mut c, &["del", "h"]);
    run(&e, &mut c, &["pfadd", "h", "a"]);
    run(&e, &mut c, &["setrange", "h", "4", "\0"]);
    assert_eq!(run(&e, &mut c, &["pfcount", "h"]), not_hll, "dense of the wrong length");
}

#[test]
fn random_corruption_never_panics() {
    let (e, mut c) = setup();
    let mut rng = fastrand::Rng::with_seed(9);
    for _ in 0..300 {
        run(&e, &mut c, &["del", "h"]);
        let n = rng.usize(..3000);
        let els: Vec<String> = (0..n).map(|_| rng.f64().to_string()).collect();
        let mut argv = vec!["pfadd", "h"];
        argv.extend(els.iter().map(String::as_str));
        run(&e, &mut c, &argv);
        for _ in 0..5 {
            let len: usize = run(&e, &mut c, &["strlen", "h"]).trim_start_matches(':').trim().parse().unwrap();
            let pos = rng.usize(..len).to_string();
            let byte = [rng.u8(..)];
            run_bytes(&e, &mut c, &[b"setrange", b"h", pos.as_bytes(), &byte]);
            if rng.bool() {
                break;
            }
        }
        let reply = run(&e, &mut c, &["pfcount", "h"]);
        assert!(reply.starts_with(':') || reply.starts_with('-'), "{reply}");
        let reply = run(&e, &mut c, &["pfadd", "h", "x", "y", "z"]);
        assert!(reply.starts_with(':') || reply.starts_with('-'), "{reply}");
        run(&e, &mut c, &["pfmerge", "m", "h"]);
        run(&e, &mut c, &["pfdebug", "getreg", "h"]);
    }
}

#[test]
fn pfdebug_subcommands() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["pfdebug", "getreg", "none"]), "-ERR The specified key does not exist\r\n");
    run(&e, &mut c, &["pfadd", "h", "1", "2", "3"]);
    assert_eq!(run(&e, &mut c, &["pfdebug", "bogus", "h"]), "-ERR Unknown PFDEBUG subcommand 'bogus'\r\n");
    let regs = run(&e, &mut c, &["pfdebug", "getreg", "h"]);
    assert!(regs.starts_with("*16384\r\n"));
    assert_eq!(regs.matches(":0\r\n").count(), 16384 - 3);
    assert_eq!(run(&e, &mut c, &["pfdebug", "encoding", "h"]), "+dense\r\n", "GETREG converts");
    assert_eq!(run(&e, &mut c, &["pfdebug", "decode", "h"]), "-ERR HLL encoding is not sparse\r\n");
    assert_eq!(run(&e, &mut c, &["pfcount", "h"]), ":3\r\n");
    assert_eq!(run(&e, &mut c, &["pfdebug", "getreg"]), "-ERR wrong number of arguments for 'pfdebug' command\r\n");
}

#[test]
fn events_and_dirty() {
    let (e, mut c) = setup();
    let (_, events, dirty) = run_events(&e, &mut c, &["pfadd", "h", "a", "b"]);
    assert_eq!((events, dirty), (vec!["$:pfadd:h".to_string()], 3));
    let (_, events, dirty) = run_events(&e, &mut c, &["pfadd", "h", "a"]);
    assert_eq!((events.len(), dirty), (0, 0));
    let (_, events, dirty) = run_events(&e, &mut c, &["pfcount", "h"]);
    assert_eq!((events.len(), dirty), (0, 1), "refreshing the cache is a change without an event");
    let (_, _, dirty) = run_events(&e, &mut c, &["pfcount", "h"]);
    assert_eq!(dirty, 0, "a cached count changes nothing");
    let (_, events, dirty) = run_events(&e, &mut c, &["pfmerge", "d", "h"]);
    assert_eq!((events, dirty), (vec!["$:pfadd:d".to_string()], 1));
}

#[test]
fn large_cardinality_error_is_small() {
    let (e, mut c) = setup();
    let n = 200_000;
    let mut argv: Vec<String> = vec!["pfadd".into(), "h".into()];
    for i in 0..n {
        argv.push(format!("element:{i}"));
        if argv.len() == 1002 || i == n - 1 {
            let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
            run(&e, &mut c, &refs);
            argv.truncate(2);
        }
    }
    let reply = run(&e, &mut c, &["pfcount", "h"]);
    let card: f64 = reply.trim_start_matches(':').trim().parse().unwrap();
    assert!((card - n as f64).abs() / (n as f64) < 0.01, "{card}");
}

#[test]
fn selftest_passes() {
    let (e, mut c) = setup();
    assert_eq!(run(&e, &mut c, &["pfselftest"]), "+OK\r\n");
}
