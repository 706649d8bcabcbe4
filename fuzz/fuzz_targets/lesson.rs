//! Lessons from a hostile history: whatever the recorded tools, programs and commands, a
//! lesson's statements are short single lines whose quoted spans hold only bounded tokens, and
//! its managed block comes out of any instruction file exactly as it went in.
//!
//! Input: lines. The first is the failed call's tool, the second its program; each further line
//! is a later call, `tool<TAB>command<TAB>ok` (`ok` = succeeded). After the first blank line,
//! the rest is the instruction file the block is written into.

#![no_main]

use libfuzzer_sys::fuzz_target;
use selfheal_core::classify::FailureClass;
use selfheal_core::remedy::{self, FailedCall, LaterCall, LessonFacts, MAX_STATEMENT};
use selfheal_harness::block;

/// What a backticked span of a lesson may hold: the strict grammar of tool names, programs and
/// command heads (a statement cut at its length limit may end inside a span).
fn quotable(span: &str) -> bool {
    span.chars()
        .all(|c| c.is_ascii_alphanumeric() || "._/+- ".contains(c))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (history, file) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = history.lines();
    let tool = lines.next().unwrap_or_default();
    let program = lines.next().filter(|p| !p.is_empty());
    let later: Vec<LaterCall<'_>> = lines
        .map(|l| {
            let mut f = l.split('\t');
            LaterCall {
                tool: f.next().unwrap_or_default(),
                command: f.next(),
                fingerprint: None,
                succeeded: f.next() == Some("ok"),
            }
        })
        .collect();
    let failed = FailedCall {
        tool,
        program,
        fingerprint: None,
    };
    let found: Vec<(u32, remedy::Recovery)> = (0..later.len().min(4) as u32)
        .filter_map(|i| remedy::recovery(&failed, &later[i as usize..]).map(|r| (i, r)))
        .collect();
    let recoveries = remedy::tally(found);
    let lesson = remedy::lesson(&LessonFacts {
        class: FailureClass::DependencyFailure,
        tool,
        program,
        failures: later.len() as u64 + 1,
        runs: 1,
        recoveries: &recoveries,
    });
    for s in &lesson.text {
        assert!(s.chars().count() <= MAX_STATEMENT, "{s:?}");
        assert!(!s.contains(['\n', '\r']), "{s:?}");
        // A statement cut at its limit ends with "…", possibly inside a span.
        let whole = s.strip_suffix('…').unwrap_or(s);
        for (i, span) in whole.split('`').enumerate() {
            if i % 2 == 1 {
                assert!(quotable(span), "quoted {span:?} in {s:?}");
            }
        }
    }
    let heading = remedy::heading(FailureClass::DependencyFailure, tool, program);
    let rendered = block::render("imp-fuzz", &heading, &lesson.text);
    let before = (!file.is_empty()).then_some(file);
    if let Ok((after, inserted)) = block::insert(before, "imp-fuzz", &rendered, false, "f") {
        let back = block::remove(&after, "imp-fuzz", &inserted, before.is_none(), false, false, "f")
            .expect("our own block comes out");
        assert_eq!(back.as_deref(), before, "the file is as it was");
    }
});
