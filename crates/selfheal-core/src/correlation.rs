//! How strongly a pattern's occurrences resemble each other: mean pairwise Jaccard similarity
//! of their context sets.
//!
//! An occurrence's context set holds the tokens of its normalised message plus `agent=…` and
//! `model=…`. Occurrences with identical context collapse into one weighted group, so the mean
//! over all `n·(n−1)/2` pairs is computed exactly in `O(g²)` for `g` distinct contexts
//! ([`mean_pairwise_jaccard`]); for up to [`EXACT_GROUP_LIMIT`] contexts that is what the
//! analysis does.
//!
//! Beyond that it uses a sketch maintained as events are indexed: every context gets a
//! [`MinHash`] signature of [`MINHASH_K`] values when it is first seen. For one hash function,
//! two sets have the same minimum with probability equal to their Jaccard similarity, so the
//! share of occurrence pairs whose minima agree estimates the mean pairwise Jaccard without
//! looking at a single pair: `Σ_v C(n_v, 2) / C(n, 2)`, with `n_v` the occurrences whose minimum
//! is `v` — linear in the contexts, mergeable by adding counts ([`estimate_mean_pairwise`]).
//! The `K` per-function estimates are independent and unbiased; their mean is reported with the
//! half-width of its 95% confidence interval, `1.96·s/√K` (`s` their standard deviation; at
//! least `1/K`). [`SAMPLED_PAIRS`] sampled pairs (Hoeffding bound ±0.021) remain available for
//! callers without signatures.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Above this many distinct contexts the mean is estimated (sampled pairs, or MinHash).
pub const EXACT_GROUP_LIMIT: usize = 64;
/// Hash functions of a [`MinHash`] signature.
pub const MINHASH_K: usize = 64;
/// Number of occurrence pairs drawn when estimating.
pub const SAMPLED_PAIRS: u64 = 4_000;

/// A context set: sorted, deduplicated token hashes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ContextSet(Vec<u64>);

impl ContextSet {
    /// Builds the context of one occurrence.
    pub fn new<'a>(
        message_tokens: impl IntoIterator<Item = &'a str>,
        agent: &str,
        model: &str,
    ) -> Self {
        let mut hashes: Vec<u64> = message_tokens
            .into_iter()
            .map(|t| fnv1a(0, t.as_bytes()))
            .chain([fnv1a(1, agent.as_bytes()), fnv1a(2, model.as_bytes())])
            .collect();
        hashes.sort_unstable();
        hashes.dedup();
        ContextSet(hashes)
    }

    /// Jaccard similarity |A∩B| / |A∪B| (1 for two empty sets).
    pub fn jaccard(&self, other: &ContextSet) -> f64 {
        let (a, b) = (&self.0, &other.0);
        if a.is_empty() && b.is_empty() {
            return 1.0;
        }
        let (mut i, mut j, mut common) = (0, 0, 0usize);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    common += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        common as f64 / (a.len() + b.len() - common) as f64
    }
}

/// The correlation score of a pattern and how it was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Correlation {
    /// Mean pairwise Jaccard similarity in [0, 1] (0 when there are fewer than two occurrences).
    pub score: f64,
    /// `exact`, `sampled` or `minhash`.
    pub method: CorrelationMethod,
    /// For an estimate: the half-width of its 95% bound; 0 when exact.
    pub error_bound: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationMethod {
    Exact,
    Sampled,
    Minhash,
}

/// A MinHash signature of a context set (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MinHash(pub [u32; MINHASH_K]);

impl MinHash {
    /// The signature of a set: per hash function, the least hash of its elements.
    pub fn of(set: &ContextSet) -> MinHash {
        let mut mins = [u32::MAX; MINHASH_K];
        for h in &set.0 {
            for (i, m) in mins.iter_mut().enumerate() {
                let v = (mix(h ^ SEEDS[i]) >> 32) as u32;
                if v < *m {
                    *m = v;
                }
            }
        }
        MinHash(mins)
    }

