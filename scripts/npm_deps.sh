#!/usr/bin/env bash
# Installs the npm packages the tests use into $BUILD/npm (git-ignored): Hugging Face's
# `tokenizers` Node bindings, the independent reader of exported tokenizer.json files
# (tests/hf/tokenizers_check.js). Idempotent; offline it falls back to npm's cache, and without
# either it warns and leaves the tokenizers test to fail with the reason.
#   bash scripts/npm_deps.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
TOKENIZERS_VERSION=0.23.2
dir="${1:-${HLD_BUILD_DIR:-build}}/npm"
have() { [ -f "$dir/node_modules/tokenizers/package.json" ] &&
         grep -q "\"version\": \"$TOKENIZERS_VERSION\"" "$dir/node_modules/tokenizers/package.json"; }
have && exit 0
if ! command -v npm >/dev/null; then
  echo "[npm-deps] npm not found (Debian packages nodejs npm: scripts/setup.sh installs them)" >&2
  exit 0
fi
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"name": "hld-train-test-deps", "private": true}' > "$dir/package.json"
if npm install --prefix "$dir" --no-audit --no-fund --prefer-offline --loglevel=error \
     "tokenizers@$TOKENIZERS_VERSION" >/dev/null; then
  echo "[npm-deps] tokenizers $TOKENIZERS_VERSION in $dir/node_modules"
else
  echo "[npm-deps] could not install tokenizers@$TOKENIZERS_VERSION (offline and not in npm's cache?);" \
       "the HfCli.ExportedTokenizerMatchesSentencePieceInTokenizers test will fail" >&2
fi
