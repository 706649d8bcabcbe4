//! The health score (0–100) and its measured components.
//!
//! `score = 100 · Σ wᵢ·cᵢ / Σ wᵢ` over the components that could be measured, with weights
//! success_rate 0.5, duration_score 0.2, tool_reliability 0.2, resource_efficiency 0.1:
//! - success_rate: completed / (completed + failed) runs;
//! - duration_score: `clamp(baseline_p50 / observed_p50, 0, 1)` against the same workflow's
//!   trailing baseline;
//! - tool_reliability: successful / total tool calls;
//! - resource_efficiency: `clamp(baseline_tokens / observed_tokens, 0, 1)` per run.
//!
//! A component without data is reported as unmeasured and its weight is redistributed; no
//! constant ever stands in for a missing measurement. With no component at all the score is
//! absent.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::stats::round4;
use crate::trend::Tally;

/// One component's inputs.
#[derive(Clone, Debug, Default)]
pub struct HealthInputs {
    /// Finished runs (completed vs completed + failed).
    pub runs: Tally,
    /// duration_score in [0, 1] and what it was computed from (see [`baseline_ratio`]).
    pub duration: Option<(f64, String)>,
    /// Tool calls (successful vs total).
    pub tool_calls: Tally,
    /// resource_efficiency in [0, 1] and what it was computed from.
    pub tokens: Option<(f64, String)>,
}

/// `clamp(baseline / observed, 0, 1)`: 1 when at or better than the baseline; `None` when
/// either side is missing or not positive.
pub fn baseline_ratio(baseline: f64, observed: f64) -> Option<f64> {
    (baseline > 0.0 && observed > 0.0).then(|| (baseline / observed).clamp(0.0, 1.0))
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealthComponent {
    /// `success_rate`, `duration_score`, `tool_reliability` or `resource_efficiency`.
    pub name: String,
    /// The nominal weight of the design.
    pub weight: f64,
    /// The weight after redistributing unmeasured components (0 when unmeasured).
    pub effective_weight: f64,
    /// The component in [0, 1]; absent when it could not be measured.
    pub value: Option<f64>,
    /// What the value was computed from, or why it is missing.
    pub basis: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealthScore {
    /// 0–100; absent when nothing could be measured.
    pub score: Option<f64>,
    pub components: Vec<HealthComponent>,
    /// Names of the components left out (weights renormalised over the others).
    pub unmeasured: Vec<String>,
}

pub const W_SUCCESS: f64 = 0.5;
pub const W_DURATION: f64 = 0.2;
pub const W_TOOLS: f64 = 0.2;
pub const W_RESOURCES: f64 = 0.1;

/// Computes the score from whatever inputs are available.
pub fn health_score(inputs: &HealthInputs) -> HealthScore {
    let mut parts: Vec<(String, f64, Option<f64>, String)> = Vec::with_capacity(4);
    let r = inputs.runs;
    parts.push(if r.total > 0 {
        (
            "success_rate".into(),
            W_SUCCESS,
            Some(r.successes as f64 / r.total as f64),
            format!("{} of {} finished runs completed", r.successes, r.total),
        )
    } else {
        (
            "success_rate".into(),
            W_SUCCESS,
            None,
            "no finished runs".into(),
        )
    });
    parts.push(match &inputs.duration {
        Some((value, basis)) => (
            "duration_score".into(),
            W_DURATION,
            Some(value.clamp(0.0, 1.0)),
            basis.clone(),
        ),
        None => (
            "duration_score".into(),
            W_DURATION,
            None,
            "no finished runs of the same workflow in the 30 days before to compare durations with"
                .into(),
        ),
    });
    let t = inputs.tool_calls;
    parts.push(if t.total > 0 {
        (
            "tool_reliability".into(),
            W_TOOLS,
            Some(t.successes as f64 / t.total as f64),
            format!("{} of {} tool calls succeeded", t.successes, t.total),
        )
    } else {
        (
            "tool_reliability".into(),
            W_TOOLS,
            None,
            "no tool calls".into(),
        )
    });
    parts.push(match &inputs.tokens {
        Some((value, basis)) => (
            "resource_efficiency".into(),
            W_RESOURCES,
            Some(value.clamp(0.0, 1.0)),
            basis.clone(),
        ),
        None => (
            "resource_efficiency".into(),
            W_RESOURCES,
            None,
            "no token counts (run_metrics) with a baseline of the same workflow".into(),
        ),
    });
    let measured_weight: f64 = parts.iter().filter(|p| p.2.is_some()).map(|p| p.1).sum();
    let score = (measured_weight > 0.0).then(|| {
        let total: f64 = parts.iter().filter_map(|p| p.2.map(|v| v * p.1)).sum();
        (100.0 * total / measured_weight * 10.0).round() / 10.0
    });
    HealthScore {
        score,
        unmeasured: parts
            .iter()
            .filter(|p| p.2.is_none())
            .map(|p| p.0.clone())
            .collect(),
        components: parts
            .into_iter()
            .map(|(name, weight, value, basis)| HealthComponent {
                effective_weight: match value {
                    Some(_) => round4(weight / measured_weight),
                    None => 0.0,
                },
                value: value.map(round4),
                name,
                weight,
                basis,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_components_measured() {
        let h = health_score(&HealthInputs {
            runs: Tally {
                successes: 8,
                total: 10,
            },
            duration: baseline_ratio(1_000.0, 2_000.0).map(|v| (v, String::new())),
            tool_calls: Tally {
                successes: 90,
                total: 100,
            },
            tokens: baseline_ratio(500.0, 400.0).map(|v| (v, String::new())),
        });
        // 0.5·0.8 + 0.2·0.5 + 0.2·0.9 + 0.1·1.0 = 0.78
        assert_eq!(h.score, Some(78.0));
        assert!(h.unmeasured.is_empty());
        assert_eq!(baseline_ratio(0.0, 5.0), None);
    }

    #[test]
    fn missing_components_renormalise() {
        let h = health_score(&HealthInputs {
            runs: Tally {
                successes: 8,
                total: 10,
            },
            tool_calls: Tally {
                successes: 90,
                total: 100,
            },
            ..Default::default()
        });
        // (0.5·0.8 + 0.2·0.9) / 0.7 = 0.8286
        assert_eq!(h.score, Some(82.9));
        assert_eq!(h.unmeasured, vec!["duration_score", "resource_efficiency"]);
        assert_eq!(health_score(&HealthInputs::default()).score, None);
    }
}
