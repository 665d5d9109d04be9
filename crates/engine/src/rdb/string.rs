//! RDB string encoding, the building block of every RDB object.
//!
//! A string is written in the first of these forms that applies (Valkey's `rdbSaveRawString`):
//!
//! - an integer in canonical decimal form that fits in 32 bits: `11000000|1|2` then the
//!   integer in 1, 2 or 4 little-endian bytes;
//! - with compression on and more than 20 bytes, LZF when it saves at least 4 bytes:
//!   `11000011`, compressed length, original length, compressed bytes;
//! - otherwise a length then the raw bytes.

use super::len::{load_len, load_plain_len, save_len, Len};
use super::{lzf, RdbError, Reader};
use crate::types::{StrRef, Value};

/// Special string encodings (the low bits of a `11xxxxxx` length byte).
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// Strings this short never compress (Valkey does not try below 21 bytes).
const LZF_MIN_LEN: usize = 21;
/// Compression must save at least this many bytes to be used.
const LZF_MIN_SAVING: usize = 4;

/// Appends a string value, whatever its in-memory form.
pub fn save_str(out: &mut Vec<u8>, s: StrRef<'_>, compress: bool) {
    match s {
        StrRef::Int(i) => save_int(out, i),
        StrRef::Bytes(b) => save_bytes(out, b, compress),
    }
}

/// Appends an integer-valued string (Valkey's `rdbSaveLongLongAsStringObject`): the integer
/// encoding when it fits in 32 bits, else its decimal digits (never compressed).
pub fn save_int(out: &mut Vec<u8>, v: i64) {
    if !save_small_int(out, v) {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(v).as_bytes();
        save_len(out, digits.len() as u64);
        out.extend_from_slice(digits);
    }
}

