#!/usr/bin/env python3
"""Drive the self-healing-mcp server binary over real stdio with the official MCP Python SDK.

An outside-client acceptance check: it starts the (release) server as a subprocess through
`mcp.Client(StdioServerParameters(...))`, so everything goes through the SDK's own
handshake, JSON-RPC framing and `outputSchema` validation of `structuredContent` (a result
that does not match its tool's output schema raises inside the SDK and fails a check here).

Against a copy of a history planted by tests/fixtures/plant_history.py (the improvement
lifecycle writes into the run-history file, so every run works on its own copy and leaves the
given file untouched) it checks:
- the exact set of sixteen tools (seven read-only analysis tools, nine lifecycle tools), each
  with an outputSchema, and readOnlyHint true for the analysis tools and list_improvements,
  get_improvement, get_healing_report, false for the six that change state;
- real content of the analysis tools against the truth file (patterns and their occurrences,
  a pattern's details, a stalled run's health, the stalled runs);
- a real lifecycle walk: propose (a planted pattern) -> test (simulation, then canary without
  tagged runs) -> apply (at a past instant inside the fixture window) -> verify -> get (audit
  trail) -> list (and paging) -> a second proposal -> reject (twice: the second changes
  nothing) -> rollback -> healing report (counts by state), with the meaning of each answer;
- bad inputs (analysis arguments, unknown improvement ids, illegal transitions, out-of-range
  lifecycle arguments) come back as tool results with isError true whose text says what is
  accepted, and the server keeps serving after each;
- resources (the three fixed ones, the two templates, reads that parse as JSON, an unknown URI
  is a JSON-RPC error) and the self_heal prompt (with and without pattern_id).

Usage:
    python tests/clients/sdk_check.py --server target/release/self-healing-mcp \
        --db H.sqlite --now 2026-11-20T12:00:00Z --truth H.json

Prints one line per check and finally `N passed, M failed`; exits 1 on any failure.
Needs `pip install mcp` (2.x).
"""

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import sys
import tempfile
from datetime import datetime, timezone

import anyio

try:
    from mcp import Client, StdioServerParameters
except ImportError as exc:  # pragma: no cover - environment problem
    print(f"cannot import the MCP Python SDK ({exc}); pip install mcp", file=sys.stderr)
    sys.exit(2)

ANALYSIS_TOOLS = {
    "detect_failure_patterns",
    "get_pattern",
    "analyze_run_health",
    "compute_agent_metrics",
    "compute_tool_reliability",
    "get_health_dashboard",
    "detect_stalled_runs",
}
LIFECYCLE_TOOLS = {
    "propose_improvement",
    "test_improvement",
    "apply_improvement",
    "verify_improvement",
    "rollback_improvement",
    "reject_improvement",
    "list_improvements",
    "get_improvement",
    "get_healing_report",
}
ALL_TOOLS = ANALYSIS_TOOLS | LIFECYCLE_TOOLS
# readOnlyHint true: the analysis tools and the lifecycle's readers; false: the rest.
READ_ONLY_TOOLS = ANALYSIS_TOOLS | {"list_improvements", "get_improvement", "get_healing_report"}
RESOURCES = {"selfheal://dashboard", "selfheal://patterns", "selfheal://improvements"}
RESOURCE_TEMPLATES = {"selfheal://patterns/{pattern_id}", "selfheal://improvements/{improvement_id}"}
VERDICTS = {"verified", "no_significant_change", "regressed", "insufficient_data"}
STATUSES = {"proposed", "tested", "applied", "verified", "rolled_back", "rejected"}
# An improvement id of the accepted shape that no run creates.
UNKNOWN_IMPROVEMENT = "imp-20000101-000000"


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return bool(cond)


def instant(text):
    """Parse an RFC 3339 / ISO instant into an aware UTC datetime (None if unparsable)."""
    if not isinstance(text, str):
        return None
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def result_text(result):
    return "\n".join(getattr(b, "text", "") or "" for b in (result.content or []))


def short(value, n=300):
    s = value if isinstance(value, str) else json.dumps(value, default=str)
    return s if len(s) <= n else s[:n] + "..."


