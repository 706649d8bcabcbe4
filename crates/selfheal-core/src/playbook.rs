//! Playbooks: remediation strategies per failure class, user overrides, learned ranking.
//!
//! Every [`FailureClass`] has a built-in [`Playbook`] ([`builtin_playbooks`]) whose strategies
//! carry concrete, parameterised [`Action`]s, a [`Risk`], a priority and an expected impact
//! (a range of the reduction of the pattern's failure rate, with the reason for it). Users add
//! strategies, or replace built-in ones by reusing their id, in TOML files
//! ([`parse_user_playbooks`], [`merge`]). Each strategy's learned success rate ([`Learned`],
//! the Beta posterior mean over its verified outcomes) ranks the candidates ([`rank`]).
//!
//! This module is pure: it parses TOML *text*; reading the playbook directory is the app's job.
//!
//! # User playbook files
//!
//! A file holds any number of `[[strategy]]` tables, each with one or more `[[strategy.action]]`
//! tables (`strategies` / `actions` are accepted as aliases):
//!
//! ```toml
//! # Replaces the built-in strategy of the same id.
//! [[strategy]]
//! id = "timeout.raise-timeout"             # required; letters, digits, '.', '_', '-'
//! name = "Raise the timeout of slow tools" # default: the id
//! description = "Our crawler is slow, not broken."
//! applies_to = ["timeout"]                 # required; failure class names (see below)
//! risk = "low"                             # low | medium | high; default medium
//! priority = 1                             # 1 (highest) ..= 10; default 5
//! config_key = "tools.{tool}.timeout_ms"   # optional; dotted key, `{tool}` = the pattern's tool
//! expected_impact = { low = 0.3, high = 0.8, basis = "slow tail finishes under 2x" }
//!
//! [[strategy.action]]
//! kind = "raise_timeout"                   # required; see the kinds below
//! factor = 2.0
//! max_timeout_ms = 180000
//!
//! # A new strategy, added next to the built-ins.
//! [[strategy]]
//! id = "rate_limited.slow-down"
//! applies_to = ["rate_limited", "network_error"]
//!
//! [[strategy.action]]
//! kind = "retry_with_backoff"              # parameters left out take their defaults
//! initial_delay_ms = 5000
//! ```
//!
//! Action kinds and their parameters (defaults in parentheses):
//!
//! | kind | parameters |
//! | --- | --- |
//! | `retry_with_backoff` | `initial_delay_ms` (1000), `factor` (2.0, ≥ 1), `max_delay_ms` (30000, ≥ initial), `max_attempts` (3, 1..=20), `non_retryable` (the classes a repeat cannot fix: ["permission_denied", "not_found", "dependency_failure", "invalid_input", "stale_state", "command_failed"]) |
//! | `raise_timeout` | `factor` (2.0, > 1 and ≤ 10), `max_timeout_ms` (300000) |
//! | `health_check_restart` | `check_interval_ms` (5000), `restart_backoff_ms` (1000), `backoff_cap_ms` (60000, ≥ backoff), `max_restarts` (3, 1..=100) |
//! | `circuit_breaker` | `failure_rate_threshold` (0.5, in (0, 1]), `window_calls` (20), `open_duration_ms` (30000), `half_open_probes` (1, ≤ window) |
//! | `reroute` | `fallback_tool` (none: to be chosen) |
//! | `scale_down_payload` | `factor` (0.5, in (0, 1)), `min_batch` (1) |
//! | `skip_optional_dependency` | `dependency` (none: the failing one) |
//! | `existence_check_fallback` | `fallback` (none: to be chosen) |
//! | `permission_fix` | `note` (what to grant; a generic note) |
//! | `install_dependency` | `dependency` (none: the missing one) |
//! | `refresh_before_edit` | none |
//! | `fix_before_rerun` | `max_identical_reruns` (1, 0..=10) |
//!
//! Durations are milliseconds and must be positive. Failure class names: `timeout`,
//! `connection_refused`, `network_error`, `server_crashed`, `oom`, `permission_denied`,
//! `not_found`, `rate_limited`, `dependency_failure`, `invalid_input`, `stale_state`,
//! `command_failed`, `tool_error`, `Unknown`. A strategy that retries is never proposed for a
//! class that a repeat of the same call cannot fix (see `FailureClass::is_transient`).
//! `expected_impact` defaults to the honest `0..1` ("not stated"); `low ≤ high`, both in
//! [0, 1]. Unknown keys are errors (a typo must not silently fall back to a default).
//!
//! A strategy whose id matches a built-in replaces it entirely (it is not patched field by
//! field). Ids are unique within a file; across files the later one wins (the app reads them
//! in name order). A `config_key` segment is a bare key (`A-Z a-z 0-9 _ -`) or exactly `{tool}`.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::classify::FailureClass;
use crate::stats::{round4, wilson};

/// One concrete remediation step with its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Retry the call with exponential backoff: delays `initial · factorⁿ`, capped at
    /// `max_delay_ms`, at most `max_attempts` attempts in all; never for `non_retryable`.
    RetryWithBackoff {
        #[serde(default = "defaults::initial_delay_ms")]
        initial_delay_ms: u64,
        #[serde(default = "defaults::backoff_factor")]
        factor: f64,
        #[serde(default = "defaults::max_delay_ms")]
        max_delay_ms: u64,
        #[serde(default = "defaults::max_attempts")]
        max_attempts: u32,
        #[serde(default = "defaults::non_retryable")]
        non_retryable: Vec<FailureClass>,
    },
    /// Raise the tool's timeout: new timeout = min(observed ceiling × factor, max_timeout_ms).
    RaiseTimeout {
        #[serde(default = "defaults::timeout_factor")]
        factor: f64,
        #[serde(default = "defaults::max_timeout_ms")]
        max_timeout_ms: u64,
    },
    /// Probe the server every `check_interval_ms`; restart it when the probe fails, waiting
    /// `restart_backoff_ms` doubled per consecutive restart up to `backoff_cap_ms`, and give up
    /// (escalate) after `max_restarts`.
    HealthCheckRestart {
        #[serde(default = "defaults::check_interval_ms")]
        check_interval_ms: u64,
        #[serde(default = "defaults::restart_backoff_ms")]
        restart_backoff_ms: u64,
        #[serde(default = "defaults::backoff_cap_ms")]
        backoff_cap_ms: u64,
        #[serde(default = "defaults::max_restarts")]
        max_restarts: u32,
    },
    /// Stop calling (fail fast) for `open_duration_ms` once the failure rate over the last
    /// `window_calls` calls reaches `failure_rate_threshold`; then let `half_open_probes`
    /// calls through, closing again when they succeed.
    CircuitBreaker {
        #[serde(default = "defaults::failure_rate_threshold")]
        failure_rate_threshold: f64,
        #[serde(default = "defaults::window_calls")]
        window_calls: u32,
        #[serde(default = "defaults::open_duration_ms")]
        open_duration_ms: u64,
        #[serde(default = "defaults::half_open_probes")]
        half_open_probes: u32,
    },
    /// Send the call to another tool (or endpoint); `None` means one is still to be chosen.
    Reroute {
        #[serde(default)]
        fallback_tool: Option<String>,
    },
    /// Shrink the payload (batch size, page size, input length) by `factor`, not below
    /// `min_batch`.
    ScaleDownPayload {
        #[serde(default = "defaults::scale_factor")]
        factor: f64,
        #[serde(default = "defaults::min_batch")]
        min_batch: u32,
    },
    /// Let the run go on without an optional dependency (`None`: the failing one).
    SkipOptionalDependency {
        #[serde(default)]
        dependency: Option<String>,
    },
    /// Check that the target exists before the call; use `fallback` (a default, a created
    /// resource, a skip) when it does not.
    ExistenceCheckFallback {
        #[serde(default)]
        fallback: Option<String>,
    },
    /// Grant the missing permission; `note` says what, and never more than that resource.
    PermissionFix {
        #[serde(default = "defaults::permission_note")]
        note: String,
    },
    /// Install or pin the missing program, module or service (`None`: the failing one), or
    /// tell the agent up front that it is not available.
    InstallDependency {
        #[serde(default)]
        dependency: Option<String>,
    },
    /// Re-read the target right before modifying it, and build the edit's context (the text
    /// to replace, the patch's context lines) from that fresh content.
    RefreshBeforeEdit,
    /// Hand the salient error line to the agent and require a change before the same command
    /// runs again: at most `max_identical_reruns` unchanged re-runs.
    FixBeforeRerun {
        #[serde(default = "defaults::max_identical_reruns")]
        max_identical_reruns: u32,
    },
}

/// Defaults of the action parameters, shared by serde, the schema and the docs above.
mod defaults {
    use crate::classify::FailureClass;

    pub fn initial_delay_ms() -> u64 {
        1_000
    }
    pub fn backoff_factor() -> f64 {
        2.0
    }
    pub fn max_delay_ms() -> u64 {
        30_000
    }
    pub fn max_attempts() -> u32 {
        3
    }
    pub fn non_retryable() -> Vec<FailureClass> {
        FailureClass::ALL
            .into_iter()
            .filter(|c| !c.is_transient())
            .collect()
    }
    pub fn max_identical_reruns() -> u32 {
        1
    }
    pub fn timeout_factor() -> f64 {
        2.0
    }
    pub fn max_timeout_ms() -> u64 {
        300_000
    }
    pub fn check_interval_ms() -> u64 {
        5_000
    }
    pub fn restart_backoff_ms() -> u64 {
        1_000
    }
    pub fn backoff_cap_ms() -> u64 {
        60_000
    }
    pub fn max_restarts() -> u32 {
        3
    }
    pub fn failure_rate_threshold() -> f64 {
        0.5
    }
    pub fn window_calls() -> u32 {
        20
    }
    pub fn open_duration_ms() -> u64 {
        30_000
    }
    pub fn half_open_probes() -> u32 {
        1
    }
    pub fn scale_factor() -> f64 {
        0.5
    }
    pub fn min_batch() -> u32 {
        1
    }
    pub fn permission_note() -> String {
        "grant the tool's process access to exactly the resource named in the error \
         (file mode, ownership or token scope); do not broaden access beyond it"
            .to_string()
    }
}

