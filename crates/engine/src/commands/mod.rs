//! Command families and what they share: the context a command runs in ([`Ctx`]), the error
//! type, Valkey's standard error texts, and argument parsing helpers.
//!
//! One file per family; each declares its commands in a `COMMANDS` table (see `table.rs`).

pub mod argtree;
pub mod bits;
pub mod client_tracking;
pub mod coll;
pub mod connection;
pub mod debug;
pub mod digest;
pub mod expire;
pub mod geo;
pub mod hashes;
pub mod hyperloglog;
pub mod info;
pub mod introspection;
pub mod keys;
pub mod lists;
pub mod memory;
pub mod monitor;
pub mod multi;
pub mod persistence;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod slowlog;
pub mod sort;
pub mod streams;
pub mod strings;
pub mod table;
pub mod zsets;

use crate::client::Client;
use crate::db::Keys;
use crate::engine::Engine;
pub use resp::Reply;
use std::borrow::Cow;
use table::Resolved;

/// A command's reply error. The text includes the error code (`ERR ...`, `WRONGTYPE ...`).
/// It is bytes, not text: errors that quote an argument quote it byte for byte, as Valkey does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub Cow<'static, [u8]>);

impl Error {
    /// An `ERR` error with a formatted message.
    pub fn err(msg: impl Into<String>) -> Error {
        let mut text = b"ERR ".to_vec();
        text.extend_from_slice(msg.into().as_bytes());
        Error(Cow::Owned(text))
    }

    /// An error whose text already starts with its code.
    pub fn coded(text: impl Into<String>) -> Error {
        Error(Cow::Owned(text.into().into_bytes()))
    }

    /// A constant error whose text already starts with its code.
    pub const fn coded_static(text: &'static str) -> Error {
        Error(Cow::Borrowed(text.as_bytes()))
    }

    /// `ERR <prefix><arg><suffix>`, with `arg` cut at its first NUL byte as C's `%s` cuts it.
    pub fn err_quoting(prefix: &str, arg: &[u8], suffix: &str) -> Error {
        let arg = &arg[..arg.iter().position(|&b| b == 0).unwrap_or(arg.len())];
        let mut text = Vec::with_capacity(4 + prefix.len() + arg.len() + suffix.len());
        text.extend_from_slice(b"ERR ");
        text.extend_from_slice(prefix.as_bytes());
        text.extend_from_slice(arg);
        text.extend_from_slice(suffix.as_bytes());
        Error(Cow::Owned(text))
    }

    pub fn internal(msg: &str) -> Error {
        Error::err(format!("internal error: {msg}"))
    }

    pub fn text(&self) -> &[u8] {
        &self.0
    }
}

pub type CmdResult = Result<(), Error>;

/// Valkey's shared error replies, verbatim.
pub mod errors {
    use super::Error;

    pub const WRONGTYPE: Error =
        Error::coded_static("WRONGTYPE Operation against a key holding the wrong kind of value");
    pub const SYNTAX: Error = Error::coded_static("ERR syntax error");
    pub const NOT_INTEGER: Error = Error::coded_static("ERR value is not an integer or out of range");
    pub const NOT_FLOAT: Error = Error::coded_static("ERR value is not a valid float");
    pub const OVERFLOW: Error = Error::coded_static("ERR increment or decrement would overflow");
    pub const NO_SUCH_KEY: Error = Error::coded_static("ERR no such key");
    pub const OUT_OF_RANGE: Error = Error::coded_static("ERR index out of range");
    pub const DB_INDEX: Error = Error::coded_static("ERR DB index is out of range");
    pub const SAME_OBJECT: Error = Error::coded_static("ERR source and destination objects are the same");
    pub const NOAUTH: Error = Error::coded_static("NOAUTH Authentication required.");
    pub const STRING_TOO_LONG: Error =
        Error::coded_static("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    pub const POSITIVE: Error = Error::coded_static("ERR value is out of range, must be positive");
    pub const BIT_OFFSET: Error = Error::coded_static("ERR bit offset is not an integer or out of range");
    pub const BIT_VALUE: Error = Error::coded_static("ERR bit is not an integer or out of range");
    pub const INVALID_CURSOR: Error = Error::coded_static("ERR invalid cursor");
    pub const BUSYKEY: Error = Error::coded_static("BUSYKEY Target key name already exists.");
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

    /// The command was called by a script (Valkey's `server.script_caller` / `CLIENT_SCRIPT`).
    pub fn in_script(&self) -> bool {
        let run = &self.engine.scripting.run;
        run.running.load(std::sync::atomic::Ordering::Relaxed)
            && run.caller.load(std::sync::atomic::Ordering::Relaxed) == self.client.id()
    }
}

/// Where a write runs: as the client's own command, or serving a blocked client (in database
/// `db`) inside another client's write, whose own propagation must stay as it is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Run {
    Command,
    Served(usize),
}

impl Run {
    /// Propagates `argv` as what this run did (Valkey's `rewriteClientCommandVector` in a
    /// blocking command): in place of the command, or, served, after the writer's command.
    pub fn propagate(self, keys: &mut Keys<'_>, argv: Vec<Vec<u8>>) {
        match self {
            Run::Command => keys.propagate_as(argv),
            Run::Served(db) => keys.propagate_also(db, argv),
        }
    }
}

