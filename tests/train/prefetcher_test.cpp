// The batch prefetcher: same batches and positions as reading inline, the stream put back where
// the consumer stopped (not where the thread read ahead to), host signals from a cache source,
// and errors raised on the thread delivered to the consumer in order, with their type.
#include <gtest/gtest.h>

#include "hld/data/batch_stream.h"
#include "hld/teacher/teacher.h"
#include "hld/train/prefetcher.h"
#include "hld/util/error.h"
#include "train_fixture.h"

namespace hld::train {
namespace {

/// A host-side "cache": signals that encode each row's sequence index; throws InputError on the
/// `fail_at`-th call (counting from 1; 0: never).
class FakeCache : public teacher::TeacherSource {
 public:
  explicit FakeCache(int fail_at = 0) : fail_at_(fail_at) {}
  objectives::TeacherSignals signals(const torch::Tensor& input_BxT, const std::vector<int64_t>& seq_ids,
                                     const spec::Needs& needs) override {
    HLD_INPUT_CHECK(++calls_ != fail_at_, "fake cache: corrupt chunk at call " + std::to_string(calls_));
    objectives::TeacherSignals s;
    const int64_t N = input_BxT.numel();
    auto ids = torch::tensor(seq_ids, torch::kInt64).repeat_interleave(input_BxT.size(1)).to(torch::kFloat32);
    if (needs.teacher_logits) {
      s.vals_NxK = ids.unsqueeze(1).expand({N, 2}).contiguous();
      s.idx_NxK = input_BxT.reshape({N, 1}).expand({N, 2}).contiguous();
    }
    return s;
  }
  const config::ModelConfig& model_config() const override { return shape_; }

 private:
  int fail_at_, calls_ = 0;
  config::ModelConfig shape_;
};

std::string train_dir() { return test::small_corpus() + "/shards/train"; }

TEST(Prefetcher, GivesTheInlineBatchesAndPutsTheStreamBackWhereTheConsumerStopped) {
  data::BatchStream inline_stream(train_dir(), 3, 32, 7), ahead_stream(train_dir(), 3, 32, 7);
  std::vector<HostBatch> want;
  {
    Prefetcher p(inline_stream, nullptr, {}, 0, false);
    for (int i = 0; i < 5; ++i) want.push_back(p.next());
  }
  {
    Prefetcher p(ahead_stream, nullptr, {}, 4, false);
    for (int i = 0; i < 3; ++i) {
      const HostBatch b = p.next();
      EXPECT_TRUE(torch::equal(b.input_BxT, want[i].input_BxT)) << i;
      EXPECT_TRUE(torch::equal(b.target_BxT, want[i].target_BxT)) << i;
      EXPECT_EQ(b.seq_ids, want[i].seq_ids) << i;
      EXPECT_EQ(b.position, want[i].position) << i;
      EXPECT_FALSE(b.has_signals);
    }
    // Let the thread fill its queue (4 batches past the 3 consumed) before it is stopped.
    for (int i = 0; i < 1000 && p.ready() < 4; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(p.ready(), 4u);
    EXPECT_EQ(ahead_stream.step(), 7);  // the thread waits now: its writes happened before ready()
  }
  EXPECT_EQ(ahead_stream.position(), want[2].position);  // the read-ahead is forgotten
  Prefetcher again(ahead_stream, nullptr, {}, 2, false);
  const HostBatch b = again.next();
  EXPECT_TRUE(torch::equal(b.input_BxT, want[3].input_BxT));
  EXPECT_EQ(b.position, want[3].position);
  // Targets are the inputs shifted by one token.
  EXPECT_TRUE(torch::equal(b.input_BxT.narrow(1, 1, 31), b.target_BxT.narrow(1, 0, 31)));
}

TEST(Prefetcher, ReadsCachedSignalsOnItsThread) {
  data::BatchStream stream(train_dir(), 2, 16, 3);
  FakeCache cache;
  spec::Needs needs{true, false};
  Prefetcher p(stream, &cache, needs, 2, false);
  for (int i = 0; i < 4; ++i) {
    const HostBatch b = p.next();
    ASSERT_TRUE(b.has_signals);
    EXPECT_EQ(b.signals.vals_NxK.size(0), 32);
    EXPECT_EQ(b.signals.vals_NxK[17][0].item<float>(), static_cast<float>(b.seq_ids[1]));
    EXPECT_TRUE(torch::equal(b.signals.idx_NxK.select(1, 0), b.input_BxT.reshape({-1})));
    const DeviceBatch d = to_device(b, torch::kCPU);
    EXPECT_TRUE(torch::equal(d.signals.vals_NxK, b.signals.vals_NxK));
    EXPECT_TRUE(d.signals.hidden_NxD.empty());
  }
}

TEST(Prefetcher, DeliversTheThreadsErrorAfterTheBatchesBeforeIt) {
  for (int64_t depth : {0, 3}) {
    data::BatchStream stream(train_dir(), 2, 16, 3);
    FakeCache cache(/*fail_at=*/3);
    Prefetcher p(stream, &cache, {true, false}, depth, false);
    EXPECT_NO_THROW(p.next());
    EXPECT_NO_THROW(p.next());
    EXPECT_THROW(p.next(), InputError) << "depth " << depth;
  }
}

}  // namespace
}  // namespace hld::train
