#!/usr/bin/env bash
# The whole study in miniature, on a CPU, from the embedded English corpus:
#   tokenizer → shards → teacher pre-training (NLL) → teacher cache → NLL, KD, HLDC and HLDF
#   students under one FLOPs budget → evaluation → the Table 2-style report.
# Every stage skips finished work and resumes after a crash; re-running is cheap.
#
#   scripts/quickstart.sh [--preset default|smoke|study] [--seeds N] [--out runs/quickstart]
#
# Presets: default (~6 min on 2 cores; vocab 4096, teacher 800k tokens, students 400k tokens
# each, the mini-grid's default points, one seed), study (the default grid with 3 seeds, so the
# report can state intervals over seeds; 14–20 min measured on 2 cores) and smoke (~2 min, for
# CI: vocab 1024, a corpus subset, small budgets, one run per method). --seeds N runs every grid
# point with seeds 0..N-1 (a seed changes the student's initialisation and data order; each seed
# gets its own teacher cache, because the cache holds the sequences that seed's runs read).
# HLD_TRAIN overrides the binary (default build/hld-train).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=default out=runs/quickstart seeds=""
while [ $# -gt 0 ]; do
  case $1 in
    --preset) preset=${2:?--preset needs default or smoke}; shift ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    --seeds) seeds=${2:?--seeds needs a number}; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quickstart: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
bin=${HLD_TRAIN:-build/hld-train}
[ -x "$bin" ] || { echo "quickstart: $bin not found; run scripts/setup.sh first" >&2; exit 2; }
data=$out/data
case $preset in
  default) vocab=4096 docs=0 teacher_tokens=8.0e5 student_tokens=4.0e5 grid=default preset_seeds=1 ;;
  study)   vocab=4096 docs=0 teacher_tokens=8.0e5 student_tokens=4.0e5 grid=default preset_seeds=3 ;;
  smoke)   vocab=1024 docs=4000 teacher_tokens=1.5e5 student_tokens=6.0e4 grid=smoke preset_seeds=1 ;;
  *) echo "quickstart: unknown preset '$preset' (default, study, smoke)" >&2; exit 2 ;;
esac
seeds=${seeds:-$preset_seeds}
[[ $seeds =~ ^[1-9][0-9]*$ ]] || { echo "quickstart: --seeds '$seeds': expected a positive integer" >&2; exit 2; }
seed_list=$(seq -s, 0 $((seeds - 1)))
stage() { printf '\n== %s\n' "$*"; }
t0=$(date +%s)

stage "1/6 data: tokenizer ($vocab pieces) and token shards"
mkdir -p "$data"
train_in=third_party/corpus/train.jsonl.gz
if [ "$docs" != 0 ]; then
  if [ ! -f "$data/train-subset.jsonl" ]; then
    # head closes the pipe early: zcat's SIGPIPE is expected here, so no pipefail for this line.
    (set +o pipefail; zcat "$train_in" | head -n "$docs" > "$data/train-subset.jsonl.tmp")
    mv "$data/train-subset.jsonl.tmp" "$data/train-subset.jsonl"
  fi
  train_in=$data/train-subset.jsonl
fi
[ -f "$data/tokenizer.model" ] || "$bin" tokenizer train --input "$train_in" --vocab-size "$vocab" \
  --out "$data/tokenizer"
"$bin" prepare --tokenizer "$data/tokenizer.model" --input "$train_in" \
  --valid-input third_party/corpus/valid.jsonl.gz --out "$data/shards"

common=(--set "data.train=$data/shards/train" --set "data.valid=$data/shards/valid"
        --set "data.tokenizer=$data/tokenizer.model" --set "model.vocab_size=$vocab"
        --set "eval.tasks.valid_shards=$data/shards/valid")
stage "2/6 teacher pre-training (NLL, $teacher_tokens tokens)"
"$bin" train configs/quickstart/teacher.yaml "${common[@]}" --set "run.dir=$out/teacher" \
  --set "budget.amount=$teacher_tokens"

# Held-out loss every 25 steps on 4 batches (the loss curves in the report; ~5 % of a student's
# compute), and one teacher cache per seed ({seed}: the run's seed).
student=(configs/quickstart/student.yaml "${common[@]}" --set "teacher.checkpoint=$out/teacher"
         --set "budget.amount=$student_tokens" --set run.eval_every=25 --set run.eval_batches=4)
cache_of() { echo "$out/teacher-cache-s$1"; }
stage "3/6 teacher cache (top-k logits + hint-layer states), $seeds seed(s)"
for s in ${seed_list//,/ }; do
  "$bin" cache-teacher "${student[@]}" --set "run.seed=$s" --set "teacher.cache=$(cache_of "$s")"
done

stage "4/6 students: NLL, KD, HLDC, HLDF under one FLOPs budget"
"$bin" flops "${student[@]}" --set objective.name=hldf --set "teacher.cache=$(cache_of 0)" | sed -n '1,40p'
sets=()
for i in "${!student[@]}"; do [ "$i" -eq 0 ] || sets+=("${student[$i]}"); done
HLD_TRAIN=$bin scripts/mini_grid.sh configs/quickstart/student.yaml --preset "$grid" --seeds "$seed_list" \
  --runs-dir "$out/students" "${sets[@]}" --set teacher.source=cache --set "teacher.cache=$(cache_of '{seed}')"

stage "5/6 evaluation"
[ "$out/teacher/eval.json" -nt "$out/teacher/checkpoints" ] ||
  "$bin" eval configs/quickstart/teacher.yaml "${common[@]}" --set "run.dir=$out/teacher" \
    --out "$out/teacher/eval.json" >/dev/null
for run in "$out"/students/*/; do
  [ -f "$run/eval.json" ] || "$bin" eval "$run/config.yaml" --out "$run/eval.json" >/dev/null
done

stage "6/6 report"
"$bin" report "$out"/students/*/ --teacher "$out/teacher" --out "$out/report" --teacher-cost full
echo
echo "done in $(( $(date +%s) - t0 )) s. Files:"
echo "  runs      $out/teacher, $out/students/*"
echo "  report    $out/report/ (Markdown, CSV, PNG figures)"
