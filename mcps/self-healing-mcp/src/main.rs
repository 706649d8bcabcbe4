//! `self-healing-mcp`: the stdio MCP server binary.
//!
//! stdout carries only JSON-RPC; logs go to stderr (`RUST_LOG`, default `info,rmcp=warn`).
//! Configuration: `DATABASE_PATH`, `INBOX_PATH`, `SELFHEAL_INDEX_DIR`, `SELFHEAL_NOW`, or the
//! flags `--db PATH` and `--inbox PATH`.

/// mimalloc: a catch-up parses events on one thread and frees them on another, where glibc's
/// allocator contends on its arena locks (about 15% of a cold catch-up).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use rmcp::ServiceExt;
use self_healing_mcp::SelfHealServer;
use selfheal_app::{App, Clock, Config};

fn parse_flags() -> anyhow::Result<(Option<PathBuf>, Option<PathBuf>)> {
    let (mut db, mut inbox) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--db" => db = Some(PathBuf::from(args.next().context("--db needs a path")?)),
            "--inbox" => inbox = Some(PathBuf::from(args.next().context("--inbox needs a path")?)),
            "--version" | "-V" => {
                eprintln!("self-healing-mcp {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            "--help" | "-h" => {
                eprintln!(
                    "self-healing-mcp {}: MCP server over stdio.\n\nUsage: self-healing-mcp [--db PATH] [--inbox DIR]\n\nEnvironment: DATABASE_PATH, INBOX_PATH, SELFHEAL_INDEX_DIR, SELFHEAL_NOW, RUST_LOG",
                    env!("CARGO_PKG_VERSION")
                );
                std::process::exit(0);
            }
            other => bail!(
                "unknown argument {other:?}; accepted: --db PATH, --inbox DIR, --help, --version"
            ),
        }
    }
    Ok((db, inbox))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rmcp=warn")),
        )
        .init();
    let (db, inbox) = parse_flags()?;
    let config = Config::from_env(db, inbox);
    let clock = Clock::from_env()?;
    let app = Arc::new(App::new(config, clock));
    // Report a broken database at start; keep serving so each call can say what is wrong.
    // Off the async threads: opening a PostgreSQL history blocks on its own client runtime.
    let checking = app.clone();
    let checked = tokio::task::spawn_blocking(move || checking.check())
        .await
        .unwrap_or_else(|e| Err(selfheal_app::AppError::Internal(e.to_string())));
    match checked {
        Ok(()) => tracing::info!(db = %app.config().database_name(), "run history opened"),
        Err(_) if !app.config().db_path.exists() && !app.config().import_paths.is_empty() => {
            tracing::info!(
                db = %app.config().database_name(),
                "the run history will be created by the first import (SELFHEAL_IMPORT)"
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "run history not usable yet; tool calls will report it")
        }
    }
    // The last reference is dropped off the async threads too: a PostgreSQL client closes by
    // blocking on its own runtime.
    let last = app.clone();
    let served = match SelfHealServer::new(app)
        .serve(rmcp::transport::stdio_pipes())
        .await
    {
        Ok(service) => service
            .waiting()
            .await
            .map(drop)
            .map_err(anyhow::Error::from),
        Err(e) => Err(anyhow::Error::from(e).context("cannot start the MCP server on stdio")),
    };
    let _ = tokio::task::spawn_blocking(move || drop(last)).await;
    served
}
