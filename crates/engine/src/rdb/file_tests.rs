use super::*;
use crate::engine::Engine;
use crate::exec::tests::{client, run};
use crate::persist::{self, Merge};
use crate::rdb::{len::save_len, string::save_bytes, types};

/// Every key of every database: (db, key, value, expiry), sorted.
fn contents(e: &Engine) -> Vec<(usize, Vec<u8>, Value, Option<u64>)> {
    let mut keys = persist::lock_all(e);
    let mut all = Vec::new();
    for db in 0..e.keyspace.databases() {
        for shard in keys.shards(db) {
            shard.for_each(|p| all.push((db, p.key().to_vec(), p.value().to_owned_value(), p.expire_at_ms())));
        }
    }
    all.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    all
}

fn encodings(e: &Engine, db: usize) -> Vec<(String, String)> {
    let mut c = client(e);
    run(e, &mut c, &["select", &db.to_string()]);
    let mut out: Vec<(String, String)> = contents(e)
        .into_iter()
        .filter(|k| k.0 == db)
        .map(|(_, k, _, _)| {
            let k = String::from_utf8(k).unwrap();
            let enc = run(e, &mut c, &["object", "encoding", &k]);
            (k, enc)
        })
        .collect();
    out.sort();
    out
}

/// A dataset with every type and encoding, TTLs and several databases.
fn populate(e: &Engine) {
    let mut c = client(e);
    let r = |c: &mut _, args: &[&str]| {
        let reply = run(e, c, args);
        assert!(!reply.starts_with('-'), "{args:?}: {reply}");
    };
    r(&mut c, &["set", "int", "12345"]);
    r(&mut c, &["set", "bigint", "-9223372036854775808"]);
    r(&mut c, &["set", "embstr", "hello"]);
    r(&mut c, &["set", "raw", &"x".repeat(500)]);
    r(&mut c, &["set", "random", &(0..300).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect::<String>()]);
    r(&mut c, &["set", "empty", ""]);
    r(&mut c, &["set", "ttl", "v", "px", "100000000"]);
    r(&mut c, &["hset", "hsmall", "a", "1", "b", "2"]);
    for i in 0..600 {
        r(&mut c, &["hset", "hbig", &format!("f{i}"), &i.to_string()]);
        r(&mut c, &["sadd", "sbig", &format!("m{i}")]);
        r(&mut c, &["zadd", "zbig", &(i as f64 / 3.0).to_string(), &format!("m{i}")]);
        r(&mut c, &["rpush", "lbig", &format!("e{i}")]);
    }
    r(&mut c, &["sadd", "sint", "1", "2", "3", "-100000000000"]);
    r(&mut c, &["sadd", "slp", "a", "b", "12"]);
    r(&mut c, &["zadd", "zsmall", "1.5", "a", "-inf", "b", "inf", "c"]);
    r(&mut c, &["rpush", "lsmall", "a", "1", "b"]);
    r(&mut c, &["rpush", "lplain", &"p".repeat(10000)]);
    r(&mut c, &["expire", "hbig", "100000"]);
    for db in [1, 5, 15] {
        r(&mut c, &["select", &db.to_string()]);
        r(&mut c, &["set", "k", &db.to_string()]);
        r(&mut c, &["sadd", "s", "x", "y"]);
    }
}

fn save_to_vec(e: &Engine) -> Vec<u8> {
    let mut keys = persist::lock_all(e);
    persist::write_rdb(e, &mut keys, Vec::new()).unwrap().0
}

fn load_from(e: &Engine, bytes: &[u8], merge: Merge) -> Result<LoadReport, String> {
    let mut keys = persist::lock_all(e);
    let mut loading = crate::loading::Loading::start(e, bytes.len() as u64, crate::loading::LoadKind::Holding);
    persist::load_into(e, &mut keys, bytes, "test.rdb", bytes.len() as u64, merge, &mut loading)
}

fn opts() -> LoadOptions {
    LoadOptions { limits: Limits::valkey_defaults(), databases: 16, drop_expired_before: None, verify_checksum: true }
}

fn load_items(bytes: &[u8]) -> Result<(LoadReport, Vec<Item>), LoadError> {
    let mut items = Vec::new();
    let progress = AtomicU64::new(0);
    let report = load(
        bytes,
        &opts(),
        |i| {
            items.push(i);
            Ok(())
        },
        |_, _| {},
        &progress,
    )?;
    Ok((report, items))
}

