//! What the real harnesses wrote in the drift check's common scenario
//! (`tests/data/<harness>-<version>/`, produced by `tests/harness/drift.py --fixtures`): each
//! imports exactly (one run in the project, five calls, two failed), the same failing command
//! reads as the same cause on every harness, and importing again adds nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use selfheal_tests::{bin, workspace_root};
use serde_json::Value;

/// A little after the fixtures were recorded (2026-12-07).
const NOW: &str = "2026-12-08T00:00:00Z";

/// (fixture folder, what to import in it, shell tool, the missing-file read's pattern).
const HARNESSES: [(&str, &str, &str, &str); 5] = [
    ("claude-code-2.1.328", "projects", "Bash", "not_found:Read"),
    (
        "codex-0.169.0",
        "sessions",
        "exec_command",
        "not_found:exec_command:cat",
    ),
    (
        "gemini-cli-0.61.0",
        "tmp",
        "run_shell_command",
        "not_found:read_file",
    ),
    ("opencode-1.18.33", "opencode.db", "bash", "not_found:read"),
    ("copilot-1.0.102", "session-state", "bash", "not_found:view"),
];

fn self_heal(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin("self-heal"))
        .args(args)
        .env("SELFHEAL_NOW", NOW)
        .env("SELFHEAL_INDEX_DIR", dir.join("index"))
        .env_remove("SELFHEAL_IMPORT")
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fixture(dir: &str, records: &str) -> PathBuf {
    workspace_root().join("tests/data").join(dir).join(records)
}

/// The calls imported: (tool, failed, exit code), in order.
fn calls(db: &Path) -> Vec<(String, bool, Option<i64>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT json_extract(event_data, '$.name'), json_extract(event_data, '$.is_error'),
                    json_extract(event_data, '$.exit_code')
             FROM run_events WHERE event_type = 'tool_complete' ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? != 0, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn every_harness_imports_exactly_and_one_failure_reads_the_same() {
    for (dir, records, shell, read_pattern) in HARNESSES {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("h.db");
        let db_arg = db.to_str().unwrap();
        let path = fixture(dir, records);
        let import = ["--db", db_arg, "import", "--json", path.to_str().unwrap()];
        let first = json_of(&self_heal(tmp.path(), &import));
        assert_eq!(first["runs_new"], 1, "{dir}: {first}");
        assert_eq!(first["calls_added"], 5, "{dir}: {first}");
        assert_eq!(first["failed_calls_added"], 2, "{dir}: {first}");
        assert_eq!(first["skipped"], 0, "{dir}: {first}");

        let got = calls(&db);
        assert_eq!(got.len(), 5, "{dir}: {got:?}");
        assert_eq!(got[0], (shell.to_string(), true, Some(127)), "{dir}");
        assert!(!got[1].1, "{dir}: the recovery succeeded: {got:?}");
        assert!(got[2].1, "{dir}: the missing file: {got:?}");
        assert!(!got[3].1 && !got[4].1, "{dir}: read and edit: {got:?}");

        let cwd: String = rusqlite::Connection::open(&db)
            .unwrap()
            .query_row(
                "SELECT json_extract(metadata, '$.cwd') FROM runs",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(cwd, "/home/user/project", "{dir}");

        let detect = json_of(&self_heal(
            tmp.path(),
            &[
                "--db",
                db_arg,
                "detect",
                "--json",
                "--min-occurrences",
                "1",
                "--confidence",
                "0",
            ],
        ));
        let mut ids: Vec<&str> = detect["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        let mut want = vec![
            format!("dependency_failure:{shell}:pytest"),
            read_pattern.into(),
        ];
        want.sort();
        assert_eq!(ids, want, "{dir}");

        let again = json_of(&self_heal(tmp.path(), &import));
        assert_eq!(again["events_added"], 0, "{dir}: {again}");
        assert_eq!(again["calls_added"], 0, "{dir}: {again}");
    }
}
