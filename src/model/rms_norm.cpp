// Gemma RMSNorm (float32 statistics, 1 + w scaling): the composite formula, a fused CPU kernel
// (one pass forward, one pass backward) that replaces its ~15 elementwise operations on CPU (float32
// and float64, and bf16 activations with float32 weights under CPU autocast), and at::rms_norm on
// CUDA where LibTorch has it.
#include "hld/model/rms_norm.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "hld/compat/torch.h"

namespace hld::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// Σ a_i·b_i in double with independent partial sums (vectorisable without reassociation flags).
template <typename T>
double dot(const T* a, const T* b, int64_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += static_cast<double>(a[i + j]) * static_cast<double>(b[i + j]);
  for (; i < n; ++i) s[0] += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/// Rows per task: the weight gradient is summed per block of this many rows, then over blocks in
/// order, so results do not depend on the thread count.
constexpr int64_t kRowBlock = 64;

// X is the activations' type, T the weight's and the arithmetic's (float for bf16 activations:
// Hugging Face's x.float(), then the result cast back to x's type).
template <typename X, typename T>
void forward_rows(const X* x, const T* w, X* y, T* rstd, int64_t rows, int64_t D, double eps) {
  at::parallel_for(0, rows, kRowBlock, [&](int64_t r0, int64_t r1) {
    std::vector<T> widened(std::is_same_v<X, T> ? 0 : static_cast<size_t>(D));
    for (int64_t r = r0; r < r1; ++r) {
      X* yr = y + r * D;
      // The row in T: x itself, or widened once (bf16 activations).
      const T* xr;
      if constexpr (std::is_same_v<X, T>) {
        xr = x + r * D;
      } else {
        for (int64_t i = 0; i < D; ++i) widened[i] = static_cast<T>(x[r * D + i]);
        xr = widened.data();
      }
      // As the composite: mean in T, + eps, rsqrt; then (x · r) · (1 + w).
      const T mean = static_cast<T>(dot(xr, xr, D) / static_cast<double>(D));
      const T rs = T(1) / std::sqrt(mean + static_cast<T>(eps));
      rstd[r] = rs;
      for (int64_t i = 0; i < D; ++i) yr[i] = static_cast<X>((xr[i] * rs) * (T(1) + w[i]));
    }
  });
}

// y = x̂ ⊙ (1 + w), x̂ = x·r, r = (mean(x²) + eps)^-½:
//   dx = r · (g⊙(1+w) − x̂ · ⟨g⊙(1+w), x̂⟩ / D),   dw = Σ_rows g ⊙ x̂.
template <typename X, typename T>
void backward_rows(const X* g, const X* x, const T* w, const T* rstd, X* dx, double* dw_blocks, int64_t rows,
                   int64_t D) {
  const int64_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<T> gw(static_cast<size_t>(D)), xh(static_cast<size_t>(D));
    for (int64_t b = b0; b < b1; ++b) {
      double* dwb = dw_blocks + b * D;
      for (int64_t r = b * kRowBlock; r < std::min(rows, (b + 1) * kRowBlock); ++r) {
        const X *gr = g + r * D, *xr = x + r * D;
        const T rs = rstd[r];
        for (int64_t i = 0; i < D; ++i) {
          const T gi = static_cast<T>(gr[i]);
          xh[i] = static_cast<T>(xr[i]) * rs;
          gw[i] = gi * (T(1) + w[i]);
          dwb[i] += static_cast<double>(gi) * static_cast<double>(xh[i]);
        }
        const T c = static_cast<T>(dot(gw.data(), xh.data(), D) / static_cast<double>(D));
        X* dxr = dx + r * D;
        for (int64_t i = 0; i < D; ++i) dxr[i] = static_cast<X>(rs * (gw[i] - xh[i] * c));
      }
    }
  });
}

class FusedRmsNorm : public torch::autograd::Function<FusedRmsNorm> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& w_in, double eps) {
    const auto x = x_in.contiguous(), w = w_in.contiguous();
    const int64_t D = x.size(-1), rows = x.numel() / std::max<int64_t>(1, D);
    auto y = torch::empty_like(x, torch::MemoryFormat::Contiguous);
    auto rstd = torch::empty({rows}, w.options());
    if (x.scalar_type() == torch::kBFloat16) {
      forward_rows(x.data_ptr<c10::BFloat16>(), w.data_ptr<float>(), y.data_ptr<c10::BFloat16>(),
                   rstd.data_ptr<float>(), rows, D, eps);
    } else {
      AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fused_rms_norm", [&] {
        forward_rows(x.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), rstd.data_ptr<scalar_t>(),
                     rows, D, eps);
      });
    }
    ctx->save_for_backward({x, w, rstd});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto &x = s[0], &w = s[1], &rstd = s[2];
    const auto g = grads[0].to(x.scalar_type()).contiguous();
    const int64_t D = x.size(-1), rows = rstd.numel();
    auto dx = torch::empty_like(x, torch::MemoryFormat::Contiguous);
    auto dw_blocks = torch::zeros({(rows + kRowBlock - 1) / kRowBlock, D}, x.options().dtype(torch::kFloat64));
    if (x.scalar_type() == torch::kBFloat16) {
      backward_rows(g.data_ptr<c10::BFloat16>(), x.data_ptr<c10::BFloat16>(), w.data_ptr<float>(),
                    rstd.data_ptr<float>(), dx.data_ptr<c10::BFloat16>(), dw_blocks.data_ptr<double>(), rows, D);
    } else {
      AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fused_rms_norm_backward", [&] {
        backward_rows(g.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(), rstd.data_ptr<scalar_t>(),
                      dx.data_ptr<scalar_t>(), dw_blocks.data_ptr<double>(), rows, D);
      });
    }
    return {dx, dw_blocks.sum(0).to(w.scalar_type()), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  // float32 statistics for float32/bf16 inputs (Hugging Face's x.float()); float64 stays float64.
  const auto acc = at::promote_types(x.scalar_type(), torch::kFloat32);
  auto xf = x.to(acc);
  auto y = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  y = y * (1.0 + w.to(acc));
  return y.to(x.scalar_type());
}

bool fused_cpu_eligible(const torch::Tensor& x, const torch::Tensor& w) {
  const auto t = x.scalar_type(), tw = w.scalar_type();
  const bool types =
      ((t == torch::kFloat32 || t == torch::kFloat64) && tw == t) || (t == torch::kBFloat16 && tw == torch::kFloat32);
  return x.device().is_cpu() && w.device().is_cpu() && types && x.numel() > 0;
}

torch::Tensor rms_norm_fused_cpu(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  TORCH_CHECK(fused_cpu_eligible(x, w) && w.dim() == 1 && x.size(-1) == w.size(0),
              "rms_norm_fused_cpu: CPU tensors x (..., D) and w (D), both float32 or float64, or x bf16 and w float32");
  return FusedRmsNorm::apply(x, w, eps);
}

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::zeros({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  if (fused_cpu_eligible(x, weight)) return rms_norm_fused_cpu(x, weight, eps_);
  if (x.is_cuda()) return compat::native_rms_norm(x, weight, eps_);
  return rms_norm(x, weight, eps_);
}

}  // namespace hld::model
