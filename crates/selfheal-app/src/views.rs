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
use selfheal_core::retry::RetryState;
use selfheal_core::stalled::StalledRun;
use selfheal_core::time::WindowView;
use selfheal_core::trend::Trend;

use crate::args::Detail;

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
    /// `summary` leaves out the per-day series and shortens lists (`detail: "full"` has them).
    pub detail: Detail,
    pub window: WindowView,
    /// Patterns passing the filters, most occurrences first.
    pub patterns: Vec<Pattern>,
    /// Patterns passing the filters but not listed (see `limit`).
    pub patterns_omitted: u64,
    /// Pass as `cursor` (with the same filters) for the next patterns; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Failed tool calls in the window.
    pub failures_in_window: u64,
    /// Distinct patterns in the window before filtering.
    pub patterns_seen: u64,
    /// The filters applied.
    pub filters: DetectFilters,
    /// Flagged calls in the window that are not tool failures (declined, cancelled, or a
    /// non-zero exit that is an answer): reported beside the patterns, never counted in them.
    pub not_failures: NotFailuresView,
    pub data: DataNotes,
}

/// Flagged calls that are not failures, in a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotFailuresView {
    /// Calls a person or a permission policy declined.
    pub rejected: u64,
    /// Calls interrupted, or never run because a parallel sibling failed.
    pub cancelled: u64,
    /// Non-zero exits that are answers (grep found nothing, diff found differences…).
    pub benign: u64,
    /// Per tool (and program), most first: which calls people refuse.
    pub by_tool: Vec<FlaggedView>,
    /// Tools not listed.
    pub by_tool_omitted: u64,
}

/// Flagged calls of one tool (and program) that are not failures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FlaggedView {
    pub tool: String,
    pub program: Option<String>,
    pub rejected: u64,
    pub cancelled: u64,
    pub benign: u64,
    /// The most recent declined call's recorded message (salient line; data, not instructions).
    pub rejected_sample: Option<String>,
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
    /// The recorded message (first 1000 characters).
    pub message: String,
    pub class: FailureClass,
    /// The program a shell tool ran.
    pub program: Option<String>,
    /// Retry evidence: `recovered` when the same call later succeeded in the run.
    pub retry: RetryState,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PatternView {
    /// `summary` leaves out the per-day series and cuts messages (`detail: "full"` has them).
    pub detail: Detail,
    pub window: WindowView,
    /// Set when the id asked for is an id in the recorded-type style
    /// (`<recorded error_type>:<tool>`) that now resolves to this pattern.
    pub resolved_from: Option<ResolvedAlias>,
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

/// How an id in the recorded-type style resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResolvedAlias {
    /// The id asked for.
    pub requested_id: String,
    /// The patterns its failures belong to now (id, failures ever indexed), largest first; the
    /// first one is answered.
    pub patterns: Vec<AliasTarget>,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AliasTarget {
    pub id: String,
    pub failures: u64,
}

/// Failures of one pattern within a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunPatternCount {
    pub pattern_id: String,
    pub failures: u64,
    /// Failures recovered by repeating the same call.
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
    /// Calls that ran (declined and cancelled calls are counted apart).
    pub tool_calls: u64,
    pub failed_calls: u64,
    /// Calls declined by a person or a permission policy.
    pub rejected_calls: u64,
    /// Calls interrupted or never run because a sibling failed.
    pub cancelled_calls: u64,
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
    /// `summary` leaves out the per-day series (`detail: "full"` has them).
    pub detail: Detail,
    pub window: WindowView,
    /// Tools called in the window, most failures first.
    pub tools: Vec<ToolReliability>,
    pub tools_omitted: u64,
    /// Pass as `cursor` (with the same `tool_name`) for the next tools; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
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
    /// Occurrences per UTC day of the window (`detail: "full"` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daily: Vec<selfheal_core::pattern::DailyCount>,
}

/// The health of one UTC day: runs started that day and tool calls made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DayHealth {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub runs_started: u64,
    /// Completed or failed.
    pub runs_finished: u64,
    pub runs_succeeded: u64,
    /// Succeeded / finished; absent without finished runs.
    pub success_rate: Option<f64>,
    /// Calls that ran, and failures among them.
    pub tool_calls: u64,
    pub tool_failures: u64,
}

