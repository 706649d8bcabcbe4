//! Trend of a success rate: a recent window against the 30 days before it.
//!
//! Improving when the rate rose by more than 5 percentage points, degrading when it fell by
//! more, stable otherwise; `insufficient_data` when either side has fewer than
//! [`MIN_TREND_SAMPLES`] observations.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::stats::{ratio, round4};

/// Default length of the recent window, in days.
pub const RECENT_DAYS: i64 = 7;
/// Length of the baseline window before the recent one, in days.
pub const BASELINE_DAYS: i64 = 30;
/// Minimum observations on each side for a verdict.
pub const MIN_TREND_SAMPLES: u64 = 20;
/// Change (in rate units) beyond which the trend is not stable.
pub const STABLE_BAND: f64 = 0.05;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrendDirection {
    Improving,
    Stable,
    Degrading,
    InsufficientData,
}

/// A trend verdict with the numbers behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Trend {
    pub direction: TrendDirection,
    /// Success rate over the recent window.
    pub recent_rate: Option<f64>,
    /// Success rate over the baseline window.
    pub baseline_rate: Option<f64>,
    /// Observations in the recent and baseline windows.
    pub recent_samples: u64,
    pub baseline_samples: u64,
}

/// Counts of successes and observations in one window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub successes: u64,
    pub total: u64,
}

/// Compares the success rate of `recent` with `baseline`.
pub fn trend(recent: Tally, baseline: Tally) -> Trend {
    let recent_rate = ratio(recent.successes, recent.total);
    let baseline_rate = ratio(baseline.successes, baseline.total);
    let direction = match (recent_rate, baseline_rate) {
        (Some(r), Some(b))
            if recent.total >= MIN_TREND_SAMPLES && baseline.total >= MIN_TREND_SAMPLES =>
        {
            if r - b > STABLE_BAND {
                TrendDirection::Improving
            } else if b - r > STABLE_BAND {
                TrendDirection::Degrading
            } else {
                TrendDirection::Stable
            }
        }
        _ => TrendDirection::InsufficientData,
    };
    Trend {
        direction,
        recent_rate: recent_rate.map(round4),
        baseline_rate: baseline_rate.map(round4),
        recent_samples: recent.total,
        baseline_samples: baseline.total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64, n: u64) -> Tally {
        Tally {
            successes: s,
            total: n,
        }
    }

    #[test]
    fn verdicts() {
        let cases = [
            (t(90, 100), t(80, 100), TrendDirection::Improving),
            (t(70, 100), t(80, 100), TrendDirection::Degrading),
            (t(84, 100), t(80, 100), TrendDirection::Stable),
            (t(76, 100), t(80, 100), TrendDirection::Stable),
            (t(19, 19), t(0, 100), TrendDirection::InsufficientData),
            (t(0, 0), t(0, 0), TrendDirection::InsufficientData),
        ];
        for (recent, baseline, expect) in cases {
            assert_eq!(
                trend(recent, baseline).direction,
                expect,
                "{recent:?} {baseline:?}"
            );
        }
    }
}
