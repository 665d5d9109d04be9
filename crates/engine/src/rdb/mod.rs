//! The RDB serialization of values: the bytes Valkey writes for a key's value in an RDB file
//! and inside a DUMP payload.
//!
//! An object is a type byte ([`types`]) followed by its type-specific body. Bodies are built
//! from two primitives: lengths ([`len`]) and strings ([`string`], which may be integer-encoded
//! or LZF-compressed, see [`lzf`]). DUMP/RESTORE framing (version and CRC64 footer) is in
//! [`dump`]; a full RDB file writer/loader adds its header, opcodes and per-key framing around
//! [`save_type`] / [`save_value`] and [`load_type`] / [`load_value`].
//!
//! Strings, lists ([`list`], every encoding since RDB 1, [`ziplist`] for the old ones), hashes
//! ([`hash`]), sets ([`set`]) and sorted sets ([`zset`]) load; the other object types are
//! recognised (so that a valid payload of another type is told apart from garbage) but refused with
//! [`RdbError::UnsupportedType`] until their encodings are written: each new type adds a match
//! arm in [`save_type`], [`save_value`] and [`load_value`] and a file of its own here. Loaded
//! collections are converted to the encoding the configured limits ([`Limits`]) give them.

pub mod dump;
pub mod file;
pub mod hash;
pub mod len;
pub mod list;
pub mod lzf;
pub mod set;
pub mod stream;
pub mod string;
pub mod ziplist;
pub mod zset;

use crate::types::hash::HashLimits;
use crate::types::list::ListLimits;
use crate::types::set::SetLimits;
use crate::types::zset::{ZSetLimits, ZSetRef};
use crate::types::{Value, ValueRef};

/// The encoding thresholds loaded collections are converted by (the `*-max-listpack-*` and
/// `set-max-intset-entries` directives, read once per load).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub hash: HashLimits,
    pub set: SetLimits,
    pub zset: ZSetLimits,
    pub list: ListLimits,
}

impl Limits {
    pub fn from_config(hot: &crate::config::Hot) -> Limits {
        Limits { hash: hot.hash_limits(), set: hot.set_limits(), zset: hot.zset_limits(), list: hot.list_limits() }
    }

    /// Valkey's default limits (for tests).
    #[cfg(test)]
    pub(crate) fn valkey_defaults() -> Limits {
        Limits::from_config(&crate::config::Config::defaults().hot)
    }
}

/// Loads one whole serialized object (type byte and body), which must use every byte.
#[cfg(test)]
pub(crate) fn load_whole(bytes: &[u8], l: Limits) -> Result<Value, RdbError> {
    let mut r = Reader::new(bytes);
    let t = load_type(&mut r)?;
    let v = load_value(t, &mut r, l)?;
    assert_eq!(r.remaining(), 0);
    Ok(v)
}

/// The RDB format version Valkey 8.0 writes (and the newest it reads).
pub const RDB_VERSION: u16 = 11;

/// Object type bytes (Valkey's `RDB_TYPE_*`).
pub mod types {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE_PRE_GA: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;

    /// Whether `t` is an object type byte at all (Valkey's `rdbIsObjectType`); opcodes such as
    /// `SELECTDB` or `EOF` are not.
    pub fn is_object_type(t: u8) -> bool {
        t <= MODULE_2 || (HASH_ZIPMAP..=STREAM_LISTPACKS_3).contains(&t)
    }
}

/// Why an RDB object could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RdbError {
    /// The input ended inside the object.
    Truncated,
    /// The bytes are not a valid encoding (what Valkey reports as a corrupt RDB).
    Corrupt(&'static str),
    /// A valid object type whose encoding Kvasir does not load yet.
    UnsupportedType(u8),
    /// A well-formed collection with no element: RESTORE refuses it, an RDB file loader skips
    /// the key (Valkey's `RDB_LOAD_ERR_EMPTY_KEY`).
    EmptyKey,
}

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RdbError::Truncated => f.write_str("unexpected end of RDB data"),
            RdbError::Corrupt(what) => write!(f, "corrupt RDB data: {what}"),
            RdbError::UnsupportedType(t) => write!(f, "RDB object type {t} is not supported yet"),
            RdbError::EmptyKey => f.write_str("empty collection"),
        }
    }
}

