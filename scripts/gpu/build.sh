#!/usr/bin/env bash
# On the GPU machine, from the project's root (after scripts/gpu/prepare.sh here, with
# `carry: [".gpu-deps", ".deps"]`): unpacks the carried Debian packages into /opt/deps and builds
# with the same CMake as on CPU (cmake/HldTorch.cmake) against the machine's python torch — the
# version requirements.txt pins — which, with the machine's CUDA toolkit, is the CUDA build.
#   bash scripts/gpu/build.sh [build-cuda]
set -euo pipefail
cd "$(dirname "$0")/../.."
bdir=${1:-build-cuda}
if [ ! -d /opt/deps/usr ]; then
  mkdir -p /opt/deps
  for f in .gpu-deps/*.deb; do dpkg -x "$f" /opt/deps; done
fi
export LD_LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
want=$(sed -n 's/^torch==//p' requirements.txt)
have=$(python3 -c "import torch; print(torch.__version__.split('+')[0])")
[ "$have" = "$want" ] || echo "WARNING: this machine's torch is $have, requirements.txt pins $want"
cmake -B "$bdir" -S . -G Ninja -DCMAKE_BUILD_TYPE=Release -DHLD_PYTHON="$(command -v python3)" \
  -DCMAKE_PREFIX_PATH=/opt/deps/usr -DHLD_GLOO_INCLUDE_DIR="$PWD/.deps/gloo/root/usr/include" \
  -DCMAKE_CUDA_ARCHITECTURES=90 > "$bdir.configure.log" 2>&1 || { tail -40 "$bdir.configure.log"; exit 1; }
grep "LibTorch" "$bdir.configure.log"
time cmake --build "$bdir" -j"$(nproc)" 2>&1 | grep -E "error|warning: unused|FAILED" | head -60
[ -x "$bdir/hld-train" ] || { echo "build failed"; exit 1; }
echo "export LD_LIBRARY_PATH=$LD_LIBRARY_PATH" > "$bdir/env.sh"
echo "built: $bdir (source $bdir/env.sh before running its binaries)"
