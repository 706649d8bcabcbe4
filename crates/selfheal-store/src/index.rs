//! The incremental derived index of tool calls, kept in a SQLite file of its own.
//!
//! The run-history file is never written: the index lives beside it in a cache directory
//! (see [`IndexLocation`]), or in memory when no directory is writable. It is caught up from
//! `run_events` by a high-water mark (the largest event id indexed), so a call after N new
//! events costs O(N), and each batch is one transaction: a crash leaves the previous mark.
//!
//! Per tool call it stores run, time (Unix ms), tool, outcome (success, failure, rejected,
//! cancelled, benign: see `selfheal_core::classify`), duration and, for failures, pattern
//! (cause class × tool × program), class, confidence, signals, template of the salient line,
//! context, the recorded `error_type` and the retry evidence (`selfheal_core::retry`, from the
//! arguments of each call's `tool_start`). Hourly rollups per tool and per pattern make counts
//! over long windows cost hours, not calls; the ids of the recorded-type style are kept as
//! aliases of the patterns their failures belong to. Runs are mirrored (agent, status, times,
//! tokens, last event) and re-read while `running`.
//!
//! A catch-up runs in two stages on two threads (see `reader`): one reads and parses events and
//! prepares their classification, this one interns, mines templates, tracks retries and writes.
//!
//! The index is a cache: when its schema version or the analysis it was built with
//! (`selfheal_core::analysis_fingerprint`) differs, or the source's event at the high-water
//! mark is not the one indexed (file replaced or rewritten), it is rebuilt.

use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use selfheal_core::classify::{FailureClass, Outcome, is_explicit_timeout};
use selfheal_core::correlation::{ContextSet, MinHash};
use selfheal_core::event::SkipReason;
use selfheal_core::pattern::{Occurrence, legacy_pattern_id, pattern_id, template_partition};
use selfheal_core::pattern_state::PatternState;
use selfheal_core::retry::{CallSeen, OpenFailure, RetryState, RetryTracker};
use selfheal_core::stats::Histogram;
use selfheal_core::template::{Cluster, TemplateMiner, normalize, tokenize};
use selfheal_core::time::parse_timestamp;

use crate::error::{Result, StoreError};
use crate::history::RunHistory;
use crate::reader::{
    Balance, Chunk, FlaggedRun, Item, Msg, ParsedCall, ParsedEvent, Pending, PendingStart, Reader,
    StartInput,
};
use crate::source::RunRow;

/// Bump when the index layout or any derivation changes: older indexes are rebuilt.
pub const INDEX_VERSION: i64 = 9;
/// Events read and written per transaction during catch-up.
pub const BATCH_EVENTS: i64 = 50_000;
/// Milliseconds per rollup bucket.
pub const HOUR_MS: i64 = 3_600_000;
/// Hours per day rollup bucket (UTC days).
pub const HOURS_PER_DAY: i64 = 24;
/// Longest stored message sample of a failure.
const MESSAGE_SAMPLE_CHARS: usize = 300;

