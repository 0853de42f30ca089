#!/usr/bin/env bash
# Compiles (syntax and warnings only, warnings as errors) every LibTorch translation unit and test
# against LibTorch 2.x headers from Debian's next release, unpacked (not installed) into a
# git-ignored folder: the LibTorch 2.x code paths (scaled_dot_product_attention, the autocast API by
# device, at::rms_norm, at::_fused_adamw_) are checked on a machine without a GPU.
#   bash scripts/check_torch2.sh [SUITE, default trixie]          libtorch-dev → build-torch2/
#   bash scripts/check_torch2.sh --cuda [SUITE]                    the CUDA build → build-cuda-check/
# --cuda compiles the CUDA build's code paths too (HLD_WITH_CUDA, USE_C10D_NCCL, the macros CMake
# defines against a CUDA LibTorch) against libtorch-cuda-dev (contrib), the CUDA headers
# (nvidia-cuda-dev, non-free, with the CCCL headers it depends on) and NCCL (libnccl-dev, contrib).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/debian_lib.sh
cuda=0
if [ "${1:-}" = --cuda ]; then
  cuda=1
  shift
fi
suite=${1:-trixie}
if [ $cuda = 1 ]; then
  dir=build-cuda-check
  debian_unpack "$dir" "$suite" libtorch-cuda-dev nvidia-cuda-dev libnccl-dev libcu++-dev libcub-dev libthrust-dev
else
  dir=build-torch2
  debian_unpack "$dir" "$suite" libtorch-dev
fi
inc=$dir/root/usr/include
# The macros a CMake build against this LibTorch defines: its targets' own (torch_cpu's
# USE_DISTRIBUTED, USE_C10D_GLOO, ...; torch_cuda's USE_C10D_NCCL) and, with torch_cuda,
# CMakeLists.txt's HLD_WITH_CUDA.
defs=$(awk -F'"' '/INTERFACE_COMPILE_DEFINITIONS "/ && !/TARGET_PROPERTY/ {n = split($2, d, ";"); for (i = 1; i <= n; i++) printf "-D%s=1 ", d[i]}' \
  "$dir"/root/usr/lib/*/cmake/Caffe2/Caffe2Targets.cmake)
[ $cuda = 0 ] || defs="$defs-DHLD_WITH_CUDA=1"
version=$(awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH) /{v = v (v ? "." : "") $3} END {print v}' \
  "$inc/torch/csrc/api/include/torch/version.h")
what="LibTorch $version"
if [ $cuda = 1 ]; then
  cudart=$(awk '/define CUDART_VERSION /{print $3}' "$inc/cuda_runtime_api.h")
  nccl=$(awk '/define NCCL_(MAJOR|MINOR|PATCH) /{v = v (v ? "." : "") $3} END {print v}' "$inc/nccl.h")
  what="$what (CUDA), CUDA runtime $cudart, NCCL $nccl"
fi
echo "headers: $what ($suite); $defs"
areas=$(sed -n 's/^ *set(HLD_TORCH_AREAS \(.*\))$/\1/p' CMakeLists.txt)  # the LibTorch areas CMake builds
[ -n "$areas" ] || { echo "check_torch2: no HLD_TORCH_AREAS in CMakeLists.txt" >&2; exit 2; }
# and the LibTorch files of other areas CMakeLists.txt names one by one (HLD_IO_TORCH_SOURCES)
extra=$(sed -n 's/^ *set(HLD_IO_TORCH_SOURCES \(.*\))$/\1/p' CMakeLists.txt | sed 's|${CMAKE_SOURCE_DIR}/||g')
files=$(for a in $areas; do find "src/$a" "tests/$a" -name "*.cpp" 2>/dev/null | sort; done; echo $extra src/main.cpp)
check() {
  local log
  log=$dir/$(echo "$1" | tr / _).log
  # shellcheck disable=SC2086
  g++ -std=gnu++17 -fsyntax-only -Wall -Wextra -Wno-unused-parameter -Werror -D_GLIBCXX_USE_CXX11_ABI=1 \
    -DFMT_SHARED -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -DSPDLOG_SHARED_LIB $defs -DHLD_SOURCE_DIR='"."' -DHLD_TEST_ARTIFACTS='"."' -DHLD_TRAIN_BIN='"hld-train"' \
    -Iinclude -Itests -isystem "$inc" -isystem "$inc/torch/csrc/api/include" "$1" > "$log" 2>&1
  if [ -s "$log" ]; then echo "FAIL $1"; head -20 "$log"; return 1; fi
  echo "ok   $1"
}
export -f check
export dir inc defs
n=$(echo "$files" | wc -w)
if echo "$files" | xargs -n1 -P"${JOBS:-$(nproc)}" bash -c 'check "$0"'; then
  echo "check_torch2: all $n files compile against $what without warnings"
else
  echo "check_torch2: failures above" >&2
  exit 1
fi
