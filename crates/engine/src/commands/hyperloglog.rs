//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.
//!
//! An HLL is a string value in Valkey's exact representation (`types/hll.rs`); these commands
//! check the header (`WRONGTYPE Key is not a valid HyperLogLog string value.`), change the
//! registers in place and keep the cached cardinality in the header as Valkey does, so a
//! single-key PFCOUNT is a write of the cache (it counts as a change and is propagated, but
//! sends no keyspace event). PFMERGE reports `pfadd`, as Valkey does.

use super::table::{acl, doc_flags, flags::*, keyflags, Command, Doc, DocMeta, KeySpec, Lock};
use super::{errors, CmdResult, Ctx, Error};
use crate::notify;
use crate::types::hll::{self, Corrupt};
use crate::types::{StrRef, ValueRef};
use std::sync::atomic::Ordering::Relaxed;

const fn doc(summary: &'static str, complexity: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since: "2.8.9", group: "hyperloglog", complexity, syntax }
}

pub static COMMANDS: &[Command] = &[
    Command::keyed(
        acl::HYPERLOGLOG,
        "pfadd",
        -2,
        WRITE | DENYOOM | FAST,
        &[KeySpec::single(1, keyflags::RW | keyflags::INSERT)],
        pfadd,
        doc(
            "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.",
            "O(1) to add every element.",
            "key [element [element ...]]",
        ),
    ),
    Command::keyed(
        acl::HYPERLOGLOG,
        "pfcount",
        -2,
        READONLY | MAY_REPLICATE,
        &[KeySpec {
            notes: "RW because it may change the internal representation of the key, and propagate to replicas",
            ..KeySpec::range(1, -1, 1, keyflags::RW | keyflags::ACCESS)
        }],
        pfcount,
        doc(
            "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).",
            "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.",
            "key [key ...]",
        ),
    ),
    Command::keyed(
        acl::HYPERLOGLOG,
        "pfmerge",
        -2,
        WRITE | DENYOOM,
        &[
            KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::INSERT),
            KeySpec::range(2, -1, 1, keyflags::RO | keyflags::ACCESS),
        ],
        pfmerge,
        doc(
            "Merges one or more HyperLogLog values into a single key.",
            "O(N) to merge N HyperLogLogs, but with high constant times.",
            "destkey [sourcekey [sourcekey ...]]",
        ),
    ),
    Command {
        doc_meta: DocMeta { flags: doc_flags::SYSCMD, ..DocMeta::NONE },
        ..Command::keyed(
            acl::HYPERLOGLOG,
            "pfdebug",
            3,
            WRITE | DENYOOM | ADMIN,
            &[KeySpec::single(2, keyflags::RW | keyflags::ACCESS)],
            pfdebug,
            doc("Internal commands for debugging HyperLogLog values.", "N/A", "subcommand key"),
        )
    },
    Command {
        name: "pfselftest",
        arity: 1,
        flags: ADMIN,
        acl: acl::HYPERLOGLOG,
        lock: Lock::None,
        handler: Some(pfselftest),
        doc: doc("An internal command for testing HyperLogLog values.", "N/A", ""),
        doc_meta: DocMeta { flags: doc_flags::SYSCMD, ..DocMeta::NONE },
        ..Command::DEFAULT
    },
];

/// A string that is not an HLL (bad magic, encoding or length), Valkey's text.
pub const NOT_HLL: Error = Error::coded_static("WRONGTYPE Key is not a valid HyperLogLog string value.");
/// A sparse HLL whose runs do not add up.
pub const CORRUPT: Error = Error::coded_static("INVALIDOBJ Corrupted HLL object detected");

impl From<Corrupt> for Error {
    fn from(_: Corrupt) -> Error {
        CORRUPT
    }
}

/// The HLL bytes in a value (Valkey's `isHLLObjectOrReply`): WRONGTYPE for other types, the
/// HLL WRONGTYPE for strings that are not HLLs (integers included).
fn hll_bytes(v: ValueRef<'_>) -> Result<&[u8], Error> {
    match v {
        ValueRef::Str(StrRef::Bytes(b)) if hll::is_hll(b) => Ok(b),
        ValueRef::Str(_) => Err(NOT_HLL),
        _ => Err(errors::WRONGTYPE),
    }
}

fn sparse_max(ctx: &Ctx) -> usize {
    ctx.engine.config.hot.hll_sparse_max_bytes.load(Relaxed).try_into().unwrap_or(usize::MAX)
}

/// The HLL at `key` for modification, created empty (sparse) when absent. Returns whether it
/// was created. The caller checked the type of an existing value.
fn hll_mut<'k>(ctx: &'k mut Ctx, key: &[u8], existed: bool) -> Result<&'k mut Vec<u8>, Error> {
    let buf = ctx.keys.string_mut(key)?;
    if !existed {
        buf.extend_from_slice(&hll::new_sparse());
    }
    Ok(buf)
}

fn pfadd(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let existed = match ctx.keys.write(key)? {
        Some(e) => {
            hll_bytes(e.value())?;
            true
        }
        None => false,
    };
    let max_bytes = sparse_max(ctx);
    let buf = hll_mut(ctx, key, existed)?;
    let mut updated = u64::from(!existed);
    for element in &argv[2..] {
        if hll::add(buf, element, max_bytes)? {
            updated += 1;
        }
    }
    if updated > 0 {
        hll::invalidate_cache(buf);
        ctx.keys.changed(key, notify::STRING, "pfadd");
        ctx.keys.effects.dirty += updated - 1;
    }
    ctx.out.int(i64::from(updated > 0));
    Ok(())
}

