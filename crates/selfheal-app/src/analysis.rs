//! Use cases of the analysis half: one function per read-only tool.
//!
//! Each validates its arguments first (nothing is read or indexed for a bad call), catches the
//! index up with the run history, then answers from the index.

use std::collections::BTreeMap;

use selfheal_core::classify::FailureClass;
use selfheal_core::health::{HealthInputs, baseline_ratio, health_score};
use selfheal_core::pattern::{PatternFilter, split_pattern_id};
use selfheal_core::stalled::find_stalled;
use selfheal_core::time::{Window, format_ms};
use selfheal_core::trend::{Tally, trend};
use selfheal_store::Store;
use selfheal_store::query::{IndexReader, trend_windows};

use crate::App;
use crate::args::{
    AgentArgs, DashboardArgs, Detail, DetectArgs, PatternArgs, RunHealthArgs, StalledArgs,
    ToolArgs, window,
};
use crate::error::AppError;
use crate::paging;
use crate::sanitize::{echo, name};
use crate::views::*;

/// Progress callback: (events indexed so far, events to index).
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// How many improvements the dashboard lists.
const DASHBOARD_IMPROVEMENTS: u32 = 5;
/// How many patterns the dashboard lists.
const DASHBOARD_PATTERNS: usize = 5;

impl App {
    /// Imports what is new in `SELFHEAL_IMPORT`, catches the index up, and returns the store
    /// with the number of events indexed now. Progress is one increasing sequence: bytes
    /// imported, then events indexed after them.
    pub(crate) fn fresh_store(
        &self,
        progress: Progress<'_>,
    ) -> Result<(std::sync::Arc<Store>, u64), AppError> {
        let mut imported = 0u64;
        self.import_new(&mut |done, total| {
            imported = total;
            progress(done, total)
        })?;
        let store = self.store()?;
        let done = store.refresh(&mut |done, total| progress(imported + done, imported + total))?;
        Ok((store, done.events_read))
    }

    fn data_notes(
        reader: &IndexReader<'_>,
        w: Window,
        indexed_now: u64,
    ) -> selfheal_store::Result<DataNotes> {
        let (skipped, untimed) = reader.skipped_events(w)?;
        Ok(DataNotes {
            skipped_events: skipped,
            skipped_events_without_time: untimed,
            events_indexed_now: indexed_now,
        })
    }

    /// `detect_failure_patterns`.
    pub fn detect_failure_patterns(
        &self,
        args: &DetectArgs,
        progress: Progress<'_>,
    ) -> Result<DetectView, AppError> {
        args.validate()?;
        let fp = paging::filters(&[
            &args.since,
            &args.min_occurrences.to_string(),
            &args.confidence_threshold.to_string(),
            args.error_type.as_deref().unwrap_or_default(),
            args.tool_name.as_deref().unwrap_or_default(),
        ]);
        let cursor = args
            .cursor
            .as_deref()
            .map(|c| paging::Cursor::decode(c, "detect", "detect_failure_patterns", fp))
            .transpose()?;
        let w = match &cursor {
            Some(c) => c.window,
            None => window(&args.since, self.now_ms())?,
        };
        let offset = cursor.as_ref().map_or(0, |c| c.offset);
        let (store, indexed) = self.fresh_store(progress)?;
        let filter = PatternFilter {
            min_occurrences: args.min_occurrences as u64,
            confidence_threshold: args.confidence_threshold,
            error_type: args.error_type.clone(),
            tool_name: args.tool_name.clone(),
        };
        let (found, flagged, data) = store.read(|reader| {
            let found = reader.detect(w, &filter, None, offset + args.limit as usize)?;
            let flagged = reader.flagged_calls(w)?;
            let data = Self::data_notes(reader, w, indexed)?;
            Ok((found, flagged, data))
        })?;
        if let Some(c) = &cursor {
            c.check_current(
                found.passing,
                found.failures_in_window,
                "detect_failure_patterns",
            )?;
        }
        let patterns: Vec<_> = found.patterns.into_iter().skip(offset).collect();
        let shown = (offset + patterns.len()) as u64;
        let omitted = found.passing.saturating_sub(shown);
        let next_cursor = (omitted > 0).then(|| {
            paging::Cursor::new(
                w,
                shown as usize,
                found.passing,
                found.failures_in_window,
                fp,
            )
            .encode("detect")
        });
        Ok(DetectView {
            detail: Detail::Full,
            window: w.view(),
            patterns,
            patterns_omitted: omitted,
            next_cursor,
            failures_in_window: found.failures_in_window,
            patterns_seen: found.patterns_seen,
            filters: DetectFilters {
                min_occurrences: filter.min_occurrences,
                confidence_threshold: filter.confidence_threshold,
                error_type: filter.error_type,
                tool_name: filter.tool_name,
            },
            not_failures: not_failures(flagged),
            data,
        }
        .at(args.detail))
    }

