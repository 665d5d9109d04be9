//! The `cjson` library scripts get: `cjson.encode`, `cjson.decode`, `cjson.null` and the
//! depth settings, with lua-cjson 2.1's rules (as bundled with Valkey): numbers as `%.14g`,
//! `/` escaped, a table is an array when its keys are exactly 1..n (holes allowed up to
//! lua-cjson's sparseness ratio), an empty table is `{}`, JSON null is `cjson.null`.

use mlua::{LightUserData, Lua, MultiValue, Table, Value};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

const DEFAULT_DEPTH: usize = 1000;

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn err(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::RuntimeError(msg.into())
}

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let encode_depth = Arc::new(AtomicUsize::new(DEFAULT_DEPTH));
    let decode_depth = Arc::new(AtomicUsize::new(DEFAULT_DEPTH));
    let ed = encode_depth.clone();
    t.raw_set(
        "encode",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(err("bad argument #1 to 'encode' (expected 1 argument)"));
            }
            let mut out = Vec::new();
            encode(&mut out, &args[0], 1, ed.load(Relaxed))?;
            lua.create_string(&out)
        })?,
    )?;
    let dd = decode_depth.clone();
    t.raw_set(
        "decode",
        lua.create_function(move |lua, args: MultiValue| {
            let text = match args.front() {
                Some(Value::String(s)) if args.len() == 1 => s.as_bytes().to_vec(),
                _ => return Err(err("bad argument #1 to 'decode' (expected 1 argument)")),
            };
            let mut p = Parser { s: &text, pos: 0, lua, max_depth: dd.load(Relaxed) };
            p.skip_ws();
            let v = p.value(1)?;
            p.skip_ws();
            if p.pos < p.s.len() {
                return Err(p.unexpected("the end"));
            }
            Ok(v)
        })?,
    )?;
    for (name, setting) in [("encode_max_depth", encode_depth), ("decode_max_depth", decode_depth)] {
        t.raw_set(
            name,
            lua.create_function(move |_, args: MultiValue| {
                if let Some(v) = args.front() {
                    let n = match v {
                        Value::Number(n) => *n as i64,
                        Value::Integer(n) => *n,
                        _ => return Err(err(format!("bad argument #1 to '{name}' (number expected)"))),
                    };
                    if n <= 0 {
                        return Err(err(format!(
                            "bad argument #1 to '{name}' (expected integer between 1 and 2147483647)"
                        )));
                    }
                    setting.store(n as usize, Relaxed);
                }
                Ok(setting.load(Relaxed) as f64)
            })?,
        )?;
    }
    // lua-cjson reuses its encode buffer between calls when set; nothing to keep here, but
    // scripts call it and read the setting back.
    let keep = Arc::new(std::sync::atomic::AtomicBool::new(true));
    t.raw_set(
        "encode_keep_buffer",
        lua.create_function(move |_, args: MultiValue| {
            match args.front() {
                Some(Value::Boolean(b)) => keep.store(*b, Relaxed),
                Some(Value::Nil) | None => {}
                Some(_) => return Err(err("bad argument #1 to 'encode_keep_buffer' (boolean expected)")),
            }
            Ok(keep.load(Relaxed))
        })?,
    )?;
    t.raw_set("null", null())?;
    Ok(t)
}

fn encode(out: &mut Vec<u8>, v: &Value, depth: usize, max_depth: usize) -> mlua::Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => encode_number(out, *n)?,
        Value::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => encode_string(out, &s.as_bytes()),
        Value::Table(t) => {
            if depth > max_depth {
                return Err(err(format!("Cannot serialise, excessive nesting ({depth})")));
            }
            match array_length(t)? {
                Some(len) => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        encode(out, &t.raw_get::<Value>(i)?, depth + 1, max_depth)?;
                    }
                    out.push(b']');
                }
                None => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.pairs::<Value, Value>() {
                        let (k, v) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => encode_string(out, &s.as_bytes()),
                            Value::Number(n) => {
                                out.push(b'"');
                                encode_number(out, *n)?;
                                out.push(b'"');
                            }
                            Value::Integer(n) => {
                                out.push(b'"');
                                out.extend_from_slice(n.to_string().as_bytes());
                                out.push(b'"');
                            }
                            _ => return Err(err("Cannot serialise table: table key must be a number or string")),
                        }
                        out.push(b':');
                        encode(out, &v, depth + 1, max_depth)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => return Err(err(format!("Cannot serialise {}: type not supported", other.type_name()))),
    }
    Ok(())
}

fn encode_number(out: &mut Vec<u8>, n: f64) -> mlua::Result<()> {
    if !n.is_finite() {
        return Err(err("Cannot serialise number: must not be NaN or Inf"));
    }
    out.extend_from_slice(super::convert::format_g14(n).as_bytes());
    Ok(())
}

