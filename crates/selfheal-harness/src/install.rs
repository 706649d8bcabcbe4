//! Hook registration: plans of the edit of a harness's settings that installs (or removes) the
//! one fixed hook command, format-preserving.
//!
//! - Claude Code, `.claude/settings.json` (JSON): `hooks.<Event>[] = {matcher?, hooks: [{type:
//!   "command", command}]}` for the events the recorder maps (session start and end, prompts,
//!   tool calls before and after, failures, stops). PreToolUse and PostToolUseFailure also
//!   answer with guidance.
//! - Gemini CLI, `.gemini/settings.json` (JSON with comments): `hooks.AfterTool[] = {matcher,
//!   hooks: [{name, type, command, timeout (ms)}]}`.
//! - Codex CLI, `.codex/config.toml`: `[[hooks.PostToolUse]] matcher`, `[[hooks.PostToolUse.hooks]]
//!   type, command, timeout (s)`.
//!
//! JSON is edited through a concrete syntax tree (`jsonc-parser`), TOML through `toml_edit`:
//! comments, order and spacing elsewhere stay as they were. Installing twice changes nothing;
//! uninstalling removes only entries whose command is ours.

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstRootNode};
use thiserror::Error;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

use crate::Harness;

/// A settings file we cannot edit safely: left untouched.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error(
        "{path}: not valid {format} at line {line}, column {column}: {message}; fix the file first (it was left untouched)"
    )]
    Syntax {
        path: String,
        format: &'static str,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {what} is not {expected}; fix the file first (it was left untouched)")]
    Shape {
        path: String,
        what: String,
        expected: &'static str,
    },
}

