//! The `self-heal` binary: exit codes, messages, `--json` equal to the tool's structured
//! content, `init`, `templates`, `report --html`.

use std::io::Write;
use std::process::{Command, Stdio};

use selfheal_app::args::DetectArgs;
use selfheal_tests::{PLANT_NOW, app, bin, in_terminal, ms, plant, quiet};

fn self_heal(args: &[&str], db: &std::path::Path, index: &std::path::Path) -> std::process::Output {
    Command::new(bin("self-heal"))
        .args(args)
        .env("DATABASE_PATH", db)
        .env("SELFHEAL_NOW", PLANT_NOW)
        .env("SELFHEAL_INDEX_DIR", index)
        .output()
        .unwrap()
}

#[test]
fn json_output_equals_the_structured_content() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), 1);
    let out = self_heal(
        &[
            "detect",
            "--json",
            "--since",
            "-7d",
            "--min-occurrences",
            "3",
            "--confidence",
            "0.75",
        ],
        &db,
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut view = serde_json::to_value(
        app(&db, ms(PLANT_NOW))
            .detect_failure_patterns(
                &DetectArgs {
                    // The CLI answers people: in full by default.
                    detail: selfheal_app::args::Detail::Full,
                    ..DetectArgs::default()
                },
                &mut quiet(),
            )
            .unwrap(),
    )
    .unwrap();
    // Only the count of events indexed by this very call may differ.
    view["data"]["events_indexed_now"] = cli["data"]["events_indexed_now"].clone();
    assert_eq!(cli, view);

    let text = self_heal(&["detect"], &db, dir.path());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("timeout:fetch_url") && text.contains("fix:"),
        "{text}"
    );
}

#[test]
fn errors_exit_non_zero_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let cases: [(&[&str], &str); 4] = [
        (&["detect"], "does not exist"),
        (&["detect", "--since", "yesterday"], "accepted"),
        (&["detect", "--min-occurrences", "0"], "from 1 to"),
        (&["detect", "--confidence", "2"], "from 0 to 1"),
    ];
    for (args, needle) in cases {
        let out = self_heal(args, &missing, dir.path());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    assert!(!missing.exists(), "analysis never creates the database");
}

#[test]
fn init_creates_the_run_history_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let out = self_heal(&["init"], &db, dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = self_heal(&["dashboard", "--json"], &db, dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["overall_health_score"],
        serde_json::Value::Null,
        "nothing to measure in an empty history"
    );
}

