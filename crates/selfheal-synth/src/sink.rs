//! The `run_events` writer shared by every profile: a run's events are buffered (their text in
//! one reused arena, where callers may write it directly) and inserted with multi-row
//! statements prepared once per row count. The event type is bound as a small integer and
//! turned back into its text by the statement, which spares SQLite a string copy per row.

use std::fmt::Write as _;

use rusqlite::{Connection, Statement};

use crate::SynthError;
use crate::ts::{TsFormat, write_ts};

/// Rows per multi-row `run_events` insert. One statement per chunk also means one
/// `sqlite_sequence` update per chunk instead of one per row (the table is AUTOINCREMENT).
const BATCH: usize = 64;

/// Event types bound by number (`CASE` in the insert statement turns them back into text).
const KINDS: [&str; 4] = ["iteration", "tool_start", "tool_complete", "run_complete"];

/// The `event_type` of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventKind {
    Iteration = 0,
    ToolStart = 1,
    ToolComplete = 2,
    RunComplete = 3,
}

/// One buffered `run_events` row.
#[derive(Clone, Copy, Debug)]
struct EvRow {
    step: i64,
    kind: i64,
    json: (usize, usize),
    ts: (usize, usize),
}

/// Buffers one run's events and writes them in order.
pub(crate) struct EventSink<'c> {
    conn: &'c Connection,
    /// Multi-row inserts, by row count (prepared on first use).
    batch: Vec<Option<Statement<'c>>>,
    rows: Vec<EvRow>,
    /// Text of the buffered rows; callers may append an event's JSON here directly between
    /// [`EventSink::mark`] and [`EventSink::commit`].
    pub(crate) arena: String,
    /// Events buffered since the sink was created (written or not).
    pub(crate) events: u64,
}

impl<'c> EventSink<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        EventSink {
            conn,
            batch: (0..=BATCH).map(|_| None).collect(),
            rows: Vec::with_capacity(256),
            arena: String::with_capacity(64 * 1024),
            events: 0,
        }
    }

    /// Buffers a row whose data is `json`, at instant `when` written in format `fmt`.
    pub(crate) fn push(
        &mut self,
        step: i64,
        kind: EventKind,
        json: &str,
        when: i64,
        fmt: TsFormat,
    ) {
        let j0 = self.mark();
        self.arena.push_str(json);
        self.commit(j0, step, kind, when, fmt);
    }

    /// Where the next event's JSON starts in [`EventSink::arena`].
    pub(crate) fn mark(&self) -> usize {
        self.arena.len()
    }

    /// Buffers a row whose data is the arena's text from `j0` (see [`EventSink::mark`]).
    pub(crate) fn commit(
        &mut self,
        j0: usize,
        step: i64,
        kind: EventKind,
        when: i64,
        fmt: TsFormat,
    ) {
        let kind = kind as i64;
        let j1 = self.arena.len();
        write_ts(&mut self.arena, when, fmt);
        let t1 = self.arena.len();
        self.rows.push(EvRow {
            step,
            kind,
            json: (j0, j1),
            ts: (j1, t1),
        });
        self.events += 1;
    }

    /// Inserts the buffered rows (in order) for run `run_id` and empties the buffer.
    pub(crate) fn flush(&mut self, run_id: &str) -> Result<(), SynthError> {
        let mut i = 0;
        while i < self.rows.len() {
            let n = (self.rows.len() - i).min(BATCH);
            if self.batch[n].is_none() {
                let mut sql = String::from(
                    "INSERT INTO run_events (run_id, step_index, event_type, event_data, timestamp) VALUES ",
                );
                // The run id is bound once, as ?1, and shared by every row.
                for k in 0..n {
                    if k > 0 {
                        sql.push(',');
                    }
                    let b = 2 + 4 * k;
                    let _ = write!(
                        sql,
                        "(?1,?{},CASE ?{} WHEN 0 THEN '{}' WHEN 1 THEN '{}' WHEN 2 THEN '{}' ELSE '{}' END,?{},?{})",
                        b,
                        b + 1,
                        KINDS[0],
                        KINDS[1],
                        KINDS[2],
                        KINDS[3],
                        b + 2,
                        b + 3
                    );
                }
                self.batch[n] = Some(self.conn.prepare(&sql)?);
            }
            if let Some(stmt) = self.batch[n].as_mut() {
                stmt.raw_bind_parameter(1, run_id)?;
                for (k, row) in self.rows[i..i + n].iter().enumerate() {
                    let b = 2 + 4 * k;
                    stmt.raw_bind_parameter(b, row.step)?;
                    stmt.raw_bind_parameter(b + 1, row.kind)?;
                    stmt.raw_bind_parameter(b + 2, &self.arena[row.json.0..row.json.1])?;
                    stmt.raw_bind_parameter(b + 3, &self.arena[row.ts.0..row.ts.1])?;
                }
                stmt.raw_execute()?;
            }
            i += n;
        }
        self.rows.clear();
        self.arena.clear();
        Ok(())
    }
}
