//! Use cases of the improvement lifecycle: propose, test, apply, verify, roll back, reject,
//! list, show, report — with escalation and inbox notes.
//!
//! State lives in the run-history database (`selfheal_store::lifecycle`); numbers come from the
//! index (caught up first, like every analysis). Each state change is one transaction with its
//! audit row; inbox notes are written after the commit and a failed note never fails the call.

use std::collections::HashMap;

use serde_json::json;

use selfheal_core::classify::FailureClass;
use selfheal_core::lifecycle::{Actor, Status, Step, Transition, step};
use selfheal_core::pattern::{Pattern, PatternFilter};
use selfheal_core::playbook::{Action, Learned, Strategy, expected_impact, rank};
use selfheal_core::stats::{ratio, round4, wilson};
use selfheal_core::time::{Window, format_ms, parse_timestamp};
use selfheal_core::verify::{
    BetaPosterior, Counts, Recommendation as VerifyRecommendation, Verdict, compare, decide,
};
use selfheal_postgres::lifecycle::PgLifecycle;
use selfheal_store::Database;
use selfheal_store::Store;
use selfheal_store::lifecycle::{
    Change, EscalationRow, ImprovementRow, LessonRow, LifecycleDb, LifecycleStore, Outcome,
};

use crate::App;
use crate::analysis::Progress;
use crate::args::{
    ApplyArgs, CloseArgs, GetImprovementArgs, ListArgs, ProposeArgs, ReportArgs, TestArgs,
    VerifyArgs, window,
};
use crate::config_edit::{self, ConfigEdit};
use crate::error::AppError;
use crate::harness_files::{self, FileChange, Planned};
use crate::inbox::{Inbox, Note, NoteOutcome, Priority, code, local_time};
use crate::lessons;
use crate::playbooks::{LoadedPlaybooks, load};
use crate::sanitize::{self, NAME_MAX, echo};
use crate::views::*;

pub(crate) const DAY_MS: i64 = 86_400_000;
/// Days after applying when verification is due.
pub const VERIFY_AFTER_DAYS: i64 = 7;
/// Failed attempts on one pattern before it is BLOCKed.
pub const MAX_ATTEMPTS: usize = 3;
/// A pattern older than this and still occurring escalates.
pub const PERSISTENCE_DAYS: i64 = 14;
/// The same note key is not re-announced within this many hours.
pub const NOTE_COOLDOWN_HOURS: i64 = 24;
/// Evidence window of test_improvement.
pub(crate) const TEST_WINDOW_DAYS: i64 = 30;
/// Longest free text (changes, reasons) quoted in an inbox note, in characters.
pub(crate) const NOTE_TEXT_MAX: usize = 500;

/// Classes whose high failure rate escalates immediately.
const CRITICAL: [FailureClass; 2] = [FailureClass::ServerCrashed, FailureClass::Oom];

/// Who asks for a transition and, when the healing policy acts, the policy lines that allowed
/// it: both go into the audit row.
#[derive(Clone, Debug)]
pub(crate) struct By {
    pub actor: Actor,
    pub rule: Option<String>,
    /// The healer verifying will roll a regression back itself (its note then says so, and
    /// the rollback's note is the urgent one).
    pub rolls_back: bool,
}

impl By {
    pub(crate) fn policy(rule: String) -> By {
        By {
            actor: Actor::Policy,
            rule: Some(rule),
            rolls_back: false,
        }
    }
}

/// Picks the strategy a proposal prefers among those not yet failed (the policy prefers what
/// it may apply); `None`: the best ranked.
pub(crate) type Prefer<'a> = Option<&'a dyn Fn(&Strategy) -> bool>;

impl App {
    /// The lifecycle's state read without migrating or writing anything (plans, dry runs);
    /// `None` when the history holds none yet.
    pub(crate) fn lifecycle_read_only(&self) -> Result<Option<Box<dyn LifecycleStore>>, AppError> {
        Ok(match self.config().database() {
            Database::Sqlite(path) => LifecycleDb::open_read_only(&path)?
                .map(|db| Box::new(db) as Box<dyn LifecycleStore>),
            Database::Postgres(url) => Some(Box::new(PgLifecycle::open_read_only(&url)?)),
        })
    }

