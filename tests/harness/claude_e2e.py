#!/usr/bin/env python3
"""End-to-end healing of a real Claude Code, offline, against a scripted model.

Python 3 standard library only. A real Claude Code (``claude -p``) runs in a throw-away HOME
against ``standin_anthropic.py``; the scripted model runs ``pytest -q`` (not installed: exit
127) and then ``python3 -m unittest -q``, unless the lesson is in its instructions (the marker
``python3 -m unittest`` in the system blocks or the first user message), when it skips
``pytest -q``. The scenario (full mode, needs ``--cli``):

  a. ``self-heal --db DB install claude-code --project PROJECT --yes`` writes the project's
     hooks (``self-heal --db DB hook`` for seven events); a second run changes no byte
  b. 6 sessions: each fails ``pytest -q`` once, then passes with ``python3 -m unittest -q``
  c. ``import`` of the transcripts adds nothing to what the hook recorded; ``detect`` finds
     ``dependency_failure:Bash:pytest``
  d. ``propose`` gives a lesson about pytest and ``python3 -m unittest`` for
     ``.claude/rules/self-healing.md``
  e. ``test``, then ``apply`` writes that rules file
  f. 6 sessions: the lesson is in every request, the model skips ``pytest -q``
  g. ``import``, ``verify --window-days 1``: verified
  h. 1 session with a model that ignores lessons: the hook's additionalContext (with the
     marker) reaches the request after the failing call
  i. ``rollback`` restores every byte under PROJECT/.claude (and PROJECT/.mcp.json)

``--standin-only`` runs b, f, h without ``self-heal``: it hand-writes the project's
``.claude/settings.json`` (a small Python hook that records its input and answers
additionalContext once a lesson exists) and the rules file, and checks what Claude Code sends
and records, so the harness itself is checked without the CLI.

Each check prints one line (``PASS name`` / ``FAIL name: detail``); the run ends with
``N passed, M failed`` and exits 1 when anything failed. The work directory keeps the
stand-in's record (``requests.jsonl``), each session's stdout/stderr (``sessions/``), the
hook's log and, in stand-in mode, the hook inputs (``hook-events.jsonl``); a temporary work
directory is removed after a clean run unless ``--keep``.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests" / "clients"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from e2e import Abort, Checks, distinctive_phrase, finish, note, short, work_directory  # noqa: E402,F401
import standin_anthropic as standin  # noqa: E402

PROMPT = "run the tests"
FAILING = "pytest -q"
PASSING = "python3 -m unittest -q"
MARKER = "python3 -m unittest"
PATTERN_ID = "dependency_failure:Bash:pytest"
FINAL_TEXT = "done"
RULES_REL = Path(".claude/rules/self-healing.md")
HOOK_EVENTS = [
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "Stop",
    "SessionEnd",
]
TOOL_EVENTS = {"PreToolUse", "PostToolUse", "PostToolUseFailure"}
PRE_CONTEXT = "PreToolUse:Bash hook additional context"
POST_FAILURE_CONTEXT = "PostToolUseFailure:Bash hook additional context"

SCRIPT_LEARNING = {
    "steps": [{"bash": FAILING}, {"bash": PASSING}],
    "follow_lessons": {"marker": MARKER, "skip": [FAILING]},
    "final_text": FINAL_TEXT,
}
SCRIPT_STUBBORN = dict(SCRIPT_LEARNING, follow_lessons=None)

TEST_OK = '''import unittest


class OkTest(unittest.TestCase):
    def test_ok(self):
        self.assertEqual(1 + 1, 2)


if __name__ == "__main__":
    unittest.main()
'''

# --standin-only: what stands in for `self-heal apply` and for the hook's answer.
STANDIN_RULES = """# Lessons learned in this project (self-heal)

<!-- hand-written by tests/harness/claude_e2e.py --standin-only, standing in for self-heal apply -->

