//! Store errors: one variant per database state a user must be told about.

use std::path::PathBuf;

/// Everything that can go wrong opening or reading the run history and the index.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "database file {path} does not exist; set DATABASE_PATH (or --db) to your agent's run-history file, or create one with `self-heal init --db {path}`"
    )]
    Missing { path: PathBuf },
    #[error(
        "database file {path} is empty (0 bytes): it has no run-history tables; create them with `self-heal init --db {path}`"
    )]
    Empty { path: PathBuf },
    #[error(
        "database file {path} is not a readable SQLite database ({detail}); it may be corrupt or another kind of file"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "database file {path} has no run-history table(s) {missing}; this does not look like an agent run history. Create the tables with `self-heal init --db {path}` (schema/run_history.sql lists them)"
    )]
    MissingTables { path: PathBuf, missing: String },
    #[error(
        "database file {path} has a table {table} without the expected column(s) {missing}; the run-history layout is described in schema/run_history.sql"
    )]
    ForeignSchema {
        path: PathBuf,
        table: String,
        missing: String,
    },
    #[error(
        "database file {path} is locked by another process and stayed locked for {waited_ms} ms; retry when the writer has finished"
    )]
    Locked { path: PathBuf, waited_ms: u64 },
    #[error("cannot open database file {path}: {detail}")]
    CannotOpen { path: PathBuf, detail: String },
    #[error(
        "database file {path} is read-only: the improvement lifecycle records its state in the run history, so it needs write access (analysis works without it)"
    )]
    ReadOnly { path: PathBuf },
    #[error(
        "database file {path} was migrated by a newer self-healing-mcp (schema {found}, this binary knows up to {supported}); upgrade self-healing-mcp — the file was not changed"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{0}")]
    Conflict(String),
    #[error(
        "the query ran longer than {ms} ms and was stopped; narrow the window (`since`) or raise SELFHEAL_QUERY_TIMEOUT_MS"
    )]
    Timeout { ms: u64 },
    #[error("{what} was not found")]
    NotFound { what: String },
    #[error("PostgreSQL database {name}: {detail}")]
    Postgres { name: String, detail: String },
    #[error("index error: {0}")]
    Index(String),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Whether a SQLite error is a busy/locked condition.
pub fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Whether a SQLite error says the file is not a database or is malformed.
pub fn is_corrupt(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}
