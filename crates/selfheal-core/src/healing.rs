//! The healing numbers, measured from the persisted lifecycle: who made the transitions
//! (automatic or manual), rollbacks, the share of resolved improvements that the policy
//! resolved on its own, and the times from a pattern's first occurrence to its fix being
//! applied and verified.
//!
//! Pure: the store hands over improvements and audit rows, the caller passes the window.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::lifecycle::Actor;
use crate::stats::{ratio, round4};
use crate::time::Window;

/// An improvement as the numbers need it.
#[derive(Clone, Debug, PartialEq)]
pub struct ImprovementFacts {
    pub id: String,
    pub status: String,
    /// When its pattern was first seen (from the proposal's evidence), Unix ms.
    pub first_seen_ms: Option<i64>,
}

/// One audit row.
#[derive(Clone, Debug, PartialEq)]
pub struct TransitionFacts {
    pub improvement_id: String,
    pub at_ms: i64,
    /// `propose`, `test`, `apply`, `verify`, `rollback`, `reject`, …
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    /// `None`: recorded before actors were.
    pub actor: Option<Actor>,
}

/// Counts by who made them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ByActor {
    /// By the healing policy (`watch --heal`).
    pub policy: u64,
    /// By the `watch` daemon without a policy (verifications).
    pub watch: u64,
    /// By an agent calling the MCP tools.
    pub agent: u64,
    /// By a person at the CLI.
    pub person: u64,
    /// Recorded before actors were.
    pub unrecorded: u64,
    /// policy + watch.
    pub automatic: u64,
    /// agent + person.
    pub manual: u64,
}

impl ByActor {
    fn add(&mut self, actor: Option<Actor>) {
        match actor {
            Some(Actor::Policy) => self.policy += 1,
            Some(Actor::Watch) => self.watch += 1,
            Some(Actor::Agent) => self.agent += 1,
            Some(Actor::Person) => self.person += 1,
            None => self.unrecorded += 1,
        }
        match actor {
            Some(a) if a.is_automatic() => self.automatic += 1,
            Some(_) => self.manual += 1,
            None => {}
        }
    }
}

/// A mean duration in hours, over everything and split by how the fix was applied.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MeanHours {
    pub all: Option<f64>,
    /// Fixes applied by the policy.
    pub automatic: Option<f64>,
    /// Fixes applied by an agent or a person (or before actors were recorded).
    pub manual: Option<f64>,
    /// Improvements measured.
    pub count: u64,
}

/// The healing numbers of a window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealingNumbers {
    /// Transitions recorded in the window, by who made them (pattern-id migrations excluded).
    pub actions: ByActor,
    /// The same, per action (`propose`, `test`, `apply`, `verify`, `rollback`, `reject`).
    pub by_action: BTreeMap<String, ByActor>,
    /// Rollbacks in the window, by who made them.
    pub rollbacks: ByActor,
    /// Improvements resolved in the window: verified, rolled back or rejected (by their
    /// current status, dated by the transition into it).
    pub resolved: u64,
    /// Of those, verified after the policy applied them.
    pub auto_resolved: u64,
    /// auto_resolved / resolved.
    pub auto_resolved_share: Option<f64>,
    /// From the pattern's first occurrence to the verification, for improvements verified in
    /// the window.
    pub time_to_recovery_hours: MeanHours,
    /// From the pattern's first occurrence to the apply, for improvements applied in the
    /// window.
    pub time_to_apply_hours: MeanHours,
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| round4(xs.iter().sum::<f64>() / xs.len() as f64))
}

fn mean_hours(samples: &[(bool, f64)]) -> MeanHours {
    let all: Vec<f64> = samples.iter().map(|s| s.1).collect();
    let auto: Vec<f64> = samples.iter().filter(|s| s.0).map(|s| s.1).collect();
    let manual: Vec<f64> = samples.iter().filter(|s| !s.0).map(|s| s.1).collect();
    MeanHours {
        all: mean(&all),
        automatic: mean(&auto),
        manual: mean(&manual),
        count: samples.len() as u64,
    }
}

const HOUR_MS: f64 = 3_600_000.0;

