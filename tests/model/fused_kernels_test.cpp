// The fused CPU kernels (RMSNorm, RoPE) against their formulas: values and gradients in float64
// and float32, bf16 activations with float32 weights (CPU autocast), odd widths, non-contiguous
// inputs, thread-count independence.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "hld/model/attention.h"
#include "hld/model/rms_norm.h"
#include "hld/model/rope.h"

namespace hld::model {
namespace {

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

struct Grads {
  torch::Tensor y, dx, dw;
};

/// Output and gradients of sum(y · r) for a fixed random r, so every output element matters.
template <typename F>
Grads run(F f, const torch::Tensor& x0, const torch::Tensor& w0, const torch::Tensor& r) {
  auto x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
  auto y = f(x, w);
  (y * r).sum().backward();
  return {y.detach(), x.grad(), w.grad()};
}

TEST(FusedRmsNorm, MatchesTheFormulaInValueAndGradient) {
  torch::manual_seed(0);
  for (auto dt : {torch::kFloat64, torch::kFloat32})
    for (int64_t D : {1, 7, 8, 13, 64, 256}) {
      auto x = torch::randn({3, 70, D}, dt) * 3, w = torch::randn({D}, dt) * 0.5;
      auto r = torch::randn({3, 70, D}, dt);
      ASSERT_TRUE(fused_cpu_eligible(x, w));
      const auto fused = run([](auto& a, auto& b) { return rms_norm_fused_cpu(a, b, 1e-6); }, x, w, r);
      const auto ref = run([](auto& a, auto& b) { return rms_norm(a, b, 1e-6); }, x, w, r);
      const double tol = dt == torch::kFloat64 ? 1e-12 : 2e-5;
      EXPECT_LT(max_diff(fused.y, ref.y), tol) << "D " << D;
      EXPECT_LT(max_diff(fused.dx, ref.dx), tol * 10) << "D " << D;
      EXPECT_LT(max_diff(fused.dw, ref.dw) / (1 + ref.dw.abs().max().item<double>()), tol * 10) << "D " << D;
    }
}

// Under CPU autocast the activations are bf16 and the weight float32: float32 arithmetic, the
// output cast back to bf16 (as the formula), the weight's gradient in float32.
TEST(FusedRmsNorm, TakesBf16ActivationsWithFloat32Weights) {
  torch::manual_seed(6);
  for (int64_t D : {7, 64, 256}) {
    auto x = (torch::randn({3, 70, D}) * 3).to(torch::kBFloat16), w = torch::randn({D}) * 0.5;
    auto r = torch::randn({3, 70, D}).to(torch::kBFloat16);
    ASSERT_TRUE(fused_cpu_eligible(x, w));
    const auto fused = run([](auto& a, auto& b) { return rms_norm_fused_cpu(a, b, 1e-6); }, x, w, r);
    const auto ref = run([](auto& a, auto& b) { return rms_norm(a, b, 1e-6); }, x, w, r);
    ASSERT_EQ(fused.y.scalar_type(), torch::kBFloat16);
    ASSERT_EQ(fused.dx.scalar_type(), torch::kBFloat16);
    ASSERT_EQ(fused.dw.scalar_type(), torch::kFloat32);
    // One bf16 rounding of the same float32 value: at most one bf16 step apart (2⁻⁷ relative).
    auto rel = [](const torch::Tensor& a, const torch::Tensor& b) {
      return ((a.to(torch::kFloat32) - b.to(torch::kFloat32)).abs() / (b.to(torch::kFloat32).abs() + 1e-3))
          .max()
          .item<double>();
    };
    EXPECT_LE(rel(fused.y, ref.y), 1.0 / 128) << "D " << D;
    EXPECT_LT(max_diff(fused.dx.to(torch::kFloat32), ref.dx.to(torch::kFloat32)) /
                  ref.dx.to(torch::kFloat32).abs().max().item<double>(),
              2e-2)
        << "D " << D;
    EXPECT_LT(max_diff(fused.dw, ref.dw) / ref.dw.abs().max().item<double>(), 2e-2) << "D " << D;
  }
  EXPECT_FALSE(fused_cpu_eligible(torch::zeros({2, 4}, torch::kBFloat16), torch::zeros({4}, torch::kBFloat16)));
}

TEST(FusedRmsNorm, TakesNonContiguousInputsAndTheModuleUsesIt) {
  torch::manual_seed(1);
  auto base = torch::randn({4, 6, 5, 16}, torch::kFloat64);
  auto x = base.transpose(1, 2);  // (4, 5, 6, 16), not contiguous
  RMSNorm n(16, 1e-6);
  n->to(torch::kFloat64);
  {
    torch::NoGradGuard ng;
    n->weight.normal_();
  }
  auto y = n->forward(x);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_LT(max_diff(y, rms_norm(x, n->weight, 1e-6)), 1e-12);
  EXPECT_NE(y.grad_fn()->name().find("FusedRmsNorm"), std::string::npos);  // the kernel, not the formula
}

TEST(FusedRmsNorm, WeightGradientDoesNotDependOnTheThreadCount) {
  torch::manual_seed(2);
  auto x = torch::randn({1000, 96}), w = torch::randn({96}), r = torch::randn({1000, 96});
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  const auto one = run([](auto& a, auto& b) { return rms_norm_fused_cpu(a, b, 1e-6); }, x, w, r);
  torch::set_num_threads(3);
  const auto three = run([](auto& a, auto& b) { return rms_norm_fused_cpu(a, b, 1e-6); }, x, w, r);
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one.y, three.y));
  EXPECT_TRUE(torch::equal(one.dx, three.dx));
  EXPECT_TRUE(torch::equal(one.dw, three.dw));
}