#[test]
fn templates_reads_lines_in_order() {
    let mut child = Command::new(bin("self-heal"))
        .args(["templates", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"open /a/b.txt failed: ENOENT\nconnection refused: 10.0.0.1:5432\nopen /c/d/e.txt failed: ENOENT\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0]["template_id"], v[2]["template_id"]);
    assert_ne!(v[0]["template_id"], v[1]["template_id"]);
}

#[test]
fn watch_survives_a_missing_database_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let out = self_heal(&["watch", "--once"], &missing, dir.path());
    assert!(
        out.status.success(),
        "a pass with a missing database reports and goes on"
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        line["errors"][0]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{line}"
    );

    let (db, _) = plant(dir.path(), 1);
    let child = Command::new(bin("self-heal"))
        .args(["watch", "--interval", "3600"])
        .env("DATABASE_PATH", &db)
        .env("SELFHEAL_NOW", PLANT_NOW)
        .env("SELFHEAL_INDEX_DIR", dir.path())
        .env("INBOX_PATH", dir.path().join("inbox"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let the first pass finish, then ask it to stop.
    let started = std::time::Instant::now();
    while std::fs::read_dir(dir.path().join("inbox"))
        .map(|d| d.count())
        .unwrap_or(0)
        == 0
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no inbox note from the first pass"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "watch exits cleanly on SIGTERM: {:?}",
        out.status
    );
    let report: serde_json::Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert!(
        !report["patterns_announced"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert!(
        !report["stalled_announced"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("stopping"));
}

#[test]
fn long_queries_are_bounded_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("synth.db");
    let end = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 20, 12, 0, 0).unwrap();
    selfheal_synth::generate(
        &mut rusqlite::Connection::open(&db).unwrap(),
        &selfheal_synth::SynthConfig::new(3, 40_000, end),
    )
    .unwrap();
    let out = Command::new(bin("self-heal"))
        .args(["tools", "--since", "-30d"])
        .env("DATABASE_PATH", &db)
        .env("SELFHEAL_NOW", "2026-11-20T12:00:00Z")
        .env("SELFHEAL_INDEX_DIR", dir.path())
        .env("SELFHEAL_QUERY_TIMEOUT_MS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("longer than 1 ms") && err.contains("SELFHEAL_QUERY_TIMEOUT_MS"),
        "{err}"
    );
}

/// On a terminal the analysis views carry sparklines and colour; in a pipe, with `NO_COLOR`
/// or `TERM=dumb` they carry neither, and no view ever lets a history's escape codes through.
#[test]
fn sparklines_and_colour_only_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (db, truth) = plant(dir.path(), 1);
    let pattern = truth["patterns"][0]["id"].as_str().unwrap().to_string();
    let views: [Vec<&str>; 3] = [
        vec!["detect"],
        vec!["show", &pattern],
        vec!["dashboard", "--detailed"],
    ];
    let base: Vec<(&str, &std::ffi::OsStr)> = vec![
        ("DATABASE_PATH", db.as_os_str()),
        ("SELFHEAL_NOW", PLANT_NOW.as_ref()),
        ("SELFHEAL_INDEX_DIR", dir.path().as_os_str()),
        ("TERM", "xterm-256color".as_ref()),
    ];
    let blocks = |t: &str| t.chars().any(|c| ('▁'..='█').contains(&c));
    for args in &views {
        let (code, shown) = in_terminal(&bin("self-heal"), args, &base);
        assert_eq!(code, Some(0), "{args:?}: {shown}");
        assert!(
            blocks(&shown),
            "{args:?}: no sparkline on a terminal:\n{shown}"
        );
        assert!(shown.contains("\x1b["), "{args:?}: no colour on a terminal");
        // Only the rendering's own codes: every escape starts one of them.
        for (i, _) in shown.match_indices('\x1b') {
            assert!(
                selfheal_app::render::STYLE_CODES
                    .iter()
                    .any(|c| shown[i..].starts_with(c)),
                "{args:?}: foreign escape at {i}: {:?}",
                &shown[i..(i + 12).min(shown.len())]
            );
        }
        for (var, value) in [("NO_COLOR", "1"), ("TERM", "dumb")] {
            let mut envs = base.clone();
            envs.retain(|(k, _)| *k != var);
            envs.push((var, value.as_ref()));
            let (code, shown) = in_terminal(&bin("self-heal"), args, &envs);
            assert_eq!(code, Some(0), "{args:?} {var}: {shown}");
            assert!(
                !blocks(&shown),
                "{args:?} {var}={value}: sparkline:\n{shown}"
            );
            assert!(
                !shown.contains('\x1b'),
                "{args:?} {var}={value}: escape code"
            );
        }
        let piped = self_heal(args, &db, dir.path());
        assert!(piped.status.success());
        let piped = String::from_utf8_lossy(&piped.stdout);
        assert!(
            !blocks(&piped) && !piped.contains('\x1b'),
            "{args:?} piped:\n{piped}"
        );
    }
}

/// An index built by another analysis (other classification rules) is rebuilt, not reused.
#[test]
fn an_index_of_another_analysis_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), 2);
    let detect = |label: &str| -> serde_json::Value {
        let out = self_heal(&["--json", "detect"], &db, dir.path());
        assert!(
            out.status.success(),
            "{label}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let first = detect("first");
    let indexed = first["data"]["events_indexed_now"].as_u64().unwrap();
    assert!(indexed > 0);
    assert_eq!(detect("warm")["data"]["events_indexed_now"], 0);
    let index = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".index.sqlite"))
        .expect("the index file");
    rusqlite::Connection::open(&index)
        .unwrap()
        .execute("UPDATE meta SET value = '0-0' WHERE key = 'analysis'", [])
        .unwrap();
    let again = detect("after another analysis");
    assert_eq!(again["data"]["events_indexed_now"].as_u64(), Some(indexed));
    assert_eq!(again["patterns"], first["patterns"]);
}

