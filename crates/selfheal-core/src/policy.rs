//! The healing policy: what a person allows `watch --heal` to do without being asked, and
//! [`decide`], the one decision that applies it to a pattern (used by the healer, its dry run
//! and `self-heal policy` alike).
//!
//! This module is pure: it parses TOML *text* and decides from facts the caller gathered.
//!
//! # The policy file
//!
//! ```toml
//! auto_apply = true                         # default false: nothing automatic at all
//! classes = ["timeout", "rate_limited"]     # failure classes it may act on, or ["*"]
//! strategies = ["timeout.raise-timeout"]    # optional: only these strategies are applied
//! max_risk = "low"                          # low | medium | high (default low)
//! require_recommendation = "safe_to_apply"  # weakest simulation verdict still applied:
//!                                           # safe_to_apply | needs_canary | risky (default safe_to_apply)
//! rollback_on_regression = true             # default true
//! max_attempts = 3                          # failed attempts per pattern before BLOCK (1–20, default 3)
//! cooldown = "24h"                          # between attempts on one pattern (m, h, d, w; default 24h)
//! ```
//!
//! Unknown keys, values of the wrong type and out-of-range values are errors with the line
//! they are on. `auto_apply = true` needs a non-empty `classes`. Each decision cites the lines
//! that allowed it ([`Rule`]), and the audit trail records them.
//!
//! # What the policy does to a pattern ([`decide`])
//!
//! Nothing, when `auto_apply` is false or the pattern's class is not listed. Otherwise the
//! pattern's lifecycle history decides: a BLOCKed pattern, one with `max_attempts` failed
//! attempts, one whose newest improvement is open and not the policy's, verified (a fix in
//! place) or rejected (a person said no), or within `cooldown` of its last change is left
//! alone. Else the best strategy is proposed and tested (simulation); it is applied only when
//! it makes a real change (an edit of the declared config file), is allowed by `strategies`
//! and `max_risk`, and the test's recommendation is at least `require_recommendation`. Any
//! other proposal is announced for a person to decide. After a verification ([`on_verdict`]),
//! a regression of what the policy applied is rolled back when `rollback_on_regression`.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::classify::FailureClass;
use crate::lifecycle::{Actor, Status};
use crate::playbook::Risk;
use crate::time::{format_duration_ms, format_ms, parse_span};
use crate::verify::Verdict;

/// Default number of failed attempts on a pattern before it is BLOCKed.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
const MAX_ATTEMPTS_LIMIT: u32 = 20;
const DEFAULT_COOLDOWN: &str = "24h";

/// A test's recommendation, strongest first: `require_recommendation` names the weakest one
/// still applied. `reject` is never applied.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    SafeToApply,
    NeedsCanary,
    Risky,
    Reject,
}

impl Recommendation {
    pub fn as_str(self) -> &'static str {
        match self {
            Recommendation::SafeToApply => "safe_to_apply",
            Recommendation::NeedsCanary => "needs_canary",
            Recommendation::Risky => "risky",
            Recommendation::Reject => "reject",
        }
    }
}

/// The failure classes the policy may act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Classes {
    All,
    Only(Vec<FailureClass>),
}

impl Classes {
    pub fn contains(&self, class: FailureClass) -> bool {
        match self {
            Classes::All => true,
            Classes::Only(list) => list.contains(&class),
        }
    }
}

/// Where a setting comes from: its line in the policy file, or the default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Rule {
    pub setting: String,
    /// 1-based line in the policy file; absent for a default.
    pub line: Option<usize>,
    /// The line as written (trimmed), or `setting = default` for a default.
    pub text: String,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.text),
            None => write!(f, "default: {}", self.text),
        }
    }
}

