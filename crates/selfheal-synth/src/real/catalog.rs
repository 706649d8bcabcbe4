//! The static world of the `real` profile: failure classes, tools (shell tools and the rest),
//! the programs shell tools run, the agents (harnesses) that call them and how each writes its
//! history. Message texts live in `vocab`; this module says who calls what, how often, and how
//! it fails.

use crate::ts::TsFormat;

use super::vocab::Fam;

/// A failure cause class (DESIGN §4 names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Class {
    Timeout,
    ConnectionRefused,
    NetworkError,
    ServerCrashed,
    Oom,
    PermissionDenied,
    NotFound,
    RateLimited,
    DependencyFailure,
    InvalidInput,
    StaleState,
    CommandFailed,
    ToolError,
    Unknown,
}

impl Class {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Class::Timeout => "timeout",
            Class::ConnectionRefused => "connection_refused",
            Class::NetworkError => "network_error",
            Class::ServerCrashed => "server_crashed",
            Class::Oom => "oom",
            Class::PermissionDenied => "permission_denied",
            Class::NotFound => "not_found",
            Class::RateLimited => "rate_limited",
            Class::DependencyFailure => "dependency_failure",
            Class::InvalidInput => "invalid_input",
            Class::StaleState => "stale_state",
            Class::CommandFailed => "command_failed",
            Class::ToolError => "tool_error",
            Class::Unknown => "Unknown",
        }
    }

    /// The specific `error_type` an agent that records types writes for this class (DESIGN §3
    /// lists the recorded values); `None` where agents have no specific name and write the
    /// generic `tool_error` (or nothing).
    pub(crate) fn recorded_name(self) -> Option<&'static str> {
        match self {
            Class::Timeout => Some("timeout"),
            Class::ConnectionRefused => Some("connection_refused"),
            Class::NetworkError => Some("transport_error"),
            Class::ServerCrashed => Some("server_crashed"),
            Class::PermissionDenied => Some("permission_denied"),
            Class::ToolError => Some("tool_error"),
            _ => None,
        }
    }

    /// How an agent reacts to a failure of this class: (probability of calling the same tool
    /// again with the same arguments, probability that such a repeat succeeds, most calls made
    /// in between — a re-read before a repeated edit, an edit before re-running tests).
    pub(crate) fn retry(self) -> (f64, f64, u64) {
        match self {
            Class::Timeout => (0.55, 0.55, 0),
            Class::ConnectionRefused => (0.6, 0.35, 1),
            Class::NetworkError => (0.6, 0.6, 0),
            Class::ServerCrashed => (0.5, 0.5, 1),
            Class::Oom => (0.35, 0.25, 1),
            Class::RateLimited => (0.7, 0.65, 0),
            Class::PermissionDenied => (0.2, 0.05, 1),
            Class::NotFound => (0.15, 0.04, 1),
            Class::DependencyFailure => (0.3, 0.3, 2),
            Class::InvalidInput => (0.12, 0.02, 0),
            Class::StaleState => (0.45, 0.6, 1),
            Class::CommandFailed => (0.5, 0.4, 3),
            Class::ToolError => (0.4, 0.5, 0),
            Class::Unknown => (0.3, 0.4, 0),
        }
    }
}

/// How a shell tool's harness shapes its arguments and its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shell {
    /// `Bash {"command", "description", "timeout"}`; output `Exit code N\n…`.
    Claude,
    /// `exec_command {"cmd", "workdir", "yield_time_ms"}`; output with a
    /// `Process exited with code N` header.
    CodexExec,
    /// `shell {"command": ["bash", "-lc", …], "workdir", "timeout_ms"}`; output is JSON
    /// `{"output", "metadata": {"exit_code", "duration_seconds"}}`.
    CodexArgv,
    /// `run_shell_command {"command", "description"}`; a `Command:/Output:/Exit Code:` block.
    Gemini,
    /// `bash {"command"}`; the raw observation.
    Swe,
    /// `execute_command {"command", "cwd", "timeout_ms"}`; `Command failed with exit code N`.
    Binks,
}

impl Shell {
    /// Harness timeout (ms): a command killed at this ceiling is reported as timed out.
    pub(crate) const fn ceiling_ms(self) -> u64 {
        match self {
            Shell::Claude => 120_000,
            Shell::CodexExec => 60_000,
            Shell::CodexArgv => 120_000,
            Shell::Gemini => 300_000,
            Shell::Swe => 120_000,
            Shell::Binks => 120_000,
        }
    }
}

