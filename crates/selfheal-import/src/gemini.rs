//! Gemini CLI chats under `~/.gemini/tmp/<project>/chats/`, in both of their forms:
//!
//! - `session-*.json` (releases before 0.61): one JSON document per session, rewritten as the
//!   session goes on, so it is re-read whole when it changes (calls already imported are
//!   recognised by their ids);
//! - `session-*.jsonl` (0.61 and later, [`Parser`]): a header line `{sessionId, projectHash,
//!   startTime, lastUpdated, kind}`, then message records (the same `id` written again as the
//!   message grows: a call is taken once its `status` is final, an iteration once it has its
//!   token counts) and `{"$set": {...}}` patches of the session. The folder name maps to the
//!   project's path in `~/.gemini/projects.json`: the run's cwd.
//!
//! The document form: `{"sessionId", "startTime", "lastUpdated", "messages": [message]}`; a
//! message: `{"id", "timestamp", "type": "user"|"gemini"|"info"|"error", "content", "model",
//! "tokens", "toolCalls": [{"id", "name", "args", "result": [{"functionResponse":
//! {"response": {"output"|"error"}}}], "status", "timestamp", "resultDisplay"}]}`.
//!
//! - run id `gemini-cli:<sessionId>`; the cwd from `projects.json` when it names the folder,
//!   else the workflow is the agent; the task is the first user message; the model the last
//!   `gemini` message's.
//! - a tool call starts at its message's timestamp and ends at its own; its duration comes
//!   from those (it includes any wait for a person's confirmation). Failed unless `status`
//!   is `success`, except that a shell call's `Exit Code: N` decides (Gemini CLI reports a
//!   command that exits 127 as `success`); `status` is kept, and `cancelled` is also
//!   `interrupted`.
//! - one iteration per `gemini` message, with `tokens.input` in and `tokens.output +
//!   tokens.thoughts` out.
//! - status: the last `gemini` reply → completed, an `error` message → failed,
//!   `Request cancelled.` → cancelled.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use selfheal_core::shell::{call_failed, exit_code_in_output, is_shell_tool};

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

/// Statuses after which a call no longer changes (the others: `validating`, `scheduled`,
/// `awaiting_approval`, `executing`).
const TERMINAL: [&str; 3] = ["success", "error", "cancelled"];

/// The start and (when `status` says it ended, or `!live`) the end of one tool call of a
/// message at `at`. The exit code a shell call's output reports decides its outcome.
fn push_call(
    run: &str,
    at: Option<i64>,
    call: &ToolCall<'_>,
    (i, j): (usize, usize),
    live: bool,
    out: &mut Output,
) {
    let Some(name) = call.name.as_deref() else {
        out.skip(0, format!("tool call {j} of message {i} has no name"));
        return;
    };
    let call_id = call
        .id
        .as_deref()
        .map(str::to_string)
        .unwrap_or_else(|| format!("message-{i}-call-{j}"));
    out.push(Record::Start(CallStart {
        run_id: run.to_string(),
        call_id: call_id.clone(),
        tool: name.to_string(),
        at_ms: at,
        arguments: call
            .args
            .map(|a| a.get().to_string())
            .unwrap_or_else(|| "{}".into()),
    }));
    let status = call.status.as_deref().unwrap_or("success").to_string();
    if live && !TERMINAL.contains(&status.as_str()) {
        return; // written again when it ends
    }
    let result = result_text(call);
    let exit_code = is_shell_tool(name)
        .then(|| exit_code_in_output(&result))
        .flatten();
    out.push(Record::End(CallEnd {
        run_id: run.to_string(),
        call_id,
        tool: Some(name.to_string()),
        at_ms: call.timestamp.as_deref().and_then(parse_ts).or(at),
        result,
        is_error: call_failed(name, status != "success", exit_code),
        duration_ms: None,
        error_type: None,
        exit_code,
        interrupted: status == "cancelled",
        status: Some(status),
    }));
}

