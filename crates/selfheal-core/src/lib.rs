//! Pure domain logic of self-healing-mcp.
//!
//! Everything here takes data (and `now`, when time matters) and returns data: no IO, no
//! async, no SQL, no clock. The store feeds it rows; the app turns its results into views.

pub mod arguments;
pub mod classify;
pub mod correlation;
pub mod event;
pub mod healing;
pub mod health;
pub mod lifecycle;
pub mod metrics;
pub mod pattern;
pub mod playbook;
pub mod policy;
pub mod retry;
pub mod salient;
pub mod shell;
pub mod stalled;
pub mod stats;
pub mod template;
pub mod time;
pub mod trend;
pub mod verify;
