#!/usr/bin/env python3
"""TRL's generalized JSD loss as the referee of hld-train's logit divergences.

Reads IN (safetensors): `h` [N, D] and `w` [V, D] (the student's final-normed states and tied
embedding: student logits z = h·wᵀ), `teacher_logits` [N, V], all float64, and the metadata
`betas` and `temperatures` (JSON lists). For every (β, τ) it calls TRL's own
`GKDTrainer.generalized_jsd_loss(z, teacher_logits, beta=β, temperature=τ)` (β = 0: forward KL
KL(p_T ‖ p_S), β = 1: reverse KL, between: the generalised JSD; "batchmean": the sum over the
vocabulary, the mean over the N rows; no τ² factor) and differentiates it with autograd, writing
OUT (safetensors) with, per case `b{β}_t{τ}`:

  loss.b{β}_t{τ}    [1]      the loss
  grad_z.b{β}_t{τ}  [N, V]   d loss / d z
  grad_h.b{β}_t{τ}  [N, D]   d loss / d h
  grad_w.b{β}_t{τ}  [V, D]   d loss / d w

Usage: trl_divergence.py IN OUT. Exit 2 on bad input (naming the file or tensor), 1 otherwise.
"""
import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file


def bad_input(msg):
    print(f"trl_divergence: {msg}", file=sys.stderr)
    sys.exit(2)


def trl_loss():
    """TRL's generalized_jsd_loss, from the module that ships it in this TRL release."""
    try:
        from trl.experimental.gkd import GKDTrainer  # TRL >= 0.24
    except ImportError:
        from trl import GKDTrainer  # older releases
    return GKDTrainer.generalized_jsd_loss


def case_name(beta, tau):
    return f"b{beta:g}_t{tau:g}"


def main():
    if len(sys.argv) != 3:
        bad_input("usage: trl_divergence.py IN OUT")
    src, dst = sys.argv[1:]
    if not os.path.isfile(src):
        bad_input(f"'{src}' does not exist")
    with safe_open(src, framework="pt") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    for key in ("h", "w", "teacher_logits"):
        if key not in tensors or tensors[key].dtype != torch.float64:
            bad_input(f"'{src}': expected a float64 tensor '{key}'")
    for key in ("betas", "temperatures"):
        if key not in meta:
            bad_input(f"'{src}': expected the metadata '{key}' (a JSON list of numbers)")
    h0, w0, teacher = tensors["h"], tensors["w"], tensors["teacher_logits"]
    if h0.dim() != 2 or w0.dim() != 2 or h0.shape[1] != w0.shape[1] or teacher.shape != (h0.shape[0], w0.shape[0]):
        bad_input(f"'{src}': expected h [N, D], w [V, D], teacher_logits [N, V]")
    loss_fn = trl_loss()
    out = {}
    for beta in json.loads(meta["betas"]):
        for tau in json.loads(meta["temperatures"]):
            h = h0.clone().requires_grad_(True)
            w = w0.clone().requires_grad_(True)
            z = h @ w.T
            z.retain_grad()
            loss = loss_fn(z, teacher, beta=beta, temperature=tau)
            loss.backward()
            name = case_name(beta, tau)
            out["loss." + name] = loss.detach().reshape(1)
            out["grad_z." + name] = z.grad.detach().contiguous()
            out["grad_h." + name] = h.grad.detach().contiguous()
            out["grad_w." + name] = w.grad.detach().contiguous()
    import trl

    save_file(out, dst, metadata={"trl_version": trl.__version__, "torch_version": torch.__version__})
    print(f"trl {trl.__version__}: {len(out) // 4} cases -> {dst}")


if __name__ == "__main__":
    main()