    /// Where apply keeps the backups of the files it changes: beside an SQLite history; for a
    /// shared PostgreSQL one, in this machine's state directory (the files are this machine's).
    pub(crate) fn backup_dir(&self) -> std::path::PathBuf {
        match self.config().database() {
            Database::Sqlite(path) => harness_files::backup_dir(&path),
            Database::Postgres(_) => std::env::var_os("XDG_STATE_HOME")
                .filter(|d| !d.is_empty())
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME")
                        .map(|h| std::path::PathBuf::from(h).join(".local/state"))
                })
                .unwrap_or_else(std::env::temp_dir)
                .join("self-healing-mcp")
                .join("self-heal-backups"),
        }
    }

    pub(crate) fn lifecycle_db(&self) -> Result<Box<dyn LifecycleStore>, AppError> {
        self.lifecycle()
    }

    /// The caller of the public use cases.
    fn caller(&self) -> By {
        By {
            actor: self.actor,
            rule: None,
            rolls_back: false,
        }
    }

    /// Failed attempts on a pattern before it is BLOCKed: the policy's `max_attempts` when a
    /// valid policy is declared, else [`MAX_ATTEMPTS`].
    pub(crate) fn max_attempts(&self) -> usize {
        match self.load_policy() {
            Ok(Some(p)) => p.policy.max_attempts as usize,
            _ => MAX_ATTEMPTS,
        }
    }

    fn lifecycle(&self) -> Result<Box<dyn LifecycleStore>, AppError> {
        // The analysis opened (and validated) the file first, so its errors are the specific ones.
        let store = self.store()?;
        let mut db: Box<dyn LifecycleStore> = match self.config().database() {
            Database::Sqlite(path) => Box::new(LifecycleDb::open(&path)?),
            Database::Postgres(url) => Box::new(PgLifecycle::open(&url)?),
        };
        if !self
            .pattern_ids_migrated
            .load(std::sync::atomic::Ordering::Acquire)
        {
            store.refresh(&mut |_, _| {})?;
            self.migrate_pattern_ids(&store, &mut *db)?;
            self.pattern_ids_migrated
                .store(true, std::sync::atomic::Ordering::Release);
        }
        Ok(db)
    }

    /// The tool of a pattern id: from the index (a shell pattern's id also names its
    /// program), else the part after the first `:`.
    fn pattern_tool(&self, id: &str) -> Result<String, AppError> {
        let parts = self.store()?.read(|r| r.pattern_parts(id))?;
        Ok(match parts {
            Some((_, tool, _)) => tool,
            None => selfheal_core::pattern::split_pattern_id(id)
                .map(|(_, t)| t.to_string())
                .unwrap_or_default(),
        })
    }

    /// Moves improvements and escalations recorded under an id of the recorded-type style
    /// (`tool_error:read_file`) to the cause-keyed pattern that holds most of its failures,
    /// with an audit row each; ids the index does not know at all are left alone.
    fn migrate_pattern_ids(
        &self,
        store: &Store,
        db: &mut dyn LifecycleStore,
    ) -> Result<(), AppError> {
        let ids = db.referenced_pattern_ids()?;
        let renames: Vec<(String, String)> = store.read(|r| {
            let mut out = Vec::new();
            for id in ids {
                if r.pattern_key(&id)?.is_none()
                    && let Some((target, _, _)) = r.resolve_alias(&id)?.into_iter().next()
                {
                    out.push((id, target));
                }
            }
            Ok(out)
        })?;
        let at = format_ms(self.now_ms());
        for (old, new) in renames {
            let n = db.rename_pattern(&old, &new, &at)?;
            tracing::info!(
                old = %sanitize::name(&old),
                new = %sanitize::name(&new),
                improvements = n,
                "pattern id migrated"
            );
        }
        Ok(())
    }

    pub(crate) fn playbooks(&self) -> LoadedPlaybooks {
        load(self.config().playbooks_dir.as_deref())
    }

    /// Writes a note unless `key` was announced within the cooldown.
    pub(crate) fn notify(
        &self,
        db: &mut dyn LifecycleStore,
        key: Option<&str>,
        note: Note,
    ) -> NoteOutcome {
        let now = self.now_ms();
        if let Some(key) = key {
            match db.last_notified(key) {
                Ok(Some(last))
                    if parse_timestamp(&last)
                        .is_some_and(|t| now - t < NOTE_COOLDOWN_HOURS * 3_600_000) =>
                {
                    return NoteOutcome::not_written(format!(
                        "cooldown: {key} was announced at {last}; not repeated within {NOTE_COOLDOWN_HOURS} h"
                    ));
                }
                Err(e) => {
                    return NoteOutcome::not_written(format!(
                        "cannot read notification state: {e}"
                    ));
                }
                _ => {}
            }
        }
        let Some(at) = local_time(now) else {
            return NoteOutcome::not_written("the clock is out of range");
        };
        let outcome = Inbox::new(self.config().inbox_path.clone()).write(&note, at);
        if outcome.written
            && let Some(key) = key
            && let Err(e) = db.set_notified(key, &format_ms(now), outcome.path.as_deref())
        {
            tracing::warn!(error = %e, "note written but its cooldown state was not saved");
        }
        outcome
    }

    fn improvement(&self, db: &dyn LifecycleStore, id: &str) -> Result<ImprovementRow, AppError> {
        db.get(id)?.ok_or_else(|| {
            let recent: Vec<String> = db
                .list(None, 5, None)
                .map(|rows| rows.into_iter().map(|r| r.id).collect())
                .unwrap_or_default();
            AppError::NotFound(format!(
                "no improvement {}{}; list them with list_improvements",
                echo(id),
                if recent.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (recent: {})",
                        recent
                            .iter()
                            .map(|r| sanitize::name(r))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ))
        })
    }

    /// Checks a transition before doing expensive work, so bad requests fail fast.
    fn precheck(row: &ImprovementRow, t: Transition) -> Result<Step, AppError> {
        let from = Status::parse(&row.status).ok_or_else(|| {
            AppError::Conflict(format!(
                "improvement {} has status {}, which self-healing-mcp does not manage",
                sanitize::name(&row.id),
                echo(&row.status)
            ))
        })?;
        step(from, t).map_err(|e| AppError::Conflict(e.to_string()))
    }

    /// `propose_improvement`.
    pub fn propose_improvement(
        &self,
        args: &ProposeArgs,
        progress: Progress<'_>,
    ) -> Result<ProposeView, AppError> {
        self.propose_as(args, progress, &self.caller(), None)
    }

    pub(crate) fn propose_as(
        &self,
        args: &ProposeArgs,
        progress: Progress<'_>,
        by: &By,
        prefer: Prefer<'_>,
    ) -> Result<ProposeView, AppError> {
        args.validate()?;
        let now = self.now_ms();
        let w = window(&args.since, now)?;
        let pattern = self.pattern_in(&args.pattern_id, w, progress)?.pattern;
        let (lesson, targets) = self.mine_lesson(&pattern, w)?;
        let mut db = self.lifecycle()?;
        let history = db.by_pattern(&pattern.id)?;
        if let Some(open) = history
            .iter()
            .find(|r| matches!(r.status.as_str(), "proposed" | "tested" | "applied"))
        {
            return Err(AppError::Conflict(format!(
                "pattern {} already has improvement {} in state {}; test, apply or verify it, or reject it, before proposing another",
                pattern.id, open.id, open.status
            )));
        }
        let loaded = self.playbooks();
        let outcomes = db.strategy_outcomes()?;
        let learned = |id: &str| {
            let (successes, failures) = outcomes.get(id).copied().unwrap_or((0, 0));
            Learned {
                successes,
                failures,
            }
        };
        let class = pattern.classification.class;
        let ranked = rank(&loaded.playbooks, class, &learned);
        let failed_strategies: Vec<&str> = history
            .iter()
            .filter(|r| failed_attempt(r))
            .filter_map(|r| r.strategy_id.as_deref())
            .collect();
        let at = format_ms(now);
        let mut escalations = self.escalate_on_evidence(
            &mut *db,
            &pattern,
            now,
            history.iter().filter(|r| failed_attempt(r)).count(),
        )?;
        let untried = || {
            ranked
                .iter()
                .copied()
                .filter(|s| !failed_strategies.contains(&s.id.as_str()))
        };
        let preferred = prefer.and_then(|wanted| untried().find(|s| wanted(s)));
        let Some(strategy) = preferred.or_else(|| untried().next()) else {
            let reason = format!(
                "every applicable strategy for {} ({}) has been tried and failed verification",
                pattern.id,
                ranked
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            escalations.extend(self.escalate(
                &mut *db,
                &pattern.id,
                "ALERT",
                "strategies_exhausted",
                &reason,
                &at,
            )?);
            return Err(AppError::Conflict(format!(
                "{reason}; escalated for a human to decide"
            )));
        };
        let impact = expected_impact(
            strategy,
            pattern.recovery.share,
            pattern.recovery.of - pattern.recovery.without_arguments,
        );
        let evidence = Evidence {
            window: w.view(),
            occurrences: pattern.occurrences,
            affected_runs: pattern.affected_run_count,
            failure_rate: pattern.failure_rate,
            class,
            class_share: pattern.classification.share,
            recovered_by_retry: pattern.recovery.recovered,
            recovered_share: pattern.recovery.share,
            retry_evidence: pattern.recovery.evidence.clone(),
            top_templates: pattern
                .templates
                .iter()
                .map(|t| t.template.clone())
                .collect(),
            pattern_confidence: pattern.confidence,
        };
        let config_key = strategy.config_key_for(&pattern.tool_name);
        let mut changes: Vec<String> = strategy
            .actions
            .iter()
            .map(|a| format!("{}: {}", a.kind(), a.summary()))
            .collect();
        if let Some(key) = &config_key {
            changes.push(format!("config: set `{key}` in the declared config file (apply_improvement with config_action)"));
        }
        let description = format!(
            "{} for {}: {}",
            strategy.name, pattern.id, strategy.description
        );
        let row = ImprovementRow {
            category: strategy
                .actions
                .first()
                .map_or("remediation", |a| a.kind())
                .to_string(),
            description: description.clone(),
            related_runs: Some(json!(pattern.affected_runs).to_string()),
            created_at: at.clone(),
            pattern_id: Some(pattern.id.clone()),
            strategy_id: Some(strategy.id.clone()),
            priority: Some(i64::from(strategy.priority)),
            risk_level: Some(strategy.risk.as_str().to_string()),
            expected_impact: Some(json!(impact).to_string()),
            actions: Some(json!(strategy.actions).to_string()),
            evidence: Some(
                json!({"evidence": evidence, "first_seen": pattern.first_seen}).to_string(),
            ),
            ..Default::default()
        };
        let stored = db.insert(
            &row,
            Some(&json!({"strategy": strategy.id}).to_string()),
            by.actor,
            by.rule.as_deref(),
            &mut new_improvement_id(now),
        )?;
        if let (Some(harness), Some(root)) = (lesson.harness, &lesson.root) {
            db.insert_lesson(&LessonRow {
                improvement_id: stored.id.clone(),
                pattern_id: pattern.id.clone(),
                harness: harness.as_str().to_string(),
                scope: snake(&lesson.scope),
                root: root.clone(),
                project: lesson.project.clone(),
                tool: pattern.tool_name.clone(),
                program: pattern.program.clone(),
                lesson: json!(lesson).to_string(),
                changes: None,
                active: false,
            })?;
        }
        let strategy_view =
            |s: &Strategy| strategy_view(s.id.clone(), s.name.clone(), learned(&s.id));
        Ok(ProposeView {
            improvement_id: stored.id,
            pattern_id: pattern.id.clone(),
            description,
            expected_impact: format!(
                "cut the failure rate of {} by {:.0}–{:.0}% ({})",
                pattern.id,
                impact.low * 100.0,
                impact.high * 100.0,
                impact.basis
            ),
            changes_required: changes,
            risk_level: strategy.risk,
            status: Status::Proposed,
            category: row.category,
            priority: strategy.priority,
            strategy: strategy_view(strategy),
            actions: strategy.actions.clone(),
            expected_impact_range: impact,
            evidence,
            alternatives: ranked
                .iter()
                .filter(|s| s.id != strategy.id)
                .map(|s| strategy_view(s))
                .collect(),
            config_key,
            escalations,
            playbook_problems: loaded
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.file, p.error))
                .collect(),
            lesson,
            targets,
        })
    }

    /// Escalation rules that look at a pattern's evidence (DESIGN §5).
    fn escalate_on_evidence(
        &self,
        db: &mut dyn LifecycleStore,
        p: &Pattern,
        now: i64,
        failed_attempts: usize,
    ) -> Result<Vec<EscalationView>, AppError> {
        let at = format_ms(now);
        let mut out = Vec::new();
        let urgent = p.failure_rate >= 0.2 || p.occurrences >= 20;
        if p.confidence < 0.5 && urgent {
            out.extend(self.escalate(db, &p.id, "WARN", "low_confidence", &format!("{} is urgent ({} occurrences, failure rate {:.1}%) but its confidence is only {:.2}", p.id, p.occurrences, p.failure_rate * 100.0, p.confidence), &at)?);
        }
        if CRITICAL.contains(&p.classification.class) && p.failure_rate >= 0.1 {
            out.extend(self.escalate(
                db,
                &p.id,
                "ALERT",
                "critical_class",
                &format!(
                    "{} fails with class {} at {:.1}% of calls",
                    p.id,
                    p.classification.class.as_str(),
                    p.failure_rate * 100.0
                ),
                &at,
            )?);
        }
        if let (Some(first), Some(last)) = (
            parse_timestamp(&p.first_seen),
            parse_timestamp(&p.last_seen),
        ) && now - first > PERSISTENCE_DAYS * DAY_MS
            && now - last < DAY_MS
        {
            out.extend(self.escalate(
                db,
                &p.id,
                "ALERT",
                "persistent",
                &format!(
                    "{} has persisted since {} and still occurs",
                    p.id, p.first_seen
                ),
                &at,
            )?);
        }
        if failed_attempts >= self.max_attempts() {
            out.extend(self.escalate(db, &p.id, "BLOCK", "max_attempts", &format!("{failed_attempts} improvements of {} failed verification; apply is blocked until a human overrides", p.id), &at)?);
        }
        Ok(out)
    }

    /// Opens an escalation (once) and tells people: WARN logs, ALERT and BLOCK write URGENT notes.
    fn escalate(
        &self,
        db: &mut dyn LifecycleStore,
        pattern_id: &str,
        level: &str,
        rule: &str,
        reason: &str,
        at: &str,
    ) -> Result<Option<EscalationView>, AppError> {
        let Some(row) = db.escalate(pattern_id, level, rule, reason, at)? else {
            return Ok(None);
        };
        if level == "WARN" {
            tracing::warn!(
                pattern = %sanitize::name(pattern_id),
                rule,
                "{}",
                sanitize::line(reason, NOTE_TEXT_MAX)
            );
        } else {
            let outcome = self.notify(
                db,
                Some(&format!("escalation:{pattern_id}:{rule}")),
                Note {
                    tags: vec![
                        "self-heal".into(),
                        "escalation".into(),
                        level.to_ascii_lowercase(),
                    ],
                    priority: Priority::Urgent,
                    message: format!(
                        "**{level}** on {} ({rule}): {}.",
                        code(pattern_id, NAME_MAX),
                        sanitize::line(reason, NOTE_TEXT_MAX)
                    ),
                },
            );
            if !outcome.written {
                tracing::warn!(reason = ?outcome.reason, "escalation note not written");
            }
        }
        Ok(Some(escalation_view(row)))
    }

    /// `test_improvement`.
    pub fn test_improvement(
        &self,
        args: &TestArgs,
        progress: Progress<'_>,
    ) -> Result<TestView, AppError> {
        self.test_as(args, progress, &self.caller())
    }

    /// Calls of a tool, its failed calls, and the runs that called it, in `w`.
    pub(crate) fn tool_totals(
        &self,
        tool_key: u32,
        w: Window,
    ) -> Result<(u64, u64, u64), AppError> {
        Ok(self.store()?.read(|r| {
            let (c, f) = r.tool_counts(w)?.get(&tool_key).copied().unwrap_or((0, 0));
            Ok((c, f, r.runs_with_tool(tool_key, w)?))
        })?)
    }

    pub(crate) fn test_as(
        &self,
        args: &TestArgs,
        progress: Progress<'_>,
        by: &By,
    ) -> Result<TestView, AppError> {
        args.validate()?;
        let now = self.now_ms();
        let mut db = self.lifecycle()?;
        let row = self.improvement(&*db, &args.improvement_id)?;
        Self::precheck(&row, Transition::Test)?;
        let pattern_id = row.pattern_id.clone().ok_or_else(|| AppError::Conflict(format!("improvement {} was not proposed by self-healing-mcp (no pattern_id); it cannot be tested", row.id)))?;
        let w = Window {
            from_ms: now - TEST_WINDOW_DAYS * DAY_MS,
            to_ms: now,
        };
        let found = self.pattern_in(&pattern_id, w, progress)?;
        let (pattern, pattern_key, tool_key) = (found.pattern, found.key, found.tool_key);
        let actions: Vec<Action> = row
            .actions
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok())
            .unwrap_or_default();
        let risk = row.risk_level.clone().unwrap_or_else(|| "medium".into());
        let store = self.store()?;
        let tool_key = tool_key.ok_or_else(|| {
            AppError::NotFound(format!(
                "tool {} has no calls in the index",
                pattern.tool_name
            ))
        })?;
        let (calls, failures, runs) = self.tool_totals(tool_key, w)?;
        let mut view = if args.mode == "simulation" {
            simulate(&row.id, &pattern, &actions, &risk, calls, failures, runs, w)
        } else {
            let tagged = store.with_source(|s| s.runs_tagged(&row.id))?;
            if tagged.is_empty() {
                return Ok(TestView {
                    improvement_id: row.id.clone(),
                    test_mode: args.mode.clone(),
                    simulated_success_rate: None,
                    baseline_success_rate: ratio(calls - failures, calls).map(round4),
                    expected_improvement: None,
                    recommendation: TestRecommendation::NeedsCanary,
                    simulated_interval: None,
                    baseline_interval: wilson(calls - failures, calls),
                    window: w.view(),
                    calls_analyzed: calls,
                    runs_analyzed: runs,
                    failures_fixed: 0,
                    assumptions: vec![],
                    explanation: format!(
                        "no run is tagged with {} yet, so there is nothing to compare; nothing was recorded",
                        row.id
                    ),
                    tagged_runs: Some(0),
                    tagging_plan: Some(tagging_plan(&row.id, &args.mode)),
                    status: Status::parse(&row.status).unwrap_or(Status::Proposed),
                });
            }
            let ids: Vec<String> = tagged.iter().map(|t| t.0.clone()).collect();
            let (tc, tf, _) = store.read(|r| r.runs_tool_counts(&ids, tool_key, pattern_key, w))?;
            canary(
                &row.id,
                &args.mode,
                &pattern,
                (tc, tf),
                (calls.saturating_sub(tc), failures.saturating_sub(tf)),
                ids.len() as u64,
                w,
            )
        };
        let detail = json!({"mode": view.test_mode, "recommendation": view.recommendation, "simulated_success_rate": view.simulated_success_rate, "baseline_success_rate": view.baseline_success_rate});
        let stored = json!(view).to_string();
        let outcome = db.transition(
            &row.id,
            Change {
                transition: Transition::Test,
                set: vec![("test_result", stored)],
                detail: Some(detail.to_string()),
                at: &format_ms(now),
                strategy_outcome: None,
                actor: by.actor,
                rule: by.rule.as_deref(),
            },
        )?;
        view.status = status_of(&outcome);
        Ok(view)
    }

    /// `apply_improvement`.
    pub fn apply_improvement(
        &self,
        args: &ApplyArgs,
        progress: Progress<'_>,
    ) -> Result<ApplyView, AppError> {
        self.apply_improvement_confirmed(args, None, progress)
    }

    /// What `apply_improvement` with `args` would change, checked (arguments, state, BLOCK,
    /// config edit) without changing anything: shown to a person before they confirm.
    pub fn preview_apply(
        &self,
        args: &ApplyArgs,
        progress: Progress<'_>,
    ) -> Result<ApplyPreview, AppError> {
        let ApplyPrelude {
            applied_ms,
            row,
            pattern_id,
            plan,
            overridden_block,
            lesson,
            ..
        } = self.apply_prelude(args, progress)?;
        Ok(ApplyPreview {
            improvement_id: row.id.clone(),
            pattern_id: (!pattern_id.is_empty()).then_some(pattern_id),
            description: row.description.clone(),
            status: Status::parse(&row.status).unwrap_or(Status::Tested),
            applied_at: format_ms(applied_ms),
            changes_made: args.changes_made.clone(),
            commit_hash: args.commit_hash.clone(),
            writes_config: plan.is_some() && args.config_action.as_deref() == Some("apply"),
            config_change: plan.map(|(p, key)| change_view(&p, key, None)),
            overridden_block,
            changes: lesson.map(|(_, files)| files).unwrap_or_default(),
        })
    }

    /// `apply_improvement` after a person confirmed `confirmed` (the config edit they saw):
    /// when the edit planned now is not that one (the file changed in between), nothing is
    /// recorded or written and the call says so.
    pub fn apply_improvement_confirmed(
        &self,
        args: &ApplyArgs,
        confirmed: Option<&ConfirmedEdit>,
        progress: Progress<'_>,
    ) -> Result<ApplyView, AppError> {
        self.apply_as(args, confirmed, progress, &self.caller())
    }

    pub(crate) fn apply_as(
        &self,
        args: &ApplyArgs,
        confirmed: Option<&ConfirmedEdit>,
        progress: Progress<'_>,
        by: &By,
    ) -> Result<ApplyView, AppError> {
        let ApplyPrelude {
            now,
            applied_ms,
            mut db,
            row,
            pattern_id,
            plan,
            overridden_block: _,
            lesson,
        } = self.apply_prelude(args, progress)?;
        if let Some(confirmed) = confirmed {
            let planned = plan
                .as_ref()
                .map(|(p, _)| (p.before_sha256.as_str(), p.after_sha256.as_str()));
            if planned
                != Some((
                    confirmed.before_sha256.as_str(),
                    confirmed.after_sha256.as_str(),
                ))
            {
                return Err(AppError::Conflict(format!(
                    "the config edit of {} is no longer the one that was confirmed (the file or the plan changed since); nothing was recorded or written: preview and confirm again",
                    row.id
                )));
            }
        }
        if args.config_action.as_deref() == Some("preview") {
            let (plan, key) = plan.ok_or_else(|| {
                AppError::InvalidInput(
                    "nothing to preview: this strategy edits no config key".into(),
                )
            })?;
            return Ok(ApplyView {
                improvement_id: row.id.clone(),
                status: Status::parse(&row.status).unwrap_or(Status::Tested),
                applied_at: format_ms(applied_ms),
                verification_scheduled: format_ms(applied_ms + VERIFY_AFTER_DAYS * DAY_MS),
                commit_hash: args.commit_hash.clone(),
                config_change: Some(change_view(&plan, key, None)),
                changes: Vec::new(),
                note: NoteOutcome::not_written("preview: nothing was recorded or written"),
            });
        }
        let written_config = match (&plan, args.config_action.as_deref()) {
            (Some((plan, _)), Some("apply")) => {
                let backups = plan.path.parent().map(|d| d.join(".self-heal-backups")).unwrap_or_default();
                Some(config_edit::apply(plan, &backups).map_err(|e| AppError::Conflict(e.to_string()))?)
            }
            (None, Some("apply")) => return Err(AppError::InvalidInput("config_action apply: this strategy edits no config key; record the change with changes_made only".into())),
            _ => None,
        };
        // The lesson's instruction files, recorded before the transition so a rollback finds
        // them whatever happens next.
        let changes: Vec<FileChange> = match &lesson {
            Some((_, files)) => {
                let written = lessons::write_all(files, &self.backup_dir());
                let written = match written {
                    Ok(w) => w,
                    Err(e) => {
                        if let Some(applied) = &written_config {
                            let _ = config_edit::rollback(applied);
                        }
                        return Err(e);
                    }
                };
                db.set_lesson_changes(&row.id, Some(&json!(written).to_string()))?;
                written
            }
            None => Vec::new(),
        };
        let due = applied_ms + VERIFY_AFTER_DAYS * DAY_MS;
        let mut set = vec![
            ("applied_at", (format_ms(applied_ms))),
            ("changes_made", (args.changes_made.clone())),
            ("verification_due_at", (format_ms(due))),
        ];
        if let Some(h) = &args.commit_hash {
            set.push(("commit_hash", h.clone()));
        }
        let written = written_config;
        if let (Some(applied), Some((_, key))) = (&written, &plan) {
            set.push((
                "config_edit",
                (json!({"key": key, "applied": applied}).to_string()),
            ));
        }
        let result = db.transition(&row.id, Change {
            transition: Transition::Apply,
            set,
            detail: Some(json!({"applied_at": format_ms(applied_ms), "commit_hash": args.commit_hash, "config_written": written.is_some(), "override_block": args.override_block}).to_string()),
            at: &format_ms(now),
            strategy_outcome: None,
            actor: by.actor,
            rule: by.rule.as_deref(),
        });
        // Undoes this call's file changes so state and files agree (the transition failed, or
        // another server applied the improvement first).
        let undo = |db: &mut dyn LifecycleStore| {
            if let Some(applied) = &written
                && let Err(undo) = config_edit::rollback(applied)
            {
                tracing::error!(error = %undo, "could not undo a config edit after a failed transition");
            }
            if let Some((l, _)) = &lesson {
                match lessons::plan_rollback(
                    &LessonRow {
                        changes: Some(json!(changes).to_string()),
                        ..l.clone()
                    },
                    true,
                )
                .and_then(|plans| lessons::write_all(&plans, &self.backup_dir()))
                {
                    Ok(_) => {
                        // What was recorded before this call (another server's files, if any).
                        let _ = db.set_lesson_changes(&row.id, l.changes.as_deref());
                    }
                    Err(undo) => {
                        tracing::error!(error = %undo, "could not undo a lesson write after a failed transition")
                    }
                }
            }
        };
        let outcome = match result {
            Ok(Outcome::Unchanged(now_row)) if now_row.status != row.status => {
                // Another server (sharing the history) applied it between our checks and our
                // transition: it is applied once, by them.
                undo(&mut *db);
                return Err(AppError::Conflict(format!(
                    "improvement {} was applied meanwhile: {}; this call changed nothing",
                    row.id,
                    applied_by(&*db, &now_row)
                )));
            }
            Ok(o) => o,
            Err(e) => {
                undo(&mut *db);
                return Err(match db.get(&row.id) {
                    Ok(Some(now_row)) if now_row.status == "applied" => {
                        AppError::Conflict(format!(
                            "improvement {} was applied meanwhile: {}; this call changed nothing ({e})",
                            row.id,
                            applied_by(&*db, &now_row)
                        ))
                    }
                    _ => e.into(),
                });
            }
        };
        let note = self.notify(
            &mut *db,
            None,
            Note {
                tags: vec!["self-heal".into(), "improvement".into(), "applied".into()],
                priority: Priority::Normal,
                message: format!(
                    "Applied {} for {} at {}. Verification due {}.\nChanges, as recorded: {}{}",
                    code(&row.id, NAME_MAX),
                    code(&pattern_id, NAME_MAX),
                    format_ms(applied_ms),
                    format_ms(due),
                    code(&args.changes_made, NOTE_TEXT_MAX),
                    policy_note(by)
                ),
            },
        );
        Ok(ApplyView {
            improvement_id: row.id.clone(),
            status: status_of(&outcome),
            applied_at: format_ms(applied_ms),
            verification_scheduled: format_ms(due),
            commit_hash: args.commit_hash.clone(),
            config_change: plan.map(|(p, key)| change_view(&p, key, written.as_ref())),
            changes,
            note,
        })
    }

    /// The checks and the plan shared by apply and its preview: arguments, `applied_at`, the
    /// improvement's state, a BLOCK on its pattern, and the config edit.
    fn apply_prelude(
        &self,
        args: &ApplyArgs,
        progress: Progress<'_>,
    ) -> Result<ApplyPrelude, AppError> {
        args.validate()?;
        let now = self.now_ms();
        let applied_ms = match &args.applied_at {
            None => now,
            Some(text) => {
                let t = parse_timestamp(text).ok_or_else(|| {
                    AppError::InvalidInput(format!(
                        "applied_at {} is not an instant; use RFC 3339 such as 2026-01-30T12:00:00Z",
                        echo(text)
                    ))
                })?;
                if t > now {
                    return Err(AppError::InvalidInput(format!(
                        "applied_at {} is in the future (now is {}); record a change when it has been made",
                        echo(text),
                        format_ms(now)
                    )));
                }
                t
            }
        };
        let db = self.lifecycle()?;
        let row = self.improvement(&*db, &args.improvement_id)?;
        if let Err(e) = Self::precheck(&row, Transition::Apply) {
            // A shared history: another server may have applied it; say who.
            return Err(match row.status.as_str() {
                "applied" => AppError::Conflict(format!("{e}; {}", applied_by(&*db, &row))),
                _ => e,
            });
        }
        let pattern_id = row.pattern_id.clone().unwrap_or_default();
        let block = db
            .open_escalations(Some(&pattern_id))?
            .into_iter()
            .find(|e| e.level == "BLOCK");
        let overridden_block = match block {
            Some(block) if !args.override_block => {
                return Err(AppError::Conflict(format!(
                    "pattern {pattern_id} is BLOCKed ({}: {}); apply refused. Pass override_block: true to apply anyway",
                    block.rule, block.reason
                )));
            }
            Some(block) => Some(format!("{}: {}", block.rule, block.reason)),
            None => None,
        };
        // The config edit, when asked for or when it can be previewed.
        let plan = self.config_plan(&row, args, progress)?;
        let lesson = match db.lesson(&row.id)? {
            Some(l) => {
                let files = lessons::plan_apply(&l)?;
                Some((l, files))
            }
            None => None,
        };
        Ok(ApplyPrelude {
            now,
            applied_ms,
            db,
            row,
            pattern_id,
            plan,
            overridden_block,
            lesson,
        })
    }

    /// The edit this improvement makes to the declared config file, if any.
    fn config_plan(
        &self,
        row: &ImprovementRow,
        args: &ApplyArgs,
        progress: Progress<'_>,
    ) -> Result<Option<(config_edit::EditPlan, String)>, AppError> {
        let declared = match (&self.config().config_file, args.config_action.is_some()) {
            (Some(d), _) => d.clone(),
            (None, true) => return Err(AppError::InvalidInput("no config file is declared to the server; set SELFHEAL_CONFIG_FILE in the server's environment to the one file it may edit".into())),
            (None, false) => return Ok(None),
        };
        let loaded = self.playbooks();
        let Some(strategy) = loaded
            .playbooks
            .iter()
            .flat_map(|p| p.strategies.iter())
            .find(|s| Some(&s.id) == row.strategy_id.as_ref())
        else {
            return Ok(None);
        };
        let requested = args.config_path.as_ref().map(std::path::PathBuf::from);
        Ok(self
            .strategy_edit(
                strategy,
                row.pattern_id.as_deref(),
                &declared,
                requested.as_deref(),
                progress,
            )?
            .map(|(plan, edit)| (plan, edit.key)))
    }

    /// The edit `strategy` makes to the declared config file for pattern `pattern_id`, previewed
    /// (nothing written); `None` when it makes none (no config key, or no value yet: a timeout
    /// raise needs the tool's observed timeout).
    pub(crate) fn strategy_edit(
        &self,
        strategy: &Strategy,
        pattern_id: Option<&str>,
        declared: &std::path::Path,
        requested: Option<&std::path::Path>,
        progress: Progress<'_>,
    ) -> Result<Option<(config_edit::EditPlan, ConfigEdit)>, AppError> {
        let tool = match pattern_id {
            Some(id) => self.pattern_tool(id)?,
            None => String::new(),
        };
        let Some(key) = strategy.config_key_for(&tool) else {
            return Ok(None);
        };
        let ceiling = match pattern_id {
            Some(pid) => {
                let now = self.now_ms();
                self.pattern_in(
                    pid,
                    Window {
                        from_ms: now - 90 * DAY_MS,
                        to_ms: now,
                    },
                    progress,
                )
                .ok()
                .and_then(|found| found.timeout_ceiling_ms)
            }
            None => None,
        };
        let Some(value) = strategy.config_value(ceiling.and_then(|c| u64::try_from(c).ok())) else {
            return Ok(None);
        };
        let edit = ConfigEdit {
            key,
            new_value: value,
        };
        let plan = config_edit::plan(declared, requested, &edit)
            .map_err(|e| AppError::InvalidInput(e.to_string()))?;
        Ok(Some((plan, edit)))
    }

    /// `verify_improvement`.
    pub fn verify_improvement(
        &self,
        args: &VerifyArgs,
        progress: Progress<'_>,
    ) -> Result<VerifyView, AppError> {
        self.verify_as(args, progress, &self.caller())
    }

    pub(crate) fn verify_as(
        &self,
        args: &VerifyArgs,
        progress: Progress<'_>,
        by: &By,
    ) -> Result<VerifyView, AppError> {
        args.validate()?;
        let now = self.now_ms();
        let mut db = self.lifecycle()?;
        let row = self.improvement(&*db, &args.improvement_id)?;
        Self::precheck(&row, Transition::VerifyInconclusive)?;
        let pattern_id = row.pattern_id.clone().ok_or_else(|| {
            AppError::Conflict(format!(
                "improvement {} has no pattern_id to verify against",
                row.id
            ))
        })?;
        let applied = row
            .applied_at
            .as_deref()
            .and_then(parse_timestamp)
            .ok_or_else(|| {
                AppError::Conflict(format!("improvement {} has no readable applied_at", row.id))
            })?;
        let span = args.measurement_window_days * DAY_MS;
        let before = Window {
            from_ms: applied - span,
            to_ms: applied - 1,
        };
        let after = Window {
            from_ms: applied,
            to_ms: (applied + span).min(now),
        };
        if after.to_ms < after.from_ms {
            return Err(AppError::InvalidInput(format!(
                "applied_at {} is after now; nothing to measure yet",
                format_ms(applied)
            )));
        }
        let store = self.store()?;
        store.refresh(progress)?;
        let tool = self.pattern_tool(&pattern_id)?;
        // A lesson is read when a session starts: its sessions in the lesson's project are
        // split by their start (a session started before the apply counts as before, even
        // where it goes on after), and each session's calls count whole.
        let sessions = match db.lesson(&row.id)?.and_then(|l| l.project) {
            Some(project) => {
                let runs = store.with_source(|s| s.runs_in_project(&project))?;
                let started =
                    |r: &(String, Option<String>)| r.1.as_deref().and_then(parse_timestamp);
                let pick = |w: Window| -> Vec<String> {
                    runs.iter()
                        .filter(|r| started(r).is_some_and(|t| t >= w.from_ms && t <= w.to_ms))
                        .map(|r| r.0.clone())
                        .collect()
                };
                Some((project, pick(before), pick(after)))
            }
            None => None,
        };
        let (pb, pa, gb, ga) = store.read(|r| {
            let tool_key = r.tool_key(&tool)?;
            let pattern_key = r.pattern_key(&pattern_id)?;
            let by_session = |ids: &[String]| -> selfheal_store::Result<Counts> {
                let (Some(t), Some(p)) = (tool_key, pattern_key) else {
                    return Ok(Counts {
                        failures: 0,
                        calls: 0,
                    });
                };
                let (calls, _, failures) = r.runs_tool_counts(
                    ids,
                    t,
                    p,
                    Window {
                        from_ms: before.from_ms,
                        to_ms: now,
                    },
                )?;
                Ok(Counts { failures, calls })
            };
            let counts = |w: Window| -> selfheal_store::Result<Counts> {
                if let Some((_, b, a)) = &sessions {
                    return by_session(if w == before { b } else { a });
                }
                let calls = tool_key
                    .and_then(|k| r.tool_counts(w).ok()?.get(&k).map(|c| c.0))
                    .unwrap_or(0);
                let failures = match pattern_key {
                    Some(k) => r.pattern_counts(w)?.get(&k).copied().unwrap_or(0),
                    None => 0,
                };
                Ok(Counts { failures, calls })
            };
            let guard = |w: Window| -> selfheal_store::Result<Counts> {
                let (failed, finished) = r.run_outcomes(w)?;
                Ok(Counts {
                    failures: failed,
                    calls: finished,
                })
            };
            Ok((
                counts(before)?,
                counts(after)?,
                guard(before)?,
                guard(after)?,
            ))
        })?;
        let expected: Option<selfheal_core::playbook::ImpactRange> = row
            .expected_impact
            .as_deref()
            .and_then(|e| serde_json::from_str(e).ok());
        let before_rate = ratio(pb.failures, pb.calls);
        let expected_after = match (before_rate, &expected) {
            (Some(r), Some(e)) => Some(r * (1.0 - (e.low + e.high) / 2.0)),
            _ => None,
        };
        let d = decide(pb, pa, gb, ga, expected_after);
        let success = |c: Counts| ratio(c.calls - c.failures.min(c.calls), c.calls).map(round4);
        let actual_impact = match (d.pattern.before_rate, d.pattern.after_rate) {
            (Some(b), Some(a)) => format!(
                "pattern failure rate {:.1}% → {:.1}% ({:+.1} points; p {}, {}); failed runs {} → {}",
                b * 100.0,
                a * 100.0,
                (a - b) * 100.0,
                d.pattern.p_value.map_or("n/a".into(), p_text),
                snake(&d.pattern.method),
                d.guard
                    .before_rate
                    .map_or("n/a".into(), |r| format!("{:.1}%", r * 100.0)),
                d.guard
                    .after_rate
                    .map_or("n/a".into(), |r| format!("{:.1}%", r * 100.0)),
            ),
            _ => "not measurable: no calls of the tool in a window".into(),
        };
        let expected_text = expected.as_ref().map_or("not recorded".into(), |e| {
            format!(
                "{:.0}–{:.0}% fewer failures ({})",
                e.low * 100.0,
                e.high * 100.0,
                e.basis
            )
        });
        let verdict = d.verdict;
        let transition = if verdict == Verdict::Verified {
            Transition::VerifySucceeded
        } else {
            Transition::VerifyInconclusive
        };
        let final_outcome = match verdict {
            Verdict::Verified => Some(true),
            Verdict::Regressed => Some(false),
            Verdict::NoSignificantChange if d.recommendation == VerifyRecommendation::Keep => {
                Some(false)
            }
            _ => None,
        };
        let verification = json!({"decision": d, "before": pb, "after": pa, "guard_before": gb, "guard_after": ga, "before_window": before.view(), "after_window": after.view(), "measurement_window_days": args.measurement_window_days,
            "sessions": sessions.as_ref().map(|(p, b, a)| json!({"project": p, "before": b.len(), "after": a.len(), "counted_by": "session start"}))});
        let at = format_ms(now);
        let mut set = vec![
            ("verification", verification.to_string()),
            ("impact", actual_impact.clone()),
        ];
        if verdict == Verdict::Verified {
            set.push(("verified_at", at.clone()));
        }
        let strategy_id = row.strategy_id.clone().unwrap_or_default();
        let outcome = db.transition(&row.id, Change {
            transition,
            set,
            detail: Some(json!({"verdict": verdict, "recommendation": d.recommendation, "p_value": d.pattern.p_value}).to_string()),
            at: &at,
            strategy_outcome: final_outcome.map(|ok| (strategy_id.as_str(), ok)),
            actor: by.actor,
            rule: by.rule.as_deref(),
        })?;
        let mut escalations = Vec::new();
        if verdict == Verdict::Verified {
            db.resolve_escalations(&pattern_id, &at)?;
        } else if final_outcome == Some(false) {
            let failed = db
                .by_pattern(&pattern_id)?
                .iter()
                .filter(|r| failed_attempt(r))
                .count();
            if failed >= self.max_attempts() {
                escalations.extend(self.escalate(&mut *db, &pattern_id, "BLOCK", "max_attempts", &format!("{failed} improvements of {pattern_id} failed verification; apply is blocked until a human overrides"), &at)?);
            }
        }
        let (priority, label) = match verdict {
            Verdict::Regressed if by.rolls_back => (
                Priority::High,
                "REGRESSED — the healing policy rolls it back",
            ),
            Verdict::Regressed => (Priority::Urgent, "REGRESSED — roll it back"),
            Verdict::Verified => (Priority::Normal, "verified"),
            Verdict::NoSignificantChange => (Priority::Normal, "no significant change"),
            Verdict::InsufficientData => (Priority::Normal, "insufficient data so far"),
        };
        // The same verdict for the same improvement is announced once a day (watch verifies an
        // improvement left applied again once a day, and agents may call verify at any time).
        let note_key = format!("verification:{}:{}", row.id, snake(&verdict));
        let note = self.notify(
            &mut *db,
            Some(&note_key),
            Note {
                tags: vec!["self-heal".into(), "verification".into(), snake(&verdict)],
                priority,
                message: format!(
                    "Verification of {} ({}): **{label}**. {}. Recommendation: {}. {}",
                    code(&row.id, NAME_MAX),
                    code(&pattern_id, NAME_MAX),
                    sanitize::line(&actual_impact, NOTE_TEXT_MAX),
                    snake(&d.recommendation),
                    sanitize::line(&d.reason, NOTE_TEXT_MAX)
                ),
            },
        );
        Ok(VerifyView {
            improvement_id: row.id.clone(),
            expected_impact: expected_text,
            actual_impact,
            verification_status: verdict,
            recommendation: d.recommendation,
            metrics: VerifyMetrics {
                before_success_rate: success(pb),
                after_success_rate: success(pa),
                runs_analyzed: gb.calls + ga.calls,
                before_calls: pb.calls,
                after_calls: pa.calls,
                before_failures: pb.failures,
                after_failures: pa.failures,
                p_value: d.pattern.p_value,
                pattern: d.pattern.clone(),
                guard: d.guard.clone(),
            },
            before_window: before.view(),
            after_window: after.view(),
            calls_still_needed: d.calls_still_needed,
            reason: d.reason.clone(),
            status: status_of(&outcome),
            escalations,
            note,
        })
    }

    /// What `rollback_improvement` would change, checked without changing anything: shown to a
    /// person before they confirm.
    pub fn preview_rollback(&self, args: &CloseArgs) -> Result<RollbackPreview, AppError> {
        args.validate()?;
        let db = self.lifecycle()?;
        let row = self.improvement(&*db, &args.improvement_id)?;
        let changes = Self::precheck(&row, Transition::Rollback)? != Step::NoOp;
        let config_restore = match stored_edit(&row).filter(|_| changes) {
            Some(applied) => {
                let diff = config_edit::restore_diff(&applied).map_err(|e| {
                    AppError::Conflict(format!(
                        "the config edit could not be restored, so nothing would be rolled back: {e}"
                    ))
                })?;
                Some(ConfigRestoreView {
                    path: applied.path.display().to_string(),
                    backup_path: applied.backup_path.display().to_string(),
                    diff,
                })
            }
            None => None,
        };
        let file_changes = match db.lesson(&row.id)?.filter(|_| changes) {
            Some(l) => lessons::plan_rollback(&l, args.force)?,
            None => Vec::new(),
        };
        Ok(RollbackPreview {
            improvement_id: row.id.clone(),
            pattern_id: row.pattern_id.clone(),
            description: row.description.clone(),
            status: row.status.clone(),
            changes,
            reason: args.reason.clone(),
            config_restore,
            file_changes,
        })
    }

    /// `rollback_improvement`: restores a config edit byte for byte, then records the rollback.
    pub fn rollback_improvement(
        &self,
        args: &CloseArgs,
        progress: Progress<'_>,
    ) -> Result<TransitionView, AppError> {
        self.rollback_as(args, progress, &self.caller())
    }

    /// A rollback by the policy is announced URGENT (a change it made did harm).
    pub(crate) fn rollback_as(
        &self,
        args: &CloseArgs,
        _progress: Progress<'_>,
        by: &By,
    ) -> Result<TransitionView, AppError> {
        args.validate()?;
        let now = self.now_ms();
        let mut db = self.lifecycle()?;
        let row = self.improvement(&*db, &args.improvement_id)?;
        if Self::precheck(&row, Transition::Rollback)? == Step::NoOp {
            return Ok(TransitionView {
                improvement_id: row.id,
                status: Status::RolledBack,
                changed: false,
                reason: row.reason,
                config_restored: None,
                changes: Vec::new(),
                note: None,
            });
        }
        // Lesson blocks first: an edited block refuses the whole rollback before anything
        // is written.
        let lesson = db.lesson(&row.id)?;
        let lesson_plans = match &lesson {
            Some(l) => lessons::plan_rollback(l, args.force)?,
            None => Vec::new(),
        };
        let edit = stored_edit(&row);
        let config_restored = match &edit {
            Some(applied) => {
                config_edit::rollback(applied).map_err(|e| {
                    AppError::Conflict(format!(
                        "the config edit could not be restored, so nothing was rolled back: {e}"
                    ))
                })?;
                Some(true)
            }
            None => None,
        };
        let changes = match &lesson {
            Some(_) => {
                let written = lessons::write_all(&lesson_plans, &self.backup_dir())?;
                db.set_lesson_changes(&row.id, None)?;
                written
            }
            None => Vec::new(),
        };
        let mut set = vec![];
        if let Some(r) = &args.reason {
            set.push(("reason", r.clone()));
        }
        let outcome = db.transition(
            &row.id,
            Change {
                transition: Transition::Rollback,
                set,
                detail: Some(
                    json!({"reason": args.reason, "config_restored": config_restored}).to_string(),
                ),
                at: &format_ms(now),
                strategy_outcome: None,
                actor: by.actor,
                rule: by.rule.as_deref(),
            },
        )?;
        let note = self.notify(
            &mut *db,
            None,
            Note {
                tags: vec!["self-heal".into(), "improvement".into(), "rollback".into()],
                priority: if by.actor == Actor::Policy {
                    Priority::Urgent
                } else {
                    Priority::High
                },
                message: format!(
                    "Rolled back {} ({}){}{}.{}",
                    code(&row.id, NAME_MAX),
                    row.pattern_id
                        .as_deref()
                        .map_or_else(|| "?".to_string(), |p| code(p, NAME_MAX)),
                    args.reason
                        .as_deref()
                        .map(|r| format!(": {}", code(r, NOTE_TEXT_MAX)))
                        .unwrap_or_default(),
                    if config_restored == Some(true) {
                        "; the config file is restored byte for byte"
                    } else {
                        ""
                    },
                    policy_note(by)
                ),
            },
        );
        Ok(TransitionView {
            improvement_id: row.id,
            status: status_of(&outcome),
            changed: true,
            reason: args.reason.clone(),
            config_restored,
            changes,
            note: Some(note),
        })
    }

    /// `reject_improvement`.
    pub fn reject_improvement(
        &self,
        args: &CloseArgs,
        _progress: Progress<'_>,
    ) -> Result<TransitionView, AppError> {
        args.validate()?;
        let now = self.now_ms();
        let mut db = self.lifecycle()?;
        let row = self.improvement(&*db, &args.improvement_id)?;
        let set = args.reason.iter().map(|r| ("reason", r.clone())).collect();
        let outcome = db.transition(
            &row.id,
            Change {
                transition: Transition::Reject,
                set,
                detail: Some(json!({"reason": args.reason}).to_string()),
                at: &format_ms(now),
                strategy_outcome: None,
                actor: self.actor,
                rule: None,
            },
        )?;
        let changed = matches!(outcome, Outcome::Changed(_));
        Ok(TransitionView {
            improvement_id: row.id,
            status: status_of(&outcome),
            changed,
            reason: args.reason.clone(),
            config_restored: None,
            changes: Vec::new(),
            note: None,
        })
    }

    /// `list_improvements`.
    pub fn list_improvements(
        &self,
        args: &ListArgs,
        _progress: Progress<'_>,
    ) -> Result<ListView, AppError> {
        args.validate()?;
        let cursor = match &args.cursor {
            None => None,
            Some(c) => Some(
                c.split_once('|')
                    .filter(|(a, b)| !a.is_empty() && b.starts_with("imp-"))
                    .ok_or_else(|| {
                        AppError::InvalidInput(format!(
                            "cursor {} is not a next_cursor returned by list_improvements",
                            echo(c)
                        ))
                    })?,
            ),
        };
        let db = self.lifecycle()?;
        let limit = args.limit as u32;
        let mut rows = db.list(args.status.as_deref(), limit + 1, cursor)?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| format!("{}|{}", r.created_at, r.id))
        } else {
            None
        };
        Ok(ListView {
            improvements: rows
                .into_iter()
                .map(|r| improvement_view(r, None))
                .collect(),
            next_cursor,
        }
        .at(args.detail))
    }

    /// `get_improvement`: one improvement with its audit trail.
    pub fn get_improvement(
        &self,
        args: &GetImprovementArgs,
        _progress: Progress<'_>,
    ) -> Result<ImprovementView, AppError> {
        args.validate()?;
        let db = self.lifecycle()?;
        let row = self.improvement(&*db, &args.improvement_id)?;
        let audit = db
            .events(&row.id)?
            .into_iter()
            .map(|e| AuditView {
                at: e.at,
                action: e.action,
                from_status: e.from_status,
                to_status: e.to_status,
                detail: e.detail,
                actor: e.actor,
                rule: e.rule,
            })
            .collect();
        Ok(improvement_view(row, Some(audit)))
    }

    /// `get_healing_report`.
    pub fn get_healing_report(
        &self,
        args: &ReportArgs,
        progress: Progress<'_>,
    ) -> Result<ReportView, AppError> {
        let now = self.now_ms();
        let w = window(&args.since, now)?;
        let store = self.store()?;
        store.refresh(progress)?;
        let found = store.read(|r| r.detect(w, &PatternFilter::default(), None, usize::MAX))?;
        let patterns = found.patterns;
        let db = self.lifecycle()?;
        let rows: Vec<ImprovementRow> = db
            .list(None, 10_000, None)?
            .into_iter()
            .filter(|r| parse_timestamp(&r.created_at).is_some_and(|t| w.contains(t)))
            .collect();
        let mut by_state: HashMap<String, u64> = HashMap::new();
        for r in &rows {
            *by_state.entry(r.status.clone()).or_default() += 1;
        }
        let count = |s: &str| by_state.get(s).copied().unwrap_or(0);
        let (verified, resolved) = (
            count("verified"),
            count("verified") + count("rolled_back") + count("rejected"),
        );
        let recoveries: Vec<f64> = rows
            .iter()
            .filter(|r| r.status == "verified")
            .filter_map(|r| {
                let first = r
                    .evidence
                    .as_deref()
                    .and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok())?
                    .get("first_seen")?
                    .as_str()
                    .and_then(parse_timestamp)?;
                let verified = r.verified_at.as_deref().and_then(parse_timestamp)?;
                Some((verified - first) as f64 / 3_600_000.0)
            })
            .collect();
        let strategies = self.learned_strategies(&db.strategy_outcomes()?);
        let (facts, transitions) = db.healing_facts(w.from_ms)?;
        let healing = selfheal_core::healing::summarize(&facts, &transitions, w);
        let escalations: Vec<EscalationView> = db
            .open_escalations(None)?
            .into_iter()
            .map(escalation_view)
            .collect();
        let mut next_steps = Vec::new();
        for r in &rows {
            match r.status.as_str() {
                "applied"
                    if r.verification_due_at
                        .as_deref()
                        .and_then(parse_timestamp)
                        .is_some_and(|d| d <= now) =>
                {
                    next_steps.push(format!(
                        "verify {} (due {})",
                        r.id,
                        r.verification_due_at.as_deref().unwrap_or("")
                    ))
                }
                "proposed" => next_steps.push(format!("test {} (proposed {})", r.id, r.created_at)),
                "tested" => next_steps.push(format!("apply or reject {}", r.id)),
                _ => {}
            }
        }
        let covered: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.pattern_id.as_deref())
            .collect();
        for p in patterns
            .iter()
            .filter(|p| !covered.contains(&p.id.as_str()))
            .take(3)
        {
            next_steps.push(format!(
                "propose an improvement for {} ({} occurrences)",
                p.id, p.occurrences
            ));
        }
        for e in escalations.iter().filter(|e| e.level != "WARN") {
            next_steps.push(format!(
                "a human should look at {} ({} {})",
                e.pattern_id, e.level, e.rule
            ));
        }
        let mut improvements_by_state: Vec<StatusCount> = by_state
            .into_iter()
            .map(|(status, count)| StatusCount { status, count })
            .collect();
        improvements_by_state.sort_by(|a, b| a.status.cmp(&b.status));
        Ok(ReportView {
            window: w.view(),
            patterns_seen: patterns.len() as u64,
            improvements_by_state,
            auto_resolved_share: ratio(verified, resolved).map(round4),
            escalations,
            escalations_omitted: 0,
            mean_time_to_recovery_hours: (!recoveries.is_empty())
                .then(|| round4(recoveries.iter().sum::<f64>() / recoveries.len() as f64)),
            strategies,
            healing,
            next_steps,
            next_steps_omitted: 0,
        }
        .at(args.detail))
    }

    /// Strategies with verified outcomes, best learned rate first.
    pub(crate) fn learned_strategies(
        &self,
        outcomes: &HashMap<String, (u64, u64)>,
    ) -> Vec<StrategyView> {
        let mut strategies: Vec<StrategyView> = self
            .playbooks()
            .playbooks
            .iter()
            .flat_map(|p| p.strategies.iter())
            .filter_map(|s| {
                let (successes, failures) = outcomes.get(&s.id).copied()?;
                Some(strategy_view(
                    s.id.clone(),
                    s.name.clone(),
                    Learned {
                        successes,
                        failures,
                    },
                ))
            })
            .collect();
        strategies.sort_by(|a, b| {
            b.learned_success_rate
                .total_cmp(&a.learned_success_rate)
                .then_with(|| a.id.cmp(&b.id))
        });
        strategies.dedup_by(|a, b| a.id == b.id);
        strategies
    }
}

