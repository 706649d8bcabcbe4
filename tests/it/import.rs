//! `self-heal import`, `self-heal hook` and `SELFHEAL_IMPORT` end to end: the real binaries
//! on real temporary SQLite files, with the importer's fixtures
//! (`crates/selfheal-import/tests/fixtures`, small histories written for the tests).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use selfheal_tests::{bin, workspace_root};
use serde_json::{Value, json};

/// "Now" for the fixtures (all recorded on 2026-01-30).
const NOW: &str = "2026-02-01T00:00:00Z";

fn fixtures() -> PathBuf {
    workspace_root().join("crates/selfheal-import/tests/fixtures")
}

fn self_heal(args: &[&str], dir: &Path, stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(bin("self-heal"))
        .args(args)
        .env("SELFHEAL_NOW", NOW)
        .env("SELFHEAL_INDEX_DIR", dir.join("index"))
        .env("SELFHEAL_HOOK_LOG", dir.join("hook.log"))
        .env_remove("SELFHEAL_IMPORT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn json_out(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn count(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[test]
fn import_summarises_and_a_second_import_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let fx = fixtures();
    let args = [
        "import",
        "--json",
        "--db",
        db.to_str().unwrap(),
        fx.to_str().unwrap(),
    ];
    let first = json_out(&self_heal(&args, dir.path(), None));
    assert_eq!(first["calls_added"], 17);
    assert_eq!(first["failed_calls_added"], 9);
    assert_eq!(first["runs_new"], 8);
    assert_eq!(first["files"]["read"], 7);
    assert_eq!(first["skipped"], 0);
    let events = count(&db, "SELECT count(*) FROM run_events");
    let second = json_out(&self_heal(&args, dir.path(), None));
    assert_eq!(second["events_added"], 0);
    assert_eq!(second["files"]["unchanged"], 7);
    assert_eq!(count(&db, "SELECT count(*) FROM run_events"), events);

    // The text summary, and the analysis reading what was imported.
    let text = self_heal(
        &["import", "--db", db.to_str().unwrap(), fx.to_str().unwrap()],
        dir.path(),
        None,
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("7 unchanged") && text.contains("calls: 0 added"),
        "{text}"
    );
    let tools = json_out(&self_heal(
        &[
            "tools",
            "--json",
            "--since",
            "-7d",
            "--db",
            db.to_str().unwrap(),
        ],
        dir.path(),
        None,
    ));
    // Every imported event was indexed, and each tool of the window is there. (The
    // trajectory's synthetic instants sit at the fixture file's modification time, after this
    // "now": its calls are outside the window.)
    assert_eq!(tools["data"]["events_indexed_now"], events);
    let names = tool_names(&tools);
    for tool in [
        "Bash",
        "Read",
        "Task",
        "Glob",
        "shell",
        "apply_patch",
        "exec_command",
    ] {
        assert!(names.iter().any(|n| n == tool), "{tool} in {names:?}");
    }
    for tool in ["run_shell_command", "read_file", "get_weather", "search"] {
        assert!(names.iter().any(|n| n == tool), "{tool} in {names:?}");
    }
}

fn tool_names(view: &Value) -> Vec<String> {
    view["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn import_errors_are_clear_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let missing = dir.path().join("no-such-folder");
    let out = self_heal(
        &[
            "import",
            "--db",
            db.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
        dir.path(),
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("no-such-folder: no such file or folder"),
        "{stdout}"
    );
    let out = self_heal(
        &[
            "import",
            "--format",
            "xml",
            "--db",
            db.to_str().unwrap(),
            ".",
        ],
        dir.path(),
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("accepted: auto, claude-code"));
    let corrupt = dir.path().join("corrupt.db");
    std::fs::write(&corrupt, vec![b'x'; 4096]).unwrap();
    let out = self_heal(
        &[
            "import",
            "--db",
            corrupt.to_str().unwrap(),
            fixtures().to_str().unwrap(),
        ],
        dir.path(),
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a readable SQLite database"));
}

#[test]
fn the_hook_never_disturbs_the_agent_and_meets_the_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let dbs = db.to_str().unwrap();
    let session = "5e55aaaa-0000-4000-8000-000000000001";
    let events = [
        json!({"session_id": session, "transcript_path": "/t/s.jsonl", "cwd": "/w/shop",
               "hook_event_name": "SessionStart", "source": "startup", "model": "claude-test-1"}),
        json!({"session_id": session, "cwd": "/w/shop", "hook_event_name": "PreToolUse",
               "permission_mode": "default", "tool_name": "Bash",
               "tool_input": {"command": "pytest tests/test_checkout.py"}, "tool_use_id": "toolu_bash1"}),
        json!({"session_id": session, "cwd": "/w/shop", "hook_event_name": "PostToolUseFailure",
               "tool_name": "Bash", "tool_input": {"command": "pytest tests/test_checkout.py"},
               "tool_use_id": "toolu_bash1", "error": "Exit code 1\nFAILED tests/test_checkout.py::test_total"}),
    ];
    for e in &events {
        let out = self_heal(
            &["hook", "--db", dbs],
            dir.path(),
            Some(e.to_string().as_bytes()),
        );
        assert_eq!(out.status.code(), Some(0));
        assert!(out.stdout.is_empty());
    }
    let run = format!("claude-code:{session}");
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM runs WHERE id = '{run}' AND status = 'running'")
        ),
        1
    );
    let end: Value = serde_json::from_str(
        &rusqlite::Connection::open(&db)
            .unwrap()
            .query_row(
                "SELECT event_data FROM run_events WHERE event_type = 'tool_complete'",
                [],
                |r| r.get::<_, String>(0),
            )
            .unwrap(),
    )
    .unwrap();
    assert_eq!(end["is_error"], true);
    assert_eq!(end["exit_code"], 1);
    assert_eq!(end["duration_source"], "timestamps");
    assert!(end["duration"].is_u64(), "measured from PreToolUse: {end}");

    // Garbage, a wrong command line, an unwritable database: exit 0, nothing on stdout, a log line.
    for (args, input) in [
        (vec!["hook", "--db", dbs], &b"not json"[..]),
        (vec!["hook", "--db", dbs, "--bogus"], &b"{}"[..]),
        (
            vec!["hook", "--db", "/proc/no/such/dir/x.db"],
            events[0].to_string().as_bytes(),
        ),
    ] {
        let out = self_heal(&args, dir.path(), Some(input));
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let log = std::fs::read_to_string(dir.path().join("hook.log")).unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");

    // The transcript of the same session: the hook's call is not written twice.
    let transcript = fixtures().join("claude/-w-shop/5e55aaaa-0000-4000-8000-000000000001.jsonl");
    let s = json_out(&self_heal(
        &[
            "import",
            "--json",
            "--db",
            dbs,
            transcript.to_str().unwrap(),
        ],
        dir.path(),
        None,
    ));
    assert_eq!(s["calls_added"], 2);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM run_events WHERE event_data LIKE '%toolu_bash1%'"
        ),
        2
    );
    assert_eq!(
        count(
            &db,
            &format!("SELECT total_tool_calls FROM run_metrics WHERE run_id = '{run}'")
        ),
        3
    );
}

