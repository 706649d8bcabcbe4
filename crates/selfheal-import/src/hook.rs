//! Claude Code hook events (the JSON a hook command reads on stdin) as records, so that
//! `self-heal hook` appends what happens as it happens. Calls keep the transcript's ids
//! (`claude-code:<session_id>`, `tool_use_id`), so importing the transcript later adds nothing
//! the hook already wrote.
//!
//! - `SessionStart` → the run, `running` (with `model`, `cwd`); `UserPromptSubmit` → its task
//!   (the first prompt) and `running` again; `Stop`, `SubagentStop`, `SessionEnd` →
//!   `completed`.
//! - `PreToolUse` → the call's start (so `PostToolUse` can measure the duration);
//! - `PostToolUse` → the call's end, its text the flattened `tool_response` (a Bash
//!   response's stdout and stderr), its duration the response's `durationMs` when present,
//!   else the time since `PreToolUse`, else unknown;
//! - `PostToolUseFailure` → a failed end with `error` as the text, `exit_code` from a leading
//!   `Exit code N`, and `interrupted` from `is_interrupt`.
//!
//! Common fields: `session_id`, `transcript_path`, `cwd`, `hook_event_name`, and `agent_id`
//! in subagents (whose calls belong to `claude-code:<session_id>:agent-<agent_id>`).

use serde::Deserialize;
use serde_json::Value;

use crate::claude::{AGENT, run_id};
use crate::model::{CallEnd, CallStart, Record, RunFacts, RunStatus};
use selfheal_core::shell::leading_exit_code;

use crate::text::task_of;

#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    transcript_path: Option<String>,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    hook_event_name: Option<String>,
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default)]
    model: Option<Value>,
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default)]
    tool_name: Option<String>,
    #[serde(default)]
    tool_input: Option<Value>,
    #[serde(default)]
    tool_use_id: Option<String>,
    #[serde(default)]
    tool_response: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    is_interrupt: Option<bool>,
}

/// What one hook event means for the history.
#[derive(Debug)]
pub struct HookEvent {
    pub event: String,
    pub records: Vec<Record>,
    pub transcript_path: Option<String>,
}

/// The text of a tool's response: a string as is, Bash's stdout and stderr, a content list's
/// texts, anything else compact JSON.
pub fn response_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Object(o) if o.contains_key("stdout") || o.contains_key("stderr") => {
            let part = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or_default();
            match (part("stdout"), part("stderr")) {
                (out, "") => out.to_string(),
                ("", err) => err.to_string(),
                (out, err) => format!("{out}\n{err}"),
            }
        }
        Value::Object(o)
            if o.get("content")
                .is_some_and(|c| c.is_array() || c.is_string()) =>
        {
            let raw = o
                .get("content")
                .map(Value::to_string)
                .and_then(|t| serde_json::value::RawValue::from_string(t).ok());
            raw.map(|r| crate::text::content_text(&r))
                .unwrap_or_default()
        }
        Value::Array(_) => serde_json::value::RawValue::from_string(v.to_string())
            .map(|r| crate::text::content_text(&r))
            .unwrap_or_default(),
        other => other.to_string(),
    }
}

fn recorded_duration(v: Option<&Value>) -> Option<i64> {
    let o = v?.as_object()?;
    ["durationMs", "duration_ms", "totalDurationMs"]
        .iter()
        .find_map(|k| o.get(*k).and_then(Value::as_f64))
        .filter(|d| d.is_finite() && *d >= 0.0)
        .map(|d| d.round() as i64)
}

