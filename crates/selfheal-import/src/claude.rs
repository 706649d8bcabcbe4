//! Claude Code transcripts (`~/.claude/projects/<project>/<session>.jsonl`, subagents in
//! `agent-*.jsonl` beside the session or under `<session>/subagents/`).
//!
//! One JSON object per line. `user`/`assistant`/`system` lines carry `sessionId`,
//! `timestamp`, `cwd` and a `message`; other line types (summaries, file-history snapshots,
//! progress, queue operations, ...) carry no tool call and are passed over silently.
//!
//! - run id `claude-code:<sessionId>`; a subagent file's lines (`agentId`) belong to
//!   `claude-code:<sessionId>:agent-<agentId>`, and sidechain lines inside a session file
//!   (older versions) to `claude-code:<sessionId>:sidechain-<uuid of the sidechain's first
//!   message>`; both name the session's run as their parent. An inline sidechain whose prompt
//!   is `Warmup` (the warm-up Claude Code sends its subagents at start, before any request) is
//!   not a run: its lines are passed over. A careful reading counts one run per file with
//!   messages, and these warm-ups carry no tool call.
//! - `tool_use` blocks of assistant messages are call starts (`id`, `name`, `input`);
//!   `tool_result` blocks of user messages are call ends (`tool_use_id`, `is_error`,
//!   `content` flattened to text, images replaced by a marker). The line's `toolUseResult`
//!   adds the recorded duration (`durationMs`, `totalDurationMs`) and `interrupted`; a
//!   failed Bash call's `Exit code N` becomes `exit_code`. Durations otherwise come from the
//!   two lines' timestamps, which include any wait for a person's approval.
//! - one iteration per assistant message id, with its usage (input = input + cache reads +
//!   cache writes, output = output tokens; the last line of a streamed message wins).
//! - status: the last word wins — an assistant reply is `completed`, an API error message
//!   (`isApiErrorMessage`, `system`/`api_error`) `failed`, `[Request interrupted by user…]`
//!   `cancelled`. The task is the first prompt that is not a command or meta line.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use selfheal_core::shell::leading_exit_code;

use crate::model::{
    CallEnd, CallStart, Iteration, Output, Record, RunFacts, RunStatus, SourceFile,
};
use crate::text::{content_text, parse_ts, raw_to_text, task_of};

/// Agent name of runs read from Claude Code.
pub const AGENT: &str = "claude-code";
/// Inline sidechain message ids remembered across increments (a sidechain's messages follow
/// each other closely, so recent ones suffice; the state stays small).
const MAX_SIDECHAIN_IDS: usize = 2_000;

/// The run id of a Claude Code session, or of a subagent of it.
pub fn run_id(session: &str, agent_id: Option<&str>) -> String {
    match agent_id.filter(|a| !a.is_empty()) {
        Some(agent) => format!("claude-code:{session}:agent-{agent}"),
        None => format!("claude-code:{session}"),
    }
}

/// What carries over from one increment of a file to the next.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Inline sidechain messages: uuid → uuid of the sidechain's first message.
    #[serde(default)]
    sidechains: HashMap<String, String>,
    /// Roots of inline sidechains that are warm-ups (passed over).
    #[serde(default)]
    warmups: HashSet<String>,
}

/// Reader of one Claude Code transcript.
pub struct Parser {
    state: State,
    pending: Option<Iteration>,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "sessionId", borrow, default)]
    session_id: Option<Cow<'a, str>>,
    #[serde(rename = "agentId", borrow, default)]
    agent_id: Option<Cow<'a, str>>,
    #[serde(rename = "isSidechain", default)]
    is_sidechain: Option<bool>,
    #[serde(borrow, default)]
    uuid: Option<Cow<'a, str>>,
    #[serde(rename = "parentUuid", borrow, default)]
    parent_uuid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    cwd: Option<Cow<'a, str>>,
    #[serde(rename = "isMeta", default)]
    is_meta: Option<bool>,
    #[serde(rename = "isApiErrorMessage", default)]
    is_api_error: Option<bool>,
    #[serde(borrow, default)]
    subtype: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Message<'a>>,
    #[serde(rename = "toolUseResult", borrow, default)]
    tool_use_result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize, Default)]
