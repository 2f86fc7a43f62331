#!/usr/bin/python3
"""Reference values from the papers' own Python code, for @icot/eval's known-answer tests.

This harness imports the original code from checkouts you point it at; it contains none of it.
Run it under /usr/bin/python3 (numpy is needed for `rouge`; nothing else beyond the standard
library: M3CoT's utils/data.py imports tqdm only for dataset export, so a stand-in module is
registered when tqdm is not installed).

  m3cot-totals --m3cot DIR [--data SPLIT.jsonl] [--icot FILE] FILE...
      M3CoT's MetricData(FILE).metric(by=..., map=...) from DIR/utils/metric.py: one JSON line per
      file with total, correct, byDomain and byTopic. --data builds the `map` (as evaluate.py's
      M3CoT after select_by_split) from a JSONL split file instead of the Hugging Face dataset.
      --icot makes MetricData call ICoT's judge_answer (see `judge`) instead of M3CoT's.
  judge --m3cot DIR | --icot FILE  CASES.json
      For each case {text, choices}, the letter judge_answer predicts: the one answer among A-Z
      and "FAILED" for which judge_answer(text, choices, answer) is True. --icot loads ICoT's
      eval_scripts.py, whose one IndentationError (the body of `if isinstance(answer, int):`) is
      indented here before it is compiled.
  rouge --pycocoevalcap DIR CASES.json
      For each case {candidate, references}: Rouge().calc_score([candidate], references) from
      DIR/rouge/rouge.py, printed with repr() (all 17 significant digits); for each list in
      "means", numpy's mean as Rouge.compute_score takes it.
  llava-w --pycocoevalcap DIR --data BENCH_DIR PREDICTIONS.jsonl
      Rouge().compute_score(gts, res) with gts = {question_id: [answers_gpt4 text]} and res =
      {question_id: [prediction text]} in questions.jsonl order (the first prediction of each
      question_id), overall and per category: the mean and every question's score, repr()-printed.
"""
import importlib.util
import json
import string
import sys
import types


def load_m3cot_metric(m3cot_dir):
    if "tqdm" not in sys.modules:
        try:
            import tqdm  # noqa: F401
        except ImportError:
            stub = types.ModuleType("tqdm")
            stub.tqdm = lambda iterable, *a, **k: iterable
            sys.modules["tqdm"] = stub
    sys.path.insert(0, m3cot_dir)
    import utils.metric as metric
    return metric


class SplitMap:
    """What evaluate.py passes as `map`: an object whose .data holds the split's records."""

    def __init__(self, path):
        with open(path, encoding="utf8") as f:
            self.data = [json.loads(line) for line in f if line.strip()]


def m3cot_totals(args):
    m3cot_dir = args[args.index("--m3cot") + 1]
    data = args[args.index("--data") + 1] if "--data" in args else None
    files = [a for i, a in enumerate(args) if not a.startswith("--") and args[i - 1] not in ("--m3cot", "--data", "--icot")]
    metric = load_m3cot_metric(m3cot_dir)
    if "--icot" in args:
        metric.judge_answer = load_icot_judge(args[args.index("--icot") + 1])
    metric.sort_metric = lambda d: d  # ordering only: sort_metric needs all three domains present
    split_map = SplitMap(data) if data else None
    for path in files:
        out = {"file": path}
        try:
            total = metric.MetricData(path).metric(by="all", map=split_map)["total"]
            by_domain = metric.MetricData(path).metric(by="domain", map=split_map)
            by_topic = metric.MetricData(path).metric(by="topic", map=split_map)
            out.update(total=total["total"], correct=total["correct"],
                       byDomain={d: {"total": v["total"], "correct": v["correct"]} for d, v in by_domain.items()},
                       byTopic={d: {t: {"total": v["total"], "correct": v["correct"]} for t, v in ts.items()} for d, ts in by_topic.items()})
        except Exception as e:  # report what the original code raises
            out["error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(out))


def load_icot_judge(path):
    with open(path, encoding="utf8") as f:
        source = f.read()
    # eval_scripts.py does not compile: the body of `if isinstance(answer, int):` is not indented
    source = source.replace("  if isinstance(answer, int):\n  answer = ALPHA_MAP[answer]",
                            "  if isinstance(answer, int):\n    answer = ALPHA_MAP[answer]")
    module = types.ModuleType("icot_eval_scripts")
    exec(compile(source, path, "exec"), module.__dict__)
    return module.judge_answer


def judge(args):
    if "--m3cot" in args:
        judge_answer = load_m3cot_metric(args[args.index("--m3cot") + 1]).judge_answer
    else:
        judge_answer = load_icot_judge(args[args.index("--icot") + 1])
    with open(args[-1], encoding="utf8") as f:
        cases = json.load(f)
    for case in cases:
        answers = list(string.ascii_uppercase) + ["FAILED"]
        try:
            hits = [a for a in answers if judge_answer(case["text"], case["choices"], a)]
            out = hits[0] if len(hits) == 1 else ("none" if not hits else hits)
            if "answer" in case:
                out = {"pred": out, "judge": judge_answer(case["text"], case["choices"], case["answer"])}
        except Exception as e:
            out = f"{type(e).__name__}: {e}"
        print(json.dumps({"name": case.get("name"), "python": out}))


def load_rouge(pycocoevalcap_dir):
    spec = importlib.util.spec_from_file_location("rouge", f"{pycocoevalcap_dir}/rouge/rouge.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Rouge()


def llava_w(args):
    scorer = load_rouge(args[args.index("--pycocoevalcap") + 1])
    bench = args[args.index("--data") + 1]

    def jsonl(path):
        with open(path, encoding="utf8") as f:
            return [json.loads(line) for line in f if line.strip()]
    questions = jsonl(f"{bench}/questions.jsonl")
    references = {a["question_id"]: a["text"] for a in jsonl(f"{bench}/answers_gpt4.jsonl")}
    predictions = {}
    for p in jsonl(args[-1]):
        predictions.setdefault(p["question_id"], p["text"])
    out = {}
    for category in [None] + list(dict.fromkeys(q["category"] for q in questions)):
        ids = [q["question_id"] for q in questions if (category is None or q["category"] == category) and q["question_id"] in predictions]
        mean, scores = scorer.compute_score({i: [references[i]] for i in ids}, {i: [predictions[i]] for i in ids})
        out[category or "all"] = {"total": len(ids), "rougeL": repr(float(mean)), "scores": [repr(float(s)) for s in scores]}
    print(json.dumps(out))


def rouge(args):
    import numpy as np
    scorer = load_rouge(args[args.index("--pycocoevalcap") + 1])
    with open(args[-1], encoding="utf8") as f:
        cases = json.load(f)
    for case in cases.get("cases", []):
        print(json.dumps({"name": case.get("name"), "score": repr(scorer.calc_score([case["candidate"]], case["references"]))}))
    for name, values in cases.get("means", {}).items():
        print(json.dumps({"mean": name, "value": repr(float(np.mean(np.array(values, dtype=np.float64))))}))


if __name__ == "__main__":
    {"m3cot-totals": m3cot_totals, "judge": judge, "rouge": rouge, "llava-w": llava_w}[sys.argv[1]](sys.argv[2:])
