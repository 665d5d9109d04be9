//! Server commands and connection management over the wire: INFO, CONFIG, CLIENT LIST / KILL /
//! PAUSE, SHUTDOWN, and the connection limits (maxclients, timeout, query buffer).

use crate::harness::{Raw, Server};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// INFO text → section name → (field → value), keeping the order of sections.
fn parse_info(text: &str) -> Vec<(String, HashMap<String, String>)> {
    let mut sections: Vec<(String, HashMap<String, String>)> = Vec::new();
    for line in text.split("\r\n") {
        if let Some(title) = line.strip_prefix("# ") {
            sections.push((title.to_string(), HashMap::new()));
        } else if !line.is_empty() {
            let (k, v) = line.split_once(':').unwrap_or_else(|| panic!("malformed INFO line {line:?}"));
            let (_, fields) = sections.last_mut().expect("field before any section");
            assert!(fields.insert(k.to_string(), v.to_string()).is_none(), "duplicate field {k}");
        }
    }
    sections
}

fn info(c: &mut redis::Connection, args: &[&str]) -> Vec<(String, HashMap<String, String>)> {
    let text: String = redis::cmd("INFO").arg(args).query(c).unwrap();
    parse_info(&text)
}

fn section<'a>(info: &'a [(String, HashMap<String, String>)], name: &str) -> &'a HashMap<String, String> {
    &info.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no section {name}")).1
}

fn wait_exit(s: &mut Server) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = s.try_wait() {
            return status;
        }
        assert!(Instant::now() < deadline, "server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn info_sections_fields_and_values() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = redis::cmd("SET").arg("a").arg("1").query(&mut c).unwrap();
    let _: () = redis::cmd("SET").arg("b").arg("2").query(&mut c).unwrap();
    let _: Option<String> = redis::cmd("GET").arg("nope").query(&mut c).unwrap();
    let _ = redis::cmd("NOSUCHCOMMAND").query::<()>(&mut c);

    let all = info(&mut c, &["everything"]);
    let titles: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Server",
            "Clients",
            "Memory",
            "Persistence",
            "Stats",
            "Replication",
            "CPU",
            "Modules",
            "Commandstats",
            "Errorstats",
            "Cluster",
            "Keyspace"
        ]
    );
    let server = section(&all, "Server");
    assert_eq!(server["redis_version"], "7.2.4");
    assert_eq!(server["server_name"], "valkey");
    assert_eq!(server["valkey_version"], "8.0.1");
    assert_eq!(server["tcp_port"], s.port.to_string());
    assert_eq!(server["process_id"], s.pid().to_string());
    assert!(server["executable"].ends_with("kvasir-server"), "{}", server["executable"]);
    assert_eq!(server["listener0"], format!("name=tcp,bind=127.0.0.1,bind=-::1,port={}", s.port));
    let clients = section(&all, "Clients");
    assert_eq!(clients["connected_clients"], "1");
    assert_eq!(clients["maxclients"], "10000");
    let memory = section(&all, "Memory");
    let used: u64 = memory["used_memory"].parse().unwrap();
    let peak: u64 = memory["used_memory_peak"].parse().unwrap();
    assert!(used > 0 && peak >= used, "used {used} peak {peak}");
    assert!(memory["mem_allocator"].starts_with("jemalloc-"));
    let persistence = section(&all, "Persistence");
    assert_eq!(persistence["aof_enabled"], "0");
    assert_eq!(persistence["rdb_changes_since_last_save"], "2");
    let stats = section(&all, "Stats");
    assert_eq!(stats["keyspace_misses"], "1");
    assert_eq!(stats["total_error_replies"], "1");
    let processed: u64 = stats["total_commands_processed"].parse().unwrap();
    assert!(processed >= 3, "{processed}");
    assert_eq!(section(&all, "Replication")["role"], "master");
    assert!(section(&all, "CPU")["used_cpu_user"].contains('.'));
    assert!(section(&all, "Commandstats")["cmdstat_set"].starts_with("calls=2,usec="));
    assert_eq!(section(&all, "Errorstats")["errorstat_ERR"], "count=1");
    assert_eq!(section(&all, "Cluster")["cluster_enabled"], "0");
    assert_eq!(section(&all, "Keyspace")["db0"], "keys=2,expires=0,avg_ttl=0");

    // The default set has no commandstats; single and repeated sections; case-insensitive.
    let default = info(&mut c, &[]);
    assert!(default.iter().all(|(n, _)| n != "Commandstats"));
    assert_eq!(default.len(), all.len() - 1);
    let some = info(&mut c, &["CPU", "keyspace", "cpu"]);
    assert_eq!(some.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["CPU", "Keyspace"]);
    assert!(info(&mut c, &["nosuchsection"]).is_empty());
}

