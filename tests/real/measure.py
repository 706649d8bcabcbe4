#!/usr/bin/env python3
"""Measure `self-heal import` and `self-heal classify` on the real agent traces.

    measure.py --cli target/debug/self-heal --traces ../shared/data/agent-traces [--json]

(a) Import. Every source folder (`<format>/<owner>__<repo>`) is imported, one after the other,
    into one temporary database with `self-heal --db DB import --json FOLDER`; the runs that
    appear after each import belong to that folder. Counts are read from the database, not from
    the import summary: runs (`runs`), calls (distinct call ids of the `tool_start` /
    `tool_complete` events of a run) and flagged calls (`tool_complete` with a true `is_error`).
    They are compared per folder with this folder's independent reading (read_traces.py), and
    the run ids and call ids the importer wrote are checked against that reading.

(b) Classification. Every labelled call (labels.jsonl: one per flagged call) is sent to
    `self-heal classify` as one JSONL line `{tool, message, error_type?, duration_ms?, input?,
    exit_code?, interrupted?}`, built from the imported `tool_complete` event (and the input of
    its `tool_start`) when the import found the call, else from the independent reading. The
    classifier answers one JSON object per line, in order, with `outcome`, `class`,
    `confidence`, `signals`, `program`, `template`. Reported against the labels: precision and
    recall of the outcomes `rejected`, `cancelled`, `benign` (and `failure`); agreement of
    `class` on true failures; the share of `Unknown` among true failures; agreement of
    `program` where the label has one; and the list of disagreements (ids only).

`--classify-cmd "CMD"` replaces `CLI classify` (for example the naive baseline beside this
script: `--classify-cmd "python3 tests/real/baseline_classify.py"`); `--skip-import` measures
the classifier alone, on the independent reading. When the traces folder is absent the script
says so and exits 0 with nothing measured; when the CLI has no `import` or no `classify`
command it says so and measures what it can. Exit status: 0 after measuring (this is a
measurement, not a gate), 2 on a usage error.

The output names folders, run ids and call ids only, never the traces' content.
"""

import argparse
import json
import shlex
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import read_traces  # noqa: E402  (the sibling module, found through the path set above)

DEFAULT_LABELS = Path(__file__).resolve().parent / "labels.jsonl"
OUTCOMES = ("failure", "rejected", "cancelled", "benign")
MESSAGE_CAP = 64_000  # characters of a result sent to the classifier
IMPORT_TIMEOUT_S = 900
CLASSIFY_TIMEOUT_S = 600


# ------------------------------------------------------------------------ the CLI


