//! C's `strtod` (glibc, "C" locale) in safe Rust, and Valkey's three ways of calling it.
//!
//! Valkey parses doubles with `strtod` in three flavours (the third is SORT's weights, below): `string2d` for values (ZADD scores,
//! WEIGHTS, timeouts: the whole string, no leading space, no overflow or underflow to zero,
//! no NaN) and a bare `strtod` that only asks for the whole string to be consumed (ZRANGEBYSCORE
//! bounds: leading spaces, the empty string, `1e999` are all accepted there). Both accept what
//! `strtod` accepts: decimal and hexadecimal (`0x1p-3`) forms, `inf`/`infinity`, any case.
//! Decimal conversion is Rust's (correctly rounded, as glibc's); hexadecimal is rounded here,
//! to nearest even like glibc.

/// What `strtod` made of the start of a string.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Parsed {
    pub value: f64,
    /// Bytes consumed (0: no number at all, and `value` is 0).
    pub consumed: usize,
    /// `errno == ERANGE` for a result that overflowed to infinity or underflowed to zero
    /// (glibc also flags results that are subnormal; nobody looks at those).
    pub out_of_range: bool,
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn starts_with_ignore_case(s: &[u8], word: &[u8]) -> bool {
    s.len() >= word.len() && s[..word.len()].eq_ignore_ascii_case(word)
}

/// `strtod(s, &end)`: parses the longest prefix of `s` (after leading white space) that is a
/// number. A NUL byte ends the string, as it does for C.
pub fn strtod(s: &[u8]) -> Parsed {
    let s = &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())];
    let none = Parsed { value: 0.0, consumed: 0, out_of_range: false };
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    let rest = &s[i..];
    let sign = |v: f64| if negative { -v } else { v };
    if starts_with_ignore_case(rest, b"inf") {
        let n = if starts_with_ignore_case(rest, b"infinity") { 8 } else { 3 };
        return Parsed { value: sign(f64::INFINITY), consumed: i + n, out_of_range: false };
    }
    if starts_with_ignore_case(rest, b"nan") {
        let mut n = 3;
        // "nan(n-char-sequence)" is consumed whole when the parenthesis closes.
        if rest.get(3) == Some(&b'(') {
            if let Some(close) = rest[4..].iter().position(|&b| !(b.is_ascii_alphanumeric() || b == b'_')) {
                if rest[4 + close] == b')' {
                    n = 4 + close + 1;
                }
            }
        }
        return Parsed { value: f64::NAN, consumed: i + n, out_of_range: false };
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        if let Some((v, n, range)) = hex(&rest[2..]) {
            return Parsed { value: sign(v), consumed: i + 2 + n, out_of_range: range };
        }
        // "0x" with no hex digit: just the "0".
        return Parsed { value: sign(0.0), consumed: i + 1, out_of_range: false };
    }
    match decimal(rest) {
        Some((v, n, range)) => Parsed { value: sign(v), consumed: i + n, out_of_range: range },
        None => none,
    }
}

/// Length of an exponent suffix (`e-12`, `p+3`) at the start of `s`, 0 if there is none.
fn exponent_len(s: &[u8], marker: u8) -> usize {
    if s.first().map(|b| b | 0x20) != Some(marker) {
        return 0;
    }
    let mut j = 1;
    if matches!(s.get(j), Some(b'+' | b'-')) {
        j += 1;
    }
    let digits = s[j..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        0
    } else {
        j + digits
    }
}