/// What kind of tool a tool is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// Runs shell commands; failures are keyed by the program the command ran.
    Shell(Shell),
    /// Any other tool; its family holds its arguments, results and failures.
    Fam(Fam),
}

/// A tool.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ToolDef {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// Duration range of a successful call (ms, log-uniform).
    pub(crate) ok_ms: (u64, u64),
    /// Timeout ceiling (ms) of failing calls classed `timeout`.
    pub(crate) ceiling_ms: u64,
}

const fn t(name: &'static str, fam: Fam, ok_ms: (u64, u64), ceiling_ms: u64) -> ToolDef {
    ToolDef {
        name,
        kind: Kind::Fam(fam),
        ok_ms,
        ceiling_ms,
    }
}

const fn sh(name: &'static str, shell: Shell) -> ToolDef {
    ToolDef {
        name,
        kind: Kind::Shell(shell),
        ok_ms: (40, 30_000),
        ceiling_ms: shell.ceiling_ms(),
    }
}

/// Every tool of the profile (55).
pub(crate) const TOOLS: &[ToolDef] = &[
    // Claude Code
    sh("Bash", Shell::Claude),
    t("Read", Fam::CcRead, (2, 90), 30_000),
    t("Edit", Fam::CcEdit, (3, 120), 30_000),
    t("MultiEdit", Fam::CcEdit, (3, 160), 30_000),
    t("Write", Fam::CcWrite, (3, 140), 30_000),
    t("NotebookEdit", Fam::CcWrite, (5, 200), 30_000),
    t("Grep", Fam::CcGrep, (10, 1_500), 20_000),
    t("Glob", Fam::CcGlob, (5, 800), 20_000),
    t("WebFetch", Fam::CcWebFetch, (300, 9_000), 60_000),
    t("WebSearch", Fam::WebSearch, (800, 6_000), 30_000),
    t("TodoWrite", Fam::Todo, (1, 20), 10_000),
    t("Task", Fam::Subagent, (20_000, 400_000), 600_000),
    // Codex CLI
    sh("exec_command", Shell::CodexExec),
    sh("shell", Shell::CodexArgv),
    t("apply_patch", Fam::Patch, (5, 200), 30_000),
    t("update_plan", Fam::Todo, (1, 15), 10_000),
    // Gemini CLI
    sh("run_shell_command", Shell::Gemini),
    t("read_file", Fam::GemRead, (2, 120), 30_000),
    t("read_many_files", Fam::GemRead, (10, 900), 30_000),
    t("write_file", Fam::GemWrite, (3, 150), 30_000),
    t("replace", Fam::GemReplace, (3, 150), 30_000),
    t("glob", Fam::GemGlob, (5, 900), 20_000),
    t("list_directory", Fam::GemGlob, (2, 200), 20_000),
    t("search_file_content", Fam::GemGrep, (10, 2_000), 20_000),
    t("web_fetch", Fam::GemWebFetch, (400, 9_000), 60_000),
    t("google_web_search", Fam::WebSearch, (700, 5_000), 30_000),
    // SWE-agent
    sh("bash", Shell::Swe),
    t("str_replace_editor", Fam::SweEditor, (3, 200), 30_000),
    // Workflow agents (Binks layout, MCP servers)
    sh("execute_command", Shell::Binks),
    t("read_text_file", Fam::McpRead, (2, 150), 30_000),
    t("edit_file", Fam::McpEdit, (3, 200), 30_000),
    t("list_dir", Fam::McpList, (2, 300), 30_000),
    t("search_code", Fam::McpSearch, (20, 3_000), 30_000),
    t("query_db", Fam::Db, (5, 4_000), 15_000),
    t("http_request", Fam::Http, (40, 3_000), 30_000),
    t("fetch_url", Fam::Http, (80, 6_000), 30_000),
    t("k8s_get_pods", Fam::K8s, (80, 2_000), 30_000),
    t("deploy_service", Fam::Deploy, (5_000, 240_000), 600_000),
    t("s3_get_object", Fam::S3, (30, 2_500), 60_000),
    t("s3_put_object", Fam::S3, (40, 4_000), 60_000),
    t("send_slack_message", Fam::Slack, (100, 1_200), 10_000),
    t("send_email", Fam::Email, (200, 2_500), 30_000),
    t("python_exec", Fam::PyExec, (30, 20_000), 120_000),
    t("git_commit", Fam::GitCommit, (40, 1_500), 30_000),
    t("create_pull_request", Fam::GitHub, (300, 3_000), 30_000),
    t("github_get_issue", Fam::GitHub, (150, 1_500), 30_000),
    t("run_tests", Fam::Tests, (1_500, 180_000), 600_000),
    t("browser_navigate", Fam::Browser, (300, 8_000), 30_000),
    t("browser_click", Fam::Browser, (50, 2_000), 30_000),
    t("browser_fill", Fam::Browser, (50, 2_000), 30_000),
    t("browser_screenshot", Fam::Browser, (200, 3_000), 30_000),
    t("memory_store", Fam::Mcp, (5, 400), 30_000),
    t("search_docs", Fam::Mcp, (50, 2_500), 30_000),
    t("vector_search", Fam::Mcp, (20, 1_500), 30_000),
    t("jira_create_issue", Fam::Jira, (300, 2_500), 30_000),
];