    /// Little-endian bytes, for storing.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// Decodes [`MinHash::to_bytes`]; `None` for bytes of another length.
    pub fn from_bytes(bytes: &[u8]) -> Option<MinHash> {
        if bytes.len() != MINHASH_K * 4 {
            return None;
        }
        let mut mins = [0u32; MINHASH_K];
        for (m, chunk) in mins.iter_mut().zip(bytes.chunks_exact(4)) {
            *m = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        Some(MinHash(mins))
    }
}

/// Per-function seeds (the golden-ratio sequence, fixed so signatures stay comparable).
const SEEDS: [u64; MINHASH_K] = {
    let mut seeds = [0u64; MINHASH_K];
    let mut i = 0;
    while i < MINHASH_K {
        seeds[i] = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        i += 1;
    }
    seeds
};

/// A 64-bit finaliser (SplitMix64's), a good hash of an already hashed value.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Mean pairwise Jaccard over occurrences given as (signature, multiplicity) groups,
/// estimated from MinHash signatures (see the module docs).
pub fn estimate_mean_pairwise(groups: &[(&MinHash, u64)]) -> Correlation {
    let n: u64 = groups.iter().map(|g| g.1).sum();
    if n < 2 {
        return Correlation {
            score: 0.0,
            method: CorrelationMethod::Exact,
            error_bound: 0.0,
        };
    }
    let pairs = n as f64 * (n as f64 - 1.0) / 2.0;
    let mut per_function = [0f64; MINHASH_K];
    let mut column: Vec<(u32, u64)> = Vec::with_capacity(groups.len());
    for (i, estimate) in per_function.iter_mut().enumerate() {
        column.clear();
        column.extend(groups.iter().map(|(sig, c)| (sig.0[i], *c)));
        column.sort_unstable_by_key(|e| e.0);
        let mut agreeing = 0f64;
        let mut k = 0;
        while k < column.len() {
            let value = column[k].0;
            let mut count = 0u64;
            while k < column.len() && column[k].0 == value {
                count += column[k].1;
                k += 1;
            }
            agreeing += count as f64 * (count as f64 - 1.0) / 2.0;
        }
        *estimate = agreeing / pairs;
    }
    let k = MINHASH_K as f64;
    let mean = per_function.iter().sum::<f64>() / k;
    let var = per_function.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0);
    Correlation {
        score: mean.clamp(0.0, 1.0),
        method: CorrelationMethod::Minhash,
        error_bound: (1.96 * var.sqrt() / k.sqrt()).max(1.0 / k),
    }
}

/// Mean pairwise Jaccard over occurrences given as (context, multiplicity) groups.
pub fn mean_pairwise_jaccard(groups: &[(ContextSet, u64)]) -> Correlation {
    let n: u64 = groups.iter().map(|g| g.1).sum();
    if n < 2 {
        return Correlation {
            score: 0.0,
            method: CorrelationMethod::Exact,
            error_bound: 0.0,
        };
    }
    if groups.len() <= EXACT_GROUP_LIMIT {
        let mut total = 0.0;
        for (i, (a, ca)) in groups.iter().enumerate() {
            let ca = *ca as f64;
            total += ca * (ca - 1.0) / 2.0; // identical contexts: similarity 1
            for (b, cb) in &groups[i + 1..] {
                total += ca * *cb as f64 * a.jaccard(b);
            }
        }
        let pairs = n as f64 * (n as f64 - 1.0) / 2.0;
        return Correlation {
            score: (total / pairs).clamp(0.0, 1.0),
            method: CorrelationMethod::Exact,
            error_bound: 0.0,
        };
    }
    // Sample occurrence pairs uniformly: pick two distinct occurrence indices, map each to its
    // group through cumulative counts.
    let mut cumulative = Vec::with_capacity(groups.len());
    let mut acc = 0u64;
    for (_, c) in groups {
        acc += c;
        cumulative.push(acc);
    }
    let group_of = |idx: u64| cumulative.partition_point(|&end| end <= idx);
    let mut rng = SplitMix64(n ^ groups.len() as u64);
    let mut total = 0.0;
    for _ in 0..SAMPLED_PAIRS {
        let i = rng.below(n);
        let mut j = rng.below(n - 1);
        if j >= i {
            j += 1;
        }
        let (gi, gj) = (group_of(i), group_of(j));
        total += if gi == gj {
            1.0
        } else {
            groups[gi].0.jaccard(&groups[gj].0)
        };
    }
    Correlation {
        score: (total / SAMPLED_PAIRS as f64).clamp(0.0, 1.0),
        method: CorrelationMethod::Sampled,
        error_bound: ((2.0f64 / 0.05).ln() / (2.0 * SAMPLED_PAIRS as f64)).sqrt(),
    }
}

/// FNV-1a with a domain byte, so `agent=x` never collides with the message token `x`.
fn fnv1a(domain: u8, bytes: &[u8]) -> u64 {
    crate::hash::Fnv64::new()
        .write(&[domain])
        .write(bytes)
        .finish()
}

