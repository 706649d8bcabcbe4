#!/usr/bin/env python3
"""What every scripted model stand-in shares: the script, its stateless policy, the HTTP
server and the record of requests. Python 3 standard library only.

A stand-in speaks one model API (a *protocol*: Anthropic Messages in ``standin_anthropic.py``,
OpenAI Responses and chat completions in ``standin_openai.py``, Gemini in
``standin_gemini.py``). The protocol knows how a request lists its tools, how many tool
results it already carries, which text is the *instruction context*, and how to stream an
answer. Everything else is here.

The script (a dict, JSON text, or a JSON file read again when it changes)::

    {"steps": [{"tool": "exec_command", "args": {"cmd": "pytest -q"}, "label": "pytest -q"},
               {"bash": "python3 -m unittest -q"}],
     "follow_lessons": {"marker": "python3 -m unittest", "skip": ["pytest -q"]},
     "final_text": "done", "side_text": "Running the tests"}

- a step is one tool call: ``tool`` (the name the harness offers), ``args`` (its arguments)
  and ``label`` (what ``follow_lessons.skip`` names; by default the ``command`` or ``cmd``
  argument, else the tool name). ``{"bash": CMD}`` is short for Claude Code's
  ``{"tool": "Bash", "args": {"command": CMD, "description": ...}, "label": CMD}``.
- ``follow_lessons`` (optional, ``null`` plays every step: a model that ignores lessons):
  when ``marker`` is in the request's instruction context (``"where": "anywhere"``: anywhere
  in the serialized request), the steps labelled in ``skip`` are left out.

The policy is stateless, so several sessions can run one after another against one server:
the *step* of a request is the number of tool results it already carries; step ``i`` below the
number of steps to play answers step ``i``'s tool call, any later step answers
``final_text``. A request that offers none of the script's tools (a title, a summary, a
routing question) gets ``side_text``.

Every request is appended to the record file as one JSON line ``{"path", "body", "time",
"reply"}`` (``body`` parsed when it is JSON; ``reply`` a short summary of the answer).
"""

import gzip
import json
import os
import secrets
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# --- the script -----------------------------------------------------------------------------


def _step(raw):
    if not isinstance(raw, dict):
        raise ValueError("a script step must be an object")
    if "bash" in raw:
        if not isinstance(raw["bash"], str):
            raise ValueError('"bash" must be a command string')
        cmd = raw["bash"]
        return {
            "tool": "Bash",
            "args": {"command": cmd, "description": f"Run {cmd}"},
            "label": raw.get("label", cmd),
        }
    tool, args = raw.get("tool"), raw.get("args", {})
    if not isinstance(tool, str) or not isinstance(args, dict):
        raise ValueError('a script step must be {"tool": str, "args": {...}} or {"bash": str}')
    label = raw.get("label") or args.get("command") or args.get("cmd") or tool
    return {"tool": tool, "args": args, "label": str(label)}


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
    if not isinstance(steps, list):
        raise ValueError('script "steps" must be a list')
    follow = script.get("follow_lessons")
    if follow is not None:
        if not isinstance(follow, dict) or not isinstance(follow.get("marker"), str):
            raise ValueError('"follow_lessons" must be null or {"marker": str, "skip": [str]}')
        if not isinstance(follow.get("skip", []), list):
            raise ValueError('"follow_lessons.skip" must be a list of step labels')
        if follow.get("where", "instructions") not in ("instructions", "anywhere"):
            raise ValueError('"follow_lessons.where" must be "instructions" or "anywhere"')
    return {
        "steps": [_step(s) for s in steps],
        "follow_lessons": follow,
        "final_text": str(script.get("final_text", "done")),
        "side_text": str(script.get("side_text", "Running the tests")),
    }


def lessons_followed(script, protocol, body):
    """Whether this request makes the scripted model follow the lesson (marker present)."""
    follow = script["follow_lessons"]
    if not follow:
        return False
    if follow.get("where", "instructions") == "anywhere":
        haystack = json.dumps(body, ensure_ascii=False)
    else:
        haystack = protocol.instruction_context(body)
    return follow["marker"] in haystack


