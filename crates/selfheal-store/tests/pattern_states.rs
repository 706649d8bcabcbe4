//! What `detect` lists for a pattern comes from the stored per-hour and per-day states; it
//! must equal what the failures themselves say, for windows cut anywhere (mid-day, mid-hour),
//! after a catch-up in many batches and an incremental one (retry evidence arriving late).

use std::collections::HashMap;

use chrono::{TimeZone, Utc};
use rusqlite::Connection;
use selfheal_core::classify::FailureClass;
use selfheal_core::pattern::{PatternFilter, Recovery};
use selfheal_core::retry::RetryState;
use selfheal_core::time::{Window, format_ms};
use selfheal_store::Store;
use selfheal_store::index::IndexLocation;
use selfheal_store::query::StatePlan;
use selfheal_synth::{SynthConfig, append_events, generate};

/// One failure as the index holds it.
struct Row {
    pattern: u32,
    run: u32,
    ts: i64,
    template: u32,
    class: i64,
    retry: i64,
}

#[derive(Default)]
struct Truth {
    occurrences: u64,
    first: i64,
    last: i64,
    runs: HashMap<u32, i64>,
    templates: HashMap<u32, u64>,
    classes: HashMap<i64, u64>,
    retry: [u64; 5],
}

fn truth(rows: &[Row], w: Window) -> HashMap<u32, Truth> {
    let mut out: HashMap<u32, Truth> = HashMap::new();
    for r in rows.iter().filter(|r| r.ts >= w.from_ms && r.ts <= w.to_ms) {
        let t = out.entry(r.pattern).or_default();
        if t.occurrences == 0 {
            (t.first, t.last) = (r.ts, r.ts);
        }
        t.occurrences += 1;
        t.first = t.first.min(r.ts);
        t.last = t.last.max(r.ts);
        let last = t.runs.entry(r.run).or_insert(r.ts);
        *last = (*last).max(r.ts);
        *t.templates.entry(r.template).or_default() += 1;
        *t.classes.entry(r.class).or_default() += 1;
        t.retry[r.retry as usize] += 1;
    }
    out
}

#[test]
fn listed_facts_from_stored_states_equal_the_failures() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let end = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
    let mut conn = Connection::open(&db).unwrap();
    let truth_cfg = generate(&mut conn, &SynthConfig::new(7, 60_000, end)).unwrap();
    let index = dir.path().join("index.sqlite");
    let store = Store::open(&db, Some(IndexLocation::File(index.clone()))).unwrap();
    store.refresh(&mut |_, _| {}).unwrap();
    // Appended events continue open runs: their retries settle failures indexed before.
    append_events(&mut conn, 3, 3_000, end + chrono::Duration::minutes(20)).unwrap();
    store.refresh(&mut |_, _| {}).unwrap();

    let raw = Connection::open(&index).unwrap();
    let rows: Vec<Row> = raw
        .prepare("SELECT pattern, run, ts, template, class, retry FROM failures WHERE outcome = 1")
        .unwrap()
        .query_map([], |r| {
            Ok(Row {
                pattern: r.get(0)?,
                run: r.get(1)?,
                ts: r.get(2)?,
                template: r.get(3)?,
                class: r.get(4)?,
                retry: r.get(5)?,
            })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let run_names: HashMap<u32, String> = raw
        .prepare("SELECT key, run_id FROM runs")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(rows.len() > 1_000, "{} failures", rows.len());
    assert!(
        rows.iter()
            .any(|r| r.retry == RetryState::Recovered.code() as i64),
        "some failures were recovered"
    );

    let begin = truth_cfg.begin.timestamp_millis();
    let stop = end.timestamp_millis() + 3_600_000;
    const H: i64 = 3_600_000;
    let windows = [
        Window {
            from_ms: begin - 60_000,
            to_ms: stop,
        },
        // Partial days and partial hours at both ends.
        Window {
            from_ms: begin + 37 * 60_000 + 13_000,
            to_ms: stop - 2 * H - 5 * 60_000 - 7,
        },
        Window {
            from_ms: begin + 26 * H + 1,
            to_ms: begin + 30 * H + 59 * 60_000,
        },
        // Within one hour.
        Window {
            from_ms: stop - 3 * H + 60_000,
            to_ms: stop - 3 * H + 50 * 60_000,
        },
    ];
    for (w, plan) in windows
        .iter()
        .flat_map(|w| [(*w, StatePlan::Stored), (*w, StatePlan::Scan)])
    {
        let found = store
            .read(|r| r.detect_planned(w, &PatternFilter::everything(), None, 100_000, plan))
            .unwrap();
        let expected = truth(&rows, w);
        assert_eq!(found.patterns.len(), expected.len(), "{w:?}");
        assert_eq!(
            found.failures_in_window,
            expected.values().map(|t| t.occurrences).sum::<u64>()
        );
        for p in &found.patterns {
            let key: u32 = raw
                .query_row("SELECT key FROM patterns WHERE name = ?1", [&p.id], |r| {
                    r.get(0)
                })
                .unwrap();
            let t = &expected[&key];
            let ctx = format!("{} in {w:?} ({plan:?})", p.id);
            assert_eq!(p.occurrences, t.occurrences, "{ctx}");
            assert_eq!(p.first_seen, format_ms(t.first), "{ctx}");
            assert_eq!(p.last_seen, format_ms(t.last), "{ctx}");
            assert_eq!(p.affected_run_count, t.runs.len() as u64, "{ctx}");
            let mut runs: Vec<(u32, i64)> = t.runs.iter().map(|(r, ts)| (*r, *ts)).collect();
            runs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let latest: Vec<String> = runs
                .iter()
                .take(10)
                .map(|(r, _)| run_names[r].clone())
                .collect();
            assert_eq!(p.affected_runs, latest, "{ctx}");
            let mut templates: Vec<(u32, u64)> =
                t.templates.iter().map(|(k, n)| (*k, *n)).collect();
            templates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let listed: Vec<(u32, u64)> = p
                .templates
                .iter()
                .map(|t| (t.template_id, t.count))
                .collect();
            assert_eq!(
                listed,
                templates.iter().take(5).copied().collect::<Vec<_>>(),
                "{ctx}"
            );
            assert_eq!(
                p.templates_omitted,
                templates.len().saturating_sub(5) as u64,
                "{ctx}"
            );
            assert_eq!(p.recovery, Recovery::from_counts(&t.retry), "{ctx}");
            let class = FailureClass::parse(&p.error_type).unwrap().code() as i64;
            assert_eq!(
                p.classification.share,
                round4(t.classes[&class] as f64 / t.occurrences as f64),
                "{ctx}"
            );
            assert_eq!(
                p.daily.iter().map(|d| d.count).sum::<u64>(),
                t.occurrences,
                "{ctx}"
            );
        }
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
