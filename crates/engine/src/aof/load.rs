//! Loading the AOF: the base file (an RDB image, or commands) and then each incr file, in the
//! manifest's order. Commands are run through their handlers, inside one context that holds
//! every shard (at startup, or the DEBUG LOADAOF that asked), as a client that is never
//! propagated and whose replies are dropped. MULTI ... EXEC is queued and applied at EXEC, so
//! a file that ends inside a transaction loses the whole transaction, as in Valkey.
//!
//! A file that ends in the middle of a command is handled per `aof-load-truncated` (the file
//! is cut after the last whole command and loading goes on, logging the offset), but only if
//! it is the last file; anything else that does not parse stops the load, naming the file and
//! the offset.

use super::manifest::Manifest;
use crate::commands::table::Lookup;
use crate::commands::Ctx;
use crate::engine::LogLevel;
use crate::loading::{LoadKind, Loading};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// How one file loaded (Valkey's `AOF_OK`, `AOF_EMPTY`, `AOF_TRUNCATED`, `AOF_NOT_EXIST`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loaded {
    Ok,
    Empty,
    Truncated,
    NotExist,
}

/// Loading failed; the reason was logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failed;

impl From<()> for Failed {
    fn from((): ()) -> Failed {
        Failed
    }
}

/// What loading the whole AOF found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    pub status: Loaded,
    pub total_size: u64,
    pub base_size: u64,
}

/// Loads every file the manifest lists, base first, as one load (`kind`: at startup, or
/// DEBUG LOADAOF holding its locks to the end).
pub fn load_all(ctx: &mut Ctx, dir: &Path, m: &Manifest, kind: LoadKind) -> Result<Summary, Failed> {
    let engine = ctx.engine;
    let files = m.load_order();
    if files.is_empty() {
        return Ok(Summary { status: Loaded::NotExist, total_size: 0, base_size: 0 });
    }
    let mut total = 0;
    for f in &files {
        match std::fs::metadata(dir.join(&f.name)) {
            Ok(md) => total += md.len(),
            Err(e) => {
                if e.kind() == std::io::ErrorKind::NotFound {
                    engine.log(
                        LogLevel::Warning,
                        &format!("The append log file {} doesn't exist: {}", f.name, super::io_text(&e)),
                    );
                } else {
                    engine.log(
                        LogLevel::Warning,
                        &format!("Unable to obtain the AOF file {} length. stat: {}", f.name, super::io_text(&e)),
                    );
                }
                return Err(Failed);
            }
        }
    }
    if total == 0 {
        return Ok(Summary { status: Loaded::Empty, total_size: 0, base_size: 0 });
    }
    let mut loading = Loading::start(engine, total, kind);
    let mut status = Loaded::Ok;
    let mut base_size = 0;
    let n = files.len();
    let result = (|| {
        for (i, f) in files.iter().enumerate() {
            let last = i + 1 == n;
            let is_base = m.base.as_ref().is_some_and(|b| b.name == f.name);
            if is_base {
                base_size = std::fs::metadata(dir.join(&f.name)).map(|m| m.len()).unwrap_or(0);
            }
            let started = std::time::Instant::now();
            let r = load_file(ctx, dir, &f.name, &mut loading)?;
            loading.done_before += std::fs::metadata(dir.join(&f.name)).map(|m| m.len()).unwrap_or(0);
            if r == Loaded::Ok || (r == Loaded::Truncated && last) {
                engine.log(
                    LogLevel::Notice,
                    &format!(
                        "DB loaded from {} file {}: {:.3} seconds",
                        if is_base { "base" } else { "incr" },
                        f.name,
                        started.elapsed().as_secs_f64()
                    ),
                );
            }
            if r == Loaded::Truncated && !last {
                engine.log(LogLevel::Warning, "Fatal error: the truncated file is not the last file");
                return Err(Failed);
            }
            if r == Loaded::NotExist {
                return Err(Failed);
            }
            if r == Loaded::Truncated {
                status = Loaded::Truncated;
            }
        }
        Ok(())
    })();
    drop(loading);
    result?;
    Ok(Summary { status, total_size: total, base_size })
}

/// Valkey's `AOF_ANNOTATION_LINE_MAX_LEN`: longer header lines are read in pieces (and so
/// are not valid headers).
const LINE_MAX: usize = 1024;

/// Why reading a command stopped.
enum Stop {
    /// The file ended inside a command.
    Eof,
    /// Bytes that are not the AOF format.
    Format,
    Io(std::io::Error),
}

