//! The improvement lifecycle end to end, over the real server binary driven by an rmcp client.
//!
//! Acceptance: on an independent history (tests/fixtures/plant_shift.py) in which
//! `timeout:fetch_url` falls from ~25% to ~3% of fetch_url's calls at a known instant and
//! `connection_refused:query_db` rises from ~3% to ~25%, recording each fix as applied at that
//! instant makes `verify_improvement` answer `verified`/`keep` for the first and
//! `regressed`/`rollback` for the second, with p-values, Wilson intervals and before/after counts
//! equal to the fixture's truth; both survive a server restart in the `improvements` table with
//! their audit trails; an URGENT note in the documented inbox format announces the regression.
//! Then rollback (idempotent) and every kind of bad lifecycle input: a tool error that changes
//! nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use selfheal_tests::{PLANT_NOW, bin, workspace_root};
use serde_json::{Value, json};

/// When the planted failure rates change, and when both fixes are recorded as applied.
const SHIFT: &str = "2026-11-13T12:00:00Z";
const FETCH: &str = "timeout:fetch_url";
const QUERY: &str = "connection_refused:query_db";
/// The server's local zone for inbox dates: UTC+14 all year (a POSIX TZ string, no tzdata
/// needed), so the local date of PLANT_NOW (2026-11-20 12:00 UTC) is 2026-11-21, 02:00.
const SERVER_TZ: &str = "<+14>-14";
const LOCAL_DAY: &str = "2026-11-21";
const LOCAL_NOW: &str = "2026-11-21 02:00:00";

type Client = RunningService<RoleClient, ()>;

struct Files {
    db: PathBuf,
    index_dir: PathBuf,
    inbox: PathBuf,
}

/// Runs the independent fixture (with its SQL self-check) and reads its truth.
fn plant_shift(dir: &Path) -> (PathBuf, Value) {
    let db = dir.join("shift.sqlite");
    let truth = dir.join("shift-truth.json");
    let out = Command::new("python3")
        .arg(workspace_root().join("tests/fixtures/plant_shift.py"))
        .args(["--db", db.to_str().unwrap()])
        .args(["--truth", truth.to_str().unwrap()])
        .args([
            "--now",
            PLANT_NOW,
            "--shift",
            SHIFT,
            "--seed",
            "1",
            "--self-check",
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "plant_shift.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&truth).expect("truth written");
    (db, serde_json::from_str(&text).expect("truth is JSON"))
}

async fn connect(f: &Files) -> Client {
    let cmd = tokio::process::Command::new(bin("self-healing-mcp")).configure(|c| {
        c.env("DATABASE_PATH", &f.db)
            .env("SELFHEAL_NOW", PLANT_NOW)
            .env("SELFHEAL_INDEX_DIR", &f.index_dir)
            .env("INBOX_PATH", &f.inbox)
            .env("TZ", SERVER_TZ)
            .env("RUST_LOG", "warn")
            .env_remove("SELFHEAL_PLAYBOOKS_DIR")
            .env_remove("SELFHEAL_CONFIG_FILE");
    });
    ().serve(TokioChildProcess::new(cmd).unwrap())
        .await
        .unwrap()
}

async fn call(client: &Client, tool: &str, args: &Value) -> CallToolResult {
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

/// A successful call's structured content.
async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let r = call(client, tool, &args).await;
    assert_ne!(r.is_error, Some(true), "{tool} {args}: {}", text(&r));
    r.structured_content
        .unwrap_or_else(|| panic!("{tool} {args}: no structuredContent"))
}

/// A call that must be a tool error (not a protocol error); returns its message.
async fn tool_error(client: &Client, tool: &str, args: Value) -> String {
    let r = call(client, tool, &args).await;
    assert_eq!(
        r.is_error,
        Some(true),
        "{tool} {args} must be a tool error, got: {}",
        text(&r)
    );
    let t = text(&r);
    assert!(!t.trim().is_empty(), "{tool} {args}: empty error message");
    t
}

async fn get(client: &Client, id: &str) -> Value {
    ok(client, "get_improvement", json!({"improvement_id": id})).await
}

/// Unix ms of an RFC 3339 instant, parsed independently of the product.
fn ms(instant: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(instant)
        .unwrap_or_else(|e| panic!("{instant:?} is not RFC 3339: {e}"))
        .timestamp_millis()
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} is not a string in {v}"))
}

fn f64_at(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} is not a number in {v}"))
}

