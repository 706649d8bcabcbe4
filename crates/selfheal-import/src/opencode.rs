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
//! - Incremental by the rows' own `time_updated` (ms): each read takes rows updated at or
//!   after the last cursor, so a tool part that was `running` is read again once it ends
//!   (calls and iterations already written are recognised by their ids).
//! - A call ends once its `status` is `completed` or `error`. A shell command that exits 127
//!   is `completed` with `metadata.exit: 127`: the exit code decides for shell calls.
//! - A database without the tables or columns above gets an error naming them.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
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

/// Where the last read stopped: the largest `time_updated` seen in each table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(default)]
    pub session: i64,
    #[serde(default)]
    pub message: i64,
    #[serde(default)]
    pub part: i64,
}

impl Cursor {
    /// One number that only grows (the importer's offset for the file).
    pub fn position(&self) -> i64 {
        self.session.max(self.message).max(self.part)
    }
}

/// Whether a file starts with SQLite's header.
pub fn is_sqlite(head: &[u8]) -> bool {
    head.starts_with(b"SQLite format 3\0")
}

/// Reads what changed since `cursor`: the records, and the cursor to store.
pub fn read(path: &Path, cursor: &Cursor) -> Result<(Output, Cursor), String> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open the OpenCode database read-only: {e}"))?;
    conn.busy_timeout(Duration::from_millis(BUSY_MS))
        .map_err(|e| e.to_string())?;
    let tx = conn
        .unchecked_transaction()
        .map_err(|e| explain(&e, "cannot start a read"))?;
    check_schema(&tx)?;
    let mut out = Output::default();
    let mut next = *cursor;
    read_sessions(&tx, cursor, &mut next, &mut out).map_err(|e| explain(&e, "session"))?;
    read_messages(&tx, cursor, &mut next, &mut out).map_err(|e| explain(&e, "message"))?;
    read_parts(&tx, cursor, &mut next, &mut out).map_err(|e| explain(&e, "part"))?;
    Ok((out, next))
}

fn explain(e: &rusqlite::Error, what: &str) -> String {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => format!(
            "the OpenCode database stayed locked for {BUSY_MS} ms ({what}); nothing was imported from it — run the import again"
        ),
        Some(NotADatabase | DatabaseCorrupt) => {
            format!("the OpenCode database is corrupt ({what}: {e}); nothing was imported from it")
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
    cursor: &Cursor,
    next: &mut Cursor,
    out: &mut Output,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(
        "SELECT id, parent_id, directory, model, time_created, time_updated FROM session
         WHERE time_updated >= ?1 ORDER BY time_updated",
    )?;
    let mut rows = stmt.query([cursor.session])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let mut facts = RunFacts::new(run_id(&id));
        facts.agent = Some(AGENT.into());
        facts.parent_run_id = r.get::<_, Option<String>>(1)?.map(|p| run_id(&p));
        facts.subagent = Some(facts.parent_run_id.is_some());
        facts.cwd = r.get::<_, Option<String>>(2)?.filter(|d| !d.is_empty());
        facts.model = r
            .get::<_, Option<String>>(3)?
            .and_then(|m| serde_json::from_str::<Value>(&m).ok())
            .and_then(|m| model_name(&m));
        facts.at_ms = r.get(4)?;
        out.push(Record::Run(facts));
        let updated: i64 = r.get(5)?;
        next.session = next.session.max(updated);
    }
    Ok(())
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
    cursor: &Cursor,
    next: &mut Cursor,
    out: &mut Output,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(
        "SELECT id, session_id, time_created, time_updated, data FROM message
         WHERE time_updated >= ?1 ORDER BY time_updated",
    )?;
    let mut rows = stmt.query([cursor.message])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let session: String = r.get(1)?;
        let created: i64 = r.get(2)?;
        next.message = next.message.max(r.get(3)?);
        let data: String = r.get(4)?;
        let Ok(m) = serde_json::from_str::<Value>(&data) else {
            out.skip(0, format!("OpenCode message {id}: data is not JSON"));
            continue;
        };
        if m.get("role").and_then(Value::as_str) != Some("assistant") {
            continue;
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
    }
    Ok(())
}

fn read_parts(
    conn: &Connection,
    cursor: &Cursor,
    next: &mut Cursor,
    out: &mut Output,
) -> rusqlite::Result<()> {
    // The first user text of a session is its task: the user's message's parts.
    let mut user_message =
        conn.prepare_cached("SELECT json_extract(data, '$.role') FROM message WHERE id = ?1")?;
    let mut stmt = conn.prepare(
        "SELECT id, message_id, session_id, time_created, time_updated, data FROM part
         WHERE time_updated >= ?1 ORDER BY time_updated, id",
    )?;
    let mut rows = stmt.query([cursor.part])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let message: String = r.get(1)?;
        let session: String = r.get(2)?;
        let created: i64 = r.get(3)?;
        next.part = next.part.max(r.get(4)?);
        let data: String = r.get(5)?;
        let Ok(p) = serde_json::from_str::<Value>(&data) else {
            out.skip(0, format!("OpenCode part {id}: data is not JSON"));
            continue;
        };
        let run = run_id(&session);
        match p.get("type").and_then(Value::as_str) {
            Some("tool") => tool_part(&run, &id, created, &p, out),
            Some("text") => {
                let role: Option<String> = user_message
                    .query_row([&message], |r| r.get(0))
                    .optional()?
                    .flatten();
                if role.as_deref() == Some("user") {
                    let mut facts = RunFacts::new(run);
                    facts.at_ms = Some(created);
                    facts.task = p
                        .get("text")
                        .and_then(Value::as_str)
                        .and_then(|t| task_of(t.trim_matches('"')));
                    out.push(Record::Run(facts));
                }
            }
            _ => {}
        }
    }
    Ok(())
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
