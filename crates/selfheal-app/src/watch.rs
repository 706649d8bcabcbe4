//! One pass of the `watch` daemon: announce new patterns, run the verifications that are due,
//! announce stalled runs — and with `--heal`, act under the healing policy: propose, test and
//! apply the fixes it allows, roll back the ones it applied that regressed. The loop, its
//! interval, the healer's lock and signal handling live in the CLI.
//!
//! Each pass, in order: detection and its notes; every applied improvement (verified when due;
//! one the policy applied whose verification says `regressed` is rolled back, the newest apply
//! first so stacked edits of one config file restore byte for byte); then each detected
//! pattern the policy covers (`policy::App::plan_pattern` decides; the healer carries the
//! decision out); then stalled runs. Every transition the healer makes is audited with actor
//! `policy` and the policy lines that allowed it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use selfheal_core::lifecycle::{Actor, Status};
use selfheal_core::pattern::Pattern;
use selfheal_core::policy::{AfterVerification, Decision, decide, on_verdict, rules_text};
use selfheal_core::time::parse_timestamp;
use selfheal_core::verify::Verdict;
use selfheal_store::lifecycle::LifecycleStore;

use crate::App;

/// How long after a verification a due improvement is verified again by `watch`.
const REVERIFY_AFTER_MS: i64 = 24 * 3_600_000;
use crate::args::{
    ApplyArgs, CloseArgs, DetectArgs, ProposeArgs, StalledArgs, TestArgs, VerifyArgs,
};
use crate::error::AppError;
use crate::inbox::{Note, Priority, code};
use crate::lifecycle::NOTE_TEXT_MAX;
use crate::lifecycle::{By, ConfirmedEdit};
use crate::policy::{
    HealLock, LoadedPolicy, recommendation_of, stored_recommendation, stored_verdict,
};
use crate::sanitize::{self, NAME_MAX};

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WatchReport {
    pub patterns_seen: u64,
    /// Patterns announced in the inbox by this pass (others were within their cooldown).
    pub patterns_announced: Vec<String>,
    /// (improvement id, verdict) of the verifications run.
    pub verified: Vec<(String, String)>,
    pub stalled_announced: Vec<String>,
    /// What the healer did (only with `--heal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heal: Option<HealReport>,
    /// Problems met; the pass goes on after each.
    pub errors: Vec<String>,
}

/// What the healer did in one pass.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealReport {
    pub policy_file: Option<String>,
    /// Hex sha256 of the policy acted under.
    pub policy_sha256: Option<String>,
    /// Why the healer took no automatic action in this pass (kill switch, another healer, no
    /// or an invalid policy); detection and verification went on.
    pub inactive: Option<String>,
    /// Improvements the policy proposed and tested.
    pub proposed: Vec<HealAction>,
    /// Fixes applied with their config edit.
    pub applied: Vec<HealAction>,
    /// Proposals left for a person (advice only, not allowed, or a weak simulation).
    pub announced: Vec<HealAction>,
    /// Verified fixes kept.
    pub kept: Vec<HealAction>,
    /// Regressed fixes rolled back.
    pub rolled_back: Vec<HealAction>,
    /// Patterns the policy left alone, and why.
    pub left: Vec<HealAction>,
}

/// One thing the healer did or declined.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealAction {
    pub pattern_id: String,
    pub improvement_id: Option<String>,
    pub detail: String,
}

/// The heal report of a pass, created on first use.
fn heal(r: &mut WatchReport) -> &mut HealReport {
    r.heal.get_or_insert_with(HealReport::default)
}

/// Whether this pass may heal.
pub enum Healer<'a> {
    /// Plain `watch`.
    Off,
    /// `watch --heal` holding the one-healer lock.
    Holding(&'a HealLock),
    /// `watch --heal` without the lock (another healer runs): detects only; the reason.
    Waiting(String),
}

/// The policy a pass acts under, when it may act.
struct Acting {
    loaded: LoadedPolicy,
}

impl App {
    /// Runs one pass of plain `watch`. Never fails: problems (a locked or missing database, an
    /// unwritable inbox) are reported in `errors` and the next pass tries again.
    pub fn watch_pass(&self) -> WatchReport {
        self.watch_pass_with(&Healer::Off)
    }

