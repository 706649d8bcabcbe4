//! Reversible, format-preserving edits of the one config file declared to the server.
//!
//! [`plan`] is the preview (dry run): it resolves the requested path, refuses anything but the
//! declared file, sets one dotted key in a copy of the text with `toml_edit` (comments,
//! ordering and whitespace elsewhere untouched; the edited value keeps its own trailing
//! comment) and returns the unified diff and the checksums, writing nothing. [`apply`] performs
//! a plan; [`rollback`] undoes an apply byte for byte.
//!
//! # What is written, and where
//!
//! Only the declared file (resolved through symlinks, so a linked config is edited where it
//! really lives and the link stays a link), one backup file in the backup directory named
//! `<file name>.<first 16 hex of its sha256>.bak`, and short-lived temporary files next to
//! each of them (removed if the write fails). Nothing else is touched.
//!
//! # Crash safety
//!
//! [`apply`] first writes the backup (exact bytes, to a temporary file that is fsynced and
//! renamed into place, then the directory fsynced), re-reads it to check its checksum, and only
//! then replaces the config file: the new text goes to a temporary file in the *same*
//! directory (same filesystem), gets the old file's permissions, is fsynced, and is renamed
//! over the config file — an atomic replace — and the directory is fsynced. A crash at any
//! moment therefore leaves the config file either wholly old or wholly new, and whenever it is
//! new a complete, verified backup of the old one already exists. [`rollback`] restores the
//! backup the same way, so it is atomic too. Ownership is not changed (the server runs as the
//! file's user); the permission bits are kept.
//!
//! # Never clobbering a human's edit
//!
//! [`apply`] refuses when the file's checksum is no longer the one previewed
//! ([`ConfigEditError::ChangedSincePreview`]); [`rollback`] refuses when it is no longer the one
//! written ([`ConfigEditError::ChangedSinceApply`]), naming both checksums and the backup so a
//! person can merge by hand. A rollback of a file already restored is a no-op.
//!
//! The checksum is checked again at the replace itself, so a write landing between the first
//! check and the replace (while the backup is written) is not clobbered either. On Linux the
//! replace is an atomic exchange (`renameat2` with `RENAME_EXCHANGE`): the new text takes the
//! file's name and the file that had it is read back under the temporary name; if that is not
//! the checked text, the exchange is undone — the other writer's file is back in place, ours
//! is discarded — and the edit is refused as changed. So an editor that saves by rename, or
//! any write completed before the exchange, is never lost, and the file is never missing. What
//! stays undetectable without a lock every editor honours is a writer that keeps the old file
//! open and writes into it after the exchange. Where the exchange is not available (another
//! OS, a filesystem without it) the checksum is checked once more just before a plain rename,
//! which leaves a window of microseconds instead of the backup's milliseconds. A crash right
//! after an exchange can leave the old text in a `.selfheal-*.tmp` file beside the config (the
//! backup holds the same bytes).
//!
//! Plans are persisted between preview and apply; a caller that cannot trust the stored plan
//! should re-run [`plan`] against the declared file and compare checksums before applying.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml_edit::{DocumentMut, InlineTable, Item, Key, Table, Value};

use crate::AppError;

/// Config files larger than this are refused: a config is kilobytes, and the whole text is
/// held in memory and in the persisted plan.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Set `key` (dotted TOML key, e.g. `tools.fetch.timeout_ms` or `tools."a.b".retry`) to
/// `new_value`.
///
/// JSON maps to TOML as: boolean, integer (within i64), float, string, array, object → inline
/// table (or, over an existing `[table]`, that table's keys). `null` is not a TOML value: at
/// the top it is refused, inside an object it means "no such key".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigEdit {
    pub key: String,
    pub new_value: serde_json::Value,
}

/// A previewed edit: what would be written, and the checksums that tie it to the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EditPlan {
    /// The declared file, resolved (absolute, symlinks followed).
    pub path: PathBuf,
    /// Unified diff from the current text to the edited one (empty when nothing changes).
    pub diff: String,
    /// Hex sha256 of the file as previewed.
    pub before_sha256: String,
    /// Hex sha256 of `after_text`.
    pub after_sha256: String,
    pub after_text: String,
}

/// A performed edit: where the file and its backup are, and their checksums.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Applied {
    pub path: PathBuf,
    /// Exact bytes of the file before the edit (absolute path).
    pub backup_path: PathBuf,
    pub before_sha256: String,
    pub after_sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigEditError {
    #[error("the config file {} does not exist", .path.display())]
    NotFound { path: PathBuf },
    #[error("only {} may be edited; {} {reason}", .declared.display(), shown(.requested))]
    OutsideDeclared {
        declared: PathBuf,
        requested: PathBuf,
        reason: String,
    },
    /// The key or the value cannot be written (the message says why and what is accepted).
    #[error("{0}")]
    InvalidEdit(String),
    #[error("{} is not valid TOML, so it cannot be edited without losing its format: {message}", .path.display())]
    NotToml { path: PathBuf, message: String },
    #[error(
        "{} changed since the preview (sha256 {expected} expected, {actual} found); preview the edit again",
        .path.display()
    )]
    ChangedSincePreview {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error(
        "refusing to roll back {}: it changed after the edit was applied (sha256 {expected} written, {actual} found), \
         so restoring would destroy those changes; the original is kept in {}",
        .path.display(), .backup.display()
    )]
    ChangedSinceApply {
        path: PathBuf,
        expected: String,
        actual: String,
        backup: PathBuf,
    },
    #[error("the backup {}: {message}", .path.display())]
    Backup { path: PathBuf, message: String },
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<ConfigEditError> for AppError {
    fn from(e: ConfigEditError) -> Self {
        match e {
            ConfigEditError::NotFound { .. } => AppError::NotFound(e.to_string()),
            ConfigEditError::OutsideDeclared { .. }
            | ConfigEditError::InvalidEdit(_)
            | ConfigEditError::NotToml { .. } => AppError::InvalidInput(e.to_string()),
            ConfigEditError::ChangedSincePreview { .. }
            | ConfigEditError::ChangedSinceApply { .. }
            | ConfigEditError::Backup { .. } => AppError::Conflict(e.to_string()),
            ConfigEditError::Io { .. } => AppError::Storage(e.to_string()),
        }
    }
}

