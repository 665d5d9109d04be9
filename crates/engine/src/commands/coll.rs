//! What the collection families (hashes, sets, and later sorted sets) share: the options and
//! the iteration of HSCAN/SSCAN/ZSCAN (Valkey's `scanGenericCommand` for a key), writing a
//! listpack element as a reply, and the bound on replies whose size a client chooses
//! (SRANDMEMBER and HRANDFIELD with a negative count).

use super::keys::parse_cursor;
use super::{errors, int_arg, is, Ctx, Error};
use crate::client::Client;
use crate::types::listpack::LpValue;
use crate::util::glob_match;
use resp::Reply;

/// The collection a SCAN-family command iterates; decides which options are accepted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ScanOf {
    Hash,
    Set,
    Zset,
}

/// The options of HSCAN/SSCAN/ZSCAN after the cursor.
pub struct ScanArgs<'a> {
    pub count: usize,
    /// `None` when absent or exactly `*` (which matches everything, the empty string too).
    pub pattern: Option<&'a [u8]>,
    /// NOVALUES (HSCAN) or NOSCORES (ZSCAN).
    pub only_keys: bool,
}

impl ScanArgs<'_> {
    pub fn matches(&self, s: &[u8]) -> bool {
        self.pattern.is_none_or(|p| glob_match(p, s, false))
    }
}

/// The cursor argument, with SCAN's parsing and error.
pub fn scan_cursor(arg: &[u8]) -> Result<u64, Error> {
    parse_cursor(arg).ok_or(errors::INVALID_CURSOR)
}

