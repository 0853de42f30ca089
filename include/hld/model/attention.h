// Gemma 3 attention: GQA, QK-norm before RoPE, scale query_pre_attn_scalar^-0.5, causal mask
// with an optional sliding window (key j visible from query q iff q-W < j <= q).
#pragma once

#include <torch/torch.h>

#include "hld/config/model_config.h"
#include "hld/model/rms_norm.h"
#include "hld/model/rope.h"

namespace hld::model {

/// Boolean "may attend" mask (T, T): causal, and within `window` when window > 0.
torch::Tensor attention_mask(int64_t T, int64_t window, torch::Device device);

/// softmax(q kᵀ · scale + mask) v with GQA, softmax in float32 (the eager Hugging Face path).
/// q (B, H, T, D); k, v (B, KV, T, D); allowed_TxT boolean.
torch::Tensor eager_attention(const torch::Tensor& q_BxHxTxD, const torch::Tensor& k_BxKxTxD,
                              const torch::Tensor& v_BxKxTxD, const torch::Tensor& allowed_TxT, double scale);

/// Whether Attention::forward reads its (T, T) mask for a layer of `window` (0: global) over T
/// tokens on `device`: only the eager path does, on the CPU. CUDA's kernels know the window, and a
/// CPU sliding layer over T ≥ 4W takes the banded path (sliding_window_attention: 2W keys per query
/// instead of T, where at least half of the eager product would be masked out).
bool attention_reads_mask(const torch::Device& device, int64_t window, int64_t T);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const config::ModelConfig& cfg, bool global);
  /// x (B, T, d) → (B, T, d). `allowed_TxT` is this layer's mask (undefined where
  /// attention_reads_mask is false), `rope` its tables.
  torch::Tensor forward(const torch::Tensor& x_BxTxD, const torch::Tensor& allowed_TxT, const RopeTables& rope);

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};

 private:
  int64_t heads_, kv_heads_, head_dim_;
  int64_t window_;  // W of a sliding-window layer, 0 on a global one
  double scale_;
};
TORCH_MODULE(Attention);

}  // namespace hld::model
