#!/usr/bin/env python3
"""`self-heal collect` killed mid-ingest loses nothing it answered 200 for, and the exporters'
retries create no duplicate (Python 3 standard library; `psql` for PostgreSQL).

    python3 tests/collect/kill_check.py --cli target/release/self-heal             # SQLite
    python3 tests/collect/kill_check.py --cli target/release/self-heal --pg-url URL  # PostgreSQL

For each round (`--rounds`, default 3): a fresh database; collect starts; `--clients` threads
post Claude Code `claude_code.tool_result` requests (OTLP/JSON, `--batch` records each, every
request its own session and tool_use ids) and note which were answered 200; once a random
tenth to half of them were answered, collect is killed with SIGKILL. Then:

1. every request answered 200 is in the history, whole: its session holds exactly its number
   of `tool_complete` events (a request is one transaction);
2. collect starts again and every request is sent again (what an exporter does with an
   unanswered one, and a harmless repeat of an answered one): every session then holds exactly
   its records, none twice.

Prints one PASS/FAIL line per check and exits 1 on any failure.
"""
import argparse
import http.client
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True


def attr(k, v):
    return {"key": k, "value": {"stringValue": v}}


def request(session, n, t0_ns):
    records = []
    for i in range(n):
        ok = i % 7 != 0
        a = [attr("event.name", "tool_result"), attr("session.id", session),
             attr("tool_name", ["Bash", "Read", "Edit"][i % 3]), attr("tool_use_id", f"toolu_{session}_{i}"),
             attr("success", "true" if ok else "false"), attr("duration_ms", str(10 + i)),
             attr("tool_input", json.dumps({"command": f"pytest -q tests/t{i}.py"}))]
        if not ok:
            a += [attr("error", "Exit code 127\npytest: command not found")]
        records.append({"timeUnixNano": str(t0_ns + i * 1_000_000), "body": {"stringValue": "claude_code.tool_result"},
                        "attributes": a})
    return json.dumps({"resourceLogs": [{"resource": {"attributes": [attr("service.name", "claude-code")]},
                                         "scopeLogs": [{"scope": {"name": "com.anthropic.claude_code.events"},
                                                        "logRecords": records}]}]}).encode()


class History:
    def __init__(self, pg_url, work, tag):
        self.pg_url = pg_url
        if pg_url:
            self.name = f"selfheal_kill_{os.getpid()}_{tag}"
            self.psql(pg_url, f"DROP DATABASE IF EXISTS {self.name}")
            self.psql(pg_url, f"CREATE DATABASE {self.name}")
            self.db = pg_url.rsplit("/", 1)[0] + "/" + self.name
        else:
            self.db = os.path.join(work, f"history-{tag}.db")

    @staticmethod
    def psql(url, sql):
        return subprocess.run(["psql", url, "-Atc", sql], check=True, capture_output=True, text=True).stdout

    def per_session(self):
        sql = ("SELECT run_id, count(*) FROM run_events WHERE event_type = 'tool_complete' GROUP BY run_id")
        if self.pg_url:
            out = self.psql(self.db, sql)
            return {l.split("|")[0]: int(l.split("|")[1]) for l in out.splitlines() if l}
        if not os.path.exists(self.db):
            return {}
        return dict(sqlite3.connect(self.db).execute(sql).fetchall())

    def drop(self):
        if self.pg_url:
            self.psql(self.pg_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def start(cli, db):
    proc = subprocess.Popen([cli, "--db", db, "collect", "--listen", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
    m = re.search(r"http://([\d.]+):(\d+)", proc.stderr.readline())
    if not m:
        proc.kill()
        sys.exit("collect did not start")
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return proc, m.group(1), int(m.group(2))


def post_all(host, port, bodies, clients, acked, stop_on_error):
    queue = list(bodies.items())
    lock = threading.Lock()

    def client():
        conn = None
        while True:
            with lock:
                if not queue:
                    return
                session, body = queue.pop()
            while True:
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(host, port, timeout=60)
                    conn.request("POST", "/v1/logs", body, {"Content-Type": "application/json"})
                    r = conn.getresponse()
                    r.read()
                except OSError:
                    if stop_on_error:
                        return
                    conn = None
                    time.sleep(0.05)
                    continue
                if r.status == 429:
                    time.sleep(0.05)
                    continue
                if r.status == 200:
                    with lock:
                        acked.add(session)
                break

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", required=True)
    ap.add_argument("--pg-url")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="collect-kill-")
    failures = 0

    def check(name, ok, detail=""):
        nonlocal failures
        print(("PASS " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
        failures += 0 if ok else 1

    engine = "postgres" if args.pg_url else "sqlite"
    t0 = int(time.time() * 1e9) - 3_600 * 10**9
    for round_ in range(args.rounds):
        history = History(args.pg_url, work, round_)
        bodies = {f"kill{round_}-{i:05d}": request(f"kill{round_}-{i:05d}", args.batch, t0 + i * 10**9)
                  for i in range(args.requests)}
        proc, host, port = start(args.cli, history.db)
        acked = set()
        poster = threading.Thread(target=post_all, args=(host, port, bodies, args.clients, acked, True))
        poster.start()
        # Killed mid-ingest: once a random tenth to half of the requests were answered.
        target = rng.randint(args.requests // 10, args.requests // 2)
        deadline = time.time() + 60
        while len(acked) < target and time.time() < deadline and poster.is_alive():
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        poster.join()
        landed = history.per_session()
        runs = {f"claude-code:{s}": s for s in bodies}
        whole = all(landed.get(f"claude-code:{s}") == args.batch for s in acked)
        partial = [r for r, n in landed.items() if n != args.batch]
        check(f"{engine} round {round_}: killed after {len(acked)} of {len(bodies)} requests answered 200; "
              f"each of them is there, whole", whole and 0 < len(acked) < len(bodies),
              f"acked {len(acked)}, landed {len(landed)}")
        check(f"{engine} round {round_}: no request half written", not partial, f"{partial[:3]}")
        proc, host, port = start(args.cli, history.db)
        again = set()
        post_all(host, port, bodies, args.clients, again, False)
        proc.send_signal(signal.SIGTERM)
        check(f"{engine} round {round_}: collect restarted stops cleanly", proc.wait(timeout=60) == 0)
        landed = history.per_session()
        exact = all(landed.get(r) == args.batch for r in runs) and len(landed) == len(runs)
        check(f"{engine} round {round_}: after every request is sent again, each session holds its "
              f"{args.batch} calls once", exact and len(again) == len(bodies),
              f"{sum(landed.values())} events for {len(landed)} sessions")
        history.drop()
    print(f"{failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
