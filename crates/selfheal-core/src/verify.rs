//! Did an applied fix work? The statistics behind `verify_improvement`.
//!
//! **What is compared.** Two windows around `applied_at`: before and after. In each, the
//! pattern's failures among the calls of its tool ([`Counts`]), and, as a regression guard, the
//! failed runs among the finished runs. A fix is judged on the pattern; the guard catches a fix
//! that trades one failure for others.
//!
//! **The test** ([`compare`]). H0: the failure rate is the same before and after; two-sided. With
//! enough data (every expected cell of the 2×2 table ≥ 5 and ≥ 40 calls in all) the pooled
//! two-proportion z-test ([`two_proportion_p`]); otherwise Fisher's exact test
//! ([`fisher_exact_two_sided`]), whose p-value sums the probabilities of every table with the
//! same margins that is at most as likely as the observed one (relative tolerance 1e-7, as R's
//! `fisher.test` and scipy's `fisher_exact` do). Hypergeometric probabilities come from
//! Loader's saddle-point expansion (the one R's `dhyper` uses), so they stay accurate to ~1e-14
//! relative for counts in the millions, and only the two tails are walked, so the cost is
//! O(√n), not O(n). Each rate is reported with its Wilson 95% interval.
//!
//! **The decision** ([`decide`]), with α = [`ALPHA`] for the pattern and [`GUARD_ALPHA`] for
//! the guard (family-wise ≤ 0.03):
//! 1. `regressed` → `rollback` when the run failure rate rose significantly and the guard has
//!    at least [`MIN_CALLS`] runs on each side, even if the pattern looks better or has too few
//!    calls to judge: a fix that makes runs crash before they reach the pattern's tool must not
//!    hide behind `insufficient_data`;
//! 2. `insufficient_data` → `extend_monitoring` when either pattern window has fewer than
//!    [`MIN_CALLS`] calls;
//! 3. `regressed` → `rollback` when the pattern's failure rate rose significantly;
//! 4. `verified` → `keep` when it fell significantly (and rule 1 did not fire);
//! 5. otherwise `no_significant_change`, never `verified`, and never `rollback` (nothing was
//!    shown to be worse). If more after-window calls could still reveal the expected effect —
//!    the after window has fewer calls than [`calls_needed`] for the pre-registered expected
//!    rate, or, when none was given, for halving the before rate ([`DEFAULT_TARGET_FACTOR`]) —
//!    `extend_monitoring`, with the calls still needed. Once the after window is that large
//!    (or no after window could ever be large enough, because the before window is too small)
//!    more data will not settle it: `keep`, because the change did no measurable harm and
//!    undoing it is itself a change; the verdict, not the recommendation, is what counts against
//!    the strategy.
//!
//! **Sample size** ([`calls_needed`]). The before window is what it is, so the question is how
//! many after calls give 80% power at a two-sided α (0.05 in [`calls_needed`], [`ALPHA`] in
//! [`decide`]) against a target after-rate. This is
//! the standard normal-approximation formula for two proportions with unequal groups (Fleiss,
//! Tytun & Ury 1980; what statsmodels' `samplesize_proportions_2indep_onetail` computes, and R's
//! `power.prop.test` for equal groups): `z_{α/2}·√(p̄q̄(1/n₁+1/n₂)) + z_β·√(p₁q₁/n₁+p₂q₂/n₂) = |p₁−p₂|`
//! with `p̄ = (n₁p₁+n₂p₂)/(n₁+n₂)`, solved for n₂ with n₁ fixed (the allocation ratio is thus set
//! by the observed before calls).
//!
//! **Learning** ([`BetaPosterior`]). A playbook strategy's success rate is a Beta posterior from
//! a uniform Beta(1, 1) prior, updated with its verified successes and failures.
//!
//! Repeated looks at a growing after window inflate the false-positive rate; `MIN_CALLS` and the
//! power target are what keep a single early look from deciding.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use statrs::function::{beta::inv_beta_reg, erf::erfc};

use crate::stats::{Interval, Z95, ratio, wilson};

/// Significance level of the pattern test. With [`GUARD_ALPHA`] the family-wise error rate of
/// a verification is at most 0.03 (Bonferroni), so a change that does nothing is reported as
/// `no_significant_change` (or `insufficient_data`) at least 97% of the time.
pub const ALPHA: f64 = 0.02;
/// Significance level of the run-level regression guard.
pub const GUARD_ALPHA: f64 = 0.01;
/// Two-sided critical value for [`ALPHA`].
pub const Z_ALPHA: f64 = 2.326_347_874_040_841;
/// Minimum calls on each side before any verdict other than insufficient_data.
pub const MIN_CALLS: u64 = 30;
/// Power that [`calls_needed`] aims for.
pub const POWER: f64 = 0.8;
/// Without a pre-registered expected rate, the effect worth detecting is halving the before rate.
pub const DEFAULT_TARGET_FACTOR: f64 = 0.5;
/// Relative tolerance under which Fisher treats two table probabilities as equal (R, scipy).
const FISHER_REL_TOL: f64 = 1e-7;
/// Below this many calls in all, or this expected cell count, the z-test is not trusted.
const Z_MIN_TOTAL: u64 = 40;
const Z_MIN_EXPECTED: f64 = 5.0;
/// z_{1−β} for [`POWER`] = 0.8 (scipy `norm.ppf(0.8)`).
const Z_POWER: f64 = 0.841_621_233_572_914_3;