    /// The pattern in `w` with every occurrence (no filters), after catching up; an unknown id
    /// or an empty window is a NotFound that says why and what to do.
    pub(crate) fn pattern_in(
        &self,
        pattern_id: &str,
        w: Window,
        progress: Progress<'_>,
    ) -> Result<FoundPattern, AppError> {
        let (store, indexed) = self.fresh_store(progress)?;
        store
            .read(|reader| {
                let (key, resolved_from) = match reader.pattern_key(pattern_id)? {
                    Some(key) => (key, None),
                    None => {
                        // An id in the recorded-type style: the patterns its failures belong
                        // to now.
                        let targets = reader.resolve_alias(pattern_id)?;
                        let Some((first, key, _)) = targets.first().cloned() else {
                            return Ok(Err(unknown_pattern(pattern_id, &reader.pattern_ids()?)));
                        };
                        let others = targets.len() - 1;
                        let note = format!(
                            "{} is an id in the recorded-type style; its failures now belong to {}{}, answered here (patterns are keyed by cause: class, tool and, for shell tools, program)",
                            name(pattern_id),
                            name(&first),
                            if others > 0 {
                                format!(" and {others} other pattern(s) listed in resolved_from")
                            } else {
                                String::new()
                            }
                        );
                        (
                            key,
                            Some(ResolvedAlias {
                                requested_id: pattern_id.to_string(),
                                patterns: targets
                                    .into_iter()
                                    .take(10)
                                    .map(|(id, _, failures)| AliasTarget { id, failures })
                                    .collect(),
                                note,
                            }),
                        )
                    }
                };
                let Some(pattern) = reader.detect(w, &PatternFilter::everything(), Some(key), 1)?.patterns.into_iter().next() else {
                    return Ok(Err(AppError::NotFound(format!(
                        "pattern {} has no occurrences between {} and {}; widen `since` (e.g. -90d)",
                        echo(pattern_id),
                        format_ms(w.from_ms),
                        format_ms(w.to_ms)
                    ))));
                };
                let tool_key = reader.tool_key(&pattern.tool_name)?;
                let timeout_ceiling_ms = match tool_key {
                    Some(k) => reader.tool_ceiling(k)?,
                    None => None,
                };
                Ok(Ok(FoundPattern { pattern, key, tool_key, timeout_ceiling_ms, indexed, resolved_from }))
            })?
    }

    /// `get_pattern`: one pattern in full, whatever its confidence.
    pub fn get_pattern(
        &self,
        args: &PatternArgs,
        progress: Progress<'_>,
    ) -> Result<PatternView, AppError> {
        args.validate()?;
        let w = window(&args.since, self.now_ms())?;
        let found = self.pattern_in(&args.pattern_id, w, progress)?;
        let (samples, data) = self.store()?.read(|reader| {
            Ok((
                reader.failure_samples(found.key, w, args.samples as u32)?,
                Self::data_notes(reader, w, found.indexed)?,
            ))
        })?;
        let pattern = found.pattern;
        Ok(PatternView {
            detail: Detail::Full,
            window: w.view(),
            resolved_from: found.resolved_from,
            failures_omitted: pattern.occurrences.saturating_sub(samples.len() as u64),
            recent_failures: samples
                .into_iter()
                .map(|s| FailureSampleView {
                    run_id: s.run_id,
                    at: format_ms(s.ts_ms),
                    template_id: s.template_id,
                    message: s.message,
                    class: s.class,
                    program: s.program,
                    retry: s.retry,
                })
                .collect(),
            pattern,
            data,
        }
        .at(args.detail))
    }

