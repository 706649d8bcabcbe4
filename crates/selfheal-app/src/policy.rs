//! The healing policy at the edges: loading `SELFHEAL_POLICY` (validated against the
//! playbooks), the kill switch, the one-healer lock, and the plan — what the policy does with
//! each current pattern and each applied improvement — shared by `self-heal policy`,
//! `watch --heal --dry-run` and the healer itself (`watch`).
//!
//! The decisions are `selfheal_core::policy::decide` and `on_verdict`; this module gathers
//! their facts (the lifecycle history, the strategy a proposal would choose, the config edit
//! it would make, the simulation's recommendation).
//!
//! # The lock
//!
//! One healer per database: `watch --heal` holds an exclusive OS file lock (`flock` on Unix,
//! `LockFileEx` on Windows) on `<database>.heal.lock` for as long as it runs. The kernel
//! releases it when the process ends, however it ends (SIGKILL included), so a killed healer
//! never wedges the next one; a lease row in the database would need a clock and an expiry to
//! get the same, and `SELFHEAL_NOW` fixes the clock. A watcher that does not get the lock
//! keeps detecting and tries again each pass. Like SQLite's own locks, it relies on a local
//! filesystem.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use selfheal_core::classify::FailureClass;
use selfheal_core::lifecycle::{Actor, Status};
use selfheal_core::pattern::Pattern;
use selfheal_core::playbook::{Learned, Strategy, rank};
use selfheal_core::policy::{
    AfterVerification, Candidate, Classes, Decision, History, Latest, Policy, Recommendation, Rule,
    decide, on_verdict,
};
use selfheal_core::time::{Window, format_ms, parse_timestamp};
use selfheal_core::verify::Verdict;
use selfheal_store::lifecycle::{ImprovementRow, LifecycleStore};

use crate::App;
use crate::analysis::Progress;
use crate::args::DetectArgs;
use crate::config_edit::{self, ConfigEdit};
use crate::error::AppError;
use crate::lifecycle::{DAY_MS, TEST_WINDOW_DAYS, failed_attempt, simulate};
use crate::views::TestRecommendation;

/// A policy read from its file.
#[derive(Clone, Debug)]
pub struct LoadedPolicy {
    pub path: PathBuf,
    /// Hex sha256 of the file as read (which approved text the healer acted under).
    pub sha256: String,
    pub policy: Policy,
}

/// The policy and what it would do now (`self-heal policy`, `watch --heal --dry-run`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PolicyView {
    /// The instant the plan is made for.
    pub now: String,
    /// The policy file (`SELFHEAL_POLICY`); absent: no policy, nothing automatic.
    pub policy_file: Option<String>,
    pub policy_sha256: Option<String>,
    /// Every setting with the line it comes from (or its default).
    pub settings: Vec<Rule>,
    /// What the policy allows, in words.
    pub allows: Vec<String>,
    /// The one file automatic applies may edit (`SELFHEAL_CONFIG_FILE`).
    pub config_file: Option<String>,
    /// The kill switch: while this file exists, nothing automatic happens.
    pub pause_file: Option<String>,
    /// Why automatic actions are paused now.
    pub paused: Option<String>,
    /// What the policy does with each current pattern (detect's default filters, last 7 days).
    pub patterns: Vec<PatternPlan>,
    /// Applied improvements: when they are verified and what follows.
    pub verifications: Vec<VerificationPlan>,
    /// Problems met while planning; the plan goes on after each.
    pub problems: Vec<String>,
}

/// What the policy does with one pattern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PatternPlan {
    pub pattern_id: String,
    pub class: FailureClass,
    pub occurrences: u64,
    /// The improvement the decision is about, when there is one.
    pub improvement_id: Option<String>,
    /// The strategy that would be (or was) proposed.
    pub strategy: Option<String>,
    /// The config edit it makes (`key = value`).
    pub change: Option<String>,
    /// The edit as a unified diff of the config file.
    pub diff: Option<String>,
    /// The simulation's recommendation (recorded, or computed now without recording).
    pub recommendation: Option<Recommendation>,
    pub decision: Decision,
}

