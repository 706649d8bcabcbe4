//! Pages of the analysis lists: following `next_cursor` lists every pattern (and tool) once,
//! over the first page's window; a cursor we did not issue, one for other filters, and one
//! whose window's history changed are refused with a clear error.

use selfheal_app::AppError;
use selfheal_app::args::{DetectArgs, ToolArgs};
use selfheal_tests::{PLANT_NOW, app, ms, plant, quiet};

fn detect(cursor: Option<String>, limit: i64) -> DetectArgs {
    DetectArgs {
        min_occurrences: 1,
        confidence_threshold: 0.0,
        limit,
        cursor,
        ..DetectArgs::default()
    }
}

#[test]
fn cursors_page_through_every_pattern_and_tool_once() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), 2);
    let app = app(&db, ms(PLANT_NOW));
    let all = app
        .detect_failure_patterns(&detect(None, 500), &mut quiet())
        .unwrap();
    assert!(all.patterns.len() > 4, "{}", all.patterns.len());
    assert!(all.next_cursor.is_none());
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .detect_failure_patterns(&detect(cursor.clone(), 2), &mut quiet())
            .unwrap();
        assert_eq!(
            page.window, all.window,
            "every page is over the first page's window"
        );
        seen.extend(page.patterns.iter().map(|p| p.id.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let want: Vec<String> = all.patterns.iter().map(|p| p.id.clone()).collect();
    assert_eq!(seen, want);

    let tool_args = |cursor: Option<String>| ToolArgs {
        since: "-7d".into(),
        tool_name: None,
        limit: 1,
        detail: selfheal_app::args::Detail::Summary,
        cursor,
    };
    let whole = app
        .compute_tool_reliability(
            &ToolArgs {
                limit: 500,
                ..tool_args(None)
            },
            &mut quiet(),
        )
        .unwrap();
    let (mut tools, mut cursor) = (Vec::new(), None);
    loop {
        let page = app
            .compute_tool_reliability(&tool_args(cursor.clone()), &mut quiet())
            .unwrap();
        tools.extend(page.tools.iter().map(|t| t.name.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let want: Vec<String> = whole.tools.iter().map(|t| t.name.clone()).collect();
    assert_eq!(tools, want);
}

#[test]
fn foreign_mismatched_and_stale_cursors_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), 3);
    let app = app(&db, ms(PLANT_NOW));
    let first = app
        .detect_failure_patterns(&detect(None, 1), &mut quiet())
        .unwrap();
    let cursor = first.next_cursor.clone().unwrap();

    let err = |args: &DetectArgs| app.detect_failure_patterns(args, &mut quiet()).unwrap_err();
    for bad in ["", "page-2", "tools.v1.1.2.1.9.9.0000000000000000"] {
        let e = err(&detect(Some(bad.into()), 1));
        assert!(
            matches!(e, AppError::InvalidInput(_)) && e.to_string().contains("not a next_cursor"),
            "{bad}: {e}"
        );
    }
    let other = DetectArgs {
        min_occurrences: 2,
        ..detect(Some(cursor.clone()), 1)
    };
    assert!(err(&other).to_string().contains("other filters"));

    // A new failure in the window: the rest of the list may have moved.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "INSERT INTO run_events(run_id, step_index, event_type, event_data, timestamp)
         SELECT run_id, step_index + 10000, event_type,
                json_set(event_data, '$.call_id', 'paging-new'), timestamp
         FROM run_events
         WHERE event_type = 'tool_complete' AND json_valid(event_data)
           AND json_extract(event_data, '$.is_error')
         ORDER BY timestamp DESC LIMIT 1",
        [],
    )
    .unwrap();
    let e = err(&detect(Some(cursor), 1));
    assert!(
        matches!(e, AppError::Conflict(_)) && e.to_string().contains("stale"),
        "{e}"
    );
}