    /// `compute_tool_reliability`.
    pub fn compute_tool_reliability(
        &self,
        args: &ToolArgs,
        progress: Progress<'_>,
    ) -> Result<ToolsView, AppError> {
        args.validate()?;
        let fp = paging::filters(&[&args.since, args.tool_name.as_deref().unwrap_or_default()]);
        let cursor = args
            .cursor
            .as_deref()
            .map(|c| paging::Cursor::decode(c, "tools", "compute_tool_reliability", fp))
            .transpose()?;
        let w = match &cursor {
            Some(c) => c.window,
            None => window(&args.since, self.now_ms())?,
        };
        let offset = cursor.as_ref().map_or(0, |c| c.offset);
        let (store, indexed) = self.fresh_store(progress)?;
        let (tools, total, calls, data) = store.read(|reader| {
            let mut tools = reader.tool_reliability(w, args.tool_name.as_deref())?;
            let total = tools.len() as u64;
            let calls: u64 = tools.iter().map(|t| t.total_calls).sum();
            let mut tools: Vec<_> = tools
                .drain(..)
                .skip(offset)
                .take(args.limit as usize)
                .collect();
            reader.tool_daily_series(w, &mut tools)?;
            Ok((tools, total, calls, Self::data_notes(reader, w, indexed)?))
        })?;
        if let Some(c) = &cursor {
            c.check_current(total, calls, "compute_tool_reliability")?;
        }
        let shown = (offset + tools.len()) as u64;
        let omitted = total.saturating_sub(shown);
        let next_cursor = (omitted > 0)
            .then(|| paging::Cursor::new(w, shown as usize, total, calls, fp).encode("tools"));
        Ok(ToolsView {
            detail: Detail::Full,
            window: w.view(),
            tools,
            tools_omitted: omitted,
            next_cursor,
            data,
        }
        .at(args.detail))
    }

    /// `compute_agent_metrics`.
    pub fn compute_agent_metrics(
        &self,
        args: &AgentArgs,
        progress: Progress<'_>,
    ) -> Result<AgentsView, AppError> {
        args.validate()?;
        let w = window(&args.since, self.now_ms())?;
        let (store, _) = self.fresh_store(progress)?;
        let mut agents = store.read(|reader| reader.agent_metrics(w))?;
        if let Some(only) = &args.agent {
            agents.retain(|a| &a.name == only);
        }
        Ok(AgentsView {
            window: w.view(),
            agents,
        })
    }

    /// `detect_stalled_runs`.
    pub fn detect_stalled_runs(
        &self,
        args: &StalledArgs,
        progress: Progress<'_>,
    ) -> Result<StalledView, AppError> {
        args.validate()?;
        let now = self.now_ms();
        let (store, _) = self.fresh_store(progress)?;
        let running = store.read(|reader| reader.running_runs())?;
        Ok(StalledView {
            now: format_ms(now),
            threshold_minutes: args.threshold_minutes,
            stalled: find_stalled(&running, now, args.threshold_minutes * 60_000),
            running_total: running.len() as u64,
        })
    }

