//! Arbitrary lines on the stdin of a running server: one `SelfHealServer` over a small
//! synthetic history, initialised once and kept for the whole run (as a client would keep
//! it), is sent each input's lines and then a `ping`. The ping must be answered within 10 s
//! (no hang, no stopped server), and everything the server writes must be JSON (its stdout
//! carries only JSON-RPC). A panic on any server thread aborts the run (libFuzzer's hook).

#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rmcp::ServiceExt;
use selfheal_app::{App, Clock, Config};
use selfheal_store::index::IndexLocation;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};

const NOW: &str = "2026-11-20T12:00:00Z";
const PIPE_BYTES: usize = 1 << 20;

struct Harness {
    runtime: tokio::runtime::Runtime,
    pipe: Mutex<(WriteHalf<DuplexStream>, BufReader<ReadHalf<DuplexStream>>)>,
    _dir: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("history.sqlite");
        let end = chrono::DateTime::parse_from_rfc3339(NOW)
            .expect("NOW parses")
            .with_timezone(&chrono::Utc);
        let mut conn = rusqlite::Connection::open(&db).expect("open the history");
        selfheal_synth::generate(&mut conn, &selfheal_synth::SynthConfig::new(3, 600, end))
            .expect("a synthetic history");
        drop(conn);
        // Settings the environment could give are cleared: the server reads only its fixture.
        let mut config = Config::from_env(Some(db), Some(dir.path().join("inbox")));
        config.index = Some(IndexLocation::Memory("selfheal-fuzz-jsonrpc".into()));
        config.playbooks_dir = None;
        config.config_file = None;
        config.import_paths = Vec::new();
        config.policy_file = None;
        config.pause_file = None;
        let app = Arc::new(App::new(config, Clock::Fixed(end.timestamp_millis())));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let (client, server) = tokio::io::duplex(PIPE_BYTES);
        let (server_read, server_write) = tokio::io::split(server);
        runtime.spawn(async move {
            if let Ok(service) = self_healing_mcp::SelfHealServer::new(app)
                .serve((server_read, server_write))
                .await
            {
                let _ = service.waiting().await;
            }
        });
        let (read, mut write) = tokio::io::split(client);
        let mut read = BufReader::new(read);
        runtime.block_on(async {
            let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"fuzz","version":"0"}}}"#;
            write.write_all(init.as_bytes()).await.expect("send initialize");
            write.write_all(b"\n").await.expect("send initialize");
            let mut line = String::new();
            read.read_line(&mut line).await.expect("initialize answered");
            assert!(line.contains("\"result\""), "initialize failed: {line}");
            write
                .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
                .await
                .expect("send initialized");
        });
        Harness {
            runtime,
            pipe: Mutex::new((write, read)),
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    static PINGS: AtomicU64 = AtomicU64::new(0);
    let h = harness();
    let mut pipe = h.pipe.lock().expect("the pipe");
    let (write, read) = &mut *pipe;
    let id = format!(
        "selfheal-fuzz-ping-{}",
        PINGS.fetch_add(1, Ordering::Relaxed)
    );
    h.runtime.block_on(async {
        // Written and read at once: the server may answer more than a pipe holds before it
        // has read the whole input.
        let send = async {
            for line in data.split(|&b| b == b'\n') {
                write
                    .write_all(line)
                    .await
                    .expect("the server reads its input");
                write
                    .write_all(b"\n")
                    .await
                    .expect("the server reads its input");
            }
            let ping = format!("{{\"jsonrpc\":\"2.0\",\"id\":\"{id}\",\"method\":\"ping\"}}\n");
            write.write_all(ping.as_bytes()).await.expect("send ping");
        };
        let receive = async {
            let mut line = String::new();
            loop {
                line.clear();
                let n = read
                    .read_line(&mut line)
                    .await
                    .expect("read the server's output");
                assert!(
                    n > 0,
                    "the server stopped after {:?}",
                    String::from_utf8_lossy(data)
                );
                let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                    panic!("the server wrote a line that is not JSON ({e}): {line:?}")
                });
                if v.get("id").and_then(Value::as_str) == Some(id.as_str()) {
                    return;
                }
            }
        };
        let answered = tokio::time::timeout(Duration::from_secs(10), async {
            tokio::join!(send, receive)
        })
        .await;
        assert!(
            answered.is_ok(),
            "no answer to ping within 10 s after {:?}",
            String::from_utf8_lossy(data)
        );
    });
});
