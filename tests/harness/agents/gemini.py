#!/usr/bin/env python3
"""Gemini CLI (npm ``@google/gemini-cli``), run offline against ``standin_gemini.py``.

Setup (checked with 0.61.0): ``$HOME/.gemini/settings.json`` selects API-key auth
(``security.auth.selectedType = "gemini-api-key"``; without it "Invalid auth method
selected", exit 41) and turns off usage statistics and auto-update; the project folder is
trusted in ``~/.gemini/trustedFolders.json`` (an untrusted folder exits 55; ``--skip-trust``
runs but ignores ``<project>/.gemini/settings.json``). The environment has
``GEMINI_API_KEY=dummy`` and ``GOOGLE_GEMINI_BASE_URL=<stand-in>``. The run is
``gemini -p PROMPT --yolo -m gemini-2.5-flash`` in the project (without ``-m`` it first asks a
JSON-mode routing question).

Records: ``~/.gemini/tmp/<project dir name>/chats/session-<date>-<id8>.jsonl`` and
``~/.gemini/projects.json`` (``{"projects": {abs project path: dir name}}``). Line 1 of a
session is the header ``{sessionId, projectHash (SHA-256 of the project path), startTime,
lastUpdated, kind: "main"}``; then message records (``id``, ``timestamp``, ``type: "user" |
"gemini"``, ``content``; a ``gemini`` record is written once without and again with its
``toolCalls[] {id, name, args, result: [{functionResponse}], status: "success" | "error",
resultDisplay, displayName, ...}`` under the same ``id``: the last one wins, keeping the first
one's place), ``{"$set": {...}}`` metadata patches (``$set.messages`` *replaces* the message
list: line 2 sets it to the ``<session_context>`` user message) and, after a rewind,
``{"$rewindTo": id}`` (drops that message and all later ones). Each tool result is there twice:
in ``toolCalls[].result`` and in the next ``user`` record's ``functionResponse`` part.

Hooks (``write_hook``; checked with 0.61.0): ``<project>/.gemini/settings.json``
``hooks.<Event>[] = {"matcher": REGEX, "hooks": [{"name", "type": "command", "command",
"timeout" (ms)}]}``. The matcher is a JavaScript ``RegExp`` tested against the tool name (not
anchored; ``""`` or ``"*"`` match all). ``command`` runs through a shell. Project hooks run in
``-p`` mode as soon as the folder is trusted (``trustedFolders.json`` or
``GEMINI_CLI_TRUST_WORKSPACE=true``): nothing else is needed; the first run prints a warning
on stderr and records ``"<name>:<command>"`` under the project path in
``~/.gemini/trusted_hooks.json`` itself. The same ``hooks`` in ``~/.gemini/settings.json``
run too, without the warning, even with ``--skip-trust``. ``BeforeTool`` and ``AfterTool``
fire for every call, the failed ``read_file`` included. Only the ``AfterTool`` answer's
``hookSpecificOutput.additionalContext`` reaches the model (appended to the function
response's ``output`` as ``\n\n<hook_context>...</hook_context>``; the source escapes ``<``/``>``
as ``&lt;``/``&gt;``) and only for a successful call: a failed call's response is
``{"error": ...}`` and the context is dropped. ``BeforeTool`` ``additionalContext`` is
ignored. See ``tests/data/gemini-cli-0.61.0/README.md``.

``python3 tests/harness/agents/gemini.py --work DIR [--fixture] [--hooks]`` installs, runs the
common scenario once and prints what happened.
"""

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import common  # noqa: E402
from standin_gemini import Gemini  # noqa: E402

NAME = "gemini"
PACKAGE = "@google/gemini-cli"
VERSION = "0.61.0"
BIN = "gemini"
PROTOCOL = Gemini
MODEL = "gemini-2.5-flash"

SHELL_TOOL = "run_shell_command"
READ_TOOL = "read_file"
EDIT_TOOL = "replace"
HOOK_MATCHER = f"{SHELL_TOOL}|{READ_TOOL}|{EDIT_TOOL}"


def install(prefix=None, version=VERSION):
    prefix = prefix or common.default_prefix(NAME, version)
    return common.npm_install(prefix, PACKAGE, version, BIN)


