//! Quicklist nodes and the rules on their size: the node limits that `fill` sets, which
//! elements are too large for a listpack node, when a node may take one more element or be
//! merged with a neighbour, and LZF compression of a node. Also the listpack surgery the
//! quicklist needs (splitting and joining listpacks while keeping each element's encoding).

use crate::rdb::lzf;
use crate::types::listpack::{self, LpValue};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Largest multi-element node when the fill is a count (Valkey's `SIZE_SAFETY_LIMIT`).
pub const SIZE_SAFETY_LIMIT: usize = 8192;
/// Bytes assumed per added element on top of its length when checking whether it fits.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// Smaller nodes are never compressed.
pub(super) const MIN_COMPRESS_BYTES: usize = 48;
/// Compression must save more than this many bytes to be kept.
const MIN_COMPRESS_IMPROVE: usize = 8;
/// Node size limits for fill -1..-5.
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Range of a quicklist's own fill and depth (16-bit fields in Valkey).
pub(super) const FILL_MAX: i64 = (1 << 15) - 1;
pub(super) const DEPTH_MAX: u64 = (1 << 16) - 1;
const LP_EOF: u8 = 0xFF;

/// Elements of at least this many bytes go into plain nodes whatever the fill; 0 = off.
/// Set only by DEBUG QUICKLIST-PACKED-THRESHOLD, for tests (a server-wide setting in Valkey).
static PACKED_THRESHOLD: AtomicUsize = AtomicUsize::new(0);

/// Sets the packed threshold (0 turns it off). Refuses values at or above 4 GiB - 1 MiB, as
/// Valkey does.
pub fn set_packed_threshold(bytes: u64) -> bool {
    if bytes > (1u64 << 32) - (1 << 20) {
        return false;
    }
    PACKED_THRESHOLD.store(bytes as usize, Relaxed);
    true
}

/// The size limit of a node for a negative fill (out-of-range fills clamp to -5).
fn negative_fill_limit(fill: i64) -> usize {
    let level = (fill.unsigned_abs() - 1).min(OPTIMIZATION_LEVEL.len() as u64 - 1);
    OPTIMIZATION_LEVEL[level as usize]
}

/// The limits a node (or a listpack-encoded list) must respect for `fill`: a byte size, or an
/// element count (0 counts as 1). `None` is "no limit of that kind".
pub fn node_limit(fill: i64) -> (Option<usize>, Option<u64>) {
    if fill >= 0 {
        (None, Some(fill.max(1) as u64))
    } else {
        (Some(negative_fill_limit(fill)), None)
    }
}

/// Whether a node of `size` bytes and `count` elements would break the limits of `fill`.
pub fn exceeds_limit(fill: i64, size: usize, count: u64) -> bool {
    match node_limit(fill) {
        (Some(max_size), _) => size > max_size,
        (None, Some(max_count)) => size > SIZE_SAFETY_LIMIT || count > max_count,
        (None, None) => false,
    }
}

/// Whether an element of `size` bytes must live alone in a plain node.
pub(super) fn is_large(size: usize, fill: i64) -> bool {
    let threshold = PACKED_THRESHOLD.load(Relaxed);
    if threshold != 0 {
        size >= threshold
    } else if fill >= 0 {
        size > SIZE_SAFETY_LIMIT
    } else {
        size > negative_fill_limit(fill)
    }
}

/// A listpack built from the raw bytes of consecutive encoded elements (entry bytes, backlens
/// included), which keeps every element's encoding exactly as it was.
pub(super) fn listpack_of_entries(entries: &[&[u8]], count: usize) -> Vec<u8> {
    let body: usize = entries.iter().map(|e| e.len()).sum();
    let total = listpack::HEADER_SIZE + body + 1;
    let mut lp = Vec::with_capacity(total);
    lp.extend_from_slice(&(total as u32).to_le_bytes());
    lp.extend_from_slice(&(count.min(u16::MAX as usize) as u16).to_le_bytes());
    for e in entries {
        lp.extend_from_slice(e);
    }
    lp.push(LP_EOF);
    lp
}

/// The entry bytes of a listpack (between the header and the EOF byte).
pub(super) fn entries_of(lp: &[u8]) -> &[u8] {
    &lp[listpack::HEADER_SIZE..lp.len() - 1]
}

/// Byte offset of element `offset` (0-based) in `lp`, or of the EOF byte past the last one.
pub(super) fn position_of(lp: &[u8], offset: usize) -> usize {
    listpack::seek(lp, offset as i64).unwrap_or_else(|| listpack::end(lp))
}

/// Calls `f` on the elements of `lp` from element `offset` (all of them when `None`) towards
/// its end, or towards its start when `reverse`.
pub(super) fn walk_listpack(
    lp: &[u8],
    offset: Option<usize>,
    reverse: bool,
    f: &mut impl FnMut(LpValue<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    match (offset, reverse) {
        (None, false) => listpack::iter(lp).try_for_each(|(_, v)| f(v)),
        (None, true) => listpack::iter_rev(lp).try_for_each(|(_, v)| f(v)),
        (Some(o), false) => listpack::iter_from(lp, position_of(lp, o)).try_for_each(|(_, v)| f(v)),
        (Some(o), true) => listpack::iter_rev_from(lp, position_of(lp, o)).try_for_each(|(_, v)| f(v)),
    }
}

/// One node. `data` holds the listpack (packed), the element (plain), or the LZF form of
/// either (compressed).
#[derive(Clone, Debug)]
pub(super) struct Node {
    pub(super) data: Vec<u8>,
    /// Uncompressed size in bytes (Valkey's `sz`).
    pub(super) size: usize,
    pub(super) count: usize,
    pub(super) plain: bool,
    pub(super) compressed: bool,
}

impl Node {
    pub(super) fn packed(lp: Vec<u8>, count: usize) -> Node {
        Node { size: lp.len(), data: lp, count, plain: false, compressed: false }
    }

    pub(super) fn plain(bytes: Vec<u8>) -> Node {
        Node { size: bytes.len(), data: bytes, count: 1, plain: true, compressed: false }
    }

    /// A packed node holding `v` alone.
    pub(super) fn single(v: &[u8]) -> Node {
        let mut lp = listpack::new();
        listpack::push_back(&mut lp, v);
        Node::packed(lp, 1)
    }

    /// The uncompressed bytes, decompressed into `scratch` when needed.
    pub(super) fn raw<'a>(&'a self, scratch: &'a mut Vec<u8>) -> &'a [u8] {
        if self.compressed {
            *scratch = lzf::decompress(&self.data, self.size).expect("a node we compressed decompresses");
            scratch
        } else {
            &self.data
        }
    }

    pub(super) fn decompress(&mut self) {
        if self.compressed {
            self.data = lzf::decompress(&self.data, self.size).expect("a node we compressed decompresses");
            self.compressed = false;
        }
    }

    pub(super) fn compress(&mut self) {
        if self.compressed || self.size < MIN_COMPRESS_BYTES {
            return;
        }
        if let Some(packed) = lzf::compress(&self.data, self.size) {
            if packed.len() + MIN_COMPRESS_IMPROVE < self.size {
                // The compressor's buffer has room for the whole input.
                let mut packed = packed;
                packed.shrink_to_fit();
                self.data = packed;
                self.compressed = true;
            }
        }
    }

    /// The listpack of a packed node, decompressed for modification.
    pub(super) fn lp_mut(&mut self) -> &mut Vec<u8> {
        debug_assert!(!self.plain);
        self.decompress();
        &mut self.data
    }

    /// Re-reads the size after the listpack changed.
    pub(super) fn resized(&mut self) {
        debug_assert!(!self.compressed);
        self.size = self.data.len();
    }

    /// Whether `size` more bytes fit as one more element (Valkey's `_quicklistNodeAllowInsert`).
    pub(super) fn allows_insert(&self, fill: i64, size: usize) -> bool {
        if self.plain || is_large(size, fill) {
            return false;
        }
        let new_size = self.size + size + SIZE_ESTIMATE_OVERHEAD;
        !exceeds_limit(fill, new_size, self.count as u64 + 1)
    }
}

pub(super) fn allows_insert(node: Option<&Node>, fill: i64, size: usize) -> bool {
    node.is_some_and(|n| n.allows_insert(fill, size))
}

/// Whether two nodes may become one (Valkey's `_quicklistNodeAllowMerge`).
pub(super) fn allows_merge(a: Option<&Node>, b: Option<&Node>, fill: i64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) if !a.plain && !b.plain => {
            // One header and EOF byte fewer than the two apart.
            let merged = (a.size + b.size).saturating_sub(listpack::HEADER_SIZE + 1);
            !exceeds_limit(fill, merged, (a.count + b.count) as u64)
        }
        _ => false,
    }
}

/// What a node looks like from outside (RDB, DEBUG, tests).
#[derive(Clone, Copy, Debug)]
pub struct NodeView<'a> {
    /// A single element as raw bytes rather than a listpack.
    pub plain: bool,
    /// `data` is LZF-compressed; `size` is its uncompressed length.
    pub compressed: bool,
    /// Compressed only to save memory (the list's `list-compress-depth` is 0): Valkey would
    /// hold this node raw, so RDB and DUMP must not show the compression where it shows.
    pub cold: bool,
    pub data: &'a [u8],
    pub size: usize,
    pub count: usize,
}