/// A requested path (an argument) as an error echoes it: at most ~200 characters.
fn shown(path: &Path) -> String {
    crate::sanitize::echo(&path.display().to_string())
}

pub(crate) fn io(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> ConfigEditError {
    let path = path.to_path_buf();
    move |source| ConfigEditError::Io {
        action,
        path,
        source,
    }
}

/// The unified diff (3 lines of context) from `old` to `new`, headed by their names: every
/// edit a person is shown before confirming is rendered this way.
pub(crate) fn unified_diff(old: &str, new: &str, from: &str, to: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(from, to)
        .to_string()
}

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Previews `edit` on the declared file; `requested` (when given) must resolve to it.
pub fn plan(
    declared: &Path,
    requested: Option<&Path>,
    edit: &ConfigEdit,
) -> Result<EditPlan, ConfigEditError> {
    let path = match fs::canonicalize(declared) {
        Ok(p) => p,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(ConfigEditError::NotFound {
                path: declared.to_path_buf(),
            });
        }
        Err(e) => return Err(io("resolve", declared)(e)),
    };
    if let Some(requested) = requested {
        match fs::canonicalize(requested) {
            Ok(r) if r == path => {}
            Ok(r) => {
                return Err(ConfigEditError::OutsideDeclared {
                    declared: declared.to_path_buf(),
                    requested: requested.to_path_buf(),
                    reason: format!("resolves to {}", r.display()),
                });
            }
            Err(e) => {
                return Err(ConfigEditError::OutsideDeclared {
                    declared: declared.to_path_buf(),
                    requested: requested.to_path_buf(),
                    reason: format!("cannot be resolved ({e})"),
                });
            }
        }
    }
    let before = read_config(&path)?;
    let text = String::from_utf8(before.clone()).map_err(|e| ConfigEditError::NotToml {
        path: path.clone(),
        message: format!(
            "not UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    // toml_edit writes LF line ends and a final newline; it edits a normalised copy and
    // `keep_layout` carries only the changed lines back into the original bytes.
    let normalized = normalize_newlines(&text);
    let mut doc: DocumentMut =
        normalized
            .parse()
            .map_err(|e: toml_edit::TomlError| ConfigEditError::NotToml {
                path: path.clone(),
                message: e.to_string().trim_end().to_string(),
            })?;
    let keys = parse_key(&edit.key)?;
    let value = to_toml(&edit.new_value, &edit.key)?;
    set_path(doc.as_item_mut(), &keys, value, true, &edit.key)?;
    let edited = doc.to_string();
    let after_text = keep_layout(&text, &normalized, &edited);
    // What we write must read back as the edited document, and as TOML: never leave a
    // config its program cannot load.
    if normalize_newlines(&after_text) != edited || after_text.parse::<DocumentMut>().is_err() {
        return Err(ConfigEditError::InvalidEdit(format!(
            "the edit of `{}` could not be made without disturbing the rest of {}; edit it by hand",
            edit.key,
            path.display()
        )));
    }
    let shown = path.display().to_string();
    let diff = if after_text == text {
        String::new()
    } else {
        unified_diff(&text, &after_text, &shown, &shown)
    };
    Ok(EditPlan {
        path,
        diff,
        before_sha256: sha256_hex(&before),
        after_sha256: sha256_hex(after_text.as_bytes()),
        after_text,
    })
}

/// Performs a previewed plan: backup first, then an atomic replace (see the module doc).
pub fn apply(plan: &EditPlan, backup_dir: &Path) -> Result<Applied, ConfigEditError> {
    if sha256_hex(plan.after_text.as_bytes()) != plan.after_sha256 {
        return Err(ConfigEditError::InvalidEdit(format!(
            "the plan for {} is damaged: its text does not match its checksum {}; preview the edit again",
            plan.path.display(),
            plan.after_sha256
        )));
    }
    let before = read_config(&plan.path)?;
    let actual = sha256_hex(&before);
    if actual != plan.before_sha256 {
        return Err(ConfigEditError::ChangedSincePreview {
            path: plan.path.clone(),
            expected: plan.before_sha256.clone(),
            actual,
        });
    }
    fs::create_dir_all(backup_dir).map_err(io("create the backup directory", backup_dir))?;
    let backup_dir = fs::canonicalize(backup_dir).map_err(io("resolve", backup_dir))?;
    let name = plan
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let hash_prefix = plan.before_sha256.get(..16).unwrap_or(&plan.before_sha256);
    let backup_path = backup_dir.join(format!("{name}.{hash_prefix}.bak"));
    if backup_path == plan.path {
        return Err(ConfigEditError::InvalidEdit(
            "the backup would overwrite the config file itself; choose another backup directory"
                .into(),
        ));
    }
    // Content-addressed: an existing backup with this name holds these very bytes.
    atomic_write(&backup_path, &before, None)?;
    let written = fs::read(&backup_path).map_err(io("read back", &backup_path))?;
    if sha256_hex(&written) != plan.before_sha256 {
        return Err(ConfigEditError::Backup {
            path: backup_path,
            message:
                "was written but does not read back with the file's checksum; nothing was edited"
                    .into(),
        });
    }
    let permissions = fs::metadata(&plan.path)
        .map_err(io("read the permissions of", &plan.path))?
        .permissions();
    replace_checked(
        &plan.path,
        plan.after_text.as_bytes(),
        &plan.before_sha256,
        permissions,
        |actual| ConfigEditError::ChangedSincePreview {
            path: plan.path.clone(),
            expected: plan.before_sha256.clone(),
            actual,
        },
    )?;
    Ok(Applied {
        path: plan.path.clone(),
        backup_path,
        before_sha256: plan.before_sha256.clone(),
        after_sha256: plan.after_sha256.clone(),
    })
}

/// What [`rollback`] would do, without writing: the unified diff from the file as it is to its
/// backup (empty when it is already restored). Refuses exactly when [`rollback`] would.
pub fn restore_diff(applied: &Applied) -> Result<String, ConfigEditError> {
    let current = match fs::read(&applied.path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io("read", &applied.path)(e)),
    };
    let sha = sha256_hex(&current);
    if sha == applied.before_sha256 {
        return Ok(String::new());
    }
    if sha != applied.after_sha256 {
        return Err(ConfigEditError::ChangedSinceApply {
            path: applied.path.clone(),
            expected: applied.after_sha256.clone(),
            actual: sha,
            backup: applied.backup_path.clone(),
        });
    }
    let backup = fs::read(&applied.backup_path).map_err(|e| ConfigEditError::Backup {
        path: applied.backup_path.clone(),
        message: format!("cannot be read ({e}); nothing would be restored"),
    })?;
    if sha256_hex(&backup) != applied.before_sha256 {
        return Err(ConfigEditError::Backup {
            path: applied.backup_path.clone(),
            message: format!(
                "does not match the checksum recorded at apply (sha256 {} expected); nothing would be restored",
                applied.before_sha256
            ),
        });
    }
    let shown = applied.path.display().to_string();
    Ok(unified_diff(
        &String::from_utf8_lossy(&current),
        &String::from_utf8_lossy(&backup),
        &shown,
        &shown,
    ))
}

/// Restores the bytes the file had before [`apply`], atomically, and checks the result.
/// Refuses when the file is no longer what apply wrote; a no-op when it is already restored.
pub fn rollback(applied: &Applied) -> Result<(), ConfigEditError> {
    let current = match fs::read(&applied.path) {
        Ok(bytes) => sha256_hex(&bytes),
        Err(e) if e.kind() == ErrorKind::NotFound => "(file missing)".to_string(),
        Err(e) => return Err(io("read", &applied.path)(e)),
    };
    if current == applied.before_sha256 {
        return Ok(());
    }
    if current != applied.after_sha256 {
        return Err(ConfigEditError::ChangedSinceApply {
            path: applied.path.clone(),
            expected: applied.after_sha256.clone(),
            actual: current,
            backup: applied.backup_path.clone(),
        });
    }
    let backup = fs::read(&applied.backup_path).map_err(|e| ConfigEditError::Backup {
        path: applied.backup_path.clone(),
        message: format!("cannot be read ({e}); nothing was restored"),
    })?;
    let found = sha256_hex(&backup);
    if found != applied.before_sha256 {
        return Err(ConfigEditError::Backup {
            path: applied.backup_path.clone(),
            message: format!(
                "does not match the checksum recorded at apply (sha256 {} expected, {found} found); nothing was restored",
                applied.before_sha256
            ),
        });
    }
    let permissions = fs::metadata(&applied.path)
        .map_err(io("read the permissions of", &applied.path))?
        .permissions();
    replace_checked(
        &applied.path,
        &backup,
        &applied.after_sha256,
        permissions,
        |actual| ConfigEditError::ChangedSinceApply {
            path: applied.path.clone(),
            expected: applied.after_sha256.clone(),
            actual,
            backup: applied.backup_path.clone(),
        },
    )?;
    let restored = fs::read(&applied.path).map_err(io("read back", &applied.path))?;
    let found = sha256_hex(&restored);
    if found != applied.before_sha256 {
        return Err(ConfigEditError::Backup {
            path: applied.backup_path.clone(),
            message: format!(
                "was restored to {} but the file reads back as sha256 {found}, not {}",
                applied.path.display(),
                applied.before_sha256
            ),
        });
    }
    Ok(())
}

fn read_config(path: &Path) -> Result<Vec<u8>, ConfigEditError> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(ConfigEditError::NotFound {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io("read", path)(e)),
    };
    if !meta.is_file() {
        return Err(ConfigEditError::InvalidEdit(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(ConfigEditError::InvalidEdit(format!(
            "{} is {} bytes, more than the {MAX_CONFIG_BYTES} accepted for a config file",
            path.display(),
            meta.len()
        )));
    }
    fs::read(path).map_err(io("read", path))
}

/// Writes `bytes` to `path` by a rename of an fsynced temporary file in the same directory,
/// then fsyncs the directory, so `path` is never seen half-written.
pub(crate) fn atomic_write(
    path: &Path,
    bytes: &[u8],
    permissions: Option<fs::Permissions>,
) -> Result<(), ConfigEditError> {
    let (dir, tmp) = staged(path, bytes, permissions)?;
    tmp.persist(path)
        .map_err(|e| io("replace", path)(e.error))?;
    sync_dir(dir)
}

/// The directory of `path` and an fsynced temporary file in it holding `bytes`.
pub(crate) fn staged<'p>(
    path: &'p Path,
    bytes: &[u8],
    permissions: Option<fs::Permissions>,
) -> Result<(&'p Path, tempfile::NamedTempFile), ConfigEditError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".selfheal-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io("create a temporary file in", dir))?;
    tmp.write_all(bytes)
        .map_err(io("write a temporary file for", path))?;
    if let Some(permissions) = permissions {
        fs::set_permissions(tmp.path(), permissions)
            .map_err(io("set the permissions of a temporary file for", path))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(io("flush a temporary file for", path))?;
    Ok((dir, tmp))
}

/// Replaces `path` with `bytes` (as [`atomic_write`]) only if it holds the text of checksum
/// `expected` at the replace itself; otherwise leaves whatever another writer put there and
/// returns `changed(actual checksum)`. See "Never clobbering a human's edit" in the module doc.
pub(crate) fn replace_checked(
    path: &Path,
    bytes: &[u8],
    expected: &str,
    permissions: fs::Permissions,
    changed: impl FnOnce(String) -> ConfigEditError,
) -> Result<(), ConfigEditError> {
    let (dir, tmp) = staged(path, bytes, Some(permissions))?;
    #[cfg(test)]
    tests::before_replace(path);
    match exchange(tmp.path(), path) {
        Ok(true) => {
            // `tmp` now names the file that was replaced: it must be the one checked.
            let replaced = fs::read(tmp.path()).map_err(io("read back", tmp.path()))?;
            let actual = sha256_hex(&replaced);
            if actual == expected {
                // Dropping `tmp` removes the replaced file.
                drop(tmp);
                return sync_dir(dir);
            }
            // Undo: the other writer's file takes the name back. Should yet another file
            // have replaced ours in between, that newer one is put back instead.
            let undone = exchange(tmp.path(), path).and_then(|_| {
                if fs::read(tmp.path())? != bytes {
                    exchange(tmp.path(), path)?;
                }
                Ok(())
            });
            if let Err(e) = undone {
                // Keep the temporary file: it may hold the other writer's text.
                let _ = tmp.into_temp_path().keep();
                return Err(ConfigEditError::Io {
                    action: "undo the replace (the other writer's text is kept in a .selfheal-*.tmp file beside it) of",
                    path: path.to_path_buf(),
                    source: e,
                });
            }
            sync_dir(dir)?;
            Err(changed(actual))
        }
        Ok(false) => {
            let current = match fs::read(path) {
                Ok(b) => sha256_hex(&b),
                Err(e) if e.kind() == ErrorKind::NotFound => "(file missing)".to_string(),
                Err(e) => return Err(io("read", path)(e)),
            };
            if current != expected {
                return Err(changed(current));
            }
            tmp.persist(path)
                .map_err(|e| io("replace", path)(e.error))?;
            sync_dir(dir)
        }
        Err(e) => Err(io("replace", path)(e)),
    }
}

/// Atomically swaps the files named `a` and `b`; `Ok(false)` when the system or the
/// filesystem cannot (nothing was changed).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(e) if e == Errno::INVAL || e == Errno::NOSYS || e == Errno::OPNOTSUPP => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<bool> {
    Ok(false)
}

#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> Result<(), ConfigEditError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("flush the directory", dir))
}

#[cfg(not(unix))]
pub(crate) fn sync_dir(_dir: &Path) -> Result<(), ConfigEditError> {
    // Directories cannot be opened for fsync here; the rename itself is durable enough.
    Ok(())
}

/// LF line ends and a final newline, as toml_edit writes them.
fn normalize_newlines(text: &str) -> String {
    let mut s = text.replace("\r\n", "\n");
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// `original` with the line changes between `normalized` (its normalised form) and `edited`
/// applied: unchanged lines keep their exact bytes (CRLF, no final newline), new lines take
/// the file's line end (CRLF when the file uses it).
fn keep_layout(original: &str, normalized: &str, edited: &str) -> String {
    use similar::DiffTag;
    let eol = if original.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let orig: Vec<&str> = original.split_inclusive('\n').collect();
    let old: Vec<&str> = normalized.split_inclusive('\n').collect();
    let new: Vec<&str> = edited.split_inclusive('\n').collect();
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &old, &new);
    let mut out = String::with_capacity(edited.len() + orig.len());
    let mut rewrote_last = false;
    for op in &ops {
        let (tag, o, n) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => {
                for i in o {
                    out.push_str(orig.get(i).or(old.get(i)).copied().unwrap_or(""));
                }
                rewrote_last = false;
            }
            DiffTag::Delete => rewrote_last = o.end == old.len(),
            DiffTag::Insert | DiffTag::Replace => {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push_str(eol);
                }
                for line in new.get(n).unwrap_or(&[]) {
                    match line.strip_suffix('\n') {
                        Some(body) => {
                            out.push_str(body);
                            out.push_str(eol);
                        }
                        None => out.push_str(line),
                    }
                }
                rewrote_last = tag == DiffTag::Replace && o.end == old.len();
            }
        }
    }
    // A file without a final newline whose last line was rewritten stays without one.
    if rewrote_last
        && !original.is_empty()
        && !original.ends_with('\n')
        && let Some(trimmed) = out.strip_suffix(eol)
    {
        out.truncate(trimmed.len());
    }
    out
}

