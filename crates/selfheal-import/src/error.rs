//! Import errors: one variant per state of the database a user must be told about.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "database file {path} is locked by another writer and stayed locked for {waited_ms} ms; nothing was lost — run the import again when the other writer has finished"
    )]
    Locked { path: PathBuf, waited_ms: u64 },
    #[error(
        "database file {path} is read-only: importing writes runs and events into it; point --db (or DATABASE_PATH) at a writable file"
    )]
    ReadOnly { path: PathBuf },
    #[error(
        "database file {path} is not a readable SQLite database ({detail}); import into another file with --db"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "database file {path} was written by a newer self-healing-mcp importer (import schema {found}, this binary knows up to {supported}); upgrade self-healing-mcp — the file was not changed"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "database file {path} has a table {table} without the column(s) {missing}; the run-history layout is described in schema/run_history.sql"
    )]
    ForeignSchema {
        path: PathBuf,
        table: String,
        missing: String,
    },
    #[error("cannot open database file {path}: {detail}")]
    CannotOpen { path: PathBuf, detail: String },
    #[error("database error on {path}: {detail}")]
    Database { path: PathBuf, detail: String },
    #[error("PostgreSQL database {name}: {detail}")]
    Postgres { name: String, detail: String },
    #[error("{}: {detail}", path.display())]
    Io { path: PathBuf, detail: String },
    #[error("hook input: {0}")]
    Hook(String),
}

/// How long a writer waits for another writer's lock.
pub const BUSY_TIMEOUT_MS: u64 = 10_000;

impl ImportError {
    /// Maps an SQLite error on `path` to the state it reveals.
    pub fn db(path: &Path, e: rusqlite::Error) -> ImportError {
        let path = path.to_path_buf();
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => ImportError::Locked {
                path,
                waited_ms: BUSY_TIMEOUT_MS,
            },
            Some(ErrorCode::ReadOnly) => ImportError::ReadOnly { path },
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => ImportError::Corrupt {
                path,
                detail: e.to_string(),
            },
            Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => ImportError::CannotOpen {
                path,
                detail: e.to_string(),
            },
            _ => ImportError::Database {
                path,
                detail: e.to_string(),
            },
        }
    }

    pub fn io(path: &Path, e: &std::io::Error) -> ImportError {
        ImportError::Io {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }
    }

    /// Whether the whole import must stop (the database is unusable) rather than one file.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, ImportError::Io { .. } | ImportError::Hook(_))
    }
}
