#!/usr/bin/env python3
"""lm-evaluation-harness's own task definitions on the files `hld-train eval` reads.

From the evaluation files in their original formats (what configs/eval/tasks.yaml points at:
hellaswag_val.jsonl, piqa valid.jsonl + valid-labels.lst, ARC-Easy-Test.jsonl, winogrande
dev.jsonl, lambada_test.jsonl, wiki.test.raw) this writes, under OUT:

  data/<task>.jsonl   each file converted to the schema of the Hugging Face dataset the official
                      task reads (Rowan/hellaswag, baber/piqa, allenai/ai2_arc, allenai/winogrande,
                      EleutherAI/lambada_openai, EleutherAI/wikitext_document_level: one "page"
                      per article, split as that dataset's loader splits wiki.test.raw)
  tasks/hld_<task>.yaml  a task that `include`s the installed official YAML (its prompts,
                      preprocessing and metrics untouched) and only points it at the local file
                      (`dataset_path: json`), so `lm_eval --include_path OUT/tasks` runs offline

Names: hld_hellaswag, hld_piqa, hld_arc_easy, hld_winogrande, hld_lambada_openai, hld_wikitext.
Usage: lm_eval_tasks.py OUT --hellaswag F --piqa F --piqa-labels F --arc-easy F --winogrande F
                            --lambada F --wikitext F
Exit 2 on bad input (naming the file and line), 1 otherwise.
"""
import argparse
import json
import os
import re
import sys


def bad_input(msg):
    print(f"lm_eval_tasks: {msg}", file=sys.stderr)
    sys.exit(2)


def read_jsonl(path):
    if not os.path.isfile(path):
        bad_input(f"'{path}' does not exist")
    docs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                docs.append(json.loads(line))
            except ValueError as e:
                bad_input(f"'{path}' line {n}: not valid JSON ({e})")
    return docs


def need(doc, keys, path, n):
    for k in keys:
        if k not in doc:
            bad_input(f"'{path}' line {n}: missing field '{k}'")


def hellaswag(path):
    """rowanz/hellaswag's val jsonl has the dataset's fields already (label as an integer)."""
    docs = read_jsonl(path)
    for n, d in enumerate(docs, 1):
        need(d, ("activity_label", "ctx_a", "ctx_b", "endings", "label"), path, n)
    return [{k: d[k] for k in ("activity_label", "ctx_a", "ctx_b", "endings")} | {"label": str(d["label"])}
            for d in docs]


def piqa(path, labels_path):
    """valid.jsonl (goal, sol1, sol2) + valid-labels.lst (one 0/1 per line) → baber/piqa rows."""
    docs = read_jsonl(path)
    if not os.path.isfile(labels_path):
        bad_input(f"'{labels_path}' does not exist")
    with open(labels_path, encoding="utf-8") as f:
        labels = [line.strip() for line in f if line.strip()]
    if len(labels) != len(docs):
        bad_input(f"'{labels_path}' has {len(labels)} labels for {len(docs)} questions in '{path}'")
    out = []
    for n, (d, lab) in enumerate(zip(docs, labels), 1):
        need(d, ("goal", "sol1", "sol2"), path, n)
        if lab not in ("0", "1"):
            bad_input(f"'{labels_path}' line {n}: expected 0 or 1, got '{lab}'")
        out.append({"goal": d["goal"], "sol1": d["sol1"], "sol2": d["sol2"], "label": int(lab)})
    return out


def arc(path):
    """ARC's jsonl (question.stem, question.choices [{text, label}], answerKey) → allenai/ai2_arc rows."""
    out = []
    for n, d in enumerate(read_jsonl(path), 1):
        need(d, ("question", "answerKey"), path, n)
        q = d["question"]
        if not isinstance(q, dict) or "stem" not in q or "choices" not in q:
            bad_input(f"'{path}' line {n}: expected question.stem and question.choices")
        out.append({"id": d.get("id", str(n)), "question": q["stem"],
                    "choices": {"text": [c["text"] for c in q["choices"]],
                                "label": [c["label"] for c in q["choices"]]},
                    "answerKey": d["answerKey"]})
    return out


