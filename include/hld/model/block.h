// One Gemma 3 decoder block with its four norms (sandwich normalisation):
// x = x + post_attn_norm(attn(input_norm(x))); x = x + post_ffw_norm(mlp(pre_ffw_norm(x))).
#pragma once

#include <torch/torch.h>

#include "hld/model/attention.h"
#include "hld/model/mlp.h"

namespace hld::model {

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const config::ModelConfig& cfg, bool global);
  torch::Tensor forward(const torch::Tensor& x_BxTxD, const torch::Tensor& allowed_TxT, const RopeTables& rope);

  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  RMSNorm pre_feedforward_layernorm{nullptr}, post_feedforward_layernorm{nullptr};
};
TORCH_MODULE(Block);

}  // namespace hld::model
