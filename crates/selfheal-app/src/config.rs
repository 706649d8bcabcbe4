//! Configuration from the environment (and flags, which the CLI maps onto the same fields).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_PATH` | `~/.binks/conversations.db` | the agent's run-history SQLite file |
//! | `DATABASE_URL` | none | a shared PostgreSQL run history (`postgres://…`), or `sqlite://<path>`; used when `DATABASE_PATH` is unset (other schemes are another application's and ignored) |
//! | `INBOX_PATH` | `~/.notes/inbox` | inbox directory for notes to humans |
//! | `SELFHEAL_INDEX_DIR` | `$XDG_CACHE_HOME/self-healing-mcp` or `~/.cache/self-healing-mcp` | where the derived index lives |
//! | `SELFHEAL_PLAYBOOKS_DIR` | none | user playbooks (`*.toml`) added to the built-ins |
//! | `SELFHEAL_CONFIG_FILE` | none | the one config file `apply_improvement` may edit |
//! | `SELFHEAL_NOW` | the system clock | an RFC 3339 instant to answer "as of" (reproducible reports) |
//! | `SELFHEAL_POLICY` | none | the healing policy (TOML) that `watch --heal` acts under; none: nothing automatic |
//! | `SELFHEAL_PAUSE_FILE` | `<policy file>.pause` | while this file exists, the healer takes no automatic action |
//! | `SELFHEAL_IMPORT` | none | `:`-separated files or folders (`~` expanded) of other agents' histories, imported (new and grown files only) into `DATABASE_PATH` before each answer |

use std::path::{Path, PathBuf};

use selfheal_core::time::parse_timestamp;
use selfheal_store::Database;
use selfheal_store::index::IndexLocation;

use crate::error::AppError;

#[derive(Clone, Debug)]
pub struct Config {
    /// The run history: an SQLite file, or a PostgreSQL connection string kept as given
    /// (see [`Config::database`]).
    pub db_path: PathBuf,
    pub inbox_path: PathBuf,
    /// `None`: the default location for the database (see `IndexLocation::default_for`).
    pub index: Option<IndexLocation>,
    /// Directory of user playbooks (`*.toml`), added to and overriding the built-ins.
    pub playbooks_dir: Option<PathBuf>,
    /// The one config file apply_improvement may edit.
    pub config_file: Option<PathBuf>,
    /// Histories imported before each answer (`SELFHEAL_IMPORT`).
    pub import_paths: Vec<PathBuf>,
    /// The healing policy (`SELFHEAL_POLICY`).
    pub policy_file: Option<PathBuf>,
    /// The kill switch of the healer (`SELFHEAL_PAUSE_FILE`; default `<policy file>.pause`).
    pub pause_file: Option<PathBuf>,
}

impl Config {
    /// Reads the environment; `db` and `inbox` override it when given.
    pub fn from_env(db: Option<PathBuf>, inbox: Option<PathBuf>) -> Config {
        let db_path = db
            .or_else(|| std::env::var_os("DATABASE_PATH").map(PathBuf::from))
            .or_else(|| {
                // Only a URL of ours: a DATABASE_URL set for another application (mysql://,
                // a web app's database) is not a run history.
                std::env::var("DATABASE_URL")
                    .ok()
                    .filter(|u| {
                        matches!(Database::parse(u), Database::Postgres(_))
                            || u.trim().starts_with("sqlite://")
                    })
                    .map(|u| PathBuf::from(u.trim()))
            })
            .map(|p| match Database::parse(&p.to_string_lossy()) {
                Database::Postgres(url) => PathBuf::from(url),
                Database::Sqlite(path) => expand_tilde(&path),
            })
            .unwrap_or_else(|| expand_tilde(Path::new("~/.binks/conversations.db")));
        let inbox_path = inbox
            .or_else(|| std::env::var_os("INBOX_PATH").map(PathBuf::from))
            .map(|p| expand_tilde(&p))
            .unwrap_or_else(|| expand_tilde(Path::new("~/.notes/inbox")));
        let env_path = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(|v| expand_tilde(Path::new(&v)))
        };
        Config {
            db_path,
            inbox_path,
            index: None,
            playbooks_dir: env_path("SELFHEAL_PLAYBOOKS_DIR"),
            config_file: env_path("SELFHEAL_CONFIG_FILE"),
            import_paths: std::env::var("SELFHEAL_IMPORT")
                .map(|v| selfheal_import::import::split_path_list(&v))
                .unwrap_or_default(),
            policy_file: env_path("SELFHEAL_POLICY"),
            pause_file: env_path("SELFHEAL_PAUSE_FILE"),
        }
    }
}

impl Config {
    /// Where the run history lives.
    pub fn database(&self) -> Database {
        Database::parse(&self.db_path.to_string_lossy())
    }

    /// The history as it may be shown: a path, or a connection string without its password.
    pub fn database_name(&self) -> String {
        self.database().describe()
    }
}

/// Expands a leading `~` to `$HOME`.
pub fn expand_tilde(path: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    match (text.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(format!("{}{}", PathBuf::from(home).display(), rest))
        }
        _ => path.to_path_buf(),
    }
}

/// Where "now" comes from.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    System,
    Fixed(i64),
}

impl Clock {
    /// `SELFHEAL_NOW` when set (it must parse), else the system clock.
    pub fn from_env() -> Result<Clock, AppError> {
        match std::env::var("SELFHEAL_NOW") {
            Ok(v) if !v.trim().is_empty() => parse_timestamp(&v).map(Clock::Fixed).ok_or_else(|| {
                AppError::InvalidInput(format!(
                    "SELFHEAL_NOW={v:?} is not an instant; use RFC 3339 such as 2026-01-30T12:00:00Z"
                ))
            }),
            _ => Ok(Clock::System),
        }
    }

    pub fn now_ms(&self) -> i64 {
        match self {
            Clock::Fixed(ms) => *ms,
            Clock::System => chrono::Utc::now().timestamp_millis(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_expands_only_at_the_start() {
        let home = std::env::var("HOME").unwrap();
        assert_eq!(
            expand_tilde(Path::new("~/a.db")),
            PathBuf::from(format!("{home}/a.db"))
        );
        assert_eq!(
            expand_tilde(Path::new("/x/~/a.db")),
            PathBuf::from("/x/~/a.db")
        );
        assert_eq!(expand_tilde(Path::new("~user/a")), PathBuf::from("~user/a"));
    }
}
