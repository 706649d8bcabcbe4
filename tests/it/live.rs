//! A live agent writing to the run history while the analysis reads: the writer sees no errors
//! and loses no writes, the reader sees no errors, and the index ends up with every event.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use selfheal_app::args::{DetectArgs, ToolArgs};
use selfheal_tests::{PLANT_NOW, app, ms, plant, quiet};

#[test]
fn a_live_writer_and_the_analysis_do_not_disturb_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), 1);
    let app = app(&db, ms(PLANT_NOW));
    let tools = || {
        app.compute_tool_reliability(
            &ToolArgs {
                cursor: None,
                detail: selfheal_app::args::Detail::Full,
                since: "-1h".into(),
                tool_name: Some("live_tool".into()),
                limit: 10,
            },
            &mut quiet(),
        )
        .unwrap()
    };
    assert!(tools().tools.is_empty());

    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let db = db.clone();
        let done = done.clone();
        std::thread::spawn(move || -> usize {
            // The agent's own connection, as an agent would open it.
            let mut conn = rusqlite::Connection::open(&db).unwrap();
            conn.busy_timeout(Duration::from_secs(10)).unwrap();
            let mut written = 0;
            for batch in 0..60 {
                let tx = conn.transaction().unwrap();
                for i in 0..25 {
                    let failed = (batch * 25 + i) % 5 == 0;
                    let data = format!(
                        r#"{{"type":"tool_complete","name":"live_tool","result":"{}","duration":12,"is_error":{failed}}}"#,
                        if failed { "connection refused" } else { "ok" }
                    );
                    tx.execute(
                        "INSERT INTO run_events(run_id, step_index, event_type, event_data, timestamp) VALUES ('live-run', ?1, 'tool_complete', ?2, '2026-11-20 11:59:00')",
                        rusqlite::params![written as i64, data],
                    )
                    .unwrap();
                    written += 1;
                }
                tx.commit().unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
            done.store(true, Ordering::SeqCst);
            written
        })
    };
    let mut reads = 0;
    while !done.load(Ordering::SeqCst) {
        app.detect_failure_patterns(&DetectArgs::default(), &mut quiet())
            .unwrap();
        tools();
        reads += 1;
    }
    let written = writer.join().unwrap();
    assert!(reads > 1, "reads overlapped the writes");
    let t = tools();
    let live = &t.tools[0];
    assert_eq!(
        live.total_calls, written as u64,
        "every written event is indexed"
    );
    assert_eq!(live.failed_calls, written as u64 / 5);
}
