#!/usr/bin/env python3
"""OpenCode 1.18.33 (npm ``opencode-ai``), offline against the chat-completions stand-in.

``python3 tests/harness/agents/opencode.py --work DIR [--hook] [--fixture]`` installs it
(``target/harness/opencode-1.18.33``), starts the stand-in, makes the project, runs the common
scenario once and prints the calls the model made, the exit status and the record paths.
``--hook`` installs the self-heal plugin (``crates/selfheal-harness/assets/opencode-plugin.js``)
with a probe standing in for ``self-heal hook`` (it logs its stdin to ``DIR/hook-inputs.jsonl``
and answers ``SELFHEAL-CTX-MARKER``) plus a second plugin that logs every plugin event for the
tool calls (``DIR/plugin-events.jsonl``). ``--fixture`` writes ``tests/data/opencode-1.18.33/``
from two runs: one without the plugin (``opencode.db``), one with it (``hook-inputs.jsonl``).

What OpenCode does here is described in ``tests/data/opencode-1.18.33/README.md``.
"""

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import common  # noqa: E402
from standin_chat import OpenAIChat, StandIn  # noqa: E402

NAME = "opencode"
PACKAGE = "opencode-ai"
VERSION = "1.18.33"
BIN = "opencode"
PROTOCOL = OpenAIChat
MODEL = "stub/m"

PLUGIN_ASSET = common.repo_root() / "crates" / "selfheal-harness" / "assets" / "opencode-plugin.js"
PLUGIN_PATH = Path(".opencode") / "plugin" / "self-heal.js"


def install(prefix=None, version=VERSION):
    return common.npm_install(prefix or common.default_prefix(NAME, version), PACKAGE, version, BIN)


def _dirs(home):
    home = Path(home)
    return {
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_CACHE_HOME": home / ".cache",
    }


def _skip_plugin_install(folder):
    """What makes OpenCode skip its ``npm install @opencode-ai/plugin`` in ``folder`` at start
    (with no registry it stalls ~70 s): an empty ``node_modules/`` and a package.json and
    package-lock.json that list the package."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "node_modules").mkdir(exist_ok=True)
    deps = {"@opencode-ai/plugin": VERSION}
    if not (folder / "package.json").exists():
        (folder / "package.json").write_text(json.dumps({"dependencies": deps}, indent=2) + "\n")
    lock = {"name": folder.name, "lockfileVersion": 3, "requires": True,
            "packages": {"": {"dependencies": deps},
                         "node_modules/@opencode-ai/plugin": {"version": VERSION}}}
    if not (folder / "package-lock.json").exists():
        (folder / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n")


def config(base_url):
    return {
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": False,
        "share": "disabled",
        "model": MODEL,
        "small_model": MODEL,
        "enabled_providers": ["stub"],
        "permission": {"bash": "allow", "edit": "allow", "read": "allow", "external_directory": "allow"},
        "provider": {
            "stub": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "stand-in",
                "options": {"baseURL": base_url.rstrip("/") + "/v1", "apiKey": "dummy"},
                "models": {"m": {"name": "m", "tool_call": True, "limit": {"context": 100000, "output": 4096}}},
            }
        },
    }


def setup(home, project, base_url):
    """Writes ``$XDG_CONFIG_HOME/opencode/opencode.json`` (the stand-in as provider ``stub``) and
    the files that stop the plugin npm install; the environment to run with."""
    home, project = Path(home), Path(project)
    dirs = _dirs(home)
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    conf_dir = dirs["XDG_CONFIG_HOME"] / "opencode"
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "opencode.json").write_text(json.dumps(config(base_url), indent=2) + "\n")
    _skip_plugin_install(conf_dir)
    _skip_plugin_install(project / ".opencode")
    env = common.base_env(home)
    env.update({k: str(v) for k, v in dirs.items()})
    env.update(OPENCODE_DISABLE_AUTOUPDATE="1", OPENCODE_DISABLE_SHARE="1",
               OPENCODE_DISABLE_MODELS_FETCH="1", OPENCODE_DISABLE_LSP_DOWNLOAD="1")
    return env


def steps(project):
    """The common scenario in OpenCode's tools (``bash``, ``read``, ``edit``)."""
    project = Path(project)
    notes = str(project / common.NOTES)
    return [
        # bash in 1.18.33 takes {command, timeout, workdir}: no description
        {"tool": "bash", "args": {"command": common.FAILING}, "label": common.FAILING},
        {"tool": "bash", "args": {"command": common.PASSING}, "label": common.PASSING},
        {"tool": "read", "args": {"filePath": str(project / common.MISSING)}, "label": "read " + common.MISSING},
        {"tool": "read", "args": {"filePath": notes}, "label": "read " + common.NOTES},
        {"tool": "edit", "args": {"filePath": notes, "oldString": common.OLD, "newString": common.NEW},
         "label": "edit " + common.NOTES},
    ]


