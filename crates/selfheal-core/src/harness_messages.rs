//! The messages the classifier knows by name, each beside the source it was read from.
//!
//! Two tables feed the phrase matchers of [`crate::classify`]:
//!
//! - [`HARNESS_MESSAGES`] — what the harnesses themselves say when they decline, cancel or
//!   interrupt a call, validate its input, time it out or refuse a path: Claude Code (read from
//!   its npm package's native build with `strings`), Gemini CLI (its JS bundle and its public
//!   source), Codex (its native build and its public source), OpenCode and Copilot CLI (their
//!   builds). Each entry cites the package or repository, its version and the file.
//! - [`STRUCTURAL`] — signals that do not depend on a harness's wording: errno names and their
//!   standard messages, JSON-RPC and MCP error codes, HTTP statuses, signals, and the messages
//!   of the JSON-schema validators tools use for their input (zod, ajv, python-jsonschema,
//!   pydantic, serde).
//!
//! Beside them, [`RECORDED_TYPES`] maps the error types a harness records (Gemini CLI's
//! `ToolErrorType`) and [`SHELL_EXIT_CODES`] the exit statuses of shell tools.
//!
//! Phrases are lower case and matched ignoring ASCII case; phrases made only of letters and
//! digits must sit on word boundaries. A phrase means an outcome (the call was declined or never
//! ran) or votes for a class with a weight; see the module docs of [`crate::classify`] for the
//! classes. Nothing here is fitted to labelled examples: an entry is justified by its source.

use crate::classify::FailureClass as C;
use crate::classify::Target::{self, Class, CodeError, Refusal};

/// What a phrase means.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Meaning {
    /// A person or a permission policy declined the call.
    Rejected,
    /// The call was interrupted or never ran.
    Cancelled,
    /// An abort that a timeout caused: a cancellation phrase beside it is a timeout.
    AbortedByTimeout,
    /// A vote for a class, with its weight.
    Vote(Target, f64),
}

/// One known message: its phrase, what it means, and where it comes from.
#[derive(Clone, Copy, Debug)]
pub struct Message {
    pub phrase: &'static str,
    pub meaning: Meaning,
    /// Package or repository, version or commit, and file.
    pub source: &'static str,
}

const fn rejected(phrase: &'static str, source: &'static str) -> Message {
    Message {
        phrase,
        meaning: Meaning::Rejected,
        source,
    }
}

const fn cancelled(phrase: &'static str, source: &'static str) -> Message {
    Message {
        phrase,
        meaning: Meaning::Cancelled,
        source,
    }
}

const fn vote(phrase: &'static str, target: Target, weight: f64, source: &'static str) -> Message {
    Message {
        phrase,
        meaning: Meaning::Vote(target, weight),
        source,
    }
}

// Sources. Native builds were read with `strings`; bundles and repositories as text.
const CLAUDE: &str = "@anthropic-ai/claude-code@2.1.328 claude-code-linux-x64/claude (embedded JS)";
const CLAUDE_PS: &str = "@anthropic-ai/claude-code@2.1.328 claude-code-linux-x64/claude (embedded JS: its PowerShell/cmd error categories)";
const CLAUDE_BUN: &str = "@anthropic-ai/claude-code@2.1.328 claude-code-linux-x64/claude (Bun runtime: fs error messages)";
const CLAUDE_EARLIER: &str =
    "Claude Code before 2.1.328 (tool results of earlier versions; absent from the 2.1.328 build)";
const GEMINI: &str = "@google/gemini-cli@0.61.0 bundle/chunk-5FZXKDXH.js";
const GEMINI_CORE: &str = "@google/gemini-cli@0.61.0 bundle/gemini-3HFX2LNT.js";
const GEMINI_FS: &str = "@google/gemini-cli@0.61.0 bundle/chunk-5FZXKDXH.js (getFsErrorMessage)";
const GEMINI_EDIT_SRC: &str = "google-gemini/gemini-cli@5411f113 packages/core/src/tools/edit.ts";
const GEMINI_READ_OLD: &str = "google-gemini/gemini-cli (earlier versions) packages/core/src/tools/read-file.ts (validateToolParams, ToolErrorType.INVALID_TOOL_PARAMS)";
const GEMINI_ERRORS: &str =
    "google-gemini/gemini-cli@5411f113 packages/core/src/tools/tool-error.ts (ToolErrorType)";
const CODEX: &str = "@openai/codex@0.169.0 codex-linux-x64 binary (strings)";
const CODEX_EVENTS: &str =
    "openai/codex codex-rs/core/src/tools/events.rs; @openai/codex@0.169.0 binary";
