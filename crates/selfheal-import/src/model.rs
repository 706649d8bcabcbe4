//! The records every reader produces, whatever the source: facts about a run, the start and the
//! end of a tool call, an iteration (one model turn). The writer turns them into `runs`,
//! `run_events` and `run_metrics` rows; readers never touch the database.

use std::fmt;

/// A source format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    ClaudeCode,
    Codex,
    GeminiCli,
    /// Gemini CLI's JSONL sessions (0.61 and later).
    GeminiJsonl,
    CopilotCli,
    /// OpenCode's SQLite database.
    OpenCode,
    SweAgent,
    Otel,
    Jsonl,
}

impl Format {
    pub const ALL: [Format; 9] = [
        Format::ClaudeCode,
        Format::Codex,
        Format::GeminiCli,
        Format::GeminiJsonl,
        Format::CopilotCli,
        Format::OpenCode,
        Format::SweAgent,
        Format::Otel,
        Format::Jsonl,
    ];

    /// The name used on the command line, in run ids (`<format>:<session>`) and in
    /// `metadata.source_format`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::ClaudeCode => "claude-code",
            Format::Codex => "codex",
            Format::GeminiCli => "gemini-cli",
            Format::GeminiJsonl => "gemini-cli-jsonl",
            Format::CopilotCli => "copilot-cli",
            Format::OpenCode => "opencode",
            Format::SweAgent => "swe-agent",
            Format::Otel => "otel",
            Format::Jsonl => "jsonl",
        }
    }

    /// The harness that wrote it, as `metadata.source_format` names it (one name for both
    /// forms of Gemini CLI's chats).
    pub fn source_name(self) -> &'static str {
        match self {
            Format::GeminiJsonl => Format::GeminiCli.as_str(),
            f => f.as_str(),
        }
    }

    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Whether the file is read line by line (and so can be imported incrementally); the
    /// others are one JSON document, re-read whole when it changes.
    pub fn is_line_based(self) -> bool {
        matches!(
            self,
            Format::ClaudeCode
                | Format::Codex
                | Format::GeminiJsonl
                | Format::CopilotCli
                | Format::Otel
                | Format::Jsonl
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a run ended (or that it has not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<RunStatus> {
        match text.trim().to_ascii_lowercase().as_str() {
            "running" => Some(RunStatus::Running),
            "completed" | "complete" | "success" | "succeeded" | "ok" => Some(RunStatus::Completed),
            "failed" | "failure" | "error" => Some(RunStatus::Failed),
            "cancelled" | "canceled" | "interrupted" | "aborted" => Some(RunStatus::Cancelled),
            _ => None,
        }
    }
}

/// Token totals of a whole run so far, when the source keeps running totals (they replace the
/// sum of the iterations' usage).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenTotals {
    pub input: u64,
    pub output: u64,
}

/// Facts about a run. Every field is optional: the writer merges them (first task, last
/// model, last status, earliest and latest instant, ...).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunFacts {
    pub run_id: String,
    pub agent: Option<String>,
    pub cwd: Option<String>,
    /// An explicit workflow name (used when there is no cwd to take the project from).
    pub workflow: Option<String>,
    pub parent_run_id: Option<String>,
    pub subagent: Option<bool>,
    pub model: Option<String>,
    /// A candidate for the run's task (its first user prompt): kept only if none is known.
    pub task: Option<String>,
    pub status: Option<RunStatus>,
    /// Why the run failed, as recorded (API error text).
    pub error: Option<String>,
    /// An instant at which the run was active.
    pub at_ms: Option<i64>,
    pub tokens: Option<TokenTotals>,
    /// The source has no timestamps: the instants are synthesised.
    pub synthetic_time: bool,
    /// Who ran it, when the source says (telemetry's `team.id`, user and organisation):
    /// `team`, `user`, `organization` → value; written into the run's metadata.
    pub attribution: Vec<(&'static str, String)>,
}

impl RunFacts {
    pub fn new(run_id: impl Into<String>) -> RunFacts {
        RunFacts {
            run_id: run_id.into(),
            ..RunFacts::default()
        }
    }
}

/// A tool call was issued.
#[derive(Clone, Debug, PartialEq)]
pub struct CallStart {
    pub run_id: String,
    /// The source's call id; with the run id, the call's identity (a call seen twice, from a
    /// hook and from the transcript, is one call).
    pub call_id: String,
    pub tool: String,
    pub at_ms: Option<i64>,
    /// The call's input as JSON text (an object when the source has one).
    pub arguments: String,
}

/// A tool call's outcome was recorded.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CallEnd {
    pub run_id: String,
    pub call_id: String,
    /// The tool when the source repeats it (else the start's).
    pub tool: Option<String>,
    pub at_ms: Option<i64>,
    /// The full result (or error) text as recorded.
    pub result: String,
    pub is_error: bool,
    /// The duration the source measured; `None` derives it from the start and end instants.
    pub duration_ms: Option<i64>,
    pub error_type: Option<String>,
    pub exit_code: Option<i64>,
    pub interrupted: bool,
    /// The source's own status word, when it has one.
    pub status: Option<String>,
}

/// One model turn, with its token usage when recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Iteration {
    pub run_id: String,
    /// Identity of the turn within the run (message id, span id, ...).
    pub key: String,
    pub at_ms: Option<i64>,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Run(RunFacts),
    Start(CallStart),
    End(CallEnd),
    Iteration(Iteration),
}

/// A line (or document) that was not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    /// 1-based line number in the file (0 for a whole document).
    pub line: u64,
    pub reason: String,
}

/// What a reader produced from some input.
#[derive(Debug, Default)]
pub struct Output {
    pub records: Vec<Record>,
    pub skips: Vec<Skip>,
}

impl Output {
    pub fn push(&mut self, record: Record) {
        self.records.push(record);
    }

    pub fn skip(&mut self, line: u64, reason: impl Into<String>) {
        self.skips.push(Skip {
            line,
            reason: reason.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.skips.is_empty()
    }
}

/// What a reader knows about the file it reads (for ids and synthetic instants).
#[derive(Clone, Debug, Default)]
pub struct SourceFile {
    pub path: String,
    /// The file's modification time (Unix ms): the anchor of synthetic timestamps.
    pub mtime_ms: i64,
}

impl SourceFile {
    /// The file name without its directory and extension(s) (`a/b/x.traj.json` → `x`).
    pub fn stem(&self) -> &str {
        let name = self.path.rsplit(['/', '\\']).next().unwrap_or(&self.path);
        name.split('.').next().unwrap_or(name)
    }
}
