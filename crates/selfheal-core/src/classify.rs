//! What a flagged tool call was: its **outcome**, and for failures its **cause class**.
//!
//! [`analyze`] is the one classification the whole product uses (the index, `self-heal
//! classify`, the tests). It takes what the record says about one flagged call
//! ([`CallFacts`]) and returns an [`Analysis`]:
//!
//! 1. **Unwrap and reduce.** The harness framing is removed and its exit code kept; the
//!    salient line of a long output is picked (see [`crate::salient`]).
//! 2. **Outcome.** Not every flagged call is a tool failure. The phrases below are the
//!    harnesses' own, each cited in [`crate::harness_messages`]:
//!    - `rejected` — a person or a permission policy declined the call ("The user doesn't
//!      want to proceed with this tool use…", "Permission for this tool use was denied",
//!      Claude Code's "Permission to use X … has been denied", "exec command rejected by
//!      user", Codex's guardian "rejected due to unacceptable risk", Gemini's "User denied
//!      execution" and "denied by policy", OpenCode's "The user rejected permission to use
//!      this specific tool call", Copilot's "The user rejected the tool call");
//!    - `cancelled` — interrupted, or never ran because a parallel sibling failed
//!      ("Cancelled: parallel tool call … errored", "[Request interrupted by user]", Gemini's
//!      "User cancelled tool execution" / "Command was cancelled by user", Codex's "aborted by
//!      user", OpenCode's "Tool execution aborted"; the source's interrupt flag or status;
//!      exit code 130);
//!    - `benign` — a non-zero exit that is an answer: exit 1 of `grep`/`rg`/`ag` (nothing
//!      found), `diff`/`cmp` (differences), `test`/`[` (false), `which`/`command -v`/`pgrep`
//!      (not there), with no error text in the output;
//!    - `failure` — everything else.
//! 3. **Cause class** (failures): signals vote for a class, each with a weight in (0, 1):
//!    - the recorded `error_type` (0.9; the generic `tool_error` only 0.5, because it often
//!      hides a specific cause that the message reveals); a harness's own error types
//!      (Gemini CLI's `ToolErrorType`: `edit_no_occurrence_found`, `path_not_in_workspace`,
//!      …) are mapped by name;
//!    - phrases in the salient line, 0.5–0.95 by specificity: the harnesses' own messages
//!      ("File has not been read yet", "No task found with ID", "Path is a directory", "is
//!      ignored by configured ignore patterns", "failed to parse function arguments", …),
//!      signals independent of wording (errno names and texts, JSON-RPC and MCP error codes,
//!      HTTP statuses, signals, the messages of zod, ajv, python-jsonschema, pydantic and
//!      serde), both cited in [`crate::harness_messages`], and the wording of common programs
//!      (this module's table). Phrases are matched in one
//!      leftmost-longest pass, so "command not found" counts once, as a missing program, and
//!      not also as "not found". When the salient line says nothing known, the whole output
//!      (head and tail) is read with weights × 0.8. Some readings by source: a directory
//!      given for a file (EISDIR, "is a directory"), a path an ignore file excludes, a tool
//!      that does not exist and input a schema rejects are `invalid_input`; a path outside
//!      the workspace and a sandbox denial are `permission_denied`; a task that is no longer
//!      running is `stale_state`; `oom` covers exhausted resources (memory, disk space, file
//!      descriptors); an MCP connection closed (-32000) is `server_crashed`;
//!    - for shell tools, the exit code (127 missing program, 126 not executable, 124
//!      `timeout`, 137 killed, 139/134 SIGSEGV/SIGABRT, 9009 cmd's missing program) and, as a
//!      base vote for any non-zero exit, `command_failed`
//!      (0.5): a program the agent ran exited non-zero for its own reasons; a traceback or a
//!      test runner's failure summary anywhere in the output votes for it too (0.8). Compile
//!      and syntax errors mean
//!      `command_failed` for shell tools and `invalid_input` (the call's own arguments)
//!      for other tools;
//!    - a duration anomaly, only when the duration was **recorded** by the tool (never one
//!      derived from timestamps, which can include a person's approval wait): a failure
//!      lasting as long as the tool's observed timeout ceiling (0.6), or just above a common
//!      round timeout (0.4).
//!
//!    Votes for the same class combine as a noisy-OR, `1 − Π(1 − wᵢ)`. The winning class is
//!    the highest score (ties: the more specific class); `confidence = best − ½·runner_up`.
//!    With no signal at all the class is `Unknown`, confidence 0.
//! 4. **Program.** For shell tools, the program the command ran (see [`crate::shell`]).

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::harness_messages::{
    HARNESS_MESSAGES, Meaning, RECORDED_TYPES, SHELL_EXIT_CODES, STRUCTURAL,
};
use crate::salient::{salient_line, unwrap};
use crate::shell::{ProgramCall, is_code_tool, is_shell_tool, program_calls, program_of_calls};

/// The failure classes of DESIGN §4, most specific first (ties go to the earlier one).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum FailureClass {
    #[serde(rename = "timeout")]
    Timeout,
    #[serde(rename = "connection_refused")]
    ConnectionRefused,
    #[serde(rename = "network_error")]
    NetworkError,
    #[serde(rename = "server_crashed")]
    ServerCrashed,
    #[serde(rename = "oom")]
    Oom,
    #[serde(rename = "permission_denied")]
    PermissionDenied,
    #[serde(rename = "not_found")]
    NotFound,
    #[serde(rename = "rate_limited")]
    RateLimited,
    #[serde(rename = "dependency_failure")]
    DependencyFailure,
    #[serde(rename = "invalid_input")]
    InvalidInput,
    #[serde(rename = "stale_state")]
    StaleState,
    #[serde(rename = "command_failed")]
    CommandFailed,
    #[serde(rename = "tool_error")]
    ToolError,
    #[serde(rename = "Unknown")]
    Unknown,
}

impl FailureClass {
    pub const ALL: [FailureClass; 14] = [
        FailureClass::Timeout,
        FailureClass::ConnectionRefused,
        FailureClass::NetworkError,
        FailureClass::ServerCrashed,
        FailureClass::Oom,
        FailureClass::PermissionDenied,
        FailureClass::NotFound,
        FailureClass::RateLimited,
        FailureClass::DependencyFailure,
        FailureClass::InvalidInput,
        FailureClass::StaleState,
        FailureClass::CommandFailed,
        FailureClass::ToolError,
        FailureClass::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Timeout => "timeout",
            FailureClass::ConnectionRefused => "connection_refused",
            FailureClass::NetworkError => "network_error",
            FailureClass::ServerCrashed => "server_crashed",
            FailureClass::Oom => "oom",
            FailureClass::PermissionDenied => "permission_denied",
            FailureClass::NotFound => "not_found",
            FailureClass::RateLimited => "rate_limited",
            FailureClass::DependencyFailure => "dependency_failure",
            FailureClass::InvalidInput => "invalid_input",
            FailureClass::StaleState => "stale_state",
            FailureClass::CommandFailed => "command_failed",
            FailureClass::ToolError => "tool_error",
            FailureClass::Unknown => "Unknown",
        }
    }

    /// Stable small integer, used by the index.
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: i64) -> Option<FailureClass> {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }

    pub fn parse(name: &str) -> Option<FailureClass> {
        Self::ALL.iter().copied().find(|c| c.as_str() == name)
    }

    /// Whether repeating the very same call can succeed: false for causes in the call itself
    /// or in the state of the world (a missing file stays missing), so retry is never the
    /// advice for them.
    pub fn is_transient(self) -> bool {
        !matches!(
            self,
            FailureClass::NotFound
                | FailureClass::PermissionDenied
                | FailureClass::InvalidInput
                | FailureClass::StaleState
                | FailureClass::DependencyFailure
                | FailureClass::CommandFailed
        )
    }
}

/// What became of a flagged call (DESIGN §4). Only failures count in patterns, reliability,
/// health, simulation and verification.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The call succeeded (not flagged).
    Success,
    Failure,
    /// A person or a permission policy declined the call.
    Rejected,
    /// Interrupted, or never ran because a parallel sibling failed.
    Cancelled,
    /// A non-zero exit that is an answer (grep found nothing, diff found differences…).
    Benign,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Success,
        Outcome::Failure,
        Outcome::Rejected,
        Outcome::Cancelled,
        Outcome::Benign,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Rejected => "rejected",
            Outcome::Cancelled => "cancelled",
            Outcome::Benign => "benign",
        }
    }

    /// Stable small integer, used by the index.
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: i64) -> Option<Outcome> {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// Whether the call ran (rejected and cancelled calls did not).
    pub fn ran(self) -> bool {
        matches!(self, Outcome::Success | Outcome::Failure | Outcome::Benign)
    }
}

/// One piece of evidence behind an outcome or a class.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// The recorded `error_type`.
    RecordedType,
    /// A phrase in the message.
    MessageText,
    /// Duration at the tool's observed timeout ceiling.
    DurationAtCeiling,
    /// Duration just above a common round timeout (10 s, 30 s, 60 s, …).
    DurationRoundTimeout,
    /// The exit code of a shell command.
    ExitCode,
    /// The source's own status or interrupt flag.
    SourceStatus,
    /// The program a shell command ran.
    Program,
}

