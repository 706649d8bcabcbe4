//! `self-heal`: the command-line face of self-healing-mcp.
//!
//! Every analysis subcommand calls the same `selfheal_app::App` use case as the MCP tool of the
//! same purpose; `--json` prints exactly the tool's structured content, the default prints the
//! same text rendering the tool sends. Errors go to stderr with exit code 1 (bad input or
//! database state) or 2 (usage, from clap).
//!
//! Text from the run history never reaches the terminal raw: the text renderings escape it,
//! every text output gets one more terminal pass (`sanitize::clean`), and JSON is written with
//! DEL, C1 and invisible characters as `\uXXXX` escapes (it still parses to the exact
//! strings). `apply` and `rollback` show what will change and ask on a terminal (`--yes`
//! skips the question; without a terminal and without `--yes` they refuse).

#![allow(clippy::print_stdout)] // printing is this binary's job

mod classify;
mod collect;
mod demo;
mod hook;
mod import;
mod templates;
mod watch;

/// mimalloc: a catch-up parses events on one thread and frees them on another, where glibc's
/// allocator contends on its arena locks (about 15% of a cold catch-up).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde::Serialize;

use selfheal_app::analysis::Progress;
use selfheal_app::args::{
    AgentArgs, ApplyArgs, CloseArgs, DashboardArgs, DetectArgs, GetImprovementArgs, ListArgs,
    PatternArgs, ProposeArgs, ReportArgs, RunHealthArgs, StalledArgs, TestArgs, ToolArgs,
    VerifyArgs,
};
use selfheal_app::page;
use selfheal_app::render::Style;
use selfheal_app::sanitize::{self, Sink};
use selfheal_app::{App, AppError, Clock, Config, render};
use selfheal_store::Database;

