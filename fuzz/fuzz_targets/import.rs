//! Every importer's reader, fed the same way the importer feeds it: the first byte picks the
//! reader (Claude Code, Codex, OTLP JSON lines, self-heal JSONL, Gemini CLI, SWE-agent, the
//! hook event, format detection), the rest is the file. Line readers get the file line by
//! line in two increments, their state carried across as the importer persists it (JSON), so
//! a restart in the middle of a file is fuzzed too. No panic, and every skip names a line
//! that was read.

#![no_main]

use libfuzzer_sys::fuzz_target;
use selfheal_import::model::{Output, SourceFile};
use selfheal_import::{claude, codex, detect, gemini, hook, jsonl, otel, swe};

/// Lines as the importer hands them over: without the newline and a trailing `\r`.
fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

/// Reads `file` with a line reader in two increments split at `cut` lines.
fn read_lines(kind: u8, file: &[u8], cut: usize, source: &SourceFile, out: &mut Output) {
    let all = lines(file);
    let cut = cut.min(all.len());
    let (first, second) = all.split_at(cut);
    let offsets: Vec<u64> = all
        .iter()
        .scan(0u64, |at, l| {
            let start = *at;
            *at += l.len() as u64 + 1;
            Some(start)
        })
        .collect();
    match kind {
        0 => {
            let mut p = claude::Parser::new(claude::State::default());
            for (i, l) in first.iter().enumerate() {
                p.line(l, i as u64 + 1, source, out);
            }
            p.flush(out);
            let state = roundtrip(p.state());
            let mut p = claude::Parser::new(state);
            for (i, l) in second.iter().enumerate() {
                p.line(l, (cut + i) as u64 + 1, source, out);
            }
            p.flush(out);
        }
        1 => {
            let mut p = codex::Parser::new(codex::State::default());
            for (i, l) in first.iter().enumerate() {
                p.line(l, i as u64 + 1, offsets[i], source, out);
            }
            let state = roundtrip(p.state());
            let mut p = codex::Parser::new(state);
            for (i, l) in second.iter().enumerate() {
                p.line(l, (cut + i) as u64 + 1, offsets[cut + i], source, out);
            }
        }
        2 => {
            let mut p = otel::Parser::new(otel::State::default());
            for l in first {
                p.learn(l);
            }
            for (i, l) in first.iter().enumerate() {
                p.line(l, i as u64 + 1, source, out);
            }
            let state = roundtrip(p.state());
            let mut p = otel::Parser::new(state);
            for l in second {
                p.learn(l);
            }
            for (i, l) in second.iter().enumerate() {
                p.line(l, (cut + i) as u64 + 1, source, out);
            }
        }
        _ => {
            for (i, l) in all.iter().enumerate() {
                jsonl::line(l, i as u64 + 1, source, out);
            }
        }
    }
}

/// A reader state through JSON, as the importer stores it between increments.
fn roundtrip<T: serde::Serialize + serde::de::DeserializeOwned>(state: &T) -> T {
    let json = serde_json::to_string(state).expect("a reader state serialises");
    serde_json::from_str(&json).expect("a stored reader state reads back")
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (cut, file) = match rest.split_first() {
        Some((&c, f)) => (usize::from(c), f),
        None => (0, rest),
    };
    let source = SourceFile {
        path: "/fuzz/session-0f3c.jsonl".into(),
        mtime_ms: 1_780_000_000_000,
    };
    let mut out = Output::default();
    match selector % 8 {
        k @ 0..=3 => read_lines(k, file, cut, &source, &mut out),
        4 => gemini::parse(file, &source, &mut out),
        5 => swe::parse(file, &source, &mut out),
        6 => {
            let _ = hook::records(file, 1_780_000_000_000);
        }
        _ => {
            let path = std::path::Path::new("/fuzz/x.jsonl");
            let _ = detect::detect(path, file, cut % 2 == 0);
        }
    }
    let line_count = file.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    for skip in &out.skips {
        assert!(
            skip.line <= line_count,
            "skip at line {} of {line_count}",
            skip.line
        );
    }
});