/// The numbers of window `w` from every improvement and its audit rows (any order).
pub fn summarize(
    improvements: &[ImprovementFacts],
    transitions: &[TransitionFacts],
    w: Window,
) -> HealingNumbers {
    let mut out = HealingNumbers::default();
    let mut by_improvement: BTreeMap<&str, Vec<&TransitionFacts>> = BTreeMap::new();
    for t in transitions {
        by_improvement
            .entry(t.improvement_id.as_str())
            .or_default()
            .push(t);
        if !w.contains(t.at_ms) || t.action == "pattern_id_migrated" {
            continue;
        }
        out.actions.add(t.actor);
        out.by_action
            .entry(t.action.clone())
            .or_default()
            .add(t.actor);
        if t.action == "rollback" && t.to_status == "rolled_back" {
            out.rollbacks.add(t.actor);
        }
    }
    let mut recoveries = Vec::new();
    let mut applies = Vec::new();
    for imp in improvements {
        let mut trail = by_improvement.remove(imp.id.as_str()).unwrap_or_default();
        trail.sort_by_key(|t| t.at_ms);
        let apply = trail
            .iter()
            .find(|t| t.action == "apply" && t.to_status == "applied");
        let automatic = apply.is_some_and(|t| t.actor == Some(Actor::Policy));
        // The transition into the current status, when it is a resolution.
        let resolution = matches!(imp.status.as_str(), "verified" | "rolled_back" | "rejected")
            .then(|| {
                trail.iter().find(|t| {
                    t.to_status == imp.status && t.from_status.as_deref() != Some(&imp.status)
                })
            })
            .flatten();
        if let Some(r) = resolution
            && w.contains(r.at_ms)
        {
            out.resolved += 1;
            if imp.status == "verified" && automatic {
                out.auto_resolved += 1;
            }
            if let (Some(first), "verified") = (imp.first_seen_ms, imp.status.as_str()) {
                recoveries.push((automatic, (r.at_ms - first) as f64 / HOUR_MS));
            }
        }
        if let (Some(a), Some(first)) = (apply, imp.first_seen_ms)
            && w.contains(a.at_ms)
        {
            applies.push((automatic, (a.at_ms - first) as f64 / HOUR_MS));
        }
    }
    out.auto_resolved_share = ratio(out.auto_resolved, out.resolved).map(round4);
    out.time_to_recovery_hours = mean_hours(&recoveries);
    out.time_to_apply_hours = mean_hours(&applies);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn imp(id: &str, status: &str, first_seen_h: i64) -> ImprovementFacts {
        ImprovementFacts {
            id: id.into(),
            status: status.into(),
            first_seen_ms: Some(first_seen_h * H),
        }
    }

    fn t(
        id: &str,
        at_h: i64,
        action: &str,
        from: &str,
        to: &str,
        actor: Option<Actor>,
    ) -> TransitionFacts {
        TransitionFacts {
            improvement_id: id.into(),
            at_ms: at_h * H,
            action: action.into(),
            from_status: (!from.is_empty()).then(|| from.into()),
            to_status: to.into(),
            actor,
        }
    }

    #[test]
    fn automatic_and_manual_fixes_are_told_apart() {
        use Actor::*;
        let p = Some(Policy);
        let improvements = [
            imp("a", "verified", 0),    // healed by the policy
            imp("b", "rolled_back", 0), // applied by the policy, regressed, rolled back by it
            imp("c", "verified", 10),   // applied by a person
            imp("d", "rejected", 0),    // rejected by an agent
            imp("e", "applied", 0),     // still open
        ];
        let transitions = [
            t("a", 1, "propose", "", "proposed", p),
            t("a", 1, "test", "proposed", "tested", p),
            t("a", 2, "apply", "tested", "applied", p),
            t("a", 170, "verify", "applied", "verified", p),
            t("a", 171, "verify", "verified", "verified", p),
            t("b", 1, "propose", "", "proposed", p),
            t("b", 2, "apply", "tested", "applied", p),
            t("b", 170, "verify", "applied", "applied", p),
            t("b", 170, "rollback", "applied", "rolled_back", p),
            t("c", 20, "apply", "tested", "applied", Some(Person)),
            t("c", 200, "verify", "applied", "verified", Some(Watch)),
            t("d", 5, "reject", "proposed", "rejected", Some(Agent)),
            t("e", 3, "apply", "tested", "applied", None),
            t("e", 3, "pattern_id_migrated", "applied", "applied", None),
        ];
        let n = summarize(
            &improvements,
            &transitions,
            Window {
                from_ms: 0,
                to_ms: 1_000 * H,
            },
        );
        assert_eq!(n.actions.policy, 9);
        assert_eq!(n.actions.watch, 1);
        assert_eq!(n.actions.person, 1);
        assert_eq!(n.actions.agent, 1);
        assert_eq!(
            n.actions.unrecorded, 1,
            "the migration row is not an action"
        );
        assert_eq!((n.actions.automatic, n.actions.manual), (10, 2));
        assert_eq!(n.by_action["apply"].policy, 2);
        assert_eq!(n.by_action["apply"].manual, 1);
        assert_eq!(n.rollbacks.policy, 1);
        assert_eq!((n.resolved, n.auto_resolved), (4, 1));
        assert_eq!(n.auto_resolved_share, Some(0.25));
        assert_eq!(n.time_to_recovery_hours.automatic, Some(170.0));
        assert_eq!(n.time_to_recovery_hours.manual, Some(190.0));
        assert_eq!(n.time_to_recovery_hours.all, Some(180.0));
        assert_eq!(n.time_to_apply_hours.count, 4);
        assert_eq!(n.time_to_apply_hours.automatic, Some(2.0));
    }

    #[test]
    fn only_the_window_counts() {
        let improvements = [imp("a", "verified", 0)];
        let transitions = [
            t("a", 2, "apply", "tested", "applied", Some(Actor::Policy)),
            t(
                "a",
                170,
                "verify",
                "applied",
                "verified",
                Some(Actor::Policy),
            ),
        ];
        let n = summarize(
            &improvements,
            &transitions,
            Window {
                from_ms: 100 * H,
                to_ms: 200 * H,
            },
        );
        assert_eq!(n.actions.policy, 1);
        assert_eq!((n.resolved, n.auto_resolved), (1, 1));
        assert_eq!(n.time_to_apply_hours.count, 0, "applied before the window");
        let empty = summarize(
            &[],
            &[],
            Window {
                from_ms: 0,
                to_ms: 1,
            },
        );
        assert_eq!(empty.auto_resolved_share, None);
        assert_eq!(empty.time_to_recovery_hours.all, None);
    }
}