#[derive(Parser)]
#[command(
    name = "self-heal",
    version,
    about = "Detect recurring failures in an agent's run history and heal them"
)]
struct Cli {
    /// Run-history SQLite file [env: DATABASE_PATH; default ~/.binks/conversations.db]
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// Inbox directory for notes [env: INBOX_PATH; default ~/.notes/inbox]
    #[arg(long, global = true)]
    inbox: Option<PathBuf>,
    /// Print the result as JSON (the MCP tool's structured content)
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Detect recurring failure patterns (MCP: detect_failure_patterns)
    Detect {
        /// Window start: -7d, 7d, -24h, -30m, -2w or an RFC 3339 instant
        #[arg(long, default_value = "-7d", allow_hyphen_values = true)]
        since: String,
        /// Minimum occurrences for a pattern
        #[arg(long, default_value_t = 3, allow_hyphen_values = true)]
        min_occurrences: i64,
        /// Minimum confidence in [0, 1]
        #[arg(long, default_value_t = 0.75, allow_hyphen_values = true)]
        confidence: f64,
        /// Only this error type (the id part before ':')
        #[arg(long)]
        error_type: Option<String>,
        /// Only this tool
        #[arg(long)]
        tool: Option<String>,
        /// Maximum patterns listed (1 to 500)
        #[arg(long, default_value_t = 8, allow_hyphen_values = true)]
        limit: i64,
        /// Continue after a previous page (its next_cursor; same filters)
        #[arg(long)]
        cursor: Option<String>,
        /// full (for people: per-day series, longer lists) or summary (what an agent gets over MCP)
        #[arg(long, default_value = "full", value_parser = ["summary", "full"])]
        detail: String,
    },
    /// Show one pattern in full (MCP: get_pattern)
    Show {
        /// Pattern id, e.g. timeout:fetch_url
        pattern_id: String,
        /// Window start: -30d, -24h, -2w or an RFC 3339 instant
        #[arg(long, default_value = "-30d", allow_hyphen_values = true)]
        since: String,
        /// Recent failures to list
        #[arg(long, default_value_t = 10, allow_hyphen_values = true)]
        samples: i64,
        /// full (for people: per-day series, longer lists) or summary (what an agent gets over MCP)
        #[arg(long, default_value = "full", value_parser = ["summary", "full"])]
        detail: String,
    },
    /// Overall health dashboard (MCP: get_health_dashboard)
    Dashboard {
        /// Window start: -7d, -24h, -2w or an RFC 3339 instant
        #[arg(long, default_value = "-7d", allow_hyphen_values = true)]
        since: String,
        /// Include per-agent and per-tool tables
        #[arg(long)]
        detailed: bool,
        /// full (for people: per-day series, longer lists) or summary (what an agent gets over MCP)
        #[arg(long, default_value = "full", value_parser = ["summary", "full"])]
        detail: String,
    },
    /// Health of one run (MCP: analyze_run_health)
    Health {
        /// The run id
        run_id: String,
    },
    /// Per-agent metrics (MCP: compute_agent_metrics)
    Agents {
        /// Window start (runs started in it): -7d, -24h, -2w or an RFC 3339 instant
        #[arg(long, default_value = "-7d", allow_hyphen_values = true)]
        since: String,
        /// Only this agent
        #[arg(long)]
        agent: Option<String>,
    },
    /// Per-tool reliability (MCP: compute_tool_reliability)
    Tools {
        /// Window start (calls made in it): -7d, -24h, -2w or an RFC 3339 instant
        #[arg(long, default_value = "-7d", allow_hyphen_values = true)]
        since: String,
        /// Only this tool
        #[arg(long)]
        tool: Option<String>,
        /// Maximum tools listed, least reliable first (1 to 500)
        #[arg(long, default_value_t = 15, allow_hyphen_values = true)]
        limit: i64,
        /// Continue after a previous page (its next_cursor; same filters)
        #[arg(long)]
        cursor: Option<String>,
        /// full (for people: per-day series, longer lists) or summary (what an agent gets over MCP)
        #[arg(long, default_value = "full", value_parser = ["summary", "full"])]
        detail: String,
    },
    /// Running runs with no recent event (MCP: detect_stalled_runs)
    Stalled {
        /// Minutes without an event before a run counts as stalled
        #[arg(long, default_value_t = 10, allow_hyphen_values = true)]
        threshold_minutes: i64,
    },
    /// Classify flagged calls given as JSON lines (a file or stdin), exactly as the analysis does
    ///
    /// Each input line: {"tool", "message", "error_type"?, "duration_ms"?, "input"?,
    /// "exit_code"?, "interrupted"?, "status"?}. Each output line: {"outcome", "class",
    /// "confidence", "signals", "program", "template", "template_id", "salient", "exit_code"}.
    Classify {
        /// Input file of JSON lines; stdin when absent
        file: Option<PathBuf>,
    },
    /// Template every line of a file (or stdin), as the analysis does
    Templates {
        /// Input file; stdin when absent
        file: Option<PathBuf>,
    },
    /// Propose an improvement for a pattern (MCP: propose_improvement)
    Propose {
        /// Pattern id, e.g. timeout:fetch_url (from `detect`)
        pattern_id: String,
        /// Window of the evidence: -30d, -7d or an RFC 3339 instant
        #[arg(long, default_value = "-30d", allow_hyphen_values = true)]
        since: String,
    },
    /// Test an improvement: simulation, canary or shadow (MCP: test_improvement)
    Test {
        /// Improvement id, e.g. imp-20261120-3fa9c2
        improvement_id: String,
        /// simulation (replay the history), canary (compare tagged runs) or shadow
        #[arg(long, default_value = "simulation")]
        mode: String,
    },
    /// Record an improvement as applied (MCP: apply_improvement)
    Apply {
        /// Improvement id, e.g. imp-20261120-3fa9c2
        improvement_id: String,
        /// What was changed
        #[arg(long)]
        changes: String,
        /// The commit that made the change (recorded with the improvement)
        #[arg(long)]
        commit: Option<String>,
        /// When the change took effect (RFC 3339; default now)
        #[arg(long)]
        applied_at: Option<String>,
        /// preview or apply the edit of the declared config file
        #[arg(long)]
        config_action: Option<String>,
        /// The config file to edit; must be the declared one (defaults to it)
        #[arg(long)]
        config_path: Option<String>,
        /// Apply although the pattern is BLOCKed
        #[arg(long)]
        override_block: bool,
        /// Apply without asking (needed when stdin is not a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Verify an applied improvement (MCP: verify_improvement)
    Verify {
        /// Improvement id, e.g. imp-20261120-3fa9c2
        improvement_id: String,
        /// Days compared before and after the apply (1 to 90)
        #[arg(long, default_value_t = 7, allow_hyphen_values = true)]
        window_days: i64,
    },
    /// Roll back an applied improvement (MCP: rollback_improvement)
    Rollback {
        /// Improvement id, e.g. imp-20261120-3fa9c2
        improvement_id: String,
        /// Why (recorded in the audit trail)
        #[arg(long)]
        reason: Option<String>,
        /// Remove a lesson's block even when a person edited inside it
        #[arg(long)]
        force: bool,
        /// Roll back without asking (needed when stdin is not a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Reject a proposed or tested improvement (MCP: reject_improvement)
    Reject {
        /// Improvement id, e.g. imp-20261120-3fa9c2
        improvement_id: String,
        /// Why (recorded in the audit trail)
        #[arg(long)]
        reason: Option<String>,
    },
    /// List improvements (MCP: list_improvements)
    Improvements {
        /// Only this status: proposed, tested, applied, verified, rolled_back or rejected
        #[arg(long)]
        status: Option<String>,
        /// Page size (1 to 100)
        #[arg(long, default_value_t = 10, allow_hyphen_values = true)]
        limit: i64,
        /// Continue after a previous page (its next_cursor)
        #[arg(long)]
        cursor: Option<String>,
        /// full (adds evidence, actions, tests) or summary (what each is and where it stands)
        #[arg(long, default_value = "full", value_parser = ["summary", "full"])]
        detail: String,
    },
    /// Show one improvement with its audit trail (MCP: get_improvement)
    Improvement {
        /// Improvement id, e.g. imp-20261120-3fa9c2
        improvement_id: String,
    },
    /// Healing report (MCP: get_healing_report)
    Report {
        /// Period start: -30d, -7d or an RFC 3339 instant
        #[arg(long, default_value = "-30d", allow_hyphen_values = true)]
        since: String,
        /// Write the report as one self-contained HTML page (dashboard, charts, patterns,
        /// improvements; no network needed to view it) to FILE and print its path
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Daemon: detect new patterns, run due verifications, find stalled runs, write notes
    Watch {
        /// Seconds between passes
        #[arg(long, default_value_t = 300)]
        interval: u64,
        /// Run one pass and exit
        #[arg(long)]
        once: bool,
        /// Act under the healing policy (SELFHEAL_POLICY): apply the fixes it allows, roll back
        /// the ones it applied that regress
        #[arg(long)]
        heal: bool,
        /// With --heal: print what one pass would do, and change nothing
        #[arg(long, requires = "heal")]
        dry_run: bool,
    },
    /// The healing policy (SELFHEAL_POLICY): what it allows and what each current pattern
    /// would get
    Policy,
    /// Create the run-history tables in a new (or existing) database: an SQLite file, or a
    /// PostgreSQL database (--db postgres://…)
    Init {
        /// Copy this SQLite run history into the new PostgreSQL one (runs, events, metrics);
        /// the PostgreSQL history must hold no event yet
        #[arg(long, value_name = "FILE")]
        copy_from: Option<PathBuf>,
    },
    /// Import other agents' histories (files or folders, recursively) into the database
    ///
    /// Claude Code transcripts, Codex CLI rollouts, Gemini CLI chats (JSON and JSONL), OpenCode's
    /// opencode.db, GitHub Copilot CLI session events, SWE-agent and mini-swe-agent
    /// trajectories, OpenTelemetry GenAI spans (OTLP JSON) and self-heal's own JSONL. The
    /// database is created when missing. Importing again reads only what is new.
    Import {
        /// auto (detect each file by its content), claude-code, codex, gemini-cli,
        /// gemini-cli-jsonl, copilot-cli, opencode, swe-agent, otel or jsonl
        #[arg(long, default_value = "auto")]
        format: String,
        /// Files or folders
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Receive the harnesses' own telemetry over OTLP/HTTP into the run history
    ///
    /// POST /v1/logs and /v1/traces, protobuf or JSON, gzip or not: Claude Code's
    /// claude_code.tool_result and tool_decision, Codex's codex.tool_result, Gemini CLI's
    /// gemini_cli.tool_call, OpenCode's Tool.execute spans and GenAI execute_tool spans
    /// (Copilot CLI) become runs and tool calls, answered 200 once committed. Point a
    /// harness's OTEL_EXPORTER_OTLP_ENDPOINT at http://<listen>. Runs until interrupted,
    /// with a progress line on stderr.
    Collect {
        /// Address to listen on (the OTLP/HTTP port is 4318)
        #[arg(long, default_value = "127.0.0.1:4318")]
        listen: String,
        /// Largest request body accepted, in MiB (after inflating gzip)
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
        max_body_mib: u32,
        /// Bearer token every request must carry; required to listen on an address other
        /// than loopback (harnesses send it with OTEL_EXPORTER_OTLP_HEADERS)
        #[arg(long, env = "SELFHEAL_COLLECT_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Seconds a request may take (its body read and its records committed)
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
        request_timeout: u64,
    },
    /// The hook command `install` registers: reads the hook event on stdin and answers it
    ///
    /// Records Claude Code's events (PostToolUse, PostToolUseFailure, PreToolUse, SessionStart,
    /// Stop, SessionEnd). A call that matches a lesson in force — before it runs, or after it
    /// failed — is answered with the lesson as additionalContext in the shape its harness
    /// reads (Claude Code, Codex, Gemini CLI, our OpenCode plugin, Copilot CLI); otherwise
    /// prints nothing. Always exits 0; problems go to a log file
    /// (SELFHEAL_HOOK_LOG, default $XDG_STATE_HOME/self-healing-mcp/hook.log).
    Hook,
    /// Register the hook (and, for Claude Code in a project, the MCP server) with an agent
    /// harness: claude-code, codex, gemini, opencode or copilot. Shows the diff and asks (or
    /// --yes); installing twice changes nothing
    Install(InstallArgs),
    /// Remove what `install` registered (only our entries)
    Uninstall(InstallArgs),
    /// Build a demo run history and walk the healing loop on it: detect, propose, test, apply,
    /// verify, report
    Demo {
        /// Where to write the demo database [default: a fresh temporary directory]
        #[arg(long)]
        out: Option<PathBuf>,
        /// Generator seed
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Approximate number of events
        #[arg(long, default_value_t = 20_000)]
        events: u64,
        /// History shape: default (few planted patterns and a planted fix, walked through the
        /// healing loop) or real (shaped like real agents' histories: 55 tools, shell
        /// programs, a few hundred failure causes)
        #[arg(long, default_value = "default")]
        profile: selfheal_synth::Profile,
        /// Also write the report page (dashboard, healing report, patterns, improvements) to
        /// this HTML file
        #[arg(long)]
        html: Option<PathBuf>,
    },
}

/// Whether the command line asks for `hook` (its first word that is not an option or an
/// option's value): a hook must exit 0 even when its command line is wrong.
fn is_hook_invocation() -> bool {
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        let a = a.to_string_lossy();
        if a == "--db" || a == "--inbox" {
            args.next();
        } else if !a.starts_with('-') {
            return a == "hook";
        }
    }
    false
}

fn main() -> ExitCode {
    if is_hook_invocation() {
        return hook_main();
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", sanitize::error_text(&format!("{e:#}")));
            ExitCode::from(1)
        }
    }
}

/// `self-heal hook`: never fails, never panics out; prints only a guidance answer.
fn hook_main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        hook::log(&format!("internal error: {info}"))
    }));
    // Read the event first, whatever follows: the agent's write to stdin must never fail.
    let input = hook::read_input();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            hook::log(&format!("bad command line: {e}"));
            return ExitCode::SUCCESS;
        }
    };
    let db = Config::from_env(cli.db, cli.inbox).db_path;
    if let Ok(Some(answer)) = std::panic::catch_unwind(move || hook::run(&db, input)) {
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .is_err()
        {
            hook::log("could not write the guidance to stdout");
        }
    }
    ExitCode::SUCCESS
}

