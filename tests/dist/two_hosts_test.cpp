// Two ranks on two "hosts": two network namespaces joined by a veth pair, MASTER_ADDR on rank 0's
// veth address and GLOO_SOCKET_IFNAME naming each side's veth. Training there is bitwise the same
// two ranks on loopback; taking the link down in the middle of the run ends both ranks within the
// collective timeout with the [dist] error naming the peer and exit code 75, and a relaunch resumes
// from the last checkpoint to the uninterrupted run's weights. Needs root and iproute2 (CI has
// both); skipped otherwise. Namespaces are named per test process and removed even on failure.
#ifdef HLD_TRAIN_BIN

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "../train/stop_test_util.h"
#include "dist_test_util.h"
#include "hld/util/error.h"
#include "test_util.h"

namespace hld::dist {
namespace {

using Clock = std::chrono::steady_clock;
using testing::Proc;

/// Two namespaces "hosts" A and B with veth ends `a`/`b` at 10.231.N.1 / .2, torn down at the end.
class TwoHosts : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (CI runs as root)";
    if (test::run_command("ip netns list").exit_code != 0) GTEST_SKIP() << "needs iproute2's `ip netns`";
    const int id = static_cast<int>(::getpid() % 100000);
    ns_a_ = "hld-a-" + std::to_string(id);
    ns_b_ = "hld-b-" + std::to_string(id);
    if_a_ = "hlda" + std::to_string(id);  // interface names: at most 15 characters
    if_b_ = "hldb" + std::to_string(id);
    const std::string net = "10.231." + std::to_string(id % 250) + ".";
    ip_a_ = net + "1";
    ip_b_ = net + "2";
    created_ = true;
    for (const std::string& c :
         {"ip netns add " + ns_a_, "ip netns add " + ns_b_, "ip link add " + if_a_ + " type veth peer name " + if_b_,
          "ip link set " + if_a_ + " netns " + ns_a_, "ip link set " + if_b_ + " netns " + ns_b_,
          "ip -n " + ns_a_ + " addr add " + ip_a_ + "/24 dev " + if_a_,
          "ip -n " + ns_b_ + " addr add " + ip_b_ + "/24 dev " + if_b_, "ip -n " + ns_a_ + " link set lo up",
          "ip -n " + ns_b_ + " link set lo up", "ip -n " + ns_a_ + " link set " + if_a_ + " up",
          "ip -n " + ns_b_ + " link set " + if_b_ + " up"}) {
      auto r = test::run_command(c);
      ASSERT_EQ(r.exit_code, 0) << c << "\n" << r.output;
    }
    config_ = test::write_stop_config(dir_, 200, 10);
  }
  void TearDown() override {
    if (!created_) return;
    test::run_command("ip netns del " + ns_a_);  // removes the veth pair with it
    test::run_command("ip netns del " + ns_b_);
  }

  /// Rank `rank` of the two-host job in its namespace.
  std::unique_ptr<Proc> start(int rank, int port, const std::string& run, double timeout_s) {
    const std::string env = "RANK=" + std::to_string(rank) + " WORLD_SIZE=2 LOCAL_RANK=0 LOCAL_WORLD_SIZE=1" +
                            " MASTER_ADDR=" + ip_a_ + " MASTER_PORT=" + std::to_string(port) +
                            " GLOO_SOCKET_IFNAME=" + (rank == 0 ? if_a_ : if_b_) +
                            " HLD_DIST_TIMEOUT=" + std::to_string(timeout_s);
    return std::make_unique<Proc>(env, "train " + config_ + " --quiet --set run.dir=" + run,
                                  dir_ / ("r" + std::to_string(rank) + "-" + std::to_string(port) + ".log"),
                                  "ip netns exec " + (rank == 0 ? ns_a_ : ns_b_));
  }

  /// The same two ranks on loopback (scripts/launch_local.sh).
  test::CommandResult loopback(const std::string& run) {
    return test::run_command("HLD_TRAIN_BIN=" + std::string(HLD_TRAIN_BIN) + " HLD_DIST_TIMEOUT=30 " +
                             test::repo_path("scripts/launch_local.sh") + " 2 " + config_ +
                             " --quiet --set run.dir=" + run);
  }

  test::TempDir dir_;
  std::string config_, ns_a_, ns_b_, if_a_, if_b_, ip_a_, ip_b_;
  bool created_ = false;
};

