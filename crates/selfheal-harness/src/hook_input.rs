//! What each harness hands the hook command around a tool call, read into one shape, and the
//! answer each one takes back.
//!
//! | harness | events answered | tool input | how the call ended |
//! |---|---|---|---|
//! | Claude Code | `PreToolUse`, `PostToolUseFailure` | `tool_input` | the event itself |
//! | Codex | `PreToolUse`, `PostToolUse` (has `turn_id`) | `tool_input` | no exit code: `tool_response` is the output text |
//! | Gemini CLI | `AfterTool` | `tool_input` | `tool_response.llmContent` holds `Exit Code: N`; `tool_response.error` |
//! | OpenCode (our plugin) | `PostToolUse` with `harness: "opencode"` | `tool_input` | `tool_response.exit` |
//! | Copilot CLI | `preToolUse`, `postToolUseFailure` (`error`), `postToolUse` (`toolResult`) | `toolArgs` (JSON text or object) | `error`, or `<shellId: N completed with exit code M>` in `toolResult.textResultForLlm` |
//!
//! Copilot CLI's input (`{sessionId, timestamp, cwd, toolName, toolArgs}`) names no event:
//! its shape tells (`error` after a failure, `toolResult` after any other call, neither
//! before). Its answer is a top-level `{"additionalContext"}`; the others take
//! `{"hookSpecificOutput": {"hookEventName", "additionalContext"}}`.

use selfheal_core::shell::exit_code_in_output as exit_code_in_text;
use serde_json::{Value, json};

use crate::Harness;

/// When the hook runs, relative to the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before the call runs.
    Before,
    /// After a call the harness itself reports as failed.
    AfterFailure,
    /// After a call that the harness reports as done: it failed only if `exit_code` says so.
    After,
}

/// One tool call as a hook sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct HookCall {
    pub harness: Harness,
    /// The event's name, as the answer repeats it.
    pub event: String,
    pub phase: Phase,
    pub tool: String,
    pub cwd: String,
    pub tool_input: Value,
    /// The exit code the harness reported, when it reports one.
    pub exit_code: Option<i64>,
}

impl HookCall {
    /// Whether the call is known to have failed (always false before it ran).
    pub fn failed(&self) -> bool {
        match self.phase {
            Phase::Before => false,
            Phase::AfterFailure => true,
            Phase::After => self.exit_code.is_some_and(|c| c != 0),
        }
    }
}

/// The calls of one hook input (one at most); empty for events that are not about a tool
/// call, or that this harness cannot take an answer for.
pub fn calls(v: &Value) -> Vec<HookCall> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
    let cwd = s("cwd").to_string();
    let harness = harness_of(v);
    if harness == Harness::Copilot {
        let Some(tool) = v.get("toolName").and_then(Value::as_str) else {
            return Vec::new();
        };
        let failure = v.get("error").is_some_and(|e| !e.is_null());
        let result = v.get("toolResult").filter(|r| !r.is_null());
        let (event, phase) = match (failure, result) {
            (true, _) => ("postToolUseFailure", Phase::AfterFailure),
            (false, Some(_)) => ("postToolUse", Phase::After),
            (false, None) => ("preToolUse", Phase::Before),
        };
        let exit_code = result.and_then(text_of).and_then(|t| exit_code_in_text(&t));
        return vec![HookCall {
            harness,
            event: event.into(),
            phase,
            tool: tool.to_string(),
            cwd,
            tool_input: object_of(v.get("toolArgs")),
            exit_code,
        }];
    }
    let event = s("hook_event_name");
    let tool = s("tool_name");
    if tool.is_empty() {
        return Vec::new();
    }
    let response = v.get("tool_response");
    let (phase, exit_code) = match (harness, event) {
        (Harness::OpenCode, _) => (
            Phase::After,
            response.and_then(|r| r.get("exit")).and_then(Value::as_i64),
        ),
        (Harness::Codex | Harness::ClaudeCode, "PreToolUse") => (Phase::Before, None),
        (Harness::Codex, "PostToolUse") => (
            Phase::After,
            response
                .and_then(text_of)
                .and_then(|t| exit_code_in_text(&t)),
        ),
        (Harness::ClaudeCode, "PostToolUseFailure") => (Phase::AfterFailure, None),
        (Harness::Gemini, "AfterTool") => {
            let failed = response
                .and_then(|r| r.get("error"))
                .is_some_and(|e| !e.is_null());
            let exit = response
                .and_then(|r| r.get("llmContent"))
                .and_then(text_of)
                .and_then(|t| exit_code_in_text(&t));
            let phase = if failed {
                Phase::AfterFailure
            } else {
                Phase::After
            };
            (phase, exit)
        }
        _ => return Vec::new(),
    };
    vec![HookCall {
        harness,
        event: event.to_string(),
        phase,
        tool: tool.to_string(),
        cwd,
        tool_input: v.get("tool_input").cloned().unwrap_or(Value::Null),
        exit_code,
    }]
}

/// Gemini CLI's own hook events (its SessionStart, SessionEnd and Notification share Claude
/// Code's names and cannot tell it apart).
const GEMINI_EVENTS: [&str; 7] = [
    "BeforeTool",
    "AfterTool",
    "BeforeModel",
    "AfterModel",
    "BeforeAgent",
    "AfterAgent",
    "BeforeToolSelection",
];

