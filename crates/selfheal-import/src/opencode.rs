//! OpenCode's SQLite database (`~/.local/share/opencode/opencode.db`, `$XDG_DATA_HOME` moves
//! it), read while OpenCode may be writing it.
//!
//! Tables read: `session` (`id`, `parent_id`, `directory`: the run's cwd, `model` JSON
//! `{id, providerID}`, `time_created`, `time_updated`), `message` (`id`, `session_id`,
//! `time_created`, `time_updated`, `data` JSON: `role`, `tokens {input, output, reasoning}`,
//! `time.completed`, `finish`, `error`) and `part` (`id`, `message_id`, `session_id`,
//! `time_updated`, `data` JSON). A tool part is `{"type": "tool", "tool", "callID", "state":
//! {"status": "pending"|"running"|"completed"|"error", "input", "output", "metadata": {"exit",
//! ...}, "error", "time": {"start", "end"}}}`; a user's text part gives the run's task.
//!
//! - It is another program's live WAL database: opened read-only (no journal-mode change, no
//!   write lock), read in one read transaction (a snapshot: a writer in the middle of a
//!   transaction is not seen half-way), with a short busy wait.
//! - Incremental by the rows' own `time_updated` (an import reads the rows updated since the
//!   last one began, so a tool part that was `running` is read again once it ends; calls and
//!   iterations already written are recognised by their ids), in pages of [`PAGE_ROWS`] rows
//!   by `rowid`, each one batch of the importer, so memory stays bounded.
//! - A call ends once its `status` is `completed` or `error`. A shell command that exits 127
//!   is `completed` with `metadata.exit: 127`: the exit code decides for shell calls.
//! - A database without the tables or columns above gets an error naming them.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use selfheal_core::shell::call_failed;

use crate::model::{CallEnd, CallStart, Iteration, Output, Record, RunFacts, RunStatus};
use crate::text::task_of;

pub const AGENT: &str = "opencode";

/// The columns read, per table (checked before reading).
const NEEDED: [(&str, &[&str]); 3] = [
    (
        "session",
        &[
            "id",
            "parent_id",
            "directory",
            "model",
            "time_created",
            "time_updated",
        ],
    ),
    (
        "message",
        &["id", "session_id", "time_created", "time_updated", "data"],
    ),
    (
        "part",
        &[
            "id",
            "message_id",
            "session_id",
            "time_created",
            "time_updated",
            "data",
        ],
    ),
];

/// How long a read waits for OpenCode's own short locks (a checkpoint, a WAL recovery).
const BUSY_MS: u64 = 2_000;

/// Where reading stands in each table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(default)]
    pub session: Key,
    #[serde(default)]
    pub message: Key,
    #[serde(default)]
    pub part: Key,
}

/// Stored between imports, `time` is the largest `time_updated` the table had when the last
/// import began: the next one reads the rows updated since (and [`OVERLAP_MS`] before). During
/// an import, pages go by `rowid` (OpenCode has no index on `time_updated`, and a database
/// opened read-only cannot get one): `rowid` is the last row read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub time: i64,
    #[serde(default)]
    pub rowid: i64,
}

/// A row updated during an import may carry a `time_updated` a little before the table's
/// largest when the import began (two writers, one clock): each import starts this much
/// before its stored time (what it reads again is recognised by its ids).
const OVERLAP_MS: i64 = 2_000;

impl Cursor {
    /// One number that only grows (the importer's offset for the file).
    pub fn position(&self) -> i64 {
        self.session.time.max(self.message.time).max(self.part.time)
    }
}

/// Whether a file starts with SQLite's header.
pub fn is_sqlite(head: &[u8]) -> bool {
    head.starts_with(b"SQLite format 3\0")
}

/// Rows read per page: each page is one batch of the importer, so memory stays bounded
/// whatever the database's size.
pub const PAGE_ROWS: usize = 20_000;

/// Which table a page comes from, in the order they are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Session,
    Message,
    Part,
}

