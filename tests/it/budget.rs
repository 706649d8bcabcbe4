//! What every answer costs the model that reads it: each read tool's default answer, in
//! `structuredContent` (what Claude Code and others hand the model) and in text alike, counted
//! with a real tokenizer (o200k_base), stays within [`BUDGET`] tokens — on the sessions the
//! five real harnesses wrote and on a real-shaped history with hundreds of causes and a
//! lifecycle. The test prints the count of each answer.

use std::path::{Path, PathBuf};
use std::process::Command;

use rmcp::RoleClient;
use rmcp::model::CallToolResult;
use rmcp::service::RunningService;
use selfheal_tests::{bin, workspace_root};
use serde_json::{Value, json};

use crate::mcp::{call, connect_at};

/// Tokens a default answer may take, in each of its two forms.
const BUDGET: usize = 4_000;
/// "Now" for both histories: just after the harness fixtures were recorded, and the demo's.
const NOW: &str = "2026-12-08T00:00:00Z";

fn tokens(text: &str) -> usize {
    tiktoken_rs::o200k_base_singleton()
        .encode_with_special_tokens(text)
        .len()
}

async fn connect(db: &Path, index_dir: &Path) -> RunningService<RoleClient, ()> {
    connect_at(db, index_dir, NOW).await
}

/// (structured tokens, text tokens) of an answer.
fn cost(r: &CallToolResult) -> (usize, usize) {
    let structured = r
        .structured_content
        .as_ref()
        .map_or(0, |v| tokens(&v.to_string()));
    let text: String = r
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n");
    (structured, tokens(&text))
}

fn self_heal(args: &[&str], index_dir: &Path) {
    let out = Command::new(bin("self-heal"))
        .args(args)
        .env("SELFHEAL_NOW", NOW)
        .env("SELFHEAL_INDEX_DIR", index_dir)
        .env_remove("SELFHEAL_IMPORT")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "self-heal {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The sessions the five real harnesses wrote, imported into one history.
fn harness_history(dir: &Path) -> PathBuf {
    let db = dir.join("harnesses.db");
    let data = workspace_root().join("tests/data");
    let paths: Vec<String> = [
        "claude-code-2.1.328/projects",
        "codex-0.169.0/sessions",
        "gemini-cli-0.61.0/tmp",
        "opencode-1.18.33/opencode.db",
        "copilot-1.0.102/session-state",
    ]
    .iter()
    .map(|p| data.join(p).display().to_string())
    .collect();
    let mut args = vec!["--db", db.to_str().unwrap(), "import"];
    args.extend(paths.iter().map(String::as_str));
    self_heal(&args, &dir.join("index-h"));
    db
}

/// A real-shaped history (55 tools, shell programs, a few hundred causes) walked through the
/// lifecycle by `self-heal demo`.
fn demo_history(dir: &Path, events: &str) -> PathBuf {
    let db = dir.join("demo.db");
    self_heal(
        &[
            "demo",
            "--profile",
            "real",
            "--events",
            events,
            "--out",
            db.to_str().unwrap(),
        ],
        &dir.join("index-d"),
    );
    // Improvements for the lifecycle answers: one proposed per listed cause.
    let out = Command::new(bin("self-heal"))
        .args([
            "--db",
            db.to_str().unwrap(),
            "--json",
            "detect",
            "--limit",
            "30",
        ])
        .env("SELFHEAL_NOW", NOW)
        .env("SELFHEAL_INDEX_DIR", dir.join("index-d"))
        .output()
        .unwrap();
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    for p in found["patterns"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        self_heal(
            &["--db", db.to_str().unwrap(), "propose", id],
            &dir.join("index-d"),
        );
    }
    db
}

/// Every read tool's default answer on `db`: (tool, structured tokens, text tokens).
async fn default_answers(db: &Path, index_dir: &Path) -> Vec<(String, usize, usize)> {
    let client = connect(db, index_dir).await;
    let mut out = Vec::new();
    let detect = call(&client, "detect_failure_patterns", json!({})).await;
    out.push(("detect_failure_patterns".to_string(), cost(&detect)));
    let sc = detect.structured_content.clone().unwrap_or_default();
    // The pattern and the run a model would look at next: the first listed (with every
    // pattern counted when the defaults list none), else any run.
    let mut pattern = sc["patterns"][0]["id"].as_str().map(str::to_string);
    if pattern.is_none() {
        let all = call(
            &client,
            "detect_failure_patterns",
            json!({"min_occurrences": 1, "confidence_threshold": 0}),
        )
        .await;
        pattern = all
            .structured_content
            .and_then(|v| v["patterns"][0]["id"].as_str().map(str::to_string));
    }
    let run = sc["patterns"][0]["affected_runs"][0]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            rusqlite::Connection::open(db)
                .ok()?
                .query_row("SELECT id FROM runs ORDER BY started_at DESC", [], |r| {
                    r.get(0)
                })
                .ok()
        });
    let mut calls: Vec<(&str, Value)> = vec![
        ("compute_agent_metrics", json!({})),
        ("compute_tool_reliability", json!({})),
        ("detect_stalled_runs", json!({})),
        ("get_healing_report", json!({})),
        ("get_health_dashboard", json!({})),
        ("list_improvements", json!({})),
    ];
    if let Some(p) = &pattern {
        calls.push(("get_pattern", json!({"pattern_id": p})));
    }
    if let Some(r) = &run {
        calls.push(("analyze_run_health", json!({"run_id": r})));
    }
    let list = call(&client, "list_improvements", json!({})).await;
    if let Some(id) = list
        .structured_content
        .as_ref()
        .and_then(|v| v["improvements"][0]["id"].as_str())
    {
        calls.push(("get_improvement", json!({"improvement_id": id})));
    }
    for (tool, args) in calls {
        let r = call(&client, tool, args).await;
        assert_ne!(r.is_error, Some(true), "{tool}: {r:?}");
        out.push((tool.to_string(), cost(&r)));
    }
    client.cancel().await.unwrap();
    out.into_iter().map(|(t, (s, x))| (t, s, x)).collect()
}