const CODEX_ERROR: &str =
    "openai/codex codex-rs/core/src/error.rs (SandboxErr); @openai/codex@0.169.0 binary";
const CODEX_PATCH: &str =
    "openai/codex codex-rs/apply-patch/src/lib.rs; @openai/codex@0.169.0 binary";
const OPENCODE: &str = "opencode-ai@1.18.33 opencode-linux-x64/bin/opencode (embedded JS)";
const OPENCODE_AI_SDK: &str = "opencode-ai@1.18.33 opencode-linux-x64/bin/opencode (bundled Vercel AI SDK: NoSuchToolError, execution-denied)";
const COPILOT_EVENTS: &str = "@github/copilot@1.0.102 schemas/session-events.schema.json";
const COPILOT_API: &str = "@github/copilot@1.0.102 schemas/api.schema.json";
const GENERIC: &str = "no harness source found: kept from earlier tables (generic wording)";
const DOM_ABORT: &str = "WHATWG DOM AbortError / AbortSignal.timeout() messages (Node, Bun; in claude-code@2.1.328 and gemini-cli@0.61.0)";
const GIT: &str = "git builtin/add.c (advice on ignored paths)";
const FILE_TOOLS: &str = "file tools of public MCP servers (wording only; no harness emits it)";

/// What the harnesses say when they decline, cancel or interrupt a call, validate its input,
/// time it out, or refuse a path.
pub const HARNESS_MESSAGES: &[Message] = &[
    // ---------------------------------------------------------------- declined (rejected)
    rejected(
        "the user doesn't want to proceed with this tool use",
        CLAUDE,
    ),
    rejected(
        "the user doesn't want to take this action right now",
        CLAUDE,
    ),
    rejected("tool use was rejected", CLAUDE),
    rejected("permission for this tool use was denied", CLAUDE),
    rejected("has been denied by your rule", CLAUDE),
    rejected("has been denied by permission rule", CLAUDE),
    rejected(
        "has been denied because claude code is running in don't ask mode",
        CLAUDE,
    ),
    rejected("user denied execution", GEMINI),
    rejected("denied by policy", GEMINI),
    rejected(
        "requires user confirmation, which is not supported in non-interactive mode",
        GEMINI,
    ),
    rejected("rejected by user", CODEX_EVENTS),
    rejected("this action was rejected due to unacceptable risk", CODEX),
    rejected("rejected: policy forbids commands starting with", CODEX),
    rejected(
        "the user rejected permission to use this specific tool call",
        OPENCODE,
    ),
    rejected(
        "the user has specified a rule which prevents you from using this specific tool call",
        OPENCODE,
    ),
    rejected("tool execution denied", OPENCODE_AI_SDK),
    rejected("the user rejected the tool call", COPILOT_EVENTS),
    rejected(
        "the permissions service denied the tool call",
        COPILOT_EVENTS,
    ),
    rejected("the user declined the confirmation request", COPILOT_API),
    rejected("the request was denied without prompting", COPILOT_EVENTS),
    rejected("rejected by the user", GENERIC),
    rejected("user rejected", GENERIC),
    rejected("user denied", GENERIC),
    rejected("denied by user", GENERIC),
    rejected("user declined", GENERIC),
    rejected("declined by user", GENERIC),
    rejected("user did not allow", GENERIC),
    // ------------------------------------------------------ interrupted, never ran (cancelled)
    cancelled("interrupted by user", CLAUDE),
    cancelled("request interrupted by user", CLAUDE),
    cancelled("cancelled: claude ended the conversation", CLAUDE),
    cancelled("streaming fallback - tool execution discarded", CLAUDE),
    cancelled(
        "the tool call was interrupted before a result was received",
        CLAUDE,
    ),
    cancelled("cancelled by parent call", CLAUDE),
    cancelled("cancelled: parallel tool call", CLAUDE_EARLIER),
    cancelled("canceled: parallel tool call", CLAUDE_EARLIER),
    cancelled("user cancelled tool execution", GEMINI),
    cancelled("command was cancelled by user", GEMINI),
    cancelled("operation cancelled by user", GEMINI),
    cancelled("tool call cancelled while in queue", GEMINI),
    cancelled("was canceled by the user", GEMINI_CORE),
    cancelled("user cancelled the operation", GENERIC),
    cancelled("user canceled the operation", GENERIC),
    cancelled("aborted by user", CODEX),
    cancelled("tool execution aborted", OPENCODE),
    cancelled("operation was aborted", DOM_ABORT),
    cancelled("tool execution was cancelled", GENERIC),
    cancelled("tool call was cancelled", GENERIC),
    // An abort caused by a timeout is a timeout, not a cancellation.
    Message {
        phrase: "due to timeout",
        meaning: Meaning::AbortedByTimeout,
        source: DOM_ABORT,
    },
    Message {
        phrase: "timeouterror",
        meaning: Meaning::AbortedByTimeout,
        source: DOM_ABORT,
    },
    Message {
        phrase: "timed out",
        meaning: Meaning::AbortedByTimeout,
        source: DOM_ABORT,
    },
    // ------------------------------------------------------------ stale view (stale_state)
    vote("has not been read yet", Class(C::StaleState), 0.9, CLAUDE),
    vote("read it first before", Class(C::StaleState), 0.9, CLAUDE),
    vote("modified since read", Class(C::StaleState), 0.9, CLAUDE),
    vote(
        "string to replace not found",
        Class(C::StaleState),
        0.9,
        CLAUDE,
    ),
    vote(
        "string not found in file",
        Class(C::StaleState),
        0.9,
        CLAUDE,
    ),
    vote(
        "is not running (status:",
        Class(C::StaleState),
        0.85,
        CLAUDE,
    ),
    vote(
        "could not find an exact match for 'old_string'",
        Class(C::StaleState),
        0.9,
        GEMINI,
    ),
    vote(
        "could not find the string to replace",
        Class(C::StaleState),
        0.9,
        GEMINI_EDIT_SRC,
    ),
    vote(
        "no changes were necessary",
        Class(C::StaleState),
        0.9,
        GEMINI,
    ),
    vote(
        "attempted to create a file that already exists",
        Class(C::StaleState),
        0.85,
        GEMINI,
    ),
    vote(
        "file already exists, cannot create",
        Class(C::StaleState),
        0.85,
        GEMINI,
    ),
    vote(
        "could not find oldstring in the file",
        Class(C::StaleState),
        0.9,
        OPENCODE,
    ),
    vote(
        "oldstring not found in content",
        Class(C::StaleState),
        0.9,
        OPENCODE,
    ),
    vote(
        "failed to find expected lines",
        Class(C::StaleState),
        0.9,
        CODEX_PATCH,
    ),
    vote(
        "failed to find context '",
        Class(C::StaleState),
        0.9,
        CODEX_PATCH,
    ),
    vote(
        "apply_patch verification failed",
        Class(C::StaleState),
        0.7,
        CODEX,
    ),
    // ---------------------------------------------- the call's own input (invalid_input)
    vote("inputvalidationerror", Class(C::InvalidInput), 0.85, CLAUDE),
    vote(
        "invalid tool parameters",
        Class(C::InvalidInput),
        0.85,
        CLAUDE,
    ),
    vote(
        "the required parameter `",
        Class(C::InvalidInput),
        0.85,
        CLAUDE,
    ),
    vote(
        "an unexpected parameter `",
        Class(C::InvalidInput),
        0.85,
        CLAUDE,
    ),
    vote(
        "type is expected as `",
        Class(C::InvalidInput),
        0.85,
        CLAUDE,
    ),
    vote(
        "matches none of the accepted forms",
        Class(C::InvalidInput),
        0.85,
        CLAUDE,
    ),
    vote(
        "no such tool available",
        Class(C::InvalidInput),
        0.85,
        CLAUDE,
    ),
    vote("unknown skill:", Class(C::InvalidInput), 0.85, CLAUDE),
    vote(
        "matches of the string to replace",
        Class(C::InvalidInput),
        0.85,
        CLAUDE,
    ),
    vote(
        "old_string and new_string are exactly the same",
        Class(C::InvalidInput),
        0.85,
        CLAUDE,
    ),
    vote(
        "cannot read binary file",
        Class(C::InvalidInput),
        0.85,
        CLAUDE,
    ),
    vote(
        "exceeds maximum allowed",
        Class(C::InvalidInput),
        0.8,
        CLAUDE,
    ),
    vote("file is too large to", Class(C::InvalidInput), 0.8, CLAUDE),
    vote(
        "illegal operation on a directory",
        Class(C::InvalidInput),
        0.85,
        CLAUDE,
    ),
    vote(
        "path is a directory",
        Class(C::InvalidInput),
        0.85,
        CLAUDE_BUN,
    ),
    vote(
        "target is a directory, not a file",
        Class(C::InvalidInput),
        0.85,
        GEMINI,
    ),
    vote(
        "path is not a directory",
        Class(C::InvalidInput),
        0.85,
        GEMINI,
    ),
    vote(
        "invalid parameters provided",
        Class(C::InvalidInput),
        0.85,
        GEMINI,
    ),
    vote(
        "not found in registry",
        Class(C::InvalidInput),
        0.85,
        GEMINI_CORE,
    ),
    vote(
        "expected 1 occurrence but found",
        Class(C::InvalidInput),
        0.85,
        GEMINI,
    ),
    vote("no changes to apply", Class(C::InvalidInput), 0.85, GEMINI),
    // An ignore file refuses the path: Gemini CLI returns it from its parameter validation.
    vote(
        "is ignored by configured ignore patterns",
        Class(C::InvalidInput),
        0.85,
        GEMINI,
    ),
    vote(
        "is ignored by .geminiignore",
        Class(C::InvalidInput),
        0.85,
        GEMINI_READ_OLD,
    ),
    vote(
        "is ignored by .gitignore",
        Class(C::InvalidInput),
        0.8,
        FILE_TOOLS,
    ),
    vote(
        "are ignored by one of your .gitignore files",
        Class(C::InvalidInput),
        0.8,
        GIT,
    ),
    vote(
        "failed to parse function arguments",
        Class(C::InvalidInput),
        0.9,
        CODEX,
    ),
    vote("unsupported call:", Class(C::InvalidInput), 0.85, CODEX),
    vote(
        "unsupported custom tool call",
        Class(C::InvalidInput),
        0.85,
        CODEX,
    ),
    vote("invalid patch", Class(C::InvalidInput), 0.85, CODEX_PATCH),
    vote(
        "was called with invalid arguments",
        Class(C::InvalidInput),
        0.9,
        OPENCODE,
    ),
    vote(
        "found multiple matches for oldstring",
        Class(C::InvalidInput),
        0.85,
        OPENCODE,
    ),
    vote(
        "model tried to call unavailable tool",
        Class(C::InvalidInput),
        0.85,
        OPENCODE_AI_SDK,
    ),
    // ------------------------------------------------------- a path refused (permission)
    vote(
        "path is outside allowed working directories",
        Class(C::PermissionDenied),
        0.85,
        CLAUDE,
    ),
    vote(
        "path not in workspace",
        Class(C::PermissionDenied),
        0.85,
        GEMINI,
    ),
    vote(
        "resolves outside the allowed workspace directories",
        Class(C::PermissionDenied),
        0.85,
        GEMINI,
    ),
    vote(
        "is outside the workspace and not in allowed paths",
        Class(C::PermissionDenied),
        0.85,
        GEMINI,
    ),
    vote(
        "sandbox denied exec error",
        Class(C::PermissionDenied),
        0.85,
        CODEX_ERROR,
    ),
    // --------------------------------------------------------- background tasks, agents
    vote("no task found with id", Class(C::NotFound), 0.85, CLAUDE),
    vote(
        "not found. available agents",
        Class(C::NotFound),
        0.85,
        CLAUDE,
    ),
    vote("file does not exist", Class(C::NotFound), 0.9, CLAUDE),
    vote("directory does not exist", Class(C::NotFound), 0.9, CLAUDE),
    vote(
        "agent thread limit reached",
        Class(C::RateLimited),
        0.7,
        CODEX,
    ),
    // ----------------------------------------------------------------- MCP transport
    vote(
        "mcp error -32000: connection closed",
        Class(C::ServerCrashed),
        0.8,
        CLAUDE,
    ),
    vote("is not connected", Class(C::DependencyFailure), 0.7, CLAUDE),
    vote("error calling tool", Class(C::ToolError), 0.5, CLAUDE),
    // ------------------------------------------------- Windows shells (PowerShell, cmd)
    vote(
        "is not recognized as an internal or external command",
        Class(C::DependencyFailure),
        0.9,
        CLAUDE_PS,
    ),
    vote(
        "is not recognized as the name of a cmdlet",
        Class(C::DependencyFailure),
        0.9,
        CLAUDE_PS,
    ),
    vote(
        "is not recognized as a name of a cmdlet",
        Class(C::DependencyFailure),
        0.9,
        CLAUDE_PS,
    ),
    vote(
        "commandnotfoundexception",
        Class(C::DependencyFailure),
        0.9,
        CLAUDE_PS,
    ),
    vote(
        "run without arguments to install from the microsoft store",
        Class(C::DependencyFailure),
        0.9,
        CLAUDE_PS,
    ),
    vote(
        "module could not be loaded",
        Class(C::DependencyFailure),
        0.85,
        CLAUDE_PS,
    ),
    vote("cannot find path", Class(C::NotFound), 0.85, CLAUDE_PS),
    vote("itemnotfoundexception", Class(C::NotFound), 0.85, CLAUDE_PS),
    vote(
        "pathnotfound,microsoft.powershell",
        Class(C::NotFound),
        0.85,
        CLAUDE_PS,
    ),
    vote(
        "drivenotfoundexception",
        Class(C::NotFound),
        0.85,
        CLAUDE_PS,
    ),
    vote(
        "the system cannot find the file specified",
        Class(C::NotFound),
        0.85,
        CLAUDE_PS,
    ),
    vote(
        "the system cannot find the path specified",
        Class(C::NotFound),
        0.85,
        CLAUDE_PS,
    ),
    vote(
        "unauthorizedaccessexception",
        Class(C::PermissionDenied),
        0.85,
        CLAUDE_PS,
    ),
    vote(
        "permissiondenied,microsoft.powershell",
        Class(C::PermissionDenied),
        0.85,
        CLAUDE_PS,
    ),
    vote(
        "running scripts is disabled on this system",
        Class(C::PermissionDenied),
        0.85,
        CLAUDE_PS,
    ),
    vote(
        "pssecurityexception",
        Class(C::PermissionDenied),
        0.85,
        CLAUDE_PS,
    ),
    vote(
        "parameterbindingexception",
        Class(C::InvalidInput),
        0.85,
        CLAUDE_PS,
    ),
    vote(
        "a parameter cannot be found that matches parameter name",
        Class(C::InvalidInput),
        0.85,
        CLAUDE_PS,
    ),
    vote(
        "parameterargumentvalidationerror",
        Class(C::InvalidInput),
        0.85,
        CLAUDE_PS,
    ),
    vote(
        "the syntax of the command is incorrect",
        Class(C::InvalidInput),
        0.8,
        CLAUDE_PS,
    ),
    vote("parsererror:", CodeError, 0.75, CLAUDE_PS),
    vote("parseexception", CodeError, 0.75, CLAUDE_PS),
];