/// For notes: what the healing policy did this under.
fn policy_note(by: &By) -> String {
    match (by.actor, &by.rule) {
        (Actor::Policy, Some(rule)) => format!(
            " Done automatically by the healing policy ({}).",
            sanitize::line(rule, NOTE_TEXT_MAX)
        ),
        (Actor::Policy, None) => " Done automatically by the healing policy.".into(),
        _ => String::new(),
    }
}

/// A p-value for text: four decimals, or `< 0.0001`.
fn p_text(p: f64) -> String {
    if p < 0.0001 {
        format!("< 0.0001 ({p:.1e})")
    } else {
        format!("= {p:.4}")
    }
}

/// The serde (snake_case) name of a unit enum value, for text.
pub(crate) fn snake<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Whether an improvement counts as a failed attempt at its pattern.
pub(crate) fn failed_attempt(r: &ImprovementRow) -> bool {
    if r.status == "rolled_back" {
        return true;
    }
    r.verification
        .as_deref()
        .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
        .and_then(|v| v["decision"]["verdict"].as_str().map(str::to_string))
        .is_some_and(|v| v == "regressed")
}

/// The config edit recorded by an apply, if any.
fn stored_edit(row: &ImprovementRow) -> Option<config_edit::Applied> {
    row.config_edit
        .as_deref()
        .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
        .and_then(|v| serde_json::from_value(v["applied"].clone()).ok())
}

