//! The importer's writes into PostgreSQL ([`PgImportStore`]): what `import`, `hook` and
//! `collect` write when `--db` names a PostgreSQL database.
//!
//! A batch is one transaction under the writers' advisory lock ([`crate::WRITERS_LOCK`]).
//! Its reads are made up front ([`Tables::prefetch`]: the batch's runs and calls in three
//! queries) and its writes are buffered: events go in with one binary `COPY`, calls and runs
//! with array (`unnest`) upserts. A batch of 20,000 tool events is a handful of round trips.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, Row, Transaction};
use selfheal_import::ImportError;
use selfheal_import::writer::{
    Applied, ApplyError, Batch, CallRow, Cell, FileRow, ImportStore, RunAgg, RunRows, Session,
    Tables,
};
use selfheal_store::history::redact_url;

use crate::{PgError, WRITERS_LOCK, connect_migrated};

/// A PostgreSQL run history open for writing.
pub struct PgImportStore {
    url: String,
    /// `RefCell`: the trait's reads take `&self`; one thread uses a store at a time.
    client: RefCell<Client>,
    created: bool,
}

const FILE_COLUMNS: &str = "path, format, size, mtime_ns, \"offset\", lines, head_hash, head_len, tail_hash, tail_len, state, copy_of, note";

impl PgImportStore {
    /// Connects to `url`, creating or migrating the tables.
    pub fn open(url: &str) -> Result<PgImportStore, ImportError> {
        let mut client = connect_migrated(url)?;
        let created = client
            .query_one("SELECT NOT EXISTS (SELECT 1 FROM runs)", &[])
            .map_err(|e| PgError::of(url, &e))?
            .get(0);
        Ok(PgImportStore {
            url: url.to_string(),
            client: RefCell::new(client),
            created,
        })
    }

    /// The stored file rows matching `filter` (a `WHERE` clause).
    fn file_query(
        &self,
        filter: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<FileRow>, ImportError> {
        let sql = format!("SELECT {FILE_COLUMNS} FROM selfheal_import_files {filter}");
        let rows = self.client.borrow_mut().query(&sql, params);
        rows.map(|rows| rows.iter().map(read_file_row).collect())
            .map_err(|e| PgError::of(&self.url, &e).into())
    }
}

fn read_file_row(r: &Row) -> FileRow {
    FileRow {
        path: r.get(0),
        format: r.get(1),
        size: r.get(2),
        mtime_ns: r.get(3),
        offset: r.get(4),
        lines: r.get(5),
        head_hash: r.get(6),
        head_len: r.get(7),
        tail_hash: r.get(8),
        tail_len: r.get(9),
        state: r.get(10),
        copy_of: r.get(11),
        note: r.get(12),
    }
}

impl ImportStore for PgImportStore {
    fn describe(&self) -> String {
        redact_url(&self.url)
    }

    fn created(&self) -> bool {
        self.created
    }

    fn file_rows(&self) -> Result<HashMap<String, FileRow>, ImportError> {
        Ok(self
            .file_query("", &[])?
            .into_iter()
            .map(|mut row| {
                row.state = None;
                (row.path.clone(), row)
            })
            .collect())
    }

    fn file_state(&self, path: &str) -> Result<Option<String>, ImportError> {
        Ok(self.file_row(path)?.and_then(|r| r.state))
    }

    fn file_row(&self, path: &str) -> Result<Option<FileRow>, ImportError> {
        Ok(self
            .file_query("WHERE path = $1", &[&path])?
            .into_iter()
            .next())
    }

    fn same_start(
        &self,
        size: i64,
        head_hash: &str,
        except: &str,
    ) -> Result<Vec<FileRow>, ImportError> {
        self.file_query(
            "WHERE size = $1 AND head_hash = $2 AND path <> $3 AND \"offset\" = size AND note IS NULL",
            &[&size, &head_hash, &except],
        )
    }

