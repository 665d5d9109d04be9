//! Expiry over the wire: the active cycle removes keys nobody reads, lookups remove expired
//! keys on sight, and the TTL commands.

use crate::harness::Server;
use std::time::{Duration, Instant};

fn dbsize(c: &mut redis::Connection) -> i64 {
    redis::cmd("DBSIZE").query(c).unwrap()
}

/// Keys with short TTLs disappear without being accessed: DBSIZE (which does not look keys
/// up) drops to the number of persistent keys.
#[test]
fn active_expiry_removes_keys_nobody_reads() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut pipe = redis::pipe();
    for i in 0..300 {
        pipe.cmd("SET").arg(format!("volatile:{i}")).arg("v").ignore();
        pipe.cmd("PEXPIRE").arg(format!("volatile:{i}")).arg(100 + i % 50).ignore();
    }
    for i in 0..100 {
        pipe.cmd("SET").arg(format!("persistent:{i}")).arg("v").ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();
    assert_eq!(dbsize(&mut c), 400);
    let deadline = Instant::now() + Duration::from_secs(5);
    while dbsize(&mut c) > 100 {
        assert!(Instant::now() < deadline, "still {} keys after 5 s", dbsize(&mut c));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(dbsize(&mut c), 100);
    let ttl: i64 = redis::cmd("TTL").arg("persistent:7").query(&mut c).unwrap();
    assert_eq!(ttl, -1);
}

/// An expired key still in the table (the active cycle, at hz 1, has not reached it) is
/// counted by DBSIZE until a lookup finds it expired and deletes it. The cycle may run inside
/// the window, so the scenario is tried a few times and must be seen at least once.
#[test]
fn lazy_expiry_deletes_on_access() {
    let s = Server::start(&["--hz", "1"]);
    let mut c = s.conn();
    let mut observed = false;
    for attempt in 0..10 {
        let key = format!("k{attempt}");
        let _: () = redis::cmd("SET").arg(&key).arg("v").query(&mut c).unwrap();
        let _: i64 = redis::cmd("PEXPIRE").arg(&key).arg(20).query(&mut c).unwrap();
        std::thread::sleep(Duration::from_millis(40));
        let before = dbsize(&mut c);
        let got: Option<String> = redis::cmd("GET").arg(&key).query(&mut c).unwrap();
        assert_eq!(got, None, "an expired key was returned");
        if before == 1 {
            assert_eq!(dbsize(&mut c), 0, "GET did not delete the expired key");
            observed = true;
            break;
        }
    }
    assert!(observed, "the active cycle removed the key before every access (hz 1?)");
}

#[test]
fn ttl_commands() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let set: i64 = redis::cmd("EXPIRE").arg("k").arg(100).query(&mut c).unwrap();
    assert_eq!(set, 1);
    let ttl: i64 = redis::cmd("TTL").arg("k").query(&mut c).unwrap();
    assert!((99..=100).contains(&ttl));
    let at: i64 = redis::cmd("EXPIRETIME").arg("k").query(&mut c).unwrap();
    let pat: i64 = redis::cmd("PEXPIRETIME").arg("k").query(&mut c).unwrap();
    assert!((pat - at * 1000).abs() <= 500);
    let not_greater: i64 = redis::cmd("EXPIRE").arg("k").arg(50).arg("GT").query(&mut c).unwrap();
    assert_eq!(not_greater, 0);
    let persisted: i64 = redis::cmd("PERSIST").arg("k").query(&mut c).unwrap();
    assert_eq!(persisted, 1);
    let pttl: i64 = redis::cmd("PTTL").arg("k").query(&mut c).unwrap();
    assert_eq!(pttl, -1);
    let mut raw = s.raw();
    assert_eq!(
        raw.call(&["EXPIRE", "k", "10", "NX", "XX"]),
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
    );
    assert_eq!(raw.call(&["PEXPIRE", "k", "9223372036854770000"]), "-ERR invalid expire time in 'pexpire' command\r\n");
    assert_eq!(raw.call(&["EXPIREAT", "k", "1"]), ":1\r\n");
    assert_eq!(raw.call(&["TTL", "k"]), ":-2\r\n");
}
