//! Read-only questions answered from the index; each costs its window, not the history.
//!
//! Counts over long spans (tool calls for failure rates and trends) come from the hourly
//! rollups for whole hours and from the calls table for the partial hours at both ends, so
//! they are exact.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension, params};
use selfheal_core::classify::{FailureClass, Outcome};
use selfheal_core::correlation::{ContextSet, MinHash};
use selfheal_core::health::{HealthInputs, baseline_ratio};
use selfheal_core::metrics::{AgentAcc, AgentMetrics, DailyCalls, ToolAcc, ToolReliability};
use selfheal_core::pattern::{
    Occurrence, Pattern, PatternAccumulator, PatternFilter, PatternLookup, PatternWindow,
    confidence, day_label, rank, series_days, series_start,
};
use selfheal_core::pattern_state::PatternState;
use selfheal_core::retry::RetryState;
use selfheal_core::stalled::RunningRun;
use selfheal_core::stats::Histogram;
use selfheal_core::time::Window;
use selfheal_core::trend::{BASELINE_DAYS, RECENT_DAYS, Tally, trend};

use crate::error::{Result, StoreError};
use crate::index::{DAY_MS, HOUR_MS, HOURS_PER_DAY};

/// The recent and baseline windows of a trend ending at `to`.
pub fn trend_windows(to: i64) -> (Window, Window) {
    let recent = Window {
        from_ms: to - RECENT_DAYS * DAY_MS,
        to_ms: to,
    };
    let baseline = Window {
        from_ms: recent.from_ms - BASELINE_DAYS * DAY_MS,
        to_ms: recent.from_ms - 1,
    };
    (recent, baseline)
}

/// Result of a pattern scan.
#[derive(Debug)]
pub struct Detection {
    /// The first patterns passing the filters, most occurrences first.
    pub patterns: Vec<Pattern>,
    /// Patterns passing the filters, listed or not.
    pub passing: u64,
    /// Failed calls in the window.
    pub failures_in_window: u64,
    /// Distinct patterns before filtering.
    pub patterns_seen: u64,
}

/// One failure of a pattern, for details views.
#[derive(Clone, Debug)]
pub struct FailureSample {
    pub event_id: i64,
    pub run_id: String,
    pub ts_ms: i64,
    pub template_id: u32,
    pub message: String,
    pub class: FailureClass,
    pub retry: RetryState,
    pub program: Option<String>,
}

/// A mirrored run.
#[derive(Clone, Debug)]
pub struct RunInfoRow {
    pub key: i64,
    pub run_id: String,
    pub agent: String,
    pub workflow: Option<String>,
    pub model: Option<String>,
    pub status: String,
    pub started_ms: Option<i64>,
    pub completed_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    pub tokens: Option<i64>,
    pub last_event_ms: Option<i64>,
    pub last_event_type: Option<String>,
    /// Tool calls of the run: that ran, failed, declined, cancelled.
    pub calls: u64,
    pub failed: u64,
    pub rejected: u64,
    pub cancelled: u64,
}

/// One flagged call of a run.
#[derive(Clone, Debug)]
pub struct RunCall {
    pub tool: String,
    pub failed: bool,
    pub pattern: Option<String>,
    pub class: Option<FailureClass>,
    pub template_id: Option<u32>,
    pub retry: RetryState,
    pub outcome: Outcome,
    pub duration_ms: Option<i64>,
}

/// Flagged calls that are not failures, for one (tool, program).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlaggedCount {
    pub tool: String,
    pub program: Option<String>,
    pub rejected: u64,
    pub cancelled: u64,
    pub benign: u64,
    /// A recent salient message of each kind (rejected, cancelled, benign).
    pub samples: [Option<String>; 3],
}

/// Read access to the index through one connection.
pub struct IndexReader<'c> {
    conn: &'c Connection,
    contexts: Option<&'c ContextCache>,
}

/// Context sets and signatures by key, shared by readers: a context never changes once
/// indexed, and a pattern scan needs hundreds of them.
#[derive(Default)]
pub struct ContextCache {
    sets: std::sync::RwLock<HashMap<u32, ContextSet>>,
    sigs: std::sync::RwLock<HashMap<u32, MinHash>>,
}

/// Contexts kept at most; past that the cache starts over (memory stays bounded).
const CONTEXT_CACHE_CAP: usize = 200_000;

fn cache_get<V: Clone>(map: &std::sync::RwLock<HashMap<u32, V>>, key: u32) -> Option<V> {
    map.read().ok()?.get(&key).cloned()
}

fn cache_put<V>(map: &std::sync::RwLock<HashMap<u32, V>>, key: u32, value: V) {
    if let Ok(mut map) = map.write() {
        if map.len() >= CONTEXT_CACHE_CAP {
            map.clear();
        }
        map.insert(key, value);
    }
}

impl ContextCache {
    /// Forgets everything (the index was rebuilt and keys mean other contexts).
    pub fn clear(&self) {
        if let Ok(mut map) = self.sets.write() {
            map.clear();
        }
        if let Ok(mut map) = self.sigs.write() {
            map.clear();
        }
    }
}

impl<'c> IndexReader<'c> {
    pub fn new(conn: &'c Connection) -> Self {
        IndexReader {
            conn,
            contexts: None,
        }
    }

    /// A reader that reuses (and fills) a shared cache of context sets.
    pub fn with_cache(conn: &'c Connection, contexts: &'c ContextCache) -> Self {
        IndexReader {
            conn,
            contexts: Some(contexts),
        }
    }

    /// Calls and failures per tool key in `w`, exact, using rollups for whole hours.
    pub fn tool_counts(&self, w: Window) -> Result<HashMap<u32, (u64, u64)>> {
        let mut out: HashMap<u32, (u64, u64)> = HashMap::new();
        let mut add = |tool: u32, calls: i64, failures: i64| {
            let slot = out.entry(tool).or_default();
            slot.0 += calls as u64;
            slot.1 += failures as u64;
        };
        let split = split_levels(w);
        if let Some((d0, d1)) = split.days {
            let mut stmt = self.conn.prepare_cached(
                "SELECT tool, SUM(calls), SUM(failures) FROM tool_days WHERE day >= ?1 AND day < ?2 GROUP BY tool",
            )?;
            let mut rows = stmt.query(params![d0, d1])?;
            while let Some(r) = rows.next()? {
                add(r.get(0)?, r.get(1)?, r.get(2)?);
            }
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT tool, SUM(calls), SUM(failures) FROM tool_hours WHERE hour >= ?1 AND hour < ?2 GROUP BY tool",
        )?;
        for (h0, h1) in split.hours {
            let mut rows = stmt.query(params![h0, h1])?;
            while let Some(r) = rows.next()? {
                add(r.get(0)?, r.get(1)?, r.get(2)?);
            }
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT tool, SUM(outcome IN (0, 1, 4)), SUM(outcome = 1) FROM calls WHERE ts >= ?1 AND ts <= ?2 GROUP BY tool",
        )?;
        for (a, b) in split.edges {
            let mut rows = stmt.query(params![a, b])?;
            while let Some(r) = rows.next()? {
                add(r.get(0)?, r.get(1)?, r.get(2)?);
            }
        }
        Ok(out)
    }

