//! Eviction in-process: without a host the meter only moves when set and by the estimated
//! bytes of evicted entries, which makes the amount to free exact and the tests deterministic.

use super::*;
use crate::exec::tests::{client, run};

fn engine_with(policy: &str) -> Arc<Engine> {
    let e = Engine::for_tests();
    e.config.set("maxmemory-policy", &[policy.as_bytes()]).unwrap();
    e.config.set("maxmemory", &[b"100mb"]).unwrap();
    // No time limit: a loaded test machine must not turn a pass into `Running`.
    e.config.set("maxmemory-eviction-tenacity", &[b"100"]).unwrap();
    e
}

/// Pretends memory is `over` bytes past the limit.
fn overshoot(e: &Engine, over: u64) {
    e.evictor.meter.set(e.config.hot.maxmemory.load(Relaxed) + over);
}

fn exists(e: &Engine, c: &mut crate::client::Client, key: &str) -> bool {
    run(e, c, &["exists", key]) == ":1\r\n"
}

#[test]
fn noeviction_fails_and_an_empty_keyspace_fails() {
    let e = engine_with("noeviction");
    overshoot(&e, 1);
    assert_eq!(perform(&e), Outcome::Fail);
    let mut c = client(&e);
    assert_eq!(run(&e, &mut c, &["set", "k", "v"]), format!("-{OOM}\r\n"));
    assert_eq!(run(&e, &mut c, &["get", "k"]), "$-1\r\n");
    e.config.set("maxmemory-policy", &[b"allkeys-lru"]).unwrap();
    assert_eq!(perform(&e), Outcome::Fail, "nothing to evict");
    e.evictor.meter.set(0);
    assert_eq!(perform(&e), Outcome::Ok);
    assert_eq!(run(&e, &mut c, &["set", "k", "v"]), "+OK\r\n");
}

#[test]
fn evicts_until_the_estimate_is_under_the_limit() {
    let e = engine_with("allkeys-random");
    let mut c = client(&e);
    for i in 0..1000 {
        run(&e, &mut c, &["set", &format!("k{i}"), &"x".repeat(100)]);
    }
    // Each key is one entry block of about 130 bytes: 10 KB over means dozens of keys.
    overshoot(&e, 10_000);
    assert_eq!(perform(&e), Outcome::Ok);
    let left: usize = run(&e, &mut c, &["dbsize"])[1..].trim().parse().unwrap();
    assert!((900..990).contains(&left), "{left} keys left");
    assert!(e.evictor.meter.used() <= e.config.hot.maxmemory.load(Relaxed));
    let info = run(&e, &mut c, &["info", "stats"]);
    assert!(info.contains(&format!("evicted_keys:{}", 1000 - left)), "{info}");
}

#[test]
fn volatile_policies_only_evict_keys_with_a_ttl() {
    for policy in ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"] {
        let e = engine_with(policy);
        let mut c = client(&e);
        for i in 0..200 {
            run(&e, &mut c, &["set", &format!("p{i}"), "v"]);
            run(&e, &mut c, &["set", &format!("v{i}"), "v", "ex", &(1000 + i).to_string()]);
        }
        overshoot(&e, 1_000_000);
        assert_eq!(perform(&e), Outcome::Fail, "{policy}");
        for i in 0..200 {
            assert!(exists(&e, &mut c, &format!("p{i}")), "{policy} evicted p{i}");
            assert!(!exists(&e, &mut c, &format!("v{i}")), "{policy} left v{i}");
        }
    }
}

#[test]
fn volatile_ttl_prefers_the_nearest_expiry() {
    let e = engine_with("volatile-ttl");
    let mut c = client(&e);
    for i in 0..300 {
        run(&e, &mut c, &["set", &format!("k{i}"), "v", "ex", &(1000 + i * 100).to_string()]);
    }
    // Evict about a third, one key at a time: the pool should mostly find the soonest ones.
    for _ in 0..100 {
        overshoot(&e, 1);
        perform(&e);
    }
    let late_survivors = (200..300).filter(|i| exists(&e, &mut c, &format!("k{i}"))).count();
    let early_survivors = (0..100).filter(|i| exists(&e, &mut c, &format!("k{i}"))).count();
    assert!(late_survivors > 90 && early_survivors < 40, "late {late_survivors}, early {early_survivors}");
}

