//! Command families and what they share: the context a command runs in ([`Ctx`]), the error
//! type, Valkey's standard error texts, and argument parsing helpers.
//!
//! One file per family; each declares its commands in a `COMMANDS` table (see `table.rs`).

pub mod argtree;
pub mod bits;
pub mod connection;
pub mod debug;
pub mod expire;
pub mod info;
pub mod introspection;
pub mod keys;
pub mod server;
pub mod strings;
pub mod table;

use crate::client::Client;
use crate::db::Keys;
use crate::engine::Engine;
pub use resp::Reply;
use std::borrow::Cow;
use table::Resolved;

/// A command's reply error. The text includes the error code (`ERR ...`, `WRONGTYPE ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub Cow<'static, str>);

impl Error {
    /// An `ERR` error with a formatted message.
    pub fn err(msg: impl Into<String>) -> Error {
        Error(Cow::Owned(format!("ERR {}", msg.into())))
    }

    /// An error whose text already starts with its code.
    pub fn coded(text: impl Into<Cow<'static, str>>) -> Error {
        Error(text.into())
    }

    /// A constant error whose text already starts with its code.
    pub const fn coded_static(text: &'static str) -> Error {
        Error(Cow::Borrowed(text))
    }

    pub fn internal(msg: &str) -> Error {
        Error(Cow::Owned(format!("ERR internal error: {msg}")))
    }

    pub fn text(&self) -> &str {
        &self.0
    }
}

pub type CmdResult = Result<(), Error>;

/// Valkey's shared error replies, verbatim.
pub mod errors {
    use super::Error;
    use std::borrow::Cow::Borrowed;

    pub const WRONGTYPE: Error = Error(Borrowed("WRONGTYPE Operation against a key holding the wrong kind of value"));
    pub const SYNTAX: Error = Error(Borrowed("ERR syntax error"));
    pub const NOT_INTEGER: Error = Error(Borrowed("ERR value is not an integer or out of range"));
    pub const NOT_FLOAT: Error = Error(Borrowed("ERR value is not a valid float"));
    pub const OVERFLOW: Error = Error(Borrowed("ERR increment or decrement would overflow"));
    pub const NO_SUCH_KEY: Error = Error(Borrowed("ERR no such key"));
    pub const OUT_OF_RANGE: Error = Error(Borrowed("ERR index out of range"));
    pub const DB_INDEX: Error = Error(Borrowed("ERR DB index is out of range"));
    pub const SAME_OBJECT: Error = Error(Borrowed("ERR source and destination objects are the same"));
    pub const NOAUTH: Error = Error(Borrowed("NOAUTH Authentication required."));
    pub const STRING_TOO_LONG: Error = Error(Borrowed("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
    pub const POSITIVE: Error = Error(Borrowed("ERR value is out of range, must be positive"));
    pub const BIT_OFFSET: Error = Error(Borrowed("ERR bit offset is not an integer or out of range"));
    pub const BIT_VALUE: Error = Error(Borrowed("ERR bit is not an integer or out of range"));
    pub const INVALID_CURSOR: Error = Error(Borrowed("ERR invalid cursor"));
}

/// Everything a command needs while it runs.
pub struct Ctx<'a> {
    /// The keyspace, through the shard locks granted for this command.
    pub keys: Keys<'a>,
    /// Where the reply goes.
    pub out: &'a mut Reply,
    pub client: &'a mut Client,
    pub engine: &'a Engine,
    /// The command being run (for error messages that name it).
    pub cmd: &'a Resolved,
}

impl Ctx<'_> {
    /// `wrong number of arguments for '<name>' command`.
    pub fn arity_error(&self) -> Error {
        arity_error(&self.cmd.full_name)
    }
}

pub fn arity_error(full_name: &str) -> Error {
    Error::err(format!("wrong number of arguments for '{full_name}' command"))
}

/// Parses an integer argument (`ERR value is not an integer or out of range` otherwise).
pub fn int_arg(a: &[u8]) -> Result<i64, Error> {
    resp::number::parse_i64(a).ok_or(errors::NOT_INTEGER)
}

/// Parses a float argument the way Valkey's `getDoubleFromObject` does: strtod syntax over the
/// whole string, no spaces, NaN rejected.
pub fn float_arg(a: &[u8]) -> Result<f64, Error> {
    parse_float(a).ok_or(errors::NOT_FLOAT)
}

/// strtod-compatible parse of the whole input: decimal, exponent, `inf`/`infinity` (any case,
/// signed), hex floats are not accepted (Valkey rejects them in practice via its checks).
pub fn parse_float(a: &[u8]) -> Option<f64> {
    if a.is_empty() || a.len() > 256 || a[0].is_ascii_whitespace() || a[a.len() - 1].is_ascii_whitespace() {
        return None;
    }
    let s = std::str::from_utf8(a).ok()?;
    let lower = s.to_ascii_lowercase();
    let unsigned = lower.strip_prefix(['+', '-']).unwrap_or(&lower);
    if unsigned == "inf" || unsigned == "infinity" {
        return Some(if lower.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    if unsigned.starts_with("nan") || unsigned.starts_with("0x") {
        return None;
    }
    if !unsigned.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-')) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// Case-insensitive comparison of an argument with an ASCII keyword.
#[inline]
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_strtod() {
        assert_eq!(parse_float(b"1.5"), Some(1.5));
        assert_eq!(parse_float(b"-1e3"), Some(-1000.0));
        assert_eq!(parse_float(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_float(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float(b".5"), Some(0.5));
        assert_eq!(parse_float(b"5."), Some(5.0));
        for bad in [&b""[..], b" 1", b"1 ", b"nan", b"abc", b"1.2.3", b"0x10"] {
            assert_eq!(parse_float(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
