//! The end-to-end tests: one binary, one module per concern.

// Test helpers fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod acceptance;
mod budget;
mod causes;
mod cli;
mod config_edit;
mod confirm;
mod crash;
mod escalation;
mod harnesses;
mod heal;
mod import;
mod lifecycle;
mod live;
mod mcp;
mod paging;
mod postgres;
mod schema;
mod simulation;
mod synth_truth;
mod tidy;
mod unindexed;
mod untrusted;
