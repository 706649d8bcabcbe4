//! The `real` profile against an independent reading of the database it writes: calls are
//! paired start-to-complete (by `call_id`, else the most recent unmatched start of the tool),
//! outcomes and programs are recognised from the rows, arguments are canonicalised per the
//! retry rule, and every count of the ground truth is re-derived from that reading.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use rusqlite::Connection;
use serde_json::Value;

use selfheal_synth::{GroundTruth, Profile, SynthConfig, append_profile_events, generate};

const SHELL_TOOLS: [&str; 6] = [
    "Bash",
    "exec_command",
    "shell",
    "run_shell_command",
    "bash",
    "execute_command",
];
const VOLATILE_KEYS: [&str; 5] = ["request_id", "attempt", "retry", "nonce", "timestamp"];
const REJECTIONS: [&str; 3] = [
    "The user doesn't want to proceed with this tool use",
    "exec command rejected by user",
    "User denied execution",
];

fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

fn make(seed: u64, events: u64, days: u32) -> (Connection, GroundTruth) {
    let mut conn = Connection::open_in_memory().unwrap();
    let mut cfg = SynthConfig::real(seed, events, end());
    cfg.days = days;
    let truth = generate(&mut conn, &cfg).unwrap();
    (conn, truth)
}

fn parse_ts(s: &str) -> i64 {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return t.timestamp_millis();
    }
    let n = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("unparseable timestamp {s:?}: {e}"));
    Utc.from_utc_datetime(&n).timestamp_millis()
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Canonical JSON of arguments with volatile parts removed, keys sorted.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m
                .iter()
                .filter(|(k, v)| !VOLATILE_KEYS.contains(&k.as_str()) && !volatile_value(v))
                .map(|(k, _)| k)
                .collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push(':');
                canonical(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if volatile_value(x) {
                    out.push_str("null");
                } else {
                    canonical(x, out);
                }
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn volatile_value(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| is_uuid(s) || DateTime::parse_from_rfc3339(s).is_ok())
}

/// The program a shell command runs: the first word after `cd … &&`, environment
/// assignments, `sudo` and `timeout N`; the basename.
fn program(cmd: &str) -> String {
    let mut rest = cmd.trim();
    if rest.starts_with("cd ")
        && let Some(i) = rest.find("&&")
    {
        rest = rest[i + 2..].trim_start();
    }
    let mut words = rest.split_whitespace().peekable();
    loop {
        match words.peek() {
            Some(w) if w.contains('=') && !w.starts_with('-') => {
                words.next();
            }
            Some(&"sudo") => {
                words.next();
            }
            Some(&"timeout") => {
                words.next();
                words.next();
            }
            _ => break,
        }
    }
    let first = words.next().unwrap_or("");
    first.rsplit('/').next().unwrap_or(first).to_owned()
}

fn command_of(tool: &str, args: &Value) -> Option<String> {
    if !SHELL_TOOLS.contains(&tool) {
        return None;
    }
    match tool {
        "exec_command" => args["cmd"].as_str().map(str::to_owned),
        "shell" => args["command"][2].as_str().map(str::to_owned),
        _ => args["command"].as_str().map(str::to_owned),
    }
}

/// The exit status a shell call reports (key, or the harness's text).
fn exit_status(v: &Value, text: &str) -> Option<i64> {
    if let Some(e) = v["exit_code"].as_i64() {
        return Some(e);
    }
    for marker in ["Exit code ", "Process exited with code ", "Exit Code: "] {
        if let Some(i) = text.find(marker) {
            let digits: String = text[i + marker.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                return Some(n);
            }
        }
    }
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|o| o["metadata"]["exit_code"].as_i64())
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Ok,
    Failure,
    Rejected,
    Cancelled,
    Benign,
}

#[derive(Clone, Debug)]
struct Call {
    run: String,
    step: i64,
    at: i64,
    tool: String,
    program: Option<String>,
    args: String,
    kind: Kind,
    text: String,
    error_type: Option<String>,
    recovered: bool,
}

/// An unmatched start: tool, call id, canonical arguments, program.
type Start = (String, Option<String>, String, Option<String>);