#[test]
fn disk_files_are_version_10_and_roundtrip_every_type() {
    let e = Engine::for_tests();
    populate(&e);
    for compression in ["yes", "no"] {
        e.config.set("rdbcompression", &[compression.as_bytes()]).unwrap();
        let rdb = save_to_vec(&e);
        assert!(rdb.starts_with(b"REDIS0010"));
        // No RDB 11 type: a small set of strings is a plain set in version 10.
        let (report, _) = load_items(&rdb).unwrap();
        assert_eq!(report.version, 10);
        assert!(report.checksum_verified);
        assert_eq!(report.keys_loaded as usize, contents(&e).len());
        assert!(report.aux.iter().any(|(k, v)| k == b"valkey-ver" && v == b"8.0.1"));
        let back = Engine::for_tests();
        load_from(&back, &rdb, Merge::Refuse).unwrap();
        assert_eq!(contents(&back), contents(&e));
        // Loaded collections get the encodings the limits give them: the same as before.
        for db in [0, 5] {
            assert_eq!(encodings(&back, db), encodings(&e, db));
        }
    }
}

#[test]
fn sync_snapshot_is_version_11_and_loads() {
    let e = Engine::for_tests();
    populate(&e);
    let mut c = client(&e);
    run(&e, &mut c, &["function", "load", "#!lua name=lib1\nserver.register_function('one', function() return 1 end)"]);
    let libraries = e.scripting.library_codes();
    let mut keys = persist::lock_all(&e);
    let rdb = snapshot(&mut keys, &libraries, 16, SaveOptions { compress: true }, true, 0);
    drop(keys);
    assert!(rdb.starts_with(b"REDIS0011"));
    let back = Engine::for_tests();
    load_from(&back, &rdb, Merge::Refuse).unwrap();
    assert_eq!(contents(&back), contents(&e));
    let mut c = client(&back);
    assert_eq!(run(&back, &mut c, &["fcall", "one", "0"]), ":1\r\n");
}

#[test]
fn function_libraries_are_saved_and_loaded() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    let lib1 = "#!lua name=lib1\nserver.register_function('one', function() return 1 end)";
    let lib2 = "#!lua name=lib2\nserver.register_function{function_name='two', callback=function() return 2 end, \
                flags={'no-writes'}, description='desc'}";
    run(&e, &mut c, &["function", "load", lib1]);
    run(&e, &mut c, &["function", "load", lib2]);
    run(&e, &mut c, &["set", "k", "v"]);
    let list = run(&e, &mut c, &["function", "list", "withcode"]);
    let file = save_to_vec(&e);
    let back = Engine::for_tests();
    back.config.set("enable-debug-command", &[b"yes"]).unwrap();
    let report = load_from(&back, &file, Merge::Refuse).unwrap();
    assert_eq!((report.keys_loaded, report.functions), (1, 2));
    let mut c = client(&back);
    assert_eq!(run(&back, &mut c, &["fcall", "one", "0"]), ":1\r\n");
    assert_eq!(run(&back, &mut c, &["fcall_ro", "two", "0"]), ":2\r\n");
    assert_eq!(run(&back, &mut c, &["function", "list", "withcode"]), list);
    // A library already loaded is refused unless merging; a library that no longer
    // compiles fails the load with Valkey's message.
    let again = load_from(&back, &file, Merge::Refuse).unwrap_err();
    assert!(again.contains("Failed loading library, Library 'lib1' already exists"), "{again}");
    run(&back, &mut c, &["flushall"]);
    assert!(load_from(&back, &file, Merge::Replace).is_ok());
    assert_eq!(run(&back, &mut c, &["fcall", "one", "0"]), ":1\r\n");
    // DEBUG RELOAD drops the libraries with the keys and reads them back from the file.
    assert_eq!(run(&back, &mut c, &["debug", "reload"]), "+OK\r\n");
    assert_eq!(run(&back, &mut c, &["function", "list", "withcode"]), list);
    assert_eq!(run(&back, &mut c, &["get", "k"]), "$1\r\nv\r\n");
}

#[test]
fn snapshot_layout() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    run(&e, &mut c, &["set", "a", "hello", "pxat", "1999999999999"]);
    run(&e, &mut c, &["select", "3"]);
    run(&e, &mut c, &["set", "n", "12"]);
    let rdb = save_to_vec(&e);
    let body = &rdb[..rdb.len() - 8];
    let crc = u64::from_le_bytes(rdb[rdb.len() - 8..].try_into().unwrap());
    assert_eq!(crc, crate::rdb::dump::crc64(body));
    let db0 = [opcodes::SELECTDB, 0, opcodes::RESIZEDB, 1, 1, opcodes::EXPIRETIME_MS];
    assert!(rdb.windows(db0.len()).any(|w| w == db0));
    let db3 = [opcodes::SELECTDB, 3, opcodes::RESIZEDB, 1, 0, 0, 1, b'n', 0xC0, 12];
    assert!(rdb.windows(db3.len()).any(|w| w == db3), "{rdb:?}");
    assert_eq!(body[body.len() - 1], opcodes::EOF);
    // Without checksums the footer is zero, and loading does not check it.
    e.config.set("rdbchecksum", &[b"no"]).unwrap();
    let rdb = save_to_vec(&e);
    assert_eq!(&rdb[rdb.len() - 8..], &[0; 8]);
    assert!(!load_items(&rdb).unwrap().0.checksum_verified);
}