/// An applied improvement and what the healer does with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerificationPlan {
    pub improvement_id: String,
    pub pattern_id: Option<String>,
    pub applied_by: Option<Actor>,
    pub verification_due_at: Option<String>,
    /// The last verification's verdict, when there was one.
    pub last_verdict: Option<Verdict>,
    pub next: String,
}

/// The one-healer lock, held while the value lives (see the module doc).
#[derive(Debug)]
pub struct HealLock {
    _held: Held,
    /// What is locked, as shown to people: the lock file, or the PostgreSQL database.
    pub path: PathBuf,
}

/// The lock itself: a file lock beside an SQLite history, an advisory lock of a PostgreSQL
/// one (held by a connection of its own).
enum Held {
    File(#[allow(dead_code)] File),
    Postgres(#[allow(dead_code)] Box<selfheal_postgres::lifecycle::HealerLock>),
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Held::File(_) => "Held::File",
            Held::Postgres(_) => "Held::Postgres",
        })
    }
}

/// The stored test's recommendation of an improvement.
pub(crate) fn stored_recommendation(row: &ImprovementRow) -> Option<Recommendation> {
    let test: serde_json::Value = serde_json::from_str(row.test_result.as_deref()?).ok()?;
    let rec: TestRecommendation = serde_json::from_value(test["recommendation"].clone()).ok()?;
    Some(recommendation_of(&rec))
}

/// The stored verification's verdict of an improvement.
pub(crate) fn stored_verdict(row: &ImprovementRow) -> Option<Verdict> {
    let v: serde_json::Value = serde_json::from_str(row.verification.as_deref()?).ok()?;
    serde_json::from_value(v["decision"]["verdict"].clone()).ok()
}

pub(crate) fn recommendation_of(r: &TestRecommendation) -> Recommendation {
    match r {
        TestRecommendation::SafeToApply => Recommendation::SafeToApply,
        TestRecommendation::NeedsCanary => Recommendation::NeedsCanary,
        TestRecommendation::Risky => Recommendation::Risky,
        TestRecommendation::Reject => Recommendation::Reject,
    }
}

/// `key = value` of a config edit, for people.
pub(crate) fn change_text(edit: &ConfigEdit) -> String {
    format!("{} = {}", edit.key, edit.new_value)
}

