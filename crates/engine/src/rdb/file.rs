//! Whole RDB files: header, auxiliary fields, per-database sections with their keys, EOF and
//! checksum.
//!
//! ```text
//! "REDIS" version(4 digits) | AUX name value ... | FUNCTION2 code ... |
//! (SELECTDB n | RESIZEDB size expires | ([EXPIRETIME_MS t] [IDLE s | FREQ f] type key value) ...) ... |
//! EOF | CRC64 (8 bytes LE, 0 when checksums are off)
//! ```
//!
//! Writing is streamed through [`Out`] (a buffer flushed to any `Write`, checksummed as it
//! goes), one key at a time, so saving a big dataset never holds a second copy of it. The file
//! on disk is written as RDB 10 (what Redis 7.0 and Valkey 8 both load: a small set of strings
//! is written as a plain set instead of RDB 11's set listpack); the snapshot sent to replicas
//! on SYNC is Valkey 8's RDB 11.
//!
//! Loading ([`load`]) reads every version from 1 to 11 and every encoding Valkey and Redis ever
//! wrote, from any `Read`, in chunks: each record (an opcode, or a key and its value) is parsed
//! from the buffer, and a record cut by the end of the buffer is parsed again once more input
//! is in (the buffer doubles, so a huge value costs O(log n) retries). Errors carry the byte
//! offset where the input stopped making sense.

use super::{len, save_type, save_value, string, Limits, RdbError, Reader, SaveOptions, RDB_VERSION};
use crate::db::Keys;
use crate::types::set::SetRef;
use crate::types::{listpack, Value, ValueRef};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// RDB opcodes (Valkey's `RDB_OPCODE_*`).
pub mod opcodes {
    pub const FUNCTION2: u8 = 0xF5;
    pub const FUNCTION_PRE_GA: u8 = 0xF6;
    pub const MODULE_AUX: u8 = 0xF7;
    pub const IDLE: u8 = 0xF8;
    pub const FREQ: u8 = 0xF9;
    pub const AUX: u8 = 0xFA;
    pub const RESIZEDB: u8 = 0xFB;
    pub const EXPIRETIME_MS: u8 = 0xFC;
    pub const EXPIRETIME: u8 = 0xFD;
    pub const SELECTDB: u8 = 0xFE;
    pub const EOF: u8 = 0xFF;
}

/// The RDB version of files saved to disk (see the module documentation).
pub const DISK_RDB_VERSION: u16 = 10;

static CRC64: crc::Crc<u64, crc::Table<16>> = crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_REDIS);

/// How a file is written.
#[derive(Clone, Copy, Debug)]
pub struct FileOptions {
    pub version: u16,
    /// `rdbcompression`.
    pub compress: bool,
    /// `rdbchecksum`: without it the footer is 0, as Valkey writes it.
    pub checksum: bool,
    /// Write each key's idle time (an LRU `maxmemory-policy`) or LFU counter (an LFU one),
    /// as Valkey does; `None` writes neither.
    pub stamps: Option<Stamps>,
}

/// Which access stamp keys carry in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamps {
    /// `IDLE` seconds, computed against this LRU clock.
    Lru {
        clock: u32,
    },
    Lfu,
}

/// A buffered, checksummed writer of RDB bytes.
pub struct Out<W: Write> {
    w: W,
    /// Bytes not yet written; callers append to it directly.
    pub buf: Vec<u8>,
    crc: Option<crc::Digest<'static, u64, crc::Table<16>>>,
    written: u64,
}

/// The buffer is handed to the writer past this size.
const FLUSH_AT: usize = 1 << 16;

impl<W: Write> Out<W> {
    pub fn new(w: W, checksum: bool) -> Out<W> {
        Out { w, buf: Vec::with_capacity(FLUSH_AT * 2), crc: checksum.then(|| CRC64.digest()), written: 0 }
    }

