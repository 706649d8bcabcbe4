#!/usr/bin/env python3
"""Captures what each real harness exports over OTLP/HTTP during the common scenario.

Usage::

    python3 tests/harness/otlp_capture.py --harness all                 # capture, re-write fixtures, check
    python3 tests/harness/otlp_capture.py --harness claude-code,codex   # some of them
    python3 tests/harness/otlp_capture.py --harness gemini --check      # run and check, write nothing
    python3 tests/harness/otlp_capture.py --harness all --out /tmp/o    # write there, not tests/data/otlp
    python3 tests/harness/otlp_capture.py --decode tests/data/otlp/claude-code-2.1.328/protobuf/001-logs.pb
    python3 tests/harness/otlp_capture.py --summary tests/data/otlp/codex-0.169.0/json

Python 3 standard library only (no cargo, no ``opentelemetry-proto``: the protobuf bodies are
read and rewritten by the small OTLP wire-format code below, ``SCHEMA``/``pb_*``). For every harness
(``claude-code``, ``codex``, ``gemini``, ``opencode``, ``copilot``) and each of its variants
(``VARIANTS``: protocol, compression) it installs the pinned harness (the ``agents/*``
modules, cached under ``target/harness``), starts ``otlp_sink.Sink`` and the stand-in of its
model protocol with the common scenario (``agents/common.py``: ``pytest -q`` exits 127,
``python3 -m unittest -q`` passes, a read of ``missing.txt`` fails, ``notes.txt`` is read and
edited), runs one session in a throw-away HOME with its telemetry pointed at the sink (the
variant's ``configure``: environment variables and/or the harness's own settings file,
written after the module's ``setup``), waits until the sink has been quiet for a while and
writes what arrived to ``tests/data/otlp/<harness>-<version>/<variant>/``:

- ``NNN-logs.json`` / ``NNN-traces.json``: a JSON body, pretty-printed (``NNN`` is the
  request's arrival number among all requests, metrics included);
- ``NNN-logs.pb`` / ``NNN-traces.pb``: a protobuf body, the bytes as sent (gunzipped);
- ``NNN-logs.json.gz`` / ``.pb.gz``: a gzip-compressed body, re-compressed after scrubbing;
- ``capture.json``: the manifest (harness exit status, the environment and settings used,
  every request: path, content type, content encoding, sizes, kept or why not; counts of
  records, spans, metrics requests and tool-result items).

``/v1/metrics`` bodies are not kept (counted only). Paths of the throw-away HOME and project
become ``/home/user`` and ``/home/user/project`` (as in the other fixtures), inside protobuf
strings too (the messages are re-encoded field by field; everything else stays byte-exact);
``os.version``, ``host.name`` and the like become ``SCRUBBED`` (see ``SCRUB_KEYS``).

The check: a variant whose committed ``capture.json`` counted tool-result items (a harness
that exported before) must export at least one again, else ``FAIL`` and exit status 1.
Every variant prints one ``PASS``/``FAIL``/``INFO`` line. What the captures hold is
described in ``tests/data/otlp/README.md``.
"""

import argparse
import gzip
import importlib
import json
import os
import re
import shutil
import socket
import struct
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "agents"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import common  # noqa: E402
import otlp_sink  # noqa: E402
import standin  # noqa: E402

REPO = common.repo_root()
OUT = REPO / "tests" / "data" / "otlp"

# --- protobuf: just enough of the OTLP schema to walk every string -------------------------------

