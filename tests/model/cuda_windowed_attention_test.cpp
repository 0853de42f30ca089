// The sliding-window attention of the CUDA path against the CPU (skipped without a CUDA device;
// `ctest -L cuda`, scripts/gpu/device_check.sh): the flash kernel's window and the blocked
// attention against the float64 masked reference, and the whole model on CUDA (float32: blocked;
// bf16 autocast: flash where usable) against the CPU model, forward and gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "hld/model/attention.h"
#include "hld/model/transformer.h"
#include "hld/model/windowed_attention.h"
#include "hld/compat/torch.h"
#include "model/cuda_small_model.h"

namespace hld::model {
namespace {

double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  const auto b64 = b.detach().cpu().to(torch::kFloat64);
  return ((a.detach().cpu().to(torch::kFloat64) - b64).abs().max() / (1e-12 + b64.abs().max())).item<double>();
}

/// Random q (B, T, H, D), k, v (B, T, KV, D) in float64 on the CPU and an upstream gradient.
struct Inputs {
  torch::Tensor q, k, v, r;
};
Inputs random_inputs(int64_t B, int64_t T, int64_t H, int64_t KV, int64_t D) {
  const auto o = torch::TensorOptions().dtype(torch::kFloat64);
  return {torch::randn({B, T, H, D}, o) * 2, torch::randn({B, T, KV, D}, o) * 2, torch::randn({B, T, KV, D}, o),
          torch::randn({B, T, H, D}, o)};
}

/// fn(q, k, v) on CUDA in `dt` against eager_attention in float64 on the CPU: the largest relative
/// difference of the output and of the three gradients.
template <class Fn>
double worst_vs_reference(const Inputs& in, int64_t W, double scale, torch::Dtype dt, Fn fn) {
  auto on = [&](const torch::Tensor& x) { return x.to(torch::kCUDA).to(dt).requires_grad_(true); };
  auto q = on(in.q), k = on(in.k), v = on(in.v);
  auto out = fn(q, k, v);
  (out.to(torch::kFloat64) * in.r.to(torch::kCUDA)).sum().backward();
  auto qr = in.q.clone().requires_grad_(true), kr = in.k.clone().requires_grad_(true);
  auto vr = in.v.clone().requires_grad_(true);
  const int64_t T = in.q.size(1);
  auto ref = eager_attention(qr.transpose(1, 2), kr.transpose(1, 2), vr.transpose(1, 2),
                             attention_mask(T, W, torch::kCPU), scale)
                 .transpose(1, 2);
  (ref * in.r).sum().backward();
  return std::max({rel_diff(out, ref), rel_diff(q.grad(), qr.grad()), rel_diff(k.grad(), kr.grad()),
                   rel_diff(v.grad(), vr.grad())});
}

TEST(CudaWindowedAttention, FlashWindowMatchesTheMaskedReference) {
  HLD_NEED_CUDA();
  torch::manual_seed(5);
  for (int64_t D : {64, 256}) {
    const auto in = random_inputs(2, 75, 4, 2, D);  // T = 4W + 11, GQA 2:1
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    EXPECT_TRUE(flash_window_usable(in.q.to(torch::kCUDA), torch::kBFloat16)) << "head_dim " << D;
    const double err = worst_vs_reference(in, 16, scale, torch::kBFloat16, [&](auto q, auto k, auto v) {
      return compat::flash_window_attention(q, k, v, 16, scale);
    });
    EXPECT_LT(err, 2e-2) << "head_dim " << D;
    // Negative control: the kernel with a window one key short must fail the same comparison.
    const double wrong = worst_vs_reference(in, 16, scale, torch::kBFloat16, [&](auto q, auto k, auto v) {
      return compat::flash_window_attention(q, k, v, 15, scale);
    });
    EXPECT_GT(wrong, 2e-2) << "head_dim " << D << ": a window of 15 passes for 16";
  }
}

TEST(CudaWindowedAttention, BandedAttentionMatchesTheMaskedReference) {
  HLD_NEED_CUDA();
  torch::manual_seed(6);
  const auto in = random_inputs(2, 75, 6, 2, 32);  // GQA 3:1
  auto banded = [](auto q, auto k, auto v) {
    return banded_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), 16, 0.2).transpose(1, 2);
  };
  EXPECT_LT(worst_vs_reference(in, 16, 0.2, torch::kFloat32, banded), 1e-5);
  EXPECT_LT(worst_vs_reference(in, 16, 0.2, torch::kBFloat16, banded), 2e-2);
  auto off_by_one = [](auto q, auto k, auto v) {  // negative control: the wrong window must fail
    return banded_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), 15, 0.2).transpose(1, 2);
  };
  EXPECT_GT(worst_vs_reference(in, 16, 0.2, torch::kFloat32, off_by_one), 1e-5);
}

config::ModelConfig small_model() { return test::cuda_small_model(); }

/// The model on CUDA (bf16 autocast or float32) against the same weights on the CPU, T = 5W + 5.
void expect_cuda_model_matches_cpu(bool bf16, double logits_tol, double grad_tol) {
  torch::manual_seed(7);
  Transformer cpu(small_model()), gpu(small_model());
  {
    torch::NoGradGuard ng;
    for (auto& p : cpu->parameters()) p.normal_(0.0, 0.1);  // sharper attention: a wrong window shows
    auto src = cpu->parameters(), dst = gpu->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  gpu->to(torch::kCUDA);
  const auto ids = torch::randint(0, 300, {2, 45}, torch::kInt64);
  auto lc = cpu->forward(ids).logits_BxTxV;
  torch::Tensor lg;
  {
    compat::AutocastGuard ac(torch::kCUDA, bf16);
    lg = gpu->forward(ids.to(torch::kCUDA)).logits_BxTxV;
  }
  EXPECT_LT(rel_diff(lg, lc), logits_tol);
  const auto r = torch::randn(lc.sizes());
  (lc * r).sum().backward();
  (lg.to(torch::kFloat32) * r.to(torch::kCUDA)).sum().backward();
  auto pc = cpu->named_parameters(), pg = gpu->named_parameters();
  for (const auto& p : pc) EXPECT_LT(rel_diff(pg[p.key()].grad(), p.value().grad()), grad_tol) << p.key();
}

TEST(CudaWindowedAttention, Float32ModelMatchesTheCpuModel) {
  HLD_NEED_CUDA();
  expect_cuda_model_matches_cpu(/*bf16=*/false, 1e-4, 1e-3);
}

TEST(CudaWindowedAttention, Bf16AutocastModelTracksTheCpuModel) {
  HLD_NEED_CUDA();
  expect_cuda_model_matches_cpu(/*bf16=*/true, 0.1, 0.2);
}

}  // namespace
}  // namespace hld::model