    /// Writes the buffer out if it is big enough.
    pub fn maybe_flush(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(crc) = &mut self.crc {
            crc.update(&self.buf);
        }
        self.w.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Writes EOF and the checksum; returns the writer and the file's size.
    pub fn finish(mut self) -> std::io::Result<(W, u64)> {
        self.buf.push(opcodes::EOF);
        self.flush()?;
        let crc = self.crc.take().map_or(0, |d| d.finalize());
        self.w.write_all(&crc.to_le_bytes())?;
        self.w.flush()?;
        Ok((self.w, self.written + 8))
    }
}

/// Appends the magic, the version and the auxiliary fields.
pub fn write_header(out: &mut Vec<u8>, version: u16, aux: &[(&str, String)]) {
    out.extend_from_slice(format!("REDIS{version:04}").as_bytes());
    for (name, value) in aux {
        write_aux(out, name, value);
    }
}

fn write_aux(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(opcodes::AUX);
    string::save_bytes(out, name.as_bytes(), false);
    string::save_bytes(out, value.as_bytes(), false);
}

/// The auxiliary fields Valkey writes (plus `redis-ver`, which tools written for Redis read).
pub fn default_aux(used_mem: u64, now_secs: u64) -> Vec<(&'static str, String)> {
    vec![
        ("valkey-ver", crate::VALKEY_VERSION.to_string()),
        ("redis-ver", crate::REDIS_VERSION.to_string()),
        ("redis-bits", usize::BITS.to_string()),
        ("ctime", now_secs.to_string()),
        ("used-mem", used_mem.to_string()),
        ("aof-base", "0".to_string()),
    ]
}

/// Appends a function library (`FUNCTION2` and its code).
pub fn write_function(out: &mut Vec<u8>, code: &[u8]) {
    out.push(opcodes::FUNCTION2);
    string::save_bytes(out, code, false);
}

/// Appends one key: its expiry, access stamp, type, name and value.
pub fn write_key(
    out: &mut Vec<u8>,
    key: &[u8],
    value: ValueRef<'_>,
    expire_at_ms: Option<u64>,
    lru: u32,
    opts: FileOptions,
) {
    if let Some(when) = expire_at_ms {
        out.push(opcodes::EXPIRETIME_MS);
        out.extend_from_slice(&when.to_le_bytes());
    }
    match opts.stamps {
        Some(Stamps::Lru { clock }) => {
            out.push(opcodes::IDLE);
            let idle_ticks = if clock >= lru { clock - lru } else { crate::engine::LRU_CLOCK_MAX - lru + clock };
            len::save_len(out, u64::from(idle_ticks) * crate::engine::LRU_CLOCK_RESOLUTION_MS / 1000);
        }
        Some(Stamps::Lfu) => {
            out.push(opcodes::FREQ);
            out.push((lru & 0xff) as u8);
        }
        None => {}
    }
    let save = SaveOptions { compress: opts.compress };
    match value {
        // RDB 10 has no set listpack: write its members as a plain set, which every version
        // loads (into a listpack again where the limits allow).
        ValueRef::Set(SetRef::Listpack(blob)) if opts.version < 11 => {
            out.push(super::types::SET);
            string::save_bytes(out, key, opts.compress);
            len::save_len(out, listpack::len(blob) as u64);
            for (_, m) in listpack::iter(blob) {
                m.with_bytes(|b| string::save_bytes(out, b, opts.compress));
            }
        }
        // RDB 10 streams are type 19 (no consumer active time), which Redis 7.0 loads.
        ValueRef::Stream(s) if opts.version < 11 => {
            out.push(super::types::STREAM_LISTPACKS_2);
            string::save_bytes(out, key, opts.compress);
            super::stream::save(out, s, opts.compress, super::types::STREAM_LISTPACKS_2);
        }
        _ => {
            save_type(out, value);
            string::save_bytes(out, key, opts.compress);
            save_value(out, value, save);
        }
    }
}

/// Appends `SELECTDB` and `RESIZEDB`.
pub fn write_db_header(out: &mut Vec<u8>, db: usize, size: usize, expires: usize) {
    out.push(opcodes::SELECTDB);
    len::save_len(out, db as u64);
    out.push(opcodes::RESIZEDB);
    len::save_len(out, size as u64);
    len::save_len(out, expires as u64);
}

/// Writes database `db`'s section: SELECTDB, RESIZEDB and every key. The caller holds every
/// shard of `db`. Returns the number of keys written.
pub fn write_db<W: Write>(out: &mut Out<W>, keys: &mut Keys<'_>, db: usize, opts: FileOptions) -> std::io::Result<u64> {
    let (mut size, mut expires) = (0usize, 0usize);
    for shard in keys.shards(db) {
        size += shard.len();
        expires += shard.volatile_len();
    }
    if size == 0 {
        return Ok(0);
    }
    write_db_header(&mut out.buf, db, size, expires);
    let mut result = Ok(());
    for shard in keys.shards(db) {
        shard.for_each(|e| {
            if result.is_ok() {
                write_key(&mut out.buf, e.key(), e.value(), e.expire_at_ms(), e.lru(), opts);
                result = out.maybe_flush();
            }
        });
    }
    result.map(|()| size as u64)
}

/// A complete snapshot of the function libraries (their code) and every database into
/// memory (SYNC). The caller holds every shard of every database.
pub fn snapshot(
    keys: &mut Keys<'_>,
    libraries: &[Vec<u8>],
    databases: usize,
    opts: SaveOptions,
    checksum: bool,
    used_mem: u64,
) -> Vec<u8> {
    let fopts = FileOptions { version: RDB_VERSION, compress: opts.compress, checksum, stamps: None };
    let mut out = Out::new(Vec::new(), checksum);
    write_header(&mut out.buf, RDB_VERSION, &default_aux(used_mem, crate::util::now_ms() / 1000));
    for code in libraries {
        write_function(&mut out.buf, code);
    }
    for db in 0..databases {
        write_db(&mut out, keys, db, fopts).expect("writing to memory");
    }
    out.finish().expect("writing to memory").0
}

// ---------------------------------------------------------------------------------------------
// Loading

/// How a file is loaded.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions {
    pub limits: Limits,
    pub databases: usize,
    /// Keys whose expiry is before this time (ms) are skipped (loading as a primary);
    /// `None` keeps them all.
    pub drop_expired_before: Option<u64>,
    /// Check the CRC64 footer (`rdbchecksum`).
    pub verify_checksum: bool,
}

