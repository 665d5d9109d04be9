//! Function libraries (Valkey's `functions.c`, `function_lua.c`): FUNCTION LOAD compiles a
//! library's code in the functions' own Lua state, where `server.register_function` records
//! its functions; FCALL runs one of them like an EVAL script.
//!
//! A library is kept as its source code (`Library::code`) beside the compiled callbacks, so
//! DUMP/RESTORE (and persistence) carry only code, and a fresh Lua state can be rebuilt from it.

use super::{raise, script_flags, RunState, Vm};
use crate::Engine;
use mlua::{Function, HookTriggers, Lua, MultiValue, Value, VmState};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A registered function's metadata.
#[derive(Clone, Debug)]
pub struct FunctionMeta {
    pub name: String,
    pub description: Option<String>,
    pub flags: u32,
}

/// A library: its name, its source and the functions it registered.
#[derive(Clone, Debug)]
pub struct Library {
    pub name: String,
    pub code: Vec<u8>,
    pub functions: BTreeMap<String, FunctionMeta>,
}

/// All libraries and the Lua state their functions live in.
#[derive(Default)]
pub struct Functions {
    pub libraries: BTreeMap<String, Library>,
    /// Function name in lower case (FCALL finds functions whatever their case, as Valkey
    /// does) → (library name, callback, flags).
    pub callbacks: HashMap<String, (String, Function, u32)>,
    pub vm: Option<Vm>,
}

// SAFETY: as for `Vm`: the libraries' Lua state and every handle into it live in this
// struct, behind the `Scripting::functions` mutex, or on the stack of its holder.
unsafe impl Send for Functions {}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `#!lua name=<name>`: the engine, the library name and the shebang length. The line is
/// split as Valkey splits it (`sdssplitargs`), so `name="lib"` names `lib`.
fn metadata(code: &[u8]) -> Result<(String, String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid library metadata".into());
    };
    let mut parts = Vec::new();
    if resp::request::split_inline_args(&code[..end], &mut parts).is_err() || parts.is_empty() {
        return Err("ERR Invalid library metadata".into());
    }
    let engine = String::from_utf8_lossy(parts[0].get(2..).unwrap_or_default()).into_owned();
    let mut name = None;
    for part in &parts[1..] {
        let part = String::from_utf8_lossy(part);
        if part.len() >= 5 && part.is_char_boundary(5) && part[..5].eq_ignore_ascii_case("name=") {
            if name.is_some() {
                return Err("ERR Invalid metadata value, name argument was given multiple times".into());
            }
            name = Some(part[5..].to_string());
            continue;
        }
        return Err(format!("ERR Invalid metadata value given: {part}"));
    }
    let Some(name) = name else {
        return Err("ERR Library name was not given".into());
    };
    Ok((engine, name, end))
}

/// Reads `register_function`'s arguments: (name, description, callback, flags).
fn registration(args: &MultiValue) -> Result<(String, Option<String>, Function, u32), String> {
    match args.len() {
        2 => {
            let name = match &args[0] {
                Value::String(s) => s.to_string_lossy(),
                Value::Number(n) => super::convert::format_g14(*n),
                _ => return Err("first argument to server.register_function must be a string".into()),
            };
            let Value::Function(f) = &args[1] else {
                return Err("second argument to server.register_function must be a function".into());
            };
            Ok((name, None, f.clone(), 0))
        }
        1 => {
            let Value::Table(t) = &args[0] else {
                return Err("calling server.register_function with a single argument is only applicable to Lua table \
                            (representing named arguments)."
                    .into());
            };
            let (mut name, mut desc, mut cb, mut flags) = (None, None, None, 0);
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair.map_err(|e| e.to_string())?;
                let key = match &k {
                    Value::String(s) => s.to_string_lossy(),
                    _ => return Err("named argument key given to server.register_function is not a string".into()),
                };
                match key.to_ascii_lowercase().as_str() {
                    "function_name" => match v {
                        Value::String(s) => name = Some(s.to_string_lossy()),
                        _ => {
                            return Err(
                                "function_name argument given to server.register_function must be a string".into()
                            )
                        }
                    },
                    "description" => match v {
                        Value::String(s) => desc = Some(s.to_string_lossy()),
                        _ => {
                            return Err("description argument given to server.register_function must be a string".into())
                        }
                    },
                    "callback" => match v {
                        Value::Function(f) => cb = Some(f),
                        _ => {
                            return Err("callback argument given to server.register_function must be a function".into())
                        }
                    },
                    "flags" => {
                        let Value::Table(ft) = v else {
                            return Err("flags argument to server.register_function must be a table representing \
                                        function flags"
                                .into());
                        };
                        for item in ft.sequence_values::<Value>() {
                            let f = match item.map_err(|e| e.to_string())? {
                                Value::String(s) => script_flags::parse(&s.to_string_lossy()),
                                _ => None,
                            };
                            flags |= f.ok_or_else(|| "unknown flag given".to_string())?;
                        }
                    }
                    _ => return Err("unknown argument given to server.register_function".into()),
                }
            }
            let name = name.ok_or_else(|| "server.register_function must get a function name argument".to_string())?;
            let cb = cb.ok_or_else(|| "server.register_function must get a callback argument".to_string())?;
            Ok((name, desc, cb, flags))
        }
        _ => Err("wrong number of arguments to server.register_function".into()),
    }
}

/// How long a library's code may run at FUNCTION LOAD (Valkey's `LOAD_TIMEOUT_MS`): it
/// should only register functions.
const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