#[test]
fn info_over_resp3_is_a_verbatim_string() {
    let s = Server::start(&[]);
    let mut raw = s.raw();
    raw.call(&["HELLO", "3"]);
    let reply = raw.call(&["INFO", "cluster"]);
    assert_eq!(reply, "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n");
}

#[test]
fn config_set_get_round_trips_with_units() {
    let s = Server::start(&[]);
    let mut raw = s.raw();
    for (name, set, get) in [
        ("maxmemory", "100mb", "104857600"),
        ("maxmemory", "1gb", "1073741824"),
        ("maxmemory", "2k", "2000"),
        ("client-query-buffer-limit", "2MB", "2097152"),
        ("maxmemory-clients", "10%", "10%"),
        ("save", "100 10 60 1000", "100 10 60 1000"),
        ("appendfsync", "ALWAYS", "always"),
        ("hz", "20", "20"),
    ] {
        assert_eq!(raw.call(&["CONFIG", "SET", name, set]), "+OK\r\n", "{name} {set}");
        assert_eq!(
            raw.call(&["CONFIG", "GET", name]),
            format!("*2\r\n${}\r\n{name}\r\n${}\r\n{get}\r\n", name.len(), get.len())
        );
    }
    assert_eq!(
        raw.call(&["CONFIG", "SET", "maxmemory", "10xb"]),
        "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n"
    );
    assert_eq!(
        raw.call(&["CONFIG", "SET", "maxmemory"]),
        "-ERR wrong number of arguments for 'config|set' command\r\n"
    );
    assert_eq!(raw.call(&["CONFIG", "SET", "a", "b", "c"]), "-ERR syntax error\r\n");
    assert_eq!(
        raw.call(&["CONFIG", "SET", "hz", "5", "nosuch", "1"]),
        "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"
    );
    // Nothing was applied from the failed call.
    assert_eq!(raw.call(&["CONFIG", "GET", "hz"]), "*2\r\n$2\r\nhz\r\n$2\r\n20\r\n");
    // INFO reflects the change.
    let reply = raw.call(&["INFO", "server"]);
    assert!(reply.contains("\r\nhz:20\r\nconfigured_hz:20\r\n"), "{reply}");
}

#[test]
fn config_set_port_moves_the_listener_and_rolls_back_on_failure() {
    let s = Server::start(&[]);
    let mut raw = s.raw();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    assert_eq!(
        raw.call(&["CONFIG", "SET", "maxmemory", "10000001", "port", &busy_port]),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n"
    );
    assert_eq!(raw.call(&["CONFIG", "GET", "maxmemory"]), "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n");
    // The old port still accepts.
    assert_eq!(s.raw().call(&["PING"]), "+PONG\r\n");

    let new_port = crate::harness::free_port();
    assert_eq!(raw.call(&["CONFIG", "SET", "port", &new_port.to_string()]), "+OK\r\n");
    let mut moved = Raw::connect(new_port);
    assert_eq!(moved.call(&["PING"]), "+PONG\r\n");
    assert!(moved.call(&["INFO", "server"]).contains(&format!("tcp_port:{new_port}\r\n")));
    assert!(std::net::TcpStream::connect(("127.0.0.1", s.port)).is_err(), "old port still listening");
    // Existing connections are not affected.
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
    assert_eq!(raw.call(&["CONFIG", "SET", "port", &s.port.to_string()]), "+OK\r\n");
}

