// The LibTorch 2.x wrappers (hld/compat/torch.h) on the CPU, against formulas written here: fused
// attention (SDPA) with a mask and causal, at::rms_norm, the fused AdamW kernel and the CUDA
// autocast guard's state handling. The flash sliding window and NCCL have no CPU kernel: they run in
// the `cuda` label (CudaWindowedAttention, DataParallel on the GPU machine).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/autocast_mode.h>

#include <limits>

#include "hld/model/rms_norm.h"
#include "hld/train/adamw.h"
#include "hld/compat/torch.h"

namespace hld::compat {
namespace {

double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  const auto a64 = a.to(torch::kFloat64), b64 = b.to(torch::kFloat64);
  return ((a64 - b64).abs().max() / (1e-300 + b64.abs().max())).item<double>();
}

/// softmax(q kᵀ · scale, masked) v in float64, written out.
torch::Tensor attention_formula(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const torch::Tensor& allowed_TxS, double scale) {
  auto s = torch::matmul(q.to(torch::kFloat64), k.to(torch::kFloat64).transpose(-1, -2)) * scale;
  s = s.masked_fill(allowed_TxS.logical_not(), -std::numeric_limits<double>::infinity());
  return torch::matmul(torch::softmax(s, -1), v.to(torch::kFloat64));
}

TEST(Compat, SdpaMatchesTheAttentionFormulaOnTheCpu) {
  torch::manual_seed(0);
  const int64_t T = 19;
  auto causal = torch::ones({T, T}, torch::kBool).tril();
  auto banded = causal.logical_and(torch::ones({T, T}, torch::kBool).triu(-4));  // window 5
  for (auto dt : {torch::kFloat64, torch::kFloat32}) {
    const double tol = dt == torch::kFloat64 ? 1e-12 : 2e-6;
    auto q = torch::randn({2, 3, T, 8}, dt).requires_grad_(true);
    auto k = torch::randn({2, 3, T, 8}, dt).requires_grad_(true);
    auto v = torch::randn({2, 3, T, 8}, dt).requires_grad_(true);
    for (const auto& mask : {causal, banded}) {
      auto got = sdpa(q, k, v, mask, 0.37, /*is_causal=*/false);
      auto want = attention_formula(q, k, v, mask, 0.37);
      EXPECT_LT(rel_diff(got, want), tol) << dt;
      // Gradients: the same cotangent through both.
      auto r = torch::randn(got.sizes(), torch::kFloat64);
      auto g = torch::autograd::grad({(got.to(torch::kFloat64) * r).sum()}, {q, k, v});
      auto gw = torch::autograd::grad({(want * r).sum()}, {q, k, v});
      for (int i = 0; i < 3; ++i) EXPECT_LT(rel_diff(g[i], gw[i]), 10 * tol) << dt << " grad " << i;
    }
    // is_causal without a mask is the causal mask.
    EXPECT_LT(rel_diff(sdpa(q, k, v, torch::Tensor(), 0.37, true), attention_formula(q, k, v, causal, 0.37)), tol);
  }
  // A wrong window is caught at this tolerance: the banded result is not the causal one.
  auto q = torch::randn({1, 2, T, 8}, torch::kFloat64), k = torch::randn({1, 2, T, 8}, torch::kFloat64);
  auto v = torch::randn({1, 2, T, 8}, torch::kFloat64);
  EXPECT_GT(rel_diff(sdpa(q, k, v, banded, 0.37, false), attention_formula(q, k, v, causal, 0.37)), 1e-3);
}

TEST(Compat, NativeRmsNormMatchesTheModelsNormOnTheCpu) {
  torch::manual_seed(3);
  for (auto dt : {torch::kFloat32, torch::kBFloat16}) {
    auto x0 = (torch::randn({4, 33, 96}) * 3).to(dt), w0 = torch::randn({96}) * 0.3;
    auto x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
    auto xr = x0.clone().requires_grad_(true), wr = w0.clone().requires_grad_(true);
    auto y = native_rms_norm(x, w, 1e-6), yr = model::rms_norm(xr, wr, 1e-6);
    EXPECT_EQ(y.scalar_type(), dt);
    const double tol = dt == torch::kFloat32 ? 1e-6 : 1e-2;
    EXPECT_LT(rel_diff(y, yr), tol) << dt;
    auto r = torch::randn(y.sizes()).to(dt);
    (y * r).sum().backward();
    (yr * r).sum().backward();
    EXPECT_LT(rel_diff(x.grad(), xr.grad()), 10 * tol) << dt;
    EXPECT_LT(rel_diff(w.grad(), wr.grad()), 10 * tol) << dt;
  }
}

TEST(Compat, FusedAdamWOnTheCpuMatchesThePerTensorUpdate) {
  torch::manual_seed(5);
  config::OptimConfig oc;
  oc.lr = 1e-2;
  oc.weight_decay = 0.1;
  std::vector<torch::Tensor> ref_p = {torch::randn({33, 17}), torch::randn({17})};
  std::vector<train::AdamW::Param> ref;
  std::vector<torch::Tensor> p, m, v, n;
  for (size_t i = 0; i < ref_p.size(); ++i) {
    p.push_back(ref_p[i].clone());
    m.push_back(torch::zeros_like(p[i]));
    v.push_back(torch::zeros_like(p[i]));
    n.push_back(torch::zeros({}, torch::kFloat32));
    ref.push_back({"p" + std::to_string(i), ref_p[i].requires_grad_(true), i == 0});
  }
  train::AdamW a(ref, oc);
  ASSERT_FALSE(a.fused());  // the CPU optimizer is the per-tensor update
  for (int step = 1; step <= 6; ++step) {
    const double lr = oc.lr * step;
    std::vector<torch::Tensor> g;
    for (auto& r : ref) {
      g.push_back(torch::randn(r.tensor.sizes()));
      r.tensor.mutable_grad() = g.back();
    }
    a.step(lr);
    for (size_t i = 0; i < p.size(); ++i) {  // one call per decay group, as AdamW::fused_step does
      n[i].add_(1.0);
      fused_adamw({p[i]}, {g[i]}, {m[i]}, {v[i]}, {n[i]}, lr, oc.beta1, oc.beta2, i == 0 ? oc.weight_decay : 0.0,
                  oc.eps);
    }
  }
  const auto s = a.state();
  for (size_t i = 0; i < p.size(); ++i) {
    EXPECT_LT(rel_diff(p[i], ref[i].tensor.detach()), 1e-6) << i;
    EXPECT_LT(rel_diff(m[i], s.at("exp_avg/p" + std::to_string(i))), 1e-6) << i;
    EXPECT_LT(rel_diff(v[i], s.at("exp_avg_sq/p" + std::to_string(i))), 1e-6) << i;
  }
}

// The guard on one device type sets and restores that type's state, nests, and leaves the other
// device type's autocast alone.
void check_autocast_guard(c10::DeviceType type, c10::DeviceType other) {
  ASSERT_FALSE(at::autocast::is_autocast_enabled(type));
  ASSERT_FALSE(at::autocast::is_autocast_enabled(other));
  const auto before = at::autocast::get_autocast_dtype(type);
  {
    AutocastGuard off(type, false);
    EXPECT_FALSE(at::autocast::is_autocast_enabled(type));
  }
  {
    AutocastGuard outer(type, true, at::kBFloat16);
    EXPECT_TRUE(at::autocast::is_autocast_enabled(type));
    EXPECT_FALSE(at::autocast::is_autocast_enabled(other));
    EXPECT_EQ(at::autocast::get_autocast_dtype(type), at::kBFloat16);
    {
      AutocastGuard inner(type, true, at::kHalf);
      EXPECT_EQ(at::autocast::get_autocast_dtype(type), at::kHalf);
    }
    EXPECT_EQ(at::autocast::get_autocast_dtype(type), at::kBFloat16);
  }
  EXPECT_FALSE(at::autocast::is_autocast_enabled(type));
  EXPECT_EQ(at::autocast::get_autocast_dtype(type), before);
}

TEST(Compat, AutocastGuardSetsAndRestoresTheCudaAutocastState) {
  check_autocast_guard(c10::DeviceType::CUDA, c10::DeviceType::CPU);
  // CPU tensors compute in their own dtype whatever CUDA autocast says.
  AutocastGuard cuda(torch::kCUDA, true);
  EXPECT_EQ(matmul_dtype(torch::zeros({2}, torch::kFloat32)), torch::kFloat32);
}

TEST(Compat, AutocastGuardSetsAndRestoresTheCpuAutocastState) {
  check_autocast_guard(c10::DeviceType::CPU, c10::DeviceType::CUDA);
}

// CPU autocast (run.dtype = bfloat16 on a CPU): products in bf16, float64 left alone, and the
// product close to float32's at bf16's precision; outside the guard, float32 again.
TEST(Compat, CpuAutocastComputesProductsInBf16) {
  torch::manual_seed(0);
  auto a = torch::randn({64, 96}), b = torch::randn({96, 32});
  const auto ref = torch::mm(a, b);
  {
    AutocastGuard ac(torch::kCPU, true);
    EXPECT_EQ(matmul_dtype(a), at::kBFloat16);
    EXPECT_EQ(matmul_dtype(a.to(torch::kFloat64)), at::kDouble);
    const auto y = torch::mm(a, b);
    EXPECT_EQ(y.scalar_type(), at::kBFloat16);
    const double rel = ((y.to(torch::kFloat32) - ref).norm() / ref.norm()).item<double>();
    EXPECT_LT(rel, 1e-2);
    EXPECT_GT(rel, 1e-5);  // it really ran in bf16
  }
  EXPECT_EQ(torch::mm(a, b).scalar_type(), at::kFloat);
  EXPECT_EQ(matmul_dtype(a), at::kFloat);
}

}  // namespace
}  // namespace hld::compat
