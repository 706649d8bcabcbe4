//! Writes where the agents read: the instruction files that hold lessons and the settings that
//! register the hook, planned by `selfheal-harness` and written here with the same atomic,
//! checked replace as the config edit (`config_edit`).
//!
//! A [`Planned`] write is a preview: the path, the checksum of the file as read (`None` when it
//! does not exist), the new text and the diff. [`write`] performs it only if the file still has
//! the previewed checksum (a file that appeared meanwhile is not overwritten: creation is
//! no-clobber), keeps a backup of the old bytes, and returns a [`FileChange`] that
//! [`plan_removal`] uses later to take out exactly what was inserted.
//!
//! Only files under the chosen root (the project, or the home for user scope) are written, and
//! never through a symbolic link: a target that is a link, or whose folder on the way is one,
//! is refused.

use std::fs;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::config_edit::{
    ConfigEditError, io, replace_checked, sha256_hex, staged, sync_dir, unified_diff,
};

/// Instruction and settings files are small; larger ones are refused.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A previewed write of one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Planned {
    pub path: String,
    /// `instructions` or `settings`.
    pub kind: String,
    /// Hex sha256 of the file as read; `None` when it does not exist yet.
    pub sha256_before: Option<String>,
    pub sha256_after: String,
    /// Unified diff (empty when nothing changes).
    pub diff: String,
    /// The new text; `None` deletes the file (a file of ours left empty by a rollback).
    #[serde(skip)]
    pub after_text: Option<String>,
    /// The exact text inserted (a managed block), kept to remove it again.
    #[serde(skip)]
    pub inserted: String,
}

/// A performed write: what a rollback needs to undo it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FileChange {
    pub path: String,
    pub kind: String,
    pub diff: String,
    /// The old bytes (absent when the file was created).
    pub backup_path: Option<String>,
    pub sha256_before: Option<String>,
    pub sha256_after: Option<String>,
    /// The managed block inserted, when this is an instruction file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub inserted: String,
}

