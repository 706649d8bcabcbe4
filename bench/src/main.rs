//! `selfheal-bench`: measures self-healing-mcp at several history sizes and on two history
//! shapes, in one run, against the raw-SQL baseline on the same file.
//!
//! For each profile (`default`: few patterns, short messages; `real`: shaped like real
//! histories, a few hundred failure causes) and each size it generates a history with
//! `selfheal-synth` (seed 1, 90 days), then:
//! - times the raw-SQL baseline: the best of several single aggregates over `run_events`
//!   (`json_extract`, `->>`) answering "which (error_type, tool) failed at least 3 times since
//!   -7d" (and the same over the whole history, the baseline of a cold catch-up);
//! - starts the release server over stdio with an empty index and times the first
//!   `detect_failure_patterns` call (cold catch-up of every event, plus the query);
//! - times the analysis tools warm through the real server (p50/p95 over `--samples` calls):
//!   detect with default arguments, detect listing every pattern (`limit` 500,
//!   `min_occurrences` 1, `confidence_threshold` 0), `get_pattern` of the top pattern, the
//!   dashboard and the other metrics tools;
//! - appends 10 000 events of the same shape and times the next `detect_failure_patterns`;
//! - reads the server's peak RSS (`VmHWM`) and the index size.
//!
//! It prints a README-ready markdown table per profile and, for the `real` profile, the
//! performance targets with the measured value of each.
//!
//! Usage: `cargo build --release -p self-healing-mcp -p selfheal-bench &&
//! target/release/selfheal-bench --profile both --sizes 100k,1m,5m`.

#![allow(clippy::print_stdout)] // printing the results is this binary's job

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{TimeZone, Utc};
use clap::{Parser, ValueEnum};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use selfheal_synth::Profile;
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ProfileArg {
    Default,
    Real,
    Both,
}

#[derive(Parser)]
#[command(about = "Benchmark self-healing-mcp against raw SQL at several history sizes")]
struct Args {
    /// History shape: default (few patterns), real (shaped like real histories) or both
    #[arg(long, value_enum, default_value = "both")]
    profile: ProfileArg,
    /// History sizes in events (suffixes k and m accepted)
    #[arg(long, default_value = "100k,1m,5m", value_delimiter = ',')]
    sizes: Vec<String>,
    /// Warm calls per tool
    #[arg(long, default_value_t = 20)]
    samples: usize,
    /// Days of history
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// Server binary [default: target/release/self-healing-mcp next to this binary]
    #[arg(long)]
    server: Option<PathBuf>,
    /// Directory for the generated histories [default: a temporary directory]
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also write the results as JSON to this file
    #[arg(long)]
    json: Option<PathBuf>,
    /// Run the history from PostgreSQL: each generated history is copied into a fresh
    /// database on this server (binary COPY) and the server reads it through DATABASE_URL;
    /// the raw-SQL baseline runs in PostgreSQL
    #[arg(long, value_name = "ADMIN_URL")]
    postgres: Option<String>,
}

fn parse_size(s: &str) -> anyhow::Result<u64> {
    let s = s.trim().to_ascii_lowercase();
    let (digits, mult) = match s.chars().last() {
        Some('k') => (&s[..s.len() - 1], 1_000),
        Some('m') => (&s[..s.len() - 1], 1_000_000),
        _ => (s.as_str(), 1),
    };
    let n: f64 = digits
        .parse()
        .with_context(|| format!("bad size {s:?}; use e.g. 100k, 1m, 5m"))?;
    Ok((n * mult as f64) as u64)
}

#[derive(Serialize, Clone, Copy, Default)]
struct Latency {
    p50_ms: f64,
    p95_ms: f64,
}

fn latency(mut samples: Vec<Duration>) -> Latency {
    samples.sort();
    let pick = |q: f64| {
        let i = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i].as_secs_f64() * 1000.0
    };
    Latency {
        p50_ms: pick(0.5),
        p95_ms: pick(0.95),
    }
}

