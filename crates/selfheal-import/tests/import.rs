//! The import driver on real temporary files: every format, idempotence, growth, rewrites,
//! copies, out-of-order results, hooks meeting transcripts, bad input, concurrent imports.
//! Fixtures (`tests/fixtures/`) are small histories written for these tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use selfheal_import::model::Format;
use selfheal_import::writer::{Batch, Writer};
use selfheal_import::{ImportError, Importer, Options, Summary};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn import(db: &Path, paths: &[PathBuf]) -> Summary {
    import_with(db, paths, Options::default())
}

fn import_with(db: &Path, paths: &[PathBuf], options: Options) -> Summary {
    Importer::open(db, options)
        .unwrap()
        .import(paths, &mut |_| {})
        .unwrap()
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn text(db: &Path, sql: &str) -> String {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn completes(db: &Path) -> i64 {
    count(
        db,
        "SELECT count(*) FROM run_events WHERE event_type = 'tool_complete'",
    )
}

/// Copies the fixture file `rel` to `dir`, returning its new path.
fn copy_fixture(rel: &str, dir: &Path) -> PathBuf {
    let to = dir.join(Path::new(rel).file_name().unwrap());
    std::fs::copy(fixtures().join(rel), &to).unwrap();
    to
}

const CLAUDE: &str = "claude/-w-shop/5e55aaaa-0000-4000-8000-000000000001.jsonl";

#[test]
fn every_format_imports_and_a_second_import_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let s = import(&db, &[fixtures()]);
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.skipped, 0, "{:?}", s.skipped_samples);
    assert_eq!(s.files.read, 7);
    assert_eq!(
        (s.runs_new, s.calls_added, s.failed_calls_added),
        (8, 17, 9)
    );
    assert_eq!(s.awaiting_start, 0, "the out-of-order result paired");
    let runs = |format: &str| {
        count(
            &db,
            &format!(
                "SELECT count(*) FROM runs WHERE json_extract(metadata, '$.source_format') = '{format}'"
            ),
        )
    };
    for (format, n) in [
        ("claude-code", 2),
        ("codex", 1),
        ("gemini-cli", 1),
        ("swe-agent", 1),
        ("otel", 1),
        ("jsonl", 2),
    ] {
        assert_eq!(runs(format), n, "{format}");
    }
    // The run rows follow the contract.
    let main = "claude-code:5e55aaaa-0000-4000-8000-000000000001";
    assert_eq!(
        text(
            &db,
            &format!(
                "SELECT workflow_name || '|' || task || '|' || status || '|' || model || '|' || started_at || '|' || completed_at FROM runs WHERE id = '{main}'"
            )
        ),
        "shop|make the checkout test pass|failed|claude-test-1|2026-01-30T10:00:00.000Z|2026-01-30T10:00:40.000Z"
    );
    assert_eq!(
        text(
            &db,
            &format!(
                "SELECT json_extract(metadata, '$.parent_run_id') FROM runs WHERE id = '{main}:agent-a1b2c3'"
            )
        ),
        main
    );
    assert_eq!(
        text(
            &db,
            &format!(
                "SELECT total_tool_calls || '/' || failed_tool_calls || '/' || total_iterations || '/' || total_tokens_in FROM run_metrics WHERE run_id = '{main}'"
            )
        ),
        "3/1/4/850"
    );
    assert_eq!(
        text(
            &db,
            "SELECT status || '|' || workflow_name FROM runs WHERE id LIKE 'gemini-cli:%'"
        ),
        "cancelled|gemini-cli"
    );
    assert_eq!(
        text(
            &db,
            "SELECT total_tokens_in || '/' || total_tokens_out FROM run_metrics WHERE run_id LIKE 'codex:%'"
        ),
        "5000/120"
    );
    assert_eq!(
        text(
            &db,
            "SELECT json_extract(metadata, '$.timestamps') FROM runs WHERE id LIKE 'swe-agent:%'"
        ),
        "synthetic"
    );
    assert_eq!(
        text(
            &db,
            "SELECT json_extract(metadata, '$.agent') FROM runs WHERE id = 'otel:conv_trip_1'"
        ),
        "planner"
    );
    // Events: a start with the input, an end with the source's facts.
    let bash = text(
        &db,
        "SELECT event_data FROM run_events WHERE event_type = 'tool_complete' AND event_data LIKE '%toolu_bash1%'",
    );
    let bash: serde_json::Value = serde_json::from_str(&bash).unwrap();
    assert_eq!(bash["name"], "Bash");
    assert_eq!(bash["is_error"], true);
    assert_eq!(bash["exit_code"], 1);
    assert_eq!(bash["duration"], 5000);
    assert_eq!(bash["duration_source"], "timestamps");
    let start = text(
        &db,
        "SELECT event_data FROM run_events WHERE event_type = 'tool_start' AND event_data LIKE '%call_a%'",
    );
    let start: serde_json::Value = serde_json::from_str(&start).unwrap();
    assert_eq!(start["arguments"]["command"][2], "pytest -q");
    let otel = text(
        &db,
        "SELECT event_data FROM run_events WHERE event_type = 'tool_complete' AND event_data LIKE '%call_w1%'",
    );
    let otel: serde_json::Value = serde_json::from_str(&otel).unwrap();
    assert_eq!(otel["error_type"], "timeout");
    assert_eq!(otel["duration"], 2000);
    assert_eq!(otel["duration_source"], "recorded");
    // Steps are in order within each run.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM (SELECT run_id, step_index FROM run_events GROUP BY 1, 2 HAVING count(*) > 1)"
        ),
        0
    );

    let events = count(&db, "SELECT count(*) FROM run_events");
    let again = import(&db, &[fixtures()]);
    assert_eq!(again.events_added, 0);
    assert_eq!(again.files.unchanged, 7);
    assert_eq!(count(&db, "SELECT count(*) FROM run_events"), events);
}

