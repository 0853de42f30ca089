#!/usr/bin/env python3
"""Gemma 3 text models made by transformers itself, with reference tensors, for `verify-hf`.

Each configuration below is built in transformers (`Gemma3TextConfig` + `Gemma3ForCausalLM`) with
seeded random weights (RMSNorm weights drawn too, so that the `1 + w` scaling matters), saved with
`save_pretrained` and given a reference.safetensors by hf_reference.py (transformers' logits, every
hidden state and the gradient of every parameter under the next-token NLL). What each one is for:

  gqa_1to1        4 query heads, 4 KV heads (no sharing)
  gqa_2to1        4 query heads, 2 KV heads
  gqa_4to1        4 query heads, 1 KV head (the paper's students)
  head_dim_48     head_dim 48 != hidden / heads = 16: q/o projections are not square
  qpas_50         query_pre_attn_scalar 50 != head_dim: a wrong attention scale shows
  rope_linear8    linear RoPE scaling x8 (and theta 5e5) on the global layers, sequence 96
  window_5        sliding window 5, far shorter than the 48-token sequence
  student_123m_6l the paper's 123M student shape (d 640, 4/1 heads, head_dim 256, ffw 2048,
                  window 512, vocab 32 000) with 6 of its 18 layers (layer 5 is global)
  bf16_weights    weights saved in bfloat16, reference computed in float32 from them
  bf16_compute    weights saved in bfloat16, reference computed by transformers in bfloat16
  sharded         float32 weights saved in several shards with model.safetensors.index.json

OUT/manifest.json lists them: name, folder (relative to OUT), the dtype to verify in, the purpose.
Usage: hf_models.py OUT [--only NAME[,NAME...]]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference  # noqa: E402

import torch  # noqa: E402

# The tiny base every configuration changes: the shape of the committed fixture.
BASE = dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=7, num_attention_heads=4,
            num_key_value_heads=1, head_dim=32, query_pre_attn_scalar=32, sliding_window=16,
            max_position_embeddings=256, rms_norm_eps=1e-6)

DEFAULT_ROPE = {"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                "full_attention": {"rope_type": "default", "rope_theta": 1000000.0}}

# name -> (config changes, save dtype, compute dtype, save options, reference sequence length, purpose)
CONFIGS = {
    "gqa_1to1": (dict(num_key_value_heads=4), "float32", "float32", {}, 48, "GQA 1:1"),
    "gqa_2to1": (dict(num_key_value_heads=2), "float32", "float32", {}, 48, "GQA 2:1"),
    "gqa_4to1": (dict(num_key_value_heads=1), "float32", "float32", {}, 48, "GQA 4:1"),
    "head_dim_48": (dict(head_dim=48, query_pre_attn_scalar=48), "float32", "float32", {}, 48,
                    "head_dim != hidden/heads"),
    "qpas_50": (dict(query_pre_attn_scalar=50), "float32", "float32", {}, 48, "query_pre_attn_scalar != head_dim"),
    "rope_linear8": (dict(rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                           "full_attention": {"rope_type": "linear", "factor": 8.0,
                                                              "rope_theta": 500000.0}}),
                     "float32", "float32", {}, 96, "linear RoPE x8 on global layers"),
    "window_5": (dict(sliding_window=5), "float32", "float32", {}, 48, "sliding window 5 < sequence 48"),
    "student_123m_6l": (dict(vocab_size=32000, hidden_size=640, intermediate_size=2048, num_hidden_layers=6,
                             num_attention_heads=4, num_key_value_heads=1, head_dim=256, query_pre_attn_scalar=256,
                             sliding_window=512, max_position_embeddings=2048),
                        "float32", "float32", {}, 64, "123M student shape, 6 layers"),
    "bf16_weights": ({}, "bfloat16", "float32", {}, 48, "bf16 save, float32 compute"),
    "bf16_compute": ({}, "bfloat16", "bfloat16", {}, 48, "bf16 save, bf16 compute in transformers"),
    "sharded": ({}, "float32", "float32", {"max_shard_size": "300KB"}, 48, "sharded float32 save"),
}


def build_model(changes, seed):
    """A Gemma3ForCausalLM of BASE + changes with seeded random weights, float32."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    kw = dict(BASE)
    kw["rope_parameters"] = json.loads(json.dumps(DEFAULT_ROPE))
    kw.update(changes)
    n = kw["num_hidden_layers"]
    kw["layer_types"] = ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(n)]
    cfg = Gemma3TextConfig(**kw, attn_logit_softcapping=None, final_logit_softcapping=None)
    torch.manual_seed(seed)
    model = Gemma3ForCausalLM(cfg).to(torch.float32)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)  # 1 + w, w drawn around 0
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            else:  # projections: unit-variance outputs for unit-variance inputs
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)
    return model


def make(out, name, seed):
    changes, save_dtype, compute_dtype, save_opts, seq, purpose = CONFIGS[name]
    folder = os.path.join(out, name)
    model = build_model(changes, seed)
    if save_dtype == "bfloat16":
        model = model.to(torch.bfloat16)
    model.save_pretrained(folder, **save_opts)
    hf_reference.write_reference(folder, dtype=compute_dtype, batch=2, seq=seq, seed=seed + 1)
    return {"name": name, "dir": name, "verify_dtype": compute_dtype, "save_dtype": save_dtype,
            "sharded": os.path.exists(os.path.join(folder, "model.safetensors.index.json")), "purpose": purpose}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--only", default="", help="comma-separated configuration names (default: all)")
    a = ap.parse_args()
    names = [n for n in a.only.split(",") if n] or list(CONFIGS)
    for n in names:
        if n not in CONFIGS:
            print(f"hf_models: --only: unknown configuration '{n}' (known: {', '.join(CONFIGS)})", file=sys.stderr)
            sys.exit(2)
    os.makedirs(a.out, exist_ok=True)
    entries = [make(a.out, n, seed=100 + i) for i, n in enumerate(names)]
    with open(os.path.join(a.out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump({"configurations": entries}, f, indent=1)
    for e in entries:
        print(f"{e['name']:16s} {e['purpose']}")


if __name__ == "__main__":
    main()
