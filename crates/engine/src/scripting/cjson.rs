//! The `cjson` library scripts get (Lua CJSON 2.1.0 as Valkey embeds it): `encode`, `decode`,
//! `null`, `new` and the configuration functions (`encode_sparse_array`, `encode_max_depth`,
//! `decode_max_depth`, `encode_number_precision`, `encode_keep_buffer`,
//! `encode_invalid_numbers`, `decode_invalid_numbers`), whose settings last as long as the
//! Lua state (SCRIPT FLUSH resets them) and belong to the table they came with (`cjson.new()`
//! makes one with its own).
//!
//! As in Lua CJSON: numbers are printed with `%.14g` (or the configured precision) and read
//! with C's `strtod` (so hex, `inf` and `nan` decode unless `decode_invalid_numbers` is off);
//! a table is an array when its keys are all positive integers and not excessively sparse;
//! JSON null is a NULL light userdata; a NUL byte ends the text. Both directions walk without
//! recursion and keep the tables they are in inside a Lua table, so depth costs neither Rust
//! stack nor mlua references; Lua's stack is counted as Lua CJSON uses it, so "excessive
//! nesting" comes at the same depth.

use super::clib::{self, error, exact, type_name, Args, PairCopier, MAX_C_STACK};
use mlua::{LightUserData, Lua, Table, Value};
use parking_lot::Mutex;
use std::sync::Arc;

#[derive(Clone, Copy)]
struct Config {
    sparse_convert: i32,
    sparse_ratio: i32,
    sparse_safe: i32,
    encode_max_depth: i32,
    decode_max_depth: i32,
    /// 0: an error, 1: `nan`/`inf`, 2: `null`.
    encode_invalid_numbers: i32,
    decode_invalid_numbers: i32,
    encode_keep_buffer: i32,
    encode_number_precision: i32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            sparse_convert: 0,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: 0,
            decode_invalid_numbers: 1,
            encode_keep_buffer: 1,
            encode_number_precision: 14,
        }
    }
}

type Shared = Arc<Mutex<Config>>;

/// Which setting of a [`Config`] a configuration function reads and writes.
type Field = fn(&mut Config) -> &mut i32;

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    library_with(lua, PairCopier::new(lua)?)
}

