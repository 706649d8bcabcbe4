#!/usr/bin/env python3
"""A real Claude Code's telemetry into ``self-heal collect``, end to end, offline: into SQLite
and, when a PostgreSQL URL is given, into PostgreSQL (with an outage of PostgreSQL mid-run).

Usage::

    tests/harness/install_claude.sh && cargo build -p selfheal-cli -p self-healing-mcp
    python3 tests/harness/collect_e2e.py                              # both protocols, SQLite
    python3 tests/harness/collect_e2e.py --protocol http/protobuf     # one of them
    python3 tests/harness/collect_e2e.py --cli target/release/self-heal --claude PATH --work DIR
    URL=$(bash tests/pg/cluster.sh start /tmp/pgx/c)                  # a throw-away cluster
    python3 tests/harness/collect_e2e.py --pg-url "$URL" --pg-cluster /tmp/pgx/c   # + PostgreSQL

Python 3 standard library only (``psql`` for PostgreSQL). For each OTLP protocol
(``http/json``, ``http/protobuf``):

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

With ``--pg-url ADMIN_URL`` (or ``SELFHEAL_PG_URL``), each protocol then runs again against
PostgreSQL (check names prefixed ``<proto> postgres:``):

1. ``psql`` creates a fresh database ``selfheal_e2e_<proto-slug>_<pid>`` (the admin URL with
   that database name is the history's URL) and ``self-heal --db URL init`` creates its tables;
2. ``collect --db URL`` and the same scenario; while collect keeps running, the same checks as
   steps 4 and 5, the history read with ``psql -Atc`` (``runs.metadata`` is JSONB);
3. the MCP server (``self-healing-mcp`` next to ``--cli``, or ``--mcp``; ``DATABASE_URL=URL``,
   no ``--db``, its own ``SELFHEAL_INDEX_DIR``) over stdio: ``initialize``, then
   ``detect_failure_patterns`` (``since -1d``, ``min_occurrences 1``, ``confidence_threshold
   0``, ``detail full``) lists the same two patterns;
4. the outage, once, for the last protocol, with ``--pg-cluster DIR`` (or
   ``SELFHEAL_PG_CLUSTER``; the cluster of ``tests/pg/cluster.sh``): ``cluster.sh pause``; a
   capture (``tests/data/otlp/claude-code-2.1.328/json/002-logs.json``, every ``session.id``
   replaced by a new uuid) POSTed to collect's ``/v1/logs`` gets 503 (or 429) with
   ``Retry-After``; ``detect`` through the CLI fails and through the MCP server answers an
   error (``isError``), both naming PostgreSQL and not the password, and the server stays
   up; ``cluster.sh resume``; the POST retried as ``Retry-After`` says (about 30 s at most)
   gets 200 and the new session has as many ``tool_complete`` events as the capture has
   ``claude_code.tool_result`` records; the same body again gets 200 and adds none; the MCP
   server's detect works again;
5. collect stops on SIGTERM with exit 0, the MCP server when its stdin closes, the database is
   dropped (``DROP DATABASE ... WITH (FORCE)``), and no stderr (collect, the MCP server, the
   CLI) nor answer (CLI output, HTTP and MCP answers) holds the admin URL's password.

Without a PostgreSQL URL the run is the SQLite one alone (an error when ``SELFHEAL_REQUIRE_PG``
is set, as in CI). The cluster given with ``--pg-cluster`` is paused and resumed, so it must be a
throw-away one; the password of the admin URL is never printed (``***``).

Each check prints one line (``PASS name`` / ``FAIL name: detail``, the shared tally of
``e2e.py``); the run ends with ``N passed, M failed`` and the time per protocol (and per
protocol on PostgreSQL) and exits 1 when anything failed. Options: ``--cli`` (default
``target/release/self-heal``, else ``target/debug/self-heal``), ``--claude`` (default: the
pinned install, ``claude.install()``, which reuses ``target/harness/claude-code``),
``--protocol P[,P]``, ``--wait SECONDS``, ``--work DIR`` (kept), ``--keep``, ``--pg-url URL``,
``--pg-cluster DIR``, ``--mcp PATH``. The work directory holds per protocol ``home/``,
``project/``, ``requests.jsonl``, ``run.stdout|stderr``, ``collect.stderr``, ``team.db``; per
protocol on PostgreSQL (``<proto>-postgres/``) the same without ``team.db``, plus
``cli.stderr`` (every CLI call's stderr), ``mcp.stderr`` and ``cluster.log``.
"""

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
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
FAILED_WRITES = re.compile(r"(\d+) failed writes")
CLUSTER_SH = REPO / "tests" / "pg" / "cluster.sh"
# A Claude Code export POSTed during the outage (4 tool results; its session is made new).
OUTAGE_BODY = REPO / "tests" / "data" / "otlp" / "claude-code-2.1.328" / "json" / "002-logs.json"
OUTAGE_RETRY_SECONDS = 30.0


