//! Tool reliability and agent metrics, accumulated in one streaming pass.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::classify::{FailureClass, Outcome};
use crate::stats::{Histogram, Interval, ratio, round4, wilson};
use crate::trend::{Tally, Trend};

/// How many error classes a tool lists.
pub const TOP_CLASSES: usize = 3;

/// Streaming counters of one tool's calls.
#[derive(Clone, Debug, Default)]
pub struct ToolAcc {
    /// Calls that ran (successes, failures and benign non-zero exits).
    pub calls: u64,
    pub failures: u64,
    pub timeouts: u64,
    pub benign: u64,
    pub rejected: u64,
    pub cancelled: u64,
    classes: BTreeMap<FailureClass, u64>,
    durations: Histogram,
}

impl ToolAcc {
    /// Adds one call by its outcome; `class` is `Some` for failures. Rejected and cancelled
    /// calls never ran: they are counted apart, not as calls.
    pub fn push_outcome(
        &mut self,
        outcome: Outcome,
        class: Option<FailureClass>,
        duration_ms: Option<i64>,
    ) {
        match outcome {
            Outcome::Rejected => self.rejected += 1,
            Outcome::Cancelled => self.cancelled += 1,
            Outcome::Benign => {
                self.benign += 1;
                self.push(None, duration_ms);
            }
            Outcome::Failure => {
                self.push(Some(class.unwrap_or(FailureClass::Unknown)), duration_ms)
            }
            Outcome::Success => self.push(None, duration_ms),
        }
    }

    /// Adds one call that ran; `class` is `Some` for failures.
    pub fn push(&mut self, class: Option<FailureClass>, duration_ms: Option<i64>) {
        self.calls += 1;
        if let Some(class) = class {
            self.failures += 1;
            self.timeouts += u64::from(class == FailureClass::Timeout);
            *self.classes.entry(class).or_default() += 1;
        }
        if let Some(d) = duration_ms {
            self.durations.add(d.max(0) as u64);
        }
    }

    /// Adds `n` calls known only by count (e.g. from a pre-aggregated source).
    pub fn add_counts(&mut self, calls: u64, failures: u64) {
        self.calls += calls;
        self.failures += failures;
    }

    /// Adds a rollup of calls: those that ran (`failures` among them, `benign` too), those
    /// declined and cancelled, and the durations of those that ran. Classes of the failures
    /// come separately ([`ToolAcc::add_class`]).
    pub fn add_rollup(
        &mut self,
        ran: u64,
        failures: u64,
        benign: u64,
        rejected: u64,
        cancelled: u64,
        durations: &Histogram,
    ) {
        self.calls += ran;
        self.failures += failures;
        self.benign += benign;
        self.rejected += rejected;
        self.cancelled += cancelled;
        self.durations.merge(durations);
    }

    /// Adds one duration of a call already counted.
    pub fn add_duration(&mut self, duration_ms: i64) {
        self.durations.add(duration_ms.max(0) as u64);
    }

    /// Counts `n` failures of `class` (already counted as failures).
    pub fn add_class(&mut self, class: FailureClass, n: u64) {
        self.timeouts += if class == FailureClass::Timeout { n } else { 0 };
        *self.classes.entry(class).or_default() += n;
    }

    pub fn finish(self, name: String) -> ToolReliability {
        let successes = self.calls - self.failures;
        let mut classes: Vec<(FailureClass, u64)> = self.classes.into_iter().collect();
        classes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let classes_omitted = classes.len().saturating_sub(TOP_CLASSES) as u64;
        ToolReliability {
            name,
            success_rate: round4(ratio(successes, self.calls).unwrap_or(0.0)),
            total_calls: self.calls,
            timeout_rate: round4(ratio(self.timeouts, self.calls).unwrap_or(0.0)),
            error_rate: round4(ratio(self.failures, self.calls).unwrap_or(0.0)),
            failed_calls: self.failures,
            success_interval: wilson(successes, self.calls).map(|i| Interval {
                low: round4(i.low),
                high: round4(i.high),
            }),
            p50_duration_ms: self.durations.quantile(0.50),
            p95_duration_ms: self.durations.quantile(0.95),
            p99_duration_ms: self.durations.quantile(0.99),
            top_error_classes: classes
                .into_iter()
                .take(TOP_CLASSES)
                .map(|(class, count)| ClassCount { class, count })
                .collect(),
            error_classes_omitted: classes_omitted,
            benign_calls: self.benign,
            rejected_calls: self.rejected,
            cancelled_calls: self.cancelled,
            daily: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClassCount {
    pub class: FailureClass,
    pub count: u64,
}

/// Reliability of one tool over a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolReliability {
    pub name: String,
    /// Successful / total calls.
    pub success_rate: f64,
    pub total_calls: u64,
    /// Calls classified as timeouts / total calls.
    pub timeout_rate: f64,
    /// Failed / total calls.
    pub error_rate: f64,
    pub failed_calls: u64,
    /// Wilson 95% interval of the success rate.
    pub success_interval: Option<Interval>,
    /// Duration percentiles in ms (log-bucketed, within ~3%); absent without durations.
    pub p50_duration_ms: Option<u64>,
    pub p95_duration_ms: Option<u64>,
    pub p99_duration_ms: Option<u64>,
    pub top_error_classes: Vec<ClassCount>,
    pub error_classes_omitted: u64,
    /// Calls that exited non-zero as an answer (grep found nothing…): counted as successes.
    pub benign_calls: u64,
    /// Calls a person or policy declined (not counted in `total_calls`).
    pub rejected_calls: u64,
    /// Calls interrupted or never run because a sibling failed (not in `total_calls`).
    pub cancelled_calls: u64,
    /// Calls that ran and failures per UTC day of the window (at most the last 90), oldest
    /// first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daily: Vec<DailyCalls>,
}

/// Calls that ran and failures on one UTC day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DailyCalls {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub calls: u64,
    pub failures: u64,
}

/// Streaming counters of one agent's runs.
#[derive(Clone, Debug, Default)]
pub struct AgentAcc {
    pub runs: u64,
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub running: u64,
    duration_sum_ms: f64,
    duration_n: u64,
    durations: Histogram,
}

impl AgentAcc {
    pub fn push(&mut self, status: &str, duration_ms: Option<i64>) {
        self.runs += 1;
        match status {
            "completed" => self.completed += 1,
            "failed" => self.failed += 1,
            "cancelled" => self.cancelled += 1,
            "running" => self.running += 1,
            _ => {}
        }
        if status != "running"
            && let Some(d) = duration_ms.filter(|d| *d >= 0)
        {
            self.duration_sum_ms += d as f64;
            self.duration_n += 1;
            self.durations.add(d as u64);
        }
    }