# message -> {field number: ("msg", message) | "str" | "bytes"}; fields not listed are kept as
# they are (varints, fixed64 timestamps, ids as bytes, enums).
SCHEMA = {
    "ExportLogsServiceRequest": {1: ("msg", "ResourceLogs")},
    "ExportTraceServiceRequest": {1: ("msg", "ResourceSpans")},
    "ResourceLogs": {1: ("msg", "Resource"), 2: ("msg", "ScopeLogs"), 3: "str"},
    "ResourceSpans": {1: ("msg", "Resource"), 2: ("msg", "ScopeSpans"), 3: "str"},
    "Resource": {1: ("msg", "KeyValue")},
    "ScopeLogs": {1: ("msg", "InstrumentationScope"), 2: ("msg", "LogRecord"), 3: "str"},
    "ScopeSpans": {1: ("msg", "InstrumentationScope"), 2: ("msg", "Span"), 3: "str"},
    "InstrumentationScope": {1: "str", 2: "str", 3: ("msg", "KeyValue")},
    "LogRecord": {3: "str", 5: ("msg", "AnyValue"), 6: ("msg", "KeyValue"), 9: "bytes", 10: "bytes",
                  12: "str"},
    "Span": {1: "bytes", 2: "bytes", 3: "str", 4: "bytes", 5: "str", 9: ("msg", "KeyValue"),
             11: ("msg", "Event"), 13: ("msg", "Link"), 15: ("msg", "Status")},
    "Event": {2: "str", 3: ("msg", "KeyValue")},
    "Link": {1: "bytes", 2: "bytes", 3: "str", 4: ("msg", "KeyValue")},
    "Status": {2: "str"},
    "KeyValue": {1: "str", 2: ("msg", "AnyValue")},
    "AnyValue": {1: "str", 5: ("msg", "ArrayValue"), 6: ("msg", "KeyValueList"), 7: "bytes"},
    "ArrayValue": {1: ("msg", "AnyValue")},
    "KeyValueList": {1: ("msg", "KeyValue")},
}
ROOT = {"/v1/logs": "ExportLogsServiceRequest", "/v1/traces": "ExportTraceServiceRequest"}