/// rotate-half RoPE written out, on (B, T, H, D) with (T, D) tables.
torch::Tensor rope_formula(const torch::Tensor& x, const RopeTables& t) {
  const int64_t h = x.size(-1) / 2;
  auto rotated = torch::cat({-x.narrow(-1, h, h), x.narrow(-1, 0, h)}, -1);
  return x * t.cos_TxD.unsqueeze(1) + rotated * t.sin_TxD.unsqueeze(1);
}

TEST(FusedRope, MatchesTheFormulaInValueAndGradient) {
  torch::manual_seed(3);
  for (auto dt : {torch::kFloat64, torch::kFloat32})
    for (int64_t D : {2, 8, 18, 64}) {
      const int64_t B = 2, T = 9, H = 3;
      const auto t = rope_tables(T, D, 10000.0, 1.0, torch::kCPU, dt, /*start=*/5);
      auto x = torch::randn({B, T, H, D}, dt), r = torch::randn({B, T, H, D}, dt);
      auto xf = x.clone().requires_grad_(true), xr = x.clone().requires_grad_(true);
      auto yf = apply_rope(xf, t), yr = rope_formula(xr, t);
      ASSERT_NE(yf.grad_fn()->name().find("FusedRope"), std::string::npos);
      (yf * r).sum().backward();
      (yr * r).sum().backward();
      EXPECT_TRUE(torch::equal(yf, yr)) << "D " << D;  // same operations in the same order
      EXPECT_LT(max_diff(xf.grad(), xr.grad()), dt == torch::kFloat64 ? 1e-14 : 1e-6) << "D " << D;
    }
}

// CPU autocast: bf16 q/k with float32 tables give float32 (the formula's type promotion), and the
// gradient flows back to bf16.
TEST(FusedRope, TakesBf16InputsWithFloat32Tables) {
  torch::manual_seed(7);
  const int64_t B = 2, T = 9, H = 3, D = 64;
  const auto t = rope_tables(T, D, 10000.0, 1.0, torch::kCPU, torch::kFloat32);
  auto x = torch::randn({B, T, H, D}).to(torch::kBFloat16), r = torch::randn({B, T, H, D});
  auto xf = x.clone().requires_grad_(true), xr = x.clone().requires_grad_(true);
  auto yf = apply_rope(xf, t), yr = rope_formula(xr, t);
  ASSERT_NE(yf.grad_fn()->name().find("FusedRope"), std::string::npos);
  ASSERT_EQ(yf.scalar_type(), torch::kFloat32);
  ASSERT_EQ(yr.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(yf, yr));  // bf16 inputs are exact in float32: the same float32 arithmetic
  (yf * r).sum().backward();
  (yr * r).sum().backward();
  ASSERT_EQ(xf.grad().scalar_type(), torch::kBFloat16);
  // The gradient is rounded to bf16 once (the formula rounds each of its two terms, then adds in
  // bf16): at least as close to the float32 gradient as the formula's, within one bf16 step.
  auto x32 = x.to(torch::kFloat32).requires_grad_(true);
  (rope_formula(x32, t) * r).sum().backward();
  const double fused_err = max_diff(xf.grad().to(torch::kFloat32), x32.grad());
  const double formula_err = max_diff(xr.grad().to(torch::kFloat32), x32.grad());
  EXPECT_LE(fused_err, formula_err);
  EXPECT_LT(fused_err, x32.grad().abs().max().item<double>() / 128);
}

TEST(FusedRope, TakesNonContiguousInputs) {
  torch::manual_seed(4);
  const auto t = rope_tables(7, 16, 1e6, 8.0, torch::kCPU, torch::kFloat32);
  auto x = torch::randn({2, 3, 7, 16}).transpose(1, 2);  // (B, T, H, D) view of a (B, H, T, D) tensor
  EXPECT_TRUE(torch::equal(apply_rope(x, t), rope_formula(x, t)));
}

TEST(EagerAttention, SlidingWindowEqualsMaskedSoftmaxReference) {
  torch::manual_seed(5);
  const int64_t B = 2, H = 6, KV = 2, T = 11, D = 8;
  auto q = torch::randn({B, H, T, D}), k = torch::randn({B, KV, T, D}), v = torch::randn({B, KV, T, D});
  for (int64_t window : {0, 1, 4}) {
    auto mask = attention_mask(T, window, torch::kCPU);
    auto out = eager_attention(q, k, v, mask, 0.25);
    auto kr = k.repeat_interleave(H / KV, 1), vr = v.repeat_interleave(H / KV, 1);
    auto sc = (torch::matmul(q, kr.transpose(-2, -1)) * 0.25).masked_fill(mask.logical_not(), -1e30);
    auto ref = torch::matmul(torch::softmax(sc, -1), vr);
    EXPECT_LT(max_diff(out, ref), 1e-5) << "window " << window;
  }
}

}  // namespace
}  // namespace hld::model