#[test]
fn a_grown_transcript_adds_only_its_new_lines_and_pairs_across_increments() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let text = std::fs::read_to_string(fixtures().join(CLAUDE)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let path = dir.path().join("s.jsonl");
    // Up to the Bash call's start (line 6 in file order is its tool_use; its result is line 5).
    let first: String = lines[..3].iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, &first).unwrap();
    let s1 = import(&db, std::slice::from_ref(&path));
    assert_eq!(s1.calls_added, 0, "the Read call has no result yet");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    for l in &lines[3..] {
        writeln!(f, "{l}").unwrap();
    }
    drop(f);
    let s2 = import(&db, std::slice::from_ref(&path));
    assert_eq!(s2.calls_added, 3, "{s2:?}");
    assert_eq!(s2.bytes_read as usize, text.len() - first.len());
    assert_eq!(completes(&db), 3);
    let read = text_of(&db, "toolu_read1");
    assert_eq!(
        read["duration"], 300,
        "paired with the start read one import earlier"
    );
}

fn text_of(db: &Path, call: &str) -> serde_json::Value {
    serde_json::from_str(&text(
        db,
        &format!("SELECT event_data FROM run_events WHERE event_type = 'tool_complete' AND event_data LIKE '%{call}%'"),
    ))
    .unwrap()
}

#[test]
fn a_half_written_last_line_waits_until_it_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let path = dir.path().join("calls.jsonl");
    let line =
        r#"{"run":"r","tool":"t","time":"2026-01-30T00:00:00Z","is_error":true,"message":"boom"}"#;
    std::fs::write(&path, format!("{line}\n{}", &line[..30])).unwrap();
    let s = import(&db, std::slice::from_ref(&path));
    assert_eq!((s.calls_added, s.partial_lines_left, s.skipped), (1, 1, 0));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    write!(f, "{}", &line[30..].replace("boom", "bang")).unwrap();
    drop(f);
    // Complete JSON without its newline yet: taken.
    let s = import(&db, std::slice::from_ref(&path));
    assert_eq!((s.calls_added, s.partial_lines_left), (1, 0));
    assert_eq!(completes(&db), 2);
}

