//! Loading playbooks: the built-ins merged with the user's TOML files of a directory.
//!
//! Every `*.toml` file directly in the directory is read, in file-name order (byte order of
//! the name, so `10-x.toml` sorts before `9-y.toml`); a later file's strategy wins over an
//! earlier one with the same id, and any user strategy wins over the built-in with its id
//! (see `selfheal_core::playbook` for the file format and the merge rule). Hidden files
//! (`.name.toml`, e.g. editor lock files) are ignored.
//!
//! Loading never fails: a missing directory means "built-ins only" and is not a problem; an
//! unreadable directory, or a file that cannot be read, is not UTF-8, is larger than
//! [`MAX_FILE_BYTES`] or does not parse, is recorded in [`LoadedPlaybooks::problems`] and
//! skipped whole (none of its strategies are used), so one bad file cannot stop the server or
//! half-apply.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use selfheal_core::playbook::{Playbook, Strategy, builtin_playbooks, merge, parse_user_playbooks};
use serde::{Deserialize, Serialize};

/// Files larger than this are reported, not read: a playbook is a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A user playbook file (or the directory) that was skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PlaybookProblem {
    /// Path of the file (or of the directory, when it could not be listed).
    pub file: String,
    /// What is wrong, with the line and column for a parse error.
    pub error: String,
}

/// The playbooks in force and the files that were skipped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LoadedPlaybooks {
    pub playbooks: Vec<Playbook>,
    pub problems: Vec<PlaybookProblem>,
}

/// The built-in playbooks overridden and extended by the `*.toml` files in `dir`.
pub fn load(dir: Option<&Path>) -> LoadedPlaybooks {
    let mut problems = Vec::new();
    let mut user: Vec<Strategy> = Vec::new();
    if let Some(dir) = dir {
        match toml_files(dir) {
            Ok(files) => {
                for file in files {
                    match read_file(&file) {
                        Ok(strategies) => user.extend(strategies),
                        Err(error) => problems.push(PlaybookProblem {
                            file: file.display().to_string(),
                            error,
                        }),
                    }
                }
            }
            Err(error) => problems.push(PlaybookProblem {
                file: dir.display().to_string(),
                error,
            }),
        }
    }
    for p in &problems {
        tracing::warn!(file = %p.file, error = %p.error, "skipped a user playbook");
    }
    LoadedPlaybooks {
        playbooks: merge(builtin_playbooks(), user),
        problems,
    }
}