const INDEX_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs(
    key INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    agent TEXT NOT NULL,
    workflow TEXT,
    model TEXT,
    status TEXT NOT NULL,
    started_ms INTEGER,
    completed_ms INTEGER,
    duration_ms INTEGER,
    tokens INTEGER,
    iterations INTEGER,
    last_event_ms INTEGER,
    last_event_type TEXT,
    in_source INTEGER NOT NULL DEFAULT 1,
    -- Tool calls of the run: that ran, failures, declined, cancelled.
    calls INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    cancelled INTEGER NOT NULL DEFAULT 0
);
-- Covering for the per-agent and per-workflow scans of a window.
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_ms, agent, status, duration_ms, workflow, tokens);
CREATE INDEX IF NOT EXISTS runs_running ON runs(status) WHERE status = 'running';
CREATE TABLE IF NOT EXISTS tools(key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, timeout_ceiling_ms INTEGER);
CREATE TABLE IF NOT EXISTS programs(key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS recorded_types(key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
-- A pattern is a cause: (class, tool, program); `name` is its id.
CREATE TABLE IF NOT EXISTS patterns(key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, error_type TEXT NOT NULL, tool TEXT NOT NULL, program TEXT);
-- Ids in the recorded-type style (`<recorded error_type or class>:<tool>`) and the patterns
-- their failures belong to now.
CREATE TABLE IF NOT EXISTS pattern_aliases(alias TEXT NOT NULL, pattern INTEGER NOT NULL, failures INTEGER NOT NULL, PRIMARY KEY(alias, pattern)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS templates(key INTEGER PRIMARY KEY, partition TEXT NOT NULL, tokens TEXT NOT NULL, template TEXT NOT NULL, size INTEGER NOT NULL);
-- Contexts of failures (normalised salient line × agent × model) with the MinHash signature of
-- their token set, for estimating correlation without comparing sets.
CREATE TABLE IF NOT EXISTS contexts(key INTEGER PRIMARY KEY, normalized TEXT NOT NULL, agent TEXT NOT NULL, model TEXT NOT NULL, sig BLOB, UNIQUE(normalized, agent, model));
-- One row per tool call, clustered by time: a window of calls is one range of this table.
-- `outcome`: 0 success, 1 failure, 2 rejected, 3 cancelled, 4 benign.
CREATE TABLE IF NOT EXISTS calls(
    ts INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    tool INTEGER NOT NULL,
    run INTEGER NOT NULL,
    outcome INTEGER NOT NULL,
    duration_ms INTEGER,
    PRIMARY KEY(ts, event_id)
) WITHOUT ROWID;
-- Flagged calls (every outcome but success) with what the analysis found. For failures:
-- pattern, class, confidence, signals, template of the salient line, context, retry state,
-- recorded type. For a cancelled call, `pattern` is the pattern of the sibling failure it is
-- attributed to. `message` keeps a sample of the text.
CREATE TABLE IF NOT EXISTS failures(
    event_id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    run INTEGER NOT NULL,
    tool INTEGER NOT NULL,
    outcome INTEGER NOT NULL,
    duration_ms INTEGER,
    program INTEGER,
    pattern INTEGER,
    class INTEGER,
    class_conf REAL,
    signals INTEGER,
    template INTEGER,
    context INTEGER,
    retry INTEGER NOT NULL DEFAULT 0,
    recorded INTEGER NOT NULL DEFAULT 0,
    message TEXT
);
-- Covering for pattern scans: a window of failures is read from this index alone.
CREATE INDEX IF NOT EXISTS failures_window ON failures(ts, pattern, run, class, class_conf, signals, template, context, retry, recorded) WHERE outcome = 1;
CREATE INDEX IF NOT EXISTS failures_flagged ON failures(ts, outcome, tool, program, pattern) WHERE outcome >= 2;
CREATE INDEX IF NOT EXISTS failures_run ON failures(run);
-- A pattern's latest failures (samples) without reading its window.
CREATE INDEX IF NOT EXISTS failures_pattern ON failures(pattern, ts) WHERE outcome = 1;
-- `calls` counts calls that ran (success, failure, benign); the others are counted apart;
-- `durations` is the log-bucketed histogram of the durations of the calls that ran.
CREATE TABLE IF NOT EXISTS tool_hours(hour INTEGER NOT NULL, tool INTEGER NOT NULL, calls INTEGER NOT NULL, failures INTEGER NOT NULL, rejected INTEGER NOT NULL DEFAULT 0, cancelled INTEGER NOT NULL DEFAULT 0, benign INTEGER NOT NULL DEFAULT 0, durations BLOB, PRIMARY KEY(hour, tool)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pattern_hours(hour INTEGER NOT NULL, pattern INTEGER NOT NULL, failures INTEGER NOT NULL, PRIMARY KEY(hour, pattern)) WITHOUT ROWID;
-- The same per UTC day, so long windows (trends look back 37 days) cost days, not hours.
CREATE TABLE IF NOT EXISTS tool_days(day INTEGER NOT NULL, tool INTEGER NOT NULL, calls INTEGER NOT NULL, failures INTEGER NOT NULL, rejected INTEGER NOT NULL DEFAULT 0, cancelled INTEGER NOT NULL DEFAULT 0, benign INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(day, tool)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pattern_days(day INTEGER NOT NULL, pattern INTEGER NOT NULL, failures INTEGER NOT NULL, PRIMARY KEY(day, pattern)) WITHOUT ROWID;
-- Per pattern and hour, and per pattern and day: the bounded, mergeable state of its failures
-- (templates, contexts, recorded types, latest runs, a distinct-run sketch, classes, retry
-- evidence; selfheal_core::pattern_state), so what a pattern lists costs hours and days.
-- Day states run to kilobytes, which a WITHOUT ROWID tree stores poorly (measured on the
-- heavy-pattern benchmark: default detect 4.7 -> 7.7 ms, cold index 8.5 -> 11.5 s).
CREATE TABLE IF NOT EXISTS pattern_hour_state(pattern INTEGER NOT NULL, hour INTEGER NOT NULL, state BLOB NOT NULL, PRIMARY KEY(pattern, hour)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pattern_day_state(pattern INTEGER NOT NULL, day INTEGER NOT NULL, state BLOB NOT NULL, PRIMARY KEY(pattern, day));
-- Runs per UTC day of their start, workflow (else agent) and agent: counts by status and the
-- durations and tokens of finished runs (histograms), kept in step with the runs mirror.
CREATE TABLE IF NOT EXISTS run_days(day INTEGER NOT NULL, workflow TEXT NOT NULL, agent TEXT NOT NULL, started INTEGER NOT NULL, completed INTEGER NOT NULL, failed INTEGER NOT NULL, cancelled INTEGER NOT NULL, running INTEGER NOT NULL, durations BLOB, tokens BLOB, PRIMARY KEY(day, workflow, agent)) WITHOUT ROWID;
-- Open retry windows and tool starts awaiting their result, to continue after a restart.
CREATE TABLE IF NOT EXISTS retry_open(event_id INTEGER PRIMARY KEY, run INTEGER NOT NULL, tool INTEGER NOT NULL, args INTEGER NOT NULL, seen INTEGER NOT NULL, retried INTEGER NOT NULL, last_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pending_starts(run_id TEXT NOT NULL, seq INTEGER NOT NULL, call_hash INTEGER, tool TEXT NOT NULL, args INTEGER, command TEXT, ts INTEGER NOT NULL, PRIMARY KEY(run_id, seq));
CREATE TABLE IF NOT EXISTS skipped(event_id INTEGER PRIMARY KEY, ts INTEGER, reason TEXT NOT NULL);
"#;

const INDEX_TABLES: [&str; 22] = [
    "meta",
    "runs",
    "tools",
    "programs",
    "recorded_types",
    "patterns",
    "pattern_aliases",
    "templates",
    "contexts",
    "calls",
    "failures",
    "tool_hours",
    "pattern_hours",
    "tool_days",
    "pattern_days",
    "pattern_hour_state",
    "pattern_day_state",
    "run_days",
    "retry_open",
    "pending_starts",
    "skipped",
    "sqlite_sequence",
];

/// Where the index lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexLocation {
    /// A SQLite file of ours.
    File(PathBuf),
    /// A named shared-cache in-memory database (lost when the process ends).
    Memory(String),
}

impl IndexLocation {
    /// The default for a run-history file: `$SELFHEAL_INDEX_DIR`, else `$XDG_CACHE_HOME/self-healing-mcp`,
    /// else `~/.cache/self-healing-mcp`, with a file name derived from the source's canonical
    /// path; in memory when none of those can be created.
    pub fn default_for(source: &Path) -> IndexLocation {
        let canonical = source
            .canonicalize()
            .unwrap_or_else(|_| source.to_path_buf());
        let stem = canonical
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        IndexLocation::default_named(&canonical.to_string_lossy(), &stem)
    }

    /// The default for a history known by `key` (a canonical path, a redacted connection
    /// string), with `stem` in the file name for people who look at the directory.
    pub fn default_named(key: &str, stem: &str) -> IndexLocation {
        let stem: String = stem
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let name = format!("{stem}-{:016x}.index.sqlite", fnv64(key.as_bytes()));
        let dir = std::env::var_os("SELFHEAL_INDEX_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME")
                    .map(|d| PathBuf::from(d).join("self-healing-mcp"))
            })
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(|h| PathBuf::from(h).join(".cache").join("self-healing-mcp"))
            });
        match dir {
            Some(dir) if std::fs::create_dir_all(&dir).is_ok() && writable(&dir) => {
                IndexLocation::File(dir.join(name))
            }
            _ => IndexLocation::Memory(format!("selfheal-{:016x}", fnv64(key.as_bytes()))),
        }
    }

    /// Human description for README-level messages and status output.
    pub fn describe(&self) -> String {
        match self {
            IndexLocation::File(p) => p.display().to_string(),
            IndexLocation::Memory(name) => format!("memory ({name})"),
        }
    }

    fn open(&self, read_only: bool) -> Result<Connection> {
        let conn = match self {
            IndexLocation::File(p) => {
                let flags = if read_only {
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
                } else {
                    OpenFlags::SQLITE_OPEN_READ_WRITE
                        | OpenFlags::SQLITE_OPEN_CREATE
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                };
                Connection::open_with_flags(p, flags)
            }
            IndexLocation::Memory(name) => Connection::open_with_flags(
                format!("file:{name}?mode=memory&cache=shared"),
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            ),
        }
        .map_err(|e| {
            StoreError::Index(format!("cannot open the index at {}: {e}", self.describe()))
        })?;
        conn.busy_timeout(Duration::from_secs(10))?;
        Ok(conn)
    }

    /// Opens a reader connection (the writer must have created the schema first).
    pub fn open_reader(&self) -> Result<Connection> {
        let conn = self.open(false)?;
        if matches!(self, IndexLocation::Memory(_)) {
            // Shared-cache readers must not block on the writer's table locks.
            conn.pragma_update(None, "read_uncommitted", true)?;
        }
        // Room for the rollups and pattern states a window reads, without re-reading pages.
        conn.pragma_update(None, "cache_size", -16_000)?;
        Ok(conn)
    }
}

fn writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".probe-{}", std::process::id()));
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What one catch-up did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatchUp {
    pub events_read: u64,
    pub calls_indexed: u64,
    pub skipped: u64,
    pub runs_synced: u64,
    pub rebuilt: bool,
}

/// Identity of a run needed while indexing its events: its key and its agent and model (as
/// indexes into [`Indexer::names`], so handing it out per event copies three integers).
#[derive(Clone, Copy, Debug)]
struct RunInfo {
    key: u32,
    agent: u32,
    model: u32,
}

/// Retry windows of a run idle for this long (event time) are closed.
const IDLE_RUN_MS: i64 = crate::reader::IDLE_RUN_MS;
/// Longest stored text sample of a failure.
const FAILURE_SAMPLE_CHARS: usize = 1_000;

/// Per-hour counters of one tool: calls that ran, failures, rejected, cancelled, benign; and
/// the durations of the calls that ran.
#[derive(Default)]
struct HourCounts {
    counts: [i64; 5],
    durations: Histogram,
}

/// Per-run counters of a batch: calls that ran, failures, rejected, cancelled.
type RunCounts = [i64; 4];

const INSERT_CALL: &str = "INSERT INTO calls(ts, event_id, tool, run, outcome, duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const INSERT_FAILURE: &str = "INSERT INTO failures(event_id, ts, run, tool, outcome, duration_ms, program, pattern, class, class_conf, signals, template, context, retry, recorded, message)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

/// Calls written per `INSERT` during a batch: one statement of many rows costs a fraction
/// per row of a statement per row.
const CALLS_PER_INSERT: usize = 64;

/// One `calls` row: ts, event id, tool, run, outcome, duration.
type CallRow = (i64, i64, u32, u32, u8, Option<i64>);

/// The statements a batch runs for every call, prepared once per batch.
struct BatchStatements<'t> {
    call: rusqlite::Statement<'t>,
    /// [`CALLS_PER_INSERT`] rows at once.
    calls: rusqlite::Statement<'t>,
    /// Rows waiting for a full `calls` statement.
    waiting: Vec<CallRow>,
    failure: rusqlite::Statement<'t>,
}