#[test]
fn a_rewritten_file_is_read_again_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let path = dir.path().join("calls.jsonl");
    let call = |id: &str, t: &str| {
        format!(r#"{{"run":"r","tool":"t","time":"{t}","call_id":"{id}","message":"m"}}"#)
    };
    std::fs::write(
        &path,
        format!(
            "{}\n{}\n",
            call("a", "2026-01-30T00:00:00Z"),
            call("b", "2026-01-30T00:00:01Z")
        ),
    )
    .unwrap();
    assert_eq!(import(&db, std::slice::from_ref(&path)).calls_added, 2);
    // Rewritten with a different first line: same size class, different bytes.
    std::fs::write(
        &path,
        format!(
            "{}\n{}\n{}\n",
            call("c", "2026-01-30T00:00:02Z"),
            call("a", "2026-01-30T00:00:00Z"),
            call("b", "2026-01-30T00:00:01Z")
        ),
    )
    .unwrap();
    let s = import(&db, std::slice::from_ref(&path));
    assert_eq!(s.files.rewritten, 1);
    assert_eq!((s.calls_added, s.duplicates_skipped), (1, 4));
    assert_eq!(completes(&db), 3);
}

#[test]
fn a_byte_identical_copy_is_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    copy_fixture(
        "codex/2026/01/30/rollout-2026-01-30T11-00-00-0199c0de-0000-7000-8000-00000000c0de.jsonl",
        &a,
    );
    copy_fixture(
        "codex/2026/01/30/rollout-2026-01-30T11-00-00-0199c0de-0000-7000-8000-00000000c0de.jsonl",
        &b,
    );
    let s = import(&db, &[dir.path().to_path_buf()]);
    assert_eq!((s.files.read, s.files.copies, s.calls_added), (1, 1, 3));
    assert_eq!(s.duplicates_skipped, 0, "the copy was not even read");
}

#[test]
fn a_hook_call_and_the_transcript_call_are_one_call() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let hook = br#"{"session_id":"5e55aaaa-0000-4000-8000-000000000001","cwd":"/w/shop","hook_event_name":"PostToolUseFailure",
        "tool_name":"Bash","tool_input":{"command":"pytest tests/test_checkout.py"},"tool_use_id":"toolu_bash1",
        "error":"Exit code 1\nFAILED tests/test_checkout.py::test_total - AssertionError"}"#;
    let event = selfheal_import::hook::records(hook, 1_769_767_205_000).unwrap();
    let mut writer = Writer::open(&db).unwrap();
    writer
        .apply(&Batch {
            format: Format::ClaudeCode,
            source_file: None,
            fallback_ms: 1_769_767_205_000,
            records: &event.records,
            file: None,
        })
        .unwrap();
    drop(writer);
    assert_eq!(completes(&db), 1);
    let s = import(&db, &[fixtures().join(CLAUDE)]);
    assert_eq!(
        s.calls_added, 2,
        "Read and Task; Bash was written by the hook"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM run_events WHERE event_data LIKE '%toolu_bash1%'"
        ),
        2,
        "one start, one end"
    );
    // The run row is the transcript's, with the hook's call counted.
    assert_eq!(
        text(
            &db,
            "SELECT total_tool_calls || '/' || failed_tool_calls FROM run_metrics WHERE run_id = 'claude-code:5e55aaaa-0000-4000-8000-000000000001'"
        ),
        "3/1"
    );
}

