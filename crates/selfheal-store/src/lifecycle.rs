//! Persistence of the improvement lifecycle in the run-history database.
//!
//! Improvements live in the agent's own `improvements` table, extended non-destructively
//! (`ALTER TABLE … ADD COLUMN` for what is missing) so agents that read it keep working. Our
//! other state lives in `selfheal_*` tables created by numbered, append-only migrations
//! (`migrations/*.sql`, embedded); applied versions are recorded in `selfheal_migrations`. A
//! database migrated by a newer binary is refused, never rewritten.
//!
//! Every transition runs in one `BEGIN IMMEDIATE` transaction that reads the current state,
//! checks the move with `selfheal_core::lifecycle::step`, writes the new state and its audit
//! row (and any extra rows, such as a strategy outcome), and commits: a crash at any point
//! leaves the old state or the new one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};
use selfheal_core::healing::{ImprovementFacts, TransitionFacts};
use selfheal_core::lifecycle::{Actor, Status, Step, Transition, step};
use selfheal_core::time::parse_timestamp;

use crate::error::{Result, StoreError};
use crate::source::classify_open_error;

/// Columns we add to `improvements` (name, type). Existing columns are left alone.
pub const IMPROVEMENT_COLUMNS: [(&str, &str); 15] = [
    ("pattern_id", "TEXT"),
    ("strategy_id", "TEXT"),
    ("priority", "INTEGER"),
    ("risk_level", "TEXT"),
    ("expected_impact", "TEXT"),
    ("actions", "TEXT"),
    ("evidence", "TEXT"),
    ("test_result", "TEXT"),
    ("verification", "TEXT"),
    ("commit_hash", "TEXT"),
    ("config_edit", "TEXT"),
    ("verification_due_at", "TEXT"),
    ("updated_at", "TEXT"),
    ("reason", "TEXT"),
    // The pattern id an improvement was proposed under, when patterns were keyed by the
    // recorded error_type and the id has since been migrated to the cause-keyed one.
    ("legacy_pattern_id", "TEXT"),
];

/// One migration: SQL, or the column extension of `improvements`.
struct Migration {
    version: i64,
    name: &'static str,
    sql: Option<&'static str>,
}

/// The migrations, in order. Append only.
const MIGRATIONS: [Migration; 5] = [
    Migration {
        version: 1,
        name: "lifecycle_tables",
        sql: Some(include_str!("../migrations/0001_lifecycle_tables.sql")),
    },
    Migration {
        version: 2,
        name: "extend_improvements",
        sql: None,
    },
    // Patterns became keyed by cause: improvements remember the id they were proposed under.
    Migration {
        version: 3,
        name: "legacy_pattern_id",
        sql: None,
    },
    // The audit trail says who made each transition, and under which policy lines.
    Migration {
        version: 4,
        name: "audit_actor",
        sql: Some(include_str!("../migrations/0004_audit_actor.sql")),
    },
    // Lessons written where the agents' harnesses read them, and the hook's guidance.
    Migration {
        version: 5,
        name: "lessons",
        sql: Some(include_str!("../migrations/0005_lessons.sql")),
    },
];

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i64 = 5;

/// An `improvements` row with our columns (JSON columns as text).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImprovementRow {
    pub id: String,
    pub category: String,
    pub description: String,
    pub related_runs: Option<String>,
    pub changes_made: Option<String>,
    pub impact: Option<String>,
    pub created_at: String,
    pub applied_at: Option<String>,
    pub verified_at: Option<String>,
    pub status: String,
    pub pattern_id: Option<String>,
    pub strategy_id: Option<String>,
    pub priority: Option<i64>,
    pub risk_level: Option<String>,
    pub expected_impact: Option<String>,
    pub actions: Option<String>,
    pub evidence: Option<String>,
    pub test_result: Option<String>,
    pub verification: Option<String>,
    pub commit_hash: Option<String>,
    pub config_edit: Option<String>,
    pub verification_due_at: Option<String>,
    pub updated_at: Option<String>,
    pub reason: Option<String>,
}

pub const SELECT_IMPROVEMENT: &str = "SELECT id, category, description, related_runs, changes_made, impact, created_at, applied_at,
    verified_at, status, pattern_id, strategy_id, priority, risk_level, expected_impact, actions, evidence, test_result,
    verification, commit_hash, config_edit, verification_due_at, updated_at, reason FROM improvements";

fn read_improvement(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImprovementRow> {
    Ok(ImprovementRow {
        id: r.get(0)?,
        category: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
        description: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        related_runs: r.get(3)?,
        changes_made: r.get(4)?,
        impact: r.get(5)?,
        created_at: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
        applied_at: r.get(7)?,
        verified_at: r.get(8)?,
        status: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
        pattern_id: r.get(10)?,
        strategy_id: r.get(11)?,
        priority: r.get(12)?,
        risk_level: r.get(13)?,
        expected_impact: r.get(14)?,
        actions: r.get(15)?,
        evidence: r.get(16)?,
        test_result: r.get(17)?,
        verification: r.get(18)?,
        commit_hash: r.get(19)?,
        config_edit: r.get(20)?,
        verification_due_at: r.get(21)?,
        updated_at: r.get(22)?,
        reason: r.get(23)?,
    })
}

/// One audit row.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub detail: Option<String>,
    /// Who made it; `None` for rows recorded before actors were.
    pub actor: Option<Actor>,
    /// For the healing policy: the policy lines that allowed it.
    pub rule: Option<String>,
}