impl Action {
    /// The `kind` tag, as written in playbooks.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::RetryWithBackoff { .. } => "retry_with_backoff",
            Action::RaiseTimeout { .. } => "raise_timeout",
            Action::HealthCheckRestart { .. } => "health_check_restart",
            Action::CircuitBreaker { .. } => "circuit_breaker",
            Action::Reroute { .. } => "reroute",
            Action::ScaleDownPayload { .. } => "scale_down_payload",
            Action::SkipOptionalDependency { .. } => "skip_optional_dependency",
            Action::ExistenceCheckFallback { .. } => "existence_check_fallback",
            Action::PermissionFix { .. } => "permission_fix",
            Action::InstallDependency { .. } => "install_dependency",
            Action::RefreshBeforeEdit => "refresh_before_edit",
            Action::FixBeforeRerun { .. } => "fix_before_rerun",
        }
    }

    /// For [`Action::RaiseTimeout`]: `min(ceiling × factor, max_timeout_ms)`, rounded up to a
    /// whole second (never below the ceiling); `None` for other actions.
    pub fn raised_timeout_ms(&self, observed_ceiling_ms: u64) -> Option<u64> {
        match self {
            Action::RaiseTimeout {
                factor,
                max_timeout_ms,
            } => {
                let raised = (observed_ceiling_ms as f64 * factor).min(*max_timeout_ms as f64);
                let secs = (raised / 1000.0).ceil().max(0.0) as u64;
                Some((secs * 1000).max(observed_ceiling_ms.min(*max_timeout_ms)))
            }
            _ => None,
        }
    }

    /// A one-line human description with the parameters.
    pub fn summary(&self) -> String {
        match self {
            Action::RetryWithBackoff {
                initial_delay_ms,
                factor,
                max_delay_ms,
                max_attempts,
                non_retryable,
            } => {
                let never = if non_retryable.is_empty() {
                    String::new()
                } else {
                    let names: Vec<&str> = non_retryable.iter().map(|c| c.as_str()).collect();
                    format!("; never for {}", names.join(", "))
                };
                format!(
                    "retry with backoff: first delay {initial_delay_ms} ms, ×{factor} per attempt, \
                     capped at {max_delay_ms} ms, at most {max_attempts} attempts{never}"
                )
            }
            Action::RaiseTimeout {
                factor,
                max_timeout_ms,
            } => format!(
                "raise the timeout to {factor}× the observed ceiling, at most {max_timeout_ms} ms"
            ),
            Action::HealthCheckRestart {
                check_interval_ms,
                restart_backoff_ms,
                backoff_cap_ms,
                max_restarts,
            } => format!(
                "health check every {check_interval_ms} ms; restart on failure with backoff \
                 {restart_backoff_ms} ms doubling up to {backoff_cap_ms} ms, at most \
                 {max_restarts} restarts before escalating"
            ),
            Action::CircuitBreaker {
                failure_rate_threshold,
                window_calls,
                open_duration_ms,
                half_open_probes,
            } => format!(
                "circuit breaker: open at a failure rate ≥ {:.0}% over the last {window_calls} \
                 calls, stay open {open_duration_ms} ms, then {half_open_probes} half-open probe(s)",
                failure_rate_threshold * 100.0
            ),
            Action::Reroute { fallback_tool } => match fallback_tool {
                Some(t) => format!("reroute calls to `{t}`"),
                None => "reroute calls to an alternative tool or endpoint (to be chosen)".into(),
            },
            Action::ScaleDownPayload { factor, min_batch } => format!(
                "scale the payload down to {:.0}% of its size, not below {min_batch}",
                factor * 100.0
            ),
            Action::SkipOptionalDependency { dependency } => match dependency {
                Some(d) => format!("skip the optional dependency `{d}` when it fails"),
                None => "skip the failing dependency when it is optional".into(),
            },
            Action::ExistenceCheckFallback { fallback } => match fallback {
                Some(f) => format!("check the target exists first; otherwise use `{f}`"),
                None => {
                    "check the target exists first; otherwise use a fallback (to be chosen)".into()
                }
            },
            Action::PermissionFix { note } => format!("fix the permission: {note}"),
            Action::InstallDependency { dependency } => match dependency {
                Some(d) => format!("install or pin `{d}`, or tell the agent it is unavailable"),
                None => "install or pin the missing program or module, or tell the agent it is unavailable".into(),
            },
            Action::RefreshBeforeEdit => {
                "re-read the target right before editing it and build the edit from that content"
                    .into()
            }
            Action::FixBeforeRerun {
                max_identical_reruns,
            } => format!(
                "show the agent the salient error and require a change before re-running; at most {max_identical_reruns} unchanged re-run(s)"
            ),
        }
    }

    /// The parameters as a JSON object (without `kind`), or for [`Action::RaiseTimeout`] the
    /// raised timeout when the ceiling is known. `None` fields are left out.
    fn config_value(&self, observed_ceiling_ms: Option<u64>) -> Option<serde_json::Value> {
        match self {
            Action::RaiseTimeout { .. } => {
                return observed_ceiling_ms
                    .and_then(|c| self.raised_timeout_ms(c))
                    .map(serde_json::Value::from);
            }
            // Switches and limits are plain values at their key.
            Action::RefreshBeforeEdit => return Some(serde_json::Value::Bool(true)),
            Action::FixBeforeRerun {
                max_identical_reruns,
            } => return Some(serde_json::Value::from(*max_identical_reruns)),
            _ => {}
        }
        let serde_json::Value::Object(mut map) = serde_json::to_value(self).ok()? else {
            return None;
        };
        map.remove("kind");
        map.retain(|_, v| !v.is_null());
        Some(serde_json::Value::Object(map))
    }
}

/// How much harm a strategy can do when it is wrong.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
}

/// Expected reduction of the pattern's failure rate, as a fraction in [0, 1], and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpactRange {
    pub low: f64,
    pub high: f64,
    pub basis: String,
}

/// One way to remedy a failure class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Strategy {
    /// Stable id, `<class>.<slug>` for built-ins, e.g. `timeout.raise-timeout`.
    pub id: String,
    pub name: String,
    pub description: String,
    pub applies_to: Vec<FailureClass>,
    /// Ordered steps.
    pub actions: Vec<Action>,
    pub risk: Risk,
    pub expected_impact: ImpactRange,
    /// 1 is highest; breaks ties between equally learned strategies.
    pub priority: u8,
    /// Dotted key in the declared config file this strategy edits; `{tool}` stands for the
    /// pattern's tool, e.g. `tools.{tool}.timeout_ms`.
    pub config_key: Option<String>,
}

impl Strategy {
    /// The config key with `{tool}` replaced by `tool`, quoted as a TOML key when it is not a
    /// bare key (so `a.b` stays one segment: `tools."a.b".timeout_ms`).
    pub fn config_key_for(&self, tool: &str) -> Option<String> {
        let key = self.config_key.as_ref()?;
        let segments: Vec<String> = key
            .split('.')
            .map(|s| {
                if s == TOOL_PLACEHOLDER {
                    toml_key(tool)
                } else {
                    s.to_string()
                }
            })
            .collect();
        Some(segments.join("."))
    }

    /// The value this strategy writes at its config key: for a timeout raise the new timeout
    /// in ms (`None` while the observed ceiling is unknown), otherwise the first action's
    /// parameters as a table. `None` when the strategy has no config key.
    pub fn config_value(&self, observed_ceiling_ms: Option<u64>) -> Option<serde_json::Value> {
        self.config_key.as_ref()?;
        self.actions.first()?.config_value(observed_ceiling_ms)
    }

    /// Whether any action retries the call.
    pub fn retries(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a, Action::RetryWithBackoff { .. }))
    }

    /// Whether every action is a retry (the evidence rule of [`expected_impact`] applies).
    fn is_retry_only(&self) -> bool {
        !self.actions.is_empty()
            && self
                .actions
                .iter()
                .all(|a| matches!(a, Action::RetryWithBackoff { .. }))
    }
}

const TOOL_PLACEHOLDER: &str = "{tool}";

fn is_bare_key(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `s` as a TOML key segment: bare when possible, else a basic string.
fn toml_key(s: &str) -> String {
    if is_bare_key(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The strategies for one failure class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Playbook {
    pub class: FailureClass,
    pub strategies: Vec<Strategy>,
}

/// Learned success of a strategy: its verified outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Learned {
    pub successes: u64,
    pub failures: u64,
}

impl Learned {
    /// Posterior mean of Beta(1 + successes, 1 + failures): ½ with no evidence, moving toward
    /// the observed success share as outcomes accumulate.
    pub fn mean(&self) -> f64 {
        (1.0 + self.successes as f64) / (2.0 + self.successes as f64 + self.failures as f64)
    }

    pub fn trials(&self) -> u64 {
        self.successes.saturating_add(self.failures)
    }
}

/// Strategies applicable to `class` (by their `applies_to`, each id once), ranked by learned
/// mean (descending), then priority (1 first), then id. A strategy that retries is left out
/// for a class that repeating the same call cannot fix, whoever wrote it.
pub fn rank<'a>(
    playbooks: &'a [Playbook],
    class: FailureClass,
    learned: &dyn Fn(&str) -> Learned,
) -> Vec<&'a Strategy> {
    let mut seen = HashSet::new();
    let mut ranked: Vec<(f64, &Strategy)> = playbooks
        .iter()
        .flat_map(|p| p.strategies.iter())
        .filter(|s| s.applies_to.contains(&class) && seen.insert(s.id.as_str()))
        .filter(|s| class.is_transient() || !s.retries())
        .map(|s| (learned(&s.id).mean(), s))
        .collect();
    ranked.sort_by(|(ma, a), (mb, b)| {
        mb.total_cmp(ma)
            .then(a.priority.cmp(&b.priority))
            .then_with(|| a.id.cmp(&b.id))
    });
    ranked.into_iter().map(|(_, s)| s).collect()
}

