#!/usr/bin/env python3
"""A team on one PostgreSQL run history: N MCP servers answering while `collect` ingests (Python 3 standard library).

    python3 bench/team_servers.py --cli target/release/self-heal --server target/release/self-healing-mcp \\
        --db-url postgres://USER:PASS@HOST:PORT/selfheal_bench_real_1000000 --copy --wait-for selfheal-bench \\
        --wait-idle 30

Target: 8 concurrent servers on one PostgreSQL, p95 of `get_health_dashboard` <= 100 ms while
`collect` ingests 1k tool events/s.

`--db-url` names a database that already holds a history (e.g. the one `selfheal-bench
--postgres` leaves behind, synthetic and ending at `--now`). With `--copy` the script works on
`CREATE DATABASE <name>_team_<pid> TEMPLATE <name>` (no one may be connected to the source) and
drops the copy at the end; without it, collect's rows stay in the given database (in runs of
their own: `claude-code:team-<tag>-NNNN`, unique per run of the script). `psql` must be on PATH.

`--wait-for selfheal-bench` waits for another benchmark to end and `--wait-idle 30` for 30 s of an
idle machine before anything starts: on a small machine others' builds would skew the latencies
(the CPU line of the summary shows what else ran in the window).

1. Warm-up: `--servers` `self-healing-mcp` processes (`DATABASE_URL`, each its own
   `SELFHEAL_INDEX_DIR` under `--work`, `SELFHEAL_NOW=--now`, `RUST_LOG=warn`) are started and
   initialised; then, one server after the other, the first `get_health_dashboard` call, which
   catches that server's index up from PostgreSQL, is timed.
2. Measure, for `--seconds`: `self-heal --db URL collect` receives `--rate` Claude Code
   `claude_code.tool_result` records per second (the shape of bench/collect.py: one POST
   /v1/logs of `--batch` records every batch/rate seconds on the wall clock, from a few sender
   threads so that a slow answer does not stop the schedule; timestamps spread over the hour
   before `--now`; 429/503/408 answers are counted and the request is sent again). Meanwhile
   each server is called by its own thread, one call in flight, `--pause-ms` between calls
   (default 0: none); a call's latency is from writing the request to reading the answer line,
   and includes the server catching its index up with the newly collected events.
3. Checks: every call answered without an error, and every record landed exactly once (psql:
   the `tool_complete` events of this run's sessions, by distinct call id).

Reports per server and overall p50/p95/p99/max (ms) and calls, the warm-up times, the ingest
rate achieved and non-200 answers, events landed, peak RSS (VmHWM) of every server and of
collect, CPU seconds in the window (servers, PostgreSQL backends, collect, this
script, anything else on the machine), and whether overall p95 <= `--target-ms`. A markdown
summary ends the output, and results.json is written into `--work`. Exit 1 on an error (a call
error or timeout, a lost or doubled event, a process that failed); a missed target is reported,
not an error.
"""
import argparse
import datetime
import http.client
import json
import math
import os
import re
import resource
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time

