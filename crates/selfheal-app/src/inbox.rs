//! Inbox notes for humans: Markdown day files compatible with inbox-mcp.
//!
//! A note is appended to a day file in the configured inbox directory (`INBOX_PATH`). Writing
//! a note never fails the caller: [`Inbox::write`] returns a [`NoteOutcome`] that says whether
//! the note was written and, if not, why; tool responses carry it as is.
//!
//! # Wire format
//!
//! This is the contract with inbox-mcp and with the people reading the files; change it only
//! together with the tests at the bottom of this module.
//!
//! * **Directory**: the configured inbox path, created with its parents if missing.
//! * **File**: `<dir>/YYYY-MM-DD.md`, named by the calendar date of the note's timestamp in the
//!   timestamp's own UTC offset. Callers pass local time ([`local_time`]), so this is the local
//!   date, as inbox-mcp expects. Files are UTF-8 with `\n` line endings.
//! * **A new (missing or empty) file** is written as the title line, a blank line, the entry and
//!   a newline:
//!
//!   ```text
//!   # Inbox - YYYY-MM-DD\n
//!   \n
//!   <entry>\n
//!   ```
//!
//! * **Every later entry** is appended as `\n---\n\n<entry>\n`: a blank line, a `---` rule, a
//!   blank line, the entry, a newline. Files this module writes therefore always end with
//!   `\n`; should a hand-edited file not end with one, a `\n` is written first so the rule
//!   never glues onto the last line (which Markdown would read as a setext heading).
//! * **Entry** ([`Inbox::format_entry`]) = header line, then `\n` and the body unless the body
//!   is empty. The entry itself ends without a newline; the framing above supplies it.
//! * **Header line**: `## YYYY-MM-DD HH:MM:SS [self-heal]`, then ` #tag` for every tag, then
//!   ` **[URGENT]**` ([`Priority::Urgent`]), ` *[HIGH]*` ([`Priority::High`]) or nothing
//!   ([`Priority::Normal`]). Date and time are the wall clock of the timestamp in its own
//!   offset, whole seconds (no offset is printed).
//! * **Tags** are sanitised ([`sanitize_tag`]): lower case; leading `#` dropped; every run of
//!   characters other than letters, digits, `_`, `.` and `/` (spaces, `#`, `-`, punctuation)
//!   becomes one `-`; `-` trimmed from both ends. Tags that end up empty are dropped, and
//!   repeats keep their first position only.
//! * **Body**: the message as Markdown, with `\r\n` turned into `\n`, leading blank lines and
//!   trailing whitespace removed, and every other control character (lone `\r`, tab, ESC, BEL,
//!   NUL, DEL, C1) and invisible bidi or format character written visibly (`\r`, `\t`,
//!   `\x1b`, `\u{202e}`…, the rules of [`crate::sanitize`] for a Markdown sink): a day file
//!   never holds a raw control byte. No body line can pass for an entry header or a separator:
//!   a line whose first non-blank character is `#` (a heading, or a forged
//!   `## … [self-heal]` header) and a line made only of `-`, `=`, `*`, `_` and blanks (the
//!   `---` separator, a thematic break, a setext underline that would turn the line above into
//!   a heading) are written trimmed of leading blanks with a `\` in front (`\## …`, `\---`),
//!   which Markdown shows as the literal text.
//! * **Quoting text from the history**: notes name what comes from the run history (pattern,
//!   tool and run ids, agent names, descriptions and reasons written by agents) as inline code
//!   ([`code`]): one line, control characters made visible, capped, between enough backticks
//!   that no backtick inside can close the span. Together with the body rule above, a hostile
//!   message can neither add a line to the file that starts an entry nor reach a terminal that
//!   `cat`s the file with a raw escape sequence.
//!
//! A file with three entries, byte for byte (`⏎` marks each `\n`):
//!
//! ```text
//! # Inbox - 2026-01-30⏎
//! ⏎
//! ## 2026-01-30 02:09:03 [self-heal] #self-heal #patterns *[HIGH]*⏎
//! 3 new failure patterns in the last 24h⏎
//! ⏎
//! ---⏎
//! ⏎
//! ## 2026-01-30 09:15:00 [self-heal] #self-heal #improvement⏎
//! Applied a retry policy to `web_search`⏎
//! ⏎
//! ---⏎
//! ⏎
//! ## 2026-01-30 18:40:12 [self-heal] #self-heal #escalation **[URGENT]**⏎
//! Pattern p-17 regressed after its fix⏎
//! ```
//!
//! # Concurrency and durability
//!
//! Writers in this and other processes never interleave: each write takes an exclusive
//! advisory lock on `<dir>/.self-heal.lock` (`flock` on Unix, `LockFileEx` on Windows) around
//! "is the day file new? → append title and/or entry", appends everything with one
//! `write_all` on an append-mode handle and `fsync`s the file (and, for a new file, the
//! directory) before unlocking. Writers that do not take the lock (inbox-mcp itself) are not
//! excluded; an append-mode write of one buffer keeps our entry contiguous on local file
//! systems all the same. The lock is blocking: it is only ever held for one append and one
//! `fsync`, and the operating system releases it when a holder dies.
//!
//! Deciding whether a note should be written at all (the per-pattern cooldown, inbox
//! disabled) belongs to the caller, which reports that with [`NoteOutcome::not_written`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Local};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::sanitize::{self, Sink};

