//! OpenTelemetry GenAI spans in OTLP JSON: the collector's file exporter (one
//! `ExportTraceServiceRequest` per line) or a plain JSON file holding one.
//!
//! Follows the GenAI semantic conventions (development status, v1.37+):
//! - spans with `gen_ai.operation.name = execute_tool` (or named `execute_tool …`) are tool
//!   calls: `gen_ai.tool.name`, `gen_ai.tool.call.id` (else the span id),
//!   `gen_ai.tool.call.arguments` (opt-in; a JSON string is parsed), `gen_ai.tool.call.result`
//!   (opt-in), start and end times (the duration is the span's, `recorded`). A call failed
//!   when the span status is ERROR or `error.type` is set; `error.type` becomes `error_type`,
//!   the status message (else an `exception` event's `exception.message`, else the error
//!   type) the result text, and the span status word (`error`/`ok`) `status`.
//! - the run is `otel:<gen_ai.conversation.id>`, found on the span or on any span of its
//!   trace (the whole increment is searched first, since parents are exported after their
//!   children), else `otel:<trace id>`. Its agent is `gen_ai.agent.name`, else the resource's
//!   `service.name`; an `invoke_agent` span's status gives the run's (failed on ERROR).
//! - `chat` / `generate_content` / `text_completion` spans are iterations with
//!   `gen_ai.usage.input_tokens` / `gen_ai.usage.output_tokens`; their
//!   `gen_ai.response.model` (else `gen_ai.request.model`) is the run's model.
//!
//! Field names are accepted in lowerCamelCase (OTLP/JSON) and snake_case; ids are the hex
//! strings OTLP/JSON uses; integers may be strings.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{
    CallEnd, CallStart, Iteration, Output, Record, RunFacts, RunStatus, SourceFile,
};

pub const AGENT: &str = "otel";
const MAX_TRACES: usize = 20_000;

/// Conversation and agent names learnt per trace, carried across lines and increments.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    conversations: HashMap<String, String>,
    #[serde(default)]
    agents: HashMap<String, String>,
}

pub struct Parser {
    state: State,
}

#[derive(Deserialize)]
struct Request {
    #[serde(rename = "resourceSpans", alias = "resource_spans", default)]
    resource_spans: Option<Vec<ResourceSpans>>,
}

#[derive(Deserialize)]
struct ResourceSpans {
    #[serde(default)]
    resource: Option<Resource>,
    #[serde(
        rename = "scopeSpans",
        alias = "scope_spans",
        alias = "instrumentationLibrarySpans",
        alias = "instrumentation_library_spans",
        default
    )]
    scope_spans: Vec<ScopeSpans>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize)]
struct ScopeSpans {
    #[serde(default)]
    spans: Vec<Span>,
}

#[derive(Deserialize)]
struct Span {
    #[serde(rename = "traceId", alias = "trace_id", default)]
    trace_id: String,
    #[serde(rename = "spanId", alias = "span_id", default)]
    span_id: String,
    #[serde(default)]
    name: String,
    #[serde(rename = "startTimeUnixNano", alias = "start_time_unix_nano", default)]
    start: Option<Value>,
    #[serde(rename = "endTimeUnixNano", alias = "end_time_unix_nano", default)]
    end: Option<Value>,
    #[serde(default)]
    attributes: Vec<KeyValue>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    name: String,
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize)]
struct KeyValue {
    key: String,
    #[serde(default)]
    value: Option<AnyValue>,
}

#[derive(Deserialize)]
struct AnyValue {
    #[serde(rename = "stringValue", alias = "string_value", default)]
    string_value: Option<String>,
    #[serde(rename = "boolValue", alias = "bool_value", default)]
    bool_value: Option<bool>,
    #[serde(rename = "intValue", alias = "int_value", default)]
    int_value: Option<Value>,
    #[serde(rename = "doubleValue", alias = "double_value", default)]
    double_value: Option<f64>,
    #[serde(rename = "arrayValue", alias = "array_value", default)]
    array_value: Option<ArrayValue>,
    #[serde(rename = "kvlistValue", alias = "kvlist_value", default)]
    kvlist_value: Option<KvList>,
    #[serde(rename = "bytesValue", alias = "bytes_value", default)]
    bytes_value: Option<String>,
}

#[derive(Deserialize)]
struct ArrayValue {
    #[serde(default)]
    values: Vec<AnyValue>,
}

#[derive(Deserialize)]
struct KvList {
    #[serde(default)]
    values: Vec<KeyValue>,
}

