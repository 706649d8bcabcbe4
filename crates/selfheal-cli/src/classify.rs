//! `self-heal classify`: reads flagged calls as JSON lines (a file or stdin) and prints one
//! JSON object per line, in order, with the classification the analysis uses (format in
//! `selfheal_app::classify`). Unreadable lines print `{"line": N, "error": …}` in their place
//! and make the exit status 1 once every line is done.

use std::io::{BufRead, Write};

use anyhow::Context as _;
use selfheal_app::classify::{Classifier, ClassifyInput, ClassifyOutput};

/// Longest input line read (longer lines are reported, not classified).
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

enum Line {
    Call(ClassifyOutput),
    Bad(usize, String),
}

/// Classifies every line of `input` into `out`; returns the number of unreadable lines.
pub fn run(mut input: impl BufRead, out: &mut impl Write) -> anyhow::Result<usize> {
    let mut classifier = Classifier::new();
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    let mut n = 0usize;
    loop {
        buf.clear();
        let read = std::io::Read::take(&mut input, MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .context("cannot read input")?;
        if read == 0 {
            break;
        }
        n += 1;
        if buf.len() > MAX_LINE_BYTES && !buf.ends_with(b"\n") {
            // Skip the rest of an over-long line.
            let mut rest = Vec::new();
            input
                .read_until(b'\n', &mut rest)
                .context("cannot read input")?;
            lines.push(Line::Bad(
                n,
                format!("line longer than {MAX_LINE_BYTES} bytes"),
            ));
            continue;
        }
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<ClassifyInput>(text) {
            Ok(call) => lines.push(Line::Call(classifier.classify(&call))),
            Err(e) => lines.push(Line::Bad(
                n,
                format!(
                    "not a call object ({e}); expected {{\"tool\": …, \"message\": …, \"error_type\"?, \"duration_ms\"?, \"input\"?, \"exit_code\"?}}"
                ),
            )),
        }
    }
    let mut outputs: Vec<ClassifyOutput> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Call(o) => Some(o.clone()),
            Line::Bad(..) => None,
        })
        .collect();
    classifier.final_templates(&mut outputs);
    let mut outputs = outputs.into_iter();
    let mut bad = 0;
    for line in &lines {
        let value = match line {
            Line::Call(_) => match outputs.next() {
                Some(o) => serde_json::to_value(o).context("cannot encode output")?,
                None => continue,
            },
            Line::Bad(n, e) => {
                bad += 1;
                serde_json::json!({"line": n, "error": e})
            }
        };
        selfheal_app::sanitize::write_json(&mut *out, &value, false)
            .context("cannot write output")?;
        writeln!(out).context("cannot write output")?;
    }
    Ok(bad)
}
