#!/usr/bin/env python3
"""End-to-end healing of a real Codex CLI, Gemini CLI, OpenCode or Copilot CLI, offline.

Python 3 standard library only. The claude_e2e.py scenario for the harnesses of
``tests/harness/agents/`` (``codex``, ``gemini``, ``opencode``, ``copilot``): the pinned
harness runs in a throw-away HOME against its scripted stand-in; the model runs ``pytest -q``
(not installed: exit 127), then ``python3 -m unittest -q``, unless the lesson is in its
instruction context (the marker ``python3 -m unittest``), when it skips ``pytest -q``.

  a. install the harness (npm, cached), make the HOME and the project, start the stand-in;
     ``self-heal --db DB install <harness> --project P --yes`` writes the project's hooks (or
     OpenCode's plugin); the throw-away HOME trusts the project where the harness asks for
     it (Codex: ``[projects."<P>"] trust_level = "trusted"``; Gemini: trustedFolders.json;
     Copilot: GITHUB_COPILOT_PROMPT_MODE_REPO_HOOKS=true), never hand-written hooks
  b. N sessions: each fails ``pytest -q``, then passes; no lesson marker in any request's
     instruction context, no hook guidance
  c. ``import`` of the harness's records; ``detect`` (SELFHEAL_NOW a bit after the sessions)
     finds ``dependency_failure:<shell tool>:pytest`` with N occurrences
  d. ``propose``: a lesson about pytest and ``python3 -m unittest``, targets naming the
     harness's instruction file (AGENTS.md, GEMINI.md); ``test``
  e. ``apply``: the instruction file holds the managed block
  f. N sessions: the lesson's phrase is in the instruction context of every request; the
     model skips ``pytest -q``; only ``python3 -m unittest -q`` runs
  g. 1 session with a model that ignores lessons: the hook's guidance reaches the model with
     or after the failing call; the hook log has no problem
  h. ``import`` again, ``verify``: its verdict, and the calls it counts before and after
  i. ``rollback``: every file the apply touched is byte-identical to before

Each check prints ``PASS name`` / ``FAIL name: detail``; each phase its time. ``--harness all``
runs the four one after another (each in ``WORK/<harness>``) and sums up. The work directory
keeps ``requests.jsonl`` (the stand-in's record), ``sessions/`` (each run's stdout/stderr),
``home/``, ``project/``, ``selfheal.db`` and ``hook.log``; a temporary one is removed after a
clean run unless ``--keep``.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "agents"))
sys.path.insert(0, str(REPO / "tests" / "clients"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from e2e import Abort, Checks, distinctive_phrase, finish, note, short, work_directory  # noqa: E402,F401
import standin  # noqa: E402
import codex  # noqa: E402
import common  # noqa: E402
import copilot  # noqa: E402
import gemini  # noqa: E402
import opencode  # noqa: E402

MARKER = "python3 -m unittest"
FINAL_TEXT = "done"
HARNESSES = ("codex", "gemini", "opencode", "copilot")


# --- where each harness puts things ------------------------------------------------------------


def _text(content):
    """The text of a message content (a string, or a list of parts with ``text``)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p if isinstance(p, str) else str(p.get("text", "")) for p in content
                         if isinstance(p, (str, dict)))
    return ""


def codex_hook_texts(body):
    """Codex: a hook's additionalContext is a ``developer`` message after the call it is about
    (PreToolUse's, then PostToolUse's), before the call's output."""
    out, seen_call = [], False
    for item in body.get("input") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") in ("function_call", "custom_tool_call"):
            seen_call = True
        elif seen_call and item.get("type", "message") == "message" and item.get("role") == "developer":
            out.append(_text(item.get("content")))
    return out


def gemini_hook_texts(body):
    """Gemini CLI: an AfterTool hook's additionalContext is appended to the function
    response's ``output`` as ``<hook_context>...</hook_context>``."""
    out = []
    for content in body.get("contents") or []:
        for part in (content or {}).get("parts") or []:
            fr = part.get("functionResponse") if isinstance(part, dict) else None
            if not isinstance(fr, dict):
                continue
            text = standin.text_of(fr.get("response"))
            out += re.findall(r"<hook_context>(.*?)</hook_context>", text, re.S)
    return out


