//! Arguments of every use case: deserialised from MCP tool calls and CLI flags alike,
//! described by their JSON Schema, and validated here (the schema alone enforces nothing).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use selfheal_core::pattern::{DEFAULT_CONFIDENCE_THRESHOLD, DEFAULT_MIN_OCCURRENCES};
use selfheal_core::stalled::DEFAULT_STALL_MINUTES;
use selfheal_core::time::{Window, parse_since};

use crate::error::AppError;
use crate::sanitize::echo;

/// Largest accepted `min_occurrences`.
pub const MAX_MIN_OCCURRENCES: i64 = 1_000_000;
/// Largest accepted list `limit`.
pub const MAX_LIMIT: i64 = 500;
/// Longest accepted identifier-like string argument.
pub const MAX_NAME_LEN: usize = 512;

fn default_since() -> String {
    "-7d".into()
}
fn default_pattern_since() -> String {
    "-30d".into()
}
fn default_min_occurrences() -> i64 {
    DEFAULT_MIN_OCCURRENCES as i64
}
fn default_confidence() -> f64 {
    DEFAULT_CONFIDENCE_THRESHOLD
}
/// Patterns a default detect lists: within a model's budget (see "Answers an agent can
/// afford" in the README); `limit` and `patterns_omitted` say how to see more.
fn default_limit() -> i64 {
    8
}
/// Tools a default reliability answer lists, least reliable first.
fn default_tool_limit() -> i64 {
    15
}
fn default_stall_minutes() -> i64 {
    DEFAULT_STALL_MINUTES
}
fn default_samples() -> i64 {
    10
}

/// Validates a `since` value against `now`; the error echoes at most
/// [`crate::sanitize::ECHO_MAX`] characters of the value.
pub fn window(since: &str, now_ms: i64) -> Result<Window, AppError> {
    parse_since(since, now_ms).map_err(|e| {
        AppError::InvalidInput(format!(
            "invalid since value {}: {}; accepted: {}",
            echo(&e.value),
            e.reason,
            selfheal_core::time::SINCE_FORMS
        ))
    })
}

fn check_range(name: &str, value: i64, min: i64, max: i64) -> Result<(), AppError> {
    if value < min || value > max {
        return Err(AppError::InvalidInput(format!(
            "{name} must be an integer from {min} to {max}; got {value}"
        )));
    }
    Ok(())
}

fn check_name(name: &str, value: &Option<String>) -> Result<(), AppError> {
    match value {
        Some(v) if v.trim().is_empty() => Err(AppError::InvalidInput(format!(
            "{name} must not be empty; omit it to include every value"
        ))),
        Some(v) if v.len() > MAX_NAME_LEN => Err(AppError::InvalidInput(format!(
            "{name} is {} bytes long; at most {MAX_NAME_LEN} are accepted",
            v.len()
        ))),
        _ => Ok(()),
    }
}

fn check_required(name: &str, value: &str) -> Result<(), AppError> {
    check_name(name, &Some(value.to_string()))
}

/// How much an answer holds: `summary` (the default) what a decision needs, within a few
/// thousand tokens; `full` adds the per-day series and the longer lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    #[default]
    Summary,
    Full,
}

/// Arguments of `detect_failure_patterns`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectArgs {
    /// Start of the analysis window: a relative span (-7d, 7d, -24h, -30m, -2w) or an RFC 3339 instant. The window ends now.
    #[serde(default = "default_since")]
    pub since: String,
    /// Minimum occurrences in the window for a pattern to be reported (1 to 1000000).
    #[serde(default = "default_min_occurrences")]
    pub min_occurrences: i64,
    /// Minimum pattern confidence in [0, 1].
    #[serde(default = "default_confidence")]
    pub confidence_threshold: f64,
    /// Only patterns whose error type (the part of the id before ':') equals this.
    #[serde(default)]
    pub error_type: Option<String>,
    /// Only patterns of this tool.
    #[serde(default)]
    pub tool_name: Option<String>,
    /// Maximum patterns listed (1 to 500); the rest are counted in patterns_omitted.
    #[serde(default = "default_limit")]
    pub limit: i64,
    /// `summary` (default) or `full` (adds each pattern's per-day series, all its listed runs
    /// and templates).
    #[serde(default)]
    pub detail: Detail,
    /// `next_cursor` of the previous page (same filters): the next `limit` patterns, over the
    /// same window.
    #[serde(default)]
    pub cursor: Option<String>,
}

impl Default for DetectArgs {
    fn default() -> Self {
        DetectArgs {
            since: default_since(),
            min_occurrences: default_min_occurrences(),
            confidence_threshold: default_confidence(),
            error_type: None,
            tool_name: None,
            limit: default_limit(),
            detail: Detail::Summary,
            cursor: None,
        }
    }
}