fn library_with(lua: &Lua, pairs: PairCopier) -> mlua::Result<Table> {
    let cfg: Shared = Arc::new(Mutex::new(Config::default()));
    let t = lua.create_table()?;
    let c = cfg.clone();
    let p = pairs.clone();
    t.raw_set(
        "encode",
        clib::one(lua, move |a| {
            if a.n != 1 {
                return Err(a.arg_error(1, "expected 1 argument"));
            }
            let v = a.get(1)?.unwrap_or(Value::Nil);
            let cfg = *c.lock();
            let out = Encoder::new(a.lua, cfg, &p).encode(v)?;
            Ok(Value::String(a.lua.create_string(&out)?))
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "decode",
        clib::one(lua, move |a| {
            if a.n != 1 {
                return Err(a.arg_error(1, "expected 1 argument"));
            }
            let cfg = *c.lock();
            let text = a.bytes(1)?;
            decode(a.lua, cfg, text)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "encode_sparse_array",
        clib::many(lua, move |a| {
            arg_count(a, 3)?;
            let mut cfg = c.lock();
            let convert = enum_option(a, 1, &mut cfg.sparse_convert, BOOL_OPTIONS)?;
            let ratio = integer_option(a, 2, &mut cfg.sparse_ratio, 0, i32::MAX)?;
            let safe = integer_option(a, 3, &mut cfg.sparse_safe, 0, i32::MAX)?;
            let out = a.lua.create_table()?;
            out.raw_set(1, convert)?;
            out.raw_set(2, ratio)?;
            out.raw_set(3, safe)?;
            Ok((out, 3))
        })?,
    )?;
    let integers: [(&str, Field, i32); 3] = [
        ("encode_max_depth", |c| &mut c.encode_max_depth, i32::MAX),
        ("decode_max_depth", |c| &mut c.decode_max_depth, i32::MAX),
        ("encode_number_precision", |c| &mut c.encode_number_precision, 14),
    ];
    for (name, field, max) in integers {
        let c = cfg.clone();
        t.raw_set(
            name,
            clib::one(lua, move |a| {
                arg_count(a, 1)?;
                integer_option(a, 1, field(&mut c.lock()), 1, max)
            })?,
        )?;
    }
    let enums: [(&str, Field, &'static [&'static str]); 3] = [
        ("encode_keep_buffer", |c| &mut c.encode_keep_buffer, BOOL_OPTIONS),
        ("encode_invalid_numbers", |c| &mut c.encode_invalid_numbers, &["off", "on", "null"]),
        ("decode_invalid_numbers", |c| &mut c.decode_invalid_numbers, BOOL_OPTIONS),
    ];
    for (name, field, options) in enums {
        let c = cfg.clone();
        t.raw_set(
            name,
            clib::one(lua, move |a| {
                arg_count(a, 1)?;
                enum_option(a, 1, field(&mut c.lock()), options)
            })?,
        )?;
    }
    t.raw_set("new", lua.create_function(move |lua, ()| library_with(lua, pairs.clone()))?)?;
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

const BOOL_OPTIONS: &[&str] = &["off", "on"];

/// A configuration function takes at most `max` arguments.
fn arg_count(a: &Args, max: usize) -> mlua::Result<()> {
    if a.n > max {
        return Err(a.arg_error(max as i64 + 1, "found too many arguments"));
    }
    Ok(())
}

/// An integer setting: set from argument `i` unless it is nil; returns the setting.
fn integer_option(a: &Args, i: usize, setting: &mut i32, min: i32, max: i32) -> mlua::Result<Value> {
    if !matches!(a.get(i)?, None | Some(Value::Nil)) {
        // The C library stores a lua_Integer in an int.
        let v = a.integer(i)? as i32;
        if v < min || v > max {
            // (Sic: always reported as argument 1.)
            return Err(a.arg_error(1, format!("expected integer between {min} and {max}")));
        }
        *setting = v;
    }
    Ok(Value::Integer(i64::from(*setting)))
}

/// An option by name, or a boolean for off/on; returns the setting the same way.
fn enum_option(a: &Args, i: usize, setting: &mut i32, options: &[&str]) -> mlua::Result<Value> {
    match a.get(i)? {
        None | Some(Value::Nil) => {}
        Some(Value::Boolean(b)) => *setting = i32::from(b),
        Some(v) => {
            let Some(name) = clib::to_bytes(Some(&v)) else {
                return Err(a.type_error(i, "string", Some(&v)));
            };
            let name = name.split(|&b| b == 0).next().unwrap_or_default();
            match options.iter().position(|o| o.as_bytes() == name) {
                Some(n) => *setting = n as i32,
                None => {
                    let mut msg = b"invalid option '".to_vec();
                    msg.extend_from_slice(name);
                    msg.push(b'\'');
                    return Err(a.arg_error(i as i64, &msg));
                }
            }
        }
    }
    Ok(if *setting <= 1 {
        Value::Boolean(*setting == 1)
    } else {
        Value::String(a.lua.create_string(options[*setting as usize])?)
    })
}

/// A table being written: an array (read from the table kept in `spill[slot]`) or an
/// object (its pairs copied to `spill[base..]` when it was reached).
enum Frame {
    Array { slot: i64, next: i64, len: i64, depth: i32, top: usize },
    Object { base: i64, next: i64, count: i64, depth: i32, top: usize },
}

struct Encoder<'l> {
    lua: &'l Lua,
    cfg: Config,
    pairs: &'l PairCopier,
    out: Vec<u8>,
    spill: Option<Table>,
    spill_top: i64,
    frames: Vec<Frame>,
    /// The table of the innermost array frame, while it is innermost.
    array: Option<Table>,
}

impl<'l> Encoder<'l> {
    fn new(lua: &'l Lua, cfg: Config, pairs: &'l PairCopier) -> Encoder<'l> {
        Encoder { lua, cfg, pairs, out: Vec::new(), spill: None, spill_top: 0, frames: Vec::new(), array: None }
    }

    fn spill(&mut self) -> mlua::Result<Table> {
        if self.spill.is_none() {
            self.spill = Some(self.lua.create_table()?);
        }
        Ok(self.spill.clone().expect("just created"))
    }

    fn encode(mut self, v: Value) -> mlua::Result<Vec<u8>> {
        // The value is the only slot on the Lua stack of `encode`.
        self.visit(v, 0, 1)?;
        while let Some(frame) = self.frames.last_mut() {
            match frame {
                Frame::Array { slot, next, len, depth, top } => {
                    if *next > *len {
                        self.out.push(b']');
                        self.spill_top = *slot - 1;
                        self.frames.pop();
                        self.array = None;
                        continue;
                    }
                    let (i, depth, top, slot) = (*next, *depth, *top, *slot);
                    *next += 1;
                    if i > 1 {
                        self.out.push(b',');
                    }
                    if self.array.is_none() {
                        self.array = Some(self.spill()?.raw_get(slot)?);
                    }
                    let t = self.array.as_ref().expect("just fetched");
                    let v = exact(t, i, t.raw_get(i)?)?;
                    // On the stack: the element.
                    self.visit(v, depth, top + 1)?;
                }
                Frame::Object { base, next, count, depth, top } => {
                    if *next == *count {
                        self.out.push(b'}');
                        self.spill_top = *base - 1;
                        self.frames.pop();
                        continue;
                    }
                    let (at, first, depth, top) = (*base + 2 * *next, *next == 0, *depth, *top);
                    *next += 1;
                    if !first {
                        self.out.push(b',');
                    }
                    let spill = self.spill()?;
                    let k = exact(&spill, at, spill.raw_get(at)?)?;
                    let v = exact(&spill, at + 1, spill.raw_get(at + 1)?)?;
                    match &k {
                        Value::Number(_) | Value::Integer(_) => {
                            self.out.push(b'"');
                            self.number(number_of(&k))?;
                            self.out.extend_from_slice(b"\":");
                        }
                        Value::String(s) => {
                            encode_string(&mut self.out, &s.as_bytes());
                            self.out.push(b':');
                        }
                        other => {
                            return Err(error(format!(
                                "Cannot serialise {}: table key must be a number or string",
                                type_name(other)
                            )))
                        }
                    }
                    // On the stack: the key and the value.
                    self.visit(v, depth, top + 2)?;
                }
            }
        }
        Ok(self.out)
    }

    /// Writes a value, or opens the frame of a table. `depth` is the nesting it is found at,
    /// `top` the Lua stack Lua CJSON would be using with it on top.
    fn visit(&mut self, v: Value, depth: i32, top: usize) -> mlua::Result<()> {
        match v {
            Value::String(s) => encode_string(&mut self.out, &s.as_bytes()),
            Value::Number(_) | Value::Integer(_) => self.number(number_of(&v))?,
            Value::Boolean(b) => self.out.extend_from_slice(if b { b"true" } else { b"false" }),
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::LightUserData(p) if p.0.is_null() => self.out.extend_from_slice(b"null"),
            Value::Table(t) => {
                let depth = depth + 1;
                if depth > self.cfg.encode_max_depth || top + 3 > MAX_C_STACK {
                    return Err(error(format!("Cannot serialise, excessive nesting ({depth})")));
                }
                let len = self.array_length(&t)?;
                let spill = self.spill()?;
                if len > 0 {
                    self.out.push(b'[');
                    self.spill_top += 1;
                    let slot = self.spill_top;
                    spill.raw_set(slot, &t)?;
                    self.frames.push(Frame::Array { slot, next: 1, len: i64::from(len), depth, top });
                    self.array = Some(t);
                } else {
                    self.out.push(b'{');
                    let base = self.spill_top + 1;
                    let count = self.pairs.copy(&t, &spill, base)?;
                    self.spill_top = base + 2 * count - 1;
                    self.frames.push(Frame::Object { base, next: 0, count, depth, top });
                    self.array = None;
                }
            }
            other => return Err(error(format!("Cannot serialise {}: type not supported", type_name(&other)))),
        }
        Ok(())
    }

    /// The array length Lua CJSON finds: the largest key when every key is a positive integer
    /// (its `int` arithmetic included), -1 for an object (or a sparse array it converts).
    fn array_length(&self, t: &Table) -> mlua::Result<i32> {
        let (mut max, mut items, mut object) = (0i32, 0i32, false);
        t.for_each(|k: Value, _: Value| {
            if object {
                return Ok(());
            }
            match k {
                Value::Integer(_) | Value::Number(_) => {
                    let k = number_of(&k);
                    if k != 0.0 && k.floor() == k && k >= 1.0 {
                        if k > f64::from(max) {
                            max = clib::c_i32(k);
                        }
                        items = items.wrapping_add(1);
                    } else {
                        object = true;
                    }
                }
                _ => object = true,
            }
            Ok(())
        })?;
        if object {
            return Ok(-1);
        }
        let cfg = &self.cfg;
        if cfg.sparse_ratio > 0 && max > items.wrapping_mul(cfg.sparse_ratio) && max > cfg.sparse_safe {
            if cfg.sparse_convert == 0 {
                return Err(error("Cannot serialise table: excessively sparse array"));
            }
            return Ok(-1);
        }
        Ok(max)
    }

    fn number(&mut self, n: f64) -> mlua::Result<()> {
        match self.cfg.encode_invalid_numbers {
            0 if !n.is_finite() => return Err(error("Cannot serialise number: must not be NaN or Inf")),
            1 if n.is_nan() => {
                self.out.extend_from_slice(b"nan");
                return Ok(());
            }
            2 if !n.is_finite() => {
                self.out.extend_from_slice(b"null");
                return Ok(());
            }
            _ => {}
        }
        format_g(&mut self.out, n, self.cfg.encode_number_precision);
        Ok(())
    }
}

fn number_of(v: &Value) -> f64 {
    match v {
        Value::Integer(n) => *n as f64,
        Value::Number(n) => *n,
        _ => f64::NAN,
    }
}

/// C's `%.<precision>g`.
fn format_g(out: &mut Vec<u8>, n: f64, precision: i32) {
    let fmt = format!("%.{}g\0", precision.clamp(1, 14));
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is 64 bytes and `%.14g` of a double is at most ~25; snprintf
    // NUL-terminates within the size it is given; the format is NUL-terminated.
    let len = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr().cast(), n) };
    out.extend_from_slice(&buf[..(len.max(0) as usize).min(buf.len() - 1)]);
}