/// Every completed call of the history, in run order, read independently.
fn read_calls(conn: &Connection) -> Vec<Call> {
    let mut stmt = conn
        .prepare(
            "SELECT run_id, step_index, event_type, event_data, timestamp FROM run_events \
             ORDER BY id",
        )
        .unwrap();
    let rows: Vec<(String, i64, String, String, String)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut calls = Vec::new();
    let mut open: HashMap<String, Vec<Start>> = HashMap::new();
    for (run, step, kind, data, ts) in rows {
        let v: Value = serde_json::from_str(&data).unwrap();
        let tool = v["name"]
            .as_str()
            .or_else(|| v["tool_name"].as_str())
            .map(str::to_owned);
        match kind.as_str() {
            "tool_start" => {
                let tool = tool.unwrap();
                let mut c = String::new();
                canonical(&v["arguments"], &mut c);
                let prog = command_of(&tool, &v["arguments"]).map(|c| program(&c));
                open.entry(run).or_default().push((
                    tool,
                    v["call_id"].as_str().map(str::to_owned),
                    c,
                    prog,
                ));
            }
            "tool_complete" => {
                let tool = tool.unwrap();
                let starts = open.get_mut(&run).unwrap();
                let pos = match v["call_id"].as_str() {
                    Some(id) => starts
                        .iter()
                        .position(|s| s.1.as_deref() == Some(id))
                        .unwrap(),
                    None => starts.iter().rposition(|s| s.0 == tool).unwrap(),
                };
                let (_, _, args, prog) = starts.remove(pos);
                let flagged =
                    matches!(v["is_error"], Value::Bool(true)) || v["is_error"].as_i64() == Some(1);
                let text = v["result"]
                    .as_str()
                    .or_else(|| v["error"].as_str())
                    .unwrap_or("")
                    .to_owned();
                let kind = if !flagged {
                    Kind::Ok
                } else if REJECTIONS.iter().any(|r| text.starts_with(r)) {
                    Kind::Rejected
                } else if text.starts_with("<tool_use_error>Cancelled: parallel tool call") {
                    Kind::Cancelled
                } else if prog
                    .as_deref()
                    .is_some_and(|p| ["grep", "rg", "diff", "test"].contains(&p))
                    && exit_status(&v, &text) == Some(1)
                {
                    Kind::Benign
                } else {
                    Kind::Failure
                };
                calls.push(Call {
                    run,
                    step,
                    at: parse_ts(&ts),
                    tool,
                    program: prog,
                    args,
                    kind,
                    text,
                    error_type: v["error_type"].as_str().map(str::to_owned),
                    recovered: false,
                });
            }
            _ => {}
        }
    }
    // Recovery by retry: one of the next 10 calls of the run is a success of the same tool
    // with the same canonical arguments.
    for i in 0..calls.len() {
        if calls[i].kind != Kind::Failure {
            continue;
        }
        let c = &calls[i];
        let recovered = calls[i + 1..]
            .iter()
            .take_while(|n| n.run == c.run)
            .take(10)
            .any(|n| n.kind == Kind::Ok && n.tool == c.tool && n.args == c.args);
        calls[i].recovered = recovered;
    }
    calls
}

