//! Reducing a long tool result to the line that says what went wrong.
//!
//! Real tool results are whole pytest logs, compiler output and tracebacks wrapped in the
//! harness's own framing. Classifying or templating all of it makes every failure unique, so
//! a result is first **unwrapped** ([`unwrap`]): the harness framing is removed and the exit
//! code it reports is kept —
//! - `<tool_use_error>…</tool_use_error>` (Claude Code),
//! - a leading `Exit code N` line (Claude Code's Bash),
//! - `Chunk ID` / `Wall time` / `Process exited with code N` / `Original token count` /
//!   `Output:` headers, and `Total output lines: N` (Codex),
//! - `<returncode>N</returncode>` and `<output>…</output>` (SWE-agent, mini-swe-agent),
//! - a JSON object `{"output": …, "metadata": {"exit_code": N}}` (Codex's older `shell`).
//!
//! Then the **salient line** is picked ([`salient_line`]): every line is scored — a phrase the
//! classifier knows, an exception line (`ValueError: …`), a line starting with `error`,
//! `fatal`, `FAILED`, `panic`, … score high; traceback frames, caret markers and stack frames
//! score low — and the best one wins, the later one on ties (programs complain last). With
//! nothing that looks like an error, the last line that is not a frame stands for the output.
//! The salient line is capped at [`SALIENT_MAX_CHARS`]; the full text stays available as a
//! sample.

use std::borrow::Cow;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use serde_json::Value;

/// Longest salient line kept, in characters.
pub const SALIENT_MAX_CHARS: usize = 400;
/// Lines examined at most (from the start and from the end of very long outputs).
const LINE_BUDGET: usize = 400;

/// A tool result without its harness framing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unwrapped<'a> {
    /// The output itself (borrowed from the text unless it had to be decoded).
    pub body: Cow<'a, str>,
    /// The exit code the framing reported, if any.
    pub exit_code: Option<i64>,
}

/// Removes the harness framing (see the module docs).
pub fn unwrap(text: &str) -> Unwrapped<'_> {
    let trimmed = text.trim();
    if trimmed.starts_with('{')
        && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed)
        && let Some(Value::String(output)) = map.get("output")
    {
        let recorded = map
            .get("metadata")
            .and_then(|m| m.get("exit_code"))
            .and_then(Value::as_i64);
        let (body, code) = strip_framing(output);
        return Unwrapped {
            body: Cow::Owned(body.to_string()),
            exit_code: code.or(recorded),
        };
    }
    let (body, exit_code) = strip_framing(trimmed);
    Unwrapped {
        body: Cow::Borrowed(body),
        exit_code,
    }
}

/// The tags and header lines of the framing, removed; the exit code they report.
fn strip_framing(text: &str) -> (&str, Option<i64>) {
    let mut exit_code = None;
    let mut body = text.trim();
    // Every tag starts with `<`; most outputs have none (one fast scan instead of several).
    let tagged = body.as_bytes().contains(&b'<');
    if tagged {
        body = strip_tag(body, "<tool_use_error>", "</tool_use_error>");
    }
    if let Some(inner) = tagged
        .then(|| between(body, "<returncode>", "</returncode>"))
        .flatten()
    {
        exit_code = inner.trim().parse().ok();
        body = match between(body, "<output>", "</output>") {
            Some(out) => out,
            None => body.split("</returncode>").nth(1).unwrap_or_default(),
        };
    }
    // Header lines, in any order, at the start.
    let mut rest = body;
    loop {
        let trimmed = rest.trim_start_matches(['\n', '\r']);
        let (line, after) = trimmed.split_once('\n').unwrap_or((trimmed, ""));
        let l = line.trim();
        if let Some(code) = l
            .strip_prefix("Exit code ")
            .or_else(|| l.strip_prefix("Exit code: "))
            .or_else(|| l.strip_prefix("Process exited with code "))
            .and_then(|c| c.trim().parse::<i64>().ok())
        {
            exit_code = Some(code);
        } else if !(l.starts_with("Chunk ID:")
            || l.starts_with("Wall time:")
            || l.starts_with("Original token count:")
            || l.starts_with("Total output lines:")
            || l == "Output:")
        {
            break;
        }
        rest = after;
        if rest.is_empty() {
            break;
        }
    }
    (rest.trim(), exit_code)
}

