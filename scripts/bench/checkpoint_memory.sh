#!/usr/bin/env bash
# Peak resident memory of training steps with and without activation checkpointing, measured with
# /usr/bin/time -v around `hld-train bench` (synthetic tokens, the run's own step). Default: the
# paper's 123M student, one micro-batch of 2 x 2048 tokens, NLL, one timed step after none untimed.
#   scripts/bench/checkpoint_memory.sh [CONFIG] [extra --set ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${HLD_TRAIN_BIN:-build/hld-train}
CONFIG=${1:-configs/paper/student_123m_base.yaml}
shift || true
SETS=(--set data.train= --set data.batch_size=2 --set data.grad_accum=1 --set data.context=2048
      --set objective.name=nll --set run.device=cpu --set run.check_resources=false "$@")
printf '| run.activation_checkpointing | max RSS (GiB) | step time (s) |\n|---|---:|---:|\n'
for mode in none blocks every_k; do
  log=$(mktemp)
  /usr/bin/time -v "$BIN" bench "$CONFIG" --steps 1 --warmup 0 --json "${SETS[@]}" \
    --set run.activation_checkpointing=$mode --set run.activation_checkpointing_k=2 >"$log" 2>&1 || {
    cat "$log" >&2
    exit 1
  }
  kb=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
  wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}')
  printf '| %s%s | %.2f | %s |\n' "$mode" "$([ $mode = every_k ] && echo ' (k=2)')" \
    "$(echo "$kb / 1048576" | bc -l)" "$wall"
  rm -f "$log"
done
