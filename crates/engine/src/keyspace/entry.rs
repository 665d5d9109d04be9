//! A key and its value packed into one allocation.
//!
//! Valkey 7 spends three or four allocations per string key (dict entry, key sds, value robj,
//! sometimes an sds for the value). Memory per key is one of the things we must beat, so an
//! entry here is a single heap block:
//!
//! ```text
//!  0        8      9        12        ..                ..      ..
//!  | next   | tag  | lru/lfu | key_len | [expire_at_ms    | key   | payload
//!  | (8 B)  | (1B) | (3 B)   | varint  |  volatile_idx]   |       |
//!                                       (12 B, only when the key has a TTL)
//! ```
//!
//! - `next` chains entries in a dict bucket (see `dict.rs`).
//! - `tag`: low 6 bits are the [`Kind`] of payload, bit 6 says whether a TTL is present, bit 7
//!   is the snapshot mark (`snapshot.rs`).
//! - `lru`: 24 bits of LRU clock or LFU state, what Valkey keeps in `robj.lru`.
//! - the payload is the value: an inline byte string (varint length + bytes), an `i64`, or a
//!   pointer to a heap object (long strings, collections).
//!
//! A 16-byte key with a 32-byte value fits in 62 bytes: one 64-byte allocator class, versus
//! roughly 112 bytes in Redis 7.
//!
//! All raw-pointer work of the keyspace lives in this file and `dict.rs`; everything outside
//! sees safe views ([`EntryPtr`] methods are `unsafe` only where the caller must promise the
//! entry is alive and not aliased).

use super::boxed;
use super::dict::Chained;
use crate::types::{StrRef, Value, ValueRef};
use std::alloc::{alloc, dealloc, Layout};
use std::ptr::{self, NonNull};

const NEXT_OFFSET: usize = 0;
const TAG_OFFSET: usize = 8;
const LRU_OFFSET: usize = 9;
const KEYLEN_OFFSET: usize = 12;
const TTL_BYTES: usize = 12;
const HAS_TTL: u8 = 0x40;
/// The snapshot mark (see `snapshot.rs`): the entry is already in the snapshot being taken,
/// or not part of it, when this bit equals its shard's current mark.
const SNAP_MARK: u8 = 0x80;
const KIND_MASK: u8 = 0x3f;
const ALIGN: usize = 8;

/// Longest string stored inline in the entry. Longer strings, and strings whose buffer was
/// given spare capacity to grow (APPEND, SETRANGE, SETBIT), get their own buffer so that they
/// can grow in place.
pub const INLINE_STR_MAX: usize = 64;

/// What the payload of an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A string stored inline: varint length, then the bytes.
    StrInline = 0,
    /// A string that is the decimal form of an `i64`, stored as the integer.
    StrInt = 1,
    /// A string in its own growable buffer (`Box<Vec<u8>>`).
    StrHeap = 2,
    /// A hash as a listpack (pointer to the listpack bytes).
    HashListpack = 3,
    /// A hash as a dict of items (`Box<Dict<Item>>`).
    HashTable = 4,
    /// A set of integers as an intset (pointer to the intset bytes).
    SetIntset = 5,
    /// A small set as a listpack.
    SetListpack = 6,
    /// A set as a dict of items.
    SetTable = 7,
    /// A small sorted set as a listpack of (member, score) pairs.
    ZSetListpack = 10,
    /// A sorted set as a member dict plus an ordered index (`Box<SkipList>`).
    ZSetSkiplist = 11,
    /// A small list as a listpack (pointer to the listpack bytes).
    ListListpack = 8,
    /// A list as a quicklist (`Box<Quicklist>`).
    ListQuicklist = 9,
    /// A stream (`Box<Stream>`).
    Stream = 12,
}

impl Kind {
    fn from_tag(tag: u8) -> Kind {
        match tag & KIND_MASK {
            0 => Kind::StrInline,
            1 => Kind::StrInt,
            2 => Kind::StrHeap,
            3 => Kind::HashListpack,
            4 => Kind::HashTable,
            5 => Kind::SetIntset,
            6 => Kind::SetListpack,
            7 => Kind::SetTable,
            10 => Kind::ZSetListpack,
            11 => Kind::ZSetSkiplist,
            8 => Kind::ListListpack,
            9 => Kind::ListQuicklist,
            12 => Kind::Stream,
            other => unreachable!("corrupt entry tag {other}"),
        }
    }
}