/// The hook that stops a library's code that runs past [`LOAD_TIMEOUT`]; checked every
/// 100000 instructions, as Valkey does. The run puts the SCRIPT KILL hook back afterwards.
fn install_load_timeout(lua: &Lua) {
    let started = Instant::now();
    lua.set_hook(HookTriggers::new().every_nth_instruction(100_000), move |_, _| {
        if started.elapsed() > LOAD_TIMEOUT {
            return Err(raise("FUNCTION LOAD timeout"));
        }
        Ok(VmState::Continue)
    });
}

impl Functions {
    /// The functions' Lua state, created on first use.
    pub fn vm(&mut self, run: &Arc<RunState>) -> Result<&mut Vm, String> {
        if self.vm.is_none() {
            self.vm = Some(Vm::new(run.clone()).map_err(|e| format!("ERR Failed creating the Lua VM: {e}"))?);
        }
        Ok(self.vm.as_mut().expect("just created"))
    }

    /// FUNCTION LOAD: compiles and registers a library; returns its name.
    pub fn load(&mut self, engine: &Engine, code: &[u8], replace: bool) -> Result<String, String> {
        let run = &engine.scripting.run;
        let (lang, name, shebang_len) = metadata(code)?;
        if !valid_name(&name) {
            return Err(
                "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one \
                        character long"
                    .into(),
            );
        }
        if !lang.eq_ignore_ascii_case("lua") {
            return Err(format!("ERR Engine '{lang}' not found"));
        }
        if self.libraries.contains_key(&name) && !replace {
            return Err(format!("ERR Library '{name}' already exists"));
        }
        let vm = self.vm(run)?;
        let chunk = vm
            .lua
            .load(&code[shebang_len..])
            .set_name("@user_function")
            .set_mode(mlua::ChunkMode::Text)
            .set_environment(vm.globals_view.clone())
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => format!("ERR Error compiling function: {message}"),
                other => format!("ERR Error compiling function: {other}"),
            })?;
        let registered: std::cell::RefCell<Vec<(FunctionMeta, Function)>> = Default::default();
        let run_result: mlua::Result<MultiValue> = vm.lua.scope(|scope| {
            let reg = &registered;
            let register = scope.create_function(move |_, args: MultiValue| {
                let (fname, description, cb, flags) = registration(&args).map_err(raise)?;
                if !valid_name(&fname) {
                    // (Valkey's text for a bad function name, too.)
                    return Err(raise(
                        "Library names can only contain letters, numbers, or underscores(_) and must be at least one \
                         character long",
                    ));
                }
                if reg.borrow().iter().any(|(m, _)| m.name.eq_ignore_ascii_case(&fname)) {
                    return Err(raise("Function already exists in the library"));
                }
                reg.borrow_mut().push((FunctionMeta { name: fname, description, flags }, cb));
                Ok(())
            })?;
            let log = scope.create_function(move |_, args: MultiValue| {
                let (level, msg) = super::run::log_message(&args)?;
                engine.log(level, &msg);
                Ok(())
            })?;
            vm.set_load_env.call::<()>((register, log))?;
            install_load_timeout(&vm.lua);
            let r = vm.run_function.call::<MultiValue>((chunk.clone(), Value::Nil, Value::Nil));
            vm.reset_kill_hook(run);
            vm.set_load_env.call::<()>(())?;
            r
        });
        let result = run_result.map_err(|e| format!("ERR Error registering functions: {e}"))?;
        if !matches!(result.front(), Some(Value::Boolean(true))) {
            let msg = match result.get(1) {
                Some(Value::Table(t)) => t.raw_get::<String>("err").unwrap_or_default(),
                Some(other) => format!("{other:?}"),
                None => String::new(),
            };
            return Err(format!("ERR Error registering functions: {msg}"));
        }
        let registered = registered.into_inner();
        if registered.is_empty() {
            return Err("ERR No functions registered".into());
        }
        for (meta, _) in &registered {
            if let Some((lib, ..)) = self.callbacks.get(&meta.name.to_ascii_lowercase()) {
                if *lib != name {
                    return Err(format!("ERR Function {} already exists", meta.name));
                }
            }
        }
        self.delete(&name);
        let mut lib = Library { name: name.clone(), code: code.to_vec(), functions: BTreeMap::new() };
        for (meta, cb) in registered {
            self.callbacks.insert(meta.name.to_ascii_lowercase(), (name.clone(), cb, meta.flags));
            lib.functions.insert(meta.name.clone(), meta);
        }
        self.libraries.insert(name.clone(), lib);
        Ok(name)
    }

    /// FUNCTION DELETE: whether the library existed.
    pub fn delete(&mut self, name: &str) -> bool {
        match self.libraries.remove(name) {
            Some(lib) => {
                for f in lib.functions.keys() {
                    self.callbacks.remove(&f.to_ascii_lowercase());
                }
                true
            }
            None => false,
        }
    }

    /// FUNCTION FLUSH: no libraries, and a fresh Lua state on next use.
    pub fn flush(&mut self) {
        self.libraries.clear();
        self.callbacks.clear();
        self.vm = None;
    }

    /// A function's callback and flags.
    pub fn find(&self, name: &str) -> Option<(Function, u32)> {
        let (_, cb, flags) = self.callbacks.get(&name.to_ascii_lowercase())?;
        Some((cb.clone(), *flags))
    }

    pub fn function_count(&self) -> usize {
        self.callbacks.len()
    }
}
