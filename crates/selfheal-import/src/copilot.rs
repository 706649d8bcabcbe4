//! GitHub Copilot CLI sessions: `~/.copilot/session-state/<uuid>/events.jsonl`
//! (`COPILOT_HOME` moves `~/.copilot`), one event per line `{"type", "data", "id",
//! "timestamp", "parentId"}`, with `workspace.yaml` beside it (its `cwd:` is the run's).
//!
//! - run id `copilot-cli:<sessionId>` (`session.start`'s, else the folder's name); the task is
//!   the first `user.message`'s `content`; the model from `session.start`,
//!   `session.model_change` or a usage event.
//! - `tool.execution_start` `{toolCallId, toolName, arguments}` starts a call;
//!   `tool.execution_complete` `{toolCallId, success, result: {content}, error: {message,
//!   code}, shellExecution: {exitCode}}` ends it. A shell command that exits 127 is `success:
//!   true`: the exit code decides for shell calls.
//! - one iteration per model call: `session.usage_record` (`usage {model, inputTokens,
//!   outputTokens}`), or `assistant.message` in a session without usage records; status:
//!   `session.error` → failed, `abort` → cancelled, an assistant message → completed (the
//!   last word wins).
//! - events known to hold nothing of ours (turn ends, the system prompt, hooks, shutdown
//!   accounting) are passed over; other types are counted as skipped: Copilot adds new ones
//!   often, and the drift check lists them.

use std::borrow::Cow;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use selfheal_core::shell::call_failed;

use crate::model::{
    CallEnd, CallStart, Iteration, Output, Record, RunFacts, RunStatus, SourceFile,
};
use crate::text::{parse_ts, raw_to_text, task_of};

pub const AGENT: &str = "copilot-cli";

/// What the reader keeps between increments.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    run_id: Option<String>,
    /// The session's folder, from `workspace.yaml` (set by the importer when it opens the file).
    #[serde(default)]
    pub cwd: Option<String>,
    /// Whether the session has `session.usage_record` events (then they are the iterations).
    #[serde(default)]
    usage: bool,
}

pub struct Parser {
    state: State,
}

/// Event types that hold nothing this reader takes.
const PASSED_OVER: [&str; 10] = [
    "assistant.turn_start",
    "assistant.turn_end",
    "assistant.reasoning",
    "assistant.message_delta",
    "system.message",
    "session.shutdown",
    "session.info",
    "session.truncation",
    "hook.start",
    "hook.end",
];

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
}

/// The fields of the events read (each event uses a few).
#[derive(Deserialize, Default)]
struct Data<'a> {
    #[serde(rename = "sessionId", borrow, default)]
    session_id: Option<Cow<'a, str>>,
    #[serde(
        rename = "selectedModel",
        alias = "model",
        alias = "newModel",
        borrow,
        default
    )]
    model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    context: Option<Context<'a>>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(rename = "toolCallId", borrow, default)]
    tool_call_id: Option<Cow<'a, str>>,
    #[serde(rename = "toolName", borrow, default)]
    tool_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
    #[serde(default)]
    success: Option<bool>,
    #[serde(borrow, default)]
    result: Option<ToolResult<'a>>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
    #[serde(rename = "shellExecution", default)]
    shell_execution: Option<ShellExecution>,
    #[serde(borrow, default)]
    usage: Option<Usage<'a>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Usage<'a> {
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(rename = "inputTokens", default)]
    input_tokens: Option<u64>,
    #[serde(rename = "outputTokens", default)]
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct Context<'a> {
    #[serde(borrow, default)]
    cwd: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ToolResult<'a> {
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ShellExecution {
    #[serde(rename = "exitCode", default)]
    exit_code: Option<i64>,
}

#[derive(Deserialize)]
struct ErrorObject<'a> {
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

fn text_of(raw: Option<&RawValue>) -> String {
    raw.map(raw_to_text).unwrap_or_default()
}

impl Parser {
    pub fn new(state: State) -> Parser {
        Parser { state }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// The run: `session.start`'s id, else the session folder's name.
    fn run(&self, source: &SourceFile) -> String {
        self.state.run_id.clone().unwrap_or_else(|| {
            let folder = Path::new(&source.path)
                .parent()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| source.stem().to_string());
            format!("{AGENT}:{folder}")
        })
    }