// Sources of structural signals.
const ERRNO: &str = "POSIX errno names (Linux include/uapi/asm-generic/errno-base.h, errno.h)";
const ERRNO_TEXT: &str =
    "strerror() texts (glibc; Bun's table in claude-code@2.1.328; Rust io::Error in codex@0.169.0)";
const PY_OSERROR: &str = "CPython OSError subclasses (PEP 3151)";
const JSONRPC: &str = "JSON-RPC 2.0 specification §5.1 (error codes)";
const MCP_SDK: &str =
    "modelcontextprotocol/typescript-sdk src/types.ts ErrorCode (bundled in claude-code@2.1.328)";
const MCP_SPEC: &str = "MCP specification 2025-06-18 server/resources (error -32002)";
const MCP_HTTP: &str = "modelcontextprotocol/typescript-sdk src/server/streamableHttp.ts, src/client/sse.ts, src/client/streamableHttp.ts (bundled in claude-code@2.1.328)";
const HTTP: &str = "RFC 9110 §15 (status codes)";
const SIGNALS: &str = "signal(7) (Linux)";
const ZOD: &str = "zod v3/v4 issue messages (bundled in claude-code@2.1.328 and opencode@1.18.33)";
const AJV: &str =
    "ajv lib/vocabularies error messages (bundled in gemini-cli@0.61.0 chunk-5FZXKDXH.js)";
