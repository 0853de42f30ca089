// Hugging Face Gemma 3 checkpoints (config.json + model.safetensors) ⇄ hld-train models, and the
// parity check behind `hld-train verify-hf`.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "hld/io/safetensors.h"
#include "hld/model/transformer.h"

namespace hld::hf {

/// Maps Hugging Face tensor names to ours ("model.layers.0..." → "layers.0..."), accepting the
/// "model.", "language_model.model." and "model.language_model." prefixes; drops a tied lm_head.
/// Throws InputError naming any missing, unexpected or mis-shaped tensor.
void load_hf_weights(model::Transformer& m, const io::TensorMap& hf, const std::string& what);

/// Our parameters under Hugging Face names ("model." prefix).
io::TensorMap hf_state_dict(model::Transformer& m);

/// Reads DIR/config.json and DIR/model.safetensors into a model (float32, CPU).
model::Transformer load_hf_dir(const std::string& dir);

/// Writes DIR/config.json and DIR/model.safetensors.
void export_hf_dir(model::Transformer& m, const std::string& dir);

struct TensorError {
  std::string name;
  double max_rel_error;  ///< max |ours − ref| / max |ref|
  bool compared;         ///< false when the reference tensor has no counterpart
};

struct VerifyResult {
  std::vector<TensorError> tensors;
  double worst = 0;
};

/// Runs DIR's reference input_ids through the model and compares every reference tensor
/// (logits, loss, embeddings, layer_{i}_out, final_normed).
VerifyResult verify_hf_dir(const std::string& dir, torch::ScalarType dtype = torch::kFloat32);

}  // namespace hld::hf
