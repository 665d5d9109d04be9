//! Cache-aside trace for bench/hitratio.sh: GET a key drawn from a Zipf distribution; on a
//! miss, SET it. Works against any RESP server (kvasir, redis-server); the same seed gives the
//! same trace, so two servers with the same `maxmemory` and policy can be compared.
//!
//!     hitratio PORT KEYS REQUESTS VALUE_SIZE [ZIPF_S] [SEED]
//!
//! Requests go in pipelined batches of 100 GETs, then the SETs for that batch's misses. The
//! first fifth of the requests warms the cache up and is not counted. Prints one line:
//! `hits gets hit_ratio`.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::net::TcpStream;

const BATCH: usize = 100;

/// Draws ranks 0..n with probability proportional to 1 / (rank + 1)^s (inverse CDF).
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for k in 1..=n {
            total += 1.0 / (k as f64).powf(s);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut fastrand::Rng) -> usize {
        let u = rng.f64();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        bulk(out, a);
    }
}

/// Reads one reply; true for a present value (a bulk string), false for a null, `+OK`.
fn read_reply(r: &mut BufReader<TcpStream>, line: &mut String) -> bool {
    line.clear();
    r.read_line(line).expect("read");
    match line.as_bytes().first() {
        Some(b'$') => {
            let n: i64 = line[1..].trim().parse().expect("bulk length");
            if n < 0 {
                return false;
            }
            let mut skip = vec![0u8; n as usize + 2];
            r.read_exact(&mut skip).expect("read bulk");
            true
        }
        Some(b'+') => false,
        _ => panic!("unexpected reply: {line}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: hitratio PORT KEYS REQUESTS VALUE_SIZE [ZIPF_S] [SEED]");
        std::process::exit(2);
    }
    let port: u16 = args[1].parse().expect("port");
    let keys: usize = args[2].parse().expect("keys");
    let requests: usize = args[3].parse().expect("requests");
    let value = vec![b'v'; args[4].parse().expect("value size")];
    let s: f64 = args.get(5).map_or(0.99, |a| a.parse().expect("zipf s"));
    let seed: u64 = args.get(6).map_or(1, |a| a.parse().expect("seed"));

    let zipf = Zipf::new(keys, s);
    let mut rng = fastrand::Rng::with_seed(seed);
    // Ranks are mapped to names through a fixed permutation, so that popular keys are not
    // neighbours in any server's table.
    let mut names: Vec<u32> = (0..keys as u32).collect();
    rng.shuffle(&mut names);

    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_nodelay(true).ok();
    let mut reader = BufReader::with_capacity(1 << 16, stream.try_clone().expect("clone"));
    let mut writer = BufWriter::with_capacity(1 << 16, stream);
    let warmup = requests / 5;
    let (mut hits, mut gets) = (0u64, 0u64);
    let mut line = String::new();
    let mut done = 0;
    let mut buf = Vec::with_capacity(1 << 16);
    while done < requests {
        let n = BATCH.min(requests - done);
        let batch: Vec<Vec<u8>> =
            (0..n).map(|_| format!("key:{}", names[zipf.sample(&mut rng)]).into_bytes()).collect();
        buf.clear();
        for k in &batch {
            command(&mut buf, &[b"GET", k]);
        }
        writer.write_all(&buf).expect("write");
        writer.flush().expect("flush");
        let mut misses = Vec::new();
        for (i, k) in batch.iter().enumerate() {
            let hit = read_reply(&mut reader, &mut line);
            if done + i >= warmup {
                gets += 1;
                hits += u64::from(hit);
            }
            if !hit {
                misses.push(k);
            }
        }
        buf.clear();
        for k in &misses {
            command(&mut buf, &[b"SET", k, &value]);
        }
        writer.write_all(&buf).expect("write");
        writer.flush().expect("flush");
        for _ in &misses {
            read_reply(&mut reader, &mut line);
        }
        done += n;
    }
    println!("{hits} {gets} {:.4}", hits as f64 / gets.max(1) as f64);
}