#[test]
fn bad_input_is_counted_and_never_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    // Another kind of file, with a history-like name.
    std::fs::write(src.join("notes.jsonl"), "just some notes\nmore\n").unwrap();
    // A JSONL history with a bad line, a line that is not UTF-8, a long line, and good lines.
    let good = |i: u32| {
        format!(r#"{{"run":"r","tool":"t","time":"2026-01-30T00:00:0{i}Z","call_id":"c{i}"}}"#)
    };
    let mut bytes = Vec::new();
    bytes.extend(format!("{}\n{{\"run\":\n", good(1)).as_bytes());
    bytes.extend(b"{\"run\":\"r\",\"tool\":\"\xff\xfe\",\"time\":1}\n");
    bytes.extend(
        format!(
            "{{\"run\":\"r\",\"tool\":\"t\",\"time\":1,\"message\":\"{}\"}}\n",
            "x".repeat(200_000)
        )
        .as_bytes(),
    );
    bytes.extend(format!("{}\n", good(2)).as_bytes());
    std::fs::write(src.join("calls.jsonl"), &bytes).unwrap();
    let options = Options {
        max_line_bytes: 64 * 1024,
        ..Options::default()
    };
    let missing = dir.path().join("missing-folder");
    let s = import_with(&db, &[src.clone(), missing.clone()], options.clone());
    assert_eq!(s.calls_added, 2);
    assert_eq!(s.files.unrecognised, 1);
    let reasons: Vec<(u64, &str)> = s
        .skipped_samples
        .iter()
        .filter(|n| n.file.ends_with("calls.jsonl"))
        .map(|n| (n.line, n.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(reasons[0], (2, "truncated JSON"));
    assert_eq!(reasons[1], (3, "invalid UTF-8"));
    assert!(
        reasons[2].0 == 4 && reasons[2].1.starts_with("line too long"),
        "{reasons:?}"
    );
    assert_eq!(s.errors.len(), 1);
    assert!(s.errors[0].path.ends_with("missing-folder") && s.errors[0].error.contains("no such"));
    // Re-running changes nothing and loses nothing.
    let again = import_with(&db, &[src], options);
    assert_eq!((again.events_added, completes(&db)), (0, 2));
}

#[test]
fn a_very_long_line_is_skipped_with_bounded_memory() {
    if std::env::var_os("SELFHEAL_SLOW_TESTS").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let path = dir.path().join("big.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, r#"{{"run":"r","tool":"t","time":1,"call_id":"a"}}"#).unwrap();
    write!(
        f,
        r#"{{"run":"r","tool":"t","time":1,"call_id":"b","message":""#
    )
    .unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..100 {
        f.write_all(&chunk).unwrap();
    }
    writeln!(f, "\"}}").unwrap();
    writeln!(f, r#"{{"run":"r","tool":"t","time":1,"call_id":"c"}}"#).unwrap();
    drop(f);
    let s = import(&db, std::slice::from_ref(&path));
    assert_eq!(s.calls_added, 2);
    assert_eq!(s.skipped, 1);
    assert!(s.skipped_samples[0].reason.starts_with("line too long"));
}

#[test]
fn an_unusable_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.db");
    std::fs::write(&corrupt, vec![b'x'; 4096]).unwrap();
    let e = Importer::open(&corrupt, Options::default()).err().unwrap();
    assert!(matches!(e, ImportError::Corrupt { .. }), "{e}");
    let foreign = dir.path().join("foreign.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE runs(name TEXT); CREATE TABLE run_events(x)")
        .unwrap();
    let e = Importer::open(&foreign, Options::default()).err().unwrap();
    assert!(matches!(e, ImportError::ForeignSchema { .. }), "{e}");
    let newer = dir.path().join("newer.db");
    Importer::open(&newer, Options::default()).unwrap();
    Connection::open(&newer)
        .unwrap()
        .execute(
            "UPDATE selfheal_import_meta SET value = '99' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    let e = Importer::open(&newer, Options::default()).err().unwrap();
    assert!(e.to_string().contains("newer"), "{e}");
}

#[test]
fn two_imports_at_once_write_each_call_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..20 {
        let lines: String = (0..200)
            .map(|j| {
                format!(
                    "{{\"run\":\"run-{i}\",\"tool\":\"t{}\",\"time\":{},\"call_id\":\"c{j}\",\"is_error\":{}}}\n",
                    j % 3,
                    1_769_774_400 + j,
                    j % 7 == 0
                )
            })
            .collect();
        std::fs::write(src.join(format!("f{i:02}.jsonl")), lines).unwrap();
    }
    Importer::open(&db, Options::default()).unwrap();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (db, src) = (db.clone(), src.clone());
            std::thread::spawn(move || {
                let options = Options {
                    chunk_bytes: 2_000,
                    ..Options::default()
                };
                Importer::open(&db, options)
                    .unwrap()
                    .import(&[src], &mut |_| {})
                    .unwrap()
            })
        })
        .collect();
    let summaries: Vec<Summary> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let added: u64 = summaries.iter().map(|s| s.calls_added).sum();
    assert_eq!(added, 4000, "{summaries:?}");
    assert_eq!(completes(&db), 4000);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM (SELECT run_id, step_index FROM run_events GROUP BY 1, 2 HAVING count(*) > 1)"
        ),
        0
    );
    assert_eq!(import(&db, &[src]).events_added, 0);
}

