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

#[test]
fn debug_protocol_replies_every_resp3_type() {
    let s = Server::start(&["--enable-debug-command", "yes"]);
    let mut raw = s.raw();
    // RESP2 first: the RESP3 types degrade.
    assert_eq!(raw.call(&["DEBUG", "PROTOCOL", "attrib"]), "$39\r\nSome real reply following the attribute\r\n");
    assert_eq!(raw.call(&["DEBUG", "PROTOCOL", "true"]), ":1\r\n");
    assert_eq!(raw.call(&["DEBUG", "PROTOCOL", "push"]), "-ERR RESP2 is not supported by this command\r\n");
    raw.call(&["HELLO", "3"]);
    for (kind, wire) in [
        ("string", "$11\r\nHello World\r\n"),
        ("integer", ":12345\r\n"),
        ("double", ",3.141\r\n"),
        ("bignum", "(1234567999999999999999999999999999999\r\n"),
        ("null", "_\r\n"),
        ("array", "*3\r\n:0\r\n:1\r\n:2\r\n"),
        ("set", "~3\r\n:0\r\n:1\r\n:2\r\n"),
        ("map", "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"),
        ("true", "#t\r\n"),
        ("false", "#f\r\n"),
        ("verbatim", "=29\r\ntxt:This is a verbatim\nstring\r\n"),
    ] {
        assert_eq!(raw.call(&["DEBUG", "PROTOCOL", kind]), wire, "{kind}");
    }
    // An attribute precedes the reply it annotates; a push comes before the real reply.
    assert_eq!(
        raw.call(&["DEBUG", "PROTOCOL", "attrib"]),
        "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n\
         $39\r\nSome real reply following the attribute\r\n"
    );
    raw.cmd(&[b"DEBUG", b"PROTOCOL", b"push"]);
    assert_eq!(raw.read_reply(), b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n");
    assert_eq!(raw.read_reply(), b"$40\r\nSome real reply following the push reply\r\n");
}