/// A raw, thin pointer to an entry. It is `Copy`; ownership is tracked by the dict that
/// links it, which frees it exactly once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryPtr(NonNull<u8>);

// SAFETY: an entry is plain owned memory with no thread affinity; the shard lock that owns the
// dict serializes every access to it.
unsafe impl Send for EntryPtr {}

pub(crate) fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Writes `v` as LEB128 at `p`, returning the bytes written.
///
/// # Safety
/// `p` must be valid for `varint_len(v)` bytes of writes.
pub(crate) unsafe fn write_varint(p: *mut u8, mut v: usize) -> usize {
    let mut i = 0;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            *p.add(i) = byte;
            return i + 1;
        }
        *p.add(i) = byte | 0x80;
        i += 1;
    }
}

/// Reads a LEB128 value at `p`, returning it and its length.
///
/// # Safety
/// `p` must point at a varint written by `write_varint`.
pub(crate) unsafe fn read_varint(p: *const u8) -> (usize, usize) {
    let mut v = 0usize;
    let mut shift = 0;
    let mut i = 0;
    loop {
        let byte = *p.add(i);
        v |= usize::from(byte & 0x7f) << shift;
        i += 1;
        if byte & 0x80 == 0 {
            return (v, i);
        }
        shift += 7;
    }
}

/// The value part of an entry in the form it is stored.
enum Payload {
    Inline(Vec<u8>),
    Int(i64),
    /// Everything stored by pointer (see `boxed.rs`): long or growing strings, collections.
    Ptr(Kind, *mut u8),
}

impl Payload {
    fn from_value(v: Value) -> Payload {
        match boxed::into_raw(v) {
            Ok((kind, p)) => Payload::Ptr(kind, p),
            Err(Value::Int(i)) => Payload::Int(i),
            Err(Value::Str(b)) => Payload::Inline(b),
            Err(_) => unreachable!("collections are always stored by pointer"),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Payload::Inline(_) => Kind::StrInline,
            Payload::Int(_) => Kind::StrInt,
            Payload::Ptr(kind, _) => *kind,
        }
    }

    fn size(&self) -> usize {
        match self {
            Payload::Inline(b) => varint_len(b.len()) + b.len(),
            Payload::Int(_) | Payload::Ptr(..) => 8,
        }
    }

    fn into_value(self) -> Value {
        match self {
            Payload::Inline(b) => Value::Str(b),
            Payload::Int(i) => Value::Int(i),
            // SAFETY: the pointer came from `boxed::into_raw` and is taken back once, here.
            Payload::Ptr(kind, p) => unsafe { boxed::from_raw(kind, p) },
        }
    }
}

/// Offsets of the parts of one entry, derived from its header.
struct Layout_ {
    ttl_at: Option<usize>,
    key_at: usize,
    key_len: usize,
    payload_at: usize,
}

impl EntryPtr {
    /// Allocates an entry. `expire_at_ms` reserves the TTL slot; its volatile index starts at 0
    /// and is set by the shard.
    pub fn new(key: &[u8], value: Value, expire_at_ms: Option<u64>, lru: u32) -> EntryPtr {
        Self::build(key, Payload::from_value(value), expire_at_ms, lru)
    }

    fn build(key: &[u8], payload: Payload, expire_at_ms: Option<u64>, lru: u32) -> EntryPtr {
        let ttl = if expire_at_ms.is_some() { TTL_BYTES } else { 0 };
        let size = KEYLEN_OFFSET + varint_len(key.len()) + ttl + key.len() + payload.size();
        let layout = Layout::from_size_align(size, ALIGN).expect("entry size overflow");
        // SAFETY: `size` is non-zero; every byte written below is inside the `size` bytes
        // computed above from the same parts.
        unsafe {
            let base = alloc(layout);
            let Some(base) = NonNull::new(base) else { std::alloc::handle_alloc_error(layout) };
            let p = base.as_ptr();
            ptr::write(p.add(NEXT_OFFSET) as *mut *mut u8, ptr::null_mut());
            *p.add(TAG_OFFSET) = payload.kind() as u8 | if ttl > 0 { HAS_TTL } else { 0 };
            write_lru(p, lru);
            let mut at = KEYLEN_OFFSET + write_varint(p.add(KEYLEN_OFFSET), key.len());
            if let Some(when) = expire_at_ms {
                ptr::write_unaligned(p.add(at) as *mut u64, when);
                ptr::write_unaligned(p.add(at + 8) as *mut u32, 0);
                at += TTL_BYTES;
            }
            ptr::copy_nonoverlapping(key.as_ptr(), p.add(at), key.len());
            at += key.len();
            match payload {
                Payload::Inline(b) => {
                    at += write_varint(p.add(at), b.len());
                    ptr::copy_nonoverlapping(b.as_ptr(), p.add(at), b.len());
                }
                Payload::Int(i) => ptr::write_unaligned(p.add(at) as *mut i64, i),
                Payload::Ptr(_, raw) => ptr::write_unaligned(p.add(at) as *mut *mut u8, raw),
            }
            EntryPtr(base)
        }
    }

