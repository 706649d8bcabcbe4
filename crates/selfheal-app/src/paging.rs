//! Cursors of the analysis lists (`detect_failure_patterns`, `compute_tool_reliability`):
//! the next page is read over the same window as the first (a relative `since` would move),
//! with the same filters, and refused once the history of that window changed.
//!
//! A cursor is `<list>.v1.<from ms>.<to ms>.<offset>.<size>.<stamp>.<filters>`: the window,
//! where the next page starts, the size of the list when it was issued, a count that changes
//! whenever the window's history does (failures for patterns, calls for tools), and a
//! fingerprint of the filters (FNV-1a of their text).

use selfheal_core::hash::Fnv64;
use selfheal_core::time::Window;

use crate::error::AppError;
use crate::sanitize::echo;

/// Where a page starts, and what the first page was read with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub window: Window,
    pub offset: usize,
    /// The length of the whole list when the cursor was issued.
    pub size: u64,
    /// What the window's history counted then (failures, calls): a page over a changed
    /// history would skip or repeat entries.
    pub stamp: u64,
    filters: u64,
}

/// The fingerprint of a list's filters.
pub fn filters(parts: &[&str]) -> u64 {
    let mut h = Fnv64::new();
    for p in parts {
        h.write(p.as_bytes()).write(&[0]);
    }
    h.finish()
}

impl Cursor {
    pub fn new(window: Window, offset: usize, size: u64, stamp: u64, filters: u64) -> Cursor {
        Cursor {
            window,
            offset,
            size,
            stamp,
            filters,
        }
    }

    pub fn encode(&self, list: &str) -> String {
        format!(
            "{list}.v1.{}.{}.{}.{}.{}.{:016x}",
            self.window.from_ms,
            self.window.to_ms,
            self.offset,
            self.size,
            self.stamp,
            self.filters
        )
    }

    /// Reads a cursor `list` issued for these `filters`; anything else is a clear error.
    pub fn decode(text: &str, list: &str, tool: &str, filters: u64) -> Result<Cursor, AppError> {
        let not_ours = || {
            AppError::InvalidInput(format!(
                "cursor {} is not a next_cursor that {tool} returned; ask again without cursor",
                echo(text)
            ))
        };
        let parts: Vec<&str> = text.split('.').collect();
        let [name, "v1", from, to, offset, size, stamp, fp] = parts.as_slice() else {
            return Err(not_ours());
        };
        if *name != list {
            return Err(not_ours());
        }
        let num = |s: &str| s.parse::<i64>().map_err(|_| not_ours());
        let (from_ms, to_ms) = (num(from)?, num(to)?);
        let offset = usize::try_from(num(offset)?).map_err(|_| not_ours())?;
        let size = u64::try_from(num(size)?).map_err(|_| not_ours())?;
        let stamp = u64::try_from(num(stamp)?).map_err(|_| not_ours())?;
        let fp = u64::from_str_radix(fp, 16).map_err(|_| not_ours())?;
        if from_ms > to_ms || offset == 0 || offset as u64 >= size {
            return Err(not_ours());
        }
        if fp != filters {
            return Err(AppError::InvalidInput(format!(
                "cursor {} was issued for other filters; pass the same filters as the first page, or ask again without cursor",
                echo(text)
            )));
        }
        Ok(Cursor {
            window: Window { from_ms, to_ms },
            offset,
            size,
            stamp,
            filters,
        })
    }

    /// Refuses a page once the history of the cursor's window changed (its list or its count).
    pub fn check_current(&self, size: u64, stamp: u64, tool: &str) -> Result<(), AppError> {
        if size == self.size && stamp == self.stamp {
            return Ok(());
        }
        Err(AppError::Conflict(format!(
            "this cursor is stale: the history of its window changed since it was issued ({} entries and a count of {} then, {size} and {stamp} now); call {tool} again without cursor",
            self.size, self.stamp
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_what_we_did_not_issue() {
        let fp = filters(&["3", "0.75", "", ""]);
        let c = Cursor::new(
            Window {
                from_ms: 10,
                to_ms: 20,
            },
            8,
            30,
            412,
            fp,
        );
        let text = c.encode("detect");
        assert_eq!(Cursor::decode(&text, "detect", "t", fp).unwrap(), c);
        for bad in [
            "",
            "x",
            "tools.v1.10.20.8.30.412.0000000000000001",
            "detect.v2.10.20.8.30.412.0000000000000001",
            "detect.v1.20.10.8.30.412.0000000000000001",
            "detect.v1.10.20.0.30.412.0000000000000001",
            "detect.v1.10.20.31.30.412.0000000000000001",
            "detect.v1.10.20.8.30.412.zz",
            "detect.v1.10.20.8.30.0000000000000001",
        ] {
            assert!(
                matches!(
                    Cursor::decode(bad, "detect", "t", fp),
                    Err(AppError::InvalidInput(_))
                ),
                "{bad}"
            );
        }
        let other = filters(&["4", "0.75", "", ""]);
        let e = Cursor::decode(&text, "detect", "t", other).unwrap_err();
        assert!(e.to_string().contains("other filters"), "{e}");
        assert!(c.check_current(30, 412, "t").is_ok());
        for (size, stamp) in [(31, 412), (30, 413)] {
            assert!(matches!(
                c.check_current(size, stamp, "t"),
                Err(AppError::Conflict(_))
            ));
        }
    }
}