impl<'t> BatchStatements<'t> {
    fn new(tx: &'t Transaction<'_>) -> Result<Self> {
        let rows = vec!["(?, ?, ?, ?, ?, ?)"; CALLS_PER_INSERT].join(", ");
        Ok(BatchStatements {
            call: tx.prepare(INSERT_CALL)?,
            calls: tx.prepare(&format!(
                "INSERT INTO calls(ts, event_id, tool, run, outcome, duration_ms) VALUES {rows}"
            ))?,
            waiting: Vec::with_capacity(CALLS_PER_INSERT),
            failure: tx.prepare(INSERT_FAILURE)?,
        })
    }

    fn add_call(&mut self, row: CallRow) -> Result<()> {
        self.waiting.push(row);
        if self.waiting.len() == CALLS_PER_INSERT {
            for (i, r) in self.waiting.iter().enumerate() {
                let at = i * 6;
                self.calls.raw_bind_parameter(at + 1, r.0)?;
                self.calls.raw_bind_parameter(at + 2, r.1)?;
                self.calls.raw_bind_parameter(at + 3, r.2)?;
                self.calls.raw_bind_parameter(at + 4, r.3)?;
                self.calls.raw_bind_parameter(at + 5, r.4)?;
                self.calls.raw_bind_parameter(at + 6, r.5)?;
            }
            self.calls.raw_execute()?;
            self.waiting.clear();
        }
        Ok(())
    }

    /// Writes the rows still waiting (at the end of a batch).
    fn finish(&mut self) -> Result<()> {
        for r in self.waiting.drain(..) {
            self.call.execute(params![r.0, r.1, r.2, r.3, r.4, r.5])?;
        }
        Ok(())
    }
}

/// The single writer of the index. Hold it behind a mutex; readers use their own connections.
pub struct Indexer {
    location: IndexLocation,
    conn: Connection,
    miner: TemplateMiner,
    tools: HashMap<String, u32>,
    ceilings: HashMap<u32, i64>,
    programs: HashMap<String, u32>,
    recorded: HashMap<String, u32>,
    patterns: HashMap<String, u32>,
    /// Contexts by (normalised line, agent, model), the last two as [`Indexer::names`] indexes.
    contexts: HashMap<(String, u32, u32), u32>,
    /// Every row of `contexts` is in the map (the table was empty when it started), so a
    /// context the map lacks is new and needs no lookup.
    contexts_all_known: bool,
    runs: HashMap<String, RunInfo>,
    /// The run of the previous event: most events follow one of their own run.
    last_run: Option<(Arc<str>, RunInfo)>,
    /// Agent and model names of runs, interned.
    names: Vec<Arc<str>>,
    name_keys: HashMap<Arc<str>, u32>,
    retry: RetryTracker,
    /// The tool starts awaiting their result as of the last committed batch.
    pending: Pending,
    /// The latest failure of each run (event id, pattern): what a cancelled sibling is
    /// attributed to.
    last_failure: HashMap<u32, (i64, u32)>,
    /// Template partitions by (tool, class), built once.
    partitions: HashMap<(u32, u8), String>,
    /// Normalised salient lines by the line: the same error text recurs (more than half of
    /// the failures of a real-shaped history repeat an earlier line exactly).
    normalized: HashMap<String, String>,
}

/// What one batch accumulates before writing its rollups.
#[derive(Default)]
struct BatchAcc {
    tool_hours: HashMap<(i64, u32), HourCounts>,
    run_counts: HashMap<u32, RunCounts>,
    run_days: RunDays,
    /// Failures of the batch per (hour, pattern).
    pattern_hours: HashMap<(i64, u32), PatternState>,
    aliases: HashMap<(String, u32), i64>,
    last_events: HashMap<u32, (i64, Arc<str>)>,
    touched_templates: Vec<u32>,
    touched_ceilings: Vec<u32>,
    retry_changes: HashMap<i64, RetryState>,
    max_ts: i64,
    read: u64,
    calls: u64,
    skipped: u64,
}

impl Indexer {
    /// Opens (creating if needed) the index at `location`; rebuilds it when its version differs.
    pub fn open(location: IndexLocation) -> Result<Indexer> {
        let conn = location.open(false)?;
        if let IndexLocation::File(_) = location {
            // Our own file: WAL lets readers run while a catch-up writes. It is a cache that
            // is rebuilt when unreadable, so commits skip fsync: a process crash still leaves
            // the last committed batch (the OS has the pages); only a power loss can cost a
            // rebuild.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "OFF")?;
        }
        conn.pragma_update(None, "cache_size", -32_000)?;
        let mut indexer = Indexer {
            location,
            conn,
            miner: TemplateMiner::new(),
            tools: HashMap::default(),
            ceilings: HashMap::default(),
            programs: HashMap::default(),
            recorded: HashMap::default(),
            patterns: HashMap::default(),
            contexts: HashMap::default(),
            contexts_all_known: false,
            runs: HashMap::default(),
            last_run: None,
            names: Vec::new(),
            name_keys: HashMap::default(),
            retry: RetryTracker::new(),
            pending: HashMap::default(),
            last_failure: HashMap::default(),
            partitions: HashMap::default(),
            normalized: HashMap::default(),
        };
        let version: Option<i64> = indexer.meta_i64("version").unwrap_or(None);
        // Built by another layout or another analysis: rebuilt from the source.
        let analysis = if version.is_some() {
            indexer.meta_text("analysis").unwrap_or(None)
        } else {
            None
        };
        if version != Some(INDEX_VERSION)
            || analysis.as_deref() != Some(selfheal_core::analysis_fingerprint().as_str())
        {
            indexer.reset()?;
        }
        indexer.load_state()?;
        Ok(indexer)
    }

    pub fn location(&self) -> &IndexLocation {
        &self.location
    }

