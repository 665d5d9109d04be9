//! What the Lua libraries Valkey writes in C (`cjson`, `cmsgpack`, `struct`) need from Rust
//! to behave as they do there: their arguments read exactly as the C API reads them, their
//! argument errors worded as `luaL_argerror` words them, Lua's C stack limit where they hit
//! it, and many results returned without holding a Rust handle for each.
//!
//! Two properties of mlua shape this file. A number mlua hands to Rust as a `Value` is made an
//! `Integer` when it is within `f64::EPSILON` of one, so `1e-20` arrives as `0`; reading the
//! same slot back as `f64` is exact, so values are read from tables and re-read when they
//! arrive as `Integer(0)`. And every `Value` held in Rust that is a string or table takes a
//! slot of mlua's reference stack, which is as small as a C function's Lua stack (8000) and
//! shared with every cached script: deep or wide data is walked holding a bounded number of
//! them, and results go back through a table.

use mlua::{ffi, Function, Lua, Table, Value};
use std::os::raw::c_int;

/// `LUAI_MAXCSTACK`: how many Lua stack slots a C function may use.
pub const MAX_C_STACK: usize = 8000;

/// `luaL_checkstack`'s error.
pub fn stack_overflow(what: &str) -> mlua::Error {
    error(format!("stack overflow ({what})"))
}

/// An error raised by a library function: its message as bytes (a format option in it can be
/// any byte), and whether it already has its final form.
pub struct LibError {
    pub msg: Vec<u8>,
    positioned: bool,
}

impl std::fmt::Debug for LibError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LibError({:?})", String::from_utf8_lossy(&self.msg))
    }
}

impl std::fmt::Display for LibError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.msg))
    }
}

impl std::error::Error for LibError {}

/// An error raised with `luaL_error`: [`one`] / [`many`] (and [`positioned`]) prefix it with
/// the position of the Lua code that called the library function.
pub fn error(msg: impl Into<Vec<u8>>) -> mlua::Error {
    mlua::Error::external(LibError { msg: msg.into(), positioned: false })
}

/// An error Lua itself raises inside a C function (`table index is nil`): no position.
pub fn unpositioned(msg: impl Into<Vec<u8>>) -> mlua::Error {
    mlua::Error::external(LibError { msg: msg.into(), positioned: true })
}

/// The message of a library error, for the sandbox to raise as a Lua string.
pub fn lib_error_message<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e [u8]> {
    e.downcast_ref::<LibError>().map(|e| e.msg.as_slice())
}

/// `luaL_where(L, 1)` seen from the C function at stack `level`: "chunk:line: " of its
/// caller when that is Lua code, else nothing (a call straight from `pcall`).
fn caller_position(lua: &Lua, level: usize) -> String {
    match lua.inspect_stack(level + 1) {
        Some(d) if d.curr_line() > 0 => {
            let src = d.source().short_src.map(|s| s.into_owned()).unwrap_or_default();
            format!("{src}:{}: ", d.curr_line())
        }
        _ => String::new(),
    }
}

/// Gives a library error made by [`error`] the position `luaL_error` would give it, raised
/// by the C function at stack `level`.
pub fn positioned(lua: &Lua, level: usize, e: mlua::Error) -> mlua::Error {
    if let mlua::Error::ExternalError(inner) = &e {
        if let Some(le) = inner.downcast_ref::<LibError>() {
            if !le.positioned {
                let mut msg = caller_position(lua, level).into_bytes();
                msg.extend_from_slice(&le.msg);
                return mlua::Error::external(LibError { msg, positioned: true });
            }
        }
    }
    e
}

/// `lua_typename` of a value (`luaL_typename` says "no value" for a missing argument).
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// C's conversion of a double to a 64-bit integer on x86-64 (`cvttsd2si`): truncation, and
/// the "integer indefinite" `i64::MIN` for NaN and out-of-range values (Rust's `as`
/// saturates instead).
pub fn c_i64(n: f64) -> i64 {
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) {
        n as i64
    } else {
        i64::MIN
    }
}

/// C's conversion of a double to `unsigned long` as gcc compiles it for x86-64: below 2^63
/// (and NaN) through the signed conversion, else offset by 2^63.
pub fn c_u64(n: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if n.is_nan() || n < TWO_63 {
        c_i64(n) as u64
    } else {
        (c_i64(n - TWO_63) as u64) ^ (1 << 63)
    }
}

/// C's conversion of a double to `int` (`cvttsd2si` to 32 bits): `i32::MIN` out of range.
pub fn c_i32(n: f64) -> i32 {
    if n > -2_147_483_649.0 && n < 2_147_483_648.0 {
        n as i32
    } else {
        i32::MIN
    }
}

