//! DEBUG DIGEST and DEBUG DIGEST-VALUE: Valkey's SHA1-based digests of the dataset and of
//! values, computed the same way so that they can be compared with a Valkey server's.
//!
//! `xor(d, data)` xors SHA1(data) into `d` (order-independent: set members, hash pairs, keys);
//! `mix(d, data)` replaces `d` with SHA1(d xor SHA1(data)) (order-dependent: list elements).

use crate::types::{StrRef, ValueRef};

pub type Digest = [u8; 20];

fn sha1(data: &[u8]) -> Digest {
    sha1_smol::Sha1::from(data).digest().bytes()
}

fn xor(d: &mut Digest, data: &[u8]) {
    for (a, b) in d.iter_mut().zip(sha1(data)) {
        *a ^= b;
    }
}

fn mix(d: &mut Digest, data: &[u8]) {
    xor(d, data);
    *d = sha1(d);
}

/// Valkey's object type numbers, which the digest includes.
fn type_number(v: ValueRef<'_>) -> u32 {
    match v {
        ValueRef::Str(_) => 0,
        ValueRef::List(_) => 1,
        ValueRef::Set(_) => 2,
        ValueRef::ZSet(_) => 3,
        ValueRef::Hash(_) => 4,
        ValueRef::Stream(_) => 6,
    }
}

/// Mixes a value (and whether it has a TTL) into `d` (Valkey's `xorObjectDigest`).
pub fn value_digest(d: &mut Digest, v: ValueRef<'_>, has_ttl: bool) {
    mix(d, &type_number(v).to_be_bytes());
    match v {
        ValueRef::Str(StrRef::Int(i)) => mix(d, itoa::Buffer::new().format(i).as_bytes()),
        ValueRef::Str(StrRef::Bytes(b)) => mix(d, b),
        ValueRef::List(l) => l.for_each(|e| e.with_bytes(|b| mix(d, b))),
        ValueRef::Set(s) => s.for_each(|m| m.with_bytes(|b| xor(d, b))),
        ValueRef::ZSet(z) => {
            let mut score_text = Vec::with_capacity(24);
            z.for_each(|m, score| {
                let mut e = [0u8; 20];
                m.with_bytes(|b| mix(&mut e, b));
                score_text.clear();
                resp::number::push_fpconv(&mut score_text, score);
                mix(&mut e, &score_text);
                xor(d, &e);
            });
        }
        ValueRef::Hash(h) => h.for_each(|f, v| {
            let mut e = [0u8; 20];
            f.with_bytes(|b| mix(&mut e, b));
            v.with_bytes(|b| mix(&mut e, b));
            xor(d, &e);
        }),
        ValueRef::Stream(st) => {
            use crate::types::stream::StreamId;
            // Each entry's ID as `ms.seq`, then its fields and values, in order.
            for entry in st.range(StreamId::MIN, StreamId::MAX, false) {
                mix(d, format!("{}.{}", entry.id.ms, entry.id.seq).as_bytes());
                entry.for_each(|f, v| {
                    f.with_bytes(|b| mix(d, b));
                    v.with_bytes(|b| mix(d, b));
                });
            }
        }
    }
    if has_ttl {
        xor(d, b"!!expire!!");
    }
}

/// One key's contribution to the dataset digest.
pub fn key_digest(key: &[u8], v: ValueRef<'_>, has_ttl: bool) -> Digest {
    let mut d = [0u8; 20];
    mix(&mut d, key);
    value_digest(&mut d, v, has_ttl);
    d
}

/// Starts a database's part of the dataset digest (its number is mixed in).
pub fn mix_db(d: &mut Digest, db: usize) {
    mix(d, &(db as u32).to_be_bytes());
}

/// Adds a key's digest to the dataset digest (xoring its SHA1, as Valkey does).
pub fn add_key(d: &mut Digest, key: &Digest) {
    xor(d, key);
}

pub fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}
