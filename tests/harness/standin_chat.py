#!/usr/bin/env python3
"""A scripted stand-in for OpenAI chat completions, for running a real OpenCode or GitHub
Copilot CLI offline.

Python 3 standard library only. Listens on 127.0.0.1 and answers:

- ``POST /v1/chat/completions`` (also without the ``/v1``): when the body asks for
  ``stream: true`` (OpenCode 1.18.33 and Copilot CLI 1.0.102 always do), server-sent events
  ``data: {chat.completion.chunk}`` (a first chunk with ``delta.role``; then either one
  ``delta.tool_calls[{index, id, type: "function", function: {name, arguments}}]`` chunk and
  the rest of ``arguments`` in a second chunk, or ``delta.content``; a chunk with
  ``finish_reason`` ``tool_calls`` / ``stop``; a chunk with ``usage`` and no choices when
  ``stream_options.include_usage`` asks for it; then ``data: [DONE]``); else one
  ``chat.completion`` object. What the answer says is decided by the script from the request
  alone (``standin.py``).
- ``GET /v1/models`` (also ``/models``): a model list naming ``m``, ``gpt-4.1`` and the
  models the script's requests used.
- anything else: 404 with an OpenAI-shaped JSON error.

A request's step is the number of ``role: "tool"`` messages in ``messages``; the offered
tools are the ``function.name`` of ``tools``; a request that offers none of the script's tools
(OpenCode's title request, which has no tools at all) gets ``side_text``.

The instruction context is the text of the ``system`` (and ``developer``) messages and of the
first user message. Checked 2026-12-07: ``<project>/AGENTS.md`` reaches the model in a
``system`` message for both OpenCode 1.18.33 (``Instructions from: <path>`` followed by the
file's text) and Copilot CLI 1.0.102 (inside ``<custom_instruction>``); see the harness
modules ``agents/opencode.py`` and ``agents/copilot.py`` and ``tests/data/*/README.md``.

Module use::

    server = StandIn(script, record_path)   # starts serving in a thread
    server.base_url + "/v1"                 # what the harness's provider config names
    server.close()

CLI use: ``python3 standin_chat.py --port 0 --script script.json --record r.jsonl`` prints
the port on the first line of stdout, then serves until killed.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin  # noqa: E402
from standin import Reply, estimate_tokens, new_id, read_records, sse_bytes, text_of  # noqa: E402,F401

DEFAULT_MODEL = "m"
KNOWN_MODELS = ("m", "gpt-4.1")


def _content_text(content):
    """The text of a chat message's ``content`` (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(part["text"])
        return "\n".join(out)
    return ""


def instruction_context(body):
    """The text of the ``system``/``developer`` messages and of the first user message."""
    parts = []
    first_user_seen = False
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role in ("system", "developer"):
            parts.append(_content_text(message.get("content")))
        elif role == "user" and not first_user_seen:
            first_user_seen = True
            parts.append(_content_text(message.get("content")))
    return "\n".join(parts)


def count_tool_results(body):
    return sum(
        1 for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "tool"
    )


def offered_tools(body):
    names = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        fn = tool.get("function")
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            names.append(fn["name"])
        elif isinstance(tool.get("name"), str):
            names.append(tool["name"])
    return names


def _usage(prompt_tokens, completion_tokens):
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion(decision, model, prompt_tokens, include_usage):
    """The chunks of one streamed answer (a list of dicts) and the same answer as one
    ``chat.completion`` object."""
    cid = new_id("chatcmpl-")
    created = int(time.time())
    base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_standin"}

    def chunk(delta, finish_reason=None):
        return dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None,
                                    "finish_reason": finish_reason}])

    if decision["kind"] == "tool_use":
        raw = json.dumps(decision["args"], ensure_ascii=False)
        call_id = new_id("call_", 12)
        cut = len(raw) // 2
        chunks = [
            chunk({"role": "assistant", "content": None}),
            chunk({"tool_calls": [{"index": 0, "id": call_id, "type": "function",
                                   "function": {"name": decision["tool"], "arguments": raw[:cut]}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": raw[cut:]}}]}),
            chunk({}, "tool_calls"),
        ]
        message = {"role": "assistant", "content": None, "refusal": None,
                   "tool_calls": [{"id": call_id, "type": "function",
                                   "function": {"name": decision["tool"], "arguments": raw}}]}
        finish = "tool_calls"
        completion_tokens = max(1, len(raw) // 4)
    else:
        text = decision["text"]
        cut = len(text) // 2
        chunks = [chunk({"role": "assistant", "content": ""})]
        chunks += [chunk({"content": piece}) for piece in (text[:cut], text[cut:]) if piece]
        chunks.append(chunk({}, "stop"))
        message = {"role": "assistant", "content": text, "refusal": None}
        finish = "stop"
        completion_tokens = max(1, len(text) // 4)
    usage = _usage(prompt_tokens, completion_tokens)
    if include_usage:
        chunks.append(dict(base, choices=[], usage=usage))
    whole = {"id": cid, "object": "chat.completion", "created": created, "model": model,
             "system_fingerprint": "fp_standin",
             "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
             "usage": usage}
    return chunks, whole


class OpenAIChat:
    """OpenAI chat completions: ``POST /v1/chat/completions`` (SSE when ``stream``),
    ``GET /v1/models``; anything else is a 404 with an OpenAI-shaped error."""

    count_tool_results = staticmethod(count_tool_results)
    offered_tools = staticmethod(offered_tools)
    instruction_context = staticmethod(instruction_context)

    def __init__(self):
        self.models_seen = []

    @staticmethod
    def _not_found(method, path):
        error = {"error": {"message": f"stand-in: no {method} {path} here", "type": "invalid_request_error",
                           "param": None, "code": "not_found"}}
        return Reply.json(404, error, {"kind": "404"})

    def _models(self):
        ids = list(dict.fromkeys(list(KNOWN_MODELS) + self.models_seen))
        data = [{"id": i, "object": "model", "created": 0, "owned_by": "standin"} for i in ids]
        return Reply.json(200, {"object": "list", "data": data}, {"kind": "models"})

    def handle(self, method, raw_path, body, server):
        path = raw_path.split("?", 1)[0].rstrip("/")
        if method == "GET" and path in ("/v1/models", "/models"):
            return self._models()
        if method != "POST" or path not in ("/v1/chat/completions", "/chat/completions"):
            return self._not_found(method, path)
        if not isinstance(body, dict):
            return Reply.json(400, {"error": {"message": "stand-in: the body is not a JSON object",
                                              "type": "invalid_request_error"}}, {"kind": "400"})
        model = body.get("model") or DEFAULT_MODEL
        if isinstance(model, str) and model not in self.models_seen:
            self.models_seen.append(model)
        decision, summary = server.decide(body)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks, whole = completion(decision, model, estimate_tokens(body), include_usage)
        if body.get("stream"):
            payload = sse_bytes([(None, c) for c in chunks] + [(None, "[DONE]")], named=False)
            return Reply(200, "text/event-stream", payload, summary)
        return Reply.json(200, whole, summary)


def StandIn(script, record_path=None, port=0, verbose=False):  # noqa: N802 (a constructor)
    """A stand-in for OpenAI chat completions (see ``standin.StandIn``)."""
    return standin.StandIn(OpenAIChat(), script, record_path, port, verbose)


if __name__ == "__main__":
    sys.exit(standin.serve_main(OpenAIChat, __doc__.split("\n")[0]))
