//! Instants and windows: tolerant timestamp parsing and the `since` grammar.
//!
//! Instants are Unix milliseconds (`i64`, UTC) everywhere in the core. The clock is never read
//! here: callers pass `now`.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Milliseconds per unit accepted in relative `since` values.
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
const WEEK_MS: i64 = 7 * DAY_MS;

/// Largest relative `since` accepted (10 years): anything larger is almost surely a typo.
const MAX_RELATIVE_MS: i64 = 3_660 * DAY_MS;

/// Text listing the accepted `since` forms, used in every error about them.
pub const SINCE_FORMS: &str = "a relative span such as -7d, 7d, -24h, -30m or -2w (units m, h, d, w), \
or an RFC 3339 instant such as 2026-01-30T00:00:00Z";

/// A half-open-at-neither-end time window `[from, to]` in Unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Window {
    /// Whether `t` lies inside the window (both ends inclusive).
    pub fn contains(&self, t: i64) -> bool {
        self.from_ms <= t && t <= self.to_ms
    }

    /// Length of the window in milliseconds.
    pub fn len_ms(&self) -> i64 {
        self.to_ms - self.from_ms
    }

    /// The serialisable description every response carries.
    pub fn view(&self) -> WindowView {
        WindowView {
            from: format_ms(self.from_ms),
            to: format_ms(self.to_ms),
        }
    }
}

/// The window as RFC 3339 strings, stated in every analysis response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WindowView {
    /// Start of the window (inclusive), RFC 3339 UTC.
    pub from: String,
    /// End of the window (inclusive), RFC 3339 UTC.
    pub to: String,
}

/// Why a `since` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid since value {value:?}: {reason}; accepted: {SINCE_FORMS}")]
pub struct SinceError {
    pub value: String,
    pub reason: &'static str,
}

/// Parses a `since` value into the window `[since, now]`.
pub fn parse_since(value: &str, now_ms: i64) -> Result<Window, SinceError> {
    let err = |reason| SinceError {
        value: value.to_string(),
        reason,
    };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(err("it is empty"));
    }
    if let Some(span) = parse_relative(trimmed) {
        let span = span.map_err(err)?;
        return Ok(Window {
            from_ms: now_ms - span,
            to_ms: now_ms,
        });
    }
    match DateTime::parse_from_rfc3339(trimmed) {
        Ok(instant) => {
            let from_ms = instant.timestamp_millis();
            if from_ms > now_ms {
                return Err(err("the instant is in the future"));
            }
            Ok(Window {
                from_ms,
                to_ms: now_ms,
            })
        }
        Err(_) => Err(err("it is neither a relative span nor an RFC 3339 instant")),
    }
}

/// `Some(Ok(ms))` for a well-formed relative span, `Some(Err)` for one with a bad number or
/// unit, `None` when the text does not look relative at all.
fn parse_relative(text: &str) -> Option<Result<i64, &'static str>> {
    let body = text.strip_prefix('-').unwrap_or(text);
    let unit = body.chars().last()?;
    let digits = &body[..body.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        // Bare numbers or words are not relative spans; let the caller report them.
        return if digits.bytes().all(|b| b.is_ascii_digit()) && !digits.is_empty() {
            Some(Err("unknown unit"))
        } else {
            None
        };
    }
    let unit_ms = match unit {
        'm' => MINUTE_MS,
        'h' => HOUR_MS,
        'd' => DAY_MS,
        'w' => WEEK_MS,
        _ if unit.is_ascii_digit() => return Some(Err("a number needs a unit (m, h, d or w)")),
        _ => return Some(Err("unknown unit; use m, h, d or w")),
    };
    let Ok(count) = digits.parse::<i64>() else {
        return Some(Err("the number is too large"));
    };
    if count == 0 {
        return Some(Err("the span must be greater than zero"));
    }
    match count.checked_mul(unit_ms) {
        Some(ms) if ms <= MAX_RELATIVE_MS => Some(Ok(ms)),
        _ => Some(Err("the span is longer than 10 years")),
    }
}

/// Parses a recorded timestamp: RFC 3339 with `Z` or an offset, or SQLite's
/// `YYYY-MM-DD HH:MM:SS[.fff]` (taken as UTC). Also accepts a `T` without a zone (UTC).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant.timestamp_millis());
    }
    // RFC 3339 allows a space instead of `T` with a zone; chrono's rfc3339 parser does too,
    // so what remains are zone-less forms.
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Utc.from_utc_datetime(&naive).timestamp_millis());
        }
    }
    None
}

/// Formats Unix milliseconds as RFC 3339 UTC with a `Z` (seconds precision unless the value
/// has milliseconds).
pub fn format_ms(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) if ms % 1000 == 0 => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => ms.to_string(),
    }
}

/// Formats a duration in milliseconds compactly for humans (`45s`, `12m`, `3h 5m`, `2d 4h`).
pub fn format_duration_ms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000_000;

    #[test]
    fn since_accepts_the_documented_forms() {
        let cases = [
            ("-7d", 7 * DAY_MS),
            ("7d", 7 * DAY_MS),
            ("-24h", 24 * HOUR_MS),
            ("-30m", 30 * MINUTE_MS),
            ("-2w", 2 * WEEK_MS),
            (" -1d ", DAY_MS),
        ];
        for (input, span) in cases {
            let w = parse_since(input, NOW).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!((w.from_ms, w.to_ms), (NOW - span, NOW), "{input}");
        }
        let w = parse_since("2026-01-30T00:00:00Z", NOW).unwrap();
        assert_eq!(w.from_ms, 1_769_731_200_000);
        let w = parse_since("2026-01-30T02:00:00+02:00", NOW).unwrap();
        assert_eq!(w.from_ms, 1_769_731_200_000);
    }

    #[test]
    fn since_rejects_everything_else_with_the_accepted_forms() {
        for input in [
            "yesterday",
            "-7x",
            "",
            "  ",
            "7",
            "-0d",
            "d",
            "-",
            "99999999999999999999d",
            "5000w",
            "2999-01-01T00:00:00Z",
            "2026-13-01",
        ] {
            let e = parse_since(input, NOW).expect_err(input);
            let msg = e.to_string();
            assert!(msg.contains("-7d") && msg.contains("RFC 3339"), "{msg}");
        }
    }

    #[test]
    fn timestamps_in_every_recorded_form() {
        let expect = 1_763_640_000_000; // 2025-11-20T12:00:00Z
        for input in [
            "2025-11-20T12:00:00Z",
            "2025-11-20T12:00:00.000Z",
            "2025-11-20T14:00:00+02:00",
            "2025-11-20T07:00:00-05:00",
            "2025-11-20 12:00:00",
            "2025-11-20 12:00:00.000",
            "2025-11-20T12:00:00",
        ] {
            assert_eq!(parse_timestamp(input), Some(expect), "{input}");
        }
        assert_eq!(
            parse_timestamp("2025-11-20T12:00:00.250Z"),
            Some(expect + 250)
        );
        for bad in ["", "yesterday", "2025-11-20", "12:00:00", "1763640000"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        assert_eq!(format_ms(1_763_640_000_000), "2025-11-20T12:00:00Z");
        assert_eq!(format_ms(1_763_640_000_250), "2025-11-20T12:00:00.250Z");
        assert_eq!(format_duration_ms(45_000), "45s");
        assert_eq!(format_duration_ms(3_900_000), "1h 5m");
        assert_eq!(format_duration_ms(2 * DAY_MS + 4 * HOUR_MS), "2d 4h");
    }
}