fn pfcount(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() > 2 {
        // The count of the union, computed on one byte per register; nothing is written.
        let mut max = vec![0u8; hll::REGISTERS];
        for key in &argv[1..] {
            if let Some(e) = ctx.keys.read(key)? {
                hll::merge_into(&mut max, hll_bytes(e.value())?)?;
            }
        }
        ctx.out.int(hll::estimate(&hll::raw_histogram(&max)) as i64);
        return Ok(());
    }
    let key = argv[1];
    let count = match ctx.keys.read(key)? {
        None => {
            ctx.out.int(0);
            return Ok(());
        }
        Some(e) => {
            let b = hll_bytes(e.value())?;
            match hll::cached_count(b) {
                Some(c) => {
                    ctx.out.int(c as i64);
                    return Ok(());
                }
                None => hll::count(b)?,
            }
        }
    };
    // Refresh the cache: a change of the value (WATCH, dirty, propagation) without an event.
    hll::set_cached_count(ctx.keys.string_mut(key)?, count);
    ctx.keys.changed(key, 0, "pfcount");
    ctx.out.int(count as i64);
    Ok(())
}

fn pfmerge(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let dest = argv[1];
    let mut max = vec![0u8; hll::REGISTERS];
    let mut use_dense = false;
    for key in &argv[1..] {
        if let Some(e) = ctx.keys.read(key)? {
            let b = hll_bytes(e.value())?;
            use_dense |= hll::encoding(b) == hll::DENSE;
            hll::merge_into(&mut max, b)?;
        }
    }
    let existed = ctx.keys.write(dest)?.is_some();
    let max_bytes = sparse_max(ctx);
    let buf = hll_mut(ctx, dest, existed)?;
    if use_dense {
        hll::to_dense(buf)?;
    }
    for (i, &v) in max.iter().enumerate() {
        if v != 0 {
            // The destination was validated with the sources: it cannot be corrupt.
            let _ = hll::raise(buf, i, v, max_bytes);
        }
    }
    hll::invalidate_cache(buf);
    ctx.keys.changed(dest, notify::STRING, "pfadd");
    ctx.out.ok();
    Ok(())
}

fn pfdebug(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (sub, key) = (argv[1], argv[2]);
    let encoding = match ctx.keys.write(key)? {
        None => return Err(Error::err("The specified key does not exist")),
        Some(e) => hll::encoding(hll_bytes(e.value())?),
    };
    if super::is(sub, "getreg") || super::is(sub, "todense") {
        let converted = encoding == hll::SPARSE && hll::to_dense(ctx.keys.string_mut(key)?)?;
        if converted {
            // The encoding change is propagated, silently.
            ctx.keys.effects.dirty += 1;
        }
        if super::is(sub, "todense") {
            ctx.out.int(i64::from(converted));
            return Ok(());
        }
        let Some(e) = ctx.keys.peek(key)? else { return Err(Error::internal("HLL vanished")) };
        let b = hll_bytes(e.value())?;
        ctx.out.array(hll::REGISTERS);
        for r in hll::dense_registers(b) {
            ctx.out.int(i64::from(r));
        }
    } else if super::is(sub, "decode") {
        if encoding != hll::SPARSE {
            return Err(Error::err("HLL encoding is not sparse"));
        }
        let Some(e) = ctx.keys.peek(key)? else { return Err(Error::internal("HLL vanished")) };
        let text = hll::decode_sparse(hll_bytes(e.value())?);
        ctx.out.bulk(text.as_bytes());
    } else if super::is(sub, "encoding") {
        ctx.out.simple(if encoding == hll::DENSE { "dense" } else { "sparse" });
    } else {
        return Err(Error::err_quoting("Unknown PFDEBUG subcommand '", sub, "'"));
    }
    Ok(())
}

/// PFSELFTEST: dense registers keep what is written without disturbing their neighbours, and
/// sparse and dense HLLs fed the same elements agree and stay within six standard errors.
fn pfselftest(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let mut rng = fastrand::Rng::new();
    let mut dense = hll::new_dense();
    let mut expected = vec![0u8; hll::REGISTERS];
    for _ in 0..1000 {
        for (i, e) in expected.iter_mut().enumerate() {
            *e = rng.u8(..64);
            hll::dense_set(&mut dense, i, *e);
        }
        for (i, &e) in expected.iter().enumerate() {
            let got = hll::dense_register(&dense, i);
            if got != e {
                return Err(Error::err(format!("TESTFAILED Register {i} should be {e} but is {got}")));
            }
        }
    }
    let max_bytes = sparse_max(ctx);
    let mut dense = hll::new_dense();
    let mut sparse = hll::new_sparse();
    let relerr = 1.04 / (hll::REGISTERS as f64).sqrt();
    let seed = rng.u64(..);
    let mut checkpoint: u64 = 1;
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_le_bytes();
        hll::add(&mut dense, &ele, max_bytes)?;
        hll::add(&mut sparse, &ele, max_bytes)?;
        if j != checkpoint {
            continue;
        }
        if j < (max_bytes / 2) as u64 && hll::encoding(&sparse) != hll::SPARSE {
            return Err(Error::err("TESTFAILED sparse encoding not used"));
        }
        let card = hll::count(&dense)?;
        if card != hll::count(&sparse)? {
            return Err(Error::err("TESTFAILED dense/sparse disagree"));
        }
        let abserr = checkpoint.abs_diff(card);
        let maxerr = if j == 10 { 1 } else { (relerr * 6.0 * checkpoint as f64).ceil() as u64 };
        if abserr > maxerr {
            return Err(Error::err(format!("TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}")));
        }
        checkpoint *= 10;
    }
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
#[path = "hyperloglog_tests.rs"]
mod tests;