    fn meta_i64(&self, key: &str) -> Result<Option<i64>> {
        let exists: bool = self.conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'meta'",
            [],
            |r| r.get::<_, i64>(0),
        )? > 0;
        if !exists {
            return Ok(None);
        }
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .and_then(|v| v.parse().ok()))
    }

    fn meta_text(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn clear_memory(&mut self) {
        self.miner = TemplateMiner::new();
        self.tools.clear();
        self.ceilings.clear();
        self.programs.clear();
        self.recorded.clear();
        self.patterns.clear();
        self.contexts.clear();
        self.contexts_all_known = false;
        self.runs.clear();
        self.last_run = None;
        self.names.clear();
        self.name_keys.clear();
        self.retry = RetryTracker::new();
        self.pending.clear();
        self.last_failure.clear();
        self.partitions.clear();
    }

    /// Drops everything and recreates an empty index.
    fn reset(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        let existing: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        // Every table, including those of older layouts.
        for table in existing.iter().map(String::as_str).chain(INDEX_TABLES) {
            if table != "sqlite_sequence" {
                tx.execute_batch(&format!("DROP TABLE IF EXISTS \"{table}\""))?;
            }
        }
        tx.execute_batch(INDEX_SCHEMA)?;
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('version', ?1)",
            params![INDEX_VERSION.to_string()],
        )?;
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('analysis', ?1)",
            params![selfheal_core::analysis_fingerprint()],
        )?;
        tx.commit()?;
        self.clear_memory();
        self.contexts_all_known = true;
        Ok(())
    }

    /// Loads the in-memory state that indexing continues from.
    fn load_state(&mut self) -> Result<()> {
        self.contexts_all_known = self.contexts.is_empty()
            && self
                .conn
                .query_row("SELECT NOT EXISTS (SELECT 1 FROM contexts)", [], |r| {
                    r.get::<_, bool>(0)
                })?;
        let mut clusters = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT key, partition, tokens, size FROM templates ORDER BY key")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let tokens: String = r.get(2)?;
                let tokens: Vec<String> = serde_json::from_str(&tokens)
                    .map_err(|e| StoreError::Index(format!("template tokens unreadable: {e}")))?;
                clusters.push(Cluster {
                    id: r.get(0)?,
                    partition: r.get(1)?,
                    tokens,
                    size: r.get::<_, i64>(3)? as u64,
                });
            }
        }
        self.miner = TemplateMiner::from_clusters(clusters);
        {
            let mut stmt = self
                .conn
                .prepare("SELECT key, name, timeout_ceiling_ms FROM tools")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let key: u32 = r.get(0)?;
                self.tools.insert(r.get(1)?, key);
                if let Some(c) = r.get::<_, Option<i64>>(2)? {
                    self.ceilings.insert(key, c);
                }
            }
        }
        for (table, map) in [
            ("patterns", &mut self.patterns),
            ("programs", &mut self.programs),
            ("recorded_types", &mut self.recorded),
        ] {
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT key, name FROM {table}"))?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                map.insert(r.get(1)?, r.get(0)?);
            }
        }
        {
            let mut stmt = self.conn.prepare(
                "SELECT run, event_id, tool, args, seen, retried, last_ms FROM retry_open ORDER BY event_id",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                self.retry.restore(
                    r.get(0)?,
                    OpenFailure {
                        event_id: r.get(1)?,
                        tool: r.get(2)?,
                        args: r.get::<_, i64>(3)? as u64,
                        seen: r.get(4)?,
                        retried: r.get::<_, i64>(5)? != 0,
                        last_ms: r.get(6)?,
                    },
                );
            }
        }
        let mut stmt = self.conn.prepare(
            "SELECT run_id, call_hash, tool, args, command, ts FROM pending_starts ORDER BY run_id, seq",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let run_id: String = r.get(0)?;
            self.pending
                .entry(Arc::from(run_id))
                .or_default()
                .push(PendingStart {
                    call_id: r.get::<_, Option<i64>>(1)?.map(|h| h as u64),
                    tool: Arc::from(r.get::<_, String>(2)?),
                    input: StartInput::Read {
                        args: r.get::<_, Option<i64>>(3)?.map(|a| a as u64),
                        command: r.get(4)?,
                    },
                    ts: r.get(5)?,
                });
        }
        Ok(())
    }

    /// Brings the index up to date with `source`.
    pub fn catch_up(
        &mut self,
        source: &dyn RunHistory,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<CatchUp> {
        let mut stats = CatchUp::default();
        let source_path = source.describe();
        let mut hw = self.meta_i64("events_hw")?.unwrap_or(0);
        let same_source = self.meta_text("source")?.is_none_or(|s| s == source_path);
        let fingerprint_ok = hw == 0
            || Some(source.event_fingerprint(hw)?.unwrap_or_default())
                == self.meta_text("events_fp")?;
        if !same_source || !fingerprint_ok {
            tracing::info!(index = %self.location.describe(), "source changed under the index; rebuilding");
            self.reset()?;
            stats.rebuilt = true;
            hw = 0;
        }
        let max_id = source.max_event_id()?;
        if hw >= max_id {
            stats.runs_synced = self.sync_runs(source, &source_path)?;
            return Ok(stats);
        }
        let total = u64::try_from(max_id - hw).unwrap_or(0);
        // Two stages (see `reader`): this thread indexes while another reads and parses.
        let reading = source.reopen()?;
        let balance = Balance::default();
        let reader = Reader::new(self.pending.clone(), self.open_windows()?, balance.clone());
        let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(crate::reader::CHANNEL_CHUNKS);
        std::thread::scope(|scope| {
            let handle = scope.spawn(move || reader.run(reading, hw, max_id, BATCH_EVENTS, tx));
            let result = (|| -> Result<()> {
                // The runs are mirrored while the reader starts on the events: the first
                // sync of a large history costs as long as reading tens of thousands of them.
                stats.runs_synced = self.sync_runs(source, &source_path)?;
                loop {
                    let (read, calls, skipped, done) = self.index_batch(source, &rx, &balance)?;
                    stats.events_read += read;
                    stats.calls_indexed += calls;
                    stats.skipped += skipped;
                    if read > 0 {
                        progress(stats.events_read, total);
                    }
                    if done {
                        return Ok(());
                    }
                }
            })();
            // Hanging up stops the reader at its next send.
            drop(rx);
            if handle.join().is_err() {
                return Err(StoreError::Index(
                    "the catch-up reader stopped unexpectedly".into(),
                ));
            }
            result
        })?;
        Ok(stats)
    }

    /// The runs with open retry windows and the tools of those windows, by run id.
    fn open_windows(&self) -> Result<HashMap<Arc<str>, FlaggedRun>> {
        let mut out: HashMap<Arc<str>, FlaggedRun> = HashMap::default();
        let mut stmt = self.conn.prepare(
            "SELECT r.run_id, t.name, o.last_ms FROM retry_open o JOIN runs r ON r.key = o.run JOIN tools t ON t.key = o.tool",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let run = out.entry(Arc::from(r.get::<_, String>(0)?)).or_default();
            run.tools.push(Arc::from(r.get::<_, String>(1)?));
            run.last_ms = run.last_ms.max(r.get(2)?);
        }
        Ok(out)
    }

    /// Mirrors new runs and re-reads the ones still running.
    fn sync_runs(&mut self, source: &dyn RunHistory, source_path: &str) -> Result<u64> {
        let runs_hw = self.meta_i64("runs_hw")?.unwrap_or(0);
        let running: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT run_id FROM runs WHERE status = 'running'")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        // Only runs that finished since need rewriting; a no-op refresh writes nothing, so
        // concurrent calls do not contend for the index's write lock.
        let finished: Vec<RunRow> = source
            .runs_by_id(&running)?
            .into_iter()
            .filter(|r| !r.status.trim().eq_ignore_ascii_case("running"))
            .collect();
        let same_source = self.meta_text("source")?.as_deref() == Some(source_path);
        if finished.is_empty() && same_source && source.max_run_rowid()? <= runs_hw {
            return Ok(0);
        }
        // New runs are streamed into the transaction: the first sync of a large history must
        // not hold every run in memory.
        let tx = self.conn.transaction()?;
        let mut n = 0u64;
        let mut days = RunDays::default();
        for run in &finished {
            upsert_run(&tx, run, &mut days)?;
            n += 1;
        }
        let new_hw = source.runs_after(runs_hw, &mut |run| {
            upsert_run(&tx, &run, &mut days)?;
            n += 1;
            Ok(())
        })?;
        days.apply(&tx)?;
        set_meta(&tx, "runs_hw", &new_hw.to_string())?;
        set_meta(&tx, "source", source_path)?;
        tx.commit()?;
        // Cached identities may have changed (agent from late metadata).
        self.runs.clear();
        self.last_run = None;
        Ok(n)
    }

    fn run_info(
        &mut self,
        tx: &Transaction<'_>,
        run_id: &Arc<str>,
        source: &dyn RunHistory,
        days: &mut RunDays,
    ) -> Result<RunInfo> {
        if let Some((last, info)) = &self.last_run
            && (Arc::ptr_eq(last, run_id) || **last == **run_id)
        {
            return Ok(*info);
        }
        let info = self.run_info_slow(tx, run_id, source, days)?;
        self.last_run = Some((run_id.clone(), info));
        Ok(info)
    }

    fn run_info_slow(
        &mut self,
        tx: &Transaction<'_>,
        run_id: &str,
        source: &dyn RunHistory,
        days: &mut RunDays,
    ) -> Result<RunInfo> {
        if let Some(info) = self.runs.get(run_id) {
            return Ok(*info);
        }
        if self.runs.len() > 4_096 {
            self.runs.clear();
        }
        let lookup = |tx: &Transaction<'_>| -> rusqlite::Result<Option<(u32, String, String)>> {
            tx.prepare_cached("SELECT key, agent, COALESCE(model, '') FROM runs WHERE run_id = ?1")?
                .query_row(params![run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
        };
        let info = match lookup(tx)? {
            Some(info) => info,
            None => {
                // An event whose run row is not (yet) in the source: read it now, or record
                // the run as unknown so its calls still count.
                let row = source.runs_by_id(&[run_id.to_string()])?.into_iter().next();
                let row = row.unwrap_or_else(|| RunRow {
                    id: run_id.to_string(),
                    status: "unknown".into(),
                    ..Default::default()
                });
                upsert_run(tx, &row, days)?;
                lookup(tx)?.ok_or_else(|| {
                    StoreError::Index(format!("run {run_id} vanished while indexing"))
                })?
            }
        };
        let info = RunInfo {
            key: info.0,
            agent: self.name_key(&info.1),
            model: self.name_key(&info.2),
        };
        self.runs.insert(run_id.to_string(), info);
        Ok(info)
    }

    /// The index of an agent or model name in [`Indexer::names`].
    fn name_key(&mut self, name: &str) -> u32 {
        if let Some(k) = self.name_keys.get(name) {
            return *k;
        }
        let name: Arc<str> = Arc::from(name);
        let k = self.names.len() as u32;
        self.names.push(name.clone());
        self.name_keys.insert(name, k);
        k
    }

    /// [`normalize`] of a salient line, remembered for the lines seen last.
    fn normalized(&mut self, salient: &str) -> String {
        if let Some(n) = self.normalized.get(salient) {
            return n.clone();
        }
        if self.normalized.len() >= 16_384 {
            self.normalized.clear();
        }
        let n = normalize(salient);
        self.normalized.insert(salient.to_string(), n.clone());
        n
    }

    /// Interns `name` in `table` (`key`, `name`), cached in the map the caller picks.
    fn intern(
        tx: &Transaction<'_>,
        cache: &mut HashMap<String, u32>,
        table: &str,
        name: &str,
    ) -> Result<u32> {
        if let Some(k) = cache.get(name) {
            return Ok(*k);
        }
        tx.prepare_cached(&format!("INSERT INTO {table}(name) VALUES (?1)"))?
            .execute(params![name])?;
        let key = tx.last_insert_rowid() as u32;
        cache.insert(name.to_string(), key);
        Ok(key)
    }

    fn intern_pattern(
        &mut self,
        tx: &Transaction<'_>,
        class: FailureClass,
        tool: &str,
        program: Option<&str>,
    ) -> Result<u32> {
        let name = pattern_id(class, tool, program);
        if let Some(k) = self.patterns.get(&name) {
            return Ok(*k);
        }
        tx.prepare_cached(
            "INSERT INTO patterns(name, error_type, tool, program) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![name, class.as_str(), tool, program])?;
        let key = tx.last_insert_rowid() as u32;
        self.patterns.insert(name, key);
        Ok(key)
    }

    /// The context of a failure: its normalised salient line and its run's agent and model
    /// (as indexes into [`Indexer::names`]).
    fn intern_context(
        &mut self,
        tx: &Transaction<'_>,
        normalized: String,
        run: RunInfo,
    ) -> Result<u32> {
        let key = (normalized, run.agent, run.model);
        if let Some(k) = self.contexts.get(&key) {
            return Ok(*k);
        }
        if self.contexts.len() > 100_000 {
            self.contexts.clear();
            self.contexts_all_known = false;
        }
        let (agent, model) = (
            self.names[run.agent as usize].as_ref(),
            self.names[run.model as usize].as_ref(),
        );
        let existing: Option<u32> = if self.contexts_all_known {
            None
        } else {
            tx.prepare_cached(
                "SELECT key FROM contexts WHERE normalized = ?1 AND agent = ?2 AND model = ?3",
            )?
            .query_row(params![key.0, agent, model], |r| r.get(0))
            .optional()?
        };
        let k =
            match existing {
                Some(k) => k,
                None => {
                    let set = context_set(&key.0, agent, model);
                    tx.prepare_cached(
                    "INSERT INTO contexts(normalized, agent, model, sig) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![key.0, agent, model, MinHash::of(&set).to_bytes()])?;
                    tx.last_insert_rowid() as u32
                }
            };
        self.contexts.insert(key, k);
        Ok(k)
    }

    /// Indexes the next batch the reader sends in one transaction, advancing the high-water
    /// mark. Returns (events read, calls indexed, events skipped, whether the reader is done).
    fn index_batch(
        &mut self,
        source: &dyn RunHistory,
        rx: &Receiver<Msg>,
        balance: &Balance,
    ) -> Result<(u64, u64, u64, bool)> {
        // The transaction borrows the connection while the interning maps are mutated, so the
        // connection is moved out for the duration of the batch.
        let mut conn = std::mem::replace(&mut self.conn, Connection::open_in_memory()?);
        let result = self.index_batch_in(&mut conn, source, rx, balance);
        self.conn = conn;
        if result.is_err() {
            // In-memory state may be ahead of the rolled-back transaction: reload it.
            self.clear_memory();
            self.load_state()?;
        }
        result
    }

    fn index_batch_in(
        &mut self,
        conn: &mut Connection,
        source: &dyn RunHistory,
        rx: &Receiver<Msg>,
        balance: &Balance,
    ) -> Result<(u64, u64, u64, bool)> {
        let tx = conn.transaction()?;
        let mut acc = BatchAcc {
            max_ts: i64::MIN,
            ..BatchAcc::default()
        };
        let end = {
            let mut st = BatchStatements::new(&tx)?;
            let end = loop {
                match rx.recv() {
                    // The reader is done (or gone): nothing more in this catch-up.
                    Err(_) => break None,
                    Ok(Msg::Failed(e)) => return Err(e),
                    Ok(Msg::Events(chunk)) => {
                        balance.taken();
                        let Chunk {
                            events,
                            calls,
                            runs,
                            types,
                        } = chunk;
                        let mut calls = calls.into_iter();
                        for event in events {
                            acc.read += 1;
                            let run = &runs[event.run as usize];
                            let kind = &types[event.kind as usize];
                            let call = match event.item {
                                Item::Call => calls.next(),
                                _ => None,
                            };
                            self.index_event(
                                &tx,
                                &mut st,
                                source,
                                (run, kind),
                                (event, call),
                                &mut acc,
                            )?;
                        }
                    }
                    Ok(Msg::BatchEnd {
                        last_id,
                        fingerprint,
                        pending,
                    }) => break Some((last_id, fingerprint, pending)),
                }
            };
            st.finish()?;
            end
        };
        let Some((last_id, fingerprint, pending)) = end else {
            // Events without their batch end are not committed (the reader stopped early).
            return Ok((0, 0, 0, true));
        };
        self.pending = pending;
        self.flush_batch(&tx, &mut acc)?;
        set_meta(&tx, "events_hw", &last_id.to_string())?;
        set_meta(&tx, "events_fp", &fingerprint)?;
        tx.commit()?;
        Ok((acc.read, acc.calls, acc.skipped, false))
    }

    fn index_event(
        &mut self,
        tx: &Transaction<'_>,
        st: &mut BatchStatements<'_>,
        source: &dyn RunHistory,
        (run_id, kind): (&Arc<str>, &Arc<str>),
        (event, call): (ParsedEvent, Option<ParsedCall>),
        acc: &mut BatchAcc,
    ) -> Result<()> {
        let run = self.run_info(tx, run_id, source, &mut acc.run_days)?;
        if let Some(ts) = event.ts {
            acc.max_ts = acc.max_ts.max(ts);
            let slot = acc
                .last_events
                .entry(run.key)
                .or_insert_with(|| (ts, kind.clone()));
            if ts >= slot.0 {
                slot.0 = ts;
                if !Arc::ptr_eq(&slot.1, kind) {
                    slot.1 = kind.clone();
                }
            }
        }
        let mut call = match event.item {
            Item::Other => return Ok(()),
            Item::Skip(reason) => {
                skip(tx, event.id, event.ts, reason)?;
                acc.skipped += 1;
                return Ok(());
            }
            Item::Call => match call {
                Some(call) => call,
                None => {
                    return Err(StoreError::Index(
                        "a chunk holds fewer calls than its events name".into(),
                    ));
                }
            },
        };
        let prepared = call.prepared();
        let (record, ts, args) = (call.record, call.ts, call.args);
        acc.calls += 1;
        let tool = Self::intern(tx, &mut self.tools, "tools", &record.tool)?;
        let hour = ts.div_euclid(HOUR_MS);
        let analysis = prepared.map(|p| p.finish(self.ceilings.get(&tool).copied()));
        let outcome = analysis.as_ref().map_or(Outcome::Success, |a| a.outcome);
        let slot = acc.tool_hours.entry((hour, tool)).or_default();
        let per_run = acc.run_counts.entry(run.key).or_default();
        match outcome {
            Outcome::Success => slot.counts[0] += 1,
            Outcome::Failure => {
                slot.counts[0] += 1;
                slot.counts[1] += 1;
                per_run[1] += 1;
            }
            Outcome::Rejected => {
                slot.counts[2] += 1;
                per_run[2] += 1;
            }
            Outcome::Cancelled => {
                slot.counts[3] += 1;
                per_run[3] += 1;
            }
            Outcome::Benign => {
                slot.counts[0] += 1;
                slot.counts[4] += 1;
            }
        }
        if outcome.ran() {
            per_run[0] += 1;
            if let Some(d) = record.duration_ms {
                slot.durations.add(d.max(0) as u64);
            }
        }
        st.add_call((
            ts,
            event.id,
            tool,
            run.key,
            outcome.code(),
            record.duration_ms,
        ))?;
        let mut changes = Vec::new();
        self.retry.observe(
            CallSeen {
                run: run.key,
                tool,
                args,
                failed: outcome == Outcome::Failure,
                succeeded: matches!(outcome, Outcome::Success | Outcome::Benign),
                event_id: event.id,
                ts_ms: ts,
            },
            &mut changes,
        );
        let mut own_retry = RetryState::Pending;
        for (id, state) in changes {
            if id == event.id {
                own_retry = state;
            } else {
                acc.retry_changes.insert(id, state);
            }
        }
        let Some(analysis) = analysis else {
            return Ok(());
        };
        let program = match &analysis.program {
            Some(p) => Some(Self::intern(tx, &mut self.programs, "programs", p)?),
            None => None,
        };
        if outcome != Outcome::Failure {
            // Attributed to the failure of a parallel sibling, when that is why it never ran.
            let sibling = (outcome == Outcome::Cancelled
                && record
                    .message
                    .as_deref()
                    .is_some_and(|m| m.contains("parallel tool call")))
            .then(|| self.last_failure.get(&run.key).map(|(_, p)| *p))
            .flatten();
            st.failure.execute(params![
                event.id,
                ts,
                run.key,
                tool,
                outcome.code(),
                record.duration_ms,
                program,
                sibling,
                None::<i64>,
                None::<f64>,
                None::<i64>,
                None::<i64>,
                None::<i64>,
                0,
                0,
                sample(&analysis.salient, MESSAGE_SAMPLE_CHARS)
            ])?;
            return Ok(());
        }
        let class = &analysis.classification;
        if record.duration_recorded
            && is_explicit_timeout(class)
            && let Some(d) = record.duration_ms
        {
            let ceiling = self.ceilings.entry(tool).or_insert(0);
            if d > *ceiling {
                *ceiling = d;
                acc.touched_ceilings.push(tool);
            }
        }
        let pattern =
            self.intern_pattern(tx, class.class, &record.tool, analysis.program.as_deref())?;
        let alias = legacy_pattern_id(record.error_type.as_deref(), class.class, &record.tool);
        *acc.aliases.entry((alias, pattern)).or_default() += 1;
        let recorded = match record.error_type.as_deref() {
            Some(t) => Self::intern(tx, &mut self.recorded, "recorded_types", t)?,
            None => 0,
        };
        let normalized = self.normalized(&analysis.salient);
        let partition = self
            .partitions
            .entry((tool, class.class.code()))
            .or_insert_with(|| template_partition(&record.tool, class.class));
        let mined = self.miner.add_normalized(partition, &normalized);
        acc.touched_templates.push(mined.cluster_id);
        let context = self.intern_context(tx, normalized, run)?;
        let text = record.message.as_deref().unwrap_or("");
        st.failure.execute(params![
            event.id,
            ts,
            run.key,
            tool,
            Outcome::Failure.code(),
            record.duration_ms,
            program,
            pattern,
            class.class.code(),
            class.confidence,
            class.signal_bits(),
            mined.cluster_id,
            context,
            own_retry.code(),
            recorded,
            sample(text, FAILURE_SAMPLE_CHARS)
        ])?;
        acc.pattern_hours
            .entry((hour, pattern))
            .or_default()
            .push(&Occurrence {
                pattern,
                run: run.key,
                ts_ms: ts,
                class: class.class,
                class_confidence: class.confidence,
                signal_bits: class.signal_bits(),
                template: mined.cluster_id,
                context,
                retry: own_retry,
                recorded,
            });
        if self.last_failure.len() > 16_384 {
            self.last_failure.clear();
        }
        self.last_failure.insert(run.key, (event.id, pattern));
        Ok(())
    }

    /// Writes a batch's rollups and the state that continues into the next batch.
    fn flush_batch(&mut self, tx: &Transaction<'_>, acc: &mut BatchAcc) -> Result<()> {
        // An hour the previous batch already wrote gets its histogram merged; hours after the
        // last one written are new (most of them, as a history is read in time order).
        let written_until: Option<i64> =
            tx.query_row("SELECT MAX(hour) FROM tool_hours", [], |r| r.get(0))?;
        // The same for pattern states, whose cells are those of `pattern_hours` / `_days`.
        let state_hours_until: Option<i64> =
            tx.query_row("SELECT MAX(hour) FROM pattern_hours", [], |r| r.get(0))?;
        let state_days_until: Option<i64> =
            tx.query_row("SELECT MAX(day) FROM pattern_days", [], |r| r.get(0))?;
        let mut existing =
            tx.prepare_cached("SELECT durations FROM tool_hours WHERE hour = ?1 AND tool = ?2")?;
        let mut stmt = tx.prepare_cached(
            "INSERT INTO tool_hours(hour, tool, calls, failures, rejected, cancelled, benign, durations) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(hour, tool) DO UPDATE SET calls = calls + excluded.calls, failures = failures + excluded.failures,
               rejected = rejected + excluded.rejected, cancelled = cancelled + excluded.cancelled, benign = benign + excluded.benign,
               durations = excluded.durations",
        )?;
        for ((hour, tool), slot) in &mut acc.tool_hours {
            let before: Option<Vec<u8>> = if written_until.is_some_and(|w| *hour <= w) {
                existing
                    .query_row(params![hour, tool], |r| r.get(0))
                    .optional()?
                    .flatten()
            } else {
                None
            };
            if let Some(h) = before.as_deref().and_then(Histogram::from_bytes) {
                slot.durations.merge(&h);
            }
            let c = slot.counts;
            stmt.execute(params![
                hour,
                tool,
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                slot.durations.to_bytes()
            ])?;
        }
        std::mem::take(&mut acc.run_days).apply(tx)?;
        // One statement per run for its counts and its latest event (both sides of an `SET`
        // see the row as it was).
        let mut stmt = tx.prepare_cached(
            "UPDATE runs SET calls = calls + ?2, failed = failed + ?3, rejected = rejected + ?4, cancelled = cancelled + ?5,
               last_event_ms = CASE WHEN ?6 IS NOT NULL AND (last_event_ms IS NULL OR last_event_ms <= ?6) THEN ?6 ELSE last_event_ms END,
               last_event_type = CASE WHEN ?6 IS NOT NULL AND (last_event_ms IS NULL OR last_event_ms <= ?6) THEN ?7 ELSE last_event_type END
             WHERE key = ?1",
        )?;
        for (run, c) in &acc.run_counts {
            let last = acc.last_events.get(run);
            stmt.execute(params![
                run,
                c[0],
                c[1],
                c[2],
                c[3],
                last.map(|l| l.0),
                last.map(|l| l.1.as_ref())
            ])?;
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO pattern_hours(hour, pattern, failures) VALUES (?1, ?2, ?3)
             ON CONFLICT(hour, pattern) DO UPDATE SET failures = failures + excluded.failures",
        )?;
        for ((hour, pattern), state) in &acc.pattern_hours {
            stmt.execute(params![hour, pattern, state.occurrences as i64])?;
        }
        // Day rollups from the hour ones.
        let mut tool_days: HashMap<(i64, u32), [i64; 5]> = HashMap::default();
        for ((hour, tool), slot) in &acc.tool_hours {
            let day = tool_days
                .entry((hour.div_euclid(HOURS_PER_DAY), *tool))
                .or_default();
            for (d, c) in day.iter_mut().zip(slot.counts) {
                *d += c;
            }
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO tool_days(day, tool, calls, failures, rejected, cancelled, benign) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(day, tool) DO UPDATE SET calls = calls + excluded.calls, failures = failures + excluded.failures,
               rejected = rejected + excluded.rejected, cancelled = cancelled + excluded.cancelled, benign = benign + excluded.benign",
        )?;
        for ((day, tool), c) in &tool_days {
            stmt.execute(params![day, tool, c[0], c[1], c[2], c[3], c[4]])?;
        }
        let mut pattern_days: HashMap<(i64, u32), PatternState> = HashMap::default();
        for ((hour, pattern), state) in &acc.pattern_hours {
            pattern_days
                .entry((hour.div_euclid(HOURS_PER_DAY), *pattern))
                .or_default()
                .merge(state);
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO pattern_days(day, pattern, failures) VALUES (?1, ?2, ?3)
             ON CONFLICT(day, pattern) DO UPDATE SET failures = failures + excluded.failures",
        )?;
        for ((day, pattern), state) in &pattern_days {
            stmt.execute(params![day, pattern, state.occurrences as i64])?;
        }
        // Cells after the last hour and day written before this batch are new (a history is
        // mostly read in time order): they are written without reading a stored state first.
        for (level, states, until) in [
            (
                StateLevel::Hour,
                std::mem::take(&mut acc.pattern_hours),
                state_hours_until,
            ),
            (StateLevel::Day, pattern_days, state_days_until),
        ] {
            for ((at, pattern), state) in states {
                let known_new = until.is_none_or(|u| at > u);
                level.store(tx, pattern, at, state, known_new)?;
            }
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO pattern_aliases(alias, pattern, failures) VALUES (?1, ?2, ?3)
             ON CONFLICT(alias, pattern) DO UPDATE SET failures = failures + excluded.failures",
        )?;
        for ((alias, pattern), f) in &acc.aliases {
            stmt.execute(params![alias, pattern, f])?;
        }
        let mut stmt = tx.prepare_cached(
            "UPDATE runs SET last_event_ms = ?2, last_event_type = ?3 WHERE key = ?1 AND (last_event_ms IS NULL OR last_event_ms <= ?2)",
        )?;
        for (run, (ts, kind)) in &acc.last_events {
            if !acc.run_counts.contains_key(run) {
                stmt.execute(params![run, ts, kind.as_ref()])?;
            }
        }
        acc.touched_templates.sort_unstable();
        acc.touched_templates.dedup();
        let mut stmt = tx.prepare_cached(
            "INSERT INTO templates(key, partition, tokens, template, size) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(key) DO UPDATE SET tokens = excluded.tokens, template = excluded.template, size = excluded.size",
        )?;
        for id in &acc.touched_templates {
            if let Some(c) = self
                .miner
                .clusters()
                .get((*id as usize).wrapping_sub(1))
                .filter(|c| c.id == *id)
            {
                let tokens = serde_json::to_string(&c.tokens)
                    .map_err(|e| StoreError::Index(format!("cannot encode template: {e}")))?;
                stmt.execute(params![
                    c.id,
                    c.partition,
                    tokens,
                    c.tokens.join(" "),
                    c.size as i64
                ])?;
            }
        }
        let mut stmt =
            tx.prepare_cached("UPDATE tools SET timeout_ceiling_ms = ?2 WHERE key = ?1")?;
        for tool in &acc.touched_ceilings {
            stmt.execute(params![tool, self.ceilings.get(tool)])?;
        }
        // Retry evidence that arrived for earlier failures moves them between the retry
        // states of their pattern's hour and day.
        let mut moves: HashMap<(i64, u32), Vec<(RetryState, RetryState)>> = HashMap::default();
        let mut before = tx.prepare_cached(
            "SELECT ts, pattern, retry FROM failures WHERE event_id = ?1 AND outcome = 1 AND pattern IS NOT NULL",
        )?;
        let mut stmt = tx.prepare_cached("UPDATE failures SET retry = ?2 WHERE event_id = ?1")?;
        for (id, state) in &acc.retry_changes {
            let old: Option<(i64, u32, i64)> = before
                .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            if let Some((ts, pattern, old)) = old {
                let old = RetryState::from_code(old);
                if old != *state {
                    moves
                        .entry((ts.div_euclid(HOUR_MS), pattern))
                        .or_default()
                        .push((old, *state));
                }
            }
            stmt.execute(params![id, state.code()])?;
        }
        let mut day_moves: HashMap<(i64, u32), Vec<(RetryState, RetryState)>> = HashMap::default();
        for ((hour, pattern), list) in &moves {
            day_moves
                .entry((hour.div_euclid(HOURS_PER_DAY), *pattern))
                .or_default()
                .extend(list);
        }
        for (level, moves) in [(StateLevel::Hour, moves), (StateLevel::Day, day_moves)] {
            for ((at, pattern), list) in moves {
                level.update(tx, pattern, at, |stored| {
                    for (from, to) in &list {
                        stored.move_retry(*from, *to, 1);
                    }
                })?;
            }
        }
        // Runs idle for an hour of event time: their retry windows are closed (the reader
        // drops their starts the same way).
        if acc.max_ts > i64::MIN {
            self.retry.expire(acc.max_ts - IDLE_RUN_MS);
        }
        tx.execute("DELETE FROM retry_open", [])?;
        let mut stmt = tx.prepare_cached(
            "INSERT INTO retry_open(event_id, run, tool, args, seen, retried, last_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (run, f) in self.retry.open_failures() {
            stmt.execute(params![
                f.event_id,
                run,
                f.tool,
                f.args as i64,
                f.seen,
                f.retried,
                f.last_ms
            ])?;
        }
        tx.execute("DELETE FROM pending_starts", [])?;
        let mut stmt = tx.prepare_cached(
            "INSERT INTO pending_starts(run_id, seq, call_hash, tool, args, command, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (run, list) in &self.pending {
            for (seq, s) in list.iter().enumerate() {
                stmt.execute(params![
                    run.as_ref(),
                    seq as i64,
                    s.call_id.map(|h| h as i64),
                    s.tool.as_ref(),
                    s.args().map(|a| a as i64),
                    s.command(),
                    s.ts
                ])?;
            }
        }
        Ok(())
    }
}

/// The two levels of pattern state the index keeps.
#[derive(Clone, Copy)]
enum StateLevel {
    Hour,
    Day,
}

impl StateLevel {
    /// Adds `state` to the stored state of `pattern` at `at` (an hour or a day number); a cell
    /// `known_new` is written as it is.
    fn store(
        self,
        tx: &Transaction<'_>,
        pattern: u32,
        at: i64,
        mut state: PatternState,
        known_new: bool,
    ) -> Result<()> {
        if known_new {
            return self.write(tx, pattern, at, &mut state);
        }
        self.update(tx, pattern, at, |stored| stored.merge(&state))
    }

    fn write(
        self,
        tx: &Transaction<'_>,
        pattern: u32,
        at: i64,
        state: &mut PatternState,
    ) -> Result<()> {
        let upsert = match self {
            StateLevel::Hour => {
                "INSERT OR REPLACE INTO pattern_hour_state(pattern, hour, state) VALUES (?1, ?2, ?3)"
            }
            StateLevel::Day => {
                "INSERT OR REPLACE INTO pattern_day_state(pattern, day, state) VALUES (?1, ?2, ?3)"
            }
        };
        tx.prepare_cached(upsert)?
            .execute(params![pattern, at, state.encode()])?;
        Ok(())
    }

    /// Reads the stored state of `pattern` at `at` (an hour or a day number), lets `change`
    /// modify it, and stores it back bounded.
    fn update(
        self,
        tx: &Transaction<'_>,
        pattern: u32,
        at: i64,
        change: impl FnOnce(&mut PatternState),
    ) -> Result<()> {
        let select = match self {
            StateLevel::Hour => {
                "SELECT state FROM pattern_hour_state WHERE pattern = ?1 AND hour = ?2"
            }
            StateLevel::Day => {
                "SELECT state FROM pattern_day_state WHERE pattern = ?1 AND day = ?2"
            }
        };
        let stored: Option<Vec<u8>> = tx
            .prepare_cached(select)?
            .query_row(params![pattern, at], |r| r.get(0))
            .optional()?;
        let mut state = match stored {
            Some(bytes) => PatternState::decode(&bytes).ok_or_else(|| {
                StoreError::Index(format!(
                    "the stored state of pattern {pattern} at {at} is unreadable; remove the index to rebuild it"
                ))
            })?,
            None => PatternState::default(),
        };
        change(&mut state);
        self.write(tx, pattern, at, &mut state)
    }
}

/// The context set of a failure: the tokens of its normalised salient line, agent and model.
pub fn context_set(normalized: &str, agent: &str, model: &str) -> ContextSet {
    let tokens = tokenize(normalized);
    ContextSet::new(tokens.iter().map(String::as_str), agent, model)
}

/// The first `max` characters of `text`.
fn sample(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

fn skip(tx: &Transaction<'_>, event_id: i64, ts: Option<i64>, reason: SkipReason) -> Result<()> {
    tx.prepare_cached("INSERT OR REPLACE INTO skipped(event_id, ts, reason) VALUES (?1, ?2, ?3)")?
        .execute(params![event_id, ts, reason.as_str()])?;
    Ok(())
}

fn set_meta(tx: &Transaction<'_>, key: &str, value: &str) -> Result<()> {
    tx.prepare_cached("INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value")?
        .execute(params![key, value])?;
    Ok(())
}

/// What one run adds to `run_days`.
#[derive(Clone, Debug, PartialEq)]
struct RunDayPart {
    day: i64,
    workflow: String,
    agent: String,
    status: String,
    duration_ms: Option<i64>,
    tokens: Option<i64>,
}

/// Changes to `run_days` accumulated in a transaction (applied once per key at its end).
#[derive(Default)]
pub(crate) struct RunDays {
    changes: HashMap<(i64, String, String), RunDayChange>,
}

#[derive(Default)]
struct RunDayChange {
    /// started, completed, failed, cancelled, running.
    counts: [i64; 5],
    durations: (Vec<u64>, Vec<u64>),
    tokens: (Vec<u64>, Vec<u64>),
}

impl RunDays {
    fn apply_part(&mut self, part: &RunDayPart, sign: i64) {
        let c = self
            .changes
            .entry((part.day, part.workflow.clone(), part.agent.clone()))
            .or_default();
        c.counts[0] += sign;
        let finished = match part.status.as_str() {
            "completed" => {
                c.counts[1] += sign;
                true
            }
            "failed" => {
                c.counts[2] += sign;
                true
            }
            "cancelled" => {
                c.counts[3] += sign;
                false
            }
            "running" => {
                c.counts[4] += sign;
                false
            }
            _ => false,
        };
        if finished {
            let pick = |v: Option<i64>| v.filter(|v| *v > 0).map(|v| v as u64);
            // Values added go first in the pair, values taken back second.
            let side = |pair: &mut (Vec<u64>, Vec<u64>), v: u64| {
                if sign > 0 {
                    pair.0.push(v);
                } else {
                    pair.1.push(v);
                }
            };
            if let Some(d) = pick(part.duration_ms) {
                side(&mut c.durations, d);
            }
            if let Some(t) = pick(part.tokens) {
                side(&mut c.tokens, t);
            }
        }
    }

    /// Writes the accumulated changes.
    fn apply(self, tx: &Transaction<'_>) -> Result<()> {
        let mut read = tx.prepare_cached(
            "SELECT started, completed, failed, cancelled, running, durations, tokens FROM run_days
             WHERE day = ?1 AND workflow = ?2 AND agent = ?3",
        )?;
        let mut write = tx.prepare_cached(
            "INSERT OR REPLACE INTO run_days(day, workflow, agent, started, completed, failed, cancelled, running, durations, tokens)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for ((day, workflow, agent), change) in self.changes {
            let before = read
                .query_row(params![day, workflow, agent], |r| {
                    let blob = |i: usize| -> rusqlite::Result<Histogram> {
                        Ok(r.get::<_, Option<Vec<u8>>>(i)?
                            .as_deref()
                            .and_then(Histogram::from_bytes)
                            .unwrap_or_default())
                    };
                    Ok((
                        [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?],
                        blob(5)?,
                        blob(6)?,
                    ))
                })
                .optional()?;
            let (mut counts, mut durations, mut tokens): ([i64; 5], Histogram, Histogram) =
                before.unwrap_or_default();
            for (c, d) in counts.iter_mut().zip(change.counts) {
                *c = (*c + d).max(0);
            }
            for v in change.durations.0 {
                durations.add(v);
            }
            for v in change.durations.1 {
                durations.remove(v);
            }
            for v in change.tokens.0 {
                tokens.add(v);
            }
            for v in change.tokens.1 {
                tokens.remove(v);
            }
            write.execute(params![
                day,
                workflow,
                agent,
                counts[0],
                counts[1],
                counts[2],
                counts[3],
                counts[4],
                durations.to_bytes(),
                tokens.to_bytes()
            ])?;
        }
        Ok(())
    }
}

/// Milliseconds per day.
pub const DAY_MS: i64 = HOUR_MS * HOURS_PER_DAY;

fn upsert_run(tx: &Transaction<'_>, run: &RunRow, days: &mut RunDays) -> Result<()> {
    let started = run.started_at.as_deref().and_then(parse_timestamp);
    let completed = run.completed_at.as_deref().and_then(parse_timestamp);
    let duration = run.duration_ms.or_else(|| match (started, completed) {
        (Some(s), Some(c)) if c >= s => Some(c - s),
        _ => None,
    });
    let part = |started: Option<i64>,
                workflow: String,
                agent: String,
                status: String,
                duration_ms: Option<i64>,
                tokens: Option<i64>| {
        started.map(|s| RunDayPart {
            day: s.div_euclid(DAY_MS),
            workflow,
            agent,
            status,
            duration_ms,
            tokens,
        })
    };
    let before: Option<RunDayPart> = tx
        .prepare_cached(
            "SELECT started_ms, COALESCE(workflow, agent), agent, status, duration_ms, tokens FROM runs WHERE run_id = ?1",
        )?
        .query_row(params![run.id], |r| {
            Ok(part(
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .optional()?
        .flatten();
    let agent = run.agent();
    let status = run.status.trim().to_ascii_lowercase();
    let tokens = run.tokens.filter(|t| *t > 0);
    let after = part(
        started,
        run.workflow_name.clone().unwrap_or_else(|| agent.clone()),
        agent.clone(),
        status.clone(),
        duration,
        tokens,
    );
    if before != after {
        if let Some(b) = &before {
            days.apply_part(b, -1);
        }
        if let Some(a) = &after {
            days.apply_part(a, 1);
        }
    }
    tx.prepare_cached(
        "INSERT INTO runs(run_id, agent, workflow, model, status, started_ms, completed_ms, duration_ms, tokens, iterations)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(run_id) DO UPDATE SET agent = excluded.agent, workflow = excluded.workflow, model = excluded.model,
           status = excluded.status, started_ms = excluded.started_ms, completed_ms = excluded.completed_ms,
           duration_ms = excluded.duration_ms, tokens = excluded.tokens, iterations = excluded.iterations, in_source = 1",
    )?
    .execute(params![
        run.id,
        agent,
        run.workflow_name,
        run.model,
        status,
        started,
        completed,
        duration,
        tokens,
        run.iterations,
    ])?;
    Ok(())
}
