#!/usr/bin/env python3
"""GitHub Copilot CLI 1.0.102 (npm ``@github/copilot``), offline against the chat-completions
stand-in.

``python3 tests/harness/agents/copilot.py --work DIR [--hook] [--fixture]`` installs it
(``target/harness/copilot-1.0.102``), starts the stand-in, makes the project, runs the common
scenario once and prints the calls the model made, the exit status and the record paths.
``--hook`` writes ``<project>/.github/hooks/self-heal.json`` with a probe for
``preToolUse``, ``postToolUse`` and ``postToolUseFailure`` (it logs its stdin to
``DIR/hook-inputs.jsonl`` and answers ``{"additionalContext": "SELFHEAL-CTX-MARKER <event>"}``).
``--fixture`` writes ``tests/data/copilot-1.0.102/`` (a run without hooks for the records, one
with them for ``hook-inputs.jsonl``).

The native package unpacks ~235 MB on first run; ``COPILOT_PKG_CACHE_HOME`` points that at
``target/harness/copilot-1.0.102/cache`` so it happens once, not in every throw-away HOME.
What Copilot CLI does here is described in ``tests/data/copilot-1.0.102/README.md``.
"""

import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import common  # noqa: E402
from standin_chat import OpenAIChat, StandIn  # noqa: E402

NAME = "copilot"
PACKAGE = "@github/copilot"
VERSION = "1.0.102"
BIN = "copilot"
PROTOCOL = OpenAIChat
MODEL = "gpt-4.1"

HOOK_EVENTS = ("preToolUse", "postToolUse", "postToolUseFailure")


def install(prefix=None, version=VERSION):
    return common.npm_install(prefix or common.default_prefix(NAME, version), PACKAGE, version, BIN)


def pkg_cache(version=VERSION):
    """Where the native binary unpacks its JavaScript (``COPILOT_PKG_CACHE_HOME``), shared by
    all runs instead of ``~/.cache/copilot`` in each throw-away HOME."""
    return common.default_prefix(NAME, version) / "cache"


def copilot_home(home):
    return Path(home) / ".copilot"


def setup(home, project, base_url):
    """No files to write: Copilot CLI takes the provider from the environment. The
    environment to run with (``COPILOT_HOME`` inside ``home``)."""
    home = Path(home)
    copilot_home(home).mkdir(parents=True, exist_ok=True)
    env = common.base_env(home)
    env.update(
        COPILOT_OFFLINE="true",
        COPILOT_PROVIDER_BASE_URL=base_url.rstrip("/") + "/v1",
        COPILOT_PROVIDER_API_KEY="dummy",
        COPILOT_MODEL=MODEL,
        COPILOT_AUTO_UPDATE="false",
        COPILOT_HOME=str(copilot_home(home)),
        COPILOT_PKG_CACHE_HOME=str(pkg_cache()),
        # repository hooks (.github/hooks/*.json) load in -p mode only with this
        GITHUB_COPILOT_PROMPT_MODE_REPO_HOOKS="true",
        NO_COLOR="1",
    )
    return env


def steps(project):
    """The common scenario in Copilot CLI's tools (``bash``, ``view``, ``edit``)."""
    project = Path(project)
    notes = str(project / common.NOTES)
    return [
        {"tool": "bash", "args": {"command": common.FAILING, "description": "Run the tests with pytest"},
         "label": common.FAILING},
        {"tool": "bash", "args": {"command": common.PASSING, "description": "Run the tests with unittest"},
         "label": common.PASSING},
        {"tool": "view", "args": {"path": str(project / common.MISSING)}, "label": "view " + common.MISSING},
        {"tool": "view", "args": {"path": notes}, "label": "view " + common.NOTES},
        {"tool": "edit", "args": {"path": notes, "old_str": common.OLD, "new_str": common.NEW},
         "label": "edit " + common.NOTES},
    ]


def run(exe, env, project, prompt=common.PROMPT, timeout=180):
    return subprocess.run(
        [str(exe), "-p", prompt, "--allow-all-tools", "--no-auto-update"],
        cwd=str(project), env=dict(env, PWD=str(project)), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout,
    )


def session_dirs(home):
    root = copilot_home(home) / "session-state"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def records(home, project=None):
    out = []
    for d in session_dirs(home):
        out += [p for p in (d / "events.jsonl", d / "workspace.yaml") if p.exists()]
    return out


def save_fixture(home, project, dest):
    """``dest/session-state/<id>/events.jsonl`` and ``workspace.yaml``, paths normalised."""
    written = []
    for src in records(home, project):
        out = Path(dest) / "session-state" / src.parent.name / src.name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(common.normalise(src.read_text(encoding="utf-8"), home, project), encoding="utf-8")
        written.append(out)
    return written


# --- guidance at call time ------------------------------------------------------------------


