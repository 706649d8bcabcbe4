//! Codex CLI rollouts (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`).
//!
//! One JSON object per line: `{"timestamp", "type", "payload"}` with `type` one of
//! `session_meta` (session `id`, `cwd`), `turn_context` (`model`), `response_item` (the
//! model's items: `function_call`, `custom_tool_call`, `local_shell_call` and their
//! `*_output`) and `event_msg` (`user_message`, `token_count`, `task_started`,
//! `task_complete`, `turn_aborted`, `error`). The older layout without the wrapper (items
//! at the top level after a first `{"id", "timestamp", "instructions"}` line) is read too.
//!
//! - run id `codex:<session id>` (from the file name's id until `session_meta` is seen).
//! - calls paired by `call_id`. Arguments: the function call's `arguments` string parsed as
//!   JSON (for `shell` / `exec_command` the parsed object); a custom tool's `input` as a
//!   JSON string.
//! - outputs: the older JSON form `{"output", "metadata": {"exit_code",
//!   "duration_seconds"}}` gives the text, `exit_code` and the recorded duration; the newer
//!   text form's header (`Process exited with code N`, `Wall time: S seconds`) the same, the
//!   text being what follows `Output:`. A call failed when its exit code is not 0, when the
//!   output object says `success: false`, or when the harness answered instead of the
//!   program (rejections such as `exec command rejected by user`, `apply_patch verification
//!   failed`, argument parse failures, sandbox denials, `aborted`).
//! - status: `task_complete` → completed, `turn_aborted` → cancelled, `error` → failed (the
//!   last word wins); tokens from the last `token_count`'s running totals; one iteration per
//!   turn (`task_started`).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::model::{
    CallEnd, CallStart, Iteration, Output, Record, RunFacts, RunStatus, SourceFile, TokenTotals,
};
use crate::text::{arguments_from_string, parse_ts, raw_to_text, task_of};

pub const AGENT: &str = "codex";

/// Harness answers that mean the call did not do its job (checked at the start of an output
/// that carries no exit code).
const HARNESS_FAILURES: [&str; 12] = [
    "exec command rejected",
    "patch rejected",
    "rejected by user",
    "This action was rejected",
    "apply_patch verification failed",
    "failed to parse function arguments",
    "unsupported call",
    "unsupported custom tool call",
    "execution error",
    "sandbox denied",
    "error: ",
    "aborted",
];

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    last_ms: Option<i64>,
}

