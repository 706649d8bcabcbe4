//! The harnesses' telemetry as runs and tool calls (see `tests/data/otlp/README.md` for what
//! each harness sends; every rule below was read from those captures).
//!
//! **Log records** (the event name is the `event.name` attribute, else the body):
//! - Claude Code `claude_code.tool_result` (`tool_name`, older `name`; `tool_use_id`;
//!   `success` "true"/"false"; `duration_ms`; `error_type`; with `OTEL_LOG_TOOL_DETAILS=1`
//!   `error` and `tool_input`/`tool_parameters`), `claude_code.tool_decision` (`decision`
//!   "reject" is a declined call; older `decision`/`source` alike), `claude_code.api_request`
//!   (a model turn: `model`, tokens). Run `claude-code:<session.id>`, the run id the
//!   transcript importer gives the same session, so both sources make one run and one call
//!   per `tool_use_id`. Claude Code exports no exit code: a failed shell command is
//!   `success "false"` with the text "Shell command failed".
//! - Codex `codex.tool_result` (`call_id`, `tool_name`, `arguments`, `output`, `success`,
//!   `duration_ms`), `codex.tool_decision` (`denied` declined, `abort` cancelled). Run
//!   `codex:<conversation.id>`. `success` is about the tool, not the command: the exit code is
//!   read from `output` ("Process exited with code N").
//! - Gemini CLI `gemini_cli.tool_call` (`function_name`, `function_args`, `duration_ms`,
//!   `success` (a bool), `decision`, `error`, `error_type`, `metadata` `{"exitCode"}`). Run
//!   `gemini-cli:<session.id>`. The record carries no call id: the call is keyed by the
//!   record's time and tool.
//!
//! **Spans:** OpenCode's `Tool.execute` (`tool.name`, `tool.call_id`, `session.id`; status
//! ERROR for a tool that threw) with its `ai.toolCall` span when exported (`ai.toolCall.args`,
//! `ai.toolCall.result` whose `metadata.exit` is the exit code), run `opencode:<session.id>`;
//! OpenTelemetry GenAI `execute_tool` spans (`gen_ai.tool.name`, `gen_ai.tool.call.id`,
//! `gen_ai.tool.call.arguments` / `.result`, `error.type`, `process.exit.code`), run
//! `copilot-cli:<gen_ai.conversation.id>` for Copilot CLI, else `otel:<conversation or trace
//! id>`. Codex's and Gemini CLI's spans repeat what their logs say and are passed over.
//!
//! **The exit code decides** for shell tools (`selfheal_core::shell::call_failed`), as in every
//! importer. **Attribution:** `team.id`, `user.account_uuid` (else `user.id`) and
//! `organization.id`, from the record or its resource, go into the run's metadata.
//!
//! A tool item without the run or the tool it needs is **rejected** (counted, with the first
//! reason, for the answer's `partial_success`); items of no interest are accepted and passed
//! over.

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, status};
use selfheal_core::shell::{call_failed, exit_code_in_output};
use selfheal_import::model::{CallEnd, CallStart, Iteration, Record, RunFacts};
use serde_json::Value;

/// What one export request maps to.
#[derive(Debug, Default)]
pub struct Mapped {
    pub records: Vec<Record>,
    /// Tool calls mapped (their ends).
    pub tool_results: u64,
    /// Items refused, and why the first was.
    pub rejected: u64,
    pub reason: Option<String>,
}

impl Mapped {
    fn reject(&mut self, why: String) {
        self.rejected += 1;
        self.reason.get_or_insert(why);
    }

    /// One tool call: its run's facts, its start and its end.
    fn call(&mut self, facts: RunFacts, c: ToolCall) {
        self.records.push(Record::Run(facts));
        self.records.push(Record::Start(CallStart {
            run_id: c.run.clone(),
            call_id: c.call_id.clone(),
            tool: c.tool.clone(),
            at_ms: c.start_ms,
            arguments: c.arguments,
        }));
        self.records.push(Record::End(CallEnd {
            run_id: c.run,
            call_id: c.call_id,
            tool: Some(c.tool),
            at_ms: c.end_ms,
            result: c.result,
            is_error: c.failed,
            duration_ms: c.duration_ms,
            error_type: c.error_type,
            exit_code: c.exit_code,
            status: c.status,
            ..CallEnd::default()
        }));
        self.tool_results += 1;
    }
}

