#!/usr/bin/env python3
"""A scripted stand-in for the Gemini API, for running a real Gemini CLI offline.

Python 3 standard library only. Listens on 127.0.0.1 and answers:

- ``POST /v1beta/models/<model>:streamGenerateContent?alt=sse``: server-sent events, data
  lines only (``data: {json}``), each a ``GenerateContentResponse``: ``candidates[0].content``
  (role ``model``) whose ``parts`` hold one ``functionCall {name, args}`` or one ``text``,
  ``finishReason: "STOP"``, ``usageMetadata`` and ``modelVersion``. Gemini CLI 0.61.0 sends
  every model turn here (``alt=sse``); a tool call is one event, a text answer two (the text in
  two pieces, the finish reason on the last).
- ``POST /v1beta/models/<model>:generateContent``: the same answer as one JSON object. Gemini
  CLI uses it for JSON-mode side questions that offer no tools: without ``-m`` the model
  router asks ``gemini-3.5-flash-lite`` for ``{complexity_reasoning, complexity_score}``
  (then streams to ``gemini-3.8-flash``); the "next speaker" and loop checks are similar.
  A request that offers none of the script's tools gets ``side_text``, or, when
  ``generationConfig.responseMimeType`` is ``application/json``, a JSON text that satisfies
  the asked schema (``complexity_score: 1``, ``next_speaker: "user"``, ...).
- ``POST /v1beta/models/<model>:countTokens``: ``{"totalTokens": N}`` (a rough estimate; not
  called by 0.61.0 in the common scenario).
- anything else: 404 with a Google-shaped JSON error (``{"error": {"code", "message",
  "status"}}``).

Every request is appended to the record file as one JSON line ``{"path", "body", "time",
"reply"}`` (see ``standin.py``).

What Gemini CLI 0.61.0 sends (checked 2026-12-07, ``agents/gemini.py``, ``-m
gemini-2.5-flash``): only ``:streamGenerateContent?alt=sse``, one request per model turn, body
``{contents, systemInstruction, tools, generationConfig}``. ``contents`` is the whole
conversation each time: role ``user`` turns with ``text`` parts and
``functionResponse {id, name, response: {output}}`` parts (``response: {error}`` for a failed
tool), role ``model`` turns with the ``functionCall {id, name, args}`` parts it was given (the
CLI adds its own ``id`` and ``thoughtSignature: "skip_thought_signature_validator"``).
``systemInstruction`` is ``{parts: [{text}]}`` (the main prompt). ``tools`` is
``[{functionDeclarations: [{name, description, parametersJsonSchema}]}]`` (16 tools:
``update_topic, list_directory, read_file, grep_search, glob, replace, write_file, web_fetch,
run_shell_command, list_background_processes, read_background_output, google_web_search,
write_todos, enter_plan_mode, invoke_agent, activate_skill``). What is enough in the answer: a
``functionCall`` with ``name`` and ``args`` (no ``id``, no thought signature), ``finishReason``
and ``usageMetadata`` on the last event.

The script and its stateless policy are ``standin.py``'s (steps name Gemini's tools, e.g.
``{"tool": "run_shell_command", "args": {"command": "pytest -q", "description": "..."}}``);
a request's step is the number of ``functionResponse`` parts already in ``contents``.

The instruction context is the text of ``systemInstruction`` and of the first ``user`` turn
in ``contents``. ``<project>/GEMINI.md`` is *not* in ``systemInstruction``: it is in the first
user turn, ``contents[0].parts[0].text``, a ``<session_context>`` block (date, OS, workspace,
directory tree) ending in ``<loaded_context>\n<project_context>\n--- Context from:
<abs path>/GEMINI.md ---\n<file text>\n--- End of Context from: <abs path>/GEMINI.md
---\n</project_context>\n</loaded_context>\n</session_context>``; the prompt is
``parts[1]``. It is in every request of the session. An ``AfterTool`` hook's
``additionalContext`` is appended to the tool's ``functionResponse.response.output`` as
``\n\n<hook_context>...</hook_context>``, so it is not part of the instruction context
(``"where": "anywhere"`` finds it).

Module use::

    server = StandIn(script, record_path)   # starts serving in a thread
    server.port; server.set_script(other)   # the script may be swapped between sessions
    server.close()

CLI use: ``python3 standin_gemini.py --port 0 --script script.json --record r.jsonl``
prints the port on the first line of stdout, then serves until killed.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin  # noqa: E402
from standin import Reply, estimate_tokens, new_id, read_records, sse_bytes  # noqa: E402,F401

DEFAULT_MODEL = "gemini-2.5-flash"


def _parts_text(parts):
    """The text of a list of parts (``text`` parts, function responses' output included)."""
    out = []
    for part in parts or []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str) and not part.get("thought"):
            out.append(part["text"])
        elif isinstance(part.get("functionResponse"), dict):
            out.append(standin.text_of(part["functionResponse"].get("response")))
    return "\n".join(out)


def _contents(body):
    contents = body.get("contents") if isinstance(body, dict) else None
    if isinstance(contents, dict):  # a single Content is allowed by the API
        contents = [contents]
    return [c for c in contents or [] if isinstance(c, dict)]


