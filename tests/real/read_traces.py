#!/usr/bin/env python3
"""An independent reading of real agent transcripts: every tool call, per source folder.

This reader shares no code with the importer (`self-heal import`); it exists so that the
importer and the classifier can be measured against a second, plain reading of the same files.

The traces folder holds one folder per format, one folder per source repository under it
(`<format>/<owner>__<repo>/`, each with a MANIFEST.json). For every tool call it yields:

- `source`: `<format folder>/<source folder>`; `file`: the transcript's path under the traces root
- `run`: `<format>:<session id>`, the run id the importer gives the session
  - Claude Code: the `sessionId`; a subagent transcript (`agent-*.jsonl` beside the sessions, or
    `<session>/subagents/agent-*.jsonl`) is a run of its own, named by the `agentId` its lines
    carry (the file stem without `agent-` when no line carries one)
  - Codex: `session_meta.payload.id`; Gemini CLI: `sessionId`
  - SWE-agent / mini-swe-agent: `instance_id` when the trajectory has one, else the file stem
    (the file name without `.traj.json` / `.traj`)
- `call_id`: the source's id (Claude `tool_use.id`, Codex `call_id`, Gemini tool call `id`); for
  SWE-agent, which has none, `<file stem>#<i>` with `i` the call's 0-based index in the trajectory
- `tool`, `input` (the arguments as recorded), `result` (the text the agent got back)
- `flagged`: whether the source itself marks the call as failed, and `flag` (why):
  Claude Code `is_error`; Codex exit code != 0, or a harness message instead of an exit code
  (`apply_patch verification failed`, a rejection); Gemini `status` != `success`; SWE-agent
  `<returncode>` != 0, or the harness's "timed out and has been killed" message
- `exit_code`, `interrupted`, `duration_ms` where the source records them
- `ordinal`: the call's 0-based position within its run (after de-duplication)

De-duplication: a Claude Code transcript can repeat lines (a resumed conversation is replayed
with the same `tool_use` ids), and a forked subagent (`agent-aside_question-*`) starts with a copy
of its parent's lines (same line `uuid`s). A call is counted once, in the run where it was made:
the session's own file is read before its subagents, and an id already seen in the source folder
is a copy, counted in `copied_calls`, not a call.

Runs: a session is a run when its file carries at least one user or model message (files that
hold only `summary` lines, or nothing, are not sessions).

Usage:
  read_traces.py [--traces DIR]            counts per folder, compared with the folder's README
  read_traces.py --traces DIR --json       the same counts and every call, as JSON
  read_traces.py --traces DIR --flagged    every flagged call with its input and result, to read
                                           (prints other people's data: keep it out of the repo)

The default traces folder is ../shared/data/agent-traces (relative to the working directory).
When the folder is absent the script says so and exits 0 with nothing read.
"""

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_TRACES = Path("../shared/data/agent-traces")

# Format folder -> the `<format>` prefix of run ids.
FORMATS = {
    "claude-code": "claude-code",
    "codex": "codex",
    "gemini-cli": "gemini-cli",
    "swe-agent": "swe-agent",
}

# Tools whose calls run a shell command (their `program` is meaningful).
SHELL_TOOLS = {"bash", "shell", "exec_command", "run_shell_command", "shell_command", "local_shell"}


@dataclass
class Call:
    source: str
    file: str
    run: str
    call_id: str
    tool: str
    flagged: bool
    flag: str
    input: object
    result: str
    exit_code: object = None
    interrupted: bool = False
    duration_ms: object = None
    ordinal: int = 0


@dataclass
class Run:
    source: str
    file: str
    run: str
    calls: int = 0
    flagged: int = 0
    model_turn: bool = True  # whether the session has at least one model message


@dataclass
class Reading:
    runs: list = field(default_factory=list)
    calls: list = field(default_factory=list)
    copied_calls: dict = field(default_factory=dict)  # source -> count of copies skipped
    skipped: list = field(default_factory=list)  # (file, why) for files or lines not read


def is_shell_tool(tool):
    return tool.lower() in SHELL_TOOLS