fn decimal(s: &[u8]) -> Option<(f64, usize, bool)> {
    let int_digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut n = int_digits;
    let mut frac_digits = 0;
    if s.get(n) == Some(&b'.') {
        frac_digits = s[n + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if int_digits > 0 || frac_digits > 0 {
            n += 1 + frac_digits;
        }
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    n += exponent_len(&s[n..], b'e');
    let text = std::str::from_utf8(&s[..n]).ok()?;
    let v: f64 = text.parse().ok()?;
    let mantissa_is_zero = s[..n].iter().take_while(|b| !matches!(b, b'e' | b'E')).all(|&b| b == b'0' || b == b'.');
    let out_of_range = v.is_infinite() || (v == 0.0 && !mantissa_is_zero);
    Some((v, n, out_of_range))
}

/// The hexadecimal form after "0x": hex digits with an optional point, then an optional
/// binary exponent `p±d`. `None` if there is not a single hex digit.
fn hex(s: &[u8]) -> Option<(f64, usize, bool)> {
    let mut mantissa: u64 = 0;
    let mut exp: i64 = 0;
    let mut sticky = false;
    let mut digits = 0;
    let mut i = 0;
    let mut seen_point = false;
    while i < s.len() {
        let b = s[i];
        if b == b'.' && !seen_point {
            seen_point = true;
            i += 1;
            continue;
        }
        let Some(d) = (b as char).to_digit(16) else { break };
        digits += 1;
        if mantissa >> 60 == 0 {
            mantissa = mantissa << 4 | u64::from(d);
            if seen_point {
                exp -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_point {
                exp += 4;
            }
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    let e_len = exponent_len(&s[i..], b'p');
    if e_len > 0 {
        let text = &s[i + 1..i + e_len];
        let (neg, num) = match text[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let mut e: i64 = 0;
        for &b in num {
            e = (e * 10 + i64::from(b - b'0')).min(1 << 40);
        }
        exp += if neg { -e } else { e };
        i += e_len;
    }
    if mantissa == 0 {
        return Some((0.0, i, false));
    }
    let v = round_binary(mantissa, exp, sticky);
    Some((v, i, v == 0.0 || v.is_infinite()))
}

/// `mantissa × 2^exp` (plus a sticky bit for non-zero bits already dropped) rounded to the
/// nearest double, ties to even.
fn round_binary(mantissa: u64, exp: i64, sticky: bool) -> f64 {
    let bits = 64 - i64::from(mantissa.leading_zeros());
    let top = bits - 1 + exp;
    if top > 1023 {
        return f64::INFINITY;
    }
    // Weight of the last significand bit: 53 bits for normal numbers, 2^-1074 at the bottom.
    let mut lsb = (top - 52).max(-1074);
    let drop = lsb - exp;
    let mut sig = if drop <= 0 {
        mantissa << (-drop) as u32
    } else if drop >= 64 {
        // Everything is below half of the smallest subnormal... unless it is exactly at it.
        let half_or_more = drop == 64 && mantissa >> 63 == 1;
        let above_half = half_or_more && (mantissa << 1 != 0 || sticky);
        u64::from(above_half)
    } else {
        let kept = mantissa >> drop;
        let rest = mantissa & ((1u64 << drop) - 1);
        let half = 1u64 << (drop - 1);
        let round_up = rest > half || (rest == half && (sticky || kept & 1 == 1));
        kept + u64::from(round_up)
    };
    if sig >> 53 != 0 {
        sig >>= 1;
        lsb += 1;
    }
    if sig == 0 {
        return 0.0;
    }
    if sig >> 52 == 0 {
        // Subnormal (lsb is -1074).
        return f64::from_bits(sig);
    }
    let biased = lsb + 52 + 1023;
    if biased >= 2047 {
        return f64::INFINITY;
    }
    f64::from_bits((biased as u64) << 52 | (sig & ((1 << 52) - 1)))
}

/// Valkey's `string2d`: the whole string is one number, no leading white space, no overflow
/// to infinity or underflow to zero, not NaN ("ERR value is not a valid float" otherwise).
pub fn string2d(s: &[u8]) -> Option<f64> {
    if s.is_empty() || is_c_space(s[0]) {
        return None;
    }
    let p = strtod(s);
    (p.consumed == s.len() && !p.out_of_range && !p.value.is_nan()).then_some(p.value)
}

/// A bare `strtod` that must consume the whole string (up to a NUL byte, where C stops
/// reading): what ZRANGEBYSCORE's bounds are parsed with. NaN is the caller's to refuse.
pub fn strtod_whole(s: &[u8]) -> Option<f64> {
    let p = strtod(s);
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    (p.consumed == end).then_some(p.value)
}

/// SORT's weights: the whole C string (up to a NUL) is consumed, `errno` is not ERANGE and the
/// result is not NaN. Unlike `string2d` the empty string (0) and leading white space pass, and
/// a subnormal result is refused, because glibc flags it with ERANGE and SORT, unlike
/// `string2d`, refuses every ERANGE.
pub fn sort_score(s: &[u8]) -> Option<f64> {
    let p = strtod(s);
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    let subnormal = p.value != 0.0 && p.value.abs() < f64::MIN_POSITIVE;
    (p.consumed == end && !p.out_of_range && !subnormal && !p.value.is_nan()).then_some(p.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_weights_follow_sorts_rule() {
        assert_eq!(sort_score(b"1.5"), Some(1.5));
        assert_eq!(sort_score(b"-3"), Some(-3.0));
        assert_eq!(sort_score(b"  7"), Some(7.0), "leading spaces");
        assert_eq!(sort_score(b""), Some(0.0), "the empty string reads as 0");
        assert_eq!(sort_score(b"0x10"), Some(16.0), "hex");
        assert_eq!(sort_score(b"inf"), Some(f64::INFINITY));
        assert_eq!(sort_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(sort_score(b"12\0junk"), Some(12.0), "stops at a NUL like C");
        assert_eq!(sort_score(b"\x001"), Some(0.0), "an empty C string");
        for bad in [&b"nan"[..], b"1e999", b"-1e999", b"1e-400", b"1e-310", b"abc", b"1 ", b"1.5x"] {
            assert_eq!(sort_score(bad), None, "{bad:?}");
        }
    }
}

#[cfg(test)]
mod strtod_tests {
    use super::*;

    #[test]
    fn string2d_accepts_what_valkey_accepts() {
        for (s, v) in [
            ("1", 1.0),
            ("-1.5", -1.5),
            ("1.", 1.0),
            (".5", 0.5),
            ("+2e3", 2000.0),
            ("0x10", 16.0),
            ("0X1P-2", 0.25),
            ("0x.8", 0.5),
            ("0x1p3", 8.0),
            ("inf", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("+INF", f64::INFINITY),
            ("-0", -0.0),
            ("1e-310", 1e-310),
            ("0e-400", 0.0),
        ] {
            let got = string2d(s.as_bytes()).unwrap_or_else(|| panic!("{s} refused"));
            assert_eq!(got.to_bits(), v.to_bits(), "{s}");
        }
        for s in [
            "", " 1", "1 ", "1e", "nan", "-nan", "nan(123)", "1e400", "1e-400", "0x", "0x1p", "1_0", "abc", "1\x002",
            "infinit",
        ] {
            assert_eq!(string2d(s.as_bytes()), None, "{s:?} accepted");
        }
    }

    #[test]
    fn bare_strtod_is_laxer() {
        assert_eq!(strtod_whole(b""), Some(0.0));
        assert_eq!(strtod_whole(b" 1"), Some(1.0));
        assert_eq!(strtod_whole(b"1e400"), Some(f64::INFINITY));
        assert_eq!(strtod_whole(b"1e-400"), Some(0.0));
        assert!(strtod_whole(b"nan").unwrap().is_nan());
        assert_eq!(strtod_whole(b"1 "), None);
        assert_eq!(strtod_whole(b"1x"), None);
        assert_eq!(strtod_whole(b"1\x00x"), Some(1.0), "C stops at the NUL");
    }

    #[test]
    fn hex_rounding_is_to_nearest_even() {
        // 2^53 + 1 is halfway between two doubles: rounds to the even one (2^53).
        assert_eq!(string2d(b"0x20000000000001"), Some(9007199254740992.0));
        assert_eq!(string2d(b"0x20000000000003"), Some(9007199254740996.0));
        // Beyond 64 bits of mantissa, dropped digits still count (sticky).
        assert_eq!(string2d(b"0x200000000000010000000001"), Some(f64::from_bits(0x45c0_0000_0000_0001)));
        // The smallest subnormal, and half of it with a little more (rounds up to it).
        assert_eq!(string2d(b"0x1p-1074"), Some(5e-324));
        assert_eq!(string2d(b"0x1.000001p-1075"), Some(5e-324));
        assert_eq!(string2d(b"0x1p-1075"), None, "exactly half: ties to even, zero, underflow");
        assert_eq!(string2d(b"0x1.fffffffffffffp1023"), Some(f64::MAX));
        assert_eq!(string2d(b"0x1p1024"), None, "overflow");
    }

    proptest::proptest! {
        #[test]
        fn decimal_and_hex_forms_of_any_double_roundtrip(bits in proptest::num::u64::ANY) {
            let v = f64::from_bits(bits);
            proptest::prop_assume!(v.is_finite() && v != 0.0);
            proptest::prop_assert_eq!(string2d(format!("{v:e}").as_bytes()), Some(v));
            // %a-style: 0x1.<52 bits>p<exp> (or 0x0.<bits>p-1022 for subnormals).
            let frac = bits & ((1 << 52) - 1);
            let exp = ((bits >> 52) & 0x7ff) as i64;
            let sign = if v < 0.0 { "-" } else { "" };
            let text = if exp == 0 {
                format!("{sign}0x0.{frac:013x}p-1022")
            } else {
                format!("{sign}0x1.{frac:013x}p{}", exp - 1023)
            };
            proptest::prop_assert_eq!(string2d(text.as_bytes()), Some(v), "{}", text);
        }
    }
}
