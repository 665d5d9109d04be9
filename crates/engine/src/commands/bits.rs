//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.
//!
//! Bitmaps are plain strings; these commands read them as bits (bit 0 is the most significant
//! bit of the first byte) and grow them with zero bytes when a write reaches past the end.
//! Argument checks and their order follow Valkey's `bitops.c`; the bit arithmetic itself is
//! in `types/bitmap.rs`.

use super::strings::{out_of_memory, string_value};
use super::table::{acl, flags::*, keyflags, BeginSearch, Command, Doc, FindKeys, KeySpec};
use super::{errors, int_arg, is, CmdResult, Ctx, Error};
use crate::db::{Keys, Ttl};
use crate::notify;
use crate::types::bitmap::{self, Overflow};
use crate::types::string::str_bytes;
use crate::types::Value;
use resp::number::parse_i64;
use std::sync::atomic::Ordering::Relaxed;

const fn doc(summary: &'static str, since: &'static str, syntax: &'static str) -> Doc {
    Doc { summary, since, group: "bitmap", complexity: "O(N)", syntax }
}

const fn bit_cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: &'static [KeySpec],
    handler: super::table::Handler,
    doc: Doc,
) -> Command {
    Command::keyed(acl::BITMAP, name, arity, flags, keys, handler, doc)
}

const RO_ACCESS: &[KeySpec] = &[KeySpec::single(1, keyflags::RO | keyflags::ACCESS)];

const BITFIELD_SYNTAX: &str = "key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset value | INCRBY encoding offset increment> [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset value | INCRBY encoding offset increment> ...]]";

/// BITFIELD's key flags by its arguments (Valkey's `bitfieldGetKeys`): read-only when it has
/// only GET and OVERFLOW operations; anything else (SET, INCRBY, a syntax error) writes.
fn bitfield_keys_with_flags(argv: &[&[u8]]) -> Vec<(usize, u32)> {
    let mut readonly = true;
    let mut i = 2;
    while i < argv.len() {
        let rest = argv.len() - i - 1;
        if is(argv[i], "get") && rest >= 2 {
            i += 3;
        } else if is(argv[i], "overflow") && rest >= 1 {
            i += 2;
        } else {
            readonly = false;
            break;
        }
    }
    let flags =
        if readonly { keyflags::RO | keyflags::ACCESS } else { keyflags::RW | keyflags::ACCESS | keyflags::UPDATE };
    vec![(1, flags)]
}

pub static COMMANDS: &[Command] = &[
    bit_cmd(
        "setbit",
        4,
        WRITE | DENYOOM,
        &[KeySpec::single(1, keyflags::RW | keyflags::ACCESS | keyflags::UPDATE)],
        setbit,
        Doc {
            complexity: "O(1)",
            ..doc(
                "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
                "2.2.0",
                "key offset value",
            )
        },
    ),
    bit_cmd(
        "getbit",
        3,
        READONLY | FAST,
        RO_ACCESS,
        getbit,
        Doc { complexity: "O(1)", ..doc("Returns a bit value by offset.", "2.2.0", "key offset") },
    ),
    bit_cmd(
        "bitcount",
        -2,
        READONLY,
        RO_ACCESS,
        bitcount,
        doc(
            "Counts the number of set bits (population counting) in a string.",
            "2.6.0",
            "key [start [end [BYTE | BIT]]]",
        ),
    ),
    bit_cmd(
        "bitpos",
        -3,
        READONLY,
        RO_ACCESS,
        bitpos,
        doc("Finds the first set (1) or clear (0) bit in a string.", "2.8.7", "key bit [start [end [BYTE | BIT]]]"),
    ),
    bit_cmd(
        "bitop",
        -4,
        WRITE | DENYOOM,
        &[
            KeySpec::single(2, keyflags::OW | keyflags::UPDATE),
            KeySpec {
                flags: keyflags::RO | keyflags::ACCESS,
                begin: BeginSearch::Index(3),
                find: FindKeys::Range { lastkey: -1, step: 1, limit: 0 },
                notes: "",
            },
        ],
        bitop,
        doc(
            "Performs bitwise operations on multiple strings, and stores the result.",
            "2.6.0",
            "<AND | OR | XOR | NOT> destkey key [key ...]",
        ),
    ),
    Command {
        keys_with_flags: Some(bitfield_keys_with_flags),
        ..bit_cmd(
            "bitfield",
            -2,
            WRITE | DENYOOM,
            &[KeySpec {
                notes: "This command allows both access and modification of the key",
                ..KeySpec::single(1, keyflags::RW | keyflags::UPDATE | keyflags::ACCESS | keyflags::VARIABLE_FLAGS)
            }],
            bitfield,
            Doc {
                complexity: "O(1) for each subcommand specified",
                ..doc("Performs arbitrary bitfield integer operations on strings.", "3.2.0", BITFIELD_SYNTAX)
            },
        )
    },
    bit_cmd(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        RO_ACCESS,
        bitfield_ro,
        Doc {
            complexity: "O(1) for each subcommand specified",
            ..doc(
                "Performs arbitrary read-only bitfield integer operations on strings.",
                "6.0.0",
                "key [GET encoding offset [GET encoding offset ...]]",
            )
        },
    ),
];

const BITFIELD_TYPE: Error = Error::coded_static(
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
);

