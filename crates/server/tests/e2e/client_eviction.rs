//! Client eviction (`maxmemory-clients`) over the wire: the client whose buffers push the
//! clients' total over the limit is disconnected, largest first and only until the rest fit;
//! CLIENT NO-EVICT exempts; the limit may be a share of `maxmemory`; INFO counts
//! `evicted_clients`. Valkey's unit/client-eviction.tcl is tagged external:skip, so these
//! scenarios follow it here.

use crate::harness::{Raw, Server};
use std::io::Write;
use std::time::{Duration, Instant};

fn info_u64(c: &mut Raw, name: &str) -> u64 {
    let info = c.call(&["INFO", "stats"]);
    let prefix = format!("{name}:");
    info.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {name}")).trim().parse().unwrap()
}

/// The CLIENT LIST line of the client named `name`, if it is connected.
fn client_line(c: &mut Raw, name: &str) -> Option<String> {
    let list = c.call(&["CLIENT", "LIST"]);
    list.lines().find(|l| l.contains(&format!(" name={name} "))).map(str::to_string)
}

fn field(line: &str, f: &str) -> u64 {
    let prefix = format!("{f}=");
    line.split(' ').find_map(|w| w.strip_prefix(&prefix)).unwrap().parse().unwrap()
}

/// A client named `name` that has sent all but the last byte of a `len`-byte argument, so that
/// its query buffer holds about `len` bytes.
fn partial(s: &Server, name: &str, len: usize) -> Raw {
    let mut c = s.raw();
    assert_eq!(c.call(&["CLIENT", "SETNAME", name]), "+OK\r\n");
    let mut wire = format!("*1\r\n${len}\r\n").into_bytes();
    wire.resize(wire.len() + len - 1, b'v');
    // The server may close the connection before it has read everything.
    let _ = c.stream.write_all(&wire);
    c
}