class Tally(Checks):
    """The shared tally, never printing ``secret`` (the PostgreSQL password) in a detail."""

    secret = None

    def ok(self, name, cond, detail=""):
        if self.secret and isinstance(detail, str):
            detail = detail.replace(self.secret, "***")
        return super().ok(name, cond, detail)


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
        self.db_shown = str(db)  # as notes show it (PostgreSQL: the password hidden)
        self.endpoint = None  # http://ADDR, from its first line
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


class SqliteHistory:
    """The run history in a SQLite file, read directly (read-only)."""

    def __init__(self, path):
        self.path = Path(path)
        self.target = str(path)  # what --db takes

    def _conn(self):
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)

    def tool_completes(self, run_id=None):
        """``tool_complete`` events (of ``run_id``; of every run when None)."""
        conn = self._conn()
        try:
            sql = "SELECT count(*) FROM run_events WHERE event_type = 'tool_complete'"
            if run_id is None:
                return conn.execute(sql).fetchone()[0]
            return conn.execute(sql + " AND run_id = ?", (run_id,)).fetchone()[0]
        finally:
            conn.close()

    def runs(self):
        """``[(run id, metadata dict)]`` by id."""
        conn = self._conn()
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

    def team(self, run_id, meta):
        return meta.get("team")

    def read(self):
        """The counts and the calls (``drift.read_db``)."""
        return drift.read_db(self.path)


def sql_text(s):
    return "'" + str(s).replace("'", "''") + "'"


