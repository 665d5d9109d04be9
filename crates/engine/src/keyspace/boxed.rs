//! Values an entry holds by pointer: long or growing strings, and collections.
//!
//! The entry payload for these is one thin pointer (8 bytes). Small collections point straight
//! at their listpack or intset bytes (whose own header gives their length), so a small hash
//! costs its listpack and nothing else; big ones point at their boxed structure. This file is
//! the only place that turns those pointers back into owned values or borrowed views.

use super::entry::Kind;
use crate::keyspace::dict::Dict;
use crate::types::hash::{Hash, HashRef};
use crate::types::item::Item;
use crate::types::list::{List, ListRef};
use crate::types::quicklist::Quicklist;
use crate::types::set::{Set, SetRef};
use crate::types::stream::Stream;
use crate::types::zset::skiplist::SkipList;
use crate::types::zset::{ZSet, ZSetRef};
use crate::types::{intset, listpack, StrRef, Value, ValueRef};
use std::ptr;

fn blob_into_raw(v: Vec<u8>) -> *mut u8 {
    Box::into_raw(v.into_boxed_slice()) as *mut u8
}

/// Length of a listpack or intset blob from its header.
///
/// # Safety
/// `p` must point at a live listpack (`intset == false`) or intset blob.
unsafe fn blob_len(p: *const u8, intset: bool) -> usize {
    if intset {
        intset::blob_len(std::slice::from_raw_parts(p, 8))
    } else {
        listpack::total_bytes(std::slice::from_raw_parts(p, 4))
    }
}

unsafe fn blob_slice<'a>(p: *const u8, intset: bool) -> &'a [u8] {
    std::slice::from_raw_parts(p, blob_len(p, intset))
}

unsafe fn blob_from_raw(p: *mut u8, intset: bool) -> Vec<u8> {
    let len = blob_len(p, intset);
    Box::from_raw(ptr::slice_from_raw_parts_mut(p, len)).into_vec()
}

/// Splits a value that is stored by pointer into its kind and pointer; gives back values
/// stored inline (short strings and integers).
pub(super) fn into_raw(v: Value) -> Result<(Kind, *mut u8), Value> {
    Ok(match v {
        Value::Str(b) if b.capacity() > super::entry::INLINE_STR_MAX => {
            (Kind::StrHeap, Box::into_raw(Box::new(b)) as *mut u8)
        }
        Value::Str(_) | Value::Int(_) => return Err(v),
        Value::Hash(Hash::Listpack(lp)) => (Kind::HashListpack, blob_into_raw(lp)),
        Value::Hash(Hash::Table(d)) => (Kind::HashTable, Box::into_raw(d) as *mut u8),
        Value::Set(Set::Intset(is)) => (Kind::SetIntset, blob_into_raw(is)),
        Value::Set(Set::Listpack(lp)) => (Kind::SetListpack, blob_into_raw(lp)),
        Value::Set(Set::Table(d)) => (Kind::SetTable, Box::into_raw(d) as *mut u8),
        Value::ZSet(ZSet::Listpack(lp)) => (Kind::ZSetListpack, blob_into_raw(lp)),
        Value::ZSet(ZSet::Skiplist(s)) => (Kind::ZSetSkiplist, Box::into_raw(s) as *mut u8),
        Value::List(List::Listpack(lp)) => (Kind::ListListpack, blob_into_raw(lp)),
        Value::List(List::Quicklist(ql)) => (Kind::ListQuicklist, Box::into_raw(ql) as *mut u8),
        Value::Stream(s) => (Kind::Stream, Box::into_raw(s) as *mut u8),
    })
}

/// Takes ownership back.
///
/// # Safety
/// `(kind, p)` must come from [`into_raw`] and not have been taken back before.
pub(super) unsafe fn from_raw(kind: Kind, p: *mut u8) -> Value {
    match kind {
        Kind::StrHeap => Value::Str(*Box::from_raw(p as *mut Vec<u8>)),
        Kind::HashListpack => Value::Hash(Hash::Listpack(blob_from_raw(p, false))),
        Kind::HashTable => Value::Hash(Hash::Table(Box::from_raw(p as *mut Dict<Item>))),
        Kind::SetIntset => Value::Set(Set::Intset(blob_from_raw(p, true))),
        Kind::SetListpack => Value::Set(Set::Listpack(blob_from_raw(p, false))),
        Kind::SetTable => Value::Set(Set::Table(Box::from_raw(p as *mut Dict<Item>))),
        Kind::ZSetListpack => Value::ZSet(ZSet::Listpack(blob_from_raw(p, false))),
        Kind::ZSetSkiplist => Value::ZSet(ZSet::Skiplist(Box::from_raw(p as *mut SkipList))),
        Kind::ListListpack => Value::List(List::Listpack(blob_from_raw(p, false))),
        Kind::ListQuicklist => Value::List(List::Quicklist(Box::from_raw(p as *mut Quicklist))),
        Kind::Stream => Value::Stream(Box::from_raw(p as *mut Stream)),
        Kind::StrInline | Kind::StrInt => unreachable!("{kind:?} is not stored by pointer"),
    }
}

/// Borrows the value.
///
/// # Safety
/// As for [`from_raw`]; the view must not outlive the entry or overlap a mutation.
pub(super) unsafe fn view<'a>(kind: Kind, p: *mut u8) -> ValueRef<'a> {
    match kind {
        Kind::StrHeap => ValueRef::Str(StrRef::Bytes((*(p as *const Vec<u8>)).as_slice())),
        Kind::HashListpack => ValueRef::Hash(HashRef::Listpack(blob_slice(p, false))),
        Kind::HashTable => ValueRef::Hash(HashRef::Table(&*(p as *const Dict<Item>))),
        Kind::SetIntset => ValueRef::Set(SetRef::Intset(blob_slice(p, true))),
        Kind::SetListpack => ValueRef::Set(SetRef::Listpack(blob_slice(p, false))),
        Kind::SetTable => ValueRef::Set(SetRef::Table(&*(p as *const Dict<Item>))),
        Kind::ZSetListpack => ValueRef::ZSet(ZSetRef::Listpack(blob_slice(p, false))),
        Kind::ZSetSkiplist => ValueRef::ZSet(ZSetRef::Skiplist(&*(p as *const SkipList))),
        Kind::ListListpack => ValueRef::List(ListRef::Listpack(blob_slice(p, false))),
        Kind::ListQuicklist => ValueRef::List(ListRef::Quicklist(&*(p as *const Quicklist))),
        Kind::Stream => ValueRef::Stream(&*(p as *const Stream)),
        Kind::StrInline | Kind::StrInt => unreachable!("{kind:?} is not stored by pointer"),
    }
}

/// The growable buffer of a heap string.
///
/// # Safety
/// `p` must be a live `Kind::StrHeap` pointer with no other reference to it.
pub(super) unsafe fn heap_str<'a>(p: *mut u8) -> &'a mut Vec<u8> {
    &mut *(p as *mut Vec<u8>)
}