/// The value, with a number mlua made `Integer(0)` read again exactly from `t[k]`.
pub fn exact(t: &Table, k: impl mlua::IntoLua, v: Value) -> mlua::Result<Value> {
    match v {
        Value::Integer(0) => Ok(Value::Number(t.raw_get::<f64>(k)?)),
        other => Ok(other),
    }
}

/// The name the running library function was called by, and whether as a method, from the
/// Lua stack `level` frames up (0: the Rust callback itself, 1: its Lua wrapper).
fn called_as(lua: &Lua, level: usize) -> (Option<String>, bool) {
    match lua.inspect_stack(level) {
        Some(d) => {
            let names = d.names();
            (names.name.map(|n| n.into_owned()), names.name_what == Some("method"))
        }
        None => (None, false),
    }
}

/// `luaL_argerror`: "bad argument #n to 'f' (msg)", with Lua's accounting for `self`.
pub fn arg_error(lua: &Lua, level: usize, narg: i64, msg: impl AsRef<[u8]>) -> mlua::Error {
    let (name, method) = called_as(lua, level);
    let mut narg = narg;
    let mut text = if method && narg == 1 {
        format!("calling '{}' on bad self (", name.as_deref().unwrap_or("(null)")).into_bytes()
    } else {
        if method {
            narg -= 1;
        }
        format!("bad argument #{narg} to '{}' (", name.as_deref().unwrap_or("?")).into_bytes()
    };
    text.extend_from_slice(msg.as_ref());
    text.push(b')');
    error(text)
}

/// The arguments of a library function, as its Lua wrapper passed them: their count and a
/// table holding them, so numbers can be read exactly.
pub struct Args<'l> {
    pub lua: &'l Lua,
    pub n: usize,
    pub t: Table,
    /// Stack level of the function the script called (for error names).
    pub level: usize,
}

impl<'l> Args<'l> {
    /// Argument `i` (1-based), `None` past the last one.
    pub fn get(&self, i: usize) -> mlua::Result<Option<Value>> {
        if i == 0 || i > self.n {
            return Ok(None);
        }
        let v: Value = self.t.raw_get(i)?;
        Ok(Some(exact(&self.t, i, v)?))
    }

    pub fn arg_error(&self, narg: i64, msg: impl AsRef<[u8]>) -> mlua::Error {
        arg_error(self.lua, self.level, narg, msg)
    }

    /// `luaL_typerror`.
    pub fn type_error(&self, narg: usize, expected: &str, got: Option<&Value>) -> mlua::Error {
        let got = got.map_or("no value", type_name);
        self.arg_error(narg as i64, format!("{expected} expected, got {got}"))
    }

    /// `luaL_checknumber`: a number or a string Lua converts to one.
    pub fn number(&self, i: usize) -> mlua::Result<f64> {
        let v = self.get(i)?;
        match to_number(self.lua, v.as_ref())? {
            Some(n) => Ok(n),
            None => Err(self.type_error(i, "number", v.as_ref())),
        }
    }

    /// `luaL_checkinteger` (a number truncated as C truncates).
    pub fn integer(&self, i: usize) -> mlua::Result<i64> {
        self.number(i).map(c_i64)
    }

    /// `luaL_optinteger`.
    pub fn opt_integer(&self, i: usize, default: i64) -> mlua::Result<i64> {
        match self.get(i)? {
            None | Some(Value::Nil) => Ok(default),
            Some(_) => self.integer(i),
        }
    }

    /// `luaL_checklstring`: a string, or a number as Lua prints it.
    pub fn bytes(&self, i: usize) -> mlua::Result<Vec<u8>> {
        let v = self.get(i)?;
        match to_bytes(v.as_ref()) {
            Some(b) => Ok(b),
            None => Err(self.type_error(i, "string", v.as_ref())),
        }
    }
}

/// `lua_tonumber`: numbers, and strings that read as one.
pub fn to_number(lua: &Lua, v: Option<&Value>) -> mlua::Result<Option<f64>> {
    Ok(match v {
        Some(Value::Number(n)) => Some(*n),
        Some(Value::Integer(n)) => Some(*n as f64),
        Some(s @ Value::String(_)) => lua.coerce_number(s.clone())?,
        _ => None,
    })
}

/// `lua_tolstring`: strings, and numbers as `%.14g`.
pub fn to_bytes(v: Option<&Value>) -> Option<Vec<u8>> {
    match v {
        Some(Value::String(s)) => Some(s.as_bytes().to_vec()),
        Some(Value::Number(n)) => Some(super::convert::format_g14(*n).into_bytes()),
        Some(Value::Integer(n)) => Some(super::convert::format_g14(*n as f64).into_bytes()),
        _ => None,
    }
}

