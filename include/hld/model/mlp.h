// Gemma feed-forward block: down(gelu_tanh(gate(x)) * up(x)), no biases.
#pragma once

#include <torch/torch.h>

namespace hld::model {

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t dim, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x_BxTxD);
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Mlp);

}  // namespace hld::model
