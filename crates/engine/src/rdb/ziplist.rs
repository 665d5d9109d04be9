//! Ziplists: the compact encoding of small collections before listpacks (Redis 6.2 and older),
//! found in RDB files and DUMP payloads of those versions (list types 10 and 14 here). Only
//! read, never written.
//!
//! ```text
//! | zlbytes: u32 LE | zltail: u32 LE | zllen: u16 LE | entry ... | 0xFF |
//! entry = prevlen (1 byte, or 0xFE + u32 LE) | encoding (+ length) | data
//! ```
//!
//! Encodings: `00llllll`, `01llllll llllllll` (big-endian) and `10xxxxxx` + 4-byte big-endian
//! lengths for strings; `0xC0` i16, `0xD0` i32, `0xE0` i64, `0xF0` i24, `0xFE` i8 (little
//! endian); `0xF1..=0xFD` the immediate values 0 to 12. A ziplist from outside is checked
//! entry by entry as Valkey's `ziplistValidateIntegrity` does (deep): bounds, every prevlen,
//! the tail offset, the count and the end byte.

use crate::types::listpack::LpValue;

const HEADER_SIZE: usize = 10;
const END: u8 = 0xFF;
const BIG_PREVLEN: u8 = 0xFE;

/// One entry's encoding: (header bytes after prevlen, data bytes), or `None` if invalid.
fn encoding_at(zl: &[u8], at: usize) -> Option<(usize, usize)> {
    let b = *zl.get(at)?;
    Some(match b >> 6 {
        0 => (1, usize::from(b & 0x3f)),
        1 => (2, usize::from(b & 0x3f) << 8 | usize::from(*zl.get(at + 1)?)),
        2 => {
            let l = zl.get(at + 1..at + 5)?;
            (5, u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize)
        }
        _ => match b {
            0xC0 => (1, 2),
            0xD0 => (1, 4),
            0xE0 => (1, 8),
            0xF0 => (1, 3),
            0xFE => (1, 1),
            0xF1..=0xFD => (1, 0),
            _ => return None,
        },
    })
}

/// The value of an entry whose encoding byte is `enc` and data `data`.
fn value<'a>(enc: u8, data: &'a [u8]) -> LpValue<'a> {
    match enc {
        0xC0 => LpValue::Int(i64::from(i16::from_le_bytes([data[0], data[1]]))),
        0xD0 => LpValue::Int(i64::from(i32::from_le_bytes([data[0], data[1], data[2], data[3]]))),
        0xE0 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(data);
            LpValue::Int(i64::from_le_bytes(b))
        }
        0xF0 => LpValue::Int(i64::from(i32::from_le_bytes([0, data[0], data[1], data[2]]) >> 8)),
        0xFE => LpValue::Int(i64::from(data[0] as i8)),
        0xF1..=0xFD => LpValue::Int(i64::from(enc & 0x0f) - 1),
        _ => LpValue::Str(data),
    }
}