/// Waits until `cond` holds, or fails after 10 s.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_client_over_the_limit_is_evicted_and_counted() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    assert_eq!(admin.call(&["CONFIG", "SET", "maxmemory-clients", "3000000"]), "+OK\r\n");
    assert_eq!(
        admin.call(&["CONFIG", "GET", "maxmemory-clients"]),
        "*2\r\n$17\r\nmaxmemory-clients\r\n$7\r\n3000000\r\n"
    );
    // A command with a 1 MB argument fits.
    let mut small = s.raw();
    let big_arg = "v".repeat(1_000_000);
    assert_eq!(small.call(&["SET", "k", &big_arg]), "+OK\r\n");
    assert_eq!(info_u64(&mut admin, "evicted_clients"), 0);
    // A 3 MB argument does not: the client goes without a reply.
    let mut big = partial(&s, "big", 3_000_000);
    assert!(big.read_to_close().is_empty());
    wait_for("the evicted client to go", || client_line(&mut admin, "big").is_none());
    assert_eq!(info_u64(&mut admin, "evicted_clients"), 1);
    // The others stay.
    assert_eq!(small.call(&["PING"]), "+PONG\r\n");
    assert_eq!(admin.call(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    assert_eq!(info_u64(&mut admin, "evicted_clients"), 0);
    // Without a limit nothing is evicted.
    assert_eq!(admin.call(&["CONFIG", "SET", "maxmemory-clients", "0"]), "+OK\r\n");
    let mut big = partial(&s, "big2", 3_000_000);
    big.send(b"v\r\n");
    assert!(String::from_utf8_lossy(&big.read_reply()).starts_with("-ERR unknown command"));
    assert_eq!(info_u64(&mut admin, "evicted_clients"), 0);
}

#[test]
fn no_evict_clients_stay() {
    let s = Server::start(&["--maxmemory-clients", "1mb"]);
    let mut admin = s.raw();
    // The exempt client alone is over the limit: every other client would go.
    assert_eq!(admin.call(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    let mut c = s.raw();
    assert_eq!(c.call(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    assert_eq!(c.call(&["CLIENT", "SETNAME", "exempt"]), "+OK\r\n");
    let mut wire = b"*1\r\n$2000000\r\n".to_vec();
    wire.resize(wire.len() + 1_999_999, b'v');
    c.send(&wire);
    wait_for("the query buffer to fill", || {
        client_line(&mut admin, "exempt").is_some_and(|l| field(&l, "qbuf") >= 1_999_999)
    });
    let line = client_line(&mut admin, "exempt").unwrap();
    assert!(line.contains(" flags=e "), "{line}");
    assert!(field(&line, "tot-mem") >= 2_000_000, "{line}");
    c.send(b"v\r\n");
    assert!(String::from_utf8_lossy(&c.read_reply()).starts_with("-ERR unknown command"));
    assert_eq!(info_u64(&mut admin, "evicted_clients"), 0);
}

#[test]
fn the_limit_may_be_a_share_of_maxmemory() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    // A percentage without maxmemory is no limit.
    assert_eq!(admin.call(&["CONFIG", "SET", "maxmemory-clients", "7%"]), "+OK\r\n");
    let mut c = partial(&s, "free", 1_000_000);
    c.send(b"v\r\n");
    assert!(String::from_utf8_lossy(&c.read_reply()).starts_with("-ERR unknown command"));
    drop(c);
    wait_for("the first client to go", || client_line(&mut admin, "free").is_none());
    // 7% of 6 MB.
    assert_eq!(admin.call(&["CONFIG", "SET", "maxmemory", "6mb"]), "+OK\r\n");
    let limit = 6 * 1024 * 1024 * 7 / 100;
    let mut half = partial(&s, "half", limit / 2);
    wait_for("the query buffer to fill", || {
        client_line(&mut admin, "half").is_some_and(|l| field(&l, "qbuf") as usize >= limit / 2 - 1)
    });
    let tot = field(&client_line(&mut admin, "half").unwrap(), "tot-mem") as usize;
    assert!(tot >= limit / 2 && tot < limit, "tot-mem {tot} of {limit}");
    half.send(b"v\r\n");
    assert!(String::from_utf8_lossy(&half.read_reply()).starts_with("-ERR unknown command"));
    let mut full = partial(&s, "full", limit);
    assert!(full.read_to_close().is_empty());
    assert_eq!(info_u64(&mut admin, "evicted_clients"), 1);
    assert_eq!(admin.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn lowering_the_limit_evicts_the_largest_clients_until_the_rest_fit() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let sizes = [("c600k", 600_000usize), ("c300k", 300_000), ("c100k", 100_000)];
    let mut clients: Vec<Raw> = sizes.iter().map(|(name, len)| partial(&s, name, *len)).collect();
    for (name, len) in sizes {
        wait_for("the query buffers to fill", || {
            client_line(&mut admin, name).is_some_and(|l| field(&l, "qbuf") as usize >= len - 1)
        });
    }
    // About 1 MB in all: under 700 KB only once the largest is gone.
    let before = admin.call(&["CLIENT", "LIST"]);
    assert_eq!(admin.call(&["CONFIG", "SET", "maxmemory-clients", "700000"]), "+OK\r\n");
    assert!(clients[0].read_to_close().is_empty());
    wait_for("the largest client to go", || client_line(&mut admin, "c600k").is_none());
    std::thread::sleep(Duration::from_millis(300));
    assert!(client_line(&mut admin, "c300k").is_some(), "{before}");
    assert!(client_line(&mut admin, "c100k").is_some());
    assert_eq!(info_u64(&mut admin, "evicted_clients"), 1);
    for (c, (_, len)) in clients.iter_mut().zip(sizes).skip(1) {
        c.send(b"v\r\n");
        let reply = String::from_utf8_lossy(&c.read_reply()).into_owned();
        assert!(reply.starts_with("-ERR unknown command"), "{len}: {reply}");
    }
}

#[test]
fn a_reply_that_would_go_over_the_limit_evicts_its_client() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    assert_eq!(admin.call(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    {
        let mut loader = s.raw();
        assert_eq!(loader.call(&["SET", "big", &"x".repeat(2_000_000)]), "+OK\r\n");
    }
    wait_for("the loader to go", || admin.call(&["CLIENT", "LIST"]).matches("id=").count() == 1);
    assert_eq!(admin.call(&["CONFIG", "SET", "maxmemory-clients", "1mb"]), "+OK\r\n");
    let mut reader = s.raw();
    assert_eq!(reader.call(&["GETRANGE", "big", "0", "2"]), "$3\r\nxxx\r\n");
    reader.cmd(&[b"GET", b"big"]);
    assert!(reader.read_to_close().is_empty(), "evicted before its reply is written");
    assert_eq!(info_u64(&mut admin, "evicted_clients"), 1);
    let mut other = s.raw();
    assert_eq!(other.call(&["STRLEN", "big"]), ":2000000\r\n");
}

/// Sends `args` commands until the server closes the connection; returns how many replies
/// came first (fails if it never closes).
fn replies_until_evicted(c: &mut Raw, args: impl Fn(usize) -> Vec<String>) -> usize {
    for i in 0..100 {
        let a = args(i);
        let a: Vec<&[u8]> = a.iter().map(|s| s.as_bytes()).collect();
        let mut wire = format!("*{}\r\n", a.len()).into_bytes();
        for x in &a {
            wire.extend_from_slice(format!("${}\r\n", x.len()).as_bytes());
            wire.extend_from_slice(x);
            wire.extend_from_slice(b"\r\n");
        }
        if c.stream.write_all(&wire).is_err() {
            return i;
        }
        let mut byte = [0u8; 1];
        let mut reply = Vec::new();
        // One reply per command here; an empty read is the eviction.
        loop {
            match std::io::Read::read(&mut c.stream, &mut byte) {
                Ok(0) | Err(_) => return i,
                Ok(_) => {
                    reply.push(byte[0]);
                    if reply.ends_with(b"\r\n") && resp::Value::parse(&reply).is_ok() {
                        break;
                    }
                }
            }
        }
    }
    panic!("never evicted");
}

#[test]
fn queued_commands_watched_keys_and_subscriptions_count() {
    let s = Server::start(&["--maxmemory-clients", "1mb"]);
    let mut admin = s.raw();
    assert_eq!(admin.call(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    // MULTI: each queued 200 KB SET adds to multi-mem until the client is evicted.
    let mut c = s.raw();
    assert_eq!(c.call(&["CLIENT", "SETNAME", "queuer"]), "+OK\r\n");
    assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.call(&["SET", "k", "small"]), "+QUEUED\r\n");
    let line = client_line(&mut admin, "queuer").unwrap();
    assert_eq!(field(&line, "multi-mem"), ("SET".len() + 8 + 1 + 8 + 5 + 8) as u64, "{line}");
    let value = "v".repeat(200_000);
    let queued = replies_until_evicted(&mut c, |_| vec!["SET".into(), "k".into(), value.clone()]);
    assert!((3..6).contains(&queued), "{queued} queued before eviction");
    // WATCH: 56 bytes a key, as Valkey counts them.
    let mut c = s.raw();
    let watched = replies_until_evicted(&mut c, |i| {
        let mut a = vec!["WATCH".to_string()];
        a.extend((0..1000).map(|j| format!("key:{i}:{j}")));
        a
    });
    assert!((10..25).contains(&watched), "{watched} x 1000 keys watched before eviction");
    // SUBSCRIBE: 32 bytes a channel (one reply per channel, so count them differently).
    let mut c = s.raw();
    let mut sent = 0;
    let evicted = loop {
        let mut args: Vec<String> = vec!["SUBSCRIBE".into()];
        args.extend((0..1000).map(|j| format!("ch:{sent}:{j}")));
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        c.cmd(&a);
        sent += 1;
        if sent > 100 {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
        if client_lines(&mut admin) == 1 {
            break true;
        }
    };
    assert!(evicted && (20..50).contains(&sent), "subscriber evicted after {sent} x 1000 channels");
    assert_eq!(info_u64(&mut admin, "evicted_clients"), 3);
}

fn client_lines(admin: &mut Raw) -> usize {
    admin.call(&["CLIENT", "LIST"]).matches(" addr=").count()
}