/// Something read from a file that the caller keeps.
#[derive(Debug)]
pub enum Item {
    Key(LoadedKey),
    /// A function library's code (`FUNCTION2`).
    Function(Vec<u8>),
    /// `RESIZEDB`: how many keys database `db` holds (a hint: nothing checks it).
    Sizes {
        db: usize,
        keys: u64,
    },
    /// The `used-mem` aux field: the memory the dataset took when saved (INFO's
    /// `loading_rdb_used_mem` while it loads).
    UsedMem(u64),
}

#[derive(Debug)]
pub struct LoadedKey {
    pub db: usize,
    pub key: Vec<u8>,
    pub value: Value,
    pub expire_at_ms: Option<u64>,
    /// `IDLE`: seconds since the last access when saved.
    pub idle_secs: Option<u64>,
    /// `FREQ`: the LFU counter when saved.
    pub freq: Option<u8>,
}

/// What a load did.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    pub version: u16,
    pub keys_loaded: u64,
    pub keys_expired: u64,
    pub empty_keys_skipped: u64,
    pub functions: u64,
    /// Bytes read, footer included.
    pub bytes: u64,
    /// The auxiliary fields, in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Whether a CRC was present and checked.
    pub checksum_verified: bool,
}

/// Why a load stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// Byte offset in the file where reading failed.
    pub offset: u64,
    pub reason: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at offset {})", self.reason, self.offset)
    }
}

/// One parsed record.
enum Record {
    Expire(u64),
    Idle(u64),
    Freq(u8),
    SelectDb(u64),
    ResizeDb(u64),
    Aux(Vec<u8>, Vec<u8>),
    ModuleAux,
    Function(Vec<u8>),
    /// A key and its value; `None` for an empty collection (skipped, as Valkey does).
    Key(Vec<u8>, Option<Value>),
    Eof,
}

