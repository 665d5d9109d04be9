//! The reply encoder that every command writes into.
//!
//! One [`Reply`] belongs to one connection and is its output buffer: commands append frames,
//! the connection writes the bytes out in one syscall per batch. The encoder knows the
//! protocol version the client chose with `HELLO` and maps RESP3 types down to RESP2 the way
//! Valkey does (maps become flat arrays, doubles become bulk strings, booleans become integers,
//! the RESP3 null becomes `$-1` or `*-1` depending on what the RESP2 reply would have been).
//!
//! Error replies are also recorded (their code, the first word) so that the dispatcher can
//! keep Valkey's `errorstats` and `failed_calls` without re-parsing the output.

use crate::number::{push_double, push_i64};

/// Aggregate kinds whose length can be written after their elements ([`Reply::deferred`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    Array,
    Map,
    Set,
    Push,
}

/// A placeholder for an aggregate header whose length is not known yet.
#[must_use = "a deferred length must be filled with Reply::fill_deferred"]
#[derive(Debug)]
pub struct DeferredLen {
    pos: usize,
    kind: Aggregate,
}

/// An output buffer that speaks RESP2 or RESP3.
#[derive(Debug, Default)]
pub struct Reply {
    buf: Vec<u8>,
    resp3: bool,
    /// Codes (first word, e.g. `ERR`, `WRONGTYPE`) of the error replies written since the last
    /// [`Reply::take_errors`].
    errors: Vec<String>,
}

impl Reply {
    pub fn new(resp3: bool) -> Self {
        Reply { buf: Vec::with_capacity(16 * 1024), resp3, errors: Vec::new() }
    }

    pub fn is_resp3(&self) -> bool {
        self.resp3
    }

    pub fn set_resp3(&mut self, resp3: bool) {
        self.resp3 = resp3;
    }

    /// The encoded bytes not yet sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes the buffer can hold without growing (CLIENT LIST `rbs`).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Drops the first `n` bytes (they were written to the socket).
    pub fn consume(&mut self, n: usize) {
        if n >= self.buf.len() {
            self.buf.clear();
        } else {
            self.buf.drain(..n);
        }
    }

    /// Discards everything written from byte `len` on (used to roll back a reply).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// Gives back memory after a huge reply was sent, keeping a working buffer.
    pub fn shrink_if_idle(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > 64 * 1024 {
            self.buf = Vec::with_capacity(16 * 1024);
        }
    }

    /// Marks the reply as an error already counted in the error statistics (a script
    /// failing with the error of a command it called): the command failed, but no error
    /// code is recorded again. Shows in the error codes as an empty code.
    pub fn failed_already_counted(&mut self) {
        self.errors.push(String::new());
    }

    /// Error codes written since the last call, oldest first (empty: see
    /// [`Reply::failed_already_counted`]).
    pub fn take_errors(&mut self) -> Vec<String> {
        std::mem::take(&mut self.errors)
    }

    /// Removes and returns the error codes recorded after the first `from` (a nested
    /// command's own errors, which its caller accounts for separately).
    pub fn drain_errors_from(&mut self, from: usize) -> Vec<String> {
        if from >= self.errors.len() {
            return Vec::new();
        }
        self.errors.split_off(from)
    }

    pub fn error_count(&self) -> usize {
        self.errors.len()
    }

    /// Raw protocol bytes, already encoded (e.g. a reply relayed from elsewhere).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// `+text`. `text` must not contain `\r` or `\n`.
    pub fn simple(&mut self, text: &str) {
        self.simple_bytes(text.as_bytes());
    }

    pub fn simple_bytes(&mut self, text: &[u8]) {
        debug_assert!(!text.contains(&b'\r') && !text.contains(&b'\n'));
        self.buf.push(b'+');
        self.buf.extend_from_slice(text);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// An error reply with its code: `error("WRONGTYPE Operation against ...")`. Newlines in
    /// the text become spaces, as in Valkey, so a reply can never break the framing.
    pub fn error(&mut self, text: &str) {
        self.error_bytes(text.as_bytes());
    }

    pub fn error_bytes(&mut self, text: &[u8]) {
        let text = text.strip_prefix(b"-").unwrap_or(text);
        self.buf.push(b'-');
        let start = self.buf.len();
        self.buf.extend(text.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        self.buf.extend_from_slice(b"\r\n");
        let code_end = text.iter().position(|&b| b == b' ').unwrap_or(text.len());
        let code = String::from_utf8_lossy(&self.buf[start..start + code_end]).into_owned();
        self.errors.push(code);
    }

    /// `-ERR text`: the generic error code.
    pub fn err(&mut self, text: &str) {
        let mut full = String::with_capacity(text.len() + 4);
        full.push_str("ERR ");
        full.push_str(text);
        self.error(&full);
    }

    pub fn int(&mut self, v: i64) {
        self.buf.push(b':');
        push_i64(&mut self.buf, v);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len());
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of `v` (what GET returns for an integer).
    pub fn bulk_i64(&mut self, v: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(v).as_bytes());
    }

    /// The null that stands for a missing string: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null that stands for a missing aggregate: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, len: usize) {
        self.header(b'*', len);
    }