def instruction_context(body):
    """The text of ``systemInstruction`` and of the first ``user`` turn of ``contents``."""
    parts = []
    system = body.get("systemInstruction") or body.get("system_instruction")
    if isinstance(system, str):
        parts.append(system)
    elif isinstance(system, dict):
        parts.append(_parts_text(system.get("parts")))
    elif isinstance(system, list):
        parts.append(_parts_text(system))
    for content in _contents(body):
        if content.get("role", "user") == "user":
            parts.append(_parts_text(content.get("parts")))
            break
    return "\n".join(parts)


def count_tool_results(body):
    n = 0
    for content in _contents(body):
        n += sum(1 for p in content.get("parts") or [] if isinstance(p, dict) and "functionResponse" in p)
    return n


def offered_tools(body):
    names = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        for key in ("functionDeclarations", "function_declarations"):
            names.extend(d.get("name") for d in tool.get(key) or [] if isinstance(d, dict))
    return names


def _json_side_text(body):
    """A JSON answer for a JSON-mode side question (next speaker, routing, loop check)."""
    schema = json.dumps((body.get("generationConfig") or {}).get("responseJsonSchema")
                        or (body.get("generationConfig") or {}).get("responseSchema") or {})
    if "complexity_score" in schema:
        return json.dumps({"complexity_reasoning": "stand-in", "complexity_score": 1})
    if "next_speaker" in schema:
        return json.dumps({"reasoning": "stand-in: the model answered", "next_speaker": "user"})
    if "unproductive_state_confidence" in schema:
        return json.dumps({"unproductive_state_analysis": "stand-in", "unproductive_state_confidence": 0.0})
    return "{}"


def response_events(decision, model, prompt_tokens):
    """The ``GenerateContentResponse`` chunks of one answer, and the complete response."""
    response_id = new_id("", 8)
    if decision["kind"] == "tool_use":
        part = {"functionCall": {"name": decision["tool"], "args": decision["args"]}}
        chunks_parts = [[part]]
        full_parts = [part]
    else:
        text = decision["text"]
        cut = len(text) // 2
        pieces = [text[:cut], text[cut:]] if cut else [text]
        chunks_parts = [[{"text": p}] for p in pieces]
        full_parts = [{"text": text}]
    out_tokens = max(1, len(json.dumps(full_parts)) // 4)
    usage = {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": out_tokens,
        "totalTokenCount": prompt_tokens + out_tokens,
    }
    chunks = []
    for i, parts in enumerate(chunks_parts):
        candidate = {"content": {"parts": parts, "role": "model"}, "index": 0}
        last = i == len(chunks_parts) - 1
        if last:
            candidate["finishReason"] = "STOP"
        chunk = {"candidates": [candidate], "modelVersion": model, "responseId": response_id}
        chunk["usageMetadata"] = usage if last else {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens}
        chunks.append(chunk)
    full = {
        "candidates": [{"content": {"parts": full_parts, "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": response_id,
    }
    return chunks, full


class Gemini:
    """The Gemini API as Gemini CLI uses it: ``:streamGenerateContent`` (SSE),
    ``:generateContent``, ``:countTokens`` under ``/v1beta/models/``; anything else is a 404
    with a Google-shaped error."""

    count_tool_results = staticmethod(count_tool_results)
    offered_tools = staticmethod(offered_tools)
    instruction_context = staticmethod(instruction_context)

    @staticmethod
    def _not_found(path):
        error = {"error": {"code": 404, "message": f"stand-in: no {path} here", "status": "NOT_FOUND"}}
        return Reply.json(404, error, {"kind": "404"})

    def handle(self, method, raw_path, body, server):
        path = raw_path.split("?", 1)[0]
        prefix = None
        for p in ("/v1beta/models/", "/v1/models/", "/v1alpha/models/"):
            if path.startswith(p):
                prefix = p
        if method != "POST" or prefix is None or ":" not in path or not isinstance(body, dict):
            return self._not_found(path)
        model, action = path[len(prefix):].rsplit(":", 1)
        model = model or DEFAULT_MODEL
        if action == "countTokens":
            n = estimate_tokens(body)
            return Reply.json(200, {"totalTokens": n}, {"kind": "count_tokens", "total_tokens": n})
        if action not in ("streamGenerateContent", "generateContent"):
            return self._not_found(path)
        decision, summary = server.decide(body)
        config = body.get("generationConfig") or {}
        if decision.get("side") and config.get("responseMimeType") == "application/json":
            decision = dict(decision, text=_json_side_text(body))
            summary = dict(summary, text=decision["text"])
        chunks, full = response_events(decision, model, estimate_tokens(body))
        if action == "streamGenerateContent":
            return Reply(200, "text/event-stream", sse_bytes([(None, c) for c in chunks], named=False), summary)
        return Reply.json(200, full, summary)


def StandIn(script, record_path=None, port=0, verbose=False):  # noqa: N802 (a constructor)
    """A stand-in for the Gemini API (see ``standin.StandIn``)."""
    return standin.StandIn(Gemini(), script, record_path, port, verbose)


if __name__ == "__main__":
    sys.exit(standin.serve_main(Gemini, __doc__.split("\n")[0]))
