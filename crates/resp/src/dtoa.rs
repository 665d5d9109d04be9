//! The digits Valkey 8 prints for a double: Florian Loitsch's Grisu2, with the exact
//! arithmetic of the `fpconv` library Valkey links (`deps/fpconv`), and its layout rules.
//!
//! Grisu2 is not always *shortest*: for a small fraction of doubles it emits a digit or two
//! more than the shortest string that round-trips (Rust's `{}`/`{:e}` formatting, which is
//! always shortest, would then differ from Valkey). Replies must match Valkey byte for byte, so
//! this module reproduces Grisu2 step for step — 64-bit "diy-fp" products rounded the same
//! way, the same cached powers of ten (computed here, exactly, the first time they are needed),
//! the same digit generation and the same final rounding loop — rather than calling a shortest
//! formatter.

use std::sync::OnceLock;

const FRAC_MASK: u64 = 0x000F_FFFF_FFFF_FFFF;
const EXP_MASK: u64 = 0x7FF0_0000_0000_0000;
const HIDDEN_BIT: u64 = 0x0010_0000_0000_0000;
/// 1023 (bias) + 52 (fraction bits).
const EXP_BIAS: i32 = 1075;

/// Cached powers: 10^k for k = FIRST_POWER + STEP * i.
const POWERS: usize = 87;
const FIRST_POWER: i32 = -348;
const STEP: i32 = 8;
/// The window the scaled upper boundary's exponent must fall in.
const EXP_MIN: i32 = -60;
const EXP_MAX: i32 = -32;

const TENS: [u64; 20] = [
    10_000_000_000_000_000_000,
    1_000_000_000_000_000_000,
    100_000_000_000_000_000,
    10_000_000_000_000_000,
    1_000_000_000_000_000,
    100_000_000_000_000,
    10_000_000_000_000,
    1_000_000_000_000,
    100_000_000_000,
    10_000_000_000,
    1_000_000_000,
    100_000_000,
    10_000_000,
    1_000_000,
    100_000,
    10_000,
    1_000,
    100,
    10,
    1,
];

/// A "do it yourself" floating point number: `f * 2^e`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fp {
    f: u64,
    e: i32,
}

fn decompose(d: f64) -> Fp {
    let bits = d.to_bits();
    let frac = bits & FRAC_MASK;
    let exp = ((bits & EXP_MASK) >> 52) as i32;
    if exp != 0 {
        Fp { f: frac + HIDDEN_BIT, e: exp - EXP_BIAS }
    } else {
        Fp { f: frac, e: 1 - EXP_BIAS }
    }
}

fn normalize(mut fp: Fp) -> Fp {
    while fp.f & HIDDEN_BIT == 0 {
        fp.f <<= 1;
        fp.e -= 1;
    }
    fp.f <<= 11;
    fp.e -= 11;
    fp
}

/// The boundaries halfway to the neighbouring doubles, normalized to a common exponent.
fn boundaries(fp: Fp) -> (Fp, Fp) {
    let mut upper = Fp { f: (fp.f << 1) + 1, e: fp.e - 1 };
    while upper.f & (HIDDEN_BIT << 1) == 0 {
        upper.f <<= 1;
        upper.e -= 1;
    }
    upper.f <<= 10;
    upper.e -= 10;
    let shift = if fp.f == HIDDEN_BIT { 2 } else { 1 };
    let mut lower = Fp { f: (fp.f << shift) - 1, e: fp.e - shift };
    lower.f <<= lower.e - upper.e;
    lower.e = upper.e;
    (lower, upper)
}

/// The upper 64 bits of the 128-bit product, rounded on bit 63 of the lower half as fpconv
/// does it (in 32-bit pieces, so the rounding happens on a partial sum).
fn multiply(a: Fp, b: Fp) -> Fp {
    const LO: u64 = 0xFFFF_FFFF;
    let ah_bl = (a.f >> 32) * (b.f & LO);
    let al_bh = (a.f & LO) * (b.f >> 32);
    let al_bl = (a.f & LO) * (b.f & LO);
    let ah_bh = (a.f >> 32) * (b.f >> 32);
    let mut tmp = (ah_bl & LO) + (al_bh & LO) + (al_bl >> 32);
    tmp += 1 << 31;
    Fp { f: ah_bh + (ah_bl >> 32) + (al_bh >> 32) + (tmp >> 32), e: a.e + b.e + 64 }
}