/// `copy_pairs(t, out, at)`: copies the pairs of `t` in `next` order to `out[at]`,
/// `out[at + 1]`, ... and returns the index after the last. Done in Lua because keys that
/// reach Rust as mlua values are not exact (a key `1e-20` arrives as `0`), while keys read
/// back from `out` by index can be re-read exactly with [`exact`].
#[derive(Clone)]
pub struct PairCopier(Function);

impl PairCopier {
    /// Made while the globals still hold Lua's own `next` (before the sandbox wraps it).
    pub fn new(lua: &Lua) -> mlua::Result<PairCopier> {
        let f = lua
            .load(
                "local next = ...\n\
                 return function(t, out, at)\n\
                   for k, v in next, t do out[at] = k; out[at + 1] = v; at = at + 2 end\n\
                   return at\n\
                 end",
            )
            .set_name("=kvasir")
            .call(lua.globals().raw_get::<Function>("next")?)?;
        Ok(PairCopier(f))
    }

    /// Copies the pairs of `t` to `out` from index `at`; returns how many pairs.
    pub fn copy(&self, t: &Table, out: &Table, at: i64) -> mlua::Result<i64> {
        let end: i64 = self.0.call((t, out, at))?;
        Ok((end - at) / 2)
    }
}

/// The C function a script calls for a library function with one result: it hands its
/// arguments to the Rust core (upvalue 1) as `core(n, {...})`, so the core can read numbers
/// exactly, and being a C function it keeps the name the script called it by, which
/// `luaL_argerror` reports (a Lua wrapper's name is lost in a tail call).
///
/// # Safety
/// Lua calls it with a function as upvalue 1 (see [`one`]). An error raised by the core
/// unwinds through this frame by `longjmp`, which is sound because the frame owns nothing
/// to drop; the stack needs 3 slots past the arguments, within the `LUA_MINSTACK` (20) every
/// C function gets.
unsafe extern "C-unwind" fn call_one(l: *mut ffi::lua_State) -> c_int {
    pass_arguments(l);
    ffi::lua_call(l, 2, 1);
    1
}

/// As [`call_one`] for functions with many results: the core returns them as a table and
/// their count, and this function pushes them on its own stack, after dropping its
/// arguments, so that as many fit as when the C library pushes them itself (the core has
/// checked the count against [`MAX_C_STACK`]); no mlua reference is held per value.
///
/// # Safety
/// As [`call_one`]; `lua_checkstack` is asked for the room before the values are pushed.
unsafe extern "C-unwind" fn call_many(l: *mut ffi::lua_State) -> c_int {
    pass_arguments(l);
    ffi::lua_call(l, 2, 2);
    let count = ffi::lua_tonumber(l, -1);
    ffi::lua_pop(l, 1);
    ffi::lua_insert(l, 1);
    ffi::lua_settop(l, 1);
    if ffi::lua_type(l, 1) != ffi::LUA_TTABLE || !(count >= 1.0 && count < MAX_C_STACK as f64) {
        return 0;
    }
    let count = count as c_int;
    if ffi::lua_checkstack(l, count) == 0 {
        return 0;
    }
    for i in 1..=count {
        ffi::lua_rawgeti_(l, 1, i);
    }
    count
}

/// Pushes `core, n, {arg1, ..., argn}` above the arguments.
///
/// # Safety
/// Called first thing by [`call_one`] / [`call_many`], with their upvalue set.
unsafe fn pass_arguments(l: *mut ffi::lua_State) {
    let n = ffi::lua_gettop(l);
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
    ffi::lua_pushnumber(l, f64::from(n));
    ffi::lua_createtable(l, n, 0);
    for i in 1..=n {
        ffi::lua_pushvalue(l, i);
        ffi::lua_rawseti_(l, -2, i);
    }
}

fn entry(lua: &Lua, core: Function, f: ffi::lua_CFunction) -> mlua::Result<Function> {
    // SAFETY: the closure is made from the core on the stack `exec_raw` gives (its only
    // argument), which becomes upvalue 1 as `call_one` / `call_many` expect.
    unsafe { lua.exec_raw(core, |l| ffi::lua_pushcclosure(l, f, 1)) }
}

/// A library function with one result; `core` gets its arguments.
pub fn one<F>(lua: &Lua, core: F) -> mlua::Result<Function>
where
    F: Fn(&Args) -> mlua::Result<Value> + 'static,
{
    let f = lua.create_function(move |lua, (n, t): (usize, Table)| {
        core(&Args { lua, n, t, level: 1 }).map_err(|e| positioned(lua, 1, e))
    })?;
    entry(lua, f, call_one)
}

