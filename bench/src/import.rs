//! `selfheal-import-bench`: import throughput, memory and hook latency, measured on real
//! agent traces replicated under a scratch folder (never into the repository).
//!
//! Usage: `cargo build --release -p selfheal-cli -p selfheal-bench &&
//! target/release/selfheal-import-bench [--source DIR] [--mb 1000] [--hook-events 1000000]`
//!
//! 0. Imports each folder of the traces into its own database and prints runs, calls and
//!    failed calls beside the counts of the traces' README.
//! 1. Replicates the traces of `--source` (default `shared/data/agent-traces` beside the
//!    checkout or a parent of it) until the copy holds `--mb` MB, giving each copy its own session ids (the
//!    first 8 hex digits of every UUID, and SWE-agent instance ids, are rewritten).
//! 2. Imports the copy with `self-heal import` into a new database: MB/s and peak RSS.
//! 3. Imports it again: rows added (must be 0) and time.
//! 4. Imports half of a transcript, appends the rest, imports again: the calls added must be
//!    those of the appended half (checked against a one-shot import of the whole file).
//! 5. Builds a synthetic history of `--hook-events` events and times `self-heal hook` (one
//!    process per event, PreToolUse/PostToolUse pairs): p50/p95/max latency, with the file in
//!    rollback-journal mode and then in WAL mode.
//! 6. Per reader, MB/s on the same machine in the same run (`--reader-mb` MB each): the
//!    sessions the real harnesses wrote in the drift check (`tests/data/<harness>-<version>/`)
//!    lengthened to the traces' mean session size and replicated with fresh session ids — Codex
//!    rollouts, Gemini CLI JSONL sessions, Copilot CLI event logs, and one OpenCode database
//!    grown to that size — against the Claude Code transcripts of the traces, replicated the
//!    same way.
//!
//! Files are flushed (`sync`) before each timed step, and the load average is printed: on a
//! shared machine, other work moves the wall-clock numbers; the CPU time does not.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Import throughput, memory and hook latency on replicated real traces")]
struct Args {
    /// Folder of real traces (the development set)
    #[arg(long)]
    source: Option<PathBuf>,
    /// Size of the replicated folder, in MB
    #[arg(long, default_value_t = 1000)]
    mb: u64,
    /// Scratch folder (default: a new temporary folder)
    #[arg(long)]
    work: Option<PathBuf>,
    /// Events in the history the hook writes into
    #[arg(long, default_value_t = 1_000_000)]
    hook_events: u64,
    /// Hook invocations timed
    #[arg(long, default_value_t = 400)]
    hook_calls: usize,
    /// Size of each reader's replicated input (step 6), in MB
    #[arg(long, default_value_t = 200)]
    reader_mb: u64,
    /// Only step 6 (the readers' throughput)
    #[arg(long)]
    readers_only: bool,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The `self-heal` binary beside this one.
fn self_heal() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name("self-heal");
    if !path.exists() {
        bail!(
            "{} not found: build it first (cargo build --release -p selfheal-cli)",
            path.display()
        );
    }
    Ok(path)
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// Rewrites the first 8 hex digits of every UUID in `data` to `prefix`.
fn rewrite_uuids(data: &[u8], prefix: &[u8; 8]) -> Vec<u8> {
    const SHAPE: [usize; 5] = [8, 4, 4, 4, 12];
    let mut out = data.to_vec();
    let mut i = 0;
    while i + 36 <= out.len() {
        let mut pos = i;
        let mut ok = true;
        for (g, len) in SHAPE.iter().enumerate() {
            if !out[pos..pos + len].iter().all(|b| is_hex(*b)) {
                ok = false;
                break;
            }
            pos += len;
            if g < 4 {
                if out[pos] != b'-' {
                    ok = false;
                    break;
                }
                pos += 1;
            }
        }
        if ok && (i == 0 || !is_hex(out[i - 1])) {
            out[i..i + 8].copy_from_slice(prefix);
            i += 36;
        } else {
            i += 1;
        }
    }
    out
}

fn trace_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            trace_files(&p, out)?;
        } else if p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .is_some_and(|n| {
                (n.ends_with(".jsonl") || n.ends_with(".json") || n.ends_with(".traj"))
                    && n != "MANIFEST.json"
            })
        {
            out.push(p);
        }
    }
    Ok(())
}

