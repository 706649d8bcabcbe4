//! Deterministic synthetic agent run history, with ground truth.
//!
//! [`generate`] writes a realistic history into a SQLite database laid out exactly like
//! `schema/run_history.sql` (the tables an agent such as Binks writes: `runs`, `run_events`,
//! `run_metrics`, `improvements`) and returns a [`GroundTruth`] describing what was planted.
//! The same [`SynthConfig`] (seed included) always produces byte-identical table contents.
//!
//! What the history contains:
//!
//! * six agents (`code-review`, `bugfix`, `docs-writer`, `data-pipeline`, `release-bot`,
//!   `triage`) with their own tool mixes and models; about a third of runs carry
//!   `metadata = {"agent": …}`, sometimes naming an agent other than the workflow;
//! * runs `completed`, `failed`, `cancelled` and a few `running` (three stalled 20 min–3 h
//!   before `end`, two live within the last 2 minutes), with consistent
//!   `started_at`/`completed_at`/`duration_ms`;
//! * per run, `iteration`, `tool_start` and `tool_complete` events (and a final
//!   `run_complete` event on completed runs), `step_index` strictly increasing;
//! * twelve tools with Zipf-like usage, realistic arguments and results;
//! * nineteen planted failure patterns (see [`GroundTruth::patterns`]) with message templates
//!   full of variable parts, steady / burst (outage) / new (last 6 days) / resolved (older
//!   than 16 days) profiles, timeouts at the tool's ceiling, retries that sometimes recover;
//! * the writer variants a tolerant reader must accept: timestamps as RFC 3339 `Z`, RFC 3339
//!   with an offset (seconds or microseconds), and SQLite `YYYY-MM-DD HH:MM:SS`; `is_error` as
//!   bool or 0/1; `tool_name` for `name`; `duration_ms` for `duration`; `error` for `result` on
//!   errors; `error_type` recorded, JSON null or absent (about 40% of failures have none);
//!   about 0.1% malformed `tool_complete` rows (truncated JSON or a non-object);
//! * `run_metrics` for about 92% of finished runs, consistent with the run's events.
//!
//! That is the `default` profile. The [`Profile::Real`] profile writes histories shaped like
//! real ones instead (see the `real` module: 55 tools, shell tools keyed by program, a few
//! hundred failure causes, long varied messages, retry loops judged by their arguments,
//! declined / cancelled / benign calls, incidents); its truth is in [`GroundTruth::causes`].
//!
//! Generation runs in one transaction with statements prepared once and reused scratch
//! buffers: memory does not grow with the number of events (except the optional per-failure
//! timestamps of the ground truth).

mod catalog;
mod engine;
mod real;
mod rng;
mod sink;
mod text;
mod truth;
mod ts;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, Utc};
use rusqlite::Connection;

pub use truth::{
    CauseTruth, GroundTruth, IncidentTruth, Occurrence, OutcomeTruth, PlantedPattern, WindowCounts,
};

/// The shape of the generated history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Twelve tools, nineteen planted patterns with short messages (the original generator).
    #[default]
    Default,
    /// Shaped like real histories: 55 tools, a few hundred failure causes, long messages,
    /// retry loops, declined / cancelled / benign calls, incidents.
    Real,
}

impl Profile {
    /// The profile's name (`default`, `real`).
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::Real => "real",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = SynthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "default" => Ok(Profile::Default),
            "real" => Ok(Profile::Real),
            other => Err(SynthError::InvalidConfig(format!(
                "unknown profile {other:?}; use default or real"
            ))),
        }
    }
}

/// The run-history schema the generator writes (`schema/run_history.sql`).
pub const RUN_HISTORY_SCHEMA: &str = include_str!("../../../schema/run_history.sql");

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthConfig {
    /// Seed of every random choice; same config ⇒ same database content.
    pub seed: u64,
    /// Approximate number of `run_events` rows to write (within ±5% for targets ≥ 5 000).
    pub target_events: u64,
    /// "Now" of the history: every event is at or before it.
    pub end: DateTime<Utc>,
    /// The history spans `[end - days, end]`; must be at least 1.
    pub days: u32,
    /// Whether the ground truth lists every occurrence's timestamp (switch off for very
    /// large histories; all counts are kept either way).
    pub collect_truth: bool,
    /// The shape of the history.
    pub profile: Profile,
}

impl SynthConfig {
    /// A history of `target_events` events over the 30 days before `end`, with full truth.
    pub fn new(seed: u64, target_events: u64, end: DateTime<Utc>) -> Self {
        SynthConfig {
            seed,
            target_events,
            end,
            days: 30,
            collect_truth: true,
            profile: Profile::Default,
        }
    }

    /// A `real`-profile history of `target_events` events over the 30 days before `end`.
    pub fn real(seed: u64, target_events: u64, end: DateTime<Utc>) -> Self {
        SynthConfig {
            profile: Profile::Real,
            ..SynthConfig::new(seed, target_events, end)
        }
    }