/// A library function returning the `n` values its core put in a table.
pub fn many<F>(lua: &Lua, core: F) -> mlua::Result<Function>
where
    F: Fn(&Args) -> mlua::Result<(Table, usize)> + 'static,
{
    let f = lua.create_function(move |lua, (n, t): (usize, Table)| {
        core(&Args { lua, n, t, level: 1 }).map_err(|e| positioned(lua, 1, e))
    })?;
    entry(lua, f, call_many)
}

/// What the libraries' unit tests share: a bare Lua state with one library as a global, and
/// the error a chunk raises.
#[cfg(test)]
pub(crate) mod test_support {
    use mlua::{Lua, Table};

    pub fn lua_with(name: &str, library: fn(&Lua) -> mlua::Result<Table>) -> Lua {
        let lua = Lua::new();
        let t = library(&lua).unwrap();
        lua.globals().set(name, t).unwrap();
        lua
    }

    /// The bytes `expr` (a Lua expression giving a string) evaluates to, in hex.
    pub fn hex_of(lua: &Lua, expr: &str) -> String {
        let s: mlua::String = lua.load(format!("return {expr}")).eval().unwrap();
        s.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn error_of(lua: &Lua, code: &str) -> String {
        match lua.load(code).exec() {
            Ok(()) => panic!("{code} did not fail"),
            Err(e) => e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_conversions_follow_x86_64() {
        assert_eq!(c_i64(-1.5), -1);
        assert_eq!(c_i64(f64::NAN), i64::MIN);
        assert_eq!(c_i64(1e19), i64::MIN);
        assert_eq!(c_u64(-1.0), u64::MAX);
        assert_eq!(c_u64(f64::NAN), 1 << 63);
        assert_eq!(c_u64(1.8446744073709552e19), 0, "2^64 wraps to 0");
        assert_eq!(c_u64(1e19), 10_000_000_000_000_000_000);
        assert_eq!(c_i32(2_147_483_648.0), i32::MIN);
        assert_eq!(c_i32(-7.9), -7);
    }

    fn lua_with(f: impl Fn(&Args) -> mlua::Result<Value> + 'static) -> Lua {
        let lua = Lua::new();
        let func = one(&lua, f).unwrap();
        lua.globals().set("f", func).unwrap();
        lua
    }

    #[test]
    fn arguments_arrive_exactly() {
        let lua = lua_with(|a| Ok(Value::Number(a.number(1)?)));
        let got: f64 = lua.load("return f(1e-300)").eval().unwrap();
        assert_eq!(got, 1e-300, "mlua would have made it 0");
        let got: f64 = lua.load("return 1/f(-0.0)").eval().unwrap();
        assert_eq!(got, f64::NEG_INFINITY, "the sign of zero is kept");
    }

    #[test]
    fn argument_errors_name_the_function_as_called() {
        let lua = lua_with(|a| Ok(Value::Number(a.number(2)?)));
        let e = lua.load("local t = {g = f}; return t.g(1)").exec().unwrap_err().to_string();
        assert!(e.contains("bad argument #2 to 'g' (number expected, got no value)"), "a tail call: {e}");
        let e = lua.load("local t = {g = f}\nt.g(1)").set_name("@user_script").exec().unwrap_err().to_string();
        assert!(e.contains("user_script:2: bad argument #2 to 'g' (number expected, got no value)"), "{e}");
        let e = lua.load("local t = {g = f}; return t:g({})").exec().unwrap_err().to_string();
        assert!(e.contains("bad argument #1 to 'g' (number expected, got table)"), "{e}");
        let (ok, e): (bool, String) =
            lua.load("local ok, e = pcall(f, 1, 'x'); return ok, tostring(e)").eval().unwrap();
        assert!(!ok && e.contains("bad argument #2 to '?' (number expected, got string)"), "{e}");
    }

    #[test]
    fn spread_returns_every_value_up_to_the_c_stack() {
        let lua = Lua::new();
        let f = many(&lua, |a| {
            let n = a.integer(1)? as usize;
            let t = a.lua.create_table()?;
            for i in 1..=n {
                t.raw_set(i, format!("v{i}"))?;
            }
            Ok((t, n))
        })
        .unwrap();
        lua.globals().set("f", f).unwrap();
        let (n, last): (usize, String) = lua.load("local r = {f(7999)}; return #r, r[#r]").eval().unwrap();
        assert_eq!((n, last.as_str()), (7999, "v7999"));
        let n: usize = lua.load("return select('#', f(0))").eval().unwrap();
        assert_eq!(n, 0);
    }
}