/// Name of the lock file inside the inbox directory (a dot file, so inbox listings skip it).
pub const LOCK_FILE_NAME: &str = ".self-heal.lock";

/// The source label every header carries, so people can tell our notes from others'.
pub const SOURCE_LABEL: &str = "[self-heal]";

/// How loudly a note asks for attention.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// No marker.
    #[default]
    Normal,
    /// ` *[HIGH]*` after the tags.
    High,
    /// ` **[URGENT]**` after the tags.
    Urgent,
}

impl Priority {
    /// The marker appended to the header line, with its leading space (empty for normal).
    pub fn marker(self) -> &'static str {
        match self {
            Priority::Normal => "",
            Priority::High => " *[HIGH]*",
            Priority::Urgent => " **[URGENT]**",
        }
    }
}

/// One note for the inbox.
#[derive(Clone, Debug)]
pub struct Note {
    /// Tags without `#`; sanitised on output ([`sanitize_tag`]).
    pub tags: Vec<String>,
    pub priority: Priority,
    /// Markdown body.
    pub message: String,
}

/// What happened to a note; returned inside tool responses (never an error for the caller).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NoteOutcome {
    /// Whether the note is now in the inbox.
    pub written: bool,
    /// The day file written to (or that a failed write was aimed at).
    pub path: Option<String>,
    /// Why the note was not written: cooldown, inbox disabled, or the I/O error.
    pub reason: Option<String>,
}

impl NoteOutcome {
    /// A note deliberately not written (cooldown, disabled) or that could not be.
    pub fn not_written(reason: impl Into<String>) -> NoteOutcome {
        NoteOutcome {
            written: false,
            path: None,
            reason: Some(reason.into()),
        }
    }
}

/// The inbox directory and the writer of its day files.
#[derive(Clone, Debug)]
pub struct Inbox {
    dir: PathBuf,
}

