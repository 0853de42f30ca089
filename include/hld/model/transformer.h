// The Gemma 3 causal language model (Hugging Face Gemma3ForCausalLM, text only, tied head).
// Parameter names match Hugging Face's without the "model." prefix.
#pragma once

#include <torch/torch.h>

#include <map>
#include <vector>

#include "hld/config/model_config.h"
#include "hld/model/block.h"

namespace hld::model {

struct ForwardOptions {
  std::vector<int64_t> hidden_layers;  ///< residual streams to return: m = after m blocks (0: embeddings)
  int64_t stop_after = -1;             ///< run only the first m blocks (no final norm, no logits)
  bool logits = true;                  ///< compute the (B, T, V) logits
  bool final_normed = false;           ///< also return the final-norm output (B, T, d)
};

struct ForwardOutput {
  torch::Tensor logits_BxTxV;               ///< undefined when not requested or stopped early
  torch::Tensor final_normed_BxTxD;         ///< when requested
  std::map<int64_t, torch::Tensor> hidden;  ///< layer m → (B, T, d)
};

class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const config::ModelConfig& cfg);
  ForwardOutput forward(const torch::Tensor& ids_BxT, const ForwardOptions& opts = {});
  /// Scaled token embeddings (B, T, d).
  torch::Tensor embed(const torch::Tensor& ids_BxT);
  /// Tied de-embedding of final-normed states: (…, d) → (…, V).
  torch::Tensor logits(const torch::Tensor& normed_xD);
  /// The embedding and the first `m` blocks' parameters: what HLDF's phase 1 trains.
  std::vector<torch::Tensor> first_blocks_parameters(int64_t m) const;
  /// Hugging Face-style initialisation: normal(0, std) for matrices, zeros for norm weights.
  void init_weights(double std);
  /// Activation checkpointing of the block loop (model/activation_checkpoint.h): 0 off, k ≥ 1
  /// recomputes blocks k, 2k, … (1-based) in backward, storing only their inputs. Applies only
  /// while grad mode is on; results and gradients are bitwise those of the plain loop on CPU.
  void set_checkpoint_every(int64_t k) { checkpoint_every_ = k; }
  int64_t checkpoint_every() const { return checkpoint_every_; }

  const config::ModelConfig& config() const { return cfg_; }
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  std::vector<Block> blocks;
  RMSNorm norm{nullptr};

 private:
  config::ModelConfig cfg_;
  int64_t checkpoint_every_ = 0;
};
TORCH_MODULE(Transformer);

}  // namespace hld::model
