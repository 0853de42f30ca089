#!/usr/bin/env bash
# The paper's workload end to end on this CPU, with only the amount of work reduced, never a shape:
# a 32k-vocabulary tokenizer, shards at context 2048, the Gemma3-4B-shaped teacher (random weights)
# caching top-128 logits and its layer-17 states with every encoding, the 123M student trained a
# few steps with NLL, KD, HLDC and HLDF (both phases) from that cache at micro-batch 1 with gradient
# accumulation, a checkpoint and a resume, export-hf → import-hf → export-hf byte equality, eval on
# a few items of every task file format, and one 735M step (at context 1024: see that stage). Each stage prints its wall time and
# peak resident memory; train stages also print the resource estimator's figure (what
# `hld-train flops` reports, the trainer's resource check) and fail when it is more than 25 % off
# the measured peak. The resource checks stay on. Not part of CI (about an hour on 2 cores and
# 20 GiB of memory at its peak; 40 GB of disk under $SCALE_DIR).
#   bash scripts/scale_smoke.sh                  # everything, table in $SCALE_DIR/table.md
#   SCALE_STAGES="tokenizer prepare" bash scripts/scale_smoke.sh   # some stages (in order)
# Stages skip work whose output already exists, so a rerun resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${HLD_TRAIN:-build/hld-train}
work=${SCALE_DIR:-data/scale_smoke}
stages=${SCALE_STAGES:-"tokenizer prepare teacher cache student resume export eval student735"}
mkdir -p "$work/logs"
table=$work/table.md
[ -f "$table" ] || printf '| stage | wall s | peak RSS GiB | estimate GiB | estimate / peak |\n|---|---|---|---|---|\n' > "$table"

want() { [[ " $stages " == *" $1 "* ]]; }
gib() { awk -v b="$1" 'BEGIN {printf "%.2f", b / 1073741824}'; }

# run NAME CMD...: runs CMD under GNU time, logs to $work/logs/NAME.log, prints and records the row.
run() {
  local name=$1
  shift
  echo "== $name: $*"
  if ! /usr/bin/time -f '%e %M' -o "$work/logs/$name.time" "$@" > "$work/logs/$name.log" 2>&1; then
    tail -30 "$work/logs/$name.log"
    echo "scale_smoke: stage $name failed (log: $work/logs/$name.log)" >&2
    exit 1
  fi
  read -r wall rss_kb < <(tail -1 "$work/logs/$name.time")
  last_wall=$wall
  last_rss=$((rss_kb * 1024))
  printf '   %s s, peak RSS %s GiB\n' "$wall" "$(gib $last_rss)"
}

record() {  # record NAME [ESTIMATE_BYTES]
  local est=${2:-}
  if [ -n "$est" ]; then
    local ratio
    ratio=$(awk -v e="$est" -v m="$last_rss" 'BEGIN {printf "%.2f", e / m}')
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$last_wall" "$(gib $last_rss)" "$(gib "$est")" "$ratio" >> "$table"
    printf '   estimate %s GiB = %s x the measured peak\n' "$(gib "$est")" "$ratio"
    awk -v r="$ratio" 'BEGIN {exit !(r >= 0.75 && r <= 1.25)}' ||
      { echo "scale_smoke: $1: the memory estimate is more than 25 % off the measured peak" >&2; failures+=("$1"); }
  else
    printf '| %s | %s | %s | | |\n' "$1" "$last_wall" "$(gib $last_rss)" >> "$table"
  fi
}
failures=()

# The estimate (bytes) the trainer's resource check uses for a config: `flops --json`'s memory_estimate.
estimate() {
  "$bin" flops "$@" --json | awk '/"memory_estimate"/ {m = 1} m && /"total"/ {gsub(/[^0-9.e+]/, "", $2); print $2; exit}'
}