def _json_lines(path, reading, rel):
    """Yield the JSON objects of a JSONL file; malformed lines are recorded, not fatal."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                reading.skipped.append((rel, f"line {n}: malformed JSON"))


def _text_of(content):
    """The text of a Claude tool_result `content` (a string or a list of blocks)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                if block.get("type") == "text":
                    parts.append(str(block.get("text", "")))
                elif block.get("type") == "image":
                    parts.append("[image]")
            elif isinstance(block, str):
                parts.append(block)
        return "\n".join(parts)
    return json.dumps(content)


# ---------------------------------------------------------------- Claude Code

CLAUDE_EXIT = re.compile(r"^(?:Error: )?Exit code (-?\d+)")


def _claude_files(source_dir):
    """Session files first, then subagent files, each group in path order."""
    files = sorted(p for p in source_dir.rglob("*.jsonl") if p.is_file())
    sessions = [p for p in files if not p.name.startswith("agent-")]
    agents = [p for p in files if p.name.startswith("agent-")]
    return sessions + agents


def read_claude_source(root, source_dir, reading):
    source = f"{source_dir.parent.name}/{source_dir.name}"
    seen_ids = set()
    copied = 0
    for path in _claude_files(source_dir):
        rel = str(path.relative_to(root))
        is_agent = path.name.startswith("agent-")
        session_id = agent_id = None
        has_message = has_model = False
        uses = {}  # id -> Call (in order of first appearance)
        order = []
        results = {}  # id -> (content, is_error, toolUseResult, timestamp)
        starts = {}
        for obj in _json_lines(path, reading, rel):
            if not isinstance(obj, dict):
                continue
            session_id = session_id or obj.get("sessionId")
            agent_id = agent_id or obj.get("agentId")
            if obj.get("type") in ("user", "assistant"):
                has_message = True
                has_model = has_model or obj.get("type") == "assistant"
            msg = obj.get("message")
            if not isinstance(msg, dict) or not isinstance(msg.get("content"), list):
                continue
            for block in msg["content"]:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "tool_use" and block.get("id"):
                    cid = str(block["id"])
                    if cid in uses:
                        continue  # a replayed line of this same run
                    if cid in seen_ids:
                        copied += 1  # a copy of another run's call (forked subagent)
                        uses[cid] = None
                        continue
                    uses[cid] = Call(
                        source=source,
                        file=rel,
                        run="",
                        call_id=cid,
                        tool=str(block.get("name", "")),
                        flagged=False,
                        flag="",
                        input=block.get("input"),
                        result="",
                    )
                    starts[cid] = obj.get("timestamp")
                    order.append(cid)
                elif block.get("type") == "tool_result" and block.get("tool_use_id"):
                    cid = str(block["tool_use_id"])
                    if cid not in results:
                        results[cid] = (
                            block.get("content"),
                            bool(block.get("is_error")),
                            obj.get("toolUseResult"),
                        )
        if not has_message or not session_id:
            reading.skipped.append((rel, "no user or model message: not a session"))
            continue
        if is_agent:
            name = agent_id or path.stem[len("agent-") :]
            run_id = f"claude-code:{name}"
        else:
            run_id = f"claude-code:{session_id}"
        run = Run(source=source, file=rel, run=run_id, model_turn=has_model)
        for ordinal, cid in enumerate(order):
            call = uses[cid]
            call.run = run_id
            call.ordinal = ordinal
            seen_ids.add(cid)
            content, is_error, tur = results.get(cid, (None, False, None))
            call.result = _text_of(content)
            if cid not in results:
                call.flag = "no result recorded"
            call.flagged = is_error
            if is_error:
                call.flag = "is_error"
            m = CLAUDE_EXIT.match(call.result)
            if m:
                call.exit_code = int(m.group(1))
            if isinstance(tur, dict) and tur.get("interrupted") is True:
                call.interrupted = True
            run.calls += 1
            run.flagged += call.flagged
            reading.calls.append(call)
        reading.runs.append(run)
    reading.copied_calls[source] = reading.copied_calls.get(source, 0) + copied