/// An escalation row.
#[derive(Clone, Debug, PartialEq)]
pub struct EscalationRow {
    pub id: i64,
    pub pattern_id: String,
    pub level: String,
    pub rule: String,
    pub reason: String,
    pub created_at: String,
    pub resolved_at: Option<String>,
}

/// A lesson as stored (see `migrations/0005_lessons.sql`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LessonRow {
    pub improvement_id: String,
    pub pattern_id: String,
    pub harness: String,
    pub scope: String,
    pub root: String,
    pub project: Option<String>,
    pub tool: String,
    pub program: Option<String>,
    /// JSON of the lesson as proposed.
    pub lesson: String,
    /// JSON of the files written at apply.
    pub changes: Option<String>,
    pub active: bool,
}

fn read_lesson(r: &rusqlite::Row<'_>) -> rusqlite::Result<LessonRow> {
    Ok(LessonRow {
        improvement_id: r.get(0)?,
        pattern_id: r.get(1)?,
        harness: r.get(2)?,
        scope: r.get(3)?,
        root: r.get(4)?,
        project: r.get(5)?,
        tool: r.get(6)?,
        program: r.get(7)?,
        lesson: r.get(8)?,
        changes: r.get(9)?,
        active: r.get::<_, i64>(10)? != 0,
    })
}

/// Lessons in force, read by the hook with a connection of its own (read-only; an unmigrated
/// database has none).
pub fn active_lessons(conn: &Connection) -> rusqlite::Result<Vec<LessonRow>> {
    if !table_exists(conn, "selfheal_lessons")? {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT improvement_id, pattern_id, harness, scope, root, project, tool, program, lesson, changes, active
         FROM selfheal_lessons WHERE active = 1 ORDER BY improvement_id",
    )?;
    let rows = stmt.query_map([], read_lesson)?;
    rows.collect()
}

