#!/usr/bin/env python3
"""Heavy-pattern benchmark: a history whose patterns each have many occurrences, where the
per-pattern cost of an answer shows (the `real` profile of `selfheal-bench` has few
occurrences per cause and hides it).

Python 3 standard library only. It writes a run history of about `--events` events (one
`tool_start` and one `tool_complete` per call) in the last 7 days before `--now`: `--patterns`
causes (tools × classes, each failure message in a cause's own words with varying paths,
numbers and hosts), every cause with about `--events / 2 × failure share / patterns`
occurrences spread over most runs. Then it drives the release server over stdio (newline
JSON-RPC), the way an agent does:

- the first call (the index catches up from nothing: cold);
- warm `detect_failure_patterns` with default arguments, and with every pattern (`limit`
  500, `min_occurrences` 1, `confidence_threshold` 0);
- warm `get_pattern` on the largest pattern;
- the raw SQL aggregate `selfheal-bench` uses as its baseline, on the same file.

    python3 bench/heavy_patterns.py --server target/release/self-healing-mcp --events 1000000

It prints the history's shape (patterns, occurrences and runs per pattern) and a table of p50
and p95 latencies (ms) with the targets of the issue "Answers an agent can afford".
"""

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

CLASSES = [
    ("not_found", "ENOENT: no such file or directory, open '/srv/app/{w}/{n}.json'"),
    ("permission_denied", "EACCES: permission denied, open '/var/lib/{w}/{n}.lock'"),
    ("timeout", "Request to https://{w}.internal/api/v{n} timed out after 30000 ms"),
    ("network_error", "read ECONNRESET while talking to {w}-{n}.svc.cluster.local:443"),
    ("invalid_input", "Invalid arguments: field '{w}' must be a positive integer, got -{n}"),
]
WORDS = ["alpha", "bravo", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo",
         "juniper", "krypton", "lumen", "marble", "nickel", "onyx", "pepper"]

RAW_SQL = """SELECT COALESCE(json_extract(event_data, '$.error_type'), 'Unknown') AS error_type,
       COALESCE(json_extract(event_data, '$.name'), json_extract(event_data, '$.tool_name')) AS tool,
       COUNT(*) AS occurrences, COUNT(DISTINCT run_id) AS runs, MIN(timestamp), MAX(timestamp)
FROM run_events
WHERE event_type = 'tool_complete' AND timestamp >= ?1 AND json_valid(event_data)
  AND json_extract(event_data, '$.is_error') IN (1, 'true')
GROUP BY error_type, tool HAVING COUNT(*) >= 3 ORDER BY occurrences DESC"""

SCHEMA = """
CREATE TABLE runs (id TEXT PRIMARY KEY, workflow_name TEXT NOT NULL, task TEXT NOT NULL,
  status TEXT NOT NULL, model TEXT NOT NULL, started_at TEXT NOT NULL, completed_at TEXT,
  duration_ms INTEGER, context TEXT, error TEXT, metadata TEXT);
CREATE TABLE run_events (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL,
  step_index INTEGER NOT NULL, event_type TEXT NOT NULL, event_data TEXT NOT NULL,
  timestamp TEXT NOT NULL);
CREATE INDEX idx_run_events_run_id ON run_events(run_id);
"""