/// Reads RDB data from a byte slice, never past its end.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn read_u8(&mut self) -> Result<u8, RdbError> {
        let b = *self.buf.get(self.pos).ok_or(RdbError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    /// The next `n` bytes, borrowed from the input.
    pub fn read_bytes(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        if n > self.remaining() {
            return Err(RdbError::Truncated);
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn read_array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.read_bytes(N)?);
        Ok(a)
    }
}

/// How values are written.
#[derive(Clone, Copy, Debug)]
pub struct SaveOptions {
    /// LZF-compress strings longer than 20 bytes when that makes them smaller
    /// (`rdbcompression`).
    pub compress: bool,
}

/// Appends the type byte of `value` (Valkey's `rdbSaveObjectType`).
pub fn save_type(out: &mut Vec<u8>, value: ValueRef<'_>) {
    use crate::types::hash::HashRef;
    use crate::types::set::SetRef;
    out.push(match value {
        ValueRef::Str(_) => types::STRING,
        ValueRef::Hash(HashRef::Listpack(_)) => types::HASH_LISTPACK,
        ValueRef::Hash(HashRef::Table(_)) => types::HASH,
        ValueRef::Set(SetRef::Intset(_)) => types::SET_INTSET,
        ValueRef::Set(SetRef::Listpack(_)) => types::SET_LISTPACK,
        ValueRef::Set(SetRef::Table(_)) => types::SET,
        ValueRef::ZSet(ZSetRef::Listpack(_)) => types::ZSET_LISTPACK,
        ValueRef::ZSet(ZSetRef::Skiplist(_)) => types::ZSET_2,
        ValueRef::List(_) => types::LIST_QUICKLIST_2,
        ValueRef::Stream(_) => types::STREAM_LISTPACKS_3,
    });
}

/// Appends the body of `value` (Valkey's `rdbSaveObject`).
pub fn save_value(out: &mut Vec<u8>, value: ValueRef<'_>, opts: SaveOptions) {
    use crate::types::hash::HashRef;
    use crate::types::set::SetRef;
    match value {
        ValueRef::Str(s) => string::save_str(out, s, opts.compress),
        // Compact encodings are written as the blob they are, like Valkey.
        ValueRef::Hash(HashRef::Listpack(blob))
        | ValueRef::Set(SetRef::Listpack(blob))
        | ValueRef::Set(SetRef::Intset(blob)) => string::save_bytes(out, blob, opts.compress),
        ValueRef::Hash(h @ HashRef::Table(_)) => {
            len::save_len(out, h.len() as u64);
            h.for_each(|f, v| {
                f.with_bytes(|b| string::save_bytes(out, b, opts.compress));
                v.with_bytes(|b| string::save_bytes(out, b, opts.compress));
            });
        }
        ValueRef::Set(s @ SetRef::Table(_)) => {
            len::save_len(out, s.len() as u64);
            s.for_each(|m| m.with_bytes(|b| string::save_bytes(out, b, opts.compress)));
        }
        ValueRef::ZSet(z) => zset::save(out, z, opts.compress),
        ValueRef::List(l) => list::save_list(out, l, opts.compress),
        ValueRef::Stream(s) => stream::save(out, s, opts.compress, types::STREAM_LISTPACKS_3),
    }
}

/// Reads an object type byte; anything that is not one is corrupt.
pub fn load_type(r: &mut Reader<'_>) -> Result<u8, RdbError> {
    let t = r.read_u8()?;
    if types::is_object_type(t) {
        Ok(t)
    } else {
        Err(RdbError::Corrupt("unknown object type"))
    }
}