def write_hook(home, project, command, events=HOOK_EVENTS, timeout=10):
    """``<project>/.github/hooks/self-heal.json`` running ``command`` (a shell command line) for
    ``events``. ``command`` may contain ``{event}``, replaced by each event's name (the input
    JSON does not name its event). Repository hooks load in ``-p`` mode only with
    ``GITHUB_COPILOT_PROMPT_MODE_REPO_HOOKS=true`` (``setup`` sets it)."""
    path = Path(project) / ".github" / "hooks" / "self-heal.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    hooks = {e: [{"type": "command", "bash": command.replace("{event}", e), "timeoutSec": timeout}]
             for e in events}
    path.write_text(json.dumps({"version": 1, "hooks": hooks}, indent=2) + "\n")
    return path


MARKER = "SELFHEAL-CTX-MARKER"
AGENTS_MARKER = "AGENTS-MD-MARKER-COPILOT"

PROBE_HOOK = '''#!/usr/bin/env python3
import json, os, sys
event = sys.argv[1]
data = sys.stdin.read()
try:
    data = json.loads(data)
except ValueError:
    pass
env = {k: v for k, v in os.environ.items()
       if (k.startswith(("COPILOT_", "GITHUB_")) or "HOOK" in k or "SESSION" in k) and "KEY" not in k}
with open(%(log)r, "a", encoding="utf-8") as f:
    f.write(json.dumps({"event": event, "input": data, "env": env, "cwd": os.getcwd()}) + "\\n")
print(json.dumps({"additionalContext": %(marker)r + " " + event}))
'''


def write_probe(work, home, project):
    work = Path(work)
    log = work / "hook-inputs.jsonl"
    script = work / "probe_hook.py"
    script.write_text(PROBE_HOOK % {"log": str(log), "marker": MARKER})
    write_hook(home, project, f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {{event}}")
    return log


# --- one run --------------------------------------------------------------------------------


def run_once(exe, work, hook):
    from standin import read_records

    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    home.mkdir()
    project = common.make_project(work / "project")
    (project / "AGENTS.md").write_text(f"# Project rules\n\n{AGENTS_MARKER}: run tests with unittest.\n")
    record = work / "requests.jsonl"
    server = StandIn({"steps": steps(project), "final_text": "done", "side_text": "Running the tests"}, str(record))
    hook_log = None
    try:
        env = setup(home, project, server.base_url)
        if hook:
            hook_log = write_probe(work, home, project)
        t0 = time.monotonic()
        proc = run(exe, env, project)
        elapsed = time.monotonic() - t0
    finally:
        server.close()
    (work / "run.stdout").write_text(proc.stdout)
    (work / "run.stderr").write_text(proc.stderr)
    print(f"== {work}")
    reqs = read_records(record)
    for r in reqs:
        print(f"{r['path']}  {json.dumps(r['reply'])}")
    bodies = [r["body"] for r in reqs if isinstance(r.get("body"), dict)]
    print(f"AGENTS.md marker in instruction context: {[AGENTS_MARKER in OpenAIChat.instruction_context(b) for b in bodies]}")
    if hook:
        print(f"{MARKER} in requests: {[json.dumps(b).count(MARKER) for b in bodies]}")
    print(f"notes.txt now: {(project / common.NOTES).read_text().strip()!r}")
    print(f"exit status {proc.returncode} in {elapsed:.1f} s")
    for p in records(home, project):
        print(f"record: {p}")
    return {"proc": proc, "home": home, "project": project, "hook_log": hook_log}


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", required=True, help="work directory (wiped first)")
    ap.add_argument("--exe", help="a copilot executable (default: install the pinned one)")
    ap.add_argument("--hook", action="store_true", help="write .github/hooks/self-heal.json with a probe")
    ap.add_argument("--fixture", action="store_true",
                    help="write tests/data/copilot-1.0.102/ (a run without and one with the hooks)")
    args = ap.parse_args(argv)
    work = Path(args.work).resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    exe = Path(args.exe) if args.exe else install()
    if not args.fixture:
        return run_once(exe, work, args.hook)["proc"].returncode
    plain = run_once(exe, work / "plain", hook=False)
    hooked = run_once(exe, work / "hook", hook=True)
    dest = common.repo_root() / "tests" / "data" / f"{NAME}-{VERSION}"
    if (dest / "session-state").exists():
        shutil.rmtree(dest / "session-state")
    save_fixture(plain["home"], plain["project"], dest)
    lines = []
    for line in hooked["hook_log"].read_text().splitlines():
        entry = json.loads(line)
        lines.append(json.dumps({"event": entry["event"], "input": entry["input"]}, ensure_ascii=False))
    text = common.normalise("\n".join(lines) + "\n", hooked["home"], hooked["project"])
    (dest / "hook-inputs.jsonl").write_text(text)
    print(f"fixture: {dest}")
    return plain["proc"].returncode or hooked["proc"].returncode


if __name__ == "__main__":
    sys.exit(main())