/// The hook command: `'<cli>' --db '<db>' hook`, each path single-quoted for the shell.
pub fn hook_command(cli: &str, db: &str) -> String {
    format!("{} --db {} hook", shell_quote(cli), shell_quote(db))
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Claude Code events the hook is registered for, with their matcher.
const CLAUDE_EVENTS: [(&str, Option<&str>); 7] = [
    ("SessionStart", None),
    ("UserPromptSubmit", None),
    ("PreToolUse", Some("*")),
    ("PostToolUse", Some("*")),
    ("PostToolUseFailure", Some("*")),
    ("Stop", None),
    ("SessionEnd", None),
];

/// The settings text with our hook registered (`text`: the file's content, `None` when it
/// does not exist). Unchanged when it is registered already.
pub fn install(
    harness: Harness,
    text: Option<&str>,
    command: &str,
    path: &str,
) -> Result<String, SettingsError> {
    match harness {
        Harness::ClaudeCode => edit_json(text, path, |hooks| {
            let mut changed = false;
            for (event, matcher) in CLAUDE_EVENTS {
                let mut entry = Vec::new();
                if let Some(m) = matcher {
                    entry.push(("matcher".to_string(), CstInputValue::String(m.into())));
                }
                entry.push((
                    "hooks".to_string(),
                    CstInputValue::Array(vec![CstInputValue::Object(vec![
                        ("type".into(), CstInputValue::String("command".into())),
                        ("command".into(), CstInputValue::String(command.into())),
                    ])]),
                ));
                changed |= add_entry(hooks, event, command, entry, path)?;
            }
            Ok(changed)
        }),
        Harness::Gemini => edit_json(text, path, |hooks| {
            let entry = vec![
                ("matcher".to_string(), CstInputValue::String(".*".into())),
                (
                    "hooks".to_string(),
                    CstInputValue::Array(vec![CstInputValue::Object(vec![
                        ("name".into(), CstInputValue::String("self-heal".into())),
                        ("type".into(), CstInputValue::String("command".into())),
                        ("command".into(), CstInputValue::String(command.into())),
                        ("timeout".into(), CstInputValue::Number("5000".into())),
                    ])]),
                ),
            ];
            add_entry(hooks, "AfterTool", command, entry, path)
        }),
        Harness::Codex => edit_toml(text, path, |post| {
            if toml_has_command(post, command) {
                return;
            }
            let mut hook = Table::new();
            hook.insert("type", value("command"));
            hook.insert("command", value(command));
            hook.insert("timeout", value(5));
            let mut hooks = ArrayOfTables::new();
            hooks.push(hook);
            let mut entry = Table::new();
            entry.insert("matcher", value(".*"));
            entry.insert("hooks", Item::ArrayOfTables(hooks));
            post.push(entry);
        }),
    }
}

/// The settings text without our hook entries (those whose command is `command`); event
/// lists and a `hooks` table left empty by that are removed too.
pub fn uninstall(
    harness: Harness,
    text: &str,
    command: &str,
    path: &str,
) -> Result<String, SettingsError> {
    match harness {
        Harness::ClaudeCode | Harness::Gemini => {
            let root = parse_json(text, path)?;
            let Some(obj) = root.object_value() else {
                return Ok(text.to_string());
            };
            let Some(hooks) = obj.object_value("hooks") else {
                return Ok(text.to_string());
            };
            for prop in hooks.properties() {
                let Some(arr) = prop.array_value() else {
                    continue;
                };
                for el in arr.elements() {
                    if el
                        .to_serde_value()
                        .is_some_and(|v| json_has_command(&v, command))
                    {
                        el.remove();
                    }
                }
                if arr.elements().is_empty() {
                    prop.remove();
                }
            }
            if hooks.properties().is_empty()
                && let Some(p) = obj.get("hooks")
            {
                p.remove();
            }
            Ok(root.to_string())
        }
        Harness::Codex => {
            let mut doc = parse_toml(text, path)?;
            if let Some(hooks) = doc.get_mut("hooks").and_then(Item::as_table_mut) {
                if let Some(post) = hooks
                    .get_mut("PostToolUse")
                    .and_then(Item::as_array_of_tables_mut)
                {
                    post.retain(|t| !table_has_command(t, command));
                    if post.is_empty() {
                        hooks.remove("PostToolUse");
                    }
                }
                if hooks.is_empty() {
                    doc.remove("hooks");
                }
            }
            Ok(doc.to_string())
        }
    }
}

/// Whether `text` registers our hook for every event we install it for.
pub fn is_installed(harness: Harness, text: &str, command: &str) -> bool {
    install(harness, Some(text), command, "").is_ok_and(|t| t == text)
}

fn parse_json(text: &str, path: &str) -> Result<CstRootNode, SettingsError> {
    CstRootNode::parse(text, &ParseOptions::default()).map_err(|e| SettingsError::Syntax {
        path: path.to_string(),
        format: "JSON",
        line: e.line_display(),
        column: e.column_display(),
        message: e.kind().to_string(),
    })
}

fn parse_toml(text: &str, path: &str) -> Result<DocumentMut, SettingsError> {
    text.parse::<DocumentMut>().map_err(|e| {
        let (line, column) = e
            .span()
            .map(|s| line_column(text, s.start))
            .unwrap_or((1, 1));
        SettingsError::Syntax {
            path: path.to_string(),
            format: "TOML",
            line,
            column,
            message: e.message().to_string(),
        }
    })
}

fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn edit_json(
    text: Option<&str>,
    path: &str,
    edit: impl FnOnce(&jsonc_parser::cst::CstObject) -> Result<bool, SettingsError>,
) -> Result<String, SettingsError> {
    let original = text.unwrap_or("{}\n");
    let source = if original.trim().is_empty() {
        "{}\n"
    } else {
        original
    };
    let root = parse_json(source, path)?;
    if root.value().is_some() && root.object_value().is_none() {
        return Err(SettingsError::Shape {
            path: path.into(),
            what: "the top-level value".into(),
            expected: "an object",
        });
    }
    let obj = root.object_value_or_set();
    if obj.get("hooks").is_some() && obj.object_value("hooks").is_none() {
        return Err(SettingsError::Shape {
            path: path.into(),
            what: "`hooks`".into(),
            expected: "an object",
        });
    }
    let hooks = obj.object_value_or_set("hooks");
    if !edit(&hooks)? {
        // Already registered: the file stays exactly as it was.
        return Ok(original.to_string());
    }
    Ok(root.to_string())
}

fn add_entry(
    hooks: &jsonc_parser::cst::CstObject,
    event: &str,
    command: &str,
    entry: Vec<(String, CstInputValue)>,
    path: &str,
) -> Result<bool, SettingsError> {
    if hooks.get(event).is_some() && hooks.array_value(event).is_none() {
        return Err(SettingsError::Shape {
            path: path.into(),
            what: format!("`hooks.{event}`"),
            expected: "an array",
        });
    }
    let arr = hooks.array_value_or_set(event);
    let present = arr.elements().iter().any(|e| {
        e.to_serde_value()
            .is_some_and(|v| json_has_command(&v, command))
    });
    if !present {
        arr.append(CstInputValue::Object(entry));
    }
    Ok(!present)
}

fn json_has_command(entry: &serde_json::Value, command: &str) -> bool {
    entry
        .get("hooks")
        .and_then(|h| h.as_array())
        .is_some_and(|hs| {
            hs.iter()
                .any(|h| h.get("command").and_then(|c| c.as_str()) == Some(command))
        })
}

fn edit_toml(
    text: Option<&str>,
    path: &str,
    edit: impl FnOnce(&mut ArrayOfTables),
) -> Result<String, SettingsError> {
    let original = text.unwrap_or("");
    let mut doc = parse_toml(original, path)?;
    if doc.get("hooks").is_some_and(|h| !h.is_table()) {
        return Err(SettingsError::Shape {
            path: path.into(),
            what: "`hooks`".into(),
            expected: "a table",
        });
    }
    let hooks = doc
        .entry("hooks")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_mut();
    let Some(hooks) = hooks else {
        return Ok(original.to_string());
    };
    if hooks
        .get("PostToolUse")
        .is_some_and(|p| !p.is_array_of_tables())
    {
        return Err(SettingsError::Shape {
            path: path.into(),
            what: "`hooks.PostToolUse`".into(),
            expected: "an array of tables ([[hooks.PostToolUse]])",
        });
    }
    let post = hooks
        .entry("PostToolUse")
        .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()));
    if let Some(post) = post.as_array_of_tables_mut() {
        let before = post.len();
        edit(post);
        if post.len() == before {
            return Ok(original.to_string());
        }
    }
    Ok(doc.to_string())
}