TOOLS = ["Bash", "Read", "Edit", "Grep"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------------
# OTLP bodies (the request shape of bench/collect.py)

def attr(k, v):
    return {"key": k, "value": {"stringValue": v}}


def body(tag, start, n, t0_ns, step_ns, sessions):
    records = []
    for i in range(start, start + n):
        ok = i % 10 != 0
        a = [
            attr("event.name", "tool_result"),
            attr("session.id", f"team-{tag}-{i % sessions:04d}"),
            attr("tool_name", TOOLS[i % 4]),
            attr("tool_use_id", f"toolu_team_{tag}_{i:09d}"),
            attr("success", "true" if ok else "false"),
            attr("duration_ms", str(20 + i % 300)),
            attr("tool_input", json.dumps({"command": f"pytest tests/test_{i % 50}.py -q"})),
        ]
        if not ok:
            a += [attr("error_type", "ShellError"), attr("error", f"Error: cannot open /srv/data/{i % 97}.json: ENOENT")]
        records.append({"timeUnixNano": str(t0_ns + i * step_ns), "body": {"stringValue": "claude_code.tool_result"},
                        "attributes": a})
    req = {"resourceLogs": [{"resource": {"attributes": [attr("service.name", "claude-code"), attr("team.id", "bench")]},
                             "scopeLogs": [{"scope": {"name": "com.anthropic.claude_code.events"}, "logRecords": records}]}]}
    return json.dumps(req).encode()


# ------------------------------------------------------------------------------------------
# PostgreSQL and /proc helpers

def psql(url, sql):
    r = subprocess.run(["psql", url, "-Atc", sql], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"psql {redact(url)} -c {sql!r}: {r.stderr.strip()}")
    return r.stdout.strip()


def pg_sessions(url):
    """Sessions ever opened on the database (PostgreSQL 14+; None before), this one not counted."""
    try:
        return int(psql(url, "SELECT sessions - 1 FROM pg_stat_database WHERE datname = current_database()"))
    except (RuntimeError, ValueError):
        return None


def split_url(url):
    """(prefix up to the last '/', database name, '?query' or '')."""
    head, _, query = url.partition("?")
    prefix, _, name = head.rpartition("/")
    return prefix, name, ("?" + query if query else "")


def redact(url):
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_seconds(pid, children=False):
    """utime + stime of a process (and cutime + cstime, its reaped children's, with
    `children`), in seconds; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15 if children else 13]) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def postgres_cpu():
    """CPU seconds of every process named `postgres` (the cluster's backends), each with its
    reaped children's: a backend that ends moves its time into the postmaster's."""
    total = 0.0
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/comm") as f:
                    if f.read().strip() != "postgres":
                        continue
            except OSError:
                continue
            c = cpu_seconds(int(d), children=True)
            if c is not None:
                total += c
    return total


def machine_cpu():
    """(busy, total) jiffies of all cores since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def others_matching(pattern):
    """Pids `pgrep -f pattern` finds, but for this process and its ancestors (whose command
    lines may well hold the pattern)."""
    mine, pid = set(), os.getpid()
    while pid > 1:
        mine.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out if int(p) not in mine]


def pct(sorted_ms, q):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_ms:
        return float("nan")
    return sorted_ms[max(0, math.ceil(q / 100 * len(sorted_ms)) - 1)]


def dir_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


# ------------------------------------------------------------------------------------------
# One MCP server over stdio: one request in flight at a time, answers read with a timeout

class Server:
    def __init__(self, index, binary, db_url, work, now):
        self.index = index
        self.index_dir = os.path.join(work, f"index-{index}")
        os.makedirs(self.index_dir, exist_ok=True)
        env = dict(os.environ)
        env.pop("DATABASE_PATH", None)
        env.update(DATABASE_URL=db_url, SELFHEAL_INDEX_DIR=self.index_dir, SELFHEAL_NOW=now, RUST_LOG="warn")
        self.stderr_path = os.path.join(work, f"server-{index}.stderr")
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env, bufsize=0)
        self.fd = self.proc.stdout.fileno()
        self.buf = bytearray()
        self.next_id = 0

    def _line(self, deadline):
        scanned = 0
        while True:
            i = self.buf.find(b"\n", scanned)
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 1]
                return line
            scanned = len(self.buf)
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("no answer in time")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    raise EOFError(f"server {self.index} closed its output (exit {self.proc.poll()})")
                self.buf += chunk

    def _send(self, msg):
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())

    def request(self, method, params, timeout):
        """(answer, seconds from writing the request to reading its answer line)."""
        self.next_id += 1
        rid = self.next_id
        deadline = time.perf_counter() + timeout
        started = time.perf_counter()
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        while True:
            line = self._line(deadline)
            took = time.perf_counter() - started
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # not ours (the protocol has only JSON lines on stdout)
            if msg.get("id") == rid and ("result" in msg or "error" in msg):
                return msg, took

    def notify(self, method):
        self._send({"jsonrpc": "2.0", "method": method})

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


