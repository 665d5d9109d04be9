//! Bitmap commands end to end: bit numbering as clients see it, BITOP across keys held by
//! different shards, BITFIELD replies (including nulls) through the `redis` crate.

use crate::harness::Server;
use redis::{cmd, RedisResult};

fn err_text<T: std::fmt::Debug>(r: RedisResult<T>) -> String {
    let e = r.expect_err("expected an error reply");
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

#[test]
fn setbit_getbit_bitcount_bitpos() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for bit in [1, 3, 8, 100] {
        let old: i64 = cmd("SETBIT").arg("bm").arg(bit).arg(1).query(&mut c).unwrap();
        assert_eq!(old, 0);
    }
    let raw: Vec<u8> = cmd("GET").arg("bm").query(&mut c).unwrap();
    assert_eq!(raw.len(), 13);
    assert_eq!(&raw[..2], &[0b0101_0000, 0b1000_0000]);
    let count: i64 = cmd("BITCOUNT").arg("bm").query(&mut c).unwrap();
    assert_eq!(count, 4);
    let count: i64 = cmd("BITCOUNT").arg("bm").arg(2).arg(8).arg("BIT").query(&mut c).unwrap();
    assert_eq!(count, 2);
    let pos: i64 = cmd("BITPOS").arg("bm").arg(1).arg(2).query(&mut c).unwrap();
    assert_eq!(pos, 100);
    let pos: i64 = cmd("BITPOS").arg("bm").arg(0).query(&mut c).unwrap();
    assert_eq!(pos, 0);
    let bit: i64 = cmd("GETBIT").arg("bm").arg(100).query(&mut c).unwrap();
    assert_eq!(bit, 1);
    let bit: i64 = cmd("GETBIT").arg("bm").arg(1_000_000).query(&mut c).unwrap();
    assert_eq!(bit, 0);
    assert_eq!(
        err_text(cmd("SETBIT").arg("bm").arg(4294967296i64).arg(1).query::<i64>(&mut c)),
        "ERR bit offset is not an integer or out of range"
    );
    assert_eq!(
        err_text(cmd("SETBIT").arg("bm").arg(0).arg(2).query::<i64>(&mut c)),
        "ERR bit is not an integer or out of range"
    );
    assert_eq!(err_text(cmd("BITPOS").arg("bm").arg(3).query::<i64>(&mut c)), "ERR The bit argument must be 1 or 0.");
}

#[test]
fn bitop_over_many_keys() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut expected_or = vec![0u8; 64];
    let mut expected_and = vec![0xffu8; 64];
    for k in 0..32 {
        let v: Vec<u8> = (0..64).map(|i| ((i * 7 + k * 13) % 251) as u8 | 0x01).collect();
        for (i, b) in v.iter().enumerate() {
            expected_or[i] |= b;
            expected_and[i] &= b;
        }
        let _: () = cmd("SET").arg(format!("src{k}")).arg(v).query(&mut c).unwrap();
    }
    let keys: Vec<String> = (0..32).map(|k| format!("src{k}")).collect();
    let n: i64 = cmd("BITOP").arg("OR").arg("dst").arg(&keys).query(&mut c).unwrap();
    assert_eq!(n, 64);
    let got: Vec<u8> = cmd("GET").arg("dst").query(&mut c).unwrap();
    assert_eq!(got, expected_or);
    let n: i64 = cmd("BITOP").arg("AND").arg("dst").arg(&keys).query(&mut c).unwrap();
    assert_eq!(n, 64);
    let got: Vec<u8> = cmd("GET").arg("dst").query(&mut c).unwrap();
    assert_eq!(got, expected_and);
    let n: i64 = cmd("BITOP").arg("NOT").arg("dst").arg("missing").query(&mut c).unwrap();
    assert_eq!(n, 0);
    let exists: i64 = cmd("EXISTS").arg("dst").query(&mut c).unwrap();
    assert_eq!(exists, 0);
}

#[test]
fn bitfield_through_a_client() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let r: Vec<Option<i64>> = cmd("BITFIELD")
        .arg("bf")
        .arg(&["SET", "u8", "#0", "200", "INCRBY", "u8", "#0", "100", "OVERFLOW", "FAIL", "INCRBY", "u8", "#0", "250"])
        .arg(&["OVERFLOW", "SAT", "INCRBY", "i8", "8", "-1000", "GET", "u16", "0"])
        .query(&mut c)
        .unwrap();
    assert_eq!(r, vec![Some(0), Some(44), None, Some(-128), Some(0x2c80)]);
    let r: Vec<i64> = cmd("BITFIELD_RO").arg("bf").arg("GET").arg("i8").arg("#1").query(&mut c).unwrap();
    assert_eq!(r, vec![-128]);
    assert_eq!(
        err_text(cmd("BITFIELD_RO").arg("bf").arg("SET").arg("u8").arg(0).arg(1).query::<Vec<i64>>(&mut c)),
        "ERR BITFIELD_RO only supports the GET subcommand"
    );
    assert_eq!(
        err_text(cmd("BITFIELD").arg("bf").arg("GET").arg("u64").arg(0).query::<Vec<i64>>(&mut c)),
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
    );
}