    /// `analyze_run_health`.
    pub fn analyze_run_health(
        &self,
        args: &RunHealthArgs,
        progress: Progress<'_>,
    ) -> Result<RunHealthView, AppError> {
        args.validate()?;
        let now = self.now_ms();
        let (store, _) = self.fresh_store(progress)?;
        let found = store.read(|reader| {
            let Some(run) = reader.run(&args.run_id)? else {
                return Ok(None);
            };
            let calls = reader.run_calls(run.key)?;
            let workflow = run.workflow.clone().unwrap_or_else(|| run.agent.clone());
            let baseline = reader.workflow_baseline(&workflow, run.started_ms.unwrap_or(now))?;
            Ok(Some((run, calls, baseline)))
        })?;
        let Some((run, calls, (base_duration, base_tokens, base_runs))) = found else {
            let recent = store.read(|r| r.recent_run_ids(200))?;
            return Err(unknown_run(&args.run_id, &recent));
        };
        Ok(run_health(
            run,
            calls,
            base_duration,
            base_tokens,
            base_runs,
            now,
        ))
    }

    /// `get_health_dashboard`.
    pub fn get_health_dashboard(
        &self,
        args: &DashboardArgs,
        progress: Progress<'_>,
    ) -> Result<DashboardView, AppError> {
        let w = window(&args.since, self.now_ms())?;
        let (store, indexed) = self.fresh_store(progress)?;
        let now = self.now_ms();
        let (improvements, escalations, (healing_improvements, transitions, outcomes)) = store
            .with_source(|s| {
                Ok((
                    s.recent_improvements(DASHBOARD_IMPROVEMENTS)?,
                    s.open_escalations()?,
                    s.healing_facts(w.from_ms)?,
                ))
            })?;
        let healing = selfheal_core::healing::summarize(&healing_improvements, &transitions, w);
        let strategies = self.learned_strategies(&outcomes);
        let view = store.read(|reader| {
            let inputs = reader.health_inputs(w)?;
            let score = health_score(&inputs);
            let (recent, baseline) = trend_windows(w.to_ms);
            // Completed vs finished runs: all the trend needs.
            let overall = |x: Window| -> selfheal_store::Result<Tally> {
                let (failed, finished) = reader.run_outcomes(x)?;
                Ok(Tally {
                    successes: finished - failed,
                    total: finished,
                })
            };
            let tr = trend(overall(recent)?, overall(baseline)?);
            let found = reader.detect(w, &PatternFilter::default(), None, DASHBOARD_PATTERNS)?;
            let running = reader.running_runs()?;
            let stalled = find_stalled(
                &running,
                now,
                selfheal_core::stalled::DEFAULT_STALL_MINUTES * 60_000,
            );
            let agents = if args.detailed {
                Some(reader.agent_metrics(w)?)
            } else {
                None
            };
            let runs_in_window = reader.runs_started(w)?;
            let tools = if args.detailed {
                let mut tools = reader.tool_reliability(w, None)?;
                reader.tool_daily_series(w, &mut tools)?;
                Some(tools)
            } else {
                None
            };
            // The daily series spans the trend's windows too, so both can be drawn.
            let series = Window {
                from_ms: w.from_ms.min(baseline.from_ms),
                to_ms: w.to_ms,
            };
            let days = selfheal_core::pattern::series_days(series.from_ms, series.to_ms);
            let series = Window {
                from_ms: selfheal_core::pattern::series_start(series.from_ms, series.to_ms),
                to_ms: series.to_ms,
            };
            let runs = reader.run_daily(series)?;
            let calls = reader.tool_daily(series, None)?;
            let daily = days
                .iter()
                .map(|d| {
                    let r = runs.get(d).copied().unwrap_or_default();
                    let (tool_calls, tool_failures) = calls.get(d).copied().unwrap_or_default();
                    let finished = r[1] + r[2];
                    DayHealth {
                        day: selfheal_core::pattern::day_label(*d),
                        runs_started: r[0],
                        runs_finished: finished,
                        runs_succeeded: r[1],
                        success_rate: selfheal_core::stats::ratio(r[1], finished)
                            .map(selfheal_core::stats::round4),
                        tool_calls,
                        tool_failures,
                    }
                })
                .collect();
            let data = Self::data_notes(reader, w, indexed)?;
            Ok(DashboardView {
                detail: Detail::Full,
                window: w.view(),
                overall_health_score: score.score,
                trend: tr,
                success_rate: selfheal_core::stats::ratio(inputs.runs.successes, inputs.runs.total)
                    .map(selfheal_core::stats::round4),
                recent_improvements: improvements
                    .into_iter()
                    .map(|i| ImprovementSummary {
                        id: i.id,
                        description: i.description,
                        impact: i.impact,
                        status: i.status,
                        category: i.category,
                        created_at: i.created_at,
                    })
                    .collect(),
                escalations: escalations
                    .into_iter()
                    .map(
                        |[pattern_id, level, rule, reason, created_at]| EscalationView {
                            pattern_id,
                            level,
                            rule,
                            reason,
                            created_at,
                        },
                    )
                    .collect(),
                components: score.components,
                unmeasured: score.unmeasured,
                runs_in_window,
                tool_calls_in_window: inputs.tool_calls.total,
                failed_calls_in_window: inputs.tool_calls.total - inputs.tool_calls.successes,
                patterns_total: found.passing,
                top_patterns: found
                    .patterns
                    .iter()
                    .take(DASHBOARD_PATTERNS)
                    .map(|p| PatternBrief {
                        id: p.id.clone(),
                        occurrences: p.occurrences,
                        affected_runs: p.affected_run_count,
                        confidence: p.confidence,
                        class: p.classification.class,
                        top_template: p.templates.first().map(|t| t.template.clone()),
                        daily: p.daily.clone(),
                    })
                    .collect(),
                daily,
                trend_windows: TrendWindows {
                    recent: recent.view(),
                    baseline: baseline.view(),
                },
                stalled_runs: stalled.len() as u64,
                healing,
                strategies,
                agents,
                tools,
                data,
            })
        })?;
        Ok(view.at(args.detail))
    }
}