/// Copies the traces until `bytes` are written; returns (copies, bytes).
fn replicate(source: &Path, dest: &Path, bytes: u64) -> anyhow::Result<(u64, u64)> {
    let mut files = Vec::new();
    trace_files(source, &mut files)?;
    if files.is_empty() {
        bail!("no traces under {}", source.display());
    }
    let originals: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|f| Ok((f.strip_prefix(source)?.to_path_buf(), std::fs::read(f)?)))
        .collect::<anyhow::Result<_>>()?;
    let (mut total, mut copy) = (0u64, 0u64);
    while total < bytes {
        let prefix: [u8; 8] = {
            let s = format!("{copy:08x}");
            let mut p = [b'0'; 8];
            p.copy_from_slice(&s.as_bytes()[..8]);
            p
        };
        for (rel, data) in &originals {
            let mut data = rewrite_uuids(data, &prefix);
            let marker = format!("\"instance_id\": \"c{copy}-");
            let text = String::from_utf8_lossy(&data).replace("\"instance_id\": \"", &marker);
            data = text.into_bytes();
            let path = dest.join(format!("copy{copy:04}")).join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, &data)?;
            total += data.len() as u64;
        }
        copy += 1;
    }
    Ok((copy, total))
}

/// Flushes written files to disk (so that the timing that follows does not pay for them).
fn sync() {
    let _ = Command::new("sync").status();
}

/// The 1-minute load average (other work on a shared machine skews timings).
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "n/a".into())
}

/// What `/usr/bin/time -v` reported: peak RSS (KiB) and CPU seconds (user + system).
#[derive(Default)]
struct Usage {
    rss_kb: Option<u64>,
    cpu_s: Option<f64>,
}

fn usage(stderr: &str) -> Usage {
    let field = |name: &str| {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    Usage {
        rss_kb: field("Maximum resident set size (kbytes):").map(|v| v as u64),
        cpu_s: field("User time (seconds):")
            .zip(field("System time (seconds):"))
            .map(|(u, s)| u + s),
    }
}

/// Runs `self-heal import --json` under `/usr/bin/time -v` when available (peak RSS, CPU).
fn import(db: &Path, paths: &[&Path]) -> anyhow::Result<(serde_json::Value, f64, Usage)> {
    let exe = self_heal()?;
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-v").arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    cmd.arg("import")
        .arg("--json")
        .arg("--db")
        .arg(db)
        .args(paths);
    let started = Instant::now();
    let out = cmd.output()?;
    let secs = started.elapsed().as_secs_f64();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "self-heal import printed no summary: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok((summary, secs, usage(&String::from_utf8_lossy(&out.stderr))))
}

fn n(v: &serde_json::Value, key: &str) -> u64 {
    v.get(key).and_then(serde_json::Value::as_u64).unwrap_or(0)
}

/// The (runs, tool calls, failed) the traces' README counts per folder, when it has a table.
fn readme_counts(source: &Path) -> std::collections::HashMap<String, [u64; 3]> {
    let text = std::fs::read_to_string(source.join("README.md")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let folder = cells.get(1)?.trim_matches('`').trim_end_matches('/');
            let n = |i: usize| cells.get(cells.len().checked_sub(i)?)?.parse::<u64>().ok();
            Some((folder.to_string(), [n(4)?, n(3)?, n(2)?]))
        })
        .collect()
}

