#!/usr/bin/env bash
# The issue's numerical check, on the GPU machine after `bash scripts/gpu/build.sh`:
# 50 optimizer steps of the quickstart teacher (NLL) and of a KD student against it, each in bf16
# autocast on CUDA and in float32 on the CPU, same data, seed and initial weights; prints the largest
# relative difference of the per-step training loss (target: within 2 %). Logs under $OUT.
#   bash scripts/gpu/bf16_agreement.sh [build-cuda]
# (HLD_AGREE_DEVICE=cpu runs the second half on the CPU too: a check of this script itself.)
set -euo pipefail
cd "$(dirname "$0")/../.."
bdir=${1:-build-cuda}
out=${OUT:-/tmp}/bf16_agreement
[ -f "$bdir/env.sh" ] && source "$bdir/env.sh"
bin=$bdir/hld-train
mkdir -p "$out"
data=$out/data
[ -f "$data/tokenizer.model" ] || {
  (set +o pipefail; zcat third_party/corpus/train.jsonl.gz | head -n 3000 > "$out/subset.jsonl")
  "$bin" tokenizer train --input "$out/subset.jsonl" --vocab-size 1024 --out "$data/tokenizer" > "$out/tokenizer.log"
  "$bin" prepare --tokenizer "$data/tokenizer.model" --input "$out/subset.jsonl" \
    --valid-input third_party/corpus/valid.jsonl.gz --out "$data/shards" > "$out/prepare.log"
}
common=(--set "data.train=$data/shards/train" --set "data.valid=$data/shards/valid"
        --set "data.tokenizer=$data/tokenizer.model" --set model.vocab_size=1024
        --set budget.unit=tokens --set budget.amount=102400 --set run.log_every=1  # 50 steps of 16 x 128
        --set schedule.warmup_steps=5 --set run.seed=0)
"$bin" train configs/quickstart/teacher.yaml "${common[@]}" --set run.dir="$out/teacher" --set run.device=cpu \
  > "$out/teacher.log" 2>&1
for side in ref dev; do
  dev=cpu dtype=float32
  [ $side = dev ] && dev=${HLD_AGREE_DEVICE:-cuda}
  [ "$dev" != cpu ] && dtype=bfloat16
  "$bin" train configs/quickstart/teacher.yaml "${common[@]}" --set run.dir="$out/nll_$side" \
    --set run.device="$dev" --set run.dtype=$dtype > "$out/nll_$side.log" 2>&1
  "$bin" train configs/quickstart/student.yaml "${common[@]}" --set run.dir="$out/kd_$side" \
    --set objective.name=kd --set teacher.checkpoint="$out/teacher" --set teacher.source=online \
    --set run.device="$dev" --set run.dtype=$dtype > "$out/kd_$side.log" 2>&1
done
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
def losses(run):
    return {r["step"]: r["train/loss"] for r in map(json.loads, open(f"{out}/{run}/metrics.jsonl")) if "train/loss" in r}
worst = 0.0
for name in ("nll", "kd"):
    c, g = losses(f"{name}_ref"), losses(f"{name}_dev")
    steps = sorted(set(c) & set(g))
    d = max(abs(g[s] - c[s]) / abs(c[s]) for s in steps)
    worst = max(worst, d)
    print(f"{name}: {len(steps)} steps, loss {c[steps[0]]:.4f} -> {c[steps[-1]]:.4f} (CPU float32) vs "
          f"{g[steps[0]]:.4f} -> {g[steps[-1]]:.4f} (device), largest relative difference {100 * d:.2f} %")
print(f"bf16 vs float32 over 50 steps: {'PASS' if worst < 0.02 else 'FAIL'} (largest {100 * worst:.2f} %, target < 2 %)")
sys.exit(0 if worst < 0.02 else 1)
PY