#[test]
fn config_rewrite_keeps_comments_and_writes_changes() {
    let s = Server::start_with(Some("# My server\n\n# memory\nmaxmemory 1mb\n# keep me\nhz 15\n"), &[]);
    let mut raw = s.raw();
    assert_eq!(raw.call(&["CONFIG", "SET", "maxmemory", "2mb"]), "+OK\r\n");
    assert_eq!(raw.call(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]), "+OK\r\n");
    assert_eq!(raw.call(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let text = std::fs::read_to_string(s.dir.join("kvasir.conf")).unwrap();
    assert!(text.starts_with("# My server\n\n# memory\nmaxmemory 2097152\n# keep me\nhz 15\n"), "{text}");
    assert!(text.contains("maxmemory-policy allkeys-lru"), "{text}");
    // The rewritten file loads.
    let again = Server::start_with(Some(&text), &[]);
    assert_eq!(
        again.raw().call(&["CONFIG", "GET", "maxmemory-policy"]),
        "*2\r\n$16\r\nmaxmemory-policy\r\n$11\r\nallkeys-lru\r\n"
    );
    let started_without_file = Server::start(&[]);
    assert_eq!(
        started_without_file.raw().call(&["CONFIG", "REWRITE"]),
        "-ERR The server is running without a config file\r\n"
    );
}

#[test]
fn config_resetstat_clears_statistics() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: Option<String> = redis::cmd("GET").arg("x").query(&mut c).unwrap();
    let _ = redis::cmd("NOPE").query::<()>(&mut c);
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut c).unwrap();
    let after = info(&mut c, &["stats", "commandstats", "errorstats"]);
    assert_eq!(section(&after, "Stats")["keyspace_misses"], "0");
    assert_eq!(section(&after, "Stats")["total_error_replies"], "0");
    assert!(section(&after, "Errorstats").is_empty());
    // Only the commands since the reset: CONFIG RESETSTAT itself.
    let cmds = section(&after, "Commandstats");
    assert_eq!(cmds.keys().collect::<Vec<_>>(), ["cmdstat_config|resetstat"]);
}

fn client_line<'a>(list: &'a str, name: &str) -> &'a str {
    list.lines().find(|l| l.contains(&format!(" name={name} "))).unwrap_or_else(|| panic!("{name} not in {list}"))
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ').find_map(|kv| kv.strip_prefix(&format!("{key}="))).unwrap_or_else(|| panic!("{key} in {line}"))
}

#[test]
fn client_list_and_kill_across_connections() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    let mut admin = s.conn();
    assert_eq!(a.call(&["CLIENT", "SETNAME", "alpha"]), "+OK\r\n");
    assert_eq!(b.call(&["CLIENT", "SETNAME", "beta"]), "+OK\r\n");
    assert_eq!(b.call(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(a.call(&["CLIENT", "SETINFO", "LIB-NAME", "kvtest"]), "+OK\r\n");
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut admin).unwrap();
    assert_eq!(list.lines().count(), 3, "{list}");
    let alpha = client_line(&list, "alpha");
    let beta = client_line(&list, "beta");
    assert_eq!(field(alpha, "cmd"), "client|setinfo");
    assert_eq!(field(alpha, "lib-name"), "kvtest");
    assert_eq!(field(beta, "db"), "5");
    assert_eq!(field(beta, "cmd"), "select");
    assert_eq!(field(beta, "flags"), "N");
    let names: Vec<&str> = alpha.split(' ').map(|kv| kv.split('=').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "id",
            "addr",
            "laddr",
            "fd",
            "name",
            "age",
            "idle",
            "flags",
            "db",
            "sub",
            "psub",
            "ssub",
            "multi",
            "watch",
            "qbuf",
            "qbuf-free",
            "argv-mem",
            "multi-mem",
            "rbs",
            "rbp",
            "obl",
            "oll",
            "omem",
            "tot-mem",
            "events",
            "cmd",
            "user",
            "redir",
            "resp",
            "lib-name",
            "lib-ver",
            "tot-net-in",
            "tot-net-out",
            "tot-cmds"
        ]
    );
    assert_eq!(field(alpha, "tot-cmds"), "2");

    let beta_id = field(beta, "id").to_string();
    let by_id: String =
        redis::cmd("CLIENT").arg("LIST").arg("ID").arg(&beta_id).arg("999999").query(&mut admin).unwrap();
    assert_eq!(by_id.lines().count(), 1);
    assert!(by_id.contains("name=beta"));

    // New form counts; the killed connection is closed at once.
    let killed: i64 = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(&beta_id).query(&mut admin).unwrap();
    assert_eq!(killed, 1);
    assert_eq!(b.read_to_close(), b"");
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut admin).unwrap();
    assert!(!list.contains("name=beta"), "{list}");

    // Old form by address.
    let addr = field(client_line(&list, "alpha"), "addr").to_string();
    let ok: String = redis::cmd("CLIENT").arg("KILL").arg(&addr).query(&mut admin).unwrap();
    assert_eq!(ok, "OK");
    assert_eq!(a.read_to_close(), b"");
    let err = redis::cmd("CLIENT").arg("KILL").arg(&addr).query::<String>(&mut admin).unwrap_err();
    assert_eq!(err.to_string(), "An error was signalled by the server - ResponseError: No such client");

    // SKIPME no kills the caller too, after its reply.
    let mut me = s.raw();
    let reply = me.call(&["CLIENT", "KILL", "SKIPME", "no"]);
    assert_eq!(reply, ":2\r\n");
    assert_eq!(me.read_to_close(), b"");
}

