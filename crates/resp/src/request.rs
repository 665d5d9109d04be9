//! Incremental parsing of client requests.
//!
//! A request is either a multibulk array (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`), which is what every
//! client library sends, or an inline command (`GET k\r\n`), which is what a human types into
//! telnet. The parser works on the connection's query buffer in place: arguments of a
//! multibulk request are byte ranges into that buffer (no copy); inline arguments need unescaping
//! and so are owned.
//!
//! The parser keeps its position between calls. When a request is only partly in the buffer it
//! answers [`Parsed::Incomplete`] and resumes from where it stopped on the next call, so big
//! pipelines and big arguments are scanned once. Limits and error texts are Valkey's
//! (`networking.c`): a client can make the server hold at most `proto-max-bulk-len` bytes per
//! argument, and header lines are bounded at 64 KiB.

use crate::number::parse_i64;
use std::ops::Range;

/// Longest inline request or header line accepted before a `\r\n` shows up (Valkey's
/// `PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX_SIZE: usize = 64 * 1024;
/// Largest multibulk count an unauthenticated client may announce.
pub const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// Largest bulk length an unauthenticated client may announce.
pub const UNAUTH_MAX_BULK: i64 = 16 * 1024;
/// Arguments reserved up front for a multibulk, however many are announced: a client that
/// claims two billion arguments and sends none costs us nothing.
const MAX_PREALLOC_ARGS: usize = 1024;

/// What a client is allowed to send.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `proto-max-bulk-len`: the longest single argument.
    pub proto_max_bulk_len: u64,
    /// The client has not authenticated yet while a password is required: Valkey then caps
    /// requests far lower so that an anonymous peer cannot make the server buffer much.
    pub auth_required: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { proto_max_bulk_len: 512 * 1024 * 1024, auth_required: false }
    }
}

/// A request that cannot be parsed. The server answers with [`ProtocolError::message`] and
/// closes the connection, as Valkey does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    TooBigInlineRequest,
    TooBigMultibulkCount,
    InvalidMultibulkLength,
    UnauthenticatedMultibulkLength,
    UnauthenticatedBulkLength,
    TooBigBulkCount,
    ExpectedDollar(u8),
    InvalidBulkLength,
    UnbalancedQuotes,
}

impl ProtocolError {
    /// The error reply text, without the leading `-` (Valkey's exact wording).
    pub fn message(&self) -> Vec<u8> {
        let text: &[u8] = match self {
            ProtocolError::TooBigInlineRequest => b"ERR Protocol error: too big inline request",
            ProtocolError::TooBigMultibulkCount => b"ERR Protocol error: too big mbulk count string",
            ProtocolError::InvalidMultibulkLength => b"ERR Protocol error: invalid multibulk length",
            ProtocolError::UnauthenticatedMultibulkLength => b"ERR Protocol error: unauthenticated multibulk length",
            ProtocolError::UnauthenticatedBulkLength => b"ERR Protocol error: unauthenticated bulk length",
            ProtocolError::TooBigBulkCount => b"ERR Protocol error: too big bulk count string",
            ProtocolError::ExpectedDollar(got) => {
                let mut m = b"ERR Protocol error: expected '$', got '".to_vec();
                m.push(*got);
                m.push(b'\'');
                return m;
            }
            ProtocolError::InvalidBulkLength => b"ERR Protocol error: invalid bulk length",
            ProtocolError::UnbalancedQuotes => b"ERR Protocol error: unbalanced quotes in request",
        };
        text.to_vec()
    }

    /// The short reason Valkey logs for this error.
    pub fn log_reason(&self) -> &'static str {
        match self {
            ProtocolError::TooBigInlineRequest => "too big inline request",
            ProtocolError::TooBigMultibulkCount => "too big mbulk count string",
            ProtocolError::InvalidMultibulkLength => "invalid mbulk count",
            ProtocolError::UnauthenticatedMultibulkLength => "unauth mbulk count",
            ProtocolError::UnauthenticatedBulkLength => "unauth bulk length",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::ExpectedDollar(_) => "expected $ but got something else",
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in inline request",
        }
    }
}

