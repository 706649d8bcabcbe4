//! SWE-agent and mini-swe-agent trajectories (`*.traj`, `*.traj.json`): one JSON document per
//! run, re-read whole when it changes.
//!
//! - SWE-agent: `{"trajectory": [{"action", "observation", "execution_time"?}], "history",
//!   "info": {"exit_status", "model_stats": {"tokens_sent", "tokens_received"}}}`. Each step is
//!   a call; the tool is the SWE-agent command the action starts with (`open`, `edit`,
//!   `find_file`, `submit`, ...) or `bash`; `execution_time` is the recorded duration. The
//!   format records no return code: a step failed when the harness rejected it (an edit that
//!   introduced syntax errors) or the command timed out.
//! - mini-swe-agent: `{"messages": [{"role", "content"}], "info": {"exit_status",
//!   "config": {"model": {"model_name"}}}, "instance_id"}`. Each assistant message with exactly
//!   one bash block is a `bash` call whose observation is the next user message:
//!   `<returncode>N</returncode>` gives `exit_code` (failed when not 0), a timeout notice fails
//!   the call, a format complaint means nothing ran (no call), anything else (the final
//!   submission) is a success. Version 2 trajectories (`mini_version` 2.x) record what ran in
//!   each model message's `extra.actions` (`[{"command", "tool_call_id"?}]`, whatever the
//!   model's message shape: text blocks such as ```` ```mswea_bash_command ````, chat tool calls,
//!   or a Responses API object); each action is a `bash` call whose observation is the message
//!   answering its `tool_call_id` (`role: "tool"`, or `type: "function_call_output"` with
//!   `call_id`), else the next observation in order. The observation's `extra.returncode` is the
//!   exit code (`extra.raw_output` the output, `extra.exception_info` a failure without one),
//!   `extra.timestamp`s give the duration; an action answered by the `exit` message (the
//!   submission) is a success.
//! - run id `swe-agent:<instance id or file stem>:<8 hex digits of a digest of the task and
//!   first step>` (the same instance run twice by different models stays two runs); agent
//!   `swe-agent` or `mini-swe-agent`; status from `exit_status` (`submitted…` → completed,
//!   other exits → failed).
//! - neither records timestamps: steps get synthetic instants one second apart, ending at the
//!   file's modification time; the run says `"timestamps": "synthetic"` and durations that are
//!   not recorded stay null.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::model::{
    CallEnd, CallStart, Iteration, Output, Record, RunFacts, RunStatus, SourceFile, TokenTotals,
};
use crate::text::{content_text, json_string, raw_to_text, task_of};

/// SWE-agent's own commands, named as tools; any other action is a `bash` command.
const COMMANDS: [&str; 16] = [
    "open",
    "goto",
    "scroll_up",
    "scroll_down",
    "create",
    "edit",
    "insert",
    "append",
    "find_file",
    "search_dir",
    "search_file",
    "submit",
    "str_replace_editor",
    "filemap",
    "view_image",
    "exit_forfeit",
];

/// Observations meaning the step did not do its job (the format records no return code).
const FAILED_STEP: [&str; 2] = [
    "Your proposed edit has introduced new syntax error",
    "timed out",
];

#[derive(Deserialize)]
struct Traj<'a> {
    #[serde(borrow, default)]
    trajectory: Option<Vec<Step<'a>>>,
    #[serde(borrow, default)]
    history: Option<Vec<Message<'a>>>,
    #[serde(borrow, default)]
    messages: Option<Vec<Message<'a>>>,
    #[serde(borrow, default)]
    info: Option<Info<'a>>,
    #[serde(borrow, default)]
    instance_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    replay_config: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Step<'a> {
    #[serde(borrow, default)]
    action: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    observation: Option<&'a RawValue>,
    #[serde(default)]
    execution_time: Option<f64>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    role: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    /// Version 2: the message answering a chat tool call.
    #[serde(borrow, default)]
    tool_call_id: Option<Cow<'a, str>>,
    /// Version 2, Responses API: `function_call_output` items.
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    call_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    output: Option<&'a RawValue>,
    /// Version 2: what mini-swe-agent adds to every message. Read leniently (the fields'
    /// types are not promised), so one odd field never loses the trajectory.
    #[serde(borrow, default)]
    extra: Option<&'a RawValue>,
}

