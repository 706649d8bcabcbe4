//! PostgreSQL as the run history: the same histories written through the importer into
//! both engines answer alike; writers racing a catch-up lose no event; a reader never
//! creates tables; connection strings never show their password; the lifecycle runs there as
//! on SQLite, two servers applying one improvement apply it once, and one healer holds the
//! team's lock. Each test makes its own database on `SELFHEAL_PG_URL` (skipped visibly
//! when unset; `SELFHEAL_REQUIRE_PG=1` makes that a failure).

use std::path::{Path, PathBuf};

use selfheal_app::args::{DashboardArgs, Detail, DetectArgs, PatternArgs, ToolArgs};
use selfheal_import::writer::Writer;
use selfheal_import::{Importer, Options};
use selfheal_store::Database;
use selfheal_tests::{PgDatabase, app, ms, quiet, workspace_root};

const NOW: &str = "2026-12-01T00:00:00Z";

/// Real transcripts of every harness the repository keeps, and the importer's fixtures.
fn histories() -> Vec<PathBuf> {
    let root = workspace_root();
    vec![
        root.join("tests/data/claude-code-2.1.328"),
        root.join("tests/data/codex-0.169.0"),
        root.join("tests/data/gemini-cli-0.61.0"),
        root.join("tests/data/copilot-1.0.102"),
        root.join("crates/selfheal-import/tests/fixtures"),
    ]
}

fn import(writer: Writer) -> selfheal_import::Summary {
    let mut importer = Importer::with_writer(writer, Options::default());
    importer.import(&histories(), &mut |_| {}).unwrap()
}

/// Every analysis answer, as JSON, for one history.
fn answers(db: &Path) -> Vec<(String, serde_json::Value)> {
    let app = app(db, ms(NOW));
    let since = "3650d".to_string();
    let detect = app
        .detect_failure_patterns(
            &DetectArgs {
                since: since.clone(),
                detail: Detail::Full,
                min_occurrences: 1,
                limit: 100,
                ..DetectArgs::default()
            },
            &mut quiet(),
        )
        .unwrap();
    let mut out = vec![("detect".to_string(), serde_json::to_value(&detect).unwrap())];
    for p in &detect.patterns {
        let view = app
            .get_pattern(
                &PatternArgs {
                    detail: Detail::Full,
                    pattern_id: p.id.clone(),
                    since: since.clone(),
                    samples: 5,
                },
                &mut quiet(),
            )
            .unwrap();
        out.push((
            format!("get_pattern {}", p.id),
            serde_json::to_value(&view).unwrap(),
        ));
    }
    let tools = app
        .compute_tool_reliability(
            &ToolArgs {
                cursor: None,
                detail: Detail::Full,
                since: since.clone(),
                tool_name: None,
                limit: 500,
            },
            &mut quiet(),
        )
        .unwrap();
    out.push(("tools".into(), serde_json::to_value(&tools).unwrap()));
    let dashboard = app
        .get_health_dashboard(
            &DashboardArgs {
                since,
                detailed: true,
                detail: Detail::Full,
            },
            &mut quiet(),
        )
        .unwrap();
    out.push((
        "dashboard".into(),
        serde_json::to_value(&dashboard).unwrap(),
    ));
    out
}

#[test]
fn histories_imported_into_both_engines_answer_alike() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("history.sqlite");
    let lite = import(Writer::open(&file).unwrap());
    let open_pg = || selfheal_postgres::open_writer(&Database::Postgres(pg.url.clone())).unwrap();
    let remote = import(open_pg());
    assert!(lite.calls_added > 30, "{lite:?}");
    assert_eq!(
        (
            remote.calls_added,
            remote.failed_calls_added,
            remote.runs_new,
            remote.events_added
        ),
        (
            lite.calls_added,
            lite.failed_calls_added,
            lite.runs_new,
            lite.events_added
        )
    );
    // Imported again: nothing new, on PostgreSQL as on SQLite.
    let again = import(open_pg());
    assert_eq!((again.calls_added, again.events_added), (0, 0), "{again:?}");

    let (a, b) = (answers(&file), answers(Path::new(&pg.url)));
    assert!(a[0].1["patterns"].as_array().is_some_and(|p| !p.is_empty()));
    assert_eq!(a.len(), b.len());
    for ((name, lite), (_, remote)) in a.iter().zip(&b) {
        assert_eq!(lite, remote, "{name} differs between SQLite and PostgreSQL");
    }
}

