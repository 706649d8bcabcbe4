//! OTLP/HTTP intake: what the harnesses export about their tool calls, as runs and calls.
//!
//! - [`decode`]: a request body (protobuf or JSON, gzip or not) into an OTLP export request;
//! - [`map`]: an export request into the importer's records (runs, call starts and ends);
//! - [`server`]: `POST /v1/logs` and `/v1/traces`, answered after the records are committed.

pub mod decode;
pub mod map;
pub mod server;
