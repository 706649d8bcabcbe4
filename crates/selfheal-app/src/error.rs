//! The application error: what the caller can fix versus what went wrong inside.

use selfheal_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A bad argument: the message says what was wrong and what is accepted.
    #[error("{0}")]
    InvalidInput(String),
    /// An unknown id.
    #[error("{0}")]
    NotFound(String),
    /// An illegal state transition.
    #[error("{0}")]
    Conflict(String),
    /// The database is missing, empty, locked, corrupt or not a run history.
    #[error("{0}")]
    Database(String),
    /// A storage failure that is not the caller's to fix.
    #[error("storage error: {0}")]
    Storage(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// Whether the caller (a model or a person) can act on this error: such errors are tool
    /// results with `isError`, the rest are protocol errors.
    pub fn is_actionable(&self) -> bool {
        matches!(
            self,
            AppError::InvalidInput(_)
                | AppError::NotFound(_)
                | AppError::Conflict(_)
                | AppError::Database(_)
        )
    }

    /// A short machine-readable kind.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::InvalidInput(_) => "invalid_input",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Database(_) => "database",
            AppError::Storage(_) => "storage",
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what } => AppError::NotFound(format!("{what} was not found")),
            StoreError::Sqlite(ref inner) if selfheal_store::error::is_busy(inner) => {
                AppError::Database(format!(
                    "the database is locked by another process: {inner}; retry when the writer has finished"
                ))
            }
            StoreError::Sqlite(ref inner) if selfheal_store::error::is_corrupt(inner) => {
                AppError::Database(format!("the database is corrupt or not SQLite: {inner}"))
            }
            StoreError::Index(m) => AppError::Storage(m),
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Timeout { .. } => AppError::InvalidInput(e.to_string()),
            StoreError::Sqlite(e) => AppError::Storage(e.to_string()),
            other => AppError::Database(other.to_string()),
        }
    }
}
