#!/usr/bin/env python3
"""Bounded soak: writers at full speed while the server answers a mixed tool load.

Started against the release binaries, for `--seconds` (default 35):

- an **appender** writes `runs` / `run_events` into the run history in WAL mode as fast as it
  can (one run of `--calls-per-commit` tool calls per transaction), as an agent would;
- an **importer** keeps appending self-heal JSONL calls to a few files (lines sometimes
  written in two pieces, so the importer meets half-written lines) and runs
  `self-heal import` on them back to back;
- a **hook** runs `self-heal hook` for Claude Code `PostToolUse` / `PostToolUseFailure`
  events, one process per event;
- the **server** (`self-healing-mcp` over stdio) answers a mix of tool calls, several in
  flight at once, catching its index up on each.

At the end every writer stops, the importer reads what is left, and the checks are: no tool
call answered with an error, no writer failed (nor the hook logged a problem; recordings it
notes as slower than 1 s, waiting for the other writers' locks, are counted), the history
holds exactly the calls written (per writer) with no call twice, and the server's tool
reliability counts exactly those calls. Peak RSS of the server and of the importer are
reported. Exit 0 when everything holds, 1 otherwise. Only the standard library is used.

    python3 tests/soak/soak.py --server target/release/self-healing-mcp \\
        --cli target/release/self-heal --seconds 35
"""

import argparse
import datetime
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

TOOLS = ["read_file", "web_fetch", "search", "write_file", "http_get"]
FAILURES = [
    ("timeout", "request to https://api.example.com/v1/items timed out after 30s"),
    ("connection_refused", "connect ECONNREFUSED 127.0.0.1:{n}"),
    ("not_found", "ENOENT: no such file or directory, open '/srv/data/{n}.json'"),
    ("rate_limited", "HTTP 429 Too Many Requests (retry after {n} ms)"),
]


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def failure(rng):
    kind, text = rng.choice(FAILURES)
    return kind, text.format(n=rng.randint(1, 9000))


# ------------------------------------------------------------------------------------------
# Roles (each runs in its own process: `soak.py --role NAME ...`)