fn u64_at(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{pointer} is not a count in {v}"))
}

/// Every file of the inbox directory with its content (to prove bad calls write nothing).
fn inbox_snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect()
}

/// propose (since -21d) → test (simulation) → apply (at SHIFT); returns the improvement id.
async fn propose_test_apply(client: &Client, pattern: &str) -> String {
    let p = ok(
        client,
        "propose_improvement",
        json!({"pattern_id": pattern, "since": "-21d"}),
    )
    .await;
    let id = str_at(&p, "/improvement_id").to_string();
    assert!(id.starts_with("imp-"), "improvement id {id:?}");
    assert_eq!(str_at(&p, "/pattern_id"), pattern);
    assert_eq!(str_at(&p, "/status"), "proposed");

    let t = ok(
        client,
        "test_improvement",
        json!({"improvement_id": id, "mode": "simulation"}),
    )
    .await;
    assert_eq!(str_at(&t, "/test_mode"), "simulation");
    assert_eq!(str_at(&t, "/status"), "tested");

    let a = ok(
        client,
        "apply_improvement",
        json!({"improvement_id": id, "changes_made": format!("fix for {pattern}, deployed at the shift"), "applied_at": SHIFT}),
    )
    .await;
    assert_eq!(str_at(&a, "/status"), "applied");
    assert_eq!(
        ms(str_at(&a, "/applied_at")),
        ms(SHIFT),
        "applied_at is the instant given: {a}"
    );
    id
}

/// Checks a verification against the fixture's truth for `pattern`.
fn check_verification(v: &Value, pattern: &str, truth: &Value) {
    let t = &truth["patterns"][pattern];
    let ctx = format!("verify {pattern}: {v}");
    assert_eq!(
        str_at(v, "/verification_status"),
        t["expected_verdict"].as_str().unwrap(),
        "{ctx}"
    );
    assert_eq!(
        str_at(v, "/recommendation"),
        t["expected_recommendation"].as_str().unwrap(),
        "{ctx}"
    );
    for k in [
        "before_calls",
        "before_failures",
        "after_calls",
        "after_failures",
    ] {
        assert_eq!(
            u64_at(v, &format!("/metrics/{k}")),
            t[k].as_u64().unwrap(),
            "metrics.{k} must equal the planted truth; {ctx}"
        );
    }
    let p = f64_at(v, "/metrics/p_value");
    assert!((0.0..0.001).contains(&p), "p_value {p} < 0.001; {ctx}");
    assert_eq!(
        v.pointer("/metrics/pattern/p_value")
            .and_then(Value::as_f64),
        Some(p),
        "{ctx}"
    );
    // Rates and their Wilson intervals, which must contain the rates.
    for (side, calls, failures) in [
        ("before", &t["before_calls"], &t["before_failures"]),
        ("after", &t["after_calls"], &t["after_failures"]),
    ] {
        let rate = failures.as_f64().unwrap() / calls.as_f64().unwrap();
        let got = f64_at(v, &format!("/metrics/pattern/{side}_rate"));
        assert!(
            (got - rate).abs() < 1e-9,
            "{side}_rate {got} != {rate}; {ctx}"
        );
        let low = f64_at(v, &format!("/metrics/pattern/{side}_interval/low"));
        let high = f64_at(v, &format!("/metrics/pattern/{side}_interval/high"));
        assert!(
            0.0 <= low && low < rate && rate < high && high <= 1.0,
            "{side}_interval [{low}, {high}] around {rate}; {ctx}"
        );
        // Wilson 95% half-width is about 1.96·√(p(1−p)/n): a sanity bound, not the formula.
        let n = calls.as_f64().unwrap();
        let half = 1.96 * (rate * (1.0 - rate) / n).sqrt();
        assert!(
            (high - low) < 2.5 * half + 0.01 && (high - low) > half,
            "{side}_interval width {}; {ctx}",
            high - low
        );
    }
    // The windows: [shift − 7d, shift) and [shift, now].
    let day = 86_400_000;
    assert_eq!(
        ms(str_at(v, "/before_window/from")),
        ms(SHIFT) - 7 * day,
        "{ctx}"
    );
    assert_eq!(ms(str_at(v, "/before_window/to")), ms(SHIFT) - 1, "{ctx}");
    assert_eq!(ms(str_at(v, "/after_window/from")), ms(SHIFT), "{ctx}");
    assert_eq!(ms(str_at(v, "/after_window/to")), ms(PLANT_NOW), "{ctx}");
    // The run-level guard: finished runs (completed or failed) on each side, failure rate flat.
    let g = &truth["guard"];
    let count = |k: &str| g[k].as_u64().unwrap();
    assert_eq!(
        u64_at(v, "/metrics/runs_analyzed"),
        count("before_finished") + count("after_finished"),
        "{ctx}"
    );
    for side in ["before", "after"] {
        let rate =
            count(&format!("{side}_failed")) as f64 / count(&format!("{side}_finished")) as f64;
        let got = f64_at(v, &format!("/metrics/guard/{side}_rate"));
        assert!(
            (got - rate).abs() < 1e-9,
            "guard {side}_rate {got} != {rate}; {ctx}"
        );
    }
    assert!(f64_at(v, "/metrics/guard/p_value") > 0.05, "{ctx}");
    assert!(!str_at(v, "/actual_impact").is_empty(), "{ctx}");
    assert_eq!(
        v.pointer("/note/written"),
        Some(&json!(true)),
        "the verification note is written; {ctx}"
    );
}

