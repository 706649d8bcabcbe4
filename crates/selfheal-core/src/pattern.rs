//! Failure patterns: streaming aggregation of failed calls into recurring signatures.
//!
//! A pattern's id is `<error_type>:<tool_name>`, where `error_type` is the recorded type when
//! there is one, else the classified class (see [`pattern_id`]). Occurrences arrive one by one
//! (already keyed by integer ids the caller interns); [`PatternAccumulator::finish`] resolves
//! names through a [`PatternLookup`] and scores each pattern.
//!
//! **Confidence** `= 1 − (1 − s)·(1 − c)·(1 − f)` where `s = n / (n + 5)` is the support of
//! `n` occurrences, `c` the correlation score and `f` the pattern's failure rate among its
//! tool's calls in the window. Each factor lies in [0, 1], so the confidence does too, and it
//! is monotone (non-decreasing) in sample size, correlation and frequency: any one strong line
//! of evidence makes a pattern credible, weak ones add up.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::classify::{FailureClass, Signal};
use crate::correlation::{ContextSet, Correlation, mean_pairwise_jaccard};
use crate::stats::{ratio, round4};
use crate::time::format_ms;
use crate::trend::{Tally, Trend, trend};

/// Default minimum occurrences for a pattern to be reported.
pub const DEFAULT_MIN_OCCURRENCES: u64 = 3;
/// Default minimum confidence for a pattern to be reported.
pub const DEFAULT_CONFIDENCE_THRESHOLD: f64 = 0.75;
/// Occurrence count at which support reaches one half.
pub const SUPPORT_HALF: f64 = 5.0;
/// How many affected run ids a pattern lists.
pub const RUN_SAMPLE_CAP: usize = 10;
/// How many templates a pattern lists.
pub const TEMPLATE_CAP: usize = 5;

/// The deterministic id of a pattern: `<recorded error_type or class>:<tool>`.
pub fn pattern_id(recorded_type: Option<&str>, class: FailureClass, tool: &str) -> String {
    format!("{}:{}", recorded_type.unwrap_or(class.as_str()), tool)
}

/// Splits a pattern id into (error_type, tool). The tool is everything after the first `:`
/// so tool names containing `:` (e.g. `mcp:server:tool`) round-trip.
pub fn split_pattern_id(id: &str) -> Option<(&str, &str)> {
    let (kind, tool) = id.split_once(':')?;
    (!kind.is_empty() && !tool.is_empty()).then_some((kind, tool))
}

/// The confidence formula (see module docs).
pub fn confidence(occurrences: u64, correlation: f64, failure_rate: f64) -> f64 {
    let n = occurrences as f64;
    let support = n / (n + SUPPORT_HALF);
    let c = correlation.clamp(0.0, 1.0);
    let f = failure_rate.clamp(0.0, 1.0);
    1.0 - (1.0 - support) * (1.0 - c) * (1.0 - f)
}

/// One failed call, keyed by ids interned by the caller.
#[derive(Clone, Copy, Debug)]
pub struct Occurrence {
    pub pattern: u32,
    pub run: u32,
    pub ts_ms: i64,
    pub class: FailureClass,
    pub class_confidence: f64,
    pub signal_bits: u8,
    pub template: u32,
    /// Id of the occurrence's context (normalised message, agent, model).
    pub context: u32,
    /// Whether a later call of the same tool in the same run succeeded.
    pub recovered: bool,
}

#[derive(Default)]
struct Acc {
    occurrences: u64,
    first_ms: i64,
    last_ms: i64,
    runs: HashMap<u32, i64>,
    templates: HashMap<u32, u64>,
    contexts: HashMap<u32, u64>,
    classes: [(u64, f64); 12],
    signal_bits: [u8; 12],
    recovered: u64,
}

/// Streaming aggregation of occurrences by pattern.
#[derive(Default)]
pub struct PatternAccumulator {
    patterns: HashMap<u32, Acc>,
}