#[test]
fn expired_keys_are_dropped_when_loading_as_a_primary() {
    let e = Engine::for_tests();
    let mut c = client(&e);
    run(&e, &mut c, &["set", "kept", "1", "px", "1000000"]);
    // `gone` expired long ago.
    let rdb = {
        let mut keys = persist::lock_all(&e);
        let mut out = Out::new(Vec::new(), true);
        write_header(&mut out.buf, 10, &[]);
        write_db_header(&mut out.buf, 0, 2, 2);
        write_key(&mut out.buf, b"gone", ValueRef::Str(crate::types::StrRef::Int(1)), Some(1000), 0, fopts());
        write_db(&mut out, &mut keys, 0, fopts()).unwrap();
        out.finish().unwrap().0
    };
    let back = Engine::for_tests();
    let report = load_from(&back, &rdb, Merge::Refuse).unwrap();
    assert_eq!((report.keys_loaded, report.keys_expired), (1, 1));
    assert_eq!(back.persistence.last_load_keys_expired.load(Relaxed), 1);
    assert_eq!(contents(&back).len(), 1);
}

fn fopts() -> FileOptions {
    FileOptions { version: 10, compress: false, checksum: true, stamps: None }
}

/// A file from parts, with a correct CRC.
fn file_of(version: u16, body: &[u8]) -> Vec<u8> {
    let mut f = format!("REDIS{version:04}").into_bytes();
    f.extend_from_slice(body);
    f.push(opcodes::EOF);
    if version >= 5 {
        let crc = crate::rdb::dump::crc64(&f);
        f.extend_from_slice(&crc.to_le_bytes());
    }
    f
}

fn aux(out: &mut Vec<u8>, k: &str, v: &str) {
    out.push(opcodes::AUX);
    save_bytes(out, k.as_bytes(), false);
    save_bytes(out, v.as_bytes(), false);
}

#[test]
fn old_versions_opcodes_and_encodings_load() {
    let zl = crate::rdb::ziplist::tests::build;
    let mut body = Vec::new();
    aux(&mut body, "redis-ver", "6.2.6");
    aux(&mut body, "slot-info", "12,3,0");
    aux(&mut body, "%info", "logged");
    // A module aux section: id, when_opcode (UINT), when, then a uint, a string, EOF.
    body.push(opcodes::MODULE_AUX);
    for v in [12345u64, 2, 2, 2, 7, 5] {
        save_len(&mut body, v);
    }
    save_bytes(&mut body, b"module bytes", false);
    save_len(&mut body, 0);
    body.push(opcodes::FUNCTION2);
    save_bytes(&mut body, b"#!lua name=mylib\nserver.register_function('f', function() return 1 end)", false);
    body.push(opcodes::SELECTDB);
    save_len(&mut body, 2);
    // EXPIRETIME in seconds, far in the future.
    body.push(opcodes::EXPIRETIME);
    body.extend_from_slice(&4_000_000_000u32.to_le_bytes());
    body.push(opcodes::IDLE);
    save_len(&mut body, 100);
    body.push(types::STRING);
    save_bytes(&mut body, b"s", false);
    save_bytes(&mut body, b"v", false);
    body.push(opcodes::FREQ);
    body.push(7);
    body.push(types::LIST_ZIPLIST);
    save_bytes(&mut body, b"l", false);
    save_bytes(&mut body, &zl(&[b"a", b"1", b"b"]), false);
    body.push(types::ZSET_ZIPLIST);
    save_bytes(&mut body, b"z", false);
    save_bytes(&mut body, &zl(&[b"a", b"1", b"b", b"2.5"]), false);
    body.push(types::HASH_ZIPLIST);
    save_bytes(&mut body, b"h", false);
    save_bytes(&mut body, &zl(&[b"f", b"v"]), false);
    body.push(types::SET_INTSET);
    save_bytes(&mut body, b"i", false);
    let mut is = crate::types::intset::new();
    for v in [1, 2, 3] {
        crate::types::intset::add(&mut is, v);
    }
    save_bytes(&mut body, &is, false);
    // An empty collection is skipped, not an error.
    body.push(types::SET);
    save_bytes(&mut body, b"empty", false);
    save_len(&mut body, 0);
    for version in [4u16, 6, 9] {
        let f = file_of(version, &body);
        let e = Engine::for_tests();
        let report = load_from(&e, &f, Merge::Refuse).unwrap();
        assert_eq!((report.keys_loaded, report.empty_keys_skipped, report.functions), (5, 1, 1));
        let mut c = client(&e);
        run(&e, &mut c, &["select", "2"]);
        assert_eq!(run(&e, &mut c, &["pexpiretime", "s"]), ":4000000000000\r\n");
        assert_eq!(run(&e, &mut c, &["object", "idletime", "s"]), ":100\r\n");
        assert_eq!(run(&e, &mut c, &["lrange", "l", "0", "-1"]), "*3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n");
        assert_eq!(run(&e, &mut c, &["zscore", "z", "b"]), "$3\r\n2.5\r\n");
        assert_eq!(run(&e, &mut c, &["hget", "h", "f"]), "$1\r\nv\r\n");
        assert_eq!(run(&e, &mut c, &["object", "encoding", "i"]), "$6\r\nintset\r\n");
        assert_eq!(e.scripting.library_codes().len(), 1);
        assert_eq!(run(&e, &mut c, &["fcall", "f", "0"]), ":1\r\n");
        // The same library again is refused unless merging.
        let again = load_from(&e, &f, Merge::Refuse).unwrap_err();
        assert!(again.contains("already exists") || again.contains("Duplicated key"), "{again}");
        assert!(load_from(&e, &f, Merge::Replace).is_ok());
    }
}