def opencode_hook_texts(body):
    """OpenCode (our plugin): the guidance is appended to the tool's output, the ``role:
    "tool"`` message; what follows the shell's own output (``... command not found`` for
    pytest, the unittest summary ending ``OK``)."""
    out = []
    for m in body.get("messages") or []:
        if isinstance(m, dict) and m.get("role") == "tool":
            text = _text(m.get("content"))
            tail = re.split(r"command not found\n|\nOK\n", text, maxsplit=1)
            extra = tail[1].strip() if len(tail) == 2 else ""
            if extra:
                out.append(extra)
    return out


COPILOT_HEADERS = ("Additional context from preToolUse hook", "Additional guidance from postToolUse hooks",
                   "Additional guidance from postToolUseFailure hooks")


def copilot_hook_texts(body):
    """Copilot CLI: preToolUse's ``additionalContext`` is a ``user`` message "Additional context
    from preToolUse hook:\\nX" after the call's result; postToolUse's is appended to the tool
    message ("Additional guidance from postToolUse hooks:\\nX")."""
    out = []
    for m in body.get("messages") or []:
        if not isinstance(m, dict):
            continue
        text = _text(m.get("content"))
        for header in COPILOT_HEADERS:
            i = text.find(header)
            if i != -1:
                out.append(text[i:])
    return out


def trust_codex(home, project):
    """Codex reads ``<project>/.codex/config.toml`` only for a trusted project (``codex exec
    --trust`` writes this entry); ``codex.run`` passes ``--dangerously-bypass-hook-trust``."""
    cfg = codex.codex_home(home) / "config.toml"
    entry = f'[projects.{json.dumps(str(Path(project).resolve()))}]\ntrust_level = "trusted"\n'
    text = cfg.read_text(encoding="utf-8") if cfg.exists() else ""
    if entry not in text:
        with open(cfg, "a", encoding="utf-8") as f:
            f.write("\n" + entry)
    return f"{cfg}: {entry.splitlines()[0]} trust_level = \"trusted\""


def trust_gemini(home, project):
    path = Path(home) / ".gemini" / "trustedFolders.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    ok = data.get(str(Path(project).resolve())) == "TRUST_FOLDER"
    return f"{path}: project {'trusted' if ok else 'NOT trusted'} (gemini.setup)"


def trust_opencode(home, project):
    return "nothing to trust: OpenCode loads <project>/.opencode/plugin/*.js"


def trust_copilot(home, project):
    return "GITHUB_COPILOT_PROMPT_MODE_REPO_HOOKS=true in the environment (copilot.setup)"


SPECS = {
    "codex": dict(module=codex, instructions="AGENTS.md", hook_texts=codex_hook_texts, trust=trust_codex,
                  hook_files=[".codex/config.toml"],
                  where="a developer message after the call (PreToolUse)"),
    "gemini": dict(module=gemini, instructions="GEMINI.md", hook_texts=gemini_hook_texts, trust=trust_gemini,
                   hook_files=[".gemini/settings.json"],
                   where="<hook_context> in the function response (AfterTool)"),
    "opencode": dict(module=opencode, instructions="AGENTS.md", hook_texts=opencode_hook_texts,
                     trust=trust_opencode, hook_files=[".opencode/plugin/self-heal.js"],
                     where="appended to the tool message (plugin, tool.execute.after)"),
    "copilot": dict(module=copilot, instructions="AGENTS.md", hook_texts=copilot_hook_texts,
                    trust=trust_copilot, hook_files=[".github/hooks/self-heal.json"],
                    where="'Additional context from preToolUse hook' / 'Additional guidance from "
                          "postToolUse hooks' messages"),
}


# --- the tally ----------------------------------------------------------------------------------