/// Names and counts the accumulator needs to finish, supplied by the caller.
pub trait PatternLookup {
    /// The pattern's (error_type, tool) halves.
    fn pattern_name(&self, pattern: u32) -> (String, String);
    fn run_name(&self, run: u32) -> String;
    fn template_text(&self, template: u32) -> String;
    fn context_set(&self, context: u32) -> ContextSet;
    /// Calls of `tool` in the analysed window.
    fn tool_calls(&self, tool: &str) -> u64;
    /// Success tallies of the pattern's tool (1 − this pattern's failure rate) in the trend's
    /// recent and baseline windows.
    fn pattern_trend_tallies(&self, pattern: u32) -> (Tally, Tally);
}

/// Filters applied when finishing.
#[derive(Clone, Debug)]
pub struct PatternFilter {
    pub min_occurrences: u64,
    pub confidence_threshold: f64,
    pub error_type: Option<String>,
    pub tool_name: Option<String>,
}

impl PatternFilter {
    /// No filter at all: every pattern with at least one occurrence, whatever its confidence.
    pub fn everything() -> Self {
        PatternFilter {
            min_occurrences: 1,
            confidence_threshold: 0.0,
            error_type: None,
            tool_name: None,
        }
    }
}

impl Default for PatternFilter {
    fn default() -> Self {
        PatternFilter {
            min_occurrences: DEFAULT_MIN_OCCURRENCES,
            confidence_threshold: DEFAULT_CONFIDENCE_THRESHOLD,
            error_type: None,
            tool_name: None,
        }
    }
}

/// A template with its share of a pattern's occurrences.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TemplateCount {
    pub template_id: u32,
    pub template: String,
    pub count: u64,
}

/// The dominant class of a pattern's occurrences.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PatternClassification {
    pub class: FailureClass,
    /// Mean classification confidence of the occurrences in that class.
    pub confidence: f64,
    /// Share of the pattern's occurrences in that class.
    pub share: f64,
    /// Signals that fired on those occurrences.
    pub signals: Vec<Signal>,
}

/// "Recovered N of M": failures followed by a successful call of the same tool in the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Recovery {
    pub recovered: u64,
    pub of: u64,
    pub share: f64,
}

/// A detected failure pattern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pattern {
    /// Deterministic id `<error_type>:<tool_name>`.
    pub id: String,
    pub error_type: String,
    pub tool_name: String,
    pub occurrences: u64,
    /// Mean pairwise Jaccard similarity of the occurrences' contexts.
    pub correlation_score: f64,
    /// Distinct runs with at least one occurrence.
    pub affected_runs: u64,
    pub suggested_fix: String,
    /// Up to 10 affected run ids, most recent first.
    pub affected_run_ids: Vec<String>,
    /// Affected runs not listed in `affected_run_ids`.
    pub affected_runs_omitted: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// The most frequent message templates, largest first.
    pub templates: Vec<TemplateCount>,
    /// Templates not listed.
    pub templates_omitted: u64,
    pub classification: PatternClassification,
    pub correlation: Correlation,
    /// In [0, 1]; see the confidence formula in the README.
    pub confidence: f64,
    /// Occurrences per call of the tool in the window.
    pub failure_rate: f64,
    pub recovery: Recovery,
    pub trend: Trend,
}

