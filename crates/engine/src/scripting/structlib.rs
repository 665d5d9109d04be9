//! The `struct` library scripts get (Roberto Ierusalimschy's struct library as Valkey embeds
//! it): binary packing of numbers and strings by a format, as on x86-64 (`l`, `L` and `T` are
//! 8 bytes, `i` without a size is 4, native order is little endian, `!` alone aligns to 8).
//!
//! Format options: `>` big endian, `<` little endian, `![n]` alignment, `x` a zero byte,
//! `b`/`B` `h`/`H` `l`/`L` `T` `i[n]`/`I[n]` signed/unsigned integers (n up to 32 bytes),
//! `f` float, `d` double, `c[n]` n characters (`c0`: the whole string when packing, the
//! previous number as length when unpacking), `s` a zero-terminated string, space ignored.
//! Integers are converted as C converts a double to `long`, so out-of-range values wrap as
//! Valkey's build wraps them.

use super::clib::{self, error, stack_overflow, Args, MAX_C_STACK};
use mlua::{Lua, Table, Value};

/// `MAXINTSIZE`.
const MAX_INT_SIZE: usize = 32;
/// `MAXALIGN` on x86-64: the alignment of a double in a struct.
const MAX_ALIGN: usize = 8;

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", clib::one(lua, pack)?)?;
    t.raw_set("unpack", clib::many(lua, unpack)?)?;
    t.raw_set("size", clib::one(lua, size)?)?;
    Ok(t)
}

#[derive(Clone, Copy)]
struct Header {
    little: bool,
    align: usize,
}

impl Default for Header {
    fn default() -> Header {
        Header { little: true, align: 1 }
    }
}

/// A format string as C reads it: up to its first NUL.
struct Format {
    f: Vec<u8>,
    pos: usize,
}

impl Format {
    fn new(mut f: Vec<u8>) -> Format {
        if let Some(end) = f.iter().position(|&b| b == 0) {
            f.truncate(end);
        }
        Format { f, pos: 0 }
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.f.get(self.pos).copied();
        self.pos += 1;
        c
    }

    /// A decimal size after an option, or `default`.
    fn number(&mut self, default: usize) -> mlua::Result<usize> {
        if !self.f.get(self.pos).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut a: i32 = 0;
        while let Some(&d) = self.f.get(self.pos).filter(|d| d.is_ascii_digit()) {
            let d = i32::from(d - b'0');
            if a > i32::MAX / 10 || a * 10 > i32::MAX - d {
                return Err(error("integral size overflow"));
            }
            a = a * 10 + d;
            self.pos += 1;
        }
        Ok(a as usize)
    }

    /// The size of option `opt` (reading its digits), 0 for options without one.
    fn size(&mut self, opt: u8) -> mlua::Result<usize> {
        Ok(match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let n = self.number(4)?;
                if n > MAX_INT_SIZE {
                    return Err(error(format!("integral size {n} is larger than limit of {MAX_INT_SIZE}")));
                }
                n
            }
            _ => 0,
        })
    }

    /// The endianness and alignment options; anything else is invalid.
    fn control(&mut self, a: &Args, opt: u8, h: &mut Header) -> mlua::Result<()> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' => h.little = true,
            b'!' => {
                let n = self.number(MAX_ALIGN)?;
                if !n.is_power_of_two() {
                    return Err(error(format!("alignment {n} is not a power of 2")));
                }
                h.align = n;
            }
            _ => {
                let mut msg = b"invalid format option '".to_vec();
                msg.extend_from_slice(&[opt, b'\'']);
                return Err(a.arg_error(1, &msg));
            }
        }
        Ok(())
    }
}

/// Padding before an item of `size` bytes at offset `len` (the C formula, also for sizes
/// that are not powers of two).
fn padding(len: usize, h: Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    size.wrapping_sub(len & size.wrapping_sub(1)) & size.wrapping_sub(1)
}