/// The parts of a version 2 message's `extra` that say what ran and how it ended.
#[derive(Default)]
struct Extra {
    actions: Option<Vec<Action>>,
    returncode: Option<i64>,
    /// Whether `returncode` is present at all (an observation), even as null.
    observation: bool,
    raw_output: Option<String>,
    exception_info: Option<String>,
    timestamp_ms: Option<i64>,
    /// On the `exit` message: how the run ended and what it submitted.
    exit_status: Option<String>,
    submission: Option<String>,
}

struct Action {
    command: String,
    tool_call_id: Option<String>,
}

fn extra_of(m: &Message<'_>) -> Extra {
    let Some(v) = m
        .extra
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r.get()).ok())
    else {
        return Extra::default();
    };
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Extra {
        actions: v.get("actions").and_then(|a| a.as_array()).map(|list| {
            list.iter()
                .filter_map(|a| {
                    Some(Action {
                        command: a.get("command")?.as_str()?.to_string(),
                        tool_call_id: a
                            .get("tool_call_id")
                            .and_then(|i| i.as_str())
                            .filter(|i| !i.is_empty())
                            .map(str::to_string),
                    })
                })
                .collect()
        }),
        returncode: v.get("returncode").and_then(serde_json::Value::as_i64),
        observation: v.get("returncode").is_some(),
        raw_output: text("raw_output"),
        exception_info: text("exception_info").filter(|e| !e.is_empty()),
        timestamp_ms: v
            .get("timestamp")
            .and_then(serde_json::Value::as_f64)
            .filter(|t| t.is_finite() && *t > 0.0)
            .map(|t| (t * 1000.0).round() as i64),
        exit_status: text("exit_status"),
        submission: text("submission"),
    }
}

#[derive(Deserialize)]
struct Info<'a> {
    #[serde(borrow, default)]
    exit_status: Option<Cow<'a, str>>,
    #[serde(default)]
    model_stats: Option<ModelStats>,
    #[serde(borrow, default)]
    config: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ModelStats {
    #[serde(default)]
    tokens_sent: Option<u64>,
    #[serde(default)]
    tokens_received: Option<u64>,
}

fn status_of(exit: Option<&str>) -> Option<RunStatus> {
    let exit = exit?.trim().to_ascii_lowercase();
    if exit.is_empty() {
        return None;
    }
    Some(if exit.starts_with("submitted") {
        RunStatus::Completed
    } else {
        RunStatus::Failed
    })
}

/// `model.model_name` (or `model.name`) inside a config object, found wherever it sits.
fn model_in(config: &RawValue) -> Option<String> {
    let value: serde_json::Value = if config.get().starts_with('"') {
        serde_json::from_str(&raw_to_text(config)).ok()?
    } else {
        serde_json::from_str(config.get()).ok()?
    };
    let mut stack = vec![&value];
    while let Some(v) = stack.pop() {
        if let Some(model) = v.get("model") {
            for key in ["model_name", "name"] {
                if let Some(name) = model.get(key).and_then(|n| n.as_str()) {
                    return Some(name.to_string());
                }
            }
        }
        if let Some(obj) = v.as_object() {
            stack.extend(obj.values());
        }
    }
    None
}

fn tool_of(action: &str) -> &'static str {
    let first = action.split_whitespace().next().unwrap_or_default();
    COMMANDS
        .iter()
        .find(|c| **c == first)
        .copied()
        .unwrap_or("bash")
}

/// The single ```bash block of a mini-swe-agent reply, when there is exactly one.
fn single_bash_block(reply: &str) -> Option<&str> {
    let mut blocks = reply.split("```bash").skip(1);
    let first = blocks.next()?;
    if blocks.next().is_some() {
        return None;
    }
    let body = first.split("```").next()?;
    Some(body.trim_matches(['\n', '\r', ' ']))
}

/// A mini-swe-agent observation: (exit code, text without the wrapper), or `None` when it
/// is not a return-code observation.
fn returncode_observation(text: &str) -> Option<(i64, String)> {
    let rest = text.trim_start().strip_prefix("<returncode>")?;
    let (code, rest) = rest.split_once("</returncode>")?;
    let code = code.trim().parse().ok()?;
    let rest = rest.trim_start_matches(['\n', '\r']);
    let body = rest
        .strip_prefix("<output>")
        .and_then(|r| {
            r.strip_suffix("</output>")
                .or_else(|| r.trim_end().strip_suffix("</output>"))
        })
        .map(|b| b.trim_start_matches('\n').to_string())
        .unwrap_or_else(|| rest.to_string());
    Some((code, body))
}

