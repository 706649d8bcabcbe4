//! Acceptance on an independent planted history (tests/fixtures/plant_history.py): every
//! planted pattern found with its exact count and class, noise and out-of-window patterns
//! absent, per-tool and per-agent counts equal to plain SQL, stalled runs exact — on the
//! SQLite file and on a copy of it in PostgreSQL (when `SELFHEAL_PG_URL` names a server).

use std::collections::{BTreeMap, BTreeSet};

use selfheal_app::args::{AgentArgs, DetectArgs, StalledArgs, ToolArgs};
use selfheal_tests::{PLANT_NOW, app, ms, on_each_engine, plant, quiet};

#[test]
fn planted_patterns_are_found_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (db, truth) = plant(dir.path(), 1);
    for on in on_each_engine(&db) {
        eprintln!("engine: {}", on.engine);
        let app = app(&on.db, ms(PLANT_NOW));
        let view = app
            .detect_failure_patterns(
                &DetectArgs {
                    detail: selfheal_app::args::Detail::Full,
                    limit: 20,
                    ..DetectArgs::default()
                },
                &mut quiet(),
            )
            .unwrap();

        let expected: BTreeMap<String, &serde_json::Value> = truth["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_str().unwrap().to_string(), p))
            .collect();
        let found: BTreeSet<String> = view.patterns.iter().map(|p| p.id.clone()).collect();
        assert_eq!(
            found,
            expected.keys().cloned().collect::<BTreeSet<_>>(),
            "{view:#?}"
        );
        for p in &view.patterns {
            let t = expected[&p.id];
            assert_eq!(
                p.occurrences,
                t["occurrences"].as_u64().unwrap(),
                "{}",
                p.id
            );
            assert_eq!(
                p.affected_run_count,
                t["affected_runs"].as_u64().unwrap(),
                "{}",
                p.id
            );
            // The seed's contract: affected_runs lists run ids (capped, most recent first).
            let listed: BTreeSet<&str> = p.affected_runs.iter().map(String::as_str).collect();
            let truth_runs: BTreeSet<&str> = t["affected_run_ids"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r.as_str())
                .collect();
            assert!(listed.is_subset(&truth_runs), "{}", p.id);
            assert_eq!(
                listed.len() as u64,
                p.affected_run_count
                    .min(selfheal_core::pattern::RUN_SAMPLE_CAP as u64)
            );
            // Retry evidence from arguments: the same call succeeding within 10 calls of the run.
            assert_eq!(
                p.recovery.recovered,
                t["recovered_by_retry"].as_u64().unwrap(),
                "{}: {:?}",
                p.id,
                p.recovery
            );
            assert_eq!(p.recovery.evidence, "available", "{}", p.id);
            let acceptable: Vec<&str> = t["acceptable_classes"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|c| c.as_str())
                .collect();
            assert!(
                acceptable.contains(&p.classification.class.as_str()),
                "{}: {:?}",
                p.id,
                p.classification
            );
            assert!(!p.templates.is_empty() && !p.suggested_fix.is_empty());
        }
        for absent in truth["absent_pattern_ids"].as_array().unwrap() {
            assert!(
                !found.contains(absent.as_str().unwrap()),
                "{absent} must be absent"
            );
        }
        assert_eq!(
            view.data.skipped_events,
            truth["malformed_events_in_window"].as_u64().unwrap()
        );
        assert_eq!(view.window.from, truth["window"]["from"].as_str().unwrap());
    }
}

#[test]
fn ids_in_the_recorded_type_style_resolve_to_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let (db, truth) = plant(dir.path(), 1);
    for on in on_each_engine(&db) {
        eprintln!("engine: {}", on.engine);
        let app = app(&on.db, ms(PLANT_NOW));
        for t in truth["patterns"].as_array().unwrap() {
            let Some(legacy) = t["legacy_id"].as_str() else {
                continue;
            };
            let view = app
                .get_pattern(
                    &selfheal_app::args::PatternArgs {
                        detail: selfheal_app::args::Detail::Full,
                        pattern_id: legacy.into(),
                        since: "-7d".into(),
                        samples: 3,
                    },
                    &mut quiet(),
                )
                .unwrap();
            assert_eq!(view.pattern.id, t["id"].as_str().unwrap());
            let resolved = view.resolved_from.expect("says it resolved an old id");
            assert_eq!(resolved.requested_id, legacy);
            assert_eq!(resolved.patterns[0].id, t["id"].as_str().unwrap());
            assert_eq!(view.pattern.occurrences, t["occurrences"].as_u64().unwrap());
        }
    }
}