impl Signal {
    const ALL: [Signal; 7] = [
        Signal::RecordedType,
        Signal::MessageText,
        Signal::DurationAtCeiling,
        Signal::DurationRoundTimeout,
        Signal::ExitCode,
        Signal::SourceStatus,
        Signal::Program,
    ];

    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Decodes a bit set written by [`Classification::signal_bits`].
    pub fn from_bits(bits: u8) -> Vec<Signal> {
        Self::ALL
            .into_iter()
            .filter(|s| bits & s.bit() != 0)
            .collect()
    }
}

/// The class of one failed call, how sure we are, and which signals fired.
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    pub class: FailureClass,
    pub confidence: f64,
    pub signals: Vec<Signal>,
}

impl Classification {
    pub fn signal_bits(&self) -> u8 {
        self.signals.iter().fold(0, |acc, s| acc | s.bit())
    }

    fn none() -> Self {
        Classification {
            class: FailureClass::Unknown,
            confidence: 0.0,
            signals: Vec::new(),
        }
    }
}

/// What the record says about one flagged call.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallFacts<'a> {
    pub tool: &'a str,
    pub error_type: Option<&'a str>,
    /// The result or error text as recorded.
    pub message: Option<&'a str>,
    pub duration_ms: Option<i64>,
    /// Whether the duration was measured by the tool (not derived from timestamps).
    pub duration_recorded: bool,
    /// The longest duration of this tool's earlier failures that had an explicit timeout
    /// signal; `None` until one has been seen.
    pub timeout_ceiling_ms: Option<i64>,
    /// The exit code the source recorded beside the text, if any.
    pub exit_code: Option<i64>,
    /// The source marked the call as interrupted.
    pub interrupted: bool,
    /// The source's own status word (e.g. Gemini's `error` / `cancelled`).
    pub status: Option<&'a str>,
    /// The command line of a shell call.
    pub command: Option<&'a str>,
}

/// Everything [`analyze`] found out about a flagged call.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub outcome: Outcome,
    /// Meaningful for failures; `Unknown` with confidence 0 for other outcomes.
    pub classification: Classification,
    /// Signals behind the outcome when it is not `failure`.
    pub outcome_signals: Vec<Signal>,
    /// The program a shell command ran.
    pub program: Option<String>,
    /// The salient line of the output (what templates and contexts are made of).
    pub salient: String,
    /// The exit code: recorded, or read from the harness framing.
    pub exit_code: Option<i64>,
}

/// What a phrase votes for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// This class.
    Class(FailureClass),
    /// A fault in code the call ran or sent: `command_failed` for shell tools,
    /// `invalid_input` otherwise.
    CodeError,
    /// A program refusing: `command_failed` for shell tools, `tool_error` otherwise.
    Refusal,
}

use FailureClass as C;
use Target::{Class, CodeError, Refusal};

/// A test runner's report of failed tests (pytest, unittest, cargo, jest/vitest, go test):
/// the command (or test tool) ran and the tests failed.
const TEST_FAILURE_PHRASES: &[&str] = &[
    "failed (failures=",
    "failed (errors=",
    "short test summary info",
    "assertionerror",
    "assertion failed",
    "tests failed",
    "test failed",
    "test result: failed",
    "expect(received)",
    "--- fail:",
    "failed tests",
    "test suite failed",
];

/// (target, weight, phrases), lower case: the wording of programs and libraries in general.
/// The harnesses' own messages and the signals that do not depend on wording (errno names,
/// JSON-RPC codes, HTTP statuses, validators) are in [`crate::harness_messages`], each with its
/// source; all are matched together. Phrases made only of letters and digits must sit on word
/// boundaries (so `429` does not fire inside `14290`).
const TEXT_RULES: &[(Target, f64, &[&str])] = &[
    (
        Class(C::Timeout),
        0.85,
        &[
            "timed out",
            "timeout",
            "time out",
            "deadline exceeded",
            "took too long",
            "timeouterror",
            "timeoutexpired",
        ],
    ),
    (
        Class(C::Timeout),
        0.6,
        &["gateway time-out", "gateway timeout"],
    ),
    (
        Class(C::ConnectionRefused),
        0.85,
        &[
            "connection refused",
            "actively refused",
            "could not connect",
            "failed to connect",
            "unable to connect",
            "connect error",
            "cannot connect to the docker daemon",
            "is the docker daemon running",
        ],
    ),
    (
        // Name resolution failed: more specific than a failure to connect.
        Class(C::NetworkError),
        0.9,
        &[
            "no such host",
            "could not resolve host",
            "could not resolve hostname",
        ],
    ),
    (
        Class(C::NetworkError),
        0.8,
        &[
            "getaddrinfo",
            "name or service not known",
            "network is unreachable",
            "no route to host",
            "connection reset",
            "broken pipe",
            "dns",
            "tls handshake",
            "ssl",
            "certificate verify failed",
            "transport error",
            "connection closed",
            "connection aborted",
            "socket hang up",
            "temporary failure in name resolution",
            "failed to resolve host",
            "network error",
            "proxy error",
            "rpc failed",
            "the remote end hung up unexpectedly",
            "early eof",
            "recv failure",
            "recv error",
        ],
    ),
    (
        Class(C::ServerCrashed),
        0.85,
        &[
            "panicked at",
            "segmentation fault",
            "core dumped",
            "crashed",
            "server exited",
            "process exited unexpectedly",
            "exited unexpectedly",
            "aborted (core dumped)",
            "fatal runtime error",
            "crashloopbackoff",
        ],
    ),
    (
        Class(C::ServerCrashed),
        0.6,
        &["bad gateway", "eof", "unexpected end of stream"],
    ),
    (
        Class(C::Oom),
        0.85,
        &[
            "out of memory",
            "oom",
            "oomkilled",
            "cannot allocate memory",
            "memoryerror",
            "heap out of memory",
            "exit code 137",
            "exited with code 137",
            "memory limit",
        ],
    ),
    (Class(C::Oom), 0.55, &["killed", "137"]),
    (
        Class(C::PermissionDenied),
        0.85,
        &[
            "permission denied",
            "access denied",
            "access is denied",
            "operation not permitted",
            "not permitted",
            "forbidden",
            "unauthorized",
            "not authorized",
            "insufficient permissions",
            "a terminal is required to read the password",
            "a password is required",
            "authentication failed",
            "authentication required",
            "could not read username",
            "could not read password",
            "host key verification failed",
            "read-only file system",
            "must be run as root",
            "requires root",
            "has been denied",
            "gh auth login",
            "not logged in",
        ],
    ),
    (
        Class(C::NotFound),
        0.85,
        &[
            "no such file",
            "not found",
            "does not exist",
            "doesn't exist",
            "no such",
            "cannot find",
            "could not find",
            "couldn't find",
            "unable to find",
            "unknown file",
            "can't read",
            "cannot access",
            "cannot open",
            "can't open",
            "did not match any file",
            "could not resolve to",
            "no rule to make target",
            "unknown revision",
            "bad revision",
            "not in the working tree",
        ],
    ),
    (Class(C::NotFound), 0.6, &["e404"]),
    (
        Class(C::RateLimited),
        0.85,
        &[
            "too many requests",
            "rate limit",
            "rate-limit",
            "ratelimit",
            "rate_limit",
            "throttl",
            "quota exceeded",
            "retry after",
            "retry-after",
            "slow down",
            "usage limit",
            "resource_exhausted",
            "resource exhausted",
            "ratelimited",
            "slowdown",
            "reduce your request rate",
            "rate exceeded",
        ],
    ),
    (
        Class(C::DependencyFailure),
        0.9,
        &[
            "command not found",
            "modulenotfounderror",
            "no module named",
            "cannot find module",
            "importerror",
            "executable file not found",
            "no such command",
            "unable to locate package",
            "could not find a version that satisfies",
            "no matching distribution",
            "not installed",
            "is not installed",
            "no matching package",
            "conflicting dependencies",
            "resolutionimpossible",
            "no required module provides package",
            // A missing build toolchain (rustc, configure scripts).
            "linker `cc` not found",
            "linker `gcc` not found",
            "linker `clang` not found",
            "linker `link.exe` not found",
            "install a c toolchain",
            "c compiler cannot create executables",
            "no acceptable c compiler",
        ],
    ),
    (
        Class(C::DependencyFailure),
        0.75,
        &[
            "service unavailable",
            "dependency",
            "upstream",
            "package not found",
            "npm err! 404",
        ],
    ),
    // Only a command line echoed in the output: weak evidence.
    (Class(C::DependencyFailure), 0.45, &["pip install"]),
    (
        Class(C::InvalidInput),
        0.8,
        &[
            "invalid argument",
            "invalid input",
            "invalid parameter",
            "invalid value",
            "invalid option",
            "invalid request",
            "bad request",
            "missing required",
            "required property",
            "validation",
            "validationerror",
            "unexpected parameter",
            "unknown option",
            "unrecognized option",
            "unrecognized argument",
            "unrecognized arguments",
            "unknown flag",
            "unknown argument",
            "unknown shorthand flag",
            "is not a valid",
            "malformed",
            "-e expression #",
            "found multiple matches",
            "multiple occurrences of old_str",
            "please ensure it is unique",
            "invalid `",
            "must be",
            "usage:",
        ],
    ),
    (
        CodeError,
        0.75,
        &[
            "syntax error",
            "syntaxerror",
            "parse error",
            "unexpected token",
            "mismatched types",
            "unresolved import",
            "typeerror",
            "nameerror",
            "attributeerror",
            "indentationerror",
            "keyerror",
            "valueerror",
            "error[e",
            "compilation failed",
            "could not compile",
            "compile error",
            "build failed",
            "cannot borrow",
            "undefined reference",
            "undeclared",
            "does not exist on type",
            "is not assignable to type",
            "error ts",
        ],
    ),
    (CodeError, 0.5, &["expected"]),
    (
        Class(C::StaleState),
        0.9,
        &[
            "old_string was not found",
            "text in old_string was not found",
            "has been modified since",
            "modified since it was read",
            "old_string not found",
            "patch does not apply",
            "patch failed",
            "hunk failed",
            "context not found",
            "unexpectedly modified",
            "has changed since",
            "could not find the exact text",
            "does not match the file",
            "did not appear verbatim",
            "not attached to the dom",
            "stale element reference",
            "not found in the current page snapshot",
        ],
    ),
    (
        // A script saved with Windows line endings: the shell reads `\r` as part of words.
        Class(C::CommandFailed),
        0.95,
        &[
            "$'\\r': command not found",
            "\\r': no such file or directory",
            "\\r\u{2019}: no such file or directory",
        ],
    ),
    (
        Class(C::CommandFailed),
        0.75,
        &[
            "warnings treated as errors",
            "warning, treated as error",
            "warnings being treated as errors",
            "npm err!",
            "traceback (most recent call last)",
            "calledprocesserror",
            "returned non-zero exit status",
            "non-zero exit",
            "nothing to commit",
            "not a git repository",
            "merge conflict",
            "would be overwritten",
            "uncommitted changes",
            "your local changes",
        ],
    ),
    (Class(C::CommandFailed), 0.75, TEST_FAILURE_PHRASES),
    (
        // make only relays that a recipe failed; the recipe's own output says why.
        Class(C::CommandFailed),
        0.5,
        &["make: ***"],
    ),
    (
        Refusal,
        0.6,
        &["already exists", "[rejected]", "refusing to", "fatal:"],
    ),
    (Refusal, 0.45, &["failed", "failure", "error:"]),
    (
        Class(C::ToolError),
        0.5,
        &[
            "tool error",
            "internal error",
            "internal server error",
            "unexpected error",
            "something went wrong",
            "mcp error",
        ],
    ),
];