impl DetectArgs {
    /// What the daemon and the policy look at: the default filters over the 20 most frequent
    /// patterns (they read, not a model: no budget applies).
    pub fn for_healing() -> DetectArgs {
        DetectArgs {
            limit: 20,
            ..DetectArgs::default()
        }
    }

    pub fn validate(&self) -> Result<(), AppError> {
        check_range(
            "min_occurrences",
            self.min_occurrences,
            1,
            MAX_MIN_OCCURRENCES,
        )?;
        if !(0.0..=1.0).contains(&self.confidence_threshold) {
            return Err(AppError::InvalidInput(format!(
                "confidence_threshold must be a number from 0 to 1; got {}",
                self.confidence_threshold
            )));
        }
        check_name("error_type", &self.error_type)?;
        check_name("tool_name", &self.tool_name)?;
        check_range("limit", self.limit, 1, MAX_LIMIT)
    }
}

/// Arguments of `get_pattern`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternArgs {
    /// Pattern id as returned by detect_failure_patterns: `<class>:<tool>` (`<class>:<tool>:<program>` for shell tools), e.g. `timeout:fetch_url`; ids in the recorded-type style (`tool_error:read_file`) resolve to the pattern their failures belong to now.
    pub pattern_id: String,
    /// Start of the window (default -30d): a relative span or an RFC 3339 instant.
    #[serde(default = "default_pattern_since")]
    pub since: String,
    /// How many recent failures to list (1 to 500).
    #[serde(default = "default_samples")]
    pub samples: i64,
    /// `summary` (default: messages cut at 300 characters, no per-day series) or `full`.
    #[serde(default)]
    pub detail: Detail,
}

impl PatternArgs {
    pub fn validate(&self) -> Result<(), AppError> {
        check_required("pattern_id", &self.pattern_id)?;
        if selfheal_core::pattern::split_pattern_id(&self.pattern_id).is_none() {
            return Err(AppError::InvalidInput(format!(
                "pattern_id {} is not of the form <class>:<tool> (e.g. timeout:fetch_url, command_failed:Bash:pytest); list ids with detect_failure_patterns",
                echo(&self.pattern_id)
            )));
        }
        check_range("samples", self.samples, 1, MAX_LIMIT)
    }
}

/// Arguments of `analyze_run_health`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunHealthArgs {
    /// The run's id (runs.id).
    pub run_id: String,
}

impl RunHealthArgs {
    pub fn validate(&self) -> Result<(), AppError> {
        check_required("run_id", &self.run_id)
    }
}

/// Arguments of `compute_agent_metrics`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentArgs {
    /// Start of the window (runs started in it): a relative span or an RFC 3339 instant.
    #[serde(default = "default_since")]
    pub since: String,
    /// Only this agent (metadata.agent, else workflow_name).
    #[serde(default)]
    pub agent: Option<String>,
}

impl AgentArgs {
    pub fn validate(&self) -> Result<(), AppError> {
        check_name("agent", &self.agent)
    }
}

/// Arguments of `compute_tool_reliability`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolArgs {
    /// Start of the window (calls made in it): a relative span or an RFC 3339 instant.
    #[serde(default = "default_since")]
    pub since: String,
    /// Only this tool.
    #[serde(default)]
    pub tool_name: Option<String>,
    /// Maximum tools listed, least reliable first (1 to 500).
    #[serde(default = "default_tool_limit")]
    pub limit: i64,
    /// `summary` (default) or `full` (adds each tool's per-day calls and failures).
    #[serde(default)]
    pub detail: Detail,
    /// `next_cursor` of the previous page (same `tool_name`): the next `limit` tools, over the
    /// same window.
    #[serde(default)]
    pub cursor: Option<String>,
}

impl ToolArgs {
    pub fn validate(&self) -> Result<(), AppError> {
        check_name("tool_name", &self.tool_name)?;
        check_range("limit", self.limit, 1, MAX_LIMIT)
    }
}

/// Arguments of `get_health_dashboard`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DashboardArgs {
    /// Start of the window (default -7d): a relative span or an RFC 3339 instant.
    #[serde(default = "default_since")]
    pub since: String,
    /// Include per-agent and per-tool tables.
    #[serde(default)]
    pub detailed: bool,
    /// `summary` (default) or `full` (adds the per-day health series and each top pattern's).
    #[serde(default)]
    pub detail: Detail,
}

