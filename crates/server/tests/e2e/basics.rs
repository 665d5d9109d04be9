//! Startup, the command line, and the connection basics a client relies on first.

use crate::harness::Server;

#[test]
fn ping_set_get_through_the_redis_crate() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    let _: () = redis::cmd("SET").arg("camera_config").arg("my new config").query(&mut c).unwrap();
    let v: String = redis::cmd("GET").arg("camera_config").query(&mut c).unwrap();
    assert_eq!(v, "my new config");
}

#[test]
fn requirepass_from_the_command_line() {
    let s = Server::start(&["--requirepass", "secret"]);
    let mut raw = s.raw();
    assert_eq!(raw.call(&["GET", "x"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(raw.call(&["AUTH", "wrong"]), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    assert_eq!(raw.call(&["AUTH", "secret"]), "+OK\r\n");
    assert_eq!(raw.call(&["GET", "x"]), "$-1\r\n");
    let client = redis::Client::open(format!("redis://:secret@127.0.0.1:{}/", s.port)).unwrap();
    let mut c = client.get_connection().unwrap();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn config_file_and_overrides() {
    let s = Server::start_with(Some("# test config\nmaxclients 123\nhz 20\n"), &["--hz", "30"]);
    let mut raw = s.raw();
    assert_eq!(raw.call(&["CONFIG", "GET", "maxclients"]), "*2\r\n$10\r\nmaxclients\r\n$3\r\n123\r\n");
    assert_eq!(raw.call(&["CONFIG", "GET", "hz"]), "*2\r\n$2\r\nhz\r\n$2\r\n30\r\n");
}

#[test]
fn unknown_directive_is_fatal_and_names_the_line() {
    let dir = std::env::temp_dir().join(format!("kvasir-badconf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("bad.conf");
    std::fs::write(&conf, "port 7000\nnot-a-directive 1\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kvasir-server")).arg(&conf).output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("*** FATAL CONFIG FILE ERROR"), "{err}");
    assert!(err.contains("at line 2"), "{err}");
    assert!(err.contains(">>> 'not-a-directive 1'"), "{err}");
}

#[test]
fn version_and_help() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kvasir-server")).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Kvasir server v="));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kvasir-server")).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage: ./kvasir-server"));
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let mut s = Server::start(&[]);
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(s.pid() as i32, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if let Some(status) = s.try_wait() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "server did not exit on SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn pipelining_thousands_of_commands_in_one_write() {
    let s = Server::start(&[]);
    let mut raw = s.raw();
    let mut wire = Vec::new();
    for i in 0..5000 {
        let k = format!("k{i}");
        wire.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n$1\r\nv\r\n", k.len(), k).as_bytes());
    }
    raw.send(&wire);
    let mut got = 0;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    while got < 5000 * 5 {
        use std::io::Read;
        let n = raw.stream.read(&mut chunk).unwrap();
        assert!(n > 0);
        buf.extend_from_slice(&chunk[..n]);
        got = buf.len();
    }
    assert_eq!(buf, b"+OK\r\n".repeat(5000));
    assert_eq!(raw.call(&["DBSIZE"]), ":5000\r\n");
}
