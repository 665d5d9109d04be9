//! Value types as the rest of the engine sees them: an owned [`Value`] (what is stored or
//! taken out of the keyspace) and borrowed views ([`ValueRef`], from `keyspace::entry`).
//! Each data type's encodings and algorithms live in a file of its own here.

pub mod bitmap;
pub mod string;

pub use crate::keyspace::entry::{StrRef, ValueRef};

/// An owned value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A string.
    Str(Vec<u8>),
    /// A string that is the canonical decimal form of an `i64`, kept as the integer.
    Int(i64),
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
        match self {
            Value::Str(_) | Value::Int(_) => "string",
        }
    }
}

impl ValueRef<'_> {
    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            ValueRef::Str(_) => "string",
        }
    }

    /// An owned copy.
    pub fn to_owned_value(&self) -> Value {
        match self {
            ValueRef::Str(StrRef::Int(i)) => Value::Int(*i),
            ValueRef::Str(StrRef::Bytes(b)) => Value::Str(b.to_vec()),
        }
    }
}
