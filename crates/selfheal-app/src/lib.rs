//! The one API boundary of self-healing-mcp: one use-case function per tool.
//!
//! The MCP server and the CLI both call [`App`]; each function validates its arguments,
//! brings the index up to date, and returns a plain view (Serialize + JsonSchema) that the
//! server sends as structured content and the CLI prints as JSON or as text ([`render`]).

pub mod analysis;
pub mod args;
pub mod classify;
pub mod config;
pub mod config_edit;
pub mod error;
pub mod inbox;
pub mod lifecycle;
pub mod playbooks;
pub mod render;
pub mod views;
pub mod watch;

pub use config::{Clock, Config};
pub use error::AppError;

use std::sync::{Arc, Mutex};

use selfheal_store::Store;

/// Shared application state: configuration, clock and the lazily opened store.
///
/// The store is opened on first use, not at construction, so a server whose database does
/// not exist yet still starts and answers every call with the specific problem.
pub struct App {
    config: Config,
    clock: Clock,
    store: Mutex<Option<Arc<Store>>>,
    /// Whether lifecycle rows under ids of the recorded-type style were migrated this process.
    pattern_ids_migrated: std::sync::atomic::AtomicBool,
}

impl App {
    pub fn new(config: Config, clock: Clock) -> App {
        App {
            config,
            clock,
            store: Mutex::new(None),
            pattern_ids_migrated: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Current instant in Unix ms (fixed in tests and when `SELFHEAL_NOW` is set).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The store, opened on first use; a failed open is retried on the next call.
    pub fn store(&self) -> Result<Arc<Store>, AppError> {
        let mut slot = self
            .store
            .lock()
            .map_err(|_| AppError::Internal("store lock poisoned".into()))?;
        if let Some(store) = slot.as_ref() {
            return Ok(store.clone());
        }
        let store = Arc::new(Store::open(
            &self.config.db_path,
            self.config.index.clone(),
        )?);
        *slot = Some(store.clone());
        Ok(store)
    }

    /// Opens the store now (server start), so a broken database is reported immediately.
    pub fn check(&self) -> Result<(), AppError> {
        self.store().map(|_| ())
    }
}
