//! Server-side Lua (Valkey's `eval.c`, `script_lua.c`, `script.c`): the Lua 5.1 state, its
//! sandbox, the script cache and the running of one script.
//!
//! One Lua state for EVAL and one for function libraries, created on first use, each behind a
//! mutex: a script runs inside its command's handler (EVAL, FCALL ...), which holds the
//! script slot (one script at a time, [`Scripting::take_slot`]) and the shards of its declared
//! keys, so the mutexes are never contended by two scripts. Each `redis.call` resolves its
//! command in the table, makes Valkey's checks, takes the shards the call needs that the
//! script does not hold yet (kept to the end: two-phase locking), and calls the handler with
//! the script's own `Ctx` — the same locks, the same frozen clock — as EXEC runs its queued
//! commands (`exec::exec_transaction`). The command's reply is encoded into the caller's
//! buffer, read back and converted into Lua values, as Valkey does. Where the command runs
//! (on the worker, moved off it when long): [`inline`].
//!
//! What runs outside the mutex: SCRIPT KILL / FUNCTION KILL and the BUSY check read
//! [`RunState`], which the running script updates and its instruction hook polls.

pub mod bit;
pub mod cjson;
pub mod clib;
pub mod cmsgpack;
pub mod convert;
pub mod functions;
pub mod inline;
pub mod run;
pub mod structlib;

use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, Table, Value, VmState};
use parking_lot::{Mutex, MutexGuard};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::Arc;

/// Shebang flags (`#!lua flags=...`), Valkey's `SCRIPT_FLAG_*`.
pub mod script_flags {
    pub const NO_WRITES: u32 = 1 << 0;
    pub const ALLOW_OOM: u32 = 1 << 1;
    pub const ALLOW_STALE: u32 = 1 << 2;
    pub const NO_CLUSTER: u32 = 1 << 3;
    /// No shebang: an EVAL script of before Redis 7, with the old rules.
    pub const EVAL_COMPAT: u32 = 1 << 4;
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 5;

    pub const NAMES: &[(u32, &str)] = &[
        (NO_WRITES, "no-writes"),
        (ALLOW_OOM, "allow-oom"),
        (ALLOW_STALE, "allow-stale"),
        (NO_CLUSTER, "no-cluster"),
        (ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
    ];

    pub fn parse(name: &str) -> Option<u32> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }
}

/// How many EVAL-created scripts are kept before the oldest is evicted (SCRIPT LOAD ones are
/// kept until SCRIPT FLUSH), Valkey's `LRU_LIST_LENGTH`.
pub const EVAL_SCRIPTS_KEPT: usize = 500;

/// What SCRIPT KILL, FUNCTION KILL and the BUSY check see of the running script.
#[derive(Default)]
pub struct RunState {
    pub running: AtomicBool,
    /// When the running script started (µs since the epoch): the time TIME answers inside it.
    pub started_us: AtomicU64,
    /// Set by SCRIPT/FUNCTION KILL; the instruction hook then fails the script.
    pub kill: AtomicBool,
    /// The script called a write command: it can no longer be killed.
    pub wrote: AtomicBool,
    /// An FCALL rather than an EVAL.
    pub is_function: AtomicBool,
    /// The caller's client id.
    pub caller: AtomicU64,
    /// The script's name (SHA or function) and the command that runs it (FUNCTION STATS).
    pub info: Mutex<(String, Vec<Vec<u8>>)>,
    /// Where the running script can be suspended to leave its worker thread (see
    /// [`inline`]): its coroutine's yielder, null when it cannot or already did.
    pub escape: std::sync::atomic::AtomicPtr<()>,
}

/// Scripting's memory, as INFO memory reports it.
#[derive(Default)]
pub struct MemoryStats {
    pub cached_scripts: AtomicUsize,
    /// The EVAL Lua state's heap (`used_memory_vm_eval`).
    pub eval_vm: AtomicU64,
    /// The cached scripts' bodies (`used_memory_scripts_eval`).
    pub eval_scripts: AtomicU64,
    /// The functions' Lua state's heap (`used_memory_vm_functions`).
    pub functions_vm: AtomicU64,
    /// The libraries' code (`used_memory_functions`).
    pub functions_code: AtomicU64,
}

