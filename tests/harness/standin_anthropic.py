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

The script (a JSON file or dict)::

    {"steps": [{"bash": "pytest -q"}, {"bash": "python3 -m unittest -q"}],
     "follow_lessons": {"marker": "python3 -m unittest", "skip": ["pytest -q"]},
     "final_text": "done"}

Optional: ``follow_lessons.where`` (``"instructions"``, the default, or ``"anywhere"``) and
``side_text`` (the answer to requests without the ``Bash`` tool).

A request that offers the ``Bash`` tool is answered by a stateless policy, so that several
sessions can run one after another against one server:

- its *step* is the number of ``tool_result`` blocks already in ``messages``;
- the steps to play are ``steps``, minus those whose command is in ``follow_lessons.skip``
  when ``follow_lessons`` is set and its ``marker`` is in the request's *instruction
  context*; ``"follow_lessons": null`` plays every step (a model that ignores lessons);
- step ``i`` < number of steps to play: a ``tool_use`` block ``Bash`` with
  ``{"command": ..., "description": ...}`` (stop reason ``tool_use``); otherwise the text
  ``final_text`` (stop reason ``end_turn``).

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
    server.port; server.script = other      # the script may be swapped between sessions
    server.close()

CLI use::

    python3 standin_anthropic.py --port 0 --script script.json --record requests.jsonl

