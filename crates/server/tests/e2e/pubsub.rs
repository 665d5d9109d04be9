//! Pub/Sub, keyspace notifications and client-side caching through real clients: the `redis`
//! crate, raw RESP3 connections, and the seed scenario in Python with the `valkey` client.

use crate::harness::{Raw, Server};
use std::time::{Duration, Instant};

fn pubsub_conn(s: &Server) -> redis::Connection {
    let c = s.conn();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c
}

/// Waits until the server counts `n` subscribers on `channel`.
fn wait_subscribers(c: &mut redis::Connection, channel: &str, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r: Vec<(String, i64)> = redis::cmd("PUBSUB").arg("NUMSUB").arg(channel).query(c).unwrap();
        if r[0].1 == n {
            return;
        }
        assert!(Instant::now() < deadline, "{channel} has {} subscribers, want {n}", r[0].1);
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn keyevent_and_keyspace_subscribers_see_camera_config_change() {
    let s = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut events = pubsub_conn(&s);
    let mut keyspace = pubsub_conn(&s);
    let mut ev = events.as_pubsub();
    ev.subscribe("__keyevent@0__:set").unwrap();
    let mut ks = keyspace.as_pubsub();
    ks.subscribe("__keyspace@0__:camera_config").unwrap();
    let mut c = s.conn();
    wait_subscribers(&mut c, "__keyevent@0__:set", 1);
    wait_subscribers(&mut c, "__keyspace@0__:camera_config", 1);
    let _: () = redis::cmd("SET").arg("camera_config").arg("v2").query(&mut c).unwrap();

    let m = ev.get_message().unwrap();
    assert_eq!(m.get_channel_name(), "__keyevent@0__:set");
    assert_eq!(m.get_payload::<String>().unwrap(), "camera_config");
    let m = ks.get_message().unwrap();
    assert_eq!(m.get_channel_name(), "__keyspace@0__:camera_config");
    assert_eq!(m.get_payload::<String>().unwrap(), "set");
}

#[test]
fn every_subscriber_gets_every_message_in_publish_order() {
    // Subscribers land on different worker threads (connections are spread round robin).
    let s = Server::start(&["--worker-threads", "2"]);
    const N: usize = 5000;
    let mut subs: Vec<redis::Connection> = (0..4).map(|_| pubsub_conn(&s)).collect();
    let mut pubsubs: Vec<redis::PubSub> = subs.iter_mut().map(|c| c.as_pubsub()).collect();
    for (i, p) in pubsubs.iter_mut().enumerate() {
        if i % 2 == 0 {
            p.subscribe("orders").unwrap();
        } else {
            p.psubscribe("ord*").unwrap();
        }
    }
    let mut publisher = s.conn();
    wait_subscribers(&mut publisher, "orders", 2);
    let mut pipe = redis::pipe();
    for i in 0..N {
        pipe.cmd("PUBLISH").arg("orders").arg(i.to_string());
    }
    let receivers: Vec<i64> = pipe.query(&mut publisher).unwrap();
    assert!(receivers.iter().all(|&r| r == 4), "each message reaches 2 subscribers and 2 patterns");
    for p in &mut pubsubs {
        for i in 0..N {
            let m = p.get_message().unwrap();
            assert_eq!(m.get_payload::<String>().unwrap(), i.to_string());
        }
    }
}

#[test]
fn a_subscriber_that_never_reads_is_disconnected_and_the_publisher_never_waits() {
    let s = Server::start(&["--client-output-buffer-limit", "pubsub", "1mb", "256kb", "60"]);
    let mut slow = Raw::connect(s.port);
    slow.call(&["SUBSCRIBE", "feed"]);
    // The subscriber never reads again: its socket buffers fill, then the server's queue.
    let mut publisher = s.conn();
    let payload = "x".repeat(64 * 1024);
    let started = Instant::now();
    // The kernel's socket buffers absorb the first several megabytes; after that the server
    // queues for the subscriber until its 1 MB limit, then drops it.
    let mut published = 0;
    loop {
        let n: i64 = redis::cmd("PUBLISH").arg("feed").arg(&payload).query(&mut publisher).unwrap();
        published += 1;
        if n == 0 {
            break;
        }
        assert!(published < 2000, "still delivering after {published} messages of 64 KiB");
    }
    eprintln!("slow subscriber dropped after {published} messages");
    // Publishing never blocked on the subscriber.
    assert!(started.elapsed() < Duration::from_secs(20), "publishing took {:?}", started.elapsed());
    let memory: String = redis::cmd("INFO").arg("memory").query(&mut publisher).unwrap();
    let used: u64 = memory.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap();
    assert!(used < 64 << 20, "used_memory {used} after dropping the slow subscriber");
    let info: String = redis::cmd("INFO").arg("stats").query(&mut publisher).unwrap();
    assert!(info.contains("client_output_buffer_limit_disconnections:1"), "{info}");
    let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut publisher).unwrap();
    assert_eq!(clients.lines().count(), 1, "{clients}");
    // What the kernel had buffered for it may still be read, then the connection ends.
    slow.stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let rest = slow.read_to_close();
    assert!(rest.len() < 8 << 20, "read {} bytes after the limit", rest.len());
}