    /// Runs one pass, healing under the policy when `healer` holds the lock. Never fails.
    pub fn watch_pass_with(&self, healer: &Healer<'_>) -> WatchReport {
        let mut report = WatchReport::default();
        let mut quiet = |_: u64, _: u64| {};
        let detected = match self.detect_failure_patterns(&DetectArgs::for_healing(), &mut quiet) {
            Ok(d) => d,
            Err(e) => {
                report.errors.push(format!("detect: {e}"));
                return report;
            }
        };
        report.patterns_seen = detected.patterns.len() as u64;
        let mut db = match self.lifecycle_db() {
            Ok(db) => Some(db),
            Err(e) => {
                report.errors.push(format!(
                    "lifecycle state unavailable (notes without cooldown are skipped): {e}"
                ));
                None
            }
        };
        if let Some(db) = db.as_mut() {
            for p in &detected.patterns {
                // The fix is worded again with the names as inline code: the structured
                // suggestion names the tool in plain backticks, which a hostile name could close.
                let subject = match &p.program {
                    Some(program) => format!(
                        "{} run through {}",
                        code(program, NAME_MAX),
                        code(&p.tool_name, NAME_MAX)
                    ),
                    None => code(&p.tool_name, NAME_MAX),
                };
                let fix = selfheal_core::pattern::suggest_fix(
                    p.classification.class,
                    &subject,
                    &p.recovery,
                    p.templates.first().map(|t| t.template_id),
                );
                let note = Note {
                    tags: vec!["self-heal".into(), "patterns".into()],
                    priority: Priority::High,
                    message: format!(
                        "Pattern {}: {} failures in {} runs over the last 7 days (class {}, confidence {:.2}). {fix}",
                        code(&p.id, NAME_MAX),
                        p.occurrences,
                        p.affected_run_count,
                        p.classification.class.as_str(),
                        p.confidence,
                    ),
                };
                let outcome = self.notify(&mut **db, Some(&format!("pattern:{}", p.id)), note);
                if outcome.written {
                    report.patterns_announced.push(p.id.clone());
                } else if let Some(reason) = outcome.reason.filter(|r| !r.starts_with("cooldown")) {
                    report.errors.push(format!("note for {}: {reason}", p.id));
                }
            }
        }
        let acting = self.acting(healer, &mut report);
        if let Some(db) = db.as_mut() {
            self.verify_due(&mut **db, acting.as_ref(), &mut report);
            if let Some(acting) = &acting {
                for p in &detected.patterns {
                    if let Err(e) = self.heal_pattern(&mut **db, acting, p, &mut report) {
                        report.errors.push(format!("heal {}: {e}", p.id));
                    }
                }
            }
        }
        match self.detect_stalled_runs(&StalledArgs::default(), &mut quiet) {
            Ok(stalled) => {
                if let Some(db) = db.as_mut() {
                    for s in stalled.stalled {
                        let note = Note {
                            tags: vec!["self-heal".into(), "stalled".into()],
                            priority: Priority::High,
                            message: format!(
                                "Run {} of {} is still running but has had no event for {} (last: {}).",
                                code(&s.run_id, NAME_MAX),
                                code(&s.agent, NAME_MAX),
                                s.stalled_for,
                                s.last_event_type
                                    .as_deref()
                                    .map_or_else(|| "none".to_string(), |t| code(t, NAME_MAX))
                            ),
                        };
                        if self
                            .notify(&mut **db, Some(&format!("stalled:{}", s.run_id)), note)
                            .written
                        {
                            report.stalled_announced.push(s.run_id);
                        }
                    }
                }
            }
            Err(e) => report.errors.push(format!("stalled runs: {e}")),
        }
        report
    }

    /// Whether this pass acts under the policy, saying why not in the heal report.
    fn acting(&self, healer: &Healer<'_>, report: &mut WatchReport) -> Option<Acting> {
        let waiting = match healer {
            Healer::Off => return None,
            Healer::Holding(_) => None,
            Healer::Waiting(why) => Some(why.clone()),
        };
        let heal = report.heal.get_or_insert_with(HealReport::default);
        let loaded = match self.load_policy() {
            Ok(Some(l)) => l,
            Ok(None) => {
                heal.inactive =
                    Some("no policy: SELFHEAL_POLICY is not set, so nothing is automatic".into());
                return None;
            }
            Err(e) => {
                heal.inactive = Some(format!(
                    "the policy is not valid, so nothing is automatic: {e}"
                ));
                report.errors.push(format!("policy: {e}"));
                return None;
            }
        };
        heal.policy_file = Some(loaded.path.display().to_string());
        heal.policy_sha256 = Some(loaded.sha256.clone());
        if let Some(why) = waiting.or_else(|| self.paused()) {
            heal.inactive = Some(why);
            return None;
        }
        Some(Acting { loaded })
    }