impl Default for DashboardArgs {
    fn default() -> Self {
        DashboardArgs {
            since: default_since(),
            detailed: false,
            detail: Detail::Summary,
        }
    }
}

/// Arguments of `detect_stalled_runs`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StalledArgs {
    /// A running run with no event for longer than this many minutes is stalled (1 to 10080).
    #[serde(default = "default_stall_minutes")]
    pub threshold_minutes: i64,
}

impl Default for StalledArgs {
    fn default() -> Self {
        StalledArgs {
            threshold_minutes: default_stall_minutes(),
        }
    }
}

impl StalledArgs {
    pub fn validate(&self) -> Result<(), AppError> {
        check_range("threshold_minutes", self.threshold_minutes, 1, 7 * 24 * 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(json: serde_json::Value) -> Result<DetectArgs, String> {
        let args: DetectArgs = serde_json::from_value(json).map_err(|e| e.to_string())?;
        args.validate().map_err(|e| e.to_string())?;
        Ok(args)
    }

    #[test]
    fn defaults_apply() {
        let a = detect(serde_json::json!({})).unwrap();
        assert_eq!(
            (a.since.as_str(), a.min_occurrences, a.confidence_threshold),
            ("-7d", 3, 0.75)
        );
    }

    #[test]
    fn bad_values_say_what_is_accepted() {
        for (json, needle) in [
            (
                serde_json::json!({"min_occurrences": 0}),
                "from 1 to 1000000",
            ),
            (
                serde_json::json!({"min_occurrences": -3}),
                "from 1 to 1000000",
            ),
            (
                serde_json::json!({"min_occurrences": 99_999_999}),
                "from 1 to 1000000",
            ),
            (
                serde_json::json!({"confidence_threshold": 1.5}),
                "from 0 to 1",
            ),
            (
                serde_json::json!({"confidence_threshold": -0.1}),
                "from 0 to 1",
            ),
            (serde_json::json!({"tool_name": ""}), "must not be empty"),
            (serde_json::json!({"since": 7}), "invalid type"),
            (serde_json::json!({"min_occurence": 3}), "unknown field"),
        ] {
            let e = detect(json.clone()).unwrap_err();
            assert!(e.contains(needle), "{json}: {e}");
        }
    }
}

// ---- The improvement lifecycle -------------------------------------------------------------

fn default_test_mode() -> String {
    "simulation".into()
}
fn default_window_days() -> i64 {
    7
}
/// Improvements a default page lists.
fn default_list_limit() -> i64 {
    10
}
fn default_report_since() -> String {
    "-30d".into()
}

/// Longest accepted free-text argument (descriptions, reasons, changes).
pub const MAX_TEXT_LEN: usize = 10_000;

fn check_text(name: &str, value: &str, required: bool) -> Result<(), AppError> {
    if required && value.trim().is_empty() {
        return Err(AppError::InvalidInput(format!("{name} must not be empty")));
    }
    if value.len() > MAX_TEXT_LEN {
        return Err(AppError::InvalidInput(format!(
            "{name} is {} bytes long; at most {MAX_TEXT_LEN} are accepted",
            value.len()
        )));
    }
    Ok(())
}

fn check_improvement_id(id: &str) -> Result<(), AppError> {
    check_required("improvement_id", id)?;
    if !id.starts_with("imp-") || id.len() > 64 {
        return Err(AppError::InvalidInput(format!(
            "improvement_id {} is not an improvement id; ids look like imp-20261120-3fa9c2 (see list_improvements)",
            echo(id)
        )));
    }
    Ok(())
}

/// Arguments of `propose_improvement`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeArgs {
    /// Pattern id from detect_failure_patterns, e.g. `timeout:fetch_url`.
    pub pattern_id: String,
    /// Window of the evidence (default -30d): a relative span or an RFC 3339 instant.
    #[serde(default = "default_report_since")]
    pub since: String,
}

impl ProposeArgs {
    pub fn validate(&self) -> Result<(), AppError> {
        PatternArgs {
            pattern_id: self.pattern_id.clone(),
            since: self.since.clone(),
            samples: 1,
            detail: Detail::Summary,
        }
        .validate()
    }
}

/// Arguments of `test_improvement`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestArgs {
    /// The improvement to test.
    pub improvement_id: String,
    /// `simulation` (counterfactual over history), `canary` or `shadow` (runs tagged with the improvement id in runs.metadata against untagged runs).
    #[serde(default = "default_test_mode")]
    pub mode: String,
}

impl TestArgs {
    pub fn validate(&self) -> Result<(), AppError> {
        check_improvement_id(&self.improvement_id)?;
        if !["simulation", "canary", "shadow"].contains(&self.mode.as_str()) {
            return Err(AppError::InvalidInput(format!(
                "unknown test mode {}; accepted: simulation, canary, shadow",
                echo(&self.mode)
            )));
        }
        Ok(())
    }
}

