//! OTLP/HTTP request bodies into export requests (OTLP 1.x, "OTLP/HTTP").
//!
//! - `Content-Type: application/x-protobuf` is the binary protobuf encoding, decoded with the
//!   `opentelemetry-proto` messages; `application/json` is OTLP/JSON, read with that crate's
//!   serde support (lowerCamelCase names, hex trace and span ids, 64-bit integers as strings
//!   or numbers, enums as integers, unknown fields ignored). One deviation seen in the wild is
//!   smoothed first: Gemini CLI sends attributes without a value as `"value": {}`, which the
//!   crate refuses; such a value is dropped (the attribute is kept, empty).
//! - `Content-Encoding: gzip` bodies are inflated, never beyond the size limit (a small body
//!   that inflates past it is refused as too large, like a large one).

use std::io::Read;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::Value;

/// What an OTLP/HTTP path carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Logs,
    Traces,
}

/// How a body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// The encoding a `Content-Type` names (parameters such as `charset` ignored).
    pub fn of_content_type(content_type: &str) -> Option<Encoding> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/x-protobuf" | "application/protobuf" => Some(Encoding::Protobuf),
            "application/json" => Some(Encoding::Json),
            _ => None,
        }
    }
}

/// A decoded export request.
#[derive(Debug)]
pub enum Export {
    Logs(ExportLogsServiceRequest),
    Traces(ExportTraceServiceRequest),
}

/// Why a body was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The body (or what it inflates to) is larger than the limit: HTTP 413.
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// Anything else: HTTP 400.
    #[error("{0}")]
    Invalid(String),
}

/// Inflates a gzip body into at most `limit` bytes.
pub fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Invalid(format!("the gzip body cannot be inflated: {e}")))?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    Ok(out)
}

/// Decodes a (plain) body of `signal` in `encoding`.
pub fn decode(signal: Signal, encoding: Encoding, body: &[u8]) -> Result<Export, DecodeError> {
    match encoding {
        Encoding::Protobuf => match signal {
            Signal::Logs => ExportLogsServiceRequest::decode(body).map(Export::Logs),
            Signal::Traces => ExportTraceServiceRequest::decode(body).map(Export::Traces),
        }
        .map_err(|e| DecodeError::Invalid(format!("not an OTLP protobuf export request: {e}"))),
        Encoding::Json => {
            // Straight into the messages; through a JSON tree (to smooth the quirk) only when
            // that fails.
            let direct = match signal {
                Signal::Logs => serde_json::from_slice(body).map(Export::Logs),
                Signal::Traces => serde_json::from_slice(body).map(Export::Traces),
            };
            if let Ok(export) = direct {
                return Ok(export);
            }
            let mut value: Value = serde_json::from_slice(body)
                .map_err(|e| DecodeError::Invalid(format!("not JSON: {e}")))?;
            drop_empty_values(&mut value);
            let invalid = |e: serde_json::Error| {
                DecodeError::Invalid(format!("not an OTLP/JSON export request: {e}"))
            };
            match signal {
                Signal::Logs => serde_json::from_value(value)
                    .map(Export::Logs)
                    .map_err(invalid),
                Signal::Traces => serde_json::from_value(value)
                    .map(Export::Traces)
                    .map_err(invalid),
            }
        }
    }
}

/// Removes `"value": {}` (an AnyValue with nothing set) wherever it appears.
fn drop_empty_values(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map
                .get("value")
                .is_some_and(|x| x.as_object().is_some_and(|o| o.is_empty()))
            {
                map.remove("value");
            }
            map.values_mut().for_each(drop_empty_values);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_empty_values),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_name_their_encoding() {
        for (ct, want) in [
            ("application/x-protobuf", Some(Encoding::Protobuf)),
            ("application/json; charset=utf-8", Some(Encoding::Json)),
            ("Application/JSON", Some(Encoding::Json)),
            ("text/plain", None),
            ("", None),
        ] {
            assert_eq!(Encoding::of_content_type(ct), want, "{ct}");
        }
    }

    #[test]
    fn json_quirks_are_read() {
        let body = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"gemini-cli"}}]},
            "scopeLogs":[{"logRecords":[{"timeUnixNano":"1765126592941000000","traceId":"","spanId":"",
            "attributes":[{"key":"empty","value":{}},{"key":"n","value":{"intValue":7}},{"key":"s","value":{"intValue":"127"}}],
            "unknownField":1}]}]}]}"#;
        let Export::Logs(req) = decode(Signal::Logs, Encoding::Json, body).unwrap() else {
            unreachable!()
        };
        let record = &req.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(record.time_unix_nano, 1_765_126_592_941_000_000);
        assert_eq!(record.attributes.len(), 3);
        assert!(record.attributes[0].value.is_none());
    }

    #[test]
    fn bad_bodies_are_refused_with_a_reason() {
        assert!(matches!(
            decode(Signal::Logs, Encoding::Json, b"{not json"),
            Err(DecodeError::Invalid(m)) if m.starts_with("not JSON")
        ));
        assert!(matches!(
            decode(Signal::Traces, Encoding::Protobuf, &[0xff, 0xff, 0xff]),
            Err(DecodeError::Invalid(_))
        ));
        assert!(matches!(
            gunzip(b"plain", 100),
            Err(DecodeError::Invalid(_))
        ));
        // A gzip bomb stops at the limit.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &vec![b'a'; 1_000_000]).unwrap();
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 10_000);
        assert_eq!(
            gunzip(&bomb, 64 * 1024),
            Err(DecodeError::TooLarge { limit: 64 * 1024 })
        );
    }
}
