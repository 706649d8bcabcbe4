//! Retry evidence: was a failure recovered by repeating the same call?
//!
//! A failure is **recovered by retry** only when one of the next [`RETRY_WINDOW_CALLS`] calls
//! of the same run is a call of the same tool with the same arguments (by
//! [`crate::arguments::fingerprint`]) that succeeded. Otherwise, once that many calls have
//! followed, it is **retried without recovery** when the same call was repeated and failed
//! again, else **moved on** (the agent made different calls). A failure whose call has no
//! recorded arguments carries **no retry evidence** at all. While fewer calls have followed it
//! is provisionally "moved on" after the first later call (and "retried" after a failed
//! repeat); with no later call at all it stays **pending** (the run ended there, or has not
//! gone on yet).
//!
//! [`RetryTracker`] follows the calls of many runs as they are indexed, in order, and reports
//! each failure's state whenever it changes, so the caller stores only changes.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How many later calls of the same run may hold the retry.
pub const RETRY_WINDOW_CALLS: u32 = 10;

/// What became of a failure, as far as retrying goes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RetryState {
    /// No later call in the run (yet).
    Pending,
    /// The same call later succeeded within the window.
    Recovered,
    /// The same call was repeated within the window and never succeeded.
    RetriedFailed,
    /// The agent made different calls.
    MovedOn,
    /// The call's arguments were not recorded: no evidence either way.
    NoArguments,
}

impl RetryState {
    const ALL: [RetryState; 5] = [
        RetryState::Pending,
        RetryState::Recovered,
        RetryState::RetriedFailed,
        RetryState::MovedOn,
        RetryState::NoArguments,
    ];

    /// Stable small integer, used by the index.
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: i64) -> RetryState {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
            .unwrap_or(RetryState::Pending)
    }
}

/// A failure whose retry window is still open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFailure {
    pub event_id: i64,
    pub tool: u32,
    pub args: u64,
    /// Calls of the run seen since the failure.
    pub seen: u32,
    /// Whether the same call was repeated (and failed) since.
    pub retried: bool,
    /// Time of the run's latest call (ms), for expiry.
    pub last_ms: i64,
}

impl OpenFailure {
    fn state(&self) -> RetryState {
        match (self.seen, self.retried) {
            (0, _) => RetryState::Pending,
            (_, true) => RetryState::RetriedFailed,
            (_, false) => RetryState::MovedOn,
        }
    }
}

/// Follows the calls of many runs (see the module docs).
#[derive(Default, Debug)]
pub struct RetryTracker {
    open: HashMap<u32, Vec<OpenFailure>>,
}

/// One call as the tracker sees it.
#[derive(Clone, Copy, Debug)]
pub struct CallSeen {
    pub run: u32,
    pub tool: u32,
    pub args: Option<u64>,
    /// Whether the call is a failure (only failures open a window; every call counts).
    pub failed: bool,
    /// Whether the call succeeded (a rejected or cancelled call neither failed nor succeeded).
    pub succeeded: bool,
    pub event_id: i64,
    pub ts_ms: i64,
}

