//! Random choices shared by the commands that return or remove random elements (SRANDMEMBER,
//! SPOP, HRANDFIELD, and ZRANDMEMBER later). Which elements come out need not match Valkey's
//! random generator; how many, whether they repeat and in which cases they come in storage
//! order must, and these helpers give the building blocks for that.

use crate::keyspace::dict::{Chained, Dict};

/// `count` distinct indexes out of `0..n`, in increasing order, each subset equally likely
/// (selection sampling, Knuth's algorithm S: what Valkey's `lpNextRandom` does while walking a
/// listpack once). `count` larger than `n` gives every index.
pub fn ordered_distinct(n: usize, count: usize, rng: &mut fastrand::Rng) -> Vec<usize> {
    let mut needed = count.min(n);
    let mut out = Vec::with_capacity(needed);
    for i in 0..n {
        if needed == 0 {
            break;
        }
        // Take index i with probability needed / (indexes left).
        if rng.usize(..n - i) < needed {
            out.push(i);
            needed -= 1;
        }
    }
    out
}

/// Draws from `draw` until `count` distinct values came out (Valkey's "case 4": a big
/// collection and a comparatively small count, so few draws repeat). `count` must not exceed
/// the number of distinct values `draw` can produce.
pub fn distinct_draws<T: Eq + std::hash::Hash + Copy>(count: usize, mut draw: impl FnMut() -> T) -> Vec<T> {
    let mut seen = std::collections::HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let v = draw();
        if seen.insert(v) {
            out.push(v);
        }
    }
    out
}

/// Slots a fair draw picks among (see [`fair_random`]). At the load factors the dict keeps
/// (at most 1), a chain longer than this is rare.
const FAIR_SLOTS: usize = 8;
/// The fallback sample: up to this many items, from at most ten times as many buckets.
const SAMPLE_ITEMS: usize = 15;