/// A requested transition with the columns it sets.
pub struct Change<'a> {
    pub transition: Transition,
    /// (column, text) pairs; columns must be among the improvement columns.
    pub set: Vec<(&'static str, String)>,
    /// JSON text stored with the audit row.
    pub detail: Option<String>,
    pub at: &'a str,
    /// A verified outcome of the improvement's strategy (strategy id, success), recorded in the
    /// same transaction; a later verification of the same improvement replaces it.
    pub strategy_outcome: Option<(&'a str, bool)>,
    /// Who asks for it (recorded in the audit row).
    pub actor: Actor,
    /// The policy lines that allowed it, when the healing policy acts.
    pub rule: Option<&'a str>,
}

/// The result of a transition request.
#[derive(Debug)]
pub enum Outcome {
    Changed(ImprovementRow),
    /// Idempotent retry: nothing changed.
    Unchanged(ImprovementRow),
}

/// A read-write connection to the run history for lifecycle state.
pub struct LifecycleDb {
    conn: Connection,
    path: PathBuf,
    /// Whether the audit table has the `actor` column (always, once migrated; a read-only
    /// open of an older schema may lack it).
    has_actor: bool,
}

/// The improvement lifecycle's storage: improvements, their audit trail, lessons,
/// escalations, notification state and strategy outcomes. [`LifecycleDb`] keeps them in an
/// SQLite run history; `selfheal-postgres` in a shared PostgreSQL one. Every transition is
/// one transaction that checks the current state inside it, so two processes asking for the
/// same transition make it once.
pub trait LifecycleStore: Send {
    /// Inserts a new improvement in state `proposed` with its audit row, unless its pattern
    /// already has an open (proposed, tested or applied) improvement — checked inside the same
    /// write transaction, so concurrent proposals cannot both pass. Retries with a new id on the
    /// (unlikely) clash, so ids are never reused.
    fn insert(
        &mut self,
        row: &ImprovementRow,
        detail: Option<&str>,
        actor: Actor,
        rule: Option<&str>,
        new_id: &mut dyn FnMut() -> String,
    ) -> Result<ImprovementRow>;
    fn get(&self, id: &str) -> Result<Option<ImprovementRow>>;
    /// Improvements newest first, optionally by status, after a cursor `(created_at, id)`.
    fn list(
        &self,
        status: Option<&str>,
        limit: u32,
        after: Option<(&str, &str)>,
    ) -> Result<Vec<ImprovementRow>>;
    /// Improvement ids starting with `prefix`, newest first: at most `limit` of them, and how
    /// many match in all.
    fn ids_with_prefix(&self, prefix: &str, limit: usize) -> Result<(Vec<String>, u64)>;
    /// Counts per status.
    fn status_counts(&self) -> Result<Vec<(String, u64)>>;
    /// The audit trail of one improvement, oldest first.
    fn events(&self, id: &str) -> Result<Vec<AuditRow>>;
    /// Performs a transition atomically (see the module docs).
    fn transition(&mut self, id: &str, change: Change<'_>) -> Result<Outcome>;
    /// Stores the lesson of a proposed improvement.
    fn insert_lesson(&mut self, row: &LessonRow) -> Result<()>;
    /// The lesson of an improvement, if it has one.
    fn lesson(&self, improvement_id: &str) -> Result<Option<LessonRow>>;
    /// Records the files an apply wrote (or `None` after a rollback took them out).
    fn set_lesson_changes(&mut self, improvement_id: &str, changes: Option<&str>) -> Result<()>;
    /// Verified outcomes per strategy: (successes, failures).
    fn strategy_outcomes(&self) -> Result<std::collections::HashMap<String, (u64, u64)>>;
    /// Who made the first transition `action` of improvement `id` (e.g. who proposed or
    /// applied it); `None` when not recorded.
    fn actor_of(&self, id: &str, action: &str) -> Result<Option<Actor>>;
    /// The improvements and audit rows the healing numbers of a window starting at `from_ms`
    /// need (see [`healing_facts`]).
    fn healing_facts(&self, from_ms: i64) -> Result<(Vec<ImprovementFacts>, Vec<TransitionFacts>)>;
    /// Every pattern id the lifecycle refers to (improvements and open escalations).
    fn referenced_pattern_ids(&self) -> Result<Vec<String>>;
    /// Moves everything recorded under pattern `old` to pattern `new` in one transaction:
    /// improvements keep `old` in `legacy_pattern_id` and get an audit row; open escalations
    /// follow. Returns the improvements changed.
    fn rename_pattern(&mut self, old: &str, new: &str, at: &str) -> Result<u64>;
    /// Improvements of one pattern (any status), oldest first.
    fn by_pattern(&self, pattern_id: &str) -> Result<Vec<ImprovementRow>>;
    /// Opens an escalation unless the same (pattern, level, rule) is already open. Returns it
    /// when new.
    fn escalate(
        &mut self,
        pattern_id: &str,
        level: &str,
        rule: &str,
        reason: &str,
        at: &str,
    ) -> Result<Option<EscalationRow>>;
    /// Open escalations, optionally of one pattern, newest first.
    fn open_escalations(&self, pattern_id: Option<&str>) -> Result<Vec<EscalationRow>>;
    /// Resolves the open escalations of a pattern (e.g. after a verified fix).
    fn resolve_escalations(&mut self, pattern_id: &str, at: &str) -> Result<u64>;
    /// When `key` was last announced.
    fn last_notified(&self, key: &str) -> Result<Option<String>>;
    fn set_notified(&mut self, key: &str, at: &str, path: Option<&str>) -> Result<()>;
}

impl LifecycleDb {
    /// Opens `path` for writing and brings our tables up to date. The file must exist (the
    /// analysis validated it); a read-only file or a newer schema is a specific error.
    pub fn open(path: &Path) -> Result<LifecycleDb> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify_open_error(path, e))?;
        conn.busy_timeout(Duration::from_millis(5_000))?;
        let mut db = LifecycleDb {
            conn,
            path: path.to_path_buf(),
            has_actor: true,
        };
        db.migrate()?;
        Ok(db)
    }

    /// Opens `path` read-only, migrating nothing (for plans and dry runs that must not write).
    /// `None` when the file holds no lifecycle state yet (or only the oldest schema, before
    /// our columns of `improvements`); a newer schema is refused.
    pub fn open_read_only(path: &Path) -> Result<Option<LifecycleDb>> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify_open_error(path, e))?;
        conn.busy_timeout(Duration::from_millis(5_000))?;
        let map = |e| self_err(path, e);
        if !table_exists(&conn, "selfheal_migrations").map_err(map)? {
            return Ok(None);
        }
        let version: i64 = conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM selfheal_migrations",
                [],
                |r| r.get(0),
            )
            .map_err(map)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: path.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version < 2 {
            return Ok(None);
        }
        let has_actor = has_column(&conn, "selfheal_improvement_events", "actor").map_err(map)?;
        Ok(Some(LifecycleDb {
            conn,
            path: path.to_path_buf(),
            has_actor,
        }))
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        self_err(&self.path, e)
    }

    /// Applies the pending migrations, each in its own transaction.
    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let map = |e: rusqlite::Error| self_err(&path, e);
        let has_table: bool = self
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'selfheal_migrations'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(&map)?
            > 0;
        let current: i64 = if has_table {
            self.conn
                .query_row(
                    "SELECT COALESCE(MAX(version), 0) FROM selfheal_migrations",
                    [],
                    |r| r.get(0),
                )
                .map_err(&map)?
        } else {
            0
        };
        if current > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(&map)?;
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS selfheal_migrations(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )
            .map_err(&map)?;
            // Another process may have applied it while we waited for the write lock.
            let done: bool = tx
                .query_row(
                    "SELECT EXISTS(SELECT 1 FROM selfheal_migrations WHERE version = ?1)",
                    params![m.version],
                    |r| r.get(0),
                )
                .map_err(&map)?;
            if done {
                tx.commit().map_err(&map)?;
                continue;
            }
            match m.sql {
                Some(sql) => tx.execute_batch(sql).map_err(&map)?,
                None => extend_improvements(&tx).map_err(&map)?,
            }
            tx.execute(
                "INSERT INTO selfheal_migrations(version, name, applied_at) VALUES (?1, ?2, datetime('now'))",
                params![m.version, m.name],
            )
            .map_err(&map)?;
            tx.commit().map_err(&map)?;
        }
        Ok(())
    }
}

