//! The list family end to end: what clients see through the `redis` crate and on the wire,
//! with big elements (plain nodes), lists spanning many nodes, encoding changes driven by
//! CONFIG SET, concurrent writers on several connections, and DUMP/RESTORE.

use crate::harness::Server;
use redis::{cmd, Connection, RedisResult};

fn err_text<T: std::fmt::Debug>(r: RedisResult<T>) -> String {
    let e = r.expect_err("expected an error reply");
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

fn lrange(c: &mut Connection, key: &str) -> Vec<Vec<u8>> {
    cmd("LRANGE").arg(key).arg(0).arg(-1).query(c).unwrap()
}

fn encoding(c: &mut Connection, key: &str) -> String {
    cmd("OBJECT").arg("ENCODING").arg(key).query(c).unwrap()
}

#[test]
fn binary_and_large_elements_round_trip() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let binary: Vec<u8> = (0..=255u8).chain(b"\r\n\0".iter().copied()).collect();
    let big = vec![b'B'; 100_000];
    let n: i64 = cmd("RPUSH").arg("l").arg(&binary).arg("").arg(&big).arg("-17").query(&mut c).unwrap();
    assert_eq!(n, 4);
    assert_eq!(encoding(&mut c, "l"), "quicklist", "a 100 KB element does not fit a listpack");
    assert_eq!(lrange(&mut c, "l"), vec![binary.clone(), vec![], big.clone(), b"-17".to_vec()]);
    let back: Vec<u8> = cmd("LINDEX").arg("l").arg(2).query(&mut c).unwrap();
    assert!(back == big);
    let pos: i64 = cmd("LPOS").arg("l").arg(&big).query(&mut c).unwrap();
    assert_eq!(pos, 2);
    let popped: Vec<Vec<u8>> = cmd("RPOP").arg("l").arg(3).query(&mut c).unwrap();
    assert_eq!(popped, vec![b"-17".to_vec(), big, vec![]]);
    let last: Vec<u8> = cmd("LPOP").arg("l").query(&mut c).unwrap();
    assert_eq!(last, binary);
    let exists: i64 = cmd("EXISTS").arg("l").query(&mut c).unwrap();
    assert_eq!(exists, 0);
}

#[test]
fn many_nodes_with_compression() {
    let s = Server::start(&["--list-max-listpack-size", "4", "--list-compress-depth", "1"]);
    let mut c = s.conn();
    let items: Vec<String> = (0..1000).map(|i| format!("element-{i}-{}", "xyz".repeat(i % 30))).collect();
    for chunk in items.chunks(100) {
        let _: i64 = cmd("RPUSH").arg("l").arg(chunk).query(&mut c).unwrap();
    }
    let all: Vec<String> = cmd("LRANGE").arg("l").arg(0).arg(-1).query(&mut c).unwrap();
    assert_eq!(all, items);
    for i in [0usize, 1, 3, 4, 5, 499, 500, 998, 999] {
        let v: String = cmd("LINDEX").arg("l").arg(i).query(&mut c).unwrap();
        assert_eq!(v, items[i]);
        let v: String = cmd("LINDEX").arg("l").arg(i as i64 - 1000).query(&mut c).unwrap();
        assert_eq!(v, items[i]);
    }
    let _: () = cmd("LSET").arg("l").arg(500).arg("changed").query(&mut c).unwrap();
    let n: i64 = cmd("LINSERT").arg("l").arg("BEFORE").arg("changed").arg("inserted").query(&mut c).unwrap();
    assert_eq!(n, 1001);
    let removed: i64 = cmd("LREM").arg("l").arg(0).arg(&items[10]).query(&mut c).unwrap();
    assert_eq!(removed, 1);
    let _: () = cmd("LTRIM").arg("l").arg(100).arg(-100).query(&mut c).unwrap();
    let mut want: Vec<String> = items.clone();
    want[500] = "changed".into();
    want.insert(500, "inserted".into());
    want.remove(10);
    // LTRIM 100 -100 keeps indexes 100 to len-100, both included.
    let want: Vec<String> = want[100..=want.len() - 100].to_vec();
    let all: Vec<String> = cmd("LRANGE").arg("l").arg(0).arg(-1).query(&mut c).unwrap();
    assert_eq!(all, want);
    let mut from_tail: Vec<String> = Vec::new();
    loop {
        let v: Option<String> = cmd("RPOP").arg("l").query(&mut c).unwrap();
        match v {
            Some(v) => from_tail.push(v),
            None => break,
        }
    }
    from_tail.reverse();
    assert_eq!(from_tail, want);
}

