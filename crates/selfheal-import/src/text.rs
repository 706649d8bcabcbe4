//! Small shared readings: instants, project names, result text.

use chrono::{TimeZone, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

/// How many characters of the first prompt a run keeps as its task.
pub const TASK_CHARS: usize = 200;

/// Formats Unix ms as RFC 3339 UTC with milliseconds (`2026-01-30T12:00:00.000Z`).
pub fn format_ts(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

/// Parses a recorded instant (RFC 3339, SQLite's form, or Unix seconds/ms/ns as a number).
pub fn parse_ts(text: &str) -> Option<i64> {
    selfheal_core::time::parse_timestamp(text).or_else(|| {
        let n: f64 = text.trim().parse().ok()?;
        epoch_to_ms(n)
    })
}

/// Unix seconds, milliseconds or nanoseconds (told apart by magnitude) to ms.
pub fn epoch_to_ms(n: f64) -> Option<i64> {
    if !n.is_finite() || n <= 0.0 {
        return None;
    }
    let ms = if n > 1e17 {
        n / 1e6
    } else if n > 1e11 {
        n
    } else {
        n * 1e3
    };
    Some(ms.round() as i64)
}

/// The project a working directory names: its last component (`/home/a/dev/app/` → `app`).
pub fn project_name(cwd: &str) -> Option<String> {
    cwd.trim()
        .trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The first `max` characters of `text`, trimmed.
pub fn truncate_chars(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((i, _)) => text[..i].trim_end().to_string(),
        None => text.to_string(),
    }
}

/// A task from a prompt: whitespace runs collapsed, at most [`TASK_CHARS`] characters;
/// `None` when nothing is left.
pub fn task_of(prompt: &str) -> Option<String> {
    let collapsed: String = prompt.split_whitespace().collect::<Vec<_>>().join(" ");
    let task = truncate_chars(&collapsed, TASK_CHARS);
    (!task.is_empty()).then_some(task)
}

/// A JSON value as text: a string's contents, anything else compact JSON.
pub fn raw_to_text(raw: &RawValue) -> String {
    let text = raw.get();
    if text.starts_with('"') {
        serde_json::from_str::<String>(text).unwrap_or_default()
    } else {
        text.to_string()
    }
}

/// Marker written instead of an image (or other non-text part) of a result.
pub const IMAGE_MARKER: &str = "[image]";

#[derive(Deserialize)]
struct Part<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<std::borrow::Cow<'a, str>>,
}

/// A message or result content flattened to text: a string as is; a list of parts as their
/// texts joined by newlines, images (and other non-text parts) replaced by a short marker.
pub fn content_text(raw: &RawValue) -> String {
    let text = raw.get().trim_start();
    if text.starts_with('"') {
        return serde_json::from_str::<String>(text).unwrap_or_default();
    }
    if text.starts_with('[')
        && let Ok(parts) = serde_json::from_str::<Vec<Part<'_>>>(text)
    {
        let mut out = String::new();
        for part in parts {
            let piece = match (part.kind.as_deref(), part.text) {
                (_, Some(t)) => t,
                (Some("image"), None) => IMAGE_MARKER.into(),
                (Some(other), None) => format!("[{other}]").into(),
                (None, None) => continue,
            };
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&piece);
        }
        return out;
    }
    if text == "null" {
        return String::new();
    }
    text.to_string()
}

/// JSON text of `value` (a string when it cannot be encoded, which never happens for the
/// types used here).
pub fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

/// Arguments given as a string holding JSON (OpenAI function calls): the JSON itself when it
/// parses, else the string as a JSON string.
pub fn arguments_from_string(text: &str) -> String {
    match serde_json::from_str::<&RawValue>(text) {
        Ok(raw) => raw.get().trim().to_string(),
        Err(_) => json_string(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_format_with_milliseconds() {
        assert_eq!(format_ts(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ts(1_769_774_400_123), "2026-01-30T12:00:00.123Z");
        assert_eq!(
            parse_ts("2026-01-30T12:00:00.123Z"),
            Some(1_769_774_400_123)
        );
        assert_eq!(parse_ts("1769774400"), Some(1_769_774_400_000));
        assert_eq!(parse_ts("1769774400123"), Some(1_769_774_400_123));
        assert_eq!(parse_ts("1769774400123000000"), Some(1_769_774_400_123));
        assert_eq!(parse_ts("soon"), None);
    }

    #[test]
    fn project_is_the_last_component() {
        assert_eq!(project_name("/home/a/dev/app/").as_deref(), Some("app"));
        assert_eq!(project_name("C:\\work\\tool").as_deref(), Some("tool"));
        assert_eq!(project_name("/"), None);
        assert_eq!(project_name(""), None);
    }

    #[test]
    fn tasks_are_collapsed_and_capped() {
        assert_eq!(
            task_of("  fix\n\n the   bug ").as_deref(),
            Some("fix the bug")
        );
        assert_eq!(
            task_of(&"é".repeat(300)).map(|t| t.chars().count()),
            Some(200)
        );
        assert_eq!(task_of("   "), None);
    }

    #[test]
    fn content_flattens_parts_and_marks_images() {
        let raw = |s: &str| serde_json::from_str::<Box<RawValue>>(s).unwrap();
        assert_eq!(content_text(&raw(r#""plain""#)), "plain");
        assert_eq!(
            content_text(&raw(
                r#"[{"type":"text","text":"a"},{"type":"image","source":{"data":"xx"}},{"type":"text","text":"b"}]"#
            )),
            "a\n[image]\nb"
        );
        assert_eq!(content_text(&raw("null")), "");
        assert_eq!(content_text(&raw(r#"{"k":1}"#)), r#"{"k":1}"#);
    }

    #[test]
    fn string_arguments_become_json() {
        assert_eq!(arguments_from_string(r#"{"cmd":"ls"}"#), r#"{"cmd":"ls"}"#);
        assert_eq!(arguments_from_string("not json"), r#""not json""#);
    }
}
