//! The incremental derived index of tool calls, kept in a SQLite file of its own.
//!
//! The run-history file is never written: the index lives beside it in a cache directory
//! (see [`IndexLocation`]), or in memory when no directory is writable. It is caught up from
//! `run_events` by a high-water mark (the largest event id indexed), so a call after N new
//! events costs O(N), and each batch is one transaction: a crash leaves the previous mark.
//!
//! Per tool call it stores run, time (Unix ms), tool, error flag, duration and, for failures,
//! pattern, class, confidence, signals, template, context and whether a later call of the same
//! tool in the same run succeeded. Hourly rollups per tool and per pattern make counts over
//! long windows cost hours, not calls. Runs are mirrored (agent, status, times, tokens, last
//! event) and re-read while `running`.
//!
//! The index is a cache: when its schema version differs, or the source's event at the
//! high-water mark is not the one indexed (file replaced or rewritten), it is rebuilt.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use selfheal_core::classify::{FailureClass, FailureFacts, classify, is_explicit_timeout};
use selfheal_core::event::{SkipReason, is_tool_result_type, parse_tool_call};
use selfheal_core::pattern::pattern_id;
use selfheal_core::template::{Cluster, TemplateMiner, normalize};
use selfheal_core::time::parse_timestamp;

use crate::error::{Result, StoreError};
use crate::source::{RunRow, SourceDb};