/// Counts of one window: failures of the pattern among calls of its tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    /// Failures (at most `calls`; more is treated as `calls`).
    pub failures: u64,
    /// Trials in the window.
    pub calls: u64,
}

impl Counts {
    /// Failures clamped to calls, so bad data cannot make a rate above 1 or a negative cell.
    fn tidy(self) -> Counts {
        Counts {
            failures: self.failures.min(self.calls),
            calls: self.calls,
        }
    }

    fn successes(self) -> u64 {
        self.calls - self.failures.min(self.calls)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TestMethod {
    TwoProportionZ,
    FisherExact,
}

/// Before against after for one kind of failure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    /// Failure rate before; absent when the window has no calls.
    pub before_rate: Option<f64>,
    /// Failure rate after; absent when the window has no calls.
    pub after_rate: Option<f64>,
    /// Wilson 95% interval of the before rate.
    pub before_interval: Option<Interval>,
    /// Wilson 95% interval of the after rate.
    pub after_interval: Option<Interval>,
    /// The test used (chosen from the counts, see [`compare`]).
    pub method: TestMethod,
    /// Two-sided p-value of "same rate before and after"; absent when a side has no calls.
    pub p_value: Option<f64>,
    /// after_rate − before_rate (negative: fewer failures).
    pub difference: Option<f64>,
}

/// Two-sided test of H0: same failure rate before and after. Uses Fisher's exact test when any
/// expected cell count < 5 (or total calls < 40), else the pooled two-proportion z-test.
pub fn compare(before: Counts, after: Counts) -> Comparison {
    let (before, after) = (before.tidy(), after.tidy());
    let method = choose_method(before, after);
    let p_value = (before.calls > 0 && after.calls > 0).then(|| match method {
        TestMethod::FisherExact => fisher_exact_two_sided(
            before.failures,
            before.successes(),
            after.failures,
            after.successes(),
        ),
        TestMethod::TwoProportionZ => two_proportion_p(before, after),
    });
    let before_rate = ratio(before.failures, before.calls);
    let after_rate = ratio(after.failures, after.calls);
    Comparison {
        before_rate,
        after_rate,
        before_interval: wilson(before.failures, before.calls),
        after_interval: wilson(after.failures, after.calls),
        method,
        p_value,
        difference: before_rate.zip(after_rate).map(|(b, a)| a - b),
    }
}

fn choose_method(before: Counts, after: Counts) -> TestMethod {
    let total = before.calls.saturating_add(after.calls);
    if total < Z_MIN_TOTAL {
        return TestMethod::FisherExact;
    }
    let failures = before.failures.saturating_add(after.failures);
    let successes = total - failures;
    // Expected cell = row total · column total / n; the smallest pairs the smallest of each.
    let min_expected =
        before.calls.min(after.calls) as f64 * failures.min(successes) as f64 / total as f64;
    if min_expected < Z_MIN_EXPECTED {
        TestMethod::FisherExact
    } else {
        TestMethod::TwoProportionZ
    }
}

/// Two-proportion pooled z-test two-sided p-value.
///
/// 1 when a side has no calls or the pooled rate is 0 or 1 (the rates are then identical).
pub fn two_proportion_p(before: Counts, after: Counts) -> f64 {
    let (before, after) = (before.tidy(), after.tidy());
    if before.calls == 0 || after.calls == 0 {
        return 1.0;
    }
    let (n1, n2) = (before.calls as f64, after.calls as f64);
    let (p1, p2) = (before.failures as f64 / n1, after.failures as f64 / n2);
    let pooled = (before.failures as f64 + after.failures as f64) / (n1 + n2);
    let variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
    if variance <= 0.0 {
        return 1.0;
    }
    let z = (p2 - p1) / variance.sqrt();
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// Fisher exact two-sided p-value for the 2x2 table [[a,b],[c,d]] (sum of probabilities of tables
/// as or less likely than observed, with a relative tolerance of 1e-7 as R/scipy do). Stable for
/// counts in the millions.
pub fn fisher_exact_two_sided(a: u64, b: u64, c: u64, d: u64) -> f64 {
    // Condition on the margins: x = the top-left cell is hypergeometric, drawing `k` (first
    // column) from `r1` (first row) and `r2` (second row).
    let (r1, r2, k) = (
        a.saturating_add(b),
        c.saturating_add(d),
        a.saturating_add(c),
    );
    let n = r1.saturating_add(r2);
    let lo = k.saturating_sub(r2);
    let hi = k.min(r1);
    if lo >= hi {
        return 1.0;
    }
    let h = Hypergeometric { r1, r2, k };
    let threshold = h.ln_pmf(a) + FISHER_REL_TOL.ln_1p();
    let mode_u128 = (u128::from(k) + 1) * (u128::from(r1) + 1) / (u128::from(n) + 2);
    let mode = u64::try_from(mode_u128).unwrap_or(hi).clamp(lo, hi);
    if h.ln_pmf(mode) <= threshold {
        // The observed table is as likely as the most likely one: every table counts.
        return 1.0;
    }
    let below = |x: u64| h.ln_pmf(x) <= threshold;
    let mut p = 0.0;
    // The pmf is unimodal: non-decreasing on [lo, mode], non-increasing on [mode, hi]. The
    // qualifying tables are [lo, left] and [right, hi]; find the edges by bisection.
    if below(lo) {
        let (mut yes, mut no) = (lo, mode);
        while no - yes > 1 {
            let mid = yes + (no - yes) / 2;
            if below(mid) { yes = mid } else { no = mid }
        }
        p += h.tail(yes, lo, false);
    }
    if below(hi) {
        let (mut no, mut yes) = (mode, hi);
        while yes - no > 1 {
            let mid = no + (yes - no) / 2;
            if below(mid) { yes = mid } else { no = mid }
        }
        p += h.tail(yes, hi, true);
    }
    p.clamp(0.0, 1.0)
}

/// The distribution of the top-left cell of a 2×2 table given its margins.
struct Hypergeometric {
    r1: u64,
    r2: u64,
    k: u64,
}

impl Hypergeometric {
    /// ln P(X = x), as R's `dhyper`: a ratio of three binomial probabilities at p = k/n, each by
    /// Loader's saddle-point form, which avoids the cancellation of log-factorial differences.
    fn ln_pmf(&self, x: u64) -> f64 {
        let n = (self.r1 + self.r2) as f64;
        let p = self.k as f64 / n;
        let q = (self.r1 + self.r2 - self.k) as f64 / n;
        ln_binom_raw(x, self.r1, p, q) + ln_binom_raw(self.k - x, self.r2, p, q)
            - ln_binom_raw(self.k, self.r1 + self.r2, p, q)
    }

    /// Σ P(X = x) from `start` outward to `end` (upward when `up`), by the ratio of successive
    /// probabilities; stops once the terms no longer change the sum.
    fn tail(&self, start: u64, end: u64, up: bool) -> f64 {
        let (r1, r2, k) = (self.r1 as f64, self.r2 as f64, self.k as f64);
        let (mut sum, mut term, mut x) = (1.0_f64, 1.0_f64, start);
        while x != end {
            let xf = x as f64;
            term *= if up {
                (r1 - xf) * (k - xf) / ((xf + 1.0) * (r2 - k + xf + 1.0))
            } else {
                xf * (r2 - k + xf) / ((r1 - xf + 1.0) * (k - xf + 1.0))
            };
            sum += term;
            if term < sum * 1e-17 {
                break;
            }
            x = if up { x + 1 } else { x - 1 };
        }
        // Scaled by the first term so that very small p-values do not underflow early.
        (self.ln_pmf(start) + sum.ln()).exp()
    }
}

/// ln of the binomial probability of `x` in `n` at p (q = 1 − p given separately for precision);
/// Loader (2000), "Fast and accurate computation of binomial probabilities", as R's `dbinom_raw`.
fn ln_binom_raw(x: u64, n: u64, p: f64, q: f64) -> f64 {
    if p <= 0.0 {
        return if x == 0 { 0.0 } else { f64::NEG_INFINITY };
    }
    if q <= 0.0 {
        return if x == n { 0.0 } else { f64::NEG_INFINITY };
    }
    let nf = n as f64;
    if x == 0 {
        if n == 0 {
            return 0.0;
        }
        return if p < 0.1 {
            -bd0(nf, nf * q) - nf * p
        } else {
            nf * q.ln()
        };
    }
    if x == n {
        return if q < 0.1 {
            -bd0(nf, nf * p) - nf * q
        } else {
            nf * p.ln()
        };
    }
    if x > n {
        return f64::NEG_INFINITY;
    }
    let xf = x as f64;
    let lc =
        stirlerr(nf) - stirlerr(xf) - stirlerr(nf - xf) - bd0(xf, nf * p) - bd0(nf - xf, nf * q);
    let lf = (2.0 * std::f64::consts::PI).ln() + xf.ln() + (-xf / nf).ln_1p();
    lc - 0.5 * lf
}

/// ln(n!) − ln(√(2π) nⁿ⁺½ e⁻ⁿ), the error of Stirling's formula, for integer n ≥ 0.
fn stirlerr(n: f64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
    if n <= 15.0 {
        if n < 1.0 {
            return 0.0;
        }
        // 15! < 2^53: the product is exact, and the cancellation below costs ~1e-14 absolute.
        let mut factorial = 1.0_f64;
        let mut i = 2.0;
        while i <= n {
            factorial *= i;
            i += 1.0;
        }
        return factorial.ln() - (n + 0.5) * n.ln() + n - LN_SQRT_2PI;
    }
    let nn = n * n;
    if n > 500.0 {
        (S0 - S1 / nn) / n
    } else if n > 80.0 {
        (S0 - (S1 - S2 / nn) / nn) / n
    } else if n > 35.0 {
        (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n
    }
}

/// x·ln(x/m) + m − x, the deviance term, by a series when x ≈ m to avoid cancellation.
fn bd0(x: f64, m: f64) -> f64 {
    if (x - m).abs() < 0.1 * (x + m) {
        let v = (x - m) / (x + m);
        let mut s = (x - m) * v;
        if s.abs() < f64::MIN_POSITIVE {
            return s;
        }
        let mut ej = 2.0 * x * v;
        let v2 = v * v;
        for j in 1..1000 {
            ej *= v2;
            let next = s + ej / f64::from(2 * j + 1);
            if next == s {
                return next;
            }
            s = next;
        }
    }
    x * (x / m).ln() + m - x
}

/// Calls needed in the after window (with the before window as observed) to detect a change
/// from the before rate to `target_rate` at alpha=0.05 two-sided with power 0.8 (the standard
/// sample-size formula for two proportions, see the module doc; the allocation ratio comes from
/// the observed before calls).
///
/// None if the rates are equal or undefined (no before calls, a target outside [0, 1]), and when
/// no after window, however large, would reach that power against a before window this small.
pub fn calls_needed(before: Counts, target_rate: f64) -> Option<u64> {
    calls_needed_at(before, target_rate, Z95)
}

/// [`calls_needed`] at the significance level whose two-sided critical value is `z_alpha`.
pub fn calls_needed_at(before: Counts, target_rate: f64, z_alpha: f64) -> Option<u64> {
    let before = before.tidy();
    if before.calls == 0 || !(0.0..=1.0).contains(&target_rate) {
        return None;
    }
    let p1 = before.failures as f64 / before.calls as f64;
    if (p1 - target_rate).abs() < 1e-12 {
        return None;
    }
    let n2 = after_calls_for_power(p1, before.calls as f64, target_rate, z_alpha, Z_POWER)?;
    // Saturating cast: an astronomically large requirement reads as u64::MAX.
    Some(n2.ceil().max(1.0) as u64)
}

/// The smallest (real) n₂ with `z_alpha·σ₀ + z_beta·σ₁ ≤ |p₁ − p₂|` (σ₀: standard error of the
/// difference under H0 with the pooled rate, σ₁: under the alternative); `None` if even n₂ → ∞
/// falls short.
fn after_calls_for_power(p1: f64, n1: f64, p2: f64, z_alpha: f64, z_beta: f64) -> Option<f64> {
    let delta = (p1 - p2).abs();
    if !(delta > 0.0 && n1 > 0.0) {
        return None;
    }
    let (v1, v2) = (p1 * (1.0 - p1), p2 * (1.0 - p2));
    let excess = |n2: f64| {
        let pooled = (n1 * p1 + n2 * p2) / (n1 + n2);
        let null_se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
        let alt_se = (v1 / n1 + v2 / n2).sqrt();
        z_alpha * null_se + z_beta * alt_se - delta
    };
    // As n₂ → ∞ the pooled rate tends to p₂ and only the before window's noise remains.
    if z_alpha * (v2 / n1).sqrt() + z_beta * (v1 / n1).sqrt() >= delta {
        return None;
    }
    let mut hi = 1.0_f64;
    while excess(hi) > 0.0 {
        hi *= 2.0;
        if hi > 1e18 {
            return None;
        }
    }
    let mut lo = 0.0_f64;
    while hi - lo > 1e-9 * hi.max(1.0) {
        let mid = 0.5 * (lo + hi);
        if excess(mid) > 0.0 {
            lo = mid
        } else {
            hi = mid
        }
    }
    Some(hi)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Verified,
    NoSignificantChange,
    Regressed,
    InsufficientData,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    Keep,
    Rollback,
    ExtendMonitoring,
}

/// The outcome of a verification with the numbers behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    pub verdict: Verdict,
    pub recommendation: Recommendation,
    /// The pattern's failures per call of its tool, before against after.
    pub pattern: Comparison,
    /// Failed runs among finished runs, before against after (the regression guard).
    pub guard: Comparison,
    /// Further after-window calls of the pattern's tool until the test has 80% power against
    /// the expected rate (and at least [`MIN_CALLS`]); 0 when it already has; absent when it
    /// cannot be computed or no number of after calls would do.
    pub calls_still_needed: Option<u64>,
    /// One line saying why, for people and models.
    pub reason: String,
}

/// The decision; see the module doc for the rules.
///
/// `pattern_*`: the pattern's failures per call of its tool before/after. `guard_*`: overall run
/// success as a regression guard, given as failed runs / finished runs before/after.
/// `expected_after_rate`: the pattern failure rate the fix was expected to reach (pre-registered
/// when it was proposed); it sizes the after window. Without it, halving the before rate.
pub fn decide(
    pattern_before: Counts,
    pattern_after: Counts,
    guard_before: Counts,
    guard_after: Counts,
    expected_after_rate: Option<f64>,
) -> Decision {
    let (pattern_before, pattern_after) = (pattern_before.tidy(), pattern_after.tidy());
    let (guard_before, guard_after) = (guard_before.tidy(), guard_after.tidy());
    let pattern = compare(pattern_before, pattern_after);
    let guard = compare(guard_before, guard_after);

    let target = expected_after_rate
        .filter(|r| (0.0..=1.0).contains(r))
        .or_else(|| pattern.before_rate.map(|r| r * DEFAULT_TARGET_FACTOR));
    let needed = target.and_then(|t| calls_needed_at(pattern_before, t, Z_ALPHA));
    let after_calls = pattern_after.calls;

    let direction = |c: &Comparison, alpha: f64| match (c.p_value, c.difference) {
        (Some(p), Some(d)) if p < alpha && d > 0.0 => Some(true),
        (Some(p), Some(d)) if p < alpha && d < 0.0 => Some(false),
        _ => None,
    };
    let guard_worse = direction(&guard, GUARD_ALPHA) == Some(true);
    let guard_judgeable = guard_before.calls >= MIN_CALLS && guard_after.calls >= MIN_CALLS;

    let make = |verdict, recommendation, calls_still_needed, reason: String| Decision {
        verdict,
        recommendation,
        pattern: pattern.clone(),
        guard: guard.clone(),
        calls_still_needed,
        reason,
    };

    if guard_worse && guard_judgeable {
        return make(
            Verdict::Regressed,
            Recommendation::Rollback,
            None,
            format!(
                "run failure rate rose {}; {}",
                describe(&guard),
                pattern_clause(&pattern)
            ),
        );
    }
    if pattern_before.calls < MIN_CALLS || after_calls < MIN_CALLS {
        // A short before window is not fixed by waiting: only a longer window helps.
        let (short, before_note) = if pattern_before.calls < MIN_CALLS {
            let note = format!(
                "; the before window has only {} calls: a longer measurement window is needed",
                pattern_before.calls
            );
            (None, note)
        } else {
            let short = needed
                .unwrap_or(0)
                .max(MIN_CALLS)
                .saturating_sub(after_calls);
            (Some(short), String::new())
        };
        return make(
            Verdict::InsufficientData,
            Recommendation::ExtendMonitoring,
            short,
            format!(
                "fewer than {MIN_CALLS} calls of the tool in a window ({} before, {} after){before_note}",
                pattern_before.calls, after_calls
            ),
        );
    }
    match direction(&pattern, ALPHA) {
        Some(true) => make(
            Verdict::Regressed,
            Recommendation::Rollback,
            None,
            format!("pattern failure rate rose {}", describe(&pattern)),
        ),
        Some(false) => make(
            Verdict::Verified,
            Recommendation::Keep,
            Some(0),
            format!(
                "pattern failure rate fell {}; run failure rate did not significantly worsen",
                describe(&pattern)
            ),
        ),
        None => {
            let target_note = match (expected_after_rate.is_some(), target) {
                (true, Some(t)) => format!("the expected {}", pct(t)),
                (false, Some(t)) => format!("{} (half the before rate)", pct(t)),
                _ => "an improvement".to_owned(),
            };
            match needed {
                Some(n) if after_calls < n => make(
                    Verdict::NoSignificantChange,
                    Recommendation::ExtendMonitoring,
                    Some(n - after_calls),
                    format!(
                        "no significant change {}; {} more calls give 80% power to detect \
                         {target_note}",
                        describe(&pattern),
                        n - after_calls
                    ),
                ),
                Some(_) => make(
                    Verdict::NoSignificantChange,
                    Recommendation::Keep,
                    Some(0),
                    format!(
                        "no significant change {} although the after window had 80% power to \
                         detect {target_note}; kept as harmless, not verified",
                        describe(&pattern)
                    ),
                ),
                None if target.is_none() || target == pattern.before_rate => make(
                    Verdict::NoSignificantChange,
                    Recommendation::Keep,
                    None,
                    format!(
                        "no significant change {}; no change was expected from the before rate, \
                         so there is nothing to verify; kept as harmless",
                        describe(&pattern)
                    ),
                ),
                None => make(
                    Verdict::NoSignificantChange,
                    Recommendation::Keep,
                    None,
                    format!(
                        "no significant change {}; no after window could give 80% power to \
                         detect {target_note} against {} before calls; kept as harmless, not \
                         verified",
                        describe(&pattern),
                        pattern_before.calls
                    ),
                ),
            }
        }
    }
}

fn pct(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// "from 20.0% to 5.0% (fisher exact, p = 0.0012)".
fn describe(c: &Comparison) -> String {
    let rate = |r: Option<f64>| r.map_or_else(|| "n/a".to_owned(), pct);
    let method = match c.method {
        TestMethod::TwoProportionZ => "two-proportion z-test",
        TestMethod::FisherExact => "fisher exact",
    };
    let p = match c.p_value {
        Some(p) if p < 1e-4 => "p < 0.0001".to_owned(),
        Some(p) => format!("p = {p:.4}"),
        None => "no test".to_owned(),
    };
    format!(
        "from {} to {} ({method}, {p})",
        rate(c.before_rate),
        rate(c.after_rate)
    )
}

fn pattern_clause(c: &Comparison) -> String {
    format!("pattern failure rate went {}", describe(c))
}

/// Beta posterior of a strategy's success rate: prior Beta(1,1) updated with verified
/// successes/failures.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BetaPosterior {
    /// 1 + successes.
    pub alpha: f64,
    /// 1 + failures.
    pub beta: f64,
}

impl BetaPosterior {
    pub fn new(successes: u64, failures: u64) -> Self {
        BetaPosterior {
            alpha: 1.0 + successes as f64,
            beta: 1.0 + failures as f64,
        }
    }

    /// Posterior mean, (1 + successes) / (2 + trials).
    pub fn mean(&self) -> f64 {
        self.alpha / (self.alpha + self.beta)
    }

    /// Equal-tailed 95% credible interval (2.5% and 97.5% quantiles); (0, 1) for parameters
    /// that are not positive and finite.
    pub fn interval95(&self) -> (f64, f64) {
        let valid = |v: f64| v.is_finite() && v > 0.0;
        if !(valid(self.alpha) && valid(self.beta)) {
            return (0.0, 1.0);
        }
        let q = |p: f64| inv_beta_reg(self.alpha, self.beta, p).clamp(0.0, 1.0);
        (q(0.025), q(0.975))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// |got − expected| ≤ 1e-6 relative (or both exactly 0).
    fn close(got: f64, expected: f64) -> bool {
        got == expected || (got - expected).abs() <= 1e-6 * expected.abs()
    }

    fn counts(failures: u64, calls: u64) -> Counts {
        Counts { failures, calls }
    }

    #[test]
    fn fisher_matches_scipy() {
        // Reference: scipy 1.17.1,
        // `scipy.stats.fisher_exact([[a, b], [c, d]], alternative="two-sided").pvalue`.
        fn check(t: [u64; 4], expected: f64) {
            let got = fisher_exact_two_sided(t[0], t[1], t[2], t[3]);
            assert!(
                close(got, expected),
                "{t:?}: got {got:e}, scipy {expected:e}"
            );
        }
        check([3, 1, 1, 3], 0.485_714_285_714_285_65);
        check([1, 9, 11, 3], 0.002_759_456_185_220_083_6);
        check([8, 2, 1, 5], 0.034_965_034_965_034_975);
        check([0, 10, 10, 0], 1.082_508_822_446_903e-5);
        check([7, 0, 0, 7], 0.000_582_750_582_750_582_8);
        check([2, 28, 9, 21], 0.041_900_118_908_418_73);
        check([3, 147, 0, 150], 0.247_491_638_795_986_62);
        check([12, 388, 25, 375], 0.042_034_138_194_749_03);
        check([40, 360, 25, 375], 0.069_346_226_099_348_72);
        check([100, 900, 130, 870], 0.041_904_548_383_735_134);
        // Degenerate margins and exact ties (the 1e-7 tolerance at work).
        check([0, 0, 5, 5], 1.0);
        check([0, 5, 0, 5], 1.0);
        check([1, 0, 0, 0], 1.0);
        check([5, 5, 5, 5], 1.0);
        check([500_000, 500_000, 500_000, 500_000], 1.0);
        // Big counts.
        check(
            [10_000, 990_000, 10_500, 989_500],
            0.000_459_489_445_018_162_3,
        );
        check([37, 1_000_000, 60, 1_000_000], 0.024_987_239_409_237_028);
        check([1_000, 999_000, 2_000, 998_000], 7.853_333_769_407_853e-76);
        check(
            [200_000, 300_000, 210_000, 290_000],
            6.860_233_566_094_695e-92,
        );
    }

    #[test]
    fn two_proportion_z_matches_scipy() {
        // Reference: scipy 1.17.1, `scipy.stats.chi2_contingency([[f1, n1 - f1], [f2, n2 - f2]],
        // correction=False).pvalue` (the pooled z-test squared), agreeing to 1e-13 with
        // statsmodels 0.15 `proportions_ztest([f1, f2], [n1, n2])`.
        fn check(before: (u64, u64), after: (u64, u64), expected: f64) {
            let got = two_proportion_p(counts(before.0, before.1), counts(after.0, after.1));
            assert!(
                close(got, expected),
                "{before:?} {after:?}: got {got:e}, scipy {expected:e}"
            );
        }
        check((40, 400), (25, 400), 0.052_252_656_310_923_56);
        check((100, 500), (25, 500), 7.425_002_682_552_976e-13);
        check((30, 200), (50, 300), 0.618_475_640_199_940_1);
        check((5, 1000), (30, 1000), 2.014_845_746_264_030_6e-5);
        check((200, 1000), (100, 1000), 3.794_791_883_144_951e-10);
        check((1000, 100_000), (1100, 100_000), 0.028_255_087_768_754_183);
        check(
            (10_000, 1_000_000),
            (10_500, 1_000_000),
            0.000_447_790_769_211_319_15,
        );
        // Nothing to compare.
        check((0, 100), (0, 100), 1.0);
        check((100, 100), (100, 100), 1.0);
        check((3, 10), (0, 0), 1.0);
    }

    #[test]
    fn compare_picks_the_test_and_reports_rates() {
        fn check(before: Counts, after: Counts, method: TestMethod, has_p: bool) {
            let c = compare(before, after);
            assert_eq!(c.method, method, "{before:?} {after:?}");
            assert_eq!(c.p_value.is_some(), has_p, "{before:?} {after:?}");
        }
        // Expected failures 3 per side: Fisher.
        check(
            counts(3, 150),
            counts(2, 150),
            TestMethod::FisherExact,
            true,
        );
        // 38 calls in all: Fisher whatever the rates.
        check(counts(10, 19), counts(9, 19), TestMethod::FisherExact, true);
        check(
            counts(40, 400),
            counts(25, 400),
            TestMethod::TwoProportionZ,
            true,
        );
        check(counts(4, 10), counts(0, 0), TestMethod::FisherExact, false);

        let c = compare(counts(100, 500), counts(25, 500));
        assert_eq!(c.before_rate, Some(0.2));
        assert_eq!(c.after_rate, Some(0.05));
        assert!(close(c.difference.unwrap_or(f64::NAN), -0.15));
        assert_eq!(c.before_interval, wilson(100, 500));
        assert!(close(
            c.p_value.unwrap_or(f64::NAN),
            7.425_002_682_552_976e-13
        ));
        // More failures than calls is bad data: read as all calls failing.
        assert_eq!(compare(counts(9, 5), counts(1, 5)).before_rate, Some(1.0));
    }

    #[test]
    fn sample_size_matches_textbook_example() {
        // R's reference manual, `power.prop.test(p1 = .50, p2 = .75, power = .90)` => n = 76.7
        // per group (statsmodels `samplesize_proportions_2indep_onetail(-0.25, 0.75, 0.9)`:
        // 76.70692845177747). With the before window fixed at that size the after window needed
        // is the same.
        const Z90: f64 = 1.281_551_565_544_600_4;
        let n = after_calls_for_power(0.5, 76.706_928_451_777_47, 0.75, Z95, Z90);
        assert!(n.is_some_and(|n| (n - 76.706_93).abs() < 1e-3), "{n:?}");
        // Power 0.8: statsmodels gives 57.673436738908386.
        let n = after_calls_for_power(0.5, 57.673_436_738_908_39, 0.75, Z95, Z_POWER);
        assert!(n.is_some_and(|n| (n - 57.673_44).abs() < 1e-3), "{n:?}");
    }

    #[test]
    fn calls_needed_with_the_before_window_as_observed() {
        // Reference: the n₂ solving statsmodels 0.15
        // `samplesize_proportions_2indep_onetail(diff=p1 - p2, prop2=p2, power=0.8, ratio=n2/n1)
        // == n1` (scipy `brentq` on the ratio), rounded up.
        fn check(before: Counts, target: f64, expected: Option<u64>) {
            assert_eq!(
                calls_needed(before, target),
                expected,
                "{before:?} -> {target}"
            );
        }
        check(counts(100, 500), 0.05, Some(46)); // 45.197
        check(counts(40, 400), 0.05, Some(466)); // 465.672
        check(counts(50, 100), 0.75, Some(42)); // 41.270
        check(counts(20, 100), 0.1, Some(818)); // 817.919
        // Too few before calls for any after window to reach 80% power.
        check(counts(3, 30), 0.05, None);
        check(counts(100, 1000), 0.08, None);
        // Equal or undefined.
        check(counts(10, 100), 0.1, None);
        check(counts(0, 0), 0.1, None);
        check(counts(10, 100), 1.5, None);
        check(counts(10, 100), f64::NAN, None);
    }

    #[test]
    fn beta_posterior_matches_scipy() {
        // Reference: scipy 1.17.1 `scipy.stats.beta.ppf([0.025, 0.975], 1 + s, 1 + f)`.
        fn check(s: u64, f: u64, low: f64, high: f64) {
            let b = BetaPosterior::new(s, f);
            let (l, h) = b.interval95();
            assert!(close(l, low) && close(h, high), "({s}, {f}): ({l}, {h})");
            assert!(close(b.mean(), (1.0 + s as f64) / (2.0 + (s + f) as f64)));
        }
        check(0, 0, 0.025, 0.975);
        check(3, 1, 0.283_582_063_881_910_5, 0.947_255_049_473_683_1);
        check(10, 2, 0.545_528_944_323_442_2, 0.949_618_926_508_848_5);
        check(0, 5, 0.004_210_744_514_489_47, 0.459_258_126_439_900_44);
        check(50, 50, 0.403_643_067_509_506_85, 0.596_356_932_490_493_2);
        check(900, 100, 0.879_830_870_124_139_4, 0.917_063_601_504_182_2);
        let bad = BetaPosterior {
            alpha: 0.0,
            beta: f64::NAN,
        };
        assert_eq!(bad.interval95(), (0.0, 1.0));
    }

    #[test]
    fn decide_covers_every_verdict() {
        #[allow(clippy::too_many_arguments)]
        fn check(
            pattern: (Counts, Counts),
            guard: (Counts, Counts),
            expected_rate: Option<f64>,
            verdict: Verdict,
            recommendation: Recommendation,
            still_needed: Option<u64>,
        ) {
            let d = decide(pattern.0, pattern.1, guard.0, guard.1, expected_rate);
            assert_eq!(
                (d.verdict, d.recommendation, d.calls_still_needed),
                (verdict, recommendation, still_needed),
                "{}",
                d.reason
            );
            assert!(
                !d.reason.is_empty() && !d.reason.ends_with('.'),
                "{}",
                d.reason
            );
        }
        use Recommendation::*;
        use Verdict::*;
        let steady_guard = (counts(50, 200), counts(48, 200));

        // Too few calls after: wait for at least MIN_CALLS (here the power target, 46, is more).
        check(
            (counts(100, 500), counts(1, 10)),
            steady_guard,
            Some(0.05),
            InsufficientData,
            ExtendMonitoring,
            Some(52), // calls_needed at α = 0.02 is 62
        );
        check(
            (counts(2, 20), counts(0, 100)),
            steady_guard,
            None,
            InsufficientData,
            ExtendMonitoring,
            None,
        );
        // 20% → 5%, guard steady.
        check(
            (counts(100, 500), counts(25, 500)),
            steady_guard,
            Some(0.05),
            Verified,
            Keep,
            Some(0),
        );
        // Small counts go through Fisher: 8/40 → 0/40 (scipy: p = 0.0053).
        check(
            (counts(8, 40), counts(0, 40)),
            steady_guard,
            None,
            Verified,
            Keep,
            Some(0),
        );
        // 5% → 20%.
        check(
            (counts(25, 500), counts(100, 500)),
            steady_guard,
            None,
            Regressed,
            Rollback,
            None,
        );
        // The pattern improved but runs fail more: 25% → 40% of runs.
        check(
            (counts(100, 500), counts(25, 500)),
            (counts(50, 200), counts(80, 200)),
            Some(0.05),
            Regressed,
            Rollback,
            None,
        );
        // Runs got worse and the pattern's tool is barely reached any more.
        check(
            (counts(100, 500), counts(2, 5)),
            (counts(50, 200), counts(80, 200)),
            None,
            Regressed,
            Rollback,
            None,
        );
        // ... but a guard of a handful of runs is not enough to roll back.
        check(
            (counts(100, 500), counts(25, 500)),
            (counts(0, 10), counts(10, 10)),
            Some(0.05),
            Verified,
            Keep,
            Some(0),
        );
        // 10% → 11.7% with 300 of the 466 calls needed to see 5%: keep watching.
        check(
            (counts(40, 400), counts(35, 300)),
            steady_guard,
            Some(0.05),
            NoSignificantChange,
            ExtendMonitoring,
            Some(480), // at α = 0.02
        );
        // Same without a pre-registered rate: halving 10% is the target.
        check(
            (counts(40, 400), counts(35, 300)),
            steady_guard,
            None,
            NoSignificantChange,
            ExtendMonitoring,
            Some(480), // at α = 0.02
        );
        // 10% → 8.75% with 800 calls, more than the 780 needed at α = 0.02: harmless, not verified.
        check(
            (counts(40, 400), counts(70, 800)),
            steady_guard,
            Some(0.05),
            NoSignificantChange,
            Keep,
            Some(0),
        );
        // 30 calls before can never give the power to see 10% → 5%.
        check(
            (counts(3, 30), counts(2, 40)),
            steady_guard,
            Some(0.05),
            NoSignificantChange,
            Keep,
            None,
        );
        // Nothing failed before, nothing after: nothing to verify.
        check(
            (counts(0, 100), counts(0, 100)),
            steady_guard,
            None,
            NoSignificantChange,
            Keep,
            None,
        );
    }

    #[test]
    fn decision_serialises_in_snake_case() {
        let d = decide(
            counts(100, 500),
            counts(25, 500),
            counts(2, 50),
            counts(2, 50),
            None,
        );
        let json = serde_json::to_value(&d).unwrap_or_default();
        assert_eq!(json["verdict"], "verified");
        assert_eq!(json["recommendation"], "keep");
        assert_eq!(json["pattern"]["method"], "two_proportion_z");
        assert_eq!(json["guard"]["method"], "fisher_exact");
        assert_eq!(
            serde_json::to_value(Verdict::NoSignificantChange).unwrap_or_default(),
            "no_significant_change"
        );
        assert_eq!(
            serde_json::to_value(Recommendation::ExtendMonitoring).unwrap_or_default(),
            "extend_monitoring"
        );
    }

    /// SplitMix64 (Steele, Lea & Flood 2014): tiny, deterministic, good enough for simulation.
    struct SplitMix64(u64);

    impl SplitMix64 {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }

        fn binomial(&mut self, n: u64, p: f64) -> Counts {
            let failures = (0..n).filter(|_| self.unit() < p).count() as u64;
            counts(failures, n)
        }
    }

    const TRIALS: u32 = 1000;

    /// Share of `TRIALS` simulated verifications with each verdict; the guard is drawn the
    /// same way when `guard_rate` is given, else held identical before and after.
    fn simulate(
        seed: u64,
        (rate_before, rate_after, calls): (f64, f64, u64),
        guard_rate: Option<f64>,
    ) -> [f64; 4] {
        let mut rng = SplitMix64(seed);
        let mut tally = [0u32; 4];
        for _ in 0..TRIALS {
            let before = rng.binomial(calls, rate_before);
            let after = rng.binomial(calls, rate_after);
            let (gb, ga) = match guard_rate {
                Some(g) => (rng.binomial(200, g), rng.binomial(200, g)),
                None => (counts(50, 200), counts(50, 200)),
            };
            let slot = match decide(before, after, gb, ga, None).verdict {
                Verdict::Verified => 0,
                Verdict::NoSignificantChange => 1,
                Verdict::Regressed => 2,
                Verdict::InsufficientData => 3,
            };
            tally[slot] += 1;
        }
        tally.map(|t| f64::from(t) / f64::from(TRIALS))
    }

    #[test]
    fn equal_rates_give_no_verdict_at_least_95_percent_of_the_time() {
        // The acceptance: where nothing changed, verify says no_significant_change in
        // at least 95% of repeated trials. The family-wise error is at most 0.03 by design.
        for (seed, scenario) in [
            (1, (0.1, 0.1, 400)),
            (2, (0.02, 0.02, 150)),
            (4, (0.3, 0.3, 1000)),
        ] {
            for guard in [None, Some(0.25)] {
                let [verified, quiet, regressed, insufficient] = simulate(seed, scenario, guard);
                eprintln!(
                    "equal rates {scenario:?} guard {guard:?}: verified {verified}, regressed {regressed}, \
                     no change {quiet}, insufficient {insufficient}"
                );
                assert!(
                    quiet + insufficient >= 0.95,
                    "{scenario:?} {guard:?}: {quiet}"
                );
                assert!(verified + regressed <= 0.05, "{scenario:?} {guard:?}");
            }
        }
    }

    #[test]
    fn a_real_drop_is_verified() {
        let [verified, ..] = simulate(3, (0.2, 0.05, 500), None);
        eprintln!("0.2 -> 0.05 with 500 calls: verified {verified}");
        assert!(verified >= 0.95, "{verified}");
    }
}
