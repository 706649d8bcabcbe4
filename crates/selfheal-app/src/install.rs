//! `self-heal install <harness>` / `uninstall`: registers the one fixed hook command (and, for
//! Claude Code at project scope, the MCP server in `.mcp.json`) in the harness's settings,
//! planned by `selfheal_harness::install` and written with the checked writer of
//! `harness_files`. Installing twice changes nothing; uninstalling removes only our entries
//! (a settings file left as an empty object is removed).

use std::path::{Path, PathBuf};

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstRootNode};
use schemars::JsonSchema;
use selfheal_harness::{Harness, Scope, install};
use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::harness_files::{self, FileChange, Planned};

/// The MCP server's name in `.mcp.json`.
pub const SERVER_NAME: &str = "self-healing";

/// What an install or uninstall does (planned) or did (written).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct InstallView {
    pub harness: Harness,
    pub scope: Scope,
    /// The project, or the home for user scope.
    pub root: String,
    /// The hook command registered (fixed: lessons change data it reads, never it).
    pub hook_command: String,
    /// Files to write (a preview) — empty when everything is in place already.
    pub planned: Vec<Planned>,
    /// Files written (after confirmation).
    pub written: Vec<FileChange>,
}

/// The writes that install (`remove == false`) or uninstall our hook for `harness` under
/// `root`, and for Claude Code at project scope the MCP server `server` (when it exists).
pub fn plan(
    harness: Harness,
    root: &Path,
    scope: Scope,
    hook_command: &str,
    server: Option<(&Path, &Path)>,
    remove: bool,
) -> Result<Vec<Planned>, AppError> {
    if !root.is_dir() {
        return Err(AppError::InvalidInput(format!(
            "{} is not a directory; pass --project with an existing project, or --user",
            root.display()
        )));
    }
    let mut out = Vec::new();
    let Some(settings) = selfheal_harness::hook_settings_path(harness, root, scope) else {
        return Err(AppError::InvalidInput(format!(
            "{} reads hooks from a repository only (.github/hooks); install it with --project DIR",
            harness.as_str()
        )));
    };
    let shown = settings.display().to_string();
    let before = harness_files::read_target(root, &settings)?;
    let after = match (&before, remove) {
        (_, false) => Some(
            install::install(harness, before.as_deref(), hook_command, &shown)
                .map_err(|e| AppError::InvalidInput(e.to_string()))?,
        ),
        (None, true) => None,
        (Some(text), true) => {
            let t = install::uninstall(harness, text, hook_command, &shown)
                .map_err(|e| AppError::InvalidInput(e.to_string()))?;
            (!is_empty_settings(&t)).then_some(t)
        }
    };
    if before.is_some() || after.is_some() {
        out.push(harness_files::plan(
            &settings,
            "settings",
            before.as_deref(),
            after,
            String::new(),
        ));
    }
    if let (Harness::ClaudeCode, Scope::Project, Some((server, db))) = (harness, scope, server) {
        let path = root.join(".mcp.json");
        let before = harness_files::read_target(root, &path)?;
        let after = mcp_json(
            before.as_deref(),
            server,
            db,
            remove,
            &path.display().to_string(),
        )?;
        if before.is_some() || after.is_some() {
            out.push(harness_files::plan(
                &path,
                "settings",
                before.as_deref(),
                after,
                String::new(),
            ));
        }
    }
    out.retain(|p| !p.diff.is_empty());
    Ok(out)
}

fn is_empty_settings(text: &str) -> bool {
    let trimmed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    trimmed.is_empty() || trimmed == "{}"
}

