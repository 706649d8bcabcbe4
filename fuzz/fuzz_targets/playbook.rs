//! The user TOML readers: playbooks and the healing policy. Any text is strategies (merged
//! with the built-ins) or a policy (whose rules render), or an error with a line inside the
//! text, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use selfheal_core::playbook::{builtin_playbooks, merge, parse_user_playbooks};
use selfheal_core::policy::{Policy, rules_text};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.split('\n').count().max(1);
    match Policy::parse(text) {
        Ok(policy) => {
            let rules: Vec<_> = ["auto_apply", "classes", "max_risk", "cooldown"]
                .into_iter()
                .map(|setting| policy.rule(setting))
                .collect();
            let _ = rules_text(&rules);
        }
        Err(e) => {
            if let Some(line) = e.line {
                assert!(
                    line >= 1 && line <= lines,
                    "policy: line {line} of {lines}: {e}"
                );
            }
        }
    }
    match parse_user_playbooks(text) {
        Ok(strategies) => {
            let merged = merge(builtin_playbooks(), strategies);
            assert!(!merged.is_empty());
        }
        Err(e) => {
            if let Some(line) = e.line {
                assert!(line >= 1 && line <= lines, "line {line} of {lines}: {e}");
            }
            let _ = e.to_string();
        }
    }
});