TEST_F(TwoHosts, TrainingAcrossAVethPairIsBitwiseTheLoopbackRun) {
  auto lo = loopback(dir_ / "lo");
  ASSERT_EQ(lo.exit_code, 0) << lo.output;
  const int port = testing::free_port();
  auto r0 = start(0, port, dir_ / "veth", 30), r1 = start(1, port, dir_ / "veth", 30);
  ASSERT_TRUE(r0->wait(120) && r1->wait(120)) << r0->output() << r1->output();
  ASSERT_EQ(r0->status, 0) << r0->output();
  ASSERT_EQ(r1->status, 0) << r1->output();
  EXPECT_NE(r0->output().find("gloo process group of 2 processes ready at " + ip_a_), std::string::npos)
      << r0->output();
  test::expect_bitwise_equal(test::final_params(dir_ / "lo"), test::final_params(dir_ / "veth"), "veth vs loopback");
  test::expect_same_metrics(dir_ / "lo", dir_ / "veth");
}

TEST_F(TwoHosts, LinkDownEndsBothRanksWithinTheTimeoutAndARelaunchResumes) {
  auto lo = loopback(dir_ / "lo");
  ASSERT_EQ(lo.exit_code, 0) << lo.output;
  const double timeout_s = 6;
  const std::string run = dir_ / "cut";
  const int port = testing::free_port();
  auto r0 = start(0, port, run, timeout_s), r1 = start(1, port, run, timeout_s);
  // Past the first checkpoint (step 10), in the middle of the run: the link goes down.
  ASSERT_TRUE(test::wait_for_steps(run, 15, *r0, 60)) << r0->output() << r1->output();
  auto down = test::run_command("ip -n " + ns_a_ + " link set " + if_a_ + " down");
  ASSERT_EQ(down.exit_code, 0) << down.output;
  const auto t_down = Clock::now();
  const bool ended = r0->wait(timeout_s + 20) && r1->wait(timeout_s + 20);
  const double took = std::chrono::duration<double>(Clock::now() - t_down).count();
  ASSERT_TRUE(ended) << "a rank still runs " << took << " s after the link went down\n" << r0->output() << r1->output();
  std::printf("[ dist     ] link down: both ranks ended %.2f s later (HLD_DIST_TIMEOUT=%g)\n", took, timeout_s);
  const std::string out0 = r0->output();
  const size_t failed = out0.find("failed on rank"),
               at = failed == std::string::npos ? failed : out0.rfind("[dist] ", failed);
  if (at != std::string::npos)
    std::printf("[ dist     ] rank 0: %s\n", out0.substr(at, out0.find('\n', at) - at).c_str());
  EXPECT_LT(took, timeout_s + 10);
  for (auto* p : {r0.get(), r1.get()}) {
    EXPECT_EQ(p->status, kExitRequeue) << p->output();
    EXPECT_NE(p->output().find("[dist] "), std::string::npos) << p->output();
    EXPECT_NE(p->output().find("failed on rank"), std::string::npos) << p->output();
  }
  // Each names the other host: rank 0 names rank 1 at B's address, rank 1 names rank 0 at A's.
  EXPECT_NE(r0->output().find("peer rank 1 ("), std::string::npos) << r0->output();
  EXPECT_NE(r0->output().find(ip_b_ + " on " + if_b_), std::string::npos) << r0->output();
  EXPECT_NE(r1->output().find(ip_a_ + " on " + if_a_), std::string::npos) << r1->output();
  const int64_t kept = test::checkpoint_step(model::latest_checkpoint(run));
  EXPECT_GE(kept, 10);
  EXPECT_LT(kept, 200);

  // The link comes back; relaunched, the job resumes from that checkpoint to the same weights.
  auto up = test::run_command("ip -n " + ns_a_ + " link set " + if_a_ + " up");
  ASSERT_EQ(up.exit_code, 0) << up.output;
  const int port2 = testing::free_port();
  auto s0 = start(0, port2, run, 30), s1 = start(1, port2, run, 30);
  ASSERT_TRUE(s0->wait(120) && s1->wait(120)) << s0->output() << s1->output();
  ASSERT_EQ(s0->status, 0) << s0->output();
  ASSERT_EQ(s1->status, 0) << s1->output();
  EXPECT_NE(s0->output().find("resuming at step " + std::to_string(kept)), std::string::npos) << s0->output();
  test::expect_bitwise_equal(test::final_params(dir_ / "lo"), test::final_params(run), "relaunched after link down");
  test::expect_same_metrics(dir_ / "lo", run);
}

}  // namespace
}  // namespace hld::dist

#endif  // HLD_TRAIN_BIN
