// The c10d process group for real: ranks as threads of this test process, talking over TCP on
// 127.0.0.1 through a TCPStore and Gloo. Bucketed mean all-reduce, broadcast, scalar sums, the
// bounded rendezvous, and the consistency checks across processes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <thread>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "dist_test_util.h"
#include "hld/dist/process_group.h"
#include "hld/util/error.h"

namespace hld::dist {
namespace {

LaunchEnv env_for(int rank, int world, int port, double timeout_s = 30) {
  LaunchEnv e;
  e.rank = rank;
  e.world = world;
  e.local_rank = rank;
  e.master_addr = "127.0.0.1";
  e.master_port = port;
  e.timeout_s = timeout_s;
  e.bucket_bytes = 256;  // many small buckets: more than the four kept in flight
  e.source = "test";
  return e;
}

/// Runs `body(rank)` on `world` threads; returns each rank's exception message ("" if none).
std::vector<std::string> run_ranks(int world, const std::function<void(int)>& body) {
  std::vector<std::string> errors(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        body(r);
      } catch (const InputError& e) {
        errors[r] = std::string("InputError: ") + e.what();
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}

/// Rank-specific tensors of assorted shapes and dtypes, from a formula (no shared RNG).
std::vector<torch::Tensor> rank_tensors(int rank) {
  std::vector<torch::Tensor> ts;
  const std::vector<std::vector<int64_t>> shapes = {{7}, {3, 5}, {64}, {2, 3, 4}, {100}, {1}, {33, 2}, {9}};
  for (size_t i = 0; i < shapes.size(); ++i) {
    auto t = torch::arange(c10::multiply_integers(shapes[i]), torch::kFloat32).reshape(shapes[i]);
    ts.push_back(torch::sin(t * 0.37 * (rank + 1) + static_cast<double>(i)));
  }
  ts.push_back(torch::arange(12, torch::kFloat64) * (rank + 2));  // a float64 bucket of its own
  return ts;
}

TEST(ProcessGroup, GlooCollectivesAcrossTwoRanks) {
  const int port = testing::free_port();
  ASSERT_GT(port, 0);
  std::vector<std::vector<torch::Tensor>> reduced(2), broadcasted(2);
  std::vector<double> sums(2);
  std::vector<int> same(2), differ(2);
  auto errors = run_ranks(2, [&](int r) {
    ProcessGroupCollective pg(env_for(r, 2, port), torch::kCPU);
    ASSERT_EQ(pg.rank(), r);
    ASSERT_EQ(pg.world(), 2);
    ASSERT_EQ(pg.backend(), "gloo");
    reduced[r] = rank_tensors(r);
    pg.allreduce_mean(reduced[r]);
    broadcasted[r] = rank_tensors(r);
    pg.broadcast(broadcasted[r]);
    sums[r] = pg.allreduce_sum(r + 1.5);
    same[r] = pg.all_equal(-5234567890123456789ll);
    differ[r] = pg.all_equal(r == 0 ? 7 : 8);
    pg.barrier();
  });
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  const auto a = rank_tensors(0), b = rank_tensors(1);
  for (int r = 0; r < 2; ++r) {
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(torch::allclose(reduced[r][i], (a[i] + b[i]) / 2, 1e-6, 1e-7)) << "rank " << r << " tensor " << i;
      EXPECT_TRUE(torch::equal(broadcasted[r][i], a[i])) << "rank " << r << " tensor " << i;
    }
    EXPECT_DOUBLE_EQ(sums[r], 4.0);
    EXPECT_TRUE(same[r]);
    EXPECT_FALSE(differ[r]) << "every rank must learn that rank " << r << " differs";
  }
}

// Under torchrun the elastic agent already serves the TCPStore at MASTER_ADDR:MASTER_PORT
// (TORCHELASTIC_USE_AGENT_STORE=True): every rank, rank 0 included, must join it as a client.
TEST(ProcessGroup, JoinsTorchrunsAgentStore) {
  const int port = testing::free_port();
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(port);
  so.isServer = true;
  so.waitWorkers = false;
  auto agent = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", so);
  std::vector<double> sums(2);
  auto errors = run_ranks(2, [&](int r) {
    auto env = env_for(r, 2, port);
    env.agent_store = true;
    env.store_prefix = "/worker/attempt_0";
    ProcessGroupCollective pg(env, torch::kCPU);
    sums[r] = pg.allreduce_sum(r + 1.0);
  });
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  EXPECT_DOUBLE_EQ(sums[0], 3.0);
  EXPECT_DOUBLE_EQ(sums[1], 3.0);
  EXPECT_EQ(agent->add("/worker/attempt_0/hld/joined", 0), 2);  // the keys went under the prefix
}

TEST(ProcessGroup, RendezvousTimesOutWithACount) {
  const int port = testing::free_port();
  const auto t0 = std::chrono::steady_clock::now();
  auto errors = run_ranks(1, [&](int) { ProcessGroupCollective pg(env_for(0, 3, port, 1.0), torch::kCPU); });
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(errors[0].find("timed out after 1 s: 1 of 3 processes joined"), std::string::npos) << errors[0];
  EXPECT_LT(s, 10);
}

TEST(ProcessGroup, PeersWithoutRankZeroGiveUp) {
  const int port = testing::free_port();
  const auto t0 = std::chrono::steady_clock::now();
  auto errors = run_ranks(1, [&](int) { ProcessGroupCollective pg(env_for(1, 2, port, 1.0), torch::kCPU); });
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(errors[0].find("could not reach rank 0's rendezvous at 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << errors[0];
  EXPECT_LT(s, 15);
}

TEST(ProcessGroup, DisagreeingWorldSizesAndDuplicateRanksAreInputErrors) {
  {
    const int port = testing::free_port();
    auto errors =
        run_ranks(2, [&](int r) { ProcessGroupCollective pg(env_for(r, r == 0 ? 2 : 3, port, 20), torch::kCPU); });
    EXPECT_NE(errors[1].find("InputError: [dist] WORLD_SIZE=3 on rank 1 but rank 0 has WORLD_SIZE=2"),
              std::string::npos)
        << errors[1];
    EXPECT_NE(errors[0].find("aborted"), std::string::npos) << errors[0];
  }
  {
    const int port = testing::free_port();
    // Three threads for ranks 0, 1, 1 of a world of 3: the second rank 1 must be refused.
    auto errors =
        run_ranks(3, [&](int t) { ProcessGroupCollective pg(env_for(t == 2 ? 1 : t, 3, port, 20), torch::kCPU); });
    int dup = 0;
    for (const auto& e : errors) dup += e.find("RANK=1 is used by more than one process") != std::string::npos;
    EXPECT_EQ(dup, 1) << errors[0] << " | " << errors[1] << " | " << errors[2];
    for (const auto& e : errors) EXPECT_NE(e, "");
  }
}

TEST(ProcessGroup, APeerLeavingFailsTheNextCollectiveQuickly) {
  const int port = testing::free_port();
  double waited = -1;
  auto errors = run_ranks(2, [&](int r) {
    auto pg = std::make_unique<ProcessGroupCollective>(env_for(r, 2, port, 30), torch::kCPU);
    pg->barrier();
    if (r == 1) {
      pg.reset();  // closes its connections, as a killed process would
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<torch::Tensor> g = {torch::ones({1000})};
    try {
      pg->allreduce_mean(g);
    } catch (...) {
      waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      throw;
    }
  });
  EXPECT_EQ(errors[1], "");
  EXPECT_NE(errors[0].find("[dist] gradient all-reduce failed on rank 0 of 2"), std::string::npos) << errors[0];
  EXPECT_GE(waited, 0);
  EXPECT_LT(waited, 10) << "far below the 30 s timeout: a closed connection is noticed at once";
}

}  // namespace
}  // namespace hld::dist
