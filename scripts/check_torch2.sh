#!/usr/bin/env bash
# Compiles (syntax and warnings only) every LibTorch translation unit and test against LibTorch 2.x
# headers, from Debian's archive (the next release's libtorch-dev, unpacked into build-torch2/, not
# installed): the LibTorch 2.x code paths (scaled_dot_product_attention, the autocast API by device,
# at::rms_norm, at::_fused_adamw_) are checked on a machine without a GPU. The CUDA-only parts
# (HLD_WITH_CUDA) need the GPU machine's CUDA LibTorch: scripts/gpu/device_check.sh.
#   bash scripts/check_torch2.sh [SUITE, default trixie]
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-trixie}
# The archive this machine's apt already uses (deb822 *.sources, else one-line *.list / sources.list).
mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i !~ /security/) {print $i; exit}}')
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\// && $i !~ /security/) {print $i; exit}}')
fi
[ -n "$mirror" ] || { echo "check_torch2: no Debian archive found in /etc/apt/sources.list*" >&2; exit 2; }
mirror=${mirror%/}
dir=build-torch2
mkdir -p "$dir"
if [ ! -f "$dir/root/usr/include/torch/csrc/api/include/torch/version.h" ]; then
  curl -sf "$mirror/dists/$suite/main/binary-amd64/Packages.xz" -o "$dir/Packages.xz"
  deb=$(xz -dc "$dir/Packages.xz" | awk '/^Package: libtorch-dev$/{p=1} p && /^Filename:/{print $2; p=0}')
  [ -n "$deb" ] || { echo "check_torch2: no libtorch-dev in $suite" >&2; exit 2; }
  curl -sf "$mirror/$deb" -o "$dir/libtorch-dev.deb"
  dpkg -x "$dir/libtorch-dev.deb" "$dir/root"
fi
inc=$dir/root/usr/include
version=$(awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH) /{v = v (v ? "." : "") $3} END {print v}' \
  "$inc/torch/csrc/api/include/torch/version.h")
echo "LibTorch headers: $version ($suite)"
areas="runtime model hf objectives train teacher eval/scoring dist bench cli"
files=$(for a in $areas; do ls src/$a/*.cpp tests/$a/*.cpp 2>/dev/null; done; echo src/main.cpp)
check() {
  g++ -std=gnu++17 -fsyntax-only -Wall -Wextra -Wno-unused-parameter -D_GLIBCXX_USE_CXX11_ABI=1 \
    -DFMT_SHARED -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -DSPDLOG_SHARED_LIB -DUSE_C10D_GLOO=1 \
    -DUSE_DISTRIBUTED=1 -DHLD_SOURCE_DIR='"."' -DHLD_TEST_ARTIFACTS='"."' -DHLD_TRAIN_BIN='"hld-train"' \
    -Iinclude -Itests -isystem "$inc" -isystem "$inc/torch/csrc/api/include" "$1" > "$dir/$(echo "$1" | tr / _).log" 2>&1
  if [ -s "$dir/$(echo "$1" | tr / _).log" ]; then echo "FAIL $1"; head -20 "$dir/$(echo "$1" | tr / _).log"; return 1; fi
  echo "ok   $1"
}
export -f check
export dir inc
n=$(echo "$files" | wc -w)
if echo "$files" | xargs -n1 -P"$(nproc)" bash -c 'check "$0"'; then
  echo "check_torch2: all $n files compile against LibTorch $version without warnings"
else
  echo "check_torch2: failures above" >&2
  exit 1
fi
