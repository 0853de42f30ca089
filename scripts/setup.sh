#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for hld-train and builds it (Release) into build/.
# Idempotent: installs only what is missing, reconfigures only when needed.
#   bash scripts/setup.sh            # packages + .venv + build
#   HLD_BUILD_DIR=out bash scripts/setup.sh
# - Debian's archive: the compiler, CMake and the system libraries (SentencePiece, yaml-cpp,
#   nlohmann-json, spdlog, CLI11, GoogleTest, zlib, xxHash, gnuplot).
# - PyPI, into the project-local virtual environment .venv/ (git-ignored): requirements.txt,
#   pinned; its torch wheel is the LibTorch the build links (cmake/HldTorch.cmake).
# - Gloo's headers matching that wheel, unpacked into .deps/ (scripts/gloo_headers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake git ccache pkg-config curl xz-utils binutils clang-format python3 python3-venv
          libsentencepiece-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev
          libcli11-dev libgtest-dev libgmock-dev zlib1g-dev libxxhash-dev gnuplot-nox)
# Node.js + npm for the tokenizer.json check: Debian's, unless a node with npm is already there (a
# NodeSource nodejs bundles npm and conflicts with Debian's npm package).
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
# A python3 that is not Debian's (pyenv, say) brings its own venv module.
python3 -c "import venv, ensurepip" 2>/dev/null && packages=("${packages[@]/python3-venv/}")
missing=()
for p in "${packages[@]}"; do
  [ -n "$p" ] || continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The virtual environment, reinstalled only when requirements.txt changed.
venv=${HLD_VENV:-.venv}
stamp="$venv/.requirements.sha256"
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  echo "[setup] installing requirements.txt into $venv/ (the PyTorch wheel is ~530 MB, its CUDA runtime ~3 GB)"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi
torch_dir=$("$venv/bin/python" -c "import importlib.util as u, os; print(os.path.dirname(u.find_spec('torch').origin))")
gloo=$(bash scripts/gloo_headers.sh "$torch_dir")

build=${HLD_BUILD_DIR:-build}
jobs=${HLD_JOBS:-$(nproc)}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHLD_PYTHON="$PWD/$venv/bin/python" -DHLD_TORCH_DIR="$torch_dir" \
  -DHLD_GLOO_INCLUDE_DIR="$gloo" >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
echo "[setup] building into $build/ (-j$jobs)"
cmake --build "$build" -j"$jobs" 2>&1 | grep -E "error|warning: unused|Error" || true
test -x "$build/hld-train" || { echo "[setup] build failed"; cmake --build "$build" -j1; exit 1; }
# npm packages the tests use (Hugging Face's tokenizers, to check exported tokenizer.json files).
bash scripts/npm_deps.sh "$build" || true
echo "[setup] ready: $build/hld-train ($("$build/hld-train" --version))"
