// Logit divergences (divergence.h) on real float64 tensors: the identities of issue 20 (jsd's end
// points are the two KLs, skew_kl at 1 is forward KL, every divergence is 0 at p_S = p_T and
// positive elsewhere, tail: bucket with K = V equals renormalise), kd_kl is the paper's spec
// bitwise, central finite differences for every divergence with and without the bucket, and the
// chunked training loss equals the reference in value and in its hand-written gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "hld/objectives/chunked_lm_loss.h"
#include "hld/objectives/divergence.h"
#include "hld/objectives/losses.h"
#include "hld/util/error.h"
#include "objectives/divergence_spec.h"

namespace hld::objectives {
namespace {

using config::Divergence;
using config::TailMode;

const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);

/// A teacher's logits, its top-k (vals, idx), its full log-sum-exp at τ, and a student's logits.
struct Case {
  torch::Tensor teacher_NxV, vals, idx, logz, student_NxV;
};

Case make_case(int64_t N, int64_t V, int64_t K, double tau, uint64_t seed) {
  torch::manual_seed(seed);
  Case c;
  c.teacher_NxV = torch::randn({N, V}, f64) * 2;
  auto r = c.teacher_NxV.topk(K, -1);
  c.vals = std::get<0>(r);
  c.idx = std::get<1>(r);
  c.logz = torch::logsumexp(c.teacher_NxV / tau, -1);
  c.student_NxV = torch::randn({N, V}, f64) * 1.5;
  return c;
}

using test::spec;

double kd(const DivergenceSpec& s, const Case& c, const torch::Tensor& student, double tau = 1.0) {
  return kd_divergence(s, student, c.vals, c.idx, c.logz, tau).item<double>();
}

/// Every divergence with representative parameters (name for messages).
std::vector<std::pair<std::string, DivergenceSpec>> all_specs(TailMode tail) {
  return {{"forward_kl", spec(Divergence::kForwardKl, tail)},
          {"reverse_kl", spec(Divergence::kReverseKl, tail)},
          {"jsd(0.3)", spec(Divergence::kJsd, tail, 0.3)},
          {"jsd(0)", spec(Divergence::kJsd, tail, 0.0)},
          {"jsd(1)", spec(Divergence::kJsd, tail, 1.0)},
          {"skew_kl(0.6)", spec(Divergence::kSkewKl, tail, 0.5, 0.6)},
          {"skew_kl(1)", spec(Divergence::kSkewKl, tail, 0.5, 1.0)},
          {"tvd", spec(Divergence::kTvd, tail)}};
}

const TailMode kTails[] = {TailMode::kRenormalise, TailMode::kBucket};
const char* tail_name(TailMode t) { return config::to_string(t); }

TEST(Divergence, JsdEndPointsAreTheTwoKls) {
  for (double tau : {1.0, 2.0}) {
    const auto c = make_case(6, 20, 5, tau, 1);
    for (auto tail : kTails) {
      const double fkl = kd(spec(Divergence::kForwardKl, tail), c, c.student_NxV, tau);
      const double rkl = kd(spec(Divergence::kReverseKl, tail), c, c.student_NxV, tau);
      EXPECT_DOUBLE_EQ(kd(spec(Divergence::kJsd, tail, 0.0), c, c.student_NxV, tau), fkl) << tail_name(tail);
      EXPECT_DOUBLE_EQ(kd(spec(Divergence::kJsd, tail, 1.0), c, c.student_NxV, tau), rkl) << tail_name(tail);
      EXPECT_GT(std::abs(fkl - rkl), 1e-3);  // the two really differ on this case
      // Inside (0, 1): positive, and (convexity, proper distributions under the bucket) at most
      // β(1 − β)(forward + reverse).
      const double mid = kd(spec(Divergence::kJsd, tail, 0.5), c, c.student_NxV, tau);
      EXPECT_GT(mid, 0);
      if (tail == TailMode::kBucket) {
        EXPECT_LE(mid, 0.25 * (fkl + rkl));
      }
    }
  }
}

TEST(Divergence, SkewAtOneIsForwardKl) {
  const auto c = make_case(6, 20, 5, 1.0, 2);
  for (auto tail : kTails) {
    const double fkl = kd(spec(Divergence::kForwardKl, tail), c, c.student_NxV);
    EXPECT_NEAR(kd(spec(Divergence::kSkewKl, tail, 0.5, 1.0), c, c.student_NxV), fkl, 1e-12 * std::abs(fkl))
        << tail_name(tail);
    // λ → 0 mixes in the teacher itself: the value shrinks towards 0.
    EXPECT_LT(kd(spec(Divergence::kSkewKl, tail, 0.5, 0.1), c, c.student_NxV), fkl);
  }
}

TEST(Divergence, ZeroAtEqualDistributionsPositiveElsewhere) {
  for (auto tail : kTails) {
    for (const auto& [name, s] : all_specs(tail)) {
      // K = V: the student's distribution equal to the teacher's.
      const auto full = make_case(4, 9, 9, 1.0, 3);
      EXPECT_NEAR(kd(s, full, full.teacher_NxV + 0.7), 0.0, 1e-10) << name << " " << tail_name(tail);
      EXPECT_GT(kd(s, full, full.student_NxV), 1e-4) << name << " " << tail_name(tail);
      // K < V, random student: strictly positive.
      const auto c = make_case(4, 30, 6, 1.0, 4);
      EXPECT_GT(kd(s, c, c.student_NxV), 1e-4) << name << " " << tail_name(tail);
      if (tail == TailMode::kBucket) {
        // The bucket compares full distributions: a student equal to the teacher scores 0.
        EXPECT_NEAR(kd(s, c, c.teacher_NxV - 1.3), 0.0, 1e-10) << name;
      } else {
        // Renormalise: p_T lives on the K ids; a student with all its mass there, in the teacher's
        // proportions, scores 0.
        auto st = torch::full_like(c.teacher_NxV, -1e30).scatter(1, c.idx, c.vals);
        EXPECT_NEAR(kd(s, c, st), 0.0, 1e-10) << name;
      }
    }
  }
}

TEST(Divergence, BucketWithFullSupportEqualsRenormalise) {
  const auto c = make_case(5, 12, 12, 1.0, 5);
  for (const auto& [name, s] : all_specs(TailMode::kBucket)) {
    auto r = s;
    r.tail = TailMode::kRenormalise;
    const double b = kd(s, c, c.student_NxV), n = kd(r, c, c.student_NxV);
    EXPECT_NEAR(b, n, 1e-9 * std::max(1.0, std::abs(n))) << name;
  }
  // And with K < V they differ: the bucket sees the teacher's mass beyond the top-k.
  const auto k = make_case(5, 40, 4, 1.0, 5);
  EXPECT_GT(std::abs(kd(spec(Divergence::kForwardKl, TailMode::kBucket), k, k.student_NxV) -
                     kd(spec(Divergence::kForwardKl, TailMode::kRenormalise), k, k.student_NxV)),
            1e-3);
}

TEST(Divergence, KdKlIsThePaperSpecBitwise) {
  torch::manual_seed(6);
  auto logits = torch::randn({16, 50}) * 3;  // float32, like training
  auto teacher = torch::randn({16, 50}) * 3;
  auto [vals, idx] = top_k_logits(teacher, 8);
  for (double tau : {1.0, 2.0}) {
    // The paper's formula written out, as losses.cpp had it before divergences existed.
    auto log_pt = torch::log_softmax(vals / tau, -1);
    auto log_ps = torch::log_softmax(logits / tau, -1).gather(1, idx);
    auto ref = (log_pt.exp() * (log_pt - log_ps)).sum(-1).mean() * (tau * tau);
    EXPECT_TRUE(torch::equal(kd_kl(logits, vals, idx, tau), ref));
    EXPECT_TRUE(torch::equal(kd_divergence(DivergenceSpec{}, logits, vals, idx, torch::Tensor(), tau), ref));
  }
}

/// Central differences of f at x (float64), one entry at a time.
torch::Tensor numeric_grad(const std::function<double(const torch::Tensor&)>& f, const torch::Tensor& x,
                           double eps = 1e-6) {
  auto g = torch::zeros_like(x);
  auto xf = x.clone();
  auto* p = xf.data_ptr<double>();
  auto* gp = g.data_ptr<double>();
  for (int64_t i = 0; i < xf.numel(); ++i) {
    const double x0 = p[i];
    p[i] = x0 + eps;
    const double up = f(xf);
    p[i] = x0 - eps;
    const double dn = f(xf);
    p[i] = x0;
    gp[i] = (up - dn) / (2 * eps);
  }
  return g;
}

TEST(Divergence, FiniteDifferenceGradientsEveryDivergenceAndTail) {
  for (double tau : {1.0, 1.7}) {
    const auto c = make_case(3, 10, 4, tau, 7);
    for (auto tail : kTails) {
      for (const auto& [name, s] : all_specs(tail)) {
        auto x = c.student_NxV.clone().requires_grad_(true);
        auto loss = kd_divergence(s, x, c.vals, c.idx, c.logz, tau);
        auto analytic = torch::autograd::grad({loss}, {x})[0];
        auto numeric = numeric_grad([&](const torch::Tensor& z) { return kd(s, c, z, tau); }, c.student_NxV);
        const double err = (analytic - numeric).abs().max().item<double>();
        EXPECT_LT(err, 1e-7 * std::max(1.0, numeric.abs().max().item<double>()))
            << name << " " << tail_name(tail) << " tau " << tau;
        EXPECT_GT(analytic.abs().max().item<double>(), 1e-4) << name;
      }
    }
  }
}

// The training loss: chunked_lm_loss with a divergence equals (1−α)·NLL + α·kd_divergence on the
// materialised logits h·Wᵀ, in value and in dL/dh, dL/dW (its backward is written by hand),
// over chunks that do not divide N, with and without the NLL term, at τ = 1 and τ ≠ 1.
TEST(Divergence, ChunkedLossMatchesReferenceValueAndGradients) {
  const int64_t N = 7, D = 5, V = 13, K = 4;
  for (double tau : {1.0, 2.0}) {
    torch::manual_seed(8);
    auto h0 = torch::randn({N, D}, f64), w0 = torch::randn({V, D}, f64) * 0.5;
    auto targets = torch::randint(0, V, {N}, torch::kLong);
    auto teacher = torch::randn({N, V}, f64) * 2;
    auto [vals, idx] = teacher.topk(K, -1);
    auto logz = torch::logsumexp(teacher / tau, -1);
    for (auto tail : kTails) {
      for (const auto& [name, s] : all_specs(tail)) {
        for (double alpha : {1.0, 0.6}) {
          auto h = h0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
          auto logits = torch::matmul(h, w.t());
          auto ref = (1 - alpha) * nll(logits, targets) + alpha * kd_divergence(s, logits, vals, idx, logz, tau);
          auto ref_g = torch::autograd::grad({ref}, {h, w});
          for (int64_t chunk : {N, int64_t{3}}) {
            auto hc = h0.clone().requires_grad_(true), wc = w0.clone().requires_grad_(true);
            auto t = chunked_lm_loss(hc, wc, targets, vals, idx, tau, chunk, s, logz);
            auto loss = alpha == 1.0 ? t.kd : (1 - alpha) * t.nll + alpha * t.kd;
            auto g = torch::autograd::grad({loss}, {hc, wc});
            const std::string what = name + " " + tail_name(tail) + " tau " + std::to_string(tau) + " chunk " +
                                     std::to_string(chunk) + " alpha " + std::to_string(alpha);
            EXPECT_NEAR(loss.item<double>(), ref.item<double>(), 1e-11) << what;
            EXPECT_LT((g[0] - ref_g[0]).abs().max().item<double>(), 1e-10) << what;
            EXPECT_LT((g[1] - ref_g[1]).abs().max().item<double>(), 1e-10) << what;
          }
        }
      }
    }
  }
}

TEST(Divergence, ChunkedLossFiniteDifferences) {
  // The hand-written backward against central differences of the chunked loss itself (float64).
  const int64_t N = 5, D = 4, V = 11, K = 3;
  const double tau = 1.5;
  torch::manual_seed(11);
  auto h0 = torch::randn({N, D}, f64), w = torch::randn({V, D}, f64) * 0.5;
  auto targets = torch::randint(0, V, {N}, torch::kLong);
  auto teacher = torch::randn({N, V}, f64) * 2;
  auto [vals, idx] = teacher.topk(K, -1);
  auto logz = torch::logsumexp(teacher / tau, -1);
  for (auto tail : kTails) {
    for (const auto& [name, s] : all_specs(tail)) {
      auto value = [&](const torch::Tensor& h) {
        auto t = chunked_lm_loss(h, w, targets, vals, idx, tau, 2, s, logz);
        return (0.3 * t.nll + 0.7 * t.kd).item<double>();
      };
      auto h = h0.clone().requires_grad_(true);
      auto t = chunked_lm_loss(h, w, targets, vals, idx, tau, 2, s, logz);
      auto analytic = torch::autograd::grad({0.3 * t.nll + 0.7 * t.kd}, {h})[0];
      auto numeric = numeric_grad(value, h0);
      EXPECT_LT((analytic - numeric).abs().max().item<double>(), 1e-7) << name << " " << tail_name(tail);
    }
  }
}

TEST(Divergence, ChunkedPaperSpecIsUnchangedBitwise) {
  // The default spec and an explicit forward_kl/renormalise spec run the same closed-form path.
  torch::manual_seed(9);
  auto h = torch::randn({9, 6}), w = torch::randn({17, 6}) * 0.5;
  auto targets = torch::randint(0, 17, {9}, torch::kLong);
  auto [vals, idx] = top_k_logits(torch::randn({9, 17}) * 2, 5);
  auto a = chunked_lm_loss(h, w, targets, vals, idx, 1.0, 4);
  auto b = chunked_lm_loss(h, w, targets, vals, idx, 1.0, 4, spec(Divergence::kForwardKl, TailMode::kRenormalise));
  EXPECT_TRUE(torch::equal(a.kd, b.kd));
  EXPECT_TRUE(torch::equal(a.nll, b.nll));
}

TEST(Divergence, BucketWithoutLogSumExpIsRefusedNamingTheKey) {
  const auto c = make_case(4, 10, 3, 1.0, 10);
  auto h = torch::randn({4, 3}, f64), w = torch::randn({10, 3}, f64);
  auto targets = torch::randint(0, 10, {4}, torch::kLong);
  const auto s = spec(Divergence::kJsd, TailMode::kBucket);
  for (const auto& logz : {torch::Tensor(), torch::zeros({2}, f64)}) {
    try {
      chunked_lm_loss(h, w, targets, c.vals, c.idx, 1.0, 4, s, logz);
      ADD_FAILURE() << "tail: bucket without the teacher's log-sum-exp was accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("objective.tail"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(kd_divergence(s, c.student_NxV, c.vals, c.idx, torch::Tensor(), 1.0), InputError);
}

}  // namespace
}  // namespace hld::objectives
