//! Lua values ↔ RESP, as Valkey converts them (`script_lua.c`): a command's reply becomes
//! Lua values for the script; the script's return value becomes the caller's reply.

use mlua::{Lua, Table, Value};
use resp::Reply;

/// Nesting deeper than this in a returned table is cut with an error element (a table can
/// contain itself; Valkey stops when the Lua stack cannot grow).
const MAX_DEPTH: usize = 1000;

/// C's `%.14g` (how Lua 5.1 prints numbers).
pub fn format_g14(n: f64) -> String {
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is 64 bytes and `%.14g` of a double is at most ~25 bytes; snprintf
    // always NUL-terminates within the given size.
    let len = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%.14g".as_ptr(), n) };
    let len = (len.max(0) as usize).min(buf.len() - 1);
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

/// Lua 5.1's `luaO_str2d`: a string as a number — decimal (as `strtod` reads it) or
/// `0x` hexadecimal, surrounded by optional white space.
pub fn lua_str2number(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        let n = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if neg { -n } else { n });
    }
    t.parse::<f64>().ok()
}

/// A Lua number as a command argument: an integer when it is one, else fpconv's digits
/// (Valkey's `luaArgsToRedisArgv`).
pub fn number_arg_string(n: f64) -> String {
    let mut out = Vec::new();
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.2e18 {
        resp::number::push_i64(&mut out, n as i64);
    } else {
        resp::number::push_double(&mut out, n);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A parsed command reply as the Lua value a script gets from `server.call`. Errors are
/// handled by the caller.
pub fn reply_to_lua(lua: &Lua, v: &resp::Value, resp3: bool) -> mlua::Result<Value> {
    use resp::Value as R;
    Ok(match v {
        R::Simple(s) => single_field(lua, "ok", Value::String(lua.create_string(s)?))?,
        R::Error(s) => {
            let mut t = String::from("-");
            t.push_str(&String::from_utf8_lossy(s));
            Value::Table(super::error_table(lua, &t, true)?)
        }
        R::Int(i) => Value::Number(*i as f64),
        R::Bulk(b) => Value::String(lua.create_string(b)?),
        R::Null => {
            if resp3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        R::Array(items) | R::Push(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, reply_to_lua(lua, item, resp3)?)?;
            }
            Value::Table(t)
        }
        R::Map(pairs) => {
            let inner = lua.create_table()?;
            for (k, v) in pairs {
                inner.raw_set(reply_to_lua(lua, k, resp3)?, reply_to_lua(lua, v, resp3)?)?;
            }
            single_field(lua, "map", Value::Table(inner))?
        }
        R::Set(items) => {
            let inner = lua.create_table()?;
            for item in items {
                inner.raw_set(reply_to_lua(lua, item, resp3)?, true)?;
            }
            single_field(lua, "set", Value::Table(inner))?
        }
        R::Double(d) => single_field(lua, "double", Value::Number(*d))?,
        R::Bool(b) => Value::Boolean(*b),
        R::Verbatim(format, text) => {
            let inner = lua.create_table()?;
            inner.raw_set("string", lua.create_string(text)?)?;
            inner.raw_set("format", lua.create_string(format)?)?;
            single_field(lua, "verbatim_string", Value::Table(inner))?
        }
        R::BigNumber(digits) => single_field(lua, "big_number", Value::String(lua.create_string(digits)?))?,
        R::Attribute(_, inner) => reply_to_lua(lua, inner, resp3)?,
    })
}

fn single_field(lua: &Lua, name: &str, v: Value) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(name, v)?;
    Ok(Value::Table(t))
}