/// Module value opcodes (`RDB_MODULE_OPCODE_*`).
mod module_op {
    pub const EOF: u64 = 0;
    pub const SINT: u64 = 1;
    pub const UINT: u64 = 2;
    pub const FLOAT: u64 = 3;
    pub const DOUBLE: u64 = 4;
    pub const STRING: u64 = 5;
}

/// Skips a module's serialized data up to its EOF marker (Valkey's `rdbLoadCheckModuleValue`).
fn skip_module_value(r: &mut Reader<'_>) -> Result<(), RdbError> {
    loop {
        match len::load_plain_len(r)? {
            module_op::EOF => return Ok(()),
            module_op::SINT | module_op::UINT => {
                len::load_plain_len(r)?;
            }
            module_op::FLOAT => {
                r.read_bytes(4)?;
            }
            module_op::DOUBLE => {
                r.read_bytes(8)?;
            }
            module_op::STRING => {
                string::load_string(r)?;
            }
            _ => return Err(RdbError::Corrupt("unknown module value opcode")),
        }
    }
}

fn parse_record(r: &mut Reader<'_>, limits: Limits) -> Result<Record, RdbError> {
    let t = r.read_u8()?;
    Ok(match t {
        opcodes::EXPIRETIME_MS => Record::Expire(u64::from_le_bytes(r.read_array()?)),
        opcodes::EXPIRETIME => Record::Expire(u64::from(u32::from_le_bytes(r.read_array()?)) * 1000),
        opcodes::FREQ => Record::Freq(r.read_u8()?),
        opcodes::IDLE => Record::Idle(len::load_plain_len(r)?),
        opcodes::EOF => Record::Eof,
        opcodes::SELECTDB => Record::SelectDb(len::load_plain_len(r)?),
        opcodes::RESIZEDB => {
            let keys = len::load_plain_len(r)?;
            len::load_plain_len(r)?;
            Record::ResizeDb(keys)
        }
        opcodes::AUX => {
            let k = string::load_string(r)?.into_bytes();
            let v = string::load_string(r)?.into_bytes();
            Record::Aux(k, v)
        }
        opcodes::MODULE_AUX => {
            len::load_plain_len(r)?; // module id
            let when_opcode = len::load_plain_len(r)?;
            len::load_plain_len(r)?; // when
            if when_opcode != module_op::UINT {
                return Err(RdbError::Corrupt("bad when_opcode"));
            }
            skip_module_value(r)?;
            Record::ModuleAux
        }
        opcodes::FUNCTION_PRE_GA => return Err(RdbError::Corrupt("Pre-release function format not supported.")),
        opcodes::FUNCTION2 => Record::Function(string::load_string(r)?.into_bytes()),
        t if super::types::is_object_type(t) => {
            let key = string::load_string(r)?.into_bytes();
            match super::load_value(t, r, limits) {
                Ok(v) => Record::Key(key, Some(v)),
                Err(RdbError::EmptyKey) => Record::Key(key, None),
                Err(e) => return Err(e),
            }
        }
        _ => return Err(RdbError::Corrupt("unknown RDB type or opcode")),
    })
}

/// Buffered input that parses whole records, reading more when one is cut.
struct Input<'p, R: Read> {
    src: R,
    buf: Vec<u8>,
    /// Start of the unparsed bytes in `buf`.
    start: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    crc: crc::Digest<'static, u64, crc::Table<16>>,
    /// Bytes parsed so far, published after every record (the load's progress).
    progress: &'p AtomicU64,
}

#[cfg(not(test))]
const CHUNK: usize = 1 << 20;
/// Tiny in tests, so that records are cut and parsed again everywhere.
#[cfg(test)]
const CHUNK: usize = 7;

