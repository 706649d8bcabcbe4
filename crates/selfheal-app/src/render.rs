//! Compact text renderings of the views: the text block of MCP results (for models that read
//! text) and the CLI's default output (for people). Same words in both places.

use std::fmt::Write;

use crate::views::*;

/// Formats a rate in [0, 1] as a percentage.
fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// A left-aligned table with a header row.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{:<w$}", c, w = widths.get(i).copied().unwrap_or(0)))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(headers.to_vec(), &mut out);
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

fn window_line(w: &selfheal_core::time::WindowView) -> String {
    format!("window {} → {}", w.from, w.to)
}

fn data_line(d: &DataNotes) -> String {
    let mut s = String::new();
    if d.skipped_events > 0 || d.skipped_events_without_time > 0 {
        let _ = write!(
            s,
            "skipped {} unreadable event(s) in the window ({} more without a readable time). ",
            d.skipped_events, d.skipped_events_without_time
        );
    }
    if d.events_indexed_now > 0 {
        let _ = write!(s, "indexed {} new event(s).", d.events_indexed_now);
    }
    s.trim_end().to_string()
}

pub fn detect(v: &DetectView) -> String {
    let mut out = format!(
        "{} — {} failed call(s), {} pattern(s) seen, {} reported (min_occurrences {}, confidence ≥ {})\n",
        window_line(&v.window),
        v.failures_in_window,
        v.patterns_seen,
        v.patterns.len() as u64 + v.patterns_omitted,
        v.filters.min_occurrences,
        v.filters.confidence_threshold
    );
    if v.patterns.is_empty() {
        out.push_str("No recurring failure pattern passes the filters.\n");
    }
    for p in &v.patterns {
        let _ = writeln!(
            out,
            "\n{}  ×{} in {} run(s)  class {} ({})  confidence {:.2}  correlation {:.2}  rate {}  recovered {}/{}  trend {:?}",
            p.id,
            p.occurrences,
            p.affected_runs,
            p.classification.class.as_str(),
            pct(p.classification.share),
            p.confidence,
            p.correlation_score,
            pct(p.failure_rate),
            p.recovery.recovered,
            p.recovery.of,
            p.trend.direction
        );
        let _ = writeln!(out, "  seen {} → {}", p.first_seen, p.last_seen);
        for t in &p.templates {
            let _ = writeln!(
                out,
                "  T{:<5} ×{:<5} {}",
                t.template_id, t.count, t.template
            );
        }
        if p.templates_omitted > 0 {
            let _ = writeln!(out, "  … {} more template(s)", p.templates_omitted);
        }
        let _ = writeln!(out, "  fix: {}", p.suggested_fix);
    }
    if v.patterns_omitted > 0 {
        let _ = writeln!(
            out,
            "\n… {} more pattern(s); raise `limit` to list them",
            v.patterns_omitted
        );
    }
    let data = data_line(&v.data);
    if !data.is_empty() {
        let _ = writeln!(out, "\n{data}");
    }
    out
}

pub fn pattern(v: &PatternView) -> String {
    let p = &v.pattern;
    let mut out = format!("{}\n", window_line(&v.window));
    let _ = writeln!(
        out,
        "{}: {} occurrence(s) in {} run(s), class {} (confidence {:.2}, signals {:?}), pattern confidence {:.2}",
        p.id,
        p.occurrences,
        p.affected_runs,
        p.classification.class.as_str(),
        p.classification.confidence,
        p.classification.signals,
        p.confidence
    );
    let _ = writeln!(
        out,
        "correlation {:.3} ({:?}, ±{:.3}); failure rate {}; recovered {} of {}; trend {:?} (recent {}, baseline {})",
        p.correlation.score,
        p.correlation.method,
        p.correlation.error_bound,
        pct(p.failure_rate),
        p.recovery.recovered,
        p.recovery.of,
        p.trend.direction,
        opt(p.trend.recent_rate.map(pct)),
        opt(p.trend.baseline_rate.map(pct))
    );
    let _ = writeln!(
        out,
        "first seen {}, last seen {}",
        p.first_seen, p.last_seen
    );
    let _ = writeln!(
        out,
        "affected runs: {}{}",
        p.affected_run_ids.join(", "),
        if p.affected_runs_omitted > 0 {
            format!(" (+{} more)", p.affected_runs_omitted)
        } else {
            String::new()
        }
    );
    out.push_str("templates:\n");
    for t in &p.templates {
        let _ = writeln!(
            out,
            "  T{:<5} ×{:<5} {}",
            t.template_id, t.count, t.template
        );
    }
    let _ = writeln!(out, "fix: {}", p.suggested_fix);
    out.push_str("recent failures:\n");
    let rows: Vec<Vec<String>> = v
        .recent_failures
        .iter()
        .map(|f| {
            vec![
                f.at.clone(),
                f.run_id.clone(),
                if f.recovered {
                    "yes".into()
                } else {
                    "no".into()
                },
                f.message.chars().take(100).collect(),
            ]
        })
        .collect();
    out.push_str(&table(&["at", "run", "recovered", "message"], &rows));
    if v.failures_omitted > 0 {
        let _ = writeln!(out, "… {} more failure(s)", v.failures_omitted);
    }
    out
}