/// Where `install` and `uninstall` act, and how.
#[derive(clap::Args, Debug)]
struct InstallArgs {
    /// claude-code, codex, gemini, opencode or copilot
    harness: String,
    /// The project (its .claude/, .codex/ or .gemini/ settings)
    #[arg(long, conflicts_with = "user")]
    project: Option<PathBuf>,
    /// Every project of this user (settings under the home)
    #[arg(long)]
    user: bool,
    /// Show what would change and change nothing
    #[arg(long)]
    dry_run: bool,
    /// Write without asking
    #[arg(long, short = 'y')]
    yes: bool,
}

/// `install` / `uninstall`: plans the settings edits, shows them, asks, writes.
fn install(db: Option<PathBuf>, json: bool, args: InstallArgs, remove: bool) -> anyhow::Result<()> {
    use selfheal_app::install as inst;
    let InstallArgs {
        harness,
        project,
        user,
        dry_run,
        yes,
    } = args;
    let Some(h) = selfheal_harness::Harness::parse(&harness) else {
        anyhow::bail!(
            "unknown harness {}; use claude-code, codex, gemini, opencode or copilot",
            sanitize::echo(&harness)
        );
    };
    if project.is_none() && !user {
        anyhow::bail!(
            "say where: --project DIR (that project) or --user (every project of this user)"
        );
    }
    let (root, scope) = inst::root_of(project)?;
    let config = Config::from_env(db, None);
    if let Database::Postgres(_) = config.database() {
        // The hook command and .mcp.json would carry the connection string (and its
        // password) into files of the project.
        anyhow::bail!(
            "install registers an SQLite run history; for the shared PostgreSQL one ({}) add DATABASE_URL to the server's env in .mcp.json yourself (README \"For a team\"), so its password stays out of files install writes",
            config.database_name()
        );
    }
    // The database the hook writes to and reads lessons from, as an absolute path.
    let db_path = std::path::absolute(&config.db_path).context("resolve the database path")?;
    let cli_path = std::env::current_exe().context("find this program's path")?;
    let server = cli_path.with_file_name("self-healing-mcp");
    let command = selfheal_harness::install::hook_command(
        &cli_path.display().to_string(),
        &db_path.display().to_string(),
    );
    let planned = inst::plan(
        h,
        &root,
        scope,
        &command,
        server
            .is_file()
            .then_some((server.as_path(), db_path.as_path())),
        remove,
    )?;
    let mut view = inst::InstallView {
        harness: h,
        scope,
        root: root.display().to_string(),
        hook_command: command,
        planned,
        written: Vec::new(),
    };
    if !view.planned.is_empty() && !dry_run {
        confirm(
            yes,
            &render::install(&view),
            if remove { "uninstall" } else { "install" },
        )?;
        view.written = inst::write(&view.planned, &db_path)?;
    }
    emit(json, &view, render::install)
}