/// The outcome of one [`RequestParser::parse`] call.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole request is ready: read it with [`RequestParser::args`], then call
    /// [`RequestParser::finish`].
    Command,
    /// The buffer held something that is not a command (an empty line, `*0`, `*-1`): it was
    /// consumed and there is nothing to run. Call `parse` again.
    Empty,
    /// More bytes are needed.
    Incomplete,
    /// The request is malformed; the connection must be closed after the error reply.
    Error(ProtocolError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between requests.
    Idle,
    /// Inside a multibulk with this many arguments still to read.
    Multibulk { remaining: usize },
}

/// Incremental request parser; one per connection.
#[derive(Debug)]
pub struct RequestParser {
    /// Start of the request being parsed (everything before it may be discarded).
    start: usize,
    /// Next byte to look at.
    pos: usize,
    state: State,
    /// Length of the bulk argument whose header was read but whose payload has not all arrived.
    pending_bulk: Option<usize>,
    /// Multibulk arguments, as ranges of the query buffer.
    ranges: Vec<Range<usize>>,
    /// Inline arguments, unescaped.
    inline: Vec<Vec<u8>>,
    is_inline: bool,
}

impl Default for RequestParser {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestParser {
    pub fn new() -> Self {
        RequestParser {
            start: 0,
            pos: 0,
            state: State::Idle,
            pending_bulk: None,
            ranges: Vec::new(),
            inline: Vec::new(),
            is_inline: false,
        }
    }

    /// Parses the next request from `buf`, resuming where the previous call stopped. `buf` must
    /// be the same buffer as before, possibly with more bytes appended (see [`Self::rebase`]).
    pub fn parse(&mut self, buf: &[u8], limits: &Limits) -> Parsed {
        if self.state == State::Idle {
            if self.pos >= buf.len() {
                return Parsed::Incomplete;
            }
            if buf[self.pos] != b'*' {
                return self.parse_inline(buf);
            }
            match self.parse_multibulk_count(buf, limits) {
                Parsed::Command => {}
                other => return other,
            }
        }
        self.parse_bulks(buf, limits)
    }

    /// Number of arguments of the request just parsed.
    pub fn argc(&self) -> usize {
        if self.is_inline {
            self.inline.len()
        } else {
            self.ranges.len()
        }
    }

    /// Argument `i` of the request just parsed.
    #[inline]
    pub fn arg<'b>(&'b self, buf: &'b [u8], i: usize) -> &'b [u8] {
        if self.is_inline {
            &self.inline[i]
        } else {
            &buf[self.ranges[i].clone()]
        }
    }

    /// Fills `out` with the arguments of the request just parsed.
    pub fn args<'b>(&'b self, buf: &'b [u8], out: &mut Vec<&'b [u8]>) {
        out.clear();
        if self.is_inline {
            out.extend(self.inline.iter().map(|a| a.as_slice()));
        } else {
            out.extend(self.ranges.iter().map(|r| &buf[r.clone()]));
        }
    }

    /// Marks the request returned by the last `parse` as consumed.
    pub fn finish(&mut self) {
        self.start = self.pos;
        self.state = State::Idle;
        self.ranges.clear();
        self.inline.clear();
        self.is_inline = false;
    }

    /// Bytes at the front of the buffer that belong to finished requests and may be dropped.
    pub fn consumed(&self) -> usize {
        self.start
    }

    /// Tells the parser that the first `n` bytes of the buffer were dropped (`n` must not
    /// exceed [`Self::consumed`]).
    pub fn rebase(&mut self, n: usize) {
        debug_assert!(n <= self.start);
        self.start -= n;
        self.pos -= n;
        for r in &mut self.ranges {
            *r = r.start - n..r.end - n;
        }
    }

    /// When a bulk argument is being received, how many more bytes complete it (header parsed,
    /// payload partly here). Lets the connection size its next read for big arguments.
    pub fn bytes_needed_hint(&self, buf_len: usize) -> Option<usize> {
        self.pending_bulk.map(|len| (self.pos + len + 2).saturating_sub(buf_len))
    }

    /// Resets all state, e.g. after the connection's buffer was discarded.
    pub fn reset(&mut self) {
        *self = RequestParser::new();
    }

