//! The synthetic generator's ground truth against the analysis, and the index's incremental
//! correctness: a restarted index that catches up on appended events answers exactly like a
//! fresh one built over everything.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use selfheal_app::args::{DetectArgs, ToolArgs};
use selfheal_app::{App, Clock, Config};
use selfheal_store::index::IndexLocation;
use selfheal_synth::{SynthConfig, append_events, generate};
use selfheal_tests::{app, quiet};

fn whole_history(begin_ms: i64) -> DetectArgs {
    DetectArgs {
        detail: selfheal_app::args::Detail::Full,
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
    // The generator plants families by the error_type it records; the analysis keys patterns
    // by cause (class × tool, and program for shell tools), so families of one cause on one
    // tool land in the same patterns. Compare per (class, tool).
    type Key = (String, String);
    let mut planted: BTreeMap<Key, (u64, u64)> = BTreeMap::new();
    for p in &truth.patterns {
        let slot = planted
            .entry((p.expected_class.clone(), p.tool.clone()))
            .or_default();
        slot.0 += p.occurrences;
        slot.1 += p.recovered;
    }
    let mut found: BTreeMap<Key, (u64, u64)> = BTreeMap::new();
    for p in &view.patterns {
        let slot = found
            .entry((p.error_type.clone(), p.tool_name.clone()))
            .or_default();
        slot.0 += p.occurrences;
        slot.1 += p.recovery.recovered;
        let id = match &p.program {
            Some(program) => format!("{}:{}:{program}", p.error_type, p.tool_name),
            None => format!("{}:{}", p.error_type, p.tool_name),
        };
        assert_eq!(p.id, id, "ids are <class>:<tool>[:<program>]");
    }
    // A family's messages mostly share its cause; some name another one (a malformed glob
    // under a generic `tool_error` family is invalid input), so the class of each family is
    // checked for its bulk, and the counts exactly per tool.
    let per_tool = |m: &BTreeMap<Key, (u64, u64)>| -> BTreeMap<String, (u64, u64)> {
        let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for ((_, tool), (n, r)) in m {
            let slot = out.entry(tool.clone()).or_default();
            slot.0 += n;
            slot.1 += r;
        }
        out
    };
    let (planted_tools, found_tools) = (per_tool(&planted), per_tool(&found));
    assert_eq!(
        found_tools.keys().collect::<Vec<_>>(),
        planted_tools.keys().collect::<Vec<_>>()
    );
    for (tool, (occurrences, recovered_any_later_success)) in &planted_tools {
        let (n, recovered) = found_tools[tool];
        assert_eq!(n, *occurrences, "{tool}");
        // The truth counts a failure recovered when any later call of its tool succeeded;
        // retry evidence needs the same call (same arguments), a subset of those.
        assert!(
            recovered <= *recovered_any_later_success,
            "{tool}: {recovered} > {recovered_any_later_success}"
        );
    }
    // Families planted under a generic label (`tool_error`, `Unknown`) mix causes on purpose.
    for (key, (occurrences, _)) in planted
        .iter()
        .filter(|((class, _), _)| class != "tool_error" && class != "Unknown")
    {
        let (n, _) = found.get(key).copied().unwrap_or_default();
        assert!(
            n as f64 >= 0.8 * *occurrences as f64,
            "{key:?}: {n} of {occurrences} in the family's class"
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
                cursor: None,
                detail: selfheal_app::args::Detail::Full,
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
        import_paths: Vec::new(),
        policy_file: None,
        pause_file: None,
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
