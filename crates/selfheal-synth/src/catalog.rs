//! The static world of the generator: tools (with Zipf-like usage), agents, models, and the
//! planted failure patterns with their temporal profiles, rates and retry behaviour.
//!
//! Every failed tool call the generator writes belongs to exactly one planted pattern, and each
//! pattern's id (`<recorded error_type>:<tool>`, or `<implied class>:<tool>` when the type is
//! not recorded) is unique, so ground truth is unambiguous.

/// Number of tools.
pub(crate) const N_TOOLS: usize = 12;

/// Tool names, most used first overall.
pub(crate) const TOOLS: [&str; N_TOOLS] = [
    "read_file",
    "write_file",
    "list_dir",
    "execute_command",
    "search_code",
    "fetch_url",
    "http_request",
    "git_commit",
    "run_tests",
    "query_db",
    "browser_navigate",
    "send_slack_message",
];

pub(crate) const READ_FILE: usize = 0;
pub(crate) const WRITE_FILE: usize = 1;
pub(crate) const LIST_DIR: usize = 2;
pub(crate) const EXECUTE_COMMAND: usize = 3;
pub(crate) const SEARCH_CODE: usize = 4;
pub(crate) const FETCH_URL: usize = 5;
pub(crate) const HTTP_REQUEST: usize = 6;
pub(crate) const GIT_COMMIT: usize = 7;
pub(crate) const RUN_TESTS: usize = 8;
pub(crate) const QUERY_DB: usize = 9;
pub(crate) const BROWSER_NAVIGATE: usize = 10;
pub(crate) const SEND_SLACK: usize = 11;

/// Successful-call duration range per tool (ms, log-uniform). All lie well under the
/// tools' timeout ceilings.
pub(crate) const SUCCESS_DURATION: [(u64, u64); N_TOOLS] = [
    (2, 120),
    (3, 220),
    (2, 160),
    (150, 45_000),
    (15, 2_500),
    (80, 6_000),
    (40, 3_000),
    (40, 1_500),
    (1_500, 120_000),
    (5, 4_000),
    (300, 8_000),
    (100, 1_200),
];

/// An agent (workflow) and how it behaves.
pub(crate) struct Agent {
    /// `runs.workflow_name`.
    pub(crate) workflow: &'static str,
    /// Another agent name some runs carry in `metadata.agent` (differing from the workflow).
    pub(crate) alias: &'static str,
    /// Relative tool usage, indexed like [`TOOLS`].
    pub(crate) tools: [u32; N_TOOLS],
    /// Typical number of (non-retry) tool calls per run.
    pub(crate) mean_calls: u64,
    /// Models this agent runs on.
    pub(crate) models: &'static [&'static str],
}

/// The agents. Agent names for truth are `workflow` (index i) and `alias` (index 6 + i).
pub(crate) const AGENTS: [Agent; 6] = [
    Agent {
        workflow: "code-review",
        alias: "pr-reviewer",
        tools: [30, 4, 12, 6, 18, 3, 3, 1, 6, 0, 1, 1],
        mean_calls: 10,
        models: &["claude-sonnet", "claude-opus"],
    },
    Agent {
        workflow: "bugfix",
        alias: "fixer-v2",
        tools: [28, 12, 10, 14, 14, 2, 1, 4, 12, 1, 1, 0],
        mean_calls: 14,
        models: &["claude-sonnet", "gpt-x"],
    },
    Agent {
        workflow: "docs-writer",
        alias: "docs-bot",
        tools: [30, 18, 14, 2, 8, 6, 1, 3, 0, 0, 4, 0],
        mean_calls: 8,
        models: &["gpt-x-mini", "claude-haiku"],
    },
    Agent {
        workflow: "data-pipeline",
        alias: "etl-agent",
        tools: [6, 6, 4, 12, 2, 8, 18, 1, 2, 30, 0, 2],
        mean_calls: 9,
        models: &["gpt-x", "claude-sonnet"],
    },
    Agent {
        workflow: "release-bot",
        alias: "shipit",
        tools: [8, 6, 4, 22, 2, 2, 8, 18, 22, 0, 0, 5],
        mean_calls: 12,
        models: &["claude-haiku", "gpt-x-mini"],
    },
    Agent {
        workflow: "triage",
        alias: "issue-triager",
        tools: [18, 0, 4, 2, 16, 16, 14, 0, 1, 2, 7, 3],
        mean_calls: 6,
        models: &["gpt-x-mini", "claude-sonnet"],
    },
];

/// Run share per agent, indexed like [`AGENTS`].
pub(crate) const AGENT_WEIGHTS: [u32; 6] = [24, 22, 12, 18, 8, 16];

/// When a pattern is active.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Profile {
    /// Constant rate over the whole history.
    Steady,
    /// `base` rate, except inside windows centred at a fraction of the history span
    /// (`(fraction, width_hours)`) where the pattern's `rate` applies (an outage).
    Burst {
        base: f64,
        windows: &'static [(f64, i64)],
    },
    /// Active only during the last `days` days (a new problem).
    New { days: i64 },
    /// Active only before the last `days` days (a resolved problem).
    Resolved { days: i64 },
}