/// Rules as one line of text, for notes and the audit trail.
pub fn rules_text(rules: &[Rule]) -> String {
    rules
        .iter()
        .map(Rule::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A parsed, validated policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Policy {
    pub auto_apply: bool,
    pub classes: Classes,
    /// Only these strategies are applied; absent: any.
    pub strategies: Option<Vec<String>>,
    pub max_risk: Risk,
    pub require_recommendation: Recommendation,
    pub rollback_on_regression: bool,
    pub max_attempts: u32,
    pub cooldown_ms: i64,
    /// Where each setting comes from, by setting name.
    pub rules: BTreeMap<String, Rule>,
}

impl Default for Policy {
    /// No policy: nothing automatic.
    fn default() -> Policy {
        let mut p = Policy {
            auto_apply: false,
            classes: Classes::Only(Vec::new()),
            strategies: None,
            max_risk: Risk::Low,
            require_recommendation: Recommendation::SafeToApply,
            rollback_on_regression: true,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            cooldown_ms: parse_span(DEFAULT_COOLDOWN).unwrap_or(86_400_000),
            rules: BTreeMap::new(),
        };
        for setting in SETTINGS {
            p.rules.insert(setting.to_string(), p.default_rule(setting));
        }
        p
    }
}

/// The settings, in the order they are documented.
pub const SETTINGS: [&str; 8] = [
    "auto_apply",
    "classes",
    "strategies",
    "max_risk",
    "require_recommendation",
    "rollback_on_regression",
    "max_attempts",
    "cooldown",
];

/// Why a policy file was refused: where (1-based line, when known) and what is accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}", .line.map(|l| format!("line {l}: ")).unwrap_or_default(), .message)]
pub struct PolicyError {
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    auto_apply: Option<toml::Spanned<bool>>,
    classes: Option<toml::Spanned<Vec<String>>>,
    strategies: Option<toml::Spanned<Vec<String>>>,
    max_risk: Option<toml::Spanned<String>>,
    require_recommendation: Option<toml::Spanned<String>>,
    rollback_on_regression: Option<toml::Spanned<bool>>,
    max_attempts: Option<toml::Spanned<i64>>,
    cooldown: Option<toml::Spanned<String>>,
}

/// 1-based line of byte offset `at`, and that line trimmed (capped for display).
fn line_at(text: &str, at: usize) -> (usize, String) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let source = text
        .get(start..)
        .and_then(|l| l.lines().next())
        .unwrap_or("")
        .trim();
    let source: String = if source.chars().count() > 120 {
        source.chars().take(119).chain(['…']).collect()
    } else {
        source.to_string()
    };
    (line, source)
}

impl Policy {
    /// Parses and validates a policy file's text (format in the module doc).
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let message = e
                .message()
                .trim_end()
                .replace('`', "")
                .replace("expected i64", "expected an integer");
            PolicyError {
                line: e.span().map(|s| line_at(text, s.start).0),
                message,
            }
        })?;
        let mut p = Policy::default();
        let mut note = |setting: &str, start: usize| {
            let (line, source) = line_at(text, start);
            p.rules.insert(
                setting.to_string(),
                Rule {
                    setting: setting.to_string(),
                    line: Some(line),
                    text: source,
                },
            );
            line
        };
        let mut line_of = BTreeMap::new();
        macro_rules! spanned {
            ($field:ident) => {
                raw.$field.map(|s| {
                    line_of.insert(stringify!($field), note(stringify!($field), s.span().start));
                    s.into_inner()
                })
            };
        }
        let auto_apply = spanned!(auto_apply);
        let classes = spanned!(classes);
        let strategies = spanned!(strategies);
        let max_risk = spanned!(max_risk);
        let require = spanned!(require_recommendation);
        let rollback = spanned!(rollback_on_regression);
        let max_attempts = spanned!(max_attempts);
        let cooldown = spanned!(cooldown);
        let err = |setting: &str, message: String| PolicyError {
            line: line_of.get(setting).copied(),
            message,
        };
        if let Some(v) = auto_apply {
            p.auto_apply = v;
        }
        if let Some(list) = classes {
            p.classes = parse_classes(&list).map_err(|m| err("classes", m))?;
        }
        if p.auto_apply && p.classes == Classes::Only(Vec::new()) {
            return Err(err(
                if line_of.contains_key("classes") {
                    "classes"
                } else {
                    "auto_apply"
                },
                "auto_apply = true needs `classes`: the failure classes the policy may act on (e.g. classes = [\"timeout\"]), or [\"*\"] for all".into(),
            ));
        }
        if let Some(list) = strategies {
            if list.is_empty() {
                return Err(err(
                    "strategies",
                    "`strategies` is empty, so nothing could ever be applied; leave it out to allow any strategy, or list strategy ids such as \"timeout.raise-timeout\"".into(),
                ));
            }
            if let Some(bad) = list.iter().find(|s| !is_strategy_id(s)) {
                return Err(err(
                    "strategies",
                    format!(
                        "{bad:?} is not a strategy id (letters, digits, '.', '_', '-'), such as \"timeout.raise-timeout\""
                    ),
                ));
            }
            p.strategies = Some(list);
        }
        if let Some(v) = max_risk {
            p.max_risk = match v.as_str() {
                "low" => Risk::Low,
                "medium" => Risk::Medium,
                "high" => Risk::High,
                other => {
                    return Err(err(
                        "max_risk",
                        format!(
                            "max_risk {other:?} is not a risk; use \"low\", \"medium\" or \"high\""
                        ),
                    ));
                }
            };
        }
        if let Some(v) = require {
            p.require_recommendation = match v.as_str() {
                "safe_to_apply" => Recommendation::SafeToApply,
                "needs_canary" => Recommendation::NeedsCanary,
                "risky" => Recommendation::Risky,
                "reject" => {
                    return Err(err(
                        "require_recommendation",
                        "require_recommendation cannot be \"reject\": a fix the test rejects is never applied; use \"safe_to_apply\", \"needs_canary\" or \"risky\"".into(),
                    ));
                }
                other => {
                    return Err(err(
                        "require_recommendation",
                        format!(
                            "require_recommendation {other:?} is not a recommendation; use \"safe_to_apply\", \"needs_canary\" or \"risky\" (the weakest test verdict still applied)"
                        ),
                    ));
                }
            };
        }
        if let Some(v) = rollback {
            p.rollback_on_regression = v;
        }
        if let Some(v) = max_attempts {
            p.max_attempts = u32::try_from(v)
                .ok()
                .filter(|n| (1..=MAX_ATTEMPTS_LIMIT).contains(n))
                .ok_or_else(|| {
                    err(
                        "max_attempts",
                        format!("max_attempts must be 1 to {MAX_ATTEMPTS_LIMIT}, got {v}"),
                    )
                })?;
        }
        if let Some(v) = cooldown {
            p.cooldown_ms =
                parse_span(&v).map_err(|m| err("cooldown", format!("cooldown {v:?}: {m}")))?;
        }
        Ok(p)
    }

    fn default_rule(&self, setting: &str) -> Rule {
        let value = match setting {
            "auto_apply" => self.auto_apply.to_string(),
            "classes" => "[]".into(),
            "strategies" => "any".into(),
            "max_risk" => format!("{:?}", self.max_risk.as_str()),
            "require_recommendation" => format!("{:?}", self.require_recommendation.as_str()),
            "rollback_on_regression" => self.rollback_on_regression.to_string(),
            "max_attempts" => self.max_attempts.to_string(),
            "cooldown" => format!("{DEFAULT_COOLDOWN:?}"),
            _ => String::new(),
        };
        Rule {
            setting: setting.to_string(),
            line: None,
            text: format!("{setting} = {value}"),
        }
    }

    /// Where `setting` comes from.
    pub fn rule(&self, setting: &str) -> Rule {
        self.rules
            .get(setting)
            .cloned()
            .unwrap_or_else(|| self.default_rule(setting))
    }

    fn rules_of(&self, settings: &[&str]) -> Vec<Rule> {
        settings.iter().map(|s| self.rule(s)).collect()
    }

    /// Whether the policy would apply `candidate` (its test aside): it makes a real change and
    /// `strategies` and `max_risk` allow it. `Ok` carries the rules that allow it, `Err` why not.
    pub fn allows_strategy(&self, candidate: &Candidate) -> Result<Vec<Rule>, String> {
        if candidate.change.is_none() {
            return Err(format!(
                "{} is advice only here: it makes no change to the declared config file, so a person applies it",
                candidate.strategy_id
            ));
        }
        let mut rules = Vec::new();
        if let Some(list) = &self.strategies {
            let rule = self.rule("strategies");
            if !list.contains(&candidate.strategy_id) {
                return Err(format!(
                    "strategy {} is not among the allowed strategies ({rule})",
                    candidate.strategy_id
                ));
            }
            rules.push(rule);
        }
        let rule = self.rule("max_risk");
        if candidate.risk > self.max_risk {
            return Err(format!(
                "strategy {} has risk {}, above max_risk ({rule})",
                candidate.strategy_id,
                candidate.risk.as_str()
            ));
        }
        rules.push(rule);
        Ok(rules)
    }
}