#[test]
fn a_database_that_did_not_exist_is_created_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new/folder/history.db");
    import(&db, &[fixtures().join("jsonl")]);
    assert_eq!(text(&db, "PRAGMA journal_mode"), "wal");
    // An existing file keeps its journal mode.
    let old = dir.path().join("old.db");
    selfheal_store::source::init_run_history(&old).unwrap();
    import(&old, &[fixtures().join("jsonl")]);
    assert_eq!(text(&old, "PRAGMA journal_mode"), "delete");
}

#[test]
fn readers_never_panic_on_mangled_input() {
    use selfheal_import::model::{Output, SourceFile};
    use selfheal_import::{claude, codex, detect, gemini, hook, jsonl, otel, swe};
    let src = SourceFile {
        path: "/x/rollout-1-2-3-4-5-6.jsonl".into(),
        mtime_ms: 1_769_774_400_000,
    };
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for rel in [
        CLAUDE,
        "codex/2026/01/30/rollout-2026-01-30T11-00-00-0199c0de-0000-7000-8000-00000000c0de.jsonl",
        "gemini/chats/session-2026-01-30T12-00-9a9a9a9a.json",
        "swe/shop__shop-12.traj.json",
        "otel/spans.jsonl",
        "jsonl/calls.jsonl",
    ] {
        let bytes = std::fs::read(fixtures().join(rel)).unwrap();
        // Every prefix (in steps), and the whole with bytes flipped at a few places.
        for cut in (0..bytes.len()).step_by(7) {
            inputs.push(bytes[..cut].to_vec());
        }
        for (i, at) in (0..bytes.len()).step_by(13).enumerate() {
            let mut b = bytes.clone();
            b[at] = [b'"', b'{', b'}', b'\\', 0xff, b'\n', b'1', b']'][i % 8];
            inputs.push(b);
        }
    }
    for input in &inputs {
        let _ = detect::detect(Path::new("x.jsonl"), input, true);
        let mut out = Output::default();
        gemini::parse(input, &src, &mut out);
        swe::parse(input, &src, &mut out);
        let _ = hook::records(input, 0);
        let (mut c, mut x, mut o) = (
            claude::Parser::new(Default::default()),
            codex::Parser::new(Default::default()),
            otel::Parser::new(Default::default()),
        );
        for (i, line) in input.split(|b| *b == b'\n').enumerate() {
            c.line(line, i as u64, &src, &mut out);
            x.line(line, i as u64, 0, &src, &mut out);
            o.line(line, i as u64, &src, &mut out);
            o.learn(line);
            jsonl::line(line, i as u64, &src, &mut out);
        }
        c.flush(&mut out);
    }
}

