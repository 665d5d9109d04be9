//! Fuzzes RESTORE's payload reader (`kvasir_engine::rdb::dump::restore_value`) with a valid
//! footer added to the input, so that the bytes reach the object loaders (strings, hashes,
//! sets: listpacks, intsets, plain encodings) instead of stopping at the CRC check.
//!
//! Checked: no panic; a value that loads is sound: every element it lists is found again by
//! lookup and removal empties it, and dumping it gives a payload that restores to an equal
//! value.

#![no_main]

use kvasir_engine::config::Config;
use kvasir_engine::rdb::dump::{crc64, create_payload, restore_value};
use kvasir_engine::rdb::{Limits, SaveOptions, RDB_VERSION};
use kvasir_engine::types::Value;
use libfuzzer_sys::fuzz_target;

fn framed(body: &[u8]) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits::from_config(&Config::defaults().hot);
    let Ok(v) = restore_value(&framed(data), limits) else { return };
    match &v {
        Value::Hash(h) => {
            let pairs = h.as_ref().pairs();
            assert_eq!(pairs.len(), h.len());
            let mut copy = h.clone();
            for (f, x) in &pairs {
                assert_eq!(h.get(&f.to_vec()).map(|v| v.to_vec()), Some(x.to_vec()));
                assert!(copy.remove(&f.to_vec()));
            }
            assert!(copy.is_empty());
        }
        Value::Set(s) => {
            let members = s.as_ref().elements();
            assert_eq!(members.len(), s.len());
            let mut copy = s.clone();
            for m in &members {
                assert!(s.contains(&m.to_vec()));
                assert!(copy.remove(&m.to_vec()));
            }
            assert!(copy.is_empty());
        }
        Value::Str(_) | Value::Int(_) => {}
    }
    let again = create_payload(v.as_ref(), SaveOptions { compress: true });
    assert!(restore_value(&again, limits).expect("a dumped value restores") == v);
});