def cli_has(cli, command):
    """Whether `cli` knows `command` (its `help <command>` succeeds)."""
    try:
        done = subprocess.run(
            [cli, "help", command], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as e:
        return False, f"cannot run {cli}: {e}"
    if done.returncode == 0:
        return True, ""
    why = (done.stderr or done.stdout).strip().splitlines()
    return False, why[0] if why else f"exit status {done.returncode}"


def truthy(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return False


# ------------------------------------------------------------------ (a) importing


def db_snapshot(db):
    """{run id: {"calls": {call key: event info}, "order": [call key]}} from the database."""
    runs = {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        for (run_id,) in con.execute("SELECT id FROM runs"):
            runs[str(run_id)] = {"calls": {}, "order": []}
        rows = con.execute(
            "SELECT run_id, step_index, event_type, event_data FROM run_events "
            "WHERE event_type IN ('tool_start', 'tool_complete') ORDER BY run_id, id"
        )
        anonymous = Counter()
        for run_id, step, kind, data in rows:
            run = runs.setdefault(str(run_id), {"calls": {}, "order": []})
            try:
                event = json.loads(data)
            except (TypeError, json.JSONDecodeError):
                event = {}
            if not isinstance(event, dict):
                event = {}
            cid = event.get("call_id")
            if cid is None:
                # No call id: pair a start with the next complete of the run, by position.
                n = anonymous[(run_id, kind)]
                anonymous[(run_id, kind)] += 1
                cid = f"#anonymous-{n}"
            key = str(cid)
            call = run["calls"].get(key)
            if call is None:
                call = run["calls"][key] = {"call_id": key, "step_index": step}
                run["order"].append(key)
            if kind == "tool_start":
                call["start"] = event
            else:
                call["complete"] = event
    finally:
        con.close()
    return runs


def import_sources(cli, traces, sources, db, extra_args):
    """Import each source folder; returns ({source: [run ids]}, {source: problem})."""
    subprocess.run([cli, "--db", str(db), "init"], capture_output=True, text=True, check=False)
    owner = {}
    problems = {}
    try:
        seen = set(db_snapshot(db))  # runs already there (a kept database) belong to no folder
    except sqlite3.Error:
        seen = set()
    for source in sources:
        fmt = source.split("/", 1)[0]
        args = [a.replace("{format}", fmt) for a in extra_args]
        cmd = [cli, "--db", str(db), "import", "--json", *args, str(traces / source)]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=IMPORT_TIMEOUT_S, check=False
            )
            if done.returncode != 0:
                lines = (done.stderr or done.stdout).strip().splitlines()
                problems[source] = f"import exited {done.returncode}: " + (lines[0] if lines else "")
        except subprocess.TimeoutExpired:
            problems[source] = f"import took longer than {IMPORT_TIMEOUT_S} s"
        except OSError as e:
            problems[source] = f"cannot run the import: {e}"
        try:
            now = set(db_snapshot(db))
        except sqlite3.Error as e:
            problems[source] = f"cannot read the database after import: {e}"
            now = set(seen)
        owner[source] = sorted(now - seen)
        seen = now
    return owner, problems


def compare_import(reading, snapshot, owner):
    """Per source: counts of both readings, and id agreement."""
    mine = read_traces.counts_by_source(reading)
    my_runs = defaultdict(set)
    my_calls = defaultdict(set)
    for run in reading.runs:
        my_runs[run.source].add(run.run)
    for call in reading.calls:
        my_calls[call.source].add((call.run, call.call_id))
    out = {}
    for source in mine:
        runs = owner.get(source, [])
        calls = flagged = 0
        their_calls = set()
        for run_id in runs:
            for key, call in snapshot.get(run_id, {}).get("calls", {}).items():
                calls += 1
                their_calls.add((run_id, key))
                if truthy((call.get("complete") or {}).get("is_error")):
                    flagged += 1
        their_runs = set(runs)
        out[source] = {
            "reading": mine[source],
            "database": {"runs": len(runs), "calls": calls, "flagged": flagged},
            "runs_only_in_reading": len(my_runs[source] - their_runs),
            "runs_only_in_database": len(their_runs - my_runs[source]),
            "calls_only_in_reading": len(my_calls[source] - their_calls),
            "calls_only_in_database": len(their_calls - my_calls[source]),
        }
    return out


# -------------------------------------------------------------- (b) classifying


def load_labels(path):
    labels = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: not JSON ({e})") from e
            for key in ("source", "run", "call_id", "tool", "outcome"):
                if key not in row:
                    raise SystemExit(f"{path}:{n}: no `{key}`")
            if row["outcome"] not in OUTCOMES:
                raise SystemExit(f"{path}:{n}: unknown outcome {row['outcome']!r}")
            labels.append(row)
    return labels


def _cap(text):
    if len(text) <= MESSAGE_CAP:
        return text
    half = MESSAGE_CAP // 2
    return text[:half] + "\n…\n" + text[-half:]


def request_from_reading(call):
    req = {"tool": call.tool, "message": _cap(call.result or "")}
    if call.input is not None:
        req["input"] = call.input
    if call.exit_code is not None:
        req["exit_code"] = call.exit_code
    if call.duration_ms is not None:
        req["duration_ms"] = call.duration_ms
    if call.interrupted:
        req["interrupted"] = True
    return req


def request_from_db(call):
    done = call.get("complete") or {}
    start = call.get("start") or {}
    result = done.get("result")
    if result is None:
        result = done.get("error", "")
    if not isinstance(result, str):
        result = json.dumps(result, ensure_ascii=False)
    req = {"tool": str(done.get("name") or done.get("tool_name") or start.get("name") or ""),
           "message": _cap(result)}
    if done.get("error_type"):
        req["error_type"] = done["error_type"]
    args = start.get("arguments", start.get("input", done.get("arguments")))
    if args is not None:
        req["input"] = args
    duration = done.get("duration", done.get("duration_ms"))
    if isinstance(duration, (int, float)):
        req["duration_ms"] = duration
    if done.get("exit_code") is not None:
        req["exit_code"] = done["exit_code"]
    if truthy(done.get("interrupted")):
        req["interrupted"] = True
    return req


def find_in_db(label, call, snapshot, owner):
    """The imported call for a label: same call id in the folder's runs, else same position."""
    runs = owner.get(label["source"], [])
    for run_id in ([label["run"]] if label["run"] in runs else []) + runs:
        hit = snapshot.get(run_id, {}).get("calls", {}).get(label["call_id"])
        if hit is not None:
            return hit
    if call is not None and label["run"] in snapshot:
        order = snapshot[label["run"]]["order"]
        if call.ordinal < len(order):
            return snapshot[label["run"]]["calls"][order[call.ordinal]]
    return None


def run_classifier(cmd, requests):
    """Feed the JSONL requests to `cmd`; returns (answers, problem)."""
    stdin = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests)
    try:
        done = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, timeout=CLASSIFY_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return [], f"the classifier took longer than {CLASSIFY_TIMEOUT_S} s"
    except OSError as e:
        return [], f"cannot run the classifier: {e}"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return [], f"the classifier exited {done.returncode}: " + (lines[0] if lines else "")
    text = done.stdout.strip()
    answers = []
    try:
        whole = json.loads(text) if text.startswith("[") else None
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, list):
        answers = whole
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                answers.append(json.loads(line))
            except json.JSONDecodeError:
                return [], f"the classifier's output line {n} is not JSON"
    if len(answers) != len(requests):
        return [], f"the classifier answered {len(answers)} lines for {len(requests)} requests"
    return answers, ""


