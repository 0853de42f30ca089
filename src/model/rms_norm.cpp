// Gemma RMSNorm (float32 statistics, 1 + w scaling).
#include "hld/model/rms_norm.h"

namespace hld::model {

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  // float32 statistics for float32/bf16 inputs (Hugging Face's x.float()); float64 stays float64.
  const auto acc = at::promote_types(x.scalar_type(), torch::kFloat32);
  auto xf = x.to(acc);
  auto y = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  y = y * (1.0 + w.to(acc));
  return y.to(x.scalar_type());
}

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::zeros({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) { return rms_norm(x, weight, eps_); }

}  // namespace hld::model
