//! In-process cost of sorted set commands (no network): ZADD of random members into one big
//! set (redis-benchmark's `zadd`), ZINCRBY on a leaderboard, ZSCORE, and the top 10 of a
//! 1000-member set (`bench/compare.sh`'s `zrange`). One thread, ns per command.
//!
//! Run: `cargo bench -p kvasir-engine --bench zsets`

use kvasir_engine::client::Client;
use kvasir_engine::exec::execute;
use kvasir_engine::Engine;
use resp::Reply;
use std::time::Instant;

const OPS: usize = 1_000_000;

fn client(engine: &Engine) -> Client {
    Client::new(engine.clients.register("bench".into(), "bench".into(), -1), true)
}

/// Runs `OPS` commands built by `argv(i)` and returns ns per command.
fn run(engine: &Engine, argv: impl Fn(usize) -> Vec<Vec<u8>>) -> f64 {
    let mut c = client(engine);
    let mut out = Reply::new(false);
    let cmds: Vec<Vec<Vec<u8>>> = (0..4096).map(&argv).collect();
    let start = Instant::now();
    for i in 0..OPS {
        let cmd = &cmds[i % cmds.len()];
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
        execute(engine, &mut c, &args, &mut out);
        if out.len() > 64 * 1024 {
            out.consume(out.len());
        }
    }
    start.elapsed().as_nanos() as f64 / OPS as f64
}

fn main() {
    let engine = Engine::for_tests();
    let mut rng = fastrand::Rng::with_seed(1);
    let rand_members: Vec<u64> = (0..4096).map(|_| rng.u64(0..100_000)).collect();
    let zadd = |i: usize| {
        vec![
            b"ZADD".to_vec(),
            b"myzset".to_vec(),
            rand_members[i].to_string().into_bytes(),
            format!("element:{}", rand_members[(i * 7) % 4096]).into_bytes(),
        ]
    };
    let zincrby = |i: usize| {
        vec![
            b"ZINCRBY".to_vec(),
            b"board".to_vec(),
            b"1".to_vec(),
            format!("player:{}", rand_members[i] % 2000).into_bytes(),
        ]
    };
    let zscore =
        |i: usize| vec![b"ZSCORE".to_vec(), b"myzset".to_vec(), format!("element:{}", rand_members[i]).into_bytes()];
    let zrange = |_: usize| {
        ["ZRANGE", "top", "0", "9", "REV", "WITHSCORES"].iter().map(|a| a.as_bytes().to_vec()).collect::<Vec<_>>()
    };
    {
        let mut c = client(&engine);
        let mut out = Reply::new(false);
        let mut argv: Vec<Vec<u8>> = vec![b"ZADD".to_vec(), b"top".to_vec()];
        for i in 1..=1000 {
            argv.push(i.to_string().into_bytes());
            argv.push(format!("member:{i}").into_bytes());
        }
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        execute(&engine, &mut c, &args, &mut out);
    }
    println!("sorted set commands, ns per command ({OPS} each, one thread)");
    for (name, f) in [
        ("ZADD random member, one set", &zadd as &dyn Fn(usize) -> Vec<Vec<u8>>),
        ("ZINCRBY, 2000-player board", &zincrby),
        ("ZSCORE, big set", &zscore),
        ("ZRANGE top 10 of 1000 WITHSCORES", &zrange),
    ] {
        println!("{name:<36} {:>8.0}", run(&engine, f));
    }
}
