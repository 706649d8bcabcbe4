//! The improvement lifecycle kept in PostgreSQL ([`PgLifecycle`]): one lifecycle for every
//! server of a team.
//!
//! A transition is one transaction that reads the improvement `FOR UPDATE`, checks the move
//! with `selfheal_core::lifecycle::step` and writes the new state and its audit row: two
//! servers applying the same improvement at once queue on the row, and the second finds it
//! applied (an unchanged answer that names who applied it). A proposal and an escalation take
//! a transaction-level advisory lock on their pattern, so "one open improvement per pattern"
//! and "one open escalation per rule" hold across servers.

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, Row, Transaction};
use selfheal_core::healing::{ImprovementFacts, TransitionFacts};
use selfheal_core::lifecycle::{Actor, Status, Step, step};
use selfheal_core::time::parse_timestamp;
use selfheal_store::lifecycle::{
    AuditRow, Change, EscalationRow, ImprovementRow, LessonRow, LifecycleStore, Outcome,
    SELECT_IMPROVEMENT, crash_point, is_improvement_column,
};
use selfheal_store::{Result, StoreError};

use crate::PgError;

/// The first key of the lifecycle's advisory locks (the second is a hash of the pattern).
const PATTERN_LOCKS: i32 = 0x5e1f_0003;

/// The lifecycle of a PostgreSQL run history.
pub struct PgLifecycle {
    url: String,
    client: RefCell<Client>,
}

impl PgLifecycle {
    /// Connects to `url`, creating or migrating the tables (a use case that writes).
    pub fn open(url: &str) -> Result<PgLifecycle> {
        Ok(PgLifecycle {
            url: url.to_string(),
            client: RefCell::new(crate::connect_migrated(url)?),
        })
    }

    /// Connects for reading only (plans and dry runs): nothing is created or migrated.
    pub fn open_read_only(url: &str) -> Result<PgLifecycle> {
        Ok(PgLifecycle {
            url: url.to_string(),
            client: RefCell::new(crate::connect_existing(url)?),
        })
    }

    fn err(&self, e: postgres::Error) -> StoreError {
        PgError::of(&self.url, &e).into()
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        self.client
            .borrow_mut()
            .query(sql, params)
            .map_err(|e| self.err(e))
    }

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        self.client
            .borrow_mut()
            .execute(sql, params)
            .map_err(|e| self.err(e))
    }

    /// Runs `f` in one transaction.
    fn transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Transaction<'_>) -> std::result::Result<T, Failure>,
    ) -> Result<T> {
        let url = self.url.clone();
        let client = self.client.get_mut();
        let mut tx = client
            .transaction()
            .map_err(|e| StoreError::from(PgError::of(&url, &e)))?;
        let out = f(&mut tx).map_err(|e| e.into_store(&url))?;
        tx.commit()
            .map_err(|e| StoreError::from(PgError::of(&url, &e)))?;
        Ok(out)
    }
}

impl std::fmt::Debug for PgLifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PgLifecycle({})",
            selfheal_store::history::redact_url(&self.url)
        )
    }
}

/// Why a transaction's body stopped: the database, or a refusal of the lifecycle's own.
enum Failure {
    Db(postgres::Error),
    Store(StoreError),
}

impl From<postgres::Error> for Failure {
    fn from(e: postgres::Error) -> Self {
        Failure::Db(e)
    }
}

impl Failure {
    fn into_store(self, url: &str) -> StoreError {
        match self {
            Failure::Db(e) => PgError::of(url, &e).into(),
            Failure::Store(e) => e,
        }
    }
}

fn read_improvement(r: &Row) -> ImprovementRow {
    ImprovementRow {
        id: r.get(0),
        category: r.get(1),
        description: r.get(2),
        related_runs: r.get(3),
        changes_made: r.get(4),
        impact: r.get(5),
        created_at: r.get(6),
        applied_at: r.get(7),
        verified_at: r.get(8),
        status: r.get(9),
        pattern_id: r.get(10),
        strategy_id: r.get(11),
        priority: r.get(12),
        risk_level: r.get(13),
        expected_impact: r.get(14),
        actions: r.get(15),
        evidence: r.get(16),
        test_result: r.get(17),
        verification: r.get(18),
        commit_hash: r.get(19),
        config_edit: r.get(20),
        verification_due_at: r.get(21),
        updated_at: r.get(22),
        reason: r.get(23),
    }
}