struct Usage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tool_use_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(borrow, default)]
    is_error: Option<&'a RawValue>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct ToolUseResult {
    #[serde(rename = "durationMs", default)]
    duration_ms: Option<f64>,
    #[serde(rename = "totalDurationMs", default)]
    total_duration_ms: Option<f64>,
    #[serde(default)]
    interrupted: Option<bool>,
}

/// Prompts that are not the person's request: slash-command wrappers, hook and system text.
fn is_wrapper(text: &str) -> bool {
    const PREFIXES: [&str; 7] = [
        "<command-",
        "<local-command",
        "<system-reminder",
        "<bash-",
        "<user-prompt-submit-hook",
        "Caveat:",
        "[Request interrupted",
    ];
    let t = text.trim_start();
    PREFIXES.iter().any(|p| t.starts_with(p))
}

/// Whether a line is a compaction agent's (`<session>/subagents/agent-acompact-*.jsonl`).
fn is_compaction(line: &Line<'_>) -> bool {
    line.agent_id
        .as_deref()
        .is_some_and(|a| a.starts_with("acompact"))
}

/// The prompt Claude Code sends a subagent to warm it up (not a person's request).
fn is_warmup(line: &Line<'_>) -> bool {
    line.kind.as_deref() == Some("user")
        && line
            .message
            .as_ref()
            .and_then(|m| m.content)
            .is_some_and(|c| content_text(c).trim() == "Warmup")
}

fn is_interrupt(text: &str) -> bool {
    text.trim_start()
        .starts_with("[Request interrupted by user")
}

/// A JSON boolean, or 0/1 and their string forms.
pub(crate) fn flag(raw: Option<&RawValue>) -> bool {
    matches!(
        raw.map(RawValue::get),
        Some("true" | "1" | "\"true\"" | "\"1\"")
    )
}