#[test]
fn encodings_follow_config_set() {
    let s = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    let _: () = cmd("CONFIG").arg("SET").arg("list-max-listpack-size").arg(3).query(&mut c).unwrap();
    let _: i64 = cmd("RPUSH").arg("l").arg(&["a", "b", "c"]).query(&mut c).unwrap();
    assert_eq!(encoding(&mut c, "l"), "listpack");
    let _: i64 = cmd("RPUSH").arg("l").arg("d").query(&mut c).unwrap();
    assert_eq!(encoding(&mut c, "l"), "quicklist");
    let _: Vec<String> = cmd("RPOP").arg("l").arg(3).query(&mut c).unwrap();
    assert_eq!(encoding(&mut c, "l"), "listpack", "one element is within half the limit");
    let v: Vec<String> = cmd("CONFIG").arg("GET").arg("list-max-ziplist-size").query(&mut c).unwrap();
    assert_eq!(v, vec!["list-max-ziplist-size", "3"]);
    // The packed threshold sends elements of its size into plain nodes of quicklists; a
    // listpack-encoded list is not affected.
    let ok: String = cmd("DEBUG").arg("QUICKLIST-PACKED-THRESHOLD").arg("10b").query(&mut c).unwrap();
    assert_eq!(ok, "OK");
    let _: i64 = cmd("RPUSH").arg("p").arg("0123456789").query(&mut c).unwrap();
    assert_eq!(encoding(&mut c, "p"), "listpack");
    let _: i64 = cmd("RPUSH").arg("q").arg(&["x", "y", "z", "w"]).query(&mut c).unwrap();
    let _: i64 = cmd("LINSERT").arg("q").arg("AFTER").arg("y").arg("0123456789").query(&mut c).unwrap();
    let _: () = cmd("LSET").arg("q").arg(0).arg("abcdefghijkl").query(&mut c).unwrap();
    assert_eq!(lrange_strings(&mut c, "q"), vec!["abcdefghijkl", "y", "0123456789", "z", "w"]);
    let _: () = cmd("DEBUG").arg("QUICKLIST-PACKED-THRESHOLD").arg("0").query(&mut c).unwrap();
    assert_eq!(
        err_text(cmd("DEBUG").arg("QUICKLIST-PACKED-THRESHOLD").arg("5gb").query::<()>(&mut c)),
        "ERR argument must be a memory value bigger than 1 and smaller than 4gb"
    );
}

#[test]
fn errors_through_a_client() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = cmd("SET").arg("s").arg("v").query(&mut c).unwrap();
    assert_eq!(
        err_text(cmd("LPUSH").arg("s").arg("a").query::<i64>(&mut c)),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(err_text(cmd("LSET").arg("nope").arg(0).arg("a").query::<()>(&mut c)), "ERR no such key");
    let _: i64 = cmd("RPUSH").arg("l").arg("a").query(&mut c).unwrap();
    assert_eq!(err_text(cmd("LSET").arg("l").arg(5).arg("a").query::<()>(&mut c)), "ERR index out of range");
    assert_eq!(
        err_text(cmd("LPOS").arg("l").arg("a").arg("RANK").arg(0).query::<()>(&mut c)),
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start \
         from the end of the list"
    );
    assert_eq!(err_text(cmd("BLPOP").arg("l").arg(-1).query::<()>(&mut c)), "ERR timeout is negative");
    assert_eq!(
        err_text(cmd("LMPOP").arg(0).arg("l").arg("LEFT").query::<()>(&mut c)),
        "ERR numkeys should be greater than 0"
    );
}

#[test]
fn concurrent_pushers_and_poppers_lose_nothing() {
    let s = Server::start(&["--worker-threads", "4"]);
    let pushers: Vec<_> = (0..6)
        .map(|t| {
            let url = s.url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                for i in 0..2000 {
                    let key = if i % 2 == 0 { "left" } else { "right" };
                    let _: i64 = cmd("LPUSH").arg(key).arg(format!("{t}:{i}")).query(&mut c).unwrap();
                }
            })
        })
        .collect();
    let movers: Vec<_> = (0..2)
        .map(|_| {
            let url = s.url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                let mut moved = 0;
                for _ in 0..3000 {
                    let v: Option<String> =
                        cmd("LMOVE").arg("left").arg("right").arg("RIGHT").arg("LEFT").query(&mut c).unwrap();
                    moved += usize::from(v.is_some());
                }
                moved
            })
        })
        .collect();
    for p in pushers {
        p.join().unwrap();
    }
    let _moved: usize = movers.into_iter().map(|m| m.join().unwrap()).sum();
    let mut c = s.conn();
    let mut all: Vec<String> = lrange_strings(&mut c, "left");
    all.extend(lrange_strings(&mut c, "right"));
    all.sort();
    let mut want: Vec<String> = (0..6).flat_map(|t| (0..2000).map(move |i| format!("{t}:{i}"))).collect();
    want.sort();
    assert_eq!(all.len(), want.len(), "elements lost or duplicated");
    assert_eq!(all, want);
}

fn lrange_strings(c: &mut Connection, key: &str) -> Vec<String> {
    cmd("LRANGE").arg(key).arg(0).arg(-1).query(c).unwrap()
}

