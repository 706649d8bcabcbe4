#!/usr/bin/env python3
r"""A scripted stand-in for the OpenAI Responses API, for running a real Codex CLI offline.

Python 3 standard library only. Listens on 127.0.0.1 and answers:

- ``POST /v1/responses``: a streamed (SSE) answer when the body asks for ``stream: true``
  (Codex always does), else the same response as one JSON object. What the answer says is
  decided by the script from the request alone (``standin.py``).
- anything else (Codex may also POST ``/v1/analytics/codex/turn-costs`` to the same base
  URL): 404 with an OpenAI-shaped JSON error, which Codex ignores.

Every request is appended to the record file as one JSON line ``{"path", "body", "time",
"reply"}`` (see ``standin.py``).

What Codex 0.169.0 sends (checked 2026-12-07 with the real binary, see ``agents/codex.py``):
only ``POST /v1/responses`` in our runs (one per model turn; the ``/v1/analytics/...`` POST
the notes mention did not occur, a 404 is fine). The body: ``model``, ``stream: true``,
``input`` (the whole conversation, re-sent every turn), ``tools``, ``tool_choice: "auto"``,
``parallel_tool_calls: true``, ``reasoning``, ``store: false``, ``include:
["reasoning.encrypted_content"]``, ``prompt_cache_key`` (the session id), ``client_metadata``,
``text: {"verbosity": "low"}`` (for ``gpt-5.5``); **no** ``instructions`` field. ``input``
holds, in order:

1. a ``developer`` message: the system prompt ("You are Codex, a coding agent based on
   GPT-5. ...");
2. a ``developer`` message: ``<skills_instructions>``, ``<permissions instructions>``;
3. a ``user`` message whose first ``input_text`` is, when an ``AGENTS.md`` exists,
   ``# AGENTS.md instructions for <project>\n\n<INSTRUCTIONS>\n<$CODEX_HOME/AGENTS.md>\n\n---
   project-doc ---\n\n<project>/AGENTS.md\n\n</INSTRUCTIONS>`` (each file's text verbatim,
   HTML comments included; without a user file just the project's text), and whose next part
   is ``<environment_context>...``;
4. the prompt as a ``user`` message;
5. per model turn, the ``function_call`` / ``custom_tool_call`` item this stand-in answered
   (echoed back with its ``id``), then a hook's ``additionalContext`` as a ``developer``
   message per hook answer (PreToolUse's, then PostToolUse's), then the
   ``function_call_output`` / ``custom_tool_call_output`` item.

With a bundled model (``gpt-5.5``) the tools are: functions ``exec_command``,
``write_stdin``, ``request_user_input``, ``view_image``, ``get_goal``, ``create_goal``,
``update_goal``; ``{"type": "custom", "name": "apply_patch", "format": {"type": "grammar",
"syntax": "lark", ...}}`` (freeform: the input is the patch text); ``{"type":
"tool_search"}`` and ``{"type": "web_search"}`` (no name: ``offered_tools`` lists their
type). With an unknown model slug there is no ``apply_patch`` and a ``namespace`` tool
``multi_agent_v1`` appears (its member tools are listed too).

What is enough to answer (the events this stand-in sends): ``response.created``,
``response.output_item.added`` and ``response.output_item.done`` with one item, and
``response.completed`` with ``response.id`` and ``usage``. The item is:

- a ``function_call`` (``call_id``, ``name``, ``arguments`` as a JSON string) for a step whose
  tool is offered as ``"type": "function"``;
- a ``custom_tool_call`` (``call_id``, ``name``, ``input``: the step's ``args["input"]``, a
  string) for a step whose tool is offered as ``"type": "custom"`` (``apply_patch``);
- a ``message`` (``role: "assistant"``, content ``[{"type": "output_text", "text": ...}]``)
  for the final text and for side requests (no scripted tool offered); its text is also sent
  as one ``response.output_text.delta``.

A request's step is the number of ``function_call_output`` / ``custom_tool_call_output``
items in ``input``. The instruction context is the text of the ``developer`` messages and of
the ``user`` messages that hold ``# AGENTS.md instructions for`` (checked: a marker in
``<project>/AGENTS.md`` is found there and makes ``follow_lessons`` skip its steps). Note that
it includes hook ``additionalContext`` (a ``developer`` message), unlike Claude Code's.

Module use::

    server = StandIn(script, record_path)   # starts serving in a thread
    server.port; server.base_url + "/v1"    # Codex's provider base_url
    server.close()

CLI use: ``python3 standin_responses.py --port 0 --script script.json --record r.jsonl``
prints the port on the first line of stdout, then serves until killed.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin  # noqa: E402
from standin import Reply, estimate_tokens, new_id, read_records, sse_bytes  # noqa: E402,F401

DEFAULT_MODEL = "gpt-standin"
TOOL_OUTPUT_TYPES = ("function_call_output", "custom_tool_call_output", "local_shell_call_output",
                     "mcp_tool_call_output", "tool_search_output")
AGENTS_HEADER = "# AGENTS.md instructions for"


def _message_text(item):
    content = item.get("content")
    if isinstance(content, str):
        return content
    parts = []
    for part in content or []:
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            parts.append(part["text"])
    return "\n".join(parts)


def _input_items(body):
    items = body.get("input")
    if isinstance(items, str):
        return [{"type": "message", "role": "user", "content": items}]
    return [i for i in items or [] if isinstance(i, dict)]


def instruction_context(body):
    """The ``instructions`` field (when there is one), the text of the ``developer`` (and
    ``system``) messages, and of the ``user`` messages holding ``# AGENTS.md instructions for``."""
    parts = []
    if isinstance(body.get("instructions"), str):
        parts.append(body["instructions"])
    for item in _input_items(body):
        if item.get("type", "message") != "message":
            continue
        role = item.get("role")
        text = _message_text(item)
        if role in ("developer", "system") or (role == "user" and AGENTS_HEADER in text):
            parts.append(text)
    return "\n".join(parts)