    /// The CLI `demo` history: about 20 000 events over 30 days, seed 7, full truth.
    pub fn demo(end: DateTime<Utc>) -> Self {
        SynthConfig::new(7, 20_000, end)
    }

    fn validate(&self) -> Result<(), SynthError> {
        if self.days == 0 {
            return Err(SynthError::InvalidConfig(
                "days must be at least 1".to_owned(),
            ));
        }
        let begin = self.end - Duration::days(i64::from(self.days));
        if begin.year() < 1971 || self.end.year() > 9998 {
            return Err(SynthError::InvalidConfig(format!(
                "history [{begin}, {}] must lie between the years 1971 and 9998",
                self.end
            )));
        }
        Ok(())
    }
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The database refused a statement (nothing is committed in that case).
    #[error("synthetic history: sqlite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The configuration cannot be honoured.
    #[error("synthetic history: invalid configuration: {0}")]
    InvalidConfig(String),
}

/// Creates the run-history tables (if missing) and writes a whole history in one
/// transaction. Meant for an empty database. Returns what was planted.
pub fn generate(conn: &mut Connection, cfg: &SynthConfig) -> Result<GroundTruth, SynthError> {
    cfg.validate()?;
    let end = cfg.end.timestamp_millis();
    let begin = end - i64::from(cfg.days) * 86_400_000;
    let tx = conn.transaction()?;
    tx.execute_batch(RUN_HISTORY_SCHEMA)?;
    // Bulk load into an empty table is ~25% faster with its indexes built afterwards.
    let deferred = if tx.query_row("SELECT EXISTS (SELECT 1 FROM run_events)", [], |r| {
        r.get::<_, bool>(0)
    })? {
        Vec::new()
    } else {
        drop_indexes(&tx, "run_events")?
    };
    let truth = match cfg.profile {
        Profile::Default => {
            let mut eng = engine::Engine::new(&tx, cfg.seed, begin, end, cfg.collect_truth)?;
            eng.history(cfg.target_events)?;
            eng.into_truth(cfg.seed)
        }
        Profile::Real => real::history(&tx, cfg, begin, end)?,
    };
    if !deferred.is_empty() {
        // A larger page cache lets SQLite sort the index keys in memory; the setting is
        // per connection and restored afterwards.
        let cache: i64 = tx.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
        tx.execute_batch("PRAGMA cache_size = -65536")?;
        let built = deferred.iter().try_for_each(|sql| tx.execute_batch(sql));
        tx.execute_batch(&format!("PRAGMA cache_size = {cache}"))?;
        built?;
    }
    tx.commit()?;
    Ok(truth)
}

/// Drops the explicit indexes of `table`, returning the SQL that recreates them.
fn drop_indexes(conn: &Connection, table: &str) -> Result<Vec<String>, SynthError> {
    let mut stmt = conn.prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 \
         AND sql IS NOT NULL ORDER BY name",
    )?;
    let indexes = stmt
        .query_map([table], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut recreate = Vec::with_capacity(indexes.len());
    for (name, sql) in indexes {
        conn.execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))?;
        recreate.push(sql);
    }
    Ok(recreate)
}

/// Appends about `n_events` more events as new completed runs whose timestamps lie in
/// `(at - 1h, at]`, for benchmarks measuring "a call after N new events". Deterministic in
/// `seed` and the database's current highest `run_events.id` (so repeated calls with the same
/// seed write different runs). Creates the tables if missing. Returns the number of events
/// written.
pub fn append_events(
    conn: &mut Connection,
    seed: u64,
    n_events: u64,
    at: DateTime<Utc>,
) -> Result<u64, SynthError> {
    append_profile_events(conn, Profile::Default, seed, n_events, at)
}

/// [`append_events`] for a given profile: the appended runs are shaped like that profile's.
pub fn append_profile_events(
    conn: &mut Connection,
    profile: Profile,
    seed: u64,
    n_events: u64,
    at: DateTime<Utc>,
) -> Result<u64, SynthError> {
    if at.year() < 1971 || at.year() > 9998 {
        return Err(SynthError::InvalidConfig(format!(
            "append time {at} must lie between the years 1971 and 9998"
        )));
    }
    if n_events == 0 {
        return Ok(0);
    }
    let end = at.timestamp_millis();
    let tx = conn.transaction()?;
    tx.execute_batch(RUN_HISTORY_SCHEMA)?;
    let max_id: i64 = tx.query_row("SELECT COALESCE(MAX(id), 0) FROM run_events", [], |r| {
        r.get(0)
    })?;
    let written = if profile == Profile::Real {
        real::append(
            &tx,
            rng::mix(seed, max_id as u64),
            n_events,
            end - 3_600_000 + 1,
            end,
        )?
    } else {
        let mut eng = engine::Engine::new(
            &tx,
            rng::mix(seed, max_id as u64),
            end - 30 * 86_400_000,
            end,
            false,
        )?;
        eng.append(n_events, end - 3_600_000 + 1, end)?;
        eng.events
    };
    tx.commit()?;
    Ok(written)
}
