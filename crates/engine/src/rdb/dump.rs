//! DUMP / RESTORE payloads: an RDB object followed by a footer.
//!
//! ```text
//! | type byte | object body ... | RDB version (2 bytes LE) | CRC64 of everything before (8 bytes LE) |
//! ```
//!
//! The CRC is CRC-64/Jones as Valkey computes it (`crc64(0, ...)`: reflected, no final xor),
//! which the `crc` crate calls `CRC_64_REDIS`.

use super::{load_type, load_value, save_type, save_value, Limits, RdbError, Reader, SaveOptions, RDB_VERSION};
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
/// after it are not looked at. Collections get the encoding `limits` give them.
pub fn restore_value(payload: &[u8], limits: Limits) -> Result<Value, PayloadError> {
    verify_payload(payload)?;
    let mut r = Reader::new(payload);
    let t = load_type(&mut r).map_err(PayloadError::BadData)?;
    load_value(t, &mut r, limits).map_err(PayloadError::BadData)
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
        assert_eq!(restore_value(&p, Limits::valkey_defaults()), Ok(Value::Str(b"bar".to_vec())));
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
            assert_eq!(restore_value(&p, Limits::valkey_defaults()), want, "version {version}");
        }
        for short in 0..FOOTER_LEN {
            assert_eq!(verify_payload(&vec![0; short]), Err(PayloadError::VersionOrChecksum));
        }
        let mut flipped = create_payload(ValueRef::Str(StrRef::Bytes(b"x")), PLAIN);
        flipped[1] ^= 1;
        assert_eq!(restore_value(&flipped, Limits::valkey_defaults()), Err(PayloadError::VersionOrChecksum));
    }

    /// Exercises a restored value the way commands would: every read path must work on
    /// whatever passed validation.
    pub(crate) fn exercise(v: &Value) {
        let mut rng = fastrand::Rng::with_seed(1);
        match v {
            Value::Hash(h) => {
                let pairs = h.as_ref().pairs();
                assert_eq!(pairs.len(), h.len());
                for (f, x) in &pairs {
                    assert_eq!(h.get(&f.to_vec()).map(|v| v.to_vec()), Some(x.to_vec()));
                }
                h.as_ref().random_pair(&mut rng);
                let mut copy = h.clone();
                for (f, _) in pairs {
                    assert!(copy.remove(&f.to_vec()));
                }
                assert!(copy.is_empty());
            }
            Value::Set(s) => {
                let members = s.as_ref().elements();
                assert_eq!(members.len(), s.len());
                for m in &members {
                    assert!(s.contains(&m.to_vec()));
                }
                s.as_ref().random_element(&mut rng);
                let mut copy = s.clone();
                for m in members {
                    assert!(copy.remove(&m.to_vec()));
                }
                assert!(copy.is_empty());
            }
            Value::ZSet(z) => {
                let pairs = z.as_ref().pairs();
                assert_eq!(pairs.len(), z.len());
                for (rank, (m, score)) in pairs.iter().enumerate() {
                    assert_eq!(z.as_ref().score(m), Some(*score));
                    assert_eq!(z.as_ref().rank(m, false), Some((rank, *score)));
                }
                z.as_ref().random(&mut rng);
                let mut copy = z.clone();
                for (m, _) in pairs {
                    assert!(copy.remove(&m));
                }
                assert!(copy.is_empty());
            }
            Value::List(l) => {
                let items = l.as_ref().to_vec();
                assert_eq!(items.len(), l.len());
                for (i, x) in items.iter().enumerate() {
                    assert_eq!(l.as_ref().with_index(i as i64, |v| v.to_vec()).as_ref(), Some(x));
                }
                let mut copy = l.clone();
                assert_eq!(copy.pop_many_with(true, items.len(), |_| {}), items.len());
                assert!(copy.is_empty());
            }
            Value::Str(_) | Value::Int(_) | Value::Stream(_) => {}
        }
        // And it dumps to a payload that restores to the same value.
        let again = create_payload(v.as_ref(), PLAIN);
        assert_eq!(&restore_value(&again, Limits::valkey_defaults()).expect("a dumped value restores"), v);
    }

    fn reframe(body: &[u8]) -> Vec<u8> {
        let mut p = body.to_vec();
        p.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    }

    proptest::proptest! {
        /// Damaged hash and set payloads (flipped, inserted, removed bytes, with a valid
        /// footer) never panic, and whatever is accepted behaves as a hash or set.
        #[test]
        fn damaged_collection_payloads_are_refused_or_sound(
            which in 0usize..5,
            edits in proptest::collection::vec((0usize..4096, proptest::num::u8::ANY, 0u8..3), 1..6),
        ) {
            use crate::types::{hash::Hash, set::Set};
            let l = Limits::valkey_defaults();
            let members = |n: usize| (0..n).map(|i| if i % 3 == 0 { i.to_string().into_bytes() } else { format!("m{i}").into_bytes() }).collect::<Vec<_>>();
            let value = match which {
                0 => Value::Set(Set::from_members(&(0..20).map(|i| (i * 7919).to_string().into_bytes()).collect::<Vec<_>>(), l.set)),
                1 => Value::Set(Set::from_members(&members(20), l.set)),
                2 => Value::Set(Set::from_members(&members(200), l.set)),
                _ => {
                    let mut h = Hash::default();
                    let n = if which == 3 { 10 } else { 600 };
                    for (i, m) in members(n).iter().enumerate() {
                        h.set(m, i.to_string().as_bytes(), l.hash);
                    }
                    Value::Hash(h)
                }
            };
            let good = create_payload(value.as_ref(), SaveOptions { compress: false });
            let mut body = good[..good.len() - FOOTER_LEN].to_vec();
            for (at, byte, kind) in edits {
                let at = at % (body.len() + 1);
                match kind {
                    0 if at < body.len() => body[at] ^= byte | 1,
                    1 => body.insert(at, byte),
                    _ if at < body.len() && body.len() > 1 => {
                        body.remove(at);
                    }
                    _ => {}
                }
            }
            if let Ok(v) = restore_value(&reframe(&body), l) {
                exercise(&v);
            }
        }
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
        assert!(matches!(restore_value(&frame(&[0x08]), Limits::valkey_defaults()), Err(PayloadError::BadData(_))));
        assert_eq!(
            restore_value(&frame(&[0x07, 0x01]), Limits::valkey_defaults()),
            Err(PayloadError::BadData(RdbError::UnsupportedType(0x07)))
        );
        assert!(matches!(
            restore_value(&frame(&[0x00, 0xc4]), Limits::valkey_defaults()),
            Err(PayloadError::BadData(_))
        ));
        // A string running into the footer reads footer bytes, as Valkey's reader does; one
        // running past the end is truncated.
        assert!(restore_value(&frame(&[0x00, 0x05, b'a']), Limits::valkey_defaults()).is_ok());
        assert!(matches!(
            restore_value(&frame(&[0x00, 0x20, b'a']), Limits::valkey_defaults()),
            Err(PayloadError::BadData(_))
        ));
    }
}
