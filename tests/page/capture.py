#!/usr/bin/env python3
"""Record what the browser check (tests/page/check.cjs) draws: real answers of the real server.

On a copy of a history planted by tests/fixtures/plant_history.py it starts the server binary
through the official MCP Python SDK, declaring the MCP Apps extension
(`io.modelcontextprotocol/ui`), and saves into OUT:

- resource.html   the text of `resources/read ui://self-healing/dashboard` (checked: one
                  content for that URI, MIME type text/html;profile=mcp-app)
- dashboard.json  get_health_dashboard {detailed: true, detail: "full"}
- pattern.json    get_pattern on the planted pattern with the most occurrences (detail: "full")
- dashboard-summary.json, pattern-summary.json
                  the same two calls without `detail`: the default summary answer (checked:
                  `"detail": "summary"` and no per-day series; the full ones: `"detail": "full"`
                  and a non-empty `daily`). check.cjs shows the page a summary and lets its
                  host answer the page's tools/call with the full answer.
- verify.json     verify_improvement after propose -> test -> apply (three days before now)
                  on that pattern
                  (each {tool, arguments, result}: the CallToolResult as the SDK received it)
- report.html     `self-heal report --html` on the same copy after that walk, so the report
                  lists the improvement

It also checks that tools/list links the three tools to the resource (`_meta.ui.resourceUri`).

Usage:
    python tests/page/capture.py --server target/release/self-healing-mcp \
        --cli target/release/self-heal --db H.sqlite --truth H.json \
        --now 2026-11-20T12:00:00Z --out DIR

Prints one line per check and `N passed, M failed`; exits 1 on any failure. Needs
`pip install mcp` (2.x).
"""

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "clients"))
from checks import Checks, instant, short  # noqa: E402

import anyio

try:
    from mcp import Client, StdioServerParameters
    from mcp.client import advertise
except ImportError as exc:  # pragma: no cover - environment problem
    print(f"cannot import the MCP Python SDK ({exc}); pip install mcp", file=sys.stderr)
    sys.exit(2)

UI_EXTENSION = "io.modelcontextprotocol/ui"
APP_MIME = "text/html;profile=mcp-app"
DASHBOARD_URI = "ui://self-healing/dashboard"
UI_TOOLS = ("get_health_dashboard", "get_pattern", "verify_improvement")


def dump(result):
    """A pydantic result as the JSON it was on the wire."""
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


