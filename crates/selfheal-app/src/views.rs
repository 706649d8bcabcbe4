//! Response types shared by the MCP server (structured content) and the CLI (`--json`).
//!
//! Field names of the original design are kept (patterns[] `{id, error_type, tool_name,
//! occurrences, correlation_score, affected_runs, suggested_fix}`, run health `{run_id,
//! health_score, issues[]}`, agents[] `{name, success_rate, total_runs,
//! avg_duration_seconds}`, tools[] `{name, success_rate, total_calls, timeout_rate,
//! error_rate}`, dashboard `{overall_health_score, trend, success_rate,
//! recent_improvements[]}`) and only extended.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use selfheal_core::classify::FailureClass;
use selfheal_core::health::HealthComponent;
use selfheal_core::metrics::{AgentMetrics, ToolReliability};
use selfheal_core::pattern::Pattern;
use selfheal_core::stalled::StalledRun;
use selfheal_core::time::WindowView;
use selfheal_core::trend::Trend;

/// Data-quality facts every analysis response carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DataNotes {
    /// Tool-result events in the window skipped as unreadable (malformed JSON, no tool name).
    pub skipped_events: u64,
    /// Skipped events whose timestamp could not be read (not attributable to any window).
    pub skipped_events_without_time: u64,
    /// Events indexed by this call (new since the previous call).
    pub events_indexed_now: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DetectView {
    pub window: WindowView,
    /// Patterns passing the filters, most occurrences first.
    pub patterns: Vec<Pattern>,
    /// Patterns passing the filters but not listed (see `limit`).
    pub patterns_omitted: u64,
    /// Failed tool calls in the window.
    pub failures_in_window: u64,
    /// Distinct patterns in the window before filtering.
    pub patterns_seen: u64,
    /// The filters applied.
    pub filters: DetectFilters,
    pub data: DataNotes,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DetectFilters {
    pub min_occurrences: u64,
    pub confidence_threshold: f64,
    pub error_type: Option<String>,
    pub tool_name: Option<String>,
}

/// One failure of a pattern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FailureSampleView {
    pub run_id: String,
    pub at: String,
    pub template_id: u32,
    /// The recorded message (first 300 characters).
    pub message: String,
    pub class: FailureClass,
    /// Whether a later call of the same tool in the same run succeeded.
    pub recovered: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PatternView {
    pub window: WindowView,
    pub pattern: Pattern,
    /// The most recent failures, newest first.
    pub recent_failures: Vec<FailureSampleView>,
    /// Failures in the window not listed.
    pub failures_omitted: u64,
    pub data: DataNotes,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Issue {
    pub severity: Severity,
    pub description: String,
    pub recommendation: String,
}

/// Failures of one pattern within a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunPatternCount {
    pub pattern_id: String,
    pub failures: u64,
    pub recovered: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunHealthView {
    pub run_id: String,
    /// 0–100 from the measured components; absent when none could be measured.
    pub health_score: Option<f64>,
    pub issues: Vec<Issue>,
    pub status: String,
    pub agent: String,
    pub workflow: Option<String>,
    pub started_at: Option<String>,
    pub duration_ms: Option<i64>,
    /// Median duration of the same workflow's finished runs in the 30 days before this run.
    pub baseline_duration_ms: Option<u64>,
    pub tool_calls: u64,
    pub failed_calls: u64,
    pub failures_by_pattern: Vec<RunPatternCount>,
    pub components: Vec<HealthComponent>,
    pub unmeasured: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentsView {
    pub window: WindowView,
    /// Agents with runs started in the window, most runs first.
    pub agents: Vec<AgentMetrics>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolsView {
    pub window: WindowView,
    /// Tools called in the window, most failures first.
    pub tools: Vec<ToolReliability>,
    pub tools_omitted: u64,
    pub data: DataNotes,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StalledView {
    pub now: String,
    pub threshold_minutes: i64,
    /// Stalled runs, longest idle first.
    pub stalled: Vec<StalledRun>,
    /// All runs whose status is `running`.
    pub running_total: u64,
}

/// An entry of the `improvements` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImprovementSummary {
    pub id: String,
    pub description: String,
    /// The recorded impact text, when any.
    pub impact: Option<String>,
    pub status: String,
    pub category: String,
    pub created_at: String,
}

/// A compact pattern line for the dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PatternBrief {
    pub id: String,
    pub occurrences: u64,
    pub affected_runs: u64,
    pub confidence: f64,
    pub class: FailureClass,
    pub top_template: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DashboardView {
    pub window: WindowView,
    /// 0–100; absent when nothing in the window could be measured.
    pub overall_health_score: Option<f64>,
    /// Run success over the last 7 days against the 30 days before.
    pub trend: Trend,
    /// Completed / (completed + failed) runs started in the window; absent without finished runs.
    pub success_rate: Option<f64>,
    /// The newest entries of the `improvements` table (at most 5).
    pub recent_improvements: Vec<ImprovementSummary>,
    pub components: Vec<HealthComponent>,
    pub unmeasured: Vec<String>,
    pub runs_in_window: u64,
    pub tool_calls_in_window: u64,
    pub failed_calls_in_window: u64,
    /// The most frequent patterns (default filters), at most 5.
    pub top_patterns: Vec<PatternBrief>,
    pub patterns_total: u64,
    pub stalled_runs: u64,
    /// Per-agent metrics (only with `detailed`).
    pub agents: Option<Vec<AgentMetrics>>,
    /// Per-tool reliability (only with `detailed`).
    pub tools: Option<Vec<ToolReliability>>,
    pub data: DataNotes,
}
