//! self-healing-mcp's own JSONL: one object per tool call, so that any framework can emit
//! its history with a few lines of code (documented in README, "Importing histories").
//!
//! ```json
//! {"run": "r-42", "agent": "triage", "tool": "read_file", "time": "2026-01-30T12:00:00Z",
//!  "duration": 1234, "is_error": true, "error_type": "timeout",
//!  "message": "read timed out after 1200 ms", "input": {"path": "a.txt"}}
//! ```
//!
//! Required: `run`, `tool`, `time` (when the call started: RFC 3339, or Unix seconds/ms).
//! Optional: `call_id` (else a digest of the line, so a repeated line is one call),
//! `agent`, `duration` (ms), `is_error` (bool or 0/1; absent = failed when `error_type` is
//! set), `error_type`, `message` (the result or error text; any JSON is kept as text),
//! `input` (the call's arguments), `exit_code`, and for the run: `model`, `cwd`, `workflow`,
//! `task`, `run_status` (`running|completed|failed|cancelled`). The run id is `run` as given;
//! the call ends at `time + duration`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::claude::flag;
use crate::model::{CallEnd, CallStart, Output, Record, RunFacts, RunStatus, SourceFile};
use crate::text::{content_text, parse_ts, raw_to_text, task_of};

#[derive(Deserialize)]
struct Call<'a> {
    #[serde(borrow, default)]
    run: Option<&'a RawValue>,
    #[serde(borrow, default, alias = "tool_name", alias = "name")]
    tool: Option<Cow<'a, str>>,
    #[serde(
        borrow,
        default,
        alias = "timestamp",
        alias = "ts",
        alias = "start_time"
    )]
    time: Option<&'a RawValue>,
    #[serde(borrow, default, alias = "duration_ms")]
    duration: Option<&'a RawValue>,
    #[serde(borrow, default)]
    is_error: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error_type: Option<Cow<'a, str>>,
    #[serde(borrow, default, alias = "result", alias = "error")]
    message: Option<&'a RawValue>,
    #[serde(borrow, default, alias = "arguments")]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    call_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    agent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    cwd: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    workflow: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    task: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    run_status: Option<Cow<'a, str>>,
    #[serde(default)]
    exit_code: Option<i64>,
}

fn number(raw: &RawValue) -> Option<f64> {
    raw.get()
        .trim_matches('"')
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

/// Reads one line.
pub fn line(bytes: &[u8], line_no: u64, _source: &SourceFile, out: &mut Output) {
    let call: Call<'_> = match serde_json::from_slice(bytes) {
        Ok(c) => c,
        Err(e) => {
            out.skip(
                line_no,
                crate::json_skip_reason(&e, "a self-heal JSONL call"),
            );
            return;
        }
    };
    let run = call
        .run
        .map(raw_to_text)
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty() && r != "null");
    let Some(run) = run else {
        out.skip(line_no, "JSONL call without `run`");
        return;
    };
    let Some(tool) = call
        .tool
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        out.skip(line_no, "JSONL call without `tool`");
        return;
    };
    let Some(at) = call.time.and_then(|t| parse_ts(&raw_to_text(t))) else {
        out.skip(line_no, "JSONL call without a readable `time`");
        return;
    };
    let duration = call
        .duration
        .and_then(number)
        .filter(|d| *d >= 0.0)
        .map(|d| d.round() as i64);
    let error_type = call
        .error_type
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string);
    let is_error = match call.is_error {
        Some(raw) if raw.get() != "null" => flag(Some(raw)),
        _ => error_type.is_some(),
    };
    let call_id = match call.call_id.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => c.to_string(),
        None => {
            let digest = Sha256::digest(bytes);
            let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
            format!("line-{hex}")
        }
    };
    let mut facts = RunFacts::new(run.clone());
    facts.agent = call.agent.as_deref().map(str::to_string);
    facts.model = call.model.as_deref().map(str::to_string);
    facts.cwd = call.cwd.as_deref().map(str::to_string);
    facts.workflow = call.workflow.as_deref().map(str::to_string);
    facts.task = call.task.as_deref().and_then(task_of);
    facts.status = call.run_status.as_deref().and_then(RunStatus::parse);
    facts.at_ms = Some(at);
    out.push(Record::Run(facts));
    out.push(Record::Start(CallStart {
        run_id: run.clone(),
        call_id: call_id.clone(),
        tool: tool.to_string(),
        at_ms: Some(at),
        arguments: call
            .input
            .map(|i| i.get().to_string())
            .unwrap_or_else(|| "{}".into()),
    }));
    let end = at + duration.unwrap_or(0);
    out.push(Record::End(CallEnd {
        run_id: run.clone(),
        call_id,
        tool: Some(tool.to_string()),
        at_ms: Some(end),
        result: call.message.map(content_text).unwrap_or_default(),
        is_error,
        duration_ms: duration,
        error_type,
        exit_code: call.exit_code,
        interrupted: false,
        status: None,
    }));
    out.push(Record::Run(RunFacts {
        at_ms: Some(end),
        ..RunFacts::new(run)
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Output {
        let mut out = Output::default();
        for (i, l) in text.lines().enumerate() {
            line(l.as_bytes(), i as u64 + 1, &SourceFile::default(), &mut out);
        }
        out
    }

    #[test]
    fn reads_the_documented_example() {
        let out = read(
            r#"{"run": "r-42", "agent": "triage", "tool": "read_file", "time": "2026-01-30T12:00:00Z", "duration": 1234, "is_error": true, "error_type": "timeout", "message": "read timed out after 1200 ms", "input": {"path": "a.txt"}}"#,
        );
        assert!(out.skips.is_empty());
        let Some(Record::End(end)) = out.records.get(2) else {
            panic!("{:?}", out.records)
        };
        assert!(end.is_error);
        assert_eq!(end.error_type.as_deref(), Some("timeout"));
        assert_eq!(end.duration_ms, Some(1234));
        assert_eq!(end.at_ms, parse_ts("2026-01-30T12:00:01.234Z"));
        assert!(end.call_id.starts_with("line-"));
        let Some(Record::Start(start)) = out.records.get(1) else {
            panic!("{:?}", out.records)
        };
        assert_eq!(start.arguments, r#"{"path": "a.txt"}"#);
    }

    #[test]
    fn missing_fields_are_counted_skips() {
        let out = read(
            "{\"tool\":\"t\",\"time\":1}\n{\"run\":\"r\",\"time\":1}\n{\"run\":\"r\",\"tool\":\"t\",\"time\":\"later\"}\n[1]",
        );
        assert_eq!(out.skips.len(), 4);
        assert!(out.records.is_empty());
    }

    #[test]
    fn error_type_alone_marks_a_failure_and_aliases_are_read() {
        let out = read(
            r#"{"run":7,"tool_name":"q","timestamp":1769774400,"duration_ms":5,"error_type":"timeout","result":{"code":7}}"#,
        );
        let Some(Record::End(end)) = out.records.get(2) else {
            panic!("{:?}", out.records)
        };
        assert!(end.is_error);
        assert_eq!(end.run_id, "7");
        assert_eq!(end.result, r#"{"code":7}"#);
    }
}
