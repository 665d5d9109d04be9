//! String value helpers shared by the string and bit families: viewing a value as a string,
//! Valkey's index arithmetic for GETRANGE, INCRBYFLOAT's `long double` sum (through the C shim
//! in `csrc/longdouble.c`), and the LCS dynamic program.
//!
//! Everything here is pure: no keyspace, no replies. The command files decide what to do with
//! the results.

use super::{StrRef, ValueRef};

/// The string held by a value, or `None` when the value is of another type (the caller replies
/// WRONGTYPE). Written as a match on every kind so that new types land in the `None` arm.
pub fn string_of(v: ValueRef<'_>) -> Option<StrRef<'_>> {
    #[allow(unreachable_patterns)]
    match v {
        ValueRef::Str(s) => Some(s),
        _ => None,
    }
}

/// The bytes of a string, formatting an integer into `buf` (no allocation).
pub fn str_bytes<'a>(s: StrRef<'a>, buf: &'a mut itoa::Buffer) -> &'a [u8] {
    match s {
        StrRef::Bytes(b) => b,
        StrRef::Int(i) => buf.format(i).as_bytes(),
    }
}

/// The byte range GETRANGE returns for `start..=end` (negative indexes count from the end) over
/// a string of `len` bytes; `None` for an empty reply. Valkey's rules, including "both negative
/// and start after end is empty" before the clamping.
pub fn getrange_bounds(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len_i = len as i64;
    let mut start = if start < 0 { len_i + start } else { start };
    let mut end = if end < 0 { len_i + end } else { end };
    start = start.max(0);
    end = end.max(0);
    if len == 0 || end >= len_i {
        end = len_i - 1;
    }
    if len == 0 || start > end {
        return None;
    }
    Some((start as usize, end as usize))
}

/// Why INCRBYFLOAT could not produce a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatIncrError {
    /// The stored value or the increment is not a valid float.
    NotFloat,
    /// The sum is NaN or infinite.
    NanOrInfinity,
}

/// Valkey's buffer for a formatted `long double` (MAX_LONG_DOUBLE_CHARS); operands must be
/// shorter than this too.
const LONG_DOUBLE_CHARS: usize = 5 * 1024;

extern "C" {
    fn kv_ld_add(
        cur: *const libc::c_char,
        cur_len: libc::size_t,
        incr: *const libc::c_char,
        incr_len: libc::size_t,
        out: *mut libc::c_char,
        out_cap: libc::size_t,
    ) -> libc::c_long;

    fn kv_ld_seconds_to_ms(s: *const libc::c_char, len: libc::size_t, out: *mut libc::c_longlong) -> libc::c_int;
}

/// Why a number of seconds could not be turned into milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondsError {
    /// Not a float in `strtold` syntax (or NaN, or out of `long double` range).
    NotFloat,
    /// More milliseconds than an `i64` holds.
    OutOfRange,
}

/// `seconds` (text) as whole milliseconds rounded up, computed in C `long double` as Valkey
/// reads the timeout of a blocking command. Very negative values saturate at `i64::MIN`.
pub fn seconds_to_ms_ceil(seconds: &[u8]) -> Result<i64, SecondsError> {
    let mut out: libc::c_longlong = 0;
    // SAFETY: the shim reads exactly `seconds.len()` bytes at `seconds` (a borrowed slice) and
    // writes one `long long` to `out`, a local; it keeps no pointer after returning.
    let rc = unsafe { kv_ld_seconds_to_ms(seconds.as_ptr().cast::<libc::c_char>(), seconds.len(), &mut out) };
    match rc {
        0 => Ok(out),
        -2 => Err(SecondsError::OutOfRange),
        _ => Err(SecondsError::NotFloat),
    }
}

/// `current + incr` computed as Valkey's INCRBYFLOAT does: both parsed with `strtold`, added
/// in C `long double`, formatted with `%.17Lf` and trailing zeros removed. `current` is `None`
/// for a missing key (zero). Returns the text Valkey stores.
pub fn long_double_add(current: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, FloatIncrError> {
    let mut out = [0u8; LONG_DOUBLE_CHARS];
    let (cur_ptr, cur_len) = match current {
        Some(c) => (c.as_ptr().cast::<libc::c_char>(), c.len()),
        None => (std::ptr::null(), 0),
    };
    // SAFETY: `kv_ld_add` reads exactly `cur_len` bytes at `cur_ptr` (or nothing when it is
    // null) and `incr.len()` bytes at `incr`, both valid borrowed slices; it writes at most
    // `out.len()` bytes into `out`, which is ours for the duration of the call; it keeps no
    // pointer after returning and touches no other memory.
    let n = unsafe {
        kv_ld_add(
            cur_ptr,
            cur_len,
            incr.as_ptr().cast::<libc::c_char>(),
            incr.len(),
            out.as_mut_ptr().cast::<libc::c_char>(),
            out.len(),
        )
    };
    match n {
        -1 => Err(FloatIncrError::NotFloat),
        -2 => Err(FloatIncrError::NanOrInfinity),
        n if n >= 0 && (n as usize) < out.len() => Ok(out[..n as usize].to_vec()),
        // The shim never returns anything else; treat it as Valkey treats a formatting failure.
        _ => Ok(Vec::new()),
    }
}

/// One common run reported by `LCS ... IDX`: inclusive byte ranges in each string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LcsMatch {
    pub a: (u32, u32),
    pub b: (u32, u32),
    pub len: u32,
}