fn is_integer_option(opt: u8) -> bool {
    matches!(opt, b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I')
}

/// Argument `i` of `struct.pack`: the one after the last is the nil the C function pushes
/// above its arguments.
fn pack_arg_error(a: &Args, i: usize, expected: &str) -> mlua::Error {
    if i == a.n + 1 {
        a.type_error(i, expected, Some(&Value::Nil))
    } else {
        a.type_error(i, expected, a.get(i).ok().flatten().as_ref())
    }
}

fn pack_number(a: &Args, i: usize) -> mlua::Result<f64> {
    match clib::to_number(a.lua, a.get(i)?.as_ref())? {
        Some(n) => Ok(n),
        None => Err(pack_arg_error(a, i, "number")),
    }
}

fn pack(a: &Args) -> mlua::Result<Value> {
    let mut fmt = Format::new(a.bytes(1)?);
    let mut h = Header::default();
    let mut arg = 2;
    let mut out = Vec::new();
    let mut total = 0usize;
    while let Some(opt) = fmt.next() {
        let mut size = fmt.size(opt)?;
        let pad = padding(total, h, opt, size);
        total += pad;
        out.resize(out.len() + pad, 0);
        match opt {
            _ if is_integer_option(opt) => {
                let n = pack_number(a, arg)?;
                arg += 1;
                let mut value = if n < 0.0 { clib::c_i64(n) as u64 } else { clib::c_u64(n) };
                let mut bytes = [0u8; MAX_INT_SIZE];
                for i in 0..size {
                    let at = if h.little { i } else { size - 1 - i };
                    bytes[at] = value as u8;
                    value >>= 8;
                }
                out.extend_from_slice(&bytes[..size]);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = pack_number(a, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&if h.little { f.to_le_bytes() } else { f.to_be_bytes() });
            }
            b'd' => {
                let d = pack_number(a, arg)?;
                arg += 1;
                out.extend_from_slice(&if h.little { d.to_le_bytes() } else { d.to_be_bytes() });
            }
            b'c' | b's' => {
                let s = match clib::to_bytes(a.get(arg)?.as_ref()) {
                    Some(s) => s,
                    None => return Err(pack_arg_error(a, arg, "string")),
                };
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // (Sic: the C library names the argument after the string.)
                    return Err(a.arg_error(arg as i64, "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                    size += 1;
                }
            }
            _ => fmt.control(a, opt, &mut h)?,
        }
        total += size;
    }
    Ok(Value::String(a.lua.create_string(&out)?))
}

/// An integer of `b.len()` bytes; as on x86-64, only the last 8 read count, and the sign
/// mask of sizes past 8 bytes is shifted modulo 64.
fn read_integer(b: &[u8], little: bool, signed: bool) -> f64 {
    let mut l = 0u64;
    let mut add = |byte: u8| l = (l << 8) | u64::from(byte);
    if little {
        b.iter().rev().for_each(|&x| add(x));
    } else {
        b.iter().for_each(|&x| add(x));
    }
    if !signed {
        return l as f64;
    }
    let shift = ((b.len() as i32).wrapping_mul(8).wrapping_sub(1) as u32) & 63;
    let mask = u64::MAX << shift;
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn unpack(a: &Args) -> mlua::Result<(Table, usize)> {
    let mut fmt = Format::new(a.bytes(1)?);
    let data = a.bytes(2)?;
    let ld = data.len();
    let pos = a.opt_integer(3, 1)? as u64 as usize;
    if pos == 0 {
        return Err(a.arg_error(3, "offset must be 1 or greater"));
    }
    let mut pos = pos - 1;
    let mut h = Header::default();
    let mut out = Results { t: a.lua.create_table()?, n: 0, last: Value::Nil };
    while let Some(opt) = fmt.next() {
        let mut size = fmt.size(opt)?;
        pos = pos.wrapping_add(padding(pos, h, opt, size));
        if !(size <= ld && pos <= ld - size) {
            return Err(a.arg_error(2, "data string too short"));
        }
        // Each option first makes room for a result and the final position.
        if a.n + out.n + 2 > MAX_C_STACK {
            return Err(stack_overflow("too many results"));
        }
        match opt {
            _ if is_integer_option(opt) => {
                let v = read_integer(&data[pos..pos + size], h.little, opt.is_ascii_lowercase());
                out.push(Value::Number(v))?;
            }
            b'x' => {}
            b'f' => {
                let b: [u8; 4] = data[pos..pos + 4].try_into().expect("4 bytes checked");
                let f = if h.little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) };
                out.push(Value::Number(f64::from(f)))?;
            }
            b'd' => {
                let b: [u8; 8] = data[pos..pos + 8].try_into().expect("8 bytes checked");
                let d = if h.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) };
                out.push(Value::Number(d))?;
            }
            b'c' => {
                if size == 0 {
                    let len = if out.n == 0 { None } else { clib::to_number(a.lua, Some(&out.last))? };
                    let Some(len) = len else {
                        return Err(error("format 'c0' needs a previous size"));
                    };
                    size = clib::c_u64(len) as usize;
                    out.pop()?;
                    if !(size <= ld && pos <= ld - size) {
                        return Err(a.arg_error(2, "data string too short"));
                    }
                }
                out.push(Value::String(a.lua.create_string(&data[pos..pos + size])?))?;
            }
            b's' => {
                let Some(end) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err(error("unfinished string in data"));
                };
                size = end + 1;
                out.push(Value::String(a.lua.create_string(&data[pos..pos + end])?))?;
            }
            _ => fmt.control(a, opt, &mut h)?,
        }
        pos = pos.wrapping_add(size);
    }
    out.push(Value::Integer(pos.wrapping_add(1) as i64))?;
    Ok((out.t, out.n))
}

