#!/usr/bin/env python3
"""Reference tensors from Hugging Face transformers itself, in the format `hld-train verify-hf` reads.

For a Hugging Face Gemma 3 folder (config.json + single or sharded safetensors) this loads the
model with transformers' own `AutoModelForCausalLM` (eager attention, on the CPU), runs a batch of
token ids through it and writes DIR/reference.safetensors:

  input_ids        [B, T] int64   what was run
  logits           [B, T, V]      the model's output
  loss             [1]            mean next-token NLL with labels = input_ids (transformers' own loss)
  embeddings       [B, T, D]      the scaled embedding output (the residual stream before block 0)
  layer_{i}_out    [B, T, D]      the residual stream after block i
  final_normed     [B, T, D]      after the final norm
  grad.{name}      like {name}    d loss / d parameter, for every parameter under its HF name

The hidden states come from forward hooks on the modules themselves, not from `hidden_states=`,
whose layout has changed between transformers releases. The ids are either seeded random ids or
what `AutoTokenizer` makes of the documents of a JSON-lines file (--texts, a "text" per line):
then DIR/hf_token_ids.json holds each document's full encoding too, and input_ids is the first T
tokens of the first B documents (T the shortest of them).

Usage: hf_reference.py DIR [--dtype float32|bfloat16] [--batch 2] [--seq 48] [--seed 0]
                           [--texts FILE] [--no-grad]
Exit codes: 0 written, 2 bad input (naming the file), 1 anything else.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def bad_input(msg):
    print(f"hf_reference: {msg}", file=sys.stderr)
    sys.exit(2)


def load_model(folder, dtype):
    """transformers' AutoModelForCausalLM on `folder`, eager attention, evaluation mode."""
    from transformers import AutoModelForCausalLM

    if not os.path.isfile(os.path.join(folder, "config.json")):
        bad_input(f"'{folder}/config.json' does not exist (expected a Hugging Face model folder)")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, attn_implementation="eager")
    model.eval()
    return model


def text_ids(folder, texts_path, batch):
    """AutoTokenizer's encodings of every document; the first `batch`, cut to the shortest, as a batch."""
    from transformers import AutoTokenizer

    if not os.path.isfile(texts_path):
        bad_input(f"'{texts_path}' does not exist (expected JSON lines with a \"text\" field)")
    texts = []
    with open(texts_path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                texts.append(json.loads(line)["text"])
            except (ValueError, KeyError, TypeError):
                bad_input(f"'{texts_path}' line {n}: expected a JSON object with a \"text\" string")
    if len(texts) < batch:
        bad_input(f"'{texts_path}' has {len(texts)} documents, fewer than --batch {batch}")
    tok = AutoTokenizer.from_pretrained(folder)
    ids = [tok(t)["input_ids"] for t in texts]
    with open(os.path.join(folder, "hf_token_ids.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizer_class": type(tok).__name__, "texts": texts, "ids": ids}, f)
    t = min(len(x) for x in ids[:batch])
    return torch.tensor([x[:t] for x in ids[:batch]], dtype=torch.int64)


def reference(model, input_ids, with_grad):
    """Runs `input_ids` through `model`; returns the tensors of the module docstring."""
    inner = model.model
    seen = {}

    def keep(name):
        def hook(_module, _inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            seen[name] = out.detach().float().clone()

        return hook

    hooks = [inner.embed_tokens.register_forward_hook(keep("embeddings")),
             inner.norm.register_forward_hook(keep("final_normed"))]
    hooks += [layer.register_forward_hook(keep(f"layer_{i}_out")) for i, layer in enumerate(inner.layers)]
    model.zero_grad(set_to_none=True)
    with torch.set_grad_enabled(with_grad):
        out = model(input_ids=input_ids, labels=input_ids, use_cache=False)
        if with_grad:
            out.loss.backward()
    for h in hooks:
        h.remove()
    tensors = {"input_ids": input_ids.contiguous(), "logits": out.logits.detach().float().contiguous(),
               "loss": out.loss.detach().float().reshape(1)}
    tensors.update({k: v.contiguous() for k, v in seen.items()})
    if with_grad:
        for name, p in model.named_parameters():
            if p.grad is None:
                raise RuntimeError(f"parameter {name} has no gradient")
            tensors["grad." + name] = p.grad.detach().float().contiguous()
    return tensors


def write_reference(folder, dtype="float32", batch=2, seq=48, seed=0, texts=None, with_grad=True):
    """Writes folder/reference.safetensors; returns its tensors."""
    model = load_model(folder, DTYPES[dtype])
    if texts:
        input_ids = text_ids(folder, texts, batch)
    else:
        g = torch.Generator().manual_seed(seed)
        input_ids = torch.randint(0, model.config.vocab_size, (batch, seq), generator=g, dtype=torch.int64)
    tensors = reference(model, input_ids, with_grad)
    import transformers

    meta = {"transformers_version": transformers.__version__, "torch_version": torch.__version__,
            "compute_dtype": dtype, "attn_implementation": "eager"}
    save_file(tensors, os.path.join(folder, "reference.safetensors"), metadata=meta)
    return tensors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seq", type=int, default=48)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--texts", default=None, help="JSON lines with \"text\": encode them with AutoTokenizer instead of random ids")
    ap.add_argument("--no-grad", action="store_true", help="skip the parameter gradients")
    a = ap.parse_args()
    if a.batch < 1 or a.seq < 2:
        bad_input("--batch must be >= 1 and --seq >= 2")
    t = write_reference(a.dir, a.dtype, a.batch, a.seq, a.seed, a.texts, not a.no_grad)
    print(f"{a.dir}/reference.safetensors: {len(t)} tensors, input_ids {list(t['input_ids'].shape)}, "
          f"loss {t['loss'].item():.6f}")


if __name__ == "__main__":
    main()