def _norm(value):
    return str(value).strip().lower() if value not in (None, "") else None


def score(labels, answers):
    """Every metric of (b), from labels and answers in the same order."""
    pairs = list(zip(labels, answers))
    outcome = {}
    for name in OUTCOMES:
        tp = sum(1 for lab, ans in pairs if lab["outcome"] == name and _norm(ans.get("outcome")) == name)
        predicted = sum(1 for _, ans in pairs if _norm(ans.get("outcome")) == name)
        actual = sum(1 for lab, _ in pairs if lab["outcome"] == name)
        outcome[name] = {
            "labelled": actual,
            "predicted": predicted,
            "correct": tp,
            "precision": tp / predicted if predicted else None,
            "recall": tp / actual if actual else None,
        }
    failures = [(lab, ans) for lab, ans in pairs if lab["outcome"] == "failure"]
    class_ok = sum(1 for lab, ans in failures if _norm(ans.get("class")) == _norm(lab.get("class")))
    unknown = sum(1 for _, ans in failures if _norm(ans.get("class")) == "unknown")
    per_class = {}
    for lab, ans in failures:
        c = per_class.setdefault(lab.get("class"), {"labelled": 0, "agreed": 0, "predicted_as": Counter()})
        c["labelled"] += 1
        got = _norm(ans.get("class"))
        c["agreed"] += got == _norm(lab.get("class"))
        c["predicted_as"][ans.get("class") if got else "(none)"] += 1
    with_program = [(lab, ans) for lab, ans in pairs if lab.get("program")]
    program_ok = sum(1 for lab, ans in with_program if _norm(ans.get("program")) == _norm(lab["program"]))
    confusion = []
    for lab, ans in pairs:
        wrong = []
        if _norm(ans.get("outcome")) != lab["outcome"]:
            wrong.append("outcome")
        if lab["outcome"] == "failure" and _norm(ans.get("class")) != _norm(lab.get("class")):
            wrong.append("class")
        if lab.get("program") and _norm(ans.get("program")) != _norm(lab["program"]):
            wrong.append("program")
        if wrong:
            confusion.append(
                {
                    "source": lab["source"],
                    "run": lab["run"],
                    "call_id": lab["call_id"],
                    "tool": lab["tool"],
                    "wrong": wrong,
                    "label": {k: lab.get(k) for k in ("outcome", "class", "program")},
                    "answer": {k: ans.get(k) for k in ("outcome", "class", "program", "confidence")},
                    "ambiguous": "ambiguous" in str(lab.get("note", "")),
                }
            )
    return {
        "calls": len(pairs),
        "per_source": per_source(labels, answers),
        "outcome": outcome,
        "class_agreement": {
            "true_failures": len(failures),
            "agreed": class_ok,
            "share": class_ok / len(failures) if failures else None,
            "per_class": {
                k: {**v, "predicted_as": dict(v["predicted_as"].most_common())}
                for k, v in sorted(per_class.items(), key=lambda kv: -kv[1]["labelled"])
            },
        },
        "unknown_share": unknown / len(failures) if failures else None,
        "program_agreement": {
            "labelled": len(with_program),
            "agreed": program_ok,
            "share": program_ok / len(with_program) if with_program else None,
        },
        "confusion": confusion,
    }