/// Loads one file (`loadSingleAppendOnlyFile`).
pub fn load_file(ctx: &mut Ctx, dir: &Path, name: &str, loading: &mut Loading<'_>) -> Result<Loaded, Failed> {
    let engine = ctx.engine;
    let path = dir.join(name);
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            engine.log(LogLevel::Warning, &format!("The append log file {name} doesn't exist: {}", super::io_text(&e)));
            return Ok(Loaded::NotExist);
        }
        Err(e) => {
            engine.log(
                LogLevel::Warning,
                &format!("Fatal error: can't open the append log file {name} for reading: {}", super::io_text(&e)),
            );
            return Err(Failed);
        }
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size == 0 {
        return Ok(Loaded::Empty);
    }
    let mut sig = [0u8; 5];
    let is_rdb = file.read_exact(&mut sig).is_ok() && &sig == b"REDIS";
    drop(file);
    if is_rdb {
        engine.log(LogLevel::Notice, "Reading RDB base file on AOF loading...");
        let f = std::fs::File::open(&path).map_err(|_| Failed)?;
        let loaded = crate::persist::load_into(
            engine,
            &mut ctx.keys,
            BufReader::with_capacity(1 << 16, f),
            name,
            size,
            crate::persist::Merge::Refuse,
            loading,
        );
        if loaded.is_err() {
            engine.log(LogLevel::Warning, &format!("Error reading the RDB base file {name}, AOF loading aborted"));
            return Err(Failed);
        }
        return Ok(Loaded::Ok);
    }
    let f = std::fs::File::open(&path).map_err(|_| Failed)?;
    let mut r = Reader { inner: BufReader::with_capacity(1 << 16, f), offset: 0, size };
    replay_commands(ctx, &mut r, name, &path, loading)
}

struct Reader {
    inner: BufReader<std::fs::File>,
    offset: u64,
    size: u64,
}

impl Reader {
    /// One line as `fgets` with a 1024-byte buffer reads it. `None` at end of file.
    fn line(&mut self, buf: &mut Vec<u8>) -> Result<Option<()>, Stop> {
        buf.clear();
        let n = (&mut self.inner).take(LINE_MAX as u64 - 1).read_until(b'\n', buf).map_err(Stop::Io)?;
        self.offset += n as u64;
        Ok(if n == 0 { None } else { Some(()) })
    }

    fn exact(&mut self, n: u64) -> Result<Vec<u8>, Stop> {
        if self.offset + n > self.size {
            return Err(Stop::Eof);
        }
        let mut v = vec![0u8; n as usize];
        match self.inner.read_exact(&mut v) {
            Ok(()) => {
                self.offset += n;
                Ok(v)
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(Stop::Eof),
            Err(e) => Err(Stop::Io(e)),
        }
    }
}

/// `atoi`/`strtol` of a header line after its type byte.
fn header_number(line: &[u8]) -> i64 {
    let s = &line[1..];
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = s
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |a, &d| a.saturating_mul(10).saturating_add(i64::from(d - b'0')));
    if neg {
        -n
    } else {
        n
    }
}

/// Reads one command. `Ok(None)` at a clean end of file.
fn read_command(r: &mut Reader, line: &mut Vec<u8>) -> Result<Option<Vec<Vec<u8>>>, Stop> {
    loop {
        if r.line(line)?.is_none() {
            return Ok(None);
        }
        if line[0] == b'#' {
            // An annotation (aof-timestamp-enabled).
            continue;
        }
        break;
    }
    if line[0] != b'*' {
        return Err(Stop::Format);
    }
    if line.len() == 1 {
        return Err(Stop::Eof);
    }
    let argc = header_number(line);
    if argc < 1 {
        return Err(Stop::Format);
    }
    let mut argv = Vec::with_capacity((argc as usize).min(1024));
    for _ in 0..argc {
        if r.line(line)?.is_none() {
            return Err(Stop::Eof);
        }
        if line[0] != b'$' {
            return Err(Stop::Format);
        }
        let len = header_number(line);
        if len < 0 {
            return Err(Stop::Format);
        }
        argv.push(r.exact(len as u64)?);
        r.exact(2)?;
    }
    Ok(Some(argv))
}

