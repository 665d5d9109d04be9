//! Random choices shared by the commands that return or remove random elements (SRANDMEMBER,
//! SPOP, HRANDFIELD, and ZRANDMEMBER later). Which elements come out need not match Valkey's
//! random generator; how many, whether they repeat and in which cases they come in storage
//! order must, and these helpers give the building blocks for that.

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
    fn distinct_draws_are_distinct() {
        let mut rng = fastrand::Rng::with_seed(4);
        let v = distinct_draws(20, || rng.usize(..25));
        let set: std::collections::HashSet<_> = v.iter().collect();
        assert_eq!((v.len(), set.len()), (20, 20));
    }
}