def per_source(labels, answers):
    """Leave-one-source-out: the rules are fixed (nothing is fitted), so each source (one
    repository of one harness) is scored on its own as if unseen; the spread across sources,
    not the pooled figure, shows how the rules generalise. Per source: precision and recall of
    the non-failure outcomes (rejected, cancelled, benign: what must not become a pattern), and
    class agreement on its true failures; then the macro mean and the worst source."""
    by = {}
    for lab, ans in zip(labels, answers):
        by.setdefault(lab["source"], []).append((lab, ans))
    rows = {}
    for src, pairs in sorted(by.items()):
        said = [(lab, ans) for lab, ans in pairs if _norm(ans.get("outcome")) not in (None, "failure")]
        truth = [(lab, ans) for lab, ans in pairs if lab["outcome"] != "failure"]
        right = sum(1 for lab, ans in pairs
                    if lab["outcome"] != "failure" and _norm(ans.get("outcome")) == lab["outcome"])
        failures = [(lab, ans) for lab, ans in pairs if lab["outcome"] == "failure"]
        agreed = sum(1 for lab, ans in failures if _norm(ans.get("class")) == _norm(lab.get("class")))
        rows[src] = {
            "calls": len(pairs),
            "non_failure_precision": right / len(said) if said else None,
            "non_failure_recall": right / len(truth) if truth else None,
            "true_failures": len(failures),
            "class_agreement": agreed / len(failures) if failures else None,
        }

    def summary(key):
        values = [r[key] for r in rows.values() if r[key] is not None]
        # A source with a handful of labels swings from 0 to 100%: the worst of those with at
        # least 10 labelled calls is the figure to read.
        sized = [r[key] for r in rows.values() if r[key] is not None and r["calls"] >= 10]
        return {"mean": sum(values) / len(values) if values else None,
                "min": min(values) if values else None, "sources": len(values),
                "min_of_sized": min(sized) if sized else None, "sized_sources": len(sized)}

    return {
        "sources": rows,
        "non_failure_precision": summary("non_failure_precision"),
        "non_failure_recall": summary("non_failure_recall"),
        "class_agreement": summary("class_agreement"),
    }


# ---------------------------------------------------------------------- report


def _pct(x):
    return "  n/a" if x is None else f"{100 * x:5.1f}%"


