//! RDB length encoding: the variable-size unsigned integer that prefixes strings and
//! collections, and that also flags the special string encodings.
//!
//! The top two bits of the first byte say how to read it:
//!
//! ```text
//! 00xxxxxx                       6-bit length
//! 01xxxxxx xxxxxxxx              14-bit length, big endian
//! 10000000 + 4 bytes             32-bit length, big endian
//! 10000001 + 8 bytes             64-bit length, big endian
//! 11xxxxxx                       not a length: a special encoding, xxxxxx says which
//! ```

use super::{RdbError, Reader};

const ENC_6BIT: u8 = 0;
const ENC_14BIT: u8 = 1;
const ENC_32BIT: u8 = 0x80;
const ENC_64BIT: u8 = 0x81;
/// Top bits `11`: the low six bits name a special encoding.
pub const ENC_SPECIAL: u8 = 3;

/// A decoded length field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Len {
    /// A plain length.
    Plain(u64),
    /// A special encoding (`11xxxxxx`), with the value of `xxxxxx`.
    Special(u8),
}

/// Appends `len` in the shortest form (Valkey's `rdbSaveLen`).
pub fn save_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push((ENC_6BIT << 6) | len as u8);
    } else if len < 1 << 14 {
        out.push((ENC_14BIT << 6) | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u64::from(u32::MAX) {
        out.push(ENC_32BIT);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(ENC_64BIT);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// Reads a length field (Valkey's `rdbLoadLenByRef`).
pub fn load_len(r: &mut Reader<'_>) -> Result<Len, RdbError> {
    let first = r.read_u8()?;
    match first >> 6 {
        ENC_SPECIAL => Ok(Len::Special(first & 0x3f)),
        ENC_6BIT => Ok(Len::Plain(u64::from(first & 0x3f))),
        ENC_14BIT => Ok(Len::Plain(u64::from(first & 0x3f) << 8 | u64::from(r.read_u8()?))),
        _ => match first {
            ENC_32BIT => Ok(Len::Plain(u64::from(u32::from_be_bytes(r.read_array()?)))),
            ENC_64BIT => Ok(Len::Plain(u64::from_be_bytes(r.read_array()?))),
            _ => Err(RdbError::Corrupt("unknown length encoding")),
        },
    }
}

/// Reads a length where no special encoding is expected. As in Valkey (`rdbLoadLen` with no
/// `isencoded` output), a special-encoding byte is taken as the length of its low six bits.
pub fn load_plain_len(r: &mut Reader<'_>) -> Result<u64, RdbError> {
    Ok(match load_len(r)? {
        Len::Plain(n) => n,
        Len::Special(n) => u64::from(n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        save_len(&mut out, n);
        out
    }

    #[test]
    fn byte_forms_match_valkey() {
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(63), [0x3f]);
        assert_eq!(enc(64), [0x40, 0x40]);
        assert_eq!(enc(16383), [0x7f, 0xff]);
        assert_eq!(enc(16384), [0x80, 0, 0, 0x40, 0]);
        assert_eq!(enc(u64::from(u32::MAX)), [0x80, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(enc(1 << 32), [0x81, 0, 0, 0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn roundtrip_and_errors() {
        for n in [0, 1, 63, 64, 300, 16383, 16384, 70000, 1 << 31, u64::from(u32::MAX), 1 << 40, u64::MAX] {
            let bytes = enc(n);
            let mut r = Reader::new(&bytes);
            assert_eq!(load_len(&mut r), Ok(Len::Plain(n)));
            assert_eq!(r.remaining(), 0);
            // Every truncation is reported, never read past.
            for cut in 0..bytes.len() {
                assert_eq!(load_len(&mut Reader::new(&bytes[..cut])), Err(RdbError::Truncated));
            }
        }
        assert_eq!(load_len(&mut Reader::new(&[0xc3])), Ok(Len::Special(3)));
        assert_eq!(load_plain_len(&mut Reader::new(&[0xc3])), Ok(3));
        assert!(matches!(load_len(&mut Reader::new(&[0x82, 0, 0, 0, 0])), Err(RdbError::Corrupt(_))));
    }
}