    /// Failures per pattern key in `w`, exact, using rollups for whole hours.
    pub fn pattern_counts(&self, w: Window) -> Result<HashMap<u32, u64>> {
        let mut out: HashMap<u32, u64> = HashMap::new();
        let split = split_levels(w);
        if let Some((d0, d1)) = split.days {
            let mut stmt = self.conn.prepare_cached(
                "SELECT pattern, SUM(failures) FROM pattern_days WHERE day >= ?1 AND day < ?2 GROUP BY pattern",
            )?;
            let mut rows = stmt.query(params![d0, d1])?;
            while let Some(r) = rows.next()? {
                *out.entry(r.get(0)?).or_default() += r.get::<_, i64>(1)? as u64;
            }
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT pattern, SUM(failures) FROM pattern_hours WHERE hour >= ?1 AND hour < ?2 GROUP BY pattern",
        )?;
        for (h0, h1) in split.hours {
            let mut rows = stmt.query(params![h0, h1])?;
            while let Some(r) = rows.next()? {
                *out.entry(r.get(0)?).or_default() += r.get::<_, i64>(1)? as u64;
            }
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT pattern, COUNT(*) FROM failures WHERE outcome = 1 AND ts >= ?1 AND ts <= ?2 GROUP BY pattern",
        )?;
        for (a, b) in split.edges {
            let mut rows = stmt.query(params![a, b])?;
            while let Some(r) = rows.next()? {
                *out.entry(r.get(0)?).or_default() += r.get::<_, i64>(1)? as u64;
            }
        }
        Ok(out)
    }