/// What a harness's item says about one tool call.
#[derive(Default)]
struct ToolCall {
    run: String,
    call_id: String,
    tool: String,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    /// JSON text (see [`arguments`]).
    arguments: String,
    result: String,
    failed: bool,
    duration_ms: Option<i64>,
    error_type: Option<String>,
    exit_code: Option<i64>,
    /// The harness's own word for a call that did not run (`rejected`, `cancelled`, …).
    status: Option<String>,
}

/// The attributes of an item over those of its resource (the item's win).
struct Attrs<'a> {
    item: &'a [KeyValue],
    resource: &'a [KeyValue],
}

impl<'a> Attrs<'a> {
    fn value(&self, key: &str) -> Option<&'a any_value::Value> {
        self.item
            .iter()
            .chain(self.resource)
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.as_ref())
    }

    /// A scalar as text (ints and bools written out); `None` for absent or empty.
    fn text(&self, key: &str) -> Option<String> {
        let text = match self.value(key)? {
            any_value::Value::StringValue(s) => s.clone(),
            any_value::Value::IntValue(i) => i.to_string(),
            any_value::Value::BoolValue(b) => b.to_string(),
            any_value::Value::DoubleValue(d) => d.to_string(),
            _ => return None,
        };
        (!text.is_empty()).then_some(text)
    }

    fn int(&self, key: &str) -> Option<i64> {
        match self.value(key)? {
            any_value::Value::IntValue(i) => Some(*i),
            any_value::Value::DoubleValue(d) if d.is_finite() => Some(d.round() as i64),
            any_value::Value::StringValue(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A boolean sent as a bool or as the string "true"/"false".
    fn flag(&self, key: &str) -> Option<bool> {
        match self.value(key)? {
            any_value::Value::BoolValue(b) => Some(*b),
            any_value::Value::StringValue(s) => match s.trim() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// Who ran it.
    fn attribution(&self) -> Vec<(&'static str, String)> {
        [
            ("team", &["team.id"][..]),
            ("user", &["user.account_uuid", "user.id", "user.email"][..]),
            ("organization", &["organization.id"][..]),
        ]
        .into_iter()
        .filter_map(|(name, keys)| Some((name, keys.iter().find_map(|k| self.text(k))?)))
        .collect()
    }
}

fn ns_to_ms(ns: u64) -> Option<i64> {
    (ns > 0).then_some((ns / 1_000_000) as i64)
}

/// A JSON argument text as compact JSON (a text that is not JSON becomes a JSON string).
fn arguments(text: Option<String>) -> String {
    match text {
        None => "{}".into(),
        Some(t) => match serde_json::from_str::<Value>(&t) {
            Ok(v) => v.to_string(),
            Err(_) => Value::String(t).to_string(),
        },
    }
}

fn facts(run: &str, agent: &str, attrs: &Attrs<'_>, at_ms: Option<i64>) -> RunFacts {
    RunFacts {
        agent: Some(agent.to_string()),
        at_ms,
        attribution: attrs.attribution(),
        ..RunFacts::new(run)
    }
}

/// Maps the tool results, decisions and model turns of an export of log records.
pub fn logs(req: &ExportLogsServiceRequest) -> Mapped {
    let mut out = Mapped::default();
    for rl in &req.resource_logs {
        let resource = rl
            .resource
            .as_ref()
            .map_or(&[][..], |r| r.attributes.as_slice());
        for record in rl.scope_logs.iter().flat_map(|s| &s.log_records) {
            let attrs = Attrs {
                item: &record.attributes,
                resource,
            };
            let body = record.body.as_ref().and_then(|b| match &b.value {
                Some(any_value::Value::StringValue(s)) => Some(s.as_str()),
                _ => None,
            });
            let event = attrs.text("event.name");
            let service = attrs.text("service.name");
            let name = [event.as_deref(), body]
                .into_iter()
                .flatten()
                .find(|n| KNOWN_EVENTS.contains(n))
                .map(str::to_string)
                .or_else(|| {
                    // Claude Code names the event without its prefix in `event.name`.
                    (service.as_deref() == Some("claude-code"))
                        .then(|| event.as_deref().map(|e| format!("claude_code.{e}")))
                        .flatten()
                });
            let at_ms = ns_to_ms(record.time_unix_nano)
                .or_else(|| ns_to_ms(record.observed_time_unix_nano));
            match name.as_deref() {
                Some("claude_code.tool_result") => claude_result(&attrs, at_ms, &mut out),
                Some("claude_code.tool_decision") => claude_decision(&attrs, at_ms, &mut out),
                Some("claude_code.api_request") => claude_turn(&attrs, at_ms, &mut out),
                Some("codex.tool_result") => codex_result(&attrs, at_ms, &mut out),
                Some("codex.tool_decision") => codex_decision(&attrs, at_ms, &mut out),
                Some("gemini_cli.tool_call") => gemini_call(&attrs, at_ms, &mut out),
                _ => {}
            }
        }
    }
    out
}

const KNOWN_EVENTS: [&str; 6] = [
    "claude_code.tool_result",
    "claude_code.tool_decision",
    "claude_code.api_request",
    "codex.tool_result",
    "codex.tool_decision",
    "gemini_cli.tool_call",
];

fn claude_result(attrs: &Attrs<'_>, at_ms: Option<i64>, out: &mut Mapped) {
    let (Some(session), Some(tool)) = (
        attrs.text("session.id"),
        attrs.text("tool_name").or_else(|| attrs.text("name")),
    ) else {
        return out.reject("claude_code.tool_result without session.id or tool_name".into());
    };
    let run = format!("claude-code:{session}");
    let call_id = attrs.text("tool_use_id").unwrap_or_else(|| {
        format!(
            "otlp-{}-{tool}",
            attrs
                .text("event.sequence")
                .or_else(|| at_ms.map(|t| t.to_string()))
                .unwrap_or_default()
        )
    });
    let duration = attrs.int("duration_ms").filter(|d| *d >= 0);
    let failed = attrs.flag("success") == Some(false);
    let args = attrs
        .text("tool_input")
        .or_else(|| attrs.text("tool_parameters"));
    out.call(
        facts(&run, "claude-code", attrs, at_ms),
        ToolCall {
            run,
            call_id,
            tool,
            start_ms: at_ms.map(|t| t - duration.unwrap_or(0)),
            end_ms: at_ms,
            arguments: arguments(args),
            result: if failed {
                attrs.text("error").unwrap_or_default()
            } else {
                String::new()
            },
            failed,
            duration_ms: duration,
            error_type: failed.then(|| attrs.text("error_type")).flatten(),
            ..ToolCall::default()
        },
    );
}

fn claude_decision(attrs: &Attrs<'_>, at_ms: Option<i64>, out: &mut Mapped) {
    let decision = attrs.text("decision").unwrap_or_default();
    if !matches!(decision.as_str(), "reject" | "rejected" | "deny" | "denied") {
        return;
    }
    let (Some(session), Some(tool)) = (
        attrs.text("session.id"),
        attrs.text("tool_name").or_else(|| attrs.text("name")),
    ) else {
        return out.reject("claude_code.tool_decision without session.id or tool_name".into());
    };
    let run = format!("claude-code:{session}");
    let call_id = attrs
        .text("tool_use_id")
        .unwrap_or_else(|| format!("otlp-{}-{tool}", at_ms.unwrap_or_default()));
    let source = attrs
        .text("source")
        .or_else(|| attrs.text("decision_source"))
        .unwrap_or_default();
    declined(
        out,
        facts(&run, "claude-code", attrs, at_ms),
        call_at(&run, call_id, tool, at_ms),
        "rejected",
        format!("The tool use was rejected ({source})"),
    );
}

/// A call the harness declined or aborted before it ran.
fn declined(out: &mut Mapped, facts: RunFacts, call: ToolCall, status: &str, text: String) {
    out.call(
        facts,
        ToolCall {
            start_ms: call.end_ms,
            arguments: "{}".into(),
            result: text,
            failed: true,
            status: Some(status.to_string()),
            ..call
        },
    );
}

/// The identity and instant of a call.
fn call_at(run: &str, call_id: String, tool: String, at_ms: Option<i64>) -> ToolCall {
    ToolCall {
        run: run.to_string(),
        call_id,
        tool,
        end_ms: at_ms,
        ..ToolCall::default()
    }
}

fn claude_turn(attrs: &Attrs<'_>, at_ms: Option<i64>, out: &mut Mapped) {
    let Some(session) = attrs.text("session.id") else {
        return;
    };
    let run = format!("claude-code:{session}");
    let mut f = facts(&run, "claude-code", attrs, at_ms);
    f.model = attrs.text("model");
    out.records.push(Record::Run(f));
    let tokens_in = ["input_tokens", "cache_read_tokens", "cache_creation_tokens"]
        .iter()
        .filter_map(|k| attrs.int(k))
        .map(|n| n.max(0) as u64)
        .reduce(|a, b| a + b);
    out.records.push(Record::Iteration(Iteration {
        run_id: run,
        key: attrs
            .text("request_id")
            .or_else(|| attrs.text("event.sequence"))
            .unwrap_or_else(|| at_ms.unwrap_or_default().to_string()),
        at_ms,
        tokens_in,
        tokens_out: attrs.int("output_tokens").map(|n| n.max(0) as u64),
    }));
}

fn codex_result(attrs: &Attrs<'_>, at_ms: Option<i64>, out: &mut Mapped) {
    let (Some(conversation), Some(tool), Some(call_id)) = (
        attrs.text("conversation.id"),
        attrs.text("tool_name"),
        attrs.text("call_id"),
    ) else {
        return out
            .reject("codex.tool_result without conversation.id, tool_name or call_id".into());
    };
    let run = format!("codex:{conversation}");
    let output = attrs.text("output").unwrap_or_default();
    let exit_code = exit_code_in_output(&output);
    let reported_failed = attrs.flag("success") == Some(false);
    let failed = call_failed(&tool, reported_failed, exit_code);
    let duration = attrs.int("duration_ms").filter(|d| *d >= 0);
    out.call(
        facts(&run, "codex", attrs, at_ms),
        ToolCall {
            start_ms: at_ms.map(|t| t - duration.unwrap_or(0)),
            arguments: arguments(attrs.text("arguments")),
            result: output,
            failed,
            duration_ms: duration,
            exit_code,
            ..call_at(&run, call_id, tool, at_ms)
        },
    );
}

fn codex_decision(attrs: &Attrs<'_>, at_ms: Option<i64>, out: &mut Mapped) {
    let status = match attrs.text("decision").as_deref() {
        Some("denied") => "rejected",
        Some("abort") => "aborted",
        _ => return,
    };
    let (Some(conversation), Some(tool), Some(call_id)) = (
        attrs.text("conversation.id"),
        attrs.text("tool_name"),
        attrs.text("call_id"),
    ) else {
        return out
            .reject("codex.tool_decision without conversation.id, tool_name or call_id".into());
    };
    let run = format!("codex:{conversation}");
    let text = format!(
        "The tool call was {status} ({})",
        attrs.text("source").unwrap_or_default()
    );
    declined(
        out,
        facts(&run, "codex", attrs, at_ms),
        call_at(&run, call_id, tool, at_ms),
        status,
        text,
    );
}

fn gemini_call(attrs: &Attrs<'_>, at_ms: Option<i64>, out: &mut Mapped) {
    let (Some(session), Some(tool)) = (attrs.text("session.id"), attrs.text("function_name"))
    else {
        return out.reject("gemini_cli.tool_call without session.id or function_name".into());
    };
    let run = format!("gemini-cli:{session}");
    let call_id = format!(
        "otlp-{}-{tool}",
        attrs
            .text("event.timestamp")
            .or_else(|| at_ms.map(|t| t.to_string()))
            .unwrap_or_default()
    );
    let facts = facts(&run, "gemini-cli", attrs, at_ms);
    let decision = attrs.text("decision").unwrap_or_default();
    if matches!(decision.as_str(), "reject" | "cancel") {
        let status = if decision == "reject" {
            "rejected"
        } else {
            "cancelled"
        };
        return declined(
            out,
            facts,
            call_at(&run, call_id, tool, at_ms),
            status,
            format!("The tool call was {status}"),
        );
    }
    let exit_code = attrs
        .text("metadata")
        .and_then(|m| serde_json::from_str::<Value>(&m).ok())
        .and_then(|m| m.get("exitCode").and_then(Value::as_i64));
    let failed = call_failed(&tool, attrs.flag("success") == Some(false), exit_code);
    let duration = attrs.int("duration_ms").filter(|d| *d >= 0);
    let error = attrs
        .text("error")
        .or_else(|| attrs.text("error.message"))
        .unwrap_or_default();
    out.call(
        facts,
        ToolCall {
            start_ms: at_ms.map(|t| t - duration.unwrap_or(0)),
            arguments: arguments(attrs.text("function_args")),
            result: match exit_code {
                Some(code) if failed && error.is_empty() => format!("Exit Code: {code}"),
                _ => error,
            },
            failed,
            duration_ms: duration,
            error_type: attrs
                .text("error_type")
                .or_else(|| attrs.text("error.type")),
            exit_code,
            ..call_at(&run, call_id, tool, at_ms)
        },
    );
}

/// Maps the tool calls of an export of spans.
pub fn traces(req: &ExportTraceServiceRequest) -> Mapped {
    let mut out = Mapped::default();
    for rs in &req.resource_spans {
        let resource = rs
            .resource
            .as_ref()
            .map_or(&[][..], |r| r.attributes.as_slice());
        let service = Attrs {
            item: &[],
            resource,
        }
        .text("service.name")
        .unwrap_or_default();
        // Their logs say it all (with the exit codes); their spans would count calls twice.
        if service == "gemini-cli" || service.starts_with("codex") {
            continue;
        }
        let spans: Vec<&Span> = rs.scope_spans.iter().flat_map(|s| &s.spans).collect();
        // OpenCode's `ai.toolCall` spans (arguments, result, exit code) by call id.
        let ai_calls: HashMap<String, &Span> = spans
            .iter()
            .filter(|s| s.name == "ai.toolCall")
            .filter_map(|s| {
                let attrs = Attrs {
                    item: &s.attributes,
                    resource,
                };
                Some((attrs.text("ai.toolCall.id")?, *s))
            })
            .collect();
        let has_tool_execute = spans.iter().any(|s| s.name == "Tool.execute");
        for span in &spans {
            let attrs = Attrs {
                item: &span.attributes,
                resource,
            };
            // `ai.toolCall` stands alone only when no `Tool.execute` came with it.
            let opencode =
                span.name == "Tool.execute" || (span.name == "ai.toolCall" && !has_tool_execute);
            if opencode {
                opencode_call(span, &attrs, &ai_calls, resource, &mut out);
            } else if attrs.text("gen_ai.operation.name").as_deref() == Some("execute_tool")
                || span.name.starts_with("execute_tool")
            {
                genai_call(span, &attrs, &service, &mut out);
            }
        }
    }
    out
}

fn span_error(span: &Span) -> Option<String> {
    let status = span.status.as_ref()?;
    if status.code != status::StatusCode::Error as i32 {
        return None;
    }
    let event_message = span.events.iter().find_map(|e| {
        let a = Attrs {
            item: &e.attributes,
            resource: &[],
        };
        a.text("exception.message")
    });
    Some(
        Some(status.message.clone())
            .filter(|m| !m.is_empty())
            .or(event_message)
            .unwrap_or_else(|| "error".into()),
    )
}

fn opencode_call(
    span: &Span,
    attrs: &Attrs<'_>,
    ai_calls: &HashMap<String, &Span>,
    resource: &[KeyValue],
    out: &mut Mapped,
) {
    let (Some(session), Some(tool), Some(call_id)) = (
        attrs.text("session.id"),
        attrs
            .text("tool.name")
            .or_else(|| attrs.text("ai.toolCall.name")),
        attrs
            .text("tool.call_id")
            .or_else(|| attrs.text("ai.toolCall.id")),
    ) else {
        return out.reject(format!(
            "{} span without session.id, tool name or call id",
            span.name
        ));
    };
    let run = format!("opencode:{session}");
    let ai = ai_calls.get(&call_id).map(|s| Attrs {
        item: &s.attributes,
        resource,
    });
    let result: Option<Value> = ai
        .as_ref()
        .and_then(|a| a.text("ai.toolCall.result"))
        .and_then(|r| serde_json::from_str(&r).ok());
    let exit_code = result
        .as_ref()
        .and_then(|r| r.pointer("/metadata/exit"))
        .and_then(Value::as_i64);
    let error = span_error(span);
    let failed = call_failed(&tool, error.is_some(), exit_code);
    let start = ns_to_ms(span.start_time_unix_nano);
    let end = ns_to_ms(span.end_time_unix_nano);
    let output = result
        .as_ref()
        .and_then(|r| r.get("output").and_then(Value::as_str))
        .map(str::to_string);
    out.call(
        facts(&run, "opencode", attrs, start),
        ToolCall {
            start_ms: start,
            arguments: arguments(ai.as_ref().and_then(|a| a.text("ai.toolCall.args"))),
            result: error.or(output).unwrap_or_default(),
            failed,
            duration_ms: start.zip(end).map(|(s, e)| (e - s).max(0)),
            exit_code,
            ..call_at(&run, call_id, tool, end)
        },
    );
}

fn genai_call(span: &Span, attrs: &Attrs<'_>, service: &str, out: &mut Mapped) {
    let Some(tool) = attrs.text("gen_ai.tool.name").or_else(|| {
        span.name
            .strip_prefix("execute_tool ")
            .and_then(|r| r.split_whitespace().next())
            .map(str::to_string)
    }) else {
        return out.reject("execute_tool span without gen_ai.tool.name".into());
    };
    let conversation = attrs.text("gen_ai.conversation.id");
    let (run, agent) = match (service, conversation) {
        ("github-copilot", Some(c)) => (format!("copilot-cli:{c}"), "copilot-cli".to_string()),
        (_, Some(c)) => (format!("otel:{c}"), agent_name(attrs, service)),
        (_, None) => (
            format!("otel:{}", hex(&span.trace_id)),
            agent_name(attrs, service),
        ),
    };
    let call_id = attrs
        .text("gen_ai.tool.call.id")
        .unwrap_or_else(|| hex(&span.span_id));
    let exit_code = attrs.int("process.exit.code");
    let error = span_error(span).or_else(|| attrs.text("error.type"));
    let failed = call_failed(&tool, error.is_some(), exit_code);
    let start = ns_to_ms(span.start_time_unix_nano);
    let end = ns_to_ms(span.end_time_unix_nano);
    let args = attrs.text("gen_ai.tool.call.arguments").or_else(|| {
        attrs
            .text("github.copilot.tool.parameters.command")
            .map(|c| serde_json::json!({ "command": c }).to_string())
    });
    let result = attrs.text("gen_ai.tool.call.result");
    out.call(
        facts(&run, &agent, attrs, start),
        ToolCall {
            start_ms: start,
            arguments: arguments(args),
            result: match (failed, result, error.clone()) {
                (true, Some(r), _) | (false, Some(r), None) => r,
                (_, _, Some(e)) => e,
                (_, None, None) => String::new(),
            },
            failed,
            duration_ms: start.zip(end).map(|(s, e)| (e - s).max(0)),
            error_type: attrs.text("error.type"),
            exit_code,
            ..call_at(&run, call_id, tool, end)
        },
    );
}

fn agent_name(attrs: &Attrs<'_>, service: &str) -> String {
    attrs.text("gen_ai.agent.name").unwrap_or_else(|| {
        if service.is_empty() {
            "otel".into()
        } else {
            service.into()
        }
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::AnyValue;

    fn string_attr(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.into())),
            }),
            ..KeyValue::default()
        }
    }

    #[test]
    fn attributes_are_read_whatever_their_encoding() {
        let item = vec![
            string_attr("success", "false"),
            string_attr("duration_ms", "69"),
            KeyValue {
                key: "n".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::IntValue(7)),
                }),
                ..KeyValue::default()
            },
            KeyValue {
                key: "empty".into(),
                value: None,
                ..KeyValue::default()
            },
        ];
        let resource = vec![string_attr("team.id", "platform"), string_attr("n", "9")];
        let a = Attrs {
            item: &item,
            resource: &resource,
        };
        assert_eq!(a.flag("success"), Some(false));
        assert_eq!(a.int("duration_ms"), Some(69));
        assert_eq!(a.int("n"), Some(7), "the item's attribute wins");
        assert_eq!(a.text("empty"), None);
        assert_eq!(a.attribution(), vec![("team", "platform".to_string())]);
    }

    #[test]
    fn arguments_are_compact_json() {
        assert_eq!(arguments(Some("{\n  \"a\": 1\n}".into())), r#"{"a":1}"#);
        assert_eq!(
            arguments(Some("*** Begin Patch".into())),
            r#""*** Begin Patch""#
        );
        assert_eq!(arguments(None), "{}");
    }
}