/// What apply checked and planned before changing anything.
struct ApplyPrelude {
    now: i64,
    applied_ms: i64,
    db: Box<dyn LifecycleStore>,
    row: ImprovementRow,
    pattern_id: String,
    plan: Option<(config_edit::EditPlan, String)>,
    /// The BLOCK escalation this apply overrides (`override_block`), as `rule: reason`.
    overridden_block: Option<String>,
    /// The improvement's lesson and the instruction files the apply writes for it.
    lesson: Option<(LessonRow, Vec<Planned>)>,
}

/// The config edit a person confirmed, by its checksums (before and after the edit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmedEdit {
    pub before_sha256: String,
    pub after_sha256: String,
}

impl ConfirmedEdit {
    /// The edit shown in a preview.
    pub fn of(change: &ConfigChangeView) -> ConfirmedEdit {
        ConfirmedEdit {
            before_sha256: change.before_sha256.clone(),
            after_sha256: change.after_sha256.clone(),
        }
    }
}

/// Who applied an improvement and when, for a refused second apply (another server's).
fn applied_by(db: &dyn LifecycleStore, row: &ImprovementRow) -> String {
    let who = db.actor_of(&row.id, "apply").ok().flatten().map_or_else(
        || "an unrecorded actor".to_string(),
        |a| a.as_str().to_string(),
    );
    format!(
        "it was applied by {who} at {}",
        row.applied_at.as_deref().unwrap_or("an unrecorded instant")
    )
}

