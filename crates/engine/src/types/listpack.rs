//! Listpack: Valkey's compact serialization of a list of strings and integers, byte for byte.
//!
//! Small hashes, sets, sorted sets and lists (and the nodes of big lists) are stored as
//! listpacks, as in Valkey. Using the exact format means a small collection costs what it costs
//! in Valkey, and saving it to RDB or DUMP is a copy, not a conversion.
//!
//! ```text
//! | total_bytes: u32 LE | num_elements: u16 LE | entry ... | 0xFF |
//! entry = encoding+data | backlen (1..5 bytes, read right to left)
//! ```
//!
//! Integers in canonical form are stored in the smallest of seven integer encodings; other
//! strings with a 6-, 12- or 32-bit length. `backlen` holds the size of encoding+data so the
//! list can be walked backwards. All functions here are safe code over `Vec<u8>`/`&[u8]`; a
//! buffer from outside (RDB, RESTORE) must pass [`validate`] before any other function sees it.

/// Header: total bytes (u32) + element count (u16).
pub const HEADER_SIZE: usize = 6;
const EOF: u8 = 0xFF;
/// The count field's "too many to count here" value.
const COUNT_UNKNOWN: u16 = u16::MAX;
/// Largest listpack we create (Valkey's `LISTPACK_MAX_SAFETY_SIZE`).
pub const MAX_SAFE_SIZE: usize = 1 << 30;

/// One element as stored: a string or an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LpValue<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl LpValue<'_> {
    /// Appends the string form.
    pub fn push_to(&self, out: &mut Vec<u8>) {
        match self {
            LpValue::Str(s) => out.extend_from_slice(s),
            LpValue::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.push_to(&mut v);
        v
    }

    /// Whether the string form equals `s`.
    pub fn eq_bytes(&self, s: &[u8]) -> bool {
        match self {
            LpValue::Str(x) => *x == s,
            LpValue::Int(i) => itoa::Buffer::new().format(*i).as_bytes() == s,
        }
    }

    /// Calls `f` with the string form without allocating.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            LpValue::Str(s) => f(s),
            LpValue::Int(i) => f(itoa::Buffer::new().format(*i).as_bytes()),
        }
    }

    /// The integer value, if the element is an integer or a string holding one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            LpValue::Int(i) => Some(*i),
            LpValue::Str(s) => resp::number::parse_i64(s),
        }
    }
}

/// An element to store, already classified.
#[derive(Clone, Copy, Debug)]
enum Encoded<'a> {
    Int(i64),
    Str(&'a [u8]),
}

fn classify(v: &[u8]) -> Encoded<'_> {
    if v.len() <= 20 {
        if let Some(i) = resp::number::parse_i64(v) {
            return Encoded::Int(i);
        }
    }
    Encoded::Str(v)
}

/// Size of encoding+data for an element.
fn encoded_len(e: Encoded) -> usize {
    match e {
        Encoded::Int(i) => match i {
            0..=127 => 1,
            -4096..=4095 => 2,
            -32768..=32767 => 3,
            -8_388_608..=8_388_607 => 4,
            -2_147_483_648..=2_147_483_647 => 5,
            _ => 9,
        },
        Encoded::Str(s) if s.len() < 64 => 1 + s.len(),
        Encoded::Str(s) if s.len() < 4096 => 2 + s.len(),
        Encoded::Str(s) => 5 + s.len(),
    }
}

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

