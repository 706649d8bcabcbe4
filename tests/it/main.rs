//! The end-to-end tests: one binary, one module per concern.

mod acceptance;
mod cli;
mod mcp;
mod schema;
mod synth_truth;
mod tidy;
mod unindexed;
