//! Tidy checks of the codebase's invariants (ARCHITECTURE.md), asserted by `cargo test`.

use std::path::{Path, PathBuf};

use selfheal_tests::workspace_root;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !path.ends_with("target") && !path.ends_with("data") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's text up to its `#[cfg(test)]` module: the code that ships.
fn shipped_code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn all_rust_files() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut files = Vec::new();
    for dir in ["crates", "mcps", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    files
}

#[test]
fn every_module_starts_with_a_doc_comment() {
    let missing: Vec<String> = all_rust_files()
        .into_iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a `//!` doc: {missing:#?}"
    );
}

fn manifest(path: &str) -> String {
    std::fs::read_to_string(workspace_root().join(path)).unwrap()
}

#[test]
fn dependency_direction_holds() {
    for krate in [
        "selfheal-core",
        "selfheal-store",
        "selfheal-import",
        "selfheal-harness",
        "selfheal-app",
        "selfheal-synth",
        "selfheal-cli",
    ] {
        let m = manifest(&format!("crates/{krate}/Cargo.toml"));
        assert!(
            !m.contains("rmcp"),
            "{krate} must not depend on rmcp: only the MCP server speaks MCP"
        );
    }
    let core = manifest("crates/selfheal-core/Cargo.toml");
    for forbidden in ["rusqlite", "tokio", "selfheal-store", "selfheal-app"] {
        assert!(
            !core.contains(forbidden),
            "selfheal-core must stay pure: it depends on {forbidden}"
        );
    }
    let store = manifest("crates/selfheal-store/Cargo.toml");
    assert!(
        !store.contains("selfheal-app") && !store.contains("tokio"),
        "store depends only on core"
    );
    let import = manifest("crates/selfheal-import/Cargo.toml");
    assert!(
        !import.contains("selfheal-app") && !import.contains("tokio"),
        "the importer sits under the app layer and is synchronous"
    );
    let harness = manifest("crates/selfheal-harness/Cargo.toml");
    let harness = harness.split("[dependencies]").nth(1).unwrap_or_default();
    // It reads exit codes the way the analysis does (selfheal-core, pure), nothing with IO.
    for forbidden in [
        "rusqlite",
        "tokio",
        "selfheal-store",
        "selfheal-import",
        "selfheal-app",
    ] {
        assert!(
            !harness.contains(forbidden),
            "selfheal-harness only plans edits (text in, text out): it depends on {forbidden}"
        );
    }
    let app = manifest("crates/selfheal-app/Cargo.toml");
    assert!(
        !app.contains("tokio"),
        "the app layer is synchronous; the server moves it off the runtime"
    );
}

#[test]
fn core_never_reads_the_clock() {
    let mut files = Vec::new();
    rust_files(&workspace_root().join("crates/selfheal-core"), &mut files);
    for f in files {
        let text = shipped_code(&f);
        for needle in ["Utc::now", "SystemTime::now", "Instant::now", "Local::now"] {
            assert!(
                !text.contains(needle),
                "{} reads the clock ({needle}); pass `now` instead",
                f.display()
            );
        }
    }
}

#[test]
fn only_the_cli_prints_to_stdout() {
    let root = workspace_root();
    for f in all_rust_files() {
        let rel = f
            .strip_prefix(&root)
            .unwrap_or(&f)
            .to_string_lossy()
            .to_string();
        // Examples and benches are programs of their own; only library and server code counts.
        if rel.starts_with("crates/selfheal-cli")
            || rel.starts_with("tests")
            || !rel.contains("/src/")
        {
            continue;
        }
        let text = shipped_code(&f);
        for needle in ["println!(", "print!(", "dbg!("] {
            // `eprintln!`/`eprint!` write to stderr and are fine.
            let to_stdout = text
                .match_indices(needle)
                .any(|(i, _)| !text[..i].ends_with('e'));
            assert!(
                !to_stdout,
                "{rel} writes to stdout ({needle}); on a stdio server that corrupts the protocol"
            );
        }
    }
}
