#!/usr/bin/env python3
"""Compare self-heal's template mining with Drain (drain3, default configuration) on Loghub.

Every labelled sample (`<Name>_2k.log_structured.csv` or any `<Name>.log_structured.csv`,
columns `LineId,Content,EventId`) under the given folders is mined by both, one message per
line, with no per-source configuration; each is scored against the labelled `EventId`:

- grouping accuracy (GA, Zhu et al., ICSE-SEIP 2019): the share of messages whose predicted
  group holds exactly the messages of their ground-truth group;
- pairwise F1 over "same group" message pairs.

Sources are split in two: *development* sources (used while building the miner) and
*held-out* sources (never used to tune it; they measure how the miner generalises). A
source is held out when it comes from a `--heldout` folder, or when its name is listed in
the `heldout.txt` file of its `--data` folder (one name per line, `#` comments); all other
sources are development sources. The two averages are reported separately.

Ours is run as `BIN templates --json FILE`. drain3 is used as shipped (`TemplateMinerConfig()`
defaults: sim_th 0.4, depth 4, max_children 100, no masking instructions).

Exit status: 1 if our GA is below drain3's on any source, or if the held-out average GA is
below --min-heldout (0.90); 2 on a usage or data error; else 0.
Usage: compare_drain.py --self-heal target/debug/self-heal --data tests/data/loghub
           [--heldout DIR ...] [--min-heldout 0.90] [--out summary.json]
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


def source_name(path):
    return path.name.split("_2k")[0].split(".log_structured")[0]


def sources(folder, all_heldout):
    """(name, path, split) for every labelled sample in `folder`."""
    folder = Path(folder)
    listed = set()
    manifest = folder / "heldout.txt"
    if manifest.is_file():
        for line in manifest.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                listed.add(line)
    found = []
    for path in sorted(folder.glob("*.log_structured.csv")):
        name = source_name(path)
        split = "held-out" if all_heldout or name in listed else "dev"
        found.append((name, path, split))
    unknown = listed - {name for name, _, _ in found}
    if unknown:
        raise SystemExit(f"{manifest}: no sample for {', '.join(sorted(unknown))}")
    return found


def average(results, key):
    return sum(r[key] for r in results) / len(results) if results else None


def fmt(x):
    return f"{x:.3f}" if x is not None else "  -  "


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--self-heal", required=True, help="path of the self-heal binary")
    parser.add_argument("--data", action="append", default=[], help="folder of labelled samples (repeatable)")
    parser.add_argument("--heldout", action="append", default=[], help="folder of held-out samples (repeatable)")
    parser.add_argument("--min-heldout", type=float, default=0.90, help="least held-out average GA (0.90)")
    parser.add_argument("--out", help="write a JSON summary here")
    args = parser.parse_args()
    if not args.data and not args.heldout:
        parser.error("give at least one --data or --heldout folder")

    try:
        from importlib.metadata import version

        drain3_version = version("drain3")
    except Exception:
        print("drain3 is not installed: pip install drain3", file=sys.stderr)
        return 2
    todo = [s for d in args.data for s in sources(d, False)] + [s for d in args.heldout for s in sources(d, True)]
    if not todo:
        print(f"no *.log_structured.csv under {', '.join(args.data + args.heldout)}", file=sys.stderr)
        return 2
    results = []
    print(f"{'source':<14} {'split':<8} {'lines':>5} {'GA ours':>8} {'GA drain3':>9} {'F1 ours':>8} {'F1 drain3':>9}")
    for name, path, split in todo:
        messages, truth = load(path)
        ours, drain = run_ours(args.self_heal, messages), run_drain3(messages)
        r = {
            "dataset": name,
            "split": split,
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
        print(
            f"{name:<14} {split:<8} {r['lines']:>5} {r['ga_ours']:>8.3f} {r['ga_drain3']:>9.3f} "
            f"{r['f1_ours']:>8.3f} {r['f1_drain3']:>9.3f}"
        )
    keys = ("ga_ours", "ga_drain3", "f1_ours", "f1_drain3")
    summary = {"drain3_version": drain3_version, "datasets": results}
    for split in ("dev", "held-out"):
        part = [r for r in results if r["split"] == split]
        avg = {k: average(part, k) for k in keys}
        summary[split] = {"sources": len(part), "average": avg}
        print(
            f"{'average':<14} {split:<8} {len(part):>5} {fmt(avg['ga_ours']):>8} {fmt(avg['ga_drain3']):>9} "
            f"{fmt(avg['f1_ours']):>8} {fmt(avg['f1_drain3']):>9}"
        )
    below = [r["dataset"] for r in results if r["ga_ours"] < r["ga_drain3"]]
    print(f"ours >= drain3 on {len(results) - len(below)} of {len(results)} sources (drain3 {drain3_version})")
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    failed = False
    if below:
        print(f"FAIL: GA below drain3 on {', '.join(below)}", file=sys.stderr)
        failed = True
    heldout_ga = summary["held-out"]["average"]["ga_ours"]
    if heldout_ga is None:
        print("no held-out sources given: held-out average not checked")
    elif heldout_ga < args.min_heldout:
        print(f"FAIL: held-out average GA {heldout_ga:.3f} below {args.min_heldout:.2f}", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
