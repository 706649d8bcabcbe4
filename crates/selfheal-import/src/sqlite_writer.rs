//! The SQLite engine of the importer: the run-history file people already have, written in
//! `BEGIN IMMEDIATE` transactions (see [`crate::writer`] for what the rows mean).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use crate::error::{BUSY_TIMEOUT_MS, ImportError};
use crate::text::format_ts;
use crate::writer::{
    Applied, ApplyError, Batch, CallRow, Cell, FileRow, IMPORT_TABLES_SQL, ImportStore, RunAgg,
    RunRows, SCHEMA_VERSION, Session, Tables,
};

const OUR_TABLES: [&str; 4] = [
    "selfheal_import_meta",
    "selfheal_import_files",
    "selfheal_import_runs",
    "selfheal_import_calls",
];

/// Columns of the run-history tables this database has.
#[derive(Clone, Debug, Default)]
struct Columns {
    runs: HashSet<String>,
    events: HashSet<String>,
    metrics: HashSet<String>,
}

/// A run-history SQLite file open for writing.
pub struct SqliteStore {
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

impl SqliteStore {
    /// Opens (creating it and its parent folder when missing) the run-history database at
    /// `path` for writing, with the run-history tables and the importer's own. A file the
    /// importer creates is put in WAL mode; an existing file's journal mode is left alone.
    pub fn open(path: &Path) -> Result<SqliteStore, ImportError> {
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
        let mut writer = SqliteStore {
            conn,
            path: path.to_path_buf(),
            columns: Columns::default(),
            created: !existed,
        };
        writer.ensure_schema()?;
        Ok(writer)
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
}

impl ImportStore for SqliteStore {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn created(&self) -> bool {
        self.created
    }