fn write_element(out: &mut Vec<u8>, e: Encoded) {
    match e {
        Encoded::Int(i) => match i {
            0..=127 => out.push(i as u8),
            -4096..=4095 => {
                let v = (i as u64) & 0x1FFF;
                out.push(0xC0 | (v >> 8) as u8);
                out.push(v as u8);
            }
            -32768..=32767 => {
                out.push(0xF1);
                out.extend_from_slice(&(i as i16).to_le_bytes());
            }
            -8_388_608..=8_388_607 => {
                out.push(0xF2);
                out.extend_from_slice(&(i as i32).to_le_bytes()[..3]);
            }
            -2_147_483_648..=2_147_483_647 => {
                out.push(0xF3);
                out.extend_from_slice(&(i as i32).to_le_bytes());
            }
            _ => {
                out.push(0xF4);
                out.extend_from_slice(&i.to_le_bytes());
            }
        },
        Encoded::Str(s) => {
            if s.len() < 64 {
                out.push(0x80 | s.len() as u8);
            } else if s.len() < 4096 {
                out.push(0xE0 | (s.len() >> 8) as u8);
                out.push(s.len() as u8);
            } else {
                out.push(0xF0);
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            }
            out.extend_from_slice(s);
        }
    }
    let l = encoded_len(e);
    write_backlen(out, l);
}

fn write_backlen(out: &mut Vec<u8>, l: usize) {
    let l = l as u64;
    match backlen_size(l as usize) {
        1 => out.push(l as u8),
        2 => out.extend_from_slice(&[(l >> 7) as u8, (l & 127) as u8 | 128]),
        3 => out.extend_from_slice(&[(l >> 14) as u8, ((l >> 7) & 127) as u8 | 128, (l & 127) as u8 | 128]),
        4 => out.extend_from_slice(&[
            (l >> 21) as u8,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]),
        _ => out.extend_from_slice(&[
            (l >> 28) as u8,
            ((l >> 21) & 127) as u8 | 128,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]),
    }
}

/// Bytes one element of string form `v` occupies (encoding, data and backlen).
pub fn element_size(v: &[u8]) -> usize {
    let l = encoded_len(classify(v));
    l + backlen_size(l)
}

/// A new empty listpack.
pub fn new() -> Vec<u8> {
    let mut lp = Vec::with_capacity(HEADER_SIZE + 1);
    lp.extend_from_slice(&(HEADER_SIZE as u32 + 1).to_le_bytes());
    lp.extend_from_slice(&0u16.to_le_bytes());
    lp.push(EOF);
    lp
}

pub fn total_bytes(lp: &[u8]) -> usize {
    u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize
}

/// Number of elements.
pub fn len(lp: &[u8]) -> usize {
    let n = u16::from_le_bytes([lp[4], lp[5]]);
    if n != COUNT_UNKNOWN {
        return n as usize;
    }
    iter(lp).count()
}

pub fn is_empty(lp: &[u8]) -> bool {
    lp[HEADER_SIZE] == EOF
}

fn set_header(lp: &mut [u8], count: usize) {
    let total = lp.len() as u32;
    lp[..4].copy_from_slice(&total.to_le_bytes());
    let n = if count < COUNT_UNKNOWN as usize { count as u16 } else { COUNT_UNKNOWN };
    lp[4..6].copy_from_slice(&n.to_le_bytes());
}

/// Size of the encoding+data part of the element at `pos`.
fn entry_len(lp: &[u8], pos: usize) -> usize {
    let b = lp[pos];
    if b & 0x80 == 0 {
        1
    } else if b & 0xC0 == 0x80 {
        1 + (b & 0x3F) as usize
    } else if b & 0xE0 == 0xC0 {
        2
    } else if b & 0xF0 == 0xE0 {
        2 + (((b & 0x0F) as usize) << 8 | lp[pos + 1] as usize)
    } else {
        match b {
            0xF1 => 3,
            0xF2 => 4,
            0xF3 => 5,
            0xF4 => 9,
            0xF0 => 5 + u32::from_le_bytes([lp[pos + 1], lp[pos + 2], lp[pos + 3], lp[pos + 4]]) as usize,
            _ => unreachable!("invalid listpack encoding byte {b:#x} (unvalidated listpack)"),
        }
    }
}

/// Offset of the element after the one at `pos` (may be the EOF byte).
pub fn next(lp: &[u8], pos: usize) -> usize {
    let l = entry_len(lp, pos);
    pos + l + backlen_size(l)
}

