//! Classification of failed tool calls into twelve failure classes.
//!
//! Three kinds of signal vote for a class, each with a weight in (0, 1):
//! - the recorded `error_type` (strongest: 0.9; the generic `tool_error` only 0.5, because it
//!   often hides a specific cause that the message reveals);
//! - phrases in the message (errno names, HTTP statuses, exit codes, panics, …), 0.5–0.85
//!   depending on how specific the phrase is;
//! - a duration anomaly: a failure lasting as long as the tool's observed timeout ceiling
//!   (0.6), or sitting just above a common round timeout (0.4).
//!
//! Votes for the same class combine as a noisy-OR, `1 − Π(1 − wᵢ)`. The winning class is the
//! highest score; `confidence = best − ½·runner_up`, so agreeing signals raise it and
//! conflicting ones lower it. With no signal at all the class is `Unknown`, confidence 0.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The failure classes of DESIGN §4.
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
    #[serde(rename = "tool_error")]
    ToolError,
    #[serde(rename = "Unknown")]
    Unknown,
}

impl FailureClass {
    pub const ALL: [FailureClass; 12] = [
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
}

/// One piece of evidence that voted for a class.
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
}

impl Signal {
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Decodes a bit set written by [`Classification::signal_bits`].
    pub fn from_bits(bits: u8) -> Vec<Signal> {
        [
            Signal::RecordedType,
            Signal::MessageText,
            Signal::DurationAtCeiling,
            Signal::DurationRoundTimeout,
        ]
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
}

/// What is known about a failed call.
#[derive(Clone, Copy, Debug, Default)]
pub struct FailureFacts<'a> {
    pub error_type: Option<&'a str>,
    pub message: Option<&'a str>,
    pub duration_ms: Option<i64>,
    /// The longest duration of this tool's earlier failures that had an explicit timeout
    /// signal; `None` until one has been seen.
    pub timeout_ceiling_ms: Option<i64>,
}

/// Maps a recorded `error_type` to a class and the weight of that signal.
fn recorded_vote(error_type: &str) -> Option<(FailureClass, f64)> {
    let t = error_type.to_ascii_lowercase();
    let has = |needle: &str| t.contains(needle);
    let class = if has("timeout") || has("timed_out") || has("deadline") {
        FailureClass::Timeout
    } else if has("refused") {
        FailureClass::ConnectionRefused
    } else if has("crash") || has("panic") {
        FailureClass::ServerCrashed
    } else if has("oom") || has("memory") {
        FailureClass::Oom
    } else if has("permission") || has("forbidden") || has("unauthori") || has("access") {
        FailureClass::PermissionDenied
    } else if has("not_found") || has("notfound") || has("missing") {
        FailureClass::NotFound
    } else if has("rate") || has("throttl") || has("quota") {
        FailureClass::RateLimited
    } else if has("depend") || has("unavailable") || has("upstream") {
        FailureClass::DependencyFailure
    } else if has("invalid") || has("validation") || has("bad_request") || has("parse") {
        FailureClass::InvalidInput
    } else if has("transport") || has("network") || has("connection") || has("dns") || has("socket")
    {
        FailureClass::NetworkError
    } else if has("tool") || has("error") || has("fail") {
        return Some((FailureClass::ToolError, 0.5));
    } else {
        return None;
    };
    Some((class, 0.9))
}