/// The strategy's expected impact adjusted by the pattern's evidence.
///
/// Rule: a strategy that only retries cannot fix more failures than retrying recovers, so
/// when the pattern has occurrences its upper bound is capped by the Wilson 95% upper bound
/// of `recovered_share` (the share of its failures that succeeded when the same call was
/// repeated in the same run) over `occurrences` (its failures with recorded arguments) — the interval keeps a handful of occurrences from capping too
/// hard — and the lower bound never exceeds the upper. Other strategies keep the playbook's
/// range (history says nothing about an action never taken); with no occurrences, or a
/// share that is not a number, every range is the playbook's. The basis says which applied.
pub fn expected_impact(
    strategy: &Strategy,
    recovered_share: Option<f64>,
    occurrences: u64,
) -> ImpactRange {
    let prior = &strategy.expected_impact;
    let mut low = prior.low.clamp(0.0, 1.0);
    let mut high = prior.high.clamp(low, 1.0);
    let mut basis = prior.basis.clone();
    let recovered_share = match recovered_share {
        Some(share) if share.is_finite() => share,
        _ => {
            if strategy.is_retry_only() {
                basis.push_str(
                    "; the history records no arguments for these calls, so there is no retry evidence to check it against: this is the playbook's prior",
                );
            } else {
                basis.push_str(
                    "; no occurrences to check it against, so this is the playbook's prior",
                );
            }
            return ImpactRange {
                low: round4(low),
                high: round4(high),
                basis,
            };
        }
    };
    if occurrences == 0 {
        basis.push_str("; no occurrences to check it against, so this is the playbook's prior");
    } else if strategy.is_retry_only() {
        let share = recovered_share.clamp(0.0, 1.0);
        let recovered = (share * occurrences as f64).round() as u64;
        let cap = wilson(recovered, occurrences).map_or(1.0, |i| i.high);
        if cap < high {
            high = cap;
            low = low.min(high);
            basis.push_str(&format!(
                "; upper bound capped at {:.0}%: the 95% upper bound of the {:.0}% of {} \
                 failures that succeeded when the same call was repeated",
                cap * 100.0,
                share * 100.0,
                occurrences
            ));
        } else {
            basis.push_str(&format!(
                "; consistent with history: {:.0}% of {} failures succeeded when the same call was repeated",
                share * 100.0,
                occurrences
            ));
        }
    } else {
        basis.push_str(&format!(
            "; playbook prior ({} occurrences; history cannot show the effect of an action not yet taken)",
            occurrences
        ));
    }
    ImpactRange {
        low: round4(low),
        high: round4(high),
        basis,
    }
}

/// Built-ins overridden (same strategy id) or extended by user strategies.
///
/// A user strategy replaces every strategy with its id: in place in the playbooks of the
/// classes it still applies to, removed from the others; it is appended to the playbooks of
/// its remaining classes (a playbook is created for a class that has none). Later user
/// strategies win over earlier ones with the same id. Playbooks come out in class order.
pub fn merge(builtin: Vec<Playbook>, user: Vec<Strategy>) -> Vec<Playbook> {
    let mut playbooks = builtin;
    for s in user {
        for p in playbooks.iter_mut() {
            let applies = s.applies_to.contains(&p.class);
            let mut placed = false;
            p.strategies.retain_mut(|existing| {
                if existing.id != s.id {
                    return true;
                }
                if applies && !placed {
                    *existing = s.clone();
                    placed = true;
                    true
                } else {
                    false
                }
            });
        }
        for class in &s.applies_to {
            match playbooks.iter_mut().find(|p| p.class == *class) {
                Some(p) => {
                    if !p.strategies.iter().any(|e| e.id == s.id) {
                        p.strategies.push(s.clone());
                    }
                }
                None => playbooks.push(Playbook {
                    class: *class,
                    strategies: vec![s.clone()],
                }),
            }
        }
    }
    playbooks.sort_by_key(|p| p.class);
    playbooks
}

/// Why a user playbook file was rejected: where (1-based line and column, when known) and
/// what is wrong and accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}", location_prefix(*.line, *.column), .message)]
pub struct PlaybookError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

fn location_prefix(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        _ => String::new(),
    }
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

const PRIORITY_MAX: u8 = 10;
const ID_MAX_LEN: usize = 100;
const RETRY_MAX_ATTEMPTS: u32 = 20;
const MAX_RESTARTS: u32 = 100;
const TIMEOUT_FACTOR_MAX: f64 = 10.0;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    #[serde(default, alias = "strategies")]
    strategy: Vec<toml::Spanned<UserStrategy>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserStrategy {
    id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    applies_to: Option<Vec<FailureClass>>,
    #[serde(default, alias = "actions")]
    action: Vec<toml::Spanned<UserAction>>,
    risk: Option<Risk>,
    priority: Option<u8>,
    expected_impact: Option<ImpactRange>,
    config_key: Option<String>,
}

/// An action as written in a file: every parameter of every kind, flat, so that a value of
/// the wrong type is reported at its own line (serde's tagged enums lose the location).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserAction {
    kind: Option<toml::Spanned<String>>,
    initial_delay_ms: Option<u64>,
    factor: Option<f64>,
    max_delay_ms: Option<u64>,
    max_attempts: Option<u32>,
    non_retryable: Option<Vec<FailureClass>>,
    max_timeout_ms: Option<u64>,
    check_interval_ms: Option<u64>,
    restart_backoff_ms: Option<u64>,
    backoff_cap_ms: Option<u64>,
    max_restarts: Option<u32>,
    failure_rate_threshold: Option<f64>,
    window_calls: Option<u32>,
    open_duration_ms: Option<u64>,
    half_open_probes: Option<u32>,
    fallback_tool: Option<String>,
    min_batch: Option<u32>,
    dependency: Option<String>,
    fallback: Option<String>,
    note: Option<String>,
    max_identical_reruns: Option<u32>,
}

impl UserAction {
    /// The parameters present in the file.
    fn present(&self) -> Vec<&'static str> {
        [
            ("initial_delay_ms", self.initial_delay_ms.is_some()),
            ("factor", self.factor.is_some()),
            ("max_delay_ms", self.max_delay_ms.is_some()),
            ("max_attempts", self.max_attempts.is_some()),
            ("non_retryable", self.non_retryable.is_some()),
            ("max_timeout_ms", self.max_timeout_ms.is_some()),
            ("check_interval_ms", self.check_interval_ms.is_some()),
            ("restart_backoff_ms", self.restart_backoff_ms.is_some()),
            ("backoff_cap_ms", self.backoff_cap_ms.is_some()),
            ("max_restarts", self.max_restarts.is_some()),
            (
                "failure_rate_threshold",
                self.failure_rate_threshold.is_some(),
            ),
            ("window_calls", self.window_calls.is_some()),
            ("open_duration_ms", self.open_duration_ms.is_some()),
            ("half_open_probes", self.half_open_probes.is_some()),
            ("fallback_tool", self.fallback_tool.is_some()),
            ("min_batch", self.min_batch.is_some()),
            ("dependency", self.dependency.is_some()),
            ("fallback", self.fallback.is_some()),
            ("note", self.note.is_some()),
            ("max_identical_reruns", self.max_identical_reruns.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, some)| some.then_some(name))
        .collect()
    }

    /// The typed action, with defaults for what is left out; an error names a parameter that
    /// does not belong to the kind, or a kind that does not exist.
    fn into_action(self, kind: &str) -> Result<Action, String> {
        let accepted: &[&str] = match kind {
            "retry_with_backoff" => &[
                "initial_delay_ms",
                "factor",
                "max_delay_ms",
                "max_attempts",
                "non_retryable",
            ],
            "raise_timeout" => &["factor", "max_timeout_ms"],
            "health_check_restart" => &[
                "check_interval_ms",
                "restart_backoff_ms",
                "backoff_cap_ms",
                "max_restarts",
            ],
            "circuit_breaker" => &[
                "failure_rate_threshold",
                "window_calls",
                "open_duration_ms",
                "half_open_probes",
            ],
            "reroute" => &["fallback_tool"],
            "scale_down_payload" => &["factor", "min_batch"],
            "skip_optional_dependency" => &["dependency"],
            "existence_check_fallback" => &["fallback"],
            "permission_fix" => &["note"],
            "install_dependency" => &["dependency"],
            "refresh_before_edit" => &[],
            "fix_before_rerun" => &["max_identical_reruns"],
            other => {
                return Err(format!(
                    "unknown action kind \"{other}\"; accepted: {}",
                    ACTION_KINDS.join(", ")
                ));
            }
        };
        if let Some(extra) = self.present().into_iter().find(|p| !accepted.contains(p)) {
            return Err(format!(
                "`{extra}` is not a parameter of {kind}; its parameters are {}",
                accepted.join(", ")
            ));
        }
        let a = self;
        Ok(match kind {
            "retry_with_backoff" => Action::RetryWithBackoff {
                initial_delay_ms: a
                    .initial_delay_ms
                    .unwrap_or_else(defaults::initial_delay_ms),
                factor: a.factor.unwrap_or_else(defaults::backoff_factor),
                max_delay_ms: a.max_delay_ms.unwrap_or_else(defaults::max_delay_ms),
                max_attempts: a.max_attempts.unwrap_or_else(defaults::max_attempts),
                non_retryable: a.non_retryable.unwrap_or_else(defaults::non_retryable),
            },
            "raise_timeout" => Action::RaiseTimeout {
                factor: a.factor.unwrap_or_else(defaults::timeout_factor),
                max_timeout_ms: a.max_timeout_ms.unwrap_or_else(defaults::max_timeout_ms),
            },
            "health_check_restart" => Action::HealthCheckRestart {
                check_interval_ms: a
                    .check_interval_ms
                    .unwrap_or_else(defaults::check_interval_ms),
                restart_backoff_ms: a
                    .restart_backoff_ms
                    .unwrap_or_else(defaults::restart_backoff_ms),
                backoff_cap_ms: a.backoff_cap_ms.unwrap_or_else(defaults::backoff_cap_ms),
                max_restarts: a.max_restarts.unwrap_or_else(defaults::max_restarts),
            },
            "circuit_breaker" => Action::CircuitBreaker {
                failure_rate_threshold: a
                    .failure_rate_threshold
                    .unwrap_or_else(defaults::failure_rate_threshold),
                window_calls: a.window_calls.unwrap_or_else(defaults::window_calls),
                open_duration_ms: a
                    .open_duration_ms
                    .unwrap_or_else(defaults::open_duration_ms),
                half_open_probes: a
                    .half_open_probes
                    .unwrap_or_else(defaults::half_open_probes),
            },
            "reroute" => Action::Reroute {
                fallback_tool: a.fallback_tool,
            },
            "scale_down_payload" => Action::ScaleDownPayload {
                factor: a.factor.unwrap_or_else(defaults::scale_factor),
                min_batch: a.min_batch.unwrap_or_else(defaults::min_batch),
            },
            "skip_optional_dependency" => Action::SkipOptionalDependency {
                dependency: a.dependency,
            },
            "existence_check_fallback" => Action::ExistenceCheckFallback {
                fallback: a.fallback,
            },
            "install_dependency" => Action::InstallDependency {
                dependency: a.dependency,
            },
            "refresh_before_edit" => Action::RefreshBeforeEdit,
            "fix_before_rerun" => Action::FixBeforeRerun {
                max_identical_reruns: a
                    .max_identical_reruns
                    .unwrap_or_else(defaults::max_identical_reruns),
            },
            _ => Action::PermissionFix {
                note: a.note.unwrap_or_else(defaults::permission_note),
            },
        })
    }
}