/// The scripting state of an engine.
#[derive(Default)]
pub struct Scripting {
    vm: Mutex<Option<Vm>>,
    pub run: Arc<RunState>,
    /// Function libraries and their own Lua state (FUNCTION LOAD, FCALL).
    pub functions: Mutex<functions::Functions>,
    /// Counts kept beside the libraries so FUNCTION STATS answers while an FCALL runs.
    pub library_count: AtomicUsize,
    pub function_count: AtomicUsize,
    /// What INFO memory shows, kept up to date by the commands that change it so that INFO
    /// never waits for a running script.
    pub memory: MemoryStats,
    /// Scripts evicted from the EVAL cache (`evicted_scripts`).
    pub evicted: AtomicU64,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call `noscript` commands (Valkey's tests).
    pub allow_noscript_commands: AtomicBool,
    /// Held by the script command that runs (taken before its shards): one script at a time.
    slot: Mutex<()>,
}

impl Scripting {
    /// The Lua state, created on first use.
    pub fn vm(&self) -> Result<MutexGuard<'_, Option<Vm>>, String> {
        let mut guard = self.vm.lock();
        if guard.is_none() {
            *guard = Some(Vm::new(self.run.clone()).map_err(|e| format!("Failed creating the Lua VM: {e}"))?);
        }
        Ok(guard)
    }

    /// SCRIPT FLUSH: forgets every cached script (a new Lua state is made on next use;
    /// function libraries are compiled again into it).
    pub fn flush_scripts(&self) {
        let old = self.vm.lock().take();
        drop(old);
        self.note_scripts(None);
    }

    /// Records the EVAL state's figures for INFO (after a script ran, was cached or flushed).
    pub fn note_scripts(&self, vm: Option<&Vm>) {
        let m = &self.memory;
        m.cached_scripts.store(vm.map_or(0, |vm| vm.scripts.len()), Relaxed);
        m.eval_vm.store(vm.map_or(0, |vm| vm.lua.used_memory() as u64), Relaxed);
        m.eval_scripts.store(vm.map_or(0, |vm| vm.script_bytes as u64), Relaxed);
    }