const SELECT_LESSON: &str = "SELECT improvement_id, pattern_id, harness, scope, root, project, tool, program, lesson, changes, active FROM selfheal_lessons";

fn read_lesson(r: &Row) -> LessonRow {
    LessonRow {
        improvement_id: r.get(0),
        pattern_id: r.get(1),
        harness: r.get(2),
        scope: r.get(3),
        root: r.get(4),
        project: r.get(5),
        tool: r.get(6),
        program: r.get(7),
        lesson: r.get(8),
        changes: r.get(9),
        active: r.get(10),
    }
}

fn read_escalation(r: &Row) -> EscalationRow {
    EscalationRow {
        id: r.get(0),
        pattern_id: r.get(1),
        level: r.get(2),
        rule: r.get(3),
        reason: r.get(4),
        created_at: r.get(5),
        resolved_at: r.get(6),
    }
}

/// `improvements` and the audit rows: `$n` placeholders instead of SQLite's `?n`.
fn select_improvement(filter: &str) -> String {
    format!("{SELECT_IMPROVEMENT} {filter}")
}

impl LifecycleStore for PgLifecycle {
    fn insert(
        &mut self,
        row: &ImprovementRow,
        detail: Option<&str>,
        actor: Actor,
        rule: Option<&str>,
        new_id: &mut dyn FnMut() -> String,
    ) -> Result<ImprovementRow> {
        let mut row = row.clone();
        self.transaction(|tx| {
            if let Some(pattern) = &row.pattern_id {
                // Servers proposing for one pattern at once: one after the other.
                tx.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                    &[&PATTERN_LOCKS, pattern],
                )?;
                if let Some(open) = tx.query_opt(
                    "SELECT id, status FROM improvements WHERE pattern_id = $1
                     AND status IN ('proposed', 'tested', 'applied') LIMIT 1",
                    &[pattern],
                )? {
                    let (id, status): (String, String) = (open.get(0), open.get(1));
                    return Err(Failure::Store(StoreError::Conflict(format!(
                        "pattern {pattern} already has improvement {id} in state {status}; test, apply or verify it, or reject it, before proposing another"
                    ))));
                }
            }
            loop {
                row.id = new_id();
                let taken: bool = tx
                    .query_one(
                        "SELECT EXISTS(SELECT 1 FROM improvements WHERE id = $1)
                            OR EXISTS(SELECT 1 FROM selfheal_improvement_events WHERE improvement_id = $1)",
                        &[&row.id],
                    )?
                    .get(0);
                if !taken {
                    break;
                }
            }
            tx.execute(
                "INSERT INTO improvements(id, category, description, related_runs, changes_made, impact,
                    created_at, status, pattern_id, strategy_id, priority, risk_level, expected_impact,
                    actions, evidence, updated_at)
                 VALUES ($1, $2, $3, $4, NULL, NULL, $5, 'proposed', $6, $7, $8, $9, $10, $11, $12, $5)",
                &[
                    &row.id,
                    &row.category,
                    &row.description,
                    &row.related_runs,
                    &row.created_at,
                    &row.pattern_id,
                    &row.strategy_id,
                    &row.priority,
                    &row.risk_level,
                    &row.expected_impact,
                    &row.actions,
                    &row.evidence,
                ],
            )?;
            tx.execute(
                "INSERT INTO selfheal_improvement_events(improvement_id, at, action, from_status,
                    to_status, detail, actor, rule)
                 VALUES ($1, $2, 'propose', NULL, 'proposed', $3, $4, $5)",
                &[&row.id, &row.created_at, &detail, &actor.as_str(), &rule],
            )?;
            let stored = tx.query_one(&select_improvement("WHERE id = $1"), &[&row.id])?;
            Ok(read_improvement(&stored))
        })
    }

    fn get(&self, id: &str) -> Result<Option<ImprovementRow>> {
        Ok(self
            .query(&select_improvement("WHERE id = $1"), &[&id])?
            .first()
            .map(read_improvement))
    }

    fn list(
        &self,
        status: Option<&str>,
        limit: u32,
        after: Option<(&str, &str)>,
    ) -> Result<Vec<ImprovementRow>> {
        let (cursor_at, cursor_id) = match after {
            Some((at, id)) => (at, id),
            None => ("\u{10ffff}", "\u{10ffff}"),
        };
        let rows = self.query(
            &select_improvement(
                "WHERE ($1::text IS NULL OR status = $1)
                   AND (created_at < $2 OR (created_at = $2 AND id < $3))
                 ORDER BY created_at DESC, id DESC LIMIT $4",
            ),
            &[&status, &cursor_at, &cursor_id, &i64::from(limit)],
        )?;
        Ok(rows.iter().map(read_improvement).collect())
    }

    fn ids_with_prefix(&self, prefix: &str, limit: usize) -> Result<(Vec<String>, u64)> {
        let rows = self.query(
            "SELECT id FROM improvements WHERE starts_with(id, $1) ORDER BY created_at DESC, id DESC",
            &[&prefix],
        )?;
        let total = rows.len() as u64;
        Ok((rows.iter().take(limit).map(|r| r.get(0)).collect(), total))
    }

    fn status_counts(&self) -> Result<Vec<(String, u64)>> {
        let rows = self.query(
            "SELECT status, COUNT(*) FROM improvements GROUP BY status ORDER BY status",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect())
    }

    fn events(&self, id: &str) -> Result<Vec<AuditRow>> {
        let rows = self.query(
            "SELECT id, at, action, from_status, to_status, detail, actor, rule
             FROM selfheal_improvement_events WHERE improvement_id = $1 ORDER BY id",
            &[&id],
        )?;
        Ok(rows
            .iter()
            .map(|r| AuditRow {
                seq: r.get(0),
                at: r.get(1),
                action: r.get(2),
                from_status: r.get(3),
                to_status: r.get(4),
                detail: r.get(5),
                actor: r
                    .get::<_, Option<String>>(6)
                    .as_deref()
                    .and_then(Actor::parse),
                rule: r.get(7),
            })
            .collect())
    }

    fn transition(&mut self, id: &str, change: Change<'_>) -> Result<Outcome> {
        self.transaction(|tx| {
            // The row lock: a second server asking for the same transition waits here, then
            // reads the state the first one committed.
            let Some(current) =
                tx.query_opt(&select_improvement("WHERE id = $1 FOR UPDATE"), &[&id])?
            else {
                return Err(Failure::Store(StoreError::NotFound {
                    what: format!("improvement {id:?}"),
                }));
            };
            let current = read_improvement(&current);
            let from = Status::parse(&current.status).ok_or_else(|| {
                Failure::Store(StoreError::Conflict(format!(
                    "improvement {id} has status {:?}, which self-healing-mcp does not manage",
                    current.status
                )))
            })?;
            let to = match step(from, change.transition)
                .map_err(|e| Failure::Store(StoreError::Conflict(e.to_string())))?
            {
                Step::NoOp => return Ok(Outcome::Unchanged(current)),
                Step::To(to) => to,
            };
            let mut sets = vec!["status = $1".to_string(), "updated_at = $2".to_string()];
            let mut values: Vec<String> = vec![to.as_str().to_string(), change.at.to_string()];
            for (column, value) in change.set {
                if !is_improvement_column(column) {
                    return Err(Failure::Store(StoreError::Index(format!(
                        "not an improvement column: {column}"
                    ))));
                }
                values.push(value);
                // `priority` is the one integer column a transition could set.
                let cast = if column == "priority" { "::bigint" } else { "" };
                sets.push(format!("{column} = ${}{cast}", values.len()));
            }
            values.push(id.to_string());
            let sql = format!(
                "UPDATE improvements SET {} WHERE id = ${}",
                sets.join(", "),
                values.len()
            );
            let params: Vec<&(dyn ToSql + Sync)> =
                values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            tx.execute(&sql, &params)?;
            crash_point("transition:after_update");
            tx.execute(
                "UPDATE selfheal_lessons SET active = $1 WHERE improvement_id = $2",
                &[&matches!(to, Status::Applied | Status::Verified), &id],
            )?;
            tx.execute(
                "INSERT INTO selfheal_improvement_events(improvement_id, at, action, from_status,
                    to_status, detail, actor, rule)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &id,
                    &change.at,
                    &change.transition.as_str(),
                    &from.as_str(),
                    &to.as_str(),
                    &change.detail,
                    &change.actor.as_str(),
                    &change.rule,
                ],
            )?;
            if let Some((strategy, success)) = change.strategy_outcome {
                tx.execute(
                    "INSERT INTO selfheal_strategy_outcomes(improvement_id, strategy_id, success, at)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (improvement_id) DO UPDATE SET strategy_id = excluded.strategy_id,
                        success = excluded.success, at = excluded.at",
                    &[&id, &strategy, &success, &change.at],
                )?;
            }
            let stored = tx.query_one(&select_improvement("WHERE id = $1"), &[&id])?;
            crash_point("transition:before_commit");
            Ok(Outcome::Changed(read_improvement(&stored)))
        })
        .inspect(|_| crash_point("transition:after_commit"))
    }

    fn insert_lesson(&mut self, row: &LessonRow) -> Result<()> {
        self.execute(
            "INSERT INTO selfheal_lessons(improvement_id, pattern_id, harness, scope, root, project,
                tool, program, lesson, changes, active)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, FALSE)
             ON CONFLICT (improvement_id) DO UPDATE SET pattern_id = excluded.pattern_id,
                harness = excluded.harness, scope = excluded.scope, root = excluded.root,
                project = excluded.project, tool = excluded.tool, program = excluded.program,
                lesson = excluded.lesson, changes = excluded.changes, active = FALSE",
            &[
                &row.improvement_id,
                &row.pattern_id,
                &row.harness,
                &row.scope,
                &row.root,
                &row.project,
                &row.tool,
                &row.program,
                &row.lesson,
                &row.changes,
            ],
        )?;
        Ok(())
    }

    fn lesson(&self, improvement_id: &str) -> Result<Option<LessonRow>> {
        Ok(self
            .query(
                &format!("{SELECT_LESSON} WHERE improvement_id = $1"),
                &[&improvement_id],
            )?
            .first()
            .map(read_lesson))
    }

    fn set_lesson_changes(&mut self, improvement_id: &str, changes: Option<&str>) -> Result<()> {
        self.execute(
            "UPDATE selfheal_lessons SET changes = $1 WHERE improvement_id = $2",
            &[&changes, &improvement_id],
        )?;
        Ok(())
    }

    fn strategy_outcomes(&self) -> Result<HashMap<String, (u64, u64)>> {
        strategy_outcomes(&mut self.client.borrow_mut()).map_err(|e| self.err(e))
    }

    fn actor_of(&self, id: &str, action: &str) -> Result<Option<Actor>> {
        let rows = self.query(
            "SELECT actor FROM selfheal_improvement_events WHERE improvement_id = $1 AND action = $2
             ORDER BY id LIMIT 1",
            &[&id, &action],
        )?;
        Ok(rows
            .first()
            .and_then(|r| r.get::<_, Option<String>>(0))
            .as_deref()
            .and_then(Actor::parse))
    }

    fn healing_facts(&self, from_ms: i64) -> Result<(Vec<ImprovementFacts>, Vec<TransitionFacts>)> {
        healing_facts(&mut self.client.borrow_mut(), from_ms).map_err(|e| self.err(e))
    }

    fn referenced_pattern_ids(&self) -> Result<Vec<String>> {
        Ok(self
            .query(
                "SELECT pattern_id FROM improvements WHERE pattern_id IS NOT NULL
                 UNION SELECT pattern_id FROM selfheal_escalations WHERE resolved_at IS NULL",
                &[],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn rename_pattern(&mut self, old: &str, new: &str, at: &str) -> Result<u64> {
        self.transaction(|tx| {
            let rows = tx.query(
                "SELECT id, status FROM improvements WHERE pattern_id = $1 FOR UPDATE",
                &[&old],
            )?;
            for r in &rows {
                let (id, status): (String, String) = (r.get(0), r.get(1));
                tx.execute(
                    "UPDATE improvements SET legacy_pattern_id = COALESCE(legacy_pattern_id, pattern_id),
                        pattern_id = $2, updated_at = $3 WHERE id = $1",
                    &[&id, &new, &at],
                )?;
                tx.execute(
                    "INSERT INTO selfheal_improvement_events(improvement_id, at, action, from_status,
                        to_status, detail)
                     VALUES ($1, $2, 'pattern_id_migrated', $3, $3, $4)",
                    &[
                        &id,
                        &at,
                        &status,
                        &format!("pattern id {old} (recorded error_type) is now {new} (cause)"),
                    ],
                )?;
            }
            tx.execute(
                "UPDATE selfheal_escalations SET pattern_id = $2 WHERE pattern_id = $1 AND resolved_at IS NULL",
                &[&old, &new],
            )?;
            Ok(rows.len() as u64)
        })
    }

    fn by_pattern(&self, pattern_id: &str) -> Result<Vec<ImprovementRow>> {
        Ok(self
            .query(
                &select_improvement("WHERE pattern_id = $1 ORDER BY created_at, id"),
                &[&pattern_id],
            )?
            .iter()
            .map(read_improvement)
            .collect())
    }

    fn escalate(
        &mut self,
        pattern_id: &str,
        level: &str,
        rule: &str,
        reason: &str,
        at: &str,
    ) -> Result<Option<EscalationRow>> {
        self.transaction(|tx| {
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&PATTERN_LOCKS, &pattern_id],
            )?;
            let open: bool = tx
                .query_one(
                    "SELECT EXISTS(SELECT 1 FROM selfheal_escalations WHERE pattern_id = $1
                        AND level = $2 AND rule = $3 AND resolved_at IS NULL)",
                    &[&pattern_id, &level, &rule],
                )?
                .get(0);
            if open {
                return Ok(None);
            }
            let row = tx.query_one(
                "INSERT INTO selfheal_escalations(pattern_id, level, rule, reason, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 RETURNING id, pattern_id, level, rule, reason, created_at, resolved_at",
                &[&pattern_id, &level, &rule, &reason, &at],
            )?;
            Ok(Some(read_escalation(&row)))
        })
    }

    fn open_escalations(&self, pattern_id: Option<&str>) -> Result<Vec<EscalationRow>> {
        Ok(self
            .query(
                "SELECT id, pattern_id, level, rule, reason, created_at, resolved_at
                 FROM selfheal_escalations
                 WHERE resolved_at IS NULL AND ($1::text IS NULL OR pattern_id = $1) ORDER BY id DESC",
                &[&pattern_id],
            )?
            .iter()
            .map(read_escalation)
            .collect())
    }

    fn resolve_escalations(&mut self, pattern_id: &str, at: &str) -> Result<u64> {
        self.execute(
            "UPDATE selfheal_escalations SET resolved_at = $2 WHERE pattern_id = $1 AND resolved_at IS NULL",
            &[&pattern_id, &at],
        )
    }

    fn last_notified(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .query(
                "SELECT last_sent_at FROM selfheal_notifications WHERE key = $1",
                &[&key],
            )?
            .first()
            .map(|r| r.get(0)))
    }

    fn set_notified(&mut self, key: &str, at: &str, path: Option<&str>) -> Result<()> {
        self.execute(
            "INSERT INTO selfheal_notifications(key, last_sent_at, path) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET last_sent_at = excluded.last_sent_at, path = excluded.path",
            &[&key, &at, &path],
        )?;
        Ok(())
    }
}