fn parse_key(key: &str) -> Result<Vec<String>, ConfigEditError> {
    let keys = Key::parse(key).map_err(|e| {
        ConfigEditError::InvalidEdit(format!(
            "`{key}` is not a dotted TOML key such as tools.fetch.timeout_ms or tools.\"a.b\".retry: {}",
            e.to_string().trim_end()
        ))
    })?;
    if keys.is_empty() {
        return Err(ConfigEditError::InvalidEdit(
            "the key is empty; give a dotted TOML key such as tools.fetch.timeout_ms".into(),
        ));
    }
    Ok(keys.iter().map(|k| k.get().to_string()).collect())
}

/// JSON → a TOML value (see [`ConfigEdit`] for the mapping).
fn to_toml(v: &serde_json::Value, key: &str) -> Result<Value, ConfigEditError> {
    use serde_json::Value as J;
    let invalid = |what: &str| {
        ConfigEditError::InvalidEdit(format!(
            "the value for `{key}` {what}; accepted: booleans, integers within ±9.2e18, numbers, strings, arrays and objects"
        ))
    };
    Ok(match v {
        J::Null => {
            return Err(invalid(
                "is null, which TOML cannot hold (leave the key out instead)",
            ));
        }
        J::Bool(b) => Value::from(*b),
        J::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(_)) if n.is_u64() => {
                return Err(invalid(&format!("({n}) is too large for a TOML integer")));
            }
            (None, Some(f)) => Value::from(f),
            (None, None) => return Err(invalid(&format!("({n}) is not a representable number"))),
        },
        J::String(s) => Value::from(s.as_str()),
        J::Array(items) => {
            let mut array = toml_edit::Array::new();
            for item in items {
                if item.is_null() {
                    return Err(invalid("contains null in an array"));
                }
                array.push(to_toml(item, key)?);
            }
            Value::Array(array)
        }
        J::Object(map) => {
            let mut table = InlineTable::new();
            for (k, item) in map {
                if item.is_null() {
                    continue;
                }
                table.insert(k, to_toml(item, key)?);
            }
            Value::InlineTable(table)
        }
    })
}