/// Reads the body of an object of type `t` (Valkey's `rdbLoadObject`, with deep sanitization).
pub fn load_value(t: u8, r: &mut Reader<'_>, limits: Limits) -> Result<Value, RdbError> {
    match t {
        types::STRING => Ok(string::load_string(r)?.into_value()),
        types::HASH => hash::load_hash(r, limits.hash),
        types::HASH_LISTPACK => hash::load_listpack(r, limits.hash),
        types::SET => set::load_set(r, limits.set),
        types::SET_INTSET => set::load_intset(r, limits.set),
        types::SET_LISTPACK => set::load_listpack(r, limits.set),
        types::ZSET => Ok(Value::ZSet(zset::load_pairs(r, false, limits.zset)?)),
        types::ZSET_2 => Ok(Value::ZSet(zset::load_pairs(r, true, limits.zset)?)),
        types::ZSET_LISTPACK => Ok(Value::ZSet(zset::load_listpack(r, limits.zset)?)),
        types::ZSET_ZIPLIST => Ok(Value::ZSet(zset::load_ziplist(r, limits.zset)?)),
        types::HASH_ZIPLIST => hash::load_ziplist(r, limits.hash),
        types::HASH_ZIPMAP => hash::load_zipmap(r, limits.hash),
        types::LIST => Ok(Value::List(list::load_linked_list(r, limits.list)?)),
        types::LIST_QUICKLIST_2 => Ok(Value::List(list::load_quicklist2(r, limits.list)?)),
        types::LIST_QUICKLIST => Ok(Value::List(list::load_quicklist_of_ziplists(r, limits.list)?)),
        types::LIST_ZIPLIST => Ok(Value::List(list::load_ziplist(r, limits.list)?)),
        types::STREAM_LISTPACKS | types::STREAM_LISTPACKS_2 | types::STREAM_LISTPACKS_3 => {
            Ok(Value::Stream(Box::new(stream::load(r, t)?)))
        }
        // Module values (types 6 and 7) need the module that wrote them.
        t if types::is_object_type(t) => Err(RdbError::UnsupportedType(t)),
        _ => Err(RdbError::Corrupt("unknown object type")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::StrRef;

    #[test]
    fn object_types_are_recognised_but_unwritten_ones_refused() {
        for t in 0..=255u8 {
            let known = t <= 7 || (9..=21).contains(&t);
            assert_eq!(types::is_object_type(t), known, "{t}");
        }
        let mut r = Reader::new(&[types::MODULE_2, 0]);
        let t = load_type(&mut r).unwrap();
        assert_eq!(load_value(t, &mut r, Limits::valkey_defaults()), Err(RdbError::UnsupportedType(types::MODULE_2)));
        assert_eq!(load_type(&mut Reader::new(&[8])), Err(RdbError::Corrupt("unknown object type")));
        assert_eq!(load_type(&mut Reader::new(&[])), Err(RdbError::Truncated));
    }

    #[test]
    fn string_objects_roundtrip() {
        let long = b"abc".repeat(100);
        let values = [
            ValueRef::Str(StrRef::Bytes(b"")),
            ValueRef::Str(StrRef::Bytes(b"hello")),
            ValueRef::Str(StrRef::Int(-7)),
            ValueRef::Str(StrRef::Int(i64::MAX)),
            ValueRef::Str(StrRef::Bytes(&long)),
        ];
        for compress in [false, true] {
            for v in values {
                let mut out = Vec::new();
                save_type(&mut out, v);
                save_value(&mut out, v, SaveOptions { compress });
                let mut r = Reader::new(&out);
                let t = load_type(&mut r).unwrap();
                assert_eq!(load_value(t, &mut r, Limits::valkey_defaults()).unwrap(), v.to_owned_value());
                assert_eq!(r.remaining(), 0);
            }
        }
    }
}
