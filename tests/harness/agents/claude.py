#!/usr/bin/env python3
"""Claude Code 2.1.328 (npm ``@anthropic-ai/claude-code``), offline against
``standin_anthropic.Anthropic``.

The interface is ``common.py``'s. Checked 2026-12-07 with the real 2.1.328 (see
``tests/harness/README.md`` for what its requests look like):

- ``install`` reuses ``target/harness/claude-code`` (what ``install_claude.sh`` and
  ``claude_e2e.py`` use) when it holds this version, else npm-installs into
  ``target/harness/claude-code-<version>``; when ``claude --version`` does not answer (npm ran
  without scripts: ``bin/claude.exe`` is still the placeholder) it runs the package's
  postinstall (``node install.cjs``) itself. Node 20 is fine (an EBADENGINE warning only).
- ``setup`` writes nothing: the environment is ``ANTHROPIC_BASE_URL=<stand-in>``,
  ``ANTHROPIC_API_KEY=dummy``, ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`` (no side
  requests), ``DISABLE_AUTOUPDATER=1`` and the throw-away ``HOME``.
- ``run`` is ``claude -p PROMPT --output-format json --allowedTools Bash,Read,Edit`` in the
  project (stdin closed). Tools: ``Bash {command, description}``, ``Read {file_path}``,
  ``Edit {file_path, old_string, new_string}`` (Edit needs the file Read first in the session,
  which step 4 does).
- ``records`` are the transcripts ``~/.claude/projects/<dir>/<session id>.jsonl``, ``<dir>``
  the project path with every character that is not an ASCII letter or digit as ``-``.
  A shell exit 127 is a failed call there (``tool_result`` ``is_error: true``, content
  ``Exit code 127\\n…``); so is the Read of a missing file (``File does not exist.``).
- Hooks: ``write_hook`` writes ``<project>/.claude/settings.json``; they run in ``-p`` mode
  without asking. ``PostToolUseFailure`` fires for both failed calls. See
  ``tests/data/claude-code-2.1.328/README.md``.

``python3 tests/harness/agents/claude.py --work DIR [--hook] [--fixture]`` installs the
pinned Claude Code, runs the common scenario once in ``DIR`` and prints what happened;
``--hook`` registers the hand-written logging hook (``DIR/hook-inputs.jsonl``); ``--fixture``
writes ``tests/data/claude-code-2.1.328/`` from two runs: one without hooks (the transcript),
one with the logging hook (``hook-inputs.jsonl``).
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import common  # noqa: E402
from standin_anthropic import Anthropic  # noqa: E402

NAME = "claude-code"
PACKAGE = "@anthropic-ai/claude-code"
VERSION = "2.1.328"
BIN = "claude"
PROTOCOL = Anthropic

SHELL_TOOL = "Bash"
READ_TOOL = "Read"
EDIT_TOOL = "Edit"
HOOK_EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure")
FIXTURE_DIR = f"{NAME}-{VERSION}"


def legacy_prefix():
    """Where ``install_claude.sh`` puts Claude Code (no version in the name)."""
    return common.repo_root() / "target" / "harness" / "claude-code"


def _version_of(prefix):
    manifest = Path(prefix) / "node_modules" / PACKAGE / "package.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None


def _answers(exe):
    """Whether ``claude --version`` answers (run with an empty throw-away HOME)."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="claude-version-") as home:
        env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": home}
        try:
            p = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL, env=env)
        except (OSError, subprocess.SubprocessError):
            return False
    return p.returncode == 0 and bool(p.stdout.strip())


def install(prefix=None, version=VERSION):
    """The ``claude`` executable of ``version``: ``target/harness/claude-code`` (what
    ``install_claude.sh`` installs) when it holds that version and ``prefix`` is not given or
    is ``common.default_prefix``, else an npm install into ``prefix`` (default
    ``common.default_prefix``); the package's postinstall is run when npm skipped it (npm 11
    skips install scripts not covered by its ``allowScripts``)."""
    default = common.default_prefix(NAME, version)
    if prefix is None or Path(prefix) == default:
        legacy = legacy_prefix()
        exe = legacy / "node_modules" / ".bin" / BIN
        if _version_of(legacy) == version and exe.exists() and _answers(exe):
            return exe
        prefix = default
    exe = common.npm_install(prefix, PACKAGE, version, BIN)
    if not _answers(exe):
        pkg = Path(prefix) / "node_modules" / PACKAGE
        subprocess.run(["node", "install.cjs"], cwd=str(pkg), check=True, stdout=subprocess.DEVNULL)
    return exe


