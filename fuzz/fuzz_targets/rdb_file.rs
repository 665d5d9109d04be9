//! Fuzzes the RDB file loader (`kvasir_engine::rdb::file::load`) with checksums off, so that
//! damaged bytes reach the opcode and object parsers. Inputs that do not start with the
//! magic get an RDB 10 header, so the fuzzer does not spend its time finding it.
//!
//! Checked: no panic on any input; whatever loads can be written again (as RDB 10 and 11)
//! and loads back to the same keys, values and expiries.

#![no_main]

use kvasir_engine::config::Config;
use kvasir_engine::rdb::file::{load, write_db_header, write_header, write_key, FileOptions, Item, LoadOptions, Out};
use kvasir_engine::rdb::Limits;
use libfuzzer_sys::fuzz_target;
use std::sync::atomic::AtomicU64;

fn load_keys(bytes: &[u8], opts: &LoadOptions) -> Option<Vec<(usize, Vec<u8>, kvasir_engine::types::Value, Option<u64>)>> {
    let mut keys = Vec::new();
    let progress = AtomicU64::new(0);
    let sink = |item: Item| {
        if let Item::Key(k) = item {
            keys.push((k.db, k.key, k.value, k.expire_at_ms));
        }
        Ok(())
    };
    load(bytes, opts, sink, |_, _| {}, &progress).ok()?;
    Some(keys)
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits::from_config(&Config::defaults().hot);
    let opts = LoadOptions { limits, databases: 16, drop_expired_before: None, verify_checksum: false };
    let input = if data.starts_with(b"REDIS") { data.to_vec() } else { [b"REDIS0010".as_slice(), data].concat() };
    let Some(keys) = load_keys(&input, &opts) else { return };
    for version in [10, 11] {
        let fopts = FileOptions { version, compress: true, checksum: true, stamps: None };
        let mut out = Out::new(Vec::new(), true);
        write_header(&mut out.buf, version, &[]);
        for (db, key, value, expire) in &keys {
            write_db_header(&mut out.buf, *db, 1, 0);
            write_key(&mut out.buf, key, value.as_ref(), *expire, 0, fopts);
        }
        let bytes = out.finish().expect("in memory").0;
        let again = load_keys(&bytes, &LoadOptions { verify_checksum: true, ..opts }).expect("a written file loads");
        assert!(again == keys, "written and loaded back differently");
    }
});