/// A pattern found in a window, with the index keys the lifecycle needs.
pub(crate) struct FoundPattern {
    pub pattern: selfheal_core::pattern::Pattern,
    pub key: u32,
    pub tool_key: Option<u32>,
    /// The longest explicit timeout of the pattern's tool seen so far.
    pub timeout_ceiling_ms: Option<i64>,
    /// Events indexed by the catch-up of this call.
    pub indexed: u64,
    /// Set when the id asked for was an alias in the recorded-type style.
    pub resolved_from: Option<ResolvedAlias>,
}

/// How many (tool, program) rows of flagged non-failures a detection lists.
const FLAGGED_CAP: usize = 10;

/// The flagged calls that are not failures, summed and capped.
fn not_failures(flagged: Vec<selfheal_store::query::FlaggedCount>) -> NotFailuresView {
    let (rejected, cancelled, benign) = flagged.iter().fold((0, 0, 0), |(r, c, b), f| {
        (r + f.rejected, c + f.cancelled, b + f.benign)
    });
    let omitted = flagged.len().saturating_sub(FLAGGED_CAP) as u64;
    NotFailuresView {
        rejected,
        cancelled,
        benign,
        by_tool: flagged
            .into_iter()
            .take(FLAGGED_CAP)
            .map(|f| FlaggedView {
                tool: f.tool,
                program: f.program,
                rejected: f.rejected,
                cancelled: f.cancelled,
                benign: f.benign,
                rejected_sample: f.samples[0].clone(),
            })
            .collect(),
        by_tool_omitted: omitted,
    }
}

