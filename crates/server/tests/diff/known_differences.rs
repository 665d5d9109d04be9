//! Every known difference between the peer (Debian's Redis 7.0.15) and our specification
//! (Valkey 8.0.1) that the differential tests can run into, in one place.
//!
//! A difference is never skipped: it is *normalised* by turning the peer's behaviour into
//! Valkey's, either by sending the peer an equivalent request that Redis 7.0 understands
//! (`request`), or by rewriting the peer's reply into the one Valkey 8 gives (`reply`). Kvasir's
//! reply is then still compared byte for byte with the result. Each entry names the Valkey
//! source that defines the behaviour, so that it can be checked again when either side moves.
//!
//! Not listed because they cannot show up in the commands we generate: double formatting
//! (Redis 7.2 / Valkey 8 print the shortest round-trip form, Redis 7.0 `%.17g`; no command
//! here replies with a double: INCRBYFLOAT uses long-double formatting on both), error texts
//! that lost the word "Redis" in Valkey 8 (none in these families: compared by extracting every
//! string literal of t_string.c, bitops.c, expire.c, db.c and server.c of both versions).

use resp::Value;

/// Respells a request for the peer; `None` when the difference does not apply.
pub type RequestFix = fn(&[Vec<u8>]) -> Option<Vec<Vec<u8>>>;
/// Turns the peer's reply into Valkey 8's; `None` when the difference does not apply.
pub type ReplyFix = fn(&[Vec<u8>], &Value) -> Option<Value>;

pub struct KnownDifference {
    pub id: &'static str,
    pub summary: &'static str,
    /// Where Valkey 8.0.1 defines the behaviour we follow.
    pub valkey_reference: &'static str,
    /// The request to send the peer instead of the original, when Redis 7.0 needs another
    /// spelling for the same thing.
    pub request: Option<RequestFix>,
    /// Valkey 8's reply, computed from the original request and the peer's reply; `None` when
    /// the difference does not apply to this request.
    pub reply: Option<ReplyFix>,
}