    fn apply(&mut self, batch: &Batch<'_>) -> Result<Applied, ApplyError> {
        let url = self.url.clone();
        let db = |e: postgres::Error| ApplyError::Db(PgError::of(&url, &e).into());
        let client = self.client.get_mut();
        if client.is_closed() {
            // The database restarted since the last batch: one new connection, or the error.
            *client = crate::connect(&url).map_err(|e| ApplyError::Db(e.into()))?;
        }
        let mut tx = client.transaction().map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1::bigint)", &[&WRITERS_LOCK])
            .map_err(db)?;
        if let Some(file) = &batch.file {
            let current: Option<i64> = tx
                .query_opt(
                    "SELECT \"offset\" FROM selfheal_import_files WHERE path = $1",
                    &[&file.row.path],
                )
                .map_err(db)?
                .map(|r| r.get(0));
            if current != file.expected_offset {
                return Err(ApplyError::Conflict);
            }
        }
        let applied = {
            let mut tables = PgTables::new(&mut tx, &url);
            Session::write(&mut tables, batch)?
        };
        if let Some(file) = &batch.file {
            let r = file.row;
            tx.execute(
                "INSERT INTO selfheal_import_files(path, format, size, mtime_ns, \"offset\", lines,
                    head_hash, head_len, tail_hash, tail_len, state, copy_of, note, imported_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (path) DO UPDATE SET format = excluded.format, size = excluded.size,
                    mtime_ns = excluded.mtime_ns, \"offset\" = excluded.\"offset\", lines = excluded.lines,
                    head_hash = excluded.head_hash, head_len = excluded.head_len,
                    tail_hash = excluded.tail_hash, tail_len = excluded.tail_len,
                    state = excluded.state, copy_of = excluded.copy_of, note = excluded.note,
                    imported_at = excluded.imported_at",
                &[
                    &r.path,
                    &r.format,
                    &r.size,
                    &r.mtime_ns,
                    &r.offset,
                    &r.lines,
                    &r.head_hash,
                    &r.head_len,
                    &r.tail_hash,
                    &r.tail_len,
                    &r.state,
                    &r.copy_of,
                    &r.note,
                    &chrono::Utc::now()
                        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                        .to_string(),
                ],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(applied)
    }
}

/// One event to copy in.
struct NewEvent {
    run_id: String,
    step: i64,
    kind: String,
    data: String,
    timestamp: String,
}

/// One batch's transaction on PostgreSQL: what was read up front, and what to write.
struct PgTables<'a, 't> {
    tx: &'a mut Transaction<'t>,
    url: &'a str,
    aggs: HashMap<String, Option<RunAgg>>,
    run_rows: HashSet<String>,
    /// The next step of the batch's runs the importer has not written yet (0 when absent).
    steps: HashMap<String, i64>,
    calls: HashMap<(String, String), Option<CallRow>>,
    by_call: HashMap<String, Vec<String>>,
    dirty_calls: Vec<(String, String)>,
    events: Vec<NewEvent>,
    runs: Vec<(String, RunAgg, Option<RunRows>)>,
}

impl<'a, 't> PgTables<'a, 't> {
    fn new(tx: &'a mut Transaction<'t>, url: &'a str) -> Self {
        PgTables {
            tx,
            url,
            aggs: HashMap::new(),
            run_rows: HashSet::new(),
            steps: HashMap::new(),
            calls: HashMap::new(),
            by_call: HashMap::new(),
            dirty_calls: Vec::new(),
            events: Vec::new(),
            runs: Vec::new(),
        }
    }

    fn err(&self, e: postgres::Error) -> ImportError {
        PgError::of(self.url, &e).into()
    }

    fn write_events(&mut self) -> Result<(), postgres::Error> {
        if self.events.is_empty() {
            return Ok(());
        }
        let sink = self.tx.copy_in(
            "COPY run_events (run_id, step_index, event_type, event_data, timestamp) FROM STDIN BINARY",
        )?;
        let mut writer = BinaryCopyInWriter::new(
            sink,
            &[Type::TEXT, Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT],
        );
        for e in &self.events {
            writer.write(&[&e.run_id, &e.step, &e.kind, &e.data, &e.timestamp])?;
        }
        writer.finish()?;
        Ok(())
    }

