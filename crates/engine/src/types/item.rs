//! A member of a big hash, set or sorted set: its name and value packed into one allocation
//! that a [`Dict`](crate::keyspace::dict::Dict) can chain.
//!
//! ```text
//! | next (8) | key_len (varint) | key | value_len (varint) | value |
//! ```
//!
//! Sets use an empty value; sorted sets store the score's 8 bytes. One allocation per member
//! and one bucket pointer is all a member of a big collection costs beyond its bytes.

use crate::keyspace::dict::Chained;
use std::alloc::{alloc, dealloc, Layout};
use std::ptr::{self, NonNull};

const ALIGN: usize = 8;
const LINK: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item(NonNull<u8>);

// SAFETY: an item is plain owned memory; its owner (a collection inside a locked shard)
// serializes access.
unsafe impl Send for Item {}

fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn write_varint(out: &mut [u8], mut v: usize) -> usize {
    let mut i = 0;
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out[i] = b;
            return i + 1;
        }
        out[i] = b | 0x80;
        i += 1;
    }
}

fn read_varint(buf: &[u8]) -> (usize, usize) {
    let mut v = 0usize;
    let mut shift = 0;
    for (i, &b) in buf.iter().enumerate() {
        v |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return (v, i + 1);
        }
        shift += 7;
    }
    unreachable!("unterminated varint in an item")
}

/// Reads a varint through a raw pointer, one byte at a time (never past its end).
///
/// # Safety
/// `p` must point at a varint written by `write_varint` inside a live allocation.
unsafe fn read_varint_raw(p: *const u8) -> (usize, usize) {
    let mut v = 0usize;
    let mut shift = 0;
    let mut i = 0;
    loop {
        let b = *p.add(i);
        v |= usize::from(b & 0x7f) << shift;
        i += 1;
        if b & 0x80 == 0 {
            return (v, i);
        }
        shift += 7;
    }
}

impl Item {
    pub fn new(key: &[u8], value: &[u8]) -> Item {
        let size = LINK + varint_len(key.len()) + key.len() + varint_len(value.len()) + value.len();
        let layout = Layout::from_size_align(size, ALIGN).expect("item size overflow");
        // SAFETY: `size` > 0; all writes below stay within the `size` bytes computed from the
        // same lengths.
        unsafe {
            let p = alloc(layout);
            let Some(p) = NonNull::new(p) else { std::alloc::handle_alloc_error(layout) };
            ptr::write(p.as_ptr() as *mut *mut u8, ptr::null_mut());
            let body = std::slice::from_raw_parts_mut(p.as_ptr().add(LINK), size - LINK);
            let mut at = write_varint(body, key.len());
            body[at..at + key.len()].copy_from_slice(key);
            at += key.len();
            at += write_varint(&mut body[at..], value.len());
            body[at..at + value.len()].copy_from_slice(value);
            Item(p)
        }
    }

    /// The bytes after the link; the slice is valid while the item lives.
    fn body<'a>(self) -> &'a [u8] {
        // SAFETY: a live item's body is `size - LINK` bytes; we recompute its length from the
        // varints that were written at construction.
        unsafe {
            let p = self.0.as_ptr().add(LINK);
            let (klen, n) = read_varint_raw(p);
            let (vlen, m) = read_varint_raw(p.add(n + klen));
            std::slice::from_raw_parts(p, n + klen + m + vlen)
        }
    }

    fn size(self) -> usize {
        LINK + self.body().len()
    }

    pub fn key<'a>(self) -> &'a [u8] {
        // SAFETY: a live item has the key's length right after the link, then the key (the
        // layout written by `new`). One varint read: this is on every dict probe.
        unsafe {
            let p = self.0.as_ptr().add(LINK);
            let (klen, n) = read_varint_raw(p);
            std::slice::from_raw_parts(p.add(n), klen)
        }
    }

    pub fn value<'a>(self) -> &'a [u8] {
        // SAFETY: as in `key`; the value's length follows the key, then the value.
        unsafe {
            let p = self.0.as_ptr().add(LINK);
            let (klen, n) = read_varint_raw(p);
            let v = p.add(n + klen);
            let (vlen, m) = read_varint_raw(v);
            std::slice::from_raw_parts(v.add(m), vlen)
        }
    }

    /// Rewrites the value in place. `value` must be exactly as long as the current value (a
    /// sorted set's 8-byte score); anything else is refused (no change).
    pub fn overwrite_value(self, value: &[u8]) {
        let body = self.body();
        let (klen, n) = read_varint(body);
        let (vlen, m) = read_varint(&body[n + klen..]);
        if vlen != value.len() {
            debug_assert!(false, "overwrite_value with another length");
            return;
        }
        let at = LINK + n + klen + m;
        // SAFETY: the value bytes are `vlen` bytes at offset `at` of this live allocation (the
        // layout written by `new`); the write goes through the allocation's own pointer and
        // no reference into the item is held across it (callers hold no `key`/`value` slice).
        unsafe { ptr::copy_nonoverlapping(value.as_ptr(), self.0.as_ptr().add(at), vlen) }
    }

    /// Heap bytes this item uses.
    pub fn heap_bytes(self) -> usize {
        self.size()
    }

    /// A new item with the same key and `value`, carrying over the chain link; frees this one.
    ///
    /// # Safety
    /// `self` must not be used afterwards.
    pub unsafe fn with_value(self, value: &[u8]) -> Item {
        let fresh = Item::new(self.key(), value);
        fresh.set_next(self.next());
        self.free_item();
        fresh
    }

    /// # Safety
    /// The item must be linked nowhere and never used again.
    pub unsafe fn free_item(self) {
        let size = self.size();
        dealloc(self.0.as_ptr(), Layout::from_size_align_unchecked(size, ALIGN));
    }
}

// SAFETY: an item starts with its 8-byte aligned link; `key` is valid while it lives.
unsafe impl Chained for Item {
    fn as_raw(self) -> *mut u8 {
        self.0.as_ptr()
    }

    unsafe fn from_raw(p: *mut u8) -> Item {
        Item(NonNull::new_unchecked(p))
    }

    fn key<'a>(self) -> &'a [u8] {
        Item::key(self)
    }

    unsafe fn free(self) {
        self.free_item()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_value_roundtrip() {
        for (k, v) in [(&b""[..], &b""[..]), (b"field", b"value"), (&[7u8; 300][..], &[9u8; 20000][..])] {
            let it = Item::new(k, v);
            assert_eq!(it.key(), k);
            assert_eq!(it.value(), v);
            assert!(it.next().is_null());
            // SAFETY: not linked anywhere.
            let it2 = unsafe { it.with_value(b"new") };
            assert_eq!((it2.key(), it2.value()), (k, &b"new"[..]));
            it2.overwrite_value(b"NEW");
            assert_eq!((it2.key(), it2.value()), (k, &b"NEW"[..]));
            unsafe { it2.free_item() };
        }
    }
}