pub static KNOWN: &[KnownDifference] = &[
    KnownDifference {
        id: "bitcount-start-without-end",
        summary: "BITCOUNT key start (no end) counts from start to the end of the string; Redis 7.0 \
                  answers a syntax error. Sent to the peer as BITCOUNT key start -1, which is the \
                  same range.",
        valkey_reference: "src/bitops.c bitcountCommand (argc == 3 branch: end defaults to \
                           strlen-1); tests/unit/bitops.tcl 'BITCOUNT with start, end' \
                           (bitcount s 0)",
        request: Some(bitcount_start_only),
        reply: None,
    },
    KnownDifference {
        id: "bitcount-validates-arguments-first",
        summary: "BITCOUNT parses start, the BIT|BYTE unit and end before looking up the key, so \
                  a missing key with invalid arguments is an error, not 0; and the unit is \
                  checked before end. Redis 7.0 answered 0 for a missing key whatever the \
                  arguments, and checked the unit last.",
        valkey_reference: "src/bitops.c bitcountCommand (argument parsing precedes \
                           lookupKeyRead); 00-RELEASENOTES 8.0.0-rc1 'Behavior Changes - Core' \
                           (Redis#11734, Redis#12394); tests/unit/bitops.tcl 'BITCOUNT with \
                           illegal arguments'",
        request: None,
        reply: Some(bitcount_argument_errors),
    },
    KnownDifference {
        id: "bitpos-validates-arguments-first",
        summary: "BITPOS parses start, the BIT|BYTE unit and end before looking up the key, so a \
                  missing key with invalid arguments is an error, not -1/0. Redis 7.0 answered \
                  -1/0 for a missing key right after checking the bit argument.",
        valkey_reference: "src/bitops.c bitposCommand (argument parsing precedes \
                           lookupKeyRead); 00-RELEASENOTES 8.0.0-rc1 (Redis#11734); \
                           tests/unit/bitops.tcl 'BITPOS will illegal arguments'",
        request: None,
        reply: Some(bitpos_argument_errors),
    },
    KnownDifference {
        id: "set-past-expiry-stores-nothing",
        summary: "SET with an EXAT/PXAT time already past does not store the key (it deletes an \
                  existing one). Redis 7.0 stores it already expired, where DBSIZE counts it \
                  until active expiry removes it, so Redis 7.0's DBSIZE depends on timing. The \
                  peer is asked for its live keys instead (a Lua count of KEYS *, which skips \
                  expired keys); with the generators' TTLs (long past or far future) that is \
                  what Valkey 8's DBSIZE counts.",
        valkey_reference: "src/t_string.c setGenericCommand (checkAlreadyExpired -> \
                           deleteExpiredKeyFromOverwriteAndPropagate, then return)",
        request: Some(dbsize_as_live_keys),
        reply: None,
    },
    KnownDifference {
        id: "blocking-timeout-out-of-range",
        summary: "A blocking command's timeout whose milliseconds do not fit in a long long (inf, \
                  1e400, 9223372036854775807 seconds) is 'ERR timeout is out of range'. Redis \
                  7.0 converts the overflowing value to LLONG_MIN and answers 'ERR timeout is \
                  negative'.",
        valkey_reference: "src/timeout.c getTimeoutFromObjectOrReply (ftval > LLONG_MAX check); \
                           tests/unit/type/list.tcl 'BLPOP: timeout value out of range'",
        request: None,
        reply: Some(blocking_timeout_out_of_range),
    },
    KnownDifference {
        id: "lrem-count-range",
        summary: "LREM refuses the count -9223372036854775808 (its opposite does not exist) with \
                  'value is out of range, value must between -9223372036854775807 and \
                  9223372036854775807', before looking at the key. Redis 7.0 accepts it. Sent \
                  to the peer with a count that is not a number (an error that changes \
                  nothing), then answered with Valkey's error.",
        valkey_reference: "src/t_list.c lremCommand (getRangeLongFromObjectOrReply with \
                           -LONG_MAX, LONG_MAX)",
        request: Some(lrem_long_min_request),
        reply: Some(lrem_long_min_reply),
    },
    KnownDifference {
        id: "lpos-rank-range",
        summary: "LPOS refuses RANK -9223372036854775808 (its opposite does not exist) with \
                  'value is out of range, value must between -9223372036854775807 and \
                  9223372036854775807' as soon as its option parsing reaches it. Redis 7.0 \
                  accepts it (and then reports a later syntax error, or searches).",
        valkey_reference: "src/t_list.c lposCommand (getRangeLongFromObjectOrReply with -LONG_MAX, \
                           LONG_MAX); tests/unit/type/list.tcl 'LPOS RANK (positive, negative and \
                           zero rank) option'",
        request: None,
        reply: Some(lpos_rank_long_min),
    },
    KnownDifference {
        id: "hello-server-identity",
        summary: "HELLO reports server 'valkey' and version '8.0.1' (with the default \
                  extended-redis-compatibility no) where Redis 7.0.15 reports 'redis' / \
                  '7.0.15'.",
        valkey_reference: "src/networking.c helloCommand; src/version.h VALKEY_VERSION",
        request: None,
        reply: Some(hello_identity),
    },
];

/// One line per difference: id, summary and Valkey reference (for run summaries).
pub fn describe(id: &str) -> String {
    match KNOWN.iter().find(|d| d.id == id) {
        Some(d) => format!("{}: {} [valkey: {}]", d.id, squash(d.summary), squash(d.valkey_reference)),
        None => id.to_string(),
    }
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

fn is_cmd(argv: &[Vec<u8>], name: &str) -> bool {
    argv.first().is_some_and(|a| is(a, name))
}

fn bitcount_start_only(argv: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if is_cmd(argv, "bitcount") && argv.len() == 3 {
        let mut v = argv.to_vec();
        v.push(b"-1".to_vec());
        return Some(v);
    }
    None
}

fn dbsize_as_live_keys(argv: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if is_cmd(argv, "dbsize") && argv.len() == 1 {
        return Some(vec![b"EVAL".to_vec(), b"return #redis.call('KEYS','*')".to_vec(), b"0".to_vec()]);
    }
    None
}

const NOT_INTEGER: &[u8] = b"ERR value is not an integer or out of range";
const SYNTAX: &[u8] = b"ERR syntax error";

fn parses_i64(a: &[u8]) -> bool {
    resp::number::parse_i64(a).is_some()
}

/// The error Valkey's range parsing (start, then unit, then end) gives for
/// `args = [start, end?, unit?]`, if any.
fn range_error(args: &[Vec<u8>]) -> Option<&'static [u8]> {
    if !parses_i64(&args[0]) {
        return Some(NOT_INTEGER);
    }
    if let Some(unit) = args.get(2) {
        if !is(unit, "bit") && !is(unit, "byte") {
            return Some(SYNTAX);
        }
    }
    if let Some(end) = args.get(1) {
        if !parses_i64(end) {
            return Some(NOT_INTEGER);
        }
    }
    None
}

