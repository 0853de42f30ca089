// Harness metric arithmetic: argmax rules, acc vs acc_norm (length in characters), stderr,
// rolling perplexities.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "hld/eval/metrics.h"

namespace hld::eval {
namespace {

TEST(Metrics, ArgmaxLikeNumpy) {
  EXPECT_EQ(np_argmax({-3, -1, -1, -2}), 1);       // ties: first
  EXPECT_EQ(np_argmax({-3, std::nan(""), 0}), 1);  // NaN wins
  EXPECT_EQ(np_argmax({-std::numeric_limits<double>::infinity(), -5}), 1);
}

TEST(Metrics, AccAndAccNormDisagree) {
  ChoiceDoc d;
  d.choices = {"no", "a much longer answer"};  // 2 and 20 characters
  d.gold = 1;
  // acc: -2 > -10 → choice 0 (wrong). acc_norm: -2/2 = -1 < -10/20 = -0.5 → choice 1 (right).
  const auto o = choice_outcome(d, {-2.0, -10.0});
  EXPECT_EQ(o.pred, 0);
  EXPECT_EQ(o.pred_norm, 1);
  EXPECT_FALSE(o.acc);
  EXPECT_TRUE(o.acc_norm);
  // Length counts code points, not bytes: "ééé" is 3 characters (6 bytes).
  ChoiceDoc u;
  u.choices = {"ééé", "abcd"};
  u.gold = 0;
  const auto p = choice_outcome(u, {-3.0, -3.9});  // -1.0 vs -0.975 by characters; by bytes -0.5 would win
  EXPECT_EQ(p.pred_norm, 1);
}

TEST(Metrics, MeanStderrIsSampleStddevOverSqrtN) {
  const auto m = mean_stderr({1, 0, 1, 1});
  EXPECT_DOUBLE_EQ(m.mean, 0.75);
  EXPECT_NEAR(m.se, 0.25, 1e-15);  // sample variance 0.75/3 = 0.25 → stddev 0.5, / sqrt(4)
  EXPECT_EQ(mean_stderr({1}).se, 0.0);
}

TEST(Metrics, RollingPerplexities) {
  RollingTotals t;
  t.logprob = -20.0;
  t.tokens = 10;
  t.words = 4;
  t.bytes = 16;
  t.docs = 2;
  const auto j = rolling_metrics(t);
  EXPECT_DOUBLE_EQ(j["log_perplexity"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(j["word_perplexity"].get<double>(), std::exp(5.0));
  EXPECT_DOUBLE_EQ(j["byte_perplexity"].get<double>(), std::exp(1.25));
  EXPECT_DOUBLE_EQ(j["bits_per_byte"].get<double>(), 1.25 / std::log(2.0));
  EXPECT_EQ(j["examples"].get<int64_t>(), 2);
}

}  // namespace
}  // namespace hld::eval