fn audit_actions(imp: &Value) -> Vec<(String, String)> {
    imp["audit"]
        .as_array()
        .unwrap_or_else(|| panic!("no audit trail in {imp}"))
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap_or_default().to_string(),
                a["to_status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The inbox day file: header, entries split on the documented separator, each entry's header
/// line well formed. Returns the entries' (header line, body).
fn inbox_entries(inbox: &Path) -> Vec<(String, String)> {
    let file = inbox.join(format!("{LOCAL_DAY}.md"));
    let content = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "inbox day file {} (local date of now in the server's zone) is missing: {e}; inbox holds {:?}",
            file.display(),
            inbox_snapshot(inbox).keys().collect::<Vec<_>>()
        )
    });
    let head = format!("# Inbox - {LOCAL_DAY}\n\n");
    let rest = content
        .strip_prefix(&head)
        .unwrap_or_else(|| panic!("day file must start with {head:?}: {content:?}"));
    assert!(content.ends_with('\n'), "{content:?}");
    rest.split("\n---\n\n")
        .map(|chunk| {
            let chunk = chunk.strip_suffix('\n').unwrap_or(chunk);
            let (header, body) = chunk.split_once('\n').unwrap_or((chunk, ""));
            // `## YYYY-MM-DD HH:MM:SS [self-heal] #tag… [marker]`
            let after = header
                .strip_prefix("## ")
                .unwrap_or_else(|| panic!("entry header {header:?}"));
            let (stamp, tail) = after.split_at(19.min(after.len()));
            assert!(
                chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").is_ok(),
                "entry time {stamp:?} in {header:?}"
            );
            let tail = tail
                .strip_prefix(" [self-heal] ")
                .unwrap_or_else(|| panic!("source label in {header:?}"));
            let tail = tail
                .strip_suffix(" **[URGENT]**")
                .or_else(|| tail.strip_suffix(" *[HIGH]*"))
                .unwrap_or(tail);
            assert!(
                !tail.is_empty()
                    && tail
                        .split(' ')
                        .all(|t| t.len() > 1 && t.starts_with('#') && !t[1..].contains('#')),
                "tags in {header:?}"
            );
            (header.to_string(), body.to_string())
        })
        .collect()
}