    /// Verifies the applied improvements that are due and, acting under the policy, rolls back
    /// those it applied whose verification says `regressed`.
    fn verify_due(
        &self,
        db: &mut dyn LifecycleStore,
        acting: Option<&Acting>,
        report: &mut WatchReport,
    ) {
        let mut quiet = |_: u64, _: u64| {};
        let now = self.now_ms();
        let applied = match db.list(Some("applied"), 100, None) {
            Ok(rows) => rows,
            Err(e) => {
                report
                    .errors
                    .push(format!("list applied improvements: {e}"));
                return;
            }
        };
        let mut regressed = Vec::new();
        for row in applied {
            let applied_by = match db.actor_of(&row.id, "apply") {
                Ok(a) => a,
                Err(e) => {
                    report.errors.push(format!("audit of {}: {e}", row.id));
                    None
                }
            };
            let by = match acting {
                Some(a) if applied_by == Some(Actor::Policy) => By {
                    rolls_back: a.loaded.policy.rollback_on_regression,
                    ..By::policy(rules_text(&[a.loaded.policy.rule("auto_apply")]))
                },
                _ => By {
                    actor: Actor::Watch,
                    rule: None,
                    rolls_back: false,
                },
            };
            let due = row
                .verification_due_at
                .as_deref()
                .and_then(parse_timestamp)
                .is_some_and(|d| d <= now);
            // Verified at most once a day after the first verdict: an improvement stays
            // `applied` until someone keeps or rolls it back, and every verification is an
            // audited transition.
            let settled_recently = row.verification.is_some()
                && row
                    .updated_at
                    .as_deref()
                    .and_then(parse_timestamp)
                    .is_some_and(|u| now - u < REVERIFY_AFTER_MS);
            let verdict = if due && !settled_recently {
                let args = VerifyArgs {
                    improvement_id: row.id.clone(),
                    measurement_window_days: 7,
                };
                match self.verify_as(&args, &mut quiet, &by) {
                    Ok(v) => {
                        report
                            .verified
                            .push((row.id.clone(), format!("{:?}", v.verification_status)));
                        Some(v.verification_status)
                    }
                    Err(e) => {
                        report.errors.push(format!("verify {}: {e}", row.id));
                        None
                    }
                }
            } else {
                // A regression found earlier (e.g. while paused, or on an earlier pass today)
                // is still acted on.
                stored_verdict(&row)
            };
            let (Some(acting), Some(verdict)) = (acting, verdict) else {
                continue;
            };
            let heal = report.heal.get_or_insert_with(HealReport::default);
            let action = |detail: String| HealAction {
                pattern_id: row.pattern_id.clone().unwrap_or_default(),
                improvement_id: Some(row.id.clone()),
                detail,
            };
            match on_verdict(&acting.loaded.policy, verdict, applied_by) {
                AfterVerification::Keep { reason }
                    if due && !settled_recently && verdict == Verdict::Verified =>
                {
                    heal.kept.push(action(reason))
                }
                AfterVerification::RollBack { reason, rules } => {
                    regressed.push((row.applied_at.clone(), row.clone(), reason, rules))
                }
                _ => {}
            }
        }
        // Newest apply first: edits stacked on one config file come off in reverse order.
        regressed.sort_by(|a, b| b.0.cmp(&a.0));
        for (_, row, reason, rules) in regressed {
            let args = CloseArgs {
                improvement_id: row.id.clone(),
                reason: Some(reason.clone()),
                force: false,
            };
            let heal = || HealAction {
                pattern_id: row.pattern_id.clone().unwrap_or_default(),
                improvement_id: Some(row.id.clone()),
                detail: String::new(),
            };
            match self.rollback_as(&args, &mut quiet, &By::policy(rules_text(&rules))) {
                Ok(v) => report
                    .heal
                    .get_or_insert_with(HealReport::default)
                    .rolled_back
                    .push(HealAction {
                        detail: format!(
                            "{reason}{}",
                            if v.config_restored == Some(true) {
                                "; config file restored byte for byte"
                            } else {
                                ""
                            }
                        ),
                        ..heal()
                    }),
                Err(e) => {
                    report.errors.push(format!("roll back {}: {e}", row.id));
                    // A regression the policy caused and could not undo: a person must act.
                    let note = Note {
                        tags: vec!["self-heal".into(), "rollback".into(), "failed".into()],
                        priority: Priority::Urgent,
                        message: format!(
                            "{} ({}) regressed and the healing policy could not roll it back: {}. A person must restore it.",
                            code(&row.id, NAME_MAX),
                            row.pattern_id
                                .as_deref()
                                .map_or_else(|| "?".to_string(), |p| code(p, NAME_MAX)),
                            sanitize::line(&e.to_string(), NOTE_TEXT_MAX)
                        ),
                    };
                    self.notify(db, Some(&format!("heal:rollback-failed:{}", row.id)), note);
                }
            }
        }
    }