/// Every class phrase: [`TEXT_RULES`], then the votes of the cited tables
/// ([`HARNESS_MESSAGES`], [`STRUCTURAL`]).
fn class_phrases() -> impl Iterator<Item = (&'static str, Target, f64)> {
    let general = TEXT_RULES
        .iter()
        .flat_map(|(target, weight, list)| list.iter().map(move |p| (*p, *target, *weight)));
    let cited = HARNESS_MESSAGES
        .iter()
        .chain(STRUCTURAL)
        .filter_map(|m| match m.meaning {
            Meaning::Vote(target, weight) => Some((m.phrase, target, weight)),
            _ => None,
        });
    general.chain(cited)
}

/// The compiled phrase matcher: leftmost-longest over every phrase of [`class_phrases`].
struct Phrases {
    matcher: AhoCorasick,
    /// Per pattern index: (target, weight, needs word boundaries).
    rules: Vec<(Target, f64, bool)>,
}

fn phrases() -> Option<&'static Phrases> {
    static PHRASES: OnceLock<Option<Phrases>> = OnceLock::new();
    PHRASES
        .get_or_init(|| {
            let mut words = Vec::new();
            let mut rules = Vec::new();
            for (p, target, weight) in class_phrases() {
                words.push(p);
                rules.push((target, weight, p.bytes().all(|b| b.is_ascii_alphanumeric())));
            }
            ci_matcher()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&words)
                .ok()
                .map(|matcher| Phrases { matcher, rules })
        })
        .as_ref()
}

/// The phrase votes in `text` (matched ignoring ASCII case), each (target, weight) at most
/// once.
fn phrase_votes(text: &str) -> Vec<(Target, f64)> {
    let mut out = Vec::new();
    each_phrase(text, &mut |target, weight| {
        if !out.contains(&(target, weight)) {
            out.push((target, weight));
        }
    });
    out
}

/// Calls `f` with the (target, weight) of every phrase matched in `text`.
fn each_phrase(text: &str, f: &mut dyn FnMut(Target, f64)) {
    let Some(p) = phrases() else {
        return;
    };
    let bytes = text.as_bytes();
    for m in p.matcher.find_iter(text) {
        let idx = m.pattern().as_usize();
        let Some(&(target, weight, boundary)) = p.rules.get(idx) else {
            continue;
        };
        if boundary {
            // `timeout-2.3.1`, `http_404`, `v1.404` are names, not the word.
            let word = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/');
            let before_ok = m.start() == 0 || !word(bytes[m.start() - 1]);
            let after_ok = m.end() == bytes.len()
                || !word(bytes[m.end()])
                || (bytes[m.end()] == b'.'
                    && bytes
                        .get(m.end() + 1)
                        .is_none_or(|b| !b.is_ascii_alphanumeric()));
            if !(before_ok && after_ok) {
                continue;
            }
        }
        f(target, weight);
    }
}

/// The weight of the most specific phrase the classifier knows in a line (for salient
/// lines; generic words such as `fatal:` or `failed` do not count), 0 without one.
fn phrase_weight(line: &str) -> f64 {
    let mut best = 0.0f64;
    each_phrase(line, &mut |t, w| {
        if !matches!(t, Refusal) && w >= 0.7 {
            best = best.max(w);
        }
    });
    best
}

/// A builder of the ASCII-case-insensitive matchers that scan every flagged message: a DFA,
/// several times faster to search than the default NFA for lists of this size (a few hundred
/// phrases, built once).
pub(crate) fn ci_matcher() -> AhoCorasickBuilder {
    let mut b = AhoCorasickBuilder::new();
    b.ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::DFA));
    b
}

/// A case-insensitive matcher of a fixed phrase list.
fn phrase_set(
    cell: &'static OnceLock<Option<AhoCorasick>>,
    list: &[&str],
) -> Option<&'static AhoCorasick> {
    cell.get_or_init(|| ci_matcher().build(list).ok()).as_ref()
}

/// Whether the first `limit` bytes (about) of `text` hold one of the phrases.
fn head_has(
    cell: &'static OnceLock<Option<AhoCorasick>>,
    list: &[&str],
    text: &str,
    limit: usize,
) -> bool {
    phrase_set(cell, list).is_some_and(|m| m.is_match(prefix_at_char(text, limit)))
}

/// Common round timeouts in ms; a failure lasting 0–2% longer is suspicious.
const ROUND_TIMEOUTS_MS: [i64; 8] = [
    5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000,
];

/// Bytes of a long output read from each end when the salient line says nothing known.
const FALLBACK_BYTES: usize = 4_096;

/// The outcome phrases of [`HARNESS_MESSAGES`] (declined, cancelled, aborted by a timeout),
/// in table order.
fn outcome_entries() -> impl Iterator<Item = (&'static str, Meaning)> {
    HARNESS_MESSAGES
        .iter()
        .filter(|m| !matches!(m.meaning, Meaning::Vote(..)))
        .map(|m| (m.phrase, m.meaning))
}

/// Programs whose exit status 1 is an answer, not a failure.
const BENIGN_PROGRAMS: &[&str] = &[
    "grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack", "diff", "cmp", "test", "[", "[[",
    "which", "command", "pgrep", "pidof",
];

/// A hash of every phrase table above (phrases, targets, weights): part of
/// [`crate::analysis_fingerprint`], so an index built under other tables is rebuilt.
pub fn rules_fingerprint() -> u64 {
    let mut h = crate::hash::Fnv64::new();
    for (p, target, weight) in class_phrases() {
        h.write(format!("{target:?}").as_bytes())
            .write(&weight.to_bits().to_le_bytes())
            .write(p.as_bytes())
            .write(&[0]);
    }
    for (p, meaning) in outcome_entries() {
        h.write(format!("{meaning:?}").as_bytes())
            .write(p.as_bytes())
            .write(&[0]);
    }
    for (t, class, weight, _) in RECORDED_TYPES {
        h.write(t.as_bytes())
            .write(&[class.code()])
            .write(&weight.to_bits().to_le_bytes());
    }
    for (code, class, weight, _) in SHELL_EXIT_CODES {
        h.write(&code.to_le_bytes())
            .write(&[class.code()])
            .write(&weight.to_bits().to_le_bytes());
    }
    for list in [TEST_FAILURE_PHRASES, BENIGN_PROGRAMS] {
        h.write(&[1]);
        for p in list {
            h.write(p.as_bytes()).write(&[0]);
        }
    }
    h.finish()
}

/// Classifies one flagged call (see the module docs).
pub fn analyze(facts: &CallFacts<'_>) -> Analysis {
    prepare(facts).finish(facts.timeout_ceiling_ms)
}