prints the port on the first line of stdout, then serves until killed. The script file is read
again when it changes, so a driver may rewrite it between sessions.
"""

import argparse
import gzip
import json
import os
import secrets
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_MODEL = "claude-standin"


# --- the script -----------------------------------------------------------------------------


def load_script(source):
    """A script from a dict, a JSON string or a file path; checked and normalised."""
    if isinstance(source, dict):
        script = source
    elif isinstance(source, str) and source.lstrip().startswith("{"):
        script = json.loads(source)
    else:
        with open(source, encoding="utf-8") as f:
            script = json.load(f)
    steps = script.get("steps", [])
    if not isinstance(steps, list) or not all(
        isinstance(s, dict) and isinstance(s.get("bash"), str) for s in steps
    ):
        raise ValueError('script "steps" must be a list of {"bash": "<command>"}')
    follow = script.get("follow_lessons")
    if follow is not None:
        if not isinstance(follow, dict) or not isinstance(follow.get("marker"), str):
            raise ValueError('"follow_lessons" must be null or {"marker": str, "skip": [str]}')
        if not isinstance(follow.get("skip", []), list):
            raise ValueError('"follow_lessons.skip" must be a list of commands')
        if follow.get("where", "instructions") not in ("instructions", "anywhere"):
            raise ValueError('"follow_lessons.where" must be "instructions" or "anywhere"')
    return {
        "steps": steps,
        "follow_lessons": follow,
        "final_text": str(script.get("final_text", "done")),
        "side_text": str(script.get("side_text", "Running the tests")),
    }


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


def offers_bash(body):
    return any(isinstance(t, dict) and t.get("name") == "Bash" for t in body.get("tools") or [])


def lessons_followed(script, body):
    """Whether this request makes the scripted model follow the lesson (marker present)."""
    follow = script["follow_lessons"]
    if not follow:
        return False
    if follow.get("where", "instructions") == "anywhere":
        haystack = json.dumps(body, ensure_ascii=False)
    else:
        haystack = instruction_context(body)
    return follow["marker"] in haystack


def decide(script, body):
    """What the scripted model answers to ``body``: ``("tool_use", command, step)`` or
    ``("text", text, step)``."""
    step = count_tool_results(body)
    if not offers_bash(body):
        return ("text", script["side_text"], step)
    steps = [s["bash"] for s in script["steps"]]
    if lessons_followed(script, body):
        skip = set(script["follow_lessons"].get("skip", []))
        steps = [c for c in steps if c not in skip]
    if step < len(steps):
        return ("tool_use", steps[step], step)
    return ("text", script["final_text"], step)


# --- the answers ----------------------------------------------------------------------------


def estimate_tokens(body):
    return max(1, len(json.dumps(body, ensure_ascii=False)) // 4)


def message_events(kind, value, step, model, input_tokens):
    """The SSE events of one answer, as (event name, data) pairs, and the complete message."""
    msg_id = "msg_" + secrets.token_hex(12)
    if kind == "tool_use":
        tool_input = {"command": value, "description": f"Step {step + 1}: run {value}"}
        block = {"type": "tool_use", "id": "toolu_" + secrets.token_hex(12), "name": "Bash"}
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
        full_block = {"type": "text", "text": value}
        deltas = [{"type": "text_delta", "text": value}]
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


def sse_bytes(events):
    return "".join(
        f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n" for name, data in events
    ).encode("utf-8")


# --- the server -----------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin-anthropic/1"

    def log_message(self, fmt, *args):  # quiet unless asked
        if self.server.standin.verbose:
            sys.stderr.write("standin: " + (fmt % args) + "\n")

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            raw = bytes(data)
        else:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "").lower()
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        return raw

    def _send(self, status, content_type, payload):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("request-id", "req_" + secrets.token_hex(8))
        if content_type == "text/event-stream":
            self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def _json(self, status, obj):
        self._send(status, "application/json", json.dumps(obj).encode("utf-8"))

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        self.server.standin.record(self.path, None, {"kind": "404"})
        self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": f"no {path} here"}})

    do_HEAD = do_GET
    do_DELETE = do_GET

    def do_POST(self):
        standin = self.server.standin
        path = self.path.split("?", 1)[0]
        raw = self._read_body()
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = raw.decode("utf-8", "replace")
        if path == "/v1/messages/count_tokens":
            n = estimate_tokens(body)
            standin.record(self.path, body, {"kind": "count_tokens", "input_tokens": n})
            self._json(200, {"input_tokens": n})
            return
        if path != "/v1/messages" or not isinstance(body, dict):
            standin.record(self.path, body, {"kind": "404"})
            self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": f"no {path} here"}})
            return
        try:
            script = standin.current_script()
        except (OSError, ValueError) as e:
            standin.record(self.path, body, {"kind": "error", "error": str(e)})
            self._json(500, {"type": "error", "error": {"type": "api_error", "message": f"bad script: {e}"}})
            return
        kind, value, step = decide(script, body)
        summary = {"kind": kind, "step": step, "bash_offered": offers_bash(body)}
        summary["command" if kind == "tool_use" else "text"] = value
        if offers_bash(body):
            summary["lessons_followed"] = lessons_followed(script, body)
        standin.record(self.path, body, summary)
        events, message = message_events(
            kind, value, step, body.get("model") or DEFAULT_MODEL, estimate_tokens(body)
        )
        if body.get("stream"):
            self._send(200, "text/event-stream", sse_bytes(events))
        else:
            self._json(200, message)


class StandIn:
    """The stand-in, serving in a daemon thread from construction until ``close()``."""

    def __init__(self, script, record_path=None, port=0, verbose=False):
        self._script_source = script
        self._script_cache = None  # (mtime, script) when the source is a file
        self.script = load_script(script) if not _is_path(script) else None
        self.record_path = record_path
        self.verbose = verbose
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.standin = self
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        if _is_path(script):
            self.current_script()  # fail now on a bad file
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def set_script(self, script):
        """Replace the script (a dict, JSON text or a file path)."""
        with self._lock:
            self._script_source = script
            self._script_cache = None
            self.script = None if _is_path(script) else load_script(script)

    def current_script(self):
        with self._lock:
            if self.script is not None:
                return self.script
            mtime = os.stat(self._script_source).st_mtime_ns
            if self._script_cache is None or self._script_cache[0] != mtime:
                self._script_cache = (mtime, load_script(self._script_source))
            return self._script_cache[1]

    def record(self, path, body, reply):
        if not self.record_path:
            return
        line = json.dumps({"path": path, "body": body, "time": time.time(), "reply": reply}, ensure_ascii=False)
        with self._lock:
            with open(self.record_path, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _is_path(source):
    return isinstance(source, (str, os.PathLike)) and not str(source).lstrip().startswith("{")


def read_records(record_path, start=0):
    """The recorded requests from line ``start`` on (a list of dicts)."""
    out = []
    try:
        with open(record_path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= start and line.strip():
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0, help="port to listen on (0: any free one)")
    ap.add_argument("--script", required=True, help="the script (JSON file, read again when it changes)")
    ap.add_argument("--record", help="append every request here (JSON lines)")
    ap.add_argument("--verbose", action="store_true", help="log requests on stderr")
    args = ap.parse_args(argv)
    server = StandIn(args.script, args.record, args.port, args.verbose)
    print(server.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