#[derive(Serialize)]
struct SizeResult {
    profile: &'static str,
    events: u64,
    generate_s: f64,
    /// Failure causes (`real`) or planted patterns (`default`) occurring in the window, per
    /// the generator's truth.
    planted_in_window: u64,
    /// `real`: failure causes with at least 3 occurrences in the window.
    causes_3_in_window: Option<u64>,
    /// Of the planted causes (patterns) in the window, those reported by the every-pattern
    /// call under their id (`<class>:<tool>`, `<class>:<tool>:<program>` for shell tools;
    /// the planted pattern id for `default`) with their exact occurrence count.
    found_exact: u64,
    /// Of those, reported under their id at all (any count).
    found_id: u64,
    /// Failed calls in the window: reported by detect / per the truth (`real` only: the
    /// default truth does not keep window counts).
    failures_reported: u64,
    failures_truth: Option<u64>,
    sql_detect_ms: f64,
    sql_detect_query: &'static str,
    sql_full_scan_ms: f64,
    cold_call_s: f64,
    cold_events_per_s: f64,
    cold_vs_sql_full_scan: f64,
    tools: Vec<(String, Latency)>,
    /// Patterns listed plus omitted by the every-pattern call.
    patterns_every: u64,
    /// Patterns passing the default filters.
    patterns_default: u64,
    detect_speedup_vs_sql: f64,
    after_10k_ms: f64,
    after_10k_minus_warm_ms: f64,
    peak_rss_mib: f64,
    index_mib: f64,
}

impl SizeResult {
    fn tool(&self, name: &str) -> Option<Latency> {
        self.tools.iter().find(|(n, _)| n == name).map(|(_, l)| *l)
    }
}

/// Raw-SQL formulations of detect's question; the fastest one counts.
const SQL_DETECT: [(&str, &str); 2] = [
    (
        "json_extract",
        "SELECT COALESCE(json_extract(event_data, '$.error_type'), 'Unknown') AS error_type,
       COALESCE(json_extract(event_data, '$.name'), json_extract(event_data, '$.tool_name')) AS tool,
       COUNT(*) AS occurrences, COUNT(DISTINCT run_id) AS runs, MIN(timestamp), MAX(timestamp)
FROM run_events
WHERE event_type = 'tool_complete' AND timestamp >= ?1 AND json_valid(event_data)
  AND json_extract(event_data, '$.is_error') IN (1, 'true')
GROUP BY error_type, tool HAVING COUNT(*) >= 3 ORDER BY occurrences DESC",
    ),
    (
        "->>",
        "SELECT COALESCE(event_data ->> '$.error_type', 'Unknown') AS error_type,
       COALESCE(event_data ->> '$.name', event_data ->> '$.tool_name') AS tool,
       COUNT(*) AS occurrences, COUNT(DISTINCT run_id) AS runs, MIN(timestamp), MAX(timestamp)
FROM run_events
WHERE event_type = 'tool_complete' AND timestamp >= ?1 AND json_valid(event_data)
  AND event_data ->> '$.is_error' IN (1, 'true')
GROUP BY error_type, tool HAVING COUNT(*) >= 3 ORDER BY occurrences DESC",
    ),
];

/// The best time (ms, of 3 runs of each formulation) and the formulation that achieved it.
fn time_sql(db: &Path, since: &str) -> anyhow::Result<(f64, &'static str)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut best = (f64::MAX, "");
    for (name, sql) in SQL_DETECT {
        for _ in 0..3 {
            let t = Instant::now();
            let mut stmt = conn.prepare(sql)?;
            let rows = stmt.query_map([since], |r| r.get::<_, i64>(2))?.count();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if ms < best.0 {
                best = (ms, name);
            }
            if rows == 0 {
                bail!(
                    "the baseline found no pattern; the history is not what the benchmark expects"
                );
            }
        }
    }
    Ok(best)
}

/// The raw-SQL baseline in PostgreSQL: the same question, best of 3 runs (ms).
fn time_sql_pg(url: &str, since: &str) -> anyhow::Result<(f64, &'static str)> {
    const SQL: &str = "SELECT COALESCE(d->>'error_type', 'unknown'), d->>'name', count(*)
         FROM (SELECT event_data::jsonb AS d FROM run_events
               WHERE event_type = 'tool_complete' AND timestamp >= $1) e
         WHERE d->>'is_error' = 'true'
         GROUP BY 1, 2 HAVING count(*) >= 3";
    let mut client = postgres::Client::connect(url, postgres::NoTls)?;
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let rows = client.query(SQL, &[&since])?;
        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
        if rows.is_empty() {
            bail!("the PostgreSQL baseline found no pattern");
        }
    }
    Ok((best, "jsonb ->> (PostgreSQL)"))
}

/// Runs `f` on a thread outside the async runtime: the `postgres` client is synchronous and
/// starts a runtime of its own, which tokio refuses inside another.
fn off_runtime<T: Send>(f: impl FnOnce() -> anyhow::Result<T> + Send) -> anyhow::Result<T> {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("a PostgreSQL step panicked")))
    })
}