# ---------------------------------------------------------------------- Codex

CODEX_EXIT = re.compile(r"Process exited with code (-?\d+)")
CODEX_WALL = re.compile(r"Wall time: ([0-9.]+) seconds")
# Harness messages that stand in for an exit code.
CODEX_HARNESS_FAIL = re.compile(
    r"^(apply_patch verification failed|exec command rejected by user|"
    r"patch rejected by user|.*rejected by user)",
    re.IGNORECASE,
)


def _codex_output(raw):
    """(result text, exit code, duration ms, flag) of a Codex tool output string."""
    if not isinstance(raw, str):
        raw = json.dumps(raw)
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("metadata"), dict):
        meta = parsed["metadata"]
        code = meta.get("exit_code")
        secs = meta.get("duration_seconds")
        ms = round(secs * 1000) if isinstance(secs, (int, float)) else None
        text = str(parsed.get("output", ""))
        flag = f"exit code {code}" if isinstance(code, int) and code != 0 else ""
        return text, code, ms, flag
    m = CODEX_EXIT.search(raw[:500])
    if m:
        code = int(m.group(1))
        w = CODEX_WALL.search(raw[:500])
        ms = round(float(w.group(1)) * 1000) if w else None
        body = raw.split("\nOutput:\n", 1)
        text = body[1] if len(body) == 2 else raw
        flag = f"exit code {code}" if code != 0 else ""
        return text, code, ms, flag
    h = CODEX_HARNESS_FAIL.match(raw)
    if h:
        return raw, None, None, h.group(1)
    return raw, None, None, ""


def read_codex_file(root, path, reading):
    rel = str(path.relative_to(root))
    source = "/".join(path.relative_to(root).parts[:2])
    session_id = None
    calls = {}
    order = []
    outputs = {}
    for obj in _json_lines(path, reading, rel):
        if not isinstance(obj, dict):
            continue
        payload = obj.get("payload")
        if not isinstance(payload, dict):
            continue
        if obj.get("type") == "session_meta":
            session_id = session_id or payload.get("id")
            continue
        if obj.get("type") != "response_item":
            continue
        kind = payload.get("type")
        cid = payload.get("call_id")
        if kind in ("function_call", "custom_tool_call", "local_shell_call") and cid:
            if cid in calls:
                continue
            if kind == "function_call":
                raw = payload.get("arguments")
                try:
                    args = json.loads(raw) if isinstance(raw, str) else raw
                except json.JSONDecodeError:
                    args = raw
            elif kind == "custom_tool_call":
                args = payload.get("input")
            else:
                args = payload.get("action")
            calls[cid] = Call(
                source=source,
                file=rel,
                run="",
                call_id=str(cid),
                tool=str(payload.get("name") or kind),
                flagged=False,
                flag="",
                input=args,
                result="",
            )
            order.append(cid)
        elif kind in ("function_call_output", "custom_tool_call_output") and cid:
            outputs.setdefault(cid, payload.get("output"))
    if not session_id:
        reading.skipped.append((rel, "no session_meta id"))
        return
    run_id = f"codex:{session_id}"
    run = Run(source=source, file=rel, run=run_id)
    for ordinal, cid in enumerate(order):
        call = calls[cid]
        call.run = run_id
        call.ordinal = ordinal
        if cid in outputs:
            text, code, ms, flag = _codex_output(outputs[cid])
            call.result, call.exit_code, call.duration_ms = text, code, ms
            call.flagged, call.flag = bool(flag), flag
        else:
            call.flag = "no output recorded"
        run.calls += 1
        run.flagged += call.flagged
        reading.calls.append(call)
    reading.runs.append(run)


# ----------------------------------------------------------------- Gemini CLI


def _gemini_result(tc):
    parts = []
    for item in tc.get("result") or []:
        if not isinstance(item, dict):
            continue
        resp = (item.get("functionResponse") or {}).get("response")
        if isinstance(resp, dict):
            for key in ("output", "error"):
                if key in resp and resp[key] not in (None, ""):
                    parts.append(str(resp[key]))
        elif resp is not None:
            parts.append(str(resp))
    if not parts and tc.get("resultDisplay"):
        parts.append(str(tc["resultDisplay"]))
    return "\n".join(parts)


