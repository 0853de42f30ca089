// Rotary position embedding tables and application.
#include "hld/model/rope.h"

namespace hld::model {

RopeTables rope_tables(int64_t T, int64_t head_dim, double base, double scaling,
                       torch::Device device, torch::ScalarType dtype, int64_t start) {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  auto exponent = torch::arange(0, head_dim, 2, torch::TensorOptions().dtype(torch::kInt64).device(device))
                      .to(torch::kFloat32) / static_cast<float>(head_dim);
  auto inv_freq = 1.0 / torch::pow(torch::scalar_tensor(static_cast<float>(base), f32), exponent);
  if (scaling != 1.0) inv_freq = inv_freq / static_cast<float>(scaling);
  auto pos = torch::arange(start, start + T, f32);
  auto freqs = torch::outer(pos, inv_freq);         // (T, D/2)
  auto emb = torch::cat({freqs, freqs}, -1);         // (T, D)
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor apply_rope(const torch::Tensor& x, const RopeTables& t) {
  const int64_t half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  auto rotated = torch::cat({-x2, x1}, -1);
  return x * t.cos_TxD + rotated * t.sin_TxD;
}

}  // namespace hld::model