    fn write_calls(&mut self) -> Result<(), postgres::Error> {
        if self.dirty_calls.is_empty() {
            return Ok(());
        }
        self.dirty_calls.sort();
        self.dirty_calls.dedup();
        let mut runs = Vec::new();
        let mut ids = Vec::new();
        let mut tools = Vec::new();
        let mut started = Vec::new();
        let mut states = Vec::new();
        let mut pending = Vec::new();
        for key in &self.dirty_calls {
            let Some(Some(row)) = self.calls.get(key) else {
                continue;
            };
            runs.push(key.0.as_str());
            ids.push(key.1.as_str());
            tools.push(row.tool.as_deref());
            started.push(row.started_ms);
            states.push(row.state as i16);
            pending.push(row.pending_end.as_deref());
        }
        self.tx.execute(
            "INSERT INTO selfheal_import_calls(run_id, call_id, tool, started_ms, state, pending_end)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::smallint[], $6::text[])
             ON CONFLICT (run_id, call_id) DO UPDATE SET tool = excluded.tool,
                started_ms = excluded.started_ms, state = excluded.state, pending_end = excluded.pending_end",
            &[&runs, &ids, &tools, &started, &states, &pending],
        )?;
        Ok(())
    }

    /// The runs' aggregates, rows and metrics: three array upserts whatever the number of runs.
    fn write_runs(&mut self) -> Result<(), postgres::Error> {
        if self.runs.is_empty() {
            return Ok(());
        }
        let mut aggs = AggColumns::default();
        for (id, a, _) in &self.runs {
            aggs.push(id, a);
        }
        aggs.upsert(self.tx)?;
        let derived: Vec<&RunRows> = self
            .runs
            .iter()
            .filter_map(|(_, _, r)| r.as_ref())
            .collect();
        if derived.is_empty() {
            return Ok(());
        }
        let text = |rows: &[&RunRows], metrics: bool, column: &str| -> Vec<Option<String>> {
            rows.iter()
                .map(
                    |r| match cell(if metrics { &r.metrics } else { &r.run }, column) {
                        Cell::Text(t) => Some(t.clone()),
                        Cell::Int(i) => Some(i.to_string()),
                        Cell::Null => None,
                    },
                )
                .collect()
        };
        let int = |rows: &[&RunRows], metrics: bool, column: &str| -> Vec<Option<i64>> {
            rows.iter()
                .map(
                    |r| match cell(if metrics { &r.metrics } else { &r.run }, column) {
                        Cell::Int(i) => Some(*i),
                        Cell::Text(t) => t.parse().ok(),
                        Cell::Null => None,
                    },
                )
                .collect()
        };
        let d = &derived;
        self.tx.execute(
            "INSERT INTO runs(id, workflow_name, task, status, model, started_at, completed_at,
                duration_ms, error, metadata)
             SELECT id, w, t, s, m, st, c, du, e, md::jsonb FROM unnest($1::text[], $2::text[],
                $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[],
                $9::text[], $10::text[]) AS u(id, w, t, s, m, st, c, du, e, md)
             ON CONFLICT (id) DO UPDATE SET workflow_name = excluded.workflow_name,
                task = excluded.task, status = excluded.status, model = excluded.model,
                started_at = excluded.started_at, completed_at = excluded.completed_at,
                duration_ms = excluded.duration_ms, error = excluded.error,
                metadata = excluded.metadata, seq = nextval('runs_seq')",
            &[
                &text(d, false, "id"),
                &text(d, false, "workflow_name"),
                &text(d, false, "task"),
                &text(d, false, "status"),
                &text(d, false, "model"),
                &text(d, false, "started_at"),
                &text(d, false, "completed_at"),
                &int(d, false, "duration_ms"),
                &text(d, false, "error"),
                &text(d, false, "metadata"),
            ],
        )?;
        self.tx.execute(
            "INSERT INTO run_metrics(run_id, total_tool_calls, successful_tool_calls,
                failed_tool_calls, total_iterations, total_tokens_in, total_tokens_out)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[],
                $5::bigint[], $6::bigint[], $7::bigint[])
             ON CONFLICT (run_id) DO UPDATE SET total_tool_calls = excluded.total_tool_calls,
                successful_tool_calls = excluded.successful_tool_calls,
                failed_tool_calls = excluded.failed_tool_calls,
                total_iterations = excluded.total_iterations,
                total_tokens_in = excluded.total_tokens_in,
                total_tokens_out = excluded.total_tokens_out",
            &[
                &text(d, true, "run_id"),
                &int(d, true, "total_tool_calls"),
                &int(d, true, "successful_tool_calls"),
                &int(d, true, "failed_tool_calls"),
                &int(d, true, "total_iterations"),
                &int(d, true, "total_tokens_in"),
                &int(d, true, "total_tokens_out"),
            ],
        )?;
        Ok(())
    }
}