pub struct Parser {
    state: State,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
    // The older layout's first line.
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    instructions: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct Payload<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    cwd: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    call_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    action: Option<&'a RawValue>,
    #[serde(borrow, default)]
    output: Option<&'a RawValue>,
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
    #[serde(borrow, default)]
    turn_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    info: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct TokenInfo {
    #[serde(default)]
    total_token_usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct TokenUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct JsonOutput {
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    metadata: Option<JsonMetadata>,
}

#[derive(Deserialize)]
struct JsonMetadata {
    #[serde(default)]
    exit_code: Option<i64>,
    #[serde(default)]
    duration_seconds: Option<f64>,
}

#[derive(Deserialize)]
struct OutputObject {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    success: Option<bool>,
}

/// What an output says.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    text: String,
    exit_code: Option<i64>,
    duration_ms: Option<i64>,
    is_error: bool,
    interrupted: bool,
}

fn seconds_to_ms(s: f64) -> Option<i64> {
    (s.is_finite() && s >= 0.0).then(|| (s * 1000.0).round() as i64)
}

/// Reads a call's output in any of its recorded forms.
fn outcome(raw: &RawValue) -> Outcome {
    let text = raw.get().trim_start();
    if text.starts_with('{') {
        if let Ok(o) = serde_json::from_str::<OutputObject>(text)
            && o.content.is_some()
        {
            let content = o.content.unwrap_or_default();
            let mut out = from_text(&content);
            out.is_error |= o.success == Some(false);
            return out;
        }
        return Outcome {
            text: text.to_string(),
            ..Outcome::default()
        };
    }
    from_text(&raw_to_text(raw))
}

fn from_text(text: &str) -> Outcome {
    if text.trim_start().starts_with('{')
        && let Ok(j) = serde_json::from_str::<JsonOutput>(text)
        && (j.output.is_some() || j.metadata.is_some())
    {
        let exit_code = j.metadata.as_ref().and_then(|m| m.exit_code);
        return Outcome {
            text: j.output.unwrap_or_default(),
            exit_code,
            duration_ms: j
                .metadata
                .as_ref()
                .and_then(|m| m.duration_seconds)
                .and_then(seconds_to_ms),
            is_error: exit_code.is_some_and(|c| c != 0),
            interrupted: false,
        };
    }
    let mut out = Outcome {
        text: text.to_string(),
        ..Outcome::default()
    };
    // The text form starts with a short header of `Key: value` lines, then `Output:`.
    let mut body_at = None;
    let mut pos = 0usize;
    for line in text.split_inclusive('\n').take(8) {
        let l = line.trim_end();
        if let Some(code) = l.strip_prefix("Process exited with code ") {
            out.exit_code = code.trim().parse().ok();
        } else if let Some(code) = l.strip_prefix("Exit code: ") {
            out.exit_code = code.trim().parse().ok();
        } else if let Some(wall) = l.strip_prefix("Wall time: ") {
            out.duration_ms = wall
                .trim()
                .trim_end_matches("seconds")
                .trim_end_matches('s')
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(seconds_to_ms);
        } else if l == "Output:" {
            body_at = Some(pos + line.len());
            break;
        }
        pos += line.len();
    }
    if let Some(at) = body_at {
        out.text = text[at..].to_string();
    }
    match out.exit_code {
        Some(code) => out.is_error = code != 0,
        None => {
            let t = text.trim_start();
            out.interrupted = t.starts_with("aborted");
            out.is_error = HARNESS_FAILURES.iter().any(|p| t.starts_with(p));
        }
    }
    out
}

impl Parser {
    pub fn new(state: State) -> Parser {
        Parser { state }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    fn run(&self, source: &SourceFile) -> String {
        match &self.state.run_id {
            Some(r) => r.clone(),
            None => format!("codex:{}", id_from_file_name(source.stem())),
        }
    }

    pub fn line(
        &mut self,
        bytes: &[u8],
        line_no: u64,
        offset: u64,
        source: &SourceFile,
        out: &mut Output,
    ) {
        let line: Line<'_> = match serde_json::from_slice(bytes) {
            Ok(l) => l,
            Err(e) => {
                out.skip(line_no, crate::json_skip_reason(&e, "a Codex rollout line"));
                return;
            }
        };
        let at = line.timestamp.as_deref().and_then(parse_ts);
        if at.is_some() {
            self.state.last_ms = at;
        }
        let at = at.or(self.state.last_ms);
        let kind = line.kind.as_deref().unwrap_or_default();
        // Older layout: the first line names the session; items are not wrapped.
        if line.payload.is_none() {
            if kind.is_empty() && line.id.is_some() && line.instructions.is_some() {
                let id = line.id.as_deref().unwrap_or_default();
                self.state.run_id = Some(format!("codex:{id}"));
                let mut facts = RunFacts::new(self.run(source));
                facts.agent = Some(AGENT.into());
                facts.at_ms = at;
                out.push(Record::Run(facts));
                return;
            }
            match serde_json::from_slice::<Payload<'_>>(bytes) {
                Ok(p) if p.kind.is_some() => self.item(&p, at, line_no, offset, source, out),
                _ => {}
            }
            return;
        }
        let payload: Payload<'_> = match line
            .payload
            .map(|p| serde_json::from_str(p.get()))
            .transpose()
        {
            Ok(p) => p.unwrap_or_default(),
            Err(e) => {
                out.skip(line_no, crate::json_skip_reason(&e, "a Codex payload"));
                return;
            }
        };
        match kind {
            "session_meta" => {
                if let Some(id) = payload.id.as_deref().filter(|i| !i.is_empty()) {
                    self.state.run_id = Some(format!("codex:{id}"));
                }
                let mut facts = RunFacts::new(self.run(source));
                facts.agent = Some(AGENT.into());
                facts.cwd = payload.cwd.as_deref().map(str::to_string);
                facts.at_ms = at;
                out.push(Record::Run(facts));
            }
            "turn_context" => {
                let mut facts = RunFacts::new(self.run(source));
                facts.model = payload.model.as_deref().map(str::to_string);
                facts.cwd = payload.cwd.as_deref().map(str::to_string);
                facts.at_ms = at;
                out.push(Record::Run(facts));
            }
            "response_item" => self.item(&payload, at, line_no, offset, source, out),
            "event_msg" => self.event(&payload, at, offset, source, out),
            _ => {}
        }
    }

