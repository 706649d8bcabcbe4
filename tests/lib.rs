//! Shared helpers of the end-to-end tests: the built binaries, fixtures, and an app over a
//! database with a fixed clock.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: failing loudly is the point

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use selfheal_app::{App, Clock, Config};
use selfheal_store::index::IndexLocation;

/// Environment variable that enables slow tests (set by `.ci/run`).
pub const SLOW_TESTS: &str = "SELFHEAL_SLOW_TESTS";

/// The instant the planted fixture is written relative to.
pub const PLANT_NOW: &str = "2026-11-20T12:00:00Z";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Path of a workspace binary in the same profile as the running test, building it (once
/// per test process) when `cargo test` did not.
pub fn bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/it-<hash> → target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = profile_dir.join(name);
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace_root()).args([
            "build",
            "-p",
            "self-healing-mcp",
            "-p",
            "selfheal-cli",
        ]);
        if profile_dir.ends_with("release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "building the binaries failed");
    });
    assert!(path.exists(), "binary {} was not built", path.display());
    path
}

/// Writes the independent planted history (tests/fixtures/plant_history.py) into `dir`.
pub fn plant(dir: &Path, seed: u64) -> (PathBuf, serde_json::Value) {
    let db = dir.join("planted.sqlite");
    let truth = dir.join("truth.json");
    let status = Command::new("python3")
        .arg(workspace_root().join("tests/fixtures/plant_history.py"))
        .args(["--db", db.to_str().unwrap_or_default()])
        .args(["--truth", truth.to_str().unwrap_or_default()])
        .args(["--now", PLANT_NOW, "--seed", &seed.to_string()])
        .status()
        .expect("python3 runs");
    assert!(status.success(), "plant_history.py failed");
    let text = std::fs::read_to_string(&truth).expect("truth written");
    (db, serde_json::from_str(&text).expect("truth is JSON"))
}

/// Unix ms of an RFC 3339 instant.
pub fn ms(instant: &str) -> i64 {
    selfheal_core::time::parse_timestamp(instant).expect("valid instant")
}

/// An app over `db` answering as of `now_ms`, with its index in memory (unique per call).
pub fn app(db: &Path, now_ms: i64) -> App {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let config = Config {
        db_path: db.to_path_buf(),
        // Beside an SQLite file; for a PostgreSQL URL, in the temporary directory (a path
        // derived from the URL would carry its password).
        inbox_path: match selfheal_store::Database::parse(&db.to_string_lossy()) {
            selfheal_store::Database::Sqlite(_) => db.with_extension("inbox"),
            selfheal_store::Database::Postgres(_) => {
                std::env::temp_dir().join(format!("selfheal-test-inbox-{}-{n}", std::process::id()))
            }
        },
        index: Some(IndexLocation::Memory(format!(
            "test-{}-{n}",
            std::process::id()
        ))),
        playbooks_dir: None,
        config_file: None,
        import_paths: Vec::new(),
        policy_file: None,
        pause_file: None,
    };
    App::new(config, Clock::Fixed(now_ms))
}

/// A progress callback that ignores progress.
pub fn quiet() -> impl FnMut(u64, u64) {
    |_, _| {}
}

/// `program args…` as one POSIX shell line, every word single-quoted.
pub fn shell_line(program: &Path, args: &[&str]) -> String {
    let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
    let mut line = quote(&program.display().to_string());
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    line
}

/// Runs a binary with its stdout and stderr on a pseudo-terminal (util-linux `script`), stdin
/// empty, and returns (exit code, everything the terminal showed).
pub fn in_terminal(
    program: &Path,
    args: &[&str],
    envs: &[(&str, &std::ffi::OsStr)],
) -> (Option<i32>, String) {
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &shell_line(program, args), "/dev/null"])
        .envs(envs.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("util-linux `script` runs (it provides the pseudo-terminal)");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A fresh PostgreSQL database for one test, dropped at the end: created on the server that
/// `SELFHEAL_PG_URL` names (`.ci/run` starts one, `tests/pg/cluster.sh`).
pub struct PgDatabase {
    admin: String,
    name: String,
    /// Its connection string.
    pub url: String,
}

impl PgDatabase {
    /// `None` when no PostgreSQL is configured: said on stderr, so a skipped engine is seen;
    /// with `SELFHEAL_REQUIRE_PG=1` (CI) a missing server fails the test instead.
    pub fn create() -> Option<PgDatabase> {
        let admin = match std::env::var("SELFHEAL_PG_URL") {
            Ok(url) if !url.trim().is_empty() => url,
            _ => {
                assert!(
                    std::env::var_os("SELFHEAL_REQUIRE_PG").is_none(),
                    "SELFHEAL_REQUIRE_PG is set but SELFHEAL_PG_URL is not: PostgreSQL did not start"
                );
                eprintln!(
                    "SKIPPED on PostgreSQL: SELFHEAL_PG_URL is unset (start one with tests/pg/cluster.sh)"
                );
                return None;
            }
        };
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("selfheal_t_{}_{n}", std::process::id());
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .expect("SELFHEAL_PG_URL accepts connections");
        // One statement each: a multi-statement string is one transaction, which these refuse.
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .and_then(|()| client.batch_execute(&format!("CREATE DATABASE {name}")))
            .expect("a test database is created");
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b)
            .expect("SELFHEAL_PG_URL names a database");
        let url = format!("{base}/{name}");
        Some(PgDatabase { admin, name, url })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// One run history on one engine, as `Config::db_path` takes it.
pub struct OnEngine {
    pub engine: &'static str,
    pub db: PathBuf,
    _database: Option<PgDatabase>,
}

/// The SQLite history `db` itself, and a copy of it in a fresh PostgreSQL database when one is
/// configured ([`PgDatabase::create`]): what the acceptance tests run on.
pub fn on_each_engine(db: &Path) -> Vec<OnEngine> {
    let mut out = vec![OnEngine {
        engine: "sqlite",
        db: db.to_path_buf(),
        _database: None,
    }];
    if let Some(pg) = PgDatabase::create() {
        selfheal_postgres::copy::copy_sqlite_history(db, &pg.url, 0)
            .expect("the history is copied into PostgreSQL");
        out.push(OnEngine {
            engine: "postgres",
            db: PathBuf::from(&pg.url),
            _database: Some(pg),
        });
    }
    out
}