/// Parses one user TOML file's text (format in the module doc) into strategies.
///
/// Errors carry the line and column in the file and say what is accepted: a value of the
/// wrong type points at the value, a missing field at its `[[strategy]]` table, a bad action
/// at its `[[strategy.action]]` table (or its `kind`).
pub fn parse_user_playbooks(text: &str) -> Result<Vec<Strategy>, PlaybookError> {
    let at = |offset: usize, message: String| {
        let (line, column) = line_col(text, offset);
        PlaybookError {
            line: Some(line),
            column: Some(column),
            message,
        }
    };
    let file: UserFile = toml::from_str(text).map_err(|e| {
        let message = plain_types(e.message().trim_end());
        match e.span() {
            Some(span) => {
                let line = text
                    .get(..span.start.min(text.len()))
                    .map_or(0, |b| b.len() - b.rsplit('\n').next().map_or(0, str::len));
                let source = text
                    .get(line..)
                    .and_then(|l| l.lines().next())
                    .unwrap_or("");
                let source = source.trim();
                if source.is_empty() || source.chars().count() > 120 {
                    at(span.start, message)
                } else {
                    at(span.start, format!("{message} (in `{source}`)"))
                }
            }
            None => PlaybookError {
                line: None,
                column: None,
                message,
            },
        }
    })?;
    let mut out = Vec::with_capacity(file.strategy.len());
    let mut ids = HashSet::new();
    for (i, spanned) in file.strategy.into_iter().enumerate() {
        let offset = spanned.span().start;
        let strategy = validate_strategy(i + 1, spanned.into_inner())
            .map_err(|(o, m)| at(o.unwrap_or(offset), m))?;
        if !ids.insert(strategy.id.clone()) {
            return Err(at(
                offset,
                format!(
                    "strategy #{} repeats the id \"{}\" of an earlier strategy in this file; ids must be unique",
                    i + 1,
                    strategy.id
                ),
            ));
        }
        out.push(strategy);
    }
    Ok(out)
}

/// Serde names Rust types; a playbook author thinks in TOML values.
fn plain_types(message: &str) -> String {
    message
        .replace("expected u8", "expected a whole number from 0 to 255")
        .replace("expected u32", "expected a whole number ≥ 0")
        .replace("expected u64", "expected a whole number ≥ 0")
        .replace("expected f64", "expected a number")
}

const ACTION_KINDS: [&str; 12] = [
    "retry_with_backoff",
    "raise_timeout",
    "health_check_restart",
    "circuit_breaker",
    "reroute",
    "scale_down_payload",
    "skip_optional_dependency",
    "existence_check_fallback",
    "permission_fix",
    "install_dependency",
    "refresh_before_edit",
    "fix_before_rerun",
];

/// A located message: the byte offset of what it is about (`None`: the strategy's table).
type Located = (Option<usize>, String);

fn validate_strategy(n: usize, raw: UserStrategy) -> Result<Strategy, Located> {
    let Some(id) = raw.id else {
        return Err((
            None,
            format!(
                "strategy #{n} has no `id`; add one such as id = \"timeout.my-fix\" (letters, digits, '.', '_', '-'); \
                 reuse a built-in id to replace that strategy"
            ),
        ));
    };
    let ctx = format!("strategy #{n} (id \"{id}\")");
    let here = |m: String| (None, m);
    if id.is_empty()
        || id.len() > ID_MAX_LEN
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(here(format!(
            "{ctx}: the id must be 1–{ID_MAX_LEN} letters, digits, '.', '_' or '-'"
        )));
    }
    let applies_to = match raw.applies_to {
        Some(classes) if !classes.is_empty() => classes,
        _ => {
            return Err(here(format!(
                "{ctx} has no `applies_to`; list the failure classes it remedies, e.g. applies_to = [\"timeout\"]; \
                 accepted: {}",
                class_names()
            )));
        }
    };
    if raw.action.is_empty() {
        return Err(here(format!(
            "{ctx} has no action; add at least one [[strategy.action]] with `kind` = one of {}",
            ACTION_KINDS.join(", ")
        )));
    }
    let mut actions = Vec::with_capacity(raw.action.len());
    for (j, spanned) in raw.action.into_iter().enumerate() {
        let table_at = Some(spanned.span().start);
        let raw_action = spanned.into_inner();
        let Some(kind) = raw_action.kind.clone() else {
            return Err((
                table_at,
                format!(
                    "{ctx}, action #{}: `kind` is missing; accepted: {}",
                    j + 1,
                    ACTION_KINDS.join(", ")
                ),
            ));
        };
        let action = raw_action.into_action(kind.get_ref()).map_err(|e| {
            (
                Some(kind.span().start),
                format!("{ctx}, action #{}: {e}", j + 1),
            )
        })?;
        validate_action(&action).map_err(|e| {
            (
                table_at,
                format!("{ctx}, action #{} ({}): {e}", j + 1, action.kind()),
            )
        })?;
        actions.push(action);
    }
    let priority = raw.priority.unwrap_or(5);
    if !(1..=PRIORITY_MAX).contains(&priority) {
        return Err(here(format!(
            "{ctx}: `priority` must be 1 (highest) to {PRIORITY_MAX}, got {priority}"
        )));
    }
    let expected_impact = raw.expected_impact.unwrap_or_else(|| ImpactRange {
        low: 0.0,
        high: 1.0,
        basis: "not stated by the user playbook; unknown until verified".into(),
    });
    let ImpactRange { low, high, .. } = expected_impact;
    if !(low.is_finite() && high.is_finite() && 0.0 <= low && low <= high && high <= 1.0) {
        return Err(here(format!(
            "{ctx}: `expected_impact` needs 0 ≤ low ≤ high ≤ 1 (fractions of the failure rate removed), \
             got low = {low}, high = {high}"
        )));
    }
    if expected_impact.basis.trim().is_empty() {
        return Err(here(format!(
            "{ctx}: `expected_impact.basis` is empty; say why the range is expected"
        )));
    }
    if let Some(key) = &raw.config_key {
        validate_config_key(key).map_err(|e| here(format!("{ctx}: `config_key` {e}")))?;
    }
    Ok(Strategy {
        name: raw.name.unwrap_or_else(|| id.clone()),
        description: raw.description.unwrap_or_default(),
        id,
        applies_to,
        actions,
        risk: raw.risk.unwrap_or(Risk::Medium),
        expected_impact,
        priority,
        config_key: raw.config_key,
    })
}

