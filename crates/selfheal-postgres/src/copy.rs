//! Copies an SQLite run history (`runs`, `run_events`, `run_metrics`) into a PostgreSQL one:
//! a team moving an existing history to the shared database, and the tests and benchmarks
//! that run one history on both engines.
//!
//! Events keep their order (they are appended in id order, after what the database holds);
//! runs already in the database are replaced. Values are read whatever their storage class
//! (agents write numbers into text columns); text that PostgreSQL cannot hold (NUL, invalid
//! UTF-8) is replaced, never dropped.

use std::path::Path;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use rusqlite::types::ValueRef;
use selfheal_store::source::open_source;

use crate::{PgError, WRITERS_LOCK, connect_migrated};

/// What a copy moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Copied {
    pub runs: u64,
    pub events: u64,
}

fn text(v: ValueRef<'_>) -> Option<String> {
    let s = match v {
        ValueRef::Null => return None,
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(r) => r.to_string(),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
    };
    Some(if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s
    })
}

fn int(v: ValueRef<'_>) -> Option<i64> {
    match v {
        ValueRef::Integer(i) => Some(i),
        ValueRef::Real(r) if r.is_finite() => Some(r.round() as i64),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// Copies the SQLite history `from` into the PostgreSQL history `url`, which must hold no
/// event yet (`self-heal init --copy-from`): a second copy would duplicate every event.
pub fn copy_into_empty(from: &Path, url: &str) -> Result<Copied, PgError> {
    copy(from, url, 0, true)
}

/// Copies the history in the SQLite file `from` into the PostgreSQL database `url`
/// (migrated first), in one transaction: the events with an id above `after_event` and the
/// runs they belong to (every run when `after_event` is 0).
pub fn copy_sqlite_history(from: &Path, url: &str, after_event: i64) -> Result<Copied, PgError> {
    copy(from, url, after_event, false)
}

fn copy(from: &Path, url: &str, after_event: i64, require_empty: bool) -> Result<Copied, PgError> {
    // Validated like any source: a foreign or corrupt file is refused before anything is written.
    open_source(from)
        .map_err(|e| PgError::other(url, format!("cannot read {}: {e}", from.display())))?;
    let sqlite =
        rusqlite::Connection::open_with_flags(from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| PgError::other(url, format!("cannot read {}: {e}", from.display())))?;
    let lite = |e: rusqlite::Error| PgError::other(url, format!("reading {}: {e}", from.display()));
    let pg = |e: postgres::Error| PgError::of(url, &e);
    let mut client = connect_migrated(url)?;
    let mut tx = client.transaction().map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1::bigint)", &[&WRITERS_LOCK])
        .map_err(pg)?;
    // Checked under the writers' lock: two copies at once cannot both find it empty.
    if require_empty
        && tx
            .query_opt("SELECT 1 FROM run_events LIMIT 1", &[])
            .map_err(pg)?
            .is_some()
    {
        return Err(PgError::other(
            url,
            "already holds events: copy into an empty database (a second copy would duplicate them)",
        ));
    }
    let mut copied = Copied::default();

    let columns = |table: &str| -> Result<Vec<String>, PgError> {
        let mut stmt = sqlite
            .prepare(&format!("PRAGMA table_info(\"{table}\")"))
            .map_err(lite)?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(1))
            .map_err(lite)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(lite)?;
        Ok(names)
    };
    let run_cols = columns("runs")?;
    let col = |name: &str| {
        if run_cols.iter().any(|c| c == name) {
            name.to_string()
        } else {
            "NULL".to_string()
        }
    };
    let mut stmt = sqlite
        .prepare(&format!(
            "SELECT id, {}, {}, status, {}, started_at, {}, {}, {}, {} FROM runs {} ORDER BY rowid",
            col("workflow_name"),
            col("task"),
            col("model"),
            col("completed_at"),
            col("duration_ms"),
            col("error"),
            col("metadata"),
            if after_event > 0 {
                "WHERE id IN (SELECT run_id FROM run_events WHERE id > ?1)"
            } else {
                "WHERE ?1 = 0"
            },
        ))
        .map_err(lite)?;
    let mut rows = stmt.query([after_event]).map_err(lite)?;
    while let Some(r) = rows.next().map_err(lite)? {
        let get = |i: usize| r.get_ref(i).map_err(lite);
        let metadata =
            text(get(9)?).filter(|m| serde_json::from_str::<serde_json::Value>(m).is_ok());
        tx.execute(
            "INSERT INTO runs(id, workflow_name, task, status, model, started_at, completed_at,
                duration_ms, error, metadata)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb)
             ON CONFLICT (id) DO UPDATE SET workflow_name = excluded.workflow_name,
                task = excluded.task, status = excluded.status, model = excluded.model,
                started_at = excluded.started_at, completed_at = excluded.completed_at,
                duration_ms = excluded.duration_ms, error = excluded.error,
                metadata = excluded.metadata, seq = nextval('runs_seq')",
            &[
                &text(get(0)?).unwrap_or_default(),
                &text(get(1)?).unwrap_or_default(),
                &text(get(2)?).unwrap_or_default(),
                &text(get(3)?).unwrap_or_default(),
                &text(get(4)?).unwrap_or_else(|| "unknown".into()),
                &text(get(5)?).unwrap_or_default(),
                &text(get(6)?),
                &int(get(7)?),
                &text(get(8)?),
                &metadata,
            ],
        )
        .map_err(pg)?;
        copied.runs += 1;
    }
    drop(rows);
    drop(stmt);

    if columns("run_metrics")?
        .iter()
        .any(|c| c == "total_tokens_in")
    {
        let mut stmt = sqlite
            .prepare(
                "SELECT run_id, total_tool_calls, successful_tool_calls, failed_tool_calls,
                        total_iterations, total_tokens_in, total_tokens_out FROM run_metrics
                 WHERE ?1 = 0 OR run_id IN (SELECT run_id FROM run_events WHERE id > ?1)",
            )
            .map_err(lite)?;
        let mut rows = stmt.query([after_event]).map_err(lite)?;
        while let Some(r) = rows.next().map_err(lite)? {
            let get = |i: usize| r.get_ref(i).map_err(lite);
            tx.execute(
                "INSERT INTO run_metrics(run_id, total_tool_calls, successful_tool_calls,
                    failed_tool_calls, total_iterations, total_tokens_in, total_tokens_out)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (run_id) DO UPDATE SET total_tool_calls = excluded.total_tool_calls,
                    successful_tool_calls = excluded.successful_tool_calls,
                    failed_tool_calls = excluded.failed_tool_calls,
                    total_iterations = excluded.total_iterations,
                    total_tokens_in = excluded.total_tokens_in,
                    total_tokens_out = excluded.total_tokens_out",
                &[
                    &text(get(0)?).unwrap_or_default(),
                    &int(get(1)?),
                    &int(get(2)?),
                    &int(get(3)?),
                    &int(get(4)?),
                    &int(get(5)?),
                    &int(get(6)?),
                ],
            )
            .map_err(pg)?;
        }
    }

    let has_step = columns("run_events")?.iter().any(|c| c == "step_index");
    let mut stmt = sqlite
        .prepare(&format!(
            "SELECT run_id, {}, event_type, event_data, timestamp FROM run_events WHERE id > ?1 ORDER BY id",
            if has_step { "step_index" } else { "0" }
        ))
        .map_err(lite)?;
    let mut rows = stmt.query([after_event]).map_err(lite)?;
    let sink = tx
        .copy_in(
            "COPY run_events (run_id, step_index, event_type, event_data, timestamp) FROM STDIN BINARY",
        )
        .map_err(pg)?;
    let mut writer = BinaryCopyInWriter::new(
        sink,
        &[Type::TEXT, Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT],
    );
    while let Some(r) = rows.next().map_err(lite)? {
        let get = |i: usize| r.get_ref(i).map_err(lite);
        writer
            .write(&[
                &text(get(0)?).unwrap_or_default(),
                &int(get(1)?).unwrap_or(0),
                &text(get(2)?).unwrap_or_default(),
                &text(get(3)?).unwrap_or_default(),
                &text(get(4)?).unwrap_or_default(),
            ])
            .map_err(pg)?;
        copied.events += 1;
    }
    writer.finish().map_err(pg)?;
    drop(rows);
    drop(stmt);
    tx.commit().map_err(pg)?;
    Ok(copied)
}
