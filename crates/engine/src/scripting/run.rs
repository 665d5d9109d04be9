//! Running one script: the `server.*` API, `server.call` through the command table, and
//! the script's result as the caller's reply.

use super::{convert, error_table, raise, script_flags, ScriptError, Vm};
use crate::commands::table::{flags, Lookup, Resolved};
use crate::commands::{CmdResult, Ctx, Error};
use crate::engine::LogLevel;
use crate::stats::Counter;
use mlua::{Function, Lua, MultiValue, Table, Value};
use smallvec::SmallVec;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;

/// Valkey's `PROPAGATE_AOF` / `PROPAGATE_REPL`.
const REPL_AOF: i64 = 1;
const REPL_REPLICA: i64 = 2;

/// The parts of the `server` table that do not need a running script.
pub fn api_table(lua: &Lua, current: &CurrentRunSlot) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "sha1hex",
        lua.create_function(|_, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise("wrong number of arguments"));
            }
            let bytes = match &args[0] {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Number(n) => lua_number_string(*n).into_bytes(),
                Value::Integer(n) => n.to_string().into_bytes(),
                _ => Vec::new(),
            };
            Ok(super::sha1hex(&bytes))
        })?,
    )?;
    t.raw_set(
        "error_reply",
        lua.create_function(|lua, args: MultiValue| {
            let text = match (args.len(), args.front()) {
                (1, Some(Value::String(s))) => s.to_string_lossy(),
                _ => return error_table(lua, "wrong number or type of arguments", false),
            };
            let text = if text.starts_with('-') { text } else { format!("-{text}") };
            error_table(lua, &text, false)
        })?,
    )?;
    t.raw_set(
        "status_reply",
        lua.create_function(|lua, args: MultiValue| {
            let t = lua.create_table()?;
            match (args.len(), args.front()) {
                (1, Some(Value::String(s))) => t.raw_set("ok", s.clone())?,
                _ => return error_table(lua, "wrong number or type of arguments", false),
            }
            Ok(t)
        })?,
    )?;
    t.raw_set("replicate_commands", lua.create_function(|_, _: MultiValue| Ok(true))?)?;
    let slot = current.clone();
    t.raw_set(
        "call",
        lua.create_function(move |lua, args: MultiValue| with_run(&slot, |st| call_command(lua, st, args, true)))?,
    )?;
    let slot = current.clone();
    t.raw_set(
        "pcall",
        lua.create_function(move |lua, args: MultiValue| with_run(&slot, |st| call_command(lua, st, args, false)))?,
    )?;
    let slot = current.clone();
    t.raw_set(
        "setresp",
        lua.create_function(move |_, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise("server.setresp() requires one argument."));
            }
            let v = number_arg(&args[0]) as i64;
            if v != 2 && v != 3 {
                return Err(raise("RESP version must be 2 or 3."));
            }
            with_run(&slot, |st| {
                st.borrow_mut().resp3 = v == 3;
                Ok(())
            })
        })?,
    )?;
    let slot = current.clone();
    t.raw_set(
        "set_repl",
        lua.create_function(move |_, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise("server.set_repl() requires one argument."));
            }
            let v = number_arg(&args[0]) as i64;
            if v & !(REPL_AOF | REPL_REPLICA) != 0 {
                return Err(raise("Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."));
            }
            with_run(&slot, |st| {
                st.borrow_mut().repl = v;
                Ok(())
            })
        })?,
    )?;
    let slot = current.clone();
    t.raw_set(
        "log",
        lua.create_function(move |_, args: MultiValue| {
            let (level, msg) = log_message(&args)?;
            with_run(&slot, |st| {
                st.borrow().ctx.engine.log(level, &msg);
                Ok(())
            })
        })?,
    )?;
    constants(&t)?;
    Ok(t)
}

