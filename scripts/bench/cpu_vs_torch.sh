#!/usr/bin/env bash
# hld-train bench against a plain PyTorch (Python) loop training the same student on the same CPU,
# NLL and KD, alternating runs, then the ratio and both MFUs against the matrix-product peak that
# hld-train measures on this machine. The peer runs in the project's .venv (scripts/setup.sh): the same
# torch 2.11 whose LibTorch hld-train links.
#   bash scripts/bench/cpu_vs_torch.sh [BUILD_DIR] [--repeat N]
set -euo pipefail
cd "$(dirname "$0")/../.."
bdir=build repeat=3
while (($#)); do
  case $1 in
    --repeat) repeat=$2; shift 2 ;;
    *) bdir=$1; shift ;;
  esac
done
py=${HLD_PYTHON:-.venv/bin/python}
"$py" -c "import torch" 2>/dev/null || { echo "cpu_vs_torch: no torch in $py (run scripts/setup.sh)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
threads=$(nproc)
for obj in nll kd; do
  for ((i = 0; i < repeat; ++i)); do
    "$bdir/hld-train" bench configs/bench/cpu_d256.yaml --set objective.name=$obj --steps 20 --warmup 3 --json \
      > "$out/hld_${obj}_$i.json"
    "$py" scripts/bench/torch_peer.py --objective $obj --steps 20 --warmup 3 --threads "$threads" \
      > "$out/peer_${obj}_$i.json"
  done
done
"$py" - "$out" "$repeat" <<'PY'
import json, statistics, sys
out, n = sys.argv[1], int(sys.argv[2])
for obj in ("nll", "kd"):
    h = [json.load(open(f"{out}/hld_{obj}_{i}.json")) for i in range(n)]
    p = [json.load(open(f"{out}/peer_{obj}_{i}.json")) for i in range(n)]
    fl, peak = h[0]["flops_per_token"]["c_data"], h[0]["peak_flops"]
    for how, f in (("median", statistics.median), ("best", max)):
        ht, pt = f(r["tokens_per_s"] for r in h), f(r["tokens_per_s"] for r in p)
        print(f"{obj} ({how} of {n}): hld-train {ht / 1e3:.2f} k tok/s (C_data-MFU {100 * ht * fl / peak:.1f} %) | "
              f"{p[0]['peer']} {pt / 1e3:.2f} k tok/s ({100 * pt * fl / peak:.1f} %) | ratio {ht / pt:.2f}x")
print(f"{h[0]['threads']} threads, matrix-product peak {peak / 1e9:.1f} GFLOP/s (measured by hld-train on this machine)")
PY
