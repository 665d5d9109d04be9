//! DUMP / RESTORE payloads: an RDB object followed by a footer.
//!
//! ```text
//! | type byte | object body ... | RDB version (2 bytes LE) | CRC64 of everything before (8 bytes LE) |
//! ```
//!
//! The CRC is CRC-64/Jones as Valkey computes it (`crc64(0, ...)`: reflected, no final xor),
//! which the `crc` crate calls `CRC_64_REDIS`.

use super::{load_type, load_value, save_type, save_value, LoadOptions, RdbError, Reader, SaveOptions, RDB_VERSION};
use crate::types::{Value, ValueRef};

const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

/// Footer size: 2 bytes of version, 8 of CRC.
const FOOTER_LEN: usize = 10;

/// Why a payload was refused, in Valkey's two error classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// Too short, written by a newer RDB version, or the CRC does not match:
    /// `ERR DUMP payload version or checksum are wrong`.
    VersionOrChecksum,
    /// The object inside cannot be read: `ERR Bad data format`.
    BadData(RdbError),
}

/// The CRC64 a payload footer carries for `bytes`.
pub fn crc64(bytes: &[u8]) -> u64 {
    CRC64.checksum(bytes)
}

/// Serializes a value as DUMP does.
pub fn create_payload(value: ValueRef<'_>, opts: SaveOptions) -> Vec<u8> {
    let mut out = Vec::new();
    save_type(&mut out, value);
    save_value(&mut out, value, opts);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Checks a payload's footer (Valkey's `verifyDumpPayload`): any RDB version up to ours is
/// accepted, and the CRC must match. Returns the payload's RDB version.
pub fn verify_payload(payload: &[u8]) -> Result<u16, PayloadError> {
    if payload.len() < FOOTER_LEN {
        return Err(PayloadError::VersionOrChecksum);
    }
    let footer = &payload[payload.len() - FOOTER_LEN..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(PayloadError::VersionOrChecksum);
    }
    let crc = u64::from_le_bytes(footer[2..].try_into().expect("8 bytes"));
    if crc64(&payload[..payload.len() - 8]) != crc {
        return Err(PayloadError::VersionOrChecksum);
    }
    Ok(version)
}

/// Verifies a payload and reads the value in it (what RESTORE does before touching the
/// keyspace). As in Valkey the object is read from the start of the whole payload; bytes
/// after it are not looked at.
pub fn restore_value(payload: &[u8], opts: &LoadOptions) -> Result<Value, PayloadError> {
    verify_payload(payload)?;
    let mut r = Reader::new(payload);
    let t = load_type(&mut r).map_err(PayloadError::BadData)?;
    load_value(t, &mut r, opts).map_err(PayloadError::BadData)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::StrRef;

    const PLAIN: SaveOptions = SaveOptions { compress: true };

    #[test]
    fn crc_is_jones_as_in_valkey() {
        // The check value Valkey's crc64 test asserts.
        assert_eq!(crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn payload_layout() {
        let p = create_payload(ValueRef::Str(StrRef::Bytes(b"bar")), PLAIN);
        assert_eq!(&p[..5], b"\x00\x03bar");
        assert_eq!(&p[5..7], &[11, 0]);
        assert_eq!(u64::from_le_bytes(p[7..].try_into().unwrap()), crc64(&p[..7]));
        assert_eq!(restore_value(&p, &LoadOptions::default()), Ok(Value::Str(b"bar".to_vec())));
    }

    #[test]
    fn older_versions_pass_newer_and_corrupt_fail() {
        let mut p = create_payload(ValueRef::Str(StrRef::Int(42)), PLAIN);
        let body = p.len() - FOOTER_LEN;
        for version in [1u16, 9, 10, 11, 12, 0xffff] {
            p[body..body + 2].copy_from_slice(&version.to_le_bytes());
            let crc = crc64(&p[..body + 2]);
            p[body + 2..].copy_from_slice(&crc.to_le_bytes());
            let want = if version <= 11 { Ok(Value::Int(42)) } else { Err(PayloadError::VersionOrChecksum) };
            assert_eq!(restore_value(&p, &LoadOptions::default()), want, "version {version}");
        }
        for short in 0..FOOTER_LEN {
            assert_eq!(verify_payload(&vec![0; short]), Err(PayloadError::VersionOrChecksum));
        }
        let mut flipped = create_payload(ValueRef::Str(StrRef::Bytes(b"x")), PLAIN);
        flipped[1] ^= 1;
        assert_eq!(restore_value(&flipped, &LoadOptions::default()), Err(PayloadError::VersionOrChecksum));
    }

    #[test]
    fn well_framed_but_bad_objects() {
        let frame = |body: &[u8]| {
            let mut p = body.to_vec();
            p.extend_from_slice(&RDB_VERSION.to_le_bytes());
            let crc = crc64(&p);
            p.extend_from_slice(&crc.to_le_bytes());
            p
        };
        assert!(matches!(restore_value(&frame(&[0x08]), &LoadOptions::default()), Err(PayloadError::BadData(_))));
        assert_eq!(
            restore_value(&frame(&[0x07, 0x01]), &LoadOptions::default()),
            Err(PayloadError::BadData(RdbError::UnsupportedType(0x07)))
        );
        assert!(matches!(restore_value(&frame(&[0x00, 0xc4]), &LoadOptions::default()), Err(PayloadError::BadData(_))));
        // A string running into the footer reads footer bytes, as Valkey's reader does; one
        // running past the end is truncated.
        assert!(restore_value(&frame(&[0x00, 0x05, b'a']), &LoadOptions::default()).is_ok());
        assert!(matches!(
            restore_value(&frame(&[0x00, 0x20, b'a']), &LoadOptions::default()),
            Err(PayloadError::BadData(_))
        ));
    }
}