/// The log levels, replication flags and versions of the `server` table; FUNCTION LOAD's
/// library API has them too.
pub fn constants(t: &Table) -> mlua::Result<()> {
    for (name, v) in [("LOG_DEBUG", 0), ("LOG_VERBOSE", 1), ("LOG_NOTICE", 2), ("LOG_WARNING", 3)] {
        t.raw_set(name, v)?;
    }
    for (name, v) in [
        ("REPL_NONE", 0),
        ("REPL_AOF", REPL_AOF),
        ("REPL_SLAVE", REPL_REPLICA),
        ("REPL_REPLICA", REPL_REPLICA),
        ("REPL_ALL", REPL_AOF | REPL_REPLICA),
    ] {
        t.raw_set(name, v)?;
    }
    t.raw_set("REDIS_VERSION", "7.2.4")?;
    t.raw_set("REDIS_VERSION_NUM", 0x0007_0204)?;
    t.raw_set("VALKEY_VERSION", "8.0.1")?;
    t.raw_set("VALKEY_VERSION_NUM", 0x0008_0001)?;
    t.raw_set("SERVER_NAME", "valkey")?;
    Ok(())
}

/// Valkey's `math.random` / `math.randomseed`: Lua's own, over a rand48 generator that gives
/// the same sequence on every platform.
pub fn replace_math_random(lua: &Lua) -> mlua::Result<()> {
    let math: Table = lua.globals().raw_get("math")?;
    // The generator state lives in an atomic because mlua's `send` feature wants Send closures.
    let seed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0x1234_ABCD_330E));
    let next = seed.clone();
    math.raw_set(
        "random",
        lua.create_function(move |_, args: MultiValue| {
            let x = next.load(Relaxed);
            let x = (x.wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB)) & ((1 << 48) - 1);
            next.store(x, Relaxed);
            let r31 = (x >> 17) as i32;
            let r = f64::from(r31 % i32::MAX) / f64::from(i32::MAX);
            let int_arg = |v: &Value, pos: usize| number_arg_checked(v, pos, "random").map(|n| n as i32);
            match args.len() {
                0 => Ok(r),
                1 => {
                    let u = int_arg(&args[0], 1)?;
                    if u < 1 {
                        return Err(bad_arg(1, "random", "interval is empty"));
                    }
                    Ok((r * f64::from(u)).floor() + 1.0)
                }
                2 => {
                    let l = int_arg(&args[0], 1)?;
                    let u = int_arg(&args[1], 2)?;
                    if l > u {
                        return Err(bad_arg(2, "random", "interval is empty"));
                    }
                    Ok((r * (f64::from(u) - f64::from(l) + 1.0)).floor() + f64::from(l))
                }
                _ => Err(mlua::Error::RuntimeError("wrong number of arguments".into())),
            }
        })?,
    )?;
    math.raw_set(
        "randomseed",
        lua.create_function(move |_, args: MultiValue| {
            let s = number_arg_checked(args.front().unwrap_or(&Value::Nil), 1, "randomseed")? as i32;
            seed.store((u64::from(s as u32) << 16) | 0x330E, Relaxed);
            Ok(())
        })?,
    )?;
    Ok(())
}

/// Lua's `luaL_checknumber`: a number, or a string that reads as one.
fn number_arg_checked(v: &Value, pos: usize, f: &str) -> mlua::Result<f64> {
    match v {
        Value::Number(n) => Ok(*n),
        Value::Integer(n) => Ok(*n as f64),
        Value::String(s) => s
            .to_str()
            .ok()
            .and_then(|s| convert::lua_str2number(&s))
            .ok_or_else(|| bad_arg(pos, f, "number expected, got string")),
        Value::Nil => Err(bad_arg(pos, f, "number expected, got no value")),
        other => Err(bad_arg(pos, f, &format!("number expected, got {}", other.type_name()))),
    }
}

fn bad_arg(pos: usize, f: &str, why: &str) -> mlua::Error {
    mlua::Error::RuntimeError(format!("bad argument #{pos} to '{f}' ({why})"))
}