def _varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _enc_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_fields(buf):
    """``(field, wire type, value, raw bytes of the whole field)`` of one message."""
    i, out = 0, []
    while i < len(buf):
        start = i
        key, i = _varint(buf, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            val, i = _varint(buf, i)
        elif wt == 1:
            val, i = buf[i:i + 8], i + 8
        elif wt == 5:
            val, i = buf[i:i + 4], i + 4
        elif wt == 2:
            n, i = _varint(buf, i)
            val, i = buf[i:i + n], i + n
        else:
            raise ValueError(f"wire type {wt} at {start}")
        out.append((field, wt, val, buf[start:i]))
    return out


def pb_rewrite(buf, message, fn):
    """``buf`` (a ``message``) with every string field ``s`` replaced by ``fn(s, key)``
    (``key``: the attribute key when the string is an attribute's value, else ``None``)."""
    return _rewrite(bytes(buf), message, fn, None)


def _rewrite(buf, message, fn, key):
    schema = SCHEMA[message]
    fields = pb_fields(buf)
    if message == "KeyValue":
        for f, wt, val, _ in fields:
            if f == 1 and wt == 2:
                key = val.decode("utf-8", "replace")
    out = bytearray()
    for f, wt, val, raw in fields:
        kind = schema.get(f)
        if wt != 2 or kind is None or kind == "bytes":
            out += raw
            continue
        if kind == "str":
            new = fn(val.decode("utf-8"), key if message == "AnyValue" else None).encode("utf-8")
        else:
            new = _rewrite(val, kind[1], fn, key)
        out += _enc_varint((f << 3) | 2) + _enc_varint(len(new)) + new
    return bytes(out)


def pb_to_json(buf, message):
    """An OTLP protobuf message as OTLP/JSON would spell it (ids as hex, 64-bit ints as strings,
    as the OTLP/JSON mapping says)."""
    names = {
        "ExportLogsServiceRequest": {1: "resourceLogs"}, "ExportTraceServiceRequest": {1: "resourceSpans"},
        "ResourceLogs": {1: "resource", 2: "scopeLogs", 3: "schemaUrl"},
        "ResourceSpans": {1: "resource", 2: "scopeSpans", 3: "schemaUrl"},
        "Resource": {1: "attributes", 2: "droppedAttributesCount"},
        "ScopeLogs": {1: "scope", 2: "logRecords", 3: "schemaUrl"},
        "ScopeSpans": {1: "scope", 2: "spans", 3: "schemaUrl"},
        "InstrumentationScope": {1: "name", 2: "version", 3: "attributes", 4: "droppedAttributesCount"},
        "LogRecord": {1: "timeUnixNano", 11: "observedTimeUnixNano", 2: "severityNumber", 3: "severityText",
                      5: "body", 6: "attributes", 7: "droppedAttributesCount", 8: "flags", 9: "traceId",
                      10: "spanId", 12: "eventName"},
        "Span": {1: "traceId", 2: "spanId", 3: "traceState", 4: "parentSpanId", 16: "flags", 5: "name", 6: "kind",
                 7: "startTimeUnixNano", 8: "endTimeUnixNano", 9: "attributes", 10: "droppedAttributesCount",
                 11: "events", 12: "droppedEventsCount", 13: "links", 14: "droppedLinksCount", 15: "status"},
        "Event": {1: "timeUnixNano", 2: "name", 3: "attributes", 4: "droppedAttributesCount"},
        "Link": {1: "traceId", 2: "spanId", 3: "traceState", 4: "attributes", 5: "droppedAttributesCount",
                 6: "flags"},
        "Status": {2: "message", 3: "code"},
        "KeyValue": {1: "key", 2: "value"},
        "AnyValue": {1: "stringValue", 2: "boolValue", 3: "intValue", 4: "doubleValue", 5: "arrayValue",
                     6: "kvlistValue", 7: "bytesValue"},
        "ArrayValue": {1: "values"}, "KeyValueList": {1: "values"},
    }
    repeated = {("ExportLogsServiceRequest", 1), ("ExportTraceServiceRequest", 1), ("ResourceLogs", 2),
                ("ResourceSpans", 2), ("Resource", 1), ("ScopeLogs", 2), ("ScopeSpans", 2),
                ("InstrumentationScope", 3), ("LogRecord", 6), ("Span", 9), ("Span", 11), ("Span", 13),
                ("Event", 3), ("Link", 4), ("ArrayValue", 1), ("KeyValueList", 1)}
    schema, table = SCHEMA[message], names[message]
    out = {}
    for f, wt, val, _ in pb_fields(bytes(buf)):
        name = table.get(f, f"#{f}")
        kind = schema.get(f)
        if isinstance(kind, tuple):
            v = pb_to_json(val, kind[1])
        elif kind == "str":
            v = val.decode("utf-8")
        elif kind == "bytes":
            v = val.hex() if name in ("traceId", "spanId", "parentSpanId") else val.hex()
        elif wt == 1:
            v = struct.unpack("<Q", val)[0]
            v = struct.unpack("<d", val)[0] if name == "doubleValue" else str(v)
        elif wt == 5:
            v = struct.unpack("<I", val)[0]
        elif wt == 0:
            v = val
            if name == "boolValue":
                v = bool(val)
            elif name == "intValue":
                v = str(val - (1 << 64) if val >= 1 << 63 else val)
        else:
            v = val.hex()
        if (message, f) in repeated:
            out.setdefault(name, []).append(v)
        else:
            out[name] = v
    return out


# --- scrubbing ---------------------------------------------------------------------------------------

SCRUB = "SCRUBBED"
# attribute keys whose values describe this machine
SCRUB_KEYS = {"os.version", "host.name", "host.id", "host.ip", "host.mac", "process.pid", "process.owner",
              "process.command_line", "process.executable.path", "process.parent_pid", "user.email",
              "enduser.id"}


def machine_strings():
    """Strings that name this machine, longest first (replaced by ``SCRUBBED`` anywhere)."""
    out = set()
    try:
        h = socket.gethostname()
        if h and len(h) > 3:
            out.add(h)
    except OSError:
        pass
    for var in ("USER", "LOGNAME"):
        v = os.environ.get(var)
        if v and len(v) > 3 and v not in ("root", "user"):
            out.add(v)
    return sorted(out, key=len, reverse=True)


class Scrubber:
    def __init__(self, mod, home, project):
        self.mod, self.home, self.project = mod, Path(home), Path(project)
        self.machine = machine_strings()
        self.repo = str(REPO)

    def text(self, s):
        if hasattr(self.mod, "normalise"):
            s = self.mod.normalise(s, self.home, self.project)
        else:
            s = common.normalise(s, self.home, self.project)
        for real, fixed in ((self.project, common.FIXTURE_PROJECT), (self.home, common.FIXTURE_HOME)):
            s = s.replace(urllib.parse.quote(str(real), safe=""), urllib.parse.quote(fixed, safe=""))
        s = s.replace(self.repo, "/repo")
        # Node's heap limit, derived from this machine's memory (Gemini CLI's process.command_args)
        s = re.sub(r"--max-old-space-size=\d+", "--max-old-space-size=" + SCRUB, s)
        for m in self.machine:
            s = s.replace(m, SCRUB)
        return s

    def value(self, s, key):
        if key in SCRUB_KEYS:
            return SCRUB
        return self.text(s)

    def int_value(self, v, key):
        return "0" if key in SCRUB_KEYS and isinstance(v, str) else 0 if key in SCRUB_KEYS else v

    def json(self, obj, key=None):
        """An OTLP/JSON document with every string scrubbed (attribute values by key)."""
        if isinstance(obj, dict):
            if "key" in obj and "value" in obj and isinstance(obj["key"], str):
                k = obj["key"]
                return {"key": self.text(k), "value": self.json(obj["value"], k)}
            return {k: (self._leaf(v, key) if k == "stringValue" else self.int_value(v, key) if k == "intValue"
                        else self.json(v, key)) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.json(v, key) for v in obj]
        if isinstance(obj, str):
            return self.text(obj)
        return obj

    def _leaf(self, v, key):
        return self.value(v, key) if isinstance(v, str) else self.json(v, key)


# --- what arrived, flattened ---------------------------------------------------------------------------


def attr_value(v):
    """An OTLP/JSON AnyValue as a Python value (ints stay as they were sent: str or int)."""
    if not isinstance(v, dict):
        return v
    for k in ("stringValue", "boolValue", "intValue", "doubleValue", "bytesValue"):
        if k in v:
            return v[k]
    if "arrayValue" in v:
        return [attr_value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return {x["key"]: attr_value(x.get("value")) for x in v["kvlistValue"].get("values", [])}
    return None


def attrs(lst):
    return {a["key"]: attr_value(a.get("value")) for a in lst or []}


def items(doc):
    """``(kind, name, attributes, resource attributes, the record/span)`` for every log record and
    span of an OTLP/JSON document. A log record's name: its ``event.name`` attribute, else
    ``eventName``, else its body when that is a string."""
    out = []
    for rl in doc.get("resourceLogs", []) or []:
        res = attrs((rl.get("resource") or {}).get("attributes"))
        for sl in rl.get("scopeLogs", []) or []:
            for r in sl.get("logRecords", []) or []:
                a = attrs(r.get("attributes"))
                body = attr_value(r.get("body")) if r.get("body") else None
                name = a.get("event.name") or r.get("eventName") or (body if isinstance(body, str) else None)
                out.append(("log", name, a, res, r))
    for rs in doc.get("resourceSpans", []) or []:
        res = attrs((rs.get("resource") or {}).get("attributes"))
        for ss in rs.get("scopeSpans", []) or []:
            for s in ss.get("spans", []) or []:
                out.append(("span", s.get("name"), attrs(s.get("attributes")), res, s))
    return out


def leaf_item(kind, leaf):
    """``(kind, name, attributes)`` of one log record (``kind`` "log") or span (OTLP/JSON)."""
    a = attrs(leaf.get("attributes"))
    if kind == "span":
        return kind, leaf.get("name"), a
    body = attr_value(leaf.get("body")) if leaf.get("body") else None
    return kind, a.get("event.name") or leaf.get("eventName") or (body if isinstance(body, str) else None), a


def filter_json(doc, keep):
    """``doc`` (OTLP/JSON) without the log records and spans ``keep(kind, name, attrs)`` refuses;
    ``(doc, kept, total)``."""
    kept = total = 0
    for top, mid, leaf, kind in (("resourceLogs", "scopeLogs", "logRecords", "log"),
                                 ("resourceSpans", "scopeSpans", "spans", "span")):
        for r in doc.get(top, []) or []:
            for sc in r.get(mid, []) or []:
                leaves = sc.get(leaf, []) or []
                total += len(leaves)
                sc[leaf] = [x for x in leaves if keep(*leaf_item(kind, x))]
                kept += len(sc[leaf])
    return doc, kept, total


def filter_pb(buf, path, keep):
    """The protobuf ``buf`` of ``path`` without the records/spans ``keep`` refuses (the rest of
    the bytes as they were); ``(bytes, kept, total)``."""
    kind = "log" if path == "/v1/logs" else "span"
    leaf_msg = "LogRecord" if kind == "log" else "Span"
    count = [0, 0]

    def level(b, depth):
        out = bytearray()
        for f, wt, val, raw in pb_fields(b):
            if depth < 2 and wt == 2 and f == (1 if depth == 0 else 2):
                new = level(val, depth + 1)
                out += _enc_varint((f << 3) | 2) + _enc_varint(len(new)) + new
            elif depth == 2 and wt == 2 and f == 2:
                count[1] += 1
                if keep(*leaf_item(kind, pb_to_json(val, leaf_msg))):
                    count[0] += 1
                    out += raw
            else:
                out += raw
        return bytes(out)

    return level(bytes(buf), 0), count[0], count[1]


def doc_of(path_or_bytes, signal=None):
    """The OTLP/JSON document of a stored body (``.json``, ``.pb``, either ``.gz``)."""
    if isinstance(path_or_bytes, (str, Path)):
        p = Path(path_or_bytes)
        data = p.read_bytes()
        name = p.name
        if name.endswith(".gz"):
            data, name = gzip.decompress(data), name[:-3]
        signal = "/v1/traces" if "-traces." in name else "/v1/logs"
        is_pb = name.endswith(".pb")
    else:
        data, is_pb = path_or_bytes, not path_or_bytes.lstrip()[:1] in (b"{", b"[")
    if is_pb:
        return pb_to_json(data, ROOT[signal])
    return json.loads(data.decode("utf-8"))


# --- harnesses and their telemetry settings --------------------------------------------------------


def _tool_result_claude(kind, name, a):
    return kind == "log" and name in ("tool_result", "claude_code.tool_result")


def _tool_result_codex(kind, name, a):
    return kind == "log" and name == "codex.tool_result"


def _tool_result_gemini(kind, name, a):
    return kind == "log" and name == "gemini_cli.tool_call"


def _tool_result_opencode(kind, name, a):
    return kind == "span" and (name or "").startswith(("Tool.execute", "ai.toolCall"))


def _tool_result_copilot(kind, name, a):
    return kind == "span" and (name or "").startswith("execute_tool")


# What a request keeps when it is too big (``FILTER_ABOVE``): the tool and session items.
def _keep_codex(kind, name, a):
    if kind == "log":
        return name != "codex.sse_event"
    return (name in ("exec_command", "apply_patch", "dispatch_tool_call_with_state", "unified_exec.exec_command",
                     "codex.tool_blocking", "session_task.turn", "session_loop", "codex.exec", "turn/start",
                     "thread/start", "run_turn")
            or "call_id" in a)


def _keep_gemini(kind, name, a):
    # the two left out carry the whole model request/response (the harness's system prompt)
    return name not in ("gen_ai.client.inference.operation.details", "llm_call")


def _keep_opencode(kind, name, a):
    if kind == "log":
        return True
    return (name or "").startswith(("Tool.", "ai.toolCall", "SessionProcessor.", "SessionPrompt.", "Session.create",
                                    "ShellTool.", "ReadTool.", "EditTool.", "Permission.ask", "http.server POST"))


def _keep_all(kind, name, a):
    return True


def claude_env(protocol, compression=None):
    def configure(mod, home, project, env, endpoint):
        env.update(
            CLAUDE_CODE_ENABLE_TELEMETRY="1",
            OTEL_LOGS_EXPORTER="otlp",
            OTEL_LOG_TOOL_DETAILS="1",
            OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
            OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
            OTEL_LOGS_EXPORT_INTERVAL="500",
            OTEL_BLRP_SCHEDULE_DELAY="500",
            OTEL_RESOURCE_ATTRIBUTES="team.id=platform",
        )
        if compression:
            env["OTEL_EXPORTER_OTLP_COMPRESSION"] = compression
        return {"env": {k: env[k] for k in sorted(env) if k.startswith(("OTEL_", "CLAUDE_CODE_ENABLE"))}}
    return configure


def codex_otel(protocol):
    def configure(mod, home, project, env, endpoint):
        path = mod.codex_home(home) / "config.toml"
        block = (
            "\n[otel]\n"
            'environment = "capture"\n'
            "log_user_prompt = false\n"
            f'exporter = {{ otlp-http = {{ endpoint = "{endpoint}/v1/logs", protocol = "{protocol}" }} }}\n'
            f'trace_exporter = {{ otlp-http = {{ endpoint = "{endpoint}/v1/traces", protocol = "{protocol}" }} }}\n'
        )
        with open(path, "a", encoding="utf-8") as f:
            f.write(block)
        return {"config.toml": block.replace(endpoint, "http://127.0.0.1:PORT")}
    return configure


def gemini_telemetry(protocol="http", log_prompts=True):
    def configure(mod, home, project, env, endpoint):
        path = Path(home) / ".gemini" / "settings.json"
        settings = json.loads(path.read_text(encoding="utf-8"))
        telemetry = {"enabled": True, "target": "local", "otlpEndpoint": endpoint, "otlpProtocol": protocol,
                     "logPrompts": log_prompts}
        settings["telemetry"] = telemetry
        path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        shown = dict(telemetry, otlpEndpoint="http://127.0.0.1:PORT")
        return {"~/.gemini/settings.json telemetry": shown}
    return configure


def opencode_otel(experimental=True):
    def configure(mod, home, project, env, endpoint):
        env.update(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_BSP_SCHEDULE_DELAY="200",
                   OTEL_BLRP_SCHEDULE_DELAY="200")
        out = {"env": {k: env[k] for k in sorted(env) if k.startswith("OTEL_")}}
        if experimental:
            path = Path(env["XDG_CONFIG_HOME"]) / "opencode" / "opencode.json"
            conf = json.loads(path.read_text(encoding="utf-8"))
            conf.setdefault("experimental", {})["openTelemetry"] = True
            path.write_text(json.dumps(conf, indent=2) + "\n", encoding="utf-8")
            out["opencode.json"] = {"experimental": {"openTelemetry": True}}
        return out
    return configure


def copilot_otel(content=False):
    def configure(mod, home, project, env, endpoint):
        env.update(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_BSP_SCHEDULE_DELAY="200")
        if content:
            env["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
        return {"env": {k: env[k] for k in sorted(env) if k.startswith("OTEL_")}}
    return configure


HARNESSES = {
    "claude-code": {"module": "claude", "fixture": "claude-code", "tool_result": _tool_result_claude, "keep": _keep_all,
                    "variants": {"json": claude_env("http/json"),
                                 "protobuf": claude_env("http/protobuf"),
                                 "protobuf-gzip": claude_env("http/protobuf", "gzip")}},
    "codex": {"module": "codex", "fixture": "codex", "tool_result": _tool_result_codex, "keep": _keep_codex,
              "variants": {"json": codex_otel("json"), "binary": codex_otel("binary")}},
    "gemini": {"module": "gemini", "fixture": "gemini-cli", "tool_result": _tool_result_gemini, "keep": _keep_gemini,
               "variants": {"json": gemini_telemetry("http")}},
    "opencode": {"module": "opencode", "fixture": "opencode", "tool_result": _tool_result_opencode, "keep": _keep_opencode,
                 "filter_above": 0,
                 "variants": {"json": opencode_otel(True)}},
    "copilot": {"module": "copilot", "fixture": "copilot", "tool_result": _tool_result_copilot, "keep": _keep_all,
                "variants": {"json": copilot_otel(False), "json-content": copilot_otel(True)}},
}
# A request whose stored body would be bigger than this keeps only the harness's ``keep`` items
# (capture.json says ``filtered``); a variant keeps at most MAX_BYTES (then only requests with
# tool results).
FILTER_ABOVE = 100_000
MAX_BYTES = 450_000


# --- one capture ---------------------------------------------------------------------------------------


def capture(name, variant, work, quiet=2.0, settle=20.0, verbose=False):
    """One session of ``name`` with ``variant``'s telemetry; ``(info, requests, scrubber)``."""
    entry = HARNESSES[name]
    mod = importlib.import_module(entry["module"])
    exe = mod.install(common.default_prefix(mod.NAME, mod.VERSION))
    home = work / "home"
    home.mkdir(parents=True)
    project = common.make_project(work / "project")
    script = {"steps": mod.steps(project), "final_text": "done", "side_text": "Running the tests"}
    server = standin.StandIn(mod.PROTOCOL(), script, str(work / "requests.jsonl"))
    sink = otlp_sink.Sink(verbose=verbose)
    t0 = time.monotonic()
    try:
        env = mod.setup(home, project, server.base_url)
        settings = entry["variants"][variant](mod, home, project, env, sink.endpoint)
        proc = mod.run(exe, env, project, common.PROMPT)
        elapsed = time.monotonic() - t0
        after_exit = len(sink.snapshot())
        sink.wait_quiet(quiet, settle)
        late = len(sink.snapshot()) - after_exit
    finally:
        server.close()
        sink.close()
    raw = work / "raw"  # every body as it arrived (decoded, not scrubbed): for debugging only
    raw.mkdir()
    for r in sink.snapshot():
        (raw / f"{r.seq:03d}-{r.signal}.{'pb' if r.is_protobuf else 'json'}").write_bytes(r.body)
    (work / "run.stdout").write_text(proc.stdout or "", encoding="utf-8")
    (work / "run.stderr").write_text(proc.stderr or "", encoding="utf-8")
    notes = (project / common.NOTES).read_text(encoding="utf-8")
    info = {"harness": name, "package": mod.PACKAGE, "version": mod.VERSION, "variant": variant,
            "command": " ".join([Path(str(exe)).name] + proc.args[1:]) if isinstance(proc.args, list) else "",
            "exit_status": proc.returncode, "edited": common.NEW in notes, "session_seconds": round(elapsed, 1),
            "settings": settings, "requests_after_exit": late, "endpoint": sink.endpoint}
    return info, sink.snapshot(), Scrubber(mod, home, project)


def write_variant(name, variant, info, reqs, scrub, dest):
    """Writes the kept requests and ``capture.json`` into ``dest`` (emptied first); the manifest."""
    entry = HARNESSES[name]
    is_tool = entry["tool_result"]
    if dest is not None:
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
    listed, total = [], 0
    counts = {"requests": len(reqs), "metrics_requests": 0, "log_records": 0, "spans": 0, "tool_results": 0,
              "kept_requests": 0, "kept_bytes": 0}
    names = {}
    for r in reqs:
        row = {"n": r.seq, "path": r.path, "content_type": r.content_type,
               "content_encoding": r.content_encoding or None,
               "transfer_encoding": {k.lower(): v for k, v in r.headers.items()}.get("transfer-encoding"),
               "user_agent": {k.lower(): v for k, v in r.headers.items()}.get("user-agent"),
               "bytes_sent": len(r.raw), "bytes_decoded": len(r.body)}
        listed.append(row)
        if r.signal == "metrics":
            counts["metrics_requests"] += 1
            row["kept"] = "no: metrics"
            continue
        if r.signal not in ("logs", "traces"):
            row["kept"] = "no: not an OTLP signal path"
            continue
        if r.is_protobuf:
            body = pb_rewrite(r.body, ROOT[r.path], scrub.value)
            doc = pb_to_json(body, ROOT[r.path])
            counted = items(doc)
            if len(body) > entry.get("filter_above", FILTER_ABOVE):
                body, kept, n = filter_pb(body, r.path, entry["keep"])
                doc = pb_to_json(body, ROOT[r.path])
                row["filtered"] = f"kept {kept} of {n} items"
            ext = "pb"
        else:
            doc = scrub.json(json.loads(r.body.decode("utf-8")))
            counted = items(doc)
            body = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
            if len(body) > entry.get("filter_above", FILTER_ABOVE):
                doc, kept, n = filter_json(doc, entry["keep"])
                body = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
                row["filtered"] = f"kept {kept} of {n} items"
            ext = "json"
        its = counted
        tools = [i for i in its if is_tool(i[0], i[1], i[2])]
        row.update(records=sum(1 for i in its if i[0] == "log"), spans=sum(1 for i in its if i[0] == "span"),
                   tool_results=len(tools))
        counts["log_records"] += row["records"]
        counts["spans"] += row["spans"]
        counts["tool_results"] += len(tools)
        for i in its:
            names[f"{i[0]} {i[1]}"] = names.get(f"{i[0]} {i[1]}", 0) + 1
        fname = f"{r.seq:03d}-{r.signal}.{ext}"
        if r.content_encoding.lower() == "gzip":
            if not r.is_protobuf:
                body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            body = gzip.compress(body, mtime=0)
            fname += ".gz"
        if "filtered" in row and not items(doc):
            row["kept"] = "no: nothing left after filtering"
            continue
        if total + len(body) > MAX_BYTES and not tools:
            row["kept"] = "no: size budget (no tool results)"
            continue
        total += len(body)
        row["kept"] = fname
        counts["kept_requests"] += 1
        if dest is not None:
            (dest / fname).write_bytes(body)
    counts["kept_bytes"] = total
    endpoint = info.pop("endpoint", None)
    manifest = dict(info, counts=counts, names=dict(sorted(names.items())), requests=listed)
    manifest = scrub.json(manifest)
    if endpoint:
        manifest = json.loads(json.dumps(manifest).replace(endpoint, "http://127.0.0.1:PORT"))
    if dest is not None:
        (dest / "capture.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
    return manifest


def fixture_dir(out, name):
    mod = importlib.import_module(HARNESSES[name]["module"])
    return out / f"{HARNESSES[name]['fixture']}-{mod.VERSION}"


def previous_tool_results(path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))["counts"]["tool_results"]
    except (OSError, ValueError, KeyError):
        return None


def summary(folder):
    """Prints, per stored body of ``folder``, every item's kind, name and attributes."""
    for p in sorted(Path(folder).iterdir()):
        if p.name == "capture.json" or not p.is_file():
            continue
        doc = doc_of(p)
        print(f"== {p.name}")
        for kind, name, a, res, _ in items(doc):
            print(f"  {kind} {name}: {json.dumps(a, ensure_ascii=False)[:400]}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--harness", default="all", help="all, or NAME[,NAME...] of " + ", ".join(HARNESSES))
    ap.add_argument("--variant", help="only these variants (comma-separated), e.g. json")
    ap.add_argument("--out", help=f"write the captures here (default {OUT})")
    ap.add_argument("--check", action="store_true", help="run and check only; write no fixtures")
    ap.add_argument("--work", help="keep the work folders here (default: a temporary folder, removed)")
    ap.add_argument("--verbose", action="store_true", help="print every request as it arrives")
    ap.add_argument("--decode", metavar="FILE", help="print a stored body (.pb, .json, .gz) as OTLP/JSON")
    ap.add_argument("--summary", metavar="DIR", help="print the items of a capture folder")
    args = ap.parse_args(argv)

    if args.decode:
        print(json.dumps(doc_of(args.decode), indent=2, ensure_ascii=False))
        return 0
    if args.summary:
        summary(args.summary)
        return 0

    names = list(HARNESSES) if args.harness == "all" else args.harness.split(",")
    unknown = [n for n in names if n not in HARNESSES]
    if unknown:
        ap.error(f"unknown harness {', '.join(unknown)}")
    only = set(args.variant.split(",")) if args.variant else None
    out = Path(args.out).resolve() if args.out else OUT
    work_root = Path(args.work).resolve() if args.work else Path(tempfile.mkdtemp(prefix="otlp-capture-"))
    failed = False
    for name in names:
        for variant in HARNESSES[name]["variants"]:
            if only and variant not in only:
                continue
            tag = f"{name}/{variant}"
            work = work_root / name / variant
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            dest = fixture_dir(out, name) / variant
            before = previous_tool_results(fixture_dir(OUT, name) / variant / "capture.json")
            try:
                info, reqs, scrub = capture(name, variant, work, verbose=args.verbose)
            except Exception as e:  # noqa: BLE001 - one harness must not stop the others
                print(f"FAIL {tag}: the capture broke: {type(e).__name__}: {e}", flush=True)
                failed = True
                continue
            m = write_variant(name, variant, info, reqs, scrub, None if args.check else dest)
            c = m["counts"]
            line = (f"{tag}: exit {info['exit_status']}, {c['requests']} requests ({c['metrics_requests']} metrics, "
                    f"{info['requests_after_exit']} after exit), {c['log_records']} log records, {c['spans']} spans, "
                    f"{c['tool_results']} tool results; {info['session_seconds']} s")
            if c["tool_results"] > 0:
                print(f"PASS {line}", flush=True)
            elif before:
                print(f"FAIL {line} (the committed capture had {before})", flush=True)
                failed = True
            else:
                print(f"INFO {line} (no tool results before either)", flush=True)
            if not args.check:
                print(f"     -> {dest.relative_to(REPO) if dest.is_relative_to(REPO) else dest}", flush=True)
    if not args.work:
        shutil.rmtree(work_root, ignore_errors=True)
    else:
        print(f"work: {work_root}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