fn class_names() -> String {
    FailureClass::ALL
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn validate_config_key(key: &str) -> Result<(), String> {
    for segment in key.split('.') {
        if segment != TOOL_PLACEHOLDER && !is_bare_key(segment) {
            return Err(format!(
                "\"{key}\" is not a dotted key: each segment must be a bare key \
                 (letters, digits, '_', '-') or exactly {TOOL_PLACEHOLDER}; bad segment \"{segment}\""
            ));
        }
    }
    Ok(())
}

fn positive_ms(name: &str, v: u64) -> Result<(), String> {
    if v == 0 {
        Err(format!(
            "`{name}` must be a positive number of milliseconds, got 0"
        ))
    } else {
        Ok(())
    }
}

fn validate_action(action: &Action) -> Result<(), String> {
    match action {
        Action::RetryWithBackoff {
            initial_delay_ms,
            factor,
            max_delay_ms,
            max_attempts,
            ..
        } => {
            positive_ms("initial_delay_ms", *initial_delay_ms)?;
            if !(factor.is_finite() && *factor >= 1.0) {
                return Err(format!(
                    "`factor` must be ≥ 1 (1 = constant delay), got {factor}"
                ));
            }
            if max_delay_ms < initial_delay_ms {
                return Err(format!(
                    "`max_delay_ms` ({max_delay_ms}) must be ≥ `initial_delay_ms` ({initial_delay_ms})"
                ));
            }
            if !(1..=RETRY_MAX_ATTEMPTS).contains(max_attempts) {
                return Err(format!(
                    "`max_attempts` must be 1 to {RETRY_MAX_ATTEMPTS} (attempts in all), got {max_attempts}"
                ));
            }
        }
        Action::RaiseTimeout {
            factor,
            max_timeout_ms,
        } => {
            if !(factor.is_finite() && *factor > 1.0 && *factor <= TIMEOUT_FACTOR_MAX) {
                return Err(format!(
                    "`factor` must be > 1 and ≤ {TIMEOUT_FACTOR_MAX}, got {factor}"
                ));
            }
            positive_ms("max_timeout_ms", *max_timeout_ms)?;
        }
        Action::HealthCheckRestart {
            check_interval_ms,
            restart_backoff_ms,
            backoff_cap_ms,
            max_restarts,
        } => {
            positive_ms("check_interval_ms", *check_interval_ms)?;
            positive_ms("restart_backoff_ms", *restart_backoff_ms)?;
            if backoff_cap_ms < restart_backoff_ms {
                return Err(format!(
                    "`backoff_cap_ms` ({backoff_cap_ms}) must be ≥ `restart_backoff_ms` ({restart_backoff_ms})"
                ));
            }
            if !(1..=MAX_RESTARTS).contains(max_restarts) {
                return Err(format!(
                    "`max_restarts` must be 1 to {MAX_RESTARTS}, got {max_restarts}"
                ));
            }
        }
        Action::CircuitBreaker {
            failure_rate_threshold,
            window_calls,
            open_duration_ms,
            half_open_probes,
        } => {
            let t = *failure_rate_threshold;
            if !(t.is_finite() && t > 0.0 && t <= 1.0) {
                return Err(format!(
                    "`failure_rate_threshold` must be a fraction in (0, 1], got {t}"
                ));
            }
            if *window_calls == 0 {
                return Err("`window_calls` must be at least 1".into());
            }
            positive_ms("open_duration_ms", *open_duration_ms)?;
            if *half_open_probes == 0 || half_open_probes > window_calls {
                return Err(format!(
                    "`half_open_probes` must be 1 to `window_calls` ({window_calls}), got {half_open_probes}"
                ));
            }
        }
        Action::ScaleDownPayload { factor, min_batch } => {
            if !(factor.is_finite() && *factor > 0.0 && *factor < 1.0) {
                return Err(format!(
                    "`factor` must be in (0, 1) (0.5 halves the payload), got {factor}"
                ));
            }
            if *min_batch == 0 {
                return Err("`min_batch` must be at least 1".into());
            }
        }
        Action::Reroute {
            fallback_tool: Some(s),
        }
        | Action::SkipOptionalDependency {
            dependency: Some(s),
        }
        | Action::ExistenceCheckFallback { fallback: Some(s) }
        | Action::InstallDependency {
            dependency: Some(s),
        }
        | Action::PermissionFix { note: s } => {
            if s.trim().is_empty() {
                return Err("a text parameter is empty; leave it out instead".into());
            }
        }
        Action::Reroute {
            fallback_tool: None,
        }
        | Action::SkipOptionalDependency { dependency: None }
        | Action::ExistenceCheckFallback { fallback: None }
        | Action::InstallDependency { dependency: None }
        | Action::RefreshBeforeEdit => {}
        Action::FixBeforeRerun {
            max_identical_reruns,
        } => {
            if *max_identical_reruns > 10 {
                return Err(format!(
                    "`max_identical_reruns` must be 0 to 10, got {max_identical_reruns}"
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Built-in playbooks.

struct Def {
    slug: &'static str,
    name: &'static str,
    description: &'static str,
    actions: Vec<Action>,
    risk: Risk,
    impact: (f64, f64, &'static str),
    priority: u8,
    config_key: Option<&'static str>,
}

fn build(class: FailureClass, defs: Vec<Def>) -> Playbook {
    let prefix = class.as_str().to_ascii_lowercase();
    Playbook {
        class,
        strategies: defs
            .into_iter()
            .map(|d| Strategy {
                id: format!("{prefix}.{}", d.slug),
                name: d.name.into(),
                description: d.description.into(),
                applies_to: vec![class],
                actions: d.actions,
                risk: d.risk,
                expected_impact: ImpactRange {
                    low: d.impact.0,
                    high: d.impact.1,
                    basis: d.impact.2.into(),
                },
                priority: d.priority,
                config_key: d.config_key.map(str::to_string),
            })
            .collect(),
    }
}

fn retry(initial: u64, factor: f64, cap: u64, attempts: u32) -> Action {
    Action::RetryWithBackoff {
        initial_delay_ms: initial,
        factor,
        max_delay_ms: cap,
        max_attempts: attempts,
        non_retryable: defaults::non_retryable(),
    }
}

fn breaker(threshold: f64, window: u32, open_ms: u64, probes: u32) -> Action {
    Action::CircuitBreaker {
        failure_rate_threshold: threshold,
        window_calls: window,
        open_duration_ms: open_ms,
        half_open_probes: probes,
    }
}

fn restart(interval: u64, backoff: u64, cap: u64, max: u32) -> Action {
    Action::HealthCheckRestart {
        check_interval_ms: interval,
        restart_backoff_ms: backoff,
        backoff_cap_ms: cap,
        max_restarts: max,
    }
}

const RETRY_KEY: Option<&str> = Some("tools.{tool}.retry");
const BREAKER_KEY: Option<&str> = Some("tools.{tool}.circuit_breaker");
const RESTART_KEY: Option<&str> = Some("tools.{tool}.restart");

/// One playbook per failure class (all fourteen), in class order, each with at least one
/// strategy with concrete parameters.
pub fn builtin_playbooks() -> Vec<Playbook> {
    use FailureClass as C;
    use Risk::*;
    vec![
        build(
            C::Timeout,
            vec![
                Def {
                    slug: "raise-timeout",
                    name: "Raise the timeout",
                    description: "The calls run into the tool's timeout ceiling: give the slow tail room to finish, up to a hard maximum.",
                    actions: vec![Action::RaiseTimeout {
                        factor: 2.0,
                        max_timeout_ms: 300_000,
                    }],
                    risk: Low,
                    impact: (
                        0.3,
                        0.8,
                        "failures at the timeout ceiling are slow calls cut off, not broken ones; doubling the ceiling lets most of the slow tail finish, but not calls that hang",
                    ),
                    priority: 1,
                    config_key: Some("tools.{tool}.timeout_ms"),
                },
                Def {
                    slug: "retry-with-backoff",
                    name: "Retry with backoff",
                    description: "Retry timed-out calls after a growing delay, a bounded number of times.",
                    actions: vec![retry(1_000, 2.0, 30_000, 3)],
                    risk: Low,
                    impact: (
                        0.2,
                        0.6,
                        "retries absorb transient timeouts; bounded by the share recovered by a later retry in history",
                    ),
                    priority: 2,
                    config_key: RETRY_KEY,
                },
                Def {
                    slug: "circuit-breaker",
                    name: "Circuit breaker",
                    description: "Stop waiting on a tool that keeps timing out; fail fast while it recovers.",
                    actions: vec![breaker(0.5, 20, 30_000, 2)],
                    risk: Medium,
                    impact: (
                        0.05,
                        0.3,
                        "turns long waits into fast failures during an outage; saves time more than it removes failures",
                    ),
                    priority: 3,
                    config_key: BREAKER_KEY,
                },
            ],
        ),
        build(
            C::ConnectionRefused,
            vec![
                Def {
                    slug: "health-check-restart",
                    name: "Health check and restart",
                    description: "Nothing listens on the port: probe the server and restart it with a capped backoff.",
                    actions: vec![restart(5_000, 1_000, 60_000, 3)],
                    risk: Medium,
                    impact: (
                        0.4,
                        0.9,
                        "a refused connection means the server is down; a restart removes the cause when it died, and the restart cap stops a crash loop",
                    ),
                    priority: 1,
                    config_key: RESTART_KEY,
                },
                Def {
                    slug: "retry-with-backoff",
                    name: "Retry with backoff",
                    description: "Wait out a server that is starting or restarting.",
                    actions: vec![retry(2_000, 2.0, 30_000, 4)],
                    risk: Low,
                    impact: (
                        0.1,
                        0.5,
                        "servers refuse connections briefly while (re)starting; retries bridge that window, bounded by the share recovered by a later retry in history",
                    ),
                    priority: 2,
                    config_key: RETRY_KEY,
                },
            ],
        ),
        build(
            C::NetworkError,
            vec![
                Def {
                    slug: "retry-with-backoff",
                    name: "Retry with backoff",
                    description: "Retry after resets, DNS blips and dropped connections.",
                    actions: vec![retry(500, 2.0, 20_000, 4)],
                    risk: Low,
                    impact: (
                        0.3,
                        0.7,
                        "network faults are mostly transient; bounded by the share recovered by a later retry in history",
                    ),
                    priority: 1,
                    config_key: RETRY_KEY,
                },
                Def {
                    slug: "circuit-breaker",
                    name: "Circuit breaker",
                    description: "Stop hammering an unreachable endpoint during an outage.",
                    actions: vec![breaker(0.5, 20, 30_000, 2)],
                    risk: Medium,
                    impact: (
                        0.1,
                        0.4,
                        "sheds calls during sustained outages so they fail fast and retry later; does not prevent isolated faults",
                    ),
                    priority: 2,
                    config_key: BREAKER_KEY,
                },
                Def {
                    slug: "reroute",
                    name: "Reroute",
                    description: "Use an alternative endpoint or tool for the failing path.",
                    actions: vec![Action::Reroute {
                        fallback_tool: None,
                    }],
                    risk: Medium,
                    impact: (
                        0.2,
                        0.6,
                        "avoids the failing network path entirely, if an equivalent alternative exists",
                    ),
                    priority: 3,
                    config_key: None,
                },
            ],
        ),
        build(
            C::ServerCrashed,
            vec![
                Def {
                    slug: "health-check-restart",
                    name: "Health check and restart",
                    description: "Supervise the server: restart it after a crash with a capped backoff, escalate after repeated restarts.",
                    actions: vec![restart(5_000, 2_000, 120_000, 5)],
                    risk: Medium,
                    impact: (
                        0.3,
                        0.8,
                        "a supervised restart serves the following calls; the crash cause remains, so calls in flight at a crash still fail",
                    ),
                    priority: 1,
                    config_key: RESTART_KEY,
                },
                Def {
                    slug: "circuit-breaker",
                    name: "Circuit breaker",
                    description: "Fail fast while a crashing server is down instead of piling up calls.",
                    actions: vec![breaker(0.3, 20, 60_000, 1)],
                    risk: Medium,
                    impact: (
                        0.05,
                        0.3,
                        "contains the damage of a crash loop; the calls it sheds still fail, only faster",
                    ),
                    priority: 2,
                    config_key: BREAKER_KEY,
                },
            ],
        ),
        build(
            C::Oom,
            vec![
                Def {
                    slug: "scale-down-payload",
                    name: "Scale down the payload",
                    description: "Halve batches, pages or inputs that exhaust memory.",
                    actions: vec![Action::ScaleDownPayload {
                        factor: 0.5,
                        min_batch: 1,
                    }],
                    risk: Medium,
                    impact: (
                        0.4,
                        0.8,
                        "memory use grows with the payload; halving it removes failures of oversized inputs, not those of leaks",
                    ),
                    priority: 1,
                    config_key: Some("tools.{tool}.payload"),
                },
                Def {
                    slug: "health-check-restart",
                    name: "Health check and restart",
                    description: "Restart a process whose memory grows until it dies.",
                    actions: vec![restart(10_000, 5_000, 120_000, 3)],
                    risk: Medium,
                    impact: (
                        0.1,
                        0.4,
                        "a restart reclaims leaked memory for a while; it does not fix the leak",
                    ),
                    priority: 2,
                    config_key: RESTART_KEY,
                },
            ],
        ),
        build(
            C::PermissionDenied,
            vec![
                Def {
                    slug: "permission-fix",
                    name: "Fix the permission",
                    description: "Grant exactly the access the tool legitimately needs; a human reviews the change.",
                    actions: vec![Action::PermissionFix {
                        note: defaults::permission_note(),
                    }],
                    risk: High,
                    impact: (
                        0.6,
                        1.0,
                        "a permission error repeats deterministically until the permission changes; granting it removes the pattern when the access is legitimate",
                    ),
                    priority: 1,
                    config_key: None,
                },
                Def {
                    slug: "existence-check-fallback",
                    name: "Use an allowed location",
                    description: "Check access first and fall back to a location the tool may use (e.g. a workspace or temp directory).",
                    actions: vec![Action::ExistenceCheckFallback { fallback: None }],
                    risk: Medium,
                    impact: (
                        0.2,
                        0.6,
                        "calls aimed at forbidden paths succeed at an allowed fallback when the location is not essential",
                    ),
                    priority: 2,
                    config_key: None,
                },
            ],
        ),
        build(
            C::NotFound,
            vec![
                Def {
                    slug: "existence-check-fallback",
                    name: "Existence check with fallback",
                    description: "Check the file or resource exists before the call; create it, use a default or skip when it does not.",
                    actions: vec![Action::ExistenceCheckFallback { fallback: None }],
                    risk: Low,
                    impact: (
                        0.4,
                        0.9,
                        "a missing target fails the same way every time; checking first turns the failure into a fallback, and retries never help",
                    ),
                    priority: 1,
                    config_key: None,
                },
                Def {
                    slug: "skip-optional-dependency",
                    name: "Skip when optional",
                    description: "Go on without the missing resource when the task does not need it.",
                    actions: vec![Action::SkipOptionalDependency { dependency: None }],
                    risk: Low,
                    impact: (
                        0.2,
                        0.6,
                        "removes the failures of resources that are optional; useless when the result needs them",
                    ),
                    priority: 2,
                    config_key: None,
                },
            ],
        ),
        build(
            C::RateLimited,
            vec![
                Def {
                    slug: "retry-with-backoff",
                    name: "Retry with backoff",
                    description: "Back off until the rate-limit window resets.",
                    actions: vec![retry(2_000, 2.0, 60_000, 5)],
                    risk: Low,
                    impact: (
                        0.5,
                        0.9,
                        "rate limits reset with time, so patient retries recover most calls; bounded by the share recovered by a later retry in history",
                    ),
                    priority: 1,
                    config_key: RETRY_KEY,
                },
                Def {
                    slug: "circuit-breaker",
                    name: "Circuit breaker",
                    description: "Pause calls while the limit is tripped instead of extending it with more requests.",
                    actions: vec![breaker(0.5, 10, 60_000, 1)],
                    risk: Low,
                    impact: (
                        0.2,
                        0.5,
                        "bursts that keep a limit tripped stop; the paused calls run after the window",
                    ),
                    priority: 2,
                    config_key: BREAKER_KEY,
                },
            ],
        ),
        build(
            C::DependencyFailure,
            vec![
                Def {
                    slug: "skip-optional-dependency",
                    name: "Skip the optional dependency",
                    description: "Let the run go on without a failing dependency it can do without.",
                    actions: vec![Action::SkipOptionalDependency { dependency: None }],
                    risk: Medium,
                    impact: (
                        0.3,
                        0.7,
                        "the dependency's failures stop failing the call when it is optional; wrong when the result needs it",
                    ),
                    priority: 1,
                    config_key: None,
                },
                Def {
                    slug: "install-dependency",
                    name: "Install or pin the dependency",
                    description: "Make the missing program, module or service available where the agent runs, or tell the agent up front that it is not.",
                    actions: vec![Action::InstallDependency { dependency: None }],
                    risk: Medium,
                    impact: (
                        0.5,
                        0.95,
                        "a missing program or module fails the same way until it is installed; once present, these calls stop failing for that reason",
                    ),
                    priority: 2,
                    config_key: None,
                },
                Def {
                    slug: "circuit-breaker",
                    name: "Circuit breaker",
                    description: "Fail fast while the dependency is down.",
                    actions: vec![breaker(0.5, 20, 30_000, 2)],
                    risk: Medium,
                    impact: (
                        0.1,
                        0.4,
                        "spares the dependency while it recovers; shed calls fail fast rather than succeed",
                    ),
                    priority: 3,
                    config_key: BREAKER_KEY,
                },
            ],
        ),
        build(
            C::InvalidInput,
            vec![
                Def {
                    slug: "validate-before-call",
                    name: "Validate before the call",
                    description: "Check the arguments against the tool's schema before calling; correct them or use a default when they do not fit.",
                    actions: vec![Action::ExistenceCheckFallback { fallback: None }],
                    risk: Low,
                    impact: (
                        0.2,
                        0.6,
                        "invalid arguments fail deterministically and retries never help; a pre-call check corrects the fixable ones",
                    ),
                    priority: 1,
                    config_key: None,
                },
                Def {
                    slug: "scale-down-payload",
                    name: "Scale down the payload",
                    description: "Send smaller inputs when they exceed the tool's size limits.",
                    actions: vec![Action::ScaleDownPayload {
                        factor: 0.5,
                        min_batch: 1,
                    }],
                    risk: Low,
                    impact: (
                        0.05,
                        0.4,
                        "helps only the share of invalid inputs rejected for their size",
                    ),
                    priority: 2,
                    config_key: Some("tools.{tool}.payload"),
                },
            ],
        ),
        build(
            C::StaleState,
            vec![Def {
                slug: "refresh-before-edit",
                name: "Re-read before editing",
                description: "Read the target right before modifying it and build the edit from that content, so the edit matches what is there now.",
                actions: vec![Action::RefreshBeforeEdit],
                risk: Low,
                impact: (
                    0.4,
                    0.9,
                    "edits against an outdated or unread view fail every time they are repeated unchanged; a fresh read removes the cause",
                ),
                priority: 1,
                config_key: Some("tools.{tool}.read_before_edit"),
            }],
        ),
        build(
            C::CommandFailed,
            vec![Def {
                slug: "fix-before-rerun",
                name: "Fix before re-running",
                description: "Give the agent the salient error line of the failed command and require a change before the same command runs again.",
                actions: vec![Action::FixBeforeRerun {
                    max_identical_reruns: 1,
                }],
                risk: Low,
                impact: (
                    0.1,
                    0.4,
                    "failing tests, compile errors and refusing programs fail again when re-run unchanged; the reduction is the share of unchanged re-runs that stop",
                ),
                priority: 1,
                config_key: Some("tools.{tool}.max_identical_reruns"),
            }],
        ),
        build(
            C::ToolError,
            vec![
                Def {
                    slug: "retry-with-backoff",
                    name: "Retry with backoff",
                    description: "One or two short retries for generic tool errors.",
                    actions: vec![retry(1_000, 2.0, 15_000, 2)],
                    risk: Low,
                    impact: (
                        0.1,
                        0.4,
                        "generic tool errors mix transient and deterministic faults; only the transient share recovers, bounded by the share recovered by a later retry in history",
                    ),
                    priority: 1,
                    config_key: RETRY_KEY,
                },
                Def {
                    slug: "reroute",
                    name: "Reroute",
                    description: "Use an equivalent tool for the failing calls.",
                    actions: vec![Action::Reroute {
                        fallback_tool: None,
                    }],
                    risk: Medium,
                    impact: (
                        0.1,
                        0.5,
                        "an equivalent tool avoids the failing one's faults, if one exists",
                    ),
                    priority: 2,
                    config_key: None,
                },
            ],
        ),
        build(
            C::Unknown,
            vec![
                Def {
                    slug: "retry-with-backoff",
                    name: "Retry with backoff",
                    description: "With the cause unknown, only a short bounded retry is safe; investigate the messages meanwhile.",
                    actions: vec![retry(1_000, 2.0, 10_000, 2)],
                    risk: Low,
                    impact: (
                        0.0,
                        0.3,
                        "nothing is known of the cause; expect little unless history shows retries recovering these failures",
                    ),
                    priority: 1,
                    config_key: RETRY_KEY,
                },
                Def {
                    slug: "circuit-breaker",
                    name: "Circuit breaker",
                    description: "Contain a tool that fails for unknown reasons at a high rate.",
                    actions: vec![breaker(0.5, 20, 30_000, 2)],
                    risk: Medium,
                    impact: (
                        0.0,
                        0.2,
                        "containment only: it limits how often the unknown fault is hit",
                    ),
                    priority: 2,
                    config_key: BREAKER_KEY,
                },
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn retry_is_never_ranked_for_causes_a_repeat_cannot_fix() {
        let mut playbooks = builtin_playbooks();
        // Even a user strategy that claims to fix everything by retrying.
        playbooks.push(Playbook {
            class: FailureClass::NotFound,
            strategies: vec![Strategy {
                actions: vec![retry(1_000, 2.0, 5_000, 3)],
                ..user("user.retry-all", &FailureClass::ALL)
            }],
        });
        for class in FailureClass::ALL {
            let ranked = rank(&playbooks, class, &|_| Learned::default());
            assert!(!ranked.is_empty(), "{class:?} has a strategy");
            let retries = ranked.iter().any(|s| s.retries());
            if !class.is_transient() {
                assert!(!retries, "{class:?}: {ranked:?}");
            }
        }
    }

    use super::*;

    fn parse_err(text: &str) -> String {
        match parse_user_playbooks(text) {
            Ok(s) => panic!("expected an error, parsed {s:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn user(id: &str, classes: &[FailureClass]) -> Strategy {
        Strategy {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            applies_to: classes.to_vec(),
            actions: vec![Action::Reroute {
                fallback_tool: Some("backup".into()),
            }],
            risk: Risk::Low,
            expected_impact: ImpactRange {
                low: 0.1,
                high: 0.2,
                basis: "test".into(),
            },
            priority: 5,
            config_key: None,
        }
    }

    #[test]
    fn every_class_has_a_valid_playbook() {
        let playbooks = builtin_playbooks();
        assert_eq!(playbooks.len(), FailureClass::ALL.len());
        let mut ids = HashSet::new();
        for class in FailureClass::ALL {
            let p = playbooks
                .iter()
                .find(|p| p.class == class)
                .unwrap_or_else(|| panic!("no playbook for {}", class.as_str()));
            assert!(!p.strategies.is_empty(), "{}", class.as_str());
            for s in &p.strategies {
                assert!(ids.insert(s.id.clone()), "duplicate id {}", s.id);
                assert!(s.applies_to.contains(&class), "{}", s.id);
                assert!(!s.expected_impact.basis.is_empty(), "{}", s.id);
                // Built-ins obey the rules of user playbooks (the round trip below checks the rest).
                for a in &s.actions {
                    assert_eq!(validate_action(a), Ok(()), "{}", s.id);
                }
                if let Some(key) = &s.config_key {
                    assert_eq!(validate_config_key(key), Ok(()), "{}", s.id);
                }
            }
            assert!(!rank(&playbooks, class, &|_| Learned::default()).is_empty());
        }
    }

    #[test]
    fn builtins_round_trip_through_the_toml_format() {
        // What a user copies from the built-ins parses back to the same strategy.
        #[derive(Serialize)]
        struct File<'a> {
            strategy: Vec<&'a Strategy>,
        }
        let playbooks = builtin_playbooks();
        let all: Vec<&Strategy> = playbooks.iter().flat_map(|p| &p.strategies).collect();
        let text = toml::to_string(&File {
            strategy: all.clone(),
        })
        .unwrap()
        .replace("[[strategy.actions]]", "[[strategy.action]]");
        let parsed = parse_user_playbooks(&text).unwrap();
        assert_eq!(parsed.iter().collect::<Vec<_>>(), all);
    }

    #[test]
    fn parses_the_documented_example_with_defaults() {
        let text = r#"
# Replaces the built-in strategy of the same id.
[[strategy]]
id = "timeout.raise-timeout"
name = "Raise the timeout of slow tools"
applies_to = ["timeout"]
risk = "low"
priority = 1
config_key = "tools.{tool}.timeout_ms"
expected_impact = { low = 0.3, high = 0.8, basis = "slow tail finishes under 2x" }

[[strategy.action]]
kind = "raise_timeout"
factor = 2.0
max_timeout_ms = 180000

[[strategy]]
id = "rate_limited.slow-down"
applies_to = ["rate_limited", "network_error"]

[[strategy.action]]
kind = "retry_with_backoff"
initial_delay_ms = 5000
"#;
        let s = parse_user_playbooks(text).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0].actions,
            vec![Action::RaiseTimeout {
                factor: 2.0,
                max_timeout_ms: 180_000
            }]
        );
        assert_eq!(s[1].name, "rate_limited.slow-down");
        assert_eq!(s[1].risk, Risk::Medium);
        assert_eq!(s[1].priority, 5);
        assert_eq!(s[1].expected_impact.low, 0.0);
        assert_eq!(s[1].expected_impact.high, 1.0);
        assert_eq!(
            s[1].actions,
            vec![Action::RetryWithBackoff {
                initial_delay_ms: 5000,
                factor: 2.0,
                max_delay_ms: 30_000,
                max_attempts: 3,
                non_retryable: defaults::non_retryable(),
            }]
        );
        assert!(parse_user_playbooks("").unwrap().is_empty());
        assert!(
            parse_user_playbooks("# only a comment\n")
                .unwrap()
                .is_empty()
        );
    }

    const HEAD: &str =
        "[[strategy]]\nid = \"x.y\"\napplies_to = [\"timeout\"]\n\n[[strategy.action]]\n";

    #[test]
    fn bad_kind_is_located_and_lists_the_kinds() {
        let e = parse_err(&format!("{HEAD}kind = \"retry\"\n"));
        assert!(e.starts_with("line "), "{e}");
        assert!(e.contains("retry"), "{e}");
        assert!(
            e.contains("retry_with_backoff") && e.contains("permission_fix"),
            "{e}"
        );
        let e = parse_err(&format!(
            "{HEAD}kind = \"raise_timeout\"\nmax_attempts = 3\n"
        ));
        assert!(
            e.ends_with("`max_attempts` is not a parameter of raise_timeout; its parameters are factor, max_timeout_ms"),
            "{e}"
        );
        let e = parse_err(&format!("{HEAD}factor = 2.0\n"));
        assert!(e.contains("`kind`") && e.contains("raise_timeout"), "{e}");
    }

    #[test]
    fn bad_number_is_located_and_named() {
        let e = parse_err(&format!(
            "{HEAD}kind = \"retry_with_backoff\"\nmax_attempts = \"three\"\n"
        ));
        assert!(e.starts_with("line "), "{e}");
        assert_eq!(
            e,
            "line 7, column 16: invalid type: string \"three\", expected a whole number ≥ 0 \
             (in `max_attempts = \"three\"`)"
        );
        let e = parse_err(&format!(
            "{HEAD}kind = \"retry_with_backoff\"\nmax_attempts = -1\n"
        ));
        assert!(e.starts_with("line "), "{e}");
        let e = parse_err(&format!("{HEAD}kind = \"raise_timeout\"\nfactor = 0.5\n"));
        assert_eq!(
            e,
            "line 5, column 1: strategy #1 (id \"x.y\"), action #1 (raise_timeout): \
             `factor` must be > 1 and ≤ 10, got 0.5"
        );
        let e = parse_err(&format!(
            "{HEAD}kind = \"circuit_breaker\"\nfailure_rate_threshold = 1.5\n"
        ));
        assert!(
            e.contains("failure_rate_threshold") && e.contains("(0, 1]"),
            "{e}"
        );
        let e = parse_err(&format!(
            "{HEAD}kind = \"retry_with_backoff\"\ninitial_delay_ms = 5000\nmax_delay_ms = 100\n"
        ));
        assert!(e.contains("max_delay_ms") && e.contains("5000"), "{e}");
        let e = parse_err(&format!("{HEAD}kind = \"reroute\"\nfalback_tool = \"b\"\n"));
        assert!(
            e.contains("falback_tool") && e.contains("fallback_tool"),
            "{e}"
        );
    }

    #[test]
    fn unknown_class_is_located_and_lists_the_classes() {
        let text = "[[strategy]]\nid = \"x.y\"\napplies_to = [\"timout\"]\n";
        let e = parse_err(text);
        assert!(e.starts_with("line 3, column"), "{e}");
        assert!(
            e.contains("timout") && e.contains("connection_refused"),
            "{e}"
        );
        let e = parse_err(&format!(
            "{HEAD}kind = \"retry_with_backoff\"\nnon_retryable = [\"bogus\"]\n"
        ));
        assert!(e.contains("bogus") && e.contains("invalid_input"), "{e}");
    }

    #[test]
    fn missing_fields_are_named() {
        let e = parse_err(
            "\n[[strategy]]\napplies_to = [\"timeout\"]\n[[strategy.action]]\nkind = \"reroute\"\n",
        );
        assert!(
            e.starts_with("line 2, column 1: strategy #1 has no `id`"),
            "{e}"
        );
        let e = parse_err("[[strategy]]\nid = \"a\"\n[[strategy.action]]\nkind = \"reroute\"\n");
        assert!(
            e.contains("no `applies_to`") && e.contains("tool_error"),
            "{e}"
        );
        let e = parse_err("[[strategy]]\nid = \"a\"\napplies_to = [\"oom\"]\n");
        assert!(e.contains("has no action"), "{e}");
        let e = parse_err("[[stratgy]]\nid = \"a\"\n");
        assert!(e.contains("stratgy") && e.contains("strategy"), "{e}");
        let e = parse_err(&format!(
            "{HEAD}kind = \"reroute\"\n[[strategy]]\nid = \"x.y\"\napplies_to = [\"oom\"]\n[[strategy.action]]\nkind = \"reroute\"\n"
        ));
        assert!(
            e.starts_with("line 7, column 1") && e.contains("repeats the id"),
            "{e}"
        );
        let e = parse_err("this is = not toml [");
        assert!(e.starts_with("line 1"), "{e}");
    }

    #[test]
    fn strategy_fields_are_validated() {
        let with = |extra: &str| {
            format!(
                "[[strategy]]\nid = \"x.y\"\napplies_to = [\"oom\"]\n{extra}\n[[strategy.action]]\nkind = \"reroute\"\n"
            )
        };
        assert!(parse_err(&with("priority = 0")).contains("priority"));
        assert!(parse_err(&with("risk = \"extreme\"")).contains("medium"));
        assert!(
            parse_err(&with(
                "expected_impact = { low = 0.9, high = 0.1, basis = \"b\" }"
            ))
            .contains("low ≤ high")
        );
        assert!(parse_err(&with("config_key = \"tools.{name}.x\"")).contains("{tool}"));
        assert!(parse_err(&with("id2 = 1")).contains("id2"));
        let bad_id = "[[strategy]]\nid = \"has space\"\napplies_to = [\"oom\"]\n[[strategy.action]]\nkind = \"reroute\"\n";
        assert!(parse_err(bad_id).contains("the id must be"));
    }

    #[test]
    fn merge_overrides_and_extends() {
        let builtin = builtin_playbooks();
        let mut replaced = user("timeout.raise-timeout", &[FailureClass::Timeout]);
        replaced.priority = 9;
        let added = user(
            "custom.reroute",
            &[FailureClass::Timeout, FailureClass::Oom],
        );
        let merged = merge(builtin.clone(), vec![replaced.clone(), added.clone()]);
        assert_eq!(merged.len(), builtin.len());
        let timeout = merged
            .iter()
            .find(|p| p.class == FailureClass::Timeout)
            .unwrap();
        let old = builtin
            .iter()
            .find(|p| p.class == FailureClass::Timeout)
            .unwrap();
        // Replaced in place, the rest kept, the new one appended.
        assert_eq!(timeout.strategies[0], replaced);
        assert_eq!(
            timeout.strategies[1..old.strategies.len()],
            old.strategies[1..]
        );
        assert_eq!(timeout.strategies.last(), Some(&added));
        let oom = merged
            .iter()
            .find(|p| p.class == FailureClass::Oom)
            .unwrap();
        assert_eq!(oom.strategies.last(), Some(&added));

        // Moving a strategy to another class removes it from the old one; the last one wins.
        let moved = user("timeout.raise-timeout", &[FailureClass::NotFound]);
        let merged = merge(builtin.clone(), vec![replaced, moved.clone()]);
        let all: Vec<&Strategy> = merged
            .iter()
            .flat_map(|p| &p.strategies)
            .filter(|s| s.id == "timeout.raise-timeout")
            .collect();
        assert_eq!(all, vec![&moved]);

        // A class without a playbook gets one, in class order.
        let merged = merge(
            Vec::new(),
            vec![
                user("a", &[FailureClass::Unknown]),
                user("b", &[FailureClass::Timeout]),
            ],
        );
        let classes: Vec<_> = merged.iter().map(|p| p.class).collect();
        assert_eq!(classes, vec![FailureClass::Timeout, FailureClass::Unknown]);
    }

    #[test]
    fn rank_orders_by_learned_mean_then_priority_then_id() {
        let playbooks = builtin_playbooks();
        let ids = |learned: &dyn Fn(&str) -> Learned| {
            rank(&playbooks, FailureClass::Timeout, learned)
                .into_iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
        };
        // No evidence: priority decides.
        assert_eq!(
            ids(&|_| Learned::default()),
            vec![
                "timeout.raise-timeout",
                "timeout.retry-with-backoff",
                "timeout.circuit-breaker"
            ]
        );
        // Evidence reorders: the breaker worked 4/4, raising the timeout failed 0/3.
        let learned = |id: &str| match id {
            "timeout.circuit-breaker" => Learned {
                successes: 4,
                failures: 0,
            },
            "timeout.raise-timeout" => Learned {
                successes: 0,
                failures: 3,
            },
            _ => Learned::default(),
        };
        assert_eq!(
            ids(&learned),
            vec![
                "timeout.circuit-breaker",
                "timeout.retry-with-backoff",
                "timeout.raise-timeout"
            ]
        );
        // Equal mean and priority: id decides; one id appears once even in two playbooks.
        let merged = merge(
            Vec::new(),
            vec![
                user("b", &[FailureClass::Oom, FailureClass::Timeout]),
                user("a", &[FailureClass::Oom]),
            ],
        );
        let ranked: Vec<_> = rank(&merged, FailureClass::Oom, &|_| Learned::default())
            .into_iter()
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(ranked, vec!["a", "b"]);
    }

    #[test]
    fn learned_mean_is_the_beta_posterior_mean() {
        assert_eq!(Learned::default().mean(), 0.5);
        assert_eq!(
            Learned {
                successes: 3,
                failures: 1
            }
            .mean(),
            4.0 / 6.0
        );
        assert_eq!(
            Learned {
                successes: 0,
                failures: 8
            }
            .mean(),
            0.1
        );
    }

    #[test]
    fn retry_impact_is_capped_by_the_recovered_share() {
        let playbooks = builtin_playbooks();
        let find = |id: &str| {
            playbooks
                .iter()
                .flat_map(|p| &p.strategies)
                .find(|s| s.id == id)
                .unwrap()
                .clone()
        };
        let retry = find("rate_limited.retry-with-backoff"); // prior 0.5..0.9
        let r = expected_impact(&retry, Some(0.1), 200);
        let cap = wilson(20, 200).unwrap().high;
        assert_eq!(r.high, round4(cap));
        assert_eq!(r.low, round4(cap));
        assert!(
            r.basis.contains("capped") && r.basis.contains("200"),
            "{}",
            r.basis
        );
        // A high share leaves the prior alone.
        let r = expected_impact(&retry, Some(0.95), 200);
        assert_eq!((r.low, r.high), (0.5, 0.9));
        // Few occurrences cap gently (the interval is wide).
        let r = expected_impact(&retry, Some(0.0), 2);
        assert!(r.high > 0.5, "{r:?}");
        // No evidence: the prior.
        let r = expected_impact(&retry, Some(0.0), 0);
        assert_eq!((r.low, r.high), (0.5, 0.9));
        assert!(r.basis.contains("prior"));
        // Non-retry strategies keep their prior.
        let raise = find("timeout.raise-timeout");
        let r = expected_impact(&raise, Some(0.0), 500);
        assert_eq!((r.low, r.high), (0.3, 0.8));
    }

    #[test]
    fn config_keys_and_values() {
        let playbooks = builtin_playbooks();
        let raise = &playbooks[0].strategies[0];
        assert_eq!(
            raise.config_key_for("fetch").as_deref(),
            Some("tools.fetch.timeout_ms")
        );
        assert_eq!(
            raise.config_key_for("mcp.fetch \"x\"").as_deref(),
            Some("tools.\"mcp.fetch \\\"x\\\"\".timeout_ms")
        );
        assert_eq!(raise.config_value(Some(30_000)), Some(60_000.into()));
        assert_eq!(raise.config_value(Some(200_000)), Some(300_000.into()));
        assert_eq!(raise.config_value(None), None);
        let retry = &playbooks[0].strategies[1];
        let v = retry.config_value(None).unwrap();
        assert_eq!(v["max_attempts"], 3);
        assert!(v.get("kind").is_none());
        let reroute = user("r", &[FailureClass::Oom]);
        assert_eq!(reroute.config_value(None), None);
    }

    #[test]
    fn actions_serialize_with_a_kind_tag() {
        let a = Action::ScaleDownPayload {
            factor: 0.5,
            min_batch: 2,
        };
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["kind"], "scale_down_payload");
        let back: Action = serde_json::from_value(json).unwrap();
        assert_eq!(back, a);
        assert!(a.summary().contains("50%"));
    }
}
