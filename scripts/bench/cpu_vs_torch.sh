#!/usr/bin/env bash
# hld-train on the CPU side by side with its PyTorch peers, training the same student (the shape of
# configs/bench/cpu_d256.yaml) at the same batch and thread count: a plain PyTorch loop, Hugging
# Face's Gemma3ForCausalLM eager and torch.compile'd, all in the project's .venv (the torch whose
# LibTorch hld-train links). NLL and KD from a cached top-k, float32 and bf16 (CPU autocast). Each
# repetition runs every configuration once, in turn, so drift on a shared machine hits all alike.
# Prints, per objective and dtype: the median tokens/s of each, its spread (min–max), MFU against
# the matrix-product peak of that dtype (measured by hld-train), hld-train's ratio to each peer
# (median of the per-repetition ratios), then bf16 against float32, and the issue's targets.
#   bash scripts/bench/cpu_vs_torch.sh [BUILD_DIR] [--repeat N] [--steps N] [--config YAML]
#                                      [--dtypes "float32 bfloat16"] [--objectives "nll kd"]
#                                      [--peers "plain hf hf-compile"] [--keep DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
bdir=build repeat=5 steps=20 warmup=3 config=configs/bench/cpu_d256.yaml keep=""
dtypes="float32 bfloat16" objectives="nll kd" peers="plain hf hf-compile"
while (($#)); do
  case $1 in
    --repeat) repeat=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --dtypes) dtypes=$2; shift 2 ;;
    --objectives) objectives=$2; shift 2 ;;
    --peers) peers=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -*) echo "cpu_vs_torch: unknown option $1" >&2; exit 2 ;;
    *) bdir=$1; shift ;;
  esac
done
py=${HLD_PYTHON:-.venv/bin/python}
"$py" -c "import torch, transformers" 2>/dev/null ||
  { echo "cpu_vs_torch: no torch/transformers in $py (run scripts/setup.sh)" >&2; exit 2; }
[[ -x $bdir/hld-train ]] || { echo "cpu_vs_torch: no $bdir/hld-train (build first)" >&2; exit 2; }
out=${keep:-$(mktemp -d)}
mkdir -p "$out"
[[ -n $keep ]] || trap 'rm -rf "$out"' EXIT
threads=$(nproc)
# The matrix peaks (float32, bf16) measured afresh by the first bench of each dtype in this run,
# under this run's conditions, not read from an older run's ~/.cache/hld-train/peak_flops.json.
mkdir -p "$out/home"
# The peers' shape from the config, so that every runner trains the same model.
shape=$("$py" - "$config" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
m, d = c["model"], c["data"]
print(f"--vocab {m['vocab_size']} --d {m['hidden_size']} --ff {m['intermediate_size']} --layers {m['num_layers']} "
      f"--heads {m['num_heads']} --kv-heads {m['num_kv_heads']} --head-dim {m['head_dim']} "
      f"--window {m['sliding_window']} --batch {d['batch_size']} --context {d['context']} "
      f"--top-k {c.get('objective', {}).get('top_k', 128)}")
PY
)
echo "cpu_vs_torch: $config, $threads threads, $repeat repetitions of $steps steps (+$warmup warm-up), $(date -u +%FT%TZ)"
for ((i = 0; i < repeat; ++i)); do
  for dt in $dtypes; do
    for obj in $objectives; do
      HOME=$out/home "$bdir/hld-train" bench "$config" --set objective.name="$obj" --set run.dtype="$dt" --steps "$steps" \
        --warmup "$warmup" --json > "$out/hld-train_${obj}_${dt}_$i.json"
      for peer in $peers; do
        # shellcheck disable=SC2086
        "$py" scripts/bench/torch_peer.py --impl "$peer" --objective "$obj" --dtype "$dt" --steps "$steps" \
          --warmup "$warmup" --threads "$threads" $shape > "$out/${peer}_${obj}_${dt}_$i.json" 2> "$out/${peer}.log" ||
          { echo "cpu_vs_torch: peer $peer failed ($obj, $dt):" >&2; tail -5 "$out/${peer}.log" >&2; exit 1; }
      done
    done
  done
  echo "  repetition $((i + 1))/$repeat done"
done
"$py" scripts/bench/summarize_peers.py "$out" "$repeat" "$dtypes" "$objectives" "$peers"