/// The windows a trend compares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TrendWindows {
    pub recent: WindowView,
    pub baseline: WindowView,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DashboardView {
    /// `summary` leaves out the per-day series (`detail: "full"` has them).
    pub detail: Detail,
    pub window: WindowView,
    /// 0–100; absent when nothing in the window could be measured.
    pub overall_health_score: Option<f64>,
    /// Run success over the last 7 days against the 30 days before.
    pub trend: Trend,
    /// Completed / (completed + failed) runs started in the window; absent without finished runs.
    pub success_rate: Option<f64>,
    /// The newest entries of the `improvements` table (at most 5).
    pub recent_improvements: Vec<ImprovementSummary>,
    /// Open escalations (WARN, ALERT, BLOCK), newest first.
    pub escalations: Vec<EscalationView>,
    pub components: Vec<HealthComponent>,
    pub unmeasured: Vec<String>,
    pub runs_in_window: u64,
    pub tool_calls_in_window: u64,
    pub failed_calls_in_window: u64,
    /// The most frequent patterns (default filters), at most 5.
    pub top_patterns: Vec<PatternBrief>,
    pub patterns_total: u64,
    pub stalled_runs: u64,
    /// The healing numbers of the window: automatic and manual actions, rollbacks, the share
    /// resolved by the policy, times to apply and to recovery.
    pub healing: selfheal_core::healing::HealingNumbers,
    /// Strategies with verified outcomes and their learned success rates.
    pub strategies: Vec<StrategyView>,
    /// Per-agent metrics (only with `detailed`).
    pub agents: Option<Vec<AgentMetrics>>,
    /// Per-tool reliability (only with `detailed`).
    pub tools: Option<Vec<ToolReliability>>,
    /// Per UTC day, over the window and the trend's windows (at most the last 90 days;
    /// `detail: "full"` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daily: Vec<DayHealth>,
    /// The recent and baseline windows of `trend`.
    pub trend_windows: TrendWindows,
    pub data: DataNotes,
}

// ---- The improvement lifecycle -------------------------------------------------------------

use selfheal_core::lifecycle::Status;
use selfheal_core::playbook::{Action, ImpactRange, Risk};
use selfheal_core::stats::Interval;
use selfheal_core::verify::{Comparison, Recommendation as VerifyRecommendation, Verdict};

use crate::inbox::NoteOutcome;

/// The evidence a proposal rests on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    pub window: WindowView,
    pub occurrences: u64,
    pub affected_runs: u64,
    pub failure_rate: f64,
    pub class: FailureClass,
    pub class_share: f64,
    /// Failures recovered by repeating the same call (same tool, same arguments).
    pub recovered_by_retry: u64,
    /// Their share of the failures with recorded arguments; `null` without retry evidence.
    pub recovered_share: Option<f64>,
    /// `available`, `partial` or `unavailable` (no recorded arguments).
    pub retry_evidence: String,
    pub top_templates: Vec<String>,
    pub pattern_confidence: f64,
}

/// A strategy as ranked for a proposal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StrategyView {
    pub id: String,
    pub name: String,
    /// Beta(1 + successes, 1 + failures) posterior mean of verified outcomes.
    pub learned_success_rate: f64,
    pub learned_interval: (f64, f64),
    pub verified_successes: u64,
    pub verified_failures: u64,
}

