//! The identity of a call's arguments, for telling a retry from a different call.
//!
//! A failure is recovered *by retry* only when the same call — same tool, same arguments —
//! later succeeds. [`fingerprint`] reduces a call's input (any JSON) to a 64-bit hash of its
//! canonical form, ignoring what changes between two attempts of the same call:
//! - object keys are sorted, and keys that name attempts, identifiers or harness knobs are
//!   dropped: [`VOLATILE_KEYS`] (`request_id`, `attempt`, `retry`, `nonce`, `timestamp`,
//!   `timeout_ms`, `description`, …);
//! - string values that are UUIDs or timestamps count as one placeholder each.
//!
//! Everything else is the call: two inputs differing in a path, a query or a flag are
//! different calls.

use serde_json::Value;

use crate::time::parse_timestamp;

/// Keys ignored when comparing two calls' arguments (compared lower case).
pub const VOLATILE_KEYS: [&str; 17] = [
    "request_id",
    "requestid",
    "attempt",
    "retry",
    "retries",
    "nonce",
    "timestamp",
    "trace_id",
    "span_id",
    "idempotency_key",
    "timeout",
    "timeout_ms",
    "yield_time_ms",
    "max_output_tokens",
    "description",
    "justification",
    "run_in_background",
];

/// The fingerprint of raw JSON arguments; `None` when they are absent, null or unreadable.
pub fn fingerprint_raw(raw: &str) -> Option<u64> {
    let value: Value = serde_json::from_str(raw).ok()?;
    (!value.is_null()).then(|| fingerprint(&value))
}

/// The fingerprint of a call's arguments (see the module docs).
pub fn fingerprint(value: &Value) -> u64 {
    let mut h = Fnv::new();
    feed(value, &mut h);
    h.0
}

fn feed(value: &Value, h: &mut Fnv) {
    match value {
        Value::Null => h.write(b"n"),
        Value::Bool(b) => h.write(if *b { b"t" } else { b"f" }),
        Value::Number(n) => {
            h.write(b"#");
            h.write(n.to_string().as_bytes());
        }
        Value::String(s) => {
            if is_volatile_value(s) {
                h.write(b"~");
            } else {
                h.write(b"s");
                h.write(&(s.len() as u64).to_le_bytes());
                h.write(s.as_bytes());
            }
        }
        Value::Array(items) => {
            h.write(b"[");
            for item in items {
                feed(item, h);
            }
            h.write(b"]");
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map
                .keys()
                .filter(|k| !VOLATILE_KEYS.contains(&k.to_ascii_lowercase().as_str()))
                .collect();
            keys.sort();
            h.write(b"{");
            for k in keys {
                h.write(&(k.len() as u64).to_le_bytes());
                h.write(k.as_bytes());
                if let Some(v) = map.get(k) {
                    feed(v, h);
                }
            }
            h.write(b"}");
        }
    }
}

/// UUIDs and timestamps: values that differ on every attempt of the same call.
fn is_volatile_value(s: &str) -> bool {
    let t = s.trim();
    if t.len() == 36 {
        let b = t.as_bytes();
        let dashes = [8, 13, 18, 23];
        if b.iter().enumerate().all(|(i, c)| {
            if dashes.contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        }) {
            return true;
        }
    }
    (10..=40).contains(&t.len())
        && t.as_bytes()[0].is_ascii_digit()
        && t.as_bytes()[4] == b'-'
        && parse_timestamp(t).is_some()
}

/// FNV-1a, 64 bit: stable across runs and platforms (the index stores fingerprints).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn same_call_same_fingerprint() {
        let same = [
            (
                json!({"path": "/a", "limit": 5}),
                json!({"limit": 5, "path": "/a"}),
            ),
            (
                json!({"path": "/a", "request_id": "r-1", "attempt": 1}),
                json!({"path": "/a", "request_id": "r-2", "attempt": 2}),
            ),
            (
                json!({"q": "x", "id": "0b9b0a5e-3c1e-4f4e-9d7a-2f1d6c1e9a01"}),
                json!({"q": "x", "id": "7c6e5a51-11aa-4b2b-8c3d-9e8f7a6b5c4d"}),
            ),
            (
                json!({"cmd": "pytest", "timeout_ms": 1000, "description": "run tests"}),
                json!({"cmd": "pytest", "timeout_ms": 5000, "description": "try again"}),
            ),
            (
                json!({"since": "2026-01-01T00:00:00Z"}),
                json!({"since": "2026-01-02T10:00:00Z"}),
            ),
        ];
        for (a, b) in same {
            assert_eq!(fingerprint(&a), fingerprint(&b), "{a} vs {b}");
        }
    }

    #[test]
    fn different_calls_differ() {
        let different = [
            (json!({"path": "/a"}), json!({"path": "/b"})),
            (json!({"n": 1}), json!({"n": "1"})),
            (json!({"a": [1, 2]}), json!({"a": [2, 1]})),
            (json!({"a": "x", "b": "y"}), json!({"a": "xb", "": "y"})),
            (json!({}), json!(null)),
        ];
        for (a, b) in different {
            assert_ne!(fingerprint(&a), fingerprint(&b), "{a} vs {b}");
        }
        assert_eq!(fingerprint_raw("null"), None);
        assert_eq!(fingerprint_raw("{oops"), None);
        assert!(fingerprint_raw("{}").is_some());
    }
}