    fn layout(self) -> Layout_ {
        // SAFETY: the entry is alive (invariant of every `EntryPtr` handed out by a dict).
        unsafe {
            let p = self.0.as_ptr();
            let (key_len, n) = read_varint(p.add(KEYLEN_OFFSET));
            let mut at = KEYLEN_OFFSET + n;
            let ttl_at = if *p.add(TAG_OFFSET) & HAS_TTL != 0 {
                at += TTL_BYTES;
                Some(at - TTL_BYTES)
            } else {
                None
            };
            Layout_ { ttl_at, key_at: at, key_len, payload_at: at + key_len }
        }
    }

    fn alloc_size(self) -> usize {
        let l = self.layout();
        let payload = match self.kind() {
            // SAFETY: the payload of an inline string starts with its varint length.
            Kind::StrInline => unsafe {
                let (len, n) = read_varint(self.0.as_ptr().add(l.payload_at));
                len + n
            },
            _ => 8,
        };
        l.payload_at + payload
    }

    /// The entry's address (DEBUG OBJECT's `Value at:`).
    pub fn as_ptr(self) -> *const u8 {
        self.0.as_ptr()
    }

    pub fn kind(self) -> Kind {
        // SAFETY: live entry.
        Kind::from_tag(unsafe { *self.0.as_ptr().add(TAG_OFFSET) })
    }

    /// The key. The slice lives as long as the entry; callers bound it by the shard borrow.
    pub fn key<'a>(self) -> &'a [u8] {
        self.key_bytes()
    }

    fn key_bytes<'a>(self) -> &'a [u8] {
        let l = self.layout();
        // SAFETY: the key bytes were written at `key_at` by `build` and never move.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(l.key_at), l.key_len) }
    }

    pub fn has_ttl(self) -> bool {
        // SAFETY: live entry.
        unsafe { *self.0.as_ptr().add(TAG_OFFSET) & HAS_TTL != 0 }
    }

    /// The snapshot mark bit (see `snapshot.rs`).
    #[inline]
    pub fn snap_mark(self) -> bool {
        // SAFETY: live entry.
        unsafe { *self.0.as_ptr().add(TAG_OFFSET) & SNAP_MARK != 0 }
    }

    #[inline]
    pub fn set_snap_mark(self, mark: bool) {
        // SAFETY: live entry; the caller holds its shard (or owns its detached dict).
        unsafe {
            let tag = self.0.as_ptr().add(TAG_OFFSET);
            *tag = (*tag & !SNAP_MARK) | if mark { SNAP_MARK } else { 0 };
        }
    }

    /// Absolute expiry time in ms since the epoch, if the key has a TTL.
    pub fn expire_at_ms(self) -> Option<u64> {
        let at = self.layout().ttl_at?;
        // SAFETY: the TTL slot exists when `ttl_at` is Some.
        Some(unsafe { ptr::read_unaligned(self.0.as_ptr().add(at) as *const u64) })
    }

    /// Changes the TTL of an entry that already has one.
    pub fn set_expire_at_ms(self, when: u64) {
        let at = self.layout().ttl_at.expect("set_expire_at_ms on an entry without TTL slot");
        // SAFETY: the slot exists; exclusive access under the shard lock.
        unsafe { ptr::write_unaligned(self.0.as_ptr().add(at) as *mut u64, when) }
    }

    pub(crate) fn volatile_idx(self) -> u32 {
        let at = self.layout().ttl_at.expect("volatile_idx on an entry without TTL");
        // SAFETY: as above.
        unsafe { ptr::read_unaligned(self.0.as_ptr().add(at + 8) as *const u32) }
    }

    pub(crate) fn set_volatile_idx(self, idx: u32) {
        let at = self.layout().ttl_at.expect("volatile_idx on an entry without TTL");
        // SAFETY: as above.
        unsafe { ptr::write_unaligned(self.0.as_ptr().add(at + 8) as *mut u32, idx) }
    }

