#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for hld-train and builds it (Release) into build/.
# Idempotent: installs only missing packages, reconfigures only when needed.
#   bash scripts/setup.sh            # packages + build
#   HLD_BUILD_DIR=out bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake git ccache pkg-config
          libtorch-dev libsentencepiece-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev
          libcli11-dev libgtest-dev libgmock-dev libgloo-dev zlib1g-dev libxxhash-dev libopenblas0-openmp gnuplot-nox)
# Node.js + npm for the tokenizer.json check: Debian's, unless a node with npm is already there (a
# NodeSource nodejs bundles npm and conflicts with Debian's npm package).
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${HLD_BUILD_DIR:-build}
jobs=${HLD_JOBS:-$(nproc)}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
echo "[setup] building into $build/ (-j$jobs)"
cmake --build "$build" -j"$jobs" 2>&1 | grep -E "error|warning: unused|Error" || true
test -x "$build/hld-train" || { echo "[setup] build failed"; cmake --build "$build" -j1; exit 1; }
# npm packages the tests use (Hugging Face's tokenizers, to check exported tokenizer.json files).
bash scripts/npm_deps.sh "$build" || true
echo "[setup] ready: $build/hld-train ($("$build/hld-train" --version))"
