//! The `since` grammar, the span of settings (`cooldown`) and the tolerant timestamp reader:
//! no panic on any text, a window that is accepted always ends at `now` and starts no later
//! than it, and a span is positive.

#![no_main]

use libfuzzer_sys::fuzz_target;
use selfheal_core::time::{parse_since, parse_span, parse_timestamp};

/// The instants `SELFHEAL_NOW` or the clock can give (RFC 3339 years 0000–9999), in ms.
const MIN_NOW: i64 = -62_167_219_200_000;
const MAX_NOW: i64 = 253_402_300_799_999;

fuzz_target!(|data: &[u8]| {
    let (now, text) = match data.split_first_chunk::<8>() {
        Some((head, rest)) => (i64::from_le_bytes(*head), rest),
        None => (0, data),
    };
    let now_ms = now.rem_euclid(MAX_NOW - MIN_NOW) + MIN_NOW;
    let text = String::from_utf8_lossy(text);
    if let Ok(window) = parse_since(&text, now_ms) {
        assert_eq!(window.to_ms, now_ms);
        assert!(
            window.from_ms <= window.to_ms,
            "{text:?} at {now_ms}: {window:?}"
        );
        let _ = window.view();
    }
    if let Ok(ms) = parse_span(&text) {
        assert!(ms > 0, "{text:?}: {ms}");
    }
    if let Some(ms) = parse_timestamp(&text) {
        let _ = selfheal_core::time::format_ms(ms);
    }
});