const JSONSCHEMA_PY: &str = "python-jsonschema jsonschema/_keywords.py";
const PYDANTIC: &str = "pydantic-core v2 validation messages (Python MCP servers, FastMCP)";
const SERDE: &str = "serde / serde_json de::Error messages (in codex@0.169.0 binary)";
const NODE: &str = "Node.js errors (lib/internal/errors.js codes)";

/// Signals that do not depend on a harness's wording.
pub const STRUCTURAL: &[Message] = &[
    // ------------------------------------------------------------------- errno names
    vote("enoent", Class(C::NotFound), 0.85, ERRNO),
    vote("eacces", Class(C::PermissionDenied), 0.85, ERRNO),
    vote("eperm", Class(C::PermissionDenied), 0.85, ERRNO),
    vote("erofs", Class(C::PermissionDenied), 0.85, ERRNO),
    vote("eisdir", Class(C::InvalidInput), 0.85, ERRNO),
    vote("enotdir", Class(C::InvalidInput), 0.8, ERRNO),
    vote("enametoolong", Class(C::InvalidInput), 0.8, ERRNO),
    vote("e2big", Class(C::InvalidInput), 0.8, ERRNO),
    vote("einval", Class(C::InvalidInput), 0.8, ERRNO),
    vote("eexist", Refusal, 0.6, ERRNO),
    vote("enotempty", Refusal, 0.6, ERRNO),
    // `oom` is the class of exhausted resources: memory, disk space, file descriptors.
    vote("enomem", Class(C::Oom), 0.85, ERRNO),
    vote("enospc", Class(C::Oom), 0.7, ERRNO),
    vote("emfile", Class(C::Oom), 0.7, ERRNO),
    vote("enfile", Class(C::Oom), 0.7, ERRNO),
    vote("etimedout", Class(C::Timeout), 0.85, ERRNO),
    vote("econnrefused", Class(C::ConnectionRefused), 0.85, ERRNO),
    vote("econnreset", Class(C::NetworkError), 0.8, ERRNO),
    vote("econnaborted", Class(C::NetworkError), 0.8, ERRNO),
    vote("epipe", Class(C::NetworkError), 0.8, ERRNO),
    vote("enetunreach", Class(C::NetworkError), 0.8, ERRNO),
    vote("ehostunreach", Class(C::NetworkError), 0.8, ERRNO),
    vote("enotfound", Class(C::NetworkError), 0.8, NODE),
    vote("eai_again", Class(C::NetworkError), 0.8, NODE),
    vote(
        "err_module_not_found",
        Class(C::DependencyFailure),
        0.9,
        NODE,
    ),
    // ------------------------------------------------------------ errno texts
    vote("is a directory", Class(C::InvalidInput), 0.8, ERRNO_TEXT),
    vote("not a directory", Class(C::InvalidInput), 0.8, ERRNO_TEXT),
    vote("no space left on device", Class(C::Oom), 0.7, GEMINI_FS),
    vote("too many open files", Class(C::Oom), 0.7, GEMINI_FS),
    vote("os error 2", Class(C::NotFound), 0.85, ERRNO_TEXT),
    vote("os error 13", Class(C::PermissionDenied), 0.85, ERRNO_TEXT),
    vote("os error 21", Class(C::InvalidInput), 0.85, ERRNO_TEXT),
    vote(
        "os error 111",
        Class(C::ConnectionRefused),
        0.85,
        ERRNO_TEXT,
    ),
    vote(
        "isadirectoryerror",
        Class(C::InvalidInput),
        0.85,
        PY_OSERROR,
    ),
    vote(
        "notadirectoryerror",
        Class(C::InvalidInput),
        0.8,
        PY_OSERROR,
    ),
    vote(
        "permissionerror",
        Class(C::PermissionDenied),
        0.85,
        PY_OSERROR,
    ),
    vote("filenotfounderror", Class(C::NotFound), 0.85, PY_OSERROR),
    vote("fileexistserror", Refusal, 0.6, PY_OSERROR),
    vote(
        "connectionrefusederror",
        Class(C::ConnectionRefused),
        0.85,
        PY_OSERROR,
    ),
    vote(
        "connectionreseterror",
        Class(C::NetworkError),
        0.8,
        PY_OSERROR,
    ),
    // ------------------------------------------------------- JSON-RPC and MCP codes
    vote("-32700", Class(C::InvalidInput), 0.6, JSONRPC),
    vote("-32600", Class(C::InvalidInput), 0.7, JSONRPC),
    vote("-32601", Class(C::NotFound), 0.7, JSONRPC),
    vote("-32602", Class(C::InvalidInput), 0.85, JSONRPC),
    vote("-32603", Class(C::ToolError), 0.5, JSONRPC),
    vote("-32001", Class(C::Timeout), 0.55, MCP_SDK),
    vote("-32002", Class(C::NotFound), 0.7, MCP_SPEC),
    vote("session not found", Class(C::NetworkError), 0.7, MCP_HTTP),
    vote("sse error", Class(C::NetworkError), 0.75, MCP_HTTP),
    vote(
        "streamable http error",
        Class(C::NetworkError),
        0.75,
        MCP_HTTP,
    ),
    vote(
        "error posting to endpoint",
        Class(C::NetworkError),
        0.75,
        MCP_HTTP,
    ),
    // ----------------------------------------------------------------- HTTP statuses
    vote("400", Class(C::InvalidInput), 0.55, HTTP),
    vote("401", Class(C::PermissionDenied), 0.6, HTTP),
    vote("403", Class(C::PermissionDenied), 0.6, HTTP),
    vote("404", Class(C::NotFound), 0.6, HTTP),
    vote("408", Class(C::Timeout), 0.6, HTTP),
    vote("410", Class(C::NotFound), 0.6, HTTP),
    vote("422", Class(C::InvalidInput), 0.55, HTTP),
    vote("429", Class(C::RateLimited), 0.8, HTTP),
    vote("500", Class(C::ToolError), 0.5, HTTP),
    vote("502", Class(C::ServerCrashed), 0.6, HTTP),
    vote("503", Class(C::DependencyFailure), 0.55, HTTP),
    vote("504", Class(C::Timeout), 0.6, HTTP),
    vote("method not allowed", Class(C::InvalidInput), 0.7, HTTP),
    vote("payload too large", Class(C::InvalidInput), 0.75, HTTP),
    vote(
        "request entity too large",
        Class(C::InvalidInput),
        0.75,
        HTTP,
    ),
    vote("precondition failed", Class(C::StaleState), 0.6, HTTP),
    // ----------------------------------------------------------------------- signals
    vote("sigsegv", Class(C::ServerCrashed), 0.85, SIGNALS),
    vote("sigabrt", Class(C::ServerCrashed), 0.85, SIGNALS),
    vote("sigbus", Class(C::ServerCrashed), 0.85, SIGNALS),
    vote("sigill", Class(C::ServerCrashed), 0.85, SIGNALS),
    vote(
        "illegal instruction",
        Class(C::ServerCrashed),
        0.85,
        SIGNALS,
    ),
    vote(
        "bus error (core dumped)",
        Class(C::ServerCrashed),
        0.85,
        SIGNALS,
    ),
    vote("sigkill", Class(C::Oom), 0.55, SIGNALS),
    // ------------------------------------------------- JSON-schema and input validators
    vote(
        "expected string, received",
        Class(C::InvalidInput),
        0.85,
        ZOD,
    ),
    vote(
        "expected number, received",
        Class(C::InvalidInput),
        0.85,
        ZOD,
    ),
    vote(
        "expected boolean, received",
        Class(C::InvalidInput),
        0.85,
        ZOD,
    ),
    vote(
        "expected object, received",
        Class(C::InvalidInput),
        0.85,
        ZOD,
    ),
    vote(
        "expected array, received",
        Class(C::InvalidInput),
        0.85,
        ZOD,
    ),
    vote("invalid input: expected", Class(C::InvalidInput), 0.85, ZOD),
    vote("invalid_type", Class(C::InvalidInput), 0.8, ZOD),
    vote("invalid arguments", Class(C::InvalidInput), 0.85, MCP_SDK),
    vote(
        "must have required property",
        Class(C::InvalidInput),
        0.85,
        AJV,
    ),
    vote(
        "must not have additional properties",
        Class(C::InvalidInput),
        0.85,
        AJV,
    ),
    vote(
        "is a required property",
        Class(C::InvalidInput),
        0.85,
        JSONSCHEMA_PY,
    ),
    vote(
        "additional properties are not allowed",
        Class(C::InvalidInput),
        0.85,
        JSONSCHEMA_PY,
    ),
    vote(
        "is not of type",
        Class(C::InvalidInput),
        0.85,
        JSONSCHEMA_PY,
    ),
    vote("field required", Class(C::InvalidInput), 0.8, PYDANTIC),
    vote(
        "input should be a valid",
        Class(C::InvalidInput),
        0.8,
        PYDANTIC,
    ),
    vote("missing field `", Class(C::InvalidInput), 0.8, SERDE),
    vote("unknown field `", Class(C::InvalidInput), 0.8, SERDE),
    vote("unknown variant `", Class(C::InvalidInput), 0.8, SERDE),
    vote("invalid type: ", Class(C::InvalidInput), 0.8, SERDE),
];