#[test]
fn truth_matches_an_independent_reading() {
    let (conn, t) = make(5, 60_000, 9);
    assert_eq!(t.profile, "real");
    let calls = read_calls(&conn);
    assert_eq!(calls.len() as u64, t.tool_calls);
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64;
    assert_eq!(count("SELECT COUNT(*) FROM run_events"), t.total_events);
    assert_eq!(count("SELECT COUNT(*) FROM runs"), t.total_runs);

    // Calls and failures per tool.
    let mut by_tool: BTreeMap<String, u64> = BTreeMap::new();
    let mut fails_by_tool: BTreeMap<String, u64> = BTreeMap::new();
    for c in &calls {
        *by_tool.entry(c.tool.clone()).or_default() += 1;
        if c.kind == Kind::Failure {
            *fails_by_tool.entry(c.tool.clone()).or_default() += 1;
        }
    }
    assert_eq!(by_tool, t.calls_by_tool);
    assert_eq!(fails_by_tool, t.failures_by_tool);
    assert_eq!(fails_by_tool.values().sum::<u64>(), t.failed_calls);

    // Outcomes per (outcome, tool, program).
    let mut outcomes: BTreeMap<(String, String, Option<String>), (u64, u64)> = BTreeMap::new();
    for c in &calls {
        let o = match c.kind {
            Kind::Rejected => "rejected",
            Kind::Cancelled => "cancelled",
            Kind::Benign => "benign",
            _ => continue,
        };
        let e = outcomes
            .entry((o.to_owned(), c.tool.clone(), c.program.clone()))
            .or_default();
        e.0 += 1;
        e.1 += u64::from(c.at >= t.window_from_ms && c.at <= t.window_to_ms);
    }
    let truth_outcomes: BTreeMap<_, _> = t
        .outcomes
        .iter()
        .map(|o| {
            (
                (o.outcome.clone(), o.tool.clone(), o.program.clone()),
                (o.count, o.in_window),
            )
        })
        .collect();
    assert_eq!(outcomes, truth_outcomes);
    for o in ["rejected", "cancelled", "benign"] {
        assert!(outcomes.keys().any(|k| k.0 == o), "no {o} outcome");
    }

    // Every failure is exactly one occurrence of one cause, with its tool, program,
    // recorded type, time and recovery.
    let index: HashMap<(&str, i64), &Call> = calls
        .iter()
        .map(|c| ((c.run.as_str(), c.step), c))
        .collect();
    let mut seen = BTreeSet::new();
    for cause in &t.causes {
        assert_eq!(cause.occurrence_list.len() as u64, cause.occurrences);
        let mut runs = BTreeSet::new();
        let mut window = (0u64, BTreeSet::new(), 0u64);
        let (mut specific, mut generic, mut none, mut recovered) = (0, 0, 0, 0);
        for o in &cause.occurrence_list {
            let c = index[&(o.run_id.as_str(), o.step_index)];
            assert_eq!(c.kind, Kind::Failure, "{c:?}");
            assert_eq!(c.tool, cause.tool);
            assert_eq!(c.program, cause.program, "{}", c.args);
            assert_eq!(c.error_type, o.error_type);
            assert_eq!(c.at, o.at_ms);
            assert_eq!(c.recovered, o.recovered, "{c:?}");
            assert!(seen.insert((o.run_id.clone(), o.step_index)));
            runs.insert(o.run_id.clone());
            recovered += u64::from(o.recovered);
            if o.at_ms >= t.window_from_ms && o.at_ms <= t.window_to_ms {
                window.0 += 1;
                window.1.insert(o.run_id.clone());
                window.2 += u64::from(o.recovered);
            }
            match o.error_type.as_deref() {
                None => none += 1,
                Some("tool_error") if cause.class != "tool_error" => generic += 1,
                Some(other) => {
                    let expect = match cause.class.as_str() {
                        "network_error" => "transport_error",
                        c => c,
                    };
                    assert_eq!(other, expect, "{cause:?}");
                    specific += 1;
                }
            }
        }
        assert_eq!(runs.len() as u64, cause.runs);
        assert_eq!(recovered, cause.recovered);
        assert_eq!(
            (window.0, window.1.len() as u64, window.2),
            (
                cause.window.occurrences,
                cause.window.runs,
                cause.window.recovered
            )
        );
        assert_eq!(
            (specific, generic, none),
            (
                cause.recorded_specific,
                cause.recorded_generic,
                cause.recorded_none
            )
        );
        assert_eq!(
            cause.first_seen_ms,
            cause.occurrence_list.iter().map(|o| o.at_ms).min()
        );
        assert_eq!(
            cause.last_seen_ms,
            cause.occurrence_list.iter().map(|o| o.at_ms).max()
        );
        assert_eq!(
            cause.program.is_some(),
            SHELL_TOOLS.contains(&cause.tool.as_str())
        );
    }
    assert_eq!(
        seen.len() as u64,
        t.failed_calls,
        "every failure is one occurrence"
    );
    let w = t
        .causes_between(t.window_from_ms, t.window_to_ms)
        .expect("occurrences collected");
    for (c, counts) in w {
        assert_eq!(counts, c.window);
    }
}

