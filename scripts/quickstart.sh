#!/usr/bin/env bash
# The whole study in miniature, on a CPU, from the embedded English corpus:
#   tokenizer → shards → teacher pre-training (NLL) → teacher cache → NLL, KD, HLDC and HLDF
#   students under one FLOPs budget → evaluation → the Table 2-style report.
# Every stage skips finished work and resumes after a crash; re-running is cheap.
#
#   scripts/quickstart.sh [--preset default|smoke|study] [--seeds N] [--out runs/quickstart]
#                         [--dtype float32|bfloat16] [--verbose]
#
# Presets: default (~3 min on 2 cores; vocab 4096, teacher 800k tokens, students 400k tokens
# each, the mini-grid's default points, one seed), study (the default grid with 3 seeds, so the
# report can state intervals over seeds; 14–20 min measured on 2 cores) and smoke (~2 min, for
# CI: vocab 1024, a corpus subset, small budgets, one run per method). --seeds N runs every grid
# point with seeds 0..N-1 (a seed changes the student's initialisation and data order; each seed
# gets its own teacher cache, because the cache holds the sequences that seed's runs read).
# The console shows the plan, one line per stage and per student run, and the result (the Table
# 2-style table, the verdicts, where report.md and the figures are); every command's full output
# goes to OUT/logs/<stage>.log (each student's to its run folder's sweep.log), and --verbose
# prints it here as well. --dtype sets run.dtype for the teacher, its cache and the students
# (bfloat16: CPU autocast, where the CPU has AVX512-BF16 or AMX; evaluation stays float32).
# HLD_TRAIN overrides the binary (default build/hld-train).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=default out=runs/quickstart seeds="" verbose=0 dtype=float32
while [ $# -gt 0 ]; do
  case $1 in
    --preset) preset=${2:?--preset needs default, study or smoke}; shift ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    --seeds) seeds=${2:?--seeds needs a number}; shift ;;
    --dtype) dtype=${2:?--dtype needs float32 or bfloat16}; shift ;;
    --verbose) verbose=1 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quickstart: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
bin=${HLD_TRAIN:-build/hld-train}
[ -x "$bin" ] || { echo "quickstart: $bin not found; run scripts/setup.sh first" >&2; exit 2; }
data=$out/data logs=$out/logs
case $preset in
  default) vocab=4096 docs=0 teacher_tokens=8.0e5 student_tokens=4.0e5 grid=default preset_seeds=1 ;;
  study)   vocab=4096 docs=0 teacher_tokens=8.0e5 student_tokens=4.0e5 grid=default preset_seeds=3 ;;
  smoke)   vocab=1024 docs=4000 teacher_tokens=1.5e5 student_tokens=6.0e4 grid=smoke preset_seeds=1 ;;
  *) echo "quickstart: unknown preset '$preset' (default, study, smoke)" >&2; exit 2 ;;
esac
seeds=${seeds:-$preset_seeds}
case $dtype in float32|bfloat16) ;; *) echo "quickstart: --dtype '$dtype': expected float32 or bfloat16" >&2; exit 2 ;; esac
[[ $seeds =~ ^[1-9][0-9]*$ ]] || { echo "quickstart: --seeds '$seeds': expected a positive integer" >&2; exit 2; }
seed_list=$(seq -s, 0 $((seeds - 1)))
mkdir -p "$data" "$logs"
t0=$(date +%s) t_stage=$t0 open=0

# stage "i/6 what": the stage's line. Quiet, the line stays open for the stage's time ("12 s");
# break_line ends it first when something is printed under it (a run, a warning).
stage() {
  t_stage=$(date +%s)
  if [ "$verbose" = 1 ]; then printf '\n== %s\n' "$*"; else printf '[%s] %s ...' "${1%% *}" "${*#* }"; fi
  open=1
}
break_line() { if [ "$open" = 1 ] && [ "$verbose" = 0 ]; then echo; fi; open=0; }
stage_done() {
  [ "$verbose" = 1 ] && return
  if [ "$open" = 1 ]; then printf ' %s s\n' "$(( $(date +%s) - t_stage ))"; else
    printf '      (%s s)\n' "$(( $(date +%s) - t_stage ))"; fi
  open=0
}