    fn item(
        &mut self,
        p: &Payload<'_>,
        at: Option<i64>,
        line_no: u64,
        _offset: u64,
        source: &SourceFile,
        out: &mut Output,
    ) {
        let run = self.run(source);
        let kind = p.kind.as_deref().unwrap_or_default();
        match kind {
            "function_call" | "custom_tool_call" | "local_shell_call" => {
                let Some(call_id) = p.call_id.as_deref().or(p.id.as_deref()) else {
                    out.skip(line_no, format!("{kind} without a call_id"));
                    return;
                };
                let tool = match (kind, p.name.as_deref()) {
                    (_, Some(n)) => n.to_string(),
                    ("local_shell_call", None) => "local_shell".to_string(),
                    _ => {
                        out.skip(line_no, format!("{kind} without a name"));
                        return;
                    }
                };
                let arguments = if let Some(a) = p.arguments {
                    if a.get().starts_with('"') {
                        arguments_from_string(&raw_to_text(a))
                    } else {
                        a.get().to_string()
                    }
                } else if let Some(i) = p.input {
                    i.get().to_string()
                } else if let Some(action) = p.action {
                    action.get().to_string()
                } else {
                    "{}".to_string()
                };
                out.push(Record::Run(RunFacts {
                    at_ms: at,
                    ..RunFacts::new(run.clone())
                }));
                out.push(Record::Start(CallStart {
                    run_id: run,
                    call_id: call_id.to_string(),
                    tool,
                    at_ms: at,
                    arguments,
                }));
            }
            "function_call_output" | "custom_tool_call_output" | "local_shell_call_output" => {
                let Some(call_id) = p.call_id.as_deref() else {
                    out.skip(line_no, format!("{kind} without a call_id"));
                    return;
                };
                let o = p.output.map(outcome).unwrap_or_default();
                out.push(Record::Run(RunFacts {
                    at_ms: at,
                    ..RunFacts::new(run.clone())
                }));
                out.push(Record::End(CallEnd {
                    run_id: run,
                    call_id: call_id.to_string(),
                    tool: None,
                    at_ms: at,
                    result: o.text,
                    is_error: o.is_error || o.interrupted,
                    duration_ms: o.duration_ms,
                    error_type: None,
                    exit_code: o.exit_code,
                    interrupted: o.interrupted,
                    status: None,
                }));
            }
            _ => {}
        }
    }

    fn event(
        &mut self,
        p: &Payload<'_>,
        at: Option<i64>,
        offset: u64,
        source: &SourceFile,
        out: &mut Output,
    ) {
        let run = self.run(source);
        let mut facts = RunFacts::new(run.clone());
        facts.at_ms = at;
        match p.kind.as_deref().unwrap_or_default() {
            "user_message" => {
                facts.task = p.message.map(raw_to_text).as_deref().and_then(task_of);
            }
            "token_count" => {
                let usage = p
                    .info
                    .and_then(|i| serde_json::from_str::<TokenInfo>(i.get()).ok())
                    .and_then(|i| i.total_token_usage);
                if let Some(u) = usage {
                    facts.tokens = Some(TokenTotals {
                        input: u.input_tokens.unwrap_or(0),
                        output: u.output_tokens.unwrap_or(0),
                    });
                }
            }
            "task_started" => {
                out.push(Record::Iteration(Iteration {
                    run_id: run,
                    key: match p.turn_id.as_deref() {
                        Some(t) if !t.is_empty() => format!("turn:{t}"),
                        _ => format!("at:{offset}"),
                    },
                    at_ms: at,
                    tokens_in: None,
                    tokens_out: None,
                }));
            }
            "task_complete" => facts.status = Some(RunStatus::Completed),
            "turn_aborted" => facts.status = Some(RunStatus::Cancelled),
            "error" => {
                facts.status = Some(RunStatus::Failed);
                facts.error = p.message.map(raw_to_text);
            }
            _ => {}
        }
        out.push(Record::Run(facts));
    }
}