def print_report(result):
    imp = result.get("import")
    if imp:
        print("(a) import: reading vs database, per source folder")
        if imp.get("skipped"):
            print(f"  not measured: {imp['skipped']}")
        else:
            print(f"  {'source':56} {'runs':>9} {'calls':>11} {'flagged':>9}  "
                  "(reading/database; ids found only in the reading/only in the database)")
            for source, c in imp["sources"].items():
                r, d = c["reading"], c["database"]
                mark = "" if (r["runs"], r["calls"], r["flagged"]) == (d["runs"], d["calls"], d["flagged"]) else "  *"
                print(
                    f"  {source:56} {r['runs']:>4}/{d['runs']:<4} {r['calls']:>5}/{d['calls']:<5} "
                    f"{r['flagged']:>4}/{d['flagged']:<4}  runs {c['runs_only_in_reading']}/"
                    f"{c['runs_only_in_database']}, calls {c['calls_only_in_reading']}/"
                    f"{c['calls_only_in_database']}{mark}"
                )
            for source, why in imp.get("problems", {}).items():
                print(f"  problem: {source}: {why}")
        print()
    cls = result.get("classify")
    if not cls:
        return
    print("(b) classification against labels.jsonl")
    if cls.get("skipped"):
        print(f"  not measured: {cls['skipped']}")
        return
    s = cls["score"]
    print(f"  calls: {s['calls']}  (input from the database: {cls['input_from']['database']}, "
          f"from the reading: {cls['input_from']['reading']})")
    print(f"  {'outcome':10} {'labelled':>8} {'predicted':>9} {'correct':>7} {'precision':>9} {'recall':>7}")
    for name, o in s["outcome"].items():
        print(f"  {name:10} {o['labelled']:>8} {o['predicted']:>9} {o['correct']:>7} "
              f"{_pct(o['precision']):>9} {_pct(o['recall']):>7}")
    ca = s["class_agreement"]
    print(f"  class agreement on true failures: {ca['agreed']}/{ca['true_failures']} = {_pct(ca['share']).strip()}")
    for name, c in ca["per_class"].items():
        got = ", ".join(f"{k} {v}" for k, v in c["predicted_as"].items())
        print(f"    {str(name):20} {c['agreed']:>3}/{c['labelled']:<3} answered: {got}")
    print(f"  Unknown among true failures: {_pct(s['unknown_share']).strip()}")
    pa = s["program_agreement"]
    print(f"  program agreement: {pa['agreed']}/{pa['labelled']} = {_pct(pa['share']).strip()}")
    ps = s["per_source"]
    print("  leave-one-source-out (rules fixed; each source scored alone): mean / worst over sources")
    for key, name in [("non_failure_precision", "non-failure precision"),
                      ("non_failure_recall", "non-failure recall"),
                      ("class_agreement", "class agreement")]:
        m = ps[key]
        print(f"    {name:22} {_pct(m['mean'])} / {_pct(m['min'])}  ({m['sources']} sources; worst of the "
              f"{m['sized_sources']} with >= 10 labelled calls {_pct(m['min_of_sized']).strip()})")
    for src, r in ps["sources"].items():
        print(f"    {src:52} calls {r['calls']:>3}  non-failure P {_pct(r['non_failure_precision'])} "
              f"R {_pct(r['non_failure_recall'])}  class {_pct(r['class_agreement'])} "
              f"of {r['true_failures']}")
    print(f"  disagreements: {len(s['confusion'])} (ambiguous labels: "
          f"{sum(1 for c in s['confusion'] if c['ambiguous'])})")
    for c in s["confusion"]:
        lab, ans = c["label"], c["answer"]
        print(f"    {c['run']} {c['call_id']} {c['tool']}: {'/'.join(c['wrong'])}: "
              f"label {lab['outcome']}/{lab['class']}/{lab['program']} -> "
              f"answer {ans['outcome']}/{ans['class']}/{ans['program']}"
              f"{' (ambiguous label)' if c['ambiguous'] else ''}")


