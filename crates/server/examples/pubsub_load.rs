//! Pub/Sub load generator for bench/pubsub.sh: one publisher, N subscribers on their own
//! connections, fixed-size messages. Works against any RESP server (kvasir, redis-server).
//!
//!     pubsub_load PORT SUBSCRIBERS MESSAGES SIZE
//!
//! Phase 1 (throughput): the publisher pipelines PUBLISH (at most 256 unanswered) as fast as
//! the server takes them; the time from the first publish to the last message received by the
//! last subscriber gives deliveries per second (MESSAGES × SUBSCRIBERS / elapsed).
//! Phase 2 (latency): messages are published at a fixed pace, low enough for the machine
//! (1000 per second at most, and at most 100 000 deliveries per second), each carrying its
//! send time; every subscriber records publish-to-receive latency, and the 50th and 99th
//! percentiles over all deliveries are reported.
//!
//! Prints one line: `deliveries_per_sec p50_us p99_us`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CHANNEL: &[u8] = b"bench:channel";
const WINDOW: u64 = 256;

fn publish_cmd(payload: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(64 + payload.len());
    c.extend_from_slice(b"*3\r\n$7\r\nPUBLISH\r\n");
    c.extend_from_slice(format!("${}\r\n", CHANNEL.len()).as_bytes());
    c.extend_from_slice(CHANNEL);
    c.extend_from_slice(format!("\r\n${}\r\n", payload.len()).as_bytes());
    c.extend_from_slice(payload);
    c.extend_from_slice(b"\r\n");
    c
}

/// The size of one `message` frame as a RESP2 subscriber receives it.
fn frame_len(size: usize) -> usize {
    let bulk = |n: usize| 1 + n.to_string().len() + 2 + n + 2;
    4 + bulk(7) + bulk(CHANNEL.len()) + bulk(size)
}

/// A payload of `size` bytes starting with the send time in µs since `epoch`, zero padded.
fn payload(size: usize, epoch: Instant) -> Vec<u8> {
    let mut p = format!("{:016}", epoch.elapsed().as_micros()).into_bytes();
    p.resize(size, b'x');
    p
}

/// Connects and subscribes; returns once the subscription is confirmed.
async fn subscriber(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    s.set_nodelay(true).unwrap();
    let cmd = format!("*2\r\n$9\r\nSUBSCRIBE\r\n${}\r\n{}\r\n", CHANNEL.len(), String::from_utf8_lossy(CHANNEL));
    s.write_all(cmd.as_bytes()).await.unwrap();
    // *3 $9 subscribe $len channel :1
    let confirm = 4 + (1 + 1 + 2 + 9 + 2) + (1 + CHANNEL.len().to_string().len() + 2 + CHANNEL.len() + 2) + 4;
    let mut buf = vec![0u8; confirm];
    s.read_exact(&mut buf).await.unwrap();
    s
}

/// Reads `count` frames; returns the latencies (µs) of those with a timestamp, if asked.
async fn receive(s: &mut TcpStream, frame: usize, size: usize, count: usize, epoch: Instant, timed: bool) -> Vec<u32> {
    let mut lat = Vec::new();
    let mut buf = vec![0u8; frame * 64];
    let mut have = 0usize;
    let mut got = 0usize;
    let payload_at = frame - 2 - size;
    while got < count {
        let n = s.read(&mut buf[have..]).await.expect("read");
        assert!(n > 0, "server closed a subscriber");
        have += n;
        let whole = have / frame;
        if timed {
            let now = epoch.elapsed().as_micros() as u64;
            for i in 0..whole {
                let f = &buf[i * frame..(i + 1) * frame];
                let sent: u64 = std::str::from_utf8(&f[payload_at..payload_at + 16]).unwrap().parse().unwrap();
                lat.push(now.saturating_sub(sent) as u32);
            }
        }
        got += whole;
        let rest = have - whole * frame;
        buf.copy_within(whole * frame..have, 0);
        have = rest;
    }
    lat
}

async fn run(port: u16, subs: usize, messages: usize, size: usize) {
    let epoch = Instant::now();
    let mut conns = Vec::new();
    for _ in 0..subs {
        conns.push(subscriber(port).await);
    }
    let publisher = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    publisher.set_nodelay(true).unwrap();

    // Throughput.
    let start = Instant::now();
    let mut handles = Vec::new();
    let frame = frame_len(size);
    for mut s in conns {
        handles.push(tokio::spawn(async move {
            receive(&mut s, frame, size, messages, epoch, false).await;
            s
        }));
    }
    let body = payload(size, epoch);
    let cmd = publish_cmd(&body);
    let (mut rd, mut wr) = publisher.into_split();
    let reader = tokio::spawn(async move {
        // Replies are `:N\r\n`: count line ends.
        let mut buf = vec![0u8; 64 * 1024];
        let mut seen = 0usize;
        while seen < messages {
            let n = rd.read(&mut buf).await.unwrap();
            assert!(n > 0);
            seen += buf[..n].iter().filter(|&&b| b == b'\n').count();
            REPLIES.store(seen as u64, Relaxed);
        }
        rd
    });
    let mut sent = 0usize;
    while sent < messages {
        while sent as u64 >= REPLIES.load(Relaxed) + WINDOW {
            tokio::task::yield_now().await;
        }
        let batch = (messages - sent).min(64);
        let mut out = Vec::with_capacity(cmd.len() * batch);
        for _ in 0..batch {
            out.extend_from_slice(&cmd);
        }
        wr.write_all(&out).await.unwrap();
        sent += batch;
    }
    let rd = reader.await.unwrap();
    let mut streams = Vec::new();
    for h in handles {
        streams.push(h.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    let rate = (messages * subs) as f64 / elapsed;

    // Latency, paced.
    let per_sec = (100_000 / subs).clamp(1, 1000);
    let count = (per_sec * 2).max(200);
    let interval = Duration::from_micros(1_000_000 / per_sec as u64);
    let mut handles = Vec::new();
    for mut s in streams {
        let frame = frame_len(size);
        handles.push(tokio::spawn(async move { receive(&mut s, frame, size, count, epoch, true).await }));
    }
    let mut publisher = rd.reunite(wr).unwrap();
    let mut replies = vec![0u8; 64];
    let mut next = Instant::now();
    for _ in 0..count {
        tokio::time::sleep_until(next.into()).await;
        publisher.write_all(&publish_cmd(&payload(size, epoch))).await.unwrap();
        let _ = publisher.read(&mut replies).await.unwrap();
        next += interval;
    }
    let mut all: Vec<u32> = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!("{:.0} {} {}", rate, pct(0.50), pct(0.99));
}

static REPLIES: AtomicU64 = AtomicU64::new(0);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: pubsub_load PORT SUBSCRIBERS MESSAGES SIZE");
        std::process::exit(2);
    }
    let port: u16 = args[1].parse().unwrap();
    let subs: usize = args[2].parse().unwrap();
    let messages: usize = args[3].parse().unwrap();
    let size: usize = args[4].parse().unwrap();
    assert!(size >= 16, "messages carry a 16-byte timestamp");
    // One thread: the load generator should take one core at most, like redis-benchmark.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(run(port, subs, messages, size));
}
