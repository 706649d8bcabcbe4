#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into fuzz/seeds/<target>/ (stdlib only).

Seeds are small hand-written examples in each target's input layout, plus the importer's own
test fixtures (crates/selfheal-import/tests/fixtures). Run from anywhere:
`python3 fuzz/seeds.py`. The corpora that fuzzing grows from them live in fuzz/corpus/.
"""

import hashlib
import json
import pathlib
import struct

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent
FIXTURES = ROOT / "crates" / "selfheal-import" / "tests" / "fixtures"
NOW_MS = 1_795_176_000_000  # 2026-11-20T12:00:00Z


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    out = FUZZ / "seeds" / target
    out.mkdir(parents=True, exist_ok=True)
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)


def since():
    for text in ["-7d", "7d", "-24h", "-30m", "-2w", "0d", "99999999999w", "-1x", "12",
                 "2026-01-30T00:00:00Z", "2026-01-30T00:00:00+02:00", "2030-01-01T00:00:00Z",
                 "2026-01-30 10:00:00", " -3h ", ""]:
        write("since", struct.pack("<q", NOW_MS) + text.encode())


def event():
    events = [
        {"type": "tool_complete", "name": "web_fetch", "call_id": "c1", "result": "ok",
         "is_error": False, "duration": 120},
        {"type": "tool_complete", "tool_name": "shell", "is_error": "true",
         "error": "ENOENT: no such file or directory, open '/tmp/x.json'", "duration_ms": 5,
         "error_type": "tool_error", "exit_code": 1, "status": "error"},
        {"type": "tool_result", "name": "search", "is_error": 1, "result": {"text": "429"},
         "duration": 30000.5, "duration_source": "timestamps", "interrupted": True},
        {"type": "tool_start", "name": "shell", "call_id": "c2",
         "arguments": {"command": "grep -r foo ."}},
        {"name": "x", "error_type": None, "error": None},
    ]
    for e in events:
        write("event", json.dumps(e))
    write("event", "not json")
    write("event", "[1,2]")


def import_():
    # Selector byte (see fuzz_targets/import.rs), then the increment cut in lines, then bytes.
    by_selector = {
        0: sorted((FIXTURES / "claude").rglob("*.jsonl")),
        1: sorted((FIXTURES / "codex").rglob("*.jsonl")),
        2: sorted((FIXTURES / "otel").rglob("*.jsonl")),
        3: sorted((FIXTURES / "jsonl").rglob("*.jsonl")),
        4: sorted((FIXTURES / "gemini").rglob("*.json")),
        5: sorted((FIXTURES / "swe").rglob("*.json")),
    }
    for selector, files in by_selector.items():
        for f in files:
            data = f.read_bytes()
            write("import", bytes([selector, 2]) + data)
            # Detection sees the same files.
            write("import", bytes([7, 0]) + data[:4096])
    hooks = [
        {"session_id": "s1", "hook_event_name": "PostToolUse", "tool_name": "Bash",
         "tool_input": {"command": "ls"}, "tool_response": {"stdout": "a", "stderr": "",
                                                             "interrupted": False},
         "cwd": "/w/shop", "transcript_path": "/t/s1.jsonl", "tool_use_id": "toolu_1"},
        {"session_id": "s1", "hook_event_name": "SessionStart", "cwd": "/w/shop",
         "source": "startup"},
        {"session_id": "s1", "hook_event_name": "UserPromptSubmit", "prompt": "fix the build"},
        {"session_id": "s1", "hook_event_name": "Stop"},
    ]
    for h in hooks:
        write("import", bytes([6, 0]) + json.dumps(h).encode())


def analyze():
    # The target reads `Vec<Call>` through `arbitrary`: any bytes are a valid input, and these
    # seeds hold real-looking messages for the mutator to start from.
    messages = [
        b"ENOENT: no such file or directory, open '/tmp/a.json'",
        b"Error: connect ECONNREFUSED 127.0.0.1:8080",
        b"HTTP 429 Too Many Requests",
        b"Exit code 1\ngrep: foo: No such file",
        b"command timed out after 30s",
        b"permission denied (os error 13)",
        b"The user doesn't want to proceed with this tool use.",
    ]
    for m in messages:
        write("analyze", b"\x05shell\x00\x01tool_error\x00\x01" + m + b"\x00\x01\x10\x27\x00\x00")


def playbook():
    write("playbook", """[[strategy]]
id = "timeout.raise-timeout"
name = "Raise the timeout of slow tools"
applies_to = ["timeout"]
risk = "low"
priority = 1
config_key = "tools.{tool}.timeout_ms"
expected_impact = { low = 0.3, high = 0.8, basis = "slow tail" }

[[strategy.action]]
kind = "raise_timeout"
factor = 2.0
max_timeout_ms = 180000

[[strategy]]
id = "rate_limited.slow-down"
applies_to = ["rate_limited", "network_error"]

[[strategy.action]]
kind = "retry_with_backoff"
initial_delay_ms = 5000
""")
    write("playbook", '[[strategy]]\nid = "x"\napplies_to = ["nope"]\n')
    # The healing policy is read by the same target.
    write("playbook", """auto_apply = true
classes = ["timeout", "rate_limited"]
strategies = ["timeout.raise-timeout"]
max_risk = "low"
require_recommendation = "safe_to_apply"
rollback_on_regression = true
max_attempts = 3
cooldown = "24h"
""")
    write("playbook", 'auto_apply = true\nclasses = []\ncooldown = "0m"\nmax_attempts = 99\n')
    write("playbook", '[[strategies]]\nid = "a.b"\napplies_to = ["timeout"]\n[[strategies.actions]]\nkind = "health_check_restart"\n')


def config_edit():
    # `arbitrary` layout of Input {file, key, value, apply}: byte-length-prefixed fields are
    # not guaranteed, so seeds are just plausible bytes for the mutator.
    config = b"# tools\n[tools.fetch]\ntimeout_ms = 30000  # raised\nretries = 1\n\n[server]\nname = \"agent\"\n"
    write("config_edit", config + b"\x00tools.fetch.timeout_ms\x0060000\x00\x00")
    write("config_edit", config + b"\x00tools.\"a.b\".retry\x00{\"x\": [1, 2.5, true]}\x00\x01")


def jsonrpc():
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "detect_failure_patterns", "arguments": {"since": "-30d"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "get_health_dashboard", "arguments": {"detailed": True}}},
        {"jsonrpc": "2.0", "id": 4, "method": "resources/read",
         "params": {"uri": "selfheal://dashboard"}},
        {"jsonrpc": "2.0", "id": 5, "method": "prompts/get", "params": {"name": "self_heal"}},
        {"jsonrpc": "2.0", "id": 6, "method": "tools/call",
         "params": {"name": "compute_tool_reliability", "arguments": {"limit": 0}}},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 2}},
    ]
    for line in lines:
        write("jsonrpc", json.dumps(line))
    write("jsonrpc", "\n".join(json.dumps(line) for line in lines))
    write("jsonrpc", "{not json")


for make in (since, event, import_, analyze, playbook, config_edit, jsonrpc):
    make()
