// Rotary position embedding tables and application: the composite formula, and a fused CPU kernel
// (one pass each way) for float32/float64, and for bf16 activations with float32 tables (CPU
// autocast: the result is float32, as the composite's type promotion gives).
#include "hld/model/rope.h"

#include <ATen/Parallel.h>

#include "hld/model/rms_norm.h"

namespace hld::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Row r of a contiguous (B, T, H, D) tensor is at position (r / H) % T. With h = D/2, c/s the
// table rows: y₁ = x₁c₁ − x₂s₁, y₂ = x₂c₂ + x₁s₂ (rotate-half), so the transposed map is
// dx₁ = g₁c₁ + g₂s₂, dx₂ = g₂c₂ − g₁s₁.
// X is the input's type, T the tables' and the arithmetic's, Y the output's.
template <typename X, typename T, typename Y>
void rope_rows(const X* x, const T* cos, const T* sin, Y* y, int64_t rows, int64_t T_, int64_t H, int64_t D,
               bool transpose) {
  const int64_t h = D / 2;
  at::parallel_for(0, rows, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t t = (r / H) % T_;
      const X *x1 = x + r * D, *x2 = x1 + h;
      const T *c1 = cos + t * D, *c2 = c1 + h, *s1 = sin + t * D, *s2 = s1 + h;
      Y *y1 = y + r * D, *y2 = y1 + h;
      if (!transpose) {
        for (int64_t i = 0; i < h; ++i) {
          const T a = static_cast<T>(x1[i]), b = static_cast<T>(x2[i]);
          y1[i] = static_cast<Y>(a * c1[i] + (-b) * s1[i]);
          y2[i] = static_cast<Y>(b * c2[i] + a * s2[i]);
        }
      } else {
        for (int64_t i = 0; i < h; ++i) {
          const T a = static_cast<T>(x1[i]), b = static_cast<T>(x2[i]);
          y1[i] = static_cast<Y>(a * c1[i] + b * s2[i]);
          y2[i] = static_cast<Y>(b * c2[i] - a * s1[i]);
        }
      }
    }
  });
}

// y = rope(x) (or its transpose) in `out` dtype: x's own, or float32 from a bf16 x and float32
// tables (forward), and bf16 from a float32 gradient (backward of that).
torch::Tensor rope_apply(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, bool transpose,
                         torch::ScalarType out) {
  auto y = torch::empty(x.sizes(), x.options().dtype(out));
  const int64_t rows = x.numel() / x.size(3), T = x.size(1), H = x.size(2), D = x.size(3);
  const auto xt = x.scalar_type();
  if (xt == torch::kBFloat16 && out == torch::kFloat32) {
    rope_rows(x.data_ptr<c10::BFloat16>(), cos.data_ptr<float>(), sin.data_ptr<float>(), y.data_ptr<float>(), rows, T,
              H, D, transpose);
  } else if (xt == torch::kFloat32 && out == torch::kBFloat16) {
    rope_rows(x.data_ptr<float>(), cos.data_ptr<float>(), sin.data_ptr<float>(), y.data_ptr<c10::BFloat16>(), rows, T,
              H, D, transpose);
  } else {
    TORCH_CHECK(xt == out, "fused_rope: no kernel from ", xt, " to ", out);
    AT_DISPATCH_FLOATING_TYPES(xt, "fused_rope", [&] {
      rope_rows(x.data_ptr<scalar_t>(), cos.data_ptr<scalar_t>(), sin.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(),
                rows, T, H, D, transpose);
    });
  }
  return y;
}

class FusedRope : public torch::autograd::Function<FusedRope> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& cos,
                               const torch::Tensor& sin) {
    ctx->save_for_backward({cos, sin});
    ctx->saved_data["x_dtype"] = static_cast<int64_t>(x.scalar_type());
    return rope_apply(x.contiguous(), cos, sin, false, at::promote_types(x.scalar_type(), cos.scalar_type()));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto x_dtype = static_cast<torch::ScalarType>(ctx->saved_data["x_dtype"].toInt());
    const auto g = grads[0].to(at::promote_types(x_dtype, s[0].scalar_type())).contiguous();
    return {rope_apply(g, s[0], s[1], true, x_dtype), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

RopeTables rope_tables(int64_t T, int64_t head_dim, double base, double scaling, torch::Device device,
                       torch::ScalarType dtype, int64_t start) {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  auto exponent =
      torch::arange(0, head_dim, 2, torch::TensorOptions().dtype(torch::kInt64).device(device)).to(torch::kFloat32) /
      static_cast<float>(head_dim);
  auto inv_freq = 1.0 / torch::pow(torch::scalar_tensor(static_cast<float>(base), f32), exponent);
  if (scaling != 1.0) inv_freq = inv_freq / static_cast<float>(scaling);
  auto pos = torch::arange(start, start + T, f32);
  auto freqs = torch::outer(pos, inv_freq);   // (T, D/2)
  auto emb = torch::cat({freqs, freqs}, -1);  // (T, D)
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor apply_rope(const torch::Tensor& x, const RopeTables& t) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == t.cos_TxD.size(0) && x.size(3) == t.cos_TxD.size(1) && x.size(3) % 2 == 0,
              "apply_rope: x (B, T, H, D) with T, D as the tables");
  if (fused_cpu_eligible(x, t.cos_TxD)) return FusedRope::apply(x, t.cos_TxD.contiguous(), t.sin_TxD.contiguous());
  const int64_t half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  auto rotated = torch::cat({-x2, x1}, -1);
  return x * t.cos_TxD.unsqueeze(1) + rotated * t.sin_TxD.unsqueeze(1);
}

}  // namespace hld::model