impl Parser {
    pub fn new(state: State) -> Parser {
        Parser {
            state,
            pending: None,
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Ends an increment: the iteration still open is written.
    pub fn flush(&mut self, out: &mut Output) {
        if let Some(it) = self.pending.take() {
            out.push(Record::Iteration(it));
        }
    }

    /// Reads one line (1-based `line_no`, for skip reports).
    pub fn line(&mut self, bytes: &[u8], line_no: u64, _source: &SourceFile, out: &mut Output) {
        let line: Line<'_> = match serde_json::from_slice(bytes) {
            Ok(l) => l,
            Err(e) => {
                out.skip(
                    line_no,
                    crate::json_skip_reason(&e, "a Claude Code transcript line"),
                );
                return;
            }
        };
        let kind = line.kind.as_deref().unwrap_or("");
        if !matches!(kind, "user" | "assistant" | "system") {
            return;
        }
        let Some(session) = line.session_id.as_deref().filter(|s| !s.is_empty()) else {
            out.skip(line_no, "transcript line without a sessionId");
            return;
        };
        let Some((run, parent)) = self.run_of(&line, session) else {
            return;
        };
        let at = line.timestamp.as_deref().and_then(parse_ts);
        let mut facts = RunFacts::new(run.clone());
        facts.agent = Some(AGENT.to_string());
        facts.cwd = line.cwd.as_deref().map(str::to_string);
        facts.at_ms = at;
        facts.subagent = Some(parent.is_some());
        facts.parent_run_id = parent;
        let mut calls = Vec::new();
        match kind {
            "assistant" => self.assistant(&line, &run, at, &mut facts, &mut calls, line_no, out),
            "user" => user(&line, &run, at, &mut facts, &mut calls, line_no, out),
            _ => {
                if line.subtype.as_deref() == Some("api_error") {
                    facts.status = Some(RunStatus::Failed);
                    facts.error = line
                        .error
                        .or(line.content)
                        .map(raw_to_text)
                        .filter(|e| !e.is_empty());
                }
            }
        }
        // A compaction agent replays the session's calls before summarising them: they are
        // the session's, whichever file is read first (the agent's run keeps its own turns).
        if let Some(parent) = facts
            .parent_run_id
            .as_deref()
            .filter(|_| is_compaction(&line))
        {
            for call in &mut calls {
                match call {
                    Record::Start(s) => s.run_id = parent.to_string(),
                    Record::End(e) => e.run_id = parent.to_string(),
                    _ => {}
                }
            }
        }
        out.push(Record::Run(facts));
        out.records.extend(calls);
    }

    /// The run a line belongs to, and its parent run when it is a subagent's; `None` for the
    /// lines of an inline warm-up sidechain.
    fn run_of(&mut self, line: &Line<'_>, session: &str) -> Option<(String, Option<String>)> {
        let main = run_id(session, None);
        if let Some(agent) = line.agent_id.as_deref().filter(|a| !a.is_empty()) {
            return Some((run_id(session, Some(agent)), Some(main)));
        }
        if line.is_sidechain != Some(true) {
            return Some((main, None));
        }
        let uuid = line.uuid.as_deref().unwrap_or_default();
        let root = line
            .parent_uuid
            .as_deref()
            .and_then(|p| self.state.sidechains.get(p).cloned());
        let is_root = root.is_none();
        let root = root.unwrap_or_else(|| uuid.to_string());
        if !uuid.is_empty() {
            if self.state.sidechains.len() >= MAX_SIDECHAIN_IDS {
                self.state.sidechains.clear();
                self.state.warmups.clear();
            }
            self.state.sidechains.insert(uuid.to_string(), root.clone());
        }
        if is_root && is_warmup(line) {
            self.state.warmups.insert(root.clone());
        }
        if self.state.warmups.contains(&root) {
            return None;
        }
        Some((format!("{main}:sidechain-{root}"), Some(main)))
    }

    #[allow(clippy::too_many_arguments)]
    fn assistant(
        &mut self,
        line: &Line<'_>,
        run: &str,
        at: Option<i64>,
        facts: &mut RunFacts,
        calls: &mut Vec<Record>,
        line_no: u64,
        out: &mut Output,
    ) {
        let Some(message) = &line.message else {
            return;
        };
        facts.model = message
            .model
            .as_deref()
            .filter(|m| !m.is_empty() && !m.starts_with('<'))
            .map(str::to_string);
        if line.is_api_error == Some(true) {
            facts.status = Some(RunStatus::Failed);
            facts.error = message.content.map(content_text).filter(|e| !e.is_empty());
        } else {
            facts.status = Some(RunStatus::Completed);
        }
        if let Some(id) = message.id.as_deref().filter(|id| !id.is_empty()) {
            let usage = message.usage.as_ref();
            let tokens_in = usage.and_then(|u| {
                let parts = [
                    u.input_tokens,
                    u.cache_creation_input_tokens,
                    u.cache_read_input_tokens,
                ];
                parts
                    .iter()
                    .any(Option::is_some)
                    .then(|| parts.iter().flatten().sum())
            });
            let tokens_out = usage.and_then(|u| u.output_tokens);
            let same = self
                .pending
                .as_ref()
                .is_some_and(|p| p.run_id == run && p.key == id);
            if same {
                if let Some(p) = self.pending.as_mut() {
                    p.tokens_in = tokens_in.or(p.tokens_in);
                    p.tokens_out = tokens_out.or(p.tokens_out);
                }
            } else {
                self.flush(out);
                self.pending = Some(Iteration {
                    run_id: run.to_string(),
                    key: id.to_string(),
                    at_ms: at,
                    tokens_in,
                    tokens_out,
                });
            }
        }
        let Some(content) = message.content else {
            return;
        };
        if !content.get().trim_start().starts_with('[') {
            return;
        }
        let blocks: Vec<Block<'_>> = match serde_json::from_str(content.get()) {
            Ok(b) => b,
            Err(e) => {
                out.skip(
                    line_no,
                    crate::json_skip_reason(&e, "an assistant message's content"),
                );
                return;
            }
        };
        for block in blocks {
            if block.kind.as_deref() != Some("tool_use") {
                continue;
            }
            let (Some(id), Some(name)) = (block.id.as_deref(), block.name.as_deref()) else {
                out.skip(line_no, "tool_use block without an id or a name");
                continue;
            };
            calls.push(Record::Start(CallStart {
                run_id: run.to_string(),
                call_id: id.to_string(),
                tool: name.to_string(),
                at_ms: at,
                arguments: block
                    .input
                    .map(|i| i.get().to_string())
                    .unwrap_or_else(|| "{}".into()),
            }));
        }
    }
}

