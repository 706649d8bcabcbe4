//! Stalled runs: `running` runs whose newest event is older than a threshold.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::time::{format_duration_ms, format_ms};

/// Default stall threshold: 10 minutes.
pub const DEFAULT_STALL_MINUTES: i64 = 10;

/// A running run as the store sees it.
#[derive(Clone, Debug)]
pub struct RunningRun {
    pub run_id: String,
    pub agent: String,
    pub started_ms: Option<i64>,
    /// Newest event: (time, event type); `None` when the run has no events.
    pub last_event: Option<(i64, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StalledRun {
    pub run_id: String,
    pub agent: String,
    pub started_at: Option<String>,
    /// Time of the newest event (or the start, when the run has no events).
    pub last_activity_at: Option<String>,
    pub last_event_type: Option<String>,
    /// Milliseconds since the last activity.
    pub stalled_for_ms: i64,
    /// The same, for humans (`2h 5m`).
    pub stalled_for: String,
}

/// The stalled runs among `running`, most stalled first.
pub fn find_stalled(running: &[RunningRun], now_ms: i64, threshold_ms: i64) -> Vec<StalledRun> {
    let mut out: Vec<StalledRun> = running
        .iter()
        .filter_map(|r| {
            let last = r.last_event.as_ref().map(|(t, _)| *t).or(r.started_ms)?;
            let idle = now_ms - last;
            (idle > threshold_ms).then(|| StalledRun {
                run_id: r.run_id.clone(),
                agent: r.agent.clone(),
                started_at: r.started_ms.map(format_ms),
                last_activity_at: Some(format_ms(last)),
                last_event_type: r.last_event.as_ref().map(|(_, t)| t.clone()),
                stalled_for_ms: idle,
                stalled_for: format_duration_ms(idle),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.stalled_for_ms
            .cmp(&a.stalled_for_ms)
            .then_with(|| a.run_id.cmp(&b.run_id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_idle_runs_are_stalled() {
        let now = 10_000_000;
        let run = |id: &str, last: Option<i64>| RunningRun {
            run_id: id.into(),
            agent: "a".into(),
            started_ms: Some(0),
            last_event: last.map(|t| (t, "tool_start".into())),
        };
        let runs = [
            run("live", Some(now - 60_000)),
            run("stalled", Some(now - 25 * 60_000)),
            run("older", Some(now - 120 * 60_000)),
            run("no-events", None),
        ];
        let found = find_stalled(&runs, now, 10 * 60_000);
        let ids: Vec<&str> = found.iter().map(|s| s.run_id.as_str()).collect();
        assert_eq!(ids, ["no-events", "older", "stalled"]);
        assert_eq!(found[2].stalled_for, "25m");
    }
}