def setup(home, project, base_url):
    """No files: Claude Code takes the model endpoint from the environment. The environment to
    run it with."""
    Path(home).mkdir(parents=True, exist_ok=True)
    env = common.base_env(home)
    env.update(ANTHROPIC_BASE_URL=base_url.rstrip("/"), ANTHROPIC_API_KEY="dummy",
               CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_AUTOUPDATER="1")
    return env


def steps(project):
    """The common scenario in Claude Code's tools (``Bash``, ``Read``, ``Edit``)."""
    project = Path(project)
    notes = str(project / common.NOTES)
    return [
        {"tool": SHELL_TOOL, "args": {"command": common.FAILING, "description": "Run the tests with pytest"},
         "label": common.FAILING},
        {"tool": SHELL_TOOL, "args": {"command": common.PASSING, "description": "Run the tests with unittest"},
         "label": common.PASSING},
        {"tool": READ_TOOL, "args": {"file_path": str(project / common.MISSING)}, "label": "read " + common.MISSING},
        {"tool": READ_TOOL, "args": {"file_path": notes}, "label": "read " + common.NOTES},
        {"tool": EDIT_TOOL, "args": {"file_path": notes, "old_string": common.OLD, "new_string": common.NEW},
         "label": "edit " + common.NOTES},
    ]


def run(exe, env, project, prompt=common.PROMPT, timeout=180):
    cmd = [str(exe), "-p", prompt, "--output-format", "json",
           "--allowedTools", f"{SHELL_TOOL},{READ_TOOL},{EDIT_TOOL}"]
    return subprocess.run(cmd, cwd=str(project), env=dict(env, PWD=str(project)), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def project_dir_name(path):
    """Claude Code's transcript folder name for a working directory: every character that is
    not an ASCII letter or digit becomes ``-`` (``/tmp/x/my_proj.v2`` → ``-tmp-x-my-proj-v2``)."""
    return re.sub(r"[^A-Za-z0-9]", "-", str(path))


def transcripts_dir(home, project):
    return Path(home) / ".claude" / "projects" / project_dir_name(Path(project).resolve())


def records(home, project):
    """The project's transcripts, oldest first."""
    d = transcripts_dir(home, project)
    return sorted(d.glob("*.jsonl"), key=lambda p: p.stat().st_mtime) if d.is_dir() else []


def normalise(text, home, project):
    """``common.normalise`` plus the transcript folder's name (``transcript_path`` in hook
    inputs) derived from the fixed project path."""
    text = text.replace(project_dir_name(Path(project).resolve()), project_dir_name(common.FIXTURE_PROJECT))
    return common.normalise(text, home, project)


def save_fixture(home, project, dest):
    """The transcripts, normalised, into ``dest/projects/<dir>/<session>.jsonl``, ``<dir>``
    derived from the fixed project path (``-home-user-project``); earlier files there are
    removed."""
    target_dir = Path(dest) / "projects" / project_dir_name(common.FIXTURE_PROJECT)
    shutil.rmtree(Path(dest) / "projects", ignore_errors=True)
    target_dir.mkdir(parents=True)
    out = []
    for src in records(home, project):
        target = target_dir / src.name
        target.write_text(normalise(src.read_text(encoding="utf-8"), home, project), encoding="utf-8")
        out.append(target)
    return out


# --- hooks ------------------------------------------------------------------------------------


def write_hook(home, project, command, events=HOOK_EVENTS, matcher="*"):
    """Registers ``command`` for ``events`` in ``<project>/.claude/settings.json`` (merged with
    what is there); tool events get ``matcher`` (``*``: every tool). Project hooks run in
    ``-p`` mode without asking; the command gets ``CLAUDE_PROJECT_DIR``. Returns the file."""
    path = Path(project) / ".claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    hooks = settings.setdefault("hooks", {})
    for event in events:
        entry = {"hooks": [{"type": "command", "command": command}]}
        if event in ("PreToolUse", "PostToolUse", "PostToolUseFailure") and matcher is not None:
            entry = {"matcher": matcher, **entry}
        hooks.setdefault(event, []).append(entry)
    path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return path


HOOK_SCRIPT = '''import sys
data = sys.stdin.read()
with open(%(log)r, "a", encoding="utf-8") as f:
    f.write(data.strip().replace("\\n", " ") + "\\n")
'''


def hook_script(path, log):
    """A hook that appends its stdin JSON to ``log`` as one line and answers nothing; the
    command to register."""
    path = Path(path)
    path.write_text(HOOK_SCRIPT % {"log": str(log)}, encoding="utf-8")
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(path))}"


