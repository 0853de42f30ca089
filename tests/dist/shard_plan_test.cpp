// ZeRO-1 partition: every element owned by exactly one rank, cuts aligned inside tensors, pieces
// of about 1/W of each bucket, the same plan for the same shapes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "hld/dist/shard_plan.h"

namespace hld::dist {
namespace {

std::vector<torch::Tensor> shapes() {
  return {torch::zeros({1000, 7}), torch::zeros({5}), torch::zeros({300, 33}), torch::zeros({64}),
          torch::zeros({4097})};
}

TEST(ShardPlan, EveryElementOwnedOnceWithAlignedCuts) {
  const auto ts = shapes();
  for (int world : {1, 2, 3, 4, 7}) {
    for (int64_t cap : {int64_t{4096}, int64_t{1} << 20}) {
      const auto plan = plan_shards(ts, world, cap);
      ASSERT_EQ(plan.ranges.size(), static_cast<size_t>(world));
      for (size_t i = 0; i < ts.size(); ++i) {
        std::vector<int> owners(static_cast<size_t>(ts[i].numel()), 0);
        for (int r = 0; r < world; ++r) {
          const auto& s = plan.ranges[r][i];
          if (s.count == 0) continue;
          EXPECT_EQ(s.begin % 64, 0) << "world " << world << " tensor " << i;
          for (int64_t k = s.begin; k < s.begin + s.count; ++k) ++owners[static_cast<size_t>(k)];
        }
        for (int o : owners) ASSERT_EQ(o, 1) << "world " << world << " tensor " << i;
      }
      int64_t total = 0, n = 0;
      for (const auto& t : ts) n += t.numel();
      for (size_t b = 0; b < plan.buckets.size(); ++b)
        for (int r = 0; r < world; ++r) total += plan.piece[b][r];
      EXPECT_EQ(total, n);
    }
  }
}

TEST(ShardPlan, PiecesAreAboutOneOverW) {
  const auto plan = plan_shards(shapes(), 2, int64_t{1} << 20);  // one bucket
  ASSERT_EQ(plan.buckets.size(), 1u);
  const int64_t n = plan.buckets[0].numel;
  EXPECT_NEAR(static_cast<double>(plan.piece[0][0]), n / 2.0, 64);
  EXPECT_EQ(plan.piece[0][0] + plan.piece[0][1], n);
}

}  // namespace
}  // namespace hld::dist
