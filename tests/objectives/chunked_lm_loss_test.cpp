// chunked_lm_loss equals NLL and top-k KD on the materialised logits linear(h, W), in value and
// in the gradients of h and W, for one kept chunk, chunks that do not divide N, single rows, and
// NLL alone; chunked_row_nll (evaluation's per-row scores) equals the per-row log-softmax of the
// materialised logits, and its rows sum to chunked_lm_loss's NLL.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "hld/objectives/chunked_lm_loss.h"
#include "hld/objectives/losses.h"

namespace hld::objectives {
namespace {

struct Case {
  torch::Tensor h, w, targets, vals, idx;
};

Case make_case(int64_t N, int64_t D, int64_t V, int64_t K, uint64_t seed) {
  torch::manual_seed(seed);
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  Case c;
  c.h = torch::randn({N, D}, f64);
  c.w = torch::randn({V, D}, f64) * 0.5;
  c.targets = torch::randint(0, V, {N}, torch::kLong);
  auto teacher = torch::randn({N, V}, f64) * 2;
  std::tie(c.vals, c.idx) = top_k_logits(teacher, K);
  c.vals = c.vals.to(torch::kFloat64);  // (top_k_logits stores float32, like the cache)
  return c;
}

// Loss = a·NLL + b·KD via the reference (materialised logits) and the chunked path.
std::tuple<double, torch::Tensor, torch::Tensor> run(const Case& c, bool chunked, int64_t chunk, double a, double b,
                                                     double tau, bool with_kd) {
  auto h = c.h.clone().requires_grad_(true), w = c.w.clone().requires_grad_(true);
  torch::Tensor loss;
  if (chunked) {
    auto t = chunked_lm_loss(h, w, c.targets, with_kd ? c.vals : torch::Tensor(), with_kd ? c.idx : torch::Tensor(),
                             tau, chunk);
    loss = a * t.nll;
    if (with_kd)
      loss = loss + b * t.kd;
    else
      EXPECT_FALSE(t.kd.defined());
  } else {
    auto z = torch::nn::functional::linear(h, w);
    loss = a * nll(z, c.targets);
    if (with_kd) loss = loss + b * kd_kl(z, c.vals, c.idx, tau);
  }
  loss.backward();
  return {loss.item<double>(), h.grad(), w.grad()};
}

TEST(ChunkedLmLoss, EqualsMaterialisedLogitsInValueAndGradients) {
  const Case c = make_case(/*N=*/29, /*D=*/12, /*V=*/97, /*K=*/9, 3);
  for (double tau : {1.0, 2.5}) {
    const auto [ref, ref_gh, ref_gw] = run(c, false, 0, 0.3, 0.7, tau, true);
    for (int64_t chunk : {29, 64, 8, 1}) {  // one kept chunk (twice), uneven chunks, single rows
      const auto [v, gh, gw] = run(c, true, chunk, 0.3, 0.7, tau, true);
      EXPECT_NEAR(v, ref, 1e-12) << "tau " << tau << " chunk " << chunk;
      EXPECT_LT((gh - ref_gh).abs().max().item<double>(), 1e-12) << "tau " << tau << " chunk " << chunk;
      EXPECT_LT((gw - ref_gw).abs().max().item<double>(), 1e-12) << "tau " << tau << " chunk " << chunk;
    }
  }
}

// A vocabulary wide enough that the row-wise passes over a chunk run in cache-sized blocks of
// rows (32 rows at V = 8192) that do not divide the chunk of 37: the same values.
TEST(ChunkedLmLoss, RowBlocksOfWideVocabulariesEqualMaterialisedLogits) {
  const Case c = make_case(/*N=*/37, /*D=*/6, /*V=*/8192, /*K=*/5, 11);
  for (double tau : {1.0, 2.0}) {
    const auto [ref, ref_gh, ref_gw] = run(c, false, 0, 0.4, 0.6, tau, true);
    for (int64_t chunk : {37, 20}) {
      const auto [v, gh, gw] = run(c, true, chunk, 0.4, 0.6, tau, true);
      EXPECT_NEAR(v, ref, 1e-12) << "tau " << tau << " chunk " << chunk;
      EXPECT_LT((gh - ref_gh).abs().max().item<double>(), 1e-12) << "tau " << tau << " chunk " << chunk;
      EXPECT_LT((gw - ref_gw).abs().max().item<double>(), 1e-12) << "tau " << tau << " chunk " << chunk;
    }
  }
}

TEST(ChunkedLmLoss, NllAloneAndKdAlone) {
  const Case c = make_case(17, 8, 40, 40, 5);  // K = V: the full-vocabulary KL
  const auto [ref, ref_gh, ref_gw] = run(c, false, 0, 1.0, 0.0, 1.0, false);
  const auto [v, gh, gw] = run(c, true, 5, 1.0, 0.0, 1.0, false);
  EXPECT_NEAR(v, ref, 1e-12);
  EXPECT_LT((gh - ref_gh).abs().max().item<double>(), 1e-12);
  EXPECT_LT((gw - ref_gw).abs().max().item<double>(), 1e-12);
  const auto [kref, kgh_ref, kgw_ref] = run(c, false, 0, 0.0, 1.0, 1.5, true);
  const auto [kv, kgh, kgw] = run(c, true, 4, 0.0, 1.0, 1.5, true);
  EXPECT_NEAR(kv, kref, 1e-12);
  EXPECT_LT((kgh - kgh_ref).abs().max().item<double>(), 1e-12);
  EXPECT_LT((kgw - kgw_ref).abs().max().item<double>(), 1e-12);
}

TEST(ChunkedLmLoss, Float32MatchesWithinRounding) {
  Case c = make_case(64, 16, 300, 16, 9);
  c.h = c.h.to(torch::kFloat32);
  c.w = c.w.to(torch::kFloat32);
  const auto [ref, ref_gh, ref_gw] = run(c, false, 0, 0.5, 0.5, 1.0, true);
  const auto [v, gh, gw] = run(c, true, 10, 0.5, 0.5, 1.0, true);
  EXPECT_NEAR(v, ref, 1e-5 * std::abs(ref));
  EXPECT_TRUE(torch::allclose(gh, ref_gh, 1e-4, 1e-6));
  EXPECT_TRUE(torch::allclose(gw, ref_gw, 1e-4, 1e-6));
  EXPECT_EQ(default_chunk_rows(32000), 2097);  // ~256 MiB of float32 logits per chunk
  EXPECT_EQ(default_chunk_rows(1 << 30), 64);
}

TEST(ChunkedRowNll, EqualsPerRowLogSoftmaxAndTheLossTerm) {
  for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
    Case c = make_case(/*N=*/37, /*D=*/12, /*V=*/211, /*K=*/4, 21);
    c.h = c.h.to(dtype);
    c.w = c.w.to(dtype);
    // What evaluation computed before: log_softmax of the full (N, V) float32 logits, gathered.
    const auto logp_NxV =
        torch::log_softmax(torch::nn::functional::linear(c.h, c.w).to(at::promote_types(dtype, torch::kFloat32)), -1);
    const auto want_N = -logp_NxV.gather(1, c.targets.unsqueeze(1)).squeeze(1);
    const auto want_greedy_N = logp_NxV.argmax(-1) == c.targets;
    c.targets[3] = logp_NxV[3].argmax().item<int64_t>();  // at least one greedy row
    const auto want3 = -logp_NxV[3][c.targets[3].item<int64_t>()].item<double>();
    const double tol = dtype == torch::kFloat64 ? 1e-12 : 2e-6;
    for (int64_t chunk : {37, 100, 8, 1}) {
      const auto got = chunked_row_nll(c.h, c.w, c.targets, chunk);
      EXPECT_EQ(got.nll_N.scalar_type(), at::promote_types(dtype, torch::kFloat32));
      ASSERT_EQ(got.nll_N.size(0), 37);
      const auto diff = (got.nll_N - want_N).abs();
      diff[3] = 0;
      EXPECT_LT(diff.max().item<double>(), tol) << "chunk " << chunk;
      EXPECT_NEAR(got.nll_N[3].item<double>(), want3, tol);
      auto want_g = want_greedy_N.clone();
      want_g[3] = true;
      EXPECT_TRUE(torch::equal(got.greedy_N, want_g)) << "chunk " << chunk;
      // The per-row terms are the loss's: their mean is chunked_lm_loss's NLL (same arithmetic).
      const auto loss = chunked_lm_loss(c.h, c.w, c.targets, torch::Tensor(), torch::Tensor(), 1.0, chunk);
      EXPECT_NEAR(got.nll_N.mean().item<double>(), loss.nll.item<double>(), tol);
      EXPECT_FALSE(got.nll_N.requires_grad());
    }
  }
}

}  // namespace
}  // namespace hld::objectives