/// The values `unpack` returns, and the last one (`c0` reads its length from it).
struct Results {
    t: Table,
    n: usize,
    last: Value,
}

impl Results {
    fn push(&mut self, v: Value) -> mlua::Result<()> {
        self.n += 1;
        self.t.raw_set(self.n, v.clone())?;
        self.last = v;
        Ok(())
    }

    fn pop(&mut self) -> mlua::Result<()> {
        self.t.raw_set(self.n, Value::Nil)?;
        self.n -= 1;
        Ok(())
    }
}

fn size(a: &Args) -> mlua::Result<Value> {
    let mut fmt = Format::new(a.bytes(1)?);
    let mut h = Header::default();
    let mut pos = 0usize;
    while let Some(opt) = fmt.next() {
        let size = fmt.size(opt)?;
        pos = pos.wrapping_add(padding(pos, h, opt, size));
        if opt == b's' {
            return Err(a.arg_error(1, "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(a.arg_error(1, "option 'c0' has no fixed size"));
        }
        // (Letters and digits that are not options are skipped here, unlike in pack.)
        if !opt.is_ascii_alphanumeric() {
            fmt.control(a, opt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(Value::Integer(pos as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lua() -> Lua {
        crate::scripting::clib::test_support::lua_with("struct", library)
    }

    fn hex(lua: &Lua, args: &str) -> String {
        crate::scripting::clib::test_support::hex_of(lua, &format!("struct.pack({args})"))
    }

    use crate::scripting::clib::test_support::error_of as err;

    #[test]
    fn pack_formats() {
        let lua = lua();
        assert_eq!(hex(&lua, "'>i2 <i2', 258, 258"), "01020201");
        assert_eq!(hex(&lua, "'bBhH', -1, 255, -2, 65535"), "fffffeffffff");
        assert_eq!(hex(&lua, "'>lL', -1, 1"), "ffffffffffffffff0000000000000001");
        assert_eq!(hex(&lua, "'i', 7"), "07000000", "i is 4 bytes");
        assert_eq!(hex(&lua, "'>i3', -2"), "fffffe");
        assert_eq!(hex(&lua, "'<i10', -1"), "ffffffffffffffff0000", "only 8 bytes carry the value");
        assert_eq!(hex(&lua, "'>f', 1.5"), "3fc00000");
        assert_eq!(hex(&lua, "'<d', 1e-300"), "59f3f8c21f6ea501");
        assert_eq!(hex(&lua, "'c3', 'abcdef'"), "616263");
        assert_eq!(hex(&lua, "'c0s', 'ab', 'cd'"), "6162636400");
        assert_eq!(hex(&lua, "'bxb', 1, 2"), "010002");
        assert_eq!(hex(&lua, "'!bi', 1, 2"), "0100000002000000", "aligned to 4");
        assert_eq!(hex(&lua, "'!2bd', 1, 0"), "01000000000000000000", "aligned to 2");
        assert_eq!(hex(&lua, "'>I', '258'"), "00000102", "numeric strings are numbers");
    }

    #[test]
    fn unpack_formats() {
        let lua = lua();
        let ok: bool = lua
            .load(
                r#"
                local a, b, c, d, e, f, g, nxt = struct.unpack('>i2<i2bBhH', struct.pack('>i2<i2bBhH', 258, 258, -1, 255, -2, 65535))
                assert(a == 258 and b == 258 and c == -1 and d == 255 and e == -2 and f == 65535 and g == 11, tostring(g))
                local x, y, p = struct.unpack('bc0', '\3abcd')
                assert(x == 'abc' and y == 5, tostring(x))
                local f, d = struct.unpack('<fd', struct.pack('<fd', 0.5, 1e-300))
                assert(f == 0.5 and d == 1e-300)
                local v, p2 = struct.unpack('>I', 'xx\0\0\1\2', 3)
                assert(v == 258 and p2 == 7)
                local s1, s2, p3 = struct.unpack('ss', 'ab\0cd\0')
                assert(s1 == 'ab' and s2 == 'cd' and p3 == 7)
                local big = struct.unpack('>I9', '\255\0\0\0\0\0\0\0\1')
                assert(big == 1, big)
                local neg = struct.unpack('>i9', '\0\0\0\0\0\0\0\0\128')
                assert(neg == -128, neg)
                return true
                "#,
            )
            .eval()
            .unwrap();
        assert!(ok);
        let n: i64 = lua.load("return struct.unpack('', 'abc', -5)").eval().unwrap();
        assert_eq!(n, -5, "a negative offset wraps and comes back");
    }

    #[test]
    fn size_of_formats() {
        let lua = lua();
        let sizes: Vec<i64> = lua
            .load("return {struct.size('i'), struct.size('!bd'), struct.size('>hc5'), struct.size('zy'), struct.size('i0')}")
            .eval()
            .unwrap();
        assert_eq!(sizes, vec![4, 16, 7, 0, 0]);
    }

    #[test]
    fn errors_are_the_c_library_ones() {
        let lua = lua();
        assert!(err(&lua, "struct.pack('i')").contains("bad argument #2 to 'pack' (number expected, got nil)"));
        assert!(
            err(&lua, "struct.pack('ii', 1, {})").contains("bad argument #3 to 'pack' (number expected, got table)")
        );
        assert!(err(&lua, "struct.pack('c3', 'ab')").contains("bad argument #3 to 'pack' (string too short)"));
        assert!(err(&lua, "struct.pack('q')").contains("bad argument #1 to 'pack' (invalid format option 'q')"));
        assert!(err(&lua, "struct.pack('=i', 1)").contains("invalid format option '='"));
        assert!(err(&lua, "struct.pack('i33', 1)").contains("integral size 33 is larger than limit of 32"));
        assert!(err(&lua, "struct.pack('i99999999999', 1)").contains("integral size overflow"));
        assert!(err(&lua, "struct.pack('!3i', 1)").contains("alignment 3 is not a power of 2"));
        assert!(err(&lua, "struct.pack()").contains("bad argument #1 to 'pack' (string expected, got no value)"));
        assert!(err(&lua, "struct.unpack('i', 'abc')").contains("bad argument #2 to 'unpack' (data string too short)"));
        assert!(err(&lua, "struct.unpack('i', 'abcd', 0)")
            .contains("bad argument #3 to 'unpack' (offset must be 1 or greater)"));
        assert!(err(&lua, "struct.unpack('s', 'abc')").contains("unfinished string in data"));
        assert!(err(&lua, "struct.unpack('c0', 'abc')").contains("format 'c0' needs a previous size"));
        assert!(err(&lua, "struct.unpack('bc0', '\\9abc')").contains("data string too short"));
        assert!(err(&lua, "struct.size('s')").contains("bad argument #1 to 'size' (option 's' has no fixed size)"));
        assert!(err(&lua, "struct.size('c0')").contains("option 'c0' has no fixed size"));
        assert!(err(&lua, "struct.unpack(string.rep('b', 8000), string.rep('a', 8000))")
            .contains("stack overflow (too many results)"));
        let n: usize =
            lua.load("return select('#', struct.unpack(string.rep('b', 7996), string.rep('a', 8000)))").eval().unwrap();
        assert_eq!(n, 7997);
    }
}
