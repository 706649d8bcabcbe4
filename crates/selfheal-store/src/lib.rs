//! SQLite access for self-healing-mcp.
//!
//! - [`source`]: the agent's run-history file, opened read-only and read tolerantly;
//! - [`index`]: the incremental derived index of tool calls, in a file of ours;
//! - [`lifecycle`]: improvements and our `selfheal_*` tables in the run history (migrations);
//! - [`query`]: the window-bounded questions the analysis asks of the index;
//! - [`Store`]: both together, safe to share between threads (one writer, many readers).

pub mod error;
pub mod history;
pub mod index;
pub mod lifecycle;
pub mod query;
mod reader;
pub mod source;
mod store;

pub use error::{Result, StoreError};
pub use history::{Database, RunHistory};
pub use store::Store;