/// Bump when the index layout or any derivation changes: older indexes are rebuilt.
pub const INDEX_VERSION: i64 = 4;
/// Events read and written per transaction during catch-up.
pub const BATCH_EVENTS: i64 = 20_000;
/// Milliseconds per rollup bucket.
pub const HOUR_MS: i64 = 3_600_000;
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
    in_source INTEGER NOT NULL DEFAULT 1
);
-- Covering for the per-agent and per-workflow scans of a window.
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_ms, agent, status, duration_ms, workflow, tokens);
CREATE INDEX IF NOT EXISTS runs_running ON runs(status) WHERE status = 'running';
CREATE TABLE IF NOT EXISTS tools(key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, timeout_ceiling_ms INTEGER);
CREATE TABLE IF NOT EXISTS patterns(key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, error_type TEXT NOT NULL, tool TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS templates(key INTEGER PRIMARY KEY, partition TEXT NOT NULL, tokens TEXT NOT NULL, template TEXT NOT NULL, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS contexts(key INTEGER PRIMARY KEY, normalized TEXT NOT NULL, agent TEXT NOT NULL, model TEXT NOT NULL, UNIQUE(normalized, agent, model));
CREATE TABLE IF NOT EXISTS calls(
    event_id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    tool INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    duration_ms INTEGER,
    pattern INTEGER,
    class INTEGER,
    class_conf REAL,
    signals INTEGER,
    template INTEGER,
    context INTEGER,
    recovered INTEGER NOT NULL DEFAULT 0,
    message TEXT
);
CREATE INDEX IF NOT EXISTS calls_ts ON calls(ts, tool, failed, duration_ms, class);
-- Covering for pattern scans: a window of failures is read from this index alone.
CREATE INDEX IF NOT EXISTS calls_failed ON calls(ts, pattern, run, class, class_conf, signals, template, context, recovered, failed) WHERE failed = 1;
CREATE INDEX IF NOT EXISTS calls_run ON calls(run);
CREATE TABLE IF NOT EXISTS tool_hours(hour INTEGER NOT NULL, tool INTEGER NOT NULL, calls INTEGER NOT NULL, failures INTEGER NOT NULL, PRIMARY KEY(hour, tool)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pattern_hours(hour INTEGER NOT NULL, pattern INTEGER NOT NULL, failures INTEGER NOT NULL, PRIMARY KEY(hour, pattern)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS skipped(event_id INTEGER PRIMARY KEY, ts INTEGER, reason TEXT NOT NULL);
"#;

const INDEX_TABLES: [&str; 11] = [
    "meta",
    "runs",
    "tools",
    "patterns",
    "templates",
    "contexts",
    "calls",
    "tool_hours",
    "pattern_hours",
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
        let key = canonical.to_string_lossy();
        let stem = canonical
            .file_stem()
            .map(|s| {
                s.to_string_lossy()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect::<String>()
            })
            .unwrap_or_default();
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

/// Identity of a run needed while indexing its events.
#[derive(Clone, Debug)]
struct RunInfo {
    key: u32,
    // Shared, so handing the cached identity out per event does not allocate.
    agent: std::sync::Arc<str>,
    model: std::sync::Arc<str>,
}

/// The single writer of the index. Hold it behind a mutex; readers use their own connections.
pub struct Indexer {
    location: IndexLocation,
    conn: Connection,
    miner: TemplateMiner,
    tools: HashMap<String, u32>,
    ceilings: HashMap<u32, i64>,
    patterns: HashMap<String, u32>,
    contexts: HashMap<(String, String, String), u32>,
    runs: HashMap<String, RunInfo>,
    /// Failures not yet followed by a success of the same tool in the same run.
    open_failures: HashMap<(u32, u32), Vec<i64>>,
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
            tools: HashMap::new(),
            ceilings: HashMap::new(),
            patterns: HashMap::new(),
            contexts: HashMap::new(),
            runs: HashMap::new(),
            open_failures: HashMap::new(),
        };
        let version: Option<i64> = indexer.meta_i64("version").unwrap_or(None);
        if version != Some(INDEX_VERSION) {
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

    /// Drops everything and recreates an empty index.
    fn reset(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        for table in INDEX_TABLES {
            if table != "sqlite_sequence" {
                tx.execute_batch(&format!("DROP TABLE IF EXISTS {table}"))?;
            }
        }
        tx.execute_batch(INDEX_SCHEMA)?;
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('version', ?1)",
            params![INDEX_VERSION.to_string()],
        )?;
        tx.commit()?;
        self.miner = TemplateMiner::new();
        self.tools.clear();
        self.ceilings.clear();
        self.patterns.clear();
        self.contexts.clear();
        self.runs.clear();
        self.open_failures.clear();
        Ok(())
    }

    /// Loads the in-memory state that indexing continues from.
    fn load_state(&mut self) -> Result<()> {
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
        drop(rows);
        drop(stmt);
        let mut stmt = self.conn.prepare("SELECT key, name FROM patterns")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            self.patterns.insert(r.get(1)?, r.get(0)?);
        }
        drop(rows);
        drop(stmt);
        let mut stmt = self
            .conn
            .prepare("SELECT run, tool, event_id FROM calls WHERE failed = 1 AND recovered = 0 ORDER BY event_id")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            self.open_failures
                .entry((r.get(0)?, r.get(1)?))
                .or_default()
                .push(r.get(2)?);
        }
        Ok(())
    }

    /// Brings the index up to date with `source`.
    pub fn catch_up(
        &mut self,
        source: &SourceDb,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<CatchUp> {
        let mut stats = CatchUp::default();
        let source_path = source.path().to_string_lossy().into_owned();
        let mut hw = self.meta_i64("events_hw")?.unwrap_or(0);
        let same_source = self.meta_text("source")?.is_none_or(|s| s == source_path);
        let fingerprint_ok =
            hw == 0 || source.event_fingerprint(hw)? == self.meta_text("events_fp")?;
        if !same_source || !fingerprint_ok {
            tracing::info!(index = %self.location.describe(), "source changed under the index; rebuilding");
            self.reset()?;
            stats.rebuilt = true;
            hw = 0;
        }
        stats.runs_synced = self.sync_runs(source, &source_path)?;
        let max_id = source.max_event_id()?;
        let total = u64::try_from(max_id - hw).unwrap_or(0);
        while hw < max_id {
            let (read, calls, skipped, last) = self.index_batch(source, hw)?;
            if read == 0 {
                break;
            }
            stats.events_read += read;
            stats.calls_indexed += calls;
            stats.skipped += skipped;
            hw = last;
            progress(stats.events_read, total);
        }
        Ok(stats)
    }

    /// Mirrors new runs and re-reads the ones still running.
    fn sync_runs(&mut self, source: &SourceDb, source_path: &str) -> Result<u64> {
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
        for run in &finished {
            upsert_run(&tx, run)?;
            n += 1;
        }
        let new_hw = source.runs_after(runs_hw, |run| {
            upsert_run(&tx, &run)?;
            n += 1;
            Ok(())
        })?;
        set_meta(&tx, "runs_hw", &new_hw.to_string())?;
        set_meta(&tx, "source", source_path)?;
        tx.commit()?;
        // Cached identities may have changed (agent from late metadata).
        self.runs.clear();
        Ok(n)
    }

    fn run_info(
        &mut self,
        tx: &Transaction<'_>,
        run_id: &str,
        source: &SourceDb,
    ) -> Result<RunInfo> {
        if let Some(info) = self.runs.get(run_id) {
            return Ok(info.clone());
        }
        if self.runs.len() > 4_096 {
            self.runs.clear();
        }
        let lookup = |tx: &Transaction<'_>| -> rusqlite::Result<Option<RunInfo>> {
            tx.prepare_cached("SELECT key, agent, COALESCE(model, '') FROM runs WHERE run_id = ?1")?
                .query_row(params![run_id], |r| {
                    Ok(RunInfo {
                        key: r.get(0)?,
                        agent: r.get::<_, String>(1)?.into(),
                        model: r.get::<_, String>(2)?.into(),
                    })
                })
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
                upsert_run(tx, &row)?;
                lookup(tx)?.ok_or_else(|| {
                    StoreError::Index(format!("run {run_id} vanished while indexing"))
                })?
            }
        };
        self.runs.insert(run_id.to_string(), info.clone());
        Ok(info)
    }

    fn intern_tool(&mut self, tx: &Transaction<'_>, name: &str) -> Result<u32> {
        if let Some(k) = self.tools.get(name) {
            return Ok(*k);
        }
        tx.execute("INSERT INTO tools(name) VALUES (?1)", params![name])?;
        let key = tx.last_insert_rowid() as u32;
        self.tools.insert(name.to_string(), key);
        Ok(key)
    }

    fn intern_pattern(
        &mut self,
        tx: &Transaction<'_>,
        recorded: Option<&str>,
        class: FailureClass,
        tool: &str,
    ) -> Result<u32> {
        let name = pattern_id(recorded, class, tool);
        let error_type = recorded.unwrap_or(class.as_str());
        if let Some(k) = self.patterns.get(&name) {
            return Ok(*k);
        }
        tx.execute(
            "INSERT INTO patterns(name, error_type, tool) VALUES (?1, ?2, ?3)",
            params![name, error_type, tool],
        )?;
        let key = tx.last_insert_rowid() as u32;
        self.patterns.insert(name, key);
        Ok(key)
    }

    fn intern_context(
        &mut self,
        tx: &Transaction<'_>,
        normalized: String,
        agent: &str,
        model: &str,
    ) -> Result<u32> {
        let key = (normalized, agent.to_string(), model.to_string());
        if let Some(k) = self.contexts.get(&key) {
            return Ok(*k);
        }
        if self.contexts.len() > 100_000 {
            self.contexts.clear();
        }
        let existing: Option<u32> = tx
            .prepare_cached(
                "SELECT key FROM contexts WHERE normalized = ?1 AND agent = ?2 AND model = ?3",
            )?
            .query_row(params![key.0, key.1, key.2], |r| r.get(0))
            .optional()?;
        let k = match existing {
            Some(k) => k,
            None => {
                tx.prepare_cached(
                    "INSERT INTO contexts(normalized, agent, model) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![key.0, key.1, key.2])?;
                tx.last_insert_rowid() as u32
            }
        };
        self.contexts.insert(key, k);
        Ok(k)
    }

    /// Indexes the next batch of events after `hw` in one transaction, advancing the
    /// high-water mark. Returns (events read, calls indexed, events skipped, new mark).
    fn index_batch(&mut self, source: &SourceDb, hw: i64) -> Result<(u64, u64, u64, i64)> {
        // The transaction borrows the connection while the interning maps are mutated, so the
        // connection is moved out for the duration of the batch.
        let mut conn = std::mem::replace(&mut self.conn, Connection::open_in_memory()?);
        let result = self.index_batch_in(&mut conn, source, hw);
        self.conn = conn;
        if result.is_err() {
            // In-memory state may be ahead of the rolled-back transaction: reload it.
            self.miner = TemplateMiner::new();
            self.tools.clear();
            self.ceilings.clear();
            self.patterns.clear();
            self.contexts.clear();
            self.runs.clear();
            self.open_failures.clear();
            self.load_state()?;
        }
        result
    }

    fn index_batch_in(
        &mut self,
        conn: &mut Connection,
        source: &SourceDb,
        hw: i64,
    ) -> Result<(u64, u64, u64, i64)> {
        let tx = conn.transaction()?;
        let mut tool_hours: HashMap<(i64, u32), (i64, i64)> = HashMap::new();
        let mut pattern_hours: HashMap<(i64, u32), i64> = HashMap::new();
        let mut last_events: HashMap<u32, (i64, String)> = HashMap::new();
        let mut touched_templates: Vec<u32> = Vec::new();
        let mut touched_ceilings: Vec<u32> = Vec::new();
        let (mut read, mut calls, mut skipped) = (0u64, 0u64, 0u64);
        let (mut last_id, mut fingerprint) = (hw, String::new());
        source.events_after(hw, BATCH_EVENTS, |event| {
            read += 1;
            last_id = event.id;
            fingerprint.clear();
            fingerprint.push_str(event.run_id);
            fingerprint.push('|');
            fingerprint.push_str(event.timestamp);
            let ts = parse_timestamp(event.timestamp);
            let run = self.run_info(&tx, event.run_id, source)?;
            if let Some(ts) = ts {
                let slot = last_events.entry(run.key).or_insert_with(|| (ts, String::new()));
                if ts >= slot.0 || slot.1.is_empty() {
                    slot.0 = ts;
                    slot.1.clear();
                    slot.1.push_str(event.event_type);
                }
            }
            if !is_tool_result_type(event.event_type) {
                return Ok(());
            }
            let parsed = parse_tool_call(event.event_data);
            let (record, ts) = match (parsed, ts) {
                (Ok(record), Some(ts)) => (record, ts),
                (Err(reason), _) => {
                    skip(&tx, event.id, ts, reason)?;
                    skipped += 1;
                    return Ok(());
                }
                (Ok(_), None) => {
                    skip(&tx, event.id, None, SkipReason::BadTimestamp)?;
                    skipped += 1;
                    return Ok(());
                }
            };
            let tool = self.intern_tool(&tx, &record.tool)?;
            let hour = ts.div_euclid(HOUR_MS);
            let slot = tool_hours.entry((hour, tool)).or_default();
            slot.0 += 1;
            calls += 1;
            if !record.is_error {
                if let Some(ids) = self.open_failures.remove(&(run.key, tool)) {
                    let mut stmt =
                        tx.prepare_cached("UPDATE calls SET recovered = 1 WHERE event_id = ?1")?;
                    for id in ids {
                        stmt.execute(params![id])?;
                    }
                }
                tx.prepare_cached("INSERT INTO calls(event_id, run, ts, tool, failed, duration_ms) VALUES (?1, ?2, ?3, ?4, 0, ?5)")?
                    .execute(params![event.id, run.key, ts, tool, record.duration_ms])?;
                return Ok(());
            }
            slot.1 += 1;
            let message = record.message.as_deref().unwrap_or("");
            let class = classify(&FailureFacts {
                error_type: record.error_type.as_deref(),
                message: record.message.as_deref(),
                duration_ms: record.duration_ms,
                timeout_ceiling_ms: self.ceilings.get(&tool).copied(),
            });
            if is_explicit_timeout(&class)
                && let Some(d) = record.duration_ms
            {
                let ceiling = self.ceilings.entry(tool).or_insert(0);
                if d > *ceiling {
                    *ceiling = d;
                    touched_ceilings.push(tool);
                }
            }
            let pattern =
                self.intern_pattern(&tx, record.error_type.as_deref(), class.class, &record.tool)?;
            *pattern_hours.entry((hour, pattern)).or_default() += 1;
            let partition = template_partition(&record.tool, class.class);
            let mined = self.miner.add(&partition, message);
            touched_templates.push(mined.cluster_id);
            let context = self.intern_context(&tx, normalize(message), &run.agent, &run.model)?;
            let sample: String = message.chars().take(MESSAGE_SAMPLE_CHARS).collect();
            tx.prepare_cached(
                "INSERT INTO calls(event_id, run, ts, tool, failed, duration_ms, pattern, class, class_conf, signals, template, context, recovered, message)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0, ?12)",
            )?
            .execute(params![
                event.id,
                run.key,
                ts,
                tool,
                record.duration_ms,
                pattern,
                class.class.code(),
                class.confidence,
                class.signal_bits(),
                mined.cluster_id,
                context,
                sample
            ])?;
            self.open_failures
                .entry((run.key, tool))
                .or_default()
                .push(event.id);
            Ok(())
        })?;
        if read == 0 {
            return Ok((0, 0, 0, hw));
        }
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO tool_hours(hour, tool, calls, failures) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(hour, tool) DO UPDATE SET calls = calls + excluded.calls, failures = failures + excluded.failures",
            )?;
            for ((hour, tool), (n, f)) in &tool_hours {
                stmt.execute(params![hour, tool, n, f])?;
            }
            let mut stmt = tx.prepare_cached(
                "INSERT INTO pattern_hours(hour, pattern, failures) VALUES (?1, ?2, ?3)
                 ON CONFLICT(hour, pattern) DO UPDATE SET failures = failures + excluded.failures",
            )?;
            for ((hour, pattern), f) in &pattern_hours {
                stmt.execute(params![hour, pattern, f])?;
            }
            let mut stmt = tx.prepare_cached(
                "UPDATE runs SET last_event_ms = ?2, last_event_type = ?3 WHERE key = ?1 AND (last_event_ms IS NULL OR last_event_ms <= ?2)",
            )?;
            for (run, (ts, kind)) in &last_events {
                stmt.execute(params![run, ts, kind])?;
            }
            touched_templates.sort_unstable();
            touched_templates.dedup();
            let mut stmt = tx.prepare_cached(
                "INSERT INTO templates(key, partition, tokens, template, size) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(key) DO UPDATE SET tokens = excluded.tokens, template = excluded.template, size = excluded.size",
            )?;
            for id in &touched_templates {
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
            for tool in &touched_ceilings {
                stmt.execute(params![tool, self.ceilings.get(tool)])?;
            }
        }
        set_meta(&tx, "events_hw", &last_id.to_string())?;
        set_meta(&tx, "events_fp", &fingerprint)?;
        tx.commit()?;
        Ok((read, calls, skipped, last_id))
    }
}

/// The template-mining partition of a failure: its tool and class (DESIGN §4).
pub fn template_partition(tool: &str, class: FailureClass) -> String {
    format!("{tool}\u{1f}{}", class.as_str())
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

fn upsert_run(tx: &Transaction<'_>, run: &RunRow) -> Result<()> {
    let started = run.started_at.as_deref().and_then(parse_timestamp);
    let completed = run.completed_at.as_deref().and_then(parse_timestamp);
    let duration = run.duration_ms.or_else(|| match (started, completed) {
        (Some(s), Some(c)) if c >= s => Some(c - s),
        _ => None,
    });
    tx.prepare_cached(
        "INSERT INTO runs(run_id, agent, workflow, model, status, started_ms, completed_ms, duration_ms, tokens, iterations)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(run_id) DO UPDATE SET agent = excluded.agent, workflow = excluded.workflow, model = excluded.model,
           status = excluded.status, started_ms = excluded.started_ms, completed_ms = excluded.completed_ms,
           duration_ms = excluded.duration_ms, tokens = excluded.tokens, iterations = excluded.iterations, in_source = 1",
    )?
    .execute(params![
        run.id,
        run.agent(),
        run.workflow_name,
        run.model,
        run.status.trim().to_ascii_lowercase(),
        started,
        completed,
        duration,
        run.tokens.filter(|t| *t > 0),
        run.iterations,
    ])?;
    Ok(())
}
