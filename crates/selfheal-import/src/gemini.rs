//! Gemini CLI chats (`~/.gemini/tmp/<project>/chats/session-*.json`): one JSON document per
//! session, rewritten as the session goes on, so it is re-read whole when it changes (calls
//! already imported are recognised by their ids).
//!
//! `{"sessionId", "startTime", "lastUpdated", "messages": [{"id", "timestamp", "type":
//! "user"|"gemini"|"info"|"error", "content", "model", "tokens", "toolCalls": [{"id", "name",
//! "args", "result": [{"functionResponse": {"response": {"output"|"error"}}}], "status",
//! "timestamp", "resultDisplay"}]}]}`.
//!
//! - run id `gemini-cli:<sessionId>`; the workflow is the agent (chats record no working
//!   directory); the task is the first user message; the model the last `gemini` message's.
//! - a tool call starts at its message's timestamp and ends at its own; its duration comes
//!   from those (it includes any wait for a person's confirmation). Failed unless `status`
//!   is `success`; `status` is kept, and `cancelled` is also `interrupted`.
//! - one iteration per `gemini` message, with `tokens.input` in and `tokens.output +
//!   tokens.thoughts` out.
//! - status: the last `gemini` reply → completed, an `error` message → failed,
//!   `Request cancelled.` → cancelled.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::model::{
    CallEnd, CallStart, Iteration, Output, Record, RunFacts, RunStatus, SourceFile,
};
use crate::text::{content_text, parse_ts, raw_to_text, task_of};

pub const AGENT: &str = "gemini-cli";

#[derive(Deserialize)]
struct Chat<'a> {
    #[serde(rename = "sessionId", borrow, default)]
    session_id: Option<Cow<'a, str>>,
    #[serde(rename = "startTime", borrow, default)]
    start_time: Option<Cow<'a, str>>,
    #[serde(rename = "lastUpdated", borrow, default)]
    last_updated: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    messages: Option<Vec<Message<'a>>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    tokens: Option<Tokens>,
    #[serde(rename = "toolCalls", borrow, default)]
    tool_calls: Option<Vec<ToolCall<'a>>>,
}

#[derive(Deserialize)]
struct Tokens {
    #[serde(default)]
    input: Option<u64>,
    #[serde(default)]
    output: Option<u64>,
    #[serde(default)]
    thoughts: Option<u64>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    args: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "resultDisplay", borrow, default)]
    result_display: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ResultPart<'a> {
    #[serde(rename = "functionResponse", borrow, default)]
    function_response: Option<FunctionResponse<'a>>,
}

#[derive(Deserialize)]
struct FunctionResponse<'a> {
    #[serde(borrow, default)]
    response: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Response<'a> {
    #[serde(borrow, default)]
    output: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

/// The text of a tool call's result: each response's `error` or `output`, else its JSON.
fn result_text(call: &ToolCall<'_>) -> String {
    let mut pieces = Vec::new();
    if let Some(parts) = call
        .result
        .and_then(|r| serde_json::from_str::<Vec<ResultPart<'_>>>(r.get()).ok())
    {
        for response in parts
            .iter()
            .filter_map(|p| p.function_response.as_ref())
            .filter_map(|f| f.response)
        {
            let piece = match serde_json::from_str::<Response<'_>>(response.get()) {
                Ok(Response { error: Some(e), .. }) if e.get() != "null" => raw_to_text(e),
                Ok(Response {
                    output: Some(o), ..
                }) => raw_to_text(o),
                _ => response.get().to_string(),
            };
            pieces.push(piece);
        }
    }
    if pieces.is_empty()
        && let Some(d) = call.result_display.filter(|d| d.get().starts_with('"'))
    {
        pieces.push(raw_to_text(d));
    }
    pieces.join("\n")
}

