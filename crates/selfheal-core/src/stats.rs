//! Small statistics: Wilson intervals and a bounded-memory duration histogram.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A proportion with its Wilson score 95% interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Interval {
    /// Lower bound, in [0, 1].
    pub low: f64,
    /// Upper bound, in [0, 1].
    pub high: f64,
}

/// Wilson score interval for `successes` out of `trials` at 95%; `None` when `trials` is 0.
pub fn wilson(successes: u64, trials: u64) -> Option<Interval> {
    if trials == 0 {
        return None;
    }
    let n = trials as f64;
    let p = successes.min(trials) as f64 / n;
    let z2 = Z95 * Z95;
    let centre = p + z2 / (2.0 * n);
    let margin = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let denom = 1.0 + z2 / n;
    Some(Interval {
        low: ((centre - margin) / denom).clamp(0.0, 1.0),
        high: ((centre + margin) / denom).clamp(0.0, 1.0),
    })
}

/// `num / den`, or `None` when `den` is 0.
pub fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Rounds to 4 decimals for stable, legible output.
pub fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// Log-bucketed histogram of non-negative integers (durations in ms).
///
/// Values below 64 are exact; above, each power of two is split into 32 buckets, so a reported
/// quantile is within ~3% of the true value. Memory is fixed (≈ 2k counters) however many
/// values are added, which keeps percentile queries streaming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

const SUB_BUCKETS: u64 = 32;
const EXACT_BELOW: u64 = 64;

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    pub fn new() -> Self {
        Histogram {
            counts: Vec::new(),
            total: 0,
            max: 0,
        }
    }

    fn bucket_of(v: u64) -> usize {
        if v < EXACT_BELOW {
            return v as usize;
        }
        let exp = 63 - v.leading_zeros() as u64; // ≥ 6
        let sub = (v >> (exp - 5)) & (SUB_BUCKETS - 1);
        (EXACT_BELOW + (exp - 6) * SUB_BUCKETS + sub) as usize
    }

    /// Representative value (midpoint) of a bucket.
    fn value_of(bucket: usize) -> u64 {
        let b = bucket as u64;
        if b < EXACT_BELOW {
            return b;
        }
        let exp = (b - EXACT_BELOW) / SUB_BUCKETS + 6;
        let sub = (b - EXACT_BELOW) % SUB_BUCKETS;
        let width = 1u64 << (exp - 5);
        (1u64 << exp) + sub * width + width / 2
    }

    pub fn add(&mut self, v: u64) {
        let b = Self::bucket_of(v);
        if self.counts.len() <= b {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] += 1;
        self.total += 1;
        self.max = self.max.max(v);
    }

    /// Takes back one value added before (a rollup whose source row changed). The maximum is
    /// kept as it was: quantiles stay within the bucket bound.
    pub fn remove(&mut self, v: u64) {
        let b = Self::bucket_of(v);
        if let Some(c) = self.counts.get_mut(b).filter(|c| **c > 0) {
            *c -= 1;
            self.total -= 1;
        }
    }

    pub fn merge(&mut self, other: &Histogram) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    pub fn len(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// A compact encoding (varints: max, then (bucket gap, count) pairs of non-empty buckets),
    /// for storing per-hour histograms that are merged later.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        put_varint(&mut out, self.max);
        let mut last = 0usize;
        for (bucket, &count) in self.counts.iter().enumerate() {
            if count > 0 {
                put_varint(&mut out, (bucket - last) as u64);
                put_varint(&mut out, count);
                last = bucket;
            }
        }
        out
    }

    /// Decodes [`Histogram::to_bytes`]; `None` for bytes it did not write.
    pub fn from_bytes(bytes: &[u8]) -> Option<Histogram> {
        let mut at = 0usize;
        let max = get_varint(bytes, &mut at)?;
        let mut h = Histogram::new();
        h.max = max;
        let mut bucket = 0usize;
        while at < bytes.len() {
            bucket = bucket.checked_add(usize::try_from(get_varint(bytes, &mut at)?).ok()?)?;
            let count = get_varint(bytes, &mut at)?;
            if bucket > 4_096 || count == 0 {
                return None;
            }
            if h.counts.len() <= bucket {
                h.counts.resize(bucket + 1, 0);
            }
            h.counts[bucket] += count;
            h.total = h.total.checked_add(count)?;
        }
        Some(h)
    }

    /// The `q`-quantile (nearest rank), `q` in [0, 1]; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(Self::value_of(bucket).min(self.max));
            }
        }
        Some(self.max)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_takes_back_an_added_value() {
        let mut h = Histogram::new();
        for v in [5u64, 700, 700, 90_000] {
            h.add(v);
        }
        h.remove(700);
        h.remove(12); // never added: nothing to take back
        assert_eq!(h.len(), 3);
        let median = h.quantile(0.5).unwrap() as f64;
        assert!((median - 700.0).abs() / 700.0 < 0.035, "{median}");
        let mut same = Histogram::new();
        for v in [5u64, 700, 90_000] {
            same.add(v);
        }
        assert_eq!(h.quantile(0.99), same.quantile(0.99));
    }

    #[test]
    fn histograms_round_trip_through_bytes() {
        let mut h = Histogram::new();
        for v in [0u64, 5, 63, 64, 1_000, 1_000, 250_000, u64::from(u32::MAX)] {
            h.add(v);
        }
        assert_eq!(Histogram::from_bytes(&h.to_bytes()), Some(h));
        assert_eq!(
            Histogram::from_bytes(&Histogram::new().to_bytes()),
            Some(Histogram::new())
        );
        for bad in [&[][..], &[0x80][..], &[1, 5][..], &[1, 0, 0][..]] {
            assert_eq!(Histogram::from_bytes(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn wilson_matches_reference_values() {
        // Reference: statsmodels proportion_confint(8, 10, method="wilson").
        let i = wilson(8, 10).unwrap();
        assert!(
            (i.low - 0.4902).abs() < 1e-3 && (i.high - 0.9433).abs() < 1e-3,
            "{i:?}"
        );
        let i = wilson(0, 50).unwrap();
        assert!(i.low.abs() < 1e-12);
        assert!((i.high - 0.0714).abs() < 1e-3, "{i:?}");
        assert_eq!(wilson(0, 0), None);
    }

    #[test]
    fn histogram_quantiles_are_close() {
        let mut h = Histogram::new();
        for v in 1..=10_000u64 {
            h.add(v);
        }
        for (q, exact) in [(0.5, 5_000.0), (0.95, 9_500.0), (0.99, 9_900.0)] {
            let got = h.quantile(q).unwrap() as f64;
            assert!(
                (got - exact).abs() / exact < 0.035,
                "q{q}: {got} vs {exact}"
            );
        }
        let mut small = Histogram::new();
        for v in [3, 1, 2] {
            small.add(v);
        }
        assert_eq!(small.quantile(0.5), Some(2));
        assert_eq!(small.quantile(1.0), Some(3));
        assert_eq!(Histogram::new().quantile(0.5), None);
    }

    #[test]
    fn histogram_merge_equals_adding_everything() {
        let (mut a, mut b, mut all) = (Histogram::new(), Histogram::new(), Histogram::new());
        for v in 0..500u64 {
            let v = v * 97 % 40_000;
            if v % 2 == 0 {
                a.add(v)
            } else {
                b.add(v)
            }
            all.add(v);
        }
        a.merge(&b);
        assert_eq!(a, all);
    }
}
