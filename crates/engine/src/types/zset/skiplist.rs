//! A big sorted set (Valkey's `skiplist` encoding, by name): a dict from member to score for
//! O(1) ZSCORE, and an ordered index over (score, member) for ranks and ranges.
//!
//! Each member is one packed item (`item.rs`: member bytes, 8-byte score) owned by the dict;
//! the index (`tree.rs`) holds handles to the same items, so a member is stored once. Changing
//! a score rewrites the 8 bytes in place after taking the item out of the index, and puts it
//! back at its new place.

use super::tree::{score_of, Tree};
use crate::keyspace::dict::{Chained, Dict};
use crate::keyspace::hash_key;
use crate::types::item::Item;

#[derive(Default)]
pub struct SkipList {
    dict: Dict<Item>,
    tree: Tree,
}

impl SkipList {
    pub fn new() -> SkipList {
        SkipList::default()
    }

    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.dict.get(hash_key(member), member).map(score_of)
    }

    /// Adds a member that is not present.
    pub fn insert(&mut self, member: &[u8], score: f64) {
        debug_assert!(!score.is_nan());
        let it = Item::new(member, &score.to_le_bytes());
        self.dict.insert(hash_key(member), it);
        self.tree.insert(it);
    }

    /// Changes the score of a present member; false if it is absent.
    pub fn set_score(&mut self, member: &[u8], score: f64) -> bool {
        let Some(it) = self.dict.get(hash_key(member), member) else { return false };
        let old = score_of(it);
        let taken = self.tree.remove(old, member);
        debug_assert_eq!(taken, Some(it));
        it.overwrite_value(&score.to_le_bytes());
        self.tree.insert(it);
        true
    }

    /// Removes a member, returning its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let h = hash_key(member);
        let link = self.dict.find(h, member)?;
        let it: Item = link.entry();
        let score = score_of(it);
        // Out of the index first: the index may name the item as a subtree's first member.
        let taken = self.tree.remove(score, member);
        debug_assert_eq!(taken, Some(it));
        let it = self.dict.unlink(link);
        // SAFETY: unlinked from the dict and removed from the index just now; no handle to it
        // remains.
        unsafe { it.free() };
        Some(score)
    }

    /// The 0-based rank of `member` and its score.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        let score = self.score(member)?;
        self.tree.rank(score, member).map(|r| (r, score))
    }

    /// The member and score at `rank`.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        self.tree.get(rank).map(|x| (x.item.key(), x.score))
    }

    /// The ordered index.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    pub fn dict(&self) -> &Dict<Item> {
        &self.dict
    }

    /// Bytes of heap used (MEMORY USAGE).
    pub fn heap_bytes(&self) -> usize {
        let mut n = std::mem::size_of::<SkipList>() + self.dict.buckets() * 8 + self.tree.heap_bytes();
        self.dict.for_each(|it| n += it.heap_bytes());
        n
    }
}

impl Clone for SkipList {
    fn clone(&self) -> SkipList {
        let mut copy = SkipList::new();
        self.tree.for_each(|x| copy.insert(x.item.key(), x.score));
        copy
    }
}
