//! The `cmsgpack` library scripts get (lua-cmsgpack 0.4.0 as Valkey embeds it): MessagePack
//! from Lua values and back.
//!
//! Packing: a number that is an integer (as an int64) packs as the smallest int format, any
//! other as a float32 when that is lossless, else a float64; a table whose keys are exactly
//! 1..n packs as an array, any other as a map (in `next` order); strings use the str formats;
//! functions and other values pack as nil. Tables nested 16 deep pack as nil, which is what
//! makes a table that contains itself packable. Unpacking reads those formats (not bin or ext,
//! which are "bad data format"), several values one after the other, and returns them all, or
//! with `unpack_one` / `unpack_limit` a limited number and the offset to go on from.
//!
//! Unpacking walks the input without recursion and keeps the tables it is filling in a Lua
//! table rather than as mlua references, so neither the Rust stack nor mlua's reference stack
//! depends on the nesting of the input; the Lua stack the C library would use is counted, and
//! the library's "stack overflow" errors come where they come in Valkey.

use super::clib::{self, error, exact, stack_overflow, unpositioned, Args, PairCopier, MAX_C_STACK};
use mlua::{Lua, Table, Value};

/// `LUACMSGPACK_MAX_NESTING`: tables this deep pack as nil.
const MAX_NESTING: usize = 16;

