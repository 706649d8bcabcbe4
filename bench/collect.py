#!/usr/bin/env python3
"""Throughput of `self-heal collect` into a run history (Python 3 standard library).

    python3 bench/collect.py --cli target/release/self-heal --events 200000            # SQLite
    python3 bench/collect.py --cli target/release/self-heal --events 200000 --pg-url URL  # PostgreSQL

With `--pg-url` (an admin connection string; `psql` on PATH) the receiver writes into a fresh
PostgreSQL database on that server, created and dropped by the script.

Writes `--events` Claude Code `claude_code.tool_result` log records (OTLP/JSON, the shape in
tests/data/otlp/claude-code-*/json: string attributes, `success` "true"/"false", 10% failed
with an error text, 200 sessions, distinct tool_use_ids) into requests of `--batch` records,
starts the receiver on a fresh database, posts every request from `--clients` concurrent
connections, and reports tool events per second from the first request to the last answer
(every answer is sent after its records are committed), the receiver's peak RSS, and checks
the count written.
"""
import argparse
import http.client
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time


def attr(k, v):
    return {"key": k, "value": {"stringValue": v}}


def body(start, n, t0_ns):
    records = []
    for i in range(start, start + n):
        ok = i % 10 != 0
        a = [
            attr("event.name", "tool_result"),
            attr("session.id", f"bench-session-{i % 200:04d}"),
            attr("tool_name", ["Bash", "Read", "Edit", "Grep"][i % 4]),
            attr("tool_use_id", f"toolu_bench_{i:09d}"),
            attr("success", "true" if ok else "false"),
            attr("duration_ms", str(20 + i % 300)),
            attr("tool_input", json.dumps({"command": f"pytest tests/test_{i % 50}.py -q"})),
        ]
        if not ok:
            a += [attr("error_type", "ShellError"), attr("error", f"Error: cannot open /srv/data/{i % 97}.json: ENOENT")]
        records.append({"timeUnixNano": str(t0_ns + i * 1_000_000), "body": {"stringValue": "claude_code.tool_result"}, "attributes": a})
    req = {"resourceLogs": [{"resource": {"attributes": [attr("service.name", "claude-code"), attr("team.id", "bench")]},
                             "scopeLogs": [{"scope": {"name": "com.anthropic.claude_code.events"}, "logRecords": records}]}]}
    return json.dumps(req).encode()


def psql(url, sql):
    return subprocess.run(["psql", url, "-Atc", sql], check=True, capture_output=True, text=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", required=True)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--pg-url", help="PostgreSQL admin URL: write into a fresh database there")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="collect-bench-")
    db = os.path.join(work, "team.db")
    pg_name = None
    if args.pg_url:
        pg_name = f"selfheal_collect_bench_{os.getpid()}"
        psql(args.pg_url, f"DROP DATABASE IF EXISTS {pg_name}")
        psql(args.pg_url, f"CREATE DATABASE {pg_name}")
        db = args.pg_url.rsplit("/", 1)[0] + "/" + pg_name
    t0 = int(time.time() * 1e9) - 86_400 * 10**9
    bodies = [body(s, min(args.batch, args.events - s), t0) for s in range(0, args.events, args.batch)]
    proc = subprocess.Popen([args.cli, "--db", db, "collect", "--listen", "127.0.0.1:0"],
                            stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()
    m = re.search(r"http://([\d.]+):(\d+)", first)
    if not m:
        sys.exit(f"collect did not start: {first}")
    host, port = m.group(1), int(m.group(2))
    queue = list(enumerate(bodies))
    lock = threading.Lock()
    statuses = {}

    def client():
        conn = http.client.HTTPConnection(host, port, timeout=300)
        while True:
            with lock:
                if not queue:
                    return
                i, b = queue.pop()
            while True:
                conn.request("POST", "/v1/logs", b, {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                if r.status == 429:
                    time.sleep(0.05)
                    continue
                statuses[i] = r.status
                break

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    with open(f"/proc/{proc.pid}/status") as f:
        rss_kb = int(next(l for l in f if l.startswith("VmHWM:")).split()[1])
    proc.terminate()
    proc.stderr.read()
    if proc.wait() != 0:
        sys.exit("collect did not stop cleanly")
    count = "SELECT count(*) FROM run_events WHERE event_type = 'tool_complete'"
    if pg_name:
        written = int(psql(db, count))
        psql(args.pg_url, f"DROP DATABASE {pg_name} WITH (FORCE)")
    else:
        written = sqlite3.connect(db).execute(count).fetchone()[0]
    bad = [s for s in statuses.values() if s != 200]
    print(f"{'PostgreSQL' if pg_name else 'SQLite'}: {args.events} tool events in {len(bodies)} requests of {args.batch} from {args.clients} clients: "
          f"{elapsed:.2f} s, {args.events / elapsed:,.0f} tool events/s; peak RSS {rss_kb / 1024:.0f} MiB; "
          f"written {written}; non-200 answers {len(bad)}")
    if written != args.events or bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
