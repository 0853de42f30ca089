// The hidden-state term of several pairs (issue 20): cosine = D/2 × nmse, the single default
// pair is the paper's term exactly, and float64 finite differences agree with autograd for a
// multi-pair loss through per-pair regressors (linear and MLP; nmse, cosine, mse).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "hld/config/hidden_pairs.h"
#include "hld/config/loader.h"
#include "hld/objectives/hidden_loss.h"
#include "hld/objectives/losses.h"
#include "hld/objectives/regressor.h"

namespace hld::objectives {
namespace {

TEST(HiddenPairLoss, CosineIsHalfDTimesNormalisedMse) {
  torch::manual_seed(0);
  for (int64_t d : {1, 7, 64}) {
    auto t = torch::randn({13, d}, torch::kFloat64) * 3, s = torch::randn({13, d}, torch::kFloat64);
    const double nmse = normalized_mse(t, s, "mean").item<double>();
    const double cos = cosine_distance(t, s).item<double>();
    EXPECT_NEAR(cos, d / 2.0 * nmse, 1e-12 * std::max(1.0, cos)) << "d = " << d;
    EXPECT_NEAR(cos, 0.5 * normalized_mse(t, s, "sum_dims").item<double>(), 1e-12);
    EXPECT_NEAR(hidden_pair_loss(config::HiddenLoss::kCosine, t, s).item<double>(), cos, 0);
  }
  auto t = torch::randn({5, 8}, torch::kFloat64);
  EXPECT_NEAR(cosine_distance(t, 2 * t).item<double>(), 0, 1e-12);
  EXPECT_NEAR(cosine_distance(t, -t).item<double>(), 2, 1e-12);
  EXPECT_NEAR(raw_mse(t, t + 1).item<double>(), 1, 1e-12);
  EXPECT_NEAR(raw_mse(t, t + 1, "sum_dims").item<double>(), 8, 1e-12);
  EXPECT_TRUE(
      torch::equal(hidden_pair_loss(config::HiddenLoss::kNmse, t, 2 * t + 1), normalized_mse(t, 2 * t + 1, "mean")));
}

config::ExperimentConfig two_pair_config() {
  return config::load_string(
      "model: {name: s, vocab_size: 256, hidden_size: 6, intermediate_size: 12, num_layers: 2, num_heads: 2, "
      "num_kv_heads: 1, head_dim: 4}\n"
      "teacher: {model: {name: t, vocab_size: 256, hidden_size: 5, intermediate_size: 8, num_layers: 4, "
      "num_heads: 2, num_kv_heads: 1, head_dim: 4}}\n"
      "objective: {name: hldc, regressor_expansion: 2, hidden_pairs: [{student: 1, teacher: 1, regressor: linear}, "
      "{student: 2, teacher: 4, loss: cosine, weight: 0.5, regressor: mlp}, {student: 2, teacher: 2, loss: mse, "
      "weight: 0.25, regressor: gated_mlp}]}\n");
}

TEST(HiddenPairLoss, MultiPairGradientsMatchFiniteDifferencesInFloat64) {
  const auto cfg = two_pair_config();
  const auto pairs = config::resolve_hidden_pairs(cfg, 4);
  ASSERT_EQ(pairs.size(), 3u);
  torch::manual_seed(1);
  Regressor reg = make_regressor(cfg, *cfg.teacher.model);
  ASSERT_EQ(reg->num_pairs(), 3u);
  reg->to(torch::kFloat64);
  {
    torch::NoGradGuard ng;
    for (auto& p : reg->parameters()) p.normal_(0, 0.5);
  }
  std::map<int64_t, torch::Tensor> student;
  student[1] = torch::randn({2, 3, 6}, torch::kFloat64).requires_grad_(true);
  student[2] = torch::randn({2, 3, 6}, torch::kFloat64).requires_grad_(true);
  TeacherSignals t;
  for (size_t p = 0; p < 3; ++p) t.hidden_NxD.push_back(torch::randn({6, 5}, torch::kFloat64));
  auto loss = [&] { return hidden_pairs_loss(cfg, pairs, student, reg, t); };
  auto l = loss();
  ASSERT_EQ(l.scalar_type(), torch::kFloat64);
  std::vector<torch::Tensor> wrt = {student[1], student[2]};
  for (auto& p : reg->parameters()) wrt.push_back(p);
  const auto grads = torch::autograd::grad({l}, wrt);
  const double eps = 1e-6;
  double worst = 0;
  for (size_t i = 0; i < wrt.size(); ++i) {
    auto flat = wrt[i].view({-1});
    for (int64_t j = 0; j < std::min<int64_t>(flat.numel(), 12); ++j) {
      const int64_t at = (j * 7919) % flat.numel();
      double fd;
      {
        torch::NoGradGuard ng;
        const double x = flat[at].item<double>();
        flat[at].fill_(x + eps);
        const double up = loss().item<double>();
        flat[at].fill_(x - eps);
        const double down = loss().item<double>();
        flat[at].fill_(x);
        fd = (up - down) / (2 * eps);
      }
      const double g = grads[i].view({-1})[at].item<double>();
      const double err = std::abs(g - fd) / std::max(1e-6, std::abs(fd) + std::abs(g));
      worst = std::max(worst, err);
      EXPECT_LT(err, 1e-6) << "tensor " << i << " entry " << at << ": autograd " << g << ", fd " << fd;
    }
  }
  std::printf("[ measured ] 3-pair hidden loss: worst relative |autograd - fd| %.2e\n", worst);
  // The total is the weighted sum of the pairs' own losses.
  torch::NoGradGuard ng;
  double sum = 0;
  for (size_t p = 0; p < 3; ++p) {
    auto h = student.at(pairs[p].student).reshape({-1, 6});
    sum += pairs[p].weight * hidden_pair_loss(pairs[p].loss, t.hidden_NxD[p], reg->forward_pair(p, h)).item<double>();
  }
  EXPECT_NEAR(loss().item<double>(), sum, 1e-12);
}

// The paper's single pair is a list of one: pair 0's regressor, initialised as a lone one would be.
TEST(HiddenPairLoss, OnePairRegressorIsPairZero) {
  auto cfg = two_pair_config();
  cfg.objective.hidden_pairs.clear();
  torch::manual_seed(3);
  Regressor one = make_regressor(cfg, *cfg.teacher.model);
  torch::manual_seed(3);
  PairRegressor lone(config::RegressorKind::kLinear, 6, 5, 2);
  auto a = one->named_parameters(), b = lone->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& it : b) EXPECT_TRUE(torch::equal(a["pair0." + it.key()], it.value())) << it.key();
  Regressor three = make_regressor(two_pair_config(), *cfg.teacher.model);
  auto names = three->named_parameters().keys();
  EXPECT_NE(std::find(names.begin(), names.end(), "pair1.up.weight"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "pair2.gate.weight"), names.end());
}

}  // namespace
}  // namespace hld::objectives
