//! The hash type: a listpack of field/value pairs while small, a dict of packed items once it
//! passes `hash-max-listpack-entries` fields or a field or value passes
//! `hash-max-listpack-value` bytes (Valkey's rules and encoding names: `listpack`,
//! `hashtable`). A hash never converts back while in memory, as in Valkey.

use super::item::Item;
use super::listpack::{self, LpValue};
use super::sample;
use crate::keyspace::dict::{Chained, Dict};
use crate::keyspace::hash_key;

/// Rehash steps (each moves a bucket, skipping at most ten empty ones) done by each removal
/// from a table, on top of the one every lookup does.
const REMOVE_REHASH_STEPS: usize = 4;

/// Conversion thresholds, from the `hash-max-listpack-*` directives.
#[derive(Clone, Copy, Debug)]
pub struct HashLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

pub enum Hash {
    Listpack(Vec<u8>),
    Table(Box<Dict<Item>>),
}

/// A borrowed hash, as it sits in the keyspace: what read-only commands work on.
#[derive(Clone, Copy)]
pub enum HashRef<'a> {
    Listpack(&'a [u8]),
    Table(&'a Dict<Item>),
}

/// A borrowed field or value.
pub type Bytes<'a> = LpValue<'a>;

impl Default for Hash {
    fn default() -> Self {
        Hash::Listpack(listpack::new())
    }
}

impl Hash {
    pub fn as_ref(&self) -> HashRef<'_> {
        match self {
            Hash::Listpack(lp) => HashRef::Listpack(lp),
            Hash::Table(d) => HashRef::Table(d),
        }
    }

    pub fn len(&self) -> usize {
        self.as_ref().len()
    }

    pub fn is_empty(&self) -> bool {
        self.as_ref().is_empty()
    }

    pub fn encoding(&self) -> &'static str {
        self.as_ref().encoding()
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<Bytes<'_>> {
        self.as_ref().get(field)
    }

    /// Sets `field` to `value`; returns true if the field is new. Converts to a table first if
    /// the result would break the listpack limits.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if let Hash::Listpack(lp) = self {
            let too_long = field.len() > limits.max_value || value.len() > limits.max_value;
            let exists = listpack::find(lp, listpack::HEADER_SIZE, field, 1);
            let too_many = exists.is_none() && listpack::len(lp) / 2 + 1 > limits.max_entries;
            if too_long || too_many || !listpack::safe_to_add(lp, field.len() + value.len() + 22) {
                self.convert_to_table();
            } else {
                return match exists {
                    Some(pos) => {
                        let vpos = listpack::next(lp, pos);
                        listpack::replace(lp, vpos, value);
                        false
                    }
                    None => {
                        let end = listpack::end(lp);
                        listpack::insert(lp, end, &[field, value]);
                        true
                    }
                };
            }
        }
        let Hash::Table(d) = self else { unreachable!("converted above") };
        let h = hash_key(field);
        match d.find(h, field) {
            Some(link) => {
                let old: Item = link.entry();
                // SAFETY: `old` is relinked at the same place and not used again.
                let fresh = unsafe { old.with_value(value) };
                d.replace(link, fresh);
                false
            }
            None => {
                d.insert(h, Item::new(field, value));
                true
            }
        }
    }

    /// Removes `field`; returns whether it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => match listpack::find(lp, listpack::HEADER_SIZE, field, 1) {
                Some(pos) => {
                    listpack::delete(lp, pos, 2);
                    true
                }
                None => false,
            },
            Hash::Table(d) => match d.find(hash_key(field), field) {
                Some(link) => {
                    let it = d.unlink(link);
                    // SAFETY: unlinked just now and not used again.
                    unsafe { it.free() };
                    // A table emptied by removals shrinks: move that along faster than one
                    // bucket per operation, or random draws would face a sparse table.
                    d.rehash_some(REMOVE_REHASH_STEPS);
                    true
                }
                None => false,
            },
        }
    }

    /// Valkey's `hashTypeTryConversion`, run before writing `args` (fields and values
    /// alternating): a listpack becomes a table first if the write brings more fields than
    /// `max_entries` (duplicates counted, as Valkey counts them), any argument longer than
    /// `max_value`, or more bytes than a listpack may hold.
    pub fn prepare_for(&mut self, args: &[&[u8]], limits: HashLimits) {
        let Hash::Listpack(lp) = self else { return };
        let convert = args.len() / 2 > limits.max_entries
            || args.iter().any(|a| a.len() > limits.max_value)
            || !listpack::safe_to_add(lp, args.iter().map(|a| a.len()).sum());
        if convert {
            self.convert_to_table();
        }
    }

    /// Switches to the table encoding.
    pub fn convert_to_table(&mut self) {
        let Hash::Listpack(lp) = self else { return };
        let mut d: Dict<Item> = Dict::new();
        let mut it = listpack::iter(lp);
        while let (Some((_, k)), Some((_, v))) = (it.next(), it.next()) {
            let (k, v) = (k.to_vec(), v.to_vec());
            d.insert(hash_key(&k), Item::new(&k, &v));
        }
        *self = Hash::Table(Box::new(d));
    }
}

