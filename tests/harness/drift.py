#!/usr/bin/env python3
"""Drift check: do today's harnesses still write what ``self-heal import`` reads?

Python 3 standard library only. For each harness (``claude-code``, ``codex``, ``gemini``,
``opencode``, ``copilot``; ``--only NAME,...`` picks some) it installs the harness (npm,
cached under ``target/harness``), starts the stand-in of its protocol with the common
scenario's steps (``agents/common.py``), runs one session in a throw-away HOME and project,
imports what the harness wrote into a fresh database and detects patterns::

    self-heal --db <tmp>/h.db import --json <records>
    SELFHEAL_NOW=<now+1h> SELFHEAL_INDEX_DIR=<tmp>/idx \\
        self-heal --db <tmp>/h.db detect --json --min-occurrences 1 --confidence 0

**Pinned mode** (default): the pinned version of each harness; the checks (one line each,
``PASS ...`` / ``FAIL ...: detail``) are exactly 1 run, 5 tool calls, 2 failed, the failed
``pytest -q`` call with exit code 127 (``run_events`` ``tool_complete``), the patterns
``{dependency_failure:<shell tool>:pytest, <the missing-file read's pattern>}``, the run's
``cwd`` is the project, no skipped lines but the known ones, and the committed fixture
(``tests/data/<harness>-<version>/``, imported the same way into another database) gives the
same counts and pattern ids. Wall times per harness (install, session, import) are printed;
the exit status is 1 when any check failed.

**``--latest``**: ``npm view <package> version``, installs that under
``target/harness/latest/<name>`` (the pinned install when it is the same version), runs the
same scenario and reports what changed compared with the pinned fixture: record types and
keys (JSONL: the ``type`` values, with the ``type`` of ``payload`` / ``data`` /
``attachment`` when there is one, and the top-level keys per type, plus the keys of those
nested objects; OpenCode's SQLite: tables and columns, part ``data.type`` values and tool part
``state`` keys), import skip reasons, and any count or pattern that differs. It is a report:
it exits 0 unless the scenario (the harness's exit status, the edit, the records) or the
import broke.

``--fixtures`` re-writes every selected harness's fixture from this run (each module's
``save_fixture``; for Codex and Gemini, whose fixtures were made with their hand-written
hook registered, also ``hook-inputs.jsonl``; the other three keep theirs, which come from a
separate run). ``--work DIR`` keeps everything in DIR, ``--keep`` keeps the temporary work
directory, ``--cli PATH`` names the ``self-heal`` binary (default ``target/debug/self-heal``).

The expected values per harness are in ``HARNESSES`` below.
"""

import argparse
import datetime as dt
import importlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "agents"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import common  # noqa: E402
import standin  # noqa: E402

REPO = common.repo_root()

# name -> the module in agents/, its fixture folder (under tests/data), what in it holds the
# records (what the fixture import reads), the shell tool, the pattern of the missing-file read,
# and the import skip reasons that are known and fine (regular expressions).
HARNESSES = {
    "claude-code": {
        "module": "claude",
        "fixture": "claude-code-2.1.328",
        "records": "projects",
        "shell": "Bash",
        "read_pattern": "not_found:Read",
        "known_skips": [],
    },
    "codex": {
        "module": "codex",
        "fixture": "codex-0.169.0",
        "records": "sessions",
        "shell": "exec_command",
        "read_pattern": "not_found:exec_command:cat",  # no read tool: the read is `cat`
        "known_skips": [],
    },
    "gemini": {
        "module": "gemini",
        "fixture": "gemini-cli-0.61.0",
        "records": "tmp",
        "shell": "run_shell_command",
        "read_pattern": "not_found:read_file",
        # ~/.gemini/projects.json is among the records (the reader maps folders with it) but
        # is no history itself
        "known_skips": [r"^not a known history format: a JSON document of another kind$"],
    },
    "opencode": {
        "module": "opencode",
        "fixture": "opencode-1.18.33",
        "records": "opencode.db",
        "shell": "bash",
        "read_pattern": "not_found:read",
        "known_skips": [],
    },
    "copilot": {
        "module": "copilot",
        "fixture": "copilot-1.0.102",
        "records": "session-state",
        "shell": "bash",
        "read_pattern": "not_found:view",
        # bookkeeping events the reader leaves out; workspace.yaml is no history
        "known_skips": [
            r"^Copilot CLI event `(system\.message|session\.usage_record|assistant\.turn_end|session\.shutdown)` not read$",
            r"^not a known history format: not JSON$",  # workspace.yaml
        ],
    },
}
EXPECTED = {"runs": 1, "calls": 5, "failed": 2}

