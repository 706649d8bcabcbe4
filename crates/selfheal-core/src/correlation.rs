//! How strongly a pattern's occurrences resemble each other: mean pairwise Jaccard similarity
//! of their context sets.
//!
//! An occurrence's context set holds the tokens of its normalised message plus `agent=…` and
//! `model=…`. Occurrences with identical context collapse into one weighted group, so the mean
//! over all `n·(n−1)/2` pairs is computed exactly in `O(g²)` for `g` distinct contexts. When
//! `g` exceeds [`EXACT_GROUP_LIMIT`], [`SAMPLED_PAIRS`] occurrence pairs are drawn uniformly
//! (deterministic seed) and the mean is estimated; by Hoeffding's inequality the estimate is
//! within `sqrt(ln(2/0.05) / (2m))` ≈ 0.021 of the exact value with 95% probability.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Above this many distinct contexts the mean is estimated by sampling.
pub const EXACT_GROUP_LIMIT: usize = 400;
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
    /// `exact` or `sampled`.
    pub method: CorrelationMethod,
    /// For a sampled estimate: the half-width of its 95% bound; 0 when exact.
    pub error_bound: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationMethod {
    Exact,
    Sampled,
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
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in std::iter::once(&domain).chain(bytes) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
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