/// Reads a whole chat file.
pub fn parse(bytes: &[u8], _source: &SourceFile, out: &mut Output) {
    let chat: Chat<'_> = match serde_json::from_slice(bytes) {
        Ok(c) => c,
        Err(e) => {
            out.skip(0, crate::json_skip_reason(&e, "a Gemini CLI chat"));
            return;
        }
    };
    let Some(session) = chat.session_id.as_deref().filter(|s| !s.is_empty()) else {
        out.skip(0, "Gemini CLI chat without a sessionId");
        return;
    };
    let messages = chat.messages.unwrap_or_default();
    if messages.is_empty() {
        return;
    }
    let run = format!("gemini-cli:{session}");
    let mut facts = RunFacts::new(run.clone());
    facts.agent = Some(AGENT.into());
    facts.at_ms = chat.start_time.as_deref().and_then(parse_ts);
    out.push(Record::Run(facts));
    for (i, m) in messages.iter().enumerate() {
        let at = m.timestamp.as_deref().and_then(parse_ts);
        let mut facts = RunFacts::new(run.clone());
        facts.at_ms = at;
        match m.kind.as_deref().unwrap_or_default() {
            "user" => facts.task = m.content.map(content_text).as_deref().and_then(task_of),
            "gemini" => {
                facts.status = Some(RunStatus::Completed);
                facts.model = m.model.as_deref().map(str::to_string);
                let key =
                    m.id.as_deref()
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("message-{i}"));
                out.push(Record::Iteration(Iteration {
                    run_id: run.clone(),
                    key,
                    at_ms: at,
                    tokens_in: m.tokens.as_ref().and_then(|t| t.input),
                    tokens_out: m
                        .tokens
                        .as_ref()
                        .and_then(|t| match (t.output, t.thoughts) {
                            (None, None) => None,
                            (o, th) => Some(o.unwrap_or(0) + th.unwrap_or(0)),
                        }),
                }));
            }
            "error" => {
                facts.status = Some(RunStatus::Failed);
                facts.error = m.content.map(content_text);
            }
            "info" => {
                let text = m.content.map(content_text).unwrap_or_default();
                if text.trim_start().starts_with("Request cancelled") {
                    facts.status = Some(RunStatus::Cancelled);
                }
            }
            _ => {}
        }
        out.push(Record::Run(facts));
        for (j, call) in m.tool_calls.iter().flatten().enumerate() {
            let Some(name) = call.name.as_deref() else {
                out.skip(0, format!("tool call {j} of message {i} has no name"));
                continue;
            };
            let call_id = call
                .id
                .as_deref()
                .map(str::to_string)
                .unwrap_or_else(|| format!("message-{i}-call-{j}"));
            let ended = call.timestamp.as_deref().and_then(parse_ts).or(at);
            let status = call.status.as_deref().unwrap_or("success").to_string();
            out.push(Record::Start(CallStart {
                run_id: run.clone(),
                call_id: call_id.clone(),
                tool: name.to_string(),
                at_ms: at,
                arguments: call
                    .args
                    .map(|a| a.get().to_string())
                    .unwrap_or_else(|| "{}".into()),
            }));
            out.push(Record::End(CallEnd {
                run_id: run.clone(),
                call_id,
                tool: Some(name.to_string()),
                at_ms: ended,
                result: result_text(call),
                is_error: status != "success",
                duration_ms: None,
                error_type: None,
                exit_code: None,
                interrupted: status == "cancelled",
                status: Some(status),
            }));
        }
    }
    let mut last = RunFacts::new(run);
    last.at_ms = chat.last_updated.as_deref().and_then(parse_ts);
    out.push(Record::Run(last));
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT: &str = r#"{
      "sessionId": "g-1", "projectHash": "abc", "startTime": "2026-01-30T10:00:00.000Z",
      "lastUpdated": "2026-01-30T10:05:00.000Z",
      "messages": [
        {"id": "u1", "timestamp": "2026-01-30T10:00:01.000Z", "type": "user", "content": "list the files"},
        {"id": "g1", "timestamp": "2026-01-30T10:00:02.000Z", "type": "gemini", "content": "", "model": "gemini-x",
         "tokens": {"input": 100, "output": 5, "thoughts": 20, "total": 125},
         "toolCalls": [
           {"id": "run_shell_command-1", "name": "run_shell_command", "args": {"command": "ls"},
            "result": [{"functionResponse": {"id": "run_shell_command-1", "name": "run_shell_command",
                        "response": {"error": "[Operation Cancelled] Reason: User cancelled the operation."}}}],
            "status": "cancelled", "timestamp": "2026-01-30T10:00:12.000Z"},
           {"id": "read_file-2", "name": "read_file", "args": {"path": "a"},
            "result": [{"functionResponse": {"response": {"output": "hello"}}}],
            "status": "success", "timestamp": "2026-01-30T10:00:03.000Z"}
         ]},
        {"id": "e1", "timestamp": "2026-01-30T10:01:00.000Z", "type": "error", "content": "[API Error: quota exhausted]"}
      ]
    }"#;

    #[test]
    fn calls_status_and_tokens() {
        let mut out = Output::default();
        parse(CHAT.as_bytes(), &SourceFile::default(), &mut out);
        assert!(out.skips.is_empty(), "{:?}", out.skips);
        let ends: Vec<&CallEnd> = out
            .records
            .iter()
            .filter_map(|r| match r {
                Record::End(e) => Some(e),
                _ => None,
            })
            .collect();
        assert_eq!(ends.len(), 2);
        assert!(ends[0].is_error && ends[0].interrupted);
        assert_eq!(ends[0].status.as_deref(), Some("cancelled"));
        assert!(ends[0].result.starts_with("[Operation Cancelled]"));
        assert_eq!(ends[0].at_ms, parse_ts("2026-01-30T10:00:12.000Z"));
        assert!(!ends[1].is_error);
        assert_eq!(ends[1].result, "hello");
        let last_status = out
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Run(f) => f.status,
                _ => None,
            })
            .next_back();
        assert_eq!(last_status, Some(RunStatus::Failed));
        assert!(out.records.iter().any(|r| matches!(r,
            Record::Iteration(i) if i.tokens_in == Some(100) && i.tokens_out == Some(25))));
    }

    #[test]
    fn truncated_documents_are_counted() {
        let mut out = Output::default();
        parse(&CHAT.as_bytes()[..200], &SourceFile::default(), &mut out);
        assert_eq!(out.skips.len(), 1);
        assert!(out.skips[0].reason.contains("truncated"), "{:?}", out.skips);
    }
}
