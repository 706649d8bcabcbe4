//! What each agent harness reads, and pure plans of the edits that put a lesson there.
//!
//! A fix that no harness reads heals nothing. Each harness reads instructions when a session
//! starts (Claude Code `.claude/rules/*.md`, Codex `AGENTS.md`, Gemini CLI `GEMINI.md`) and runs
//! hooks around tool calls whose `additionalContext` answer reaches the model. This crate knows
//! those places and formats — paths ([`targets`]), managed blocks ([`block`]), hook registration
//! ([`install`]) — and only *plans* edits: text in, text out. Writing (atomic, backed up,
//! confirmed) is the app's job.
//!
//! Hooks are installed once with one fixed command (`self-heal --db DB hook`); applying or
//! rolling back a lesson changes data that hook reads, never the hook, so no harness asks a
//! person to approve a hook again.

pub mod block;
pub mod hook_input;
pub mod install;

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An agent harness whose files we know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Harness {
    ClaudeCode,
    Codex,
    Gemini,
    #[serde(rename = "opencode")]
    OpenCode,
    Copilot,
}

impl Harness {
    pub const ALL: [Harness; 5] = [
        Harness::ClaudeCode,
        Harness::Codex,
        Harness::Gemini,
        Harness::OpenCode,
        Harness::Copilot,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Harness::ClaudeCode => "claude-code",
            Harness::Codex => "codex",
            Harness::Gemini => "gemini",
            Harness::OpenCode => "opencode",
            Harness::Copilot => "copilot",
        }
    }

    /// The harness named on a command line (`claude-code`, `claude`, `codex`, `gemini`,
    /// `gemini-cli`, `opencode`, `copilot`, `copilot-cli`).
    pub fn parse(name: &str) -> Option<Harness> {
        match name.trim().to_ascii_lowercase().as_str() {
            "claude-code" | "claude" => Some(Harness::ClaudeCode),
            "codex" => Some(Harness::Codex),
            "gemini" | "gemini-cli" => Some(Harness::Gemini),
            "opencode" => Some(Harness::OpenCode),
            "copilot" | "copilot-cli" => Some(Harness::Copilot),
            _ => None,
        }
    }

    /// The harness that wrote an imported run (`metadata.source_format`).
    pub fn of_source_format(format: &str) -> Option<Harness> {
        match format {
            "claude-code" => Some(Harness::ClaudeCode),
            "codex" => Some(Harness::Codex),
            "gemini-cli" => Some(Harness::Gemini),
            "opencode" => Some(Harness::OpenCode),
            "copilot-cli" => Some(Harness::Copilot),
            _ => None,
        }
    }
}

/// Where a target lives: in a project, or in the user's home for every project.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Project,
    User,
}

/// What a target is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// An instruction file read at session start: the lesson is written there.
    Instructions,
    /// The installed hook answers matching calls with the lesson (no file is written at
    /// apply: the hook reads applied lessons from the database).
    Guidance,
}

/// One place a lesson reaches the agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    pub harness: Harness,
    pub kind: TargetKind,
    /// The file: written at apply (instructions), or the settings that register the hook
    /// (guidance, written by `self-heal install`).
    pub path: String,
    pub scope: Scope,
    /// How the lesson is held there.
    pub how: String,
}

/// The instruction file of `harness` under `root` (the project, or the home for user scope).
pub fn instructions_path(harness: Harness, root: &Path, scope: Scope) -> PathBuf {
    match (harness, scope) {
        (Harness::ClaudeCode, _) => root.join(".claude/rules/self-healing.md"),
        (Harness::Codex, Scope::Project) => root.join("AGENTS.md"),
        (Harness::Codex, Scope::User) => root.join(".codex/AGENTS.md"),
        (Harness::Gemini, Scope::Project) => root.join("GEMINI.md"),
        (Harness::Gemini, Scope::User) => root.join(".gemini/GEMINI.md"),
        // AGENTS.md is also Codex's: one managed block there serves both (and Copilot CLI).
        (Harness::OpenCode, Scope::Project) => root.join("AGENTS.md"),
        (Harness::OpenCode, Scope::User) => root.join(".config/opencode/AGENTS.md"),
        (Harness::Copilot, Scope::Project) => root.join("AGENTS.md"),
        (Harness::Copilot, Scope::User) => root.join(".copilot/copilot-instructions.md"),
    }
}