def _write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def setup(home, project, base_url):
    """``~/.gemini/settings.json`` (API-key auth, no statistics, no updates) and the project
    trusted; the environment to run with."""
    home, project = Path(home), Path(project)
    gemini_dir = home / ".gemini"
    settings_path = gemini_dir / "settings.json"
    settings = json.loads(settings_path.read_text(encoding="utf-8")) if settings_path.exists() else {}
    settings.setdefault("security", {}).setdefault("auth", {})["selectedType"] = "gemini-api-key"
    settings.setdefault("privacy", {})["usageStatisticsEnabled"] = False
    general = settings.setdefault("general", {})
    general["enableAutoUpdate"] = False
    general["enableAutoUpdateNotification"] = False
    _write_json(settings_path, settings)
    trusted_path = gemini_dir / "trustedFolders.json"
    trusted = json.loads(trusted_path.read_text(encoding="utf-8")) if trusted_path.exists() else {}
    trusted[str(Path(project).resolve())] = "TRUST_FOLDER"
    _write_json(trusted_path, trusted)
    env = common.base_env(home)
    env.update(GEMINI_API_KEY="dummy", GOOGLE_GEMINI_BASE_URL=base_url)
    return env


def write_hook(home, project, command, events=("BeforeTool", "AfterTool"), matcher=HOOK_MATCHER,
               name="self-heal", timeout_ms=10000):
    """Register ``command`` for ``events`` in ``<project>/.gemini/settings.json`` (merged with
    what is there). Tool events get ``matcher`` (a regular expression on the tool name, not
    anchored); other events none. Runs in ``-p`` mode once the folder is trusted (``setup``)."""
    path = Path(project) / ".gemini" / "settings.json"
    settings = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    hooks = settings.setdefault("hooks", {})
    for event in events:
        entry = {"hooks": [{"name": name, "type": "command", "command": command, "timeout": timeout_ms}]}
        if event in ("BeforeTool", "AfterTool") and matcher:
            entry = {"matcher": matcher, **entry}
        hooks.setdefault(event, []).append(entry)
    _write_json(path, settings)
    return path


def steps(project):
    project = Path(project)
    return [
        {"tool": SHELL_TOOL, "args": {"command": common.FAILING, "description": "Run the tests with pytest"},
         "label": common.FAILING},
        {"tool": SHELL_TOOL, "args": {"command": common.PASSING, "description": "Run the tests with unittest"},
         "label": common.PASSING},
        {"tool": READ_TOOL, "args": {"file_path": str(project / common.MISSING)}, "label": "read missing"},
        {"tool": READ_TOOL, "args": {"file_path": str(project / common.NOTES)}, "label": "read notes"},
        {"tool": EDIT_TOOL, "args": {"file_path": str(project / common.NOTES),
                                     "instruction": "Change the colour in notes.txt from red to blue.",
                                     "old_string": common.OLD, "new_string": common.NEW},
         "label": "edit notes"},
    ]


def run(exe, env, project, prompt=common.PROMPT, timeout=300):
    return subprocess.run(
        [str(exe), "-p", prompt, "--yolo", "-m", MODEL],
        cwd=str(project), env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout,
    )


def records(home, project):
    """The session files of ``project`` (oldest first) and ``~/.gemini/projects.json``."""
    gemini_dir = Path(home) / ".gemini"
    out = []
    names = set()
    projects = gemini_dir / "projects.json"
    if projects.exists():
        data = json.loads(projects.read_text(encoding="utf-8"))
        table = data.get("projects", data) if isinstance(data, dict) else {}
        for path, dir_name in table.items():
            if Path(path).resolve() == Path(project).resolve() and isinstance(dir_name, str):
                names.add(dir_name)
    names.add(Path(project).name)
    for dir_name in sorted(names):
        chats = gemini_dir / "tmp" / dir_name / "chats"
        if chats.is_dir():
            out.extend(sorted(chats.glob("session-*.json*"), key=lambda p: p.stat().st_mtime))
    if projects.exists():
        out.append(projects)
    return out


def project_hash(project):
    """The ``projectHash`` of a session header: SHA-256 of the absolute project path."""
    return hashlib.sha256(str(project).encode("utf-8")).hexdigest()


def normalise(text, home, project):
    """``common.normalise`` plus the ``projectHash`` of the fixed project path."""
    text = text.replace(project_hash(Path(project).resolve()), project_hash(common.FIXTURE_PROJECT))
    return common.normalise(text, home, project)


def save_fixture(home, project, dest):
    """The records, normalised, into ``dest`` laid out as under ``~/.gemini`` (``projects.json``,
    ``tmp/<project>/chats/<session file>``), so the importer maps the folder to the project;
    earlier ``tmp/`` files there are removed)."""
    dest = Path(dest)
    shutil.rmtree(dest / "tmp", ignore_errors=True)
    shutil.rmtree(dest / "chats", ignore_errors=True)
    gemini_home = Path(home) / ".gemini"
    saved = []
    for path in records(home, project):
        text = normalise(path.read_text(encoding="utf-8"), home, project)
        target = dest / path.relative_to(gemini_home)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        saved.append(target)
    return saved


