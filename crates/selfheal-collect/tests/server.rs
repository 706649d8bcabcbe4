//! The receiver over real HTTP on loopback: the captured requests of the five harnesses are
//! answered 200 after commit and land as runs and calls; bad bodies get 400 / 413 / 415 and
//! change nothing; a refused item is counted in `partial_success`; a backed-up writer makes
//! new requests 429 with `Retry-After`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use selfheal_collect::server::{Counters, Options, serve};

fn capture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/otlp")
            .join(rel),
    )
    .unwrap()
}

/// (status, headers, body) of one HTTP/1.1 POST.
fn post(addr: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head[9..12].parse().unwrap();
    (status, head, raw[split + 4..].to_vec())
}

struct Running {
    addr: String,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
    counters: Arc<Counters>,
}

async fn start(db: PathBuf, options: impl FnOnce(&mut Options)) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let counters = Arc::new(Counters::default());
    let mut o = Options::new(selfheal_store::Database::Sqlite(db));
    options(&mut o);
    let c = counters.clone();
    let done = tokio::spawn(async move {
        serve(listener, o, c, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Running {
        addr,
        stop,
        done,
        counters,
    }
}

fn count(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// A capture file, the path it goes to and its headers.
type Send = (String, &'static str, Vec<(&'static str, &'static str)>);

const JSON: (&str, &str) = ("Content-Type", "application/json");
const PROTO: (&str, &str) = ("Content-Type", "application/x-protobuf");

#[tokio::test(flavor = "multi_thread")]
async fn captured_requests_land_and_bad_ones_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let r = start(db.clone(), |o| o.max_body = 1024 * 1024).await;
    let addr = r.addr.clone();
    tokio::task::spawn_blocking(move || {
        // Every request of five captures (Codex's and Gemini CLI's spans too: passed over).
        let mut sends: Vec<Send> = Vec::new();
        for folder in [
            "claude-code-2.1.328/json",
            "claude-code-2.1.328/protobuf-gzip",
            "codex-0.169.0/binary",
            "gemini-cli-0.61.0/json",
            "copilot-1.0.102/json-content",
        ] {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/otlp").join(folder);
            let mut files: Vec<String> = std::fs::read_dir(&root)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
                .filter(|n| n.contains("-logs.") || n.contains("-traces."))
                .collect();
            files.sort();
            for name in files {
                let path = if name.contains("-logs.") { "/v1/logs" } else { "/v1/traces" };
                let mut headers = vec![if name.contains(".pb") { PROTO } else { JSON }];
                if name.ends_with(".gz") {
                    headers.push(("Content-Encoding", "gzip"));
                }
                sends.push((format!("{folder}/{name}"), path, headers));
            }
        }
        for (file, path, headers) in &sends {
            let (status, head, body) = post(&addr, path, headers, &capture(file.as_str()));
            assert_eq!(status, 200, "{file}: {head}");
            let json = headers.contains(&JSON);
            assert!(head.to_ascii_lowercase().contains(if json { "application/json" } else { "application/x-protobuf" }), "{head}");
            if json {
                assert_eq!(body, b"{}", "{file}: nothing rejected");
            } else {
                assert!(body.is_empty(), "{file}: an empty export response");
            }
        }
        let before = count(&db, "SELECT count(*) FROM run_events");
        // Bad bodies: each refused, nothing written.
        assert_eq!(post(&addr, "/v1/logs", &[JSON], b"{not json").0, 400);
        assert_eq!(post(&addr, "/v1/traces", &[PROTO], &[0xff; 16]).0, 400);
        assert_eq!(post(&addr, "/v1/logs", &[("Content-Type", "text/plain")], b"x").0, 415);
        assert_eq!(post(&addr, "/v1/logs", &[JSON, ("Content-Encoding", "br")], b"{}").0, 400);
        assert_eq!(post(&addr, "/v1/logs", &[JSON], &vec![b' '; 2 * 1024 * 1024]).0, 413);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![b' '; 4 * 1024 * 1024]).unwrap();
        let bomb = gz.finish().unwrap();
        assert_eq!(post(&addr, "/v1/logs", &[JSON, ("Content-Encoding", "gzip")], &bomb).0, 413);
        assert_eq!(count(&db, "SELECT count(*) FROM run_events"), before);
        // A tool result without its session is refused alone, and said so.
        let orphan = br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1765126592941000000",
            "body":{"stringValue":"claude_code.tool_result"},
            "attributes":[{"key":"event.name","value":{"stringValue":"tool_result"}},{"key":"tool_name","value":{"stringValue":"Bash"}}]}]}]}]}"#;
        let (status, _, body) = post(&addr, "/v1/logs", &[JSON], orphan);
        assert_eq!(status, 200);
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["partialSuccess"]["rejectedLogRecords"], "1", "{body}");
        // Metrics are accepted and dropped.
        assert_eq!(post(&addr, "/v1/metrics", &[JSON], b"{}").0, 200);
    })
    .await
    .unwrap();
    r.stop.send(()).unwrap();
    r.done.await.unwrap();
    // Claude Code (its JSON and gzipped protobuf captures are two sessions), Codex, Gemini
    // CLI and Copilot CLI: five runs, each with its five calls.
    let runs: Vec<String> = {
        let c = rusqlite::Connection::open(dir.path().join("history.db")).unwrap();
        let mut s = c.prepare("SELECT id FROM runs ORDER BY id").unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(runs.len(), 5, "{runs:?}");
    let db = dir.path().join("history.db");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM run_events WHERE event_type = 'tool_complete'"
        ),
        25
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM run_events WHERE event_type = 'tool_complete' AND json_extract(event_data, '$.is_error')"
        ),
        10
    );
    assert_eq!(
        r.counters
            .rejected
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(
        r.counters
            .refused
            .load(std::sync::atomic::Ordering::Relaxed),
        6
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backed_up_writer_answers_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    // Create the history, then hold its write lock so the writer waits.
    selfheal_import::writer::Writer::open(&db).unwrap();
    let r = start(db.clone(), |o| o.queue = 1).await;
    let lock = rusqlite::Connection::open(&db).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let body = capture("codex-0.169.0/binary/004-logs.pb");
    let addr = r.addr.clone();
    // The first request is taken by the writer (blocked on the lock), the second waits in
    // the queue; the next ones find it full.
    let mut waiting = Vec::new();
    for _ in 0..2 {
        let (a, b) = (addr.clone(), body.clone());
        waiting.push(std::thread::spawn(move || {
            post(&a, "/v1/logs", &[PROTO], &b).0
        }));
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let (a, b) = (addr.clone(), body.clone());
    let (status, head, _) = tokio::task::spawn_blocking(move || post(&a, "/v1/logs", &[PROTO], &b))
        .await
        .unwrap();
    assert_eq!(status, 429, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 1"),
        "{head}"
    );
    lock.execute_batch("COMMIT").unwrap();
    for w in waiting {
        assert_eq!(w.join().unwrap(), 200);
    }
    r.stop.send(()).unwrap();
    r.done.await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_required_token_is_checked_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let r = start(db.clone(), |o| o.token = Some("s3cret-token".into())).await;
    let addr = r.addr.clone();
    let db2 = db.clone();
    tokio::task::spawn_blocking(move || {
        let body = capture("claude-code-2.1.328/json/001-logs.json");
        for wrong in [
            None,
            Some("Bearer nope"),
            Some("Bearer s3cret-tokeN"),
            Some("s3cret-token"),
        ] {
            let mut headers = vec![JSON];
            if let Some(w) = wrong {
                headers.push(("Authorization", w));
            }
            let (status, head, _) = post(&addr, "/v1/logs", &headers, &body);
            assert_eq!(status, 401, "{wrong:?}");
            assert!(
                head.to_ascii_lowercase()
                    .contains("www-authenticate: bearer"),
                "{head}"
            );
        }
        assert_eq!(count(&db2, "SELECT count(*) FROM run_events"), 0);
        let (status, _, _) = post(
            &addr,
            "/v1/logs",
            &[JSON, ("Authorization", "Bearer s3cret-token")],
            &body,
        );
        assert_eq!(status, 200);
        assert!(count(&db2, "SELECT count(*) FROM run_events") > 0);
    })
    .await
    .unwrap();
    r.stop.send(()).unwrap();
    r.done.await.unwrap();
}