impl Inbox {
    /// An inbox in `dir`; nothing is touched until the first write.
    pub fn new(dir: PathBuf) -> Self {
        Inbox { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The day file a note stamped at `at` goes to: `<dir>/YYYY-MM-DD.md`.
    pub fn day_file(&self, at: DateTime<FixedOffset>) -> PathBuf {
        self.dir.join(format!("{}.md", at.format("%Y-%m-%d")))
    }

    /// Appends one note stamped at `at`, in the wire format of the module doc.
    ///
    /// `at` carries its UTC offset, which picks the day file and the printed wall clock: pass
    /// local time ([`local_time`]) in production and fixed instants in tests. Never panics;
    /// I/O failures come back as `written: false` with the error as the reason.
    pub fn write(&self, note: &Note, at: DateTime<FixedOffset>) -> NoteOutcome {
        let path = self.day_file(at);
        let entry = Inbox::format_entry(note, at);
        let date = at.format("%Y-%m-%d").to_string();
        match self.append(&path, &date, &entry) {
            Ok(()) => NoteOutcome {
                written: true,
                path: Some(path.display().to_string()),
                reason: None,
            },
            Err(reason) => {
                tracing::warn!(path = %path.display(), %reason, "inbox note not written");
                NoteOutcome {
                    written: false,
                    path: Some(path.display().to_string()),
                    reason: Some(reason),
                }
            }
        }
    }

    /// Formats a note header+body exactly as written, without the final newline (pure; used
    /// by tests and previews).
    pub fn format_entry(note: &Note, at: DateTime<FixedOffset>) -> String {
        let mut entry = format!("## {} {SOURCE_LABEL}", at.format("%Y-%m-%d %H:%M:%S"));
        let mut seen: Vec<String> = Vec::new();
        for tag in note.tags.iter().filter_map(|t| sanitize_tag(t)) {
            if !seen.contains(&tag) {
                entry.push_str(" #");
                entry.push_str(&tag);
                seen.push(tag);
            }
        }
        entry.push_str(note.priority.marker());
        let body = format_body(&note.message);
        if !body.is_empty() {
            entry.push('\n');
            entry.push_str(&body);
        }
        entry
    }

    /// Creates the directory, then appends under the lock; errors are reasons for people.
    fn append(&self, path: &Path, date: &str, entry: &str) -> Result<(), String> {
        fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create inbox directory {}: {e}", self.dir.display()))?;
        let lock_path = self.dir.join(LOCK_FILE_NAME);
        let lock = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| format!("cannot open inbox lock {}: {e}", lock_path.display()))?;
        lock.lock()
            .map_err(|e| format!("cannot lock inbox {}: {e}", lock_path.display()))?;
        let result = append_locked(path, date, entry)
            .map_err(|e| format!("cannot append to {}: {e}", path.display()));
        // Dropping the handle would release the lock too; unlocking first says so explicitly.
        let _ = lock.unlock();
        let created = result?;
        if created {
            sync_dir(&self.dir);
        }
        Ok(())
    }
}

/// Appends title and/or entry to the day file with one write; the caller holds the lock.
/// Returns whether the file was new (empty before this write).
fn append_locked(path: &Path, date: &str, entry: &str) -> io::Result<bool> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let len = file.metadata()?.len();
    let mut chunk = String::with_capacity(entry.len() + 32);
    if len == 0 {
        chunk.push_str("# Inbox - ");
        chunk.push_str(date);
        chunk.push_str("\n\n");
    } else {
        if !ends_with_newline(&mut file)? {
            chunk.push('\n');
        }
        chunk.push_str("\n---\n\n");
    }
    chunk.push_str(entry);
    chunk.push('\n');
    file.write_all(chunk.as_bytes())?;
    file.sync_all()?;
    Ok(len == 0)
}

