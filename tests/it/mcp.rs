//! The real server binary over stdio, driven by an rmcp client: every tool answers with
//! structured content matching the data; bad input is a tool error that changes nothing and
//! leaves the server serving; a missing database is reported per call.

use std::path::Path;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use selfheal_tests::{PLANT_NOW, bin, plant};
use serde_json::{Value, json};

async fn connect(db: &Path, index_dir: &Path) -> RunningService<RoleClient, ()> {
    connect_at(db, index_dir, PLANT_NOW).await
}

/// The release-shaped server over stdio on `db`, with `now` fixed (shared with other modules).
pub(crate) async fn connect_at(
    db: &Path,
    index_dir: &Path,
    now: &str,
) -> RunningService<RoleClient, ()> {
    let cmd = tokio::process::Command::new(bin("self-healing-mcp")).configure(|c| {
        c.env("DATABASE_PATH", db)
            .env("SELFHEAL_NOW", now)
            .env("SELFHEAL_INDEX_DIR", index_dir)
            .env_remove("SELFHEAL_IMPORT")
            .env("RUST_LOG", "warn");
    });
    ().serve(TokioChildProcess::new(cmd).unwrap())
        .await
        .unwrap()
}

pub(crate) async fn call(
    client: &rmcp::Peer<RoleClient>,
    tool: &str,
    args: Value,
) -> CallToolResult {
    let args = args.as_object().cloned().unwrap_or_default();
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{tool}: protocol error {e}"))
}

fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every tool, with whether it is read-only.
const TOOLS: [(&str, bool); 16] = [
    ("analyze_run_health", true),
    ("apply_improvement", false),
    ("compute_agent_metrics", true),
    ("compute_tool_reliability", true),
    ("detect_failure_patterns", true),
    ("detect_stalled_runs", true),
    ("get_healing_report", true),
    ("get_health_dashboard", true),
    ("get_improvement", true),
    ("get_pattern", true),
    ("list_improvements", true),
    ("propose_improvement", false),
    ("reject_improvement", false),
    ("rollback_improvement", false),
    ("test_improvement", false),
    ("verify_improvement", false),
];