fn bitcount_argument_errors(argv: &[Vec<u8>], _peer: &Value) -> Option<Value> {
    if !is_cmd(argv, "bitcount") || argv.len() < 2 {
        return None;
    }
    let err = match argv.len() {
        2 => None,
        3..=5 => range_error(&argv[2..]),
        _ => Some(SYNTAX),
    };
    err.map(|e| Value::Error(e.to_vec()))
}

fn bitpos_argument_errors(argv: &[Vec<u8>], _peer: &Value) -> Option<Value> {
    if !is_cmd(argv, "bitpos") || argv.len() < 3 {
        return None;
    }
    // The bit argument is checked first by both versions, with the same errors.
    match resp::number::parse_i64(&argv[2]) {
        Some(0 | 1) => {}
        _ => return None,
    }
    let err = match argv.len() {
        3 => None,
        4..=6 => range_error(&argv[3..]),
        _ => Some(SYNTAX),
    };
    err.map(|e| Value::Error(e.to_vec()))
}

fn is_lrem_long_min(argv: &[Vec<u8>]) -> bool {
    is_cmd(argv, "lrem") && argv.len() == 4 && resp::number::parse_i64(&argv[2]) == Some(i64::MIN)
}

fn lrem_long_min_request(argv: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    is_lrem_long_min(argv).then(|| vec![argv[0].clone(), argv[1].clone(), b"not-a-count".to_vec(), argv[3].clone()])
}

fn lrem_long_min_reply(argv: &[Vec<u8>], _peer: &Value) -> Option<Value> {
    is_lrem_long_min(argv).then(|| {
        Value::Error(
            b"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807".to_vec(),
        )
    })
}

/// Valkey's LPOS option parsing, as far as its first error: whether that error is RANK's
/// -9223372036854775808.
fn lpos_fails_on_rank_long_min(argv: &[Vec<u8>]) -> bool {
    if !is_cmd(argv, "lpos") || argv.len() < 3 {
        return false;
    }
    let mut j = 3;
    while j < argv.len() {
        if j + 1 >= argv.len() {
            return false;
        }
        let v = resp::number::parse_i64(&argv[j + 1]);
        if is(&argv[j], "rank") {
            match v {
                Some(i64::MIN) => return true,
                Some(0) | None => return false,
                Some(_) => {}
            }
        } else if is(&argv[j], "count") || is(&argv[j], "maxlen") {
            if v.is_none_or(|n| n < 0) {
                return false;
            }
        } else {
            return false;
        }
        j += 2;
    }
    false
}

fn lpos_rank_long_min(argv: &[Vec<u8>], _peer: &Value) -> Option<Value> {
    lpos_fails_on_rank_long_min(argv).then(|| {
        Value::Error(
            b"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807".to_vec(),
        )
    })
}

/// The timeout argument of a blocking list command, if `argv` is one.
fn blocking_timeout(argv: &[Vec<u8>]) -> Option<&[u8]> {
    let name = argv.first()?;
    let at = if is(name, "blmpop") {
        1
    } else if ["blpop", "brpop", "blmove", "brpoplpush"].iter().any(|n| is(name, n)) {
        argv.len().checked_sub(1)?
    } else {
        return None;
    };
    argv.get(at).filter(|_| argv.len() > 2).map(|a| a.as_slice())
}

fn blocking_timeout_out_of_range(argv: &[Vec<u8>], peer: &Value) -> Option<Value> {
    let timeout = blocking_timeout(argv)?;
    if *peer != Value::Error(b"ERR timeout is negative".to_vec()) {
        return None;
    }
    // Decimal and `inf` spellings: what the generators use.
    let secs: f64 = std::str::from_utf8(timeout).ok()?.parse().ok()?;
    (secs * 1000.0 > i64::MAX as f64).then(|| Value::Error(b"ERR timeout is out of range".to_vec()))
}