def ts(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def generate(path, events, patterns, runs, failure_share, now, seed):
    rng = random.Random(seed)
    tools = [f"svc_{i:02d}" for i in range((patterns + len(CLASSES) - 1) // len(CLASSES))]
    causes = [(t, c) for t in tools for c in CLASSES][:patterns]
    calls_per_run = max(2, events // 2 // runs)
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.execute("PRAGMA journal_mode = WAL")
    start = now - timedelta(days=7)
    ev_rows, run_rows = [], []
    for r in range(runs):
        run_id = f"heavy-{r:06d}"
        t0 = start + timedelta(seconds=rng.uniform(0, 7 * 86400 - 3600))
        run_rows.append((run_id, "heavy", f"task {r}", "completed", "m", ts(t0), None, None,
                         None, None, json.dumps({"agent": "heavy"})))
        for i in range(calls_per_run):
            at = ts(t0 + timedelta(seconds=i * 2))
            call = f"c{r}-{i}"
            if rng.random() < failure_share:
                tool, (cls, words) = causes[rng.randrange(len(causes))]
                message = words.format(w=rng.choice(WORDS), n=rng.randrange(10_000))
                done = {"type": "tool_complete", "name": tool, "call_id": call,
                        "result": message, "is_error": True, "duration": rng.randrange(5, 900)}
                args = {"target": rng.choice(WORDS), "n": rng.randrange(100)}
            else:
                tool = rng.choice(tools)
                done = {"type": "tool_complete", "name": tool, "call_id": call,
                        "result": "ok", "is_error": False, "duration": rng.randrange(5, 300)}
                args = {"target": rng.choice(WORDS)}
            ev_rows.append((run_id, 2 * i, "tool_start",
                            json.dumps({"type": "tool_start", "name": tool, "call_id": call,
                                        "arguments": args}), at))
            ev_rows.append((run_id, 2 * i + 1, "tool_complete", json.dumps(done), at))
        if len(ev_rows) > 200_000:
            conn.executemany("INSERT INTO run_events(run_id, step_index, event_type, event_data, timestamp) VALUES (?,?,?,?,?)", ev_rows)
            ev_rows.clear()
    conn.executemany("INSERT INTO run_events(run_id, step_index, event_type, event_data, timestamp) VALUES (?,?,?,?,?)", ev_rows)
    conn.executemany("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?)", run_rows)
    conn.commit()
    conn.close()


class Server:
    def __init__(self, server, db, now, index_dir):
        env = dict(os.environ, DATABASE_PATH=db, SELFHEAL_NOW=now, SELFHEAL_INDEX_DIR=index_dir,
                   RUST_LOG="warn")
        env.pop("SELFHEAL_IMPORT", None)
        self.p = subprocess.Popen([server], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, env=env, text=True)
        self.n = 0
        self.rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                "clientInfo": {"name": "heavy-bench", "version": "1"}})
        self.p.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
        self.p.stdin.flush()

    def rpc(self, method, params):
        self.n += 1
        self.p.stdin.write(json.dumps({"jsonrpc": "2.0", "id": self.n, "method": method,
                                       "params": params}) + "\n")
        self.p.stdin.flush()
        while True:
            msg = json.loads(self.p.stdout.readline())
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise SystemExit(f"{method}: {msg['error']}")
                return msg["result"]

    def call(self, tool, args):
        t = time.perf_counter()
        r = self.rpc("tools/call", {"name": tool, "arguments": args})
        ms = (time.perf_counter() - t) * 1000
        if r.get("isError"):
            raise SystemExit(f"{tool}: {r}")
        return r.get("structuredContent") or {}, ms

    def close(self):
        self.p.kill()


def p(values, q):
    values = sorted(values)
    return values[max(0, min(len(values) - 1, int(round(q * len(values) + 0.5)) - 1))]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="the release self-healing-mcp binary")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--patterns", type=int, default=250)
    ap.add_argument("--runs", type=int, default=2_500)
    ap.add_argument("--failure-share", type=float, default=0.6)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--now", default="2026-12-07T12:00:00Z")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", help="keep the history here")
    args = ap.parse_args(argv)
    work = args.work or tempfile.mkdtemp(prefix="heavy-bench-")
    os.makedirs(work, exist_ok=True)
    db = os.path.join(work, "heavy.db")
    now = datetime.strptime(args.now, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    if not os.path.exists(db):
        t = time.perf_counter()
        generate(db, args.events, args.patterns, args.runs, args.failure_share, now, args.seed)
        print(f"generated {db} in {time.perf_counter() - t:.1f} s")
    conn = sqlite3.connect(db)
    events = conn.execute("SELECT count(*) FROM run_events").fetchone()[0]
    since = ts(now - timedelta(days=7))
    t = time.perf_counter()
    shape = conn.execute(RAW_SQL, (since,)).fetchall()
    raw_ms = (time.perf_counter() - t) * 1000
    for _ in range(2):
        t = time.perf_counter()
        conn.execute(RAW_SQL, (since,)).fetchall()
        raw_ms = min(raw_ms, (time.perf_counter() - t) * 1000)
    conn.close()

    s = Server(args.server, db, args.now, os.path.join(work, "index"))
    _, cold_ms = s.call("detect_failure_patterns", {})
    every, _ = s.call("detect_failure_patterns",
                      {"limit": 500, "min_occurrences": 1, "confidence_threshold": 0})
    pats = every.get("patterns", [])
    occ = [p_["occurrences"] for p_ in pats]
    runs = [p_["affected_run_count"] for p_ in pats]
    heavy = sum(1 for o, r in zip(occ, runs) if o >= 1000 and r >= 500)
    print(f"history: {events} events; {len(pats)} patterns in the window, {heavy} with >= 1000 "
          f"occurrences in >= 500 runs; occurrences per pattern median {statistics.median(occ):.0f} "
          f"(max {max(occ)}), runs per pattern median {statistics.median(runs):.0f}")
    timings = {}
    for name, tool, a in [
        ("warm default detect", "detect_failure_patterns", {}),
        ("every pattern (limit 500)", "detect_failure_patterns",
         {"limit": 500, "min_occurrences": 1, "confidence_threshold": 0}),
        ("get_pattern (largest)", "get_pattern", {"pattern_id": pats[0]["id"]}),
    ]:
        ms = [s.call(tool, a)[1] for _ in range(args.samples)]
        timings[name] = (p(ms, 0.5), p(ms, 0.95))
    s.close()
    targets = {"warm default detect": 20, "every pattern (limit 500)": 60, "get_pattern (largest)": 10}
    print(f"raw SQL aggregate (baseline): {raw_ms:.1f} ms ({len(shape)} groups)")
    print(f"first call (cold index of {events} events): {cold_ms:.0f} ms")
    print("| answer | p50 ms | p95 ms | target | met |")
    print("|---|---:|---:|---:|:---:|")
    for name, (p50, p95) in timings.items():
        target = targets[name]
        print(f"| {name} | {p50:.1f} | {p95:.1f} | <= {target} ms | {'yes' if p50 <= target else '**no**'} |")
    d50 = timings["warm default detect"][0]
    print(f"| default detect vs raw SQL | {raw_ms / d50:.1f}x faster | | >= 10x | "
          f"{'yes' if raw_ms / d50 >= 10 else '**no**'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
