//! Load generator for what redis-benchmark cannot send: a request made of several commands
//! (MULTI, INCR x3, EXEC), and several kinds of clients at once, each kind measured on its
//! own. Used by bench/scripting.sh; works against any RESP server.
//!
//!     txbench PORT SECONDS KIND:CLIENTS [KIND:CLIENTS ...]
//!
//! Kinds (every key is drawn at random out of 100,000, as redis-benchmark's -r):
//! - `incr`: INCR k:<n>, one command per request.
//! - `multi3`: MULTI, INCR t:<n> three times, EXEC, sent as one write; one request is the
//!   five replies.
//! - `evalsha3`: EVALSHA of a script that INCRs its one declared key three times.
//! - `slowscript`: EVALSHA of a script that INCRs its one declared key s:<n> 1000 times
//!   (about a millisecond of work per script, during which Valkey serves nobody else).
//!
//! Every client runs on one thread (like redis-benchmark), keeps one request in flight and
//! counts a request when all its replies are in; an error reply stops the run. Prints one
//! line per kind: `kind clients requests requests_per_s p50_us p99_us`.

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEYSPACE: u32 = 100_000;
const SCRIPT3: &str = "redis.call('INCR', KEYS[1]) redis.call('INCR', KEYS[1]) return redis.call('INCR', KEYS[1])";
const SLOW_SCRIPT: &str = "for i = 1, 999 do redis.call('INCR', KEYS[1]) end return redis.call('INCR', KEYS[1])";

fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Incr,
    Multi3,
    Evalsha3,
    SlowScript,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "incr" => Kind::Incr,
            "multi3" => Kind::Multi3,
            "evalsha3" => Kind::Evalsha3,
            "slowscript" => Kind::SlowScript,
            _ => return None,
        })
    }

    /// One request into `out`; returns how many replies it gets.
    fn request(self, out: &mut Vec<u8>, n: u32, shas: &Shas) -> usize {
        out.clear();
        match self {
            Kind::Incr => {
                command(out, &[b"INCR", format!("k:{n}").as_bytes()]);
                1
            }
            Kind::Multi3 => {
                let key = format!("t:{n}");
                command(out, &[b"MULTI"]);
                for _ in 0..3 {
                    command(out, &[b"INCR", key.as_bytes()]);
                }
                command(out, &[b"EXEC"]);
                5
            }
            Kind::Evalsha3 => {
                command(out, &[b"EVALSHA", shas.three.as_bytes(), b"1", format!("e:{n}").as_bytes()]);
                1
            }
            Kind::SlowScript => {
                command(out, &[b"EVALSHA", shas.slow.as_bytes(), b"1", format!("s:{n}").as_bytes()]);
                1
            }
        }
    }
}

struct Shas {
    three: String,
    slow: String,
}

/// Sends `req` and reads `replies` complete replies; returns the first error reply, if any.
async fn round_trip(conn: &mut TcpStream, req: &[u8], replies: usize, buf: &mut Vec<u8>) -> Result<(), String> {
    conn.write_all(req).await.map_err(|e| e.to_string())?;
    let mut seen = 0;
    let mut start = 0;
    loop {
        while seen < replies {
            match resp::Value::parse(&buf[start..]) {
                Ok((v, used)) => {
                    start += used;
                    seen += 1;
                    if let resp::Value::Error(e) = v {
                        return Err(String::from_utf8_lossy(&e).into_owned());
                    }
                }
                Err(resp::value::ParseError::Incomplete) => break,
                Err(resp::value::ParseError::Invalid) => return Err("malformed reply".into()),
            }
        }
        if seen == replies {
            buf.drain(..start);
            return Ok(());
        }
        let mut chunk = [0u8; 16384];
        let n = conn.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn load_script(port: u16, body: &str) -> String {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let mut req = Vec::new();
    command(&mut req, &[b"SCRIPT", b"LOAD", body.as_bytes()]);
    conn.write_all(&req).await.expect("write");
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 256];
        let n = conn.read(&mut chunk).await.expect("read");
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
        match resp::Value::parse(&buf) {
            Ok((resp::Value::Bulk(sha), _)) => return String::from_utf8(sha).expect("sha"),
            Ok((other, _)) => panic!("SCRIPT LOAD: {other:?}"),
            Err(_) => continue,
        }
    }
}

/// One client: requests until `until`; returns its latencies in microseconds.
async fn client(port: u16, kind: Kind, shas: std::rc::Rc<Shas>, until: Instant, seed: u64) -> Result<Vec<u32>, String> {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| e.to_string())?;
    conn.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut req, mut buf, mut lat) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        let t = Instant::now();
        if t >= until {
            return Ok(lat);
        }
        let replies = kind.request(&mut req, rng.u32(0..KEYSPACE), &shas);
        round_trip(&mut conn, &req, replies, &mut buf).await?;
        lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: txbench PORT SECONDS KIND:CLIENTS [KIND:CLIENTS ...] (kinds: incr multi3 evalsha3 slowscript)";
    if args.len() < 3 {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    let port: u16 = args[0].parse().expect("PORT");
    let seconds: f64 = args[1].parse().expect("SECONDS");
    let mut groups = Vec::new();
    for g in &args[2..] {
        let parsed = g.split_once(':').and_then(|(k, c)| Some((Kind::parse(k)?, c.parse::<usize>().ok()?)));
        let Some((kind, clients)) = parsed else {
            eprintln!("bad group {g:?}; {usage}");
            std::process::exit(2);
        };
        groups.push((g.split_once(':').unwrap().0.to_string(), kind, clients));
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let shas = std::rc::Rc::new(Shas {
            three: load_script(port, SCRIPT3).await,
            slow: load_script(port, SLOW_SCRIPT).await,
        });
        let until = Instant::now() + Duration::from_secs_f64(seconds);
        let mut handles = Vec::new();
        for (gi, (_, kind, clients)) in groups.iter().enumerate() {
            for c in 0..*clients {
                let seed = (gi * 10_000 + c) as u64;
                handles.push((gi, tokio::task::spawn_local(client(port, *kind, shas.clone(), until, seed))));
            }
        }
        let mut lat: Vec<Vec<u32>> = vec![Vec::new(); groups.len()];
        for (gi, h) in handles {
            match h.await.expect("client task") {
                Ok(l) => lat[gi].extend(l),
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(1);
                }
            }
        }
        for ((name, _, clients), mut l) in groups.iter().zip(lat) {
            l.sort_unstable();
            let pct =
                |p: f64| l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1))).copied().unwrap_or(0);
            println!("{name} {clients} {} {:.0} {} {}", l.len(), l.len() as f64 / seconds, pct(0.5), pct(0.99));
        }
    });
}
