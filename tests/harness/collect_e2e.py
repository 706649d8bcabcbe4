#!/usr/bin/env python3
"""A real Claude Code's telemetry into ``self-heal collect``, end to end, offline.

Usage::

    tests/harness/install_claude.sh && cargo build -p selfheal-cli
    python3 tests/harness/collect_e2e.py                              # both protocols
    python3 tests/harness/collect_e2e.py --protocol http/protobuf     # one of them
    python3 tests/harness/collect_e2e.py --cli target/release/self-heal --claude PATH --work DIR

Python 3 standard library only. For each OTLP protocol (``http/json``, ``http/protobuf``):

1. ``self-heal --db <work>/<proto>/team.db collect --listen 127.0.0.1:0`` starts; its first
   stderr line (``collect: listening on http://ADDR ...``) gives the endpoint;
2. the pinned Claude Code (``agents/claude.py``) runs the common scenario
   (``agents/common.py``: ``pytest -q`` exit 127, ``python3 -m unittest -q``, Read of a
   missing file, Read and Edit of ``notes.txt``) against the stand-in model
   (``standin_anthropic.py``), in a throw-away HOME, with its telemetry set up as
   ``otlp_capture.claude_env`` does (``CLAUDE_CODE_ENABLE_TELEMETRY=1``, OTLP logs, tool
   details, short export intervals, ``OTEL_RESOURCE_ATTRIBUTES=team.id=platform``) and the
   endpoint pointed at ``collect``;
3. the driver waits until collect's progress line counts the scenario's 5 tool results (or
   ``--wait`` seconds), stops it with SIGTERM and checks it exits 0;
4. in another process, ``self-heal --db team.db --json detect --since -1d
   --min-occurrences 1 --confidence 0`` (``SELFHEAL_INDEX_DIR`` in the work directory,
   ``SELFHEAL_NOW`` unset), and checks: exactly one run, ``claude-code:<session id>`` with
   the session id of the transcript Claude Code wrote (and of its ``--output-format json``
   result), team ``platform`` in its metadata; 5 calls, 2 failed (the ``pytest -q`` Bash call
   and the Read of ``missing.txt``); a pattern of tool ``Bash`` with program ``pytest`` and
   ``not_found:Read``;
5. ``self-heal --db team.db import <transcript>``: the receiver and the transcript importer
   give the session the same run id and each call the same id, so this adds no run and no
   ``tool_complete`` event.

Each check prints one line (``PASS name`` / ``FAIL name: detail``, the shared tally of
``e2e.py``); the run ends with ``N passed, M failed`` and the time per protocol and exits 1
when anything failed. Options: ``--cli`` (default ``target/release/self-heal``, else
``target/debug/self-heal``), ``--claude`` (default: the pinned install, ``claude.install()``,
which reuses ``target/harness/claude-code``), ``--protocol P[,P]``, ``--wait SECONDS``,
``--work DIR`` (kept), ``--keep``. The work directory holds per protocol ``home/``,
``project/``, ``requests.jsonl``, ``run.stdout|stderr``, ``collect.stderr``, ``team.db``.
"""

import argparse
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "agents"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import claude  # noqa: E402  (agents/claude.py)
import common  # noqa: E402
import drift  # noqa: E402  (cli_env, run_cli, read_db)
import otlp_capture  # noqa: E402  (claude_env: Claude Code's telemetry settings)
import standin  # noqa: E402
from e2e import Abort, Checks, finish, note, short, work_directory  # noqa: E402

REPO = common.repo_root()
PROTOCOLS = ("http/json", "http/protobuf")
EXPECTED_CALLS = 5
EXPECTED_FAILED = 2
TEAM = "platform"  # what otlp_capture.claude_env puts in OTEL_RESOURCE_ATTRIBUTES
LISTENING = re.compile(r"^collect: listening on (http://\S+)")
TOOL_RESULTS = re.compile(r"(\d+) tool results written")