/// A fresh database `name` on the server of `admin`, holding a copy of the SQLite history.
fn postgres_copy(admin: &str, name: &str, db: &Path) -> anyhow::Result<(String, f64)> {
    let mut client = postgres::Client::connect(admin, postgres::NoTls)?;
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    client.batch_execute(&format!("CREATE DATABASE {name}"))?;
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b)
        .context("the PostgreSQL URL names a database")?;
    let url = format!("{base}/{name}");
    let t = Instant::now();
    let copied = selfheal_postgres::copy::copy_sqlite_history(db, &url, 0)?;
    let secs = t.elapsed().as_secs_f64();
    // What autovacuum does after a bulk load, done now so the first run is not its victim.
    postgres::Client::connect(&url, postgres::NoTls)?.batch_execute("VACUUM ANALYZE")?;
    eprintln!(
        "copied {} runs and {} events into PostgreSQL in {secs:.1} s",
        copied.runs, copied.events
    );
    Ok((url, secs))
}

fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn dir_mib(dir: &Path) -> f64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum::<u64>() as f64
                / 1_048_576.0
        })
        .unwrap_or(f64::NAN)
}

async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &str,
    args: &Value,
) -> anyhow::Result<CallToolResult> {
    let r = client
        .call_tool(
            CallToolRequestParams::new(tool.to_string())
                .with_arguments(args.as_object().cloned().unwrap_or_default()),
        )
        .await
        .with_context(|| format!("{tool} failed"))?;
    if r.is_error == Some(true) {
        bail!("{tool} returned an error: {:?}", r.content);
    }
    Ok(r)
}

fn pattern_count(v: &Value) -> u64 {
    v["patterns"].as_array().map_or(0, |a| a.len() as u64)
        + v["patterns_omitted"].as_u64().unwrap_or(0)
}