def read_gemini_file(root, path, reading):
    rel = str(path.relative_to(root))
    source = "/".join(path.relative_to(root).parts[:2])
    try:
        with open(path, encoding="utf-8") as f:
            chat = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError):
        reading.skipped.append((rel, "malformed JSON"))
        return
    if not isinstance(chat, dict) or not chat.get("sessionId"):
        reading.skipped.append((rel, "no sessionId"))
        return
    messages = [m for m in chat.get("messages") or [] if isinstance(m, dict)]
    if not any(m.get("type") in ("user", "gemini") for m in messages):
        reading.skipped.append((rel, "no user or model message: not a session"))
        return
    run_id = f"gemini-cli:{chat['sessionId']}"
    model_turn = any(m.get("type") == "gemini" for m in messages)
    run = Run(source=source, file=rel, run=run_id, model_turn=model_turn)
    seen = set()
    for m in messages:
        for tc in m.get("toolCalls") or []:
            if not isinstance(tc, dict) or not tc.get("id") or tc["id"] in seen:
                continue
            seen.add(tc["id"])
            status = str(tc.get("status", ""))
            call = Call(
                source=source,
                file=rel,
                run=run_id,
                call_id=str(tc["id"]),
                tool=str(tc.get("name", "")),
                flagged=status != "success",
                flag=f"status {status}" if status != "success" else "",
                input=tc.get("args"),
                result=_gemini_result(tc),
                interrupted=status == "cancelled",
                ordinal=run.calls,
            )
            run.calls += 1
            run.flagged += call.flagged
            reading.calls.append(call)
    reading.runs.append(run)


# ------------------------------------------------------------------ SWE-agent

MINI_RC = re.compile(r"^\s*<returncode>(-?\d+)</returncode>")
MINI_BLOCK = re.compile(r"```bash\s*\n(.*?)\n```", re.S)
MINI_TIMEOUT = re.compile(r"^The last command <command>.*?</command> timed out", re.S)
MINI_FORMAT_ERROR = re.compile(r"^Please always provide EXACTLY ONE action")


def swe_stem(path):
    name = path.name
    for suffix in (".traj.json", ".traj"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _mini_output(text):
    """The command output of a mini-swe-agent observation, without the wrappers."""
    for tag in ("output", "output_head"):
        m = re.search(rf"<{tag}>\n?(.*?)</{tag}>", text, re.S)
        if m:
            body = m.group(1)
            if tag == "output_head":
                tail = re.search(r"<output_tail>\n?(.*?)</output_tail>", text, re.S)
                if tail:
                    body += "\n[...]\n" + tail.group(1)
            return body
    return text


def read_swe_file(root, path, reading):
    rel = str(path.relative_to(root))
    source = "/".join(path.relative_to(root).parts[:2])
    try:
        with open(path, encoding="utf-8") as f:
            traj = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError):
        reading.skipped.append((rel, "malformed JSON"))
        return
    if not isinstance(traj, dict):
        reading.skipped.append((rel, "not a trajectory object"))
        return
    stem = swe_stem(path)
    run_id = f"swe-agent:{traj.get('instance_id') or stem}"
    run = Run(source=source, file=rel, run=run_id)

    def add(action, observation, flagged, flag, code, ms=None):
        call = Call(
            source=source,
            file=rel,
            run=run_id,
            call_id=f"{stem}#{run.calls}",
            tool="bash",
            flagged=flagged,
            flag=flag,
            input={"command": action},
            result=observation,
            exit_code=code,
            duration_ms=ms,
            ordinal=run.calls,
        )
        run.calls += 1
        run.flagged += flagged
        reading.calls.append(call)

    if isinstance(traj.get("messages"), list):  # mini-swe-agent
        msgs = [m for m in traj["messages"] if isinstance(m, dict)]
        for i, m in enumerate(msgs):
            if m.get("role") != "assistant":
                continue
            blocks = MINI_BLOCK.findall(str(m.get("content", "")))
            if len(blocks) != 1:
                continue  # the harness refuses it: no command ran
            nxt = msgs[i + 1] if i + 1 < len(msgs) else None
            obs = str(nxt.get("content", "")) if nxt and nxt.get("role") == "user" else ""
            if MINI_FORMAT_ERROR.match(obs):
                continue
            rc = MINI_RC.match(obs)
            if rc:
                code = int(rc.group(1))
                add(blocks[0], _mini_output(obs), code != 0, f"returncode {code}" if code else "", code)
            elif MINI_TIMEOUT.match(obs):
                add(blocks[0], obs, True, "timed out and killed", None)
            else:
                # The final submission: its output is the diff, with no return code.
                add(blocks[0], obs, False, "", None)
    elif isinstance(traj.get("trajectory"), list):  # SWE-agent
        for step in traj["trajectory"]:
            if not isinstance(step, dict):
                continue
            secs = step.get("execution_time")
            ms = round(secs * 1000) if isinstance(secs, (int, float)) else None
            # This format records no return code: nothing is flagged by the source.
            add(str(step.get("action", "")), str(step.get("observation", "")), False, "", None, ms)
    else:
        reading.skipped.append((rel, "neither messages nor trajectory"))
        return
    reading.runs.append(run)