async def record(checks, client, out, name, tool, arguments, timeout):
    """Calls a tool; saves {tool, arguments, result} as OUT/name.json. Returns structuredContent."""
    try:
        with anyio.fail_after(timeout):
            result = await client.call_tool(tool, arguments, read_timeout_seconds=timeout)
    except Exception as exc:  # JSON-RPC error, schema error, deadline
        checks.ok(f"{tool} {short(arguments, 120)}: answered", False, f"{type(exc).__name__}: {short(str(exc), 500)}")
        return None
    wire = dump(result)
    good = checks.ok(f"{tool} {short(arguments, 120)}: a result with structuredContent, isError false",
                     not result.is_error and isinstance(wire.get("structuredContent"), dict), short(wire))
    if name:
        with open(os.path.join(out, f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump({"tool": tool, "arguments": arguments, "result": wire}, f, indent=1)
    return wire.get("structuredContent") if good else None


def dashboard_series(sc):
    """The per-day series of a dashboard: its own, each top pattern's and each tool's."""
    return {"daily": sc.get("daily"),
            **{f"top_patterns[{i}].daily": p.get("daily") for i, p in enumerate(sc.get("top_patterns") or [])},
            **{f"tools[{i}].daily": x.get("daily") for i, x in enumerate(sc.get("tools") or [])}}


def pattern_series(sc):
    return {"pattern.daily": (sc.get("pattern") or {}).get("daily")}


def check_detail(checks, tool, full, summary, series):
    """The full answer says detail "full" and has its daily series; the summary leaves them out."""
    if full is not None:
        checks.ok(f"{tool} detail full: says \"detail\": \"full\"", full.get("detail") == "full", short(full.get("detail")))
        checks.ok(f"{tool} detail full: the main daily series is not empty",
                  bool(series(full).get("daily") or series(full).get("pattern.daily")), short(series(full), 200))
    if summary is not None:
        checks.ok(f"{tool} default: says \"detail\": \"summary\"", summary.get("detail") == "summary", short(summary.get("detail")))
        left = {k: v for k, v in series(summary).items() if v}
        checks.ok(f"{tool} default: no per-day series", not left, short(left, 300))


async def session(checks, args, db, env, out):
    params = StdioServerParameters(command=os.path.abspath(args.server), args=[], env=env)
    extensions = [advertise(UI_EXTENSION, {"mimeTypes": [APP_MIME]})]
    t = args.timeout
    async with Client(params, read_timeout_seconds=t, extensions=extensions) as client:
        # ---- the tools link to the page
        tools = []
        cursor = None
        for _ in range(50):
            page = await client.list_tools(cursor=cursor, cache_mode="bypass")
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        by_name = {tool.name: tool.model_dump(mode="json", by_alias=True) for tool in tools}

        # ---- the page itself, as a host reads it
        try:
            with anyio.fail_after(t):
                res = await client.read_resource(DASHBOARD_URI, cache_mode="bypass")
            contents, failure = res.contents or [], None
        except Exception as exc:
            contents, failure = [], exc
        checks.ok(f"resources/read {DASHBOARD_URI}: answered", failure is None,
                  failure and f"{type(failure).__name__}: {short(str(failure), 500)}")
        for name in UI_TOOLS:
            meta = (by_name.get(name) or {}).get("_meta") or {}
            checks.ok(f"tools/list: {name} has _meta.ui.resourceUri {DASHBOARD_URI}",
                      (meta.get("ui") or {}).get("resourceUri") == DASHBOARD_URI, short(meta))
        text = getattr(contents[0], "text", None) if len(contents) == 1 else None
        if checks.ok(f"resources/read {DASHBOARD_URI}: one text content for the URI, MIME {APP_MIME}",
                     isinstance(text, str) and str(contents[0].uri) == DASHBOARD_URI
                     and contents[0].mime_type == APP_MIME,
                     short([(str(c.uri), c.mime_type, type(c).__name__) for c in contents])):
            checks.ok("resources/read: the text is an HTML document",
                      text.lstrip().lower().startswith("<!doctype html"), short(text, 80))
            with open(os.path.join(out, "resource.html"), "w", encoding="utf-8") as f:
                f.write(text)

        # ---- the three views' results
        with open(args.truth, encoding="utf-8") as f:
            truth = json.load(f)
        pattern = max(truth["patterns"], key=lambda p: p["occurrences"])["id"]
        # The views draw their per-day charts only from a result that carries the series:
        # `detail: "full"`. The default summary leaves them out; the page then draws no chart
        # and asks its host for the full answer (check.cjs plays that host with these files).
        full_dashboard = await record(checks, client, out, "dashboard", "get_health_dashboard",
                                      {"detailed": True, "detail": "full"}, t)
        full_pattern = await record(checks, client, out, "pattern", "get_pattern",
                                    {"pattern_id": pattern, "detail": "full"}, t)
        summary_dashboard = await record(checks, client, out, "dashboard-summary", "get_health_dashboard",
                                         {"detailed": True}, t)
        summary_pattern = await record(checks, client, out, "pattern-summary", "get_pattern",
                                       {"pattern_id": pattern}, t)
        check_detail(checks, "get_health_dashboard", full_dashboard, summary_dashboard, dashboard_series)
        check_detail(checks, "get_pattern", full_pattern, summary_pattern, pattern_series)
        proposal = await record(checks, client, out, None, "propose_improvement", {"pattern_id": pattern}, t)
        imp = (proposal or {}).get("improvement_id")
        if not checks.ok("propose_improvement: an improvement id", isinstance(imp, str), short(proposal)):
            return
        applied_at = (instant(args.now) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        await record(checks, client, out, None, "test_improvement", {"improvement_id": imp}, t)
        await record(checks, client, out, None, "apply_improvement",
                     {"improvement_id": imp, "changes_made": "page check: the proposed change",
                      "applied_at": applied_at}, t)
        await record(checks, client, out, "verify", "verify_improvement", {"improvement_id": imp}, t)


def report(checks, args, db, env, out):
    path = os.path.join(out, "report.html")
    proc = subprocess.run([os.path.abspath(args.cli), "--db", db, "report", "--html", path],
                          env=env, capture_output=True, text=True, timeout=args.timeout)
    if checks.ok("self-heal report --html: exit 0", proc.returncode == 0, proc.stderr.strip()):
        checks.ok("self-heal report --html: prints the path it wrote", proc.stdout.strip() == path and os.path.isfile(path),
                  proc.stdout.strip())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True, help="path of the self-healing-mcp binary")
    parser.add_argument("--cli", required=True, help="path of the self-heal binary")
    parser.add_argument("--db", required=True, help="run-history SQLite file planted by plant_history.py")
    parser.add_argument("--truth", required=True, help="truth JSON written by plant_history.py")
    parser.add_argument("--now", required=True, help="SELFHEAL_NOW (RFC 3339)")
    parser.add_argument("--out", required=True, help="directory for the recorded files")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per request (default 60)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="page-capture-") as work:
        # The lifecycle writes into the run-history file: work on a copy.
        db = os.path.join(work, "history.sqlite")
        shutil.copyfile(args.db, db)
        os.mkdir(os.path.join(work, "inbox"))
        env = {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_PATH": db,
            "INBOX_PATH": os.path.join(work, "inbox"),
            "SELFHEAL_NOW": args.now,
            "SELFHEAL_INDEX_DIR": os.path.join(work, "index"),
            "RUST_LOG": os.environ.get("RUST_LOG", "warn,rmcp=error"),
        }
        try:
            asyncio.run(session(checks, args, db, env, os.path.abspath(args.out)))
        except BaseException as exc:  # connect, deadline, ...
            if isinstance(exc, KeyboardInterrupt):
                raise
            while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
                exc = exc.exceptions[0]
            checks.ok("session ran to the end", False, f"{type(exc).__name__}: {short(str(exc), 800)}")
        report(checks, args, db, env, os.path.abspath(args.out))
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