/// How Lua prints a number (`%.14g`), for `sha1hex(12)` and the like.
pub fn lua_number_string(n: f64) -> String {
    convert::format_g14(n)
}

/// A script about to run: what it is called in errors and how it may write.
pub struct RunSpec<'s> {
    /// The SHA of an EVAL script, the function name of an FCALL.
    pub name: &'s str,
    pub func: Function,
    pub keys: &'s [&'s [u8]],
    pub args: &'s [&'s [u8]],
    /// EVAL (KEYS and ARGV as globals) rather than FCALL (passed as arguments).
    pub eval: bool,
    /// Write commands are refused (EVAL_RO, FCALL_RO, `no-writes`).
    pub read_only: bool,
    /// `denyoom` commands run even over `maxmemory` (`allow-oom`, the master's link).
    pub allow_oom: bool,
    /// The command that runs the script, for FUNCTION STATS.
    pub argv: &'s [&'s [u8]],
}

/// The mutable state of one run, shared by the `server.*` functions.
struct RunCtx<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    resp3: bool,
    repl: i64,
    read_only: bool,
    allow_oom: bool,
    ops: Vec<crate::propagate::Op>,
}

/// The script run in progress in a Lua state (a `&RefCell<RunCtx>`, erased), which the
/// `server.call` & co. installed once in its API table act on; null between runs. Per Lua
/// state rather than per thread: a run may move to another thread midway
/// (`scripting::inline`).
pub type CurrentRunSlot = Rc<Cell<*const ()>>;

/// Makes a run current in its Lua state for as long as it lives (also when the run
/// unwinds). Installing the API functions once and pointing them at the run beat creating
/// them per run as scoped closures: that was a tenth of a three-command script's time.
struct CurrentRun<'s> {
    slot: &'s CurrentRunSlot,
    previous: *const (),
}

impl<'s> CurrentRun<'s> {
    fn enter(slot: &'s CurrentRunSlot, state: &RefCell<RunCtx<'_, '_>>) -> CurrentRun<'s> {
        let previous = slot.replace(state as *const RefCell<RunCtx<'_, '_>> as *const ());
        CurrentRun { slot, previous }
    }
}

impl Drop for CurrentRun<'_> {
    fn drop(&mut self) {
        self.slot.set(self.previous);
    }
}

/// Runs `f` on the current run's state; outside a run (nothing in Lua can reach the API
/// table then, but the functions must not trust that) it raises.
fn with_run<R>(slot: &CurrentRunSlot, f: impl FnOnce(&RefCell<RunCtx<'_, '_>>) -> mlua::Result<R>) -> mlua::Result<R> {
    let p = slot.get();
    if p.is_null() {
        return Err(raise("This Redis command is not allowed from script"));
    }
    // SAFETY: `CurrentRun::enter` stored a pointer to a `RefCell<RunCtx>` that outlives the
    // guard, and the guard clears it before that borrow ends; the API functions run
    // synchronously inside the script call, and `f` cannot keep the reference beyond its
    // own call.
    let st = unsafe { &*(p as *const RefCell<RunCtx<'_, '_>>) };
    f(st)
}

