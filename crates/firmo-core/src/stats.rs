//! The statistics behind spot checks: a Wilson score interval for an accuracy measured
//! on a sample, and a seeded stratified sample to measure it on. Pure: the seed is an
//! input, so the same seed and population always give the same sample.

use serde::Serialize;

/// z for a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// A proportion measured on `n` trials and its 95 % Wilson interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// successes / n.
    pub rate: f64,
    pub low: f64,
    pub high: f64,
    pub n: u64,
}

impl Interval {
    /// Half the interval's width: the "± 6" of "91 % ± 6".
    pub fn margin(&self) -> f64 {
        (self.high - self.low) / 2.0
    }
}

/// Why an interval can't be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    #[error("an interval needs at least one trial (got 0)")]
    NoTrials,
    #[error("{successes} successes out of {n} trials: successes can't exceed trials")]
    TooManySuccesses { successes: u64, n: u64 },
}

/// The 95 % Wilson score interval for `successes` out of `n`.
///
/// Wilson rather than the textbook `p ± z·√(p(1−p)/n)`: spot-check samples are small and
/// accuracies near 100 %, where the textbook interval collapses to zero width at `p = 1`
/// and spills past 1; Wilson's stays inside 0..=1 and keeps a useful width.
pub fn wilson(successes: u64, n: u64) -> Result<Interval, StatsError> {
    if n == 0 {
        return Err(StatsError::NoTrials);
    }
    if successes > n {
        return Err(StatsError::TooManySuccesses { successes, n });
    }
    let nf = n as f64;
    let p = successes as f64 / nf;
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denominator;
    let half = Z95 / denominator * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    Ok(Interval {
        rate: p,
        // At p = 0 or 1 the bound is exactly p; rounding must not put it a hair past.
        low: (center - half).max(0.0).min(p),
        high: (center + half).min(1.0).max(p),
        n,
    })
}

/// SplitMix64: tiny, seedable, and the same on every platform (wasm32 included).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound > 0`); the modulo bias is below 2⁻⁴⁰ for the
    /// population sizes firmo samples from.
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }
}

