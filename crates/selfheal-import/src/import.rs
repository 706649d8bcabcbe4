//! The import driver: walks paths (files, or folders recursively), finds what is new in each
//! file, reads it with the file's reader and hands the records to the [`Writer`].
//!
//! Per file it keeps a row (schema/import_tables.sql): size and modification time when last
//! read (an unchanged file costs a `stat`), the byte offset and line count consumed, and
//! fingerprints of the consumed bytes (SHA-256 of the first and of the last 64 KiB before the
//! offset). A grown file is read from its offset; one whose fingerprints no longer match (or
//! that shrank) was rewritten and is read from the start (calls already written are
//! recognised and not written again). A new file byte-identical to one already read is
//! recorded as its copy and not read.
//!
//! Line formats are read in chunks of [`Options::chunk_bytes`], each written in one
//! transaction that also moves the offset, so memory stays bounded whatever the file's size
//! and the database lock is held briefly. A line longer than [`Options::max_line_bytes`] is
//! a counted skip (never held in memory); an unterminated last line is left for the next
//! import unless it is already complete JSON; a line that is not UTF-8 is a counted skip.
//! Whole-document formats (Gemini chats, trajectories, a single OTLP request) are re-read
//! when they change, up to [`Options::max_document_bytes`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::detect::{Detected, HEAD_BYTES, detect, is_candidate_name};
use crate::error::ImportError;
use crate::lines::{Lines, Next};
use crate::model::{Format, Output, SourceFile};
use crate::writer::{Applied, ApplyError, Batch, FileCommit, FileRow, Writer};
use crate::{claude, codex, copilot, gemini, jsonl, opencode, otel, swe};

/// Bytes fingerprinted at each end of the consumed part of a file.
const PRINT_BYTES: u64 = 64 * 1024;
/// How many skipped lines are listed with file and line (all are counted).
const SKIP_SAMPLES: usize = 50;

#[derive(Clone, Debug)]
pub struct Options {
    /// `None`: detect each file's format from its content.
    pub format: Option<Format>,
    pub max_line_bytes: usize,
    pub max_document_bytes: u64,
    pub chunk_bytes: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            format: None,
            max_line_bytes: 32 << 20,
            max_document_bytes: 256 << 20,
            chunk_bytes: 8 << 20,
        }
    }
}

/// Where an import is.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub files_done: u64,
    pub files_total: u64,
    pub file: &'a Path,
}

/// Files by what happened to them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FileCounts {
    /// Files found (explicit files, and candidate files in folders).
    pub seen: u64,
    /// Files from which something new was read.
    pub read: u64,
    /// Files unchanged since the last import (only stat'ed).
    pub unchanged: u64,
    /// Files that were rewritten since the last import and were read again from the start.
    pub rewritten: u64,
    /// Byte-identical copies of a file already read (not read again).
    pub copies: u64,
    /// Files in no known format.
    pub unrecognised: u64,
    /// Files in a known format that could not be read (too large, invalid JSON, not UTF-8).
    pub skipped: u64,
    /// Files with nothing complete to read yet (empty, or a first line still being written).
    pub pending: u64,
    /// Files another import was reading at the same time (left to it).
    pub concurrent: u64,
    /// Files that could not be read.
    pub failed: u64,
}

/// A skipped line (or document, line 0).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkipNote {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// A path or file that could not be imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileError {
    pub path: String,
    pub error: String,
}

/// What an import did (`self-heal import --json` prints this).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub database: String,
    pub files: FileCounts,
    pub bytes_read: u64,
    pub runs_new: u64,
    pub runs_updated: u64,
    pub calls_added: u64,
    pub failed_calls_added: u64,
    pub events_added: u64,
    pub iterations_added: u64,
    /// Calls and iterations read again (a re-read or copied file, a call a hook wrote).
    pub duplicates_skipped: u64,
    /// Lines (or documents) not imported, in total and by reason.
    pub skipped: u64,
    pub skipped_by_reason: BTreeMap<String, u64>,
    /// The first skipped lines, with file and line.
    pub skipped_samples: Vec<SkipNote>,
    /// Unterminated last lines left for the next import (a writer may still be writing them).
    pub partial_lines_left: u64,
    /// Call results read before their call's start and still waiting for it (they are
    /// written when the start is read).
    pub awaiting_start: u64,
    #[serde(skip)]
    awaiting_delta: i64,
    pub errors: Vec<FileError>,
    pub elapsed_ms: u64,
    #[serde(skip)]
    new_runs: HashSet<String>,
    #[serde(skip)]
    touched_runs: HashSet<String>,
}