- `pytest -q` fails here with exit 127 because pytest is not installed: run the tests with `python3 -m unittest -q` instead.
"""
STANDIN_HOOK_CONTEXT = (
    f"self-heal lesson ({PATTERN_ID}): pytest is not installed in this project; "
    f"run the tests with `{PASSING}` instead."
)
STANDIN_HOOK = '''#!/usr/bin/env python3
"""Stand-in project hook for claude_e2e.py --standin-only: records the event it gets on stdin
and, once the lesson exists (the rules file), answers additionalContext before and after a
failed pytest call."""
import json, os, sys

EVENTS = {events!r}
RULES = {rules!r}
CONTEXT = {context!r}

raw = sys.stdin.read()
try:
    event = json.loads(raw)
except ValueError:
    event = {{"unparsed": raw}}
event["_env_CLAUDE_PROJECT_DIR"] = os.environ.get("CLAUDE_PROJECT_DIR")
with open(EVENTS, "a", encoding="utf-8") as f:
    f.write(json.dumps(event) + "\\n")
name = event.get("hook_event_name")
command = str((event.get("tool_input") or {{}}).get("command", ""))
if name in ("PreToolUse", "PostToolUseFailure") and command.split()[:1] == ["pytest"] \\
        and os.path.exists(RULES):
    print(json.dumps({{"hookSpecificOutput": {{"hookEventName": name, "additionalContext": CONTEXT}}}}))
'''


def project_dir_name(path):
    """Claude Code's transcript folder for a working directory: every character that is not
    an ASCII letter or digit becomes '-' (checked: /tmp/x/my_proj.v2 -> -tmp-x-my-proj-v2)."""
    return re.sub(r"[^A-Za-z0-9]", "-", str(path))


def snapshot(project):
    """Bytes of every file under PROJECT/.claude and of PROJECT/.mcp.json, by relative path."""
    out = {}
    claude_dir = project / ".claude"
    if claude_dir.is_dir():
        for p in sorted(claude_dir.rglob("*")):
            if p.is_file():
                out[str(p.relative_to(project))] = p.read_bytes()
    mcp = project / ".mcp.json"
    if mcp.is_file():
        out[".mcp.json"] = mcp.read_bytes()
    return out


def message_texts(body):
    """(index, role, text) of each message of a request."""
    out = []
    for i, m in enumerate(body.get("messages") or []):
        if isinstance(m, dict):
            out.append((i, m.get("role"), standin._text_of(m.get("content"))))
    return out


def system_text(body):
    system = body.get("system")
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "\n".join(str(b.get("text", "")) for b in system if isinstance(b, dict))
    return ""


def first_user_text(body):
    for _, role, text in message_texts(body):
        if role == "user":
            return text
    return ""


class Session:
    """One `claude -p` run and what it left behind."""

    def __init__(self, label):
        self.label = label
        self.rc = None
        self.timed_out = False
        self.seconds = 0.0
        self.result = None  # claude's --output-format json answer
        self.session_id = None
        self.records = []  # the stand-in's records of this session
        self.transcript = None
        self.calls = []  # [{"id", "command", "is_error", "content"}] from the transcript
        self.problem = None

    @property
    def bash_requests(self):
        return [
            r for r in self.records if (r.get("reply") or {}).get("kind") in ("tool_use", "text")
            and not r["reply"].get("side")
        ]

    @property
    def commands(self):
        return [
            r["reply"]["label"] for r in self.bash_requests if r["reply"].get("kind") == "tool_use"
        ]

    def ok(self):
        return (
            self.rc == 0
            and not self.timed_out
            and isinstance(self.result, dict)
            and self.result.get("is_error") is False
            and self.result.get("result") == FINAL_TEXT
        )

    def describe(self):
        return (
            f"{self.label}: rc={self.rc} timed_out={self.timed_out} "
            f"result={short(self.result, 200)} problem={self.problem}"
        )


def read_transcript_calls(path):
    uses, results = {}, {}
    order = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            message = entry.get("message")
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, list):
                continue
            for block in content:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "tool_use":
                    uses[block.get("id")] = block
                    order.append(block.get("id"))
                elif block.get("type") == "tool_result":
                    results[block.get("tool_use_id")] = block
    calls = []
    for use_id in order:
        use, res = uses[use_id], results.get(use_id) or {}
        calls.append(
            {
                "id": use_id,
                "tool": use.get("name"),
                "command": (use.get("input") or {}).get("command"),
                "is_error": res.get("is_error"),
                "content": standin._text_of(res.get("content", "")),
                "has_result": bool(res),
            }
        )
    return calls


class Harness:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.home = work / "home"
        self.project = work / "project"
        self.db = work / "selfheal.db"
        self.record = work / "requests.jsonl"
        self.sessions_dir = work / "sessions"
        self.hook_log = work / "hook.log"
        self.hook_events = work / "hook-events.jsonl"
        for d in (self.home, self.project, self.sessions_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.project = self.project.resolve()
        (self.project / "test_ok.py").write_text(TEST_OK, encoding="utf-8")
        self.transcripts = self.home / ".claude" / "projects" / project_dir_name(self.project)
        self.count = 0
        self.env = self._env()
        self.server = standin.StandIn(SCRIPT_LEARNING, str(self.record))

    def _env(self):
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ANTHROPIC_", "CLAUDE", "OTEL_", "XDG_", "SELFHEAL_"))
            and k not in ("DATABASE_PATH", "INBOX_PATH", "PYTHONPATH")
        }
        path = env.get("PATH", os.defpath)
        if shutil.which("pytest", path=path):
            # The scenario needs `pytest` to be missing (exit 127): drop PATH entries that hold
            # it, as long as python3 stays reachable.
            kept = [d for d in path.split(os.pathsep) if not (Path(d) / "pytest").exists()]
            path = os.pathsep.join(kept)
            if shutil.which("pytest", path=path) or not shutil.which("python3", path=path):
                raise SystemExit(
                    "pytest is installed next to python3 on PATH; this scenario needs "
                    "`pytest` to be missing (exit 127). Run it where pytest is not installed."
                )
            note(f"PATH without the folders holding pytest: {path}")
        env.update(
            PATH=path,
            HOME=str(self.home),
            ANTHROPIC_API_KEY="dummy",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            DISABLE_AUTOUPDATER="1",
            SELFHEAL_HOOK_LOG=str(self.hook_log),
            PYTHONDONTWRITEBYTECODE="1",
        )
        return env

    def close(self):
        self.server.close()

    # --- sessions ---------------------------------------------------------------------------

    def run_session(self, label, script):
        self.server.set_script(script)
        self.count += 1
        s = Session(f"{self.count:02d}-{label}")
        start = len(standin.read_records(self.record))
        env = dict(self.env, ANTHROPIC_BASE_URL=self.server.base_url)
        cmd = [self.args.claude, "-p", PROMPT, "--output-format", "json", "--allowedTools", "Bash"]
        out_path = self.sessions_dir / f"{s.label}.stdout"
        err_path = self.sessions_dir / f"{s.label}.stderr"
        t0 = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                cmd,
                cwd=self.project,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            try:
                s.rc = proc.wait(timeout=self.args.session_timeout)
            except subprocess.TimeoutExpired:
                s.timed_out = True
                _kill_group(proc.pid)
                s.rc = proc.wait()
            finally:
                _kill_group(proc.pid)  # stragglers of this session only (hooks, MCP servers)
        s.seconds = time.monotonic() - t0
        s.records = standin.read_records(self.record, start)
        try:
            s.result = json.loads(out_path.read_text(encoding="utf-8"))
            s.session_id = s.result.get("session_id")
        except (ValueError, OSError) as e:
            s.problem = f"stdout is not JSON ({e}); see {out_path} and {err_path}"
        if s.session_id:
            s.transcript = self.transcripts / f"{s.session_id}.jsonl"
            if s.transcript.is_file():
                s.calls = read_transcript_calls(s.transcript)
            else:
                found = list((self.home / ".claude" / "projects").glob(f"*/{s.session_id}.jsonl"))
                s.problem = f"no transcript at {s.transcript}" + (
                    f" (found {found[0]})" if found else ""
                )
        return s

    def run_sessions(self, label, script, n):
        sessions = [self.run_session(label, script) for _ in range(n)]
        times = [s.seconds for s in sessions]
        note(
            f"{label}: {n} session(s), {min(times):.1f}-{max(times):.1f} s each "
            f"({sum(times):.1f} s in all)"
        )
        return sessions

    # --- self-heal ---------------------------------------------------------------------------

    def cli(self, *args, json_out=True, timeout=300):
        cmd = [self.args.cli, "--db", str(self.db)] + (["--json"] if json_out else []) + list(args)
        p = subprocess.run(
            cmd, env=self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )
        view = None
        if json_out and p.returncode == 0:
            try:
                view = json.loads(p.stdout)
            except ValueError:
                view = None
        return p, view


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# --- checks shared by both modes ------------------------------------------------------------


def check_sessions_ran(c, h, phase, sessions):
    bad = [s.describe() for s in sessions if not s.ok()]
    c.require(f"{phase}: {len(sessions)} claude -p session(s) exited 0 with the result {FINAL_TEXT!r}", not bad, "; ".join(bad))
    bad = [f"{s.label}: {s.problem}" for s in sessions if s.problem]
    c.require(
        f"{phase}: each session's transcript is HOME/.claude/projects/{h.transcripts.name}/<session_id>.jsonl",
        not bad,
        "; ".join(bad),
    )


def check_commands(c, phase, sessions, expected):
    bad = [f"{s.label}: {s.commands}" for s in sessions if s.commands != expected]
    c.ok(f"{phase}: the model asked for {expected} in every session", not bad, "; ".join(bad))
    bad = [
        f"{s.label}: {[(x['command'], x['is_error']) for x in s.calls]}"
        for s in sessions
        if [x["command"] for x in s.calls] != expected or not all(x["has_result"] for x in s.calls)
    ]
    c.ok(f"{phase}: every transcript records exactly those Bash calls with their results", not bad, "; ".join(bad))


def check_failed_pytest(c, phase, sessions):
    bad = []
    for s in sessions:
        for x in s.calls:
            if x["command"] == FAILING and not (
                x["is_error"] is True and x["content"].startswith("Exit code 127")
            ):
                bad.append(f"{s.label}: is_error={x['is_error']} content={short(x['content'], 160)}")
            if x["command"] == PASSING and x["is_error"] is not False:
                bad.append(f"{s.label}: {PASSING} is_error={x['is_error']} {short(x['content'], 160)}")
    c.ok(
        f"{phase}: `{FAILING}` is a failed Bash call in the transcripts (is_error true, 'Exit code 127'), "
        f"`{PASSING}` a successful one",
        not bad,
        "; ".join(bad),
    )


def check_no_lesson(c, phase, sessions):
    bad = [
        s.label
        for s in sessions
        for r in s.bash_requests
        if MARKER in standin.instruction_context(r["body"])
    ]
    c.ok(f"{phase}: no request carries the lesson marker {MARKER!r} in its instructions", not bad, ", ".join(bad))


def check_lesson_in_requests(c, phase, sessions, phrase):
    bad = []
    for s in sessions:
        if not s.bash_requests:
            bad.append(f"{s.label}: no request offering Bash")
        for r in s.bash_requests:
            ctx = standin.instruction_context(r["body"])
            if MARKER not in ctx or phrase not in ctx:
                bad.append(f"{s.label} step {r['reply'].get('step')}")
    c.ok(
        f"{phase}: every request of every session carries the marker {MARKER!r} and the lesson's "
        f"phrase {short(phrase, 80)!r} in its instructions",
        not bad,
        "; ".join(bad),
    )
    # Where: the first user message (a <system-reminder> with the rules files), not `system`.
    where = []
    for s in sessions:
        for r in s.bash_requests:
            body = r["body"]
            in_first_user = phrase in first_user_text(body)
            in_system = phrase in system_text(body)
            where.append((in_first_user, in_system))
    c.ok(
        f"{phase}: the rules file's text is in the first user message (<system-reminder> "
        f"'Contents of {RULES_REL} ...'), not in `system`",
        where and all(u and not sy for u, sy in where),
        f"(in first user message, in system) per request: {sorted(set(where))}",
    )
    ctx_paths = {
        bool(re.search(r"Contents of .*" + re.escape(str(RULES_REL)), first_user_text(r["body"])))
        for s in sessions
        for r in s.bash_requests
    }
    c.ok(
        f"{phase}: the first user message names the file ('Contents of <project>/{RULES_REL}')",
        ctx_paths == {True},
    )


def check_hook_context(c, phase, session):
    """The request after the failing call carries a hook's additionalContext with the marker."""
    after = [r for r in session.bash_requests if r["reply"].get("step") == 1]
    if not after:
        c.ok(f"{phase}: a request followed the failing call", False, session.describe())
        return None
    texts = [t for _, role, t in message_texts(after[0]["body"]) if PRE_CONTEXT in t or POST_FAILURE_CONTEXT in t]
    found = [t for t in texts if MARKER in t]
    c.ok(
        f"{phase}: the request after the failing call carries "
        f"'{PRE_CONTEXT}: ...' or '{POST_FAILURE_CONTEXT}: ...' with the marker {MARKER!r}",
        bool(found),
        f"hook context messages: {short(texts, 400)}",
    )
    roles = {
        role
        for _, role, t in message_texts(after[0]["body"])
        if PRE_CONTEXT in t or POST_FAILURE_CONTEXT in t
    }
    note(f"hook additionalContext arrives as messages[] entries with role(s) {sorted(roles)}")
    return found


