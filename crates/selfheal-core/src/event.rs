//! Tolerant parsing of recorded tool-call events (`run_events.event_data`).
//!
//! Agents write the same facts under different keys and types. Accepted, per DESIGN §3:
//! the tool under `name` or `tool_name`; the duration in ms under `duration` or
//! `duration_ms`; `is_error` as a bool, 0/1 or "true"/"false"; the message under `error`
//! (preferred when the call failed) or `result` (a string, or any JSON rendered as text);
//! `error_type` absent, null or a string. When `is_error` is absent, a non-null `error_type`
//! or `error` marks the call as failed. Anything that is not a JSON object with a tool name
//! is a [`SkipReason`], counted by the caller and never fatal.
//!
//! Beyond the Binks keys, what importers of other histories record is read too: the source's
//! call id (`call_id`, `tool_call_id`, `tool_use_id`), `duration_source` (`"timestamps"` marks
//! a duration derived from timestamps, which may include a person's approval wait), a shell
//! command's `exit_code`, an `interrupted` flag and the source's own `status` word.
//!
//! A `tool_start` event ([`parse_tool_start`]) carries the call's input under `arguments`
//! (also `input`, `args`, `parameters`, `tool_input`); the analysis pairs it with the call's
//! `tool_complete` to know the arguments of each call.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// The event type that records the start of a tool call (with its input).
pub const TOOL_START_EVENT_TYPE: &str = "tool_start";

/// The event types that record the outcome of one tool call.
pub const TOOL_RESULT_EVENT_TYPES: [&str; 3] = ["tool_complete", "tool_result", "tool_end"];

/// Whether a `run_events.event_type` value records a tool call's outcome.
pub fn is_tool_result_type(event_type: &str) -> bool {
    TOOL_RESULT_EVENT_TYPES.contains(&event_type)
}

/// One tool call's outcome as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCallRecord {
    pub tool: String,
    pub is_error: bool,
    /// The recorded `error_type`, trimmed; `None` when absent, null or empty.
    pub error_type: Option<String>,
    /// The error message (or result text) of a failed call; `None` for successes.
    pub message: Option<String>,
    pub duration_ms: Option<i64>,
    /// Whether the duration was measured by the tool (false when derived from timestamps).
    pub duration_recorded: bool,
    /// The source's id of the call, pairing it with its `tool_start`.
    pub call_id: Option<String>,
    /// A shell command's exit code, when recorded beside the text.
    pub exit_code: Option<i64>,
    /// The source marked the call as interrupted.
    pub interrupted: bool,
    /// The source's own status word, when it has one.
    pub status: Option<String>,
    /// The call's input, when the result event carries it (raw JSON).
    pub arguments: Option<String>,
}

/// The start of a tool call as recorded, borrowed from the event's JSON where it can be.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolStartRecord<'a> {
    pub tool: Cow<'a, str>,
    pub call_id: Option<Cow<'a, str>>,
    /// The call's input as raw JSON; `None` when absent or null.
    pub arguments: Option<&'a str>,
}

/// Why an event row was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SkipReason {
    MalformedJson,
    NotAnObject,
    MissingToolName,
    BadTimestamp,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::MalformedJson => "malformed_json",
            SkipReason::NotAnObject => "not_an_object",
            SkipReason::MissingToolName => "missing_tool_name",
            SkipReason::BadTimestamp => "bad_timestamp",
        }
    }
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tool_name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
    #[serde(borrow, default)]
    duration: Option<&'a RawValue>,
    #[serde(borrow, default)]
    duration_ms: Option<&'a RawValue>,
    #[serde(borrow, default)]
    is_error: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error_type: Option<&'a RawValue>,
    #[serde(borrow, default)]
    duration_source: Option<&'a RawValue>,
    #[serde(borrow, default)]
    call_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tool_call_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tool_use_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    exit_code: Option<&'a RawValue>,
    #[serde(borrow, default)]
    interrupted: Option<&'a RawValue>,
    #[serde(borrow, default)]
    status: Option<&'a RawValue>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    args: Option<&'a RawValue>,
    #[serde(borrow, default)]
    parameters: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tool_input: Option<&'a RawValue>,
}

impl<'a> Raw<'a> {
    fn tool(&self) -> Option<String> {
        self.tool_borrowed().map(Cow::into_owned)
    }

    fn call_id(&self) -> Option<String> {
        [self.call_id, self.tool_call_id, self.tool_use_id]
            .into_iter()
            .flatten()
            .find_map(|r| text_of(r).or_else(|| number_of(r).map(|n| n.to_string())))
            .filter(|t| !t.is_empty())
    }