/// A little unsigned big integer (little-endian 32-bit limbs), enough to compute the cached
/// powers of ten exactly once.
#[derive(Clone)]
struct Big(Vec<u32>);

impl Big {
    fn one() -> Big {
        Big(vec![1])
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for limb in self.0.iter_mut() {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn bits(&self) -> u32 {
        let top = *self.0.last().expect("non-empty");
        (self.0.len() as u32 - 1) * 32 + (32 - top.leading_zeros())
    }

    fn bit(&self, i: u32) -> bool {
        let limb = (i / 32) as usize;
        limb < self.0.len() && self.0[limb] >> (i % 32) & 1 == 1
    }

    fn shl1_or(&mut self, low_bit: bool) {
        let mut carry = u32::from(low_bit);
        for limb in self.0.iter_mut() {
            let next = *limb >> 31;
            *limb = *limb << 1 | carry;
            carry = next;
        }
        if carry != 0 {
            self.0.push(carry);
        }
    }

    fn ge(&self, other: &Big) -> bool {
        let n = self.0.len().max(other.0.len());
        for i in (0..n).rev() {
            let (a, b) = (self.0.get(i).copied().unwrap_or(0), other.0.get(i).copied().unwrap_or(0));
            if a != b {
                return a > b;
            }
        }
        true
    }

    fn sub(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let v = i64::from(self.0[i]) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            self.0[i] = v as u32;
            borrow = i64::from(v < 0);
        }
        while self.0.len() > 1 && *self.0.last().expect("non-empty") == 0 {
            self.0.pop();
        }
    }
}

/// 10^k as a normalized `Fp` (significand in [2^63, 2^64)), rounded to nearest.
fn power_of_ten(k: i32) -> Fp {
    let mut n = Big::one();
    for _ in 0..k.unsigned_abs() {
        n.mul_small(10);
    }
    let len = n.bits() as i32;
    let (mut f, mut e) = if k >= 0 {
        if len <= 64 {
            (((n.0.iter().rev().fold(0u128, |acc, &l| acc << 32 | u128::from(l))) << (64 - len)) as u64, len - 64)
        } else {
            // The top 65 bits, then round on the last one.
            let mut top = 0u128;
            for i in (len - 65..len).rev() {
                top = top << 1 | u128::from(n.bit(i as u32));
            }
            (((top + 1) >> 1) as u64, len - 64)
        }
    } else {
        // 2^(64 + len) / 10^|k| has 65 significant bits; round on the last one.
        let mut rem = Big(vec![0]);
        let mut q = 0u128;
        for i in (0..=64 + len).rev() {
            rem.shl1_or(i == 64 + len);
            q <<= 1;
            if rem.ge(&n) {
                rem.sub(&n);
                q |= 1;
            }
        }
        (((q + 1) >> 1) as u64, -(63 + len))
    };
    if f == 0 {
        // Rounding carried out of 64 bits.
        f = 1 << 63;
        e += 1;
    }
    Fp { f, e }
}

fn cached_powers() -> &'static [Fp; POWERS] {
    static TABLE: OnceLock<[Fp; POWERS]> = OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|i| power_of_ten(FIRST_POWER + STEP * i as i32)))
}

/// The cached power that brings a number with binary exponent `exp` into
/// [`EXP_MIN`, `EXP_MAX`], and its decimal exponent.
fn cached_power_for(exp: i32) -> (Fp, i32) {
    let powers = cached_powers();
    let approx = (f64::from(-(exp + POWERS as i32)) * 0.301_029_995_663_981_14) as i32;
    let mut idx = ((approx - FIRST_POWER) / STEP).clamp(0, POWERS as i32 - 1) as usize;
    loop {
        let current = exp + powers[idx].e + 64;
        if current < EXP_MIN && idx + 1 < POWERS {
            idx += 1;
        } else if current > EXP_MAX && idx > 0 {
            idx -= 1;
        } else {
            return (powers[idx], FIRST_POWER + idx as i32 * STEP);
        }
    }
}

