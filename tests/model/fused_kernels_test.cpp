// The fused CPU kernels (RMSNorm, RoPE) against their formulas: values and gradients in float64
// and float32, odd widths, non-contiguous inputs, thread-count independence.
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
