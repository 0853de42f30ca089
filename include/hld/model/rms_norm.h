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

/// The composite formula (any device and dtype; autocast-aware): the reference of the fused
/// kernels (CUDA uses compat::native_rms_norm, at::rms_norm's fused kernel).
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps);

/// True when the fused CPU kernels take these tensors: CPU, float32 or float64 of the same dtype,
/// or bf16 activations (CPU autocast) with float32 weights or tables.
bool fused_cpu_eligible(const torch::Tensor& x, const torch::Tensor& w);

/// rms_norm as one CPU kernel per direction (statistics summed in float64, rounding otherwise as
/// the composite), with its own backward; what RMSNorm's forward uses when fused_cpu_eligible.
/// The weight gradient does not depend on the thread count.
torch::Tensor rms_norm_fused_cpu(const torch::Tensor& x, const torch::Tensor& w, double eps);

}  // namespace hld::model