impl Profile {
    /// Label used in the ground truth.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Profile::Steady => "steady",
            Profile::Burst { .. } => "burst",
            Profile::New { .. } => "new",
            Profile::Resolved { .. } => "resolved",
        }
    }
}

/// Duration model of a failing call.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Dur {
    /// Log-uniform in the range (ms).
    Range(u64, u64),
    /// At the tool's timeout ceiling (ms) with a small jitter.
    Ceiling(u64),
}

/// Message family of a pattern (selects templates in `text`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Msg {
    NotFoundRead,
    PermissionRead,
    ToolErrorWrite,
    ToolErrorListDir,
    OomExec,
    TimeoutExec,
    UnknownExec,
    ToolErrorSearch,
    RefusedFetch,
    TimeoutFetch,
    RateLimitedHttp,
    TransportHttp,
    RefusedDb,
    ToolErrorDb,
    ToolErrorTests,
    CrashedBrowser,
    PermissionGit,
    TimeoutDb,
    ToolErrorSlack,
}

/// A planted failure pattern.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PatternDef {
    /// DESIGN §4 id.
    pub(crate) id: &'static str,
    /// Index into [`TOOLS`].
    pub(crate) tool: usize,
    /// The `error_type` written on every occurrence, or `None` (absent or JSON null).
    pub(crate) recorded: Option<&'static str>,
    /// The class a correct classifier assigns.
    pub(crate) class: &'static str,
    pub(crate) profile: Profile,
    /// Failure probability per call of the tool while active (inside windows for bursts).
    pub(crate) rate: f64,
    /// Probability that the agent immediately retries after an occurrence.
    pub(crate) retry: f64,
    /// Probability that such a retry succeeds.
    pub(crate) recover: f64,
    pub(crate) dur: Dur,
    pub(crate) msg: Msg,
}