/// Verified outcomes per strategy: (successes, failures).
pub(crate) fn strategy_outcomes(
    client: &mut Client,
) -> std::result::Result<HashMap<String, (u64, u64)>, postgres::Error> {
    let rows = client.query(
        "SELECT strategy_id, COUNT(*) FILTER (WHERE success), COUNT(*) FILTER (WHERE NOT success)
         FROM selfheal_strategy_outcomes GROUP BY strategy_id",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                (r.get::<_, i64>(1) as u64, r.get::<_, i64>(2) as u64),
            )
        })
        .collect())
}

/// The improvements with a transition at or after `from_ms`, and all their audit rows (as
/// the SQLite lifecycle's `healing_facts`).
pub(crate) fn healing_facts(
    client: &mut Client,
    from_ms: i64,
) -> std::result::Result<(Vec<ImprovementFacts>, Vec<TransitionFacts>), postgres::Error> {
    // Stored instants are RFC 3339 UTC text; a second of slack covers the fractional form,
    // and the window is applied exactly on the parsed instants.
    let since = selfheal_core::time::format_ms(from_ms.saturating_sub(1_000));
    let rows = client.query(
        "SELECT e.improvement_id, e.at, e.action, e.from_status, e.to_status, e.actor
         FROM selfheal_improvement_events e
         WHERE e.improvement_id IN (SELECT improvement_id FROM selfheal_improvement_events WHERE at >= $1)
         ORDER BY e.id",
        &[&since],
    )?;
    let transitions = rows
        .iter()
        .filter_map(|r| {
            let at: String = r.get(1);
            Some(TransitionFacts {
                improvement_id: r.get(0),
                at_ms: parse_timestamp(&at)?,
                action: r.get(2),
                from_status: r.get(3),
                to_status: r.get(4),
                actor: r
                    .get::<_, Option<String>>(5)
                    .as_deref()
                    .and_then(Actor::parse),
            })
        })
        .collect();
    let rows = client.query(
        "SELECT id, status, evidence FROM improvements
         WHERE id IN (SELECT improvement_id FROM selfheal_improvement_events WHERE at >= $1)",
        &[&since],
    )?;
    let improvements = rows
        .iter()
        .map(|r| ImprovementFacts {
            id: r.get(0),
            status: r.get(1),
            // `evidence` is our JSON; a row another writer left unreadable has no first_seen.
            first_seen_ms: r
                .get::<_, Option<String>>(2)
                .and_then(|e| serde_json::from_str::<serde_json::Value>(&e).ok())
                .and_then(|v| {
                    v.get("first_seen")
                        .and_then(|f| f.as_str())
                        .and_then(parse_timestamp)
                }),
        })
        .collect();
    Ok((improvements, transitions))
}