    pub fn lru(self) -> u32 {
        // SAFETY: live entry.
        unsafe { read_lru(self.0.as_ptr()) }
    }

    pub fn set_lru(self, lru: u32) {
        // SAFETY: live entry, exclusive access.
        unsafe { write_lru(self.0.as_ptr(), lru) }
    }

    /// A view of the value. The borrow is bounded by the caller (the shard borrow).
    pub fn value<'a>(self) -> ValueRef<'a> {
        let at = self.layout().payload_at;
        // SAFETY: the payload was written by `build` according to the kind in the tag.
        unsafe {
            let p = self.0.as_ptr().add(at);
            match self.kind() {
                Kind::StrInline => {
                    let (len, n) = read_varint(p);
                    ValueRef::Str(StrRef::Bytes(std::slice::from_raw_parts(p.add(n), len)))
                }
                Kind::StrInt => ValueRef::Str(StrRef::Int(ptr::read_unaligned(p as *const i64))),
                kind => boxed::view(kind, ptr::read_unaligned(p as *const *mut u8)),
            }
        }
    }

    /// Overwrites the integer of a `StrInt` entry in place.
    pub fn set_int_in_place(self, v: i64) {
        debug_assert_eq!(self.kind(), Kind::StrInt);
        let at = self.layout().payload_at;
        // SAFETY: a StrInt payload is 8 bytes at `payload_at`.
        unsafe { ptr::write_unaligned(self.0.as_ptr().add(at) as *mut i64, v) }
    }

    /// The growable buffer of a `StrHeap` entry.
    pub fn heap_str_mut<'a>(self) -> &'a mut Vec<u8> {
        debug_assert_eq!(self.kind(), Kind::StrHeap);
        let at = self.layout().payload_at;
        // SAFETY: a StrHeap payload is a pointer from `Box::into_raw`, owned by this entry.
        unsafe { boxed::heap_str(ptr::read_unaligned(self.0.as_ptr().add(at) as *const *mut u8)) }
    }

    /// Frees the entry and returns its value.
    ///
    /// # Safety
    /// The entry must be unlinked from every structure and never used again.
    pub unsafe fn into_value(self) -> Value {
        let payload = self.take_payload();
        self.dealloc();
        payload.into_value()
    }

    /// Frees the entry and its value.
    ///
    /// # Safety
    /// As for [`EntryPtr::into_value`].
    pub unsafe fn free(self) {
        drop(self.take_payload().into_value());
        self.dealloc();
    }

    /// Whether the value is stored by pointer (everything but short strings and integers);
    /// such values can be swapped in place with [`EntryPtr::take_value`] and
    /// [`EntryPtr::put_value`].
    pub fn is_by_pointer(self) -> bool {
        !matches!(self.kind(), Kind::StrInline | Kind::StrInt)
    }

    /// Moves a by-pointer value out of the entry. Until [`EntryPtr::put_value`] is called the
    /// entry must not be read, freed or rebuilt.
    ///
    /// # Safety
    /// `self.is_by_pointer()` must hold; see above.
    pub unsafe fn take_value(self) -> Value {
        debug_assert!(self.is_by_pointer());
        self.take_payload().into_value()
    }

    /// Puts back a value taken with [`EntryPtr::take_value`], possibly changed (another
    /// encoding or type), if it is stored by pointer; otherwise gives it back and the caller
    /// must rebuild the entry.
    ///
    /// # Safety
    /// The entry's payload must currently be taken.
    pub unsafe fn put_value(self, v: Value) -> Result<(), Value> {
        let (kind, raw) = boxed::into_raw(v)?;
        let at = self.layout().payload_at;
        let tag = self.0.as_ptr().add(TAG_OFFSET);
        *tag = (*tag & !KIND_MASK) | kind as u8;
        ptr::write_unaligned(self.0.as_ptr().add(at) as *mut *mut u8, raw);
        Ok(())
    }

    /// Builds a new entry with the same key and value but a different TTL presence, frees
    /// this one and returns the new one. The new entry takes over the chain link (`next`) so
    /// that the dict can put it where the old one was.
    ///
    /// # Safety
    /// As for [`EntryPtr::into_value`]: the old pointer is dead afterwards.
    pub unsafe fn rebuild_with_ttl(self, expire_at_ms: Option<u64>) -> EntryPtr {
        let payload = self.take_payload();
        let fresh = Self::build(self.key(), payload, expire_at_ms, self.lru());
        fresh.set_snap_mark(self.snap_mark());
        fresh.set_next(self.next());
        self.dealloc();
        fresh
    }