fn digest8(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize()
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads a whole trajectory.
pub fn parse(bytes: &[u8], source: &SourceFile, out: &mut Output) {
    let traj: Traj<'_> = match serde_json::from_slice(bytes) {
        Ok(t) => t,
        Err(e) => {
            out.skip(0, crate::json_skip_reason(&e, "a SWE-agent trajectory"));
            return;
        }
    };
    let mini = traj.messages.is_some() && traj.trajectory.is_none();
    if !mini && traj.trajectory.is_none() {
        out.skip(
            0,
            "not a SWE-agent trajectory (no `trajectory` or `messages`)",
        );
        return;
    }
    let (calls, task) = if mini {
        mini_calls(traj.messages.as_deref().unwrap_or_default())
    } else {
        let task = traj
            .history
            .iter()
            .flatten()
            .find(|m| m.role.as_deref() == Some("user"))
            .and_then(|m| m.content)
            .map(content_text);
        (
            classic_calls(traj.trajectory.as_deref().unwrap_or_default()),
            task,
        )
    };
    let instance = traj
        .instance_id
        .as_deref()
        .map(str::to_string)
        .unwrap_or_else(|| source.stem().to_string());
    let first = calls.first();
    let digest = digest8(&[
        task.as_deref().unwrap_or_default(),
        first.map(|c| c.command.as_str()).unwrap_or_default(),
        first.map(|c| c.result.as_str()).unwrap_or_default(),
    ]);
    let run = format!("swe-agent:{instance}:{digest}");
    let info = traj.info.as_ref();
    let mut facts = RunFacts::new(run.clone());
    facts.agent = Some(if mini { "mini-swe-agent" } else { "swe-agent" }.into());
    facts.synthetic_time = true;
    facts.task = task.as_deref().and_then(task_of);
    facts.status = status_of(info.and_then(|i| i.exit_status.as_deref()));
    facts.model = info
        .and_then(|i| i.config)
        .and_then(model_in)
        .or_else(|| traj.replay_config.and_then(model_in));
    facts.tokens = info.and_then(|i| i.model_stats.as_ref()).and_then(|m| {
        match (m.tokens_sent, m.tokens_received) {
            (None, None) => None,
            (i, o) => Some(TokenTotals {
                input: i.unwrap_or(0),
                output: o.unwrap_or(0),
            }),
        }
    });
    // Synthetic instants: one second per step, the last at the file's modification time.
    let n = calls.len() as i64;
    let at = |k: i64| Some(source.mtime_ms - (n - k) * 1000);
    facts.at_ms = at(0);
    out.push(Record::Run(facts));
    for (k, call) in calls.into_iter().enumerate() {
        let k = k as i64;
        let call_id = format!("step-{}", call.index);
        out.push(Record::Iteration(Iteration {
            run_id: run.clone(),
            key: call_id.clone(),
            at_ms: at(k),
            tokens_in: None,
            tokens_out: None,
        }));
        out.push(Record::Start(CallStart {
            run_id: run.clone(),
            call_id: call_id.clone(),
            tool: call.tool.to_string(),
            at_ms: at(k),
            arguments: format!("{{\"command\":{}}}", json_string(&call.command)),
        }));
        if let Some(end) = call.end {
            out.push(Record::End(CallEnd {
                run_id: run.clone(),
                call_id,
                tool: None,
                at_ms: at(k + 1).map(|t| t - 1),
                result: call.result,
                is_error: end.is_error,
                duration_ms: end.duration_ms,
                error_type: None,
                exit_code: end.exit_code,
                interrupted: false,
                status: None,
            }));
        }
    }
    let mut last = RunFacts::new(run);
    last.at_ms = Some(source.mtime_ms);
    out.push(Record::Run(last));
}

struct StepCall {
    index: usize,
    tool: &'static str,
    command: String,
    result: String,
    end: Option<StepEnd>,
}

struct StepEnd {
    is_error: bool,
    exit_code: Option<i64>,
    duration_ms: Option<i64>,
}

