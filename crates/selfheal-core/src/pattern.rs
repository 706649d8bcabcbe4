//! Failure patterns: streaming aggregation of failed calls into recurring causes.
//!
//! A pattern is one cause: its key is (cause class, tool), and (cause class, tool, program)
//! for shell tools, whether or not the agent recorded an `error_type` — the recorded type is a
//! classification signal, not the key. Its id is `<class>:<tool>` or `<class>:<tool>:<program>`
//! (see [`pattern_id`]), e.g. `not_found:read_file`, `command_failed:Bash:pytest`. Ids in the
//! recorded-type style (`tool_error:read_file`) are aliases the store resolves to the patterns
//! their failures belong to now. Occurrences arrive one by one
//! (already keyed by integer ids the caller interns); [`PatternAccumulator::finish`] resolves
//! names through a [`PatternLookup`] and scores each pattern.
//!
//! **Confidence** `= 1 − (1 − s)·(1 − c)·(1 − f)` where `s = n / (n + 5)` is the support of
//! `n` occurrences, `c` the correlation score and `f` the pattern's failure rate among its
//! tool's calls in the window. Each factor lies in [0, 1], so the confidence does too, and it
//! is monotone (non-decreasing) in sample size, correlation and frequency: any one strong line
//! of evidence makes a pattern credible, weak ones add up.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::classify::{FailureClass, Signal};
use crate::correlation::{
    ContextSet, Correlation, EXACT_GROUP_LIMIT, MinHash, estimate_mean_pairwise,
    mean_pairwise_jaccard,
};
use crate::pattern_state::PatternState;
use crate::retry::RetryState;
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

/// The deterministic id of a pattern: `<class>:<tool>`, or `<class>:<tool>:<program>` for a
/// shell tool's failures of one program.
pub fn pattern_id(class: FailureClass, tool: &str, program: Option<&str>) -> String {
    match program {
        Some(p) => format!("{}:{tool}:{p}", class.as_str()),
        None => format!("{}:{tool}", class.as_str()),
    }
}

/// The id the seed gave a failure: `<recorded error_type, else the class>:<tool>`. Old ids
/// (and improvements proposed under them) resolve through it.
pub fn legacy_pattern_id(recorded_type: Option<&str>, class: FailureClass, tool: &str) -> String {
    format!("{}:{}", recorded_type.unwrap_or(class.as_str()), tool)
}

/// The template-mining partition of a failure: its tool and class (DESIGN §4).
pub fn template_partition(tool: &str, class: FailureClass) -> String {
    format!("{tool}\u{1f}{}", class.as_str())
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
    /// Retry evidence of the failure.
    pub retry: RetryState,
    /// Id of the recorded `error_type` (0: none recorded).
    pub recorded: u32,
}

/// A pattern's state over a window, with its occurrences per UTC day.
#[derive(Clone, Debug, Default)]
pub struct PatternWindow {
    pub state: PatternState,
    /// Occurrences per UTC day number.
    pub days: BTreeMap<i64, u64>,
}

impl PatternWindow {
    /// Adds one occurrence.
    pub fn push(&mut self, o: &Occurrence) {
        self.state.push(o);
        *self.days.entry(o.ts_ms.div_euclid(DAY_MS)).or_default() += 1;
    }

    /// Adds the state of a span lying within UTC day `day`.
    pub fn merge_day(&mut self, day: i64, state: &PatternState) {
        self.state.merge(state);
        *self.days.entry(day).or_default() += state.occurrences;
    }

    /// Adds another window's state.
    pub fn merge(&mut self, other: &PatternWindow) {
        self.state.merge(&other.state);
        for (d, n) in &other.days {
            *self.days.entry(*d).or_default() += n;
        }
    }
}

/// Streaming aggregation of occurrences by pattern.
#[derive(Default)]
pub struct PatternAccumulator {
    patterns: HashMap<u32, PatternWindow>,
}

