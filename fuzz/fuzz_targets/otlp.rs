//! OTLP requests from anyone on the network: whatever the body, decoding never panics, and a
//! decoded request maps to records whose calls each have a run, a call id and a tool, with a
//! start and an end for every tool result counted.
//!
//! Input: the first byte picks the signal (even: logs, odd: traces) and the encoding (bit 1:
//! JSON, else protobuf); the rest is the body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use selfheal_collect::decode::{Encoding, Export, Signal, decode};
use selfheal_collect::map;
use selfheal_import::model::Record;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let signal = if pick & 1 == 0 { Signal::Logs } else { Signal::Traces };
    let encoding = if pick & 2 == 0 { Encoding::Protobuf } else { Encoding::Json };
    let Ok(export) = decode(signal, encoding, body) else {
        return;
    };
    let mapped = match export {
        Export::Logs(r) => map::logs(&r),
        Export::Traces(r) => map::traces(&r),
    };
    let (mut starts, mut ends) = (0u64, 0u64);
    for r in &mapped.records {
        match r {
            Record::Start(s) => {
                assert!(!s.run_id.is_empty() && !s.call_id.is_empty() && !s.tool.is_empty());
                assert!(serde_json::from_str::<serde_json::Value>(&s.arguments).is_ok());
                starts += 1;
            }
            Record::End(e) => {
                assert!(!e.run_id.is_empty() && !e.call_id.is_empty());
                ends += 1;
            }
            _ => {}
        }
    }
    assert_eq!(starts, mapped.tool_results);
    assert_eq!(ends, mapped.tool_results);
});