# ------------------------------------------------------------------------ main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--cli", help="the self-heal binary")
    ap.add_argument("--traces", type=Path, default=read_traces.DEFAULT_TRACES)
    ap.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    ap.add_argument("--classify-cmd", help="command run instead of `CLI classify` (shell words)")
    ap.add_argument("--import-arg", action="append", default=[],
                    help="extra argument to `import` ({format} becomes the format folder); repeatable")
    ap.add_argument("--skip-import", action="store_true", help="measure the classifier alone")
    ap.add_argument("--keep-db", type=Path, help="import into this file and keep it")
    ap.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = ap.parse_args(argv)

    if not args.traces.is_dir():
        print(f"traces folder {args.traces} is absent: nothing measured")
        return 0
    if not args.cli and not args.classify_cmd:
        ap.error("give --cli (and/or --classify-cmd)")
    if not args.labels.is_file():
        ap.error(f"labels file {args.labels} not found")

    reading = read_traces.read_traces(args.traces)
    labels = load_labels(args.labels)
    calls = {(c.source, c.call_id): c for c in reading.calls}
    sources = list(read_traces.counts_by_source(reading))
    result = {"traces": str(args.traces), "labels": len(labels)}
    flagged = {(c.source, c.call_id) for c in reading.calls if c.flagged}
    labelled = {(lab["source"], lab["call_id"]) for lab in labels}
    result["label_coverage"] = {
        "flagged_calls": len(flagged),
        "labelled": len(labelled & flagged),
        "flagged_without_label": len(flagged - labelled),
        "labels_without_flagged_call": len(labelled - flagged),
    }

    # (a)
    snapshot, owner = {}, {}
    if args.skip_import:
        result["import"] = {"skipped": "--skip-import"}
    elif not args.cli:
        result["import"] = {"skipped": "no --cli"}
    else:
        has, why = cli_has(args.cli, "import")
        if not has:
            result["import"] = {"skipped": f"the CLI has no `import` command ({why})"}
        else:
            with tempfile.TemporaryDirectory() as tmp:
                db = args.keep_db or Path(tmp) / "traces.db"
                owner, problems = import_sources(args.cli, args.traces, sources, db, args.import_arg)
                try:
                    snapshot = db_snapshot(db)
                except sqlite3.Error as e:
                    problems["(database)"] = str(e)
                result["import"] = {
                    "sources": compare_import(reading, snapshot, owner),
                    "problems": problems,
                }

    # (b)
    if args.classify_cmd:
        cmd = shlex.split(args.classify_cmd)
        has, why = True, ""
    else:
        cmd = [args.cli, "--json", "classify"]
        has, why = cli_has(args.cli, "classify")
    if not has:
        result["classify"] = {"skipped": f"the CLI has no `classify` command ({why})"}
    else:
        requests, origin = [], Counter()
        for lab in labels:
            call = calls.get((lab["source"], lab["call_id"]))
            hit = find_in_db(lab, call, snapshot, owner) if snapshot else None
            if hit is not None and hit.get("complete") is not None:
                requests.append(request_from_db(hit))
                origin["database"] += 1
            elif call is not None:
                requests.append(request_from_reading(call))
                origin["reading"] += 1
            else:
                requests.append({"tool": lab["tool"], "message": ""})
                origin["missing"] += 1
        answers, problem = run_classifier(cmd, requests)
        if problem:
            result["classify"] = {"skipped": problem}
        else:
            result["classify"] = {
                "command": " ".join(cmd),
                "input_from": {k: origin.get(k, 0) for k in ("database", "reading", "missing")},
                "score": score(labels, answers),
            }

    if args.json:
        json.dump(result, sys.stdout, ensure_ascii=False, indent=1, default=list)
        print()
    else:
        cov = result["label_coverage"]
        print(f"labels: {result['labels']} for {cov['flagged_calls']} flagged calls "
              f"({cov['flagged_without_label']} flagged without a label, "
              f"{cov['labels_without_flagged_call']} labels without a flagged call)\n")
        print_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
