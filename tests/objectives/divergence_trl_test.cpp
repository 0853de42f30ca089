// TRL as the referee of the logit divergences: with the support equal to the whole vocabulary
// (K = V, tail renormalise), objective.divergence forward_kl, reverse_kl and jsd(β) must equal
// TRL's own GKDTrainer.generalized_jsd_loss (scripts/referee/trl_divergence.py) on the same
// logits and temperature — value and gradient, through kd_divergence and through the chunked
// training loss (dL/dh, dL/dW). TRL's loss carries no τ² and averages over rows, so ours / τ² is
// compared. A control shows a JSD with β and 1 − β swapped would not pass.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <iomanip>
#include <sstream>

#include "hld/io/safetensors.h"
#include "hld/objectives/chunked_lm_loss.h"
#include "hld/objectives/divergence.h"
#include "referee/referee_util.h"
#include "test_util.h"

namespace hld::objectives {
namespace {

using config::Divergence;
using config::TailMode;

const std::vector<double> kBetas = {0.0, 0.1, 0.5, 0.9, 1.0};
const std::vector<double> kTemperatures = {1.0, 2.0};

/// TRL's case name for (β, τ), as trl_divergence.py writes it ("%g").
std::string case_name(double beta, double tau) {
  std::ostringstream o;
  o << "b" << beta << "_t" << tau;
  return o.str();
}

/// hld-train's spec for TRL's β: 0 → forward_kl, 1 → reverse_kl, else jsd(β).
DivergenceSpec spec_for(double beta) {
  DivergenceSpec s;
  s.tail = TailMode::kRenormalise;
  s.kind = beta == 0.0 ? Divergence::kForwardKl : beta == 1.0 ? Divergence::kReverseKl : Divergence::kJsd;
  s.jsd_beta = beta;
  return s;
}

std::string list(const std::vector<double>& v) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < v.size(); ++i) o << (i ? "," : "") << v[i];
  return o.str() + "]";
}

double rel(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(b.abs().max().item<double>(), 1e-300);
}

TEST(DivergenceTrl, KdAndChunkedLossEqualTrlGeneralizedJsdAtFullSupport) {
  HLD_REQUIRE_VENV_PYTHON();
  const int64_t N = 9, D = 6, V = 23;
  torch::manual_seed(41);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  auto h0 = torch::randn({N, D}, f64), w0 = torch::randn({V, D}, f64) * 0.7;
  auto teacher = torch::randn({N, V}, f64) * 2;
  test::TempDir dir;
  io::save_safetensors(dir / "in.safetensors", {{"h", h0}, {"w", w0}, {"teacher_logits", teacher}},
                       {{"betas", list(kBetas)}, {"temperatures", list(kTemperatures)}});
  auto r = test::run_referee("trl_divergence.py", dir / "in.safetensors " + dir / "trl.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto trl = io::load_safetensors(dir / "trl.safetensors").tensors;

  auto targets = torch::randint(0, V, {N}, torch::kLong);
  for (double tau : kTemperatures) {
    auto [vals, idx] = teacher.topk(V, -1);  // K = V: the whole vocabulary, in the teacher's order
    auto logz = torch::logsumexp(teacher / tau, -1);
    for (double beta : kBetas) {
      const std::string name = case_name(beta, tau);
      ASSERT_TRUE(trl.count("loss." + name)) << name;
      const auto s = spec_for(beta);
      // kd_divergence on the logits z = h·Wᵀ.
      auto z = torch::matmul(h0, w0.t()).requires_grad_(true);
      auto ours = kd_divergence(s, z, vals, idx, logz, tau) / (tau * tau);
      auto gz = torch::autograd::grad({ours}, {z})[0];
      EXPECT_LT(rel(ours.reshape({1}), trl.at("loss." + name)), 1e-12) << name;
      EXPECT_LT(rel(gz, trl.at("grad_z." + name)), 1e-10) << name;
      // The chunked training loss (hand-written backward), chunks that do not divide N.
      for (int64_t chunk : {N, int64_t{4}}) {
        auto h = h0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
        auto kd = chunked_lm_loss(h, w, targets, vals, idx, tau, chunk, s, logz).kd / (tau * tau);
        auto g = torch::autograd::grad({kd}, {h, w});
        const std::string what = name + " chunk " + std::to_string(chunk);
        EXPECT_LT(rel(kd.reshape({1}), trl.at("loss." + name)), 1e-12) << what;
        EXPECT_LT(rel(g[0], trl.at("grad_h." + name)), 1e-10) << what;
        EXPECT_LT(rel(g[1], trl.at("grad_w." + name)), 1e-10) << what;
      }
      // Control: β and 1 − β swapped is far outside those bounds (except at the symmetric 0.5).
      if (beta != 0.5) {
        auto swapped = kd_divergence(spec_for(1.0 - beta), z.detach(), vals, idx, logz, tau) / (tau * tau);
        EXPECT_GT(rel(swapped.reshape({1}), trl.at("loss." + name)), 1e-3) << name;
      }
    }
  }
}

TEST(DivergenceTrl, BadInputIsExit2NamingTheTensor) {
  HLD_REQUIRE_VENV_PYTHON();
  test::TempDir dir;
  io::save_safetensors(dir / "in.safetensors", {{"h", torch::zeros({2, 3})}},
                       {{"betas", "[0]"}, {"temperatures", "[1]"}});
  auto r = test::run_referee("trl_divergence.py", dir / "in.safetensors " + dir / "out.safetensors");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("'h'"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace hld::objectives
