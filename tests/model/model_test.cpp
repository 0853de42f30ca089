// Model pieces: RMSNorm, RoPE, masks, GQA, causality, early stop, parameter counts.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "hld/model/attention.h"
#include "hld/model/rms_norm.h"
#include "hld/model/rope.h"
#include "hld/model/transformer.h"

namespace hld::model {
namespace {

config::ModelConfig tiny(int64_t layers = 3) {
  config::ModelConfig c;
  c.vocab_size = 50;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_layers = layers;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 8;
  c.query_pre_attn_scalar = 8;
  c.sliding_window = 3;
  c.sliding_window_pattern = 2;
  return c;
}

TEST(RMSNorm, MatchesFormulaWithOnePlusWeight) {
  torch::manual_seed(0);
  auto x = torch::randn({2, 5, 8});
  auto w = torch::randn({8});
  auto y = rms_norm(x, w, 1e-6);
  auto expect = x / torch::sqrt(x.pow(2).mean(-1, true) + 1e-6) * (1 + w);
  EXPECT_TRUE(torch::allclose(y, expect, 1e-5, 1e-6));
  RMSNorm n(8, 1e-6);
  EXPECT_TRUE(torch::equal(n->weight, torch::zeros({8})));  // zero init: identity scale
  // bf16 input: statistics in float32, output cast back.
  auto yb = rms_norm(x.to(torch::kBFloat16), w, 1e-6);
  EXPECT_EQ(yb.scalar_type(), torch::kBFloat16);
}

TEST(Rope, RotationPreservesNormAndMatchesClosedForm) {
  const int64_t T = 6, D = 8;
  auto t = rope_tables(T, D, 10000.0, 1.0, torch::kCPU, torch::kFloat64);
  // position p, pair i: angle p / base^(2i/D)
  for (int64_t p : {0, 3, 5})
    for (int64_t i = 0; i < D / 2; ++i) {
      const double ang = p / std::pow(10000.0, 2.0 * i / D);
      EXPECT_NEAR(t.cos_TxD[p][i].item<double>(), std::cos(ang), 1e-6);
      EXPECT_NEAR(t.sin_TxD[p][i + D / 2].item<double>(), std::sin(ang), 1e-6);
    }
  auto x = torch::randn({1, T, 2, D}, torch::kFloat64);  // (B, T, H, D)
  auto y = apply_rope(x, t);
  EXPECT_TRUE(torch::allclose(y.norm(2, -1), x.norm(2, -1), 1e-6));  // tables are float32, like HF
  EXPECT_TRUE(torch::allclose(y.select(1, 0), x.select(1, 0)));      // position 0 unchanged
  // Relative property: <R_p q, R_{p+k} k> depends only on k.
  auto q = torch::randn({D}, torch::kFloat64), k = torch::randn({D}, torch::kFloat64);
  auto qs = q.expand({1, T, 1, D}).contiguous(), ks = k.expand({1, T, 1, D}).contiguous();
  auto rq = apply_rope(qs, t), rk = apply_rope(ks, t);
  auto d1 = (rq[0][1][0] * rk[0][3][0]).sum().item<double>();
  auto d2 = (rq[0][2][0] * rk[0][4][0]).sum().item<double>();
  EXPECT_NEAR(d1, d2, 1e-6);
}

TEST(Rope, LinearScalingDividesPositions) {
  auto scaled = rope_tables(16, 8, 1e6, 8.0, torch::kCPU, torch::kFloat64);
  auto plain = rope_tables(16 * 8, 8, 1e6, 1.0, torch::kCPU, torch::kFloat64);
  // position 8p with scaling 8 equals position p... inverted: scaled(p) == plain(p/8); check p = 8.
  EXPECT_TRUE(torch::allclose(scaled.cos_TxD[8], plain.cos_TxD[1], 1e-6));
  EXPECT_TRUE(torch::allclose(scaled.sin_TxD[8], plain.sin_TxD[1], 1e-6));
}

TEST(Attention, SlidingAndGlobalMasks) {
  auto g = attention_mask(6, 0, torch::kCPU);
  auto s = attention_mask(6, 3, torch::kCPU);
  for (int q = 0; q < 6; ++q)
    for (int k = 0; k < 6; ++k) {
      EXPECT_EQ(g[q][k].item<bool>(), k <= q);
      EXPECT_EQ(s[q][k].item<bool>(), k <= q && k > q - 3) << q << "," << k;  // window includes q
    }
}

TEST(Attention, GqaEqualsRepeatedKv) {
  torch::manual_seed(1);
  const int64_t B = 2, H = 4, KV = 2, T = 5, D = 8;
  auto q = torch::randn({B, H, T, D}), k = torch::randn({B, KV, T, D}), v = torch::randn({B, KV, T, D});
  auto mask = attention_mask(T, 0, torch::kCPU);
  auto out = eager_attention(q, k, v, mask, 0.3);
  // Reference: repeat_kv (head h uses kv h / (H/KV)), plain softmax attention.
  auto kr = k.repeat_interleave(H / KV, 1), vr = v.repeat_interleave(H / KV, 1);
  auto sc = torch::matmul(q, kr.transpose(-2, -1)) * 0.3;
  sc = sc.masked_fill(mask.logical_not(), -1e30);
  auto ref = torch::matmul(torch::softmax(sc, -1), vr);
  EXPECT_TRUE(torch::allclose(out, ref, 1e-5, 1e-6));
}

TEST(Transformer, CausalityChangingTokenTNeverChangesEarlierLogits) {
  torch::manual_seed(2);
  Transformer m(tiny(4));
  auto ids = torch::randint(0, 50, {1, 10}, torch::kInt64);
  auto a = m->forward(ids).logits_BxTxV;
  for (int64_t t : {0, 4, 9}) {
    auto ids2 = ids.clone();
    ids2[0][t] = (ids[0][t].item<int64_t>() + 7) % 50;
    auto b = m->forward(ids2).logits_BxTxV;
    if (t > 0) {
      EXPECT_TRUE(torch::equal(a.narrow(1, 0, t), b.narrow(1, 0, t))) << "t=" << t;
    }
    EXPECT_FALSE(torch::allclose(a.narrow(1, t, 1), b.narrow(1, t, 1)));
  }
}

TEST(Transformer, SlidingWindowLimitsReceptiveFieldOfLocalLayers) {
  // One sliding layer (window 3): logits at position 5 depend on tokens 3..5 only.
  auto c = tiny(1);
  c.sliding_window_pattern = 6;  // layer 0 is sliding
  torch::manual_seed(3);
  Transformer m(c);
  auto ids = torch::randint(0, 50, {1, 8}, torch::kInt64);
  auto a = m->forward(ids).logits_BxTxV;
  auto ids2 = ids.clone();
  ids2[0][2] = (ids[0][2].item<int64_t>() + 1) % 50;
  auto b = m->forward(ids2).logits_BxTxV;
  EXPECT_TRUE(torch::equal(a[0][5], b[0][5]));
  EXPECT_FALSE(torch::equal(a[0][4], b[0][4]));
}

TEST(Transformer, HiddenStatesAndEarlyStop) {
  torch::manual_seed(4);
  Transformer m(tiny(4));
  auto ids = torch::randint(0, 50, {2, 6}, torch::kInt64);
  ForwardOptions full;
  full.hidden_layers = {0, 2, 4};
  auto f = m->forward(ids, full);
  ASSERT_TRUE(f.logits_BxTxV.defined());
  EXPECT_EQ(f.hidden.size(), 3u);
  ForwardOptions half;
  half.hidden_layers = {2};
  half.stop_after = 2;
  auto h = m->forward(ids, half);
  EXPECT_FALSE(h.logits_BxTxV.defined());
  EXPECT_TRUE(torch::equal(h.hidden.at(2), f.hidden.at(2)));
  // The embedding is scaled by sqrt(d).
  auto e = m->embed_tokens->weight.index_select(0, ids.flatten()).view({2, 6, 16}) * std::sqrt(16.0f);
  EXPECT_TRUE(torch::allclose(f.hidden.at(0), e));
}

TEST(Transformer, ParameterCountMatchesConfigArithmetic) {
  auto c = tiny(3);
  Transformer m(c);
  int64_t n = 0;
  for (const auto& p : m->parameters()) n += p.numel();
  EXPECT_EQ(n, config::count_params(c).total);
}

}  // namespace
}  // namespace hld::model