/// An open escalation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EscalationView {
    pub pattern_id: String,
    /// `WARN`, `ALERT` or `BLOCK`.
    pub level: String,
    pub rule: String,
    pub reason: String,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProposeView {
    pub improvement_id: String,
    pub pattern_id: String,
    pub description: String,
    /// The expected reduction of the pattern's failure rate, in words.
    pub expected_impact: String,
    /// The ordered changes to make.
    pub changes_required: Vec<String>,
    pub risk_level: Risk,
    pub status: Status,
    pub category: String,
    pub priority: u8,
    pub strategy: StrategyView,
    pub actions: Vec<Action>,
    pub expected_impact_range: ImpactRange,
    pub evidence: Evidence,
    /// Other applicable strategies, best first.
    pub alternatives: Vec<StrategyView>,
    /// The config key this strategy would edit in the declared config file, if any.
    pub config_key: Option<String>,
    pub escalations: Vec<EscalationView>,
    /// Problems with user playbook files (skipped, not fatal).
    pub playbook_problems: Vec<String>,
    /// The lesson mined from the history: what fails and what worked right after it, as
    /// statements of fact for the agent's instruction files and its hook's guidance.
    pub lesson: crate::lessons::LessonView,
    /// Where the lesson reaches the agent (empty when the runs do not say which harness or
    /// project: `lesson.note` says why).
    pub targets: Vec<selfheal_harness::Target>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TestRecommendation {
    SafeToApply,
    NeedsCanary,
    Risky,
    Reject,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TestView {
    pub improvement_id: String,
    /// `simulation`, `canary` or `shadow`.
    pub test_mode: String,
    /// Success rate of the pattern's tool if the fix had been in place (absent without data).
    pub simulated_success_rate: Option<f64>,
    /// Observed success rate of the pattern's tool.
    pub baseline_success_rate: Option<f64>,
    /// simulated − baseline, in rate units.
    pub expected_improvement: Option<f64>,
    pub recommendation: TestRecommendation,
    pub simulated_interval: Option<Interval>,
    pub baseline_interval: Option<Interval>,
    pub window: WindowView,
    pub calls_analyzed: u64,
    pub runs_analyzed: u64,
    /// Failures the counterfactual treats as fixed, and why.
    pub failures_fixed: u64,
    pub assumptions: Vec<String>,
    pub explanation: String,
    /// Canary/shadow: runs tagged with the improvement id.
    pub tagged_runs: Option<u64>,
    /// Canary/shadow without tagged runs: how to tag them.
    pub tagging_plan: Option<String>,
    pub status: Status,
}

/// A config-file change made (or previewed) by apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigChangeView {
    pub path: String,
    pub key: String,
    /// Unified diff of the change.
    pub diff: String,
    /// False for a preview (nothing written).
    pub applied: bool,
    pub backup_path: Option<String>,
    pub before_sha256: String,
    pub after_sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApplyView {
    pub improvement_id: String,
    pub status: Status,
    pub applied_at: String,
    /// When verification is due (applied_at + 7 days).
    pub verification_scheduled: String,
    pub commit_hash: Option<String>,
    pub config_change: Option<ConfigChangeView>,
    /// Files written where the agent reads them (the lesson's instruction file), with their
    /// diffs, backups and checksums.
    pub changes: Vec<crate::harness_files::FileChange>,
    pub note: NoteOutcome,
}

/// What `apply_improvement` would do, checked without changing anything: what a person is
/// shown before confirming (the CLI's prompt, an MCP elicitation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApplyPreview {
    pub improvement_id: String,
    pub pattern_id: Option<String>,
    pub description: String,
    /// The current status (apply moves it to `applied`).
    pub status: Status,
    pub applied_at: String,
    pub changes_made: String,
    pub commit_hash: Option<String>,
    /// The edit of the declared config file: written when `writes_config`, else only shown.
    pub config_change: Option<ConfigChangeView>,
    /// Whether the apply writes the config file (`config_action: apply`).
    pub writes_config: bool,
    /// The BLOCK escalation the apply overrides (`override_block`), as `rule: reason`.
    pub overridden_block: Option<String>,
    /// Files the apply writes where the agent reads them, with their diffs.
    pub changes: Vec<crate::harness_files::Planned>,
}

/// A config file restored from its backup by a rollback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigRestoreView {
    pub path: String,
    pub backup_path: String,
    /// Unified diff from the file as it is to the restored one (empty: already restored).
    pub diff: String,
}

/// What `rollback_improvement` would do, checked without changing anything.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RollbackPreview {
    pub improvement_id: String,
    pub pattern_id: Option<String>,
    pub description: String,
    /// The current status.
    pub status: String,
    /// False when the improvement is already rolled back (nothing would change).
    pub changes: bool,
    pub reason: Option<String>,
    pub config_restore: Option<ConfigRestoreView>,
    /// Lesson blocks the rollback takes out of instruction files, with their diffs.
    pub file_changes: Vec<crate::harness_files::Planned>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerifyMetrics {
    /// 1 − failure rate of the pattern per call of its tool, before the apply.
    pub before_success_rate: Option<f64>,
    pub after_success_rate: Option<f64>,
    /// Finished runs in both windows (the regression guard's sample).
    pub runs_analyzed: u64,
    pub before_calls: u64,
    pub after_calls: u64,
    pub before_failures: u64,
    pub after_failures: u64,
    pub p_value: Option<f64>,
    pub pattern: Comparison,
    pub guard: Comparison,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerifyView {
    pub improvement_id: String,
    pub expected_impact: String,
    pub actual_impact: String,
    pub verification_status: Verdict,
    pub recommendation: VerifyRecommendation,
    pub metrics: VerifyMetrics,
    pub before_window: WindowView,
    pub after_window: WindowView,
    pub calls_still_needed: Option<u64>,
    pub reason: String,
    pub status: Status,
    pub escalations: Vec<EscalationView>,
    pub note: NoteOutcome,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TransitionView {
    pub improvement_id: String,
    pub status: Status,
    /// False when the request was an idempotent retry that changed nothing.
    pub changed: bool,
    pub reason: Option<String>,
    /// For a rollback of a config edit: whether the file was restored byte for byte.
    pub config_restored: Option<bool>,
    /// For a rollback of a lesson: the instruction files its blocks were taken out of.
    pub changes: Vec<crate::harness_files::FileChange>,
    pub note: Option<NoteOutcome>,
}

/// One audit-trail row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditView {
    pub at: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    /// The transition's details as recorded (JSON text).
    pub detail: Option<String>,
    /// Who made it: `agent` (MCP tools), `person` (CLI), `watch` (the daemon's verifications)
    /// or `policy` (the healing policy on its own); absent for rows recorded before actors were.
    pub actor: Option<selfheal_core::lifecycle::Actor>,
    /// For the healing policy: the policy lines that allowed the transition.
    pub rule: Option<String>,
}

/// The evidence recorded with a proposal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StoredEvidence {
    pub evidence: Evidence,
    /// When the pattern was first seen in the evidence window.
    pub first_seen: String,
}

