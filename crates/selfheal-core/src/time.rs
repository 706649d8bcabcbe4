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

/// Parses a span such as `30m`, `24h`, `7d` or `2w` (units m, h, d, w; a leading `-` is
/// accepted and ignored) into milliseconds, for settings that are durations rather than windows.
pub fn parse_span(value: &str) -> Result<i64, &'static str> {
    match parse_relative(value.trim()) {
        Some(result) => result,
        None => Err("not a span; use a number and a unit such as 30m, 24h, 7d or 2w"),
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
    if let Some(ms) = parse_common(text.as_bytes()) {
        return Some(ms);
    }
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

/// Fast path for the forms agents write almost always:
/// `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH:MM]` (no zone = UTC). `None` sends the text to the
/// general parsers, which accept the same and more; a test checks both agree.
fn parse_common(b: &[u8]) -> Option<i64> {
    fn num(b: &[u8]) -> Option<i64> {
        b.iter().try_fold(0i64, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    }
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (hour, minute, second) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut millis = 0i64;
    if let Some((b'.', frac)) = rest.split_first() {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let mut ms_digits = [b'0'; 3];
        for (slot, d) in ms_digits.iter_mut().zip(&frac[..digits]) {
            *slot = *d;
        }
        millis = num(&ms_digits)?;
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (num(&[*h1, *h2])?, num(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            if *sign == b'+' {
                h * 60 + m
            } else {
                -(h * 60 + m)
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_min * 60;
    Some(seconds * 1_000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn spans_are_durations() {
        assert_eq!(parse_span("24h"), Ok(24 * HOUR_MS));
        assert_eq!(parse_span(" 30m "), Ok(30 * MINUTE_MS));
        assert_eq!(parse_span("2w"), Ok(2 * WEEK_MS));
        assert!(parse_span("0h").is_err());
        assert!(parse_span("soon").is_err());
        assert!(parse_span("5").is_err());
        assert!(parse_span("2026-01-01T00:00:00Z").is_err());
    }

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
    fn fast_path_agrees_with_the_general_parsers() {
        let general = |t: &str| -> Option<i64> {
            DateTime::parse_from_rfc3339(t)
                .map(|d| d.timestamp_millis())
                .ok()
                .or_else(|| {
                    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                        .iter()
                        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
                        .map(|n| Utc.from_utc_datetime(&n).timestamp_millis())
                })
        };
        let mut cases = vec![
            "2024-02-29T23:59:59.999Z".to_string(),
            "2023-02-29T00:00:00Z".into(),
            "2026-13-01T00:00:00Z".into(),
            "2026-11-20T12:00:00+14:00".into(),
            "2026-11-20T12:00:00.1234567Z".into(),
            "1969-12-31T23:59:59Z".into(),
            "2026-11-20 12:00:00.5".into(),
            "2026-11-20T24:00:00Z".into(),
            "2026-11-20T12:00:00+0200".into(),
        ];
        for year in [1970, 1999, 2000, 2024, 2100] {
            for month in 1..=12 {
                for (day, hour, frac, zone) in [
                    (1, 0, "", "Z"),
                    (28, 13, ".25", "-05:30"),
                    (31, 23, ".999", ""),
                    (30, 7, ".1", "+02:00"),
                ] {
                    cases.push(format!(
                        "{year}-{month:02}-{day:02}T{hour:02}:59:58{frac}{zone}"
                    ));
                    cases.push(format!("{year}-{month:02}-{day:02} {hour:02}:00:00{frac}"));
                }
            }
        }
        for case in &cases {
            let fast = parse_common(case.as_bytes());
            if let Some(fast) = fast {
                assert_eq!(Some(fast), general(case), "{case}");
            }
            assert_eq!(parse_timestamp(case), general(case), "{case}");
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

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// A relative span is the window `[now - n·unit, now]`, signed or not, for every
            /// count up to the 10-year bound, and refused past it.
            #[test]
            fn a_relative_span_is_its_length(
                n in 1i64..600_000,
                unit in prop::sample::select(vec![('m', MINUTE_MS), ('h', HOUR_MS), ('d', DAY_MS), ('w', WEEK_MS)]),
                signed in any::<bool>(),
                now in 0i64..4_000_000_000_000,
            ) {
                let text = format!("{}{n}{}", if signed { "-" } else { "" }, unit.0);
                match parse_since(&text, now) {
                    Ok(w) => {
                        prop_assert!(n * unit.1 <= MAX_RELATIVE_MS);
                        prop_assert_eq!((w.from_ms, w.to_ms), (now - n * unit.1, now));
                    }
                    Err(e) => {
                        prop_assert!(n * unit.1 > MAX_RELATIVE_MS, "{}", e);
                    }
                }
            }

            /// Any text: an accepted window ends at `now` and starts no later; a refusal
            /// names the value.
            #[test]
            fn any_text_is_a_window_or_a_reason(text in "\\PC{0,24}|-?[0-9]{1,22}[a-z]?", now in 0i64..4_000_000_000_000) {
                match parse_since(&text, now) {
                    Ok(w) => prop_assert!(w.from_ms <= w.to_ms && w.to_ms == now),
                    Err(e) => prop_assert_eq!(e.value, text),
                }
            }

            /// An instant written as RFC 3339 reads back as itself.
            #[test]
            fn a_formatted_instant_reads_back(ms in 0i64..253_402_300_799_000) {
                prop_assert_eq!(parse_timestamp(&format_ms(ms)), Some(ms));
            }
        }
    }
}