/// Phrase rules: (class, weight, phrases). Phrases are lower case; a phrase made only of
/// letters/digits must match on word boundaries (so `429` does not fire inside `14290`).
const TEXT_RULES: &[(FailureClass, f64, &[&str])] = &[
    (
        FailureClass::Timeout,
        0.85,
        &[
            "timed out",
            "timeout",
            "time out",
            "etimedout",
            "deadline exceeded",
            "took too long",
        ],
    ),
    (
        FailureClass::Timeout,
        0.6,
        &["504", "408", "gateway time-out"],
    ),
    (
        FailureClass::ConnectionRefused,
        0.85,
        &[
            "connection refused",
            "econnrefused",
            "os error 111",
            "actively refused",
            "could not connect",
            "failed to connect",
            "connect error",
        ],
    ),
    (
        FailureClass::NetworkError,
        0.8,
        &[
            "enotfound",
            "getaddrinfo",
            "name or service not known",
            "network is unreachable",
            "enetunreach",
            "ehostunreach",
            "no route to host",
            "connection reset",
            "econnreset",
            "broken pipe",
            "epipe",
            "dns",
            "tls handshake",
            "ssl",
            "transport error",
            "connection closed",
            "connection aborted",
            "socket hang up",
            "temporary failure in name resolution",
        ],
    ),
    (
        FailureClass::ServerCrashed,
        0.85,
        &[
            "panicked at",
            "segmentation fault",
            "sigsegv",
            "core dumped",
            "crashed",
            "server exited",
            "process exited unexpectedly",
            "exited unexpectedly",
            "fatal error",
            "sigabrt",
            "aborted",
        ],
    ),
    (
        FailureClass::ServerCrashed,
        0.6,
        &["502", "bad gateway", "eof", "unexpected end of stream"],
    ),
    (
        FailureClass::Oom,
        0.85,
        &[
            "out of memory",
            "oom",
            "oomkilled",
            "cannot allocate memory",
            "enomem",
            "memoryerror",
            "heap out of memory",
            "exit code 137",
            "exited with code 137",
            "memory limit",
        ],
    ),
    (FailureClass::Oom, 0.55, &["sigkill", "killed", "137"]),
    (
        FailureClass::PermissionDenied,
        0.85,
        &[
            "permission denied",
            "eacces",
            "eperm",
            "os error 13",
            "access denied",
            "access is denied",
            "operation not permitted",
            "forbidden",
            "unauthorized",
            "not authorized",
            "insufficient permissions",
        ],
    ),
    (FailureClass::PermissionDenied, 0.6, &["403", "401"]),
    (
        FailureClass::NotFound,
        0.85,
        &[
            "no such file",
            "enoent",
            "os error 2",
            "not found",
            "does not exist",
            "doesn't exist",
            "no such",
            "cannot find",
            "could not find",
            "unknown file",
        ],
    ),
    (FailureClass::NotFound, 0.6, &["404", "e404"]),
    (
        FailureClass::RateLimited,
        0.85,
        &[
            "too many requests",
            "rate limit",
            "rate-limit",
            "ratelimit",
            "throttl",
            "quota exceeded",
            "retry after",
            "retry-after",
            "slow down",
        ],
    ),
    (FailureClass::RateLimited, 0.7, &["429"]),
    (
        FailureClass::DependencyFailure,
        0.75,
        &[
            "service unavailable",
            "dependency",
            "upstream",
            "modulenotfounderror",
            "cannot find module",
            "no module named",
            "unresolved import",
            "could not resolve",
            "failed to resolve",
            "package not found",
            "npm err",
            "pip install",
        ],
    ),
    (FailureClass::DependencyFailure, 0.55, &["503"]),
    (
        FailureClass::InvalidInput,
        0.75,
        &[
            "invalid argument",
            "einval",
            "invalid input",
            "invalid parameter",
            "invalid value",
            "bad request",
            "missing required",
            "validation",
            "syntax error",
            "parse error",
            "unexpected token",
            "malformed",
            "mismatched types",
            "expected",
            "must be",
            "unknown option",
            "unrecognized",
        ],
    ),
    (FailureClass::InvalidInput, 0.55, &["400", "422"]),
];

/// Common round timeouts in ms; a failure lasting 0–2% longer is suspicious.
const ROUND_TIMEOUTS_MS: [i64; 8] = [
    5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000,
];

/// Classifies one failed call.
pub fn classify(facts: &FailureFacts<'_>) -> Classification {
    let mut votes: Vec<(FailureClass, f64, Signal)> = Vec::with_capacity(4);
    if let Some((class, weight)) = facts.error_type.and_then(recorded_vote) {
        votes.push((class, weight, Signal::RecordedType));
    }
    if let Some(message) = facts.message {
        let lower = message.to_ascii_lowercase();
        for (class, weight, phrases) in TEXT_RULES {
            if phrases.iter().any(|p| contains_phrase(&lower, p)) {
                votes.push((*class, *weight, Signal::MessageText));
            }
        }
    }
    if let Some(duration) = facts.duration_ms.filter(|d| *d > 0) {
        if let Some(ceiling) = facts.timeout_ceiling_ms.filter(|c| *c > 0)
            && duration as f64 >= 0.95 * ceiling as f64
        {
            votes.push((FailureClass::Timeout, 0.6, Signal::DurationAtCeiling));
        }
        if ROUND_TIMEOUTS_MS
            .iter()
            .any(|t| duration >= *t && (duration as f64) <= *t as f64 * 1.02)
        {
            votes.push((FailureClass::Timeout, 0.4, Signal::DurationRoundTimeout));
        }
    }
    decide(&votes)
}