#[test]
fn dump_and_restore_keep_every_element() {
    let s = Server::start(&["--list-max-listpack-size", "2", "--list-compress-depth", "1"]);
    let mut c = s.conn();
    let items: Vec<String> = (0..50).map(|i| format!("{i}-{}", "abc".repeat(i))).collect();
    let _: i64 = cmd("RPUSH").arg("l").arg(&items).query(&mut c).unwrap();
    let payload: Vec<u8> = cmd("DUMP").arg("l").query(&mut c).unwrap();
    let _: () = cmd("RESTORE").arg("copy").arg(0).arg(&payload).query(&mut c).unwrap();
    assert_eq!(lrange_strings(&mut c, "copy"), items);
    assert_eq!(encoding(&mut c, "copy"), "quicklist");
    // Restored with a larger limit, the same payload becomes a listpack when it is one node.
    let _: () = cmd("CONFIG").arg("SET").arg("list-max-listpack-size").arg(-2).query(&mut c).unwrap();
    let _: i64 = cmd("RPUSH").arg("small").arg(&["a", "b"]).query(&mut c).unwrap();
    let small: Vec<u8> = cmd("DUMP").arg("small").query(&mut c).unwrap();
    let _: () = cmd("RESTORE").arg("small2").arg(0).arg(&small).query(&mut c).unwrap();
    assert_eq!(encoding(&mut c, "small2"), "listpack");
}

/// A Valkey build to compare with: `KVASIR_VALKEY_SERVER` (e.g. Valkey 8.0.1 built from
/// source), else `valkey-server` on PATH. Started on a free port, killed when dropped.
struct Valkey(std::process::Child, u16);

impl Valkey {
    fn start() -> Option<Valkey> {
        let bin = std::env::var("KVASIR_VALKEY_SERVER").unwrap_or_else(|_| "valkey-server".into());
        let port = crate::harness::free_port();
        let child = std::process::Command::new(&bin)
            .args(["--port", &port.to_string(), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .stdout(std::process::Stdio::null())
            .spawn();
        let Ok(child) = child else {
            eprintln!(
                "\n!!!!!!!! WARNING: {bin} not available; list DUMP comparison with Valkey NOT TESTED !!!!!!!!\n"
            );
            return None;
        };
        let v = Valkey(child, port);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(v);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("{bin} did not start");
    }

    fn conn(&self) -> Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.1)).unwrap().get_connection().unwrap()
    }
}

impl Drop for Valkey {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Under `list-compress-depth 0` the interior of a long list is compressed in memory only:
/// DUMP must give Valkey's bytes, with and without `rdbcompression`, also after edits in the
/// compressed middle. (Not redis-server 7.0: it has no listpack lists, so its nodes differ.)
#[test]
fn cold_compressed_lists_dump_as_valkey_does() {
    let Some(valkey) = Valkey::start() else { return };
    let mut theirs = valkey.conn();
    let s = Server::start(&[]);
    let mut ours = s.conn();
    for c in [&mut theirs, &mut ours] {
        for chunk in 0..20 {
            let items: Vec<String> = (0..1000).map(|i| format!("item:{}", (chunk * 1000 + i) % 3000)).collect();
            let _: () = cmd(if chunk % 3 == 0 { "LPUSH" } else { "RPUSH" }).arg("long").arg(&items).query(c).unwrap();
        }
        let _: () = cmd("LSET").arg("long").arg(10_000).arg("changed").query(c).unwrap();
        let _: () = cmd("LINSERT").arg("long").arg("BEFORE").arg("changed").arg("inserted").query(c).unwrap();
        let _: () = cmd("LREM").arg("long").arg(3).arg("item:1500").query(c).unwrap();
    }
    let depth: Vec<String> = cmd("CONFIG").arg("GET").arg("list-compress-depth").query(&mut ours).unwrap();
    assert_eq!(depth[1], "0");
    for compression in ["yes", "no"] {
        for c in [&mut theirs, &mut ours] {
            let _: () = cmd("CONFIG").arg("SET").arg("rdbcompression").arg(compression).query(c).unwrap();
        }
        let their_dump: Vec<u8> = cmd("DUMP").arg("long").query(&mut theirs).unwrap();
        let our_dump: Vec<u8> = cmd("DUMP").arg("long").query(&mut ours).unwrap();
        assert_eq!(our_dump.len(), their_dump.len(), "rdbcompression {compression}");
        assert!(our_dump[..our_dump.len() - 10] == their_dump[..their_dump.len() - 10], "rdbcompression {compression}");
    }
    let range: Vec<String> = cmd("LRANGE").arg("long").arg(9_990).arg(10_010).query(&mut ours).unwrap();
    let their_range: Vec<String> = cmd("LRANGE").arg("long").arg(9_990).arg(10_010).query(&mut theirs).unwrap();
    assert_eq!(range, their_range);
    assert!(range.contains(&"changed".to_string()));
}