    fn arguments(&self) -> Option<&'a str> {
        [
            self.arguments,
            self.input,
            self.args,
            self.parameters,
            self.tool_input,
        ]
        .into_iter()
        .flatten()
        .map(RawValue::get)
        .find(|t| *t != "null")
    }

    fn tool_borrowed(&self) -> Option<Cow<'a, str>> {
        self.name
            .and_then(str_of)
            .or_else(|| self.tool_name.and_then(str_of))
            .map(|t| match t {
                Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
                Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
            })
            .filter(|t| !t.is_empty())
    }

    fn call_id_borrowed(&self) -> Option<Cow<'a, str>> {
        [self.call_id, self.tool_call_id, self.tool_use_id]
            .into_iter()
            .flatten()
            .find_map(|r| str_of(r).or_else(|| number_of(r).map(|n| Cow::Owned(n.to_string()))))
            .filter(|t| !t.is_empty())
    }
}

/// Parses the start of an object: a non-object is a [`SkipReason`].
fn parse_object(event_data: &str) -> Result<Raw<'_>, SkipReason> {
    let trimmed = event_data.trim_start();
    if !trimmed.starts_with('{') {
        // Distinguish valid non-objects (arrays, numbers) from garbage.
        return Err(
            match serde_json::from_str::<serde::de::IgnoredAny>(trimmed) {
                Ok(_) => SkipReason::NotAnObject,
                Err(_) => SkipReason::MalformedJson,
            },
        );
    }
    serde_json::from_str(trimmed).map_err(|_| SkipReason::MalformedJson)
}

/// Parses one `tool_start` event's JSON.
pub fn parse_tool_start(event_data: &str) -> Result<ToolStartRecord<'_>, SkipReason> {
    let raw = parse_object(event_data)?;
    let tool = raw.tool_borrowed().ok_or(SkipReason::MissingToolName)?;
    Ok(ToolStartRecord {
        tool,
        call_id: raw.call_id_borrowed(),
        arguments: raw.arguments(),
    })
}

/// Parses one tool-result event's JSON.
pub fn parse_tool_call(event_data: &str) -> Result<ToolCallRecord, SkipReason> {
    let raw = parse_object(event_data)?;
    let tool = raw.tool().ok_or(SkipReason::MissingToolName)?;
    let error_type = raw
        .error_type
        .and_then(text_of)
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let error_text = raw.error.and_then(message_of);
    let is_error = match raw.is_error.and_then(flag_of) {
        Some(flag) => flag,
        None => error_type.is_some() || error_text.is_some(),
    };
    let duration_ms = raw
        .duration
        .and_then(number_of)
        .or_else(|| raw.duration_ms.and_then(number_of));
    let message = if is_error {
        error_text.or_else(|| raw.result.and_then(message_of))
    } else {
        None
    };
    let duration_recorded = duration_ms.is_some()
        && !raw.duration_source.and_then(str_of).is_some_and(|s| {
            s.eq_ignore_ascii_case("timestamps") || s.eq_ignore_ascii_case("derived")
        });
    Ok(ToolCallRecord {
        tool,
        is_error,
        error_type,
        message,
        duration_ms,
        duration_recorded,
        call_id: raw.call_id(),
        exit_code: raw.exit_code.and_then(signed_number_of),
        interrupted: raw.interrupted.and_then(flag_of).unwrap_or(false),
        status: raw
            .status
            .and_then(text_of)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        arguments: raw.arguments().map(str::to_string),
    })
}