# --- the two modes ----------------------------------------------------------------------------


def write_standin_settings(h):
    hook_py = h.work / "hook.py"
    hook_py.write_text(
        STANDIN_HOOK.format(
            events=str(h.hook_events),
            rules=str(h.project / RULES_REL),
            context=STANDIN_HOOK_CONTEXT,
        ),
        encoding="utf-8",
    )
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(hook_py))}"
    hooks = {}
    for event in HOOK_EVENTS:
        entry = {"hooks": [{"type": "command", "command": command}]}
        if event in TOOL_EVENTS:
            entry = {"matcher": "Bash", **entry}
        hooks[event] = [entry]
    settings = h.project / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"hooks": hooks}, indent=2) + "\n", encoding="utf-8")


def check_standin_hook_inputs(c, h, sessions, phase):
    events = standin.read_records(h.hook_events)
    by_session = {}
    for e in events:
        by_session.setdefault(e.get("session_id"), []).append(e)
    bad = []
    for s in sessions:
        names = [e.get("hook_event_name") for e in by_session.get(s.session_id, [])]
        want = {"SessionStart", "UserPromptSubmit", "PreToolUse", "Stop", "SessionEnd"}
        if FAILING in s.commands:
            want |= {"PostToolUseFailure"}
        if PASSING in s.commands:
            want |= {"PostToolUse"}
        if not want <= set(names) or names.count("PreToolUse") != len(s.commands):
            bad.append(f"{s.label}: {names}")
    c.ok(f"{phase}: the project hook ran in -p mode for every event of every session", not bad, "; ".join(bad))
    mine = [e for s in sessions for e in by_session.get(s.session_id, [])]
    common = {"session_id", "transcript_path", "cwd", "hook_event_name"}
    tool = common | {"tool_name", "tool_input", "tool_use_id"}
    bad = []
    for e in mine:
        name = e.get("hook_event_name")
        need = tool if name in TOOL_EVENTS else common
        if name == "PostToolUse":
            need = need | {"tool_response"}
        if name == "PostToolUseFailure":
            need = need | {"error"}
            if not str(e.get("error", "")).startswith("Exit code 127"):
                bad.append(f"PostToolUseFailure error={short(e.get('error'), 100)}")
        if name == "UserPromptSubmit" and e.get("prompt") != PROMPT:
            bad.append(f"UserPromptSubmit prompt={e.get('prompt')!r}")
        if not need <= set(e):
            bad.append(f"{name} lacks {sorted(need - set(e))}")
        if e.get("transcript_path") and Path(e["transcript_path"]).parent != h.transcripts:
            bad.append(f"{name} transcript_path={e['transcript_path']}")
        if e.get("_env_CLAUDE_PROJECT_DIR") != str(h.project):
            bad.append(f"{name} CLAUDE_PROJECT_DIR={e.get('_env_CLAUDE_PROJECT_DIR')}")
    c.ok(
        f"{phase}: hook inputs carry session_id, transcript_path, cwd, hook_event_name (+ tool_name, "
        "tool_input, tool_use_id; PostToolUse tool_response; PostToolUseFailure error 'Exit code 127...')",
        mine and not bad,
        "; ".join(sorted(set(bad))[:8]),
    )