/// `.mcp.json` with (or without) our server entry.
fn mcp_json(
    before: Option<&str>,
    server: &Path,
    db: &Path,
    remove: bool,
    shown: &str,
) -> Result<Option<String>, AppError> {
    let source = before.filter(|t| !t.trim().is_empty()).unwrap_or("{}\n");
    let root = CstRootNode::parse(source, &ParseOptions::default()).map_err(|e| {
        AppError::InvalidInput(format!(
            "{shown}: not valid JSON at line {}, column {}: {}; fix the file first (it was left untouched)",
            e.line_display(),
            e.column_display(),
            e.kind()
        ))
    })?;
    let Some(obj) = root.object_value() else {
        return Err(AppError::InvalidInput(format!(
            "{shown}: the top-level value is not an object; fix the file first (it was left untouched)"
        )));
    };
    if remove {
        let Some(servers) = obj.object_value("mcpServers") else {
            return Ok(before.map(str::to_string));
        };
        if let Some(p) = servers.get(SERVER_NAME) {
            p.remove();
        }
        if servers.properties().is_empty()
            && let Some(p) = obj.get("mcpServers")
        {
            p.remove();
        }
        let t = root.to_string();
        return Ok((!is_empty_settings(&t)).then_some(t));
    }
    if obj.get("mcpServers").is_some() && obj.object_value("mcpServers").is_none() {
        return Err(AppError::InvalidInput(format!(
            "{shown}: `mcpServers` is not an object; fix the file first (it was left untouched)"
        )));
    }
    let servers = obj.object_value_or_set("mcpServers");
    if servers.get(SERVER_NAME).is_some() {
        return Ok(before.map(str::to_string));
    }
    servers.append(
        SERVER_NAME,
        CstInputValue::Object(vec![
            (
                "command".into(),
                CstInputValue::String(server.display().to_string()),
            ),
            (
                "env".into(),
                CstInputValue::Object(vec![(
                    "DATABASE_PATH".into(),
                    CstInputValue::String(db.display().to_string()),
                )]),
            ),
        ]),
    );
    Ok(Some(root.to_string()))
}

/// Writes the planned files (after confirmation).
pub fn write(planned: &[Planned], db: &Path) -> Result<Vec<FileChange>, AppError> {
    crate::lessons::write_all(planned, &harness_files::backup_dir(db))
}

/// The root of a scope: the project given, or the home.
pub fn root_of(project: Option<PathBuf>) -> Result<(PathBuf, Scope), AppError> {
    match project {
        Some(p) => {
            let p = std::fs::canonicalize(&p).map_err(|e| {
                AppError::InvalidInput(format!(
                    "project {}: {e}",
                    crate::sanitize::echo(&p.display().to_string())
                ))
            })?;
            Ok((p, Scope::Project))
        }
        None => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| (PathBuf::from(h), Scope::User))
            .ok_or_else(|| AppError::InvalidInput("HOME is not set; pass --project DIR".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_twice_then_uninstall_restores_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let settings = root.join(".claude/settings.json");
        std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
        let mine = "{\n  // keep me\n  \"model\": \"opus\"\n}\n";
        std::fs::write(&settings, mine).unwrap();
        let server = root.join("self-healing-mcp");
        let db = root.join("h.db");
        let cmd = install::hook_command("/bin/self-heal", &db.display().to_string());
        let p = plan(
            Harness::ClaudeCode,
            &root,
            Scope::Project,
            &cmd,
            Some((&server, &db)),
            false,
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        write(&p, &root).unwrap();
        assert!(
            std::fs::read_to_string(&settings)
                .unwrap()
                .contains("// keep me")
        );
        let mcp: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root.join(".mcp.json")).unwrap())
                .unwrap();
        assert_eq!(
            mcp["mcpServers"][SERVER_NAME]["env"]["DATABASE_PATH"],
            db.display().to_string()
        );
        assert!(
            plan(
                Harness::ClaudeCode,
                &root,
                Scope::Project,
                &cmd,
                Some((&server, &db)),
                false
            )
            .unwrap()
            .is_empty()
        );
        let u = plan(
            Harness::ClaudeCode,
            &root,
            Scope::Project,
            &cmd,
            Some((&server, &db)),
            true,
        )
        .unwrap();
        write(&u, &root).unwrap();
        assert_eq!(std::fs::read_to_string(&settings).unwrap(), mine);
        assert!(!root.join(".mcp.json").exists());
    }
}