# --- the scenario, once -----------------------------------------------------------------------


def transcript_calls(path):
    """``(tool, input, is_error, result text)`` per call of a transcript, in order."""
    uses, results, order = {}, {}, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            content = (obj.get("message") or {}).get("content") if isinstance(obj.get("message"), dict) else None
            if not isinstance(content, list):
                continue
            for b in content:
                if not isinstance(b, dict):
                    continue
                if b.get("type") == "tool_use":
                    uses[b.get("id")] = b
                    order.append(b.get("id"))
                elif b.get("type") == "tool_result":
                    results[b.get("tool_use_id")] = b
    out = []
    for i in order:
        r = results.get(i) or {}
        c = r.get("content")
        text = c if isinstance(c, str) else " ".join(x.get("text", "") for x in c or [] if isinstance(x, dict))
        out.append((uses[i].get("name"), uses[i].get("input"), r.get("is_error"), text))
    return out


def run_once(exe, work, hook):
    """One session of the common scenario in ``work`` (home/, project/, requests.jsonl, ...);
    prints what happened. ``hook``: with the logging hook (``work/hook-inputs.jsonl``)."""
    import standin_anthropic
    from standin import read_records

    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    home.mkdir()
    project = common.make_project(work / "project")
    record = work / "requests.jsonl"
    server = standin_anthropic.StandIn({"steps": steps(project), "final_text": "done"}, str(record))
    hook_log = None
    try:
        env = setup(home, project, server.base_url)
        if hook:
            hook_log = work / "hook-inputs.jsonl"
            write_hook(home, project, hook_script(work / "hook.py", hook_log))
        t0 = time.monotonic()
        proc = run(exe, env, project)
        elapsed = time.monotonic() - t0
    finally:
        server.close()
    (work / "run.stdout").write_text(proc.stdout, encoding="utf-8")
    (work / "run.stderr").write_text(proc.stderr, encoding="utf-8")
    print(f"== {work}")
    for r in read_records(record):
        print(f"{r['path']}  {json.dumps(r['reply'])}")
    notes = (project / common.NOTES).read_text(encoding="utf-8")
    print(f"{common.NOTES} now: {notes.strip()!r} ({'changed' if common.NEW in notes else 'NOT changed'})")
    print(f"exit status {proc.returncode} in {elapsed:.1f} s")
    for p in records(home, project):
        print(f"record: {p}")
        for name, args, is_error, text in transcript_calls(p):
            print(f"   {name} {json.dumps(args)[:80]} is_error={is_error} -> {text[:100]!r}")
    if hook_log is not None:
        events = [json.loads(x) for x in hook_log.read_text(encoding="utf-8").splitlines() if x.strip()] \
            if hook_log.exists() else []
        print(f"hook inputs: {len(events)} ({', '.join(e.get('hook_event_name', '?') + ':' + str(e.get('tool_name')) for e in events)})")
    ok = proc.returncode == 0 and common.NEW in notes and bool(records(home, project))
    return {"proc": proc, "home": home, "project": project, "hook_log": hook_log, "ok": ok}


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", required=True, help="work directory (wiped first)")
    ap.add_argument("--exe", help="a claude executable (default: install the pinned one)")
    ap.add_argument("--hook", action="store_true", help="register the hand-written logging hook")
    ap.add_argument("--fixture", action="store_true",
                    help=f"write tests/data/{FIXTURE_DIR}/ (a run without and one with the hook)")
    args = ap.parse_args(argv)
    work = Path(args.work).resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    exe = Path(args.exe) if args.exe else install()
    if not args.fixture:
        return 0 if run_once(exe, work, args.hook)["ok"] else 1
    plain = run_once(exe, work / "plain", hook=False)
    hooked = run_once(exe, work / "hook", hook=True)
    dest = common.repo_root() / "tests" / "data" / FIXTURE_DIR
    dest.mkdir(parents=True, exist_ok=True)
    written = save_fixture(plain["home"], plain["project"], dest)
    lines = [json.dumps(json.loads(x), ensure_ascii=False)
             for x in hooked["hook_log"].read_text(encoding="utf-8").splitlines() if x.strip()]
    text = normalise("\n".join(lines) + "\n", hooked["home"], hooked["project"])
    (dest / "hook-inputs.jsonl").write_text(text, encoding="utf-8")
    written.append(dest / "hook-inputs.jsonl")
    print("fixture:", *written, sep="\n   ")
    return 0 if plain["ok"] and hooked["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
