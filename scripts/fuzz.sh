#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/: clang, -DHLD_FUZZ=ON) when needed and runs each for
# N seconds, then prints one line per target: executions, exec/s, coverage, result. Exit status 1
# when any target found a crash, hang, leak, sanitizer report or stray exception (the reproducer's
# path is in its line), 2 on bad arguments or a failed build. See docs/fuzzing.md.
#
#   scripts/fuzz.sh [--seconds N] [--jobs J] [TARGET...]     (CI: bash scripts/fuzz.sh --seconds 60)
#
# TARGET: safetensors_fuzz config_fuzz teacher_cache_fuzz shard_fuzz eval_tasks_fuzz (default: all).
# --jobs J runs J targets side by side (default 1). Corpora: each target reads the checked-in
# seeds fuzz/corpus/TARGET/ (never written) and build-fuzz/corpus/TARGET/, where new inputs go
# and which persists between runs. Logs: build-fuzz/fuzz-logs/TARGET.log; reproducers:
# build-fuzz/fuzz-artifacts/TARGET/. Reproduce one with: build-fuzz/fuzz/TARGET FILE
# Environment: HLD_FUZZ_BUILD (build dir, default build-fuzz), HLD_FUZZ_BUILD_JOBS (default 1),
# HLD_FUZZ_ARGS (extra libFuzzer flags).
set -uo pipefail

all_targets=(safetensors_fuzz config_fuzz teacher_cache_fuzz shard_fuzz eval_tasks_fuzz)
declare -A max_len=([safetensors_fuzz]=16384 [config_fuzz]=8192 [teacher_cache_fuzz]=32768
                    [shard_fuzz]=8192 [eval_tasks_fuzz]=16384)

usage() { echo "usage: $0 [--seconds N] [--jobs J] [TARGET...]" >&2; exit 2; }
seconds=60 jobs=1 targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [ $# -ge 2 ] || usage; seconds=$2; shift 2 ;;
    --jobs) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) usage ;;
    *) [ -n "${max_len[$1]:-}" ] || { echo "fuzz.sh: unknown target '$1' (known: ${all_targets[*]})" >&2; exit 2; }
       targets+=("$1"); shift ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --seconds '$seconds': expected a positive integer" >&2; exit 2; }
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --jobs '$jobs': expected a positive integer" >&2; exit 2; }
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

root=$(cd "$(dirname "$0")/.." && pwd)
build=${HLD_FUZZ_BUILD:-$root/build-fuzz}
if ! grep -q '^HLD_FUZZ:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (libFuzzer needs clang)" >&2; exit 2; }
  cmake -B "$build" -S "$root" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DHLD_FUZZ=ON -DHLD_BUILD_TESTS=OFF >/dev/null || { echo "fuzz.sh: cmake configure failed" >&2; exit 2; }
fi
cmake --build "$build" -j"${HLD_FUZZ_BUILD_JOBS:-1}" --target "${targets[@]}" >"$build/fuzz-build.log" 2>&1 ||
  { tail -30 "$build/fuzz-build.log" >&2; echo "fuzz.sh: build failed (log: $build/fuzz-build.log)" >&2; exit 2; }

# Readers that take a path read the input from a per-process scratch directory: keep it in memory.
[ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/fuzz-logs"

run_target() {
  local t=$1 corpus=$build/corpus/$1 art=$build/fuzz-artifacts/$1/ dict=$root/fuzz/dict/$1.dict
  mkdir -p "$corpus" "$art"
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="${max_len[$t]}"
              -print_final_stats=1 -artifact_prefix="$art")
  [ -f "$dict" ] && args+=(-dict="$dict")
  # New inputs go to the first corpus directory only; the checked-in seeds are read, never written.
  # shellcheck disable=SC2086
  "$build/fuzz/$t" "${args[@]}" ${HLD_FUZZ_ARGS:-} "$corpus" "$root/fuzz/corpus/$t" \
    </dev/null >"$build/fuzz-logs/$t.log" 2>&1
  echo $? >"$build/fuzz-logs/$t.rc"
}

start=$(date +%s)
running=0
for t in "${targets[@]}"; do
  run_target "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

failed=0
for t in "${targets[@]}"; do
  log=$build/fuzz-logs/$t.log rc=$(cat "$build/fuzz-logs/$t.rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
  corpus=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1)
  if [ "$rc" = 0 ]; then
    result=ok
  else
    failed=1
    kind=crash
    grep -q 'ERROR: libFuzzer: timeout' "$log" && kind=hang
    grep -q 'ERROR: LeakSanitizer' "$log" && kind=leak
    grep -q 'ERROR: libFuzzer: out-of-memory\|malloc(.*) exceeds limit' "$log" && kind=out-of-memory
    grep -q 'runtime error:' "$log" && kind=undefined-behaviour
    grep -q '==hld-fuzz== FINDING' "$log" && kind="finding ($(sed -n 's/^==hld-fuzz== FINDING: //p' "$log" | head -1 | cut -c1-120))"
    file=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    if [ -n "$file" ]; then
      result="FAILED: $kind, reproducer $file (log $log)"
    else  # libFuzzer itself stopped (bad flag, unreadable dictionary, ...)
      result="FAILED: exit status $rc, no reproducer: $(grep -v '^ *$' "$log" | tail -1 | cut -c1-100) (log $log)"
    fi
  fi
  printf '%-20s %5s s  execs %-10s exec/s %-6s %-18s %-14s %s\n' "$t" "${secs:-?}" "${execs:-?}" "${rate:-?}" \
    "${cov:-cov: ?}" "${corpus:-corp: ?}" "$result"
done
echo "fuzz.sh: ${#targets[@]} target(s), ${seconds} s each, $(($(date +%s) - start)) s wall"
exit $failed