/// The value of `column` in a derived row (NULL when the row has no such column).
fn cell<'r>(row: &'r [(&'static str, Cell)], column: &str) -> &'r Cell {
    row.iter()
        .find(|(c, _)| *c == column)
        .map_or(&Cell::Null, |(_, v)| v)
}

/// The aggregates of a batch's runs, column by column, for one array upsert.
#[derive(Default)]
struct AggColumns {
    run_id: Vec<String>,
    format: Vec<String>,
    agent: Vec<Option<String>>,
    cwd: Vec<Option<String>>,
    workflow: Vec<Option<String>>,
    source_file: Vec<Option<String>>,
    parent_run_id: Vec<Option<String>>,
    subagent: Vec<bool>,
    task: Vec<Option<String>>,
    model: Vec<Option<String>>,
    status: Vec<Option<String>>,
    error: Vec<Option<String>>,
    first_ms: Vec<Option<i64>>,
    last_ms: Vec<Option<i64>>,
    next_step: Vec<i64>,
    calls: Vec<i64>,
    failed: Vec<i64>,
    iterations: Vec<i64>,
    iter_tokens_in: Vec<Option<i64>>,
    iter_tokens_out: Vec<Option<i64>>,
    total_tokens_in: Vec<Option<i64>>,
    total_tokens_out: Vec<Option<i64>>,
    synthetic: Vec<bool>,
    foreign: Vec<bool>,
    attribution: Vec<Option<String>>,
}

impl AggColumns {
    fn push(&mut self, id: &str, a: &RunAgg) {
        self.run_id.push(id.to_string());
        self.format.push(a.format.clone());
        self.agent.push(a.agent.clone());
        self.cwd.push(a.cwd.clone());
        self.workflow.push(a.workflow.clone());
        self.source_file.push(a.source_file.clone());
        self.parent_run_id.push(a.parent_run_id.clone());
        self.subagent.push(a.subagent);
        self.task.push(a.task.clone());
        self.model.push(a.model.clone());
        self.status.push(a.status.clone());
        self.error.push(a.error.clone());
        self.first_ms.push(a.first_ms);
        self.last_ms.push(a.last_ms);
        self.next_step.push(a.next_step);
        self.calls.push(a.calls);
        self.failed.push(a.failed);
        self.iterations.push(a.iterations);
        self.iter_tokens_in.push(a.iter_tokens_in);
        self.iter_tokens_out.push(a.iter_tokens_out);
        self.total_tokens_in.push(a.total_tokens_in);
        self.total_tokens_out.push(a.total_tokens_out);
        self.synthetic.push(a.synthetic);
        self.foreign.push(a.foreign);
        self.attribution.push(
            (!a.attribution.is_empty())
                .then(|| serde_json::to_string(&a.attribution).unwrap_or_default()),
        );
    }

    fn upsert(&self, tx: &mut Transaction<'_>) -> Result<u64, postgres::Error> {
        tx.execute(
            "INSERT INTO selfheal_import_runs(run_id, format, agent, cwd, workflow, source_file,
                parent_run_id, subagent, task, model, status, error, first_ms, last_ms, next_step,
                calls, failed, iterations, iter_tokens_in, iter_tokens_out, total_tokens_in,
                total_tokens_out, synthetic, foreign_run, attribution)
             SELECT r, f, ag, cw, wf, sf, p, sa, t, m, st, e, fm, lm, ns, c, fa, it, iti, ito, tti,
                tto, sy, fo, at::jsonb
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::bool[], $9::text[], $10::text[], $11::text[], $12::text[],
                $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[],
                $18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[], $22::bigint[],
                $23::bool[], $24::bool[], $25::text[])
                AS u(r, f, ag, cw, wf, sf, p, sa, t, m, st, e, fm, lm, ns, c, fa, it, iti, ito, tti,
                     tto, sy, fo, at)
             ON CONFLICT (run_id) DO UPDATE SET format = excluded.format, agent = excluded.agent,
                cwd = excluded.cwd, workflow = excluded.workflow, source_file = excluded.source_file,
                parent_run_id = excluded.parent_run_id, subagent = excluded.subagent,
                task = excluded.task, model = excluded.model, status = excluded.status,
                error = excluded.error, first_ms = excluded.first_ms, last_ms = excluded.last_ms,
                next_step = excluded.next_step, calls = excluded.calls, failed = excluded.failed,
                iterations = excluded.iterations, iter_tokens_in = excluded.iter_tokens_in,
                iter_tokens_out = excluded.iter_tokens_out,
                total_tokens_in = excluded.total_tokens_in,
                total_tokens_out = excluded.total_tokens_out, synthetic = excluded.synthetic,
                foreign_run = excluded.foreign_run, attribution = excluded.attribution",
            &[
                &self.run_id,
                &self.format,
                &self.agent,
                &self.cwd,
                &self.workflow,
                &self.source_file,
                &self.parent_run_id,
                &self.subagent,
                &self.task,
                &self.model,
                &self.status,
                &self.error,
                &self.first_ms,
                &self.last_ms,
                &self.next_step,
                &self.calls,
                &self.failed,
                &self.iterations,
                &self.iter_tokens_in,
                &self.iter_tokens_out,
                &self.total_tokens_in,
                &self.total_tokens_out,
                &self.synthetic,
                &self.foreign,
                &self.attribution,
            ],
        )
    }
}