/// What [`analyze`] finds before it needs the tool's timeout ceiling — everything but the
/// ceiling's vote and the final decision. Pure in the call alone, so it can run apart from
/// the state that tracks ceilings (the index prepares calls on one thread and finishes them
/// on another).
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    pub outcome: Outcome,
    pub outcome_signals: Vec<Signal>,
    pub program: Option<String>,
    pub salient: String,
    pub exit_code: Option<i64>,
    /// Votes of a failure so far (empty for other outcomes).
    votes: Vec<(FailureClass, f64, Signal)>,
    /// A duration the tool recorded (the ceiling's vote needs it).
    recorded_duration_ms: Option<i64>,
}

impl Prepared {
    /// Adds the vote of the tool's timeout ceiling (the longest duration of its earlier
    /// explicit timeouts) and decides the class.
    pub fn finish(self, timeout_ceiling_ms: Option<i64>) -> Analysis {
        let classification = if self.outcome == Outcome::Failure {
            let mut votes = self.votes;
            if let (Some(duration), Some(ceiling)) = (
                self.recorded_duration_ms,
                timeout_ceiling_ms.filter(|c| *c > 0),
            ) && duration as f64 >= 0.95 * ceiling as f64
            {
                votes.push((C::Timeout, 0.6, Signal::DurationAtCeiling));
            }
            decide(&votes)
        } else {
            Classification::none()
        };
        Analysis {
            outcome: self.outcome,
            classification,
            outcome_signals: self.outcome_signals,
            program: self.program,
            salient: self.salient,
            exit_code: self.exit_code,
        }
    }
}

/// The first stage of [`analyze`] (see [`Prepared`]); `facts.timeout_ceiling_ms` is not read.
pub fn prepare(facts: &CallFacts<'_>) -> Prepared {
    let raw = facts.message.unwrap_or("");
    let unwrapped = unwrap(raw);
    let exit_code = facts.exit_code.or(unwrapped.exit_code);
    let salient = salient_line(&unwrapped.body, &phrase_weight);
    let shell = is_shell_tool(facts.tool);
    // The command line is parsed once; the program and the benign-exit test both read it.
    let calls = if shell {
        facts.command.map(program_calls)
    } else {
        None
    };
    let program = calls
        .as_deref()
        .and_then(|c| program_of_calls(c, &unwrapped.body));
    let shell_call = facts
        .command
        .zip(calls.as_deref())
        .map(|(command, calls)| ShellCall {
            command,
            calls,
            program: program.as_deref(),
        });
    let (outcome, outcome_signals) =
        decide_outcome(facts, raw, &unwrapped.body, exit_code, shell_call);
    // A call that never ran (declined, cancelled) is about what it would have run first.
    let program = match (outcome, &calls) {
        (Outcome::Rejected | Outcome::Cancelled, Some(c)) => c.first().map(|p| p.name.clone()),
        _ => program,
    };
    let votes = if outcome == Outcome::Failure {
        failure_votes(facts, &salient, &unwrapped.body, exit_code, shell)
    } else {
        Vec::new()
    };
    Prepared {
        outcome,
        outcome_signals,
        program,
        salient,
        exit_code,
        votes,
        recorded_duration_ms: facts
            .duration_ms
            .filter(|d| facts.duration_recorded && *d > 0),
    }
}

/// Which of the outcome phrase lists a text holds.
#[derive(Default)]
struct OutcomePhrases {
    rejected: bool,
    cancelled: bool,
    timed_out: bool,
}

/// The outcome phrases in `text`, found in one pass over it (an automaton of the three lists,
/// every occurrence reported).
fn outcome_phrases(text: &str) -> OutcomePhrases {
    static MATCHER: OnceLock<Option<(AhoCorasick, Vec<Meaning>)>> = OnceLock::new();
    let mut said = OutcomePhrases::default();
    let Some((m, meanings)) = MATCHER
        .get_or_init(|| {
            let (words, meanings): (Vec<&str>, Vec<Meaning>) = outcome_entries().unzip();
            ci_matcher().build(words).ok().map(|m| (m, meanings))
        })
        .as_ref()
    else {
        return said;
    };
    for found in m.find_overlapping_iter(text) {
        match meanings.get(found.pattern().as_usize()) {
            Some(Meaning::Rejected) => said.rejected = true,
            Some(Meaning::Cancelled) => said.cancelled = true,
            Some(Meaning::AbortedByTimeout) => said.timed_out = true,
            _ => {}
        }
    }
    said
}

/// A shell call's command line, the programs in it and the one its output blames.
#[derive(Clone, Copy)]
struct ShellCall<'a> {
    command: &'a str,
    calls: &'a [ProgramCall],
    program: Option<&'a str>,
}

fn decide_outcome(
    facts: &CallFacts<'_>,
    raw: &str,
    body: &str,
    exit_code: Option<i64>,
    shell_call: Option<ShellCall<'_>>,
) -> (Outcome, Vec<Signal>) {
    let said = outcome_phrases(prefix_at_char(raw, 600));
    if said.rejected {
        return (Outcome::Rejected, vec![Signal::MessageText]);
    }
    // "The operation was aborted due to timeout" (an abort signal's timeout) is a timeout.
    if said.cancelled && !said.timed_out {
        return (Outcome::Cancelled, vec![Signal::MessageText]);
    }
    if facts.interrupted {
        return (Outcome::Cancelled, vec![Signal::SourceStatus]);
    }
    // Claude Code answers a subagent's warm-up call with this word; the call never ran.
    if raw.trim() == "Warmup" {
        return (Outcome::Cancelled, vec![Signal::MessageText]);
    }
    if is_person_reply(facts.tool, raw) || is_permission_rule_denial(raw) {
        return (Outcome::Rejected, vec![Signal::MessageText]);
    }
    if let Some(status) = facts.status {
        let s = status.trim().to_ascii_lowercase();
        if matches!(
            s.as_str(),
            "cancelled" | "canceled" | "aborted" | "interrupted"
        ) {
            return (Outcome::Cancelled, vec![Signal::SourceStatus]);
        }
        if matches!(s.as_str(), "rejected" | "denied" | "declined") {
            return (Outcome::Rejected, vec![Signal::SourceStatus]);
        }
    }
    if is_shell_tool(facts.tool) {
        if exit_code == Some(130) {
            return (Outcome::Cancelled, vec![Signal::ExitCode]);
        }
        if let (Some(code), Some(call)) = (exit_code, shell_call)
            && is_benign_exit(call, body, code)
        {
            return (Outcome::Benign, vec![Signal::ExitCode, Signal::Program]);
        }
    }
    (Outcome::Failure, Vec::new())
}

/// Claude Code's file-changing tools report their own errors inside `<tool_use_error>`; an
/// unframed error text that names no known cause is the person's reply to the permission
/// prompt (they declined and wrote why).
fn is_person_reply(tool: &str, raw: &str) -> bool {
    const PROMPTED: [&str; 4] = ["Edit", "Write", "MultiEdit", "NotebookEdit"];
    let text = raw.trim();
    PROMPTED.contains(&tool)
        && !text.is_empty()
        && !text.starts_with('<')
        && !text
            .get(..5)
            .is_some_and(|h| h.eq_ignore_ascii_case("error"))
        && phrase_votes(text).is_empty()
}

/// Claude Code's answer when a permission rule (or its mode) denies a call: "Permission to use
/// TOOL[ with command CMD] has been denied…" (@anthropic-ai/claude-code@2.1.328, embedded JS).
/// The tool and command sit between the two fixed parts, so no phrase can hold it.
fn is_permission_rule_denial(raw: &str) -> bool {
    let text = raw.trim();
    let text = text
        .strip_prefix("<tool_use_error>")
        .unwrap_or(text)
        .trim_start();
    text.get(..18)
        .is_some_and(|h| h.eq_ignore_ascii_case("permission to use "))
        && prefix_at_char(text, 600).contains(" has been denied")
}

/// A package manager asked whether a package is installed (`pacman -Qs x`, `dpkg -s x`,
/// `rpm -q x`, `brew list x`, `pip show x`): exit 1 means "not installed".
fn is_package_query(name: &str, command: &str) -> bool {
    let has = |flag: &str| command.contains(flag);
    match name {
        "pacman" => has(" -Q"),
        "dpkg" => has(" -s ") || has(" -l ") || has(" --status"),
        "rpm" => has(" -q"),
        "brew" => has(" list"),
        "pip" | "pip3" => has(" show "),
        _ => false,
    }
}

