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

/// Retry evidence in a few words.
fn retry_short(r: &selfheal_core::pattern::Recovery) -> String {
    if r.evidence == "unavailable" {
        "retry n/a".into()
    } else {
        format!("retried-ok {}/{}", r.recovered, r.of - r.without_arguments)
    }
}

/// Retry evidence in a sentence.
fn retry_long(r: &selfheal_core::pattern::Recovery) -> String {
    if r.evidence == "unavailable" {
        return "no retry evidence (the history records no arguments for these calls)".into();
    }
    let mut s = format!(
        "recovered by repeating the same call {} of {}, retried without success {}, moved on {}, no later call {}",
        r.recovered,
        r.of - r.without_arguments,
        r.retried_without_recovery,
        r.moved_on,
        r.no_later_call
    );
    if r.without_arguments > 0 {
        let _ = write!(s, ", {} without recorded arguments", r.without_arguments);
    }
    s
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
            "\n{}  ×{} in {} run(s)  class {} ({})  confidence {:.2}  correlation {:.2}  rate {}  {}  trend {}",
            p.id,
            p.occurrences,
            p.affected_run_count,
            p.classification.class.as_str(),
            pct(p.classification.share),
            p.confidence,
            p.correlation_score,
            pct(p.failure_rate),
            retry_short(&p.recovery),
            crate::lifecycle::snake(&p.trend.direction)
        );
        let _ = writeln!(out, "  seen {} → {}", p.first_seen, p.last_seen);
        out.push_str(&templates(p));
        let _ = writeln!(out, "  fix: {}", p.suggested_fix);
    }
    if v.patterns_omitted > 0 {
        let _ = writeln!(
            out,
            "\n… {} more pattern(s); raise `limit` to list them",
            v.patterns_omitted
        );
    }
    let nf = &v.not_failures;
    if nf.rejected + nf.cancelled + nf.benign > 0 {
        let _ = writeln!(
            out,
            "\nNot counted as failures: {} declined by a person or policy, {} cancelled, {} non-zero exits that are answers",
            nf.rejected, nf.cancelled, nf.benign
        );
        for f in nf.by_tool.iter().take(5) {
            let name = match &f.program {
                Some(p) => format!("{} ({p})", f.tool),
                None => f.tool.clone(),
            };
            let _ = writeln!(
                out,
                "  {name}: declined {}, cancelled {}, benign {}",
                f.rejected, f.cancelled, f.benign
            );
        }
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
    if let Some(r) = &v.resolved_from {
        let _ = writeln!(out, "{}", r.note);
    }
    let _ = writeln!(
        out,
        "{}: {} occurrence(s) in {} run(s), class {} (confidence {:.2}, signals {}), pattern confidence {:.2}",
        p.id,
        p.occurrences,
        p.affected_run_count,
        p.classification.class.as_str(),
        p.classification.confidence,
        p.classification
            .signals
            .iter()
            .map(crate::lifecycle::snake)
            .collect::<Vec<_>>()
            .join(", "),
        p.confidence
    );
    let _ = writeln!(
        out,
        "correlation {:.3} ({}, ±{:.3}); failure rate {}; {}; trend {} (recent {}, baseline {})",
        p.correlation.score,
        crate::lifecycle::snake(&p.correlation.method),
        p.correlation.error_bound,
        pct(p.failure_rate),
        retry_long(&p.recovery),
        crate::lifecycle::snake(&p.trend.direction),
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
        p.affected_runs.join(", "),
        if p.affected_runs_omitted > 0 {
            format!(" (+{} more)", p.affected_runs_omitted)
        } else {
            String::new()
        }
    );
    out.push_str("templates:\n");
    out.push_str(&templates(p));
    let _ = writeln!(out, "fix: {}", p.suggested_fix);
    out.push_str("recent failures:\n");
    let rows: Vec<Vec<String>> = v
        .recent_failures
        .iter()
        .map(|f| {
            vec![
                f.at.clone(),
                f.run_id.clone(),
                crate::lifecycle::snake(&f.retry),
                f.message.chars().take(100).collect(),
            ]
        })
        .collect();
    out.push_str(&table(&["at", "run", "retry", "message"], &rows));
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
                crate::lifecycle::snake(&a.trend.direction),
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

/// A pattern's templates, one line each, with the count of those left out.
fn templates(p: &selfheal_core::pattern::Pattern) -> String {
    let mut out = String::new();
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
    out
}

/// The health score's components, one line each.
fn components(list: &[selfheal_core::health::HealthComponent]) -> String {
    let mut out = String::new();
    for c in list {
        let _ = writeln!(
            out,
            "  {:<20} {:>6}  weight {:.2}  {}",
            c.name,
            opt(c.value.map(|x| format!("{x:.2}"))),
            c.effective_weight,
            c.basis
        );
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
    out.push_str(&components(&v.components));
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
        "health {}  success {}  trend {} (recent {}, baseline {})",
        opt(v.overall_health_score),
        opt(v.success_rate.map(pct)),
        crate::lifecycle::snake(&v.trend.direction),
        opt(v.trend.recent_rate.map(pct)),
        opt(v.trend.baseline_rate.map(pct))
    );
    out.push_str(&components(&v.components));
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
    for e in &v.escalations {
        let _ = writeln!(
            out,
            "ESCALATION {} {} ({}): {}",
            e.level, e.pattern_id, e.rule, e.reason
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

fn note_line(n: &crate::inbox::NoteOutcome) -> String {
    match (&n.written, &n.path, &n.reason) {
        (true, Some(p), _) => format!("inbox note written to {p}"),
        (_, _, Some(r)) => format!("inbox note not written: {r}"),
        _ => "inbox note not written".into(),
    }
}

pub fn propose(v: &ProposeView) -> String {
    let mut out = format!(
        "{} proposed for {} (risk {}, priority {}): {}\nexpected impact: {}\n",
        v.improvement_id,
        v.pattern_id,
        v.risk_level.as_str(),
        v.priority,
        v.description,
        v.expected_impact
    );
    let _ = writeln!(
        out,
        "strategy {} — learned success {:.2} ({} verified, {} failed)",
        v.strategy.id,
        v.strategy.learned_success_rate,
        v.strategy.verified_successes,
        v.strategy.verified_failures
    );
    out.push_str("changes required:\n");
    for c in &v.changes_required {
        let _ = writeln!(out, "  - {c}");
    }
    let e = &v.evidence;
    let _ = writeln!(
        out,
        "evidence: {} occurrence(s) in {} run(s), failure rate {}, class {} ({}), {}",
        e.occurrences,
        e.affected_runs,
        pct(e.failure_rate),
        e.class.as_str(),
        pct(e.class_share),
        if e.retry_evidence == "unavailable" {
            "no retry evidence (arguments not recorded)".to_string()
        } else {
            format!(
                "recovered by repeating the same call {}/{}",
                e.recovered_by_retry, e.occurrences
            )
        }
    );
    if !v.alternatives.is_empty() {
        let _ = writeln!(
            out,
            "alternatives: {}",
            v.alternatives
                .iter()
                .map(|a| a.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for e in &v.escalations {
        let _ = writeln!(out, "ESCALATION {} {}: {}", e.level, e.rule, e.reason);
    }
    for p in &v.playbook_problems {
        let _ = writeln!(out, "playbook skipped: {p}");
    }
    let _ = writeln!(out, "next: test_improvement {}", v.improvement_id);
    out
}

pub fn test(v: &TestView) -> String {
    let mut out = format!(
        "{} {} test: recommendation {} (status {})\n{}\n",
        v.improvement_id,
        v.test_mode,
        crate::lifecycle::snake(&v.recommendation),
        v.status.as_str(),
        v.explanation
    );
    let _ = writeln!(
        out,
        "baseline success {} → simulated {} (change {})",
        opt(v.baseline_success_rate.map(pct)),
        opt(v.simulated_success_rate.map(pct)),
        opt(v
            .expected_improvement
            .map(|i| format!("{:+.2} points", i * 100.0)))
    );
    for a in &v.assumptions {
        let _ = writeln!(out, "  assumes: {a}");
    }
    if let Some(plan) = &v.tagging_plan {
        let _ = writeln!(out, "tagging plan: {plan}");
    }
    out
}

pub fn apply(v: &ApplyView) -> String {
    let mut out = format!(
        "{} is {} (applied at {}); verification due {}\n",
        v.improvement_id,
        v.status.as_str(),
        v.applied_at,
        v.verification_scheduled
    );
    if let Some(c) = &v.config_change {
        let _ = writeln!(
            out,
            "config {} `{}` in {}:\n{}",
            if c.applied { "changed" } else { "preview of" },
            c.key,
            c.path,
            c.diff
        );
        if let Some(b) = &c.backup_path {
            let _ = writeln!(out, "backup: {b} (sha256 {})", c.before_sha256);
        }
    }
    let _ = writeln!(out, "{}", note_line(&v.note));
    out
}

pub fn verify(v: &VerifyView) -> String {
    let mut out = format!(
        "{}: {} → {} (status {})\nexpected: {}\nactual: {}\n{}\n",
        v.improvement_id,
        crate::lifecycle::snake(&v.verification_status),
        crate::lifecycle::snake(&v.recommendation),
        v.status.as_str(),
        v.expected_impact,
        v.actual_impact,
        v.reason
    );
    let m = &v.metrics;
    let _ = writeln!(
        out,
        "before {} → after {}: {}/{} → {}/{} failures per call; {} finished run(s) analysed",
        v.before_window.from,
        v.after_window.to,
        m.before_failures,
        m.before_calls,
        m.after_failures,
        m.after_calls,
        m.runs_analyzed
    );
    if let Some(n) = v.calls_still_needed.filter(|n| *n > 0) {
        let _ = writeln!(
            out,
            "{n} more call(s) of the tool are needed for a firm answer"
        );
    }
    for e in &v.escalations {
        let _ = writeln!(out, "ESCALATION {} {}: {}", e.level, e.rule, e.reason);
    }
    let _ = writeln!(out, "{}", note_line(&v.note));
    out
}

pub fn transition(v: &TransitionView) -> String {
    let mut out = format!(
        "{} is {}{}\n",
        v.improvement_id,
        v.status.as_str(),
        if v.changed {
            ""
        } else {
            " (already; nothing changed)"
        }
    );
    if let Some(true) = v.config_restored {
        out.push_str("config file restored byte for byte from its backup\n");
    }
    if let Some(n) = &v.note {
        let _ = writeln!(out, "{}", note_line(n));
    }
    out
}

pub fn list(v: &ListView) -> String {
    let rows: Vec<Vec<String>> = v
        .improvements
        .iter()
        .map(|i| {
            vec![
                i.id.clone(),
                i.status.clone(),
                i.pattern_id.clone().unwrap_or_default(),
                i.created_at.clone(),
                i.impact
                    .clone()
                    .unwrap_or_default()
                    .chars()
                    .take(60)
                    .collect(),
            ]
        })
        .collect();
    let mut out = table(&["id", "status", "pattern", "created", "impact"], &rows);
    if let Some(c) = &v.next_cursor {
        let _ = writeln!(out, "more: cursor {c}");
    }
    out
}

pub fn improvement(v: &ImprovementView) -> String {
    let mut out = format!("{} [{}] {}\n", v.id, v.status, v.description);
    let _ = writeln!(
        out,
        "pattern {}  strategy {}  risk {}",
        opt(v.pattern_id.clone()),
        opt(v.strategy_id.clone()),
        opt(v.risk_level.clone())
    );
    let _ = writeln!(
        out,
        "created {}  applied {}  verified {}",
        v.created_at,
        opt(v.applied_at.clone()),
        opt(v.verified_at.clone())
    );
    if let Some(c) = &v.changes_made {
        let _ = writeln!(out, "changes: {c}");
    }
    if let Some(i) = &v.impact {
        let _ = writeln!(out, "impact: {i}");
    }
    if let Some(audit) = &v.audit {
        out.push_str("audit trail:\n");
        for a in audit {
            let _ = writeln!(
                out,
                "  {} {:<8} {} → {}",
                a.at,
                a.action,
                a.from_status.as_deref().unwrap_or("-"),
                a.to_status
            );
        }
    }
    out
}

pub fn report(v: &ReportView) -> String {
    let mut out = format!(
        "{}\n{} pattern(s) seen\n",
        window_line(&v.window),
        v.patterns_seen
    );
    let _ = writeln!(
        out,
        "improvements: {}",
        v.improvements_by_state
            .iter()
            .map(|s| format!("{} {}", s.count, s.status))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "auto-resolved {}; mean time to recovery {}",
        opt(v.auto_resolved_share.map(pct)),
        opt(v.mean_time_to_recovery_hours.map(|h| format!("{h:.1} h")))
    );
    for s in &v.strategies {
        let _ = writeln!(
            out,
            "  strategy {:<40} learned {:.2} ({}✓ {}✗)",
            s.id, s.learned_success_rate, s.verified_successes, s.verified_failures
        );
    }
    for e in &v.escalations {
        let _ = writeln!(
            out,
            "ESCALATION {} {} {}: {}",
            e.level, e.pattern_id, e.rule, e.reason
        );
    }
    if !v.next_steps.is_empty() {
        out.push_str("next steps:\n");
        for n in &v.next_steps {
            let _ = writeln!(out, "  - {n}");
        }
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