/// Appends a byte string (Valkey's `rdbSaveRawString`).
pub fn save_bytes(out: &mut Vec<u8>, b: &[u8], compress: bool) {
    // At most 11 bytes ("-2147483648") can be a 32-bit integer.
    if b.len() <= 11 {
        if let Some(v) = resp::number::parse_i64(b) {
            if save_small_int(out, v) {
                return;
            }
        }
    }
    if compress && b.len() >= LZF_MIN_LEN {
        if let Some(packed) = lzf::compress(b, b.len() - LZF_MIN_SAVING) {
            out.push(0xc0 | ENC_LZF);
            save_len(out, packed.len() as u64);
            save_len(out, b.len() as u64);
            out.extend_from_slice(&packed);
            return;
        }
    }
    save_len(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// The integer encoding, if `v` fits in 32 bits (Valkey's `rdbEncodeInteger`).
fn save_small_int(out: &mut Vec<u8>, v: i64) -> bool {
    if let Ok(v) = i8::try_from(v) {
        out.extend_from_slice(&[0xc0 | ENC_INT8, v as u8]);
    } else if let Ok(v) = i16::try_from(v) {
        out.push(0xc0 | ENC_INT16);
        out.extend_from_slice(&v.to_le_bytes());
    } else if let Ok(v) = i32::try_from(v) {
        out.push(0xc0 | ENC_INT32);
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// A string read back: integer encodings stay integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RdbStr {
    Int(i64),
    Bytes(Vec<u8>),
}

impl RdbStr {
    /// The value a string key gets: integers in canonical form become `Value::Int`, as
    /// Valkey's `tryObjectEncoding` does after loading.
    pub fn into_value(self) -> Value {
        match self {
            RdbStr::Int(i) => Value::Int(i),
            RdbStr::Bytes(b) => Value::string(b),
        }
    }

    /// The string's bytes (integers in decimal).
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            RdbStr::Int(i) => itoa::Buffer::new().format(i).as_bytes().to_vec(),
            RdbStr::Bytes(b) => b,
        }
    }
}

/// Reads a string in any of its encodings (Valkey's `rdbGenericLoadStringObject`).
pub fn load_string(r: &mut Reader<'_>) -> Result<RdbStr, RdbError> {
    match load_len(r)? {
        Len::Plain(n) => {
            let n = usize::try_from(n).map_err(|_| RdbError::Truncated)?;
            Ok(RdbStr::Bytes(r.read_bytes(n)?.to_vec()))
        }
        Len::Special(ENC_INT8) => Ok(RdbStr::Int(i64::from(i8::from_le_bytes(r.read_array()?)))),
        Len::Special(ENC_INT16) => Ok(RdbStr::Int(i64::from(i16::from_le_bytes(r.read_array()?)))),
        Len::Special(ENC_INT32) => Ok(RdbStr::Int(i64::from(i32::from_le_bytes(r.read_array()?)))),
        Len::Special(ENC_LZF) => {
            let packed_len = usize::try_from(load_plain_len(r)?).map_err(|_| RdbError::Truncated)?;
            let len = load_plain_len(r)?;
            let packed = r.read_bytes(packed_len)?;
            let len = usize::try_from(len).map_err(|_| RdbError::Corrupt("invalid LZF compressed string"))?;
            lzf::decompress(packed, len).map(RdbStr::Bytes).ok_or(RdbError::Corrupt("invalid LZF compressed string"))
        }
        Len::Special(_) => Err(RdbError::Corrupt("unknown RDB string encoding type")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(b: &[u8], compress: bool) -> Vec<u8> {
        let mut out = Vec::new();
        save_bytes(&mut out, b, compress);
        out
    }

    #[test]
    fn integer_encodings_are_valkeys() {
        assert_eq!(saved(b"0", true), [0xc0, 0]);
        assert_eq!(saved(b"-128", true), [0xc0, 0x80]);
        assert_eq!(saved(b"128", true), [0xc1, 0x80, 0x00]);
        assert_eq!(saved(b"-32769", true), [0xc2, 0xff, 0x7f, 0xff, 0xff]);
        assert_eq!(saved(b"2147483647", true), [0xc2, 0xff, 0xff, 0xff, 0x7f]);
        // Past 32 bits, or not canonical: plain strings.
        assert_eq!(saved(b"2147483648", true), b"\x0a2147483648");
        assert_eq!(saved(b"007", true), b"\x03007");
        assert_eq!(saved(b"+1", true), b"\x02+1");
        let mut out = Vec::new();
        save_int(&mut out, 1 << 40);
        assert_eq!(out, b"\x0d1099511627776");
        out.clear();
        save_int(&mut out, -5);
        assert_eq!(out, [0xc0, 0xfb]);
    }

    #[test]
    fn compression_only_when_long_and_worth_it() {
        let short = b"aaaaaaaaaaaaaaaaaaaa"; // 20 bytes: never compressed
        assert_eq!(saved(short, true)[0], 20);
        let long = vec![b'a'; 100];
        let packed = saved(&long, true);
        assert_eq!(packed[0], 0xc3);
        assert!(packed.len() < 20);
        assert_eq!(saved(&long, false)[..2], [0x40, 100]);
        // Incompressible data is stored verbatim.
        let noise: Vec<u8> = (0..200u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        assert_eq!(saved(&noise, true)[..2], [0x40, 200]);
    }

    #[test]
    fn load_every_form() {
        let cases: Vec<(Vec<u8>, RdbStr)> = vec![
            (vec![0xc0, 0xff], RdbStr::Int(-1)),
            (vec![0xc1, 0x00, 0x80], RdbStr::Int(-32768)),
            (vec![0xc2, 0, 0, 0, 0x80], RdbStr::Int(i64::from(i32::MIN))),
            (b"\x03abc".to_vec(), RdbStr::Bytes(b"abc".to_vec())),
            (saved(&[b'z'; 300], true), RdbStr::Bytes(vec![b'z'; 300])),
        ];
        for (bytes, want) in cases {
            let mut r = Reader::new(&bytes);
            assert_eq!(load_string(&mut r).unwrap(), want);
            assert_eq!(r.remaining(), 0);
        }
        assert_eq!(RdbStr::Bytes(b"12".to_vec()).into_value(), Value::Int(12));
        assert_eq!(RdbStr::Int(12).into_bytes(), b"12");
    }

    #[test]
    fn corrupt_strings_are_errors_not_panics() {
        // Unknown special encoding.
        assert!(matches!(load_string(&mut Reader::new(&[0xc4])), Err(RdbError::Corrupt(_))));
        // Lengths past the end.
        assert_eq!(load_string(&mut Reader::new(b"\x05abc")), Err(RdbError::Truncated));
        assert_eq!(load_string(&mut Reader::new(&[0xc1, 1])), Err(RdbError::Truncated));
        assert_eq!(
            load_string(&mut Reader::new(&[0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
            Err(RdbError::Truncated)
        );
        // LZF claiming a huge original length must not allocate it.
        let mut lie = vec![0xc3, 0x02, 0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        lie.extend_from_slice(&[0x00, b'x']);
        assert!(matches!(load_string(&mut Reader::new(&lie)), Err(RdbError::Corrupt(_))));
        // LZF whose data decodes to another length.
        let mut good = saved(&[b'q'; 50], true);
        good[2] = 49; // original length field
        assert!(matches!(load_string(&mut Reader::new(&good)), Err(RdbError::Corrupt(_))));
        // Every truncation of a valid LZF string fails cleanly.
        let full = saved(&b"hello world ".repeat(20), true);
        for cut in 0..full.len() {
            assert!(load_string(&mut Reader::new(&full[..cut])).is_err(), "{cut}");
        }
    }
}
