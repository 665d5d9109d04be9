//! A raw RESP connection: sends an argument vector as a multibulk request and returns the
//! reply's exact bytes, framed with `resp::Value::parse`. Also the inverse direction
//! ([`encoded_like`]) for replies rewritten by a known difference, and a readable rendering of
//! commands and replies for failure reports.

use resp::value::ParseError;
use resp::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub struct Conn {
    label: &'static str,
    stream: TcpStream,
    /// Bytes read past the end of the last reply.
    pending: Vec<u8>,
}

impl Conn {
    pub fn open(label: &'static str, port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect to {label}: {e}"));
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn { label, stream, pending: Vec::new() }
    }

    /// Sends one command and returns its raw reply, or why there is none (connection closed,
    /// timeout, unparsable bytes).
    pub fn call(&mut self, argv: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        let mut wire = format!("*{}\r\n", argv.len()).into_bytes();
        for a in argv {
            wire.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            wire.extend_from_slice(a);
            wire.extend_from_slice(b"\r\n");
        }
        self.stream.write_all(&wire).map_err(|e| format!("{}: write failed: {e}", self.label))?;
        self.read_reply()
    }

    fn read_reply(&mut self) -> Result<Vec<u8>, String> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match Value::parse(&self.pending) {
                Ok((_, used)) => {
                    let rest = self.pending.split_off(used);
                    return Ok(std::mem::replace(&mut self.pending, rest));
                }
                Err(ParseError::Invalid) => {
                    return Err(format!("{}: unparsable reply bytes: {}", self.label, show_bytes(&self.pending)))
                }
                Err(ParseError::Incomplete) => {}
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(format!(
                        "{}: connection closed (partial reply: {})",
                        self.label,
                        show_bytes(&self.pending)
                    ))
                }
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("{}: read failed: {e}", self.label)),
            }
        }
    }
}

/// Encodes a value back into RESP (RESP3 types as themselves), writing every null as `null`
/// (`$-1`, `*-1` or `_`).
fn encode_with_null(v: &Value, out: &mut Vec<u8>, null: &[u8]) {
    fn blob(out: &mut Vec<u8>, tag: u8, b: &[u8]) {
        out.push(tag);
        out.extend_from_slice(b.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(b);
        out.extend_from_slice(b"\r\n");
    }
    fn line(out: &mut Vec<u8>, tag: u8, b: &[u8]) {
        out.push(tag);
        out.extend_from_slice(b);
        out.extend_from_slice(b"\r\n");
    }
    match v {
        Value::Simple(s) => line(out, b'+', s),
        Value::Error(s) => line(out, b'-', s),
        Value::Int(i) => line(out, b':', i.to_string().as_bytes()),
        Value::Bulk(b) => blob(out, b'$', b),
        // Which null the server used is lost in parsing: the caller says (see `encoded_like`).
        Value::Null => {
            out.extend_from_slice(null);
            out.extend_from_slice(b"\r\n");
        }
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            let tag = match v {
                Value::Array(_) => b'*',
                Value::Set(_) => b'~',
                _ => b'>',
            };
            line(out, tag, items.len().to_string().as_bytes());
            items.iter().for_each(|i| encode_with_null(i, out, null));
        }
        Value::Map(pairs) => {
            line(out, b'%', pairs.len().to_string().as_bytes());
            for (k, v) in pairs {
                encode_with_null(k, out, null);
                encode_with_null(v, out, null);
            }
        }
        Value::Double(d) => {
            let mut s = Vec::new();
            resp::number::push_double(&mut s, *d);
            line(out, b',', &s)
        }
        Value::Bool(b) => line(out, b'#', if *b { b"t" } else { b"f" }),
        Value::Verbatim(fmt, body) => {
            let mut b = fmt.clone();
            b.push(b':');
            b.extend_from_slice(body);
            blob(out, b'=', &b)
        }
        Value::BigNumber(n) => line(out, b'(', n),
        Value::Attribute(attrs, inner) => {
            line(out, b'|', attrs.len().to_string().as_bytes());
            for (k, v) in attrs {
                encode_with_null(k, out, null);
                encode_with_null(v, out, null);
            }
            encode_with_null(inner, out, null);
        }
    }
}

/// Encodes `v` writing its nulls the way the reply `like` wrote its first null (`_` in RESP3,
/// `$-1` or `*-1` in RESP2), for a rewritten reply that must stay in its protocol.
pub fn encoded_like(v: &Value, like: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_with_null(v, &mut out, first_null(like).unwrap_or(b"$-1"));
    out
}

/// The first null token of a raw reply, if any.
fn first_null(raw: &[u8]) -> Option<&'static [u8]> {
    /// Walks one value from `pos`; returns the position after it, or the null found.
    fn walk(raw: &[u8], pos: usize) -> Result<usize, Option<&'static [u8]>> {
        let line_end = |from: usize| raw[from..].windows(2).position(|w| w == b"\r\n").map(|i| from + i);
        let tag = *raw.get(pos).ok_or(None)?;
        let end = line_end(pos + 1).ok_or(None)?;
        let header = std::str::from_utf8(&raw[pos + 1..end]).map_err(|_| None)?;
        match tag {
            b'_' => Err(Some(b"_")),
            b'$' | b'=' | b'!' if header == "-1" => Err(Some(b"$-1")),
            b'*' if header == "-1" => Err(Some(b"*-1")),
            b'$' | b'=' | b'!' => Ok(end + 2 + header.parse::<usize>().map_err(|_| None)? + 2),
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let n: usize = header.parse().map_err(|_| None)?;
                let n = if matches!(tag, b'%' | b'|') { n * 2 } else { n };
                let mut at = end + 2;
                for _ in 0..n {
                    at = walk(raw, at)?;
                }
                // An attribute annotates the value after it.
                if tag == b'|' {
                    at = walk(raw, at)?;
                }
                Ok(at)
            }
            _ => Ok(end + 2),
        }
    }
    walk(raw, 0).err().flatten()
}

/// Bytes as a double-quoted string with C escapes, like `valkey-cli` prints them.
pub fn show_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() + 2);
    s.push('"');
    for &c in b {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

/// A command as one line that `valkey-cli` (or `redis-cli`) would accept back: each argument
/// bare when it is plain printable text, quoted with escapes otherwise.
pub fn show_command(argv: &[Vec<u8>]) -> String {
    argv.iter()
        .map(|a| {
            let plain =
                !a.is_empty() && a.iter().all(|&c| c.is_ascii_graphic() && c != b'"' && c != b'\'' && c != b'\\');
            if plain {
                String::from_utf8_lossy(a).into_owned()
            } else {
                show_bytes(a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A reply shortened for reports (long bulk strings would drown the message).
pub fn show_reply(raw: &[u8]) -> String {
    let s = show_bytes(raw);
    if s.len() > 300 {
        format!("{}...({} bytes)", &s[..300], raw.len())
    } else {
        s
    }
}
