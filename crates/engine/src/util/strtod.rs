//! SORT's numeric weights: the C library's `strtod`, through the shim in `csrc/sortscore.c`,
//! with Valkey's acceptance rule (the parse reaches the end of the C string, no ERANGE, no NaN).

extern "C" {
    fn kv_sort_score(s: *const libc::c_char, out: *mut f64) -> libc::c_int;
}

/// The weight of `bytes` as Valkey's SORT computes it: `None` when it is not a valid number.
/// Like the C code, it sees the bytes up to the first NUL.
pub fn sort_score(bytes: &[u8]) -> Option<f64> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let mut c_string = Vec::with_capacity(end + 1);
    c_string.extend_from_slice(&bytes[..end]);
    c_string.push(0);
    let mut out = 0f64;
    // SAFETY: `c_string` is NUL-terminated and lives across the call; `kv_sort_score` reads it
    // up to that NUL (strtod never reads past it), writes one double into `out`, and keeps no
    // pointer.
    let ok = unsafe { kv_sort_score(c_string.as_ptr().cast::<libc::c_char>(), &mut out) };
    (ok == 1).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_rules() {
        assert_eq!(sort_score(b"1.5"), Some(1.5));
        assert_eq!(sort_score(b"-3"), Some(-3.0));
        assert_eq!(sort_score(b"  7"), Some(7.0), "leading spaces");
        assert_eq!(sort_score(b""), Some(0.0), "the empty string reads as 0");
        assert_eq!(sort_score(b"0x10"), Some(16.0), "hex");
        assert_eq!(sort_score(b"inf"), Some(f64::INFINITY));
        assert_eq!(sort_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(sort_score(b"12\0junk"), Some(12.0), "stops at a NUL like C");
        assert_eq!(sort_score(b"\x001"), Some(0.0), "an empty C string");
        for bad in [&b"nan"[..], b"1e999", b"-1e999", b"1e-400", b"abc", b"1 ", b"1.5x"] {
            assert_eq!(sort_score(bad), None, "{bad:?}");
        }
    }
}