fn status_of(o: &Outcome) -> Status {
    let row = match o {
        Outcome::Changed(r) | Outcome::Unchanged(r) => r,
    };
    Status::parse(&row.status).unwrap_or(Status::Proposed)
}

fn strategy_view(id: String, name: String, learned: Learned) -> StrategyView {
    let posterior = BetaPosterior::new(learned.successes, learned.failures);
    let (lo, hi) = posterior.interval95();
    StrategyView {
        id,
        name,
        learned_success_rate: round4(posterior.mean()),
        learned_interval: (round4(lo), round4(hi)),
        verified_successes: learned.successes,
        verified_failures: learned.failures,
    }
}

fn escalation_view(e: EscalationRow) -> EscalationView {
    EscalationView {
        pattern_id: e.pattern_id,
        level: e.level,
        rule: e.rule,
        reason: e.reason,
        created_at: e.created_at,
    }
}

fn change_view(
    plan: &config_edit::EditPlan,
    key: String,
    applied: Option<&config_edit::Applied>,
) -> ConfigChangeView {
    ConfigChangeView {
        path: plan.path.display().to_string(),
        key,
        diff: plan.diff.clone(),
        applied: applied.is_some(),
        backup_path: applied.map(|a| a.backup_path.display().to_string()),
        before_sha256: plan.before_sha256.clone(),
        after_sha256: plan.after_sha256.clone(),
    }
}

