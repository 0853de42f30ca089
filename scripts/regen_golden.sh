#!/usr/bin/env bash
# Rewrites the golden loss curves tests/golden/{nll,kd,hldc,hldf}.jsonl from this tree's code: the
# Golden tests (tests/train/golden_test.cpp) train each objective for 20 CPU steps and, with
# HLD_REGEN_GOLDEN=1, write the files instead of comparing. Same thread count as under ctest.
#   bash scripts/regen_golden.sh [BUILD_DIR, default build]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -x "$build/hld_tests" ] || { echo "regen_golden: $build/hld_tests not built (cmake --build $build)" >&2; exit 2; }
OMP_NUM_THREADS=1 HLD_REGEN_GOLDEN=1 "$build/hld_tests" --gtest_filter='Golden.*'
# The comparison must pass on what was just written (and shows the run is deterministic).
OMP_NUM_THREADS=1 "$build/hld_tests" --gtest_filter='Golden.*' >/dev/null
git --no-pager diff --stat -- tests/golden/ || true
cat <<'MSG'

REMINDER: a regenerated golden file is a changed expectation. Commit tests/golden/ with a message
saying which change moved the curves and why that change is legitimate (e.g. "init: std follows
HF Gemma 3; golden curves regenerated"). If you cannot say why, do not commit: find the cause.
MSG