    fn parse_inline(&mut self, buf: &[u8]) -> Parsed {
        let rest = &buf[self.pos..];
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            if rest.len() > INLINE_MAX_SIZE {
                return Parsed::Error(ProtocolError::TooBigInlineRequest);
            }
            return Parsed::Incomplete;
        };
        let mut line = &rest[..nl];
        if let [head @ .., b'\r'] = line {
            line = head;
        }
        self.inline.clear();
        if split_inline_args(line, &mut self.inline).is_err() {
            return Parsed::Error(ProtocolError::UnbalancedQuotes);
        }
        self.pos += nl + 1;
        if self.inline.is_empty() {
            self.finish();
            return Parsed::Empty;
        }
        self.is_inline = true;
        Parsed::Command
    }

    fn parse_multibulk_count(&mut self, buf: &[u8], limits: &Limits) -> Parsed {
        let line = match header_line(buf, self.pos) {
            Ok(line) => line,
            Err(HeaderIncomplete::TooLong) => return Parsed::Error(ProtocolError::TooBigMultibulkCount),
            Err(HeaderIncomplete::NeedMore) => return Parsed::Incomplete,
        };
        let count = match parse_i64(&buf[self.pos + 1..line]) {
            Some(n) if n <= i64::from(i32::MAX) => n,
            _ => return Parsed::Error(ProtocolError::InvalidMultibulkLength),
        };
        if limits.auth_required && count > UNAUTH_MAX_MULTIBULK {
            return Parsed::Error(ProtocolError::UnauthenticatedMultibulkLength);
        }
        self.pos = line + 2;
        if count <= 0 {
            self.finish();
            return Parsed::Empty;
        }
        let count = count as usize;
        self.ranges.clear();
        self.ranges.reserve(count.min(MAX_PREALLOC_ARGS));
        self.state = State::Multibulk { remaining: count };
        Parsed::Command
    }

    fn parse_bulks(&mut self, buf: &[u8], limits: &Limits) -> Parsed {
        let State::Multibulk { mut remaining } = self.state else {
            unreachable!("parse_bulks outside a multibulk");
        };
        while remaining > 0 {
            let len = match self.pending_bulk {
                Some(len) => len,
                None => {
                    let line = match header_line(buf, self.pos) {
                        Ok(line) => line,
                        Err(HeaderIncomplete::TooLong) => return Parsed::Error(ProtocolError::TooBigBulkCount),
                        Err(HeaderIncomplete::NeedMore) => {
                            self.state = State::Multibulk { remaining };
                            return Parsed::Incomplete;
                        }
                    };
                    if buf[self.pos] != b'$' {
                        return Parsed::Error(ProtocolError::ExpectedDollar(buf[self.pos]));
                    }
                    let len = match parse_i64(&buf[self.pos + 1..line]) {
                        Some(n) if n >= 0 && n as u64 <= limits.proto_max_bulk_len => n,
                        _ => return Parsed::Error(ProtocolError::InvalidBulkLength),
                    };
                    if limits.auth_required && len > UNAUTH_MAX_BULK {
                        return Parsed::Error(ProtocolError::UnauthenticatedBulkLength);
                    }
                    self.pos = line + 2;
                    self.pending_bulk = Some(len as usize);
                    len as usize
                }
            };
            // Like Valkey, the two bytes after the payload are skipped without checking that
            // they are "\r\n".
            if buf.len() - self.pos < len + 2 {
                self.state = State::Multibulk { remaining };
                return Parsed::Incomplete;
            }
            self.ranges.push(self.pos..self.pos + len);
            self.pos += len + 2;
            self.pending_bulk = None;
            remaining -= 1;
        }
        self.state = State::Multibulk { remaining: 0 };
        Parsed::Command
    }
}

enum HeaderIncomplete {
    NeedMore,
    TooLong,
}

/// Finds the `\r` ending the header line that starts at `from`, requiring the `\n` after it to
/// be in the buffer too.
fn header_line(buf: &[u8], from: usize) -> Result<usize, HeaderIncomplete> {
    let rest = &buf[from..];
    match rest.iter().position(|&b| b == b'\r') {
        Some(cr) if cr + 1 < rest.len() => Ok(from + cr),
        Some(_) => Err(HeaderIncomplete::NeedMore),
        None if rest.len() > INLINE_MAX_SIZE => Err(HeaderIncomplete::TooLong),
        None => Err(HeaderIncomplete::NeedMore),
    }
}

/// A quoted argument that is not closed, or a closing quote followed by something other
/// than a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnbalancedQuotes;