impl RetryTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a call; pushes `(event_id, state)` for every failure whose state changed
    /// (including the call itself when it is a failure without arguments).
    pub fn observe(&mut self, call: CallSeen, changes: &mut Vec<(i64, RetryState)>) {
        if let Some(open) = self.open.get_mut(&call.run) {
            open.retain_mut(|f| {
                let before = f.state();
                f.seen += 1;
                f.last_ms = f.last_ms.max(call.ts_ms);
                let same = call.tool == f.tool && call.args == Some(f.args);
                if same && call.succeeded {
                    changes.push((f.event_id, RetryState::Recovered));
                    return false;
                }
                if same && call.failed {
                    f.retried = true;
                }
                let after = f.state();
                if after != before {
                    changes.push((f.event_id, after));
                }
                f.seen < RETRY_WINDOW_CALLS
            });
            for f in open.iter_mut() {
                f.last_ms = f.last_ms.max(call.ts_ms);
            }
        }
        if call.failed {
            match call.args {
                Some(args) => self.open.entry(call.run).or_default().push(OpenFailure {
                    event_id: call.event_id,
                    tool: call.tool,
                    args,
                    seen: 0,
                    retried: false,
                    last_ms: call.ts_ms,
                }),
                None => changes.push((call.event_id, RetryState::NoArguments)),
            }
        }
        if self.open.get(&call.run).is_some_and(Vec::is_empty) {
            self.open.remove(&call.run);
        }
    }

    /// Forgets windows of runs with no call since `before_ms`: their provisional state is
    /// final (memory stays bounded by the runs in progress).
    pub fn expire(&mut self, before_ms: i64) {
        self.open.retain(|_, open| {
            open.retain(|f| f.last_ms >= before_ms);
            !open.is_empty()
        });
    }

    /// Every open window (to persist across restarts).
    pub fn open_failures(&self) -> impl Iterator<Item = (u32, &OpenFailure)> {
        self.open
            .iter()
            .flat_map(|(run, list)| list.iter().map(move |f| (*run, f)))
    }

    /// Restores an open window saved by [`Self::open_failures`].
    pub fn restore(&mut self, run: u32, failure: OpenFailure) {
        self.open.entry(run).or_default().push(failure);
    }

    pub fn open_count(&self) -> usize {
        self.open.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call of run 1: (tool, args, outcome) with outcome 'f' failed, 's' succeeded,
    /// 'r' rejected.
    fn run(calls: &[(u32, Option<u64>, char)]) -> HashMap<i64, RetryState> {
        let mut t = RetryTracker::new();
        let mut states = HashMap::new();
        let mut changes = Vec::new();
        for (i, (tool, args, o)) in calls.iter().enumerate() {
            if *o == 'f' {
                states.insert(i as i64, RetryState::Pending);
            }
            t.observe(
                CallSeen {
                    run: 1,
                    tool: *tool,
                    args: *args,
                    failed: *o == 'f',
                    succeeded: *o == 's',
                    event_id: i as i64,
                    ts_ms: i as i64,
                },
                &mut changes,
            );
            for (id, s) in changes.drain(..) {
                states.insert(id, s);
            }
        }
        states
    }

    use RetryState::*;

    #[test]
    fn a_retry_is_the_same_call_succeeding() {
        let s = run(&[(1, Some(7), 'f'), (1, Some(7), 's')]);
        assert_eq!(s[&0], Recovered);
        // Same tool, different arguments: the agent moved on.
        let s = run(&[(1, Some(7), 'f'), (1, Some(8), 's')]);
        assert_eq!(s[&0], MovedOn);
        // A retry loop that ends in success: both failures recovered.
        let s = run(&[(1, Some(7), 'f'), (1, Some(7), 'f'), (1, Some(7), 's')]);
        assert_eq!((s[&0], s[&1]), (Recovered, Recovered));
        // Retried and never recovered.
        let s = run(&[(1, Some(7), 'f'), (1, Some(7), 'f'), (2, None, 's')]);
        assert_eq!((s[&0], s[&1]), (RetriedFailed, MovedOn));
        // A rejected repeat is neither a retry failure nor a recovery.
        let s = run(&[(1, Some(7), 'f'), (1, Some(7), 'r')]);
        assert_eq!(s[&0], MovedOn);
        // No later call: pending. No arguments: no evidence.
        assert_eq!(run(&[(1, Some(7), 'f')])[&0], Pending);
        assert_eq!(run(&[(1, None, 'f'), (1, None, 's')])[&0], NoArguments);
    }

    #[test]
    fn the_window_is_bounded() {
        let mut calls = vec![(1, Some(7), 'f')];
        calls.extend((0..RETRY_WINDOW_CALLS - 1).map(|i| (2, Some(u64::from(i)), 's')));
        calls.push((1, Some(7), 's'));
        assert_eq!(run(&calls)[&0], Recovered, "the tenth call is inside");
        calls.insert(1, (3, None, 's'));
        assert_eq!(run(&calls)[&0], MovedOn, "the eleventh is not");
    }

    #[test]
    fn runs_are_independent_and_windows_expire() {
        let mut t = RetryTracker::new();
        let mut changes = Vec::new();
        let call = |run, failed, id, ts| CallSeen {
            run,
            tool: 1,
            args: Some(7),
            failed,
            succeeded: !failed,
            event_id: id,
            ts_ms: ts,
        };
        t.observe(call(1, true, 1, 0), &mut changes);
        t.observe(call(2, false, 2, 10), &mut changes);
        assert!(changes.is_empty(), "another run's success is no retry");
        assert_eq!(t.open_count(), 1);
        t.expire(5);
        assert_eq!(t.open_count(), 0);
    }
}