def run(exe, env, project, prompt=common.PROMPT, timeout=180):
    # OpenCode takes its working directory from PWD when it is set: an inherited PWD would
    # make it work in the caller's folder, not the project.
    env = dict(env, PWD=str(project))
    return subprocess.run(
        [str(exe), "run", "--format", "json", "-m", MODEL, prompt],
        cwd=str(project), env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=timeout,
    )


def db_path(home):
    return _dirs(home)["XDG_DATA_HOME"] / "opencode" / "opencode.db"


def records(home, project=None):
    db = db_path(home)
    return [p for p in (db, Path(str(db) + "-wal")) if p.exists()]


def save_fixture(home, project, dest):
    """``dest/opencode.db``: one file (no WAL, vacuumed, 1 KB pages), copied with SQLite's backup API, the
    throw-away paths in its text columns replaced by the fixed ones."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / "opencode.db"
    for p in (out, Path(str(out) + "-wal"), Path(str(out) + "-shm"), Path(str(out) + "-journal")):
        if p.exists():
            p.unlink()
    src = sqlite3.connect(str(db_path(home)))
    dst = sqlite3.connect(str(out))
    try:
        src.backup(dst)
    finally:
        src.close()
    try:
        dst.execute("PRAGMA journal_mode=DELETE")
        pairs = []
        for real, fixed in ((str(Path(project).resolve()), common.FIXTURE_PROJECT), (str(project), common.FIXTURE_PROJECT),
                            (str(Path(home).resolve()), common.FIXTURE_HOME), (str(home), common.FIXTURE_HOME)):
            for a, b in ((real, fixed), (json.dumps(real)[1:-1], json.dumps(fixed)[1:-1])):
                if (a, b) not in pairs and a != b:
                    pairs.append((a, b))
        tables = [r[0] for r in dst.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            cols = [r[1] for r in dst.execute(f'PRAGMA table_info("{table}")')]
            for col in cols:
                for real, fixed in pairs:
                    dst.execute(
                        f'UPDATE "{table}" SET "{col}" = replace("{col}", ?, ?) '
                        f'WHERE typeof("{col}") = \'text\' AND instr("{col}", ?) > 0',
                        (real, fixed, real))
        dst.commit()
        # 1 KB pages: most of its ~55 tables and indexes are empty, a page each
        dst.execute("PRAGMA page_size=1024")
        dst.execute("VACUUM")
    finally:
        dst.close()
    return [out]


# --- guidance at call time ------------------------------------------------------------------


def write_plugin(project, argv):
    """``<project>/.opencode/plugin/self-heal.js``: the fixed plugin with ``argv`` (the command
    that answers the hook, e.g. ``[self-heal, --db, DB, hook]``) prepended, as
    ``self-heal install opencode`` writes it."""
    path = Path(project) / PLUGIN_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "const SELF_HEAL_ARGV = " + json.dumps([str(a) for a in argv]) + ";\n"
    path.write_text(head + PLUGIN_ASSET.read_text(encoding="utf-8"), encoding="utf-8")
    return path


MARKER = "SELFHEAL-CTX-MARKER"
AGENTS_MARKER = "AGENTS-MD-MARKER-OPENCODE"

PROBE_HOOK = '''#!/usr/bin/env python3
import json, sys
data = sys.stdin.read()
with open(%(log)r, "a", encoding="utf-8") as f:
    f.write(json.dumps(json.loads(data)) + "\\n")
print(json.dumps({"hookSpecificOutput": {"additionalContext": %(marker)r}}))
'''

# Logs every plugin hook that concerns a tool call, to see what a throwing tool produces.
EVENTS_PLUGIN = '''import { appendFileSync } from "node:fs";
const LOG = %(log)s;
const log = (kind, value) => { try { appendFileSync(LOG, JSON.stringify({ kind, value }) + "\\n"); } catch {} };
export const ProbeEvents = async () => ({
  "tool.execute.before": async (input, output) => log("tool.execute.before", { input, output }),
  "tool.execute.after": async (input, output) => log("tool.execute.after", { input, output }),
  event: async ({ event }) => {
    const part = event?.properties?.part;
    if (event?.type === "message.part.updated" && part?.type === "tool" &&
        ["completed", "error"].includes(part?.state?.status)) log("event", event);
    if (event?.type === "session.error") log("event", event);
  },
});
'''


def write_probe(work, project):
    """The probe hook (a Python script standing in for ``self-heal hook``), the self-heal plugin
    pointing at it, and a second plugin logging tool events; their log paths."""
    work = Path(work)
    hook_log, events_log = work / "hook-inputs.jsonl", work / "plugin-events.jsonl"
    script = work / "probe_hook.py"
    script.write_text(PROBE_HOOK % {"log": str(hook_log), "marker": MARKER})
    write_plugin(project, [sys.executable, str(script)])
    (Path(project) / ".opencode" / "plugin" / "probe-events.js").write_text(
        EVENTS_PLUGIN % {"log": json.dumps(str(events_log))})
    return hook_log, events_log


# --- one run --------------------------------------------------------------------------------


def model_calls(record_path):
    """What the model answered, request by request."""
    from standin import read_records

    return [(r["path"], r["reply"]) for r in read_records(record_path)]


def run_once(exe, work, hook):
    """One session of the common scenario in ``work`` (home/, project/, requests.jsonl, ...);
    prints what happened. ``hook``: with the self-heal plugin and the probe."""
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
            hook_log, _ = write_probe(work, project)
        t0 = time.monotonic()
        proc = run(exe, env, project)
        elapsed = time.monotonic() - t0
    finally:
        server.close()
    (work / "run.stdout").write_text(proc.stdout)
    (work / "run.stderr").write_text(proc.stderr)
    print(f"== {work}")
    for path, reply in model_calls(record):
        print(f"{path}  {json.dumps(reply)}")
    reqs = [r for r in read_records(record) if isinstance(r.get("body"), dict)]
    print(f"AGENTS.md marker in instruction context: {[AGENTS_MARKER in OpenAIChat.instruction_context(r['body']) for r in reqs]}")
    if hook:
        print(f"{MARKER} in requests: {[MARKER in json.dumps(r['body']) for r in reqs]}")
    print(f"notes.txt now: {(project / common.NOTES).read_text().strip()!r}")
    print(f"exit status {proc.returncode} in {elapsed:.1f} s")
    for p in records(home, project):
        print(f"record: {p}")
    return {"proc": proc, "home": home, "project": project, "hook_log": hook_log}


def main(argv=None):
    import argparse
    import shutil

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", required=True, help="work directory (wiped first)")
    ap.add_argument("--exe", help="an opencode executable (default: install the pinned one)")
    ap.add_argument("--hook", action="store_true", help="install the plugin with a probe hook")
    ap.add_argument("--fixture", action="store_true",
                    help="write tests/data/opencode-1.18.33/ (a run without and one with the plugin)")
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
    save_fixture(plain["home"], plain["project"], dest)
    text = common.normalise(hooked["hook_log"].read_text(), hooked["home"], hooked["project"])
    (dest / "hook-inputs.jsonl").write_text(text)
    print(f"fixture: {dest}")
    return plain["proc"].returncode or hooked["proc"].returncode


if __name__ == "__main__":
    sys.exit(main())