def snapshot(project):
    """Bytes of every file under the project but ``.git``, by relative path."""
    out = {}
    for p in sorted(project.rglob("*")):
        rel = p.relative_to(project)
        if rel.parts[0] == ".git" or not p.is_file():
            continue
        out[str(rel)] = p.read_bytes()
    return out


def utc(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- one harness --------------------------------------------------------------------------------


class Session:
    def __init__(self, label):
        self.label = label
        self.rc = None
        self.timed_out = False
        self.seconds = 0.0
        self.records = []
        self.stdout = ""
        self.stderr = ""

    @property
    def model_requests(self):
        """The requests the script answered with a step (not side questions)."""
        return [r for r in self.records if isinstance(r.get("body"), dict)
                and (r.get("reply") or {}).get("kind") in ("tool_use", "text")
                and not r["reply"].get("side")]

    @property
    def commands(self):
        return [r["reply"]["label"] for r in self.model_requests if r["reply"]["kind"] == "tool_use"]

    def finished(self):
        reqs = self.model_requests
        return bool(reqs) and reqs[-1]["reply"].get("kind") == "text" and reqs[-1]["reply"].get("text") == FINAL_TEXT

    def describe(self):
        err = self.stderr.strip().splitlines()[-3:] if self.stderr.strip() else []
        return (f"{self.label}: rc={self.rc} timed_out={self.timed_out} commands={self.commands} "
                f"finished={self.finished()} stderr tail={err}")


class Run:
    def __init__(self, name, args, work):
        self.name = name
        self.spec = SPECS[name]
        self.mod = self.spec["module"]
        self.args = args
        self.work = work
        self.home = work / "home"
        self.db = work / "selfheal.db"
        self.record = work / "requests.jsonl"
        self.sessions_dir = work / "sessions"
        self.hook_log = work / "hook.log"
        self.count = 0
        self.server = None
        self.exe = None
        self.env = None
        self.project = None
        self.times = []  # (phase, seconds)
        self.log_seen = {}  # hook log -> bytes already checked

    # -- helpers --

    def cli(self, *args, json_out=True, timeout=300, env_extra=None):
        cmd = [self.args.cli, "--db", str(self.db)] + (["--json"] if json_out else []) + [str(a) for a in args]
        env = dict(self.env or os.environ)
        env.update(env_extra or {})
        for attempt in range(30):  # the owner may be rebuilding the binary under us
            if Path(self.args.cli).exists():
                break
            time.sleep(2)
        p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        view = None
        if json_out and p.returncode == 0:
            try:
                view = json.loads(p.stdout)
            except ValueError:
                view = None
        shown_args = cmd[1:]
        if args and args[0] == "import" and len(args) > 3:  # many record files: name the first
            shown_args = cmd[1:len(cmd) - len(args) + 2] + [f"... ({len(args) - 1} files)"]
        shown = " ".join(["self-heal"] + shown_args)
        note(f"$ {shown} -> exit {p.returncode}")
        return p, view

    def script(self, stubborn=False):
        shell = self.mod.steps(self.project)[:2]
        assert [s["label"] for s in shell] == [common.FAILING, common.PASSING], shell
        return {
            "steps": shell,
            "follow_lessons": None if stubborn else {"marker": MARKER, "skip": [common.FAILING]},
            "final_text": FINAL_TEXT,
            "side_text": "Running the tests",
        }

    @property
    def shell_tool(self):
        return self.mod.steps(self.project)[0]["tool"]

    @property
    def pattern_id(self):
        return f"dependency_failure:{self.shell_tool}:pytest"

    @property
    def instructions(self):
        return self.project / self.spec["instructions"]

    def run_session(self, label, script):
        self.server.set_script(script)
        self.count += 1
        s = Session(f"{self.count:02d}-{label}")
        start = len(standin.read_records(self.record))
        t0 = time.monotonic()
        try:
            p = self.mod.run(self.exe, self.env, self.project, common.PROMPT, timeout=self.args.session_timeout)
            s.rc, s.stdout, s.stderr = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            s.timed_out = True
            s.stdout = (e.stdout or b"").decode("utf-8", "replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            s.stderr = (e.stderr or b"").decode("utf-8", "replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        s.seconds = time.monotonic() - t0
        (self.sessions_dir / f"{s.label}.stdout").write_text(s.stdout, encoding="utf-8")
        (self.sessions_dir / f"{s.label}.stderr").write_text(s.stderr, encoding="utf-8")
        s.records = standin.read_records(self.record, start)
        return s

    def run_sessions(self, label, script, n):
        out = [self.run_session(label, script) for _ in range(n)]
        times = [s.seconds for s in out]
        note(f"{label}: {n} session(s), {min(times):.1f}-{max(times):.1f} s each ({sum(times):.1f} s in all)")
        return out

    def instruction_context(self, body):
        return self.mod.PROTOCOL.instruction_context(body)

    def hook_texts(self, body):
        return self.spec["hook_texts"](body)

    def hook_log_problems(self):
        """What the hook logged since the last call (SELFHEAL_HOOK_LOG, and the default log
        under the HOME in case a harness does not pass the environment on)."""
        logs = [self.hook_log, self.home / ".local" / "state" / "self-healing-mcp" / "hook.log"]
        text = ""
        for p in logs:
            if p.exists():
                data = p.read_bytes()
                start = self.log_seen.get(p, 0)
                text += data[start:].decode("utf-8", "replace")
                self.log_seen[p] = len(data)
        return text.strip()

    def shell_counts(self):
        """(calls, failed calls) of the shell tool in the last day, as ``self-heal tools``
        reports them."""
        if not self.db.exists():
            return (0, 0)
        p, view = self.cli("tools", "--since", "-1d", "--tool", self.shell_tool)
        if view is None:
            return ("error", short(p.stderr or p.stdout, 300))
        for t in view.get("tools", []):
            if t.get("name") == self.shell_tool:
                return (t.get("total_calls"), t.get("failed_calls"))
        return (0, 0)

    def phase(self, name, t0):
        took = time.monotonic() - t0
        self.times.append((name, took))
        print(f"  -- phase {name}: {took:.1f} s", flush=True)
        return time.monotonic()

    def close(self):
        if self.server is not None:
            self.server.close()


# --- shared checks ------------------------------------------------------------------------------


def check_sessions_ran(c, phase, sessions):
    bad = [s.describe() for s in sessions if s.rc != 0 or s.timed_out or not s.finished()]
    c.require(f"{phase}: {len(sessions)} session(s) exited 0 after the scripted model's final answer", not bad,
              "; ".join(bad))


def check_commands(c, phase, sessions, expected):
    bad = [f"{s.label}: {s.commands}" for s in sessions if s.commands != expected]
    c.ok(f"{phase}: the model asked for {expected} in every session", not bad, "; ".join(bad))


def check_tool_results(c, r, phase, sessions, expected_exits):
    """What the harness ran: the request after each call carries the call's result (the
    step count grows by one per call), so a skipped call was never run."""
    bad = []
    for s in sessions:
        steps = [q["reply"].get("step") for q in s.model_requests]
        if steps != list(range(len(expected_exits) + 1)):
            bad.append(f"{s.label}: steps {steps}")
    c.ok(f"{phase}: every session's requests carry {len(expected_exits)} tool result(s), one per call",
         not bad, "; ".join(bad))


def check_no_lesson(c, r, phase, sessions):
    bad = [f"{s.label} step {q['reply'].get('step')}" for s in sessions for q in s.model_requests
           if MARKER in r.instruction_context(q["body"])]
    c.ok(f"{phase}: no request carries the lesson marker {MARKER!r} in its instruction context", not bad,
         ", ".join(bad))


def check_no_hook_guidance(c, r, phase, sessions):
    bad = []
    for s in sessions:
        for q in s.model_requests:
            texts = r.hook_texts(q["body"])
            if texts:
                bad.append(f"{s.label} step {q['reply'].get('step')}: {short(texts, 200)}")
    c.ok(f"{phase}: no hook guidance reaches the model", not bad, "; ".join(bad[:4]))


def check_hook_log(c, r, phase):
    text = r.hook_log_problems()
    lines = text.splitlines()
    c.ok(f"{phase}: the self-heal hook logged no problem in this phase", not text,
         f"{len(lines)} line(s), e.g. {lines[0] if lines else ''}")


# --- the scenario -------------------------------------------------------------------------------


def run_harness(name, args, work):
    c = Checks(prefix=f"[{name}] ")
    r = Run(name, args, work)
    t_all = time.monotonic()
    print(f"=== {name} (work directory {work})", flush=True)
    try:
        scenario(c, r)
    except Abort as e:
        print(f"  stopped: a check that later steps need failed ({e})", flush=True)
    except Exception as e:  # noqa: BLE001  (report, keep the other harnesses going)
        import traceback
        traceback.print_exc()
        c.ok("the driver ran to the end", False, f"{type(e).__name__}: {e}")
    finally:
        r.close()
    total = time.monotonic() - t_all
    print(f"=== {name}: {c.passed} passed, {c.failed} failed in {total:.1f} s "
          f"({', '.join(f'{p} {t:.1f}s' for p, t in r.times)})", flush=True)
    return c, total, r.times


def scenario(c, r):
    mod = r.mod
    t = time.monotonic()

    # a. install, HOME, project, stand-in, self-heal install, trust
    r.exe = mod.install(common.default_prefix(mod.NAME, mod.VERSION))
    c.require(f"a: {mod.PACKAGE}@{mod.VERSION} is installed", Path(r.exe).exists(), str(r.exe))
    for d in (r.home, r.sessions_dir):
        d.mkdir(parents=True, exist_ok=True)
    r.project = common.make_project(r.work / "project")
    r.server = standin.StandIn(mod.PROTOCOL(), {"steps": []}, str(r.record))
    r.server.set_script(r.script())
    r.env = mod.setup(r.home, r.project, r.server.base_url)
    r.env["SELFHEAL_HOOK_LOG"] = str(r.hook_log)
    note(f"{r.exe}; stand-in at {r.server.base_url}; project {r.project}")
    note(f"script steps: {[(s['tool'], s['args']) for s in r.script()['steps']]}")
    p, _ = r.cli("install", mod.NAME, "--project", r.project, "--yes", json_out=False)
    c.require(f"a: self-heal install {mod.NAME} --project P --yes exits 0", p.returncode == 0,
              short(p.stderr or p.stdout, 1500))
    missing = [f for f in r.spec["hook_files"] if not (r.project / f).is_file()]
    c.require(f"a: it wrote {', '.join(r.spec['hook_files'])}", not missing, short(p.stdout, 1500))
    hook_text = "".join((r.project / f).read_text(encoding="utf-8") for f in r.spec["hook_files"])
    c.ok("a: the hook names this self-heal, --db DB and `hook`",
         r.args.cli in hook_text and str(r.db) in hook_text and "hook" in hook_text, short(hook_text, 800))
    note(r.spec["trust"](r.home, r.project))
    first = {f: (r.project / f).read_bytes() for f in r.spec["hook_files"]}
    p, _ = r.cli("install", mod.NAME, "--project", r.project, "--yes", json_out=False)
    again = {f: (r.project / f).read_bytes() for f in r.spec["hook_files"]}
    c.ok("a: a second install exits 0 and changes no byte", p.returncode == 0 and again == first,
         short(p.stderr or p.stdout))
    t = r.phase("a", t)

    # b. sessions that fail pytest, then pass
    n = r.args.sessions
    b = r.run_sessions("b-learning", r.script(), n)
    b_end = datetime.now(timezone.utc)
    check_sessions_ran(c, "b", b)
    check_commands(c, "b", b, [common.FAILING, common.PASSING])
    check_tool_results(c, r, "b", b, [127, 0])
    check_no_lesson(c, r, "b", b)
    check_no_hook_guidance(c, r, "b", b)
    check_hook_log(c, r, "b")
    t = r.phase("b", t)

    # c. import, detect
    recs = mod.records(r.home, r.project)
    note(f"records: {[str(x.relative_to(r.home)) for x in recs]}")
    c.require("c: the harness wrote records", bool(recs))
    p, iv = r.cli("import", *recs)
    c.require("c: self-heal import <records> exits 0", p.returncode == 0, short(p.stderr or p.stdout, 1500))
    note(f"import: {short({k: (iv or {}).get(k) for k in ('files', 'runs_new', 'calls_added', 'failed_calls_added', 'skipped_by_reason', 'errors')}, 1500)}")
    counts = r.shell_counts()
    c.ok(f"c: `tools` counts {2 * n} {r.shell_tool} calls, {n} failed", counts == (2 * n, n),
         f"(calls, failed) = {counts}")
    now = utc(b_end + timedelta(minutes=2))
    p, dv = r.cli("detect", "--min-occurrences", "2", "--confidence", "0", "--since", "-1d",
                  env_extra={"SELFHEAL_NOW": now})
    patterns = (dv or {}).get("patterns", [])
    found = [pt for pt in patterns if pt.get("id") == r.pattern_id]
    c.require(f"c: detect (SELFHEAL_NOW={now}) finds {r.pattern_id}", bool(found),
              f"rc={p.returncode} ids={[pt.get('id') for pt in patterns]} {short(p.stderr or p.stdout, 1500)}")
    occ = found[0].get("occurrences")
    c.ok(f"c: {r.pattern_id} has {n} occurrences", occ == n,
         f"occurrences={occ} affected_runs={found[0].get('affected_runs')}")
    t = r.phase("c", t)

    # d. propose, test
    p, prop = r.cli("propose", r.pattern_id)
    c.require("d: propose exits 0 with JSON", prop is not None, short(p.stderr or p.stdout, 1500))
    imp = prop.get("improvement_id")
    c.require("d: the proposal has an improvement_id", isinstance(imp, str) and imp, short(prop))
    lesson = (prop.get("lesson") or {}).get("text")
    lesson_text = "\n".join(lesson) if isinstance(lesson, list) else str(lesson or "")
    note(f"lesson.text: {lesson_text!r}")
    c.ok(f"d: lesson.text mentions pytest and {MARKER!r}", "pytest" in lesson_text and MARKER in lesson_text,
         short(prop.get("lesson"), 1000))
    c.ok(f"d: lesson.harness is {mod.NAME}", (prop.get("lesson") or {}).get("harness") == mod.NAME,
         f"harness={(prop.get('lesson') or {}).get('harness')!r}")
    targets = prop.get("targets") or (prop.get("lesson") or {}).get("targets") or []
    c.ok(f"d: targets include harness {mod.NAME}, path .../{r.spec['instructions']}",
         any(isinstance(x, dict) and x.get("harness") == mod.NAME
             and str(x.get("path", "")) == str(r.instructions) for x in targets),
         short(targets, 1000))
    p, tv = r.cli("test", imp)
    c.require("d: test exits 0 with JSON", tv is not None and tv.get("improvement_id") == imp,
              short(p.stderr or p.stdout, 1500))
    note(f"test: {short({k: tv.get(k) for k in ('status', 'test_mode', 'recommendation', 'baseline_success_rate', 'simulated_success_rate')}, 300)}")
    t = r.phase("d", t)

    # e. apply
    before = snapshot(r.project)
    existed = r.instructions.exists()
    p, av = r.cli("apply", imp, "--changes", "lesson for pytest", "--yes")
    c.require("e: apply exits 0 with JSON", av is not None, short(p.stderr or p.stdout, 1500))
    c.ok("e: the improvement is applied", av.get("status") == "applied", short(av, 800))
    applied = snapshot(r.project)
    touched = sorted(k for k in set(before) | set(applied) if before.get(k) != applied.get(k))
    note(f"files the apply touched: {touched}; apply's changes: "
         f"{[ch.get('path') for ch in av.get('changes') or [] if isinstance(ch, dict)]}")
    text = r.instructions.read_text(encoding="utf-8") if r.instructions.is_file() else ""
    c.require(f"e: PROJECT/{r.spec['instructions']} holds the managed block with {MARKER!r}",
              "self-heal:begin" in text and "self-heal:end" in text and MARKER in text, text[:800] or "missing")
    if not existed:
        mode, usual = r.instructions.stat().st_mode & 0o777, (r.project / common.NOTES).stat().st_mode & 0o777
        c.ok(f"e: the new {r.spec['instructions']} has the project's usual file mode ({usual:o}, as notes.txt)",
             mode == usual, f"mode {mode:o}")
    phrase = distinctive_phrase(text)
    note(f"lesson phrase looked for in the requests: {phrase!r}")
    t = r.phase("e", t)

    # f. healed sessions
    f = r.run_sessions("f-healed", r.script(), n)
    check_sessions_ran(c, "f", f)
    bad = []
    for s in f:
        for q in s.model_requests:
            ctx = r.instruction_context(q["body"])
            if MARKER not in ctx or phrase not in ctx:
                bad.append(f"{s.label} step {q['reply'].get('step')}")
    c.ok(f"f: every request carries the lesson's phrase {short(phrase, 80)!r} in its instruction context",
         not bad, "; ".join(bad))
    check_commands(c, "f", f, [common.PASSING])
    check_tool_results(c, r, "f", f, [0])
    check_no_hook_guidance(c, r, "f", f)
    check_hook_log(c, r, "f")
    t = r.phase("f", t)

    # g. a model that ignores lessons: the hook's guidance reaches it
    (s,) = r.run_sessions("g-stubborn", r.script(stubborn=True), 1)
    check_sessions_ran(c, "g", [s])
    check_commands(c, "g", [s], [common.FAILING, common.PASSING])
    after = [q for q in s.model_requests if q["reply"].get("step") == 1]
    texts = r.hook_texts(after[0]["body"]) if after else []
    with_marker = [x for x in texts if MARKER in x and "pytest" in x]
    c.ok(f"g: the hook's guidance (pytest, {MARKER!r}) reaches the model: {r.spec['where']}", bool(with_marker),
         f"hook texts in the request after the failing call: {short(texts, 800)}")
    if with_marker:
        note(f"{len(with_marker)} guidance text(s) in the request after the failing call; the first as the model got it: "
             f"{short(with_marker[0], 500)!r}")
        c.ok("g: the guidance carries the lesson's text", phrase in with_marker[0] or any(
            ln in with_marker[0] for ln in lesson_text.splitlines() if "pytest" in ln),
             short(with_marker, 800))
    check_hook_log(c, r, "g")
    t = r.phase("g", t)

    # h. import again, verify
    recs = mod.records(r.home, r.project)
    p, iv = r.cli("import", *recs)
    c.ok("h: import exits 0", p.returncode == 0, short(p.stderr or p.stdout, 1500))
    counts = r.shell_counts()
    want = (2 * n + n + 2, n + 1)
    c.ok(f"h: `tools` counts {want[0]} {r.shell_tool} calls, {want[1]} failed after the second import",
         counts == want, f"(calls, failed) = {counts}")
    p, vv = r.cli("verify", imp, "--window-days", "1")
    c.ok("h: verify exits 0 with JSON", vv is not None, short(p.stderr or p.stdout, 1500))
    if vv is not None:
        m = vv.get("metrics") or {}
        print(f"  .. verify: verdict {vv.get('verification_status')!r}, recommendation "
              f"{vv.get('recommendation')!r}, reason {vv.get('reason')!r}", flush=True)
        print(f"  .. verify metrics: {json.dumps({k: m.get(k) for k in ('before_calls', 'before_failures', 'after_calls', 'after_failures', 'runs_analyzed', 'before_success_rate', 'after_success_rate', 'p_value')})}"
              f" calls_still_needed={vv.get('calls_still_needed')}", flush=True)
        got = (m.get("before_calls"), m.get("before_failures"), m.get("after_calls"), m.get("after_failures"))
        exp = (2 * n, n, n + 2, 1)
        c.ok(f"h: verify counts this project's {r.shell_tool} calls before/after the apply "
             f"(calls, failures) = ({exp[0]}, {exp[1]}) / ({exp[2]}, {exp[3]})", got == exp,
             f"(before_calls, before_failures, after_calls, after_failures) = {got}")
        c.ok(f"h: verify counts the {2 * n + 1} finished sessions of both windows", m.get("runs_analyzed") == 2 * n + 1,
             f"runs_analyzed={m.get('runs_analyzed')}")
    t = r.phase("h", t)

    # i. rollback
    p, rv = r.cli("rollback", imp, "--yes")
    c.ok("i: rollback exits 0", p.returncode == 0, short(p.stderr or p.stdout, 1500))
    note(f"rollback: status={(rv or {}).get('status')} changes="
         f"{[(ch.get('path'), ch.get('sha256_after'), ch.get('backup_path')) for ch in (rv or {}).get('changes') or [] if isinstance(ch, dict)]}")
    now_files = snapshot(r.project)
    changed = [k for k in touched if now_files.get(k) != before.get(k)]
    c.ok(f"i: every file the apply touched ({touched}) is byte-identical to before", not changed,
         f"differs: {changed}")
    if not existed:
        c.ok(f"i: PROJECT/{r.spec['instructions']} is gone again (the apply created it)",
             not r.instructions.exists(),
             f"it is still there, {r.instructions.stat().st_size} bytes" if r.instructions.exists() else "")
    other = sorted(k for k in set(before) | set(now_files) if k not in touched and before.get(k) != now_files.get(k))
    c.ok("i: no other file of the project differs from before the apply", not other, f"differ: {other}")
    r.phase("i", t)


# --- main ---------------------------------------------------------------------------------------


def default_cli():
    """The newer of target/debug/self-heal and target/release/self-heal (a stale release
    build would test old code)."""
    found = [p for p in (REPO / "target" / k / "self-heal" for k in ("debug", "release")) if p.is_file()]
    return str(max(found, key=lambda p: p.stat().st_mtime)) if found else None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--harness", required=True, choices=HARNESSES + ("all",))
    ap.add_argument("--cli", default=None, help="the self-heal binary (default: the newer of target/debug/self-heal and target/release/self-heal)")
    ap.add_argument("--work", type=Path, help="work directory (kept); default: a temporary one, removed after a clean run")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    ap.add_argument("--sessions", type=int, default=4, help="sessions in phases b and f (default 4)")
    ap.add_argument("--session-timeout", type=float, default=180.0, help="seconds per harness session (default 180)")
    args = ap.parse_args(argv)

    args.cli = args.cli or default_cli()
    if not args.cli or not Path(args.cli).is_file():
        print("error: no self-heal binary: build it (cargo build -p selfheal-cli) or pass --cli", file=sys.stderr)
        return 2
    args.cli = str(Path(args.cli).resolve())
    work, temporary = work_directory(args.work, "heal-e2e-")
    if work is None:
        return 2

    print(f"self-heal: {args.cli} (built {datetime.fromtimestamp(Path(args.cli).stat().st_mtime).isoformat(timespec='seconds')})", flush=True)
    names = HARNESSES if args.harness == "all" else (args.harness,)
    results = []
    for name in names:
        w = work / name if len(names) > 1 else work
        w.mkdir(parents=True, exist_ok=True)
        results.append((name,) + run_harness(name, args, w))

    print("=== summary", flush=True)
    failed = 0
    for name, c, total, times in results:
        failed += c.failed
        print(f"{name:9s} {c.passed:3d} passed, {c.failed:2d} failed, {total:6.1f} s"
              + (f"  FAILED: {'; '.join(c.failures)}" if c.failures else ""), flush=True)
    failures = [f"{name}: {f}" for name, c, _, _ in results for f in c.failures]
    return finish(failures, work, temporary, args.keep)


if __name__ == "__main__":
    sys.exit(main())