# ------------------------------------------------------------------- the tree


def read_traces(root):
    """Read every transcript under `root` (the agent-traces folder)."""
    root = Path(root)
    reading = Reading()
    for fmt in sorted(FORMATS):
        fmt_dir = root / fmt
        if not fmt_dir.is_dir():
            continue
        for source_dir in sorted(p for p in fmt_dir.iterdir() if p.is_dir()):
            if fmt == "claude-code":
                read_claude_source(root, source_dir, reading)
            elif fmt == "codex":
                for p in sorted(source_dir.rglob("rollout-*.jsonl")):
                    read_codex_file(root, p, reading)
            elif fmt == "gemini-cli":
                for p in sorted(source_dir.rglob("session-*.json")):
                    read_gemini_file(root, p, reading)
            elif fmt == "swe-agent":
                files = sorted(
                    p for p in source_dir.rglob("*") if p.name.endswith((".traj", ".traj.json"))
                )
                for p in files:
                    read_swe_file(root, p, reading)
    return reading


def counts_by_source(reading):
    """{source: {runs, calls, flagged}}, sources in order."""
    out = {}
    for run in reading.runs:
        c = out.setdefault(run.source, {"runs": 0, "calls": 0, "flagged": 0})
        c["runs"] += 1
        c["calls"] += run.calls
        c["flagged"] += run.flagged
    return out


def counts_by_format(by_source):
    out = {}
    for source, c in by_source.items():
        f = out.setdefault(source.split("/", 1)[0], {"sources": 0, "runs": 0, "calls": 0, "flagged": 0})
        f["sources"] += 1
        for k in ("runs", "calls", "flagged"):
            f[k] += c[k]
    return out


def readme_table(root):
    """The README's table: {format folder: {sources, runs, calls, flagged}}; {} if absent."""
    path = Path(root) / "README.md"
    if not path.is_file():
        return {}
    rows = {}
    row = re.compile(r"^\|\s*`([\w-]+)/`\s*\|.*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*$")
    for line in path.read_text(encoding="utf-8").splitlines():
        m = row.match(line)
        if m:
            rows[m.group(1)] = {
                "sources": int(m.group(2)),
                "runs": int(m.group(3)),
                "calls": int(m.group(4)),
                "flagged": int(m.group(5)),
            }
    return rows


