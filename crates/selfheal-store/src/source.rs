//! The agent's run-history database: opened read-only, validated, read tolerantly.
//!
//! Opening never changes the file: no journal-mode switch, no pragma that persists, no table
//! created. Missing optional columns read as NULL; missing required tables or columns are a
//! specific error that says how to fix it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::error::{Result, StoreError, is_busy, is_corrupt};
use crate::history::{HealingFacts, RunHistory};

/// How long a read waits on a writer's lock before giving up.
pub const BUSY_TIMEOUT_MS: u64 = 3_000;

/// The SQL that creates the run-history tables (`self-heal init`).
pub const RUN_HISTORY_SQL: &str = include_str!("../../../schema/run_history.sql");

/// Columns every reader needs.
const REQUIRED_RUN_COLUMNS: [&str; 3] = ["id", "status", "started_at"];
const REQUIRED_EVENT_COLUMNS: [&str; 5] = ["id", "run_id", "event_type", "event_data", "timestamp"];

/// A read-only connection to a validated run-history file.
pub struct SourceDb {
    conn: Connection,
    path: PathBuf,
    runs_select: String,
}

/// One `runs` row as recorded (timestamps still text).
#[derive(Clone, Debug, Default)]
pub struct RunRow {
    pub rowid: i64,
    pub id: String,
    pub workflow_name: Option<String>,
    pub status: String,
    pub model: Option<String>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub metadata: Option<String>,
    pub tokens: Option<i64>,
    pub iterations: Option<i64>,
}

impl RunRow {
    /// DESIGN §3: the agent is `metadata.agent` when it names one, else `workflow_name`.
    pub fn agent(&self) -> String {
        self.metadata
            .as_deref()
            .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
            .and_then(|v| v.get("agent").and_then(|a| a.as_str()).map(str::to_string))
            .filter(|a| !a.trim().is_empty())
            .or_else(|| self.workflow_name.clone())
            .unwrap_or_else(|| "unknown".to_string())
    }
}

/// One `improvements` row as recorded.
#[derive(Clone, Debug)]
pub struct ImprovementRow {
    pub id: String,
    pub category: String,
    pub description: String,
    pub impact: Option<String>,
    pub status: String,
    pub created_at: String,
}

/// A run tagged with an improvement: (run id, status, started_at, mode: canary | shadow | tagged).
pub type TaggedRun = (String, String, Option<String>, String);

/// One `run_events` row, borrowed from the reading statement (valid for one callback).
#[derive(Clone, Copy, Debug)]
pub struct EventRef<'a> {
    pub id: i64,
    pub run_id: &'a str,
    pub event_type: &'a str,
    pub event_data: &'a str,
    pub timestamp: &'a str,
}

/// Opens `path` read-only and checks it holds a run history.
pub fn open_source(path: &Path) -> Result<SourceDb> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::Missing {
            path: path.to_path_buf(),
        },
        _ => StoreError::CannotOpen {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
    })?;
    if meta.is_dir() {
        return Err(StoreError::CannotOpen {
            path: path.to_path_buf(),
            detail: "it is a directory, not a database file".into(),
        });
    }
    if meta.len() == 0 {
        return Err(StoreError::Empty {
            path: path.to_path_buf(),
        });
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|e| classify_open_error(path, e))?;
    conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))
        .map_err(|e| classify_open_error(path, e))?;
    let mut db = SourceDb {
        conn,
        path: path.to_path_buf(),
        runs_select: String::new(),
    };
    db.validate()?;
    Ok(db)
}

/// Maps an SQLite error met while opening or reading to the state it reveals.
pub fn classify_open_error(path: &Path, e: rusqlite::Error) -> StoreError {
    if is_corrupt(&e) {
        StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }
    } else if is_busy(&e) {
        StoreError::Locked {
            path: path.to_path_buf(),
            waited_ms: BUSY_TIMEOUT_MS,
        }
    } else {
        StoreError::CannotOpen {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }
    }
}