    fn tool_keys(&self) -> Result<HashMap<String, u32>> {
        let mut stmt = self.conn.prepare_cached("SELECT name, key FROM tools")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Key of a pattern id, if it was ever seen.
    pub fn pattern_key(&self, id: &str) -> Result<Option<u32>> {
        Ok(self
            .conn
            .prepare_cached("SELECT key FROM patterns WHERE name = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional()?)
    }

    /// The patterns whose failures were once known by the recorded-type style id `alias`
    /// (`<recorded error_type or class>:<tool>`), with their failure counts, largest first.
    pub fn resolve_alias(&self, alias: &str) -> Result<Vec<(String, u32, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.name, a.pattern, a.failures FROM pattern_aliases a JOIN patterns p ON p.key = a.pattern
             WHERE a.alias = ?1 ORDER BY a.failures DESC, p.name",
        )?;
        let rows = stmt.query_map(params![alias], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Flagged calls that are not failures in `w`, per (tool, program), most first.
    pub fn flagged_calls(&self, w: Window) -> Result<Vec<FlaggedCount>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.name, p.name, c.outcome, COUNT(*), MAX(c.event_id)
             FROM failures c JOIN tools t ON t.key = c.tool LEFT JOIN programs p ON p.key = c.program
             WHERE c.outcome >= 2 AND c.ts >= ?1 AND c.ts <= ?2
             GROUP BY c.tool, c.program, c.outcome",
        )?;
        let mut rows = stmt.query(params![w.from_ms, w.to_ms])?;
        let mut by: HashMap<(String, Option<String>), (FlaggedCount, [i64; 3])> = HashMap::new();
        while let Some(r) = rows.next()? {
            let tool: String = r.get(0)?;
            let program: Option<String> = r.get(1)?;
            let slot = by
                .entry((tool.clone(), program.clone()))
                .or_insert_with(|| {
                    (
                        FlaggedCount {
                            tool,
                            program,
                            ..FlaggedCount::default()
                        },
                        [0; 3],
                    )
                });
            let n = r.get::<_, i64>(3)? as u64;
            let latest: i64 = r.get(4)?;
            match Outcome::from_code(r.get(2)?) {
                Some(Outcome::Rejected) => {
                    slot.0.rejected += n;
                    slot.1[0] = latest;
                }
                Some(Outcome::Cancelled) => {
                    slot.0.cancelled += n;
                    slot.1[1] = latest;
                }
                Some(Outcome::Benign) => {
                    slot.0.benign += n;
                    slot.1[2] = latest;
                }
                _ => {}
            }
        }
        let mut sample = self
            .conn
            .prepare_cached("SELECT message FROM failures WHERE event_id = ?1")?;
        let mut out = Vec::with_capacity(by.len());
        for (_, (mut count, latest)) in by {
            for (i, id) in latest.iter().enumerate() {
                if *id > 0 {
                    count.samples[i] = sample
                        .query_row(params![id], |r| r.get::<_, Option<String>>(0))
                        .optional()?
                        .flatten();
                }
            }
            out.push(count);
        }
        out.sort_by(|a, b| {
            (b.rejected + b.cancelled + b.benign)
                .cmp(&(a.rejected + a.cancelled + a.benign))
                .then_with(|| a.tool.cmp(&b.tool))
                .then_with(|| a.program.cmp(&b.program))
        });
        Ok(out)
    }

    /// Cancelled calls in `w` attributed to a failed parallel sibling, per pattern key.
    pub fn cancelled_siblings(&self, w: Window) -> Result<HashMap<u32, u64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT pattern, COUNT(*) FROM failures
             WHERE outcome = 3 AND pattern IS NOT NULL AND ts >= ?1 AND ts <= ?2 GROUP BY pattern",
        )?;
        let rows = stmt.query_map(params![w.from_ms, w.to_ms], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The (class, tool, program) of a pattern id, if it was ever seen.
    pub fn pattern_parts(&self, id: &str) -> Result<Option<(String, String, Option<String>)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT error_type, tool, program FROM patterns WHERE name = ?1")?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
    }

    /// Calls that ran and failures per UTC day in `w`, of one tool or of all.
    pub fn tool_daily(&self, w: Window, tool: Option<u32>) -> Result<BTreeMap<i64, (u64, u64)>> {
        let mut out: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
        let mut add = |day: i64, calls: i64, failures: i64| {
            let slot = out.entry(day).or_default();
            slot.0 += calls as u64;
            slot.1 += failures as u64;
        };
        let split = split_levels(w);
        if let Some((d0, d1)) = split.days {
            let mut stmt = self.conn.prepare_cached(
                "SELECT day, SUM(calls), SUM(failures) FROM tool_days WHERE day >= ?1 AND day < ?2 AND (?3 IS NULL OR tool = ?3) GROUP BY day",
            )?;
            let mut rows = stmt.query(params![d0, d1, tool])?;
            while let Some(r) = rows.next()? {
                add(r.get(0)?, r.get(1)?, r.get(2)?);
            }
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT hour, SUM(calls), SUM(failures) FROM tool_hours WHERE hour >= ?1 AND hour < ?2 AND (?3 IS NULL OR tool = ?3) GROUP BY hour",
        )?;
        for (h0, h1) in split.hours {
            let mut rows = stmt.query(params![h0, h1, tool])?;
            while let Some(r) = rows.next()? {
                add(
                    r.get::<_, i64>(0)?.div_euclid(HOURS_PER_DAY),
                    r.get(1)?,
                    r.get(2)?,
                );
            }
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT ts, outcome FROM calls WHERE ts >= ?1 AND ts <= ?2 AND (?3 IS NULL OR tool = ?3)",
        )?;
        for (a, b) in split.edges {
            let mut rows = stmt.query(params![a, b, tool])?;
            while let Some(r) = rows.next()? {
                let outcome = Outcome::from_code(r.get(1)?).unwrap_or(Outcome::Success);
                if outcome.ran() {
                    add(
                        r.get::<_, i64>(0)?.div_euclid(DAY_MS),
                        1,
                        i64::from(outcome == Outcome::Failure),
                    );
                }
            }
        }
        Ok(out)
    }

    /// Runs started per UTC day in `w`: [started, completed, failed, cancelled, running].
    pub fn run_daily(&self, w: Window) -> Result<BTreeMap<i64, [u64; 5]>> {
        let mut out: BTreeMap<i64, [u64; 5]> = BTreeMap::new();
        let (days, edges) = split_days(w);
        if let Some((d0, d1)) = days {
            let mut stmt = self.conn.prepare_cached(
                "SELECT day, SUM(started), SUM(completed), SUM(failed), SUM(cancelled), SUM(running)
                 FROM run_days WHERE day >= ?1 AND day < ?2 GROUP BY day",
            )?;
            let mut rows = stmt.query(params![d0, d1])?;
            while let Some(r) = rows.next()? {
                let slot = out.entry(r.get(0)?).or_default();
                for (i, v) in slot.iter_mut().enumerate() {
                    *v += r.get::<_, i64>(i + 1)? as u64;
                }
            }
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT started_ms, status FROM runs WHERE started_ms >= ?1 AND started_ms <= ?2",
        )?;
        for (a, b) in edges {
            let mut rows = stmt.query(params![a, b])?;
            while let Some(r) = rows.next()? {
                let slot = out
                    .entry(r.get::<_, i64>(0)?.div_euclid(DAY_MS))
                    .or_default();
                slot[0] += 1;
                match r.get_ref(1)?.as_str().unwrap_or("") {
                    "completed" => slot[1] += 1,
                    "failed" => slot[2] += 1,
                    "cancelled" => slot[3] += 1,
                    "running" => slot[4] += 1,
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// All pattern ids ever indexed (for suggestions on unknown ids).
    pub fn pattern_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name FROM patterns ORDER BY name")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Pattern ids starting with `prefix`, most recently failing first: at most `limit` of
    /// them, and how many match in all.
    pub fn pattern_ids_with_prefix(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<(Vec<String>, u64)> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.name FROM patterns p
             LEFT JOIN (SELECT pattern, MAX(hour) AS last FROM pattern_hours GROUP BY pattern) h
             ON h.pattern = p.key
             WHERE substr(p.name, 1, length(?1)) = ?1
             ORDER BY h.last IS NULL, h.last DESC, p.name",
        )?;
        let mut rows = stmt.query(params![prefix])?;
        let (mut ids, mut total) = (Vec::new(), 0u64);
        while let Some(r) = rows.next()? {
            total += 1;
            if ids.len() < limit {
                ids.push(r.get(0)?);
            }
        }
        Ok((ids, total))
    }

    /// Patterns in `window`, scored and filtered; the first `limit` in full. `only` restricts
    /// the answer to one pattern key.
    ///
    /// Occurrences come from the count rollups; what a listed pattern shows comes from its
    /// stored states (whole days, whole hours) and the failures of the window's partial
    /// hours, so the cost follows the patterns listed and the hours of the window, not the
    /// occurrences — unless reading the window's failures once is cheaper (see [`StatePlan`]).
    pub fn detect(
        &self,
        window: Window,
        filter: &PatternFilter,
        only: Option<u32>,
        limit: usize,
    ) -> Result<Detection> {
        self.detect_planned(window, filter, only, limit, StatePlan::Cheaper)
    }

    /// [`detect`](Self::detect) with the way states are read chosen by the caller.
    pub fn detect_planned(
        &self,
        window: Window,
        filter: &PatternFilter,
        only: Option<u32>,
        limit: usize,
        plan: StatePlan,
    ) -> Result<Detection> {
        let mut counts = self.pattern_counts(window)?;
        if let Some(key) = only {
            counts.retain(|k, _| *k == key);
        }
        let failures: u64 = counts.values().sum();
        let patterns_seen = counts.len() as u64;
        let scan = match plan {
            StatePlan::Stored => false,
            StatePlan::Scan => true,
            StatePlan::Cheaper => {
                // States to load: the listed patterns and those too small for their support
                // alone to pass (their correlation is needed), at some 30 stored rows each.
                let small = counts
                    .values()
                    .filter(|n| confidence(**n, 0.0, 0.0) < filter.confidence_threshold)
                    .count();
                let loads = limit.min(counts.len()) + small;
                failures <= (loads as u64).saturating_mul(STORED_ROWS_PER_LOAD)
            }
        };
        let lookup = Lookup::new(self, window)?;
        let states = WindowStates::new(self, window, only, scan);
        let finished = rank(&counts, &lookup, filter, limit, &mut |key| {
            lookup.remember(states.load(key))
        });
        if let Some(e) = lookup.error.into_inner() {
            return Err(e);
        }
        Ok(Detection {
            patterns: finished.patterns,
            passing: finished.passing,
            failures_in_window: failures,
            patterns_seen,
        })
    }

    /// The most recent failures of a pattern in `window`.
    pub fn failure_samples(
        &self,
        pattern: u32,
        window: Window,
        limit: u32,
    ) -> Result<Vec<FailureSample>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.event_id, r.run_id, c.ts, c.template, COALESCE(c.message, ''), c.class, c.retry, p.name
             FROM failures c JOIN runs r ON r.key = c.run LEFT JOIN programs p ON p.key = c.program
             WHERE c.outcome = 1 AND c.pattern = ?1 AND c.ts >= ?2 AND c.ts <= ?3
             ORDER BY c.ts DESC, c.event_id DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![pattern, window.from_ms, window.to_ms, limit], |r| {
            Ok(FailureSample {
                event_id: r.get(0)?,
                run_id: r.get(1)?,
                ts_ms: r.get(2)?,
                template_id: r.get(3)?,
                message: r.get(4)?,
                class: FailureClass::from_code(r.get(5)?).unwrap_or(FailureClass::Unknown),
                retry: RetryState::from_code(r.get(6)?),
                program: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Reliability of every tool (or one) in `window`, most failing first.
    pub fn tool_reliability(
        &self,
        window: Window,
        tool: Option<&str>,
    ) -> Result<Vec<ToolReliability>> {
        let names: HashMap<u32, String> =
            self.tool_keys()?.into_iter().map(|(n, k)| (k, n)).collect();
        let only: Option<u32> = match tool {
            Some(t) => match names.iter().find(|(_, n)| n.as_str() == t) {
                Some((k, _)) => Some(*k),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let mut accs: HashMap<u32, ToolAcc> = HashMap::new();
        let (full, edges) = split_hours(window);
        // Whole hours from the rollups (counts and duration histograms) ...
        if let Some((h0, h1)) = full {
            let mut stmt = self.conn.prepare_cached(
                "SELECT tool, calls, failures, benign, rejected, cancelled, durations FROM tool_hours
                 WHERE hour >= ?1 AND hour < ?2 AND (?3 IS NULL OR tool = ?3)",
            )?;
            let mut rows = stmt.query(params![h0, h1, only])?;
            while let Some(r) = rows.next()? {
                let durations = r
                    .get_ref(6)?
                    .as_blob_or_null()
                    .ok()
                    .flatten()
                    .and_then(Histogram::from_bytes)
                    .unwrap_or_default();
                let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)? as u64) };
                accs.entry(r.get(0)?).or_default().add_rollup(
                    n(1)?,
                    n(2)?,
                    n(3)?,
                    n(4)?,
                    n(5)?,
                    &durations,
                );
            }
        }
        // ... and the partial hours at both ends from the calls themselves.
        let mut stmt = self.conn.prepare_cached(
            "SELECT tool, outcome, duration_ms FROM calls WHERE ts >= ?1 AND ts <= ?2 AND (?3 IS NULL OR tool = ?3)",
        )?;
        for (a, b) in edges {
            let mut rows = stmt.query(params![a, b, only])?;
            while let Some(r) = rows.next()? {
                let outcome = Outcome::from_code(r.get(1)?).unwrap_or(Outcome::Success);
                let duration: Option<i64> = r.get(2)?;
                let slot = accs.entry(r.get(0)?).or_default();
                if outcome == Outcome::Failure {
                    // Counted here; the failures' classes are added below.
                    slot.add_counts(1, 1);
                    if let Some(d) = duration {
                        slot.add_duration(d);
                    }
                } else {
                    slot.push_outcome(outcome, None, duration);
                }
            }
        }
        // The classes of the window's failures.
        let pattern_tools: HashMap<u32, u32> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT p.key, t.key FROM patterns p JOIN tools t ON t.name = p.tool",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT pattern, class, COUNT(*) FROM failures WHERE outcome = 1 AND ts >= ?1 AND ts <= ?2 GROUP BY pattern, class",
        )?;
        let mut rows = stmt.query(params![window.from_ms, window.to_ms])?;
        while let Some(r) = rows.next()? {
            let Some(tool) = pattern_tools.get(&r.get(0)?).copied() else {
                continue;
            };
            if only.is_some_and(|o| o != tool) {
                continue;
            }
            let class = FailureClass::from_code(r.get(1)?).unwrap_or(FailureClass::Unknown);
            accs.entry(tool)
                .or_default()
                .add_class(class, r.get::<_, i64>(2)? as u64);
        }
        let mut out: Vec<ToolReliability> = accs
            .into_iter()
            .map(|(k, acc)| {
                acc.finish(
                    names
                        .get(&k)
                        .cloned()
                        .unwrap_or_else(|| format!("tool#{k}")),
                )
            })
            .collect();
        out.sort_by(|a, b| {
            b.failed_calls
                .cmp(&a.failed_calls)
                .then(b.total_calls.cmp(&a.total_calls))
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(out)
    }

    /// Fills the daily series of the tools listed (at most the last 90 days of `window`).
    pub fn tool_daily_series(&self, window: Window, tools: &mut [ToolReliability]) -> Result<()> {
        let days = series_days(window.from_ms, window.to_ms);
        let series_window = Window {
            from_ms: series_start(window.from_ms, window.to_ms),
            to_ms: window.to_ms,
        };
        let keys = self.tool_keys()?;
        for t in tools {
            let Some(key) = keys.get(&t.name) else {
                continue;
            };
            let counts = self.tool_daily(series_window, Some(*key))?;
            t.daily = days
                .iter()
                .map(|d| {
                    let (calls, failures) = counts.get(d).copied().unwrap_or_default();
                    DailyCalls {
                        day: day_label(*d),
                        calls,
                        failures,
                    }
                })
                .collect();
        }
        Ok(())
    }

    /// Run metrics per agent for runs started in `window`, with each agent's trend.
    pub fn agent_metrics(&self, window: Window) -> Result<Vec<AgentMetrics>> {
        let mut accs: HashMap<String, AgentAcc> = HashMap::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT agent, status, duration_ms FROM runs WHERE started_ms >= ?1 AND started_ms <= ?2",
        )?;
        let mut rows = stmt.query(params![window.from_ms, window.to_ms])?;
        while let Some(r) = rows.next()? {
            let status: String = r.get(1)?;
            accs.entry(r.get(0)?).or_default().push(&status, r.get(2)?);
        }
        drop(rows);
        let (recent, baseline) = trend_windows(window.to_ms);
        let mut tallies = |w: Window| -> Result<HashMap<String, Tally>> {
            let mut out: HashMap<String, Tally> = HashMap::new();
            let mut rows = stmt.query(params![w.from_ms, w.to_ms])?;
            while let Some(r) = rows.next()? {
                let status: String = r.get(1)?;
                let t = out.entry(r.get(0)?).or_default();
                match status.as_str() {
                    "completed" => {
                        t.successes += 1;
                        t.total += 1;
                    }
                    "failed" => t.total += 1,
                    _ => {}
                }
            }
            Ok(out)
        };
        let recent_t = tallies(recent)?;
        let baseline_t = tallies(baseline)?;
        let mut out: Vec<AgentMetrics> = accs
            .into_iter()
            .map(|(name, acc)| {
                let tr = trend(
                    recent_t.get(&name).copied().unwrap_or_default(),
                    baseline_t.get(&name).copied().unwrap_or_default(),
                );
                acc.finish(name, tr)
            })
            .collect();
        out.sort_by(|a, b| {
            b.total_runs
                .cmp(&a.total_runs)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(out)
    }

    /// Inputs of the overall health score for `window` (runs started in it, calls made in it).
    pub fn health_inputs(&self, window: Window) -> Result<HealthInputs> {
        let calls = self.tool_counts(window)?;
        let (total, failed) = calls.values().fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
        let baseline = Window {
            from_ms: window.from_ms - BASELINE_DAYS * DAY_MS,
            to_ms: window.from_ms - 1,
        };
        let observed = self.workflow_stats(window)?;
        let before = self.workflow_stats(baseline)?;
        let runs = observed.values().fold(Tally::default(), |a, s| Tally {
            successes: a.successes + s.completed,
            total: a.total + s.completed + s.failed,
        });
        Ok(HealthInputs {
            runs,
            duration: pooled_ratio(&observed, &before, |s| &s.durations, "duration p50"),
            tool_calls: Tally {
                successes: total - failed,
                total,
            },
            tokens: pooled_ratio(&observed, &before, |s| &s.tokens, "tokens per run (median)"),
        })
    }

    fn workflow_stats(&self, w: Window) -> Result<HashMap<String, WorkflowStats>> {
        let mut out: HashMap<String, WorkflowStats> = HashMap::new();
        let (days, edges) = split_days(w);
        if let Some((d0, d1)) = days {
            let mut stmt = self.conn.prepare_cached(
                "SELECT workflow, completed, failed, durations, tokens FROM run_days WHERE day >= ?1 AND day < ?2",
            )?;
            let mut rows = stmt.query(params![d0, d1])?;
            while let Some(r) = rows.next()? {
                let s = out.entry(r.get(0)?).or_default();
                s.completed += r.get::<_, i64>(1)? as u64;
                s.failed += r.get::<_, i64>(2)? as u64;
                for (i, h) in [(3, &mut s.durations), (4, &mut s.tokens)] {
                    if let Some(part) = r
                        .get_ref(i)?
                        .as_blob_or_null()
                        .ok()
                        .flatten()
                        .and_then(Histogram::from_bytes)
                    {
                        h.merge(&part);
                    }
                }
            }
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT COALESCE(workflow, agent), status, duration_ms, tokens FROM runs WHERE started_ms >= ?1 AND started_ms <= ?2",
        )?;
        for (a, b) in edges {
            let mut rows = stmt.query(params![a, b])?;
            while let Some(r) = rows.next()? {
                Self::add_run(&mut out, r)?;
            }
        }
        Ok(out)
    }

    /// Adds one run row (workflow, status, duration, tokens) to per-workflow stats.
    fn add_run(
        out: &mut HashMap<String, WorkflowStats>,
        r: &rusqlite::Row<'_>,
    ) -> rusqlite::Result<()> {
        {
            let status: String = r.get(1)?;
            let s = out.entry(r.get(0)?).or_default();
            match status.as_str() {
                "completed" => s.completed += 1,
                "failed" => s.failed += 1,
                _ => return Ok(()),
            }
            if let Some(d) = r.get::<_, Option<i64>>(2)?.filter(|d| *d > 0) {
                s.durations.add(d as u64);
            }
            if let Some(t) = r.get::<_, Option<i64>>(3)?.filter(|t| *t > 0) {
                s.tokens.add(t as u64);
            }
        }
        Ok(())
    }

    /// Baseline of one workflow before `before_ms`: (p50 duration, median tokens) of finished runs.
    pub fn workflow_baseline(
        &self,
        workflow: &str,
        before_ms: i64,
    ) -> Result<(Option<u64>, Option<u64>, u64)> {
        let w = Window {
            from_ms: before_ms - BASELINE_DAYS * DAY_MS,
            to_ms: before_ms - 1,
        };
        let stats = self.workflow_stats(w)?;
        Ok(match stats.get(workflow) {
            Some(s) => (
                s.durations.quantile(0.5),
                s.tokens.quantile(0.5),
                s.completed + s.failed,
            ),
            None => (None, None, 0),
        })
    }

    /// A mirrored run by id.
    pub fn run(&self, run_id: &str) -> Result<Option<RunInfoRow>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT key, run_id, agent, workflow, model, status, started_ms, completed_ms, duration_ms, tokens, last_event_ms, last_event_type,
                    calls, failed, rejected, cancelled
                 FROM runs WHERE run_id = ?1",
            )?
            .query_row(params![run_id], read_run)
            .optional()?)
    }

    /// Run ids that resemble `run_id` (for "did you mean").
    pub fn recent_run_ids(&self, limit: u32) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT run_id FROM runs ORDER BY started_ms DESC LIMIT ?1")?;
        let rows = stmt.query_map(params![limit], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The flagged calls (every outcome but success) of one run in event order; the run's
    /// counts of calls are in [`RunInfoRow`].
    pub fn run_calls(&self, run_key: i64) -> Result<Vec<RunCall>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.name, c.outcome = 1, p.name, c.class, c.template, c.retry, c.duration_ms, c.outcome
             FROM failures c JOIN tools t ON t.key = c.tool LEFT JOIN patterns p ON p.key = c.pattern AND c.outcome = 1
             WHERE c.run = ?1 ORDER BY c.event_id",
        )?;
        let rows = stmt.query_map(params![run_key], |r| {
            Ok(RunCall {
                tool: r.get(0)?,
                failed: r.get::<_, i64>(1)? != 0,
                pattern: r.get(2)?,
                class: r
                    .get::<_, Option<i64>>(3)?
                    .and_then(FailureClass::from_code),
                template_id: r.get(4)?,
                retry: RetryState::from_code(r.get(5)?),
                duration_ms: r.get(6)?,
                outcome: Outcome::from_code(r.get(7)?).unwrap_or(Outcome::Success),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The most recent failures of `pattern` within `w`, newest first, at most `limit`:
    /// (event id, run id).
    pub fn pattern_failure_events(
        &self,
        pattern: u32,
        w: Window,
        limit: u32,
    ) -> Result<Vec<(i64, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT f.event_id, r.run_id FROM failures f JOIN runs r ON r.key = f.run
             WHERE f.outcome = 1 AND f.pattern = ?1 AND f.ts >= ?2 AND f.ts <= ?3
             ORDER BY f.ts DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![pattern, w.from_ms, w.to_ms, limit], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Key of a tool name, if it was ever called.
    pub fn tool_key(&self, name: &str) -> Result<Option<u32>> {
        Ok(self
            .conn
            .prepare_cached("SELECT key FROM tools WHERE name = ?1")?
            .query_row(params![name], |r| r.get(0))
            .optional()?)
    }

    /// The longest duration of an explicit timeout of `tool` seen so far.
    pub fn tool_ceiling(&self, tool: u32) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT timeout_ceiling_ms FROM tools WHERE key = ?1")?
            .query_row(params![tool], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// Distinct runs that called `tool` within `w`.
    pub fn runs_with_tool(&self, tool: u32, w: Window) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(DISTINCT run) FROM calls WHERE tool = ?1 AND ts >= ?2 AND ts <= ?3",
            params![tool, w.from_ms, w.to_ms],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Runs started in `w`, whatever their status.
    pub fn runs_started(&self, w: Window) -> Result<u64> {
        Ok(self.run_counts(w)?[0])
    }

    /// Runs started in `w`: [started, completed, failed, cancelled, running], from the day
    /// rollups for whole days and the runs themselves for the partial days at both ends.
    fn run_counts(&self, w: Window) -> Result<[u64; 5]> {
        let mut out = [0u64; 5];
        let (days, edges) = split_days(w);
        if let Some((d0, d1)) = days {
            let (a, b, c, d, e): (i64, i64, i64, i64, i64) = self.conn.query_row(
                "SELECT COALESCE(SUM(started), 0), COALESCE(SUM(completed), 0), COALESCE(SUM(failed), 0),
                        COALESCE(SUM(cancelled), 0), COALESCE(SUM(running), 0)
                 FROM run_days WHERE day >= ?1 AND day < ?2",
                params![d0, d1],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?;
            for (o, v) in out.iter_mut().zip([a, b, c, d, e]) {
                *o += v as u64;
            }
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(status = 'completed'), 0), COALESCE(SUM(status = 'failed'), 0),
                    COALESCE(SUM(status = 'cancelled'), 0), COALESCE(SUM(status = 'running'), 0)
             FROM runs WHERE started_ms >= ?1 AND started_ms <= ?2",
        )?;
        for (a, b) in edges {
            let v: [i64; 5] = stmt.query_row(params![a, b], |r| {
                Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?])
            })?;
            for (o, v) in out.iter_mut().zip(v) {
                *o += v as u64;
            }
        }
        Ok(out)
    }

    /// (failed runs, finished runs) among runs started in `w`: the run-level regression guard.
    pub fn run_outcomes(&self, w: Window) -> Result<(u64, u64)> {
        let c = self.run_counts(w)?;
        Ok((c[2], c[1] + c[2]))
    }

    /// Calls and failures of `tool` (and failures of `pattern`) made by the given runs within `w`.
    pub fn runs_tool_counts(
        &self,
        run_ids: &[String],
        tool: u32,
        pattern: u32,
        w: Window,
    ) -> Result<(u64, u64, u64)> {
        let mut keys = std::collections::HashSet::new();
        let mut key_of = self
            .conn
            .prepare_cached("SELECT key FROM runs WHERE run_id = ?1")?;
        for id in run_ids {
            if let Some(k) = key_of
                .query_row(params![id], |r| r.get::<_, u32>(0))
                .optional()?
            {
                keys.insert(k);
            }
        }
        let mut total = (0u64, 0u64, 0u64);
        if keys.is_empty() {
            return Ok(total);
        }
        // One scan of the window's calls of the tool, kept when their run is one of them.
        let mut stmt = self.conn.prepare_cached(
            "SELECT run, outcome FROM calls WHERE tool = ?1 AND ts >= ?2 AND ts <= ?3 AND outcome IN (0, 1, 4)",
        )?;
        let mut rows = stmt.query(params![tool, w.from_ms, w.to_ms])?;
        while let Some(r) = rows.next()? {
            if keys.contains(&r.get::<_, u32>(0)?) {
                total.0 += 1;
                total.1 += u64::from(r.get::<_, i64>(1)? == 1);
            }
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT run FROM failures WHERE outcome = 1 AND pattern = ?1 AND ts >= ?2 AND ts <= ?3",
        )?;
        let mut rows = stmt.query(params![pattern, w.from_ms, w.to_ms])?;
        while let Some(r) = rows.next()? {
            if keys.contains(&r.get::<_, u32>(0)?) {
                total.2 += 1;
            }
        }
        Ok(total)
    }

    /// Runs whose status is `running`, with their newest event.
    pub fn running_runs(&self) -> Result<Vec<RunningRun>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT run_id, agent, started_ms, last_event_ms, last_event_type FROM runs WHERE status = 'running'",
        )?;
        let rows = stmt.query_map([], |r| {
            let last: Option<i64> = r.get(3)?;
            let kind: Option<String> = r.get(4)?;
            Ok(RunningRun {
                run_id: r.get(0)?,
                agent: r.get(1)?,
                started_ms: r.get(2)?,
                last_event: last.map(|t| (t, kind.unwrap_or_default())),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Events skipped as unreadable whose time lies in `window`, plus those with no readable time.
    pub fn skipped_events(&self, window: Window) -> Result<(u64, u64)> {
        let in_window: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM skipped WHERE ts >= ?1 AND ts <= ?2",
            params![window.from_ms, window.to_ms],
            |r| r.get(0),
        )?;
        let untimed: i64 =
            self.conn
                .query_row("SELECT COUNT(*) FROM skipped WHERE ts IS NULL", [], |r| {
                    r.get(0)
                })?;
        Ok((in_window as u64, untimed as u64))
    }

    /// The template text of a cluster.
    pub fn template_text(&self, id: u32) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT template FROM templates WHERE key = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional()?)
    }
}

#[derive(Default)]
struct WorkflowStats {
    completed: u64,
    failed: u64,
    durations: Histogram,
    tokens: Histogram,
}

/// Per-workflow `clamp(baseline median / observed median)`, averaged with weights = finished
/// runs in the window, over workflows that have both sides.
fn pooled_ratio(
    observed: &HashMap<String, WorkflowStats>,
    baseline: &HashMap<String, WorkflowStats>,
    pick: impl Fn(&WorkflowStats) -> &Histogram,
    what: &str,
) -> Option<(f64, String)> {
    let (mut weighted, mut weight, mut workflows) = (0.0, 0.0, 0);
    for (name, obs) in observed {
        let (Some(o), Some(b)) = (
            pick(obs).quantile(0.5),
            baseline.get(name).and_then(|b| pick(b).quantile(0.5)),
        ) else {
            continue;
        };
        if let Some(v) = baseline_ratio(b as f64, o as f64) {
            let n = pick(obs).len() as f64;
            weighted += v * n;
            weight += n;
            workflows += 1;
        }
    }
    (weight > 0.0).then(|| {
        (
            weighted / weight,
            format!("{what} against each workflow's 30 days before the window, {workflows} workflow(s), weighted by runs"),
        )
    })
}

fn read_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunInfoRow> {
    Ok(RunInfoRow {
        key: r.get(0)?,
        run_id: r.get(1)?,
        agent: r.get(2)?,
        workflow: r.get(3)?,
        model: r.get(4)?,
        status: r.get(5)?,
        started_ms: r.get(6)?,
        completed_ms: r.get(7)?,
        duration_ms: r.get(8)?,
        tokens: r.get(9)?,
        last_event_ms: r.get(10)?,
        last_event_type: r.get(11)?,
        calls: r.get::<_, i64>(12)? as u64,
        failed: r.get::<_, i64>(13)? as u64,
        rejected: r.get::<_, i64>(14)? as u64,
        cancelled: r.get::<_, i64>(15)? as u64,
    })
}

/// A window as whole days `[d0, d1)`, whole hours `[h0, h1)` around them, and partial hours
/// at both ends as inclusive ms ranges.
#[derive(Debug, PartialEq, Eq)]
struct LevelSplit {
    days: Option<(i64, i64)>,
    hours: Vec<(i64, i64)>,
    edges: Vec<(i64, i64)>,
}

/// Splits `w` into whole days, whole hours and partial edges (see [`LevelSplit`]).
fn split_levels(w: Window) -> LevelSplit {
    let (full, edges) = split_hours(w);
    let Some((h0, h1)) = full else {
        return LevelSplit {
            days: None,
            hours: Vec::new(),
            edges,
        };
    };
    let d0 = h0.div_euclid(HOURS_PER_DAY) + i64::from(h0.rem_euclid(HOURS_PER_DAY) != 0);
    let d1 = h1.div_euclid(HOURS_PER_DAY);
    if d0 >= d1 {
        return LevelSplit {
            days: None,
            hours: vec![(h0, h1)],
            edges,
        };
    }
    let hours = [(h0, d0 * HOURS_PER_DAY), (d1 * HOURS_PER_DAY, h1)]
        .into_iter()
        .filter(|(a, b)| a < b)
        .collect();
    LevelSplit {
        days: Some((d0, d1)),
        hours,
        edges,
    }
}

/// Whole hours `[h0, h1)` of a window, and its partial edges as inclusive ms ranges.
type HourSplit = (Option<(i64, i64)>, Vec<(i64, i64)>);

/// Splits `w` into whole UTC days `[d0, d1)` and the partial days at both ends (inclusive ms).
fn split_days(w: Window) -> HourSplit {
    if w.to_ms < w.from_ms {
        return (None, Vec::new());
    }
    let d0 = w.from_ms.div_euclid(DAY_MS) + i64::from(w.from_ms.rem_euclid(DAY_MS) != 0);
    let d1 = (w.to_ms + 1).div_euclid(DAY_MS);
    if d0 >= d1 {
        return (None, vec![(w.from_ms, w.to_ms)]);
    }
    let mut edges = Vec::new();
    if w.from_ms < d0 * DAY_MS {
        edges.push((w.from_ms, d0 * DAY_MS - 1));
    }
    if d1 * DAY_MS <= w.to_ms {
        edges.push((d1 * DAY_MS, w.to_ms));
    }
    (Some((d0, d1)), edges)
}

/// Splits `w` into whole hours and the partial edges.
fn split_hours(w: Window) -> HourSplit {
    if w.to_ms < w.from_ms {
        return (None, Vec::new());
    }
    let h0 = w.from_ms.div_euclid(HOUR_MS) + i64::from(w.from_ms.rem_euclid(HOUR_MS) != 0);
    let h1 = (w.to_ms + 1).div_euclid(HOUR_MS);
    if h0 >= h1 {
        return (None, vec![(w.from_ms, w.to_ms)]);
    }
    let mut edges = Vec::new();
    if w.from_ms < h0 * HOUR_MS {
        edges.push((w.from_ms, h0 * HOUR_MS - 1));
    }
    if h1 * HOUR_MS <= w.to_ms {
        edges.push((h1 * HOUR_MS, w.to_ms));
    }
    (Some((h0, h1)), edges)
}

/// How [`IndexReader::detect_planned`] reads the states of the patterns it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatePlan {
    /// The stored per-day and per-hour states, and the failures of the partial hours.
    Stored,
    /// The window's failures, read once for every pattern.
    Scan,
    /// Whichever reads fewer rows: a window with few failures and many small patterns (each
    /// needing its state for its correlation) is cheaper to scan.
    Cheaper,
}

/// Stored rows read per pattern state loaded (about six days and a day's worth of hours).
const STORED_ROWS_PER_LOAD: u64 = 30;

/// The states of patterns over one window: stored per day and per hour, and read from the
/// failures themselves for the partial hours at both ends (once, for every pattern) — or,
/// when scanning is cheaper, from the window's failures alone.
struct WindowStates<'r, 'c> {
    reader: &'r IndexReader<'c>,
    split: LevelSplit,
    only: Option<u32>,
    edges: RefCell<Option<HashMap<u32, PatternWindow>>>,
}

impl<'r, 'c> WindowStates<'r, 'c> {
    fn new(reader: &'r IndexReader<'c>, window: Window, only: Option<u32>, scan: bool) -> Self {
        let split = if scan {
            LevelSplit {
                days: None,
                hours: Vec::new(),
                edges: vec![(window.from_ms, window.to_ms)],
            }
        } else {
            split_levels(window)
        };
        WindowStates {
            reader,
            split,
            only,
            edges: RefCell::new(None),
        }
    }

    /// The state of `pattern` over the window.
    fn load(&self, pattern: u32) -> Result<PatternWindow> {
        let mut w = PatternWindow::default();
        let conn = self.reader.conn;
        let mut merge_rows = |sql: &str, from: i64, to: i64, per_day: i64| -> Result<()> {
            let mut stmt = conn.prepare_cached(sql)?;
            let mut rows = stmt.query(params![pattern, from, to])?;
            while let Some(r) = rows.next()? {
                let at: i64 = r.get(0)?;
                let bytes = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
                let state = PatternState::decode(bytes).ok_or_else(|| {
                    StoreError::Index(format!(
                        "the stored state of pattern {pattern} at {at} is unreadable; remove the index to rebuild it"
                    ))
                })?;
                w.merge_day(at.div_euclid(per_day), &state);
            }
            Ok(())
        };
        if let Some((d0, d1)) = self.split.days {
            merge_rows(
                "SELECT day, state FROM pattern_day_state WHERE pattern = ?1 AND day >= ?2 AND day < ?3",
                d0,
                d1,
                1,
            )?;
        }
        for (h0, h1) in &self.split.hours {
            merge_rows(
                "SELECT hour, state FROM pattern_hour_state WHERE pattern = ?1 AND hour >= ?2 AND hour < ?3",
                *h0,
                *h1,
                HOURS_PER_DAY,
            )?;
        }
        if self.edges.borrow().is_none() {
            let edges = self.read_edges()?;
            *self.edges.borrow_mut() = Some(edges);
        }
        if let Some(e) = self.edges.borrow().as_ref().and_then(|e| e.get(&pattern)) {
            w.merge(e);
        }
        w.state.compact();
        Ok(w)
    }

    /// The failures of the partial hours, per pattern.
    fn read_edges(&self) -> Result<HashMap<u32, PatternWindow>> {
        let mut acc = PatternAccumulator::new();
        let mut stmt = self.reader.conn.prepare_cached(
            "SELECT pattern, run, ts, class, class_conf, signals, template, context, retry, recorded
             FROM failures WHERE outcome = 1 AND ts >= ?1 AND ts <= ?2 AND (?3 IS NULL OR pattern = ?3)",
        )?;
        for (a, b) in &self.split.edges {
            let mut rows = stmt.query(params![a, b, self.only])?;
            while let Some(r) = rows.next()? {
                acc.push(&Occurrence {
                    pattern: r.get(0)?,
                    run: r.get(1)?,
                    ts_ms: r.get(2)?,
                    class: FailureClass::from_code(r.get(3)?).unwrap_or(FailureClass::Unknown),
                    class_confidence: r.get(4)?,
                    signal_bits: r.get::<_, i64>(5)? as u8,
                    template: r.get(6)?,
                    context: r.get(7)?,
                    retry: RetryState::from_code(r.get(8)?),
                    recorded: r.get(9)?,
                });
            }
        }
        Ok(acc.into_windows().into_iter().collect())
    }
}

/// Resolves names for the pattern accumulator, remembering the first error.
struct Lookup<'r, 'c> {
    reader: &'r IndexReader<'c>,
    window: Window,
    patterns: HashMap<u32, (String, String, Option<String>)>,
    recorded: HashMap<u32, String>,
    tool_calls: HashMap<String, u64>,
    recent_calls: HashMap<String, u64>,
    baseline_calls: HashMap<String, u64>,
    recent_failures: HashMap<u32, u64>,
    baseline_failures: HashMap<u32, u64>,
    /// Names read ahead by `preload`.
    run_names: RefCell<HashMap<u32, String>>,
    template_texts: RefCell<HashMap<u32, String>>,
    error: RefCell<Option<StoreError>>,
}

impl<'r, 'c> Lookup<'r, 'c> {
    fn new(reader: &'r IndexReader<'c>, window: Window) -> Result<Self> {
        let mut patterns = HashMap::new();
        let mut stmt = reader
            .conn
            .prepare_cached("SELECT key, error_type, tool, program FROM patterns")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            patterns.insert(r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?));
        }
        let mut recorded = HashMap::new();
        let mut stmt = reader
            .conn
            .prepare_cached("SELECT key, name FROM recorded_types")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            recorded.insert(r.get(0)?, r.get(1)?);
        }
        let names: HashMap<u32, String> = reader
            .tool_keys()?
            .into_iter()
            .map(|(n, k)| (k, n))
            .collect();
        let by_name = |counts: HashMap<u32, (u64, u64)>| -> HashMap<String, u64> {
            counts
                .into_iter()
                .filter_map(|(k, (calls, _))| names.get(&k).map(|n| (n.clone(), calls)))
                .collect()
        };
        let (recent, baseline) = trend_windows(window.to_ms);
        Ok(Lookup {
            reader,
            window,
            patterns,
            recorded,
            tool_calls: by_name(reader.tool_counts(window)?),
            recent_calls: by_name(reader.tool_counts(recent)?),
            baseline_calls: by_name(reader.tool_counts(baseline)?),
            recent_failures: reader.pattern_counts(recent)?,
            baseline_failures: reader.pattern_counts(baseline)?,
            run_names: RefCell::new(HashMap::new()),
            template_texts: RefCell::new(HashMap::new()),
            error: RefCell::new(None),
        })
    }

    /// Reads `(key, text)` rows of `table` for the given keys, a few hundred keys a query.
    fn read_names(&self, sql: &str, keys: &[u32]) -> Result<Vec<(u32, String)>> {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys.dedup();
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(500) {
            let list: Vec<String> = chunk.iter().map(u32::to_string).collect();
            // Keys are integers of ours: the list is not user input.
            let mut stmt = self
                .reader
                .conn
                .prepare(&sql.replace("?LIST", &list.join(",")))?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }

    fn remember<T: Default>(&self, r: Result<T>) -> T {
        match r {
            Ok(v) => v,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                T::default()
            }
        }
    }
}

impl PatternLookup for Lookup<'_, '_> {
    fn pattern_name(&self, pattern: u32) -> (String, String, Option<String>) {
        self.patterns
            .get(&pattern)
            .cloned()
            .unwrap_or_else(|| ("Unknown".into(), format!("pattern#{pattern}"), None))
    }

    fn recorded_type(&self, recorded: u32) -> String {
        self.recorded
            .get(&recorded)
            .cloned()
            .unwrap_or_else(|| format!("type#{recorded}"))
    }

    fn preload(&self, runs: &[u32], templates: &[u32]) {
        let r = self.read_names("SELECT key, run_id FROM runs WHERE key IN (?LIST)", runs);
        let names = self.remember(r);
        self.run_names.borrow_mut().extend(names);
        let r = self.read_names(
            "SELECT key, template FROM templates WHERE key IN (?LIST)",
            templates,
        );
        let texts = self.remember(r);
        self.template_texts.borrow_mut().extend(texts);
    }

    fn run_name(&self, run: u32) -> String {
        if let Some(name) = self.run_names.borrow().get(&run) {
            return name.clone();
        }
        let r = self
            .reader
            .conn
            .prepare_cached("SELECT run_id FROM runs WHERE key = ?1")
            .and_then(|mut s| s.query_row(params![run], |r| r.get::<_, String>(0)))
            .map_err(StoreError::from);
        self.remember(r)
    }

    fn template_text(&self, template: u32) -> String {
        if let Some(text) = self.template_texts.borrow().get(&template) {
            return text.clone();
        }
        let r = self
            .reader
            .template_text(template)
            .map(Option::unwrap_or_default);
        self.remember(r)
    }

    fn context_set(&self, context: u32) -> ContextSet {
        if let Some(set) = self
            .reader
            .contexts
            .and_then(|c| cache_get(&c.sets, context))
        {
            return set;
        }
        let r = self
            .reader
            .conn
            .prepare_cached("SELECT normalized, agent, model FROM contexts WHERE key = ?1")
            .and_then(|mut s| {
                s.query_row(params![context], |r| {
                    let normalized: String = r.get(0)?;
                    let agent: String = r.get(1)?;
                    let model: String = r.get(2)?;
                    Ok(crate::index::context_set(&normalized, &agent, &model))
                })
            })
            .map_err(StoreError::from);
        let set = self.remember(r);
        if let Some(cache) = self.reader.contexts {
            cache_put(&cache.sets, context, set.clone());
        }
        set
    }

    fn context_signature(&self, context: u32) -> MinHash {
        if let Some(sig) = self
            .reader
            .contexts
            .and_then(|c| cache_get(&c.sigs, context))
        {
            return sig;
        }
        let stored: Result<Option<Vec<u8>>> = self
            .reader
            .conn
            .prepare_cached("SELECT sig FROM contexts WHERE key = ?1")
            .and_then(|mut s| s.query_row(params![context], |r| r.get(0)))
            .map_err(StoreError::from);
        let sig = match self
            .remember(stored)
            .as_deref()
            .and_then(MinHash::from_bytes)
        {
            Some(sig) => sig,
            // A context indexed without its signature: compute it from the set.
            None => MinHash::of(&self.context_set(context)),
        };
        if let Some(cache) = self.reader.contexts {
            cache_put(&cache.sigs, context, sig.clone());
        }
        sig
    }

    fn tool_calls(&self, tool: &str) -> u64 {
        self.tool_calls.get(tool).copied().unwrap_or(0)
    }

    fn window(&self) -> (i64, i64) {
        (self.window.from_ms, self.window.to_ms)
    }

    fn pattern_trend_tallies(&self, pattern: u32) -> (Tally, Tally) {
        let tool = self
            .patterns
            .get(&pattern)
            .map(|p| p.1.as_str())
            .unwrap_or("");
        let tally = |calls: &HashMap<String, u64>, failures: &HashMap<u32, u64>| {
            let total = calls.get(tool).copied().unwrap_or(0);
            let failed = failures.get(&pattern).copied().unwrap_or(0).min(total);
            Tally {
                successes: total - failed,
                total,
            }
        };
        (
            tally(&self.recent_calls, &self.recent_failures),
            tally(&self.baseline_calls, &self.baseline_failures),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_split_into_days_hours_and_edges() {
        let (h, d) = (HOUR_MS, 24 * HOUR_MS);
        let w = |a, b| Window {
            from_ms: a,
            to_ms: b,
        };
        // 10 ms into hour 1 of day 0 … 5 ms into hour 2 of day 3.
        let split = split_levels(w(h + 10, 3 * d + 2 * h + 5));
        assert_eq!(split.days, Some((1, 3)));
        assert_eq!(split.hours, vec![(2, 24), (72, 74)]);
        assert_eq!(
            split.edges,
            vec![(h + 10, 2 * h - 1), (3 * d + 2 * h, 3 * d + 2 * h + 5)]
        );
        // Less than a day of whole hours: no days.
        let split = split_levels(w(h, 5 * h - 1));
        assert_eq!((split.days, split.hours), (None, vec![(1, 5)]));
        // Aligned days only.
        let split = split_levels(w(0, 2 * d - 1));
        assert_eq!(
            (split.days, split.hours.len(), split.edges.len()),
            (Some((0, 2)), 0, 0)
        );
    }

    #[test]
    fn hours_split_exactly() {
        let h = HOUR_MS;
        let w = |a, b| Window {
            from_ms: a,
            to_ms: b,
        };
        assert_eq!(split_hours(w(0, 3 * h - 1)), (Some((0, 3)), vec![]));
        assert_eq!(
            split_hours(w(10, 3 * h)),
            (Some((1, 3)), vec![(10, h - 1), (3 * h, 3 * h)])
        );
        assert_eq!(split_hours(w(10, 20)), (None, vec![(10, 20)]));
        assert_eq!(
            split_hours(w(h + 5, 2 * h + 4)),
            (None, vec![(h + 5, 2 * h + 4)])
        );
        assert_eq!(split_hours(w(-5, h - 1)), (Some((0, 1)), vec![(-5, -1)]));
    }
}
