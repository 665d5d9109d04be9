//! Every known difference between the peer (Debian's Redis 7.0.15) and our specification
//! (Valkey 8.0.1) that the differential tests can run into, in one place.
//!
//! A difference is never skipped: it is *normalised* by turning the peer's behaviour into
//! Valkey's, either by sending the peer an equivalent request that Redis 7.0 understands
//! (`request`), or by rewriting the peer's reply into the one Valkey 8 gives (`reply`). Kvasir's
//! reply is then still compared byte for byte with the result. Each entry names the Valkey
//! source that defines the behaviour, so that it can be checked again when either side moves.
//!
//! Not listed because they cannot show up in the commands we generate: error texts that lost
//! the word "Redis" in Valkey 8 (none in these families: compared by extracting every string
//! literal of t_string.c, bitops.c, expire.c, db.c, server.c and t_zset.c of both versions);
//! INCRBYFLOAT's long-double formatting (the same on both); sorted set features Redis 7.0
//! lacks or does otherwise, left out of the generators (zsets.rs): ZRANK/ZREVRANK WITHSCORE
//! (Valkey 8, from Redis 7.2), and ZRANGEBYSCORE with a negative LIMIT offset on a skiplist
//! (Valkey 8 counts it from the end of the range with `zslNthInRange`, src/t_zset.c
//! genericZrangebyscoreCommand; Redis 7.0 returns nothing).
//!
//! Aligned in compare.rs rather than here, because the text depends on the encoding, which a
//! reply does not show: ZSCAN prints a listpack's scores as stored (Valkey 8 stores d2string's
//! form, Redis 7.0 `%.17g`), a skiplist's with `%.17g` on both (src/db.c scanCallback,
//! ld2string LD_STR_AUTO); complete scans are compared with scores as numbers.

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
        id: "zscan-noscores",
        summary: "ZSCAN takes NOSCORES (members only), new in Valkey 8.0. Sent to the peer \
                  without it (and with the cursor Valkey reads, in plain decimal, as in \
                  scan-cursor-strict), and the scores dropped from its reply.",
        valkey_reference: "src/db.c scanGenericCommand (\"noscores\" sets only_keys for a zset); \
                           src/commands/zscan.json history 8.0.0",
        request: Some(zscan_for_redis70),
        reply: Some(zscan_drop_scores),
    },
    KnownDifference {
        id: "scan-cursor-strict",
        summary: "A SCAN-family cursor that is empty or a negative integer is 'ERR invalid \
                  cursor'; Redis 7.0 parsed cursors with strtoul, reading \"\" as 0 and -1 as \
                  2^64-1. The other way round, Valkey 8 reads a cursor with leading spaces as \
                  strtoull does, which Redis 7.0 refused: the peer is sent the cursor's value \
                  in plain decimal.",
        valkey_reference: "src/db.c parseScanCursorOrReply; src/util.c string2ull (negative \
                           values are out of range; strtoull must consume a non-empty string)",
        request: Some(scan_cursor_respelled),
        reply: Some(scan_cursor_rules),
    },
    KnownDifference {
        id: "hscan-novalues",
        summary: "HSCAN takes NOVALUES (fields without their values), new in Valkey 8; Redis \
                  7.0 answers a syntax error. The peer is sent the request without NOVALUES and \
                  its reply keeps the fields only.",
        valkey_reference: "src/db.c scanGenericCommand (novalues / only_keys); \
                           00-RELEASENOTES 8.0.0-rc1 (HSCAN NOVALUES, #12765)",
        request: Some(hscan_without_novalues),
        reply: Some(hscan_fields_only),
    },
    KnownDifference {
        id: "scan-novalues-noscores-messages",
        summary: "A SCAN-family option that belongs to another type's scan (NOVALUES outside \
                  HSCAN, NOSCORES outside ZSCAN) has its own error message; Redis 7.0 knew \
                  neither option and answered a syntax error. Options are checked in order, so \
                  an earlier bad option still wins.",
        valkey_reference: "src/db.c scanGenericCommand ('NOVALUES option can only be used in \
                           HSCAN', 'NOSCORES option can only be used in ZSCAN')",
        request: None,
        reply: Some(scan_option_messages),
    },
    KnownDifference {
        id: "double-format",
        summary: "Scores in replies (ZSCORE, ZINCRBY, ZADD INCR, ZMSCORE, WITHSCORES ranges, pops, \
                  set operations, ZRANDMEMBER) are printed with Valkey's d2string: integers \
                  within 2^62 as integers, otherwise Grisu2's digits (0.1, not \
                  0.10000000000000001; 3000000000000000000, not 3e+18); Redis 7.0 prints \
                  %.17g. Rewritten as the same double in Valkey's form.",
        valkey_reference: "src/networking.c addReplyDouble -> src/util.c d2string (double2ll, \
                           fpconv_dtoa)",
        request: None,
        reply: Some(valkey_doubles),
    },
    KnownDifference {
        id: "zrank-optional-withscore",
        summary: "ZRANK and ZREVRANK take an optional WITHSCORE (arity -3, Redis 7.2): a fourth \
                  argument that is not WITHSCORE is a syntax error, where Redis 7.0 (arity 3) \
                  answered the arity error.",
        valkey_reference: "src/t_zset.c zrankGenericCommand; src/commands/zrank.json",
        request: None,
        reply: Some(zrank_fourth_argument),
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

/// The cursor argument's position in a SCAN-family command.
fn cursor_index(argv: &[Vec<u8>]) -> Option<usize> {
    let i = if is_cmd(argv, "scan") {
        1
    } else if ["hscan", "sscan", "zscan"].iter().any(|n| is_cmd(argv, n)) {
        2
    } else {
        return None;
    };
    (i < argv.len()).then_some(i)
}

/// A score in Valkey's form: a bulk string (RESP2) rewritten, a RESP3 double kept (the
/// encoder prints doubles Valkey's way); anything else (null) as it is.
fn valkey_score(v: &Value) -> Value {
    match v {
        Value::Bulk(text) => match std::str::from_utf8(text).ok().and_then(|t| t.parse::<f64>().ok()) {
            Some(d) => Value::Bulk(crate::compare::canonical_double(d)),
            None => v.clone(),
        },
        other => other.clone(),
    }
}

/// Member/score pairs: nested `[[m, s] ...]` (RESP3) or flat `[m, s, m, s ...]`.
fn valkey_pairs(v: &Value) -> Option<Value> {
    let Value::Array(items) = v else { return None };
    if items.is_empty() {
        return None;
    }
    let nested = items.iter().all(|i| matches!(i, Value::Array(p) if p.len() == 2));
    let fixed = if nested {
        items
            .iter()
            .map(|i| match i {
                Value::Array(p) => Value::Array(vec![p[0].clone(), valkey_score(&p[1])]),
                other => other.clone(),
            })
            .collect()
    } else if items.len() % 2 == 0 {
        items.iter().enumerate().map(|(n, i)| if n % 2 == 1 { valkey_score(i) } else { i.clone() }).collect()
    } else {
        return None;
    };
    Some(Value::Array(fixed))
}

fn valkey_doubles(argv: &[Vec<u8>], peer: &Value) -> Option<Value> {
    let name = String::from_utf8_lossy(argv.first()?).to_ascii_uppercase();
    let has = |word: &str| argv[1..].iter().any(|a| is(a, word));
    if matches!(peer, Value::Error(_) | Value::Null) {
        return None;
    }
    match name.as_str() {
        "ZSCORE" | "ZINCRBY" => Some(valkey_score(peer)),
        "ZADD" if has("incr") => Some(valkey_score(peer)),
        "ZMSCORE" => match peer {
            Value::Array(items) => Some(Value::Array(items.iter().map(valkey_score).collect())),
            _ => None,
        },
        "ZRANGE" | "ZRANGEBYSCORE" | "ZREVRANGEBYSCORE" | "ZREVRANGE" | "ZUNION" | "ZINTER" | "ZDIFF"
        | "ZRANDMEMBER"
            if has("withscores") =>
        {
            valkey_pairs(peer)
        }
        "ZPOPMIN" | "ZPOPMAX" => valkey_pairs(peer),
        "ZMPOP" => match peer {
            Value::Array(parts) if parts.len() == 2 => {
                Some(Value::Array(vec![parts[0].clone(), valkey_pairs(&parts[1]).unwrap_or_else(|| parts[1].clone())]))
            }
            _ => None,
        },
        _ => None,
    }
}

/// ZSCAN's arguments with NOSCORES taken out of the option positions (where `scanGenericCommand`
/// would read it as an option, not as the value of MATCH or COUNT).
pub fn zscan_without_noscores(argv: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if !is_cmd(argv, "zscan") || argv.len() < 4 {
        return None;
    }
    let mut out = argv[..3].to_vec();
    let mut removed = false;
    let mut i = 3;
    while i < argv.len() {
        let left = argv.len() - i;
        if (is(&argv[i], "count") || is(&argv[i], "match")) && left >= 2 {
            out.extend_from_slice(&argv[i..i + 2]);
            i += 2;
        } else if is(&argv[i], "noscores") {
            removed = true;
            i += 1;
        } else {
            out.extend_from_slice(&argv[i..]);
            break;
        }
    }
    removed.then_some(out)
}

fn zscan_drop_scores(argv: &[Vec<u8>], peer: &Value) -> Option<Value> {
    zscan_without_noscores(argv)?;
    let Value::Array(parts) = peer else { return None };
    let [cursor, Value::Array(items)] = parts.as_slice() else { return None };
    let members = items.iter().step_by(2).cloned().collect();
    Some(Value::Array(vec![cursor.clone(), Value::Array(members)]))
}

/// Valkey's `string2ull` on a cursor argument (a C string: it ends at a NUL byte).
fn valkey_cursor(arg: &[u8]) -> Option<u64> {
    let s = &arg[..arg.iter().position(|&b| b == 0).unwrap_or(arg.len())];
    if let Some(v) = resp::number::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    // strtoull base 10: leading white space, a sign (a minus negates modulo 2^64), digits, and
    // nothing after them.
    let s = &s[s.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?..];
    let (negative, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

fn scan_cursor_respelled(argv: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    let i = cursor_index(argv)?;
    let value = valkey_cursor(&argv[i])?;
    let plain = value.to_string().into_bytes();
    if argv[i] == plain || !argv[i].first().is_some_and(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let mut v = argv.to_vec();
    v[i] = plain;
    Some(v)
}

fn scan_cursor_rules(argv: &[Vec<u8>], _peer: &Value) -> Option<Value> {
    // Both servers see the C string: the bytes before a NUL.
    let cursor = &argv[cursor_index(argv)?];
    let cursor = &cursor[..cursor.iter().position(|&b| b == 0).unwrap_or(cursor.len())];
    let negative = resp::number::parse_i64(cursor).is_some_and(|c| c < 0);
    (cursor.is_empty() || negative).then(|| Value::Error(b"ERR invalid cursor".to_vec()))
}

/// The positions of option names in a key scan (HSCAN/SSCAN/ZSCAN key cursor ...), walked as
/// Valkey walks them, with the error its parsing stops at, if any.
fn scan_options(argv: &[Vec<u8>]) -> (Vec<usize>, Option<&'static [u8]>) {
    let hash = is_cmd(argv, "hscan");
    let zset = is_cmd(argv, "zscan");
    let mut names = Vec::new();
    let mut i = 3;
    while i < argv.len() {
        names.push(i);
        let has_value = argv.len() - i >= 2;
        if is(&argv[i], "count") && has_value {
            match resp::number::parse_i64(&argv[i + 1]) {
                None => return (names, Some(NOT_INTEGER)),
                Some(c) if c < 1 => return (names, Some(SYNTAX)),
                Some(_) => {}
            }
            i += 2;
        } else if is(&argv[i], "match") && has_value {
            i += 2;
        } else if is(&argv[i], "novalues") {
            if !hash {
                return (names, Some(b"ERR NOVALUES option can only be used in HSCAN"));
            }
            i += 1;
        } else if is(&argv[i], "noscores") {
            if !zset {
                return (names, Some(b"ERR NOSCORES option can only be used in ZSCAN"));
            }
            i += 1;
        } else {
            return (names, Some(SYNTAX));
        }
    }
    (names, None)
}

fn is_key_scan(argv: &[Vec<u8>]) -> bool {
    ["hscan", "sscan", "zscan"].iter().any(|n| is_cmd(argv, n)) && argv.len() >= 3
}

fn has_novalues(argv: &[Vec<u8>]) -> bool {
    let (names, _) = scan_options(argv);
    names.iter().any(|&i| is(&argv[i], "novalues"))
}

fn hscan_without_novalues(argv: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if !is_cmd(argv, "hscan") || argv.len() < 3 || !has_novalues(argv) {
        return None;
    }
    let (names, _) = scan_options(argv);
    let drop: Vec<usize> = names.into_iter().filter(|&i| is(&argv[i], "novalues")).collect();
    Some(argv.iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, a)| a.clone()).collect())
}

fn hscan_fields_only(argv: &[Vec<u8>], peer: &Value) -> Option<Value> {
    if !is_cmd(argv, "hscan") || argv.len() < 3 || !has_novalues(argv) {
        return None;
    }
    match peer {
        Value::Array(parts) if parts.len() == 2 => match &parts[1] {
            Value::Array(items) => {
                Some(Value::Array(vec![parts[0].clone(), Value::Array(items.iter().step_by(2).cloned().collect())]))
            }
            _ => None,
        },
        _ => None,
    }
}

fn scan_option_messages(argv: &[Vec<u8>], peer: &Value) -> Option<Value> {
    if !is_key_scan(argv) || !matches!(peer, Value::Error(e) if e.as_slice() == SYNTAX) {
        return None;
    }
    match scan_options(argv).1 {
        Some(err) if err != SYNTAX => Some(Value::Error(err.to_vec())),
        _ => None,
    }
}

/// ZSCAN as Redis 7.0 understands it: the cursor Valkey reads, in canonical form, and no
/// NOSCORES.
fn zscan_for_redis70(argv: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if !is_cmd(argv, "zscan") || argv.len() < 3 {
        return None;
    }
    let mut out = zscan_without_noscores(argv).unwrap_or_else(|| argv.to_vec());
    if let Some(v) = valkey_cursor(&argv[2]) {
        out[2] = v.to_string().into_bytes();
    }
    (out != argv).then_some(out)
}

fn zrank_fourth_argument(argv: &[Vec<u8>], _peer: &Value) -> Option<Value> {
    if (is_cmd(argv, "zrank") || is_cmd(argv, "zrevrank")) && argv.len() == 4 && !is(&argv[3], "withscore") {
        return Some(Value::Error(SYNTAX.to_vec()));
    }
    None
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
    fn scan_options_in_valkey_order() {
        let a = args(&["HSCAN", "k", "0", "MATCH", "NOVALUES", "novalues", "COUNT", "5"]);
        assert_eq!(hscan_without_novalues(&a), Some(args(&["HSCAN", "k", "0", "MATCH", "NOVALUES", "COUNT", "5"])));
        let reply = Value::Array(vec![
            Value::Bulk(b"0".to_vec()),
            Value::Array(vec![Value::Bulk(b"f".to_vec()), Value::Bulk(b"v".to_vec())]),
        ]);
        assert_eq!(
            hscan_fields_only(&a, &reply),
            Some(Value::Array(vec![Value::Bulk(b"0".to_vec()), Value::Array(vec![Value::Bulk(b"f".to_vec())])]))
        );
        assert_eq!(hscan_without_novalues(&args(&["HSCAN", "k", "0", "MATCH", "novalues"])), None);
        let syntax = Value::Error(SYNTAX.to_vec());
        let msg = |s: &[&str]| scan_option_messages(&args(s), &syntax);
        assert_eq!(
            msg(&["SSCAN", "k", "0", "NOVALUES"]),
            Some(Value::Error(b"ERR NOVALUES option can only be used in HSCAN".to_vec()))
        );
        assert_eq!(msg(&["SSCAN", "k", "0", "COUNT", "0", "NOVALUES"]), None, "COUNT 0 fails first");
        assert_eq!(msg(&["SSCAN", "k", "0", "bogus", "NOVALUES"]), None);
        assert_eq!(
            msg(&["HSCAN", "k", "0", "NOSCORES"]),
            Some(Value::Error(b"ERR NOSCORES option can only be used in ZSCAN".to_vec()))
        );
    }

    #[test]
    fn scan_cursors_valkey_refuses() {
        let fix = |s: &[&str]| scan_cursor_rules(&args(s), &Value::Int(0));
        let invalid = Some(Value::Error(b"ERR invalid cursor".to_vec()));
        assert_eq!(fix(&["hscan", "k", ""]), invalid);
        assert_eq!(fix(&["SSCAN", "k", "-1"]), invalid);
        assert_eq!(fix(&["scan", ""]), invalid);
        assert_eq!(fix(&["hscan", "k", "\0"]), invalid, "an empty C string");
        assert_eq!(fix(&["hscan", "k", "0"]), None);
        assert_eq!(fix(&["hscan", "k", "x"]), None, "invalid for both");
        assert_eq!(fix(&["get", ""]), None);
        let respell = |s: &[&str]| scan_cursor_respelled(&args(s));
        assert_eq!(respell(&["HSCAN", "k", " 1"]), Some(args(&["HSCAN", "k", "1"])));
        assert_eq!(respell(&["scan", " 007"]), Some(args(&["scan", "7"])));
        assert_eq!(respell(&["HSCAN", "k", "+1"]), None, "both read it");
        assert_eq!(respell(&["HSCAN", "k", " x"]), None, "invalid for both");
    }

    #[test]
    fn doubles_are_rewritten_only_where_scores_are() {
        let fix = |s: &[&str], v: Value| valkey_doubles(&args(s), &v);
        let bulk = |s: &str| Value::Bulk(s.as_bytes().to_vec());
        assert_eq!(fix(&["ZSCORE", "k", "m"], bulk("0.10000000000000001")), Some(bulk("0.1")));
        assert_eq!(fix(&["zincrby", "k", "1", "m"], bulk("3e+18")), Some(bulk("3000000000000000000")));
        assert_eq!(fix(&["ZSCORE", "k", "m"], Value::Null), None);
        // Members are left alone, even when they look like numbers.
        let flat = Value::Array(vec![bulk("0.10000000000000001"), bulk("0.10000000000000001")]);
        assert_eq!(
            fix(&["ZRANGE", "k", "0", "-1", "WITHSCORES"], flat.clone()),
            Some(Value::Array(vec![bulk("0.10000000000000001"), bulk("0.1")]))
        );
        assert_eq!(fix(&["ZRANGE", "k", "0", "-1"], flat), None);
        let nested = Value::Array(vec![Value::Array(vec![bulk("a"), Value::Double(0.1)])]);
        assert_eq!(fix(&["ZPOPMIN", "k", "1"], nested.clone()), Some(nested));
        assert_eq!(
            zscan_without_noscores(&args(&["ZSCAN", "k", "0", "MATCH", "noscores", "NOSCORES", "COUNT", "5"])),
            Some(args(&["ZSCAN", "k", "0", "MATCH", "noscores", "COUNT", "5"]))
        );
        assert_eq!(zscan_without_noscores(&args(&["ZSCAN", "k", "0", "MATCH", "noscores"])), None);
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
