//! The one writer of imported history: turns records into `runs`, `run_events` and
//! `run_metrics` rows of the run-history database, and keeps the importer's own state
//! (`selfheal_import_*`, schema/import_tables.sql).
//!
//! Every batch is one `BEGIN IMMEDIATE` transaction, which also moves the file's offset: a
//! crash, or another importer racing on the same file (caught by comparing the stored offset
//! with the one the batch was read from), leaves either the old state or the new one. A call
//! is written once per (run, call id) whoever sees it first (a hook, a transcript, a re-read
//! file, a copy); a call's end pairs with its start however far apart they were read.
//!
//! Runs written here are rewritten (deleted and inserted, so they get a new rowid that the
//! index notices) when a batch changes them; a run row that existed before the importer
//! first saw its id is never touched (its events are appended, nothing else).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use crate::error::{BUSY_TIMEOUT_MS, ImportError};
use crate::model::{CallEnd, CallStart, Format, Iteration, Record, RunFacts, RunStatus};
use crate::text::{format_ts, json_string, project_name};

/// The SQL of the importer's tables.
pub const IMPORT_TABLES_SQL: &str = include_str!("../../../schema/import_tables.sql");
/// Version of the importer's tables this binary writes.
pub const SCHEMA_VERSION: i64 = 2;

const OUR_TABLES: [&str; 4] = [
    "selfheal_import_meta",
    "selfheal_import_files",
    "selfheal_import_runs",
    "selfheal_import_calls",
];

/// What the importer remembers of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileRow {
    pub path: String,
    /// A format name, or `unknown`.
    pub format: String,
    pub size: i64,
    pub mtime_ns: i64,
    pub offset: i64,
    pub lines: i64,
    pub head_hash: String,
    pub head_len: i64,
    pub tail_hash: String,
    pub tail_len: i64,
    pub state: Option<String>,
    pub copy_of: Option<String>,
    pub note: Option<String>,
}

/// The file position a batch moves, checked against the stored one.
pub struct FileCommit<'a> {
    /// The stored offset the batch was read from (`None`: the file had no row).
    pub expected_offset: Option<i64>,
    pub row: &'a FileRow,
}

/// Records to write together.
pub struct Batch<'a> {
    /// The format of the source (the agent of runs that do not name one).
    pub format: Format,
    pub source_file: Option<&'a str>,
    /// The instant used for records that carry none (the file's mtime, or now).
    pub fallback_ms: i64,
    pub records: &'a [Record],
    pub file: Option<FileCommit<'a>>,
}

/// What a batch wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub events: u64,
    /// Calls started (tool_start written).
    pub started: u64,
    /// Calls completed (tool_complete written), and how many of them failed.
    pub completed: u64,
    pub failed: u64,
    pub iterations: u64,
    /// Starts, ends and iterations already written before (not written again).
    pub duplicates: u64,
    /// Change in the number of call ends waiting for their start (read before it): +1 when
    /// one is kept, -1 when its start arrives.
    pub awaiting_start: i64,
    pub new_runs: Vec<String>,
    pub touched_runs: Vec<String>,
}

/// Why a batch was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Another importer moved the file's offset since the batch was read.
    #[error("another import moved this file on")]
    Conflict,
    #[error(transparent)]
    Db(#[from] ImportError),
}

/// Aggregates of one run, from which its `runs` and `run_metrics` rows are written.
#[derive(Clone, Debug, Default)]
struct RunAgg {
    format: String,
    agent: Option<String>,
    cwd: Option<String>,
    workflow: Option<String>,
    source_file: Option<String>,
    parent_run_id: Option<String>,
    subagent: bool,
    task: Option<String>,
    model: Option<String>,
    status: Option<String>,
    error: Option<String>,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    next_step: i64,
    calls: i64,
    failed: i64,
    iterations: i64,
    iter_tokens_in: Option<i64>,
    iter_tokens_out: Option<i64>,
    total_tokens_in: Option<i64>,
    total_tokens_out: Option<i64>,
    synthetic: bool,
    foreign: bool,
    /// `team` / `user` / `organization` → value.
    attribution: std::collections::BTreeMap<String, String>,
    dirty: bool,
}

/// Columns of the run-history tables this database has.
#[derive(Clone, Debug, Default)]
struct Columns {
    runs: HashSet<String>,
    events: HashSet<String>,
    metrics: HashSet<String>,
}

pub struct Writer {
    conn: Connection,
    path: PathBuf,
    columns: Columns,
    created: bool,
}

