//! The ground truth a generation returns: what was planted, counted exactly as written.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Everything the generator knows about the history it wrote. Counts cover only the rows
/// written by this call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// Seed used.
    pub seed: u64,
    /// Start of the history span (`end - days`); no event is earlier (stalled runs aside,
    /// which start at most a few hours before `end`).
    pub begin: DateTime<Utc>,
    /// "Now" of the history; no event is later.
    pub end: DateTime<Utc>,
    /// Rows inserted into `run_events`.
    pub total_events: u64,
    /// Rows inserted into `runs`.
    pub total_runs: u64,
    /// `tool_complete` rows whose JSON parses to an object.
    pub tool_calls: u64,
    /// Of those, rows with `is_error` true (or 1).
    pub failed_calls: u64,
    /// `tool_complete` rows that are invalid JSON (truncated) or valid JSON but not an object.
    pub malformed_events: u64,
    /// Planted patterns that actually occurred (occurrences > 0), in catalogue order. Every
    /// failed call belongs to exactly one of them, so their occurrences sum to `failed_calls`.
    pub patterns: Vec<PlantedPattern>,
    /// Ids of runs with status `running` whose last event is 20 minutes to 3 hours before `end`.
    pub stalled_runs: Vec<String>,
    /// Ids of runs with status `running` whose last event is within 2 minutes of `end`.
    pub live_running_runs: Vec<String>,
    /// Runs per agent (`metadata.agent` when present, else `workflow_name`).
    pub runs_by_agent: BTreeMap<String, u64>,
    /// Runs per status (`completed`, `failed`, `cancelled`, `running`).
    pub runs_by_status: BTreeMap<String, u64>,
    /// Parseable `tool_complete` rows per tool.
    pub calls_by_tool: BTreeMap<String, u64>,
    /// Failed parseable `tool_complete` rows per tool.
    pub failures_by_tool: BTreeMap<String, u64>,
}

impl GroundTruth {
    /// The planted pattern with this id, if it occurred.
    pub fn pattern(&self, pattern_id: &str) -> Option<&PlantedPattern> {
        self.patterns.iter().find(|p| p.pattern_id == pattern_id)
    }
}

/// One planted failure pattern and what was written for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlantedPattern {
    /// DESIGN §4 id: `<recorded error_type>:<tool>`, or `<expected_class>:<tool>` when the
    /// generator records no type (key absent or JSON null).
    pub pattern_id: String,
    /// Tool name.
    pub tool: String,
    /// The `error_type` written on every occurrence (`None`: absent or null on every one).
    pub recorded_error_type: Option<String>,
    /// The class a correct classifier assigns (DESIGN §4 class names; the recorded
    /// `transport_error` maps to `network_error`).
    pub expected_class: String,
    /// Temporal profile: `steady`, `burst` (outage windows), `new` (only in the last 6 days)
    /// or `resolved` (only before the last 16 days).
    pub profile: String,
    /// Failed calls written for this pattern.
    pub occurrences: u64,
    /// Distinct runs with at least one occurrence.
    pub runs: u64,
    /// Occurrences followed, later in the same run, by a parseable successful `tool_complete`
    /// of the same tool ("recovered N of `occurrences`").
    pub recovered: u64,
    /// Occurrences followed, later in the same run, by any parseable `tool_complete` of the
    /// same tool (the agent tried that tool again).
    pub retried: u64,
    /// Earliest occurrence (Unix ms, as written, i.e. cut to the timestamp's precision).
    pub first_seen_ms: Option<i64>,
    /// Latest occurrence (Unix ms, as written).
    pub last_seen_ms: Option<i64>,
    /// Every occurrence's `tool_complete` timestamp (Unix ms, as written), in insertion order;
    /// empty when `collect_truth` is false.
    pub occurrence_timestamps_ms: Vec<i64>,
}
