// Preemption with real signals on real processes: SIGTERM at a random step makes every rank finish
// its step, agree on one step, write one checkpoint and exit with code 75; the resumed run ends
// bitwise equal to an uninterrupted one, with one metrics record per step. A second signal during
// that checkpoint's write ends the process at once and the previous checkpoint stays the valid one.
#ifdef HLD_TRAIN_BIN

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <random>
#include <regex>

#include "hld/util/error.h"
#include "stop_test_util.h"

namespace fs = std::filesystem;

namespace hld::train {
namespace {

using dist::testing::launch_env;
using dist::testing::Proc;

/// The step after which a run says it stopped ("stopped by SIGTERM after step 17"), or -1.
int64_t stopped_after(const std::string& output, const std::string& why) {
  std::smatch m;
  if (!std::regex_search(output, m, std::regex("stopped by " + why + " after step (\\d+)"))) return -1;
  return std::stoll(m[1]);
}

TEST(Preemption, SigtermStopsOneProcessAtAStepWithACheckpointAndResumesBitwise) {
  test::TempDir dir;
  const std::string cfg = test::write_stop_config(dir, 120, 50);
  auto full = test::run_hld("train " + cfg + " --quiet --set run.dir=" + dir / "full");
  ASSERT_EQ(full.exit_code, 0) << full.output;

  std::mt19937 rng(std::random_device{}());
  const int64_t at = std::uniform_int_distribution<int64_t>(5, 45)(rng);  // before the first periodic save
  const std::string run = dir / "cut";
  Proc p("", "train " + cfg + " --quiet --set run.dir=" + run, dir / "cut.log");
  ASSERT_TRUE(test::wait_for_steps(run, at, p, 60)) << p.output();
  ::kill(p.pid, SIGTERM);
  ASSERT_TRUE(p.wait(60)) << p.output();
  EXPECT_EQ(p.status, kExitRequeue) << p.output();
  const int64_t stop = stopped_after(p.output(), "SIGTERM");
  ASSERT_GE(stop, at) << p.output();
  ASSERT_LT(stop, 120) << "signalled after step " << at << ": " << p.output();
  // One checkpoint at the step it stopped at, and the metrics of exactly the steps it did.
  EXPECT_EQ(test::checkpoint_step(model::latest_checkpoint(run)), stop) << p.output();
  EXPECT_EQ(test::read_metrics(run).size(), static_cast<size_t>(stop));
  std::printf("[ stop     ] SIGTERM after step %lld: stopped after step %lld with a checkpoint\n",
              static_cast<long long>(at), static_cast<long long>(stop));

  auto rest = test::run_hld("train " + cfg + " --quiet --set run.dir=" + run);
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  test::expect_bitwise_equal(test::final_params(dir / "full"), test::final_params(run), "resumed after SIGTERM");
  test::expect_same_metrics(dir / "full", run);
}

TEST(Preemption, SigtermToOneOfTwoRanksStopsBothAtTheSameStepAndResumesBitwise) {
  test::TempDir dir;
  const std::string cfg = test::write_stop_config(dir, 120, 50);
  const std::string launcher = "HLD_TRAIN_BIN=" + std::string(HLD_TRAIN_BIN) + " HLD_DIST_TIMEOUT=30 " +
                               test::repo_path("scripts/launch_local.sh") + " 2 " + cfg + " --quiet --set run.dir=";
  auto full = test::run_command(launcher + dir / "full");
  ASSERT_EQ(full.exit_code, 0) << full.output;

  std::mt19937 rng(std::random_device{}());
  const int64_t at = std::uniform_int_distribution<int64_t>(5, 45)(rng);
  const std::string run = dir / "cut", args = "train " + cfg + " --quiet --set run.dir=" + run;
  const int port = dist::testing::free_port();
  Proc r0(launch_env(0, 2, port), args, dir / "r0.log"), r1(launch_env(1, 2, port), args, dir / "r1.log");
  ASSERT_TRUE(test::wait_for_steps(run, at, r0, 60)) << r0.output() << r1.output();
  ::kill(r1.pid, SIGTERM);  // rank 1 alone: rank 0 learns of it through the agreement
  ASSERT_TRUE(r0.wait(60) && r1.wait(60)) << r0.output() << r1.output();
  EXPECT_EQ(r0.status, kExitRequeue) << r0.output();
  EXPECT_EQ(r1.status, kExitRequeue) << r1.output();
  const int64_t stop = stopped_after(r0.output(), "another rank's stop request");
  ASSERT_GE(stop, at) << r0.output();
  ASSERT_LT(stop, 120) << r0.output();
  EXPECT_EQ(test::checkpoint_step(model::latest_checkpoint(run)), stop);
  EXPECT_EQ(test::read_metrics(run).size(), static_cast<size_t>(stop));
  std::printf("[ stop     ] SIGTERM to rank 1 after step %lld: both ranks stopped after step %lld\n",
              static_cast<long long>(at), static_cast<long long>(stop));

  auto rest = test::run_command(launcher + run);
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  test::expect_bitwise_equal(test::final_params(dir / "full"), test::final_params(run), "2 ranks resumed");
  test::expect_same_metrics(dir / "full", run);
}

TEST(Preemption, SecondSignalDuringTheCheckpointWriteKeepsThePreviousCheckpoint) {
  test::TempDir dir;
  const std::string cfg = test::write_stop_config(dir, 60, 10);
  auto full = test::run_hld("train " + cfg + " --quiet --set run.dir=" + dir / "full");
  ASSERT_EQ(full.exit_code, 0) << full.output;

  // The run pauses inside its second checkpoint write (after the model file), which is the one the
  // SIGTERM after step 12 asks for (or step 20's periodic one): a second SIGTERM arrives there.
  const std::string run = dir / "cut", mark = dir / "paused";
  Proc p("HLD_FAULT=checkpoint.model_written:pause HLD_FAULT_HIT=2 HLD_FAULT_MARK=" + mark,
         "train " + cfg + " --quiet --set run.dir=" + run, dir / "cut.log");
  ASSERT_TRUE(test::wait_for_steps(run, 12, p, 60)) << p.output();
  ::kill(p.pid, SIGTERM);
  ASSERT_TRUE(test::wait_for_file(mark, p, 60)) << p.output();
  ::kill(p.pid, SIGTERM);
  ASSERT_TRUE(p.wait(30)) << p.output();
  EXPECT_EQ(p.signal, SIGTERM) << "status " << p.status << ": " << p.output();
  // The half-written checkpoint is still there, and it is not the one a resume takes.
  int tmp = 0;
  for (const auto& e : fs::directory_iterator(run + "/checkpoints"))
    tmp += e.path().extension() == ".tmp" && fs::exists(e.path() / "model.safetensors");
  EXPECT_EQ(tmp, 1) << "the interrupted write left no half-written checkpoint: the pause was not inside it";
  EXPECT_EQ(test::checkpoint_step(model::latest_checkpoint(run)), 10);

  auto rest = test::run_hld("train " + cfg + " --set run.dir=" + run);
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_NE(rest.output.find("resuming at step 10"), std::string::npos) << rest.output;
  test::expect_bitwise_equal(test::final_params(dir / "full"), test::final_params(run), "resumed from step 10");
  test::expect_same_metrics(dir / "full", run);
}

}  // namespace
}  // namespace hld::train

#endif  // HLD_TRAIN_BIN