fn table_columns(conn: &Connection, table: &str) -> rusqlite::Result<HashSet<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
    let cols = stmt
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<rusqlite::Result<HashSet<_>>>()?;
    Ok(cols)
}

fn opt_i64(v: Option<u64>) -> Option<i64> {
    v.map(|x| i64::try_from(x).unwrap_or(i64::MAX))
}

impl Writer {
    /// Opens (creating it and its parent folder when missing) the run-history database at
    /// `path` for writing, with the run-history tables and the importer's own. A file the
    /// importer creates is put in WAL mode; an existing file's journal mode is left alone.
    pub fn open(path: &Path) -> Result<Writer, ImportError> {
        let existed = std::fs::metadata(path)
            .map(|m| m.len() > 0)
            .unwrap_or(false);
        if !existed && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| ImportError::CannotOpen {
                path: path.to_path_buf(),
                detail: format!("cannot create its folder: {e}"),
            })?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| ImportError::db(path, e))?;
        conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))
            .map_err(|e| ImportError::db(path, e))?;
        if !existed {
            // Ours and new: WAL lets the analysis read while imports and hooks write.
            let _: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(|e| ImportError::db(path, e))?;
        }
        let journal: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(|e| ImportError::db(path, e))?;
        if journal.eq_ignore_ascii_case("wal") {
            // Each batch carries its file offsets: a batch lost to a power cut is read again
            // by the next import, so WAL's NORMAL durability (no fsync per commit) is enough.
            // This is a setting of this connection only, not of the file.
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(|e| ImportError::db(path, e))?;
            // Fewer, larger checkpoints (each one syncs): 64 MiB of WAL instead of 4 MiB.
            conn.pragma_update(None, "wal_autocheckpoint", 16_384)
                .map_err(|e| ImportError::db(path, e))?;
        }
        // The indexes a batch updates (calls by run and id, events by run) stay in memory
        // instead of being read back from the file for every call: 32 MiB at most.
        conn.pragma_update(None, "cache_size", -32_000)
            .map_err(|e| ImportError::db(path, e))?;
        let mut writer = Writer {
            conn,
            path: path.to_path_buf(),
            columns: Columns::default(),
            created: !existed,
        };
        writer.ensure_schema()?;
        Ok(writer)
    }

    /// Whether this writer created the database file.
    pub fn created(&self) -> bool {
        self.created
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Brings our own tables from an earlier schema version to this one, in one transaction.
    /// 1 → 2: `selfheal_import_runs.attribution`.
    fn migrate(&self) -> rusqlite::Result<()> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        if !table_columns(&tx, "selfheal_import_runs")?.contains("attribution") {
            tx.execute_batch("ALTER TABLE selfheal_import_runs ADD COLUMN attribution TEXT")?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO selfheal_import_meta(key, value) VALUES ('schema_version', ?1)",
            params![SCHEMA_VERSION.to_string()],
        )?;
        tx.commit()
    }

    fn err(&self, e: rusqlite::Error) -> ImportError {
        ImportError::db(&self.path, e)
    }

    fn ensure_schema(&mut self) -> Result<(), ImportError> {
        let present: HashSet<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                .map_err(|e| self.err(e))?;
            stmt.query_map([], |r| r.get::<_, String>(0))
                .map_err(|e| self.err(e))?
                .collect::<rusqlite::Result<_>>()
                .map_err(|e| self.err(e))?
        };
        // An existing run history must have the columns written (checked before creating
        // anything, so a foreign file is left untouched).
        for (table, required) in [
            ("runs", &["id"][..]),
            (
                "run_events",
                &["run_id", "event_type", "event_data", "timestamp"][..],
            ),
        ] {
            if !present.contains(table) {
                continue;
            }
            let cols = table_columns(&self.conn, table).map_err(|e| self.err(e))?;
            let missing: Vec<&str> = required
                .iter()
                .copied()
                .filter(|c| !cols.contains(*c))
                .collect();
            if !missing.is_empty() {
                return Err(ImportError::ForeignSchema {
                    path: self.path.clone(),
                    table: table.into(),
                    missing: missing.join(", "),
                });
            }
        }
        let complete = ["runs", "run_events", "run_metrics"]
            .iter()
            .chain(OUR_TABLES.iter())
            .all(|t| present.contains(*t));
        if !complete {
            let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
                .map_err(|e| ImportError::db(&self.path, e))?;
            tx.execute_batch(selfheal_store::source::RUN_HISTORY_SQL)
                .and_then(|()| tx.execute_batch(IMPORT_TABLES_SQL))
                .and_then(|()| {
                    tx.execute(
                        "INSERT OR IGNORE INTO selfheal_import_meta(key, value) VALUES ('schema_version', ?1)",
                        params![SCHEMA_VERSION.to_string()],
                    )
                })
                .and_then(|_| tx.commit())
                .map_err(|e| ImportError::db(&self.path, e))?;
        }
        let found: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM selfheal_import_meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let found = found.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        if found > SCHEMA_VERSION {
            return Err(ImportError::NewerSchema {
                path: self.path.clone(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION {
            self.migrate().map_err(|e| self.err(e))?;
        }
        let columns = Columns {
            runs: table_columns(&self.conn, "runs").map_err(|e| self.err(e))?,
            events: table_columns(&self.conn, "run_events").map_err(|e| self.err(e))?,
            metrics: table_columns(&self.conn, "run_metrics").map_err(|e| self.err(e))?,
        };
        self.columns = columns;
        Ok(())
    }

    /// Every stored file row, without the readers' states (read with [`Writer::file_state`]
    /// for the files that changed).
    pub fn file_rows(&self) -> Result<HashMap<String, FileRow>, ImportError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT path, format, size, mtime_ns, offset, lines, head_hash, head_len, tail_hash,
                        tail_len, NULL, copy_of, note FROM selfheal_import_files",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], read_file_row)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(rows.into_iter().map(|r| (r.path.clone(), r)).collect())
    }

    /// The reader's state stored for a file.
    pub fn file_state(&self, path: &str) -> Result<Option<String>, ImportError> {
        self.conn
            .query_row(
                "SELECT state FROM selfheal_import_files WHERE path = ?1",
                params![path],
                |r| r.get(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    /// The stored row of one file.
    pub fn file_row(&self, path: &str) -> Result<Option<FileRow>, ImportError> {
        self.conn
            .query_row(
                "SELECT path, format, size, mtime_ns, offset, lines, head_hash, head_len, tail_hash,
                        tail_len, state, copy_of, note FROM selfheal_import_files WHERE path = ?1",
                params![path],
                read_file_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Fully read files of this size and head fingerprint (candidates for being copies).
    pub fn same_start(
        &self,
        size: i64,
        head_hash: &str,
        except: &str,
    ) -> Result<Vec<FileRow>, ImportError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT path, format, size, mtime_ns, offset, lines, head_hash, head_len, tail_hash,
                        tail_len, state, copy_of, note FROM selfheal_import_files
                 WHERE size = ?1 AND head_hash = ?2 AND path <> ?3 AND offset = size AND note IS NULL",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![size, head_hash, except], read_file_row)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Writes a batch in one transaction.
    pub fn apply(&mut self, batch: &Batch<'_>) -> Result<Applied, ApplyError> {
        let path = self.path.clone();
        let db = |e: rusqlite::Error| ApplyError::Db(ImportError::db(&path, e));
        let tx =
            Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate).map_err(db)?;
        if let Some(file) = &batch.file {
            let current: Option<i64> = tx
                .query_row(
                    "SELECT offset FROM selfheal_import_files WHERE path = ?1",
                    params![file.row.path],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            if current != file.expected_offset {
                return Err(ApplyError::Conflict);
            }
        }
        let mut session = Session {
            tx: &tx,
            columns: &self.columns,
            batch,
            runs: HashMap::new(),
            applied: Applied::default(),
        };
        for record in batch.records {
            session.record(record).map_err(db)?;
        }
        session.finish().map_err(db)?;
        let applied = session.applied;
        if let Some(file) = &batch.file {
            write_file_row(&tx, file.row).map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(applied)
    }
}

fn read_file_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        path: r.get(0)?,
        format: r.get(1)?,
        size: r.get(2)?,
        mtime_ns: r.get(3)?,
        offset: r.get(4)?,
        lines: r.get(5)?,
        head_hash: r.get(6)?,
        head_len: r.get(7)?,
        tail_hash: r.get(8)?,
        tail_len: r.get(9)?,
        state: r.get(10)?,
        copy_of: r.get(11)?,
        note: r.get(12)?,
    })
}

fn write_file_row(tx: &Transaction<'_>, row: &FileRow) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO selfheal_import_files(path, format, size, mtime_ns, offset, lines,
            head_hash, head_len, tail_hash, tail_len, state, copy_of, note, imported_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        row.path,
        row.format,
        row.size,
        row.mtime_ns,
        row.offset,
        row.lines,
        row.head_hash,
        row.head_len,
        row.tail_hash,
        row.tail_len,
        row.state,
        row.copy_of,
        row.note,
        format_ts(chrono::Utc::now().timestamp_millis()),
    ])?;
    Ok(())
}

/// One transaction's work.
struct Session<'t, 'b> {
    tx: &'t Transaction<'t>,
    columns: &'t Columns,
    batch: &'b Batch<'b>,
    runs: HashMap<String, RunAgg>,
    applied: Applied,
}

impl Session<'_, '_> {
    fn record(&mut self, record: &Record) -> rusqlite::Result<()> {
        match record {
            Record::Run(f) => self.facts(f),
            Record::Start(s) => self.start(s),
            Record::End(e) => self.end(e),
            Record::Iteration(i) => self.iteration(i),
        }
    }

    fn run(&mut self, run_id: &str) -> rusqlite::Result<&mut RunAgg> {
        if !self.runs.contains_key(run_id) {
            let agg = self.load_run(run_id)?;
            self.runs.insert(run_id.to_string(), agg);
        }
        self.runs
            .get_mut(run_id)
            .ok_or(rusqlite::Error::QueryReturnedNoRows)
    }

    fn load_run(&mut self, run_id: &str) -> rusqlite::Result<RunAgg> {
        let stored = self
            .tx
            .prepare_cached(
                "SELECT format, agent, cwd, workflow, source_file, parent_run_id, subagent, task, model,
                        status, error, first_ms, last_ms, next_step, calls, failed, iterations,
                        iter_tokens_in, iter_tokens_out, total_tokens_in, total_tokens_out, synthetic,
                        foreign_run, attribution
                 FROM selfheal_import_runs WHERE run_id = ?1",
            )?
            .query_row(params![run_id], |r| {
                Ok(RunAgg {
                    format: r.get(0)?,
                    agent: r.get(1)?,
                    cwd: r.get(2)?,
                    workflow: r.get(3)?,
                    source_file: r.get(4)?,
                    parent_run_id: r.get(5)?,
                    subagent: r.get::<_, i64>(6)? != 0,
                    task: r.get(7)?,
                    model: r.get(8)?,
                    status: r.get(9)?,
                    error: r.get(10)?,
                    first_ms: r.get(11)?,
                    last_ms: r.get(12)?,
                    next_step: r.get(13)?,
                    calls: r.get(14)?,
                    failed: r.get(15)?,
                    iterations: r.get(16)?,
                    iter_tokens_in: r.get(17)?,
                    iter_tokens_out: r.get(18)?,
                    total_tokens_in: r.get(19)?,
                    total_tokens_out: r.get(20)?,
                    synthetic: r.get::<_, i64>(21)? != 0,
                    foreign: r.get::<_, i64>(22)? != 0,
                    attribution: r
                        .get::<_, Option<String>>(23)?
                        .and_then(|a| serde_json::from_str(&a).ok())
                        .unwrap_or_default(),
                    dirty: false,
                })
            })
            .optional()?;
        if let Some(agg) = stored {
            return Ok(agg);
        }
        let foreign = self
            .tx
            .prepare_cached("SELECT 1 FROM runs WHERE id = ?1")?
            .exists(params![run_id])?;
        let next_step: i64 = if self.columns.events.contains("step_index") {
            self.tx
                .prepare_cached(
                    "SELECT COALESCE(MAX(step_index) + 1, 0) FROM run_events WHERE run_id = ?1",
                )?
                .query_row(params![run_id], |r| r.get(0))?
        } else {
            0
        };
        if !foreign {
            self.applied.new_runs.push(run_id.to_string());
        }
        Ok(RunAgg {
            format: self.batch.format.source_name().to_string(),
            source_file: self.batch.source_file.map(str::to_string),
            next_step,
            foreign,
            dirty: true,
            ..RunAgg::default()
        })
    }

    fn facts(&mut self, f: &RunFacts) -> rusqlite::Result<()> {
        let agg = self.run(&f.run_id)?;
        let before = (
            agg.agent.clone(),
            agg.cwd.clone(),
            agg.task.clone(),
            agg.model.clone(),
            agg.status.clone(),
            agg.first_ms,
            agg.last_ms,
        );
        let first_set = |slot: &mut Option<String>, v: &Option<String>| {
            if slot.is_none()
                && let Some(v) = v.as_ref().filter(|v| !v.trim().is_empty())
            {
                *slot = Some(v.clone());
            }
        };
        first_set(&mut agg.agent, &f.agent);
        first_set(&mut agg.cwd, &f.cwd);
        first_set(&mut agg.workflow, &f.workflow);
        first_set(&mut agg.parent_run_id, &f.parent_run_id);
        first_set(&mut agg.task, &f.task);
        if let Some(m) = f.model.as_ref().filter(|m| !m.trim().is_empty()) {
            agg.model = Some(m.clone());
        }
        if let Some(s) = f.subagent {
            agg.subagent |= s;
        }
        if let Some(s) = f.status {
            agg.status = Some(s.as_str().to_string());
            agg.error = if s == RunStatus::Failed {
                f.error.clone().or(agg.error.take())
            } else {
                None
            };
        }
        if let Some(t) = f.at_ms {
            agg.first_ms = Some(agg.first_ms.map_or(t, |x| x.min(t)));
            agg.last_ms = Some(agg.last_ms.map_or(t, |x| x.max(t)));
        }
        if let Some(t) = f.tokens {
            agg.total_tokens_in = opt_i64(Some(t.input));
            agg.total_tokens_out = opt_i64(Some(t.output));
            agg.dirty = true;
        }
        for (key, value) in &f.attribution {
            if !value.trim().is_empty() && !agg.attribution.contains_key(*key) {
                agg.attribution.insert((*key).to_string(), value.clone());
                agg.dirty = true;
            }
        }
        if f.synthetic_time && !agg.synthetic {
            agg.synthetic = true;
            agg.dirty = true;
        }
        let after = (
            agg.agent.clone(),
            agg.cwd.clone(),
            agg.task.clone(),
            agg.model.clone(),
            agg.status.clone(),
            agg.first_ms,
            agg.last_ms,
        );
        if before != after {
            agg.dirty = true;
        }
        Ok(())
    }

    fn touch(&mut self, run_id: &str, at: i64) -> rusqlite::Result<i64> {
        let agg = self.run(run_id)?;
        agg.first_ms = Some(agg.first_ms.map_or(at, |x| x.min(at)));
        agg.last_ms = Some(agg.last_ms.map_or(at, |x| x.max(at)));
        agg.dirty = true;
        let step = agg.next_step;
        agg.next_step += 1;
        Ok(step)
    }

    fn event(
        &mut self,
        run_id: &str,
        step: i64,
        kind: &str,
        data: &str,
        at: i64,
    ) -> rusqlite::Result<()> {
        let has_step = self.columns.events.contains("step_index");
        let sql = if has_step {
            "INSERT INTO run_events(run_id, step_index, event_type, event_data, timestamp) VALUES (?1, ?2, ?3, ?4, ?5)"
        } else {
            "INSERT INTO run_events(run_id, event_type, event_data, timestamp) VALUES (?1, ?2, ?3, ?4)"
        };
        let ts = format_ts(at);
        let mut stmt = self.tx.prepare_cached(sql)?;
        if has_step {
            stmt.execute(params![run_id, step, kind, data, ts])?;
        } else {
            stmt.execute(rusqlite::params_from_iter([
                rusqlite::types::Value::Text(run_id.to_string()),
                rusqlite::types::Value::Text(kind.to_string()),
                rusqlite::types::Value::Text(data.to_string()),
                rusqlite::types::Value::Text(ts),
            ]))?;
        }
        self.applied.events += 1;
        Ok(())
    }

    /// Whether a Claude Code call id is already written for another run of the same session
    /// (the session, its subagents and sidechains): a forked subagent's transcript starts with
    /// a copy of its parent's calls, which are not calls of its own.
    fn replayed_in_family(&mut self, run_id: &str, call_id: &str) -> rusqlite::Result<bool> {
        let Some(rest) = run_id.strip_prefix("claude-code:") else {
            return Ok(false);
        };
        let session = rest.split(':').next().unwrap_or(rest);
        let family = format!("claude-code:{session}");
        Ok(self
            .tx
            .prepare_cached(
                "SELECT 1 FROM selfheal_import_calls WHERE call_id = ?1 AND run_id <> ?2
                   AND (run_id = ?3 OR substr(run_id, 1, length(?3) + 1) = ?3 || ':') LIMIT 1",
            )?
            .query_row(params![call_id, run_id, family], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn start(&mut self, s: &CallStart) -> rusqlite::Result<()> {
        if self.replayed_in_family(&s.run_id, &s.call_id)? {
            self.applied.duplicates += 1;
            return Ok(());
        }
        let at = s.at_ms.unwrap_or(self.batch.fallback_ms);
        // An unknown start instant is stored as unknown: no duration is derived from it.
        let inserted = self
            .tx
            .prepare_cached(
                "INSERT INTO selfheal_import_calls(run_id, call_id, tool, started_ms, state)
                 VALUES (?1, ?2, ?3, ?4, 0) ON CONFLICT DO NOTHING",
            )?
            .execute(params![s.run_id, s.call_id, s.tool, s.at_ms])?;
        let mut waiting: Option<CallEnd> = None;
        if inserted == 0 {
            let pending: Option<String> = self
                .tx
                .prepare_cached(
                    "SELECT pending_end FROM selfheal_import_calls
                     WHERE run_id = ?1 AND call_id = ?2 AND state = 3",
                )?
                .query_row(params![s.run_id, s.call_id], |r| r.get(0))
                .optional()?
                .flatten();
            let Some(pending) = pending else {
                self.applied.duplicates += 1;
                return Ok(());
            };
            // The call's end was read first: write the start, then the end.
            self.tx
                .prepare_cached(
                    "UPDATE selfheal_import_calls SET tool = ?3, started_ms = ?4, state = 0, pending_end = NULL
                     WHERE run_id = ?1 AND call_id = ?2",
                )?
                .execute(params![s.run_id, s.call_id, s.tool, s.at_ms])?;
            waiting = serde_json::from_str(&pending).ok();
            self.applied.awaiting_start -= 1;
        }
        let step = self.touch(&s.run_id, at)?;
        let mut data = String::with_capacity(64 + s.arguments.len() + s.tool.len());
        data.push_str("{\"type\":\"tool_start\",\"name\":");
        data.push_str(&json_string(&s.tool));
        data.push_str(",\"call_id\":");
        data.push_str(&json_string(&s.call_id));
        data.push_str(",\"arguments\":");
        data.push_str(if s.arguments.trim().is_empty() {
            "{}"
        } else {
            &s.arguments
        });
        data.push('}');
        self.event(&s.run_id, step, "tool_start", &data, at)?;
        self.applied.started += 1;
        if let Some(end) = waiting {
            self.end(&end)?;
        }
        Ok(())
    }

    fn end(&mut self, e: &CallEnd) -> rusqlite::Result<()> {
        let known: Option<(Option<String>, Option<i64>, i64)> = self
            .tx
            .prepare_cached(
                "SELECT tool, started_ms, state FROM selfheal_import_calls WHERE run_id = ?1 AND call_id = ?2",
            )?
            .query_row(params![e.run_id, e.call_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let Some((tool, started_ms, state)) = known else {
            // Read before its call: kept until the start is read (in this batch or a later one).
            let pending = serde_json::to_string(e).unwrap_or_default();
            self.tx
                .prepare_cached(
                    "INSERT INTO selfheal_import_calls(run_id, call_id, tool, started_ms, state, pending_end)
                     VALUES (?1, ?2, ?3, NULL, 3, ?4)",
                )?
                .execute(params![e.run_id, e.call_id, e.tool, pending])?;
            self.applied.awaiting_start += 1;
            return Ok(());
        };
        if state != 0 {
            // Completed already, an iteration key, or an end already waiting for its start.
            self.applied.duplicates += 1;
            return Ok(());
        }
        self.tx
            .prepare_cached(
                "UPDATE selfheal_import_calls SET state = 1 WHERE run_id = ?1 AND call_id = ?2",
            )?
            .execute(params![e.run_id, e.call_id])?;
        let at = e.at_ms.unwrap_or(self.batch.fallback_ms);
        let synthetic = self.run(&e.run_id)?.synthetic;
        let (duration, source) = match e.duration_ms {
            Some(d) => (Some(d), "recorded"),
            None if synthetic => (None, "timestamps"),
            None => (
                started_ms.filter(|s| at >= *s).map(|s| at - s),
                "timestamps",
            ),
        };
        let tool = e
            .tool
            .clone()
            .or(tool)
            .unwrap_or_else(|| "unknown".to_string());
        let step = self.touch(&e.run_id, at)?;
        let mut data = String::with_capacity(160 + e.result.len() + tool.len());
        data.push_str("{\"type\":\"tool_complete\",\"name\":");
        data.push_str(&json_string(&tool));
        data.push_str(",\"call_id\":");
        data.push_str(&json_string(&e.call_id));
        data.push_str(",\"result\":");
        data.push_str(&json_string(&e.result));
        data.push_str(",\"is_error\":");
        data.push_str(if e.is_error { "true" } else { "false" });
        data.push_str(",\"duration\":");
        match duration {
            Some(d) => data.push_str(&d.to_string()),
            None => data.push_str("null"),
        }
        data.push_str(",\"duration_source\":\"");
        data.push_str(source);
        data.push('"');
        if let Some(t) = &e.error_type {
            data.push_str(",\"error_type\":");
            data.push_str(&json_string(t));
        }
        if let Some(c) = e.exit_code {
            data.push_str(",\"exit_code\":");
            data.push_str(&c.to_string());
        }
        if e.interrupted {
            data.push_str(",\"interrupted\":true");
        }
        if let Some(s) = &e.status {
            data.push_str(",\"status\":");
            data.push_str(&json_string(s));
        }
        data.push('}');
        self.event(&e.run_id, step, "tool_complete", &data, at)?;
        let agg = self.run(&e.run_id)?;
        agg.calls += 1;
        if e.is_error {
            agg.failed += 1;
            self.applied.failed += 1;
        }
        self.applied.completed += 1;
        Ok(())
    }

    fn iteration(&mut self, i: &Iteration) -> rusqlite::Result<()> {
        let key = format!("iteration:{}", i.key);
        let at = i.at_ms.unwrap_or(self.batch.fallback_ms);
        let inserted = self
            .tx
            .prepare_cached(
                "INSERT INTO selfheal_import_calls(run_id, call_id, tool, started_ms, state)
                 VALUES (?1, ?2, NULL, ?3, 2) ON CONFLICT DO NOTHING",
            )?
            .execute(params![i.run_id, key, at])?;
        if inserted == 0 {
            self.applied.duplicates += 1;
            return Ok(());
        }
        let step = self.touch(&i.run_id, at)?;
        let num = |v: Option<u64>| v.map_or_else(|| "null".to_string(), |n| n.to_string());
        let data = format!(
            "{{\"type\":\"iteration\",\"tokens_in\":{},\"tokens_out\":{}}}",
            num(i.tokens_in),
            num(i.tokens_out)
        );
        self.event(&i.run_id, step, "iteration", &data, at)?;
        let agg = self.run(&i.run_id)?;
        agg.iterations += 1;
        if let Some(t) = opt_i64(i.tokens_in) {
            agg.iter_tokens_in = Some(agg.iter_tokens_in.unwrap_or(0).saturating_add(t));
        }
        if let Some(t) = opt_i64(i.tokens_out) {
            agg.iter_tokens_out = Some(agg.iter_tokens_out.unwrap_or(0).saturating_add(t));
        }
        self.applied.iterations += 1;
        Ok(())
    }

    /// Writes the runs a batch changed.
    fn finish(&mut self) -> rusqlite::Result<()> {
        let mut ids: Vec<&String> = self.runs.keys().collect();
        ids.sort();
        for id in ids {
            let Some(agg) = self.runs.get(id) else {
                continue;
            };
            if !agg.dirty {
                continue;
            }
            self.applied.touched_runs.push(id.clone());
            save_agg(self.tx, id, agg)?;
            if agg.foreign {
                continue;
            }
            write_run(self.tx, self.columns, id, agg, self.batch.fallback_ms)?;
            if !self.columns.metrics.is_empty() && self.columns.metrics.contains("run_id") {
                write_metrics(self.tx, self.columns, id, agg)?;
            }
        }
        Ok(())
    }
}

fn save_agg(tx: &Transaction<'_>, id: &str, a: &RunAgg) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO selfheal_import_runs(run_id, format, agent, cwd, workflow, source_file,
            parent_run_id, subagent, task, model, status, error, first_ms, last_ms, next_step, calls,
            failed, iterations, iter_tokens_in, iter_tokens_out, total_tokens_in, total_tokens_out,
            synthetic, foreign_run, attribution)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
    )?
    .execute(params![
        id,
        a.format,
        a.agent,
        a.cwd,
        a.workflow,
        a.source_file,
        a.parent_run_id,
        a.subagent as i64,
        a.task,
        a.model,
        a.status,
        a.error,
        a.first_ms,
        a.last_ms,
        a.next_step,
        a.calls,
        a.failed,
        a.iterations,
        a.iter_tokens_in,
        a.iter_tokens_out,
        a.total_tokens_in,
        a.total_tokens_out,
        a.synthetic as i64,
        a.foreign as i64,
        (!a.attribution.is_empty())
            .then(|| serde_json::to_string(&a.attribution).unwrap_or_default()),
    ])?;
    Ok(())
}

/// The agent of an aggregate: named by the source, else the format's own.
fn agent_of(a: &RunAgg) -> String {
    a.agent.clone().unwrap_or_else(|| {
        match Format::parse(&a.format) {
            Some(Format::Otel) => crate::otel::AGENT,
            Some(Format::Jsonl) => "unknown",
            Some(f) => f.as_str(),
            None => "unknown",
        }
        .to_string()
    })
}

fn write_run(
    tx: &Transaction<'_>,
    columns: &Columns,
    id: &str,
    a: &RunAgg,
    fallback_ms: i64,
) -> rusqlite::Result<()> {
    let agent = agent_of(a);
    let workflow = a
        .cwd
        .as_deref()
        .and_then(project_name)
        .or_else(|| a.workflow.clone())
        .unwrap_or_else(|| agent.clone());
    let status = a.status.clone().unwrap_or_else(|| "completed".to_string());
    let started = a.first_ms.unwrap_or(fallback_ms);
    let running = status == "running";
    let completed = (!running).then(|| a.last_ms.unwrap_or(started));
    let mut metadata = serde_json::Map::new();
    metadata.insert("agent".into(), agent.clone().into());
    metadata.insert("source_format".into(), a.format.clone().into());
    metadata.insert(
        "source_file".into(),
        a.source_file
            .clone()
            .map_or(serde_json::Value::Null, Into::into),
    );
    metadata.insert(
        "cwd".into(),
        a.cwd.clone().map_or(serde_json::Value::Null, Into::into),
    );
    if let Some(p) = &a.parent_run_id {
        metadata.insert("parent_run_id".into(), p.clone().into());
    }
    metadata.insert("subagent".into(), a.subagent.into());
    for (key, value) in &a.attribution {
        metadata.insert(key.clone(), value.clone().into());
    }
    metadata.insert(
        "timestamps".into(),
        if a.synthetic { "synthetic" } else { "recorded" }.into(),
    );
    let values: [(&str, rusqlite::types::Value); 10] = {
        use rusqlite::types::Value as V;
        let text = |s: String| V::Text(s);
        let opt = |o: Option<i64>| o.map_or(V::Null, V::Integer);
        [
            ("id", text(id.to_string())),
            ("workflow_name", text(workflow)),
            ("task", text(a.task.clone().unwrap_or_default())),
            ("status", text(status)),
            (
                "model",
                text(a.model.clone().unwrap_or_else(|| "unknown".into())),
            ),
            ("started_at", text(format_ts(started))),
            (
                "completed_at",
                completed.map_or(V::Null, |c| text(format_ts(c))),
            ),
            ("duration_ms", opt(completed.map(|c| (c - started).max(0)))),
            ("error", a.error.clone().map_or(V::Null, text)),
            (
                "metadata",
                text(serde_json::Value::Object(metadata).to_string()),
            ),
        ]
    };
    let present: Vec<&(&str, rusqlite::types::Value)> = values
        .iter()
        .filter(|(c, _)| columns.runs.contains(*c))
        .collect();
    tx.prepare_cached("DELETE FROM runs WHERE id = ?1")?
        .execute(params![id])?;
    let names: Vec<&str> = present.iter().map(|(c, _)| *c).collect();
    let marks: Vec<String> = (1..=present.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO runs({}) VALUES ({})",
        names.join(", "),
        marks.join(", ")
    );
    tx.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(present.iter().map(|(_, v)| v)))?;
    Ok(())
}

fn write_metrics(
    tx: &Transaction<'_>,
    columns: &Columns,
    id: &str,
    a: &RunAgg,
) -> rusqlite::Result<()> {
    use rusqlite::types::Value as V;
    let opt = |o: Option<i64>| o.map_or(V::Null, V::Integer);
    let tokens_in = a.total_tokens_in.or(a.iter_tokens_in);
    let tokens_out = a.total_tokens_out.or(a.iter_tokens_out);
    let values: [(&str, V); 7] = [
        ("run_id", V::Text(id.to_string())),
        ("total_tool_calls", V::Integer(a.calls)),
        ("successful_tool_calls", V::Integer(a.calls - a.failed)),
        ("failed_tool_calls", V::Integer(a.failed)),
        ("total_iterations", V::Integer(a.iterations)),
        ("total_tokens_in", opt(tokens_in)),
        ("total_tokens_out", opt(tokens_out)),
    ];
    let present: Vec<&(&str, V)> = values
        .iter()
        .filter(|(c, _)| columns.metrics.contains(*c))
        .collect();
    let names: Vec<&str> = present.iter().map(|(c, _)| *c).collect();
    let marks: Vec<String> = (1..=present.len()).map(|i| format!("?{i}")).collect();
    tx.prepare_cached("DELETE FROM run_metrics WHERE run_id = ?1")?
        .execute(params![id])?;
    let sql = format!(
        "INSERT INTO run_metrics({}) VALUES ({})",
        names.join(", "),
        marks.join(", ")
    );
    tx.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(present.iter().map(|(_, v)| v)))?;
    Ok(())
}
