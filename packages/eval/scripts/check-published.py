#!/usr/bin/python3
"""Re-score every published M3CoT prediction file with `icot eval score` and with M3CoT's own Python,
and compare total, correct and the counts by domain and topic.

  /usr/bin/python3 packages/eval/scripts/check-published.py M3COT_CHECKOUT [--data SPLIT_DIR] [--extractor icot]

M3COT_CHECKOUT: a checkout of LightChen233/M3CoT (utils/ and experiment/zero-shot/*/*.jsonl).
Runs from the repository root; icot runs from the TypeScript sources (node + tsx).
"""
import glob
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "..", "..", ".."))
m3cot = os.path.abspath(sys.argv[1])
data = sys.argv[sys.argv.index("--data") + 1] if "--data" in sys.argv else None
extractor = sys.argv[sys.argv.index("--extractor") + 1] if "--extractor" in sys.argv else "m3cot"
files = sorted(glob.glob(os.path.join(m3cot, "experiment", "zero-shot", "*", "*.jsonl")))

reference_args = [sys.executable, os.path.join(here, "reference.py"), "m3cot-totals", "--m3cot", m3cot]
if data:
    reference_args += ["--data", os.path.join(data, "test.jsonl")]
if extractor == "icot":
    reference_args += ["--icot", os.environ.get("ICOT_EVAL_SCRIPTS", "eval_scripts.py")]
reference = {}
for line in subprocess.run(reference_args + files, capture_output=True, text=True, check=True).stdout.splitlines():
    row = json.loads(line)
    reference[row["file"]] = row

loader = "file://" + os.path.join(root, "node_modules", "tsx", "dist", "loader.mjs")
failures = 0
for path in files:
    args = ["node", "--conditions=@icot/source", "--import", loader, os.path.join(root, "apps", "cli", "src", "bin.ts"),
            "eval", "score", "--dataset", "m3cot", "--predictions", path, "--json", "--extractor", extractor]
    if data:
        args += ["--data", data]
    out = json.loads(subprocess.run(args, capture_output=True, text=True).stdout)
    ref = reference[path]
    name = os.path.relpath(path, os.path.join(m3cot, "experiment", "zero-shot"))
    if "error" in ref:
        ok = "error" in out
        print(f"{'ok ' if ok else 'BAD'} {name}: Python {ref['error']}; icot {out.get('error', {}).get('code', out)}")
    else:
        counts = lambda d: {k: {"total": v["total"], "correct": v["correct"]} for k, v in d.items()}
        ok = (out.get("total"), out.get("correct")) == (ref["total"], ref["correct"]) \
            and counts(out["byDomain"]) == ref["byDomain"] \
            and {d: counts(t) for d, t in out["byTopic"].items()} == ref["byTopic"]
        print(f"{'ok ' if ok else 'BAD'} {name}: Python {ref['correct']}/{ref['total']}, icot {out.get('correct')}/{out.get('total')}")
    failures += not ok
sys.exit(1 if failures else 0)