#[test]
fn writers_racing_a_catch_up_lose_no_event() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    use selfheal_import::model::{CallEnd, CallStart, Format, Record};
    use selfheal_import::writer::Batch;
    drop(selfheal_postgres::connect_migrated(&pg.url).unwrap());
    let store = selfheal_store::Store::with_history(
        Box::new(selfheal_postgres::history::PgHistory::open(&pg.url).unwrap()),
        selfheal_store::index::IndexLocation::Memory(format!("race-{}", std::process::id())),
    )
    .unwrap();
    let base = ms(NOW) - 3_600_000;
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let url = pg.url.clone();
            std::thread::spawn(move || {
                let mut writer = selfheal_postgres::open_writer(&Database::Postgres(url)).unwrap();
                for b in 0..20 {
                    let mut records = Vec::new();
                    for c in 0..50 {
                        let run_id = format!("otel:w{w}-b{}", b % 4);
                        let call_id = format!("{w}-{b}-{c}");
                        let at = base + (b * 50 + c) as i64;
                        records.push(Record::Start(CallStart {
                            run_id: run_id.clone(),
                            call_id: call_id.clone(),
                            tool: "Bash".into(),
                            arguments: r#"{"command":"pytest"}"#.into(),
                            at_ms: Some(at),
                        }));
                        records.push(Record::End(CallEnd {
                            run_id,
                            call_id,
                            tool: Some("Bash".into()),
                            result: "pytest: command not found".into(),
                            is_error: c % 3 == 0,
                            at_ms: Some(at + 1),
                            ..CallEnd::default()
                        }));
                    }
                    writer
                        .apply(&Batch {
                            format: Format::Otel,
                            source_file: None,
                            fallback_ms: base,
                            records: &records,
                            file: None,
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    // Catch-ups while the writers commit: each reads up to the highest id it sees.
    let mut read = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        read += store.refresh(&mut |_, _| {}).unwrap().events_read;
    }
    for w in writers {
        w.join().unwrap();
    }
    read += store.refresh(&mut |_, _| {}).unwrap().events_read;
    assert_eq!(read, 3 * 20 * 50 * 2, "every event indexed once");
}

#[test]
fn a_reader_never_creates_tables_and_never_shows_the_password() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    // An application's database without our tables (a DATABASE_URL meant for something else).
    let e = selfheal_postgres::history::PgHistory::open(&pg.url)
        .expect_err("refused")
        .to_string();
    assert!(e.contains("self-heal init"), "{e}");
    let mut client = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "reading created nothing");

    // Through the app, as a server reports it: the name shown, the password never.
    // A password of our own in the URL (the test cluster trusts loopback, so any works):
    // every assertion below is about it.
    let password = "hunter2secret";
    let (scheme, rest) = pg.url.split_once("://").unwrap();
    let (userinfo, host) = rest.split_once('@').unwrap();
    let user = userinfo.split(':').next().unwrap();
    let url_db = format!("{scheme}://{user}:{password}@{host}");
    let app = app(Path::new(&url_db), ms(NOW));
    let e = app
        .detect_failure_patterns(&DetectArgs::default(), &mut quiet())
        .expect_err("no tables yet")
        .to_string();
    assert!(e.contains("self-heal init"), "{e}");
    assert!(!e.contains(password), "{e}");
    // A database that does not exist, and a port nobody listens on.
    for bad in [
        url_db.replace(
            &format!("/{}", url_db.rsplit('/').next().unwrap()),
            "/no_such_db",
        ),
        "postgres://u:hunter2secret@127.0.0.1:1/agents".to_string(),
    ] {
        let e = app_error(&bad);
        assert!(!e.contains(password), "{e}");
        assert!(e.contains("PostgreSQL database"), "{e}");
    }
    // TLS asked for: refused, saying the client does not speak it.
    let e = app_error(&format!("{url_db}?sslmode=require"));
    assert!(e.contains("without TLS"), "{e}");
}

fn app_error(url: &str) -> String {
    app(Path::new(url), ms(NOW))
        .detect_failure_patterns(&DetectArgs::default(), &mut quiet())
        .expect_err("an unusable database is an error")
        .to_string()
}

const SHIFT: &str = "2026-11-13T12:00:00Z";

/// The independent shift fixture (tests/fixtures/plant_shift.py): `timeout:fetch_url` falls
/// at SHIFT, `connection_refused:query_db` rises.
fn plant_shift(dir: &Path) -> PathBuf {
    let db = dir.join("shift.sqlite");
    let out = std::process::Command::new("python3")
        .arg(workspace_root().join("tests/fixtures/plant_shift.py"))
        .args(["--db", db.to_str().unwrap(), "--truth"])
        .arg(dir.join("truth.json"))
        .args([
            "--now",
            selfheal_tests::PLANT_NOW,
            "--shift",
            SHIFT,
            "--seed",
            "1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

fn args<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// propose → test → apply at SHIFT → verify, on one engine; the improvement as stored.
fn lifecycle_of(app: &selfheal_app::App, pattern: &str) -> serde_json::Value {
    let p = app
        .propose_improvement(
            &args(serde_json::json!({"pattern_id": pattern, "since": "-21d"})),
            &mut quiet(),
        )
        .unwrap();
    let id = p.improvement_id.clone();
    app.test_improvement(
        &args(serde_json::json!({"improvement_id": id, "mode": "simulation"})),
        &mut quiet(),
    )
    .unwrap();
    app.apply_improvement(
        &args(
            serde_json::json!({"improvement_id": id, "changes_made": "fix", "applied_at": SHIFT}),
        ),
        &mut quiet(),
    )
    .unwrap();
    app.verify_improvement(
        &args(serde_json::json!({"improvement_id": id, "measurement_window_days": 7})),
        &mut quiet(),
    )
    .unwrap();
    let got = app
        .get_improvement(
            &args(serde_json::json!({"improvement_id": id})),
            &mut quiet(),
        )
        .unwrap();
    serde_json::to_value(got).unwrap()
}

#[test]
fn the_lifecycle_runs_on_postgres_as_on_sqlite() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = plant_shift(dir.path());
    selfheal_postgres::copy::copy_sqlite_history(&db, &pg.url, 0).unwrap();
    let now = ms(selfheal_tests::PLANT_NOW);
    let (lite, remote) = (app(&db, now), app(Path::new(&pg.url), now));
    for (pattern, status) in [
        ("timeout:fetch_url", "verified"),
        ("connection_refused:query_db", "applied"),
    ] {
        let (a, b) = (lifecycle_of(&lite, pattern), lifecycle_of(&remote, pattern));
        assert_eq!(b["status"], status, "{b}");
        // The same verification, whichever engine keeps the lifecycle.
        for field in [
            "status",
            "verification",
            "applied_at",
            "verified_at",
            "pattern_id",
        ] {
            assert_eq!(a[field], b[field], "{pattern}: {field}");
        }
        let actions = |v: &serde_json::Value| -> Vec<String> {
            v["audit"].as_array().map_or_else(Vec::new, |a| {
                a.iter()
                    .map(|e| e["action"].as_str().unwrap_or("").to_string())
                    .collect()
            })
        };
        assert_eq!(actions(&a), actions(&b), "{pattern}");
        if status == "applied" {
            // The regression is rolled back, on both engines alike.
            for (app, v) in [(&lite, &a), (&remote, &b)] {
                let id = v["id"].as_str().unwrap();
                let r = app
                    .rollback_improvement(
                        &args(serde_json::json!({"improvement_id": id, "reason": "regressed"})),
                        &mut quiet(),
                    )
                    .unwrap();
                assert_eq!(serde_json::to_value(r).unwrap()["status"], "rolled_back");
            }
        }
    }
    // The healing numbers and the dashboard read the shared lifecycle.
    let report = remote
        .get_healing_report(&args(serde_json::json!({"since": "-30d"})), &mut quiet())
        .unwrap();
    let report = serde_json::to_value(report).unwrap();
    assert!(report.to_string().contains("verified"), "{report}");
    let listed = remote
        .list_improvements(&args(serde_json::json!({})), &mut quiet())
        .unwrap();
    assert_eq!(
        serde_json::to_value(listed).unwrap()["improvements"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn two_servers_applying_one_improvement_apply_it_once() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = plant_shift(dir.path());
    selfheal_postgres::copy::copy_sqlite_history(&db, &pg.url, 0).unwrap();
    let now = ms(selfheal_tests::PLANT_NOW);
    let servers = [app(Path::new(&pg.url), now), app(Path::new(&pg.url), now)];
    let p = servers[0]
        .propose_improvement(
            &args(serde_json::json!({"pattern_id": "timeout:fetch_url", "since": "-21d"})),
            &mut quiet(),
        )
        .unwrap();
    let id = p.improvement_id.clone();
    servers[0]
        .test_improvement(
            &args(serde_json::json!({"improvement_id": id, "mode": "simulation"})),
            &mut quiet(),
        )
        .unwrap();
    // The second server refuses a second proposal for the pattern: the lifecycle is shared.
    let e = servers[1]
        .propose_improvement(
            &args(serde_json::json!({"pattern_id": "timeout:fetch_url", "since": "-21d"})),
            &mut quiet(),
        )
        .expect_err("one open improvement per pattern")
        .to_string();
    assert!(e.contains(&id), "{e}");
    let barrier = std::sync::Barrier::new(2);
    let results: Vec<Result<String, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = servers
            .iter()
            .map(|server| {
                let (barrier, id) = (&barrier, &id);
                s.spawn(move || {
                    barrier.wait();
                    server
                        .apply_improvement(
                            &args(serde_json::json!({"improvement_id": id, "changes_made": "fix"})),
                            &mut quiet(),
                        )
                        .map(|v| serde_json::to_value(v).unwrap()["status"].to_string())
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        results.iter().any(|r| r.as_deref() == Ok("\"applied\"")),
        "{results:?}"
    );
    for r in &results {
        if let Err(e) = r {
            assert!(
                e.contains("it was applied by"),
                "the other is told who did: {e}"
            );
        }
    }
    let mut client = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    let applies: i64 = client
        .query_one(
            "SELECT count(*) FROM selfheal_improvement_events WHERE improvement_id = $1 AND action = 'apply'",
            &[&id],
        )
        .unwrap()
        .get(0);
    assert_eq!(applies, 1, "applied once: {results:?}");

    // One healer for the team: the second watcher is told who holds the lock.
    let held = servers[0].try_heal_lock().unwrap();
    let e = servers[1].try_heal_lock().expect_err("held by the first");
    assert!(
        e.contains("another healer") && e.contains("self-heal healer pid"),
        "{e}"
    );
    drop(held);
    servers[1].try_heal_lock().unwrap();
}

#[test]
fn the_server_reads_database_url() {
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (db, truth) = selfheal_tests::plant(dir.path(), 1);
    selfheal_postgres::copy::copy_sqlite_history(&db, &pg.url, 0).unwrap();
    let planted: std::collections::BTreeSet<String> = truth["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    let index = dir.path().join("index");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let cmd =
            tokio::process::Command::new(selfheal_tests::bin("self-healing-mcp")).configure(|c| {
                c.env_remove("DATABASE_PATH")
                    .env("DATABASE_URL", &pg.url)
                    .env("SELFHEAL_NOW", selfheal_tests::PLANT_NOW)
                    .env("SELFHEAL_INDEX_DIR", &index)
                    .env("RUST_LOG", "warn");
            });
        let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
        let args = serde_json::json!({"detail": "full", "limit": 20});
        let result = client
            .call_tool(
                CallToolRequestParams::new("detect_failure_patterns")
                    .with_arguments(args.as_object().cloned().unwrap()),
            )
            .await
            .unwrap();
        assert_ne!(result.is_error, Some(true), "{result:?}");
        let found: std::collections::BTreeSet<String> =
            result.structured_content.unwrap()["patterns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_string())
                .collect();
        assert_eq!(found, planted);
        client.cancel().await.unwrap();
    });
}

#[test]
fn init_copies_an_sqlite_history_into_an_empty_database_only() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = selfheal_tests::plant(dir.path(), 2);
    let index = dir.path().join("index");
    let run = |args: &[&str]| {
        std::process::Command::new(selfheal_tests::bin("self-heal"))
            .args(args)
            .env_remove("DATABASE_PATH")
            .env_remove("DATABASE_URL")
            .env("SELFHEAL_NOW", selfheal_tests::PLANT_NOW)
            .env("SELFHEAL_INDEX_DIR", &index)
            .output()
            .unwrap()
    };
    let from = db.to_str().unwrap();
    let first = run(&["--db", &pg.url, "init", "--copy-from", from]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let detect = |target: &str| {
        let out = run(&["--db", target, "--json", "detect", "--since", "-7d"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // How much was indexed by this call differs (one index per database); the answer not.
        v["data"]["events_indexed_now"] = serde_json::Value::Null;
        v
    };
    assert_eq!(detect(&pg.url), detect(from));

    let again = run(&["--db", &pg.url, "init", "--copy-from", from]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already holds events"), "{err}");
    assert!(!err.contains("selfheal-test-secret"), "{err}");
    let mut client = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    let events: i64 = client
        .query_one("SELECT count(*) FROM run_events", &[])
        .unwrap()
        .get(0);
    let lite: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM run_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(events, lite, "the refused copy wrote nothing");

    let into_sqlite = run(&["--db", from, "init", "--copy-from", from]);
    assert!(!into_sqlite.status.success());
}