def run_standin_only(c, h):
    write_standin_settings(h)
    note(f"hand-written {h.project / '.claude/settings.json'} (hook: {h.work / 'hook.py'})")

    b = h.run_sessions("b-learning", SCRIPT_LEARNING, h.args.sessions)
    check_sessions_ran(c, h, "b", b)
    check_commands(c, "b", b, [FAILING, PASSING])
    check_failed_pytest(c, "b", b)
    check_no_lesson(c, "b", b)
    check_standin_hook_inputs(c, h, b, "b")

    before = snapshot(h.project)
    rules = h.project / RULES_REL
    rules_existed = rules.exists()
    rules.parent.mkdir(parents=True, exist_ok=True)
    rules.write_text(STANDIN_RULES, encoding="utf-8")
    note(f"hand-written {rules} (standing in for self-heal apply)")
    phrase = distinctive_phrase(STANDIN_RULES)

    f = h.run_sessions("f-healed", SCRIPT_LEARNING, h.args.sessions)
    check_sessions_ran(c, h, "f", f)
    check_lesson_in_requests(c, "f", f, phrase)
    check_commands(c, "f", f, [PASSING])
    check_failed_pytest(c, "f", f)
    check_standin_hook_inputs(c, h, f, "f")

    (s,) = h.run_sessions("h-stubborn", SCRIPT_STUBBORN, 1)
    check_sessions_ran(c, h, "h", [s])
    check_commands(c, "h", [s], [FAILING, PASSING])
    found = check_hook_context(c, "h", s)
    if found:
        c.ok(
            "h: both the PreToolUse and the PostToolUseFailure answers reach the model, joined in one message",
            any(PRE_CONTEXT in t and POST_FAILURE_CONTEXT in t for t in found),
            short(found, 400),
        )

    # Undo the hand-written lesson: the project is as before, byte for byte.
    if not rules_existed:
        rules.unlink()
        if not any(rules.parent.iterdir()):
            rules.parent.rmdir()
    after = snapshot(h.project)
    c.ok("i: removing the hand-written lesson leaves PROJECT/.claude as before", after == before,
         f"changed: {sorted(set(before) ^ set(after) | {k for k in before if after.get(k) != before[k]})}")