class Postgres:
    """A PostgreSQL server reached with ``psql`` through its admin URL."""

    def __init__(self, admin_url, psql):
        self.admin = admin_url
        self.psql = psql
        password = urllib.parse.urlsplit(admin_url).password
        self.secret = urllib.parse.unquote(password) if password else None

    def url_of(self, database):
        """The admin URL with its database name replaced."""
        return urllib.parse.urlunsplit(urllib.parse.urlsplit(self.admin)._replace(path="/" + database))

    def hide(self, text):
        """``text`` with the password replaced by ``***`` (for what this driver prints)."""
        text = text if isinstance(text, str) else json.dumps(text, default=str)
        return text.replace(self.secret, "***") if self.secret else text

    def run(self, url, sql, timeout=60):
        """``psql -Atc SQL`` on ``url``: ``(ok, stdout stripped, stderr stripped)``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        try:
            p = subprocess.run([self.psql, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                               env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False, "", f"psql timed out after {timeout} s"
        return p.returncode == 0, p.stdout.strip(), self.hide(p.stderr.strip())


class PgHistory:
    """The run history in a PostgreSQL database, read with ``psql -Atc``."""

    def __init__(self, pg, url):
        self.pg = pg
        self.target = url

    def query(self, sql):
        ok, out, err = self.pg.run(self.target, sql)
        if not ok:
            raise RuntimeError(f"psql -c {sql!r}: {err}")
        return out

    def tool_completes(self, run_id=None):
        sql = "SELECT count(*) FROM run_events WHERE event_type = 'tool_complete'"
        if run_id is not None:
            sql += f" AND run_id = {sql_text(run_id)}"
        return int(self.query(sql))

    def runs(self):
        rows = json.loads(self.query(
            "SELECT coalesce(json_agg(json_build_array(id, metadata) ORDER BY id), '[]') FROM runs"))
        return [(rid, meta if isinstance(meta, dict) else ({} if meta is None else {"unparsed": meta}))
                for rid, meta in rows]

    def team(self, run_id, meta):
        """Read with the JSONB operator: ``metadata->>'team'``."""
        return self.query(f"SELECT metadata->>'team' FROM runs WHERE id = {sql_text(run_id)}") or None

    def read(self):
        """What ``drift.read_db`` reads from SQLite: the runs, the calls (each ``tool_complete``
        with the arguments of its ``tool_start``) and their counts."""
        rows = json.loads(self.query(
            "SELECT coalesce(json_agg(json_build_array(event_type, event_data) ORDER BY id), '[]') "
            "FROM run_events WHERE event_type IN ('tool_start', 'tool_complete')"))
        starts, calls = {}, []
        for etype, data in rows:
            e = json.loads(data)
            if etype == "tool_start":
                starts[e.get("call_id")] = e.get("arguments")
            else:
                calls.append({"name": e.get("name"), "is_error": bool(e.get("is_error")),
                              "exit_code": e.get("exit_code"), "result": e.get("result"),
                              "arguments": starts.get(e.get("call_id"))})
        runs = len(self.runs())
        return {"runs": runs, "calls": calls,
                "counts": {"runs": runs, "calls": len(calls), "failed": sum(c["is_error"] for c in calls)}}


class Mcp:
    """``self-healing-mcp`` over stdio (one JSON-RPC message a line), its stderr in ``log``;
    every line it answers is kept in ``lines``."""

    def __init__(self, binary, env, log):
        self.lines = []
        self._answers = {}
        self._cond = threading.Condition()
        self._next = 0
        self._log = open(log, "w", encoding="utf-8")
        self.proc = subprocess.Popen([binary], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line)
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if isinstance(msg, dict) and msg.get("id") is not None:
                    self._answers[msg["id"]] = msg
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _send(self, msg):
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def request(self, method, params, timeout=120):
        """The answer (a dict), or None when the server exited or did not answer in time."""
        with self._cond:
            self._next += 1
            rid = self._next
        if not self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}):
            return None
        deadline = time.monotonic() + timeout
        with self._cond:
            while rid not in self._answers:
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    return None
                self._cond.wait(min(left, 0.5))
            return self._answers.pop(rid)

    def notify(self, method):
        return self._send({"jsonrpc": "2.0", "method": method})

    def alive(self):
        return self.proc.poll() is None

    def detect(self):
        """``detect_failure_patterns`` over the last day: ``(patterns, error)``, one of them
        None; ``error`` is the tool's text when the result has ``isError``, else what went
        wrong (a JSON-RPC error, no answer)."""
        msg = self.request("tools/call", {"name": "detect_failure_patterns", "arguments": {
            "since": "-1d", "min_occurrences": 1, "confidence_threshold": 0, "detail": "full"}})
        if msg is None:
            return None, f"no answer (server {'alive' if self.alive() else f'exited {self.proc.poll()}'})"
        if "error" in msg:
            return None, "JSON-RPC error " + json.dumps(msg["error"])
        result = msg.get("result") or {}
        if result.get("isError"):
            text = " ".join(x.get("text", "") for x in result.get("content") or [] if isinstance(x, dict))
            return None, "isError: " + (text or json.dumps(result))
        patterns = (result.get("structuredContent") or {}).get("patterns")
        if not isinstance(patterns, list):
            return None, "no structuredContent.patterns: " + json.dumps(result)
        return patterns, None

    def stop(self, timeout=20):
        """Closes its stdin; the exit status (None when it had to be killed)."""
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self._reader.join(timeout=5)
        self._log.close()
        return rc


def post(url, body, timeout=30):
    """POST an OTLP/JSON body: ``(status or None, headers or None, answer text)``."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        return None, None, f"{type(e).__name__}: {e}"