/// The session id a rollout file name carries (`rollout-<date>T<time>-<uuid>`): its last
/// five dash-separated groups, else the whole stem.
fn id_from_file_name(stem: &str) -> String {
    let parts: Vec<&str> = stem.split('-').collect();
    if parts.len() > 5 {
        parts[parts.len() - 5..].join("-")
    } else {
        stem.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(lines: &[&str]) -> Output {
        let mut p = Parser::new(State::default());
        let mut out = Output::default();
        let src = SourceFile {
            path: "/s/rollout-2026-01-30T10-00-00-0199aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee.jsonl"
                .into(),
            mtime_ms: 0,
        };
        for (i, l) in lines.iter().enumerate() {
            p.line(l.as_bytes(), i as u64 + 1, i as u64 * 100, &src, &mut out);
        }
        out
    }

    fn ends(out: &Output) -> Vec<&CallEnd> {
        out.records
            .iter()
            .filter_map(|r| match r {
                Record::End(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn both_output_forms_give_exit_code_and_duration() {
        let out = read(&[
            r#"{"timestamp":"2026-01-30T10:00:00Z","type":"session_meta","payload":{"id":"sess-1","cwd":"/w/api"}}"#,
            r#"{"timestamp":"2026-01-30T10:00:01Z","type":"response_item","payload":{"type":"function_call","name":"shell","arguments":"{\"command\":[\"bash\",\"-lc\",\"pytest\"]}","call_id":"c1"}}"#,
            r#"{"timestamp":"2026-01-30T10:00:03Z","type":"response_item","payload":{"type":"function_call_output","call_id":"c1","output":"{\"output\":\"1 failed\",\"metadata\":{\"exit_code\":1,\"duration_seconds\":1.5}}"}}"#,
            r#"{"timestamp":"2026-01-30T10:00:04Z","type":"response_item","payload":{"type":"function_call","name":"exec_command","arguments":"{\"cmd\":\"ls\"}","call_id":"c2"}}"#,
            r#"{"timestamp":"2026-01-30T10:00:05Z","type":"response_item","payload":{"type":"function_call_output","call_id":"c2","output":"Chunk ID: ab\nWall time: 0.0507 seconds\nProcess exited with code 0\nOriginal token count: 3\nOutput:\nREADME.md\n"}}"#,
            r#"{"timestamp":"2026-01-30T10:00:06Z","type":"response_item","payload":{"type":"custom_tool_call","name":"apply_patch","input":"*** Begin Patch","call_id":"c3","status":"completed"}}"#,
            r#"{"timestamp":"2026-01-30T10:00:07Z","type":"response_item","payload":{"type":"custom_tool_call_output","call_id":"c3","output":"apply_patch verification failed: Failed to find expected lines"}}"#,
            r#"{"timestamp":"2026-01-30T10:00:08Z","type":"response_item","payload":{"type":"function_call_output","call_id":"c4","output":"exec command rejected by user"}}"#,
        ]);
        assert!(out.skips.is_empty(), "{:?}", out.skips);
        let starts: Vec<&CallStart> = out
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Start(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(starts[0].run_id, "codex:sess-1");
        assert_eq!(
            starts[0].arguments,
            r#"{"command":["bash","-lc","pytest"]}"#
        );
        assert_eq!(starts[2].arguments, r#""*** Begin Patch""#);
        let e = ends(&out);
        assert_eq!(
            (
                e[0].is_error,
                e[0].exit_code,
                e[0].duration_ms,
                e[0].result.as_str()
            ),
            (true, Some(1), Some(1500), "1 failed")
        );
        assert_eq!(
            (
                e[1].is_error,
                e[1].exit_code,
                e[1].duration_ms,
                e[1].result.as_str()
            ),
            (false, Some(0), Some(51), "README.md\n")
        );
        assert!(e[2].is_error && e[2].exit_code.is_none());
        assert!(e[3].is_error);
    }

    #[test]
    fn run_id_falls_back_to_the_file_name_and_status_follows_events() {
        let out = read(&[
            r#"{"timestamp":"2026-01-30T10:00:00Z","type":"event_msg","payload":{"type":"user_message","message":"fix the   login"}}"#,
            r#"{"timestamp":"2026-01-30T10:00:01Z","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":100,"output_tokens":7}}}}"#,
            r#"{"timestamp":"2026-01-30T10:00:02Z","type":"event_msg","payload":{"type":"turn_aborted","reason":"interrupted"}}"#,
        ]);
        let facts: Vec<&RunFacts> = out
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Run(f) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(
            facts[0].run_id,
            "codex:0199aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"
        );
        assert_eq!(facts[0].task.as_deref(), Some("fix the login"));
        assert_eq!(
            facts[1].tokens,
            Some(TokenTotals {
                input: 100,
                output: 7
            })
        );
        assert_eq!(facts[2].status, Some(RunStatus::Cancelled));
    }
}