/// `Some(n)` when the table is an array of length n (keys exactly positive integers, not
/// excessively sparse), `None` for an object. lua-cjson: ratio 2, safe below 10.
fn array_length(t: &Table) -> mlua::Result<Option<usize>> {
    let mut max = 0usize;
    let mut items = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Number(n) => n,
            Value::Integer(n) => n as f64,
            _ => return Ok(None),
        };
        if n < 1.0 || n.fract() != 0.0 {
            return Ok(None);
        }
        max = max.max(n as usize);
        items += 1;
    }
    if max > 10 && max > items * 2 {
        return Err(err("Cannot serialise table: excessively sparse array"));
    }
    Ok(if max == 0 { None } else { Some(max) })
}

fn encode_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

struct Parser<'s, 'l> {
    s: &'s [u8],
    pos: usize,
    lua: &'l Lua,
    max_depth: usize,
}

impl Parser<'_, '_> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn unexpected(&self, expected: &str) -> mlua::Error {
        let found = match self.s.get(self.pos) {
            None => "T_END".to_string(),
            Some(b'{') => "T_OBJ_BEGIN".into(),
            Some(b'}') => "T_OBJ_END".into(),
            Some(b'[') => "T_ARR_BEGIN".into(),
            Some(b']') => "T_ARR_END".into(),
            Some(b',') => "T_COMMA".into(),
            Some(b':') => "T_COLON".into(),
            Some(_) => "invalid token".into(),
        };
        err(format!("Expected {expected} but found {found} at character {}", self.pos + 1))
    }

    fn value(&mut self, depth: usize) -> mlua::Result<Value> {
        let Some(&c) = self.s.get(self.pos) else {
            return Err(self.unexpected("value"));
        };
        match c {
            b'{' | b'[' if depth > self.max_depth => {
                Err(err(format!("Found too many nested data structures ({depth}) at character {}", self.pos + 1)))
            }
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => Ok(Value::String(self.lua.create_string(self.string()?)?)),
            b't' if self.s[self.pos..].starts_with(b"true") => {
                self.pos += 4;
                Ok(Value::Boolean(true))
            }
            b'f' if self.s[self.pos..].starts_with(b"false") => {
                self.pos += 5;
                Ok(Value::Boolean(false))
            }
            b'n' if self.s[self.pos..].starts_with(b"null") => {
                self.pos += 4;
                Ok(null())
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(self.unexpected("value")),
        }
    }

    fn number(&mut self) -> mlua::Result<Value> {
        let start = self.pos;
        while self.pos < self.s.len() && matches!(self.s[self.pos], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        match text.parse::<f64>() {
            Ok(n) => Ok(Value::Number(n)),
            Err(_) => {
                self.pos = start;
                Err(self.unexpected("value"))
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.pos..self.pos + 4)?;
        let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
        self.pos += 4;
        Some(v)
    }

    fn string(&mut self) -> mlua::Result<Vec<u8>> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return Err(err(format!(
                    "Expected value but found unexpected end of string at character {}",
                    start + 1
                )));
            };
            self.pos += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return Err(err(format!(
                            "Expected value but found invalid escape code at character {}",
                            start + 1
                        )));
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let bad = || {
                                err(format!(
                                    "Expected value but found invalid unicode escape code at character {}",
                                    start + 1
                                ))
                            };
                            let mut cp = self.hex4().ok_or_else(bad)?;
                            if (0xD800..0xDC00).contains(&cp) {
                                if self.s.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Err(bad());
                                }
                                self.pos += 2;
                                let lo = self.hex4().ok_or_else(bad)?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(bad());
                                }
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            }
                            let ch = char::from_u32(cp).ok_or_else(bad)?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            return Err(err(format!(
                                "Expected value but found invalid escape code at character {}",
                                start + 1
                            )))
                        }
                    }
                }
                _ => out.push(c),
            }
        }
    }

    fn array(&mut self, depth: usize) -> mlua::Result<Value> {
        self.pos += 1;
        let t = self.lua.create_table()?;
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Value::Table(t));
        }
        let mut i = 1;
        loop {
            self.skip_ws();
            let v = self.value(depth + 1)?;
            t.raw_set(i, v)?;
            i += 1;
            self.skip_ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Table(t));
                }
                _ => return Err(self.unexpected("comma or array end")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> mlua::Result<Value> {
        self.pos += 1;
        let t = self.lua.create_table()?;
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Value::Table(t));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return Err(self.unexpected("object key string"));
            }
            let k = self.string()?;
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b':') {
                return Err(self.unexpected("colon"));
            }
            self.pos += 1;
            self.skip_ws();
            let v = self.value(depth + 1)?;
            t.raw_set(self.lua.create_string(&k)?, v)?;
            self.skip_ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Table(t));
                }
                _ => return Err(self.unexpected("comma or object end")),
            }
        }
    }
}
