//! Lessons: mined from the history when an improvement is proposed, written where the agent's
//! harness reads them when it is applied, taken out again at rollback, and answered by the hook
//! at call time while in force.
//!
//! Mining reads, for the pattern's most recent failures ([`MAX_MINED`]), the calls that followed
//! each in its run (`SourceDb::run_events_around`, two indexed range reads) and lets
//! `selfheal_core::remedy` find what stood in for it. The lesson is scoped to the project the
//! failures happened in (the runs' recorded working directory) and to the harness that ran them
//! (`metadata.source_format`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use selfheal_core::arguments::fingerprint_raw;
use selfheal_core::event::{
    TOOL_START_EVENT_TYPE, is_tool_result_type, parse_tool_call, parse_tool_start,
};
use selfheal_core::pattern::Pattern;
use selfheal_core::remedy::{self, FailedCall, LaterCall, Lesson, Recovery, RecoveryCount};
use selfheal_core::shell::command_of;
use selfheal_core::time::Window;
use selfheal_harness::hook_input::{self, HookCall, Phase};
use selfheal_harness::{Harness, Scope, Target, block};
use serde::{Deserialize, Serialize};

use crate::harness_files::{self, FileChange, Planned};
use crate::{App, AppError};

/// Failures whose next calls are read, most recent first.
pub const MAX_MINED: u32 = 300;

/// A recovery as shown: its kind, the command head when it is one, and its counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RecoveryView {
    /// `command`, `retried`, `changed_arguments`, `prepared` or `unquotable_command`.
    pub kind: String,
    /// The command head (shell) or the preparing tool, in the strict grammar.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Failures it followed, and the sessions it did in.
    pub count: u64,
    pub runs: u64,
}

/// The evidence behind a lesson.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LessonEvidence {
    /// Failures of the pattern in the lesson's project (of the most recent ones read), and the
    /// sessions they were in.
    pub failures: u64,
    pub runs: u64,
    pub recoveries: Vec<RecoveryView>,
}

/// A lesson, where it applies, and where it goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LessonView {
    /// Statements of fact, each at most 300 characters, built from our own sentences; only
    /// bounded tokens (tool, program, command heads) come from the history.
    pub text: Vec<String>,
    pub heading: String,
    /// Recoveries counted but not quoted.
    pub omitted: u64,
    pub evidence: LessonEvidence,
    /// The harness that ran the failing sessions; `None` when the runs do not say.
    pub harness: Option<Harness>,
    /// The project (the runs' working directory) the lesson is about.
    pub project: Option<String>,
    pub scope: Scope,
    /// The folder its files are written under (the project, or the home for user scope);
    /// `None` when nothing can be targeted.
    pub root: Option<String>,
    /// Why the lesson has no target, or why it targets user scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One call of a run as the miner pairs it.
struct Call {
    event_id: i64,
    tool: String,
    arguments: Option<String>,
    succeeded: bool,
}

/// Pairs starts and results of one run's events (by call id, else the last open start of the
/// same tool).
fn calls_of(events: &[(i64, String, String)]) -> Vec<Call> {
    let mut open: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    let mut out = Vec::new();
    for (id, kind, data) in events {
        if kind == TOOL_START_EVENT_TYPE {
            if let Ok(s) = parse_tool_start(data) {
                open.push((
                    s.tool.into_owned(),
                    s.call_id.map(|c| c.into_owned()),
                    s.arguments.map(str::to_string),
                ));
            }
        } else if is_tool_result_type(kind)
            && let Ok(r) = parse_tool_call(data)
        {
            let at = match &r.call_id {
                Some(cid) => open
                    .iter()
                    .rposition(|o| o.1.as_deref() == Some(cid.as_str())),
                None => None,
            }
            .or_else(|| open.iter().rposition(|o| o.0 == r.tool));
            let start_args = at.map(|i| open.remove(i).2).unwrap_or_default();
            out.push(Call {
                event_id: *id,
                arguments: r.arguments.clone().or(start_args),
                succeeded: !r.is_error && r.exit_code.is_none_or(|c| c == 0),
                tool: r.tool,
            });
        }
    }
    out
}