def run_full(c, h):
    cli = h.cli
    settings = h.project / ".claude" / "settings.json"

    # a. install
    p, _ = cli("install", "claude-code", "--project", str(h.project), "--yes", json_out=False)
    c.require("a: self-heal install claude-code exits 0", p.returncode == 0, short(p.stderr or p.stdout))
    c.require("a: it wrote PROJECT/.claude/settings.json", settings.is_file())
    first = settings.read_bytes()
    try:
        hooks = json.loads(first).get("hooks") or {}
    except ValueError as e:
        hooks = {}
        c.ok("a: settings.json is JSON", False, str(e))
    bad = []
    for event in HOOK_EVENTS:
        commands = [
            hk.get("command", "")
            for entry in hooks.get(event) or []
            for hk in entry.get("hooks") or []
            if hk.get("type") == "command"
        ]
        if not any(str(h.db) in cmd and re.search(r"(^|\s)hook(\s|$)", cmd) for cmd in commands):
            bad.append(f"{event}: {commands}")
    c.require(f"a: settings.json runs `self-heal --db DB hook` for {', '.join(HOOK_EVENTS)}", not bad, "; ".join(bad))
    p, _ = cli("install", "claude-code", "--project", str(h.project), "--yes", json_out=False)
    c.ok("a: a second install exits 0 and changes no byte", p.returncode == 0 and settings.read_bytes() == first,
         short(p.stderr) if p.returncode else "settings.json changed")

    # b. sessions that fail pytest then pass with unittest
    b = h.run_sessions("b-learning", SCRIPT_LEARNING, h.args.sessions)
    check_sessions_ran(c, h, "b", b)
    check_commands(c, "b", b, [FAILING, PASSING])
    check_failed_pytest(c, "b", b)
    check_no_lesson(c, "b", b)
    check_hook_log(c, h, "b")

    # c. import is idempotent with the hook's records; detect finds the pattern
    n = len(b)
    recorded = bash_counts(h)
    c.ok(f"c: the hook recorded the {2 * n} Bash calls ({n} failed) of phase b", recorded == (2 * n, n), f"(calls, failed) = {recorded}")
    p, _ = cli("import", str(h.home / ".claude" / "projects"), json_out=False)
    c.require("c: self-heal import HOME/.claude/projects exits 0", p.returncode == 0, short(p.stderr or p.stdout))
    imported = bash_counts(h)
    c.ok("c: the import adds nothing to what the hook recorded", imported == recorded, f"before {recorded}, after {imported}")
    p, view = cli("detect", "--since", "-1d", "--min-occurrences", "2")
    ids = [pt.get("id") for pt in (view or {}).get("patterns", [])]
    c.require(f"c: detect finds {PATTERN_ID}", PATTERN_ID in ids, f"rc={p.returncode} ids={ids} output={short(p.stdout or p.stderr, 3000)}")

    # d. propose: a lesson for the rules file
    p, prop = cli("propose", PATTERN_ID)
    c.require("d: propose exits 0 with JSON", prop is not None, short(p.stderr or p.stdout))
    imp = prop.get("improvement_id")
    c.require("d: the proposal has an improvement_id", isinstance(imp, str) and imp, short(prop))
    lesson = (prop.get("lesson") or {}).get("text")
    lesson_text = "\n".join(lesson) if isinstance(lesson, list) else lesson if isinstance(lesson, str) else ""
    c.ok(f"d: lesson.text mentions pytest and {MARKER!r}", "pytest" in lesson_text and MARKER in lesson_text, short(prop.get("lesson")))
    targets = prop.get("targets") or []
    c.ok(
        f"d: targets include harness claude-code, kind instructions, path .../{RULES_REL}",
        any(
            t.get("harness") == "claude-code"
            and t.get("kind") == "instructions"
            and str(t.get("path", "")).endswith(str(RULES_REL))
            for t in targets
            if isinstance(t, dict)
        ),
        short(targets),
    )

    # e. test, snapshot, apply
    p, tv = cli("test", imp)
    c.require("e: test exits 0 with JSON", tv is not None and tv.get("improvement_id") == imp, short(p.stderr or p.stdout))
    before = snapshot(h.project)
    rules = h.project / RULES_REL
    rules_existed = rules.exists()
    p, av = cli("apply", imp, "--changes", "lesson for pytest", "--yes")
    c.require("e: apply exits 0 with JSON", av is not None, short(p.stderr or p.stdout))
    c.ok("e: the improvement is applied", av.get("status") == "applied", short(av))
    c.require(f"e: PROJECT/{RULES_REL} exists and contains {MARKER!r}", rules.is_file() and MARKER in rules.read_text(encoding="utf-8"),
              rules.read_text(encoding="utf-8")[:500] if rules.is_file() else "missing")
    phrase = distinctive_phrase(rules.read_text(encoding="utf-8"))
    note(f"lesson phrase looked for in the requests: {phrase!r}")

    # f. healed sessions
    f = h.run_sessions("f-healed", SCRIPT_LEARNING, h.args.after_sessions)
    check_sessions_ran(c, h, "f", f)
    check_lesson_in_requests(c, "f", f, phrase)
    check_commands(c, "f", f, [PASSING])
    check_failed_pytest(c, "f", f)
    check_hook_log(c, h, "f")

    # g. import, verify
    p, _ = cli("import", str(h.home / ".claude" / "projects"), json_out=False)
    c.ok("g: import exits 0", p.returncode == 0, short(p.stderr or p.stdout))
    counts = bash_counts(h)
    c.ok(f"g: the Bash calls are {2 * n + len(f)} ({n} failed) after the second import", counts == (2 * n + len(f), n), f"(calls, failed) = {counts}")
    p, vv = cli("verify", imp, "--window-days", "1")
    verdict = (vv or {}).get("verdict", (vv or {}).get("verification_status"))
    c.ok("g: verify --window-days 1 says verified", verdict == "verified", p.stdout if vv is not None else short(p.stderr or p.stdout, 3000))

    # h. a model that ignores lessons: the hook's answer reaches it
    (s,) = h.run_sessions("h-stubborn", SCRIPT_STUBBORN, 1)
    check_sessions_ran(c, h, "h", [s])
    check_commands(c, "h", [s], [FAILING, PASSING])
    check_hook_context(c, "h", s)

    # i. rollback restores every byte
    p, _ = cli("rollback", imp, "--yes", json_out=False)
    c.ok("i: rollback exits 0", p.returncode == 0, short(p.stderr or p.stdout))
    after = snapshot(h.project)
    changed = sorted(k for k in before if after.get(k) != before[k])
    c.ok("i: every file snapshotted before apply is byte-identical again", not changed, f"changed or missing: {changed}")
    if not rules_existed:
        c.ok(f"i: PROJECT/{RULES_REL} is gone again", not rules.exists())
    extra = sorted(set(after) - set(before))
    c.ok("i: no file under PROJECT/.claude is left over from the apply", not extra, f"left: {extra}")