    /// Carries out the policy's decision for one detected pattern.
    fn heal_pattern(
        &self,
        db: &mut dyn LifecycleStore,
        acting: &Acting,
        pattern: &Pattern,
        report: &mut WatchReport,
    ) -> Result<(), AppError> {
        let policy = &acting.loaded.policy;
        let now = self.now_ms();
        let class = pattern.classification.class;
        let mut quiet = |_: u64, _: u64| {};
        let action = |id: Option<&str>, detail: String| HealAction {
            pattern_id: pattern.id.clone(),
            improvement_id: id.map(str::to_string),
            detail,
        };
        let (history, latest) = self.pattern_history(db, &pattern.id)?;
        let first = decide(policy, class, &history, None, now);
        let Decision::Test { rules, .. } = &first else {
            heal(report).left.push(action(
                history.latest.as_ref().map(|l| l.id.as_str()),
                first.reason().to_string(),
            ));
            return Ok(());
        };
        let by = By::policy(rules_text(rules));
        // The policy's unfinished proposal continues; otherwise propose, preferring a strategy
        // the policy may apply.
        let resume = latest.filter(|r| {
            matches!(r.status.as_str(), "proposed" | "tested")
                && history.latest.as_ref().and_then(|l| l.proposed_by) == Some(Actor::Policy)
        });
        let row = match resume {
            Some(row) => row,
            None => {
                let wanted = |s: &selfheal_core::playbook::Strategy| {
                    let (c, _) = self.candidate(s, &pattern.id, None, &mut Vec::new());
                    policy.allows_strategy(&c).is_ok()
                };
                let args = ProposeArgs {
                    pattern_id: pattern.id.clone(),
                    since: "-30d".into(),
                };
                let proposed = self.propose_as(&args, &mut quiet, &by, Some(&wanted))?;
                heal(report).proposed.push(action(
                    Some(&proposed.improvement_id),
                    format!("strategy {}", proposed.strategy.id),
                ));
                db.get(&proposed.improvement_id)?.ok_or_else(|| {
                    AppError::Internal(format!("{} vanished", proposed.improvement_id))
                })?
            }
        };
        let recommendation = match (Status::parse(&row.status), stored_recommendation(&row)) {
            (Some(Status::Tested), Some(r)) => r,
            _ => {
                let args = TestArgs {
                    improvement_id: row.id.clone(),
                    mode: "simulation".into(),
                };
                recommendation_of(&self.test_as(&args, &mut quiet, &by)?.recommendation)
            }
        };
        let strategy = row
            .strategy_id
            .as_deref()
            .and_then(|id| self.strategy(id))
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "the strategy {:?} of {} is in no playbook",
                    row.strategy_id, row.id
                ))
            })?;
        let mut problems = Vec::new();
        let (candidate, previewed) =
            self.candidate(&strategy, &pattern.id, Some(recommendation), &mut problems);
        report
            .errors
            .extend(problems.into_iter().map(|p| format!("heal {p}")));
        let (history, _) = self.pattern_history(db, &pattern.id)?;
        match decide(policy, class, &history, Some(&candidate), now) {
            Decision::Apply { reason, rules } => {
                let change = candidate.change.clone().unwrap_or_default();
                let args = ApplyArgs {
                    improvement_id: row.id.clone(),
                    changes_made: format!(
                        "set {change} in the config file (healing policy, {})",
                        strategy.id
                    ),
                    commit_hash: None,
                    applied_at: None,
                    config_action: Some("apply".into()),
                    config_path: None,
                    override_block: false,
                };
                // Exactly the edit the decision saw: if the file changes in between, nothing
                // is written and the next pass decides again.
                let confirmed = previewed.as_ref().map(|p| ConfirmedEdit {
                    before_sha256: p.before_sha256.clone(),
                    after_sha256: p.after_sha256.clone(),
                });
                let applied = self.apply_as(
                    &args,
                    confirmed.as_ref(),
                    &mut quiet,
                    &By::policy(rules_text(&rules)),
                )?;
                heal(report).applied.push(action(
                    Some(&row.id),
                    format!(
                        "{reason}; verification due {}",
                        applied.verification_scheduled
                    ),
                ));
            }
            Decision::Announce { reason, .. } => {
                let note = Note {
                    tags: vec!["self-heal".into(), "improvement".into(), "proposed".into()],
                    priority: Priority::High,
                    message: format!(
                        "The healing policy proposed {} for {} ({}; simulation: {}) and left it for a person: {}. Apply it with apply_improvement, or reject it.",
                        code(&row.id, NAME_MAX),
                        code(&pattern.id, NAME_MAX),
                        code(&strategy.id, NAME_MAX),
                        recommendation.as_str(),
                        sanitize::line(&reason, NOTE_TEXT_MAX)
                    ),
                };
                let outcome = self.notify(db, Some(&format!("heal:announce:{}", row.id)), note);
                if let Some(why) = outcome
                    .reason
                    .filter(|r| !outcome.written && !r.starts_with("cooldown"))
                {
                    report.errors.push(format!("note for {}: {why}", row.id));
                }
                heal(report).announced.push(action(Some(&row.id), reason));
            }
            other => heal(report)
                .left
                .push(action(Some(&row.id), other.reason().to_string())),
        }
        Ok(())
    }
}
