//! The user playbook TOML reader: any text is strategies or an error with a position inside
//! the text, never a panic; accepted strategies merge with the built-ins.

#![no_main]

use libfuzzer_sys::fuzz_target;
use selfheal_core::playbook::{builtin_playbooks, merge, parse_user_playbooks};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_user_playbooks(text) {
        Ok(strategies) => {
            let merged = merge(builtin_playbooks(), strategies);
            assert!(!merged.is_empty());
        }
        Err(e) => {
            let lines = text.split('\n').count().max(1);
            if let Some(line) = e.line {
                assert!(line >= 1 && line <= lines, "line {line} of {lines}: {e}");
            }
            let _ = e.to_string();
        }
    }
});