/// Sets `path` under `item` (a table-like item) to `value`, creating tables as needed.
///
/// Missing tables under the root or under a header-less (implicit) table become a new
/// `[a.b]` section; under an explicit table, a dotted table or an inline table they stay on
/// one line (`b.key = …`), which is the smaller edit there.
fn set_path(
    item: &mut Item,
    path: &[String],
    value: Value,
    is_root: bool,
    full_key: &str,
) -> Result<(), ConfigEditError> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(());
    };
    if rest.is_empty() {
        return set_leaf(item, first, value, full_key);
    }
    match item {
        Item::Table(table) => {
            if table.get(first).is_none_or(Item::is_none) {
                let mut child = Table::new();
                if table.is_dotted() || (!is_root && !table.is_implicit()) {
                    child.set_dotted(true);
                } else {
                    child.set_implicit(true);
                }
                table.insert_formatted(&Key::new(first.as_str()), Item::Table(child));
            }
        }
        Item::Value(Value::InlineTable(table)) => {
            if table.get(first).is_none() {
                table.insert_formatted(
                    &Key::new(first.as_str()),
                    Value::InlineTable(InlineTable::new()),
                );
            }
        }
        other => return Err(not_a_table(full_key, other.type_name())),
    }
    match item.as_table_like_mut().and_then(|t| t.get_mut(first)) {
        Some(child) => set_path(child, rest, value, false, full_key),
        None => Err(not_a_table(full_key, "missing table")),
    }
}