/// Checks a ziplist from outside and calls `f` on each element in order. `None` if it is not
/// a valid ziplist (nothing is allocated from its claims). Returns the element count.
pub fn for_each(zl: &[u8], mut f: impl FnMut(LpValue<'_>)) -> Option<usize> {
    if zl.len() < HEADER_SIZE + 1 {
        return None;
    }
    let bytes = u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize;
    let tail = u32::from_le_bytes([zl[4], zl[5], zl[6], zl[7]]) as usize;
    let header_count = u16::from_le_bytes([zl[8], zl[9]]);
    let last = zl.len() - 1;
    if bytes != zl.len() || zl[last] != END || tail > last {
        return None;
    }
    let (mut p, mut prev, mut prev_size, mut count) = (HEADER_SIZE, None, 0usize, 0usize);
    while zl[p] != END {
        let (prevlen_size, prevlen) = if zl[p] == BIG_PREVLEN {
            let l = zl.get(p + 1..p + 5)?;
            (5, u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize)
        } else {
            (1, usize::from(zl[p]))
        };
        let enc_at = p + prevlen_size;
        if enc_at > last || prevlen != prev_size {
            return None;
        }
        let (enc_size, data_size) = encoding_at(zl, enc_at)?;
        let data_at = enc_at + enc_size;
        let end = data_at.checked_add(data_size)?;
        if end > last {
            return None;
        }
        f(value(zl[enc_at], &zl[data_at..end]));
        prev_size = end - p;
        prev = Some(p);
        p = end;
        count += 1;
    }
    if p != last || prev.is_some_and(|q| q != tail) || (header_count != u16::MAX && count != usize::from(header_count))
    {
        return None;
    }
    Some(count)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a ziplist the way Redis 6 wrote them (strings as given, canonical integers in
    /// the smallest encoding), for tests.
    pub(crate) fn build(values: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = HEADER_SIZE;
        for v in values {
            let start = body.len();
            tail = HEADER_SIZE + start;
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(BIG_PREVLEN);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match resp::number::parse_i64(v) {
                Some(i @ 0..=12) => body.push(0xF1 + i as u8),
                Some(i) if i8::try_from(i).is_ok() => body.extend_from_slice(&[0xFE, i as u8]),
                Some(i) if i16::try_from(i).is_ok() => {
                    body.push(0xC0);
                    body.extend_from_slice(&(i as i16).to_le_bytes());
                }
                Some(i) if (-(1 << 23)..1 << 23).contains(&i) => {
                    body.push(0xF0);
                    body.extend_from_slice(&(i as i32).to_le_bytes()[..3]);
                }
                Some(i) if i32::try_from(i).is_ok() => {
                    body.push(0xD0);
                    body.extend_from_slice(&(i as i32).to_le_bytes());
                }
                Some(i) => {
                    body.push(0xE0);
                    body.extend_from_slice(&i.to_le_bytes());
                }
                None if v.len() <= 0x3f => {
                    body.push(v.len() as u8);
                    body.extend_from_slice(v);
                }
                None if v.len() <= 0x3fff => {
                    body.extend_from_slice(&[0x40 | (v.len() >> 8) as u8, v.len() as u8]);
                    body.extend_from_slice(v);
                }
                None => {
                    body.push(0x80);
                    body.extend_from_slice(&(v.len() as u32).to_be_bytes());
                    body.extend_from_slice(v);
                }
            }
            prev = body.len() - start;
        }
        let total = HEADER_SIZE + body.len() + 1;
        let mut zl = Vec::with_capacity(total);
        zl.extend_from_slice(&(total as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(values.len().min(u16::MAX as usize) as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(END);
        zl
    }

    fn read(zl: &[u8]) -> Option<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for_each(zl, |v| out.push(v.to_vec()))?;
        Some(out)
    }

    #[test]
    fn every_encoding_reads_back() {
        let big = vec![b'z'; 20_000];
        let mid = vec![b'm'; 300];
        let values: Vec<&[u8]> = vec![
            b"0",
            b"12",
            b"13",
            b"-1",
            b"127",
            b"-128",
            b"200",
            b"-32768",
            b"32767",
            b"40000",
            b"-8388608",
            b"8388607",
            b"8388608",
            b"2147483647",
            b"-2147483648",
            b"2147483648",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"",
            b"hello",
            &mid,
            &big,
            b"01",
            b"-0",
        ];
        let zl = build(&values);
        assert_eq!(read(&zl), Some(values.iter().map(|v| v.to_vec()).collect()));
        assert_eq!(read(&build(&[])), Some(vec![]));
    }

    #[test]
    fn damage_is_refused_without_panicking() {
        let zl = build(&[b"a", b"1000", &[b'q'; 300], b"7"]);
        assert!(read(&zl).is_some());
        for cut in 0..zl.len() {
            assert_eq!(read(&zl[..cut]), None, "truncated at {cut}");
        }
        for i in 0..zl.len() {
            for flip in [0x01u8, 0x40, 0x80, 0xff] {
                let mut bad = zl.clone();
                bad[i] ^= flip;
                let _ = read(&bad);
            }
        }
        let mut wrong_count = zl.clone();
        wrong_count[8] = 3;
        assert_eq!(read(&wrong_count), None);
        let mut wrong_tail = zl.clone();
        wrong_tail[4] = 11;
        assert_eq!(read(&wrong_tail), None);
        let mut unknown_count = zl.clone();
        unknown_count[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(read(&unknown_count).map(|v| v.len()), Some(4));
    }
}