#[test]
fn client_pause_write_delays_writes_but_not_reads() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let mut writer = s.raw();
    let mut reader = s.raw();
    assert_eq!(writer.call(&["SET", "k", "before"]), "+OK\r\n");
    assert_eq!(admin.call(&["CLIENT", "PAUSE", "600", "WRITE"]), "+OK\r\n");
    let started = Instant::now();
    writer.cmd(&[b"SET", b"k", b"after"]);
    // Reads proceed during the pause and see the old value.
    assert_eq!(reader.call(&["GET", "k"]), "$6\r\nbefore\r\n");
    assert!(started.elapsed() < Duration::from_millis(400), "GET waited {:?}", started.elapsed());
    // The held writer counts as blocked.
    let mut blocked = false;
    while !blocked && started.elapsed() < Duration::from_millis(400) {
        blocked = reader.call(&["INFO", "clients"]).contains("\r\nblocked_clients:1\r\n");
    }
    assert!(blocked, "the paused writer is not reported as blocked");
    let list = reader.call(&["CLIENT", "LIST"]);
    assert!(list.contains(" flags=b ") && list.contains(" cmd=set "), "{list}");
    assert_eq!(writer.read_reply(), b"+OK\r\n");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(450), "SET ran after {waited:?}");
    assert_eq!(reader.call(&["GET", "k"]), "$5\r\nafter\r\n");

    // UNPAUSE releases waiting writers at once.
    assert_eq!(admin.call(&["CLIENT", "PAUSE", "10000", "WRITE"]), "+OK\r\n");
    let started = Instant::now();
    writer.cmd(&[b"SET", b"k", b"again"]);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(admin.call(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    assert_eq!(writer.read_reply(), b"+OK\r\n");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(admin.call(&["CLIENT", "PAUSE", "10", "NOW"]), "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n");
}

#[test]
fn shutdown_ends_the_process_and_removes_the_pidfile() {
    let dir = std::env::temp_dir().join(format!("kvasir-shutdown-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pidfile = dir.join("kvasir.pid");
    // A file in a directory that does not exist: every save fails.
    let mut s = Server::start(&["--pidfile", pidfile.to_str().unwrap(), "--dbfilename", "missing/dump.rdb"]);
    assert_eq!(std::fs::read_to_string(&pidfile).unwrap().trim(), s.pid().to_string());
    let mut raw = s.raw();
    // With save points configured, the final save is required and cannot be made.
    assert_eq!(raw.call(&["SHUTDOWN"]), "-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    assert_eq!(raw.call(&["SHUTDOWN", "ABORT"]), "-ERR No shutdown in progress.\r\n");
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
    let mut other = s.raw();
    raw.cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    // No reply: the server closes every connection and exits.
    assert_eq!(raw.read_to_close(), b"");
    assert_eq!(other.read_to_close(), b"");
    assert!(wait_exit(&mut s).success());
    assert!(!pidfile.exists(), "pid file left behind");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_without_save_points_and_force() {
    let mut s = Server::start(&["--save", ""]);
    s.raw().cmd(&[b"SHUTDOWN"]);
    assert!(wait_exit(&mut s).success());
    let mut s = Server::start(&[]);
    s.raw().cmd(&[b"SHUTDOWN", b"SAVE", b"FORCE"]);
    assert!(wait_exit(&mut s).success());
}

#[test]
fn maxclients_rejects_the_connection_over_the_limit() {
    let s = Server::start(&["--maxclients", "2"]);
    // Let the readiness probe's connection go.
    std::thread::sleep(Duration::from_millis(200));
    let mut one = s.raw();
    let mut two = s.raw();
    assert_eq!(one.call(&["PING"]), "+PONG\r\n");
    assert_eq!(two.call(&["PING"]), "+PONG\r\n");
    let mut three = s.raw();
    assert_eq!(three.read_to_close(), b"-ERR max number of clients reached\r\n");
    let stats = one.call(&["INFO", "stats"]);
    assert!(stats.contains("\r\nrejected_connections:1\r\n"), "{stats}");
    drop(two);
    // Room again once a client leaves.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = s.raw();
        again.cmd(&[b"PING"]);
        if again.read_reply() == b"+PONG\r\n" {
            break;
        }
        assert!(Instant::now() < deadline, "slot not freed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn timeout_closes_idle_clients() {
    let s = Server::start(&["--timeout", "1"]);
    let mut idle = s.raw();
    assert_eq!(idle.call(&["PING"]), "+PONG\r\n");
    let started = Instant::now();
    assert_eq!(idle.read_to_close(), b"");
    let after = started.elapsed();
    assert!(after >= Duration::from_millis(900) && after < Duration::from_secs(4), "{after:?}");
}

#[test]
fn query_buffer_limit_disconnects() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    assert_eq!(admin.call(&["CONFIG", "SET", "client-query-buffer-limit", "1mb"]), "+OK\r\n");
    let mut big = s.raw();
    // A bulk argument announced at 3 MiB (allowed by proto-max-bulk-len), sent in part.
    big.send(b"*2\r\n$3\r\nSET\r\n$3145728\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < 2 * 1024 * 1024 {
        use std::io::Write;
        if big.stream.write_all(&chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    assert_eq!(big.read_to_close(), b"");
    let stats = admin.call(&["INFO", "stats"]);
    assert!(stats.contains("\r\nclient_query_buffer_limit_disconnections:1\r\n"), "{stats}");
}

#[test]
fn swapdb_and_time() {
    let s = Server::start(&[]);
    let mut raw = s.raw();
    assert_eq!(raw.call(&["SET", "k", "zero"]), "+OK\r\n");
    assert_eq!(raw.call(&["SWAPDB", "0", "1"]), "+OK\r\n");
    assert_eq!(raw.call(&["GET", "k"]), "$-1\r\n");
    assert_eq!(raw.call(&["SELECT", "1"]), "+OK\r\n");
    assert_eq!(raw.call(&["GET", "k"]), "$4\r\nzero\r\n");
    assert_eq!(raw.call(&["SWAPDB", "0", "100"]), "-ERR DB index is out of range\r\n");
    let mut c = s.conn();
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query(&mut c).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(secs.abs_diff(now) <= 2 && micros < 1_000_000);
}

#[test]
fn debug_is_refused_unless_enabled() {
    let s = Server::start(&[]);
    let reply = s.raw().call(&["DEBUG", "SLEEP", "0"]);
    assert!(reply.starts_with("-ERR DEBUG command not allowed."), "{reply}");
    let s = Server::start(&["--enable-debug-command", "local"]);
    let mut raw = s.raw();
    assert_eq!(raw.call(&["DEBUG", "SLEEP", "0"]), "+OK\r\n");
    assert_eq!(raw.call(&["DEBUG", "POPULATE", "100"]), "+OK\r\n");
    assert_eq!(raw.call(&["DBSIZE"]), ":100\r\n");
    assert_eq!(raw.call(&["DEBUG", "LOG", "hello from the test"]), "+OK\r\n");
}

#[test]
fn idle_clients_hold_no_query_buffer() {
    let s = Server::start(&[]);
    let mut idle = s.raw();
    assert_eq!(idle.call(&["CLIENT", "SETNAME", "idle"]), "+OK\r\n");
    let mut admin = s.raw();
    let line = |admin: &mut Raw| {
        let list = admin.call(&["CLIENT", "LIST"]);
        client_line(&list, "idle").to_string()
    };
    let l = line(&mut admin);
    assert_eq!((field(&l, "qbuf"), field(&l, "qbuf-free")), ("0", "0"), "{l}");
    // Half a command: the connection keeps a buffer for the rest.
    idle.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk");
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let l = line(&mut admin);
        if field(&l, "qbuf") != "0" {
            assert_eq!(field(&l, "qbuf"), "18", "{l}");
            break;
        }
        assert!(Instant::now() < deadline, "partial command not buffered: {l}");
        std::thread::sleep(Duration::from_millis(10));
    }
    idle.send(b"\r\n$1\r\nv\r\n");
    assert_eq!(idle.read_reply(), b"+OK\r\n");
    let l = line(&mut admin);
    assert_eq!(field(&l, "qbuf"), "0", "{l}");
}
