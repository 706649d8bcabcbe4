//! Compact text renderings of the views: the text block of MCP results (for models that read
//! text) and the CLI's default output (for people). Same words in both places.
//!
//! Everything read from the run history goes through [`crate::sanitize`] here: names and ids
//! are escaped inline and capped ([`name`]), our sentences that embed them are kept on one line
//! ([`sentence`]), and recorded free text (messages, templates, descriptions written by agents)
//! is quoted as an excerpt between `⟦` and `⟧` ([`quote`]). The front ends pass the result
//! through one more whole-text pass ([`crate::sanitize::model_text`] for MCP, a terminal
//! pass in the CLI), so a field missed here still cannot carry a raw control character.
//!
//! A [`Style`] decorates the renderings people read on a terminal: sparklines of the daily
//! series and a few colours (the codes in [`STYLE_CODES`], the only escape sequences the CLI's
//! terminal pass lets through). Models and pipes get [`Style::PLAIN`].

use std::borrow::Cow;
use std::fmt::Write;

use crate::sanitize::{self, EXCERPT_MAX};
use crate::views::*;

/// How a rendering is decorated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    /// Daily series drawn as sparklines (▁▂▃▄▅▆▇█).
    pub sparklines: bool,
    /// Colours (ANSI SGR codes from [`STYLE_CODES`]).
    pub colour: bool,
}

impl Style {
    /// No decoration: the MCP text content, pipes, `NO_COLOR`.
    pub const PLAIN: Style = Style {
        sparklines: false,
        colour: false,
    };
    /// A terminal that shows colour.
    pub const TERMINAL: Style = Style {
        sparklines: true,
        colour: true,
    };

    /// `text` in `paint` when colour is on.
    fn paint(&self, paint: Paint, text: &str) -> String {
        if self.colour {
            format!("{}{text}{RESET}", paint.code())
        } else {
            text.to_string()
        }
    }
}

/// The colours a rendering uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Paint {
    Bold,
    Red,
    Green,
    Yellow,
    Cyan,
}

impl Paint {
    const fn code(self) -> &'static str {
        match self {
            Paint::Bold => "\x1b[1m",
            Paint::Red => "\x1b[31m",
            Paint::Green => "\x1b[32m",
            Paint::Yellow => "\x1b[33m",
            Paint::Cyan => "\x1b[36m",
        }
    }
}

const RESET: &str = "\x1b[0m";

/// Every escape sequence a styled rendering writes (for the terminal pass to keep).
pub const STYLE_CODES: [&str; 6] = [
    "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m", RESET,
];

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A sparkline of values against `max`: zero (or below) is the lowest block, any positive
/// value at least the second, `max` the highest; a missing value is a space.
pub fn sparkline(values: &[Option<f64>], max: f64) -> String {
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(v) if *v <= 0.0 || max <= 0.0 => BLOCKS[0],
            Some(v) => {
                let level = 1.0 + (v / max).min(1.0) * (BLOCKS.len() - 2) as f64;
                BLOCKS[(level.round() as usize).clamp(1, BLOCKS.len() - 1)]
            }
        })
        .collect()
}

/// A sparkline of counts against their largest.
pub fn count_sparkline(counts: impl Iterator<Item = u64> + Clone) -> String {
    let max = counts.clone().max().unwrap_or(0) as f64;
    let values: Vec<Option<f64>> = counts.map(|c| Some(c as f64)).collect();
    sparkline(&values, max)
}

/// `daily ▁▃█ (first → last)` for a pattern's daily counts, or nothing.
fn daily_counts_line(style: &Style, daily: &[selfheal_core::pattern::DailyCount]) -> String {
    match (style.sparklines, daily.first(), daily.last()) {
        (true, Some(first), Some(last)) => format!(
            "daily {} ({} → {}, peak {})",
            style.paint(Paint::Cyan, &count_sparkline(daily.iter().map(|d| d.count))),
            first.day,
            last.day,
            daily.iter().map(|d| d.count).max().unwrap_or(0)
        ),
        _ => String::new(),
    }
}

/// A trend word, coloured by its direction.
fn trend_word(style: &Style, direction: &selfheal_core::trend::TrendDirection) -> String {
    use selfheal_core::trend::TrendDirection as D;
    let word = crate::lifecycle::snake(direction);
    match direction {
        D::Improving => style.paint(Paint::Green, &word),
        D::Degrading => style.paint(Paint::Red, &word),
        D::Stable | D::InsufficientData => word,
    }
}

