//! PostgreSQL as a shared run history: what a team's collectors and importers write and
//! every developer's server reads.
//!
//! - [`connect`] opens a connection (errors never show the password) and brings the schema
//!   to this binary's version ([`migrate`], numbered files under `migrations/`);
//! - [`history::PgHistory`] implements the store's `RunHistory` (the catch-up of each
//!   server's local index, by event id, and the use cases' reads);
//! - [`writer::PgImportStore`] implements the importer's `ImportStore`: one transaction per
//!   batch, the records' rows buffered and written with binary `COPY` and array upserts.
//!
//! The client is the synchronous `postgres` crate: it blocks, on a runtime of its own, so it
//! is used (opened, called and dropped) on plain or `spawn_blocking` threads, never on an
//! async runtime's worker threads (tokio refuses a runtime inside another).
//!
//! Writers take one transaction-level advisory lock ([`WRITERS_LOCK`]): event ids are then
//! committed in the order they are allocated, which the catch-up by `id > high-water mark`
//! relies on (a lower id committed after a higher one was read would be skipped forever).

pub mod copy;
pub mod history;
pub mod lifecycle;
pub mod writer;

use postgres::{Client, NoTls};
use selfheal_store::history::{redact_in, redact_url};

/// The advisory lock every writer of the run history holds for its transaction.
pub const WRITERS_LOCK: i64 = 0x5e1f_4ea1_0001;
/// The advisory lock held while migrating.
const MIGRATION_LOCK: i64 = 0x5e1f_4ea1_0002;

/// The migrations, in order: (version, SQL).
const MIGRATIONS: [(i32, &str); 2] = [
    (1, include_str!("../migrations/0001_run_history.sql")),
    (2, include_str!("../migrations/0002_lifecycle.sql")),
];

/// The schema version this binary writes and reads.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Why a PostgreSQL database cannot be used, said without the connection's password.
#[derive(Debug)]
pub struct PgError {
    /// The database, as [`redact_url`] shows it.
    pub name: String,
    pub detail: String,
}

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgreSQL database {}: {}", self.name, self.detail)
    }
}

impl std::error::Error for PgError {}

impl PgError {
    /// An error of the driver on the database at `url`.
    pub fn of(url: &str, e: &postgres::Error) -> PgError {
        // The driver's text omits the server's own message; the cause carries it.
        let mut detail = e.to_string();
        if let Some(db) = e.as_db_error() {
            detail = format!("{} ({})", db.message(), db.code().code());
        } else if let Some(source) = std::error::Error::source(e) {
            detail = format!("{detail}: {source}");
        }
        if detail.contains("TLS") {
            detail = format!(
                "{detail}; self-healing-mcp connects without TLS: use sslmode=disable (or prefer) on a private network, or a tunnel"
            );
        } else if e.is_closed() || detail.contains("connection") && e.as_db_error().is_none() {
            detail = format!(
                "{detail}; nothing was written or read — it is retried when the database is back"
            );
        }
        PgError {
            name: redact_url(url),
            detail: redact_in(&detail, url),
        }
    }

    pub fn other(url: &str, detail: impl Into<String>) -> PgError {
        PgError {
            name: redact_url(url),
            detail: redact_in(&detail.into(), url),
        }
    }
}

impl From<PgError> for selfheal_store::StoreError {
    fn from(e: PgError) -> Self {
        selfheal_store::StoreError::Postgres {
            name: e.name,
            detail: e.detail,
        }
    }
}

impl From<PgError> for selfheal_import::ImportError {
    fn from(e: PgError) -> Self {
        selfheal_import::ImportError::Postgres {
            name: e.name,
            detail: e.detail,
        }
    }
}

/// Connects to `url`, within `connect_timeout` seconds unless the URL says otherwise.
pub fn connect(url: &str) -> Result<Client, PgError> {
    connect_as(url, None)
}

/// Connects to `url` under `application_name` (what `pg_stat_activity` shows of us), else
/// the URL's own or `self-healing-mcp`.
pub fn connect_as(url: &str, application_name: Option<&str>) -> Result<Client, PgError> {
    let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
        PgError::other(url, format!("not a valid connection string ({e})"))
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    match application_name {
        Some(name) => {
            config.application_name(name);
        }
        None if config.get_application_name().is_none() => {
            config.application_name("self-healing-mcp");
        }
        None => {}
    }
    config.connect(NoTls).map_err(|e| PgError::of(url, &e))
}

