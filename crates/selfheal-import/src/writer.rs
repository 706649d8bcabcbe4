//! The one writer of imported history: turns records into `runs`, `run_events` and
//! `run_metrics` rows of the run-history database, and keeps the importer's own state
//! (`selfheal_import_*`, schema/import_tables.sql).
//!
//! What records mean ([`Session`]) is written once; where the rows go is a storage trait:
//! [`ImportStore`] (a database the importer writes) hands each batch's transaction a
//! [`Tables`] to write through. The SQLite engine is [`crate::sqlite_writer`]; the
//! PostgreSQL one lives in `selfheal-postgres`.
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

use std::collections::HashMap;
use std::path::Path;

use crate::error::ImportError;
use crate::model::{CallEnd, CallStart, Format, Iteration, Record, RunFacts, RunStatus};
use crate::text::{format_ts, json_string, project_name};

/// The SQL of the importer's tables.
pub const IMPORT_TABLES_SQL: &str = include_str!("../../../schema/import_tables.sql");
/// Version of the importer's tables this binary writes.
pub const SCHEMA_VERSION: i64 = 2;

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

/// Aggregates of one run, from which its `runs` and `run_metrics` rows are written (stored
/// in `selfheal_import_runs`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunAgg {
    pub format: String,
    pub agent: Option<String>,
    pub cwd: Option<String>,
    pub workflow: Option<String>,
    pub source_file: Option<String>,
    pub parent_run_id: Option<String>,
    pub subagent: bool,
    pub task: Option<String>,
    pub model: Option<String>,
    pub status: Option<String>,
    pub error: Option<String>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    pub next_step: i64,
    pub calls: i64,
    pub failed: i64,
    pub iterations: i64,
    pub iter_tokens_in: Option<i64>,
    pub iter_tokens_out: Option<i64>,
    pub total_tokens_in: Option<i64>,
    pub total_tokens_out: Option<i64>,
    pub synthetic: bool,
    pub foreign: bool,
    /// `team` / `user` / `organization` → value.
    pub attribution: std::collections::BTreeMap<String, String>,
    pub dirty: bool,
}

/// `selfheal_import_calls.state`: a call started, completed, an iteration key, an end read
/// before its start.
pub const CALL_STARTED: i64 = 0;
pub const CALL_COMPLETED: i64 = 1;
pub const CALL_ITERATION: i64 = 2;
pub const CALL_AWAITING_START: i64 = 3;

/// One `selfheal_import_calls` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRow {
    pub tool: Option<String>,
    pub started_ms: Option<i64>,
    pub state: i64,
    /// For [`CALL_AWAITING_START`]: the end (JSON), written when the start arrives.
    pub pending_end: Option<String>,
}

/// A value of a derived row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Null,
}