    /// Every stored file row, without the readers' states (read with [`Writer::file_state`]
    /// for the files that changed).
    fn file_rows(&self) -> Result<HashMap<String, FileRow>, ImportError> {
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
    fn file_state(&self, path: &str) -> Result<Option<String>, ImportError> {
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
    fn file_row(&self, path: &str) -> Result<Option<FileRow>, ImportError> {
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
    fn same_start(
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
    fn apply(&mut self, batch: &Batch<'_>) -> Result<Applied, ApplyError> {
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
        let mut tables = SqliteTables {
            tx: &tx,
            columns: &self.columns,
            path: &path,
        };
        let applied = Session::write(&mut tables, batch)?;
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

/// One batch's transaction on SQLite.
struct SqliteTables<'t> {
    tx: &'t Transaction<'t>,
    columns: &'t Columns,
    path: &'t Path,
}

impl SqliteTables<'_> {
    fn err(&self, e: rusqlite::Error) -> ImportError {
        ImportError::db(self.path, e)
    }
}

impl Tables for SqliteTables<'_> {
    fn load_agg(&mut self, run_id: &str) -> Result<Option<RunAgg>, ImportError> {
        load_agg(self.tx, run_id).map_err(|e| self.err(e))
    }

    fn run_row_exists(&mut self, run_id: &str) -> Result<bool, ImportError> {
        self.tx
            .prepare_cached("SELECT 1 FROM runs WHERE id = ?1")
            .and_then(|mut s| s.exists(params![run_id]))
            .map_err(|e| self.err(e))
    }

    fn next_step(&mut self, run_id: &str) -> Result<i64, ImportError> {
        if !self.columns.events.contains("step_index") {
            return Ok(0);
        }
        self.tx
            .prepare_cached(
                "SELECT COALESCE(MAX(step_index) + 1, 0) FROM run_events WHERE run_id = ?1",
            )
            .and_then(|mut s| s.query_row(params![run_id], |r| r.get(0)))
            .map_err(|e| self.err(e))
    }

    fn call(&mut self, run_id: &str, call_id: &str) -> Result<Option<CallRow>, ImportError> {
        self.tx
            .prepare_cached(
                "SELECT tool, started_ms, state, pending_end FROM selfheal_import_calls
                 WHERE run_id = ?1 AND call_id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![run_id, call_id], |r| {
                    Ok(CallRow {
                        tool: r.get(0)?,
                        started_ms: r.get(1)?,
                        state: r.get(2)?,
                        pending_end: r.get(3)?,
                    })
                })
                .optional()
            })
            .map_err(|e| self.err(e))
    }

    fn runs_with_call(&mut self, call_id: &str) -> Result<Vec<String>, ImportError> {
        self.tx
            .prepare_cached("SELECT run_id FROM selfheal_import_calls WHERE call_id = ?1")
            .and_then(|mut s| {
                s.query_map(params![call_id], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
            .map_err(|e| self.err(e))
    }

    fn put_call(&mut self, run_id: &str, call_id: &str, row: CallRow) -> Result<(), ImportError> {
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO selfheal_import_calls(run_id, call_id, tool, started_ms, state, pending_end)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    run_id,
                    call_id,
                    row.tool,
                    row.started_ms,
                    row.state,
                    row.pending_end
                ])
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn insert_event(
        &mut self,
        run_id: &str,
        step: i64,
        kind: &str,
        data: &str,
        timestamp: &str,
    ) -> Result<(), ImportError> {
        let result = if self.columns.events.contains("step_index") {
            self.tx
                .prepare_cached(
                    "INSERT INTO run_events(run_id, step_index, event_type, event_data, timestamp) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .and_then(|mut s| s.execute(params![run_id, step, kind, data, timestamp]))
        } else {
            self.tx
                .prepare_cached(
                    "INSERT INTO run_events(run_id, event_type, event_data, timestamp) VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut s| s.execute(params![run_id, kind, data, timestamp]))
        };
        result.map(drop).map_err(|e| self.err(e))
    }

    fn save_run(
        &mut self,
        run_id: &str,
        agg: &RunAgg,
        rows: Option<&RunRows>,
    ) -> Result<(), ImportError> {
        (|| {
            save_agg(self.tx, run_id, agg)?;
            let Some(rows) = rows else {
                return Ok(());
            };
            // Deleted and inserted: the run gets a new rowid, which the index notices.
            self.tx
                .prepare_cached("DELETE FROM runs WHERE id = ?1")?
                .execute(params![run_id])?;
            insert_present(self.tx, "runs", &self.columns.runs, &rows.run)?;
            if self.columns.metrics.contains("run_id") {
                self.tx
                    .prepare_cached("DELETE FROM run_metrics WHERE run_id = ?1")?
                    .execute(params![run_id])?;
                insert_present(self.tx, "run_metrics", &self.columns.metrics, &rows.metrics)?;
            }
            Ok(())
        })()
        .map_err(|e| self.err(e))
    }
}

/// Inserts the values of the columns `table` has.
fn insert_present(
    tx: &Transaction<'_>,
    table: &str,
    columns: &HashSet<String>,
    values: &[(&'static str, Cell)],
) -> rusqlite::Result<()> {
    use rusqlite::types::Value as V;
    let present: Vec<(&str, V)> = values
        .iter()
        .filter(|(c, _)| columns.contains(*c))
        .map(|(c, v)| {
            let v = match v {
                Cell::Text(t) => V::Text(t.clone()),
                Cell::Int(i) => V::Integer(*i),
                Cell::Null => V::Null,
            };
            (*c, v)
        })
        .collect();
    let names: Vec<&str> = present.iter().map(|(c, _)| *c).collect();
    let marks: Vec<String> = (1..=present.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO {table}({}) VALUES ({})",
        names.join(", "),
        marks.join(", ")
    );
    tx.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(
            present.into_iter().map(|(_, v)| v),
        ))?;
    Ok(())
}

fn load_agg(tx: &Transaction<'_>, run_id: &str) -> rusqlite::Result<Option<RunAgg>> {
    tx.prepare_cached(
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
    .optional()
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