# step LOG CMD...: runs CMD with its output appended to $logs/LOG (and shown with --verbose).
# Quiet, the warnings and errors it logged are repeated here, and a failure shows the log's end.
step() {
  local log=$logs/$1 rc=0 before
  shift
  echo "== $(date -u +%FT%TZ) $*" >> "$log"
  if [ "$verbose" = 1 ]; then
    "$@" 2>&1 | tee -a "$log" || rc=${PIPESTATUS[0]}
    return "$rc"
  fi
  before=$(wc -l < "$log")
  "$@" >> "$log" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    break_line
    tail -n 25 "$log" | sed 's/^/  | /' >&2
    echo "quickstart: '$*' failed (exit $rc); full log: $log" >&2
    exit "$rc"
  fi
  local warned
  warned=$(tail -n "+$((before + 1))" "$log" | grep -E '\[(warning|error|critical)\]' || true)
  if [ -n "$warned" ]; then break_line; echo "$warned" | sed 's/^/  /'; fi
}

train_in=third_party/corpus/train.jsonl.gz
common=(--set "data.train=$data/shards/train" --set "data.valid=$data/shards/valid"
        --set "data.tokenizer=$data/tokenizer.model" --set "model.vocab_size=$vocab"
        --set "eval.tasks.valid_shards=$data/shards/valid" --set "run.dtype=$dtype")
# Held-out loss every 25 steps on 4 batches (the loss curves in the report; ~5 % of a student's
# compute), and one teacher cache per seed ({seed}: the run's seed).
student=(configs/quickstart/student.yaml "${common[@]}" --set "teacher.checkpoint=$out/teacher"
         --set "budget.amount=$student_tokens" --set run.eval_every=25 --set run.eval_batches=4)
cache_of() { echo "$out/teacher-cache-s$1"; }
sets=()
for i in "${!student[@]}"; do [ "$i" -eq 0 ] || sets+=("${student[$i]}"); done
grid_args=(configs/quickstart/student.yaml --preset "$grid" --seeds "$seed_list" --runs-dir "$out/students"
           "${sets[@]}" --set teacher.source=cache --set "teacher.cache=$(cache_of '{seed}')")
n_runs=$(HLD_TRAIN=$bin scripts/mini_grid.sh "${grid_args[@]}" --dry-run 2>/dev/null | grep -vc '^#' || true)

echo "quickstart: preset $preset, $n_runs student runs: NLL, KD, HLDC, HLDF at the mini-grid's $grid points" \
     "($((n_runs / seeds)) runs) × $seeds seed(s); vocabulary $vocab; $dtype"
# Every student's budget in FLOPs, from the budget plan (`hld-train flops`, NLL: needs no teacher).
budget_flops=$("$bin" flops configs/quickstart/student.yaml "${common[@]}" --set "budget.amount=$student_tokens" \
  --set objective.name=nll 2>/dev/null | sed -n 's/^budget .* = \([0-9,]*\) FLOPs.*/\1/p' || true)
echo "  teacher: NLL pre-training on $teacher_tokens tokens; every student: ${budget_flops:-the} FLOPs" \
     "(what NLL spends on $student_tokens tokens)"
if [ "$verbose" = 1 ]; then echo "  output:  $out (full logs in $logs/)"; else
  echo "  output:  $out (full logs in $logs/; --verbose shows them here)"; echo; fi

stage "1/6 data: tokenizer ($vocab pieces) and token shards"
if [ "$docs" != 0 ]; then
  if [ ! -f "$data/train-subset.jsonl" ]; then
    # head closes the pipe early: zcat's SIGPIPE is expected here, so no pipefail for this line.
    (set +o pipefail; zcat "$train_in" | head -n "$docs" > "$data/train-subset.jsonl.tmp")
    mv "$data/train-subset.jsonl.tmp" "$data/train-subset.jsonl"
  fi
  train_in=$data/train-subset.jsonl