/// Imports each folder of the traces on its own and compares with the README's counts.
fn per_folder(source: &Path, work: &Path) -> anyhow::Result<()> {
    let expected = readme_counts(source);
    let mut folders: Vec<PathBuf> = std::fs::read_dir(source)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    println!(
        "| folder | runs | calls started | calls completed | failed | README runs / calls / failed |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    for folder in folders {
        let name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let db = work.join(format!("folder-{name}.db"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        import(&db, &[&folder])?;
        let conn = rusqlite::Connection::open(&db)?;
        let q = |sql: &str| -> anyhow::Result<i64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
        let runs = q("SELECT count(*) FROM runs")?;
        let started = q("SELECT count(*) FROM run_events WHERE event_type = 'tool_start'")?;
        let completed = q("SELECT count(*) FROM run_events WHERE event_type = 'tool_complete'")?;
        let failed = q(
            "SELECT count(*) FROM run_events WHERE event_type = 'tool_complete' AND json_extract(event_data, '$.is_error')",
        )?;
        let readme = expected
            .get(&name)
            .map_or("-".to_string(), |[r, c, f]| format!("{r} / {c} / {f}"));
        println!("| {name} | {runs} | {started} | {completed} | {failed} | {readme} |");
    }
    Ok(())
}

fn append_check(source: &Path, work: &Path) -> anyhow::Result<()> {
    let mut files = Vec::new();
    trace_files(&source.join("claude-code"), &mut files)?;
    let Some(biggest) = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "jsonl"))
        .max_by_key(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
    else {
        bail!("no Claude Code transcript to append to");
    };
    let text = std::fs::read(biggest)?;
    let lines: Vec<&[u8]> = text.split_inclusive(|b| *b == b'\n').collect();
    let half = lines.len() / 2;
    let dir = work.join("append");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(work.join("whole"));
    for db in ["append.db", "whole.db"] {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(work.join(format!("{db}{suffix}")));
        }
    }
    std::fs::create_dir_all(&dir)?;
    let grown = dir.join("session.jsonl");
    std::fs::write(&grown, lines[..half].concat())?;
    let db = work.join("append.db");
    let (first, _, _) = import(&db, &[&grown])?;
    let mut f = std::fs::OpenOptions::new().append(true).open(&grown)?;
    f.write_all(&lines[half..].concat())?;
    drop(f);
    let (second, _, _) = import(&db, &[&grown])?;
    let whole_dir = work.join("whole");
    std::fs::create_dir_all(&whole_dir)?;
    let whole = whole_dir.join("session.jsonl");
    std::fs::write(&whole, &text)?;
    let (once, _, _) = import(&work.join("whole.db"), &[&whole])?;
    let (a, b, all) = (
        n(&first, "calls_added"),
        n(&second, "calls_added"),
        n(&once, "calls_added"),
    );
    println!(
        "append: {} lines, then {} more: calls added {a} then {b}; one-shot import {all} — {}",
        half,
        lines.len() - half,
        if a + b == all && b > 0 {
            "only the new calls were imported"
        } else {
            "MISMATCH"
        }
    );
    Ok(())
}

/// Times the hook on a synthetic history of `events` events, in the journal mode the
/// generator leaves (rollback, as an agent's own file may be) and in WAL (the mode of a
/// database the importer or the hook creates).
fn hook_latency(work: &Path, events: u64, calls: usize) -> anyhow::Result<()> {
    let db = work.join("hook.db");
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let mut conn = rusqlite::Connection::open(&db)?;
    let mut cfg = selfheal_synth::SynthConfig::demo(chrono::Utc::now());
    cfg.target_events = events;
    selfheal_synth::generate(&mut conn, &cfg)?;
    drop(conn);
    spawn_baseline(calls)?;
    hook_round(work, &db, calls, 0)?;
    let conn = rusqlite::Connection::open(&db)?;
    let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    drop(conn);
    hook_round(work, &db, calls, calls)?;
    Ok(())
}