fn classic_calls(steps: &[Step<'_>]) -> Vec<StepCall> {
    steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let action = s.action.as_deref()?.trim();
            if action.is_empty() {
                return None;
            }
            let result = s.observation.map(content_text).unwrap_or_default();
            let head: String = result.chars().take(400).collect();
            Some(StepCall {
                index: i,
                tool: tool_of(action),
                command: action.to_string(),
                end: Some(StepEnd {
                    is_error: FAILED_STEP.iter().any(|p| head.contains(p)),
                    exit_code: None,
                    duration_ms: s
                        .execution_time
                        .filter(|t| t.is_finite() && *t >= 0.0)
                        .map(|t| (t * 1000.0).round() as i64),
                }),
                result,
            })
        })
        .collect()
}

fn mini_calls(messages: &[Message<'_>]) -> (Vec<StepCall>, Option<String>) {
    let task = messages
        .iter()
        .find(|m| m.role.as_deref() == Some("user"))
        .and_then(|m| m.content)
        .map(content_text);
    let extras: Vec<Extra> = messages.iter().map(extra_of).collect();
    if extras.iter().any(|e| e.actions.is_some()) {
        return (v2_calls(messages, &extras), task);
    }
    let mut calls = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        if m.role.as_deref() != Some("assistant") {
            continue;
        }
        let reply = m.content.map(content_text).unwrap_or_default();
        let Some(command) = single_bash_block(&reply) else {
            continue;
        };
        let observation = messages
            .get(i + 1)
            .filter(|n| n.role.as_deref() == Some("user"))
            .and_then(|n| n.content)
            .map(content_text);
        let (result, end) = match observation {
            None => (String::new(), None),
            Some(text) => {
                if let Some((code, body)) = returncode_observation(&text) {
                    (
                        body,
                        Some(StepEnd {
                            is_error: code != 0,
                            exit_code: Some(code),
                            duration_ms: None,
                        }),
                    )
                } else if text
                    .trim_start()
                    .starts_with("Please always provide EXACTLY ONE")
                {
                    continue;
                } else {
                    let head: String = text.chars().take(400).collect();
                    let timed_out = head.contains("timed out");
                    (
                        text,
                        Some(StepEnd {
                            is_error: timed_out,
                            exit_code: None,
                            duration_ms: None,
                        }),
                    )
                }
            }
        };
        calls.push(StepCall {
            index: i,
            tool: "bash",
            command: command.to_string(),
            result,
            end,
        });
    }
    (calls, task)
}