/// An OpenCode database opened for reading: read-only, with a short busy wait, its schema
/// checked once.
pub struct Source {
    conn: Connection,
}

impl Source {
    pub fn open(path: &Path) -> Result<Source, String> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| format!("cannot open the OpenCode database read-only: {e}"))?;
        conn.busy_timeout(Duration::from_millis(BUSY_MS))
            .map_err(|e| e.to_string())?;
        check_schema(&conn)?;
        Ok(Source { conn })
    }

    /// Reads the next page of what changed since `cursor` (sessions, then messages, then
    /// parts): its records and the cursor after it, or `None` when nothing is left. Each page
    /// is read in its own read transaction; a row changed meanwhile has a later
    /// `time_updated` and comes in a later page or import.
    pub fn read_page(
        &self,
        cursor: &Cursor,
        from: Table,
    ) -> Result<Option<(Output, Cursor, Table)>, String> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| explain(&e, "cannot start a read"))?;
        let mut out = Output::default();
        let mut next = cursor.clone();
        for table in [Table::Session, Table::Message, Table::Part] {
            if (table as u8) < (from as u8) {
                continue;
            }
            let n = match table {
                Table::Session => read_sessions(&tx, &cursor.session, &mut next.session, &mut out),
                Table::Message => read_messages(&tx, &cursor.message, &mut next.message, &mut out),
                Table::Part => read_parts(&tx, &cursor.part, &mut next.part, &mut out),
            }
            .map_err(|e| explain(&e, table.name()))?;
            if n > 0 {
                return Ok(Some((out, next, table)));
            }
        }
        Ok(None)
    }

    /// What to store once an import has read everything: each table's largest
    /// `time_updated` when it began (read before the first page).
    pub fn high_water(&self) -> Result<Cursor, String> {
        let max = |table: &str| -> Result<Key, String> {
            let time: Option<i64> = self
                .conn
                .query_row(&format!("SELECT max(time_updated) FROM {table}"), [], |r| {
                    r.get(0)
                })
                .map_err(|e| explain(&e, table))?;
            Ok(Key {
                time: time.unwrap_or(0),
                rowid: 0,
            })
        };
        Ok(Cursor {
            session: max("session")?,
            message: max("message")?,
            part: max("part")?,
        })
    }
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Session => "session",
            Table::Message => "message",
            Table::Part => "part",
        }
    }
}

/// Runs `each` on one page of `select` (whose first column is `rowid`): the rows updated since
/// `after.time`, after row `after.rowid`, in `rowid` order; `next` is left at the last row.
/// Returns the rows read.
fn each_row(
    conn: &Connection,
    select: &str,
    after: &Key,
    next: &mut Key,
    mut each: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
) -> rusqlite::Result<usize> {
    let mut stmt = conn.prepare_cached(&format!(
        "{select} WHERE time_updated >= ?1 AND rowid > ?2 ORDER BY rowid LIMIT {PAGE_ROWS}"
    ))?;
    let mut rows = stmt.query((after.time, after.rowid))?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        n += 1;
        *next = Key {
            time: after.time,
            rowid: r.get(0)?,
        };
        each(r)?;
    }
    Ok(n)
}

/// Where an import starts: each table from [`OVERLAP_MS`] before its stored time, first row.
pub fn resume(stored: &Cursor) -> Cursor {
    let back = |k: &Key| Key {
        time: if *k == Key::default() {
            i64::MIN
        } else {
            k.time - OVERLAP_MS
        },
        rowid: 0,
    };
    Cursor {
        session: back(&stored.session),
        message: back(&stored.message),
        part: back(&stored.part),
    }
}

fn explain(e: &rusqlite::Error, what: &str) -> String {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => format!(
            "the OpenCode database stayed locked for {BUSY_MS} ms ({what}); nothing more was imported from it — run the import again"
        ),
        Some(NotADatabase | DatabaseCorrupt) => {
            format!(
                "the OpenCode database is corrupt ({what}: {e}); nothing more was imported from it"
            )
        }
        _ => format!("reading the OpenCode database ({what}): {e}"),
    }
}

