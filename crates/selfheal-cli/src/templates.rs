//! `self-heal templates`: mines templates from one message per line and prints, in input
//! order, each line's template id and final template.
//!
//! Two passes: every line is first added to one [`TemplateMiner`] (partition `""`), then each
//! line is printed with the cluster it joined and that cluster's *final* template, so lines
//! of one group always show the same template.
//!
//! Output formats:
//! - human: `T<id>\t<template>`, one line per input line;
//! - `--json`: one JSON array with one object per input line,
//!   `{"template_id": <u32>, "template": "<string>"}`.

use std::io::{BufRead, Write};

use anyhow::Context as _;
use selfheal_core::template::TemplateMiner;
use serde::Serialize;

#[derive(Serialize)]
struct Line<'a> {
    template_id: u32,
    template: &'a str,
}

/// Reads one message per line from `input` and writes each line's template to `out`.
pub fn run(input: impl BufRead, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let mut miner = TemplateMiner::new();
    let mut ids = Vec::new();
    for line in input.lines() {
        let line = line.context("cannot read input line")?;
        let message = line.strip_suffix('\r').unwrap_or(&line);
        ids.push(miner.add("", message).cluster_id);
    }
    let templates: Vec<String> = miner
        .clusters()
        .iter()
        .map(|c| c.tokens.join(" "))
        .collect();
    let template_of = |id: u32| -> &str {
        let i = miner
            .clusters()
            .binary_search_by_key(&id, |c| c.id)
            .unwrap_or(usize::MAX);
        templates.get(i).map_or("", String::as_str)
    };
    if json {
        let lines: Vec<Line<'_>> = ids
            .iter()
            .map(|&id| Line {
                template_id: id,
                template: template_of(id),
            })
            .collect();
        selfheal_app::sanitize::write_json(&mut *out, &lines, false)
            .context("cannot write output")?;
        writeln!(out).context("cannot write output")?;
    } else {
        for &id in &ids {
            let template =
                selfheal_app::sanitize::clean(template_of(id), selfheal_app::sanitize::Sink::Line);
            writeln!(out, "T{id}\t{template}").context("cannot write output")?;
        }
    }
    out.flush().context("cannot write output")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, json: bool, expected: &str) {
        let mut out = Vec::new();
        run(input.as_bytes(), json, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn human_output_uses_final_templates() {
        check(
            "user alice logged in\ndisk full\nuser bob logged in\n",
            false,
            "T1\tuser <*> logged in\nT2\tdisk full\nT1\tuser <*> logged in\n",
        );
    }

    #[test]
    fn json_output() {
        check(
            "open /a/b failed\r\nopen /c failed\n",
            true,
            "[{\"template_id\":1,\"template\":\"open <PATH> failed\"},{\"template_id\":1,\"template\":\"open <PATH> failed\"}]\n",
        );
    }

    #[test]
    fn empty_input() {
        check("", true, "[]\n");
        check("", false, "");
    }
}
