// Gated GELU (tanh approximation) feed-forward block.
#include "hld/model/mlp.h"

namespace hld::model {

MlpImpl::MlpImpl(int64_t dim, int64_t hidden) {
  auto lin = [](int64_t in, int64_t out) { return torch::nn::LinearOptions(in, out).bias(false); };
  gate_proj = register_module("gate_proj", torch::nn::Linear(lin(dim, hidden)));
  up_proj = register_module("up_proj", torch::nn::Linear(lin(dim, hidden)));
  down_proj = register_module("down_proj", torch::nn::Linear(lin(hidden, dim)));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return down_proj(torch::gelu(gate_proj(x), "tanh") * up_proj(x));
}

}  // namespace hld::model
