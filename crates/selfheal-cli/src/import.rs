//! `self-heal import`: other agents' histories into the run-history database.
//!
//! A progress bar on stderr when stderr is a terminal and the import takes a moment; the
//! summary on stdout (text, or the `Summary` as JSON with `--json`). Exit code 1 when a path
//! or file could not be read or the database could not be written (the summary lists them);
//! skipped lines alone are not an error.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use selfheal_store::Database;
use std::time::{Duration, Instant};

use anyhow::bail;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use selfheal_import::{Format, Importer, Options, Progress, Summary};

/// Parses `--format`.
pub fn format_choice(name: &str) -> anyhow::Result<Option<Format>> {
    if name == "auto" {
        return Ok(None);
    }
    match Format::parse(name) {
        Some(f) => Ok(Some(f)),
        None => {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
            bail!(
                "unknown --format {name:?}; accepted: auto, {}",
                names.join(", ")
            )
        }
    }
}

/// A bar that appears only if the import is still running after a moment, on a terminal.
struct Bar {
    bar: Option<ProgressBar>,
    started: Instant,
    tty: bool,
    /// (bytes done, instant) when the bar appeared: the rate is measured from there.
    origin: Option<(u64, Instant)>,
}

impl Bar {
    fn new() -> Bar {
        Bar {
            bar: None,
            started: Instant::now(),
            tty: std::io::stderr().is_terminal(),
            origin: None,
        }
    }

    fn update(&mut self, p: &Progress<'_>) {
        if !self.tty || self.started.elapsed() < Duration::from_millis(300) {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(
                Some(p.bytes_total),
                ProgressDrawTarget::stderr_with_hz(8),
            );
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} importing {bytes}/{total_bytes} {wide_msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        bar.set_length(p.bytes_total);
        bar.set_position(p.bytes_done);
        let name = p
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // The rate counts only what followed the bar's appearance.
        let (from, since) = *self.origin.get_or_insert((p.bytes_done, Instant::now()));
        let secs = since.elapsed().as_secs_f64();
        let rate = if secs > 0.2 {
            format!(
                "{:.0} MB/s, ",
                p.bytes_done.saturating_sub(from) as f64 / 1e6 / secs
            )
        } else {
            String::new()
        };
        bar.set_message(format!(
            "({rate}file {}/{}) {name}",
            p.files_done + 1,
            p.files_total
        ));
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Runs the import; returns whether it went without errors.
pub fn run(db: Database, paths: Vec<PathBuf>, format: &str, json: bool) -> anyhow::Result<bool> {
    let options = Options {
        format: format_choice(format)?,
        ..Options::default()
    };
    if paths.is_empty() {
        bail!("give at least one file or folder to import");
    }
    let mut importer = Importer::with_writer(selfheal_postgres::open_writer(&db)?, options);
    let mut bar = Bar::new();
    let summary = importer.import(&paths, &mut |p| bar.update(p));
    bar.finish();
    let summary = summary?;
    let mut out = std::io::stdout().lock();
    // File names and skip reasons come from the files read: terminal-safe either way.
    if json {
        selfheal_app::sanitize::write_json(&mut out, &summary, true)?;
        writeln!(out)?;
    } else {
        let text = render(&summary);
        write!(
            out,
            "{}",
            selfheal_app::sanitize::clean(&text, selfheal_app::sanitize::Sink::Terminal)
        )?;
    }
    Ok(summary.errors.is_empty())
}

/// The text summary.
pub fn render(s: &Summary) -> String {
    let f = &s.files;
    let mut out = format!(
        "imported into {} in {:.1} s ({:.1} MB read)\n",
        s.database,
        s.elapsed_ms as f64 / 1000.0,
        s.bytes_read as f64 / 1e6
    );
    out.push_str(&format!(
        "files: {} seen, {} read, {} unchanged, {} rewritten, {} copies, {} unrecognised, {} skipped, {} pending, {} failed{}\n",
        f.seen,
        f.read,
        f.unchanged,
        f.rewritten,
        f.copies,
        f.unrecognised,
        f.skipped,
        f.pending,
        f.failed,
        if f.concurrent > 0 {
            format!(", {} left to a concurrent import", f.concurrent)
        } else {
            String::new()
        }
    ));
    out.push_str(&format!(
        "runs: {} new, {} updated; calls: {} added ({} failed); events: {} added; already imported: {}\n",
        s.runs_new,
        s.runs_updated,
        s.calls_added,
        s.failed_calls_added,
        s.events_added,
        s.duplicates_skipped
    ));
    if s.partial_lines_left > 0 {
        out.push_str(&format!(
            "{} unterminated last line(s) left for the next import (still being written?)\n",
            s.partial_lines_left
        ));
    }
    if s.awaiting_start > 0 {
        out.push_str(&format!(
            "{} call result(s) read before their call: kept until the call is read\n",
            s.awaiting_start
        ));
    }
    if s.skipped > 0 {
        out.push_str(&format!("skipped {} line(s) or document(s):\n", s.skipped));
        for (reason, n) in &s.skipped_by_reason {
            out.push_str(&format!("  {n:>6}  {reason}\n"));
        }
        out.push_str("  first ones:\n");
        for note in s.skipped_samples.iter().take(10) {
            out.push_str(&format!(
                "    {}:{}: {}\n",
                note.file, note.line, note.reason
            ));
        }
    }
    if !s.errors.is_empty() {
        out.push_str("errors:\n");
        for e in &s.errors {
            out.push_str(&format!("  {}: {}\n", e.path, e.error));
        }
    }
    out
}