fn not_a_table(full_key: &str, found: &str) -> ConfigEditError {
    ConfigEditError::InvalidEdit(format!(
        "cannot set `{full_key}`: the file holds a {found} where a table is needed on the way; \
         refusing to replace it"
    ))
}

/// Sets `key` in the table-like `parent`; an existing value keeps its decoration (spacing and
/// trailing comment), an existing `[table]` given an object keeps its layout and comments for
/// the keys it still has.
fn set_leaf(
    parent: &mut Item,
    key: &str,
    value: Value,
    full_key: &str,
) -> Result<(), ConfigEditError> {
    let Some(table) = parent.as_table_like_mut() else {
        return Err(not_a_table(full_key, parent.type_name()));
    };
    match table.get_mut(key) {
        Some(Item::Value(existing)) => {
            let decor = existing.decor().clone();
            let mut value = value;
            *value.decor_mut() = decor;
            *existing = value;
            Ok(())
        }
        Some(item @ Item::Table(_)) => match value {
            Value::InlineTable(new) => replace_table(item, new, full_key),
            other => Err(ConfigEditError::InvalidEdit(format!(
                "cannot set `{full_key}` to a {}: it is a [table] in the file; give an object to set its keys",
                other.type_name()
            ))),
        },
        Some(Item::ArrayOfTables(_)) => Err(ConfigEditError::InvalidEdit(format!(
            "cannot set `{full_key}`: it is an array of tables ([[…]]) in the file; refusing to replace it"
        ))),
        Some(Item::None) | None => {
            table.remove(key);
            table.insert(key, Item::Value(value));
            Ok(())
        }
    }
}

