//! The `real` profile: histories shaped like the ones real agents write.
//!
//! Nine agents (Claude Code, Codex CLI, Gemini CLI, SWE-agent and five workflow agents writing
//! the Binks layout) call 55 tools, six of them shell tools running 24 programs (`git`,
//! `pytest`, `npm`, `docker`, `cargo`, `kubectl`, …, given as `bash -lc` arrays for Codex's
//! `shell`). Failures are causes — a class × a tool (× the program, for shell tools) — a few
//! hundred of them, with Zipf-like rates, steady, new and resolved profiles and incidents (a
//! class hitting related tools for a few hours). Their messages are long and varied
//! (tracebacks, test logs, build output with the error line somewhere inside; envelopes per
//! harness), and the same cause is recorded with its specific `error_type` in some runs, with
//! the generic `tool_error` in others, and without any in most. Agents repeat failed calls
//! with the same arguments (volatile parts aside: request ids, attempt counters, timestamps,
//! key order), some repeats succeed and some do not, or move on with different arguments;
//! people decline calls, parallel siblings of a failed call are cancelled, and searches that
//! find nothing exit 1 (benign).

mod catalog;
mod engine;
mod text;
mod vocab;

use rusqlite::Connection;

use crate::truth::GroundTruth;
use crate::{SynthConfig, SynthError};

/// Writes a whole `real` history (tables already created, inside the caller's transaction).
pub(crate) fn history(
    conn: &Connection,
    cfg: &SynthConfig,
    begin: i64,
    end: i64,
) -> Result<GroundTruth, SynthError> {
    let mut eng = engine::Engine::new(conn, cfg.seed, begin, end, cfg.collect_truth)?;
    eng.history(cfg.target_events)?;
    Ok(eng.into_truth(cfg.seed))
}

/// Appends `n` events of completed `real` runs with timestamps in `[lo, hi]`.
pub(crate) fn append(
    conn: &Connection,
    seed: u64,
    n: u64,
    lo: i64,
    hi: i64,
) -> Result<u64, SynthError> {
    let mut eng = engine::Engine::new(conn, seed, hi - 30 * 86_400_000, hi, false)?;
    eng.append(n, lo, hi)?;
    Ok(eng.events())
}
