//! End-to-end checks of the generator against plain SQL over the database it writes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use rusqlite::Connection;
use selfheal_synth::{GroundTruth, SynthConfig, append_events, generate};

fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap()
}

fn make(cfg: &SynthConfig) -> (Connection, GroundTruth) {
    let mut conn = Connection::open_in_memory().unwrap();
    let truth = generate(&mut conn, cfg).unwrap();
    (conn, truth)
}

fn parse_ts(s: &str) -> i64 {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return t.timestamp_millis();
    }
    let n = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("unparseable timestamp {s:?}: {e}"));
    Utc.from_utc_datetime(&n).timestamp_millis()
}

fn count(conn: &Connection, sql: &str) -> u64 {
    conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64
}

fn content_hash(conn: &Connection) -> u64 {
    let mut h = DefaultHasher::new();
    for table in ["runs", "run_events", "run_metrics", "improvements"] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
            .unwrap();
        let ncol = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..ncol {
                let v: rusqlite::types::Value = row.get(i).unwrap();
                format!("{v:?}").hash(&mut h);
            }
        }
    }
    h.finish()
}

#[test]
fn same_seed_same_content_other_seed_differs() {
    let cfg = SynthConfig::new(11, 8_000, end());
    let (a, ta) = make(&cfg);
    let (b, tb) = make(&cfg);
    assert_eq!(content_hash(&a), content_hash(&b));
    assert_eq!(ta, tb);
    let (c, _) = make(&SynthConfig::new(12, 8_000, end()));
    assert_ne!(content_hash(&a), content_hash(&c));
}

#[test]
fn target_events_respected() {
    for (target, days) in [(5_000u64, 30u32), (20_000, 30), (12_000, 3)] {
        let mut cfg = SynthConfig::new(3, target, end());
        cfg.days = days;
        cfg.collect_truth = false;
        let (conn, truth) = make(&cfg);
        let n = count(&conn, "SELECT COUNT(*) FROM run_events");
        assert_eq!(n, truth.total_events);
        let lo = target as f64 * 0.95;
        let hi = target as f64 * 1.05;
        assert!(
            (lo..=hi).contains(&(n as f64)),
            "{n} events for target {target}"
        );
        assert!(
            truth
                .patterns
                .iter()
                .all(|p| p.occurrence_timestamps_ms.is_empty())
        );
    }
}