fn strip_tag<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    match between(text, open, close) {
        Some(inner) => inner.trim(),
        None => text.strip_prefix(open).unwrap_or(text).trim(),
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// The line of `body` that best says what went wrong; `phrase_weight` gives the weight of the
/// most specific phrase the classifier recognises in a (lower-cased) line, 0 for none.
pub fn salient_line(body: &str, phrase_weight: &dyn Fn(&str) -> f64) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let candidates: Vec<(usize, &str)> = if lines.len() > 2 * LINE_BUDGET {
        // Very long output: its head and its tail carry the errors.
        lines
            .iter()
            .copied()
            .enumerate()
            .take(LINE_BUDGET)
            .chain(
                lines
                    .iter()
                    .copied()
                    .enumerate()
                    .skip(lines.len() - LINE_BUDGET),
            )
            .collect()
    } else {
        lines.iter().copied().enumerate().collect()
    };
    let mut best: Option<(f64, usize, &str)> = None;
    let mut last_plain: Option<&str> = None;
    let mut first = true;
    for (i, line) in candidates {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let mut score = line_score(line, trimmed, phrase_weight);
        if score > -2.0 {
            last_plain = Some(trimmed);
        }
        // Harnesses and many tools put the error first and echo context after it.
        if first && score > 0.0 {
            score += 0.5;
        }
        first = false;
        if score > 0.0 && best.is_none_or(|(s, _, _)| score >= s) {
            best = Some((score, i, trimmed));
        }
    }
    let chosen = best
        .map(|(_, _, l)| l)
        .or(last_plain)
        .unwrap_or_else(|| body.trim());
    cap(chosen)
}

fn cap(text: &str) -> String {
    if text.chars().count() <= SALIENT_MAX_CHARS {
        return text.to_string();
    }
    let mut out: String = text.chars().take(SALIENT_MAX_CHARS).collect();
    out.push('…');
    out
}

