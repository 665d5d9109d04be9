//! HyperLogLog values, byte for byte as Valkey stores them, so an HLL moved between Valkey and
//! Kvasir (GET/SET, DUMP/RESTORE, RDB) keeps working and counts the same.
//!
//! An HLL is a plain string: a 16-byte header (`HYLL`, the encoding, three unused bytes, the
//! cached cardinality as 8 little-endian bytes whose top bit marks it stale) followed by the
//! 16384 registers, either *dense* (6 bits each, least significant bits first, 12288 bytes) or
//! *sparse* (a run-length code: `00xxxxxx` = 1..64 zero registers, `01xxxxxx yyyyyyyy` =
//! 1..16384 zero registers, `1vvvvvxx` = 1..4 registers holding 1..32). A new HLL is sparse and
//! becomes dense for good when a register needs a value above 32 or the sparse form would
//! grow past `hll-sparse-max-bytes`.
//!
//! Elements are hashed with MurmurHash64A (Valkey's seed); the low 14 bits pick the register,
//! the run of zeros after them (plus one) is the candidate value. The estimate is Ertl's
//! improved estimator over the register histogram ("New cardinality estimation algorithms for
//! HyperLogLog sketches", arXiv:1702.01284), which is what Valkey 8 computes.

/// log2 of the number of registers.
pub const P: u32 = 14;
pub const REGISTERS: usize = 1 << P;
/// Hash bits left after the register index.
pub const Q: u32 = 64 - P;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
pub const HDR_SIZE: usize = 16;
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * BITS).div_ceil(8);
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const HASH_SEED: u64 = 0xadc8_3b19;
/// 0.5 / ln(2), the estimator's constant for m → ∞.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;

/// The sparse form is invalid (its runs do not cover exactly 16384 registers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// MurmurHash2, 64-bit version (Austin Appleby's MurmurHash64A), reading 8-byte words as
/// little endian.
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let mut k = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element goes to and the value it offers it: one more than the number of
/// zero bits after the index bits (at most Q + 1).
#[inline]
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, HASH_SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// A new, empty HLL: sparse, all registers zero (one `XZERO` opcode), cached cardinality 0.
pub fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR_SIZE + 2 * REGISTERS.div_ceil(XZERO_MAX_LEN));
    v.extend_from_slice(b"HYLL");
    v.push(SPARSE);
    v.resize(HDR_SIZE, 0);
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(XZERO_MAX_LEN);
        push_xzero(&mut v, run);
        left -= run;
    }
    v
}

/// Whether a string is an HLL as far as the header tells (Valkey's `isHLLObjectOrReply`): long
/// enough, the magic, a known encoding, and the exact dense size when dense.
pub fn is_hll(bytes: &[u8]) -> bool {
    bytes.len() >= HDR_SIZE
        && &bytes[..4] == b"HYLL"
        && bytes[4] <= SPARSE
        && (bytes[4] != DENSE || bytes.len() == DENSE_SIZE)
}

/// The encoding byte of a valid HLL.
pub fn encoding(hll: &[u8]) -> u8 {
    hll[4]
}

/// The cached cardinality, if it is current.
pub fn cached_count(hll: &[u8]) -> Option<u64> {
    if hll[15] & 0x80 != 0 {
        return None;
    }
    Some(u64::from_le_bytes(hll[8..16].try_into().expect("8 bytes")))
}

pub fn set_cached_count(hll: &mut [u8], count: u64) {
    hll[8..16].copy_from_slice(&count.to_le_bytes());
}

pub fn invalidate_cache(hll: &mut [u8]) {
    hll[15] |= 0x80;
}

// ---- dense registers ----

#[inline]
fn dense_get(regs: &[u8], i: usize) -> u8 {
    let bit = i * BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let lo = u16::from(regs[byte]);
    let hi = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((lo | (hi << 8)) >> shift) as u8) & REGISTER_MAX
}

#[inline]
fn dense_put(regs: &mut [u8], i: usize, v: u8) {
    let bit = i * BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let mask = u16::from(REGISTER_MAX) << shift;
    let val = u16::from(v & REGISTER_MAX) << shift;
    regs[byte] = (regs[byte] & !(mask as u8)) | val as u8;
    if let Some(b) = regs.get_mut(byte + 1) {
        *b = (*b & !((mask >> 8) as u8)) | (val >> 8) as u8;
    }
}

