#!/usr/bin/env bash
# Rebuilds third_party/corpus/{train,valid}.jsonl.gz from the npm package nlp-corpus (MIT).
#
# nlp-corpus 4.4.0 ships 100 files builds/doc-{0..99}.json, each a JSON array of 1000 English
# sentences from mixed sources (fiction, transcripts, forum posts, legal and UN text, ...).
# Conversion: every 10 consecutive sentences of one file become one document (joined by a single
# space), written as a C4-style JSON line {"text", "timestamp", "url"}; the url names the package
# file and sentence range, the timestamp is the package's publication year, fixed. Documents go to
# valid when the first 4 bytes of sha256(text), read big-endian, modulo 1000 are below 20 (about
# 2 %), else to train, so the split depends only on the text. Output is gzip -9 -n (no name or
# time in the header) so that a rebuild is byte-identical.
#
# Needs: npm, node, gzip. Usage: scripts/make_embedded_corpus.sh [OUT_DIR]
set -euo pipefail

VERSION=4.4.0
SHASUM=5a43e1851f3b1c4549d81fbe0a68129c8beed650   # sha1 of nlp-corpus-4.4.0.tgz on the registry
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/third_party/corpus}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm pack "nlp-corpus@$VERSION" --silent >/dev/null
echo "$SHASUM  nlp-corpus-$VERSION.tgz" | sha1sum -c --quiet
tar xzf "nlp-corpus-$VERSION.tgz"

node - "$WORK/package/builds" "$WORK" <<'JS'
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const [dir, out] = process.argv.slice(2);
const group = 10;
const train = [], valid = [];
for (let f = 0; f < 100; ++f) {
  const name = `doc-${f}.json`;
  const sentences = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
  for (let i = 0; i < sentences.length; i += group) {
    const part = sentences.slice(i, i + group).map(s => s.trim()).filter(s => s.length > 0);
    if (part.length === 0) continue;
    const text = part.join(' ');
    const url = `nlp-corpus@4.4.0/builds/${name}#${i}-${Math.min(i + group, sentences.length) - 1}`;
    const line = JSON.stringify({text, timestamp: '2022-01-01T00:00:00Z', url});
    const h = crypto.createHash('sha256').update(text, 'utf8').digest().readUInt32BE(0);
    (h % 1000 < 20 ? valid : train).push(line);
  }
}
fs.writeFileSync(path.join(out, 'train.jsonl'), train.join('\n') + '\n');
fs.writeFileSync(path.join(out, 'valid.jsonl'), valid.join('\n') + '\n');
console.log(`train ${train.length} documents, valid ${valid.length} documents`);
JS

mkdir -p "$OUT"
for split in train valid; do
  gzip -9 -n -c "$WORK/$split.jsonl" > "$OUT/$split.jsonl.gz.tmp"
  mv "$OUT/$split.jsonl.gz.tmp" "$OUT/$split.jsonl.gz"
done
ls -l "$OUT"/*.jsonl.gz