    /// Takes the script slot if it is free or freed within a few microseconds (scripts are
    /// mostly that short); None otherwise, and the caller's connection tries again after
    /// letting its worker's other connections run. A worker never sleeps on the slot: while
    /// it did, the worker holding it took it back for its own next script most of the time
    /// (an unfair mutex), and the sleeper's connections waited milliseconds.
    pub fn take_slot(&self) -> Option<MutexGuard<'_, ()>> {
        const SPIN: std::time::Duration = std::time::Duration::from_micros(20);
        if let Some(slot) = self.slot.try_lock() {
            return Some(slot);
        }
        let start = std::time::Instant::now();
        loop {
            for _ in 0..64 {
                std::hint::spin_loop();
            }
            if let Some(slot) = self.slot.try_lock() {
                return Some(slot);
            }
            if start.elapsed() >= SPIN {
                return None;
            }
        }
    }

    /// Whether a script has been running for longer than `threshold_ms` (0: never busy).
    pub fn busy(&self, now_ms: u64, threshold_ms: u64) -> bool {
        threshold_ms > 0
            && self.run.running.load(Relaxed)
            && now_ms.saturating_sub(self.run.started_us.load(Relaxed) / 1000) >= threshold_ms
    }

    /// SCRIPT KILL (`is_eval`) / FUNCTION KILL: the error to reply, or None when the running
    /// script will now stop.
    pub fn kill(&self, is_eval: bool) -> Option<&'static str> {
        let run = &self.run;
        if !run.running.load(Relaxed) {
            return Some("NOTBUSY No scripts in execution right now.");
        }
        if run.wrote.load(Relaxed) {
            return Some(
                "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either \
                 wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
            );
        }
        let is_function = run.is_function.load(Relaxed);
        if is_eval && is_function {
            return Some(BUSY_FUNCTION);
        }
        if !is_eval && !is_function {
            return Some(BUSY_SCRIPT);
        }
        run.kill.store(true, Relaxed);
        None
    }

    /// The BUSY error other clients get while the running script is past the threshold.
    pub fn busy_error(&self) -> &'static str {
        if self.run.is_function.load(Relaxed) {
            BUSY_FUNCTION
        } else {
            BUSY_SCRIPT
        }
    }

    /// (libraries, functions) loaded, without waiting for a running FCALL.
    pub fn function_counts(&self) -> (usize, usize) {
        (self.library_count.load(Relaxed), self.function_count.load(Relaxed))
    }

    /// Records the libraries' counts and memory for FUNCTION STATS and INFO (after a load,
    /// a delete, a flush or an FCALL).
    pub fn set_function_counts(&self, f: &functions::Functions) {
        self.library_count.store(f.libraries.len(), Relaxed);
        self.function_count.store(f.function_count(), Relaxed);
        let m = &self.memory;
        m.functions_vm.store(f.vm.as_ref().map_or(0, |vm| vm.lua.used_memory() as u64), Relaxed);
        m.functions_code.store(f.libraries.values().map(|l| l.code.len() as u64).sum(), Relaxed);
    }

    /// The code of every function library, in name order (what saves write as `FUNCTION2`).
    pub fn library_codes(&self) -> Vec<Vec<u8>> {
        self.functions.lock().libraries.values().map(|l| l.code.clone()).collect()
    }

    /// Creates a library read from an RDB file; `replace` lets it replace one of the same
    /// name (DEBUG RELOAD MERGE). The error is Valkey's text without its `ERR `.
    pub fn load_library(&self, engine: &crate::Engine, code: &[u8], replace: bool) -> Result<String, String> {
        let mut functions = self.functions.lock();
        let loaded = functions.load(engine, code, replace);
        self.set_function_counts(&functions);
        loaded.map_err(|e| e.strip_prefix("ERR ").map(str::to_string).unwrap_or(e))
    }

    /// Drops every function library (DEBUG RELOAD, a full resync).
    pub fn flush_functions(&self) {
        let mut functions = self.functions.lock();
        functions.flush();
        self.set_function_counts(&functions);
    }
}

pub const BUSY_SCRIPT: &str = "BUSY Valkey is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const BUSY_FUNCTION: &str =
    "BUSY Valkey is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// A cached EVAL script.
pub struct Script {
    pub body: Vec<u8>,
    pub flags: u32,
    pub func: Function,
    /// Added by EVAL (evictable) rather than SCRIPT LOAD.
    pub evictable: bool,
}

/// The Lua state and what lives in it.
pub struct Vm {
    pub lua: Lua,
    /// The read-only view of the globals every script sees as its environment.
    pub globals_view: Table,
    /// `run_eval(f)` / `run_function(f, keys, args)`: xpcall with the error handler.
    pub run_eval: Function,
    pub run_function: Function,
    /// The real `server` (= `redis`) table, where each run puts its `call`, `pcall` ...
    pub server: Table,
    /// `set_load_env(register, log)`: FUNCTION LOAD's restricted globals on (with the
    /// functions `server.register_function` and `server.log` call), or off without arguments.
    pub set_load_env: Function,
    pub scripts: HashMap<String, Script>,
    /// The bytes of the cached scripts' bodies.
    pub script_bytes: usize,
    /// EVAL-created scripts, oldest first.
    pub lru: VecDeque<String>,
    /// Scripts run since the collector's last explicit step.
    pub runs_since_gc: u32,
    /// The run the API functions act on (see `run::CurrentRunSlot`).
    pub current: run::CurrentRunSlot,
}