impl Summary {
    fn skip(&mut self, file: &str, line: u64, reason: &str) {
        self.skipped += 1;
        let key = match reason.find(" (") {
            Some(i) => &reason[..i],
            None => reason,
        };
        *self.skipped_by_reason.entry(key.to_string()).or_default() += 1;
        if self.skipped_samples.len() < SKIP_SAMPLES {
            self.skipped_samples.push(SkipNote {
                file: file.to_string(),
                line,
                reason: reason.to_string(),
            });
        }
    }

    fn error(&mut self, path: &Path, error: impl Into<String>) {
        self.errors.push(FileError {
            path: path.display().to_string(),
            error: error.into(),
        });
    }

    fn applied(&mut self, a: Applied) {
        self.calls_added += a.completed;
        self.failed_calls_added += a.failed;
        self.events_added += a.events;
        self.iterations_added += a.iterations;
        self.duplicates_skipped += a.duplicates;
        self.awaiting_delta += a.awaiting_start;
        self.awaiting_start = u64::try_from(self.awaiting_delta).unwrap_or(0);
        self.new_runs.extend(a.new_runs);
        self.touched_runs.extend(a.touched_runs);
        self.runs_new = self.new_runs.len() as u64;
        self.runs_updated = self.touched_runs.difference(&self.new_runs).count() as u64;
    }

    /// Whether anything was written.
    pub fn wrote_anything(&self) -> bool {
        self.events_added > 0 || !self.touched_runs.is_empty()
    }
}

/// A reader of a line format, with its state between increments.
enum LineReader {
    Claude(claude::Parser),
    Codex(codex::Parser),
    Gemini(gemini::Parser),
    Copilot(copilot::Parser),
    Otel(otel::Parser),
    Jsonl,
}

impl LineReader {
    fn new(format: Format, state: Option<&str>, path: &Path) -> LineReader {
        fn load<T: serde::de::DeserializeOwned + Default>(state: Option<&str>) -> T {
            state
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default()
        }
        match format {
            Format::ClaudeCode => LineReader::Claude(claude::Parser::new(load(state))),
            Format::Codex => LineReader::Codex(codex::Parser::new(load(state))),
            Format::GeminiJsonl => {
                let mut state: gemini::State = load(state);
                if state.cwd.is_none() {
                    state.cwd = gemini::project_dir(path);
                }
                LineReader::Gemini(gemini::Parser::new(state))
            }
            Format::CopilotCli => {
                let mut state: copilot::State = load(state);
                if state.cwd.is_none() {
                    state.cwd = copilot::workspace_cwd(path);
                }
                LineReader::Copilot(copilot::Parser::new(state))
            }
            Format::Otel => LineReader::Otel(otel::Parser::new(load(state))),
            _ => LineReader::Jsonl,
        }
    }

    fn line(
        &mut self,
        bytes: &[u8],
        line_no: u64,
        offset: u64,
        src: &SourceFile,
        out: &mut Output,
    ) {
        match self {
            LineReader::Claude(p) => p.line(bytes, line_no, src, out),
            LineReader::Codex(p) => p.line(bytes, line_no, offset, src, out),
            LineReader::Gemini(p) => p.line(bytes, line_no, src, out),
            LineReader::Copilot(p) => p.line(bytes, line_no, src, out),
            LineReader::Otel(p) => p.line(bytes, line_no, src, out),
            LineReader::Jsonl => jsonl::line(bytes, line_no, src, out),
        }
    }

    fn flush(&mut self, out: &mut Output) {
        if let LineReader::Claude(p) = self {
            p.flush(out);
        }
    }

