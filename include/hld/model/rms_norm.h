// Gemma RMSNorm: computed in float32, x * rsqrt(mean(x²) + eps) * (1 + w), cast back.
#pragma once

#include <torch/torch.h>

namespace hld::model {

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;  // (dim,), zero-initialised: the effective scale is 1 + w

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

/// The functional form, for tests and fused paths.
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps);

}  // namespace hld::model