/// Maps one hook input to records, at `now_ms`.
pub fn records(input: &[u8], now_ms: i64) -> Result<HookEvent, String> {
    let input: Input =
        serde_json::from_slice(input).map_err(|e| format!("not a Claude Code hook event ({e})"))?;
    let session = input
        .session_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or("hook event without session_id")?;
    let event = input.hook_event_name.clone().unwrap_or_default();
    let agent_id = input.agent_id.as_deref().filter(|a| !a.is_empty());
    let run = run_id(session, agent_id);
    let mut facts = RunFacts::new(run.clone());
    facts.agent = Some(AGENT.into());
    facts.cwd = input.cwd.clone();
    facts.subagent = Some(agent_id.is_some());
    facts.parent_run_id = agent_id.map(|_| run_id(session, None));
    facts.at_ms = Some(now_ms);
    let mut records = Vec::new();
    let call_id = || {
        input
            .tool_use_id
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| format!("{event} event without tool_use_id"))
    };
    let tool = || {
        input
            .tool_name
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("{event} event without tool_name"))
    };
    let arguments = || {
        input
            .tool_input
            .as_ref()
            .map_or_else(|| "{}".to_string(), Value::to_string)
    };
    match event.as_str() {
        "SessionStart" => {
            facts.status = Some(RunStatus::Running);
            facts.model = match &input.model {
                Some(Value::String(m)) => Some(m.clone()),
                Some(Value::Object(o)) => o
                    .get("id")
                    .or_else(|| o.get("display_name"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                _ => None,
            };
        }
        "UserPromptSubmit" => {
            // A new turn: the session is running again (until Stop).
            facts.status = Some(RunStatus::Running);
            facts.task = input.prompt.as_deref().and_then(task_of);
        }
        "Stop" | "SubagentStop" | "SessionEnd" => facts.status = Some(RunStatus::Completed),
        "PreToolUse" => records.push(Record::Start(CallStart {
            run_id: run.clone(),
            call_id: call_id()?,
            tool: tool()?,
            at_ms: Some(now_ms),
            arguments: arguments(),
        })),
        "PostToolUse" | "PostToolUseFailure" => {
            let (call_id, tool) = (call_id()?, tool()?);
            // Without PreToolUse the start is unknown: no duration is derived from it.
            records.push(Record::Start(CallStart {
                run_id: run.clone(),
                call_id: call_id.clone(),
                tool: tool.clone(),
                at_ms: None,
                arguments: arguments(),
            }));
            let failed = event == "PostToolUseFailure";
            let result = if failed {
                input.error.as_ref().map(response_text).unwrap_or_default()
            } else {
                input
                    .tool_response
                    .as_ref()
                    .map(response_text)
                    .unwrap_or_default()
            };
            let interrupted = input.is_interrupt == Some(true)
                || input
                    .tool_response
                    .as_ref()
                    .and_then(|r| r.get("interrupted"))
                    .and_then(Value::as_bool)
                    == Some(true);
            records.push(Record::End(CallEnd {
                run_id: run.clone(),
                call_id,
                tool: Some(tool),
                at_ms: Some(now_ms),
                exit_code: if failed {
                    leading_exit_code(&result)
                } else {
                    None
                },
                result,
                is_error: failed,
                duration_ms: recorded_duration(input.tool_response.as_ref()),
                error_type: None,
                interrupted,
                status: None,
            }));
        }
        _ => {}
    }
    records.insert(0, Record::Run(facts));
    Ok(HookEvent {
        event,
        records,
        transcript_path: input.transcript_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_769_774_400_000;

    fn ends(e: &HookEvent) -> Vec<&CallEnd> {
        e.records
            .iter()
            .filter_map(|r| match r {
                Record::End(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn tool_events_keep_the_transcript_ids() {
        let ok = records(
            br#"{"session_id":"s1","transcript_path":"/t/s1.jsonl","cwd":"/w/app","hook_event_name":"PostToolUse","permission_mode":"default",
                 "tool_name":"Bash","tool_input":{"command":"ls"},"tool_use_id":"toolu_1",
                 "tool_response":{"stdout":"a\nb","stderr":"","interrupted":false}}"#,
            NOW,
        )
        .unwrap();
        let e = ends(&ok);
        assert_eq!(e[0].run_id, "claude-code:s1");
        assert_eq!(e[0].call_id, "toolu_1");
        assert_eq!(e[0].result, "a\nb");
        assert!(!e[0].is_error);
        assert_eq!(ok.transcript_path.as_deref(), Some("/t/s1.jsonl"));

        let failed = records(
            br#"{"session_id":"s1","hook_event_name":"PostToolUseFailure","agent_id":"ag",
                 "tool_name":"Bash","tool_input":{"command":"make"},"tool_use_id":"toolu_2",
                 "error":"Exit code 2\nmake: *** No rule to make target","is_interrupt":true}"#,
            NOW,
        )
        .unwrap();
        let e = ends(&failed);
        assert_eq!(e[0].run_id, "claude-code:s1:agent-ag");
        assert!(e[0].is_error && e[0].interrupted);
        assert_eq!(e[0].exit_code, Some(2));
    }

    #[test]
    fn session_events_set_the_status() {
        let status = |json: &[u8]| match &records(json, NOW).unwrap().records[0] {
            Record::Run(f) => f.status,
            _ => None,
        };
        assert_eq!(
            status(br#"{"session_id":"s","hook_event_name":"SessionStart","source":"startup","model":"m"}"#),
            Some(RunStatus::Running)
        );
        assert_eq!(
            status(br#"{"session_id":"s","hook_event_name":"SessionEnd","reason":"other"}"#),
            Some(RunStatus::Completed)
        );
        assert_eq!(
            status(br#"{"session_id":"s","hook_event_name":"Notification"}"#),
            None
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(records(b"", NOW).is_err());
        assert!(records(b"[1]", NOW).is_err());
        assert!(records(br#"{"hook_event_name":"PostToolUse"}"#, NOW).is_err());
        assert!(
            records(
                br#"{"session_id":"s","hook_event_name":"PostToolUse"}"#,
                NOW
            )
            .is_err()
        );
    }

    #[test]
    fn responses_flatten_to_text() {
        let v: Value =
            serde_json::from_str(r#"{"content":[{"type":"text","text":"x"},{"type":"image"}]}"#)
                .unwrap();
        assert_eq!(response_text(&v), "x\n[image]");
        assert_eq!(response_text(&Value::String("s".into())), "s");
        assert_eq!(
            response_text(&serde_json::json!({"filePath":"a"})),
            r#"{"filePath":"a"}"#
        );
    }
}