class Session:
    """Wraps the SDK client: every call has a deadline and never raises into the checks."""

    def __init__(self, client, timeout):
        self.client = client
        self.timeout = timeout

    async def call(self, name, arguments):
        """Returns (result, None) or (None, 'what went wrong')."""
        result, err, _ = await self.request(
            lambda: self.client.call_tool(name, arguments, read_timeout_seconds=self.timeout))
        return result, err

    async def request(self, make):
        """Awaits make() under the deadline. Returns (value, None, None) or
        (None, 'what went wrong', the exception or None on a hang)."""
        try:
            with anyio.fail_after(self.timeout):
                value = await make()
            return value, None, None
        except TimeoutError:
            return None, f"no answer within {self.timeout}s (hang)", None
        except Exception as exc:  # MCPError (JSON-RPC error), RuntimeError (schema), pydantic, ...
            return None, f"{type(exc).__name__}: {short(str(exc), 500)}", exc


# (label, tool, arguments, needles: the error text must contain one of them, case-insensitive)
def bad_inputs(truth):
    since_needles = ["accepted", "rfc 3339", "-7d"]
    return [
        ('detect since="yesterday"', "detect_failure_patterns", {"since": "yesterday"}, since_needles),
        ('detect since="-7x"', "detect_failure_patterns", {"since": "-7x"}, since_needles),
        ('detect since=""', "detect_failure_patterns", {"since": ""}, since_needles),
        ("detect since=7 (a number)", "detect_failure_patterns", {"since": 7}, ["expected a string", "string"]),
        ("detect min_occurrences=0", "detect_failure_patterns", {"min_occurrences": 0}, ["1 to 1000000", "between 1 and", "at least 1"]),
        ("detect min_occurrences=-1", "detect_failure_patterns", {"min_occurrences": -1}, ["1 to 1000000", "between 1 and", "at least 1"]),
        ("detect min_occurrences=10**12", "detect_failure_patterns", {"min_occurrences": 10**12}, ["1 to 1000000", "between 1 and", "at most"]),
        ("detect confidence_threshold=1.5", "detect_failure_patterns", {"confidence_threshold": 1.5}, ["0 to 1", "between 0 and 1", "[0, 1]"]),
        ("detect confidence_threshold=-0.2", "detect_failure_patterns", {"confidence_threshold": -0.2}, ["0 to 1", "between 0 and 1", "[0, 1]"]),
        ('detect min_occurrences="three" (wrong type)', "detect_failure_patterns", {"min_occurrences": "three"}, ["expected", "integer"]),
        ("detect unknown argument min_occurence", "detect_failure_patterns", {"min_occurence": 3}, ["unknown field", "expected one of", "min_occurrences"]),
        ('get_pattern pattern_id="nope:nothing"', "get_pattern", {"pattern_id": "nope:nothing"}, ["detect_failure_patterns", "<error_type>:<tool_name>"]),
        ('get_pattern pattern_id="no-colon"', "get_pattern", {"pattern_id": "no-colon"}, ["<error_type>:<tool_name>", "error_type:tool_name"]),
        ('analyze_run_health run_id="does-not-exist"', "analyze_run_health", {"run_id": "does-not-exist"}, ["runs.id", "run id", "detect_failure_patterns"]),
    ]


async def check_tools(checks, client):
    tools, cursor = [], None
    for _ in range(50):
        page = await client.list_tools(cursor=cursor, cache_mode="bypass")
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    names = {t.name for t in tools}
    checks.ok("tools/list: exactly the sixteen tools (seven analysis, nine lifecycle)", names == ALL_TOOLS,
              f"missing {sorted(ALL_TOOLS - names)}, unexpected {sorted(names - ALL_TOOLS)}")
    checks.ok("tool names are unique", len(names) == len(tools), f"{len(tools)} entries, {len(names)} names")
    for t in sorted(tools, key=lambda t: t.name):
        checks.ok(f"{t.name}: inputSchema is an object schema",
                  isinstance(t.input_schema, dict) and t.input_schema.get("type") == "object",
                  short(t.input_schema))
        checks.ok(f"{t.name}: has an outputSchema", isinstance(t.output_schema, dict) and t.output_schema.get("type") == "object",
                  short(t.output_schema))
        checks.ok(f"{t.name}: has a description", bool(t.description))
        if t.name in ALL_TOOLS:
            want = t.name in READ_ONLY_TOOLS
            ro = t.annotations.read_only_hint if t.annotations else None
            checks.ok(f"{t.name}: annotations.readOnlyHint is {str(want).lower()}", ro is want, f"got {ro!r}")
    return tools