fn check(label: &str, answers: &[(String, usize, usize)]) {
    eprintln!("{label}: tokens of each default answer (o200k_base), structured / text");
    let mut over = Vec::new();
    for (tool, s, t) in answers {
        eprintln!("  {tool:28} {s:>6} / {t:>6}");
        if *s > BUDGET || *t > BUDGET {
            over.push(format!("{tool} ({s} / {t})"));
        }
    }
    assert!(
        over.is_empty(),
        "{label}: over the {BUDGET}-token budget: {over:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_default_answer_fits_a_models_budget() {
    let dir = tempfile::tempdir().unwrap();
    let harnesses = harness_history(dir.path());
    let answers = default_answers(&harnesses, &dir.path().join("index-h")).await;
    assert!(answers.iter().any(|a| a.0 == "get_pattern"), "{answers:?}");
    check("five real harnesses' sessions", &answers);

    // Heavier with SELFHEAL_SLOW_TESTS (as in CI): the budget must not grow with the history.
    let events = if std::env::var_os("SELFHEAL_SLOW_TESTS").is_some() {
        "1000000"
    } else {
        "200000"
    };
    let demo = demo_history(dir.path(), events);
    let answers = default_answers(&demo, &dir.path().join("index-d")).await;
    for tool in ["get_pattern", "analyze_run_health", "get_improvement"] {
        assert!(answers.iter().any(|a| a.0 == tool), "{tool}: {answers:?}");
    }
    check(&format!("real-shaped history of {events} events"), &answers);
}

/// What `tools/list` costs (printed, for the README), and each description within the 2 KB
/// Claude Code keeps.
#[tokio::test(flavor = "multi_thread")]
async fn the_tool_list_is_measured_and_descriptions_are_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = harness_history(dir.path());
    let client = connect(&db, &dir.path().join("index-h")).await;
    let tools = client.list_all_tools().await.unwrap();
    let all = serde_json::to_string(&tools).unwrap();
    let without: Vec<Value> = tools
        .iter()
        .map(|t| {
            let mut v = serde_json::to_value(t).unwrap();
            v.as_object_mut().unwrap().remove("outputSchema");
            v
        })
        .collect();
    let without = serde_json::to_string(&without).unwrap();
    eprintln!(
        "tools/list: {} tokens with output schemas, {} without",
        tokens(&all),
        tokens(&without)
    );
    for t in &tools {
        let d = t.description.as_deref().unwrap_or_default();
        assert!(
            d.len() <= 2048,
            "{}: description of {} bytes",
            t.name,
            d.len()
        );
    }
    client.cancel().await.unwrap();
}