pub fn tools(v: &ToolsView) -> String {
    let rows: Vec<Vec<String>> = v
        .tools
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                t.total_calls.to_string(),
                t.failed_calls.to_string(),
                pct(t.success_rate),
                t.success_interval
                    .map_or("-".into(), |i| format!("{}–{}", pct(i.low), pct(i.high))),
                pct(t.timeout_rate),
                opt(t.p50_duration_ms),
                opt(t.p95_duration_ms),
                opt(t.p99_duration_ms),
                t.top_error_classes
                    .iter()
                    .map(|c| format!("{}×{}", c.class.as_str(), c.count))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    let mut out = format!("{}\n", window_line(&v.window));
    out.push_str(&table(
        &[
            "tool",
            "calls",
            "failed",
            "success",
            "95% CI",
            "timeouts",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "top classes",
        ],
        &rows,
    ));
    if v.tools_omitted > 0 {
        let _ = writeln!(out, "… {} more tool(s)", v.tools_omitted);
    }
    let data = data_line(&v.data);
    if !data.is_empty() {
        let _ = writeln!(out, "{data}");
    }
    out
}

pub fn agents(v: &AgentsView) -> String {
    let rows: Vec<Vec<String>> = v
        .agents
        .iter()
        .map(|a| {
            vec![
                a.name.clone(),
                a.total_runs.to_string(),
                a.completed_runs.to_string(),
                a.failed_runs.to_string(),
                pct(a.success_rate),
                format!("{:.1}", a.avg_duration_seconds),
                opt(a.p95_duration_seconds.map(|s| format!("{s:.1}"))),
                format!("{:?}", a.trend.direction).to_lowercase(),
            ]
        })
        .collect();
    format!(
        "{}\n{}",
        window_line(&v.window),
        table(
            &[
                "agent",
                "runs",
                "completed",
                "failed",
                "success",
                "avg s",
                "p95 s",
                "trend"
            ],
            &rows
        )
    )
}

pub fn stalled(v: &StalledView) -> String {
    let mut out = format!(
        "{} of {} running run(s) stalled (no event for more than {} min, as of {})\n",
        v.stalled.len(),
        v.running_total,
        v.threshold_minutes,
        v.now
    );
    let rows: Vec<Vec<String>> = v
        .stalled
        .iter()
        .map(|s| {
            vec![
                s.run_id.clone(),
                s.agent.clone(),
                s.stalled_for.clone(),
                opt(s.last_activity_at.clone()),
                opt(s.last_event_type.clone()),
            ]
        })
        .collect();
    if !rows.is_empty() {
        out.push_str(&table(
            &["run", "agent", "idle", "last activity", "last event"],
            &rows,
        ));
    }
    out
}

pub fn run_health(v: &RunHealthView) -> String {
    let mut out = format!(
        "run {} ({}, agent {}): health {}  —  {} call(s), {} failed\n",
        v.run_id,
        v.status,
        v.agent,
        opt(v.health_score),
        v.tool_calls,
        v.failed_calls
    );
    for c in &v.components {
        let _ = writeln!(
            out,
            "  {:<20} {:>6}  weight {:.2}  {}",
            c.name,
            opt(c.value.map(|x| format!("{x:.2}"))),
            c.effective_weight,
            c.basis
        );
    }
    if v.issues.is_empty() {
        out.push_str("No issues found.\n");
    }
    for i in &v.issues {
        let _ = writeln!(
            out,
            "[{:?}] {}\n    → {}",
            i.severity, i.description, i.recommendation
        );
    }
    out
}

pub fn dashboard(v: &DashboardView) -> String {
    let mut out = format!("{}\n", window_line(&v.window));
    let _ = writeln!(
        out,
        "health {}  success {}  trend {:?} (recent {}, baseline {})",
        opt(v.overall_health_score),
        opt(v.success_rate.map(pct)),
        v.trend.direction,
        opt(v.trend.recent_rate.map(pct)),
        opt(v.trend.baseline_rate.map(pct))
    );
    for c in &v.components {
        let _ = writeln!(
            out,
            "  {:<20} {:>6}  weight {:.2}  {}",
            c.name,
            opt(c.value.map(|x| format!("{x:.2}"))),
            c.effective_weight,
            c.basis
        );
    }
    let _ = writeln!(
        out,
        "{} run(s), {} tool call(s), {} failed; {} stalled run(s)",
        v.runs_in_window, v.tool_calls_in_window, v.failed_calls_in_window, v.stalled_runs
    );
    let _ = writeln!(out, "top patterns ({} in all):", v.patterns_total);
    for p in &v.top_patterns {
        let _ = writeln!(
            out,
            "  {:<40} ×{:<6} runs {:<5} conf {:.2}  {}",
            p.id,
            p.occurrences,
            p.affected_runs,
            p.confidence,
            p.top_template.as_deref().unwrap_or("")
        );
    }
    if v.recent_improvements.is_empty() {
        out.push_str("no improvements recorded\n");
    } else {
        out.push_str("recent improvements:\n");
        for i in &v.recent_improvements {
            let _ = writeln!(
                out,
                "  {} [{}] {} — {}",
                i.id,
                i.status,
                i.description,
                i.impact.as_deref().unwrap_or("impact not measured")
            );
        }
    }
    if let Some(agents) = &v.agents {
        out.push('\n');
        out.push_str(&self::agents(&AgentsView {
            window: v.window.clone(),
            agents: agents.clone(),
        }));
    }
    if let Some(tools) = &v.tools {
        out.push('\n');
        out.push_str(&self::tools(&ToolsView {
            window: v.window.clone(),
            tools: tools.clone(),
            tools_omitted: 0,
            data: v.data.clone(),
        }));
    }
    let data = data_line(&v.data);
    if !data.is_empty() {
        let _ = writeln!(out, "{data}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let t = table(
            &["a", "long header"],
            &[vec!["wide cell".into(), "x".into()]],
        );
        assert_eq!(t, "a          long header\nwide cell  x\n");
    }
}