#[tokio::test]
async fn a_fix_that_worked_is_kept_and_one_that_regressed_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let (db, truth) = plant_shift(dir.path());
    for p in [FETCH, QUERY] {
        let t = &truth["patterns"][p];
        assert!(t["before_calls"].as_u64().unwrap() >= 400, "{p}: {t}");
        assert!(t["after_calls"].as_u64().unwrap() >= 400, "{p}: {t}");
    }
    assert_eq!(truth["shift"], SHIFT);
    let files = Files {
        db,
        index_dir: dir.path().join("index"),
        inbox: dir.path().join("inbox"),
    };

    // ---- First server: the lifecycle of both fixes.
    let client = connect(&files).await;
    let fetch_id = propose_test_apply(&client, FETCH).await;
    let query_id = propose_test_apply(&client, QUERY).await;
    assert_ne!(fetch_id, query_id, "ids are unique");

    let v = ok(
        &client,
        "verify_improvement",
        json!({"improvement_id": fetch_id, "measurement_window_days": 7}),
    )
    .await;
    check_verification(&v, FETCH, &truth);
    assert_eq!(str_at(&v, "/status"), "verified", "{v}");
    let v = ok(
        &client,
        "verify_improvement",
        json!({"improvement_id": query_id, "measurement_window_days": 7}),
    )
    .await;
    check_verification(&v, QUERY, &truth);
    assert_eq!(
        str_at(&v, "/status"),
        "applied",
        "a regression leaves it applied, to be rolled back: {v}"
    );
    client.cancel().await.unwrap();

    // ---- A new server process on the same files: everything persisted.
    let client = connect(&files).await;
    let trail = |last: &'static str| {
        pairs(&[
            ("propose", "proposed"),
            ("test", "tested"),
            ("apply", "applied"),
            ("verify", last),
        ])
    };
    for (id, status) in [
        (fetch_id.as_str(), "verified"),
        (query_id.as_str(), "applied"),
    ] {
        let imp = get(&client, id).await;
        assert_eq!(str_at(&imp, "/status"), status, "{imp}");
        assert_eq!(audit_actions(&imp), trail(status), "audit trail of {imp}");
        assert_eq!(ms(str_at(&imp, "/applied_at")), ms(SHIFT), "{imp}");
        assert!(str_at(&imp, "/changes_made").contains("deployed at the shift"));
        assert!(!str_at(&imp, "/impact").is_empty(), "{imp}");
        assert!(imp["verification"].is_object(), "{imp}");
        assert_eq!(
            imp["verified_at"].is_string(),
            status == "verified",
            "verified_at only once verified: {imp}"
        );
    }
    let list = ok(&client, "list_improvements", json!({})).await;
    let listed: Vec<&str> = list["improvements"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert!(
        listed.contains(&fetch_id.as_str()) && listed.contains(&query_id.as_str()),
        "{list}"
    );
    let verified = ok(&client, "list_improvements", json!({"status": "verified"})).await;
    let verified: Vec<&str> = verified["improvements"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(verified, [fetch_id.as_str()]);

    // The improvements table itself, as other readers of the history see it.
    {
        let conn = rusqlite::Connection::open_with_flags(
            &files.db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        for (id, status) in [
            (fetch_id.as_str(), "verified"),
            (query_id.as_str(), "applied"),
        ] {
            let (st, applied_at, impact, verified_at, category, description): (
                String,
                Option<String>,
                Option<String>,
                Option<String>,
                String,
                String,
            ) = conn
                .query_row(
                    "SELECT status, applied_at, impact, verified_at, category, description FROM improvements WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
                )
                .unwrap_or_else(|e| panic!("row {id} in improvements: {e}"));
            assert_eq!(st, status);
            assert_eq!(applied_at.as_deref().map(ms), Some(ms(SHIFT)));
            assert!(impact.is_some_and(|i| !i.trim().is_empty()));
            assert_eq!(verified_at.is_some(), status == "verified");
            assert!(!category.is_empty() && !description.is_empty());
        }
    }

    // The inbox: an URGENT note for the regression in the documented format.
    let entries = inbox_entries(&files.inbox);
    let urgent: Vec<&(String, String)> = entries
        .iter()
        .filter(|(h, _)| h.ends_with(" **[URGENT]**"))
        .collect();
    assert!(
        urgent.iter().any(|(h, b)| h
            .starts_with(&format!("## {LOCAL_NOW} [self-heal] #self-heal"))
            && b.contains(&query_id)),
        "an URGENT note names the regressed improvement {query_id}: {entries:#?}"
    );
    assert!(
        !urgent.iter().any(|(_, b)| b.contains(&fetch_id)),
        "the verified fix is not URGENT: {entries:#?}"
    );
    assert!(
        entries.iter().any(|(h, b)| b.contains(&fetch_id)
            && !h.ends_with(" **[URGENT]**")
            && b.contains("verified")),
        "the verified fix is announced without urgency: {entries:#?}"
    );

    // ---- Bad inputs: each a tool error that changes nothing (row, audit trail, inbox).
    // A fresh proposal (untested) and a tested one, for the transitions that need them.
    let fresh = ok(
        &client,
        "propose_improvement",
        json!({"pattern_id": "not_found:read_file", "since": "-21d"}),
    )
    .await;
    let fresh_id = str_at(&fresh, "/improvement_id").to_string();
    let tested = ok(
        &client,
        "propose_improvement",
        json!({"pattern_id": "not_found:fetch_url", "since": "-21d"}),
    )
    .await;
    let tested_id = str_at(&tested, "/improvement_id").to_string();
    ok(
        &client,
        "test_improvement",
        json!({"improvement_id": tested_id}),
    )
    .await;

    let apply = |id: &str, at: Option<&str>| {
        let mut a = json!({"improvement_id": id, "changes_made": "again"});
        if let Some(at) = at {
            a["applied_at"] = json!(at);
        }
        a
    };
    let cases = [
        // (improvement whose state must not change, tool, arguments, expected in message)
        (
            fresh_id.as_str(),
            "verify_improvement",
            json!({"improvement_id": fresh_id}),
            "proposed",
        ),
        (
            fresh_id.as_str(),
            "rollback_improvement",
            json!({"improvement_id": fresh_id}),
            "proposed",
        ),
        (
            fresh_id.as_str(),
            "apply_improvement",
            apply(&fresh_id, None),
            "proposed",
        ),
        (
            fresh_id.as_str(),
            "test_improvement",
            json!({"improvement_id": fresh_id, "mode": "bogus"}),
            "simulation",
        ),
        (
            tested_id.as_str(),
            "verify_improvement",
            json!({"improvement_id": tested_id}),
            "tested",
        ),
        (
            tested_id.as_str(),
            "apply_improvement",
            apply(&tested_id, Some("2026-11-21T12:00:00Z")),
            "future",
        ),
        (
            tested_id.as_str(),
            "apply_improvement",
            apply(&tested_id, Some("yesterday")),
            "RFC 3339",
        ),
        (
            query_id.as_str(),
            "apply_improvement",
            apply(&query_id, None),
            "applied",
        ),
        (
            query_id.as_str(),
            "apply_improvement",
            apply(&query_id, Some(SHIFT)),
            "applied",
        ),
        (
            query_id.as_str(),
            "reject_improvement",
            json!({"improvement_id": query_id}),
            "applied",
        ),
        (
            fetch_id.as_str(),
            "reject_improvement",
            json!({"improvement_id": fetch_id}),
            "verified",
        ),
        (
            query_id.as_str(),
            "verify_improvement",
            json!({"improvement_id": query_id, "measurement_window_days": 0}),
            "1 to 90",
        ),
        (
            query_id.as_str(),
            "verify_improvement",
            json!({"improvement_id": query_id, "measurement_window_days": 1000}),
            "1 to 90",
        ),
        (
            fetch_id.as_str(),
            "apply_improvement",
            apply(&fetch_id, Some(SHIFT)),
            "verified",
        ),
    ];
    let inbox_before = inbox_snapshot(&files.inbox);
    for (target, tool, args, needle) in &cases {
        let before = get(&client, target).await;
        let msg = tool_error(&client, tool, args.clone()).await;
        assert!(
            msg.contains(needle),
            "{tool} {args}: message {msg:?} should mention {needle:?}"
        );
        assert_eq!(
            get(&client, target).await,
            before,
            "{tool} {args} changed {target}"
        );
    }
    // Unknown improvement on every lifecycle tool.
    let list_before = ok(&client, "list_improvements", json!({"limit": 100})).await;
    for (tool, args) in [
        ("get_improvement", json!({"improvement_id": "imp-nope"})),
        ("test_improvement", json!({"improvement_id": "imp-nope"})),
        ("apply_improvement", apply("imp-nope", None)),
        ("verify_improvement", json!({"improvement_id": "imp-nope"})),
        (
            "rollback_improvement",
            json!({"improvement_id": "imp-nope"}),
        ),
        ("reject_improvement", json!({"improvement_id": "imp-nope"})),
    ] {
        let msg = tool_error(&client, tool, args.clone()).await;
        assert!(
            msg.contains("imp-nope") && msg.contains("list_improvements"),
            "{tool} {args}: {msg:?}"
        );
    }
    assert_eq!(
        ok(&client, "list_improvements", json!({"limit": 100})).await,
        list_before
    );
    // Rejecting the fresh proposal, then what a rejected improvement refuses.
    let r = ok(
        &client,
        "reject_improvement",
        json!({"improvement_id": fresh_id, "reason": "not worth it"}),
    )
    .await;
    assert_eq!(
        (str_at(&r, "/status"), r["changed"].as_bool()),
        ("rejected", Some(true))
    );
    for (tool, args) in [
        ("apply_improvement", apply(&fresh_id, Some(SHIFT))),
        ("verify_improvement", json!({"improvement_id": fresh_id})),
        ("rollback_improvement", json!({"improvement_id": fresh_id})),
        ("test_improvement", json!({"improvement_id": fresh_id})),
    ] {
        let before = get(&client, &fresh_id).await;
        let msg = tool_error(&client, tool, args.clone()).await;
        assert!(msg.contains("rejected"), "{tool} {args}: {msg:?}");
        assert_eq!(get(&client, &fresh_id).await, before, "{tool} {args}");
    }
    let inbox_after_bad = inbox_snapshot(&files.inbox);
    assert_eq!(
        inbox_after_bad, inbox_before,
        "bad calls (and a reject) write no note"
    );

    // ---- Roll back the regression; a retry is an idempotent no-op.
    let r = ok(
        &client,
        "rollback_improvement",
        json!({"improvement_id": query_id, "reason": "verification regressed"}),
    )
    .await;
    assert_eq!(str_at(&r, "/status"), "rolled_back", "{r}");
    assert_eq!(r["changed"], json!(true), "{r}");
    let after_first = get(&client, &query_id).await;
    let r = ok(
        &client,
        "rollback_improvement",
        json!({"improvement_id": query_id}),
    )
    .await;
    assert_eq!(str_at(&r, "/status"), "rolled_back", "{r}");
    assert_eq!(
        r["changed"],
        json!(false),
        "a second rollback changes nothing: {r}"
    );
    let imp = get(&client, &query_id).await;
    assert_eq!(imp, after_first, "the retry left no trace");
    let mut expect = trail("applied");
    expect.push(("rollback".into(), "rolled_back".into()));
    assert_eq!(audit_actions(&imp), expect, "{imp}");
    let conn = rusqlite::Connection::open_with_flags(
        &files.db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let status: String = conn
        .query_row(
            "SELECT status FROM improvements WHERE id = ?1",
            [&query_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "rolled_back");
    // The day file is still well formed after the rollback's note.
    assert!(inbox_entries(&files.inbox).len() > entries.len());
    client.cancel().await.unwrap();
}