/// Builds the run-health view from a run, its calls and its workflow's baseline.
fn run_health(
    run: selfheal_store::query::RunInfoRow,
    calls: Vec<selfheal_store::query::RunCall>,
    base_duration: Option<u64>,
    base_tokens: Option<u64>,
    base_runs: u64,
    now: i64,
) -> RunHealthView {
    // Rejected and cancelled calls never ran: they are not tool calls that failed.
    let (total, failed, rejected, cancelled) = (run.calls, run.failed, run.rejected, run.cancelled);
    let mut by_pattern: BTreeMap<String, (u64, [u64; 5], Option<FailureClass>, String)> =
        BTreeMap::new();
    for c in calls.iter().filter(|c| c.failed) {
        let id = c
            .pattern
            .clone()
            .unwrap_or_else(|| format!("Unknown:{}", c.tool));
        let slot = by_pattern
            .entry(id)
            .or_insert((0, [0; 5], c.class, c.tool.clone()));
        slot.0 += 1;
        slot.1[c.retry.code() as usize] += 1;
    }
    let finished = matches!(run.status.as_str(), "completed" | "failed");
    let runs = if finished {
        Tally {
            successes: u64::from(run.status == "completed"),
            total: 1,
        }
    } else {
        Tally::default()
    };
    let duration = match (base_duration, run.duration_ms.filter(|_| finished)) {
        (Some(b), Some(o)) => baseline_ratio(b as f64, o as f64).map(|v| {
            (
                v,
                format!("this run took {o} ms; the workflow's median over {base_runs} finished run(s) in the 30 days before was {b} ms"),
            )
        }),
        _ => None,
    };
    let tokens = match (base_tokens, run.tokens) {
        (Some(b), Some(o)) => baseline_ratio(b as f64, o as f64).map(|v| {
            (
                v,
                format!("this run used {o} tokens; the workflow's median was {b}"),
            )
        }),
        _ => None,
    };
    let score = health_score(&HealthInputs {
        runs,
        duration,
        tool_calls: Tally {
            successes: total - failed,
            total,
        },
        tokens,
    });

    let mut issues = Vec::new();
    match run.status.as_str() {
        "failed" => issues.push(Issue {
            severity: Severity::High,
            description: "The run ended with status failed.".into(),
            recommendation:
                "Read the run's last failed calls below; fix the dominant pattern first.".into(),
        }),
        "running" => {
            let last = run.last_event_ms.or(run.started_ms);
            if let Some(idle) = last
                .map(|t| now - t)
                .filter(|idle| *idle > selfheal_core::stalled::DEFAULT_STALL_MINUTES * 60_000)
            {
                issues.push(Issue {
                    severity: Severity::High,
                    description: format!(
                        "The run is still running but has had no event for {}.",
                        selfheal_core::time::format_duration_ms(idle)
                    ),
                    recommendation: "It is probably stalled: check the agent process and cancel or restart the run.".into(),
                });
            }
        }
        _ => {}
    }
    for (pattern, (n, retry, class, tool)) in &by_pattern {
        let class = class.unwrap_or(FailureClass::Unknown);
        let recovery = selfheal_core::pattern::Recovery::from_counts(retry);
        let severity = match (*n, recovery.recovered == *n) {
            (_, true) => Severity::Low,
            (1, _) => Severity::Medium,
            _ => Severity::High,
        };
        issues.push(Issue {
            severity,
            description: format!(
                "{n} failed call(s) of {tool} matching pattern {pattern} ({} recovered by repeating the same call).",
                recovery.recovered
            ),
            recommendation: selfheal_core::pattern::suggest_fix(
                class,
                &format!("`{tool}`"),
                &recovery,
                None,
            ),
        });
    }
    if rejected > 0 {
        issues.push(Issue {
            severity: Severity::Low,
            description: format!(
                "{rejected} call(s) were declined by a person or a permission policy (not counted as failures)."
            ),
            recommendation: "Declined calls show what people do not want the agent to do: review them, and adjust the agent's instructions or permissions.".into(),
        });
    }
    if let (Some(b), Some(o)) = (base_duration, run.duration_ms)
        && finished
        && o as f64 > 2.0 * b as f64
    {
        {
            issues.push(Issue {
                severity: Severity::Medium,
                description: format!(
                    "The run took {o} ms, more than twice its workflow's median of {b} ms."
                ),
                recommendation:
                    "Look for slow tools (compute_tool_reliability p95) and retries in this run."
                        .into(),
            });
        }
    }
    if let (Some(b), Some(o)) = (base_tokens, run.tokens)
        && o as f64 > 2.0 * b as f64
    {
        {
            issues.push(Issue {
                severity: Severity::Low,
                description: format!(
                    "The run used {o} tokens, more than twice its workflow's median of {b}."
                ),
                recommendation: "Check for loops or oversized tool outputs fed back to the model."
                    .into(),
            });
        }
    }
    issues.sort_by_key(|i| std::cmp::Reverse(i.severity.rank()));
    RunHealthView {
        run_id: run.run_id,
        health_score: score.score,
        issues,
        status: run.status,
        agent: run.agent,
        workflow: run.workflow,
        started_at: run.started_ms.map(format_ms),
        duration_ms: run.duration_ms,
        baseline_duration_ms: base_duration,
        tool_calls: total,
        failed_calls: failed,
        rejected_calls: rejected,
        cancelled_calls: cancelled,
        failures_by_pattern: by_pattern
            .into_iter()
            .map(|(pattern_id, (failures, retry, _, _))| RunPatternCount {
                pattern_id,
                failures,
                recovered: retry[selfheal_core::retry::RetryState::Recovered.code() as usize],
            })
            .collect(),
        components: score.components,
        unmeasured: score.unmeasured,
    }
}

