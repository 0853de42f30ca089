// Rotary position embedding, rotate-half convention, cos/sin computed in float32 exactly as
// Hugging Face does (inv_freq = 1 / base^(2i/d), linear scaling divides positions by the factor).
#pragma once

#include <torch/torch.h>

namespace hld::model {

struct RopeTables {
  torch::Tensor cos_TxD;  // (T, head_dim), in the activations' dtype
  torch::Tensor sin_TxD;
};

/// cos/sin for positions 0..T-1 (offset `start`) with the given base and linear scaling factor.
RopeTables rope_tables(int64_t T, int64_t head_dim, double base, double scaling, torch::Device device,
                       torch::ScalarType dtype, int64_t start = 0);

/// x * cos + rotate_half(x) * sin for x (B, T, H, D), the layout the projections produce; a fused
/// CPU kernel for float32/float64 (same rounding as the formula), the formula elsewhere.
torch::Tensor apply_rope(const torch::Tensor& x_BxTxHxD, const RopeTables& t);

}  // namespace hld::model