/// Error types a harness records beside a failed call, matched exactly (lower case):
/// (type, class, weight, source). Generic types carry the weight of generic evidence (0.5).
pub const RECORDED_TYPES: &[(&str, C, f64, &str)] = &[
    ("invalid_tool_params", C::InvalidInput, 0.9, GEMINI_ERRORS),
    ("tool_not_registered", C::InvalidInput, 0.9, GEMINI_ERRORS),
    ("file_not_found", C::NotFound, 0.9, GEMINI_ERRORS),
    ("search_path_not_found", C::NotFound, 0.9, GEMINI_ERRORS),
    ("mcp_resource_not_found", C::NotFound, 0.9, GEMINI_ERRORS),
    ("permission_denied", C::PermissionDenied, 0.9, GEMINI_ERRORS),
    (
        "path_not_in_workspace",
        C::PermissionDenied,
        0.9,
        GEMINI_ERRORS,
    ),
    ("policy_violation", C::PermissionDenied, 0.9, GEMINI_ERRORS),
    ("target_is_directory", C::InvalidInput, 0.9, GEMINI_ERRORS),
    (
        "search_path_not_a_directory",
        C::InvalidInput,
        0.9,
        GEMINI_ERRORS,
    ),
    (
        "path_is_not_a_directory",
        C::InvalidInput,
        0.9,
        GEMINI_ERRORS,
    ),
    ("file_too_large", C::InvalidInput, 0.9, GEMINI_ERRORS),
    ("edit_no_change", C::InvalidInput, 0.9, GEMINI_ERRORS),
    (
        "edit_expected_occurrence_mismatch",
        C::InvalidInput,
        0.9,
        GEMINI_ERRORS,
    ),
    (
        "web_fetch_no_url_in_prompt",
        C::InvalidInput,
        0.9,
        GEMINI_ERRORS,
    ),
    (
        "edit_no_occurrence_found",
        C::StaleState,
        0.9,
        GEMINI_ERRORS,
    ),
    (
        "edit_no_change_llm_judgement",
        C::StaleState,
        0.9,
        GEMINI_ERRORS,
    ),
    (
        "attempt_to_create_existing_file",
        C::StaleState,
        0.9,
        GEMINI_ERRORS,
    ),
    ("no_space_left", C::Oom, 0.9, GEMINI_ERRORS),
    ("shell_execute_error", C::ToolError, 0.5, GEMINI_ERRORS),
    ("execution_failed", C::ToolError, 0.5, GEMINI_ERRORS),
    ("unhandled_exception", C::ToolError, 0.5, GEMINI_ERRORS),
    ("mcp_tool_error", C::ToolError, 0.5, GEMINI_ERRORS),
    ("file_write_failure", C::ToolError, 0.5, GEMINI_ERRORS),
    ("read_content_failure", C::ToolError, 0.5, GEMINI_ERRORS),
    ("edit_preparation_failure", C::ToolError, 0.5, GEMINI_ERRORS),
    (
        "discovered_tool_execution_error",
        C::ToolError,
        0.5,
        GEMINI_ERRORS,
    ),
    (
        "web_fetch_processing_error",
        C::ToolError,
        0.5,
        GEMINI_ERRORS,
    ),
    (
        "web_fetch_fallback_failed",
        C::ToolError,
        0.5,
        GEMINI_ERRORS,
    ),
    ("web_search_failed", C::ToolError, 0.5, GEMINI_ERRORS),
];