fn user(
    line: &Line<'_>,
    run: &str,
    at: Option<i64>,
    facts: &mut RunFacts,
    calls: &mut Vec<Record>,
    line_no: u64,
    out: &mut Output,
) {
    let Some(content) = line.message.as_ref().and_then(|m| m.content) else {
        return;
    };
    let meta = line.is_meta == Some(true);
    let text = content.get().trim_start();
    if text.starts_with('"') {
        let prompt = raw_to_text(content);
        if is_interrupt(&prompt) {
            facts.status = Some(RunStatus::Cancelled);
        } else if !meta && !is_wrapper(&prompt) {
            facts.task = task_of(&prompt);
        }
        return;
    }
    if !text.starts_with('[') {
        return;
    }
    let blocks: Vec<Block<'_>> = match serde_json::from_str(content.get()) {
        Ok(b) => b,
        Err(e) => {
            out.skip(
                line_no,
                crate::json_skip_reason(&e, "a user message's content"),
            );
            return;
        }
    };
    let results = blocks
        .iter()
        .filter(|b| b.kind.as_deref() == Some("tool_result"))
        .count();
    let recorded: Option<ToolUseResult> = if results == 1 {
        line.tool_use_result
            .filter(|r| r.get().trim_start().starts_with('{'))
            .and_then(|r| serde_json::from_str(r.get()).ok())
    } else {
        None
    };
    for block in &blocks {
        match block.kind.as_deref() {
            Some("tool_result") => {
                let Some(id) = block.tool_use_id.as_deref() else {
                    out.skip(line_no, "tool_result block without a tool_use_id");
                    continue;
                };
                let result = block.content.map(content_text).unwrap_or_default();
                let is_error = flag(block.is_error);
                let recorded = recorded.as_ref();
                let duration_ms = recorded
                    .and_then(|r| r.duration_ms.or(r.total_duration_ms))
                    .filter(|d| d.is_finite() && *d >= 0.0)
                    .map(|d| d.round() as i64);
                calls.push(Record::End(CallEnd {
                    run_id: run.to_string(),
                    call_id: id.to_string(),
                    tool: None,
                    at_ms: at,
                    exit_code: if is_error {
                        leading_exit_code(&result)
                    } else {
                        None
                    },
                    result,
                    is_error,
                    duration_ms,
                    error_type: None,
                    interrupted: recorded.and_then(|r| r.interrupted) == Some(true),
                    status: None,
                }));
            }
            Some("text") => {
                let t = block.text.as_deref().unwrap_or_default();
                if is_interrupt(t) {
                    facts.status = Some(RunStatus::Cancelled);
                } else if results == 0 && !meta && !is_wrapper(t) && facts.task.is_none() {
                    facts.task = task_of(t);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(lines: &[&str]) -> Output {
        let mut p = Parser::new(State::default());
        let mut out = Output::default();
        let src = SourceFile::default();
        for (i, l) in lines.iter().enumerate() {
            p.line(l.as_bytes(), i as u64 + 1, &src, &mut out);
        }
        p.flush(&mut out);
        out
    }

    const S: &str = "5e55-1";

    #[test]
    fn pairs_tool_use_and_result_with_the_recorded_facts() {
        let out = read(&[
            r#"{"type":"user","sessionId":"5e55-1","cwd":"/w/shop","timestamp":"2026-01-30T10:00:00.000Z","message":{"role":"user","content":"add a  test"}}"#,
            r#"{"type":"assistant","sessionId":"5e55-1","timestamp":"2026-01-30T10:00:01.000Z","message":{"id":"m1","model":"claude-x","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"cargo test"}}],"usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":3}}}"#,
            r#"{"type":"assistant","sessionId":"5e55-1","timestamp":"2026-01-30T10:00:01.100Z","message":{"id":"m1","model":"claude-x","content":[{"type":"text","text":"running"}],"usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":9}}}"#,
            r#"{"type":"user","sessionId":"5e55-1","timestamp":"2026-01-30T10:00:04.000Z","toolUseResult":{"interrupted":false,"durationMs":2500},"message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","is_error":true,"content":"Exit code 101\nerror[E0308]: mismatched types"}]}}"#,
            r#"{"type":"summary","summary":"x","leafUuid":"u"}"#,
        ]);
        assert!(out.skips.is_empty(), "{:?}", out.skips);
        let run = format!("claude-code:{S}");
        let facts: Vec<&RunFacts> = out
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Run(f) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(facts[0].task.as_deref(), Some("add a test"));
        assert_eq!(facts[0].cwd.as_deref(), Some("/w/shop"));
        assert_eq!(facts[1].model.as_deref(), Some("claude-x"));
        assert!(out.records.contains(&Record::Start(CallStart {
            run_id: run.clone(),
            call_id: "t1".into(),
            tool: "Bash".into(),
            at_ms: parse_ts("2026-01-30T10:00:01.000Z"),
            arguments: r#"{"command":"cargo test"}"#.into(),
        })));
        let end = out
            .records
            .iter()
            .find_map(|r| match r {
                Record::End(e) => Some(e),
                _ => None,
            })
            .unwrap();
        assert!(end.is_error);
        assert_eq!(end.exit_code, Some(101));
        assert_eq!(end.duration_ms, Some(2500));
        assert!(end.result.contains("E0308"));
        // One iteration for the streamed message, with the last line's usage.
        let iters: Vec<&Iteration> = out
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Iteration(i) => Some(i),
                _ => None,
            })
            .collect();
        assert_eq!(iters.len(), 1);
        assert_eq!(
            (iters[0].tokens_in, iters[0].tokens_out),
            (Some(15), Some(9))
        );
    }

    #[test]
    fn subagents_and_sidechains_are_runs_of_their_own() {
        let out = read(&[
            r#"{"type":"user","sessionId":"s","agentId":"a7","isSidechain":true,"timestamp":"2026-01-30T10:00:00Z","message":{"content":"explore"}}"#,
            r#"{"type":"user","sessionId":"s","isSidechain":true,"uuid":"u1","parentUuid":null,"timestamp":"2026-01-30T10:00:00Z","message":{"content":"find the config"}}"#,
            r#"{"type":"assistant","sessionId":"s","isSidechain":true,"uuid":"u2","parentUuid":"u1","timestamp":"2026-01-30T10:00:01Z","message":{"id":"m","content":[]}}"#,
            // A warm-up sidechain is no run: neither its prompt nor its reply is read.
            r#"{"type":"user","sessionId":"s","isSidechain":true,"uuid":"w1","parentUuid":null,"timestamp":"2026-01-30T10:00:02Z","message":{"content":"Warmup"}}"#,
            r#"{"type":"assistant","sessionId":"s","isSidechain":true,"uuid":"w2","parentUuid":"w1","timestamp":"2026-01-30T10:00:03Z","message":{"id":"m2","content":[{"type":"text","text":"Ready."}]}}"#,
        ]);
        let runs: Vec<(String, Option<String>)> = out
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Run(f) => Some((f.run_id.clone(), f.parent_run_id.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            runs[0],
            (
                "claude-code:s:agent-a7".into(),
                Some("claude-code:s".into())
            )
        );
        assert_eq!(runs[1].0, "claude-code:s:sidechain-u1");
        assert_eq!(runs[2].0, "claude-code:s:sidechain-u1");
        assert_eq!(runs.len(), 3, "{runs:?}");
    }

    #[test]
    fn status_follows_the_end_of_the_session() {
        let status = |lines: &[&str]| {
            read(lines)
                .records
                .iter()
                .filter_map(|r| match r {
                    Record::Run(f) => f.status,
                    _ => None,
                })
                .next_back()
        };
        let reply = r#"{"type":"assistant","sessionId":"s","timestamp":"2026-01-30T10:00:01Z","message":{"id":"m","model":"c","content":[{"type":"text","text":"ok"}]}}"#;
        let api = r#"{"type":"assistant","sessionId":"s","isApiErrorMessage":true,"timestamp":"2026-01-30T10:00:02Z","message":{"id":"m2","model":"<synthetic>","content":[{"type":"text","text":"API Error: Repeated 529 Overloaded errors"}]}}"#;
        let interrupt = r#"{"type":"user","sessionId":"s","timestamp":"2026-01-30T10:00:03Z","message":{"content":[{"type":"text","text":"[Request interrupted by user]"}]}}"#;
        assert_eq!(status(&[reply]), Some(RunStatus::Completed));
        assert_eq!(status(&[reply, api]), Some(RunStatus::Failed));
        assert_eq!(status(&[reply, interrupt]), Some(RunStatus::Cancelled));
        assert_eq!(status(&[api, reply]), Some(RunStatus::Completed));
    }

    #[test]
    fn bad_lines_are_counted_skips() {
        let out = read(&[
            r#"{"type":"user","sessionId":"s","message":{"content":"x"}"#,
            "not json",
            r#"{"type":"user","message":{"content":"no session"}}"#,
        ]);
        assert_eq!(out.skips.len(), 3);
        assert_eq!(out.skips[1].line, 2);
    }
}