/// Reads `path` for a plan: its text, or `None` when missing. Refuses links, non-files,
/// paths outside `root`, and files too large or not UTF-8.
pub fn read_target(root: &Path, path: &Path) -> Result<Option<String>, AppError> {
    check_inside(root, path)?;
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(AppError::InvalidInput(format!(
            "{} is a symbolic link; self-heal writes only regular files it can see whole (replace the link by the file, or choose user scope)",
            path.display()
        ))),
        Ok(m) if !m.is_file() => Err(AppError::InvalidInput(format!(
            "{} is not a regular file",
            path.display()
        ))),
        Ok(m) if m.len() > MAX_FILE_BYTES => Err(AppError::InvalidInput(format!(
            "{} is larger than {} KiB; an instruction or settings file that large is refused",
            path.display(),
            MAX_FILE_BYTES / 1024
        ))),
        Ok(_) => {
            let bytes = fs::read(path)
                .map_err(|e| AppError::Storage(format!("cannot read {}: {e}", path.display())))?;
            String::from_utf8(bytes).map(Some).map_err(|_| {
                AppError::InvalidInput(format!(
                    "{} is not UTF-8 text; it was left untouched",
                    path.display()
                ))
            })
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AppError::Storage(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// `path` must lie under `root` (lexically, no `..`), and no existing folder between them may
/// be a symbolic link.
fn check_inside(root: &Path, path: &Path) -> Result<(), AppError> {
    let rel = path.strip_prefix(root).map_err(|_| {
        AppError::InvalidInput(format!(
            "{} lies outside {}; refused",
            path.display(),
            root.display()
        ))
    })?;
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(AppError::InvalidInput(format!(
            "{} is not a plain path under {}; refused",
            path.display(),
            root.display()
        )));
    }
    let mut at = root.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for c in parts.iter().take(parts.len().saturating_sub(1)) {
        at.push(c);
        if fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(AppError::InvalidInput(format!(
                "{} is a symbolic link; self-heal does not write through links",
                at.display()
            )));
        }
    }
    Ok(())
}

/// The preview of replacing `before` (as read) by `after` (`None`: delete) at `path`.
pub fn plan(
    path: &Path,
    kind: &str,
    before: Option<&str>,
    after: Option<String>,
    inserted: String,
) -> Planned {
    let shown = path.display().to_string();
    let old = before.unwrap_or("");
    let new = after.as_deref().unwrap_or("");
    let diff = if before.is_some() == after.is_some() && old == new {
        String::new()
    } else {
        unified_diff(
            old,
            new,
            if before.is_some() {
                &shown
            } else {
                "/dev/null"
            },
            if after.is_some() { &shown } else { "/dev/null" },
        )
    };
    Planned {
        path: shown,
        kind: kind.to_string(),
        sha256_before: before.map(|b| sha256_hex(b.as_bytes())),
        sha256_after: sha256_hex(new.as_bytes()),
        diff,
        after_text: after,
        inserted,
    }
}

/// Performs a plan (see the module docs); `backup_dir` receives the old bytes.
pub fn write(p: &Planned, backup_dir: &Path) -> Result<FileChange, AppError> {
    let path = Path::new(&p.path);
    let current = match fs::read(path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => {
            return Err(AppError::Storage(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let changed = |actual: Option<String>| {
        AppError::Conflict(format!(
            "{} changed since the preview (sha256 {} expected, {} found): another writer got there first; preview again",
            path.display(),
            p.sha256_before.as_deref().unwrap_or("none: no file"),
            actual.as_deref().unwrap_or("none: no file")
        ))
    };
    let actual = current.as_deref().map(sha256_hex);
    if actual != p.sha256_before {
        return Err(changed(actual));
    }
    if p.diff.is_empty() {
        return Ok(FileChange {
            path: p.path.clone(),
            kind: p.kind.clone(),
            diff: String::new(),
            backup_path: None,
            sha256_before: p.sha256_before.clone(),
            sha256_after: p.sha256_before.clone(),
            inserted: String::new(),
        });
    }
    let backup_path = match (&current, &p.sha256_before) {
        (Some(bytes), Some(sha)) => {
            fs::create_dir_all(backup_dir)
                .map_err(conv(io("create the backup directory", backup_dir)))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let backup = backup_dir.join(format!("{name}.{}.bak", sha.get(..16).unwrap_or(sha)));
            crate::config_edit::atomic_write(&backup, bytes, None).map_err(AppError::from)?;
            Some(backup.display().to_string())
        }
        _ => None,
    };
    match (&p.after_text, &p.sha256_before) {
        (Some(text), Some(sha)) => {
            let permissions = fs::metadata(path)
                .map_err(|e| AppError::Storage(format!("cannot read {}: {e}", path.display())))?
                .permissions();
            replace_checked(path, text.as_bytes(), sha, permissions, |actual| {
                ConfigEditError::ChangedSincePreview {
                    path: path.to_path_buf(),
                    expected: sha.clone(),
                    actual,
                }
            })?;
        }
        (Some(text), None) => {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(conv(io("create the folder of", path)))?;
            }
            // A new instruction or settings file is a project file like the others.
            let (dir, tmp) = staged(path, text.as_bytes(), new_file_permissions())?;
            tmp.persist_noclobber(path)
                .map_err(|_| changed(Some("a file created meanwhile".into())))?;
            sync_dir(dir)?;
        }
        (None, Some(_)) => {
            fs::remove_file(path)
                .map_err(|e| AppError::Storage(format!("cannot remove {}: {e}", path.display())))?;
            if let Some(dir) = path.parent() {
                sync_dir(dir)?;
            }
        }
        (None, None) => {}
    }
    Ok(FileChange {
        path: p.path.clone(),
        kind: p.kind.clone(),
        diff: p.diff.clone(),
        backup_path,
        sha256_before: p.sha256_before.clone(),
        sha256_after: p.after_text.as_ref().map(|t| sha256_hex(t.as_bytes())),
        inserted: p.inserted.clone(),
    })
}

/// `rw-r--r--` (what an editor gives a new file under the usual umask).
fn new_file_permissions() -> Option<fs::Permissions> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(fs::Permissions::from_mode(0o644))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

fn conv(
    f: impl FnOnce(std::io::Error) -> ConfigEditError,
) -> impl FnOnce(std::io::Error) -> AppError {
    move |e| AppError::from(f(e))
}

/// The folder backups go to: beside the run-history database (`<db folder>/self-heal-backups`),
/// never inside a project, which must look as it did once a lesson is rolled back.
pub fn backup_dir(db: &Path) -> PathBuf {
    db.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("self-heal-backups")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_replace_delete_and_refuse_races() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let f = root.join(".claude/rules/self-healing.md");
        assert_eq!(read_target(root, &f).unwrap(), None);
        let p = plan(
            &f,
            "instructions",
            None,
            Some("one\n".into()),
            String::new(),
        );
        assert!(p.diff.contains("+one"));
        // Someone creates the file between preview and write: refused, theirs kept.
        fs::create_dir_all(f.parent().unwrap()).unwrap();
        fs::write(&f, "theirs\n").unwrap();
        assert!(matches!(
            write(&p, &backup_dir(root)),
            Err(AppError::Conflict(_))
        ));
        assert_eq!(fs::read_to_string(&f).unwrap(), "theirs\n");
        fs::remove_file(&f).unwrap();
        let c = write(&p, &backup_dir(root)).unwrap();
        assert_eq!(c.backup_path, None);
        let text = read_target(root, &f).unwrap().unwrap();
        let p2 = plan(
            &f,
            "instructions",
            Some(&text),
            Some("two\n".into()),
            String::new(),
        );
        let c2 = write(&p2, &backup_dir(root)).unwrap();
        assert_eq!(
            fs::read_to_string(c2.backup_path.unwrap()).unwrap(),
            "one\n"
        );
        let p3 = plan(&f, "instructions", Some("two\n"), None, String::new());
        write(&p3, &backup_dir(root)).unwrap();
        assert!(!f.exists());
    }

    #[test]
    fn links_and_outside_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("p");
        fs::create_dir_all(&root).unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, root.join(".claude")).unwrap();
        let err = read_target(&root, &root.join(".claude/settings.json")).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        std::os::unix::fs::symlink(elsewhere.join("x"), root.join("AGENTS.md")).unwrap();
        assert!(read_target(&root, &root.join("AGENTS.md")).is_err());
        assert!(read_target(&root, &dir.path().join("other/AGENTS.md")).is_err());
        assert!(read_target(&root, &root.join("../x")).is_err());
    }
}
