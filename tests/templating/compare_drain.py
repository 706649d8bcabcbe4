#!/usr/bin/env python3
"""Compare self-heal's template mining with Drain (drain3, default configuration) on Loghub.

For every `<Name>_2k.log_structured.csv` under --data, both miners get the `Content` column,
one message per line, with no per-dataset configuration; each is scored against the
labelled `EventId` column with:

- grouping accuracy (GA, Zhu et al., ICSE-SEIP 2019): the share of messages whose predicted
  group holds exactly the messages of their ground-truth group;
- pairwise F1 over "same group" message pairs.

Ours is run as `BIN templates --json FILE`. drain3 is used as shipped (`TemplateMinerConfig()`
defaults: sim_th 0.4, depth 4, max_children 100, no masking instructions).

Exit status: 1 if our average GA is below drain3's, 2 on a usage or data error, else 0.
Usage: compare_drain.py --self-heal target/debug/self-heal --data tests/data/loghub [--out summary.json]
"""

import argparse
import csv
import json
import logging
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path


def load(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["Content"] for r in rows], [r["EventId"] for r in rows]


def grouping_accuracy(truth, predicted):
    """GA: a message counts when its predicted group equals its true group as a set."""
    true_groups = defaultdict(list)
    for i, t in enumerate(truth):
        true_groups[t].append(i)
    pred_sizes = Counter(predicted)
    correct = 0
    for members in true_groups.values():
        preds = {predicted[i] for i in members}
        if len(preds) == 1 and pred_sizes[next(iter(preds))] == len(members):
            correct += len(members)
    return correct / len(truth) if truth else 1.0


def pairwise_f1(truth, predicted):
    def pairs(counter):
        return sum(n * (n - 1) // 2 for n in counter.values())

    both = pairs(Counter(zip(truth, predicted)))
    pred_pairs, true_pairs = pairs(Counter(predicted)), pairs(Counter(truth))
    precision = both / pred_pairs if pred_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def run_drain3(messages):
    from drain3 import TemplateMiner
    from drain3.template_miner_config import TemplateMinerConfig

    logging.getLogger("drain3").setLevel(logging.ERROR)
    miner = TemplateMiner(config=TemplateMinerConfig())
    return [miner.add_log_message(m)["cluster_id"] for m in messages]


def run_ours(binary, messages):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        for m in messages:
            f.write(m.replace("\n", " ") + "\n")
        name = f.name
    try:
        out = subprocess.run([binary, "templates", "--json", name], check=True, capture_output=True, text=True).stdout
    finally:
        Path(name).unlink()
    lines = json.loads(out)
    if len(lines) != len(messages):
        raise SystemExit(f"self-heal returned {len(lines)} lines for {len(messages)} messages")
    return [line["template_id"] for line in lines]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--self-heal", required=True, help="path of the self-heal binary")
    parser.add_argument("--data", required=True, help="folder of <Name>_2k.log_structured.csv files")
    parser.add_argument("--out", help="write a JSON summary here")
    args = parser.parse_args()

    try:
        from importlib.metadata import version

        drain3_version = version("drain3")
    except Exception:
        print("drain3 is not installed: pip install drain3", file=sys.stderr)
        return 2
    files = sorted(Path(args.data).glob("*_2k.log_structured.csv"))
    if not files:
        print(f"no *_2k.log_structured.csv under {args.data}", file=sys.stderr)
        return 2
    results = []
    print(f"{'dataset':<12} {'lines':>5} {'GA ours':>8} {'GA drain3':>9} {'F1 ours':>8} {'F1 drain3':>9}")
    for path in files:
        name = path.name.split("_2k")[0]
        messages, truth = load(path)
        if len(messages) != 2000:
            print(f"warning: {path.name} has {len(messages)} rows, expected 2000", file=sys.stderr)
        ours, drain = run_ours(args.self_heal, messages), run_drain3(messages)
        r = {
            "dataset": name,
            "lines": len(messages),
            "ga_ours": grouping_accuracy(truth, ours),
            "ga_drain3": grouping_accuracy(truth, drain),
            "f1_ours": pairwise_f1(truth, ours),
            "f1_drain3": pairwise_f1(truth, drain),
            "templates_truth": len(set(truth)),
            "templates_ours": len(set(ours)),
            "templates_drain3": len(set(drain)),
        }
        results.append(r)
        print(f"{name:<12} {r['lines']:>5} {r['ga_ours']:>8.3f} {r['ga_drain3']:>9.3f} {r['f1_ours']:>8.3f} {r['f1_drain3']:>9.3f}")
    avg = {k: sum(r[k] for r in results) / len(results) for k in ("ga_ours", "ga_drain3", "f1_ours", "f1_drain3")}
    wins = sum(r["ga_ours"] >= r["ga_drain3"] for r in results)
    print(f"{'average':<12} {'':>5} {avg['ga_ours']:>8.3f} {avg['ga_drain3']:>9.3f} {avg['f1_ours']:>8.3f} {avg['f1_drain3']:>9.3f}")
    print(f"ours >= drain3 on {wins} of {len(results)} datasets (drain3 {drain3_version})")
    if args.out:
        summary = {"drain3_version": drain3_version, "datasets": results, "average": avg, "wins": wins}
        Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    if avg["ga_ours"] < avg["ga_drain3"]:
        print("FAIL: average GA below drain3", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