/// Valkey's `getBitOffsetFromArgument`: a bit offset below 8 * proto-max-bulk-len. With
/// `field_bits` > 0 (BITFIELD) the `#n` form means the n-th field of that width.
fn bit_offset(ctx: &Ctx, arg: &[u8], field_bits: u32) -> Result<u64, Error> {
    let (by_index, digits) = match arg {
        [b'#', rest @ ..] if field_bits > 0 => (true, rest),
        _ => (false, arg),
    };
    let mut offset = parse_i64(digits).ok_or(errors::BIT_OFFSET)?;
    if by_index {
        // Valkey multiplies without an overflow check; a wrapped product is then judged by the
        // range check like any other value.
        offset = offset.wrapping_mul(i64::from(field_bits));
    }
    let max_bytes = ctx.engine.config.hot.proto_max_bulk_len.load(Relaxed);
    if offset < 0 || (offset >> 3) as u64 >= max_bytes {
        return Err(errors::BIT_OFFSET);
    }
    Ok(offset as u64)
}

/// Valkey's `lookupStringForBitCommand`: the string at `key` as a growable buffer, created
/// when missing and zero-padded so that bit `max_bit` exists. The flag says whether the key was
/// created or grew (a change even if no bit flips). WRONGTYPE for other types.
fn bit_string<'k>(keys: &'k mut Keys<'_>, key: &[u8], max_bit: u64) -> Result<(&'k mut Vec<u8>, bool), Error> {
    let existed = match keys.write(key)? {
        None => false,
        Some(e) => {
            string_value(e.value())?;
            true
        }
    };
    // Below proto-max-bulk-len bytes (checked when the offset was parsed).
    let min_len = (max_bit >> 3) as usize + 1;
    let grew = {
        let buf = keys.string_mut(key)?;
        let old_len = buf.len();
        if old_len < min_len {
            if buf.try_reserve(min_len - old_len).is_err() {
                None
            } else {
                buf.resize(min_len, 0);
                Some(true)
            }
        } else {
            Some(false)
        }
    };
    let Some(grew) = grew else {
        if !existed {
            // Do not leave behind the empty key created for the failed write.
            keys.remove(key)?;
        }
        return Err(out_of_memory());
    };
    Ok((keys.string_mut(key)?, !existed || grew))
}

fn setbit(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let key = argv[1];
    let offset = bit_offset(ctx, argv[2], 0)?;
    let on = parse_i64(argv[3]).ok_or(errors::BIT_VALUE)?;
    if on & !1 != 0 {
        return Err(errors::BIT_VALUE);
    }
    let (buf, dirty) = bit_string(&mut ctx.keys, key, offset)?;
    let (byte, shift) = ((offset >> 3) as usize, 7 - (offset & 7) as u32);
    let old = (buf[byte] >> shift) & 1;
    let changed = dirty || i64::from(old) != on;
    if changed {
        buf[byte] = (buf[byte] & !(1 << shift)) | ((on as u8) << shift);
        ctx.keys.changed(key, notify::STRING, "setbit");
    }
    ctx.out.int(i64::from(old));
    Ok(())
}

fn getbit(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let offset = bit_offset(ctx, argv[2], 0)?;
    let bit = match ctx.keys.read(argv[1])? {
        None => 0,
        Some(e) => {
            let mut digits = itoa::Buffer::new();
            let bytes = str_bytes(string_value(e.value())?, &mut digits);
            match bytes.get((offset >> 3) as usize) {
                Some(b) => (b >> (7 - (offset & 7))) & 1,
                None => 0,
            }
        }
    };
    ctx.out.int(i64::from(bit));
    Ok(())
}

/// `BYTE` or `BIT` (true) at the end of a BITCOUNT/BITPOS range.
fn range_unit(arg: &[u8]) -> Result<bool, Error> {
    if is(arg, "bit") {
        Ok(true)
    } else if is(arg, "byte") {
        Ok(false)
    } else {
        Err(errors::SYNTAX)
    }
}

fn bitcount(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    // (start, end, in bits); arguments are all checked before the key is looked at.
    let range = match argv.len() {
        2 => None,
        3..=5 => {
            let start = int_arg(argv[2])?;
            let in_bits = if argv.len() == 5 { range_unit(argv[4])? } else { false };
            let end = if argv.len() >= 4 { Some(int_arg(argv[3])?) } else { None };
            Some((start, end, in_bits))
        }
        _ => return Err(errors::SYNTAX),
    };
    let Some(e) = ctx.keys.read(argv[1])? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut digits = itoa::Buffer::new();
    let bytes = str_bytes(string_value(e.value())?, &mut digits);
    let count = match range {
        None => bitmap::popcount(bytes),
        Some((start, end, in_bits)) => {
            let end = end.unwrap_or(bytes.len() as i64 - 1);
            if start < 0 && end < 0 && start > end {
                0
            } else {
                bitmap::bit_range(start, end, in_bits, bytes.len()).map_or(0, |r| bitmap::count_in(bytes, r))
            }
        }
    };
    ctx.out.int(count as i64);
    Ok(())
}