impl LifecycleStore for LifecycleDb {
    /// Inserts a new improvement in state `proposed` with its audit row, unless its pattern
    /// already has an open (proposed, tested or applied) improvement — checked inside the same
    /// write transaction, so concurrent proposals cannot both pass. Retries with a new id on the
    /// (unlikely) clash, so ids are never reused.
    fn insert(
        &mut self,
        row: &ImprovementRow,
        detail: Option<&str>,
        actor: Actor,
        rule: Option<&str>,
        new_id: &mut dyn FnMut() -> String,
    ) -> Result<ImprovementRow> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self_err(&path, e))?;
        let mut row = row.clone();
        if let Some(pattern) = &row.pattern_id {
            let open: Option<(String, String)> = tx
                .query_row(
                    "SELECT id, status FROM improvements WHERE pattern_id = ?1 AND status IN ('proposed', 'tested', 'applied') LIMIT 1",
                    params![pattern],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(|e| self_err(&path, e))?;
            if let Some((id, status)) = open {
                return Err(StoreError::Conflict(format!(
                    "pattern {pattern} already has improvement {id} in state {status}; test, apply or verify it, or reject it, before proposing another"
                )));
            }
        }
        loop {
            row.id = new_id();
            let taken: bool = tx
                .query_row(
                    "SELECT EXISTS(SELECT 1 FROM improvements WHERE id = ?1) OR EXISTS(SELECT 1 FROM selfheal_improvement_events WHERE improvement_id = ?1)",
                    params![row.id],
                    |r| r.get(0),
                )
                .map_err(|e| self_err(&path, e))?;
            if !taken {
                break;
            }
        }
        tx.execute(
            "INSERT INTO improvements(id, category, description, related_runs, changes_made, impact, created_at, status,
                pattern_id, strategy_id, priority, risk_level, expected_impact, actions, evidence, updated_at)
             VALUES (?1, ?2, ?3, ?4, NULL, NULL, ?5, 'proposed', ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?5)",
            params![
                row.id,
                row.category,
                row.description,
                row.related_runs,
                row.created_at,
                row.pattern_id,
                row.strategy_id,
                row.priority,
                row.risk_level,
                row.expected_impact,
                row.actions,
                row.evidence
            ],
        )
        .map_err(|e| self_err(&path, e))?;
        tx.execute(
            "INSERT INTO selfheal_improvement_events(improvement_id, at, action, from_status, to_status, detail, actor, rule)
             VALUES (?1, ?2, 'propose', NULL, 'proposed', ?3, ?4, ?5)",
            params![row.id, row.created_at, detail, actor.as_str(), rule],
        )
        .map_err(|e| self_err(&path, e))?;
        let stored = tx
            .query_row(
                &format!("{SELECT_IMPROVEMENT} WHERE id = ?1"),
                params![row.id],
                read_improvement,
            )
            .map_err(|e| self_err(&path, e))?;
        tx.commit().map_err(|e| self_err(&path, e))?;
        Ok(stored)
    }

    fn get(&self, id: &str) -> Result<Option<ImprovementRow>> {
        self.conn
            .query_row(
                &format!("{SELECT_IMPROVEMENT} WHERE id = ?1"),
                params![id],
                read_improvement,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Improvements newest first, optionally by status, after a cursor `(created_at, id)`.
    fn list(
        &self,
        status: Option<&str>,
        limit: u32,
        after: Option<(&str, &str)>,
    ) -> Result<Vec<ImprovementRow>> {
        let (cursor_at, cursor_id) = after.unwrap_or(("\u{10ffff}", ""));
        let mut stmt = self
            .conn
            .prepare(&format!(
                "{SELECT_IMPROVEMENT} WHERE (?1 IS NULL OR status = ?1) AND (created_at < ?2 OR (created_at = ?2 AND id < ?3))
                 ORDER BY created_at DESC, id DESC LIMIT ?4"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(
                params![
                    status,
                    cursor_at,
                    if after.is_some() {
                        cursor_id
                    } else {
                        "\u{10ffff}"
                    },
                    limit
                ],
                read_improvement,
            )
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Improvement ids starting with `prefix`, newest first: at most `limit` of them, and how
    /// many match in all.
    fn ids_with_prefix(&self, prefix: &str, limit: usize) -> Result<(Vec<String>, u64)> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id FROM improvements WHERE substr(id, 1, length(?1)) = ?1
                 ORDER BY created_at DESC, id DESC",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params![prefix]).map_err(|e| self.err(e))?;
        let (mut ids, mut total) = (Vec::new(), 0u64);
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            total += 1;
            if ids.len() < limit {
                ids.push(r.get(0).map_err(|e| self.err(e))?);
            }
        }
        Ok((ids, total))
    }

    /// Counts per status.
    fn status_counts(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT status, COUNT(*) FROM improvements GROUP BY status ORDER BY status")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// The audit trail of one improvement, oldest first.
    fn events(&self, id: &str) -> Result<Vec<AuditRow>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT id, at, action, from_status, to_status, detail, {} FROM selfheal_improvement_events
                 WHERE improvement_id = ?1 ORDER BY id",
                if self.has_actor {
                    "actor, rule"
                } else {
                    "NULL, NULL"
                }
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![id], |r| {
                Ok(AuditRow {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    action: r.get(2)?,
                    from_status: r.get(3)?,
                    to_status: r.get(4)?,
                    detail: r.get(5)?,
                    actor: r
                        .get::<_, Option<String>>(6)?
                        .as_deref()
                        .and_then(Actor::parse),
                    rule: r.get(7)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Performs a transition atomically (see the module docs).
    fn transition(&mut self, id: &str, change: Change<'_>) -> Result<Outcome> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self_err(&path, e))?;
        let Some(current) = tx
            .query_row(
                &format!("{SELECT_IMPROVEMENT} WHERE id = ?1"),
                params![id],
                read_improvement,
            )
            .optional()
            .map_err(|e| self_err(&path, e))?
        else {
            return Err(StoreError::NotFound {
                what: format!("improvement {id:?}"),
            });
        };
        let from = Status::parse(&current.status).ok_or_else(|| {
            StoreError::Conflict(format!(
                "improvement {id} has status {:?}, which self-healing-mcp does not manage",
                current.status
            ))
        })?;
        let to =
            match step(from, change.transition).map_err(|e| StoreError::Conflict(e.to_string()))? {
                Step::NoOp => return Ok(Outcome::Unchanged(current)),
                Step::To(to) => to,
            };
        let mut sets = vec!["status = ?1".to_string(), "updated_at = ?2".to_string()];
        let mut values: Vec<Value> = vec![
            Value::Text(to.as_str().into()),
            Value::Text(change.at.into()),
        ];
        for (column, value) in change.set {
            if !is_improvement_column(column) {
                return Err(StoreError::Index(format!(
                    "not an improvement column: {column}"
                )));
            }
            values.push(Value::Text(value));
            sets.push(format!("{column} = ?{}", values.len()));
        }
        values.push(Value::Text(id.into()));
        let sql = format!(
            "UPDATE improvements SET {} WHERE id = ?{}",
            sets.join(", "),
            values.len()
        );
        tx.execute(&sql, rusqlite::params_from_iter(values.iter()))
            .map_err(|e| self_err(&path, e))?;
        crash_point("transition:after_update");
        // The hook answers only lessons in force.
        tx.execute(
            "UPDATE selfheal_lessons SET active = ?1 WHERE improvement_id = ?2",
            params![
                i64::from(matches!(to, Status::Applied | Status::Verified)),
                id
            ],
        )
        .map_err(|e| self_err(&path, e))?;
        tx.execute(
            "INSERT INTO selfheal_improvement_events(improvement_id, at, action, from_status, to_status, detail, actor, rule)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![id, change.at, change.transition.as_str(), from.as_str(), to.as_str(), change.detail, change.actor.as_str(), change.rule],
        )
        .map_err(|e| self_err(&path, e))?;
        if let Some((strategy, success)) = change.strategy_outcome {
            tx.execute(
                "INSERT INTO selfheal_strategy_outcomes(improvement_id, strategy_id, success, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(improvement_id) DO UPDATE SET strategy_id = excluded.strategy_id, success = excluded.success, at = excluded.at",
                params![id, strategy, i64::from(success), change.at],
            )
            .map_err(|e| self_err(&path, e))?;
        }
        let stored = tx
            .query_row(
                &format!("{SELECT_IMPROVEMENT} WHERE id = ?1"),
                params![id],
                read_improvement,
            )
            .map_err(|e| self_err(&path, e))?;
        crash_point("transition:before_commit");
        tx.commit().map_err(|e| self_err(&path, e))?;
        crash_point("transition:after_commit");
        Ok(Outcome::Changed(stored))
    }

    /// Stores the lesson of a proposed improvement.
    fn insert_lesson(&mut self, row: &LessonRow) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO selfheal_lessons(improvement_id, pattern_id, harness, scope, root, project, tool, program, lesson, changes, active)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0)",
                params![row.improvement_id, row.pattern_id, row.harness, row.scope, row.root, row.project, row.tool, row.program, row.lesson, row.changes],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The lesson of an improvement, if it has one.
    fn lesson(&self, improvement_id: &str) -> Result<Option<LessonRow>> {
        self.conn
            .query_row(
                "SELECT improvement_id, pattern_id, harness, scope, root, project, tool, program, lesson, changes, active
                 FROM selfheal_lessons WHERE improvement_id = ?1",
                params![improvement_id],
                read_lesson,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records the files an apply wrote (or `None` after a rollback took them out).
    fn set_lesson_changes(&mut self, improvement_id: &str, changes: Option<&str>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE selfheal_lessons SET changes = ?1 WHERE improvement_id = ?2",
                params![changes, improvement_id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Verified outcomes per strategy: (successes, failures).
    fn strategy_outcomes(&self) -> Result<std::collections::HashMap<String, (u64, u64)>> {
        strategy_outcomes(&self.conn).map_err(|e| self.err(e))
    }

    /// Who made the first transition `action` of improvement `id` (e.g. who proposed or
    /// applied it); `None` when not recorded.
    fn actor_of(&self, id: &str, action: &str) -> Result<Option<Actor>> {
        if !self.has_actor {
            return Ok(None);
        }
        let actor: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT actor FROM selfheal_improvement_events WHERE improvement_id = ?1 AND action = ?2 ORDER BY id LIMIT 1",
                params![id, action],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(actor.flatten().as_deref().and_then(Actor::parse))
    }

    /// The improvements and audit rows the healing numbers of a window starting at `from_ms`
    /// need (see [`healing_facts`]).
    fn healing_facts(&self, from_ms: i64) -> Result<(Vec<ImprovementFacts>, Vec<TransitionFacts>)> {
        healing_facts(&self.conn, from_ms).map_err(|e| self.err(e))
    }

    /// Every pattern id the lifecycle refers to (improvements and open escalations).
    fn referenced_pattern_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT pattern_id FROM improvements WHERE pattern_id IS NOT NULL
                 UNION SELECT pattern_id FROM selfheal_escalations WHERE resolved_at IS NULL",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Moves everything recorded under pattern `old` to pattern `new` in one transaction:
    /// improvements keep `old` in `legacy_pattern_id` and get an audit row; open escalations
    /// follow. Returns the improvements changed.
    fn rename_pattern(&mut self, old: &str, new: &str, at: &str) -> Result<u64> {
        let path = self.path.clone();
        let map = |e: rusqlite::Error| self_err(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&map)?;
        let rows: Vec<(String, String)> = {
            let mut stmt = tx
                .prepare("SELECT id, status FROM improvements WHERE pattern_id = ?1")
                .map_err(&map)?;
            stmt.query_map(params![old], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(&map)?
                .collect::<rusqlite::Result<_>>()
                .map_err(&map)?
        };
        for (id, status) in &rows {
            tx.execute(
                "UPDATE improvements SET legacy_pattern_id = COALESCE(legacy_pattern_id, pattern_id), pattern_id = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, new, at],
            )
            .map_err(&map)?;
            tx.execute(
                "INSERT INTO selfheal_improvement_events(improvement_id, at, action, from_status, to_status, detail)
                 VALUES (?1, ?2, 'pattern_id_migrated', ?3, ?3, ?4)",
                params![
                    id,
                    at,
                    status,
                    format!("pattern id {old} (recorded error_type) is now {new} (cause)")
                ],
            )
            .map_err(&map)?;
        }
        tx.execute(
            "UPDATE selfheal_escalations SET pattern_id = ?2 WHERE pattern_id = ?1 AND resolved_at IS NULL",
            params![old, new],
        )
        .map_err(&map)?;
        tx.commit().map_err(&map)?;
        Ok(rows.len() as u64)
    }

    /// Improvements of one pattern (any status), oldest first.
    fn by_pattern(&self, pattern_id: &str) -> Result<Vec<ImprovementRow>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "{SELECT_IMPROVEMENT} WHERE pattern_id = ?1 ORDER BY created_at, id"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![pattern_id], read_improvement)
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Opens an escalation unless the same (pattern, level, rule) is already open. Returns it
    /// when new.
    fn escalate(
        &mut self,
        pattern_id: &str,
        level: &str,
        rule: &str,
        reason: &str,
        at: &str,
    ) -> Result<Option<EscalationRow>> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self_err(&path, e))?;
        let open: bool = tx
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM selfheal_escalations WHERE pattern_id = ?1 AND level = ?2 AND rule = ?3 AND resolved_at IS NULL)",
                params![pattern_id, level, rule],
                |r| r.get(0),
            )
            .map_err(|e| self_err(&path, e))?;
        if open {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO selfheal_escalations(pattern_id, level, rule, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![pattern_id, level, rule, reason, at],
        )
        .map_err(|e| self_err(&path, e))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(|e| self_err(&path, e))?;
        Ok(Some(EscalationRow {
            id,
            pattern_id: pattern_id.into(),
            level: level.into(),
            rule: rule.into(),
            reason: reason.into(),
            created_at: at.into(),
            resolved_at: None,
        }))
    }

    /// Open escalations, optionally of one pattern, newest first.
    fn open_escalations(&self, pattern_id: Option<&str>) -> Result<Vec<EscalationRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, pattern_id, level, rule, reason, created_at, resolved_at FROM selfheal_escalations
                 WHERE resolved_at IS NULL AND (?1 IS NULL OR pattern_id = ?1) ORDER BY id DESC",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![pattern_id], |r| {
                Ok(EscalationRow {
                    id: r.get(0)?,
                    pattern_id: r.get(1)?,
                    level: r.get(2)?,
                    rule: r.get(3)?,
                    reason: r.get(4)?,
                    created_at: r.get(5)?,
                    resolved_at: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Resolves the open escalations of a pattern (e.g. after a verified fix).
    fn resolve_escalations(&mut self, pattern_id: &str, at: &str) -> Result<u64> {
        let n = self
            .conn
            .execute(
                "UPDATE selfheal_escalations SET resolved_at = ?2 WHERE pattern_id = ?1 AND resolved_at IS NULL",
                params![pattern_id, at],
            )
            .map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    /// When `key` was last announced.
    fn last_notified(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT last_sent_at FROM selfheal_notifications WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn set_notified(&mut self, key: &str, at: &str, path: Option<&str>) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO selfheal_notifications(key, last_sent_at, path) VALUES (?1, ?2, ?3)
                 ON CONFLICT(key) DO UPDATE SET last_sent_at = excluded.last_sent_at, path = excluded.path",
                params![key, at, path],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        params![name],
        |r| r.get(0),
    )
}

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
        params![table, column],
        |r| r.get(0),
    )
}

/// Verified outcomes per strategy, (successes, failures); empty when the table is missing
/// (a history the lifecycle never wrote, read read-only).
pub fn strategy_outcomes(
    conn: &Connection,
) -> rusqlite::Result<std::collections::HashMap<String, (u64, u64)>> {
    if !table_exists(conn, "selfheal_strategy_outcomes")? {
        return Ok(Default::default());
    }
    let mut stmt = conn.prepare(
        "SELECT strategy_id, SUM(success), SUM(1 - success) FROM selfheal_strategy_outcomes GROUP BY strategy_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            (r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64),
        ))
    })?;
    rows.collect()
}

/// The improvements with a transition at or after `from_ms`, and all their audit rows (the
/// apply that explains a later verification may be older than the window). Works on any
/// schema: missing tables give nothing, a missing `actor` column gives unrecorded actors.
pub fn healing_facts(
    conn: &Connection,
    from_ms: i64,
) -> rusqlite::Result<(Vec<ImprovementFacts>, Vec<TransitionFacts>)> {
    if !table_exists(conn, "selfheal_improvement_events")? || !table_exists(conn, "improvements")? {
        return Ok((Vec::new(), Vec::new()));
    }
    let actor = if has_column(conn, "selfheal_improvement_events", "actor")? {
        "actor"
    } else {
        "NULL"
    };
    let evidence = if has_column(conn, "improvements", "evidence")? {
        "json_extract(CASE WHEN json_valid(evidence) THEN evidence END, '$.first_seen')"
    } else {
        "NULL"
    };
    // Stored instants are RFC 3339 UTC text; a second of slack covers the fractional form,
    // and the window is applied exactly on the parsed instants.
    let since = selfheal_core::time::format_ms(from_ms.saturating_sub(1_000));
    let mut stmt = conn.prepare(&format!(
        "SELECT e.improvement_id, e.at, e.action, e.from_status, e.to_status, {actor}
         FROM selfheal_improvement_events e
         WHERE e.improvement_id IN (SELECT improvement_id FROM selfheal_improvement_events WHERE at >= ?1)
         ORDER BY e.id"
    ))?;
    let transitions: Vec<TransitionFacts> = stmt
        .query_map(params![since], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?
        .filter_map(|row| match row {
            Ok((improvement_id, at, action, from_status, to_status, actor)) => parse_timestamp(&at)
                .map(|at_ms| {
                    Ok(TransitionFacts {
                        improvement_id,
                        at_ms,
                        action,
                        from_status,
                        to_status,
                        actor: actor.as_deref().and_then(Actor::parse),
                    })
                }),
            Err(e) => Some(Err(e)),
        })
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare(&format!(
        "SELECT id, status, {evidence} FROM improvements
         WHERE id IN (SELECT improvement_id FROM selfheal_improvement_events WHERE at >= ?1)"
    ))?;
    let improvements = stmt
        .query_map(params![since], |r| {
            Ok(ImprovementFacts {
                id: r.get(0)?,
                status: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                first_seen_ms: r
                    .get::<_, Option<String>>(2)?
                    .as_deref()
                    .and_then(parse_timestamp),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok((improvements, transitions))
}

/// Fault injection for the crash tests: when `SELFHEAL_CRASH_AT` names this point, the process
/// aborts on the spot (no unwinding, no rollback by us — like `kill -9`). Unset in normal use.
pub fn crash_point(name: &str) {
    if std::env::var("SELFHEAL_CRASH_AT").is_ok_and(|v| v == name) {
        std::process::abort();
    }
}

/// Maps an error met on the run history: a write refused by a read-only file is its own error,
/// the rest are classified like open errors (locked, corrupt, …).
fn self_err(path: &Path, e: rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) {
        return StoreError::ReadOnly {
            path: path.to_path_buf(),
        };
    }
    classify_open_error(path, e)
}

/// Whether a transition may set this column of `improvements`.
pub fn is_improvement_column(name: &str) -> bool {
    IMPROVEMENT_COLUMNS.iter().any(|(c, _)| *c == name)
        || [
            "changes_made",
            "impact",
            "applied_at",
            "verified_at",
            "related_runs",
        ]
        .contains(&name)
}

/// Adds our columns to `improvements` where missing.
fn extend_improvements(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let existing: Vec<String> = {
        let mut stmt = tx.prepare("PRAGMA table_info(improvements)")?;
        stmt.query_map([], |r| r.get::<_, String>(1))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (column, kind) in IMPROVEMENT_COLUMNS {
        if !existing.iter().any(|c| c == column) {
            tx.execute_batch(&format!(
                "ALTER TABLE improvements ADD COLUMN {column} {kind}"
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::init_run_history;

    fn schema(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
            .unwrap();
        let mut out: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let mut cols = conn
            .prepare("SELECT name FROM pragma_table_info('improvements') ORDER BY name")
            .unwrap();
        out.extend(
            cols.query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(|r| format!("improvements.{}", r.unwrap())),
        );
        out
    }

    #[test]
    fn upgrading_an_old_history_matches_a_fresh_schema_and_keeps_rows() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.db");
        init_run_history(&old).unwrap();
        Connection::open(&old)
            .unwrap()
            .execute(
                "INSERT INTO improvements(id, category, description, created_at, status) VALUES ('legacy-1', 'prompt', 'by the agent', '2026-01-01', 'applied')",
                [],
            )
            .unwrap();
        LifecycleDb::open(&old).unwrap();
        let fresh = dir.path().join("fresh.db");
        init_run_history(&fresh).unwrap();
        LifecycleDb::open(&fresh).unwrap();
        // A history without an improvements table at all.
        let bare = dir.path().join("bare.db");
        Connection::open(&bare)
            .unwrap()
            .execute_batch("CREATE TABLE runs(id TEXT PRIMARY KEY, workflow_name TEXT NOT NULL, task TEXT NOT NULL, status TEXT NOT NULL, model TEXT NOT NULL, started_at TEXT NOT NULL, completed_at TEXT, duration_ms INTEGER, context TEXT, error TEXT, metadata TEXT)")
            .unwrap();
        LifecycleDb::open(&bare).unwrap();

        let old_schema = schema(&Connection::open(&old).unwrap());
        assert_eq!(old_schema, schema(&Connection::open(&fresh).unwrap()));
        let db = LifecycleDb::open(&old).unwrap();
        let legacy = db.get("legacy-1").unwrap().unwrap();
        assert_eq!(
            (legacy.status.as_str(), legacy.description.as_str()),
            ("applied", "by the agent")
        );
        // Reopening applies nothing twice.
        let versions: i64 = db
            .conn
            .query_row("SELECT COUNT(*) FROM selfheal_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(versions, SCHEMA_VERSION);
    }

    #[test]
    fn a_newer_schema_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        init_run_history(&path).unwrap();
        LifecycleDb::open(&path).unwrap();
        Connection::open(&path)
            .unwrap()
            .execute("INSERT INTO selfheal_migrations(version, name, applied_at) VALUES (99, 'future', 'x')", [])
            .unwrap();
        let before = std::fs::read(&path).unwrap();
        let e = LifecycleDb::open(&path).err().unwrap();
        assert!(
            matches!(e, StoreError::NewerSchema { found: 99, .. }),
            "{e}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_read_only_open_of_a_history_without_lifecycle_state_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        init_run_history(&path).unwrap();
        assert!(LifecycleDb::open_read_only(&path).unwrap().is_none());
        let conn = Connection::open(&path).unwrap();
        assert_eq!(healing_facts(&conn, 0).unwrap().1.len(), 0);
        assert!(strategy_outcomes(&conn).unwrap().is_empty());
    }

    #[test]
    fn transitions_are_enforced_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        init_run_history(&path).unwrap();
        let mut db = LifecycleDb::open(&path).unwrap();
        let mut n = 0;
        let row = ImprovementRow {
            category: "retry".into(),
            description: "d".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            pattern_id: Some("timeout:x".into()),
            ..Default::default()
        };
        let imp = db
            .insert(&row, None, Actor::Person, None, &mut || {
                n += 1;
                format!("imp-{}", n.min(2))
            })
            .unwrap();
        let change = |t| Change {
            transition: t,
            set: vec![],
            detail: None,
            at: "2026-01-02T00:00:00Z",
            strategy_outcome: None,
            actor: Actor::Policy,
            rule: Some("line 2: auto_apply = true"),
        };
        let e = db
            .transition(&imp.id, change(Transition::Apply))
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .contains("legal next steps: test_improvement, reject_improvement"),
            "{e}"
        );
        db.transition(&imp.id, change(Transition::Test)).unwrap();
        let applied = db
            .transition(
                &imp.id,
                Change {
                    set: vec![("applied_at", "2026-01-02T00:00:00Z".into())],
                    ..change(Transition::Apply)
                },
            )
            .unwrap();
        assert!(
            matches!(applied, Outcome::Changed(ref r) if r.status == "applied" && r.applied_at.is_some())
        );
        db.transition(&imp.id, change(Transition::Rollback))
            .unwrap();
        assert!(matches!(
            db.transition(&imp.id, change(Transition::Rollback))
                .unwrap(),
            Outcome::Unchanged(_)
        ));
        let trail: Vec<String> = db
            .events(&imp.id)
            .unwrap()
            .into_iter()
            .map(|e| e.to_status)
            .collect();
        assert_eq!(trail, ["proposed", "tested", "applied", "rolled_back"]);
        let events = db.events(&imp.id).unwrap();
        assert_eq!(events[0].actor, Some(Actor::Person));
        assert_eq!(events[1].actor, Some(Actor::Policy));
        assert_eq!(events[1].rule.as_deref(), Some("line 2: auto_apply = true"));
        assert_eq!(db.actor_of(&imp.id, "apply").unwrap(), Some(Actor::Policy));
        assert_eq!(db.actor_of(&imp.id, "verify").unwrap(), None);
        let (improvements, transitions) = db.healing_facts(0).unwrap();
        assert_eq!(improvements.len(), 1);
        assert_eq!(transitions.len(), 4);

        assert!(matches!(
            db.transition("imp-404", change(Transition::Test)),
            Err(StoreError::NotFound { .. })
        ));
        // A read-only open sees the same state and writes nothing.
        drop(db);
        let before = std::fs::read(&path).unwrap();
        let ro = LifecycleDb::open_read_only(&path).unwrap().unwrap();
        assert_eq!(ro.events(&imp.id).unwrap().len(), 4);
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
