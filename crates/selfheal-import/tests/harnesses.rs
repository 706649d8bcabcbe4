//! The readers of today's harnesses on what the real harnesses wrote
//! (`tests/data/<harness>-<version>/` at the workspace root): a session still being written is
//! imported up to its last complete line and the rest comes next time; OpenCode's live
//! database is read-only, incremental, and refused clearly when it is not one we know.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use selfheal_import::{Importer, Options, Summary};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(rel)
}

fn import(db: &Path, path: &Path) -> Summary {
    Importer::open(db, Options::default())
        .unwrap()
        .import(&[path.to_path_buf()], &mut |_| {})
        .unwrap()
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn only_file(dir: &Path) -> PathBuf {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                return p;
            }
        }
    }
    panic!("no JSONL under {}", dir.display())
}

/// Writes the first `n` bytes of `full` to `to` and imports; returns the calls added.
fn import_prefix(db: &Path, to: &Path, full: &[u8], n: usize) -> u64 {
    std::fs::write(to, &full[..n]).unwrap();
    import(db, to).calls_added
}

/// A session file of each JSONL harness, written in three pieces that cut lines in half:
/// every piece imports what is complete, and the whole adds up to one import of the file.
#[test]
fn sessions_in_progress_import_up_to_their_last_complete_line() {
    for (fixture, name) in [
        ("gemini-cli-0.61.0/tmp", "session-x.jsonl"),
        ("copilot-1.0.102/session-state", "events.jsonl"),
        ("codex-0.169.0/sessions", "rollout-x.jsonl"),
    ] {
        let full = std::fs::read(only_file(&data(fixture))).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.db");
        let to = dir.path().join(name);
        let cuts = [full.len() / 3 + 7, 2 * full.len() / 3 + 3, full.len()];
        let added: u64 = cuts
            .iter()
            .map(|&n| import_prefix(&db, &to, &full, n))
            .sum();
        assert_eq!(added, 5, "{fixture}");
        assert_eq!(
            count(
                &db,
                "SELECT count(*) FROM run_events WHERE event_type = 'tool_complete' AND json_extract(event_data, '$.is_error')"
            ),
            2,
            "{fixture}"
        );
        // Nothing new: nothing added.
        assert_eq!(import(&db, &to).events_added, 0, "{fixture}");
    }
}

fn opencode_copy(dir: &Path) -> PathBuf {
    let to = dir.join("opencode.db");
    std::fs::copy(data("opencode-1.18.33/opencode.db"), &to).unwrap();
    to
}

fn sha(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn opencode_is_read_without_being_written_and_new_rows_come_next_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let oc = opencode_copy(dir.path());
    let before = sha(&oc);
    let s = import(&db, &oc);
    assert_eq!((s.runs_new, s.calls_added, s.failed_calls_added), (1, 5, 2));
    assert_eq!(sha(&oc), before, "the database was written");
    assert_eq!(import(&db, &oc).events_added, 0);

    // OpenCode goes on (WAL, as it runs): a call that is still running is not taken; once it
    // completed (the same part updated), it is.
    let conn = Connection::open(&oc).unwrap();
    conn.pragma_update(None, "journal_mode", "wal").unwrap();
    let (msg, session): (String, String) = conn
        .query_row("SELECT message_id, session_id FROM part LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let running = r#"{"type":"tool","tool":"bash","callID":"call_new","state":{"status":"running","input":{"command":"make test"},"time":{"start":1796651300000}}}"#;
    conn.execute(
        "INSERT INTO part(id, message_id, session_id, time_created, time_updated, data)
         VALUES ('prt_new', ?1, ?2, 1796651300000, 1796651300000, ?3)",
        (&msg, &session, running),
    )
    .unwrap();
    assert_eq!(import(&db, &oc).calls_added, 0);
    let done = r#"{"type":"tool","tool":"bash","callID":"call_new","state":{"status":"completed","input":{"command":"make test"},"output":"make: *** No rule to make target 'test'.  Stop.\n","metadata":{"exit":2},"time":{"start":1796651300000,"end":1796651300100}}}"#;
    conn.execute(
        "UPDATE part SET data = ?1, time_updated = 1796651300100 WHERE id = 'prt_new'",
        [done],
    )
    .unwrap();
    let s = import(&db, &oc);
    assert_eq!((s.calls_added, s.failed_calls_added), (1, 1));

    // A writer in the middle of a transaction: its rows are not seen, and nothing waits.
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         UPDATE part SET time_updated = 1796651400000, data = replace(data, 'call_new', 'call_half') WHERE id = 'prt_new';",
    )
    .unwrap();
    let s = import(&db, &oc);
    assert_eq!((s.calls_added, s.errors.len()), (0, 0), "{:?}", s.errors);
    conn.execute_batch("COMMIT").unwrap();
    assert_eq!(import(&db, &oc).calls_added, 1);
}

/// More rows than a page holds: read in several batches, every call once.
#[test]
fn opencode_pages_add_up_to_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let oc = opencode_copy(dir.path());
    let conn = Connection::open(&oc).unwrap();
    let (msg, session): (String, String) = conn
        .query_row("SELECT message_id, session_id FROM part LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let n = 2 * selfheal_import::opencode::PAGE_ROWS + 7;
    conn.execute(
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?3)
         INSERT INTO part(id, message_id, session_id, time_created, time_updated, data)
         SELECT printf('prt_bulk%06d', i), ?1, ?2, 1796651300000 + i % 50, 1796651300000 + i % 50,
                json_object('type', 'tool', 'tool', 'bash', 'callID', printf('bulk%d', i),
                  'state', json_object('status', 'completed', 'input', json_object('command', 'ls'),
                    'output', 'a', 'metadata', json_object('exit', i % 2),
                    'time', json_object('start', 1796651300000, 'end', 1796651300001)))
         FROM k",
        (&msg, &session, n as i64),
    )
    .unwrap();
    drop(conn);
    let s = import(&db, &oc);
    assert_eq!(s.calls_added, 5 + n as u64);
    assert_eq!(s.failed_calls_added, 2 + (n as u64).div_ceil(2));
    assert_eq!(import(&db, &oc).calls_added, 0);
}

#[test]
fn opencode_databases_we_do_not_know_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");

    // A column renamed by a newer OpenCode.
    let oc = opencode_copy(dir.path());
    Connection::open(&oc)
        .unwrap()
        .execute_batch("ALTER TABLE part RENAME COLUMN data TO payload")
        .unwrap();
    let s = import(&db, &oc);
    assert_eq!(s.calls_added, 0);
    assert!(
        s.errors[0]
            .error
            .contains("table `part` has no column(s) data"),
        "{:?}",
        s.errors
    );

    // Another program's SQLite file.
    let other = dir.path().join("opencode-other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes(id INTEGER)")
        .unwrap();
    let s = import(&db, &other);
    assert!(
        s.errors[0].error.contains("no table `session`"),
        "{:?}",
        s.errors
    );

    // A corrupt file: SQLite's header, then garbage.
    let corrupt = dir.path().join("opencode-broken.db");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend(std::iter::repeat_n(0xA5u8, 8192));
    std::fs::write(&corrupt, &bytes).unwrap();
    let s = import(&db, &corrupt);
    assert_eq!(s.calls_added, 0);
    assert!(!s.errors.is_empty(), "{s:?}");
    assert_eq!(
        std::fs::read(&corrupt).unwrap(),
        bytes,
        "the file was written"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM runs"), 0);
}