/// Splits an inline command line into arguments the way `valkey-cli` and Valkey's inline
/// protocol do: whitespace-separated words, `"double quoted"` with C-like escapes (`\n`, `\r`,
/// `\t`, `\b`, `\a`, `\xHH`), `'single quoted'` where only `\'` is special. A closing quote must
/// be followed by whitespace or the end of the line.
pub fn split_inline_args(line: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), UnbalancedQuotes> {
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut i = 0;
    loop {
        while i < line.len() && is_c_space(line[i]) {
            i += 1;
        }
        if i >= line.len() || line[i] == 0 {
            return Ok(());
        }
        let mut current = Vec::new();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = at(i);
            if in_double {
                if c == b'\\' && at(i + 1) == b'x' && is_hex(at(i + 2)) && is_hex(at(i + 3)) {
                    current.push(hex_value(at(i + 2)) * 16 + hex_value(at(i + 3)));
                    i += 3;
                } else if c == b'\\' && i + 1 < line.len() {
                    i += 1;
                    current.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < line.len() && !is_c_space(line[i + 1]) {
                        return Err(UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else if i >= line.len() {
                    return Err(UnbalancedQuotes);
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(i + 1) == b'\'' {
                    i += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < line.len() && !is_c_space(line[i + 1]) {
                        return Err(UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else if i >= line.len() {
                    return Err(UnbalancedQuotes);
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => current.push(c),
                }
            }
            if i < line.len() {
                i += 1;
            }
        }
        out.push(current);
    }
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// Appends `argv` as a RESP multibulk request (`*<n>` then `$<len>` bulks): how commands go
/// to the AOF, to replicas and to a master.
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    out.push(b'*');
    crate::number::push_i64(out, argv.len() as i64);
    out.extend_from_slice(b"\r\n");
    for a in argv {
        let a = a.as_ref();
        out.push(b'$');
        crate::number::push_i64(out, a.len() as i64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses everything in `input` (fed whole), returning the commands or the first error.
    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut p = RequestParser::new();
        let limits = Limits::default();
        let mut cmds = Vec::new();
        loop {
            match p.parse(input, &limits) {
                Parsed::Command => {
                    let mut args = Vec::new();
                    p.args(input, &mut args);
                    cmds.push(args.iter().map(|a| a.to_vec()).collect());
                    p.finish();
                }
                Parsed::Empty => {}
                Parsed::Incomplete => return Ok(cmds),
                Parsed::Error(e) => return Err(e),
            }
        }
    }

    fn words(ws: &[&str]) -> Vec<Vec<u8>> {
        ws.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_and_inline_pipeline() {
        let cmds = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(cmds, vec![words(&["GET", "k"]), words(&["PING"]), words(&["PING"])]);
    }

    #[test]
    fn byte_by_byte_feeding_gives_the_same_commands() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\nset  'a b' \"c\\x41\\n\"\r\n";
        let mut p = RequestParser::new();
        let limits = Limits::default();
        let mut got = Vec::new();
        for end in 0..=input.len() {
            let buf = &input[..end];
            loop {
                match p.parse(buf, &limits) {
                    Parsed::Command => {
                        let mut args = Vec::new();
                        p.args(buf, &mut args);
                        got.push(args.iter().map(|a| a.to_vec()).collect::<Vec<_>>());
                        p.finish();
                    }
                    Parsed::Empty => {}
                    Parsed::Incomplete => break,
                    Parsed::Error(e) => panic!("{e:?}"),
                }
            }
        }
        assert_eq!(
            got,
            vec![
                vec![b"SET".to_vec(), b"key".to_vec(), b"va\r\nl".to_vec()],
                vec![b"set".to_vec(), b"a b".to_vec(), b"cA\n".to_vec()]
            ]
        );
    }

    #[test]
    fn rebase_keeps_a_partial_request_intact() {
        let mut buf = b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$3\r\nab".to_vec();
        let mut p = RequestParser::new();
        let limits = Limits::default();
        assert_eq!(p.parse(&buf, &limits), Parsed::Command);
        p.finish();
        assert_eq!(p.parse(&buf, &limits), Parsed::Incomplete);
        let n = p.consumed();
        assert_eq!(n, 14);
        buf.drain(..n);
        p.rebase(n);
        buf.extend_from_slice(b"c\r\n");
        assert_eq!(p.parse(&buf, &limits), Parsed::Command);
        let mut args = Vec::new();
        p.args(&buf, &mut args);
        assert_eq!(args, vec![&b"GET"[..], &b"abc"[..]]);
    }

    #[test]
    fn empty_and_negative_multibulk_are_ignored() {
        assert_eq!(parse_all(b"*0\r\n*-10\r\n\r\n").unwrap(), Vec::<Vec<Vec<u8>>>::new());
    }

    #[test]
    fn valkey_protocol_errors() {
        assert_eq!(parse_all(b"*3000000000\r\n"), Err(ProtocolError::InvalidMultibulkLength));
        assert_eq!(parse_all(b"*x\r\n"), Err(ProtocolError::InvalidMultibulkLength));
        assert_eq!(parse_all(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n"), Err(ProtocolError::ExpectedDollar(b'f')));
        assert_eq!(parse_all(b"*3\r\n$3\r\nSET\r\n$-10\r\n"), Err(ProtocolError::InvalidBulkLength));
        assert_eq!(parse_all(b"*3\r\n$3\r\nSET\r\n$2000000000\r\n"), Err(ProtocolError::InvalidBulkLength));
        assert_eq!(parse_all(b"*1\r\n$blabla\r\n"), Err(ProtocolError::InvalidBulkLength));
        assert_eq!(parse_all(b"set \"\"\"test-key\"\"\" test-value\r\n"), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(parse_all(b"get \"abc\r\n"), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(parse_all(b"get 'abc'x\r\n"), Err(ProtocolError::UnbalancedQuotes));
    }

    #[test]
    fn header_lines_are_bounded() {
        let mut big = vec![b'A'; INLINE_MAX_SIZE + 1];
        assert_eq!(parse_all(&big), Err(ProtocolError::TooBigInlineRequest));
        big[0] = b'*';
        assert_eq!(parse_all(&big), Err(ProtocolError::TooBigMultibulkCount));
        let mut bulk = b"*1\r\n$".to_vec();
        bulk.extend(std::iter::repeat_n(b'1', INLINE_MAX_SIZE + 1));
        assert_eq!(parse_all(&bulk), Err(ProtocolError::TooBigBulkCount));
        // Just under the limit and without a newline: still waiting, no error.
        assert_eq!(parse_all(&vec![b'A'; INLINE_MAX_SIZE]).unwrap().len(), 0);
    }

    #[test]
    fn limits_apply() {
        let mut p = RequestParser::new();
        let tight = Limits { proto_max_bulk_len: 4, auth_required: false };
        assert_eq!(p.parse(b"*1\r\n$5\r\nhello\r\n", &tight), Parsed::Error(ProtocolError::InvalidBulkLength));
        let unauth = Limits { auth_required: true, ..Limits::default() };
        let mut p = RequestParser::new();
        assert_eq!(p.parse(b"*11\r\n", &unauth), Parsed::Error(ProtocolError::UnauthenticatedMultibulkLength));
        let mut p = RequestParser::new();
        assert_eq!(p.parse(b"*1\r\n$16385\r\n", &unauth), Parsed::Error(ProtocolError::UnauthenticatedBulkLength));
    }

    #[test]
    fn big_bulk_hint() {
        let mut p = RequestParser::new();
        let buf = b"*1\r\n$100\r\nabc";
        assert_eq!(p.parse(buf, &Limits::default()), Parsed::Incomplete);
        assert_eq!(p.bytes_needed_hint(buf.len()), Some(99));
    }

    #[test]
    fn inline_splitting_matches_valkey() {
        let mut out = Vec::new();
        split_inline_args(b"  set \"a\\tb\" 'it\\'s' x\"y z\"  ", &mut out).unwrap();
        assert_eq!(out, words(&["set", "a\tb", "it's", "xy z"]));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(input: Vec<u8>) {
            let _ = parse_all(&input);
        }

        #[test]
        fn encoded_commands_roundtrip(cmds: Vec<Vec<Vec<u8>>>) {
            let cmds: Vec<Vec<Vec<u8>>> = cmds.into_iter().filter(|c| !c.is_empty()).collect();
            let mut wire = Vec::new();
            for c in &cmds {
                encode_command(&mut wire, c);
            }
            proptest::prop_assert_eq!(parse_all(&wire).unwrap(), cmds);
        }
    }
}
