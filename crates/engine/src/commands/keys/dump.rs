//! DUMP and RESTORE: a key's value as a Valkey DUMP payload (RDB object, RDB version, CRC64)
//! and back.

use super::object::lfu_policy;
use crate::commands::{errors, int_arg, is, CmdResult, Ctx, Error};
use crate::notify;
use crate::rdb::dump::{create_payload, restore_value, PayloadError};
use crate::rdb::SaveOptions;

pub(super) fn dump(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let opts = SaveOptions { compress: ctx.engine.config.get_bool("rdbcompression") };
    match ctx.keys.read(argv[1])? {
        Some(e) => {
            let payload = create_payload(e.value(), opts);
            ctx.out.bulk(&payload);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// RESTORE's options.
#[derive(Default)]
struct RestoreArgs {
    replace: bool,
    absttl: bool,
    idle_secs: Option<i64>,
    freq: Option<u8>,
}

fn parse_restore(argv: &[&[u8]]) -> Result<RestoreArgs, Error> {
    let mut args = RestoreArgs::default();
    let mut i = 4;
    while i < argv.len() {
        let has_value = i + 1 < argv.len();
        if is(argv[i], "replace") {
            args.replace = true;
        } else if is(argv[i], "absttl") {
            args.absttl = true;
        } else if is(argv[i], "idletime") && has_value && args.freq.is_none() {
            let idle = int_arg(argv[i + 1])?;
            if idle < 0 {
                return Err(Error::err("Invalid IDLETIME value, must be >= 0"));
            }
            args.idle_secs = Some(idle);
            i += 1;
        } else if is(argv[i], "freq") && has_value && args.idle_secs.is_none() {
            let freq = int_arg(argv[i + 1])?;
            args.freq =
                Some(u8::try_from(freq).map_err(|_| Error::err("Invalid FREQ value, must be >= 0 and <= 255"))?);
            i += 1;
        } else {
            return Err(errors::SYNTAX);
        }
        i += 1;
    }
    Ok(args)
}

pub(super) fn restore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let args = parse_restore(argv)?;
    if !args.replace && ctx.keys.write(key)?.is_some() {
        return Err(errors::BUSYKEY);
    }
    let mut ttl = int_arg(argv[2])?;
    if ttl < 0 {
        return Err(Error::err("Invalid TTL value, must be >= 0"));
    }
    let limits = crate::rdb::Limits::from_config(&ctx.engine.config.hot);
    let value = match restore_value(argv[3], limits) {
        Ok(v) => v,
        Err(PayloadError::VersionOrChecksum) => return Err(Error::err("DUMP payload version or checksum are wrong")),
        Err(PayloadError::BadData(_)) => return Err(Error::err("Bad data format")),
    };
    // REPLACE drops the old key as it is, expired or not (no `expired` event).
    let replaced = match ctx.keys.remove_ignoring_ttl(key)? {
        Some(old) => {
            ctx.engine.lazy_free(old);
            true
        }
        None => false,
    };
    let now = ctx.keys.now_ms as i64;
    if ttl != 0 && !args.absttl {
        // Wraps like Valkey's `ttl += commandTimeSnapshot()`; a wrapped time is in the past.
        ttl = ttl.wrapping_add(now);
    }
    if ttl != 0 && ttl <= now {
        // Already expired: not stored. The key it replaced is gone all the same.
        if replaced {
            ctx.keys.changed(key, notify::GENERIC, "del");
            let lazy = ctx.engine.config.get_bool("lazyfree-lazy-server-del");
            let cmd: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
            ctx.keys.propagate_as(vec![cmd.to_vec(), key.to_vec()]);
        }
        drop(value);
        ctx.out.ok();
        return Ok(());
    }
    let lru = restored_lru(ctx, &args);
    let db = ctx.keys.db;
    ctx.keys.add_new_in(db, key, value, (ttl != 0).then_some(ttl as u64), lru)?;
    ctx.keys.changed(key, notify::GENERIC, "restore");
    if ttl != 0 && !args.absttl && ctx.keys.propagating() {
        // Replicas get the absolute time.
        let mut rewritten: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
        rewritten[2] = ttl.to_string().into_bytes();
        rewritten.push(b"ABSTTL".to_vec());
        ctx.keys.propagate_as(rewritten);
    }
    ctx.out.ok();
    Ok(())
}

/// The LRU/LFU stamp of a restored key (Valkey's `objectSetLRUOrLFU`): FREQ sets the LFU
/// counter under an LFU policy, IDLETIME backdates the access time under any other.
fn restored_lru(ctx: &Ctx, args: &RestoreArgs) -> u32 {
    let idle = args.idle_secs.map(|s| s as u64);
    super::object::lru_stamp(lfu_policy(ctx.engine), ctx.keys.now_ms, ctx.keys.lru_clock(), args.freq, idle)
}