/// The records of one message (`i`: its position, for ids when it has none). `live`: a JSONL
/// session, where a message is written again as it grows, so only what is final is taken.
fn push_message(run: &str, i: usize, m: &Message<'_>, live: bool, out: &mut Output) {
    let at = m.timestamp.as_deref().and_then(parse_ts);
    let mut facts = RunFacts::new(run);
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
            // An iteration is written once: in a live session, wait for its token counts.
            if !live || m.tokens.is_some() {
                out.push(Record::Iteration(Iteration {
                    run_id: run.to_string(),
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
        push_call(run, at, call, (i, j), live, out);
    }
}

/// Reads a whole chat file.
pub fn parse(bytes: &[u8], source: &SourceFile, out: &mut Output) {
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
    facts.cwd = project_dir(std::path::Path::new(&source.path));
    facts.at_ms = chat.start_time.as_deref().and_then(parse_ts);
    out.push(Record::Run(facts));
    for (i, m) in messages.iter().enumerate() {
        push_message(&run, i, m, false, out);
    }
    let mut last = RunFacts::new(run);
    last.at_ms = chat.last_updated.as_deref().and_then(parse_ts);
    out.push(Record::Run(last));
}

/// What a JSONL session's reader keeps between increments.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    run_id: Option<String>,
    /// The project folder, from `projects.json` (set by the importer when it opens the file).
    #[serde(default)]
    pub cwd: Option<String>,
}

/// Reads a JSONL session (`session-*.jsonl`, Gemini CLI 0.61 and later) line by line.
pub struct Parser {
    state: State,
}

/// A line of a JSONL session: the header, a `$set` patch, or a message record.
#[derive(Deserialize)]
struct SessionLine<'a> {
    #[serde(rename = "sessionId", borrow, default)]
    session_id: Option<Cow<'a, str>>,
    #[serde(rename = "startTime", borrow, default)]
    start_time: Option<Cow<'a, str>>,
    #[serde(rename = "lastUpdated", borrow, default)]
    last_updated: Option<Cow<'a, str>>,
    #[serde(rename = "$set", borrow, default)]
    set: Option<Patch<'a>>,
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Patch<'a> {
    #[serde(rename = "lastUpdated", borrow, default)]
    last_updated: Option<Cow<'a, str>>,
}

impl Parser {
    pub fn new(state: State) -> Parser {
        Parser { state }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn line(&mut self, bytes: &[u8], line_no: u64, source: &SourceFile, out: &mut Output) {
        let line: SessionLine<'_> = match serde_json::from_slice(bytes) {
            Ok(l) => l,
            Err(e) => {
                out.skip(
                    line_no,
                    crate::json_skip_reason(&e, "a Gemini CLI session line"),
                );
                return;
            }
        };
        if line.kind.is_none()
            && let Some(session) = line.session_id.as_deref().filter(|s| !s.is_empty())
        {
            let run = format!("gemini-cli:{session}");
            self.state.run_id = Some(run.clone());
            let mut facts = RunFacts::new(run);
            facts.agent = Some(AGENT.into());
            facts.cwd = self.state.cwd.clone();
            facts.at_ms = line.start_time.as_deref().and_then(parse_ts);
            out.push(Record::Run(facts));
            if let Some(last) = line.last_updated.as_deref().and_then(parse_ts) {
                let mut facts = RunFacts::new(self.run(source));
                facts.at_ms = Some(last);
                out.push(Record::Run(facts));
            }
            return;
        }
        if let Some(patch) = line.set {
            if let Some(at) = patch.last_updated.as_deref().and_then(parse_ts) {
                let mut facts = RunFacts::new(self.run(source));
                facts.at_ms = Some(at);
                out.push(Record::Run(facts));
            }
            return;
        }
        if line.kind.is_none() {
            // `$rewindTo` cuts the conversation the model sees; calls that ran stay history.
            if !bytes.starts_with(b"{\"$rewindTo\"") {
                out.skip(line_no, "unknown Gemini CLI session record");
            }
            return;
        }
        let message: Message<'_> = match serde_json::from_slice(bytes) {
            Ok(m) => m,
            Err(e) => {
                out.skip(line_no, crate::json_skip_reason(&e, "a Gemini CLI message"));
                return;
            }
        };
        let run = self.run(source);
        push_message(&run, line_no as usize, &message, true, out);
    }

    /// The run: the header's session, else the id at the end of the file name
    /// (`session-<date>-<id>`).
    fn run(&self, source: &SourceFile) -> String {
        self.state.run_id.clone().unwrap_or_else(|| {
            let stem = source.stem();
            format!("gemini-cli:{}", stem.rsplit('-').next().unwrap_or(stem))
        })
    }
}

/// The project folder of a session file under `<gemini home>/tmp/<name>/chats/`: the path
/// that `<gemini home>/projects.json` maps to `<name>` (`{"projects": {"/path": "name"}}`).
pub fn project_dir(session_file: &std::path::Path) -> Option<String> {
    let chats = session_file.parent()?;
    let name = chats.parent()?.file_name()?.to_str()?;
    let home = chats.parent()?.parent()?.parent()?;
    let text = std::fs::read_to_string(home.join("projects.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let map = value.get("projects").unwrap_or(&value).as_object()?;
    map.iter()
        .find(|(_, v)| v.as_str() == Some(name))
        .map(|(path, _)| path.clone())
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