fn hello_identity(argv: &[Vec<u8>], peer: &Value) -> Option<Value> {
    if !is_cmd(argv, "hello") {
        return None;
    }
    let fix = |k: &Value, v: &Value| -> Value {
        match k {
            Value::Bulk(name) if name == b"server" => Value::Bulk(b"valkey".to_vec()),
            Value::Bulk(name) if name == b"version" => Value::Bulk(b"8.0.1".to_vec()),
            _ => v.clone(),
        }
    };
    match peer {
        Value::Map(pairs) => Some(Value::Map(pairs.iter().map(|(k, v)| (k.clone(), fix(k, v))).collect())),
        // RESP2: a flat array of alternating names and values.
        Value::Array(items) if items.len() % 2 == 0 => {
            Some(Value::Array(items.chunks(2).flat_map(|kv| [kv[0].clone(), fix(&kv[0], &kv[1])]).collect()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<Vec<u8>> {
        s.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn bitcount_rules_follow_valkey_order() {
        let err = |s: &[&str]| bitcount_argument_errors(&args(s), &Value::Int(0));
        assert_eq!(err(&["bitcount", "k"]), None);
        assert_eq!(err(&["bitcount", "k", "0", "1"]), None);
        assert_eq!(err(&["bitcount", "k", "x"]), Some(Value::Error(NOT_INTEGER.to_vec())));
        // Unit before end.
        assert_eq!(err(&["bitcount", "k", "0", "x", "foo"]), Some(Value::Error(SYNTAX.to_vec())));
        assert_eq!(err(&["bitcount", "k", "0", "x", "bit"]), Some(Value::Error(NOT_INTEGER.to_vec())));
        assert_eq!(err(&["bitcount", "k", "0", "1", "bit", "x"]), Some(Value::Error(SYNTAX.to_vec())));
        assert_eq!(bitcount_start_only(&args(&["BITCOUNT", "k", "3"])), Some(args(&["BITCOUNT", "k", "3", "-1"])));
    }

    #[test]
    fn lpos_rank_range_only_where_parsing_reaches_it() {
        let min = "-9223372036854775808";
        assert!(lpos_fails_on_rank_long_min(&args(&["LPOS", "k", "e", "RANK", min])));
        assert!(lpos_fails_on_rank_long_min(&args(&["LPOS", "k", "e", "COUNT", "1", "rank", min, "x"])));
        assert!(!lpos_fails_on_rank_long_min(&args(&["LPOS", "k", "e", "COUNT", "-1", "RANK", min])));
        assert!(!lpos_fails_on_rank_long_min(&args(&["LPOS", "k", "e", "FOO", "1", "RANK", min])));
        assert!(!lpos_fails_on_rank_long_min(&args(&["LPOS", "k", "e", "RANK", "-1"])));
        assert!(!lpos_fails_on_rank_long_min(&args(&["LPOS", "k", "e", "RANK"])));
    }

    #[test]
    fn out_of_range_timeouts_are_told_from_negative_ones() {
        let negative = Value::Error(b"ERR timeout is negative".to_vec());
        let fix = |s: &[&str]| blocking_timeout_out_of_range(&args(s), &negative);
        let out_of_range = Some(Value::Error(b"ERR timeout is out of range".to_vec()));
        assert_eq!(fix(&["BLPOP", "a", "inf"]), out_of_range);
        assert_eq!(fix(&["blmove", "a", "b", "left", "left", "1e400"]), out_of_range);
        assert_eq!(fix(&["BLMPOP", "9223372036854775807", "1", "a", "left"]), out_of_range);
        assert_eq!(fix(&["BLPOP", "a", "-1"]), None);
        assert_eq!(fix(&["BRPOPLPUSH", "a", "b", "-inf"]), None);
        assert_eq!(fix(&["GET", "inf"]), None);
    }

    #[test]
    fn bitpos_rules_leave_the_bit_check_alone() {
        let err = |s: &[&str]| bitpos_argument_errors(&args(s), &Value::Int(0));
        assert_eq!(err(&["bitpos", "k", "2", "x"]), None);
        assert_eq!(err(&["bitpos", "k", "1", "x"]), Some(Value::Error(NOT_INTEGER.to_vec())));
        assert_eq!(err(&["bitpos", "k", "1", "0", "1", "bit", "x"]), Some(Value::Error(SYNTAX.to_vec())));
        assert_eq!(err(&["bitpos", "k", "0", "0", "-1", "byte"]), None);
    }
}
