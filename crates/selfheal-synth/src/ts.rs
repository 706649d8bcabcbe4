//! Timestamp writing in the three formats agents use: RFC 3339 with `Z` (millisecond
//! precision), RFC 3339 with a numeric offset (second or microsecond precision) and SQLite's
//! `YYYY-MM-DD HH:MM:SS` (UTC, second precision). Formatting is hand-rolled (no allocation, no
//! `chrono` formatting machinery) because it runs once per generated event.

/// How a run's writer formats its timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TsFormat {
    /// `2026-11-20T10:00:00.123Z`
    Zulu,
    /// `2026-11-20T12:00:00+02:00`, or `2026-11-20T12:00:00.123000+02:00` with `micros`.
    Offset { minutes: i32, micros: bool },
    /// `2026-11-20 10:00:00` (UTC)
    Sqlite,
}

impl TsFormat {
    /// The instant (Unix ms) that the written text denotes: the input cut to the format's
    /// precision.
    pub(crate) fn truncate(self, ms: i64) -> i64 {
        match self {
            TsFormat::Zulu | TsFormat::Offset { micros: true, .. } => ms,
            TsFormat::Offset { micros: false, .. } | TsFormat::Sqlite => ms.div_euclid(1000) * 1000,
        }
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m as u32, d as u32)
}

#[inline]
fn push_digits(out: &mut String, v: u64, width: u32) {
    let mut div = 10u64.pow(width.saturating_sub(1));
    while div > 0 {
        out.push(char::from(b'0' + ((v / div) % 10) as u8));
        div /= 10;
    }
}

/// Appends the text of instant `ms` (Unix milliseconds, UTC) in format `fmt`.
/// Years must lie in 0..=9999 (the caller validates the configured range).
pub(crate) fn write_ts(out: &mut String, ms: i64, fmt: TsFormat) {
    let shift = match fmt {
        TsFormat::Offset { minutes, .. } => i64::from(minutes) * 60_000,
        _ => 0,
    };
    let local = ms + shift;
    let days = local.div_euclid(86_400_000);
    let in_day = local.rem_euclid(86_400_000) as u64;
    let (y, m, d) = civil_from_days(days);
    push_digits(out, y.clamp(0, 9999) as u64, 4);
    out.push('-');
    push_digits(out, u64::from(m), 2);
    out.push('-');
    push_digits(out, u64::from(d), 2);
    out.push(if fmt == TsFormat::Sqlite { ' ' } else { 'T' });
    let secs = in_day / 1000;
    push_digits(out, secs / 3600, 2);
    out.push(':');
    push_digits(out, (secs / 60) % 60, 2);
    out.push(':');
    push_digits(out, secs % 60, 2);
    let millis = in_day % 1000;
    match fmt {
        TsFormat::Zulu => {
            out.push('.');
            push_digits(out, millis, 3);
            out.push('Z');
        }
        TsFormat::Offset { minutes, micros } => {
            if micros {
                out.push('.');
                push_digits(out, millis * 1000, 6);
            }
            out.push(if minutes < 0 { '-' } else { '+' });
            let a = u64::from(minutes.unsigned_abs());
            push_digits(out, a / 60, 2);
            out.push(':');
            push_digits(out, a % 60, 2);
        }
        TsFormat::Sqlite => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

    #[test]
    fn formats_match_chrono() {
        let mut ms: i64 = 1_600_000_000_123;
        for i in 0..2000 {
            ms += 86_400_000 * 3 + 3_600_123 * i;
            for fmt in [
                TsFormat::Zulu,
                TsFormat::Offset {
                    minutes: 120,
                    micros: false,
                },
                TsFormat::Offset {
                    minutes: -300,
                    micros: true,
                },
                TsFormat::Offset {
                    minutes: 330,
                    micros: true,
                },
                TsFormat::Sqlite,
            ] {
                let mut s = String::new();
                write_ts(&mut s, ms, fmt);
                let parsed = if fmt == TsFormat::Sqlite {
                    Utc.from_utc_datetime(
                        &NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S").unwrap(),
                    )
                } else {
                    DateTime::parse_from_rfc3339(&s)
                        .unwrap()
                        .with_timezone(&Utc)
                };
                assert_eq!(parsed.timestamp_millis(), fmt.truncate(ms), "{s}");
            }
        }
    }

    #[test]
    fn sample_strings() {
        let ms = Utc
            .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
            .unwrap()
            .timestamp_millis()
            + 123;
        let mut s = String::new();
        write_ts(&mut s, ms, TsFormat::Zulu);
        assert_eq!(s, "2026-11-20T10:00:00.123Z");
        s.clear();
        write_ts(
            &mut s,
            ms,
            TsFormat::Offset {
                minutes: 120,
                micros: false,
            },
        );
        assert_eq!(s, "2026-11-20T12:00:00+02:00");
        s.clear();
        write_ts(&mut s, ms, TsFormat::Sqlite);
        assert_eq!(s, "2026-11-20 10:00:00");
    }
}