fn improvement_view(r: ImprovementRow, audit: Option<Vec<AuditView>>) -> ImprovementView {
    fn json<T: serde::de::DeserializeOwned>(t: Option<String>) -> Option<T> {
        t.and_then(|t| serde_json::from_str(&t).ok())
    }
    ImprovementView {
        id: r.id,
        status: r.status,
        pattern_id: r.pattern_id,
        strategy_id: r.strategy_id,
        category: r.category,
        description: r.description,
        risk_level: r.risk_level,
        priority: r.priority,
        created_at: r.created_at,
        applied_at: r.applied_at,
        verified_at: r.verified_at,
        changes_made: r.changes_made,
        commit_hash: r.commit_hash,
        impact: r.impact,
        expected_impact: json(r.expected_impact),
        actions: json(r.actions),
        evidence: json(r.evidence),
        test_result: json(r.test_result),
        verification: json(r.verification),
        config_edit: json(r.config_edit),
        verification_due_at: r.verification_due_at,
        reason: r.reason,
        audit,
    }
}

/// A generator of fresh ids `imp-YYYYMMDD-xxxxxx` (random suffix; the store retries on a clash).
fn new_improvement_id(now: i64) -> impl FnMut() -> String {
    use std::hash::{BuildHasher, Hasher};
    let date: String = format_ms(now)
        .chars()
        .take(10)
        .filter(|c| c.is_ascii_digit())
        .collect();
    move || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_i64(now);
        format!("imp-{date}-{:06x}", h.finish() & 0xff_ffff)
    }
}

