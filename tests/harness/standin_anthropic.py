#!/usr/bin/env python3
"""A scripted stand-in for the Anthropic Messages API, for running a real Claude Code offline.

Python 3 standard library only. Listens on 127.0.0.1 and answers:

- ``POST /v1/messages`` (Claude Code adds ``?beta=true``): a streamed (SSE) answer when the
  body asks for ``stream: true`` (Claude Code always does), else the same message as one JSON
  object. What the answer says is decided by the script from the request alone (see below).
- ``POST /v1/messages/count_tokens``: ``{"input_tokens": N}`` (a rough estimate).
- anything else: 404 with an Anthropic-shaped JSON error.

Every request is appended to the record file as one JSON line
``{"path", "body", "time", "reply"}`` (``body`` parsed when it is JSON, else the raw text;
``reply`` a short summary of the answer: ``{"kind": "tool_use", "command": ...}`` or
``{"kind": "text", ...}``).

The script and its stateless policy are ``standin.py``'s (``{"bash": CMD}`` steps are Claude
Code's ``Bash`` tool); a request's step is the number of ``tool_result`` blocks already in
``messages``; a tool call is a ``tool_use`` block (stop reason ``tool_use``), the final text
stops with ``end_turn``.

The instruction context is the text of the ``system`` blocks and of the first user message.
Checked with Claude Code 2.1.328 (see README.md in this folder): ``<project>/CLAUDE.md`` and
``<project>/.claude/rules/*.md`` reach the model in the *first user message* (``messages[0]``,
its first text block when there is such a file), a ``<system-reminder>`` that starts "Codebase
and user instructions are shown below." and holds, per file, "Contents of <absolute path>
(project instructions, checked into the codebase):" followed by the file's text; they are not in
``system`` (whose blocks are the billing header, "You are a Claude agent, ..." and the main
prompt). A hook's ``additionalContext`` arrives later, in a ``messages[]`` entry with role
``system`` right after the user message that carries the tool result ("PreToolUse:Bash hook
additional context: ..."), so it is *not* part of the instruction context;
``"where": "anywhere"`` in ``follow_lessons`` searches the whole serialized request instead.

A request without the ``Bash`` tool (a title, a summary, a quota check) gets a short text.

Module use::

    server = StandIn(script, record_path)   # starts serving in a thread
    server.port; server.set_script(other)   # the script may be swapped between sessions
    server.close()

CLI use: ``python3 standin_anthropic.py --port 0 --script script.json --record r.jsonl``
prints the port on the first line of stdout, then serves until killed.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin  # noqa: E402
from standin import Reply, estimate_tokens, new_id, read_records, sse_bytes  # noqa: E402,F401

DEFAULT_MODEL = "claude-standin"


def _text_of(content):
    """The text of a message's content (a string or a list of blocks), tool results included."""
    if isinstance(content, str):
        return content
    parts = []
    if isinstance(content, list):
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                parts.append(str(block.get("text", "")))
            elif block.get("type") == "tool_result":
                parts.append(_text_of(block.get("content", "")))
    return "\n".join(parts)


def instruction_context(body):
    """The text of the ``system`` blocks and of the first user message."""
    parts = []
    system = body.get("system")
    if isinstance(system, str):
        parts.append(system)
    elif isinstance(system, list):
        parts.extend(str(b.get("text", "")) for b in system if isinstance(b, dict))
    for message in body.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "user":
            parts.append(_text_of(message.get("content")))
            break
    return "\n".join(parts)


def count_tool_results(body):
    n = 0
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            n += sum(1 for b in content if isinstance(b, dict) and b.get("type") == "tool_result")
    return n


def offered_tools(body):
    return [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]


def message_events(decision, model, input_tokens):
    """The SSE events of one answer, as (event name, data) pairs, and the complete message."""
    msg_id = new_id("msg_")
    if decision["kind"] == "tool_use":
        tool_input = decision["args"]
        block = {"type": "tool_use", "id": new_id("toolu_"), "name": decision["tool"]}
        start_block = dict(block, input={})
        full_block = dict(block, input=tool_input)
        raw = json.dumps(tool_input)
        # Split the JSON into two deltas, as the real API streams it in pieces.
        cut = len(raw) // 2
        deltas = [
            {"type": "input_json_delta", "partial_json": raw[:cut]},
            {"type": "input_json_delta", "partial_json": raw[cut:]},
        ]
        stop_reason = "tool_use"
    else:
        start_block = {"type": "text", "text": ""}
        full_block = {"type": "text", "text": decision["text"]}
        deltas = [{"type": "text_delta", "text": decision["text"]}]
        stop_reason = "end_turn"
    output_tokens = max(1, len(json.dumps(full_block)) // 4)
    usage_start = {
        "input_tokens": input_tokens,
        "output_tokens": 1,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    events = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": usage_start,
                },
            },
        ),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": start_block}),
    ]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d}) for d in deltas]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    message = {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [full_block],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }
    return events, message


class Anthropic:
    """The Anthropic Messages protocol: ``POST /v1/messages`` (SSE when ``stream``),
    ``/v1/messages/count_tokens``; anything else is a 404 with an Anthropic-shaped error."""

    count_tool_results = staticmethod(count_tool_results)
    offered_tools = staticmethod(offered_tools)
    instruction_context = staticmethod(instruction_context)

    @staticmethod
    def _not_found(path):
        error = {"type": "error", "error": {"type": "not_found_error", "message": f"no {path} here"}}
        return Reply.json(404, error, {"kind": "404"})

    def handle(self, method, raw_path, body, server):
        path = raw_path.split("?", 1)[0]
        if method != "POST":
            return self._not_found(path)
        if path == "/v1/messages/count_tokens":
            n = estimate_tokens(body)
            return Reply.json(200, {"input_tokens": n}, {"kind": "count_tokens", "input_tokens": n})
        if path != "/v1/messages" or not isinstance(body, dict):
            return self._not_found(path)
        decision, summary = server.decide(body)
        events, message = message_events(decision, body.get("model") or DEFAULT_MODEL, estimate_tokens(body))
        if body.get("stream"):
            return Reply(200, "text/event-stream", sse_bytes(events), summary)
        return Reply.json(200, message, summary)


def StandIn(script, record_path=None, port=0, verbose=False):  # noqa: N802 (a constructor)
    """A stand-in for the Anthropic Messages API (see ``standin.StandIn``)."""
    return standin.StandIn(Anthropic(), script, record_path, port, verbose)


if __name__ == "__main__":
    sys.exit(standin.serve_main(Anthropic, __doc__.split("\n")[0]))
