//! `self-heal demo`: builds a synthetic run history and walks the healing loop on it.
//!
//! The history is written by `selfheal-synth` (deterministic for a seed) into a fresh file;
//! the analysis then runs "as of" the history's end, exactly as the MCP tools would. The
//! default profile plants a fix: one pattern's failures stop at a known instant. The demo
//! detects it, proposes a fix, tests it against the history, records it as applied at that
//! instant, verifies it (before against after, with the statistics) and ends with the healing
//! report. The demo's inbox notes go next to its database, and no config file, policy or
//! import from the environment is touched.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use selfheal_app::args::{
    ApplyArgs, DashboardArgs, DetectArgs, ProposeArgs, ReportArgs, TestArgs, VerifyArgs,
};
use selfheal_app::render::{self, Style};
use selfheal_app::views::{
    ApplyView, DashboardView, DetectView, ProposeView, ReportView, TestView, VerifyView,
};
use selfheal_app::{App, Clock, Config};
use selfheal_synth::{GroundTruth, Profile, SynthConfig, generate};

/// What the demo did, for `--json`.
#[derive(Serialize)]
struct DemoView {
    database: String,
    events: u64,
    runs: u64,
    detect: DetectView,
    dashboard: DashboardView,
    /// The walk through the loop (absent when the history plants no fix).
    loop_walk: Option<LoopWalk>,
}

#[derive(Serialize)]
struct LoopWalk {
    pattern_id: String,
    /// When the planted fix took effect.
    fixed_at: String,
    propose: ProposeView,
    test: TestView,
    apply: ApplyView,
    verify: VerifyView,
    report: ReportView,
}

/// Days compared before and after the fix.
const VERIFY_DAYS: i64 = 7;