    /// A map of `len` pairs; a flat array of `2 * len` elements in RESP2.
    pub fn map(&mut self, len: usize) {
        if self.resp3 {
            self.header(b'%', len);
        } else {
            self.header(b'*', len * 2);
        }
    }

    /// A set; an array in RESP2.
    pub fn set(&mut self, len: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, len);
    }

    /// An out-of-band push (pub/sub messages, invalidations); an array in RESP2.
    pub fn push(&mut self, len: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, len);
    }

    /// RESP3 attribute header. Callers only send attributes to RESP3 clients.
    pub fn attribute(&mut self, len: usize) {
        debug_assert!(self.resp3);
        self.header(b'|', len);
    }

    /// A double: `,1.5` in RESP3, a bulk string `1.5` in RESP2 (Valkey's formatting).
    pub fn double(&mut self, v: f64) {
        if self.resp3 {
            self.buf.push(b',');
            push_double(&mut self.buf, v);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            let mut tmp = Vec::with_capacity(32);
            push_double(&mut tmp, v);
            self.bulk(&tmp);
        }
    }

    /// `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, v: bool) {
        if self.resp3 {
            self.buf.extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(i64::from(v));
        }
    }

    /// A verbatim string (`=len\r\ntxt:...` in RESP3), a bulk string in RESP2. `format` is
    /// three bytes, e.g. `txt`.
    pub fn verbatim(&mut self, format: &str, text: &[u8]) {
        if self.resp3 {
            debug_assert_eq!(format.len(), 3);
            self.header(b'=', text.len() + 4);
            self.buf.extend_from_slice(format.as_bytes());
            self.buf.push(b':');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// A big number (`(123...`), a bulk string in RESP2.
    pub fn big_number(&mut self, digits: &[u8]) {
        if self.resp3 {
            self.buf.push(b'(');
            self.buf.extend_from_slice(digits);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(digits);
        }
    }

    /// Starts an aggregate whose length will be known only after its elements are written.
    pub fn deferred(&mut self, kind: Aggregate) -> DeferredLen {
        DeferredLen { pos: self.buf.len(), kind }
    }

    /// Writes the header of a deferred aggregate now that `len` (elements, or pairs for a
    /// map) is known.
    pub fn fill_deferred(&mut self, d: DeferredLen, len: usize) {
        let (tag, n) = match (d.kind, self.resp3) {
            (Aggregate::Array, _) => (b'*', len),
            (Aggregate::Map, true) => (b'%', len),
            (Aggregate::Map, false) => (b'*', len * 2),
            (Aggregate::Set, true) => (b'~', len),
            (Aggregate::Push, true) => (b'>', len),
            (Aggregate::Set | Aggregate::Push, false) => (b'*', len),
        };
        let mut header = Vec::with_capacity(24);
        header.push(tag);
        push_i64(&mut header, n as i64);
        header.extend_from_slice(b"\r\n");
        self.buf.splice(d.pos..d.pos, header);
    }

    fn header(&mut self, tag: u8, len: usize) {
        self.buf.push(tag);
        push_i64(&mut self.buf, len as i64);
        self.buf.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(f: impl Fn(&mut Reply)) -> (String, String) {
        let mut r2 = Reply::new(false);
        let mut r3 = Reply::new(true);
        f(&mut r2);
        f(&mut r3);
        (String::from_utf8(r2.as_bytes().to_vec()).unwrap(), String::from_utf8(r3.as_bytes().to_vec()).unwrap())
    }

    #[test]
    fn resp2_and_resp3_mappings() {
        assert_eq!(both(|r| r.null()), ("$-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(|r| r.null_array()), ("*-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(|r| r.map(2)), ("*4\r\n".into(), "%2\r\n".into()));
        assert_eq!(both(|r| r.set(3)), ("*3\r\n".into(), "~3\r\n".into()));
        assert_eq!(both(|r| r.double(1.5)), ("$3\r\n1.5\r\n".into(), ",1.5\r\n".into()));
        assert_eq!(both(|r| r.boolean(true)), (":1\r\n".into(), "#t\r\n".into()));
        assert_eq!(both(|r| r.verbatim("txt", b"hi")), ("$2\r\nhi\r\n".into(), "=6\r\ntxt:hi\r\n".into()));
    }

    #[test]
    fn errors_are_sanitized_and_recorded() {
        let mut r = Reply::new(false);
        r.error("WRONGTYPE bad\r\nthing");
        r.err("syntax error");
        assert_eq!(r.as_bytes(), b"-WRONGTYPE bad  thing\r\n-ERR syntax error\r\n");
        assert_eq!(r.take_errors(), vec!["WRONGTYPE".to_string(), "ERR".to_string()]);
        assert!(r.take_errors().is_empty());
    }

    #[test]
    fn deferred_lengths() {
        let (r2, r3) = both(|r| {
            r.int(1);
            let d = r.deferred(Aggregate::Map);
            r.bulk(b"a");
            r.int(2);
            r.fill_deferred(d, 1);
        });
        assert_eq!(r2, ":1\r\n*2\r\n$1\r\na\r\n:2\r\n");
        assert_eq!(r3, ":1\r\n%1\r\n$1\r\na\r\n:2\r\n");
    }
}