#[tokio::test]
async fn every_tool_answers_over_stdio() {
    let dir = tempfile::tempdir().unwrap();
    let (db, truth) = plant(dir.path(), 1);
    let client = connect(&db, dir.path()).await;

    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort();
    assert_eq!(names, TOOLS.map(|t| t.0));
    for t in &tools {
        assert!(t.output_schema.is_some(), "{} lacks outputSchema", t.name);
        let ann = t
            .annotations
            .as_ref()
            .unwrap_or_else(|| panic!("{} lacks annotations", t.name));
        let read_only = TOOLS.iter().find(|x| x.0 == t.name.as_ref()).map(|x| x.1);
        assert_eq!(ann.read_only_hint, read_only, "{}", t.name);
        assert!(t.description.as_ref().is_some_and(|d| d.len() > 40));
    }

    let stalled_run = truth["stalled_runs"][0].as_str().unwrap();
    let first_pattern = truth["patterns"][0]["id"].as_str().unwrap();
    let calls = [
        ("detect_failure_patterns", json!({})),
        ("get_pattern", json!({"pattern_id": first_pattern})),
        ("analyze_run_health", json!({"run_id": stalled_run})),
        ("compute_agent_metrics", json!({"since": "-7d"})),
        (
            "compute_tool_reliability",
            json!({"tool_name": "fetch_url"}),
        ),
        ("get_health_dashboard", json!({"detailed": true})),
        ("detect_stalled_runs", json!({})),
    ];
    for (tool, args) in calls {
        let r = call(&client, tool, args).await;
        assert_ne!(r.is_error, Some(true), "{tool}: {}", text(&r));
        assert!(
            r.structured_content.as_ref().is_some_and(Value::is_object),
            "{tool}"
        );
        assert!(!text(&r).is_empty());
    }
    let detect = call(&client, "detect_failure_patterns", json!({})).await;
    let ids: Vec<&str> = detect.structured_content.as_ref().unwrap()["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids.len(), truth["patterns"].as_array().unwrap().len());
    let health = call(
        &client,
        "analyze_run_health",
        json!({"run_id": stalled_run}),
    )
    .await;
    let issues = health.structured_content.unwrap()["issues"].to_string();
    assert!(
        issues.contains("no event for"),
        "a stalled run is reported as such: {issues}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn bad_input_is_a_tool_error_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), 1);
    let client = connect(&db, dir.path()).await;
    let cases = [
        (
            "detect_failure_patterns",
            json!({"since": "yesterday"}),
            "-7d",
        ),
        ("detect_failure_patterns", json!({"since": "-7x"}), "unit"),
        ("detect_failure_patterns", json!({"since": ""}), "empty"),
        ("detect_failure_patterns", json!({"since": 7}), "string"),
        (
            "detect_failure_patterns",
            json!({"min_occurrences": 0}),
            "from 1 to",
        ),
        (
            "detect_failure_patterns",
            json!({"min_occurrences": 1_000_000_000_000i64}),
            "from 1 to",
        ),
        (
            "detect_failure_patterns",
            json!({"confidence_threshold": 1.5}),
            "from 0 to 1",
        ),
        (
            "detect_failure_patterns",
            json!({"min_occurrences": "three"}),
            "invalid type",
        ),
        (
            "detect_failure_patterns",
            json!({"bogus": 1}),
            "unknown field",
        ),
        (
            "get_pattern",
            json!({"pattern_id": "nope:nothing"}),
            "detect_failure_patterns",
        ),
        (
            "get_pattern",
            json!({"pattern_id": "no-colon"}),
            "<class>:<tool>",
        ),
        ("get_pattern", json!({}), "pattern_id"),
        (
            "analyze_run_health",
            json!({"run_id": "does-not-exist"}),
            "no run",
        ),
        (
            "analyze_run_health",
            json!({"run_id": "x".repeat(100_000)}),
            "at most",
        ),
        (
            "detect_stalled_runs",
            json!({"threshold_minutes": -5}),
            "from 1 to",
        ),
        ("compute_tool_reliability", json!({"limit": 0}), "from 1 to"),
    ];
    for (tool, args, needle) in cases {
        let r = call(&client, tool, args.clone()).await;
        assert_eq!(r.is_error, Some(true), "{tool} {args}: {}", text(&r));
        assert!(
            text(&r).contains(needle),
            "{tool} {args}: {:?} lacks {needle:?}",
            text(&r)
        );
    }
    let ok = call(&client, "detect_failure_patterns", json!({})).await;
    assert_ne!(ok.is_error, Some(true));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn database_problems_are_reported_per_call() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let corrupt = dir.path().join("corrupt.db");
    std::fs::write(&corrupt, vec![7u8; 8192]).unwrap();
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE notes(x)")
        .unwrap();
    let cases = [
        (dir.path().join("missing.db"), "does not exist"),
        (empty, "empty"),
        (corrupt, "not a readable SQLite database"),
        (foreign, "self-heal init"),
    ];
    for (db, needle) in cases {
        let client = connect(&db, dir.path()).await;
        let r = call(&client, "get_health_dashboard", json!({})).await;
        assert_eq!(r.is_error, Some(true), "{}", db.display());
        assert!(text(&r).contains(needle), "{}: {}", db.display(), text(&r));
        client.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn concurrent_calls_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), 1);
    let client = std::sync::Arc::new(connect(&db, dir.path()).await);
    let calls = [
        ("detect_failure_patterns", json!({})),
        ("compute_tool_reliability", json!({})),
        ("compute_agent_metrics", json!({})),
        ("get_health_dashboard", json!({"detailed": true})),
        ("detect_stalled_runs", json!({})),
        ("detect_failure_patterns", json!({"since": "-2w"})),
        ("compute_tool_reliability", json!({"since": "-30d"})),
        ("get_healing_report", json!({})),
    ];
    let mut set = tokio::task::JoinSet::new();
    for (tool, args) in calls {
        let client = client.clone();
        set.spawn(async move { (tool, call(&client, tool, args).await) });
    }
    let mut done = 0;
    while let Some(joined) = set.join_next().await {
        let (tool, r) = joined.unwrap();
        assert_ne!(r.is_error, Some(true), "{tool}: {}", text(&r));
        done += 1;
    }
    assert_eq!(done, 8);
}

#[test]
fn malformed_json_rpc_does_not_stop_the_server() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), 1);
    let mut child = std::process::Command::new(bin("self-healing-mcp"))
        .env("DATABASE_PATH", &db)
        .env("SELFHEAL_NOW", PLANT_NOW)
        .env("SELFHEAL_INDEX_DIR", dir.path())
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let lines = [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        "{not json",
        r#"{"jsonrpc":"2.0","id":"x","method":42}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"detect_stalled_runs","arguments":{}}}"#,
    ];
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut answered = false;
    for _ in 0..5 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).expect("stdout carries only JSON-RPC");
        if v["id"] == 2 {
            assert!(
                v["result"]["structuredContent"]["stalled"].is_array(),
                "{v}"
            );
            answered = true;
            break;
        }
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    assert!(answered, "the call after malformed input was answered");
}