fn is_strategy_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn parse_classes(list: &[String]) -> Result<Classes, String> {
    if list.iter().any(|c| c == "*") {
        return if list.len() == 1 {
            Ok(Classes::All)
        } else {
            Err(
                "\"*\" already means every class; write classes = [\"*\"] alone, or list classes"
                    .into(),
            )
        };
    }
    let mut out = Vec::new();
    for name in list {
        let class = FailureClass::parse(name).ok_or_else(|| {
            format!(
                "{name:?} is not a failure class; use {} or \"*\"",
                FailureClass::ALL
                    .iter()
                    .map(|c| format!("{:?}", c.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        if !out.contains(&class) {
            out.push(class);
        }
    }
    Ok(Classes::Only(out))
}

/// The newest improvement of a pattern, as the decision needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Latest {
    pub id: String,
    pub status: Status,
    /// Who proposed it (`None` for improvements recorded before actors were).
    pub proposed_by: Option<Actor>,
    /// When it last changed, Unix ms.
    pub changed_ms: i64,
}

/// A pattern's lifecycle history, as the decision needs it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    pub latest: Option<Latest>,
    /// Improvements of the pattern that failed (rolled back, or verified as regressed).
    pub failed_attempts: u32,
    /// The reason of an open BLOCK escalation.
    pub blocked: Option<String>,
}

/// A strategy the policy might apply to a pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub strategy_id: String,
    pub risk: Risk,
    /// The edit it makes in the declared config file (`key = value`), when it makes one.
    pub change: Option<String>,
    /// The test's recommendation; `None` before the test.
    pub recommendation: Option<Recommendation>,
}

/// What the policy does with one pattern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Decision {
    /// Nothing automatic.
    Leave { reason: String },
    /// Propose (unless the policy's proposal is already there) and test; what follows depends
    /// on the test.
    Test { reason: String, rules: Vec<Rule> },
    /// Apply the candidate with its config edit.
    Apply { reason: String, rules: Vec<Rule> },
    /// Propose, test and announce it for a person to decide; nothing is applied.
    Announce { reason: String, rules: Vec<Rule> },
}

impl Decision {
    pub fn reason(&self) -> &str {
        match self {
            Decision::Leave { reason }
            | Decision::Test { reason, .. }
            | Decision::Apply { reason, .. }
            | Decision::Announce { reason, .. } => reason,
        }
    }

    /// The policy lines behind the decision (none for `Leave`).
    pub fn rules(&self) -> &[Rule] {
        match self {
            Decision::Leave { .. } => &[],
            Decision::Test { rules, .. }
            | Decision::Apply { rules, .. }
            | Decision::Announce { rules, .. } => rules,
        }
    }
}

/// What the policy does with one pattern of class `class`: see the module doc. `candidate` is
/// the strategy that would be (or was) proposed, with the test's recommendation once known.
pub fn decide(
    policy: &Policy,
    class: FailureClass,
    history: &History,
    candidate: Option<&Candidate>,
    now_ms: i64,
) -> Decision {
    let leave = |reason: String| Decision::Leave { reason };
    if !policy.auto_apply {
        return leave(format!(
            "nothing is automatic ({})",
            policy.rule("auto_apply")
        ));
    }
    if !policy.classes.contains(class) {
        return leave(format!(
            "class {} is not in the policy ({})",
            class.as_str(),
            policy.rule("classes")
        ));
    }
    if let Some(reason) = &history.blocked {
        return leave(format!("BLOCKed ({reason}); a person must override"));
    }
    if history.failed_attempts >= policy.max_attempts {
        return leave(format!(
            "{} failed attempt(s), the most the policy allows ({})",
            history.failed_attempts,
            policy.rule("max_attempts")
        ));
    }
    let mut resuming = false;
    if let Some(latest) = &history.latest {
        let by_policy = latest.proposed_by == Some(Actor::Policy);
        let who = latest.proposed_by.map_or("someone", Actor::as_str);
        match latest.status {
            Status::Proposed | Status::Tested if !by_policy => {
                return leave(format!(
                    "{} ({}) was proposed by {who}; it is theirs to finish",
                    latest.id,
                    latest.status.as_str()
                ));
            }
            Status::Proposed | Status::Tested => resuming = true,
            Status::Applied => {
                return leave(format!(
                    "{} is applied; verification decides what follows",
                    latest.id
                ));
            }
            Status::Verified => {
                return leave(format!("{} is verified: its fix is in place", latest.id));
            }
            Status::Rejected => {
                return leave(format!(
                    "{} was rejected; a person decides what follows",
                    latest.id
                ));
            }
            Status::RolledBack => {
                let until = latest.changed_ms.saturating_add(policy.cooldown_ms);
                if now_ms < until {
                    return leave(format!(
                        "cooling down after {} was rolled back: next attempt from {} ({}, {} left)",
                        latest.id,
                        format_ms(until),
                        policy.rule("cooldown"),
                        format_duration_ms(until - now_ms)
                    ));
                }
            }
        }
    }
    let base = policy.rules_of(&["auto_apply", "classes"]);
    let Some(candidate) = candidate else {
        return Decision::Test {
            reason: if resuming {
                "the policy's own proposal is not finished: test it, then apply it if allowed"
                    .into()
            } else {
                "propose the best strategy, test it, and apply it if allowed".into()
            },
            rules: base,
        };
    };
    let allowed = match policy.allows_strategy(candidate) {
        Ok(rules) => rules,
        Err(reason) => {
            return Decision::Announce {
                reason,
                rules: base,
            };
        }
    };
    let required = policy.rule("require_recommendation");
    match candidate.recommendation {
        None => Decision::Test {
            reason: format!(
                "propose and test {}; apply it if the test recommends {} or better",
                candidate.strategy_id,
                policy.require_recommendation.as_str()
            ),
            rules: base,
        },
        Some(Recommendation::Reject) => Decision::Announce {
            reason: format!(
                "the test recommends rejecting {}; it is never applied automatically",
                candidate.strategy_id
            ),
            rules: base,
        },
        Some(r) if r > policy.require_recommendation => Decision::Announce {
            reason: format!(
                "the test recommends {} for {}, weaker than required ({required})",
                r.as_str(),
                candidate.strategy_id
            ),
            rules: base,
        },
        Some(r) => {
            let mut rules = base;
            rules.extend(allowed);
            rules.push(required);
            Decision::Apply {
                reason: format!(
                    "apply {} ({}; the test recommends {})",
                    candidate.strategy_id,
                    candidate.change.as_deref().unwrap_or("config edit"),
                    r.as_str()
                ),
                rules,
            }
        }
    }
}

/// What follows a verification of an improvement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AfterVerification {
    Keep { reason: String },
    RollBack { reason: String, rules: Vec<Rule> },
    Leave { reason: String },
}