impl<R: Read> Input<'_, R> {
    fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Reads more input: at least as much as is unparsed, so a record cut again and again
    /// is parsed O(log n) times.
    fn fill(&mut self) -> Result<(), LoadError> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.base += self.start as u64;
            self.start = 0;
        }
        let want = CHUNK.max(self.buf.len());
        let old = self.buf.len();
        self.buf.resize(old + want, 0);
        let mut got = 0;
        while got < want {
            match self.src.read(&mut self.buf[old + got..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(old + got);
                    return Err(LoadError {
                        offset: self.base + (old + got) as u64,
                        reason: format!("read error: {e}"),
                    });
                }
            }
        }
        self.buf.truncate(old + got);
        Ok(())
    }

    /// Parses the next record with `parse`, checksumming the bytes it used.
    fn next<T>(&mut self, mut parse: impl FnMut(&mut Reader<'_>) -> Result<T, RdbError>) -> Result<T, LoadError> {
        loop {
            let mut r = Reader::new(&self.buf[self.start..]);
            match parse(&mut r) {
                Ok(v) => {
                    let used = r.position();
                    self.crc.update(&self.buf[self.start..self.start + used]);
                    self.start += used;
                    self.progress.store(self.offset(), Relaxed);
                    return Ok(v);
                }
                Err(RdbError::Truncated) if !self.eof => self.fill()?,
                Err(e) => {
                    let at = self.base + (self.start + r.position()) as u64;
                    let reason = match e {
                        RdbError::Truncated => "Unexpected EOF reading RDB file".to_string(),
                        RdbError::UnsupportedType(t) => format!("{} (type {t})", unsupported_reason(t)),
                        e => e.to_string(),
                    };
                    return Err(LoadError { offset: at, reason });
                }
            }
        }
    }
}

fn unsupported_reason(t: u8) -> &'static str {
    use super::types::*;
    match t {
        MODULE_PRE_GA | MODULE_2 => "The RDB file contains module data I can't load: no matching module type",
        _ => "unsupported RDB object type",
    }
}

/// Checks a `slot-info` aux value the way Valkey's `sscanf("%i,%lu,%lu")` does: three
/// comma-separated numbers (anything after the third is ignored).
fn slot_info_ok(v: &[u8]) -> bool {
    let mut parts = v.splitn(3, |&b| b == b',');
    let mut number = |last: bool| {
        parts.next().is_some_and(|p| {
            let p = p.trim_ascii_start();
            let p = p.strip_prefix(b"-").or_else(|| p.strip_prefix(b"+")).unwrap_or(p);
            let digits = p.iter().take_while(|b| b.is_ascii_digit()).count();
            digits > 0 && (last || digits == p.len())
        })
    };
    number(false) && number(false) && number(true)
}