#[test]
fn an_unreadable_file_is_listed_and_the_rest_imported() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    copy_fixture("jsonl/calls.jsonl", &src);
    let locked = src.join("locked.jsonl");
    std::fs::write(&locked, "{\"run\":\"x\",\"tool\":\"t\",\"time\":1}\n").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // A file nobody can read, whatever their privileges: reading it fails with EIO.
    let unreadable = PathBuf::from("/proc/self/mem");
    let s = import(&db, &[src, unreadable]);
    let privileged = std::fs::read(&locked).is_ok();
    assert_eq!(s.calls_added, if privileged { 4 } else { 3 });
    assert_eq!(
        s.files.failed,
        if privileged { 1 } else { 2 },
        "{:?}",
        s.errors
    );
    assert!(
        s.errors
            .iter()
            .any(|e| e.path == "/proc/self/mem" && e.error.contains("rror")),
        "{:?}",
        s.errors
    );
}

#[test]
fn a_plain_json_file_of_one_otlp_request_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let lines = std::fs::read_to_string(fixtures().join("otel/spans.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    let path = dir.path().join("export.json");
    std::fs::write(&path, serde_json::to_string_pretty(&first).unwrap()).unwrap();
    let s = import(&db, std::slice::from_ref(&path));
    assert_eq!((s.calls_added, s.failed_calls_added, s.skipped), (1, 1, 0));
    // Without the parent span (in the other request), the trace is the run.
    assert_eq!(
        text(&db, "SELECT id FROM runs"),
        "otel:4bf92f3577b34da6a3ce929d0e0e4736"
    );
}

#[test]
fn a_forked_subagent_replaying_its_parents_calls_adds_only_its_own() {
    for parent_first in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.db");
        let parent = copy_fixture(CLAUDE, dir.path());
        let sid = "5e55aaaa-0000-4000-8000-000000000001";
        let fork_dir = dir.path().join(sid).join("subagents");
        std::fs::create_dir_all(&fork_dir).unwrap();
        let fork = fork_dir.join("agent-aside_question-f00d.jsonl");
        let line = |uuid: &str, body: &str| {
            format!(
                r#"{{"sessionId":"{sid}","agentId":"f00d","isSidechain":true,"uuid":"{uuid}","cwd":"/w/shop","timestamp":"2026-01-30T11:00:00.000Z",{body}}}"#
            )
        };
        let text = [
            // The copy of the parent's first call ...
            line(
                "u2",
                r#""type":"assistant","message":{"id":"msg_1","role":"assistant","content":[{"type":"tool_use","id":"toolu_read1","name":"Read","input":{"file_path":"/w/shop/checkout.py"}}]}"#,
            ),
            line(
                "u3",
                r#""type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_read1","content":"def checkout(): ..."}]}"#,
            ),
            // ... and a call of its own.
            line(
                "f1",
                r#""type":"assistant","message":{"id":"msg_f","role":"assistant","content":[{"type":"tool_use","id":"toolu_own1","name":"Grep","input":{"pattern":"checkout"}}]}"#,
            ),
            line(
                "f2",
                r#""type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_own1","content":"checkout.py"}]}"#,
            ),
        ]
        .join("\n");
        std::fs::write(&fork, text + "\n").unwrap();
        let order = if parent_first {
            vec![parent.clone(), fork.clone()]
        } else {
            vec![fork.clone(), parent.clone()]
        };
        for path in order {
            import(&db, &[path]);
        }
        let copies = count(
            &db,
            "SELECT count(*) FROM run_events WHERE event_type = 'tool_start' AND json_extract(event_data, '$.call_id') = 'toolu_read1'",
        );
        let own = count(
            &db,
            "SELECT count(*) FROM run_events WHERE event_type = 'tool_start' AND json_extract(event_data, '$.call_id') = 'toolu_own1'",
        );
        assert_eq!((copies, own), (1, 1), "parent first: {parent_first}");
    }
}

