//! Which format a file is in, told by its content (the first complete line, or the keys near
//! the start of a JSON document), with the file name as a tie-breaker only.

use std::path::Path;

use serde_json::{Map, Value};

use crate::model::Format;

/// Bytes of a file's start read to detect its format.
pub const HEAD_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detected {
    Format(Format),
    /// Content of another kind (the reason says what was seen).
    Unknown(String),
    /// Not enough content yet (empty, or a first line still being written).
    Undecided,
}

/// Whether a walk through a folder considers the file (explicit file arguments always are).
pub fn is_candidate_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    [".jsonl", ".json", ".ndjson", ".traj"]
        .iter()
        .any(|ext| name.ends_with(ext))
        || (name.starts_with("opencode") && name.ends_with(".db"))
}

const CODEX_TYPES: [&str; 5] = [
    "session_meta",
    "response_item",
    "event_msg",
    "turn_context",
    "compacted",
];

/// The format of one parsed JSON object (a first line, or a small whole document).
pub fn classify_object(obj: &Map<String, Value>) -> Option<Format> {
    let has = |k: &str| obj.contains_key(k);
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
    if has("resourceSpans") || has("resource_spans") {
        return Some(Format::Otel);
    }
    if has("payload") && CODEX_TYPES.contains(&kind) {
        return Some(Format::Codex);
    }
    if kind.is_empty() && has("id") && has("timestamp") && (has("instructions") || has("git")) {
        return Some(Format::Codex);
    }
    if has("sessionId") && has("messages") {
        return Some(Format::GeminiCli);
    }
    if has("sessionId") && has("projectHash") && has("startTime") && !has("type") {
        return Some(Format::GeminiJsonl);
    }
    if has("data") && has("id") && kind.contains('.') && has("timestamp") {
        // Copilot CLI's `events.jsonl`: `session.start`, `user.message`, `tool.execution_*`.
        return Some(Format::CopilotCli);
    }
    if has("trajectory") || has("trajectory_format") || (has("messages") && has("info")) {
        return Some(Format::SweAgent);
    }
    if !kind.is_empty()
        && (has("sessionId")
            || (kind == "summary" && has("leafUuid"))
            || kind == "file-history-snapshot")
    {
        return Some(Format::ClaudeCode);
    }
    if has("run") && (has("tool") || has("tool_name")) {
        return Some(Format::Jsonl);
    }
    None
}

/// Detects the format of a file from its first bytes (`head`, at most [`HEAD_BYTES`]);
/// `whole` says whether `head` is the entire file.
pub fn detect(path: &Path, head: &[u8], whole: bool) -> Detected {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let text = &text[start..];
    if text.is_empty() {
        return Detected::Undecided;
    }
    let first_line = match memchr::memchr(b'\n', text) {
        Some(i) => Some(&text[..i]),
        None if whole => Some(text),
        None => None,
    };
    if let Some(line) = first_line {
        match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(obj)) => {
                if let Some(f) = classify_object(&obj) {
                    return Detected::Format(f);
                }
                let keys: Vec<&str> = obj.keys().take(6).map(String::as_str).collect();
                return by_name(path).map_or_else(
                    || {
                        Detected::Unknown(format!(
                            "JSON with keys {keys:?} is not a known history format"
                        ))
                    },
                    Detected::Format,
                );
            }
            Ok(_) => return Detected::Unknown("JSON that is not an object".into()),
            Err(_) => {}
        }
    }
    if text[0] != b'{' {
        return Detected::Unknown("not JSON".into());
    }
    // A JSON document spread over lines (or a first line still being written): look at the
    // keys near its start.
    let contains = |needle: &str| memchr::memmem::find(text, needle.as_bytes()).is_some();
    if contains("\"resourceSpans\"") || contains("\"resource_spans\"") {
        return Detected::Format(Format::Otel);
    }
    if contains("\"trajectory\"")
        || contains("\"trajectory_format\"")
        || contains("\"mini_version\"")
    {
        return Detected::Format(Format::SweAgent);
    }
    if contains("\"sessionId\"") && (contains("\"messages\"") || contains("\"projectHash\"")) {
        return Detected::Format(Format::GeminiCli);
    }
    if first_line.is_none() && !whole && text.len() < HEAD_BYTES {
        return Detected::Undecided;
    }
    match by_name(path) {
        Some(f) if !f.is_line_based() => Detected::Format(f),
        _ if first_line.is_some() || whole => {
            Detected::Unknown("a JSON document of another kind".into())
        }
        _ => Detected::Undecided,
    }
}