/// A non-zero exit that answers a question: exit 1 of a program whose exit 1 means "no" or
/// "not found" (`grep`, `diff`, `test`, `which`, …), `which` missing several programs, an
/// existence check (`ls`, `stat`, …) with its error output discarded, or pytest finding no
/// test to run (5) — with no error text in the output.
fn is_benign_exit(call: ShellCall<'_>, body: &str, code: i64) -> bool {
    let (command, calls) = (call.command, call.calls);
    // The exit status of a list is its last command's (pipelines, `||` chains); a program
    // the output names (`which: no x in …`) answers for itself.
    let status = match call.program {
        Some(n) if calls.len() > 1 && calls.iter().any(|c| c.name == n && !c.piped) => {
            calls.iter().find(|c| c.name == n)
        }
        _ => calls.last(),
    };
    let Some(p) = status else {
        return false;
    };
    let name = p.name.as_str();
    let lookup = matches!(name, "ls" | "stat" | "test" | "[" | "[[" | "find" | "file");
    let answers = match code {
        1 => {
            (BENIGN_PROGRAMS.contains(&name) && !(p.by_path && name == "test"))
                || (name == "git"
                    && (command.contains("--quiet") || command.contains("--exit-code"))
                    && command.contains("diff"))
                || (p.quiet && lookup)
                || ((p.quiet || body.trim().is_empty()) && is_package_query(name, command))
        }
        2 => p.quiet && lookup && !p.by_path,
        5 => name == "pytest",
        c if c > 1 && c < 64 => name == "which",
        _ => false,
    };
    if !answers || (name == "command" && !command.contains("-v")) {
        return false;
    }
    if name == "which" {
        // `which: no x in (…)` (or zsh's `x not found`) is the answer itself.
        return body
            .lines()
            .all(|l| l.trim().is_empty() || l.contains("which: no ") || !l.contains(": "));
    }
    if name == "pytest" {
        return body.contains("no tests ran") || body.contains("deselected");
    }
    let lower = body.to_ascii_lowercase();
    let error_text = [
        "error",
        "no such file",
        "permission denied",
        "usage:",
        "invalid",
        "unrecognized",
        "cannot",
        "can't",
    ]
    .iter()
    .any(|w| lower.contains(w));
    !error_text || matches!(name, "diff" | "cmp")
}

/// The votes of a failure's signals, all but the timeout ceiling's.
fn failure_votes(
    facts: &CallFacts<'_>,
    salient: &str,
    body: &str,
    exit_code: Option<i64>,
    shell: bool,
) -> Vec<(FailureClass, f64, Signal)> {
    let mut votes: Vec<(FailureClass, f64, Signal)> = Vec::with_capacity(6);
    if let Some((class, weight)) = facts.error_type.and_then(recorded_vote) {
        votes.push((class, weight, Signal::RecordedType));
    }
    // A code-execution tool runs the agent's program as a shell does: an error of that code
    // (a traceback, a compile error) is the program failing, not a malformed call.
    let runs_program = shell || is_code_tool(facts.tool);
    let resolve = |t: Target| match (t, runs_program) {
        (Class(c), _) => c,
        (CodeError, true) | (Refusal, true) => C::CommandFailed,
        (CodeError, false) => C::InvalidInput,
        (Refusal, false) => C::ToolError,
    };
    let mut text_votes = phrase_votes(salient);
    let mut scale = 1.0;
    if text_votes.is_empty() && body.len() > salient.len() {
        text_votes = phrase_votes(prefix_at_char(body, FALLBACK_BYTES));
        if body.len() > FALLBACK_BYTES {
            text_votes.extend(phrase_votes(suffix_at_char(body, FALLBACK_BYTES)));
        }
        scale = 0.8;
    }
    // The salient line names a cause outside the program (a refused connection, a denied
    // permission, memory…); "not found" and "invalid" are as often the program's own logic.
    let names_cause = scale == 1.0
        && text_votes.iter().any(|(t, w)| {
            matches!(
                t,
                Class(
                    C::Timeout
                        | C::ConnectionRefused
                        | C::NetworkError
                        | C::RateLimited
                        | C::PermissionDenied
                        | C::Oom
                )
            ) && *w >= 0.85
        });
    for (target, weight) in text_votes {
        votes.push((resolve(target), weight * scale, Signal::MessageText));
    }
    // `sh: 1: yq: not found` (dash) or make's `Error 127`: a command is missing.
    if body_says_command_missing(body) {
        votes.push((C::DependencyFailure, 0.9, Signal::MessageText));
    }
    // A test runner's report of failed tests (from any tool), or a traceback or build failure
    // in a shell command's output whose last error names no outside cause: the program
    // failed for its own reasons.
    static TESTS_FAILED: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    let tests_failed = head_has(&TESTS_FAILED, TEST_FAILURE_PHRASES, body, FALLBACK_BYTES)
        || (body.len() > FALLBACK_BYTES
            && phrase_set(&TESTS_FAILED, TEST_FAILURE_PHRASES)
                .is_some_and(|m| m.is_match(suffix_at_char(body, FALLBACK_BYTES))));
    if tests_failed || (shell && !names_cause && body_says_command_failed(body)) {
        votes.push((C::CommandFailed, 0.8, Signal::MessageText));
    }
    if shell {
        if let Some((_, class, weight, _)) = SHELL_EXIT_CODES
            .iter()
            .find(|(code, ..)| Some(*code) == exit_code)
        {
            votes.push((*class, *weight, Signal::ExitCode));
        }
        // A non-zero exit is a program failing for its own reasons unless more specific
        // evidence says otherwise; without an exit code there is no such evidence.
        if exit_code.is_some_and(|c| c != 0) {
            votes.push((C::CommandFailed, 0.5, Signal::ExitCode));
        }
    }
    if facts.duration_recorded
        && let Some(duration) = facts.duration_ms.filter(|d| *d > 0)
        && ROUND_TIMEOUTS_MS
            .iter()
            .any(|t| duration >= *t && (duration as f64) <= *t as f64 * 1.02)
    {
        votes.push((C::Timeout, 0.4, Signal::DurationRoundTimeout));
    }
    votes
}

/// Whether a line of the output's head says a command was not found the way `sh` (dash) and
/// make say it: `sh: 1: NAME: not found`, `make: *** [...] Error 127`.
fn body_says_command_missing(body: &str) -> bool {
    prefix_at_char(body, FALLBACK_BYTES)
        .lines()
        .map(str::trim_end)
        .any(|line| {
            if line.starts_with("make") && line.ends_with("Error 127") {
                return true;
            }
            let Some((head, name)) = line
                .strip_suffix(": not found")
                .and_then(|l| l.rsplit_once(": "))
            else {
                return false;
            };
            let Some((shell, number)) = head.rsplit_once(": ") else {
                return false;
            };
            shell.ends_with("sh")
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
                && !name.is_empty()
                && !name.contains(' ')
        })
}

/// Whether the head or tail of an output holds a traceback, a test runner's failure summary or
/// another sign of a program failing on its own.
fn body_says_command_failed(body: &str) -> bool {
    let says = |part: &str| {
        let mut found = false;
        each_phrase(part, &mut |t, w| {
            found |= matches!(t, Class(C::CommandFailed)) && w >= 0.75;
        });
        found
    };
    says(prefix_at_char(body, FALLBACK_BYTES))
        || (body.len() > FALLBACK_BYTES && says(suffix_at_char(body, FALLBACK_BYTES)))
}