impl PatternAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, o: &Occurrence) {
        let acc = self.patterns.entry(o.pattern).or_default();
        if acc.occurrences == 0 {
            acc.first_ms = o.ts_ms;
            acc.last_ms = o.ts_ms;
        }
        acc.occurrences += 1;
        acc.first_ms = acc.first_ms.min(o.ts_ms);
        acc.last_ms = acc.last_ms.max(o.ts_ms);
        let last = acc.runs.entry(o.run).or_insert(o.ts_ms);
        *last = (*last).max(o.ts_ms);
        *acc.templates.entry(o.template).or_default() += 1;
        *acc.contexts.entry(o.context).or_default() += 1;
        let slot = &mut acc.classes[o.class.code() as usize];
        slot.0 += 1;
        slot.1 += o.class_confidence;
        acc.signal_bits[o.class.code() as usize] |= o.signal_bits;
        acc.recovered += u64::from(o.recovered);
    }

    /// Number of distinct patterns seen so far.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Scores, filters and sorts (most occurrences first, then id) the patterns.
    pub fn finish(self, lookup: &dyn PatternLookup, filter: &PatternFilter) -> Vec<Pattern> {
        let mut out = Vec::new();
        for (key, acc) in self.patterns {
            if acc.occurrences < filter.min_occurrences {
                continue;
            }
            let (error_type, tool) = lookup.pattern_name(key);
            if filter
                .error_type
                .as_deref()
                .is_some_and(|t| t != error_type)
                || filter.tool_name.as_deref().is_some_and(|t| t != tool)
            {
                continue;
            }
            let pattern = build(key, acc, error_type, tool, lookup);
            if pattern.confidence >= filter.confidence_threshold {
                out.push(pattern);
            }
        }
        out.sort_by(|a, b| {
            b.occurrences
                .cmp(&a.occurrences)
                .then_with(|| a.id.cmp(&b.id))
        });
        out
    }
}

fn build(
    key: u32,
    acc: Acc,
    error_type: String,
    tool: String,
    lookup: &dyn PatternLookup,
) -> Pattern {
    let groups: Vec<(ContextSet, u64)> = acc
        .contexts
        .iter()
        .map(|(ctx, n)| (lookup.context_set(*ctx), *n))
        .collect();
    let correlation = mean_pairwise_jaccard(&groups);
    let tool_calls = lookup.tool_calls(&tool).max(acc.occurrences);
    let failure_rate = ratio(acc.occurrences, tool_calls).unwrap_or(0.0);

    let (class_idx, (class_n, class_conf_sum)) = acc
        .classes
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.0.cmp(&a.0)))
        .map(|(i, v)| (i, *v))
        .unwrap_or((FailureClass::Unknown.code() as usize, (0, 0.0)));
    let class = FailureClass::from_code(class_idx as i64).unwrap_or(FailureClass::Unknown);
    let classification = PatternClassification {
        class,
        confidence: round4(if class_n > 0 {
            class_conf_sum / class_n as f64
        } else {
            0.0
        }),
        share: round4(ratio(class_n, acc.occurrences).unwrap_or(0.0)),
        signals: Signal::from_bits(acc.signal_bits[class_idx]),
    };

    let mut runs: Vec<(u32, i64)> = acc.runs.into_iter().collect();
    runs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let affected_runs = runs.len() as u64;
    let affected_run_ids: Vec<String> = runs
        .iter()
        .take(RUN_SAMPLE_CAP)
        .map(|(r, _)| lookup.run_name(*r))
        .collect();

    let mut templates: Vec<(u32, u64)> = acc.templates.into_iter().collect();
    templates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let templates_omitted = templates.len().saturating_sub(TEMPLATE_CAP) as u64;
    let templates: Vec<TemplateCount> = templates
        .into_iter()
        .take(TEMPLATE_CAP)
        .map(|(id, count)| TemplateCount {
            template_id: id,
            template: lookup.template_text(id),
            count,
        })
        .collect();

    let recovery = Recovery {
        recovered: acc.recovered,
        of: acc.occurrences,
        share: round4(ratio(acc.recovered, acc.occurrences).unwrap_or(0.0)),
    };
    let (recent, baseline) = lookup.pattern_trend_tallies(key);
    let id = format!("{error_type}:{tool}");
    let suggested_fix = suggest_fix(
        class,
        &tool,
        &recovery,
        templates.first().map(|t| t.template.as_str()),
    );
    Pattern {
        id,
        confidence: round4(confidence(acc.occurrences, correlation.score, failure_rate)),
        error_type,
        tool_name: tool,
        occurrences: acc.occurrences,
        correlation_score: round4(correlation.score),
        affected_runs,
        suggested_fix,
        affected_runs_omitted: affected_runs - affected_run_ids.len() as u64,
        affected_run_ids,
        first_seen: format_ms(acc.first_ms),
        last_seen: format_ms(acc.last_ms),
        templates,
        templates_omitted,
        classification,
        correlation: Correlation {
            score: round4(correlation.score),
            error_bound: round4(correlation.error_bound),
            ..correlation
        },
        failure_rate: round4(failure_rate),
        recovery,
        trend: trend(recent, baseline),
    }
}

