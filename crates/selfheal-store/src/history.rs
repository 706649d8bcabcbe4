//! The run history as the catch-up and the use cases read it, whatever engine holds it.
//!
//! [`RunHistory`] is the storage trait: [`crate::source::SourceDb`] implements it over an
//! agent's SQLite file and `selfheal-postgres` over a shared PostgreSQL database. The index
//! and every use case read through it, so no SQL dialect is chosen outside the two
//! implementations. [`Database`] is where a history lives, as a user names it (`--db`,
//! `DATABASE_URL`), with the password of a connection string never shown.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::source::{EventRef, ImprovementRow, RunRow, TaggedRun};

/// The lifecycle's facts for the healing numbers: improvements, transitions, and the
/// strategies' verified outcomes.
pub type HealingFacts = (
    Vec<selfheal_core::healing::ImprovementFacts>,
    Vec<selfheal_core::healing::TransitionFacts>,
    std::collections::HashMap<String, (u64, u64)>,
);

/// Read access to a run history (`runs`, `run_events`, and what the lifecycle recorded).
pub trait RunHistory: Send {
    /// Where it lives, safe to print (a path, or a connection string without its password).
    fn describe(&self) -> String;
    /// Whether it is still there (a file removed under a running server is reported).
    fn still_there(&self) -> Result<()>;
    /// Another connection to the same history (the catch-up's reading thread has its own).
    fn reopen(&self) -> Result<Box<dyn RunHistory>>;
    /// Runs `f` with one snapshot of the history (one read transaction where that is cheaper
    /// than one per read).
    fn read_together(&self, f: &mut dyn FnMut(&dyn RunHistory) -> Result<()>) -> Result<()>;
    /// Runs whose row number is above `after`, in that order; returns the largest one seen.
    /// A run written again gets a new number, so a rewritten run is read again.
    fn runs_after(&self, after: i64, each: &mut dyn FnMut(RunRow) -> Result<()>) -> Result<i64>;
    /// The current rows of the given run ids (those that still exist).
    fn runs_by_id(&self, ids: &[String]) -> Result<Vec<RunRow>>;
    /// Events with `id > after`, in id order, at most `limit` of them.
    fn events_after(
        &self,
        after: i64,
        limit: i64,
        each: &mut dyn FnMut(EventRef<'_>) -> Result<()>,
    ) -> Result<()>;
    /// A fingerprint of event `id` (run and timestamp), to notice a replaced history.
    fn event_fingerprint(&self, id: i64) -> Result<Option<String>>;
    /// The largest run row number, 0 when there are none.
    fn max_run_rowid(&self) -> Result<i64>;
    /// The largest event id, 0 when there are none.
    fn max_event_id(&self) -> Result<i64>;
    /// The events of run `run_id` around event `id`, in id order: up to `before` events
    /// before it, the event itself and up to `after` events following it.
    fn run_events_around(
        &self,
        run_id: &str,
        id: i64,
        before: i64,
        after: i64,
    ) -> Result<Vec<(i64, String, String)>>;
    /// Runs whose recorded working directory is `project` or lies under it.
    fn runs_in_project(&self, project: &str) -> Result<Vec<(String, Option<String>)>>;
    /// The newest rows of the agent's own `improvements` table, if it has one.
    fn recent_improvements(&self, limit: u32) -> Result<Vec<ImprovementRow>>;
    /// Open escalations (pattern, level, rule, reason, created_at), newest first.
    fn open_escalations(&self) -> Result<Vec<[String; 5]>>;
    /// The lifecycle's facts for the healing numbers of a window starting at `from_ms`.
    fn healing_facts(&self, from_ms: i64) -> Result<HealingFacts>;
    /// Runs whose metadata tags them with `improvement_id`.
    fn runs_tagged(&self, improvement_id: &str) -> Result<Vec<TaggedRun>>;
}

/// Where a run history lives.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl Database {
    /// Reads what a user gave as `--db` or `DATABASE_URL`/`DATABASE_PATH`: a PostgreSQL URL,
    /// an `sqlite://` URL, or a file path.
    pub fn parse(text: &str) -> Database {
        let trimmed = text.trim();
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Database::Postgres(trimmed.to_string());
        }
        match trimmed.strip_prefix("sqlite://") {
            Some(path) => Database::Sqlite(PathBuf::from(path)),
            None => Database::Sqlite(PathBuf::from(text)),
        }
    }

    /// The SQLite file, if this is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Database::Sqlite(p) => Some(p),
            Database::Postgres(_) => None,
        }
    }

    /// A name safe to print and log: the path, or the URL with its password replaced.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(p) => p.display().to_string(),
            Database::Postgres(url) => redact_url(url),
        }
    }
}

impl std::fmt::Debug for Database {
    // Never the password, even in a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database({})", self.describe())
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A connection string with its password (in the authority or as a `password=` parameter)
/// replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let mut out = match url.find("://") {
        Some(scheme_end) => {
            let rest = &url[scheme_end + 3..];
            let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
            let authority = &rest[..authority_end];
            match authority.rfind('@') {
                Some(at) => {
                    let userinfo = &authority[..at];
                    let user = userinfo.split(':').next().unwrap_or("");
                    let hidden = if userinfo.contains(':') {
                        format!("{user}:***")
                    } else {
                        user.to_string()
                    };
                    format!("{}{hidden}{}", &url[..scheme_end + 3], &rest[at..])
                }
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    };
    // `password=` in a query string or a key/value connection string.
    let lower = out.to_ascii_lowercase();
    if let Some(start) = lower.find("password=") {
        let value_start = start + "password=".len();
        let value_end = out[value_start..]
            .find(['&', ' '])
            .map_or(out.len(), |e| value_start + e);
        out.replace_range(value_start..value_end, "***");
    }
    out
}

/// Removes every occurrence of `url`'s password from `text` (an error message from a driver
/// may quote the connection string).
pub fn redact_in(text: &str, url: &str) -> String {
    let mut out = text.replace(url, &redact_url(url));
    if let Some(password) = password_of(url).filter(|p| p.len() >= 3) {
        out = out.replace(&password, "***");
    }
    out
}

fn password_of(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    userinfo.split_once(':').map(|(_, p)| p.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_are_told_apart_and_never_shown_with_a_password() {
        let cases = [
            ("runs.db", "runs.db"),
            ("sqlite://runs.db", "runs.db"),
            (
                "postgres://selfheal:s3cret@db:5432/agents",
                "postgres://selfheal:***@db:5432/agents",
            ),
            (
                "postgresql://u:p%40ss@db/agents?sslmode=disable",
                "postgresql://u:***@db/agents?sslmode=disable",
            ),
            (
                "postgres://selfheal@db/agents",
                "postgres://selfheal@db/agents",
            ),
            (
                "postgres://db/agents?user=u&password=hunter2&sslmode=require",
                "postgres://db/agents?user=u&password=***&sslmode=require",
            ),
        ];
        for (given, shown) in cases {
            let db = Database::parse(given);
            assert_eq!(db.describe(), shown, "{given}");
            assert_eq!(format!("{db:?}"), format!("Database({shown})"));
        }
        assert!(matches!(
            Database::parse("POSTGRES://x/y"),
            Database::Postgres(_)
        ));
        assert_eq!(
            redact_in(
                "error connecting to postgres://u:hunter2@db/a: password hunter2 rejected",
                "postgres://u:hunter2@db/a"
            ),
            "error connecting to postgres://u:***@db/a: password *** rejected"
        );
    }
}
