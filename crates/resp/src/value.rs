//! A complete RESP2/RESP3 value and its parser, for the *client* side of the protocol: the
//! test harnesses, command-line tools, and the scripting engine (which reads the replies of
//! the commands a script calls, as Valkey does).

use crate::number::parse_i64;

/// Deepest nesting accepted; a reply nested deeper is treated as malformed rather than
/// recursing without bound.
pub const MAX_DEPTH: usize = 1024;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    /// RESP2 `$-1`/`*-1` and RESP3 `_`.
    Null,
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Set(Vec<Value>),
    Push(Vec<Value>),
    Double(f64),
    Bool(bool),
    Verbatim(Vec<u8>, Vec<u8>),
    BigNumber(Vec<u8>),
    /// An attribute map followed by the value it annotates.
    Attribute(Vec<(Value, Value)>, Box<Value>),
}

#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The buffer ends before the value does.
    Incomplete,
    /// Not valid RESP.
    Invalid,
}

impl Value {
    /// Parses one value from the front of `buf`, returning it and the bytes it used.
    pub fn parse(buf: &[u8]) -> Result<(Value, usize), ParseError> {
        let mut pos = 0;
        let v = parse_at(buf, &mut pos, 0)?;
        Ok((v, pos))
    }
}

fn line(buf: &[u8], pos: &mut usize) -> Result<std::ops::Range<usize>, ParseError> {
    let start = *pos;
    let rest = buf.get(start..).ok_or(ParseError::Incomplete)?;
    let cr = rest.windows(2).position(|w| w == b"\r\n").ok_or(ParseError::Incomplete)?;
    *pos = start + cr + 2;
    Ok(start..start + cr)
}

fn int_line(buf: &[u8], pos: &mut usize) -> Result<i64, ParseError> {
    let r = line(buf, pos)?;
    parse_i64(&buf[r]).ok_or(ParseError::Invalid)
}

fn blob(buf: &[u8], pos: &mut usize, len: i64) -> Result<Vec<u8>, ParseError> {
    let len = usize::try_from(len).map_err(|_| ParseError::Invalid)?;
    let end = pos.checked_add(len).ok_or(ParseError::Invalid)?;
    if buf.len() < end + 2 {
        return Err(ParseError::Incomplete);
    }
    if &buf[end..end + 2] != b"\r\n" {
        return Err(ParseError::Invalid);
    }
    let v = buf[*pos..end].to_vec();
    *pos = end + 2;
    Ok(v)
}

fn elements(buf: &[u8], pos: &mut usize, n: i64, depth: usize) -> Result<Vec<Value>, ParseError> {
    let n = usize::try_from(n).map_err(|_| ParseError::Invalid)?;
    let mut out = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        out.push(parse_at(buf, pos, depth + 1)?);
    }
    Ok(out)
}

fn pairs(buf: &[u8], pos: &mut usize, n: i64, depth: usize) -> Result<Vec<(Value, Value)>, ParseError> {
    let n = usize::try_from(n).map_err(|_| ParseError::Invalid)?;
    let mut out = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let k = parse_at(buf, pos, depth + 1)?;
        let v = parse_at(buf, pos, depth + 1)?;
        out.push((k, v));
    }
    Ok(out)
}

fn parse_at(buf: &[u8], pos: &mut usize, depth: usize) -> Result<Value, ParseError> {
    if depth > MAX_DEPTH {
        return Err(ParseError::Invalid);
    }
    let tag = *buf.get(*pos).ok_or(ParseError::Incomplete)?;
    *pos += 1;
    Ok(match tag {
        b'+' => Value::Simple(buf[line(buf, pos)?].to_vec()),
        b'-' => Value::Error(buf[line(buf, pos)?].to_vec()),
        b':' => Value::Int(int_line(buf, pos)?),
        b'$' => match int_line(buf, pos)? {
            -1 => Value::Null,
            n => Value::Bulk(blob(buf, pos, n)?),
        },
        b'*' => match int_line(buf, pos)? {
            -1 => Value::Null,
            n => Value::Array(elements(buf, pos, n, depth)?),
        },
        b'_' => {
            line(buf, pos)?;
            Value::Null
        }
        b'%' => {
            let n = int_line(buf, pos)?;
            Value::Map(pairs(buf, pos, n, depth)?)
        }
        b'~' => {
            let n = int_line(buf, pos)?;
            Value::Set(elements(buf, pos, n, depth)?)
        }
        b'>' => {
            let n = int_line(buf, pos)?;
            Value::Push(elements(buf, pos, n, depth)?)
        }
        b',' => {
            let r = line(buf, pos)?;
            let s = std::str::from_utf8(&buf[r]).map_err(|_| ParseError::Invalid)?;
            Value::Double(match s {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                _ => s.parse().map_err(|_| ParseError::Invalid)?,
            })
        }
        b'#' => match &buf[line(buf, pos)?] {
            b"t" => Value::Bool(true),
            b"f" => Value::Bool(false),
            _ => return Err(ParseError::Invalid),
        },
        b'=' => {
            let n = int_line(buf, pos)?;
            let body = blob(buf, pos, n)?;
            if body.len() < 4 || body[3] != b':' {
                return Err(ParseError::Invalid);
            }
            Value::Verbatim(body[..3].to_vec(), body[4..].to_vec())
        }
        b'(' => Value::BigNumber(buf[line(buf, pos)?].to_vec()),
        b'|' => {
            let n = int_line(buf, pos)?;
            let attrs = pairs(buf, pos, n, depth)?;
            let inner = parse_at(buf, pos, depth + 1)?;
            Value::Attribute(attrs, Box::new(inner))
        }
        _ => return Err(ParseError::Invalid),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Reply;

    #[test]
    fn parses_what_the_encoder_writes() {
        let mut r = Reply::new(true);
        r.map(1);
        r.bulk(b"k");
        r.array(3);
        r.int(-5);
        r.double(2.5);
        r.null();
        r.boolean(false);
        r.verbatim("txt", b"hello");
        let buf = r.as_bytes();
        let (v, used) = Value::parse(buf).unwrap();
        assert_eq!(
            v,
            Value::Map(vec![(
                Value::Bulk(b"k".to_vec()),
                Value::Array(vec![Value::Int(-5), Value::Double(2.5), Value::Null])
            )])
        );
        let (b, used2) = Value::parse(&buf[used..]).unwrap();
        assert_eq!(b, Value::Bool(false));
        let (t, _) = Value::parse(&buf[used + used2..]).unwrap();
        assert_eq!(t, Value::Verbatim(b"txt".to_vec(), b"hello".to_vec()));
    }

    #[test]
    fn incomplete_and_invalid() {
        assert_eq!(Value::parse(b"$5\r\nab"), Err(ParseError::Incomplete));
        assert_eq!(Value::parse(b"*2\r\n:1\r\n"), Err(ParseError::Incomplete));
        assert_eq!(Value::parse(b"?x\r\n"), Err(ParseError::Invalid));
        let deep = "*1\r\n".repeat(MAX_DEPTH + 2);
        assert_eq!(Value::parse(deep.as_bytes()), Err(ParseError::Invalid));
    }
}