/// A verification as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StoredVerification {
    pub decision: selfheal_core::verify::Decision,
    pub before: selfheal_core::verify::Counts,
    pub after: selfheal_core::verify::Counts,
    pub guard_before: selfheal_core::verify::Counts,
    pub guard_after: selfheal_core::verify::Counts,
    pub before_window: WindowView,
    pub after_window: WindowView,
    pub measurement_window_days: i64,
}

/// A config edit as recorded by apply (what rollback restores).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StoredConfigEdit {
    pub key: String,
    pub applied: crate::config_edit::Applied,
}

/// An improvement as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImprovementView {
    pub id: String,
    pub status: String,
    pub pattern_id: Option<String>,
    pub strategy_id: Option<String>,
    pub category: String,
    pub description: String,
    pub risk_level: Option<String>,
    pub priority: Option<i64>,
    pub created_at: String,
    pub applied_at: Option<String>,
    pub verified_at: Option<String>,
    pub changes_made: Option<String>,
    pub commit_hash: Option<String>,
    pub impact: Option<String>,
    pub expected_impact: Option<ImpactRange>,
    pub actions: Option<Vec<Action>>,
    pub evidence: Option<StoredEvidence>,
    pub test_result: Option<TestView>,
    pub verification: Option<StoredVerification>,
    pub config_edit: Option<StoredConfigEdit>,
    pub verification_due_at: Option<String>,
    pub reason: Option<String>,
    /// The audit trail, oldest first (only in get_improvement).
    pub audit: Option<Vec<AuditView>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ListView {
    pub improvements: Vec<ImprovementView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatusCount {
    pub status: String,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportView {
    pub window: WindowView,
    /// Patterns in the window (default filters).
    pub patterns_seen: u64,
    pub improvements_by_state: Vec<StatusCount>,
    /// verified / (verified + rolled_back + rejected) among improvements created in the window.
    pub auto_resolved_share: Option<f64>,
    pub escalations: Vec<EscalationView>,
    /// Open escalations not listed (`detail: "full"` lists them all).
    #[serde(default)]
    pub escalations_omitted: u64,
    /// Mean hours from a pattern's first occurrence to its improvement's verification.
    pub mean_time_to_recovery_hours: Option<f64>,
    pub strategies: Vec<StrategyView>,
    /// Who healed what in the window: automatic (the policy, the watch daemon) against manual
    /// (agents, people) actions, rollbacks, the share resolved by the policy on its own
    /// (verified after it applied them), and times from first seen to applied and to verified.
    pub healing: selfheal_core::healing::HealingNumbers,
    pub next_steps: Vec<String>,
    /// Next steps not listed (`detail: "full"` lists them all).
    #[serde(default)]
    pub next_steps_omitted: u64,
}

// ---- The static report page ----------------------------------------------------------------

/// Everything `self-heal report --html` embeds in the dashboard page (see `page`): one
/// period's detailed dashboard, healing report, top patterns in full and improvements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportPage {
    /// When the page was made, RFC 3339 UTC.
    pub generated_at: String,
    /// The dashboard of the period, with per-agent and per-tool tables.
    pub dashboard: DashboardView,
    /// The healing report of the same period.
    pub report: ReportView,
    /// The most frequent patterns of the period in full (default filters), at most 10.
    pub patterns: Vec<Pattern>,
    /// Patterns passing the filters but not listed.
    pub patterns_omitted: u64,
    /// The newest improvements (at most 100), with `next_cursor` when there are more.
    pub improvements: ListView,
}

// ---- Summaries: what a default answer keeps -------------------------------------------------

/// Tools listed among the flagged calls that are not failures, in a summary.
const SUMMARY_FLAGGED: usize = 5;
/// Characters of a failure's message in a summary.
const SUMMARY_MESSAGE_CHARS: usize = 300;

/// Characters of a template in a summary.
const SUMMARY_TEMPLATE_CHARS: usize = 120;

/// A pattern as a summary lists it: no per-day series nor recorded types, its first runs,
/// its most frequent templates (cut).
fn summarize_pattern(p: &mut Pattern, runs: usize, templates: usize) {
    p.daily.clear();
    p.recorded_error_types.clear();
    p.affected_runs.truncate(runs);
    p.affected_runs_omitted = p
        .affected_run_count
        .saturating_sub(p.affected_runs.len() as u64);
    let dropped = p.templates.len().saturating_sub(templates);
    p.templates.truncate(templates);
    p.templates_omitted += dropped as u64;
    for t in &mut p.templates {
        cut(&mut t.template, SUMMARY_TEMPLATE_CHARS);
    }
}

fn cut(text: &mut String, chars: usize) {
    if let Some((at, _)) = text.char_indices().nth(chars) {
        text.truncate(at);
        text.push('…');
    }
}

impl DetectView {
    /// The answer at `detail`.
    pub fn at(mut self, detail: Detail) -> DetectView {
        self.detail = detail;
        if detail == Detail::Summary {
            for p in &mut self.patterns {
                // Run ids cost ~25 tokens each: one shows the shape, get_pattern lists more.
                summarize_pattern(p, 1, 1);
            }
            let nf = &mut self.not_failures;
            nf.by_tool_omitted += nf.by_tool.len().saturating_sub(SUMMARY_FLAGGED) as u64;
            nf.by_tool.truncate(SUMMARY_FLAGGED);
        }
        self
    }
}

impl PatternView {
    /// The answer at `detail` (one pattern: its lists stay whole, messages are cut).
    pub fn at(mut self, detail: Detail) -> PatternView {
        self.detail = detail;
        if detail == Detail::Summary {
            self.pattern.daily.clear();
            for f in &mut self.recent_failures {
                cut(&mut f.message, SUMMARY_MESSAGE_CHARS);
            }
        }
        self
    }
}

impl ToolsView {
    /// The answer at `detail`.
    pub fn at(mut self, detail: Detail) -> ToolsView {
        self.detail = detail;
        if detail == Detail::Summary {
            for t in &mut self.tools {
                t.daily.clear();
            }
        }
        self
    }
}

impl DashboardView {
    /// The answer at `detail`.
    pub fn at(mut self, detail: Detail) -> DashboardView {
        self.detail = detail;
        if detail == Detail::Summary {
            self.daily.clear();
            for p in &mut self.top_patterns {
                p.daily.clear();
            }
            for t in self.tools.iter_mut().flatten() {
                t.daily.clear();
            }
        }
        self
    }
}

impl ListView {
    /// The answer at `detail`: a summary keeps what each improvement is and where it stands
    /// (`get_improvement` has one in full).
    pub fn at(mut self, detail: Detail) -> ListView {
        if detail == Detail::Summary {
            for i in &mut self.improvements {
                i.evidence = None;
                i.actions = None;
                i.test_result = None;
                i.verification = None;
                i.config_edit = None;
                i.audit = None;
                if let Some(e) = &mut i.expected_impact {
                    cut(&mut e.basis, SUMMARY_TEMPLATE_CHARS);
                }
            }
        }
        self
    }
}

/// Escalations and next steps a summary report lists.
const SUMMARY_REPORT_LIST: usize = 5;

impl ReportView {
    /// The answer at `detail`: a summary lists the first escalations and next steps.
    pub fn at(mut self, detail: Detail) -> ReportView {
        if detail == Detail::Summary {
            self.escalations_omitted +=
                self.escalations.len().saturating_sub(SUMMARY_REPORT_LIST) as u64;
            self.escalations.truncate(SUMMARY_REPORT_LIST);
            self.next_steps_omitted +=
                self.next_steps.len().saturating_sub(SUMMARY_REPORT_LIST) as u64;
            self.next_steps.truncate(SUMMARY_REPORT_LIST);
        }
        self
    }
}