/// Names and counts the accumulator needs to finish, supplied by the caller.
pub trait PatternLookup {
    /// The pattern's (class name, tool, program).
    fn pattern_name(&self, pattern: u32) -> (String, String, Option<String>);
    /// The recorded `error_type` of an id (0 is never asked).
    fn recorded_type(&self, recorded: u32) -> String;
    fn run_name(&self, run: u32) -> String;
    fn template_text(&self, template: u32) -> String;
    fn context_set(&self, context: u32) -> ContextSet;
    /// The MinHash signature of a context (the index keeps one per context).
    fn context_signature(&self, context: u32) -> MinHash {
        MinHash::of(&self.context_set(context))
    }
    /// A hint of the runs and templates about to be asked for, so a lookup that reads them
    /// from storage can read them at once.
    fn preload(&self, _runs: &[u32], _templates: &[u32]) {}
    /// Calls of `tool` in the analysed window.
    fn tool_calls(&self, tool: &str) -> u64;
    /// Success tallies of the pattern's tool (1 − this pattern's failure rate) in the trend's
    /// recent and baseline windows.
    fn pattern_trend_tallies(&self, pattern: u32) -> (Tally, Tally);
    /// The analysed window `[from_ms, to_ms]` (the daily series spans its last days).
    fn window(&self) -> (i64, i64);
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

/// Retry evidence of a pattern's failures (see `retry`): a failure is recovered by retry
/// only when the same call (same tool, same arguments) succeeded within the next few calls of
/// its run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Recovery {
    /// Failures recovered by repeating the same call.
    pub recovered: u64,
    /// All failures of the pattern.
    pub of: u64,
    /// `recovered` over the failures with recorded arguments; `null` when none has them.
    pub share: Option<f64>,
    /// The same call was repeated and never succeeded.
    pub retried_without_recovery: u64,
    /// The agent made different calls afterwards.
    pub moved_on: u64,
    /// No later call in the run.
    pub no_later_call: u64,
    /// Failures whose call has no recorded arguments: no retry evidence either way.
    pub without_arguments: u64,
    /// `available`, `partial` (some failures lack arguments) or `unavailable`.
    pub evidence: String,
}

impl Recovery {
    /// Tallies retry states.
    pub fn from_counts(counts: &[u64; 5]) -> Recovery {
        let get = |s: RetryState| counts[s.code() as usize];
        let of: u64 = counts.iter().sum();
        let without = get(RetryState::NoArguments);
        let with = of - without;
        let recovered = get(RetryState::Recovered);
        Recovery {
            recovered,
            of,
            share: ratio(recovered, with).map(round4),
            retried_without_recovery: get(RetryState::RetriedFailed),
            moved_on: get(RetryState::MovedOn),
            no_later_call: get(RetryState::Pending),
            without_arguments: without,
            evidence: match (with, without) {
                (0, _) => "unavailable",
                (_, 0) => "available",
                _ => "partial",
            }
            .to_string(),
        }
    }

    /// The recovered share, 0 when there is no evidence.
    pub fn share_or_zero(&self) -> f64 {
        self.share.unwrap_or(0.0)
    }
}

/// How often the agent recorded each `error_type` for a pattern's failures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecordedTypeCount {
    /// The recorded `error_type`; `null` for failures recorded without one.
    pub error_type: Option<String>,
    pub count: u64,
}