    pub fn line(&mut self, bytes: &[u8], line_no: u64, source: &SourceFile, out: &mut Output) {
        let event: Event<'_> = match serde_json::from_slice(bytes) {
            Ok(e) => e,
            Err(e) => {
                out.skip(line_no, crate::json_skip_reason(&e, "a Copilot CLI event"));
                return;
            }
        };
        let kind = event.kind.as_deref().unwrap_or_default();
        let data: Data<'_> = match event.data.map(|d| serde_json::from_str(d.get())) {
            None => Data::default(),
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                out.skip(line_no, format!("Copilot CLI `{kind}` event: {e}"));
                return;
            }
        };
        let at = event.timestamp.as_deref().and_then(parse_ts);
        if kind == "session.start" {
            if let Some(id) = data.session_id.as_deref().filter(|s| !s.is_empty()) {
                self.state.run_id = Some(format!("{AGENT}:{id}"));
            }
            if self.state.cwd.is_none() {
                self.state.cwd = data
                    .context
                    .as_ref()
                    .and_then(|c| c.cwd.as_deref())
                    .map(str::to_string);
            }
        }
        let run = self.run(source);
        let mut facts = RunFacts::new(run.clone());
        facts.at_ms = at;
        match kind {
            "session.start" => {
                facts.agent = Some(AGENT.into());
                facts.cwd = self.state.cwd.clone();
                facts.model = data.model.as_deref().map(str::to_string);
            }
            "session.model_change" => facts.model = data.model.as_deref().map(str::to_string),
            "user.message" => {
                facts.task = task_of(&text_of(data.content));
            }
            "session.usage_record" => {
                self.state.usage = true;
                let usage = data.usage.as_ref();
                facts.model = usage.and_then(|u| u.model.as_deref()).map(str::to_string);
                out.push(Record::Iteration(Iteration {
                    run_id: run.clone(),
                    key: event
                        .id
                        .as_deref()
                        .map_or_else(|| format!("line-{line_no}"), str::to_string),
                    at_ms: at,
                    tokens_in: usage.and_then(|u| u.input_tokens),
                    tokens_out: usage.and_then(|u| u.output_tokens),
                }));
            }
            "assistant.message" => {
                facts.status = Some(RunStatus::Completed);
                facts.model = data.model.as_deref().map(str::to_string);
                if !self.state.usage {
                    out.push(Record::Iteration(Iteration {
                        run_id: run.clone(),
                        key: event
                            .id
                            .as_deref()
                            .map_or_else(|| format!("line-{line_no}"), str::to_string),
                        at_ms: at,
                        tokens_in: None,
                        tokens_out: None,
                    }));
                }
            }
            "session.error" => {
                facts.status = Some(RunStatus::Failed);
                facts.error = data.message.as_deref().map(str::to_string);
            }
            "abort" => facts.status = Some(RunStatus::Cancelled),
            "tool.execution_start" => {
                let (Some(id), Some(tool)) = (data.tool_call_id, data.tool_name) else {
                    out.skip(
                        line_no,
                        "tool.execution_start without toolCallId or toolName",
                    );
                    return;
                };
                out.push(Record::Start(CallStart {
                    run_id: run.clone(),
                    call_id: id.into_owned(),
                    tool: tool.into_owned(),
                    at_ms: at,
                    arguments: data
                        .arguments
                        .map_or_else(|| "{}".to_string(), |a| a.get().to_string()),
                }));
            }
            "tool.execution_complete" => {
                let Some(id) = data.tool_call_id else {
                    out.skip(line_no, "tool.execution_complete without toolCallId");
                    return;
                };
                let error = data.error.map(|e| {
                    serde_json::from_str::<ErrorObject<'_>>(e.get())
                        .ok()
                        .and_then(|o| o.message.map(Cow::into_owned))
                        .unwrap_or_else(|| raw_to_text(e))
                });
                let result = match (&error, data.result.as_ref().and_then(|r| r.content)) {
                    (Some(e), _) => e.clone(),
                    (None, content) => text_of(content),
                };
                let exit_code = data.shell_execution.and_then(|s| s.exit_code);
                let tool = data.tool_name.map(Cow::into_owned);
                let reported_failed = data.success == Some(false) || error.is_some();
                // The tool name is on the start event; the exit code is only on shell calls.
                let is_error = match (&tool, exit_code) {
                    (Some(t), code) => call_failed(t, reported_failed, code),
                    (None, Some(code)) => code != 0,
                    (None, None) => reported_failed,
                };
                out.push(Record::End(CallEnd {
                    run_id: run.clone(),
                    call_id: id.into_owned(),
                    tool,
                    at_ms: at,
                    result,
                    is_error,
                    duration_ms: None,
                    error_type: None,
                    exit_code,
                    interrupted: false,
                    status: data
                        .success
                        .map(|s| if s { "success" } else { "failure" }.into()),
                }));
                return;
            }
            k if PASSED_OVER.contains(&k) => return,
            _ => {
                out.skip(line_no, format!("Copilot CLI event `{kind}` not read"));
                return;
            }
        }
        out.push(Record::Run(facts));
    }
}

/// The `cwd:` of the `workspace.yaml` beside a session's `events.jsonl` (a flat YAML map).
pub fn workspace_cwd(events_file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(events_file.parent()?.join("workspace.yaml")).ok()?;
    text.lines().find_map(|line| {
        let value = line.strip_prefix("cwd:")?.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        (!value.is_empty()).then(|| value.to_string())
    })
}
