// The CUDA paths against the CPU ones (skipped without a CUDA device; `ctest -R Cuda` on the GPU
// machine): fused AdamW, scaled_dot_product_attention with sliding windows, at::rms_norm against
// the formula, and the chunked loss under bf16 autocast.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "hld/model/transformer.h"
#include "hld/objectives/chunked_lm_loss.h"
#include "hld/train/adamw.h"
#include "hld/compat/torch.h"
#include "model/cuda_small_model.h"

namespace hld::train {
namespace {

double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a.cpu().to(torch::kFloat64) - b.cpu().to(torch::kFloat64)).abs().max() /
          (1e-12 + b.cpu().to(torch::kFloat64).abs().max()))
      .item<double>();
}

config::ModelConfig small_model() { return test::cuda_small_model(); }

TEST(CudaPaths, FusedAdamWMatchesThePerTensorUpdate) {
  HLD_NEED_CUDA();
  ASSERT_TRUE(compat::has_fused_adamw(torch::Device("cuda:0")));
  torch::manual_seed(0);
  config::OptimConfig oc;
  oc.lr = 1e-2;
  oc.weight_decay = 0.1;
  std::vector<torch::Tensor> cpu_p = {torch::randn({33, 17}), torch::randn({17}), torch::randn({5, 3, 2})};
  std::vector<AdamW::Param> cpu, gpu;
  for (size_t i = 0; i < cpu_p.size(); ++i) {
    cpu_p[i].requires_grad_(true);
    auto g = cpu_p[i].detach().to(torch::kCUDA).requires_grad_(true);
    cpu.push_back({"p" + std::to_string(i), cpu_p[i], i != 1});
    gpu.push_back({"p" + std::to_string(i), g, i != 1});
  }
  AdamW a(cpu, oc), b(gpu, oc);
  EXPECT_FALSE(a.fused());
  EXPECT_TRUE(b.fused());
  for (int step = 0; step < 6; ++step) {
    for (size_t i = 0; i < cpu.size(); ++i) {
      auto grad = torch::randn(cpu[i].tensor.sizes());
      cpu[i].tensor.mutable_grad() = grad;
      gpu[i].tensor.mutable_grad() = grad.to(torch::kCUDA);
    }
    if (step == 3) {  // a restored state restarts the fused kernel's step counts
      b.load_state(b.state(), b.steps(), "test");
    }
    a.step(oc.lr * (1 + step));
    b.step(oc.lr * (1 + step));
  }
  for (size_t i = 0; i < cpu.size(); ++i) EXPECT_LT(rel_diff(gpu[i].tensor, cpu[i].tensor), 1e-5) << i;
  const auto sa = a.state(), sb = b.state();
  for (const auto& [k, v] : sa) EXPECT_LT(rel_diff(sb.at(k), v), 1e-5) << k;
}

TEST(CudaPaths, SdpaWithSlidingWindowsMatchesTheCpuModel) {
  HLD_NEED_CUDA();
  torch::manual_seed(1);
  model::Transformer cpu(small_model()), gpu(small_model());
  {
    torch::NoGradGuard ng;
    auto src = cpu->parameters(), dst = gpu->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  gpu->to(torch::kCUDA);
  auto ids = torch::randint(0, 300, {2, 40}, torch::kInt64);
  auto lc = cpu->forward(ids).logits_BxTxV;
  auto lg = gpu->forward(ids.to(torch::kCUDA)).logits_BxTxV;
  EXPECT_LT(rel_diff(lg, lc), 1e-4);
  // Gradients through the fused attention and the composite norm / RoPE.
  lc.pow(2).mean().backward();
  lg.pow(2).mean().backward();
  auto pc = cpu->named_parameters(), pg = gpu->named_parameters();
  for (const auto& p : pc) EXPECT_LT(rel_diff(pg[p.key()].grad(), p.value().grad()), 1e-3) << p.key();
}

TEST(CudaPaths, NativeRmsNormMatchesTheFormula) {
  HLD_NEED_CUDA();
  torch::manual_seed(3);
  for (auto dt : {torch::kFloat32, torch::kBFloat16}) {
    auto x0 = (torch::randn({4, 33, 640}, torch::kCUDA) * 3).to(dt), w0 = torch::randn({640}, torch::kCUDA) * 0.3;
    auto x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
    auto xr = x0.clone().requires_grad_(true), wr = w0.clone().requires_grad_(true);
    auto y = compat::native_rms_norm(x, w, 1e-6), yr = model::rms_norm(xr, wr, 1e-6);
    EXPECT_EQ(y.scalar_type(), dt);
    const double tol = dt == torch::kFloat32 ? 1e-5 : 1e-2;
    EXPECT_LT(rel_diff(y, yr), tol);
    auto r = torch::randn(y.sizes(), torch::kCUDA).to(dt);
    (y * r).sum().backward();
    (yr * r).sum().backward();
    EXPECT_LT(rel_diff(x.grad(), xr.grad()), 10 * tol);
    EXPECT_LT(rel_diff(w.grad(), wr.grad()), 10 * tol);
  }
}

TEST(CudaPaths, ChunkedLossUnderBf16AutocastTracksFloat32) {
  HLD_NEED_CUDA();
  torch::manual_seed(2);
  const int64_t N = 512, D = 64, V = 1000, K = 16;
  const auto h0 = torch::randn({N, D}, torch::kCUDA), w0 = torch::randn({V, D}, torch::kCUDA) * 0.2;
  auto t = torch::randint(0, V, {N}, torch::TensorOptions().dtype(torch::kInt64).device(torch::kCUDA));
  auto top = torch::randn({N, V}, torch::kCUDA).topk(K, -1);
  auto vals = std::get<0>(top), idx = std::get<1>(top);
  // Six chunks of 100 rows: backward recomputes the logits, outside autocast, in forward's dtype.
  auto run = [&](bool bf16) {
    auto h = h0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
    objectives::LmLossTerms r;
    {
      compat::AutocastGuard ac(torch::kCUDA, bf16);
      r = objectives::chunked_lm_loss(h, w, t, vals, idx, 1.0, 100);
    }
    (0.1 * r.nll + 0.9 * r.kd).backward();
    return std::make_tuple(r.nll.detach(), r.kd.detach(), h.grad(), w.grad());
  };
  const auto [nll, kd, gh, gw] = run(true);
  const auto [ref_nll, ref_kd, ref_gh, ref_gw] = run(false);
  EXPECT_LT(rel_diff(nll, ref_nll), 0.02);
  EXPECT_LT(rel_diff(kd, ref_kd), 0.02);
  EXPECT_LT(rel_diff(gh, ref_gh), 0.05);
  EXPECT_LT(rel_diff(gw, ref_gw), 0.05);
}

}  // namespace
}  // namespace hld::train