/// A format suggested by the file's name alone.
fn by_name(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".traj") || name.ends_with(".traj.json") {
        Some(Format::SweAgent)
    } else if name.starts_with("rollout-") && name.ends_with(".jsonl") {
        Some(Format::Codex)
    } else if name.starts_with("session-") && name.ends_with(".json") {
        Some(Format::GeminiCli)
    } else if name.starts_with("session-") && name.ends_with(".jsonl") {
        Some(Format::GeminiJsonl)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, content: &str, expect: Detected) {
        assert_eq!(
            detect(Path::new(name), content.as_bytes(), true),
            expect,
            "{name}: {content}"
        );
    }

    #[test]
    fn formats_are_told_by_content() {
        use Detected::Format as F;
        check(
            "x.jsonl",
            "{\"type\":\"user\",\"sessionId\":\"s\"}\n",
            F(Format::ClaudeCode),
        );
        check(
            "x.jsonl",
            "{\"type\":\"summary\",\"summary\":\"t\",\"leafUuid\":\"u\"}\n",
            F(Format::ClaudeCode),
        );
        check(
            "x.jsonl",
            "{\"type\":\"permission-mode\",\"sessionId\":\"s\"}\n",
            F(Format::ClaudeCode),
        );
        check(
            "x.jsonl",
            "{\"timestamp\":\"t\",\"type\":\"session_meta\",\"payload\":{}}\n",
            F(Format::Codex),
        );
        check(
            "x.jsonl",
            "{\"id\":\"i\",\"timestamp\":\"t\",\"instructions\":null}\n",
            F(Format::Codex),
        );
        check("x.jsonl", "{\"resourceSpans\":[]}\n", F(Format::Otel));
        check(
            "x.jsonl",
            "{\"run\":\"r\",\"tool\":\"t\",\"time\":1}\n",
            F(Format::Jsonl),
        );
        check(
            "x.json",
            "{\n  \"sessionId\": \"s\",\n  \"projectHash\": \"h\",\n  \"messages\": []\n}",
            F(Format::GeminiCli),
        );
        check(
            "x.json",
            "{\"sessionId\":\"s\",\"messages\":[]}",
            F(Format::GeminiCli),
        );
        check(
            "x.json",
            "{\n \"environment\": \"e\",\n \"trajectory\": []\n}",
            F(Format::SweAgent),
        );
        check(
            "x.json",
            "{\n \"info\": {\"mini_version\": \"1\"},\n \"messages\": []\n}",
            F(Format::SweAgent),
        );
        check("x.json", "{\n \"resourceSpans\": [\n]}", F(Format::Otel));
        // Content wins over a misleading name.
        check(
            "rollout-1.jsonl",
            "{\"run\":\"r\",\"tool\":\"t\",\"time\":1}\n",
            F(Format::Jsonl),
        );
    }

    #[test]
    fn other_content_is_unknown_and_partial_content_undecided() {
        assert!(matches!(
            detect(Path::new("m.json"), b"{\"repo\":\"a\",\"files\":[]}", true),
            Detected::Unknown(_)
        ));
        assert!(matches!(
            detect(Path::new("a.jsonl"), b"hello world\n", true),
            Detected::Unknown(_)
        ));
        assert!(matches!(
            detect(Path::new("a.jsonl"), b"\x00\x01\x02\n", true),
            Detected::Unknown(_)
        ));
        assert_eq!(detect(Path::new("a.jsonl"), b"", true), Detected::Undecided);
        assert_eq!(
            detect(Path::new("a.jsonl"), b"{\"type\":\"us", false),
            Detected::Undecided
        );
    }
}