// SAFETY: mlua is built without its `send` feature (whose reentrant lock records the owning
// thread, which a script moved off its worker mid-run would deadlock on; see
// `scripting::inline`), so its handles count references without atomics. Every handle into
// this Lua state lives in this struct, or on the stack of the code that holds the mutex
// this struct sits behind (`Scripting::vm`), so only one thread touches them at a time.
unsafe impl Send for Vm {}

/// An error raised from Rust into a script, in Valkey's `luaPushError` forms: `-CODE msg`
/// keeps its code, plain `msg` gets `ERR`.
#[derive(Debug)]
pub struct ScriptError {
    pub text: String,
    /// The error was a command's reply, already counted in the error statistics.
    pub ignore_stats: bool,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for ScriptError {}

pub fn raise(text: impl Into<String>) -> mlua::Error {
    mlua::Error::external(ScriptError { text: text.into(), ignore_stats: false })
}

/// Valkey's `luaPushErrorBuff`: the `{err = "CODE msg"}` table for an error text.
pub fn error_table(lua: &Lua, text: &str, ignore_stats: bool) -> mlua::Result<Table> {
    let (code, msg) = match text.strip_prefix('-') {
        Some(rest) => match rest.split_once(' ') {
            Some((code, msg)) => (code, msg),
            None => ("ERR", rest),
        },
        None => ("ERR", text),
    };
    let msg = msg.trim_matches(|c| c == '\r' || c == '\n');
    let t = lua.create_table()?;
    t.raw_set("err", format!("{code} {msg}"))?;
    if ignore_stats {
        t.raw_set("ignore_error_stats_update", true)?;
    }
    Ok(t)
}

/// The hook that lets SCRIPT KILL / FUNCTION KILL stop a script: every 1000 instructions
/// one atomic load (Valkey checks every 100000). Once the kill is asked for, the hook fires on
/// every instruction, so that a script catching the error with `pcall` gets it again at once
/// outside the `pcall`, as Valkey switches its hook to every line.
fn install_kill_hook(lua: &Lua, run: Arc<RunState>, killing: bool) {
    let triggers = if killing {
        HookTriggers::new().every_nth_instruction(1)
    } else {
        HookTriggers::new().every_nth_instruction(1000)
    };
    lua.set_hook(triggers, move |lua, debug| {
        if run.kill.load(Relaxed) {
            // Kvasir's own prelude (the error handler that formats the kill) runs on.
            if killing && debug.source().source.as_deref() == Some("=kvasir") {
                return Ok(VmState::Continue);
            }
            if !killing {
                install_kill_hook(lua, run.clone(), true);
            }
            return Err(raise("Script killed by user with SCRIPT KILL..."));
        }
        if !killing {
            inline::suspend_if_due(&run);
        }
        Ok(VmState::Continue)
    });
}

/// The error object a Rust error becomes inside Lua: a table for [`ScriptError`]s, the
/// message string for everything else (which the handler prefixes with `ERR`).
fn normalise_error(lua: &Lua, e: &mlua::Error) -> mlua::Result<Value> {
    match e {
        mlua::Error::CallbackError { cause, .. } => normalise_error(lua, cause),
        mlua::Error::WithContext { cause, .. } => normalise_error(lua, cause),
        mlua::Error::ExternalError(inner) => match inner.downcast_ref::<ScriptError>() {
            Some(se) => Ok(Value::Table(error_table(lua, &se.text, se.ignore_stats)?)),
            None => match clib::lib_error_message(inner.as_ref()) {
                Some(msg) => Ok(Value::String(lua.create_string(msg)?)),
                None => Ok(Value::String(lua.create_string(inner.to_string())?)),
            },
        },
        mlua::Error::RuntimeError(msg) => Ok(Value::String(lua.create_string(msg)?)),
        mlua::Error::BadArgument { pos, name, cause, .. } => {
            let f = name.as_deref().unwrap_or("?");
            let why = match cause.as_ref() {
                mlua::Error::RuntimeError(m) => m.clone(),
                mlua::Error::FromLuaConversionError { from, to, .. } => format!("{to} expected, got {from}"),
                other => other.to_string(),
            };
            Ok(Value::String(lua.create_string(format!("bad argument #{pos} to '{f}' ({why})"))?))
        }
        other => Ok(Value::String(lua.create_string(other.to_string())?)),
    }
}

impl Vm {
    pub(crate) fn new(run: Arc<RunState>) -> mlua::Result<Vm> {
        // SAFETY: mlua calls the `debug` library unsafe because scripts could break the
        // VM's invariants with it; the prelude keeps only `debug.getinfo` for its error
        // handler and removes `debug` from the globals before any script runs.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG | StdLib::OS,
                LuaOptions::default(),
            )
        };
        let g = lua.globals();
        g.raw_set("cjson", cjson::library(&lua)?)?;
        g.raw_set("struct", structlib::library(&lua)?)?;
        g.raw_set("cmsgpack", cmsgpack::library(&lua)?)?;
        g.raw_set("bit", bit::library(&lua)?)?;
        let current = run::CurrentRunSlot::default();
        let server = run::api_table(&lua, &current)?;
        g.raw_set("server", server.clone())?;
        run::replace_math_random(&lua)?;
        let os: Table = g.raw_get("os")?;
        let clock: Function = os.raw_get("clock")?;
        let norm = lua.create_function(|lua, v: Value| match v {
            Value::Error(e) => normalise_error(lua, &e),
            other => Ok(other),
        })?;
        let load_constants = lua.create_table()?;
        run::constants(&load_constants)?;
        let prelude = lua.load(include_str!("prelude.lua")).set_name("=kvasir");
        let (globals_view, run_eval, run_function, set_load_env): (Table, Function, Function, Function) =
            prelude.call((norm, clock, load_constants))?;
        install_kill_hook(&lua, run, false);
        Ok(Vm {
            lua,
            globals_view,
            run_eval,
            run_function,
            server,
            set_load_env,
            scripts: HashMap::new(),
            script_bytes: 0,
            lru: VecDeque::new(),
            runs_since_gc: 0,
            current,
        })
    }

    /// Puts the normal SCRIPT KILL hook back after a script (a killed one leaves the hook
    /// firing on every instruction).
    pub(crate) fn reset_kill_hook(&self, run: &Arc<RunState>) {
        install_kill_hook(&self.lua, run.clone(), false);
    }

    /// Compiles a chunk as a script function with the sandbox as its environment. The error
    /// is Lua's message (`user_script:1: ...`).
    pub fn compile(&self, source: &[u8], chunk_name: &str) -> Result<Function, String> {
        self.lua
            .load(source)
            .set_name(chunk_name)
            .set_mode(mlua::ChunkMode::Text)
            .set_environment(self.globals_view.clone())
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => other.to_string(),
            })
    }

    /// The cached script `sha` (lower case), compiling and caching `body` if given and new.
    /// `by_eval` scripts are evictable; SCRIPT LOAD makes an evictable one permanent.
    pub fn script(
        &mut self,
        sha: &str,
        body: Option<&[u8]>,
        by_eval: bool,
        evicted: &AtomicU64,
    ) -> Result<&Script, String> {
        if self.scripts.contains_key(sha) {
            if let Some(pos) = self.lru.iter().position(|s| s == sha) {
                self.lru.remove(pos);
                if by_eval {
                    self.lru.push_back(sha.to_string());
                } else if let Some(s) = self.scripts.get_mut(sha) {
                    s.evictable = false;
                }
            }
            return Ok(&self.scripts[sha]);
        }
        let Some(body) = body else {
            return Err("NOSCRIPT No matching script. Please use EVAL.".into());
        };
        let (flags, shebang_len) = parse_shebang(body)?;
        let func = self
            .compile(&body[shebang_len..], "@user_script")
            .map_err(|m| format!("ERR Error compiling script (new function): {m}"))?;
        if by_eval {
            while self.lru.len() >= EVAL_SCRIPTS_KEPT {
                if let Some(old) = self.lru.pop_front() {
                    if let Some(gone) = self.scripts.remove(&old) {
                        self.script_bytes -= gone.body.len();
                    }
                    evicted.fetch_add(1, Relaxed);
                }
            }
            self.lru.push_back(sha.to_string());
        }
        self.script_bytes += body.len();
        self.scripts.insert(sha.to_string(), Script { body: body.to_vec(), flags, func, evictable: by_eval });
        Ok(&self.scripts[sha])
    }
}

