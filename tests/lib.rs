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
        inbox_path: db.with_extension("inbox"),
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
