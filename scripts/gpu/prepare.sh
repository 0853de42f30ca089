#!/usr/bin/env bash
# Run here, in the project's root, before a GPU machine call (it has no network): puts what the GPU
# machine lacks into git-ignored folders that the device call carries (`carry: [".gpu-deps", ".deps"]`):
# the Debian packages of the system libraries (.gpu-deps/*.deb; it has CUDA LibTorch 2.11 in its
# python torch, CMake, ninja, g++, nvcc) and gloo's headers matching torch 2.11 (.deps/gloo, the
# same as the CPU build's, scripts/gloo_headers.sh).
#   bash scripts/gpu/prepare.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/gloo_headers.sh "$(.venv/bin/python -c "import importlib.util as u, os; print(os.path.dirname(u.find_spec('torch').origin))")" >/dev/null
mkdir -p .gpu-deps
cd .gpu-deps
[ -n "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v lock)" ] || apt-get update -qq
apt-get download -qq libsentencepiece0 libsentencepiece-dev libyaml-cpp0.7 libyaml-cpp-dev libspdlog1.10 \
  libspdlog-dev libfmt9 libfmt-dev libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev googletest \
  zlib1g-dev libxxhash-dev libxxhash0 2>/dev/null
echo "ready: $(ls ./*.deb | wc -l) packages in .gpu-deps/ ($(du -sh . | cut -f1)), gloo headers in .deps/gloo"