    /// Completed and failed runs: the success rate's denominator.
    pub fn success_tally(&self) -> Tally {
        Tally {
            successes: self.completed,
            total: self.completed + self.failed,
        }
    }

    pub fn finish(self, name: String, trend: Trend) -> AgentMetrics {
        let tally = self.success_tally();
        AgentMetrics {
            name,
            success_rate: round4(ratio(tally.successes, tally.total).unwrap_or(0.0)),
            total_runs: self.runs,
            avg_duration_seconds: round4(if self.duration_n > 0 {
                self.duration_sum_ms / self.duration_n as f64 / 1000.0
            } else {
                0.0
            }),
            completed_runs: self.completed,
            failed_runs: self.failed,
            cancelled_runs: self.cancelled,
            running_runs: self.running,
            success_interval: wilson(tally.successes, tally.total).map(|i| Interval {
                low: round4(i.low),
                high: round4(i.high),
            }),
            p95_duration_seconds: self
                .durations
                .quantile(0.95)
                .map(|ms| round4(ms as f64 / 1000.0)),
            trend,
        }
    }
}

/// Run metrics of one agent over a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentMetrics {
    pub name: String,
    /// Completed / (completed + failed) runs; cancelled and running runs are excluded.
    pub success_rate: f64,
    pub total_runs: u64,
    /// Mean duration of finished runs with a recorded duration (0 when none).
    pub avg_duration_seconds: f64,
    pub completed_runs: u64,
    pub failed_runs: u64,
    pub cancelled_runs: u64,
    pub running_runs: u64,
    pub success_interval: Option<Interval>,
    pub p95_duration_seconds: Option<f64>,
    /// Success rate over the last 7 days against the 30 days before.
    pub trend: Trend,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trend::trend;

    #[test]
    fn tool_reliability_counts() {
        let mut acc = ToolAcc::default();
        for i in 0..90 {
            acc.push(None, Some(100 + i));
        }
        for _ in 0..6 {
            acc.push(Some(FailureClass::Timeout), Some(30_000));
        }
        for _ in 0..4 {
            acc.push(Some(FailureClass::NotFound), None);
        }
        let t = acc.finish("fetch".into());
        assert_eq!((t.total_calls, t.failed_calls), (100, 10));
        assert_eq!(
            (t.success_rate, t.error_rate, t.timeout_rate),
            (0.9, 0.1, 0.06)
        );
        let i = t.success_interval.unwrap();
        assert!(i.low < 0.9 && 0.9 < i.high);
        assert_eq!(
            t.top_error_classes[0],
            ClassCount {
                class: FailureClass::Timeout,
                count: 6
            }
        );
        assert!(t.p99_duration_ms.unwrap() > 20_000);
        assert!(t.p50_duration_ms.unwrap() < 200);
    }

    #[test]
    fn agent_metrics_exclude_unfinished_runs_from_rates() {
        let mut acc = AgentAcc::default();
        acc.push("completed", Some(2_000));
        acc.push("completed", Some(4_000));
        acc.push("failed", Some(6_000));
        acc.push("cancelled", None);
        acc.push("running", Some(99_000));
        let m = acc.finish("bot".into(), trend(Tally::default(), Tally::default()));
        assert_eq!(m.total_runs, 5);
        assert_eq!(m.success_rate, 0.6667);
        assert_eq!(m.avg_duration_seconds, 4.0);
    }
}
