//! The two sorts Valkey's geo searches use, reproduced element move for element move, because
//! the order of members at equal distances is whatever these algorithms leave it in:
//!
//! - [`merge_sort`]: glibc's `qsort` as the peer's glibc (2.36) runs it, a top-down merge sort
//!   that takes from the left run on ties (stable);
//! - [`partial_sort`]: Valkey's `pqsort`, the BSD quicksort (median of three, ninther above 40
//!   elements, insertion sort below 7, equal keys gathered at both ends) that only recurses
//!   into parts overlapping the wanted range of positions (COUNT without ANY).
//!
//! The comparison is C's: an `i32` whose sign is what counts; it need not be a total order
//! (NaN distances), and neither sort can fail because of that.

/// Stable merge sort (glibc `msort`): left half first, a tie takes the left element.
pub fn merge_sort<T: Copy>(v: &mut [T], cmp: &impl Fn(&T, &T) -> i32) {
    if v.len() <= 1 {
        return;
    }
    let mid = v.len() / 2;
    merge_sort(&mut v[..mid], cmp);
    merge_sort(&mut v[mid..], cmp);
    let mut merged = Vec::with_capacity(v.len());
    let (mut i, mut j) = (0, mid);
    while i < mid && j < v.len() {
        if cmp(&v[i], &v[j]) <= 0 {
            merged.push(v[i]);
            i += 1;
        } else {
            merged.push(v[j]);
            j += 1;
        }
    }
    merged.extend_from_slice(&v[i..mid]);
    merged.extend_from_slice(&v[j..]);
    v.copy_from_slice(&merged);
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> i32) -> usize {
    if cmp(&v[a], &v[b]) < 0 {
        if cmp(&v[b], &v[c]) < 0 {
            b
        } else if cmp(&v[a], &v[c]) < 0 {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) > 0 {
        b
    } else if cmp(&v[a], &v[c]) < 0 {
        a
    } else {
        c
    }
}

/// Swaps `n` elements from `a` with `n` from `b`, one after the other in increasing order.
fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// Sorts enough of `v` that positions `first..=last` hold what a full sort would put there
/// (Valkey's `pqsort(v, n, es, cmp, first, last)`).
pub fn partial_sort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> i32, first: usize, last: usize) {
    sort_part(v, 0, v.len(), cmp, first, last);
}

/// Whether the part `lo..lo+n` overlaps the wanted positions.
fn wanted(lo: usize, n: usize, first: usize, last: usize) -> bool {
    let hi = lo + n - 1;
    !((first < lo && last < lo) || (first > hi && last > hi))
}

fn sort_part<T>(v: &mut [T], mut a: usize, mut n: usize, cmp: &impl Fn(&T, &T) -> i32, first: usize, last: usize) {
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(&v[pl - 1], &v[pl]) > 0 {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c > 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(&v[pc], &v[a]);
                if c < 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && wanted(a, r, first, last) {
            sort_part(v, a, r, cmp, first, last);
        }
        let r = pd - pc;
        if r > 1 {
            a = pn - r;
            n = r;
            if wanted(a, n, first, last) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_key(a: &(u32, u32), b: &(u32, u32)) -> i32 {
        a.0.cmp(&b.0) as i32
    }

    #[test]
    fn merge_sort_is_stable() {
        let mut rng = fastrand::Rng::with_seed(1);
        let mut v: Vec<(u32, u32)> = (0..500).map(|i| (rng.u32(..20), i)).collect();
        let mut want = v.clone();
        want.sort_by_key(|p| p.0);
        merge_sort(&mut v, &by_key);
        assert_eq!(v, want);
    }

    #[test]
    fn partial_sort_gets_the_wanted_positions_right() {
        let mut rng = fastrand::Rng::with_seed(2);
        for n in [1usize, 5, 7, 8, 40, 41, 100, 1000] {
            for _ in 0..20 {
                let v: Vec<(u32, u32)> = (0..n).map(|i| (rng.u32(..(n as u32)), i as u32)).collect();
                let k = rng.usize(1..=n);
                let mut got = v.clone();
                partial_sort(&mut got, &by_key, 0, k - 1);
                let mut keys: Vec<u32> = v.iter().map(|p| p.0).collect();
                keys.sort();
                let got_keys: Vec<u32> = got[..k].iter().map(|p| p.0).collect();
                assert_eq!(got_keys, keys[..k], "n={n} k={k}");
                let mut all = got.clone();
                all.sort();
                let mut orig = v.clone();
                orig.sort();
                assert_eq!(all, orig, "a permutation");
            }
        }
    }
}