/// Combines votes into a class and confidence (see the module docs).
fn decide(votes: &[(FailureClass, f64, Signal)]) -> Classification {
    let mut scores: Vec<(FailureClass, f64)> = Vec::new();
    for (class, weight, _) in votes {
        match scores.iter_mut().find(|(c, _)| c == class) {
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
        return Classification {
            class: FailureClass::Unknown,
            confidence: 0.0,
            signals: Vec::new(),
        };
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

/// Whether `phrase` occurs in `text`; phrases made only of alphanumerics must sit on word
/// boundaries.
fn contains_phrase(text: &str, phrase: &str) -> bool {
    let needs_boundary = phrase.bytes().all(|b| b.is_ascii_alphanumeric());
    if !needs_boundary {
        return text.contains(phrase);
    }
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(pos) = text[start..].find(phrase) {
        let begin = start + pos;
        let end = begin + phrase.len();
        let before_ok = begin == 0 || !bytes[begin - 1].is_ascii_alphanumeric();
        let after_ok = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if before_ok && after_ok {
            return true;
        }
        start = begin + 1;
    }
    false
}

/// Whether a classification carries an explicit timeout signal (recorded type or text), which
/// makes its duration evidence of the tool's timeout ceiling.
pub fn is_explicit_timeout(c: &Classification) -> bool {
    c.class == FailureClass::Timeout
        && c.signals
            .iter()
            .any(|s| matches!(s, Signal::RecordedType | Signal::MessageText))
}

#[cfg(test)]
mod tests {
    use super::*;
    use FailureClass::*;

    fn check(
        error_type: Option<&str>,
        message: &str,
        duration: Option<i64>,
        ceiling: Option<i64>,
        expect: FailureClass,
    ) -> Classification {
        let c = classify(&FailureFacts {
            error_type,
            message: Some(message),
            duration_ms: duration,
            timeout_ceiling_ms: ceiling,
        });
        assert_eq!(c.class, expect, "{error_type:?} {message:?} → {c:?}");
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
            ("error[E0308]: mismatched types", InvalidInput),
            ("something odd happened", Unknown),
        ];
        for (message, class) in cases {
            check(None, message, None, None, class);
        }
        check(
            Some("tool_error"),
            "something odd happened",
            None,
            None,
            ToolError,
        );
    }

    #[test]
    fn recorded_type_is_strongest_but_generic_types_yield_to_text() {
        let c = check(Some("timeout"), "", None, None, Timeout);
        assert_eq!(c.signals, vec![Signal::RecordedType]);
        let c = check(
            Some("tool_error"),
            "Permission denied (os error 13)",
            None,
            None,
            PermissionDenied,
        );
        assert!(c.confidence < 0.85, "conflict lowers confidence: {c:?}");
        check(Some("transport_error"), "", None, None, NetworkError);
        check(Some("server_crashed"), "", None, None, ServerCrashed);
        check(
            Some("connection_refused"),
            "",
            None,
            None,
            ConnectionRefused,
        );
        check(Some("permission_denied"), "", None, None, PermissionDenied);
    }

    #[test]
    fn agreement_raises_confidence() {
        let alone = check(Some("timeout"), "", None, None, Timeout).confidence;
        let agreed = check(
            Some("timeout"),
            "operation timed out",
            Some(30_050),
            Some(30_000),
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
    fn duration_alone_suggests_timeout() {
        let c = check(None, "", Some(29_990), Some(30_000), Timeout);
        assert_eq!(c.signals, vec![Signal::DurationAtCeiling]);
        check(None, "", Some(12_345), Some(30_000), Unknown);
    }

    #[test]
    fn numbers_match_on_word_boundaries() {
        check(
            None,
            "processed 14290 rows then stopped",
            None,
            None,
            Unknown,
        );
        check(None, "status 429", None, None, RateLimited);
    }

    #[test]
    fn codes_round_trip() {
        for class in FailureClass::ALL {
            assert_eq!(FailureClass::from_code(class.code() as i64), Some(class));
            assert_eq!(FailureClass::parse(class.as_str()), Some(class));
        }
        let bits = Signal::MessageText.bit() | Signal::DurationAtCeiling.bit();
        assert_eq!(
            Signal::from_bits(bits),
            vec![Signal::MessageText, Signal::DurationAtCeiling]
        );
    }
}