/// Prints a view as JSON or text, safe for a terminal either way.
fn emit<V: Serialize>(json: bool, view: &V, text: fn(&V) -> String) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        sanitize::write_json(&mut out, view, true)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", sanitize::clean(&text(view), Sink::Terminal))?;
    }
    Ok(())
}

/// Prints a view as JSON or text decorated for the terminal when stdout is one (sparklines,
/// colours); the terminal pass keeps only the rendering's own colour codes.
fn emit_styled<V: Serialize>(
    json: bool,
    view: &V,
    text: fn(&V, &Style) -> String,
) -> anyhow::Result<()> {
    if json {
        return emit(json, view, |_| String::new());
    }
    let style = terminal_style();
    print_styled(&text(view, &style), style)
}

/// Prints a styled rendering through the terminal pass (keeping only the rendering's own
/// colour codes when colour is on).
fn print_styled(rendered: &str, style: Style) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if style.colour {
        write!(
            out,
            "{}",
            sanitize::clean_keeping(rendered, Sink::Terminal, &render::STYLE_CODES)
        )?;
    } else {
        write!(out, "{}", sanitize::clean(rendered, Sink::Terminal))?;
    }
    Ok(())
}

/// Sparklines and colour when stdout is a terminal, unless `NO_COLOR` is set (to anything
/// but the empty string) or `TERM` is `dumb`.
fn terminal_style() -> Style {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    if std::io::stdout().is_terminal() && !no_color && !dumb {
        Style::TERMINAL
    } else {
        Style::PLAIN
    }
}