/// Runs a script inside the handler of the command that called it (which holds the locks)
/// and writes its result (or error) as the reply.
pub fn run_script(ctx: &mut Ctx, vm: &mut Vm, spec: RunSpec) -> CmdResult {
    let engine = ctx.engine;
    let run = &engine.scripting.run;
    run.kill.store(false, Relaxed);
    run.wrote.store(false, Relaxed);
    run.is_function.store(!spec.eval, Relaxed);
    run.caller.store(ctx.client.id(), Relaxed);
    *run.info.lock() = (spec.name.to_string(), spec.argv.iter().map(|a| a.to_vec()).collect());
    run.started_us.store(crate::util::now_us(), Relaxed);
    run.escape.store(super::inline::current_yielder(), Relaxed);
    run.running.store(true, Relaxed);
    // Monitors see the script before the commands it calls (EVAL and FCALL skip the usual
    // after-the-command feed).
    if engine.monitors.active() {
        engine.monitors.feed(engine, &ctx.cmd.full_name, ctx.client.db, &ctx.client.shared.addr, spec.argv);
    }

    let saved_db = ctx.client.db;
    let saved_may_block = ctx.keys.may_block;
    ctx.keys.may_block = false;
    let result = run_inner(ctx, vm, &spec);
    ctx.keys.may_block = saved_may_block;
    ctx.client.db = saved_db;
    ctx.keys.db = saved_db;
    run.running.store(false, Relaxed);
    run.escape.store(std::ptr::null_mut(), Relaxed);
    if run.kill.swap(false, Relaxed) {
        vm.reset_kill_hook(run);
    }
    // Besides the steps Lua's allocator triggers, the collector takes one explicit step every
    // 50 scripts (Valkey's LUA_GC_CYCLE_PERIOD): one after every script cost a short script
    // a third of its time.
    vm.runs_since_gc += 1;
    if vm.runs_since_gc >= GC_PERIOD {
        vm.runs_since_gc = 0;
        let _ = vm.lua.gc_step_kbytes(GC_PERIOD as i32);
    }
    result
}

/// Scripts between two explicit collector steps, and the step's size in KB.
const GC_PERIOD: u32 = 50;

fn run_inner(ctx: &mut Ctx, vm: &mut Vm, spec: &RunSpec) -> CmdResult {
    let lua = &vm.lua;
    let to_table = |items: &[&[u8]]| -> mlua::Result<Table> {
        let t = lua.create_table_with_capacity(items.len(), 0)?;
        for (i, item) in items.iter().enumerate() {
            t.raw_set(i + 1, lua.create_string(item)?)?;
        }
        Ok(t)
    };
    let lua_err = |e: mlua::Error| Error::err(format!("Error running script {}, {}", spec.name, e));
    let keys = to_table(spec.keys).map_err(lua_err)?;
    let args = to_table(spec.args).map_err(lua_err)?;
    if spec.eval {
        let g = lua.globals();
        g.raw_set("KEYS", keys.clone()).map_err(lua_err)?;
        g.raw_set("ARGV", args.clone()).map_err(lua_err)?;
    }
    let state = RefCell::new(RunCtx {
        ctx,
        resp3: false,
        repl: REPL_AOF | REPL_REPLICA,
        read_only: spec.read_only,
        allow_oom: spec.allow_oom,
        ops: Vec::new(),
    });
    let outcome: mlua::Result<()> = (|| {
        let _current = CurrentRun::enter(&vm.current, &state);
        let result: MultiValue = if spec.eval {
            vm.run_eval.call(spec.func.clone())?
        } else {
            vm.run_function.call((spec.func.clone(), keys.clone(), args.clone()))?
        };
        let mut st = state.borrow_mut();
        let resp3 = st.resp3;
        let out = &mut *st.ctx.out;
        let ok = matches!(result.front(), Some(Value::Boolean(true)));
        let value = result.get(1).cloned().unwrap_or(Value::Nil);
        if ok {
            convert::lua_to_reply(out, &value, resp3, 0);
        } else {
            write_script_error(out, &value, spec.name);
        }
        Ok(())
    })();
    let RunCtx { ctx, ops, .. } = state.into_inner();
    // Effects replication: the script's writes go to replicas as the commands it ran,
    // wrapped in MULTI/EXEC, never as the script itself.
    ctx.keys.effects.own = crate::db::Propagate::Nothing;
    if !ops.is_empty() {
        let mut all = std::mem::take(&mut ctx.keys.effects.propagate);
        all.extend(ops);
        ctx.keys.effects.propagate = all;
    }
    outcome.map_err(|e| Error::err(format!("Error running script {}, {:.100}", spec.name, e.to_string())))
}