/// The shebang flags of the script an EVAL, EVALSHA or FCALL (or their `_RO` forms) is about
/// to run, when it declares them (Valkey's `evalGetCommandFlags` / `fcallGetCommandFlags`):
/// None for a script without a shebang, an unknown SHA or function — or while another
/// script holds the Lua state, which this check never waits for.
pub fn declared_flags(engine: &crate::Engine, command: &str, argv: &[&[u8]]) -> Option<u32> {
    let flags = match command {
        "eval" | "eval_ro" => parse_shebang(argv.get(1)?).ok()?.0,
        "evalsha" | "evalsha_ro" => {
            let sha = String::from_utf8_lossy(argv.get(1)?).to_ascii_lowercase();
            engine.scripting.vm.try_lock()?.as_ref()?.scripts.get(&sha)?.flags
        }
        "fcall" | "fcall_ro" => engine.scripting.functions.try_lock()?.find(&String::from_utf8_lossy(argv.get(1)?))?.1,
        _ => return None,
    };
    (flags & script_flags::EVAL_COMPAT == 0).then_some(flags)
}

/// A command's flags, for a script command as its script declares them (Valkey's
/// `scriptFlagsToCmdFlags`): with a shebang, `write` and `denyoom` unless `no-writes`
/// (`denyoom` not with `allow-oom` either), `stale` with `allow-stale`.
pub fn command_flags(engine: &crate::Engine, def: &crate::commands::table::Command, argv: &[&[u8]]) -> u32 {
    use crate::commands::table::flags::{DENYOOM, NO_MANDATORY_KEYS, STALE, WRITE};
    // The script commands are the only ones without mandatory keys.
    if def.flags & NO_MANDATORY_KEYS == 0 {
        return def.flags;
    }
    let Some(declared) = declared_flags(engine, def.name, argv) else { return def.flags };
    let mut f = def.flags & !(STALE | DENYOOM | WRITE);
    if declared & (script_flags::ALLOW_OOM | script_flags::NO_WRITES) == 0 {
        f |= DENYOOM;
    }
    if declared & script_flags::NO_WRITES == 0 {
        f |= WRITE;
    }
    if declared & script_flags::ALLOW_STALE != 0 {
        f |= STALE;
    }
    f
}

/// Valkey's `sha1hex`: the lower-case hex SHA1 of the bytes.
pub fn sha1hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

/// Reads a `#!lua flags=a,b` first line: the script flags and the length of the shebang
/// (without its newline, which stays so line numbers do not move).
pub fn parse_shebang(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((script_flags::EVAL_COMPAT, 0));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let mut parts = line.split_ascii_whitespace();
    let Some(engine) = parts.next() else {
        return Err("ERR Invalid engine in script shebang".into());
    };
    if engine != "#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
    }
    let mut flags = 0;
    for part in parts {
        if let Some(list) = part.strip_prefix("flags=") {
            for name in list.split(',').filter(|n| !n.is_empty()) {
                flags |= script_flags::parse(name)
                    .ok_or_else(|| format!("ERR Unexpected flag in script shebang: {name}"))?;
            }
        } else {
            return Err(format!("ERR Unknown lua shebang option: {part}"));
        }
    }
    Ok((flags, end))
}