impl Clone for Hash {
    fn clone(&self) -> Hash {
        self.as_ref().to_owned_hash()
    }
}

impl<'a> HashRef<'a> {
    /// A deep copy in the same encoding (COPY, DUMP round trips).
    pub fn to_owned_hash(self) -> Hash {
        match self {
            HashRef::Listpack(lp) => Hash::Listpack(lp.to_vec()),
            HashRef::Table(d) => {
                let mut copy: Dict<Item> = Dict::new();
                d.for_each(|it| copy.insert(hash_key(it.key()), Item::new(it.key(), it.value())));
                Hash::Table(Box::new(copy))
            }
        }
    }

    pub fn encoding(self) -> &'static str {
        match self {
            HashRef::Listpack(_) => "listpack",
            HashRef::Table(_) => "hashtable",
        }
    }

    pub fn len(self) -> usize {
        match self {
            HashRef::Listpack(lp) => listpack::len(lp) / 2,
            HashRef::Table(d) => d.len(),
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The value of `field`.
    pub fn get(self, field: &[u8]) -> Option<Bytes<'a>> {
        match self {
            HashRef::Listpack(lp) => {
                let pos = listpack::find(lp, listpack::HEADER_SIZE, field, 1)?;
                Some(listpack::get(lp, listpack::next(lp, pos)))
            }
            HashRef::Table(d) => d.get(hash_key(field), field).map(|it| LpValue::Str(it.value())),
        }
    }

    pub fn contains(self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Calls `f` for every (field, value) pair, in storage order.
    pub fn for_each(self, mut f: impl FnMut(Bytes<'a>, Bytes<'a>)) {
        match self {
            HashRef::Listpack(lp) => {
                let mut it = listpack::iter(lp);
                while let (Some((_, k)), Some((_, v))) = (it.next(), it.next()) {
                    f(k, v);
                }
            }
            HashRef::Table(d) => d.for_each(|it| f(LpValue::Str(it.key()), LpValue::Str(it.value()))),
        }
    }

    /// One step of HSCAN: visits some pairs and returns the next cursor (0 when done). A
    /// listpack is returned whole in one step, as in Valkey.
    pub fn scan(self, cursor: u64, mut f: impl FnMut(Bytes<'a>, Bytes<'a>)) -> u64 {
        match self {
            HashRef::Listpack(_) => {
                self.for_each(f);
                0
            }
            HashRef::Table(d) => d.scan(cursor, |it| f(LpValue::Str(it.key()), LpValue::Str(it.value()))),
        }
    }

    /// A random (field, value) pair, owned.
    pub fn random(self, rng: &mut fastrand::Rng) -> Option<(Vec<u8>, Vec<u8>)> {
        match self {
            HashRef::Listpack(lp) => {
                let n = listpack::len(lp) / 2;
                if n == 0 {
                    return None;
                }
                let pos = listpack::seek(lp, 2 * rng.usize(..n) as i64)?;
                let k = listpack::get(lp, pos).to_vec();
                let v = listpack::get(lp, listpack::next(lp, pos)).to_vec();
                Some((k, v))
            }
            HashRef::Table(d) => sample::fair_random(d, rng).map(|it| (it.key().to_vec(), it.value().to_vec())),
        }
    }

    /// Every (field, value) pair, borrowed, in storage order.
    pub fn pairs(self) -> Vec<(Bytes<'a>, Bytes<'a>)> {
        let mut v = Vec::with_capacity(self.len());
        self.for_each(|k, x| v.push((k, x)));
        v
    }

    /// A random (field, value) pair, borrowed (Valkey's `hashTypeRandomElement`).
    pub fn random_pair(self, rng: &mut fastrand::Rng) -> Option<(Bytes<'a>, Bytes<'a>)> {
        match self {
            HashRef::Listpack(lp) => {
                let n = listpack::len(lp) / 2;
                if n == 0 {
                    return None;
                }
                let pos = listpack::seek(lp, 2 * rng.usize(..n) as i64)?;
                Some((listpack::get(lp, pos), listpack::get(lp, listpack::next(lp, pos))))
            }
            HashRef::Table(d) => {
                sample::fair_random(d, rng).map(|it| (LpValue::Str(it.key()), LpValue::Str(it.value())))
            }
        }
    }

    /// All (field, value) pairs, owned and sorted (comparisons, tests, DEBUG DIGEST).
    pub fn sorted_pairs(self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut v = Vec::with_capacity(self.len());
        self.for_each(|k, x| v.push((k.to_vec(), x.to_vec())));
        v.sort();
        v
    }

    /// Bytes of heap used, for MEMORY USAGE.
    pub fn heap_bytes(self) -> usize {
        match self {
            HashRef::Listpack(lp) => lp.len(),
            HashRef::Table(d) => {
                let mut n = std::mem::size_of::<Dict<Item>>() + d.buckets() * 8;
                d.for_each(|it| n += it.heap_bytes());
                n
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: HashLimits = HashLimits { max_entries: 4, max_value: 8 };

    fn sorted_pairs(h: &Hash) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut v = Vec::new();
        h.as_ref().for_each(|k, x| v.push((k.to_vec(), x.to_vec())));
        v.sort();
        v
    }

    #[test]
    fn listpack_until_limits_then_table() {
        let mut h = Hash::default();
        assert!(h.set(b"a", b"1", SMALL));
        assert!(!h.set(b"a", b"2", SMALL));
        assert_eq!(h.get(b"a"), Some(LpValue::Int(2)));
        for f in [&b"b"[..], b"c", b"d"] {
            h.set(f, b"x", SMALL);
        }
        assert_eq!(h.encoding(), "listpack");
        h.set(b"e", b"x", SMALL);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
        assert_eq!(h.get(b"a").map(|v| v.to_vec()), Some(b"2".to_vec()));
        let mut long = Hash::default();
        long.set(b"f", b"123456789", SMALL);
        assert_eq!(long.encoding(), "hashtable");
    }

    proptest::proptest! {
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec((0u8..3, 0u8..12, proptest::collection::vec(b'a'..b'e', 0..12)), 0..200)) {
            let mut h = Hash::default();
            let mut m = std::collections::BTreeMap::new();
            for (op, f, v) in ops {
                let field = format!("f{f}").into_bytes();
                match op {
                    0 | 1 => {
                        proptest::prop_assert_eq!(h.set(&field, &v, SMALL), m.insert(field.clone(), v.clone()).is_none());
                    }
                    _ => {
                        proptest::prop_assert_eq!(h.remove(&field), m.remove(&field).is_some());
                    }
                }
                proptest::prop_assert_eq!(h.len(), m.len());
            }
            let expected: Vec<(Vec<u8>, Vec<u8>)> = m.into_iter().collect();
            proptest::prop_assert_eq!(sorted_pairs(&h), expected);
        }
    }
}