/// What the policy does after a verification with `verdict` of an improvement applied by
/// `applied_by`: it rolls back only what it applied itself, and only on a regression.
pub fn on_verdict(
    policy: &Policy,
    verdict: Verdict,
    applied_by: Option<Actor>,
) -> AfterVerification {
    match verdict {
        Verdict::Verified => AfterVerification::Keep {
            reason: "verified: the fix is kept".into(),
        },
        Verdict::Regressed if applied_by != Some(Actor::Policy) => AfterVerification::Leave {
            reason: format!(
                "regressed, but applied by {}: a person decides on the rollback",
                applied_by.map_or("someone", Actor::as_str)
            ),
        },
        Verdict::Regressed if !policy.rollback_on_regression => AfterVerification::Leave {
            reason: format!(
                "regressed; automatic rollback is off ({})",
                policy.rule("rollback_on_regression")
            ),
        },
        Verdict::Regressed => AfterVerification::RollBack {
            reason: "regressed: the policy's change is rolled back".into(),
            rules: vec![policy.rule("rollback_on_regression")],
        },
        Verdict::NoSignificantChange | Verdict::InsufficientData => AfterVerification::Leave {
            reason: "not conclusive: monitoring goes on".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000_000;
    const HOUR: i64 = 3_600_000;

    const FULL: &str = r#"# healing policy
auto_apply = true
classes = ["timeout"]
max_risk = "low"
require_recommendation = "safe_to_apply"
rollback_on_regression = true
max_attempts = 2
cooldown = "6h"
"#;

    fn policy(text: &str) -> Policy {
        Policy::parse(text).unwrap()
    }

    fn candidate(change: bool, risk: Risk, rec: Option<Recommendation>) -> Candidate {
        Candidate {
            strategy_id: "timeout.raise-timeout".into(),
            risk,
            change: change.then(|| "tools.x.timeout_ms = 60000".into()),
            recommendation: rec,
        }
    }

    fn latest(status: Status, by: Actor, changed_ms: i64) -> Option<Latest> {
        Some(Latest {
            id: "imp-1".into(),
            status,
            proposed_by: Some(by),
            changed_ms,
        })
    }

    #[test]
    fn a_full_policy_parses_with_its_lines() {
        let p = policy(FULL);
        assert!(p.auto_apply);
        assert_eq!(p.classes, Classes::Only(vec![FailureClass::Timeout]));
        assert_eq!(p.max_attempts, 2);
        assert_eq!(p.cooldown_ms, 6 * HOUR);
        assert_eq!(
            p.rule("classes").to_string(),
            "line 3: classes = [\"timeout\"]"
        );
        assert_eq!(
            p.rule("strategies").to_string(),
            "default: strategies = any"
        );
        assert_eq!(
            rules_text(&[p.rule("auto_apply"), p.rule("max_risk")]),
            "line 2: auto_apply = true; line 4: max_risk = \"low\""
        );
    }

    #[test]
    fn no_policy_and_an_empty_file_allow_nothing() {
        for p in [Policy::default(), policy("")] {
            assert!(!p.auto_apply);
            assert_eq!(p.max_risk, Risk::Low);
            assert_eq!(p.require_recommendation, Recommendation::SafeToApply);
            assert!(p.rollback_on_regression);
            assert_eq!(p.max_attempts, DEFAULT_MAX_ATTEMPTS);
            assert_eq!(p.cooldown_ms, 24 * HOUR);
            let d = decide(&p, FailureClass::Timeout, &History::default(), None, NOW);
            assert!(matches!(d, Decision::Leave { .. }), "{d:?}");
            assert!(d.reason().contains("auto_apply = false"), "{d:?}");
        }
    }

    #[test]
    fn bad_policies_are_refused_with_their_line() {
        let cases: [(&str, Option<usize>, &str); 13] = [
            ("auto_apply = \"yes\"", Some(1), "invalid type"),
            (
                "auto_aply = true",
                Some(1),
                "expected one of auto_apply, classes",
            ),
            ("max_attempts = \"3\"", Some(1), "expected an integer"),
            ("auto_apply = true", Some(1), "needs `classes`"),
            (
                "auto_apply = true\nclasses = []",
                Some(2),
                "needs `classes`",
            ),
            ("classes = [\"timeouts\"]", Some(1), "not a failure class"),
            ("classes = [\"*\", \"timeout\"]", Some(1), "alone"),
            ("\nmax_risk = \"none\"", Some(2), "not a risk"),
            (
                "require_recommendation = \"reject\"",
                Some(1),
                "never applied",
            ),
            (
                "require_recommendation = \"ok\"",
                Some(1),
                "not a recommendation",
            ),
            ("max_attempts = 0", Some(1), "1 to 20"),
            ("cooldown = \"soon\"", Some(1), "not a span"),
            ("strategies = []", Some(1), "is empty"),
        ];
        for (text, line, needle) in cases {
            let e = Policy::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
        assert_eq!(
            policy("classes = [\"*\"]").classes,
            Classes::All,
            "the wildcard"
        );
    }

    #[test]
    fn mangled_policies_are_refused_with_a_line_inside_the_file() {
        // Every prefix, and every byte replaced by characters TOML cares about: never a panic,
        // and every refusal says what is wrong, at a line the file has.
        let check = |text: &str, refused: &mut usize| {
            if let Err(e) = Policy::parse(text) {
                *refused += 1;
                assert!(!e.message.is_empty(), "{text:?}");
                let lines = text.lines().count().max(1) + 1;
                assert!(e.line.is_none_or(|l| l >= 1 && l <= lines), "{text:?}: {e}");
            }
        };
        let mut refused = 0;
        for end in 0..=FULL.len() {
            if let Some(prefix) = FULL.get(..end) {
                check(prefix, &mut refused);
            }
        }
        for (i, _) in FULL.char_indices() {
            for junk in [
                "\"",
                "[",
                "=",
                "\n",
                "\u{0}",
                "é",
                "-",
                "9999999999999999999999",
            ] {
                let mut text = FULL.to_string();
                text.replace_range(i..i + 1, junk);
                check(&text, &mut refused);
            }
        }
        assert!(
            refused > FULL.len(),
            "most mangled files are refused ({refused})"
        );
    }

    /// The decision table: (policy, class, history, candidate) → decision kind and a phrase.
    #[test]
    fn the_decision_table() {
        let p = policy(FULL);
        let off = policy("auto_apply = false\nclasses = [\"timeout\"]");
        let canary = policy(&format!("{FULL}\n").replace(
            "require_recommendation = \"safe_to_apply\"",
            "require_recommendation = \"needs_canary\"",
        ));
        let only_retry = policy(&format!(
            "{FULL}strategies = [\"timeout.retry-with-backoff\"]\n"
        ));
        let medium = policy(&FULL.replace("max_risk = \"low\"", "max_risk = \"medium\""));
        let safe = Some(Recommendation::SafeToApply);
        let fresh = History::default();
        let rolled = |hours_ago: i64| History {
            latest: latest(Status::RolledBack, Actor::Policy, NOW - hours_ago * HOUR),
            failed_attempts: 1,
            blocked: None,
        };
        let with = |status, by| History {
            latest: latest(status, by, NOW - HOUR),
            failed_attempts: 0,
            blocked: None,
        };
        let t = FailureClass::Timeout;
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            &Policy,
            FailureClass,
            History,
            Option<Candidate>,
            &str,
            &str,
        )> = vec![
            (&off, t, fresh.clone(), None, "leave", "auto_apply = false"),
            (
                &p,
                FailureClass::NotFound,
                fresh.clone(),
                None,
                "leave",
                "not_found is not in the policy",
            ),
            (
                &p,
                t,
                fresh.clone(),
                None,
                "test",
                "propose the best strategy",
            ),
            (
                &p,
                t,
                fresh.clone(),
                Some(candidate(true, Risk::Low, None)),
                "test",
                "apply it if the test recommends safe_to_apply",
            ),
            (
                &p,
                t,
                fresh.clone(),
                Some(candidate(true, Risk::Low, safe)),
                "apply",
                "tools.x.timeout_ms = 60000",
            ),
            (
                &p,
                t,
                fresh.clone(),
                Some(candidate(false, Risk::Low, safe)),
                "announce",
                "advice only",
            ),
            (
                &p,
                t,
                fresh.clone(),
                Some(candidate(true, Risk::Medium, safe)),
                "announce",
                "above max_risk (line 4",
            ),
            (
                &medium,
                t,
                fresh.clone(),
                Some(candidate(true, Risk::Medium, safe)),
                "apply",
                "safe_to_apply",
            ),
            (
                &only_retry,
                t,
                fresh.clone(),
                Some(candidate(true, Risk::Low, safe)),
                "announce",
                "not among the allowed strategies (line 9",
            ),
            (
                &p,
                t,
                fresh.clone(),
                Some(candidate(
                    true,
                    Risk::Low,
                    Some(Recommendation::NeedsCanary),
                )),
                "announce",
                "weaker than required (line 5",
            ),
            (
                &canary,
                t,
                fresh.clone(),
                Some(candidate(
                    true,
                    Risk::Low,
                    Some(Recommendation::NeedsCanary),
                )),
                "apply",
                "needs_canary",
            ),
            (
                &canary,
                t,
                fresh.clone(),
                Some(candidate(true, Risk::Low, Some(Recommendation::Risky))),
                "announce",
                "weaker than required",
            ),
            (
                &p,
                t,
                fresh.clone(),
                Some(candidate(true, Risk::Low, Some(Recommendation::Reject))),
                "announce",
                "never applied",
            ),
            (
                &p,
                t,
                History {
                    blocked: Some("3 failed".into()),
                    ..fresh.clone()
                },
                None,
                "leave",
                "BLOCKed (3 failed)",
            ),
            (
                &p,
                t,
                History {
                    failed_attempts: 2,
                    ..rolled(48)
                },
                None,
                "leave",
                "max_attempts = 2",
            ),
            (&p, t, rolled(1), None, "leave", "cooling down"),
            (&p, t, rolled(7), None, "test", "propose the best strategy"),
            (
                &p,
                t,
                with(Status::Proposed, Actor::Agent),
                None,
                "leave",
                "proposed by agent",
            ),
            (
                &p,
                t,
                with(Status::Tested, Actor::Person),
                None,
                "leave",
                "theirs to finish",
            ),
            (
                &p,
                t,
                with(Status::Proposed, Actor::Policy),
                None,
                "test",
                "not finished",
            ),
            (
                &p,
                t,
                with(Status::Tested, Actor::Policy),
                Some(candidate(true, Risk::Low, safe)),
                "apply",
                "apply timeout.raise-timeout",
            ),
            (
                &p,
                t,
                with(Status::Applied, Actor::Policy),
                None,
                "leave",
                "verification decides",
            ),
            (
                &p,
                t,
                with(Status::Verified, Actor::Policy),
                None,
                "leave",
                "fix is in place",
            ),
            (
                &p,
                t,
                with(Status::Rejected, Actor::Policy),
                None,
                "leave",
                "rejected",
            ),
        ];
        for (i, (policy, class, history, cand, kind, needle)) in cases.into_iter().enumerate() {
            let d = decide(policy, class, &history, cand.as_ref(), NOW);
            let got = match &d {
                Decision::Leave { .. } => "leave",
                Decision::Test { .. } => "test",
                Decision::Apply { .. } => "apply",
                Decision::Announce { .. } => "announce",
            };
            assert_eq!(got, kind, "case {i}: {d:?}");
            assert!(d.reason().contains(needle), "case {i}: {d:?}");
        }
    }

    #[test]
    fn an_apply_cites_every_line_that_allowed_it() {
        let p = policy(&format!("{FULL}strategies = [\"timeout.raise-timeout\"]\n"));
        let c = candidate(true, Risk::Low, Some(Recommendation::SafeToApply));
        let d = decide(
            &p,
            FailureClass::Timeout,
            &History::default(),
            Some(&c),
            NOW,
        );
        let lines: Vec<Option<usize>> = d.rules().iter().map(|r| r.line).collect();
        assert_eq!(
            lines,
            [Some(2), Some(3), Some(9), Some(4), Some(5)],
            "{d:?}"
        );
    }

    #[test]
    fn after_a_verification() {
        let p = policy(FULL);
        let no_rollback = policy(&FULL.replace(
            "rollback_on_regression = true",
            "rollback_on_regression = false",
        ));
        let kind = |a: AfterVerification| match a {
            AfterVerification::Keep { .. } => "keep",
            AfterVerification::RollBack { .. } => "rollback",
            AfterVerification::Leave { .. } => "leave",
        };
        let policy_actor = Some(Actor::Policy);
        assert_eq!(
            kind(on_verdict(&p, Verdict::Verified, policy_actor)),
            "keep"
        );
        assert_eq!(
            kind(on_verdict(&p, Verdict::Regressed, policy_actor)),
            "rollback"
        );
        assert_eq!(
            kind(on_verdict(&p, Verdict::Regressed, Some(Actor::Person))),
            "leave"
        );
        assert_eq!(
            kind(on_verdict(&no_rollback, Verdict::Regressed, policy_actor)),
            "leave"
        );
        assert_eq!(
            kind(on_verdict(&p, Verdict::InsufficientData, policy_actor)),
            "leave"
        );
        match on_verdict(&p, Verdict::Regressed, policy_actor) {
            AfterVerification::RollBack { rules, .. } => {
                assert_eq!(
                    rules[0].to_string(),
                    "line 6: rollback_on_regression = true"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