fn tagging_plan(id: &str, mode: &str) -> String {
    match mode {
        "canary" => format!(
            "Run a share of new runs (e.g. 10%) with the change enabled and record {{\"canary\": \"{id}\"}} in their runs.metadata; keep the rest unchanged. Then call test_improvement with mode canary: tagged runs are compared with untagged runs over the same period."
        ),
        _ => format!(
            "Run the changed variant in shadow next to normal runs without acting on its results, recording {{\"shadow\": \"{id}\"}} in the shadow runs' runs.metadata. Then call test_improvement with mode shadow: tagged runs are compared with untagged runs over the same period."
        ),
    }
}

/// The counterfactual of `simulation` mode (see README "How simulation works").
#[allow(clippy::too_many_arguments)]
pub(crate) fn simulate(
    id: &str,
    p: &Pattern,
    actions: &[Action],
    risk: &str,
    calls: u64,
    failures: u64,
    runs: u64,
    w: Window,
) -> TestView {
    let class = p.classification.class;
    let mut assumptions = vec![format!(
        "history of the last {TEST_WINDOW_DAYS} days: {calls} calls of {}, {failures} failed, {} of them {}",
        p.tool_name, p.occurrences, p.id
    )];
    // Failures each kind of action would have prevented, by the evidence it rests on: only
    // failures that succeeded when the very same call was repeated count as transient, and
    // only for classes a repeat can fix.
    let transient = if class.is_transient() {
        p.recovery.recovered
    } else {
        0
    };
    if p.recovery.evidence == "unavailable" {
        assumptions.push(format!(
            "the history records no arguments for the calls of {}, so there is no retry evidence: actions that rely on transient failures are credited with none",
            p.tool_name
        ));
    }
    let by_cause = (p.occurrences as f64 * p.classification.share * p.classification.confidence)
        .round() as u64;
    let mut fixed = 0u64;
    for a in actions {
        let (n, why) = match a {
            Action::RetryWithBackoff { non_retryable, .. }
                if non_retryable.contains(&class) || !class.is_transient() =>
            {
                (
                    0,
                    format!(
                        "repeating the same call cannot fix class {}, so retry fixes none",
                        class.as_str()
                    ),
                )
            }
            Action::RetryWithBackoff { .. }
            | Action::CircuitBreaker { .. }
            | Action::HealthCheckRestart { .. }
            | Action::Reroute { .. } => (
                transient,
                format!(
                    "{transient} of {} failures succeeded when the same call (same tool, same arguments) was repeated in the same run: they were transient, and {} would have absorbed them",
                    p.occurrences,
                    a.kind()
                ),
            ),
            Action::RaiseTimeout { .. } => {
                let n = if class == FailureClass::Timeout {
                    transient
                } else {
                    0
                };
                (
                    n,
                    format!(
                        "only timeouts that a repeat of the same call completed ({n}) are counted: a longer limit helps calls that do finish"
                    ),
                )
            }
            Action::ExistenceCheckFallback { .. }
            | Action::PermissionFix { .. }
            | Action::SkipOptionalDependency { .. }
            | Action::ScaleDownPayload { .. }
            | Action::InstallDependency { .. }
            | Action::RefreshBeforeEdit => (
                by_cause,
                format!(
                    "{} prevents the cause: occurrences × share of class {} ({:.0}%) × its classification confidence ({:.2}) = {by_cause}",
                    a.kind(),
                    class.as_str(),
                    p.classification.share * 100.0,
                    p.classification.confidence
                ),
            ),
            Action::FixBeforeRerun { .. } => {
                // Only unchanged re-runs stop: the failures followed by the same call failing
                // again are the evidence.
                let n = p.recovery.retried_without_recovery;
                (
                    n,
                    format!(
                        "{} stops unchanged re-runs: {n} failures were followed by the same call failing again",
                        a.kind()
                    ),
                )
            }
        };
        assumptions.push(why);
        fixed = fixed.max(n);
    }
    fixed = fixed.min(p.occurrences).min(failures);
    assumptions.push("actions overlap, so the largest single effect is used, not their sum".into());
    assumptions.push(
        "calls and runs are otherwise unchanged (no new failures introduced by the fix)".into(),
    );
    let baseline = ratio(calls - failures, calls);
    let simulated = ratio(calls - failures + fixed, calls);
    let improvement = simulated.zip(baseline).map(|(s, b)| s - b);
    let recommendation = match improvement {
        _ if calls < 30 || p.occurrences < 5 => TestRecommendation::NeedsCanary,
        Some(i) if i <= 0.0005 => TestRecommendation::Reject,
        _ if risk == "high" => TestRecommendation::Risky,
        Some(i) if risk == "medium" && i < 0.01 => TestRecommendation::NeedsCanary,
        _ => TestRecommendation::SafeToApply,
    };
    let explanation = format!(
        "{fixed} of {} failures of {} would have been avoided; success of {} would go from {} to {} over {calls} calls in {runs} runs",
        p.occurrences,
        p.id,
        p.tool_name,
        baseline.map_or("n/a".into(), |b| format!("{:.1}%", b * 100.0)),
        simulated.map_or("n/a".into(), |s| format!("{:.1}%", s * 100.0)),
    );
    TestView {
        improvement_id: id.to_string(),
        test_mode: "simulation".into(),
        simulated_success_rate: simulated.map(round4),
        baseline_success_rate: baseline.map(round4),
        expected_improvement: improvement.map(round4),
        recommendation,
        simulated_interval: wilson(calls - failures + fixed, calls),
        baseline_interval: wilson(calls - failures, calls),
        window: w.view(),
        calls_analyzed: calls,
        runs_analyzed: runs,
        failures_fixed: fixed,
        assumptions,
        explanation,
        tagged_runs: None,
        tagging_plan: None,
        status: Status::Tested,
    }
}