/// A detected failure pattern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pattern {
    /// Deterministic id `<class>:<tool>` (`<class>:<tool>:<program>` for shell tools).
    pub id: String,
    /// The cause class (named `error_type` as in the original contract).
    pub error_type: String,
    pub tool_name: String,
    /// The program a shell tool ran (shell tools only).
    pub program: Option<String>,
    pub occurrences: u64,
    /// Mean pairwise Jaccard similarity of the occurrences' contexts.
    pub correlation_score: f64,
    /// Affected run ids, most recent first (up to 10; `affected_run_count` has them all).
    pub affected_runs: Vec<String>,
    /// Distinct runs with at least one occurrence: exact up to 1,024, above that an estimate
    /// within a few percent (a bounded sketch, so the cost does not grow with runs).
    pub affected_run_count: u64,
    /// Affected runs not listed in `affected_runs`.
    pub affected_runs_omitted: u64,
    pub suggested_fix: String,
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
    /// The `error_type` values the agent recorded for these failures, most frequent first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recorded_error_types: Vec<RecordedTypeCount>,
    pub trend: Trend,
    /// Occurrences per UTC day of the window (at most the last 90 days), oldest first; left
    /// out of summaries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daily: Vec<DailyCount>,
}

/// A count on one UTC day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DailyCount {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub count: u64,
}

/// The UTC days of a series over `[from_ms, to_ms]`, at most the last [`SERIES_DAYS`].
pub fn series_days(from_ms: i64, to_ms: i64) -> Vec<i64> {
    let last = to_ms.div_euclid(DAY_MS);
    let first = from_ms.div_euclid(DAY_MS).max(last - SERIES_DAYS + 1);
    (first..=last).collect()
}

/// Where a daily series over `[from_ms, to_ms]` starts: `from_ms`, or the first instant of
/// its first day when the window is longer than [`SERIES_DAYS`].
pub fn series_start(from_ms: i64, to_ms: i64) -> i64 {
    let first = series_days(from_ms, to_ms).first().copied();
    first.map_or(from_ms, |d| from_ms.max(d * DAY_MS))
}

/// Days a daily series covers at most.
pub const SERIES_DAYS: i64 = 90;
const DAY_MS: i64 = 86_400_000;

/// `YYYY-MM-DD` of a UTC day number.
pub fn day_label(day: i64) -> String {
    let text = format_ms(day * DAY_MS);
    text.get(..10).unwrap_or(&text).to_string()
}

/// A dense series (zero on days without counts) over the given days.
pub fn daily_series(
    days: &[i64],
    counts: &std::collections::BTreeMap<i64, u64>,
) -> Vec<DailyCount> {
    days.iter()
        .map(|d| DailyCount {
            day: day_label(*d),
            count: counts.get(d).copied().unwrap_or(0),
        })
        .collect()
}

impl PatternAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, o: &Occurrence) {
        self.patterns.entry(o.pattern).or_default().push(o);
    }

    /// Number of distinct patterns seen so far.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The patterns' states, by pattern key.
    pub fn into_windows(self) -> HashMap<u32, PatternWindow> {
        self.patterns
    }

    /// [`rank`]s the accumulated patterns.
    pub fn finish(
        mut self,
        lookup: &dyn PatternLookup,
        filter: &PatternFilter,
        limit: usize,
    ) -> Finished {
        let counts: HashMap<u32, u64> = self
            .patterns
            .iter()
            .map(|(k, w)| (*k, w.state.occurrences))
            .collect();
        rank(&counts, lookup, filter, limit, &mut |key| {
            self.patterns.remove(&key).unwrap_or_default()
        })
    }
}

