#!/usr/bin/env python3
"""An hld-train model directory with its embedding padded to more rows, as Gemma 3 4B's 262,208
rows pad the 262,144-piece tokenizer that Gemma 3 270M and 1B use unpadded.

    pad_vocab.py MODEL_DIR OUT_DIR --rows 262208 [--std 0]

Copies MODEL_DIR (model.yaml, model.safetensors, data_layout.json, tokenizer.model) with
`embed_tokens.weight` extended by rows drawn from normal(0, std) (0: zeros, whose logit is 0 for
every token) and model.yaml's vocab_size set to --rows: a teacher whose vocabulary extends its
tokenizer's, to distil through the shared ids (docs/huggingface.md).
"""
import argparse
import re
import shutil
import sys
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--std", type=float, default=0.0)
    a = ap.parse_args()
    src, out = Path(a.model), Path(a.out)
    if not (src / "model.yaml").is_file():
        print(f"pad_vocab: '{src}/model.yaml' does not exist (expected an hld-train model directory)", file=sys.stderr)
        sys.exit(2)
    out.mkdir(parents=True, exist_ok=True)
    with safe_open(str(src / "model.safetensors"), "pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    emb = tensors["embed_tokens.weight"]
    if a.rows <= emb.shape[0]:
        print(f"pad_vocab: --rows {a.rows} must exceed the embedding's {emb.shape[0]} rows", file=sys.stderr)
        sys.exit(2)
    g = torch.Generator().manual_seed(0)
    extra = torch.randn(a.rows - emb.shape[0], emb.shape[1], generator=g, dtype=torch.float32) * a.std
    tensors["embed_tokens.weight"] = torch.cat([emb, extra.to(emb.dtype)])
    save_file(tensors, str(out / "model.safetensors"), metadata=meta)
    yaml = (src / "model.yaml").read_text()
    (out / "model.yaml").write_text(re.sub(r"(?m)^vocab_size: \d+$", f"vocab_size: {a.rows}", yaml))
    for name in ("data_layout.json", "tokenizer.model"):
        if (src / name).is_file():
            shutil.copy(src / name, out / name)
    print(f"{out}: embedding {emb.shape[0]} -> {a.rows} rows (std {a.std})")


if __name__ == "__main__":
    main()
