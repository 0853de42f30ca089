// The sampled-logits KD estimator (issue 20 part 2): over many independent draws ("caches") of
// one small teacher, the mean sparse loss lies within a 4-standard-error interval of the
// full-vocabulary KL, while the top-k renormalised loss on the same teacher is biased by many
// standard errors; counts are unique ids with their draw counts.
#include <gtest/gtest.h>

#include <cmath>

#include "hld/objectives/losses.h"
#include "hld/teacher/sampled_logits.h"

namespace hld::teacher {
namespace {

TEST(SampledLogits, DrawsAreUniqueIdsWithCounts) {
  auto gen = at::detail::createCPUGenerator(11);
  auto z = torch::tensor({{5.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 0.0f}});
  const auto s = sample_logits(z, 16, 1.0, gen);
  EXPECT_TRUE(torch::equal(s.counts_NxK.sum(-1), torch::full({2}, 16.0f)));
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t j = 1; j < 16; ++j) {
      const bool repeat = s.idx_NxK[r][j].item<int64_t>() == s.idx_NxK[r][j - 1].item<int64_t>();
      EXPECT_GE(s.idx_NxK[r][j].item<int64_t>(), s.idx_NxK[r][j - 1].item<int64_t>());
      if (repeat) EXPECT_EQ(s.counts_NxK[r][j].item<float>(), 0.0f);
    }
  EXPECT_GE(s.counts_NxK[0][0].item<float>(), 8.0f);  // p(0) = e^5 / (e^5 + 3) ≈ 0.98
  EXPECT_TRUE(torch::allclose(s.vals_NxK, z.gather(1, s.idx_NxK)));
  EXPECT_NEAR(s.logz_N[1].item<double>(), std::log(4.0), 1e-6);
}

TEST(SampledLogits, SparseEstimateIsUnbiasedWhereTopKIsNot) {
  torch::manual_seed(3);
  const int64_t N = 24, V = 64, k = 8;
  for (double tau : {1.0, 2.0}) {
    const auto teacher_NxV = torch::randn({N, V}) * 2.0, student_NxV = torch::randn({N, V}) * 1.5;
    const double kl = full_kd(student_NxV, teacher_NxV, tau).item<double>();
    const int seeds = 400;
    double sum = 0, sum2 = 0;
    for (int s = 0; s < seeds; ++s) {  // independent caches of the same teacher
      auto gen = at::detail::createCPUGenerator(1000 + s);
      const double e = sampled_kd(student_NxV, sample_logits(teacher_NxV, k, tau, gen), tau).item<double>();
      sum += e;
      sum2 += e * e;
    }
    const double mean = sum / seeds, sd = std::sqrt(std::max(0.0, sum2 / seeds - mean * mean));
    const double se = sd / std::sqrt(double(seeds));
    auto [v, i] = objectives::top_k_logits(teacher_NxV, k);
    const double topk = objectives::kd_kl(student_NxV, v, i, tau).item<double>();
    std::printf(
        "[ measured ] tau %.0f, V %lld, k %lld, %d caches: full KL %.5f, sampled mean %.5f (SE %.5f, %+.2f SE), "
        "top-k renormalised %.5f (%+.1f SE)\n",
        tau, (long long)V, (long long)k, seeds, kl, mean, se, (mean - kl) / se, topk, (topk - kl) / se);
    EXPECT_LT(std::abs(mean - kl), 4 * se) << "tau " << tau;  // 4 SE: a false alarm rate of ~6e-5
    EXPECT_GT(std::abs(topk - kl), 10 * se) << "tau " << tau;
  }
}

}  // namespace
}  // namespace hld::teacher
