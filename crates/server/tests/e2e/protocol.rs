//! The wire protocol: malformed requests get Valkey's error and the connection is closed;
//! inline commands work; empty requests are ignored.

use crate::harness::Server;

#[test]
fn protocol_errors_reply_then_close() {
    let s = Server::start(&[]);
    for (input, expected) in [
        (&b"*3000000000\r\n"[..], &b"-ERR Protocol error: invalid multibulk length\r\n"[..]),
        (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", b"-ERR Protocol error: expected '$', got 'f'\r\n"),
        (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"set \"\"\"test-key\"\"\" test-value\r\nping\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    ] {
        let mut raw = s.raw();
        raw.send(input);
        assert_eq!(raw.read_to_close(), expected, "for {:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn empty_and_negative_requests_are_ignored() {
    let s = Server::start(&[]);
    let mut raw = s.raw();
    raw.send(b"\r\n*-10\r\n*0\r\n");
    assert_eq!(raw.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn inline_commands() {
    let s = Server::start(&[]);
    let mut raw = s.raw();
    raw.send(b"SET k \"a b\"\r\nGET k\r\n");
    assert_eq!(raw.read_reply(), b"+OK\r\n");
    assert_eq!(raw.read_reply(), b"$3\r\na b\r\n");
}

#[test]
fn unauthenticated_clients_get_tight_limits() {
    let s = Server::start(&["--requirepass", "pw"]);
    let mut raw = s.raw();
    raw.send(b"*100\r\n");
    assert_eq!(raw.read_to_close(), b"-ERR Protocol error: unauthenticated multibulk length\r\n");
    let mut raw = s.raw();
    raw.send(b"*1\r\n$100000\r\n");
    assert_eq!(raw.read_to_close(), b"-ERR Protocol error: unauthenticated bulk length\r\n");
}
