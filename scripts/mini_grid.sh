#!/usr/bin/env bash
# The Table 1 grid in miniature, over any base experiment config (the quickstart's tiny student):
# NLL per η, KD per (η, τ, α), HLDC per (η, τ, α, γ), HLDF per (η, τ, α, P1), each one
# `hld-train train BASE --set ...` in RUNS_DIR/<name>, with the same skip/resume/parallel/shard
# behaviour as paper_grid.sh.
#
#   scripts/mini_grid.sh BASE_CONFIG [--preset smoke|default] [--dry-run] [--runs-dir DIR]
#                        [--jobs N] [--gpus 0,1,..] [--shard i/n] [--seeds 0,1]
#                        [--lrs "1e-3 3e-3"] [--taus "1.0"] [--alphas "0.5 0.9"]
#                        [--gammas "0.1"] [--p1s "0.1"] [--divergences "forward_kl reverse_kl"]
#                        [--pairs "paper uniform"] [--logits "topk sampled"] [--set key=value ...]
#
# --divergences repeats every KD/HLDC/HLDF point per logit divergence (forward_kl is the paper's;
# others get a _NAME suffix), --pairs every HLDC/HLDF point per hidden-layer preset (paper: one
# D_S/2 ↔ D_T/2 pair; uniform: every student block, suffix _uniform), --logits every distilled
# point per kind of teacher logits (topk is the paper's; sampled: suffix _sampled, forward KL
# only; "{logits}" in a --set value names the kind, for a cache of each). See docs/objectives.md.
#
# Presets (value lists; any list option overrides its preset):
#   smoke    η {3e-3}, τ {1.0}, α {0.5}, γ {0.1}, P1 {0.1}            →  4 runs (one per method)
#   default  η {1e-3, 3e-3}, τ {1.0}, α {0.5, 0.9}, γ {0.1}, P1 {0.1}  → 14 runs
# The budget, data and teacher come from BASE_CONFIG (one FLOPs budget for every run).
# HLD_TRAIN overrides the binary (default build/hld-train). Then: hld-train report RUNS_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=sweep_lib.sh
. "$here/sweep_lib.sh"

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-2}"; }

config="" preset=default dry=0 runs_dir=runs/mini jobs=1 shard="" gpus="" seeds=0 divs=forward_kl pairs=paper logits=topk
lrs="" taus="" alphas="" gammas="" p1s=""
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --preset) preset=${2:?--preset needs a value}; shift ;;
    --dry-run) dry=1 ;;
    --runs-dir) runs_dir=${2:?--runs-dir needs a value}; shift ;;
    --jobs) jobs=${2:?--jobs needs a value}; shift ;;
    --gpus) gpus=${2:?--gpus needs a value}; shift ;;
    --shard) shard=${2:?--shard needs a value}; shift ;;
    --seeds) seeds=${2:?--seeds needs a value}; shift ;;
    --divergences) divs=${2:?--divergences needs a value}; shift ;;
    --pairs) pairs=${2:?--pairs needs a value}; shift ;;
    --logits) logits=${2:?--logits needs a value}; shift ;;
    --lrs) lrs=${2:?}; shift ;;
    --taus) taus=${2:?}; shift ;;
    --alphas) alphas=${2:?}; shift ;;
    --gammas) gammas=${2:?}; shift ;;
    --p1s) p1s=${2:?}; shift ;;
    --set) extra+=("${2:?--set needs key=value}"); shift ;;
    -h|--help) usage 0 ;;
    -*) echo "mini_grid.sh: unknown option $1" >&2; usage 2 ;;
    *) [ -z "$config" ] || { echo "mini_grid.sh: one BASE_CONFIG only" >&2; usage 2; }; config=$1 ;;
  esac
  shift
done
[ -n "$config" ] || { echo "mini_grid.sh: BASE_CONFIG is required" >&2; usage 2; }

case $preset in
  smoke)   : "${lrs:=3e-3}" "${taus:=1.0}" "${alphas:=0.5}" "${gammas:=0.1}" "${p1s:=0.1}" ;;
  default) : "${lrs:=1e-3 3e-3}" "${taus:=1.0}" "${alphas:=0.5 0.9}" "${gammas:=0.1}" "${p1s:=0.1}" ;;
  *) sweep_die "--preset '$preset': expected smoke or default" ;;
esac
[[ $seeds =~ ^[0-9]+(,[0-9]+)*$ ]] || sweep_die "--seeds '$seeds': expected a comma-separated list of integers"
for v in $lrs $taus $alphas $gammas $p1s; do
  [[ $v =~ ^[0-9.eE+-]+$ ]] || sweep_die "grid value '$v' is not a number"
done

grid_lines "$lrs" "$taus" "$alphas" "$gammas" "$p1s" | with_variants "$divs" "$pairs" "$logits" | with_seeds "$seeds" |
  sweep_run "$config" "$runs_dir" "$jobs" "$shard" "$dry" "$gpus" "${extra[@]+"${extra[@]}"}"