def role_appender(args):
    """Appends runs and events in WAL mode until the deadline; writes its counts as JSON."""
    rng = random.Random(1)
    conn = sqlite3.connect(args.db, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    runs = calls = events = commits = 0
    while time.time() < args.until:
        run_id = f"soak-app-{runs + 1}"
        ts = now_iso()
        rows = []
        for i in range(args.calls_per_commit):
            tool = rng.choice(TOOLS)
            call_id = f"c{i}"
            rows.append((run_id, 2 * i, "tool_start",
                         json.dumps({"name": tool, "call_id": call_id,
                                     "arguments": {"path": f"/w/{i}"}}), ts))
            if rng.random() < 0.2:
                kind, message = failure(rng)
                data = {"name": tool, "call_id": call_id, "is_error": True,
                        "error_type": kind, "result": message,
                        "duration": rng.randint(5, 30000)}
            else:
                data = {"name": tool, "call_id": call_id, "is_error": False,
                        "result": "ok", "duration": rng.randint(1, 900)}
            rows.append((run_id, 2 * i + 1, "tool_complete", json.dumps(data), ts))
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO runs (id, workflow_name, task, status, model, started_at, completed_at, "
            "duration_ms, metadata) VALUES (?, 'soak', 'append at full speed', 'completed', "
            "'soak-model', ?, ?, 10, ?)",
            (run_id, ts, ts, json.dumps({"agent": f"appender-{runs % 3}"})))
        conn.executemany(
            "INSERT INTO run_events (run_id, step_index, event_type, event_data, timestamp) "
            "VALUES (?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
        runs += 1
        calls += args.calls_per_commit
        events += len(rows)
        commits += 1
    conn.close()
    write_json(args.out, {"runs": runs, "calls": calls, "events": events, "commits": commits})


def role_importer(args):
    """Appends JSONL calls to files while `self-heal import` runs on them back to back."""
    folder = args.folder
    os.makedirs(folder, exist_ok=True)
    files = [os.path.join(folder, f"calls-{k}.jsonl") for k in range(3)]
    written = [0]
    stop = threading.Event()
    rng = random.Random(2)

    def writer():
        handles = [open(f, "ab") for f in files]
        n = 0
        while not stop.is_set():
            for _ in range(50):
                n += 1
                # `time` is when the call started: it ends now, inside the final window.
                duration = rng.randint(1, 5000)
                started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
                    milliseconds=duration)
                call = {"run": f"soak-imp-{n // 40}", "agent": "importer", "tool": rng.choice(TOOLS),
                        "time": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                        "duration": duration, "call_id": f"i{n}"}
                if rng.random() < 0.2:
                    call["error_type"], call["message"] = failure(rng)
                    call["is_error"] = True
                else:
                    call["is_error"], call["message"] = False, "ok"
                line = (json.dumps(call) + "\n").encode()
                h = handles[n % len(handles)]
                if n % 7 == 0:
                    # A line written in two pieces: an import may see the first half alone.
                    h.write(line[: len(line) // 2])
                    h.flush()
                    time.sleep(0.0005)
                    h.write(line[len(line) // 2:])
                else:
                    h.write(line)
                written[0] += 1
            for h in handles:
                h.flush()
            time.sleep(0.002)
        for h in handles:
            h.close()

    t = threading.Thread(target=writer)
    t.start()
    runs = failures = 0
    details = []
    while time.time() < args.until:
        r = subprocess.run([args.cli, "--db", args.db, "import", folder],
                           capture_output=True, text=True)
        runs += 1
        if r.returncode != 0:
            failures += 1
            details.append(r.stderr.strip()[-500:])
    stop.set()
    t.join()
    # What is left: the files are complete now.
    r = subprocess.run([args.cli, "--db", args.db, "import", folder], capture_output=True, text=True)
    runs += 1
    if r.returncode != 0:
        failures += 1
        details.append(r.stderr.strip()[-500:])
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    write_json(args.out, {"calls": written[0], "imports": runs, "failed_imports": failures,
                          "errors": details[:5], "peak_rss_kib": peak_kib})


def role_hook(args):
    """Runs `self-heal hook` for one PostToolUse(Failure) event after another."""
    rng = random.Random(3)
    env = dict(os.environ, SELFHEAL_HOOK_LOG=args.hook_log)
    calls = procs = failures = 0
    while time.time() < args.until:
        calls += 1
        session = f"soak-hook-{calls // 25}"
        event = {"session_id": session, "transcript_path": f"/soak/{session}.jsonl",
                 "cwd": "/soak/project", "tool_name": rng.choice(TOOLS),
                 "tool_input": {"path": f"/w/{calls}"}, "tool_use_id": f"toolu_{calls}"}
        if rng.random() < 0.2:
            event["hook_event_name"] = "PostToolUseFailure"
            event["error"] = failure(rng)[1]
        else:
            event["hook_event_name"] = "PostToolUse"
            event["tool_response"] = {"stdout": "ok", "stderr": "", "interrupted": False}
        r = subprocess.run([args.cli, "--db", args.db, "hook"], input=json.dumps(event).encode(),
                           env=env, capture_output=True)
        procs += 1
        if r.returncode != 0 or r.stdout:
            failures += 1
    write_json(args.out, {"calls": calls, "processes": procs, "failed": failures})


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f)


# ------------------------------------------------------------------------------------------
# The server and its client

class Server:
    """The stdio server with a reader thread matching answers to request ids."""

    def __init__(self, binary, db, index_dir, stderr_path):
        env = dict(os.environ, DATABASE_PATH=db, SELFHEAL_INDEX_DIR=index_dir, RUST_LOG="warn")
        env.pop("SELFHEAL_NOW", None)
        self.stderr = open(stderr_path, "wb")
        self.proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env)
        self.lock = threading.Lock()
        self.pending = {}
        self.next_id = 0
        self.bad_lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                self.bad_lines.append(line[:200])
                continue
            if "id" in msg and ("result" in msg or "error" in msg):
                with self.lock:
                    waiter = self.pending.pop(msg["id"], None)
                if waiter is not None:
                    waiter[1] = msg
                    waiter[0].set()

    def request(self, method, params=None, timeout=120):
        with self.lock:
            self.next_id += 1
            rid = self.next_id
            waiter = [threading.Event(), None]
            self.pending[rid] = waiter
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        data = (json.dumps(msg) + "\n").encode()
        with self.lock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        if not waiter[0].wait(timeout):
            raise TimeoutError(f"{method} not answered in {timeout} s")
        return waiter[1]

    def notify(self, method):
        with self.lock:
            self.proc.stdin.write((json.dumps({"jsonrpc": "2.0", "method": method}) + "\n").encode())
            self.proc.stdin.flush()

    def peak_rss_kib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


MIX = [
    ("detect_failure_patterns", {"since": "-1d", "min_occurrences": 2}),
    ("get_health_dashboard", {"since": "-1d"}),
    ("compute_tool_reliability", {"since": "-1d"}),
    ("compute_agent_metrics", {"since": "-1d"}),
    ("detect_stalled_runs", {"threshold_minutes": 30}),
    ("analyze_run_health", {"run_id": "soak-app-1"}),
    ("get_healing_report", {"since": "-1d"}),
    ("list_improvements", {}),
]


def tool_load(server, until, workers, stats):
    """`workers` threads, each calling the next tool of the mix until the deadline."""
    lock = threading.Lock()
    counter = [0]

    def worker():
        while time.time() < until:
            with lock:
                name, arguments = MIX[counter[0] % len(MIX)]
                counter[0] += 1
            started = time.time()
            try:
                msg = server.request("tools/call", {"name": name, "arguments": arguments})
            except Exception as e:  # a timeout or a closed pipe is an error of the run
                with lock:
                    stats["errors"].append(f"{name}: {e}")
                return
            took = time.time() - started
            with lock:
                stats["latencies"].append(took)
                stats["answered"] += 1
                if "error" in msg:
                    stats["errors"].append(f"{name}: JSON-RPC error {msg['error']}")
                elif msg["result"].get("isError"):
                    text = " ".join(c.get("text", "") for c in msg["result"].get("content", []))
                    stats["errors"].append(f"{name}: {text[:300]}")

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def count(db, sql, params=()):
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--role", choices=["appender", "importer", "hook"])
    p.add_argument("--server")
    p.add_argument("--cli")
    p.add_argument("--db")
    p.add_argument("--folder")
    p.add_argument("--out")
    p.add_argument("--hook-log")
    p.add_argument("--until", type=float)
    p.add_argument("--seconds", type=float, default=35)
    p.add_argument("--calls-per-commit", type=int, default=50)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--workdir")
    args = p.parse_args()
    if args.role:
        {"appender": role_appender, "importer": role_importer, "hook": role_hook}[args.role](args)
        return 0
    if not (args.server and args.cli):
        p.error("--server and --cli are required")

    work = args.workdir or tempfile.mkdtemp(prefix="selfheal-soak-")
    os.makedirs(work, exist_ok=True)
    db = os.path.join(work, "history.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    subprocess.run([args.cli, "--db", db, "init"], check=True, capture_output=True)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    index_dir = os.path.join(work, "index")
    hook_log = os.path.join(work, "hook.log")
    for leftover in (index_dir, os.path.join(work, "imported")):
        shutil.rmtree(leftover, ignore_errors=True)
    if os.path.exists(hook_log):
        os.remove(hook_log)

    started = time.time()
    until = started + args.seconds
    me = [sys.executable, os.path.abspath(__file__), "--cli", args.cli, "--db", db,
          "--until", str(until)]
    outs = {r: os.path.join(work, f"{r}.json") for r in ("appender", "importer", "hook")}
    roles = [
        subprocess.Popen(me + ["--role", "appender", "--out", outs["appender"],
                               "--calls-per-commit", str(args.calls_per_commit)]),
        subprocess.Popen(me + ["--role", "importer", "--out", outs["importer"],
                               "--folder", os.path.join(work, "imported")]),
        subprocess.Popen(me + ["--role", "hook", "--out", outs["hook"], "--hook-log", hook_log]),
    ]
    # The run analysed by analyze_run_health exists before the load starts.
    while count(db, "SELECT count(*) FROM runs WHERE id = 'soak-app-1'") == 0:
        time.sleep(0.05)

    server = Server(args.server, db, index_dir, os.path.join(work, "server.stderr"))
    stats = {"answered": 0, "errors": [], "latencies": []}
    init = server.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                         "clientInfo": {"name": "soak", "version": "0"}})
    if "result" not in init:
        print(f"soak: initialize failed: {init}")
        return 1
    server.notify("notifications/initialized")
    tool_load(server, until, args.workers, stats)
    rcs = [r.wait() for r in roles]
    load_seconds = time.time() - started

    # Everything is written: the server catches up and must count exactly what was written.
    final = server.request("tools/call", {"name": "compute_tool_reliability",
                                          "arguments": {"since": "-1d", "limit": 500}},
                           timeout=600)
    peak_server = server.peak_rss_kib()
    server.close()
    results = {r: json.load(open(path)) for r, path in outs.items() if os.path.exists(path)}

    problems = list(stats["errors"])
    if any(rcs):
        problems.append(f"a writer process failed (exit codes {rcs})")
    if len(results) != 3:
        problems.append(f"writers reported {sorted(results)}, expected all three")
        results = {r: results.get(r, {"calls": 0}) for r in outs}
    imp = results["importer"]
    if imp.get("failed_imports"):
        problems.append(f"{imp['failed_imports']} imports failed: {imp.get('errors')}")
    if results["hook"].get("failed"):
        problems.append(f"{results['hook']['failed']} hook processes failed or printed")
    # The hook notes a recording slower than 1 s (it waited for the other writers' locks):
    # reported, not a failure; anything else it logs is.
    slow_hooks = 0
    if os.path.exists(hook_log):
        with open(hook_log, errors="replace") as f:
            for line in f:
                if " slow: recording the event took " in line:
                    slow_hooks += 1
                elif line.strip():
                    problems.append("the hook logged: " + line.strip()[:300])
    if server.bad_lines:
        problems.append(f"the server wrote non-JSON lines: {server.bad_lines[:3]}")

    complete = "event_type = 'tool_complete'"
    got = {
        "appender": count(db, f"SELECT count(*) FROM run_events WHERE {complete} AND run_id LIKE 'soak-app-%'"),
        "importer": count(db, f"SELECT count(*) FROM run_events WHERE {complete} AND run_id LIKE 'soak-imp-%'"),
        "hook": count(db, f"SELECT count(*) FROM run_events WHERE {complete} AND run_id LIKE 'claude-code:soak-hook-%'"),
    }
    for role, n in got.items():
        want = results[role]["calls"]
        if n != want:
            problems.append(f"{role}: {want} calls written, {n} in the history")
    total = count(db, f"SELECT count(*) FROM run_events WHERE {complete}")
    distinct = count(db, "SELECT count(*) FROM (SELECT DISTINCT run_id, "
                         f"json_extract(event_data, '$.call_id') FROM run_events WHERE {complete})")
    if distinct != total:
        problems.append(f"{total - distinct} calls are in the history twice")
    app_runs = count(db, "SELECT count(*) FROM runs WHERE id LIKE 'soak-app-%'")
    if app_runs != results["appender"].get("runs"):
        problems.append(f"appender: {results['appender'].get('runs')} runs written, {app_runs} found")
    served = None
    if "result" in final and not final["result"].get("isError"):
        tools = final["result"]["structuredContent"]["tools"]
        served = sum(t["total_calls"] for t in tools)
        if served != total:
            problems.append(f"the server counts {served} calls, the history holds {total}")
    else:
        problems.append(f"the final count failed: {json.dumps(final)[:500]}")

    lat = sorted(stats["latencies"]) or [0.0]
    report = {
        "seconds": round(load_seconds, 1),
        "appender": results["appender"],
        "importer": {k: v for k, v in imp.items() if k != "errors"},
        "hook": dict(results["hook"], slower_than_1s=slow_hooks),
        "history_calls": total,
        "server_counted_calls": served,
        "tool_calls_answered": stats["answered"],
        "tool_call_errors": len(stats["errors"]),
        "latency_s": {"p50": round(lat[len(lat) // 2], 3), "max": round(lat[-1], 3)},
        "server_peak_rss_mib": round(peak_server / 1024, 1) if peak_server else None,
        "importer_peak_rss_mib": round(imp.get("peak_rss_kib", 0) / 1024, 1),
    }
    print("soak: " + json.dumps(report))
    if problems:
        for line in problems[:20]:
            print(f"soak: FAIL {line}")
        return 1
    print(f"soak: ok: {total} calls from three writers, exact and once each; "
          f"{stats['answered']} tool calls answered, 0 errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
