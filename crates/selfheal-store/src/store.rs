//! The run history and its index behind one thread-safe handle.
//!
//! Catch-up is serialised by a mutex around the single [`Indexer`]; queries run on pooled
//! reader connections in parallel, so a slow question never blocks another one.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::error::{Result, StoreError};
use crate::history::RunHistory;
use crate::index::{CatchUp, IndexLocation, Indexer};
use crate::query::{ContextCache, IndexReader};
use crate::source::open_source;

/// Readers kept for reuse.
const READER_POOL: usize = 8;
/// Default bound on one answer's queries.
pub const DEFAULT_QUERY_TIMEOUT_MS: u64 = 30_000;

/// The bound on one answer's queries: `SELFHEAL_QUERY_TIMEOUT_MS`, else 30 s.
pub fn query_timeout() -> Duration {
    let ms = std::env::var("SELFHEAL_QUERY_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .unwrap_or(DEFAULT_QUERY_TIMEOUT_MS);
    Duration::from_millis(ms)
}

pub struct Store {
    /// The history, as [`RunHistory::describe`] names it.
    source_name: String,
    location: IndexLocation,
    writer: Mutex<(Box<dyn RunHistory>, Indexer)>,
    readers: Mutex<Vec<Connection>>,
    contexts: ContextCache,
}

impl Store {
    /// Opens the run-history file at `source_path` (validated) and its index.
    pub fn open(source_path: &Path, location: Option<IndexLocation>) -> Result<Store> {
        let source = open_source(source_path)?;
        let location = location.unwrap_or_else(|| IndexLocation::default_for(source_path));
        Store::with_history(Box::new(source), location)
    }

    /// Opens the index at `location` for a history opened by the caller (any engine).
    pub fn with_history(source: Box<dyn RunHistory>, location: IndexLocation) -> Result<Store> {
        let indexer = match Indexer::open(location.clone()) {
            Ok(i) => i,
            Err(e) => {
                // An unusable cache file must not make the product unusable: fall back to memory.
                tracing::warn!(error = %e, "index unusable; keeping the index in memory instead");
                let memory =
                    IndexLocation::Memory(format!("selfheal-fallback-{}", std::process::id()));
                Indexer::open(memory)?
            }
        };
        let location = indexer.location().clone();
        Ok(Store {
            source_name: source.describe(),
            location,
            writer: Mutex::new((source, indexer)),
            readers: Mutex::new(Vec::new()),
            contexts: ContextCache::default(),
        })
    }

    /// The history, safe to print (a path, or a connection string without its password).
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    pub fn index_location(&self) -> &IndexLocation {
        &self.location
    }

    /// Indexes the events written since the last call. `progress(done, total)` is called
    /// after each batch.
    pub fn refresh(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<CatchUp> {
        let mut guard = self.writer.lock().map_err(|_| {
            StoreError::Index("a previous catch-up panicked; restart the server".into())
        })?;
        let (source, indexer) = &mut *guard;
        source.still_there()?;
        let done = indexer.catch_up(&**source, progress)?;
        if done.rebuilt {
            self.contexts.clear();
        }
        Ok(done)
    }

    /// Runs `f` with the run-history connection (shared with catch-up, so keep it short).
    pub fn with_source<T>(&self, f: impl FnOnce(&dyn RunHistory) -> Result<T>) -> Result<T> {
        let guard = self.writer.lock().map_err(|_| {
            StoreError::Index("a previous catch-up panicked; restart the server".into())
        })?;
        f(&*guard.0)
    }

    /// Runs `f` with a reader of the index. Its queries are interrupted when they run longer
    /// than the query timeout together ([`query_timeout`]), with [`StoreError::Timeout`].
    pub fn read<T>(&self, f: impl FnOnce(&IndexReader<'_>) -> Result<T>) -> Result<T> {
        let mut conn = match self.readers.lock().ok().and_then(|mut pool| pool.pop()) {
            Some(c) => c,
            None => self.location.open_reader()?,
        };
        let limit = query_timeout();
        let deadline = Instant::now() + limit;
        conn.progress_handler(10_000, Some(move || Instant::now() > deadline))?;
        let out = f(&IndexReader::with_cache(&conn, &self.contexts)).map_err(|e| match e {
            StoreError::Sqlite(ref inner)
                if inner.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) =>
            {
                StoreError::Timeout {
                    ms: limit.as_millis() as u64,
                }
            }
            other => other,
        });
        conn.progress_handler(0, None::<fn() -> bool>)?;
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < READER_POOL
        {
            pool.push(conn);
        }
        out
    }
}