/// Offset of the element before the one at `pos` (`pos` may be the EOF offset); `None` at
/// the first element.
pub fn prev(lp: &[u8], pos: usize) -> Option<usize> {
    if pos <= HEADER_SIZE {
        return None;
    }
    let mut p = pos - 1;
    let mut val: usize = 0;
    let mut shift = 0;
    loop {
        val |= ((lp[p] & 127) as usize) << shift;
        if lp[p] & 128 == 0 {
            break;
        }
        shift += 7;
        p -= 1;
    }
    Some(pos - backlen_size(val) - val)
}

/// Offset of the first element, if any.
pub fn first(lp: &[u8]) -> Option<usize> {
    (lp[HEADER_SIZE] != EOF).then_some(HEADER_SIZE)
}

/// Offset of the last element, if any.
pub fn last(lp: &[u8]) -> Option<usize> {
    prev(lp, lp.len() - 1)
}

/// Offset of the EOF byte.
pub fn end(lp: &[u8]) -> usize {
    lp.len() - 1
}

pub fn is_end(lp: &[u8], pos: usize) -> bool {
    lp[pos] == EOF
}

/// The element at `pos`.
pub fn get(lp: &[u8], pos: usize) -> LpValue<'_> {
    let b = lp[pos];
    if b & 0x80 == 0 {
        return LpValue::Int(i64::from(b & 0x7F));
    }
    if b & 0xC0 == 0x80 {
        let l = (b & 0x3F) as usize;
        return LpValue::Str(&lp[pos + 1..pos + 1 + l]);
    }
    if b & 0xE0 == 0xC0 {
        let v = (((b & 0x1F) as u64) << 8) | lp[pos + 1] as u64;
        let v = if v >= 1 << 12 { v as i64 - (1 << 13) } else { v as i64 };
        return LpValue::Int(v);
    }
    if b & 0xF0 == 0xE0 {
        let l = ((b & 0x0F) as usize) << 8 | lp[pos + 1] as usize;
        return LpValue::Str(&lp[pos + 2..pos + 2 + l]);
    }
    match b {
        0xF1 => LpValue::Int(i64::from(i16::from_le_bytes([lp[pos + 1], lp[pos + 2]]))),
        0xF2 => {
            let v = i32::from_le_bytes([0, lp[pos + 1], lp[pos + 2], lp[pos + 3]]) >> 8;
            LpValue::Int(i64::from(v))
        }
        0xF3 => LpValue::Int(i64::from(i32::from_le_bytes([lp[pos + 1], lp[pos + 2], lp[pos + 3], lp[pos + 4]]))),
        0xF4 => {
            let mut b8 = [0u8; 8];
            b8.copy_from_slice(&lp[pos + 1..pos + 9]);
            LpValue::Int(i64::from_le_bytes(b8))
        }
        0xF0 => {
            let l = u32::from_le_bytes([lp[pos + 1], lp[pos + 2], lp[pos + 3], lp[pos + 4]]) as usize;
            LpValue::Str(&lp[pos + 5..pos + 5 + l])
        }
        _ => unreachable!("invalid listpack encoding byte {b:#x} (unvalidated listpack)"),
    }
}

/// Forward iterator over `(offset, element)`.
pub struct Iter<'a> {
    lp: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (usize, LpValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.lp[self.pos] == EOF {
            return None;
        }
        let pos = self.pos;
        self.pos = next(self.lp, pos);
        Some((pos, get(self.lp, pos)))
    }
}

pub fn iter(lp: &[u8]) -> Iter<'_> {
    Iter { lp, pos: HEADER_SIZE }
}

/// Iterator from `pos` onwards.
pub fn iter_from(lp: &[u8], pos: usize) -> Iter<'_> {
    Iter { lp, pos }
}

/// Backward iterator over `(offset, element)`, from the last element.
pub struct RevIter<'a> {
    lp: &'a [u8],
    pos: Option<usize>,
}

impl<'a> Iterator for RevIter<'a> {
    type Item = (usize, LpValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let pos = self.pos?;
        self.pos = prev(self.lp, pos);
        Some((pos, get(self.lp, pos)))
    }
}

pub fn iter_rev(lp: &[u8]) -> RevIter<'_> {
    RevIter { lp, pos: last(lp) }
}

