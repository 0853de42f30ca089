// Loss terms against hand-computed values and finite differences (float64).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "hld/config/loader.h"
#include "hld/objectives/losses.h"
#include "hld/objectives/objective.h"
#include "hld/objectives/regressor.h"

namespace hld::objectives {
namespace {

TEST(Kd, IdenticalDistributionsGiveZero) {
  torch::manual_seed(0);
  auto z = torch::randn({6, 20}, torch::kFloat64);
  auto [v, i] = top_k_logits(z, 20);
  EXPECT_NEAR(kd_kl(z, v.to(torch::kFloat64), i, 1.0).item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(kd_kl(z, v.to(torch::kFloat64), i, 0.5).item<double>(), 0.0, 1e-12);
}

TEST(Kd, FullVocabularyEqualsFullKl) {
  torch::manual_seed(1);
  auto zs = torch::randn({5, 12}, torch::kFloat64), zt = torch::randn({5, 12}, torch::kFloat64);
  auto [v, i] = zt.topk(12, -1);  // k = V, kept in float64 (top_k_logits stores float32)
  auto pt = torch::softmax(zt, -1);
  auto full = (pt * (torch::log_softmax(zt, -1) - torch::log_softmax(zs, -1))).sum(-1).mean();
  EXPECT_NEAR(kd_kl(zs, v, i, 1.0).item<double>(), full.item<double>(), 1e-12);
}

TEST(Kd, TopKRenormalisationAndTemperatureSquared) {
  // One token, V = 4: teacher keeps k = 2 entries (logits 2, 1 at indices 0, 3).
  auto zs = torch::tensor({{0.5, -1.0, 0.0, 1.0}}, torch::kFloat64);
  auto vals = torch::tensor({{2.0, 1.0}}, torch::kFloat64);
  auto idx = torch::tensor({{0, 3}}, torch::kInt64);
  for (double tau : {1.0, 0.5, 2.0}) {
    const double e0 = std::exp(2.0 / tau), e1 = std::exp(1.0 / tau);
    const double p0 = e0 / (e0 + e1), p1 = e1 / (e0 + e1);  // renormalised over the 2 kept
    double zsum = 0;
    for (double z : {0.5, -1.0, 0.0, 1.0}) zsum += std::exp(z / tau);
    const double lq0 = 0.5 / tau - std::log(zsum), lq1 = 1.0 / tau - std::log(zsum);
    const double kl = p0 * (std::log(p0) - lq0) + p1 * (std::log(p1) - lq1);
    EXPECT_NEAR(kd_kl(zs, vals, idx, tau).item<double>(), tau * tau * kl, 1e-12) << "tau " << tau;
  }
}

TEST(HiddenLoss, ParallelIsZeroOrthogonalIsTwoOverD) {
  const int64_t d = 8;
  auto a = torch::randn({3, d}, torch::kFloat64);
  EXPECT_NEAR(normalized_mse(a, 5.0 * a).item<double>(), 0.0, 1e-14);
  auto e0 = torch::zeros({1, d}, torch::kFloat64), e1 = torch::zeros({1, d}, torch::kFloat64);
  e0[0][0] = 1.0;
  e1[0][1] = 3.0;
  EXPECT_NEAR(normalized_mse(e0, e1).item<double>(), 2.0 / d, 1e-14);
  EXPECT_NEAR(normalized_mse(e0, e1, "sum_dims").item<double>(), 2.0, 1e-14);
}

TEST(Nll, MatchesCrossEntropy) {
  auto z = torch::randn({7, 11}, torch::kFloat64);
  auto t = torch::randint(0, 11, {7}, torch::kInt64);
  EXPECT_NEAR(nll(z, t).item<double>(), torch::nn::functional::cross_entropy(z, t).item<double>(), 1e-12);
}

config::ExperimentConfig tiny_cfg(const std::string& objective) {
  return config::load_string(
      "model: {vocab_size: 30, hidden_size: 8, intermediate_size: 12, num_layers: 2,"
      " num_heads: 2, num_kv_heads: 1, head_dim: 4, query_pre_attn_scalar: 4,"
      " sliding_window: 4}\n"
      "teacher: {model: {vocab_size: 30, hidden_size: 6, intermediate_size: 8,"
      " num_layers: 2, num_heads: 2, num_kv_heads: 1, head_dim: 4}}\n"
      "objective: {name: " +
      objective +
      ", alpha: 0.6, temperature: 0.7, top_k: 5,"
      " gamma: 0.3}\n");
}

struct Setup {
  config::ExperimentConfig cfg;
  model::Transformer student{nullptr};
  Regressor reg{nullptr};
  torch::Tensor input, target;
  TeacherSignals sig;
};

Setup make_setup(const std::string& objective) {
  Setup s;
  s.cfg = tiny_cfg(objective);
  torch::manual_seed(3);
  s.student = model::Transformer(s.cfg.model);
  s.student->to(torch::kFloat64);
  s.reg = Regressor(std::vector{s.cfg.regressor_kind()}, 8, 6, 4.0);
  s.reg->to(torch::kFloat64);
  // Inputs without the pad id 0: its embedding row gets no gradient from lookups (padding_idx, as
  // in Hugging Face's Gemma 3), which a finite difference through the lookup would not see.
  s.input = torch::randint(1, 30, {2, 5}, torch::kInt64);
  s.target = torch::randint(0, 30, {2, 5}, torch::kInt64);
  auto zt = torch::randn({10, 30}, torch::kFloat64);
  std::tie(s.sig.vals_NxK, s.sig.idx_NxK) = top_k_logits(zt, 5);
  s.sig.vals_NxK = s.sig.vals_NxK.to(torch::kFloat64);
  s.sig.hidden_NxD = {torch::randn({10, 6}, torch::kFloat64)};
  return s;
}

TEST(Objective, HldcWithZeroGammaEqualsKd) {
  auto s = make_setup("hldc");
  auto kd_cfg = s.cfg;
  kd_cfg.objective.name = config::Objective::kKd;
  s.cfg.objective.gamma = 0.0;
  auto a =
      compute_loss(s.cfg, spec::of(config::Objective::kHldc).phases[0], s.student, &s.reg, s.input, s.target, &s.sig)
          .loss.item<double>();
  auto b =
      compute_loss(kd_cfg, spec::of(config::Objective::kKd).phases[0], s.student, nullptr, s.input, s.target, &s.sig)
          .loss.item<double>();
  EXPECT_DOUBLE_EQ(a, b);
}

// Central finite differences on a few parameter entries of the student and the regressor.
void check_gradients(const std::string& objective, size_t phase_index) {
  auto s = make_setup(objective);
  const spec::PhaseSpec& phase = spec::of(s.cfg.objective.name).phases.at(phase_index);
  auto loss_fn = [&] { return compute_loss(s.cfg, phase, s.student, &s.reg, s.input, s.target, &s.sig).loss; };
  std::vector<torch::Tensor> params;
  for (auto& p : s.student->parameters()) params.push_back(p);
  for (auto& p : s.reg->parameters()) params.push_back(p);
  for (auto& p : params) p.mutable_grad() = torch::Tensor();
  loss_fn().backward();
  torch::NoGradGuard ng;
  int checked = 0;
  for (size_t pi = 0; pi < params.size(); pi += 3) {
    auto& p = params[pi];
    if (!p.grad().defined()) continue;
    auto flat = p.view({-1});
    for (int64_t j : {int64_t(0), flat.numel() / 2}) {
      const double orig = flat[j].item<double>(), h = 1e-6;
      flat[j] = orig + h;
      const double up = loss_fn().item<double>();
      flat[j] = orig - h;
      const double dn = loss_fn().item<double>();
      flat[j] = orig;
      const double fd = (up - dn) / (2 * h), an = p.grad().view({-1})[j].item<double>();
      EXPECT_NEAR(an, fd, 1e-6 + 1e-5 * std::fabs(fd)) << objective << " param " << pi << " entry " << j;
      ++checked;
    }
  }
  EXPECT_GT(checked, 4);
}

TEST(Objective, FiniteDifferenceGradients) {
  check_gradients("nll", 0);
  check_gradients("kd", 0);
  check_gradients("hldc", 0);
  check_gradients("hldf", 0);  // the hint phase
  check_gradients("hldf", 1);
}

// Loss-balanced HLDC: the hidden term enters with the KD term's value, γ·H·sg(KD/H). So its loss is
// (1 − α)·NLL + α·KD + γ·KD, and its gradients are HLDC's with γ' = γ·KD/H held fixed.
TEST(Objective, BalancedHldcIsHldcWithTheHiddenTermScaledToKd) {
  auto s = make_setup("hldc_balanced");
  const auto& o = s.cfg.objective;
  std::vector<torch::Tensor> params;
  for (auto& p : s.student->parameters()) params.push_back(p);
  for (auto& p : s.reg->parameters()) params.push_back(p);
  auto grads = [&](const config::ExperimentConfig& cfg) {
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    auto out = compute_loss(cfg, spec::of(cfg.objective.name).phases[0], s.student, &s.reg, s.input, s.target, &s.sig);
    out.loss.backward();
    std::vector<torch::Tensor> g;
    for (auto& p : params) g.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
    return std::make_pair(out, g);
  };
  const auto [balanced, gb] = grads(s.cfg);
  const double nll = balanced.terms.at("nll").item<double>(), kd = balanced.terms.at("kd").item<double>();
  const double hidden = balanced.terms.at("hidden").item<double>();
  EXPECT_NEAR(balanced.loss.item<double>(), (1 - o.alpha) * nll + o.alpha * kd + o.gamma * kd, 1e-12);
  ASSERT_GT(std::fabs(kd / hidden - 1), 0.05) << "the test needs KD and H of different sizes";
  auto hldc = s.cfg;
  hldc.objective.name = config::Objective::kHldc;
  hldc.objective.gamma = o.gamma * kd / hidden;
  const auto [plain, gp] = grads(hldc);
  EXPECT_NEAR(plain.loss.item<double>(), balanced.loss.item<double>(), 1e-12);
  for (size_t i = 0; i < params.size(); ++i) {
    ASSERT_EQ(gb[i].defined(), gp[i].defined()) << "param " << i;
    if (gb[i].defined()) {
      EXPECT_TRUE(torch::allclose(gb[i], gp[i], 1e-10, 1e-12)) << "param " << i;
    }
  }
}

}  // namespace
}  // namespace hld::objectives