/// A random item of a dict, every item equally likely. Picking a random non-empty bucket and
/// then an item in its chain (`Dict::random`) favours items in short chains, which shows in a
/// histogram of many draws. Here a random cursor (a bucket of the smaller table, with the
/// buckets of the larger one it maps to while the dict resizes) and a random slot among
/// [`FAIR_SLOTS`] are drawn, and the draw is retried when the slot is past the end of what
/// the cursor holds, so each item has the same chance, `1 / (cursors * FAIR_SLOTS)`, per
/// draw. A cursor holding more falls back to a uniform choice among its items. The number of
/// draws is sized from the expected number (`cursors * FAIR_SLOTS / items`; the dict's fill
/// rules keep it small) with a wide margin; only past that does it fall back to Valkey's way
/// (`dictGetFairRandomKey`): a uniform choice among the first items met from a random bucket.
pub fn fair_random<T: Chained>(d: &Dict<T>, rng: &mut fastrand::Rng) -> Option<T> {
    if d.is_empty() {
        return None;
    }
    // A cursor names a bucket of the smaller table by its low bits; its other bits must be
    // zero for the scan to visit every bucket of the larger table that bucket maps to (while
    // the dict resizes). Both sizes are powers of two, so the smaller one is the lowest bit
    // set in their sum.
    let buckets = d.buckets() as u64;
    let small = buckets & buckets.wrapping_neg();
    let small_mask = small.wrapping_sub(1);
    // Misses per draw follow a geometric law: 16 times the expected count fails with a
    // chance of about e^-16.
    let expected = (small as usize).saturating_mul(FAIR_SLOTS) / d.len().max(1) + 1;
    let tries = expected.saturating_mul(16).clamp(128, 1 << 16);
    for _ in 0..tries {
        let mut chain: [Option<T>; FAIR_SLOTS] = [None; FAIR_SLOTS];
        let mut len = 0usize;
        let mut long_chain = Vec::new();
        d.scan(rng.u64(..) & small_mask, |e| {
            if len < FAIR_SLOTS {
                chain[len] = Some(e);
            } else {
                if long_chain.is_empty() {
                    long_chain.extend(chain.iter().flatten().copied());
                }
                long_chain.push(e);
            }
            len += 1;
        });
        if len > FAIR_SLOTS {
            return Some(long_chain[rng.usize(..len)]);
        }
        if let Some(e) = chain[rng.usize(..FAIR_SLOTS)] {
            return Some(e);
        }
    }
    loop {
        let mut sample = Vec::with_capacity(SAMPLE_ITEMS);
        let mut cursor = rng.u64(..) & small_mask;
        for _ in 0..SAMPLE_ITEMS * 10 {
            cursor = d.scan(cursor, |e| {
                if sample.len() < SAMPLE_ITEMS {
                    sample.push(e);
                }
            });
            if sample.len() == SAMPLE_ITEMS || cursor == 0 {
                break;
            }
        }
        if !sample.is_empty() {
            return Some(sample[rng.usize(..sample.len())]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_distinct_is_sorted_unique_and_uniform() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut hits = [0u32; 10];
        for _ in 0..20_000 {
            let v = ordered_distinct(10, 3, &mut rng);
            assert_eq!(v.len(), 3);
            assert!(v.windows(2).all(|w| w[0] < w[1]));
            for i in v {
                hits[i] += 1;
            }
        }
        // Each index is chosen with probability 3/10: 6000 expected.
        assert!(hits.iter().all(|&h| (5500..6500).contains(&h)), "{hits:?}");
        assert_eq!(ordered_distinct(4, 9, &mut rng), vec![0, 1, 2, 3]);
        assert!(ordered_distinct(0, 2, &mut rng).is_empty());
    }

    #[test]
    fn fair_random_is_uniform() {
        use crate::keyspace::hash_key;
        use crate::types::item::Item;
        let mut rng = fastrand::Rng::with_seed(9);
        for n in [1usize, 5, 30, 200] {
            let mut d: Dict<Item> = Dict::new();
            for i in 0..n {
                let k = format!("k{i}");
                d.insert(hash_key(k.as_bytes()), Item::new(k.as_bytes(), b""));
            }
            let draws = 200 * n;
            let mut hits = std::collections::HashMap::new();
            for _ in 0..draws {
                *hits.entry(fair_random(&d, &mut rng).unwrap().key().to_vec()).or_insert(0u32) += 1;
            }
            assert_eq!(hits.len(), n);
            // Chi-square with n-1 degrees of freedom: mean n-1, far below 2n for a fair draw.
            let expected = (draws / n) as f64;
            let chi2: f64 = hits.values().map(|&h| (f64::from(h) - expected).powi(2) / expected).sum();
            assert!(chi2 < (2 * n + 20) as f64, "n={n}: chi2={chi2}");
        }
        // A table shrinking after most items went (rehashing from a sparse table).
        let mut d: Dict<Item> = Dict::new();
        for i in 0..1000 {
            let k = format!("k{i}");
            d.insert(hash_key(k.as_bytes()), Item::new(k.as_bytes(), b""));
        }
        for i in 20..1000 {
            let k = format!("k{i}");
            let link = d.find(hash_key(k.as_bytes()), k.as_bytes()).unwrap();
            // SAFETY: unlinked just now, not used again.
            unsafe { d.unlink(link).free() };
        }
        assert!(d.is_rehashing());
        let mut hits = std::collections::HashMap::new();
        for _ in 0..4000 {
            *hits.entry(fair_random(&d, &mut rng).unwrap().key().to_vec()).or_insert(0u32) += 1;
        }
        let chi2: f64 = hits.values().map(|&h| (f64::from(h) - 200.0).powi(2) / 200.0).sum();
        assert!(hits.len() == 20 && chi2 < 60.0, "{chi2}");
        let empty: Dict<Item> = Dict::new();
        assert!(fair_random(&empty, &mut rng).is_none());
    }

    #[test]
    fn distinct_draws_are_distinct() {
        let mut rng = fastrand::Rng::with_seed(4);
        let v = distinct_draws(20, || rng.usize(..25));
        let set: std::collections::HashSet<_> = v.iter().collect();
        assert_eq!((v.len(), set.len()), (20, 20));
    }
}