/// Backward iterator starting at (and including) the element at `pos`.
pub fn iter_rev_from(lp: &[u8], pos: usize) -> RevIter<'_> {
    RevIter { lp, pos: if lp[pos] == EOF { prev(lp, pos) } else { Some(pos) } }
}

/// Offset of element `index` (negative counts from the end), walking from the nearer end.
pub fn seek(lp: &[u8], index: i64) -> Option<usize> {
    let n = len(lp) as i64;
    let idx = if index < 0 { n + index } else { index };
    if idx < 0 || idx >= n {
        return None;
    }
    if idx < n / 2 {
        iter(lp).nth(idx as usize).map(|(p, _)| p)
    } else {
        iter_rev(lp).nth((n - 1 - idx) as usize).map(|(p, _)| p)
    }
}

/// Inserts `values` (string forms) before the element at `pos` (or at the end when `pos` is
/// the EOF offset). Returns the offset of the first inserted element.
pub fn insert(lp: &mut Vec<u8>, pos: usize, values: &[&[u8]]) -> usize {
    let count = len(lp) + values.len();
    let mut fresh = Vec::with_capacity(values.iter().map(|v| element_size(v)).sum());
    for v in values {
        write_element(&mut fresh, classify(v));
    }
    lp.splice(pos..pos, fresh);
    set_header(lp, count);
    pos
}

/// Appends at the end.
pub fn push_back(lp: &mut Vec<u8>, v: &[u8]) {
    let e = end(lp);
    insert(lp, e, &[v]);
}

/// Appends one element in place, with no temporary buffer (the stream nodes' hot path).
/// A count field that already says "unknown" stays so, as in Valkey's `lpInsert`.
pub fn append(lp: &mut Vec<u8>, v: &[u8]) {
    append_encoded(lp, classify(v));
}

/// Appends an integer element (Valkey's `lpAppendInteger`).
pub fn append_int(lp: &mut Vec<u8>, v: i64) {
    append_encoded(lp, Encoded::Int(v));
}

fn append_encoded(lp: &mut Vec<u8>, e: Encoded) {
    let n = u16::from_le_bytes([lp[4], lp[5]]);
    debug_assert_eq!(lp.last(), Some(&EOF));
    lp.pop();
    write_element(lp, e);
    lp.push(EOF);
    let total = lp.len() as u32;
    lp[..4].copy_from_slice(&total.to_le_bytes());
    let n = if n == COUNT_UNKNOWN { COUNT_UNKNOWN } else { n + 1 };
    lp[4..6].copy_from_slice(&n.to_le_bytes());
}

/// The element at `pos` as an integer (stream metadata fields; 0 if it is not one, which a
/// validated stream node never has).
pub fn get_int(lp: &[u8], pos: usize) -> i64 {
    get(lp, pos).as_i64().unwrap_or(0)
}

/// Inserts at the front.
pub fn push_front(lp: &mut Vec<u8>, v: &[u8]) {
    insert(lp, HEADER_SIZE, &[v]);
}

/// Replaces the element at `pos` with `v`; returns its offset (unchanged).
pub fn replace(lp: &mut Vec<u8>, pos: usize, v: &[u8]) -> usize {
    let count = len(lp);
    let old_end = next(lp, pos);
    let mut fresh = Vec::with_capacity(element_size(v));
    write_element(&mut fresh, classify(v));
    lp.splice(pos..old_end, fresh);
    set_header(lp, count);
    pos
}

/// Replaces the element at `pos` with an integer.
pub fn replace_int(lp: &mut Vec<u8>, pos: usize, v: i64) -> usize {
    let count = len(lp);
    let old_end = next(lp, pos);
    let mut fresh = Vec::with_capacity(10);
    write_element(&mut fresh, Encoded::Int(v));
    lp.splice(pos..old_end, fresh);
    set_header(lp, count);
    pos
}

