//! Whole RDB files: header, auxiliary fields, per-database sections with their keys, EOF and
//! checksum. Used for the snapshot a replica receives on SYNC; SAVE/BGSAVE and loading build
//! on the same pieces.

use super::{len, save_type, save_value, string, SaveOptions, RDB_VERSION};
use crate::db::Keys;
use crate::types::ValueRef;

/// RDB opcodes (Valkey's `RDB_OPCODE_*`).
pub mod opcodes {
    pub const AUX: u8 = 0xFA;
    pub const RESIZEDB: u8 = 0xFB;
    pub const EXPIRETIME_MS: u8 = 0xFC;
    pub const SELECTDB: u8 = 0xFE;
    pub const EOF: u8 = 0xFF;
}

/// Writes the magic, version and the auxiliary fields Valkey writes.
pub fn write_header(out: &mut Vec<u8>, used_mem: u64, now_secs: u64, compress: bool) {
    out.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
    for (name, value) in [
        ("valkey-ver", crate::VALKEY_VERSION.to_string()),
        ("redis-bits", usize::BITS.to_string()),
        ("ctime", now_secs.to_string()),
        ("used-mem", used_mem.to_string()),
        ("aof-base", "0".to_string()),
    ] {
        out.push(opcodes::AUX);
        string::save_bytes(out, name.as_bytes(), compress);
        string::save_bytes(out, value.as_bytes(), compress);
    }
}

/// Writes database `db`'s section: SELECTDB, RESIZEDB and every key (with its expiry). The
/// caller holds every shard of `db`.
pub fn write_db(out: &mut Vec<u8>, keys: &mut Keys<'_>, db: usize, opts: SaveOptions) {
    let (mut size, mut expires) = (0usize, 0usize);
    for shard in keys.shards(db) {
        size += shard.len();
        expires += shard.volatile_len();
    }
    if size == 0 {
        return;
    }
    out.push(opcodes::SELECTDB);
    len::save_len(out, db as u64);
    out.push(opcodes::RESIZEDB);
    len::save_len(out, size as u64);
    len::save_len(out, expires as u64);
    for shard in keys.shards(db) {
        shard.for_each(|e| {
            if let Some(when) = e.expire_at_ms() {
                out.push(opcodes::EXPIRETIME_MS);
                out.extend_from_slice(&when.to_le_bytes());
            }
            let value: ValueRef<'_> = e.value();
            save_type(out, value);
            string::save_bytes(out, e.key(), opts.compress);
            save_value(out, value, opts);
        });
    }
}

/// Ends the file: EOF opcode and the CRC64 of everything before it (0 when `rdbchecksum` is
/// off, as Valkey writes).
pub fn write_footer(out: &mut Vec<u8>, checksum: bool) {
    out.push(opcodes::EOF);
    let crc = if checksum { super::dump::crc64(out) } else { 0 };
    out.extend_from_slice(&crc.to_le_bytes());
}

/// A complete snapshot of every database. The caller holds every shard of every database.
pub fn snapshot(keys: &mut Keys<'_>, databases: usize, opts: SaveOptions, checksum: bool, used_mem: u64) -> Vec<u8> {
    let mut out = Vec::new();
    write_header(&mut out, used_mem, crate::util::now_ms() / 1000, opts.compress);
    for db in 0..databases {
        write_db(&mut out, keys, db, opts);
    }
    write_footer(&mut out, checksum);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Ttl;
    use crate::engine::Engine;
    use crate::keyspace::LockSet;
    use crate::types::Value;

    #[test]
    fn snapshot_layout() {
        let e = Engine::for_tests();
        let mut locks = LockSet::new();
        for db in 0..e.keyspace.databases() {
            locks.add_db(db);
        }
        let mut keys = Keys::new(&e, e.keyspace.lock(&locks), 0, crate::util::now_ms(), true);
        keys.set(b"a", Value::Str(b"hello".to_vec()), Ttl::At(1_999_999_999_999)).unwrap();
        keys.db = 3;
        keys.set(b"n", Value::Int(12), Ttl::Clear).unwrap();
        let rdb = snapshot(&mut keys, e.keyspace.databases(), SaveOptions { compress: true }, true, 0);
        assert!(rdb.starts_with(b"REDIS0011"));
        let body = &rdb[..rdb.len() - 8];
        let crc = u64::from_le_bytes(rdb[rdb.len() - 8..].try_into().unwrap());
        assert_eq!(crc, crate::rdb::dump::crc64(body));
        // db 0: SELECTDB 0, RESIZEDB 1 1, expiry, string type, key, value.
        let db0 = [opcodes::SELECTDB, 0, opcodes::RESIZEDB, 1, 1, opcodes::EXPIRETIME_MS];
        assert!(rdb.windows(db0.len()).any(|w| w == db0));
        let db3 = [opcodes::SELECTDB, 3, opcodes::RESIZEDB, 1, 0, 0, 1, b'n', 0xC0, 12];
        assert!(rdb.windows(db3.len()).any(|w| w == db3), "{rdb:?}");
        assert_eq!(body[body.len() - 1], opcodes::EOF);
    }
}