/// A one-sentence remediation grounded in the pattern's class and recovery evidence.
pub fn suggest_fix(
    class: FailureClass,
    tool: &str,
    recovery: &Recovery,
    top_template: Option<&str>,
) -> String {
    let retry_note = if recovery.of > 0 && recovery.share >= 0.5 {
        format!(
            " {} of {} failures were recovered by a later retry in the same run, so retry with exponential backoff is likely to absorb most of them.",
            recovery.recovered, recovery.of
        )
    } else if recovery.of > 0 {
        format!(
            " Only {} of {} failures were recovered by a later retry, so retrying alone will not fix it.",
            recovery.recovered, recovery.of
        )
    } else {
        String::new()
    };
    let action = match class {
        FailureClass::Timeout => format!(
            "Raise the timeout of `{tool}` above its observed ceiling or add retry with exponential backoff; check what makes it slow."
        ),
        FailureClass::ConnectionRefused => format!(
            "The service behind `{tool}` is not listening: add a health check and restart with backoff before calling it."
        ),
        FailureClass::NetworkError => format!(
            "Transient network failures on `{tool}`: retry with backoff and jitter, and add a circuit breaker."
        ),
        FailureClass::ServerCrashed => format!(
            "The server behind `{tool}` crashes: restart it with a health check and capped backoff, and open a circuit breaker while it is down."
        ),
        FailureClass::Oom => format!(
            "`{tool}` is killed for memory: scale down the payload (smaller batches or inputs) or raise its memory limit."
        ),
        FailureClass::PermissionDenied => format!(
            "`{tool}` lacks permissions: fix the grant or route the call to a path the agent may use; retrying will not help."
        ),
        FailureClass::NotFound => format!(
            "`{tool}` is called on things that do not exist: check existence first and fall back."
        ),
        FailureClass::RateLimited => format!(
            "`{tool}` is rate limited: honour retry-after with backoff and lower the call rate."
        ),
        FailureClass::DependencyFailure => {
            format!("A dependency of `{tool}` fails: pin or install it, or skip it when optional.")
        }
        FailureClass::InvalidInput => format!(
            "The agent sends `{tool}` invalid arguments: validate inputs against the tool's schema before calling."
        ),
        FailureClass::ToolError => format!(
            "`{tool}` reports errors of its own: inspect the top template and fix the tool or the way it is called."
        ),
        FailureClass::Unknown => format!(
            "The cause of `{tool}` failures is not recognisable from the record: inspect the top template and record an error_type."
        ),
    };
    match top_template {
        Some(t) => format!("{action}{retry_note} Most common message: \"{t}\"."),
        None => format!("{action}{retry_note}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        assert_eq!(
            pattern_id(Some("tool_error"), FailureClass::NotFound, "list_dir"),
            "tool_error:list_dir"
        );
        assert_eq!(
            pattern_id(None, FailureClass::Unknown, "execute_command"),
            "Unknown:execute_command"
        );
        assert_eq!(
            split_pattern_id("timeout:mcp:srv:tool"),
            Some(("timeout", "mcp:srv:tool"))
        );
        for bad in ["", "timeout", ":x", "x:"] {
            assert_eq!(split_pattern_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn confidence_is_bounded_and_monotone() {
        let grid = [0.0, 0.1, 0.3, 0.5, 0.8, 1.0];
        for n in [0u64, 1, 3, 8, 50, 10_000] {
            for c in grid {
                for f in grid {
                    let v = confidence(n, c, f);
                    assert!((0.0..=1.0).contains(&v));
                    assert!(confidence(n + 1, c, f) >= v);
                    assert!(confidence(n, (c + 0.1).min(1.0), f) >= v);
                    assert!(confidence(n, c, (f + 0.1).min(1.0)) >= v);
                }
            }
        }
        // Documented reference points.
        assert!((confidence(5, 0.0, 0.0) - 0.5).abs() < 1e-12);
        assert!(confidence(8, 0.6, 0.05) > 0.75);
        assert!(confidence(3, 0.3, 0.0) < 0.75);
    }

    struct Names;
    impl PatternLookup for Names {
        fn pattern_name(&self, p: u32) -> (String, String) {
            match p {
                1 => ("timeout".into(), "fetch".into()),
                _ => ("not_found".into(), "read".into()),
            }
        }
        fn run_name(&self, r: u32) -> String {
            format!("run-{r}")
        }
        fn template_text(&self, t: u32) -> String {
            format!("template {t}")
        }
        fn context_set(&self, c: u32) -> ContextSet {
            ContextSet::new(["a", if c == 1 { "b" } else { "c" }], "agent", "model")
        }
        fn tool_calls(&self, _tool: &str) -> u64 {
            100
        }
        fn pattern_trend_tallies(&self, _p: u32) -> (Tally, Tally) {
            (
                Tally {
                    successes: 90,
                    total: 100,
                },
                Tally {
                    successes: 95,
                    total: 100,
                },
            )
        }
    }

    fn occ(pattern: u32, run: u32, ts: i64, recovered: bool) -> Occurrence {
        Occurrence {
            pattern,
            run,
            ts_ms: ts,
            class: if pattern == 1 {
                FailureClass::Timeout
            } else {
                FailureClass::NotFound
            },
            class_confidence: 0.9,
            signal_bits: Signal::RecordedType.bit(),
            template: pattern * 10 + (ts % 2) as u32,
            context: 1 + (ts % 2) as u32,
            recovered,
        }
    }

    #[test]
    fn aggregates_filters_and_sorts() {
        let mut acc = PatternAccumulator::new();
        for i in 0..12 {
            acc.push(&occ(1, i % 4, 1_000 + i as i64, i % 3 == 0));
        }
        for i in 0..2 {
            acc.push(&occ(2, 9, 5_000 + i, false));
        }
        let found = acc.finish(&Names, &PatternFilter::default());
        assert_eq!(found.len(), 1, "pattern 2 is below min_occurrences");
        let p = &found[0];
        assert_eq!(p.id, "timeout:fetch");
        assert_eq!((p.occurrences, p.affected_runs), (12, 4));
        assert_eq!(p.affected_run_ids.len(), 4);
        assert_eq!(p.first_seen, format_ms(1_000));
        assert_eq!(p.last_seen, format_ms(1_011));
        assert_eq!((p.recovery.recovered, p.recovery.of), (4, 12));
        assert_eq!(p.templates.iter().map(|t| t.count).sum::<u64>(), 12);
        assert_eq!(p.classification.class, FailureClass::Timeout);
        assert_eq!(p.failure_rate, 0.12);
        assert!(p.suggested_fix.contains("4 of 12"));
        assert_eq!(p.trend.direction, crate::trend::TrendDirection::Stable);
    }

    #[test]
    fn filters_by_type_and_tool() {
        let filter = PatternFilter {
            min_occurrences: 1,
            confidence_threshold: 0.0,
            error_type: Some("not_found".into()),
            tool_name: None,
        };
        let mut acc = PatternAccumulator::new();
        acc.push(&occ(1, 1, 1, false));
        acc.push(&occ(2, 1, 2, false));
        let found = acc.finish(&Names, &filter);
        assert_eq!(
            found.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["not_found:read"]
        );
    }
}