/// Scores, filters and sorts (most occurrences first, then id) the patterns of a window
/// given their occurrence `counts`, and builds the first `limit` in full from the states
/// `load` gives.
///
/// The cheap facts (occurrences, failure rate) come first: a pattern whose confidence passes
/// the threshold whatever its correlation needs no correlation to be kept, so the state —
/// contexts for the correlation; names, templates and runs of a full pattern — is loaded
/// only for the patterns listed and the few whose confidence hangs on their correlation.
pub fn rank(
    counts: &HashMap<u32, u64>,
    lookup: &dyn PatternLookup,
    filter: &PatternFilter,
    limit: usize,
    load: &mut dyn FnMut(u32) -> PatternWindow,
) -> Finished {
    let mut kept: Vec<Candidate> = Vec::new();
    for (&key, &occurrences) in counts {
        if occurrences == 0 || occurrences < filter.min_occurrences {
            continue;
        }
        let (error_type, tool, program) = lookup.pattern_name(key);
        if filter
            .error_type
            .as_deref()
            .is_some_and(|t| t != error_type)
            || filter.tool_name.as_deref().is_some_and(|t| t != tool)
        {
            continue;
        }
        let tool_calls = lookup.tool_calls(&tool).max(occurrences);
        let failure_rate = ratio(occurrences, tool_calls).unwrap_or(0.0);
        let (window, correlation) =
            if confidence(occurrences, 0.0, failure_rate) >= filter.confidence_threshold {
                (None, None)
            } else {
                let window = load(key);
                let c = correlation_of(&window.state, lookup);
                if confidence(occurrences, c.score, failure_rate) < filter.confidence_threshold {
                    continue;
                }
                (Some(window), Some(c))
            };
        let id = match &program {
            Some(p) => format!("{error_type}:{tool}:{p}"),
            None => format!("{error_type}:{tool}"),
        };
        kept.push(Candidate {
            key,
            id,
            names: (error_type, tool, program),
            occurrences,
            failure_rate,
            correlation,
            window,
        });
    }
    kept.sort_by(|a, b| {
        b.occurrences
            .cmp(&a.occurrences)
            .then_with(|| a.id.cmp(&b.id))
    });
    let passing = kept.len() as u64;
    kept.truncate(limit);
    for c in &mut kept {
        if c.window.is_none() {
            c.window = Some(load(c.key));
        }
    }
    let (mut runs, mut templates) = (Vec::new(), Vec::new());
    for w in kept.iter().filter_map(|c| c.window.as_ref()) {
        runs.extend(w.state.latest_runs());
        templates.extend(w.state.templates.keys().copied());
    }
    lookup.preload(&runs, &templates);
    let patterns = kept
        .into_iter()
        .map(|c| {
            let window = c.window.unwrap_or_default();
            let correlation = c
                .correlation
                .unwrap_or_else(|| correlation_of(&window.state, lookup));
            build(
                c.key,
                c.occurrences,
                window,
                c.names,
                c.failure_rate,
                correlation,
                lookup,
            )
        })
        .collect();
    Finished { patterns, passing }
}

/// The patterns of a window, as listed.
#[derive(Debug)]
pub struct Finished {
    /// The first patterns passing the filters, most occurrences first.
    pub patterns: Vec<Pattern>,
    /// How many patterns passed the filters (listed or not).
    pub passing: u64,
}

/// A pattern kept by the filters, not yet built.
struct Candidate {
    key: u32,
    id: String,
    names: (String, String, Option<String>),
    occurrences: u64,
    failure_rate: f64,
    correlation: Option<Correlation>,
    /// Loaded when the correlation was needed to keep it, else once listed.
    window: Option<PatternWindow>,
}

/// The correlation of a pattern's occurrences: exact over few distinct contexts, else from
/// their MinHash signatures.
fn correlation_of(state: &PatternState, lookup: &dyn PatternLookup) -> Correlation {
    if state.contexts.len() <= EXACT_GROUP_LIMIT {
        let groups: Vec<(ContextSet, u64)> = state
            .contexts
            .iter()
            .map(|(ctx, n)| (lookup.context_set(*ctx), *n))
            .collect();
        return mean_pairwise_jaccard(&groups);
    }
    let sigs: Vec<(MinHash, u64)> = state
        .contexts
        .iter()
        .map(|(ctx, n)| (lookup.context_signature(*ctx), *n))
        .collect();
    let refs: Vec<(&MinHash, u64)> = sigs.iter().map(|(s, n)| (s, *n)).collect();
    estimate_mean_pairwise(&refs)
}

