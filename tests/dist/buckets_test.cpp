// Gradient bucket planning: order kept, the byte cap respected, dtypes never mixed, oversized
// tensors alone; flatten/unflatten is an exact round trip.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "hld/dist/buckets.h"

namespace hld::dist {
namespace {

TEST(Buckets, GreedyOrderPreservingWithinTheCap) {
  // float32 tensors of 100, 200, 50, 1000, 10 elements → bytes 400, 800, 200, 4000, 40.
  std::vector<torch::Tensor> ts = {torch::zeros({10, 10}), torch::zeros({200}), torch::zeros({5, 10}),
                                   torch::zeros({1000}), torch::zeros({10})};
  const auto b = plan_buckets(ts, 1200);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].members, (std::vector<size_t>{0, 1}));  // 400 + 800 = 1200 fits exactly
  EXPECT_EQ(b[0].numel, 300);
  EXPECT_EQ(b[1].members, (std::vector<size_t>{2}));  // 200 + 4000 would not fit
  EXPECT_EQ(b[2].members, (std::vector<size_t>{3}));  // larger than the cap: alone
  EXPECT_EQ(b[2].numel, 1000);
  EXPECT_EQ(b[3].members, (std::vector<size_t>{4}));
  // One huge cap: one bucket; a tiny cap: one bucket per tensor.
  EXPECT_EQ(plan_buckets(ts, 1 << 30).size(), 1u);
  EXPECT_EQ(plan_buckets(ts, 1).size(), ts.size());
}

TEST(Buckets, SplitsOnDtypeAndSkipsUndefined) {
  std::vector<torch::Tensor> ts = {torch::zeros({4}), torch::Tensor(), torch::zeros({4}, torch::kFloat64),
                                   torch::zeros({4}, torch::kFloat64), torch::zeros({4})};
  const auto b = plan_buckets(ts, 1 << 20);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].members, (std::vector<size_t>{0}));
  EXPECT_EQ(b[1].members, (std::vector<size_t>{2, 3}));
  EXPECT_EQ(b[1].dtype, torch::kFloat64);
  EXPECT_EQ(b[2].members, (std::vector<size_t>{4}));
}

TEST(Buckets, FlattenUnflattenRoundTrip) {
  torch::manual_seed(1);
  std::vector<torch::Tensor> ts = {torch::randn({3, 4}), torch::randn({5}), torch::randn({2, 2, 2}),
                                   torch::randn({7, 3}).t()};  // a non-contiguous view too
  std::vector<torch::Tensor> orig;
  for (auto& t : ts) orig.push_back(t.clone());
  for (const auto& bucket : plan_buckets(ts, 64)) {
    auto flat = flatten_bucket(ts, bucket, torch::kCPU);
    ASSERT_EQ(flat.dim(), 1);
    ASSERT_EQ(flat.numel(), bucket.numel);
    for (size_t i : bucket.members) ts[i].zero_();
    unflatten_bucket(flat * 2, ts, bucket);
  }
  for (size_t i = 0; i < ts.size(); ++i) EXPECT_TRUE(torch::equal(ts[i], orig[i] * 2)) << i;
}

}  // namespace
}  // namespace hld::dist
