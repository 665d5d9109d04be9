//! Streams in RDB: types 15 (`STREAM_LISTPACKS`), 19 (`_2`: first ID, max deleted ID, entries
//! added, group read counters) and 21 (`_3`: consumers' active time). Kvasir writes 21, as
//! Valkey 8 does.
//!
//! ```text
//! nodes: len, then per node: master ID (16-byte string), listpack (string)
//! length, last ID (ms, seq) [, first ID, max deleted ID, entries added]      lens
//! groups: len, then per group: name, last ID, [entries read], global PEL, consumers
//! global PEL: len, then per entry: ID (16 raw bytes), delivery time (8 bytes LE), count (len)
//! consumer: name, seen time (8 bytes LE) [, active time], PEL: len, IDs (16 raw bytes)
//! ```
//!
//! Self-contained: [`load`] reads one stream object body (after its type byte) from a
//! [`Reader`] and checks it as Valkey's deep sanitization would (every node's structure,
//! counts, ID order, PEL owners), so a corrupt payload is refused, never half-loaded.

use super::{len, string, RdbError, Reader};
use crate::types::stream::{Nack, Stream, StreamId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Appends a stream's body in the layout of type `t`: `STREAM_LISTPACKS_3` (Valkey 7.2+,
/// DUMP and RDB 11), or `STREAM_LISTPACKS_2` for RDB 10 files, which Redis 7.0 loads: the
/// same without the consumers' active time.
pub fn save(out: &mut Vec<u8>, s: &Stream, compress: bool, t: u8) {
    len::save_len(out, s.node_count() as u64);
    for (master, lp) in s.nodes() {
        string::save_bytes(out, &master.encode(), compress);
        string::save_bytes(out, lp, compress);
    }
    len::save_len(out, s.length);
    for id in [s.last_id, s.first_id, s.max_deleted_id] {
        len::save_len(out, id.ms);
        len::save_len(out, id.seq);
    }
    len::save_len(out, s.entries_added);
    len::save_len(out, s.group_count() as u64);
    if let Some(groups) = &s.groups {
        for (name, g) in groups.iter() {
            string::save_bytes(out, name, compress);
            len::save_len(out, g.last_id.ms);
            len::save_len(out, g.last_id.seq);
            len::save_len(out, g.entries_read as u64);
            len::save_len(out, g.pel.len() as u64);
            for (id, nack) in &g.pel {
                out.extend_from_slice(&id.encode());
                out.extend_from_slice(&nack.delivery_time.to_le_bytes());
                len::save_len(out, nack.delivery_count);
            }
            len::save_len(out, g.consumers.len() as u64);
            for (cname, c) in &g.consumers {
                string::save_bytes(out, cname, compress);
                out.extend_from_slice(&c.seen_time.to_le_bytes());
                if t >= super::types::STREAM_LISTPACKS_3 {
                    out.extend_from_slice(&c.active_time.to_le_bytes());
                }
                len::save_len(out, c.pel.len() as u64);
                for id in &c.pel {
                    out.extend_from_slice(&id.encode());
                }
            }
        }
    }
}

/// A global PEL entry while its owner is not known yet: (delivery time, count, owner).
type LoadedNack = (i64, u64, Option<Arc<[u8]>>);

fn load_id(r: &mut Reader<'_>) -> Result<StreamId, RdbError> {
    Ok(StreamId::new(len::load_plain_len(r)?, len::load_plain_len(r)?))
}

fn load_raw_id(r: &mut Reader<'_>) -> Result<StreamId, RdbError> {
    Ok(StreamId::decode(&r.read_array::<16>()?))
}

fn load_ms(r: &mut Reader<'_>) -> Result<i64, RdbError> {
    Ok(i64::from_le_bytes(r.read_array()?))
}

/// Reads a stream body of type `t` (15, 19 or 21).
pub fn load(r: &mut Reader<'_>, t: u8) -> Result<Stream, RdbError> {
    use super::types::{STREAM_LISTPACKS_2, STREAM_LISTPACKS_3};
    let corrupt = RdbError::Corrupt;
    let mut s = Stream::new();
    let nodes = len::load_plain_len(r)?;
    for _ in 0..nodes {
        let key = string::load_string(r)?.into_bytes();
        let key: [u8; 16] =
            key.try_into().map_err(|_| corrupt("Stream node key entry is not the size of a stream ID"))?;
        let lp = string::load_string(r)?.into_bytes();
        if lp.len() <= crate::types::listpack::HEADER_SIZE + 1 || crate::types::listpack::validate(&lp).is_none() {
            return Err(corrupt("Stream listpack integrity check failed"));
        }
        if !s.insert_node(StreamId::decode(&key), lp) {
            return Err(corrupt("Listpack re-added with existing key"));
        }
    }
    s.length = len::load_plain_len(r)?;
    s.last_id = load_id(r)?;
    if t >= STREAM_LISTPACKS_2 {
        s.first_id = load_id(r)?;
        s.max_deleted_id = load_id(r)?;
        s.entries_added = len::load_plain_len(r)?;
    }
    if !s.check_consistency() {
        return Err(corrupt("Stream listpack integrity check failed"));
    }
    if t < STREAM_LISTPACKS_2 {
        s.entries_added = s.length;
        s.first_id = if s.length == 0 { StreamId::MIN } else { s.edge_id(true, false) };
    }
    let groups = len::load_plain_len(r)?;
    for _ in 0..groups {
        let name = string::load_string(r)?.into_bytes();
        let last_id = load_id(r)?;
        let entries_read = if t >= STREAM_LISTPACKS_2 {
            len::load_plain_len(r)? as i64
        } else {
            s.estimate_distance(last_id).unwrap_or(-1)
        };
        if !s.create_group(&name, last_id, entries_read) {
            return Err(corrupt("Duplicated consumer group name"));
        }
        // The global PEL first, owners resolved from the consumers' PELs after.
        let mut pel: BTreeMap<StreamId, LoadedNack> = BTreeMap::new();
        let pel_size = len::load_plain_len(r)?;
        for _ in 0..pel_size {
            let id = load_raw_id(r)?;
            let time = load_ms(r)?;
            let count = len::load_plain_len(r)?;
            if pel.insert(id, (time, count, None)).is_some() {
                return Err(corrupt("Duplicated global PEL entry loading stream consumer group"));
            }
        }
        let g = s.group_mut(&name).expect("just created");
        let consumers = len::load_plain_len(r)?;
        for _ in 0..consumers {
            let cname = string::load_string(r)?.into_bytes();
            let seen = load_ms(r)?;
            let active = if t >= STREAM_LISTPACKS_3 { load_ms(r)? } else { seen };
            if !g.create_consumer(&cname, seen) {
                return Err(corrupt("Duplicate stream consumer detected"));
            }
            let c = g.consumers.get_mut(&cname).expect("just created");
            c.active_time = active;
            let n = len::load_plain_len(r)?;
            for _ in 0..n {
                let id = load_raw_id(r)?;
                let Some(entry) = pel.get_mut(&id) else {
                    return Err(corrupt("Consumer entry not found in group global PEL"));
                };
                if entry.2.is_some() || !c.pel.insert(id) {
                    return Err(corrupt("Duplicated consumer PEL entry loading a stream consumer group"));
                }
                entry.2 = Some(c.name.clone());
            }
        }
        for (id, (delivery_time, delivery_count, owner)) in pel {
            let consumer = owner.ok_or(corrupt("Stream CG PEL entry without consumer"))?;
            g.pel.insert(id, Nack { delivery_time, delivery_count, consumer });
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::stream::StreamLimits;

    fn sample() -> Stream {
        let mut s = Stream::new();
        let lim = StreamLimits { node_max_bytes: 4096, node_max_entries: 3 };
        for i in 1..=10u64 {
            let v = i.to_string();
            let fields: Vec<&[u8]> =
                if i % 3 == 0 { vec![b"a", v.as_bytes(), b"z", b"q"] } else { vec![b"a", v.as_bytes()] };
            s.append(&fields, Some(StreamId::new(i, 0)), true, 0, lim).unwrap();
        }
        assert!(s.delete(StreamId::new(5, 0)));
        s.max_deleted_id = StreamId::new(5, 0);
        s.create_group(b"g", StreamId::new(4, 0), 4);
        let g = s.group_mut(b"g").unwrap();
        g.create_consumer(b"alice", 100);
        g.create_consumer(b"bob", 200);
        g.assign(StreamId::new(2, 0), b"alice", 1000).delivery_count = 3;
        g.assign(StreamId::new(3, 0), b"bob", 1001).delivery_count = 1;
        s
    }

    #[test]
    fn streams_roundtrip_with_groups() {
        use super::super::types::{STREAM_LISTPACKS_2, STREAM_LISTPACKS_3};
        let s = sample();
        for (compress, t) in [(false, STREAM_LISTPACKS_3), (true, STREAM_LISTPACKS_3), (false, STREAM_LISTPACKS_2)] {
            let mut out = Vec::new();
            save(&mut out, &s, compress, t);
            let mut r = Reader::new(&out);
            let back = load(&mut r, t).unwrap();
            assert_eq!(r.remaining(), 0);
            if t == STREAM_LISTPACKS_3 {
                assert!(back == s);
            }
            assert_eq!(
                back.nodes().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>(),
                s.nodes().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn truncated_or_corrupt_streams_are_refused() {
        let s = sample();
        let mut out = Vec::new();
        save(&mut out, &s, false, super::super::types::STREAM_LISTPACKS_3);
        for cut in 0..out.len() {
            let mut r = Reader::new(&out[..cut]);
            assert!(load(&mut r, super::super::types::STREAM_LISTPACKS_3).is_err(), "cut at {cut}");
        }
        // Flip every byte in turn: never a panic; either an error or some stream.
        for i in 0..out.len() {
            let mut bad = out.clone();
            bad[i] ^= 0x5a;
            let mut r = Reader::new(&bad);
            let _ = load(&mut r, super::super::types::STREAM_LISTPACKS_3);
        }
    }
}
