// Gemma 3 decoder block.
#include "hld/model/block.h"

namespace hld::model {

BlockImpl::BlockImpl(const config::ModelConfig& c, bool global) {
  self_attn = register_module("self_attn", Attention(c, global));
  mlp = register_module("mlp", Mlp(c.hidden_size, c.intermediate_size));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  pre_feedforward_layernorm = register_module("pre_feedforward_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_feedforward_layernorm = register_module("post_feedforward_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& allowed, const RopeTables& rope) {
  auto h = x + post_attention_layernorm(self_attn(input_layernorm(x), allowed, rope));
  return h + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(h)));
}

}  // namespace hld::model
