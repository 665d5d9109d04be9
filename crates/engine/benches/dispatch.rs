//! In-process cost of the command path (parse-free): `exec::execute` for GET and SET, on one
//! thread and on two threads, with keys spread over shards or all on one key. This measures
//! the design choices in ARCHITECTURE.md (sharded locks, per-thread statistics) without the
//! network; `bench/compare.sh` measures the whole server against redis-server.
//!
//! Run: `cargo bench -p kvasir-engine --bench dispatch`

use kvasir_engine::client::Client;
use kvasir_engine::exec::execute;
use kvasir_engine::Engine;
use resp::Reply;
use std::time::Instant;

const OPS: usize = 2_000_000;
const ROUNDS: usize = 5;

fn client(engine: &Engine) -> Client {
    Client::new(engine.clients.register("bench".into(), "bench".into(), -1), true)
}

/// Runs `OPS` commands built by `argv(i)` and returns ns per command.
fn run(engine: &Engine, argv: impl Fn(usize) -> Vec<Vec<u8>>) -> f64 {
    let mut c = client(engine);
    let mut out = Reply::new(false);
    let cmds: Vec<Vec<Vec<u8>>> = (0..1024).map(&argv).collect();
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn key(i: usize) -> Vec<u8> {
    format!("key:{i}").into_bytes()
}

fn main() {
    let engine = Engine::for_tests();
    {
        let mut c = client(&engine);
        let mut out = Reply::new(false);
        for i in 0..1024 {
            execute(&engine, &mut c, &[b"SET", &key(i), b"some-value-of-32-bytes-xxxxxxxxx"], &mut out);
        }
    }
    let get = |i: usize| vec![b"GET".to_vec(), key(i)];
    let set = |i: usize| vec![b"SET".to_vec(), key(i), b"some-value-of-32-bytes-xxxxxxxxx".to_vec()];
    let hot_incr = |_: usize| vec![b"INCR".to_vec(), b"hot".to_vec()];

    let one = |f: &(dyn Fn(usize) -> Vec<Vec<u8>> + Sync)| median((0..ROUNDS).map(|_| run(&engine, f)).collect());
    let two = |f: &(dyn Fn(usize) -> Vec<Vec<u8>> + Sync)| {
        median(
            (0..ROUNDS)
                .map(|_| {
                    let start = Instant::now();
                    std::thread::scope(|s| {
                        s.spawn(|| run(&engine, f));
                        s.spawn(|| run(&engine, f));
                    });
                    start.elapsed().as_nanos() as f64 / (2 * OPS) as f64
                })
                .collect(),
        )
    };
    println!("command path, ns per command (median of {ROUNDS} runs of {OPS})");
    println!("{:<32} {:>10} {:>22}", "workload", "1 thread", "2 threads (aggregate)");
    for (name, f) in [
        ("GET, 1024 keys", &get as &(dyn Fn(usize) -> Vec<Vec<u8>> + Sync)),
        ("SET, 1024 keys", &set),
        ("INCR, one hot key", &hot_incr),
    ] {
        println!("{:<32} {:>10.1} {:>22.1}", name, one(f), two(f));
    }
}