/// Creates the run-history tables in `path` (a new or existing file). Existing tables are left
/// as they are; the journal mode is not touched.
pub fn init_run_history(path: &Path) -> Result<()> {
    let conn = Connection::open(path).map_err(|e| classify_open_error(path, e))?;
    conn.execute_batch(RUN_HISTORY_SQL)
        .map_err(|e| classify_open_error(path, e))?;
    Ok(())
}

impl SourceDb {
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        classify_open_error(&self.path, e)
    }

    fn columns(&self, table: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare(&format!("PRAGMA table_info(\"{table}\")"))
            .map_err(|e| self.err(e))?;
        let cols = stmt
            .query_map([], |r| r.get::<_, String>(1))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(cols)
    }

    fn validate(&mut self) -> Result<()> {
        // The first read is where a corrupt or locked file shows itself.
        let tables: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                .map_err(|e| self.err(e))?;
            stmt.query_map([], |r| r.get::<_, String>(0))
                .map_err(|e| self.err(e))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| self.err(e))?
        };
        let missing: Vec<&str> = ["runs", "run_events"]
            .into_iter()
            .filter(|t| !tables.iter().any(|x| x == t))
            .collect();
        if !missing.is_empty() {
            return Err(StoreError::MissingTables {
                path: self.path.clone(),
                missing: missing.join(", "),
            });
        }
        for (table, required) in [
            ("runs", &REQUIRED_RUN_COLUMNS[..]),
            ("run_events", &REQUIRED_EVENT_COLUMNS[..]),
        ] {
            let cols = self.columns(table)?;
            let absent: Vec<&str> = required
                .iter()
                .copied()
                .filter(|c| !cols.iter().any(|x| x == c))
                .collect();
            if !absent.is_empty() {
                return Err(StoreError::ForeignSchema {
                    path: self.path.clone(),
                    table: table.into(),
                    missing: absent.join(", "),
                });
            }
        }
        let run_cols = self.columns("runs")?;
        let opt = |c: &str| {
            if run_cols.iter().any(|x| x == c) {
                format!("r.{c}")
            } else {
                "NULL".to_string()
            }
        };
        let has_metrics = tables.iter().any(|t| t == "run_metrics")
            && self
                .columns("run_metrics")?
                .iter()
                .any(|c| c == "total_tokens_in");
        let (tokens, iterations, join) = if has_metrics {
            (
                "(COALESCE(m.total_tokens_in, 0) + COALESCE(m.total_tokens_out, 0))",
                "m.total_iterations",
                "LEFT JOIN run_metrics m ON m.run_id = r.id",
            )
        } else {
            ("NULL", "NULL", "")
        };
        self.runs_select = format!(
            "SELECT r.rowid, r.id, {wf}, r.status, {model}, r.started_at, {completed}, {duration}, {metadata}, {tokens}, {iterations} FROM runs r {join}",
            wf = opt("workflow_name"),
            model = opt("model"),
            completed = opt("completed_at"),
            duration = opt("duration_ms"),
            metadata = opt("metadata"),
        );
        Ok(())
    }

    fn read_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
        Ok(RunRow {
            rowid: r.get(0)?,
            id: text_lossy(r, 1)?.unwrap_or_default(),
            workflow_name: text_lossy(r, 2)?,
            status: text_lossy(r, 3)?.unwrap_or_default(),
            model: text_lossy(r, 4)?,
            started_at: text_lossy(r, 5)?,
            completed_at: text_lossy(r, 6)?,
            duration_ms: int_lossy(r, 7)?,
            metadata: text_lossy(r, 8)?,
            tokens: int_lossy(r, 9)?,
            iterations: int_lossy(r, 10)?,
        })
    }

    /// Direct access for callers that need a bespoke read (benchmarks' raw-SQL baselines).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl RunHistory for SourceDb {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn still_there(&self) -> Result<()> {
        if self.path.exists() {
            Ok(())
        } else {
            Err(StoreError::Missing {
                path: self.path.clone(),
            })
        }
    }

    fn reopen(&self) -> Result<Box<dyn RunHistory>> {
        Ok(Box::new(open_source(&self.path)?))
    }

    /// One read transaction: one snapshot, and one shared lock for many small reads (a read
    /// outside a transaction takes and drops the lock every time).
    fn read_together(&self, f: &mut dyn FnMut(&dyn RunHistory) -> Result<()>) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        f(self)?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Runs with `rowid > after`, in rowid order.
    fn runs_after(&self, after: i64, each: &mut dyn FnMut(RunRow) -> Result<()>) -> Result<i64> {
        let sql = format!("{} WHERE r.rowid > ?1 ORDER BY r.rowid", self.runs_select);
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params![after]).map_err(|e| self.err(e))?;
        let mut last = after;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let run = Self::read_run(row).map_err(|e| self.err(e))?;
            last = last.max(run.rowid);
            each(run)?;
        }
        Ok(last)
    }

    /// The current rows of the given run ids (those that still exist).
    fn runs_by_id(&self, ids: &[String]) -> Result<Vec<RunRow>> {
        let sql = format!("{} WHERE r.id = ?1", self.runs_select);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(run) = stmt
                .query_row(params![id], Self::read_run)
                .optional()
                .map_err(|e| self.err(e))?
            {
                out.push(run);
            }
        }
        Ok(out)
    }

    /// Events with `id > after`, in id order, at most `limit` of them, streamed without
    /// copying: text columns are borrowed (non-UTF-8 bytes are replaced, which copies).
    fn events_after(
        &self,
        after: i64,
        limit: i64,
        each: &mut dyn FnMut(EventRef<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, run_id, event_type, event_data, timestamp FROM run_events WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params![after, limit]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let id: i64 = r.get(0).map_err(|e| self.err(e))?;
            let run_id = text_ref(r, 1).map_err(|e| self.err(e))?;
            let event_type = text_ref(r, 2).map_err(|e| self.err(e))?;
            let event_data = text_ref(r, 3).map_err(|e| self.err(e))?;
            let timestamp = text_ref(r, 4).map_err(|e| self.err(e))?;
            each(EventRef {
                id,
                run_id: &run_id,
                event_type: &event_type,
                event_data: &event_data,
                timestamp: &timestamp,
            })?;
        }
        Ok(())
    }

    /// The events of run `run_id` around event `id`, in id order: up to `before` events before
    /// it, the event itself, and up to `after` events following it — what the recovery of a
    /// failure is mined from (two range reads of the run's index).
    fn run_events_around(
        &self,
        run_id: &str,
        id: i64,
        before: i64,
        after: i64,
    ) -> Result<Vec<(i64, String, String)>> {
        let read = |sql: &str, limit: i64| -> Result<Vec<(i64, String, String)>> {
            let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map(params![run_id, id, limit], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(|e| self.err(e))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| self.err(e))
        };
        let mut out = read(
            "SELECT id, event_type, CAST(event_data AS TEXT) FROM run_events WHERE run_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
            before,
        )?;
        out.reverse();
        out.extend(read(
            "SELECT id, event_type, CAST(event_data AS TEXT) FROM run_events WHERE run_id = ?1 AND id >= ?2 ORDER BY id LIMIT ?3",
            after + 1,
        )?);
        Ok(out)
    }

    /// Runs whose recorded working directory (`metadata.cwd`) is `project` or lies under it:
    /// (run id, started_at as recorded).
    fn runs_in_project(&self, project: &str) -> Result<Vec<(String, Option<String>)>> {
        let under = format!("{}/", project.trim_end_matches('/'));
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, started_at, json_extract(metadata, '$.cwd') FROM runs
                 WHERE json_valid(metadata) AND json_extract(metadata, '$.cwd') IS NOT NULL",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, started, cwd) = row.map_err(|e| self.err(e))?;
            if cwd.is_some_and(|c| c == project || c.starts_with(&under)) {
                out.push((id, started));
            }
        }
        Ok(out)
    }

    /// A fingerprint of event `id` (run and timestamp), to notice a replaced or rewritten file.
    fn event_fingerprint(&self, id: i64) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT run_id || '|' || timestamp FROM run_events WHERE id = ?1",
                params![id],
                |r| text_lossy(r, 0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    /// The largest `runs` rowid, 0 when there are none.
    fn max_run_rowid(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT COALESCE(MAX(rowid), 0) FROM runs", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// The largest event id, 0 when there are none.
    fn max_event_id(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM run_events", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))
    }

    /// The newest rows of the `improvements` table, if the table exists:
    /// (id, category, description, impact, status, created_at).
    fn recent_improvements(&self, limit: u32) -> Result<Vec<ImprovementRow>> {
        let exists: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'improvements'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        if exists == 0 {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, category, description, impact, status, created_at FROM improvements
                 ORDER BY created_at DESC, rowid DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![limit], |r| {
                Ok(ImprovementRow {
                    id: text_lossy(r, 0)?.unwrap_or_default(),
                    category: text_lossy(r, 1)?.unwrap_or_default(),
                    description: text_lossy(r, 2)?.unwrap_or_default(),
                    impact: text_lossy(r, 3)?,
                    status: text_lossy(r, 4)?.unwrap_or_default(),
                    created_at: text_lossy(r, 5)?.unwrap_or_default(),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Open escalations (pattern, level, rule, reason, created_at), newest first; empty when the
    /// lifecycle never ran on this file (no `selfheal_escalations` table).
    fn open_escalations(&self) -> Result<Vec<[String; 5]>> {
        let exists: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'selfheal_escalations'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        if exists == 0 {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT pattern_id, level, rule, reason, created_at FROM selfheal_escalations
                 WHERE resolved_at IS NULL ORDER BY id DESC LIMIT 50",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?])
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// The lifecycle's improvements and audit rows for the healing numbers of a window starting
    /// at `from_ms`, and the strategies' verified outcomes; empty when the lifecycle never wrote
    /// this file.
    fn healing_facts(&self, from_ms: i64) -> Result<HealingFacts> {
        let (improvements, transitions) =
            crate::lifecycle::healing_facts(&self.conn, from_ms).map_err(|e| self.err(e))?;
        let outcomes = crate::lifecycle::strategy_outcomes(&self.conn).map_err(|e| self.err(e))?;
        Ok((improvements, transitions, outcomes))
    }

    /// Runs whose `metadata` JSON tags them with `improvement_id` (under `improvement_id`,
    /// `canary`, `shadow`, or in an `improvements` list): (run id, status, started_at, mode).
    fn runs_tagged(&self, improvement_id: &str) -> Result<Vec<TaggedRun>> {
        let has_metadata = self.columns("runs")?.iter().any(|c| c == "metadata");
        if !has_metadata {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, status, started_at, metadata FROM runs WHERE instr(metadata, ?1) > 0",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![improvement_id], |r| {
                Ok((
                    text_lossy(r, 0)?.unwrap_or_default(),
                    text_lossy(r, 1)?.unwrap_or_default(),
                    text_lossy(r, 2)?,
                    text_lossy(r, 3)?.unwrap_or_default(),
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, status, started, metadata) = row.map_err(|e| self.err(e))?;
            let Some(mode) = tag_mode(&metadata, improvement_id) else {
                continue;
            };
            out.push((id, status, started, mode.to_string()));
        }
        Ok(out)
    }
}

/// How a run's `metadata` JSON tags it with `improvement_id`: `canary`, `shadow`, or
/// `tagged` (under `improvement_id` or in an `improvements` list); `None` when it does not.
pub fn tag_mode(metadata: &str, improvement_id: &str) -> Option<&'static str> {
    let meta = serde_json::from_str::<serde_json::Value>(metadata).ok()?;
    let is = |v: &serde_json::Value| v.as_str() == Some(improvement_id);
    if meta.get("canary").is_some_and(is) {
        Some("canary")
    } else if meta.get("shadow").is_some_and(is) {
        Some("shadow")
    } else if meta.get("improvement_id").is_some_and(is)
        || meta
            .get("improvements")
            .and_then(|l| l.as_array())
            .is_some_and(|l| l.iter().any(is))
    {
        Some("tagged")
    } else {
        None
    }
}

/// Reads a column as text whatever its storage class (agents write numbers into text columns
/// and vice versa); NULL stays `None`.
fn text_lossy(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(i)? {
        ValueRef::Null => None,
        ValueRef::Integer(v) => Some(v.to_string()),
        ValueRef::Real(v) => Some(v.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    })
}

/// Borrows a text column (empty for NULL); numbers are rendered, invalid UTF-8 replaced.
fn text_ref<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<std::borrow::Cow<'r, str>> {
    use rusqlite::types::ValueRef;
    use std::borrow::Cow;
    Ok(match r.get_ref(i)? {
        ValueRef::Null => Cow::Borrowed(""),
        ValueRef::Integer(v) => Cow::Owned(v.to_string()),
        ValueRef::Real(v) => Cow::Owned(v.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => match std::str::from_utf8(t) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => Cow::Owned(String::from_utf8_lossy(t).into_owned()),
        },
    })
}

/// Reads a column as an integer when it holds one (or numeric text); otherwise `None`.
fn int_lossy(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<i64>> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(i)? {
        ValueRef::Integer(v) => Some(v),
        ValueRef::Real(v) if v.is_finite() => Some(v.round() as i64),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse().ok()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(metadata: Option<&str>, workflow: &str) -> String {
        RunRow {
            workflow_name: Some(workflow.into()),
            metadata: metadata.map(str::to_string),
            ..Default::default()
        }
        .agent()
    }

    #[test]
    fn agent_prefers_metadata() {
        assert_eq!(agent(Some(r#"{"agent":"triage"}"#), "wf"), "triage");
        assert_eq!(agent(Some(r#"{"agent":""}"#), "wf"), "wf");
        assert_eq!(agent(Some("not json"), "wf"), "wf");
        assert_eq!(agent(None, "wf"), "wf");
    }

    #[test]
    fn each_database_state_has_its_own_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.db");
        assert!(matches!(
            open_source(&missing),
            Err(StoreError::Missing { .. })
        ));

        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(open_source(&empty), Err(StoreError::Empty { .. })));

        let corrupt = dir.path().join("corrupt.db");
        std::fs::write(&corrupt, vec![b'x'; 4096]).unwrap();
        assert!(
            matches!(open_source(&corrupt), Err(StoreError::Corrupt { .. })),
            "{:?}",
            open_source(&corrupt).err()
        );

        let foreign = dir.path().join("foreign.db");
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE t(x)")
            .unwrap();
        let e = open_source(&foreign).err().unwrap();
        assert!(
            e.to_string().contains("runs, run_events") && e.to_string().contains("self-heal init"),
            "{e}"
        );

        let wrong_cols = dir.path().join("cols.db");
        Connection::open(&wrong_cols)
            .unwrap()
            .execute_batch("CREATE TABLE runs(id TEXT); CREATE TABLE run_events(id INTEGER)")
            .unwrap();
        assert!(matches!(
            open_source(&wrong_cols),
            Err(StoreError::ForeignSchema { .. })
        ));

        let good = dir.path().join("good.db");
        init_run_history(&good).unwrap();
        let db = open_source(&good).unwrap();
        assert_eq!(db.max_event_id().unwrap(), 0);
    }

    #[test]
    fn opening_does_not_change_the_journal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        init_run_history(&path).unwrap();
        let mode = |p: &Path| -> String {
            Connection::open(p)
                .unwrap()
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap()
        };
        let before = mode(&path);
        let db = open_source(&path).unwrap();
        db.runs_after(0, &mut |_| Ok(())).unwrap();
        drop(db);
        assert_eq!(mode(&path), before);
    }

    #[test]
    fn locked_database_is_reported_as_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked.db");
        init_run_history(&path).unwrap();
        let writer = Connection::open(&path).unwrap();
        writer.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let started = std::time::Instant::now();
        let e = open_source(&path).err().unwrap();
        assert!(matches!(e, StoreError::Locked { .. }), "{e}");
        assert!(started.elapsed() >= Duration::from_millis(BUSY_TIMEOUT_MS / 2));
        writer.execute_batch("ROLLBACK").unwrap();
    }
}