fn recovery_view(r: &RecoveryCount) -> RecoveryView {
    let (kind, command) = match &r.recovery {
        Recovery::Retried => ("retried", None),
        Recovery::Command(h) => ("command", Some(h.clone())),
        Recovery::UnquotableCommand => ("unquotable_command", None),
        Recovery::ChangedArguments => ("changed_arguments", None),
        Recovery::Prepared(t) => ("prepared", Some(t.clone())),
    };
    RecoveryView {
        kind: kind.into(),
        command,
        count: r.count,
        runs: r.runs,
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

impl App {
    /// Mines the lesson of `pattern` from its failures within `w` (see the module docs).
    pub(crate) fn mine_lesson(
        &self,
        pattern: &Pattern,
        w: Window,
    ) -> Result<(LessonView, Vec<Target>), AppError> {
        let started = std::time::Instant::now();
        let store = self.store()?;
        let failures = store.read(|r| match r.pattern_key(&pattern.id)? {
            Some(key) => r.pattern_failure_events(key, w, MAX_MINED),
            None => Ok(Vec::new()),
        })?;
        let mut ids: Vec<String> = failures.iter().map(|(_, run)| run.clone()).collect();
        ids.sort();
        ids.dedup();
        let runs = store.with_source(|s| s.runs_by_id(&ids))?;
        let meta: HashMap<String, (Option<String>, Option<String>)> = runs
            .into_iter()
            .map(|r| {
                let m = r
                    .metadata
                    .as_deref()
                    .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok());
                let field = |k: &str| {
                    m.as_ref()
                        .and_then(|m| m.get(k))
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                };
                (r.id, (field("cwd"), field("source_format")))
            })
            .collect();
        // The project with the most failures.
        let mut by_project: HashMap<&str, u64> = HashMap::new();
        for (_, run) in &failures {
            if let Some((Some(cwd), _)) = meta.get(run) {
                *by_project.entry(cwd.as_str()).or_default() += 1;
            }
        }
        let project = by_project
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(p, _)| p.to_string());
        let in_scope: Vec<&(i64, String)> = failures
            .iter()
            .filter(|(_, run)| meta.get(run).and_then(|m| m.0.as_deref()) == project.as_deref())
            .collect();
        let mut formats: HashMap<&str, u64> = HashMap::new();
        for (_, run) in &in_scope {
            if let Some((_, Some(f))) = meta.get(run) {
                *formats.entry(f.as_str()).or_default() += 1;
            }
        }
        let harness = formats
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .and_then(|(f, _)| Harness::of_source_format(f));
        // What followed each failure.
        let found = store.with_source(|s| {
            let mut found = Vec::new();
            s.read_together(&mut |s| {
                for (event_id, run) in &in_scope {
                    let events =
                        s.run_events_around(run, *event_id, 4, 2 * remedy::LOOKAHEAD as i64 + 4)?;
                    let calls = calls_of(&events);
                    let Some(at) = calls.iter().position(|c| c.event_id == *event_id) else {
                        continue;
                    };
                    let failed = &calls[at];
                    let f = FailedCall {
                        tool: &failed.tool,
                        program: pattern.program.as_deref(),
                        fingerprint: failed.arguments.as_deref().and_then(fingerprint_raw),
                    };
                    let commands: Vec<Option<String>> = calls[at + 1..]
                        .iter()
                        .map(|c| {
                            c.arguments
                                .as_deref()
                                .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
                                .and_then(|v| command_of(&v))
                        })
                        .collect();
                    let later: Vec<LaterCall<'_>> = calls[at + 1..]
                        .iter()
                        .zip(&commands)
                        .map(|(c, command)| LaterCall {
                            tool: &c.tool,
                            command: command.as_deref(),
                            fingerprint: c.arguments.as_deref().and_then(fingerprint_raw),
                            succeeded: c.succeeded,
                        })
                        .collect();
                    if let Some(r) = remedy::recovery(&f, &later) {
                        found.push((run.clone(), r));
                    }
                }
                Ok(())
            })?;
            Ok(found)
        })?;
        let recoveries = remedy::tally(found);
        tracing::debug!(
            pattern = %pattern.id,
            failures_read = in_scope.len(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "recoveries mined"
        );
        let class = pattern.classification.class;
        let mut session_ids: Vec<&str> = in_scope.iter().map(|(_, r)| r.as_str()).collect();
        session_ids.sort_unstable();
        session_ids.dedup();
        let Lesson { text, omitted } = remedy::lesson(&remedy::LessonFacts {
            class,
            tool: &pattern.tool_name,
            program: pattern.program.as_deref(),
            failures: in_scope.len() as u64,
            runs: session_ids.len() as u64,
            recoveries: &recoveries,
        });
        let (root, scope, note) = match (&project, harness) {
            (_, None) => (None, Scope::Project, Some("the failing runs do not say which harness ran them (Claude Code, Codex or Gemini CLI): no file is targeted".to_string())),
            (Some(p), Some(_)) if Path::new(p).is_dir() => (Some(PathBuf::from(p)), Scope::Project, None),
            (p, Some(_)) => (
                home(),
                Scope::User,
                Some(match p {
                    Some(p) => format!("the project directory {} does not exist here; the lesson targets user scope", crate::sanitize::echo(p)),
                    None => "the failing runs record no working directory; the lesson targets user scope".into(),
                }),
            ),
        };
        let targets = match (harness, &root) {
            (Some(h), Some(root)) => selfheal_harness::targets(h, root, scope),
            _ => Vec::new(),
        };
        Ok((
            LessonView {
                text,
                heading: remedy::heading(class, &pattern.tool_name, pattern.program.as_deref()),
                omitted,
                evidence: LessonEvidence {
                    failures: in_scope.len() as u64,
                    runs: session_ids.len() as u64,
                    recoveries: recoveries.iter().take(5).map(recovery_view).collect(),
                },
                harness,
                project,
                scope,
                root: root.as_ref().map(|r| r.display().to_string()),
                note,
            },
            targets,
        ))
    }
}

/// The root targets are written under, from a stored lesson.
pub(crate) fn lesson_root(row: &selfheal_store::lifecycle::LessonRow) -> PathBuf {
    PathBuf::from(&row.root)
}

/// The instruction-file write of a stored lesson (a preview; nothing written).
pub(crate) fn plan_apply(
    row: &selfheal_store::lifecycle::LessonRow,
) -> Result<Vec<Planned>, AppError> {
    let Some(harness) = Harness::parse(&row.harness) else {
        return Ok(Vec::new());
    };
    let lesson: LessonView = serde_json::from_str(&row.lesson).map_err(|e| {
        AppError::Internal(format!(
            "stored lesson of {} unreadable: {e}",
            row.improvement_id
        ))
    })?;
    let scope = if row.scope == "user" {
        Scope::User
    } else {
        Scope::Project
    };
    let root = lesson_root(row);
    let path = selfheal_harness::instructions_path(harness, &root, scope);
    let before = harness_files::read_target(&root, &path)?;
    let own = selfheal_harness::owns_instructions_file(harness);
    let text = block::render(&row.improvement_id, &lesson.heading, &lesson.text);
    let (after, inserted) = block::insert(
        before.as_deref(),
        &row.improvement_id,
        &text,
        own,
        &path.display().to_string(),
    )
    .map_err(|e| AppError::Conflict(e.to_string()))?;
    Ok(vec![harness_files::plan(
        &path,
        "instructions",
        before.as_deref(),
        Some(after),
        inserted,
    )])
}

/// The writes that take a lesson's blocks out again (a preview).
pub(crate) fn plan_rollback(
    row: &selfheal_store::lifecycle::LessonRow,
    force: bool,
) -> Result<Vec<Planned>, AppError> {
    let Some(changes) = row.changes.as_deref() else {
        return Ok(Vec::new());
    };
    let changes: Vec<FileChange> = serde_json::from_str(changes).map_err(|e| {
        AppError::Internal(format!(
            "stored changes of {} unreadable: {e}",
            row.improvement_id
        ))
    })?;
    let harness = Harness::parse(&row.harness);
    let root = lesson_root(row);
    let mut out = Vec::new();
    for c in changes
        .iter()
        .filter(|c| c.kind == "instructions" && !c.inserted.is_empty())
    {
        let path = PathBuf::from(&c.path);
        let Some(current) = harness_files::read_target(&root, &path)? else {
            continue;
        };
        let own = harness.is_some_and(selfheal_harness::owns_instructions_file);
        let after = block::remove(
            &current,
            &row.improvement_id,
            &c.inserted,
            c.sha256_before.is_none(),
            own,
            force,
            &c.path,
        )
        .map_err(|e| AppError::Conflict(e.to_string()))?;
        out.push(harness_files::plan(
            &path,
            "instructions",
            Some(&current),
            after,
            String::new(),
        ));
    }
    Ok(out)
}

/// Writes planned files in order (old bytes backed up into `backups`); on a failure, undoes
/// the ones already written.
pub(crate) fn write_all(plans: &[Planned], backups: &Path) -> Result<Vec<FileChange>, AppError> {
    let mut done: Vec<FileChange> = Vec::new();
    for p in plans {
        match harness_files::write(p, backups) {
            Ok(c) => done.push(c),
            Err(e) => {
                for c in done.iter().rev() {
                    if let Err(undo) = undo(c) {
                        tracing::error!(error = %undo, path = %c.path, "could not undo a lesson write");
                    }
                }
                return Err(e);
            }
        }
    }
    Ok(done)
}

/// Restores one written file from its backup (or removes a file we created).
fn undo(c: &FileChange) -> Result<(), AppError> {
    let path = Path::new(&c.path);
    match &c.backup_path {
        Some(b) => {
            let bytes =
                std::fs::read(b).map_err(|e| AppError::Storage(format!("cannot read {b}: {e}")))?;
            crate::config_edit::atomic_write(path, &bytes, None).map_err(AppError::from)
        }
        None => std::fs::remove_file(path)
            .map_err(|e| AppError::Storage(format!("cannot remove {}: {e}", c.path))),
    }
}

/// Characters of guidance a hook answers at most.
const MAX_GUIDANCE: usize = 1_500;

/// The hook's answer to one harness event (`v`: the JSON it wrote on the hook's stdin,
/// read by `selfheal_harness::hook_input`): the lessons in force that match the call — its
/// project (the event's `cwd` at or under the lesson's), its tool, and for shell tools its
/// program — as `additionalContext` in the shape the harness reads, or `None` (print
/// nothing). Before a call, or after one that failed (the harness said so, or its exit code
/// is not 0); never after a call that went well.
pub fn hook_guidance(db: &Path, v: &serde_json::Value) -> Result<Option<String>, String> {
    // Before a call, or after one that failed; a call that went well needs no lesson.
    let calls: Vec<HookCall> = hook_input::calls(v)
        .into_iter()
        .filter(|c| c.phase == Phase::Before || c.failed())
        .collect();
    let Some(first) = calls.first() else {
        return Ok(None);
    };
    let lessons = match selfheal_store::Database::parse(&db.to_string_lossy()) {
        // A team's history: the lessons the team verified, from the shared store.
        selfheal_store::Database::Postgres(url) => {
            selfheal_postgres::lifecycle::active_lessons(&url).map_err(|e| e.to_string())?
        }
        selfheal_store::Database::Sqlite(path) => {
            if !path.exists() {
                // No history yet (nothing imported, no lifecycle): no lesson is in force.
                return Ok(None);
            }
            let conn = rusqlite::Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            let _ = conn.busy_timeout(std::time::Duration::from_millis(500));
            selfheal_store::lifecycle::active_lessons(&conn)
                .map_err(|e| format!("cannot read lessons: {e}"))?
        }
    };
    let mut text = String::new();
    for call in &calls {
        let shell = selfheal_core::shell::is_shell_tool(&call.tool);
        let programs = if shell {
            command_of(&call.tool_input)
                .as_deref()
                .map(selfheal_core::shell::programs)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        for l in &lessons {
            let same_tool =
                l.tool == call.tool || (shell && selfheal_core::shell::is_shell_tool(&l.tool));
            let in_project = l.project.as_deref().is_none_or(|p| {
                call.cwd == p
                    || call
                        .cwd
                        .starts_with(&format!("{}/", p.trim_end_matches('/')))
            });
            let program = l
                .program
                .as_deref()
                .is_none_or(|p| programs.iter().any(|q| q == p));
            if !(same_tool && in_project && program) {
                continue;
            }
            let Ok(lesson) = serde_json::from_str::<LessonView>(&l.lesson) else {
                continue;
            };
            if text.is_empty() {
                text.push_str("self-healing-mcp, from this project's recorded agent history (facts, with counts):");
            }
            for s in &lesson.text {
                if text.len() + s.len() + 1 > MAX_GUIDANCE || text.contains(s.as_str()) {
                    continue;
                }
                text.push(' ');
                text.push_str(s);
            }
        }
    }
    if text.is_empty() {
        return Ok(None);
    }
    Ok(Some(hook_input::answer(first, &text)))
}
