#!/usr/bin/env bash
# Measures the memory `hld-train import-hf` needs for a real-sized checkpoint: writes a synthetic
# Gemma3ForConditionalGeneration checkpoint in bf16 — the Gemma 3 1B text shape with a 262,144
# vocabulary, ~1.0 B parameters, ~2.0 GB in 500 MB shards with model.safetensors.index.json, plus
# a small vision tower — imports it under /usr/bin/time -v and prints the peak resident set next
# to the size of the float32 model it builds. Not a test: a measurement (docs/huggingface.md).
#   bash scripts/hf_import_memory.sh [WORK_DIR]     # default build/hf-import-memory (removed after)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${HLD_BIN:-build/hld-train}
work=${1:-build/hf-import-memory}
rm -rf "$work" && mkdir -p "$work/hub"
trap 'rm -rf "$work"' EXIT

node - "$work/hub" <<'JS'
// A sharded safetensors checkpoint with a fixed bf16 pattern as every weight (the importer's
// memory does not depend on the values).
const fs = require('fs');
const path = require('path');
const dir = process.argv[2];
const t = {vocab_size: 262144, hidden_size: 1152, intermediate_size: 6912, num_hidden_layers: 26,
           num_attention_heads: 4, num_key_value_heads: 1, head_dim: 256, query_pre_attn_scalar: 256,
           sliding_window: 512, model_type: 'gemma3_text'};
const D = t.hidden_size, F = t.intermediate_size, H = t.head_dim;
const tensors = [['language_model.model.embed_tokens.weight', [t.vocab_size, D]]];
for (let i = 0; i < t.num_hidden_layers; ++i) {
  const p = `language_model.model.layers.${i}.`;
  for (const n of ['input_layernorm', 'post_attention_layernorm', 'pre_feedforward_layernorm',
                   'post_feedforward_layernorm']) tensors.push([p + n + '.weight', [D]]);
  tensors.push([p + 'self_attn.q_proj.weight', [t.num_attention_heads * H, D]]);
  tensors.push([p + 'self_attn.k_proj.weight', [t.num_key_value_heads * H, D]]);
  tensors.push([p + 'self_attn.v_proj.weight', [t.num_key_value_heads * H, D]]);
  tensors.push([p + 'self_attn.o_proj.weight', [D, t.num_attention_heads * H]]);
  tensors.push([p + 'self_attn.q_norm.weight', [H]], [p + 'self_attn.k_norm.weight', [H]]);
  tensors.push([p + 'mlp.gate_proj.weight', [F, D]], [p + 'mlp.up_proj.weight', [F, D]]);
  tensors.push([p + 'mlp.down_proj.weight', [D, F]]);
}
tensors.push(['language_model.model.norm.weight', [D]]);
tensors.push(['vision_tower.vision_model.embeddings.patch_embedding.weight', [1152, 3, 14, 14]]);
tensors.push(['multi_modal_projector.mm_input_projection_weight', [1152, D]]);
const bytes = (s) => s.reduce((a, b) => a * b, 1) * 2;
const limit = 500e6;
const shards = [[]];
let cur = 0;
for (const x of tensors) {
  if (cur > 0 && cur + bytes(x[1]) > limit) { shards.push([]); cur = 0; }
  shards[shards.length - 1].push(x);
  cur += bytes(x[1]);
}
const chunk = Buffer.alloc(64 << 20);
for (let i = 0; i < chunk.length; i += 2) chunk.writeUInt16LE(0x3c23, i);  // bf16 ~0.00995
const map = {};
let total = 0;
shards.forEach((list, k) => {
  const name = `model-${String(k + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
  const header = {__metadata__: {format: 'pt'}};
  let off = 0;
  for (const [n, s] of list) {
    header[n] = {dtype: 'BF16', shape: s, data_offsets: [off, off + bytes(s)]};
    off += bytes(s);
    map[n] = name;
  }
  let js = JSON.stringify(header);
  while ((js.length + 8) % 8) js += ' ';
  const fd = fs.openSync(path.join(dir, name), 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(js.length));
  fs.writeSync(fd, len);
  fs.writeSync(fd, js);
  for (let left = off; left > 0; left -= Math.min(left, chunk.length))
    fs.writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  fs.closeSync(fd);
  total += off;
});
fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'),
                 JSON.stringify({metadata: {total_size: total}, weight_map: map}, null, 1));
fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(
    {architectures: ['Gemma3ForConditionalGeneration'], model_type: 'gemma3', text_config: t,
     vision_config: {model_type: 'siglip_vision_model'}}, null, 1));
console.log(`[memory] wrote ${shards.length} shards, ${(total / 1e9).toFixed(2)} GB of bf16 weights`);
JS

ckpt=$(du -cb "$work"/hub/*.safetensors | tail -1 | cut -f1)
/usr/bin/time -v "$bin" import-hf "$work/hub" --out "$work/ours" 2> "$work/time.txt" | tail -3 || {
  cat "$work/time.txt"; exit 1; }
grep -E "imported|tokenizer" "$work/time.txt" || true
rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt")
wall=$(awk -F'): ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
model=$(stat -c %s "$work/ours/model.safetensors")
awk -v s="$ckpt" -v r="$rss_kb" -v m="$model" -v w="$wall" 'BEGIN {
  printf "[memory] checkpoint S = %.2f GB (bf16); float32 model written = %.2f GB\n", s / 1e9, m / 1e9;
  printf "[memory] import-hf peak RSS = %.2f GB (%.2f GB above the float32 model; %.2f x S above it); wall %s\n",
         r * 1024 / 1e9, (r * 1024 - m) / 1e9, (r * 1024 - m) / s, w }'