fn toml_has_command(post: &ArrayOfTables, command: &str) -> bool {
    post.iter().any(|t| table_has_command(t, command))
}

fn table_has_command(entry: &Table, command: &str) -> bool {
    entry
        .get("hooks")
        .and_then(Item::as_array_of_tables)
        .is_some_and(|hs| {
            hs.iter()
                .any(|h| h.get("command").and_then(Item::as_str) == Some(command))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "'/opt/bin/self-heal' --db '/h/db.sqlite' hook";

    fn value_of(text: &str) -> serde_json::Value {
        parse_json(text, "t")
            .unwrap()
            .value()
            .and_then(|v| v.to_serde_value())
            .unwrap()
    }

    #[test]
    fn hook_commands_quote_paths() {
        assert_eq!(
            hook_command("/a b/self-heal", "/h/it's.db"),
            r"'/a b/self-heal' --db '/h/it'\''s.db' hook"
        );
    }

    #[test]
    fn claude_settings_keep_what_people_wrote() {
        let before = "{\n  // mine\n  \"model\": \"opus\",\n  \"hooks\": {\n    \"Stop\": [{\"hooks\": [{\"type\": \"command\", \"command\": \"say done\"}]}]\n  }\n}\n";
        let after = install(Harness::ClaudeCode, Some(before), CMD, "s").unwrap();
        assert!(after.contains("// mine") && after.contains("say done"));
        let v: serde_json::Value = value_of(&after);
        for (event, _) in CLAUDE_EVENTS {
            let entries = v["hooks"][event].as_array().unwrap();
            assert_eq!(
                entries.iter().filter(|e| json_has_command(e, CMD)).count(),
                1,
                "{event}"
            );
        }
        assert_eq!(v["hooks"]["PreToolUse"][0]["matcher"], "*");
        assert_eq!(v["hooks"]["Stop"].as_array().unwrap().len(), 2);
        // Twice: nothing changes.
        assert_eq!(
            install(Harness::ClaudeCode, Some(&after), CMD, "s").unwrap(),
            after
        );
        assert!(is_installed(Harness::ClaudeCode, &after, CMD));
        // Removing ours leaves theirs.
        let removed = uninstall(Harness::ClaudeCode, &after, CMD, "s").unwrap();
        let v: serde_json::Value = value_of(&removed);
        assert_eq!(v["hooks"].as_object().unwrap().len(), 1);
        assert!(removed.contains("// mine"));
    }

    #[test]
    fn new_settings_files_are_plain_json() {
        for h in [Harness::ClaudeCode, Harness::Gemini] {
            let t = install(h, None, CMD, "s").unwrap();
            let v: serde_json::Value = serde_json::from_str(&t).unwrap();
            assert!(v["hooks"].is_object(), "{t}");
            let gone = uninstall(h, &t, CMD, "s").unwrap();
            let v: serde_json::Value = serde_json::from_str(&gone).unwrap();
            assert_eq!(v, serde_json::json!({}));
        }
    }

    #[test]
    fn codex_config_gets_one_post_tool_use_hook() {
        let before = "model = \"m\" # mine\n\n[mcp_servers.x]\ncommand = \"x\"\n";
        let after = install(Harness::Codex, Some(before), CMD, "c").unwrap();
        assert!(after.starts_with(before), "{after}");
        let v: toml_edit::DocumentMut = after.parse().unwrap();
        assert_eq!(
            v["hooks"]["PostToolUse"]
                .as_array_of_tables()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            install(Harness::Codex, Some(&after), CMD, "c").unwrap(),
            after
        );
        assert_eq!(uninstall(Harness::Codex, &after, CMD, "c").unwrap(), before);
    }

    #[test]
    fn broken_settings_are_refused_with_a_position() {
        let err =
            install(Harness::ClaudeCode, Some("{\n  \"a\": ,\n}"), CMD, "s.json").unwrap_err();
        assert!(
            matches!(err, SettingsError::Syntax { line: 2, .. }),
            "{err}"
        );
        let err = install(Harness::Codex, Some("a = \n"), CMD, "c.toml").unwrap_err();
        assert!(
            matches!(err, SettingsError::Syntax { line: 1, .. }),
            "{err}"
        );
        let err = install(Harness::ClaudeCode, Some("[1]"), CMD, "s.json").unwrap_err();
        assert!(matches!(err, SettingsError::Shape { .. }), "{err}");
        let err = install(
            Harness::ClaudeCode,
            Some("{\"hooks\": {\"Stop\": 3}}"),
            CMD,
            "s.json",
        )
        .unwrap_err();
        assert!(matches!(err, SettingsError::Shape { .. }), "{err}");
    }
}
