//! Strings seen as bitmaps: population count, first set/clear bit, the index arithmetic of
//! BITCOUNT/BITPOS ranges, and BITFIELD's arbitrary-width integers with their overflow rules.
//!
//! Bit 0 is the most significant bit of the first byte (SETBIT's numbering); integers wider
//! than a byte are read and written most significant bit first. Everything here is pure.

/// Number of set bits in `bytes`.
pub fn popcount(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        let word = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        n += u64::from(word.count_ones());
    }
    n + chunks.remainder().iter().map(|b| u64::from(b.count_ones())).sum::<u64>()
}

/// Index of the first byte of `bytes` that differs from `skip`. Compares a word at a time:
/// BITPOS over a 512MB run of zeros is a scan of the whole string.
fn first_byte_not(bytes: &[u8], skip: u8) -> Option<usize> {
    let word = u64::from_ne_bytes([skip; 8]);
    let mut chunks = bytes.chunks_exact(32);
    let mut base = 0;
    for c in &mut chunks {
        let w =
            |i: usize| u64::from_ne_bytes([c[i], c[i + 1], c[i + 2], c[i + 3], c[i + 4], c[i + 5], c[i + 6], c[i + 7]]);
        if (w(0) ^ word) | (w(8) ^ word) | (w(16) ^ word) | (w(24) ^ word) != 0 {
            break;
        }
        base += 32;
    }
    bytes[base..].iter().position(|&b| b != skip).map(|i| base + i)
}

/// Position of the first bit equal to `bit` in `bytes`. Looking for a clear bit in a string of
/// set bits answers `bytes.len() * 8` (the string is taken as zero-padded on the right);
/// looking for a set bit where there is none answers -1.
pub fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    match first_byte_not(bytes, if bit { 0x00 } else { 0xff }) {
        Some(i) => {
            let b = if bit { bytes[i] } else { !bytes[i] };
            (i as i64) * 8 + i64::from(b.leading_zeros() as u8)
        }
        None if bit => -1,
        None => bytes.len() as i64 * 8,
    }
}

/// A byte range of a bitmap selected by BITCOUNT/BITPOS `start end [BYTE|BIT]`, with the bits
/// of the first and last byte that fall outside a BIT range masked off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitRange {
    /// First and last byte, inclusive.
    pub start: usize,
    pub end: usize,
    /// Bits of the first byte before the range (high bits), 0 when none.
    pub first_mask: u8,
    /// Bits of the last byte after the range (low bits), 0 when none.
    pub last_mask: u8,
}