def decide(script, protocol, body):
    """What the scripted model answers to ``body``: ``{"kind": "tool_use", "step": i, "tool",
    "args", "label"}`` or ``{"kind": "text", "step": i, "text"}``."""
    step = protocol.count_tool_results(body)
    offered = set(protocol.offered_tools(body))
    if not any(s["tool"] in offered for s in script["steps"]):
        return {"kind": "text", "step": step, "text": script["side_text"], "side": True}
    steps = script["steps"]
    if lessons_followed(script, protocol, body):
        skip = set(script["follow_lessons"].get("skip", []))
        steps = [s for s in steps if s["label"] not in skip]
    if step < len(steps):
        return dict(steps[step], kind="tool_use", step=step)
    return {"kind": "text", "step": step, "text": script["final_text"]}


def estimate_tokens(body):
    return max(1, len(json.dumps(body, ensure_ascii=False)) // 4)


def new_id(prefix, n=12):
    return prefix + secrets.token_hex(n)


def text_of(value):
    """All the text in a JSON value (strings joined by newlines), for instruction contexts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(text_of(v) for v in value)
    if isinstance(value, dict):
        return "\n".join(text_of(v) for k, v in value.items() if k not in ("type", "id"))
    return ""


def sse_bytes(events, named=True):
    """Server-sent events from ``(event name, data)`` pairs (``named=False``: data lines only)."""
    out = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        out.append((f"event: {name}\n" if named and name else "") + f"data: {payload}\n\n")
    return "".join(out).encode("utf-8")


# --- the server -----------------------------------------------------------------------------


class Reply:
    """One HTTP answer."""

    def __init__(self, status, content_type, payload, summary):
        self.status = status
        self.content_type = content_type
        self.payload = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        self.summary = summary

    @classmethod
    def json(cls, status, obj, summary):
        return cls(status, "application/json", obj, summary)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin/1"

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
        elif encoding == "zstd":
            raise ValueError("zstd request bodies are not supported")
        return raw

    def _send(self, reply):
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.payload)))
        self.send_header("request-id", new_id("req_", 8))
        self.send_header("x-request-id", new_id("req_", 8))
        if reply.content_type == "text/event-stream":
            self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(reply.payload)
        self.wfile.flush()

    def _handle(self, method):
        standin = self.server.standin
        raw = self._read_body() if method == "POST" else b""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = raw.decode("utf-8", "replace")
        try:
            reply = standin.protocol.handle(method, self.path, body, standin)
        except (OSError, ValueError) as e:
            reply = Reply.json(500, {"error": {"message": f"stand-in: {e}"}}, {"kind": "error", "error": str(e)})
        standin.record(self.path, body, reply.summary)
        self._send(reply)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")


class StandIn:
    """A stand-in for ``protocol``, serving in a daemon thread from construction until
    ``close()``."""

    def __init__(self, protocol, script, record_path=None, port=0, verbose=False):
        self.protocol = protocol
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

    def decide(self, body):
        """The policy's answer to ``body`` (a dict) under the current script, with a summary
        for the record."""
        script = self.current_script()
        decision = decide(script, self.protocol, body)
        summary = {k: v for k, v in decision.items() if k in ("kind", "step", "tool", "label", "text", "side")}
        summary["lessons_followed"] = lessons_followed(script, self.protocol, body)
        return decision, summary

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


def serve_main(protocol_factory, description, argv=None):
    """The command line every stand-in module shares: ``--port --script --record``; prints
    the port on the first line of stdout, then serves until killed."""
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--port", type=int, default=0, help="port to listen on (0: any free one)")
    ap.add_argument("--script", required=True, help="the script (JSON file, read again when it changes)")
    ap.add_argument("--record", help="append every request here (JSON lines)")
    ap.add_argument("--verbose", action="store_true", help="log requests on stderr")
    args = ap.parse_args(argv)
    server = StandIn(protocol_factory(), args.script, args.record, args.port, args.verbose)
    print(server.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