impl AnyValue {
    fn into_json(self) -> Value {
        if let Some(s) = self.string_value {
            return Value::String(s);
        }
        if let Some(b) = self.bool_value {
            return Value::Bool(b);
        }
        if let Some(i) = self.int_value {
            return match &i {
                Value::String(s) => s.parse::<i64>().map(Value::from).unwrap_or(i),
                _ => i,
            };
        }
        if let Some(d) = self.double_value {
            return serde_json::Number::from_f64(d)
                .map(Value::Number)
                .unwrap_or(Value::Null);
        }
        if let Some(a) = self.array_value {
            return Value::Array(a.values.into_iter().map(AnyValue::into_json).collect());
        }
        if let Some(kv) = self.kvlist_value {
            return Value::Object(attributes(kv.values));
        }
        if let Some(b) = self.bytes_value {
            return Value::String(b);
        }
        Value::Null
    }
}

fn attributes(list: Vec<KeyValue>) -> Map<String, Value> {
    list.into_iter()
        .map(|kv| {
            (
                kv.key,
                kv.value.map(AnyValue::into_json).unwrap_or(Value::Null),
            )
        })
        .collect()
}

fn text(attrs: &Map<String, Value>, key: &str) -> Option<String> {
    match attrs.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int(attrs: &Map<String, Value>, key: &str) -> Option<u64> {
    match attrs.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Unix nanoseconds (a string or a number) to ms.
fn nanos_to_ms(v: Option<&Value>) -> Option<i64> {
    let n: f64 = match v? {
        Value::String(s) => s.parse().ok()?,
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    (n > 0.0).then(|| (n / 1e6).round() as i64)
}

/// The span status: Some(true) for ERROR, Some(false) for OK, None when unset.
fn status_error(status: Option<&Status>) -> Option<bool> {
    match status?.code.as_ref()? {
        Value::Number(n) => match n.as_i64()? {
            2 => Some(true),
            1 => Some(false),
            _ => None,
        },
        Value::String(s) => match s.as_str() {
            "STATUS_CODE_ERROR" | "ERROR" | "2" => Some(true),
            "STATUS_CODE_OK" | "OK" | "1" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A JSON attribute value as text: strings as they are, anything else as compact JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Arguments as JSON text: a string holding JSON is parsed (the convention allows either).
fn arguments(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "{}".to_string(),
        Some(Value::String(s)) => crate::text::arguments_from_string(s),
        Some(other) => other.to_string(),
    }
}

struct FlatSpan {
    span: Span,
    attrs: Map<String, Value>,
    service: Option<String>,
}

fn flatten(request: Request) -> Vec<FlatSpan> {
    let mut out = Vec::new();
    for rs in request.resource_spans.unwrap_or_default() {
        let resource = attributes(rs.resource.map(|r| r.attributes).unwrap_or_default());
        let service = text(&resource, "service.name");
        for ss in rs.scope_spans {
            for mut span in ss.spans {
                let attrs = attributes(std::mem::take(&mut span.attributes));
                out.push(FlatSpan {
                    span,
                    attrs,
                    service: service.clone(),
                });
            }
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

    fn remember(&mut self, spans: &[FlatSpan]) {
        if self.state.conversations.len() > MAX_TRACES {
            self.state.conversations.clear();
        }
        if self.state.agents.len() > MAX_TRACES {
            self.state.agents.clear();
        }
        for s in spans {
            if s.span.trace_id.is_empty() {
                continue;
            }
            if let Some(c) = text(&s.attrs, "gen_ai.conversation.id") {
                self.state.conversations.insert(s.span.trace_id.clone(), c);
            }
            if let Some(a) = text(&s.attrs, "gen_ai.agent.name") {
                self.state.agents.insert(s.span.trace_id.clone(), a);
            }
        }
    }

    /// Learns conversation ids and agent names from a line without emitting anything (the
    /// first pass over an increment).
    pub fn learn(&mut self, bytes: &[u8]) {
        if let Ok(request) = serde_json::from_slice::<Request>(bytes) {
            let spans = flatten(request);
            self.remember(&spans);
        }
    }

    /// Reads one export request (a line, or a whole file with `line_no` 0).
    pub fn line(&mut self, bytes: &[u8], line_no: u64, _source: &SourceFile, out: &mut Output) {
        let request: Request = match serde_json::from_slice(bytes) {
            Ok(r) => r,
            Err(e) => {
                out.skip(
                    line_no,
                    crate::json_skip_reason(&e, "an OTLP JSON trace request"),
                );
                return;
            }
        };
        if request.resource_spans.is_none() {
            out.skip(line_no, "not an OTLP trace request (no resourceSpans)");
            return;
        }
        let spans = flatten(request);
        self.remember(&spans);
        for s in spans {
            self.span(s, line_no, out);
        }
    }

    fn span(&mut self, s: FlatSpan, line_no: u64, out: &mut Output) {
        let FlatSpan {
            span,
            attrs,
            service,
        } = s;
        let op = text(&attrs, "gen_ai.operation.name").unwrap_or_else(|| {
            span.name
                .strip_prefix("execute_tool")
                .map(|_| "execute_tool".to_string())
                .unwrap_or_default()
        });
        if op.is_empty() && !attrs.keys().any(|k| k.starts_with("gen_ai.")) {
            return;
        }
        let conversation = text(&attrs, "gen_ai.conversation.id")
            .or_else(|| self.state.conversations.get(&span.trace_id).cloned());
        let run = match (conversation, span.trace_id.is_empty()) {
            (Some(c), _) => format!("otel:{c}"),
            (None, false) => format!("otel:{}", span.trace_id),
            (None, true) => {
                out.skip(line_no, "GenAI span without a trace id or conversation id");
                return;
            }
        };
        let start = nanos_to_ms(span.start.as_ref());
        let end = nanos_to_ms(span.end.as_ref()).or(start);
        let failed = status_error(span.status.as_ref());
        let error_type = text(&attrs, "error.type");
        let mut facts = RunFacts::new(run.clone());
        facts.agent = text(&attrs, "gen_ai.agent.name")
            .or_else(|| self.state.agents.get(&span.trace_id).cloned())
            .or(service);
        facts.at_ms = start;
        out.push(Record::Run(facts));
        let mut ended = RunFacts::new(run.clone());
        ended.at_ms = end;
        match op.as_str() {
            "execute_tool" => {
                let tool = text(&attrs, "gen_ai.tool.name")
                    .or_else(|| {
                        span.name
                            .strip_prefix("execute_tool ")
                            .map(str::trim)
                            .filter(|t| !t.is_empty())
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| "unknown".to_string());
                let call_id = text(&attrs, "gen_ai.tool.call.id").unwrap_or_else(|| {
                    if span.span_id.is_empty() {
                        format!("line-{line_no}-{tool}")
                    } else {
                        format!("span-{}", span.span_id)
                    }
                });
                let is_error = failed == Some(true) || error_type.is_some();
                let exception = span
                    .events
                    .into_iter()
                    .filter(|e| e.name == "exception")
                    .find_map(|e| text(&attributes(e.attributes), "exception.message"));
                let result = if is_error {
                    span.status
                        .as_ref()
                        .and_then(|s| s.message.clone())
                        .filter(|m| !m.is_empty())
                        .or(exception)
                        .or_else(|| error_type.clone())
                        .unwrap_or_default()
                } else {
                    attrs
                        .get("gen_ai.tool.call.result")
                        .map(value_text)
                        .unwrap_or_default()
                };
                out.push(Record::Start(CallStart {
                    run_id: run.clone(),
                    call_id: call_id.clone(),
                    tool: tool.clone(),
                    at_ms: start,
                    arguments: arguments(attrs.get("gen_ai.tool.call.arguments")),
                }));
                out.push(Record::End(CallEnd {
                    run_id: run,
                    call_id,
                    tool: Some(tool),
                    at_ms: end,
                    result,
                    is_error,
                    duration_ms: match (start, end) {
                        (Some(s), Some(e)) if e >= s => Some(e - s),
                        _ => None,
                    },
                    error_type,
                    exit_code: None,
                    interrupted: false,
                    status: failed.map(|f| if f { "error" } else { "ok" }.to_string()),
                }));
            }
            "chat" | "generate_content" | "text_completion" => {
                ended.model = text(&attrs, "gen_ai.response.model")
                    .or_else(|| text(&attrs, "gen_ai.request.model"));
                out.push(Record::Iteration(Iteration {
                    run_id: run,
                    key: format!("span-{}", span.span_id),
                    at_ms: start,
                    tokens_in: int(&attrs, "gen_ai.usage.input_tokens"),
                    tokens_out: int(&attrs, "gen_ai.usage.output_tokens"),
                }));
            }
            "invoke_agent" => {
                ended.model = text(&attrs, "gen_ai.request.model");
                ended.status = Some(if failed == Some(true) || error_type.is_some() {
                    RunStatus::Failed
                } else {
                    RunStatus::Completed
                });
                if ended.status == Some(RunStatus::Failed) {
                    ended.error = span
                        .status
                        .as_ref()
                        .and_then(|s| s.message.clone())
                        .or(error_type);
                }
            }
            _ => {}
        }
        out.push(Record::Run(ended));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tool spans exported before their parent (which carries the conversation id).
    const TOOLS: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"travel-app"}}]},"scopeSpans":[{"scope":{"name":"agent-sdk"},"spans":[
      {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","parentSpanId":"00f067aa0ba902b7","name":"execute_tool get_weather","kind":1,
       "startTimeUnixNano":"1769774400000000000","endTimeUnixNano":"1769774401500000000",
       "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"execute_tool"}},{"key":"gen_ai.tool.name","value":{"stringValue":"get_weather"}},{"key":"gen_ai.tool.call.id","value":{"stringValue":"call_1"}},{"key":"gen_ai.tool.call.arguments","value":{"stringValue":"{\"location\":\"Paris\"}"}},{"key":"error.type","value":{"stringValue":"timeout"}}],
       "status":{"code":2,"message":"upstream timed out after 1500 ms"}},
      {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"c7ad6b7169203332","name":"execute_tool book","startTimeUnixNano":1769774402000000000,"endTimeUnixNano":1769774402250000000,
       "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"execute_tool"}},{"key":"gen_ai.tool.name","value":{"stringValue":"book"}},{"key":"gen_ai.tool.call.result","value":{"kvlistValue":{"values":[{"key":"ok","value":{"boolValue":true}}]}}}]},
      {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"d7ad6b7169203333","name":"chat m","startTimeUnixNano":"1769774399000000000","endTimeUnixNano":"1769774399900000000",
       "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.request.model","value":{"stringValue":"m-1"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"120"}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":14}}]}
    ]}]}]}"#;
    const PARENT: &str = r#"{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[
      {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00f067aa0ba902b7","name":"invoke_agent planner","startTimeUnixNano":"1769774398000000000","endTimeUnixNano":"1769774403000000000",
       "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"invoke_agent"}},{"key":"gen_ai.agent.name","value":{"stringValue":"planner"}},{"key":"gen_ai.conversation.id","value":{"stringValue":"conv_5j66"}}],
       "status":{"code":1}}]}]}]}"#;

    fn read(lines: &[&str], learn_first: bool) -> Output {
        let mut p = Parser::new(State::default());
        if learn_first {
            for l in lines {
                p.learn(l.as_bytes());
            }
        }
        let mut out = Output::default();
        for (i, l) in lines.iter().enumerate() {
            p.line(l.as_bytes(), i as u64 + 1, &SourceFile::default(), &mut out);
        }
        out
    }

    #[test]
    fn tool_spans_become_calls_of_the_conversation() {
        let out = read(&[TOOLS, PARENT], true);
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
        assert_eq!(ends[0].run_id, "otel:conv_5j66");
        assert_eq!(ends[0].call_id, "call_1");
        assert!(ends[0].is_error);
        assert_eq!(ends[0].error_type.as_deref(), Some("timeout"));
        assert_eq!(ends[0].result, "upstream timed out after 1500 ms");
        assert_eq!(ends[0].duration_ms, Some(1500));
        assert_eq!(ends[0].status.as_deref(), Some("error"));
        assert_eq!(ends[1].call_id, "span-c7ad6b7169203332");
        assert_eq!(ends[1].result, r#"{"ok":true}"#);
        assert!(!ends[1].is_error);
        let start = out
            .records
            .iter()
            .find_map(|r| match r {
                Record::Start(s) => Some(s),
                _ => None,
            })
            .unwrap();
        assert_eq!(start.arguments, r#"{"location":"Paris"}"#);
        assert!(out.records.iter().any(|r| matches!(r,
            Record::Iteration(i) if i.tokens_in == Some(120) && i.tokens_out == Some(14))));
        assert!(out.records.iter().any(|r| matches!(r,
            Record::Run(f) if f.agent.as_deref() == Some("planner"))));
    }

    #[test]
    fn without_a_conversation_the_trace_is_the_run() {
        let out = read(&[TOOLS], false);
        assert!(out.records.iter().any(|r| matches!(r,
            Record::End(e) if e.run_id == "otel:0af7651916cd43dd8448eb211c80319c")));
        assert!(out.records.iter().any(|r| matches!(r,
            Record::Run(f) if f.agent.as_deref() == Some("travel-app"))));
    }

    #[test]
    fn other_json_is_a_counted_skip() {
        let out = read(&[r#"{"hello":1}"#, "{\"resourceSpans\":"], false);
        assert_eq!(out.skips.len(), 2);
    }
}