fi
[ -f "$data/tokenizer.model" ] || step data.log "$bin" tokenizer train --input "$train_in" --vocab-size "$vocab" \
  --out "$data/tokenizer"
step data.log "$bin" prepare --tokenizer "$data/tokenizer.model" --input "$train_in" \
  --valid-input third_party/corpus/valid.jsonl.gz --out "$data/shards"
stage_done

stage "2/6 teacher pre-training (NLL, $teacher_tokens tokens)"
step teacher.log "$bin" train configs/quickstart/teacher.yaml "${common[@]}" --set "run.dir=$out/teacher" \
  --set "budget.amount=$teacher_tokens"
stage_done

stage "3/6 teacher cache (top-k logits + hint-layer states), $seeds seed(s)"
for s in ${seed_list//,/ }; do
  step "teacher-cache-s$s.log" "$bin" cache-teacher "${student[@]}" --set "run.seed=$s" \
    --set "teacher.cache=$(cache_of "$s")"
done
stage_done

stage "4/6 students: NLL, KD, HLDC, HLDF under one FLOPs budget"
# The budget plan (per-token costs, tokens and steps per phase) of the most involved objective.
if [ "$verbose" = 1 ]; then
  "$bin" flops "${student[@]}" --set objective.name=hldf --set "teacher.cache=$(cache_of 0)" | tee "$logs/plan.log" |
    sed -n '1,40p'
else
  : > "$logs/plan.log"
  step plan.log "$bin" flops "${student[@]}" --set objective.name=hldf --set "teacher.cache=$(cache_of 0)"
fi
# mini_grid prints one line per run (start, done, skip, FAIL); each run's output is in its sweep.log.
if [ "$verbose" = 1 ]; then
  HLD_TRAIN=$bin scripts/mini_grid.sh "${grid_args[@]}"
else
  break_line
  HLD_TRAIN=$bin scripts/mini_grid.sh "${grid_args[@]}" 2>&1 | grep --line-buffered -v '^start ' | sed -u 's/^/      /'
fi
stage_done

stage "5/6 evaluation"
[ "$out/teacher/eval.json" -nt "$out/teacher/checkpoints" ] ||
  step eval.log "$bin" eval configs/quickstart/teacher.yaml "${common[@]}" --set "run.dir=$out/teacher" \
    --out "$out/teacher/eval.json"
for run in "$out"/students/*/; do
  [ -f "$run/eval.json" ] || step eval.log "$bin" eval "$run/config.yaml" --out "$run/eval.json"
done
stage_done

stage "6/6 report"
report=("$bin" report "$out"/students/*/ --teacher "$out/teacher" --out "$out/report" --teacher-cost full)
if [ "$verbose" = 1 ]; then
  "${report[@]}" 2>&1 | tee "$logs/report.log"
else
  # The result is what `report` prints before its list of files: the Table 2-style table and the
  # verdicts (report.out); its log messages go to report.log and its warnings to the console.
  rc=0
  "${report[@]}" > "$logs/report.out" 2> "$logs/report.log" || rc=$?
  if [ "$rc" != 0 ]; then
    break_line
    sed 's/^/  | /' "$logs/report.log" >&2
    echo "quickstart: report failed (exit $rc); full log: $logs/report.log" >&2
    exit "$rc"
  fi
  if grep -qE '\[(warning|error|critical)\]' "$logs/report.log"; then
    break_line
    grep -E '\[(warning|error|critical)\]' "$logs/report.log" | sed 's/^/  /'
  fi
  stage_done
  echo
  sed '/^[0-9]* runs ([0-9]* evaluated)\. Wrote:$/,$d' "$logs/report.out"
fi
echo "report:  $out/report/report.md"
figs=("$out"/report/figures/*.png)
if [ -e "${figs[0]}" ]; then printf 'figure:  %s\n' "${figs[@]}"; fi
echo "done in $(( $(date +%s) - t0 )) s; runs in $out/teacher and $out/students/, logs in $logs/"