/// Small deterministic generator for sampling (no need for cryptographic quality).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(bound)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(msg: &str, agent: &str) -> ContextSet {
        ContextSet::new(msg.split(' '), agent, "m")
    }

    #[test]
    fn jaccard_of_sets() {
        assert_eq!(ctx("a b", "x").jaccard(&ctx("a b", "x")), 1.0);
        // {a,b,x,m} vs {a,c,x,m}: 3 common of 5
        assert!((ctx("a b", "x").jaccard(&ctx("a c", "x")) - 0.6).abs() < 1e-12);
        // agent=x is not the token x
        assert!(ctx("x", "x").jaccard(&ctx("y", "y")) < 0.34);
    }

    #[test]
    fn exact_mean_counts_every_pair() {
        // Three occurrences: two identical (J=1), one at J=0.6 from both → (1 + .6 + .6) / 3.
        let groups = vec![(ctx("a b", "x"), 2), (ctx("a c", "x"), 1)];
        let c = mean_pairwise_jaccard(&groups);
        assert_eq!(c.method, CorrelationMethod::Exact);
        assert!((c.score - 2.2 / 3.0).abs() < 1e-12, "{c:?}");
        assert_eq!(mean_pairwise_jaccard(&[(ctx("a", "x"), 1)]).score, 0.0);
        assert_eq!(mean_pairwise_jaccard(&[(ctx("a", "x"), 5)]).score, 1.0);
    }

    #[test]
    fn minhash_estimate_is_close_to_the_exact_mean() {
        for (spread, groups) in [(7, 300u64), (3, 120), (50, 400)] {
            let groups: Vec<(ContextSet, u64)> = (0..groups)
                .map(|i| {
                    (
                        ctx(
                            &format!(
                                "error reading config v{} of service s{} at step {}",
                                i % spread,
                                i % 11,
                                i % 5
                            ),
                            "x",
                        ),
                        1 + i % 4,
                    )
                })
                .collect();
            let exact = {
                let n: u64 = groups.iter().map(|g| g.1).sum();
                let mut total = 0.0;
                for (i, (a, ca)) in groups.iter().enumerate() {
                    total += (*ca * (*ca - 1) / 2) as f64;
                    for (b, cb) in &groups[i + 1..] {
                        total += (*ca * *cb) as f64 * a.jaccard(b);
                    }
                }
                total / (n * (n - 1) / 2) as f64
            };
            let sigs: Vec<MinHash> = groups.iter().map(|(s, _)| MinHash::of(s)).collect();
            let refs: Vec<(&MinHash, u64)> = sigs
                .iter()
                .zip(&groups)
                .map(|(s, (_, c))| (s, *c))
                .collect();
            let est = estimate_mean_pairwise(&refs);
            assert_eq!(est.method, CorrelationMethod::Minhash);
            // Within twice the stated 95% bound (one check in twenty may fall outside once).
            assert!(
                (est.score - exact).abs() <= 2.0 * est.error_bound,
                "{} vs {exact} ±{}",
                est.score,
                est.error_bound
            );
        }
        // Identical contexts agree on every function.
        let one = MinHash::of(&ctx("a b c", "x"));
        let est = estimate_mean_pairwise(&[(&one, 3), (&one, 2)]);
        assert_eq!(est.score, 1.0);
        assert_eq!(MinHash::from_bytes(&one.to_bytes()), Some(one));
    }

    #[test]
    fn sampled_estimate_is_within_its_bound() {
        // 1000 distinct contexts sharing a prefix: compare the estimate with the exact value.
        let groups: Vec<(ContextSet, u64)> = (0..1_000)
            .map(|i| {
                (
                    ctx(&format!("err code t{} u{}", i % 7, i % 13), "x"),
                    1 + i % 3,
                )
            })
            .collect();
        let est = mean_pairwise_jaccard(&groups);
        assert_eq!(est.method, CorrelationMethod::Sampled);
        let n: u64 = groups.iter().map(|g| g.1).sum();
        let mut total = 0.0;
        for (i, (a, ca)) in groups.iter().enumerate() {
            total += (*ca * (*ca - 1) / 2) as f64;
            for (b, cb) in &groups[i + 1..] {
                total += (*ca * *cb) as f64 * a.jaccard(b);
            }
        }
        let exact = total / (n * (n - 1) / 2) as f64;
        assert!(
            (est.score - exact).abs() <= est.error_bound,
            "{} vs {exact}",
            est.score
        );
    }
}