#[test]
fn shaped_like_real_histories() {
    let (conn, t) = make(7, 100_000, 9);
    let calls = read_calls(&conn);

    // Tools, shell tools and their programs.
    assert!(
        t.calls_by_tool.len() >= 40,
        "{} tools",
        t.calls_by_tool.len()
    );
    for shell in SHELL_TOOLS {
        let progs: BTreeSet<_> = calls
            .iter()
            .filter(|c| c.tool == shell)
            .filter_map(|c| c.program.clone())
            .collect();
        assert!(progs.len() >= 8, "{shell}: {progs:?}");
    }
    // Causes: at 11k events a day (the density of 1M events over 90 days), over 200 with at
    // least 3 occurrences in the last 7 days; most classes present.
    let in_window = t.causes_in_window(3).count();
    assert!(in_window >= 200, "{in_window} causes in the window");
    let classes: BTreeSet<_> = t.causes.iter().map(|c| c.class.as_str()).collect();
    assert_eq!(classes.len(), 14, "{classes:?}");
    // The same cause recorded with and without an error_type, and with the generic one.
    let mixed = t
        .causes
        .iter()
        .filter(|c| c.recorded_specific > 0 && c.recorded_none > 0 && c.recorded_generic > 0)
        .count();
    assert!(mixed >= 15, "{mixed} causes recorded all three ways");

    // Messages: 100 to 2000 bytes, many templates per cause.
    let failures: Vec<&Call> = calls.iter().filter(|c| c.kind == Kind::Failure).collect();
    let lens: Vec<usize> = failures.iter().map(|c| c.text.len()).collect();
    let outside: Vec<&usize> = lens
        .iter()
        .filter(|&&l| !(100..=2000).contains(&l))
        .collect();
    assert!(
        outside.is_empty(),
        "messages outside 100..=2000 bytes: {outside:?}"
    );
    assert!(lens.iter().filter(|&&l| l > 1_000).count() > 20);
    let index: HashMap<(&str, i64), &Call> = calls
        .iter()
        .map(|c| ((c.run.as_str(), c.step), c))
        .collect();
    let mut shapes_per_cause = Vec::new();
    for cause in t.causes.iter().filter(|c| c.occurrences >= 60) {
        let shapes: BTreeSet<String> = cause
            .occurrence_list
            .iter()
            .map(|o| shape(&index[&(o.run_id.as_str(), o.step_index)].text))
            .collect();
        shapes_per_cause.push(shapes.len());
    }
    shapes_per_cause.sort_unstable();
    let median = shapes_per_cause[shapes_per_cause.len() / 2];
    assert!(
        median >= 10,
        "median templates per cause {median}: {shapes_per_cause:?}"
    );

    // Retry loops with the same arguments (some recovering, some not) and agents moving on.
    let (mut repeated, mut repeated_recovered, mut moved_on) = (0, 0, 0);
    for (i, c) in calls.iter().enumerate() {
        if c.kind != Kind::Failure {
            continue;
        }
        let next: Vec<&Call> = calls[i + 1..]
            .iter()
            .take_while(|n| n.run == c.run)
            .take(10)
            .collect();
        if next.iter().any(|n| n.tool == c.tool && n.args == c.args) {
            repeated += 1;
            repeated_recovered += u64::from(c.recovered);
        }
        if next
            .first()
            .is_some_and(|n| n.tool == c.tool && n.args != c.args)
        {
            moved_on += 1;
        }
    }
    let n = failures.len() as u64;
    assert!(repeated * 5 > n, "{repeated} of {n} failures repeated");
    assert!(repeated_recovered > 0 && repeated_recovered < repeated);
    assert!(
        moved_on * 10 > n,
        "{moved_on} of {n} failures followed by other arguments"
    );
    // Repeats whose arguments differ only in volatile parts.
    let raw_differs = conn
        .query_row(
            "SELECT COUNT(*) FROM run_events WHERE event_type = 'tool_start' \
             AND json_extract(event_data, '$.arguments.attempt') IS NOT NULL",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    assert!(raw_differs > 0);

    // Incidents: bursts of their class.
    assert!(!t.incidents.is_empty());
    assert!(
        t.incidents.iter().any(|i| i.failures >= 10),
        "{:?}",
        t.incidents
    );
}

/// A crude template of a message: numbers, paths and hex masked.
fn shape(text: &str) -> String {
    text.split_whitespace()
        .map(|w| {
            if w.contains('/') {
                "<p>"
            } else if w.chars().any(|c| c.is_ascii_digit()) {
                "<n>"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn deterministic_and_sized() {
    let (a, ta) = make(11, 20_000, 30);
    let (b, tb) = make(11, 20_000, 30);
    assert_eq!(ta, tb);
    let dump = |c: &Connection| {
        let mut s = c
            .prepare("SELECT run_id, step_index, event_type, event_data, timestamp FROM run_events ORDER BY id")
            .unwrap();
        s.query_map([], |r| {
            Ok(format!(
                "{}|{}|{}|{}|{}",
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?
            ))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
    };
    assert_eq!(dump(&a), dump(&b));
    let (c, _) = make(12, 20_000, 30);
    assert_ne!(dump(&a), dump(&c));
    for target in [5_000u64, 40_000] {
        let (_, t) = make(3, target, 10);
        let lo = target as f64 * 0.95;
        let hi = target as f64 * 1.05;
        assert!(
            (lo..=hi).contains(&(t.total_events as f64)),
            "{}",
            t.total_events
        );
    }
    // Without collection, counts stay and lists are empty.
    let mut conn = Connection::open_in_memory().unwrap();
    let mut cfg = SynthConfig::real(11, 20_000, end());
    cfg.collect_truth = false;
    let t = generate(&mut conn, &cfg).unwrap();
    assert!(t.causes.iter().all(|c| c.occurrence_list.is_empty()));
    assert_eq!(
        t.causes.iter().map(|c| c.occurrences).collect::<Vec<_>>(),
        ta.causes.iter().map(|c| c.occurrences).collect::<Vec<_>>()
    );
    assert!(t.causes_between(0, i64::MAX).is_none());
}

#[test]
fn runs_and_timestamps_are_consistent() {
    let (conn, t) = make(9, 30_000, 30);
    // Events of a run are contiguous, steps increase, time never goes back.
    let mut stmt = conn
        .prepare("SELECT run_id, step_index, timestamp FROM run_events ORDER BY id")
        .unwrap();
    let rows: Vec<(String, i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut finished = BTreeSet::new();
    let mut last: Option<(String, i64, i64)> = None;
    for (run, step, ts) in rows {
        let at = parse_ts(&ts);
        assert!(at <= end().timestamp_millis() && at >= t.begin.timestamp_millis());
        match &last {
            Some((r, s, a)) if *r == run => {
                assert!(step > *s);
                assert!(at >= *a, "time order in run {run}");
            }
            Some((r, _, _)) => {
                assert!(finished.insert(r.clone()));
            }
            None => {}
        }
        last = Some((run, step, at));
    }
    assert_eq!(t.stalled_runs.len(), 3);
    assert_eq!(t.live_running_runs.len(), 2);
    let by_status: BTreeMap<String, u64> = conn
        .prepare("SELECT status, COUNT(*) FROM runs GROUP BY status")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(by_status, t.runs_by_status);
    // run_metrics agree with the events where written.
    let bad: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM run_metrics m JOIN (SELECT run_id, COUNT(*) AS n FROM run_events \
             WHERE event_type = 'tool_complete' GROUP BY run_id) c ON c.run_id = m.run_id \
             WHERE m.total_tool_calls != c.n",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad, 0);
}

#[test]
fn append_writes_real_runs_after_existing_ones() {
    let (mut conn, t) = make(4, 10_000, 10);
    let at = end() + chrono::Duration::minutes(5);
    let n = append_profile_events(&mut conn, Profile::Real, 2, 3_000, at).unwrap();
    assert!((3_000..3_400).contains(&n), "{n}");
    let total: i64 = conn
        .query_row("SELECT COUNT(*) FROM run_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total as u64, t.total_events + n);
    let mut stmt = conn
        .prepare("SELECT timestamp FROM run_events ORDER BY id DESC LIMIT ?1")
        .unwrap();
    let at_ms = at.timestamp_millis();
    for ts in stmt
        .query_map([n as i64], |r| r.get::<_, String>(0))
        .unwrap()
    {
        let ms = parse_ts(&ts.unwrap());
        assert!(ms > at_ms - 3_600_000 - 1_000 && ms <= at_ms, "{ms}");
    }
    let shells: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM run_events WHERE id > ?1 AND event_type = 'tool_start' \
             AND json_extract(event_data, '$.name') IN ('Bash', 'exec_command', 'execute_command')",
            [t.total_events as i64],
            |r| r.get(0),
        )
        .unwrap();
    assert!(shells > 0);
}

#[test]
fn profile_names_round_trip() {
    for p in [Profile::Default, Profile::Real] {
        assert_eq!(p.as_str().parse::<Profile>().unwrap(), p);
        assert_eq!(p.to_string(), p.as_str());
    }
    assert!("bogus".parse::<Profile>().is_err());
}

/// At the benchmark's size and span (1M events over 90 days), at least 200 causes occur 3 or
/// more times in the last 7 days. Slow in debug builds: gated by `SELFHEAL_SLOW_TESTS=1`.
#[test]
fn two_hundred_causes_in_a_week_at_a_million_events() {
    if std::env::var_os("SELFHEAL_SLOW_TESTS").is_none() {
        return;
    }
    let mut conn = Connection::open_in_memory().unwrap();
    let mut cfg = SynthConfig::real(1, 1_000_000, end());
    cfg.days = 90;
    cfg.collect_truth = false;
    let t = generate(&mut conn, &cfg).unwrap();
    let n = t.causes_in_window(3).count();
    assert!(
        n >= 200,
        "{n} causes with >= 3 occurrences in the last 7 days"
    );
    assert!(t.calls_by_tool.len() >= 40);
}