def default_cli():
    for kind in ("release", "debug"):
        p = REPO / "target" / kind / "self-heal"
        if p.is_file():
            return str(p)
    return None


class Collect:
    """``self-heal --db DB collect --listen 127.0.0.1:0`` with its stderr read line by line
    (kept in memory and in ``log``)."""

    def __init__(self, cli, db, env, log):
        self.lines = []
        self._cond = threading.Condition()
        self._log = open(log, "w", encoding="utf-8")
        self.proc = subprocess.Popen([cli, "--db", str(db), "collect", "--listen", "127.0.0.1:0"], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self._log.write(line)
            self._log.flush()
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, pred, timeout):
        """The first line ``pred`` accepts (looking at every line so far and to come), or None
        after ``timeout`` seconds or when stderr closed."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    if pred(line):
                        return line
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (not self._reader.is_alive() and seen == len(self.lines)):
                    return None
                self._cond.wait(min(left, 0.5))

    def tool_results(self):
        """The latest count of tool results written that collect printed (0 before any)."""
        with self._cond:
            for line in reversed(self.lines):
                m = TOOL_RESULTS.search(line)
                if m:
                    return int(m.group(1))
        return 0

    def stop(self, timeout=30):
        """SIGTERM; the exit status (None when it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self._reader.join(timeout=5)
        self._log.close()
        return rc


def tool_complete_count(db):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM run_events WHERE event_type = 'tool_complete'").fetchone()[0]
    finally:
        conn.close()


def run_ids_and_metadata(db):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT id, metadata FROM runs ORDER BY id").fetchall()
    finally:
        conn.close()
    out = []
    for rid, meta in rows:
        try:
            out.append((rid, json.loads(meta or "{}") or {}))
        except ValueError:
            out.append((rid, {"unparsed": meta}))
    return out


def session_id_of(stdout):
    """The ``session_id`` of Claude Code's ``--output-format json`` result."""
    for text in [stdout] + list(reversed((stdout or "").splitlines())):
        try:
            doc = json.loads(text)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("session_id"):
            return doc["session_id"]
    return None


def run_protocol(c, args, exe, protocol, work):
    """The scenario for one protocol; the checks go into ``c`` (its prefix names the protocol)."""
    work.mkdir(parents=True)
    home = work / "home"
    home.mkdir()
    project = common.make_project(work / "project")
    db = work / "team.db"
    cli_env = drift.cli_env(work, None)  # SELFHEAL_INDEX_DIR=<work>/idx, no SELFHEAL_NOW

    collect = Collect(args.cli, db, cli_env, work / "collect.stderr")
    server = None
    try:
        first = collect.wait_for(lambda line: True, 30)
        m = LISTENING.match(first or "")
        c.require("collect prints its address first", m, short(first or "(no stderr line)"))
        endpoint = m.group(1)
        note(f"collect at {endpoint}, writing {db}")

        script = {"steps": claude.steps(project), "final_text": "done", "side_text": "Running the tests"}
        server = standin.StandIn(claude.PROTOCOL(), script, str(work / "requests.jsonl"))
        env = claude.setup(home, project, server.base_url)
        settings = otlp_capture.claude_env(protocol)(claude, home, project, env, endpoint)
        note("telemetry: " + " ".join(f"{k}={v}" for k, v in settings["env"].items()
                                      if k != "OTEL_EXPORTER_OTLP_ENDPOINT"))
        t0 = time.monotonic()
        proc = claude.run(exe, env, project, common.PROMPT, timeout=args.session_timeout)
        session_seconds = time.monotonic() - t0
        (work / "run.stdout").write_text(proc.stdout or "", encoding="utf-8")
        (work / "run.stderr").write_text(proc.stderr or "", encoding="utf-8")
        at_exit = collect.tool_results()
        edited = common.NEW in (project / common.NOTES).read_text(encoding="utf-8")
        c.require("Claude Code ran the scenario (exit 0, notes.txt edited)", proc.returncode == 0 and edited,
                  f"exit {proc.returncode}, edited {edited}: {short(proc.stderr or proc.stdout)}")
        note(f"session {session_seconds:.1f} s; collect had printed {at_exit} tool results by its exit")

        t1 = time.monotonic()
        line = collect.wait_for(lambda l: (TOOL_RESULTS.search(l) is not None
                                           and int(TOOL_RESULTS.search(l).group(1)) >= EXPECTED_CALLS), args.wait)
        waited = time.monotonic() - t1
        c.ok(f"collect's progress shows {EXPECTED_CALLS} tool results", line is not None,
             f"none within {args.wait:.0f} s; last lines: {short(collect.lines[-3:])}")
        if line:
            note(f"{waited:.1f} s after the session: {line}")
    finally:
        if server is not None:
            server.close()
        rc = collect.stop()
    stopped = next((l for l in reversed(collect.lines) if l.startswith("collect: stopped")), None)
    c.ok("collect stops on SIGTERM with exit status 0", rc == 0, f"exit {rc}; {short(collect.lines[-3:])}")
    if stopped:
        note(stopped)
    m = TOOL_RESULTS.search(stopped or "")
    c.ok(f"collect's last line counts {EXPECTED_CALLS} tool results written",
         m is not None and int(m.group(1)) == EXPECTED_CALLS, short(stopped or "(no 'collect: stopped' line)"))
    clean = stopped is not None and all(f"0 {what}" in stopped for what in
                                        ("items rejected", "requests refused", "busy (429)", "failed writes"))
    c.ok("collect rejected, refused and failed nothing", clean, short(stopped or ""))
    c.require("the run history exists", db.is_file(), str(db))

    # --- another process: detect, and what the history holds -----------------------------------
    p = drift.run_cli(args.cli, ["--db", str(db), "--json", "detect", "--since", "-1d",
                                 "--min-occurrences", "1", "--confidence", "0"], cli_env)
    try:
        view = json.loads(p.stdout) if p.returncode == 0 else None
    except ValueError:
        view = None
    c.ok("detect --json --since -1d runs", view is not None, f"exit {p.returncode}: {short(p.stderr or p.stdout)}")

    transcripts = claude.records(home, project)
    session = transcripts[0].stem if len(transcripts) == 1 else None
    c.ok("Claude Code wrote one transcript", len(transcripts) == 1, short([str(t) for t in transcripts]))
    result_session = session_id_of(proc.stdout)
    c.ok("the transcript is the session of the json result", session and session == result_session,
         f"transcript {session}, result {result_session}")

    runs = run_ids_and_metadata(db)
    got = drift.read_db(db)
    c.ok("exactly one run", len(runs) == 1, short([r[0] for r in runs]))
    run_id, meta = runs[0] if runs else (None, {})
    c.ok("the run id is claude-code:<the transcript's session id>", run_id == f"claude-code:{session}",
         f"run {run_id}, transcript session {session}")
    c.ok(f'the run\'s metadata has team "{TEAM}"', meta.get("team") == TEAM, short(meta))
    counts = got["counts"]
    c.ok(f"{EXPECTED_CALLS} tool calls, {EXPECTED_FAILED} failed",
         (counts["calls"], counts["failed"]) == (EXPECTED_CALLS, EXPECTED_FAILED), short(counts))
    failed = [(x["name"], x["arguments"]) for x in got["calls"] if x["is_error"]]

    def args_of(a):
        try:
            return json.loads(a) if isinstance(a, str) else (a or {})
        except ValueError:
            return {}
    failed_pytest = [f for f in failed if f[0] == claude.SHELL_TOOL
                     and args_of(f[1]).get("command") == common.FAILING]
    failed_read = [f for f in failed if f[0] == claude.READ_TOOL
                   and str(args_of(f[1]).get("file_path", "")).endswith("/" + common.MISSING)]
    c.ok("the failed calls are the pytest Bash call and the Read of missing.txt",
         len(failed) == 2 and len(failed_pytest) == 1 and len(failed_read) == 1, short(failed))

    patterns = (view or {}).get("patterns", []) or []
    ids = sorted(pt.get("pattern_id") or pt.get("id") or "?" for pt in patterns)
    note(f"patterns: {', '.join(ids) or '(none)'}")
    c.ok("detect lists a pattern of tool Bash with program pytest",
         any(pt.get("tool_name") == claude.SHELL_TOOL and pt.get("program") == "pytest" for pt in patterns),
         short(ids))
    c.ok("detect lists not_found:Read", "not_found:Read" in ids, short(ids))

    # --- the transcript importer adds nothing -------------------------------------------------------
    if transcripts:
        before = tool_complete_count(db)
        p = drift.run_cli(args.cli, ["--db", str(db), "import", str(transcripts[0])], cli_env)
        c.ok("import of the transcript into the same history runs", p.returncode == 0,
             f"exit {p.returncode}: {short(p.stderr or p.stdout)}")
        after = tool_complete_count(db)
        runs_after = [r[0] for r in run_ids_and_metadata(db)]
        c.ok("the import adds no call (tool_complete count unchanged)", after == before,
             f"{before} before, {after} after")
        c.ok("the import adds no run", runs_after == [r[0] for r in runs], short(runs_after))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--cli", default=None,
                    help="the self-heal binary (default: target/release/self-heal, else target/debug/self-heal)")
    ap.add_argument("--claude", default=None,
                    help="the claude executable (default: the pinned install, target/harness/claude-code)")
    ap.add_argument("--protocol", default=",".join(PROTOCOLS), help="P[,P] of " + ", ".join(PROTOCOLS))
    ap.add_argument("--wait", type=float, default=40.0,
                    help="seconds to wait after the session for collect to count the tool results (default 40)")
    ap.add_argument("--session-timeout", type=float, default=180.0, help="seconds for the claude session")
    ap.add_argument("--work", type=Path, help="work directory (kept); default: a temporary one, removed after a clean run")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    args = ap.parse_args(argv)

    protocols = args.protocol.split(",")
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        ap.error(f"unknown protocol {', '.join(unknown)}")
    args.cli = args.cli or default_cli()
    if not args.cli or not Path(args.cli).is_file():
        print("error: no self-heal binary: build it (cargo build -p selfheal-cli) or pass --cli", file=sys.stderr)
        return 2
    args.cli = str(Path(args.cli).resolve())
    exe = Path(args.claude).resolve() if args.claude else claude.install()
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        print(f"error: no claude at {exe}: run tests/harness/install_claude.sh or pass --claude", file=sys.stderr)
        return 2

    work, temporary = work_directory(args.work, "collect-e2e-")
    if work is None:
        return 2

    c = Checks()
    note(f"{exe}; {args.cli}; work directory {work}")
    timings = []
    for protocol in protocols:
        c.prefix = f"{protocol}: "
        t0 = time.monotonic()
        passed, failed = c.passed, c.failed
        try:
            run_protocol(c, args, exe, protocol, work / protocol.replace("/", "-"))
        except Abort as e:
            print(f"stopped {protocol}: a check that later steps need failed ({e})", flush=True)
        except Exception as e:  # noqa: BLE001 - one protocol must not stop the other
            c.ok("the scenario ran", False, f"{type(e).__name__}: {e}")
        timings.append((protocol, c.passed - passed, c.failed - failed, time.monotonic() - t0))
    c.prefix = ""
    for protocol, p, f, secs in timings:
        print(f"{protocol}: {p} passed, {f} failed in {secs:.1f} s", flush=True)
    print(f"{c.passed} passed, {c.failed} failed", flush=True)
    return finish(c.failures, work, temporary, args.keep)


if __name__ == "__main__":
    sys.exit(main())