/// The `runs` and `run_metrics` rows derived from a run's aggregates, as (column, value)
/// pairs; an engine writes the columns its tables have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRows {
    pub run: Vec<(&'static str, Cell)>,
    pub metrics: Vec<(&'static str, Cell)>,
}

/// A database the importer writes: the run-history tables and its own.
pub trait ImportStore: Send {
    /// Where it is, safe to print (a path, or a connection string without its password).
    fn describe(&self) -> String;
    /// Whether opening it created it.
    fn created(&self) -> bool;
    /// Every stored file row, without the readers' states.
    fn file_rows(&self) -> Result<HashMap<String, FileRow>, ImportError>;
    /// The reader's state stored for a file.
    fn file_state(&self, path: &str) -> Result<Option<String>, ImportError>;
    /// The stored row of one file.
    fn file_row(&self, path: &str) -> Result<Option<FileRow>, ImportError>;
    /// Fully read files of this size and head fingerprint (candidates for being copies).
    fn same_start(
        &self,
        size: i64,
        head_hash: &str,
        except: &str,
    ) -> Result<Vec<FileRow>, ImportError>;
    /// Writes a batch in one transaction: checks the file's stored offset, runs a
    /// [`Session`] over the engine's [`Tables`], moves the file's row, commits.
    fn apply(&mut self, batch: &Batch<'_>) -> Result<Applied, ApplyError>;
}

/// The reads and writes of one batch's transaction.
pub trait Tables {
    /// Every run and (run, call) the batch names, before any other call: an engine across a
    /// network loads what it needs in a few round trips instead of one per record.
    fn prefetch(&mut self, _runs: &[&str], _calls: &[(&str, &str)]) -> Result<(), ImportError> {
        Ok(())
    }
    /// The stored aggregates of a run the importer wrote before.
    fn load_agg(&mut self, run_id: &str) -> Result<Option<RunAgg>, ImportError>;
    /// Whether a `runs` row with this id exists (written by someone else, for a new run).
    fn run_row_exists(&mut self, run_id: &str) -> Result<bool, ImportError>;
    /// The step index after the run's last event (0 when the table has no steps).
    fn next_step(&mut self, run_id: &str) -> Result<i64, ImportError>;
    /// The row of a call, as written so far in this transaction.
    fn call(&mut self, run_id: &str, call_id: &str) -> Result<Option<CallRow>, ImportError>;
    /// The runs that have a call with this id.
    fn runs_with_call(&mut self, call_id: &str) -> Result<Vec<String>, ImportError>;
    /// Inserts or replaces a call's row.
    fn put_call(&mut self, run_id: &str, call_id: &str, row: CallRow) -> Result<(), ImportError>;
    /// Appends a `run_events` row.
    fn insert_event(
        &mut self,
        run_id: &str,
        step: i64,
        kind: &str,
        data: &str,
        timestamp: &str,
    ) -> Result<(), ImportError>;
    /// Stores a run's aggregates and, unless the run row is someone else's, its rows.
    fn save_run(
        &mut self,
        run_id: &str,
        agg: &RunAgg,
        rows: Option<&RunRows>,
    ) -> Result<(), ImportError>;
    /// Writes what was buffered (called once, after the last record).
    fn flush(&mut self) -> Result<(), ImportError> {
        Ok(())
    }
}

/// The importer's handle on its database, whichever engine.
pub struct Writer {
    store: Box<dyn ImportStore>,
}

impl Writer {
    /// Opens (creating it when missing) the SQLite run history at `path` for writing.
    pub fn open(path: &Path) -> Result<Writer, ImportError> {
        Ok(Writer::with_store(Box::new(
            crate::sqlite_writer::SqliteStore::open(path)?,
        )))
    }

    /// A writer over a store opened by the caller (PostgreSQL).
    pub fn with_store(store: Box<dyn ImportStore>) -> Writer {
        Writer { store }
    }

    /// Whether this writer created the database.
    pub fn created(&self) -> bool {
        self.store.created()
    }

    /// Where it writes, safe to print.
    pub fn describe(&self) -> String {
        self.store.describe()
    }

    /// Every stored file row, without the readers' states (read with [`Writer::file_state`]
    /// for the files that changed).
    pub fn file_rows(&self) -> Result<HashMap<String, FileRow>, ImportError> {
        self.store.file_rows()
    }

    /// The reader's state stored for a file.
    pub fn file_state(&self, path: &str) -> Result<Option<String>, ImportError> {
        self.store.file_state(path)
    }

    /// The stored row of one file.
    pub fn file_row(&self, path: &str) -> Result<Option<FileRow>, ImportError> {
        self.store.file_row(path)
    }

    /// Fully read files of this size and head fingerprint (candidates for being copies).
    pub fn same_start(
        &self,
        size: i64,
        head_hash: &str,
        except: &str,
    ) -> Result<Vec<FileRow>, ImportError> {
        self.store.same_start(size, head_hash, except)
    }

    /// Writes a batch in one transaction.
    pub fn apply(&mut self, batch: &Batch<'_>) -> Result<Applied, ApplyError> {
        self.store.apply(batch)
    }
}

pub(crate) fn opt_i64(v: Option<u64>) -> Option<i64> {
    v.map(|x| i64::try_from(x).unwrap_or(i64::MAX))
}

/// One transaction's work: what the records mean, whatever engine stores them.
pub struct Session<'t, 'b> {
    tables: &'t mut dyn Tables,
    batch: &'b Batch<'b>,
    runs: HashMap<String, RunAgg>,
    applied: Applied,
}

impl<'t, 'b> Session<'t, 'b> {
    /// Writes `batch`'s records through `tables` (inside the engine's transaction) and
    /// returns what was written.
    pub fn write(tables: &'t mut dyn Tables, batch: &'b Batch<'b>) -> Result<Applied, ImportError> {
        let mut runs: Vec<&str> = Vec::new();
        let mut calls: Vec<(&str, &str)> = Vec::new();
        for record in batch.records {
            match record {
                Record::Run(f) => runs.push(&f.run_id),
                Record::Start(s) => calls.push((&s.run_id, &s.call_id)),
                Record::End(e) => calls.push((&e.run_id, &e.call_id)),
                Record::Iteration(i) => runs.push(&i.run_id),
            }
        }
        runs.extend(calls.iter().map(|(r, _)| *r));
        runs.sort_unstable();
        runs.dedup();
        calls.sort_unstable();
        calls.dedup();
        tables.prefetch(&runs, &calls)?;
        let mut session = Session {
            tables,
            batch,
            runs: HashMap::new(),
            applied: Applied::default(),
        };
        for record in batch.records {
            session.record(record)?;
        }
        session.finish()?;
        session.tables.flush()?;
        Ok(session.applied)
    }

    fn record(&mut self, record: &Record) -> Result<(), ImportError> {
        match record {
            Record::Run(f) => self.facts(f),
            Record::Start(s) => self.start(s),
            Record::End(e) => self.end(e),
            Record::Iteration(i) => self.iteration(i),
        }
    }

    fn run(&mut self, run_id: &str) -> Result<&mut RunAgg, ImportError> {
        if !self.runs.contains_key(run_id) {
            let agg = self.load_run(run_id)?;
            self.runs.insert(run_id.to_string(), agg);
        }
        self.runs
            .get_mut(run_id)
            .ok_or_else(|| ImportError::Hook("a run vanished from the batch".into()))
    }

    fn load_run(&mut self, run_id: &str) -> Result<RunAgg, ImportError> {
        if let Some(agg) = self.tables.load_agg(run_id)? {
            return Ok(agg);
        }
        let foreign = self.tables.run_row_exists(run_id)?;
        let next_step = self.tables.next_step(run_id)?;
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

    fn facts(&mut self, f: &RunFacts) -> Result<(), ImportError> {
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

    fn touch(&mut self, run_id: &str, at: i64) -> Result<i64, ImportError> {
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
    ) -> Result<(), ImportError> {
        self.tables
            .insert_event(run_id, step, kind, data, &format_ts(at))?;
        self.applied.events += 1;
        Ok(())
    }

    /// Whether a Claude Code call id is already written for another run of the same session
    /// (the session, its subagents and sidechains): a forked subagent's transcript starts with
    /// a copy of its parent's calls, which are not calls of its own.
    fn replayed_in_family(&mut self, run_id: &str, call_id: &str) -> Result<bool, ImportError> {
        let Some(rest) = run_id.strip_prefix("claude-code:") else {
            return Ok(false);
        };
        let session = rest.split(':').next().unwrap_or(rest);
        let family = format!("claude-code:{session}");
        let in_family = |other: &str| {
            other != run_id
                && (other == family
                    || other
                        .strip_prefix(family.as_str())
                        .is_some_and(|rest| rest.starts_with(':')))
        };
        Ok(self
            .tables
            .runs_with_call(call_id)?
            .iter()
            .any(|other| in_family(other)))
    }

    fn start(&mut self, s: &CallStart) -> Result<(), ImportError> {
        if self.replayed_in_family(&s.run_id, &s.call_id)? {
            self.applied.duplicates += 1;
            return Ok(());
        }
        let at = s.at_ms.unwrap_or(self.batch.fallback_ms);
        // An unknown start instant is stored as unknown: no duration is derived from it.
        let mut waiting: Option<CallEnd> = None;
        if let Some(known) = self.tables.call(&s.run_id, &s.call_id)? {
            let (CALL_AWAITING_START, Some(pending)) = (known.state, known.pending_end) else {
                self.applied.duplicates += 1;
                return Ok(());
            };
            // The call's end was read first: write the start, then the end.
            waiting = serde_json::from_str(&pending).ok();
            self.applied.awaiting_start -= 1;
        }
        self.tables.put_call(
            &s.run_id,
            &s.call_id,
            CallRow {
                tool: Some(s.tool.clone()),
                started_ms: s.at_ms,
                state: CALL_STARTED,
                pending_end: None,
            },
        )?;
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

    fn end(&mut self, e: &CallEnd) -> Result<(), ImportError> {
        let Some(known) = self.tables.call(&e.run_id, &e.call_id)? else {
            // Read before its call: kept until the start is read (in this batch or a later one).
            let pending = serde_json::to_string(e).unwrap_or_default();
            self.tables.put_call(
                &e.run_id,
                &e.call_id,
                CallRow {
                    tool: e.tool.clone(),
                    started_ms: None,
                    state: CALL_AWAITING_START,
                    pending_end: Some(pending),
                },
            )?;
            self.applied.awaiting_start += 1;
            return Ok(());
        };
        if known.state != CALL_STARTED {
            // Completed already, an iteration key, or an end already waiting for its start.
            self.applied.duplicates += 1;
            return Ok(());
        }
        let (tool, started_ms) = (known.tool.clone(), known.started_ms);
        self.tables.put_call(
            &e.run_id,
            &e.call_id,
            CallRow {
                state: CALL_COMPLETED,
                ..known
            },
        )?;
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

    fn iteration(&mut self, i: &Iteration) -> Result<(), ImportError> {
        let key = format!("iteration:{}", i.key);
        let at = i.at_ms.unwrap_or(self.batch.fallback_ms);
        if self.tables.call(&i.run_id, &key)?.is_some() {
            self.applied.duplicates += 1;
            return Ok(());
        }
        self.tables.put_call(
            &i.run_id,
            &key,
            CallRow {
                tool: None,
                started_ms: Some(at),
                state: CALL_ITERATION,
                pending_end: None,
            },
        )?;
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
    fn finish(&mut self) -> Result<(), ImportError> {
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
            // A run row that existed before the importer saw its id is never touched.
            let rows = (!agg.foreign).then(|| run_rows(id, agg, self.batch.fallback_ms));
            self.tables.save_run(id, agg, rows.as_ref())?;
        }
        Ok(())
    }
}

/// The agent of an aggregate: named by the source, else the format's own.
pub fn agent_of(a: &RunAgg) -> String {
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

/// The `runs` and `run_metrics` rows of a run.
pub fn run_rows(id: &str, a: &RunAgg, fallback_ms: i64) -> RunRows {
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
    let opt = |o: Option<i64>| o.map_or(Cell::Null, Cell::Int);
    let run = vec![
        ("id", Cell::Text(id.to_string())),
        ("workflow_name", Cell::Text(workflow)),
        ("task", Cell::Text(a.task.clone().unwrap_or_default())),
        ("status", Cell::Text(status)),
        (
            "model",
            Cell::Text(a.model.clone().unwrap_or_else(|| "unknown".into())),
        ),
        ("started_at", Cell::Text(format_ts(started))),
        (
            "completed_at",
            completed.map_or(Cell::Null, |c| Cell::Text(format_ts(c))),
        ),
        ("duration_ms", opt(completed.map(|c| (c - started).max(0)))),
        ("error", a.error.clone().map_or(Cell::Null, Cell::Text)),
        (
            "metadata",
            Cell::Text(serde_json::Value::Object(metadata).to_string()),
        ),
    ];
    let metrics = vec![
        ("run_id", Cell::Text(id.to_string())),
        ("total_tool_calls", Cell::Int(a.calls)),
        ("successful_tool_calls", Cell::Int(a.calls - a.failed)),
        ("failed_tool_calls", Cell::Int(a.failed)),
        ("total_iterations", Cell::Int(a.iterations)),
        (
            "total_tokens_in",
            opt(a.total_tokens_in.or(a.iter_tokens_in)),
        ),
        (
            "total_tokens_out",
            opt(a.total_tokens_out.or(a.iter_tokens_out)),
        ),
    ];
    RunRows { run, metrics }
}