/// `server.log(level, message...)`'s arguments: the level and the message, its pieces
/// joined by spaces.
pub(super) fn log_message(args: &MultiValue) -> mlua::Result<(LogLevel, String)> {
    if args.len() < 2 {
        return Err(raise("server.log() requires two arguments or more."));
    }
    let level = match &args[0] {
        Value::Number(n) => *n as i64,
        Value::Integer(n) => *n,
        Value::String(s) => match s.to_str().ok().and_then(|s| convert::lua_str2number(&s)) {
            Some(n) => n as i64,
            None => return Err(raise("First argument must be a number (log level).")),
        },
        _ => return Err(raise("First argument must be a number (log level).")),
    };
    let level = match level {
        0 => LogLevel::Debug,
        1 => LogLevel::Verbose,
        2 => LogLevel::Notice,
        3 => LogLevel::Warning,
        _ => return Err(raise("Invalid log level.")),
    };
    let mut msg = String::new();
    for (i, v) in args.iter().skip(1).enumerate() {
        let piece = match v {
            Value::String(s) => s.to_string_lossy(),
            Value::Number(n) => lua_number_string(*n),
            Value::Integer(n) => n.to_string(),
            _ => continue,
        };
        if i > 0 {
            msg.push(' ');
        }
        msg.push_str(&piece);
    }
    Ok((level, msg))
}

/// The reply for a script that raised: `-<err> script: <name>, on <source>:<line>.`
fn write_script_error(out: &mut resp::Reply, value: &Value, name: &str) {
    match value {
        Value::Table(t) => {
            let field = |k: &str| -> Option<String> {
                match t.raw_get::<Value>(k).ok()? {
                    Value::String(s) => Some(s.to_string_lossy()),
                    Value::Number(n) => Some(lua_number_string(n)),
                    Value::Integer(n) => Some(n.to_string()),
                    _ => None,
                }
            };
            let msg = field("err").unwrap_or_default();
            let mut text = msg;
            if let (Some(source), Some(line)) = (field("source"), field("line")) {
                text.push_str(&format!(" script: {name}, on {source}:{line}."));
            }
            let ignore = matches!(t.raw_get::<Value>("ignore_error_stats_update"), Ok(Value::Boolean(true)));
            let before = out.error_count();
            out.error(&text);
            if ignore {
                // Already counted when the command inside the script failed; the script's
                // own call still failed.
                out.drain_errors_from(before);
                out.failed_already_counted();
            }
        }
        Value::String(s) => out.err(&format!("Error running script {name}, {:.100}\n", s.to_string_lossy())),
        _ => out.err(&format!("Error running script {name}, execution failure\n")),
    }
}