/// Shows what a change will do and asks on the terminal; `yes` skips the question. Without
/// a terminal (stdin and stderr) and without `yes`, refuses: nothing is changed.
fn confirm(yes: bool, what: &str, verb: &str) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal};
    if yes {
        return Ok(());
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        anyhow::bail!(
            "{verb} changes the improvement's state (and the config file, when an edit is part of it) and needs a confirmation, but there is no terminal to ask on; nothing was changed. Pass --yes to {verb} without asking"
        );
    }
    let mut err = std::io::stderr().lock();
    write!(
        err,
        "{}{verb}? [y/N] ",
        sanitize::clean(what, Sink::Terminal)
    )?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        anyhow::bail!("not confirmed; nothing was changed")
    }
}

/// A progress bar on stderr for a catch-up (or an import before it) that is still running
/// after a moment; only when stderr is a terminal.
fn progress() -> impl FnMut(u64, u64) {
    use std::io::IsTerminal;
    use std::time::{Duration, Instant};
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut bar: Option<indicatif::ProgressBar> = None;
    move |done, total| {
        if !tty || started.elapsed() < Duration::from_millis(300) {
            return;
        }
        let bar = bar.get_or_insert_with(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::stderr_with_hz(8),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} catching up {pos}/{len} {wide_bar} {per_sec} eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        bar.set_length(total);
        bar.set_position(done);
        if done >= total {
            bar.finish_and_clear();
        }
    }
}