/// Parses the options from `argv[3..]`, as Valkey does after the key was found: COUNT must be
/// a positive integer, TYPE is not an option of the collection scans, NOVALUES only of HSCAN,
/// NOSCORES only of ZSCAN.
pub fn scan_args<'a>(argv: &[&'a [u8]], of: ScanOf) -> Result<ScanArgs<'a>, Error> {
    let mut args = ScanArgs { count: 10, pattern: None, only_keys: false };
    let mut i = 3;
    while i < argv.len() {
        let has_value = argv.len() - i >= 2;
        if is(argv[i], "count") && has_value {
            let count = int_arg(argv[i + 1])?;
            if count < 1 {
                return Err(errors::SYNTAX);
            }
            args.count = usize::try_from(count).unwrap_or(usize::MAX);
            i += 2;
        } else if is(argv[i], "match") && has_value {
            args.pattern = Some(argv[i + 1]).filter(|p| *p != b"*");
            i += 2;
        } else if is(argv[i], "novalues") {
            if of != ScanOf::Hash {
                return Err(Error::err("NOVALUES option can only be used in HSCAN"));
            }
            args.only_keys = true;
            i += 1;
        } else if is(argv[i], "noscores") {
            if of != ScanOf::Zset {
                return Err(Error::err("NOSCORES option can only be used in ZSCAN"));
            }
            args.only_keys = true;
            i += 1;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(args)
}

/// Drives a hash table's scan the way Valkey's `scanGenericCommand` does: steps (`step`
/// returns the next cursor and how many elements it visited) until the iteration ends, COUNT
/// elements were visited, or `10 * COUNT` more steps were taken. Returns the cursor to reply.
pub fn scan_table(mut cursor: u64, count: usize, mut step: impl FnMut(u64) -> (u64, usize)) -> u64 {
    let mut sampled = 0usize;
    let mut iterations_left = count.saturating_mul(10);
    loop {
        let (next, visited) = step(cursor);
        cursor = next;
        sampled += visited;
        if cursor == 0 || iterations_left == 0 || sampled >= count {
            return cursor;
        }
        iterations_left -= 1;
    }
}

/// Writes the SCAN-family reply: the cursor, then the collected elements.
pub fn reply_scan(out: &mut Reply, cursor: u64, elements: &[Vec<u8>]) {
    out.array(2);
    out.bulk(itoa::Buffer::new().format(cursor).as_bytes());
    out.array(elements.len());
    for e in elements {
        out.bulk(e);
    }
}

/// Writes a stored element as a bulk string (integers in decimal).
pub fn reply_element(out: &mut Reply, v: LpValue<'_>) {
    match v {
        LpValue::Str(s) => out.bulk(s),
        LpValue::Int(i) => out.bulk_i64(i),
    }
}

/// The largest reply a command may build when the client chose its size (negative counts of
/// SRANDMEMBER / HRANDFIELD ask for any number of elements): the `normal` class hard limit of
/// `client-output-buffer-limit` when one is set, else this. Valkey streams such replies and
/// drops the client when its output buffer passes the limit; we build a command's reply in one
/// buffer under the command's locks, so we stop at the limit and drop the client likewise.
pub const DEFAULT_REPLY_LIMIT: usize = 512 << 20;

/// Tracks the size of a reply being built against the client's output limit.
pub struct ReplyBudget {
    start: usize,
    limit: usize,
}

impl ReplyBudget {
    pub fn new(ctx: &Ctx) -> ReplyBudget {
        let configured = ctx.engine.config.hot.output_limit(crate::client::ClientType::Normal).hard as usize;
        ReplyBudget { start: ctx.out.len(), limit: if configured > 0 { configured } else { DEFAULT_REPLY_LIMIT } }
    }

    #[cfg(test)]
    pub fn with_limit(out: &Reply, limit: usize) -> ReplyBudget {
        ReplyBudget { start: out.len(), limit }
    }

    /// The limit, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether the reply written since the budget was made passed the limit.
    pub fn exceeded(&self, out: &Reply) -> bool {
        out.len() - self.start > self.limit
    }

    /// Gives up the reply: discards it and closes the client, as Valkey closes a client whose
    /// output buffer passed its hard limit.
    pub fn abandon(self, out: &mut Reply, client: &mut Client) {
        out.truncate(self.start);
        client.close_after_reply = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv<'a>(s: &[&'a str]) -> Vec<&'a [u8]> {
        s.iter().map(|a| a.as_bytes()).collect()
    }

    #[test]
    fn options_and_their_errors() {
        let a = scan_args(&argv(&["hscan", "k", "0", "MATCH", "f*", "count", "5", "novalues"]), ScanOf::Hash).unwrap();
        assert_eq!((a.count, a.pattern, a.only_keys), (5, Some(&b"f*"[..]), true));
        assert!(scan_args(&argv(&["hscan", "k", "0", "match", "*"]), ScanOf::Hash).unwrap().pattern.is_none());
        let err =
            |s: &[&str], of| scan_args(&argv(s), of).err().map(|e| String::from_utf8_lossy(e.text()).into_owned());
        assert_eq!(err(&["sscan", "k", "0", "count", "0"], ScanOf::Set).as_deref(), Some("ERR syntax error"));
        assert_eq!(
            err(&["sscan", "k", "0", "count", "x"], ScanOf::Set).as_deref(),
            Some("ERR value is not an integer or out of range")
        );
        assert_eq!(
            err(&["sscan", "k", "0", "novalues"], ScanOf::Set).as_deref(),
            Some("ERR NOVALUES option can only be used in HSCAN")
        );
        assert_eq!(
            err(&["hscan", "k", "0", "noscores"], ScanOf::Hash).as_deref(),
            Some("ERR NOSCORES option can only be used in ZSCAN")
        );
        assert_eq!(err(&["sscan", "k", "0", "type", "set"], ScanOf::Set).as_deref(), Some("ERR syntax error"));
        assert_eq!(err(&["sscan", "k", "0", "match"], ScanOf::Set).as_deref(), Some("ERR syntax error"));
    }

    #[test]
    fn table_scan_stops_at_count_or_iterations() {
        // Each step visits 1 element: stops after COUNT elements.
        let mut calls = 0;
        assert_eq!(
            scan_table(0, 3, |c| {
                calls += 1;
                (c + 1, 1)
            }),
            3
        );
        assert_eq!(calls, 3);
        // Steps that visit nothing: stops after 10 * COUNT more steps.
        let mut calls = 0;
        scan_table(0, 2, |c| {
            calls += 1;
            (c + 1, 0)
        });
        assert_eq!(calls, 21);
        // The end of the iteration ends the call.
        assert_eq!(scan_table(5, 100, |_| (0, 0)), 0);
    }
}