def call_error(msg):
    if "error" in msg:
        return f"JSON-RPC error {msg['error']}"
    if msg["result"].get("isError"):
        return " ".join(c.get("text", "") for c in msg["result"].get("content", []))[:300]
    return None


DASHBOARD = {"name": "get_health_dashboard", "arguments": {}}


# ------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db-url", required=True, help="postgres:// URL of a database holding a history")
    ap.add_argument("--cli", default="target/release/self-heal")
    ap.add_argument("--server", default="target/release/self-healing-mcp")
    ap.add_argument("--servers", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rate", type=int, default=1000, help="tool events per second into collect")
    ap.add_argument("--batch", type=int, default=100, help="records per request (one request every batch/rate s)")
    ap.add_argument("--senders", type=int, default=4, help="threads posting to collect (requests in flight at most)")
    ap.add_argument("--sessions", type=int, default=200, help="distinct session ids (runs) the records spread over")
    ap.add_argument("--pause-ms", type=float, default=0, help="pause of each server's thread between calls")
    ap.add_argument("--now", default="2026-11-20T12:00:00Z", help="SELFHEAL_NOW (the synthetic history ends there)")
    ap.add_argument("--target-ms", type=float, default=100, help="the target for overall p95")
    ap.add_argument("--call-timeout", type=float, default=120, help="seconds a measured call may take")
    ap.add_argument("--warmup-timeout", type=float, default=1800, help="seconds a first call may take")
    ap.add_argument("--copy", action="store_true", help="work on a copy of the database (TEMPLATE), dropped at the end")
    ap.add_argument("--wait-for", metavar="PATTERN", help="first wait until no process matches `pgrep -f PATTERN`")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                    help="then wait until the machine has been under 10%% busy for that long (others' builds skew the latencies)")
    ap.add_argument("--work", help="folder for the indexes, logs and results.json (default: a temporary one)")
    ap.add_argument("--keep-index", action="store_true", help="keep the servers' index files (they are large)")
    args = ap.parse_args()

    if not args.db_url.startswith(("postgres://", "postgresql://")):
        sys.exit("--db-url must be a postgres:// URL")
    if args.wait_for:
        waited = time.time()
        while others_matching(args.wait_for):
            time.sleep(5)
        if time.time() - waited > 1:
            print(f"waited {time.time() - waited:.0f} s for `{args.wait_for}` to finish", flush=True)
    if args.wait_idle > 0:
        waited, idle_since = time.time(), time.time()
        b0, t0 = machine_cpu()
        while time.time() - idle_since < args.wait_idle:
            time.sleep(1)
            b1, t1 = machine_cpu()
            if t1 > t0 and (b1 - b0) / (t1 - t0) >= 0.10:
                idle_since = time.time()
            b0, t0 = b1, t1
        print(f"machine idle for {args.wait_idle:g} s (waited {time.time() - waited:.0f} s)", flush=True)

    work = args.work or tempfile.mkdtemp(prefix="team-bench-")
    os.makedirs(work, exist_ok=True)
    now_dt = datetime.datetime.fromisoformat(args.now.replace("Z", "+00:00"))
    now_ns = int(now_dt.timestamp()) * 10**9
    tag = f"{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}"

    prefix, src_name, query = split_url(args.db_url)
    db_url = args.db_url
    copy_name = None
    servers = []
    collect = None
    errors = []
    result = {"tag": tag, "db": redact(args.db_url), "servers": args.servers, "seconds": args.seconds,
              "rate": args.rate, "batch": args.batch, "pause_ms": args.pause_ms, "now": args.now}
    try:
        if args.copy:
            maint = f"{prefix}/postgres{query}"  # not the source: TEMPLATE needs it unused
            others = psql(maint, f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{src_name}' AND pid <> pg_backend_pid()")
            if int(others):
                sys.exit(f"--copy: {others} other session(s) connected to {src_name}; TEMPLATE needs none")
            name = f"{src_name}_team_{os.getpid()}"
            started = time.perf_counter()
            psql(maint, f"CREATE DATABASE {name} TEMPLATE {src_name}")
            copy_name = name
            db_url = f"{prefix}/{copy_name}{query}"
            print(f"copy: {copy_name} from {src_name} in {time.perf_counter() - started:.1f} s", flush=True)
        result["db_used"] = redact(db_url)
        before = int(psql(db_url, "SELECT count(*) FROM run_events"))
        print(f"history: {before:,} events in {redact(db_url)}", flush=True)
        result["events_before"] = before

        # ---- 1. warm-up ------------------------------------------------------------------
        for i in range(args.servers):
            servers.append(Server(i, args.server, db_url, work, args.now))
        for s in servers:
            init, _ = s.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                               "clientInfo": {"name": "bench", "version": "1"}}, 60)
            if "error" in init:
                raise RuntimeError(f"server {s.index}: initialize failed: {init['error']}")
            s.notify("notifications/initialized")
        warmups = []
        for s in servers:
            msg, took = s.request("tools/call", DASHBOARD, args.warmup_timeout)
            err = call_error(msg)
            if err:
                raise RuntimeError(f"server {s.index}: first get_health_dashboard failed: {err}")
            warmups.append(took)
            print(f"warm-up: server {s.index} first call {took:.2f} s "
                  f"(index {dir_size(s.index_dir) / 2**20:.0f} MiB, peak RSS {peak_rss_kib(s.proc.pid) / 1024:.0f} MiB)", flush=True)
        result["warmup_s"] = warmups
        result["index_mib"] = [dir_size(s.index_dir) / 2**20 for s in servers]
        rss_after_warmup = [peak_rss_kib(s.proc.pid) for s in servers]

        # ---- 2. collect and the callers ----------------------------------------------------
        total = int(round(args.rate * args.seconds))
        n_req = math.ceil(total / args.batch)
        interval = args.batch / args.rate
        step_ns = 3600 * 10**9 // max(total, 1)
        t0_ns = now_ns - 3600 * 10**9
        bodies = [body(tag, k * args.batch, min(args.batch, total - k * args.batch), t0_ns, step_ns, args.sessions)
                  for k in range(n_req)]

        collect_log = os.path.join(work, "collect.stderr")
        collect_err = open(collect_log, "wb")
        env = dict(os.environ, RUST_LOG="warn")
        env.pop("DATABASE_PATH", None)
        collect = subprocess.Popen([args.cli, "--db", db_url, "collect", "--listen", "127.0.0.1:0"],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=collect_err, env=env)
        m = None
        give_up = time.time() + 60
        while m is None and time.time() < give_up and collect.poll() is None:
            time.sleep(0.05)
            with open(collect_log, errors="replace") as f:
                m = re.search(r"collect: listening on http://([\d.]+):(\d+)", f.read())
        if m is None:
            with open(collect_log, errors="replace") as f:
                raise RuntimeError(f"collect did not start: {f.read()[-500:]}")
        host, port = m.group(1), int(m.group(2))

        lock = threading.Lock()
        next_req = [0]
        post = {"statuses": {}, "non200": 0, "non200_by_status": {}, "latency": [], "late": [], "failures": [],
                "last_answer": None}
        lat = [[] for _ in servers]
        call_errors = [[] for _ in servers]
        busy0, total0 = machine_cpu()
        cpu0 = [cpu_seconds(s.proc.pid) for s in servers]
        ccpu0 = cpu_seconds(collect.pid)
        self0 = resource.getrusage(resource.RUSAGE_SELF)
        sessions0 = pg_sessions(db_url)
        pg0 = postgres_cpu()
        start = time.perf_counter()
        deadline = start + args.seconds

        def sender():
            conn = http.client.HTTPConnection(host, port, timeout=120)
            while True:
                with lock:
                    k = next_req[0]
                    next_req[0] += 1
                if k >= n_req:
                    conn.close()
                    return
                due = start + k * interval
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                sent = time.perf_counter()
                with lock:
                    post["late"].append(sent - due)
                tries = 0
                while True:
                    tries += 1
                    try:
                        conn.request("POST", "/v1/logs", bodies[k], {"Content-Type": "application/json"})
                        r = conn.getresponse()
                        r.read()
                        status = r.status
                    except (OSError, http.client.HTTPException) as e:
                        conn.close()
                        conn = http.client.HTTPConnection(host, port, timeout=120)
                        status = f"{type(e).__name__}: {e}"
                    if status == 200:
                        break
                    with lock:
                        post["non200"] += 1
                        key = str(status)
                        post["non200_by_status"][key] = post["non200_by_status"].get(key, 0) + 1
                    if tries >= 20 or (isinstance(status, int) and status not in (408, 429, 503)):
                        break
                    time.sleep(0.05 * tries)
                answered = time.perf_counter()
                with lock:
                    post["statuses"][k] = status
                    post["latency"].append(answered - sent)
                    if status == 200:
                        post["last_answer"] = max(post["last_answer"] or 0, answered)
                    else:
                        post["failures"].append(f"request {k}: {status}")

        def caller(s):
            while time.perf_counter() < deadline:
                try:
                    msg, took = s.request("tools/call", DASHBOARD, args.call_timeout)
                except (TimeoutError, EOFError, OSError) as e:
                    call_errors[s.index].append(f"{type(e).__name__}: {e}")
                    return
                lat[s.index].append(took * 1000)
                err = call_error(msg)
                if err:
                    call_errors[s.index].append(err)
                if args.pause_ms:
                    time.sleep(args.pause_ms / 1000)

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(args.senders)]
        threads += [threading.Thread(target=caller, args=(s,), daemon=True) for s in servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        window = time.perf_counter() - start
        busy1, total1 = machine_cpu()
        self1 = resource.getrusage(resource.RUSAGE_SELF)
        pg1 = postgres_cpu()
        sessions1 = pg_sessions(db_url)
        cpu = [None if a is None or cpu_seconds(s.proc.pid) is None else cpu_seconds(s.proc.pid) - a
               for s, a in zip(servers, cpu0)]
        ccpu = cpu_seconds(collect.pid)
        ccpu = None if ccpu is None or ccpu0 is None else ccpu - ccpu0
        collect_rss = peak_rss_kib(collect.pid)
        server_rss = [peak_rss_kib(s.proc.pid) for s in servers]

        collect.terminate()
        try:
            collect_rc = collect.wait(timeout=30)
        except subprocess.TimeoutExpired:
            collect.kill()
            collect_rc = collect.wait()
        collect_err.close()
        collect = None
        if collect_rc not in (0, -15):
            errors.append(f"collect exited with {collect_rc} (see {collect_log})")
        for s in servers:
            s.close()
            if s.proc.returncode not in (0, None):
                errors.append(f"server {s.index} exited with {s.proc.returncode} (see {s.stderr_path})")

        # ---- 3. checks -------------------------------------------------------------------
        runs = f"run_id LIKE 'claude-code:team-{tag}-%'"
        landed, distinct = (int(x) for x in psql(
            db_url, f"SELECT count(*), count(DISTINCT event_data::jsonb->>'call_id') FROM run_events "
                    f"WHERE event_type = 'tool_complete' AND {runs}").split("|"))
        starts = int(psql(db_url, f"SELECT count(*) FROM run_events WHERE event_type = 'tool_start' AND {runs}"))
        if landed != total or distinct != total:
            errors.append(f"events: sent {total}, landed {landed} tool_complete ({distinct} distinct call ids)")
        for i, errs in enumerate(call_errors):
            for e in errs[:3]:
                errors.append(f"server {i}: {e}")
            if len(errs) > 3:
                errors.append(f"server {i}: … {len(errs) - 3} more call errors")
        for f in post["failures"][:5]:
            errors.append(f"collect: {f}")

        # ---- report ----------------------------------------------------------------------
        ok_posts = sum(1 for s in post["statuses"].values() if s == 200)
        accepted = sum(min(args.batch, total - k * args.batch) for k, s in post["statuses"].items() if s == 200)
        # From the first send to the last answer, but no shorter than the schedule itself
        # (n requests every `interval`): keeping up reads as the target rate, not above it.
        ingest_span = max((post["last_answer"] or start) - start, n_req * interval)
        achieved = accepted / ingest_span if ingest_span > 0 else 0
        plat = sorted(x * 1000 for x in post["latency"])
        late = sorted(x * 1000 for x in post["late"])
        per = []
        for i, s in enumerate(servers):
            xs = sorted(lat[i])
            per.append({"server": i, "calls": len(xs), "p50": pct(xs, 50), "p95": pct(xs, 95), "p99": pct(xs, 99),
                        "max": xs[-1] if xs else float("nan"), "errors": len(call_errors[i]),
                        "warmup_s": warmups[i], "rss_mib": (server_rss[i] or 0) / 1024,
                        "rss_after_warmup_mib": (rss_after_warmup[i] or 0) / 1024,
                        "cpu_s": cpu[i], "index_mib": result["index_mib"][i]})
        allx = sorted(x for xs in lat for x in xs)
        overall = {"calls": len(allx), "p50": pct(allx, 50), "p95": pct(allx, 95), "p99": pct(allx, 99),
                   "max": allx[-1] if allx else float("nan"), "calls_per_s": len(allx) / window}
        met = bool(allx) and overall["p95"] <= args.target_ms
        machine_busy = (busy1 - busy0) / (total1 - total0) if total1 > total0 else float("nan")
        bench_cpu = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
        pg_cpu = pg1 - pg0
        # pg_sessions' own psql session of the first reading is in the second one's count.
        sessions_opened = None if sessions0 is None or sessions1 is None else sessions1 - sessions0 - 1
        capacity = (os.cpu_count() or 1) * window
        busy_s = machine_busy * capacity
        other_cpu = busy_s - sum(p["cpu_s"] or 0 for p in per) - (ccpu or 0) - bench_cpu - pg_cpu
        result.update({
            "per_server": per, "overall": overall, "target_ms": args.target_ms, "target_met": met,
            "window_s": window, "cores": os.cpu_count(), "machine_busy": machine_busy,
            "bench_cpu_s": bench_cpu, "collect_cpu_s": ccpu, "postgres_cpu_s": pg_cpu, "postgres_sessions_opened": sessions_opened, "other_cpu_s": other_cpu, "collect_rss_mib": (collect_rss or 0) / 1024,
            "ingest": {"records": total, "requests": n_req, "requests_200": ok_posts, "accepted": accepted,
                       "achieved_per_s": achieved, "span_s": ingest_span, "non200": post["non200"],
                       "non200_by_status": post["non200_by_status"],
                       "answer_ms": {"p50": pct(plat, 50), "p95": pct(plat, 95), "max": plat[-1] if plat else None},
                       "late_ms_max": late[-1] if late else None},
            "landed": landed, "landed_distinct": distinct, "tool_start_events": starts,
            "errors": errors,
        })
        with open(os.path.join(work, "results.json"), "w") as f:
            json.dump(result, f, indent=2)

        f1 = lambda x: "–" if x is None or x != x else f"{x:.1f}"
        print()
        print(f"## {args.servers} MCP servers on one PostgreSQL, `collect` at {args.rate:,} tool events/s, {args.seconds:g} s")
        print()
        print(f"History: {before:,} events ({redact(db_url)}{', a copy of ' + src_name if copy_name else ''}); "
              f"SELFHEAL_NOW={args.now}; each server's thread calls `get_health_dashboard` with one call in flight, "
              f"{'no pause' if not args.pause_ms else f'{args.pause_ms:g} ms pause'} between calls; "
              f"latency from writing the request to reading the answer.")
        print()
        print("| server | warm-up (1st call) s | calls | p50 ms | p95 ms | p99 ms | max ms | errors | peak RSS MiB | CPU s |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for p in per:
            print(f"| {p['server']} | {p['warmup_s']:.2f} | {p['calls']} | {f1(p['p50'])} | {f1(p['p95'])} | {f1(p['p99'])} | "
                  f"{f1(p['max'])} | {p['errors']} | {p['rss_mib']:.0f} | {f1(p['cpu_s'])} |")
        print(f"| **all** | {min(warmups):.2f}–{max(warmups):.2f} | {overall['calls']} | {f1(overall['p50'])} | "
              f"**{f1(overall['p95'])}** | {f1(overall['p99'])} | {f1(overall['max'])} | {sum(p['errors'] for p in per)} | "
              f"{sum(p['rss_mib'] for p in per):.0f} (sum) | {f1(sum(p['cpu_s'] or 0 for p in per))} |")
        print()
        print(f"- **Target** overall p95 ≤ {args.target_ms:g} ms: **{'met' if met else 'NOT met'}** "
              f"(p95 {f1(overall['p95'])} ms, {overall['calls_per_s']:.1f} calls/s in all).")
        print(f"- Ingest: {accepted:,} of {total:,} records accepted in {ok_posts}/{n_req} requests of {args.batch}, "
              f"{achieved:,.0f} tool events/s achieved over {ingest_span:.1f} s (target {args.rate:,}); "
              f"non-200 answers {post['non200']}{' ' + json.dumps(post['non200_by_status']) if post['non200'] else ''}; "
              f"collect answer p50/p95/max {f1(pct(plat, 50))}/{f1(pct(plat, 95))}/{f1(plat[-1] if plat else None)} ms; "
              f"sends behind schedule by at most {f1(late[-1] if late else None)} ms.")
        print(f"- Landed: {landed:,} tool_complete events ({distinct:,} distinct call ids, {starts:,} tool_start) "
              f"for {total:,} records sent: {'every record once' if landed == distinct == total else 'MISMATCH'}.")
        print(f"- Peak RSS: collect {(collect_rss or 0) / 1024:.0f} MiB; servers "
              f"{min(p['rss_mib'] for p in per):.0f}–{max(p['rss_mib'] for p in per):.0f} MiB each "
              f"({min(p['rss_after_warmup_mib'] for p in per):.0f}–{max(p['rss_after_warmup_mib'] for p in per):.0f} after warm-up); "
              f"index {min(result['index_mib']):.0f}–{max(result['index_mib']):.0f} MiB each.")
        print(f"- CPU over the {window:.1f} s window: machine {machine_busy * 100:.0f}% busy of {os.cpu_count()} cores "
              f"({busy_s:.1f} core-s): servers {f1(sum(p['cpu_s'] or 0 for p in per))} s, PostgreSQL backends {pg_cpu:.1f} s, "
              f"collect {f1(ccpu)} s, this script {bench_cpu:.1f} s, anything else {other_cpu:.1f} s"
              f"{' (other load on the machine: the latencies are not clean)' if other_cpu > 0.05 * capacity else ''}; "
              f"PostgreSQL sessions opened on the database in the window: {sessions_opened if sessions_opened is not None else '?'}.")
        if errors:
            print(f"- **Errors** ({len(errors)}):")
            for e in errors:
                print(f"  - {e}")
        print(f"- Logs and results.json: {work}")
    except (RuntimeError, TimeoutError, EOFError) as e:  # a server, collect or psql failed: no traceback
        errors.append(str(e))
        print(f"error: {e}", file=sys.stderr)
    except BaseException as e:
        if not isinstance(e, SystemExit):
            errors.append(f"{type(e).__name__}: {e}")
        raise
    finally:
        if collect is not None and collect.poll() is None:
            collect.kill()
            collect.wait()
        for s in servers:
            if s.proc.poll() is None:
                s.close()
        if not args.keep_index:
            for s in servers:
                shutil.rmtree(s.index_dir, ignore_errors=True)
        if copy_name:
            try:
                psql(f"{prefix}/postgres{query}", f"DROP DATABASE IF EXISTS {copy_name} WITH (FORCE)")
                print(f"copy: dropped {copy_name}", flush=True)
            except RuntimeError as e:
                print(f"copy: could not drop {copy_name}: {e}", file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