fn build(
    key: u32,
    occurrences: u64,
    PatternWindow { state: acc, days }: PatternWindow,
    (error_type, tool, program): (String, String, Option<String>),
    failure_rate: f64,
    correlation: Correlation,
    lookup: &dyn PatternLookup,
) -> Pattern {
    let (class_idx, (class_n, class_conf_sum)) = acc
        .classes
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.0.cmp(&a.0)))
        .map(|(i, v)| (i, *v))
        .unwrap_or((FailureClass::Unknown.code() as usize, (0, 0)));
    let class = FailureClass::from_code(class_idx as i64).unwrap_or(FailureClass::Unknown);
    let classification = PatternClassification {
        class,
        confidence: round4(if class_n > 0 {
            class_conf_sum as f64 / crate::pattern_state::CONFIDENCE_SCALE / class_n as f64
        } else {
            0.0
        }),
        share: round4(ratio(class_n, occurrences).unwrap_or(0.0)),
        signals: Signal::from_bits(acc.signal_bits[class_idx]),
    };

    let affected_run_count = acc.runs.count();
    let affected_runs: Vec<String> = acc
        .latest_runs()
        .into_iter()
        .map(|r| lookup.run_name(r))
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

    let recovery = Recovery::from_counts(&acc.retry);
    let mut recorded: Vec<(u32, u64)> = acc.recorded.into_iter().collect();
    recorded.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let recorded_error_types = recorded
        .into_iter()
        .take(TEMPLATE_CAP)
        .map(|(r, count)| RecordedTypeCount {
            error_type: (r != 0).then(|| lookup.recorded_type(r)),
            count,
        })
        .collect();
    let (recent, baseline) = lookup.pattern_trend_tallies(key);
    let (from_ms, to_ms) = lookup.window();
    let id = match &program {
        Some(p) => format!("{error_type}:{tool}:{p}"),
        None => format!("{error_type}:{tool}"),
    };
    let subject = match &program {
        Some(p) => format!("`{p}` run through `{tool}`"),
        None => format!("`{tool}`"),
    };
    let suggested_fix = suggest_fix(
        class,
        &subject,
        &recovery,
        templates.first().map(|t| t.template_id),
    );
    Pattern {
        id,
        confidence: round4(confidence(occurrences, correlation.score, failure_rate)),
        error_type,
        tool_name: tool,
        program,
        occurrences,
        correlation_score: round4(correlation.score),
        affected_runs_omitted: affected_run_count.saturating_sub(affected_runs.len() as u64),
        affected_runs,
        affected_run_count,
        suggested_fix,
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
        recorded_error_types,
        trend: trend(recent, baseline),
        daily: daily_series(&series_days(from_ms, to_ms), &days),
    }
}

