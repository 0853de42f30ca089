#!/usr/bin/env bash
# Checks the C++ formatting (scripts/format.sh --check) and the include graph
# (scripts/check_layers.py: no cycle between areas, no LibTorch in the torch-free core), then runs
# the whole test suite (unit + integration) with CTest on the build from scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${HLD_BUILD_DIR:-build}
bash scripts/format.sh --check  # the C++ sources follow .clang-format (clang-format 14)
python3 scripts/check_layers.py  # docs/architecture.md, "Areas"
bash scripts/npm_deps.sh "$build" || true  # the tokenizers check of exported models (no-op when present)
ctest --test-dir "$build" --output-on-failure -j"${HLD_TEST_JOBS:-2}" --timeout 900 "$@"