/// The result of walking the LCS table back.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Lcs {
    pub len: u32,
    /// The common subsequence itself (empty unless asked for).
    pub text: Vec<u8>,
    /// Runs of at least `min_match_len` bytes, from the end of the strings backwards.
    pub matches: Vec<LcsMatch>,
}

/// Bytes the LCS table for strings of these lengths needs, or `None` on overflow.
pub fn lcs_table_bytes(a_len: usize, b_len: usize) -> Option<u64> {
    let cells = (a_len as u64 + 1).checked_mul(b_len as u64 + 1)?;
    cells.checked_mul(std::mem::size_of::<u32>() as u64)
}

/// Computes the longest common subsequence of `a` and `b` with the classic dynamic program
/// over a table of `(a.len()+1) * (b.len()+1)` lengths. The caller has checked the table size
/// (`lcs_table_bytes`) against its limits; `None` if the table cannot be allocated.
///
/// `want_text`/`want_matches` select what the backwards walk records; runs shorter than
/// `min_match_len` are left out of `matches` (0 keeps all). The walk order — and so the order
/// and shape of the runs — is Valkey's, so `IDX` replies are identical.
pub fn lcs(a: &[u8], b: &[u8], want_text: bool, want_matches: bool, min_match_len: u64) -> Option<Lcs> {
    let (alen, blen) = (a.len(), b.len());
    let width = blen + 1;
    let cells = (alen + 1).checked_mul(width)?;
    let mut table: Vec<u32> = Vec::new();
    table.try_reserve_exact(cells).ok()?;
    table.resize(cells, 0);
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let len = table[alen * width + blen];
    let mut out = Lcs { len, ..Lcs::default() };
    if !want_text && !want_matches {
        return Some(out);
    }

    let mut text = vec![0u8; len as usize];
    let mut remaining = len as usize;
    // The run being tracked, as inclusive ranges; `None` when no run is open.
    let mut run: Option<((usize, usize), (usize, usize))> = None;
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            text[remaining - 1] = a[i - 1];
            match run.as_mut() {
                None => run = Some(((i - 1, i - 1), (j - 1, j - 1))),
                // Contiguous with the open run: extend it backwards.
                Some((ra, rb)) if ra.0 == i && rb.0 == j => {
                    ra.0 -= 1;
                    rb.0 -= 1;
                }
                Some(_) => emit = true,
            }
            // A run that reached the start of either string cannot grow further.
            if let Some((ra, rb)) = run {
                if ra.0 == 0 || rb.0 == 0 {
                    emit = true;
                }
            }
            remaining -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * width + j] > table[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = run.is_some();
        }
        if emit {
            if let Some((ra, rb)) = run.take() {
                let run_len = (ra.1 - ra.0 + 1) as u32;
                if want_matches && (min_match_len == 0 || u64::from(run_len) >= min_match_len) {
                    out.matches.push(LcsMatch {
                        a: (ra.0 as u32, ra.1 as u32),
                        b: (rb.0 as u32, rb.1 as u32),
                        len: run_len,
                    });
                }
            }
        }
    }
    if want_text {
        out.text = text;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(cur: Option<&str>, incr: &str) -> Result<String, FloatIncrError> {
        long_double_add(cur.map(str::as_bytes), incr.as_bytes()).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn seconds_round_up_to_milliseconds_like_valkey() {
        let ms = |s: &str| seconds_to_ms_ceil(s.as_bytes());
        assert_eq!(ms("0"), Ok(0));
        assert_eq!(ms("1"), Ok(1000));
        assert_eq!(ms("0.001"), Ok(1));
        assert_eq!(ms("0.0001"), Ok(1));
        assert_eq!(ms("1.5e-3"), Ok(2));
        assert_eq!(ms("-0.0001"), Ok(0));
        assert_eq!(ms("-1"), Ok(-1000));
        assert_eq!(ms("0x10"), Ok(16000));
        assert_eq!(ms("-inf"), Ok(i64::MIN));
        assert_eq!(ms("9223372036854775"), Ok(9_223_372_036_854_775_000));
        assert_eq!(ms("inf"), Err(SecondsError::OutOfRange));
        assert_eq!(ms("9223372036854776"), Err(SecondsError::OutOfRange));
        for bad in ["", " 1", "1 ", "nan", "abc", "1e99999", "1\0"] {
            assert_eq!(ms(bad), Err(SecondsError::NotFloat), "{bad:?}");
        }
    }

    #[test]
    fn long_double_sums_format_like_valkey() {
        assert_eq!(add(Some("10.5"), "0.1").unwrap(), "10.6");
        assert_eq!(add(Some("3.0e3"), "2.0e2").unwrap(), "3200");
        assert_eq!(add(Some("5.0e3"), "2.0e2").unwrap(), "5200");
        assert_eq!(add(None, "1").unwrap(), "1");
        assert_eq!(add(Some("1"), "-1.1").unwrap(), "-0.1");
        assert_eq!(add(Some("17179869184"), "1.5").unwrap(), "17179869185.5");
        assert_eq!(add(Some("0.1"), "0.2").unwrap(), "0.3");
        // Negative zero is written as 0.
        assert_eq!(add(Some("-0.0"), "0").unwrap(), "0");
        assert_eq!(add(Some("1e-30"), "0").unwrap(), "0");
        // Hex floats and "infinity" spellings are what strtold accepts.
        assert_eq!(add(Some("0x10"), "1").unwrap(), "17");
        assert_eq!(add(Some("9223372036854775807"), "1").unwrap(), "9223372036854775808");
    }

    #[test]
    fn long_double_rejects_what_valkey_rejects() {
        for bad in ["", " 1", "1 ", "abc", "1.2.3", "nan", "1e999999", "1\x002"] {
            assert_eq!(add(Some(bad), "1"), Err(FloatIncrError::NotFloat), "current {bad:?}");
            assert_eq!(add(Some("1"), bad), Err(FloatIncrError::NotFloat), "incr {bad:?}");
        }
        assert_eq!(add(Some(&"1".repeat(LONG_DOUBLE_CHARS)), "1"), Err(FloatIncrError::NotFloat));
        assert_eq!(add(Some("0"), "+inf"), Err(FloatIncrError::NanOrInfinity));
        assert_eq!(add(Some("inf"), "-inf"), Err(FloatIncrError::NanOrInfinity));
        // The largest long double still formats (about 4950 digits).
        let big = add(Some("1.1e4932"), "0").unwrap();
        assert!(big.len() == 4933 && big.bytes().all(|b| b.is_ascii_digit()), "{}", big.len());
    }

    #[test]
    fn getrange_index_rules() {
        assert_eq!(getrange_bounds(0, 3, 11), Some((0, 3)));
        assert_eq!(getrange_bounds(0, -1, 11), Some((0, 10)));
        assert_eq!(getrange_bounds(-4, -1, 11), Some((7, 10)));
        assert_eq!(getrange_bounds(5, 3, 11), None);
        assert_eq!(getrange_bounds(5, 5000, 11), Some((5, 10)));
        assert_eq!(getrange_bounds(-5000, 10000, 11), Some((0, 10)));
        assert_eq!(getrange_bounds(-1, -3, 5), None);
        assert_eq!(getrange_bounds(0, -1, 0), None);
        assert_eq!(getrange_bounds(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(getrange_bounds(i64::MAX, i64::MAX, 3), None);
        assert_eq!(getrange_bounds(0, 4294967297, 3), Some((0, 2)));
    }

    #[test]
    fn lcs_text_length_and_runs() {
        let r = lcs(b"ohmytext", b"mynewtext", true, true, 0).unwrap();
        assert_eq!((r.len, &r.text[..]), (6, &b"mytext"[..]));
        assert_eq!(
            r.matches,
            vec![LcsMatch { a: (4, 7), b: (5, 8), len: 4 }, LcsMatch { a: (2, 3), b: (0, 1), len: 2 }]
        );
        let r = lcs(b"ohmytext", b"mynewtext", false, true, 3).unwrap();
        assert_eq!((r.text.len(), r.matches.len()), (0, 1));
        let r = lcs(b"", b"abc", true, true, 0).unwrap();
        assert_eq!(r, Lcs::default());
        assert_eq!(lcs(b"abc", b"xyz", false, false, 0).unwrap().len, 0);
        assert_eq!(lcs_table_bytes(1, 1), Some(16));
    }

    #[test]
    fn views_of_strings() {
        let mut buf = itoa::Buffer::new();
        assert_eq!(str_bytes(StrRef::Int(-42), &mut buf), b"-42");
        let mut buf = itoa::Buffer::new();
        assert_eq!(str_bytes(StrRef::Bytes(b"x\0y"), &mut buf), b"x\0y");
        assert_eq!(string_of(ValueRef::Str(StrRef::Int(1))), Some(StrRef::Int(1)));
    }
}