def explain_difference(fmt, reading, mine, readme):
    """Why this reading's counts for a format folder differ from the README's (from the data)."""
    runs = [r for r in reading.runs if r.source.startswith(fmt + "/")]
    calls = [c for c in reading.calls if c.source.startswith(fmt + "/")]
    why = []
    no_model = sum(1 for r in runs if not r.model_turn)
    if no_model and mine["runs"] != readme["runs"]:
        why.append(f"{no_model} run(s) here have a user message but no model turn")
    copied = sum(n for s, n in reading.copied_calls.items() if s.startswith(fmt + "/"))
    if copied and mine["calls"] != readme["calls"]:
        why.append(
            f"{copied} call(s) copied into a forked subagent from its parent (same line uuids) "
            "are counted once here, in the parent"
        )
    if fmt == "swe-agent":
        kinds = {}
        for c in calls:
            if c.exit_code is not None:
                key = "with a return code"
            elif c.flag:
                key = "killed by the harness's timeout (flagged)"
            elif "mini" in c.source:
                key = "final submission (no return code)"
            else:
                key = "SWE-agent steps (no return code recorded, never flagged)"
            kinds[key] = kinds.get(key, 0) + 1
        why.append("calls here: " + ", ".join(f"{n} {k}" for k, n in kinds.items()))
    return "; ".join(why)


def _shorten(value, limit):
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if limit and len(text) > limit:
        return text[: limit // 2] + f"\n[... {len(text) - limit} chars ...]\n" + text[-limit // 2 :]
    return text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--traces", type=Path, default=DEFAULT_TRACES)
    ap.add_argument("--json", action="store_true", help="counts and every call as JSON")
    ap.add_argument("--flagged", action="store_true", help="print every flagged call to read")
    ap.add_argument("--max-chars", type=int, default=4000, help="result length shown by --flagged (0: all)")
    args = ap.parse_args(argv)

    if not args.traces.is_dir():
        print(f"traces folder {args.traces} is absent: nothing read")
        return 0
    reading = read_traces(args.traces)
    by_source = counts_by_source(reading)
    by_format = counts_by_format(by_source)
    readme = readme_table(args.traces)

    if args.json:
        json.dump(
            {
                "sources": by_source,
                "formats": by_format,
                "readme": readme,
                "copied_calls": reading.copied_calls,
                "skipped": [{"file": f, "why": w} for f, w in reading.skipped],
                "calls": [asdict(c) for c in reading.calls],
            },
            sys.stdout,
            ensure_ascii=False,
        )
        print()
        return 0

    if args.flagged:
        for c in reading.calls:
            if not c.flagged:
                continue
            print("=" * 100)
            print(f"{c.source} | {c.run} | {c.call_id} | {c.tool} | {c.flag} | exit={c.exit_code}"
                  f" interrupted={c.interrupted}")
            print(f"file: {c.file}  ordinal: {c.ordinal}")
            print("--- input")
            print(_shorten(c.input, args.max_chars))
            print("--- result")
            print(_shorten(c.result, args.max_chars))
        return 0

    print(f"{'source':60} {'runs':>5} {'calls':>6} {'flagged':>7}")
    for source, c in by_source.items():
        print(f"{source:60} {c['runs']:>5} {c['calls']:>6} {c['flagged']:>7}")
    print()
    print(f"{'format':14} {'sources':>7} {'runs':>5} {'calls':>6} {'flagged':>7}   README: sources runs calls failed")
    for fmt, c in by_format.items():
        r = readme.get(fmt)
        ref = f"{r['sources']:>7} {r['runs']:>5} {r['calls']:>6} {r['flagged']:>7}" if r else "(no row)"
        same = r is not None and all(c[k] == r[k] for k in ("sources", "runs", "calls", "flagged"))
        print(f"{fmt:14} {c['sources']:>7} {c['runs']:>5} {c['calls']:>6} {c['flagged']:>7}   {ref}"
              f"{'' if same else '   differs'}")
        if not same:
            why = explain_difference(fmt, reading, c, r) if r else "no README row"
            print(f"{'':14} here: {why or 'no known reason'}")
    copied = sum(reading.copied_calls.values())
    if copied:
        print(f"\ncopies of another run's calls, not counted: {copied}")
    if reading.skipped:
        print(f"files or lines not read as sessions: {len(reading.skipped)}")
        for f, why in reading.skipped:
            print(f"  {f}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