# --- the hand-written hook ------------------------------------------------------------------

HOOK_MARKER = "SELFHEAL-CTX-MARKER"
HOOK_SCRIPT = '''import json, os, sys
data = json.load(sys.stdin)
env = {k: v for k, v in os.environ.items() if k.startswith(("GEMINI_", "CLAUDE_"))}
with open(os.environ["HOOK_LOG"], "a", encoding="utf-8") as f:
    f.write(json.dumps({"input": data, "env": env}) + "\\n")
event = data.get("hook_event_name", "")
print(json.dumps({"hookSpecificOutput": {"hookEventName": event, "additionalContext": "%s"}}))
''' % HOOK_MARKER


def write_test_hook(work, home, project):
    """A Python hook that logs its input to ``work/hook-events.jsonl`` and answers
    ``additionalContext``; registered for BeforeTool and AfterTool."""
    script = Path(work) / "hook.py"
    log = Path(work) / "hook-events.jsonl"
    script.write_text(HOOK_SCRIPT, encoding="utf-8")
    command = f"HOOK_LOG={log} python3 {script}"
    write_hook(home, project, command)
    return log


# --- the command line -----------------------------------------------------------------------


def _tool_calls(record_lines):
    calls = []
    for r in record_lines:
        reply = r.get("reply") or {}
        if reply.get("kind") == "tool_use":
            calls.append((reply.get("step"), reply.get("tool"), reply.get("label")))
    return calls


def main(argv=None):
    import argparse

    import standin_gemini

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", required=True, help="work directory (home/, project/, requests.jsonl)")
    ap.add_argument("--prefix", help="install prefix (default target/harness/gemini-<version>)")
    ap.add_argument("--fixture", action="store_true", help="write tests/data/gemini-cli-<version>/ (implies --hooks)")
    ap.add_argument("--hooks", action="store_true", help="also register the hand-written test hook")
    ap.add_argument("--marker", help="write this line into <project>/GEMINI.md")
    args = ap.parse_args(argv)

    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    exe = install(args.prefix)
    home = work / "home"
    home.mkdir(exist_ok=True)
    project = common.make_project(work / "project")
    if args.marker:
        (project / "GEMINI.md").write_text(f"# Project notes\n\n{args.marker}\n", encoding="utf-8")
    record = work / "requests.jsonl"
    start = len(standin_gemini.read_records(record))
    server = standin_gemini.StandIn({"steps": steps(project), "final_text": "done"}, str(record))
    try:
        env = setup(home, project, server.base_url)
        hook_log = write_test_hook(work, home, project) if (args.hooks or args.fixture) else None
        t0 = time.time()
        proc = run(exe, env, project)
        elapsed = time.time() - t0
    finally:
        server.close()
    (work / "stdout.txt").write_text(proc.stdout, encoding="utf-8")
    (work / "stderr.txt").write_text(proc.stderr, encoding="utf-8")
    reqs = standin_gemini.read_records(record, start)
    print(f"exit status {proc.returncode} after {elapsed:.1f} s; {len(reqs)} requests")
    for r in reqs:
        print("  request", r["path"], json.dumps(r["reply"]))
    if args.marker and reqs:
        found = [args.marker in Gemini.instruction_context(r["body"]) for r in reqs if isinstance(r["body"], dict)]
        print(f"GEMINI.md marker in the instruction context of {sum(found)} of {len(found)} requests")
    print("calls the model made:")
    for step, tool, label in _tool_calls(reqs):
        print(f"  {step}: {tool} ({label})")
    notes = (project / common.NOTES).read_text(encoding="utf-8")
    print(f"notes.txt now: {notes!r} ({'changed' if common.NEW in notes else 'NOT changed'})")
    print("records:")
    for p in records(home, project):
        print("  ", p)
    if hook_log is not None:
        n = sum(1 for _ in open(hook_log, encoding="utf-8")) if hook_log.exists() else 0
        print(f"hook inputs: {n} in {hook_log}")
    if args.fixture:
        dest = common.repo_root() / "tests" / "data" / f"gemini-cli-{VERSION}"
        for p in save_fixture(home, project, dest):
            print("fixture", p)
        if hook_log is not None and hook_log.exists():
            lines = [json.loads(line)["input"] for line in hook_log.read_text(encoding="utf-8").splitlines() if line]
            text = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
            (dest / "hook-inputs.jsonl").write_text(normalise(text, home, project), encoding="utf-8")
            print("fixture", dest / "hook-inputs.jsonl")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