/// Resolves `start`/`end` (negative counts from the end; in bits when `in_bits`) over a string
/// of `len` bytes, clamping like Valkey; `None` when the range is empty.
pub fn bit_range(start: i64, end: i64, in_bits: bool, len: usize) -> Option<BitRange> {
    // Strings are at most proto-max-bulk-len bytes, far below i64::MAX / 8.
    let total = if in_bits { (len as i64).saturating_mul(8) } else { len as i64 };
    let mut start = if start < 0 { total.saturating_add(start) } else { start };
    let mut end = if end < 0 { total.saturating_add(end) } else { end };
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    if start > end {
        return None;
    }
    let (mut first_mask, mut last_mask) = (0, 0);
    if in_bits {
        first_mask = !(0xffu8 >> (start & 7));
        last_mask = ((1u16 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    Some(BitRange { start: start as usize, end: end as usize, first_mask, last_mask })
}

/// Set bits within `r` of `bytes` (which must cover `r.end`).
pub fn count_in(bytes: &[u8], r: BitRange) -> u64 {
    let mut n = popcount(&bytes[r.start..=r.end]);
    n -= u64::from((bytes[r.start] & r.first_mask).count_ones());
    n -= u64::from((bytes[r.end] & r.last_mask).count_ones());
    n
}

/// BITPOS over the range `r` of `bytes`. `end_given` says the caller named an explicit end:
/// then a clear bit is not assumed past the range and "not found" is -1.
pub fn position_in(bytes: &[u8], r: BitRange, bit: bool, end_given: bool) -> i64 {
    let span = &bytes[r.start..=r.end];
    let last = span.len() - 1;
    // The edge bytes with the bits outside the range forced to the value not looked for, so
    // that they never match.
    let mask = |b: u8, m: u8| if bit { b & !m } else { b | m };
    let mut head = mask(span[0], r.first_mask);
    if last == 0 {
        head = mask(head, r.last_mask);
    }
    let tail = mask(span[last], r.last_mask);
    let found = match first_bit(&[head], bit) {
        p @ 0..=7 => p,
        _ if last == 0 => -1,
        _ => match first_bit(&span[1..last], bit) {
            p if p >= 0 && p < (last as i64 - 1) * 8 => 8 + p,
            _ => match first_bit(&[tail], bit) {
                p @ 0..=7 => last as i64 * 8 + p,
                _ => -1,
            },
        },
    };
    if found >= 0 {
        found + (r.start as i64) * 8
    } else if bit || end_given {
        -1
    } else {
        // No clear bit inside: the first one is right after the range, since the string is
        // taken as zero-padded unless the range had an explicit end.
        (r.end as i64 + 1) * 8
    }
}

/// Reads `bits` bits (1..=64) at bit `offset` as an unsigned integer; bits past the end of
/// `bytes` read as zero.
pub fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for k in 0..u64::from(bits) {
        let pos = offset + k;
        let byte = bytes.get((pos >> 3) as usize).copied().unwrap_or(0);
        v = (v << 1) | u64::from((byte >> (7 - (pos & 7))) & 1);
    }
    v
}

/// Reads a two's complement integer of `bits` bits at bit `offset`.
pub fn get_signed(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(bytes, offset, bits);
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`. `bytes` must cover the field.
pub fn set_bits(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for k in 0..u64::from(bits) {
        let on = (value >> (u64::from(bits) - 1 - k)) & 1;
        let pos = offset + k;
        let shift = 7 - (pos & 7);
        let byte = &mut bytes[(pos >> 3) as usize];
        *byte = (*byte & !(1 << shift)) | ((on as u8) << shift);
    }
}

/// What BITFIELD does when a SET or INCRBY does not fit its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// The value an unsigned field of `bits` (1..=63) bits takes for `value + incr`: `Ok` when it
/// fits, `Err(v)` on overflow with `v` the wrapped or saturated value (meaningless for
/// `Fail`). As in Valkey, `value` itself may be out of range (a SET of a too large value).
pub fn unsigned_field_add(value: u64, incr: i64, bits: u32, ow: Overflow) -> Result<u64, u64> {
    let max = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    // The room left above and below `value`, as signed quantities, as Valkey computes them.
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let wrapped = || {
        let mask = if bits >= 64 { 0 } else { u64::MAX << bits };
        value.wrapping_add(incr as u64) & !mask
    };
    if value > max || (incr > 0 && incr > max_incr) {
        Err(if ow == Overflow::Sat { max } else { wrapped() })
    } else if incr < 0 && incr < min_incr {
        Err(if ow == Overflow::Sat { 0 } else { wrapped() })
    } else {
        Ok(value.wrapping_add(incr as u64))
    }
}

/// The signed counterpart of [`unsigned_field_add`], for fields of 1..=64 bits.
pub fn signed_field_add(value: i64, incr: i64, bits: u32, ow: Overflow) -> Result<i64, i64> {
    let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrapped = || {
        let sum = (value as u64).wrapping_add(incr as u64);
        if bits >= 64 {
            sum as i64
        } else {
            let mask = u64::MAX << bits;
            // Sign-extend from the field's top bit.
            (if sum & (1 << (bits - 1)) != 0 { sum | mask } else { sum & !mask }) as i64
        }
    };
    let wide = bits != 64;
    if value > max || (wide && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr) {
        Err(if ow == Overflow::Sat { max } else { wrapped() })
    } else if value < min || (wide && incr < min_incr) || (value < 0 && incr < 0 && incr < min_incr) {
        Err(if ow == Overflow::Sat { min } else { wrapped() })
    } else {
        Ok(value.wrapping_add(incr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popcount_any_length_and_alignment() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let naive: u64 = data.iter().map(|b| u64::from(b.count_ones())).sum();
        for start in 0..9 {
            let slow: u64 = data[start..].iter().map(|b| u64::from(b.count_ones())).sum();
            assert_eq!(popcount(&data[start..]), slow);
        }
        assert_eq!(popcount(&data), naive);
        assert_eq!(popcount(b""), 0);
        assert_eq!(popcount(b"foobar"), 26);
    }

    #[test]
    fn first_bit_semantics() {
        assert_eq!(first_bit(b"\xff\xf0\x00", false), 12);
        assert_eq!(first_bit(b"\x00\x0f\x00", true), 12);
        assert_eq!(first_bit(b"\xff\xff", false), 16);
        assert_eq!(first_bit(b"\x00\x00", true), -1);
        assert_eq!(first_bit(b"", false), 0);
        assert_eq!(first_bit(b"", true), -1);
        // Long runs go through the word-at-a-time path; the hit can be anywhere after it.
        for at in [0, 31, 32, 33, 95, 100, 999] {
            let mut zeros = vec![0u8; 1000];
            zeros[at] = 0x10;
            assert_eq!(first_bit(&zeros, true), at as i64 * 8 + 3, "{at}");
            let mut ones = vec![0xffu8; 1000];
            ones[at] = 0xfe;
            assert_eq!(first_bit(&ones, false), at as i64 * 8 + 7, "{at}");
        }
        assert_eq!(first_bit(&[0u8; 1000], true), -1);
        assert_eq!(first_bit(&[0xffu8; 1000], false), 8000);
    }

    #[test]
    fn ranges_in_bytes_and_bits() {
        assert_eq!(bit_range(0, -1, false, 6), Some(BitRange { start: 0, end: 5, first_mask: 0, last_mask: 0 }));
        assert_eq!(bit_range(5, 30, true, 6), Some(BitRange { start: 0, end: 3, first_mask: 0xf8, last_mask: 0x01 }));
        assert_eq!(bit_range(1, 0, false, 6), None);
        assert_eq!(bit_range(0, -1, false, 0), None);
        assert_eq!(
            bit_range(i64::MIN, i64::MAX, true, 2),
            Some(BitRange { start: 0, end: 1, first_mask: 0, last_mask: 0 })
        );
        assert_eq!(count_in(b"foobar", bit_range(5, 30, true, 6).unwrap()), 17);
        assert_eq!(count_in(b"foobar", bit_range(1, 1, false, 6).unwrap()), 6);
    }

    #[test]
    fn positions_within_ranges() {
        let s = b"\xff\xf0\x00";
        assert_eq!(position_in(s, bit_range(0, -1, false, 3).unwrap(), false, false), 12);
        assert_eq!(position_in(b"\xff\xff\xff", bit_range(0, -1, false, 3).unwrap(), false, false), 24);
        assert_eq!(position_in(b"\xff\xff\xff", bit_range(0, -1, false, 3).unwrap(), false, true), -1);
        assert_eq!(position_in(b"\x00\xff\xf0", bit_range(2, -1, false, 3).unwrap(), true, false), 16);
        assert_eq!(position_in(b"\x00\xff\xf0", bit_range(7, 15, true, 3).unwrap(), true, true), 8);
        assert_eq!(position_in(b"\x00\xff\xf0", bit_range(0, 7, true, 3).unwrap(), true, true), -1);
        // A bit range inside one byte masks both sides.
        assert_eq!(position_in(b"\x81", bit_range(1, 6, true, 1).unwrap(), true, true), -1);
        assert_eq!(position_in(b"\x81", bit_range(1, 6, true, 1).unwrap(), false, true), 1);
        // Matches only in the masked-off edges do not count.
        let s = b"\x01\x00\x00\x80";
        assert_eq!(position_in(s, bit_range(8, 23, true, 4).unwrap(), true, true), -1);
        assert_eq!(position_in(s, bit_range(7, 24, true, 4).unwrap(), true, true), 7);
        assert_eq!(position_in(s, bit_range(8, 24, true, 4).unwrap(), true, true), 24);
    }

    #[test]
    fn positions_match_a_bit_by_bit_model() {
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..3000 {
            let len = rng.usize(1..80);
            let dense = rng.bool();
            let bytes: Vec<u8> = (0..len)
                .map(|_| if dense { !(1u8 << rng.u32(0..8)) } else { rng.u8(..) & rng.u8(..) & rng.u8(..) })
                .collect();
            let in_bits = rng.bool();
            let total = if in_bits { len as i64 * 8 } else { len as i64 };
            let (start, end) = (rng.i64(-total - 3..total + 3), rng.i64(-total - 3..total + 3));
            let bit = rng.bool();
            let end_given = rng.bool();
            let Some(r) = bit_range(start, end, in_bits, len) else { continue };
            let (lo, hi) = if in_bits {
                let s = if start < 0 { (total + start).max(0) } else { start };
                let e = if end < 0 { (total + end).max(0) } else { end.min(total - 1) };
                (s, e)
            } else {
                (r.start as i64 * 8, r.end as i64 * 8 + 7)
            };
            let get = |i: i64| (bytes[(i / 8) as usize] >> (7 - i % 8)) & 1 == 1;
            let want = (lo..=hi).find(|&i| get(i) == bit).unwrap_or(if bit || end_given {
                -1
            } else {
                (r.end as i64 + 1) * 8
            });
            assert_eq!(
                position_in(&bytes, r, bit, end_given),
                want,
                "{bytes:?} {start} {end} {in_bits} {bit} {end_given}"
            );
        }
    }

    #[test]
    fn fields_roundtrip() {
        let mut b = vec![0u8; 3];
        set_bits(&mut b, 7, 5, 23);
        assert_eq!(b, [0b0000_0001, 0b0111_0000, 0]);
        assert_eq!(get_unsigned(&b, 7, 5), 23);
        set_bits(&mut b, 0, 8, (-100i64) as u64);
        assert_eq!(get_signed(&b, 0, 8), -100);
        assert_eq!(get_unsigned(&b, 20, 64), 0, "reads past the end are zero");
        let mut w = vec![0u8; 9];
        set_bits(&mut w, 3, 64, i64::MIN as u64);
        assert_eq!(get_signed(&w, 3, 64), i64::MIN);
    }

    #[test]
    fn overflow_rules() {
        use Overflow::*;
        assert_eq!(unsigned_field_add(250, 10, 8, Wrap), Err(4));
        assert_eq!(unsigned_field_add(250, 10, 8, Sat), Err(255));
        assert_eq!(unsigned_field_add(5, -10, 8, Sat), Err(0));
        assert_eq!(unsigned_field_add(5, -10, 8, Wrap), Err(251));
        assert_eq!(unsigned_field_add(5, 10, 8, Fail), Ok(15));
        assert_eq!(unsigned_field_add(u64::MAX, 0, 8, Wrap), Err(255));
        assert_eq!(signed_field_add(120, 10, 8, Wrap), Err(-126));
        assert_eq!(signed_field_add(120, 10, 8, Sat), Err(127));
        assert_eq!(signed_field_add(-120, -10, 8, Sat), Err(-128));
        assert_eq!(signed_field_add(-120, -10, 8, Wrap), Err(126));
        assert_eq!(signed_field_add(i64::MAX, 1, 64, Wrap), Err(i64::MIN));
        assert_eq!(signed_field_add(i64::MIN, -1, 64, Sat), Err(i64::MIN));
        assert_eq!(signed_field_add(-5, 3, 64, Fail), Ok(-2));
        assert_eq!(signed_field_add(300, 0, 8, Wrap), Err(44));
    }
}
