#!/usr/bin/env bash
# Trains a tokenizer on the embedded corpus (third_party/corpus) and prepares its token shards,
# giving the paths the default configs use:
#   data/embedded/tokenizer.model          SentencePiece unigram, VOCAB pieces (default 8192)
#   data/embedded/shards/{train,valid}/    token shards (valid = third_party/corpus/valid.jsonl.gz)
# Re-running is cheap: the tokenizer is kept when it exists and prepare is a no-op on finished output.
# Usage: scripts/prepare_embedded_data.sh [VOCAB] [OUT_DIR]   (HLD_TRAIN: path of hld-train)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VOCAB="${1:-8192}"
OUT="${2:-$ROOT/data/embedded}"
BIN="${HLD_TRAIN:-$ROOT/build/hld-train}"
CORPUS="$ROOT/third_party/corpus"

if [ ! -f "$OUT/tokenizer.model" ]; then
  "$BIN" tokenizer train --input "$CORPUS/train.jsonl.gz" --vocab-size "$VOCAB" --sample-docs 0 \
    --out "$OUT/tokenizer"
fi
"$BIN" prepare --tokenizer "$OUT/tokenizer.model" --input "$CORPUS/train.jsonl.gz" \
  --valid-input "$CORPUS/valid.jsonl.gz" --out "$OUT/shards"
