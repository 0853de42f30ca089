#!/usr/bin/env bash
# The paper's Table 1 grid for one student size: 3 NLL + 12 KD + 24 HLDC + 24 HLDF = 63 runs, each
# one `hld-train train configs/paper/student_SIZE_base.yaml --set ...` in its own run folder named
# from its hyper-parameters (RUNS_DIR/SIZE/kd_lr4e-4_a0.7_t0.5, ...).
#
#   scripts/paper_grid.sh 123m|735m [--dry-run] [--runs-dir DIR] [--jobs N] [--gpus 0,1,..]
#                         [--shard i/n] [--seeds 0,1,2] [--divergences "forward_kl jsd"]
#                         [--pairs "paper uniform"] [--logits "topk sampled"] [--set key=value ...]
#
#   η ∈ {1, 4, 16}×1e-4, τ ∈ {0.5, 1}, α ∈ {0.7, 0.9}, γ ∈ {0.1, 0.05},
#   P1 ∈ {1 %, 5 %} (123m) or {1 %, 4 %} (735m); HLDF uses η_HT = η.
#
# Finished runs (eval.json present) are skipped; interrupted ones resume from their checkpoint.
# --jobs N runs N at a time on this machine (--gpus pins one run per listed GPU); --shard i/n
# takes every n-th run starting at i, for n machines sharing RUNS_DIR. --seeds repeats the grid
# per seed (folders suffixed _sSEED) for the report's paired tests; --divergences / --pairs /
# --logits add distillation variants as in mini_grid.sh. --dry-run prints the exact
# commands. HLD_TRAIN overrides the binary (default build/hld-train). Then:
#   hld-train report RUNS_DIR/SIZE --compare-paper SIZE
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=sweep_lib.sh
. "$here/sweep_lib.sh"

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-2}"; }

size="" dry=0 runs_dir=runs/paper jobs=1 shard="" gpus="" seeds=0 divs=forward_kl pairs=paper logits=topk
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry=1 ;;
    --runs-dir) runs_dir=${2:?--runs-dir needs a value}; shift ;;
    --jobs) jobs=${2:?--jobs needs a value}; shift ;;
    --gpus) gpus=${2:?--gpus needs a value}; shift ;;
    --shard) shard=${2:?--shard needs a value}; shift ;;
    --seeds) seeds=${2:?--seeds needs a value}; shift ;;
    --divergences) divs=${2:?--divergences needs a value}; shift ;;
    --pairs) pairs=${2:?--pairs needs a value}; shift ;;
    --logits) logits=${2:?--logits needs a value}; shift ;;
    --set) extra+=("${2:?--set needs key=value}"); shift ;;
    -h|--help) usage 0 ;;
    -*) echo "paper_grid.sh: unknown option $1" >&2; usage 2 ;;
    *) [ -z "$size" ] || { echo "paper_grid.sh: one SIZE only" >&2; usage 2; }; size=$1 ;;
  esac
  shift
done

case ${size,,} in
  123m) size=123m p1s="0.01 0.05" ;;
  735m) size=735m p1s="0.01 0.04" ;;
  *) echo "paper_grid.sh: SIZE '$size': expected 123m or 735m" >&2; usage 2 ;;
esac
[[ $seeds =~ ^[0-9]+(,[0-9]+)*$ ]] || sweep_die "--seeds '$seeds': expected a comma-separated list of integers"

config="$here/../configs/paper/student_${size}_base.yaml"
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
grid_lines "1e-4 4e-4 1.6e-3" "0.5 1.0" "0.7 0.9" "0.1 0.05" "$p1s" | with_variants "$divs" "$pairs" "$logits" | with_seeds "$seeds" |
  sweep_run "$config" "$runs_dir/$size" "$jobs" "$shard" "$dry" "$gpus" "${extra[@]+"${extra[@]}"}"