fn encode_string(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
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

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(e) => e,
        }
    }
}

#[derive(Clone, Copy)]
struct Token {
    tok: Tok,
    /// Where it starts (or where the error is), 0-based.
    index: usize,
}

struct Parser<'l> {
    lua: &'l Lua,
    cfg: Config,
    /// The text with a NUL after it: C reads up to the first NUL.
    s: Vec<u8>,
    pos: usize,
    /// The last string token.
    text: Vec<u8>,
}

/// An open array (with its next index) or object (whose key is pending), with the Lua stack
/// Lua CJSON uses below its elements.
enum Open {
    Array { next: i64, top: usize },
    Object { top: usize },
}

fn decode(lua: &Lua, cfg: Config, text: Vec<u8>) -> mlua::Result<Value> {
    if text.len() >= 2 && (text[0] == 0 || text[1] == 0) {
        return Err(error("JSON parser does not support UTF-16 or UTF-32"));
    }
    let mut s = text;
    s.push(0);
    let mut p = Parser { lua, cfg, s, pos: 0, text: Vec::new() };
    p.parse()
}

impl Parser<'_> {
    fn at(&self, i: usize) -> u8 {
        self.s.get(i).copied().unwrap_or(0)
    }

    fn unexpected(&self, expected: &str, t: Token) -> mlua::Error {
        error(format!("Expected {expected} but found {} at character {}", t.tok.name(), (t.index + 1) as i32))
    }

    fn next(&mut self) -> Token {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let index = self.pos;
        let c = self.at(self.pos);
        let single = match c {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(tok) = single {
            self.pos += 1;
            return Token { tok, index };
        }
        let tok = match c {
            0 => Tok::End,
            b'"' => return self.string(),
            b'-' | b'0'..=b'9' => {
                if self.cfg.decode_invalid_numbers == 0 && self.invalid_number() {
                    Tok::Error("invalid number")
                } else {
                    return self.number();
                }
            }
            b't' | b'f' | b'n' | b'i' | b'I' | b'N' | b'+' => {
                let rest = &self.s[self.pos..];
                let word = [(&b"true"[..], Tok::Bool(true)), (b"false", Tok::Bool(false)), (b"null", Tok::Null)]
                    .into_iter()
                    .find(|(w, _)| rest.starts_with(w));
                if let Some((w, tok)) = word {
                    self.pos += w.len();
                    tok
                } else if self.cfg.decode_invalid_numbers != 0 && self.invalid_number() {
                    return self.number();
                } else {
                    Tok::Error("invalid token")
                }
            }
            _ => Tok::Error("invalid token"),
        };
        Token { tok, index: if matches!(tok, Tok::Error(_)) { self.pos } else { index } }
    }

    /// Lua CJSON's test for what strtod reads but JSON does not allow: a leading `+`, hex,
    /// leading zeros, inf and nan.
    fn invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return c2 | 0x20 == b'x' || c2.is_ascii_digit();
        }
        // (A C char: bytes from 0x80 are negative, so below '9'.)
        if (c as i8) <= b'9' as i8 {
            return false;
        }
        let word = |w: &[u8]| w.iter().enumerate().all(|(i, &x)| self.at(p + i).to_ascii_lowercase() == x);
        word(b"inf") || word(b"nan")
    }

    fn number(&mut self) -> Token {
        let index = self.pos;
        let start = self.s[self.pos..].as_ptr().cast::<libc::c_char>();
        let mut end: *mut libc::c_char = std::ptr::null_mut();
        // SAFETY: `s` ends with a NUL, so strtod reads within it; `end` points into it.
        let n = unsafe { libc::strtod(start, &mut end) };
        let used = (end as usize).wrapping_sub(start as usize);
        if end.is_null() || used == 0 {
            return Token { tok: Tok::Error("invalid number"), index };
        }
        self.pos += used;
        Token { tok: Tok::Num(n), index }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut v = 0u32;
        for i in 0..4 {
            let c = self.at(at + i);
            let d = match c {
                b'0'..=b'9' => c - b'0',
                _ if (b'a'..=b'f').contains(&(c | 0x20)) => (c | 0x20) - b'a' + 10,
                _ => return None,
            };
            v = v << 4 | u32::from(d);
        }
        Some(v)
    }

    /// `\uXXXX` (or a surrogate pair) at `pos`, appended as UTF-8; the length read.
    fn unicode_escape(&mut self) -> Option<usize> {
        let mut cp = self.hex4(self.pos + 2)?;
        let mut len = 6;
        if cp & 0xf800 == 0xd800 {
            if cp & 0x400 != 0 || self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return None;
            }
            let low = self.hex4(self.pos + 8)?;
            if low & 0xfc00 != 0xdc00 {
                return None;
            }
            cp = (((cp & 0x3ff) << 10) | (low & 0x3ff)) + 0x10000;
            len = 12;
        }
        let mut buf = [0u8; 4];
        let n = if cp <= 0x7f {
            buf[0] = cp as u8;
            1
        } else if cp <= 0x7ff {
            buf[..2].copy_from_slice(&[(cp >> 6) as u8 | 0xc0, (cp & 0x3f) as u8 | 0x80]);
            2
        } else if cp <= 0xffff {
            buf[..3].copy_from_slice(&[
                (cp >> 12) as u8 | 0xe0,
                ((cp >> 6) & 0x3f) as u8 | 0x80,
                (cp & 0x3f) as u8 | 0x80,
            ]);
            3
        } else {
            buf.copy_from_slice(&[
                (cp >> 18) as u8 | 0xf0,
                ((cp >> 12) & 0x3f) as u8 | 0x80,
                ((cp >> 6) & 0x3f) as u8 | 0x80,
                (cp & 0x3f) as u8 | 0x80,
            ]);
            4
        };
        self.text.extend_from_slice(&buf[..n]);
        Some(len)
    }

    fn string(&mut self) -> Token {
        let index = self.pos;
        self.pos += 1;
        self.text.clear();
        loop {
            let c = self.at(self.pos);
            match c {
                b'"' => break,
                0 => return Token { tok: Tok::Error("unexpected end of string"), index: self.pos },
                b'\\' => {
                    let e = match self.at(self.pos + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b't' => b'\t',
                        b'n' => b'\n',
                        b'f' => 0x0c,
                        b'r' => b'\r',
                        b'u' => {
                            match self.unicode_escape() {
                                Some(len) => self.pos += len,
                                None => {
                                    return Token { tok: Tok::Error("invalid unicode escape code"), index: self.pos }
                                }
                            }
                            continue;
                        }
                        _ => return Token { tok: Tok::Error("invalid escape code"), index: self.pos },
                    };
                    self.text.push(e);
                    self.pos += 2;
                }
                _ => {
                    self.text.push(c);
                    self.pos += 1;
                }
            }
        }
        self.pos += 1;
        Token { tok: Tok::Str, index }
    }

    /// An object key and its colon; the token after them is next.
    fn key(&mut self, t: Token) -> mlua::Result<mlua::String> {
        if t.tok != Tok::Str {
            return Err(self.unexpected("object key string", t));
        }
        let key = self.lua.create_string(&self.text)?;
        let colon = self.next();
        if colon.tok != Tok::Colon {
            return Err(self.unexpected("colon", colon));
        }
        Ok(key)
    }

    fn parse(&mut self) -> mlua::Result<Value> {
        let mut open: Vec<Open> = Vec::new();
        // The innermost open table and its pending key; the outer ones are in `spill`.
        let mut table: Option<Table> = None;
        let mut key: Option<mlua::String> = None;
        let mut spill: Option<Table> = None;
        let mut t = self.next();
        loop {
            let mut v = match t.tok {
                Tok::Str => Value::String(self.lua.create_string(&self.text)?),
                Tok::Num(n) => Value::Number(n),
                Tok::Bool(b) => Value::Boolean(b),
                Tok::Null => null(),
                Tok::ObjBegin | Tok::ArrBegin => {
                    let is_object = t.tok == Tok::ObjBegin;
                    // The stack below: the text, and per open level its table (and key).
                    let top = match open.last() {
                        None => 1,
                        Some(Open::Array { top, .. }) => *top,
                        Some(Open::Object { top }) => *top + 1,
                    };
                    let depth = open.len() + 1;
                    let slots = if is_object { 3 } else { 2 };
                    if depth as i64 > i64::from(self.cfg.decode_max_depth) || top + slots > MAX_C_STACK {
                        return Err(error(format!(
                            "Found too many nested data structures ({}) at character {}",
                            depth as i32, self.pos as i32
                        )));
                    }
                    let new = self.lua.create_table()?;
                    if let Some(parent) = table.replace(new) {
                        let sp = match &spill {
                            Some(sp) => sp.clone(),
                            None => spill.insert(self.lua.create_table()?).clone(),
                        };
                        let d = open.len() as i64;
                        sp.raw_set(2 * d - 1, parent)?;
                        sp.raw_set(2 * d, key.take())?;
                    }
                    open.push(if is_object {
                        Open::Object { top: top + 1 }
                    } else {
                        Open::Array { next: 1, top: top + 1 }
                    });
                    t = self.next();
                    let empty = if is_object { t.tok == Tok::ObjEnd } else { t.tok == Tok::ArrEnd };
                    if !empty {
                        if is_object {
                            key = Some(self.key(t)?);
                            t = self.next();
                        }
                        continue;
                    }
                    Value::Table(self.close(&mut open, &mut table, &mut key, &spill)?)
                }
                _ => return Err(self.unexpected("value", t)),
            };
            // Store the value in the open table; a closed table is a value for the one
            // above it.
            loop {
                let Some(frame) = open.last_mut() else {
                    let end = self.next();
                    if end.tok != Tok::End {
                        return Err(self.unexpected("the end", end));
                    }
                    return Ok(v);
                };
                let tab = table.as_ref().expect("an open table is being filled");
                let is_array = match frame {
                    Open::Array { next, .. } => {
                        tab.raw_set(*next, v)?;
                        *next += 1;
                        true
                    }
                    Open::Object { .. } => {
                        tab.raw_set(key.take(), v)?;
                        false
                    }
                };
                let after = self.next();
                let closes = if is_array { after.tok == Tok::ArrEnd } else { after.tok == Tok::ObjEnd };
                if closes {
                    v = Value::Table(self.close(&mut open, &mut table, &mut key, &spill)?);
                    continue;
                }
                if after.tok != Tok::Comma {
                    let expected = if is_array { "comma or array end" } else { "comma or object end" };
                    return Err(self.unexpected(expected, after));
                }
                t = self.next();
                if !is_array {
                    key = Some(self.key(t)?);
                    t = self.next();
                }
                break;
            }
        }
    }

    /// Closes the innermost table: returns it, and makes the one above it current again.
    fn close(
        &self,
        open: &mut Vec<Open>,
        table: &mut Option<Table>,
        key: &mut Option<mlua::String>,
        spill: &Option<Table>,
    ) -> mlua::Result<Table> {
        open.pop();
        let done = table.take().expect("an open table is being filled");
        let d = open.len() as i64;
        if d > 0 {
            let sp = spill.as_ref().expect("outer tables are spilled");
            *table = Some(sp.raw_get(2 * d - 1)?);
            *key = sp.raw_get(2 * d)?;
            sp.raw_set(2 * d - 1, Value::Nil)?;
            sp.raw_set(2 * d, Value::Nil)?;
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lua() -> Lua {
        crate::scripting::clib::test_support::lua_with("cjson", library)
    }

    fn eval(lua: &Lua, code: &str) -> String {
        match lua.load(code).eval::<mlua::String>() {
            Ok(s) => s.to_str().unwrap().to_string(),
            Err(e) => panic!("{code}: {e}"),
        }
    }

    use crate::scripting::clib::test_support::error_of as err;

    #[test]
    fn encodes_as_lua_cjson() {
        let lua = lua();
        assert_eq!(eval(&lua, "return cjson.encode({1, 2, 'a/b'})"), r#"[1,2,"a\/b"]"#);
        assert_eq!(eval(&lua, "return cjson.encode({})"), "{}");
        assert_eq!(eval(&lua, "return cjson.encode({a = 1.5})"), r#"{"a":1.5}"#);
        assert_eq!(eval(&lua, "return cjson.encode({[1] = 'x', [3] = 'z'})"), r#"["x",null,"z"]"#);
        assert_eq!(
            eval(&lua, "return cjson.encode({1e-20, 0.1, -0.0, 2^53, 1/3})"),
            "[1e-20,0.1,-0,9.007199254741e+15,0.33333333333333]"
        );
        assert_eq!(eval(&lua, "return cjson.encode('\\0\\1\\127\\t\"\\\\')"), r#""\u0000\u0001\u007f\t\"\\""#);
        assert_eq!(eval(&lua, "return cjson.encode({cjson.null, true, false})"), "[null,true,false]");
        assert_eq!(eval(&lua, "return cjson.encode({[2.5] = 1})"), r#"{"2.5":1}"#);
        assert_eq!(
            eval(&lua, "return cjson.encode({[1e-20] = 1e-300})"),
            r#"{"1e-20":1e-300}"#,
            "exact keys and values"
        );
    }

    #[test]
    fn configuration_functions() {
        let lua = lua();
        assert!(err(&lua, "cjson.encode({0/0})").contains("Cannot serialise number: must not be NaN or Inf"));
        assert_eq!(
            eval(&lua, "cjson.encode_invalid_numbers(true) return cjson.encode({0/0, 1/0, -1/0})"),
            "[nan,inf,-inf]"
        );
        assert_eq!(eval(&lua, "return tostring(cjson.encode_invalid_numbers('null'))"), "null");
        assert_eq!(eval(&lua, "return cjson.encode({0/0, 1/0, [3] = 1})"), "[null,null,1]");
        assert_eq!(eval(&lua, "return tostring(cjson.encode_invalid_numbers(false))"), "false");
        assert_eq!(
            eval(&lua, "cjson.encode_number_precision(3) return cjson.encode({1/3, 1234.5})"),
            "[0.333,1.23e+03]"
        );
        assert_eq!(eval(&lua, "return tostring(cjson.encode_number_precision())"), "3");
        assert!(err(&lua, "cjson.encode_number_precision(15)")
            .contains("bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)"));
        assert!(err(&lua, "cjson.encode({[20] = 1})").contains("Cannot serialise table: excessively sparse array"));
        assert_eq!(eval(&lua, "cjson.encode_sparse_array(true) return cjson.encode({[20] = 1})"), r#"{"20":1}"#);
        assert_eq!(
            eval(&lua, "local a, b, c = cjson.encode_sparse_array(nil, 0) return tostring(a) .. b .. c"),
            "true010"
        );
        assert_eq!(
            eval(&lua, "return cjson.encode({[20] = 1})"),
            "[null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,1]"
        );
        assert!(err(&lua, "cjson.encode_keep_buffer('maybe')")
            .contains("bad argument #1 to 'encode_keep_buffer' (invalid option 'maybe')"));
        assert!(err(&lua, "cjson.encode_max_depth(1, 2)")
            .contains("bad argument #2 to 'encode_max_depth' (found too many arguments)"));
        assert!(err(&lua, "cjson.encode_max_depth(2) cjson.encode({{{1}}})")
            .contains("Cannot serialise, excessive nesting (3)"));
        assert!(err(&lua, "cjson.decode_max_depth(2) cjson.decode('[[[1]]]')")
            .contains("Found too many nested data structures (3) at character 3"));
        let v: bool = lua.load("return cjson.decode_invalid_numbers()").eval().unwrap();
        assert!(v, "on by default");
        assert_eq!(eval(&lua, "return tostring(cjson.decode('0x10') + cjson.decode('-Infinity'))"), "-inf");
        assert!(err(&lua, "cjson.decode_invalid_numbers(false) cjson.decode('0x10')")
            .contains("Expected value but found invalid number at character 1"));
    }

    #[test]
    fn new_tables_have_their_own_settings() {
        let lua = lua();
        assert_eq!(
            eval(&lua, "local j = cjson.new() j.encode_invalid_numbers('null') return j.encode({0/0})"),
            "[null]"
        );
        assert!(err(&lua, "cjson.encode({0/0})").contains("must not be NaN or Inf"));
    }

    #[test]
    fn decodes_as_lua_cjson() {
        let lua = lua();
        assert_eq!(
            eval(&lua, "return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')"),
            "0 -5000 -1 0.0003 1023.2 0"
        );
        assert_eq!(
            eval(
                &lua,
                r#"local t = cjson.decode('{"a":[1,null,"x"],"b":{"c":"\\u00e9\\ud83d\\ude00"}}') return tostring(t.a[2] == cjson.null) .. t.a[3] .. t.b.c"#
            ),
            "truexé😀"
        );
        assert!(
            err(&lua, "return cjson.decode('\"a\\0b\"')").contains("unexpected end of string at character 3"),
            "the text ends at a NUL"
        );
        assert_eq!(eval(&lua, "return tostring(cjson.decode('[1]\\0garbage')[1])"), "1");
        assert!(err(&lua, "cjson.decode('[1,')").contains("Expected value but found T_END at character 4"));
        assert!(err(&lua, "cjson.decode('[1,]')").contains("Expected value but found T_ARR_END at character 4"));
        assert!(
            err(&lua, "cjson.decode('{1:2}')").contains("Expected object key string but found T_NUMBER at character 2")
        );
        assert!(err(&lua, "cjson.decode('{\"a\" 2}')").contains("Expected colon but found T_NUMBER at character 6"));
        assert!(err(&lua, "cjson.decode('[1 2]')")
            .contains("Expected comma or array end but found T_NUMBER at character 4"));
        assert!(err(&lua, "cjson.decode('{\"a\":1 \"b\"}')")
            .contains("Expected comma or object end but found T_STRING at character 8"));
        assert!(err(&lua, "cjson.decode('1 2')").contains("Expected the end but found T_NUMBER at character 3"));
        assert!(err(&lua, "cjson.decode('\"ab')")
            .contains("Expected value but found unexpected end of string at character 4"));
        assert!(err(&lua, "cjson.decode('\"a\\\\q\"')")
            .contains("Expected value but found invalid escape code at character 3"));
        assert!(err(&lua, "cjson.decode('\"\\\\udc00\"')").contains("invalid unicode escape code at character 2"));
        assert!(err(&lua, "cjson.decode('nul')").contains("Expected value but found invalid token at character 1"));
        assert!(err(&lua, "cjson.decode('a\\0')").contains("JSON parser does not support UTF-16 or UTF-32"));
        assert!(err(&lua, "cjson.decode()").contains("bad argument #1 to 'decode' (expected 1 argument)"));
        assert!(err(&lua, "cjson.decode({})").contains("bad argument #1 to 'decode' (string expected, got table)"));
    }

    #[test]
    fn depth_costs_no_rust_stack_or_references() {
        let lua = lua();
        // Arrays use one Lua stack slot per level when decoding, two when encoding objects:
        // deep enough to overflow a recursive Rust walk on a test thread.
        let (len, depth): (i64, i64) = lua
            .load(
                "cjson.decode_max_depth(100000) cjson.encode_max_depth(100000) \
                 local t = cjson.decode(string.rep('[', 7998) .. string.rep(']', 7998)) \
                 local d = 1 while t[1] do t = t[1] d = d + 1 end \
                 return #cjson.encode(cjson.decode(string.rep('[', 7997) .. string.rep(']', 7997))), d",
            )
            .eval()
            .unwrap();
        assert_eq!((len, depth), (2 * 7997, 7998), "the innermost empty table encodes as {{}}");
        assert!(err(&lua, "cjson.decode(string.rep('[', 7999) .. string.rep(']', 7999))")
            .contains("Found too many nested data structures (7999)"));
        assert!(err(&lua, "cjson.encode(cjson.decode(string.rep('[', 7998) .. string.rep(']', 7998)))")
            .contains("Cannot serialise, excessive nesting (7998)"));
        assert!(err(&lua, "local t = {} for i = 1, 5000 do t = {a = t} end cjson.encode(t)")
            .contains("Cannot serialise, excessive nesting (4000)"));
    }
}
