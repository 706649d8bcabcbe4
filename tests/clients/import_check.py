#!/usr/bin/env python3
"""A fresh `.mcp.json` with `SELFHEAL_IMPORT` answers from a transcript folder.

Writes a `.mcp.json` the way a user registers the server — `DATABASE_PATH` naming a database
that does not exist yet and `SELFHEAL_IMPORT` naming a folder of transcripts (the importer's
fixtures: Claude Code, Codex, Gemini CLI, SWE-agent, OpenTelemetry, our JSONL) — then, from
that file alone, starts the server with two outside clients:

- the official MCP Python SDK: `detect_failure_patterns` answers on the first call with the
  patterns of the transcripts (the database is created and filled by the import), and a second
  call imports and indexes nothing new;
- the MCP Inspector CLI (`--config .mcp.json --server self-healing`): the same tool answers with
  the same pattern ids.

Usage:
    python tests/clients/import_check.py --server target/release/self-healing-mcp \
        --transcripts crates/selfheal-import/tests/fixtures --inspector target/inspector \
        --work DIR

Prints one line per check and `N passed, M failed`; exits 1 on any failure.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys

from checks import Checks

try:
    from mcp import Client, StdioServerParameters
except ImportError as exc:  # pragma: no cover - environment problem
    print(f"cannot import the MCP Python SDK ({exc}); pip install mcp", file=sys.stderr)
    sys.exit(2)

# The fixtures were recorded on 2026-01-30.
NOW = "2026-02-01T00:00:00Z"
# Patterns the fixtures hold, one per importer at least (ids: <class>:<tool>[:<program>]).
EXPECTED = {
    "command_failed:Bash:pytest",  # Claude Code
    "command_failed:shell:pytest",  # Codex
    "not_found:run_shell_command:npm",  # Gemini CLI
    "stale_state:apply_patch",  # Codex
    "timeout:get_weather",  # OpenTelemetry
}
ARGS = {"since": "-7d", "min_occurrences": 1, "confidence_threshold": 0}


def write_config(path, server, db, transcripts, index_dir):
    config = {
        "mcpServers": {
            "self-healing": {
                "command": server,
                "args": [],
                "env": {
                    "DATABASE_PATH": db,
                    "SELFHEAL_IMPORT": transcripts,
                    "SELFHEAL_NOW": NOW,
                    "SELFHEAL_INDEX_DIR": index_dir,
                    "RUST_LOG": "warn",
                },
            }
        }
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)


async def sdk_checks(checks, config_path, db):
    with open(config_path, encoding="utf-8") as f:
        entry = json.load(f)["mcpServers"]["self-healing"]
    params = StdioServerParameters(command=entry["command"], args=entry["args"],
                                   env={**entry["env"], "PATH": os.environ.get("PATH", "")})
    checks.ok("before the first call the database does not exist", not os.path.exists(db), db)
    async with Client(params, read_timeout_seconds=120) as client:
        first = await client.call_tool("detect_failure_patterns", ARGS)
        sc = first.structured_content or {}
        checks.ok("SDK: detect_failure_patterns answers", not first.is_error, str(first.content)[:300])
        ids = {p.get("id") for p in sc.get("patterns", [])}
        checks.ok("SDK: the transcripts' patterns are found", EXPECTED <= ids, f"got {sorted(ids)}")
        indexed = (sc.get("data") or {}).get("events_indexed_now", 0)
        checks.ok("SDK: the first call imported and indexed the transcripts", indexed > 0, f"{indexed}")
        checks.ok("SDK: the database was created by the import", os.path.exists(db), db)
        second = await client.call_tool("detect_failure_patterns", ARGS)
        sc2 = second.structured_content or {}
        checks.ok("SDK: a second call imports nothing new",
                  (sc2.get("data") or {}).get("events_indexed_now") == 0, str(sc2.get("data")))
        checks.ok("SDK: the same patterns on the second call",
                  {p.get("id") for p in sc2.get("patterns", [])} == ids, "")
        return ids


def inspector_checks(checks, inspector_prefix, config_path, sdk_ids):
    exe = os.path.join(inspector_prefix, "node_modules", ".bin", "mcp-inspector")
    if not os.path.exists(exe):
        exe = os.path.join(inspector_prefix, "node_modules", ".bin", "inspector")
    cmd = [exe, "--cli", "--config", config_path, "--server", "self-healing",
           "--method", "tools/call", "--tool-name", "detect_failure_patterns"]
    for key, value in ARGS.items():
        cmd += ["--tool-arg", f"{key}={value}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if not checks.ok("Inspector --config .mcp.json: tools/call exits 0", proc.returncode == 0,
                     f"exit {proc.returncode}: {proc.stderr[-500:]}"):
        return
    try:
        out = json.loads(proc.stdout)
    except ValueError as exc:
        checks.ok("Inspector: output is JSON", False, f"{exc}: {proc.stdout[:300]}")
        return
    sc = out.get("structuredContent") or {}
    ids = {p.get("id") for p in sc.get("patterns", [])}
    checks.ok("Inspector: the same pattern ids as the SDK", ids == sdk_ids and EXPECTED <= ids,
              f"got {sorted(ids)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True)
    parser.add_argument("--transcripts", required=True)
    parser.add_argument("--inspector", required=True, help="install prefix of the MCP Inspector")
    parser.add_argument("--work", required=True, help="an empty directory for .mcp.json, database, index")
    args = parser.parse_args()
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    db = os.path.join(work, "imported.sqlite")
    config_path = os.path.join(work, ".mcp.json")
    write_config(config_path, os.path.abspath(args.server), db, os.path.abspath(args.transcripts),
                 os.path.join(work, "index"))
    checks = Checks()
    try:
        ids = asyncio.run(sdk_checks(checks, config_path, db))
        inspector_checks(checks, os.path.abspath(args.inspector), config_path, ids)
    except Exception as exc:  # a failure outside any single check
        checks.ok("session ran to the end", False, f"{type(exc).__name__}: {str(exc)[:500]}")
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