def count_tool_results(body):
    return sum(1 for item in _input_items(body) if item.get("type") in TOOL_OUTPUT_TYPES)


def _tools(body):
    """``(name, type)`` of every tool offered, namespaced tools' members included."""
    out = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        out.append((tool.get("name") or tool.get("type"), tool.get("type")))
        for inner in tool.get("tools") or []:  # a namespace of tools
            if isinstance(inner, dict) and inner.get("name"):
                out.append((inner["name"], inner.get("type")))
    return out


def offered_tools(body):
    return [name for name, _ in _tools(body)]


def usage_of(body, item):
    input_tokens = estimate_tokens(body)
    output_tokens = max(1, len(json.dumps(item)) // 4)
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def output_item(decision, tool_type):
    """The one output item of an answer."""
    if decision["kind"] == "tool_use":
        args = decision["args"]
        if tool_type == "custom":
            text = args.get("input") if isinstance(args.get("input"), str) else json.dumps(args)
            return {"type": "custom_tool_call", "id": new_id("ctc_"), "status": "completed",
                    "call_id": new_id("call_"), "name": decision["tool"], "input": text}
        return {"type": "function_call", "id": new_id("fc_"), "status": "completed",
                "call_id": new_id("call_"), "name": decision["tool"], "arguments": json.dumps(args)}
    return {"type": "message", "id": new_id("msg_"), "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": decision["text"], "annotations": []}]}


def response_events(decision, body):
    """The SSE events of one answer, as (event name, data) pairs, and the complete response."""
    tool_types = dict(_tools(body))
    item = output_item(decision, tool_types.get(decision.get("tool")))
    resp_id = new_id("resp_")
    model = body.get("model") or DEFAULT_MODEL
    base = {"id": resp_id, "object": "response", "created_at": int(time.time()), "model": model}
    started = dict(base, status="in_progress", output=[])
    done = dict(base, status="completed", output=[item], usage=usage_of(body, item))
    seq = iter(range(1000))
    added = dict(item, status="in_progress")
    if item["type"] == "message":
        added["content"] = []
    events = [
        ("response.created", {"type": "response.created", "sequence_number": next(seq), "response": started}),
        ("response.output_item.added",
         {"type": "response.output_item.added", "sequence_number": next(seq), "output_index": 0, "item": added}),
    ]
    if item["type"] == "message":
        events.append(("response.output_text.delta",
                       {"type": "response.output_text.delta", "sequence_number": next(seq), "item_id": item["id"],
                        "output_index": 0, "content_index": 0, "delta": decision["text"]}))
    events += [
        ("response.output_item.done",
         {"type": "response.output_item.done", "sequence_number": next(seq), "output_index": 0, "item": item}),
        ("response.completed", {"type": "response.completed", "sequence_number": next(seq), "response": done}),
    ]
    return events, done


class OpenAIResponses:
    """The OpenAI Responses protocol: ``POST /v1/responses`` (SSE when ``stream``); anything
    else is a 404 with an OpenAI-shaped error."""

    count_tool_results = staticmethod(count_tool_results)
    offered_tools = staticmethod(offered_tools)
    instruction_context = staticmethod(instruction_context)

    @staticmethod
    def _not_found(path):
        error = {"error": {"type": "invalid_request_error", "code": "not_found", "message": f"no {path} here"}}
        return Reply.json(404, error, {"kind": "404"})

    def handle(self, method, raw_path, body, server):
        path = raw_path.split("?", 1)[0].rstrip("/")
        if method != "POST" or path not in ("/v1/responses", "/responses") or not isinstance(body, dict):
            return self._not_found(path)
        decision, summary = server.decide(body)
        events, response = response_events(decision, body)
        summary["item"] = response["output"][0]["type"]
        if body.get("stream"):
            return Reply(200, "text/event-stream", sse_bytes(events), summary)
        return Reply.json(200, response, summary)


def StandIn(script, record_path=None, port=0, verbose=False):  # noqa: N802 (a constructor)
    """A stand-in for the OpenAI Responses API (see ``standin.StandIn``)."""
    return standin.StandIn(OpenAIResponses(), script, record_path, port, verbose)


if __name__ == "__main__":
    sys.exit(standin.serve_main(OpenAIResponses, __doc__.split("\n")[0]))
