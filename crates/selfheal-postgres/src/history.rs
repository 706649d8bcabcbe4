//! The run history read from PostgreSQL ([`PgHistory`]), for each server's local index and
//! for the use cases' reads.
//!
//! Large reads (`runs_after`, `events_after`) are streamed row by row (`query_raw`), so the
//! first catch-up of millions of events holds one batch, not the table. The lifecycle's
//! tables (`crate::lifecycle`) are read for the dashboard's improvements, escalations and
//! healing numbers.

use std::cell::{RefCell, RefMut};
use std::sync::{Arc, Mutex};

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, Row};
use selfheal_store::history::{HealingFacts, RunHistory, redact_url};
use selfheal_store::source::{EventRef, ImprovementRow, RunRow, TaggedRun, tag_mode};
use selfheal_store::{Result, StoreError};

use crate::{PgError, connect_existing};

/// A connection to a PostgreSQL run history.
pub struct PgHistory {
    url: String,
    /// `None` only once dropped (its connection handed back).
    client: RefCell<Option<Client>>,
    /// The connection of the catch-up's reading stage, kept between catch-ups: a server
    /// catching up on every call would otherwise open a connection (a PostgreSQL backend
    /// process) per call.
    spare: Arc<Mutex<Option<Client>>>,
    /// For a history made by [`RunHistory::reopen`]: where its connection goes back to.
    home: Option<Arc<Mutex<Option<Client>>>>,
}

const RUNS_SELECT: &str =
    "SELECT r.seq, r.id, r.workflow_name, r.status, r.model, r.started_at, r.completed_at,
        r.duration_ms, r.metadata::text,
        (COALESCE(m.total_tokens_in, 0) + COALESCE(m.total_tokens_out, 0)), m.total_iterations
     FROM runs r LEFT JOIN run_metrics m ON m.run_id = r.id";

impl PgHistory {
    /// Connects to the history at `url`, whose tables must exist (`self-heal init`).
    pub fn open(url: &str) -> Result<PgHistory> {
        let client = connect_existing(url)?;
        Ok(PgHistory {
            url: url.to_string(),
            client: RefCell::new(Some(client)),
            spare: Arc::default(),
            home: None,
        })
    }

    fn conn(&self) -> Result<RefMut<'_, Client>> {
        RefMut::filter_map(self.client.borrow_mut(), Option::as_mut)
            .map_err(|_| StoreError::Index("the PostgreSQL connection was handed back".into()))
    }

    fn err(&self, e: postgres::Error) -> StoreError {
        PgError::of(&self.url, &e).into()
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        self.conn()?.query(sql, params).map_err(|e| self.err(e))
    }

    /// Streams the rows of `sql` to `each` without holding them all.
    fn stream(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        each: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        let mut client = self.conn()?;
        let mut rows = client
            .query_raw(sql, params.iter().copied())
            .map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            each(&row)?;
        }
        Ok(())
    }
}

impl Drop for PgHistory {
    fn drop(&mut self) {
        // A reading stage's connection goes back for the next catch-up (if still usable).
        if let (Some(home), Some(client)) = (&self.home, self.client.get_mut().take())
            && !client.is_closed()
            && let Ok(mut slot) = home.lock()
            && slot.is_none()
        {
            *slot = Some(client);
        }
    }
}

impl std::fmt::Debug for PgHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgHistory({})", redact_url(&self.url))
    }
}

fn read_run(r: &Row) -> RunRow {
    RunRow {
        rowid: r.get(0),
        id: r.get(1),
        workflow_name: r.get(2),
        status: r.get(3),
        model: r.get(4),
        started_at: r.get(5),
        completed_at: r.get(6),
        duration_ms: r.get(7),
        metadata: r.get(8),
        tokens: r.get(9),
        iterations: r.get(10),
    }
}

impl RunHistory for PgHistory {
    fn describe(&self) -> String {
        redact_url(&self.url)
    }

    fn still_there(&self) -> Result<()> {
        let mut client = self.conn()?;
        if client.is_valid(std::time::Duration::from_secs(5)).is_ok() {
            return Ok(());
        }
        // The database restarted or the connection dropped: one new connection, or the error.
        *client = crate::connect(&self.url)?;
        Ok(())
    }

    fn reopen(&self) -> Result<Box<dyn RunHistory>> {
        let kept = self.spare.lock().ok().and_then(|mut s| s.take());
        // A kept connection may have died with a database restart without knowing it yet:
        // one round trip tells.
        let client = match kept {
            Some(mut c) => match c.is_valid(std::time::Duration::from_secs(5)) {
                Ok(()) => c,
                Err(_) => crate::connect(&self.url)?,
            },
            None => crate::connect(&self.url)?,
        };
        Ok(Box::new(PgHistory {
            url: self.url.clone(),
            client: RefCell::new(Some(client)),
            spare: Arc::default(),
            home: Some(self.spare.clone()),
        }))
    }

    fn read_together(&self, f: &mut dyn FnMut(&dyn RunHistory) -> Result<()>) -> Result<()> {
        // Each read is one statement; a snapshot across them is not needed for these reads.
        f(self)
    }