tok=$work/tokenizer_32k.model
shards=$work/shards
teacher=$work/teacher_4b
# The paper's 123M config with only the work reduced: batch 2 as 2 micro-batches of 1 sequence,
# a budget of 2 KD steps (HLDF: half of it in phase 1, so both phases run), local data and cache.
common=(--set "data.tokenizer=$tok" --set "data.train=$shards/train" --set "data.valid=$shards/valid"
  --set data.batch_size=2 --set data.grad_accum=2 --set budget.unit=steps --set budget.amount=2
  --set objective.p1=0.5 --set schedule.warmup_steps=1 --set schedule.hint_warmup_steps=1
  --set run.log_every=1 --set run.checkpoint_every=1000 --set run.eval_batches=2 --set run.dtype=float32
  --set "teacher.checkpoint=$teacher")
cfg123=configs/paper/student_123m_base.yaml

if want tokenizer && [ ! -f "$tok" ]; then
  run tokenizer "$bin" tokenizer train --input third_party/corpus/train.jsonl.gz --vocab-size 32000 \
    --out "${tok%.model}"
  record "tokenizer (32k unigram, embedded corpus)"
fi

if want prepare && [ ! -d "$shards/train" ]; then
  # The embedded corpus three times over (as three inputs) gives a few thousand 2048-token sequences.
  mkdir -p "$work/corpus"
  for i in 1 2 3; do ln -sf "$PWD/third_party/corpus/train.jsonl.gz" "$work/corpus/part$i.jsonl.gz"; done
  run prepare "$bin" prepare --tokenizer "$tok" --input "$work"/corpus/part{1,2,3}.jsonl.gz \
    --valid-input third_party/corpus/valid.jsonl.gz --out "$shards"
  record "prepare (3 x embedded corpus)"
fi

if want teacher && [ ! -f "$teacher/model.safetensors" ]; then
  run teacher "$bin" info configs/models/teacher_4b.yaml --write-init "$teacher" --seed 1
  record "teacher: random Gemma3-4B shape written ($(du -sh "$teacher" | cut -f1))"
fi

if want cache; then
  # bf16 logits + bf16 states for what the student runs below read; the 8-bit encodings for a
  # couple of sequences each (same teacher forward, other storage).
  for enc in "bf16 bf16" "logq8 dir8"; do
    set -- $enc
    dir=$work/cache_$1_$2
    [ -f "$dir/.done" ] && continue
    extra=()
    [ "$1" = bf16 ] || extra=(--sequences 2)
    run "cache_$1_$2" "$bin" cache-teacher "$cfg123" "${common[@]}" --set teacher.source=cache \
      --set "teacher.cache=$dir" --set "teacher.logits_encoding=$1" --set "teacher.hidden_encoding=$2" \
      --set objective.name=hldf --set "run.dir=$work/runs/cache" "${extra[@]}"
    record "cache-teacher 4B, logits $1, hidden $2 ($(du -sh "$dir" | cut -f1))"
    touch "$dir/.done"
  done
fi

cache=(--set teacher.source=cache --set "teacher.cache=$work/cache_bf16_bf16")
if want student; then
  for obj in nll kd hldc hldf; do
    dir=$work/runs/123m_$obj
    [ -f "$dir/.done" ] && continue
    rm -rf "$dir"
    sets=("${common[@]}" "${cache[@]}" --set "objective.name=$obj" --set "run.dir=$dir")
    est=$(estimate "$cfg123" "${sets[@]}")
    run "train_123m_$obj" "$bin" train "$cfg123" "${sets[@]}"
    record "train 123M $obj (2 steps of 2 x 2048, micro-batch 1)" "$est"
    touch "$dir/.done"
  done
fi