/// What starting a process costs here and now: `self-heal --version`, timed like the hook.
fn spawn_baseline(calls: usize) -> anyhow::Result<()> {
    let exe = self_heal()?;
    let mut ms = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        Command::new(&exe)
            .arg("--version")
            .stdout(Stdio::null())
            .status()?;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "baseline: starting `self-heal --version`: p50 {:.1} ms, p95 {:.1} ms (load average {})",
        q(0.5),
        q(0.95),
        load()
    );
    Ok(())
}

fn hook_round(work: &Path, db: &Path, calls: usize, first: usize) -> anyhow::Result<()> {
    sync();
    let conn = rusqlite::Connection::open(db)?;
    let have: i64 = conn.query_row("SELECT count(*) FROM run_events", [], |r| r.get(0))?;
    let journal: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    drop(conn);
    let before = load();
    let exe = self_heal()?;
    let mut ms = Vec::with_capacity(calls);
    for i in first..first + calls {
        let event = serde_json::json!({
            "session_id": format!("bench-{}", i / 20),
            "transcript_path": "/tmp/none.jsonl",
            "cwd": "/w/app",
            "hook_event_name": if i % 2 == 0 { "PreToolUse" } else { "PostToolUse" },
            "permission_mode": "default",
            "tool_name": "Bash",
            "tool_input": {"command": "cargo test"},
            "tool_use_id": format!("toolu_{}", i / 2),
            "tool_response": {"stdout": "test result: ok. 12 passed\n".repeat(20), "stderr": "", "interrupted": false}
        });
        let started = Instant::now();
        let mut child = Command::new(&exe)
            .arg("hook")
            .env("DATABASE_PATH", db)
            .env("SELFHEAL_HOOK_LOG", work.join("hook.log"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(event.to_string().as_bytes())?;
        }
        let out = child.wait_with_output()?;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        if !out.status.success() || !out.stdout.is_empty() {
            bail!("the hook exited with {} or printed on stdout", out.status);
        }
    }
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    let written: i64 = rusqlite::Connection::open(db)?.query_row(
        "SELECT count(*) FROM run_events WHERE run_id LIKE 'claude-code:bench-%'",
        [],
        |r| r.get(0),
    )?;
    println!(
        "hook: {calls} events into a {have}-event history ({journal} journal), whole process per event: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms (load average {before} before); {written} bench events in the file",
        q(0.5),
        q(0.95),
        q(1.0)
    );
    Ok(())
}

/// Grows a copy of an OpenCode database to about `bytes`: the sessions, messages and parts
/// of the original inserted again under new ids, until the file is that large.
fn grow_opencode(original: &Path, dest: &Path, bytes: u64) -> anyhow::Result<u64> {
    let _ = std::fs::remove_file(dest);
    std::fs::copy(original, dest)?;
    let conn = rusqlite::Connection::open(dest)?;
    conn.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF;")?;
    // The original rows, kept aside once (copying from the growing tables would rescan them).
    conn.execute_batch(
        "CREATE TEMP TABLE s0 AS SELECT * FROM session;
         CREATE TEMP TABLE m0 AS SELECT * FROM message;
         CREATE TEMP TABLE p0 AS SELECT * FROM part;",
    )?;
    let mut copy = 0u64;
    while std::fs::metadata(dest)?.len() < bytes {
        let tx = conn.unchecked_transaction()?;
        for _ in 0..200 {
            let tag = format!("c{copy}_");
            tx.execute(
                "INSERT INTO session SELECT ?1 || id, project_id, workspace_id, parent_id, slug, directory, path, title, version, share_url, summary_additions, summary_deletions, summary_files, summary_diffs, metadata, cost, tokens_input, tokens_output, tokens_reasoning, tokens_cache_read, tokens_cache_write, revert, permission, agent, model, time_created, time_updated, time_compacting, time_archived FROM s0",
                [&tag],
            )?;
            tx.execute(
                "INSERT INTO message SELECT ?1 || id, ?1 || session_id, time_created, time_updated, data FROM m0",
                [&tag],
            )?;
            tx.execute(
                "INSERT INTO part SELECT ?1 || id, ?1 || message_id, ?1 || session_id, time_created, time_updated, data FROM p0",
                [&tag],
            )?;
            copy += 1;
        }
        tx.commit()?;
    }
    Ok(std::fs::metadata(dest)?.len())
}

/// Mean size of a Claude Code session file in the traces: what the replicated sessions of the
/// other harnesses are lengthened to, so that MB/s measures the readers, not file counts.
const SESSION_BYTES: usize = 160_000;

/// A session file of a line format lengthened to about `target` bytes: its first line (the
/// session's header) once, then its other lines again and again, each repetition with fresh
/// ids (UUIDs, `call_…` call ids, Gemini's `<tool>_<ms>_<n>` call ids), as a longer session of
/// the same harness would be.
fn lengthen(text: &[u8], target: usize) -> Vec<u8> {
    let split = text
        .iter()
        .position(|b| *b == b'\n')
        .map_or(text.len(), |i| i + 1);
    let (head, body) = text.split_at(split);
    let mut out = head.to_vec();
    let mut k = 0u32;
    while out.len() < target && !body.is_empty() {
        let prefix: [u8; 8] = {
            let mut p = [b'0'; 8];
            p.copy_from_slice(format!("{:08x}", 0xabc0_0000u32 + k).as_bytes());
            p
        };
        let fresh = String::from_utf8_lossy(&rewrite_uuids(body, &prefix))
            .replace(":\"call_", &format!(":\"call_k{k}_"))
            .replace("_17966", &format!("_k{k}x17966"));
        out.extend_from_slice(fresh.as_bytes());
        k += 1;
    }
    out
}

/// Lengthens every session file under `dir` (in place) to about [`SESSION_BYTES`].
fn lengthen_all(dir: &Path) -> anyhow::Result<u64> {
    let mut files = Vec::new();
    trace_files(dir, &mut files)?;
    let mut total = 0;
    for f in files {
        let data = std::fs::read(&f)?;
        let data = if f.extension().is_some_and(|e| e == "jsonl") {
            lengthen(&data, SESSION_BYTES)
        } else {
            data
        };
        std::fs::write(&f, &data)?;
        total += data.len() as u64;
    }
    Ok(total)
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)?.flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_tree(&p, &dest)?;
        } else {
            std::fs::copy(&p, &dest)?;
        }
    }
    Ok(())
}