/// Exit statuses of shell tools and what they mean: (status, class, weight, source). Any
/// non-zero status also votes `command_failed` (0.5); 130 (SIGINT) makes the call cancelled.
pub const SHELL_EXIT_CODES: &[(i64, C, f64, &str)] = &[
    (
        127,
        C::DependencyFailure,
        0.8,
        "POSIX sh: command not found (XCU 2.8.2)",
    ),
    (
        126,
        C::PermissionDenied,
        0.6,
        "POSIX sh: found but not executable (XCU 2.8.2)",
    ),
    (
        124,
        C::Timeout,
        0.7,
        "GNU coreutils timeout(1): the command timed out",
    ),
    (
        137,
        C::Oom,
        0.55,
        "signal(7): 128 + SIGKILL (the OOM killer's signal)",
    ),
    (139, C::ServerCrashed, 0.7, "signal(7): 128 + SIGSEGV"),
    (134, C::ServerCrashed, 0.6, "signal(7): 128 + SIGABRT"),
    (9009, C::DependencyFailure, 0.8, CLAUDE_PS),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_cites_a_source_and_is_lower_case() {
        for m in HARNESS_MESSAGES.iter().chain(STRUCTURAL) {
            assert!(!m.source.trim().is_empty(), "{m:?}");
            assert_eq!(m.phrase, m.phrase.to_lowercase(), "{m:?}");
            if let Meaning::Vote(_, w) = m.meaning {
                assert!(w > 0.0 && w < 1.0, "{m:?}");
            }
        }
        for (t, _, w, source) in RECORDED_TYPES {
            assert!(!source.is_empty() && *w > 0.0 && *w < 1.0, "{t}");
        }
    }
}