/// (progress, total) pairs as received.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(f64, Option<f64>)>>>;

/// A client that records the progress notifications it receives.
#[derive(Clone, Default)]
struct ProgressCounter(Seen);

impl rmcp::ClientHandler for ProgressCounter {
    async fn on_progress(
        &self,
        params: rmcp::model::ProgressNotificationParam,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        self.0.lock().unwrap().push((params.progress, params.total));
    }
}

#[tokio::test]
async fn catch_up_reports_progress_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), 1);
    let counter = ProgressCounter::default();
    let cmd = tokio::process::Command::new(bin("self-healing-mcp")).configure(|c| {
        c.env("DATABASE_PATH", &db)
            .env("SELFHEAL_NOW", PLANT_NOW)
            .env("SELFHEAL_INDEX_DIR", dir.path())
            .env("RUST_LOG", "warn");
    });
    let client = counter
        .clone()
        .serve(TokioChildProcess::new(cmd).unwrap())
        .await
        .unwrap();
    let mut params = CallToolRequestParams::new("detect_failure_patterns")
        .with_arguments(serde_json::Map::new());
    params.meta = Some(rmcp::model::RequestMetaObject::with_progress_token(
        rmcp::model::ProgressToken(rmcp::model::NumberOrString::Number(7)),
    ));
    let r = client.call_tool(params).await.unwrap();
    assert_ne!(r.is_error, Some(true));
    // Notifications may trail the response by a moment.
    for _ in 0..50 {
        if !counter.0.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let seen = counter.0.lock().unwrap().clone();
    let (done, total) = *seen.last().expect("at least one progress notification");
    assert!(
        done > 0.0 && total == Some(done),
        "the last notification reports the whole catch-up: {seen:?}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn concurrent_proposals_for_one_pattern_create_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), 1);
    // The very first lifecycle calls race on the migrations too.
    let client = std::sync::Arc::new(connect(&db, dir.path()).await);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let client = client.clone();
        set.spawn(async move {
            call(
                &client,
                "propose_improvement",
                json!({"pattern_id": "timeout:fetch_url"}),
            )
            .await
        });
    }
    let (mut created, mut refused) = (0, 0);
    while let Some(joined) = set.join_next().await {
        let r = joined.unwrap();
        if r.is_error == Some(true) {
            assert!(text(&r).contains("already has improvement"), "{}", text(&r));
            refused += 1;
        } else {
            created += 1;
        }
    }
    assert_eq!((created, refused), (1, 5));
    let list = call(&client, "list_improvements", json!({})).await;
    assert_eq!(
        list.structured_content.unwrap()["improvements"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn ids_complete_from_the_history_and_the_lifecycle() {
    use rmcp::model::{ArgumentInfo, CompleteRequestParams, Reference};
    let dir = tempfile::tempdir().unwrap();
    let (db, truth) = plant(dir.path(), 1);
    let client = connect(&db, dir.path()).await;
    let info = client.peer_info().unwrap();
    assert!(info.capabilities.completions.is_some());

    let complete = |r: Reference, name: &str, value: &str| {
        let params = CompleteRequestParams::new(r, ArgumentInfo::new(name, value));
        let client = &client;
        async move { client.complete(params).await }
    };
    let planted: Vec<String> = truth["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    let first = &planted[0];
    let prefix = &first[..first.find(':').unwrap() + 1];
    for r in [
        Reference::for_prompt("self_heal"),
        Reference::for_resource("selfheal://patterns/{pattern_id}"),
    ] {
        let got = complete(r, "pattern_id", prefix).await.unwrap().completion;
        assert!(got.values.contains(first), "{:?}", got.values);
        assert!(got.values.iter().all(|v| v.starts_with(prefix)));
        assert_eq!(got.total, Some(got.values.len() as u32));
        assert_eq!(got.has_more, Some(false));
    }
    let none = complete(Reference::for_prompt("self_heal"), "pattern_id", "zzz")
        .await
        .unwrap()
        .completion;
    assert!(none.values.is_empty());

    // Improvement ids appear once proposed, newest first.
    let mut ids = Vec::new();
    for p in &planted[..2] {
        let r = call(&client, "propose_improvement", json!({"pattern_id": p})).await;
        assert_ne!(r.is_error, Some(true), "{}", text(&r));
        ids.push(
            r.structured_content.unwrap()["improvement_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let got = complete(
        Reference::for_resource("selfheal://improvements/{improvement_id}"),
        "improvement_id",
        "imp-",
    )
    .await
    .unwrap()
    .completion;
    let mut want = ids.clone();
    want.sort();
    let mut values = got.values.clone();
    values.sort();
    assert_eq!(values, want);

    // Unknown references and arguments are invalid parameters, and the server keeps serving.
    assert!(
        complete(Reference::for_prompt("other"), "pattern_id", "")
            .await
            .is_err()
    );
    assert!(
        complete(Reference::for_prompt("self_heal"), "improvement_id", "")
            .await
            .is_err()
    );
    let ok = call(&client, "detect_failure_patterns", json!({})).await;
    assert_ne!(ok.is_error, Some(true));
    client.cancel().await.unwrap();
}

/// A client that renders MCP Apps sees the dashboard page linked from three tools and listed
/// among the resources; other clients see neither; the page reads the same for both.
#[tokio::test]
async fn the_dashboard_app_is_offered_to_clients_that_render_it() {
    use rmcp::model::{
        ClientCapabilities, ClientConfig, Implementation, ReadResourceRequestParams,
        ResourceContents,
    };
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = plant(dir.path(), 1);
    let mut extensions = rmcp::model::ExtensionCapabilities::new();
    extensions.insert(
        "io.modelcontextprotocol/ui".to_string(),
        serde_json::from_value(json!({"mimeTypes": ["text/html;profile=mcp-app"]})).unwrap(),
    );
    let mut caps = ClientCapabilities::default();
    caps.extensions = Some(extensions);
    let info = ClientConfig::new(caps, Implementation::new("apps-host", "1.0"));
    let cmd = tokio::process::Command::new(bin("self-healing-mcp")).configure(|c| {
        c.env("DATABASE_PATH", &db)
            .env("SELFHEAL_NOW", PLANT_NOW)
            .env("SELFHEAL_INDEX_DIR", dir.path())
            .env("RUST_LOG", "warn");
    });
    let host = info
        .serve(TokioChildProcess::new(cmd).unwrap())
        .await
        .unwrap();
    let plain = connect(&db, dir.path()).await;

    let linked = |tools: &[rmcp::model::Tool]| -> Vec<String> {
        let mut names: Vec<String> = tools
            .iter()
            .filter(|t| {
                t.meta
                    .as_ref()
                    .and_then(|m| m.0.get("ui"))
                    .and_then(|ui| ui.get("resourceUri"))
                    == Some(&json!("ui://self-healing/dashboard"))
            })
            .map(|t| t.name.to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        linked(&host.list_all_tools().await.unwrap()),
        ["get_health_dashboard", "get_pattern", "verify_improvement"]
    );
    assert!(linked(&plain.list_all_tools().await.unwrap()).is_empty());
    let listed = |r: Vec<rmcp::model::Resource>| -> bool {
        r.iter().any(|r| {
            r.uri == "ui://self-healing/dashboard"
                && r.mime_type.as_deref() == Some("text/html;profile=mcp-app")
        })
    };
    assert!(listed(host.list_all_resources().await.unwrap()));
    assert!(!listed(plain.list_all_resources().await.unwrap()));

    for client in [host.peer(), plain.peer()] {
        let read = client
            .read_resource(ReadResourceRequestParams::new(
                "ui://self-healing/dashboard",
            ))
            .await
            .unwrap();
        assert_eq!(read.contents.len(), 1);
        let ResourceContents::TextResourceContents {
            uri,
            mime_type,
            text,
            ..
        } = &read.contents[0]
        else {
            panic!("not text: {:?}", read.contents[0]);
        };
        assert_eq!(uri, "ui://self-healing/dashboard");
        assert_eq!(mime_type.as_deref(), Some("text/html;profile=mcp-app"));
        assert_eq!(text, selfheal_app::page::DASHBOARD_HTML);
        assert!(text.starts_with("<!doctype html>") || text.starts_with("<!DOCTYPE html>"));
    }
    // The text content stays the fallback: the same for both clients.
    // (The first call indexes the history; the index is shared, so the second ones agree.)
    call(&host, "get_health_dashboard", json!({})).await;
    let a = call(&host, "get_health_dashboard", json!({})).await;
    let b = call(&plain, "get_health_dashboard", json!({})).await;
    assert_eq!(text(&a), text(&b));
    host.cancel().await.unwrap();
    plain.cancel().await.unwrap();
}
