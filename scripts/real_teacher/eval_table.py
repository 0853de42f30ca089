#!/usr/bin/env python3
"""`hld-train eval` next to `lm_eval` on the same model folder and task files, as a Markdown table.

    eval_table.py HLD_EVAL_JSON LM_EVAL_OUTPUT_DIR [--out TABLE.md]

HLD_EVAL_JSON is `hld-train eval --out`'s file; LM_EVAL_OUTPUT_DIR is `lm_eval --output_path`
(its results_*.json, found recursively) run on the tasks scripts/referee/lm_eval_tasks.py wrote
(hld_hellaswag, hld_piqa, hld_arc_easy, hld_winogrande, hld_lambada_openai, hld_wikitext). Prints
one row per task and metric with both values and their relative difference, then hld-train's
held-out log-perplexity (valid_shards) when the eval JSON has it. Exit 1 when an accuracy differs.
"""
import argparse
import json
import sys
from pathlib import Path

ROWS = [("hellaswag", "hld_hellaswag", ["acc", "acc_norm"]), ("piqa", "hld_piqa", ["acc", "acc_norm"]),
        ("arc_easy", "hld_arc_easy", ["acc", "acc_norm"]), ("winogrande", "hld_winogrande", ["acc"]),
        ("lambada", "hld_lambada_openai", ["acc", "perplexity"]),
        ("wikitext", "hld_wikitext", ["word_perplexity", "byte_perplexity", "bits_per_byte"])]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hld_eval")
    ap.add_argument("lm_eval_dir")
    ap.add_argument("--out")
    a = ap.parse_args()
    ours = json.loads(Path(a.hld_eval).read_text())
    metrics = ours["metrics"]
    found = sorted(Path(a.lm_eval_dir).rglob("results_*.json"))
    if not found:
        print(f"eval_table: no results_*.json under '{a.lm_eval_dir}'", file=sys.stderr)
        sys.exit(2)
    theirs = json.loads(found[-1].read_text())["results"]
    lines = ["| task | metric | hld-train eval | lm_eval | rel. difference |", "|---|---|---:|---:|---:|"]
    bad = 0
    for task, htask, ms in ROWS:
        if task not in metrics or htask not in theirs:
            continue
        for m in ms:
            x, y = metrics[task].get(m), theirs[htask].get(f"{m},none")
            if x is None or y is None:
                continue
            rel = 0.0 if x == y else abs(x - y) / max(abs(y), 1e-30)
            if m.startswith("acc") and x != y:
                bad += 1
            n = metrics[task].get("n", metrics[task].get("examples", ""))
            lines.append(f"| {task}{f' (n={n})' if n != '' else ''} | {m} | {x:.6g} | {y:.6g} | {rel:.1e} |")
    for key in ("valid_shards",):
        if key in metrics:
            v = metrics[key]
            lp = v.get("log_ppl", v.get("log_perplexity"))
            lines.append(f"| held-out corpus ({key}, {v.get('tokens', '?')} tokens) | log-perplexity (nats/token) | "
                         f"{lp:.4f} | | |")
    table = "\n".join(lines) + "\n"
    print(table, end="")
    if a.out:
        Path(a.out).write_text(table)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