impl Tables for PgTables<'_, '_> {
    fn prefetch(&mut self, runs: &[&str], calls: &[(&str, &str)]) -> Result<(), ImportError> {
        let run_ids: Vec<&str> = runs.to_vec();
        let rows = self
            .tx
            .query(
                "SELECT run_id, format, agent, cwd, workflow, source_file, parent_run_id, subagent,
                        task, model, status, error, first_ms, last_ms, next_step, calls, failed,
                        iterations, iter_tokens_in, iter_tokens_out, total_tokens_in,
                        total_tokens_out, synthetic, foreign_run, attribution::text
                 FROM selfheal_import_runs WHERE run_id = ANY($1)",
                &[&run_ids],
            )
            .map_err(|e| self.err(e))?;
        for id in &run_ids {
            self.aggs.insert((*id).to_string(), None);
        }
        for r in &rows {
            let agg = RunAgg {
                format: r.get(1),
                agent: r.get(2),
                cwd: r.get(3),
                workflow: r.get(4),
                source_file: r.get(5),
                parent_run_id: r.get(6),
                subagent: r.get(7),
                task: r.get(8),
                model: r.get(9),
                status: r.get(10),
                error: r.get(11),
                first_ms: r.get(12),
                last_ms: r.get(13),
                next_step: r.get(14),
                calls: r.get(15),
                failed: r.get(16),
                iterations: r.get(17),
                iter_tokens_in: r.get(18),
                iter_tokens_out: r.get(19),
                total_tokens_in: r.get(20),
                total_tokens_out: r.get(21),
                synthetic: r.get(22),
                foreign: r.get(23),
                attribution: r
                    .get::<_, Option<String>>(24)
                    .and_then(|a| serde_json::from_str(&a).ok())
                    .unwrap_or_default(),
                dirty: false,
            };
            self.aggs.insert(r.get(0), Some(agg));
        }
        // Runs the importer has not written: their events (someone else's) set the next step.
        let unwritten: Vec<&str> = run_ids
            .iter()
            .copied()
            .filter(|id| self.aggs.get(*id).is_none_or(Option::is_none))
            .collect();
        if !unwritten.is_empty() {
            let rows = self
                .tx
                .query(
                    "SELECT run_id, MAX(step_index) + 1 FROM run_events WHERE run_id = ANY($1)
                     GROUP BY run_id",
                    &[&unwritten],
                )
                .map_err(|e| self.err(e))?;
            self.steps = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        }
        let rows = self
            .tx
            .query("SELECT id FROM runs WHERE id = ANY($1)", &[&run_ids])
            .map_err(|e| self.err(e))?;
        self.run_rows = rows.iter().map(|r| r.get(0)).collect();
        let call_ids: Vec<&str> = {
            let mut ids: Vec<&str> = calls.iter().map(|(_, c)| *c).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        for (run, call) in calls {
            self.calls
                .insert(((*run).to_string(), (*call).to_string()), None);
        }
        for id in &call_ids {
            self.by_call.insert((*id).to_string(), Vec::new());
        }
        // Every stored call with one of the batch's ids: its own rows, and the same id in
        // other runs (a forked transcript's replayed calls).
        let rows = self
            .tx
            .query(
                "SELECT run_id, call_id, tool, started_ms, state, pending_end
                 FROM selfheal_import_calls WHERE call_id = ANY($1)",
                &[&call_ids],
            )
            .map_err(|e| self.err(e))?;
        for r in &rows {
            let (run, call): (String, String) = (r.get(0), r.get(1));
            self.by_call
                .entry(call.clone())
                .or_default()
                .push(run.clone());
            let row = CallRow {
                tool: r.get(2),
                started_ms: r.get(3),
                state: i64::from(r.get::<_, i16>(4)),
                pending_end: r.get(5),
            };
            if let Some(slot) = self.calls.get_mut(&(run, call)) {
                *slot = Some(row);
            }
        }
        Ok(())
    }

    fn load_agg(&mut self, run_id: &str) -> Result<Option<RunAgg>, ImportError> {
        if let Some(known) = self.aggs.get(run_id) {
            return Ok(known.clone());
        }
        Err(PgError::other(self.url, format!("run {run_id} was not prefetched")).into())
    }

    fn run_row_exists(&mut self, run_id: &str) -> Result<bool, ImportError> {
        Ok(self.run_rows.contains(run_id))
    }

    fn next_step(&mut self, run_id: &str) -> Result<i64, ImportError> {
        Ok(self.steps.get(run_id).copied().unwrap_or(0))
    }

    fn call(&mut self, run_id: &str, call_id: &str) -> Result<Option<CallRow>, ImportError> {
        match self.calls.get(&(run_id.to_string(), call_id.to_string())) {
            Some(known) => Ok(known.clone()),
            None => {
                // A key the batch did not name up front (an iteration's): read it.
                let row = self
                    .tx
                    .query_opt(
                        "SELECT tool, started_ms, state, pending_end FROM selfheal_import_calls
                         WHERE run_id = $1 AND call_id = $2",
                        &[&run_id, &call_id],
                    )
                    .map_err(|e| self.err(e))?
                    .map(|r| CallRow {
                        tool: r.get(0),
                        started_ms: r.get(1),
                        state: i64::from(r.get::<_, i16>(2)),
                        pending_end: r.get(3),
                    });
                self.calls
                    .insert((run_id.to_string(), call_id.to_string()), row.clone());
                Ok(row)
            }
        }
    }

    fn runs_with_call(&mut self, call_id: &str) -> Result<Vec<String>, ImportError> {
        if let Some(runs) = self.by_call.get(call_id) {
            return Ok(runs.clone());
        }
        let rows = self
            .tx
            .query(
                "SELECT run_id FROM selfheal_import_calls WHERE call_id = $1",
                &[&call_id],
            )
            .map_err(|e| self.err(e))?;
        let runs: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        self.by_call.insert(call_id.to_string(), runs.clone());
        Ok(runs)
    }

    fn put_call(&mut self, run_id: &str, call_id: &str, row: CallRow) -> Result<(), ImportError> {
        let key = (run_id.to_string(), call_id.to_string());
        let runs = self.by_call.entry(call_id.to_string()).or_default();
        if !runs.iter().any(|r| r == run_id) {
            runs.push(run_id.to_string());
        }
        self.calls.insert(key.clone(), Some(row));
        self.dirty_calls.push(key);
        Ok(())
    }

    fn insert_event(
        &mut self,
        run_id: &str,
        step: i64,
        kind: &str,
        data: &str,
        timestamp: &str,
    ) -> Result<(), ImportError> {
        self.events.push(NewEvent {
            run_id: run_id.to_string(),
            step,
            kind: kind.to_string(),
            // PostgreSQL text cannot hold NUL; the analysis never needs it.
            data: if data.contains('\0') {
                data.replace('\0', "\u{FFFD}")
            } else {
                data.to_string()
            },
            timestamp: timestamp.to_string(),
        });
        Ok(())
    }

    fn save_run(
        &mut self,
        run_id: &str,
        agg: &RunAgg,
        rows: Option<&RunRows>,
    ) -> Result<(), ImportError> {
        self.runs
            .push((run_id.to_string(), agg.clone(), rows.cloned()));
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ImportError> {
        self.write_events()
            .and_then(|()| self.write_calls())
            .and_then(|()| self.write_runs())
            .map_err(|e| self.err(e))
    }
}
