//! Pure domain logic of self-healing-mcp.
//!
//! Everything here takes data (and `now`, when time matters) and returns data: no IO, no
//! async, no SQL, no clock. The store feeds it rows; the app turns its results into views.

pub mod arguments;
pub mod classify;
pub mod correlation;
pub mod event;
pub mod harness_messages;
pub mod hash;
pub mod healing;
pub mod health;
pub mod lifecycle;
pub mod metrics;
pub mod pattern;
pub mod pattern_state;
pub mod playbook;
pub mod policy;
pub mod remedy;
pub mod retry;
pub mod salient;
pub mod shell;
pub mod stalled;
pub mod stats;
pub mod template;
pub mod time;
pub mod trend;
pub mod verify;

/// Revision of the analysis that indexed data depends on (classification, outcomes, salient
/// line, programs, templates, argument fingerprints, retry evidence). Bump it with any change
/// of their logic; changes of the classifier's phrase tables are caught without it.
pub const ANALYSIS_REVISION: u32 = 6;

/// What an index records its data was analysed with: when it differs, the index is rebuilt.
pub fn analysis_fingerprint() -> String {
    format!("{ANALYSIS_REVISION}-{:016x}", classify::rules_fingerprint())
}
