//! The tolerant reader of tool events' JSON (`tool_complete` and `tool_start`): any text is
//! either a record or a skip reason, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use selfheal_core::event::{is_tool_result_type, parse_tool_call, parse_tool_start};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(call) = parse_tool_call(text) {
        // The message is kept for failures only (the contract of `ToolCallRecord`).
        assert!(call.is_error || call.message.is_none());
    }
    let _ = parse_tool_start(text);
    let _ = is_tool_result_type(text);
});
