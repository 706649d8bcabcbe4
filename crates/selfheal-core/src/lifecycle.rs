//! The improvement lifecycle as a state machine.
//!
//! ```text
//! proposed ──test──▶ tested ──apply──▶ applied ──verify(verified)──▶ verified
//!     │                │ ▲  test          │  ▲ verify (other verdicts)   │ verify
//!     └──reject──▶ rejected ◀──reject─┘    └──rollback──▶ rolled_back ◀─rollback
//! ```
//!
//! Re-testing a tested improvement and re-verifying an applied or verified one are allowed
//! (new evidence replaces old). Rolling back or rejecting twice is an idempotent no-op.
//! Applying twice, or any other move, is illegal and the error names the current state and the
//! legal next steps.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Proposed,
    Tested,
    Applied,
    Verified,
    RolledBack,
    Rejected,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Proposed,
        Status::Tested,
        Status::Applied,
        Status::Verified,
        Status::RolledBack,
        Status::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Proposed => "proposed",
            Status::Tested => "tested",
            Status::Applied => "applied",
            Status::Verified => "verified",
            Status::RolledBack => "rolled_back",
            Status::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the improvement is finished (nothing but a no-op can follow).
    pub fn is_final(self) -> bool {
        matches!(self, Status::RolledBack | Status::Rejected)
    }
}

/// Who asked for a transition, as recorded in the audit trail: an agent calling the MCP
/// tools, a person at the CLI, the `watch` daemon verifying what is due, or the healing
/// policy acting on its own (`watch --heal`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Agent,
    Person,
    Watch,
    Policy,
}

impl Actor {
    pub const ALL: [Actor; 4] = [Actor::Agent, Actor::Person, Actor::Watch, Actor::Policy];

    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Agent => "agent",
            Actor::Person => "person",
            Actor::Watch => "watch",
            Actor::Policy => "policy",
        }
    }

    pub fn parse(text: &str) -> Option<Actor> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// Whether nobody called a tool for it: the daemon or the policy did it on its own.
    pub fn is_automatic(self) -> bool {
        matches!(self, Actor::Watch | Actor::Policy)
    }
}

/// What a caller asks to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Test,
    Apply,
    /// Verification with a verdict of `verified` (moves to `verified`).
    VerifySucceeded,
    /// Verification with any other verdict (stays `applied`, or `verified` when re-verifying).
    VerifyInconclusive,
    Rollback,
    Reject,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Test => "test",
            Transition::Apply => "apply",
            Transition::VerifySucceeded | Transition::VerifyInconclusive => "verify",
            Transition::Rollback => "rollback",
            Transition::Reject => "reject",
        }
    }
}

/// The outcome of a legal request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Move to a (possibly identical) state and record it.
    To(Status),
    /// Already done: change nothing (idempotent retry).
    NoOp,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} an improvement that is {}; {}", .transition.as_str(), .from.as_str(), legal_text(*.from))]
pub struct IllegalTransition {
    pub from: Status,
    pub transition: Transition,
}

/// The legal next steps from a state, as tool names.
pub fn legal_next(from: Status) -> &'static [&'static str] {
    match from {
        Status::Proposed => &["test_improvement", "reject_improvement"],
        Status::Tested => &[
            "apply_improvement",
            "test_improvement",
            "reject_improvement",
        ],
        Status::Applied => &["verify_improvement", "rollback_improvement"],
        Status::Verified => &["verify_improvement", "rollback_improvement"],
        Status::RolledBack | Status::Rejected => &[],
    }
}

fn legal_text(from: Status) -> String {
    let next = legal_next(from);
    if next.is_empty() {
        format!(
            "{} is final; propose a new improvement for the pattern",
            from.as_str()
        )
    } else {
        format!("legal next steps: {}", next.join(", "))
    }
}

/// Decides where `transition` leads from `from`.
pub fn step(from: Status, transition: Transition) -> Result<Step, IllegalTransition> {
    use Status::*;
    use Transition::*;
    let to = match (from, transition) {
        (Proposed | Tested, Test) => Tested,
        (Tested, Apply) => Applied,
        (Applied | Verified, VerifySucceeded) => Verified,
        (Applied, VerifyInconclusive) => Applied,
        (Verified, VerifyInconclusive) => Verified,
        (Applied | Verified, Rollback) => RolledBack,
        (RolledBack, Rollback) | (Rejected, Reject) => return Ok(Step::NoOp),
        (Proposed | Tested, Reject) => Rejected,
        _ => return Err(IllegalTransition { from, transition }),
    };
    Ok(Step::To(to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;
    use Transition::*;

    #[test]
    fn the_table() {
        let legal = [
            (Proposed, Test, Step::To(Tested)),
            (Tested, Test, Step::To(Tested)),
            (Tested, Apply, Step::To(Applied)),
            (Applied, VerifySucceeded, Step::To(Verified)),
            (Applied, VerifyInconclusive, Step::To(Applied)),
            (Verified, VerifyInconclusive, Step::To(Verified)),
            (Applied, Rollback, Step::To(RolledBack)),
            (Verified, Rollback, Step::To(RolledBack)),
            (RolledBack, Rollback, Step::NoOp),
            (Proposed, Reject, Step::To(Rejected)),
            (Tested, Reject, Step::To(Rejected)),
            (Rejected, Reject, Step::NoOp),
        ];
        for (from, t, expect) in legal {
            assert_eq!(step(from, t), Ok(expect), "{from:?} {t:?}");
        }
        let illegal = [
            (Proposed, Apply),
            (Applied, Apply),
            (Rejected, Apply),
            (Proposed, VerifySucceeded),
            (Tested, VerifyInconclusive),
            (Proposed, Rollback),
            (Applied, Reject),
            (Verified, Reject),
            (RolledBack, Test),
            (Rejected, Test),
        ];
        for (from, t) in illegal {
            let e = step(from, t).unwrap_err().to_string();
            assert!(e.contains(from.as_str()), "{e}");
        }
        let e = step(Applied, Apply).unwrap_err().to_string();
        assert_eq!(
            e,
            "cannot apply an improvement that is applied; legal next steps: verify_improvement, rollback_improvement"
        );
    }

    #[test]
    fn statuses_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for a in Actor::ALL {
            assert_eq!(Actor::parse(a.as_str()), Some(a));
        }
        assert!(Actor::Policy.is_automatic() && !Actor::Person.is_automatic());
    }
}