/// Raises register `i` to `count`; true if it was lower.
#[inline]
fn dense_raise(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_put(regs, i, count);
        true
    } else {
        false
    }
}

// ---- sparse opcodes ----

enum Op {
    /// A run of zero registers, and the opcode's length in bytes (1 or 2).
    Zero(usize, usize),
    /// A run of registers holding a value.
    Val(u8, usize),
}

#[inline]
fn op_at(s: &[u8], p: usize) -> Op {
    let b = s[p];
    if b & 0xc0 == 0 {
        Op::Zero(usize::from(b & 0x3f) + 1, 1)
    } else if b & 0x80 == 0 {
        // An XZERO cut off at the end reads its second byte as 0, as Valkey's reads the
        // string's terminating NUL.
        let lo = s.get(p + 1).copied().unwrap_or(0);
        Op::Zero(((usize::from(b & 0x3f) << 8) | usize::from(lo)) + 1, 2)
    } else {
        Op::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 0x3) + 1)
    }
}

fn val_byte(value: u8, run: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (run as u8 - 1)
}

fn push_xzero(v: &mut Vec<u8>, run: usize) {
    let l = run - 1;
    v.push(0x40 | (l >> 8) as u8);
    v.push((l & 0xff) as u8);
}

/// A zero run of `run` registers, as the shortest opcode.
fn push_zeros(v: &mut Vec<u8>, run: usize) {
    if run > ZERO_MAX_LEN {
        push_xzero(v, run);
    } else {
        v.push(run as u8 - 1);
    }
}