/// The one-healer lock of a PostgreSQL history: a session advisory lock held by a connection
/// of its own, released when it is dropped (or when the process dies and its connection
/// closes), so one `watch --heal` acts for the whole team.
pub struct HealerLock {
    _client: Client,
}

/// The key of the healer's advisory lock.
const HEALER_LOCK: i64 = 0x5e1f_4ea1_0004;

impl HealerLock {
    /// Takes the lock without waiting; `Ok(Err(holder))` says who holds it.
    pub fn try_take(
        url: &str,
    ) -> std::result::Result<std::result::Result<HealerLock, String>, PgError> {
        let host = std::env::var("HOSTNAME").unwrap_or_default();
        let name = format!(
            "self-heal healer pid {} {}",
            std::process::id(),
            host.trim()
        );
        let mut client = crate::connect_as(url, Some(&name))?;
        let taken: bool = client
            .query_one("SELECT pg_try_advisory_lock($1::bigint)", &[&HEALER_LOCK])
            .map_err(|e| PgError::of(url, &e))?
            .get(0);
        if taken {
            return Ok(Ok(HealerLock { _client: client }));
        }
        let holder: Option<String> = client
            .query_opt(
                "SELECT a.application_name || COALESCE(' at ' || host(a.client_addr), '')
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                 WHERE l.locktype = 'advisory' AND l.granted
                   AND l.classid::bigint = ($1::bigint >> 32) AND l.objid::bigint = ($1::bigint & 4294967295)
                 LIMIT 1",
                &[&HEALER_LOCK],
            )
            .map_err(|e| PgError::of(url, &e))?
            .map(|r| r.get(0));
        Ok(Err(holder.unwrap_or_else(|| "another process".into())))
    }
}

/// The lessons in force, for the hook (a connection of its own; a database without the
/// lifecycle's tables has none).
pub fn active_lessons(url: &str) -> std::result::Result<Vec<LessonRow>, PgError> {
    let mut client = crate::connect_existing(url)?;
    let rows = client
        .query(
            &format!("{SELECT_LESSON} WHERE active ORDER BY improvement_id"),
            &[],
        )
        .map_err(|e| PgError::of(url, &e))?;
    Ok(rows.iter().map(read_lesson).collect())
}