def new_session_body(path, session):
    """The OTLP/JSON export at ``path`` with every ``session.id`` value made ``session``:
    ``(body bytes, its claude_code.tool_result log records)``."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))

    def walk(x):
        if isinstance(x, dict):
            if x.get("key") == "session.id" and isinstance(x.get("value"), dict):
                x["value"] = {"stringValue": session}
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(doc)
    results = 0
    for rl in doc.get("resourceLogs", []):
        for sl in rl.get("scopeLogs", []):
            for rec in sl.get("logRecords", []):
                attrs = {a.get("key"): (a.get("value") or {}).get("stringValue") for a in rec.get("attributes", [])}
                names = {(rec.get("body") or {}).get("stringValue"), attrs.get("event.name")}
                results += bool(names & {"claude_code.tool_result", "tool_result"})
    return json.dumps(doc).encode("utf-8"), results


def cluster(pg_cluster, command, log):
    """``tests/pg/cluster.sh COMMAND DIR``, its output appended to ``log``: ``(ok, output)``."""
    try:
        p = subprocess.run(["bash", str(CLUSTER_SH), command, str(pg_cluster)], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=180)
        ok, out = p.returncode == 0, (p.stdout + p.stderr)
    except subprocess.TimeoutExpired:
        ok, out = False, f"cluster.sh {command} timed out"
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"$ cluster.sh {command} {pg_cluster}\n{out}\n")
    return ok, out


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


def is_pytest_pattern(pt):
    return pt.get("tool_name") == claude.SHELL_TOOL and pt.get("program") == "pytest"


def pattern_ids(patterns):
    return sorted(pt.get("pattern_id") or pt.get("id") or "?" for pt in patterns)


def scenario(c, args, exe, protocol, work, collect):
    """Claude Code's session with its telemetry going to ``collect`` (running), then the wait
    for collect's progress to count the scenario's tool results: ``(proc, home, project)``."""
    home = work / "home"
    home.mkdir()
    project = common.make_project(work / "project")
    first = collect.wait_for(lambda line: True, 30)
    m = LISTENING.match(first or "")
    c.require("collect prints its address first", m, short(first or "(no stderr line)"))
    endpoint = m.group(1)
    collect.endpoint = endpoint
    note(f"collect at {endpoint}, writing {collect.db_shown}")

    script = {"steps": claude.steps(project), "final_text": "done", "side_text": "Running the tests"}
    server = standin.StandIn(claude.PROTOCOL(), script, str(work / "requests.jsonl"))
    try:
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
             (f"none within {args.wait:.0f} s" if collect.proc.poll() is None else f"collect exited {collect.proc.poll()}")
             + f"; last lines: {last_words(collect.lines)}")
        if line:
            note(f"{waited:.1f} s after the session: {line}")
    finally:
        server.close()
    return proc, home, project


def stopped_line(collect):
    return next((l for l in reversed(collect.lines) if l.startswith("collect: stopped")), None)


def check_stopped(c, collect, rc, written=EXPECTED_CALLS, clean=True):
    """The checks on collect's exit and its last line (``written`` tool results; ``clean``:
    nothing rejected, refused, busy or failed)."""
    stopped = stopped_line(collect)
    c.ok("collect stops on SIGTERM with exit status 0", rc == 0, f"exit {rc}; {short(collect.lines[-3:])}")
    if stopped:
        note(stopped)
    m = TOOL_RESULTS.search(stopped or "")
    c.ok(f"collect's last line counts {written} tool results written",
         m is not None and int(m.group(1)) == written, short(stopped or "(no 'collect: stopped' line)"))
    if clean:
        ok = stopped is not None and all(f"0 {what}" in stopped for what in
                                         ("items rejected", "requests refused", "busy (429)", "failed writes"))
        c.ok("collect rejected, refused and failed nothing", ok, short(stopped or ""))
    return stopped


def check_history(c, args, history, home, project, proc, cli):
    """Steps 4 and 5: detect in another process, what the history holds, and the transcript's
    import adding nothing. ``cli(args)`` runs the CLI. The patterns detect listed (None when it
    failed)."""
    p = cli(["--db", history.target, "--json", "detect", "--since", "-1d",
             "--min-occurrences", "1", "--confidence", "0"])
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

    runs = history.runs()
    got = history.read()
    c.ok("exactly one run", len(runs) == 1, short([r[0] for r in runs]))
    run_id, meta = runs[0] if runs else (None, {})
    c.ok("the run id is claude-code:<the transcript's session id>", run_id == f"claude-code:{session}",
         f"run {run_id}, transcript session {session}")
    c.ok(f'the run\'s metadata has team "{TEAM}"', run_id is not None and history.team(run_id, meta) == TEAM,
         short(meta))
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
    ids = pattern_ids(patterns)
    note(f"patterns: {', '.join(ids) or '(none)'}")
    c.ok("detect lists a pattern of tool Bash with program pytest", any(is_pytest_pattern(pt) for pt in patterns),
         short(ids))
    c.ok("detect lists not_found:Read", "not_found:Read" in ids, short(ids))

    # --- the transcript importer adds nothing -------------------------------------------------------
    if transcripts:
        before = history.tool_completes()
        p = cli(["--db", history.target, "import", str(transcripts[0])])
        c.ok("import of the transcript into the same history runs", p.returncode == 0,
             f"exit {p.returncode}: {short(p.stderr or p.stdout)}")
        after = history.tool_completes()
        runs_after = [r[0] for r in history.runs()]
        c.ok("the import adds no call (tool_complete count unchanged)", after == before,
             f"{before} before, {after} after")
        c.ok("the import adds no run", runs_after == [r[0] for r in runs], short(runs_after))
    return patterns if view is not None else None


def run_protocol(c, args, exe, protocol, work):
    """The scenario for one protocol into SQLite; the checks go into ``c`` (its prefix names
    the protocol)."""
    work.mkdir(parents=True)
    history = SqliteHistory(work / "team.db")
    cli_env = drift.cli_env(work, None)  # SELFHEAL_INDEX_DIR=<work>/idx, no SELFHEAL_NOW

    collect = Collect(args.cli, history.target, cli_env, work / "collect.stderr")
    try:
        proc, home, project = scenario(c, args, exe, protocol, work, collect)
    finally:
        rc = collect.stop()
    check_stopped(c, collect, rc)
    c.require("the run history exists", history.path.is_file(), str(history.path))
    check_history(c, args, history, home, project, proc, lambda a: drift.run_cli(args.cli, a, cli_env))


def run_protocol_pg(c, args, exe, protocol, work, pg, outage):
    """The scenario for one protocol into a fresh PostgreSQL database, then (``outage``) the
    outage of the cluster ``args.pg_cluster``; the checks go into ``c``."""
    work.mkdir(parents=True)
    name = f"selfheal_e2e_{re.sub(r'[^a-z0-9]+', '_', protocol.lower())}_{os.getpid()}"
    url = pg.url_of(name)
    history = PgHistory(pg, url)
    cli_env = drift.cli_env(work, None)
    cli_log = work / "cli.stderr"
    answers = []  # every answer the CLI, collect and the MCP server gave (for the password check)

    def cli(a, timeout=300):
        p = drift.run_cli(args.cli, a, cli_env, timeout=timeout)
        with open(cli_log, "a", encoding="utf-8") as f:
            f.write(f"$ self-heal {pg.hide(' '.join(a))} (exit {p.returncode})\n{p.stderr}")
        answers.append(p.stdout)
        return p

    collect = mcp = None
    created = paused = False
    try:
        pg.run(pg.admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        ok, out, err = pg.run(pg.admin, f'CREATE DATABASE "{name}"')
        c.require(f"psql creates the database {name}", ok, err or out)
        created = True
        p = cli(["--db", url, "init"])
        c.require("self-heal --db URL init creates the tables", p.returncode == 0 and history.tool_completes() == 0,
                  f"exit {p.returncode}: {short(p.stderr or p.stdout)}")

        collect = Collect(args.cli, url, cli_env, work / "collect.stderr")
        collect.db_shown = pg.hide(url)
        proc, home, project = scenario(c, args, exe, protocol, work, collect)
        c.require("collect is still running after the session", collect.proc.poll() is None,
                  f"exit {collect.proc.poll()}; {pg.hide(last_words(collect.lines))}")
        patterns = check_history(c, args, history, home, project, proc, cli)
        want = pattern_ids([pt for pt in patterns or [] if is_pytest_pattern(pt)]) + ["not_found:Read"]

        def lists_both(found):
            """The MCP server's patterns hold the two the CLI found (by id; by tool and program
            when the CLI found no Bash/pytest one)."""
            ids = pattern_ids(found or [])
            return (all(i in ids for i in want)
                    and (len(want) > 1 or any(is_pytest_pattern(pt) for pt in found or [])))

        # --- the MCP server, reading the same database (DATABASE_URL, no --db) ------------------------
        live = None  # the MCP server once it answered initialize
        if not Path(args.mcp).is_file():
            c.ok("the MCP server binary exists", False, f"{args.mcp}: build it (cargo build -p self-healing-mcp) "
                 "or pass --mcp")
        else:
            mcp_env = dict(drift.cli_env(work / "mcp", None), DATABASE_URL=url)
            mcp = Mcp(args.mcp, mcp_env, work / "mcp.stderr")
            init = mcp.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                              "clientInfo": {"name": "collect_e2e", "version": "0"}})
            if c.ok("the MCP server answers initialize", init is not None and "result" in init,
                    pg.hide(short(init) if init is not None else f"no answer, exit {mcp.proc.poll()}: "
                            + tail(work / "mcp.stderr"))):
                live = mcp
                mcp.notify("notifications/initialized")
                found, error = mcp.detect()
                ids = pattern_ids(found or [])
                note(f"MCP patterns: {', '.join(ids) or '(none)'}")
                c.ok("the MCP server's detect_failure_patterns (DATABASE_URL) answers", error is None,
                     short(pg.hide(error or "")))
                c.ok("the MCP server lists the CLI's Bash/pytest pattern and not_found:Read", lists_both(found),
                     short(f"MCP {ids}; CLI {pattern_ids(patterns or [])}"))

        outage_written = None  # tool results of the exports collect accepted during the outage
        if outage:
            paused = True  # resumed in `finally` whatever happens
            outage_written = outage_checks(c, args, pg, history, collect, live, cli, answers, work, lists_both)
            paused = False

        # --- stop --------------------------------------------------------------------------------------
        rc = collect.stop()
        if outage_written is None:
            check_stopped(c, collect, rc)
        else:
            # every accepted export counts its tool results, the repeated one too
            stopped = check_stopped(c, collect, rc, EXPECTED_CALLS + outage_written, clean=False)
            failed_writes = FAILED_WRITES.search(stopped or "")
            ok = (stopped is not None and all(f"0 {what}" in stopped for what in ("items rejected", "requests refused"))
                  and failed_writes is not None and int(failed_writes.group(1)) >= 1)
            c.ok("collect rejected and refused nothing, and counts the outage's failed writes", ok,
                 short(stopped or ""))
        if mcp is not None:
            rc = mcp.stop()
            c.ok("the MCP server exits 0 when its stdin closes", rc == 0,
                 f"exit {rc}: " + pg.hide(tail(work / "mcp.stderr")))
    finally:
        if paused:
            cluster(args.pg_cluster, "resume", work / "cluster.log")
        if collect is not None:
            collect.stop()  # again: a no-op unless a check stopped the scenario
        if mcp is not None:
            mcp.stop()
            answers.extend(mcp.lines)
        if created:
            ok, out, err = pg.run(pg.admin, f'DROP DATABASE "{name}" WITH (FORCE)')
            c.ok(f"psql drops the database {name}", ok, err or out)
        if pg.secret:
            logs = [f for f in (work / "collect.stderr", work / "mcp.stderr", cli_log) if f.is_file()]
            leaks = [f.name for f in logs if pg.secret in f.read_text(encoding="utf-8", errors="replace")]
            c.ok("no stderr (collect, MCP server, CLI) holds the password", logs and not leaks,
                 f"in {', '.join(leaks)}" if leaks else "no stderr captured")
            leaked = [a for a in answers if pg.secret in (a or "")]
            c.ok("no answer (CLI output, HTTP, MCP) holds the password", not leaked,
                 f"{len(leaked)} answers, e.g. {short(pg.hide(leaked[0]) if leaked else '')}")


def last_words(lines, n=3):
    """What a process's stderr ends with, one string: a Rust panic's place and message when it
    panicked, else its last ``n`` non-blank lines."""
    lines = [ln for ln in lines if ln.strip()]
    for i, ln in enumerate(lines):
        if " panicked at " in ln:
            return short(" | ".join(lines[i:i + 2]))
    return short(" | ".join(lines[-n:]))


def tail(path, n=3):
    """``last_words`` of a log file ("" when there is none)."""
    try:
        return last_words(Path(path).read_text(encoding="utf-8", errors="replace").splitlines(), n)
    except OSError:
        return ""


def outage_checks(c, args, pg, history, collect, mcp, cli, answers, work, lists_both):
    """Step 4 of the PostgreSQL run: the cluster paused and resumed under collect and the MCP
    server. The tool results of the exports collect accepted (answered 200)."""
    log = work / "cluster.log"
    session = str(uuid.uuid4())
    body, results = new_session_body(OUTAGE_BODY, session)
    run_id = f"claude-code:{session}"
    logs_url = collect.endpoint.rstrip("/") + "/v1/logs"
    note(f"outage: {OUTAGE_BODY.name} as session {session} ({results} tool results) to {logs_url}")

    ok, out = cluster(args.pg_cluster, "pause", log)
    c.require("cluster.sh pause stops PostgreSQL", ok and pg.run(pg.admin, "SELECT 1", timeout=20)[0] is False,
              short(out[-300:]))
    status, headers, text = post(logs_url, body)
    answers.append(text)
    retry = headers.get("Retry-After") if headers is not None else None
    c.ok("a POST while PostgreSQL is down gets 503 (or 429) with Retry-After",
         status in (503, 429) and retry is not None, f"status {status}, Retry-After {retry}: {short(pg.hide(text))}")
    note(f"while down: {status} Retry-After {retry}: {short(pg.hide(text), 200)}")
    c.ok("collect keeps running while PostgreSQL is down", collect.proc.poll() is None,
         f"exit {collect.proc.poll()}; {pg.hide(last_words(collect.lines))}")

    p = cli(["--db", history.target, "--json", "detect", "--since", "-1d", "--min-occurrences", "1",
             "--confidence", "0"], timeout=120)
    said = (p.stderr or "") + (p.stdout or "")
    c.ok("detect through the CLI fails while PostgreSQL is down, naming PostgreSQL, not the password",
         p.returncode != 0 and re.search(r"postgres", said, re.I) is not None
         and (pg.secret is None or pg.secret not in said),
         f"exit {p.returncode}: {short(pg.hide(said))}")
    if mcp is not None:
        found, error = mcp.detect()
        note(f"MCP while down: {short(pg.hide(error or found), 300)}")
        c.ok("the MCP server's detect answers an error naming PostgreSQL, not the password",
             error is not None and error.startswith("isError") and re.search(r"postgres", error, re.I) is not None
             and (pg.secret is None or pg.secret not in error), short(pg.hide(error or f"patterns {pattern_ids(found)}")))
        c.ok("the MCP server is still running", mcp.alive(), f"exit {mcp.proc.poll()}")

    ok, out = cluster(args.pg_cluster, "resume", log)
    c.require("cluster.sh resume starts PostgreSQL again", ok and pg.run(pg.admin, "SELECT 1")[0],
              short(out[-300:]))
    t0 = time.monotonic()
    tries = []
    while True:
        status, headers, text = post(logs_url, body)
        answers.append(text)
        tries.append(status)
        if status == 200:
            break
        retry = headers.get("Retry-After") if headers is not None else None
        try:
            wait = float(retry) if retry is not None else 1.0
        except ValueError:
            wait = 1.0
        left = OUTAGE_RETRY_SECONDS - (time.monotonic() - t0)
        if left <= 0:
            break
        time.sleep(max(0.1, min(wait, left)))
    note(f"after resume: {tries} in {time.monotonic() - t0:.1f} s")
    c.ok("the POST retried as Retry-After says gets 200 once PostgreSQL is back", status == 200,
         f"statuses {tries}: {short(pg.hide(text))}")
    accepted = results if status == 200 else 0
    got = history.tool_completes(run_id)
    c.ok(f"the new session has its {results} tool results in PostgreSQL (none lost)", got == results,
         f"{got} tool_complete events of {run_id}")

    status, headers, text = post(logs_url, body)
    answers.append(text)
    again = history.tool_completes(run_id)
    c.ok("the same export again gets 200 and adds no call (no duplicates)", status == 200 and again == got,
         f"status {status}: {short(pg.hide(text))}; {got} before, {again} after")
    accepted += results if status == 200 else 0

    if mcp is not None:
        found, error = mcp.detect()
        ids = pattern_ids(found or [])
        c.ok("the MCP server's detect works again after the outage (the same two patterns)",
             error is None and lists_both(found), short(pg.hide(error or ids)))
    return accepted


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
    ap.add_argument("--pg-url", default=os.environ.get("SELFHEAL_PG_URL") or None,
                    help="admin URL of a PostgreSQL server (default: $SELFHEAL_PG_URL): each protocol runs "
                         "again into a fresh database there")
    ap.add_argument("--pg-cluster", default=os.environ.get("SELFHEAL_PG_CLUSTER") or None,
                    help="that server's tests/pg/cluster.sh directory (default: $SELFHEAL_PG_CLUSTER): "
                         "the outage check pauses and resumes it (a throw-away cluster only)")
    ap.add_argument("--mcp", default=None,
                    help="the self-healing-mcp binary (default: the one next to --cli)")
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
    args.mcp = str(Path(args.mcp).resolve() if args.mcp else Path(args.cli).parent / "self-healing-mcp")
    pg = None
    if not args.pg_url and os.environ.get("SELFHEAL_REQUIRE_PG"):
        print("error: SELFHEAL_REQUIRE_PG is set but no PostgreSQL URL (--pg-url, SELFHEAL_PG_URL)", file=sys.stderr)
        return 2
    if args.pg_url:
        psql = shutil.which("psql") or ("/usr/bin/psql" if Path("/usr/bin/psql").is_file() else None)
        if psql is None:
            print("error: --pg-url needs psql (the PostgreSQL client) on PATH", file=sys.stderr)
            return 2
        if not args.pg_url.startswith(("postgres://", "postgresql://")):
            print("error: --pg-url takes a postgres://... URL", file=sys.stderr)
            return 2
        pg = Postgres(args.pg_url, psql)
        ok, _, err = pg.run(pg.admin, "SELECT 1")
        if not ok:
            print(f"error: cannot reach PostgreSQL at {pg.hide(pg.admin)}: {err}", file=sys.stderr)
            return 2
    if args.pg_cluster and not (Path(args.pg_cluster) / "data").is_dir():
        print(f"error: --pg-cluster {args.pg_cluster} holds no cluster (tests/pg/cluster.sh start DIR)",
              file=sys.stderr)
        return 2
    exe = Path(args.claude).resolve() if args.claude else claude.install()
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        print(f"error: no claude at {exe}: run tests/harness/install_claude.sh or pass --claude", file=sys.stderr)
        return 2

    work, temporary = work_directory(args.work, "collect-e2e-")
    if work is None:
        return 2

    c = Tally()
    c.secret = pg.secret if pg is not None else None
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
    if pg is not None:
        note(f"PostgreSQL at {pg.hide(pg.admin)}" + (f", cluster {args.pg_cluster} (outage with {protocols[-1]})"
                                                      if args.pg_cluster else " (no --pg-cluster: no outage)"))
    for protocol in protocols if pg is not None else []:
        label = f"{protocol} postgres"
        c.prefix = f"{label}: "
        t0 = time.monotonic()
        passed, failed = c.passed, c.failed
        try:
            run_protocol_pg(c, args, exe, protocol, work / (protocol.replace("/", "-") + "-postgres"), pg,
                            outage=bool(args.pg_cluster) and protocol == protocols[-1])
        except Abort as e:
            print(f"stopped {label}: a check that later steps need failed ({e})", flush=True)
        except Exception as e:  # noqa: BLE001 - one protocol must not stop the other
            c.ok("the scenario ran", False, pg.hide(f"{type(e).__name__}: {e}"))
        timings.append((label, c.passed - passed, c.failed - failed, time.monotonic() - t0))
    c.prefix = ""
    for protocol, p, f, secs in timings:
        print(f"{protocol}: {p} passed, {f} failed in {secs:.1f} s", flush=True)
    print(f"{c.passed} passed, {c.failed} failed", flush=True)
    return finish(c.failures, work, temporary, args.keep)


if __name__ == "__main__":
    sys.exit(main())