/// The planted patterns. At most [`MAX_PATTERNS_PER_TOOL`] per tool.
pub(crate) const PATTERNS: [PatternDef; 19] = [
    PatternDef {
        id: "not_found:read_file",
        tool: READ_FILE,
        recorded: None,
        class: "not_found",
        profile: Profile::Steady,
        rate: 0.05,
        retry: 0.3,
        recover: 0.15,
        dur: Dur::Range(1, 40),
        msg: Msg::NotFoundRead,
    },
    PatternDef {
        id: "permission_denied:read_file",
        tool: READ_FILE,
        recorded: Some("permission_denied"),
        class: "permission_denied",
        profile: Profile::Steady,
        rate: 0.006,
        retry: 0.2,
        recover: 0.05,
        dur: Dur::Range(1, 20),
        msg: Msg::PermissionRead,
    },
    PatternDef {
        id: "tool_error:write_file",
        tool: WRITE_FILE,
        recorded: Some("tool_error"),
        class: "tool_error",
        profile: Profile::Steady,
        rate: 0.025,
        retry: 0.5,
        recover: 0.6,
        dur: Dur::Range(2, 300),
        msg: Msg::ToolErrorWrite,
    },
    PatternDef {
        id: "tool_error:list_dir",
        tool: LIST_DIR,
        recorded: Some("tool_error"),
        class: "tool_error",
        profile: Profile::Steady,
        rate: 0.03,
        retry: 0.4,
        recover: 0.5,
        dur: Dur::Range(2, 500),
        msg: Msg::ToolErrorListDir,
    },
    PatternDef {
        id: "oom:execute_command",
        tool: EXECUTE_COMMAND,
        recorded: None,
        class: "oom",
        profile: Profile::Burst {
            base: 0.001,
            windows: &[(0.45, 5), (0.78, 3)],
        },
        rate: 0.35,
        retry: 0.6,
        recover: 0.3,
        dur: Dur::Range(3_000, 90_000),
        msg: Msg::OomExec,
    },
    PatternDef {
        id: "timeout:execute_command",
        tool: EXECUTE_COMMAND,
        recorded: Some("timeout"),
        class: "timeout",
        profile: Profile::Steady,
        rate: 0.02,
        retry: 0.5,
        recover: 0.5,
        dur: Dur::Ceiling(120_000),
        msg: Msg::TimeoutExec,
    },
    PatternDef {
        id: "Unknown:execute_command",
        tool: EXECUTE_COMMAND,
        recorded: None,
        class: "Unknown",
        profile: Profile::Steady,
        rate: 0.01,
        retry: 0.3,
        recover: 0.5,
        dur: Dur::Range(100, 20_000),
        msg: Msg::UnknownExec,
    },
    PatternDef {
        id: "tool_error:search_code",
        tool: SEARCH_CODE,
        recorded: Some("tool_error"),
        class: "tool_error",
        profile: Profile::Steady,
        rate: 0.015,
        retry: 0.6,
        recover: 0.8,
        dur: Dur::Range(10, 3_000),
        msg: Msg::ToolErrorSearch,
    },
    PatternDef {
        id: "connection_refused:fetch_url",
        tool: FETCH_URL,
        recorded: None,
        class: "connection_refused",
        profile: Profile::Burst {
            base: 0.004,
            windows: &[(0.3, 8), (0.93, 4)],
        },
        rate: 0.55,
        retry: 0.7,
        recover: 0.35,
        dur: Dur::Range(1, 80),
        msg: Msg::RefusedFetch,
    },
    PatternDef {
        id: "timeout:fetch_url",
        tool: FETCH_URL,
        recorded: Some("timeout"),
        class: "timeout",
        profile: Profile::Steady,
        rate: 0.03,
        retry: 0.6,
        recover: 0.55,
        dur: Dur::Ceiling(30_000),
        msg: Msg::TimeoutFetch,
    },
    PatternDef {
        id: "rate_limited:http_request",
        tool: HTTP_REQUEST,
        recorded: None,
        class: "rate_limited",
        profile: Profile::New { days: 6 },
        rate: 0.12,
        retry: 0.8,
        recover: 0.6,
        dur: Dur::Range(40, 600),
        msg: Msg::RateLimitedHttp,
    },
    PatternDef {
        id: "transport_error:http_request",
        tool: HTTP_REQUEST,
        recorded: Some("transport_error"),
        class: "network_error",
        profile: Profile::Steady,
        rate: 0.02,
        retry: 0.7,
        recover: 0.7,
        dur: Dur::Range(20, 12_000),
        msg: Msg::TransportHttp,
    },
    PatternDef {
        id: "connection_refused:query_db",
        tool: QUERY_DB,
        recorded: Some("connection_refused"),
        class: "connection_refused",
        profile: Profile::Resolved { days: 16 },
        rate: 0.08,
        retry: 0.6,
        recover: 0.2,
        dur: Dur::Range(1, 60),
        msg: Msg::RefusedDb,
    },
    PatternDef {
        id: "tool_error:query_db",
        tool: QUERY_DB,
        recorded: Some("tool_error"),
        class: "tool_error",
        profile: Profile::Steady,
        rate: 0.025,
        retry: 0.4,
        recover: 0.6,
        dur: Dur::Range(3, 800),
        msg: Msg::ToolErrorDb,
    },
    PatternDef {
        id: "tool_error:run_tests",
        tool: RUN_TESTS,
        recorded: Some("tool_error"),
        class: "tool_error",
        profile: Profile::Steady,
        rate: 0.12,
        retry: 0.6,
        recover: 0.4,
        dur: Dur::Range(2_000, 180_000),
        msg: Msg::ToolErrorTests,
    },
    PatternDef {
        id: "server_crashed:browser_navigate",
        tool: BROWSER_NAVIGATE,
        recorded: Some("server_crashed"),
        class: "server_crashed",
        profile: Profile::Burst {
            base: 0.01,
            windows: &[(0.7, 48)],
        },
        rate: 0.5,
        retry: 0.5,
        recover: 0.3,
        dur: Dur::Range(50, 5_000),
        msg: Msg::CrashedBrowser,
    },
    PatternDef {
        id: "permission_denied:git_commit",
        tool: GIT_COMMIT,
        recorded: None,
        class: "permission_denied",
        profile: Profile::Steady,
        rate: 0.03,
        retry: 0.3,
        recover: 0.3,
        dur: Dur::Range(5, 200),
        msg: Msg::PermissionGit,
    },
    PatternDef {
        id: "timeout:query_db",
        tool: QUERY_DB,
        recorded: None,
        class: "timeout",
        profile: Profile::Steady,
        rate: 0.015,
        retry: 0.5,
        recover: 0.5,
        dur: Dur::Ceiling(15_000),
        msg: Msg::TimeoutDb,
    },
    PatternDef {
        id: "tool_error:send_slack_message",
        tool: SEND_SLACK,
        recorded: Some("tool_error"),
        class: "tool_error",
        profile: Profile::Steady,
        rate: 0.02,
        retry: 0.5,
        recover: 0.5,
        dur: Dur::Range(100, 900),
        msg: Msg::ToolErrorSlack,
    },
];

/// Capacity of the per-tool pattern index.
pub(crate) const MAX_PATTERNS_PER_TOOL: usize = 4;

/// Every model name in use (for tests).
#[cfg(test)]
pub(crate) const ALL_MODELS: [&str; 5] = [
    "claude-sonnet",
    "claude-opus",
    "claude-haiku",
    "gpt-x",
    "gpt-x-mini",
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn pattern_ids_unique_and_consistent() {
        let mut ids = BTreeSet::new();
        let mut per_tool = [0usize; N_TOOLS];
        for p in &PATTERNS {
            assert!(ids.insert(p.id), "duplicate id {}", p.id);
            let prefix = p.recorded.unwrap_or(p.class);
            assert_eq!(p.id, format!("{prefix}:{}", TOOLS[p.tool]));
            per_tool[p.tool] += 1;
        }
        assert!(per_tool.iter().all(|&n| n <= MAX_PATTERNS_PER_TOOL));
        for a in &AGENTS {
            for m in a.models {
                assert!(ALL_MODELS.contains(m));
            }
        }
        assert_eq!(AGENT_WEIGHTS.len(), AGENTS.len());
    }
}
