//! The ground truth a generation returns: what was planted, counted exactly as written.
//!
//! The default profile describes its planted patterns in [`GroundTruth::patterns`]; the
//! `real` profile describes its failure causes in [`GroundTruth::causes`] (one per cause
//! class × tool, × program for shell tools), the calls flagged as errors that are not failures
//! in [`GroundTruth::outcomes`], and its incidents in [`GroundTruth::incidents`].

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
    /// Failed parseable `tool_complete` rows per tool (for the `real` profile: failures only,
    /// not the rejected, cancelled or benign outcomes).
    pub failures_by_tool: BTreeMap<String, u64>,
    /// The profile that wrote the history (`default` or `real`).
    #[serde(default = "default_profile")]
    pub profile: String,
    /// The window the `window` counts of [`CauseTruth`] and [`OutcomeTruth`] cover:
    /// `[end - 7 days, end]` (Unix ms, both ends included), the analysis' default `-7d`.
    #[serde(default)]
    pub window_from_ms: i64,
    #[serde(default)]
    pub window_to_ms: i64,
    /// `real` profile: every failure cause that occurred, ordered by (tool, program, class).
    /// Every failed call belongs to exactly one, so their occurrences sum to `failed_calls`.
    #[serde(default)]
    pub causes: Vec<CauseTruth>,
    /// `real` profile: calls flagged as errors that are not failures, per outcome and tool.
    #[serde(default)]
    pub outcomes: Vec<OutcomeTruth>,
    /// `real` profile: incidents (bursts of one class over related tools).
    #[serde(default)]
    pub incidents: Vec<IncidentTruth>,
}

fn default_profile() -> String {
    "default".to_owned()
}

impl GroundTruth {
    /// The planted pattern with this id, if it occurred.
    pub fn pattern(&self, pattern_id: &str) -> Option<&PlantedPattern> {
        self.patterns.iter().find(|p| p.pattern_id == pattern_id)
    }

    /// The cause (class, tool, program), if it occurred.
    pub fn cause(&self, class: &str, tool: &str, program: Option<&str>) -> Option<&CauseTruth> {
        self.causes
            .iter()
            .find(|c| c.class == class && c.tool == tool && c.program.as_deref() == program)
    }

    /// Causes with at least `min` occurrences in the 7-day window.
    pub fn causes_in_window(&self, min: u64) -> impl Iterator<Item = &CauseTruth> {
        self.causes
            .iter()
            .filter(move |c| c.window.occurrences >= min.max(1))
    }

    /// Per-cause counts over `[from_ms, to_ms]` (both included), computed from the occurrence
    /// lists; `None` when they were not collected (`collect_truth` off).
    pub fn causes_between(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Option<Vec<(&CauseTruth, WindowCounts)>> {
        if self
            .causes
            .iter()
            .any(|c| c.occurrence_list.len() as u64 != c.occurrences)
        {
            return None;
        }
        Some(
            self.causes
                .iter()
                .filter_map(|c| {
                    let mut w = WindowCounts::default();
                    let mut runs = std::collections::BTreeSet::new();
                    for o in c
                        .occurrence_list
                        .iter()
                        .filter(|o| (from_ms..=to_ms).contains(&o.at_ms))
                    {
                        w.occurrences += 1;
                        w.recovered += u64::from(o.recovered);
                        runs.insert(o.run_id.as_str());
                    }
                    w.runs = runs.len() as u64;
                    (w.occurrences > 0).then_some((c, w))
                })
                .collect(),
        )
    }
}

/// Counts over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowCounts {
    /// Failed calls.
    pub occurrences: u64,
    /// Distinct runs with at least one.
    pub runs: u64,
    /// Of the failed calls, those recovered by retry (see [`CauseTruth::recovered`]).
    pub recovered: u64,
}

/// One failure cause of the `real` profile: a class of failure of one tool (of one program, for
/// shell tools), whatever `error_type` the agent recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CauseTruth {
    /// DESIGN §4 class name (`timeout`, …, `command_failed`, `tool_error`, `Unknown`).
    pub class: String,
    pub tool: String,
    /// Shell tools: the program the command ran (the first word after `cd … &&`, environment
    /// assignments and `sudo`/`timeout N` wrappers; inside `bash -lc` for array commands).
    pub program: Option<String>,
    /// Temporal profile: `steady`, `new` (only in the last 5 days) or `resolved` (not in the
    /// last 16 days); incidents come on top of any of them.
    pub profile: String,
    /// Failed calls.
    pub occurrences: u64,
    /// Distinct runs with at least one.
    pub runs: u64,
    /// Failed calls recovered by retry: one of the next 10 calls of the same run (calls of
    /// every tool count, each call being a `tool_complete`) is a successful call of the same
    /// tool whose arguments are equal as canonical JSON once volatile parts are removed
    /// (string values that are UUIDs or RFC 3339 timestamps; keys `request_id`, `attempt`,
    /// `retry`, `nonce`, `timestamp`).
    pub recovered: u64,
    /// Occurrences recorded with the class's specific `error_type` (`timeout`,
    /// `connection_refused`, `transport_error`, `server_crashed`, `permission_denied`, or
    /// `tool_error` for the class `tool_error`).
    pub recorded_specific: u64,
    /// Occurrences recorded with the generic `tool_error` (for a class other than `tool_error`).
    pub recorded_generic: u64,
    /// Occurrences with no `error_type` (absent or JSON null).
    pub recorded_none: u64,
    /// Earliest and latest occurrence (Unix ms, as written).
    pub first_seen_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    /// Counts in `[window_from_ms, window_to_ms]`.
    pub window: WindowCounts,
    /// Every occurrence, in insertion order (empty when `collect_truth` is off).
    pub occurrence_list: Vec<Occurrence>,
}

/// One failed call of a cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Occurrence {
    /// The `tool_complete` timestamp (Unix ms, as written).
    pub at_ms: i64,
    pub run_id: String,
    /// The `tool_complete` row's `step_index` in the run (with `run_id`, locates the row).
    pub step_index: i64,
    /// Recovered by retry (see [`CauseTruth::recovered`]).
    pub recovered: bool,
    /// The `error_type` written (`None`: absent or null).
    pub error_type: Option<String>,
}

/// Calls flagged as errors (`is_error` true) that are not failures, for one tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeTruth {
    /// `rejected` (a person declined the call), `cancelled` (never ran because a parallel
    /// sibling failed) or `benign` (a non-zero exit that is an answer: a search that found
    /// nothing, `diff` finding differences, `test` being false).
    pub outcome: String,
    pub tool: String,
    /// For shell tools, the program.
    pub program: Option<String>,
    pub count: u64,
    /// Of those, in the 7-day window.
    pub in_window: u64,
}

/// An incident: for a few hours, one class of failure hits a set of related tools or programs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentTruth {
    pub kind: String,
    pub class: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Failures the incident caused (beyond the ordinary rate).
    pub failures: u64,
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
    /// For a `resolved` pattern, the instant its failures stop (Unix ms): a planted fix.
    #[serde(default)]
    pub fixed_at_ms: Option<i64>,
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
