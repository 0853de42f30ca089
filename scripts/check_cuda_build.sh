#!/usr/bin/env bash
# Compiles (syntax and warnings only, warnings as errors) every LibTorch translation unit and test
# as the CUDA build sees them — HLD_WITH_CUDA, USE_C10D_NCCL and the wheel's torch_cuda definitions —
# against the headers of the pinned PyTorch wheel in .venv/ (its CUDA runtime and NCCL packages ship
# the CUDA headers): the CUDA-only code is checked on a machine without a GPU or CUDA toolkit.
#   bash scripts/check_cuda_build.sh [FILE.cpp...]     (default: every LibTorch unit; logs in build-cuda-check/)
set -euo pipefail
cd "$(dirname "$0")/.."
py=${HLD_PYTHON:-.venv/bin/python}
site=$("$py" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
torch=$site/torch
dir=build-cuda-check
mkdir -p "$dir"
gloo=$(bash scripts/gloo_headers.sh "$torch")
# Headers the CUDA runtime headers include that CUDA 13 ships in packages of their own (not torch
# dependencies): crt/host_config.h and CCCL's nv/target, unpacked into .deps/cuda-headers, from
# the CUDA 13.0 line of requirements.txt's nvidia-cuda-* pins.
crt=.deps/cuda-headers
if [ ! -f "$crt/nvidia/cu13/include/crt/host_config.h" ] || [ ! -f "$crt/nvidia/cu13/include/nv/target" ]; then
  "$py" -m pip download --no-deps -q -d "$crt" nvidia-cuda-crt==13.0.88 nvidia-cuda-cccl==13.0.85
  "$py" -c "import glob, zipfile; [zipfile.ZipFile(w).extractall('$crt') for w in glob.glob('$crt/*.whl')]"
fi
ls "$crt"/nvidia/cu13/include >/dev/null
# The definitions a CMake build against the CUDA wheel gives: torch_cpu's and torch_cuda's own.
defs=$(awk -F'"' '/INTERFACE_COMPILE_DEFINITIONS "/ && !/TARGET_PROPERTY/ {n = split($2, d, ";"); for (i = 1; i <= n; i++) printf "-D%s=1 ", d[i]}' \
  "$torch/share/cmake/Caffe2/Caffe2Targets.cmake")
defs="$defs -DHLD_WITH_CUDA=1"
version=$("$py" -c "import importlib.metadata as m; print(m.version('torch'))")
echo "headers: torch $version (CUDA build); $defs"
areas=$(sed -n 's/^ *set(HLD_TORCH_AREAS \(.*\))$/\1/p' CMakeLists.txt)  # the LibTorch areas CMake builds
[ -n "$areas" ] || { echo "check_cuda_build: no HLD_TORCH_AREAS in CMakeLists.txt" >&2; exit 2; }
# and the LibTorch files of other areas CMakeLists.txt names one by one (HLD_IO_TORCH_SOURCES)
extra=$(sed -n 's/^ *set(HLD_IO_TORCH_SOURCES \(.*\))$/\1/p' CMakeLists.txt | sed 's|${CMAKE_SOURCE_DIR}/||g')
files=$(for a in $areas; do find "src/$a" "tests/$a" -name "*.cpp" 2>/dev/null | sort; done; echo $extra src/main.cpp)
[ $# -eq 0 ] || files="$*"
mkdir -p "$dir/fmt-first"
ln -sfn /usr/include/fmt "$dir/fmt-first/fmt"  # Debian's fmt ahead of the wheel's (cmake/HldTorch.cmake)
check() {
  local log
  log=$dir/$(echo "$1" | tr / _).log
  # shellcheck disable=SC2086
  g++ -std=gnu++17 -fsyntax-only -Wall -Wextra -Wno-unused-parameter -Werror -D_GLIBCXX_USE_CXX11_ABI=1 \
    -DFMT_SHARED -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -DSPDLOG_SHARED_LIB $defs -DHLD_SOURCE_DIR='"."' \
    -DHLD_TEST_ARTIFACTS='"."' -DHLD_TRAIN_BIN='"hld-train"' -Iinclude -Itests -I"$dir/fmt-first" \
    -isystem "$torch/include" -isystem "$torch/include/torch/csrc/api/include" -isystem "$gloo" \
    -isystem "$site/nvidia/cu13/include" -isystem "$crt/nvidia/cu13/include" -isystem "$site/nvidia/nccl/include" \
    "$1" > "$log" 2>&1
  if [ -s "$log" ]; then echo "FAIL $1"; head -20 "$log"; return 1; fi
  echo "ok   $1"
}
export -f check
export dir torch gloo site defs crt
n=$(echo "$files" | wc -w)
if echo "$files" | xargs -n1 -P"${JOBS:-$(nproc)}" bash -c 'check "$0"'; then
  echo "check_cuda_build: all $n files compile as the CUDA build (torch $version) without warnings"
else
  echo "check_cuda_build: failures above" >&2
  exit 1
fi