/// A compaction agent (`<session>/subagents/agent-acompact-*.jsonl`) replays the session's
/// calls: whether imported as a folder or file by file in either order, the replayed calls
/// are the session's, once, and the agent's run holds only what it did itself.
#[test]
fn replayed_calls_belong_to_the_session_whatever_the_order() {
    for order in ["folder", "session first", "agent first"] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.db");
        let project = dir.path().join("-w-shop");
        std::fs::create_dir_all(&project).unwrap();
        let session = copy_fixture(CLAUDE, &project);
        let sid = "5e55aaaa-0000-4000-8000-000000000001";
        let agents = project.join(sid).join("subagents");
        std::fs::create_dir_all(&agents).unwrap();
        let line = |uuid: &str, body: &str| {
            format!(
                r#"{{"sessionId":"{sid}","agentId":"acompact-9","isSidechain":true,"uuid":"{uuid}","cwd":"/w/shop","timestamp":"2026-01-30T11:00:00.000Z",{body}}}"#
            )
        };
        let replay = [
            line(
                "c1",
                r#""type":"assistant","message":{"id":"msg_1","role":"assistant","content":[{"type":"tool_use","id":"toolu_read1","name":"Read","input":{"file_path":"/w/shop/checkout.py"}}]}"#,
            ),
            line(
                "c2",
                r#""type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_read1","content":"def checkout(): ..."}]}"#,
            ),
            line(
                "c3",
                r#""type":"assistant","message":{"id":"msg_sum","role":"assistant","content":[{"type":"text","text":"Summary of the session."}],"usage":{"input_tokens":900,"output_tokens":40}}"#,
            ),
        ]
        .join("\n");
        let agent = agents.join("agent-acompact-9.jsonl");
        std::fs::write(&agent, replay + "\n").unwrap();
        match order {
            "folder" => {
                import(&db, std::slice::from_ref(&dir.path().to_path_buf()));
            }
            "session first" => {
                import(&db, std::slice::from_ref(&session));
                import(&db, std::slice::from_ref(&agent));
            }
            _ => {
                import(&db, std::slice::from_ref(&agent));
                import(&db, std::slice::from_ref(&session));
            }
        }
        let starts = "SELECT count(*) FROM run_events WHERE event_type = 'tool_start' AND json_extract(event_data, '$.call_id') = 'toolu_read1'";
        assert_eq!(count(&db, starts), 1, "{order}");
        let completes = "SELECT count(*) FROM run_events WHERE event_type = 'tool_complete' AND json_extract(event_data, '$.call_id') = 'toolu_read1'";
        assert_eq!(count(&db, completes), 1, "{order}");
        assert_eq!(
            text(
                &db,
                "SELECT group_concat(DISTINCT run_id) FROM run_events WHERE json_extract(event_data, '$.call_id') = 'toolu_read1'"
            ),
            format!("claude-code:{sid}"),
            "{order}"
        );
        assert_eq!(
            count(
                &db,
                &format!(
                    "SELECT count(*) FROM run_events WHERE run_id = 'claude-code:{sid}:agent-acompact-9' AND event_type LIKE 'tool_%'"
                )
            ),
            0,
            "{order}: the agent's run has no call of its own"
        );
    }
}

mod properties {
    //! Import is idempotent and incremental, whatever the calls: a second import adds
    //! nothing, and a file imported while it grows gives the same rows as the whole file.

    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    struct Call {
        run: u8,
        tool: &'static str,
        at_s: i64,
        duration: Option<u32>,
        is_error: Option<bool>,
        error_type: Option<&'static str>,
        message: String,
        call_id: Option<u16>,
        status: Option<&'static str>,
    }