pub fn run(
    out: Option<PathBuf>,
    seed: u64,
    events: u64,
    profile: Profile,
    html: Option<PathBuf>,
    json: bool,
    style: Style,
) -> anyhow::Result<()> {
    if events == 0 || events > 20_000_000 {
        anyhow::bail!("--events must be from 1 to 20000000; got {events}");
    }
    let path = match out {
        Some(p) => {
            if p.exists() {
                anyhow::bail!(
                    "{} already exists; choose a new path for the demo database",
                    p.display()
                );
            }
            p
        }
        None => tempfile::Builder::new()
            .prefix("self-heal-demo-")
            .tempdir()
            .context("cannot create a temporary directory")?
            .keep()
            .join("demo.db"),
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

    let app = App::new(demo_config(&path), Clock::Fixed(end.timestamp_millis()));
    let mut quiet = |_: u64, _: u64| {};
    let detect = app.detect_failure_patterns(&DetectArgs::default(), &mut quiet)?;
    let dashboard = app.get_health_dashboard(&DashboardArgs::default(), &mut quiet)?;
    let walk = walk_the_loop(&app, &truth)?;
    if let Some(h) = &html {
        let page = app.report_page(
            &ReportArgs {
                since: "-30d".into(),
                detail: selfheal_app::args::Detail::Full,
            },
            &mut quiet,
        )?;
        selfheal_app::page::write_report_page(h, &selfheal_app::page::report_page(&page)?)?;
    }
    if json {
        let view = DemoView {
            database: path.display().to_string(),
            events: truth.total_events,
            runs: truth.total_runs,
            detect,
            dashboard,
            loop_walk: walk,
        };
        return crate::emit(true, &view, |_| String::new());
    }
    let mut text = format!(
        "Demo run history ({profile} profile): {} events in {} runs over {} days, written to {}\n\n",
        truth.total_events,
        truth.total_runs,
        cfg.days,
        path.display()
    );
    let db = path.display().to_string();
    let mut section = |title: String, body: String| {
        text.push_str(&format!("== {title} ==\n{body}\n"));
    };
    section(
        "Failure patterns now (self-heal detect)".into(),
        render::detect_styled(&detect, &style),
    );
    section(
        "Dashboard (self-heal dashboard)".into(),
        render::dashboard_styled(&dashboard, &style),
    );
    match &walk {
        None => section(
            "The healing loop".into(),
            "This history plants no fix to verify (the default profile does: self-heal demo).\n"
                .into(),
        ),
        Some(w) => {
            let id = &w.propose.improvement_id;
            section(
                format!(
                    "1. Propose a fix for {} (self-heal propose {})",
                    w.pattern_id, w.pattern_id
                ),
                render::propose(&w.propose),
            );
            section(
                format!("2. Test it against the history (self-heal test {id})"),
                render::test(&w.test),
            );
            section(
                format!(
                    "3. Apply it; the fix took effect at {} (self-heal apply {id} --changes … --applied-at {})",
                    w.fixed_at, w.fixed_at
                ),
                render::apply(&w.apply),
            );
            section(
                format!(
                    "4. Verify: {VERIFY_DAYS} days before against {VERIFY_DAYS} days after (self-heal verify {id})"
                ),
                render::verify_styled(&w.verify, &style),
            );
            section(
                "5. Healing report (self-heal report)".into(),
                render::report(&w.report),
            );
        }
    }
    if let Some(h) = &html {
        text.push_str(&format!("Report page written to {}\n", h.display()));
    }
    text.push_str(&format!(
        "Explore further:\n  self-heal --db {db} dashboard\n  self-heal --db {db} show {}\n  self-heal --db {db} improvements\n",
        detect
            .patterns
            .first()
            .map_or("<pattern-id>", |p| p.id.as_str())
    ));
    crate::print_styled(&text, style)
}

/// The demo's own settings: its database, an inbox beside it, nothing from the environment
/// that could reach a real config file, policy or history.
fn demo_config(db: &Path) -> Config {
    Config {
        db_path: db.to_path_buf(),
        inbox_path: db.with_extension("inbox"),
        index: None,
        playbooks_dir: None,
        config_file: None,
        import_paths: Vec::new(),
        policy_file: None,
        pause_file: None,
    }
}

/// Proposes, tests, applies (at the planted instant) and verifies the fix of the first
/// pattern whose failures stop at a known instant; `None` when the history plants none.
fn walk_the_loop(app: &App, truth: &GroundTruth) -> anyhow::Result<Option<LoopWalk>> {
    let Some(planted) = truth
        .patterns
        .iter()
        .filter(|p| p.fixed_at_ms.is_some())
        .max_by_key(|p| p.occurrences)
    else {
        return Ok(None);
    };
    let Some(fixed_at_ms) = planted.fixed_at_ms else {
        return Ok(None);
    };
    let fixed_at = selfheal_core::time::format_ms(fixed_at_ms);
    let mut quiet = |_: u64, _: u64| {};
    // The pattern as the analysis names it: its class and tool over the whole history.
    let all = app.detect_failure_patterns(
        &DetectArgs {
            since: "-30d".into(),
            tool_name: Some(planted.tool.clone()),
            ..DetectArgs::default()
        },
        &mut quiet,
    )?;
    let Some(pattern) = all
        .patterns
        .iter()
        .find(|p| p.error_type == planted.expected_class)
    else {
        anyhow::bail!(
            "the demo history's planted fix ({} on {}) was not detected",
            planted.expected_class,
            planted.tool
        );
    };
    let pattern_id = pattern.id.clone();
    let propose = app.propose_improvement(
        &ProposeArgs {
            pattern_id: pattern_id.clone(),
            since: "-30d".into(),
        },
        &mut quiet,
    )?;
    let id = propose.improvement_id.clone();
    let test = app.test_improvement(
        &TestArgs {
            improvement_id: id.clone(),
            mode: "simulation".into(),
        },
        &mut quiet,
    )?;
    let apply = app.apply_improvement(
        &ApplyArgs {
            improvement_id: id.clone(),
            changes_made: format!(
                "{} (the change the history plants at {fixed_at})",
                propose.description
            ),
            commit_hash: None,
            applied_at: Some(fixed_at.clone()),
            config_action: None,
            config_path: None,
            override_block: false,
        },
        &mut quiet,
    )?;
    let verify = app.verify_improvement(
        &VerifyArgs {
            improvement_id: id,
            measurement_window_days: VERIFY_DAYS,
        },
        &mut quiet,
    )?;
    let report = app.get_healing_report(
        &ReportArgs {
            since: "-30d".into(),
            detail: selfheal_app::args::Detail::Full,
        },
        &mut quiet,
    )?;
    Ok(Some(LoopWalk {
        pattern_id,
        fixed_at,
        propose,
        test,
        apply,
        verify,
        report,
    }))
}