async def call_ok(checks, s, label, tool, args):
    """A valid call: no protocol error, isError false, structuredContent an object (the SDK has
    already validated it against outputSchema). Returns structuredContent or None."""
    result, err = await s.call(tool, args)
    if not checks.ok(f"{label}: answered without protocol or schema error", err is None, err):
        return None
    if not checks.ok(f"{label}: isError is false", not result.is_error, short(result_text(result))):
        return None
    sc = result.structured_content
    if not checks.ok(f"{label}: structuredContent is an object", isinstance(sc, dict), short(sc)):
        return None
    checks.ok(f"{label}: has a text content block", bool(result_text(result).strip()))
    return sc


async def call_err(checks, s, label, tool, args, needles):
    """A bad call: a tool result (not a protocol error) with isError true whose text mentions
    one of `needles` (case-insensitive); then the server still serves."""
    result, err = await s.call(tool, args)
    if checks.ok(f"bad input {label}: a tool result, not a protocol error", err is None, err):
        if checks.ok(f"bad input {label}: isError is true", result.is_error,
                     short(result.structured_content or result_text(result))):
            text = result_text(result)
            checks.ok(f"bad input {label}: message says what is accepted",
                      any(n.lower() in text.lower() for n in needles),
                      f"{short(text)!r} mentions none of {needles}")
    alive, err2 = await s.call("detect_stalled_runs", {})
    checks.ok(f"bad input {label}: server still serves afterwards",
              err2 is None and not alive.is_error, err2 or short(result_text(alive)))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


async def run(args, checks):
    with open(args.truth, encoding="utf-8") as f:
        truth = json.load(f)
    original = sha256(args.db)
    with tempfile.TemporaryDirectory(prefix="sdk-check-") as work:
        # The lifecycle writes into the run-history file: work on a fresh copy of it.
        db = os.path.join(work, "history.sqlite")
        shutil.copyfile(args.db, db)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(args.db + suffix):
                shutil.copyfile(args.db + suffix, db + suffix)
        inbox = os.path.join(work, "inbox")
        os.mkdir(inbox)
        index_dir = os.path.join(work, "index")
        try:
            await run_in(args, checks, truth, db, inbox, index_dir)
        finally:
            notes = sorted(os.listdir(inbox))
            print(f"note: inbox files written: {notes}", flush=True)
            checks.ok("the given fixture file is untouched (the lifecycle wrote to a copy)",
                      sha256(args.db) == original)


async def run_in(args, checks, truth, db, inbox, index_dir):
    env = {
        "DATABASE_PATH": db,
        "INBOX_PATH": inbox,
        "SELFHEAL_NOW": args.now,
        "SELFHEAL_INDEX_DIR": index_dir,
        "RUST_LOG": os.environ.get("RUST_LOG", "warn"),
    }
    params = StdioServerParameters(command=os.path.abspath(args.server), args=[], env=env)
    # One deadline for the whole session (each request also has its own, see Session.call).
    with anyio.fail_after(args.total_timeout):
        async with Client(params, mode=args.mode, read_timeout_seconds=args.timeout) as client:
            await session_checks(checks, client, args, truth)
            s = Session(client, args.timeout)
            ids = await lifecycle_checks(checks, s, args, truth, inbox)
            await resource_checks(checks, s, truth, ids)
            await prompt_checks(checks, s, truth)
            await final_checks(checks, s, truth)