/// A one-sentence remediation grounded in the pattern's class and its retry evidence.
/// `subject` names what fails (e.g. "`read_file`", "`pytest` run through `Bash`"). Retry is
/// advised only for transient classes and only on retry evidence; for causes that repeating
/// the same call cannot fix, the evidence is quoted to say so. The most common message is
/// referred to by its template id, never quoted: recorded text stays out of our sentences.
pub fn suggest_fix(
    class: FailureClass,
    subject: &str,
    recovery: &Recovery,
    top_template: Option<u32>,
) -> String {
    let with_args = recovery.of - recovery.without_arguments;
    let retry_note = if with_args == 0 {
        if recovery.of > 0 {
            " The history records no arguments for these calls, so there is no retry evidence."
                .to_string()
        } else {
            String::new()
        }
    } else if !class.is_transient() {
        if recovery.recovered > 0 {
            format!(
                " {} of {} failures succeeded when the same call was repeated, but the cause is not transient: fix the cause rather than retrying.",
                recovery.recovered, with_args
            )
        } else {
            format!(
                " None of {with_args} failures succeeded on a repeat of the same call; retrying will not help."
            )
        }
    } else if recovery.share_or_zero() >= 0.5 {
        format!(
            " {} of {} failures succeeded when the same call was repeated, so retry with exponential backoff is likely to absorb most of them.",
            recovery.recovered, with_args
        )
    } else {
        format!(
            " Only {} of {} failures succeeded when the same call was repeated ({} moved on to other calls), so retrying alone will not fix it.",
            recovery.recovered, with_args, recovery.moved_on
        )
    };
    let action = match class {
        FailureClass::Timeout => format!(
            "Raise the timeout of {subject} above its observed ceiling and find what makes it slow."
        ),
        FailureClass::ConnectionRefused => format!(
            "The service behind {subject} is not listening: add a health check and restart with backoff before calling it."
        ),
        FailureClass::NetworkError => format!(
            "Network failures on {subject}: check connectivity and name resolution; add a circuit breaker."
        ),
        FailureClass::ServerCrashed => format!(
            "The server behind {subject} crashes: restart it with a health check and capped backoff, and open a circuit breaker while it is down."
        ),
        FailureClass::Oom => format!(
            "{subject} is killed for memory: scale down the payload (smaller batches or inputs) or raise its memory limit."
        ),
        FailureClass::PermissionDenied => format!(
            "{subject} lacks permissions: fix the grant or route the call to a path the agent may use."
        ),
        FailureClass::NotFound => format!(
            "{subject} is called on things that do not exist: check existence first (list, search) and fall back."
        ),
        FailureClass::RateLimited => format!(
            "{subject} is rate limited: honour retry-after with backoff and lower the call rate."
        ),
        FailureClass::DependencyFailure => format!(
            "A program, module or service that {subject} needs is missing: install or pin it, or skip it when optional."
        ),
        FailureClass::InvalidInput => format!(
            "The agent sends {subject} invalid arguments: validate inputs against the tool's schema and usage before calling."
        ),
        FailureClass::StaleState => format!(
            "The agent acts on an outdated view with {subject}: re-read the target right before editing, and make the edit's context match the current content."
        ),
        FailureClass::CommandFailed => format!(
            "Commands run with {subject} exit non-zero for their own reasons (tests, compile errors, scripts): surface the salient error to the agent and fix the cause before re-running."
        ),
        FailureClass::ToolError => format!(
            "{subject} reports errors of its own: inspect the top template and fix the tool or the way it is called."
        ),
        FailureClass::Unknown => format!(
            "The cause of {subject} failures is not recognisable from the record: inspect the top template and record an error_type."
        ),
    };
    match top_template {
        Some(t) => format!("{action}{retry_note} Most common message: template T{t}."),
        None => format!("{action}{retry_note}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        assert_eq!(
            pattern_id(FailureClass::NotFound, "list_dir", None),
            "not_found:list_dir"
        );
        assert_eq!(
            pattern_id(FailureClass::CommandFailed, "Bash", Some("pytest")),
            "command_failed:Bash:pytest"
        );
        assert_eq!(
            legacy_pattern_id(Some("tool_error"), FailureClass::NotFound, "list_dir"),
            "tool_error:list_dir"
        );
        assert_eq!(
            legacy_pattern_id(None, FailureClass::Unknown, "execute_command"),
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

    #[test]
    fn daily_series_cover_the_last_days_of_the_window() {
        const D: i64 = 86_400_000;
        // (from, to) -> (first day, last day, series start)
        for (from, to, first, last, start) in [
            (0, D - 1, 0, 0, 0),
            (D / 2, 3 * D + 5, 0, 3, D / 2),
            (0, 200 * D, 200 - 89, 200, 111 * D),
            (-D, -1, -1, -1, -D),
        ] {
            let days = series_days(from, to);
            assert_eq!(
                (days[0], *days.last().unwrap()),
                (first, last),
                "{from}..{to}"
            );
            assert_eq!(days.len() as i64, last - first + 1);
            assert_eq!(series_start(from, to), start, "{from}..{to}");
        }
        let counts = std::collections::BTreeMap::from([(1, 4), (3, 2)]);
        let series = daily_series(&[0, 1, 2, 3], &counts);
        let shown: Vec<(String, u64)> = series.into_iter().map(|d| (d.day, d.count)).collect();
        assert_eq!(
            shown,
            [
                ("1970-01-01".to_string(), 0),
                ("1970-01-02".to_string(), 4),
                ("1970-01-03".to_string(), 0),
                ("1970-01-04".to_string(), 2),
            ]
        );
    }

    struct Names;
    impl PatternLookup for Names {
        fn pattern_name(&self, p: u32) -> (String, String, Option<String>) {
            match p {
                1 => ("timeout".into(), "fetch".into(), None),
                _ => ("not_found".into(), "read".into(), None),
            }
        }
        fn recorded_type(&self, r: u32) -> String {
            format!("type{r}")
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
        fn window(&self) -> (i64, i64) {
            (0, 86_400_000 * 2)
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
        let retry = if recovered {
            RetryState::Recovered
        } else {
            RetryState::MovedOn
        };
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
            retry,
            recorded: (ts % 2) as u32,
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
        let found = acc.finish(&Names, &PatternFilter::default(), 500).patterns;
        assert_eq!(found.len(), 1, "pattern 2 is below min_occurrences");
        let p = &found[0];
        assert_eq!(p.id, "timeout:fetch");
        assert_eq!((p.occurrences, p.affected_run_count), (12, 4));
        assert_eq!(p.affected_runs.len(), 4);
        assert_eq!(p.first_seen, format_ms(1_000));
        assert_eq!(p.last_seen, format_ms(1_011));
        assert_eq!((p.recovery.recovered, p.recovery.of), (4, 12));
        assert_eq!(p.recovery.moved_on, 8);
        assert_eq!(p.recovery.evidence, "available");
        assert_eq!(
            p.recorded_error_types,
            vec![
                RecordedTypeCount {
                    error_type: None,
                    count: 6
                },
                RecordedTypeCount {
                    error_type: Some("type1".into()),
                    count: 6
                }
            ]
        );
        assert_eq!(p.templates.iter().map(|t| t.count).sum::<u64>(), 12);
        assert_eq!(p.classification.class, FailureClass::Timeout);
        assert_eq!(p.failure_rate, 0.12);
        assert!(p.suggested_fix.contains("4 of 12"), "{}", p.suggested_fix);
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
        let found = acc.finish(&Names, &filter, 500).patterns;
        assert_eq!(
            found.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["not_found:read"]
        );
    }
}

#[cfg(test)]
mod advice_tests {
    use super::*;

    fn recovery(counts: [u64; 5]) -> Recovery {
        Recovery::from_counts(&counts)
    }

    #[test]
    fn retry_is_never_advised_for_causes_a_repeat_cannot_fix() {
        // [pending, recovered, retried_failed, moved_on, no_arguments]
        let mostly_recovered = recovery([0, 90, 0, 10, 0]);
        for class in FailureClass::ALL {
            let fix = suggest_fix(class, "`t`", &mostly_recovered, None);
            assert_eq!(
                fix.contains("retry with exponential backoff"),
                class.is_transient(),
                "{class:?}: {fix}"
            );
        }
    }

    #[test]
    fn the_top_template_is_referred_to_by_id() {
        let r = recovery([0, 0, 0, 0, 12]);
        let fix = suggest_fix(FailureClass::ToolError, "`t`", &r, Some(7));
        assert!(fix.ends_with(" Most common message: template T7."), "{fix}");
    }

    #[test]
    fn without_arguments_there_is_no_retry_claim() {
        let r = recovery([0, 0, 0, 0, 12]);
        assert_eq!((r.share, r.evidence.as_str()), (None, "unavailable"));
        let fix = suggest_fix(FailureClass::Timeout, "`t`", &r, None);
        assert!(fix.contains("no retry evidence"), "{fix}");
        let partial = recovery([1, 3, 0, 1, 5]);
        assert_eq!(partial.share, Some(0.6));
        assert_eq!(partial.evidence, "partial");
    }
}
