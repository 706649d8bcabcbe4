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
  is a JSON-RPC error) and the self_heal prompt (with and without pattern_id);
- completion/complete of pattern ids (the prompt's argument, the pattern template) and
  improvement ids (the improvement template) by prefix.

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
from datetime import timedelta

from checks import Checks, instant, short

import anyio

try:
    from mcp import Client, StdioServerParameters, types
    from mcp.shared.exceptions import MCPError
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


def result_text(result):
    return "\n".join(getattr(b, "text", "") or "" for b in (result.content or []))


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
        ('get_pattern pattern_id="nope:nothing"', "get_pattern", {"pattern_id": "nope:nothing"}, ["detect_failure_patterns", "<class>:<tool>"]),
        ('get_pattern pattern_id="no-colon"', "get_pattern", {"pattern_id": "no-colon"}, ["<class>:<tool>"]),
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
        "RUST_LOG": os.environ.get("RUST_LOG", "warn,rmcp=error"),
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
            await completion_checks(checks, s, truth, ids)
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

    # ---- detect_failure_patterns (defaults: since -7d, min_occurrences 3)
    sc = await call_ok(checks, s, "detect_failure_patterns {}", "detect_failure_patterns", {})
    if sc is not None:
        got = {p.get("id"): p.get("occurrences") for p in sc.get("patterns", [])}
        want = {p["id"]: p["occurrences"] for p in patterns}
        checks.ok("detect_failure_patterns: exactly the planted pattern ids", set(got) == set(want),
                  f"got {sorted(got)}, want {sorted(want)}")
        checks.ok("detect_failure_patterns: occurrences match the truth", got == want,
                  f"got {got}, want {want}")
        got_runs = {p.get("id"): p.get("affected_run_count") for p in sc.get("patterns", [])}
        want_runs = {p["id"]: p["affected_runs"] for p in patterns}
        checks.ok("detect_failure_patterns: affected_run_count matches the truth", got_runs == want_runs,
                  f"got {got_runs}, want {want_runs}")
        absent = set(truth["absent_pattern_ids"]) & set(got)
        checks.ok("detect_failure_patterns: noise and out-of-window ids absent", not absent, f"present: {sorted(absent)}")
        occ = [p.get("occurrences") for p in sc.get("patterns", [])]
        checks.ok("detect_failure_patterns: most occurrences first", occ == sorted(occ, reverse=True), str(occ))
        checks.ok("detect_failure_patterns: failures_in_window matches the truth",
                  sc.get("failures_in_window") == truth["failed_tool_calls_in_window"],
                  f"got {sc.get('failures_in_window')}, want {truth['failed_tool_calls_in_window']}")

    # ---- an id in the recorded-type style resolves to the pattern of its cause, and says so
    for planted in patterns:
        legacy = planted.get("legacy_id")
        if not legacy:
            continue
        sc = await call_ok(checks, s, f"get_pattern {legacy} (old-style id)", "get_pattern",
                           {"pattern_id": legacy, "since": truth["since"]})
        if sc is not None:
            resolved = sc.get("resolved_from") or {}
            checks.ok(f"get_pattern {legacy}: answers {planted['id']} and says it resolved the old id",
                      (sc.get("pattern") or {}).get("id") == planted["id"]
                      and resolved.get("requested_id") == legacy,
                      short(resolved))

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
        checks.ok("get_pattern -7d: affected_run_count matches the truth",
                  p.get("affected_run_count") == first["affected_runs"],
                  f"got {p.get('affected_run_count')}, want {first['affected_runs']}")
        checks.ok("get_pattern -7d: first_seen and last_seen match the truth",
                  instant(p.get("first_seen")) == instant(first["first_seen"])
                  and instant(p.get("last_seen")) == instant(first["last_seen"]),
                  f"got {p.get('first_seen')}..{p.get('last_seen')}, want {first['first_seen']}..{first['last_seen']}")
        listed = set(p.get("affected_runs") or [])
        checks.ok("get_pattern -7d: affected_runs lists planted run ids (the original contract)",
                  isinstance(p.get("affected_runs"), list) and listed and listed <= set(first["affected_run_ids"]),
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

    # ---- bad inputs of the analysis tools: isError results that say what is accepted
    for label, tool, arguments, needles in bad_inputs(truth):
        await call_err(checks, s, label, tool, arguments, needles)


def by_state(report):
    """improvements_by_state as a dict status -> count."""
    return {c.get("status"): c.get("count") for c in (report or {}).get("improvements_by_state") or []}


async def get_improvement(checks, s, label, imp_id):
    return await call_ok(checks, s, f"get_improvement {imp_id} ({label})", "get_improvement",
                         {"improvement_id": imp_id})


def is_subsequence(want, got):
    it = iter(got)
    return all(any(x == y for y in it) for x in want)


async def lifecycle_checks(checks, s, args, truth, inbox):
    """The improvement lifecycle walked for real on the planted patterns. Returns the ids made."""
    now = instant(args.now)
    first, second = truth["patterns"][0], truth["patterns"][1]
    pa, pb = first["id"], second["id"]
    # A past instant inside the fixture's analysis window [now - 7d, now].
    applied_at = (now.replace(microsecond=0) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = {}

    # ---- propose_improvement on the first planted pattern
    sc = await call_ok(checks, s, f"propose_improvement {pa}", "propose_improvement", {"pattern_id": pa})
    if sc is None:
        checks.ok("lifecycle: a proposal to walk", False, "propose_improvement failed; lifecycle checks skipped")
        return ids
    id1 = sc.get("improvement_id")
    ids["first"] = id1
    checks.ok("propose: improvement_id looks like imp-…", isinstance(id1, str) and id1.startswith("imp-"), repr(id1))
    checks.ok("propose: for the asked pattern", sc.get("pattern_id") == pa, f"got {sc.get('pattern_id')!r}")
    checks.ok("propose: status is proposed", sc.get("status") == "proposed", f"got {sc.get('status')!r}")
    checks.ok("propose: changes_required and actions are non-empty",
              bool(sc.get("changes_required")) and bool(sc.get("actions")), short(sc.get("changes_required")))
    ev = sc.get("evidence") or {}
    checks.ok("propose: evidence counts at least the planted occurrences of the last 7 days",
              isinstance(ev.get("occurrences"), int) and ev["occurrences"] >= first["occurrences"]
              and isinstance(ev.get("affected_runs"), int) and ev["affected_runs"] >= first["affected_runs"],
              f"evidence occurrences {ev.get('occurrences')}, affected_runs {ev.get('affected_runs')}; "
              f"planted in 7 days {first['occurrences']}, {first['affected_runs']}")
    checks.ok("propose: a strategy with a learned success rate in [0, 1]",
              isinstance((sc.get("strategy") or {}).get("id"), str)
              and 0 <= (sc.get("strategy") or {}).get("learned_success_rate", -1) <= 1, short(sc.get("strategy")))
    checks.ok("propose: expected_impact is stated", bool(sc.get("expected_impact")), short(sc.get("expected_impact")))

    # ---- a second open proposal for the same pattern is refused
    await call_err(checks, s, f"propose {pa} again while one is open", "propose_improvement", {"pattern_id": pa},
                   [id1, "already has"])
    # ---- verify and apply before test: illegal transitions
    await call_err(checks, s, "verify_improvement before apply (proposed)", "verify_improvement",
                   {"improvement_id": id1}, ["cannot verify", "legal next steps"])
    await call_err(checks, s, "apply_improvement before test (proposed)", "apply_improvement",
                   {"improvement_id": id1, "changes_made": "x"}, ["cannot apply", "legal next steps"])

    # ---- test_improvement: simulation (the default mode)
    sc = await call_ok(checks, s, f"test_improvement {id1} (simulation)", "test_improvement", {"improvement_id": id1})
    if sc is not None:
        checks.ok("test simulation: test_mode is simulation", sc.get("test_mode") == "simulation", repr(sc.get("test_mode")))
        sim, base = sc.get("simulated_success_rate"), sc.get("baseline_success_rate")
        checks.ok("test simulation: simulated_success_rate >= baseline_success_rate, both in [0, 1]",
                  isinstance(sim, (int, float)) and isinstance(base, (int, float)) and 0 <= base <= sim <= 1,
                  f"simulated {sim!r}, baseline {base!r}")
        exp = sc.get("expected_improvement")
        checks.ok("test simulation: expected_improvement = simulated - baseline",
                  isinstance(exp, (int, float)) and isinstance(sim, (int, float)) and isinstance(base, (int, float))
                  and abs(exp - (sim - base)) < 2e-4, f"{exp!r} vs {sim!r} - {base!r} (rates are rounded to 4 places)")
        checks.ok("test simulation: assumptions are non-empty", bool(sc.get("assumptions")), short(sc.get("assumptions")))
        checks.ok("test simulation: calls_analyzed > 0 and failures_fixed <= calls_analyzed",
                  (sc.get("calls_analyzed") or 0) > 0 and 0 <= (sc.get("failures_fixed") or 0) <= sc.get("calls_analyzed"),
                  f"calls {sc.get('calls_analyzed')}, fixed {sc.get('failures_fixed')}")
        checks.ok("test simulation: status is tested", sc.get("status") == "tested", repr(sc.get("status")))
        print(f"note: test simulation recommendation {sc.get('recommendation')!r}", flush=True)

    # ---- test_improvement: canary, no tagged runs in the fixture (answers with a plan, records nothing)
    sc = await call_ok(checks, s, f"test_improvement {id1} (canary)", "test_improvement",
                       {"improvement_id": id1, "mode": "canary"})
    if sc is not None:
        checks.ok("test canary: test_mode is canary", sc.get("test_mode") == "canary", repr(sc.get("test_mode")))
        checks.ok("test canary: tagged_runs is 0", sc.get("tagged_runs") == 0, repr(sc.get("tagged_runs")))
        plan = sc.get("tagging_plan")
        checks.ok("test canary: a tagging_plan naming the improvement id",
                  isinstance(plan, str) and plan.strip() and id1 in plan, short(plan))
        checks.ok("test canary: recommendation needs_canary and no simulated rate",
                  sc.get("recommendation") == "needs_canary" and sc.get("simulated_success_rate") is None,
                  f"{sc.get('recommendation')!r}, simulated {sc.get('simulated_success_rate')!r}")
        checks.ok("test canary: status stays tested", sc.get("status") == "tested", repr(sc.get("status")))

    # ---- apply_improvement at a past instant inside the fixture window
    changes = "fetch_url: retry with exponential backoff (sdk_check)"
    sc = await call_ok(checks, s, f"apply_improvement {id1} applied_at={applied_at}", "apply_improvement",
                       {"improvement_id": id1, "changes_made": changes, "applied_at": applied_at,
                        "commit_hash": "0123abcd"})
    if sc is not None:
        checks.ok("apply: status is applied", sc.get("status") == "applied", repr(sc.get("status")))
        checks.ok("apply: applied_at is the given instant", instant(sc.get("applied_at")) == instant(applied_at),
                  f"got {sc.get('applied_at')!r}, want {applied_at}")
        checks.ok("apply: verification_scheduled is applied_at + 7 days",
                  instant(sc.get("verification_scheduled")) == instant(applied_at) + timedelta(days=7),
                  repr(sc.get("verification_scheduled")))
        checks.ok("apply: commit_hash recorded", sc.get("commit_hash") == "0123abcd", repr(sc.get("commit_hash")))
        note = sc.get("note") or {}
        path = note.get("path") or ""
        if checks.ok("apply: a note written into INBOX_PATH",
                     note.get("written") is True and os.path.abspath(path).startswith(inbox + os.sep)
                     and os.path.isfile(path), short(note)):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            checks.ok("apply: the inbox note names the improvement and its pattern", id1 in text and pa in text,
                      short(text))
    # ---- bad lifecycle inputs around the applied improvement
    await call_err(checks, s, "apply_improvement twice", "apply_improvement",
                   {"improvement_id": id1, "changes_made": changes}, ["cannot apply", "legal next steps"])
    await call_err(checks, s, "reject_improvement of an applied improvement", "reject_improvement",
                   {"improvement_id": id1}, ["cannot reject", "rollback_improvement"])
    await call_err(checks, s, "verify_improvement measurement_window_days=0", "verify_improvement",
                   {"improvement_id": id1, "measurement_window_days": 0}, ["1 to 90"])
    await call_err(checks, s, "verify_improvement measurement_window_days=91", "verify_improvement",
                   {"improvement_id": id1, "measurement_window_days": 91}, ["1 to 90"])
    await call_err(checks, s, 'test_improvement mode="bogus"', "test_improvement",
                   {"improvement_id": id1, "mode": "bogus"}, ["simulation, canary, shadow"])

    # ---- verify_improvement (default window 7 days around applied_at)
    sc = await call_ok(checks, s, f"verify_improvement {id1}", "verify_improvement", {"improvement_id": id1})
    if sc is not None:
        verdict = sc.get("verification_status")
        checks.ok("verify: verdict is one of verified / no_significant_change / regressed / insufficient_data",
                  verdict in VERDICTS, repr(verdict))
        m = sc.get("metrics") or {}
        checks.ok("verify: metrics count calls of the pattern's tool on both sides of applied_at",
                  (m.get("before_calls") or 0) > 0 and (m.get("after_calls") or 0) > 0, short(m))
        checks.ok("verify: failures never exceed calls",
                  0 <= (m.get("before_failures") or 0) <= (m.get("before_calls") or 0)
                  and 0 <= (m.get("after_failures") or 0) <= (m.get("after_calls") or 0), short(m))
        checks.ok("verify: the planted failures appear in the windows",
                  (m.get("before_failures") or 0) + (m.get("after_failures") or 0) > 0, short(m))
        rates_ok = all(
            m.get(f"{side}_calls") and isinstance(m.get(f"{side}_success_rate"), (int, float))
            and abs(m[f"{side}_success_rate"] - (1 - m[f"{side}_failures"] / m[f"{side}_calls"])) < 1e-4
            for side in ("before", "after"))
        checks.ok("verify: success rates = 1 - failures / calls on each side", rates_ok, short(m))
        bw, aw = sc.get("before_window") or {}, sc.get("after_window") or {}
        checks.ok("verify: the after window starts at applied_at", instant(aw.get("from")) == instant(applied_at),
                  f"after_window {aw}")
        checks.ok("verify: the before window ends at applied_at and spans 7 days",
                  instant(bw.get("from")) == instant(applied_at) - timedelta(days=7)
                  and instant(bw.get("to")) is not None
                  and abs((instant(bw.get("to")) - instant(applied_at)).total_seconds()) <= 1, f"before_window {bw}")
        checks.ok("verify: the after window ends at now (applied 3 days ago)", instant(aw.get("to")) == now, f"after_window {aw}")
        checks.ok("verify: status follows the verdict (verified -> verified, else applied)",
                  sc.get("status") == ("verified" if verdict == "verified" else "applied"), repr(sc.get("status")))
        checks.ok("verify: a recommendation and a reason", sc.get("recommendation") in {"keep", "rollback", "extend_monitoring"}
                  and bool(sc.get("reason")), f"{sc.get('recommendation')!r}, {short(sc.get('reason'))!r}")
        print(f"note: verify verdict {verdict!r}, recommendation {sc.get('recommendation')!r}: {short(sc.get('reason'))}",
              flush=True)
        status1 = sc.get("status")
    else:
        status1 = None

    # ---- get_improvement: the stored record and its audit trail
    sc = await get_improvement(checks, s, "after verify", id1)
    if sc is not None:
        checks.ok("get_improvement: the asked id, pattern and status", sc.get("id") == id1 and sc.get("pattern_id") == pa
                  and sc.get("status") in {"applied", "verified"} and (status1 is None or sc.get("status") == status1),
                  f"{sc.get('id')!r} {sc.get('pattern_id')!r} {sc.get('status')!r}")
        checks.ok("get_improvement: applied_at, changes_made and commit_hash as applied",
                  instant(sc.get("applied_at")) == instant(applied_at) and sc.get("changes_made") == changes
                  and sc.get("commit_hash") == "0123abcd",
                  f"{sc.get('applied_at')!r} {sc.get('changes_made')!r} {sc.get('commit_hash')!r}")
        checks.ok("get_improvement: test_result and verification stored",
                  sc.get("test_result") is not None and sc.get("verification") is not None,
                  f"test_result {short(sc.get('test_result'), 80)}, verification {short(sc.get('verification'), 80)}")
        audit = sc.get("audit") or []
        actions = [a.get("action") for a in audit]
        checks.ok("get_improvement: audit trail propose, test, apply, verify in order",
                  actions[:1] == ["propose"] and is_subsequence(["propose", "test", "apply", "verify"], actions),
                  f"actions {actions}")
        checks.ok("get_improvement: audit trail has one test (the canary without tagged runs records nothing)",
                  actions.count("test") == 1, f"actions {actions}")
        checks.ok("get_improvement: the audit trail ends in the current status",
                  bool(audit) and audit[-1].get("to_status") == sc.get("status"), short(audit[-1:] if audit else audit))

    # ---- list_improvements contains it
    sc = await call_ok(checks, s, "list_improvements {}", "list_improvements", {})
    if sc is not None:
        listed = {i.get("id"): i.get("status") for i in sc.get("improvements") or []}
        checks.ok("list_improvements: contains the walked improvement with its status",
                  id1 in listed and listed[id1] in {"applied", "verified"}, f"listed {listed}")

    # ---- a second proposal, for another planted pattern
    sc = await call_ok(checks, s, f"propose_improvement {pb}", "propose_improvement", {"pattern_id": pb})
    id2 = sc.get("improvement_id") if sc else None
    if id2 is not None:
        ids["second"] = id2
        checks.ok("propose (second): a new id for the other pattern", id2 != id1 and sc.get("pattern_id") == pb,
                  f"{id2!r} for {sc.get('pattern_id')!r}")
        await call_err(checks, s, "verify_improvement before apply (tested)", "verify_improvement",
                       {"improvement_id": id2}, ["cannot verify", "legal next steps"])
        sc = await call_ok(checks, s, f"test_improvement {id2} (shadow)", "test_improvement",
                           {"improvement_id": id2, "mode": "shadow"})
        if sc is not None:
            checks.ok("test shadow without tagged runs: a tagging_plan, tagged_runs 0, status stays proposed",
                      bool(sc.get("tagging_plan")) and sc.get("tagged_runs") == 0 and sc.get("status") == "proposed",
                      f"plan {short(sc.get('tagging_plan'), 80)!r}, tagged {sc.get('tagged_runs')!r}, {sc.get('status')!r}")
        await call_err(checks, s, "apply_improvement of a proposed (untested) improvement", "apply_improvement",
                       {"improvement_id": id2, "changes_made": "x"}, ["cannot apply", "test_improvement"])
        sc = await call_ok(checks, s, f"test_improvement {id2} (simulation)", "test_improvement",
                           {"improvement_id": id2, "mode": "simulation"})
        if sc is not None:
            checks.ok("test simulation (second): status tested", sc.get("status") == "tested", repr(sc.get("status")))
        await call_err(checks, s, f"apply_improvement applied_at in the future ({future})", "apply_improvement",
                       {"improvement_id": id2, "changes_made": "x", "applied_at": future}, ["future"])
        await call_err(checks, s, 'apply_improvement applied_at="yesterday"', "apply_improvement",
                       {"improvement_id": id2, "changes_made": "x", "applied_at": "yesterday"}, ["rfc 3339"])
        await call_err(checks, s, 'apply_improvement changes_made=""', "apply_improvement",
                       {"improvement_id": id2, "changes_made": " "}, ["changes_made"])
        after = await get_improvement(checks, s, "after refused applies", id2)
        if after is not None:
            checks.ok("refused applies changed nothing (still tested, no applied_at)",
                      after.get("status") == "tested" and after.get("applied_at") is None,
                      f"{after.get('status')!r}, applied_at {after.get('applied_at')!r}")

        # ---- paging: limit 1 gives a next_cursor that reaches the other improvement
        seen = []
        sc = await call_ok(checks, s, "list_improvements limit=1", "list_improvements", {"limit": 1})
        if sc is not None:
            page = sc.get("improvements") or []
            cursor = sc.get("next_cursor")
            seen += [i.get("id") for i in page]
            checks.ok("list_improvements limit=1: one item and a next_cursor (two exist)",
                      len(page) == 1 and isinstance(cursor, str) and cursor, f"{len(page)} items, cursor {cursor!r}")
            for n in range(5):
                if not cursor:
                    break
                sc = await call_ok(checks, s, f"list_improvements limit=1 cursor (page {n + 2})", "list_improvements",
                                   {"limit": 1, "cursor": cursor})
                if sc is None:
                    break
                seen += [i.get("id") for i in sc.get("improvements") or []]
                cursor = sc.get("next_cursor")
            checks.ok("list_improvements paging: both improvements, each once, then no cursor",
                      sorted(seen) == sorted([id1, id2]) and not cursor, f"seen {seen}, last cursor {cursor!r}")
        await call_err(checks, s, 'list_improvements cursor="garbage"', "list_improvements",
                       {"cursor": "garbage"}, ["cursor"])

        # ---- reject, twice
        sc = await call_ok(checks, s, f"reject_improvement {id2}", "reject_improvement",
                           {"improvement_id": id2, "reason": "sdk_check: not worth it"})
        if sc is not None:
            checks.ok("reject: status rejected, changed true", sc.get("status") == "rejected" and sc.get("changed") is True,
                      f"{sc.get('status')!r}, changed {sc.get('changed')!r}")
        sc = await call_ok(checks, s, f"reject_improvement {id2} again", "reject_improvement",
                           {"improvement_id": id2, "reason": "sdk_check: again"})
        if sc is not None:
            checks.ok("reject again: still rejected, changed false", sc.get("status") == "rejected" and sc.get("changed") is False,
                      f"{sc.get('status')!r}, changed {sc.get('changed')!r}")
        await call_err(checks, s, "test_improvement of a rejected improvement", "test_improvement",
                       {"improvement_id": id2}, ["rejected", "final"])
        sc = await call_ok(checks, s, "list_improvements status=rejected", "list_improvements", {"status": "rejected"})
        if sc is not None:
            got = [i.get("id") for i in sc.get("improvements") or []]
            checks.ok("list_improvements status=rejected: exactly the rejected one", got == [id2], f"got {got}")

    # ---- rollback the first, twice
    sc = await call_ok(checks, s, f"rollback_improvement {id1}", "rollback_improvement",
                       {"improvement_id": id1, "reason": "sdk_check: undo"})
    if sc is not None:
        checks.ok("rollback: status rolled_back, changed true", sc.get("status") == "rolled_back" and sc.get("changed") is True,
                  f"{sc.get('status')!r}, changed {sc.get('changed')!r}")
    sc = await call_ok(checks, s, f"rollback_improvement {id1} again", "rollback_improvement", {"improvement_id": id1})
    if sc is not None:
        checks.ok("rollback again: still rolled_back, changed false",
                  sc.get("status") == "rolled_back" and sc.get("changed") is False,
                  f"{sc.get('status')!r}, changed {sc.get('changed')!r}")
    sc = await get_improvement(checks, s, "after rollback", id1)
    if sc is not None:
        actions = [a.get("action") for a in sc.get("audit") or []]
        checks.ok("get_improvement after rollback: rolled_back, audit ends in one rollback",
                  sc.get("status") == "rolled_back" and actions[-1:] == ["rollback"] and actions.count("rollback") == 1,
                  f"{sc.get('status')!r}, actions {actions}")

    # ---- unknown ids
    for tool, extra in [("get_improvement", {}), ("test_improvement", {}),
                        ("apply_improvement", {"changes_made": "x"}), ("verify_improvement", {}),
                        ("rollback_improvement", {}), ("reject_improvement", {})]:
        await call_err(checks, s, f"{tool} unknown improvement id", tool,
                       {"improvement_id": UNKNOWN_IMPROVEMENT, **extra}, ["list_improvements"])
    await call_err(checks, s, 'get_improvement improvement_id="nope" (not an id)', "get_improvement",
                   {"improvement_id": "nope"}, ["imp-"])
    await call_err(checks, s, 'list_improvements status="nope"', "list_improvements", {"status": "nope"},
                   ["accepted: proposed"])
    await call_err(checks, s, "list_improvements limit=0", "list_improvements", {"limit": 0}, ["1 to 100"])
    await call_err(checks, s, "propose_improvement unknown pattern", "propose_improvement",
                   {"pattern_id": "nope:nothing"}, ["nope:nothing"])

    # ---- get_healing_report: counts by state
    sc = await call_ok(checks, s, "get_healing_report {}", "get_healing_report", {})
    if sc is not None:
        counts = by_state(sc)
        nonzero = {k: v for k, v in counts.items() if v}
        want = {"rolled_back": 1, "rejected": 1} if id2 else {"rolled_back": 1}
        checks.ok("get_healing_report: improvements_by_state counts one rolled_back and one rejected",
                  nonzero == want, f"got {counts}, want {want}")
        checks.ok("get_healing_report: states are lifecycle statuses", set(counts) <= STATUSES, str(sorted(counts)))
        checks.ok("get_healing_report: patterns_seen counts at least the planted patterns",
                  (sc.get("patterns_seen") or 0) >= len(truth["patterns"]),
                  f"got {sc.get('patterns_seen')}, planted {len(truth['patterns'])}")
        share = sc.get("auto_resolved_share")
        checks.ok("get_healing_report: auto_resolved_share is 0 (nothing verified, two closed)",
                  share is not None and abs(share) < 1e-9, repr(share))
    sc = await call_ok(checks, s, "get_healing_report since=-7d", "get_healing_report", {"since": "-7d"})
    await call_err(checks, s, 'get_healing_report since="yesterday"', "get_healing_report", {"since": "yesterday"},
                   ["accepted", "rfc 3339"])
    return ids


async def resource_checks(checks, s, truth, ids):
    client = s.client
    # rmcp answers an unknown resource with -32002 (resource not found) to peers before protocol
    # 2026-07-28 and with -32602 (invalid params) from that version on, as the spec now says.
    proto = str(client.protocol_version or "")
    not_found = -32602 if proto >= "2026-07-28" else -32002
    res, err, _ = await s.request(lambda: client.list_resources(cache_mode="bypass"))
    if checks.ok("resources/list: answered", err is None, err):
        uris = {str(r.uri) for r in res.resources}
        checks.ok("resources/list: exactly the three resources", uris == RESOURCES, f"got {sorted(uris)}")
        checks.ok("resources/list: each application/json with a description",
                  all(r.mime_type == "application/json" and r.description for r in res.resources),
                  short([(str(r.uri), r.mime_type) for r in res.resources]))
    res, err, _ = await s.request(lambda: client.list_resource_templates(cache_mode="bypass"))
    if checks.ok("resources/templates/list: answered", err is None, err):
        got = {t.uri_template for t in res.resource_templates}
        checks.ok("resources/templates/list: exactly the two templates", got == RESOURCE_TEMPLATES, f"got {sorted(got)}")

    async def read_json(uri):
        res, err, _ = await s.request(lambda: client.read_resource(uri, cache_mode="bypass"))
        if not checks.ok(f"resources/read {uri}: answered", err is None, err):
            return None
        contents = res.contents or []
        text = getattr(contents[0], "text", None) if contents else None
        if not checks.ok(f"resources/read {uri}: one text content for the URI",
                         len(contents) == 1 and isinstance(text, str) and str(contents[0].uri) == uri,
                         short([(str(c.uri), type(c).__name__) for c in contents])):
            return None
        try:
            doc = json.loads(text)
        except ValueError as exc:
            checks.ok(f"resources/read {uri}: text parses as JSON", False, f"{exc}: {short(text)!r}")
            return None
        checks.ok(f"resources/read {uri}: text parses as a JSON object", isinstance(doc, dict), short(doc))
        return doc if isinstance(doc, dict) else None

    doc = await read_json("selfheal://dashboard")
    if doc is not None:
        checks.ok("resource dashboard: stalled_runs matches the truth", doc.get("stalled_runs") == len(truth["stalled_runs"]),
                  f"got {doc.get('stalled_runs')}")
    doc = await read_json("selfheal://patterns")
    if doc is not None:
        got = {p.get("id"): p.get("occurrences") for p in doc.get("patterns") or []}
        want = {p["id"]: p["occurrences"] for p in truth["patterns"]}
        checks.ok("resource patterns: the planted patterns with their occurrences (last 7 days)", got == want,
                  f"got {got}, want {want}")
    doc = await read_json("selfheal://improvements")
    if doc is not None:
        got = {i.get("id"): i.get("status") for i in doc.get("improvements") or []}
        want = {ids[k]: st for k, st in (("first", "rolled_back"), ("second", "rejected")) if k in ids}
        checks.ok("resource improvements: the walked improvements with their final status", got == want,
                  f"got {got}, want {want}")
    pa = truth["patterns"][0]["id"]
    doc = await read_json(f"selfheal://patterns/{pa}")
    if doc is not None:
        checks.ok(f"resource patterns/{pa}: that pattern", (doc.get("pattern") or {}).get("id") == pa,
                  short(doc.get("pattern"), 120))
    if "first" in ids:
        doc = await read_json(f"selfheal://improvements/{ids['first']}")
        if doc is not None:
            actions = [a.get("action") for a in doc.get("audit") or []]
            checks.ok(f"resource improvements/{ids['first']}: that improvement with its audit trail",
                      doc.get("id") == ids["first"] and doc.get("status") == "rolled_back" and "rollback" in actions,
                      f"{doc.get('id')!r} {doc.get('status')!r} {actions}")
    for uri in ("selfheal://nope", f"selfheal://improvements/{UNKNOWN_IMPROVEMENT}", "selfheal://patterns/nope:nothing",
                "file:///etc/passwd"):
        res, err, exc = await s.request(lambda: client.read_resource(uri, cache_mode="bypass"))
        if checks.ok(f"resources/read {uri}: a JSON-RPC error, not a hang or a result",
                     isinstance(exc, MCPError), err or f"a result: {short(res.model_dump(), 200) if res else res}"):
            checks.ok(f"resources/read {uri}: error code {not_found} (resource not found, protocol {proto})",
                      exc.code == not_found, f"code {exc.code}: {short(exc.error.message, 200)}")


async def prompt_checks(checks, s, truth):
    client = s.client
    res, err, _ = await s.request(lambda: client.list_prompts(cache_mode="bypass"))
    if checks.ok("prompts/list: answered", err is None, err):
        by_name = {p.name: p for p in res.prompts}
        p = by_name.get("self_heal")
        checks.ok("prompts/list: has self_heal", p is not None, f"listed {sorted(by_name)}")
        if p is not None:
            arguments = {a.name: a for a in p.arguments or []}
            checks.ok("prompts/list: self_heal takes an optional pattern_id",
                      set(arguments) == {"pattern_id"} and not arguments["pattern_id"].required,
                      short([(a.name, a.required) for a in p.arguments or []]))
    pa = truth["patterns"][0]["id"]
    for label, arguments in (("without arguments", None), (f"pattern_id={pa}", {"pattern_id": pa})):
        res, err, _ = await s.request(lambda: client.get_prompt("self_heal", arguments))
        if not checks.ok(f"prompts/get self_heal {label}: answered", err is None, err):
            continue
        msgs = res.messages or []
        text = getattr(msgs[0].content, "text", "") if msgs else ""
        checks.ok(f"prompts/get self_heal {label}: a user text message",
                  len(msgs) >= 1 and msgs[0].role == "user" and bool(text), short([m.role for m in msgs]))
        checks.ok(f"prompts/get self_heal {label}: mentions detect_failure_patterns and verify_improvement",
                  "detect_failure_patterns" in text and "verify_improvement" in text, short(text))
        if arguments:
            checks.ok(f"prompts/get self_heal {label}: names the pattern", pa in text, short(text))
    res, err, exc = await s.request(lambda: client.get_prompt("no_such_prompt", None))
    checks.ok("prompts/get no_such_prompt: a JSON-RPC error, not a hang", isinstance(exc, MCPError),
              err or "a result")


async def completion_checks(checks, s, truth, ids):
    """completion/complete: pattern ids for the prompt's argument and the pattern template,
    improvement ids for the improvement template, by prefix."""
    client = s.client
    caps = client.server_capabilities
    checks.ok("capabilities: completions declared", caps is not None and caps.completions is not None, repr(caps))
    pa = truth["patterns"][0]["id"]
    prefix = pa.split(":")[0] + ":"
    refs = (("prompt self_heal", types.PromptReference(type="ref/prompt", name="self_heal")),
            ("template selfheal://patterns/{pattern_id}",
             types.ResourceTemplateReference(type="ref/resource", uri="selfheal://patterns/{pattern_id}")))
    for label, ref in refs:
        res, err, _ = await s.request(lambda: client.complete(ref, {"name": "pattern_id", "value": prefix}))
        if checks.ok(f"completion/complete {label} pattern_id={prefix!r}: answered", err is None, err):
            values = res.completion.values
            checks.ok(f"completion/complete {label}: lists {pa} and only ids starting with {prefix!r}",
                      pa in values and all(v.startswith(prefix) for v in values), short(values))
    res, err, _ = await s.request(lambda: client.complete(refs[0][1], {"name": "pattern_id", "value": "no-such-prefix"}))
    if checks.ok("completion/complete of a prefix nothing has: answered", err is None, err):
        checks.ok("completion/complete of a prefix nothing has: no values", res.completion.values == [],
                  short(res.completion.values))
    ref = types.ResourceTemplateReference(type="ref/resource", uri="selfheal://improvements/{improvement_id}")
    res, err, _ = await s.request(lambda: client.complete(ref, {"name": "improvement_id", "value": "imp-"}))
    if checks.ok("completion/complete improvement_id='imp-': answered", err is None, err):
        values = res.completion.values
        walked = [i for i in ids.values() if isinstance(i, str)]
        checks.ok("completion/complete improvement_id: the walked improvements",
                  bool(walked) and all(i in values for i in walked), f"got {short(values)}, want {walked}")
    res, err, exc = await s.request(lambda: client.complete(types.PromptReference(type="ref/prompt", name="no_such_prompt"),
                                                             {"name": "pattern_id", "value": ""}))
    checks.ok("completion/complete of an unknown prompt: a JSON-RPC error", isinstance(exc, MCPError),
              err or "a result")


async def final_checks(checks, s, truth):
    patterns = truth["patterns"]
    # ---- unknown tool name: an error (isError result or JSON-RPC error), never a hang
    result, err = await s.call("no_such_tool", {})
    checks.ok("unknown tool: answered with an error, no hang",
              (err is not None and "hang" not in err) or (result is not None and result.is_error),
              err or short(result_text(result)))
    sc = await call_ok(checks, s, "detect_failure_patterns after the lifecycle and all bad inputs",
                       "detect_failure_patterns", {})
    if sc is not None:
        got = {p.get("id"): p.get("occurrences") for p in sc.get("patterns", [])}
        checks.ok("detect_failure_patterns: same answer after the lifecycle and bad inputs",
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
