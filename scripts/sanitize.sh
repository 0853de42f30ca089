#!/usr/bin/env bash
# The unit and integration tests under AddressSanitizer + UndefinedBehaviorSanitizer: builds
# hld-train and hld_tests instrumented into build-asan/ (-DHLD_SANITIZE=ON, -O1 with line tables)
# and runs the whole ctest suite there. Any sanitizer report fails its test.
#
#   scripts/sanitize.sh [ctest arguments, e.g. -R Safetensors]
#
# JOBS sets the build and test parallelism (default: all cores). LibTorch itself is not
# instrumented; leak reports from inside its libraries are suppressed (scripts/sanitize.supp).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DHLD_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
supp=$PWD/scripts/sanitize.supp
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd build-asan
ctest -j"$jobs" --output-on-failure "$@"