pub fn arity_error(full_name: &str) -> Error {
    Error::err(format!("wrong number of arguments for '{full_name}' command"))
}

/// Valkey's `addReplySubcommandSyntaxError`: a subcommand given arguments it does not take.
pub fn subcommand_syntax_error(argv: &[&[u8]]) -> Error {
    let shown = &argv[1][..argv[1].len().min(128)];
    Error::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(shown),
        String::from_utf8_lossy(argv[0]).to_ascii_uppercase()
    ))
}

/// Parses an integer argument (`ERR value is not an integer or out of range` otherwise).
pub fn int_arg(a: &[u8]) -> Result<i64, Error> {
    resp::number::parse_i64(a).ok_or(errors::NOT_INTEGER)
}

/// An integer argument within `[min, max]` (Valkey's `getRangeLongFromObjectOrReply`). `msg`,
/// when given, is the error for both a non-integer and an out-of-range value.
pub fn range_arg(a: &[u8], min: i64, max: i64, msg: Option<&str>) -> Result<i64, Error> {
    let v = match resp::number::parse_i64(a) {
        Some(v) => v,
        None => return Err(msg.map_or(errors::NOT_INTEGER, Error::err)),
    };
    if v < min || v > max {
        return Err(match msg {
            Some(m) => Error::err(m),
            None => Error::err(format!("value is out of range, value must between {min} and {max}")),
        });
    }
    Ok(v)
}

/// A blocking command's timeout in seconds, as Valkey's `getTimeoutFromObjectOrReply` reads
/// it: a float (rounded up to whole milliseconds in `long double`), not negative, not so large
/// that the deadline overflows. `None` is 0, waiting forever; otherwise the absolute deadline
/// in ms since the epoch.
pub fn timeout_secs_arg(a: &[u8], now_ms: u64) -> Result<Option<u64>, Error> {
    use crate::types::string::{seconds_to_ms_ceil, SecondsError};
    let ms = seconds_to_ms_ceil(a).map_err(|e| match e {
        SecondsError::NotFloat => Error::err("timeout is not a float or out of range"),
        SecondsError::OutOfRange => Error::err("timeout is out of range"),
    })?;
    if ms < 0 {
        return Err(Error::err("timeout is negative"));
    }
    if ms == 0 {
        return Ok(None);
    }
    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
    if ms > i64::MAX - now {
        return Err(Error::err("timeout is out of range"));
    }
    Ok(Some((ms + now) as u64))
}

/// A database index argument, with Valkey's errors (`getIntFromObjectOrReply`, then
/// `selectDb`).
pub fn db_index_arg(arg: &[u8], databases: usize) -> Result<usize, Error> {
    let id = int_arg(arg)?;
    if i32::try_from(id).is_err() {
        return Err(Error::err(format!("value is out of range, value must between {} and {}", i32::MIN, i32::MAX)));
    }
    usize::try_from(id).ok().filter(|&db| db < databases).ok_or(errors::DB_INDEX)
}

/// Parses a float argument the way Valkey's `getDoubleFromObject` does (`string2d`: strtod
/// syntax over the whole string, hex and `inf` forms included, no leading space, no overflow,
/// NaN refused).
pub fn float_arg(a: &[u8]) -> Result<f64, Error> {
    parse_float(a).ok_or(errors::NOT_FLOAT)
}

/// Valkey's `string2d`.
pub fn parse_float(a: &[u8]) -> Option<f64> {
    crate::util::strtod::string2d(a)
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
        assert_eq!(parse_float(b"0x10"), Some(16.0));
        for bad in [&b""[..], b" 1", b"1 ", b"nan", b"abc", b"1.2.3", b"1e400"] {
            assert_eq!(parse_float(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn range_and_timeout_arguments() {
        assert_eq!(range_arg(b"5", 1, 10, None), Ok(5));
        assert_eq!(range_arg(b"x", 1, 10, None), Err(errors::NOT_INTEGER));
        assert_eq!(range_arg(b"0", 1, 10, None), Err(Error::err("value is out of range, value must between 1 and 10")));
        assert_eq!(
            range_arg(b"x", 1, 10, Some("count should be greater than 0")),
            Err(Error::err("count should be greater than 0"))
        );
        let now = 1_700_000_000_000;
        assert_eq!(timeout_secs_arg(b"0", now), Ok(None));
        assert_eq!(timeout_secs_arg(b"0.0001", now), Ok(Some(now + 1)));
        assert_eq!(timeout_secs_arg(b"-0.0001", now), Ok(None));
        assert_eq!(timeout_secs_arg(b"1.5", now), Ok(Some(now + 1500)));
        assert_eq!(timeout_secs_arg(b"-1", now), Err(Error::err("timeout is negative")));
        assert_eq!(timeout_secs_arg(b"-inf", now), Err(Error::err("timeout is negative")));
        assert_eq!(timeout_secs_arg(b"abc", now), Err(Error::err("timeout is not a float or out of range")));
        assert_eq!(timeout_secs_arg(b"inf", now), Err(Error::err("timeout is out of range")));
        // Fits in milliseconds, but not once added to the clock.
        assert_eq!(timeout_secs_arg(b"9223372036854775", now), Err(Error::err("timeout is out of range")));
    }
}