def winogrande(path):
    out = []
    for n, d in enumerate(read_jsonl(path), 1):
        need(d, ("sentence", "option1", "option2", "answer"), path, n)
        out.append({k: str(d[k]) for k in ("sentence", "option1", "option2", "answer")})
    return out


def lambada(path):
    out = []
    for n, d in enumerate(read_jsonl(path), 1):
        need(d, ("text",), path, n)
        out.append({"text": d["text"]})
    return out


def wikitext(path):
    """wiki.test.raw split into articles as EleutherAI/wikitext_document_level's loader splits it."""
    if not os.path.isfile(path):
        bad_input(f"'{path}' does not exist")
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    pages, current = [], []
    for line in lines:
        heading = line.replace("= = =", "===").replace("= =", "==").strip()
        if heading.startswith("= ") and heading.endswith(" ="):
            if "".join(current).strip():
                pages.append("\n".join(current))
            current = []
        current.append(line)
    pages.append("\n".join(current))
    return [{"page": p} for p in pages]


# task -> (official YAML under lm_eval/tasks, the split the local file becomes, override keys)
TASKS = {
    "hellaswag": ("hellaswag/hellaswag.yaml", "validation", {}),
    "piqa": ("piqa/piqa.yaml", "validation", {}),
    "arc_easy": ("arc/arc_easy.yaml", "test", {}),
    "winogrande": ("winogrande/default.yaml", "validation", {}),
    "lambada_openai": ("lambada/lambada_openai.yaml", "test", {}),
    "wikitext": ("wikitext/wikitext.yaml", "test", {}),
}


def task_yaml(official, split, data_file, name):
    """A task that includes the official one and reads `data_file` as its `split`."""
    splits = {k: None for k in ("training_split", "validation_split", "test_split")}
    splits[f"{split}_split"] = split
    lines = [f"# {name}: the official {official} on a local file (written by scripts/referee/lm_eval_tasks.py)",
             f"include: {json.dumps(official)}", f"task: {name}", "tag: []", "dataset_path: json",
             "dataset_name: null", "dataset_kwargs:", "  data_files:", f"    {split}: {json.dumps(data_file)}"]
    lines += [f"{k}: {'null' if v is None else v}" for k, v in splits.items()]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    for opt in ("hellaswag", "piqa", "piqa-labels", "arc-easy", "winogrande", "lambada", "wikitext"):
        ap.add_argument("--" + opt, required=True)
    a = ap.parse_args()
    import lm_eval

    tasks_dir = os.path.join(os.path.dirname(os.path.abspath(lm_eval.__file__)), "tasks")
    rows = {"hellaswag": hellaswag(a.hellaswag), "piqa": piqa(a.piqa, a.piqa_labels), "arc_easy": arc(a.arc_easy),
            "winogrande": winogrande(a.winogrande), "lambada_openai": lambada(a.lambada),
            "wikitext": wikitext(a.wikitext)}
    os.makedirs(os.path.join(a.out, "data"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "tasks"), exist_ok=True)
    for task, (official, split, _) in TASKS.items():
        official_path = os.path.join(tasks_dir, official)
        if not os.path.isfile(official_path):
            bad_input(f"the installed lm-eval has no '{official_path}'")
        data_file = os.path.abspath(os.path.join(a.out, "data", task + ".jsonl"))
        with open(data_file, "w", encoding="utf-8") as f:
            for r in rows[task]:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        with open(os.path.join(a.out, "tasks", f"hld_{task}.yaml"), "w", encoding="utf-8") as f:
            f.write(task_yaml(official_path, split, data_file, "hld_" + task))
        print(f"hld_{task}: {len(rows[task])} documents")


if __name__ == "__main__":
    main()
