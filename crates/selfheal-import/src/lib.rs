//! Readers of other agents' histories into the run-history layout (`runs`, `run_events`,
//! `run_metrics`): Claude Code transcripts ([`claude`]), Codex CLI rollouts ([`codex`]),
//! Gemini CLI chats ([`gemini`]), SWE-agent and mini-swe-agent trajectories ([`swe`]),
//! OpenTelemetry GenAI spans in OTLP JSON ([`otel`]), and our own JSONL ([`jsonl`]); plus
//! the mapping of Claude Code hook events ([`hook`]).
//!
//! Each reader is pure (bytes in, [`model::Record`]s out, no IO), so it is tested with small
//! fixtures; [`import::Importer`] walks files, reads what is new in each, and hands the
//! records to the one [`writer::Writer`].
//!
//! # The event contract written (what the analysis reads)
//!
//! - `runs`: `id` = `<format>:<session id>` (JSONL: the `run` field as given);
//!   `workflow_name` = the project (last component of the working directory), else the
//!   agent; `task` = the first user prompt (200 characters, or ""); `status`
//!   `completed|failed|cancelled` (`running` only when the source says so: a hook's
//!   `SessionStart`); `model` (or `unknown`); `started_at` / `completed_at` RFC 3339 UTC with
//!   milliseconds; `duration_ms`; `metadata` =
//!   `{"agent", "source_format", "source_file", "cwd", "parent_run_id" (subagents),
//!   "subagent", "timestamps": "recorded"|"synthetic"}`.
//! - `run_events`, `step_index` = order in the run:
//!   - `tool_start` `{"type":"tool_start","name","call_id","arguments"}` (the input as JSON),
//!     at the instant the call was issued;
//!   - `tool_complete` `{"type":"tool_complete","name","call_id","result","is_error",
//!     "duration","duration_source":"recorded"|"timestamps"}` plus, only when the source
//!     records them, `error_type`, `exit_code`, `interrupted: true`, `status`; at the instant
//!     the result was recorded. `result` is the full text as recorded.
//!   - `iteration` `{"type":"iteration","tokens_in","tokens_out"}`, one per model turn.
//! - `run_metrics`: `total_tool_calls`, `successful_tool_calls`, `failed_tool_calls`,
//!   `total_iterations`, `total_tokens_in`, `total_tokens_out` (tokens only where recorded).
//!
//! Each reader's module documents its format's mapping. Import is idempotent (a call is
//! written once per run and call id), incremental (per-file offset and fingerprints), and
//! says what it skipped, with file and line.

pub mod claude;
pub mod codex;
pub mod copilot;
pub mod detect;
pub mod error;
pub mod gemini;
pub mod hook;
pub mod import;
pub mod jsonl;
pub mod lines;
pub mod model;
pub mod opencode;
pub mod otel;
pub mod sqlite_writer;
pub mod swe;
pub mod text;
pub mod writer;

pub use error::ImportError;
pub use import::{Importer, Options, Progress, Summary};
pub use model::Format;

/// Why a line or document that failed to parse was skipped.
pub(crate) fn json_skip_reason(e: &serde_json::Error, what: &str) -> String {
    match e.classify() {
        serde_json::error::Category::Eof => "truncated JSON".to_string(),
        serde_json::error::Category::Syntax => "malformed JSON".to_string(),
        serde_json::error::Category::Data => format!("not {what} ({e})"),
        serde_json::error::Category::Io => format!("unreadable ({e})"),
    }
}