#[test]
fn lru_pool_evicts_idle_keys_first() {
    let e = engine_with("allkeys-lru");
    let mut c = client(&e);
    for i in 0..500 {
        run(&e, &mut c, &["set", &format!("k{i}"), "v"]);
    }
    // Backdate the first 250 keys by an hour, as if they had not been read since.
    let old = clock::lru_clock_at(crate::util::now_ms() - 3_600_000);
    for i in 0..250 {
        let key = format!("k{i}").into_bytes();
        let h = hash_key(&key);
        e.keyspace.with_shard(0, crate::keyspace::shard_of(h), |s| s.find(h, &key).unwrap().set_lru(old));
    }
    for _ in 0..200 {
        overshoot(&e, 1);
        perform(&e);
    }
    let recent = (250..500).filter(|i| exists(&e, &mut c, &format!("k{i}"))).count();
    assert!(recent >= 240, "only {recent} recently used keys left");
}

#[test]
fn evictions_are_announced_and_propagated() {
    let e = engine_with("allkeys-lru");
    e.config.set("notify-keyspace-events", &[b"Ee"]).unwrap();
    let mut c = client(&e);
    let mut sub = client(&e);
    run(&e, &mut sub, &["subscribe", "__keyevent@0__:evicted"]);
    crate::exec::tests::pushes(&sub);
    run(&e, &mut c, &["set", "only", "v"]);
    overshoot(&e, 1);
    assert_eq!(perform(&e), Outcome::Ok);
    let pushed = crate::exec::tests::pushes(&sub);
    assert!(pushed.contains("__keyevent@0__:evicted") && pushed.contains("only"), "{pushed}");
}

#[test]
fn time_limits_follow_tenacity() {
    assert_eq!(time_limit(0), Duration::ZERO);
    assert_eq!(time_limit(10), Duration::from_micros(500));
    assert_eq!(time_limit(11), Duration::from_micros(575));
    assert!(time_limit(99) > Duration::from_secs(100));
    assert_eq!(time_limit(100), Duration::MAX);
}

#[test]
fn lfu_stamps_follow_accesses() {
    let e = engine_with("allkeys-lfu");
    let mut c = client(&e);
    run(&e, &mut c, &["set", "k", "v"]);
    assert_eq!(run(&e, &mut c, &["object", "freq", "k"]), ":5\r\n");
    run(&e, &mut c, &["get", "k"]);
    assert_eq!(run(&e, &mut c, &["object", "freq", "k"]), ":6\r\n");
    // Overwriting keeps the old value's stamp, counting one access (with probability 1/11
    // at 6): never back to the initial value.
    run(&e, &mut c, &["set", "k", "w"]);
    let f = run(&e, &mut c, &["object", "freq", "k"]);
    assert!(f == ":6\r\n" || f == ":7\r\n", "{f}");
    run(&e, &mut c, &["incr", "n"]);
    run(&e, &mut c, &["incr", "n"]);
    assert_eq!(run(&e, &mut c, &["object", "freq", "n"]), ":6\r\n");
}

#[test]
fn a_pass_out_of_time_leaves_the_rest_to_the_cron() {
    let e = engine_with("allkeys-random");
    e.config.set("maxmemory-eviction-tenacity", &[b"0"]).unwrap();
    let mut c = client(&e);
    for i in 0..200 {
        run(&e, &mut c, &["set", &format!("k{i}"), "v"]);
    }
    overshoot(&e, 1_000_000);
    // Tenacity 0: the pass stops after its first 16 keys.
    assert_eq!(perform(&e), Outcome::Running);
    // DBSIZE itself is a command: another 16 go before it runs.
    assert_eq!(run(&e, &mut c, &["dbsize"]), ":168\r\n");
    assert!(e.evictor.pending.load(Relaxed));
    let (_, current_ms) = e.evictor.exceeded_ms();
    assert!(e.evictor.exceeded_since_us.load(Relaxed) != 0 && current_ms < 60_000);
}
