//! The `bit` library scripts get (LuaJIT's BitOp semantics on Lua 5.1 numbers): every
//! argument is first brought to a signed 32-bit integer, modulo 2^32, and results are
//! signed 32-bit numbers.

use mlua::{Lua, MultiValue, Table, Value};

/// BitOp's conversion: adding 2^52 + 2^51 puts the integer part, modulo 2^32, in the low
/// word of the double's bits.
fn tobit(n: f64) -> i32 {
    (n + 6_755_399_441_055_744.0).to_bits() as u32 as i32
}

fn arg(args: &MultiValue, i: usize, f: &str) -> mlua::Result<i32> {
    let n = match args.get(i) {
        Some(Value::Number(n)) => Some(*n),
        Some(Value::Integer(n)) => Some(*n as f64),
        Some(Value::String(s)) => s.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()),
        _ => None,
    };
    n.map(tobit).ok_or_else(|| {
        let got = args.get(i).map_or("no value", |v| v.type_name());
        mlua::Error::RuntimeError(format!("bad argument #{} to '{f}' (number expected, got {got})", i + 1))
    })
}

fn unary(lua: &Lua, t: &Table, name: &'static str, f: fn(i32) -> i32) -> mlua::Result<()> {
    t.raw_set(name, lua.create_function(move |_, args: MultiValue| Ok(f64::from(f(arg(&args, 0, name)?))))?)
}

fn variadic(lua: &Lua, t: &Table, name: &'static str, f: fn(i32, i32) -> i32) -> mlua::Result<()> {
    t.raw_set(
        name,
        lua.create_function(move |_, args: MultiValue| {
            let mut acc = arg(&args, 0, name)?;
            for i in 1..args.len() {
                acc = f(acc, arg(&args, i, name)?);
            }
            Ok(f64::from(acc))
        })?,
    )
}

fn shift(lua: &Lua, t: &Table, name: &'static str, f: fn(i32, u32) -> i32) -> mlua::Result<()> {
    t.raw_set(
        name,
        lua.create_function(move |_, args: MultiValue| {
            let x = arg(&args, 0, name)?;
            let n = arg(&args, 1, name)? as u32 & 31;
            Ok(f64::from(f(x, n)))
        })?,
    )
}

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    unary(lua, &t, "tobit", |x| x)?;
    unary(lua, &t, "bnot", |x| !x)?;
    unary(lua, &t, "bswap", |x| x.swap_bytes())?;
    variadic(lua, &t, "band", |a, b| a & b)?;
    variadic(lua, &t, "bor", |a, b| a | b)?;
    variadic(lua, &t, "bxor", |a, b| a ^ b)?;
    shift(lua, &t, "lshift", |x, n| ((x as u32) << n) as i32)?;
    shift(lua, &t, "rshift", |x, n| ((x as u32) >> n) as i32)?;
    shift(lua, &t, "arshift", |x, n| x >> n)?;
    shift(lua, &t, "rol", |x, n| (x as u32).rotate_left(n) as i32)?;
    shift(lua, &t, "ror", |x, n| (x as u32).rotate_right(n) as i32)?;
    t.raw_set(
        "tohex",
        lua.create_function(|_, args: MultiValue| {
            let x = arg(&args, 0, "tohex")? as u32;
            let mut n = if matches!(args.get(1), None | Some(Value::Nil)) { 8 } else { arg(&args, 1, "tohex")? };
            let digits: &[u8] = if n < 0 { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
            if n < 0 {
                // -(i32::MIN) does not exist; BitOp as patched in Valkey treats it as the
                // largest width.
                n = -(n.max(i32::MIN + 1));
            }
            let n = n.min(8) as usize;
            let mut out = vec![0u8; n];
            let mut v = x;
            for slot in out.iter_mut().rev() {
                *slot = digits[(v & 15) as usize];
                v >>= 4;
            }
            Ok(String::from_utf8(out).unwrap_or_default())
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::tobit;

    #[test]
    fn tobit_wraps_modulo_2_32() {
        assert_eq!(tobit(0xffff_ffffu32 as f64), -1);
        assert_eq!(tobit(4_294_967_296.0 + 5.0), 5);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(2_147_483_648.0), i32::MIN);
        assert_eq!(tobit(1.5), 2, "rounds to nearest even like BitOp");
    }
}