fn number_arg(v: &Value) -> f64 {
    match v {
        Value::Number(n) => *n,
        Value::Integer(n) => *n as f64,
        Value::String(s) => s.to_str().ok().and_then(|s| convert::lua_str2number(&s)).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// `server.call` (`raise`) and `server.pcall`.
fn call_command(lua: &Lua, st: &RefCell<RunCtx>, args: MultiValue, raise_errors: bool) -> mlua::Result<Value> {
    let fail = |text: &str, ignore_stats: bool| -> mlua::Result<Value> {
        if raise_errors {
            Err(mlua::Error::external(ScriptError { text: text.to_string(), ignore_stats }))
        } else {
            Ok(Value::Table(error_table(lua, text, ignore_stats)?))
        }
    };
    if args.is_empty() {
        return fail("Please specify at least one argument for this call", false);
    }
    // The arguments' bytes, one after the other in one buffer (one allocation per call).
    let mut bytes: Vec<u8> = Vec::new();
    let mut ends: SmallVec<[usize; 8]> = SmallVec::with_capacity(args.len());
    for v in args.iter() {
        match v {
            Value::String(s) => bytes.extend_from_slice(&s.as_bytes()),
            Value::Number(n) => bytes.extend_from_slice(convert::number_arg_string(*n).as_bytes()),
            Value::Integer(n) => bytes.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            _ => return fail("Command arguments must be strings or integers", false),
        }
        ends.push(bytes.len());
    }
    let refs: SmallVec<[&[u8]; 8]> =
        ends.iter().scan(0, |from, &end| Some(&bytes[std::mem::replace(from, end)..end])).collect();
    let mut guard = st.borrow_mut();
    let rc = &mut *guard;
    let engine = rc.ctx.engine;
    // A call the script may not make is refused like a command (Valkey's `scriptCall`): the
    // error and the command's rejected call are counted here, not again when the script
    // fails with it.
    let reject = |cmd: Option<&Resolved>, text: &str| -> mlua::Result<Value> {
        let code = text.strip_prefix('-').and_then(|t| t.split(' ').next()).unwrap_or("ERR");
        engine.stats.record_error(code);
        if let Some(cmd) = cmd {
            engine.stats.local(|b| b.rejected(cmd.id));
        }
        fail(text, true)
    };
    let cmd = match engine.commands.lookup(&refs) {
        Lookup::Found(c) => c,
        _ => return reject(None, "Unknown command called from script"),
    };
    let def = cmd.def;
    if (def.arity > 0 && refs.len() as i32 != def.arity) || (refs.len() as i32) < -def.arity {
        return reject(Some(cmd), "Wrong number of args calling command from script");
    }
    if def.flags & flags::NOSCRIPT != 0 && !engine.scripting.allow_noscript_commands.load(Relaxed) {
        return reject(Some(cmd), "This Redis command is not allowed from script");
    }
    if rc.read_only && def.flags & (flags::WRITE | flags::MAY_REPLICATE) != 0 {
        return reject(Some(cmd), "Write commands are not allowed from read-only scripts.");
    }
    // A script's first write is refused where a write command would be (Valkey's
    // `scriptVerifyWriteCommandAllow`); once it has written, it cannot be stopped half-way.
    if def.flags & flags::WRITE != 0 && !engine.scripting.run.wrote.load(Relaxed) {
        if engine.replica.is_replica() && !rc.ctx.client.obey && engine.config.get_bool("replica-read-only") {
            return reject(Some(cmd), &format!("-{}", crate::replica::READONLY));
        }
        if engine.writes_denied_by_disk_error() {
            return reject(Some(cmd), &format!("-{}", crate::persist::MISCONF));
        }
        if crate::replica::too_few_good_replicas(engine) {
            return reject(Some(cmd), &format!("-{}", crate::replica::NOREPLICAS));
        }
    }
    // Over `maxmemory` when the script started, its first `denyoom` call is refused; once it
    // has written, it cannot be stopped half-way.
    if !rc.allow_oom
        && rc.ctx.client.over_maxmemory
        && def.flags & flags::DENYOOM != 0
        && !engine.scripting.run.wrote.load(Relaxed)
        && engine.config.hot.maxmemory.load(Relaxed) != 0
    {
        return reject(Some(cmd), &format!("-{}", crate::evict::OOM));
    }
    let Some(handler) = def.handler else {
        return reject(Some(cmd), "Unknown command called from script");
    };
    // The shards this call needs beyond those the script holds (keys it did not declare, a
    // whole database, another one after SELECT) are taken now and kept to the end of the
    // script, so its effects still appear all at once (two-phase locking).
    rc.ctx.keys.db = rc.ctx.client.db;
    match crate::exec::lock_set(engine, rc.ctx.client, cmd, &refs) {
        Ok(set) => rc.ctx.keys.lock_more(&set),
        Err(e) => return reject(Some(cmd), &format!("-{}", String::from_utf8_lossy(e.text()))),
    }
    if def.flags & flags::WRITE != 0 {
        engine.scripting.run.wrote.store(true, Relaxed);
    }
    let resp3 = rc.resp3;
    let repl = rc.repl;
    let ctx = &mut *rc.ctx;
    let saved_cmd = ctx.cmd;
    ctx.cmd = cmd;
    ctx.keys.db = ctx.client.db;
    let db_before = ctx.client.db;
    let dirty_before = ctx.keys.effects.dirty;
    let start = ctx.out.len();
    let errors_before = ctx.out.error_count();
    let caller_resp3 = ctx.out.is_resp3();
    ctx.out.set_resp3(resp3);
    let started = crate::util::now_us();
    if let Err(e) = handler(ctx, &refs) {
        ctx.out.truncate(start);
        ctx.out.error_bytes(e.text());
    }
    if let Some(req) = ctx.keys.effects.block.take() {
        // Blocking commands do not block inside a script: they answer as on a timeout.
        (req.waiter.timeout_reply)(ctx.out);
    }
    if ctx.client.tracking {
        crate::tracking::after_command(engine, ctx.client, cmd, &refs, true);
    }
    let effects = &mut ctx.keys.effects;
    let own = std::mem::take(&mut effects.own);
    let mut produced = std::mem::take(&mut effects.propagate);
    if repl & REPL_REPLICA != 0 && engine.propagation.is_active() {
        if effects.dirty > dirty_before || matches!(own, crate::db::Propagate::Forced) {
            match own {
                crate::db::Propagate::AsCalled | crate::db::Propagate::Forced => produced
                    .push(crate::propagate::Op { db: db_before, argv: refs.iter().map(|a| a.to_vec()).collect() }),
                crate::db::Propagate::As(rewritten) => {
                    produced.push(crate::propagate::Op { db: db_before, argv: rewritten })
                }
                crate::db::Propagate::Nothing => {}
            }
        }
        rc.ops.append(&mut produced);
    }
    // The command's reply, read back as the value the script gets.
    let parsed = resp::Value::parse(&ctx.out.as_bytes()[start..]);
    ctx.out.truncate(start);
    ctx.out.set_resp3(caller_resp3);
    let errors = ctx.out.drain_errors_from(errors_before);
    ctx.cmd = saved_cmd;
    let usec = crate::util::now_us().saturating_sub(started);
    engine.stats.local(|b| {
        b.call(cmd.id, usec, !errors.is_empty());
        b.add(Counter::CommandsProcessed, 1);
    });
    // A script's commands are logged with its caller's address and name, and shown to
    // monitors as coming from `lua`.
    crate::exec::slowlog(engine, ctx.client, cmd, &refs, usec);
    if engine.monitors.active() {
        crate::exec::feed_monitors(engine, ctx.client, cmd, &refs, "lua");
    }
    for code in &errors {
        engine.stats.record_error(code);
    }
    drop(guard);
    let parsed = match parsed {
        Ok((v, _)) => v,
        Err(_) => return fail("internal error: unreadable command reply", false),
    };
    if let resp::Value::Error(text) = &parsed {
        let mut t = String::from("-");
        t.push_str(&String::from_utf8_lossy(text));
        return fail(&t, true);
    }
    convert::reply_to_lua(lua, &parsed, resp3)
}

/// Whether a script with these shebang flags may run as called (Valkey's
/// `scriptPrepareForRun`): `*_RO` commands refuse scripts that may write, and over
/// `maxmemory` only `allow-oom` or `no-writes` scripts start. Returns whether the script's
/// `denyoom` calls are allowed over `maxmemory`.
pub fn check_flags(ctx: &Ctx, flags: u32, ro_command: bool) -> Result<bool, Error> {
    let obey = ctx.client.obey;
    if flags & script_flags::EVAL_COMPAT != 0 {
        return Ok(obey);
    }
    if flags & script_flags::NO_WRITES == 0 && ro_command {
        return Err(Error::err("Can not execute a script with write flag using *_ro command."));
    }
    if !obey
        && ctx.client.over_maxmemory
        && flags & (script_flags::ALLOW_OOM | script_flags::NO_WRITES) == 0
        && ctx.engine.config.hot.maxmemory.load(Relaxed) != 0
    {
        return Err(Error::coded(
            "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'",
        ));
    }
    Ok(obey || flags & script_flags::ALLOW_OOM != 0)
}