/// Checks that every table and column read exists, naming what is missing.
fn check_schema(conn: &Connection) -> Result<(), String> {
    for (table, columns) in NEEDED {
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .map_err(|e| explain(&e, "schema"))?;
        let have: Vec<String> = stmt
            .query_map([table], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| explain(&e, "schema"))?;
        if have.is_empty() {
            return Err(format!(
                "not an OpenCode database this version knows: it has no table `{table}`"
            ));
        }
        let missing: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| !have.iter().any(|h| h == c))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "not an OpenCode database this version knows: table `{table}` has no column(s) {}",
                missing.join(", ")
            ));
        }
    }
    Ok(())
}

fn run_id(session: &str) -> String {
    format!("{AGENT}:{session}")
}

fn read_sessions(
    conn: &Connection,
    after: &Key,
    next: &mut Key,
    out: &mut Output,
) -> rusqlite::Result<usize> {
    each_row(
        conn,
        "SELECT rowid, id, parent_id, directory, model, time_created FROM session",
        after,
        next,
        |r| {
            let id: String = r.get(1)?;
            let mut facts = RunFacts::new(run_id(&id));
            facts.agent = Some(AGENT.into());
            facts.parent_run_id = r.get::<_, Option<String>>(2)?.map(|p| run_id(&p));
            facts.subagent = Some(facts.parent_run_id.is_some());
            facts.cwd = r.get::<_, Option<String>>(3)?.filter(|d| !d.is_empty());
            facts.model = r
                .get::<_, Option<String>>(4)?
                .and_then(|m| serde_json::from_str::<Value>(&m).ok())
                .and_then(|m| model_name(&m));
            facts.at_ms = r.get(5)?;
            out.push(Record::Run(facts));
            Ok(())
        },
    )
}

/// `provider/model` from `{"id", "providerID"}` (or `{"modelID", "providerID"}`).
fn model_name(m: &Value) -> Option<String> {
    let id = m
        .get("id")
        .or_else(|| m.get("modelID"))
        .and_then(Value::as_str)?;
    Some(match m.get("providerID").and_then(Value::as_str) {
        Some(p) if !p.is_empty() => format!("{p}/{id}"),
        _ => id.to_string(),
    })
}

fn read_messages(
    conn: &Connection,
    after: &Key,
    next: &mut Key,
    out: &mut Output,
) -> rusqlite::Result<usize> {
    each_row(
        conn,
        "SELECT rowid, id, session_id, time_created, data FROM message",
        after,
        next,
        |r| {
            let id: String = r.get(1)?;
            let session: String = r.get(2)?;
            let created: i64 = r.get(3)?;
            let data: String = r.get(4)?;
            let Ok(m) = serde_json::from_str::<Value>(&data) else {
                out.skip(0, format!("OpenCode message {id}: data is not JSON"));
                return Ok(());
            };
            if m.get("role").and_then(Value::as_str) != Some("assistant") {
                return Ok(());
            }
            let run = run_id(&session);
            let completed = m.pointer("/time/completed").and_then(Value::as_i64);
            let mut facts = RunFacts::new(run.clone());
            facts.at_ms = completed.or(Some(created));
            facts.model = model_name(&serde_json::json!({
                "id": m.get("modelID"), "providerID": m.get("providerID")
            }));
            if let Some(error) = m.get("error").filter(|e| !e.is_null()) {
                let name = error
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                facts.status = Some(if name.contains("Abort") {
                    RunStatus::Cancelled
                } else {
                    RunStatus::Failed
                });
                facts.error = Some(
                    error
                        .pointer("/data/message")
                        .and_then(Value::as_str)
                        .map_or_else(|| error.to_string(), str::to_string),
                );
            } else if completed.is_some() {
                facts.status = Some(RunStatus::Completed);
            }
            out.push(Record::Run(facts));
            // An iteration is written once: wait until the turn completed with its token counts.
            if completed.is_some() {
                let tokens = m.get("tokens");
                let count = |k: &str| tokens.and_then(|t| t.get(k)).and_then(Value::as_u64);
                out.push(Record::Iteration(Iteration {
                    run_id: run,
                    key: id,
                    at_ms: Some(created),
                    tokens_in: count("input"),
                    tokens_out: match (count("output"), count("reasoning")) {
                        (None, None) => None,
                        (o, r) => Some(o.unwrap_or(0) + r.unwrap_or(0)),
                    },
                }));
            }
            Ok(())
        },
    )
}