#[test]
fn truth_matches_plain_sql() {
    let (conn, t) = make(&SynthConfig::demo(end()));
    assert_eq!(t.total_runs, count(&conn, "SELECT COUNT(*) FROM runs"));
    assert_eq!(
        t.total_events,
        count(&conn, "SELECT COUNT(*) FROM run_events")
    );
    let ok = "event_type = 'tool_complete' AND json_valid(event_data) \
              AND json_type(event_data) = 'object'";
    assert_eq!(
        t.tool_calls,
        count(
            &conn,
            &format!("SELECT COUNT(*) FROM run_events WHERE {ok}")
        )
    );
    assert_eq!(
        t.malformed_events,
        count(
            &conn,
            "SELECT COUNT(*) FROM run_events WHERE event_type = 'tool_complete' AND \
             (NOT json_valid(event_data) OR json_type(event_data) != 'object')"
        )
    );
    assert!(t.malformed_events > 0);
    let failed_where = format!("{ok} AND json_extract(event_data, '$.is_error') = 1");
    assert_eq!(
        t.failed_calls,
        count(
            &conn,
            &format!("SELECT COUNT(*) FROM run_events WHERE {failed_where}")
        )
    );
    let share = t.failed_calls as f64 / t.tool_calls as f64;
    assert!((0.03..0.2).contains(&share), "failure share {share}");
    assert_eq!(
        t.failed_calls,
        t.patterns.iter().map(|p| p.occurrences).sum::<u64>()
    );
    for p in &t.patterns {
        assert_eq!(p.occurrence_timestamps_ms.len() as u64, p.occurrences);
        assert!(p.runs <= p.occurrences && p.recovered <= p.retried);
        assert!(p.retried <= p.occurrences);
    }

    // Per tool.
    let tool =
        "COALESCE(json_extract(event_data, '$.name'), json_extract(event_data, '$.tool_name'))";
    let grouped = |where_: &str| -> BTreeMap<String, u64> {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {tool}, COUNT(*) FROM run_events WHERE {where_} GROUP BY 1"
            ))
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(t.calls_by_tool, grouped(ok));
    assert_eq!(t.failures_by_tool, grouped(&failed_where));
    assert_eq!(t.calls_by_tool.len(), 12);

    // Per (tool, recorded error_type): the planted patterns add up.
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {tool}, json_extract(event_data, '$.error_type'), COUNT(*) \
             FROM run_events WHERE {failed_where} GROUP BY 1, 2"
        ))
        .unwrap();
    let sql: BTreeMap<(String, Option<String>), u64> = stmt
        .query_map([], |r| {
            Ok(((r.get(0)?, r.get(1)?), r.get::<_, i64>(2)? as u64))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut planted: BTreeMap<(String, Option<String>), u64> = BTreeMap::new();
    for p in &t.patterns {
        *planted
            .entry((p.tool.clone(), p.recorded_error_type.clone()))
            .or_default() += p.occurrences;
    }
    assert_eq!(sql, planted);
    let untyped: u64 = t
        .patterns
        .iter()
        .filter(|p| p.recorded_error_type.is_none())
        .map(|p| p.occurrences)
        .sum();
    let untyped_share = untyped as f64 / t.failed_calls as f64;
    assert!(
        (0.25..0.6).contains(&untyped_share),
        "untyped {untyped_share}"
    );

    // Runs by agent and status.
    let mut stmt = conn
        .prepare(
            "SELECT COALESCE(json_extract(metadata, '$.agent'), workflow_name), COUNT(*) \
             FROM runs GROUP BY 1",
        )
        .unwrap();
    let by_agent: BTreeMap<String, u64> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(t.runs_by_agent, by_agent);
    assert!(
        by_agent.len() > 6,
        "some metadata agents differ from workflows"
    );
    let mut stmt = conn
        .prepare("SELECT status, COUNT(*) FROM runs GROUP BY 1")
        .unwrap();
    let by_status: BTreeMap<String, u64> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(t.runs_by_status, by_status);
    assert_eq!(by_status.len(), 4);
    let with_agent = count(
        &conn,
        "SELECT COUNT(*) FROM runs WHERE json_extract(metadata, '$.agent') IS NOT NULL",
    ) as f64;
    let share = with_agent / t.total_runs as f64;
    assert!(
        (0.25..0.42).contains(&share),
        "metadata.agent share {share}"
    );
}

/// Recomputes `recovered`/`retried` and occurrence timestamps from the rows, per (tool,
/// recorded type) group, and checks stalls, ordering and metrics.
#[test]
fn events_replay_matches_truth() {
    let cfg = SynthConfig::demo(end());
    let (conn, t) = make(&cfg);
    let end_ms = end().timestamp_millis();
    let begin_ms = t.begin.timestamp_millis();

    struct Ev {
        run: String,
        step: i64,
        kind: String,
        data: String,
        ts: i64,
    }
    let mut stmt = conn
        .prepare(
            "SELECT run_id, step_index, event_type, event_data, timestamp FROM run_events \
             ORDER BY id",
        )
        .unwrap();
    let events: Vec<Ev> = stmt
        .query_map([], |r| {
            Ok(Ev {
                run: r.get(0)?,
                step: r.get(1)?,
                kind: r.get(2)?,
                data: r.get(3)?,
                ts: parse_ts(&r.get::<_, String>(4)?),
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();

    // Runs are contiguous; steps and times increase within a run; all within the span.
    let mut seen_runs = std::collections::HashSet::new();
    let mut last: Option<&Ev> = None;
    let mut last_event_of: HashMap<&str, i64> = HashMap::new();
    for e in &events {
        assert!(
            e.ts <= end_ms && e.ts >= begin_ms - 4 * 3_600_000,
            "{}",
            e.ts
        );
        match last {
            Some(p) if p.run == e.run => {
                assert!(e.step > p.step);
                assert!(e.ts >= p.ts, "time order in run {}", e.run);
            }
            _ => assert!(seen_runs.insert(e.run.clone()), "run {} split", e.run),
        }
        last_event_of.insert(&e.run, e.ts);
        last = Some(e);
    }
    let mut stmt = conn
        .prepare("SELECT id FROM runs WHERE status = 'running' ORDER BY id")
        .unwrap();
    let running: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut expect: Vec<String> = t
        .stalled_runs
        .iter()
        .chain(&t.live_running_runs)
        .cloned()
        .collect();
    expect.sort();
    assert_eq!(running, expect);
    assert_eq!(t.stalled_runs.len(), 3);
    assert_eq!(t.live_running_runs.len(), 2);
    for id in &t.stalled_runs {
        let age = end_ms - last_event_of[id.as_str()];
        assert!(
            (20 * 60_000..3 * 3_600_000).contains(&age),
            "stalled age {age}"
        );
    }
    for id in &t.live_running_runs {
        let age = end_ms - last_event_of[id.as_str()];
        assert!((0..120_000).contains(&age), "live age {age}");
    }

    // Replay recovery per (tool, recorded type).
    type Key = (String, Option<String>);
    let mut occ: BTreeMap<Key, u64> = BTreeMap::new();
    let mut recovered: BTreeMap<Key, u64> = BTreeMap::new();
    let mut retried: BTreeMap<Key, u64> = BTreeMap::new();
    let mut stamps: BTreeMap<Key, Vec<i64>> = BTreeMap::new();
    let mut pending: Vec<(Key, bool)> = Vec::new();
    let mut current = String::new();
    for e in &events {
        if e.run != current {
            current = e.run.clone();
            pending.clear();
        }
        if e.kind != "tool_complete" {
            continue;
        }
        let Ok(serde_json::Value::Object(o)) = serde_json::from_str(&e.data) else {
            continue;
        };
        let tool = o
            .get("name")
            .or_else(|| o.get("tool_name"))
            .and_then(|v| v.as_str())
            .unwrap()
            .to_owned();
        let failed = matches!(o.get("is_error"), Some(serde_json::Value::Bool(true)))
            || o.get("is_error").and_then(|v| v.as_i64()) == Some(1);
        for (k, r) in pending.iter_mut().filter(|(k, _)| k.0 == tool) {
            if !*r {
                *r = true;
                *retried.entry(k.clone()).or_default() += 1;
            }
            if !failed {
                *recovered.entry(k.clone()).or_default() += 1;
            }
        }
        if failed {
            let ty = o
                .get("error_type")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            let key = (tool, ty);
            *occ.entry(key.clone()).or_default() += 1;
            stamps.entry(key.clone()).or_default().push(e.ts);
            pending.push((key, false));
        } else {
            pending.retain(|(k, _)| k.0 != tool);
        }
    }
    let mut t_occ: BTreeMap<Key, u64> = BTreeMap::new();
    let mut t_rec: BTreeMap<Key, u64> = BTreeMap::new();
    let mut t_ret: BTreeMap<Key, u64> = BTreeMap::new();
    let mut t_stamps: BTreeMap<Key, Vec<i64>> = BTreeMap::new();
    for p in &t.patterns {
        let k = (p.tool.clone(), p.recorded_error_type.clone());
        *t_occ.entry(k.clone()).or_default() += p.occurrences;
        *t_rec.entry(k.clone()).or_default() += p.recovered;
        *t_ret.entry(k.clone()).or_default() += p.retried;
        t_stamps
            .entry(k)
            .or_default()
            .extend(&p.occurrence_timestamps_ms);
    }
    recovered.retain(|_, v| *v > 0);
    retried.retain(|_, v| *v > 0);
    t_rec.retain(|_, v| *v > 0);
    t_ret.retain(|_, v| *v > 0);
    for v in stamps.values_mut().chain(t_stamps.values_mut()) {
        v.sort_unstable();
    }
    assert_eq!(occ, t_occ);
    assert_eq!(recovered, t_rec);
    assert_eq!(retried, t_ret);
    assert_eq!(stamps, t_stamps);
    let total_rec: u64 = t.patterns.iter().map(|p| p.recovered).sum();
    assert!(total_rec > 0 && total_rec < t.failed_calls);

    // run_metrics agree with the events.
    let bad = count(
        &conn,
        "SELECT COUNT(*) FROM run_metrics m WHERE \
           m.total_tool_calls != (SELECT COUNT(*) FROM run_events e \
             WHERE e.run_id = m.run_id AND e.event_type = 'tool_complete') \
        OR m.total_iterations != (SELECT COUNT(*) FROM run_events e \
             WHERE e.run_id = m.run_id AND e.event_type = 'iteration') \
        OR m.successful_tool_calls + m.failed_tool_calls != m.total_tool_calls",
    );
    assert_eq!(bad, 0);
    let metrics = count(&conn, "SELECT COUNT(*) FROM run_metrics");
    assert!(metrics as f64 > 0.8 * t.total_runs as f64);
    // Finished runs have consistent completion data; running ones none.
    let mut stmt = conn
        .prepare("SELECT status, started_at, completed_at, duration_ms FROM runs")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (status, started, completed, duration) = row.unwrap();
        match (status.as_str(), completed, duration) {
            ("running", None, None) => {}
            ("running", ..) => panic!("running run with completion data"),
            (_, Some(c), Some(d)) => assert_eq!(parse_ts(&c) - parse_ts(&started), d),
            (s, ..) => panic!("{s} run without completion data"),
        }
    }
}

#[test]
fn formats_and_variants_present() {
    let (conn, t) = make(&SynthConfig::demo(end()));
    let n = |sql: &str| count(&conn, sql);
    let zulu = n("SELECT COUNT(*) FROM run_events WHERE timestamp LIKE '%Z'");
    let sqlite = n("SELECT COUNT(*) FROM run_events WHERE timestamp LIKE '____-__-__ __:__:__'");
    let offset = n(
        "SELECT COUNT(*) FROM run_events WHERE timestamp LIKE '%+__:__' OR timestamp LIKE '%-__:__'",
    );
    assert!(zulu > 0 && sqlite > 0 && offset > 0);
    assert_eq!(zulu + sqlite + offset, t.total_events);
    let tc = "event_type = 'tool_complete' AND json_valid(event_data)";
    for cond in [
        "json_extract(event_data, '$.tool_name') IS NOT NULL",
        "json_extract(event_data, '$.duration_ms') IS NOT NULL",
        "json_type(event_data, '$.error') = 'text'",
        "json_type(event_data, '$.is_error') = 'integer'",
        "json_type(event_data, '$.is_error') = 'true'",
        "json_type(event_data, '$.error_type') = 'null'",
        "json_extract(event_data, '$.is_error') = 1 AND json_type(event_data, '$.error_type') IS NULL",
        "json_extract(event_data, '$.error_type') = 'transport_error'",
    ] {
        assert!(
            n(&format!(
                "SELECT COUNT(*) FROM run_events WHERE {tc} AND {cond}"
            )) > 0,
            "no row with {cond}"
        );
    }
    // All non-tool_complete rows are valid JSON objects.
    assert_eq!(
        n(
            "SELECT COUNT(*) FROM run_events WHERE event_type != 'tool_complete' AND \
           (NOT json_valid(event_data) OR json_type(event_data) != 'object')"
        ),
        0
    );
    // tool_start arguments are objects and iterations carry an index.
    assert_eq!(
        n(
            "SELECT COUNT(*) FROM run_events WHERE event_type = 'tool_start' AND \
           json_type(event_data, '$.arguments') != 'object'"
        ),
        0
    );
    assert_eq!(
        n(
            "SELECT COUNT(*) FROM run_events WHERE event_type = 'iteration' AND \
           json_type(event_data, '$.index') != 'integer'"
        ),
        0
    );
    // Timeouts sit at the ceiling.
    let (lo, hi): (i64, i64) = conn
        .query_row(
            "SELECT MIN(COALESCE(json_extract(event_data, '$.duration'), \
                                json_extract(event_data, '$.duration_ms'))), \
                    MAX(COALESCE(json_extract(event_data, '$.duration'), \
                                json_extract(event_data, '$.duration_ms'))) \
             FROM run_events WHERE event_type = 'tool_complete' AND json_valid(event_data) \
             AND json_extract(event_data, '$.error_type') = 'timeout' \
             AND json_extract(event_data, '$.name') = 'fetch_url'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(lo >= 29_900 && hi <= 30_300, "{lo}..{hi}");
}

#[test]
fn temporal_profiles_hold() {
    let (_conn, t) = make(&SynthConfig::new(5, 60_000, end()));
    let end_ms = end().timestamp_millis();
    let day = 86_400_000;
    let new = t.pattern("rate_limited:http_request").unwrap();
    assert_eq!(new.profile, "new");
    assert!(new.first_seen_ms.unwrap() >= end_ms - 7 * day);
    let old = t.pattern("connection_refused:query_db").unwrap();
    assert_eq!(old.profile, "resolved");
    assert!(old.last_seen_ms.unwrap() < end_ms - 14 * day);
    // The planted fix: every failure before it, none after.
    let fixed = old.fixed_at_ms.unwrap();
    assert_eq!(fixed, end_ms - 16 * day);
    assert!(old.occurrence_timestamps_ms.iter().all(|ts| *ts < fixed));
    assert_eq!(new.fixed_at_ms, None);
    // A burst is concentrated: most occurrences fall on a few days.
    let burst = t.pattern("connection_refused:fetch_url").unwrap();
    let mut per_day: BTreeMap<i64, u64> = BTreeMap::new();
    for ts in &burst.occurrence_timestamps_ms {
        *per_day.entry(ts.div_euclid(day)).or_default() += 1;
    }
    let mut counts: Vec<u64> = per_day.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let top3: u64 = counts.iter().take(3).sum();
    assert!(
        top3 * 2 > burst.occurrences,
        "{top3} of {} on the top days",
        burst.occurrences
    );
    let json = serde_json::to_string(&t).unwrap();
    let back: GroundTruth = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t);
}

#[test]
fn append_adds_events_after_existing() {
    let mut cfg = SynthConfig::new(9, 5_000, end());
    cfg.collect_truth = false;
    let (mut conn, _t) = make(&cfg);
    let max_before = count(&conn, "SELECT MAX(id) FROM run_events");
    let runs_before = count(&conn, "SELECT COUNT(*) FROM runs");
    let at = end() + chrono::Duration::hours(2);
    let n = append_events(&mut conn, 1, 3_000, at).unwrap();
    assert!((3_000..3_300).contains(&n), "{n}");
    assert_eq!(
        count(
            &conn,
            &format!("SELECT COUNT(*) FROM run_events WHERE id > {max_before}")
        ),
        n
    );
    let at_ms = at.timestamp_millis();
    let mut stmt = conn
        .prepare(&format!(
            "SELECT timestamp FROM run_events WHERE id > {max_before}"
        ))
        .unwrap();
    for ts in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        let ms = parse_ts(&ts.unwrap());
        assert!(ms > at_ms - 3_600_000 && ms <= at_ms, "{ms}");
    }
    drop(stmt);
    assert!(count(&conn, "SELECT COUNT(*) FROM runs") > runs_before);
    assert_eq!(
        count(
            &conn,
            &format!(
                "SELECT COUNT(*) FROM runs WHERE status != 'completed' AND id IN \
                 (SELECT run_id FROM run_events WHERE id > {max_before})"
            )
        ),
        0
    );
    // Same seed again appends new, distinct runs; tiny appends work.
    let n2 = append_events(&mut conn, 1, 3_000, at).unwrap();
    assert!(n2 >= 3_000);
    assert!(append_events(&mut conn, 1, 1, at).unwrap() >= 1);
    assert_eq!(append_events(&mut conn, 1, 0, at).unwrap(), 0);
}

#[test]
fn invalid_config_is_an_error() {
    let mut cfg = SynthConfig::new(1, 100, end());
    cfg.days = 0;
    let mut conn = Connection::open_in_memory().unwrap();
    assert!(generate(&mut conn, &cfg).is_err());
}