/// Arguments of `apply_improvement`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyArgs {
    /// The improvement to record as applied (it must have been tested).
    pub improvement_id: String,
    /// What was changed, in words (required).
    pub changes_made: String,
    /// The commit that made the change (7 to 40 hex digits).
    #[serde(default)]
    pub commit_hash: Option<String>,
    /// When the change took effect, if earlier than now (RFC 3339, not in the future). Default: now.
    #[serde(default)]
    pub applied_at: Option<String>,
    /// Act on the config file declared to the server (SELFHEAL_CONFIG_FILE): `preview` shows the diff, `apply` writes it (atomic, with a backup). Omit to only record the change.
    #[serde(default)]
    pub config_action: Option<String>,
    /// The config file to edit; must be the declared one (defaults to it).
    #[serde(default)]
    pub config_path: Option<String>,
    /// Apply even though the pattern is BLOCKed by an escalation.
    #[serde(default)]
    pub override_block: bool,
}

impl ApplyArgs {
    pub fn validate(&self) -> Result<(), AppError> {
        check_improvement_id(&self.improvement_id)?;
        check_text("changes_made", &self.changes_made, true)?;
        if let Some(hash) = &self.commit_hash
            && (!(7..=40).contains(&hash.len()) || !hash.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(AppError::InvalidInput(format!(
                "commit_hash {} must be 7 to 40 hexadecimal digits",
                echo(hash)
            )));
        }
        if let Some(action) = &self.config_action
            && !["preview", "apply"].contains(&action.as_str())
        {
            return Err(AppError::InvalidInput(format!(
                "config_action {} is not accepted; use preview or apply (or omit it)",
                echo(action)
            )));
        }
        if let Some(p) = &self.config_path {
            check_text("config_path", p, true)?;
        }
        Ok(())
    }
}

/// Arguments of `verify_improvement`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyArgs {
    /// The applied improvement to verify.
    pub improvement_id: String,
    /// Days before and after applied_at to compare (1 to 90).
    #[serde(default = "default_window_days")]
    pub measurement_window_days: i64,
}

impl VerifyArgs {
    pub fn validate(&self) -> Result<(), AppError> {
        check_improvement_id(&self.improvement_id)?;
        check_range(
            "measurement_window_days",
            self.measurement_window_days,
            1,
            90,
        )
    }
}

/// Arguments of `rollback_improvement` and `reject_improvement`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseArgs {
    pub improvement_id: String,
    /// Why, for the audit trail.
    #[serde(default)]
    pub reason: Option<String>,
    /// Rollback only: remove a lesson's block from an instruction file even when a person
    /// edited inside it since it was written (default false: refused, naming the lines).
    #[serde(default)]
    pub force: bool,
}

impl CloseArgs {
    pub fn validate(&self) -> Result<(), AppError> {
        check_improvement_id(&self.improvement_id)?;
        if let Some(r) = &self.reason {
            check_text("reason", r, false)?;
        }
        Ok(())
    }
}

/// Arguments of `list_improvements`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    /// Only this status: proposed, tested, applied, verified, rolled_back or rejected.
    #[serde(default)]
    pub status: Option<String>,
    /// Page size (1 to 100).
    #[serde(default = "default_list_limit")]
    pub limit: i64,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// `summary` (default: what each improvement is and where it stands) or `full` (adds its
    /// evidence, actions, test and verification).
    #[serde(default)]
    pub detail: Detail,
}

impl ListArgs {
    pub fn validate(&self) -> Result<(), AppError> {
        if let Some(s) = &self.status
            && selfheal_core::lifecycle::Status::parse(s).is_none()
        {
            return Err(AppError::InvalidInput(format!(
                "unknown status {}; accepted: proposed, tested, applied, verified, rolled_back, rejected",
                echo(s)
            )));
        }
        check_range("limit", self.limit, 1, 100)
    }
}

/// Arguments of `get_improvement`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetImprovementArgs {
    pub improvement_id: String,
}

impl GetImprovementArgs {
    pub fn validate(&self) -> Result<(), AppError> {
        check_improvement_id(&self.improvement_id)
    }
}

/// Arguments of `get_healing_report`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportArgs {
    /// Start of the reporting period (default -30d).
    #[serde(default = "default_report_since")]
    pub since: String,
    /// `summary` (default: the first escalations and next steps, with counts of the rest) or
    /// `full` (all of them).
    #[serde(default)]
    pub detail: Detail,
}