const TOO_MANY_VALUES: &str = "too many return values at once; use unpack_one or unpack_limit instead.";

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let pairs = PairCopier::new(lua)?;
    t.raw_set("pack", clib::one(lua, move |a| pack(a, &pairs))?)?;
    t.raw_set("unpack", clib::many(lua, |a| unpack(a, 0, 0, a.n))?)?;
    t.raw_set(
        "unpack_one",
        clib::many(lua, |a| {
            let offset = a.opt_integer(2, 0)?;
            unpack(a, 1, offset, 1)
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        clib::many(lua, |a| {
            let limit = a.integer(2)?;
            let offset = a.opt_integer(3, 0)?;
            unpack(a, limit, offset, 1)
        })?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Redis Ltd.")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

/// `cmsgpack.pack(v1, v2, ...)`: the values packed one after the other.
fn pack(a: &Args, pairs: &PairCopier) -> mlua::Result<Value> {
    if a.n == 0 {
        return Err(a.arg_error(0, "MessagePack pack needs input."));
    }
    // The C library first makes room for as many results as arguments.
    if 2 * a.n > MAX_C_STACK {
        return Err(a.arg_error(0, "Too many arguments for MessagePack pack."));
    }
    let mut p = Packer { lua: a.lua, pairs, out: Vec::new() };
    for i in 1..=a.n {
        // On the stack: the arguments and one packed string per argument done.
        let top = a.n + i - 1;
        if top + 1 > MAX_C_STACK {
            return Err(stack_overflow("in function mp_check"));
        }
        let v = a.get(i)?.unwrap_or(Value::Nil);
        p.value(&v, 0, top + 1)?;
    }
    Ok(Value::String(a.lua.create_string(&p.out)?))
}

struct Packer<'a> {
    lua: &'a Lua,
    pairs: &'a PairCopier,
    out: Vec<u8>,
}

impl Packer<'_> {
    /// Packs `v`, found `level` tables deep; `top` counts the Lua stack slots the C library
    /// would be using with `v` on top of them.
    fn value(&mut self, v: &Value, level: usize, top: usize) -> mlua::Result<()> {
        let out = &mut self.out;
        match v {
            Value::String(s) => pack_bytes(out, &s.as_bytes()),
            Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
            Value::Integer(n) => pack_int(out, *n),
            Value::Number(n) => pack_number(out, *n),
            Value::Table(t) if level < MAX_NESTING => self.table(t, level, top)?,
            _ => out.push(0xc0),
        }
        Ok(())
    }

    fn table(&mut self, t: &Table, level: usize, top: usize) -> mlua::Result<()> {
        if top + 2 > MAX_C_STACK {
            return Err(stack_overflow("in function table_is_an_array"));
        }
        if is_array(t)? {
            let len = t.raw_len();
            pack_header(&mut self.out, len, 0x90, 0xdc);
            if top + 1 > MAX_C_STACK {
                return Err(stack_overflow("in function mp_encode_lua_table_as_array"));
            }
            for i in 1..=len {
                let v = exact(t, i, t.raw_get(i)?)?;
                self.value(&v, level + 1, top + 1)?;
            }
        } else {
            if top + 3 > MAX_C_STACK {
                return Err(stack_overflow("in function mp_encode_lua_table_as_map"));
            }
            let flat = self.lua.create_table()?;
            let n = self.pairs.copy(t, &flat, 1)?;
            pack_header(&mut self.out, n as usize, 0x80, 0xde);
            for i in 0..n {
                let (ki, vi) = (1 + 2 * i, 2 + 2 * i);
                let k = exact(&flat, ki, flat.raw_get(ki)?)?;
                let v = exact(&flat, vi, flat.raw_get(vi)?)?;
                // On the stack while a pair packs: the key, the value and a copy of the key.
                self.value(&k, level + 1, top + 3)?;
                self.value(&v, level + 1, top + 2)?;
            }
        }
        Ok(())
    }
}

fn pack_number(out: &mut Vec<u8>, n: f64) {
    let i = clib::c_i64(n);
    if !n.is_infinite() && i as f64 == n {
        pack_int(out, i);
    } else if n == f64::from(n as f32) {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn pack_int(out: &mut Vec<u8>, n: i64) {
    match n {
        0..=127 => out.push(n as u8),
        128..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        0x1_0000_0000.. => {
            out.push(0xcf);
            out.extend_from_slice(&n.to_be_bytes());
        }
        -32..=-1 => out.push(n as u8),
        -128..=-33 => out.extend_from_slice(&[0xd0, n as u8]),
        -32768..=-129 => {
            out.push(0xd1);
            out.extend_from_slice(&(n as i16).to_be_bytes());
        }
        -2_147_483_648..=-32769 => {
            out.push(0xd2);
            out.extend_from_slice(&(n as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn pack_bytes(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn pack_header(out: &mut Vec<u8>, n: usize, fix: u8, head16: u8) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(head16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(head16 + 1);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// Whether the keys are exactly 1..n (an empty table is an array).
fn is_array(t: &Table) -> mlua::Result<bool> {
    let (mut count, mut max, mut array) = (0i32, 0i32, true);
    t.for_each(|k: Value, _: Value| {
        if !array {
            return Ok(());
        }
        let n = match k {
            Value::Integer(n) => n as f64,
            Value::Number(n) => n,
            _ => f64::NAN,
        };
        if n.is_nan() || n <= 0.0 || n.is_infinite() || f64::from(clib::c_i32(n)) != n {
            array = false;
        } else {
            if n > f64::from(max) {
                max = clib::c_i32(n);
            }
            count = count.wrapping_add(1);
        }
        Ok(())
    })?;
    Ok(array && max == count)
}

/// `unpack(s)` (`limit` 0 and `offset` 0: every value, no offset returned), `unpack_one` and
/// `unpack_limit`. `base` is the Lua stack the C function starts decoding with.
fn unpack(a: &Args, limit: i64, offset: i64, base: usize) -> mlua::Result<(Table, usize)> {
    let s = a.bytes(1)?;
    let len = s.len();
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        // (Sic: the C library prints the input length as the limit.)
        return Err(error(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        )));
    }
    if offset as u64 > len as u64 {
        return Err(error(format!("Start offset {} greater than input length {}.", offset as i32, len as i32)));
    }
    let limit = if decode_all { i64::from(i32::MAX) } else { limit };
    let results = a.lua.create_table()?;
    let first = if decode_all { 1 } else { 2 };
    let mut u = Unpacker { lua: a.lua, s: &s, pos: offset as usize, top: base, spill: None };
    let mut count = 0usize;
    while u.pos < len && (count as i64) < limit {
        let v = u.value()?;
        results.raw_set(first + count, v)?;
        count += 1;
    }
    if decode_all {
        return Ok((results, count));
    }
    if u.top + 1 > MAX_C_STACK {
        return Err(stack_overflow("in function mp_unpack_full"));
    }
    let next = if u.pos == len { -1 } else { u.pos as i64 };
    results.raw_set(1, next)?;
    Ok((results, count + 1))
}

enum Item {
    Value(Value),
    Array(usize),
    Map(usize),
}

/// A table being filled: how many elements (pairs) are still to come.
enum Open {
    Array { left: usize, next: i64 },
    Map { left: usize, have_key: bool },
}

struct Unpacker<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    pos: usize,
    /// The Lua stack the C library would be using.
    top: usize,
    /// The tables being filled below the innermost one, with their pending keys:
    /// `spill[2d-1]`, `spill[2d]` for depth `d`.
    spill: Option<Table>,
}

enum Stop {
    MissingBytes,
    BadFormat,
}

impl From<Stop> for mlua::Error {
    fn from(s: Stop) -> mlua::Error {
        match s {
            Stop::MissingBytes => error("Missing bytes in input."),
            Stop::BadFormat => error("Bad data format in input."),
        }
    }
}

impl Unpacker<'_> {
    fn need(&self, n: usize) -> Result<(), Stop> {
        if self.s.len() - self.pos < n {
            Err(Stop::MissingBytes)
        } else {
            Ok(())
        }
    }

    fn take<const N: usize>(&mut self, at: usize) -> Result<[u8; N], Stop> {
        self.need(at + N)?;
        let mut b = [0u8; N];
        b.copy_from_slice(&self.s[self.pos + at..self.pos + at + N]);
        Ok(b)
    }

    fn string(&mut self, head: usize, len: usize) -> mlua::Result<Item> {
        self.need(head)?;
        if self.s.len() - self.pos - head < len {
            return Err(Stop::MissingBytes.into());
        }
        let start = self.pos + head;
        self.pos = start + len;
        Ok(Item::Value(Value::String(self.lua.create_string(&self.s[start..start + len])?)))
    }

    fn number(&mut self, size: usize, n: f64) -> Item {
        self.pos += size;
        Item::Value(Value::Number(n))
    }

    /// Reads one value's first bytes: a whole scalar, or an array or map header.
    fn item(&mut self) -> mlua::Result<Item> {
        let b = self.s[self.pos];
        Ok(match b {
            0xcc => {
                let [x] = self.take::<1>(1)?;
                self.number(2, f64::from(x))
            }
            0xd0 => {
                let [x] = self.take::<1>(1)?;
                self.number(2, f64::from(x as i8))
            }
            0xcd => {
                let x = self.take::<2>(1)?;
                self.number(3, f64::from(u16::from_be_bytes(x)))
            }
            0xd1 => {
                let x = self.take::<2>(1)?;
                self.number(3, f64::from(i16::from_be_bytes(x)))
            }
            0xce => {
                let x = self.take::<4>(1)?;
                self.number(5, f64::from(u32::from_be_bytes(x)))
            }
            0xd2 => {
                let x = self.take::<4>(1)?;
                self.number(5, f64::from(i32::from_be_bytes(x)))
            }
            // The C library pushes a uint64 as a (signed) lua_Integer.
            0xcf | 0xd3 => {
                let x = self.take::<8>(1)?;
                self.number(9, i64::from_be_bytes(x) as f64)
            }
            0xc0 => self.scalar(Value::Nil),
            0xc2 => self.scalar(Value::Boolean(false)),
            0xc3 => self.scalar(Value::Boolean(true)),
            0xca => {
                let x = self.take::<4>(1)?;
                self.number(5, f64::from(f32::from_be_bytes(x)))
            }
            0xcb => {
                let x = self.take::<8>(1)?;
                self.number(9, f64::from_be_bytes(x))
            }
            0xd9 => {
                let [l] = self.take::<1>(1)?;
                self.string(2, usize::from(l))?
            }
            0xda => {
                let l = self.take::<2>(1)?;
                self.string(3, usize::from(u16::from_be_bytes(l)))?
            }
            0xdb => {
                let l = self.take::<4>(1)?;
                self.string(5, u32::from_be_bytes(l) as usize)?
            }
            0xdc | 0xde => {
                let l = usize::from(u16::from_be_bytes(self.take::<2>(1)?));
                self.pos += 3;
                if b == 0xdc {
                    Item::Array(l)
                } else {
                    Item::Map(l)
                }
            }
            0xdd | 0xdf => {
                let l = u32::from_be_bytes(self.take::<4>(1)?) as usize;
                self.pos += 5;
                if b == 0xdd {
                    Item::Array(l)
                } else {
                    Item::Map(l)
                }
            }
            _ if b & 0x80 == 0 => self.number(1, f64::from(b)),
            _ if b & 0xe0 == 0xe0 => self.number(1, f64::from(b as i8)),
            _ if b & 0xe0 == 0xa0 => self.string(1, usize::from(b & 0x1f))?,
            _ if b & 0xf0 == 0x90 => {
                self.pos += 1;
                Item::Array(usize::from(b & 0x0f))
            }
            _ if b & 0xf0 == 0x80 => {
                self.pos += 1;
                Item::Map(usize::from(b & 0x0f))
            }
            _ => return Err(Stop::BadFormat.into()),
        })
    }

    fn scalar(&mut self, v: Value) -> Item {
        self.pos += 1;
        Item::Value(v)
    }

    fn spill(&mut self) -> mlua::Result<&Table> {
        if self.spill.is_none() {
            self.spill = Some(self.lua.create_table()?);
        }
        Ok(self.spill.as_ref().expect("just created"))
    }

    /// Decodes one whole value (tables with all they contain).
    fn value(&mut self) -> mlua::Result<Value> {
        let mut open: Vec<Open> = Vec::new();
        let mut table: Option<Table> = None;
        let mut key = Value::Nil;
        loop {
            if self.pos >= self.s.len() {
                return Err(Stop::MissingBytes.into());
            }
            if self.top + 1 > MAX_C_STACK {
                return Err(stack_overflow(TOO_MANY_VALUES));
            }
            let mut done = match self.item()? {
                Item::Value(v) => {
                    self.top += 1;
                    v
                }
                Item::Array(n) => {
                    self.top += 1;
                    if self.top + 1 > MAX_C_STACK {
                        return Err(stack_overflow("in function mp_decode_to_lua_array"));
                    }
                    let t = self.lua.create_table()?;
                    if n == 0 {
                        Value::Table(t)
                    } else {
                        self.descend(&mut table, &mut key, open.len(), t)?;
                        open.push(Open::Array { left: n, next: 1 });
                        // The index is pushed before each element.
                        self.top += 1;
                        continue;
                    }
                }
                Item::Map(n) => {
                    self.top += 1;
                    let t = self.lua.create_table()?;
                    if n == 0 {
                        Value::Table(t)
                    } else {
                        self.descend(&mut table, &mut key, open.len(), t)?;
                        open.push(Open::Map { left: n, have_key: false });
                        continue;
                    }
                }
            };
            // Put the finished value in its table; a table that is then full is itself a
            // finished value for the one above.
            loop {
                let Some(frame) = open.last_mut() else {
                    return Ok(done);
                };
                let t = table.as_ref().expect("an open table is being filled");
                match frame {
                    Open::Array { left, next } => {
                        t.raw_set(*next, done)?;
                        self.top -= 2;
                        *next += 1;
                        *left -= 1;
                        if *left > 0 {
                            self.top += 1;
                            break;
                        }
                    }
                    Open::Map { left, have_key } => {
                        if !*have_key {
                            key = done;
                            *have_key = true;
                            break;
                        }
                        match std::mem::replace(&mut key, Value::Nil) {
                            Value::Nil => return Err(unpositioned("table index is nil")),
                            Value::Number(n) if n.is_nan() => return Err(unpositioned("table index is NaN")),
                            k => t.raw_set(k, done)?,
                        }
                        self.top -= 2;
                        *have_key = false;
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                    }
                }
                open.pop();
                done = Value::Table(table.take().expect("an open table is being filled"));
                let depth = open.len();
                if depth > 0 {
                    let spill = self.spill()?;
                    table = Some(spill.raw_get(2 * depth - 1)?);
                    key = exact(spill, 2 * depth, spill.raw_get(2 * depth)?)?;
                    spill.raw_set(2 * depth - 1, Value::Nil)?;
                    spill.raw_set(2 * depth, Value::Nil)?;
                }
            }
        }
    }

    /// Makes `t` the table being filled, keeping the one above (at `depth`) and its pending
    /// key in the spill table.
    fn descend(&mut self, table: &mut Option<Table>, key: &mut Value, depth: usize, t: Table) -> mlua::Result<()> {
        if let Some(parent) = table.replace(t) {
            let spill = self.spill()?;
            spill.raw_set(2 * depth - 1, parent)?;
            spill.raw_set(2 * depth, std::mem::replace(key, Value::Nil))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lua() -> Lua {
        crate::scripting::clib::test_support::lua_with("cmsgpack", library)
    }

    fn hex(lua: &Lua, expr: &str) -> String {
        crate::scripting::clib::test_support::hex_of(lua, &format!("cmsgpack.pack({expr})"))
    }

    use crate::scripting::clib::test_support::error_of as err;

    #[test]
    fn numbers_pack_as_the_smallest_format() {
        let lua = lua();
        assert_eq!(hex(&lua, "0, 127, 128, 255, 256, 65535, 65536"), "007fcc80ccffcd0100cdffffce00010000");
        assert_eq!(hex(&lua, "4294967295, 4294967296"), "ceffffffffcf0000000100000000");
        assert_eq!(hex(&lua, "-1, -32, -33, -128, -129"), "ffe0d0dfd080d1ff7f");
        assert_eq!(
            hex(&lua, "-32768, -32769, -2147483648, -2147483649"),
            "d18000d2ffff7fffd280000000d3ffffffff7fffffff"
        );
        assert_eq!(hex(&lua, "-1099511627776"), "d3ffffff0000000000", "Valkey's negative int64 test");
        assert_eq!(hex(&lua, "0.1"), "cb3fb999999999999a", "Valkey's double test");
        assert_eq!(hex(&lua, "0.5, 1/0, -1/0"), "ca3f000000ca7f800000caff800000");
        assert_eq!(hex(&lua, "1e-20"), "cb3bc79ca10c924223", "not taken for 0");
        assert_eq!(hex(&lua, "2^63"), "ca5f000000", "beyond int64: a float");
        assert_eq!(hex(&lua, "-0.0"), "00");
        assert_eq!(hex(&lua, "{[1e-20] = 1e-300}"), "81cb3bc79ca10c924223cb01a56e1fc2f8f359", "exact keys and values");
    }

    #[test]
    fn other_values() {
        let lua = lua();
        assert_eq!(hex(&lua, "nil, true, false, print"), "c0c3c2c0");
        assert_eq!(hex(&lua, "'ab'"), "a26162");
        assert_eq!(&hex(&lua, "string.rep('x', 32)")[..4], "d920");
        assert_eq!(&hex(&lua, "string.rep('x', 256)")[..6], "da0100");
        assert_eq!(&hex(&lua, "string.rep('x', 65536)")[..10], "db00010000");
        assert_eq!(hex(&lua, "{}"), "90", "an empty table is an empty array");
        assert_eq!(hex(&lua, "{1, 2, {3}}"), "9301029103");
        assert_eq!(hex(&lua, "{[2] = 5}"), "810205", "keys not 1..n: a map");
        assert_eq!(hex(&lua, "{a = 1}"), "81a16101");
        assert_eq!(&hex(&lua, "(function() local t = {} for i = 1, 16 do t[i] = i end return t end)()")[..6], "dc0010");
    }

    #[test]
    fn circular_references_stop_at_sixteen_levels() {
        let lua = lua();
        // Valkey's test: the expected bytes are its own.
        let h = hex(&lua, "(function() local a = {x=nil,y=5}; local b = {x=a}; a['x'] = b; return a end)()");
        let expected =
            "82a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905\
                        a17881a17882a17905a17881a17882a17905a17881a178c0";
        assert_eq!(h, expected);
        let ok: bool = lua
            .load(
                "local a = {y = 5}; a.x = {x = a}; local re = cmsgpack.unpack(cmsgpack.pack(a)) \
                 return re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.y == 5 and re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x == nil",
            )
            .eval()
            .unwrap();
        assert!(ok);
    }

    #[test]
    fn round_trips() {
        let lua = lua();
        let ok: bool = lua
            .load(
                r#"
                local big = {} for i = 1, 70000 do big[i] = i end
                local map = {} for i = 1, 20 do map['k' .. i] = {i, -i, i + 0.25} end
                local v = {s = string.rep('z', 70000), d = 0.1, n = -1099511627776, t = true, f = false,
                           a = big, m = map, e = {}, u = 2^40, tiny = 1e-300}
                local r = cmsgpack.unpack(cmsgpack.pack(v))
                assert(r.s == v.s and r.d == 0.1 and r.n == -1099511627776 and r.t == true and r.f == false)
                assert(#r.a == 70000 and r.a[70000] == 70000 and r.m.k7[3] == 7.25 and r.m.k20[2] == -20)
                assert(next(r.e) == nil and r.u == 2^40 and r.tiny == 1e-300)
                local a, b, c = cmsgpack.unpack(cmsgpack.pack(1, 'two', {3}))
                return a == 1 and b == 'two' and c[1] == 3
                "#,
            )
            .eval()
            .unwrap();
        assert!(ok);
    }

    #[test]
    fn unpack_one_and_limit_return_the_next_offset() {
        let lua = lua();
        let (o1, v1, o2, v2, o3, v3): (i64, String, i64, String, i64, String) = lua
            .load(
                "local s = cmsgpack.pack('a', 'bb', 'ccc') \
                 local o1, v1 = cmsgpack.unpack_one(s) \
                 local o2, v2 = cmsgpack.unpack_one(s, o1) \
                 local o3, v3 = cmsgpack.unpack_limit(s, 5, o2) \
                 return o1, v1, o2, v2, o3, v3",
            )
            .eval()
            .unwrap();
        assert_eq!((o1, v1.as_str(), o2, v2.as_str(), o3, v3.as_str()), (2, "a", 5, "bb", -1, "ccc"));
        let n: usize = lua.load("return select('#', cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2))").eval().unwrap();
        assert_eq!(n, 3, "the offset and two values");
        let n: usize =
            lua.load("return select('#', cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0, 0))").eval().unwrap();
        assert_eq!(n, 3, "limit 0 and offset 0 decode everything, without an offset");
        let (n, o): (usize, i64) =
            lua.load("return select('#', cmsgpack.unpack_one('')), cmsgpack.unpack_one('')").eval().unwrap();
        assert_eq!((n, o), (1, -1));
        let n: usize = lua.load("return select('#', cmsgpack.unpack(''))").eval().unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn bad_input_gets_the_c_library_errors() {
        let lua = lua();
        assert!(err(&lua, "cmsgpack.pack()").contains("bad argument #0 to 'pack' (MessagePack pack needs input.)"));
        assert!(err(&lua, "cmsgpack.unpack('\\193')").contains("Bad data format in input."));
        assert!(err(&lua, "cmsgpack.unpack('\\196\\1a')").contains("Bad data format in input."), "no bin");
        assert!(err(&lua, "cmsgpack.unpack('\\146\\1')").contains("Missing bytes in input."));
        assert!(err(&lua, "cmsgpack.unpack('\\219\\255\\255\\255\\255')").contains("Missing bytes in input."));
        assert!(err(&lua, "cmsgpack.unpack('\\129\\192\\1')").contains("table index is nil"));
        assert!(
            err(&lua, "cmsgpack.unpack('\\129\\203\\255\\248\\0\\0\\0\\0\\0\\0\\1')").contains("table index is NaN")
        );
        assert!(err(&lua, "cmsgpack.unpack_one('abc', 4)").contains("Start offset 4 greater than input length 3."));
        assert!(err(&lua, "cmsgpack.unpack_one('abc', -1)")
            .contains("Invalid request to unpack with offset of -1 and limit of 3."));
        assert!(err(&lua, "cmsgpack.unpack_limit('abc')")
            .contains("bad argument #2 to 'unpack_limit' (number expected, got no value)"));
        assert!(err(&lua, "cmsgpack.unpack()").contains("bad argument #1 to 'unpack' (string expected, got no value)"));
    }

    #[test]
    fn unpack_counts_the_lua_stack_as_the_c_library() {
        let lua = lua();
        // 7999 values fit beside the input string, 8000 do not.
        let n: usize = lua.load("return select('#', cmsgpack.unpack(string.rep('\\1', 7999)))").eval().unwrap();
        assert_eq!(n, 7999);
        assert!(err(&lua, "cmsgpack.unpack(string.rep('\\1', 8000))")
            .contains(&format!("stack overflow ({TOO_MANY_VALUES})")));
        let n: usize =
            lua.load("return select('#', cmsgpack.unpack_limit(string.rep('\\1', 9000), 7998))").eval().unwrap();
        assert_eq!(n, 7999);
        // Nesting is bounded by the stack too (each array level holds its table and index),
        // not by the Rust stack or mlua's references.
        let deep = "string.rep('\\145', 3998) .. '\\1'";
        let ok: bool = lua
            .load(format!("local t = cmsgpack.unpack({deep}) for i = 1, 3998 do t = t[1] end return t == 1"))
            .eval()
            .unwrap();
        assert!(ok);
        assert!(err(&lua, "cmsgpack.unpack(string.rep('\\145', 4000) .. '\\1')").contains("stack overflow"));
        let keys = "string.rep('\\129', 7990) .. '\\1'";
        assert!(err(&lua, &format!("cmsgpack.unpack({keys})")).contains("Missing bytes in input."), "maps as keys");
        let ok: bool = lua
            .load("local t = cmsgpack.unpack(string.rep('\\129\\1', 3000) .. '\\2') for i = 1, 3000 do t = t[1] end return t == 2")
            .eval()
            .unwrap();
        assert!(ok);
    }
}
