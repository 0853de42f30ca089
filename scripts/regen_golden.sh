#!/usr/bin/env bash
# Rewrites the golden loss curves tests/golden/<objective>.jsonl from this tree's code: the
# Golden tests (tests/train/golden_test.cpp) train each objective for 20 CPU steps and, with
# HLD_REGEN_GOLDEN=1, write the files instead of comparing. Each runs in its golden environment
# (one thread, ATen's AVX2 kernels, MKL_CBWR=COMPATIBLE: the test sets it up itself).
#   bash scripts/regen_golden.sh [--teacher] [BUILD_DIR, default build]
# --teacher first retrains the committed teacher tests/golden/teacher (30 NLL steps of the tiny
# teacher's shape) that the teacher objectives distil from.
set -euo pipefail
cd "$(dirname "$0")/.."
teacher=0
if [ "${1:-}" = --teacher ]; then
  teacher=1
  shift
fi
build=${1:-build}
[ -x "$build/hld_tests" ] || { echo "regen_golden: $build/hld_tests not built (cmake --build $build)" >&2; exit 2; }
if [ $teacher = 1 ]; then
  "$build/hld_tests" --gtest_also_run_disabled_tests --gtest_filter='Golden.DISABLED_TrainTheTeacher'
fi
HLD_REGEN_GOLDEN=1 "$build/hld_tests" --gtest_filter='Golden.*'
# The comparison must pass on what was just written (and shows the run is deterministic).
"$build/hld_tests" --gtest_filter='Golden.*' >/dev/null
git --no-pager diff --stat -- tests/golden/ || true
cat <<'MSG'

REMINDER: a regenerated golden file is a changed expectation. Commit tests/golden/ with a message
saying which change moved the curves and why that change is legitimate (e.g. "init: std follows
HF Gemma 3; golden curves regenerated"). If you cannot say why, do not commit: find the cause.
MSG