/// The calls of a version 2 trajectory: the `extra.actions` of its model messages.
fn v2_calls(messages: &[Message<'_>], extras: &[Extra]) -> Vec<StepCall> {
    let answers_id = |m: &Message<'_>| -> Option<String> {
        if m.role.as_deref() == Some("tool") {
            return m.tool_call_id.as_deref().map(str::to_string);
        }
        if m.kind.as_deref() == Some("function_call_output") {
            return m.call_id.as_deref().map(str::to_string);
        }
        None
    };
    let mut taken = vec![false; messages.len()];
    let mut calls = Vec::new();
    for (i, extra) in extras.iter().enumerate() {
        let Some(actions) = &extra.actions else {
            continue;
        };
        // Observations answer the actions of this message before the next model message.
        let next_model = extras
            .iter()
            .enumerate()
            .skip(i + 1)
            .find(|(_, e)| e.actions.is_some())
            .map_or(messages.len(), |(k, _)| k);
        for (j, action) in actions.iter().enumerate() {
            let by_id = action.tool_call_id.as_deref().and_then(|id| {
                (i + 1..messages.len())
                    .find(|&k| !taken[k] && answers_id(&messages[k]).as_deref() == Some(id))
            });
            let in_order = || {
                (i + 1..next_model).find(|&k| {
                    !taken[k] && extras[k].observation && answers_id(&messages[k]).is_none()
                })
            };
            let observation = by_id.or_else(in_order);
            let end_message = observation.or_else(|| {
                // The submission: answered by the `exit` message rather than an observation.
                (j + 1 == actions.len())
                    .then(|| {
                        (i + 1..next_model).find(|&k| {
                            messages[k].role.as_deref() == Some("exit")
                                && extras[k]
                                    .exit_status
                                    .as_deref()
                                    .is_some_and(|s| s.eq_ignore_ascii_case("submitted"))
                        })
                    })
                    .flatten()
            });
            let (result, end) = match end_message {
                None => (String::new(), None),
                Some(k) => {
                    taken[k] = true;
                    let m = &messages[k];
                    let e = &extras[k];
                    let shown = m.content.or(m.output).map(content_text).unwrap_or_default();
                    let result = match (&e.raw_output, &e.submission) {
                        (Some(raw), _) => raw.clone(),
                        (None, Some(sub)) if m.role.as_deref() == Some("exit") => sub.clone(),
                        _ => returncode_observation(&shown).map_or(shown.clone(), |(_, body)| body),
                    };
                    let code = e
                        .returncode
                        .or_else(|| returncode_observation(&shown).map(|(c, _)| c));
                    let is_exit = m.role.as_deref() == Some("exit");
                    let failed = match code {
                        Some(c) => c != 0,
                        None => {
                            !is_exit && (e.exception_info.is_some() || shown.contains("timed out"))
                        }
                    };
                    let duration_ms = match (extra.timestamp_ms, e.timestamp_ms) {
                        (Some(a), Some(b)) if b >= a && !is_exit => Some(b - a),
                        _ => None,
                    };
                    (
                        result,
                        Some(StepEnd {
                            is_error: failed,
                            exit_code: code,
                            duration_ms,
                        }),
                    )
                }
            };
            calls.push(StepCall {
                index: calls.len(),
                tool: "bash",
                command: action.command.clone(),
                result,
                end,
            });
        }
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends(out: &Output) -> Vec<&CallEnd> {
        out.records
            .iter()
            .filter_map(|r| match r {
                Record::End(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    const MINI: &str = r#"{"info": {"exit_status": "Submitted", "config": {"model": {"model_name": "m-1"}}},
      "instance_id": "proj__proj-7",
      "messages": [
        {"role": "system", "content": "You are a helpful assistant"},
        {"role": "user", "content": "Fix the parser bug"},
        {"role": "assistant", "content": "THOUGHT: look\n\n```bash\nls\n```"},
        {"role": "user", "content": "<returncode>0</returncode>\n<output>\na.py\n</output>"},
        {"role": "assistant", "content": "```bash\nls\n```\n```bash\npwd\n```"},
        {"role": "user", "content": "Please always provide EXACTLY ONE action in triple backticks, found 2 actions."},
        {"role": "assistant", "content": "```bash\npython -m pytest\n```"},
        {"role": "user", "content": "<returncode>1</returncode>\n<output>\nE   AssertionError\n</output>"},
        {"role": "assistant", "content": "```bash\nsleep 999\n```"},
        {"role": "user", "content": "The last command <command>sleep 999</command> timed out and has been killed."},
        {"role": "assistant", "content": "```bash\necho COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git diff\n```"},
        {"role": "user", "content": "diff --git a/a.py b/a.py"}
      ], "trajectory_format": "mini-swe-agent-1"}"#;

    #[test]
    fn mini_trajectories_use_return_codes_and_synthetic_time() {
        let src = SourceFile {
            path: "/t/proj__proj-7.traj.json".into(),
            mtime_ms: 1_769_774_400_000,
        };
        let mut out = Output::default();
        parse(MINI.as_bytes(), &src, &mut out);
        assert!(out.skips.is_empty(), "{:?}", out.skips);
        let e = ends(&out);
        assert_eq!(e.len(), 4, "the format complaint is not a call");
        assert_eq!((e[0].is_error, e[0].exit_code), (false, Some(0)));
        assert_eq!(e[0].result, "a.py\n");
        assert_eq!((e[1].is_error, e[1].exit_code), (true, Some(1)));
        assert!(e[2].is_error && e[2].exit_code.is_none(), "timeout");
        assert!(!e[3].is_error, "the submission");
        assert!(e.iter().all(|c| c.duration_ms.is_none()));
        let Record::Run(facts) = &out.records[0] else {
            panic!("first record is the run")
        };
        assert!(facts.run_id.starts_with("swe-agent:proj__proj-7:"));
        assert!(facts.synthetic_time);
        assert_eq!(facts.model.as_deref(), Some("m-1"));
        assert_eq!(facts.status, Some(RunStatus::Completed));
        // Monotone instants ending at the file's mtime.
        let times: Vec<i64> = out
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Start(s) => s.at_ms,
                _ => None,
            })
            .collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]));
        assert!(*times.last().unwrap() < src.mtime_ms);
    }

    #[test]
    fn classic_trajectories_name_commands_and_keep_execution_time() {
        let traj = r#"{"environment": "x", "trajectory": [
            {"action": "find_file a.py\n", "observation": "Found 1 matches", "execution_time": 0.25},
            {"action": "edit 1:2\nbad\nend_of_edit", "observation": "Your proposed edit has introduced new syntax error(s)."},
            {"action": "python a.py", "observation": "ok"}],
          "history": [{"role": "system", "content": "s"}, {"role": "user", "content": "Task text"}],
          "info": {"exit_status": "exit_cost", "model_stats": {"tokens_sent": 70, "tokens_received": 3}}}"#;
        let mut out = Output::default();
        parse(traj.as_bytes(), &SourceFile::default(), &mut out);
        let tools: Vec<&str> = out
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Start(s) => Some(s.tool.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(tools, ["find_file", "edit", "bash"]);
        let e = ends(&out);
        assert_eq!(e[0].duration_ms, Some(250));
        assert!(e[1].is_error && !e[2].is_error);
        let Record::Run(facts) = &out.records[0] else {
            panic!("first record is the run")
        };
        assert_eq!(facts.status, Some(RunStatus::Failed));
        assert_eq!(
            facts.tokens,
            Some(TokenTotals {
                input: 70,
                output: 3
            })
        );
        assert_eq!(facts.task.as_deref(), Some("Task text"));
    }

    #[test]
    fn the_same_instance_by_two_models_is_two_runs() {
        let other = MINI.replace(
            "THOUGHT: look\\n\\n```bash\\nls\\n```",
            "```bash\\nfind .\\n```",
        );
        let run = |text: &str| {
            let mut out = Output::default();
            parse(text.as_bytes(), &SourceFile::default(), &mut out);
            match &out.records[0] {
                Record::Run(f) => f.run_id.clone(),
                _ => String::new(),
            }
        };
        assert_ne!(run(MINI), run(&other));
        assert_eq!(run(MINI), run(MINI));
    }

    /// Version 2 with chat tool calls: two calls in one message, answered by id out of order;
    /// a timeout without a return code; the submission answered by the `exit` message.
    const MINI_V2_TOOLCALLS: &str = r#"{"info": {"exit_status": "Submitted", "mini_version": "2.1.0",
        "config": {"model": {"model_name": "anthropic/claude-sonnet-4-5"}}},
      "instance_id": "proj__proj-9", "trajectory_format": "mini-swe-agent-1.1",
      "messages": [
        {"role": "system", "content": "You are a helpful assistant"},
        {"role": "user", "content": "Fix the parser bug"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "bash", "arguments": "{\"command\": \"ls\"}"}},
            {"id": "call_b", "type": "function", "function": {"name": "bash", "arguments": "{\"command\": \"cat missing.py\"}"}}],
         "extra": {"actions": [{"command": "ls", "tool_call_id": "call_a"}, {"command": "cat missing.py", "tool_call_id": "call_b"}],
                   "cost": 0.01, "timestamp": 1769774400.0}},
        {"role": "tool", "tool_call_id": "call_b", "content": "<returncode>1</returncode>\n<output>\ncat: missing.py: No such file or directory\n</output>",
         "extra": {"raw_output": "cat: missing.py: No such file or directory\n", "returncode": 1, "timestamp": 1769774400.4}},
        {"role": "tool", "tool_call_id": "call_a", "content": "<returncode>0</returncode>\n<output>\na.py\n</output>",
         "extra": {"raw_output": "a.py\n", "returncode": 0, "timestamp": 1769774400.25}},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "call_c", "type": "function", "function": {"name": "bash", "arguments": "{\"command\": \"sleep 999\"}"}}],
         "extra": {"actions": [{"command": "sleep 999", "tool_call_id": "call_c"}], "timestamp": 1769774401.0}},
        {"role": "tool", "tool_call_id": "call_c", "content": "The command timed out.",
         "extra": {"raw_output": "", "returncode": null, "exception_info": "An error occurred while executing the command: timed out", "timestamp": 1769774431.0}},
        {"role": "assistant", "content": "done", "tool_calls": [{"id": "call_d", "type": "function", "function": {"name": "bash", "arguments": "{}"}}],
         "extra": {"actions": [{"command": "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git diff", "tool_call_id": "call_d"}], "timestamp": 1769774432.0}},
        {"role": "exit", "content": "diff --git a/a.py b/a.py", "extra": {"exit_status": "Submitted", "submission": "diff --git a/a.py b/a.py"}}
      ]}"#;

    fn calls_of(text: &str) -> Vec<(String, Option<CallEnd>)> {
        let mut out = Output::default();
        parse(text.as_bytes(), &SourceFile::default(), &mut out);
        assert!(out.skips.is_empty(), "{:?}", out.skips);
        let mut calls: Vec<(String, String, Option<CallEnd>)> = Vec::new();
        for r in &out.records {
            match r {
                Record::Start(s) => calls.push((s.call_id.clone(), s.arguments.clone(), None)),
                Record::End(e) => {
                    if let Some(c) = calls.iter_mut().find(|c| c.0 == e.call_id) {
                        c.2 = Some(e.clone());
                    }
                }
                _ => {}
            }
        }
        calls
            .into_iter()
            .map(|(_, args, end)| (args, end))
            .collect()
    }

    #[test]
    fn version_2_tool_calls_are_read_from_the_actions() {
        let calls = calls_of(MINI_V2_TOOLCALLS);
        assert_eq!(calls.len(), 4, "{calls:?}");
        assert_eq!(calls[0].0, r#"{"command":"ls"}"#);
        let ls = calls[0].1.as_ref().unwrap();
        assert_eq!(
            (ls.is_error, ls.exit_code, ls.result.as_str()),
            (false, Some(0), "a.py\n")
        );
        assert_eq!(ls.duration_ms, Some(250));
        let cat = calls[1].1.as_ref().unwrap();
        assert_eq!((cat.is_error, cat.exit_code), (true, Some(1)));
        assert!(cat.result.contains("No such file"));
        let sleep = calls[2].1.as_ref().unwrap();
        assert!(sleep.is_error && sleep.exit_code.is_none(), "{sleep:?}");
        assert_eq!(sleep.duration_ms, Some(30_000));
        let submit = calls[3].1.as_ref().unwrap();
        assert!(!submit.is_error && submit.result.starts_with("diff --git"));
    }

    #[test]
    fn version_2_text_and_responses_api_trajectories() {
        // Text-based: a ```mswea_bash_command block, the observation answers in order.
        let text = r#"{"info": {"exit_status": "LimitsExceeded"}, "messages": [
            {"role": "system", "content": "s"}, {"role": "user", "content": "Task"},
            {"role": "assistant", "content": "THOUGHT\n```mswea_bash_command\npytest -x\n```",
             "extra": {"actions": [{"command": "pytest -x"}]}},
            {"role": "user", "content": "<returncode>2</returncode>\n<output>\nERROR collecting\n</output>",
             "extra": {"raw_output": "ERROR collecting\n", "returncode": 2}},
            {"role": "assistant", "content": "```mswea_bash_command\nls\n```", "extra": {"actions": [{"command": "ls"}]}},
            {"role": "exit", "content": "", "extra": {"exit_status": "LimitsExceeded", "submission": ""}}]}"#;
        let calls = calls_of(text);
        assert_eq!(calls.len(), 2, "{calls:?}");
        let pytest = calls[0].1.as_ref().unwrap();
        assert_eq!((pytest.is_error, pytest.exit_code), (true, Some(2)));
        assert!(
            calls[1].1.is_none(),
            "cut off by the limit: started, never answered"
        );

        // Responses API: the model message is a response object; observations are items.
        let responses = r#"{"info": {"exit_status": "Submitted"}, "messages": [
            {"role": "user", "content": [{"type": "input_text", "text": "Task"}]},
            {"object": "response", "output": [{"type": "function_call", "call_id": "fc_1", "name": "bash", "arguments": "{\"command\": \"git status\"}"}],
             "extra": {"actions": [{"command": "git status", "tool_call_id": "fc_1"}]}},
            {"type": "function_call_output", "call_id": "fc_1", "output": "<returncode>128</returncode>\n<output>\nfatal: not a git repository\n</output>",
             "extra": {"returncode": 128}}]}"#;
        let calls = calls_of(responses);
        assert_eq!(calls.len(), 1);
        let git = calls[0].1.as_ref().unwrap();
        assert_eq!((git.is_error, git.exit_code), (true, Some(128)));
        assert_eq!(git.result, "fatal: not a git repository\n");
    }
}