    /// Builds a new entry with the same key and TTL but a new value, frees this one (dropping
    /// its old value) and returns the new one. The volatile index and the chain link are
    /// carried over.
    ///
    /// # Safety
    /// As for [`EntryPtr::into_value`].
    pub unsafe fn rebuild_with_value(self, value: Value, lru: u32) -> EntryPtr {
        let ttl = self.expire_at_ms();
        let fresh = Self::build(self.key(), Payload::from_value(value), ttl, lru);
        fresh.set_snap_mark(self.snap_mark());
        if ttl.is_some() {
            fresh.set_volatile_idx(self.volatile_idx());
        }
        fresh.set_next(self.next());
        self.free();
        fresh
    }

    /// Moves the payload out; the entry memory must then be deallocated without dropping it.
    unsafe fn take_payload(self) -> Payload {
        let at = self.layout().payload_at;
        let p = self.0.as_ptr().add(at);
        match self.kind() {
            Kind::StrInline => {
                let (len, n) = read_varint(p);
                Payload::Inline(std::slice::from_raw_parts(p.add(n), len).to_vec())
            }
            Kind::StrInt => Payload::Int(ptr::read_unaligned(p as *const i64)),
            kind => Payload::Ptr(kind, ptr::read_unaligned(p as *const *mut u8)),
        }
    }

    unsafe fn dealloc(self) {
        let size = self.alloc_size();
        dealloc(self.0.as_ptr(), Layout::from_size_align_unchecked(size, ALIGN));
    }

    /// Bytes of heap this entry accounts for (the entry block plus owned buffers), used by
    /// MEMORY USAGE and eviction.
    pub fn heap_bytes(self) -> usize {
        let own = self.alloc_size();
        match self.value() {
            ValueRef::Str(_) if self.kind() == Kind::StrHeap => {
                own + std::mem::size_of::<Vec<u8>>() + self.heap_str_mut().capacity()
            }
            ValueRef::Str(_) => own,
            ValueRef::Hash(h) => own + h.heap_bytes(),
            ValueRef::Set(s) => own + s.heap_bytes(),
            ValueRef::ZSet(z) => own + z.heap_bytes(),
            ValueRef::List(l) => own + l.heap_bytes(),
            ValueRef::Stream(s) => own + s.heap_bytes(),
        }
    }
}

// SAFETY: an entry starts with its 8-byte aligned `next` link (offset 0, ALIGN 8) and its key
// lives as long as the entry.
unsafe impl Chained for EntryPtr {
    fn as_raw(self) -> *mut u8 {
        self.0.as_ptr()
    }

    unsafe fn from_raw(p: *mut u8) -> EntryPtr {
        EntryPtr(NonNull::new_unchecked(p))
    }

    fn key<'a>(self) -> &'a [u8] {
        self.key_bytes()
    }

    unsafe fn free(self) {
        EntryPtr::free(self)
    }
}

unsafe fn read_lru(p: *const u8) -> u32 {
    let b = std::slice::from_raw_parts(p.add(LRU_OFFSET), 3);
    u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16
}