async fn bench_size(
    args: &Args,
    server: &Path,
    dir: &Path,
    profile: Profile,
    events: u64,
) -> anyhow::Result<SizeResult> {
    let end = Utc
        .with_ymd_and_hms(2026, 11, 20, 12, 0, 0)
        .single()
        .context("fixed instant")?;
    let tag = format!("{profile}-{events}");
    let db = dir.join(format!("history-{tag}.db"));
    let _ = std::fs::remove_file(&db);
    eprintln!("[{tag}] generating…");
    let t = Instant::now();
    let mut conn = rusqlite::Connection::open(&db)?;
    let mut cfg = selfheal_synth::SynthConfig::new(1, events, end);
    cfg.profile = profile;
    cfg.days = args.days;
    cfg.collect_truth = false;
    let truth = selfheal_synth::generate(&mut conn, &cfg)?;
    let generate_s = t.elapsed().as_secs_f64();
    let planted_in_window = match profile {
        Profile::Real => truth.causes_in_window(1).count() as u64,
        Profile::Default => truth
            .patterns
            .iter()
            .filter(|p| p.last_seen_ms.is_some_and(|l| l >= truth.window_from_ms))
            .count() as u64,
    };
    let causes_3_in_window =
        (profile == Profile::Real).then(|| truth.causes_in_window(3).count() as u64);
    // What the history planted in the window, by id, with its count there (when known).
    let planted: Vec<(String, Option<u64>)> = match profile {
        Profile::Real => truth
            .causes_in_window(1)
            .map(|c| {
                let id = match &c.program {
                    Some(p) => format!("{}:{}:{p}", c.class, c.tool),
                    None => format!("{}:{}", c.class, c.tool),
                };
                (id, Some(c.window.occurrences))
            })
            .collect(),
        Profile::Default => truth
            .patterns
            .iter()
            .filter(|p| p.last_seen_ms.is_some_and(|l| l >= truth.window_from_ms))
            .map(|p| (p.pattern_id.clone(), None))
            .collect(),
    };
    let failures_truth = (profile == Profile::Real).then(|| {
        truth
            .causes
            .iter()
            .map(|c| c.window.occurrences)
            .sum::<u64>()
    });

    eprintln!("[{tag}] raw SQL baselines…");
    let since = (end - chrono::Duration::days(7))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let pg = match &args.postgres {
        Some(admin) => {
            eprintln!("[{tag}] copying into PostgreSQL…");
            let name = format!("selfheal_bench_{}", tag.replace('-', "_"));
            Some(off_runtime(|| postgres_copy(admin, &name, &db))?.0)
        }
        None => None,
    };
    let (sql_detect_ms, sql_detect_query) = match &pg {
        Some(url) => off_runtime(|| time_sql_pg(url, &since))?,
        None => time_sql(&db, &since)?,
    };
    let (sql_full_scan_ms, _) = match &pg {
        Some(url) => off_runtime(|| time_sql_pg(url, "0000"))?,
        None => time_sql(&db, "0000")?,
    };

    let index_dir = dir.join(format!("index-{tag}"));
    let _ = std::fs::remove_dir_all(&index_dir);
    std::fs::create_dir_all(&index_dir)?;
    let cmd = tokio::process::Command::new(server).configure(|c| {
        match &pg {
            Some(url) => c.env_remove("DATABASE_PATH").env("DATABASE_URL", url),
            None => c.env("DATABASE_PATH", &db),
        }
        .env("SELFHEAL_NOW", end.to_rfc3339())
        .env("SELFHEAL_INDEX_DIR", &index_dir)
        .env("RUST_LOG", "warn");
    });
    let transport = TokioChildProcess::new(cmd)?;
    let pid = transport.id().context("server pid")?;
    let client = ().serve(transport).await?;

    eprintln!("[{tag}] cold catch-up…");
    let t = Instant::now();
    let first = call(&client, "detect_failure_patterns", &json!({})).await?;
    let cold_call_s = t.elapsed().as_secs_f64();
    let defaults = first.structured_content.unwrap_or_default();
    let every_args = json!({"limit": 500, "min_occurrences": 1, "confidence_threshold": 0});
    let every = call(&client, "detect_failure_patterns", &every_args)
        .await?
        .structured_content
        .unwrap_or_default();
    let every_counts: std::collections::HashMap<String, u64> = every["patterns"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| Some((p["id"].as_str()?.to_owned(), p["occurrences"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    // The top pattern: the first under default filters, else the most frequent of all.
    let top = if defaults["patterns"][0].is_object() {
        &defaults["patterns"][0]
    } else {
        &every["patterns"][0]
    };
    let pattern_id = top["id"].as_str().unwrap_or_default().to_string();
    // A run of the top pattern (the list is `affected_runs`; older servers said
    // `affected_run_ids`), else the latest run of the history.
    let run_id = match top["affected_runs"][0]
        .as_str()
        .or_else(|| top["affected_run_ids"][0].as_str())
    {
        Some(id) => id.to_string(),
        None => conn.query_row(
            "SELECT run_id FROM run_events ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get::<_, String>(0),
        )?,
    };
    if pattern_id.is_empty() {
        bail!("[{tag}] detect_failure_patterns found no pattern at all");
    }

    eprintln!("[{tag}] warm latencies…");
    let tools: Vec<(&str, &str, Value)> = vec![
        (
            "detect_failure_patterns",
            "detect_failure_patterns",
            json!({}),
        ),
        (
            "detect_failure_patterns (every pattern)",
            "detect_failure_patterns",
            every_args.clone(),
        ),
        (
            "get_pattern",
            "get_pattern",
            json!({"pattern_id": pattern_id}),
        ),
        ("get_health_dashboard", "get_health_dashboard", json!({})),
        (
            "analyze_run_health",
            "analyze_run_health",
            json!({"run_id": run_id}),
        ),
        ("compute_agent_metrics", "compute_agent_metrics", json!({})),
        (
            "compute_tool_reliability",
            "compute_tool_reliability",
            json!({}),
        ),
        ("detect_stalled_runs", "detect_stalled_runs", json!({})),
    ];
    let mut latencies = Vec::new();
    for (label, tool, a) in &tools {
        call(&client, tool, a).await?; // warm-up
        let mut samples = Vec::with_capacity(args.samples);
        for _ in 0..args.samples {
            let t = Instant::now();
            call(&client, tool, a).await?;
            samples.push(t.elapsed());
        }
        latencies.push((label.to_string(), latency(samples)));
    }

    eprintln!("[{tag}] call after 10k new events…");
    let before_append: i64 =
        conn.query_row("SELECT COALESCE(MAX(id), 0) FROM run_events", [], |r| {
            r.get(0)
        })?;
    selfheal_synth::append_profile_events(
        &mut conn,
        profile,
        2,
        10_000,
        end - chrono::Duration::minutes(1),
    )?;
    if let Some(url) = &pg {
        off_runtime(|| {
            Ok(selfheal_postgres::copy::copy_sqlite_history(
                &db,
                url,
                before_append,
            )?)
        })?;
    }
    let t = Instant::now();
    let after = call(&client, "detect_failure_patterns", &json!({})).await?;
    let after_10k_ms = t.elapsed().as_secs_f64() * 1000.0;
    let indexed = after.structured_content.unwrap_or_default()["data"]["events_indexed_now"]
        .as_u64()
        .unwrap_or(0);
    if indexed < 9_000 {
        bail!("the call after appending indexed only {indexed} events");
    }
    let peak_rss_mib = peak_rss_mib(pid);
    client.cancel().await?;
    let index_mib = dir_mib(&index_dir);

    let detect_p50 = latencies[0].1.p50_ms;
    Ok(SizeResult {
        profile: profile.as_str(),
        events: truth.total_events,
        generate_s,
        planted_in_window,
        causes_3_in_window,
        sql_detect_ms,
        sql_detect_query,
        sql_full_scan_ms,
        cold_call_s,
        cold_events_per_s: truth.total_events as f64 / cold_call_s,
        cold_vs_sql_full_scan: cold_call_s * 1000.0 / sql_full_scan_ms,
        detect_speedup_vs_sql: sql_detect_ms / detect_p50,
        after_10k_ms,
        after_10k_minus_warm_ms: after_10k_ms - detect_p50,
        patterns_every: pattern_count(&every),
        patterns_default: pattern_count(&defaults),
        found_id: planted
            .iter()
            .filter(|(id, _)| every_counts.contains_key(id))
            .count() as u64,
        found_exact: planted
            .iter()
            .filter(|(id, n)| {
                every_counts
                    .get(id)
                    .is_some_and(|got| n.is_none_or(|n| n == *got))
            })
            .count() as u64,
        failures_reported: every["failures_in_window"].as_u64().unwrap_or(0),
        failures_truth,
        tools: latencies,
        peak_rss_mib,
        index_mib,
    })
}

fn print_tables(profile: Profile, days: u32, results: &[SizeResult]) {
    println!(
        "profile: {profile}; machine: {} cores; history: synthetic, seed 1, {days} days, window -7d",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!(
        "| events | generate | planted (in window) | patterns (every / default filters) | cold catch-up | raw SQL, whole history | cold / SQL | raw SQL detect | detect p50 / p95 | speed-up | after 10k new events | peak RSS | index size |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        println!(
            "| {} | {:.1} s ({:.0}k events/s) | {} | {} / {} | {:.2} s ({:.0}k events/s) | {:.0} ms | {:.1}× | {:.0} ms | {:.1} / {:.1} ms | {:.0}× | {:.0} ms (+{:.0} ms) | {:.0} MiB | {:.0} MiB |",
            r.events,
            r.generate_s,
            r.events as f64 / r.generate_s / 1000.0,
            r.planted_in_window,
            r.patterns_every,
            r.patterns_default,
            r.cold_call_s,
            r.cold_events_per_s / 1000.0,
            r.sql_full_scan_ms,
            r.cold_vs_sql_full_scan,
            r.sql_detect_ms,
            r.tools[0].1.p50_ms,
            r.tools[0].1.p95_ms,
            r.detect_speedup_vs_sql,
            r.after_10k_ms,
            r.after_10k_minus_warm_ms,
            r.peak_rss_mib,
            r.index_mib,
        );
    }
    println!();
    print!("| tool (warm p50 / p95 ms) |");
    for r in results {
        print!(" {} events |", r.events);
    }
    println!();
    print!("|---|");
    for _ in results {
        print!("---:|");
    }
    println!();
    if let Some(first) = results.first() {
        for (i, (tool, _)) in first.tools.iter().enumerate() {
            print!("| {tool} |");
            for r in results {
                let l = r.tools[i].1;
                print!(" {:.1} / {:.1} |", l.p50_ms, l.p95_ms);
            }
            println!();
        }
    }
    println!();
    println!(
        "| events | planted in window | reported under their id (exact count) | failures in window (reported / truth) |"
    );
    println!("|---:|---:|---:|---:|");
    for r in results {
        println!(
            "| {} | {} | {} ({}) | {} / {} |",
            r.events,
            r.planted_in_window,
            r.found_id,
            r.found_exact,
            r.failures_reported,
            r.failures_truth
                .map_or_else(|| "–".to_owned(), |n| n.to_string())
        );
    }
    println!();
}

/// The result measured nearest to `events` (within 20%), if any.
fn at_size(results: &[SizeResult], events: u64) -> Option<&SizeResult> {
    results
        .iter()
        .filter(|r| (r.events as f64 - events as f64).abs() <= 0.2 * events as f64)
        .min_by_key(|r| r.events.abs_diff(events))
}

/// The targets of the `real` profile, with what this run measured.
fn print_targets(results: &[SizeResult]) {
    let mut rows: Vec<(String, String, Option<bool>)> = Vec::new();
    let mut at = |what: &str, size: u64, f: &dyn Fn(&SizeResult) -> (String, bool)| match at_size(
        results, size,
    ) {
        Some(r) => {
            let (v, ok) = f(r);
            rows.push((format!("{what} (at {} events)", r.events), v, Some(ok)));
        }
        None => rows.push((
            what.to_owned(),
            "not measured at this size".to_owned(),
            None,
        )),
    };
    let p50 = |r: &SizeResult, t: &str| r.tool(t).map_or(f64::NAN, |l| l.p50_ms);
    at(
        "history: ≥ 200 causes with ≥ 3 occurrences in the window at 1M",
        1_000_000,
        &|r| {
            let n = r.causes_3_in_window.unwrap_or(0);
            (format!("{n} causes"), n >= 200)
        },
    );
    at("warm detect ≤ 20 ms at 1M", 1_000_000, &|r| {
        let v = p50(r, "detect_failure_patterns");
        (format!("{v:.1} ms"), v <= 20.0)
    });
    at(
        "detect ≥ 10× faster than raw SQL at 1M",
        1_000_000,
        &|r| {
            (
                format!("{:.1}×", r.detect_speedup_vs_sql),
                r.detect_speedup_vs_sql >= 10.0,
            )
        },
    );
    at("every pattern ≤ 60 ms at 1M", 1_000_000, &|r| {
        let v = p50(r, "detect_failure_patterns (every pattern)");
        (
            format!("{v:.1} ms ({} patterns)", r.patterns_every),
            v <= 60.0,
        )
    });
    at("get_pattern ≤ 15 ms at 1M", 1_000_000, &|r| {
        let v = p50(r, "get_pattern");
        (format!("{v:.1} ms"), v <= 15.0)
    });
    at("dashboard ≤ 20 ms at 5M", 5_000_000, &|r| {
        let v = p50(r, "get_health_dashboard");
        (format!("{v:.1} ms"), v <= 20.0)
    });
    for r in results {
        rows.push((
            format!(
                "first call after 10k new events ≤ warm + 50 ms (at {} events)",
                r.events
            ),
            format!("+{:.0} ms", r.after_10k_minus_warm_ms),
            Some(r.after_10k_minus_warm_ms <= 50.0),
        ));
        rows.push((
            format!("cold catch-up ≥ 1M events/s (at {} events)", r.events),
            format!("{:.0}k events/s", r.cold_events_per_s / 1000.0),
            Some(r.cold_events_per_s >= 1_000_000.0),
        ));
    }
    println!("| target (real profile) | measured | met |");
    println!("|---|---:|:---:|");
    for (what, v, ok) in rows {
        let mark = match ok {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "–",
        };
        println!("| {what} | {v} | {mark} |");
    }
    println!();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sizes: Vec<u64> = args
        .sizes
        .iter()
        .map(|s| parse_size(s))
        .collect::<anyhow::Result<_>>()?;
    let profiles: &[Profile] = match args.profile {
        ProfileArg::Default => &[Profile::Default],
        ProfileArg::Real => &[Profile::Real],
        ProfileArg::Both => &[Profile::Default, Profile::Real],
    };
    let server = match &args.server {
        Some(s) => s.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("binary directory")?
            .join("self-healing-mcp"),
    };
    if !server.exists() {
        bail!(
            "server binary {} not found; build it with `cargo build --release -p self-healing-mcp`",
            server.display()
        );
    }
    let temp = tempfile::tempdir()?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let mut all = Vec::new();
    for &profile in profiles {
        let mut results = Vec::new();
        for &size in &sizes {
            results.push(bench_size(&args, &server, &dir, profile, size).await?);
            // Each history is several hundred MB at the larger sizes; keep only what is asked.
            if args.dir.is_none() {
                let _ = std::fs::remove_file(dir.join(format!("history-{profile}-{size}.db")));
                let _ = std::fs::remove_dir_all(dir.join(format!("index-{profile}-{size}")));
            }
        }
        print_tables(profile, args.days, &results);
        if profile == Profile::Real {
            print_targets(&results);
        }
        all.extend(results);
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&all)?)?;
    }
    Ok(())
}