async def session_checks(checks, client, args, truth):
    info = client.server_info
    checks.ok("initialize: server identifies itself as self-healing-mcp",
              info is not None and info.name == "self-healing-mcp", f"server_info={info!r}")
    caps = client.server_capabilities
    checks.ok("initialize: tools capability declared", caps is not None and caps.tools is not None, repr(caps))
    print(f"note: protocol version {client.protocol_version}", flush=True)

    tools = await check_tools(checks, client)
    s = Session(client, args.timeout)

    patterns = truth["patterns"]
    first = patterns[0]
    stalled_ids = truth["stalled_runs"]
    ctx = {"pattern_id": first["id"], "run_id": stalled_ids[0], "tool_name": first["tool_name"]}

    # ---- detect_failure_patterns (defaults: since -7d, min_occurrences 3)
    sc = await call_ok(checks, s, "detect_failure_patterns {}", "detect_failure_patterns", {})
    if sc is not None:
        got = {p.get("id"): p.get("occurrences") for p in sc.get("patterns", [])}
        want = {p["id"]: p["occurrences"] for p in patterns}
        checks.ok("detect_failure_patterns: exactly the planted pattern ids", set(got) == set(want),
                  f"got {sorted(got)}, want {sorted(want)}")
        checks.ok("detect_failure_patterns: occurrences match the truth", got == want,
                  f"got {got}, want {want}")
        got_runs = {p.get("id"): p.get("affected_runs") for p in sc.get("patterns", [])}
        want_runs = {p["id"]: p["affected_runs"] for p in patterns}
        checks.ok("detect_failure_patterns: affected_runs match the truth", got_runs == want_runs,
                  f"got {got_runs}, want {want_runs}")
        absent = set(truth["absent_pattern_ids"]) & set(got)
        checks.ok("detect_failure_patterns: noise and out-of-window ids absent", not absent, f"present: {sorted(absent)}")
        occ = [p.get("occurrences") for p in sc.get("patterns", [])]
        checks.ok("detect_failure_patterns: most occurrences first", occ == sorted(occ, reverse=True), str(occ))
        checks.ok("detect_failure_patterns: failures_in_window matches the truth",
                  sc.get("failures_in_window") == truth["failed_tool_calls_in_window"],
                  f"got {sc.get('failures_in_window')}, want {truth['failed_tool_calls_in_window']}")

    # ---- get_pattern on the first planted pattern
    sc = await call_ok(checks, s, f"get_pattern {first['id']}", "get_pattern", {"pattern_id": first["id"]})
    if sc is not None:
        checks.ok("get_pattern: returns the asked pattern", (sc.get("pattern") or {}).get("id") == first["id"],
                  short(sc.get("pattern")))
    sc = await call_ok(checks, s, f"get_pattern {first['id']} since=-7d", "get_pattern",
                       {"pattern_id": first["id"], "since": truth["since"], "samples": 5})
    if sc is not None:
        p = sc.get("pattern") or {}
        checks.ok("get_pattern -7d: occurrences match the truth", p.get("occurrences") == first["occurrences"],
                  f"got {p.get('occurrences')}, want {first['occurrences']}")
        checks.ok("get_pattern -7d: affected_runs match the truth", p.get("affected_runs") == first["affected_runs"],
                  f"got {p.get('affected_runs')}, want {first['affected_runs']}")
        checks.ok("get_pattern -7d: first_seen and last_seen match the truth",
                  instant(p.get("first_seen")) == instant(first["first_seen"])
                  and instant(p.get("last_seen")) == instant(first["last_seen"]),
                  f"got {p.get('first_seen')}..{p.get('last_seen')}, want {first['first_seen']}..{first['last_seen']}")
        listed = set(p.get("affected_run_ids") or [])
        checks.ok("get_pattern -7d: affected_run_ids are planted runs", listed and listed <= set(first["affected_run_ids"]),
                  f"got {sorted(listed)}")
        samples = sc.get("recent_failures") or []
        checks.ok("get_pattern -7d: lists 5 recent failures", len(samples) == min(5, first["occurrences"]),
                  f"got {len(samples)}")
        checks.ok("get_pattern -7d: sample messages carry the planted text",
                  samples and all(first["message_contains"] in (x.get("message") or "") for x in samples),
                  short([x.get("message") for x in samples]))

    # ---- analyze_run_health on a stalled run
    sc = await call_ok(checks, s, f"analyze_run_health {stalled_ids[0]}", "analyze_run_health", {"run_id": stalled_ids[0]})
    if sc is not None:
        checks.ok("analyze_run_health: returns the asked run", sc.get("run_id") == stalled_ids[0], short(sc.get("run_id")))
        checks.ok("analyze_run_health: the stalled run's status is running", sc.get("status") == "running",
                  f"got {sc.get('status')!r}")
        agent = truth["stalled_run_details"][0]["agent"]
        checks.ok("analyze_run_health: agent matches the truth", sc.get("agent") == agent,
                  f"got {sc.get('agent')!r}, want {agent!r}")
        hs = sc.get("health_score")
        checks.ok("analyze_run_health: health_score absent or within 0..100", hs is None or 0 <= hs <= 100, repr(hs))

    # ---- detect_stalled_runs (default threshold 10 minutes)
    sc = await call_ok(checks, s, "detect_stalled_runs {}", "detect_stalled_runs", {})
    if sc is not None:
        got = [r.get("run_id") for r in sc.get("stalled", [])]
        checks.ok("detect_stalled_runs: exactly the truth's stalled run ids", set(got) == set(stalled_ids),
                  f"got {got}, want {stalled_ids}")
        want_order = [d["run_id"] for d in sorted(truth["stalled_run_details"], key=lambda d: -d["idle_seconds"])]
        checks.ok("detect_stalled_runs: longest idle first", got == want_order, f"got {got}, want {want_order}")
        idle = {r.get("run_id"): r.get("stalled_for_ms") for r in sc.get("stalled", [])}
        want_idle = {d["run_id"]: d["idle_seconds"] * 1000 for d in truth["stalled_run_details"]}
        checks.ok("detect_stalled_runs: stalled_for_ms matches the truth", idle == want_idle,
                  f"got {idle}, want {want_idle}")
        running = len(stalled_ids) + len(truth["live_running_runs"])
        checks.ok("detect_stalled_runs: running_total matches the truth", sc.get("running_total") == running,
                  f"got {sc.get('running_total')}, want {running}")

    # ---- the remaining analysis tools, with content where the truth has it
    sc = await call_ok(checks, s, "compute_agent_metrics {}", "compute_agent_metrics", {})
    if sc is not None:
        names = {a.get("name") for a in sc.get("agents", [])}
        want = {k for k, v in truth["runs_by_agent_in_window"].items() if v["total"]}
        checks.ok("compute_agent_metrics: the truth's agents are listed", want <= names,
                  f"got {sorted(n for n in names if n)}, want {sorted(want)}")
    await call_ok(checks, s, f"compute_agent_metrics agent={sorted(truth['runs_by_agent_in_window'])[0]}",
                  "compute_agent_metrics", {"since": "-30d", "agent": sorted(truth["runs_by_agent_in_window"])[0]})
    sc = await call_ok(checks, s, "compute_tool_reliability {}", "compute_tool_reliability", {})
    if sc is not None:
        got = {t.get("name"): t.get("total_calls") for t in sc.get("tools", [])}
        want = {k: v["total"] for k, v in truth["tool_calls_in_window"].items() if v["total"]}
        checks.ok("compute_tool_reliability: total_calls per tool match the truth", got == want,
                  f"got {got}, want {want}")
    await call_ok(checks, s, f"compute_tool_reliability tool_name={first['tool_name']}", "compute_tool_reliability",
                  {"tool_name": first["tool_name"], "limit": 5})
    sc = await call_ok(checks, s, "get_health_dashboard {}", "get_health_dashboard", {})
    if sc is not None:
        checks.ok("get_health_dashboard: stalled_runs matches the truth", sc.get("stalled_runs") == len(stalled_ids),
                  f"got {sc.get('stalled_runs')}, want {len(stalled_ids)}")
        score = sc.get("overall_health_score")
        checks.ok("get_health_dashboard: overall_health_score absent or within 0..100",
                  score is None or 0 <= score <= 100, repr(score))
    await call_ok(checks, s, "get_health_dashboard detailed", "get_health_dashboard", {"since": "-30d", "detailed": True})
    await call_ok(checks, s, "detect_failure_patterns filtered", "detect_failure_patterns",
                  {"since": "-30d", "min_occurrences": 1, "confidence_threshold": 0.0,
                   "tool_name": first["tool_name"], "limit": 3})

    # ---- further tools: one call each, arguments from their input schema
    by_name = {t.name: t for t in tools}
    later = [n for n in LATER_TOOLS if n in by_name] + sorted(set(by_name) - ANALYSIS_TOOLS - set(LATER_TOOLS))
    for name in later:
        tool = by_name[name]
        arguments = sample_arguments(tool, ctx) if name in LATER_TOOLS else {}
        result, err = await s.call(name, arguments)
        checks.ok(f"{name} {short(arguments, 120)}: answered (result or isError), no protocol error or hang",
                  err is None, err)
        if result is None:
            continue
        if result.is_error:
            print(f"note: {name} answered isError: {short(result_text(result), 200)}", flush=True)
            continue
        sc = result.structured_content
        checks.ok(f"{name}: structuredContent is an object", isinstance(sc, dict), short(sc))
        found = find_id(sc)
        if found and name in ("propose_improvement", "list_improvements") and not ctx.get("improvement_id"):
            ctx["improvement_id"] = found

    # ---- bad inputs: isError results that say what is accepted; the server keeps serving
    for label, tool, arguments, needles in bad_inputs(truth):
        result, err = await s.call(tool, arguments)
        if not checks.ok(f"bad input {label}: a tool result, not a protocol error", err is None, err):
            pass
        elif checks.ok(f"bad input {label}: isError is true", result.is_error,
                       short(result.structured_content or result_text(result))):
            text = result_text(result)
            checks.ok(f"bad input {label}: message says what is accepted",
                      any(n.lower() in text.lower() for n in needles),
                      f"{short(text)!r} mentions none of {needles}")
        alive, err2 = await s.call("detect_stalled_runs", {})
        checks.ok(f"bad input {label}: server still serves afterwards",
                  err2 is None and not alive.is_error, err2 or short(result_text(alive)))

    # ---- unknown tool name: an error (isError result or JSON-RPC error), never a hang
    result, err = await s.call("no_such_tool", {})
    checks.ok("unknown tool: answered with an error, no hang",
              (err is not None and "hang" not in err) or (result is not None and result.is_error),
              err or short(result_text(result)))
    sc = await call_ok(checks, s, "detect_failure_patterns after all bad inputs", "detect_failure_patterns", {})
    if sc is not None:
        got = {p.get("id"): p.get("occurrences") for p in sc.get("patterns", [])}
        checks.ok("detect_failure_patterns: same answer after bad inputs",
                  got == {p["id"]: p["occurrences"] for p in patterns}, f"got {got}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True, help="path of the self-healing-mcp binary")
    parser.add_argument("--db", required=True, help="run-history SQLite file")
    parser.add_argument("--now", required=True, help="SELFHEAL_NOW for the server (RFC 3339)")
    parser.add_argument("--truth", required=True, help="truth JSON written by plant_history.py")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per request (default 60)")
    parser.add_argument("--mode", default="auto", choices=["auto", "legacy"],
                        help="SDK connect mode (default auto: probe, then fall back to initialize)")
    parser.add_argument("--total-timeout", type=float, default=900.0,
                        help="seconds allowed for the whole session (default 900)")
    args = parser.parse_args()
    for path in (args.server, args.db, args.truth):
        if not os.path.exists(path):
            print(f"not found: {path}", file=sys.stderr)
            return 2
    checks = Checks()
    try:
        asyncio.run(run(args, checks))
    except BaseException as exc:  # a failure outside any single check (connect, list, deadline, ...)
        if isinstance(exc, KeyboardInterrupt):
            raise
        detail = exc
        while isinstance(detail, BaseExceptionGroup) and detail.exceptions:
            detail = detail.exceptions[0]
        checks.ok("session ran to the end", False, f"{type(detail).__name__}: {short(str(detail), 800)}")
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
