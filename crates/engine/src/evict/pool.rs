//! The eviction pool: the best candidates seen so far, kept across eviction passes (Valkey's
//! `EvictionPoolLRU`). Each pass samples a few keys and offers them; the pool keeps the 16
//! with the highest scores (idle time, inverted frequency, or nearness of expiry), so that a
//! key sampled a while ago but still the best is not forgotten. Eviction takes the best one
//! (checking that it still exists: it may have been deleted since it was sampled).

/// Candidates kept (Valkey's `EVPOOL_SIZE`).
pub const POOL_SIZE: usize = 16;

/// One candidate: where it lives and how good a victim it is (higher is better).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub score: u64,
    pub db: usize,
    pub shard: usize,
    pub key: Vec<u8>,
}

#[derive(Default)]
pub struct Pool {
    /// Ascending by score; at most [`POOL_SIZE`].
    slots: Vec<Candidate>,
    /// Key buffers of candidates that left the pool, reused for new ones.
    spare: Vec<Vec<u8>>,
}

impl Pool {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Offers a sampled key. A full pool takes it only if it beats the worst candidate, which
    /// then leaves; a key already in the pool is not added twice (its score is updated).
    pub fn offer(&mut self, score: u64, db: usize, shard: usize, key: &[u8]) {
        if let Some(i) = self.slots.iter().position(|c| c.db == db && c.shard == shard && c.key == key) {
            let mut c = self.slots.remove(i);
            c.score = score;
            let at = self.slots.partition_point(|s| s.score < score);
            self.slots.insert(at, c);
            return;
        }
        let mut at = self.slots.partition_point(|s| s.score < score);
        if self.slots.len() == POOL_SIZE {
            if at == 0 {
                return;
            }
            let worst = self.slots.remove(0);
            self.spare.push(worst.key);
            at -= 1;
        }
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(key);
        self.slots.insert(at, Candidate { score, db, shard, key: buf });
    }

    /// Takes the best candidate out of the pool.
    pub fn pop_best(&mut self) -> Option<Candidate> {
        self.slots.pop()
    }

    /// Gives a popped candidate's key buffer back for reuse.
    pub fn recycle(&mut self, c: Candidate) {
        if self.spare.len() < POOL_SIZE {
            self.spare.push(c.key);
        }
    }

    /// Forgets every candidate (the policy changed, or a database was flushed).
    pub fn clear(&mut self) {
        for c in self.slots.drain(..) {
            if self.spare.len() < POOL_SIZE {
                self.spare.push(c.key);
            }
        }
    }

    #[cfg(test)]
    pub fn scores(&self) -> Vec<u64> {
        self.slots.iter().map(|c| c.score).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_sixteen_in_order() {
        let mut p = Pool::default();
        let mut rng = fastrand::Rng::with_seed(1);
        let mut all = Vec::new();
        for i in 0..1000u64 {
            let score = rng.u64(..1_000_000);
            all.push(score);
            p.offer(score, 0, 0, format!("k{i}").as_bytes());
            let s = p.scores();
            assert!(s.windows(2).all(|w| w[0] <= w[1]));
            assert!(s.len() <= POOL_SIZE);
        }
        all.sort_unstable();
        let best: Vec<u64> = all[all.len() - POOL_SIZE..].to_vec();
        assert_eq!(p.scores(), best);
        let top = p.pop_best().unwrap();
        assert_eq!(top.score, *all.last().unwrap());
        assert_eq!(p.len(), POOL_SIZE - 1);
    }

    #[test]
    fn a_full_pool_ignores_worse_keys_and_repeats_are_not_duplicated() {
        let mut p = Pool::default();
        for i in 0..POOL_SIZE as u64 {
            p.offer(100 + i, 0, 0, format!("k{i}").as_bytes());
        }
        p.offer(50, 0, 0, b"worse");
        assert!(!p.scores().contains(&50));
        p.offer(1000, 1, 3, b"k0");
        assert_eq!(p.scores()[0], 101, "the worst left for a better one");
        // The same key (same db and shard) sampled again is moved, not added.
        p.offer(2000, 1, 3, b"k0");
        assert_eq!(p.len(), POOL_SIZE);
        let best = p.pop_best().unwrap();
        assert_eq!((best.score, best.db, best.shard, best.key.as_slice()), (2000, 1, 3, &b"k0"[..]));
        assert_ne!(p.pop_best().unwrap().key, b"k0");
        p.clear();
        assert!(p.is_empty());
    }
}