/// Whether `text` starts with `prefix`, ignoring ASCII case.
fn starts_ci(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Words that make a line look like an error (matched ignoring ASCII case).
const WORDS: [&str; 9] = [
    "error",
    "failed",
    "cannot",
    "can't",
    "unable",
    "denied",
    "not found",
    "invalid",
    "refused",
];

fn has_error_word(text: &str) -> bool {
    static WORD_SET: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    WORD_SET
        .get_or_init(|| crate::classify::ci_matcher().build(WORDS).ok())
        .as_ref()
        .is_some_and(|m| m.is_match(text))
}

fn line_score(line: &str, trimmed: &str, phrase_weight: &dyn Fn(&str) -> f64) -> f64 {
    // Frames and markers: where, not what.
    if starts_ci(trimmed, "file \"")
        || starts_ci(trimmed, "at ")
        || starts_ci(trimmed, "traceback (most recent call last)")
        || starts_ci(trimmed, "stack backtrace")
        || starts_ci(trimmed, "note: run with `rust_backtrace")
        || trimmed
            .chars()
            .all(|c| matches!(c, '^' | '~' | ' ' | '|' | '-' | '='))
        || (line.starts_with("    ") && !has_error_word(trimmed))
    {
        return -2.0;
    }
    // A phrase the classifier knows counts by its specificity (0.9 → 4.5).
    let mut score = 5.0 * phrase_weight(trimmed);
    if is_exception_line(trimmed) {
        score += 3.0;
    }
    const STARTS: [&str; 12] = [
        "error",
        "fatal",
        "failed",
        "failure",
        "panic",
        "err!",
        "npm err",
        "e   ",
        "critical",
        "usage:",
        "abort",
        "exception",
    ];
    if STARTS.iter().any(|s| starts_ci(trimmed, s)) {
        score += 2.0;
    }
    if has_error_word(trimmed) {
        score += 1.0;
    }
    score
}

/// `ValueError: …`, `subprocess.CalledProcessError: …`, `AssertionError`, `java.io.IOException`.
fn is_exception_line(line: &str) -> bool {
    let head = line.split([':', ' ']).next().unwrap_or("");
    let name = head.rsplit('.').next().unwrap_or(head);
    (name.ends_with("Error") || name.ends_with("Exception") || name == "KeyboardInterrupt")
        && name.len() > 5
        && name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_phrases(_: &str) -> f64 {
        0.0
    }

    #[test]
    fn framing_is_removed_and_exit_codes_kept() {
        let cases: [(&str, &str, Option<i64>); 7] = [
            (
                "<tool_use_error>File has not been read yet.</tool_use_error>",
                "File has not been read yet.",
                None,
            ),
            (
                "Exit code 1\nOn branch main\nnothing to commit",
                "On branch main\nnothing to commit",
                Some(1),
            ),
            (
                "Chunk ID: 1a2b\nWall time: 0.05 seconds\nProcess exited with code 2\nOriginal token count: 16\nOutput:\nsed: can't read x: No such file or directory\n",
                "sed: can't read x: No such file or directory",
                Some(2),
            ),
            (
                "<returncode>1</returncode>\n<output>\nTraceback …\nValueError: bad\n</output>",
                "Traceback …\nValueError: bad",
                Some(1),
            ),
            (
                r#"{"output":"fatal: not a git repository\n","metadata":{"exit_code":128,"duration_seconds":0.1}}"#,
                "fatal: not a git repository",
                Some(128),
            ),
            (
                "Total output lines: 3\n\ncommand timed out after 1013 milliseconds",
                "command timed out after 1013 milliseconds",
                None,
            ),
            ("plain message", "plain message", None),
        ];
        for (text, body, code) in cases {
            let u = unwrap(text);
            assert_eq!((u.body.as_ref(), u.exit_code), (body, code), "{text:?}");
        }
    }

    #[test]
    fn the_salient_line_is_the_error_not_the_log() {
        let cases = [
            (
                "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n    import docx\nModuleNotFoundError: No module named 'docx'",
                "ModuleNotFoundError: No module named 'docx'",
            ),
            (
                "   Compiling a v1\n   Compiling b v2\nerror[E0308]: mismatched types\n  --> src/main.rs:3:5\n   |\n3  |     x\n   |     ^ expected u8\n",
                "error[E0308]: mismatched types",
            ),
            (
                "============ test session starts ============\ncollected 3 items\n\ntests/test_a.py ..F\n\nFAILED tests/test_a.py::test_c - AssertionError: assert 1 == 2\n======== 1 failed, 2 passed in 0.12s ========",
                "FAILED tests/test_a.py::test_c - AssertionError: assert 1 == 2",
            ),
            (
                "On branch master\nnothing to commit, working tree clean",
                "nothing to commit, working tree clean",
            ),
            ("single", "single"),
        ];
        for (body, expect) in cases {
            assert_eq!(salient_line(body, &no_phrases), expect, "{body:?}");
        }
        let long = "x".repeat(1000);
        assert_eq!(
            salient_line(&long, &no_phrases).chars().count(),
            SALIENT_MAX_CHARS + 1
        );
    }

    #[test]
    fn known_phrases_pick_their_line() {
        let knows = |l: &str| {
            if l.contains("a terminal is required") {
                0.85
            } else {
                0.0
            }
        };
        let body = "Place your finger on the reader\nVerification timed out\nsudo: a terminal is required to read the password\nsudo: 1 incorrect attempt";
        assert_eq!(
            salient_line(body, &knows),
            "sudo: a terminal is required to read the password"
        );
    }
}