/// The `*.toml` files directly in `dir`, sorted by name; a missing directory has none.
fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot list the playbooks directory: {e}")),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list the playbooks directory: {e}"))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || !name.ends_with(".toml") {
            continue;
        }
        // Follows symlinks: a linked playbook counts; a directory named x.toml does not.
        let is_dir = fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
        if !is_dir {
            files.push(entry.path());
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

fn read_file(file: &Path) -> Result<Vec<Strategy>, String> {
    let size = fs::metadata(file)
        .map_err(|e| format!("cannot read the file: {e}"))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "the file is {size} bytes, more than the {MAX_FILE_BYTES} accepted for a playbook"
        ));
    }
    let bytes = fs::read(file).map_err(|e| format!("cannot read the file: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "the file is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    parse_user_playbooks(&text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use selfheal_core::classify::FailureClass;
    use selfheal_core::playbook::{Action, Learned, rank};

    const RAISE: &str = r#"
[[strategy]]
id = "timeout.raise-timeout"
applies_to = ["timeout"]
risk = "low"
priority = 1

[[strategy.action]]
kind = "raise_timeout"
factor = 3.0
"#;

    const EXTRA: &str = r#"
[[strategy]]
id = "oom.smaller-pages"
applies_to = ["oom"]

[[strategy.action]]
kind = "scale_down_payload"
factor = 0.25
"#;

    fn strategy<'a>(loaded: &'a LoadedPlaybooks, id: &str) -> Option<&'a Strategy> {
        loaded
            .playbooks
            .iter()
            .flat_map(|p| &p.strategies)
            .find(|s| s.id == id)
    }

    #[test]
    fn no_directory_or_a_missing_one_gives_the_builtins() {
        let builtin = builtin_playbooks();
        assert_eq!(
            load(None),
            LoadedPlaybooks {
                playbooks: builtin.clone(),
                problems: vec![]
            }
        );
        let tmp = tempfile::tempdir().unwrap();
        let loaded = load(Some(&tmp.path().join("absent")));
        assert_eq!(loaded.playbooks, builtin);
        assert!(loaded.problems.is_empty());
    }

    #[test]
    fn user_files_override_and_extend_in_name_order() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("a-raise.toml"), RAISE).unwrap();
        fs::write(tmp.path().join("b-extra.toml"), EXTRA).unwrap();
        // Later in name order: this one replaces a-raise.toml's factor.
        fs::write(
            tmp.path().join("c-raise.toml"),
            RAISE.replace("factor = 3.0", "factor = 4.0"),
        )
        .unwrap();
        fs::write(tmp.path().join("notes.md"), "not a playbook").unwrap();
        fs::create_dir(tmp.path().join("dir.toml")).unwrap();
        let loaded = load(Some(tmp.path()));
        assert_eq!(loaded.problems, vec![]);
        let raise = strategy(&loaded, "timeout.raise-timeout").unwrap();
        assert_eq!(
            raise.actions,
            vec![Action::RaiseTimeout {
                factor: 4.0,
                max_timeout_ms: 300_000
            }]
        );
        assert!(strategy(&loaded, "oom.smaller-pages").is_some());
        let oom = rank(&loaded.playbooks, FailureClass::Oom, &|_| {
            Learned::default()
        });
        assert!(oom.iter().any(|s| s.id == "oom.smaller-pages"));
        assert!(oom.iter().any(|s| s.id == "oom.scale-down-payload"));
    }

    #[test]
    fn a_bad_file_is_reported_and_skipped_whole() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("good.toml"), EXTRA).unwrap();
        // Valid first strategy, broken second: nothing of the file is used.
        let broken = format!("{RAISE}\n[[strategy]]\nid = \"x\"\napplies_to = [\"timout\"]\n");
        fs::write(tmp.path().join("broken.toml"), broken).unwrap();
        fs::write(tmp.path().join("binary.toml"), [0xff, 0xfe, 0x00]).unwrap();
        let loaded = load(Some(tmp.path()));
        assert_eq!(loaded.problems.len(), 2, "{:?}", loaded.problems);
        assert!(loaded.problems[0].file.ends_with("binary.toml"));
        assert!(loaded.problems[0].error.contains("UTF-8"));
        assert!(loaded.problems[1].file.ends_with("broken.toml"));
        assert!(
            loaded.problems[1].error.starts_with("line 14, column 15:")
                && loaded.problems[1].error.contains("timout"),
            "{}",
            loaded.problems[1].error
        );
        // The good file still counts; the broken one did not override the built-in.
        assert!(strategy(&loaded, "oom.smaller-pages").is_some());
        let builtin = builtin_playbooks();
        assert_eq!(
            strategy(&loaded, "timeout.raise-timeout"),
            builtin[0].strategies.first()
        );
    }

    #[test]
    fn an_oversized_file_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let big = "# padding\n".repeat((MAX_FILE_BYTES / 10 + 1) as usize);
        fs::write(tmp.path().join("big.toml"), big).unwrap();
        let loaded = load(Some(tmp.path()));
        assert_eq!(loaded.problems.len(), 1);
        assert!(loaded.problems[0].error.contains("bytes"));
    }

    #[test]
    fn a_file_instead_of_a_directory_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("playbooks");
        fs::write(&file, "").unwrap();
        let loaded = load(Some(&file));
        assert_eq!(loaded.playbooks, builtin_playbooks());
        assert_eq!(loaded.problems.len(), 1);
        assert!(loaded.problems[0].error.contains("cannot list"));
    }
}