#[test]
fn selfheal_import_answers_the_first_call_on_a_database_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("not-yet.db");
    let out = Command::new(bin("self-heal"))
        .args(["tools", "--json", "--since", "-7d"])
        .env("DATABASE_PATH", &db)
        .env("SELFHEAL_NOW", NOW)
        .env("SELFHEAL_INDEX_DIR", dir.path().join("index"))
        .env(
            "SELFHEAL_IMPORT",
            format!(
                "{}:{}",
                fixtures().join("codex").display(),
                fixtures().join("gemini").display()
            ),
        )
        .output()
        .unwrap();
    let view = json_out(&out);
    assert!(db.exists());
    assert_eq!(
        view["data"]["events_indexed_now"],
        count(&db, "SELECT count(*) FROM run_events")
    );
    let names = tool_names(&view);
    for tool in [
        "shell",
        "apply_patch",
        "exec_command",
        "run_shell_command",
        "read_file",
    ] {
        assert!(names.iter().any(|n| n == tool), "{tool} in {names:?}");
    }
}

#[tokio::test]
async fn the_server_imports_before_answering() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("not-yet.db");
    let live = dir.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    let calls = live.join("calls.jsonl");
    std::fs::write(&calls, "").unwrap();
    let (db2, idx, live2) = (db.clone(), dir.path().join("index"), live.clone());
    let cmd = tokio::process::Command::new(bin("self-healing-mcp")).configure(move |c| {
        c.env("DATABASE_PATH", &db2)
            .env("SELFHEAL_NOW", NOW)
            .env("SELFHEAL_INDEX_DIR", &idx)
            .env("SELFHEAL_IMPORT", &live2)
            .env("RUST_LOG", "warn");
    });
    let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
    let tools = |n: u64| {
        let line = |i: u64| {
            format!(
                "{{\"run\":\"r{}\",\"agent\":\"bot\",\"tool\":\"fetch\",\"time\":\"2026-01-30T10:00:{:02}Z\",\"call_id\":\"c{i}\",\"error_type\":\"timeout\",\"message\":\"timed out\"}}\n",
                i % 3,
                i
            )
        };
        (0..n).map(line).collect::<String>()
    };
    for (n, expect) in [(3u64, 3u64), (5, 5)] {
        std::fs::write(&calls, tools(n)).unwrap();
        let args = json!({"since": "-7d", "min_occurrences": 1, "confidence_threshold": 0})
            .as_object()
            .cloned()
            .unwrap();
        let r = client
            .call_tool(CallToolRequestParams::new("detect_failure_patterns").with_arguments(args))
            .await
            .unwrap();
        assert_ne!(r.is_error, Some(true), "{r:?}");
        let view = r.structured_content.unwrap();
        assert_eq!(view["failures_in_window"], expect, "{view}");
    }
    client.cancel().await.unwrap();
}