unsafe fn write_lru(p: *mut u8, lru: u32) {
    *p.add(LRU_OFFSET) = lru as u8;
    *p.add(LRU_OFFSET + 1) = (lru >> 8) as u8;
    *p.add(LRU_OFFSET + 2) = (lru >> 16) as u8;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrips_every_kind_with_and_without_ttl() {
        let big = vec![7u8; 1000];
        for value in [Value::Str(b"hello".to_vec()), Value::Int(-42), Value::Str(big.clone()), Value::Str(vec![])] {
            for ttl in [None, Some(1_700_000_000_123u64)] {
                let key = b"some:key".to_vec();
                let e = EntryPtr::new(&key, value.clone(), ttl, 0xabcdef);
                assert_eq!(e.key(), &key[..]);
                assert_eq!(e.expire_at_ms(), ttl);
                assert_eq!(e.lru(), 0xabcdef);
                assert!(e.next().is_null());
                assert_eq!(e.value().as_str(), value.as_ref().as_str());
                // SAFETY: `e` is not linked anywhere and not used after.
                let back = unsafe { e.into_value() };
                assert_eq!(back.as_ref().as_str(), value.as_ref().as_str());
            }
        }
    }

    #[test]
    fn rebuild_keeps_key_value_and_changes_ttl() {
        let e = EntryPtr::new(b"k", Value::Str(b"v".to_vec()), None, 5);
        // SAFETY: the old pointer is not used after each rebuild.
        let e = unsafe { e.rebuild_with_ttl(Some(99)) };
        assert_eq!(e.expire_at_ms(), Some(99));
        e.set_volatile_idx(17);
        e.set_expire_at_ms(100);
        assert_eq!((e.expire_at_ms(), e.volatile_idx()), (Some(100), 17));
        let e = unsafe { e.rebuild_with_value(Value::Int(3), 6) };
        assert_eq!((e.volatile_idx(), e.lru(), e.value().as_str()), (17, 6, Some(StrRef::Int(3))));
        let e = unsafe { e.rebuild_with_ttl(None) };
        assert_eq!((e.key(), e.expire_at_ms()), (&b"k"[..], None));
        unsafe { e.free() };
    }

    #[test]
    fn in_place_mutation() {
        let e = EntryPtr::new(b"n", Value::Int(1), None, 0);
        e.set_int_in_place(i64::MIN);
        assert_eq!(e.value().as_str(), Some(StrRef::Int(i64::MIN)));
        unsafe { e.free() };
        let e = EntryPtr::new(b"s", Value::Str(vec![1; 100]), None, 0);
        e.heap_str_mut().extend_from_slice(b"xyz");
        match e.value() {
            ValueRef::Str(StrRef::Bytes(b)) => assert_eq!(b.len(), 103),
            other => panic!("not a string: {}", other.type_name()),
        }
        unsafe { e.free() };
    }

    #[test]
    fn collections_are_stored_by_pointer_and_swapped_in_place() {
        use crate::types::hash::{Hash, HashLimits};
        use crate::types::set::{Set, SetLimits};
        let limits = HashLimits { max_entries: 2, max_value: 64 };
        let mut h = Hash::default();
        h.set(b"f", b"v", limits);
        let e = EntryPtr::new(b"h", Value::Hash(h), Some(5), 0);
        assert!(e.is_by_pointer());
        match e.value() {
            ValueRef::Hash(r) => {
                assert_eq!((r.encoding(), r.get(b"f").map(|v| v.to_vec())), ("listpack", Some(b"v".to_vec())))
            }
            other => panic!("{}", other.type_name()),
        }
        // SAFETY: taken and put back before any other access.
        let mut v = unsafe { e.take_value() };
        if let Value::Hash(h) = &mut v {
            h.set(b"g", b"1", limits);
            h.set(b"x", b"2", limits);
            assert_eq!(h.encoding(), "hashtable");
        }
        unsafe { e.put_value(v) }.unwrap();
        match e.value() {
            ValueRef::Hash(r) => assert_eq!((r.encoding(), r.len()), ("hashtable", 3)),
            other => panic!("{}", other.type_name()),
        }
        assert_eq!(e.expire_at_ms(), Some(5));
        // A set replacing the hash in place (what SET would never do, but the slot allows it).
        let sl = SetLimits { max_intset_entries: 10, max_listpack_entries: 10, max_listpack_value: 10 };
        let old = unsafe { e.take_value() };
        drop(old);
        unsafe { e.put_value(Value::Set(Set::from_members(&[b"1".to_vec(), b"2".to_vec()], sl))) }.unwrap();
        match e.value() {
            ValueRef::Set(s) => assert_eq!((s.encoding(), s.len()), ("intset", 2)),
            other => panic!("{}", other.type_name()),
        }
        assert!(unsafe { e.take_value() }.type_name() == "set");
        // Short strings are not stored by pointer: put_value hands them back.
        assert!(unsafe { e.put_value(Value::Int(1)) }.is_err());
        unsafe { e.put_value(Value::Set(Set::from_members(&[b"a".to_vec()], sl))) }.unwrap();
        unsafe { e.free() };
    }

    #[test]
    fn a_typical_cache_entry_fits_in_64_bytes() {
        let e = EntryPtr::new(&[b'k'; 16], Value::Str(vec![b'v'; 32]), None, 0);
        assert!(e.alloc_size() <= 64, "{}", e.alloc_size());
        unsafe { e.free() };
    }

    #[test]
    fn long_keys_use_multi_byte_lengths() {
        let key = vec![b'x'; 300_000];
        let e = EntryPtr::new(&key, Value::Str(vec![b'y'; 60]), Some(1), 0);
        assert_eq!(e.key(), &key[..]);
        assert_eq!(e.expire_at_ms(), Some(1));
        unsafe { e.free() };
    }
}
