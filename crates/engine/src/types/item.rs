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
use crate::keyspace::entry::{read_varint, varint_len, write_varint};
use std::alloc::{alloc, dealloc, Layout};
use std::ptr::{self, NonNull};

const ALIGN: usize = 8;
const LINK: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item(NonNull<u8>);

// SAFETY: an item is plain owned memory; its owner (a collection inside a locked shard)
// serializes access.
unsafe impl Send for Item {}

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
            let body = p.as_ptr().add(LINK);
            let mut at = write_varint(body, key.len());
            ptr::copy_nonoverlapping(key.as_ptr(), body.add(at), key.len());
            at += key.len();
            at += write_varint(body.add(at), value.len());
            ptr::copy_nonoverlapping(value.as_ptr(), body.add(at), value.len());
            Item(p)
        }
    }

    /// The bytes after the link; the slice is valid while the item lives.
    fn body<'a>(self) -> &'a [u8] {
        // SAFETY: a live item's body is `size - LINK` bytes; we recompute its length from the
        // varints that were written at construction.
        unsafe {
            let p = self.0.as_ptr().add(LINK);
            let (klen, n) = read_varint(p);
            let (vlen, m) = read_varint(p.add(n + klen));
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
            let (klen, n) = read_varint(p);
            std::slice::from_raw_parts(p.add(n), klen)
        }
    }

    pub fn value<'a>(self) -> &'a [u8] {
        // SAFETY: as in `key`; the value's length follows the key, then the value.
        unsafe {
            let p = self.0.as_ptr().add(LINK);
            let (klen, n) = read_varint(p);
            let v = p.add(n + klen);
            let (vlen, m) = read_varint(v);
            std::slice::from_raw_parts(v.add(m), vlen)
        }
    }

    /// Rewrites the value in place. `value` must be exactly as long as the current value (a
    /// sorted set's 8-byte score); anything else is refused (no change).
    pub fn overwrite_value(self, value: &[u8]) {
        let body = self.body();
        // SAFETY: the body is key length varint, key, value length varint, value.
        let (klen, n) = unsafe { read_varint(body.as_ptr()) };
        let (vlen, m) = unsafe { read_varint(body.as_ptr().add(n + klen)) };
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
