//! Value types as the rest of the engine sees them: an owned [`Value`] (what is stored or
//! taken out of the keyspace) and borrowed views ([`ValueRef`], from `keyspace::entry`).
//! Each data type's encodings and algorithms live in a file of its own here.

pub mod bitmap;
pub mod geohash;
pub mod hash;
pub mod hll;
pub mod intset;
pub mod item;
pub mod list;
pub mod listpack;
pub mod quicklist;
pub mod sample;
pub mod set;
pub mod stream;
pub mod string;
pub mod zset;

use hash::{Hash, HashRef};
use list::{List, ListRef};
use set::{Set, SetRef};
use stream::Stream;
use zset::{ZSet, ZSetRef};

/// An owned value.
#[derive(Clone)]
pub enum Value {
    /// A string.
    Str(Vec<u8>),
    /// A string that is the canonical decimal form of an `i64`, kept as the integer.
    Int(i64),
    Hash(Hash),
    Set(Set),
    ZSet(ZSet),
    List(List),
    Stream(Box<Stream>),
}

/// Equality of contents: strings byte for byte (an `Int` equals only an `Int`), collections
/// by their elements regardless of encoding or order (lists: in order).
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Hash(a), Value::Hash(b)) => a.as_ref().sorted_pairs() == b.as_ref().sorted_pairs(),
            (Value::Set(a), Value::Set(b)) => a.as_ref().sorted_members() == b.as_ref().sorted_members(),
            (Value::ZSet(a), Value::ZSet(b)) => a.as_ref().pairs() == b.as_ref().pairs(),
            (Value::List(a), Value::List(b)) => a.as_ref().to_vec() == b.as_ref().to_vec(),
            (Value::Stream(a), Value::Stream(b)) => a == b,
            _ => false,
        }
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Str(b) => write!(f, "Str({:?})", String::from_utf8_lossy(b)),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Hash(h) => write!(f, "Hash({} fields, {})", h.len(), h.encoding()),
            Value::Set(s) => write!(f, "Set({} members, {})", s.len(), s.encoding()),
            Value::ZSet(z) => write!(f, "ZSet({} members, {})", z.len(), z.encoding()),
            Value::List(l) => write!(f, "List({} elements, {})", l.len(), l.encoding()),
            Value::Stream(s) => write!(f, "{s:?}"),
        }
    }
}

/// A borrowed view of a value inside an entry.
#[derive(Clone, Copy)]
pub enum ValueRef<'a> {
    Str(StrRef<'a>),
    Hash(HashRef<'a>),
    Set(SetRef<'a>),
    ZSet(ZSetRef<'a>),
    List(ListRef<'a>),
    Stream(&'a Stream),
}

/// A string value: either bytes or an integer kept in binary form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrRef<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

impl StrRef<'_> {
    /// Length of the string form.
    pub fn len(&self) -> usize {
        match self {
            StrRef::Bytes(b) => b.len(),
            StrRef::Int(i) => itoa::Buffer::new().format(*i).len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the string form to `out`.
    pub fn push_to(&self, out: &mut Vec<u8>) {
        match self {
            StrRef::Bytes(b) => out.extend_from_slice(b),
            StrRef::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        self.push_to(&mut v);
        v
    }

    /// Calls `f` with the string form without allocating.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            StrRef::Bytes(b) => f(b),
            StrRef::Int(i) => f(itoa::Buffer::new().format(*i).as_bytes()),
        }
    }
}

impl Value {
    /// A string value, kept as an integer when it is one in canonical form — what Valkey's
    /// `tryObjectEncoding` does for strings of up to 20 bytes.
    pub fn string(bytes: Vec<u8>) -> Value {
        if bytes.len() <= 20 {
            if let Some(i) = resp::number::parse_i64(&bytes) {
                return Value::Int(i);
            }
        }
        Value::Str(bytes)
    }

    pub fn from_slice(bytes: &[u8]) -> Value {
        if bytes.len() <= 20 {
            if let Some(i) = resp::number::parse_i64(bytes) {
                return Value::Int(i);
            }
        }
        Value::Str(bytes.to_vec())
    }

    pub fn type_name(&self) -> &'static str {
        self.as_ref().type_name()
    }

    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Str(b) => ValueRef::Str(StrRef::Bytes(b)),
            Value::Int(i) => ValueRef::Str(StrRef::Int(*i)),
            Value::Hash(h) => ValueRef::Hash(h.as_ref()),
            Value::Set(s) => ValueRef::Set(s.as_ref()),
            Value::ZSet(z) => ValueRef::ZSet(z.as_ref()),
            Value::List(l) => ValueRef::List(l.as_ref()),
            Value::Stream(s) => ValueRef::Stream(s),
        }
    }

    /// Roughly how many allocations freeing this value takes (Valkey's lazyfree "effort"):
    /// values above a threshold are freed on the lazy-free thread.
    pub fn free_effort(&self) -> usize {
        match self {
            Value::Hash(Hash::Table(d)) => d.len(),
            Value::Set(Set::Table(d)) => d.len(),
            Value::ZSet(ZSet::Skiplist(s)) => s.len(),
            Value::List(List::Quicklist(ql)) => ql.node_count(),
            Value::Stream(s) => s.node_count() + s.group_count(),
            _ => 1,
        }
    }
}

impl<'a> ValueRef<'a> {
    /// The hash in this value, if it is one (for `Keys::read_as`).
    pub fn hash(self) -> Option<hash::HashRef<'a>> {
        if let ValueRef::Hash(h) = self {
            Some(h)
        } else {
            None
        }
    }

    /// The set in this value, if it is one.
    pub fn set(self) -> Option<set::SetRef<'a>> {
        if let ValueRef::Set(s) = self {
            Some(s)
        } else {
            None
        }
    }

    /// The sorted set in this value, if it is one.
    pub fn zset(self) -> Option<zset::ZSetRef<'a>> {
        if let ValueRef::ZSet(z) = self {
            Some(z)
        } else {
            None
        }
    }

    /// The stream in this value, if it is one.
    pub fn stream(self) -> Option<&'a Stream> {
        if let ValueRef::Stream(s) = self {
            Some(s)
        } else {
            None
        }
    }

    /// The string, if this is one.
    pub fn as_str(self) -> Option<StrRef<'a>> {
        match self {
            ValueRef::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            ValueRef::Str(_) => "string",
            ValueRef::Hash(_) => "hash",
            ValueRef::Set(_) => "set",
            ValueRef::ZSet(_) => "zset",
            ValueRef::List(_) => "list",
            ValueRef::Stream(_) => "stream",
        }
    }

    /// An owned copy.
    pub fn to_owned_value(&self) -> Value {
        match self {
            ValueRef::Str(StrRef::Int(i)) => Value::Int(*i),
            ValueRef::Str(StrRef::Bytes(b)) => Value::Str(b.to_vec()),
            ValueRef::Hash(h) => Value::Hash(h.to_owned_hash()),
            ValueRef::Set(s) => Value::Set(s.to_owned_set()),
            ValueRef::ZSet(z) => Value::ZSet(z.to_owned_zset()),
            ValueRef::List(l) => Value::List(l.to_owned_list()),
            ValueRef::Stream(s) => Value::Stream(Box::new((*s).clone())),
        }
    }
}