fn app(cli_db: Option<PathBuf>, inbox: Option<PathBuf>) -> anyhow::Result<App> {
    Ok(
        App::new(Config::from_env(cli_db, inbox), Clock::from_env()?)
            .with_actor(selfheal_core::lifecycle::Actor::Person),
    )
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let json = cli.json;
    let mut p = progress();
    let p: Progress<'_> = &mut p;
    match cli.command {
        Command::Detect {
            since,
            min_occurrences,
            confidence,
            error_type,
            tool,
            limit,
            cursor,
            detail,
        } => {
            let args = DetectArgs {
                since,
                min_occurrences,
                confidence_threshold: confidence,
                error_type,
                tool_name: tool,
                limit,
                detail: detail_of(&detail),
                cursor,
            };
            let view = app(cli.db, cli.inbox)?.detect_failure_patterns(&args, p)?;
            emit_styled(json, &view, render::detect_styled)
        }
        Command::Show {
            pattern_id,
            since,
            samples,
            detail,
        } => {
            let args = PatternArgs {
                pattern_id,
                since,
                samples,
                detail: detail_of(&detail),
            };
            emit_styled(
                json,
                &app(cli.db, cli.inbox)?.get_pattern(&args, p)?,
                render::pattern_styled,
            )
        }
        Command::Dashboard {
            since,
            detailed,
            detail,
        } => {
            let args = DashboardArgs {
                since,
                detailed,
                detail: detail_of(&detail),
            };
            emit_styled(
                json,
                &app(cli.db, cli.inbox)?.get_health_dashboard(&args, p)?,
                render::dashboard_styled,
            )
        }
        Command::Health { run_id } => {
            let args = RunHealthArgs { run_id };
            emit(
                json,
                &app(cli.db, cli.inbox)?.analyze_run_health(&args, p)?,
                render::run_health,
            )
        }
        Command::Agents { since, agent } => {
            let args = AgentArgs { since, agent };
            emit(
                json,
                &app(cli.db, cli.inbox)?.compute_agent_metrics(&args, p)?,
                render::agents,
            )
        }
        Command::Tools {
            since,
            tool,
            limit,
            cursor,
            detail,
        } => {
            let args = ToolArgs {
                since,
                tool_name: tool,
                limit,
                detail: detail_of(&detail),
                cursor,
            };
            emit(
                json,
                &app(cli.db, cli.inbox)?.compute_tool_reliability(&args, p)?,
                render::tools,
            )
        }
        Command::Stalled { threshold_minutes } => {
            let args = StalledArgs { threshold_minutes };
            emit(
                json,
                &app(cli.db, cli.inbox)?.detect_stalled_runs(&args, p)?,
                render::stalled,
            )
        }
        Command::Classify { file } => {
            let mut out = std::io::stdout().lock();
            let bad = match file {
                Some(path) => {
                    let f = std::fs::File::open(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    classify::run(BufReader::new(f), &mut out)?
                }
                None => classify::run(std::io::stdin().lock(), &mut out)?,
            };
            if bad > 0 {
                anyhow::bail!(
                    "{bad} input line(s) could not be read; see their error objects in the output"
                );
            }
            Ok(())
        }
        Command::Templates { file } => {
            let mut out = std::io::stdout().lock();
            match file {
                Some(path) => {
                    let f = std::fs::File::open(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    templates::run(BufReader::new(f), json, &mut out)
                }
                None => templates::run(std::io::stdin().lock(), json, &mut out),
            }
        }
        Command::Propose { pattern_id, since } => {
            let args = ProposeArgs { pattern_id, since };
            emit(
                json,
                &app(cli.db, cli.inbox)?.propose_improvement(&args, p)?,
                render::propose,
            )
        }
        Command::Test {
            improvement_id,
            mode,
        } => {
            let args = TestArgs {
                improvement_id,
                mode,
            };
            emit(
                json,
                &app(cli.db, cli.inbox)?.test_improvement(&args, p)?,
                render::test,
            )
        }
        Command::Apply {
            improvement_id,
            changes,
            commit,
            applied_at,
            config_action,
            config_path,
            override_block,
            yes,
        } => {
            let args = ApplyArgs {
                improvement_id,
                changes_made: changes,
                commit_hash: commit,
                applied_at,
                config_action,
                config_path,
                override_block,
            };
            let app = app(cli.db, cli.inbox)?;
            // A preview changes nothing, so it needs no confirmation.
            if args.config_action.as_deref() == Some("preview") {
                return emit(json, &app.apply_improvement(&args, p)?, render::apply);
            }
            let preview = app.preview_apply(&args, p)?;
            confirm(yes, &render::apply_preview(&preview), "apply")?;
            let confirmed = preview
                .config_change
                .as_ref()
                .filter(|_| preview.writes_config)
                .map(selfheal_app::lifecycle::ConfirmedEdit::of);
            emit(
                json,
                &app.apply_improvement_confirmed(&args, confirmed.as_ref(), p)?,
                render::apply,
            )
        }
        Command::Verify {
            improvement_id,
            window_days,
        } => {
            let args = VerifyArgs {
                improvement_id,
                measurement_window_days: window_days,
            };
            emit_styled(
                json,
                &app(cli.db, cli.inbox)?.verify_improvement(&args, p)?,
                render::verify_styled,
            )
        }
        Command::Rollback {
            improvement_id,
            reason,
            force,
            yes,
        } => {
            let args = CloseArgs {
                improvement_id,
                reason,
                force,
            };
            let app = app(cli.db, cli.inbox)?;
            let preview = app.preview_rollback(&args)?;
            // Rolling back twice changes nothing, so it needs no confirmation.
            if preview.changes {
                confirm(yes, &render::rollback_preview(&preview), "roll back")?;
            }
            emit(
                json,
                &app.rollback_improvement(&args, p)?,
                render::transition,
            )
        }
        Command::Reject {
            improvement_id,
            reason,
        } => {
            let args = CloseArgs {
                improvement_id,
                reason,
                force: false,
            };
            emit(
                json,
                &app(cli.db, cli.inbox)?.reject_improvement(&args, p)?,
                render::transition,
            )
        }
        Command::Improvements {
            status,
            limit,
            cursor,
            detail,
        } => {
            let args = ListArgs {
                status,
                limit,
                cursor,
                detail: detail_of(&detail),
            };
            emit(
                json,
                &app(cli.db, cli.inbox)?.list_improvements(&args, p)?,
                render::list,
            )
        }
        Command::Improvement { improvement_id } => {
            let args = GetImprovementArgs { improvement_id };
            emit(
                json,
                &app(cli.db, cli.inbox)?.get_improvement(&args, p)?,
                render::improvement,
            )
        }
        Command::Report {
            since,
            html: Some(path),
        } => {
            let args = ReportArgs {
                since,
                detail: selfheal_app::args::Detail::Full,
            };
            let page = app(cli.db, cli.inbox)?.report_page(&args, p)?;
            page::write_report_page(&path, &page::report_page(&page)?)?;
            let written = path.display().to_string();
            if json {
                let mut out = std::io::stdout().lock();
                sanitize::write_json(&mut out, &serde_json::json!({ "path": written }), true)?;
                writeln!(out)?;
            } else {
                println!("{}", sanitize::clean(&written, Sink::Terminal));
            }
            Ok(())
        }
        Command::Report { since, html: None } => {
            // The CLI answers people: the whole report.
            let args = ReportArgs {
                since,
                detail: selfheal_app::args::Detail::Full,
            };
            emit(
                json,
                &app(cli.db, cli.inbox)?.get_healing_report(&args, p)?,
                render::report,
            )
        }
        Command::Watch {
            interval,
            once,
            heal,
            dry_run,
        } => {
            let options = watch::Options {
                interval_s: interval,
                once,
                heal,
                dry_run,
                json,
            };
            watch::run(app(cli.db, cli.inbox)?, options)
        }
        Command::Policy => emit(
            json,
            &app(cli.db, cli.inbox)?.heal_plan(p)?,
            selfheal_app::policy::render,
        ),
        Command::Init { copy_from } => {
            let config = Config::from_env(cli.db, cli.inbox);
            match (config.database(), copy_from) {
                (Database::Sqlite(path), None) => {
                    selfheal_store::source::init_run_history(&path).map_err(AppError::from)?
                }
                (Database::Sqlite(_), Some(_)) => anyhow::bail!(
                    "--copy-from copies into a PostgreSQL history: give --db postgres://…"
                ),
                (Database::Postgres(url), None) => drop(selfheal_postgres::connect_migrated(&url)?),
                (Database::Postgres(url), Some(from)) => {
                    let copied = selfheal_postgres::copy::copy_into_empty(&from, &url)?;
                    eprintln!(
                        "copied {} runs and {} events from {}",
                        copied.runs,
                        copied.events,
                        from.display()
                    );
                }
            }
            eprintln!("run-history tables ready in {}", config.database_name());
            Ok(())
        }
        Command::Demo {
            out,
            seed,
            events,
            profile,
            html,
        } => demo::run(out, seed, events, profile, html, json, terminal_style()),
        Command::Import { format, paths } => {
            let db = Config::from_env(cli.db, cli.inbox).database();
            if import::run(db, paths, &format, json)? {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "some paths or files could not be imported (listed above)"
                ))
            }
        }
        Command::Collect {
            listen,
            max_body_mib,
            token,
            request_timeout,
        } => {
            let db = Config::from_env(cli.db, cli.inbox).database();
            collect::run(
                db,
                &listen,
                collect::Limits {
                    max_body: max_body_mib as usize * 1024 * 1024,
                    token: token.filter(|t| !t.trim().is_empty()),
                    request_timeout: std::time::Duration::from_secs(request_timeout),
                },
            )
        }
        Command::Install(a) => install(cli.db, cli.json, a, false),
        Command::Uninstall(a) => install(cli.db, cli.json, a, true),
        Command::Hook => {
            // Reached only when `is_hook_invocation` missed it; behave the same.
            let db = Config::from_env(cli.db, cli.inbox).db_path;
            if let Some(answer) = hook::run(&db, hook::read_input()) {
                println!("{answer}");
            }
            Ok(())
        }
    }
}

/// `--detail` (clap has checked it is one of the two).
fn detail_of(name: &str) -> selfheal_app::args::Detail {
    match name {
        "full" => selfheal_app::args::Detail::Full,
        _ => selfheal_app::args::Detail::Summary,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every flag and argument of every subcommand says what it is for.
    #[test]
    fn every_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_about().is_none() && sub.get_name() != "help" {
                    missing.push(format!("{path} {} (no about)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "self-heal", &mut missing);
        assert!(missing.is_empty(), "without help: {missing:?}");
    }
}