/// Loads a whole RDB file from `src`, handing every key and function library to `sink` (an
/// `Err` from it, such as a duplicate key, stops the load). `log` receives what Valkey logs
/// along the way (aux fields, skipped keys), with a level.
pub fn load<R: Read>(
    src: R,
    opts: &LoadOptions,
    mut sink: impl FnMut(Item) -> Result<(), String>,
    mut log: impl FnMut(crate::engine::LogLevel, String),
    progress: &AtomicU64,
) -> Result<LoadReport, LoadError> {
    use crate::engine::LogLevel;
    let mut input = Input { src, buf: Vec::new(), start: 0, base: 0, eof: false, crc: CRC64.digest(), progress };
    let header = input.next(|r| r.read_array::<9>())?;
    if &header[..5] != b"REDIS" {
        return Err(LoadError { offset: 0, reason: "Wrong signature trying to load DB from file".into() });
    }
    let version = std::str::from_utf8(&header[5..]).ok().and_then(|v| v.parse::<u16>().ok()).unwrap_or(0);
    if !(1..=RDB_VERSION).contains(&version) {
        return Err(LoadError { offset: 5, reason: format!("Can't handle RDB format version {version}") });
    }
    let mut report = LoadReport { version, ..LoadReport::default() };
    let mut db = 0usize;
    let (mut expire, mut idle, mut freq) = (None, None, None);
    loop {
        let at = input.offset();
        let record = input.next(|r| parse_record(r, opts.limits))?;
        let fail = |reason: String| LoadError { offset: at, reason };
        match record {
            Record::Expire(t) => expire = Some(t),
            Record::Idle(s) => idle = Some(s),
            Record::Freq(f) => freq = Some(f),
            Record::Eof => break,
            Record::SelectDb(n) => {
                if n >= opts.databases as u64 {
                    return Err(fail(format!(
                        "Data file was created with a server configured to handle more than {} databases",
                        opts.databases
                    )));
                }
                db = n as usize;
            }
            Record::ResizeDb(keys) => sink(Item::Sizes { db, keys }).map_err(fail)?,
            Record::ModuleAux => {}
            Record::Aux(k, v) => {
                let text = String::from_utf8_lossy(&v).into_owned();
                match k.to_ascii_lowercase().as_slice() {
                    [b'%', ..] => log(LogLevel::Notice, format!("RDB '{}': {text}", String::from_utf8_lossy(&k))),
                    b"redis-ver" => log(LogLevel::Notice, format!("Loading RDB produced by Redis version {text}")),
                    b"valkey-ver" => log(LogLevel::Notice, format!("Loading RDB produced by Valkey version {text}")),
                    b"ctime" => {
                        let ctime = text.trim().parse::<i64>().unwrap_or(0);
                        let age = (crate::util::now_ms() / 1000) as i64 - ctime;
                        log(LogLevel::Notice, format!("RDB age {} seconds", age.max(0)));
                    }
                    b"used-mem" => {
                        let used = text.trim().parse::<i64>().unwrap_or(0);
                        sink(Item::UsedMem(used.max(0) as u64)).map_err(fail)?;
                        log(
                            LogLevel::Notice,
                            format!("RDB memory usage when created {:.2} Mb", used as f64 / (1024.0 * 1024.0)),
                        );
                    }
                    b"aof-base" if text.trim().parse::<i64>().unwrap_or(0) != 0 => {
                        log(LogLevel::Notice, "RDB is base AOF".into())
                    }
                    b"aof-preamble" if text.trim().parse::<i64>().unwrap_or(0) != 0 => {
                        log(LogLevel::Notice, "RDB has an AOF tail".into())
                    }
                    b"slot-info" if !slot_info_ok(&v) => return Err(fail("bad slot-info aux field".into())),
                    _ => {}
                }
                report.aux.push((k, v));
            }
            Record::Function(code) => {
                report.functions += 1;
                sink(Item::Function(code)).map_err(|e| fail(format!("Failed loading library, {e}")))?;
            }
            Record::Key(key, value) => {
                let (expire_at_ms, idle_secs, freq) = (expire.take(), idle.take(), freq.take());
                match value {
                    None => {
                        if report.empty_keys_skipped < 10 {
                            log(
                                LogLevel::Notice,
                                format!("rdbLoadObject skipping empty key: {}", String::from_utf8_lossy(&key)),
                            );
                        }
                        report.empty_keys_skipped += 1;
                    }
                    Some(_) if expire_at_ms.zip(opts.drop_expired_before).is_some_and(|(t, now)| t < now) => {
                        report.keys_expired += 1;
                    }
                    Some(value) => {
                        report.keys_loaded += 1;
                        sink(Item::Key(LoadedKey { db, key, value, expire_at_ms, idle_secs, freq })).map_err(fail)?;
                    }
                }
            }
        }
    }
    // The CRC covers everything up to and including EOF (RDB 5 and later).
    if version >= 5 {
        let crc = std::mem::replace(&mut input.crc, CRC64.digest()).finalize();
        let stored = u64::from_le_bytes(input.next(|r| r.read_array::<8>())?);
        if opts.verify_checksum {
            if stored == 0 {
                log(LogLevel::Notice, "RDB file was saved with checksum disabled: no check performed.".into());
            } else if stored != crc {
                log(
                    LogLevel::Warning,
                    format!("Wrong RDB checksum expected: ({stored:x}) but got ({crc:x}). Aborting now."),
                );
                return Err(LoadError { offset: input.offset() - 8, reason: "RDB CRC error".into() });
            } else {
                report.checksum_verified = true;
            }
        }
    }
    report.bytes = input.offset();
    Ok(report)
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