fn replay_commands(
    ctx: &mut Ctx,
    r: &mut Reader,
    name: &str,
    path: &Path,
    loading: &mut Loading<'_>,
) -> Result<Loaded, Failed> {
    let engine = ctx.engine;
    let truncated_ok = engine.config.get_bool("aof-load-truncated");
    let mut valid_up_to = 0u64;
    let mut valid_before_multi = 0u64;
    let mut queued: Option<Vec<Vec<Vec<u8>>>> = None;
    let mut line = Vec::with_capacity(LINE_MAX);
    let db_before = ctx.client.db;
    let mut cmd_start;
    let stop = loop {
        cmd_start = r.offset;
        let argv = match read_command(r, &mut line) {
            Ok(Some(a)) => a,
            Ok(None) => break None,
            Err(stop) => break Some(stop),
        };
        let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        let Lookup::Found(cmd) = engine.commands.lookup(&args) else {
            engine.log(
                LogLevel::Warning,
                &format!("Unknown command '{}' reading the append only file {name}", String::from_utf8_lossy(&argv[0])),
            );
            ctx.client.db = db_before;
            return Err(Failed);
        };
        let def = cmd.def;
        if (def.arity > 0 && args.len() as i32 != def.arity) || (args.len() as i32) < -def.arity {
            break Some(Stop::Format);
        }
        match (def.name, queued.as_mut()) {
            ("multi", None) => {
                valid_before_multi = valid_up_to;
                queued = Some(Vec::new());
            }
            ("exec", Some(_)) => {
                for q in queued.take().unwrap_or_default() {
                    let qargs: Vec<&[u8]> = q.iter().map(Vec::as_slice).collect();
                    run_one(ctx, &qargs);
                }
            }
            (_, Some(q)) => q.push(argv.clone()),
            (_, None) => run_one(ctx, &args),
        }
        if truncated_ok {
            valid_up_to = r.offset;
        }
        loading.step(&mut ctx.keys, r.offset);
    };
    ctx.client.db = db_before;
    let stop = match stop {
        None if queued.is_some() => {
            engine.log(LogLevel::Warning, &format!("Revert incomplete MULTI/EXEC transaction in AOF file {name}"));
            valid_up_to = valid_before_multi;
            Stop::Eof
        }
        None => return Ok(Loaded::Ok),
        Some(s) => s,
    };
    match stop {
        Stop::Io(e) => {
            engine.log(
                LogLevel::Warning,
                &format!("Unrecoverable error reading the append only file {name}: {}", super::io_text(&e)),
            );
            Err(Failed)
        }
        Stop::Eof => {
            if truncated_ok {
                engine.log(LogLevel::Warning, &format!("!!! Warning: short read while loading the AOF file {name}!!!"));
                engine.log(LogLevel::Warning, &format!("!!! Truncating the AOF {name} at offset {valid_up_to} !!!"));
                let cut = std::fs::OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(valid_up_to));
                match cut {
                    Ok(()) => {
                        engine.log(
                            LogLevel::Warning,
                            &format!("AOF {name} loaded anyway because aof-load-truncated is enabled"),
                        );
                        return Ok(Loaded::Truncated);
                    }
                    Err(e) => engine.log(
                        LogLevel::Warning,
                        &format!("Error truncating the AOF file {name}: {}", super::io_text(&e)),
                    ),
                }
            }
            engine.log(
                LogLevel::Warning,
                &format!(
                    "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your \
                     AOF file, then use ./valkey-check-aof --fix <filename.manifest>. 2) Alternatively you can set \
                     the 'aof-load-truncated' configuration option to yes and restart the server."
                ),
            );
            Err(Failed)
        }
        Stop::Format => {
            engine.log(
                LogLevel::Warning,
                &format!(
                    "Bad file format reading the append only file {name}: make a backup of your AOF file, then use \
                     ./valkey-check-aof --fix <filename.manifest>"
                ),
            );
            engine.log(
                LogLevel::Warning,
                &format!(
                    "AOF {name} is not valid at offset {cmd_start} (last valid command ends at offset {valid_up_to})"
                ),
            );
            Err(Failed)
        }
    }
}

/// Runs one loaded command in the loading context; its reply and propagation are dropped.
fn run_one(ctx: &mut Ctx, args: &[&[u8]]) {
    let engine = ctx.engine;
    let Lookup::Found(cmd) = engine.commands.lookup(args) else { return };
    let Some(handler) = cmd.def.handler else { return };
    ctx.cmd = cmd;
    ctx.keys.db = ctx.client.db;
    let start = ctx.out.len();
    let _ = handler(ctx, args);
    ctx.out.truncate(start);
    let effects = &mut ctx.keys.effects;
    effects.propagate.clear();
    effects.own = Default::default();
    effects.block = None;
}