/// Deletes `n` elements starting at `pos`; returns the offset of the element that followed
/// (or EOF).
pub fn delete(lp: &mut Vec<u8>, pos: usize, n: usize) -> usize {
    let count = len(lp);
    let mut stop = pos;
    let mut removed = 0;
    while removed < n && lp[stop] != EOF {
        stop = next(lp, stop);
        removed += 1;
    }
    lp.drain(pos..stop);
    set_header(lp, count - removed);
    pos
}

/// Deletes the elements at `offsets` (increasing, each the offset of an element) in one pass:
/// the other elements keep their bytes, as with Valkey's `lpBatchDelete`.
pub fn delete_many(lp: &mut Vec<u8>, offsets: &[usize]) {
    if offsets.is_empty() {
        return;
    }
    let count = len(lp);
    let mut fresh = Vec::with_capacity(lp.len());
    fresh.extend_from_slice(&lp[..HEADER_SIZE]);
    let mut kept_from = HEADER_SIZE;
    for &pos in offsets {
        debug_assert!(pos >= kept_from && lp[pos] != EOF);
        fresh.extend_from_slice(&lp[kept_from..pos]);
        kept_from = next(lp, pos);
    }
    fresh.extend_from_slice(&lp[kept_from..]);
    set_header(&mut fresh, count - offsets.len());
    *lp = fresh;
}

/// Offset of the first element at or after `from` whose string form equals `v`, looking at
/// every `skip + 1`th element (skip=1 finds hash fields, skipping their values).
pub fn find(lp: &[u8], from: usize, v: &[u8], skip: usize) -> Option<usize> {
    let probe = classify(v);
    let mut pos = from;
    let mut to_skip = 0;
    while lp[pos] != EOF {
        if to_skip == 0 {
            // Like Valkey's lpFind: an integer entry is compared as an integer, a string entry
            // byte for byte (a listpack from outside may hold "12" as a string).
            let hit = match (probe, get(lp, pos)) {
                (Encoded::Int(a), LpValue::Int(b)) => a == b,
                (_, LpValue::Str(b)) => b == v,
                (Encoded::Str(_), LpValue::Int(_)) => false,
            };
            if hit {
                return Some(pos);
            }
            to_skip = skip;
        } else {
            to_skip -= 1;
        }
        pos = next(lp, pos);
    }
    None
}

/// Whether `count` more elements of total size `bytes` would keep the listpack within
/// `MAX_SAFE_SIZE`.
pub fn safe_to_add(lp: &[u8], bytes: usize) -> bool {
    lp.len() + bytes <= MAX_SAFE_SIZE
}

/// Checks a listpack that came from outside (RDB, RESTORE): header, every entry's encoding
/// and bounds, every backlen, the EOF byte and the count. Returns the element count.
pub fn validate(lp: &[u8]) -> Option<usize> {
    if lp.len() < HEADER_SIZE + 1 || total_bytes(lp) != lp.len() || lp[lp.len() - 1] != EOF {
        return None;
    }
    let header_count = u16::from_le_bytes([lp[4], lp[5]]);
    let mut pos = HEADER_SIZE;
    let mut count = 0usize;
    while lp[pos] != EOF {
        let b = lp[pos];
        let (hdr, data): (usize, usize) = if b & 0x80 == 0 {
            (1, 0)
        } else if b & 0xC0 == 0x80 {
            (1, (b & 0x3F) as usize)
        } else if b & 0xE0 == 0xC0 {
            (2, 0)
        } else if b & 0xF0 == 0xE0 {
            (2, ((b & 0x0F) as usize) << 8 | *lp.get(pos + 1)? as usize)
        } else {
            match b {
                0xF1 => (3, 0),
                0xF2 => (4, 0),
                0xF3 => (5, 0),
                0xF4 => (9, 0),
                0xF0 => {
                    let l = lp.get(pos + 1..pos + 5)?;
                    (5, u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize)
                }
                _ => return None,
            }
        };
        let l = hdr.checked_add(data)?;
        let after = pos.checked_add(l)?.checked_add(backlen_size(l))?;
        if after >= lp.len() {
            return None;
        }
        // The backlen must be exactly the encoding of the entry length.
        let mut expected = Vec::with_capacity(5);
        write_backlen(&mut expected, l);
        if lp[pos + l..after] != expected[..] {
            return None;
        }
        pos = after;
        count += 1;
    }
    if pos != lp.len() - 1 || (header_count != COUNT_UNKNOWN && header_count as usize != count) {
        return None;
    }
    Some(count)
}

