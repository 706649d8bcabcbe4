//! The one API boundary of self-healing-mcp: one use-case function per tool.
//!
//! The MCP server and the CLI both call [`App`]; each function validates its arguments,
//! brings the index up to date, and returns a plain view (Serialize + JsonSchema) that the
//! server sends as structured content and the CLI prints as JSON or as text ([`render`]).

pub mod analysis;
pub mod args;
pub mod classify;
pub mod complete;
pub mod config;
pub mod config_edit;
pub mod error;
pub mod harness_files;
pub mod inbox;
pub mod install;
pub mod lessons;
pub mod lifecycle;
pub mod page;
pub mod paging;
pub mod playbooks;
pub mod policy;
pub mod render;
pub mod sanitize;
pub mod views;
pub mod watch;

pub use config::{Clock, Config};
pub use error::AppError;

use std::path::Path;
use std::sync::{Arc, Mutex};

use selfheal_store::index::IndexLocation;
use selfheal_store::{Database, Store};

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
    /// The importer of `SELFHEAL_IMPORT` (opened on first use; one import at a time).
    importer: Mutex<Option<selfheal_import::Importer>>,
    /// Who calls the lifecycle tools through this app (recorded in the audit trail).
    actor: selfheal_core::lifecycle::Actor,
}

impl App {
    pub fn new(config: Config, clock: Clock) -> App {
        App {
            config,
            clock,
            store: Mutex::new(None),
            pattern_ids_migrated: std::sync::atomic::AtomicBool::new(false),
            importer: Mutex::new(None),
            actor: selfheal_core::lifecycle::Actor::Agent,
        }
    }

    /// The same app, recording `actor` as the caller of lifecycle transitions (an agent by
    /// default: the MCP server; the CLI says a person).
    pub fn with_actor(mut self, actor: selfheal_core::lifecycle::Actor) -> App {
        self.actor = actor;
        self
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
        let store = Arc::new(match self.config.database() {
            Database::Sqlite(path) => Store::open(&path, self.config.index.clone())?,
            Database::Postgres(url) => {
                let history = selfheal_postgres::history::PgHistory::open(&url)?;
                // The index stays a local SQLite cache per server, named after the database.
                let name = self.config.database_name();
                let location = self
                    .config
                    .index
                    .clone()
                    .unwrap_or_else(|| IndexLocation::default_named(&name, "postgres"));
                Store::with_history(Box::new(history), location)?
            }
        });
        *slot = Some(store.clone());
        Ok(store)
    }

    /// Imports what is new in the `SELFHEAL_IMPORT` paths into the database (creating it when
    /// missing), reporting `(bytes read, bytes to read)` to `progress`. Cheap when nothing
    /// changed: one `stat` per file. A problem with a file is logged and the answer goes on
    /// from what is there; an unusable database is an error only when there is no database
    /// to answer from.
    pub fn import_new(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<(), AppError> {
        if self.config.import_paths.is_empty() {
            return Ok(());
        }
        let mut slot = self
            .importer
            .lock()
            .map_err(|_| AppError::Internal("importer lock poisoned".into()))?;
        let database = self.config.database();
        let failed = |e: selfheal_import::ImportError| {
            if database.path().is_none_or(Path::exists) {
                tracing::warn!(error = %e, "SELFHEAL_IMPORT: import skipped; answering from the database as it is");
                Ok(())
            } else {
                Err(AppError::InvalidInput(format!(
                    "SELFHEAL_IMPORT could not create the database: {e}"
                )))
            }
        };
        if slot.is_none() {
            match selfheal_postgres::open_writer(&database) {
                Ok(w) => {
                    *slot = Some(selfheal_import::Importer::with_writer(
                        w,
                        selfheal_import::Options::default(),
                    ))
                }
                Err(e) => return failed(e),
            }
        }
        let Some(importer) = slot.as_mut() else {
            return Ok(());
        };
        let result = importer.import(&self.config.import_paths, &mut |p| {
            if p.bytes_total > 0 {
                progress(p.bytes_done, p.bytes_total)
            }
        });
        match result {
            Ok(summary) => {
                for e in &summary.errors {
                    tracing::warn!(path = %e.path, error = %e.error, "SELFHEAL_IMPORT");
                }
                if summary.wrote_anything() {
                    tracing::info!(
                        calls = summary.calls_added,
                        runs_new = summary.runs_new,
                        skipped = summary.skipped,
                        "SELFHEAL_IMPORT: imported new history"
                    );
                }
                Ok(())
            }
            Err(e) => {
                // Reopen next time (the database may have been replaced or unlocked).
                *slot = None;
                failed(e)
            }
        }
    }

    /// Opens the store now (server start), so a broken database is reported immediately.
    pub fn check(&self) -> Result<(), AppError> {
        self.store().map(|_| ())
    }
}
