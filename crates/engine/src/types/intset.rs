//! Intset: Valkey's sorted array of integers for small sets of integers, byte for byte.
//!
//! ```text
//! | encoding: u32 LE (2, 4 or 8 bytes per element) | length: u32 LE | sorted elements LE |
//! ```
//!
//! The element width grows (never shrinks) to fit the widest member, as in Valkey. Membership
//! is a binary search. Safe code over `Vec<u8>`; a buffer from outside must pass [`validate`].

const HEADER: usize = 8;

pub fn new() -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER + 2);
    v.extend_from_slice(&2u32.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v
}

fn width(is: &[u8]) -> usize {
    u32::from_le_bytes([is[0], is[1], is[2], is[3]]) as usize
}

pub fn len(is: &[u8]) -> usize {
    u32::from_le_bytes([is[4], is[5], is[6], is[7]]) as usize
}

fn set_len(is: &mut [u8], n: usize) {
    is[4..8].copy_from_slice(&(n as u32).to_le_bytes());
}

fn width_for(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

/// Element `i` (0-based, must be < len).
pub fn get(is: &[u8], i: usize) -> i64 {
    let w = width(is);
    let p = HEADER + i * w;
    match w {
        2 => i64::from(i16::from_le_bytes([is[p], is[p + 1]])),
        4 => i64::from(i32::from_le_bytes([is[p], is[p + 1], is[p + 2], is[p + 3]])),
        _ => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&is[p..p + 8]);
            i64::from_le_bytes(b)
        }
    }
}

fn put(is: &mut [u8], w: usize, i: usize, v: i64) {
    let p = HEADER + i * w;
    match w {
        2 => is[p..p + 2].copy_from_slice(&(v as i16).to_le_bytes()),
        4 => is[p..p + 4].copy_from_slice(&(v as i32).to_le_bytes()),
        _ => is[p..p + 8].copy_from_slice(&v.to_le_bytes()),
    }
}

/// Binary search: `Ok(index)` if present, `Err(insertion point)` otherwise.
pub fn search(is: &[u8], v: i64) -> Result<usize, usize> {
    let n = len(is);
    if n == 0 {
        return Err(0);
    }
    if v > get(is, n - 1) {
        return Err(n);
    }
    if v < get(is, 0) {
        return Err(0);
    }
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        let x = get(is, mid);
        if x == v {
            return Ok(mid);
        }
        if x < v {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Err(lo)
}

pub fn contains(is: &[u8], v: i64) -> bool {
    width_for(v) <= width(is) && search(is, v).is_ok()
}

/// Adds `v`; returns false if it was already present.
pub fn add(is: &mut Vec<u8>, v: i64) -> bool {
    let w = width(is);
    let need = width_for(v);
    if need > w {
        upgrade_and_add(is, need, v);
        return true;
    }
    let Err(at) = search(is, v) else { return false };
    let n = len(is);
    is.resize(HEADER + (n + 1) * w, 0);
    is.copy_within(HEADER + at * w..HEADER + n * w, HEADER + (at + 1) * w);
    put(is, w, at, v);
    set_len(is, n + 1);
    true
}

/// Widens every element to `w` and adds `v`, which is outside the old range and so goes at
/// one end.
fn upgrade_and_add(is: &mut Vec<u8>, w: usize, v: i64) {
    let n = len(is);
    let old: Vec<i64> = (0..n).map(|i| get(is, i)).collect();
    is.clear();
    is.extend_from_slice(&(w as u32).to_le_bytes());
    is.extend_from_slice(&((n + 1) as u32).to_le_bytes());
    is.resize(HEADER + (n + 1) * w, 0);
    let prepend = v < 0;
    let offset = usize::from(prepend);
    for (i, x) in old.into_iter().enumerate() {
        put(is, w, i + offset, x);
    }
    put(is, w, if prepend { 0 } else { n }, v);
}

/// Removes `v`; returns whether it was present.
pub fn remove(is: &mut Vec<u8>, v: i64) -> bool {
    if width_for(v) > width(is) {
        return false;
    }
    let Ok(at) = search(is, v) else { return false };
    let w = width(is);
    let n = len(is);
    is.copy_within(HEADER + (at + 1) * w..HEADER + n * w, HEADER + at * w);
    is.truncate(HEADER + (n - 1) * w);
    set_len(is, n - 1);
    true
}

pub fn iter(is: &[u8]) -> impl DoubleEndedIterator<Item = i64> + ExactSizeIterator + '_ {
    (0..len(is)).map(move |i| get(is, i))
}

/// Bytes used (what Valkey's `intsetBlobLen` returns).
pub fn blob_len(is: &[u8]) -> usize {
    HEADER + len(is) * width(is)
}

/// Checks an intset from outside: a valid width, a length matching the size, and elements
/// strictly increasing (Valkey's deep sanitization). Returns the element count.
pub fn validate(is: &[u8]) -> Option<usize> {
    if is.len() < HEADER {
        return None;
    }
    let w = width(is);
    if !matches!(w, 2 | 4 | 8) {
        return None;
    }
    let n = len(is);
    if n.checked_mul(w)?.checked_add(HEADER)? != is.len() || n == 0 {
        return None;
    }
    for i in 1..n {
        if get(is, i) <= get(is, i - 1) {
            return None;
        }
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_remove_upgrade() {
        let mut is = new();
        for v in [5, 1, 3, 3, 300, -2] {
            add(&mut is, v);
        }
        assert_eq!(iter(&is).collect::<Vec<_>>(), vec![-2, 1, 3, 5, 300]);
        assert!(add(&mut is, 70000));
        assert_eq!(width(&is), 4);
        assert!(add(&mut is, i64::MIN));
        assert_eq!(width(&is), 8);
        assert_eq!(iter(&is).collect::<Vec<_>>(), vec![i64::MIN, -2, 1, 3, 5, 300, 70000]);
        assert!(remove(&mut is, 3));
        assert!(!remove(&mut is, 3));
        assert!(contains(&is, 70000));
        assert!(!contains(&is, 4));
        assert_eq!(validate(&is), Some(6));
    }

    #[test]
    fn matches_valkey_bytes() {
        let mut is = new();
        add(&mut is, 2);
        add(&mut is, 1);
        assert_eq!(is, vec![2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0]);
    }

    #[test]
    fn validate_rejects_bad_blobs() {
        assert_eq!(validate(&[3, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(validate(&[2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0]), None);
        assert_eq!(validate(&[2, 0, 0, 0, 9, 0, 0, 0, 2, 0]), None);
    }

    proptest::proptest! {
        #[test]
        fn behaves_like_a_sorted_set(ops in proptest::collection::vec((proptest::bool::ANY, -100_000i64..100_000), 0..200)) {
            let mut is = new();
            let mut model = std::collections::BTreeSet::new();
            for (add_op, v) in ops {
                let v = if v % 7 == 0 { v * 1_000_000_000 } else { v };
                if add_op {
                    proptest::prop_assert_eq!(add(&mut is, v), model.insert(v));
                } else {
                    proptest::prop_assert_eq!(remove(&mut is, v), model.remove(&v));
                }
            }
            proptest::prop_assert_eq!(iter(&is).collect::<Vec<_>>(), model.into_iter().collect::<Vec<_>>());
        }
    }
}