# What the fixtures' hand-written hooks were: Codex and Gemini fixtures come from a run with
# the hook registered (its answers show in the records), so the drift run registers it too.
HOOKED = {"codex", "gemini"}


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            self.failures.append(name)
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return bool(cond)


def info(text):
    print(f"  .. {text}", flush=True)


def short(value, n=400):
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = text.replace("\n", "\\n")
    return text if len(text) <= n else text[: n - 3] + "..."


def rfc3339(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- self-heal ------------------------------------------------------------------------------


def cli_env(workdir, now):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SELFHEAL_") and k not in ("DATABASE_PATH", "INBOX_PATH")}
    env.update(SELFHEAL_INDEX_DIR=str(workdir / "idx"), INBOX_PATH=str(workdir / "inbox"))
    if now:
        env["SELFHEAL_NOW"] = now
    return env


def run_cli(cli, args, env, timeout=300):
    """``self-heal ARGS``; waits a little when the binary is briefly missing (a rebuild)."""
    for attempt in range(30):
        try:
            return subprocess.run([cli] + args, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=timeout)
        except (FileNotFoundError, PermissionError, OSError) as e:
            if attempt == 29:
                raise SystemExit(f"cannot run {cli}: {e}")
            time.sleep(2)


def import_and_detect(cli, db, paths, workdir, now):
    """Imports ``paths`` into ``db`` and detects (``SELFHEAL_NOW=now``; ``None``: an hour
    after the last imported event, for a fixture); a dict with the import's JSON, the counts
    from the database, the calls, the run's cwd and the pattern ids (``error`` when a command
    failed)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = cli_env(workdir, now)
    out = {"error": None}
    t0 = time.monotonic()
    p = run_cli(cli, ["--db", str(db), "import", "--json"] + [str(x) for x in paths], env)
    out["import_seconds"] = time.monotonic() - t0
    try:
        out["import"] = json.loads(p.stdout) if p.returncode == 0 else None
    except ValueError:
        out["import"] = None
    if out["import"] is None:
        out["error"] = f"import exit {p.returncode}: {short(p.stderr or p.stdout)}"
        return out
    out.update(read_db(db))
    if now is None:
        env = cli_env(workdir, fixture_now(db))
    p = run_cli(cli, ["--db", str(db), "detect", "--json", "--min-occurrences", "1", "--confidence", "0"], env)
    try:
        view = json.loads(p.stdout) if p.returncode == 0 else None
    except ValueError:
        view = None
    if view is None:
        out["error"] = f"detect exit {p.returncode}: {short(p.stderr or p.stdout)}"
        out["patterns"] = None
        return out
    out["patterns"] = sorted(pt.get("pattern_id") or pt.get("id") for pt in view.get("patterns", []))
    return out


def read_db(db):
    conn = sqlite3.connect(str(db))
    try:
        runs = conn.execute("SELECT id, metadata FROM runs").fetchall()
        starts, calls = {}, []
        for etype, data in conn.execute(
                "SELECT event_type, event_data FROM run_events WHERE event_type IN ('tool_start', 'tool_complete') "
                "ORDER BY id"):
            e = json.loads(data)
            if etype == "tool_start":
                starts[e.get("call_id")] = e.get("arguments")
            else:
                calls.append({"name": e.get("name"), "is_error": bool(e.get("is_error")),
                              "exit_code": e.get("exit_code"), "result": e.get("result"),
                              "arguments": starts.get(e.get("call_id"))})
        last = conn.execute("SELECT max(timestamp) FROM run_events").fetchone()[0]
    finally:
        conn.close()
    cwds = []
    for _, meta in runs:
        try:
            cwds.append((json.loads(meta or "{}") or {}).get("cwd"))
        except ValueError:
            cwds.append(None)
    return {"runs": len(runs), "calls": calls, "cwds": cwds, "last_event": last,
            "counts": {"runs": len(runs), "calls": len(calls), "failed": sum(c["is_error"] for c in calls)}}


def fixture_now(db):
    """An hour after the fixture's last event (the fixture is old; ``detect`` looks back 7
    days from SELFHEAL_NOW)."""
    conn = sqlite3.connect(str(db))
    try:
        last = conn.execute("SELECT max(timestamp) FROM run_events").fetchone()[0]
    finally:
        conn.close()
    try:
        t = dt.datetime.fromisoformat(str(last).replace("Z", "+00:00"))
        if t.tzinfo is None:
            t = t.replace(tzinfo=dt.timezone.utc)
    except ValueError:
        t = dt.datetime.now(dt.timezone.utc)
    return rfc3339(t + dt.timedelta(hours=1))


def skip_reasons(imported):
    return dict((imported or {}).get("skipped_by_reason") or {})


def unknown_skips(imported, known):
    return {r: n for r, n in skip_reasons(imported).items() if not any(re.search(k, r) for k in known)}


# --- the harness run ------------------------------------------------------------------------


def load(name):
    return importlib.import_module(HARNESSES[name]["module"])


def install(name, mod, version, latest):
    """The executable: the pinned version cached under target/harness (``latest``: under
    target/harness/latest/<name>, unless it is the pinned version)."""
    if not latest or version == mod.VERSION:
        # (Claude Code reuses target/harness/claude-code when install_claude.sh put it there)
        return mod.install(common.default_prefix(mod.NAME, mod.VERSION))
    return mod.install(REPO / "target" / "harness" / "latest" / name, version=version)


def run_session(name, mod, exe, workdir, version):
    """One session of the common scenario in ``workdir``: (proc, home, project, hook log)."""
    home = workdir / "home"
    home.mkdir(parents=True)
    project = common.make_project(workdir / "project")
    protocol = mod.PROTOCOL()
    script = {"steps": mod.steps(project), "final_text": "done", "side_text": "Running the tests"}
    server = standin.StandIn(protocol, script, str(workdir / "requests.jsonl"))
    pinned_version = mod.VERSION
    hook_log = None
    try:
        # OpenCode's setup pins its plugin package to the module's VERSION (else it npm-installs
        # it at start); a newer OpenCode wants its own version there.
        mod.VERSION = version
        env = mod.setup(home, project, server.base_url)
        if "COPILOT_PKG_CACHE_HOME" in env and version != pinned_version:
            env["COPILOT_PKG_CACHE_HOME"] = str(REPO / "target" / "harness" / "latest" / name / "cache")
        if name in HOOKED:
            hook_log = register_hook(name, mod, workdir, home, project)
        proc = mod.run(exe, env, project, common.PROMPT)
    finally:
        mod.VERSION = pinned_version
        server.close()
    (workdir / "run.stdout").write_text(proc.stdout or "", encoding="utf-8")
    (workdir / "run.stderr").write_text(proc.stderr or "", encoding="utf-8")
    return proc, home, project, hook_log


def register_hook(name, mod, workdir, home, project):
    if name == "codex":
        log = workdir / "hook-inputs.jsonl"
        mod.write_hook(home, project, mod.hook_script(workdir / "hook.py", log))
        return log
    if name == "gemini":
        return mod.write_test_hook(workdir, home, project)
    return None


def import_paths(records):
    """What to hand to ``self-heal import``: the records, without SQLite's side files (the
    reader opens the database with them)."""
    return [p for p in records if not p.name.endswith(("-wal", "-shm", "-journal"))]


def save_fixture(name, mod, home, project, hook_log):
    entry = HARNESSES[name]
    dest = REPO / "tests" / "data" / entry["fixture"]
    dest.mkdir(parents=True, exist_ok=True)
    old = dest / entry["records"]
    if old.is_dir() and name in ("codex", "copilot"):  # their save_fixture adds, never removes
        shutil.rmtree(old)
    written = mod.save_fixture(home, project, dest)
    if hook_log is not None and hook_log.exists():
        text = hook_log.read_text(encoding="utf-8")
        if name == "gemini":  # its log wraps each input with the hook's environment
            lines = [json.loads(x)["input"] for x in text.splitlines() if x.strip()]
            text = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
        norm = getattr(mod, "normalise", common.normalise)
        (dest / "hook-inputs.jsonl").write_text(norm(text, home, project), encoding="utf-8")
        written.append(dest / "hook-inputs.jsonl")
    return written


# --- record shapes (for --latest) -----------------------------------------------------------

NESTED = ("payload", "data", "attachment")


def jsonl_shape(paths):
    """``{"types": {...}, "keys <type>": {...}}`` over JSONL files: the ``type`` values (with
    ``/<nested>.type`` when a ``payload``/``data``/``attachment`` object has one) and the keys
    per top-level type (top-level keys, and ``<nested>.<key>`` for those objects)."""
    shape = {}
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(obj, dict):
                    continue
                top = obj.get("type") if isinstance(obj.get("type"), str) else "(no type)"
                label = top
                for k in NESTED:
                    v = obj.get(k)
                    if isinstance(v, dict) and isinstance(v.get("type"), str):
                        label = f"{top}/{k}.{v['type']}"
                        break
                shape.setdefault("types", set()).add(label)
                keys = shape.setdefault(f"keys of {top}", set())
                keys.update(obj.keys())
                for k in NESTED:
                    if isinstance(obj.get(k), dict):
                        keys.update(f"{k}.{kk}" for kk in obj[k])
    return shape


def sqlite_shape(path):
    """Tables and columns; part ``data.type`` values; tool part ``state`` keys per status."""
    shape = {}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        shape["tables"] = set(tables)
        for t in tables:
            shape[f"columns of {t}"] = {r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')}
        if "part" in tables:
            for (data,) in conn.execute("SELECT data FROM part"):
                try:
                    d = json.loads(data)
                except (TypeError, ValueError):
                    continue
                shape.setdefault("part data.type", set()).add(str(d.get("type")))
                shape.setdefault(f"part keys of {d.get('type')}", set()).update(d.keys())
                state = d.get("state")
                if isinstance(state, dict):
                    shape.setdefault(f"tool state keys ({state.get('status')})", set()).update(state.keys())
                    if isinstance(state.get("metadata"), dict):
                        shape.setdefault(f"tool state.metadata keys ({d.get('tool')})", set()).update(
                            state["metadata"].keys())
        if "message" in tables:
            for (data,) in conn.execute("SELECT data FROM message"):
                try:
                    d = json.loads(data)
                except (TypeError, ValueError):
                    continue
                shape.setdefault(f"message keys ({d.get('role')})", set()).update(d.keys())
    finally:
        conn.close()
    return shape


def record_files(paths):
    """Every file under ``paths`` (files or folders)."""
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out += sorted(x for x in p.rglob("*") if x.is_file())
        elif p.is_file():
            out.append(p)
    return out


def shape_of(paths):
    files = record_files(paths)
    shape = jsonl_shape([f for f in files if f.suffix == ".jsonl"])
    for f in files:
        if f.suffix == ".db":
            for k, v in sqlite_shape(f).items():
                shape.setdefault(k, set()).update(v)
    return shape


def shape_diff(new, old):
    lines = []
    for kind in sorted(set(new) | set(old)):
        added = sorted(new.get(kind, set()) - old.get(kind, set()))
        gone = sorted(old.get(kind, set()) - new.get(kind, set()))
        if kind not in old:
            lines.append(f"{kind}: only in the new records: {', '.join(added)}")
        elif kind not in new:
            lines.append(f"{kind}: only in the fixture: {', '.join(gone)}")
        else:
            if added:
                lines.append(f"{kind}: new: {', '.join(added)}")
            if gone:
                lines.append(f"{kind}: gone: {', '.join(gone)}")
    return lines


# --- one harness ----------------------------------------------------------------------------


def npm_latest(package):
    p = subprocess.run(["npm", "view", package, "version"], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0 or not p.stdout.strip():
        raise RuntimeError(f"npm view {package} version: exit {p.returncode}: {short(p.stderr)}")
    return p.stdout.strip().splitlines()[-1].strip().strip("'\"")


def check_harness(name, args, tally, work):
    """Pinned mode (or, with ``args.latest``, the report) for one harness; whether the scenario
    and the import ran (``--latest`` exits 1 otherwise)."""
    entry = HARNESSES[name]
    mod = load(name)
    tag = name
    version = mod.VERSION
    if args.latest:
        try:
            version = npm_latest(mod.PACKAGE)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            tally.check(f"{tag}: npm view {mod.PACKAGE} version", False, str(e))
            return False
        print(f"{tag}: {mod.PACKAGE}@latest is {version} (pinned {mod.VERSION}"
              f"{', the same' if version == mod.VERSION else ''})", flush=True)
        tag = f"{name}@{version}"
    workdir = work / (f"latest-{name}" if args.latest else name)
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)

    t0 = time.monotonic()
    try:
        exe = install(name, mod, version, args.latest)
    except (subprocess.CalledProcessError, OSError) as e:
        tally.check(f"{tag}: install {mod.PACKAGE}@{version}", False, str(e))
        return False
    t_install = time.monotonic() - t0

    t0 = time.monotonic()
    try:
        proc, home, project, hook_log = run_session(name, mod, exe, workdir, version)
    except subprocess.TimeoutExpired as e:
        tally.check(f"{tag}: the session ended", False, f"timed out after {e.timeout} s; see {workdir}")
        return False
    t_session = time.monotonic() - t0
    notes = (project / common.NOTES).read_text(encoding="utf-8")
    records = mod.records(home, project)
    scenario_ok = proc.returncode == 0 and common.NEW in notes and bool(records)
    tally.check(f"{tag}: the session exits 0, edits {common.NOTES} and leaves records", scenario_ok,
                f"exit {proc.returncode}, notes {notes.strip()!r}, records {[str(r) for r in records]}; "
                f"stderr {short(proc.stderr[-600:] if proc.stderr else '')}")
    if not records:
        print(f"{tag}: install {t_install:.1f} s, session {t_session:.1f} s, import -", flush=True)
        return False

    now = rfc3339(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
    got = import_and_detect(args.cli, workdir / "h.db", import_paths(records), workdir, now)
    print(f"{tag}: install {t_install:.1f} s, session {t_session:.1f} s, import {got['import_seconds']:.2f} s",
          flush=True)
    import_ok = tally.check(f"{tag}: import and detect run", got["error"] is None, got["error"] or "")
    if not import_ok:
        return False
    import_ok = got["runs"] >= 1

    fixture_dir = REPO / "tests" / "data" / entry["fixture"]
    fixture_records = fixture_dir / entry["records"]
    fx = None
    if fixture_records.exists():
        fx = import_and_detect(args.cli, workdir / "fixture.db", [fixture_records], workdir / "fixture", None)
    shell, want_patterns = entry["shell"], sorted([f"dependency_failure:{entry['shell']}:pytest", entry["read_pattern"]])

    if not args.latest:
        c = got["counts"]
        tally.check(f"{tag}: exactly 1 run", c["runs"] == EXPECTED["runs"], f"{c['runs']} runs")
        tally.check(f"{tag}: 5 tool calls", c["calls"] == EXPECTED["calls"],
                    f"{c['calls']}: {[x['name'] for x in got['calls']]}")
        tally.check(f"{tag}: 2 failed", c["failed"] == EXPECTED["failed"],
                    f"{c['failed']}: {[(x['name'], x['exit_code']) for x in got['calls'] if x['is_error']]}")
        pytest_calls = [x for x in got["calls"] if x["name"] == shell and common.FAILING in json.dumps(x["arguments"])]
        tally.check(f"{tag}: the failed `{common.FAILING}` {shell} call has exit code 127",
                    len(pytest_calls) == 1 and pytest_calls[0]["is_error"] and pytest_calls[0]["exit_code"] == 127,
                    short([{k: x[k] for k in ('is_error', 'exit_code', 'result')} for x in pytest_calls]))
        tally.check(f"{tag}: patterns {want_patterns}", got["patterns"] == want_patterns, f"got {got['patterns']}")
        tally.check(f"{tag}: the run's cwd is the project", got["cwds"] == [str(project)],
                    f"{got['cwds']} (project {project})")
        unknown = unknown_skips(got["import"], entry["known_skips"])
        tally.check(f"{tag}: no skipped lines but known ones", not unknown, short(unknown, 800))
        if skip_reasons(got["import"]):
            info(f"{tag}: skipped (known): {short(skip_reasons(got['import']), 800)}")
        if fx is None:
            tally.check(f"{tag}: the fixture {fixture_records.relative_to(REPO)} exists", False)
        elif fx["error"]:
            tally.check(f"{tag}: the fixture imports", False, fx["error"])
        else:
            tally.check(f"{tag}: the fixture gives the same counts {c}", fx["counts"] == c, f"fixture {fx['counts']}")
            tally.check(f"{tag}: the fixture gives the same patterns", fx["patterns"] == got["patterns"],
                        f"fixture {fx['patterns']}")
        if fx is not None and fx.get("import") is not None:
            diff = shape_diff(shape_of(import_paths(records)), shape_of([fixture_records]))
            for line in diff:
                info(f"{tag}: record shape vs fixture: {line}")
    else:
        report_latest(tag, entry, got, fx, records, fixture_records, want_patterns, project)

    if args.fixtures:
        written = save_fixture(name, mod, home, project, hook_log)
        info(f"{tag}: fixture re-written: {', '.join(str(p.relative_to(REPO)) for p in written)}")
    return scenario_ok and import_ok


def report_latest(tag, entry, got, fx, records, fixture_records, want_patterns, project):
    print(f"{tag}: imported {got['counts']}, patterns {got['patterns']}, cwd {got['cwds']}", flush=True)
    changes = []
    if fx is None or fx.get("error"):
        changes.append(f"the fixture did not import: {fx and fx.get('error')}")
    else:
        if got["counts"] != fx["counts"]:
            changes.append(f"counts differ: new {got['counts']}, fixture {fx['counts']}")
        if got["patterns"] != fx["patterns"]:
            changes.append(f"patterns differ: new {got['patterns']}, fixture {fx['patterns']}")
        new_calls = [(x["name"], x["is_error"], x["exit_code"]) for x in got["calls"]]
        old_calls = [(x["name"], x["is_error"], x["exit_code"]) for x in fx["calls"]]
        if new_calls != old_calls:
            changes.append(f"calls (tool, failed, exit code) differ: new {new_calls}, fixture {old_calls}")
        # the known ones depend on which files are imported (projects.json, workspace.yaml)
        new_skips = unknown_skips(got["import"], entry["known_skips"])
        old_skips = unknown_skips(fx["import"], entry["known_skips"])
        for r in sorted(set(new_skips) | set(old_skips)):
            if new_skips.get(r) != old_skips.get(r):
                changes.append(f"skip reason {r!r}: new {new_skips.get(r, 0)}, fixture {old_skips.get(r, 0)}")
    if got["patterns"] != want_patterns:
        changes.append(f"patterns are not the expected {want_patterns}")
    if got["cwds"] != [str(project)]:
        changes.append(f"the run's cwd is {got['cwds']}, not the project")
    unknown = unknown_skips(got["import"], entry["known_skips"])
    if unknown:
        changes.append(f"skipped lines not known: {short(unknown, 800)}")
    changes += [f"record shape: {x}" for x in shape_diff(shape_of(import_paths(records)), shape_of([fixture_records]))]
    if not changes:
        print(f"{tag}: no change compared with the fixture", flush=True)
    for line in changes:
        print(f"{tag}: CHANGED {line}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--only", help=f"comma-separated harnesses (default all: {','.join(HARNESSES)})")
    ap.add_argument("--latest", action="store_true", help="install each harness's @latest and report what changed")
    ap.add_argument("--fixtures", action="store_true", help="re-write the fixtures from this run")
    ap.add_argument("--work", type=Path, help="work directory (kept)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    ap.add_argument("--cli", default=str(REPO / "target" / "debug" / "self-heal"), help="self-heal binary (default %(default)s)")
    args = ap.parse_args(argv)

    names = list(HARNESSES)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        bad = [n for n in names if n not in HARNESSES]
        if bad:
            ap.error(f"unknown harness(es) {bad}; known: {', '.join(HARNESSES)}")
    args.cli = str(Path(args.cli).resolve())
    if args.work:
        work = args.work.resolve()
        work.mkdir(parents=True, exist_ok=True)
        temporary = False
    else:
        work = Path(tempfile.mkdtemp(prefix="drift-")).resolve()
        temporary = True
    info(f"work directory {work}; self-heal {args.cli}")
    common.path_without_pytest()  # stops here when pytest cannot be left out of PATH

    tally = Tally()
    ran = {}
    t_all = time.monotonic()
    for name in names:
        t0 = time.monotonic()
        try:
            ran[name] = check_harness(name, args, tally, work)
        except Exception as e:  # one harness's breakage must not hide the others'
            tally.check(f"{name}: the drift check ran", False, f"{type(e).__name__}: {e}")
            ran[name] = False
        info(f"{name}: {time.monotonic() - t0:.1f} s in all")
    print(f"{tally.passed} passed, {tally.failed} failed in {time.monotonic() - t_all:.0f} s", flush=True)
    if args.latest:
        broken = [n for n, ok in ran.items() if not ok]
        if broken:
            print(f"the scenario or the import broke for: {', '.join(broken)}; work directory {work}", flush=True)
        code = 1 if broken else 0
    else:
        code = 1 if tally.failed else 0
        if tally.failed:
            print(f"FAILED: {'; '.join(tally.failures)}", file=sys.stderr)
    if temporary and not args.keep and code == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"work directory: {work}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