/// A name or id from the history, escaped inline and capped.
fn name(text: &str) -> Cow<'_, str> {
    sanitize::name(text)
}

/// Longest sentence of ours (fix, issue, reason) that embeds names from the history.
const SENTENCE_MAX: usize = 600;

/// A sentence of ours embedding names from the history: one line, escaped, capped.
fn sentence(text: &str) -> Cow<'_, str> {
    sanitize::line(text, SENTENCE_MAX)
}

/// Recorded free text: an excerpt between the delimiters.
fn quote(text: &str) -> String {
    sanitize::excerpt(text, EXCERPT_MAX)
}

/// Recorded free text in a table cell: a shorter excerpt.
fn quote_cell(text: &str) -> String {
    sanitize::excerpt(text, 100)
}

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
    detect_styled(v, &Style::PLAIN)
}

pub fn detect_styled(v: &DetectView, style: &Style) -> String {
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
            style.paint(Paint::Bold, &name(&p.id)),
            p.occurrences,
            p.affected_run_count,
            p.classification.class.as_str(),
            pct(p.classification.share),
            p.confidence,
            p.correlation_score,
            pct(p.failure_rate),
            retry_short(&p.recovery),
            trend_word(style, &p.trend.direction)
        );
        let _ = writeln!(out, "  seen {} → {}", p.first_seen, p.last_seen);
        let daily = daily_counts_line(style, &p.daily);
        if !daily.is_empty() {
            let _ = writeln!(out, "  {daily}");
        }
        out.push_str(&templates(p));
        let _ = writeln!(out, "  fix: {}", sentence(&p.suggested_fix));
    }
    if v.patterns_omitted > 0 {
        let _ = writeln!(
            out,
            "\n… {} more pattern(s){}",
            v.patterns_omitted,
            more_hint(v.next_cursor.as_deref())
        );
    }
    detail_note(&mut out, v.detail);
    let nf = &v.not_failures;
    if nf.rejected + nf.cancelled + nf.benign > 0 {
        let _ = writeln!(
            out,
            "\nNot counted as failures: {} declined by a person or policy, {} cancelled, {} non-zero exits that are answers",
            nf.rejected, nf.cancelled, nf.benign
        );
        for f in nf.by_tool.iter().take(5) {
            let name = match &f.program {
                Some(p) => format!("{} ({})", name(&f.tool), name(p)),
                None => name(&f.tool).into_owned(),
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
    pattern_styled(v, &Style::PLAIN)
}

pub fn pattern_styled(v: &PatternView, style: &Style) -> String {
    let p = &v.pattern;
    let mut out = format!("{}\n", window_line(&v.window));
    if let Some(r) = &v.resolved_from {
        let _ = writeln!(out, "{}", sentence(&r.note));
    }
    let _ = writeln!(
        out,
        "{}: {} occurrence(s) in {} run(s), class {} (confidence {:.2}, signals {}), pattern confidence {:.2}",
        style.paint(Paint::Bold, &name(&p.id)),
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
        trend_word(style, &p.trend.direction),
        opt(p.trend.recent_rate.map(pct)),
        opt(p.trend.baseline_rate.map(pct))
    );
    let _ = writeln!(
        out,
        "first seen {}, last seen {}",
        p.first_seen, p.last_seen
    );
    let daily = daily_counts_line(style, &p.daily);
    if !daily.is_empty() {
        let _ = writeln!(out, "{daily}");
    }
    let _ = writeln!(
        out,
        "affected runs: {}{}",
        p.affected_runs
            .iter()
            .map(|r| name(r))
            .collect::<Vec<_>>()
            .join(", "),
        if p.affected_runs_omitted > 0 {
            format!(" (+{} more)", p.affected_runs_omitted)
        } else {
            String::new()
        }
    );
    out.push_str("templates (recorded messages):\n");
    out.push_str(&templates(p));
    let _ = writeln!(out, "fix: {}", sentence(&p.suggested_fix));
    out.push_str("recent failures (recorded messages):\n");
    let rows: Vec<Vec<String>> = v
        .recent_failures
        .iter()
        .map(|f| {
            vec![
                f.at.clone(),
                name(&f.run_id).into_owned(),
                crate::lifecycle::snake(&f.retry),
                quote_cell(&f.message),
            ]
        })
        .collect();
    out.push_str(&table(&["at", "run", "retry", "message"], &rows));
    if v.failures_omitted > 0 {
        let _ = writeln!(
            out,
            "… {} more failure(s); raise `samples` to list them",
            v.failures_omitted
        );
    }
    detail_note(&mut out, v.detail);
    out
}

/// How to see what a list left out: the next page's cursor, or a larger `limit`.
fn more_hint(next_cursor: Option<&str>) -> String {
    match next_cursor {
        Some(c) => format!("; next page: cursor {c} (or raise `limit`)"),
        None => "; raise `limit` to list them".into(),
    }
}

/// The line a summary ends with: what it left out and how to ask for it.
fn detail_note(out: &mut String, detail: crate::args::Detail) {
    if detail == crate::args::Detail::Summary {
        out.push_str(
            "(summary: per-day series and longer lists left out; ask with detail \"full\", CLI --detail full)\n",
        );
    }
}

pub fn tools(v: &ToolsView) -> String {
    let rows: Vec<Vec<String>> = v
        .tools
        .iter()
        .map(|t| {
            vec![
                name(&t.name).into_owned(),
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
        let _ = writeln!(
            out,
            "… {} more tool(s); raise `limit` to list them",
            v.tools_omitted
        );
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
                name(&a.name).into_owned(),
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
                name(&s.run_id).into_owned(),
                name(&s.agent).into_owned(),
                s.stalled_for.clone(),
                opt(s.last_activity_at.as_deref().map(name)),
                opt(s.last_event_type.as_deref().map(name)),
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
            t.template_id,
            t.count,
            quote(&t.template)
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
        name(&v.run_id),
        name(&v.status),
        name(&v.agent),
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
            i.severity,
            sentence(&i.description),
            sentence(&i.recommendation)
        );
    }
    out
}

pub fn dashboard(v: &DashboardView) -> String {
    dashboard_styled(v, &Style::PLAIN)
}

/// The health score, green from 80, yellow from 50, red below.
fn score(style: &Style, score: Option<f64>) -> String {
    match score {
        None => "-".into(),
        Some(s) => {
            let paint = if s >= 80.0 {
                Paint::Green
            } else if s >= 50.0 {
                Paint::Yellow
            } else {
                Paint::Red
            };
            style.paint(paint, &s.to_string())
        }
    }
}

pub fn dashboard_styled(v: &DashboardView, style: &Style) -> String {
    let mut out = format!("{}\n", window_line(&v.window));
    let _ = writeln!(
        out,
        "health {}  success {}  trend {} (recent {}, baseline {})",
        score(style, v.overall_health_score),
        opt(v.success_rate.map(pct)),
        trend_word(style, &v.trend.direction),
        opt(v.trend.recent_rate.map(pct)),
        opt(v.trend.baseline_rate.map(pct))
    );
    if style.sparklines
        && let (Some(first), Some(last)) = (v.daily.first(), v.daily.last())
    {
        let rates: Vec<Option<f64>> = v.daily.iter().map(|d| d.success_rate).collect();
        let calls = count_sparkline(v.daily.iter().map(|d| d.tool_calls));
        let failures = count_sparkline(v.daily.iter().map(|d| d.tool_failures));
        let _ = writeln!(
            out,
            "daily {} → {} (trend: baseline {} → {}, recent {} → {})",
            first.day,
            last.day,
            v.trend_windows.baseline.from,
            v.trend_windows.baseline.to,
            v.trend_windows.recent.from,
            v.trend_windows.recent.to
        );
        let _ = writeln!(
            out,
            "  run success  {}",
            style.paint(Paint::Green, &sparkline(&rates, 1.0))
        );
        let _ = writeln!(out, "  tool calls   {}", style.paint(Paint::Cyan, &calls));
        let _ = writeln!(out, "  failures     {}", style.paint(Paint::Red, &failures));
    }
    out.push_str(&components(&v.components));
    let _ = writeln!(
        out,
        "{} run(s), {} tool call(s), {} failed; {} stalled run(s)",
        v.runs_in_window, v.tool_calls_in_window, v.failed_calls_in_window, v.stalled_runs
    );
    let _ = writeln!(out, "top patterns ({} in all):", v.patterns_total);
    for p in &v.top_patterns {
        let spark = if style.sparklines {
            format!(
                "{}  ",
                style.paint(
                    Paint::Cyan,
                    &count_sparkline(p.daily.iter().map(|d| d.count))
                )
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {:<40} ×{:<6} runs {:<5} conf {:.2}  {spark}{}",
            name(&p.id),
            p.occurrences,
            p.affected_runs,
            p.confidence,
            p.top_template.as_deref().map(quote).unwrap_or_default()
        );
    }
    for e in &v.escalations {
        let _ = writeln!(
            out,
            "{} {} {} ({}): {}",
            style.paint(Paint::Red, "ESCALATION"),
            name(&e.level),
            name(&e.pattern_id),
            name(&e.rule),
            sentence(&e.reason)
        );
    }
    out.push_str(&healing(&v.healing));
    for s in &v.strategies {
        let _ = writeln!(
            out,
            "  strategy {:<40} learned {:.2} ({}✓ {}✗)",
            s.id, s.learned_success_rate, s.verified_successes, s.verified_failures
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
                name(&i.id),
                name(&i.status),
                quote(&i.description),
                i.impact
                    .as_deref()
                    .map_or_else(|| "impact not measured".to_string(), quote)
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
            detail: v.detail,
            window: v.window.clone(),
            tools: tools.clone(),
            tools_omitted: 0,
            next_cursor: None,
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
        (true, Some(p), _) => format!("inbox note written to {}", sentence(p)),
        (_, _, Some(r)) => format!("inbox note not written: {}", sentence(r)),
        _ => "inbox note not written".into(),
    }
}

pub fn propose(v: &ProposeView) -> String {
    let mut out = format!(
        "{} proposed for {} (risk {}, priority {}): {}\nexpected impact: {}\n",
        name(&v.improvement_id),
        name(&v.pattern_id),
        v.risk_level.as_str(),
        v.priority,
        sentence(&v.description),
        sentence(&v.expected_impact)
    );
    let _ = writeln!(
        out,
        "strategy {} — learned success {:.2} ({} verified, {} failed)",
        name(&v.strategy.id),
        v.strategy.learned_success_rate,
        v.strategy.verified_successes,
        v.strategy.verified_failures
    );
    out.push_str("changes required:\n");
    for c in &v.changes_required {
        let _ = writeln!(out, "  - {}", sentence(c));
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
                .map(|a| name(&a.id))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for e in &v.escalations {
        let _ = writeln!(
            out,
            "ESCALATION {} {}: {}",
            name(&e.level),
            name(&e.rule),
            sentence(&e.reason)
        );
    }
    for p in &v.playbook_problems {
        let _ = writeln!(out, "playbook skipped: {}", sentence(p));
    }
    let _ = writeln!(out, "next: test_improvement {}", name(&v.improvement_id));
    let _ = writeln!(
        out,
        "lesson ({} failures in {} sessions):",
        v.lesson.evidence.failures, v.lesson.evidence.runs
    );
    for t in &v.lesson.text {
        let _ = writeln!(out, "  - {}", sentence(t));
    }
    if let Some(n) = &v.lesson.note {
        let _ = writeln!(out, "  note: {}", sentence(n));
    }
    for t in &v.targets {
        let _ = writeln!(
            out,
            "target: {} {} {} ({})",
            t.harness.as_str(),
            snake_word(&t.kind),
            sentence(&t.path),
            sentence(&t.how)
        );
    }
    out
}

pub fn test(v: &TestView) -> String {
    let mut out = format!(
        "{} {} test: recommendation {} (status {})\n{}\n",
        name(&v.improvement_id),
        name(&v.test_mode),
        crate::lifecycle::snake(&v.recommendation),
        v.status.as_str(),
        sentence(&v.explanation)
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
        let _ = writeln!(out, "  assumes: {}", sentence(a));
    }
    if let Some(plan) = &v.tagging_plan {
        let _ = writeln!(out, "tagging plan: {}", sentence(plan));
    }
    out
}

pub fn apply(v: &ApplyView) -> String {
    let mut out = format!(
        "{} is {} (applied at {}); verification due {}\n",
        name(&v.improvement_id),
        v.status.as_str(),
        v.applied_at,
        v.verification_scheduled
    );
    if let Some(c) = &v.config_change {
        let _ = writeln!(
            out,
            "config {} `{}` in {}:\n{}",
            if c.applied { "changed" } else { "preview of" },
            name(&c.key),
            sentence(&c.path),
            sanitize::clean(&c.diff, sanitize::Sink::Terminal)
        );
        if let Some(b) = &c.backup_path {
            let _ = writeln!(out, "backup: {} (sha256 {})", sentence(b), c.before_sha256);
        }
    }
    let files: Vec<(&str, &str)> = v
        .changes
        .iter()
        .map(|c| (c.path.as_str(), c.diff.as_str()))
        .collect();
    file_diffs(&mut out, "wrote", &files);
    let _ = writeln!(out, "{}", note_line(&v.note));
    out
}

/// What an apply will change, for the person asked to confirm it.
pub fn apply_preview(v: &ApplyPreview) -> String {
    let mut out = format!(
        "apply {} ({}): status {} → applied, applied at {}\n",
        name(&v.improvement_id),
        v.pattern_id
            .as_deref()
            .map_or(Cow::Borrowed("no pattern"), name),
        v.status.as_str(),
        v.applied_at
    );
    let _ = writeln!(out, "improvement: {}", quote(&v.description));
    let _ = writeln!(out, "changes made, as given: {}", quote(&v.changes_made));
    if let Some(h) = &v.commit_hash {
        let _ = writeln!(out, "commit: {}", name(h));
    }
    if let Some(b) = &v.overridden_block {
        let _ = writeln!(out, "overrides the BLOCK on this pattern: {}", sentence(b));
    }
    match &v.config_change {
        Some(c) if c.diff.is_empty() => {
            let _ = writeln!(
                out,
                "config `{}` in {} already has this value: the file is not changed",
                name(&c.key),
                sentence(&c.path)
            );
        }
        Some(c) => {
            let _ = writeln!(
                out,
                "config `{}` in {} {}:\n{}",
                name(&c.key),
                sentence(&c.path),
                if v.writes_config {
                    "will be changed (a backup is kept; rollback restores it)"
                } else {
                    "is not changed (config_action apply would write this edit)"
                },
                sanitize::clean(&c.diff, sanitize::Sink::Terminal).trim_end()
            );
        }
        None => out.push_str("no config file is changed\n"),
    }
    let files: Vec<(&str, &str)> = v
        .changes
        .iter()
        .map(|c| (c.path.as_str(), c.diff.as_str()))
        .collect();
    file_diffs(
        &mut out,
        "will write (a backup is kept; rollback takes the lesson out again)",
        &files,
    );
    out
}

/// What a rollback will change, for the person asked to confirm it.
pub fn rollback_preview(v: &RollbackPreview) -> String {
    if !v.changes {
        return format!(
            "{} is already {}: nothing would change\n",
            name(&v.improvement_id),
            name(&v.status)
        );
    }
    let mut out = format!(
        "roll back {} ({}): status {} → rolled_back\n",
        name(&v.improvement_id),
        v.pattern_id
            .as_deref()
            .map_or(Cow::Borrowed("no pattern"), name),
        name(&v.status)
    );
    let _ = writeln!(out, "improvement: {}", quote(&v.description));
    if let Some(r) = &v.reason {
        let _ = writeln!(out, "reason, as given: {}", quote(r));
    }
    match &v.config_restore {
        Some(c) if c.diff.is_empty() => {
            let _ = writeln!(
                out,
                "config file {} already matches its backup: it is not changed",
                sentence(&c.path)
            );
        }
        Some(c) => {
            let _ = writeln!(
                out,
                "config file {} is restored from {}:\n{}",
                sentence(&c.path),
                sentence(&c.backup_path),
                sanitize::clean(&c.diff, sanitize::Sink::Terminal).trim_end()
            );
        }
        None => out.push_str("no config file is changed\n"),
    }
    let files: Vec<(&str, &str)> = v
        .file_changes
        .iter()
        .map(|c| (c.path.as_str(), c.diff.as_str()))
        .collect();
    file_diffs(&mut out, "will take the lesson out of", &files);
    out
}

pub fn verify(v: &VerifyView) -> String {
    verify_styled(v, &Style::PLAIN)
}

pub fn verify_styled(v: &VerifyView, style: &Style) -> String {
    use selfheal_core::verify::Verdict;
    let verdict = crate::lifecycle::snake(&v.verification_status);
    let verdict = match v.verification_status {
        Verdict::Verified => style.paint(Paint::Green, &verdict),
        Verdict::Regressed => style.paint(Paint::Red, &verdict),
        Verdict::NoSignificantChange | Verdict::InsufficientData => {
            style.paint(Paint::Yellow, &verdict)
        }
    };
    let mut out = format!(
        "{}: {} → {} (status {})\nexpected: {}\nactual: {}\n{}\n",
        name(&v.improvement_id),
        verdict,
        crate::lifecycle::snake(&v.recommendation),
        v.status.as_str(),
        sentence(&v.expected_impact),
        sentence(&v.actual_impact),
        sentence(&v.reason)
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
        let _ = writeln!(
            out,
            "ESCALATION {} {}: {}",
            name(&e.level),
            name(&e.rule),
            sentence(&e.reason)
        );
    }
    let _ = writeln!(out, "{}", note_line(&v.note));
    out
}

pub fn transition(v: &TransitionView) -> String {
    let mut out = format!(
        "{} is {}{}\n",
        name(&v.improvement_id),
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
    let files: Vec<(&str, &str)> = v
        .changes
        .iter()
        .map(|c| (c.path.as_str(), c.diff.as_str()))
        .collect();
    file_diffs(&mut out, "took the lesson out of", &files);
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
                name(&i.id).into_owned(),
                name(&i.status).into_owned(),
                i.pattern_id
                    .as_deref()
                    .map(name)
                    .unwrap_or_default()
                    .into_owned(),
                name(&i.created_at).into_owned(),
                i.impact
                    .as_deref()
                    .map(|t| sanitize::excerpt(t, 60))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let mut out = table(&["id", "status", "pattern", "created", "impact"], &rows);
    if let Some(c) = &v.next_cursor {
        let _ = writeln!(out, "more: cursor {}", sentence(c));
    }
    out
}

pub fn improvement(v: &ImprovementView) -> String {
    let mut out = format!(
        "{} [{}] {}\n",
        name(&v.id),
        name(&v.status),
        quote(&v.description)
    );
    let _ = writeln!(
        out,
        "pattern {}  strategy {}  risk {}",
        opt(v.pattern_id.as_deref().map(name)),
        opt(v.strategy_id.as_deref().map(name)),
        opt(v.risk_level.as_deref().map(name))
    );
    let _ = writeln!(
        out,
        "created {}  applied {}  verified {}",
        name(&v.created_at),
        opt(v.applied_at.as_deref().map(name)),
        opt(v.verified_at.as_deref().map(name))
    );
    if let Some(c) = &v.changes_made {
        let _ = writeln!(out, "changes: {}", quote(c));
    }
    if let Some(i) = &v.impact {
        let _ = writeln!(out, "impact: {}", quote(i));
    }
    if let Some(audit) = &v.audit {
        out.push_str("audit trail:\n");
        for a in audit {
            let _ = writeln!(
                out,
                "  {} {:<8} {} → {}",
                name(&a.at),
                name(&a.action),
                name(a.from_status.as_deref().unwrap_or("-")),
                name(&a.to_status)
            );
        }
    }
    out
}

/// The healing numbers in three lines.
fn healing(h: &selfheal_core::healing::HealingNumbers) -> String {
    let hours = |m: &selfheal_core::healing::MeanHours| {
        format!(
            "{} (automatic {}, manual {})",
            opt(m.all.map(|h| format!("{h:.1} h"))),
            opt(m.automatic.map(|h| format!("{h:.1} h"))),
            opt(m.manual.map(|h| format!("{h:.1} h")))
        )
    };
    let apply = h.by_action.get("apply").cloned().unwrap_or_default();
    format!(
        "healing: {} automatic / {} manual action(s) ({} applies by the policy, {} manual); {} rollback(s) ({} automatic)\n  resolved {}: {} by the policy on its own ({})\n  first seen → applied {}; → verified {}\n",
        h.actions.automatic,
        h.actions.manual,
        apply.policy,
        apply.manual,
        h.rollbacks.automatic + h.rollbacks.manual + h.rollbacks.unrecorded,
        h.rollbacks.automatic,
        h.resolved,
        h.auto_resolved,
        opt(h.auto_resolved_share.map(pct)),
        hours(&h.time_to_apply_hours),
        hours(&h.time_to_recovery_hours)
    )
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
            .map(|s| format!("{} {}", s.count, name(&s.status)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "auto-resolved {}; mean time to recovery {}",
        opt(v.auto_resolved_share.map(pct)),
        opt(v.mean_time_to_recovery_hours.map(|h| format!("{h:.1} h")))
    );
    out.push_str(&healing(&v.healing));
    for s in &v.strategies {
        let _ = writeln!(
            out,
            "  strategy {:<40} learned {:.2} ({}✓ {}✗)",
            name(&s.id),
            s.learned_success_rate,
            s.verified_successes,
            s.verified_failures
        );
    }
    for e in &v.escalations {
        let _ = writeln!(
            out,
            "ESCALATION {} {} {}: {}",
            name(&e.level),
            name(&e.pattern_id),
            name(&e.rule),
            sentence(&e.reason)
        );
    }
    if v.escalations_omitted > 0 {
        let _ = writeln!(
            out,
            "… {} more escalation(s); ask with detail \"full\"",
            v.escalations_omitted
        );
    }
    if !v.next_steps.is_empty() {
        out.push_str("next steps:\n");
        for n in &v.next_steps {
            let _ = writeln!(out, "  - {}", sentence(n));
        }
    }
    if v.next_steps_omitted > 0 {
        let _ = writeln!(
            out,
            "  … {} more step(s); ask with detail \"full\"",
            v.next_steps_omitted
        );
    }
    out
}

/// `self-heal install` / `uninstall`: what changes (the diffs) or that nothing does.
pub fn install(v: &crate::install::InstallView) -> String {
    let mut out = format!(
        "{} ({} scope, {}): hook command {}\n",
        v.harness.as_str(),
        snake_word(&v.scope),
        sentence(&v.root),
        sentence(&v.hook_command)
    );
    if v.planned.is_empty() {
        out.push_str("everything is in place already: nothing to change\n");
    }
    for p in &v.planned {
        let _ = writeln!(
            out,
            "{} {}:\n{}",
            if v.written.iter().any(|w| w.path == p.path) {
                "wrote"
            } else {
                "would write"
            },
            sentence(&p.path),
            sanitize::clean(&p.diff, sanitize::Sink::Terminal).trim_end()
        );
    }
    out
}

fn snake_word<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Files written where the agent reads them, each with its diff.
fn file_diffs(out: &mut String, verb: &str, files: &[(&str, &str)]) {
    for (path, diff) in files {
        if diff.is_empty() {
            let _ = writeln!(out, "{} already holds this: not changed", sentence(path));
        } else {
            let _ = writeln!(
                out,
                "{verb} {}:\n{}",
                sentence(path),
                sanitize::clean(diff, sanitize::Sink::Terminal).trim_end()
            );
        }
    }
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

    #[test]
    fn sparklines_scale_to_the_largest_and_mark_gaps() {
        let cases: &[(&[Option<f64>], f64, &str)] = &[
            (&[Some(0.0), Some(1.0), Some(7.0)], 7.0, "▁▃█"),
            (&[Some(0.0), Some(0.0)], 0.0, "▁▁"),
            (&[Some(1.0), None, Some(0.5)], 1.0, "█ ▅"),
            (&[Some(2.0)], 1.0, "█"),
            (&[], 1.0, ""),
        ];
        for (values, max, want) in cases {
            assert_eq!(sparkline(values, *max), *want, "{values:?} / {max}");
        }
        assert_eq!(count_sparkline([0u64, 3, 6].into_iter()), "▁▅█");
    }

    #[test]
    fn plain_style_writes_no_escape_and_every_colour_is_kept_by_the_terminal_pass() {
        for paint in [
            Paint::Bold,
            Paint::Red,
            Paint::Green,
            Paint::Yellow,
            Paint::Cyan,
        ] {
            assert_eq!(Style::PLAIN.paint(paint, "x"), "x");
            let painted = Style::TERMINAL.paint(paint, "x");
            assert!(STYLE_CODES.contains(&paint.code()));
            assert_eq!(
                crate::sanitize::clean_keeping(
                    &painted,
                    crate::sanitize::Sink::Terminal,
                    &STYLE_CODES
                ),
                painted
            );
        }
    }
}
