//! In-process cost of the list commands redis-benchmark measures (LPUSH, LPOP, RPOP,
//! LRANGE of 100 elements), through `exec::execute` on one thread, with GET as the yardstick.
//! `bench/compare.sh` measures the whole server against redis-server.
//!
//! Run: `cargo bench -p kvasir-engine --bench lists`

use kvasir_engine::client::Client;
use kvasir_engine::exec::execute;
use kvasir_engine::Engine;
use resp::Reply;
use std::time::Instant;

const OPS: usize = 1_000_000;
const ROUNDS: usize = 5;

fn client(engine: &Engine) -> Client {
    Client::new(engine.clients.register("bench".into(), "bench".into(), -1), true)
}

/// Runs `argv` `n` times and returns ns per command.
fn run(engine: &Engine, argv: &[&[u8]], n: usize) -> f64 {
    let mut c = client(engine);
    let mut out = Reply::new(false);
    let start = Instant::now();
    for _ in 0..n {
        execute(engine, &mut c, argv, &mut out);
        if out.len() > 64 * 1024 {
            out.consume(out.len());
        }
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let engine = Engine::for_tests();
    let value: &[u8] = b"xxx";
    run(&engine, &[b"SET", b"key", value], 1);
    let time = |argv: &[&[u8]], n: usize| median((0..ROUNDS).map(|_| run(&engine, argv, n)).collect());
    println!("list command path, ns per command (median of {ROUNDS} runs of {OPS})");
    let row = |name: &str, ns: f64| println!("{name:<28} {ns:>8.1}");
    row("GET (yardstick)", time(&[b"GET", b"key"], OPS));
    row("LPUSH one element", time(&[b"LPUSH", b"l", value], OPS));
    row("LRANGE 0 99", time(&[b"LRANGE", b"l", b"0", b"99"], OPS / 4));
    row("LPOP", time(&[b"LPOP", b"l"], OPS));
    for _ in 0..ROUNDS {
        run(&engine, &[b"RPUSH", b"l", value], OPS);
    }
    row("RPOP", time(&[b"RPOP", b"l"], OPS));
    row("LPOP of a missing key", time(&[b"LPOP", b"none"], OPS));
}