fn bitpos(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let bit = int_arg(argv[2])?;
    if bit != 0 && bit != 1 {
        return Err(Error::err("The bit argument must be 1 or 0."));
    }
    let bit = bit == 1;
    let range = match argv.len() {
        3 => None,
        4..=6 => {
            let start = int_arg(argv[3])?;
            let in_bits = if argv.len() == 6 { range_unit(argv[5])? } else { false };
            let end = if argv.len() >= 5 { Some(int_arg(argv[4])?) } else { None };
            Some((start, end, in_bits))
        }
        _ => return Err(errors::SYNTAX),
    };
    let Some(e) = ctx.keys.read(argv[1])? else {
        // A missing key is an endless run of clear bits.
        ctx.out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let mut digits = itoa::Buffer::new();
    let bytes = str_bytes(string_value(e.value())?, &mut digits);
    let last = bytes.len() as i64 - 1;
    let (start, end, in_bits, end_given) = match range {
        None => (0, last, false, false),
        Some((start, end, in_bits)) => (start, end.unwrap_or(last), in_bits, end.is_some()),
    };
    let pos = match bitmap::bit_range(start, end, in_bits, bytes.len()) {
        None => -1,
        Some(r) => bitmap::position_in(bytes, r, bit, end_given),
    };
    ctx.out.int(pos);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let op = match argv[1] {
        a if is(a, "and") => BitOp::And,
        a if is(a, "or") => BitOp::Or,
        a if is(a, "xor") => BitOp::Xor,
        a if is(a, "not") => BitOp::Not,
        _ => return Err(errors::SYNTAX),
    };
    if op == BitOp::Not && argv.len() != 4 {
        return Err(Error::err("BITOP NOT must be called with a single source key."));
    }
    let dest = argv[2];
    // Folded source by source; shorter sources count as zero-padded to the longest.
    let mut result: Vec<u8> = Vec::new();
    for (i, key) in argv[3..].iter().enumerate() {
        let mut digits = itoa::Buffer::new();
        let src: &[u8] = match ctx.keys.read(key)? {
            None => &[],
            Some(e) => str_bytes(string_value(e.value())?, &mut digits),
        };
        if result.len() < src.len() {
            result.try_reserve(src.len() - result.len()).map_err(|_| out_of_memory())?;
            result.resize(src.len(), 0);
        }
        if i == 0 {
            result[..src.len()].copy_from_slice(src);
            if op == BitOp::Not {
                result.iter_mut().for_each(|b| *b = !*b);
            }
            continue;
        }
        let (head, tail) = result.split_at_mut(src.len());
        match op {
            BitOp::And => {
                head.iter_mut().zip(src).for_each(|(r, s)| *r &= s);
                tail.fill(0);
            }
            BitOp::Or => head.iter_mut().zip(src).for_each(|(r, s)| *r |= s),
            BitOp::Xor => head.iter_mut().zip(src).for_each(|(r, s)| *r ^= s),
            BitOp::Not => unreachable!("NOT has a single source"),
        }
    }
    let len = result.len();
    if len > 0 {
        ctx.keys.set(dest, Value::Str(result), Ttl::Clear)?;
        ctx.keys.changed(dest, notify::STRING, "set");
    } else {
        // Every source empty or missing: the destination is removed.
        ctx.keys.delete(dest)?;
    }
    ctx.out.int(len as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOpKind {
    Get,
    Set,
    IncrBy,
}

/// One BITFIELD operation, parsed before any is run.
#[derive(Clone, Copy)]
struct FieldOp {
    kind: FieldOpKind,
    offset: u64,
    bits: u32,
    signed: bool,
    /// The SET value or INCRBY increment.
    value: i64,
    overflow: Overflow,
}

/// `i1`..`i64` or `u1`..`u63` (lower case only, as in Valkey).
fn field_type(arg: &[u8]) -> Result<(bool, u32), Error> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(BITFIELD_TYPE),
    };
    let bits = parse_i64(&arg[1..]).ok_or(BITFIELD_TYPE)?;
    if bits < 1 || bits > if signed { 64 } else { 63 } {
        return Err(BITFIELD_TYPE);
    }
    Ok((signed, bits as u32))
}

fn parse_field_ops(ctx: &Ctx, argv: &[&[u8]]) -> Result<Vec<FieldOp>, Error> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < argv.len() {
        let rest = argv.len() - j - 1;
        let sub = argv[j];
        let kind = if is(sub, "get") && rest >= 2 {
            FieldOpKind::Get
        } else if is(sub, "set") && rest >= 3 {
            FieldOpKind::Set
        } else if is(sub, "incrby") && rest >= 3 {
            FieldOpKind::IncrBy
        } else if is(sub, "overflow") && rest >= 1 {
            overflow = match argv[j + 1] {
                a if is(a, "wrap") => Overflow::Wrap,
                a if is(a, "sat") => Overflow::Sat,
                a if is(a, "fail") => Overflow::Fail,
                _ => return Err(Error::err("Invalid OVERFLOW type specified")),
            };
            j += 2;
            continue;
        } else {
            return Err(errors::SYNTAX);
        };
        let (signed, bits) = field_type(argv[j + 1])?;
        let offset = bit_offset(ctx, argv[j + 2], bits)?;
        let value = if kind == FieldOpKind::Get { 0 } else { int_arg(argv[j + 3])? };
        ops.push(FieldOp { kind, offset, bits, signed, value, overflow });
        j += if kind == FieldOpKind::Get { 3 } else { 4 };
    }
    Ok(ops)
}

fn field_get(bytes: &[u8], op: &FieldOp) -> i64 {
    if op.signed {
        bitmap::get_signed(bytes, op.offset, op.bits)
    } else {
        // Unsigned fields are at most 63 bits wide, so they fit.
        bitmap::get_unsigned(bytes, op.offset, op.bits) as i64
    }
}