def bash_counts(h):
    """(calls, failed calls) of the Bash tool in the last day, as `self-heal tools` reports."""
    if not h.db.exists():
        return (0, 0)
    p, view = h.cli("tools", "--since", "-1d", "--tool", "Bash")
    if view is None:
        return ("error", short(p.stderr or p.stdout, 300))
    for t in view.get("tools", []):
        if t.get("name") == "Bash":
            return (t.get("total_calls"), t.get("failed_calls"))
    return (0, 0)


def check_hook_log(c, h, phase):
    text = h.hook_log.read_text(encoding="utf-8", errors="replace") if h.hook_log.exists() else ""
    c.ok(f"{phase}: the self-heal hook logged no problem ({h.hook_log.name})", not text.strip(), short(text[-1500:], 1500))


def default_claude():
    return str(REPO / "target" / "harness" / "claude-code" / "node_modules" / ".bin" / "claude")


def default_cli():
    for kind in ("release", "debug"):
        p = REPO / "target" / kind / "self-heal"
        if p.is_file():
            return str(p)
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--claude", default=default_claude(), help="the claude executable (default: %(default)s)")
    ap.add_argument("--cli", default=None, help="the self-heal binary (default: target/release/self-heal, else target/debug/self-heal)")
    ap.add_argument("--work", type=Path, help="work directory (kept); default: a temporary one, removed after a clean run")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    ap.add_argument("--standin-only", action="store_true", help="no self-heal: hand-written hooks and rules file, check sessions b, f, h")
    ap.add_argument("--sessions", type=int, default=15, help="sessions in phase b (default 15: 30 Bash calls, the least verify measures on a side)")
    ap.add_argument("--after-sessions", type=int, default=30, help="sessions in phase f of the full scenario (default 30: one Bash call each)")
    ap.add_argument("--session-timeout", type=float, default=120.0, help="seconds per claude session (default 120)")
    args = ap.parse_args(argv)

    if not (Path(args.claude).is_file() and os.access(args.claude, os.X_OK)):
        print(f"error: no claude at {args.claude}: run tests/harness/install_claude.sh or pass --claude", file=sys.stderr)
        return 2
    if not args.standin_only:
        args.cli = args.cli or default_cli()
        if not args.cli or not Path(args.cli).is_file():
            print("error: no self-heal binary: build it (cargo build -p selfheal-cli) or pass --cli; "
                  "--standin-only runs without it", file=sys.stderr)
            return 2
        args.cli = str(Path(args.cli).resolve())
    args.claude = str(Path(args.claude).resolve())

    work, temporary = work_directory(args.work, "claude-e2e-")
    if work is None:
        return 2

    c = Checks()
    h = None
    try:
        v = subprocess.run([args.claude, "--version"], capture_output=True, text=True, timeout=60,
                           env={"PATH": os.environ.get("PATH", os.defpath), "HOME": str(work)})
        c.require("claude --version answers (offline)", v.returncode == 0 and v.stdout.strip(), short(v.stderr or v.stdout))
        print(f"  .. {args.claude}: {v.stdout.strip()}; work directory {work}", flush=True)
        h = Harness(args, work)
        note(f"stand-in model at {h.server.base_url}, requests recorded in {h.record}")
        if args.standin_only:
            run_standin_only(c, h)
        else:
            run_full(c, h)
    except Abort as e:
        print(f"stopped: a check that later steps need failed ({e})", flush=True)
    finally:
        if h is not None:
            h.close()
    print(f"{c.passed} passed, {c.failed} failed", flush=True)
    return finish(c.failures, work, temporary, args.keep)


if __name__ == "__main__":
    sys.exit(main())