fn read_parts(
    conn: &Connection,
    after: &Key,
    next: &mut Key,
    out: &mut Output,
) -> rusqlite::Result<usize> {
    // A user's text part is the run's task: the role is its message's.
    each_row(
        conn,
        "SELECT rowid, id, session_id, time_created, data,
                (SELECT json_extract(m.data, '$.role') FROM message m WHERE m.id = part.message_id)
         FROM part",
        after,
        next,
        |r| {
            let id: String = r.get(1)?;
            let session: String = r.get(2)?;
            let created: i64 = r.get(3)?;
            let data: String = r.get(4)?;
            let role: Option<String> = r.get(5)?;
            let Ok(p) = serde_json::from_str::<Value>(&data) else {
                out.skip(0, format!("OpenCode part {id}: data is not JSON"));
                return Ok(());
            };
            let run = run_id(&session);
            match p.get("type").and_then(Value::as_str) {
                Some("tool") => tool_part(&run, &id, created, &p, out),
                Some("text") if role.as_deref() == Some("user") => {
                    let mut facts = RunFacts::new(run);
                    facts.at_ms = Some(created);
                    facts.task = p
                        .get("text")
                        .and_then(Value::as_str)
                        .and_then(|t| task_of(t.trim_matches('"')));
                    out.push(Record::Run(facts));
                }
                _ => {}
            }
            Ok(())
        },
    )
}

fn tool_part(run: &str, part_id: &str, created: i64, p: &Value, out: &mut Output) {
    let Some(tool) = p.get("tool").and_then(Value::as_str) else {
        out.skip(0, format!("OpenCode tool part {part_id} has no tool name"));
        return;
    };
    let call_id = p
        .get("callID")
        .and_then(Value::as_str)
        .unwrap_or(part_id)
        .to_string();
    let state = p.get("state").cloned().unwrap_or(Value::Null);
    let status = state.get("status").and_then(Value::as_str).unwrap_or("");
    let started = state.pointer("/time/start").and_then(Value::as_i64);
    out.push(Record::Start(CallStart {
        run_id: run.to_string(),
        call_id: call_id.clone(),
        tool: tool.to_string(),
        at_ms: started.or(Some(created)),
        arguments: state
            .get("input")
            .filter(|i| !i.is_null())
            .map_or_else(|| "{}".to_string(), Value::to_string),
    }));
    if !matches!(status, "completed" | "error") {
        return; // read again when it ends
    }
    let exit_code = state.pointer("/metadata/exit").and_then(Value::as_i64);
    let text = |k: &str| state.get(k).and_then(Value::as_str).map(str::to_string);
    let result = if status == "error" {
        text("error").unwrap_or_default()
    } else {
        text("output").unwrap_or_default()
    };
    // OpenCode's words for a call stopped by the person ("Tool execution aborted").
    let interrupted = status == "error" && result.contains("aborted");
    out.push(Record::End(CallEnd {
        run_id: run.to_string(),
        call_id,
        tool: Some(tool.to_string()),
        at_ms: state.pointer("/time/end").and_then(Value::as_i64),
        result,
        is_error: call_failed(tool, status == "error", exit_code),
        duration_ms: None,
        error_type: None,
        exit_code,
        interrupted,
        status: Some(status.to_string()),
    }));
}
