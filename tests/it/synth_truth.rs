//! The synthetic generator's ground truth against the analysis, and the index's incremental
//! correctness: a restarted index that catches up on appended events answers exactly like a
//! fresh one built over everything.

use chrono::{TimeZone, Utc};
use selfheal_app::args::{DetectArgs, ToolArgs};
use selfheal_app::{App, Clock, Config};
use selfheal_store::index::IndexLocation;
use selfheal_synth::{SynthConfig, append_events, generate};
use selfheal_tests::{app, quiet};

fn whole_history(begin_ms: i64) -> DetectArgs {
    DetectArgs {
        since: selfheal_core::time::format_ms(begin_ms - 60_000),
        min_occurrences: 1,
        confidence_threshold: 0.0,
        limit: 500,
        ..DetectArgs::default()
    }
}

#[test]
fn every_planted_pattern_is_found_with_its_truth() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("synth.db");
    let end = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
    let truth = generate(
        &mut rusqlite::Connection::open(&db).unwrap(),
        &SynthConfig::new(11, 40_000, end),
    )
    .unwrap();
    let app = app(&db, end.timestamp_millis());
    let view = app
        .detect_failure_patterns(&whole_history(truth.begin.timestamp_millis()), &mut quiet())
        .unwrap();
    assert!(!truth.patterns.is_empty());
    for planted in &truth.patterns {
        let found = view
            .patterns
            .iter()
            .find(|p| p.id == planted.pattern_id)
            .unwrap_or_else(|| panic!("{} not found", planted.pattern_id));
        assert_eq!(
            found.occurrences, planted.occurrences,
            "{}",
            planted.pattern_id
        );
        assert_eq!(found.affected_runs, planted.runs, "{}", planted.pattern_id);
        assert_eq!(
            found.recovery.recovered, planted.recovered,
            "{}",
            planted.pattern_id
        );
        assert_eq!(
            found.classification.class.as_str(),
            planted.expected_class,
            "{}",
            planted.pattern_id
        );
    }
    let total: u64 = view.patterns.iter().map(|p| p.occurrences).sum();
    assert_eq!(
        total, truth.failed_calls,
        "every failure belongs to a pattern"
    );
    let tools = app
        .compute_tool_reliability(
            &ToolArgs {
                since: whole_history(truth.begin.timestamp_millis()).since,
                tool_name: None,
                limit: 500,
            },
            &mut quiet(),
        )
        .unwrap();
    for t in &tools.tools {
        assert_eq!(
            Some(&t.total_calls),
            truth.calls_by_tool.get(&t.name),
            "{}",
            t.name
        );
    }
}

#[test]
fn a_restarted_index_catches_up_incrementally_and_answers_like_a_fresh_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("synth.db");
    let end = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
    let mut conn = rusqlite::Connection::open(&db).unwrap();
    let truth = generate(&mut conn, &SynthConfig::new(5, 20_000, end)).unwrap();
    let now = end.timestamp_millis() + 3_600_000;
    let file_index = |n: &str| Config {
        db_path: db.clone(),
        inbox_path: dir.path().join("inbox"),
        index: Some(IndexLocation::File(dir.path().join(format!("{n}.sqlite")))),
        playbooks_dir: None,
        config_file: None,
    };
    let args = whole_history(truth.begin.timestamp_millis());

    let first = App::new(file_index("idx"), Clock::Fixed(now));
    let before = first.detect_failure_patterns(&args, &mut quiet()).unwrap();
    assert!(before.data.events_indexed_now >= truth.total_events);
    drop(first);

    let appended =
        append_events(&mut conn, 99, 2_000, end + chrono::Duration::minutes(30)).unwrap();
    let restarted = App::new(file_index("idx"), Clock::Fixed(now));
    let incremental = restarted
        .detect_failure_patterns(&args, &mut quiet())
        .unwrap();
    assert_eq!(
        incremental.data.events_indexed_now, appended,
        "only the new events are read"
    );

    let fresh = App::new(file_index("fresh"), Clock::Fixed(now));
    let full = fresh.detect_failure_patterns(&args, &mut quiet()).unwrap();
    assert_eq!(incremental.patterns, full.patterns);
    assert_eq!(incremental.failures_in_window, full.failures_in_window);
}
