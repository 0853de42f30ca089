#!/usr/bin/env python3
"""The table of scripts/bench/cpu_vs_torch.sh from its JSON files (one per runner, objective, dtype
and repetition): medians, spreads, MFU against the dtype's peak, ratios and the issue's targets.
  summarize_peers.py DIR REPEAT "DTYPES" "OBJECTIVES" "PEERS"
"""
import json
import statistics
import sys

out, n = sys.argv[1], int(sys.argv[2])
dtypes, objectives, peers = sys.argv[3].split(), sys.argv[4].split(), sys.argv[5].split()
names = {"plain": "plain PyTorch", "hf": "HF Gemma3 eager", "hf-compile": "HF Gemma3 compiled"}


def load(runner, obj, dt):
    return [json.load(open(f"{out}/{runner}_{obj}_{dt}_{i}.json")) for i in range(n)]


def tps(runs):
    return [r["tokens_per_s"] for r in runs]


median_hld = {}
for obj in objectives:
    for dt in dtypes:
        h = load("hld-train", obj, dt)
        fl, peak = h[0]["flops_per_token"]["c_data"], h[0]["peak_flops"]
        print(f"\n{obj.upper()} {dt} — C_data {fl / 1e6:.1f} MFLOP/token, {dt} matrix peak {peak / 1e9:.0f} GFLOP/s")
        print(f"  {'runner':<22}{'k tok/s':>9}{'spread':>16}{'MFU':>8}{'hld-train ×':>13}")
        rows = [("hld-train", h)] + [(names.get(p, p), load(p, obj, dt)) for p in peers]
        median_hld[(obj, dt)] = statistics.median(tps(h))
        for name, runs in rows:
            t = tps(runs)
            med = statistics.median(t)
            ratio = "" if name == "hld-train" else f"{statistics.median(a / b for a, b in zip(tps(h), t)):.2f}"
            print(f"  {name:<22}{med / 1e3:9.2f}{f'{min(t) / 1e3:.2f}–{max(t) / 1e3:.2f}':>16}"
                  f"{100 * med * fl / peak:7.1f}%{ratio:>13}")
        loss = [r["loss"] for r in h]
        print(f"  hld-train's last loss {statistics.median(loss):.4f} (synthetic tokens)")

if "float32" in dtypes and "bfloat16" in dtypes:
    print()
    for obj in objectives:
        b, f = tps(load("hld-train", obj, "bfloat16")), tps(load("hld-train", obj, "float32"))
        print(f"hld-train {obj.upper()}: bf16 / float32 tokens/s {statistics.median(x / y for x, y in zip(b, f)):.2f}×")

print("\ntargets (medians):")
for obj, mfu_target in (("nll", 0.80), ("kd", 0.75)):
    if obj not in objectives:
        continue
    for dt in dtypes:
        h = load("hld-train", obj, dt)
        if "hf-compile" in peers:
            r = statistics.median(a / b for a, b in zip(tps(h), tps(load("hf-compile", obj, dt))))
            print(f"  {obj.upper()} {dt}: ≥ 1.5× compiled HF: {r:.2f}× {'met' if r >= 1.5 else 'MISSED'}")
    if "float32" in dtypes:
        h = load("hld-train", obj, "float32")
        m = statistics.median(r["mfu"]["c_data"] for r in h)
        print(f"  {obj.upper()} float32 MFU ≥ {100 * mfu_target:.0f} %: {100 * m:.1f} % "
              f"{'met' if m >= mfu_target else 'MISSED'}")
    if "float32" in dtypes and "bfloat16" in dtypes:
        b, f = tps(load("hld-train", obj, "bfloat16")), tps(load("hld-train", obj, "float32"))
        r = statistics.median(x / y for x, y in zip(b, f))
        print(f"  {obj.upper()} bf16 ≥ 1.5× float32: {r:.2f}× {'met' if r >= 1.5 else 'MISSED'}")
h = load("hld-train", objectives[0], dtypes[0])[0]
print(f"\n{h['threads']} threads; matrix peaks measured by hld-train in this run (best of 5 products of 2048²)")