/// Builds a listpack from string forms.
pub fn from_values<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut lp = Vec::with_capacity(64);
    lp.extend_from_slice(&[0; HEADER_SIZE]);
    let mut n = 0;
    for v in values {
        write_element(&mut lp, classify(v));
        n += 1;
    }
    lp.push(EOF);
    set_header(&mut lp, n);
    lp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(lp: &[u8]) -> Vec<Vec<u8>> {
        iter(lp).map(|(_, v)| v.to_vec()).collect()
    }

    #[test]
    fn every_integer_width_roundtrips() {
        let ints: Vec<String> = [
            0i64,
            1,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            8_388_607,
            -8_388_608,
            8_388_608,
            i32::MAX as i64,
            i32::MIN as i64,
            i32::MAX as i64 + 1,
            i64::MAX,
            i64::MIN,
        ]
        .iter()
        .map(|i| i.to_string())
        .collect();
        let lp = from_values(ints.iter().map(|s| s.as_bytes()));
        assert_eq!(validate(&lp), Some(ints.len()));
        let got: Vec<String> = strings(&lp).into_iter().map(|b| String::from_utf8(b).unwrap()).collect();
        assert_eq!(got, ints);
        for (_, v) in iter(&lp) {
            assert!(matches!(v, LpValue::Int(_)));
        }
    }

    #[test]
    fn string_widths_and_non_canonical_numbers_stay_strings() {
        let vals: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"01".to_vec(),
            b"-0".to_vec(),
            b"+1".to_vec(),
            vec![b'x'; 63],
            vec![b'y'; 64],
            vec![b'z'; 4095],
            vec![b'w'; 4096],
            vec![0, 13, 10, 255],
        ];
        let lp = from_values(vals.iter().map(|v| v.as_slice()));
        assert_eq!(validate(&lp), Some(vals.len()));
        assert_eq!(strings(&lp), vals);
        let rev: Vec<Vec<u8>> = iter_rev(&lp).map(|(_, v)| v.to_vec()).collect();
        assert_eq!(rev, vals.iter().rev().cloned().collect::<Vec<_>>());
    }

    #[test]
    fn matches_valkey_bytes() {
        // `lpNew` + append "hello" + append 1024 as Valkey writes them.
        let lp = from_values([&b"hello"[..], b"1024"]);
        assert_eq!(
            lp,
            vec![
                17, 0, 0, 0, 2, 0, // header
                0x85, b'h', b'e', b'l', b'l', b'o', 6, // 6-bit string + backlen 6
                0xC4, 0x00, 2, // 13-bit int 1024 + backlen 2
                0xFF
            ]
        );
    }

    #[test]
    fn insert_replace_delete_seek() {
        let mut lp = new();
        push_back(&mut lp, b"b");
        push_front(&mut lp, b"a");
        push_back(&mut lp, b"100000");
        assert_eq!(strings(&lp), vec![b"a".to_vec(), b"b".to_vec(), b"100000".to_vec()]);
        let p = seek(&lp, -1).unwrap();
        replace(&mut lp, p, &[b'q'; 200]);
        let p = seek(&lp, 1).unwrap();
        let after = delete(&mut lp, p, 1);
        assert_eq!(get(&lp, after), LpValue::Str(&[b'q'; 200]));
        assert_eq!(len(&lp), 2);
        assert_eq!(validate(&lp), Some(2));
        assert_eq!(seek(&lp, 2), None);
        assert_eq!(seek(&lp, -3), None);
        let p = first(&lp).unwrap();
        replace_int(&mut lp, p, -5);
        assert_eq!(get(&lp, first(&lp).unwrap()), LpValue::Int(-5));
        let e = end(&lp);
        delete(&mut lp, HEADER_SIZE, 10);
        assert!(is_empty(&lp));
        assert!(e > HEADER_SIZE);
    }

    #[test]
    fn find_with_skip_finds_hash_fields_only() {
        let lp = from_values([&b"f1"[..], b"v1", b"f2", b"f1", b"7", b"x"]);
        assert_eq!(find(&lp, HEADER_SIZE, b"f2", 1), iter(&lp).nth(2).map(|(p, _)| p));
        assert_eq!(find(&lp, HEADER_SIZE, b"v1", 1), None);
        assert_eq!(find(&lp, HEADER_SIZE, b"x", 1), None);
        assert_eq!(find(&lp, HEADER_SIZE, b"7", 0).map(|p| get(&lp, p)), Some(LpValue::Int(7)));
    }

    #[test]
    fn delete_many_keeps_the_rest_byte_for_byte() {
        let vals: Vec<Vec<u8>> =
            (0..20).map(|i| if i % 3 == 0 { vec![b'x'; i * 10] } else { i.to_string().into_bytes() }).collect();
        let lp = from_values(vals.iter().map(|v| v.as_slice()));
        let offsets: Vec<usize> = iter(&lp).map(|(p, _)| p).collect();
        let gone = [0usize, 4, 5, 19];
        let mut cut = lp.clone();
        delete_many(&mut cut, &gone.iter().map(|&i| offsets[i]).collect::<Vec<_>>());
        let rest: Vec<&[u8]> = (0..20).filter(|i| !gone.contains(i)).map(|i| vals[i].as_slice()).collect();
        assert_eq!(cut, from_values(rest));
        assert_eq!(validate(&cut), Some(16));
    }

    #[test]
    fn find_matches_integers_stored_as_strings() {
        // A valid listpack (e.g. from RESTORE) may encode "12" as a 6-bit string.
        let lp = vec![11, 0, 0, 0, 1, 0, 0x82, b'1', b'2', 3, 0xFF];
        assert_eq!(validate(&lp), Some(1));
        assert_eq!(find(&lp, HEADER_SIZE, b"12", 0), Some(HEADER_SIZE));
        assert_eq!(find(&lp, HEADER_SIZE, b"13", 0), None);
    }

    #[test]
    fn validate_rejects_damage() {
        let lp = from_values([&b"hello"[..], b"1024", &[b'x'; 300]]);
        assert!(validate(&lp).is_some());
        for i in 0..lp.len() {
            let mut bad = lp.clone();
            bad[i] ^= 0x40;
            // Must not panic; most flips are detected.
            let _ = validate(&bad);
        }
        let mut short = lp.clone();
        short.pop();
        assert_eq!(validate(&short), None);
        let mut wrong_count = lp.clone();
        wrong_count[4] = 7;
        assert_eq!(validate(&wrong_count), None);
    }

    proptest::proptest! {
        #[test]
        fn random_edits_keep_the_listpack_valid(ops in proptest::collection::vec((0u8..4, proptest::collection::vec(proptest::num::u8::ANY, 0..70), 0usize..40), 0..60)) {
            let mut lp = new();
            let mut model: Vec<Vec<u8>> = Vec::new();
            for (op, val, idx) in ops {
                match op {
                    0 => { push_back(&mut lp, &val); model.push(val); }
                    1 => { push_front(&mut lp, &val); model.insert(0, val); }
                    2 if !model.is_empty() => {
                        let i = idx % model.len();
                        let p = seek(&lp, i as i64).unwrap();
                        replace(&mut lp, p, &val);
                        model[i] = val;
                    }
                    3 if !model.is_empty() => {
                        let i = idx % model.len();
                        let p = seek(&lp, i as i64).unwrap();
                        delete(&mut lp, p, 1);
                        model.remove(i);
                    }
                    _ => {}
                }
                proptest::prop_assert_eq!(validate(&lp), Some(model.len()));
            }
            proptest::prop_assert_eq!(strings(&lp), model);
        }
    }
}
