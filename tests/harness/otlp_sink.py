#!/usr/bin/env python3
"""A tiny OTLP/HTTP sink: what a harness's OpenTelemetry exporter sends, kept as it arrived.

Python 3 standard library only. It listens on ``127.0.0.1:<port>`` (0: a free one) and takes
``POST /v1/logs``, ``/v1/traces`` and ``/v1/metrics`` (any other POST path is kept too, and
answered 404). For each request it keeps the path, the ``Content-Type``, the
``Content-Encoding``, the raw body as sent and the body decoded (gunzipped when the encoding
is ``gzip``; ``deflate`` too). The answer is 200 with an empty export response: ``{}`` for
JSON, zero bytes for protobuf (an empty ``Export*ServiceResponse`` encodes to nothing) with the
request's content type.

As a module::

    import otlp_sink
    sink = otlp_sink.Sink()          # started; sink.endpoint == "http://127.0.0.1:PORT"
    ...                              # point OTEL_EXPORTER_OTLP_ENDPOINT at sink.endpoint
    sink.requests                    # [Received(path, content_type, content_encoding, raw, body, ...)]
    sink.wait_quiet(1.0, timeout=10) # until nothing arrived for 1 s
    sink.close()

Standalone (for debugging)::

    python3 tests/harness/otlp_sink.py [--port 4318] [--dir OUT]

prints its endpoint on the first line and one line per request; with ``--dir`` every
request's decoded body is written there as ``NNN-<signal>.json`` or ``.pb``.
"""

import gzip
import http.server
import json
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

SIGNALS = {"/v1/logs": "logs", "/v1/traces": "traces", "/v1/metrics": "metrics"}


@dataclass
class Received:
    seq: int
    path: str
    signal: str  # logs | traces | metrics | other
    content_type: str
    content_encoding: str
    raw: bytes  # the body as sent
    body: bytes  # decoded (gunzipped) body
    headers: dict = field(default_factory=dict)
    time: float = 0.0

    @property
    def is_json(self):
        return "json" in self.content_type.lower()

    @property
    def is_protobuf(self):
        return "protobuf" in self.content_type.lower() or "x-protobuf" in self.content_type.lower()

    def json(self):
        return json.loads(self.body.decode("utf-8"))


def decode(raw, encoding):
    enc = (encoding or "").strip().lower()
    if enc == "gzip" or raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    if enc == "deflate":
        return zlib.decompress(raw)
    return raw


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline().strip()
                size = int(line.split(b";")[0] or b"0", 16)
                if size == 0:
                    # trailers until an empty line
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_POST(self):
        sink = self.server.sink
        raw = self._read_body()
        path = self.path.split("?")[0]
        ctype = self.headers.get("Content-Type") or ""
        cenc = self.headers.get("Content-Encoding") or ""
        try:
            body = decode(raw, cenc)
        except (OSError, zlib.error, EOFError):
            body = raw
        rec = sink._add(path, ctype, cenc, raw, body, dict(self.headers.items()))
        if sink.verbose:
            print(f"{rec.seq:03d} {path} {ctype} {cenc or '-'} {len(raw)} B -> {len(body)} B", flush=True)
        if sink.out_dir is not None:
            ext = "pb" if rec.is_protobuf else "json"
            (sink.out_dir / f"{rec.seq:03d}-{rec.signal}.{ext}").write_bytes(body)
        status = 200 if path in SIGNALS else 404
        if rec.is_protobuf:
            reply, rtype = b"", "application/x-protobuf"
        else:
            reply, rtype = b"{}", "application/json"
        self.send_response(status)
        self.send_header("Content-Type", rtype)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # an exporter closing its keep-alive connection at exit is no error
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class Sink:
    """A started sink on ``127.0.0.1:port``; ``endpoint`` is its base URL."""

    def __init__(self, port=0, verbose=False, out_dir=None):
        self.verbose = verbose
        self.out_dir = Path(out_dir) if out_dir else None
        if self.out_dir:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.requests = []
        self._lock = threading.Lock()
        self._last = time.monotonic()
        self.server = _Server(("127.0.0.1", port), _Handler)
        self.server.sink = self
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _add(self, path, ctype, cenc, raw, body, headers):
        with self._lock:
            rec = Received(len(self.requests) + 1, path, SIGNALS.get(path, "other"), ctype, cenc, raw, body,
                           headers, time.time())
            self.requests.append(rec)
            self._last = time.monotonic()
            return rec

    def snapshot(self):
        with self._lock:
            return list(self.requests)

    def wait_quiet(self, quiet=1.0, timeout=10.0):
        """Waits until nothing arrived for ``quiet`` seconds (at most ``timeout``)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                idle = time.monotonic() - self._last
            if idle >= quiet:
                return True
            time.sleep(0.1)
        return False

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dir", help="write each decoded body here as NNN-<signal>.json|.pb")
    args = ap.parse_args(argv)
    sink = Sink(args.port, verbose=True, out_dir=args.dir)
    print(sink.endpoint, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sink.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