/// Walks the sparse body, calling `f(first_register, run, value)` for every run; the total
/// must be exactly 16384 and a value run may not pass the end.
fn for_each_run(body: &[u8], mut f: impl FnMut(usize, usize, u8)) -> Result<(), Corrupt> {
    let (mut p, mut idx) = (0, 0usize);
    while p < body.len() {
        match op_at(body, p) {
            Op::Zero(run, len) => {
                f(idx, run, 0);
                idx += run;
                p += len;
            }
            Op::Val(v, run) => {
                if idx + run > REGISTERS {
                    return Err(Corrupt);
                }
                f(idx, run, v);
                idx += run;
                p += 1;
            }
        }
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Converts a sparse HLL to dense in place (header kept, encoding changed). Returns whether a
/// conversion happened.
pub fn to_dense(hll: &mut Vec<u8>) -> Result<bool, Corrupt> {
    if hll[4] == DENSE {
        return Ok(false);
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR_SIZE].copy_from_slice(&hll[..HDR_SIZE]);
    dense[4] = DENSE;
    {
        let regs = &mut dense[HDR_SIZE..];
        for_each_run(&hll[HDR_SIZE..], |first, run, v| {
            if v != 0 {
                for i in first..first + run {
                    dense_put(regs, i, v);
                }
            }
        })?;
    }
    *hll = dense;
    Ok(true)
}

/// Raises register `index` of a sparse HLL to `count`, splitting the opcode that covers it,
/// then merging equal neighbouring value runs; promotes to dense when the value does not fit
/// the sparse code or the result would pass `sparse_max` bytes. Returns whether the register
/// changed.
fn sparse_raise(hll: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(hll, index, count);
    }
    // Find the opcode covering `index`.
    let (mut p, mut first, mut prev, mut span) = (HDR_SIZE, 0usize, None, 0usize);
    let end = hll.len();
    while p < end {
        let (run, len) = match op_at(hll, p) {
            Op::Zero(run, len) => (run, len),
            Op::Val(_, run) => (run, 1),
        };
        span = run;
        if index < first + run {
            break;
        }
        prev = Some(p);
        p += len;
        first += run;
    }
    if span == 0 || p >= end {
        return Err(Corrupt);
    }
    // A two-byte opcode cut off by the end of a corrupt string counts as what is there.
    let avail = end - p;
    let op = op_at(hll, p);
    let last = first + span - 1;
    let mut seq: Vec<u8> = Vec::with_capacity(5);
    let old_len = match op {
        Op::Val(old, run) => {
            if old >= count {
                return Ok(false);
            }
            if run == 1 {
                hll[p] = val_byte(count, 1);
                merge_runs(hll, prev.unwrap_or(HDR_SIZE));
                return Ok(true);
            }
            if index != first {
                seq.push(val_byte(old, index - first));
            }
            seq.push(val_byte(count, 1));
            if index != last {
                seq.push(val_byte(old, last - index));
            }
            1
        }
        Op::Zero(run, len) => {
            if len == 1 && run == 1 {
                hll[p] = val_byte(count, 1);
                merge_runs(hll, prev.unwrap_or(HDR_SIZE));
                return Ok(true);
            }
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val_byte(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
            len.min(avail)
        }
    };
    if seq.len() > old_len && hll.len() + seq.len() - old_len > sparse_max {
        return promote(hll, index, count);
    }
    hll.splice(p..p + old_len, seq);
    merge_runs(hll, prev.unwrap_or(HDR_SIZE));
    Ok(true)
}

fn promote(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(hll)?;
    Ok(dense_raise(&mut hll[HDR_SIZE..], index, count))
}

/// Merges adjacent value runs of equal value (up to 4 registers per opcode), looking at up to
/// five opcodes from `p` (the opcode before the one just changed), as Valkey does after each
/// update: the bytes stay identical to what Valkey would store.
fn merge_runs(hll: &mut Vec<u8>, mut p: usize) {
    let mut budget = 5;
    while p < hll.len() && budget > 0 {
        budget -= 1;
        match op_at(hll, p) {
            Op::Zero(_, len) => {
                p += len;
                continue;
            }
            Op::Val(v1, r1) => {
                if p + 1 < hll.len() {
                    if let Op::Val(v2, r2) = op_at(hll, p + 1) {
                        if v1 == v2 && r1 + r2 <= VAL_MAX_LEN {
                            hll[p + 1] = val_byte(v1, r1 + r2);
                            hll.remove(p);
                            continue;
                        }
                    }
                }
                p += 1;
            }
        }
    }
}

/// Adds an element; true if a register changed (the caller invalidates the cached count).
pub fn add(hll: &mut Vec<u8>, element: &[u8], sparse_max: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(element);
    raise(hll, index, count, sparse_max)
}

/// Raises register `index` to `count` in either encoding.
pub fn raise(hll: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupt> {
    match hll[4] {
        DENSE => Ok(dense_raise(&mut hll[HDR_SIZE..], index, count)),
        _ => sparse_raise(hll, index, count, sparse_max),
    }
}

/// Folds an HLL into `max` (one byte per register): `max[i] = max(max[i], reg[i])`.
pub fn merge_into(max: &mut [u8], hll: &[u8]) -> Result<(), Corrupt> {
    if hll[4] == DENSE {
        // Four registers in every three bytes.
        for (c, m) in hll[HDR_SIZE..].chunks_exact(3).zip(max.chunks_exact_mut(4)) {
            let w = u32::from(c[0]) | (u32::from(c[1]) << 8) | (u32::from(c[2]) << 16);
            for (k, slot) in m.iter_mut().enumerate() {
                let v = ((w >> (6 * k)) & 63) as u8;
                if v > *slot {
                    *slot = v;
                }
            }
        }
        Ok(())
    } else {
        for_each_run(&hll[HDR_SIZE..], |first, run, v| {
            if v != 0 {
                for m in &mut max[first..first + run] {
                    if v > *m {
                        *m = v;
                    }
                }
            }
        })
    }
}

/// The register histogram of an HLL (64 slots: a corrupt dense register can hold up to 63).
fn histogram(hll: &[u8]) -> Result<[u32; 64], Corrupt> {
    let mut h = [0u32; 64];
    if hll[4] == DENSE {
        // Four registers in every three bytes.
        for c in hll[HDR_SIZE..].chunks_exact(3) {
            let w = u32::from(c[0]) | (u32::from(c[1]) << 8) | (u32::from(c[2]) << 16);
            h[(w & 63) as usize] += 1;
            h[((w >> 6) & 63) as usize] += 1;
            h[((w >> 12) & 63) as usize] += 1;
            h[((w >> 18) & 63) as usize] += 1;
        }
    } else {
        // Value runs past the end are counted too (the histogram of a corrupt HLL is not
        // used); only the total decides validity.
        let body = &hll[HDR_SIZE..];
        let (mut p, mut idx) = (0, 0usize);
        while p < body.len() {
            match op_at(body, p) {
                Op::Zero(run, len) => {
                    h[0] += run as u32;
                    idx += run;
                    p += len;
                }
                Op::Val(v, run) => {
                    h[usize::from(v)] += run as u32;
                    idx += run;
                    p += 1;
                }
            }
        }
        if idx != REGISTERS {
            return Err(Corrupt);
        }
    }
    Ok(h)
}

/// The histogram of one-byte-per-register registers (PFCOUNT of several keys); runs of eight
/// zero registers, common in small unions, are counted a word at a time.
pub fn raw_histogram(regs: &[u8]) -> [u32; 64] {
    let mut h = [0u32; 64];
    for w in regs.chunks_exact(8) {
        if u64::from_le_bytes(w.try_into().expect("8 bytes")) == 0 {
            h[0] += 8;
        } else {
            for &r in w {
                h[usize::from(r & 63)] += 1;
            }
        }
    }
    h
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if before == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if before == z {
            return z / 3.0;
        }
    }
}

/// Ertl's improved estimator over a register histogram.
pub fn estimate(h: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let q = Q as usize;
    let mut z = m * tau((m - f64::from(h[q + 1])) / m);
    for j in (1..=q).rev() {
        z += f64::from(h[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(h[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// The estimated cardinality of an HLL (ignoring the cache).
pub fn count(hll: &[u8]) -> Result<u64, Corrupt> {
    Ok(estimate(&histogram(hll)?))
}

/// All registers of a dense HLL.
pub fn dense_registers(hll: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let regs = &hll[HDR_SIZE..];
    (0..REGISTERS).map(move |i| dense_get(regs, i))
}

/// PFDEBUG DECODE's text for a sparse HLL: `z:<n>` / `Z:<n>` / `v:<value>,<n>` per opcode.
pub fn decode_sparse(hll: &[u8]) -> String {
    let body = &hll[HDR_SIZE..];
    let mut parts = Vec::new();
    let mut p = 0;
    while p < body.len() {
        match op_at(body, p) {
            Op::Zero(run, 1) => {
                parts.push(format!("z:{run}"));
                p += 1;
            }
            Op::Zero(run, _) => {
                parts.push(format!("Z:{run}"));
                p += 2;
            }
            Op::Val(v, run) => {
                parts.push(format!("v:{v},{run}"));
                p += 1;
            }
        }
    }
    parts.join(" ")
}

/// A fresh dense HLL whose registers are all zero.
pub fn new_dense() -> Vec<u8> {
    let mut v = vec![0u8; DENSE_SIZE];
    v[..4].copy_from_slice(b"HYLL");
    v[4] = DENSE;
    v
}

/// Sets register `i` of a dense HLL to `v` (PFSELFTEST).
pub fn dense_set(hll: &mut [u8], i: usize, v: u8) {
    dense_put(&mut hll[HDR_SIZE..], i, v);
}

/// Register `i` of a dense HLL.
pub fn dense_register(hll: &[u8], i: usize) -> u8 {
    dense_get(&hll[HDR_SIZE..], i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_matches_valkey() {
        // (register, value) that redis-server's PFDEBUG GETREG shows after one PFADD.
        let cases: &[(&[u8], usize, u8)] = &[
            (b"a", 12711, 2),
            (b"hello", 9216, 1),
            (b"", 5938, 2),
            (b"12345678", 10579, 3),
            (b"abcdefghijk", 14121, 1),
        ];
        for &(ele, index, count) in cases {
            assert_eq!(pattern(ele), (index, count), "{:?}", String::from_utf8_lossy(ele));
        }
        // PFADD h a b c d e f g on redis-server: the same sparse bytes and count.
        let mut hll = new_sparse();
        for e in [b"a", b"b", b"c", b"d", b"e", b"f", b"g"] {
            assert_eq!(add(&mut hll, e, 3000), Ok(true));
        }
        assert_eq!(
            decode_sparse(&hll),
            "Z:1646 v:1,1 Z:5645 v:1,1 Z:1085 v:2,1 z:57 v:1,1 Z:4274 v:2,1 Z:2445 v:1,1 Z:622 v:1,1 Z:603"
        );
        assert_eq!(&hll[HDR_SIZE..HDR_SIZE + 4], b"Fm\x80V");
        assert_eq!(count(&hll), Ok(7));
    }

    #[test]
    fn dense_registers_round_trip_without_disturbing_neighbours() {
        let mut hll = new_dense();
        let mut rng = fastrand::Rng::with_seed(3);
        let vals: Vec<u8> = (0..REGISTERS).map(|_| rng.u8(..64)).collect();
        for (i, &v) in vals.iter().enumerate() {
            dense_set(&mut hll, i, v);
        }
        for (i, &v) in vals.iter().enumerate() {
            assert_eq!(dense_register(&hll, i), v, "register {i}");
        }
        assert_eq!(hll.len(), DENSE_SIZE);
    }

    #[test]
    fn empty_hll_is_sparse_and_counts_zero() {
        let hll = new_sparse();
        assert!(is_hll(&hll));
        assert_eq!(hll.len(), 18);
        assert_eq!(encoding(&hll), SPARSE);
        assert_eq!(count(&hll), Ok(0));
        assert_eq!(cached_count(&hll), Some(0));
        assert_eq!(decode_sparse(&hll), "Z:16384");
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sparse = new_sparse();
        let mut dense = new_dense();
        let mut rng = fastrand::Rng::with_seed(7);
        for n in 1..=3000u64 {
            let ele = rng.u64(..).to_le_bytes();
            let a = add(&mut sparse, &ele, 1 << 20).unwrap();
            let b = add(&mut dense, &ele, 1 << 20).unwrap();
            assert_eq!(a, b);
            if n % 97 == 0 {
                assert_eq!(count(&sparse), count(&dense), "after {n}");
            }
        }
        let mut converted = sparse.clone();
        assert_eq!(to_dense(&mut converted), Ok(true));
        assert_eq!(converted[HDR_SIZE..], dense[HDR_SIZE..]);
        // The union path (one byte per register) reads both encodings alike.
        let (mut a, mut b) = (vec![0u8; REGISTERS], vec![0u8; REGISTERS]);
        merge_into(&mut a, &sparse).unwrap();
        merge_into(&mut b, &dense).unwrap();
        assert_eq!(a, b);
        assert!(a.iter().enumerate().all(|(i, &v)| v == dense_register(&dense, i)));
        assert_eq!(estimate(&raw_histogram(&a)), count(&dense).unwrap());
    }

    #[test]
    fn sparse_runs_are_merged() {
        let mut hll = new_sparse();
        for i in 0..4 {
            raise(&mut hll, 100 + i, 3, 3000).unwrap();
        }
        assert_eq!(decode_sparse(&hll), "Z:100 v:3,4 Z:16280");
        raise(&mut hll, 104, 3, 3000).unwrap();
        assert_eq!(decode_sparse(&hll), "Z:100 v:3,4 v:3,1 Z:16279");
        assert_eq!(raise(&mut hll, 102, 2, 3000), Ok(false));
        raise(&mut hll, 102, 5, 3000).unwrap();
        assert_eq!(decode_sparse(&hll), "Z:100 v:3,2 v:5,1 v:3,2 Z:16279");
    }

    #[test]
    fn promotion_rules() {
        let mut hll = new_sparse();
        raise(&mut hll, 5, 33, 3000).unwrap();
        assert_eq!(encoding(&hll), DENSE, "a value above 32 needs dense");
        assert_eq!(dense_register(&hll, 5), 33);
        let mut hll = new_sparse();
        raise(&mut hll, 5000, 1, 20).unwrap();
        assert_eq!(encoding(&hll), DENSE, "growing past hll-sparse-max-bytes");
    }

    #[test]
    fn corrupt_sparse_is_detected() {
        let mut hll = new_sparse();
        hll.extend_from_slice(b"hello");
        assert_eq!(count(&hll), Err(Corrupt));
        let mut max = vec![0u8; REGISTERS];
        assert_eq!(merge_into(&mut max, &hll), Err(Corrupt));
        assert_eq!(to_dense(&mut hll.clone()), Err(Corrupt));
        let mut short = new_sparse();
        short.truncate(HDR_SIZE);
        assert_eq!(raise(&mut short, 0, 1, 3000), Err(Corrupt));
    }

    #[test]
    fn estimator_is_close() {
        let mut hll = new_dense();
        for i in 0..100_000u64 {
            add(&mut hll, &i.to_le_bytes(), 3000).unwrap();
        }
        let c = count(&hll).unwrap() as f64;
        assert!((c - 100_000.0).abs() / 100_000.0 < 0.02, "{c}");
    }
}
