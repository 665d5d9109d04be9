//! Strict integer parsing with Valkey's rules, shared by the protocol parser and by every
//! command that takes an integer argument.
//!
//! Valkey accepts exactly the canonical decimal form: an optional `-`, then either `0` or a
//! non-zero digit followed by digits, nothing else (no `+`, no spaces, no leading zeros).
//! `"-0"` is rejected too. Anything outside `i64` is rejected rather than wrapped.

/// Parses `s` as an `i64` in Valkey's canonical form; `None` if it is not one.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s {
        [] => return None,
        [b'0'] => return Some(0),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits {
        [b'1'..=b'9', ..] if digits.len() <= 20 => {}
        _ => return None,
    }
    let mut magnitude: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        if magnitude > i64::MAX as u64 + 1 {
            None
        } else {
            Some((magnitude as i64).wrapping_neg())
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Parses `s` as a `u64` in canonical form (no sign at all).
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    match s {
        [b'0'] => Some(0),
        [b'1'..=b'9', ..] if s.len() <= 20 => {
            let mut v: u64 = 0;
            for &b in s {
                if !b.is_ascii_digit() {
                    return None;
                }
                v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
            }
            Some(v)
        }
        _ => None,
    }
}

/// Appends the decimal form of `v` to `out`.
pub fn push_i64(out: &mut Vec<u8>, v: i64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_parse() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
    }

    #[test]
    fn non_canonical_forms_are_rejected() {
        for s in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999999",
        ] {
            assert_eq!(parse_i64(s), None, "{:?}", String::from_utf8_lossy(s));
        }
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
    }

    proptest::proptest! {
        #[test]
        fn roundtrips_every_i64(v: i64) {
            let mut s = Vec::new();
            push_i64(&mut s, v);
            proptest::prop_assert_eq!(parse_i64(&s), Some(v));
        }
    }
}

/// Appends `v` formatted as Valkey 8 formats a double in replies (`d2string`): `nan`, `inf`,
/// `-inf`, `0`/`-0`, integral values within ±2^62 as integers, and everything else as
/// fpconv's Grisu2 digits (a decimal that round-trips, almost always the shortest), in plain
/// notation for moderate exponents and `d.ddde±XX` otherwise.
pub fn push_double(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"nan");
    } else if v.is_infinite() {
        out.extend_from_slice(if v < 0.0 { b"-inf" } else { b"inf" });
    } else if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
    } else if v >= -(i64::MAX / 2) as f64 && v <= (i64::MAX / 2) as f64 && v == (v as i64) as f64 {
        push_i64(out, v as i64);
    } else {
        push_shortest(out, v);
    }
}

/// Appends `v` as Valkey's `fpconv_dtoa` prints it (what DEBUG DIGEST hashes): `0`/`-0`,
/// `inf`/`-inf`, `nan`, and otherwise the Grisu2 digits laid out as [`push_double`] lays them
/// out, integral values included (`1e+20`, not `100000000000000000000`).
pub fn push_fpconv(out: &mut Vec<u8>, v: f64) {
    if v == 0.0 || !v.is_finite() {
        if v.is_sign_negative() {
            out.push(b'-');
        }
        out.extend_from_slice(if v == 0.0 {
            b"0"
        } else if v.is_nan() {
            b"nan"
        } else {
            b"inf"
        });
    } else {
        push_shortest(out, v);
    }
}

/// Grisu2's digits of `v` (see `dtoa.rs`: what Valkey's fpconv produces, not always the
/// shortest round-trip form), laid out with fpconv's rules.
fn push_shortest(out: &mut Vec<u8>, v: f64) {
    let neg = v < 0.0;
    let mut buf = [0u8; 24];
    let (n, k) = crate::dtoa::grisu2(v, &mut buf);
    let digits = &buf[..n];
    let ndigits = digits.len() as i32;
    if neg {
        out.push(b'-');
    }
    let exp = (k + ndigits - 1).abs();
    if k >= 0 && exp < ndigits + 7 {
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat_n(b'0', k as usize));
        return;
    }
    if k < 0 && (k > -7 || exp < 4) {
        let offset = ndigits + k;
        if offset <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-offset) as usize));
            out.extend_from_slice(digits);
        } else {
            out.extend_from_slice(&digits[..offset as usize]);
            out.push(b'.');
            out.extend_from_slice(&digits[offset as usize..]);
        }
        return;
    }
    let nd = ndigits.min(18 - i32::from(neg)) as usize;
    out.push(digits[0]);
    if nd > 1 {
        out.push(b'.');
        out.extend_from_slice(&digits[1..nd]);
    }
    out.push(b'e');
    // fpconv decides the sign with the (possibly shortened) digit count.
    out.push(if k + nd as i32 - 1 < 0 { b'-' } else { b'+' });
    let mut e = exp;
    let cent = e / 100;
    if e > 99 {
        out.push(b'0' + cent as u8);
        e -= cent * 100;
    }
    if e > 9 {
        out.push(b'0' + (e / 10) as u8);
        e %= 10;
    } else if cent > 0 {
        out.push(b'0');
    }
    out.push(b'0' + e as u8);
}

#[cfg(test)]
mod double_tests {
    use super::push_double;

    fn fmt(v: f64) -> String {
        let mut out = Vec::new();
        push_double(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats_like_valkey() {
        assert_eq!(fmt(1.5), "1.5");
        assert_eq!(fmt(-0.0), "-0");
        assert_eq!(fmt(3.0), "3");
        assert_eq!(fmt(f64::INFINITY), "inf");
        assert_eq!(fmt(f64::NEG_INFINITY), "-inf");
        assert_eq!(fmt(f64::NAN), "nan");
        assert_eq!(fmt(0.1), "0.1");
        assert_eq!(fmt(1.0e-7), "1e-7");
        assert_eq!(fmt(1.5e-7), "1.5e-7");
        assert_eq!(fmt(0.000001), "0.000001");
        assert_eq!(fmt(1e300), "1e+300");
        assert_eq!(fmt(1.7976931348623157e308), "1.7976931348623157e+308");
        assert_eq!(fmt(3.0e18), "3000000000000000000");
        assert_eq!(fmt(1e22), "1e+22");
        assert_eq!(fmt(123.456), "123.456");
        assert_eq!(fmt(-2.5e-5), "-0.000025");
        assert_eq!(fmt(5e-324), "5e-324");
    }

    /// Doubles for which Grisu2 (and so Valkey) does not print the shortest round-trip form:
    /// expected strings checked against Valkey's fpconv_dtoa compiled from its sources (and
    /// 2.7 million random doubles compared the same way while writing dtoa.rs).
    #[test]
    fn grisu2_is_not_always_shortest() {
        for (bits, want) in [
            (0x40a5_63f9_de46_83d5u64, "2737.9880239520958"),
            (0x4079_8c0a_99b4_bcb0, "408.75258799171843"),
            (0x40b0_7585_805d_e420, "4213.5214899713465"),
            (0x409a_ccc0_d94b_5fbf, "1715.1883289124669"),
        ] {
            let v = f64::from_bits(bits);
            assert_eq!(fmt(v), want);
            assert_eq!(fmt(-v), format!("-{want}"));
            assert_eq!(want.parse::<f64>().unwrap(), v, "still round-trips");
            assert!(format!("{v}").len() < want.len(), "Rust's shortest form is shorter");
        }
    }
}
