//! The five real harnesses' captured telemetry (`tests/data/otlp/`, see its README) mapped
//! into calls: each harness's common scenario gives one run, five calls, the `pytest` call
//! failed (exit 127 where the harness exports the exit code), the read of a missing file
//! failed, the rest succeeded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use selfheal_collect::decode::{Encoding, Export, Signal, decode, gunzip};
use selfheal_collect::map;
use selfheal_import::model::{CallEnd, CallStart, Record};

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/otlp")
}

/// Every record mapped from the requests of one capture folder.
fn mapped(folder: &str) -> (Vec<Record>, u64) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(captures().join(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut records = Vec::new();
    let mut rejected = 0;
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let signal = if name.contains("-logs.") {
            Signal::Logs
        } else if name.contains("-traces.") {
            Signal::Traces
        } else {
            continue;
        };
        let mut body = std::fs::read(&path).unwrap();
        if name.ends_with(".gz") {
            body = gunzip(&body, 1 << 24).unwrap();
        }
        let encoding = if name.contains(".pb") {
            Encoding::Protobuf
        } else {
            Encoding::Json
        };
        let m = match decode(signal, encoding, &body).unwrap() {
            Export::Logs(r) => map::logs(&r),
            Export::Traces(r) => map::traces(&r),
        };
        rejected += m.rejected;
        records.extend(m.records);
    }
    (records, rejected)
}

struct Call {
    start: CallStart,
    end: CallEnd,
}

fn calls(records: &[Record]) -> Vec<Call> {
    let mut out: Vec<Call> = Vec::new();
    for r in records {
        if let Record::Start(s) = r {
            if out.iter().any(|c| c.start.call_id == s.call_id) {
                continue;
            }
            let end = records
                .iter()
                .find_map(|e| match e {
                    Record::End(e) if e.call_id == s.call_id => Some(e.clone()),
                    _ => None,
                })
                .unwrap();
            out.push(Call {
                start: s.clone(),
                end,
            });
        }
    }
    out
}

/// Checks the common scenario: (run prefix, shell tool, exit code exported?).
fn check(folder: &str, run_prefix: &str, shell: &str, exit_exported: bool) {
    let (records, rejected) = mapped(folder);
    assert_eq!(rejected, 0, "{folder}");
    // Telemetry never says how a session ended: it must not overwrite what a transcript of
    // the same run said.
    assert!(
        records
            .iter()
            .all(|r| !matches!(r, Record::Run(f) if f.status.is_some())),
        "{folder}: a run status from telemetry"
    );
    let calls = calls(&records);
    assert_eq!(
        calls.len(),
        5,
        "{folder}: {:?}",
        calls.iter().map(|c| &c.start.tool).collect::<Vec<_>>()
    );
    let runs: std::collections::BTreeSet<&str> =
        calls.iter().map(|c| c.start.run_id.as_str()).collect();
    assert_eq!(runs.len(), 1, "{folder}: {runs:?}");
    assert!(
        runs.iter().all(|r| r.starts_with(run_prefix)),
        "{folder}: {runs:?}"
    );
    let pytest = calls
        .iter()
        .find(|c| c.start.tool == shell && c.start.arguments.contains("pytest"))
        .unwrap_or_else(|| panic!("{folder}: no pytest call"));
    assert!(pytest.end.is_error, "{folder}: pytest failed");
    if exit_exported {
        assert_eq!(pytest.end.exit_code, Some(127), "{folder}");
    }
    let unittest = calls
        .iter()
        .find(|c| c.start.tool == shell && c.start.arguments.contains("unittest"))
        .unwrap_or_else(|| panic!("{folder}: no unittest call"));
    assert!(!unittest.end.is_error, "{folder}: unittest succeeded");
    let failed = calls.iter().filter(|c| c.end.is_error).count();
    assert_eq!(failed, 2, "{folder}: pytest and the missing read failed");
}

#[test]
fn claude_code_in_json_protobuf_and_gzip() {
    for variant in ["json", "protobuf", "protobuf-gzip"] {
        check(
            &format!("claude-code-2.1.328/{variant}"),
            "claude-code:",
            "Bash",
            false,
        );
    }
    // Who ran it reaches the run, and the turns carry the model.
    let (records, _) = mapped("claude-code-2.1.328/json");
    assert!(records.iter().any(|r| matches!(r, Record::Run(f)
        if f.attribution.contains(&("team", "platform".to_string())))));
    assert!(records.iter().any(|r| matches!(r, Record::Iteration(_))));
}

#[test]
fn codex_in_json_and_binary() {
    for variant in ["json", "binary"] {
        check(
            &format!("codex-0.169.0/{variant}"),
            "codex:",
            "exec_command",
            true,
        );
    }
}

#[test]
fn gemini_cli() {
    check(
        "gemini-cli-0.61.0/json",
        "gemini-cli:",
        "run_shell_command",
        true,
    );
}

#[test]
fn opencode() {
    check("opencode-1.18.33/json", "opencode:", "bash", true);
}

#[test]
fn copilot_cli() {
    check("copilot-1.0.102/json-content", "copilot-cli:", "bash", true);
}
