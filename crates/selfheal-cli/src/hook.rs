//! `self-heal hook`: the one hook command installed into the agents' harnesses. Reads the event
//! JSON on stdin, appends it to the run-history database (Claude Code's events), and answers a
//! call that matches a lesson in force with the lesson as `additionalContext` on stdout
//! (`selfheal_app::lessons::hook_guidance`); otherwise prints nothing. Never disturbs the
//! agent: exit code 0 whatever happens, problems written to a log file (`SELFHEAL_HOOK_LOG`,
//! else `$XDG_STATE_HOME/self-healing-mcp/hook.log`, else
//! `~/.local/state/self-healing-mcp/hook.log`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use selfheal_import::model::Format;
use selfheal_import::writer::Batch;
use selfheal_store::Database;

/// Largest hook input kept (the rest is read and dropped, so the agent's write never blocks).
const MAX_INPUT: usize = 32 << 20;
/// The log is moved aside (to `hook.log.1`) when it grows past this.
const MAX_LOG: u64 = 1 << 20;

/// Where problems are written.
pub fn log_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SELFHEAL_HOOK_LOG").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    state.join("self-healing-mcp").join("hook.log")
}

/// Appends a line to the log; failing to log is not worth disturbing the agent either.
pub fn log(message: &str) {
    let path = log_path();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > MAX_LOG) {
        let _ = std::fs::rename(&path, path.with_extension("log.1"));
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let one_line = message.replace('\n', " ");
        let _ = writeln!(f, "{now} {one_line}");
    }
}

/// Reads the event on stdin (all of it, so the agent's write never fails; at most
/// [`MAX_INPUT`] is kept).
pub fn read_input() -> Result<Vec<u8>, String> {
    let mut input = Vec::new();
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 64 * 1024];
    let mut dropped = 0usize;
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) if input.len() + n <= MAX_INPUT => input.extend_from_slice(&buf[..n]),
            Ok(n) => dropped += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("cannot read stdin: {e}")),
        }
    }
    if dropped > 0 {
        return Err(format!(
            "hook input larger than {} MiB ({} bytes dropped); event not recorded",
            MAX_INPUT >> 20,
            dropped
        ));
    }
    Ok(input)
}

/// Records one event. Errors are returned for the log.
fn record(db: &Path, input: Result<Vec<u8>, String>) -> Result<(), String> {
    let input = input?;
    let now = chrono::Utc::now().timestamp_millis();
    let event = selfheal_import::hook::records(&input, now)?;
    let mut writer = selfheal_postgres::open_writer(&Database::parse(&db.to_string_lossy()))
        .map_err(|e| e.to_string())?;
    let batch = Batch {
        format: Format::ClaudeCode,
        source_file: event.transcript_path.as_deref(),
        fallback_ms: now,
        records: &event.records,
        file: None,
    };
    writer
        .apply(&batch)
        .map_err(|e| format!("{}: {e}", event.event))?;
    Ok(())
}

/// Runs the hook on the event read from stdin: always succeeds from the agent's point of view.
/// Returns the guidance to print, if a lesson in force matches the call.
pub fn run(db: &Path, input: Result<Vec<u8>, String>) -> Option<String> {
    let started = Instant::now();
    let mut problems = Vec::new();
    // Parsed once for the guidance and the harness; input that is not JSON is reported once,
    // by the recorder.
    let value = input
        .as_ref()
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok());
    let guidance = value.as_ref().and_then(|v| {
        selfheal_app::lessons::hook_guidance(db, v).unwrap_or_else(|e| {
            problems.push(format!("guidance: {e}"));
            None
        })
    });
    // Events of other harnesses are guided, not recorded (their transcripts are imported).
    let claude = value.as_ref().is_none_or(|v| {
        selfheal_harness::hook_input::harness_of(v) == selfheal_harness::Harness::ClaudeCode
    });
    let recorded = if claude { record(db, input) } else { Ok(()) };
    if let Err(e) = recorded {
        problems.insert(0, e);
    }
    if !problems.is_empty() {
        log(&format!(
            "error (db {}): {}",
            db.display(),
            problems.join("; ")
        ));
    }
    let ms = started.elapsed().as_millis();
    if ms > 1_000 {
        log(&format!("slow: recording the event took {ms} ms"));
    }
    guidance
}
