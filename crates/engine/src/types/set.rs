//! The set type with Valkey's three encodings and conversion rules: `intset` while every
//! member is an integer (up to `set-max-intset-entries`), `listpack` while small (up to
//! `set-max-listpack-entries` members of at most `set-max-listpack-value` bytes), and
//! `hashtable` (a dict of packed items) beyond. Sets never convert back while in memory,
//! except where Valkey does (SINTERSTORE-style results are built fresh).

use super::intset;
use super::item::Item;
use super::listpack::{self, LpValue};
use super::sample;
use crate::keyspace::dict::{Chained, Dict};
use crate::keyspace::hash_key;

/// Rehash steps (each moves a bucket, skipping at most ten empty ones) done by each removal
/// from a table, on top of the one every lookup does.
const REMOVE_REHASH_STEPS: usize = 4;

#[derive(Clone, Copy, Debug)]
pub struct SetLimits {
    pub max_intset_entries: usize,
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

impl SetLimits {
    fn intset_max(&self) -> usize {
        self.max_intset_entries.min(1 << 30)
    }
}

pub enum Set {
    Intset(Vec<u8>),
    Listpack(Vec<u8>),
    Table(Box<Dict<Item>>),
}

/// A borrowed set, as it sits in the keyspace.
#[derive(Clone, Copy)]
pub enum SetRef<'a> {
    Intset(&'a [u8]),
    Listpack(&'a [u8]),
    Table(&'a Dict<Item>),
}

/// A member as stored.
pub type Member<'a> = LpValue<'a>;

fn as_int(m: &[u8]) -> Option<i64> {
    resp::number::parse_i64(m)
}

impl Set {
    pub fn as_ref(&self) -> SetRef<'_> {
        match self {
            Set::Intset(is) => SetRef::Intset(is),
            Set::Listpack(lp) => SetRef::Listpack(lp),
            Set::Table(d) => SetRef::Table(d),
        }
    }

    pub fn encoding(&self) -> &'static str {
        self.as_ref().encoding()
    }

    pub fn len(&self) -> usize {
        self.as_ref().len()
    }

    pub fn is_empty(&self) -> bool {
        self.as_ref().is_empty()
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.as_ref().contains(m)
    }

    /// An empty set suited to a first member `first` and about `size_hint` members
    /// (Valkey's `setTypeCreate`).
    pub fn for_first(first: &[u8], size_hint: usize, limits: SetLimits) -> Set {
        if as_int(first).is_some() && size_hint <= limits.max_intset_entries {
            Set::Intset(intset::new())
        } else if size_hint <= limits.max_listpack_entries {
            Set::Listpack(listpack::new())
        } else {
            Set::Table(Box::default())
        }
    }

    /// Converts ahead of adding about `size_hint` members (Valkey's `setTypeMaybeConvert`).
    pub fn reserve(&mut self, size_hint: usize, limits: SetLimits) {
        let convert = match self {
            Set::Listpack(_) => size_hint > limits.max_listpack_entries,
            Set::Intset(_) => size_hint > limits.max_intset_entries,
            Set::Table(_) => false,
        };
        if convert {
            self.convert_to_table();
        }
    }

    /// Adds `m`; returns whether it was new.
    pub fn add(&mut self, m: &[u8], limits: SetLimits) -> bool {
        match self {
            Set::Intset(is) => {
                if let Some(v) = as_int(m) {
                    if !intset::add(is, v) {
                        return false;
                    }
                    if intset::len(is) > limits.intset_max() {
                        self.convert_to_table();
                    }
                    return true;
                }
                // The widest member is the smallest or the largest (Valkey's `sdigits10` of both).
                let n = intset::len(is);
                let digits = |v: i64| itoa::Buffer::new().format(v).len();
                let widest = if n == 0 { 0 } else { digits(intset::get(is, 0)).max(digits(intset::get(is, n - 1))) };
                if n < limits.max_listpack_entries
                    && m.len() <= limits.max_listpack_value
                    && widest <= limits.max_listpack_value
                {
                    self.convert_to_listpack();
                } else {
                    self.convert_to_table();
                }
                self.add(m, limits)
            }
            Set::Listpack(lp) => {
                if listpack::find(lp, listpack::HEADER_SIZE, m, 0).is_some() {
                    return false;
                }
                if listpack::len(lp) < limits.max_listpack_entries
                    && m.len() <= limits.max_listpack_value
                    && listpack::safe_to_add(lp, m.len() + 11)
                {
                    listpack::push_back(lp, m);
                    return true;
                }
                self.convert_to_table();
                self.add(m, limits)
            }
            Set::Table(d) => {
                let h = hash_key(m);
                if d.find(h, m).is_some() {
                    return false;
                }
                d.insert(h, Item::new(m, b""));
                true
            }
        }
    }

    /// Removes `m`; returns whether it was present.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Intset(is) => as_int(m).is_some_and(|v| intset::remove(is, v)),
            Set::Listpack(lp) => match listpack::find(lp, listpack::HEADER_SIZE, m, 0) {
                Some(pos) => {
                    listpack::delete(lp, pos, 1);
                    true
                }
                None => false,
            },
            Set::Table(d) => match d.find(hash_key(m), m) {
                Some(link) => {
                    let it = d.unlink(link);
                    // SAFETY: unlinked just now, not used again.
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

    fn members(&self) -> Vec<Vec<u8>> {
        let mut v = Vec::with_capacity(self.len());
        self.as_ref().for_each(|m| v.push(m.to_vec()));
        v
    }

    pub fn convert_to_table(&mut self) {
        if matches!(self, Set::Table(_)) {
            return;
        }
        let mut d: Dict<Item> = Dict::new();
        for m in self.members() {
            d.insert(hash_key(&m), Item::new(&m, b""));
        }
        *self = Set::Table(Box::new(d));
    }

    fn convert_to_listpack(&mut self) {
        let members = self.members();
        *self = Set::Listpack(listpack::from_values(members.iter().map(|m| m.as_slice())));
    }

    /// The best encoding for a set built from scratch out of `members` (SINTERSTORE & co.,
    /// RDB load): Valkey picks intset, listpack or hashtable by content and size.
    pub fn from_members(members: &[Vec<u8>], limits: SetLimits) -> Set {
        let mut s = match members.first() {
            Some(first) => Set::for_first(first, members.len(), limits),
            None => Set::Intset(intset::new()),
        };
        for m in members {
            s.add(m, limits);
        }
        s
    }
}

impl Clone for Set {
    fn clone(&self) -> Set {
        self.as_ref().to_owned_set()
    }
}

impl<'a> SetRef<'a> {
    /// All members, owned and sorted (comparisons, tests, DEBUG DIGEST).
    pub fn sorted_members(self) -> Vec<Vec<u8>> {
        let mut v = Vec::with_capacity(self.len());
        self.for_each(|m| v.push(m.to_vec()));
        v.sort();
        v
    }

    /// A deep copy in the same encoding.
    pub fn to_owned_set(self) -> Set {
        match self {
            SetRef::Intset(is) => Set::Intset(is.to_vec()),
            SetRef::Listpack(lp) => Set::Listpack(lp.to_vec()),
            SetRef::Table(d) => {
                let mut copy: Dict<Item> = Dict::new();
                d.for_each(|it| copy.insert(hash_key(it.key()), Item::new(it.key(), b"")));
                Set::Table(Box::new(copy))
            }
        }
    }

    pub fn encoding(self) -> &'static str {
        match self {
            SetRef::Intset(_) => "intset",
            SetRef::Listpack(_) => "listpack",
            SetRef::Table(_) => "hashtable",
        }
    }

    pub fn len(self) -> usize {
        match self {
            SetRef::Intset(is) => intset::len(is),
            SetRef::Listpack(lp) => listpack::len(lp),
            SetRef::Table(d) => d.len(),
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    pub fn contains(self, m: &[u8]) -> bool {
        match self {
            SetRef::Intset(is) => as_int(m).is_some_and(|v| intset::contains(is, v)),
            SetRef::Listpack(lp) => listpack::find(lp, listpack::HEADER_SIZE, m, 0).is_some(),
            SetRef::Table(d) => d.get(hash_key(m), m).is_some(),
        }
    }

    /// Membership of a member as another set stores it (no formatting for intset in intset).
    pub fn contains_value(self, m: Member<'_>) -> bool {
        match (self, m) {
            (SetRef::Intset(is), LpValue::Int(v)) => intset::contains(is, v),
            _ => m.with_bytes(|b| self.contains(b)),
        }
    }

    /// Calls `f` on every member, in storage order.
    pub fn for_each(self, mut f: impl FnMut(Member<'a>)) {
        match self {
            SetRef::Intset(is) => intset::iter(is).for_each(|v| f(LpValue::Int(v))),
            SetRef::Listpack(lp) => listpack::iter(lp).for_each(|(_, v)| f(v)),
            SetRef::Table(d) => d.for_each(|it| f(LpValue::Str(it.key()))),
        }
    }

    /// Every member, borrowed (integers of an intset by value), in storage order.
    pub fn elements(self) -> Vec<Member<'a>> {
        let mut v = Vec::with_capacity(self.len());
        self.for_each(|m| v.push(m));
        v
    }

    /// A random member, borrowed (Valkey's `setTypeRandomElement`).
    pub fn random_element(self, rng: &mut fastrand::Rng) -> Option<Member<'a>> {
        match self {
            SetRef::Intset(is) => {
                let n = intset::len(is);
                (n > 0).then(|| LpValue::Int(intset::get(is, rng.usize(..n))))
            }
            SetRef::Listpack(lp) => {
                let n = listpack::len(lp);
                if n == 0 {
                    return None;
                }
                listpack::seek(lp, rng.usize(..n) as i64).map(|p| listpack::get(lp, p))
            }
            SetRef::Table(d) => sample::fair_random(d, rng).map(|it| LpValue::Str(it.key())),
        }
    }

    /// One SSCAN step (small encodings are returned whole).
    pub fn scan(self, cursor: u64, mut f: impl FnMut(Member<'a>)) -> u64 {
        match self {
            SetRef::Table(d) => d.scan(cursor, |it| f(LpValue::Str(it.key()))),
            _ => {
                self.for_each(f);
                0
            }
        }
    }

    /// A uniformly random member (owned).
    pub fn random(self, rng: &mut fastrand::Rng) -> Option<Vec<u8>> {
        match self {
            SetRef::Intset(is) => {
                let n = intset::len(is);
                (n > 0).then(|| itoa::Buffer::new().format(intset::get(is, rng.usize(..n))).as_bytes().to_vec())
            }
            SetRef::Listpack(lp) => {
                let n = listpack::len(lp);
                if n == 0 {
                    return None;
                }
                listpack::seek(lp, rng.usize(..n) as i64).map(|p| listpack::get(lp, p).to_vec())
            }
            SetRef::Table(d) => sample::fair_random(d, rng).map(|it| it.key().to_vec()),
        }
    }

    pub fn heap_bytes(self) -> usize {
        match self {
            SetRef::Intset(is) => is.len(),
            SetRef::Listpack(lp) => lp.len(),
            SetRef::Table(d) => {
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

    const L: SetLimits = SetLimits { max_intset_entries: 5, max_listpack_entries: 4, max_listpack_value: 6 };

    fn sorted(s: &Set) -> Vec<Vec<u8>> {
        let mut v = s.members();
        v.sort();
        v
    }

    #[test]
    fn encodings_follow_valkey_rules() {
        let mut s = Set::for_first(b"1", 1, L);
        assert_eq!(s.encoding(), "intset");
        for m in ["1", "2", "3"] {
            s.add(m.as_bytes(), L);
        }
        assert_eq!(s.encoding(), "intset");
        assert!(s.add(b"abc", L));
        assert_eq!(s.encoding(), "listpack");
        assert!(s.add(b"d", L) && !s.add(b"d", L));
        assert_eq!(s.encoding(), "hashtable");
        let mut big = Set::for_first(b"1", 1, L);
        for i in 0..6 {
            big.add(i.to_string().as_bytes(), L);
        }
        assert_eq!(big.encoding(), "hashtable", "intset past max entries");
        let mut long = Set::for_first(b"x", 1, L);
        long.add(b"toolongvalue", L);
        assert_eq!(long.encoding(), "hashtable");
    }

    proptest::proptest! {
        #[test]
        fn behaves_like_a_set(ops in proptest::collection::vec((proptest::bool::ANY, 0u8..12, proptest::bool::ANY), 1..200)) {
            let mut s = Set::for_first(b"0", 1, L);
            let mut m = std::collections::BTreeSet::new();
            for (add, v, textual) in ops {
                let member = if textual { format!("m{v}") } else { v.to_string() }.into_bytes();
                if add {
                    proptest::prop_assert_eq!(s.add(&member, L), m.insert(member.clone()));
                } else {
                    proptest::prop_assert_eq!(s.remove(&member), m.remove(&member));
                }
                proptest::prop_assert_eq!(s.len(), m.len());
            }
            for x in &m {
                proptest::prop_assert!(s.contains(x));
            }
            proptest::prop_assert_eq!(sorted(&s), m.into_iter().collect::<Vec<_>>());
        }
    }
}