/// Runs a SET or INCRBY on `buf` (long enough for the field). Returns the reply value (`None`
/// when OVERFLOW FAIL refused the write) and whether the stored bits changed.
fn field_write(buf: &mut [u8], op: &FieldOp) -> (Option<i64>, bool) {
    let incr = op.kind == FieldOpKind::IncrBy;
    let (overflowed, old, new) = if op.signed {
        let old = bitmap::get_signed(buf, op.offset, op.bits);
        let r = if incr {
            bitmap::signed_field_add(old, op.value, op.bits, op.overflow)
        } else {
            bitmap::signed_field_add(op.value, 0, op.bits, op.overflow)
        };
        let new = r.unwrap_or_else(|limit| limit);
        (r.is_err(), old as u64, new as u64)
    } else {
        let old = bitmap::get_unsigned(buf, op.offset, op.bits);
        let r = if incr {
            bitmap::unsigned_field_add(old, op.value, op.bits, op.overflow)
        } else {
            bitmap::unsigned_field_add(op.value as u64, 0, op.bits, op.overflow)
        };
        let new = r.unwrap_or_else(|limit| limit);
        (r.is_err(), old, new)
    };
    if overflowed && op.overflow == Overflow::Fail {
        return (None, false);
    }
    bitmap::set_bits(buf, op.offset, op.bits, new);
    // INCRBY replies with the new value, SET with the old one.
    let reply = if incr { new } else { old };
    (Some(reply as i64), old != new)
}

fn bitfield_generic(ctx: &mut Ctx, argv: &[&[u8]], read_only: bool) -> CmdResult {
    let key = argv[1];
    let ops = parse_field_ops(ctx, argv)?;
    let highest_write =
        ops.iter().filter(|op| op.kind != FieldOpKind::Get).map(|op| op.offset + u64::from(op.bits) - 1).max();
    let Some(highest_write) = highest_write else {
        let mut digits = itoa::Buffer::new();
        let bytes = match ctx.keys.read(key)? {
            None => &[][..],
            Some(e) => str_bytes(string_value(e.value())?, &mut digits),
        };
        ctx.out.array(ops.len());
        for op in &ops {
            ctx.out.int(field_get(bytes, op));
        }
        return Ok(());
    };
    if read_only {
        return Err(Error::err("BITFIELD_RO only supports the GET subcommand"));
    }
    let (buf, dirty) = bit_string(&mut ctx.keys, key, highest_write)?;
    ctx.out.array(ops.len());
    let mut changes = 0u64;
    for op in &ops {
        if op.kind == FieldOpKind::Get {
            ctx.out.int(field_get(buf, op));
            continue;
        }
        match field_write(buf, op) {
            (Some(v), changed) => {
                ctx.out.int(v);
                changes += u64::from(dirty || changed);
            }
            (None, _) => ctx.out.null(),
        }
    }
    if changes > 0 {
        // One event for the whole command, but every changing operation counts as a change.
        ctx.keys.changed(key, notify::STRING, "setbit");
        ctx.keys.effects.dirty += changes - 1;
    }
    Ok(())
}

fn bitfield(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    bitfield_generic(ctx, argv, false)
}

fn bitfield_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    bitfield_generic(ctx, argv, true)
}

#[cfg(test)]
mod tests {
    use crate::commands::strings::tests::{expire_of, run_bytes, run_events};
    use crate::engine::Engine;
    use crate::exec::tests::{client, run};

    fn setup() -> (std::sync::Arc<Engine>, crate::client::Client) {
        let e = Engine::for_tests();
        let c = client(&e);
        (e, c)
    }