/// A JSON string's contents, borrowed when it has no escapes; `None` for non-strings.
fn str_of(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

/// A JSON string's contents; `None` for null and non-strings.
fn text_of(raw: &RawValue) -> Option<String> {
    let text = raw.get();
    if text.starts_with('"') {
        serde_json::from_str::<String>(text).ok()
    } else {
        None
    }
}

/// A message: a string's contents, or any non-null JSON rendered as compact text.
fn message_of(raw: &RawValue) -> Option<String> {
    let text = raw.get();
    match text {
        "null" => None,
        _ if text.starts_with('"') => serde_json::from_str::<String>(text)
            .ok()
            .filter(|s| !s.is_empty()),
        _ => Some(text.to_string()),
    }
}

fn flag_of(raw: &RawValue) -> Option<bool> {
    match raw.get() {
        "true" | "1" | "\"true\"" | "\"1\"" => Some(true),
        "false" | "0" | "\"false\"" | "\"0\"" => Some(false),
        _ => None,
    }
}

fn signed_number_of(raw: &RawValue) -> Option<i64> {
    let text = raw.get().trim_matches('"');
    text.parse::<i64>().ok()
}

fn number_of(raw: &RawValue) -> Option<i64> {
    let text = raw.get().trim_matches('"');
    text.parse::<i64>()
        .ok()
        .or_else(|| {
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(|v| v.round() as i64)
        })
        .filter(|v| *v >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (tool, is_error, error_type, message, duration_ms)
    type Expected<'a> = (&'a str, bool, Option<&'a str>, Option<&'a str>, Option<i64>);

    fn check(json: &str, expect: Result<Expected<'_>, SkipReason>) {
        let got = parse_tool_call(json)
            .map(|r| (r.tool, r.is_error, r.error_type, r.message, r.duration_ms));
        let expect = expect.map(|(t, e, ty, m, d)| {
            (
                t.to_string(),
                e,
                ty.map(str::to_string),
                m.map(str::to_string),
                d,
            )
        });
        assert_eq!(got, expect, "{json}");
    }

    #[test]
    fn accepts_every_recorded_shape() {
        check(
            r#"{"type":"tool_complete","name":"read_file","result":"ok","duration":12,"is_error":false}"#,
            Ok(("read_file", false, None, None, Some(12))),
        );
        check(
            r#"{"name":"read_file","result":"timed out","duration":30000,"is_error":true,"error_type":"timeout"}"#,
            Ok((
                "read_file",
                true,
                Some("timeout"),
                Some("timed out"),
                Some(30000),
            )),
        );
        check(
            r#"{"tool_name":"q","error":"boom","duration_ms":5.6,"is_error":1,"error_type":null}"#,
            Ok(("q", true, None, Some("boom"), Some(6))),
        );
        check(
            r#"{"name":"q","result":"fine","is_error":0}"#,
            Ok(("q", false, None, None, None)),
        );
        check(
            r#"{"name":"q","result":{"code":7},"is_error":"true","error_type":"  "}"#,
            Ok(("q", true, None, Some(r#"{"code":7}"#), None)),
        );
        // No is_error: an error_type or error text marks a failure.
        check(
            r#"{"name":"q","error_type":"timeout"}"#,
            Ok(("q", true, Some("timeout"), None, None)),
        );
        check(
            r#"{"name":"q","error":"bad"}"#,
            Ok(("q", true, None, Some("bad"), None)),
        );
    }

    #[test]
    fn reads_what_importers_record() {
        let r = parse_tool_call(
            r#"{"type":"tool_complete","name":"Bash","call_id":"toolu_1","result":"Exit code 1","is_error":true,"duration":5200,"duration_source":"timestamps","exit_code":1,"interrupted":true,"status":"error"}"#,
        )
        .unwrap();
        assert_eq!(r.call_id.as_deref(), Some("toolu_1"));
        assert_eq!(r.duration_ms, Some(5200));
        assert!(!r.duration_recorded);
        assert_eq!(r.exit_code, Some(1));
        assert!(r.interrupted);
        assert_eq!(r.status.as_deref(), Some("error"));
        let r =
            parse_tool_call(r#"{"name":"q","duration":7,"exit_code":-9,"is_error":true}"#).unwrap();
        assert!(r.duration_recorded);
        assert_eq!(r.exit_code, Some(-9));
        assert!(!r.interrupted);

        let s = parse_tool_start(
            r#"{"type":"tool_start","name":"read_file","tool_use_id":"c7","arguments":{"path":"/a"}}"#,
        )
        .unwrap();
        assert_eq!(
            (s.tool.as_ref(), s.call_id.as_deref(), s.arguments),
            ("read_file", Some("c7"), Some(r#"{"path":"/a"}"#))
        );
        let s = parse_tool_start(r#"{"tool_name":"x","input":null,"args":[1]}"#).unwrap();
        assert_eq!(s.arguments, Some("[1]"));
        let s = parse_tool_start(r#"{"name":" a\u0062 ","call_id":7}"#).unwrap();
        assert_eq!((s.tool.as_ref(), s.call_id.as_deref()), ("ab", Some("7")));
        assert_eq!(parse_tool_start("[]"), Err(SkipReason::NotAnObject));
        assert_eq!(parse_tool_start("{}"), Err(SkipReason::MissingToolName));
    }

    #[test]
    fn skips_what_cannot_be_a_tool_call() {
        check(r#"{"name":"q","result":"#, Err(SkipReason::MalformedJson));
        check("not json", Err(SkipReason::MalformedJson));
        check("[1,2]", Err(SkipReason::NotAnObject));
        check("42", Err(SkipReason::NotAnObject));
        check(r#"{"result":"x"}"#, Err(SkipReason::MissingToolName));
        check(r#"{"name":""}"#, Err(SkipReason::MissingToolName));
        check(r#"{"name":7}"#, Err(SkipReason::MissingToolName));
    }
}