/// Grisu's final correction: moves the last digit down while that brings the result closer
/// to the exact value and stays inside the rounding interval.
fn round_last_digit(digits: &mut [u8], delta: u64, mut rem: u64, kappa: u64, frac: u64) {
    while rem < frac
        && delta.wrapping_sub(rem) >= kappa
        && (rem.wrapping_add(kappa) < frac || frac.wrapping_sub(rem) > rem.wrapping_add(kappa).wrapping_sub(frac))
    {
        if let Some(last) = digits.last_mut() {
            *last -= 1;
        }
        rem = rem.wrapping_add(kappa);
    }
}

/// Generates the digits of the scaled value between `lower` and `upper`; returns their count
/// and adjusts the decimal exponent `k`.
fn generate_digits(w: Fp, upper: Fp, lower: Fp, digits: &mut [u8; 24], k: &mut i32) -> usize {
    let wfrac = upper.f.wrapping_sub(w.f);
    let mut delta = upper.f.wrapping_sub(lower.f);
    let shift = (-upper.e) as u32;
    let one = 1u64 << shift;
    let mut part1 = upper.f >> shift;
    let mut part2 = upper.f & (one - 1);
    let mut n = 0usize;
    let mut kappa = 10;
    for &div in &TENS[10..] {
        let digit = part1 / div;
        if digit != 0 || n != 0 {
            digits[n] = b'0' + digit as u8;
            n += 1;
        }
        part1 -= digit * div;
        kappa -= 1;
        let rest = (part1 << shift).wrapping_add(part2);
        if rest <= delta {
            *k += kappa;
            round_last_digit(&mut digits[..n], delta, rest, div << shift, wfrac);
            return n;
        }
    }
    let mut unit = 18;
    loop {
        part2 = part2.wrapping_mul(10);
        delta = delta.wrapping_mul(10);
        kappa -= 1;
        let digit = part2 >> shift;
        if (digit != 0 || n != 0) && n < digits.len() {
            digits[n] = b'0' + digit as u8;
            n += 1;
        }
        part2 &= one - 1;
        if part2 < delta || unit == 0 {
            *k += kappa;
            round_last_digit(&mut digits[..n], delta, part2, one, wfrac.wrapping_mul(TENS[unit]));
            return n;
        }
        unit -= 1;
    }
}

/// Grisu2 digits of a finite, non-zero `d` (sign ignored): the digits and `k` such that
/// `|d| ≈ digits × 10^k`.
pub(crate) fn grisu2(d: f64, digits: &mut [u8; 24]) -> (usize, i32) {
    let w = decompose(d.abs());
    let (lower, upper) = boundaries(w);
    let w = normalize(w);
    let (cp, cached_k) = cached_power_for(upper.e);
    let w = multiply(w, cp);
    let mut upper = multiply(upper, cp);
    let mut lower = multiply(lower, cp);
    lower.f = lower.f.wrapping_add(1);
    upper.f = upper.f.wrapping_sub(1);
    let mut k = -cached_k;
    let n = generate_digits(w, upper, lower, digits, &mut k);
    (n, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_powers_are_exact_roundings() {
        // Spot checks against values derivable by hand: 10^0 = 2^63 * 2^-63, 10^4 ... and two
        // well-known entries of every Grisu implementation's table.
        let t = cached_powers();
        assert_eq!(power_of_ten(0), Fp { f: 1 << 63, e: -63 });
        assert_eq!(power_of_ten(4), Fp { f: 10_000u64 << 50, e: -50 });
        assert_eq!(t[0], Fp { f: 18_054_884_314_459_144_840, e: -1220 });
        assert_eq!(t[POWERS - 1], Fp { f: 12_648_080_533_535_911_531, e: 1066 });
        for p in t.iter() {
            assert!(p.f >> 63 == 1, "{p:?} not normalized");
        }
    }

    fn digits_of(d: f64) -> (String, i32) {
        let mut buf = [0u8; 24];
        let (n, k) = grisu2(d, &mut buf);
        (String::from_utf8(buf[..n].to_vec()).unwrap(), k)
    }

    #[test]
    fn digits_and_exponent() {
        assert_eq!(digits_of(1.5), ("15".into(), -1));
        assert_eq!(digits_of(100.0), ("1".into(), 2));
        assert_eq!(digits_of(0.1), ("1".into(), -1));
        assert_eq!(digits_of(5e-324), ("5".into(), -324));
    }
}