/// Connects to `url` and brings its schema to this binary's version (creating the tables in
/// an empty database). A database migrated by a newer binary is refused unchanged.
pub fn connect_migrated(url: &str) -> Result<Client, PgError> {
    let mut client = connect(url)?;
    migrate(&mut client).map_err(|e| match e {
        Migration::Db(e) => PgError::of(url, &e),
        Migration::Newer(found) => PgError::other(
            url,
            format!(
                "was migrated by a newer self-healing-mcp (schema {found}, this binary knows up to {SCHEMA_VERSION}); upgrade self-healing-mcp — the database was not changed"
            ),
        ),
    })?;
    Ok(client)
}

/// Connects to `url` for reading: the run-history tables must be there, at this binary's
/// schema version. A reader never creates or migrates tables — a `DATABASE_URL` meant for
/// another application is refused, not written to.
pub fn connect_existing(url: &str) -> Result<Client, PgError> {
    let mut client = connect(url)?;
    let ours: bool = client
        .query_one("SELECT to_regclass('selfheal_migrations') IS NOT NULL", &[])
        .map_err(|e| PgError::of(url, &e))?
        .get(0);
    let version: Option<i32> = if ours {
        Some(
            client
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM selfheal_migrations",
                    &[],
                )
                .map_err(|e| PgError::of(url, &e))?
                .get(0),
        )
    } else {
        None
    };
    match version {
        Some(v) if v == SCHEMA_VERSION => Ok(client),
        Some(v) if v > SCHEMA_VERSION => Err(PgError::other(
            url,
            format!(
                "was migrated by a newer self-healing-mcp (schema {v}, this binary knows up to {SCHEMA_VERSION}); upgrade self-healing-mcp"
            ),
        )),
        _ => Err(PgError::other(
            url,
            format!(
                "has no run-history tables of this version; create or migrate them with `self-heal init --db {}`",
                redact_url(url)
            ),
        )),
    }
}

/// Opens the importer's writer on `db`, whichever engine: creating the tables when missing.
pub fn open_writer(
    db: &selfheal_store::Database,
) -> Result<selfheal_import::writer::Writer, selfheal_import::ImportError> {
    match db {
        selfheal_store::Database::Sqlite(path) => selfheal_import::writer::Writer::open(path),
        selfheal_store::Database::Postgres(url) => Ok(selfheal_import::writer::Writer::with_store(
            Box::new(writer::PgImportStore::open(url)?),
        )),
    }
}

/// Why a migration did not happen.
pub enum Migration {
    Db(postgres::Error),
    Newer(i32),
}

impl From<postgres::Error> for Migration {
    fn from(e: postgres::Error) -> Self {
        Migration::Db(e)
    }
}

/// Applies the migrations this database lacks, each in its own transaction, under an
/// advisory lock (two processes starting together migrate once).
pub fn migrate(client: &mut Client) -> Result<(), Migration> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS selfheal_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )?;
    let current = |client: &mut Client| -> Result<i32, postgres::Error> {
        Ok(client
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM selfheal_migrations",
                &[],
            )?
            .get(0))
    };
    let found = current(client)?;
    if found > SCHEMA_VERSION {
        return Err(Migration::Newer(found));
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    client.execute("SELECT pg_advisory_lock($1::bigint)", &[&MIGRATION_LOCK])?;
    let result = (|| -> Result<(), Migration> {
        let found = current(client)?;
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
            let mut tx = client.transaction()?;
            tx.batch_execute(sql)?;
            tx.execute(
                "INSERT INTO selfheal_migrations(version) VALUES ($1)",
                &[version],
            )?;
            tx.commit()?;
            tracing::info!(version, "PostgreSQL schema migrated");
        }
        Ok(())
    })();
    client.execute("SELECT pg_advisory_unlock($1::bigint)", &[&MIGRATION_LOCK])?;
    result
}
