#!/usr/bin/env bash
# On the GPU machine (see ../shared/gpu/README.md), after `bash scripts/gpu/build.sh`:
# hld-train bench and the Hugging Face peer on the same shape, in the same call, then the ratios.
#   bash scripts/gpu/bench_vs_hf.sh [build-cuda] [--compile]     (logs to $OUT when set)
set -euo pipefail
cd "$(dirname "$0")/../.."
bdir=${1:-build-cuda}
compile=${2:-}
out=${OUT:-/tmp}
# shellcheck source=/dev/null
source "$bdir/env.sh"
for obj in nll kd; do
  "$bdir/hld-train" bench configs/bench/gpu_123m.yaml --set objective.name=$obj --steps 20 --warmup 5 --json \
    > "$out/hld_$obj.json"
  python3 scripts/gpu/hf_peer.py --objective $obj --steps 20 --warmup 5 $compile > "$out/hf_$obj.json"
done
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
for obj in ("nll", "kd"):
    h = json.load(open(f"{out}/hld_{obj}.json")); p = json.loads(open(f"{out}/hf_{obj}.json").read().strip().splitlines()[-1])
    ht, pt = h["tokens_per_s"], p["tokens_per_s"]
    print(f"{obj}: hld-train {ht/1e3:.1f} k tok/s, C_data-MFU {100*h['mfu']['c_data']:.1f} %, peak {h['peak_memory_bytes']/2**30:.1f} GiB | "
          f"{p['peer']} {pt/1e3:.1f} k tok/s, peak {p['peak_memory_gib']:.1f} GiB | ratio {ht/pt:.2f}x")
PY