/// Makes the `[table]` `item` hold exactly the keys of `new`, editing in place.
fn replace_table(item: &mut Item, new: InlineTable, full_key: &str) -> Result<(), ConfigEditError> {
    let Some(table) = item.as_table_mut() else {
        return Err(not_a_table(full_key, item.type_name()));
    };
    let stale: Vec<String> = table
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !new.contains_key(k))
        .collect();
    for k in stale {
        table.remove(&k);
    }
    for (k, v) in new.into_iter() {
        set_leaf(item, &k, v, full_key)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONFIG: &str = "# Agent tools configuration\n\
\n\
[server]\n\
name   = \"agent\"   # aligned on purpose\n\
\n\
[tools.fetch]\n\
timeout_ms = 30000  # raised in March\n\
retries    = 1\n\
\n\
# search is slow on Mondays\n\
[tools.search]\n\
timeout_ms = 10000\n";

    fn setup(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn edit(key: &str, new_value: serde_json::Value) -> ConfigEdit {
        ConfigEdit {
            key: key.into(),
            new_value,
        }
    }

    /// The lines of `after` that are not in `before`, and vice versa.
    fn changed_lines(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
        let b: Vec<&str> = before.lines().collect();
        let a: Vec<&str> = after.lines().collect();
        let added = a
            .iter()
            .filter(|l| !b.contains(l))
            .map(|l| l.to_string())
            .collect();
        let removed = b
            .iter()
            .filter(|l| !a.contains(l))
            .map(|l| l.to_string())
            .collect();
        (added, removed)
    }

    #[test]
    fn edits_only_the_key_and_keeps_comments_and_spacing() {
        let (_dir, path) = setup(CONFIG);
        let p = plan(&path, None, &edit("tools.fetch.timeout_ms", json!(60000))).unwrap();
        assert_eq!(
            p.after_text,
            CONFIG.replace(
                "timeout_ms = 30000  # raised",
                "timeout_ms = 60000  # raised"
            )
        );
        assert!(
            p.diff.contains("-timeout_ms = 30000  # raised in March"),
            "{}",
            p.diff
        );
        assert!(
            p.diff.contains("+timeout_ms = 60000  # raised in March"),
            "{}",
            p.diff
        );
        assert_eq!(p.before_sha256, sha256_hex(CONFIG.as_bytes()));
        assert_eq!(p.after_sha256, sha256_hex(p.after_text.as_bytes()));
        // A preview writes nothing.
        assert_eq!(fs::read_to_string(&path).unwrap(), CONFIG);
    }

    #[test]
    fn missing_keys_and_tables_are_added_without_touching_the_rest() {
        let (_dir, path) = setup(CONFIG);
        // A new key in an existing section.
        let p = plan(&path, None, &edit("tools.search.retries", json!(2))).unwrap();
        assert_eq!(p.after_text, format!("{CONFIG}retries = 2\n"));
        // A new section under an implicit table.
        let p = plan(
            &path,
            None,
            &edit("tools.\"mcp.github\".timeout_ms", json!(45000)),
        )
        .unwrap();
        let (added, removed) = changed_lines(CONFIG, &p.after_text);
        assert!(removed.is_empty(), "{removed:?}");
        assert_eq!(
            added,
            vec!["[tools.\"mcp.github\"]", "timeout_ms = 45000"],
            "{}",
            p.after_text
        );
        assert!(
            p.after_text.starts_with(CONFIG.trim_end()),
            "{}",
            p.after_text
        );
        // A new key path under an explicit section stays on one line.
        let p = plan(&path, None, &edit("server.limits.memory_mb", json!(512))).unwrap();
        let (added, removed) = changed_lines(CONFIG, &p.after_text);
        assert!(removed.is_empty(), "{removed:?}");
        assert_eq!(added, vec!["limits.memory_mb = 512"], "{}", p.after_text);
        // A table value over a new key is one inline table.
        let p = plan(
            &path,
            None,
            &edit(
                "tools.fetch.retry",
                json!({"max_attempts": 3, "initial_delay_ms": 1000, "fallback": null}),
            ),
        )
        .unwrap();
        let (added, removed) = changed_lines(CONFIG, &p.after_text);
        assert!(removed.is_empty(), "{removed:?}");
        // Key order follows the JSON map (sorted, or insertion order with preserve_order).
        assert_eq!(added.len(), 1, "{}", p.after_text);
        assert!(
            added[0].starts_with("retry = { ")
                && added[0].contains("initial_delay_ms = 1000")
                && added[0].contains("max_attempts = 3")
                && !added[0].contains("fallback"),
            "{}",
            p.after_text
        );
    }

    #[test]
    fn line_ends_final_newline_and_dotted_keys_are_kept() {
        let check = |text: &str, key: &str, value: serde_json::Value, expect: &str| {
            let (_dir, path) = setup(text);
            let p = plan(&path, None, &edit(key, value)).unwrap();
            assert_eq!(p.after_text, expect);
        };
        // New lines in a CRLF file are CRLF.
        check(
            "# c\r\n[tools.fetch]\r\ntimeout_ms = 1\r\n",
            "tools.search.timeout_ms",
            json!(5),
            "# c\r\n[tools.fetch]\r\ntimeout_ms = 1\r\n\r\n[tools.search]\r\ntimeout_ms = 5\r\n",
        );
        // No final newline: still none after editing the last line.
        check(
            "[tools.fetch]\ntimeout_ms = 1",
            "tools.fetch.timeout_ms",
            json!(5),
            "[tools.fetch]\ntimeout_ms = 5",
        );
        // A new section lands next to its siblings.
        check(
            "[tools.fetch]\ntimeout_ms = 1\n\n[server]\nx = 1\n",
            "tools.search.timeout_ms",
            json!(5),
            "[tools.fetch]\ntimeout_ms = 1\n\n[tools.search]\ntimeout_ms = 5\n\n[server]\nx = 1\n",
        );
        // Dotted keys stay dotted.
        check(
            "tools.fetch.timeout_ms = 1 # dotted\n",
            "tools.fetch.retries",
            json!(2),
            "tools.fetch.timeout_ms = 1 # dotted\ntools.fetch.retries = 2\n",
        );
        // An empty file gets its first section.
        check(
            "",
            "tools.fetch.timeout_ms",
            json!(5),
            "[tools.fetch]\ntimeout_ms = 5\n",
        );
    }

    #[test]
    fn an_existing_table_is_edited_key_by_key() {
        let text = "[tools.fetch.retry]\n# attempts in all\nmax_attempts = 2 # low\ninitial_delay_ms = 500\njitter = true\n";
        let (_dir, path) = setup(text);
        let p = plan(
            &path,
            None,
            &edit(
                "tools.fetch.retry",
                json!({"max_attempts": 4, "initial_delay_ms": 500}),
            ),
        )
        .unwrap();
        assert_eq!(
            p.after_text,
            "[tools.fetch.retry]\n# attempts in all\nmax_attempts = 4 # low\ninitial_delay_ms = 500\n"
        );
        let e = plan(&path, None, &edit("tools.fetch.retry", json!(3))).unwrap_err();
        assert!(e.to_string().contains("give an object"), "{e}");
    }

    #[test]
    fn bad_keys_values_and_files_are_refused_clearly() {
        let (dir, path) = setup(CONFIG);
        let e = plan(&path, None, &edit("tools..x", json!(1))).unwrap_err();
        assert!(e.to_string().contains("not a dotted TOML key"), "{e}");
        let e = plan(&path, None, &edit("server.name.first", json!(1))).unwrap_err();
        assert!(
            e.to_string().contains("string where a table is needed"),
            "{e}"
        );
        let e = plan(&path, None, &edit("tools.fetch.timeout_ms", json!(null))).unwrap_err();
        assert!(e.to_string().contains("null"), "{e}");
        let e = plan(&path, None, &edit("x", json!(u64::MAX))).unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
        let missing = dir.path().join("absent.toml");
        let e = plan(&missing, None, &edit("x", json!(1))).unwrap_err();
        assert!(matches!(e, ConfigEditError::NotFound { .. }), "{e}");
        assert!(e.to_string().contains("does not exist"), "{e}");
        fs::write(&path, "this is [ not toml").unwrap();
        let e = plan(&path, None, &edit("x", json!(1))).unwrap_err();
        assert!(e.to_string().contains("is not valid TOML"), "{e}");
    }

    #[test]
    fn paths_other_than_the_declared_file_are_refused() {
        let (dir, path) = setup(CONFIG);
        let other = dir.path().join("other.toml");
        fs::write(&other, "x = 1\n").unwrap();
        let e = plan(&path, Some(&other), &edit("x", json!(2))).unwrap_err();
        assert!(matches!(e, ConfigEditError::OutsideDeclared { .. }), "{e}");
        assert!(
            e.to_string()
                .starts_with(&format!("only {} may be edited", path.display())),
            "{e}"
        );
        // A traversal that leaves and re-enters resolves to the declared file: allowed.
        let dotted = dir.path().join("sub/../agent.toml");
        fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(plan(&path, Some(&dotted), &edit("x", json!(2))).is_ok());
        // Missing requested file.
        let e = plan(
            &path,
            Some(&dir.path().join("nope.toml")),
            &edit("x", json!(2)),
        )
        .unwrap_err();
        assert!(e.to_string().contains("cannot be resolved"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_resolve_to_their_target() {
        let (dir, path) = setup(CONFIG);
        let other = dir.path().join("other.toml");
        fs::write(&other, "x = 1\n").unwrap();
        // A link to another file is refused ...
        let sneaky = dir.path().join("agent-link.toml");
        std::os::unix::fs::symlink(&other, &sneaky).unwrap();
        let e = plan(&path, Some(&sneaky), &edit("x", json!(2))).unwrap_err();
        assert!(e.to_string().contains("resolves to"), "{e}");
        // ... a link to the declared file is the declared file.
        let honest = dir.path().join("honest.toml");
        std::os::unix::fs::symlink(&path, &honest).unwrap();
        assert!(plan(&path, Some(&honest), &edit("x", json!(2))).is_ok());
        // A declared symlink is edited at its target and stays a link.
        let p = plan(&honest, None, &edit("tools.fetch.retries", json!(3))).unwrap();
        assert_eq!(p.path, fs::canonicalize(&path).unwrap());
        apply(&p, &dir.path().join("backups")).unwrap();
        assert!(
            fs::symlink_metadata(&honest)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            fs::read_to_string(&honest)
                .unwrap()
                .contains("retries    = 3")
        );
    }

    #[test]
    fn apply_then_rollback_restores_the_exact_bytes() {
        // CRLF, no final newline, odd spacing: rollback must not normalise anything.
        let text = "# crlf file\r\n[tools.fetch]\r\ntimeout_ms=30000\r\nname = 'x'";
        let (dir, path) = setup(text);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        }
        let p = plan(&path, None, &edit("tools.fetch.timeout_ms", json!(60000))).unwrap();
        let backups = dir.path().join("backups");
        let applied = apply(&p, &backups).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), p.after_text);
        assert_eq!(
            p.after_text,
            text.replace("timeout_ms=30000", "timeout_ms=60000")
        );
        assert_eq!(fs::read(&applied.backup_path).unwrap(), text.as_bytes());
        assert!(applied.backup_path.is_absolute());
        assert!(
            applied
                .backup_path
                .starts_with(fs::canonicalize(&backups).unwrap())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640);
        }
        // Persisted and read back, the record still rolls back.
        let json = serde_json::to_string(&applied).unwrap();
        let applied: Applied = serde_json::from_str(&json).unwrap();
        rollback(&applied).unwrap();
        assert_eq!(fs::read(&path).unwrap(), text.as_bytes());
        // Idempotent.
        rollback(&applied).unwrap();
        assert_eq!(fs::read(&path).unwrap(), text.as_bytes());
        // No temporary files left behind.
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn apply_refuses_a_file_changed_since_the_preview() {
        let (dir, path) = setup(CONFIG);
        let p = plan(&path, None, &edit("tools.fetch.timeout_ms", json!(60000))).unwrap();
        let human = CONFIG.replace("retries    = 1", "retries    = 5");
        fs::write(&path, &human).unwrap();
        let e = apply(&p, &dir.path().join("backups")).unwrap_err();
        assert!(
            matches!(e, ConfigEditError::ChangedSincePreview { .. }),
            "{e}"
        );
        assert!(e.to_string().contains(&p.before_sha256), "{e}");
        assert_eq!(fs::read_to_string(&path).unwrap(), human);
        assert!(
            !dir.path().join("backups").exists()
                || fs::read_dir(dir.path().join("backups"))
                    .unwrap()
                    .next()
                    .is_none()
        );
        // A damaged plan is refused too.
        let (_dir2, path2) = setup(CONFIG);
        let mut p = plan(&path2, None, &edit("tools.fetch.timeout_ms", json!(60000))).unwrap();
        p.after_text.push_str("evil = true\n");
        let e = apply(&p, &dir.path().join("backups")).unwrap_err();
        assert!(e.to_string().contains("damaged"), "{e}");
        assert_eq!(fs::read_to_string(&path2).unwrap(), CONFIG);
    }

    #[test]
    fn rollback_refuses_to_clobber_a_later_human_edit() {
        let (dir, path) = setup(CONFIG);
        let p = plan(&path, None, &edit("tools.fetch.timeout_ms", json!(60000))).unwrap();
        let applied = apply(&p, &dir.path().join("backups")).unwrap();
        let human = format!("{}# tuned by hand\n", p.after_text);
        fs::write(&path, &human).unwrap();
        let e = rollback(&applied).unwrap_err();
        assert!(
            matches!(e, ConfigEditError::ChangedSinceApply { .. }),
            "{e}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains(&applied.after_sha256) && msg.contains(&sha256_hex(human.as_bytes())),
            "{msg}"
        );
        assert!(
            msg.contains(&applied.backup_path.display().to_string()),
            "{msg}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), human);
        assert!(matches!(AppError::from(e), AppError::Conflict(_)));
    }

    #[test]
    fn rollback_refuses_a_damaged_backup() {
        let (dir, path) = setup(CONFIG);
        let p = plan(&path, None, &edit("tools.fetch.timeout_ms", json!(60000))).unwrap();
        let applied = apply(&p, &dir.path().join("backups")).unwrap();
        fs::write(&applied.backup_path, "truncated").unwrap();
        let e = rollback(&applied).unwrap_err();
        assert!(e.to_string().contains("does not match the checksum"), "{e}");
        assert_eq!(fs::read_to_string(&path).unwrap(), p.after_text);
    }

    /// A write to run between the checks and the replace (the race being tested).
    type Race = Option<Box<dyn FnOnce(&Path)>>;

    thread_local! {
        static BEFORE_REPLACE: std::cell::RefCell<Race> = const { std::cell::RefCell::new(None) };
    }

    /// Called by `replace_checked` right before it replaces the file.
    pub(super) fn before_replace(path: &Path) {
        if let Some(write) = BEFORE_REPLACE.with(|h| h.borrow_mut().take()) {
            write(path);
        }
    }

    fn race(write: impl FnOnce(&Path) + 'static) {
        BEFORE_REPLACE.with(|h| *h.borrow_mut() = Some(Box::new(write)));
    }

    fn tmp_files(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn a_write_between_the_check_and_the_replace_is_not_clobbered() {
        let (dir, path) = setup(CONFIG);
        let p = plan(&path, None, &edit("tools.fetch.timeout_ms", json!(60000))).unwrap();
        let human = CONFIG.replace("retries    = 1", "retries    = 7");
        let h = human.clone();
        race(move |path| fs::write(path, h).unwrap());
        let e = apply(&p, &dir.path().join("backups")).unwrap_err();
        assert!(
            matches!(&e, ConfigEditError::ChangedSincePreview { actual, .. }
                if *actual == sha256_hex(human.as_bytes())),
            "{e}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), human);
        assert!(tmp_files(dir.path()).is_empty());
    }

    #[test]
    fn an_editor_saving_by_rename_during_the_replace_is_not_clobbered() {
        let (dir, path) = setup(CONFIG);
        let p = plan(&path, None, &edit("tools.fetch.timeout_ms", json!(60000))).unwrap();
        let human = format!("{CONFIG}# saved by an editor\n");
        let h = human.clone();
        race(move |path| {
            let swap = path.with_extension("swp");
            fs::write(&swap, h).unwrap();
            fs::rename(&swap, path).unwrap();
        });
        let e = apply(&p, &dir.path().join("backups")).unwrap_err();
        assert!(
            matches!(e, ConfigEditError::ChangedSincePreview { .. }),
            "{e}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), human);
        assert!(tmp_files(dir.path()).is_empty());
    }

    #[test]
    fn a_write_racing_a_rollback_is_not_clobbered() {
        let (dir, path) = setup(CONFIG);
        let p = plan(&path, None, &edit("tools.fetch.timeout_ms", json!(60000))).unwrap();
        let applied = apply(&p, &dir.path().join("backups")).unwrap();
        let human = format!("{}# tuned by hand\n", p.after_text);
        let h = human.clone();
        race(move |path| fs::write(path, h).unwrap());
        let e = rollback(&applied).unwrap_err();
        assert!(
            matches!(e, ConfigEditError::ChangedSinceApply { .. }),
            "{e}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), human);
        // Nothing raced: the rollback goes through and leaves no temporary file.
        let p = plan(&path, None, &edit("tools.fetch.timeout_ms", json!(90000))).unwrap();
        let applied = apply(&p, &dir.path().join("backups")).unwrap();
        rollback(&applied).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), human);
        assert!(tmp_files(dir.path()).is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_exchange_swaps_two_files_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, "A").unwrap();
        fs::write(&b, "B").unwrap();
        assert!(
            exchange(&a, &b).unwrap(),
            "RENAME_EXCHANGE is available here"
        );
        assert_eq!(fs::read_to_string(&a).unwrap(), "B");
        assert_eq!(fs::read_to_string(&b).unwrap(), "A");
    }

    #[cfg(unix)]
    #[test]
    fn the_replace_keeps_the_permissions_and_swaps_the_file() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let (dir, path) = setup(CONFIG);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let inode = fs::metadata(&path).unwrap().ino();
        let p = plan(&path, None, &edit("tools.fetch.timeout_ms", json!(60000))).unwrap();
        apply(&p, &dir.path().join("backups")).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
        assert_ne!(
            meta.ino(),
            inode,
            "replaced by a new file, not written in place"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), p.after_text);
        assert!(tmp_files(dir.path()).is_empty());
    }
}
