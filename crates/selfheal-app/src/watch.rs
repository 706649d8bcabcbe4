//! One pass of the `watch` daemon: announce new patterns, run the verifications that are due,
//! announce stalled runs. The loop, its interval and signal handling live in the CLI.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use selfheal_core::time::parse_timestamp;

use crate::App;
use crate::args::{DetectArgs, ListArgs, StalledArgs, VerifyArgs};
use crate::inbox::{Note, Priority, code};
use crate::sanitize::NAME_MAX;

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WatchReport {
    pub patterns_seen: u64,
    /// Patterns announced in the inbox by this pass (others were within their cooldown).
    pub patterns_announced: Vec<String>,
    /// (improvement id, verdict) of the verifications run.
    pub verified: Vec<(String, String)>,
    pub stalled_announced: Vec<String>,
    /// Problems met; the pass goes on after each.
    pub errors: Vec<String>,
}

impl App {
    /// Runs one pass. Never fails: problems (a locked or missing database, an unwritable inbox)
    /// are reported in `errors` and the next pass tries again.
    pub fn watch_pass(&self) -> WatchReport {
        let mut report = WatchReport::default();
        let mut quiet = |_: u64, _: u64| {};
        let detected = match self.detect_failure_patterns(&DetectArgs::default(), &mut quiet) {
            Ok(d) => d,
            Err(e) => {
                report.errors.push(format!("detect: {e}"));
                return report;
            }
        };
        report.patterns_seen = detected.patterns.len() as u64;
        let mut db = match self.lifecycle_db() {
            Ok(db) => Some(db),
            Err(e) => {
                report.errors.push(format!(
                    "lifecycle state unavailable (notes without cooldown are skipped): {e}"
                ));
                None
            }
        };
        if let Some(db) = db.as_mut() {
            for p in &detected.patterns {
                // The fix is worded again with the names as inline code: the structured
                // suggestion names the tool in plain backticks, which a hostile name could close.
                let subject = match &p.program {
                    Some(program) => format!(
                        "{} run through {}",
                        code(program, NAME_MAX),
                        code(&p.tool_name, NAME_MAX)
                    ),
                    None => code(&p.tool_name, NAME_MAX),
                };
                let fix = selfheal_core::pattern::suggest_fix(
                    p.classification.class,
                    &subject,
                    &p.recovery,
                    p.templates.first().map(|t| t.template_id),
                );
                let note = Note {
                    tags: vec!["self-heal".into(), "patterns".into()],
                    priority: Priority::High,
                    message: format!(
                        "Pattern {}: {} failures in {} runs over the last 7 days (class {}, confidence {:.2}). {fix}",
                        code(&p.id, NAME_MAX),
                        p.occurrences,
                        p.affected_run_count,
                        p.classification.class.as_str(),
                        p.confidence,
                    ),
                };
                let outcome = self.notify(db, Some(&format!("pattern:{}", p.id)), note);
                if outcome.written {
                    report.patterns_announced.push(p.id.clone());
                } else if let Some(reason) = outcome.reason.filter(|r| !r.starts_with("cooldown")) {
                    report.errors.push(format!("note for {}: {reason}", p.id));
                }
            }
        }
        let now = self.now_ms();
        let applied = ListArgs {
            status: Some("applied".into()),
            limit: 100,
            cursor: None,
        };
        match self.list_improvements(&applied, &mut quiet) {
            Ok(list) => {
                for imp in list.improvements {
                    let due = imp
                        .verification_due_at
                        .as_deref()
                        .and_then(parse_timestamp)
                        .is_some_and(|d| d <= now);
                    if !due {
                        continue;
                    }
                    let args = VerifyArgs {
                        improvement_id: imp.id.clone(),
                        measurement_window_days: 7,
                    };
                    match self.verify_improvement(&args, &mut quiet) {
                        Ok(v) => report
                            .verified
                            .push((imp.id, format!("{:?}", v.verification_status))),
                        Err(e) => report.errors.push(format!("verify {}: {e}", imp.id)),
                    }
                }
            }
            Err(e) => report
                .errors
                .push(format!("list applied improvements: {e}")),
        }
        match self.detect_stalled_runs(&StalledArgs::default(), &mut quiet) {
            Ok(stalled) => {
                if let Some(db) = db.as_mut() {
                    for s in stalled.stalled {
                        let note = Note {
                            tags: vec!["self-heal".into(), "stalled".into()],
                            priority: Priority::High,
                            message: format!(
                                "Run {} of {} is still running but has had no event for {} (last: {}).",
                                code(&s.run_id, NAME_MAX),
                                code(&s.agent, NAME_MAX),
                                s.stalled_for,
                                s.last_event_type
                                    .as_deref()
                                    .map_or_else(|| "none".to_string(), |t| code(t, NAME_MAX))
                            ),
                        };
                        if self
                            .notify(db, Some(&format!("stalled:{}", s.run_id)), note)
                            .written
                        {
                            report.stalled_announced.push(s.run_id);
                        }
                    }
                }
            }
            Err(e) => report.errors.push(format!("stalled runs: {e}")),
        }
        report
    }
}