/// Step 6: each reader's MB/s on its harness's real sessions, replicated.
fn readers(source: &Path, work: &Path, mb: u64) -> anyhow::Result<()> {
    let data = workspace_root().join("tests/data");
    let bytes = mb * 1_000_000;
    let mut inputs: Vec<(&str, PathBuf, u64)> = Vec::new();
    let claude = work.join("readers/claude-code");
    let (_, b) = replicate(&source.join("claude-code"), &claude, bytes)?;
    inputs.push(("claude-code (traces)", claude, b));
    for (name, rel) in [
        ("codex 0.169.0", "codex-0.169.0/sessions"),
        ("gemini-cli 0.61.0 (JSONL)", "gemini-cli-0.61.0/tmp"),
        ("copilot-cli 1.0.102", "copilot-1.0.102/session-state"),
    ] {
        let dest = work
            .join("readers")
            .join(name.split(' ').next().unwrap_or(name));
        let lengthened = work.join("readers/sessions").join(rel);
        let _ = std::fs::remove_dir_all(&lengthened);
        copy_tree(&data.join(rel), &lengthened)?;
        lengthen_all(&lengthened)?;
        let (_, b) = replicate(&lengthened, &dest, bytes)?;
        inputs.push((name, dest, b));
    }
    let oc = work.join("readers/opencode.db");
    let b = grow_opencode(&data.join("opencode-1.18.33/opencode.db"), &oc, bytes)?;
    inputs.push(("opencode 1.18.33 (SQLite)", oc, b));
    println!("| reader | input | runs | calls | time | MB/s | µs per call |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, path, b) in inputs {
        let db = work.join(format!(
            "reader-{}.db",
            name.split(' ').next().unwrap_or(name)
        ));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        sync();
        let (summary, secs, _) = import(&db, &[&path])?;
        if let Some(e) = summary["errors"].as_array().filter(|e| !e.is_empty()) {
            bail!("{name}: import errors {e:?}");
        }
        let calls = n(&summary, "calls_added");
        println!(
            "| {name} | {:.0} MB | {} | {calls} | {secs:.2} s | {:.0} | {:.0} |",
            b as f64 / 1e6,
            n(&summary, "runs_new"),
            b as f64 / 1e6 / secs,
            secs * 1e6 / calls.max(1) as f64
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The development set sits in `shared/data/agent-traces` beside the checkout (or one
    // of its parents, for a worktree).
    let source = args.source.clone().unwrap_or_else(|| {
        workspace_root()
            .ancestors()
            .skip(1)
            .map(|a| a.join("shared/data/agent-traces"))
            .find(|p| p.is_dir())
            .unwrap_or_else(|| workspace_root().join("../shared/data/agent-traces"))
    });
    if !source.is_dir() {
        bail!(
            "the traces folder {} is absent: pass --source DIR (the development set of real agent traces)",
            source.display()
        );
    }
    let work = match &args.work {
        Some(w) => w.clone(),
        None => tempfile::Builder::new()
            .prefix("selfheal-import-bench-")
            .tempdir()?
            .keep(),
    };
    std::fs::create_dir_all(&work)?;
    println!(
        "machine: {} cores; traces: {}; scratch: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        source.display(),
        work.display()
    );
    if args.readers_only {
        return readers(&source, &work, args.reader_mb);
    }
    per_folder(&source, &work)?;
    let copy = work.join("traces");
    let (copies, bytes) = if copy.is_dir() {
        let mut files = Vec::new();
        trace_files(&copy, &mut files)?;
        let bytes = files
            .iter()
            .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
            .sum();
        (0, bytes)
    } else {
        replicate(&source, &copy, args.mb * 1_000_000)?
    };
    println!(
        "replicated: {:.0} MB ({} copies of the traces)",
        bytes as f64 / 1e6,
        copies
    );
    let db = work.join("import.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    sync();
    let before = load();
    let (first, secs, used) = import(&db, &[&copy])?;
    let read = n(&first, "bytes_read") as f64;
    println!(
        "import: {:.0} MB in {:.2} s = {:.0} MB/s (CPU {} s = {} MB/s of CPU; load average {before} before, {} after); peak RSS {}; {} runs, {} calls ({} failed), {} events",
        read / 1e6,
        secs,
        read / 1e6 / secs,
        used.cpu_s.map_or("n/a".into(), |c| format!("{c:.2}")),
        used.cpu_s
            .map_or("n/a".into(), |c| format!("{:.0}", read / 1e6 / c)),
        load(),
        used.rss_kb
            .map_or("n/a".into(), |kb| format!("{:.0} MiB", kb as f64 / 1024.0)),
        n(&first, "runs_new"),
        n(&first, "calls_added"),
        n(&first, "failed_calls_added"),
        n(&first, "events_added"),
    );
    let (again, secs, _) = import(&db, &[&copy])?;
    println!(
        "import again: {} events added, {} files unchanged, in {:.2} s",
        n(&again, "events_added"),
        again["files"]["unchanged"].as_u64().unwrap_or(0),
        secs
    );
    append_check(&source, &work)?;
    hook_latency(&work, args.hook_events, args.hook_calls)?;
    readers(&source, &work, args.reader_mb)
}