    fn call() -> impl Strategy<Value = Call> {
        (
            (
                0u8..4,
                prop::sample::select(vec!["read_file", "shell", "web_fetch", "ü/tool"]),
            ),
            (0i64..86_400 * 30, prop::option::of(0u32..600_000)),
            (
                prop::option::of(any::<bool>()),
                prop::option::of(prop::sample::select(vec!["timeout", "tool_error", ""])),
            ),
            (
                "\\PC{0,40}|[a-z /:.0-9\\n\"\\\\]{0,60}",
                prop::option::of(0u16..40),
            ),
            prop::option::of(prop::sample::select(vec!["running", "completed", "failed"])),
        )
            .prop_map(
                |(
                    (run, tool),
                    (at_s, duration),
                    (is_error, error_type),
                    (message, call_id),
                    status,
                )| Call {
                    run,
                    tool,
                    at_s,
                    duration,
                    is_error,
                    error_type,
                    message,
                    call_id,
                    status,
                },
            )
    }

    fn line(c: &Call) -> String {
        let mut v = serde_json::json!({
            "run": format!("r-{}", c.run),
            "tool": c.tool,
            "time": 1_767_225_600 + c.at_s,
            "message": c.message,
            "agent": "prop",
        });
        let o = v.as_object_mut().unwrap();
        if let Some(d) = c.duration {
            o.insert("duration".into(), d.into());
        }
        if let Some(e) = c.is_error {
            o.insert("is_error".into(), e.into());
        }
        if let Some(t) = c.error_type {
            o.insert("error_type".into(), t.into());
        }
        if let Some(id) = c.call_id {
            o.insert("call_id".into(), format!("c{id}").into());
        }
        if let Some(s) = c.status {
            o.insert("run_status".into(), s.into());
        }
        format!("{v}\n")
    }

    /// `(run_id, event_type, event_data)` of every event, and `(id, status)` of every run.
    type Rows = (Vec<(String, String, String)>, Vec<(String, String)>);

    /// The rows the analysis reads, in a comparable order (ids and step indexes aside).
    fn rows(db: &Path) -> Rows {
        let conn = Connection::open(db).unwrap();
        let mut events: Vec<(String, String, String)> = conn
            .prepare("SELECT run_id, event_type, event_data FROM run_events")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        events.sort();
        let mut runs: Vec<(String, String)> = conn
            .prepare("SELECT id, status FROM runs")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        runs.sort();
        (events, runs)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn import_is_idempotent_and_incremental(
            calls in prop::collection::vec(call(), 1..40),
            cut in any::<prop::sample::Index>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let text: String = calls.iter().map(line).collect();

            // Whole file, then the same file again.
            let whole = dir.path().join("whole.db");
            let file = dir.path().join("calls.jsonl");
            std::fs::write(&file, &text).unwrap();
            let first = import(&whole, std::slice::from_ref(&file));
            prop_assert!(first.calls_added > 0);
            let before = rows(&whole);
            let again = import(&whole, std::slice::from_ref(&file));
            prop_assert_eq!(again.events_added, 0);
            prop_assert_eq!(again.calls_added, 0);
            prop_assert_eq!(rows(&whole), before.clone());

            // The same lines appended in two steps, imported after each.
            let grown = dir.path().join("grown.db");
            let growing = dir.path().join("growing").join("calls.jsonl");
            std::fs::create_dir_all(growing.parent().unwrap()).unwrap();
            let k = cut.index(calls.len() + 1);
            let head: String = calls[..k].iter().map(line).collect();
            std::fs::write(&growing, &head).unwrap();
            import(&grown, std::slice::from_ref(&growing));
            let mut f = std::fs::OpenOptions::new().append(true).open(&growing).unwrap();
            f.write_all(&text.as_bytes()[head.len()..]).unwrap();
            drop(f);
            import(&grown, std::slice::from_ref(&growing));
            let (events, runs) = rows(&grown);
            let (want_events, want_runs) = before;
            // Runs carry their source file's path in metadata, not in these columns.
            prop_assert_eq!(events, want_events);
            prop_assert_eq!(runs, want_runs);
        }
    }
}