#[test]
fn bad_files_are_refused_with_an_offset() {
    let e = Engine::for_tests();
    populate(&e);
    let good = save_to_vec(&e);
    // Wrong signature, unknown version.
    assert!(load_items(b"RADIS0010\xff").unwrap_err().reason.contains("Wrong signature"));
    assert!(load_items(&file_of(12, &[])).unwrap_err().reason.contains("Can't handle RDB format version 12"));
    assert!(load_items(b"REDIS00").is_err());
    // A flipped byte in the body: the CRC (or the parser) catches it.
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x20;
    assert!(load_items(&bad).is_err());
    let mut bad_crc = good.clone();
    let n = bad_crc.len();
    bad_crc[n - 1] ^= 1;
    let err = load_items(&bad_crc).unwrap_err();
    assert_eq!(err.reason, "RDB CRC error");
    assert_eq!(err.offset, n as u64 - 8);
    // Every truncation fails cleanly.
    for cut in (0..good.len()).step_by(97) {
        let err = load_items(&good[..cut]).unwrap_err();
        assert!(err.offset <= cut as u64, "{err} at {cut}");
    }
    // Unknown opcode, a database out of range, a pre-GA function.
    let err = load_items(&file_of(10, &[0x08])).unwrap_err();
    // The offset is where reading stopped (after the bad byte), as Valkey reports it.
    assert_eq!((err.offset, err.reason.as_str()), (10, "corrupt RDB data: unknown RDB type or opcode"));
    assert!(load_items(&file_of(10, &[opcodes::SELECTDB, 16])).unwrap_err().reason.contains("16 databases"));
    assert!(load_items(&file_of(10, &[opcodes::FUNCTION_PRE_GA, 0])).is_err());
    let mut slot = Vec::new();
    aux(&mut slot, "slot-info", "12,x");
    assert!(load_items(&file_of(10, &slot)).unwrap_err().reason.contains("slot-info"));
    // Duplicate keys are refused (the sink says so).
    let mut dup = Vec::new();
    for _ in 0..2 {
        dup.push(types::STRING);
        save_bytes(&mut dup, b"k", false);
        save_bytes(&mut dup, b"v", false);
    }
    let err = load_from(&Engine::for_tests(), &file_of(10, &dup), Merge::Refuse).unwrap_err();
    assert!(err.contains("Duplicated key 'k'") && err.contains("test.rdb"), "{err}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Damaged files (flipped, inserted, removed bytes; checksums off so the parser sees the
    /// damage) never panic, and whatever loads can be saved again.
    #[test]
    fn damaged_files_never_panic(
        edits in proptest::collection::vec((0usize..1 << 20, proptest::num::u8::ANY, 0u8..3), 1..8),
    ) {
        thread_local! {
            static GOOD: Vec<u8> = {
                let e = Engine::for_tests();
                populate(&e);
                e.config.set("rdbchecksum", &[b"no"]).unwrap();
                save_to_vec(&e)
            };
        }
        let mut f = GOOD.with(|g| g.clone());
        for (at, byte, kind) in edits {
            let at = at % (f.len() + 1);
            match kind {
                0 if at < f.len() => f[at] ^= byte | 1,
                1 => f.insert(at, byte),
                _ if at < f.len() => { f.remove(at); }
                _ => {}
            }
        }
        let e = Engine::for_tests();
        if load_from(&e, &f, Merge::Refuse).is_ok() {
            let again = save_to_vec(&e);
            let back = Engine::for_tests();
            proptest::prop_assert!(load_from(&back, &again, Merge::Refuse).is_ok());
            proptest::prop_assert_eq!(contents(&back), contents(&e));
        }
    }
}
