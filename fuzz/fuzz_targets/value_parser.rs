//! Fuzzes `resp::Value::parse`, the client-side RESP2/RESP3 parser used by the test harnesses
//! and (later) by scripting to read command replies.
//!
//! Checked: no panic (including deep nesting: bounded by `MAX_DEPTH`); a parsed value used no
//! more bytes than given; every strict prefix of what it used is `Incomplete` (a parser that
//! answers early on a partial reply would desynchronise a connection); and encoding the value
//! again and parsing that gives the same value back.

#![no_main]

use libfuzzer_sys::fuzz_target;
use resp::value::ParseError;
use resp::Value;

fn line(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

fn blob(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    line(out, tag, body.len().to_string().as_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Simple(s) => line(out, b'+', s),
        Value::Error(s) => line(out, b'-', s),
        Value::Int(i) => line(out, b':', i.to_string().as_bytes()),
        Value::Bulk(b) => blob(out, b'$', b),
        Value::Null => out.extend_from_slice(b"_\r\n"),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            let tag = match v {
                Value::Array(_) => b'*',
                Value::Set(_) => b'~',
                _ => b'>',
            };
            line(out, tag, items.len().to_string().as_bytes());
            items.iter().for_each(|i| encode(i, out));
        }
        Value::Map(pairs) | Value::Attribute(pairs, _) => {
            line(out, if matches!(v, Value::Map(_)) { b'%' } else { b'|' }, pairs.len().to_string().as_bytes());
            for (k, val) in pairs {
                encode(k, out);
                encode(val, out);
            }
            if let Value::Attribute(_, inner) = v {
                encode(inner, out);
            }
        }
        // `{:?}` of an f64 round-trips exactly; inf/nan have their RESP spellings.
        Value::Double(d) if d.is_nan() => line(out, b',', b"nan"),
        Value::Double(d) if d.is_infinite() => line(out, b',', if *d > 0.0 { b"inf" } else { b"-inf" }),
        Value::Double(d) => line(out, b',', format!("{d:?}").as_bytes()),
        Value::Bool(b) => line(out, b'#', if *b { b"t" } else { b"f" }),
        Value::Verbatim(fmt, body) => {
            let mut b = fmt.clone();
            b.push(b':');
            b.extend_from_slice(body);
            blob(out, b'=', &b)
        }
        Value::BigNumber(n) => line(out, b'(', n),
    }
}

/// NaN is not equal to itself; compare doubles by bits.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        (Value::Array(x), Value::Array(y)) | (Value::Set(x), Value::Set(y)) | (Value::Push(x), Value::Push(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Map(x), Value::Map(y)) => pairs_same(x, y),
        (Value::Attribute(x, xi), Value::Attribute(y, yi)) => pairs_same(x, y) && same(xi, yi),
        _ => a == b,
    }
}

fn pairs_same(x: &[(Value, Value)], y: &[(Value, Value)]) -> bool {
    x.len() == y.len() && x.iter().zip(y).all(|((a, b), (c, d))| same(a, c) && same(b, d))
}

fuzz_target!(|data: &[u8]| {
    let Ok((v, used)) = Value::parse(data) else { return };
    assert!(used <= data.len() && used > 0);
    for k in [0, used / 2, used.saturating_sub(2), used - 1] {
        assert_eq!(Value::parse(&data[..k]), Err(ParseError::Incomplete), "prefix of {k} of {used} bytes");
    }
    let mut again = Vec::new();
    encode(&v, &mut again);
    let (w, used2) = Value::parse(&again).expect("re-encoded value parses");
    assert_eq!(used2, again.len());
    assert!(same(&v, &w), "{v:?} re-encoded as {:?} parsed as {w:?}", String::from_utf8_lossy(&again));
});
