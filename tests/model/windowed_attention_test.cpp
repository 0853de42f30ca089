// The blocked sliding-window attention (banded_attention: CUDA's path without the flash window, and
// CPU sliding layers over T ≥ 4W) against the masked reference (eager_attention with
// attention_mask): forward and gradients in float64 and float32, T not a multiple of W, W = 1,
// W = T and W > T, GQA with 2 and 3 query heads per KV head.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "hld/config/model_config.h"
#include "hld/model/attention.h"
#include "hld/model/rope.h"
#include "hld/model/windowed_attention.h"

namespace hld::model {
namespace {

struct Shape {
  int64_t B, H, KV, T, D, W;
};

/// Largest difference relative to the reference's largest magnitude, floored at 1: the values here
/// are O(1), and where the exact result is 0 (q and k gradients with W = 1: a softmax over one key)
/// SDPA's backward leaves rounding noise that a bare ratio would blow up.
double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  const auto b64 = b.detach().to(torch::kFloat64);
  const double den = std::max(1.0, b64.abs().max().item<double>());
  return (a.detach().to(torch::kFloat64) - b64).abs().max().item<double>() / den;
}

/// banded_attention against the reference on random inputs of shape `s`, forward and gradients.
void expect_matches_reference(const Shape& s, torch::Dtype dt, double tol) {
  SCOPED_TRACE("B" + std::to_string(s.B) + " H" + std::to_string(s.H) + " KV" + std::to_string(s.KV) + " T" +
               std::to_string(s.T) + " D" + std::to_string(s.D) + " W" + std::to_string(s.W));
  torch::manual_seed(s.T * 131 + s.W);
  const auto o = torch::TensorOptions().dtype(dt);
  const auto q0 = torch::randn({s.B, s.H, s.T, s.D}, o) * 2, k0 = torch::randn({s.B, s.KV, s.T, s.D}, o) * 2;
  const auto v0 = torch::randn({s.B, s.KV, s.T, s.D}, o), r_BxHxTxD = torch::randn({s.B, s.H, s.T, s.D}, o);
  auto q = q0.clone().requires_grad_(true), k = k0.clone().requires_grad_(true), v = v0.clone().requires_grad_(true);
  auto qr = q0.clone().requires_grad_(true), kr = k0.clone().requires_grad_(true), vr = v0.clone().requires_grad_(true);
  const double scale = 0.37;
  auto out = banded_attention(q, k, v, s.W, scale);
  auto ref = eager_attention(qr, kr, vr, attention_mask(s.T, s.W, torch::kCPU), scale);
  ASSERT_EQ(out.sizes(), ref.sizes());
  EXPECT_LT(rel_diff(out, ref), tol);
  (out * r_BxHxTxD).sum().backward();
  (ref * r_BxHxTxD).sum().backward();
  EXPECT_LT(rel_diff(q.grad(), qr.grad()), tol);
  EXPECT_LT(rel_diff(k.grad(), kr.grad()), tol);
  EXPECT_LT(rel_diff(v.grad(), vr.grad()), tol);
}

const std::vector<Shape> kShapes = {
    {2, 4, 2, 37, 8, 8},    // four full tiles and a partial one, GQA 2:1
    {1, 3, 1, 33, 16, 11},  // GQA 3:1, T = 3W
    {1, 2, 2, 24, 8, 8},    // T a multiple of W, no GQA
    {1, 2, 1, 17, 8, 16},   // one full tile and one of a single query
    {1, 2, 1, 7, 4, 1},     // W = 1: every query sees itself only
    {1, 2, 1, 9, 8, 9},     // W = T: plain causal
    {1, 4, 2, 10, 8, 32},   // W > T: plain causal
};

TEST(BandedAttention, MatchesTheMaskedReferenceInFloat64) {
  for (const auto& s : kShapes) expect_matches_reference(s, torch::kFloat64, 1e-12);
}

TEST(BandedAttention, MatchesTheMaskedReferenceInFloat32) {
  for (const auto& s : kShapes) expect_matches_reference(s, torch::kFloat32, 2e-5);
}

TEST(BandedAttention, SlidingWindowAttentionOnTheCpuIsTheBandedPathInTheProjectionLayout) {
  torch::manual_seed(4);
  const int64_t B = 2, T = 29, H = 4, KV = 1, D = 8, W = 6;
  auto q = torch::randn({B, T, H, D}, torch::kFloat64), k = torch::randn({B, T, KV, D}, torch::kFloat64);
  auto v = torch::randn({B, T, KV, D}, torch::kFloat64);
  EXPECT_FALSE(flash_window_usable(q, torch::kBFloat16));
  auto out_BxTxHxD = sliding_window_attention(q, k, v, W, 0.5);
  auto ref_BxHxTxD =
      eager_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attention_mask(T, W, torch::kCPU), 0.5);
  EXPECT_LT(rel_diff(out_BxTxHxD, ref_BxHxTxD.transpose(1, 2)), 1e-12);
}

TEST(BandedAttention, OnlyTheEagerPathReadsTheMask) {
  EXPECT_TRUE(attention_reads_mask(torch::kCPU, 0, 4096));  // global layers
  EXPECT_TRUE(attention_reads_mask(torch::kCPU, 8, 31));
  EXPECT_FALSE(attention_reads_mask(torch::kCPU, 8, 32));  // T ≥ 4W: banded
  EXPECT_FALSE(attention_reads_mask(torch::kCUDA, 8, 31));
}

// A CPU sliding layer over at least 4 windows takes the banded path instead of the eager (T, T)
// product, and the layer's output is the eager reference's, computed from its own projections;
// shorter sequences (the goldens' T = 2W) stay eager.
TEST(BandedAttention, CpuSlidingLayersOfLongSequencesTakeTheBandedPath) {
  config::ModelConfig c;
  c.hidden_size = 16;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 8;
  c.query_pre_attn_scalar = 8;
  c.sliding_window = 6;
  torch::manual_seed(8);
  Attention a(c, /*global=*/false);
  a->to(torch::kFloat64);
  for (int64_t T : {23, 24, 41}) {  // eager, then banded (T = 4W, and not a multiple of W)
    const int64_t B = 2, H = 4, KV = 2, D = 8;
    auto x = torch::randn({B, T, 16}, torch::kFloat64);
    const auto rope = rope_tables(T, D, 10000.0, 1.0, torch::kCPU, torch::kFloat64);
    const auto mask = attention_mask(T, 6, torch::kCPU);
    // The model passes no mask where the layer does not read it.
    const auto y = a->forward(x, attention_reads_mask(torch::kCPU, 6, T) ? mask : torch::Tensor(), rope);
    const auto q = apply_rope(a->q_norm(a->q_proj(x).view({B, T, H, D})), rope);
    const auto k = apply_rope(a->k_norm(a->k_proj(x).view({B, T, KV, D})), rope);
    const auto v = a->v_proj(x).view({B, T, KV, D});
    const auto ref = a->o_proj(eager_attention(q.transpose(1, 2), k.transpose(1, 2).contiguous(),
                                               v.transpose(1, 2).contiguous(), mask, 1.0 / std::sqrt(8.0))
                                   .transpose(1, 2)
                                   .reshape({B, T, H * D}));
    EXPECT_LT(rel_diff(y, ref), 1e-12) << "T " << T;
  }
}

}  // namespace
}  // namespace hld::model