/// A history built to break budgets: results of 200 KB on one line (distinct words, so no
/// template merges them), ten thousand failing tools, and one pattern failing once in each of
/// very many runs (a million with SELFHEAL_SLOW_TESTS, as in CI; 20,000 otherwise).
fn hostile_history(dir: &Path, runs_in_one_pattern: usize) -> PathBuf {
    let db = dir.join("hostile.db");
    selfheal_store::source::init_run_history(&db).unwrap();
    let mut conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut run = tx
            .prepare("INSERT INTO runs (id, workflow_name, task, status, model, started_at) VALUES (?1, 'hostile', 't', 'failed', 'm', ?2)")
            .unwrap();
        let mut event = tx
            .prepare("INSERT INTO run_events (run_id, step_index, event_type, event_data, timestamp) VALUES (?1, ?2, ?3, ?4, ?5)")
            .unwrap();
        // Spread over the last six days before NOW, one second apart per run.
        let at = |i: usize| {
            let t = chrono::DateTime::parse_from_rfc3339(NOW).unwrap() - chrono::Duration::days(6)
                + chrono::Duration::milliseconds((i as i64 * 431) % (5 * 86_400_000));
            t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        };
        let mut call = |run_id: &str,
                        step: i64,
                        tool: &str,
                        result: &str,
                        failed: bool,
                        when: &str| {
            let args = json!({"path": format!("/srv/{run_id}/{step}")});
            event
                .execute(rusqlite::params![
                    run_id,
                    step,
                    "tool_start",
                    json!({"type": "tool_start", "name": tool, "arguments": args}).to_string(),
                    when
                ])
                .unwrap();
            event
                .execute(rusqlite::params![run_id, step + 1, "tool_complete",
                    json!({"type": "tool_complete", "name": tool, "result": result, "is_error": failed, "duration": 40}).to_string(), when])
                .unwrap();
        };
        // One pattern in very many runs.
        for i in 0..runs_in_one_pattern {
            let id = format!("many-{i}");
            let when = at(i);
            run.execute(rusqlite::params![id, when]).unwrap();
            call(
                &id,
                0,
                "read_file",
                &format!("ENOENT: no such file or directory, open '/srv/data/{i}.json'"),
                true,
                &when,
            );
        }
        // Ten thousand tools, each failing three times and succeeding once.
        for t in 0..10_000usize {
            let id = format!("tools-{}", t / 100);
            let when = at(t * 7);
            if t % 100 == 0 {
                run.execute(rusqlite::params![id, when]).unwrap();
            }
            let tool = format!("mcp__server{}__tool_with_a_long_name_{t}", t % 37);
            for k in 0..3 {
                call(
                    &id,
                    (t % 100 * 8 + k * 2) as i64,
                    &tool,
                    &format!("HTTP 503 Service Unavailable from upstream {k}"),
                    true,
                    &when,
                );
            }
            call(&id, (t % 100 * 8 + 6) as i64, &tool, "ok", false, &when);
        }
        // Huge results: 200 KB on one line, words never repeated across results.
        for h in 0..60usize {
            let id = format!("huge-{h}");
            let when = at(h * 13);
            run.execute(rusqlite::params![id, when]).unwrap();
            let line: String = (0..25_000).map(|w| format!("w{h}x{w} ")).collect();
            call(&id, 0, "Bash", &format!("Error: {line}"), true, &when);
            let lines: String = (0..4_000)
                .map(|w| format!("line {h}-{w} failed\n"))
                .collect();
            call(&id, 2, "web_fetch", &lines, true, &when);
        }
    }
    tx.commit().unwrap();
    db
}

#[tokio::test(flavor = "multi_thread")]
async fn budgets_hold_on_hostile_histories() {
    let dir = tempfile::tempdir().unwrap();
    let runs = if std::env::var_os(selfheal_tests::SLOW_TESTS).is_some() {
        1_000_000
    } else {
        20_000
    };
    let db = hostile_history(dir.path(), runs);
    let answers = default_answers(&db, &dir.path().join("index")).await;
    check(
        &format!("hostile history ({runs} runs in one pattern, 10,000 tools, 200 KB lines)"),
        &answers,
    );
    // The crowded pattern is listed with its runs counted, not enumerated.
    let client = connect(&db, &dir.path().join("index")).await;
    let found = call(
        &client,
        "get_pattern",
        json!({"pattern_id": "not_found:read_file"}),
    )
    .await;
    let p = &found.structured_content.unwrap()["pattern"];
    let counted = p["affected_run_count"].as_u64().unwrap() as f64;
    assert!((counted - runs as f64).abs() / runs as f64 <= 0.1, "{p}");
    assert_eq!(p["occurrences"].as_u64(), Some(runs as u64));
    assert!(p["affected_runs"].as_array().unwrap().len() <= 10);
    client.cancel().await.unwrap();
}