/// The index of tool `name` in [`TOOLS`].
pub(crate) fn tool_index(name: &str) -> Option<usize> {
    TOOLS.iter().position(|t| t.name == name)
}

/// Programs each shell tool runs, with relative weights (by program name in `vocab::PROGS`).
pub(crate) fn shell_programs(shell: Shell) -> &'static [(&'static str, u32)] {
    match shell {
        Shell::Claude => &[
            ("git", 22),
            ("npm", 8),
            ("npx", 5),
            ("pytest", 9),
            ("python3", 7),
            ("cargo", 6),
            ("docker", 4),
            ("ls", 8),
            ("cat", 4),
            ("grep", 6),
            ("rg", 5),
            ("find", 3),
            ("gh", 4),
            ("make", 3),
            ("curl", 3),
            ("node", 3),
            ("kubectl", 2),
            ("go", 2),
            ("sed", 2),
            ("diff", 1),
            ("test", 1),
        ],
        Shell::CodexExec => &[
            ("rg", 14),
            ("sed", 10),
            ("git", 14),
            ("cargo", 8),
            ("pytest", 8),
            ("npm", 5),
            ("python3", 6),
            ("ls", 7),
            ("cat", 4),
            ("make", 3),
            ("go", 3),
            ("node", 2),
        ],
        Shell::CodexArgv => &[
            ("rg", 10),
            ("sed", 8),
            ("git", 14),
            ("cargo", 6),
            ("pytest", 7),
            ("npm", 4),
            ("python3", 5),
            ("ls", 8),
            ("cat", 4),
            ("make", 2),
            ("go", 2),
            ("find", 2),
        ],
        Shell::Gemini => &[
            ("git", 14),
            ("npm", 9),
            ("node", 4),
            ("python3", 6),
            ("pytest", 6),
            ("ls", 8),
            ("cat", 4),
            ("grep", 5),
            ("docker", 3),
            ("npx", 3),
        ],
        Shell::Swe => &[
            ("python3", 16),
            ("pytest", 10),
            ("git", 6),
            ("ls", 8),
            ("cat", 6),
            ("grep", 7),
            ("find", 5),
            ("sed", 3),
            ("pip", 2),
        ],
        Shell::Binks => &[
            ("npm", 10),
            ("cargo", 7),
            ("make", 6),
            ("docker", 9),
            ("pytest", 8),
            ("go", 5),
            ("terraform", 5),
            ("kubectl", 7),
            ("psql", 5),
            ("curl", 6),
            ("pip", 3),
            ("git", 6),
        ],
    }
}

/// How an agent records `error_type` on a run's failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recording {
    /// The class's specific name where it has one, else the generic `tool_error`.
    Specific,
    /// Always the generic `tool_error`.
    Generic,
    /// No `error_type` key.
    Absent,
    /// `"error_type": null`.
    Null,
}

/// How an agent writes its rows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Writer {
    /// Timestamp formats (weights: Zulu, offset, SQLite).
    pub(crate) ts: [u32; 3],
    /// Share of runs written with the `tool_name` / `duration_ms` / 0-1 `is_error` variants.
    pub(crate) variants: f64,
    /// Events carry the harness's call id (`call_id`), and parallel calls happen.
    pub(crate) call_ids: Option<&'static str>,
    /// Shell failures carry `exit_code`.
    pub(crate) exit_code: bool,
    /// Completions say where the duration comes from (`recorded` by the harness, or derived
    /// from `timestamps`, then including any wait for a person's approval), as imported
    /// transcripts do.
    pub(crate) duration_source: Option<&'static str>,
    /// Recording weights: specific, generic, absent, null.
    pub(crate) recording: [u32; 4],
    /// Share of calls of approval-gated tools that a person declines.
    pub(crate) reject_p: f64,
    /// The text of a declined call.
    pub(crate) rejection: &'static str,
}