    fn state(&self) -> Option<String> {
        match self {
            LineReader::Claude(p) => serde_json::to_string(p.state()).ok(),
            LineReader::Codex(p) => serde_json::to_string(p.state()).ok(),
            LineReader::Gemini(p) => serde_json::to_string(p.state()).ok(),
            LineReader::Copilot(p) => serde_json::to_string(p.state()).ok(),
            LineReader::Otel(p) => serde_json::to_string(p.state()).ok(),
            LineReader::Jsonl => None,
        }
    }
}

/// Imports files into one run-history database.
pub struct Importer {
    writer: Writer,
    options: Options,
}

/// The formats this binary reads, stored with a file none of them knew.
fn known_formats() -> String {
    Format::ALL.map(Format::as_str).join(",")
}

/// Size and modification time of a file, with its SQLite write-ahead log's when it has one
/// (a live database changes in its `-wal` file first).
fn with_wal(path: &Path, meta: &std::fs::Metadata) -> (i64, i64) {
    let size = i64::try_from(meta.len()).unwrap_or(i64::MAX);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    match std::fs::metadata(&wal) {
        Ok(w) => (
            size.saturating_add(i64::try_from(w.len()).unwrap_or(i64::MAX)),
            mtime_ns(meta).max(mtime_ns(&w)),
        ),
        Err(_) => (size, mtime_ns(meta)),
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (hex prefix) of `len` bytes of `file` from `from`.
fn hash_range(file: &mut File, from: u64, len: u64) -> std::io::Result<String> {
    file.seek(SeekFrom::Start(from))?;
    let mut h = Sha256::new();
    let mut left = len;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(hex(&h.finalize()))
}

/// Fingerprints of the first `offset` bytes of a file: (head hash, head len, tail hash, tail len).
fn fingerprint(file: &mut File, offset: u64) -> std::io::Result<(String, i64, String, i64)> {
    let head_len = offset.min(PRINT_BYTES);
    let tail_len = offset.min(PRINT_BYTES);
    let head = hash_range(file, 0, head_len)?;
    let tail = hash_range(file, offset - tail_len, tail_len)?;
    Ok((head, head_len as i64, tail, tail_len as i64))
}

/// Whether a file's first line (within [`HEAD_BYTES`]) is a complete JSON value.
fn first_line_is_json(file: &mut File) -> std::io::Result<bool> {
    file.seek(SeekFrom::Start(0))?;
    let mut head = Vec::new();
    file.take(HEAD_BYTES as u64).read_to_end(&mut head)?;
    let line = match memchr::memchr(b'\n', &head) {
        Some(i) => &head[..i],
        None => &head[..],
    };
    Ok(serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok())
}

/// Whether two files have the same bytes.
fn same_bytes(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (fa, fb) = (File::open(a)?, File::open(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ra, mut rb) = (BufReader::new(fa), BufReader::new(fb));
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = read_full(&mut ra, &mut ba)?;
        let m = read_full(&mut rb, &mut bb)?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Files under `path`: the file itself, or the candidate files of a folder, recursively
/// (symbolic links to folders are not followed), in name order.
fn walk(path: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<(PathBuf, String)>) {
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) => {
            errors.push((path.to_path_buf(), format!("cannot list folder: {e}")));
            return;
        }
    };
    let mut children: Vec<(PathBuf, bool)> = Vec::new();
    for entry in entries.flatten() {
        let p = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => children.push((p, true)),
            Ok(t) if t.is_file() => children.push((p, false)),
            Ok(t) if t.is_symlink() && std::fs::metadata(&p).is_ok_and(|m| m.is_file()) => {
                children.push((p, false))
            }
            _ => {}
        }
    }
    // A folder's files before its subfolders: a Claude Code session (`<id>.jsonl`) is read
    // before `<id>/subagents/`, whose forks and compaction agents replay the session's calls —
    // those stay the session's.
    children.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    for (p, is_dir) in children {
        if is_dir {
            walk(&p, out, errors);
        } else if is_candidate_name(&p) {
            out.push(p);
        }
    }
}

/// What happened to one file.
enum Outcome {
    Read,
    Skipped,
    Pending,
    Unrecognised,
    Copy,
    Concurrent,
}

impl Importer {
    /// Opens (creating when missing) the database at `db` for importing.
    pub fn open(db: &Path, options: Options) -> Result<Importer, ImportError> {
        Ok(Importer {
            writer: Writer::open(db)?,
            options,
        })
    }

    /// Imports through a writer opened by the caller (any engine).
    pub fn with_writer(writer: Writer, options: Options) -> Importer {
        Importer { writer, options }
    }

    pub fn writer(&mut self) -> &mut Writer {
        &mut self.writer
    }

    /// Imports what is new under `paths`. Problems with single paths or files are listed in
    /// the summary's `errors` and the import goes on; an unusable database stops it (also
    /// listed, and returned as the error when nothing could be done).
    pub fn import(
        &mut self,
        paths: &[PathBuf],
        progress: &mut dyn FnMut(&Progress<'_>),
    ) -> Result<Summary, ImportError> {
        let started = Instant::now();
        let mut summary = Summary {
            database: self.writer.describe(),
            ..Summary::default()
        };
        let mut files = Vec::new();
        let mut walk_errors = Vec::new();
        for path in paths {
            match std::fs::metadata(path) {
                Ok(m) if m.is_dir() => walk(path, &mut files, &mut walk_errors),
                Ok(_) => files.push(path.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    walk_errors.push((path.clone(), "no such file or folder".into()))
                }
                Err(e) => walk_errors.push((path.clone(), e.to_string())),
            }
        }
        for (p, e) in walk_errors {
            summary.error(&p, e);
        }
        let mut seen = HashSet::new();
        files.retain(|f| seen.insert(f.clone()));
        summary.files.seen = files.len() as u64;
        let rows = self.writer.file_rows()?;
        // Plan: stat every file; only changed ones are opened.
        let mut todo: Vec<(PathBuf, std::fs::Metadata, Option<FileRow>)> = Vec::new();
        let mut bytes_total = 0u64;
        for f in files {
            let meta = match std::fs::metadata(&f) {
                Ok(m) => m,
                Err(e) => {
                    summary.files.failed += 1;
                    summary.error(&f, format!("cannot read: {e}"));
                    continue;
                }
            };
            let row = rows.get(&f.to_string_lossy().into_owned()).cloned();
            let (size, mtime) = with_wal(&f, &meta);
            // A file no format knew is looked at again by a binary that knows more formats.
            if let Some(r) = &row
                && r.size == size
                && r.mtime_ns == mtime
                && (r.format != "unknown" || r.state.as_deref() == Some(&known_formats()))
            {
                summary.files.unchanged += 1;
                continue;
            }
            bytes_total += match &row {
                Some(r) if r.note.is_none() && r.offset <= size && r.copy_of.is_none() => {
                    (size - r.offset) as u64
                }
                _ => meta.len(),
            };
            todo.push((f, meta, row));
        }
        let files_total = todo.len() as u64;
        let mut bytes_done = 0u64;
        for (i, (path, meta, row)) in todo.into_iter().enumerate() {
            let mut report = |done: u64| {
                progress(&Progress {
                    bytes_done: (bytes_done + done).min(bytes_total),
                    bytes_total,
                    files_done: i as u64,
                    files_total,
                    file: &path,
                })
            };
            report(0);
            let before = summary.bytes_read;
            let outcome = self.file(&path, &meta, row.as_ref(), &mut summary, &mut report);
            bytes_done += summary.bytes_read - before;
            match outcome {
                Ok(Outcome::Read) => summary.files.read += 1,
                Ok(Outcome::Skipped) => summary.files.skipped += 1,
                Ok(Outcome::Pending) => summary.files.pending += 1,
                Ok(Outcome::Unrecognised) => summary.files.unrecognised += 1,
                Ok(Outcome::Copy) => summary.files.copies += 1,
                Ok(Outcome::Concurrent) => summary.files.concurrent += 1,
                Err(e) if e.is_fatal() => {
                    summary.error(&path, e.to_string());
                    summary.elapsed_ms = started.elapsed().as_millis() as u64;
                    if summary.wrote_anything() || summary.files.read > 0 {
                        return Ok(summary);
                    }
                    return Err(e);
                }
                Err(e) => {
                    summary.files.failed += 1;
                    summary.error(&path, e.to_string());
                }
            }
        }
        progress(&Progress {
            bytes_done: bytes_total,
            bytes_total,
            files_done: files_total,
            files_total,
            file: Path::new(""),
        });
        summary.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
    }

    /// Imports what is new in one file.
    fn file(
        &mut self,
        path: &Path,
        meta: &std::fs::Metadata,
        row: Option<&FileRow>,
        summary: &mut Summary,
        report: &mut dyn FnMut(u64),
    ) -> Result<Outcome, ImportError> {
        let name = path.to_string_lossy().into_owned();
        let mut file = File::open(path).map_err(|e| ImportError::Io {
            path: path.to_path_buf(),
            detail: format!("cannot read: {e}"),
        })?;
        let io = |e: std::io::Error| ImportError::io(path, &e);
        let size = meta.len();
        let mtime = mtime_ns(meta);
        let source = SourceFile {
            path: name.clone(),
            mtime_ms: mtime / 1_000_000,
        };
        let known = row
            .filter(|r| r.format != "unknown" && r.copy_of.is_none())
            .and_then(|r| Format::parse(&r.format));
        let format = match self.options.format.or(known) {
            Some(f) => f,
            None => {
                let mut head = Vec::with_capacity(HEAD_BYTES.min(size as usize));
                (&mut file)
                    .take(HEAD_BYTES as u64)
                    .read_to_end(&mut head)
                    .map_err(io)?;
                if opencode::is_sqlite(&head) {
                    return self.database(path, meta, row, &source, summary);
                }
                match detect(path, &head, head.len() as u64 >= size) {
                    Detected::Format(f) => f,
                    Detected::Undecided => return Ok(Outcome::Pending),
                    Detected::Unknown(reason) => {
                        let note = format!("not a known history format: {reason}");
                        summary.skip(&name, 0, &note);
                        let (size, mtime) = with_wal(path, meta);
                        let new = FileRow {
                            path: name.clone(),
                            format: "unknown".into(),
                            size,
                            mtime_ns: mtime,
                            state: Some(known_formats()),
                            note: Some(note),
                            ..FileRow::default()
                        };
                        self.commit_empty(Format::Jsonl, &new, row.map(|r| r.offset))?;
                        return Ok(Outcome::Unrecognised);
                    }
                }
            }
        };
        if format == Format::OpenCode {
            return self.database(path, meta, row, &source, summary);
        }
        // A new file that is a byte-identical copy of one already read is not read again.
        if row.is_none() && size > 0 {
            let (head, _, _, _) = fingerprint(&mut file, size.min(PRINT_BYTES)).map_err(io)?;
            for candidate in self.writer.same_start(size as i64, &head, &name)? {
                if same_bytes(path, Path::new(&candidate.path)).unwrap_or(false) {
                    let copy = FileRow {
                        path: name.clone(),
                        mtime_ns: mtime,
                        copy_of: Some(candidate.path.clone()),
                        ..candidate
                    };
                    self.commit_empty(format, &copy, None)?;
                    return Ok(Outcome::Copy);
                }
            }
        }
        let line_based = match format {
            // A collector's file holds one request per line; a plain JSON file holds one
            // request, possibly spread over lines.
            Format::Otel => first_line_is_json(&mut file).map_err(io)?,
            f => f.is_line_based(),
        };
        if line_based {
            self.lines(
                &mut file, format, size, mtime, row, &source, summary, report,
            )
        } else {
            self.document(&mut file, format, size, mtime, row, &source, summary)
        }
    }

    fn commit_empty(
        &mut self,
        format: Format,
        row: &FileRow,
        expected: Option<i64>,
    ) -> Result<(), ImportError> {
        let batch = Batch {
            format,
            source_file: Some(&row.path),
            fallback_ms: 0,
            records: &[],
            file: Some(FileCommit {
                expected_offset: expected,
                row,
            }),
        };
        match self.writer.apply(&batch) {
            Ok(_) | Err(ApplyError::Conflict) => Ok(()),
            Err(ApplyError::Db(e)) => Err(e),
        }
    }

    /// Reads what changed in an OpenCode database since the last import began, one page (one
    /// batch) at a time; the last batch stores where the next import starts.
    fn database(
        &mut self,
        path: &Path,
        meta: &std::fs::Metadata,
        row: Option<&FileRow>,
        source: &SourceFile,
        summary: &mut Summary,
    ) -> Result<Outcome, ImportError> {
        let io = |detail: String| ImportError::Io {
            path: path.to_path_buf(),
            detail,
        };
        let stored: opencode::Cursor = row
            .filter(|r| r.format == Format::OpenCode.as_str())
            .and_then(|r| r.state.as_deref())
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let source_db = opencode::Source::open(path).map_err(io)?;
        // Taken before the first page: rows updated after it are read next time.
        let high = source_db.high_water().map_err(io)?;
        let (size, mtime) = with_wal(path, meta);
        let mut cursor = opencode::resume(&stored);
        let mut table = opencode::Table::Session;
        let mut expected = row.map(|r| r.offset);
        // Until the last page, the stored cursor stays the old one: an import cut short is
        // taken up again from there (what it already wrote is recognised).
        let row_of = |state: &opencode::Cursor| FileRow {
            path: source.path.clone(),
            format: Format::OpenCode.as_str().into(),
            size,
            mtime_ns: mtime,
            offset: state.position(),
            state: serde_json::to_string(state).ok(),
            ..FileRow::default()
        };
        loop {
            let page = source_db.read_page(&cursor, table).map_err(io)?;
            let last = page.is_none();
            let (records, skips, next, from) = match page {
                Some((out, next, from)) => (out.records, out.skips, next, from),
                None => (Vec::new(), Vec::new(), cursor.clone(), table),
            };
            for s in &skips {
                summary.skip(&source.path, s.line, &s.reason);
            }
            let new = row_of(if last { &high } else { &stored });
            let batch = Batch {
                format: Format::OpenCode,
                source_file: Some(&source.path),
                fallback_ms: source.mtime_ms,
                records: &records,
                file: Some(FileCommit {
                    expected_offset: expected,
                    row: &new,
                }),
            };
            match self.writer.apply(&batch) {
                Ok(a) => summary.applied(a),
                Err(ApplyError::Conflict) => return Ok(Outcome::Concurrent),
                Err(ApplyError::Db(e)) => return Err(e),
            }
            if last {
                break;
            }
            expected = Some(new.offset);
            cursor = next;
            table = from;
        }
        Ok(Outcome::Read)
    }

    #[allow(clippy::too_many_arguments)]
    fn document(
        &mut self,
        file: &mut File,
        format: Format,
        size: u64,
        mtime: i64,
        row: Option<&FileRow>,
        source: &SourceFile,
        summary: &mut Summary,
    ) -> Result<Outcome, ImportError> {
        let path = PathBuf::from(&source.path);
        let io = |e: std::io::Error| ImportError::io(&path, &e);
        let expected = row.map(|r| r.offset);
        let mut new = FileRow {
            path: source.path.clone(),
            format: format.as_str().into(),
            size: size as i64,
            mtime_ns: mtime,
            ..FileRow::default()
        };
        if size > self.options.max_document_bytes {
            let note = format!(
                "document of {} MiB is larger than the {} MiB limit",
                size >> 20,
                self.options.max_document_bytes >> 20
            );
            summary.skip(&source.path, 0, &note);
            new.note = Some(note);
            self.commit_empty(format, &new, expected)?;
            return Ok(Outcome::Skipped);
        }
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes).map_err(io)?;
        summary.bytes_read += bytes.len() as u64;
        let mut out = Output::default();
        if std::str::from_utf8(&bytes).is_err() {
            out.skip(0, "invalid UTF-8");
        } else {
            match format {
                Format::GeminiCli => gemini::parse(&bytes, source, &mut out),
                Format::SweAgent => swe::parse(&bytes, source, &mut out),
                Format::Otel => {
                    let mut p = otel::Parser::new(otel::State::default());
                    p.line(&bytes, 0, source, &mut out);
                }
                _ => jsonl::line(&bytes, 0, source, &mut out),
            }
        }
        let truncated = out.skips.iter().any(|s| s.reason == "truncated JSON");
        for s in &out.skips {
            summary.skip(&source.path, s.line, &s.reason);
        }
        if truncated {
            // Possibly still being written: read again when it changes.
            new.note = Some("truncated JSON".into());
            self.commit_empty(format, &new, expected)?;
            return Ok(Outcome::Pending);
        }
        let unreadable = out.records.is_empty() && out.skips.iter().any(|s| s.line == 0);
        if let Some(s) = out.skips.iter().find(|s| s.line == 0) {
            new.note = Some(s.reason.clone());
        }
        let len = bytes.len() as u64;
        let (head_hash, head_len, tail_hash, tail_len) = fingerprint(file, len).map_err(io)?;
        new.offset = len as i64;
        new.head_hash = head_hash;
        new.head_len = head_len;
        new.tail_hash = tail_hash;
        new.tail_len = tail_len;
        let batch = Batch {
            format,
            source_file: Some(&source.path),
            fallback_ms: source.mtime_ms,
            records: &out.records,
            file: Some(FileCommit {
                expected_offset: expected,
                row: &new,
            }),
        };
        match self.writer.apply(&batch) {
            Ok(a) => {
                summary.applied(a);
                Ok(if unreadable {
                    Outcome::Skipped
                } else {
                    Outcome::Read
                })
            }
            Err(ApplyError::Conflict) => Ok(Outcome::Concurrent),
            Err(ApplyError::Db(e)) => Err(e),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn lines(
        &mut self,
        file: &mut File,
        format: Format,
        size: u64,
        mtime: i64,
        row: Option<&FileRow>,
        source: &SourceFile,
        summary: &mut Summary,
        report: &mut dyn FnMut(u64),
    ) -> Result<Outcome, ImportError> {
        let path = PathBuf::from(&source.path);
        let io = |e: std::io::Error| ImportError::io(&path, &e);
        let expected0 = row.map(|r| r.offset);
        // Continue where the last import stopped, unless the file was rewritten since.
        let resume = match row.filter(|r| r.format == format.as_str() && r.note.is_none()) {
            Some(r) if r.copy_of.is_none() || r.offset as u64 <= size => {
                let offset = r.offset as u64;
                let intact = offset <= size && {
                    let (head, head_len, tail, tail_len) = fingerprint(file, offset).map_err(io)?;
                    head == r.head_hash
                        && tail == r.tail_hash
                        && head_len == r.head_len
                        && tail_len == r.tail_len
                };
                if intact {
                    let state = match &r.state {
                        Some(s) => Some(s.clone()),
                        None => self.writer.file_state(&source.path)?,
                    };
                    Some((offset, r.lines as u64, state))
                } else {
                    summary.files.rewritten += 1;
                    None
                }
            }
            _ => None,
        };
        let (mut offset, mut line_no, state) = resume.unwrap_or((0, 0, None));
        let mut reader = LineReader::new(format, state.as_deref(), &path);
        if let LineReader::Otel(p) = &mut reader {
            // Parents are exported after their children: learn the conversations first.
            file.seek(SeekFrom::Start(offset)).map_err(io)?;
            let mut lines = Lines::new(
                BufReader::with_capacity(256 * 1024, &mut *file),
                offset,
                self.options.max_line_bytes,
            );
            while let Next::Line { .. } = lines.next_line().map_err(io)? {
                let l = lines.line();
                if memchr::memmem::find(l, b"gen_ai.conversation.id").is_some()
                    || memchr::memmem::find(l, b"gen_ai.agent.name").is_some()
                {
                    p.learn(l);
                }
            }
        }
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut lines = Lines::new(
            BufReader::with_capacity(256 * 1024, file.try_clone().map_err(io)?),
            offset,
            self.options.max_line_bytes,
        );
        // Fingerprints are read through a handle of their own (a clone shares the position).
        let mut probe = File::open(&path).map_err(io)?;
        let start_offset = offset;
        let mut expected = expected0;
        let mut at_end = false;
        while !at_end {
            let chunk_start = offset;
            let mut out = Output::default();
            loop {
                match lines.next_line().map_err(io)? {
                    Next::Line { start, end } => {
                        line_no += 1;
                        offset = end;
                        let bytes = lines.line();
                        if bytes.iter().all(u8::is_ascii_whitespace) {
                            continue;
                        }
                        if std::str::from_utf8(bytes).is_err() {
                            out.skip(line_no, "invalid UTF-8");
                        } else {
                            reader.line(bytes, line_no, start, source, &mut out);
                        }
                        if offset - chunk_start >= self.options.chunk_bytes {
                            break;
                        }
                    }
                    Next::TooLong { start, end } => {
                        line_no += 1;
                        offset = end;
                        out.skip(
                            line_no,
                            format!(
                                "line too long ({} MiB, the limit is {} MiB)",
                                (end - start) >> 20,
                                self.options.max_line_bytes >> 20
                            ),
                        );
                    }
                    Next::Partial {
                        start,
                        end,
                        too_long,
                    } => {
                        let bytes = lines.line();
                        let complete = !too_long
                            && std::str::from_utf8(bytes).is_ok()
                            && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
                        if complete {
                            line_no += 1;
                            offset = end;
                            reader.line(bytes, line_no, start, source, &mut out);
                        } else {
                            summary.partial_lines_left += 1;
                        }
                        at_end = true;
                        break;
                    }
                    Next::Eof => {
                        at_end = true;
                        break;
                    }
                }
            }
            reader.flush(&mut out);
            summary.bytes_read += offset - chunk_start;
            // Even with nothing new (a touched file, a last line still incomplete) the row is
            // written: its size and time make the next import skip the file until it changes.
            for s in &out.skips {
                summary.skip(&source.path, s.line, &s.reason);
            }
            let (head_hash, head_len, tail_hash, tail_len) =
                fingerprint(&mut probe, offset).map_err(io)?;
            let new = FileRow {
                path: source.path.clone(),
                format: format.as_str().into(),
                size: size.max(offset) as i64,
                mtime_ns: mtime,
                offset: offset as i64,
                lines: line_no as i64,
                head_hash,
                head_len,
                tail_hash,
                tail_len,
                state: reader.state(),
                copy_of: None,
                note: None,
            };
            let batch = Batch {
                format,
                source_file: Some(&source.path),
                fallback_ms: source.mtime_ms,
                records: &out.records,
                file: Some(FileCommit {
                    expected_offset: expected,
                    row: &new,
                }),
            };
            match self.writer.apply(&batch) {
                Ok(a) => summary.applied(a),
                Err(ApplyError::Conflict) => return Ok(Outcome::Concurrent),
                Err(ApplyError::Db(e)) => return Err(e),
            }
            expected = Some(offset as i64);
            report(offset - start_offset);
        }
        if offset == 0 && line_no == 0 {
            return Ok(Outcome::Pending);
        }
        Ok(Outcome::Read)
    }
}

/// Paths from a `:`-separated list (like `PATH`), `~` expanded, empty entries dropped.
pub fn split_path_list(list: &str) -> Vec<PathBuf> {
    list.split(':')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| expand_tilde(Path::new(p)))
        .collect()
}

/// Expands a leading `~` to `$HOME`.
pub fn expand_tilde(path: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    match (text.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(format!("{}{}", PathBuf::from(home).display(), rest))
        }
        _ => path.to_path_buf(),
    }
}

/// Rows of the importer's state by path (for tests and tools).
pub fn file_rows(importer: &Importer) -> Result<HashMap<String, FileRow>, ImportError> {
    importer.writer.file_rows()
}