    fn get_bytes(e: &Engine, c: &mut crate::client::Client, key: &str) -> Vec<u8> {
        let raw = run_bytes(e, c, &[b"get", key.as_bytes()]);
        let (v, _) = resp::Value::parse(&raw).unwrap();
        match v {
            resp::Value::Bulk(b) => b,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn setbit_getbit() {
        let (e, mut c) = setup();
        assert_eq!(run(&e, &mut c, &["setbit", "k", "1", "1"]), ":0\r\n");
        assert_eq!(get_bytes(&e, &mut c, "k"), [0b0100_0000]);
        assert_eq!(run(&e, &mut c, &["setbit", "k", "1", "1"]), ":1\r\n");
        assert_eq!(run(&e, &mut c, &["setbit", "k", "1", "0"]), ":1\r\n");
        assert_eq!(get_bytes(&e, &mut c, "k"), [0]);
        run(&e, &mut c, &["set", "s", "@"]);
        assert_eq!(run(&e, &mut c, &["setbit", "s", "2", "1"]), ":0\r\n");
        assert_eq!(get_bytes(&e, &mut c, "s"), [0b0110_0000]);
        run(&e, &mut c, &["set", "n", "1"]);
        assert_eq!(run(&e, &mut c, &["getbit", "n", "2"]), ":1\r\n");
        assert_eq!(run(&e, &mut c, &["setbit", "n", "6", "1"]), ":0\r\n");
        assert_eq!(get_bytes(&e, &mut c, "n"), [0b0011_0011]);
        assert_eq!(run(&e, &mut c, &["setbit", "g", "20", "1"]), ":0\r\n");
        assert_eq!(get_bytes(&e, &mut c, "g"), [0, 0, 0b0000_1000]);
        assert_eq!(run(&e, &mut c, &["getbit", "g", "20"]), ":1\r\n");
        assert_eq!(run(&e, &mut c, &["getbit", "g", "21"]), ":0\r\n");
        assert_eq!(run(&e, &mut c, &["getbit", "g", "10000"]), ":0\r\n");
        assert_eq!(run(&e, &mut c, &["getbit", "missing", "0"]), ":0\r\n");
        run(&e, &mut c, &["set", "b", "`"]);
        let bits: Vec<String> = (0..4).map(|i| run(&e, &mut c, &["getbit", "b", &i.to_string()])).collect();
        assert_eq!(bits, [":0\r\n", ":1\r\n", ":1\r\n", ":0\r\n"]);
    }

    #[test]
    fn setbit_errors() {
        let (e, mut c) = setup();
        let offset_err = "-ERR bit offset is not an integer or out of range\r\n";
        let bit_err = "-ERR bit is not an integer or out of range\r\n";
        assert_eq!(run(&e, &mut c, &["setbit", "k", "4294967296", "1"]), offset_err);
        assert_eq!(run(&e, &mut c, &["setbit", "k", "-1", "1"]), offset_err);
        assert_eq!(run(&e, &mut c, &["setbit", "k", "x", "1"]), offset_err);
        assert_eq!(run(&e, &mut c, &["getbit", "k", "4294967296"]), offset_err);
        assert_eq!(run(&e, &mut c, &["getbit", "k", "1.5"]), offset_err);
        for v in ["-1", "2", "10", "x", ""] {
            assert_eq!(run(&e, &mut c, &["setbit", "k", "0", v]), bit_err, "{v:?}");
        }
        assert_eq!(run(&e, &mut c, &["exists", "k"]), ":0\r\n");
        // The last valid offset with the default 512MB limit; reading it allocates nothing.
        assert_eq!(run(&e, &mut c, &["getbit", "k", "4294967295"]), ":0\r\n");
        run(&e, &mut c, &["config", "set", "proto-max-bulk-len", "1048576"]);
        assert_eq!(run(&e, &mut c, &["setbit", "k", "8388608", "1"]), offset_err);
        assert_eq!(run(&e, &mut c, &["setbit", "k", "8388607", "1"]), ":0\r\n");
        assert_eq!(run(&e, &mut c, &["strlen", "k"]), ":1048576\r\n");
        assert_eq!(run(&e, &mut c, &["setbit", "k", "1"]), "-ERR wrong number of arguments for 'setbit' command\r\n");
    }

    #[test]
    fn setbit_events_and_dirty() {
        let (e, mut c) = setup();
        assert_eq!(run_events(&e, &mut c, &["setbit", "k", "0", "0"]).1, ["$:setbit:k"], "creation is a change");
        let (_, events, dirty) = run_events(&e, &mut c, &["setbit", "k", "0", "0"]);
        assert_eq!((events.len(), dirty), (0, 0));
        assert_eq!(run_events(&e, &mut c, &["setbit", "k", "0", "1"]).2, 1);
        assert_eq!(run_events(&e, &mut c, &["setbit", "k", "90", "0"]).1, ["$:setbit:k"], "growth is a change");
        run(&e, &mut c, &["set", "t", "a", "ex", "100"]);
        run(&e, &mut c, &["setbit", "t", "100", "1"]);
        assert!(expire_of(&e, "t").is_some(), "SETBIT keeps the TTL");
    }

    #[test]
    fn bitcount_cases() {
        let (e, mut c) = setup();
        run(&e, &mut c, &["set", "s", "foobar"]);
        assert_eq!(run(&e, &mut c, &["bitcount", "s"]), ":26\r\n");
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "0", "0"]), ":4\r\n");
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "1", "1"]), ":6\r\n");
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "1", "1", "byte"]), ":6\r\n");
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "5", "30", "BIT"]), ":17\r\n");
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "1"]), ":22\r\n");
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "-1"]), ":4\r\n");
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "-2", "-1"]), ":7\r\n");
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "-1", "-2"]), ":0\r\n");
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "-6", "-15", "bit"]), ":0\r\n");
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "100", "200"]), ":0\r\n");
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "0", "4294967296"]), ":26\r\n");
        assert_eq!(
            run(&e, &mut c, &["bitcount", "s", "-9223372036854775808", "9223372036854775807", "bit"]),
            ":26\r\n"
        );
        assert_eq!(run(&e, &mut c, &["bitcount", "none"]), ":0\r\n");
        assert_eq!(run(&e, &mut c, &["bitcount", "none", "0", "10"]), ":0\r\n");
        run(&e, &mut c, &["set", "n", "1"]);
        assert_eq!(run(&e, &mut c, &["bitcount", "n"]), ":3\r\n");
        let syntax = "-ERR syntax error\r\n";
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "0", "1", "hello"]), syntax);
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "0", "1", "hello", "hello2"]), syntax);
        assert_eq!(run(&e, &mut c, &["bitcount", "none", "0", "1", "hello"]), syntax);
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "a", "b"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "0", "b"]), "-ERR value is not an integer or out of range\r\n");
        // The unit is checked before the end.
        assert_eq!(run(&e, &mut c, &["bitcount", "s", "0", "b", "x"]), syntax);
    }

    #[test]
    fn bitpos_cases() {
        let (e, mut c) = setup();
        assert_eq!(run(&e, &mut c, &["bitpos", "none", "0"]), ":0\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "none", "1"]), ":-1\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "none", "1", "0", "5", "bit"]), ":-1\r\n");
        run_bytes(&e, &mut c, &[b"set", b"s", b"\xff\xf0\x00"]);
        assert_eq!(run(&e, &mut c, &["bitpos", "s", "0"]), ":12\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "s", "1"]), ":0\r\n");
        run_bytes(&e, &mut c, &[b"set", b"s", b"\x00\xff\xf0"]);
        assert_eq!(run(&e, &mut c, &["bitpos", "s", "1", "0"]), ":8\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "s", "1", "2"]), ":16\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "s", "1", "2", "-1", "byte"]), ":16\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "s", "1", "7", "15", "bit"]), ":8\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "s", "1", "7", "-3", "bit"]), ":8\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "s", "0", "8", "12", "bit"]), ":-1\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "s", "1", "2", "1"]), ":-1\r\n");
        run_bytes(&e, &mut c, &[b"set", b"ones", b"\xff\xff\xff"]);
        assert_eq!(run(&e, &mut c, &["bitpos", "ones", "0"]), ":24\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "ones", "0", "0"]), ":24\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "ones", "0", "0", "-1"]), ":-1\r\n");
        run(&e, &mut c, &["set", "empty", ""]);
        assert_eq!(run(&e, &mut c, &["bitpos", "empty", "0"]), ":-1\r\n");
        run(&e, &mut c, &["set", "zeros", "\0\0\0"]);
        assert_eq!(run(&e, &mut c, &["bitpos", "zeros", "1"]), ":-1\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "zeros", "0", "1"]), ":8\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "s", "2"]), "-ERR The bit argument must be 1 or 0.\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "s", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "s", "1", "0", "1", "bits"]), "-ERR syntax error\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "s", "1", "0", "1", "bit", "x"]), "-ERR syntax error\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "s", "1", "a"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&e, &mut c, &["bitpos", "s"]), "-ERR wrong number of arguments for 'bitpos' command\r\n");
    }

    #[test]
    fn bitop_cases() {
        let (e, mut c) = setup();
        run_bytes(&e, &mut c, &[b"set", b"a", b"\xff\x0f\x01"]);
        run_bytes(&e, &mut c, &[b"set", b"b", b"\x0f\xff"]);
        assert_eq!(run(&e, &mut c, &["bitop", "and", "d", "a", "b"]), ":3\r\n");
        assert_eq!(get_bytes(&e, &mut c, "d"), [0x0f, 0x0f, 0x00]);
        assert_eq!(run(&e, &mut c, &["bitop", "OR", "d", "a", "b"]), ":3\r\n");
        assert_eq!(get_bytes(&e, &mut c, "d"), [0xff, 0xff, 0x01]);
        assert_eq!(run(&e, &mut c, &["bitop", "xor", "d", "a", "b", "missing"]), ":3\r\n");
        assert_eq!(get_bytes(&e, &mut c, "d"), [0xf0, 0xf0, 0x01]);
        assert_eq!(run(&e, &mut c, &["bitop", "and", "d", "b", "a", "missing"]), ":3\r\n");
        assert_eq!(get_bytes(&e, &mut c, "d"), [0, 0, 0]);
        assert_eq!(run(&e, &mut c, &["bitop", "not", "d", "a"]), ":3\r\n");
        assert_eq!(get_bytes(&e, &mut c, "d"), [0x00, 0xf0, 0xfe]);
        assert_eq!(run(&e, &mut c, &["bitop", "not", "a", "a"]), ":3\r\n");
        assert_eq!(get_bytes(&e, &mut c, "a"), [0x00, 0xf0, 0xfe]);
        run(&e, &mut c, &["set", "n", "1"]);
        assert_eq!(run(&e, &mut c, &["bitop", "or", "d", "n", "missing"]), ":1\r\n");
        assert_eq!(run(&e, &mut c, &["get", "d"]), "$1\r\n1\r\n");
        run(&e, &mut c, &["set", "d", "x", "ex", "100"]);
        run(&e, &mut c, &["bitop", "or", "d", "n"]);
        assert_eq!(expire_of(&e, "d"), None, "the destination is overwritten, TTL and all");
        // Only empty or missing sources: the destination goes away.
        run(&e, &mut c, &["set", "empty", ""]);
        let (reply, events, _) = run_events(&e, &mut c, &["bitop", "and", "d", "empty", "missing"]);
        assert_eq!((reply.as_str(), events), (":0\r\n", vec!["g:del:d".to_string()]));
        assert_eq!(run(&e, &mut c, &["exists", "d"]), ":0\r\n");
        let (_, events, dirty) = run_events(&e, &mut c, &["bitop", "and", "d", "empty"]);
        assert_eq!((events.len(), dirty), (0, 0));
        let (_, events, _) = run_events(&e, &mut c, &["bitop", "or", "d", "n"]);
        assert_eq!(events, ["$:set:d"]);
        assert_eq!(run(&e, &mut c, &["bitop", "nand", "d", "a"]), "-ERR syntax error\r\n");
        assert_eq!(
            run(&e, &mut c, &["bitop", "not", "d", "a", "b"]),
            "-ERR BITOP NOT must be called with a single source key.\r\n"
        );
        assert_eq!(run(&e, &mut c, &["bitop", "and", "d"]), "-ERR wrong number of arguments for 'bitop' command\r\n");
    }

    #[test]
    fn bitop_matches_a_bytewise_model() {
        let (e, mut c) = setup();
        let mut rng = fastrand::Rng::with_seed(7);
        for round in 0..50 {
            let n = rng.usize(1..5);
            let srcs: Vec<Vec<u8>> = (0..n).map(|_| (0..rng.usize(0..70)).map(|_| rng.u8(..)).collect()).collect();
            for (i, s) in srcs.iter().enumerate() {
                run_bytes(&e, &mut c, &[b"set", format!("s{i}").as_bytes(), s]);
            }
            let max = srcs.iter().map(Vec::len).max().unwrap();
            for op in ["and", "or", "xor"] {
                let want: Vec<u8> = (0..max)
                    .map(|j| {
                        let at = |s: &Vec<u8>| s.get(j).copied().unwrap_or(0);
                        srcs[1..].iter().fold(at(&srcs[0]), |acc, s| match op {
                            "and" => acc & at(s),
                            "or" => acc | at(s),
                            _ => acc ^ at(s),
                        })
                    })
                    .collect();
                let mut argv: Vec<Vec<u8>> = vec![b"bitop".to_vec(), op.into(), b"dst".to_vec()];
                argv.extend((0..n).map(|i| format!("s{i}").into_bytes()));
                let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
                assert_eq!(run_bytes(&e, &mut c, &argv), format!(":{max}\r\n").into_bytes(), "round {round} {op}");
                if max > 0 {
                    assert_eq!(get_bytes(&e, &mut c, "dst"), want, "round {round} {op}");
                }
            }
        }
    }

    #[test]
    fn bitfield_basics() {
        let (e, mut c) = setup();
        assert_eq!(run(&e, &mut c, &["bitfield", "k", "set", "i8", "0", "-100"]), "*1\r\n:0\r\n");
        assert_eq!(run(&e, &mut c, &["bitfield", "k", "get", "i8", "0"]), "*1\r\n:-100\r\n");
        assert_eq!(
            run(&e, &mut c, &["bitfield", "k", "set", "u8", "0", "255", "get", "u8", "0"]),
            "*2\r\n:156\r\n:255\r\n"
        );
        assert_eq!(
            run(&e, &mut c, &["bitfield", "u", "set", "u8", "0", "255", "get", "u8", "0", "incrby", "u8", "0", "100"]),
            "*3\r\n:0\r\n:255\r\n:99\r\n"
        );
        assert_eq!(run(&e, &mut c, &["bitfield", "k"]), "*0\r\n");
        assert_eq!(
            run(
                &e,
                &mut c,
                &["bitfield", "h", "set", "u8", "#0", "65", "set", "u8", "#1", "66", "set", "u8", "#2", "67"]
            ),
            "*3\r\n:0\r\n:0\r\n:0\r\n"
        );
        assert_eq!(run(&e, &mut c, &["get", "h"]), "$3\r\nABC\r\n");
        assert_eq!(run(&e, &mut c, &["bitfield", "h", "get", "u8", "#1"]), "*1\r\n:66\r\n");
        assert_eq!(
            run(
                &e,
                &mut c,
                &["bitfield", "i", "incrby", "u2", "100", "1", "overflow", "sat", "incrby", "u2", "102", "1"]
            ),
            "*2\r\n:1\r\n:1\r\n"
        );
        assert_eq!(
            run(
                &e,
                &mut c,
                &["bitfield", "i", "incrby", "u2", "100", "1", "overflow", "sat", "incrby", "u2", "102", "1"]
            ),
            "*2\r\n:2\r\n:2\r\n"
        );
        assert_eq!(
            run(
                &e,
                &mut c,
                &["bitfield", "i", "incrby", "u2", "100", "1", "overflow", "sat", "incrby", "u2", "102", "1"]
            ),
            "*2\r\n:3\r\n:3\r\n"
        );
        assert_eq!(
            run(
                &e,
                &mut c,
                &["bitfield", "i", "incrby", "u2", "100", "1", "overflow", "sat", "incrby", "u2", "102", "1"]
            ),
            "*2\r\n:0\r\n:3\r\n"
        );
        assert_eq!(
            run(&e, &mut c, &["bitfield", "i", "overflow", "fail", "incrby", "u2", "102", "1"]),
            "*1\r\n$-1\r\n"
        );
        assert_eq!(
            run(&e, &mut c, &["bitfield", "w", "set", "i64", "0", "-9223372036854775808", "incrby", "i64", "0", "-1"]),
            "*2\r\n:0\r\n:9223372036854775807\r\n"
        );
        assert_eq!(
            run(
                &e,
                &mut c,
                &["bitfield", "x", "set", "u63", "1", "9223372036854775807", "get", "u63", "1", "get", "i64", "0"]
            ),
            "*3\r\n:0\r\n:9223372036854775807\r\n:9223372036854775807\r\n"
        );
        run(&e, &mut c, &["set", "n", "1"]);
        assert_eq!(run(&e, &mut c, &["bitfield_ro", "n", "get", "u8", "0", "get", "u8", "8"]), "*2\r\n:49\r\n:0\r\n");
        assert_eq!(run(&e, &mut c, &["bitfield_ro", "none", "get", "i5", "3"]), "*1\r\n:0\r\n");
        assert_eq!(run(&e, &mut c, &["bitfield_ro", "none"]), "*0\r\n");
    }

    #[test]
    fn bitfield_errors() {
        let (e, mut c) = setup();
        let ty =
            "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";
        for t in ["u64", "i65", "i0", "u0", "I8", "x8", "i", "", "i-1", "u8x"] {
            assert_eq!(run(&e, &mut c, &["bitfield", "k", "get", t, "0"]), ty, "{t:?}");
        }
        let offset = "-ERR bit offset is not an integer or out of range\r\n";
        assert_eq!(run(&e, &mut c, &["bitfield", "k", "get", "u8", "-1"]), offset);
        assert_eq!(run(&e, &mut c, &["bitfield", "k", "get", "u8", "#-1"]), offset);
        assert_eq!(run(&e, &mut c, &["bitfield", "k", "get", "u8", "4294967296"]), offset);
        assert_eq!(run(&e, &mut c, &["bitfield", "k", "get", "u8", "#536870912"]), offset);
        assert_eq!(run(&e, &mut c, &["bitfield", "k", "get", "u8", "##1"]), offset);
        assert_eq!(run(&e, &mut c, &["bitfield", "k", "get", "u8", "#536870911"]), "*1\r\n:0\r\n");
        // `#n` overflowing i64 wraps as in Valkey: 2^58 fields of 64 bits is offset 0.
        assert_eq!(run(&e, &mut c, &["bitfield", "k", "get", "i64", "#288230376151711744"]), "*1\r\n:0\r\n");
        assert_eq!(
            run(&e, &mut c, &["bitfield", "k", "set", "u8", "0", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        let syntax = "-ERR syntax error\r\n";
        assert_eq!(run(&e, &mut c, &["bitfield", "k", "get", "u8"]), syntax);
        assert_eq!(run(&e, &mut c, &["bitfield", "k", "set", "u8", "0"]), syntax);
        assert_eq!(run(&e, &mut c, &["bitfield", "k", "bogus"]), syntax);
        assert_eq!(run(&e, &mut c, &["bitfield", "k", "overflow"]), syntax);
        assert_eq!(
            run(&e, &mut c, &["bitfield", "k", "overflow", "maybe", "get", "u8", "0"]),
            "-ERR Invalid OVERFLOW type specified\r\n"
        );
        let ro = "-ERR BITFIELD_RO only supports the GET subcommand\r\n";
        assert_eq!(run(&e, &mut c, &["bitfield_ro", "k", "set", "u8", "0", "1"]), ro);
        assert_eq!(run(&e, &mut c, &["bitfield_ro", "k", "incrby", "u8", "0", "1"]), ro);
        // Parsing errors come before the read-only check.
        assert_eq!(run(&e, &mut c, &["bitfield_ro", "k", "set", "u99", "0", "1"]), ty);
        assert_eq!(run(&e, &mut c, &["exists", "k"]), ":0\r\n");
        assert_eq!(run(&e, &mut c, &["bitfield"]), "-ERR wrong number of arguments for 'bitfield' command\r\n");
    }

    #[test]
    fn bitfield_events_and_dirty() {
        let (e, mut c) = setup();
        let (_, events, dirty) = run_events(&e, &mut c, &["bitfield", "k", "set", "i5", "0", "0"]);
        assert_eq!((events, dirty), (vec!["$:setbit:k".to_string()], 1), "creation is a change");
        let (_, events, dirty) = run_events(&e, &mut c, &["bitfield", "k", "set", "i5", "0", "0"]);
        assert_eq!((events.len(), dirty), (0, 0));
        let (_, events, dirty) =
            run_events(&e, &mut c, &["bitfield", "k", "set", "u4", "0", "1", "set", "u4", "4", "2", "get", "u8", "0"]);
        assert_eq!((events, dirty), (vec!["$:setbit:k".to_string()], 2));
        let (_, _, dirty) =
            run_events(&e, &mut c, &["bitfield", "k", "incrby", "u4", "0", "0", "incrby", "u4", "0", "1"]);
        assert_eq!(dirty, 1);
        let (_, events, _) = run_events(&e, &mut c, &["bitfield", "k", "overflow", "fail", "incrby", "u4", "0", "100"]);
        assert!(events.is_empty());
        let (_, _, dirty) = run_events(&e, &mut c, &["bitfield", "k", "set", "u4", "90", "0"]);
        assert_eq!(dirty, 1, "growth is a change");
        // A FAIL'd write still creates the key, silently.
        let (reply, events, _) = run_events(&e, &mut c, &["bitfield", "f", "overflow", "fail", "set", "u2", "0", "9"]);
        assert_eq!((reply.as_str(), events.len()), ("*1\r\n$-1\r\n", 0));
        assert_eq!(run(&e, &mut c, &["get", "f"]), "$1\r\n\0\r\n");
    }

    #[test]
    fn bitfield_overflow_model() {
        // Compares every INCRBY against 128-bit arithmetic for each overflow mode.
        let (e, mut c) = setup();
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..500 {
            let signed = rng.bool();
            let bits: u32 = if signed { rng.u32(1..=64) } else { rng.u32(1..=63) };
            let (min, max): (i128, i128) =
                if signed { (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1) } else { (0, (1i128 << bits) - 1) };
            let start = rng.i128(min..=max);
            let incr = rng.i64(..);
            let ty = format!("{}{bits}", if signed { 'i' } else { 'u' });
            for (mode, name) in [(0, "wrap"), (1, "sat"), (2, "fail")] {
                run(&e, &mut c, &["del", "bf"]);
                run(&e, &mut c, &["bitfield", "bf", "set", &ty, "0", &start.to_string()]);
                let reply =
                    run(&e, &mut c, &["bitfield", "bf", "overflow", name, "incrby", &ty, "0", &incr.to_string()]);
                let sum = start + i128::from(incr);
                let want = if (min..=max).contains(&sum) {
                    Some(sum)
                } else {
                    match mode {
                        0 => {
                            let span = max - min + 1;
                            Some((sum - min).rem_euclid(span) + min)
                        }
                        1 => Some(if sum > max { max } else { min }),
                        _ => None,
                    }
                };
                let want = match want {
                    Some(v) => format!("*1\r\n:{v}\r\n"),
                    None => "*1\r\n$-1\r\n".into(),
                };
                assert_eq!(reply, want, "{ty} {start} + {incr} overflow {name}");
            }
        }
    }
}