fn prefix_at_char(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn suffix_at_char(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// Maps a recorded `error_type` to a class and the weight of that signal.
fn recorded_vote(error_type: &str) -> Option<(FailureClass, f64)> {
    let t = error_type.to_ascii_lowercase();
    // A harness's own error type (Gemini CLI's `ToolErrorType`), named exactly.
    if let Some((_, class, weight, _)) = RECORDED_TYPES.iter().find(|(name, ..)| *name == t) {
        return Some((*class, *weight));
    }
    let has = |needle: &str| t.contains(needle);
    let class = if let Some(c) = FailureClass::parse(&t)
        .filter(|c| !matches!(c, FailureClass::ToolError | FailureClass::Unknown))
    {
        c
    } else if has("timeout") || has("timed_out") || has("deadline") {
        C::Timeout
    } else if has("refused") {
        C::ConnectionRefused
    } else if has("crash") || has("panic") {
        C::ServerCrashed
    } else if has("oom") || has("memory") {
        C::Oom
    } else if has("permission") || has("forbidden") || has("unauthori") || has("access") {
        C::PermissionDenied
    } else if has("not_found") || has("notfound") || has("missing") {
        C::NotFound
    } else if has("rate") || has("throttl") || has("quota") {
        C::RateLimited
    } else if has("depend") || has("unavailable") || has("upstream") {
        C::DependencyFailure
    } else if has("invalid") || has("validation") || has("bad_request") || has("parse") {
        C::InvalidInput
    } else if has("stale") || has("conflict") {
        C::StaleState
    } else if has("transport") || has("network") || has("connection") || has("dns") || has("socket")
    {
        C::NetworkError
    } else if has("tool") || has("error") || has("fail") {
        return Some((C::ToolError, 0.5));
    } else {
        return None;
    };
    Some((class, 0.9))
}

/// Combines votes into a class and confidence (see the module docs).
fn decide(votes: &[(FailureClass, f64, Signal)]) -> Classification {
    let mut scores: Vec<(FailureClass, f64)> = Vec::new();
    for (class, weight, _) in votes {
        match scores.iter_mut().find(|(c, _)| c == class) {
            // `tool_error` is the class of generic evidence (a generic recorded type, words
            // such as `failed`): generic signals do not add up to outvote a specific one
            // (`tool_error` recorded + "Request failed with status code 404" is not_found),
            // so its score is its strongest vote.
            Some((_, miss)) if *class == C::ToolError => *miss = miss.min(1.0 - weight),
            Some((_, miss)) => *miss *= 1.0 - weight,
            None => scores.push((*class, 1.0 - weight)),
        }
    }
    // scores hold Π(1 − w); turn into noisy-OR and rank (ties: the more specific class,
    // i.e. the earlier one in FailureClass order, wins, so `tool_error` loses ties).
    let mut ranked: Vec<(FailureClass, f64)> = scores
        .into_iter()
        .map(|(c, miss)| (c, 1.0 - miss))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let Some(&(class, best)) = ranked.first() else {
        return Classification::none();
    };
    let runner_up = ranked.get(1).map_or(0.0, |r| r.1);
    let mut signals: Vec<Signal> = votes
        .iter()
        .filter(|(c, _, _)| *c == class)
        .map(|(_, _, s)| *s)
        .collect();
    signals.sort();
    signals.dedup();
    Classification {
        class,
        confidence: (best - 0.5 * runner_up).clamp(0.0, 1.0),
        signals,
    }
}

/// Whether a classification carries an explicit timeout signal (recorded type, text or the
/// `timeout` program's exit code), which makes its duration evidence of the tool's timeout
/// ceiling.
pub fn is_explicit_timeout(c: &Classification) -> bool {
    c.class == FailureClass::Timeout
        && c.signals.iter().any(|s| {
            matches!(
                s,
                Signal::RecordedType | Signal::MessageText | Signal::ExitCode
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use FailureClass::*;

    fn facts<'a>(tool: &'a str, message: &'a str) -> CallFacts<'a> {
        CallFacts {
            tool,
            message: Some(message),
            ..Default::default()
        }
    }

    fn check_class(f: CallFacts<'_>, expect: FailureClass) -> Classification {
        let a = analyze(&f);
        assert_eq!(a.outcome, Outcome::Failure, "{f:?} → {a:?}");
        let c = a.classification;
        assert_eq!(c.class, expect, "{f:?} → {c:?}");
        assert!((0.0..=1.0).contains(&c.confidence));
        c
    }

    #[test]
    fn every_class_is_reachable_from_text() {
        let cases = [
            ("Request timed out after 30000ms", Timeout),
            ("connect ECONNREFUSED 127.0.0.1:5432", ConnectionRefused),
            ("getaddrinfo ENOTFOUND api.example.com", NetworkError),
            ("thread 'main' panicked at src/lib.rs:42:5", ServerCrashed),
            ("Killed: process exited with code 137 (out of memory)", Oom),
            ("open /etc/shadow: permission denied", PermissionDenied),
            (
                "ENOENT: no such file or directory, open '/a/b.json'",
                NotFound,
            ),
            ("HTTP 429 Too Many Requests", RateLimited),
            (
                "ModuleNotFoundError: No module named 'numpy'",
                DependencyFailure,
            ),
            ("error: invalid value for '--limit'", InvalidInput),
            (
                "<tool_use_error>File has not been read yet. Read it first before writing to it.</tool_use_error>",
                StaleState,
            ),
            ("something odd happened", Unknown),
        ];
        for (message, class) in cases {
            check_class(facts("some_tool", message), class);
        }
        check_class(
            CallFacts {
                error_type: Some("tool_error"),
                ..facts("some_tool", "something odd happened")
            },
            ToolError,
        );
    }

    #[test]
    fn generic_evidence_does_not_add_up_against_a_specific_signal() {
        // A generic recorded type and the word "failed" are both generic: together they do
        // not outvote the status code.
        let c = check_class(
            CallFacts {
                error_type: Some("tool_error"),
                ..facts("WebFetch", "Request failed with status code 404")
            },
            NotFound,
        );
        assert!(c.confidence < 0.5, "the conflict shows: {c:?}");
        // Alone, generic evidence still names the failure a tool error.
        check_class(
            CallFacts {
                error_type: Some("tool_error"),
                ..facts("WebFetch", "Request failed")
            },
            ToolError,
        );
    }

    #[test]
    fn recorded_type_is_strongest_but_generic_types_yield_to_text() {
        let c = check_class(
            CallFacts {
                error_type: Some("timeout"),
                ..facts("t", "")
            },
            Timeout,
        );
        assert_eq!(c.signals, vec![Signal::RecordedType]);
        let c = check_class(
            CallFacts {
                error_type: Some("tool_error"),
                ..facts("t", "Permission denied (os error 13)")
            },
            PermissionDenied,
        );
        assert!(c.confidence < 0.85, "conflict lowers confidence: {c:?}");
        for (t, class) in [
            ("transport_error", NetworkError),
            ("server_crashed", ServerCrashed),
            ("connection_refused", ConnectionRefused),
            ("permission_denied", PermissionDenied),
            ("stale_state", StaleState),
            ("command_failed", CommandFailed),
        ] {
            check_class(
                CallFacts {
                    error_type: Some(t),
                    ..facts("t", "")
                },
                class,
            );
        }
    }

    #[test]
    fn agreement_raises_confidence() {
        let base = CallFacts {
            error_type: Some("timeout"),
            duration_recorded: true,
            ..facts("t", "")
        };
        let alone = check_class(base, Timeout).confidence;
        let agreed = check_class(
            CallFacts {
                message: Some("operation timed out"),
                duration_ms: Some(30_050),
                timeout_ceiling_ms: Some(30_000),
                ..base
            },
            Timeout,
        );
        assert!(agreed.confidence > alone);
        assert_eq!(
            agreed.signals,
            vec![
                Signal::RecordedType,
                Signal::MessageText,
                Signal::DurationAtCeiling,
                Signal::DurationRoundTimeout
            ]
        );
    }

    #[test]
    fn only_recorded_durations_suggest_timeouts() {
        let recorded = CallFacts {
            duration_ms: Some(29_990),
            timeout_ceiling_ms: Some(30_000),
            duration_recorded: true,
            ..facts("t", "")
        };
        let c = check_class(recorded, Timeout);
        assert_eq!(c.signals, vec![Signal::DurationAtCeiling]);
        // A gap between timestamps may be a person's approval wait: no evidence.
        check_class(
            CallFacts {
                duration_recorded: false,
                ..recorded
            },
            Unknown,
        );
        check_class(
            CallFacts {
                duration_ms: Some(12_345),
                ..recorded
            },
            Unknown,
        );
    }

    #[test]
    fn numbers_match_on_word_boundaries() {
        check_class(facts("t", "processed 14290 rows then stopped"), Unknown);
        check_class(facts("t", "status 429"), RateLimited);
    }

    #[test]
    fn longer_phrases_win_over_their_parts() {
        let c = check_class(
            facts("t", "bash: line 1: python: command not found"),
            DependencyFailure,
        );
        assert!(c.confidence > 0.85, "{c:?}");
    }

    /// (tool, command, message, outcome, class, program)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Outcome,
        FailureClass,
        Option<&'a str>,
    );

    fn check_calls(cases: &[Case<'_>]) {
        for (tool, command, message, outcome, class, program) in cases {
            let a = analyze(&CallFacts {
                tool,
                message: Some(message),
                command: (!command.is_empty()).then_some(*command),
                ..Default::default()
            });
            assert_eq!(
                (a.outcome, a.classification.class, a.program.as_deref()),
                (*outcome, *class, *program),
                "{tool} {command:?} {message:?} → {a:?}"
            );
        }
    }

    #[test]
    fn outcomes_that_are_not_failures() {
        use Outcome::*;
        check_calls(&[
            (
                "fetch_url",
                "",
                "fetch failed: The operation was aborted due to timeout\n  cause: TimeoutError: The operation was aborted due to timeout",
                Failure,
                Timeout,
                None,
            ),
            (
                "fetch_url",
                "",
                "AbortError: This operation was aborted",
                Cancelled,
                Unknown,
                None,
            ),
            (
                "Bash",
                "rm -rf build",
                "The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if it was a file edit, the new_string was NOT written to the file).",
                Rejected,
                Unknown,
                Some("rm"),
            ),
            (
                "exec_command",
                "git push",
                "exec command rejected by user",
                Rejected,
                Unknown,
                Some("git"),
            ),
            (
                "Bash",
                "pacman -Qs teams",
                "Permission for this tool use was denied. The tool use was rejected.",
                Rejected,
                Unknown,
                Some("pacman"),
            ),
            (
                "write_file",
                "",
                "[Operation Cancelled] Reason: User denied execution.",
                Rejected,
                Unknown,
                None,
            ),
            // OpenCode 1.18 and Copilot CLI 1.0, in their own words (read from their builds).
            (
                "bash",
                "git push",
                "The user rejected permission to use this specific tool call.",
                Rejected,
                Unknown,
                Some("git"),
            ),
            (
                "edit",
                "",
                "The user has specified a rule which prevents you from using this specific tool call. Here are some of the relevant rules [...]",
                Rejected,
                Unknown,
                None,
            ),
            (
                "bash",
                "make",
                "Tool execution aborted",
                Cancelled,
                Unknown,
                Some("make"),
            ),
            (
                "view",
                "",
                "The user rejected the tool call.",
                Rejected,
                Unknown,
                None,
            ),
            (
                "bash",
                "npm test",
                "Operation aborted by user",
                Cancelled,
                Unknown,
                Some("npm"),
            ),
            (
                "write_file",
                "",
                "[Operation Cancelled] Reason: User cancelled the operation.",
                Cancelled,
                Unknown,
                None,
            ),
            (
                "Bash",
                "ls /opt | grep teams",
                "<tool_use_error>Cancelled: parallel tool call Bash(which teams…) errored</tool_use_error>",
                Cancelled,
                Unknown,
                Some("ls"),
            ),
            (
                "Bash",
                "rg -n foo src/",
                "Exit code 1",
                Benign,
                Unknown,
                Some("rg"),
            ),
            (
                "exec_command",
                "rg -n \"x\" a.md",
                "Chunk ID: bdd78e\nWall time: 0.0515 seconds\nProcess exited with code 1\nOriginal token count: 0\nOutput:\n",
                Benign,
                Unknown,
                Some("rg"),
            ),
            (
                "Bash",
                "ls /usr/bin | grep -i teams",
                "Exit code 1",
                Benign,
                Unknown,
                Some("ls"),
            ),
            (
                "Bash",
                "diff a.txt b.txt",
                "Exit code 1\n1c1\n< a\n---\n> b",
                Benign,
                Unknown,
                Some("diff"),
            ),
            (
                "Bash",
                "which ventoy 2>/dev/null || pacman -Qs ventoy 2>/dev/null",
                "Exit code 1",
                Benign,
                Unknown,
                Some("pacman"),
            ),
            (
                "Bash",
                "which gh && gh --version",
                "Exit code 1\ngh not found",
                Benign,
                Unknown,
                Some("which"),
            ),
            (
                "Bash",
                "pacman -S ventoy",
                "Exit code 1\nerror: target not found: ventoy",
                Failure,
                NotFound,
                Some("pacman"),
            ),
            (
                "Bash",
                "grep -r foo missing/",
                "Exit code 2\ngrep: missing/: No such file or directory",
                Failure,
                NotFound,
                Some("grep"),
            ),
        ]);
    }

    #[test]
    fn tool_failures_by_cause() {
        use Outcome::*;
        check_calls(&[
            (
                "str_replace_editor",
                "",
                "No replacement was performed, old_str `x: u64,` did not appear verbatim in /a/b.rs.",
                Failure,
                StaleState,
                None,
            ),
            (
                "replace",
                "",
                "Error executing tool replace: Failed to edit, could not find the string to replace.",
                Failure,
                StaleState,
                None,
            ),
            (
                "browser_click",
                "",
                "Error: locator.click: Element is not attached to the DOM\nCall log:\n  - waiting for locator('nav')",
                Failure,
                StaleState,
                None,
            ),
            (
                "Edit",
                "",
                "<tool_use_error>No changes to make: old_string and new_string are exactly the same.</tool_use_error>",
                Failure,
                InvalidInput,
                None,
            ),
            (
                "send_slack_message",
                "",
                "slack_sdk.errors.SlackApiError: The request to the Slack API failed.\nThe server responded with: {'ok': False, 'error': 'ratelimited'}",
                Failure,
                RateLimited,
                None,
            ),
            (
                "deploy_service",
                "",
                "MCP error -32603: pod web-1 is in CrashLoopBackOff (back-off 5m0s restarting failed container=web)",
                Failure,
                ServerCrashed,
                None,
            ),
            (
                "apply_patch",
                "",
                "apply_patch verification failed: Failed to read file to update /a/b.py: No such file or directory (os error 2)",
                Failure,
                NotFound,
                None,
            ),
            (
                "run_tests",
                "",
                "Error:  FAIL  src/a.test.ts\n  ● a › b\n\n    expect(received).toEqual(expected)\n\nTests:       1 failed, 7 passed, 8 total",
                Failure,
                CommandFailed,
                None,
            ),
            (
                "apply_patch",
                "",
                "apply_patch verification failed: Failed to find expected lines in /a/b.py",
                Failure,
                StaleState,
                None,
            ),
        ]);
    }

    #[test]
    fn shell_failures_by_cause_and_program() {
        use Outcome::*;
        check_calls(&[
            (
                "exec_command",
                "cargo test",
                "Process exited with code 101\nOutput:\nrunning 3 tests\ntest a::tests::roundtrip ... FAILED\n\nfailures:\n\n---- a::tests::roundtrip stdout ----\nthread 'a::tests::roundtrip' panicked at src/a.rs:2:3:\nassertion `left == right` failed\n\ntest result: FAILED. 2 passed; 1 failed; 0 ignored",
                Failure,
                CommandFailed,
                Some("cargo"),
            ),
            (
                "exec_command",
                "make build",
                "Process exited with code 2\nOutput:\nmkdir -p build\n/bin/sh: 1: yq: not found\nmake: *** [Makefile:27: build] Error 127",
                Failure,
                DependencyFailure,
                Some("make"),
            ),
            (
                "Bash",
                "kubectl get pods",
                "Exit code 1\nUnable to connect to the server: dial tcp: lookup api.example.internal on 10.0.0.10:53: no such host",
                Failure,
                NetworkError,
                Some("kubectl"),
            ),
            (
                "exec_command",
                "make release",
                "Process exited with code 2\nOutput:\nmake: *** No rule to make target 'release'.  Stop.",
                Failure,
                NotFound,
                Some("make"),
            ),
            (
                "bash",
                "python3 jobs/run.py",
                "Traceback (most recent call last):\n  File \"run.py\", line 3, in <module>\n    db.connect()\npsycopg2.OperationalError: connection to server at \"127.0.0.1\", port 5432 failed: Connection refused",
                Failure,
                ConnectionRefused,
                Some("python3"),
            ),
            (
                "Bash",
                "sed -i 's/a' x.txt",
                "Exit code 1\nsed: -e expression #1, char 3: unterminated `s' command",
                Failure,
                InvalidInput,
                Some("sed"),
            ),
            (
                "Bash",
                "git add src/a.ts",
                "Exit code 128\nfatal: ambiguous argument 'src/a.ts': unknown revision or path not in the working tree.\nUse '--' to separate paths from revisions",
                Failure,
                NotFound,
                Some("git"),
            ),
            (
                "exec_command",
                "git fetch origin",
                "Process exited with code 128\nOutput:\nerror: RPC failed; curl 56 GnuTLS recv error (-54): Error in the pull function.\nfatal: expected flush after ref listing",
                Failure,
                NetworkError,
                Some("git"),
            ),
            (
                "Bash",
                "git clone https://example.com/r.git",
                "Exit code 128\nCloning into 'r'...\nfatal: the remote end hung up unexpectedly\nfatal: early EOF",
                Failure,
                NetworkError,
                Some("git"),
            ),
            (
                "Bash",
                "python3 -c 'import docx'",
                "Exit code 1\nTraceback (most recent call last):\n  File \"<string>\", line 1, in <module>\nModuleNotFoundError: No module named 'docx'",
                Failure,
                DependencyFailure,
                Some("python3"),
            ),
            (
                "shell",
                "python - <<'PY'\nprint(1)\nPY",
                r#"{"output":"bash: line 1: python: command not found\n","metadata":{"exit_code":127}}"#,
                Failure,
                DependencyFailure,
                Some("python"),
            ),
            (
                "Bash",
                "cargo build --release",
                "Exit code 101\n   Compiling a v1\nerror[E0308]: mismatched types\nerror: could not compile `a` due to 1 previous error",
                Failure,
                CommandFailed,
                Some("cargo"),
            ),
            (
                "Bash",
                "pytest -q",
                "Exit code 1\n..F\nFAILED tests/test_a.py::test_b - AssertionError: assert 1 == 2\n1 failed, 2 passed in 0.1s",
                Failure,
                CommandFailed,
                Some("pytest"),
            ),
            (
                "exec_command",
                "git checkout -b feature",
                "Process exited with code 128\nOutput:\nfatal: a branch named 'feature' already exists\n",
                Failure,
                CommandFailed,
                Some("git"),
            ),
            (
                "shell",
                "rg -n codex",
                "Total output lines: 934\n\ncommand timed out after 1013 milliseconds\nfoo.yaml:29: codex",
                Failure,
                Timeout,
                Some("rg"),
            ),
            (
                "Bash",
                "sed -n 1,200p docs.md",
                "Exit code 2\nsed: can't read docs.md: No such file or directory",
                Failure,
                NotFound,
                Some("sed"),
            ),
            (
                "Bash",
                "git push 2>&1",
                "Exit code 128\ngit@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.",
                Failure,
                PermissionDenied,
                Some("git"),
            ),
            (
                "Bash",
                "git show c9d374b --no-stat",
                "fatal: unrecognized argument: --no-stat",
                Failure,
                InvalidInput,
                Some("git"),
            ),
            (
                "Bash",
                "./run.sh",
                "Exit code 1\nERROR: Not on a feature branch. Current branch: main",
                Failure,
                CommandFailed,
                Some("run.sh"),
            ),
        ]);
    }

    #[test]
    fn harness_phrases_of_file_tools() {
        use Outcome::*;
        check_calls(&[
            (
                "Edit",
                "",
                "<tool_use_error>String to replace not found in file.\nString: foo</tool_use_error>",
                Failure,
                StaleState,
                None,
            ),
            (
                "apply_patch",
                "",
                "apply_patch verification failed: Failed to find expected lines in /a/spec.md:\n# Tasks",
                Failure,
                StaleState,
                None,
            ),
            (
                "Grep",
                "",
                "<tool_use_error>InputValidationError: Grep failed due to the following issue:\nAn unexpected parameter `file_path` was provided</tool_use_error>",
                Failure,
                InvalidInput,
                None,
            ),
            (
                "Read",
                "",
                "File content (25183 tokens) exceeds maximum allowed tokens (25000). Please use offset and limit parameters.",
                Failure,
                InvalidInput,
                None,
            ),
            (
                "WebFetch",
                "",
                "Request failed with status code 404",
                Failure,
                NotFound,
                None,
            ),
            (
                "run_tests",
                "",
                "error: linker `cc` not found: install a C toolchain to build the tests",
                Failure,
                DependencyFailure,
                None,
            ),
            (
                "python_exec",
                "",
                "Traceback (most recent call last):\n  Cell In[5], line 2\nKeyError: 'amount_cents'",
                Failure,
                CommandFailed,
                None,
            ),
            (
                "query_db",
                "",
                "syntax error at or near \"SELEC\"",
                Failure,
                InvalidInput,
                None,
            ),
        ]);
    }

    #[test]
    fn no_phrase_is_declared_twice() {
        let mut seen = std::collections::HashSet::new();
        for (p, ..) in class_phrases() {
            assert!(
                seen.insert(p.to_ascii_lowercase()),
                "class phrase {p:?} twice"
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (p, _) in outcome_entries() {
            assert!(seen.insert(p), "outcome phrase {p:?} twice");
        }
    }

    /// The harnesses' own messages (invented instances of their templates; see
    /// `harness_messages` for where each comes from): (tool, message, outcome, class).
    #[test]
    fn harness_messages_from_their_sources() {
        use Outcome::{Cancelled as X, Failure as F, Rejected as R};
        let cases: &[(&str, &str, Outcome, FailureClass)] = &[
            (
                "Bash",
                "The user doesn't want to take this action right now. STOP what you are doing.",
                R,
                Unknown,
            ),
            (
                "Bash",
                "Permission to use Bash has been denied by your rule Bash(rm:*).",
                R,
                Unknown,
            ),
            (
                "run_shell_command",
                "Tool execution for \"Shell\" denied by policy.",
                R,
                Unknown,
            ),
            (
                "run_shell_command",
                "Tool execution for \"Shell\" requires user confirmation, which is not supported in non-interactive mode.",
                R,
                Unknown,
            ),
            (
                "exec_command",
                "This action was rejected due to unacceptable risk. Reason: deletes data",
                R,
                Unknown,
            ),
            ("bash", "Tool execution denied.", R, Unknown),
            (
                "Bash",
                "Permission to use Bash with command rm -rf build has been denied.",
                R,
                Unknown,
            ),
            (
                "Task",
                "<tool_use_error>Cancelled: Claude ended the conversation</tool_use_error>",
                X,
                Unknown,
            ),
            (
                "Bash",
                "<tool_use_error>Error: Streaming fallback - tool execution discarded</tool_use_error>",
                X,
                Unknown,
            ),
            (
                "run_shell_command",
                "Command was cancelled by user before it could complete.",
                X,
                Unknown,
            ),
            ("read_file", "User cancelled tool execution.", X, Unknown),
            (
                "shell",
                "Wall time: 3.0 seconds\naborted by user",
                X,
                Unknown,
            ),
            (
                "TaskOutput",
                "<tool_use_error>No task found with ID: b1x9</tool_use_error>",
                F,
                NotFound,
            ),
            (
                "TaskStop",
                "<tool_use_error>Task b1x9 is not running (status: completed)</tool_use_error>",
                F,
                StaleState,
            ),
            (
                "Agent",
                "Agent type 'reviewer' not found. Available agents: general-purpose",
                F,
                NotFound,
            ),
            (
                "Bash",
                "<tool_use_error>Error: No such tool available: BashOutput</tool_use_error>",
                F,
                InvalidInput,
            ),
            (
                "Read",
                "<tool_use_error>InputValidationError: Read failed due to the following issue:\nThe required parameter `file_path` is missing</tool_use_error>",
                F,
                InvalidInput,
            ),
            (
                "Read",
                "EISDIR: illegal operation on a directory, read",
                F,
                InvalidInput,
            ),
            (
                "read_file",
                "Path is a directory, not a file: /w/src",
                F,
                InvalidInput,
            ),
            ("read", "Cannot read binary file: /w/a.bin", F, InvalidInput),
            (
                "read_file",
                "File path '/w/.env' is ignored by configured ignore patterns.",
                F,
                InvalidInput,
            ),
            (
                "read_file",
                "File path '/w/dist/a.js' is ignored by .geminiignore pattern(s).",
                F,
                InvalidInput,
            ),
            (
                "read_file",
                "Path not in workspace: Attempted path \"/etc/x\" resolves outside the allowed workspace directories: /w",
                F,
                PermissionDenied,
            ),
            (
                "replace",
                "Could not find an exact match for 'old_string' in 'a.ts'.",
                F,
                StaleState,
            ),
            (
                "replace",
                "Failed to edit, Expected 1 occurrence but found 3 for old_string in file: a.ts",
                F,
                InvalidInput,
            ),
            (
                "edit",
                "Could not find oldString in the file. It must match exactly, including whitespace and indentation.",
                F,
                StaleState,
            ),
            (
                "edit",
                "The edit tool was called with invalid arguments: [{\"path\":[\"filePath\"]}].\nPlease rewrite the input so it satisfies the expected schema.",
                F,
                InvalidInput,
            ),
            (
                "apply_patch",
                "apply_patch verification failed: Failed to find context 'fn a()' in /w/a.rs",
                F,
                StaleState,
            ),
            (
                "exec_command",
                "failed to parse function arguments: missing field `cmd` at line 1 column 9",
                F,
                InvalidInput,
            ),
            (
                "shell",
                "failed in sandbox with execution error: sandbox denied exec error, exit code: 1",
                F,
                PermissionDenied,
            ),
            (
                "mcp__db__query",
                "MCP error -32602: Invalid arguments for tool query: Expected string, received number",
                F,
                InvalidInput,
            ),
            (
                "mcp__db__query",
                "MCP error -32000: Connection closed",
                F,
                ServerCrashed,
            ),
            (
                "mcp__db__query",
                "MCP error -32001: Request timed out",
                F,
                Timeout,
            ),
            (
                "mcp__db__query",
                "Streamable HTTP error: Error POSTing to endpoint (HTTP 404): Session not found",
                F,
                NetworkError,
            ),
            (
                "search",
                "params must have required property 'query'",
                F,
                InvalidInput,
            ),
            ("search", "'query' is a required property", F, InvalidInput),
            (
                "search",
                "1 validation error for search\nquery\n  Field required [type=missing]",
                F,
                InvalidInput,
            ),
            (
                "write_file",
                "ENOSPC: no space left on device, write",
                F,
                Oom,
            ),
            (
                "PowerShell",
                "foo : The term 'foo' is not recognized as the name of a cmdlet, function, script file, or operable program.",
                F,
                DependencyFailure,
            ),
            (
                "PowerShell",
                "Get-Content : Cannot find path 'C:\\w\\a.txt' because it does not exist.",
                F,
                NotFound,
            ),
            (
                "PowerShell",
                "+ CategoryInfo : ObjectNotFound: (foo:String) [], CommandNotFoundException",
                F,
                DependencyFailure,
            ),
            (
                "PowerShell",
                "File C:\\w\\a.ps1 cannot be loaded because running scripts is disabled on this system.",
                F,
                PermissionDenied,
            ),
        ];
        for (tool, message, outcome, class) in cases {
            let a = analyze(&facts(tool, message));
            assert_eq!(
                (a.outcome, a.classification.class),
                (*outcome, *class),
                "{tool} {message:?} → {a:?}"
            );
        }
    }

    #[test]
    fn exit_codes_and_recorded_types_of_harnesses() {
        let shell = |code| CallFacts {
            exit_code: Some(code),
            command: Some("./a.out"),
            ..facts("Bash", "")
        };
        check_class(shell(139), ServerCrashed);
        check_class(shell(9009), DependencyFailure);
        check_class(shell(124), Timeout);
        for (t, class) in [
            ("edit_no_occurrence_found", StaleState),
            ("path_not_in_workspace", PermissionDenied),
            ("target_is_directory", InvalidInput),
            ("tool_not_registered", InvalidInput),
        ] {
            check_class(
                CallFacts {
                    error_type: Some(t),
                    ..facts("t", "")
                },
                class,
            );
        }
    }

    #[test]
    fn codes_round_trip() {
        for class in FailureClass::ALL {
            assert_eq!(FailureClass::from_code(class.code() as i64), Some(class));
            assert_eq!(FailureClass::parse(class.as_str()), Some(class));
        }
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::from_code(outcome.code() as i64), Some(outcome));
        }
        let bits = Signal::MessageText.bit() | Signal::ExitCode.bit();
        assert_eq!(
            Signal::from_bits(bits),
            vec![Signal::MessageText, Signal::ExitCode]
        );
    }

    #[test]
    fn non_transient_classes() {
        for class in FailureClass::ALL {
            let expect = !matches!(
                class,
                NotFound
                    | PermissionDenied
                    | InvalidInput
                    | StaleState
                    | DependencyFailure
                    | CommandFailed
            );
            assert_eq!(class.is_transient(), expect, "{class:?}");
        }
    }
}