    fn runs_after(&self, after: i64, each: &mut dyn FnMut(RunRow) -> Result<()>) -> Result<i64> {
        let mut last = after;
        let sql = format!("{RUNS_SELECT} WHERE r.seq > $1 ORDER BY r.seq");
        self.stream(&sql, &[&after], &mut |row| {
            let run = read_run(row);
            last = last.max(run.rowid);
            each(run)
        })?;
        Ok(last)
    }

    fn runs_by_id(&self, ids: &[String]) -> Result<Vec<RunRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{RUNS_SELECT} WHERE r.id = ANY($1)");
        Ok(self.query(&sql, &[&ids])?.iter().map(read_run).collect())
    }

    fn events_after(
        &self,
        after: i64,
        limit: i64,
        each: &mut dyn FnMut(EventRef<'_>) -> Result<()>,
    ) -> Result<()> {
        self.stream(
            "SELECT id, run_id, event_type, event_data, timestamp FROM run_events
             WHERE id > $1 ORDER BY id LIMIT $2",
            &[&after, &limit],
            &mut |r| {
                each(EventRef {
                    id: r.get(0),
                    run_id: r.get(1),
                    event_type: r.get(2),
                    event_data: r.get(3),
                    timestamp: r.get(4),
                })
            },
        )
    }

    fn event_fingerprint(&self, id: i64) -> Result<Option<String>> {
        Ok(self
            .query(
                "SELECT run_id || '|' || timestamp FROM run_events WHERE id = $1",
                &[&id],
            )?
            .first()
            .map(|r| r.get(0)))
    }

    fn max_run_rowid(&self) -> Result<i64> {
        Ok(self
            .query("SELECT COALESCE(MAX(seq), 0) FROM runs", &[])?
            .first()
            .map_or(0, |r| r.get(0)))
    }

    fn max_event_id(&self) -> Result<i64> {
        Ok(self
            .query("SELECT COALESCE(MAX(id), 0) FROM run_events", &[])?
            .first()
            .map_or(0, |r| r.get(0)))
    }

    fn run_events_around(
        &self,
        run_id: &str,
        id: i64,
        before: i64,
        after: i64,
    ) -> Result<Vec<(i64, String, String)>> {
        let read = |rows: Vec<Row>| -> Vec<(i64, String, String)> {
            rows.iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect()
        };
        let mut out = read(self.query(
            "SELECT id, event_type, event_data FROM run_events WHERE run_id = $1 AND id < $2
             ORDER BY id DESC LIMIT $3",
            &[&run_id, &id, &before],
        )?);
        out.reverse();
        out.extend(read(self.query(
            "SELECT id, event_type, event_data FROM run_events WHERE run_id = $1 AND id >= $2
             ORDER BY id LIMIT $3",
            &[&run_id, &id, &(after + 1)],
        )?));
        Ok(out)
    }

    fn runs_in_project(&self, project: &str) -> Result<Vec<(String, Option<String>)>> {
        let trimmed = project.trim_end_matches('/');
        let under = format!("{trimmed}/");
        Ok(self
            .query(
                "SELECT id, started_at FROM runs
                 WHERE metadata->>'cwd' = $1 OR starts_with(metadata->>'cwd', $2)",
                &[&project, &under],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn recent_improvements(&self, limit: u32) -> Result<Vec<ImprovementRow>> {
        Ok(self
            .query(
                "SELECT id, category, description, impact, status, created_at FROM improvements
                 ORDER BY created_at DESC, id DESC LIMIT $1",
                &[&i64::from(limit)],
            )?
            .iter()
            .map(|r| ImprovementRow {
                id: r.get(0),
                category: r.get(1),
                description: r.get(2),
                impact: r.get(3),
                status: r.get(4),
                created_at: r.get(5),
            })
            .collect())
    }

    fn open_escalations(&self) -> Result<Vec<[String; 5]>> {
        Ok(self
            .query(
                "SELECT pattern_id, level, rule, reason, created_at FROM selfheal_escalations
                 WHERE resolved_at IS NULL ORDER BY id DESC LIMIT 50",
                &[],
            )?
            .iter()
            .map(|r| [r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)])
            .collect())
    }

    fn healing_facts(&self, from_ms: i64) -> Result<HealingFacts> {
        let mut client = self.conn()?;
        let (improvements, transitions) =
            crate::lifecycle::healing_facts(&mut client, from_ms).map_err(|e| self.err(e))?;
        let outcomes = crate::lifecycle::strategy_outcomes(&mut client).map_err(|e| self.err(e))?;
        Ok((improvements, transitions, outcomes))
    }

    fn runs_tagged(&self, improvement_id: &str) -> Result<Vec<TaggedRun>> {
        let rows = self.query(
            "SELECT id, status, started_at, metadata::text FROM runs
             WHERE strpos(metadata::text, $1) > 0",
            &[&improvement_id],
        )?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let metadata: String = r.get(3);
                let mode = tag_mode(&metadata, improvement_id)?;
                Some((r.get(0), r.get(1), r.get(2), mode.to_string()))
            })
            .collect())
    }
}