/// Canary/shadow: tagged runs' calls of the tool against untagged runs' over the same window.
fn canary(
    id: &str,
    mode: &str,
    p: &Pattern,
    tagged: (u64, u64),
    untagged: (u64, u64),
    runs: u64,
    w: Window,
) -> TestView {
    let c = compare(
        Counts {
            failures: untagged.1,
            calls: untagged.0,
        },
        Counts {
            failures: tagged.1,
            calls: tagged.0,
        },
    );
    let tagged_rate = ratio(tagged.0 - tagged.1, tagged.0);
    let untagged_rate = ratio(untagged.0 - untagged.1, untagged.0);
    let improvement = tagged_rate.zip(untagged_rate).map(|(t, u)| t - u);
    let significant = c.p_value.is_some_and(|p| p < selfheal_core::verify::ALPHA);
    let recommendation = match improvement {
        _ if tagged.0 < 30 => TestRecommendation::NeedsCanary,
        Some(i) if significant && i > 0.0 => TestRecommendation::SafeToApply,
        Some(i) if significant && i < 0.0 => TestRecommendation::Reject,
        _ => TestRecommendation::Risky,
    };
    TestView {
        improvement_id: id.to_string(),
        test_mode: mode.to_string(),
        simulated_success_rate: tagged_rate.map(round4),
        baseline_success_rate: untagged_rate.map(round4),
        expected_improvement: improvement.map(round4),
        recommendation,
        simulated_interval: wilson(tagged.0 - tagged.1, tagged.0),
        baseline_interval: wilson(untagged.0 - untagged.1, untagged.0),
        window: w.view(),
        calls_analyzed: tagged.0 + untagged.0,
        runs_analyzed: runs,
        failures_fixed: 0,
        assumptions: vec![
            format!(
                "{runs} run(s) tagged with {id} in runs.metadata are compared with the untagged runs of the same {TEST_WINDOW_DAYS} days"
            ),
            "tagged and untagged runs face the same workload otherwise".into(),
        ],
        explanation: format!(
            "{} of {}: tagged runs succeeded on {} of {} calls, untagged on {} of {} (p {}, {})",
            p.tool_name,
            p.id,
            tagged.0 - tagged.1,
            tagged.0,
            untagged.0 - untagged.1,
            untagged.0,
            c.p_value.map_or("n/a".into(), p_text),
            snake(&c.method)
        ),
        tagged_runs: Some(runs),
        tagging_plan: None,
        status: Status::Tested,
    }
}
