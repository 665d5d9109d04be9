//! Commands whose replies are random (SPOP, SRANDMEMBER, HRANDFIELD): two correct servers pick
//! different members, so their replies are compared by shape, size and membership instead of
//! bytes: the same reply skeleton (types, lengths, nesting), every member taken from the
//! collection as it was before the command, no repeats where Valkey promises distinct
//! members, and for HRANDFIELD ... WITHVALUES every value the one of its field. SPOP also
//! leaves the two servers holding different members; the peer is then brought to kvasir's
//! state (its popped members put back, kvasir's removed), so that the sequence can go on.

use crate::conn::{show_reply, Conn};
use resp::Value;
use std::collections::{BTreeMap, BTreeSet};

fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Whether `argv` is a command with a random reply.
pub fn is_randomized(argv: &[Vec<u8>]) -> bool {
    argv.len() >= 2 && ["spop", "srandmember", "hrandfield"].iter().any(|n| is(&argv[0], n))
}

/// What the key held before the command.
pub enum Before {
    Set(BTreeSet<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    Other,
}

fn bulk_list(v: Value) -> Option<Vec<Vec<u8>>> {
    match v {
        Value::Array(items) | Value::Set(items) => items
            .into_iter()
            .map(|i| match i {
                Value::Bulk(b) => Some(b),
                _ => None,
            })
            .collect(),
        Value::Map(pairs) => pairs
            .into_iter()
            .flat_map(|(k, v)| [k, v])
            .map(|i| match i {
                Value::Bulk(b) => Some(b),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// Reads the key's contents through `conn` (kvasir's connection: the two servers hold the same
/// contents at this point, every earlier reply having matched).
pub fn snapshot(conn: &mut Conn, key: &[u8]) -> Result<Before, String> {
    let parse = |raw: Vec<u8>| Value::parse(&raw).map(|(v, _)| v).map_err(|e| format!("snapshot: {e:?}"));
    let kind = parse(conn.call(&[b"TYPE".to_vec(), key.to_vec()])?)?;
    Ok(match kind {
        Value::Simple(t) if t == b"set" => {
            let members = parse(conn.call(&[b"SMEMBERS".to_vec(), key.to_vec()])?)?;
            Before::Set(bulk_list(members).ok_or("snapshot: SMEMBERS")?.into_iter().collect())
        }
        Value::Simple(t) if t == b"hash" => {
            let flat =
                bulk_list(parse(conn.call(&[b"HGETALL".to_vec(), key.to_vec()])?)?).ok_or("snapshot: HGETALL")?;
            Before::Hash(flat.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect())
        }
        _ => Before::Other,
    })
}

/// The reply with every bulk string blanked: what two correct replies share.
fn skeleton(v: &Value) -> Value {
    match v {
        Value::Bulk(_) => Value::Bulk(Vec::new()),
        Value::Array(items) => Value::Array(items.iter().map(skeleton).collect()),
        Value::Set(items) => Value::Set(items.iter().map(skeleton).collect()),
        other => other.clone(),
    }
}

/// The bulk strings of a reply, in order (flattening nested pairs).
fn flatten(v: &Value, out: &mut Vec<Vec<u8>>) {
    match v {
        Value::Bulk(b) => out.push(b.clone()),
        Value::Array(items) | Value::Set(items) => items.iter().for_each(|i| flatten(i, out)),
        _ => {}
    }
}

/// Whether a count argument promises distinct members (positive), and whether values come.
fn count_and_values(argv: &[Vec<u8>]) -> (Option<i64>, bool) {
    let count = argv.get(2).and_then(|c| resp::number::parse_i64(c));
    let with_values = argv.get(3).is_some_and(|a| is(a, "withvalues"));
    (count, with_values)
}

/// Checks kvasir's reply against the peer's and the collection before the command.
pub fn check(argv: &[Vec<u8>], before: &Before, kvasir: &[u8], peer: &[u8]) -> Result<(), String> {
    if kvasir == peer {
        return Ok(());
    }
    let fail = |why: &str| Err(format!("{why}\n    kvasir: {}\n    redis:  {}", show_reply(kvasir), show_reply(peer)));
    let (Ok((kv, _)), Ok((pv, _))) = (Value::parse(kvasir), Value::parse(peer)) else {
        return fail("random replies differ (unparsable)");
    };
    if skeleton(&kv) != skeleton(&pv) {
        return fail("random replies differ in shape");
    }
    let mut got = Vec::new();
    flatten(&kv, &mut got);
    let (count, with_values) = count_and_values(argv);
    let distinct = count.is_some_and(|c| c > 0);
    match before {
        Before::Set(members) => {
            if got.iter().any(|m| !members.contains(m)) {
                return fail("a member that is not in the set");
            }
            if distinct && got.iter().collect::<BTreeSet<_>>().len() != got.len() {
                return fail("a member returned twice");
            }
        }
        Before::Hash(fields) => {
            let names: Vec<&Vec<u8>> = if with_values { got.iter().step_by(2).collect() } else { got.iter().collect() };
            if names.iter().any(|f| !fields.contains_key(*f)) {
                return fail("a field that is not in the hash");
            }
            if with_values && got.chunks(2).any(|p| fields.get(&p[0]) != Some(&p[1])) {
                return fail("a value that is not its field's");
            }
            if distinct && names.iter().collect::<BTreeSet<_>>().len() != names.len() {
                return fail("a field returned twice");
            }
        }
        Before::Other => return fail("random replies differ for a key that is not a collection"),
    }
    Ok(())
}

/// After an SPOP that took different members on the two servers, gives the peer kvasir's
/// state: the peer's popped members go back, kvasir's popped members go.
pub fn resync(peer: &mut Conn, argv: &[Vec<u8>], kvasir: &[u8], peer_reply: &[u8]) -> Result<(), String> {
    if !is(&argv[0], "spop") || kvasir == peer_reply {
        return Ok(());
    }
    let popped = |raw: &[u8]| -> BTreeSet<Vec<u8>> {
        let mut out = Vec::new();
        if let Ok((v, _)) = Value::parse(raw) {
            flatten(&v, &mut out);
        }
        out.into_iter().collect()
    };
    let (k, r) = (popped(kvasir), popped(peer_reply));
    if k == r {
        return Ok(());
    }
    let key = argv[1].clone();
    let mut add = vec![b"SADD".to_vec(), key.clone()];
    add.extend(r.iter().cloned());
    let mut rem = vec![b"SREM".to_vec(), key];
    rem.extend(k.iter().cloned());
    for cmd in [add, rem] {
        if cmd.len() > 2 {
            let reply = peer.call(&cmd)?;
            if !reply.starts_with(b":") {
                return Err(format!("resyncing the peer after SPOP: {}", show_reply(&reply)));
            }
        }
    }
    Ok(())
}