/// Picks `n` of `strata.len()` items (or all of them when there are fewer), where
/// `strata[i]` is item `i`'s stratum, and returns their indices in ascending order.
///
/// Each stratum gets a share of `n` proportional to its size (largest remainder), but
/// every non-empty stratum at least one item while `n` allows: a rare source still gets
/// checked, and the pooled sample stays close to the population's mix, so the pooled
/// accuracy needs no reweighting. Within a stratum the pick is a seeded partial shuffle.
pub fn stratified_sample<K: Ord + Clone>(strata: &[K], n: usize, seed: u64) -> Vec<usize> {
    use std::collections::BTreeMap;
    let mut groups: BTreeMap<K, Vec<usize>> = BTreeMap::new();
    for (i, key) in strata.iter().enumerate() {
        groups.entry(key.clone()).or_default().push(i);
    }
    let total = strata.len();
    let n = n.min(total);
    if n == 0 {
        return Vec::new();
    }
    let mut quota: Vec<usize> = groups.values().map(|_| 0).collect();
    let sizes: Vec<usize> = groups.values().map(Vec::len).collect();
    // One each first (largest strata first when n is smaller than the number of strata).
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|a, b| sizes[*b].cmp(&sizes[*a]).then(a.cmp(b)));
    let mut left = n;
    for &g in &order {
        if left == 0 {
            break;
        }
        quota[g] = 1;
        left -= 1;
    }
    // The rest in proportion to what each stratum has beyond its first item.
    let spare: usize = sizes.iter().zip(&quota).map(|(s, q)| s - q).sum();
    if left > 0 && spare > 0 {
        let mut remainders = Vec::with_capacity(sizes.len());
        let mut given = 0;
        for g in 0..sizes.len() {
            let room = sizes[g] - quota[g];
            let exact = left * room;
            let whole = exact / spare;
            quota[g] += whole;
            given += whole;
            remainders.push((exact % spare, g));
        }
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, g) in remainders.into_iter().take(left - given) {
            quota[g] += 1;
        }
    }
    let mut rng = SplitMix64::new(seed);
    let mut picked = Vec::with_capacity(n);
    for (members, take) in groups.into_values().zip(quota) {
        let mut members = members;
        for i in 0..take {
            let j = i + rng.below(members.len() - i);
            members.swap(i, j);
            picked.push(members[i]);
        }
    }
    picked.sort_unstable();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-4
    }

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998), table I: 81/263 → 0.2553–0.3662; 15/148 → 0.0624–0.1605.
        let i = wilson(81, 263).unwrap();
        assert!(close(i.low, 0.2553) && close(i.high, 0.3662), "{i:?}");
        let i = wilson(15, 148).unwrap();
        assert!(close(i.low, 0.0624) && close(i.high, 0.1605), "{i:?}");
        assert!(close(i.rate, 15.0 / 148.0));
        assert_eq!(i.n, 148);
    }

    #[test]
    fn wilson_stays_inside_zero_and_one_at_the_extremes() {
        let all = wilson(20, 20).unwrap();
        assert!((all.high - 1.0).abs() < f64::EPSILON && all.low < 1.0 && all.low > 0.8);
        assert!(close(all.low, 0.8389), "{all:?}");
        let none = wilson(0, 20).unwrap();
        assert!(none.low.abs() < f64::EPSILON && none.high > 0.0 && none.high < 0.2);
        let one = wilson(1, 1).unwrap();
        assert!(one.low > 0.0 && one.low < 0.25, "{one:?}");
    }

    #[test]
    fn wilson_narrows_as_the_sample_grows() {
        let small = wilson(9, 10).unwrap();
        let large = wilson(900, 1000).unwrap();
        assert!(small.margin() > 3.0 * large.margin());
        assert!(large.low < 0.9 && large.high > 0.9);
    }

    #[test]
    fn wilson_refuses_impossible_counts() {
        assert_eq!(wilson(0, 0), Err(StatsError::NoTrials));
        let err = wilson(5, 4).unwrap_err();
        assert_eq!(
            err.to_string(),
            "5 successes out of 4 trials: successes can't exceed trials"
        );
    }

    #[test]
    fn the_sample_is_reproducible_by_seed_and_changes_with_it() {
        let strata: Vec<u8> = (0..200).map(|i| (i % 3) as u8).collect();
        let a = stratified_sample(&strata, 30, 7);
        assert_eq!(a, stratified_sample(&strata, 30, 7));
        assert_ne!(a, stratified_sample(&strata, 30, 8));
        assert_eq!(a.len(), 30);
        let mut dedup = a.clone();
        dedup.dedup();
        assert_eq!(dedup, a, "no item twice, in ascending order");
    }

    #[test]
    fn strata_get_proportional_shares_and_a_rare_one_is_not_left_out() {
        // 90 of stratum 0, 9 of stratum 1, 1 of stratum 2.
        let strata: Vec<u8> = (0..100)
            .map(|i| match i {
                0..90 => 0,
                90..99 => 1,
                _ => 2,
            })
            .collect();
        let picked = stratified_sample(&strata, 20, 1);
        let count = |s: u8| picked.iter().filter(|&&i| strata[i] == s).count();
        assert_eq!(
            count(2),
            1,
            "the single item of the rare stratum is checked"
        );
        assert_eq!(count(0) + count(1) + count(2), 20);
        assert!((16..=18).contains(&count(0)), "{}", count(0));
        assert!((1..=3).contains(&count(1)), "{}", count(1));
    }

    #[test]
    fn asking_for_more_than_there_is_gives_everything() {
        let strata = ["a", "b", "a"];
        assert_eq!(stratified_sample(&strata, 10, 3), vec![0, 1, 2]);
        assert!(stratified_sample(&strata, 0, 3).is_empty());
        assert!(stratified_sample::<u8>(&[], 5, 3).is_empty());
    }

    #[test]
    fn fewer_picks_than_strata_go_to_the_largest_strata() {
        let strata = [1, 1, 1, 2, 2, 3];
        let picked = stratified_sample(&strata, 2, 9);
        let kinds: Vec<i32> = picked.iter().map(|&i| strata[i]).collect();
        assert_eq!(kinds, vec![1, 2]);
    }
}