impl Severity {
    fn rank(&self) -> u8 {
        match self {
            Severity::Low => 0,
            Severity::Medium => 1,
            Severity::High => 2,
            Severity::Critical => 3,
        }
    }
}

/// "Unknown pattern" with the closest known ids.
pub(crate) fn unknown_pattern(id: &str, known: &[String]) -> AppError {
    let hint = closest(id, known, 3);
    let tool_hint = split_pattern_id(id)
        .map(|(_, tool)| {
            let same_tool: Vec<&String> = known
                .iter()
                .filter(|k| split_pattern_id(k).is_some_and(|(_, t)| t == tool))
                .take(5)
                .collect();
            if same_tool.is_empty() {
                String::new()
            } else {
                format!(
                    " Patterns of tool {}: {}.",
                    name(tool),
                    same_tool
                        .iter()
                        .map(|s| name(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        })
        .unwrap_or_default();
    AppError::NotFound(format!(
        "no pattern {} in the run history{}.{tool_hint} Ids are <class>:<tool> (<class>:<tool>:<program> for shell tools); list them with detect_failure_patterns.",
        echo(id),
        did_you_mean(&hint)
    ))
}

/// "Unknown run" with the closest recent ids.
fn unknown_run(id: &str, recent: &[String]) -> AppError {
    let hint = closest(id, recent, 3);
    AppError::NotFound(format!(
        "no run {} in the run history{}; run ids are runs.id values (see affected_run_ids in detect_failure_patterns)",
        echo(id),
        did_you_mean(&hint)
    ))
}

/// "; did you mean a, b" with each id from the history escaped and capped (or nothing).
fn did_you_mean(hint: &[String]) -> String {
    if hint.is_empty() {
        return String::new();
    }
    let names: Vec<_> = hint.iter().map(|h| name(h)).collect();
    format!("; did you mean {}", names.join(", "))
}

/// Up to `n` candidates similar to `needle` (normalised Levenshtein ≥ 0.6).
fn closest(needle: &str, candidates: &[String], n: usize) -> Vec<String> {
    let mut scored: Vec<(f64, &String)> = candidates
        .iter()
        .map(|c| (strsim::normalized_levenshtein(needle, c), c))
        .filter(|(s, _)| *s >= 0.6)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.into_iter().take(n).map(|(_, c)| c.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_near_misses() {
        let known = vec![
            "timeout:fetch_url".to_string(),
            "not_found:read_file".to_string(),
        ];
        assert_eq!(
            closest("timeout:fetch_ur", &known, 3),
            vec!["timeout:fetch_url"]
        );
        assert!(closest("zzz", &known, 3).is_empty());
        let e = unknown_pattern("timeout:read_file", &known).to_string();
        assert!(
            e.contains("Patterns of tool read_file: not_found:read_file"),
            "{e}"
        );
    }
}