#[test]
fn tool_and_agent_counts_equal_plain_sql() {
    let dir = tempfile::tempdir().unwrap();
    let (db, truth) = plant(dir.path(), 2);
    for on in on_each_engine(&db) {
        eprintln!("engine: {}", on.engine);
        let app = app(&on.db, ms(PLANT_NOW));
        let tools = app
            .compute_tool_reliability(
                &ToolArgs {
                    cursor: None,
                    detail: selfheal_app::args::Detail::Full,
                    since: "-7d".into(),
                    tool_name: None,
                    limit: 500,
                },
                &mut quiet(),
            )
            .unwrap();

        // Plain SQL over the same file, independent of the index.
        let conn = rusqlite::Connection::open(&db).unwrap();
        let (from, to) = (
            truth["window"]["from"].as_str().unwrap(),
            truth["window"]["to"].as_str().unwrap(),
        );
        let mut stmt = conn
            .prepare(
                "SELECT COALESCE(json_extract(event_data, '$.name'), json_extract(event_data, '$.tool_name')) AS tool,
                        COUNT(*),
                        SUM(CASE WHEN json_extract(event_data, '$.is_error') IN (1, 'true') THEN 1 ELSE 0 END)
                 FROM run_events
                 WHERE event_type = 'tool_complete' AND json_valid(event_data) AND json_type(event_data) = 'object'
                   AND julianday(timestamp) BETWEEN julianday(?1) AND julianday(?2)
                 GROUP BY tool",
            )
            .unwrap();
        let sql: BTreeMap<String, (u64, u64)> = stmt
            .query_map([from, to], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    (r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64),
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let ours: BTreeMap<String, (u64, u64)> = tools
            .tools
            .iter()
            .map(|t| (t.name.clone(), (t.total_calls, t.failed_calls)))
            .collect();
        assert_eq!(ours, sql);
        let planted: BTreeMap<String, (u64, u64)> = truth["tool_calls_in_window"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    (v["total"].as_u64().unwrap(), v["failed"].as_u64().unwrap()),
                )
            })
            .collect();
        assert_eq!(ours, planted);

        let agents = app
            .compute_agent_metrics(
                &AgentArgs {
                    since: "-7d".into(),
                    agent: None,
                },
                &mut quiet(),
            )
            .unwrap();
        let ours: BTreeMap<String, (u64, u64, u64)> = agents
            .agents
            .iter()
            .map(|a| {
                (
                    a.name.clone(),
                    (a.total_runs, a.completed_runs, a.failed_runs),
                )
            })
            .collect();
        let planted: BTreeMap<String, (u64, u64, u64)> = truth["runs_by_agent_in_window"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    (
                        v["total"].as_u64().unwrap(),
                        v["completed"].as_u64().unwrap(),
                        v["failed"].as_u64().unwrap(),
                    ),
                )
            })
            .collect();
        assert_eq!(ours, planted);
    }
}

#[test]
fn stalled_runs_are_exactly_the_stalled_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (db, truth) = plant(dir.path(), 3);
    for on in on_each_engine(&db) {
        eprintln!("engine: {}", on.engine);
        let app = app(&on.db, ms(PLANT_NOW));
        let view = app
            .detect_stalled_runs(&StalledArgs::default(), &mut quiet())
            .unwrap();
        let ours: BTreeSet<&str> = view.stalled.iter().map(|s| s.run_id.as_str()).collect();
        let planted: BTreeSet<&str> = truth["stalled_runs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str())
            .collect();
        assert_eq!(ours, planted);
        for live in truth["live_running_runs"].as_array().unwrap() {
            assert!(!ours.contains(live.as_str().unwrap()));
        }
    }
}

#[test]
fn repeated_calls_index_nothing_new_and_answer_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), 4);
    for on in on_each_engine(&db) {
        eprintln!("engine: {}", on.engine);
        let app = app(&on.db, ms(PLANT_NOW));
        let first = app
            .detect_failure_patterns(
                &DetectArgs {
                    detail: selfheal_app::args::Detail::Full,
                    limit: 20,
                    ..DetectArgs::default()
                },
                &mut quiet(),
            )
            .unwrap();
        let second = app
            .detect_failure_patterns(
                &DetectArgs {
                    detail: selfheal_app::args::Detail::Full,
                    limit: 20,
                    ..DetectArgs::default()
                },
                &mut quiet(),
            )
            .unwrap();
        assert!(first.data.events_indexed_now > 0);
        assert_eq!(second.data.events_indexed_now, 0);
        assert_eq!(first.patterns, second.patterns);
    }
}

#[test]
fn analysis_never_writes_the_run_history() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), 5);
    let before = std::fs::read(&db).unwrap();
    let app = app(&db, ms(PLANT_NOW));
    app.detect_failure_patterns(&DetectArgs::default(), &mut quiet())
        .unwrap();
    app.get_health_dashboard(&selfheal_app::args::DashboardArgs::default(), &mut quiet())
        .unwrap();
    app.detect_stalled_runs(&StalledArgs::default(), &mut quiet())
        .unwrap();
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the file's bytes are unchanged"
    );
    let siblings: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("planted.sqlite-"))
        .collect();
    assert!(
        siblings.is_empty(),
        "no journal or WAL files appeared: {siblings:?}"
    );
}