/// The file that registers our hook for `harness` under `root`: a settings file we add an
/// entry to, or (OpenCode, Copilot CLI) a file of ours. `None`: the harness reads no such
/// file at that scope (Copilot CLI reads hooks from the repository only).
pub fn hook_settings_path(harness: Harness, root: &Path, scope: Scope) -> Option<PathBuf> {
    Some(match (harness, scope) {
        (Harness::ClaudeCode, _) => root.join(".claude/settings.json"),
        (Harness::Codex, _) => root.join(".codex/config.toml"),
        (Harness::Gemini, _) => root.join(".gemini/settings.json"),
        (Harness::OpenCode, Scope::Project) => root.join(".opencode/plugin/self-heal.js"),
        (Harness::OpenCode, Scope::User) => root.join(".config/opencode/plugin/self-heal.js"),
        (Harness::Copilot, Scope::Project) => root.join(".github/hooks/self-heal.json"),
        (Harness::Copilot, Scope::User) => return None,
    })
}

/// Whether the hook file is ours alone (written whole, removed whole) rather than a
/// person's settings holding our entry.
pub fn owns_hook_file(harness: Harness) -> bool {
    matches!(harness, Harness::OpenCode | Harness::Copilot)
}

/// Whether the instruction file is ours alone (Claude Code reads every file of
/// `.claude/rules/`, so we own one) rather than a person's file holding our managed block.
pub fn owns_instructions_file(harness: Harness) -> bool {
    harness == Harness::ClaudeCode
}

/// The targets of a lesson for `harness` under `root`.
pub fn targets(harness: Harness, root: &Path, scope: Scope) -> Vec<Target> {
    let instructions = instructions_path(harness, root, scope);
    let how = if owns_instructions_file(harness) {
        "a file of ours, read at session start; one managed block per lesson".to_string()
    } else {
        format!(
            "a managed block in {}, read at session start",
            instructions
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        )
    };
    let mut out = vec![Target {
        harness,
        kind: TargetKind::Instructions,
        path: instructions.display().to_string(),
        scope,
        how,
    }];
    if let Some(hook) = hook_settings_path(harness, root, scope) {
        out.push(Target {
            harness,
            kind: TargetKind::Guidance,
            path: hook.display().to_string(),
            scope,
            how: format!(
                "the installed `self-heal hook` answers a matching call's {} with the lesson as additionalContext (`self-heal install {}`)",
                match harness {
                    Harness::ClaudeCode => "PreToolUse and PostToolUseFailure",
                    Harness::Codex => "PreToolUse and PostToolUse",
                    Harness::Gemini => "AfterTool",
                    Harness::OpenCode => "tool.execute.after (a plugin of ours)",
                    Harness::Copilot => "preToolUse and postToolUseFailure",
                },
                harness.as_str()
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_harness_reads_its_own_file() {
        let root = Path::new("/w/app");
        let got: Vec<_> = Harness::ALL
            .iter()
            .map(|h| {
                instructions_path(*h, root, Scope::Project)
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            got,
            [
                "/w/app/.claude/rules/self-healing.md",
                "/w/app/AGENTS.md",
                "/w/app/GEMINI.md",
                "/w/app/AGENTS.md",
                "/w/app/AGENTS.md"
            ]
        );
        assert_eq!(
            instructions_path(Harness::Gemini, Path::new("/h"), Scope::User),
            Path::new("/h/.gemini/GEMINI.md")
        );
        for h in Harness::ALL {
            assert_eq!(Harness::parse(h.as_str()), Some(h));
            assert_eq!(targets(h, root, Scope::Project).len(), 2);
        }
        assert_eq!(
            Harness::of_source_format("gemini-cli"),
            Some(Harness::Gemini)
        );
        assert_eq!(Harness::parse("vim"), None);
    }
}