#[test]
fn report_html_writes_the_page_with_the_period_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let (db, truth) = plant(dir.path(), 1);
    let path = dir.path().join("report.html");
    let out = self_heal(
        &["report", "--html", path.to_str().unwrap()],
        &db,
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        path.to_str().unwrap()
    );
    let html = std::fs::read_to_string(&path).unwrap();
    let start = r#"<script type="application/json" id="selfheal-data">"#;
    let at = html.find(start).unwrap() + start.len();
    let data = &html[at..at + html[at..].find("</script>").unwrap()];
    let page: selfheal_app::views::ReportPage = serde_json::from_str(data).unwrap();
    // The page draws the report's own answers: the same as the use case gives.
    let direct = app(&db, ms(PLANT_NOW))
        .report_page(
            &selfheal_app::args::ReportArgs {
                since: "-30d".into(),
                detail: selfheal_app::args::Detail::Full,
            },
            &mut quiet(),
        )
        .unwrap();
    assert_eq!(page.patterns, direct.patterns);
    assert_eq!(page.report, direct.report);
    assert!(page.dashboard.tools.is_some() && page.dashboard.agents.is_some());
    let planted = truth["patterns"][0]["id"].as_str().unwrap();
    assert!(page.patterns.iter().any(|p| p.id == planted), "{planted}");
    assert_eq!(
        html.replacen(data, "", 1),
        selfheal_app::page::DASHBOARD_HTML,
        "the page around the data is the MCP App's"
    );
    // Without --html, report is the healing report as before.
    let text = self_heal(&["report", "--json"], &db, dir.path());
    let report: serde_json::Value = serde_json::from_slice(&text.stdout).unwrap();
    assert!(report["patterns_seen"].is_u64(), "{report}");
    // A directory that does not exist is refused with a clear message, nothing written.
    let bad = self_heal(
        &[
            "report",
            "--html",
            dir.path().join("no/such/dir.html").to_str().unwrap(),
        ],
        &db,
        dir.path(),
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("does not exist"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

/// The demo walks the loop to a verified improvement and writes the report page.
#[test]
fn the_demo_ends_with_a_verified_improvement() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let html = dir.path().join("report.html");
    let out = Command::new(bin("self-heal"))
        .args(["--json", "demo", "--out"])
        .arg(&db)
        .arg("--html")
        .arg(&html)
        .env("SELFHEAL_INDEX_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let walk = &view["loop_walk"];
    assert_eq!(walk["verify"]["verification_status"], "verified", "{walk}");
    assert_eq!(walk["verify"]["recommendation"], "keep");
    assert_eq!(walk["verify"]["status"], "verified");
    assert_eq!(walk["apply"]["applied_at"], walk["fixed_at"]);
    let counts = walk["report"]["improvements_by_state"].to_string();
    assert!(counts.contains("verified"), "{counts}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(r#"id="selfheal-data""#));
    assert!(page.contains(walk["propose"]["improvement_id"].as_str().unwrap()));
    // The demo's notes stay beside its database.
    assert!(db.with_extension("inbox").is_dir());
}

#[test]
fn collect_refuses_a_reachable_address_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("team.db");
    let out = self_heal(
        &["collect", "--listen", "0.0.0.0:0"],
        &db,
        &dir.path().join("index"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--token") && err.contains("127.0.0.1"),
        "{err}"
    );
    assert!(!db.exists(), "nothing was created");
}