impl Writer {
    pub(crate) fn ts_format(&self, r: &mut crate::rng::Rng) -> TsFormat {
        match r.weighted(&self.ts) {
            0 => TsFormat::Zulu,
            1 => TsFormat::Offset {
                minutes: r.pick(&[120, -300, 330, 60, -420]),
                micros: r.chance(0.5),
            },
            _ => TsFormat::Sqlite,
        }
    }
}

/// An agent: a workflow and its harness.
pub(crate) struct Agent {
    pub(crate) workflow: &'static str,
    /// Tools by name, with relative weights.
    pub(crate) tools: &'static [(&'static str, u32)],
    /// Typical number of (non-retry) tool calls per run.
    pub(crate) mean_calls: u64,
    pub(crate) models: &'static [&'static str],
    pub(crate) writer: Writer,
    /// Tools a person approves before they run (declines are `rejected` outcomes).
    pub(crate) gated: &'static [&'static str],
}

const CLAUDE_REJECT: &str = "The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if it was a file edit, the new_string was NOT written to the file). STOP what you are doing and wait for the user to tell you how to proceed.";
const CODEX_REJECT: &str = "exec command rejected by user";
const GEMINI_REJECT: &str = "User denied execution of this tool call.";

/// The agents and their run shares.
pub(crate) const AGENTS: &[(Agent, u32)] = &[
    (
        Agent {
            workflow: "claude-code",
            tools: &[
                ("Bash", 30),
                ("Read", 26),
                ("Edit", 14),
                ("MultiEdit", 2),
                ("Write", 5),
                ("NotebookEdit", 1),
                ("Grep", 8),
                ("Glob", 5),
                ("WebFetch", 3),
                ("WebSearch", 2),
                ("TodoWrite", 4),
                ("Task", 1),
            ],
            mean_calls: 22,
            models: &["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"],
            writer: Writer {
                ts: [100, 0, 0],
                variants: 0.0,
                call_ids: Some("toolu_01"),
                duration_source: Some("timestamps"),
                exit_code: true,
                recording: [0, 8, 92, 0],
                reject_p: 0.012,
                rejection: CLAUDE_REJECT,
            },
            gated: &["Bash", "Edit", "MultiEdit", "Write", "WebFetch"],
        },
        28,
    ),
    (
        Agent {
            workflow: "codex",
            tools: &[
                ("exec_command", 40),
                ("shell", 22),
                ("apply_patch", 18),
                ("update_plan", 5),
            ],
            mean_calls: 18,
            models: &["gpt-5-codex", "gpt-5"],
            writer: Writer {
                ts: [100, 0, 0],
                variants: 0.0,
                call_ids: Some("call_"),
                duration_source: Some("recorded"),
                exit_code: true,
                recording: [0, 0, 100, 0],
                reject_p: 0.01,
                rejection: CODEX_REJECT,
            },
            gated: &["exec_command", "shell"],
        },
        12,
    ),
    (
        Agent {
            workflow: "gemini-cli",
            tools: &[
                ("run_shell_command", 26),
                ("read_file", 22),
                ("read_many_files", 4),
                ("write_file", 7),
                ("replace", 12),
                ("glob", 6),
                ("list_directory", 6),
                ("search_file_content", 8),
                ("web_fetch", 3),
                ("google_web_search", 3),
            ],
            mean_calls: 14,
            models: &["gemini-2.5-pro", "gemini-2.5-flash"],
            writer: Writer {
                ts: [100, 0, 0],
                variants: 0.0,
                call_ids: Some("gemini-"),
                duration_source: Some("timestamps"),
                exit_code: false,
                recording: [0, 30, 70, 0],
                reject_p: 0.01,
                rejection: GEMINI_REJECT,
            },
            gated: &["run_shell_command", "write_file", "replace"],
        },
        8,
    ),
    (
        Agent {
            workflow: "swe-agent",
            tools: &[("bash", 60), ("str_replace_editor", 40)],
            mean_calls: 20,
            models: &["claude-sonnet-4-5", "gpt-4o"],
            writer: Writer {
                ts: [80, 0, 20],
                variants: 0.0,
                call_ids: None,
                duration_source: Some("recorded"),
                exit_code: true,
                recording: [0, 0, 100, 0],
                reject_p: 0.0,
                rejection: "",
            },
            gated: &[],
        },
        6,
    ),
    (
        Agent {
            workflow: "ops-runner",
            tools: &[
                ("execute_command", 30),
                ("read_text_file", 10),
                ("edit_file", 4),
                ("list_dir", 6),
                ("search_code", 4),
                ("query_db", 8),
                ("http_request", 10),
                ("k8s_get_pods", 8),
                ("deploy_service", 3),
                ("s3_get_object", 4),
                ("send_slack_message", 4),
            ],
            mean_calls: 10,
            models: &["gpt-4o", "claude-sonnet-4-5", "qwen2.5-coder:32b"],
            writer: Writer {
                ts: [60, 25, 15],
                variants: 0.3,
                call_ids: None,
                duration_source: None,
                exit_code: false,
                recording: [50, 25, 15, 10],
                reject_p: 0.0,
                rejection: "",
            },
            gated: &[],
        },
        14,
    ),
    (
        Agent {
            workflow: "data-pipeline",
            tools: &[
                ("query_db", 30),
                ("python_exec", 20),
                ("s3_get_object", 12),
                ("s3_put_object", 10),
                ("http_request", 12),
                ("execute_command", 8),
                ("send_slack_message", 3),
            ],
            mean_calls: 9,
            models: &["gpt-4o-mini", "claude-haiku-4-5"],
            writer: Writer {
                ts: [50, 20, 30],
                variants: 0.4,
                call_ids: None,
                duration_source: None,
                exit_code: false,
                recording: [55, 20, 10, 15],
                reject_p: 0.0,
                rejection: "",
            },
            gated: &[],
        },
        10,
    ),
    (
        Agent {
            workflow: "release-bot",
            tools: &[
                ("execute_command", 24),
                ("git_commit", 12),
                ("create_pull_request", 8),
                ("github_get_issue", 8),
                ("run_tests", 18),
                ("deploy_service", 6),
                ("send_slack_message", 6),
                ("read_text_file", 6),
            ],
            mean_calls: 11,
            models: &["claude-haiku-4-5", "gpt-4o-mini"],
            writer: Writer {
                ts: [70, 20, 10],
                variants: 0.25,
                call_ids: None,
                duration_source: None,
                exit_code: true,
                recording: [45, 35, 20, 0],
                reject_p: 0.0,
                rejection: "",
            },
            gated: &[],
        },
        8,
    ),
    (
        Agent {
            workflow: "browser-qa",
            tools: &[
                ("browser_navigate", 22),
                ("browser_click", 26),
                ("browser_fill", 14),
                ("browser_screenshot", 10),
                ("fetch_url", 10),
                ("memory_store", 6),
            ],
            mean_calls: 14,
            models: &["claude-sonnet-4-5", "gpt-4o"],
            writer: Writer {
                ts: [90, 10, 0],
                variants: 0.2,
                call_ids: Some("call_"),
                duration_source: None,
                exit_code: false,
                recording: [40, 30, 30, 0],
                reject_p: 0.0,
                rejection: "",
            },
            gated: &[],
        },
        7,
    ),
    (
        Agent {
            workflow: "triage-bot",
            tools: &[
                ("github_get_issue", 20),
                ("jira_create_issue", 10),
                ("search_docs", 16),
                ("vector_search", 14),
                ("memory_store", 6),
                ("send_email", 6),
                ("send_slack_message", 8),
                ("fetch_url", 8),
            ],
            mean_calls: 8,
            models: &["gpt-4o-mini", "claude-haiku-4-5", "llama3.1:70b"],
            writer: Writer {
                ts: [60, 20, 20],
                variants: 0.35,
                call_ids: None,
                duration_source: None,
                exit_code: false,
                recording: [35, 35, 15, 15],
                reject_p: 0.0,
                rejection: "",
            },
            gated: &[],
        },
        7,
    ),
];

#[cfg(test)]
mod tests {
    use super::super::vocab;
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_name_resolves() {
        let mut names = BTreeSet::new();
        for t in TOOLS {
            assert!(names.insert(t.name), "duplicate tool {}", t.name);
        }
        assert!(TOOLS.len() >= 40);
        for (a, _) in AGENTS {
            for (tool, _) in a.tools {
                assert!(tool_index(tool).is_some(), "{}: {tool}", a.workflow);
            }
            for g in a.gated {
                assert!(a.tools.iter().any(|(t, _)| t == g), "{}: {g}", a.workflow);
            }
        }
        for t in TOOLS {
            if let Kind::Shell(s) = t.kind {
                for (p, _) in shell_programs(s) {
                    assert!(vocab::prog(p).is_some(), "{p}");
                }
            }
        }
        let used: BTreeSet<&str> = AGENTS
            .iter()
            .flat_map(|(a, _)| a.tools.iter().map(|(t, _)| *t))
            .collect();
        assert_eq!(used.len(), TOOLS.len(), "every tool is used by some agent");
    }
}