fn string_field(t: &Table, name: &str) -> Option<mlua::String> {
    match t.raw_get::<Value>(name).ok()? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// The script's return value as the reply (`luaReplyToRedisReply`). `resp3` is the
/// protocol the script chose with `setresp`; `out` is in the caller's.
pub fn lua_to_reply(out: &mut Reply, v: &Value, resp3: bool, depth: usize) {
    if depth > MAX_DEPTH {
        out.err("reached lua stack limit");
        return;
    }
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if resp3 {
                out.boolean(*b);
            } else if *b {
                out.int(1);
            } else {
                out.null();
            }
        }
        // C's (long long) cast: out of range and NaN give LLONG_MIN.
        Value::Number(n) => out.int(super::clib::c_i64(*n)),
        Value::Integer(n) => out.int(*n),
        Value::Table(t) => table_to_reply(out, t, resp3, depth),
        _ => out.null(),
    }
}

fn table_to_reply(out: &mut Reply, t: &Table, resp3: bool, depth: usize) {
    if let Some(err) = string_field(t, "err") {
        let ignore = matches!(t.raw_get::<Value>("ignore_error_stats_update"), Ok(Value::Boolean(true)));
        let before = out.error_count();
        out.error_bytes(&err.as_bytes());
        if ignore {
            out.drain_errors_from(before);
            out.failed_already_counted();
        }
        return;
    }
    if let Some(ok) = string_field(t, "ok") {
        out.simple_bytes(&ok.as_bytes());
        return;
    }
    if let Ok(Value::Number(_) | Value::Integer(_)) = t.raw_get::<Value>("double") {
        // Read again as f64: mlua hands an integral number (or one below f64::EPSILON) over
        // as an Integer.
        out.double(t.raw_get::<f64>("double").unwrap_or(0.0));
        return;
    }
    if let Some(big) = string_field(t, "big_number") {
        let digits: Vec<u8> = big.as_bytes().iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
        out.big_number(&digits);
        return;
    }
    if let Ok(Value::Table(vt)) = t.raw_get::<Value>("verbatim_string") {
        if let (Some(format), Some(text)) = (string_field(&vt, "format"), string_field(&vt, "string")) {
            let f = format.to_string_lossy();
            if f.len() == 3 {
                out.verbatim(&f, &text.as_bytes());
                return;
            }
        }
    }
    // Elements are counted first and then converted one at a time, not collected: each value
    // held in Rust takes one of mlua's 8000 reference slots (shared with the cached
    // scripts), and `Table::pairs` resumes from a key read back from Rust, which is not exact
    // for a number key below f64::EPSILON and makes Lua's `next` fail; `for_each` keeps its
    // key on the Lua stack.
    if let Ok(Value::Table(map)) = t.raw_get::<Value>("map") {
        let n = pair_count(&map);
        out.map(n);
        let mut done = 0;
        let _ = map.for_each(|k: Value, v: Value| {
            if done < n {
                lua_to_reply(out, &k, resp3, depth + 1);
                lua_to_reply(out, &v, resp3, depth + 1);
                done += 1;
            }
            Ok(())
        });
        for _ in done..n {
            out.null();
            out.null();
        }
        return;
    }
    if let Ok(Value::Table(set)) = t.raw_get::<Value>("set") {
        let n = pair_count(&set);
        out.set(n);
        let mut done = 0;
        let _ = set.for_each(|k: Value, _: Value| {
            if done < n {
                lua_to_reply(out, &k, resp3, depth + 1);
                done += 1;
            }
            Ok(())
        });
        for _ in done..n {
            out.null();
        }
        return;
    }
    let mut len = 0;
    while !matches!(t.raw_get::<Value>(len + 1), Ok(Value::Nil) | Err(_)) {
        len += 1;
    }
    out.array(len);
    for i in 1..=len {
        let item = t.raw_get::<Value>(i).unwrap_or(Value::Nil);
        lua_to_reply(out, &item, resp3, depth + 1);
    }
}

/// How many pairs `next` visits (0 if the Lua stack cannot take the walk).
fn pair_count(t: &Table) -> usize {
    let mut n = 0;
    match t.for_each(|_: Value, _: Value| {
        n += 1;
        Ok(())
    }) {
        Ok(()) => n,
        Err(_) => 0,
    }
}