impl App {
    /// The policy named by `SELFHEAL_POLICY`, read and validated now (so an edit takes effect
    /// at the next pass); `None` when none is named. A missing or invalid file, or a strategy
    /// id no playbook defines, is an error that says where and what is accepted.
    pub fn load_policy(&self) -> Result<Option<LoadedPolicy>, AppError> {
        let Some(path) = self.config().policy_file.clone() else {
            return Ok(None);
        };
        let bytes = std::fs::read(&path).map_err(|e| {
            AppError::InvalidInput(format!(
                "SELFHEAL_POLICY names {}, which cannot be read: {e}",
                path.display()
            ))
        })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            AppError::InvalidInput(format!(
                "policy {} is not UTF-8 text; write it as TOML",
                path.display()
            ))
        })?;
        let policy = Policy::parse(&text)
            .map_err(|e| AppError::InvalidInput(format!("policy {}: {e}", path.display())))?;
        if let Some(list) = &policy.strategies {
            let loaded = self.playbooks();
            let known: Vec<&str> = loaded
                .playbooks
                .iter()
                .flat_map(|p| p.strategies.iter())
                .map(|s| s.id.as_str())
                .collect();
            if let Some(unknown) = list.iter().find(|s| !known.contains(&s.as_str())) {
                let mut ids = known.clone();
                ids.sort_unstable();
                ids.dedup();
                return Err(AppError::InvalidInput(format!(
                    "policy {}: {}: no playbook defines strategy {unknown:?}; known strategies: {}",
                    path.display(),
                    policy.rule("strategies"),
                    ids.join(", ")
                )));
            }
        }
        Ok(Some(LoadedPolicy {
            sha256: config_edit::sha256_hex(text.as_bytes()),
            path,
            policy,
        }))
    }

    /// The kill switch: `SELFHEAL_PAUSE_FILE`, else `<policy file>.pause`.
    pub fn pause_file(&self) -> Option<PathBuf> {
        let config = self.config();
        config.pause_file.clone().or_else(|| {
            config.policy_file.as_ref().map(|p| {
                let mut name = p.as_os_str().to_os_string();
                name.push(".pause");
                PathBuf::from(name)
            })
        })
    }

    /// Why automatic actions are paused, when the kill switch is on.
    pub fn paused(&self) -> Option<String> {
        let file = self.pause_file()?;
        file.exists().then(|| {
            format!(
                "paused: {} exists (remove it to let the policy act again)",
                file.display()
            )
        })
    }

    /// `<database>.heal.lock`.
    pub fn heal_lock_path(&self) -> PathBuf {
        let mut name = self.config().db_path.as_os_str().to_os_string();
        name.push(".heal.lock");
        PathBuf::from(name)
    }

    /// Takes the one-healer lock without waiting; the error says who holds it.
    pub fn try_heal_lock(&self) -> Result<HealLock, String> {
        if let selfheal_store::Database::Postgres(url) = self.config().database() {
            let name = self.config().database_name();
            return match selfheal_postgres::lifecycle::HealerLock::try_take(&url) {
                Ok(Ok(lock)) => Ok(HealLock {
                    _held: Held::Postgres(Box::new(lock)),
                    path: PathBuf::from(format!("the healer's advisory lock of {name}")),
                }),
                Ok(Err(holder)) => Err(format!(
                    "another healer holds the healer's advisory lock of {name} ({holder}); this watcher only detects until it can take over"
                )),
                Err(e) => Err(format!("cannot take the healer's lock: {e}")),
            };
        }
        let path = self.heal_lock_path();
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot open the healer lock {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {
                // Who holds it, for the message of the next one (best effort).
                let _ = file
                    .set_len(0)
                    .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
                    .and_then(|()| write!(file, "{}", std::process::id()))
                    .and_then(|()| file.flush());
                Ok(HealLock {
                    _held: Held::File(file),
                    path,
                })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                Err(format!(
                    "another healer holds {}{}; this watcher only detects until it can take over",
                    path.display(),
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" (pid {holder})")
                    }
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                Err(format!("cannot lock {}: {e}", path.display()))
            }
        }
    }

    /// A pattern's lifecycle history, as the policy's decision needs it.
    pub(crate) fn pattern_history(
        &self,
        db: &dyn LifecycleStore,
        pattern_id: &str,
    ) -> Result<(History, Option<ImprovementRow>), AppError> {
        let rows = db.by_pattern(pattern_id)?;
        let failed_attempts = rows.iter().filter(|r| failed_attempt(r)).count() as u32;
        let latest_row = rows.last().cloned();
        let latest = match &latest_row {
            Some(r) => Some(Latest {
                id: r.id.clone(),
                status: Status::parse(&r.status).unwrap_or(Status::Proposed),
                proposed_by: db.actor_of(&r.id, "propose")?,
                changed_ms: r
                    .updated_at
                    .as_deref()
                    .and_then(parse_timestamp)
                    .or_else(|| parse_timestamp(&r.created_at))
                    .unwrap_or(0),
            }),
            None => None,
        };
        let blocked = db
            .open_escalations(Some(pattern_id))?
            .into_iter()
            .find(|e| e.level == "BLOCK")
            .map(|e| format!("{}: {}", e.rule, e.reason));
        Ok((
            History {
                latest,
                failed_attempts,
                blocked,
            },
            latest_row,
        ))
    }

    /// The strategy of a playbook by id.
    pub(crate) fn strategy(&self, id: &str) -> Option<Strategy> {
        self.playbooks()
            .playbooks
            .iter()
            .flat_map(|p| p.strategies.iter())
            .find(|s| s.id == id)
            .cloned()
    }

    /// The edit `strategy` would make for the pattern in the declared config file; `None`
    /// without a declared file or when it edits nothing.
    pub(crate) fn strategy_change(
        &self,
        strategy: &Strategy,
        pattern_id: &str,
        progress: Progress<'_>,
    ) -> Result<Option<(config_edit::EditPlan, ConfigEdit)>, AppError> {
        let Some(declared) = self.config().config_file.clone() else {
            return Ok(None);
        };
        self.strategy_edit(strategy, Some(pattern_id), &declared, None, progress)
    }

    /// The candidate facts of `strategy` for a pattern (config edit text; the recommendation is
    /// the caller's), with the previewed edit. A config file that cannot be edited is a
    /// problem, and no change.
    pub(crate) fn candidate(
        &self,
        strategy: &Strategy,
        pattern_id: &str,
        recommendation: Option<Recommendation>,
        problems: &mut Vec<String>,
    ) -> (Candidate, Option<config_edit::EditPlan>) {
        let mut quiet = |_: u64, _: u64| {};
        let (change, diff) = match self.strategy_change(strategy, pattern_id, &mut quiet) {
            Ok(Some((plan, edit))) if !plan.diff.is_empty() => {
                (Some(change_text(&edit)), Some(plan))
            }
            Ok(Some((_, edit))) => {
                problems.push(format!(
                    "{pattern_id}: {} is already set in the config file; {} would change nothing",
                    change_text(&edit),
                    strategy.id
                ));
                (None, None)
            }
            Ok(None) => (None, None),
            Err(e) => {
                problems.push(format!(
                    "{pattern_id}: the config edit of {} cannot be planned: {e}",
                    strategy.id
                ));
                (None, None)
            }
        };
        (
            Candidate {
                strategy_id: strategy.id.clone(),
                risk: strategy.risk,
                change,
                recommendation,
            },
            diff,
        )
    }

    /// The strategy a proposal for the pattern would choose: the best ranked not yet failed
    /// on it, preferring one the policy may apply (the same choice `propose` makes for the
    /// healer).
    pub(crate) fn chosen_strategy(
        &self,
        policy: &Policy,
        pattern: &Pattern,
        db: Option<&dyn LifecycleStore>,
        problems: &mut Vec<String>,
    ) -> Result<Option<Strategy>, AppError> {
        let outcomes = match db {
            Some(db) => db.strategy_outcomes()?,
            None => Default::default(),
        };
        let failed: Vec<String> = match db {
            Some(db) => db
                .by_pattern(&pattern.id)?
                .iter()
                .filter(|r| failed_attempt(r))
                .filter_map(|r| r.strategy_id.clone())
                .collect(),
            None => Vec::new(),
        };
        let loaded = self.playbooks();
        let learned = |id: &str| {
            let (successes, failures) = outcomes.get(id).copied().unwrap_or((0, 0));
            Learned {
                successes,
                failures,
            }
        };
        let ranked = rank(&loaded.playbooks, pattern.classification.class, &learned);
        let untried: Vec<&Strategy> = ranked
            .into_iter()
            .filter(|s| !failed.contains(&s.id))
            .collect();
        let preferred = untried.iter().find(|s| {
            let (c, _) = self.candidate(s, &pattern.id, None, &mut Vec::new());
            policy.allows_strategy(&c).is_ok()
        });
        let chosen = preferred.or(untried.first()).map(|s| (*s).clone());
        if chosen.is_none() {
            problems.push(format!(
                "{}: no untried strategy is left for class {}",
                pattern.id,
                pattern.classification.class.as_str()
            ));
        }
        Ok(chosen)
    }

    /// The simulation's recommendation for `strategy` on the pattern, computed as
    /// `test_improvement` computes it, without recording anything.
    pub(crate) fn dry_recommendation(
        &self,
        strategy: &Strategy,
        pattern_id: &str,
        progress: Progress<'_>,
    ) -> Result<Recommendation, AppError> {
        let now = self.now_ms();
        let w = Window {
            from_ms: now - TEST_WINDOW_DAYS * DAY_MS,
            to_ms: now,
        };
        let found = self.pattern_in(pattern_id, w, progress)?;
        let tool_key = found.tool_key.ok_or_else(|| {
            AppError::NotFound(format!(
                "tool {} has no calls in the index",
                found.pattern.tool_name
            ))
        })?;
        let (calls, failures, runs) = self.tool_totals(tool_key, w)?;
        let view = simulate(
            "(plan)",
            &found.pattern,
            &strategy.actions,
            strategy.risk.as_str(),
            calls,
            failures,
            runs,
            w,
        );
        Ok(recommendation_of(&view.recommendation))
    }

    /// What the policy does with one detected pattern now, given its lifecycle `db` (`None`:
    /// no lifecycle state yet). Records nothing.
    pub(crate) fn plan_pattern(
        &self,
        policy: &Policy,
        pattern: &Pattern,
        db: Option<&dyn LifecycleStore>,
        problems: &mut Vec<String>,
    ) -> Result<PatternPlan, AppError> {
        let now = self.now_ms();
        let class = pattern.classification.class;
        let (history, latest) = match db {
            Some(db) => self.pattern_history(db, &pattern.id)?,
            None => (History::default(), None),
        };
        let mut plan = PatternPlan {
            pattern_id: pattern.id.clone(),
            class,
            occurrences: pattern.occurrences,
            improvement_id: history.latest.as_ref().map(|l| l.id.clone()),
            strategy: None,
            change: None,
            diff: None,
            recommendation: None,
            decision: decide(policy, class, &history, None, now),
        };
        if !matches!(plan.decision, Decision::Test { .. }) {
            return Ok(plan);
        }
        // The policy's own unfinished proposal continues with its strategy; otherwise a new
        // proposal would choose one.
        let resuming = latest.as_ref().filter(|r| {
            matches!(r.status.as_str(), "proposed" | "tested")
                && history.latest.as_ref().and_then(|l| l.proposed_by) == Some(Actor::Policy)
        });
        let strategy = match resuming {
            Some(row) => match row.strategy_id.as_deref().and_then(|id| self.strategy(id)) {
                Some(s) => Some(s),
                None => {
                    problems.push(format!(
                        "{}: the strategy {:?} of {} is in no playbook",
                        pattern.id, row.strategy_id, row.id
                    ));
                    None
                }
            },
            None => {
                plan.improvement_id = None;
                self.chosen_strategy(policy, pattern, db, problems)?
            }
        };
        let Some(strategy) = strategy else {
            plan.decision = Decision::Leave {
                reason: "no strategy to propose".into(),
            };
            return Ok(plan);
        };
        let mut quiet = |_: u64, _: u64| {};
        let recommendation = match resuming.and_then(stored_recommendation) {
            Some(r) => Some(r),
            None => match self.dry_recommendation(&strategy, &pattern.id, &mut quiet) {
                Ok(r) => Some(r),
                Err(e) => {
                    problems.push(format!(
                        "{}: cannot simulate {}: {e}",
                        pattern.id, strategy.id
                    ));
                    None
                }
            },
        };
        let (candidate, diff) = self.candidate(&strategy, &pattern.id, recommendation, problems);
        plan.strategy = Some(strategy.id.clone());
        plan.change = candidate.change.clone();
        plan.diff = diff.map(|d| d.diff);
        plan.recommendation = recommendation;
        plan.decision = decide(policy, class, &history, Some(&candidate), now);
        Ok(plan)
    }

    /// What follows for an applied improvement: its verification when due, and after it.
    pub(crate) fn plan_verification(
        &self,
        policy: &Policy,
        row: &ImprovementRow,
        applied_by: Option<Actor>,
    ) -> VerificationPlan {
        let now = self.now_ms();
        let due = row
            .verification_due_at
            .as_deref()
            .and_then(parse_timestamp)
            .is_some_and(|d| d <= now);
        let last = stored_verdict(row);
        let if_regressed = match on_verdict(policy, Verdict::Regressed, applied_by) {
            AfterVerification::RollBack { rules, .. } => format!(
                "roll it back ({})",
                rules
                    .iter()
                    .map(Rule::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            AfterVerification::Leave { reason } | AfterVerification::Keep { reason } => {
                format!("leave it ({reason})")
            }
        };
        let next = match (last, due) {
            (Some(Verdict::Regressed), _)
                if matches!(
                    on_verdict(policy, Verdict::Regressed, applied_by),
                    AfterVerification::RollBack { .. }
                ) =>
            {
                format!("last verification found a regression: {if_regressed}")
            }
            (_, true) => format!("verify now; if regressed, {if_regressed}"),
            (_, false) => format!(
                "verify from {}; if regressed, {if_regressed}",
                row.verification_due_at
                    .as_deref()
                    .unwrap_or("(no due date)")
            ),
        };
        VerificationPlan {
            improvement_id: row.id.clone(),
            pattern_id: row.pattern_id.clone(),
            applied_by,
            verification_due_at: row.verification_due_at.clone(),
            last_verdict: last,
            next,
        }
    }

    /// `self-heal policy` and `watch --heal --dry-run`: the policy and what it would do now.
    /// Reads the lifecycle read-only and writes nothing (the derived index aside).
    pub fn heal_plan(&self, progress: Progress<'_>) -> Result<PolicyView, AppError> {
        let loaded = self.load_policy()?;
        let policy = loaded
            .as_ref()
            .map(|l| l.policy.clone())
            .unwrap_or_default();
        let mut problems = Vec::new();
        let detected = self.detect_failure_patterns(&DetectArgs::for_healing(), progress)?;
        let db = self.lifecycle_read_only()?;
        let mut patterns = Vec::new();
        for p in &detected.patterns {
            match self.plan_pattern(&policy, p, db.as_deref(), &mut problems) {
                Ok(plan) => patterns.push(plan),
                Err(e) => problems.push(format!("{}: {e}", p.id)),
            }
        }
        let mut verifications = Vec::new();
        if let Some(db) = &db {
            for row in db.list(Some("applied"), 100, None)? {
                let applied_by = db.actor_of(&row.id, "apply")?;
                verifications.push(self.plan_verification(&policy, &row, applied_by));
            }
        }
        let config = self.config();
        Ok(PolicyView {
            now: format_ms(self.now_ms()),
            policy_file: loaded.as_ref().map(|l| l.path.display().to_string()),
            policy_sha256: loaded.as_ref().map(|l| l.sha256.clone()),
            settings: selfheal_core::policy::SETTINGS
                .iter()
                .map(|s| policy.rule(s))
                .collect(),
            allows: allows(&policy, loaded.is_some(), config.config_file.as_deref()),
            config_file: config.config_file.as_ref().map(|p| p.display().to_string()),
            pause_file: self.pause_file().map(|p| p.display().to_string()),
            paused: self.paused(),
            patterns,
            verifications,
            problems,
        })
    }
}

/// What a policy allows, in words.
fn allows(policy: &Policy, declared: bool, config_file: Option<&Path>) -> Vec<String> {
    if !declared {
        return vec![
            "no policy (SELFHEAL_POLICY is not set): nothing is automatic; watch --heal only detects and verifies".into(),
        ];
    }
    if !policy.auto_apply {
        return vec![format!(
            "nothing is automatic ({}); watch --heal only detects and verifies",
            policy.rule("auto_apply")
        )];
    }
    let classes = match &policy.classes {
        Classes::All => "every failure class".to_string(),
        Classes::Only(list) => list
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut out = vec![
        format!(
            "propose and test (simulation) a fix for patterns of: {classes} ({})",
            policy.rule("classes")
        ),
        format!(
            "apply it automatically only when it edits the config file, {}, its risk is at most {} ({}), and the simulation recommends {} or better ({})",
            match &policy.strategies {
                Some(list) => format!(
                    "it is one of {} ({})",
                    list.join(", "),
                    policy.rule("strategies")
                ),
                None => format!("whatever the strategy ({})", policy.rule("strategies")),
            },
            policy.max_risk.as_str(),
            policy.rule("max_risk"),
            policy.require_recommendation.as_str(),
            policy.rule("require_recommendation")
        ),
        match config_file {
            Some(f) => format!("the only file it edits: {} (SELFHEAL_CONFIG_FILE)", f.display()),
            None => "no config file is declared (SELFHEAL_CONFIG_FILE): nothing can be applied; fixes are proposed and announced only".into(),
        },
        "other fixes (advice only, or not allowed) are proposed, tested and announced for a person to apply".into(),
        if policy.rollback_on_regression {
            format!(
                "roll back, byte for byte, a change it applied when verification finds a regression ({})",
                policy.rule("rollback_on_regression")
            )
        } else {
            format!(
                "never roll back on its own ({}); a regression is announced URGENT",
                policy.rule("rollback_on_regression")
            )
        },
        format!(
            "at most {} failed attempt(s) per pattern, then the pattern is BLOCKed ({})",
            policy.max_attempts,
            policy.rule("max_attempts")
        ),
        format!(
            "wait {} after a rollback before another attempt ({})",
            selfheal_core::time::format_duration_ms(policy.cooldown_ms),
            policy.rule("cooldown")
        ),
    ];
    out.dedup();
    out
}

/// The text rendering of a plan. Names from the history are escaped inline, reasons and
/// problems kept to one line (`sanitize`).
pub fn render(v: &PolicyView) -> String {
    use crate::sanitize::{line, name};
    use std::fmt::Write as _;
    const TEXT_MAX: usize = 500;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "policy {} (as of {})",
        v.policy_file
            .as_deref()
            .unwrap_or("(none: SELFHEAL_POLICY is not set)"),
        v.now
    );
    for s in &v.settings {
        let _ = writeln!(out, "  {}", line(&s.to_string(), TEXT_MAX));
    }
    out.push_str("allows:\n");
    for a in &v.allows {
        let _ = writeln!(out, "  - {a}");
    }
    if let Some(p) = &v.paused {
        let _ = writeln!(out, "PAUSED: {p}");
    } else if let Some(f) = &v.pause_file {
        let _ = writeln!(out, "kill switch: create {f} to pause automatic actions");
    }
    if v.patterns.is_empty() {
        out.push_str("no current patterns (last 7 days, default filters)\n");
    } else {
        out.push_str("current patterns:\n");
    }
    for p in &v.patterns {
        let action = match &p.decision {
            Decision::Leave { .. } => "leave",
            Decision::Test { .. } => "test",
            Decision::Apply { .. } => "APPLY",
            Decision::Announce { .. } => "announce",
        };
        let _ = writeln!(
            out,
            "  {:<40} ×{:<6} {:<8} {}",
            name(&p.pattern_id),
            p.occurrences,
            action,
            line(p.decision.reason(), TEXT_MAX)
        );
        if let Some(s) = &p.strategy {
            let _ = writeln!(
                out,
                "      strategy {}; simulation {}; change {}",
                name(s),
                p.recommendation.map_or("not run", |r| r.as_str()),
                p.change
                    .as_deref()
                    .map_or("none (advice only)".into(), |c| line(c, TEXT_MAX))
            );
        }
        if !p.decision.rules().is_empty() {
            let _ = writeln!(
                out,
                "      under {}",
                line(
                    &selfheal_core::policy::rules_text(p.decision.rules()),
                    TEXT_MAX
                )
            );
        }
    }
    if !v.verifications.is_empty() {
        out.push_str("applied improvements:\n");
        for r in &v.verifications {
            let _ = writeln!(
                out,
                "  {} ({}, applied by {}): {}",
                name(&r.improvement_id),
                r.pattern_id.as_deref().map_or("?".into(), name),
                r.applied_by.map_or("unrecorded", Actor::as_str),
                line(&r.next, TEXT_MAX)
            );
        }
    }
    for p in &v.problems {
        let _ = writeln!(out, "problem: {}", line(p, TEXT_MAX));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Clock, Config};

    fn app(dir: &Path, policy: Option<&str>) -> App {
        let policy_file = policy.map(|text| {
            let p = dir.join("policy.toml");
            std::fs::write(&p, text).unwrap();
            p
        });
        App::new(
            Config {
                db_path: dir.join("h.db"),
                inbox_path: dir.join("inbox"),
                index: None,
                playbooks_dir: None,
                config_file: None,
                import_paths: Vec::new(),
                policy_file,
                pause_file: None,
            },
            Clock::Fixed(0),
        )
    }

    #[test]
    fn a_policy_file_is_validated_against_the_playbooks() {
        let dir = tempfile::tempdir().unwrap();
        assert!(app(dir.path(), None).load_policy().unwrap().is_none());
        let ok = app(
            dir.path(),
            Some(
                "auto_apply = true\nclasses = [\"timeout\"]\nstrategies = [\"timeout.raise-timeout\"]\n",
            ),
        );
        let loaded = ok.load_policy().unwrap().unwrap();
        assert!(loaded.policy.auto_apply);
        assert_eq!(loaded.sha256.len(), 64);
        let unknown = app(
            dir.path(),
            Some("auto_apply = true\nclasses = [\"timeout\"]\nstrategies = [\"timeout.pray\"]\n"),
        );
        let e = unknown.load_policy().unwrap_err().to_string();
        assert!(
            e.contains("line 3")
                && e.contains("timeout.pray")
                && e.contains("timeout.raise-timeout"),
            "{e}"
        );
        let bad = app(dir.path(), Some("auto_apply = maybe\n"));
        let e = bad.load_policy().unwrap_err().to_string();
        assert!(e.contains("policy.toml: line 1"), "{e}");
        let mut missing = app(dir.path(), None);
        missing.config.policy_file = Some(dir.path().join("nope.toml"));
        assert!(
            missing
                .load_policy()
                .unwrap_err()
                .to_string()
                .contains("cannot be read")
        );
    }

    #[test]
    fn the_kill_switch_sits_beside_the_policy_unless_named() {
        let dir = tempfile::tempdir().unwrap();
        let a = app(dir.path(), Some("auto_apply = false\n"));
        let pause = dir.path().join("policy.toml.pause");
        assert_eq!(a.pause_file(), Some(pause.clone()));
        assert!(a.paused().is_none());
        std::fs::write(&pause, "").unwrap();
        assert!(a.paused().unwrap().contains("policy.toml.pause"));
        let mut named = app(dir.path(), None);
        named.config.pause_file = Some(dir.path().join("STOP"));
        assert_eq!(named.pause_file(), Some(dir.path().join("STOP")));
    }

    #[test]
    fn one_healer_at_a_time_and_the_lock_dies_with_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let a = app(dir.path(), None);
        let first = a.try_heal_lock().unwrap();
        let e = a.try_heal_lock().unwrap_err();
        assert!(
            e.contains("another healer") && e.contains(&std::process::id().to_string()),
            "{e}"
        );
        drop(first);
        assert!(a.try_heal_lock().is_ok());
    }
}
