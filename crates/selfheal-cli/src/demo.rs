//! `self-heal demo`: builds a synthetic run history and shows what the analysis finds in it.
//!
//! The history is written by `selfheal-synth` (deterministic for a seed) into a fresh file;
//! the analysis then runs "as of" the history's end, exactly as the MCP tools would.

use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;

use selfheal_app::args::{DashboardArgs, DetectArgs};
use selfheal_app::views::{DashboardView, DetectView};
use selfheal_app::{App, Clock, Config, render};
use selfheal_synth::{Profile, SynthConfig, generate};

#[derive(Serialize)]
struct DemoView {
    database: String,
    events: u64,
    runs: u64,
    detect: DetectView,
    dashboard: DashboardView,
}

pub fn run(
    out: Option<PathBuf>,
    seed: u64,
    events: u64,
    profile: Profile,
    json: bool,
) -> anyhow::Result<()> {
    if events == 0 || events > 20_000_000 {
        anyhow::bail!("--events must be from 1 to 20000000; got {events}");
    }
    let (path, _keep) = match out {
        Some(p) => {
            if p.exists() {
                anyhow::bail!(
                    "{} already exists; choose a new path for the demo database",
                    p.display()
                );
            }
            (p, None)
        }
        None => {
            let dir = tempfile::Builder::new()
                .prefix("self-heal-demo-")
                .tempdir()
                .context("cannot create a temporary directory")?
                .keep();
            (dir.join("demo.db"), Some(()))
        }
    };
    let end = chrono::Utc::now();
    let mut cfg = SynthConfig::demo(end);
    cfg.seed = seed;
    cfg.target_events = events;
    cfg.profile = profile;
    let mut conn = rusqlite::Connection::open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let truth = generate(&mut conn, &cfg)?;
    drop(conn);

    let mut config = Config::from_env(Some(path.clone()), None);
    config.index = None;
    let app = App::new(config, Clock::Fixed(end.timestamp_millis()));
    let mut quiet = |_: u64, _: u64| {};
    let detect = app.detect_failure_patterns(&DetectArgs::default(), &mut quiet)?;
    let dashboard = app.get_health_dashboard(&DashboardArgs::default(), &mut quiet)?;
    if json {
        let view = DemoView {
            database: path.display().to_string(),
            events: truth.total_events,
            runs: truth.total_runs,
            detect,
            dashboard,
        };
        println!("{}", serde_json::to_string_pretty(&view)?);
        return Ok(());
    }
    println!(
        "Demo run history ({} profile): {} events in {} runs over {} days, written to {}\n",
        profile,
        truth.total_events,
        truth.total_runs,
        cfg.days,
        path.display()
    );
    println!(
        "== Failure patterns (self-heal detect --since -7d) ==\n{}",
        render::detect(&detect)
    );
    println!(
        "== Dashboard (self-heal dashboard) ==\n{}",
        render::dashboard(&dashboard)
    );
    println!(
        "Explore further:\n  self-heal --db {0} show {1}\n  self-heal --db {0} tools\n  self-heal --db {0} stalled",
        path.display(),
        detect
            .patterns
            .first()
            .map_or("<pattern-id>", |p| p.id.as_str())
    );
    Ok(())
}
