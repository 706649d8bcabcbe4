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

use crate::hash::Fnv64 as Fnv;
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

/// The fingerprint of raw JSON arguments; `None` when they are null or unreadable. Equal to
/// [`fingerprint`] of the parsed value, computed in one pass without building it.
pub fn fingerprint_raw(raw: &str) -> Option<u64> {
    let mut de = serde_json::Deserializer::from_str(raw);
    let hash = serde::de::DeserializeSeed::deserialize(Canon, &mut de).ok()?;
    de.end().ok()?;
    hash
}

/// Hashes a JSON value as it is read (`None` for null), the same way [`feed`] hashes a
/// parsed one.
struct Canon;

impl<'de> serde::de::DeserializeSeed<'de> for Canon {
    type Value = Option<u64>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(CanonVisitor)
    }
}

struct CanonVisitor;

fn scalar(tag: &[u8], body: &[u8]) -> Option<u64> {
    let mut h = Fnv::new();
    h.write(tag);
    h.write(body);
    Some(h.finish())
}

fn string_hash(s: &str) -> u64 {
    let mut h = Fnv::new();
    if is_volatile_value(s) {
        h.write(b"~");
    } else {
        h.write(b"s");
        h.write(&crate::hash::words64(s.as_bytes()).to_le_bytes());
    }
    h.finish()
}

impl<'de> serde::de::Visitor<'de> for CanonVisitor {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(scalar(if v { b"t" } else { b"f" }, b""))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(scalar(
            b"#",
            serde_json::Number::from(v).to_string().as_bytes(),
        ))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(scalar(
            b"#",
            serde_json::Number::from(v).to_string().as_bytes(),
        ))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        let text =
            serde_json::Number::from_f64(v).map_or_else(|| "null".to_string(), |n| n.to_string());
        Ok(scalar(b"#", text.as_bytes()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(string_hash(v)))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut h = Fnv::new();
        h.write(b"[");
        while let Some(item) = seq.next_element_seed(Canon)? {
            write_hash(&mut h, item);
        }
        h.write(b"]");
        Ok(Some(h.finish()))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries: Vec<(std::borrow::Cow<'de, str>, Option<u64>)> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(Canon)?;
            if !is_volatile_key(&key) {
                entries.push((key, value));
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        // A repeated key keeps its last value, as a parsed object does.
        entries.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                earlier.1 = later.1;
                true
            } else {
                false
            }
        });
        let mut h = Fnv::new();
        h.write(b"{");
        for (k, v) in &entries {
            h.write(&(k.len() as u64).to_le_bytes());
            h.write(k.as_bytes());
            write_hash(&mut h, *v);
        }
        h.write(b"}");
        Ok(Some(h.finish()))
    }
}

/// Reads an object key, borrowing it when the JSON has no escapes in it.
struct KeySeed;

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed {
    type Value = std::borrow::Cow<'de, str>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> serde::de::Visitor<'de> for KeyVisitor {
    type Value = std::borrow::Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_string()))
    }
}

fn is_volatile_key(k: &str) -> bool {
    VOLATILE_KEYS.iter().any(|v| v.eq_ignore_ascii_case(k))
}

/// The fingerprint of a call's arguments (see the module docs).
pub fn fingerprint(value: &Value) -> u64 {
    hash_value(value).unwrap_or(NULL_HASH)
}

/// The hash of null (inside arrays and objects, and of a null passed to [`fingerprint`]).
const NULL_HASH: u64 = 0x6e75_6c6c;

/// The hash of one value (`None` for null); composite values fold their parts' hashes.
fn hash_value(value: &Value) -> Option<u64> {
    match value {
        Value::Null => None,
        Value::Bool(b) => scalar(if *b { b"t" } else { b"f" }, b""),
        Value::Number(n) => scalar(b"#", n.to_string().as_bytes()),
        Value::String(s) => Some(string_hash(s)),
        Value::Array(items) => {
            let mut h = Fnv::new();
            h.write(b"[");
            for item in items {
                write_hash(&mut h, hash_value(item));
            }
            h.write(b"]");
            Some(h.finish())
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().filter(|k| !is_volatile_key(k)).collect();
            keys.sort();
            let mut h = Fnv::new();
            h.write(b"{");
            for k in keys {
                h.write(&(k.len() as u64).to_le_bytes());
                h.write(k.as_bytes());
                write_hash(&mut h, map.get(k).and_then(hash_value));
            }
            h.write(b"}");
            Some(h.finish())
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

/// Feeds a part's hash (null's for `None`) into `h`.
fn write_hash(h: &mut Fnv, part: Option<u64>) {
    h.write(&part.unwrap_or(NULL_HASH).to_le_bytes());
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
    fn one_pass_equals_the_parsed_value() {
        let cases = [
            r#"{"path": "/a", "limit": 5, "attempt": 2}"#,
            r#"{"b": [1, 2.5, -3, true, null, "x\u0041"], "a": {"z": 1, "y": {"k": "v"}}}"#,
            r#"{"id": "0b9b0a5e-3c1e-4f4e-9d7a-2f1d6c1e9a01", "at": "2026-01-01T00:00:00Z"}"#,
            r#"{"dup": 1, "dup": 2}"#,
            r#"["a", {"Request_ID": "r"}, 1e3, 18446744073709551615]"#,
            r#""just a string""#,
            "{}",
            "[]",
        ];
        for raw in cases {
            let value: Value = serde_json::from_str(raw).unwrap();
            assert_eq!(fingerprint_raw(raw), Some(fingerprint(&value)), "{raw}");
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
        assert_eq!(fingerprint_raw("{} trailing"), None);
        assert_eq!(fingerprint_raw("{oops"), None);
        assert!(fingerprint_raw("{}").is_some());
    }
}