/// Which harness wrote a hook input: Copilot CLI (camel-case keys: `sessionId`, `toolName`),
/// our OpenCode plugin (`harness`), Codex (`turn_id`), Gemini CLI (its event names), else
/// Claude Code.
pub fn harness_of(v: &Value) -> Harness {
    let has = |k: &str| v.get(k).is_some();
    let event = v
        .get("hook_event_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if has("sessionId") || has("toolName") || has("toolCalls") {
        Harness::Copilot
    } else if v.get("harness").and_then(Value::as_str) == Some("opencode") {
        Harness::OpenCode
    } else if has("turn_id") {
        Harness::Codex
    } else if GEMINI_EVENTS.contains(&event) {
        Harness::Gemini
    } else {
        Harness::ClaudeCode
    }
}

/// The answer that puts `text` before the model, in the shape `call`'s harness reads.
pub fn answer(call: &HookCall, text: &str) -> String {
    match call.harness {
        Harness::Copilot => json!({ "additionalContext": text }),
        _ => json!({"hookSpecificOutput": {
            "hookEventName": call.event,
            "additionalContext": text,
        }}),
    }
    .to_string()
}

/// A JSON object from a value that may be the object's JSON text (Copilot's `toolArgs`).
fn object_of(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
        }
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

/// A value's text: a string as it is, `{textResultForLlm | content | output}`, else JSON.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        Value::Object(o) => ["textResultForLlm", "content", "output", "llmContent"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_string))
            .or_else(|| Some(v.to_string())),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hook inputs the real harnesses wrote in the drift check's scenario
    /// (`tests/data/<harness>-<version>/hook-inputs.jsonl`).
    fn recorded(dir: &str) -> Vec<Value> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data")
            .join(dir)
            .join("hook-inputs.jsonl");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                // Some drivers wrap each input with the event they registered it for.
                v.get("input").cloned().unwrap_or(v)
            })
            .collect()
    }

    /// (harness, phase, tool, failed, exit code) of the calls about `pytest -q`.
    fn pytest_calls(dir: &str) -> Vec<(Harness, Phase, String, bool, Option<i64>)> {
        recorded(dir)
            .iter()
            .flat_map(calls)
            .filter(|c| c.tool_input.to_string().contains("pytest -q"))
            .map(|c| (c.harness, c.phase, c.tool.clone(), c.failed(), c.exit_code))
            .collect()
    }

    #[test]
    fn one_failing_command_reads_the_same_from_every_harness_hook() {
        use Phase::*;
        let table = [
            (
                "claude-code-2.1.328",
                vec![
                    (Harness::ClaudeCode, Before, "Bash".to_string(), false, None),
                    (
                        Harness::ClaudeCode,
                        AfterFailure,
                        "Bash".to_string(),
                        true,
                        None,
                    ),
                ],
            ),
            (
                "codex-0.169.0",
                vec![
                    (Harness::Codex, Before, "Bash".to_string(), false, None),
                    // Codex hands PostToolUse no exit code: not known to have failed.
                    (Harness::Codex, After, "Bash".to_string(), false, None),
                ],
            ),
            (
                "gemini-cli-0.61.0",
                vec![(
                    Harness::Gemini,
                    After,
                    "run_shell_command".to_string(),
                    true,
                    Some(127),
                )],
            ),
            (
                "opencode-1.18.33",
                vec![(
                    Harness::OpenCode,
                    After,
                    "bash".to_string(),
                    true,
                    Some(127),
                )],
            ),
            (
                "copilot-1.0.102",
                vec![
                    (Harness::Copilot, Before, "bash".to_string(), false, None),
                    (Harness::Copilot, After, "bash".to_string(), true, Some(127)),
                ],
            ),
        ];
        for (dir, want) in table {
            assert_eq!(pytest_calls(dir), want, "{dir}");
        }
    }

    #[test]
    fn failed_reads_are_failures_where_the_harness_says_so() {
        let failed: Vec<(Harness, String)> = ["gemini-cli-0.61.0", "copilot-1.0.102"]
            .iter()
            .flat_map(|d| recorded(d))
            .flat_map(|v| calls(&v))
            .filter(|c| c.phase == Phase::AfterFailure)
            .map(|c| (c.harness, c.tool))
            .collect();
        assert_eq!(
            failed,
            [
                (Harness::Gemini, "read_file".to_string()),
                (Harness::Copilot, "view".to_string())
            ]
        );
    }

    #[test]
    fn every_recorded_input_names_the_harness_that_wrote_it() {
        for (dir, harness) in [
            ("claude-code-2.1.328", Harness::ClaudeCode),
            ("codex-0.169.0", Harness::Codex),
            ("gemini-cli-0.61.0", Harness::Gemini),
            ("opencode-1.18.33", Harness::OpenCode),
            ("copilot-1.0.102", Harness::Copilot),
        ] {
            for v in recorded(dir) {
                assert_eq!(harness_of(&v), harness, "{dir}: {v}");
            }
        }
    }

    #[test]
    fn answers_take_each_harness_shape() {
        let copilot =
            &calls(&json!({"cwd": "/p", "toolName": "bash", "toolArgs": "{\"command\":\"ls\"}"}))
                [0];
        assert_eq!(copilot.tool_input["command"], "ls");
        assert_eq!(answer(copilot, "x"), r#"{"additionalContext":"x"}"#);
        let claude = &calls(
            &json!({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {}}),
        )[0];
        assert_eq!(
            answer(claude, "x"),
            r#"{"hookSpecificOutput":{"additionalContext":"x","hookEventName":"PreToolUse"}}"#
        );
        assert!(calls(&json!({"hook_event_name": "Stop"})).is_empty());
        assert!(calls(&json!({"hook_event_name": "PostToolUse", "tool_name": "Bash"})).is_empty());
    }
}