/// Whether a non-empty file's last byte is `\n` (appends go to the end whatever the cursor).
fn ends_with_newline(file: &mut File) -> io::Result<bool> {
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// Makes a new file's directory entry durable; best effort (not possible on every platform).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Sanitises one tag for the header: see "Tags" in the module doc. `None` when nothing is left.
pub fn sanitize_tag(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    for c in raw
        .trim()
        .trim_start_matches('#')
        .chars()
        .flat_map(char::to_lowercase)
    {
        if c.is_alphanumeric() || matches!(c, '_' | '.' | '/') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let tag = out.trim_matches('-');
    (!tag.is_empty()).then(|| tag.to_string())
}

/// The body as written: see "Body" in the module doc.
fn format_body(message: &str) -> String {
    let text = sanitize::clean(message, Sink::Markdown);
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.split('\n').skip_while(|l| l.trim().is_empty()) {
        let start = line.trim_start();
        let rule = !start.is_empty()
            && start
                .chars()
                .all(|c| matches!(c, '-' | '=' | '*' | '_') || c.is_whitespace());
        if start.starts_with('#') || rule {
            out.push('\\');
            out.push_str(start.trim_end());
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// Text from the history as inline code in a note: one line, control characters visible, at
/// most `max` characters, fenced with one more backtick than the longest run inside (padded
/// with a space when it starts or ends with a backtick), so nothing inside can end the span.
pub fn code(text: &str, max: usize) -> String {
    let body = sanitize::capped(text, Sink::Line, max);
    if body.is_empty() {
        return "(empty)".into();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// A Unix-ms instant (`App::now_ms`) as local time, the `at` that [`Inbox::write`] expects.
/// `None` only for instants chrono cannot represent.
pub fn local_time(unix_ms: i64) -> Option<DateTime<FixedOffset>> {
    DateTime::from_timestamp_millis(unix_ms).map(|t| t.with_timezone(&Local).fixed_offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::collections::BTreeSet;
    use std::process::Command;

    fn at(rfc3339: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap()
    }

    fn note(tags: &[&str], priority: Priority, message: &str) -> Note {
        Note {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            priority,
            message: message.to_string(),
        }
    }

    fn check_entry(n: &Note, when: &str, expect: &str) {
        assert_eq!(Inbox::format_entry(n, at(when)), expect);
    }

    /// Parses a day file strictly by the wire format: (date, [(header, body)]).
    fn parse(text: &str) -> (String, Vec<(String, String)>) {
        let rest = text.strip_prefix("# Inbox - ").expect("title line");
        let (date, rest) = rest.split_once("\n\n").expect("blank line after title");
        assert_eq!(date.len(), 10, "title date {date:?}");
        let rest = rest.strip_suffix('\n').expect("file ends with a newline");
        let entries = rest
            .split("\n\n---\n\n")
            .map(|e| {
                let (header, body) = e.split_once('\n').unwrap_or((e, ""));
                assert_well_formed_header(header, date);
                (header.to_string(), body.to_string())
            })
            .collect();
        (date.to_string(), entries)
    }

    fn assert_well_formed_header(header: &str, date: &str) {
        let rest = header.strip_prefix("## ").expect("header starts with ## ");
        let stamp = rest.get(..19).expect("header has a timestamp");
        chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").expect("timestamp");
        assert!(stamp.starts_with(date), "{header:?} not on {date}");
        assert!(rest[19..].starts_with(" [self-heal]"), "{header:?}");
        assert!(!header.contains('\n'));
    }

    #[test]
    fn header_matches_the_design_example() {
        check_entry(
            &note(&["self-heal", "patterns"], Priority::High, "3 new patterns"),
            "2026-01-30T02:09:03+01:00",
            "## 2026-01-30 02:09:03 [self-heal] #self-heal #patterns *[HIGH]*\n3 new patterns",
        );
    }

    #[test]
    fn priority_markers() {
        check_entry(
            &note(&["x"], Priority::Urgent, "m"),
            "2026-01-30T02:09:03Z",
            "## 2026-01-30 02:09:03 [self-heal] #x **[URGENT]**\nm",
        );
        check_entry(
            &note(&["x"], Priority::Normal, "m"),
            "2026-01-30T02:09:03Z",
            "## 2026-01-30 02:09:03 [self-heal] #x\nm",
        );
        check_entry(
            &note(&[], Priority::High, "m"),
            "2026-01-30T02:09:03Z",
            "## 2026-01-30 02:09:03 [self-heal] *[HIGH]*\nm",
        );
    }

    #[test]
    fn tags_are_sanitised_and_deduplicated() {
        check_entry(
            &note(
                &[
                    "Self Heal",
                    "#Patterns",
                    "a#b",
                    "  ",
                    "##",
                    "x",
                    "X",
                    "web_search/v1.2",
                    "-é-",
                ],
                Priority::Normal,
                "m",
            ),
            "2026-01-30T02:09:03Z",
            "## 2026-01-30 02:09:03 [self-heal] #self-heal #patterns #a-b #x #web_search/v1.2 #é\nm",
        );
        assert_eq!(sanitize_tag("  Rate   Limit!! "), Some("rate-limit".into()));
        assert_eq!(sanitize_tag("# "), None);
    }

    #[test]
    fn body_is_normalised_and_cannot_forge_a_separator() {
        check_entry(
            &note(
                &["t"],
                Priority::Normal,
                "\n  \r\nline one\r\n---\r\n  --- \nend  \n\n",
            ),
            "2026-01-30T02:09:03Z",
            "## 2026-01-30 02:09:03 [self-heal] #t\nline one\n\\---\n\\---\nend",
        );
        check_entry(
            &note(&["t"], Priority::High, " \n\n"),
            "2026-01-30T02:09:03Z",
            "## 2026-01-30 02:09:03 [self-heal] #t *[HIGH]*",
        );
    }

    #[test]
    fn body_cannot_forge_a_header_or_carry_control_bytes() {
        let hostile = "\x1b[2J\x1b[31mred\x07\n## 2026-01-30 02:09:03 [self-heal] #forged **[URGENT]**\n  # heading\n===\n- - -\n***\n__\nok\tend\r\x00\x7f\u{9b}\u{202e}\n---\n\n## again";
        let entry = Inbox::format_entry(
            &note(&["t"], Priority::High, hostile),
            at("2026-01-30T02:09:03Z"),
        );
        assert_eq!(
            entry,
            "## 2026-01-30 02:09:03 [self-heal] #t *[HIGH]*\n\
             \\x1b[2J\\x1b[31mred\\x07\n\
             \\## 2026-01-30 02:09:03 [self-heal] #forged **[URGENT]**\n\
             \\# heading\n\
             \\===\n\
             \\- - -\n\
             \\***\n\
             \\__\n\
             ok\\tend\\r\\x00\\x7f\\u{9b}\\u{202e}\n\
             \\---\n\
             \n\
             \\## again"
        );
        // Written to a file, it parses as one well-formed entry.
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::new(dir.path().to_path_buf());
        let when = at("2026-01-30T02:09:03Z");
        assert!(
            inbox
                .write(&note(&["a"], Priority::Normal, "first"), when)
                .written
        );
        assert!(
            inbox
                .write(&note(&["t"], Priority::High, hostile), when)
                .written
        );
        let bytes = fs::read(inbox.day_file(when)).unwrap();
        assert!(
            !bytes.iter().any(|b| *b < 0x20 && *b != b'\n'),
            "control byte"
        );
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)));
        let (_, entries) = parse(&text);
        assert_eq!(entries.len(), 2);
        let headers = text.lines().filter(|l| l.starts_with('#')).count();
        assert_eq!(headers, 3, "title and two entry headers only:\n{text}");
    }

    #[test]
    fn code_spans_cannot_be_closed_from_inside() {
        assert_eq!(code("read_file", 50), "`read_file`");
        assert_eq!(code("a`b", 50), "``a`b``");
        assert_eq!(code("`x``", 50), "``` `x`` ```");
        assert_eq!(code("bad\x1b[31m\nline", 50), "`bad\\x1b[31m\\nline`");
        assert_eq!(code("abcdef", 3), "`abc…[+3 chars]`");
        assert_eq!(code("", 3), "(empty)");
    }

    #[test]
    fn three_entries_are_byte_exact() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::new(dir.path().join("notes").join("inbox"));
        let notes = [
            (
                note(
                    &["self-heal", "patterns"],
                    Priority::High,
                    "3 new failure patterns in the last 24h",
                ),
                "2026-01-30T02:09:03+01:00",
            ),
            (
                note(
                    &["self-heal", "improvement"],
                    Priority::Normal,
                    "Applied a retry policy to `web_search`",
                ),
                "2026-01-30T09:15:00+01:00",
            ),
            (
                note(
                    &["self-heal", "escalation"],
                    Priority::Urgent,
                    "Pattern p-17 regressed after its fix",
                ),
                "2026-01-30T18:40:12+01:00",
            ),
        ];
        let path = inbox.dir().join("2026-01-30.md");
        for (n, when) in &notes {
            let outcome = inbox.write(n, at(when));
            assert_eq!(
                outcome,
                NoteOutcome {
                    written: true,
                    path: Some(path.display().to_string()),
                    reason: None
                }
            );
        }
        let expect = "# Inbox - 2026-01-30\n\
                      \n\
                      ## 2026-01-30 02:09:03 [self-heal] #self-heal #patterns *[HIGH]*\n\
                      3 new failure patterns in the last 24h\n\
                      \n\
                      ---\n\
                      \n\
                      ## 2026-01-30 09:15:00 [self-heal] #self-heal #improvement\n\
                      Applied a retry policy to `web_search`\n\
                      \n\
                      ---\n\
                      \n\
                      ## 2026-01-30 18:40:12 [self-heal] #self-heal #escalation **[URGENT]**\n\
                      Pattern p-17 regressed after its fix\n";
        assert_eq!(fs::read(&path).unwrap(), expect.as_bytes());
        let (date, entries) = parse(expect);
        assert_eq!((date.as_str(), entries.len()), ("2026-01-30", 3));
        // Only the day file and the lock file are created.
        let mut names: Vec<String> = fs::read_dir(inbox.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [LOCK_FILE_NAME, "2026-01-30.md"]);
    }

    #[test]
    fn day_file_follows_the_date_in_the_offset_of_the_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::new(dir.path().to_path_buf());
        // 04:30 UTC on the 31st, but still the 30th at -05:00.
        let late = inbox.write(
            &note(&["a"], Priority::Normal, "late"),
            at("2026-01-30T23:30:00-05:00"),
        );
        let next = inbox.write(
            &note(&["b"], Priority::Normal, "next"),
            at("2026-01-31T00:00:01-05:00"),
        );
        assert!(late.written && next.written);
        assert_eq!(
            fs::read_to_string(dir.path().join("2026-01-30.md")).unwrap(),
            "# Inbox - 2026-01-30\n\n## 2026-01-30 23:30:00 [self-heal] #a\nlate\n"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("2026-01-31.md")).unwrap(),
            "# Inbox - 2026-01-31\n\n## 2026-01-31 00:00:01 [self-heal] #b\nnext\n"
        );
    }

    #[test]
    fn empty_or_hand_edited_files_stay_well_formed() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::new(dir.path().to_path_buf());
        let when = at("2026-01-30T10:00:00Z");
        let path = inbox.day_file(when);
        // An empty file (say, a crash between create and write) gets the title.
        fs::write(&path, "").unwrap();
        assert!(
            inbox
                .write(&note(&["a"], Priority::Normal, "one"), when)
                .written
        );
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "# Inbox - 2026-01-30\n\n## 2026-01-30 10:00:00 [self-heal] #a\none\n"
        );
        // A hand edit without a final newline: the separator still starts on its own line.
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str("a human remark");
        fs::write(&path, &text).unwrap();
        assert!(
            inbox
                .write(&note(&["b"], Priority::Normal, "two"), when)
                .written
        );
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("{text}\n\n---\n\n## 2026-01-30 10:00:00 [self-heal] #b\ntwo\n")
        );
    }

    #[test]
    fn unusable_directory_is_reported_not_raised() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("inbox");
        fs::write(&file, "I am a file").unwrap();
        let n = note(&["a"], Priority::Urgent, "m");
        for target in [file.clone(), file.join("below")] {
            let outcome = Inbox::new(target.clone()).write(&n, at("2026-01-30T10:00:00Z"));
            assert!(!outcome.written, "{outcome:?}");
            let reason = outcome.reason.unwrap();
            assert!(
                reason.starts_with("cannot create inbox directory")
                    && reason.contains(&target.display().to_string()),
                "{reason}"
            );
            assert_eq!(
                outcome.path,
                Some(target.join("2026-01-30.md").display().to_string())
            );
        }
        assert_eq!(fs::read_to_string(&file).unwrap(), "I am a file");
        // A day file that is a directory cannot be appended to either.
        let inbox = Inbox::new(dir.path().join("ok"));
        fs::create_dir_all(inbox.day_file(at("2026-01-30T10:00:00Z"))).unwrap();
        let outcome = inbox.write(&n, at("2026-01-30T10:00:00Z"));
        assert!(!outcome.written);
        assert!(outcome.reason.unwrap().starts_with("cannot append to"));
    }

    #[test]
    fn not_written_and_serialisation() {
        let skipped = NoteOutcome::not_written("cooldown: pattern p-3 announced 2h ago");
        assert_eq!(
            serde_json::to_value(&skipped).unwrap(),
            serde_json::json!({"written": false, "path": null, "reason": "cooldown: pattern p-3 announced 2h ago"})
        );
        assert_eq!(serde_json::to_value(Priority::Urgent).unwrap(), "urgent");
        assert!(local_time(1_769_738_943_000).is_some());
    }

    /// Checks a day file written by many writers: one title, `expect` well-formed entries whose
    /// bodies are `writer {w} note {i}` with every (w, i) exactly once.
    fn check_concurrent_file(path: &Path, writers: usize, per_writer: usize) {
        let text = fs::read_to_string(path).unwrap();
        assert_eq!(text.matches("# Inbox - ").count(), 1);
        let (_, entries) = parse(&text);
        assert_eq!(entries.len(), writers * per_writer);
        let mut seen = BTreeSet::new();
        for (header, body) in &entries {
            let (w, i) = body
                .strip_prefix("writer ")
                .and_then(|r| r.split_once(" note "))
                .unwrap_or_else(|| panic!("malformed body {body:?}"));
            let (w, i): (usize, usize) = (w.parse().unwrap(), i.parse().unwrap());
            assert!(
                header.ends_with(&format!(" #load #w{w} *[HIGH]*")),
                "{header}"
            );
            assert!(seen.insert((w, i)), "duplicate entry {w}/{i}");
        }
        assert_eq!(seen.len(), writers * per_writer);
    }

    fn load_note(w: usize, i: usize) -> Note {
        note(
            &["load", &format!("w{w}")],
            Priority::High,
            &format!("writer {w} note {i}"),
        )
    }

    const LOAD_AT: &str = "2026-01-30T12:00:00+01:00";

    #[test]
    fn concurrent_threads_never_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::new(dir.path().join("inbox"));
        // All threads start together, so the first writes race for a missing file.
        let start = std::sync::Barrier::new(8);
        std::thread::scope(|s| {
            for w in 0..8 {
                let (inbox, start) = (&inbox, &start);
                s.spawn(move || {
                    start.wait();
                    for i in 0..50 {
                        let outcome = inbox.write(&load_note(w, i), at(LOAD_AT));
                        assert!(outcome.written, "{outcome:?}");
                    }
                });
            }
        });
        check_concurrent_file(&inbox.day_file(at(LOAD_AT)), 8, 50);
    }

    const CHILD_DIR_ENV: &str = "SELFHEAL_INBOX_TEST_CHILD_DIR";
    const CHILD_ID_ENV: &str = "SELFHEAL_INBOX_TEST_CHILD_ID";
    const CHILD_GO_ENV: &str = "SELFHEAL_INBOX_TEST_CHILD_GO";
    const PROCESSES: usize = 4;
    const PER_PROCESS: usize = 50;

    /// Child mode of `concurrent_processes_never_interleave`; does nothing in a normal run.
    #[test]
    fn concurrent_process_child() {
        let (Some(dir), Some(id)) = (
            std::env::var_os(CHILD_DIR_ENV),
            std::env::var_os(CHILD_ID_ENV),
        ) else {
            return;
        };
        let w: usize = id.to_string_lossy().parse().unwrap();
        let inbox = Inbox::new(PathBuf::from(dir));
        // Wait for the parent's start signal, so the first writes race for a missing file.
        let go = PathBuf::from(std::env::var_os(CHILD_GO_ENV).unwrap());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !go.exists() {
            assert!(std::time::Instant::now() < deadline, "no start signal");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        for i in 0..PER_PROCESS {
            let outcome = inbox.write(&load_note(w, i), at(LOAD_AT));
            assert!(outcome.written, "{outcome:?}");
        }
    }

    #[test]
    fn concurrent_processes_never_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let inbox_dir = dir.path().join("inbox");
        let go = dir.path().join("go");
        let exe = std::env::current_exe().unwrap();
        let module = module_path!();
        let child_test = format!(
            "{}::concurrent_process_child",
            module.split_once("::").map_or(module, |(_, rest)| rest)
        );
        let children: Vec<_> = (0..PROCESSES)
            .map(|w| {
                Command::new(&exe)
                    .args(["--exact", &child_test, "--test-threads=1", "--quiet"])
                    .env(CHILD_DIR_ENV, &inbox_dir)
                    .env(CHILD_ID_ENV, w.to_string())
                    .env(CHILD_GO_ENV, &go)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        fs::write(&go, "").unwrap();
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains("1 passed"),
                "child failed: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        check_concurrent_file(
            &Inbox::new(inbox_dir).day_file(at(LOAD_AT)),
            PROCESSES,
            PER_PROCESS,
        );
    }
}