if want resume; then
  dir=$work/runs/123m_kd_resume
  if [ ! -f "$dir/.done" ]; then
    rm -rf "$dir"
    sets=("${common[@]}" "${cache[@]}" --set objective.name=kd --set "run.dir=$dir")
    run train_123m_kd_stop "$bin" train "$cfg123" "${sets[@]}" --stop-after-steps 1
    record "train 123M kd, stop after step 1 (checkpoint $(du -sh "$dir/checkpoints" | cut -f1))"
    run train_123m_kd_resume "$bin" train "$cfg123" "${sets[@]}"
    record "train 123M kd, resume to step 2"
    # The resumed run's step-2 losses equal the uninterrupted run's.
    a=$(grep -h '"step":2' "$work/runs/123m_kd/metrics.jsonl" | grep -o '"train/loss":[^,}]*' | head -1)
    b=$(grep -h '"step":2' "$dir/metrics.jsonl" | grep -o '"train/loss":[^,}]*' | head -1)
    echo "   uninterrupted $a, resumed $b"
    [ -n "$a" ] && [ "$a" = "$b" ] || { echo "scale_smoke: resumed loss differs" >&2; failures+=(resume); }
    touch "$dir/.done"
  fi
fi

if want export; then
  src=$work/runs/123m_hldf
  run export_hf "$bin" export-hf "$src" --out "$work/hf_123m"
  record "export-hf 123M"
  rm -rf "$work/hf_123m_imported" "$work/hf_123m_again"
  run import_hf "$bin" import-hf "$work/hf_123m" --out "$work/hf_123m_imported"
  record "import-hf 123M"
  run export_hf_again "$bin" export-hf "$work/hf_123m_imported" --out "$work/hf_123m_again"
  record "export-hf of the import"
  for f in "$work"/hf_123m/*.safetensors; do
    cmp "$f" "$work/hf_123m_again/$(basename "$f")" || { echo "scale_smoke: $f differs after import" >&2; failures+=(export); }
  done
  echo "   export → import → export: safetensors byte-identical"
fi

if want eval; then
  e=tests/data/eval
  run eval_123m "$bin" eval "$cfg123" "${common[@]}" --set "run.dir=$work/runs/123m_hldf" \
    --set eval.max_examples=3 --set eval.batch_size=2 --set "eval.tasks.c4=third_party/corpus/valid.jsonl.gz" \
    --set "eval.tasks.wikitext=$e/wiki.test.raw" --set "eval.tasks.hellaswag=$e/hellaswag_val.jsonl" \
    --set "eval.tasks.piqa=$e/piqa_valid.jsonl" --set "eval.piqa_labels=$e/piqa_valid-labels.lst" \
    --set "eval.tasks.arc_easy=$e/ARC-Easy-Test.jsonl" --set "eval.tasks.winogrande=$e/winogrande_dev.jsonl" \
    --set "eval.tasks.lambada=$e/lambada_test.jsonl" --out "$work/eval_123m.json"
  record "eval 123M, 3 items of each task format"
fi

if want student735; then
  # At context 2048 one 735M training process needs ~25 GiB on CPU in float32 (the estimate: weights
  # 2.7 + AdamW 8.2 + activations 13.4 GiB, eager attention keeping its T x T scores), more than
  # this 24 GiB machine: the resource check refuses it, naming the keys. The step runs here at
  # context 1024 (NLL: the cache holds 2048-token rows); at 2048 it needs activation checkpointing
  # (issue 21) or a GPU.
  dir=$work/runs/735m_nll_1024
  if [ ! -f "$dir/.done" ]; then
    rm -rf "$dir"
    sets=("${common[@]}" --set objective.name=nll --set budget.amount=1 --set data.context=1024 --set "run.dir=$dir")
    est=$(estimate configs/paper/student_735m_base.yaml "${sets[@]}")
    run train_735m_nll "$bin" train configs/paper/student_735m_base.yaml "${sets[@]}"
    record "train 735M nll (1 step of 2 x 1024, micro-batch 1)" "$est"
    touch "$dir/.done"
  fi
fi

cat "$table"
if [ ${#failures[@]} -gt 0 ]; then
  echo "scale_smoke: FAILED: ${failures[*]}" >&2
  exit 1
fi
echo "scale_smoke: ok"