#[test]
fn resp3_push_frames_interleave_with_replies() {
    let s = Server::start(&[]);
    let mut c = Raw::connect(s.port);
    c.call(&["HELLO", "3"]);
    assert_eq!(c.call(&["SUBSCRIBE", "ch"]), ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    // A subscribed RESP3 client may run any command; its own message follows the reply.
    assert_eq!(c.call(&["PUBLISH", "ch", "hi"]), ":1\r\n");
    assert_eq!(String::from_utf8_lossy(&c.read_reply()), ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
    assert_eq!(c.call(&["GET", "nothing"]), "_\r\n");
    // RESP2: only the subscription commands, PING, QUIT and RESET.
    let mut old = Raw::connect(s.port);
    old.call(&["SUBSCRIBE", "ch"]);
    assert_eq!(
        old.call(&["GET", "k"]),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this \
         context\r\n"
    );
    assert_eq!(old.call(&["PING"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

#[test]
fn tracking_invalidates_a_resp3_client_and_a_resp2_redirect() {
    let s = Server::start(&[]);
    let mut writer = s.conn();
    let mut c = Raw::connect(s.port);
    c.call(&["HELLO", "3"]);
    assert_eq!(c.call(&["CLIENT", "TRACKING", "ON"]), "+OK\r\n");
    c.call(&["GET", "user:1"]);
    let _: () = redis::cmd("SET").arg("user:1").arg("x").query(&mut writer).unwrap();
    assert_eq!(String::from_utf8_lossy(&c.read_reply()), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$6\r\nuser:1\r\n");

    // A RESP2 application redirects its invalidations to a connection subscribed to
    // __redis__:invalidate (how redis-py's and go-redis's RESP2 caches work).
    let mut sink = pubsub_conn(&s);
    let sink_id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut sink).unwrap();
    let mut sub = sink.as_pubsub();
    sub.subscribe("__redis__:invalidate").unwrap();
    let mut app = s.conn();
    let _: () = redis::cmd("CLIENT").arg("TRACKING").arg("ON").arg("REDIRECT").arg(sink_id).query(&mut app).unwrap();
    let _: Option<String> = redis::cmd("GET").arg("cfg").query(&mut app).unwrap();
    let _: () = redis::cmd("SET").arg("cfg").arg("1").query(&mut writer).unwrap();
    let m = sub.get_message().unwrap();
    assert_eq!(m.get_channel_name(), "__redis__:invalidate");
    assert_eq!(m.get_payload::<Vec<String>>().unwrap(), vec!["cfg".to_string()]);
    // FLUSHALL invalidates everything with a null.
    let _: () = redis::cmd("FLUSHALL").query(&mut writer).unwrap();
    let m = sub.get_message().unwrap();
    assert_eq!(m.get_payload::<Option<Vec<String>>>().unwrap(), None);
}

/// Where Python and the `valkey` package must be present (CI installs them).
fn python_with_valkey() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import valkey"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("KVASIR_REQUIRE_PEER").is_none(),
            "KVASIR_REQUIRE_PEER is set but python3 with the `valkey` package is missing (pip install valkey)"
        );
        eprintln!(
            "\n*** WARNING: python3 with the `valkey` package is not installed: the Python seed scenario \
             (tests/python/seed_camera_config.py) did NOT run. `pip install valkey` to run it. ***\n"
        );
    }
    ok
}

#[test]
fn python_seed_scenario_with_the_valkey_client() {
    if !python_with_valkey() {
        return;
    }
    let s = Server::start(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/seed_camera_config.py");
    let out = std::process::Command::new("python3").arg(script).arg(s.port.to_string()).output().unwrap();
    assert!(
        out.status.success(),
        "seed scenario failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
