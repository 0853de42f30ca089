// Hugging Face Gemma 3 checkpoints (config.json + single or sharded safetensors) ⇄ hld-train
// models, and the parity check behind `hld-train verify-hf`.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hld/hf/hf_weights.h"
#include "hld/io/safetensors.h"
#include "hld/model/transformer.h"

namespace hld::hf {

/// What an import read: tensors copied into the model, multimodal tensors skipped, dtypes seen.
struct ImportStats {
  int64_t loaded = 0;               ///< text-model tensors copied
  int64_t ignored = 0;              ///< vision tower / multi-modal projector tensors skipped
  uint64_t ignored_bytes = 0;       ///< their size
  std::vector<std::string> dtypes;  ///< safetensors dtypes of the loaded tensors ("BF16", ...)
  size_t files = 0;                 ///< safetensors files read
  bool sharded = false;             ///< read through model.safetensors.index.json
};

/// Copies `w`'s text-model tensors into `m`, one at a time (each converted to the parameter's
/// dtype straight from the mapping, its pages dropped afterwards), so importing S bytes needs the
/// model plus about one tensor of extra memory. Hugging Face names ("model.layers.0...") map to
/// ours ("layers.0..."), under the "model.", "model.language_model.", "language_model.model." and
/// "language_model." prefixes; vision tower and multi-modal projector tensors are skipped and
/// counted; a tied lm_head must equal the embedding. InputError naming the file and tensor for any
/// missing, unexpected, mis-shaped or non-floating-point tensor.
ImportStats load_hf_weights(model::Transformer& m, const HfWeights& w);

/// Our parameters under Hugging Face names ("model." prefix).
io::TensorMap hf_state_dict(model::Transformer& m);

/// Reads DIR/config.json and DIR's weights (single or sharded) into a model (float32, CPU).
model::Transformer load_hf_dir(const std::string& dir, ImportStats* stats = nullptr);

struct ExportOptions {
  torch::ScalarType dtype = torch::kFloat32;  ///< float32 or bfloat16
  uint64_t max_shard_bytes = 5000000000ull;   ///< transformers' default max_shard_size "5GB"
  std::string tokenizer;                      ///< SentencePiece .model to ship ("": none)
  bool add_bos = true;  ///< the model was trained on `BOS text EOS`: the tokenizer adds BOS (hf_tokenizer.h)
};

/// Writes a folder that transformers loads as is: config.json (Gemma3ForCausalLM),
/// generation_config.json, the weights (sharded past max_shard_bytes, with the index) and, when
/// options.tokenizer is set, the tokenizer files (hf_tokenizer.h). Returns the files written.
std::vector<std::string> export_hf_dir(model::Transformer& m, const std::string& dir,
                                       const ExportOptions& options = {});

struct TensorError {
  std::string name;
  double max_rel_error;  ///< max |ours − ref| / max |ref|
  bool compared;         ///< false when the reference tensor has no counterpart
};

struct VerifyResult {
  std::vector<TensorError> tensors;
  double worst = 0;
  /// Share of the reference's positions whose arg-max over the vocabulary is the same in our
  /// logits (−1 when the reference holds no logits).
  double top1_agreement = -1;
  int64_t top1_positions = 0;
};

/// Runs DIR's reference input_ids through the model in `dtype` and compares every reference tensor
/// (logits, loss, embeddings, layer_{i}_out, final_normed). When the reference holds gradients
/// (`grad.<HF parameter name>`, d loss / d parameter of its `loss`, the mean next-token NLL with
/// labels = input_ids, as scripts/referee/hf_reference.py writes them), the forward runs with
/// autograd and each is compared with the parameter's gradient.
VerifyResult verify_hf_dir(const std::string& dir, torch::ScalarType dtype = torch::kFloat32);

}  // namespace hld::hf
